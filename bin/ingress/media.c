/* Media WebSockets, whichever the provider: accepting them, checking the
 * per-call token when the stream starts, cutting caller audio into exact
 * 20 ms frames for evb-transcode, sending ours, bad input, and the end of
 * a stream (which ends the call, or waits for it to come back). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_twilio.h"
#include "ingress.h"

#define LOG_FIRST 5 /* bad inputs logged per stream before thinning out */

static const char *sid_of(const struct stream *s)
{
	return s->call ? s->call->idstr : "-";
}

void media_close(struct stream *s, int code, const char *reason)
{
	if (s->closing)
		return;
	s->closing = 1;
	s->we_closed = 1;
	evb_ws_close(s->ws, code, reason);
}

int media_bad(struct stream *s, const char *what, const char *detail, int close_code)
{
	struct ing *d = s->d;

	d->st.bad_inputs++;
	s->bad++;
	if (s->bad <= LOG_FIRST || s->bad % 100 == 0 || close_code)
		EVB_LOG(LOG_WARNING, prov_name(s->provider), "call=%s bad input from '%s': %s%s%s%s",
			sid_of(s), evb_ws_peer(s->ws), what, detail ? ": " : "",
			detail ? detail : "", close_code ? " (closing the stream)" : "");
	if (close_code) {
		if (s->call) {
			json_t *ev = call_event(s->call, "error");
			if (ev) {
				json_object_set_new(ev, "code", json_string("bad_input"));
				json_object_set_new(ev, "message", json_string(what));
				ing_event(d, ev);
			}
		}
		media_close(s, close_code, what);
	}
	return -1;
}

static void lost(struct stream *s, int code, const char *reason)
{
	struct ing *d = s->d;
	struct call *c = s->call;

	c->stream = NULL;
	s->call = NULL;
	play_drop(d, c);
	if (c->state == C_ENDED)
		return;
	/* Vonage has no stop message: its normal close is the caller leaving. */
	if (s->provider == PROV_VONAGE && !s->we_closed && code == 1000) {
		call_end(d, c, "caller-hangup");
		return;
	}
	c->state = C_LOST;
	c->lost_ns = evb_now_ns();
	if (!d->stopping)
		EVB_LOG(LOG_WARNING, prov_name(s->provider), "call=%s media stream lost (%d %s): "
			"waiting %ld s for it to come back", c->idstr, code, reason, d->o.grace_s);
}

/* The stream is over: the call loses it, the memory goes. */
static void stream_gone(struct stream *s, int code, const char *reason)
{
	struct ing *d = s->d;

	EVB_LOG(LOG_INFO, prov_name(s->provider), "call=%s media stream closed: %d %s",
		sid_of(s), code, reason);
	/* The WebSocket layer closed it for bad framing, bad UTF-8 or a
	 * message over WS_MAX_MESSAGE: bad input too. */
	if (!s->we_closed && (code == 1002 || code == 1007 || code == 1009)) {
		d->st.bad_inputs++;
		EVB_LOG(LOG_WARNING, prov_name(s->provider), "call=%s bad input from '%s': %s",
			sid_of(s), evb_ws_peer(s->ws), reason);
	}
	if (s->call && s->call->stream == s)
		lost(s, code, reason);
	if (s->prev)
		s->prev->next = s->next;
	else
		d->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	d->nstreams--;
	free(s->sid_json);
	free(s);
}

static void on_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	struct stream *s = arg;
	struct ing *d = s->d;

	(void)ws;
	stream_gone(s, code, reason);
	ing_maybe_exit(d);
}

static void on_message(struct evb_ws *ws, int kind, const uint8_t *data, size_t len, void *arg)
{
	struct stream *s = arg;

	(void)ws;
	if (s->closing)
		return;
	if (s->provider == PROV_TWILIO)
		tw_message(s, kind, data, len);
	else
		vg_message(s, kind, data, len);
}

void media_accept(struct ing *d, struct evb_http_req *req, int provider, const char *path_id,
		  int legacy)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s) {
		evb_http_respond_error(req, 503, NULL, "out of memory");
		return;
	}
	s->d = d;
	s->provider = provider;
	s->legacy = legacy;
	if (path_id)
		snprintf(s->path_id, sizeof(s->path_id), "%s", path_id);
	if (!(s->ws = evb_http_req_accept_ws(req, on_message, on_close, s))) {
		free(s);
		return;
	}
	evb_ws_set_max_message(s->ws, WS_MAX_MESSAGE);
	evb_ws_set_max_queue(s->ws, WS_MAX_QUEUE);
	evb_ws_set_ping_interval(s->ws, WS_PING_MS);
	s->opened_ns = evb_now_ns();
	s->next = d->streams;
	if (d->streams)
		d->streams->prev = s;
	d->streams = s;
	d->nstreams++;
	d->st.streams++;
}

static int refuse_token(struct stream *s, const char *call_id, const char *why)
{
	struct ing *d = s->d;
	uint8_t id[EVB_CALLID_LEN] = { 0 };
	json_t *ev;

	d->st.bad_tokens++;
	if (call_id)
		evb_callid_parse(call_id, id);
	if ((ev = evb_event_new("error", id, prov_name(s->provider)))) {
		json_object_set_new(ev, "code", json_string("bad_token"));
		json_object_set_new(ev, "message", json_string(why));
		ing_event(d, ev);
	}
	EVB_LOG(LOG_WARNING, prov_name(s->provider), "call=%.36s media token refused from '%s': %s",
		call_id ? call_id : "-", evb_ws_peer(s->ws), why);
	media_close(s, 1008, "bad media token");
	return -1;
}

static void started_event(struct ing *d, struct call *c, const char *stream_sid)
{
	json_t *ev = call_event(c, "call.started");

	if (!ev)
		return;
	json_object_set_new(ev, "direction", json_string(c->outbound ? "outbound" : "inbound"));
	if (c->from[0])
		json_object_set_new(ev, "from", json_string(c->from));
	if (c->to[0])
		json_object_set_new(ev, "to", json_string(c->to));
	if (c->pcid[0])
		json_object_set_new(ev, "provider_call_id", json_string(c->pcid));
	if (c->agent[0])
		json_object_set_new(ev, "agent", json_string(c->agent));
	if (c->cust_name[0] || c->cust_email[0])
		json_object_set_new(ev, "customer", json_pack("{s:s,s:s}", "name", c->cust_name,
							      "email", c->cust_email));
	if (stream_sid)
		json_object_set_new(ev, "stream_sid", json_string(stream_sid));
	if (c->conv[0])
		json_object_set_new(ev, "conversation_uuid", json_string(c->conv));
	json_object_set_new(ev, "format", json_string(c->provider == PROV_TWILIO ? "ulaw/8000"
										  : "l16/16000"));
	ing_event(d, ev);
}

int media_attach(struct stream *s, const char *call_id, const char *pcid, const char *token,
		 const char *stream_sid)
{
	struct ing *d = s->d;
	struct call *c;
	int r;

	if (!token)
		return refuse_token(s, call_id, "no token");
	if (!call_id || !pcid)
		return refuse_token(s, call_id, "no call_id or provider call id");
	r = evb_mtoken_check(d->media_secret, call_id, pcid, token, ing_unix_now(), NULL);
	if (r < 0)
		return refuse_token(s, call_id, r == -ETIME ? "expired" : r == -EPERM
				    ? "not valid for this call" : "malformed");
	c = call_find(d, call_id);
	if (c && call_token_used(c, token))
		return refuse_token(s, call_id, "already used");
	if (c && c->state == C_ENDED) {
		media_close(s, 1008, "call ended");
		return -1;
	}
	if (!c) {
		/* A valid token for a call we do not know: we were restarted. */
		if (!(c = call_new(d, s->provider, call_id, pcid))) {
			media_close(s, 1011, "out of memory");
			return -1;
		}
		EVB_LOG(LOG_INFO, prov_name(s->provider), "call=%s restored from its media token",
			c->idstr);
		/* Its token was minted for a stream before the restart: the call
		 * started then, so this stream is a reconnection, not a second
		 * call.started. */
		c->streams = 1;
		call_prepare(d, c, 1);
	}
	snprintf(c->used[c->nused++ % USED_TOKENS], EVB_MTOKEN_MAX, "%s", token);
	if (c->stream) {
		struct stream *old = c->stream;
		old->call = NULL;
		media_close(old, 1000, "replaced by a new stream");
	}
	c->stream = s;
	s->call = c;
	s->started = 1;
	c->state = C_LIVE;
	c->play_end_ns = c->last_sent_ns = 0;
	if (!c->live_ns)
		c->live_ns = evb_now_ns();
	if (c->streams++ == 0) {
		started_event(d, c, stream_sid);
	} else {
		d->st.reconnects++;
		EVB_LOG(LOG_INFO, prov_name(s->provider), "call=%s media stream reconnected",
			c->idstr);
	}
	EVB_LOG(LOG_INFO, prov_name(s->provider), "call=%s media stream started from '%s'",
		c->idstr, evb_ws_peer(s->ws));
	play_kick(d, c);
	return 0;
}

static void send_frame(struct stream *s, struct call *c, const uint8_t *p, uint64_t capture_ns)
{
	struct ing *d = s->d;
	struct evb_frame_hdr h = {
		.kind = EVB_KIND_AUDIO,
		.codec = (uint8_t)c->codec,
		.rate = c->rate,
		.len = (uint32_t)c->frame_bytes,
		.media_ts_us = s->next_ts_us,
		.capture_ns = capture_ns,
	};
	int r = call_send_up(d, c, &h, p);

	s->next_ts_us += 20000;
	if (r == 0) {
		d->st.frames_up++;
		return;
	}
	/* Caller audio is real time: while evb-transcode is away it is
	 * dropped and counted, and the call goes on. */
	if (d->st.frames_up_dropped++ % 500 == 0)
		EVB_LOG(LOG_WARNING, prov_name(s->provider), "call=%s caller audio dropped (%llu "
			"frames so far): %s", c->idstr, (unsigned long long)d->st.frames_up_dropped,
			evb_strerror(r));
}

void media_audio(struct stream *s, const uint8_t *data, size_t len, int64_t ts_ms,
		 uint64_t capture_ns)
{
	struct call *c = s->call;
	size_t fb, n;

	if (!c || c->state != C_LIVE || len == 0)
		return;
	fb = c->frame_bytes;
	s->d->st.frames_in++;
	if (len != fb && s->d->st.reframed++ % 500 == 0)
		EVB_LOG(LOG_INFO, prov_name(s->provider), "call=%s re-framing a %zu-byte media "
			"message into %zu-byte frames", c->idstr, len, fb);
	if (s->acc_len == 0 && ts_ms >= 0)
		s->next_ts_us = (uint64_t)ts_ms * 1000u;
	while (len > 0) {
		if (s->acc_len == 0 && len >= fb) {
			send_frame(s, c, data, capture_ns);
			data += fb;
			len -= fb;
			continue;
		}
		n = fb - s->acc_len < len ? fb - s->acc_len : len;
		memcpy(s->acc + s->acc_len, data, n);
		s->acc_len += n;
		data += n;
		len -= n;
		if (s->acc_len == fb) {
			send_frame(s, c, s->acc, capture_ns);
			s->acc_len = 0;
		}
	}
}

void media_dtmf(struct stream *s, const char *digit, long long duration_ms)
{
	struct ing *d = s->d;
	struct call *c = s->call;
	json_t *ev;

	if (!c)
		return;
	d->st.dtmf++;
	EVB_LOG(LOG_INFO, prov_name(s->provider), "call=%s dtmf '%s'", c->idstr, digit);
	call_control_up(d, c, json_pack("{s:s,s:s}", "type", "dtmf", "digit", digit));
	if ((ev = call_event(c, "dtmf"))) {
		json_object_set_new(ev, "digit", json_string(digit));
		if (duration_ms >= 0)
			json_object_set_new(ev, "duration_ms", json_integer(duration_ms));
		ing_event(d, ev);
	}
}

int media_send_audio(struct stream *s, const uint8_t *data, size_t len)
{
	char msg[512];
	int n;

	if (!s || s->closing)
		return -ENOTCONN;
	if (s->provider == PROV_VONAGE)
		return evb_ws_send(s->ws, EVB_WS_BINARY, data, len);
	n = evb_twilio_media_msg(msg, sizeof(msg), s->sid_json, data, len);
	return n < 0 ? n : evb_ws_send(s->ws, EVB_WS_TEXT, msg, (size_t)n);
}

void media_send_mark(struct stream *s, uint32_t utt)
{
	char name[32], msg[512];
	int n;

	if (!s || s->closing)
		return;
	snprintf(name, sizeof(name), "evb-%u", utt);
	if (s->provider == PROV_TWILIO)
		n = evb_twilio_mark_msg(msg, sizeof(msg), s->sid_json, name);
	else
		n = snprintf(msg, sizeof(msg),
			     "{\"action\":\"notify\",\"payload\":{\"mark\":\"%s\",\"call_id\":\"%s\"}}",
			     name, s->call ? s->call->idstr : "");
	if (n > 0)
		evb_ws_send(s->ws, EVB_WS_TEXT, msg, (size_t)n);
}

void media_send_clear(struct stream *s)
{
	char msg[256];
	int n;

	if (!s || s->closing)
		return;
	if (s->provider == PROV_TWILIO)
		n = evb_twilio_clear_msg(msg, sizeof(msg), s->sid_json);
	else
		n = snprintf(msg, sizeof(msg), "{\"action\":\"clear\"}");
	if (n > 0)
		evb_ws_send(s->ws, EVB_WS_TEXT, msg, (size_t)n);
}

void media_sweep(struct ing *d, uint64_t now)
{
	int n = 0;

	/* At most SWEEP_CLOSE_MAX a sweep (one a second): a thousand sockets
	 * opened together and left silent close over a few seconds, not in one
	 * turn of the loop that live calls wait behind. */
	for (struct stream *s = d->streams; s && n < SWEEP_CLOSE_MAX; s = s->next)
		if (!s->started && !s->closing &&
		    now - s->opened_ns > (uint64_t)START_TIMEOUT_S * 1000000000u) {
			media_bad(s, "no start message in time", NULL, 1008);
			n++;
		}
}

void media_close_all(struct ing *d, int code, const char *reason)
{
	struct stream *next;

	/* Streams already closing (the peer is slow to answer) are dropped. */
	for (struct stream *s = d->streams; s; s = next) {
		next = s->next;
		if (s->closing) {
			evb_ws_free(s->ws);
			stream_gone(s, 1006, "dropped at shutdown");
		} else {
			media_close(s, code, reason);
		}
	}
	ing_maybe_exit(d);
}
