/* evb-call: a simulated phone call that speaks Twilio's or Vonage's side
 * of the webhooks and media WebSocket exactly, plays a WAV, records what it
 * hears with arrival times, and checks frame sizes and pacing. One call's
 * state lives in struct sim, so that many can share the loop later. */
#define USAGE                                                                         \
	"evb-call [--provider twilio|vonage] [--url BASE] [--path PATH] [--method GET|POST] " \
	"[--play FILE.wav] [--out DIR] [--hangup-ms MS | --wait-hangup] [--dtmf D@MS,...] " \
	"[--call-id UUID] [--agent SLUG] [--status-callbacks] [--inject MODE] [--check-sizes] " \
	"[--check-pacing] [--expect-http N] [--expect-ws-status N] [--expect-close N] ..."
#define HELP                                                                            \
	"Places one simulated call against evb-ingress. Twilio: POSTs the voice webhook\n"   \
	"with X-Twilio-Signature (TWILIO_AUTH_TOKEN from the environment), reads the\n"    \
	"TwiML, opens the <Stream> with a signed handshake, sends connected, start (the\n" \
	"<Parameter>s as customParameters), media every 20 ms on an absolute schedule,\n"  \
	"dtmf and stop; echoes marks once the audio before them has played, answers\n"     \
	"clear by dropping its buffer and returning pending marks, and when the server\n"  \
	"closes the stream asks the <Connect action> what next (<Hangup/> or a\n"          \
	"<Redirect> it follows, reconnecting); a webhook or action it cannot reach is\n"  \
	"retried as the URL's connection overrides say (#rc=N&rp=ct..., Twilio's\n"       \
	"defaults: 1 retry, 15 s in all). Vonage: GETs the answer URL (a signed\n"        \
	"webhook when VONAGE_SIGNATURE_SECRET is set), reads the NCCO, connects to its\n"  \
	"websocket, sends websocket:connected with the headers and 640-byte binary\n"     \
	"frames, answers notify and clear, and on a server close posts 'disconnected'\n"  \
	"to the connect eventUrl (retried twice, 1 s apart, if it cannot connect).\n\n"   \
	"  --provider P         twilio (default) or vonage\n"                             \
	"  --url BASE           evb-ingress, e.g. http://127.0.0.1:8080 (default)\n"     \
	"  --path PATH          webhook path (default /twilio/voice, /vonage/answer)\n"   \
	"  --method M           webhook method (Twilio POST, Vonage GET by default)\n"    \
	"  --play FILE          WAV to send (any rate; default: silence)\n"               \
	"  --frame-bytes N      media payload bytes per 20 ms message (default 160/640)\n"\
	"  --out DIR            write webhook.txt, messages.jsonl, heard.wav there\n"     \
	"  --hangup-ms MS       hang up MS after the stream starts (default: the WAV's\n" \
	"                       length plus --linger-ms, 1000)\n"                        \
	"  --wait-hangup        never hang up: wait for the server to end the call\n"     \
	"  --dtmf D@MS,...      press digit D at MS into the stream\n"                    \
	"  --call-id UUID, --agent SLUG   put call_id= and agent= in the webhook URL\n"   \
	"  --from N, --to N     caller and called numbers\n"                              \
	"  --status-callbacks   post status callbacks / events as the call goes\n"        \
	"  --connect-delay-ms MS  wait before opening the media socket\n"                 \
	"  --webhook-only       stop once the webhook's answer is read (saved in --out)\n"\
	"  --mark-delay-ms MS   echo marks and notifies MS later than playback says\n"  \
	"  --inject MODE        bad-signature, no-signature, ws-bad-signature, bad-token,\n"\
	"                       no-token, malformed-json, unknown-event, base64-garbage,\n" \
	"                       oversized, binary, text-audio, second-start,\n"           \
	"                       media-before-start (sent 200 ms into the stream)\n"      \
	"  --check-sizes        exit 1 if a received frame is not exactly 20 ms\n"         \
	"  --check-pacing       exit 1 unless the gaps within utterances average\n"       \
	"                       20+-1 ms, none is over --max-gap-ms (default 45) and none\n"\
	"                       under 5 ms (a burst)\n"                                   \
	"  --min-frames N       exit 1 if fewer frames were received\n"                   \
	"  --expect-http N      the webhook must answer N (other than 200: stop there)\n" \
	"  --expect-ws-status N the media handshake must be refused with N\n"             \
	"  --expect-close N     the server must close the media socket with code N\n"     \
	"  --timeout-s S        give up after S seconds (default 30)\n"                   \
	"  --ca FILE            extra CA for https/wss (also EVB_CA_FILE)\n"              \
	"  -h, --help, -V, --version\n\n"                                                 \
	"Prints statistics as key=value lines. Exit status: 0 ok, 1 a check failed,\n"   \
	"100 usage, 111 system or network error.\n"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <jansson.h>
#include <mbedtls/base64.h>
#include <uv.h>

#include "evb_caller.h"
#include "evb_frame.h"
#include "evb_err.h"
#include "evb_g711.h"
#include "evb_httpc.h"
#include "evb_log.h"
#include "evb_tls.h"
#include "evb_twilio.h"
#include "evb_url.h"
#include "evb_util.h"
#include "evb_vonage.h"
#include "evb_wav.h"
#include "evb_ws.h"

#define MS 1000000u
#define MAX_DTMF 32
#define MAX_PENDING 256
#define MAX_REQS 8
#define MAX_RECONNECTS 3
#define HEARD_MAX (600u * 16000u) /* samples: 10 minutes */
#define INJECT_AT_MS 200

enum { TWILIO = 1, VONAGE = 2 };
enum { R_WEBHOOK, R_ACTION, R_STATUS, R_WSEVENT };

struct opts {
	int provider;
	const char *url, *path, *method, *play, *out, *call_id, *agent, *from, *to, *inject;
	const char *ca;
	long hangup_ms, linger_ms, frame_bytes, connect_delay_ms, timeout_s, max_gap_ms;
	long min_frames, expect_http, expect_ws_status, expect_close, mark_delay_ms;
	int wait_hangup, status_callbacks, check_sizes, check_pacing, webhook_only;
	struct { char digit; long at_ms; } dtmf[MAX_DTMF];
	int ndtmf;
	const char *twilio_token, *account, *vonage_secret;
};

struct pending {
	uint64_t due_ns;
	json_t *msg; /* the echo to send */
};

struct sim;

struct req {
	struct sim *s;
	struct evb_httpc *c;
	int kind, used;
};

struct sim {
	const struct opts *o;
	uv_loop_t *loop;
	struct evb_tls_config *tls;
	uv_timer_t timer, deadline, retry;
	struct evb_ws *ws;
	struct req reqs[MAX_REQS];
	int done, streaming, hung_up, injected, delayed, reconnects, result;
	int dtmf_sent[MAX_DTMF];
	char call_sid[40], stream_sid[40], uuid[40], conv[48];
	char ws_url[EVB_TWIML_STR_MAX], action[EVB_TWIML_STR_MAX], event_url[EVB_TWIML_STR_MAX];
	json_t *params;       /* Twilio customParameters, or Vonage headers */
	int webhook_status, ws_status, close_code, twiml_start;
	/* the Twilio webhook or action in flight, retried as its URL's
	 * connection overrides say */
	struct evb_twilio_conn conn;
	char rq_url[EVB_TWIML_STR_MAX];
	int rq_kind, rq_first, rq_tries, webhook_retries;
	uint64_t rq_t0_ns;
	char close_reason[128], ended[32];
	/* what we send */
	uint8_t *src;
	size_t src_len, src_off, fb;
	uint64_t t0_ns, next_ns, hangup_ns, live_ns;
	uint32_t seq, chunk;
	/* what we hear */
	uint64_t play_end_ns, last_ns;
	int gap_valid;
	struct pending pend[MAX_PENDING];
	int npend;
	int16_t *heard;
	size_t heard_len, heard_cap;
	FILE *jsonl;
	uint64_t frames, wrong_sizes, bytes, gaps, bursts, marks, clears, notifies, echoed;
	uint64_t gap_sum_ns, gap_max_ns, texts, unexpected, after_clear;
};

static void finish(struct sim *s, const char *ended);
static void webhook(struct sim *s, const char *url, int first);
static void connect_ws(struct sim *s);

static int inject(const struct sim *s, const char *mode)
{
	return s->o->inject && strcmp(s->o->inject, mode) == 0;
}

/* ---- HTTP requests ---- */

static void on_http(struct evb_httpc *c, int err, void *arg);

static struct evb_httpc *http_new(struct sim *s, const char *method, const char *url)
{
	struct evb_httpc *c = evb_httpc_new(s->loop, method, url);

	if (c && s->tls)
		evb_httpc_set_tls(c, s->tls);
	if (c)
		evb_httpc_set_timeouts(c, 5000, 10000);
	return c;
}

static void http_start(struct sim *s, struct evb_httpc *c, int kind)
{
	for (int i = 0; i < MAX_REQS; i++) {
		struct req *r = &s->reqs[i];

		if (r->used)
			continue;
		*r = (struct req){ s, c, kind, 1 };
		if (evb_httpc_start(c, on_http, r) == 0)
			return;
		r->used = 0;
		break;
	}
	fprintf(stderr, "evb-call: unable to send a request\n");
	evb_httpc_free(c);
	if (kind != R_STATUS) {
		s->result = 111;
		finish(s, "error");
	}
}

/* The connect and total timeouts of the next attempt: the overrides' ct,
 * and rt within what is left of tt. */
static void twilio_timeouts(struct sim *s, struct evb_httpc *c)
{
	uint64_t spent = (evb_now_ns() - s->rq_t0_ns) / MS;
	unsigned left = spent < s->conn.tt_ms ? s->conn.tt_ms - (unsigned)spent : 1;
	unsigned total = s->conn.ct_ms + s->conn.rt_ms;

	evb_httpc_set_timeouts(c, s->conn.ct_ms < left ? s->conn.ct_ms : left,
			       total < left ? total : left);
}

/* A signed Twilio form POST (or GET with the parameters in the query). */
static void twilio_request(struct sim *s, const char *url, struct evb_params *p, int kind,
			   int first)
{
	int get = first && s->o->method && strcmp(s->o->method, "GET") == 0;
	char sig[EVB_TWILIO_SIG_LEN], *enc = evb_params_encode(p), *full = NULL;
	struct evb_httpc *c;

	if (!enc)
		goto fail;
	if (get) {
		size_t n = strlen(url) + strlen(enc) + 2;
		if (!(full = malloc(n)))
			goto fail;
		snprintf(full, n, "%s%c%s", url, strchr(url, '?') ? '&' : '?', enc);
	}
	c = http_new(s, get ? "GET" : "POST", full ? full : url);
	if (c && kind != R_STATUS)
		twilio_timeouts(s, c);
	if (!c || evb_twilio_signature(s->o->twilio_token ? s->o->twilio_token : "",
				       full ? full : url, get ? NULL : p, sig) < 0)
		goto fail;
	if (first && inject(s, "bad-signature"))
		sig[3] = sig[3] == 'A' ? 'B' : 'A';
	if (!(first && inject(s, "no-signature")))
		evb_httpc_add_header(c, "X-Twilio-Signature", sig);
	if (!get)
		evb_httpc_set_body(c, "application/x-www-form-urlencoded", enc, strlen(enc));
	http_start(s, c, kind);
	free(enc);
	free(full);
	return;
fail:
	fprintf(stderr, "evb-call: unable to build a request to '%s'\n", url);
	free(enc);
	free(full);
	s->result = 111;
	finish(s, "error");
}

static struct evb_params *twilio_params(struct sim *s, const char *status)
{
	struct evb_params *p = evb_params_new();

	if (!p)
		return NULL;
	evb_params_add(p, "CallSid", s->call_sid);
	evb_params_add(p, "AccountSid", s->o->account);
	evb_params_add(p, "From", s->o->from);
	evb_params_add(p, "To", s->o->to);
	evb_params_add(p, "CallStatus", status);
	evb_params_add(p, "Direction", s->o->call_id ? "outbound-api" : "inbound");
	evb_params_add(p, "ApiVersion", "2010-04-01");
	return p;
}

/* One attempt at the Twilio webhook or action in s->rq_*. */
static void twilio_attempt(struct sim *s)
{
	struct evb_params *p = twilio_params(s, s->rq_kind == R_WEBHOOK && s->rq_first &&
						   !s->o->call_id ? "ringing" : "in-progress");

	twilio_request(s, s->rq_url, p, s->rq_kind, s->rq_first);
	evb_params_free(p);
}

static void ws_event_post(struct sim *s);

static void retry_cb(uv_timer_t *t)
{
	struct sim *s = t->data;

	if (s->done)
		return;
	if (s->o->provider == TWILIO)
		twilio_attempt(s);
	else
		ws_event_post(s);
}

/* A request that could not connect. */
static int conn_failed(int err)
{
	return err == -ECONNREFUSED || err == -ECONNRESET || err == -ECONNABORTED ||
	       err == -EHOSTUNREACH || err == -ENETUNREACH || err == -EPIPE || err == -ETIMEDOUT;
}

/* Vonage retries a webhook it cannot reach twice, the first after 1 s
 * (Vonage's troubleshooting guide and its high-availability post; the
 * fallback URL, which we do not use, comes after that). Only the
 * websocket's eventUrl is retried here: it is what a restarted bridge
 * must answer to keep the call. Returns 1 when a retry is scheduled. */
static int vonage_retry(struct sim *s, int err)
{
	if (!conn_failed(err) || s->rq_tries >= 2)
		return 0;
	s->rq_tries++;
	s->webhook_retries++;
	fprintf(stderr, "evb-call: '%s' failed (%s): retry %d of 2 in 1000 ms\n", s->event_url,
		evb_strerror(err), s->rq_tries);
	uv_timer_start(&s->retry, retry_cb, 1000, 0);
	return 1;
}

/* Requests a Twilio webhook or <Connect action> URL the way Twilio does:
 * the fragment (connection overrides) is not sent, and says how long to
 * wait and how often to retry. */
static void twilio_send(struct sim *s, const char *url, int kind, int first)
{
	if (evb_twilio_conn_parse(url, s->rq_url, sizeof(s->rq_url), &s->conn) < 0) {
		fprintf(stderr, "evb-call: bad connection overrides in '%s': Twilio's defaults "
			"apply\n", url);
		if (!s->rq_url[0]) {
			s->result = 1;
			finish(s, "error");
			return;
		}
	}
	s->rq_kind = kind;
	s->rq_first = first;
	s->rq_tries = 0;
	s->rq_t0_ns = evb_now_ns();
	twilio_attempt(s);
}

/* A failed attempt (err, or else HTTP status st) that the overrides say
 * to retry: schedules the retry and returns 1. Twilio does not document
 * the pause between attempts; we wait 100 ms, doubling to at most 1 s,
 * within tt. */
static int twilio_retry(struct sim *s, int err, int st)
{
	unsigned rp = s->conn.rp, delay;
	uint64_t spent = (evb_now_ns() - s->rq_t0_ns) / MS;
	int match;

	if (err == -ETIMEDOUT)
		match = (rp & (EVB_TWILIO_RP_CT | EVB_TWILIO_RP_RT)) != 0;
	else if (err)
		match = (rp & EVB_TWILIO_RP_CT) && conn_failed(err);
	else
		match = (st >= 400 && st < 500 && (rp & EVB_TWILIO_RP_4XX)) ||
			(st >= 500 && (rp & EVB_TWILIO_RP_5XX));
	if (!match || s->rq_tries >= s->conn.rc)
		return 0;
	delay = 100u << (s->rq_tries < 4 ? s->rq_tries : 4);
	if (delay > 1000)
		delay = 1000;
	if (spent + delay >= s->conn.tt_ms)
		return 0;
	s->rq_tries++;
	s->webhook_retries++;
	fprintf(stderr, "evb-call: '%s' failed (%s): retry %d of %d in %u ms\n", s->rq_url,
		err ? evb_strerror(err) : "HTTP error", s->rq_tries, s->conn.rc, delay);
	uv_timer_start(&s->retry, retry_cb, delay, 0);
	return 1;
}

/* Signs a Vonage webhook when there is a secret (or a wrong one, or none,
 * when the first webhook is to be refused). */
static void vonage_sign(struct sim *s, struct evb_httpc *c, const char *body, int first)
{
	const char *secret = s->o->vonage_secret;
	char *jwt, h[EVB_TWIML_STR_MAX + 16];

	if (!secret || (first && inject(s, "no-signature")))
		return;
	if (first && inject(s, "bad-signature"))
		secret = "not-the-secret";
	if ((jwt = evb_vonage_jwt_sign(secret, body, strlen(body), (int64_t)time(NULL)))) {
		snprintf(h, sizeof(h), "Bearer %s", jwt);
		evb_httpc_add_header(c, "Authorization", h);
		free(jwt);
	}
}

/* A Vonage JSON POST. */
static void vonage_post(struct sim *s, const char *url, json_t *body, int kind, int first)
{
	char *b = json_dumps(body, JSON_COMPACT);
	struct evb_httpc *c = b ? http_new(s, "POST", url) : NULL;

	json_decref(body);
	if (!c) {
		free(b);
		return;
	}
	vonage_sign(s, c, b, first);
	evb_httpc_set_body(c, "application/json", b, strlen(b));
	http_start(s, c, kind);
	free(b);
}

static void status_callback(struct sim *s, const char *status, long long secs)
{
	char url[EVB_TWIML_STR_MAX], d[24];

	if (!s->o->status_callbacks)
		return;
	if (s->o->provider == TWILIO) {
		struct evb_params *p = twilio_params(s, status);
		snprintf(url, sizeof(url), "%s/twilio/status", s->o->url);
		if (secs >= 0) {
			snprintf(d, sizeof(d), "%lld", secs);
			evb_params_add(p, "CallDuration", d);
		}
		twilio_request(s, url, p, R_STATUS, 0);
		evb_params_free(p);
		return;
	}
	snprintf(url, sizeof(url), "%s/vonage/event", s->o->url);
	{
		json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "status", status, "uuid", s->uuid,
				      "conversation_uuid", s->conv, "direction",
				      s->o->call_id ? "outbound" : "inbound", "from", s->o->from,
				      "to", s->o->to);
		if (secs >= 0)
			json_object_set_new(j, "duration", json_sprintf("%lld", secs));
		vonage_post(s, url, j, R_STATUS, 0);
	}
}

/* ---- the webhook's answer ---- */

static void save(struct sim *s, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	if (!s->o->out)
		return;
	snprintf(path, sizeof(path), "%s/%s", s->o->out, name);
	if ((f = fopen(path, "w"))) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static int twiml_answer(struct sim *s, const char *body, size_t len)
{
	static struct evb_twiml t; /* large; one call at a time reads it */

	if (evb_twiml_parse(body, len, &t) < 0) {
		fprintf(stderr, "evb-call: the answer is not TwiML\n");
		return -1;
	}
	s->twiml_start |= t.has_start;
	if (t.hangup) {
		finish(s, "twiml-hangup");
		return 0;
	}
	if (t.redirect[0]) {
		webhook(s, t.redirect, 0);
		return 0;
	}
	if (!t.has_connect || !t.stream_url[0]) {
		fprintf(stderr, "evb-call: the TwiML has no <Connect><Stream>\n");
		return -1;
	}
	snprintf(s->ws_url, sizeof(s->ws_url), "%s", t.stream_url);
	snprintf(s->action, sizeof(s->action), "%s", t.action);
	json_decref(s->params);
	s->params = json_object();
	for (size_t i = 0; i < t.nparams; i++)
		json_object_set_new(s->params, t.names[i], json_string(t.values[i]));
	connect_ws(s);
	return 0;
}

static int ncco_answer(struct sim *s, const char *body, size_t len)
{
	struct evb_ncco n;
	json_t *root;

	if (len == 0 || (len == 2 && memcmp(body, "[]", 2) == 0)) {
		finish(s, "ncco-empty");
		return 0;
	}
	if (evb_vonage_ncco_parse(body, len, &root, &n) < 0) {
		fprintf(stderr, "evb-call: the answer is not an NCCO with a websocket\n");
		return -1;
	}
	snprintf(s->ws_url, sizeof(s->ws_url), "%s", n.uri);
	snprintf(s->event_url, sizeof(s->event_url), "%s", n.event_url ? n.event_url : "");
	json_decref(s->params);
	s->params = n.headers ? json_deep_copy(n.headers) : json_object();
	if (evb_vonage_rate(n.content_type) != 16000)
		fprintf(stderr, "evb-call: unexpected content-type '%s'\n",
			n.content_type ? n.content_type : "(none)");
	json_decref(root);
	connect_ws(s);
	return 0;
}

static void on_http(struct evb_httpc *c, int err, void *arg)
{
	struct req *r = arg;
	struct sim *s = r->s;
	int kind = r->kind, st = err ? 0 : evb_httpc_status(c);
	size_t len = 0;
	const char *body = err ? "" : (const char *)evb_httpc_body(c, &len);

	r->used = 0;
	if (s->done)
		return;
	if (s->o->provider == TWILIO && (kind == R_WEBHOOK || kind == R_ACTION) &&
	    (err || st >= 400) && twilio_retry(s, err, st))
		return;
	if (s->o->provider == VONAGE && kind == R_WSEVENT && err && vonage_retry(s, err))
		return;
	if (err) {
		fprintf(stderr, "evb-call: request failed: %s\n", evb_httpc_errstr(c));
		if (kind != R_STATUS) {
			s->result = 111;
			finish(s, "error");
		}
		return;
	}
	if (kind == R_STATUS) {
		if (st >= 300)
			fprintf(stderr, "evb-call: status callback answered %d\n", st);
		return;
	}
	if (kind == R_WEBHOOK && !s->webhook_status) {
		s->webhook_status = st;
		save(s, "webhook.txt", body, len);
		if (s->o->expect_http && st != s->o->expect_http) {
			fprintf(stderr, "evb-call: the webhook answered %d, expected %ld: %.*s\n", st,
				s->o->expect_http, (int)(len < 300 ? len : 300), body);
			s->result = 1;
			finish(s, "webhook");
			return;
		}
		if (st != 200) {
			if (!s->o->expect_http) {
				fprintf(stderr, "evb-call: the webhook answered %d: %.*s\n", st,
					(int)(len < 300 ? len : 300), body);
				s->result = 1;
			}
			finish(s, "webhook");
			return;
		}
	}
	if (kind == R_WSEVENT && (st == 204 || len == 0)) {
		finish(s, "hangup");
		return;
	}
	if (st != 200) {
		fprintf(stderr, "evb-call: '%s' answered %d\n", kind == R_ACTION ? "action" : "webhook",
			st);
		s->result = 1;
		finish(s, "error");
		return;
	}
	if ((s->o->provider == TWILIO ? twiml_answer(s, body, len) : ncco_answer(s, body, len)) < 0) {
		s->result = 1;
		finish(s, "error");
	}
}

static void webhook(struct sim *s, const char *url, int first)
{
	if (s->o->provider == TWILIO) {
		twilio_send(s, url, R_WEBHOOK, first);
		return;
	}
	if (s->o->method && strcmp(s->o->method, "POST") == 0) {
		vonage_post(s, url, json_pack("{s:s,s:s,s:s,s:s}", "to", s->o->to, "from", s->o->from,
					      "uuid", s->uuid, "conversation_uuid", s->conv),
			    R_WEBHOOK, first);
		return;
	}
	{
		struct evb_params *p = evb_params_new();
		char *enc, full[EVB_TWIML_STR_MAX];
		struct evb_httpc *c;

		evb_params_add(p, "to", s->o->to);
		evb_params_add(p, "from", s->o->from);
		evb_params_add(p, "uuid", s->uuid);
		evb_params_add(p, "conversation_uuid", s->conv);
		enc = evb_params_encode(p);
		evb_params_free(p);
		snprintf(full, sizeof(full), "%s%c%s", url, strchr(url, '?') ? '&' : '?',
			 enc ? enc : "");
		free(enc);
		c = http_new(s, "GET", full);
		if (!c) {
			s->result = 111;
			finish(s, "error");
			return;
		}
		vonage_sign(s, c, "", first);
		http_start(s, c, R_WEBHOOK);
	}
}

/* The server closed the media socket: ask the provider's next step. */
static void after_close(struct sim *s)
{
	if (++s->reconnects > MAX_RECONNECTS) {
		fprintf(stderr, "evb-call: too many reconnections\n");
		s->result = 1;
		finish(s, "error");
		return;
	}
	if (s->o->provider == TWILIO) {
		if (!s->action[0]) {
			finish(s, "closed");
			return;
		}
		twilio_send(s, s->action, R_ACTION, 0);
		return;
	}
	if (!s->event_url[0]) {
		finish(s, "closed");
		return;
	}
	s->rq_tries = 0;
	ws_event_post(s);
}

/* Vonage's synchronous event for the websocket leg gone. */
static void ws_event_post(struct sim *s)
{
	vonage_post(s, s->event_url,
		    json_pack("{s:s,s:s,s:s,s:s}", "status", "disconnected", "uuid", s->uuid,
			      "conversation_uuid", s->conv, "direction",
			      s->o->call_id ? "outbound" : "inbound"),
		    R_WSEVENT, 0);
}

/* ---- hearing ---- */

/* One line of messages.jsonl for a message whose content is not kept:
 * media ("media" for Twilio JSON, "binary" for Vonage), or unparsable. */
static void jsonl(struct sim *s, uint64_t now, const char *kind, size_t bytes)
{
	if (s->jsonl)
		fprintf(s->jsonl, "{\"t_ns\":%llu,\"kind\":\"%s\",\"bytes\":%zu}\n",
			(unsigned long long)now, kind, bytes);
}

static void heard_audio(struct sim *s, uint64_t now, const uint8_t *p, size_t len)
{
	size_t want = s->o->provider == TWILIO ? 160 : 640;
	size_t n = s->o->provider == TWILIO ? len : len / 2;
	uint64_t dur = (uint64_t)n * 1000000000u / (s->o->provider == TWILIO ? 8000 : 16000);

	s->frames++;
	s->bytes += len;
	if (s->clears)
		s->after_clear++;
	if (len != want)
		s->wrong_sizes++;
	if (s->gap_valid) {
		uint64_t gap = now - s->last_ns;
		s->gaps++;
		s->gap_sum_ns += gap;
		if (gap > s->gap_max_ns)
			s->gap_max_ns = gap;
		if (gap < 5 * MS)
			s->bursts++;
	}
	s->last_ns = now;
	s->gap_valid = 1;
	s->play_end_ns = (s->play_end_ns > now ? s->play_end_ns : now) + dur;
	if (s->heard_len + n > s->heard_cap && s->heard_len + n <= HEARD_MAX) {
		size_t cap = s->heard_cap ? s->heard_cap * 2 : 16000 * 10;
		int16_t *h;
		while (cap < s->heard_len + n)
			cap *= 2;
		if ((h = realloc(s->heard, cap * sizeof(*h)))) {
			s->heard = h;
			s->heard_cap = cap;
		}
	}
	if (s->heard_len + n <= s->heard_cap) {
		if (s->o->provider == TWILIO)
			evb_ulaw_decode(p, s->heard + s->heard_len, n);
		else
			evb_l16_decode(p, s->heard + s->heard_len, n);
		s->heard_len += n;
	}
}

/* Queues an echo to send once what was received before it has played. */
static void pend(struct sim *s, uint64_t now, json_t *msg)
{
	if (s->npend == MAX_PENDING) {
		json_decref(msg);
		return;
	}
	s->pend[s->npend].due_ns = (s->play_end_ns > now ? s->play_end_ns : now) +
				   (uint64_t)s->o->mark_delay_ms * MS;
	s->pend[s->npend++].msg = msg;
}

/* A clear: playback stops, and the pending echoes go back at once. */
static void cleared(struct sim *s, uint64_t now)
{
	s->clears++;
	s->gap_valid = 0;
	s->play_end_ns = now;
	for (int i = 0; i < s->npend; i++)
		s->pend[i].due_ns = now;
}

static void on_twilio_text(struct sim *s, uint64_t now, const uint8_t *data, size_t len)
{
	static uint8_t buf[65536];
	struct evb_twilio_msg m;
	char err[128];

	if (evb_twilio_msg_parse(data, len, buf, sizeof(buf), &m, err, sizeof(err)) < 0) {
		s->unexpected++;
		jsonl(s, now, "unparsable", len);
		return;
	}
	if (m.event == EVB_TWILIO_MEDIA) {
		jsonl(s, now, "media", m.payload_len);
		if (!m.stream_sid || strcmp(m.stream_sid, s->stream_sid) != 0)
			s->unexpected++;
		heard_audio(s, now, m.payload, m.payload_len);
	} else {
		s->texts++;
		if (s->jsonl)
			fprintf(s->jsonl, "{\"t_ns\":%llu,\"kind\":\"text\",\"msg\":%.*s}\n",
				(unsigned long long)now, (int)len, data);
		if (m.event == EVB_TWILIO_MARK) {
			s->marks++;
			s->gap_valid = 0;
			pend(s, now, json_pack("{s:s,s:s,s:s,s:{s:s}}", "event", "mark",
					       "sequenceNumber", "0", "streamSid", s->stream_sid,
					       "mark", "name", m.mark));
		} else if (m.event == EVB_TWILIO_CLEAR) {
			cleared(s, now);
		} else {
			s->unexpected++;
		}
	}
	evb_twilio_msg_release(&m);
}

static void on_vonage_text(struct sim *s, uint64_t now, const uint8_t *data, size_t len)
{
	struct evb_vonage_msg m;

	s->texts++;
	if (s->jsonl)
		fprintf(s->jsonl, "{\"t_ns\":%llu,\"kind\":\"text\",\"msg\":%.*s}\n",
			(unsigned long long)now, (int)len, data);
	if (evb_vonage_msg_parse(data, len, &m, NULL, 0) < 0) {
		s->unexpected++;
		return;
	}
	if (m.event == EVB_VONAGE_A_NOTIFY) {
		s->notifies++;
		s->gap_valid = 0;
		pend(s, now, json_pack("{s:s,s:O}", "event", "websocket:notify", "payload",
				       m.payload ? m.payload : json_null()));
	} else if (m.event == EVB_VONAGE_A_CLEAR) {
		char ack[] = "{\"event\":\"websocket:cleared\"}";
		cleared(s, now);
		evb_ws_send(s->ws, EVB_WS_TEXT, ack, sizeof(ack) - 1);
	} else {
		s->unexpected++;
	}
	evb_vonage_msg_release(&m);
}

static void on_message(struct evb_ws *ws, int kind, const uint8_t *data, size_t len, void *arg)
{
	struct sim *s = arg;
	uint64_t now = evb_now_ns();

	(void)ws;
	if (s->done)
		return;
	if (kind == EVB_WS_BINARY && s->o->provider == VONAGE) {
		jsonl(s, now, "binary", len);
		heard_audio(s, now, data, len);
	} else if (kind == EVB_WS_BINARY) {
		s->unexpected++; /* Twilio never gets binary frames */
		jsonl(s, now, "binary", len);
	} else if (s->o->provider == TWILIO) {
		on_twilio_text(s, now, data, len);
	} else {
		on_vonage_text(s, now, data, len);
	}
}

/* ---- speaking ---- */

static void send_json(struct sim *s, json_t *j)
{
	char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (t && s->ws)
		evb_ws_send(s->ws, EVB_WS_TEXT, t, strlen(t));
	free(t);
	json_decref(j);
}

static void send_text(struct sim *s, const char *t)
{
	if (s->ws)
		evb_ws_send(s->ws, EVB_WS_TEXT, t, strlen(t));
}

static char *seqstr(struct sim *s, char buf[16])
{
	snprintf(buf, 16, "%u", ++s->seq);
	return buf;
}

static void send_start(struct sim *s)
{
	char sq[16];
	json_t *p = json_deep_copy(s->params);

	if (inject(s, "bad-token") && json_string_value(json_object_get(p, "token"))) {
		char t[EVB_TWIML_STR_MAX];
		snprintf(t, sizeof(t), "%s", json_string_value(json_object_get(p, "token")));
		t[0] = t[0] == 'A' ? 'B' : 'A';
		json_object_set_new(p, "token", json_string(t));
	}
	if (inject(s, "no-token"))
		json_object_del(p, "token");
	if (s->o->provider == VONAGE) {
		json_object_set_new(p, "event", json_string("websocket:connected"));
		json_object_set_new(p, "content-type", json_string("audio/l16;rate=16000"));
		send_json(s, p);
		return;
	}
	send_json(s, json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:[s],s:o,s:{s:s,s:i,s:i}},s:s}",
			       "event", "start", "sequenceNumber", seqstr(s, sq), "start",
			       "accountSid", s->o->account, "streamSid", s->stream_sid, "callSid",
			       s->call_sid, "tracks", "inbound", "customParameters", p,
			       "mediaFormat", "encoding", "audio/x-mulaw", "sampleRate", 8000,
			       "channels", 1, "streamSid", s->stream_sid));
}

static void send_media(struct sim *s, const uint8_t *p, size_t n)
{
	char sq[16], ck[16], ts[24];
	char b64[4096];
	size_t olen;

	if (s->o->provider == VONAGE) {
		evb_ws_send(s->ws, EVB_WS_BINARY, p, n);
		return;
	}
	if (mbedtls_base64_encode((uint8_t *)b64, sizeof(b64), &olen, p, n) != 0)
		return;
	snprintf(ts, sizeof(ts), "%u", s->chunk * 20);
	snprintf(ck, sizeof(ck), "%u", ++s->chunk);
	send_json(s, json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:s}", "event", "media",
			       "sequenceNumber", seqstr(s, sq), "media", "track", "inbound", "chunk",
			       ck, "timestamp", ts, "payload", b64, "streamSid", s->stream_sid));
}

static void send_dtmf(struct sim *s, char digit)
{
	char sq[16], d[2] = { digit, 0 };

	if (s->o->provider == VONAGE)
		send_json(s, json_pack("{s:s,s:s,s:i}", "event", "websocket:dtmf", "digit", d,
				       "duration", 260));
	else
		send_json(s, json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "event", "dtmf", "streamSid",
				       s->stream_sid, "sequenceNumber", seqstr(s, sq), "dtmf",
				       "track", "inbound_track", "digit", d));
}

static void send_injection(struct sim *s)
{
	static const uint8_t junk[160];

	s->injected = 1;
	if (inject(s, "malformed-json"))
		send_text(s, "{\"event\":\"media\",\"media\":{\"payload\":");
	else if (inject(s, "unknown-event"))
		send_text(s, s->o->provider == TWILIO ? "{\"event\":\"bogus\",\"streamSid\":\"x\"}"
						      : "{\"event\":\"websocket:bogus\"}");
	else if (inject(s, "base64-garbage"))
		send_text(s, "{\"event\":\"media\",\"sequenceNumber\":\"9\",\"media\":{\"track\":"
			     "\"inbound\",\"chunk\":\"9\",\"timestamp\":\"180\",\"payload\":"
			     "\"%%% not base64 %%%\"}}");
	else if (inject(s, "binary"))
		evb_ws_send(s->ws, EVB_WS_BINARY, junk, sizeof(junk));
	else if (inject(s, "text-audio"))
		send_text(s, "//////////////////////////////////////////8=");
	else if (inject(s, "second-start"))
		send_start(s);
	else if (inject(s, "oversized")) {
		size_t n = 100000;
		char *big = malloc(n + 64);
		if (big) {
			memset(big, 'A', n + 64);
			memcpy(big, "{\"event\":\"media\",\"pad\":\"", 24);
			memcpy(big + n + 24, "\"}", 3);
			evb_ws_send(s->ws, EVB_WS_TEXT, big, n + 26);
			free(big);
		}
	}
}

static void hang_up(struct sim *s, uint64_t now)
{
	char sq[16];

	s->hung_up = 1;
	if (s->o->provider == TWILIO)
		send_json(s, json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "event", "stop", "sequenceNumber",
				       seqstr(s, sq), "streamSid", s->stream_sid, "stop",
				       "accountSid", s->o->account, "callSid", s->call_sid));
	evb_ws_close(s->ws, 1000, "caller hung up");
	status_callback(s, "completed", (long long)((now - s->live_ns) / 1000000000u));
}

static void on_timer(uv_timer_t *t)
{
	struct sim *s = t->data;
	uint64_t now = evb_now_ns(), at = (now - s->t0_ns) / MS;
	uint8_t silence[2048];
	size_t n = s->fb;

	if (!s->ws || s->hung_up || s->done)
		return;
	/* Due echoes of marks and notifies, in order. */
	while (s->npend > 0 && s->pend[0].due_ns <= now) {
		s->echoed++;
		send_json(s, s->pend[0].msg);
		memmove(s->pend, s->pend + 1, sizeof(s->pend[0]) * (size_t)--s->npend);
	}
	if (s->hangup_ns && now >= s->hangup_ns) {
		hang_up(s, now);
		return;
	}
	if (s->src_off < s->src_len) {
		if (n > s->src_len - s->src_off)
			n = s->src_len - s->src_off;
		send_media(s, s->src + s->src_off, n);
		s->src_off += n;
	} else {
		memset(silence, s->o->provider == TWILIO ? 0xff : 0, sizeof(silence));
		send_media(s, silence, n);
	}
	for (int i = 0; i < s->o->ndtmf; i++) {
		if (!s->dtmf_sent[i] && (long)at >= s->o->dtmf[i].at_ms) {
			s->dtmf_sent[i] = 1;
			send_dtmf(s, s->o->dtmf[i].digit);
		}
	}
	if (s->o->inject && !s->injected && at >= INJECT_AT_MS)
		send_injection(s);
	s->next_ns += 20 * MS;
	uv_update_time(s->loop);
	now = evb_now_ns();
	uv_timer_start(&s->timer, on_timer, s->next_ns > now ? (s->next_ns - now + MS - 1) / MS : 0,
		       0);
}

/* ---- the media socket ---- */

static void on_open(struct evb_ws *ws, void *arg)
{
	struct sim *s = arg;
	uint64_t now = evb_now_ns();

	(void)ws;
	s->ws_status = evb_ws_http_status(ws);
	if (s->o->expect_ws_status) {
		fprintf(stderr, "evb-call: the media handshake was accepted, expected %ld\n",
			s->o->expect_ws_status);
		s->result = 1;
		finish(s, "error");
		return;
	}
	if (!s->live_ns) {
		s->live_ns = now;
		status_callback(s, s->o->provider == TWILIO ? "in-progress" : "answered", -1);
	}
	s->streaming = 1;
	if (s->jsonl)
		fprintf(s->jsonl, "{\"t_ns\":%llu,\"kind\":\"open\",\"call_id\":\"%s\"}\n",
			(unsigned long long)now,
			json_string_value(json_object_get(s->params, "call_id"))
				? json_string_value(json_object_get(s->params, "call_id")) : "");
	s->npend = 0;
	s->play_end_ns = 0;
	s->gap_valid = 0;
	s->seq = 0;
	s->chunk = 0;
	evb_caller_random_hex(s->stream_sid + 2, 32);
	if (s->o->provider == TWILIO)
		send_text(s, "{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
	if (inject(s, "media-before-start")) {
		uint8_t junk[640] = { 0 };
		send_media(s, junk, s->fb);
	}
	send_start(s);
	if (!s->t0_ns) {
		s->t0_ns = now;
		if (s->o->hangup_ms >= 0)
			s->hangup_ns = now + (uint64_t)s->o->hangup_ms * MS;
		else if (!s->o->wait_hangup)
			s->hangup_ns = now + (uint64_t)(s->src_len / s->fb * 20 + (size_t)s->o->linger_ms) * MS;
	}
	s->next_ns = now;
	on_timer(&s->timer);
}

static void on_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	struct sim *s = arg;

	s->ws = NULL;
	s->close_code = code;
	snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
	uv_timer_stop(&s->timer);
	while (s->npend > 0)
		json_decref(s->pend[--s->npend].msg);
	if (s->done)
		return;
	if (!s->streaming) {
		s->ws_status = evb_ws_http_status(ws);
		if (s->o->expect_ws_status && s->ws_status == s->o->expect_ws_status) {
			finish(s, "refused");
			return;
		}
		fprintf(stderr, "evb-call: media socket failed (HTTP %d): %s\n", s->ws_status, reason);
		s->result = s->o->expect_ws_status ? 1 : 111;
		finish(s, "error");
		return;
	}
	s->streaming = 0;
	if (s->hung_up) {
		finish(s, "caller");
		return;
	}
	if (s->o->expect_close) {
		if (code != s->o->expect_close) {
			fprintf(stderr, "evb-call: the server closed with %d (%s), expected %ld\n",
				code, reason, s->o->expect_close);
			s->result = 1;
		}
		finish(s, "closed");
		return;
	}
	after_close(s);
}

static void delay_cb(uv_timer_t *t)
{
	connect_ws(t->data);
}

static void connect_ws(struct sim *s)
{
	char hdr[128] = "", sig[EVB_TWILIO_SIG_LEN];

	if (s->o->webhook_only) {
		finish(s, "webhook");
		return;
	}

	if (s->o->connect_delay_ms > 0 && !s->delayed) {
		s->delayed = 1; /* the first connection only */
		uv_timer_start(&s->timer, delay_cb, (uint64_t)s->o->connect_delay_ms, 0);
		return;
	}
	if (s->o->provider == TWILIO) {
		evb_twilio_signature(s->o->twilio_token ? s->o->twilio_token : "", s->ws_url, NULL,
				     sig);
		if (inject(s, "ws-bad-signature"))
			sig[3] = sig[3] == 'A' ? 'B' : 'A';
		snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sig);
	}
	s->ws = evb_ws_connect(s->loop, s->ws_url, s->tls, hdr, 5000, on_open, on_message, on_close,
			       s);
	if (!s->ws) {
		fprintf(stderr, "evb-call: unable to connect to '%s': %s\n", s->ws_url,
			strerror(errno));
		s->result = 111;
		finish(s, "error");
		return;
	}
	evb_ws_set_max_message(s->ws, 1u << 20);
}

/* ---- the call ---- */

static void on_deadline(uv_timer_t *t)
{
	struct sim *s = t->data;

	fprintf(stderr, "evb-call: timed out after %ld s\n", s->o->timeout_s);
	s->result = 1;
	finish(s, "timeout");
}

static void finish(struct sim *s, const char *ended)
{
	if (s->done)
		return;
	s->done = 1;
	snprintf(s->ended, sizeof(s->ended), "%s", ended);
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, NULL);
	uv_close((uv_handle_t *)&s->deadline, NULL);
	uv_close((uv_handle_t *)&s->retry, NULL);
	if (s->ws)
		evb_ws_free(s->ws);
	s->ws = NULL;
	for (int i = 0; i < MAX_REQS; i++)
		if (s->reqs[i].used && s->reqs[i].kind != R_STATUS) {
			s->reqs[i].used = 0;
			evb_httpc_free(s->reqs[i].c);
		}
	while (s->npend > 0)
		json_decref(s->pend[--s->npend].msg);
}

/* The WAV to play, converted to the provider's codec and rate. */
static int load_audio(struct sim *s)
{
	uint8_t *buf;
	size_t len;
	int e;

	if (!s->o->play)
		return 0;
	if ((e = evb_file_read(s->o->play, 256u << 20, &buf, &len)) < 0) {
		fprintf(stderr, "evb-call: unable to read '%s': %s\n", s->o->play, evb_strerror(e));
		return -1;
	}
	e = evb_caller_convert(buf, len, s->o->provider == TWILIO ? EVB_CODEC_ULAW : EVB_CODEC_L16,
			       s->o->provider == TWILIO ? 8000 : 16000, &s->src, &s->src_len);
	free(buf);
	if (e < 0) {
		fprintf(stderr, "evb-call: '%s': %s\n", s->o->play, evb_strerror(e));
		return -1;
	}
	return 0;
}

static void write_outputs(struct sim *s)
{
	char path[PATH_MAX];

	if (!s->o->out)
		return;
	snprintf(path, sizeof(path), "%s/heard.wav", s->o->out);
	if (evb_wav_write_file(path, s->o->provider == TWILIO ? 8000 : 16000, s->heard,
			       s->heard_len) < 0)
		fprintf(stderr, "evb-call: unable to write '%s'\n", path);
}

static void report(struct sim *s)
{
	double mean = s->gaps ? (double)s->gap_sum_ns / (double)s->gaps / 1e6 : 0;

	printf("ended=%s\nwebhook_status=%d\nws_status=%d\nclose_code=%d\nreconnects=%d\n"
	       "frames=%llu\nwrong_sizes=%llu\nbytes=%llu\ngaps=%llu\ngap_mean_ms=%.3f\n"
	       "gap_max_ms=%.3f\nbursts=%llu\nmarks=%llu\nnotifies=%llu\nechoed=%llu\n"
	       "clears=%llu\nframes_after_clear=%llu\ntexts=%llu\nunexpected=%llu\n"
	       "twiml_start=%d\nheard_ms=%llu\nwebhook_retries=%d\n",
	       s->ended, s->webhook_status, s->ws_status, s->close_code,
	       s->reconnects, (unsigned long long)s->frames, (unsigned long long)s->wrong_sizes,
	       (unsigned long long)s->bytes, (unsigned long long)s->gaps, mean,
	       (double)s->gap_max_ns / 1e6, (unsigned long long)s->bursts,
	       (unsigned long long)s->marks, (unsigned long long)s->notifies,
	       (unsigned long long)s->echoed, (unsigned long long)s->clears,
	       (unsigned long long)s->after_clear, (unsigned long long)s->texts, (unsigned long long)s->unexpected, s->twiml_start,
	       (unsigned long long)(s->heard_len * 1000 /
				    (s->o->provider == TWILIO ? 8000 : 16000)),
	       s->webhook_retries);
	if (s->result)
		return;
	if (s->o->check_sizes && s->wrong_sizes) {
		fprintf(stderr, "evb-call: %llu frames of the wrong size\n",
			(unsigned long long)s->wrong_sizes);
		s->result = 1;
	}
	if (s->o->check_pacing && (s->gaps < 10 || mean < 19.0 || mean > 21.0 || s->bursts ||
				   s->gap_max_ns > (uint64_t)s->o->max_gap_ms * MS)) {
		fprintf(stderr, "evb-call: pacing off: %llu gaps, mean %.3f ms, max %.3f ms, "
			"%llu bursts\n", (unsigned long long)s->gaps, mean,
			(double)s->gap_max_ns / 1e6, (unsigned long long)s->bursts);
		s->result = 1;
	}
	if (s->frames < (uint64_t)s->o->min_frames) {
		fprintf(stderr, "evb-call: %llu frames received, expected at least %ld\n",
			(unsigned long long)s->frames, s->o->min_frames);
		s->result = 1;
	}
}

static long num(const char *opt, const char *v, long lo, long hi, int *rc)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		fprintf(stderr, "evb-call: %s: expected %ld..%ld, got '%s'\n", opt, lo, hi, v);
		*rc = 100;
	}
	return n;
}

static int parse_dtmf(struct opts *o, const char *v)
{
	const char *p = v;

	while (*p) {
		char *end;
		long at;

		if (o->ndtmf == MAX_DTMF || !strchr("0123456789*#ABCD", *p) || !*p || p[1] != '@')
			return -1;
		at = strtol(p + 2, &end, 10);
		if (end == p + 2 || at < 0 || (*end && *end != ','))
			return -1;
		o->dtmf[o->ndtmf].digit = *p;
		o->dtmf[o->ndtmf++].at_ms = at;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static const char *const modes[] = {
	"bad-signature", "no-signature", "ws-bad-signature", "bad-token", "no-token",
	"malformed-json", "unknown-event", "base64-garbage", "oversized", "binary", "text-audio",
	"second-start", "media-before-start",
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "url", required_argument, NULL, 'u' },
		{ "path", required_argument, NULL, 'P' },
		{ "method", required_argument, NULL, 'M' },
		{ "play", required_argument, NULL, 'w' },
		{ "frame-bytes", required_argument, NULL, 'F' },
		{ "out", required_argument, NULL, 'o' },
		{ "hangup-ms", required_argument, NULL, 'H' },
		{ "linger-ms", required_argument, NULL, 'L' },
		{ "wait-hangup", no_argument, NULL, 'W' },
		{ "dtmf", required_argument, NULL, 'd' },
		{ "call-id", required_argument, NULL, 'c' },
		{ "agent", required_argument, NULL, 'a' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "status-callbacks", no_argument, NULL, 'S' },
		{ "connect-delay-ms", required_argument, NULL, 'D' },
		{ "inject", required_argument, NULL, 'i' },
		{ "check-sizes", no_argument, NULL, 'z' },
		{ "check-pacing", no_argument, NULL, 'g' },
		{ "max-gap-ms", required_argument, NULL, 'G' },
		{ "min-frames", required_argument, NULL, 'n' },
		{ "expect-http", required_argument, NULL, 'e' },
		{ "expect-ws-status", required_argument, NULL, 'E' },
		{ "expect-close", required_argument, NULL, 'C' },
		{ "timeout-s", required_argument, NULL, 'T' },
		{ "ca", required_argument, NULL, 'A' },
		{ "webhook-only", no_argument, NULL, 'O' },
		{ "mark-delay-ms", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;
	size_t i;

	while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->provider = strcmp(optarg, "twilio") == 0   ? TWILIO
				      : strcmp(optarg, "vonage") == 0 ? VONAGE
								      : 0;
			if (!o->provider) {
				fprintf(stderr, "evb-call: --provider: twilio or vonage\n");
				rc = 100;
			}
			break;
		case 'u': o->url = optarg; break;
		case 'P': o->path = optarg; break;
		case 'M': o->method = optarg; break;
		case 'w': o->play = optarg; break;
		case 'F': o->frame_bytes = num("--frame-bytes", optarg, 1, 1600, &rc); break;
		case 'o': o->out = optarg; break;
		case 'H': o->hangup_ms = num("--hangup-ms", optarg, 0, 86400000, &rc); break;
		case 'L': o->linger_ms = num("--linger-ms", optarg, 0, 86400000, &rc); break;
		case 'W': o->wait_hangup = 1; break;
		case 'd':
			if (parse_dtmf(o, optarg) < 0) {
				fprintf(stderr, "evb-call: --dtmf: expected D@MS[,D@MS...]\n");
				rc = 100;
			}
			break;
		case 'c': o->call_id = optarg; break;
		case 'a': o->agent = optarg; break;
		case 'f': o->from = optarg; break;
		case 't': o->to = optarg; break;
		case 'S': o->status_callbacks = 1; break;
		case 'D': o->connect_delay_ms = num("--connect-delay-ms", optarg, 0, 600000, &rc); break;
		case 'i':
			o->inject = optarg;
			for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
				if (strcmp(optarg, modes[i]) == 0)
					break;
			if (i == sizeof(modes) / sizeof(modes[0])) {
				fprintf(stderr, "evb-call: --inject: unknown mode '%s'\n", optarg);
				rc = 100;
			}
			break;
		case 'z': o->check_sizes = 1; break;
		case 'g': o->check_pacing = 1; break;
		case 'G': o->max_gap_ms = num("--max-gap-ms", optarg, 1, 10000, &rc); break;
		case 'n': o->min_frames = num("--min-frames", optarg, 0, 100000000, &rc); break;
		case 'e': o->expect_http = num("--expect-http", optarg, 100, 599, &rc); break;
		case 'E': o->expect_ws_status = num("--expect-ws-status", optarg, 100, 599, &rc); break;
		case 'C': o->expect_close = num("--expect-close", optarg, 1000, 4999, &rc); break;
		case 'T': o->timeout_s = num("--timeout-s", optarg, 1, 86400, &rc); break;
		case 'A': o->ca = optarg; break;
		case 'O': o->webhook_only = 1; break;
		case 'K': o->mark_delay_ms = num("--mark-delay-ms", optarg, 0, 600000, &rc); break;
		default: fprintf(stderr, "usage: %s\n", USAGE); return 100;
		}
	}
	if (rc == 0 && optind != argc) {
		fprintf(stderr, "usage: %s\n", USAGE);
		rc = 100;
	}
	return rc;
}

/* The webhook URL: base, path, and the query evb-api would add. */
static char *webhook_url(const struct opts *o)
{
	struct evb_params *q = evb_params_new();
	char *enc, *url = NULL;
	size_t n;

	if (!q)
		return NULL;
	if (o->call_id)
		evb_params_add(q, "call_id", o->call_id);
	if (o->agent)
		evb_params_add(q, "agent", o->agent);
	enc = evb_params_encode(q);
	evb_params_free(q);
	n = strlen(o->url) + strlen(o->path) + (enc ? strlen(enc) : 0) + 2;
	if (enc && (url = malloc(n)))
		snprintf(url, n, "%s%s%s%s", o->url, o->path, *enc ? "?" : "", enc);
	free(enc);
	return url;
}

int main(int argc, char **argv)
{
	static struct opts o = {
		.provider = TWILIO, .url = "http://127.0.0.1:8080", .hangup_ms = -1,
		.linger_ms = 1000, .timeout_s = 30, .max_gap_ms = 45,
		.from = "+15550001111", .to = "+15550002222",
	};
	static struct sim s;
	const char *lvl = getenv("EVB_LOG_LEVEL");
	char err[EVB_TLS_ERR_MAX], path[PATH_MAX], *url = NULL;
	uint8_t id[EVB_CALLID_LEN];
	int rc;

	evb_log_init("evb-call");
	evb_log_level = lvl ? evb_log_parse_level(lvl) : LOG_WARNING;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-call %s\n", EVB_VERSION);
			return 0;
		}
	}
	if ((rc = parse_opts(argc, argv, &o)) != 0)
		return rc;
	if (!o.path)
		o.path = o.provider == TWILIO ? "/twilio/voice" : "/vonage/answer";
	if (!o.ca)
		o.ca = getenv("EVB_CA_FILE");
	o.twilio_token = getenv("TWILIO_AUTH_TOKEN");
	o.account = getenv("TWILIO_ACCOUNT_SID");
	if (!o.account)
		o.account = "AC00000000000000000000000000000000";
	o.vonage_secret = getenv("VONAGE_SIGNATURE_SECRET");
	if (o.vonage_secret && !*o.vonage_secret)
		o.vonage_secret = NULL;
	if (o.provider == VONAGE && o.from[0] == '+')
		o.from++, o.to += o.to[0] == '+'; /* Vonage numbers have no '+' */
	signal(SIGPIPE, SIG_IGN);
	s.o = &o;
	s.loop = uv_default_loop();
	s.fb = o.frame_bytes ? (size_t)o.frame_bytes : o.provider == TWILIO ? 160 : 640;
	memcpy(s.call_sid, "CA", 2);
	evb_caller_random_hex(s.call_sid + 2, 32);
	memcpy(s.stream_sid, "MZ", 2);
	evb_caller_random_hex(s.stream_sid + 2, 32);
	evb_callid_random(id);
	evb_callid_format(id, s.uuid);
	snprintf(s.conv, sizeof(s.conv), "CON-%s", s.uuid);
	s.tls = evb_tls_client_config_new(o.ca, 0, err, sizeof(err));
	if (!s.tls && o.ca) {
		fprintf(stderr, "evb-call: %s\n", err);
		return 111;
	}
	if (o.out) {
		mkdir(o.out, 0755);
		snprintf(path, sizeof(path), "%s/messages.jsonl", o.out);
		if (!(s.jsonl = fopen(path, "w"))) {
			fprintf(stderr, "evb-call: unable to write '%s': %s\n", path, strerror(errno));
			rc = 111;
		}
	}
	if (rc == 0 && load_audio(&s) < 0)
		rc = 111;
	if (rc == 0 && !(url = webhook_url(&o)))
		rc = 111;
	if (rc == 0) {
		uv_timer_init(s.loop, &s.timer);
		uv_timer_init(s.loop, &s.deadline);
		uv_timer_init(s.loop, &s.retry);
		s.timer.data = s.deadline.data = s.retry.data = &s;
		uv_timer_start(&s.deadline, on_deadline, (uint64_t)o.timeout_s * 1000, 0);
		webhook(&s, url, 1);
		uv_run(s.loop, UV_RUN_DEFAULT);
		write_outputs(&s);
		report(&s);
		rc = s.result;
	}
	uv_loop_close(s.loop);
	if (s.jsonl)
		fclose(s.jsonl);
	json_decref(s.params);
	evb_tls_config_free(s.tls);
	free(s.src);
	free(s.heard);
	free(url);
	return rc;
}
