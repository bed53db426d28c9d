/* Unit tests for lib/evb_sign (evb-ingress's signing helpers): HMAC
 * vectors (RFC 2202, RFC 4231), base64url, and the per-call media token. */
#include <errno.h>
#include <string.h>

#include "evb_sign.h"
#include "tap.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = h[p[i] >> 4];
		out[2 * i + 1] = h[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void test_hmac(void)
{
	uint8_t mac[32];
	char h[65];

	is_int(evb_hmac(EVB_SHA1, "Jefe", 4, "what do ya want for nothing?", 28, mac), 20,
	       "HMAC-SHA1: 20 bytes");
	hex(mac, 20, h);
	is_str(h, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "RFC 2202 test 2");
	is_int(evb_hmac(EVB_SHA256, "Jefe", 4, "what do ya want for nothing?", 28, mac), 32,
	       "HMAC-SHA256: 32 bytes");
	hex(mac, 32, h);
	is_str(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	       "RFC 4231 test 2");
	is_int(evb_hmac(7, "k", 1, "m", 1, mac), -EINVAL, "unknown algorithm");
	evb_sha256_hex("abc", 3, h);
	is_str(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "SHA-256 of abc");
}

static void test_b64url(void)
{
	uint8_t bin[] = { 0xfb, 0xff, 0xbf, 0x00, 0x3e }, back[16];
	char s[16];

	is_int(evb_b64url_encode(bin, 5, s, sizeof(s)), 7, "5 bytes: 7 characters");
	is_str(s, "-_-_AD4", "url-safe alphabet, no padding");
	is_int(evb_b64url_decode(s, strlen(s), back, sizeof(back)), 5, "decodes back");
	ok(memcmp(back, bin, 5) == 0, "same bytes");
	is_int(evb_b64url_decode("-_-_AD4=", 8, back, sizeof(back)), 5, "padding accepted");
	is_int(evb_b64url_decode("ab+/", 4, back, sizeof(back)), -EINVAL, "'+' refused");
	is_int(evb_b64url_decode("a", 1, back, sizeof(back)), -EINVAL, "impossible length");
	is_int(evb_b64url_decode("AB", 2, back, sizeof(back)), -EINVAL, "non-zero spare bits");
	is_int(evb_b64url_decode("AAAA", 4, back, 2), -ENOBUFS, "too small a buffer");
	is_int(evb_b64url_encode(bin, 5, s, 7), -ENOBUFS, "no room for the NUL");
	ok(evb_ct_streq("abc", "abc") && !evb_ct_streq("abc", "abd") && !evb_ct_streq("abc", "ab") &&
	   !evb_ct_streq(NULL, "a"), "constant-time comparison");
}

static void test_token(void)
{
	const char *id = "aaaaaaaa-0000-4000-8000-000000000001", *sid = "CA123";
	char tok[EVB_MTOKEN_MAX], bad[EVB_MTOKEN_MAX];
	int64_t exp = 0;

	is_int(evb_mtoken_make("s3cret", id, sid, 1000, tok), 0, "token made");
	is_int(strlen(tok), 48, "43 MAC characters, a dot, the expiry");
	is_int(evb_mtoken_check("s3cret", id, sid, tok, 999, &exp), 0, "valid before expiry");
	is_int(exp, 1000, "expiry read");
	is_int(evb_mtoken_check("s3cret", id, sid, tok, 1000, NULL), 0, "valid at expiry");
	is_int(evb_mtoken_check("s3cret", id, sid, tok, 1001, NULL), -ETIME, "expired after");
	is_int(evb_mtoken_check("s3cret", id, "CA124", tok, 999, NULL), -EPERM,
	       "bound to the provider's call id");
	is_int(evb_mtoken_check("s3cret", "aaaaaaaa-0000-4000-8000-000000000002", sid, tok, 999, NULL),
	       -EPERM, "bound to our call id");
	is_int(evb_mtoken_check("other", id, sid, tok, 999, NULL), -EPERM, "bound to the secret");
	memcpy(bad, tok, sizeof(bad));
	bad[strlen(bad) - 1] = '9'; /* a later expiry, same MAC */
	is_int(evb_mtoken_check("s3cret", id, sid, bad, 999, NULL), -EPERM, "expiry cannot be moved");
	is_int(evb_mtoken_check("s3cret", id, sid, "abc.123", 0, NULL), -EINVAL, "too short");
	is_int(evb_mtoken_check("s3cret", id, sid, NULL, 0, NULL), -EINVAL, "no token");
	memcpy(bad, tok, sizeof(bad));
	memcpy(bad + 44, "01000", 6);
	is_int(evb_mtoken_check("s3cret", id, sid, bad, 0, NULL), -EINVAL, "leading zero refused");
	is_int(evb_mtoken_make("", id, sid, 1000, tok), -EINVAL, "an empty secret refused");
}

int main(void)
{
	test_hmac();
	test_b64url();
	test_token();
	return done_testing();
}
