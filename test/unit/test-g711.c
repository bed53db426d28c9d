/* G.711 mu-law against the ITU-T G.191 formulas, and L16 byte order. */
#include <stdint.h>

#include "evb_g711.h"
#include "tap.h"

/* Straightforward transcription of G.191 ulaw_compress for one sample. */
static uint8_t ref_compress(int16_t x)
{
	short absno, segno, i, lo, hi;
	uint8_t out;

	absno = x < 0 ? (short)(((~x) >> 2) + 33) : (short)((x >> 2) + 33);
	if (absno > 0x1FFF)
		absno = 0x1FFF;
	i = (short)(absno >> 6);
	segno = 1;
	while (i != 0) {
		segno++;
		i >>= 1;
	}
	hi = (short)(0x0008 - segno);
	lo = (short)((absno >> segno) & 0x000F);
	lo = (short)(0x000F - lo);
	out = (uint8_t)((hi << 4) | lo);
	if (x >= 0)
		out |= 0x80;
	return out;
}

/* G.191 ulaw_expand for one code. */
static int16_t ref_expand(uint8_t u)
{
	int sign = u < 0x80 ? -1 : 1;
	int mantissa = ~u;
	int exponent = (mantissa >> 4) & 7;
	int segment = exponent + 1;
	int step;

	mantissa &= 0x0F;
	step = 4 << segment;
	return (int16_t)(sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33));
}

int main(void)
{
	static const struct { uint8_t u; int16_t v; } dec_kat[] = {
		{ 0x00, -32124 }, { 0x80, 32124 }, { 0xFF, 0 }, { 0x7F, 0 },
		{ 0xFE, 8 }, { 0x7E, -8 }, { 0xF0, 120 }, { 0xEF, 132 },
		{ 0xC0, 1884 }, { 0xCE, 988 }, { 0xA0, 7932 }, { 0x90, 15996 },
		{ 0x8F, 16764 }, { 0x01, -31100 },
	};
	static const struct { int16_t v; uint8_t u; } enc_kat[] = {
		{ 0, 0xFF }, { -1, 0x7F }, { 32767, 0x80 }, { -32768, 0x00 },
		{ 100, 0xF2 }, { -100, 0x73 }, { 1000, 0xCE }, { 8000, 0xA0 },
	};
	int bad, mono;

	for (size_t i = 0; i < sizeof(dec_kat) / sizeof(dec_kat[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "decode 0x%02X", dec_kat[i].u);
		is_int(evb_ulaw_decode1(dec_kat[i].u), dec_kat[i].v, name);
	}
	for (size_t i = 0; i < sizeof(enc_kat) / sizeof(enc_kat[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "encode %d", enc_kat[i].v);
		is_int(evb_ulaw_encode1(enc_kat[i].v), enc_kat[i].u, name);
	}

	bad = 0;
	for (int c = 0; c < 256; c++)
		if (evb_ulaw_decode1((uint8_t)c) != ref_expand((uint8_t)c))
			bad++;
	is_int(bad, 0, "decode table equals G.191 ulaw_expand for all 256 codes");

	bad = 0;
	for (int x = -32768; x <= 32767; x++)
		if (evb_ulaw_encode1((int16_t)x) != ref_compress((int16_t)x)) {
			if (bad++ < 5)
				diag("x=%d got 0x%02X want 0x%02X", x,
				     evb_ulaw_encode1((int16_t)x), ref_compress((int16_t)x));
		}
	is_int(bad, 0, "encoder equals G.191 ulaw_compress for all 65536 inputs");

	bad = 0;
	for (int c = 0; c < 256; c++)
		if (c != 0x7F && evb_ulaw_encode1(evb_ulaw_decode1((uint8_t)c)) != c)
			bad++;
	is_int(bad, 0, "encode(decode(c)) == c for every c but 0x7F");
	is_int(evb_ulaw_encode1(evb_ulaw_decode1(0x7F)), 0xFF, "0x7F (-0) re-encodes as 0xFF (+0)");

	/* Monotonic: decoded value never decreases as the input grows. */
	mono = 1;
	for (int x = -32768; x < 32767; x++)
		if (evb_ulaw_decode1(evb_ulaw_encode1((int16_t)(x + 1))) <
		    evb_ulaw_decode1(evb_ulaw_encode1((int16_t)x)))
			mono = 0;
	ok(mono, "decode(encode(x)) is monotonic in x");
	mono = 1;
	for (int c = 0x80; c < 0xFF; c++)
		if (!(ref_expand((uint8_t)c) > ref_expand((uint8_t)(c + 1))))
			mono = 0;
	for (int c = 0x00; c < 0x7F; c++)
		if (!(evb_ulaw_decode1((uint8_t)c) < evb_ulaw_decode1((uint8_t)(c + 1))))
			mono = 0;
	ok(mono, "codes are strictly ordered within each sign");

	{
		int16_t in[6] = { 0, -1, 32767, -32768, 1000, -1000 };
		uint8_t u[6];
		int16_t back[6];
		evb_ulaw_encode(in, u, 6);
		evb_ulaw_decode(u, back, 6);
		bad = 0;
		for (int i = 0; i < 6; i++)
			if (u[i] != evb_ulaw_encode1(in[i]) || back[i] != evb_ulaw_decode1(u[i]))
				bad++;
		is_int(bad, 0, "bulk encode/decode match the single-sample calls");
	}

	{
		int16_t in[3] = { 0x1234, -2, -32768 };
		uint8_t b[6];
		int16_t back[3];
		static const uint8_t want[6] = { 0x34, 0x12, 0xFE, 0xFF, 0x00, 0x80 };
		evb_l16_encode(in, b, 3);
		ok(memcmp(b, want, 6) == 0, "l16 encode writes little-endian bytes");
		evb_l16_decode(want, back, 3);
		ok(back[0] == 0x1234 && back[1] == -2 && back[2] == -32768,
		   "l16 decode reads little-endian bytes");
	}
	return done_testing();
}
