/* Unit tests for lib/evb_tls through evb_stream, evb_http, evb_httpc and
 * evb_ws: certificates are made at run time (testcerts.h) in a temporary
 * directory; everything runs on one loop on loopback; a 10 s watchdog. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "evb_err.h"
#include "evb_http.h"
#include "evb_httpc.h"
#include "evb_log.h"
#include "evb_stream.h"
#include "evb_tls.h"
#include "evb_ws.h"
#include "tap.h"
#include "testcerts.h"
#include "testnet.h"

static struct tc_dir certs;

static struct evb_tls_config *server_cfg(const char *cert, const char *key)
{
	char err[EVB_TLS_ERR_MAX];
	struct evb_tls_config *cfg =
		evb_tls_server_config_new(tc_file(&certs, cert), tc_file(&certs, key), err, sizeof(err));

	if (!cfg)
		diag("server config: %s", err);
	return cfg;
}

static struct evb_tls_config *client_cfg(const char *ca, unsigned flags)
{
	char err[EVB_TLS_ERR_MAX];
	struct evb_tls_config *cfg =
		evb_tls_client_config_new(ca ? tc_file(&certs, ca) : NULL, flags, err, sizeof(err));

	if (!cfg)
		diag("client config: %s", err);
	return cfg;
}

/* Small requests come from a pool: 4-byte masks never repeat in a run of
 * 1000 (a repeat has odds of about 1e-4), and a forked child does not hand
 * out the bytes its parent's pool would have. */
static void test_random_pool(void)
{
	uint32_t v[1000];
	int dup = 0, fd[2], st;
	uint8_t mine[16], theirs[16];
	pid_t pid;

	for (int i = 0; i < 1000; i++)
		if (evb_tls_random(&v[i], sizeof(v[i])) != 0)
			dup = -1;
	for (int i = 0; i < 1000 && dup == 0; i++)
		for (int j = 0; j < i; j++)
			if (v[i] == v[j])
				dup = 1;
	is_int(dup, 0, "1000 four-byte values: no error, no repeat");
	ok(pipe(fd) == 0, "pipe");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fd[0]);
		_exit(evb_tls_random(theirs, sizeof(theirs)) != 0 ||
		      write(fd[1], theirs, sizeof(theirs)) != (ssize_t)sizeof(theirs));
	}
	close(fd[1]);
	ok(evb_tls_random(mine, sizeof(mine)) == 0, "parent draws after the fork");
	ok(read(fd[0], theirs, sizeof(theirs)) == (ssize_t)sizeof(theirs) &&
		   waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "child drew");
	ok(memcmp(mine, theirs, sizeof(mine)) != 0, "parent and child got different bytes");
	close(fd[0]);
}

static void test_configs(void)
{
	char err[EVB_TLS_ERR_MAX] = "";
	struct evb_tls_config *cfg;
	uint8_t a[32], b[32];

	diag("configurations");
	ok(evb_tls_random(a, sizeof(a)) == 0 && evb_tls_random(b, sizeof(b)) == 0 &&
		   memcmp(a, b, sizeof(a)) != 0,
	   "random bytes differ");
	cfg = evb_tls_client_config_new("/nonexistent/ca.pem", 0, err, sizeof(err));
	ok(!cfg && errno == ENOENT, "missing CA file refused");
	ok(strstr(err, "/nonexistent/ca.pem") != NULL, "message names the file: %s", err);
	cfg = evb_tls_client_config_new(tc_file(&certs, "localhost.key"), 0, err, sizeof(err));
	ok(!cfg && errno == EINVAL, "a key is not a CA file: %s", err);
	cfg = evb_tls_client_config_new(NULL, EVB_TLS_NO_SYSTEM_CA, err, sizeof(err));
	ok(!cfg && errno == EINVAL, "no CA at all refused: %s", err);
	cfg = evb_tls_client_config_new(NULL, 0, err, sizeof(err));
	ok(cfg != NULL, "system CA bundle loads");
	ok(cfg && !evb_tls_config_is_server(cfg), "client config");
	evb_tls_config_free(cfg);
	cfg = evb_tls_server_config_new(tc_file(&certs, "localhost.pem"),
					tc_file(&certs, "wrong.key"), err, sizeof(err));
	ok(!cfg && errno == EINVAL && strstr(err, "does not match"), "mismatched key: %s", err);
	cfg = server_cfg("localhost.pem", "localhost.key");
	ok(cfg && evb_tls_config_is_server(cfg), "server config loads");
	evb_tls_config_free(cfg);
}

/* ---- raw TLS echo over evb_stream ---- */

static struct evb_stream *echo_srv;
static int echo_closed;
static size_t echo_bytes;

static void echo_read(struct evb_stream *s, const uint8_t *d, size_t len, void *arg)
{
	(void)arg;
	echo_bytes += len;
	if (evb_stream_write(s, d, len) < 0)
		diag("echo write failed");
}

static void echo_close(struct evb_stream *s, int reason, void *arg)
{
	(void)s;
	(void)arg;
	(void)reason;
	echo_closed = 1;
}

static void echo_accept(struct evb_stream_listener *l, struct evb_stream *s, void *arg)
{
	(void)l;
	(void)arg;
	echo_srv = s;
	evb_stream_start(s, echo_read, echo_close, NULL);
}

struct eclient {
	uint8_t *sent, *got;
	size_t len, got_len;
	int status, done, reason;
	char err[EVB_TLS_ERR_MAX + 100];
};

static void ec_read(struct evb_stream *s, const uint8_t *d, size_t len, void *arg)
{
	struct eclient *e = arg;

	if (e->got_len + len <= e->len)
		memcpy(e->got + e->got_len, d, len);
	e->got_len += len;
	if (e->got_len >= e->len)
		evb_stream_end(s);
}

static void ec_close(struct evb_stream *s, int reason, void *arg)
{
	struct eclient *e = arg;

	(void)s;
	e->reason = reason;
	e->done = 1;
}

static void ec_connect(struct evb_stream *s, int status, void *arg)
{
	struct eclient *e = arg;

	e->status = status;
	if (status < 0) {
		snprintf(e->err, sizeof(e->err), "%s", evb_stream_errstr(s));
		e->done = 1;
		return;
	}
	evb_stream_set_max_queue(s, e->len + 1024);
	evb_stream_start(s, ec_read, ec_close, e);
	/* Several writes: many TLS records, read back in pieces. */
	for (size_t off = 0; off < e->len; off += 30000) {
		size_t n = e->len - off < 30000 ? e->len - off : 30000;
		if (evb_stream_write(s, e->sent + off, n) < 0)
			diag("client write failed");
	}
}

static void stream_echo(const char *what, const char *cert, const char *key, const char *ca,
			unsigned flags, int want_ok, const char *want_err)
{
	struct evb_tls_config *scfg = server_cfg(cert, key), *ccfg = client_cfg(ca, flags);
	struct evb_stream_listener *l;
	struct eclient e;

	tn_begin(what);
	memset(&e, 0, sizeof(e));
	echo_srv = NULL;
	echo_closed = 0;
	echo_bytes = 0;
	e.len = 300000;
	e.sent = malloc(e.len);
	e.got = malloc(e.len);
	for (size_t i = 0; i < e.len; i++)
		e.sent[i] = (uint8_t)(i * 7 + (i >> 8));
	l = evb_stream_listen(&loop, "127.0.0.1", 0, scfg, echo_accept, NULL);
	ok(l != NULL, "listening");
	ok(evb_stream_connect(&loop, "localhost", evb_stream_listener_port(l), ccfg, 5000,
			      ec_connect, &e) != NULL,
	   "connecting to localhost");
	evb_tls_config_free(scfg); /* the listener and streams keep theirs */
	evb_tls_config_free(ccfg);
	tn_run_until(&e.done);
	if (want_ok) {
		is_int(e.status, 0, "handshake done");
		is_int(e.got_len, e.len, "all bytes echoed");
		ok(memcmp(e.sent, e.got, e.len) == 0, "bytes intact");
		is_int(e.reason, 0, "closed cleanly");
	} else {
		is_int(e.status, -EPROTO, "connection refused");
		ok(strstr(e.err, want_err) != NULL, "error: %s", e.err);
		ok(echo_srv == NULL, "server never saw a stream");
	}
	while (echo_srv && !echo_closed)
		uv_run(&loop, UV_RUN_ONCE);
	evb_stream_listener_close(l);
	tn_end();
	free(e.sent);
	free(e.got);
}

/* ---- HTTPS and WSS through the real server ---- */

static void ws_echo_msg(struct evb_ws *ws, int kind, const uint8_t *d, size_t len, void *arg)
{
	(void)arg;
	evb_ws_send(ws, kind, d, len);
}

static void ws_srv_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	(void)ws;
	(void)code;
	(void)reason;
	(void)arg;
}

static void https_handler(struct evb_http_req *req, void *arg)
{
	char body[128];

	(void)arg;
	if (evb_http_req_is_websocket(req)) {
		evb_http_req_accept_ws(req, ws_echo_msg, ws_srv_close, NULL);
		return;
	}
	snprintf(body, sizeof(body), "hello %s tls=%d", evb_http_req_path(req),
		 evb_http_req_is_tls(req));
	evb_http_respond(req, 200, "text/plain", body, strlen(body));
}

static int got_done, got_err, got_status;
static char got_body[256], got_errstr[400];

static void httpc_done(struct evb_httpc *c, int err, void *arg)
{
	size_t len;
	const uint8_t *b = evb_httpc_body(c, &len);

	(void)arg;
	got_err = err;
	got_status = evb_httpc_status(c);
	snprintf(got_body, sizeof(got_body), "%.*s", (int)len, b);
	snprintf(got_errstr, sizeof(got_errstr), "%s", evb_httpc_errstr(c));
	got_done = 1;
}

static void https_get(const char *ca, const char *host, int port, struct evb_tls_config **cfgp)
{
	char url[128];
	struct evb_httpc *c;

	*cfgp = client_cfg(ca, 0);
	snprintf(url, sizeof(url), "https://%s:%d/secret/path?token=abc", host, port);
	c = evb_httpc_new(&loop, "GET", url);
	evb_httpc_set_tls(c, *cfgp);
	got_done = 0;
	is_int(evb_httpc_start(c, httpc_done, NULL), 0, "request started");
	tn_run_until(&got_done);
}

static struct evb_ws *wsc;
static int ws_open, ws_closed, ws_code, ws_msgs;
static char ws_reason[200], ws_last[64];

static void wsc_open(struct evb_ws *ws, void *arg)
{
	(void)arg;
	ws_open = 1;
	evb_ws_send(ws, EVB_WS_TEXT, "{\"type\":\"ping\"}", 15);
}

static void wsc_msg(struct evb_ws *ws, int kind, const uint8_t *d, size_t len, void *arg)
{
	(void)arg;
	(void)kind;
	ws_msgs++;
	snprintf(ws_last, sizeof(ws_last), "%.*s", (int)len, d);
	evb_ws_close(ws, 1000, "done");
}

static void wsc_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	(void)ws;
	(void)arg;
	ws_closed = 1;
	ws_code = code;
	snprintf(ws_reason, sizeof(ws_reason), "%s", reason);
}

static void test_https_wss(void)
{
	struct evb_tls_config *scfg = server_cfg("localhost.pem", "localhost.key"), *ccfg;
	struct evb_http_server *srv;
	char url[128];
	int port;

	tn_begin("https GET and wss echo, CA from the extra file");
	srv = evb_http_server_new(&loop, "127.0.0.1", 0, scfg, https_handler, NULL);
	ok(srv != NULL, "https server up");
	port = evb_http_server_port(srv);
	https_get("ca.pem", "localhost", port, &ccfg);
	ok(got_err == 0, "request done: %s", got_errstr);
	is_int(got_status, 200, "200");
	is_str(got_body, "hello /secret/path tls=1", "body over TLS");

	snprintf(url, sizeof(url), "wss://localhost:%d/v0/evi/chat?api_key=SECRET", port);
	ws_open = ws_closed = ws_msgs = 0;
	wsc = evb_ws_connect(&loop, url, ccfg, "X-Test: 1\r\n", 5000, wsc_open, wsc_msg, wsc_close,
			     NULL);
	ok(wsc != NULL, "wss connecting");
	tn_run_until(&ws_closed);
	ok(ws_open, "wss open");
	is_str(ws_last, "{\"type\":\"ping\"}", "echo over wss");
	is_int(ws_code, 1000, "closed with 1000");
	is_str(ws_reason, "done", "reason echoed");
	evb_tls_config_free(ccfg);
	evb_http_server_free(srv);
	evb_tls_config_free(scfg);
	tn_end();
}

static void test_refused(const char *what, const char *cert, const char *key, const char *ca,
			 const char *want)
{
	struct evb_tls_config *scfg = server_cfg(cert, key), *ccfg;
	struct evb_http_server *srv;
	char url[128];

	tn_begin(what);
	srv = evb_http_server_new(&loop, "127.0.0.1", 0, scfg, https_handler, NULL);
	https_get(ca, "localhost", evb_http_server_port(srv), &ccfg);
	is_int(got_err, -EPROTO, "https refused");
	ok(strstr(got_errstr, want) != NULL, "error: %s", got_errstr);
	ok(strstr(got_errstr, "token=abc") == NULL, "no query string in the error");

	snprintf(url, sizeof(url), "wss://localhost:%d/chat?api_key=SECRET", evb_http_server_port(srv));
	ws_open = ws_closed = 0;
	evb_ws_connect(&loop, url, ccfg, NULL, 5000, wsc_open, wsc_msg, wsc_close, NULL);
	tn_run_until(&ws_closed);
	ok(!ws_open, "wss never opened");
	is_int(ws_code, 1006, "1006");
	ok(strstr(ws_reason, want) != NULL, "reason: %s", ws_reason);
	evb_tls_config_free(ccfg);
	evb_http_server_free(srv);
	evb_tls_config_free(scfg);
	tn_end();
}

/* ---- a client that never starts its handshake ---- */

static int idle_status, idle_closed;

static void idle_close(struct evb_stream *s, int reason, void *arg)
{
	(void)s;
	(void)reason;
	(void)arg;
	idle_closed = 1;
}

static void idle_connect(struct evb_stream *s, int status, void *arg)
{
	(void)arg;
	idle_status = status;
	if (status == 0)
		evb_stream_start(s, NULL, idle_close, NULL);
	else
		idle_closed = 1;
}

static void never_accept(struct evb_stream_listener *l, struct evb_stream *s, void *arg)
{
	(void)l;
	(void)arg;
	ok(0, "a silent client must not be accepted");
	evb_stream_close(s);
}

static void test_handshake_timeout(void)
{
	struct evb_tls_config *scfg = server_cfg("localhost.pem", "localhost.key");
	struct evb_stream_listener *l;
	uint64_t t0;

	tn_begin("server drops a client silent during the handshake");
	l = evb_stream_listen(&loop, "127.0.0.1", 0, scfg, never_accept, NULL);
	evb_stream_listener_set_handshake_timeout(l, 200);
	evb_tls_config_free(scfg);
	t0 = uv_now(&loop);
	idle_closed = 0;
	evb_stream_connect(&loop, "127.0.0.1", evb_stream_listener_port(l), NULL, 2000,
			   idle_connect, NULL);
	tn_run_until(&idle_closed);
	is_int(idle_status, 0, "plain TCP connected");
	ok(uv_now(&loop) - t0 >= 150 && uv_now(&loop) - t0 < 2000, "dropped after ~200 ms");
	evb_stream_listener_close(l);
	tn_end();
}

int main(void)
{
	test_random_pool();
	signal(SIGPIPE, SIG_IGN);
	evb_log_level = LOG_WARNING;
	if (tc_make(&certs) < 0) {
		printf("Bail out! unable to make test certificates\n");
		return 1;
	}
	test_configs();
	stream_echo("TLS stream echo, 300 kB", "localhost.pem", "localhost.key", "ca.pem", 0, 1, NULL);
	stream_echo("trusting only the extra CA", "localhost.pem", "localhost.key", "ca.pem",
		    EVB_TLS_NO_SYSTEM_CA, 1, NULL);
	stream_echo("client with another CA is refused", "localhost.pem", "localhost.key", "ca2.pem",
		    EVB_TLS_NO_SYSTEM_CA, 0,
		    "certificate verify failed: the certificate is not correctly signed by the "
		    "trusted CA");
	test_https_wss();
	test_refused("server cert from an unknown CA", "rogue.pem", "rogue.key", "ca.pem",
		     "not correctly signed by the trusted CA");
	test_refused("wrong host name", "wrong.pem", "wrong.key", "ca.pem",
		     "certificate verify failed: the certificate Common Name (CN) does not match");
	test_handshake_timeout();
	tc_cleanup(&certs);
	return done_testing();
}
