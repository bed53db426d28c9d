/* Streaming resampler over SpeexDSP; equal rates copy samples through, and
 * 6:1 down (48 kHz to 8 kHz) goes through the two-stage evb_decim. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_resampler.h>

#include "evb_decim.h"
#include "evb_resample.h"

#define EVB_RESAMPLE_MAX_RATE 384000
/* Output samples speex may emit beyond in_len * out / in: its fractional
 * phase carries over between calls, so one call can produce a sample more
 * than the ratio; a few more cost nothing. */
#define EVB_RESAMPLE_SLACK 8

struct evb_resampler {
	SpeexResamplerState *st; /* NULL for pass-through or decim */
	struct evb_decim *decim;
	uint32_t in_rate, out_rate;
};

struct evb_resampler *evb_resampler_new(uint32_t in_rate, uint32_t out_rate, int quality)
{
	struct evb_resampler *r;
	int err = 0;

	if (in_rate < 1 || in_rate > EVB_RESAMPLE_MAX_RATE || out_rate < 1 ||
	    out_rate > EVB_RESAMPLE_MAX_RATE || quality < SPEEX_RESAMPLER_QUALITY_MIN ||
	    quality > SPEEX_RESAMPLER_QUALITY_MAX) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->in_rate = in_rate;
	r->out_rate = out_rate;
	if (quality >= EVB_RESAMPLE_DECIM_MIN_QUALITY && in_rate == 6 * out_rate &&
	    (r->decim = evb_decim_new(in_rate, out_rate)))
		return r;
	if (in_rate != out_rate) {
		r->st = speex_resampler_init(1, in_rate, out_rate, quality, &err);
		if (!r->st) {
			free(r);
			errno = err == RESAMPLER_ERR_ALLOC_FAILED ? ENOMEM : EINVAL;
			return NULL;
		}
	}
	return r;
}

void evb_resampler_free(struct evb_resampler *r)
{
	if (!r)
		return;
	if (r->st)
		speex_resampler_destroy(r->st);
	evb_decim_free(r->decim);
	free(r);
}

size_t evb_resampler_max_out(const struct evb_resampler *r, size_t in_len)
{
	uint64_t q, rem;

	if (r->decim)
		return evb_decim_max_out(in_len);
	if (!r->st)
		return in_len;
	/* ceil(in_len * out / in) without overflowing the product. */
	q = (uint64_t)(in_len / r->in_rate) * r->out_rate;
	rem = (uint64_t)(in_len % r->in_rate) * r->out_rate;
	q += (rem + r->in_rate - 1) / r->in_rate;
	if (q > SIZE_MAX - EVB_RESAMPLE_SLACK)
		return SIZE_MAX;
	return (size_t)q + EVB_RESAMPLE_SLACK;
}

long evb_resampler_process(struct evb_resampler *r, const int16_t *in, size_t in_len,
			   int16_t *out, size_t out_cap)
{
	size_t done = 0;

	if (r->decim) {
		if (out_cap < evb_decim_max_out(in_len))
			return -ENOBUFS;
		return (long)evb_decim_process(r->decim, in, in_len, out);
	}
	if (!r->st) {
		if (in_len > out_cap)
			return -ENOBUFS;
		memmove(out, in, in_len * sizeof(*in));
		return (long)in_len;
	}
	/* speex stops when either side runs out; loop until all input is
	 * consumed so no sample is silently left behind. */
	while (in_len > 0) {
		spx_uint32_t ilen = in_len > 0x10000000 ? 0x10000000 : (spx_uint32_t)in_len;
		spx_uint32_t olen;
		size_t room = out_cap - done;
		int e;

		if (room == 0)
			return -ENOBUFS;
		olen = room > 0x7FFFFFFF ? 0x7FFFFFFF : (spx_uint32_t)room;
		e = speex_resampler_process_int(r->st, 0, in, &ilen, out + done, &olen);
		if (e != RESAMPLER_ERR_SUCCESS)
			return -EINVAL;
		if (ilen == 0 && olen == 0)
			return -ENOBUFS;
		in += ilen;
		in_len -= ilen;
		done += olen;
	}
	return (long)done;
}

void evb_resampler_reset(struct evb_resampler *r)
{
	if (r->st)
		speex_resampler_reset_mem(r->st);
	if (r->decim)
		evb_decim_reset(r->decim);
}

int evb_resampler_latency(const struct evb_resampler *r)
{
	/* The speex getter takes a non-const state but only reads it. */
	if (r->decim)
		return evb_decim_latency(r->decim);
	return r->st ? speex_resampler_get_input_latency((SpeexResamplerState *)r->st) : 0;
}

uint32_t evb_resampler_in_rate(const struct evb_resampler *r)
{
	return r->in_rate;
}

uint32_t evb_resampler_out_rate(const struct evb_resampler *r)
{
	return r->out_rate;
}
