/* evb-loop: a test stand-in for evb-hume that echoes each caller back. */
#define USAGE                                                                  \
	"evb-loop [--reply-ms MS] [--max-replies N] [--interrupt-after-ms MS] " \
	"[--hangup-after-ms MS] [--log FILE] [--config FILE] [--KEY=value ...]"
#define HELP                                                                       \
	"A TEST STUB, not an AI: it serves EVB_RUN_DIR/hume.sock in place of\n"      \
	"evb-hume and, for each call, collects --reply-ms of the caller's L16 audio\n"\
	"(default 1000), sends it back down as one WAV audio frame, then a control\n"\
	"'assistant_end' flagged END: the caller hears themselves, as an utterance.\n"\
	"\n"                                                                       \
	"  --reply-ms MS            caller audio per reply (default 1000)\n"         \
	"  --max-replies N          echo at most N replies per call (default: no limit)\n"\
	"  --interrupt-after-ms MS  send a control 'interrupt' MS after each reply\n"\
	"  --hangup-after-ms MS     send a control 'hangup' MS after call.prepare\n"\
	"  --log FILE               JSON lines: every control frame received and every\n"\
	"                           reply, interrupt and hangup sent, plus per-call audio\n"\
	"                           counts at call.ended\n"                        \
	"  --config FILE, --KEY=value  settings (EVB_RUN_DIR)\n"                   \
	"  -h, --help, -V, --version\n\n"                                          \
	"Exit status: 0 after SIGTERM or SIGINT, 100 usage, 111 system error.\n"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <uv.h>

#include "evb_callmap.h"
#include "evb_cfg.h"
#include "evb_conn.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_wav.h"

struct lcall {
	uint8_t id[EVB_CALLID_LEN];
	struct evb_conn *conn; /* where the call's frames came from */
	uint32_t rate, seq;
	uint8_t *pcm;          /* collected L16 */
	size_t len, cap;
	int replies;
	uint64_t interrupt_at, hangup_at;
	uint64_t frames, bytes;
};

static struct {
	uv_loop_t *loop;
	struct evb_listener *lis;
	struct evb_callmap *calls;
	uv_timer_t timer;
	uv_signal_t sig[2];
	long reply_ms, max_replies, interrupt_ms, hangup_ms;
	FILE *log;
	int stopping;
	struct evb_conn *conns[16];
} g = { .reply_ms = 1000 };

static void log_line(const uint8_t *id, const char *what, json_t *j)
{
	char cid[EVB_CALLID_STRLEN];
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (g.log) {
		evb_callid_format(id, cid);
		fprintf(g.log, "{\"t_ms\":%llu,\"call_id\":\"%s\",\"%s\":%s}\n",
			(unsigned long long)(evb_now_ns() / 1000000u), cid, what, s ? s : "null");
		fflush(g.log);
	}
	free(s);
}

static void send_down(struct lcall *c, struct evb_frame_hdr *h, const void *payload)
{
	int r;

	h->dir = EVB_DIR_DOWN;
	h->seq = c->seq++;
	h->capture_ns = evb_now_ns();
	memcpy(h->call_id, c->id, EVB_CALLID_LEN);
	r = c->conn ? evb_conn_send(c->conn, h, payload) : -ENOTCONN;
	if (r < 0)
		EVB_LOG(LOG_WARNING, "loop", "unable to send down: %s", evb_strerror(r));
}

static void send_control(struct lcall *c, const char *type, uint16_t flags)
{
	json_t *j = json_pack("{s:s}", "type", type);
	char *s = json_dumps(j, JSON_COMPACT);
	struct evb_frame_hdr h = { .kind = EVB_KIND_CONTROL, .flags = flags };

	h.len = (uint32_t)strlen(s);
	send_down(c, &h, s);
	log_line(c->id, "sent", j);
	free(s);
	json_decref(j);
}

static void reply(struct lcall *c)
{
	uint8_t *wav = malloc(44 + c->len);
	struct evb_frame_hdr h = { .kind = EVB_KIND_AUDIO, .codec = EVB_CODEC_WAV };
	json_t *j;

	if (!wav)
		return;
	evb_wav_header(wav, c->rate, 1, (uint32_t)c->len);
	memcpy(wav + 44, c->pcm, c->len);
	h.rate = c->rate;
	h.len = (uint32_t)(44 + c->len);
	send_down(c, &h, wav);
	free(wav);
	c->replies++;
	j = json_pack("{s:s,s:I}", "type", "reply", "ms", (json_int_t)(c->len / 2 * 1000 / c->rate));
	log_line(c->id, "sent", j);
	json_decref(j);
	send_control(c, "assistant_end", EVB_FLAG_END);
	c->len = 0;
	if (g.interrupt_ms > 0)
		c->interrupt_at = evb_now_ns() + (uint64_t)g.interrupt_ms * 1000000u;
}

static struct lcall *get(const struct evb_frame *f, struct evb_conn *conn)
{
	struct lcall *c = evb_callmap_get(g.calls, f->h.call_id);

	if (!c) {
		if (!(c = calloc(1, sizeof(*c))))
			return NULL;
		memcpy(c->id, f->h.call_id, EVB_CALLID_LEN);
		if (evb_callmap_put(g.calls, c->id, c) < 0) {
			free(c);
			return NULL;
		}
	}
	c->conn = conn;
	return c;
}

static void call_free(struct lcall *c)
{
	evb_callmap_del(g.calls, c->id);
	free(c->pcm);
	free(c);
}

static void audio(struct lcall *c, const struct evb_frame *f)
{
	size_t want;

	c->frames++;
	c->bytes += f->h.len;
	if (f->h.codec != EVB_CODEC_L16 || (g.max_replies > 0 && c->replies >= g.max_replies))
		return;
	if (c->rate != f->h.rate) {
		c->rate = f->h.rate;
		c->len = 0;
	}
	want = (size_t)c->rate * 2 * (size_t)g.reply_ms / 1000;
	if (c->len + f->h.len > c->cap) {
		size_t cap = want + f->h.len;
		uint8_t *p = realloc(c->pcm, cap);
		if (!p)
			return;
		c->pcm = p;
		c->cap = cap;
	}
	memcpy(c->pcm + c->len, f->payload, f->h.len);
	c->len += f->h.len;
	if (c->len >= want)
		reply(c);
}

static void on_frame(struct evb_conn *conn, const struct evb_frame *f, void *arg)
{
	struct lcall *c = get(f, conn);
	json_t *j;
	const char *type;

	(void)arg;
	if (!c)
		return;
	if (f->h.kind == EVB_KIND_AUDIO) {
		audio(c, f);
		return;
	}
	j = json_loadb((const char *)f->payload, f->h.len, 0, NULL);
	type = json_string_value(json_object_get(j, "type"));
	log_line(c->id, "got", j);
	if (type && strcmp(type, "call.prepare") == 0 && g.hangup_ms > 0 && !c->hangup_at)
		c->hangup_at = evb_now_ns() + (uint64_t)g.hangup_ms * 1000000u;
	if (type && strcmp(type, "call.ended") == 0) {
		json_t *a = json_pack("{s:I,s:I}", "frames", (json_int_t)c->frames, "bytes",
				      (json_int_t)c->bytes);
		log_line(c->id, "audio", a);
		json_decref(a);
		call_free(c);
	}
	json_decref(j);
}

static int forget_cb(const uint8_t *id, void *v, void *arg)
{
	struct lcall *c = v;

	(void)id;
	if (c->conn == arg)
		c->conn = NULL;
	return 0;
}

static void on_close(struct evb_conn *conn, int reason, void *arg)
{
	(void)arg;
	EVB_LOG(LOG_INFO, "loop", "'%s' closed: %s", evb_conn_name(conn),
		reason ? evb_strerror(reason) : "end of stream");
	evb_callmap_each(g.calls, forget_cb, conn);
	for (int i = 0; i < 16; i++)
		if (g.conns[i] == conn)
			g.conns[i] = NULL;
}

static void on_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	int i;

	(void)l;
	(void)arg;
	for (i = 0; i < 16 && g.conns[i]; i++)
		;
	EVB_LOG(LOG_INFO, "loop", "'%s' connected", evb_conn_name(c));
	if (i == 16 || evb_conn_start(c, on_frame, on_close, NULL) < 0) {
		evb_conn_close(c);
		return;
	}
	g.conns[i] = c;
}

static int due_cb(const uint8_t *id, void *v, void *arg)
{
	struct lcall *c = v;
	uint64_t now = *(uint64_t *)arg;

	(void)id;
	if (c->interrupt_at && now >= c->interrupt_at) {
		c->interrupt_at = 0;
		send_control(c, "interrupt", 0);
	}
	if (c->hangup_at && now >= c->hangup_at) {
		c->hangup_at = 0;
		send_control(c, "hangup", 0);
	}
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	uint64_t now = evb_now_ns();

	(void)t;
	evb_callmap_each(g.calls, due_cb, &now);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	if (g.stopping++)
		return;
	evb_listener_close(g.lis);
	for (int i = 0; i < 16; i++)
		if (g.conns[i])
			evb_conn_close(g.conns[i]);
	uv_timer_stop(&g.timer);
	uv_close((uv_handle_t *)&g.timer, NULL);
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&g.sig[i], NULL);
}

static int free_cb(const uint8_t *id, void *v, void *arg)
{
	(void)id;
	(void)arg;
	call_free(v);
	return 0;
}

static long num(const char *s, const char *opt, int *rc)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 0 || v > 86400000) {
		fprintf(stderr, "evb-loop: %s: expected a number of ms, got '%s'\n", opt, s);
		*rc = 100;
	}
	return v;
}

static int parse_opts(int argc, char **argv, const char **logpath)
{
	static const struct option opts[] = {
		{ "reply-ms", required_argument, NULL, 'r' },
		{ "max-replies", required_argument, NULL, 'm' },
		{ "interrupt-after-ms", required_argument, NULL, 'i' },
		{ "hangup-after-ms", required_argument, NULL, 'H' },
		{ "log", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': g.reply_ms = num(optarg, "--reply-ms", &rc); break;
		case 'm': g.max_replies = num(optarg, "--max-replies", &rc); break;
		case 'i': g.interrupt_ms = num(optarg, "--interrupt-after-ms", &rc); break;
		case 'H': g.hangup_ms = num(optarg, "--hangup-after-ms", &rc); break;
		case 'l': *logpath = optarg; break;
		default: fprintf(stderr, "usage: %s\n", USAGE); return 100;
		}
	}
	if (rc == 0 && (optind != argc || g.reply_ms < 20)) {
		fprintf(stderr, "usage: %s\n", USAGE);
		return 100;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct evb_cfg *cfg;
	const char *logpath = NULL;
	char err[512], path[PATH_MAX];
	int rc = 0;

	evb_log_init("evb-loop");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-loop %s\n", EVB_VERSION);
			return 0;
		}
	}
	if (!(cfg = evb_cfg_new()))
		return 111;
	if (evb_cfg_from_argv(cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-loop: %s\n", err);
		rc = 100;
	} else {
		rc = parse_opts(argc, argv, &logpath);
	}
	if (rc == 0 && logpath && !(g.log = fopen(logpath, "a"))) {
		fprintf(stderr, "evb-loop: unable to open '%s': %s\n", logpath, strerror(errno));
		rc = 111;
	}
	if (rc == 0) {
		signal(SIGPIPE, SIG_IGN);
		snprintf(path, sizeof(path), "%s/hume.sock", evb_cfg_get(cfg, "EVB_RUN_DIR"));
		g.loop = uv_default_loop();
		g.calls = evb_callmap_new();
		g.lis = g.calls ? evb_listen_unix(g.loop, path, 16, on_accept, NULL) : NULL;
		if (!g.lis) {
			fprintf(stderr, "evb-loop: unable to listen on '%s': %s\n", path,
				strerror(errno));
			rc = 111;
		}
	}
	if (rc == 0) {
		uv_timer_init(g.loop, &g.timer);
		uv_timer_start(&g.timer, on_timer, 10, 10);
		for (int i = 0; i < 2; i++) {
			uv_signal_init(g.loop, &g.sig[i]);
			uv_signal_start(&g.sig[i], on_signal, i ? SIGINT : SIGTERM);
		}
		evb_notify_ready();
		uv_run(g.loop, UV_RUN_DEFAULT);
		uv_walk(g.loop, close_walk, NULL);
		uv_run(g.loop, UV_RUN_DEFAULT);
		uv_loop_close(g.loop);
	}
	if (g.calls) {
		evb_callmap_each(g.calls, free_cb, NULL);
		evb_callmap_free(g.calls);
	}
	if (g.log)
		fclose(g.log);
	evb_cfg_free(cfg);
	return rc;
}
