/* One phone call's EVI chat: connect (after a bounded wait for the agent
 * from the database), session_settings, greeting, caller audio batched into
 * audio_input (held, bounded, while the chat is not open), and resume with
 * resumed_chat_group_id whenever the socket drops or the chat nears a
 * limit. A call only ends on call.ended (or when idle). What EVI sends is
 * evimsg.c's. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "evb_err.h"
#include "evb_evi.h"
#include "evb_frame.h"
#include "evb_g711.h"
#include "evb_log.h"
#include "evb_stats.h"

#define RETRY_MAX_MS 5000
#define RESUME_FAILURES 2   /* then the chat group is given up: a new chat starts */
#define TURN_GRACE_MS 30000 /* a chat past max age waits this long for a turn end */

static void connect_evi(struct call *c);

static char *dup_s(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

void call_set_s(char **dst, const char *s)
{
	free(*dst);
	*dst = dup_s(s);
}

/* ---- caller audio ---- */

static int ring_push(struct ring *r, const uint8_t *p, size_t n)
{
	if (n > r->max) {
		r->dropped += n - r->max;
		p += n - r->max;
		n = r->max;
	}
	if (r->len + n > r->max) {
		size_t drop = r->len + n - r->max;
		r->head = (r->head + drop) % (r->cap ? r->cap : 1);
		r->len -= drop;
		r->dropped += drop;
	}
	if (r->cap < r->max) {
		/* Grow to the bound at once, keeping the order. */
		uint8_t *np = malloc(r->max);
		if (!np)
			return -ENOMEM;
		for (size_t i = 0; i < r->len; i++)
			np[i] = r->p[(r->head + i) % r->cap];
		free(r->p);
		r->p = np;
		r->cap = r->max;
		r->head = 0;
	}
	for (size_t i = 0; i < n; i++)
		r->p[(r->head + r->len + i) % r->cap] = p[i];
	r->len += n;
	return 0;
}

static void ring_free(struct ring *r)
{
	free(r->p);
	memset(r, 0, sizeof(*r));
}

static size_t batch_bytes(const struct call *c)
{
	size_t b = (size_t)c->rate * 2 * c->h->o.batch_ms / 1000;

	return b < 2 ? 2 : b & ~(size_t)1;
}

void call_send_text(struct call *c, const char *txt, size_t len, const char *what)
{
	int r = c->ws && c->ws_open ? evb_ws_send(c->ws, EVB_WS_TEXT, txt, len) : -ENOTCONN;

	if (r < 0 && c->send_dropped++ % 100 == 0)
		EVB_LOG(LOG_WARNING, "call", "call=%s unable to send %s to EVI (%llu so far): %s",
			c->idstr, what, (unsigned long long)c->send_dropped, evb_strerror(r));
}

static void send_audio(struct call *c, const uint8_t *p, size_t n)
{
	size_t len;
	char *msg = evb_evi_audio_input(p, n, &len);

	if (!msg)
		return;
	call_send_text(c, msg, len, "audio_input");
	c->h->st.audio_sent++;
	free(msg);
}

/* capture_ns: when the audio reached evb-ingress (0 for audio that waited
 * in the hold, which says nothing about the hop's own latency). */
static void batch_add(struct call *c, const uint8_t *p, size_t n, uint64_t capture_ns)
{
	size_t bb = batch_bytes(c);

	if (c->batch_cap < bb) {
		uint8_t *nb = realloc(c->batch, bb);
		if (!nb)
			return;
		c->batch = nb;
		c->batch_cap = bb;
	}
	while (n) {
		size_t k = bb - c->batch_len < n ? bb - c->batch_len : n;
		if (c->batch_len == 0)
			c->batch_ns = capture_ns;
		memcpy(c->batch + c->batch_len, p, k);
		c->batch_len += k;
		p += k;
		n -= k;
		if (c->batch_len >= bb) {
			send_audio(c, c->batch, c->batch_len);
			c->batch_len = 0;
			if (c->batch_ns) {
				uint64_t now = evb_now_ns();
				if (now > c->batch_ns)
					evb_metric_observe(c->h->m_lat_up,
							   (double)(now - c->batch_ns) / 1e9);
			}
		}
	}
}

static void hold(struct call *c, const uint8_t *p, size_t n)
{
	c->hold.max = (size_t)c->rate * 2 * c->h->o.hold_ms / 1000 & ~(size_t)1;
	if (c->hold.max == 0)
		return;
	ring_push(&c->hold, p, n);
}

/* Batched audio not yet sent goes back to the hold, so a reconnect loses
 * none of it. */
static void unsend_batch(struct call *c)
{
	if (c->batch_len)
		hold(c, c->batch, c->batch_len);
	c->batch_len = 0;
}

static void flush_hold(struct call *c)
{
	struct ring *r = &c->hold;

	if (r->dropped) {
		EVB_LOG(LOG_WARNING, "call", "call=%s %llu ms of caller audio dropped while the "
			"chat was not open (bound: --hold-ms %u)", c->idstr,
			(unsigned long long)(r->dropped * 1000 / 2 / (c->rate ? c->rate : 8000)),
			c->h->o.hold_ms);
		c->h->st.audio_held_dropped_ms += r->dropped * 1000 / 2 / (c->rate ? c->rate : 8000);
		r->dropped = 0;
	}
	while (r->len) {
		size_t k = r->cap - r->head < r->len ? r->cap - r->head : r->len;
		batch_add(c, r->p + r->head, k, 0);
		r->head = (r->head + k) % r->cap;
		r->len -= k;
	}
	r->head = 0;
}

/* ---- the chat ---- */

static void send_settings(struct call *c)
{
	struct evb_evi_settings s = { 0 };
	json_t *vars = json_object();
	const char *name = c->cust_name ? c->cust_name : c->info.customer_name;
	const char *email = c->cust_email ? c->cust_email : c->info.customer_email;
	const char *number = c->direction && strcmp(c->direction, "outbound") == 0 ? c->to : c->from;
	char ctx[600], *msg;

	if (!c->rate)
		return;
	if (vars && name)
		json_object_set_new(vars, "customer_name", json_string(name));
	if (vars && email)
		json_object_set_new(vars, "customer_email", json_string(email));
	if (vars && number)
		json_object_set_new(vars, "customer_number", json_string(number));
	if (vars && c->info.name)
		json_object_set_new(vars, "agent_name", json_string(c->info.name));
	s.sample_rate = c->rate;
	s.system_prompt = c->info.system_prompt;
	s.voice_id = c->info.voice;
	s.variables = vars;
	s.custom_session_id = c->idstr;
	if (name) {
		snprintf(ctx, sizeof(ctx), "You are speaking on the phone with %.500s.", name);
		s.context_text = ctx;
		s.context_type = "persistent";
	}
	msg = evb_evi_session_settings(&s);
	if (!msg && (s.system_prompt || s.voice_id || s.variables)) {
		/* A field that is not UTF-8: keep the audio declaration at least. */
		EVB_LOG(LOG_WARNING, "call", "call=%s session settings not UTF-8: sending the "
			"audio format only", c->idstr);
		s = (struct evb_evi_settings){ .sample_rate = c->rate, .custom_session_id = c->idstr };
		msg = evb_evi_session_settings(&s);
	}
	json_decref(vars);
	if (!msg)
		return;
	call_send_text(c, msg, strlen(msg), "session_settings");
	free(msg);
	c->sent_rate = c->rate;
	EVB_LOG(LOG_INFO, "call", "call=%s session settings sent: linear16 %u Hz", c->idstr,
		c->rate);
}

static void send_greeting(struct call *c)
{
	char *msg;

	if (c->greeted || !c->info.greeting || !c->ws_open || c->chat_group_id)
		return;
	c->greeted = 1;
	if (!(msg = evb_evi_text_message("assistant_input", c->info.greeting)))
		return;
	call_send_text(c, msg, strlen(msg), "assistant_input");
	free(msg);
	EVB_LOG(LOG_INFO, "call", "call=%s greeting sent", c->idstr);
}

static void on_open(struct evb_ws *ws, void *arg)
{
	struct call *c = arg;

	if (ws != c->ws)
		return;
	c->ws_open = 1;
	c->state = C_OPEN;
	c->ws_opened_ms = c->last_activity_ms = call_now_ms(c->h);
	EVB_LOG(LOG_INFO, "call", "call=%s chat open", c->idstr);
	send_settings(c);
	/* The greeting goes only into a new chat group: a resumed one has had it. */
	if (!c->resumed_socket)
		send_greeting(c);
	if (c->sent_rate)
		flush_hold(c);
}

/* Starts over on a new socket now, resuming the chat group. */
void call_resume(struct call *c, const char *why)
{
	uint64_t now = call_now_ms(c->h);
	int quick = c->ws_open && now - c->ws_opened_ms < 1000;

	EVB_LOG(LOG_INFO, "call", "call=%s resuming the chat: %s", c->idstr, why);
	if (c->ws) {
		evb_ws_close(c->ws, 1000, "resuming");
		if (!c->ws_open)
			c->nws--; /* closing before open frees at once, no callback */
	}
	c->ws = NULL;
	c->ws_open = 0;
	unsend_batch(c);
	evimsg_flush(c);
	c->h->st.reconnects++;
	if (quick) {
		/* Resumed again within a second: back off. */
		c->attempts = ++c->short_chats;
		c->retry_at = now + (c->attempts > 4 ? RETRY_MAX_MS
						       : 250u << (c->attempts - 1));
		c->state = C_WAIT;
		return;
	}
	c->attempts = c->short_chats = 0;
	connect_evi(c);
}

static void on_message(struct evb_ws *ws, int kind, const uint8_t *data, size_t len, void *arg)
{
	struct call *c = arg;

	if (ws == c->ws && !c->ended)
		evimsg_handle(c, kind, data, len);
}

static void on_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	struct call *c = arg;
	int was_open, status = evb_ws_http_status(ws);
	uint64_t delay;

	c->nws--;
	if (ws != c->ws)
		return; /* a socket we left for a newer one */
	was_open = c->ws_open;
	c->ws = NULL;
	c->ws_open = 0;
	unsend_batch(c);
	evimsg_flush(c);
	if (c->ended)
		return;
	if (c->hanging_up) {
		EVB_LOG(LOG_INFO, "call", "call=%s EVI closed the chat after hang_up", c->idstr);
		c->state = C_IDLE;
		return;
	}
	/* A resume EVI refused (it answered, or closed before chat_metadata):
	 * try once more soon, then give the group up for a new chat. A server
	 * that cannot be reached says nothing about the group. */
	if (c->resumed_socket && !c->metadata_seen && (status || was_open)) {
		if (++c->resume_failures >= RESUME_FAILURES) {
			evimsg_error(c, "evb", "evb_resume_failed", "resume_failed",
				    "chat group '%s' could not be resumed: starting a new chat",
				    c->chat_group_id ? c->chat_group_id : "");
			call_set_s(&c->chat_group_id, NULL);
			c->resume_failures = 0;
			c->attempts = 0;
		} else {
			c->attempts = 1;
		}
		c->failures++;
		c->retry_at = call_now_ms(c->h);
		goto schedule;
	}
	if (!was_open) {
		if ((status == 401 || status == 403) && c->used_token)
			auth_invalidate(c->h->auth);
		if (c->failures++ == 0)
			evimsg_error(c, "evb", "evb_evi_connect",
				    status ? "evi_refused" : "evi_unreachable",
				    "unable to open the EVI chat: %s", reason);
		else if (c->failures % 10 == 0)
			EVB_LOG(LOG_WARNING, "call", "call=%s still unable to open the EVI chat "
				"(%u attempts): %s", c->idstr, c->failures, reason);
		c->attempts++;
	} else if (c->metadata_seen) {
		if (code != 1000)
			evimsg_error(c, "evb", "evb_evi_closed", "evi_disconnected",
				    "the EVI chat closed (%d %s): resuming", code, reason);
		else
			EVB_LOG(LOG_INFO, "call", "call=%s EVI closed the chat (%d %s): resuming",
				c->idstr, code, reason);
		/* Chats that keep ending within a second are retried with backoff:
		 * EVI may be refusing us in its own way. */
		if (call_now_ms(c->h) - c->ws_opened_ms < 1000)
			c->attempts = ++c->short_chats;
		else
			c->attempts = c->short_chats = 0;
	} else {
		c->attempts++;
		evimsg_error(c, "evb", "evb_evi_closed", "evi_disconnected",
			    "the EVI chat closed before it started (%d %s)", code, reason);
	}
schedule:
	delay = c->attempts ? 250u << (c->attempts > 5 ? 5 : c->attempts - 1) : 0;
	if (delay > RETRY_MAX_MS)
		delay = RETRY_MAX_MS;
	c->retry_at = call_now_ms(c->h) + delay;
	c->state = C_WAIT;
	c->h->st.reconnects++;
	if (!delay)
		connect_evi(c);
}

static void connect_evi(struct call *c)
{
	struct hume *h = c->h;
	struct evb_evi_connect ec = { 0 };
	char *url;

	auth_param(h->auth, &ec.auth_name, &ec.auth_value);
	ec.config_id = c->info.config_id ? c->info.config_id : h->config_id;
	ec.resumed_chat_group_id = c->chat_group_id;
	ec.verbose_transcription = h->o.interim;
	c->used_token = strcmp(ec.auth_name, "access_token") == 0;
	c->resumed_socket = c->chat_group_id != NULL;
	c->metadata_seen = 0;
	c->sent_rate = 0;
	c->state = C_CONNECTING;
	url = evb_evi_chat_url(h->evi_url, &ec);
	c->ws = url ? evb_ws_connect(h->loop, url, strncmp(url, "wss:", 4) == 0 ? h->tls : NULL,
				     NULL, h->o.connect_ms, on_open, on_message, on_close, c)
		    : NULL;
	if (url) {
		memset(url, 0, strlen(url)); /* it holds a secret */
		free(url);
	}
	if (!c->ws) {
		EVB_LOG(LOG_ERR, "call", "call=%s unable to start an EVI connection: %s", c->idstr,
			strerror(errno));
		c->attempts++;
		c->state = C_WAIT;
		c->retry_at = call_now_ms(h) + RETRY_MAX_MS;
		return;
	}
	c->nws++;
	evb_ws_set_max_message(c->ws, (size_t)h->o.max_message_kb * 1024);
	EVB_LOG(LOG_INFO, "call", "call=%s connecting to EVI%s%s%s", c->idstr,
		ec.config_id ? " with config " : "", ec.config_id ? ec.config_id : "",
		c->resumed_socket ? " (resuming)" : "");
}

/* ---- agent lookup ---- */

static void info_merge(struct call *c, const struct agent_info *ai)
{
	if (ai->found) {
		call_set_s(&c->info.slug, ai->slug);
		call_set_s(&c->info.name, ai->name);
		call_set_s(&c->info.config_id, ai->config_id);
		call_set_s(&c->info.system_prompt, ai->system_prompt);
		call_set_s(&c->info.greeting, ai->greeting);
		call_set_s(&c->info.voice, ai->voice);
		c->info.found = 1;
	}
	if (ai->customer_name && !c->info.customer_name)
		call_set_s(&c->info.customer_name, ai->customer_name);
	if (ai->customer_email && !c->info.customer_email)
		call_set_s(&c->info.customer_email, ai->customer_email);
	/* A call we did not see start (evb-hume restarted): resume its chat. */
	if (ai->chat_group_id && !c->chat_group_id && !c->prepared) {
		call_set_s(&c->chat_group_id, ai->chat_group_id);
		EVB_LOG(LOG_INFO, "call", "call=%s resuming chat group '%s' from the database",
			c->idstr, ai->chat_group_id);
	}
}

static void info_cb(void *arg, const struct agent_info *ai)
{
	struct call *c = arg;

	c->info_pending = 0;
	if (ai)
		info_merge(c, ai);
	if (c->ended)
		return;
	if (c->state == C_INFO) {
		connect_evi(c);
	} else if (ai && c->ws_open && !c->greeted && !c->resumed_socket) {
		/* The answer came after we stopped waiting. */
		send_greeting(c);
	}
}

static void start(struct call *c)
{
	struct hume *h = c->h;
	int need_call = !c->prepared || (!c->cust_name && !c->cust_email), r;

	c->state = C_INFO;
	if (!h->agents || (!c->agent && !need_call)) {
		if (c->agent)
			EVB_LOG(LOG_DEBUG, "call", "call=%s agent '%s' unknown: no database", c->idstr,
				c->agent);
		connect_evi(c);
		return;
	}
	r = agents_lookup(h->agents, c->agent, c->id, need_call, &c->info, info_cb, c);
	if (r == 0) {
		c->info_pending = 1;
		c->info_deadline = call_now_ms(h) + h->o.db_wait_ms;
		return;
	}
	connect_evi(c);
}

/* ---- calls ---- */

static struct call *call_new(struct hume *h, const uint8_t *id)
{
	struct call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->h = h;
	memcpy(c->id, id, EVB_CALLID_LEN);
	evb_callid_format(id, c->idstr);
	snprintf(c->provider, sizeof(c->provider), "twilio");
	c->last_frame_ms = call_now_ms(h);
	if (evb_callmap_put(h->calls, id, c) < 0) {
		free(c);
		return NULL;
	}
	h->st.calls++;
	return c;
}

static void call_free(struct call *c)
{
	for (int i = 0; i < c->nasst; i++) {
		json_decref(c->asst[i].ev);
		free(c->asst[i].id);
	}
	evimsg_drop_output(c);
	ring_free(&c->hold);
	agent_info_release(&c->info);
	free(c->batch);
	free(c->agent);
	free(c->cust_name);
	free(c->cust_email);
	free(c->from);
	free(c->to);
	free(c->direction);
	free(c->chat_id);
	free(c->chat_group_id);
	free(c->out_id);
	free(c->asst_id);
	free(c->asst_text);
	free(c);
}

static void end_call(struct call *c, const char *why)
{
	if (c->ended)
		return;
	EVB_LOG(LOG_INFO, "call", "call=%s ended (%s)%s", c->idstr, why,
		c->ws ? ": closing the EVI chat" : "");
	c->ended = 1;
	c->state = C_ENDED;
	c->ended_at = call_now_ms(c->h);
	if (c->info_pending)
		agents_cancel(c->h->agents, c);
	if (c->ws) {
		evb_ws_close(c->ws, 1000, "call ended");
		if (!c->ws_open)
			c->nws--; /* closing before open frees at once */
	}
	c->ws = NULL;
	c->ws_open = 0;
	evimsg_flush(c);
	evimsg_drop_output(c);
	ring_free(&c->hold);
	free(c->batch);
	c->batch = NULL;
	c->batch_len = c->batch_cap = 0;
}

static const char *json_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

static void prepare(struct hume *h, struct call *c, json_t *o)
{
	json_t *cust = json_object_get(o, "customer");
	const char *prov = json_str(o, "provider"), *fmt = json_str(o, "format");
	const char *agent = json_str(o, "agent");
	int codec, started = c->prepared || c->state != C_INFO || c->info_pending || c->ws;
	uint32_t rate;

	c->prepared = 1;
	if (prov && (strcmp(prov, "twilio") == 0 || strcmp(prov, "vonage") == 0))
		snprintf(c->provider, sizeof(c->provider), "%s", prov);
	if (agent)
		call_set_s(&c->agent, agent);
	if (json_is_object(cust)) {
		if (json_str(cust, "name"))
			call_set_s(&c->cust_name, json_str(cust, "name"));
		if (json_str(cust, "email"))
			call_set_s(&c->cust_email, json_str(cust, "email"));
	}
	if (json_str(o, "from"))
		call_set_s(&c->from, json_str(o, "from"));
	if (json_str(o, "to"))
		call_set_s(&c->to, json_str(o, "to"));
	if (json_str(o, "direction"))
		call_set_s(&c->direction, json_str(o, "direction"));
	if (!c->rate) {
		if (h->hume_rate)
			c->rate = h->hume_rate;
		else if (fmt && evb_format_parse(fmt, &codec, &rate) == 0)
			c->rate = rate;
	}
	EVB_LOG(LOG_INFO, "call", "call=%s prepared: %s%s%s, %u Hz", c->idstr, c->provider,
		c->agent ? ", agent " : "", c->agent ? c->agent : "", c->rate);
	if (!started)
		start(c);
}

static void control(struct hume *h, struct call *c, const struct evb_frame *f,
		    struct evb_conn *conn)
{
	json_t *o = json_loadb((const char *)f->payload, f->h.len, 0, NULL);
	const char *type = json_str(o, "type");
	char id[EVB_CALLID_STRLEN];

	evb_callid_format(f->h.call_id, id);
	if (!type) {
		EVB_LOG(LOG_WARNING, "call", "call=%s control frame without a 'type': ignored", id);
	} else if (strcmp(type, "call.prepare") == 0) {
		if (!c && !(c = call_new(h, f->h.call_id)))
			goto out;
		c->conn = conn;
		if (!c->ended)
			prepare(h, c, o);
	} else if (strcmp(type, "call.ended") == 0) {
		if (c)
			end_call(c, json_str(o, "reason") ? json_str(o, "reason") : "call.ended");
	} else if (strcmp(type, "dtmf") == 0) {
		const char *digit = json_str(o, "digit");
		if (c && !c->ended && digit && h->o.dtmf_input && c->ws_open) {
			char *msg = evb_evi_text_message("user_input", digit);
			if (msg) {
				call_send_text(c, msg, strlen(msg), "user_input");
				free(msg);
			}
		}
	} else {
		EVB_LOG(LOG_DEBUG, "call", "call=%s control '%.32s' ignored", id, type);
	}
out:
	json_decref(o);
}

static void audio(struct hume *h, struct call *c, const struct evb_frame *f,
		  struct evb_conn *conn)
{
	const uint8_t *p = f->payload;
	uint8_t *tmp = NULL;
	size_t n = f->h.len;

	if (f->h.codec == EVB_CODEC_ULAW) {
		int16_t *x = malloc(n * sizeof(*x) + 1);
		tmp = malloc(2 * n + 1);
		if (!x || !tmp) {
			free(x);
			free(tmp);
			return;
		}
		evb_ulaw_decode(p, x, n);
		evb_l16_encode(x, tmp, n);
		free(x);
		p = tmp;
		n *= 2;
	} else if (f->h.codec != EVB_CODEC_L16) {
		static unsigned said;
		if (said++ % 1000 == 0)
			EVB_LOG(LOG_WARNING, "call", "caller audio in %s ignored: L16 or mu-law "
				"expected", evb_codec_name(f->h.codec));
		return;
	}
	h->st.audio_in++;
	if (!c) {
		if (!(c = call_new(h, f->h.call_id)))
			goto out;
		c->conn = conn;
		c->rate = f->h.rate;
		if (f->h.rate == 16000)
			snprintf(c->provider, sizeof(c->provider), "vonage");
		EVB_LOG(LOG_INFO, "call", "call=%s audio of an unknown call: starting its chat",
			c->idstr);
		start(c);
	}
	c->conn = conn;
	if (c->ended)
		goto out;
	if (f->h.rate != c->rate) {
		if (c->rate)
			EVB_LOG(LOG_INFO, "call", "call=%s caller audio is %u Hz, not %u", c->idstr,
				f->h.rate, c->rate);
		if (c->sent_rate && c->batch_len) {
			send_audio(c, c->batch, c->batch_len);
			c->batch_len = 0;
		}
		ring_free(&c->hold);
		c->rate = f->h.rate;
		if (c->ws_open)
			send_settings(c);
	} else if (c->ws_open && !c->sent_rate) {
		send_settings(c);
		flush_hold(c);
	}
	if (c->ws_open && c->sent_rate)
		batch_add(c, p, n, f->h.capture_ns);
	else
		hold(c, p, n);
out:
	free(tmp);
}

void call_frame(struct hume *h, struct evb_conn *conn, const struct evb_frame *f)
{
	struct call *c = evb_callmap_get(h->calls, f->h.call_id);

	if (c) {
		c->last_frame_ms = call_now_ms(h);
		if (c->ended)
			return;
	}
	if (h->stopping)
		return;
	if (f->h.kind == EVB_KIND_CONTROL)
		control(h, c, f, conn);
	else if (f->h.kind == EVB_KIND_AUDIO)
		audio(h, c, f, conn);
}

struct tick_ctx {
	struct hume *h;
	uint64_t now;
};

static int tick_cb(const uint8_t *id, void *v, void *arg)
{
	struct tick_ctx *t = arg;
	struct call *c = v;
	const struct hume_opts *o = &t->h->o;

	switch (c->state) {
	case C_INFO:
		if (c->info_pending && t->now >= c->info_deadline) {
			EVB_LOG(LOG_WARNING, "call", "call=%s no answer from the database in %u ms: "
				"connecting with %s", c->idstr, o->db_wait_ms,
				c->info.found ? "the cached agent" : "the defaults");
			connect_evi(c);
		}
		break;
	case C_WAIT:
		if (t->now >= c->retry_at)
			connect_evi(c);
		break;
	case C_OPEN:
		if (o->max_chat_s && t->now - c->ws_opened_ms >= (uint64_t)o->max_chat_s * 1000 &&
		    (!c->asst_speaking ||
		     t->now - c->ws_opened_ms >= (uint64_t)o->max_chat_s * 1000 + TURN_GRACE_MS))
			call_resume(c, "the chat nears EVI's maximum duration");
		else if (o->inactivity_s &&
			 t->now - c->last_activity_ms >= (uint64_t)o->inactivity_s * 1000)
			call_resume(c, "the chat nears EVI's inactivity timeout");
		break;
	case C_ENDED:
		if (c->nws == 0 && t->now - c->ended_at >= HUME_ENDED_GRACE_MS) {
			evb_callmap_del(t->h->calls, id);
			call_free(c);
			return 0;
		}
		break;
	}
	if (!c->ended && t->now - c->last_frame_ms >= (uint64_t)t->h->o.idle_s * 1000)
		end_call(c, "no frames for --idle-s");
	return 0;
}

void call_tick_all(struct hume *h, uint64_t now)
{
	struct tick_ctx t = { h, now };
	evb_callmap_each(h->calls, tick_cb, &t);
}

static int gone_cb(const uint8_t *id, void *v, void *arg)
{
	struct call *c = v;

	(void)id;
	if (c->conn == arg)
		c->conn = NULL;
	return 0;
}

void call_conn_gone(struct hume *h, struct evb_conn *conn)
{
	evb_callmap_each(h->calls, gone_cb, conn);
}

static int end_cb(const uint8_t *id, void *v, void *arg)
{
	(void)id;
	(void)arg;
	end_call(v, "shutdown");
	return 0;
}

void call_end_all(struct hume *h)
{
	evb_callmap_each(h->calls, end_cb, NULL);
}

static int free_cb(const uint8_t *id, void *v, void *arg)
{
	struct hume *h = arg;

	evb_callmap_del(h->calls, id);
	call_free(v);
	return 0;
}

void call_free_all(struct hume *h)
{
	evb_callmap_each(h->calls, free_cb, h);
}

static int count_cb(const uint8_t *id, void *v, void *arg)
{
	struct call *c = v;

	(void)id;
	*(size_t *)arg += (size_t)c->nws;
	return 0;
}

size_t call_open_sockets(struct hume *h)
{
	size_t n = 0;

	evb_callmap_each(h->calls, count_cb, &n);
	return n;
}
