/* Unit tests for lib/evb_httpc against an in-process evb_http server and
 * raw evb_stream servers, all on 127.0.0.1 in one loop (HTTPS is in
 * test-tls.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "evb_err.h"
#include "evb_http.h"
#include "evb_httpc.h"
#include "evb_log.h"
#include "evb_stream.h"
#include "tap.h"
#include "testnet.h"

static void handler(struct evb_http_req *req, void *arg)
{
	const char *path = evb_http_req_path(req);
	char out[2048];
	size_t blen;
	const uint8_t *b = evb_http_req_body(req, &blen);
	const char *auth = evb_http_req_header(req, "Authorization");
	const char *ct = evb_http_req_header(req, "Content-Type");
	const char *cl = evb_http_req_header(req, "Content-Length");

	(void)arg;
	if (strcmp(path, "/big") == 0) {
		char *big = malloc(5000);
		memset(big, 'z', 5000);
		evb_http_respond(req, 200, "text/plain", big, 5000);
		free(big);
	} else if (strcmp(path, "/redirect") == 0) {
		evb_http_req_add_header(req, "Location", "/elsewhere");
		evb_http_respond(req, 302, "text/plain", "moved", 5);
	} else {
		snprintf(out, sizeof(out), "%s %s?%s auth=%s ct=%s cl=%s body=%.*s",
			 evb_http_req_method(req), path, evb_http_req_query(req), auth ? auth : "-",
			 ct ? ct : "-", cl ? cl : "-", (int)blen, b);
		evb_http_req_add_header(req, "X-Seen", "1");
		evb_http_respond(req, strcmp(evb_http_req_method(req), "POST") == 0 ? 201 : 200,
				 "text/plain", out, strlen(out));
	}
}

static int done, derr, dstatus;
static char dbody[2048], derrstr[400], dhdr[64];

static void on_done(struct evb_httpc *c, int err, void *arg)
{
	size_t len;
	const uint8_t *b = evb_httpc_body(c, &len);
	const char *h = evb_httpc_header(c, "x-seen");

	(void)arg;
	derr = err;
	dstatus = evb_httpc_status(c);
	snprintf(dbody, sizeof(dbody), "%.*s", (int)len, b);
	snprintf(derrstr, sizeof(derrstr), "%s", evb_httpc_errstr(c));
	snprintf(dhdr, sizeof(dhdr), "%s", h ? h : "");
	evb_httpc_free(c); /* allowed, does nothing */
	done = 1;
}

static void run(struct evb_httpc *c)
{
	done = 0;
	derr = 1;
	dstatus = 0;
	dbody[0] = derrstr[0] = dhdr[0] = '\0';
	is_int(evb_httpc_start(c, on_done, NULL), 0, "started");
	tn_run_until(&done);
}

static void test_basic(void)
{
	struct evb_http_server *srv;
	struct evb_httpc *c;
	char url[128];
	int port;

	tn_begin("GET, form POST with Basic auth, JSON with Bearer, 302, cap");
	srv = evb_http_server_new(&loop, "127.0.0.1", 0, NULL, handler, NULL);
	port = evb_http_server_port(srv);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/calls?limit=5", port);
	c = evb_httpc_new(&loop, "GET", url);
	run(c);
	is_int(derr, 0, "GET done");
	is_int(dstatus, 200, "200");
	is_str(dbody, "GET /v1/calls?limit=5 auth=- ct=- cl=- body=", "request as sent");
	is_str(dhdr, "1", "response header, any case");

	snprintf(url, sizeof(url), "http://localhost:%d/2010-04-01/Accounts/AC1/Calls.json", port);
	c = evb_httpc_new(&loop, "POST", url);
	is_int(evb_httpc_set_basic_auth(c, "AC1", "token"), 0, "basic auth");
	is_int(evb_httpc_set_body(c, "application/x-www-form-urlencoded", "To=%2B1555&From=%2B1666",
				  23),
	       0, "form body");
	run(c);
	is_int(dstatus, 201, "201");
	is_str(dbody,
	       "POST /2010-04-01/Accounts/AC1/Calls.json? auth=Basic QUMxOnRva2Vu "
	       "ct=application/x-www-form-urlencoded cl=23 body=To=%2B1555&From=%2B1666",
	       "Basic auth, form body");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/calls/abc", port);
	c = evb_httpc_new(&loop, "PUT", url);
	evb_httpc_add_header(c, "Authorization", "Bearer eyJ");
	evb_httpc_set_body(c, "application/json", "{\"action\":\"hangup\"}", 19);
	run(c);
	is_str(dbody, "PUT /v1/calls/abc? auth=Bearer eyJ ct=application/json cl=19 "
		      "body={\"action\":\"hangup\"}",
	       "JSON body with Bearer");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	c = evb_httpc_new(&loop, "POST", url);
	run(c);
	is_str(dbody, "POST /x? auth=- ct=- cl=0 body=", "empty POST has Content-Length: 0");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect", port);
	c = evb_httpc_new(&loop, "GET", url);
	run(c);
	is_int(derr, 0, "redirect is a response");
	is_int(dstatus, 302, "302 returned as is");
	is_str(dbody, "moved", "its body");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", port);
	c = evb_httpc_new(&loop, "GET", url);
	evb_httpc_set_max_body(c, 1000);
	run(c);
	is_int(derr, EVB_ETOOBIG, "body over the cap refused");
	ok(strstr(derrstr, "over 1000 bytes") != NULL, "error: %s", derrstr);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", port);
	c = evb_httpc_new(&loop, "HEAD", url);
	run(c);
	is_int(dstatus, 200, "HEAD: 200");
	is_str(dbody, "", "HEAD: no body read");

	evb_http_server_free(srv);
	tn_end();
}

/* ---- raw servers ---- */

static const char *raw_reply; /* NULL: read and never answer */

static void raw_read(struct evb_stream *s, const uint8_t *d, size_t len, void *arg)
{
	(void)arg;
	if (raw_reply && memmem(d, len, "\r\n\r\n", 4)) {
		evb_stream_write(s, raw_reply, strlen(raw_reply));
		evb_stream_end(s);
	}
}

static int raw_closed;

static void raw_close(struct evb_stream *s, int reason, void *arg)
{
	(void)s;
	(void)reason;
	(void)arg;
	raw_closed = 1;
}

static void raw_accept(struct evb_stream_listener *l, struct evb_stream *s, void *arg)
{
	(void)l;
	(void)arg;
	evb_stream_start(s, raw_read, raw_close, NULL);
}

static void raw_case(const char *what, const char *reply, unsigned total_ms, int want_err,
		     int want_status, const char *want_body)
{
	struct evb_stream_listener *l;
	struct evb_httpc *c;
	char url[96];

	tn_begin(what);
	raw_reply = reply;
	raw_closed = 0;
	l = evb_stream_listen(&loop, "127.0.0.1", 0, NULL, raw_accept, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/token?secret=s", evb_stream_listener_port(l));
	c = evb_httpc_new(&loop, "GET", url);
	evb_httpc_set_timeouts(c, 0, total_ms);
	run(c);
	is_int(derr, want_err, "result");
	if (want_err == 0) {
		is_int(dstatus, want_status, "status");
		is_str(dbody, want_body, "body");
	} else {
		ok(derrstr[0] && !strstr(derrstr, "secret"), "error without the query: %s", derrstr);
	}
	while (!raw_closed)
		uv_run(&loop, UV_RUN_ONCE);
	evb_stream_listener_close(l);
	tn_end();
}

static void test_refused_and_cancel(void)
{
	struct evb_stream_listener *l;
	struct evb_httpc *c;
	char url[96];
	int port;

	tn_begin("connection refused, cancel");
	l = evb_stream_listen(&loop, "127.0.0.1", 0, NULL, raw_accept, NULL);
	port = evb_stream_listener_port(l);
	evb_stream_listener_close(l); /* now nobody listens there */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	c = evb_httpc_new(&loop, "GET", url);
	run(c);
	is_int(derr, -ECONNREFUSED, "ECONNREFUSED");
	ok(strstr(derrstr, "unable to connect") != NULL, "error: %s", derrstr);

	done = 0;
	c = evb_httpc_new(&loop, "GET", url);
	is_int(evb_httpc_start(c, on_done, NULL), 0, "started");
	evb_httpc_free(c);
	tn_end();
	is_int(done, 0, "cancelled: no callback");

	ok(!evb_httpc_new(&loop, "GET", "ws://x/") && errno == EINVAL, "ws URL refused");
	ok(!evb_httpc_new(&loop, "G T", "http://x/") && errno == EINVAL, "bad method refused");
	c = evb_httpc_new(&loop, "GET", "https://x/");
	is_int(evb_httpc_start(c, on_done, NULL), -EINVAL, "https without TLS config refused");
	is_int(evb_httpc_add_header(c, "X", "a\r\nInjected: 1"), -EINVAL, "header injection refused");
	evb_httpc_free(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	evb_log_level = LOG_WARNING;
	test_basic();
	raw_case("server never answers: total timeout", NULL, 300, -ETIMEDOUT, 0, NULL);
	raw_case("body until the connection closes", "HTTP/1.0 200 OK\r\n\r\nuntil eof", 3000, 0,
		 200, "until eof");
	raw_case("chunked response", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 3000, 0, 200, "abcde");
	raw_case("100 Continue before the response", "HTTP/1.1 100 Continue\r\n\r\n"
		 "HTTP/1.1 204 No Content\r\n\r\n", 3000, 0, 204, "");
	raw_case("response cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 3000,
		 -ECONNRESET, 0, NULL);
	raw_case("garbage response", "SSH-2.0-OpenSSH\r\n\r\n", 3000, -EBADMSG, 0, NULL);
	test_refused_and_cancel();
	return done_testing();
}
