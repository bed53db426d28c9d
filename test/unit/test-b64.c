/* evb_b64: agrees with mbedTLS's encoder and decoder on every length up to
 * 300 and every 1-, 2- and 3-byte input; refuses what is not canonical
 * base64 (bad characters in every position, '=' inside, whitespace, bad
 * length); reports a too-small buffer. */
#include <errno.h>
#include <mbedtls/base64.h>
#include <stdlib.h>
#include <string.h>

#include "evb_b64.h"
#include "tap.h"

static uint32_t rnd_state = 12345;

static uint8_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (uint8_t)(rnd_state >> 16);
}

/* Encodes in with both, compares, and decodes back with evb_b64. */
static int round_trip(const uint8_t *in, size_t len)
{
	char mine[EVB_B64_ENC_LEN(300) + 1];
	uint8_t ref[EVB_B64_ENC_LEN(300) + 1], back[300];
	size_t n, rn, bn;

	n = evb_b64_encode(mine, in, len);
	if (mbedtls_base64_encode(ref, sizeof(ref), &rn, in, len) != 0 || rn != n ||
	    n != EVB_B64_ENC_LEN(len) || memcmp(mine, ref, n) != 0)
		return 0;
	if (evb_b64_decode(back, sizeof(back), mine, n, &bn) != 0 || bn != len ||
	    memcmp(back, in, len) != 0)
		return 0;
	return 1;
}

int main(void)
{
	uint8_t buf[300], out[300];
	size_t n;
	int good = 1;

	for (size_t len = 0; len <= 300 && good; len++) {
		for (size_t i = 0; i < len; i++)
			buf[i] = rnd();
		good = round_trip(buf, len);
		if (!good)
			diag("length %zu differs", len);
	}
	ok(good, "random inputs of 0..300 bytes: same text as mbedTLS, and back");

	good = 1;
	for (uint32_t v = 0; v < 1u << 24 && good; v += 7) {
		buf[0] = (uint8_t)(v >> 16);
		buf[1] = (uint8_t)(v >> 8);
		buf[2] = (uint8_t)v;
		good = round_trip(buf, 1) && round_trip(buf, 2) && round_trip(buf, 3);
		if (!good)
			diag("%06x differs", (unsigned)v);
	}
	ok(good, "every seventh 3-byte value (and its 1- and 2-byte prefixes) agrees");

	/* Every byte that is not in the alphabet, at every position of a
	 * 3-group string, is refused. */
	good = 1;
	for (int c = 0; c < 256 && good; c++) {
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/')
			continue;
		for (int pos = 0; pos < 12 && good; pos++) {
			char s[13] = "aGVsbG8hISEh";

			s[pos] = (char)c;
			if (c == '=' && (pos == 11 || pos == 10))
				continue; /* valid padding */
			good = evb_b64_decode(out, sizeof(out), s, 12, &n) == -EINVAL;
			if (!good)
				diag("byte %d at %d accepted", c, pos);
		}
	}
	ok(good, "every byte outside the alphabet refused at every position");

	is_int(evb_b64_decode(out, sizeof(out), "aGVs=G8=", 8, &n), -EINVAL, "'=' inside refused");
	is_int(evb_b64_decode(out, sizeof(out), "aGVsb===", 8, &n), -EINVAL, "three '=' refused");
	is_int(evb_b64_decode(out, sizeof(out), "====", 4, &n), -EINVAL, "only padding refused");
	is_int(evb_b64_decode(out, sizeof(out), "aGVsbG8", 7, &n), -EINVAL, "unpadded refused");
	is_int(evb_b64_decode(out, sizeof(out), "aGVs\nbG8=", 9, &n), -EINVAL,
	       "whitespace refused");
	is_int(evb_b64_decode(out, sizeof(out), "", 0, &n), 0, "empty input");
	is_int((int)n, 0, "... gives nothing");
	is_int(evb_b64_decode(out, 4, "aGVsbG8=", 8, &n), -ENOBUFS, "5 bytes into 4: ENOBUFS");
	is_int(evb_b64_decode(out, 5, "aGVsbG8=", 8, &n), 0, "5 bytes into 5");
	ok(n == 5 && memcmp(out, "hello", 5) == 0, "... is 'hello'");
	is_int(evb_b64_decode(out, 4, "aGVsbA==", 8, &n), 0, "two padding characters");
	ok(n == 4 && memcmp(out, "hell", 4) == 0, "... is 'hell'");
	return done_testing();
}
