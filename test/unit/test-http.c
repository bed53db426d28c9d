/* Unit tests for lib/evb_http (server), lib/evb_httpmsg and lib/evb_url.
 * Server and raw clients share one uv loop on 127.0.0.1 / ::1 with
 * ephemeral ports; a 10 s timer is only a watchdog. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "evb_err.h"
#include "evb_http.h"
#include "evb_httpmsg.h"
#include "evb_log.h"
#include "evb_stream.h"
#include "evb_url.h"
#include "tap.h"
#include "testnet.h"

/* ---- the server under test ---- */

static struct evb_http_server *srv;
static int nrequests, aborted;
static struct evb_http_req *held;
static uv_timer_t later;
static char last_peer[80];

static void answer_held(uv_timer_t *t)
{
	struct evb_http_req *req = held;
	char body[256];

	(void)t;
	held = NULL;
	snprintf(body, sizeof(body), "late %s", evb_http_req_path(req));
	is_int(evb_http_respond(req, 200, "text/plain", body, strlen(body)), aborted ? -ENOTCONN : 0,
	       "answer given later");
	uv_close((uv_handle_t *)&later, NULL);
}

static void on_abort(struct evb_http_req *req, void *arg)
{
	(void)req;
	(void)arg;
	aborted = 1;
}

static void handler(struct evb_http_req *req, void *arg)
{
	const char *path = evb_http_req_path(req);
	char out[4096];
	size_t blen;
	const uint8_t *body = evb_http_req_body(req, &blen);

	(void)arg;
	nrequests++;
	snprintf(last_peer, sizeof(last_peer), "%s", evb_http_req_peer(req));
	if (strcmp(path, "/echo") == 0 || strcmp(path, "/a%20b") == 0) {
		const char *x = evb_http_req_header(req, "x-TEST");
		snprintf(out, sizeof(out), "%s %s ?%s x=%s body=%.*s", evb_http_req_method(req),
			 path, evb_http_req_query(req), x ? x : "-", (int)blen, body);
		evb_http_req_add_header(req, "X-Reply", "yes");
		evb_http_respond(req, 200, "text/plain", out, strlen(out));
	} else if (strcmp(path, "/form") == 0) {
		struct evb_params *p = evb_params_parse((const char *)body, blen);
		size_t o = 0;

		if (!p) {
			evb_http_respond_error(req, 400, "bad_form", "bad form body");
			return;
		}
		for (size_t i = 0; i < evb_params_count(p); i++)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s=%s;",
					      evb_params_name(p, i), evb_params_value(p, i));
		evb_params_free(p);
		evb_http_respond(req, 200, "text/plain", out, o);
	} else if (strncmp(path, "/later", 6) == 0) {
		held = req;
		evb_http_req_set_abort_cb(req, on_abort, NULL);
		uv_timer_init(&loop, &later);
		uv_timer_start(&later, answer_held, strcmp(path, "/later-long") == 0 ? 300 : 50, 0);
	} else if (strcmp(path, "/len") == 0) {
		snprintf(out, sizeof(out), "%zu", blen);
		evb_http_respond(req, 200, "text/plain", out, strlen(out));
	} else {
		evb_http_respond_error(req, 404, NULL, "no such path");
	}
}

static int start_server(const char *host)
{
	srv = evb_http_server_new(&loop, host, 0, NULL, handler, NULL);
	if (!srv) {
		diag("server on '%s': %s", host, strerror(errno));
		return -errno;
	}
	nrequests = 0;
	aborted = 0;
	return evb_http_server_port(srv);
}

static void stop_server(void)
{
	evb_http_server_free(srv);
	srv = NULL;
}

/* ---- pure helpers ---- */

static void test_url(void)
{
	struct evb_url *u;
	struct evb_params *p;
	char buf[64], *enc;

	diag("url and form helpers");
	u = evb_url_parse("wss://api.hume.ai/v0/evi/chat?api_key=k&config_id=c#frag");
	ok(u != NULL, "wss URL parses");
	is_str(evb_url_host(u), "api.hume.ai", "host");
	is_int(evb_url_port(u), 443, "default port");
	is_str(evb_url_path(u), "/v0/evi/chat", "path");
	is_str(evb_url_query(u), "api_key=k&config_id=c", "query without fragment");
	is_str(evb_url_hostport(u), "api.hume.ai", "Host without default port");
	evb_url_free(u);
	u = evb_url_parse("HTTP://[::1]:8080");
	ok(u && strcmp(evb_url_host(u), "::1") == 0 && evb_url_port(u) == 8080 &&
		   strcmp(evb_url_path(u), "/") == 0 && !evb_url_query(u) &&
		   strcmp(evb_url_hostport(u), "[::1]:8080") == 0 && !evb_url_is_tls(u),
	   "IPv6 literal with port, empty path");
	evb_url_free(u);
	ok(!evb_url_parse("ftp://x/") && errno == EINVAL, "other schemes refused");
	ok(!evb_url_parse("https://user:pw@host/"), "credentials refused");
	ok(!evb_url_parse("http://host:0/") && !evb_url_parse("http://host:99999/"),
	   "bad ports refused");
	ok(!evb_url_parse("http://ho st/") && !evb_url_parse("http:///x"), "bad hosts refused");

	is_int(evb_url_decode("a%20b+c", 7, 1, buf), 5, "decode length");
	is_str(buf, "a b c", "decode with plus");
	evb_url_decode("a+b", 3, 0, buf);
	is_str(buf, "a+b", "plus kept in paths");
	is_int(evb_url_decode("%2", 2, 0, buf), -EINVAL, "short escape refused");
	is_int(evb_url_decode("%zz", 3, 0, buf), -EINVAL, "bad escape refused");
	is_int(evb_url_decode("%00", 3, 0, buf), -EINVAL, "encoded NUL refused");

	{
		static const char form[] = "To=%2B15550100&StatusCallbackEvent=ringing&&From=a+b&"
					   "StatusCallbackEvent=answered&Empty=&Bare";
		p = evb_params_parse(form, strlen(form));
	}
	ok(p != NULL, "form parses");
	is_int(evb_params_count(p), 6, "repeated keys kept, empty piece skipped");
	is_str(evb_params_value(p, 0), "+15550100", "escape decoded");
	is_str(evb_params_value(p, 2), "a b", "plus decoded");
	is_str(evb_params_get(p, "StatusCallbackEvent"), "ringing", "first value");
	is_str(evb_params_value(p, 4), "", "empty value");
	is_str(evb_params_name(p, 5), "Bare", "bare name");
	evb_params_sort(p);
	is_str(evb_params_name(p, 0), "Bare", "sorted by name");
	ok(strcmp(evb_params_value(p, 3), "answered") == 0 &&
		   strcmp(evb_params_value(p, 4), "ringing") == 0,
	   "same name sorted by value");
	enc = evb_params_encode(p);
	is_str(enc, "Bare=&Empty=&From=a+b&StatusCallbackEvent=answered&"
		    "StatusCallbackEvent=ringing&To=%2B15550100",
	       "encoded back");
	free(enc);
	evb_params_free(p);
	ok(!evb_params_parse("a=%G1", 5) && errno == EINVAL, "bad form refused");

	ok(evb_http_has_token("keep-alive, Upgrade", "upgrade"), "token found");
	ok(!evb_http_has_token("upgrades", "upgrade"), "no partial token");
	ok(evb_http_valid_header("X-A", "b c\t") && !evb_http_valid_header("X A", "b") &&
		   !evb_http_valid_header("X", "a\r\nB: c"),
	   "header validation");
	ok(evb_http_valid_header_block("A: b\r\nC: d\r\n") &&
		   !evb_http_valid_header_block("A: b\r\n\r\nGET / HTTP/1.1\r\n") &&
		   !evb_http_valid_header_block("A: b"),
	   "header block validation");
}

/* ---- requests through a real socket ---- */

static void test_get_keepalive(void)
{
	static const char *reqs[] = {
		"GET /echo?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		NULL,
	};
	struct rawc rc;
	int port;

	tn_begin("GET then POST on one keep-alive connection");
	port = start_server("127.0.0.1");
	tn_rawc(&rc, "127.0.0.1", port, NULL, 0, reqs, NULL);
	rc.want_header = "X-Reply";
	tn_run_until(&rc.done);
	is_int(rc.nresp, 2, "two responses");
	is_int(rc.resp[0].status, 200, "first 200");
	is_str(rc.resp[0].body, "GET /echo ?a=1&b=%20 x=hello body=", "method, path, raw query, header");
	is_str(rc.resp[0].extra, "yes", "added header sent");
	is_str(rc.resp[0].connection, "keep-alive", "kept alive");
	is_str(rc.resp[1].body, "POST /echo ? x=- body=hello", "second request, body");
	is_int(nrequests, 2, "handler ran twice");
	ok(strncmp(last_peer, "127.0.0.1:", 10) == 0, "peer address '%s'", last_peer);
	stop_server();
	tn_end();
	tn_free_resps(&rc);
}

static void test_form(void)
{
	static const char body[] = "CallSid=CA123&From=%2B15550100&To=%2B15550199&"
				   "CallStatus=ringing&X=1&X=2";
	char req[512];
	const char *reqs[] = { req, NULL };
	struct rawc rc;
	int port;

	tn_begin("Twilio-style form POST");
	port = start_server("127.0.0.1");
	snprintf(req, sizeof(req),
		 "POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(body), body);
	tn_rawc(&rc, "127.0.0.1", port, NULL, 0, reqs, NULL);
	tn_run_until(&rc.done);
	is_int(rc.resp[0].status, 200, "200");
	is_str(rc.resp[0].body, "CallSid=CA123;From=+15550100;To=+15550199;CallStatus=ringing;X=1;X=2;",
	       "params decoded, in order, repeats kept");
	is_str(rc.resp[0].connection, "close", "Connection: close honoured");
	stop_server();
	tn_end();
	tn_free_resps(&rc);
}

static void test_pipelined(void)
{
	static const char *reqs[] = {
		"GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /echo?2 HTTP/1.1\r\nHost: x\r\n\r\n"
		"POST /echo?3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		"4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n",
		NULL,
	};
	struct rawc rc;
	int port;

	tn_begin("pipelined requests, first answered later, chunked body");
	port = start_server("127.0.0.1");
	tn_rawc(&rc, "127.0.0.1", port, NULL, 1, reqs, NULL);
	rc.expect = 3; /* one write, three responses */
	tn_run_until(&rc.done);
	is_int(rc.nresp, 3, "three responses");
	is_str(rc.resp[0].body, "late /later", "first answered first, asynchronously");
	is_str(rc.resp[1].body, "GET /echo ?2 x=- body=", "second in order");
	is_str(rc.resp[2].body, "POST /echo ?3 x=- body=abcdefg", "chunked body decoded");
	stop_server();
	tn_end();
	tn_free_resps(&rc);
}

static void expect_status(const char *what, const char *req, size_t len, size_t max_body,
			  int status, const char *code)
{
	const char *reqs[] = { req, NULL };
	size_t lens[] = { len ? len : strlen(req), 0 };
	struct rawc rc;
	int port;

	tn_begin(what);
	port = start_server("127.0.0.1");
	if (max_body)
		evb_http_server_set_max_body(srv, max_body);
	tn_rawc(&rc, "127.0.0.1", port, NULL, 0, reqs, lens);
	rc.close_when_done = 0; /* the server must close */
	tn_run_until(&rc.done);
	is_int(rc.nresp, 1, "one response");
	is_int(rc.resp[0].status, status, "status");
	ok(rc.resp[0].body && strstr(rc.resp[0].body, code) &&
		   strstr(rc.resp[0].body, "\"success\":false"),
	   "JSON error body '%s'", rc.resp[0].body ? rc.resp[0].body : "");
	is_str(rc.resp[0].ctype, "application/json", "JSON content type");
	ok(rc.closed, "server closed the connection");
	is_int(nrequests, 0, "handler not called");
	stop_server();
	tn_end();
	tn_free_resps(&rc);
}

static void test_caps(void)
{
	size_t n = 10000, o;
	char *big = malloc(64 << 10);

	o = (size_t)snprintf(big, 64 << 10, "GET /");
	memset(big + o, 'a', n);
	o += n;
	o += (size_t)snprintf(big + o, 64 << 10, " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_status("URL over 8 KiB gets 414", big, o, 0, 414, "uri_too_long");

	o = (size_t)snprintf(big, 64 << 10, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 101; i++)
		o += (size_t)snprintf(big + o, (64 << 10) - o, "X-H%d: v\r\n", i);
	o += (size_t)snprintf(big + o, (64 << 10) - o, "\r\n");
	expect_status("101 header lines get 431", big, o, 0, 431, "headers_too_large");

	o = (size_t)snprintf(big, 64 << 10, "GET / HTTP/1.1\r\nX-Big: ");
	memset(big + o, 'b', 17000);
	o += 17000;
	o += (size_t)snprintf(big + o, (64 << 10) - o, "\r\n\r\n");
	expect_status("headers over 16 KiB get 431", big, o, 0, 431, "headers_too_large");

	o = (size_t)snprintf(big, 64 << 10,
			     "POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
	memset(big + o, 'c', 5000);
	o += 5000;
	expect_status("body over the cap gets 413", big, o, 1000, 413, "payload_too_large");

	o = (size_t)snprintf(big, 64 << 10,
			     "POST /len HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++) {
		o += (size_t)snprintf(big + o, (64 << 10) - o, "200\r\n");
		memset(big + o, 'd', 512);
		o += 512;
		o += (size_t)snprintf(big + o, (64 << 10) - o, "\r\n");
	}
	o += (size_t)snprintf(big + o, (64 << 10) - o, "0\r\n\r\n");
	expect_status("chunked body over the cap gets 413", big, o, 1000, 413, "payload_too_large");

	expect_status("malformed request gets 400 and close", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
		      0, 0, 400, "bad_request");
	expect_status("garbage gets 400", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 0, 400,
		      "bad_request");
	expect_status("Content-Length with chunked gets 400",
		      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
		      "0\r\n\r\n", 0, 0, 400, "bad_request");
	free(big);
}

static void test_not_found_expect(void)
{
	static const char *reqs[] = {
		"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /len HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
		NULL,
	};
	struct rawc rc;
	int port;

	tn_begin("404 from the handler, Expect: 100-continue");
	port = start_server("127.0.0.1");
	tn_rawc(&rc, "127.0.0.1", port, NULL, 0, reqs, NULL);
	rc.on_continue = "abc";
	tn_run_until(&rc.done);
	is_int(rc.resp[0].status, 404, "404");
	is_str(rc.resp[0].body, "{\"success\":false,\"error\":{\"code\":\"not_found\","
				"\"message\":\"no such path\"}}",
	       "JSON error body");
	is_int(rc.resp[1].status, 100, "100 Continue");
	is_int(rc.resp[2].status, 200, "then 200");
	is_str(rc.resp[2].body, "3", "body read");
	stop_server();
	tn_end();
	tn_free_resps(&rc);
}

/* ---- slowloris ---- */

static struct rawc slow;
static uv_timer_t drip, second;
static struct rawc fast;
static int drip_n, fast_started;
static uint64_t slow_start, slow_end;

static void drip_cb(uv_timer_t *t)
{
	static const char hdr[] = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaa";

	if (slow.closed || !slow.s) {
		uv_timer_stop(t);
		uv_close((uv_handle_t *)t, NULL);
		slow_end = uv_now(&loop);
		return;
	}
	if (!slow.connected)
		return;
	evb_stream_write(slow.s, hdr + (drip_n % (sizeof(hdr) - 1)), 1);
	drip_n++;
}

static void second_cb(uv_timer_t *t)
{
	static const char *reqs[] = { "GET /echo?fast HTTP/1.1\r\nHost: x\r\n\r\n", NULL };
	int port = *(int *)t->data;

	tn_rawc(&fast, "127.0.0.1", port, NULL, 0, reqs, NULL);
	fast_started = 1;
	uv_close((uv_handle_t *)t, NULL);
}

static void test_slowloris(void)
{
	static const char *none[] = { NULL };
	int port;

	tn_begin("slowloris: trickled headers cut off, another client served");
	port = start_server("127.0.0.1");
	evb_http_server_set_timeouts(srv, 300, 0, 0);
	tn_rawc(&slow, "127.0.0.1", port, NULL, 0, none, NULL);
	slow.close_when_done = 0;
	slow_start = uv_now(&loop);
	uv_timer_init(&loop, &drip);
	uv_timer_start(&drip, drip_cb, 10, 20);
	uv_timer_init(&loop, &second);
	second.data = &port;
	uv_timer_start(&second, second_cb, 100, 0);
	tn_run_until(&slow.done);
	while (!fast_started || !fast.done)
		uv_run(&loop, UV_RUN_ONCE);
	ok(drip_n > 5, "slow client sent %d bytes", drip_n);
	is_int(slow.nresp, 1, "slow client got an answer");
	is_int(slow.resp[0].status, 408, "408");
	ok(slow.closed, "slow client cut off");
	is_int(fast.resp[0].status, 200, "other client served meanwhile");
	while (!slow_end)
		uv_run(&loop, UV_RUN_ONCE);
	ok(slow_end - slow_start >= 250 && slow_end - slow_start < 2000,
	   "cut off after about 300 ms (%llu)", (unsigned long long)(slow_end - slow_start));
	stop_server();
	tn_end();
	tn_free_resps(&slow);
	tn_free_resps(&fast);
}

/* ---- client gone before the answer ---- */

static void test_abort(void)
{
	static const char *reqs[] = { "GET /later-long HTTP/1.1\r\nHost: x\r\n\r\n", NULL };
	struct rawc rc;
	int port;

	tn_begin("client leaves before a late answer");
	port = start_server("127.0.0.1");
	tn_rawc(&rc, "127.0.0.1", port, NULL, 0, reqs, NULL);
	while (nrequests == 0)
		uv_run(&loop, UV_RUN_ONCE);
	evb_stream_close(rc.s);
	tn_run_until(&aborted);
	ok(aborted, "abort callback ran");
	while (held)
		uv_run(&loop, UV_RUN_ONCE);
	stop_server();
	tn_end();
	tn_free_resps(&rc);
}

static void test_ipv6(void)
{
	static const char *reqs[] = { "GET /echo?v6 HTTP/1.1\r\nHost: x\r\n\r\n", NULL };
	struct rawc rc;
	int port;

	tn_begin("listen on [::1]");
	port = start_server("[::1]");
	if (port < 0) {
		ok(1, "# SKIP no IPv6 loopback here");
		tn_end();
		return;
	}
	tn_rawc(&rc, "::1", port, NULL, 0, reqs, NULL);
	tn_run_until(&rc.done);
	is_int(rc.resp[0].status, 200, "200 over IPv6");
	ok(strncmp(last_peer, "[::1]:", 6) == 0, "peer '%s'", last_peer);
	stop_server();
	tn_end();
	tn_free_resps(&rc);
}

static void test_server_free(void)
{
	static const char *reqs[] = { "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", NULL };
	struct rawc rc;
	int port;

	tn_begin("server freed with an idle keep-alive client");
	port = start_server("127.0.0.1");
	tn_rawc(&rc, "127.0.0.1", port, NULL, 0, reqs, NULL);
	rc.close_when_done = 0;
	while (rc.nresp < 1)
		uv_run(&loop, UV_RUN_ONCE);
	stop_server();
	tn_run_until(&rc.closed);
	ok(rc.closed, "client sees the close");
	tn_end();
	tn_free_resps(&rc);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	evb_log_level = LOG_WARNING;
	test_url();
	test_get_keepalive();
	test_form();
	test_pipelined();
	test_caps();
	test_not_found_expect();
	test_slowloris();
	test_abort();
	test_ipv6();
	test_server_free();
	return done_testing();
}
