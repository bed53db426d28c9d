/* evb-load: a load generator for evb-ingress. One process, one libuv loop,
 * N concurrent simulated Twilio calls, each sending 20 ms media frames on an
 * absolute schedule (a WAV prompt in a loop with pauses, so callers speak,
 * pause and barge in over the agent), recording what it hears, and
 * measuring its own lateness so that a saturated generator is never
 * mistaken for a slow bridge. */
#define USAGE                                                                               \
	"evb-load [--calls N] [--url BASE] [--play FILE.wav] [--pause-ms MS] [--duration-s S] " \
	"[--ramp-ms MS] [--timeout-s S] [--agent SLUG] [--json FILE]"
#define HELP                                                                                \
	"Places N simulated Twilio calls at once against evb-ingress: a signed voice\n"        \
	"webhook, the <Connect><Stream> WebSocket with a signed handshake, connected,\n"       \
	"start, then one 160-byte mu-law media message every 20 ms on an absolute\n"           \
	"schedule (the WAV, then --pause-ms of silence, in a loop), marks echoed once\n"       \
	"the audio before them has played, clear honoured; stop after --duration-s.\n\n"      \
	"  --calls N        concurrent calls (default 10)\n"                                   \
	"  --url BASE       evb-ingress (default http://127.0.0.1:8080)\n"                    \
	"  --play FILE      the prompt (any WAV; default: 1 s of 300 Hz tone)\n"                \
	"  --pause-ms MS    silence after each prompt (default 2000)\n"                        \
	"  --duration-s S   how long each call streams (default 20)\n"                         \
	"  --ramp-ms MS     spread the call starts over MS (default 2 ms per call)\n"          \
	"  --timeout-s S    give up after S seconds (default: ramp + duration + 30)\n"        \
	"  --agent SLUG     the agent to ask for (?agent= on the voice webhook)\n"            \
	"  --json FILE      also write the figures as one JSON object\n"                      \
	"  -h, --help, -V, --version\n\n"                                                     \
	"Prints key=value lines: calls set up, failed, frames sent and heard, the\n"          \
	"generator's own lateness (gen_late_*; generator_ok=0 when a tick was over\n"        \
	"20 ms late, and then nothing it measured can be trusted), gaps between\n"          \
	"received frames within utterances (p50/p99/max, and how many over 40 ms),\n"      \
	"clears, barge-in to clear, start to first agent audio, and realtime=1 when\n"     \
	"no call failed and no gap was over 40 ms. Exit status: 0 ok (every call ran),\n"  \
	"1 some call failed, 100 usage, 111 system error. TWILIO_AUTH_TOKEN signs.\n"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>
#include "evb_b64.h"

#include "evb_caller.h"
#include "evb_frame.h"
#include "evb_err.h"
#include "evb_g711.h"
#include "evb_httpc.h"
#include "evb_log.h"
#include "evb_tls.h"
#include "evb_twilio.h"
#include "evb_util.h"
#include "evb_wav.h"
#include "evb_ws.h"

#define MS 1000000ull
#define FRAME 160        /* mu-law bytes per 20 ms at 8 kHz */
#define MAX_MARKS 32
#define HIST_US 10       /* histogram resolution */
#define HIST_N 100000    /* up to 1 s */
#define UTTER_GAP_MS 400 /* a longer pause between frames starts a new utterance */
#define SPEECH_PEAK 2000 /* a frame this loud (linear peak) counts as agent speech */

struct opts {
	long calls, pause_ms, duration_s, ramp_ms, timeout_s;
	const char *url, *play, *json, *token, *account, *agent;
};

/* A latency histogram: HIST_US buckets up to 1 s, then one overflow. */
struct hist {
	uint32_t b[HIST_N + 1];
	uint64_t n;
	uint64_t max_ns;
};

struct load;

struct call {
	struct load *l;
	int idx, state; /* 0 idle, 1 webhook, 2 connecting, 3 streaming, 4 done */
	int failed, hung_up;
	struct evb_ws *ws;
	struct evb_httpc *req;
	uv_timer_t timer;
	char call_sid[40], stream_sid[40];
	char ws_url[EVB_TWIML_STR_MAX];
	char *start_params; /* customParameters as JSON */
	uint64_t start_ns, next_ns, end_ns, first_audio_ns, last_rx_ns, play_end_ns;
	uint64_t speech_ns; /* when the current prompt started while agent audio played */
	size_t src_off;
	uint32_t seq, chunk;
	int gap_valid;
	struct { uint64_t due_ns; char name[64]; } marks[MAX_MARKS];
	int nmarks;
	uint64_t sent, heard, wrong, clears;
};

struct load {
	const struct opts *o;
	uv_loop_t *loop;
	struct call *calls;
	uint8_t *src; /* one loop of the prompt: WAV then pause, mu-law */
	size_t src_len;
	char *webhook_url;
	int live; /* calls not yet done */
	uint64_t t0_ns;
	/* aggregate figures */
	uint64_t setup_ok, failed, sent, heard, wrong, clears, marks, gaps, gaps_over_40;
	uint64_t gen_late_over_5, gen_late_over_20, ticks, call_ns;
	struct hist gap, late, first, barge;
	uv_timer_t deadline;
};

static void call_finish(struct call *c, int failed);
static void on_tick(uv_timer_t *t);

static void hist_add(struct hist *h, uint64_t ns)
{
	uint64_t i = ns / (HIST_US * 1000ull);

	h->b[i < HIST_N ? i : HIST_N]++;
	h->n++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* The q-quantile in ms (the upper bound of its bucket), or 0 when empty. */
static double hist_q(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)h->n), acc = 0;

	if (!h->n)
		return 0;
	if (want < 1)
		want = 1;
	for (size_t i = 0; i <= HIST_N; i++) {
		acc += h->b[i];
		if (acc >= want)
			return i == HIST_N ? (double)h->max_ns / 1e6 : (double)(i + 1) * HIST_US / 1000.0;
	}
	return (double)h->max_ns / 1e6;
}

/* ---- the media socket ---- */

static void send_text(struct call *c, const char *t, size_t n)
{
	if (c->ws && evb_ws_send(c->ws, EVB_WS_TEXT, t, n) < 0)
		c->failed = 1;
}

static void send_media(struct call *c, const uint8_t *p)
{
	char b64[EVB_B64_ENC_LEN(FRAME) + 1], msg[512];
	int n;

	b64[evb_b64_encode(b64, p, FRAME)] = '\0';
	n = snprintf(msg, sizeof(msg),
		     "{\"event\":\"media\",\"sequenceNumber\":\"%u\",\"media\":{\"track\":\"inbound\","
		     "\"chunk\":\"%u\",\"timestamp\":\"%u\",\"payload\":\"%s\"},\"streamSid\":\"%s\"}",
		     ++c->seq, c->chunk + 1, c->chunk * 20, b64, c->stream_sid);
	c->chunk++;
	send_text(c, msg, (size_t)n);
	c->sent++;
}

static void hang_up(struct call *c)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "{\"event\":\"stop\",\"sequenceNumber\":\"%u\",\"streamSid\":\"%s\","
			 "\"stop\":{\"accountSid\":\"%s\",\"callSid\":\"%s\"}}",
			 ++c->seq, c->stream_sid, c->l->o->account, c->call_sid);

	send_text(c, msg, (size_t)n);
	c->hung_up = 1;
	evb_ws_close(c->ws, 1000, "caller hung up");
}

static void on_tick(uv_timer_t *t)
{
	struct call *c = t->data;
	struct load *l = c->l;
	uint64_t now = evb_now_ns();

	if (!c->ws || c->hung_up)
		return;
	l->ticks++;
	hist_add(&l->late, now > c->next_ns ? now - c->next_ns : 0);
	if (now > c->next_ns + 5 * MS)
		l->gen_late_over_5++;
	if (now > c->next_ns + 20 * MS)
		l->gen_late_over_20++;
	while (c->nmarks > 0 && c->marks[0].due_ns <= now) {
		char msg[192];
		int n = snprintf(msg, sizeof(msg),
				 "{\"event\":\"mark\",\"sequenceNumber\":\"%u\",\"streamSid\":\"%s\","
				 "\"mark\":{\"name\":\"%s\"}}",
				 ++c->seq, c->stream_sid, c->marks[0].name);
		send_text(c, msg, (size_t)n);
		l->marks++;
		memmove(c->marks, c->marks + 1, sizeof(c->marks[0]) * (size_t)--c->nmarks);
	}
	if (now >= c->end_ns) {
		hang_up(c);
		return;
	}
	/* Catch up on missed frames (a late generator still sends them all). */
	while (c->next_ns <= now) {
		if (c->src_off == 0 && c->play_end_ns > now)
			c->speech_ns = now; /* speaking over the agent: a barge-in */
		send_media(c, l->src + c->src_off);
		c->src_off += FRAME;
		if (c->src_off + FRAME > l->src_len)
			c->src_off = 0;
		c->next_ns += 20 * MS;
	}
	uv_timer_start(&c->timer, on_tick, (c->next_ns - now + MS - 1) / MS, 0);
}

static void heard_media(struct call *c, uint64_t now, const uint8_t *p, size_t len)
{
	struct load *l = c->l;
	int16_t pcm[FRAME];
	int peak = 0;

	c->heard++;
	if (len != FRAME)
		c->wrong++;
	if (!c->first_audio_ns && len == FRAME) {
		evb_ulaw_decode(p, pcm, FRAME);
		for (int i = 0; i < FRAME; i++)
			peak = abs(pcm[i]) > peak ? abs(pcm[i]) : peak;
		if (peak >= SPEECH_PEAK) {
			c->first_audio_ns = now;
			hist_add(&l->first, now - c->start_ns);
		}
	}
	if (c->gap_valid && now - c->last_rx_ns < UTTER_GAP_MS * MS) {
		uint64_t gap = now - c->last_rx_ns;
		l->gaps++;
		hist_add(&l->gap, gap);
		if (gap > 40 * MS)
			l->gaps_over_40++;
	}
	c->gap_valid = 1;
	c->last_rx_ns = now;
	c->play_end_ns = (c->play_end_ns > now ? c->play_end_ns : now) + 20 * MS;
}

static void on_message(struct evb_ws *ws, int kind, const uint8_t *data, size_t len, void *arg)
{
	static uint8_t buf[4096];
	struct call *c = arg;
	struct evb_twilio_msg m;
	uint64_t now = evb_now_ns();

	(void)ws;
	if (kind != EVB_WS_TEXT ||
	    evb_twilio_msg_parse(data, len, buf, sizeof(buf), &m, NULL, 0) < 0) {
		c->wrong++;
		return;
	}
	if (m.event == EVB_TWILIO_MEDIA) {
		heard_media(c, now, m.payload, m.payload_len);
	} else if (m.event == EVB_TWILIO_MARK && m.mark) {
		c->gap_valid = 0;
		if (c->nmarks < MAX_MARKS) {
			c->marks[c->nmarks].due_ns = c->play_end_ns > now ? c->play_end_ns : now;
			snprintf(c->marks[c->nmarks++].name, sizeof(c->marks[0].name), "%s", m.mark);
		}
	} else if (m.event == EVB_TWILIO_CLEAR) {
		c->clears++;
		c->gap_valid = 0;
		c->play_end_ns = now;
		for (int i = 0; i < c->nmarks; i++)
			c->marks[i].due_ns = now;
		if (c->speech_ns) {
			hist_add(&c->l->barge, now - c->speech_ns);
			c->speech_ns = 0;
		}
	}
	evb_twilio_msg_release(&m);
}

static void on_open(struct evb_ws *ws, void *arg)
{
	static const char connected[] =
		"{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}";
	struct call *c = arg;
	char msg[2048];
	int n;

	(void)ws;
	c->state = 3;
	c->l->setup_ok++;
	c->start_ns = evb_now_ns();
	c->end_ns = c->start_ns + (uint64_t)c->l->o->duration_s * 1000 * MS;
	c->next_ns = c->start_ns;
	send_text(c, connected, sizeof(connected) - 1);
	n = snprintf(msg, sizeof(msg),
		     "{\"event\":\"start\",\"sequenceNumber\":\"%u\",\"start\":{\"accountSid\":\"%s\","
		     "\"streamSid\":\"%s\",\"callSid\":\"%s\",\"tracks\":[\"inbound\"],"
		     "\"customParameters\":%s,\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\","
		     "\"sampleRate\":8000,\"channels\":1}},\"streamSid\":\"%s\"}",
		     ++c->seq, c->l->o->account, c->stream_sid, c->call_sid,
		     c->start_params ? c->start_params : "{}", c->stream_sid);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		call_finish(c, 1);
		return;
	}
	send_text(c, msg, (size_t)n);
	on_tick(&c->timer);
}

static void on_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	struct call *c = arg;

	(void)ws;
	c->ws = NULL;
	if (!c->hung_up && c->state != 4)
		fprintf(stderr, "evb-load: call %d: media socket closed (%d %s, HTTP %d)\n", c->idx,
			code, reason, evb_ws_http_status(ws));
	call_finish(c, !c->hung_up);
}

/* ---- the webhook ---- */

static void on_webhook(struct evb_httpc *h, int err, void *arg)
{
	static struct evb_twiml t; /* large: callbacks run one at a time */
	struct call *c = arg;
	const char *body;
	size_t len = 0;
	char hdr[128], sig[EVB_TWILIO_SIG_LEN];
	json_t *p;

	c->req = NULL;
	if (err || evb_httpc_status(h) != 200) {
		fprintf(stderr, "evb-load: call %d: webhook: %s (HTTP %d)\n", c->idx,
			err ? evb_httpc_errstr(h) : "refused", err ? 0 : evb_httpc_status(h));
		call_finish(c, 1);
		return;
	}
	body = (const char *)evb_httpc_body(h, &len);
	if (evb_twiml_parse(body, len, &t) < 0 || !t.has_connect || !t.stream_url[0]) {
		fprintf(stderr, "evb-load: call %d: the answer has no <Connect><Stream>\n", c->idx);
		call_finish(c, 1);
		return;
	}
	snprintf(c->ws_url, sizeof(c->ws_url), "%s", t.stream_url);
	p = json_object();
	for (size_t i = 0; p && i < t.nparams; i++)
		json_object_set_new(p, t.names[i], json_string(t.values[i]));
	c->start_params = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	evb_twilio_signature(c->l->o->token, c->ws_url, NULL, sig);
	snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sig);
	c->state = 2;
	c->ws = evb_ws_connect(c->l->loop, c->ws_url, NULL, hdr, 10000, on_open, on_message,
			       on_close, c);
	if (!c->ws) {
		fprintf(stderr, "evb-load: call %d: unable to connect: %s\n", c->idx, strerror(errno));
		call_finish(c, 1);
	}
}

static void call_start(uv_timer_t *t)
{
	struct call *c = t->data;
	const struct opts *o = c->l->o;
	struct evb_params *p = evb_params_new();
	char sig[EVB_TWILIO_SIG_LEN], *enc = NULL;

	c->state = 1;
	memcpy(c->call_sid, "CA", 2);
	evb_caller_random_hex(c->call_sid + 2, 32);
	memcpy(c->stream_sid, "MZ", 2);
	evb_caller_random_hex(c->stream_sid + 2, 32);
	if (p) {
		evb_params_add(p, "CallSid", c->call_sid);
		evb_params_add(p, "AccountSid", o->account);
		evb_params_add(p, "From", "+15550001111");
		evb_params_add(p, "To", "+15550002222");
		evb_params_add(p, "CallStatus", "ringing");
		evb_params_add(p, "Direction", "inbound");
		evb_params_add(p, "ApiVersion", "2010-04-01");
		enc = evb_params_encode(p);
	}
	c->req = enc ? evb_httpc_new(c->l->loop, "POST", c->l->webhook_url) : NULL;
	if (c->req)
		evb_httpc_set_timeouts(c->req, 10000, 20000);
	if (!c->req || evb_twilio_signature(o->token, c->l->webhook_url, p, sig) < 0 ||
	    evb_httpc_add_header(c->req, "X-Twilio-Signature", sig) < 0 ||
	    evb_httpc_set_body(c->req, "application/x-www-form-urlencoded", enc, strlen(enc)) < 0 ||
	    evb_httpc_start(c->req, on_webhook, c) < 0) {
		fprintf(stderr, "evb-load: call %d: unable to send the webhook\n", c->idx);
		evb_httpc_free(c->req);
		c->req = NULL;
		call_finish(c, 1);
	}
	evb_params_free(p);
	free(enc);
}

static void call_finish(struct call *c, int failed)
{
	struct load *l = c->l;

	if (c->state == 4)
		return;
	if (c->start_ns)
		l->call_ns += evb_now_ns() - c->start_ns;
	c->state = 4;
	uv_timer_stop(&c->timer);
	if (c->req)
		evb_httpc_free(c->req);
	c->req = NULL;
	if (c->ws)
		evb_ws_free(c->ws);
	c->ws = NULL;
	c->failed |= failed;
	l->failed += (uint64_t)c->failed;
	l->sent += c->sent;
	l->heard += c->heard;
	l->wrong += c->wrong;
	l->clears += c->clears;
	if (--l->live == 0) {
		uv_timer_stop(&l->deadline);
		uv_stop(l->loop);
	}
}

static void on_deadline(uv_timer_t *t)
{
	struct load *l = t->data;

	fprintf(stderr, "evb-load: timed out with %d calls still running\n", l->live);
	for (long i = 0; i < l->o->calls; i++)
		call_finish(&l->calls[i], 1);
}

/* ---- setup and report ---- */

/* The prompt as mu-law at 8 kHz plus the pause, padded to whole frames. */
static int load_prompt(struct load *l)
{
	size_t pause = (size_t)l->o->pause_ms * 8, total, len = 0;
	uint8_t *buf, *pcm = NULL;
	int e;

	if (l->o->play) {
		if ((e = evb_file_read(l->o->play, 64u << 20, &buf, &len)) < 0) {
			fprintf(stderr, "evb-load: unable to read '%s': %s\n", l->o->play,
				evb_strerror(e));
			return -1;
		}
		e = evb_caller_convert(buf, len, EVB_CODEC_ULAW, 8000, &pcm, &len);
		free(buf);
		if (e < 0) {
			fprintf(stderr, "evb-load: '%s': %s\n", l->o->play, evb_strerror(e));
			return -1;
		}
	} else {
		int16_t tone[8000];
		for (int i = 0; i < 8000; i++)
			tone[i] = (int16_t)(12000 * sin(2 * M_PI * 300 * i / 8000.0));
		if (!(pcm = malloc(sizeof(tone) / 2)))
			return -1;
		evb_ulaw_encode(tone, pcm, 8000);
		len = 8000;
	}
	total = (len + pause + FRAME - 1) / FRAME * FRAME;
	if (total < FRAME)
		total = FRAME;
	if (!(l->src = malloc(total))) {
		free(pcm);
		return -1;
	}
	memcpy(l->src, pcm, len);
	memset(l->src + len, 0xff, total - len);
	l->src_len = total;
	free(pcm);
	return 0;
}

static void report(struct load *l, double wall_s)
{
	double call_s = (double)l->call_ns / 1e9;
	int realtime = l->failed == 0 && l->gaps_over_40 == 0;
	int generator_ok = l->gen_late_over_20 == 0;
	struct rusage ru;
	double gen_cpu_ms = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		gen_cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	FILE *f;

#define FIGURES(X)                                                                          \
	X("calls", "%ld", l->o->calls)                                                       \
	X("setup_ok", "%llu", (unsigned long long)l->setup_ok)                               \
	X("failed", "%llu", (unsigned long long)l->failed)                                   \
	X("wall_s", "%.3f", wall_s)                                                          \
	X("call_seconds", "%.3f", call_s)                                                    \
	X("frames_sent", "%llu", (unsigned long long)l->sent)                                \
	X("frames_heard", "%llu", (unsigned long long)l->heard)                              \
	X("wrong_frames", "%llu", (unsigned long long)l->wrong)                              \
	X("gen_ticks", "%llu", (unsigned long long)l->ticks)                                 \
	X("gen_cpu_ms", "%.1f", gen_cpu_ms)                                                  \
	X("gen_late_p50_ms", "%.3f", hist_q(&l->late, 0.5))                                  \
	X("gen_late_p99_ms", "%.3f", hist_q(&l->late, 0.99))                                 \
	X("gen_late_max_ms", "%.3f", (double)l->late.max_ns / 1e6)                           \
	X("gen_late_over_5ms", "%llu", (unsigned long long)l->gen_late_over_5)               \
	X("gen_late_over_20ms", "%llu", (unsigned long long)l->gen_late_over_20)             \
	X("gaps", "%llu", (unsigned long long)l->gaps)                                       \
	X("gap_p50_ms", "%.3f", hist_q(&l->gap, 0.5))                                        \
	X("gap_p99_ms", "%.3f", hist_q(&l->gap, 0.99))                                       \
	X("gap_max_ms", "%.3f", (double)l->gap.max_ns / 1e6)                                 \
	X("gaps_over_40ms", "%llu", (unsigned long long)l->gaps_over_40)                     \
	X("marks_echoed", "%llu", (unsigned long long)l->marks)                              \
	X("clears", "%llu", (unsigned long long)l->clears)                                   \
	X("bargein_n", "%llu", (unsigned long long)l->barge.n)                               \
	X("bargein_to_clear_p50_ms", "%.3f", hist_q(&l->barge, 0.5))                         \
	X("bargein_to_clear_p99_ms", "%.3f", hist_q(&l->barge, 0.99))                        \
	X("first_audio_n", "%llu", (unsigned long long)l->first.n)                           \
	X("first_audio_p50_ms", "%.3f", hist_q(&l->first, 0.5))                              \
	X("first_audio_p99_ms", "%.3f", hist_q(&l->first, 0.99))                             \
	X("generator_ok", "%d", generator_ok)                                                \
	X("realtime", "%d", realtime)
#define KV(k, fmt, v) printf(k "=" fmt "\n", v);
#define JS(k, fmt, v) fprintf(f, "%s\"" k "\":" fmt, first ? "" : ",", v), first = 0;
	FIGURES(KV)
	if (l->o->json && (f = fopen(l->o->json, "w"))) {
		int first = 1;
		fputc('{', f);
		FIGURES(JS)
		fputs("}\n", f);
		fclose(f);
	}
#undef KV
#undef JS
#undef FIGURES
}

static long num(const char *opt, const char *v, long lo, long hi, int *rc)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		fprintf(stderr, "evb-load: %s: expected %ld..%ld, got '%s'\n", opt, lo, hi, v);
		*rc = 100;
	}
	return n;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'n' },
		{ "url", required_argument, NULL, 'u' },
		{ "play", required_argument, NULL, 'w' },
		{ "pause-ms", required_argument, NULL, 'p' },
		{ "duration-s", required_argument, NULL, 'd' },
		{ "ramp-ms", required_argument, NULL, 'r' },
		{ "timeout-s", required_argument, NULL, 'T' },
		{ "json", required_argument, NULL, 'j' },
		{ "agent", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o->calls = num("--calls", optarg, 1, 100000, &rc); break;
		case 'u': o->url = optarg; break;
		case 'w': o->play = optarg; break;
		case 'p': o->pause_ms = num("--pause-ms", optarg, 0, 600000, &rc); break;
		case 'd': o->duration_s = num("--duration-s", optarg, 1, 86400, &rc); break;
		case 'r': o->ramp_ms = num("--ramp-ms", optarg, 0, 3600000, &rc); break;
		case 'T': o->timeout_s = num("--timeout-s", optarg, 1, 86400, &rc); break;
		case 'j': o->json = optarg; break;
		case 'a':
			o->agent = optarg;
			if (!*optarg || strspn(optarg, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
						strlen(optarg) || strlen(optarg) > 64) {
				fprintf(stderr, "evb-load: --agent: expected a slug ([a-z0-9_-]), got "
					"'%s'\n", optarg);
				rc = 100;
			}
			break;
		default: fprintf(stderr, "usage: %s\n", USAGE); return 100;
		}
	}
	if (rc == 0 && optind != argc) {
		fprintf(stderr, "usage: %s\n", USAGE);
		rc = 100;
	}
	return rc;
}

int main(int argc, char **argv)
{
	static struct opts o = {
		.calls = 10, .pause_ms = 2000, .duration_s = 20, .ramp_ms = -1, .timeout_s = 0,
		.url = "http://127.0.0.1:8080",
	};
	static struct load l;
	const char *lvl = getenv("EVB_LOG_LEVEL");
	size_t n;
	int rc;

	evb_log_init("evb-load");
	evb_log_level = lvl ? evb_log_parse_level(lvl) : LOG_WARNING;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-load %s\n", EVB_VERSION);
			return 0;
		}
	}
	if ((rc = parse_opts(argc, argv, &o)) != 0)
		return rc;
	if (o.ramp_ms < 0)
		o.ramp_ms = 2 * o.calls;
	if (!o.timeout_s)
		o.timeout_s = o.ramp_ms / 1000 + o.duration_s + 30;
	o.token = getenv("TWILIO_AUTH_TOKEN");
	if (!o.token)
		o.token = "";
	o.account = getenv("TWILIO_ACCOUNT_SID");
	if (!o.account)
		o.account = "AC00000000000000000000000000000000";
	signal(SIGPIPE, SIG_IGN);
	l.o = &o;
	l.loop = uv_default_loop();
	n = strlen(o.url) + sizeof("/twilio/voice?agent=") + (o.agent ? strlen(o.agent) : 0);
	if (!(l.webhook_url = malloc(n)) || !(l.calls = calloc((size_t)o.calls, sizeof(*l.calls))) ||
	    load_prompt(&l) < 0) {
		fprintf(stderr, "evb-load: unable to set up: %s\n", strerror(errno ? errno : ENOMEM));
		rc = 111;
		goto out;
	}
	snprintf(l.webhook_url, n, "%s/twilio/voice%s%s", o.url, o.agent ? "?agent=" : "",
		 o.agent ? o.agent : "");
	l.live = (int)o.calls;
	l.t0_ns = evb_now_ns();
	uv_timer_init(l.loop, &l.deadline);
	l.deadline.data = &l;
	uv_timer_start(&l.deadline, on_deadline, (uint64_t)o.timeout_s * 1000, 0);
	for (long i = 0; i < o.calls; i++) {
		struct call *c = &l.calls[i];

		c->l = &l;
		c->idx = (int)i;
		uv_timer_init(l.loop, &c->timer);
		c->timer.data = c;
		/* Stagger starts, and the prompts: callers don't speak in unison. */
		uv_timer_start(&c->timer, call_start, (uint64_t)(o.ramp_ms * i / o.calls), 0);
		c->src_off = (size_t)(i * 7) % (l.src_len / FRAME) * FRAME;
	}
	uv_run(l.loop, UV_RUN_DEFAULT);
	report(&l, (double)(evb_now_ns() - l.t0_ns) / 1e9);
	rc = l.failed ? 1 : 0;
	for (long i = 0; i < o.calls; i++) {
		uv_close((uv_handle_t *)&l.calls[i].timer, NULL);
		free(l.calls[i].start_params);
	}
	uv_close((uv_handle_t *)&l.deadline, NULL);
	uv_run(l.loop, UV_RUN_DEFAULT); /* close callbacks, and the freed sockets' */
out:
	uv_loop_close(l.loop);
	free(l.calls);
	free(l.src);
	free(l.webhook_url);
	return rc;
}
