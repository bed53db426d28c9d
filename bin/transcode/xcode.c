#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "evb_callmap.h"
#include "evb_conv.h"
#include "evb_err.h"
#include "evb_log.h"
#include "xcode.h"

struct held {
	struct evb_frame_hdr h;
	uint8_t *payload;
};

/* The largest 20 ms frame: L16 at 48 kHz. */
#define FRAME_MAX 1920

/* One direction of one call. Toward the caller the newest frame is held
 * back until the next one (or the utterance end) arrives, so that the END
 * flag always lands on the real last frame, even when the utterance ends
 * exactly on a frame boundary. */
struct leg {
	struct evb_conv *conv;
	int have_hold;
	struct evb_frame_hdr hold_h;
	uint8_t hold[FRAME_MAX];
	int in_codec, out_codec;
	uint32_t in_rate, out_rate;
	uint32_t seq;
	int have_base;
	uint64_t base_ts_us, samples_out;
};

struct call {
	uint8_t id[EVB_CALLID_LEN];
	char idstr[EVB_CALLID_STRLEN];
	struct leg leg[3]; /* indexed by enum evb_dir */
	int prov_codec;    /* the caller's format: target of down audio */
	uint32_t prov_rate;
	void *owner;
	uint64_t last_ns;
	struct held *held;
	int nheld;
};

struct xc {
	struct xc_opts o;
	struct xc_sink sink;
	struct evb_callmap *calls;
	struct xc_stats st;
};

/* What a conv callback needs to build output headers. */
struct emit_ctx {
	struct xc *x;
	struct call *c;
	int dir;
	uint64_t capture_ns;
};

struct xc *xc_new(const struct xc_opts *o, const struct xc_sink *sink)
{
	struct xc *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->o = *o;
	x->sink = *sink;
	if (!(x->calls = evb_callmap_new())) {
		free(x);
		return NULL;
	}
	return x;
}

static void drop_held(struct call *c)
{
	for (int i = 0; i < c->nheld; i++)
		free(c->held[i].payload);
	free(c->held);
	c->held = NULL;
	c->nheld = 0;
}

static void call_free(struct call *c)
{
	for (int d = 0; d < 3; d++)
		evb_conv_free(c->leg[d].conv);
	drop_held(c);
	free(c);
}

static int free_cb(const uint8_t *id, void *v, void *arg)
{
	(void)id;
	(void)arg;
	call_free(v);
	return 0;
}

void xc_free(struct xc *x)
{
	if (!x)
		return;
	evb_callmap_each(x->calls, free_cb, NULL);
	evb_callmap_free(x->calls);
	free(x);
}

static struct call *call_get(struct xc *x, const uint8_t *id)
{
	struct call *c = evb_callmap_get(x->calls, id);
	if (c)
		return c;
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	memcpy(c->id, id, EVB_CALLID_LEN);
	evb_callid_format(id, c->idstr);
	if (evb_callmap_put(x->calls, id, c) < 0) {
		free(c);
		return NULL;
	}
	x->st.calls_started++;
	return c;
}

static void call_end(struct xc *x, struct call *c)
{
	evb_callmap_del(x->calls, c->id);
	call_free(c);
	x->st.calls_ended++;
}

static int emit_audio(void *arg, const uint8_t *data, size_t len, int end)
{
	struct emit_ctx *e = arg;
	struct leg *l = &e->c->leg[e->dir];
	unsigned sb = evb_codec_sample_bytes(l->out_codec);
	struct evb_frame_hdr h = {
		.kind = EVB_KIND_AUDIO,
		.codec = (uint8_t)l->out_codec,
		.dir = (uint8_t)e->dir,
		.rate = l->out_rate,
		.len = (uint32_t)len,
		.seq = l->seq++,
		.media_ts_us = l->base_ts_us + l->samples_out * 1000000u / l->out_rate,
		.capture_ns = e->capture_ns,
	};
	(void)end;
	memcpy(h.call_id, e->c->id, EVB_CALLID_LEN);
	l->samples_out += len / sb;
	if (e->dir != EVB_DIR_DOWN || len > FRAME_MAX) {
		e->x->st.frames_out++;
		e->x->sink.emit(e->x->sink.arg, NULL, &h, data);
		return 0;
	}
	if (l->have_hold) {
		e->x->st.frames_out++;
		e->x->sink.emit(e->x->sink.arg, e->c->owner, &l->hold_h, l->hold);
	}
	l->hold_h = h;
	memcpy(l->hold, data, len);
	l->have_hold = 1;
	return 0;
}

/* Sends the held-back frame toward the caller, flagged as the last of its
 * utterance when end is set. */
static void release_hold(struct xc *x, struct call *c, int end)
{
	struct leg *l = &c->leg[EVB_DIR_DOWN];
	if (!l->have_hold)
		return;
	if (end)
		l->hold_h.flags |= EVB_FLAG_END;
	l->have_hold = 0;
	x->st.frames_out++;
	x->sink.emit(x->sink.arg, c->owner, &l->hold_h, l->hold);
}

/* Decides the output format of an audio frame; 0 if it is not yet known. */
static int out_format(struct xc *x, struct call *c, const struct evb_frame_hdr *h, int *codec,
		      uint32_t *rate)
{
	if (x->o.to_codec) {
		*codec = x->o.to_codec;
		*rate = x->o.to_rate;
	} else if (h->dir == EVB_DIR_UP) {
		*codec = EVB_CODEC_L16;
		*rate = x->o.hume_rate ? x->o.hume_rate : h->rate;
	} else if (h->dir == EVB_DIR_DOWN && c->prov_codec) {
		*codec = c->prov_codec;
		*rate = c->prov_rate;
	} else {
		return 0;
	}
	return 1;
}

static int leg_setup(struct xc *x, struct leg *l, const struct evb_frame_hdr *h,
		     int codec, uint32_t rate)
{
	uint32_t in_rate = h->codec == EVB_CODEC_WAV ? 0 : h->rate;
	struct evb_conv_opts co = {
		.in_codec = h->codec,
		.in_rate = in_rate ? in_rate : rate,
		.out_codec = codec,
		.out_rate = rate,
		.quality = x->o.quality,
		.gain = h->dir == EVB_DIR_DOWN ? x->o.gain : 1.0f,
		.frame_ms = 20,
	};

	if (l->conv && l->in_codec == h->codec && l->in_rate == in_rate &&
	    l->out_codec == codec && l->out_rate == rate)
		return 0;
	evb_conv_free(l->conv);
	l->conv = evb_conv_new(&co);
	if (!l->conv)
		return -errno;
	l->in_codec = h->codec;
	l->in_rate = in_rate;
	l->out_codec = codec;
	l->out_rate = rate;
	if (!l->have_base) {
		l->have_base = 1;
		l->base_ts_us = h->media_ts_us;
	}
	l->base_ts_us += l->samples_out * 1000000u / (rate ? rate : 1);
	l->samples_out = 0;
	return 0;
}

static void convert(struct xc *x, struct call *c, const struct evb_frame_hdr *h,
		    const uint8_t *payload)
{
	struct emit_ctx e = { x, c, h->dir, h->capture_ns };
	struct leg *l = &c->leg[h->dir];
	int codec = 0, r;
	uint32_t rate = 0;

	if (!out_format(x, c, h, &codec, &rate))
		return;
	if ((r = leg_setup(x, l, h, codec, rate)) < 0) {
		EVB_LOG(LOG_ERR, "xcode", "call=%s unable to convert %s/%u to %s/%u: %s",
			c->idstr, evb_codec_name(h->codec), h->rate, evb_codec_name(codec), rate,
			evb_strerror(r));
		x->st.bad_frames++;
		return;
	}
	r = evb_conv_push(l->conv, payload, h->len, emit_audio, &e);
	if (r < 0) {
		EVB_LOG(LOG_ERR, "xcode", "call=%s dropped a %s frame (seq %u): %s", c->idstr,
			evb_codec_name(h->codec), h->seq, evb_strerror(r));
		x->st.bad_frames++;
	}
	if (h->flags & EVB_FLAG_END) {
		evb_conv_flush(l->conv, emit_audio, &e);
		release_hold(x, c, 1);
	}
}

static void hold(struct xc *x, struct call *c, const struct evb_frame *f)
{
	struct held *n;

	if (c->nheld >= x->o.hold_max) {
		x->st.held_dropped++;
		EVB_LOG(LOG_WARNING, "xcode",
			"call=%s dropped agent audio: caller format still unknown", c->idstr);
		return;
	}
	n = realloc(c->held, (size_t)(c->nheld + 1) * sizeof(*n));
	if (!n)
		return;
	c->held = n;
	n[c->nheld].h = f->h;
	n[c->nheld].payload = malloc(f->h.len ? f->h.len : 1);
	if (!n[c->nheld].payload)
		return;
	memcpy(n[c->nheld].payload, f->payload, f->h.len);
	c->nheld++;
}

static void set_provider_format(struct xc *x, struct call *c, int codec, uint32_t rate)
{
	struct held *held = c->held;
	int n = c->nheld;

	if (c->prov_codec == codec && c->prov_rate == rate)
		return;
	c->prov_codec = codec;
	c->prov_rate = rate;
	if (!n)
		return;
	c->held = NULL;
	c->nheld = 0;
	for (int i = 0; i < n; i++) {
		convert(x, c, &held[i].h, held[i].payload);
		free(held[i].payload);
	}
	free(held);
}

static void interrupt(struct xc *x, struct call *c)
{
	struct leg *l = &c->leg[EVB_DIR_DOWN];
	x->st.interrupts++;
	if (l->conv)
		evb_conv_reset(l->conv);
	l->have_hold = 0;
	drop_held(c);
	if (x->sink.drop)
		x->sink.drop(x->sink.arg, c->owner, c->id);
}

/* Reads the "type" of a control frame and acts on the ones that concern
 * audio. Returns 1 if the call ended. */
static int control(struct xc *x, struct call *c, const struct evb_frame *f)
{
	json_error_t jerr;
	json_t *o = json_loadb((const char *)f->payload, f->h.len, 0, &jerr);
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *fmt = json_string_value(json_object_get(o, "format"));
	int ended = 0, codec;
	uint32_t rate;

	if (!type) {
		EVB_LOG(LOG_WARNING, "xcode", "call=%s control frame without a 'type': %s",
			c->idstr, o ? "missing" : jerr.text);
		x->st.bad_frames++;
	} else if (strcmp(type, "interrupt") == 0) {
		interrupt(x, c);
	} else if (strcmp(type, "call.ended") == 0) {
		ended = 1;
	} else if (strcmp(type, "call.prepare") == 0 && fmt) {
		if (evb_format_parse(fmt, &codec, &rate) == 0)
			set_provider_format(x, c, codec, rate);
		else
			EVB_LOG(LOG_WARNING, "xcode", "call=%s call.prepare with bad format '%.32s'",
				c->idstr, fmt);
	}
	json_decref(o);
	return ended;
}

void xc_frame(struct xc *x, const struct evb_frame *f, void *owner_up)
{
	struct call *c = call_get(x, f->h.call_id);
	int codec;
	uint32_t rate;

	x->st.frames_in++;
	if (!c)
		return;
	c->last_ns = evb_now_ns();
	if (f->h.dir == EVB_DIR_UP && owner_up)
		c->owner = owner_up;
	if (f->h.kind != EVB_KIND_AUDIO) {
		int ended = f->h.kind == EVB_KIND_CONTROL && control(x, c, f);
		if (f->h.dir == EVB_DIR_DOWN && (f->h.flags & EVB_FLAG_END)) {
			struct emit_ctx e = { x, c, EVB_DIR_DOWN, f->h.capture_ns };
			if (c->leg[EVB_DIR_DOWN].conv)
				evb_conv_flush(c->leg[EVB_DIR_DOWN].conv, emit_audio, &e);
			release_hold(x, c, 1);
		}
		x->sink.emit(x->sink.arg, f->h.dir == EVB_DIR_DOWN ? c->owner : NULL, &f->h,
			     f->payload);
		if (ended)
			call_end(x, c);
		return;
	}
	/* Caller audio tells the format that agent audio must be turned into. */
	if (f->h.dir == EVB_DIR_UP && f->h.codec != EVB_CODEC_WAV)
		set_provider_format(x, c, f->h.codec, f->h.rate);
	if (!out_format(x, c, &f->h, &codec, &rate)) {
		if (f->h.dir == EVB_DIR_DOWN) {
			hold(x, c, f);
		} else {
			EVB_LOG(LOG_WARNING, "xcode",
				"call=%s audio frame without a direction and no --to: dropped",
				c->idstr);
			x->st.bad_frames++;
		}
		return;
	}
	convert(x, c, &f->h, f->payload);
}

static int flush_cb(const uint8_t *id, void *v, void *arg)
{
	struct xc *x = arg;
	struct call *c = v;
	(void)id;
	if (c->nheld) {
		EVB_LOG(LOG_WARNING, "xcode",
			"call=%s %d agent audio frames dropped: the caller's format never "
			"became known (send caller audio or call.prepare, or use --to)",
			c->idstr, c->nheld);
		x->st.held_dropped += (uint64_t)c->nheld;
		drop_held(c);
	}
	for (int d = 0; d < 3; d++) {
		struct emit_ctx e = { x, c, d, evb_now_ns() };
		if (c->leg[d].conv)
			evb_conv_flush(c->leg[d].conv, emit_audio, &e);
	}
	release_hold(x, c, 1);
	return 0;
}

void xc_flush_all(struct xc *x)
{
	evb_callmap_each(x->calls, flush_cb, x);
}

struct expire_ctx {
	struct xc *x;
	uint64_t now, idle;
	unsigned n;
};

static int expire_cb(const uint8_t *id, void *v, void *arg)
{
	struct expire_ctx *e = arg;
	struct call *c = v;
	if (e->now - c->last_ns > e->idle) {
		EVB_LOG(LOG_INFO, "xcode", "call=%s idle: state freed", c->idstr);
		evb_callmap_del(e->x->calls, id);
		call_free(c);
		e->x->st.calls_expired++;
		e->n++;
	}
	return 0;
}

unsigned xc_expire(struct xc *x, uint64_t now_ns, uint64_t idle_ns)
{
	struct expire_ctx e = { x, now_ns, idle_ns, 0 };
	evb_callmap_each(x->calls, expire_cb, &e);
	return e.n;
}

static int forget_cb(const uint8_t *id, void *v, void *arg)
{
	struct call *c = v;
	(void)id;
	if (c->owner == arg)
		c->owner = NULL;
	return 0;
}

void xc_forget_owner(struct xc *x, void *owner)
{
	evb_callmap_each(x->calls, forget_cb, owner);
}

const struct xc_stats *xc_stats(const struct xc *x)
{
	return &x->st;
}

unsigned xc_active(const struct xc *x)
{
	return (unsigned)evb_callmap_count(x->calls);
}
