/* Pieces shared by the simulated callers, evb-call (one call) and evb-load
 * (many): random call and stream ids, and the WAV they play converted to
 * the provider's codec and rate. */
#ifndef EVB_CALLER_H
#define EVB_CALLER_H

#include <stddef.h>
#include <stdint.h>

/* Writes n random lowercase hex digits (n even, at most 64) and a NUL to
 * out, which holds n + 1 bytes. */
void evb_caller_random_hex(char *out, size_t n);

/* Converts a whole WAV file (wav, len bytes; any rate) to out_codec
 * (EVB_CODEC_ULAW or EVB_CODEC_L16) at out_rate, in whole 20 ms frames,
 * the last padded with silence. On success *out is malloc'd (the caller
 * frees it) and 0 is returned; else an EVB_EWAV* code or -errno, and *out
 * is NULL. */
int evb_caller_convert(const uint8_t *wav, size_t len, int out_codec, uint32_t out_rate,
		       uint8_t **out, size_t *out_len);

#endif
