/* G.711 mu-law, bit-exact with the ITU-T G.191 reference (ulaw_compress /
 * ulaw_expand). */
#ifndef EVB_G711_H
#define EVB_G711_H

#include <stddef.h>
#include <stdint.h>

uint8_t evb_ulaw_encode1(int16_t x);
int16_t evb_ulaw_decode1(uint8_t u);

/* Encode / decode n samples; in and out must not overlap. */
void evb_ulaw_encode(const int16_t *in, uint8_t *out, size_t n);
void evb_ulaw_decode(const uint8_t *in, int16_t *out, size_t n);

/* L16 little-endian bytes <-> host int16 samples (n samples). */
void evb_l16_decode(const uint8_t *in, int16_t *out, size_t n);
void evb_l16_encode(const int16_t *in, uint8_t *out, size_t n);

#endif
