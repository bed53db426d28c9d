/* Base64 for audio payloads (see evb_b64.h). Encoding writes 12 bits at a
 * time from a 4096-entry table of character pairs; decoding looks up each
 * character once and checks them four at a time (an invalid one has a
 * bit no valid one has). */
#include <errno.h>
#include <string.h>

#include "evb_b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Built on first use; a race builds the same bytes twice, which is harmless
 * for these single-threaded programs and idempotent anyway. */
static char pairs[4096][2];
#define BAD 0x100u
static uint32_t val[256]; /* 0..63, or BAD */
static int ready;

static void init(void)
{
	for (int i = 0; i < 4096; i++) {
		pairs[i][0] = alphabet[i >> 6];
		pairs[i][1] = alphabet[i & 63];
	}
	for (int i = 0; i < 256; i++)
		val[i] = BAD;
	for (int i = 0; i < 64; i++)
		val[(uint8_t)alphabet[i]] = (uint32_t)i;
	ready = 1;
}

size_t evb_b64_encode(char *out, const void *in, size_t len)
{
	const uint8_t *p = in;
	char *o = out;
	size_t i = 0;

	if (!ready)
		init();
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		memcpy(o, pairs[v >> 12], 2);
		memcpy(o + 2, pairs[v & 0xfff], 2);
		o += 4;
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		memcpy(o, pairs[v >> 12], 2);
		o[2] = o[3] = '=';
		o += 4;
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		memcpy(o, pairs[v >> 12], 2);
		o[2] = alphabet[(v >> 6) & 63];
		o[3] = '=';
		o += 4;
	}
	return (size_t)(o - out);
}

int evb_b64_decode(uint8_t *out, size_t cap, const char *in, size_t len, size_t *outlen)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t pad = 0, n, full;
	uint8_t *o = out;

	*outlen = 0;
	if (len % 4)
		return -EINVAL;
	if (!ready)
		init();
	if (len && p[len - 1] == '=')
		pad = p[len - 2] == '=' ? 2 : 1;
	n = len / 4 * 3 - pad;
	if (n > cap)
		return -ENOBUFS;
	full = pad ? len - 4 : len;
	for (size_t i = 0; i < full; i += 4) {
		uint32_t a = val[p[i]], b = val[p[i + 1]], c = val[p[i + 2]], d = val[p[i + 3]];
		uint32_t v = a << 18 | b << 12 | c << 6 | d;

		if ((a | b | c | d) & BAD)
			return -EINVAL;
		o[0] = (uint8_t)(v >> 16);
		o[1] = (uint8_t)(v >> 8);
		o[2] = (uint8_t)v;
		o += 3;
	}
	if (pad) {
		uint32_t a = val[p[full]], b = val[p[full + 1]];
		uint32_t c = pad == 2 ? 0 : val[p[full + 2]];

		if ((a | b | c) & BAD)
			return -EINVAL;
		*o++ = (uint8_t)(a << 2 | b >> 4);
		if (pad == 1)
			*o++ = (uint8_t)(b << 4 | c >> 2);
	}
	*outlen = n;
	return 0;
}
