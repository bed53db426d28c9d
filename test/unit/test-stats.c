/* evb_stats: the registry and its exact text, the unix-socket server and
 * client on a real loop, and the merger of several processes' texts. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_stats.h"
#include "tap.h"

static void test_registry(void)
{
	static const double b[] = { 0.005, 0.1, 1 };
	struct evb_stats *s = evb_stats_new();
	struct evb_metric *c1, *c2, *g, *h;
	char lab[64], *text;
	size_t len;

	c1 = evb_stats_counter(s, "evb_frames_total", "dir=\"in\"", "Frames handled.");
	c2 = evb_stats_counter(s, "evb_frames_total", "dir=\"out\"", "ignored");
	ok(c1 && c2 && c1 != c2, "two series of one counter");
	ok(evb_stats_counter(s, "evb_frames_total", "dir=\"in\"", NULL) == c1,
	   "the same name and labels give the same metric");
	ok(evb_stats_gauge(s, "evb_frames_total", NULL, NULL) == NULL && errno == EINVAL,
	   "one name has one type");
	ok(evb_stats_counter(s, "9bad", NULL, NULL) == NULL && errno == EINVAL,
	   "a bad name is refused");
	ok(evb_stats_counter(s, "evb_x", "a=unquoted", NULL) == NULL && errno == EINVAL,
	   "bad labels are refused");
	ok(evb_stats_histogram(s, "evb_h", NULL, NULL, (const double[]){ 2, 1 }, 2) == NULL,
	   "bounds must increase");
	evb_metric_add(c1, 3);
	evb_metric_add(c1, -1);
	evb_metric_add(c2, 1e6);
	is_int((long long)evb_metric_value(c1), 3, "a counter ignores negative steps");
	g = evb_stats_gauge(s, "evb_active_calls", NULL, "Calls in progress.");
	evb_metric_set(g, 2);
	evb_metric_add(g, -1);
	is_int((long long)evb_metric_value(g), 1, "a gauge goes up and down");
	ok(evb_stats_label(lab, sizeof(lab), "stage", "a\"b\\c\nd") > 0, "label formatted");
	is_str(lab, "stage=\"a\\\"b\\\\c\\nd\"", "label values are escaped");
	ok(evb_stats_label(lab, 8, "stage", "long value") == -ENOBUFS, "label too long: -ENOBUFS");
	h = evb_stats_histogram(s, "evb_hop_seconds", "hop=\"transcode\"", "Hop latency.", b, 3);
	evb_metric_observe(h, 0.001);
	evb_metric_observe(h, 0.05);
	evb_metric_observe(h, 0.1);
	evb_metric_observe(h, 5);
	evb_metric_add(NULL, 1);
	evb_metric_observe(NULL, 1);
	text = evb_stats_render(s, &len);
	is_str(text,
	       "# HELP evb_frames_total Frames handled.\n"
	       "# TYPE evb_frames_total counter\n"
	       "evb_frames_total{dir=\"in\"} 3\n"
	       "evb_frames_total{dir=\"out\"} 1000000\n"
	       "# HELP evb_active_calls Calls in progress.\n"
	       "# TYPE evb_active_calls gauge\n"
	       "evb_active_calls 1\n"
	       "# HELP evb_hop_seconds Hop latency.\n"
	       "# TYPE evb_hop_seconds histogram\n"
	       "evb_hop_seconds_bucket{hop=\"transcode\",le=\"0.005\"} 1\n"
	       "evb_hop_seconds_bucket{hop=\"transcode\",le=\"0.1\"} 3\n"
	       "evb_hop_seconds_bucket{hop=\"transcode\",le=\"1\"} 3\n"
	       "evb_hop_seconds_bucket{hop=\"transcode\",le=\"+Inf\"} 4\n"
	       "evb_hop_seconds_sum{hop=\"transcode\"} 5.151\n"
	       "evb_hop_seconds_count{hop=\"transcode\"} 4\n",
	       "the text is exactly the exposition format");
	ok(text && len == strlen(text), "length returned");
	free(text);
	evb_stats_free(s);
}

static int hook_runs;

static void hook(struct evb_stats *s, void *arg)
{
	hook_runs++;
	evb_metric_set(evb_stats_gauge(s, "evb_queue_depth", NULL, NULL), *(double *)arg);
}

/* ---- server and client on a loop ---- */

struct got {
	int err, n;
	char *text;
};

static void got_cb(int err, const char *text, size_t len, void *arg)
{
	struct got *g = arg;

	g->n++;
	g->err = err;
	g->text = text ? strndup(text, len) : NULL;
}

static void silent_accept(uv_stream_t *server, int status)
{
	uv_pipe_t *c = malloc(sizeof(*c));

	(void)status;
	uv_pipe_init(server->loop, c, 0);
	uv_accept(server, (uv_stream_t *)c);
	server->data = c; /* kept open, never written to */
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

/* A counter read from the daemon's own variable at each render. */
static void test_counter_of(void)
{
	struct evb_stats *s = evb_stats_new();
	uint64_t frames = 0;
	struct evb_metric *m = evb_stats_counter_of(s, "evb_mirror_total", "dir=\"up\"",
						    "Frames counted elsewhere.", &frames);
	char *text;
	size_t len;

	ok(m != NULL, "a mirrored counter is created");
	frames = 41;
	frames++;
	is_int((long long)evb_metric_value(m), 42, "its value is the variable's");
	text = evb_stats_render(s, &len);
	ok(text && strstr(text, "evb_mirror_total{dir=\"up\"} 42\n") &&
		   strstr(text, "# TYPE evb_mirror_total counter\n"),
	   "rendered as a counter with the variable's current value");
	free(text);
	evb_stats_free(s);
}

static void test_server(void)
{
	uv_loop_t loop;
	struct evb_stats *s = evb_stats_new();
	struct evb_stats_server *srv;
	struct got a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	char dir[] = "/tmp/evb-stats-XXXXXX", path[128], silent[128], junk[128];
	double depth = 7;
	uv_pipe_t quiet;
	FILE *f;

	uv_loop_init(&loop);
	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof(path), "%s/test.metrics", dir);
	snprintf(silent, sizeof(silent), "%s/silent.metrics", dir);
	snprintf(junk, sizeof(junk), "%s/file.metrics", dir);
	evb_stats_on_render(s, hook, &depth);
	srv = evb_stats_serve(&loop, s, path);
	ok(srv != NULL, "serving on a unix socket");
	ok(evb_stats_serve(&loop, s, path) == NULL && errno == EADDRINUSE,
	   "a socket in use is not taken over");
	f = fopen(junk, "w");
	fclose(f);
	ok(evb_stats_serve(&loop, s, junk) == NULL && errno == EEXIST,
	   "a plain file is left alone");
	uv_pipe_init(&loop, &quiet, 0);
	uv_pipe_bind(&quiet, silent);
	uv_listen((uv_stream_t *)&quiet, 4, silent_accept);
	quiet.data = NULL;

	ok(evb_stats_fetch(&loop, path, 2000, 0, got_cb, &a) == 0, "fetch started");
	ok(evb_stats_fetch(&loop, path, 2000, 10, got_cb, &b) == 0, "capped fetch started");
	ok(evb_stats_fetch(&loop, silent, 100, 0, got_cb, &c) == 0, "fetch of a silent one");
	ok(evb_stats_fetch(&loop, "/nonexistent/x.metrics", 100, 0, got_cb, &d) == 0,
	   "fetch of a missing one");
	while (a.n + b.n + c.n + d.n < 4 && uv_run(&loop, UV_RUN_ONCE))
		;
	is_int(a.err, 0, "text read until EOF");
	is_str(a.text, "# TYPE evb_queue_depth gauge\nevb_queue_depth 7\n",
	       "the render hook ran before rendering");
	is_int(b.err, EVB_ETOOBIG, "over the cap: EVB_ETOOBIG");
	is_int(c.err, -ETIMEDOUT, "no answer: -ETIMEDOUT");
	ok(d.err == -ENOENT, "no socket: -ENOENT");
	ok(a.n == 1 && b.n == 1 && c.n == 1 && d.n == 1, "each callback ran once");
	/* The EADDRINUSE probe above was a client too. */
	is_int(hook_runs, 3, "one render per client");

	evb_stats_server_close(srv);
	ok(access(path, F_OK) != 0, "the socket file is removed");
	if (quiet.data)
		uv_close((uv_handle_t *)quiet.data, free_cb);
	uv_close((uv_handle_t *)&quiet, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&loop), 0, "every handle was closed");
	unlink(silent);
	unlink(junk);
	rmdir(dir);
	free(a.text);
	evb_stats_free(s);
}

static void test_merge(void)
{
	struct evb_stats_merge *m = evb_stats_merge_new(0);
	const char *ingress = "# HELP evb_frames_total Frames.\n"
			      "# TYPE evb_frames_total counter\n"
			      "evb_frames_total{dir=\"in\"} 10\n"
			      "# TYPE evb_hop_seconds histogram\n"
			      "evb_hop_seconds_bucket{le=\"0.1\"} 1\n"
			      "evb_hop_seconds_bucket{le=\"+Inf\"} 2\n"
			      "evb_hop_seconds_sum 0.3\n"
			      "evb_hop_seconds_count 2\n";
	const char *hume = "# HELP evb_frames_total Other help.\n"
			   "# TYPE evb_frames_total counter\n"
			   "evb_frames_total{dir=\"in\"} 4 1700000000000\r\n"
			   "# TYPE evb_hop_seconds gauge\n"
			   "evb_hop_seconds 9\n"
			   "garbage line\n"
			   "evb_bad{a=\"x} 1\n"
			   "evb_nan NaN\n"
			   "evb_own{process=\"mine\"} 1\n"
			   "evb_frames_total 1 2 3\n";
	char *text;
	size_t len;

	is_int(evb_stats_merge_add(m, ingress, strlen(ingress), "ingress"), 0,
	       "a clean text adds with nothing dropped");
	is_int(evb_stats_merge_add(m, hume, strlen(hume), "hume"), 5,
	       "type conflict and malformed lines dropped");
	is_int(evb_stats_merge_add(m, "evb_calls{provider=\"twilio\"} 3\n", 31, NULL), 0,
	       "a source without a process label");
	is_int(evb_stats_merge_add(m, "evb_nul 1\0\n", 11, "x"), 1,
	       "a line with a NUL byte is dropped");
	text = evb_stats_merge_render(m, &len);
	is_str(text,
	       "# HELP evb_frames_total Frames.\n"
	       "# TYPE evb_frames_total counter\n"
	       "evb_frames_total{process=\"ingress\",dir=\"in\"} 10\n"
	       "evb_frames_total{process=\"hume\",dir=\"in\"} 4 1700000000000\n"
	       "# TYPE evb_hop_seconds histogram\n"
	       "evb_hop_seconds_bucket{process=\"ingress\",le=\"0.1\"} 1\n"
	       "evb_hop_seconds_bucket{process=\"ingress\",le=\"+Inf\"} 2\n"
	       "evb_hop_seconds_sum{process=\"ingress\"} 0.3\n"
	       "evb_hop_seconds_count{process=\"ingress\"} 2\n"
	       "evb_nan{process=\"hume\"} NaN\n"
	       "evb_own{process=\"mine\"} 1\n"
	       "evb_calls{provider=\"twilio\"} 3\n",
	       "one family per name, process labels added");
	free(text);
	evb_stats_merge_free(m);

	m = evb_stats_merge_new(100);
	ok(evb_stats_merge_add(m, ingress, strlen(ingress), "ingress") == EVB_ETOOBIG,
	   "the merged text is capped");
	text = evb_stats_merge_render(m, &len);
	ok(text && len <= 101, "what fitted renders");
	free(text);
	evb_stats_merge_free(m);
}

int main(void)
{
	test_counter_of();
	signal(SIGPIPE, SIG_IGN);
	test_registry();
	test_server();
	test_merge();
	return done_testing();
}
