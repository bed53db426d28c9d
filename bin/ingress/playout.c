/* Playout: agent audio from evb-transcode waits in a per-call queue and
 * leaves one 20 ms frame per call per tick of ONE process-wide timer,
 * scheduled against an absolute clock (no drift). The first frame of an
 * utterance that finds the provider idle leaves at once. Providers do not
 * acknowledge frames, so pacing at real time keeps what they hold to the
 * frame in flight plus the next (20-40 ms): a clear is nearly inaudible
 * even before it takes effect. A mark (Twilio) or notify (Vonage) follows
 * the last frame of each utterance; its echo becomes a playback.mark
 * event, unless a clear came first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_callmap.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_stats.h"
#include "ingress.h"

#define TICK_FIRST_NS 10000000u /* a tick started by a send comes this much later */
#define MS 1000000u

static void tick_cb(uv_timer_t *t);

/* ---- the list of calls the tick looks at ---- */

static void active_add(struct ing *d, struct call *c)
{
	if (c->in_active)
		return;
	c->in_active = 1;
	c->aprev = NULL;
	c->anext = d->active;
	if (d->active)
		d->active->aprev = c;
	d->active = c;
}

static void active_del(struct ing *d, struct call *c)
{
	if (!c->in_active)
		return;
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		d->active = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	c->anext = c->aprev = NULL;
	c->in_active = 0;
}

static void tick_arm(struct ing *d, uint64_t now)
{
	uint64_t ms;

	uv_update_time(d->loop);
	ms = d->tick_next_ns > now ? (d->tick_next_ns - now + MS - 1) / MS : 0;
	uv_timer_start(&d->tick, tick_cb, ms, 0);
}

static void tick_ensure(struct ing *d)
{
	uint64_t now;

	if (d->tick_on || d->stopping == 2 || !d->active)
		return;
	now = evb_now_ns();
	d->tick_on = 1;
	d->tick_next_ns = now + TICK_FIRST_NS;
	tick_arm(d, now);
}

void play_stop(struct ing *d)
{
	while (d->active)
		active_del(d, d->active);
	uv_timer_stop(&d->tick);
	d->tick_on = 0;
}

/* ---- the queue: a ring of frame_bytes slots ---- */

static int q_grow(struct call *c)
{
	size_t cap = c->qcap ? c->qcap * 2 : 64;
	uint8_t *buf;
	uint16_t *fl;
	uint64_t *cn;

	if (cap > QUEUE_MAX_FRAMES)
		cap = QUEUE_MAX_FRAMES;
	if (cap <= c->qcap)
		return -ENOBUFS;
	buf = malloc(cap * c->frame_bytes);
	fl = malloc(cap * sizeof(*fl));
	cn = malloc(cap * sizeof(*cn));
	if (!buf || !fl || !cn) {
		free(buf);
		free(fl);
		free(cn);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->qlen; i++) {
		size_t k = (c->qhead + i) % c->qcap;
		memcpy(buf + i * c->frame_bytes, c->qbuf + k * c->frame_bytes, c->frame_bytes);
		fl[i] = c->qflags[k];
		cn[i] = c->qcap_ns[k];
	}
	free(c->qbuf);
	free(c->qflags);
	free(c->qcap_ns);
	c->qbuf = buf;
	c->qflags = fl;
	c->qcap_ns = cn;
	c->qcap = cap;
	c->qhead = 0;
	return 0;
}

static int q_push(struct call *c, const uint8_t *data, uint16_t flags, uint64_t capture_ns)
{
	size_t k;
	int r;

	if (c->qlen == c->qcap && (r = q_grow(c)) < 0)
		return r;
	k = (c->qhead + c->qlen) % c->qcap;
	memcpy(c->qbuf + k * c->frame_bytes, data, c->frame_bytes);
	c->qflags[k] = flags;
	c->qcap_ns[k] = capture_ns;
	c->qlen++;
	return 0;
}

static void q_clear(struct call *c)
{
	c->qlen = 0;
	c->qhead = 0;
}

void play_release(struct ing *d, struct call *c)
{
	active_del(d, c);
	free(c->qbuf);
	free(c->qflags);
	free(c->qcap_ns);
	c->qbuf = NULL;
	c->qflags = NULL;
	c->qcap_ns = NULL;
	c->qcap = c->qlen = c->qhead = 0;
}

/* ---- marks ---- */

static void mark_add(struct ing *d, struct call *c, uint64_t now)
{
	c->utt++;
	if (c->nmarks == MARKS_MAX) {
		memmove(c->marks, c->marks + 1, sizeof(c->marks[0]) * (MARKS_MAX - 1));
		c->nmarks--;
	}
	c->marks[c->nmarks++] = (struct mark){ .utt = c->utt, .sent_ns = now };
	d->st.marks_sent++;
	media_send_mark(c->stream, c->utt);
	c->utt_open = 0;
	c->utt_frames = 0;
}

void play_mark_echo(struct ing *d, struct call *c, const char *name)
{
	unsigned utt;
	char tail;
	json_t *ev;

	if (!name || sscanf(name, "evb-%u%c", &utt, &tail) != 1) {
		EVB_LOG(LOG_INFO, "play", "call=%s ignoring a mark we did not send", c->idstr);
		return;
	}
	for (int i = 0; i < c->nmarks; i++) {
		struct mark m = c->marks[i];

		if (m.utt != utt)
			continue;
		memmove(c->marks + i, c->marks + i + 1, sizeof(c->marks[0]) * (size_t)(c->nmarks - i - 1));
		c->nmarks--;
		if (m.cleared) {
			/* A clear returns the pending marks: that audio was not played. */
			d->st.marks_cleared++;
			EVB_LOG(LOG_DEBUG, "play", "call=%s mark %u returned by a clear", c->idstr, utt);
			return;
		}
		d->st.marks_played++;
		if ((ev = call_event(c, "playback.mark"))) {
			json_object_set_new(ev, "name", json_string(name));
			json_object_set_new(ev, "utterance", json_integer(utt));
			json_object_set_new(ev, "delay_ms",
					    json_integer((json_int_t)((evb_now_ns() - m.sent_ns) / MS)));
			ing_event(d, ev);
		}
		return;
	}
	EVB_LOG(LOG_INFO, "play", "call=%s mark '%s' is not pending", c->idstr, name);
}

/* ---- sending ---- */

static int live(const struct call *c)
{
	return c->state == C_LIVE && c->stream;
}

static void send_one(struct ing *d, struct call *c, uint64_t now)
{
	size_t k = c->qhead;
	uint16_t flags = c->qflags[k];
	int r;

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	r = media_send_audio(c->stream, c->qbuf + k * c->frame_bytes, c->frame_bytes);
	if (r < 0) {
		if (d->st.frames_down_dropped++ % 500 == 0)
			EVB_LOG(LOG_WARNING, "play", "call=%s agent audio dropped: %s", c->idstr,
				evb_strerror(r));
	} else {
		d->st.frames_out++;
		if (c->qcap_ns[k] && now > c->qcap_ns[k]) {
			d->st.lat_sum_ns += now - c->qcap_ns[k];
			d->st.lat_n++;
		}
	}
	c->play_end_ns = (c->play_end_ns > now ? c->play_end_ns : now) + TICK_NS;
	c->last_sent_ns = now;
	c->utt_open = 1;
	c->utt_frames++;
	c->starved = 0;
	if (flags & EVB_FLAG_END)
		mark_add(d, c, now);
}

void play_kick(struct ing *d, struct call *c)
{
	uint64_t now = evb_now_ns();

	if (live(c) && c->qlen && now >= c->play_end_ns) {
		/* Nothing else queued, the line idle: the hop's own latency. */
		uint64_t cap = c->qcap_ns[c->qhead];

		send_one(d, c, now);
		if (cap && (now = evb_now_ns()) > cap)
			evb_metric_observe(d->m_lat_first, (double)(now - cap) / 1e9);
	}
	if ((live(c) && (c->qlen || c->utt_open)) || c->hangup_pending) {
		active_add(d, c);
		tick_ensure(d);
	}
}

static void tick_cb(uv_timer_t *t)
{
	struct ing *d = t->data;
	uint64_t now = evb_now_ns();
	struct call *c, *next;

	if (now + 2 * MS < d->tick_next_ns) { /* woke early: the loop's clock is coarse */
		tick_arm(d, now);
		return;
	}
	for (c = d->active; c; c = next) {
		next = c->anext;
		if (live(c) && c->qlen) {
			if (now - c->last_sent_ns >= MIN_GAP_NS)
				send_one(d, c, now);
		} else if (live(c) && c->utt_open && !c->starved && now > c->play_end_ns) {
			/* The utterance goes on but nothing came to play. */
			c->starved = 1;
			d->st.underruns++;
		}
		/* Hang up once what was queued has played (or at once when there
		 * is no stream to play it on). */
		if (c->hangup_pending && (!live(c) || (!c->qlen && now >= c->play_end_ns))) {
			call_end(d, c, "agent-hangup");
			continue;
		}
		if (!c->hangup_pending && (!live(c) || (!c->qlen && (!c->utt_open || c->starved))))
			active_del(d, c);
	}
	if (!d->active) {
		d->tick_on = 0;
		return;
	}
	d->tick_next_ns += TICK_NS;
	if (d->tick_next_ns <= now)
		d->tick_next_ns += ((now - d->tick_next_ns) / TICK_NS + 1) * TICK_NS;
	tick_arm(d, now);
}

/* ---- frames from evb-transcode ---- */

void play_interrupt(struct ing *d, struct call *c, uint64_t capture_ns)
{
	uint64_t now = evb_now_ns(), buffered = 0;
	uint64_t sent_ms = (uint64_t)c->utt_frames * 20, played_ms;
	size_t dropped = c->qlen;
	json_t *ev;

	if (c->play_end_ns > now)
		buffered = (c->play_end_ns - now) / MS;
	played_ms = sent_ms > buffered ? sent_ms - buffered : 0;
	q_clear(c);
	if (live(c)) {
		media_send_clear(c->stream);
		for (int i = 0; i < c->nmarks; i++)
			c->marks[i].cleared = 1;
		if (capture_ns && (now = evb_now_ns()) > capture_ns)
			evb_metric_observe(d->m_interrupt, (double)(now - capture_ns) / 1e9);
	}
	d->st.interruptions++;
	if ((ev = call_event(c, "interruption"))) {
		json_object_set_new(ev, "utterance", json_integer(c->utt + 1));
		json_object_set_new(ev, "played_ms", json_integer((json_int_t)played_ms));
		json_object_set_new(ev, "sent_ms", json_integer((json_int_t)sent_ms));
		json_object_set_new(ev, "dropped_ms", json_integer((json_int_t)dropped * 20));
		ing_event(d, ev);
	}
	EVB_LOG(LOG_INFO, "play", "call=%s interrupted: %llu ms of the utterance played, "
		"%zu frames dropped", c->idstr, (unsigned long long)played_ms, dropped);
	if (c->utt_frames || dropped)
		c->utt++; /* the cut utterance keeps its number */
	c->utt_open = 0;
	c->utt_frames = 0;
	c->starved = 0;
	c->play_end_ns = now;
	if (!c->hangup_pending)
		active_del(d, c);
}

void play_drop(struct ing *d, struct call *c)
{
	d->st.frames_down_dropped += c->qlen;
	q_clear(c);
	c->utt_open = 0;
	c->utt_frames = 0;
	c->nmarks = 0;
	c->play_end_ns = 0;
	if (!c->hangup_pending)
		active_del(d, c);
}

/* The utterance is complete: its last frame carries END (or, if it has
 * left already, the mark goes now). */
static void utterance_end(struct ing *d, struct call *c)
{
	if (c->qlen) {
		c->qflags[(c->qhead + c->qlen - 1) % c->qcap] |= EVB_FLAG_END;
	} else if (c->utt_open && live(c)) {
		mark_add(d, c, evb_now_ns());
	}
}

static void control(struct ing *d, struct call *c, const struct evb_frame *f)
{
	json_t *o = json_loadb((const char *)f->payload, f->h.len, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));

	if (!type) {
		EVB_LOG(LOG_WARNING, "play", "call=%s control frame without a 'type'", c->idstr);
	} else if (strcmp(type, "interrupt") == 0) {
		play_interrupt(d, c, f->h.capture_ns);
	} else if (strcmp(type, "hangup") == 0) {
		EVB_LOG(LOG_INFO, "play", "call=%s hangup asked: after %zu queued frames", c->idstr,
			c->qlen);
		c->hangup_pending = 1;
		play_kick(d, c);
	} else if (strcmp(type, "assistant_end") != 0) {
		EVB_LOG(LOG_DEBUG, "play", "call=%s ignoring control '%.40s'", c->idstr, type);
	}
	if ((f->h.flags & EVB_FLAG_END) || (type && strcmp(type, "assistant_end") == 0))
		utterance_end(d, c);
	json_decref(o);
}

static void audio(struct ing *d, struct call *c, const struct evb_frame *f)
{
	int r;

	if (c->hangup_pending) { /* what was queued plays; nothing more is taken */
		d->st.frames_down_dropped++;
		return;
	}
	if (f->h.codec != c->codec || f->h.rate != c->rate || f->h.len != c->frame_bytes) {
		if (d->st.frames_down_dropped++ % 100 == 0)
			EVB_LOG(LOG_WARNING, "play", "call=%s agent audio %s/%u of %u bytes dropped: "
				"expected %s/%u frames of %zu", c->idstr, evb_codec_name(f->h.codec),
				f->h.rate, f->h.len, evb_codec_name(c->codec), c->rate,
				c->frame_bytes);
		return;
	}
	if ((r = q_push(c, f->payload, f->h.flags & EVB_FLAG_END, f->h.capture_ns)) < 0) {
		if (d->st.frames_down_dropped++ % 100 == 0)
			EVB_LOG(LOG_WARNING, "play", "call=%s playout queue full (%d frames): agent "
				"audio dropped", c->idstr, QUEUE_MAX_FRAMES);
		return;
	}
	if (c->qlen == 1)
		play_kick(d, c);
}

void play_down(struct ing *d, const struct evb_frame *f)
{
	struct call *c = evb_callmap_get(d->calls, f->h.call_id);

	if (!c || c->state == C_ENDED) {
		if (f->h.kind == EVB_KIND_AUDIO)
			d->st.frames_down_dropped++;
		return;
	}
	if (f->h.kind == EVB_KIND_AUDIO)
		audio(d, c, f);
	else if (f->h.kind == EVB_KIND_CONTROL)
		control(d, c, f);
}
