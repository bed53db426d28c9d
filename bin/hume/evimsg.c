/* What EVI sends, for one call: every message type parsed (lib/evb_evi)
 * and turned into frames toward the caller (audio_output WAVs in index
 * order, interrupt, assistant_end, hangup) and events for evb-logger
 * (chat.metadata, utterance, interruption, tool_call, error). Bad input is
 * an error event and the call goes on. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "evb_err.h"
#include "evb_evi.h"
#include "evb_frame.h"
#include "evb_g711.h"
#include "evb_log.h"
#include "evb_wav.h"

#define MAX_ERROR_EVENTS 100 /* per call: beyond, errors are only logged and counted */
#define WAV_PIECE (EVB_FRAME_MAX_PAYLOAD - 64)

/* ---- events ---- */

static json_t *ev_new(struct call *c, const char *type)
{
	return evb_event_new(type, c->id, c->provider);
}

static void ev_send(struct call *c, json_t *ev)
{
	if (ev)
		evb_events_send(c->h->events, ev);
}

void evimsg_error(struct call *c, const char *source, const char *code, const char *slug,
		  const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *ev;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->error_events++;
	if (c->error_events <= 20 || c->error_events % 100 == 0)
		EVB_LOG(LOG_WARNING, "call", "call=%s %s error %s %s: %s", c->idstr, source,
			code ? code : "-", slug ? slug : "-", msg);
	if (c->error_events > MAX_ERROR_EVENTS)
		return;
	if (!(ev = ev_new(c, "error")))
		return;
	json_object_set_new(ev, "source", json_string(source));
	json_object_set_new(ev, "code", json_string(code ? code : ""));
	json_object_set_new(ev, "slug", json_string(slug ? slug : ""));
	/* EVI's text may not be UTF-8 after our truncation: json_string() then
	 * fails and the field is left out rather than the event. */
	if (json_object_set_new(ev, "message", json_string(msg)) < 0)
		json_object_set_new(ev, "message", json_string("(not UTF-8)"));
	ev_send(c, ev);
}

/* ---- down frames ---- */

static void emit(struct call *c, int kind, int codec, uint32_t rate, uint16_t flags,
		 const void *payload, size_t len, uint64_t capture_ns, uint64_t media_us)
{
	struct evb_frame_hdr hd = {
		.kind = (uint8_t)kind,
		.codec = (uint8_t)codec,
		.dir = EVB_DIR_DOWN,
		.flags = flags,
		.rate = rate,
		.len = (uint32_t)len,
		.seq = c->down_seq++,
		.media_ts_us = media_us,
		.capture_ns = capture_ns,
	};
	int r;

	memcpy(hd.call_id, c->id, EVB_CALLID_LEN);
	r = c->conn ? evb_conn_send(c->conn, &hd, payload) : -ENOTCONN;
	if (r < 0) {
		if (c->h->st.down_dropped++ % 500 == 0)
			EVB_LOG(LOG_WARNING, "call", "call=%s frame toward the caller dropped (%llu "
				"so far): %s", c->idstr,
				(unsigned long long)c->h->st.down_dropped, evb_strerror(r));
		return;
	}
	c->h->st.down_frames++;
}

static void emit_control(struct call *c, const char *json, uint16_t flags)
{
	emit(c, EVB_KIND_CONTROL, EVB_CODEC_NONE, 0, flags, json, strlen(json), evb_now_ns(), 0);
}

/* A control frame stamped with when the EVI message behind it arrived,
 * so evb-ingress can tell the whole hop's latency (user_interruption to
 * the provider's clear). */
static void emit_control_at(struct call *c, const char *json, uint64_t capture_ns)
{
	emit(c, EVB_KIND_CONTROL, EVB_CODEC_NONE, 0, 0, json, strlen(json), capture_ns, 0);
}

/* One audio_output WAV toward the caller; split when over the frame cap. */
static void emit_wav(struct call *c, const uint8_t *wav, size_t len, uint64_t capture_ns)
{
	struct evb_wav_info wi;
	int16_t *pcm;
	uint8_t *piece;
	size_t n, per = (WAV_PIECE - 44) / 2;

	if (evb_wav_parse(wav, len, &wi) < 0 || !wi.frames)
		return;
	if (len <= EVB_FRAME_MAX_PAYLOAD) {
		emit(c, EVB_KIND_AUDIO, EVB_CODEC_WAV, wi.rate, 0, wav, len, capture_ns,
		     c->down_media_us);
		c->down_media_us += (uint64_t)wi.frames * 1000000u / wi.rate;
		return;
	}
	pcm = malloc(wi.frames * sizeof(*pcm));
	piece = malloc(44 + per * 2);
	n = pcm && piece ? evb_wav_to_mono16(&wi, pcm, wi.frames) : 0;
	for (size_t off = 0; off < n; off += per) {
		size_t k = n - off < per ? n - off : per;
		evb_wav_header(piece, wi.rate, 1, (uint32_t)(k * 2));
		evb_l16_encode(pcm + off, piece + 44, k);
		emit(c, EVB_KIND_AUDIO, EVB_CODEC_WAV, wi.rate, 0, piece, 44 + k * 2, capture_ns,
		     c->down_media_us);
		c->down_media_us += (uint64_t)k * 1000000u / wi.rate;
	}
	free(pcm);
	free(piece);
}

void evimsg_drop_output(struct call *c)
{
	for (int i = 0; i < c->npend; i++)
		free(c->pend[i].wav);
	c->npend = 0;
	c->pend_bytes = 0;
}

/* Sends the held chunks in index order. */
static void flush_pending(struct call *c)
{
	while (c->npend) {
		int best = 0;
		for (int i = 1; i < c->npend; i++)
			if (c->pend[i].index < c->pend[best].index)
				best = i;
		emit_wav(c, c->pend[best].wav, c->pend[best].len, c->pend[best].capture_ns);
		if (c->pend[best].index >= c->next_index)
			c->next_index = c->pend[best].index + 1;
		free(c->pend[best].wav);
		c->pend_bytes -= c->pend[best].len;
		c->pend[best] = c->pend[--c->npend];
	}
}

/* Sends the chunk at next_index, and those that follow, from the held ones. */
static void drain_pending(struct call *c)
{
	for (int i = 0; i < c->npend;) {
		if (c->pend[i].index != c->next_index) {
			i++;
			continue;
		}
		emit_wav(c, c->pend[i].wav, c->pend[i].len, c->pend[i].capture_ns);
		free(c->pend[i].wav);
		c->pend_bytes -= c->pend[i].len;
		c->pend[i] = c->pend[--c->npend];
		c->next_index++;
		i = 0;
	}
}

/* audio_output chunks leave in index order within a segment (id). wav is
 * taken. */
static void audio_chunk(struct call *c, const char *id, long long index, uint8_t *wav, size_t len,
			uint64_t capture_ns)
{
	const char *seg = id ? id : "";

	if (!c->out_id || strcmp(c->out_id, seg) != 0) {
		flush_pending(c);
		call_set_s(&c->out_id, seg);
		c->next_index = 0;
	}
	if (index > c->next_index &&
	    (c->npend == MAX_PENDING || c->pend_bytes + len > MAX_PENDING_BYTES)) {
		EVB_LOG(LOG_WARNING, "call", "call=%s audio_output index %lld missing: sending on",
			c->idstr, c->next_index);
		flush_pending(c);
	}
	if (index <= c->next_index || c->pend_bytes + len > MAX_PENDING_BYTES) {
		/* In order (or late, or without an index: sent as it comes). */
		emit_wav(c, wav, len, capture_ns);
		free(wav);
		if (index >= c->next_index)
			c->next_index = index + 1;
		drain_pending(c);
		return;
	}
	c->pend[c->npend].index = index;
	c->pend[c->npend].wav = wav;
	c->pend[c->npend].len = len;
	c->pend[c->npend].capture_ns = capture_ns;
	c->pend_bytes += len;
	c->npend++;
}

static int recoverable(const char *slug, const char *code)
{
	const char *s = slug ? slug : "";

	(void)code;
	return strstr(s, "timeout") || strstr(s, "inactivity") || strstr(s, "duration");
}

static json_t *scores(const double *sc)
{
	json_t *o = json_object();

	for (int i = 0; o && i < EVB_EVI_NEMOTIONS; i++)
		json_object_set_new(o, evb_evi_emotion_name(i), json_real(sc[i]));
	return o;
}

/* An utterance event from a user_message, assistant_message or
 * assistant_prosody; NULL if out of memory. */
static json_t *utterance(struct call *c, const struct evb_evi_msg *m, const char *role,
			 const char *text)
{
	json_t *ev = ev_new(c, "utterance");

	if (m->bad_scores)
		evimsg_error(c, "evb", "evb_bad_message", "bad_prosody_scores",
			     "%s: prosody scores are not the 48 numbers expected", m->type_name);
	if (!ev)
		return NULL;
	json_object_set_new(ev, "role", json_string(role));
	if (json_object_set_new(ev, "text", json_string(text ? text : "")) < 0)
		json_object_set_new(ev, "text", json_string(""));
	if (m->have_scores)
		json_object_set_new(ev, "emotion_scores", scores(m->scores));
	if (m->begin_ms >= 0 && m->begin_ms <= INT32_MAX)
		json_object_set_new(ev, "begin_ms", json_integer(m->begin_ms));
	if (m->end_ms >= 0 && m->end_ms <= INT32_MAX)
		json_object_set_new(ev, "end_ms", json_integer(m->end_ms));
	json_object_set_new(ev, "interim", json_boolean(m->interim == 1));
	json_object_set_new(ev, "from_text", json_boolean(m->from_text == 1));
	if (m->id)
		json_object_set_new(ev, "message_id", json_string(m->id));
	return ev;
}

/* Sends the held assistant utterances, marked interrupted or not. */
static void asst_flush(struct call *c, int interrupted)
{
	for (int i = 0; i < c->nasst; i++) {
		json_object_set_new(c->asst[i].ev, "interrupted", json_boolean(interrupted));
		ev_send(c, c->asst[i].ev);
		free(c->asst[i].id);
	}
	c->nasst = 0;
}

void evimsg_flush(struct call *c)
{
	asst_flush(c, 0);
}

static void on_assistant_message(struct call *c, const struct evb_evi_msg *m)
{
	json_t *ev = utterance(c, m, "assistant", m->text);

	call_set_s(&c->asst_id, m->id);
	call_set_s(&c->asst_text, m->text);
	if (!ev)
		return;
	if (c->nasst == MAX_ASST) {
		/* A turn that never ends: the oldest goes as it is. */
		json_object_set_new(c->asst[0].ev, "interrupted", json_false());
		ev_send(c, c->asst[0].ev);
		free(c->asst[0].id);
		memmove(c->asst, c->asst + 1, (MAX_ASST - 1) * sizeof(c->asst[0]));
		c->nasst--;
	}
	c->asst[c->nasst].ev = ev;
	c->asst[c->nasst].id = m->id ? strdup(m->id) : NULL;
	c->nasst++;
}

static void on_assistant_prosody(struct call *c, const struct evb_evi_msg *m)
{
	json_t *ev;

	for (int i = 0; m->id && i < c->nasst; i++)
		if (c->asst[i].id && strcmp(c->asst[i].id, m->id) == 0) {
			if (m->have_scores)
				json_object_set_new(c->asst[i].ev, "emotion_scores",
						    scores(m->scores));
			else if (m->bad_scores)
				evimsg_error(c, "evb", "evb_bad_message", "bad_prosody_scores",
					     "%s: prosody scores are not the 48 numbers expected",
					     m->type_name);
			return;
		}
	/* Its message went already (or never came): an utterance of its own. */
	ev = utterance(c, m, "assistant",
		       m->id && c->asst_id && strcmp(m->id, c->asst_id) == 0 ? c->asst_text : "");
	ev_send(c, ev);
}

static void on_chat_metadata(struct call *c, const struct evb_evi_msg *m)
{
	json_t *ev = ev_new(c, "chat.metadata");

	call_set_s(&c->chat_id, m->chat_id);
	call_set_s(&c->chat_group_id, m->chat_group_id);
	c->metadata_seen = 1;
	c->attempts = c->failures = 0;
	c->resume_failures = 0;
	EVB_LOG(LOG_INFO, "call", "call=%s chat '%s' in group '%s'%s", c->idstr, m->chat_id,
		m->chat_group_id, c->resumed_socket ? " (resumed)" : "");
	if (!ev)
		return;
	json_object_set_new(ev, "chat_id", json_string(m->chat_id));
	json_object_set_new(ev, "chat_group_id", json_string(m->chat_group_id));
	if (m->request_id)
		json_object_set_new(ev, "request_id", json_string(m->request_id));
	json_object_set_new(ev, "resumed", json_boolean(c->resumed_socket));
	ev_send(c, ev);
}

static void on_audio_output(struct call *c, const struct evb_evi_msg *m, uint64_t capture_ns)
{
	struct evb_wav_info wi;
	uint8_t *wav;
	size_t len;
	int r;

	if (evb_evi_b64_decode(m->data, m->data_len, &wav, &len) < 0) {
		evimsg_error(c, "evb", "evb_bad_message", "bad_audio",
			    "audio_output %lld: data is not base64", m->index);
		return;
	}
	if ((r = evb_wav_parse(wav, len, &wi)) < 0) {
		evimsg_error(c, "evb", "evb_bad_message", "bad_wav",
			    "audio_output %lld: not a usable WAV file (%zu bytes): %s", m->index, len,
			    evb_strerror(r));
		free(wav);
		return;
	}
	c->asst_speaking = 1;
	audio_chunk(c, m->id, m->index, wav, len, capture_ns);
}

static void on_tool_call(struct call *c, const struct evb_evi_msg *m)
{
	json_t *ev = ev_new(c, "tool_call");
	char err[300], content[300], *msg;

	if (ev) {
		json_object_set_new(ev, "name", json_string(m->name));
		json_object_set_new(ev, "tool_call_id", json_string(m->tool_call_id));
		json_object_set_new(ev, "tool_type", json_string(m->tool_type ? m->tool_type : ""));
		if (m->parameters)
			json_object_set_new(ev, "parameters", json_string(m->parameters));
		ev_send(c, ev);
	}
	if (strcmp(m->name, "hang_up") == 0 &&
	    (!m->tool_type || strcmp(m->tool_type, "builtin") == 0)) {
		EVB_LOG(LOG_INFO, "call", "call=%s EVI called hang_up: ending the phone call",
			c->idstr);
		c->hanging_up = 1;
		emit_control(c, "{\"type\":\"hangup\",\"reason\":\"agent-hangup\"}", 0);
		return;
	}
	if (m->tool_type && strcmp(m->tool_type, "builtin") == 0)
		return; /* EVI runs its other built-in tools itself */
	snprintf(err, sizeof(err), "unknown tool '%.200s'", m->name);
	snprintf(content, sizeof(content),
		 "The tool '%.200s' is not available on this phone line.", m->name);
	if (!(msg = evb_evi_tool_error(m->tool_call_id, err, content, "function")))
		msg = evb_evi_tool_error(m->tool_call_id, "unknown tool", NULL, "function");
	if (msg) {
		call_send_text(c, msg, strlen(msg), "tool_error");
		free(msg);
	}
	EVB_LOG(LOG_INFO, "call", "call=%s unknown tool '%.64s': tool_error sent", c->idstr,
		m->name);
}

void evimsg_handle(struct call *c, int kind, const uint8_t *data, size_t len)
{
	char err[EVB_EVI_ERR_MAX];
	struct evb_evi_msg m;
	uint64_t cap = evb_now_ns();
	json_t *ev;

	c->h->st.evi_messages++;
	if (kind != EVB_WS_TEXT) {
		c->h->st.evi_bad++;
		evimsg_error(c, "evb", "evb_bad_message", "bad_message",
			    "a binary frame of %zu bytes from EVI", len);
		return;
	}
	if (evb_evi_parse(data, len, &m, err, sizeof(err)) < 0) {
		c->h->st.evi_bad++;
		evimsg_error(c, "evb", "evb_bad_message", "bad_message", "%s", err);
		return;
	}
	switch (m.type) {
	case EVB_EVI_CHAT_METADATA:
		on_chat_metadata(c, &m);
		break;
	case EVB_EVI_USER_MESSAGE:
		c->last_activity_ms = call_now_ms(c->h);
		EVB_LOG(LOG_DEBUG, "call", "call=%s user_message%s", c->idstr,
			m.interim == 1 ? " (interim)" : "");
		ev_send(c, utterance(c, &m, "user", m.text));
		break;
	case EVB_EVI_ASSISTANT_MESSAGE:
		on_assistant_message(c, &m);
		break;
	case EVB_EVI_ASSISTANT_PROSODY:
		on_assistant_prosody(c, &m);
		break;
	case EVB_EVI_AUDIO_OUTPUT:
		on_audio_output(c, &m, cap);
		break;
	case EVB_EVI_USER_INTERRUPTION:
		EVB_LOG(LOG_INFO, "call", "call=%s caller interrupted the agent", c->idstr);
		asst_flush(c, 1);
		evimsg_drop_output(c);
		call_set_s(&c->out_id, NULL);
		c->asst_speaking = 0;
		if (c->conn)
			evb_conn_drop_call(c->conn, c->id);
		emit_control_at(c, "{\"type\":\"interrupt\"}", cap);
		if ((ev = ev_new(c, "interruption"))) {
			json_object_set_new(ev, "source", json_string("evi"));
			if (m.time >= 0)
				json_object_set_new(ev, "time", json_integer(m.time));
			ev_send(c, ev);
		}
		break;
	case EVB_EVI_ASSISTANT_END:
		asst_flush(c, 0);
		flush_pending(c);
		call_set_s(&c->out_id, NULL);
		c->asst_speaking = 0;
		c->last_activity_ms = call_now_ms(c->h);
		emit_control(c, "{\"type\":\"assistant_end\"}", EVB_FLAG_END);
		break;
	case EVB_EVI_TOOL_CALL:
		on_tool_call(c, &m);
		break;
	case EVB_EVI_ERROR:
		evimsg_error(c, "evi", m.code, m.slug, "%s", m.message ? m.message : "");
		if (recoverable(m.slug, m.code) && c->state == C_OPEN && !c->hanging_up)
			call_resume(c, m.slug);
		break;
	case EVB_EVI_TOOL_RESPONSE:
	case EVB_EVI_TOOL_ERROR:
	case EVB_EVI_SESSION_SETTINGS:
		EVB_LOG(LOG_DEBUG, "call", "call=%s %s from EVI", c->idstr, m.type_name);
		break;
	default:
		c->h->st.evi_bad++;
		evimsg_error(c, "evb", "evb_bad_message", "unknown_message_type",
			    "unknown EVI message type '%.64s'", m.type_name);
		break;
	}
	evb_evi_msg_release(&m);
}
