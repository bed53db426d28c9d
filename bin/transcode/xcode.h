/* The transcoder's per-call logic, shared by the --stdio filter and the
 * daemon: audio frames in, converted 20 ms frames out, control frames
 * acted on and passed along. State is created lazily from frame headers. */
#ifndef EVB_XCODE_H
#define EVB_XCODE_H

#include <stdint.h>

#include "evb_frame.h"

struct xc;

struct xc_opts {
	uint32_t hume_rate;  /* 0: the caller's own rate */
	int to_codec;        /* forced output format for every audio frame, or 0 */
	uint32_t to_rate;
	int quality;         /* resampler quality */
	float gain;          /* applied toward the caller */
	int hold_max;        /* down frames held while the caller's format is unknown */
};

/* Where converted frames go. owner is the value given with the input frame
 * (the daemon passes the connection it came from; the filter, NULL). */
struct xc_sink {
	void (*emit)(void *arg, void *owner, const struct evb_frame_hdr *h, const void *payload);
	/* An interrupt for a call: drop its frames not yet sent. May be NULL. */
	void (*drop)(void *arg, void *owner, const uint8_t *call_id);
	void *arg;
};

struct xc_stats {
	uint64_t frames_in, frames_out, bad_frames, held_dropped, interrupts;
	uint64_t calls_started, calls_ended, calls_expired;
};

struct xc *xc_new(const struct xc_opts *o, const struct xc_sink *sink);
void xc_free(struct xc *x);

/* Handles one frame. owner_up: for frames travelling up, who sent them (the
 * call's caller side; down frames for the call are emitted to it). */
void xc_frame(struct xc *x, const struct evb_frame *f, void *owner_up);

/* Flushes every call's unfinished frame (end of a --stdio input). */
void xc_flush_all(struct xc *x);

/* Frees calls idle for longer than idle_ns; returns how many. */
unsigned xc_expire(struct xc *x, uint64_t now_ns, uint64_t idle_ns);

/* Forgets owner (its connection closed): its calls keep their state, and
 * their down frames are dropped until the owner's side comes back. */
void xc_forget_owner(struct xc *x, void *owner);

const struct xc_stats *xc_stats(const struct xc *x);
unsigned xc_active(const struct xc *x);

#endif
