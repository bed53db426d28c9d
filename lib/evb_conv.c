/* One direction of a call's audio: decode, resample, gain, encode, frame.
 * Input is processed in fixed blocks through buffers inside the struct, so
 * a push never allocates (except to follow a WAV whose rate changed). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evb_conv.h"
#include "evb_err.h"
#include "evb_g711.h"
#include "evb_gain.h"
#include "evb_resample.h"
#include "evb_wav.h"

#define EVB_CONV_BLOCK 1024       /* input samples per step */
#define EVB_CONV_OUT_CAP 4096     /* resampled samples per step */
#define EVB_CONV_MIN_RATE 1000
#define EVB_CONV_MAX_RATE 384000  /* ratio <= 384 keeps one step in OUT_CAP */
#define EVB_CONV_MAX_FRAME_MS 1000

struct evb_conv {
	struct evb_conv_opts o;
	struct evb_resampler *rs; /* NULL until the first WAV for WAV input */
	size_t in_block;          /* input samples per step for rs's ratio */
	size_t frame_samples, frame_bytes;
	unsigned out_sb;          /* bytes per output sample */
	size_t fill;              /* samples in the unfinished frame */
	int passthrough;          /* same codec and rate, no gain: copy bytes */
	uint8_t *frame;
	int16_t in[EVB_CONV_BLOCK];
	int16_t out[EVB_CONV_OUT_CAP];
};

static unsigned evb__sample_bytes(int codec)
{
	return codec == EVB_CODEC_L16 ? 2 : codec == EVB_CODEC_ULAW ? 1 : 0;
}

/* Largest input step whose resampled output fits in out[]. */
static size_t evb__in_block(const struct evb_resampler *rs)
{
	size_t n = EVB_CONV_BLOCK;
	while (n > 1 && evb_resampler_max_out(rs, n) > EVB_CONV_OUT_CAP)
		n = n * 3 / 4;
	return n;
}

static int evb__set_resampler(struct evb_conv *c, uint32_t in_rate)
{
	struct evb_resampler *rs;

	rs = evb_resampler_new(in_rate, c->o.out_rate, c->o.quality);
	if (!rs)
		return -errno;
	evb_resampler_free(c->rs);
	c->rs = rs;
	c->in_block = evb__in_block(rs);
	return 0;
}

struct evb_conv *evb_conv_new(const struct evb_conv_opts *o)
{
	struct evb_conv *c;
	unsigned sb = evb__sample_bytes(o->out_codec);
	int pcm_in = o->in_codec == EVB_CODEC_L16 || o->in_codec == EVB_CODEC_ULAW;
	int e;

	if (!sb || (!pcm_in && o->in_codec != EVB_CODEC_WAV) ||
	    (pcm_in && (o->in_rate < EVB_CONV_MIN_RATE || o->in_rate > EVB_CONV_MAX_RATE)) ||
	    o->out_rate < EVB_CONV_MIN_RATE || o->out_rate > EVB_CONV_MAX_RATE ||
	    o->frame_ms < 1 || o->frame_ms > EVB_CONV_MAX_FRAME_MS ||
	    (uint64_t)o->out_rate * o->frame_ms % 1000 != 0 || o->quality < 0 ||
	    o->quality > 10 || !(o->gain >= 0.0f && o->gain <= 1000.0f)) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->o = *o;
	c->out_sb = sb;
	c->frame_samples = (size_t)o->out_rate * o->frame_ms / 1000;
	c->frame_bytes = c->frame_samples * sb;
	c->passthrough = pcm_in && o->in_codec == o->out_codec && o->in_rate == o->out_rate &&
			 o->gain == 1.0f;
	c->frame = malloc(c->frame_bytes);
	if (!c->frame) {
		e = -ENOMEM;
		goto fail;
	}
	if (pcm_in) {
		e = evb__set_resampler(c, o->in_rate);
		if (e)
			goto fail;
	}
	return c;
fail:
	evb_conv_free(c);
	errno = -e;
	return NULL;
}

void evb_conv_free(struct evb_conv *c)
{
	if (!c)
		return;
	evb_resampler_free(c->rs);
	free(c->frame);
	free(c);
}

size_t evb_conv_frame_bytes(const struct evb_conv *c)
{
	return c->frame_bytes;
}

/* Appends n encoded output samples (src) to frames; 1 when cb said stop. */
static int evb__emit_bytes(struct evb_conv *c, const uint8_t *src, size_t n,
			   evb_conv_cb cb, void *arg)
{
	while (n > 0) {
		size_t k = c->frame_samples - c->fill;
		if (k > n)
			k = n;
		memcpy(c->frame + c->fill * c->out_sb, src, k * c->out_sb);
		c->fill += k;
		src += k * c->out_sb;
		n -= k;
		if (c->fill == c->frame_samples) {
			c->fill = 0;
			if (cb(arg, c->frame, c->frame_bytes, 0))
				return 1;
		}
	}
	return 0;
}

/* Encodes n host samples into frames; 1 when cb said stop. */
static int evb__emit_pcm(struct evb_conv *c, const int16_t *s, size_t n,
			 evb_conv_cb cb, void *arg)
{
	while (n > 0) {
		size_t k = c->frame_samples - c->fill;
		uint8_t *dst = c->frame + c->fill * c->out_sb;
		if (k > n)
			k = n;
		if (c->o.out_codec == EVB_CODEC_ULAW)
			evb_ulaw_encode(s, dst, k);
		else
			evb_l16_encode(s, dst, k);
		c->fill += k;
		s += k;
		n -= k;
		if (c->fill == c->frame_samples) {
			c->fill = 0;
			if (cb(arg, c->frame, c->frame_bytes, 0))
				return 1;
		}
	}
	return 0;
}

/* Resamples the n samples in c->in, applies gain and emits them. */
static int evb__step(struct evb_conv *c, size_t n, evb_conv_cb cb, void *arg)
{
	long m = evb_resampler_process(c->rs, c->in, n, c->out, EVB_CONV_OUT_CAP);

	if (m < 0)
		return (int)m;
	if (c->o.gain != 1.0f)
		evb_gain_apply(c->out, (size_t)m, c->o.gain, EVB_GAIN_KNEE_DEFAULT);
	return evb__emit_pcm(c, c->out, (size_t)m, cb, arg);
}

static int evb__push_wav(struct evb_conv *c, const uint8_t *in, size_t len,
			 evb_conv_cb cb, void *arg)
{
	struct evb_wav_info info, part;
	size_t align, off = 0;
	int e;

	e = evb_wav_parse(in, len, &info);
	if (e)
		return e;
	if (info.rate < EVB_CONV_MIN_RATE || info.rate > EVB_CONV_MAX_RATE)
		return EVB_EWAVFMT;
	if (!c->rs || evb_resampler_in_rate(c->rs) != info.rate) {
		e = evb__set_resampler(c, info.rate);
		if (e)
			return e;
	}
	align = (size_t)info.channels * (info.bits / 8u);
	part = info;
	while (off < info.frames) {
		size_t n = info.frames - off;
		if (n > c->in_block)
			n = c->in_block;
		part.data = info.data + off * align;
		part.frames = n;
		part.data_len = n * align;
		evb_wav_to_mono16(&part, c->in, n);
		e = evb__step(c, n, cb, arg);
		if (e)
			return e; /* an error, or 1 when cb said stop */
		off += n;
	}
	return 0;
}

/* When cb asks to stop, the rest of this push and the unfinished frame are
 * dropped and the push returns 0. */
int evb_conv_push(struct evb_conv *c, const uint8_t *in, size_t len, evb_conv_cb cb, void *arg)
{
	size_t in_sb = c->o.in_codec == EVB_CODEC_L16 ? 2 : 1;
	size_t ns, off = 0;
	int e = 0;

	if (c->o.in_codec == EVB_CODEC_WAV) {
		e = evb__push_wav(c, in, len, cb, arg);
		goto out;
	}
	if (len % in_sb != 0)
		return -EINVAL;
	ns = len / in_sb;
	if (c->passthrough) {
		e = evb__emit_bytes(c, in, ns, cb, arg);
		goto out;
	}
	while (off < ns) {
		size_t n = ns - off;
		if (n > c->in_block)
			n = c->in_block;
		if (c->o.in_codec == EVB_CODEC_ULAW)
			evb_ulaw_decode(in + off, c->in, n);
		else
			evb_l16_decode(in + off * 2, c->in, n);
		e = evb__step(c, n, cb, arg);
		if (e)
			break;
		off += n;
	}
out:
	if (e > 0) {
		c->fill = 0;
		e = 0;
	}
	return e;
}

int evb_conv_flush(struct evb_conv *c, evb_conv_cb cb, void *arg)
{
	size_t used = c->fill * c->out_sb;

	if (c->fill == 0)
		return 0;
	memset(c->frame + used, c->o.out_codec == EVB_CODEC_ULAW ? 0xFF : 0x00,
	       c->frame_bytes - used);
	c->fill = 0;
	cb(arg, c->frame, c->frame_bytes, 1);
	return 1;
}

void evb_conv_reset(struct evb_conv *c)
{
	c->fill = 0;
	if (c->rs)
		evb_resampler_reset(c->rs);
}

size_t evb_conv_pending(const struct evb_conv *c)
{
	return c->fill;
}
