/* One direction of one call's audio: decode (L16, mu-law or WAV), resample,
 * apply gain, encode, and cut into exact frames of frame_ms milliseconds.
 * Keeps resampler state and the unfinished last frame between pushes. */
#ifndef EVB_CONV_H
#define EVB_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "evb_frame.h"

struct evb_conv;

struct evb_conv_opts {
	int in_codec;       /* EVB_CODEC_L16, _ULAW or _WAV */
	uint32_t in_rate;   /* ignored for WAV: read from each file's header */
	int out_codec;      /* EVB_CODEC_L16 or _ULAW */
	uint32_t out_rate;
	int quality;        /* resampler quality, 0..10 */
	float gain;         /* 1.0 = unchanged */
	unsigned frame_ms;  /* output frame length, normally 20 */
};

/* Called once per complete output frame: data holds exactly frame_bytes.
 * end is 1 on the last frame of a flush. Return non-zero to stop. */
typedef int (*evb_conv_cb)(void *arg, const uint8_t *data, size_t len, int end);

/* Returns NULL with errno set (EINVAL for unsupported codecs or rates). */
struct evb_conv *evb_conv_new(const struct evb_conv_opts *o);
void evb_conv_free(struct evb_conv *c);

/* Bytes in one output frame (e.g. 160 for ulaw/8000, 640 for l16/16000). */
size_t evb_conv_frame_bytes(const struct evb_conv *c);

/* Converts len bytes (PCM, or one whole WAV file for WAV input) and calls cb
 * for each complete output frame. A partial frame waits for the next push.
 * Returns 0, an EVB_EWAV* code for a bad WAV (nothing emitted), or -EINVAL
 * for PCM whose length is not a whole number of samples. */
int evb_conv_push(struct evb_conv *c, const uint8_t *in, size_t len, evb_conv_cb cb, void *arg);

/* Pads the unfinished frame with silence and emits it with end=1. If there
 * is none, returns 0 without calling cb; otherwise returns 1. */
int evb_conv_flush(struct evb_conv *c, evb_conv_cb cb, void *arg);

/* Drops the unfinished frame and resampler history (interruption). */
void evb_conv_reset(struct evb_conv *c);

/* Output samples waiting in the unfinished frame. */
size_t evb_conv_pending(const struct evb_conv *c);

#endif
