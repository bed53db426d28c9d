/* Streaming sample-rate conversion over SpeexDSP. One resampler per call and
 * direction keeps its filter history, so frame boundaries leave no clicks. */
#ifndef EVB_RESAMPLE_H
#define EVB_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define EVB_RESAMPLE_QUALITY_DEFAULT 5
/* From this quality on, 6:1 down (48 to 8 kHz) uses evb_decim's two-stage
 * filter (80 dB stopband, flat to 3.4 kHz) instead of SpeexDSP. */
#define EVB_RESAMPLE_DECIM_MIN_QUALITY 3

struct evb_resampler;

/* quality 0..10 (SpeexDSP scale). Equal rates give a pass-through copy.
 * Returns NULL with errno set (EINVAL for bad rates or quality). */
struct evb_resampler *evb_resampler_new(uint32_t in_rate, uint32_t out_rate, int quality);
void evb_resampler_free(struct evb_resampler *r);

/* Upper bound of output samples for in_len input samples. */
size_t evb_resampler_max_out(const struct evb_resampler *r, size_t in_len);

/* Converts all in_len samples; out must hold evb_resampler_max_out(in_len).
 * Returns the number of samples written, or a negative error. */
long evb_resampler_process(struct evb_resampler *r, const int16_t *in, size_t in_len,
			   int16_t *out, size_t out_cap);

/* Forgets filter history (after an interruption). */
void evb_resampler_reset(struct evb_resampler *r);

/* Delay the filter adds, in input samples. */
int evb_resampler_latency(const struct evb_resampler *r);

uint32_t evb_resampler_in_rate(const struct evb_resampler *r);
uint32_t evb_resampler_out_rate(const struct evb_resampler *r);

#endif
