/* G.711 mu-law through two tables computed by the compiler from the ITU-T
 * G.191 formulas (ulaw_compress / ulaw_expand), and L16 little-endian
 * packing. The hot paths are one table load per sample. */
#include <string.h>

#include "evb_g711.h"

/* Decoding: G.191 ulaw_expand for one code u (0..255). */
#define EVB__UX_E(u) ((((u) ^ 0xFF) >> 4) & 7)
#define EVB__UX_M(u) (((u) ^ 0xFF) & 15)
#define EVB__UX_MAG(u)                                                        \
	((0x80 << EVB__UX_E(u)) + (4 << (EVB__UX_E(u) + 1)) * EVB__UX_M(u) +  \
	 (2 << (EVB__UX_E(u) + 1)) - 4 * 33)
#define EVB__UX(u) ((u) < 0x80 ? -EVB__UX_MAG(u) : EVB__UX_MAG(u))

#define EVB__D1(h, l) (int16_t)EVB__UX(0x##h##l),
#define EVB__D16(h)                                                              \
	EVB__D1(h, 0) EVB__D1(h, 1) EVB__D1(h, 2) EVB__D1(h, 3) EVB__D1(h, 4)    \
	EVB__D1(h, 5) EVB__D1(h, 6) EVB__D1(h, 7) EVB__D1(h, 8) EVB__D1(h, 9)    \
	EVB__D1(h, A) EVB__D1(h, B) EVB__D1(h, C) EVB__D1(h, D) EVB__D1(h, E)    \
	EVB__D1(h, F)

static const int16_t evb__ulaw_dec[256] = {
	EVB__D16(0) EVB__D16(1) EVB__D16(2) EVB__D16(3) EVB__D16(4) EVB__D16(5)
	EVB__D16(6) EVB__D16(7) EVB__D16(8) EVB__D16(9) EVB__D16(A) EVB__D16(B)
	EVB__D16(C) EVB__D16(D) EVB__D16(E) EVB__D16(F)
};

/* Encoding: G.191 ulaw_compress depends only on the 14-bit value x >> 2.
 * For absno a = |x >> 2| + 33 (one's complement for negatives) the 7 low
 * bits are 0x8F - 16 * s - (a >> (s + 1)), where s = segno - 1 is the
 * number of significant bits of a >> 6; a is clipped to 0x1FFF (code 0). */
#define EVB__UC(a)                                                            \
	((a) > 0x1FFF ? 0x00 :                                                \
	 (a) >= 4096  ? 0x8F - 0x70 - ((a) >> 8) :                           \
	 (a) >= 2048  ? 0x8F - 0x60 - ((a) >> 7) :                            \
	 (a) >= 1024  ? 0x8F - 0x50 - ((a) >> 6) :                            \
	 (a) >= 512   ? 0x8F - 0x40 - ((a) >> 5) :                            \
	 (a) >= 256   ? 0x8F - 0x30 - ((a) >> 4) :                            \
	 (a) >= 128   ? 0x8F - 0x20 - ((a) >> 3) :                            \
	 (a) >= 64    ? 0x8F - 0x10 - ((a) >> 2) :                            \
			0x8F - ((a) >> 1))

/* Index i is the 14-bit two's complement value: 0..0x1FFF are x >= 0
 * (sign bit set), 0x2000..0x3FFF are x < 0, whose absno is ~v + 33 with
 * v = i - 0x4000, i.e. 0x4020 - i. */
#define EVB__EP(h, k, l) (uint8_t)(0x80 | EVB__UC(0x##h##k##l + 33)),
#define EVB__EN(h, k, l) (uint8_t)EVB__UC(0x4020 - 0x##h##k##l),
#define EVB__E16(f, h, k)                                                      \
	f(h, k, 0) f(h, k, 1) f(h, k, 2) f(h, k, 3) f(h, k, 4) f(h, k, 5)      \
	f(h, k, 6) f(h, k, 7) f(h, k, 8) f(h, k, 9) f(h, k, A) f(h, k, B)      \
	f(h, k, C) f(h, k, D) f(h, k, E) f(h, k, F)
#define EVB__E256(f, h)                                                        \
	EVB__E16(f, h, 0) EVB__E16(f, h, 1) EVB__E16(f, h, 2) EVB__E16(f, h, 3) \
	EVB__E16(f, h, 4) EVB__E16(f, h, 5) EVB__E16(f, h, 6) EVB__E16(f, h, 7) \
	EVB__E16(f, h, 8) EVB__E16(f, h, 9) EVB__E16(f, h, A) EVB__E16(f, h, B) \
	EVB__E16(f, h, C) EVB__E16(f, h, D) EVB__E16(f, h, E) EVB__E16(f, h, F)
#define EVB__E4K(f, p)                                                         \
	EVB__E256(f, p##0) EVB__E256(f, p##1) EVB__E256(f, p##2)              \
	EVB__E256(f, p##3) EVB__E256(f, p##4) EVB__E256(f, p##5)              \
	EVB__E256(f, p##6) EVB__E256(f, p##7) EVB__E256(f, p##8)              \
	EVB__E256(f, p##9) EVB__E256(f, p##A) EVB__E256(f, p##B)              \
	EVB__E256(f, p##C) EVB__E256(f, p##D) EVB__E256(f, p##E)              \
	EVB__E256(f, p##F)

static const uint8_t evb__ulaw_enc[16384] = {
	EVB__E4K(EVB__EP, 0) EVB__E4K(EVB__EP, 1)
	EVB__E4K(EVB__EN, 2) EVB__E4K(EVB__EN, 3)
};

static inline unsigned evb__idx14(int16_t x)
{
	return (uint16_t)x >> 2;
}

uint8_t evb_ulaw_encode1(int16_t x)
{
	return evb__ulaw_enc[evb__idx14(x)];
}

int16_t evb_ulaw_decode1(uint8_t u)
{
	return evb__ulaw_dec[u];
}

void evb_ulaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = evb__ulaw_enc[evb__idx14(in[i])];
}

void evb_ulaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = evb__ulaw_dec[in[i]];
}

void evb_l16_decode(const uint8_t *in, int16_t *out, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(out, in, n * 2);
#else
	for (size_t i = 0; i < n; i++)
		out[i] = (int16_t)(uint16_t)(in[2 * i] | (in[2 * i + 1] << 8));
#endif
}

void evb_l16_encode(const int16_t *in, uint8_t *out, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(out, in, n * 2);
#else
	for (size_t i = 0; i < n; i++) {
		uint16_t v = (uint16_t)in[i];
		out[2 * i] = (uint8_t)v;
		out[2 * i + 1] = (uint8_t)(v >> 8);
	}
#endif
}
