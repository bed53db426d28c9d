/* One EVI chat in evb-fakehume: every client message checked against the
 * schema, caller turns found by energy in the audio, replies spoken and
 * streamed as audio_output chunks, barge-in, scenario actions, timeouts. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "evb_b64.h"
#include "evb_err.h"
#include "evb_g711.h"
#include "evb_jscan.h"
#include "evb_log.h"
#include "evb_tls.h"
#include "evb_twilio.h"
#include "evb_util.h"
#include "evb_wav.h"
#include "fakehume.h"

#define BLOCK_MAX 960          /* 20 ms at 48 kHz */
#define INTERIM_MS 500         /* interim user_message every so much speech */
#define TOOL_WAIT_MS 5000      /* a function tool_call wants an answer by then */
#define MAX_TOOLS 8
#define MAX_REPLIES 16
#define WS_QUEUE (64u << 20)   /* send-big needs room */

enum { R_WAIT, R_SYNTH, R_PLAY };

struct reply {
	int turn;       /* caller turn it answers; 0 for assistant_input and say */
	int from_text;
	char *text;
	char id[48];
	int state;
	uint64_t due_ms;
	struct fh_synth *synth;
	struct fh_session *s;
	int16_t *pcm;
	size_t n, pos;
	int index;
	uint64_t play_start, next_ms;
	struct reply *next;
};

struct pending {
	const struct fh_action *a;
	uint64_t due_ms;
};

struct fh_session {
	struct fh_server *srv;
	struct evb_ws *ws;
	unsigned conn;
	struct fh_group *group;
	char chat_id[EVB_CALLID_STRLEN];
	int verbose;
	uint64_t opened_ms, last_activity_ms;
	/* declared audio */
	uint32_t rate;
	unsigned channels;
	double audio_ms;         /* of audio received on this chat */
	uint64_t first_audio_ms;
	int have_audio, ahead_said;
	uint64_t samples;        /* mono samples since the chat opened */
	/* turn detection, in 20 ms blocks */
	int16_t blk[BLOCK_MAX];
	size_t blk_fill;
	int in_turn, interrupted;
	unsigned speech_run, silence_run;
	uint64_t turn_start, last_speech_end;
	double c_sumsq, t_sumsq;
	uint64_t c_n, c_zc, t_n, t_zc;
	int16_t prev;
	uint64_t interim_next;
	/* replies */
	struct reply *replies;   /* the first one is the current one */
	int nreplies, reply_seq;
	uint64_t play_until_ms;
	int paused;
	/* outstanding function tool calls */
	char tools[MAX_TOOLS][48];
	uint64_t tool_due[MAX_TOOLS];
	int tool_seq;
	/* scheduled scenario actions */
	struct pending *pend;
	size_t npend;
	int want_drop, closing;
};

static void send_error(struct fh_session *s, const char *code, const char *slug,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

unsigned fh_session_conn(const struct fh_session *s)
{
	return s->conn;
}

/* ---- sending ---- */

/* A copy of m for the record, without audio payloads. */
static json_t *for_record(json_t *m, size_t data_bytes)
{
	json_t *c = json_copy(m);

	if (c && json_object_get(c, "data")) {
		json_object_del(c, "data");
		json_object_set_new(c, "data_bytes", json_integer((json_int_t)data_bytes));
	}
	return c;
}

/* Sends m (taken) and records it; data_bytes: decoded size of "data". */
static int send_json(struct fh_session *s, json_t *m, size_t data_bytes)
{
	char *txt;
	int r;

	if (!m)
		return -ENOMEM;
	if (!s->ws || s->closing) {
		json_decref(m);
		return -ENOTCONN;
	}
	txt = json_dumps(m, JSON_COMPACT | JSON_REAL_PRECISION(10));
	r = txt ? evb_ws_send(s->ws, EVB_WS_TEXT, txt, strlen(txt)) : -ENOMEM;
	free(txt);
	if (r == 0)
		fh_record(s->srv, s->conn, "sent", json_pack("{s:o}", "msg", for_record(m,
											  data_bytes)));
	else
		EVB_LOG(LOG_WARNING, "session", "conn=%u unable to send '%s': %s", s->conn,
			json_string_value(json_object_get(m, "type")), evb_strerror(r));
	json_decref(m);
	return r;
}

static void send_error(struct fh_session *s, const char *code, const char *slug,
		       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	EVB_LOG(LOG_INFO, "session", "conn=%u error %s %s: %s", s->conn, code, slug, msg);
	send_json(s, json_pack("{s:s, s:s, s:s, s:s}", "type", "error", "code", code, "slug", slug,
			       "message", msg), 0);
}

static json_t *scores_obj(const double *sc)
{
	json_t *o = json_object();

	for (int i = 0; o && i < EVB_EVI_NEMOTIONS; i++)
		json_object_set_new(o, evb_evi_emotion_name(i), json_real(sc[i]));
	return o;
}

static json_t *prosody(const double *sc)
{
	return json_pack("{s:{s:o}}", "prosody", "scores", scores_obj(sc));
}

static uint64_t unix_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* ---- replies ---- */

static void reply_free(struct reply *r)
{
	if (r->synth)
		fh_synth_cancel(r->synth);
	free(r->text);
	free(r->pcm);
	free(r);
}

static void queue_reply(struct fh_session *s, int turn, int from_text, const char *text,
			uint64_t due)
{
	struct reply *r, **p;

	if (s->nreplies >= MAX_REPLIES) {
		EVB_LOG(LOG_WARNING, "session", "conn=%u too many replies queued: one dropped",
			s->conn);
		return;
	}
	if (!(r = calloc(1, sizeof(*r))) || !(r->text = strdup(text))) {
		free(r);
		return;
	}
	r->turn = turn;
	r->from_text = from_text;
	r->due_ms = due;
	r->s = s;
	snprintf(r->id, sizeof(r->id), "%.8s-%d", s->chat_id, ++s->reply_seq);
	for (p = &s->replies; *p; p = &(*p)->next)
		;
	*p = r;
	s->nreplies++;
}

/* Removes the current reply. */
static void pop_reply(struct fh_session *s)
{
	struct reply *r = s->replies;

	if (!r)
		return;
	s->replies = r->next;
	s->nreplies--;
	reply_free(r);
}

static int playing(const struct fh_session *s, uint64_t now)
{
	return (s->replies && s->replies->state == R_PLAY) || now < s->play_until_ms;
}

/* Caller speech over the assistant: stop the output, tell the client. */
static void interrupt(struct fh_session *s, uint64_t now)
{
	if (s->replies && s->replies->state == R_PLAY)
		pop_reply(s);
	s->play_until_ms = now;
	send_json(s, json_pack("{s:s, s:I}", "type", "user_interruption", "time",
			       (json_int_t)unix_ms()), 0);
}

static void synth_done(void *arg, const int16_t *pcm, size_t n)
{
	struct reply *r = arg;
	struct fh_session *s = r->s;
	double sumsq = 0, L, Z, D, sc[EVB_EVI_NEMOTIONS];
	uint64_t zc = 0, now = fh_now_ms(s->srv);

	r->synth = NULL;
	if (!pcm || !n || !(r->pcm = malloc(n * sizeof(*pcm)))) {
		pop_reply(s);
		return;
	}
	memcpy(r->pcm, pcm, n * sizeof(*pcm));
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		sumsq += (double)pcm[i] * pcm[i];
		zc += i && ((pcm[i] < 0) != (pcm[i - 1] < 0));
	}
	fh_features(sumsq, n, zc, n * 1000 / FH_OUT_RATE, &L, &Z, &D);
	fh_prosody(L, Z, D, sc);
	send_json(s, json_pack("{s:s, s:s, s:o}", "type", "assistant_prosody", "id", r->id, "models",
			       prosody(sc)), 0);
	r->state = R_PLAY;
	r->play_start = r->next_ms = now;
}

/* audio_output written straight into its text (jansson would escape the
 * base64 character by character: most of a benchmark's evb-fakehume time);
 * the same bytes json_dumps() makes of it. Not when recording, which keeps
 * the message object. */
static void send_audio_output(struct fh_session *s, const struct reply *r, const uint8_t *wav,
			      size_t len)
{
	char *id = evb_json_quote(r->id), *txt;
	size_t cap, n;
	int head, e;

	if (!id)
		return;
	cap = strlen(id) + EVB_B64_ENC_LEN(len) + 96;
	if (!(txt = malloc(cap))) {
		free(id);
		return;
	}
	head = snprintf(txt, cap, "{\"type\":\"audio_output\",\"id\":%s,\"index\":%d,\"data\":\"",
			id, r->index);
	free(id);
	n = (size_t)head + evb_b64_encode(txt + head, wav, len);
	memcpy(txt + n, "\"}", 2);
	n += 2;
	if ((e = evb_ws_send(s->ws, EVB_WS_TEXT, txt, n)) < 0)
		EVB_LOG(LOG_WARNING, "session", "conn=%u unable to send 'audio_output': %s", s->conn,
			evb_strerror(e));
	free(txt);
}

/* Sends the next audio_output chunk of r: a whole WAV file, base64. */
static void send_chunk(struct fh_session *s, struct reply *r)
{
	const struct fh_opts *o = &s->srv->o;
	size_t per = (size_t)FH_OUT_RATE * o->chunk_ms / 1000, k = r->n - r->pos;
	uint8_t *wav;
	char *b64;

	if (k > per)
		k = per;
	if (!(wav = malloc(44 + 2 * k)))
		return;
	evb_wav_header(wav, FH_OUT_RATE, 1, (uint32_t)(2 * k));
	evb_l16_encode(r->pcm + r->pos, wav + 44, k);
	if (!s->srv->record && s->ws && !s->closing) {
		send_audio_output(s, r, wav, 44 + 2 * k);
	} else {
		b64 = evb_evi_b64_encode(wav, 44 + 2 * k, NULL);
		if (b64)
			send_json(s, json_pack("{s:s, s:s, s:i, s:s}", "type", "audio_output", "id",
					       r->id, "index", r->index, "data", b64),
				  44 + 2 * k);
		free(b64);
	}
	free(wav);
	r->pos += k;
	r->index++;
}

static void run_actions(struct fh_session *s, int trigger, int n);

/* Advances the current reply. */
static void reply_step(struct fh_session *s, uint64_t now)
{
	struct reply *r = s->replies;
	const struct fh_opts *o = &s->srv->o;
	int turn;

	if (!r)
		return;
	if (r->state == R_WAIT) {
		if (s->paused || now < r->due_ms)
			return;
		send_json(s, json_pack("{s:s, s:s, s:{s:s, s:s}, s:{}, s:b, s:b}", "type",
				       "assistant_message", "id", r->id, "message", "role",
				       "assistant", "content", r->text, "models", "from_text",
				       r->from_text, "is_quick_response", 0), 0);
		r->state = R_SYNTH;
		r->synth = fh_synth_start(s->srv->loop, r->text, o->voice, o->no_espeak, synth_done,
					  r);
		if (!r->synth)
			pop_reply(s);
		return;
	}
	if (r->state != R_PLAY)
		return;
	/* One chunk ahead of real time, like a streaming TTS. */
	while (r->pos < r->n && now + o->chunk_ms >= r->next_ms && !s->closing) {
		send_chunk(s, r);
		r->next_ms += o->chunk_ms;
	}
	if (r->pos < r->n)
		return;
	send_json(s, json_pack("{s:s}", "type", "assistant_end"), 0);
	s->play_until_ms = r->play_start + r->n * 1000 / FH_OUT_RATE;
	turn = r->turn;
	pop_reply(s);
	if (turn)
		run_actions(s, FH_AT_REPLY, turn);
}

/* ---- scenario actions ---- */

static void send_tool_call(struct fh_session *s, const char *name, const char *params,
			   int builtin)
{
	char id[48];
	int slot = -1;

	snprintf(id, sizeof(id), "tool_%.8s_%d", s->chat_id, ++s->tool_seq);
	if (!builtin) {
		for (int i = 0; i < MAX_TOOLS && slot < 0; i++)
			if (!s->tools[i][0])
				slot = i;
		if (slot >= 0) {
			memcpy(s->tools[slot], id, sizeof(id));
			s->tool_due[slot] = fh_now_ms(s->srv) + TOOL_WAIT_MS;
		}
	}
	send_json(s, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "type", "tool_call", "name", name,
			       "parameters", params ? params : "{}", "tool_call_id", id,
			       "tool_type", builtin ? "builtin" : "function", "response_required",
			       !builtin), 0);
}

static void act(struct fh_session *s, const struct fh_action *a)
{
	static const char *const names[] = { "drop", "close", "error", "hang_up", "tool", "send",
					     "send-raw", "send-big", "say", "interrupt" };
	char *big;
	size_t n;

	EVB_LOG(LOG_INFO, "session", "conn=%u scenario: %s", s->conn,
		a->act >= 0 && a->act <= FH_INTERRUPT ? names[a->act] : "?");
	switch (a->act) {
	case FH_DROP:
		s->want_drop = 1;
		break;
	case FH_CLOSE:
		fh_record(s->srv, s->conn, "closing",
			  json_pack("{s:i, s:s}", "code", (int)a->num, "reason", a->a ? a->a : ""));
		s->closing = 1;
		evb_ws_close(s->ws, (int)a->num, a->a ? a->a : "");
		break;
	case FH_ERROR:
		send_error(s, a->a, a->b, "%s", a->c ? a->c : "scenario error");
		break;
	case FH_HANG_UP:
		send_tool_call(s, "hang_up", "{}", 1);
		break;
	case FH_TOOL:
		send_tool_call(s, a->a, a->b, 0);
		break;
	case FH_SEND:
	case FH_SEND_RAW:
		if (!s->closing && evb_ws_send(s->ws, EVB_WS_TEXT, a->a, strlen(a->a)) == 0)
			fh_record(s->srv, s->conn, "sent_raw",
				  json_pack("{s:s}", "text", a->a));
		break;
	case FH_SEND_BIG:
		n = (size_t)a->num * 1024;
		if (!(big = malloc(n + 1)))
			break;
		memset(big, 'x', n);
		big[n] = '\0';
		send_json(s, json_pack("{s:s, s:s, s:{s:s, s:s}, s:{}}", "type",
				       "assistant_message", "id", "big", "message", "role",
				       "assistant", "content", big, "models"), 0);
		free(big);
		break;
	case FH_SAY:
		queue_reply(s, 0, 1, a->a, fh_now_ms(s->srv));
		break;
	case FH_INTERRUPT:
		interrupt(s, fh_now_ms(s->srv));
		break;
	}
}

/* Runs (or schedules) the actions for trigger n: "at open" once per
 * server, turn and reply actions once per chat group. */
static void run_actions(struct fh_session *s, int trigger, int n)
{
	const struct fh_scenario *sc = s->srv->sc;
	uint64_t now = fh_now_ms(s->srv);

	for (size_t i = 0; i < fh_scenario_count(sc); i++) {
		const struct fh_action *a = fh_scenario_action(sc, i);
		uint8_t *fired = trigger == FH_AT_OPEN ? s->srv->open_fired : s->group->fired;
		struct pending *p;

		if (a->trigger != trigger || a->n != n || !fired || fired[i])
			continue;
		fired[i] = 1;
		if (!a->after_ms) {
			act(s, a);
			continue;
		}
		p = realloc(s->pend, (s->npend + 1) * sizeof(*p));
		if (!p)
			continue;
		s->pend = p;
		s->pend[s->npend].a = a;
		s->pend[s->npend].due_ms = now + a->after_ms;
		s->npend++;
	}
}

/* ---- caller turns ---- */

static void user_message(struct fh_session *s, const char *text, const double *sc, int interim,
			 uint64_t begin_ms, uint64_t end_ms)
{
	json_t *m = json_pack("{s:s, s:{s:s, s:s}, s:o, s:b, s:b, s:{s:I, s:I}}", "type",
			      "user_message", "message", "role", "user", "content", text, "models",
			      sc ? prosody(sc) : json_object(), "from_text", 0, "interim", interim,
			      "time", "begin", (json_int_t)begin_ms, "end", (json_int_t)end_ms);
	send_json(s, m, 0);
}

static void turn_scores(const struct fh_session *s, double *sc, double *L, double *Z, double *D,
			uint64_t *dur_ms)
{
	*dur_ms = (s->last_speech_end - s->turn_start) * 1000 / s->rate;
	fh_features(s->t_sumsq, s->t_n, s->t_zc, *dur_ms, L, Z, D);
	fh_prosody(*L, *Z, *D, sc);
}

static void end_turn(struct fh_session *s, uint64_t now)
{
	double sc[EVB_EVI_NEMOTIONS], L, Z, D;
	uint64_t dur, b = s->turn_start * 1000 / s->rate, e = s->last_speech_end * 1000 / s->rate;
	const struct fh_scenario *scn = s->srv->sc;
	char tbuf[128], rbuf[160];
	const char *text, *reply;
	int n = ++s->group->turns;

	turn_scores(s, sc, &L, &Z, &D, &dur);
	s->in_turn = 0;
	s->last_activity_ms = now;
	text = fh_scenario_transcript(scn, n, tbuf, sizeof(tbuf), dur / 1000.0);
	fh_record(s->srv, s->conn, "turn",
		  json_pack("{s:i, s:I, s:I, s:f, s:f, s:f, s:o, s:b}", "turn", n, "begin_ms",
			    (json_int_t)b, "end_ms", (json_int_t)e, "L", L, "Z", Z, "D", D,
			    "scores", scores_obj(sc), "interrupted", s->interrupted));
	user_message(s, text, sc, 0, b, e);
	run_actions(s, FH_AT_TURN, n);
	reply = fh_scenario_reply(scn, n, rbuf, sizeof(rbuf), dur / 1000.0);
	if (strcmp(reply, "-") != 0)
		queue_reply(s, n, 0, reply, now + fh_scenario_delay(scn, n));
}

/* One 20 ms block of caller audio. */
static void block(struct fh_session *s, const int16_t *x, size_t n, uint64_t now)
{
	const struct fh_opts *o = &s->srv->o;
	double sumsq = 0, db;
	uint64_t zc = 0;
	int speech;

	for (size_t i = 0; i < n; i++) {
		sumsq += (double)x[i] * x[i];
		zc += (x[i] < 0) != (s->prev < 0);
		s->prev = x[i];
	}
	db = sumsq > 0 ? 10 * log10(sumsq / (double)n / (32768.0 * 32768.0)) : -120;
	speech = db > o->speech_db;
	s->samples += n;
	if (!s->in_turn) {
		if (!speech) {
			s->speech_run = 0;
			s->c_sumsq = 0;
			s->c_n = s->c_zc = 0;
			return;
		}
		s->speech_run++;
		s->c_sumsq += sumsq;
		s->c_n += n;
		s->c_zc += zc;
		if (s->speech_run * 20 < o->min_speech_ms)
			return;
		s->in_turn = 1;
		s->interrupted = 0;
		s->turn_start = s->samples - (uint64_t)s->speech_run * n;
		s->last_speech_end = s->samples;
		s->t_sumsq = s->c_sumsq;
		s->t_n = s->c_n;
		s->t_zc = s->c_zc;
		s->silence_run = 0;
		s->interim_next = s->turn_start + (uint64_t)s->rate * INTERIM_MS / 1000;
		s->last_activity_ms = now;
		return;
	}
	if (speech) {
		s->silence_run = 0;
		s->last_speech_end = s->samples;
		s->t_sumsq += sumsq;
		s->t_n += n;
		s->t_zc += zc;
		if (!s->interrupted && playing(s, now) &&
		    (s->samples - s->turn_start) * 1000 / s->rate >= o->interrupt_ms) {
			s->interrupted = 1;
			interrupt(s, now);
		}
		if (s->verbose && s->samples >= s->interim_next) {
			double sc[EVB_EVI_NEMOTIONS], L, Z, D;
			uint64_t dur;
			char tbuf[128];
			turn_scores(s, sc, &L, &Z, &D, &dur);
			snprintf(tbuf, sizeof(tbuf), "caller turn %d so far", s->group->turns + 1);
			user_message(s, tbuf, sc, 1, s->turn_start * 1000 / s->rate,
				     s->samples * 1000 / s->rate);
			s->interim_next += (uint64_t)s->rate * INTERIM_MS / 1000;
		}
		return;
	}
	if (++s->silence_run * 20 >= o->silence_ms)
		end_turn(s, now);
}

/* Caller audio: mono samples at s->rate, cut into 20 ms blocks. */
static void audio(struct fh_session *s, const int16_t *x, size_t n, uint64_t now)
{
	size_t bn = s->rate / 50;

	while (n) {
		size_t k = bn - s->blk_fill < n ? bn - s->blk_fill : n;
		memcpy(s->blk + s->blk_fill, x, k * sizeof(*x));
		s->blk_fill += k;
		x += k;
		n -= k;
		if (s->blk_fill == bn) {
			block(s, s->blk, bn, now);
			s->blk_fill = 0;
		}
	}
}

static void reset_audio(struct fh_session *s, uint32_t rate, unsigned channels)
{
	s->rate = rate;
	s->channels = channels;
	s->blk_fill = 0;
	s->in_turn = 0;
	s->speech_run = s->silence_run = 0;
	s->c_sumsq = 0;
	s->c_n = s->c_zc = 0;
}

/* ---- client messages ---- */

static void on_settings(struct fh_session *s, json_t *m)
{
	json_t *a = json_object_get(m, "audio");
	json_int_t rate, ch;

	if (!a)
		return;
	rate = (json_int_t)json_number_value(json_object_get(a, "sample_rate"));
	ch = (json_int_t)json_number_value(json_object_get(a, "channels"));
	if (rate < 8000 || rate > 48000 || rate % 50) {
		send_error(s, "E0101", "invalid_audio_format",
			   "session_settings.audio.sample_rate %lld is not supported",
			   (long long)rate);
		return;
	}
	if (ch < 1 || ch > 2) {
		send_error(s, "E0101", "invalid_audio_format",
			   "session_settings.audio.channels %lld is not supported", (long long)ch);
		return;
	}
	if ((uint32_t)rate != s->rate || (unsigned)ch != s->channels)
		reset_audio(s, (uint32_t)rate, (unsigned)ch);
}

static void on_audio(struct fh_session *s, const char *d, size_t dlen, uint64_t now)
{
	uint8_t *pcm, *p;
	size_t len, n, frame;
	int16_t *x;

	if (evb_evi_b64_decode(d, dlen, &pcm, &len) < 0) {
		send_error(s, "E0201", "invalid_base64", "audio_input data is not base64");
		return;
	}
	p = pcm;
	if (!s->rate) {
		/* No declared format: EVI then wants a WAV header in the audio. */
		struct evb_wav_info wi;
		if (len < 12 || memcmp(pcm, "RIFF", 4) != 0 ||
		    evb_wav_parse(pcm, len, &wi) < 0 || wi.bits != 16 || wi.format != 1 ||
		    wi.rate < 8000 || wi.rate > 48000 || wi.rate % 50 || wi.channels > 2) {
			send_error(s, "E0202", "invalid_audio",
				   "audio_input before session_settings declared the audio format, "
				   "and no WAV header");
			free(pcm);
			return;
		}
		reset_audio(s, wi.rate, wi.channels);
		p = (uint8_t *)wi.data;
		len = wi.data_len;
	}
	frame = 2u * s->channels;
	if (len % frame) {
		send_error(s, "E0202", "invalid_audio",
			   "audio_input of %zu bytes is not whole %u-channel linear16 samples", len,
			   s->channels);
		free(pcm);
		return;
	}
	if (!s->have_audio) {
		s->have_audio = 1;
		s->first_audio_ms = now;
	}
	n = len / frame;
	s->audio_ms += n * 1000.0 / s->rate;
	if (!s->ahead_said && s->audio_ms > (double)(now - s->first_audio_ms) + s->srv->o.ahead_ms) {
		s->ahead_said = 1;
		send_error(s, "E0202", "invalid_audio",
			   "%.0f ms of audio arrived in %llu ms: not linear16 at sample_rate %u",
			   s->audio_ms, (unsigned long long)(now - s->first_audio_ms), s->rate);
	}
	if ((x = malloc((n ? n : 1) * sizeof(*x)))) {
		for (size_t i = 0; i < n; i++) {
			int sum = 0;
			for (unsigned c = 0; c < s->channels; c++)
				sum += (int16_t)evb_get_le16(p + frame * i + 2 * c);
			x[i] = (int16_t)(sum / (int)s->channels);
		}
		audio(s, x, n, now);
		free(x);
	}
	free(pcm);
}

static int forget_tool(struct fh_session *s, const char *id)
{
	for (int i = 0; i < MAX_TOOLS; i++)
		if (s->tools[i][0] && strcmp(s->tools[i], id) == 0) {
			s->tools[i][0] = '\0';
			return 1;
		}
	return 0;
}

static void record_recv(struct fh_session *s, json_t *m, int type)
{
	json_t *c;

	if (type == EVB_EVI_AUDIO_INPUT) {
		const char *d = json_string_value(json_object_get(m, "data"));
		size_t len = strlen(d), bytes = len / 4 * 3;
		if (len >= 1 && d[len - 1] == '=')
			bytes--;
		if (len >= 2 && d[len - 2] == '=')
			bytes--;
		c = for_record(m, bytes);
	} else {
		c = json_deep_copy(m);
		if (c && json_object_get(c, "language_model_api_key"))
			json_object_set_new(c, "language_model_api_key", json_string("(set)"));
	}
	fh_record(s->srv, s->conn, "recv", json_pack("{s:o}", "msg", c));
}

/* The plain audio_input (what evb-hume sends fifty times a second a call):
 * exactly {"type":"audio_input","data":"..."} without escapes, which
 * evb_evi_check_client() would pass. Its data, or NULL: then the message
 * takes the full path (jansson, the schema check, the record). */
static const char *plain_audio(const uint8_t *data, size_t len, size_t *dlen)
{
	struct evb_jscan j;
	struct evb_jtok t, v, d = { 0 };
	int have_type = 0, n = 0;

	evb_jscan_init(&j, data, len);
	if (evb_jscan_next(&j, &t) != EVB_JT_OBJ)
		return NULL;
	while (evb_jscan_next(&j, &t) == EVB_JT_KEY) {
		if (++n > 2 || evb_jscan_next(&j, &v) != EVB_JT_STR || v.escaped)
			return NULL;
		if (evb_jtok_is(&t, "type") && !have_type && evb_jtok_is(&v, "audio_input"))
			have_type = 1;
		else if (evb_jtok_is(&t, "data") && !d.s)
			d = v;
		else
			return NULL;
	}
	if (t.type != EVB_JT_OBJ_END || evb_jscan_next(&j, &t) != EVB_JT_EOF || !have_type || !d.s)
		return NULL;
	*dlen = d.len;
	return d.s;
}

static void on_message(struct evb_ws *ws, int kind, const uint8_t *data, size_t len, void *arg)
{
	struct fh_session *s = arg;
	char err[EVB_EVI_ERR_MAX];
	uint64_t now = fh_now_ms(s->srv);
	json_error_t jerr;
	json_t *m;
	int type, n;

	(void)ws;
	if (kind != EVB_WS_TEXT) {
		fh_record(s->srv, s->conn, "recv_bad", json_pack("{s:s}", "why", "binary frame"));
		send_error(s, "E0100", "invalid_json", "binary frames are not accepted: send JSON text");
		return;
	}
	if (!s->srv->record && kind == EVB_WS_TEXT) {
		size_t dlen;
		const char *d = plain_audio(data, len, &dlen);

		if (d) {
			on_audio(s, d, dlen, now);
			return;
		}
	}
	if (!(m = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr))) {
		fh_record(s->srv, s->conn, "recv_bad", json_pack("{s:s}", "why", jerr.text));
		send_error(s, "E0100", "invalid_json", "message is not valid JSON: %s", jerr.text);
		return;
	}
	if ((type = evb_evi_check_client(m, err, sizeof(err))) < 0) {
		fh_record(s->srv, s->conn, "recv_bad",
			  json_pack("{s:s, s:O}", "why", err, "msg", m));
		send_error(s, "E0101", "invalid_message", "%s", err);
		json_decref(m);
		return;
	}
	record_recv(s, m, type);
	switch (type) {
	case EVB_EVI_SESSION_SETTINGS:
		on_settings(s, m);
		break;
	case EVB_EVI_AUDIO_INPUT: {
		const char *d = json_string_value(json_object_get(m, "data"));
		on_audio(s, d, strlen(d), now);
		break;
	}
	case EVB_EVI_USER_INPUT:
		n = ++s->group->turns;
		s->last_activity_ms = now;
		send_json(s, json_pack("{s:s, s:{s:s, s:s}, s:{}, s:b, s:b}", "type", "user_message",
				       "message", "role", "user", "content",
				       json_string_value(json_object_get(m, "text")), "models",
				       "from_text", 1, "interim", 0), 0);
		run_actions(s, FH_AT_TURN, n);
		{
			char rbuf[160];
			const char *reply = fh_scenario_reply(s->srv->sc, n, rbuf, sizeof(rbuf), 0);
			if (strcmp(reply, "-") != 0)
				queue_reply(s, n, 0, reply, now + fh_scenario_delay(s->srv->sc, n));
		}
		break;
	case EVB_EVI_ASSISTANT_INPUT:
		s->last_activity_ms = now;
		queue_reply(s, 0, 1, json_string_value(json_object_get(m, "text")), now);
		break;
	case EVB_EVI_PAUSE_ASSISTANT:
		s->paused = 1;
		break;
	case EVB_EVI_RESUME_ASSISTANT:
		s->paused = 0;
		break;
	case EVB_EVI_TOOL_RESPONSE:
	case EVB_EVI_TOOL_ERROR:
		if (!forget_tool(s, json_string_value(json_object_get(m, "tool_call_id"))))
			send_error(s, "E0101", "invalid_message",
				   "%s: no tool_call '%.64s' is waiting for an answer",
				   evb_evi_type_name(type),
				   json_string_value(json_object_get(m, "tool_call_id")));
		break;
	}
	json_decref(m);
}

/* ---- life cycle ---- */

static void session_free(struct fh_session *s)
{
	while (s->replies)
		pop_reply(s);
	fh_server_remove(s->srv, s);
	free(s->pend);
	free(s);
}

static void on_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	struct fh_session *s = arg;

	(void)ws;
	EVB_LOG(LOG_INFO, "session", "conn=%u closed: %d %s", s->conn, code, reason);
	fh_record(s->srv, s->conn, "close", json_pack("{s:i, s:s}", "code", code, "reason", reason));
	s->ws = NULL;
	session_free(s);
}

void fh_session_tick(struct fh_session *s, uint64_t now)
{
	const struct fh_opts *o = &s->srv->o;

	if (s->want_drop) {
		EVB_LOG(LOG_INFO, "session", "conn=%u dropped (scenario)", s->conn);
		fh_record(s->srv, s->conn, "close",
			  json_pack("{s:i, s:s}", "code", 1006, "reason", "dropped by the scenario"));
		evb_ws_free(s->ws);
		s->ws = NULL;
		session_free(s);
		return;
	}
	for (size_t i = 0; i < s->npend;) {
		if (now >= s->pend[i].due_ms) {
			const struct fh_action *a = s->pend[i].a;
			s->pend[i] = s->pend[--s->npend];
			act(s, a);
		} else {
			i++;
		}
	}
	if (s->closing)
		return;
	for (int i = 0; i < MAX_TOOLS; i++)
		if (s->tools[i][0] && now >= s->tool_due[i]) {
			fh_record(s->srv, s->conn, "tool_unanswered",
				  json_pack("{s:s}", "tool_call_id", s->tools[i]));
			s->tools[i][0] = '\0';
		}
	reply_step(s, now);
	if (o->max_duration_s && now - s->opened_ms >= (uint64_t)o->max_duration_s * 1000) {
		send_error(s, "E0712", "max_duration_timeout",
			   "the chat reached its maximum duration of %u s", o->max_duration_s);
		s->closing = 1;
		evb_ws_close(s->ws, 1000, "max duration reached");
		return;
	}
	if (o->inactivity_s && !s->in_turn && !s->replies &&
	    now - s->last_activity_ms >= (uint64_t)o->inactivity_s * 1000) {
		send_error(s, "E0711", "inactivity_timeout",
			   "no user activity for %u s: the chat ends", o->inactivity_s);
		s->closing = 1;
		evb_ws_close(s->ws, 1000, "inactivity timeout");
	}
}

void fh_session_shutdown(struct fh_session *s)
{
	if (s->ws && !s->closing) {
		s->closing = 1;
		evb_ws_close(s->ws, 1001, "going away");
	}
}

struct fh_session *fh_session_new(struct fh_server *srv, struct evb_http_req *req,
				  unsigned conn_no, const struct fh_connect *c)
{
	struct fh_session *s = calloc(1, sizeof(*s));
	uint8_t id[EVB_CALLID_LEN];

	if (!s || fh_server_add(srv, s) < 0) {
		free(s);
		evb_http_respond_error(req, 503, NULL, "out of memory");
		return NULL;
	}
	s->srv = srv;
	s->conn = conn_no;
	s->group = c->group;
	s->verbose = c->verbose;
	s->opened_ms = s->last_activity_ms = fh_now_ms(srv);
	if (c->rate)
		reset_audio(s, c->rate, c->channels ? c->channels : 1);
	evb_callid_random(id);
	evb_callid_format(id, s->chat_id);
	s->ws = evb_http_req_accept_ws(req, on_message, on_close, s);
	if (!s->ws) {
		fh_server_remove(srv, s);
		free(s);
		return NULL;
	}
	evb_ws_set_max_queue(s->ws, WS_QUEUE);
	fh_record(srv, conn_no, "open",
		  json_pack("{s:s, s:s, s:b, s:b, s:s, s:O}", "chat_id", s->chat_id, "chat_group_id",
			    c->group->id, "resumed", c->resumed, "tls", c->tls, "auth", c->auth,
			    "query", c->query));
	EVB_LOG(LOG_INFO, "session", "conn=%u chat '%s' in group '%s'%s", conn_no, s->chat_id,
		c->group->id, c->resumed ? " (resumed)" : "");
	send_json(s, json_pack("{s:s, s:s, s:s, s:s}", "type", "chat_metadata", "chat_id",
			       s->chat_id, "chat_group_id", c->group->id, "request_id", s->chat_id),
		  0);
	run_actions(s, FH_AT_OPEN, (int)conn_no);
	return s;
}
