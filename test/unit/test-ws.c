/* Unit tests for lib/evb_ws: a server (evb_http + accept) and a client
 * (evb_ws_connect) in one loop on 127.0.0.1, raw peers for what a correct
 * peer never does, and the memory mode used by the fuzzer. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "evb_err.h"
#include "evb_http.h"
#include "evb_log.h"
#include "evb_stream.h"
#include "evb_ws.h"
#include "tap.h"
#include "testnet.h"

/* ---- server side ---- */

static struct evb_http_server *srv;
static struct evb_ws *sws;
static int s_closed, s_code, s_msgs, s_max_msg;
static char s_reason[200], s_query[200], s_host[100], s_last[100];
static const char *s_close_after; /* server closes when it gets this */

static void s_msg(struct evb_ws *ws, int kind, const uint8_t *d, size_t len, void *arg)
{
	(void)arg;
	s_msgs++;
	snprintf(s_last, sizeof(s_last), "%.*s", (int)len, d);
	if (s_close_after && len == strlen(s_close_after) && memcmp(d, s_close_after, len) == 0) {
		evb_ws_close(ws, 4002, "server bye");
		return;
	}
	if (evb_ws_send(ws, kind, d, len) != 0)
		diag("server send failed");
}

static void s_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	(void)ws;
	(void)arg;
	s_closed = 1;
	s_code = code;
	snprintf(s_reason, sizeof(s_reason), "%s", reason);
	sws = NULL;
}

static void handler(struct evb_http_req *req, void *arg)
{
	const char *h = evb_http_req_header(req, "Host");

	(void)arg;
	snprintf(s_query, sizeof(s_query), "%s", evb_http_req_query(req));
	snprintf(s_host, sizeof(s_host), "%s", h ? h : "");
	if (!evb_http_req_is_websocket(req)) {
		evb_http_respond_error(req, 404, NULL, "no");
		return;
	}
	if (!evb_http_req_header(req, "X-Sig")) {
		evb_http_respond_error(req, 403, "bad_signature", "signature check failed");
		return;
	}
	evb_http_req_add_header(req, "X-Extra", "1");
	sws = evb_http_req_accept_ws(req, s_msg, s_close, NULL);
	ok(sws != NULL, "server accepted the upgrade");
	if (sws && s_max_msg)
		evb_ws_set_max_message(sws, (size_t)s_max_msg);
}

static int server_up(void)
{
	srv = evb_http_server_new(&loop, "127.0.0.1", 0, NULL, handler, NULL);
	s_closed = s_code = s_msgs = s_max_msg = 0;
	s_reason[0] = s_last[0] = '\0';
	s_close_after = NULL;
	return evb_http_server_port(srv);
}

/* ---- client side ---- */

static struct evb_ws *cws;
static int c_open, c_closed, c_code, c_msgs, c_order_ok, c_mode, c_status;
static char c_reason[300], c_last[100];
static size_t c_bin_len;

enum { MODE_ECHO, MODE_HUNDRED, MODE_BIG, MODE_CLIENT_CLOSE, MODE_SERVER_CLOSE, MODE_IDLE };

static void c_open_cb(struct evb_ws *ws, void *arg)
{
	char buf[32];
	uint8_t bin[256];

	(void)arg;
	c_open = 1;
	c_status = evb_ws_http_status(ws);
	switch (c_mode) {
	case MODE_ECHO:
		for (int i = 0; i < 256; i++)
			bin[i] = (uint8_t)i;
		evb_ws_send(ws, EVB_WS_TEXT, "héllo", strlen("héllo"));
		evb_ws_send(ws, EVB_WS_BINARY, bin, sizeof(bin));
		break;
	case MODE_HUNDRED:
		for (int i = 0; i < 100; i++) {
			snprintf(buf, sizeof(buf), "msg %d", i);
			if (evb_ws_send(ws, EVB_WS_TEXT, buf, strlen(buf)) != 0)
				diag("send %d failed", i);
		}
		break;
	case MODE_BIG: {
		char *big = malloc(2000);
		memset(big, 'x', 2000);
		evb_ws_send(ws, EVB_WS_TEXT, "small", 5);
		evb_ws_send(ws, EVB_WS_TEXT, big, 2000);
		free(big);
		break;
	}
	case MODE_CLIENT_CLOSE:
		evb_ws_send(ws, EVB_WS_TEXT, "one", 3);
		break;
	case MODE_SERVER_CLOSE:
		evb_ws_send(ws, EVB_WS_TEXT, "close me", 8);
		break;
	}
}

static void c_msg_cb(struct evb_ws *ws, int kind, const uint8_t *d, size_t len, void *arg)
{
	char want[32];

	(void)arg;
	if (c_mode == MODE_HUNDRED) {
		snprintf(want, sizeof(want), "msg %d", c_msgs);
		if (len != strlen(want) || memcmp(d, want, len) != 0)
			c_order_ok = 0;
		if (++c_msgs == 100)
			evb_ws_close(ws, 1000, "all in");
		return;
	}
	c_msgs++;
	if (kind == EVB_WS_BINARY) {
		c_bin_len = len;
		for (size_t i = 0; i < len; i++)
			if (d[i] != (uint8_t)i)
				c_bin_len = 0;
	} else {
		snprintf(c_last, sizeof(c_last), "%.*s", (int)len, d);
	}
	if (c_mode == MODE_ECHO && c_msgs == 2)
		evb_ws_close(ws, 1000, "");
	if (c_mode == MODE_CLIENT_CLOSE)
		evb_ws_close(ws, 4001, "bye");
}

static void c_close_cb(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	(void)arg;
	c_closed = 1;
	c_code = code;
	c_status = evb_ws_http_status(ws);
	snprintf(c_reason, sizeof(c_reason), "%s", reason);
	cws = NULL;
}

static void client(int port, const char *path, const char *headers, int mode)
{
	char url[160];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", port, path);
	c_open = c_closed = c_code = c_msgs = c_status = 0;
	c_order_ok = 1;
	c_mode = mode;
	c_last[0] = c_reason[0] = '\0';
	c_bin_len = 0;
	cws = evb_ws_connect(&loop, url, NULL, headers, 3000, c_open_cb, c_msg_cb, c_close_cb, NULL);
	ok(cws != NULL, "client connecting");
}

static void finish(void)
{
	while (!c_closed || (sws && !s_closed))
		uv_run(&loop, UV_RUN_ONCE);
	evb_http_server_free(srv);
	tn_end();
}

static void test_echo(void)
{
	int port;

	tn_begin("handshake, text and binary echo");
	port = server_up();
	client(port, "/v0/evi/chat?api_key=k&config_id=c", "X-Sig: ok\r\n", MODE_ECHO);
	tn_run_until(&c_closed);
	ok(c_open, "open");
	is_int(c_status, 101, "101");
	is_str(s_query, "api_key=k&config_id=c", "query reaches the server");
	ok(strncmp(s_host, "127.0.0.1:", 10) == 0, "Host has the port: %s", s_host);
	is_str(c_last, "héllo", "text echoed");
	is_int(c_bin_len, 256, "binary echoed intact");
	is_int(c_code, 1000, "normal close");
	finish();
	is_int(s_code, 1000, "server saw 1000");
}

static void test_hundred(void)
{
	int port;

	tn_begin("100 messages in order");
	port = server_up();
	client(port, "/ws", "X-Sig: ok\r\n", MODE_HUNDRED);
	tn_run_until(&c_closed);
	is_int(c_msgs, 100, "100 echoes");
	ok(c_order_ok, "in order");
	is_int(s_msgs, 100, "server got 100");
	is_str(c_reason, "all in", "close reason echoed back");
	finish();
	is_int(s_code, 1000, "server saw the client's close");
	is_str(s_reason, "all in", "with its reason");
}

static void test_too_big(void)
{
	int port;

	tn_begin("message over the cap closes with 1009");
	port = server_up();
	s_max_msg = 1000;
	client(port, "/ws", "X-Sig: ok\r\n", MODE_BIG);
	tn_run_until(&c_closed);
	is_int(c_msgs, 1, "small message echoed");
	is_int(c_code, 1009, "client sees 1009");
	finish();
	is_int(s_code, 1009, "server reports 1009");
	is_int(s_msgs, 1, "big message not delivered");
}

static void test_close_codes(void)
{
	int port;

	tn_begin("close code and reason, client to server");
	port = server_up();
	client(port, "/ws", "X-Sig: ok\r\n", MODE_CLIENT_CLOSE);
	tn_run_until(&c_closed);
	finish();
	is_int(s_code, 4001, "server got 4001");
	is_str(s_reason, "bye", "server got the reason");
	is_int(c_code, 4001, "client reports the echo");

	tn_begin("close code and reason, server to client");
	port = server_up();
	s_close_after = "close me";
	client(port, "/ws", "X-Sig: ok\r\n", MODE_SERVER_CLOSE);
	tn_run_until(&c_closed);
	is_int(c_code, 4002, "client got 4002");
	is_str(c_reason, "server bye", "client got the reason");
	finish();
	is_int(s_code, 4002, "server reports its close");
}

static void test_refused(void)
{
	int port;

	tn_begin("handler refuses the upgrade with 403");
	port = server_up();
	client(port, "/ws", NULL, MODE_IDLE);
	tn_run_until(&c_closed);
	ok(!c_open, "never open");
	is_int(c_code, 1006, "1006");
	is_int(c_status, 403, "HTTP 403 seen");
	is_str(c_reason, "handshake refused: HTTP 403", "reason");
	finish();
}

static void bad_handshake(const char *what, const char *req, const char *version)
{
	const char *reqs[] = { req, NULL };
	struct rawc rc;
	int port;

	tn_begin(what);
	port = server_up();
	tn_rawc(&rc, "127.0.0.1", port, NULL, 0, reqs, NULL);
	rc.want_header = "Sec-WebSocket-Version";
	rc.close_when_done = 0;
	tn_run_until(&rc.done);
	is_int(rc.resp[0].status, 400, "400");
	is_str(rc.resp[0].extra, version, "Sec-WebSocket-Version");
	ok(rc.closed, "connection closed");
	evb_http_server_free(srv);
	tn_end();
	tn_free_resps(&rc);
}

static void test_bad_handshakes(void)
{
	bad_handshake("missing key gets 400",
		      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Version: 13\r\nX-Sig: ok\r\n\r\n", "");
	bad_handshake("wrong version gets 400",
		      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
		      "X-Sig: ok\r\n\r\n", "13");
	bad_handshake("short key gets 400",
		      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n", "");
	bad_handshake("POST upgrade gets 400",
		      "POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		      "Content-Length: 0\r\n\r\n", "");
}

/* A frame sent in the same segment as the upgrade request reaches the WS
 * session (RFC 6455 example key; the frame is masked as a client's must). */
static void test_early_frame(void)
{
	static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\nX-Sig: ok\r\n\r\n";
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	char req[512];
	const char *reqs[] = { req, NULL };
	size_t lens[2], n = strlen(hs);
	struct rawc rc;
	const char *acc;
	int port;

	memcpy(req, hs, n);
	req[n++] = (char)0x81; /* FIN, text */
	req[n++] = (char)(0x80 | 5);
	memcpy(req + n, mask, 4);
	n += 4;
	for (int i = 0; i < 5; i++)
		req[n++] = (char)("early"[i] ^ mask[i % 4]);
	lens[0] = n;
	tn_begin("frame right behind the handshake is not lost");
	port = server_up();
	tn_rawc(&rc, "127.0.0.1", port, NULL, 0, reqs, lens);
	rc.want_header = "Sec-WebSocket-Accept";
	rc.close_when_done = 0;
	while (rc.in_len < 130 || !memmem(rc.in, rc.in_len, "\x81\x05" "early", 7))
		uv_run(&loop, UV_RUN_ONCE);
	is_int(rc.resp[0].status, 101, "101");
	is_str(rc.resp[0].extra, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455 accept value");
	acc = memmem(rc.in, rc.in_len, "X-Extra: 1\r\n", 12);
	ok(acc != NULL, "added header in the 101");
	is_str(s_last, "early", "server got the early message");
	evb_stream_close(rc.s);
	while (!s_closed)
		uv_run(&loop, UV_RUN_ONCE);
	is_int(s_code, 1006, "abrupt end is 1006");
	evb_http_server_free(srv);
	tn_end();
	tn_free_resps(&rc);
}

/* ---- raw servers for client-side failures ---- */

static int raw_mode;
static struct evb_stream *raw_s;
enum { RAW_SILENT_101, RAW_BAD_ACCEPT, RAW_NOTHING };

static void raw_read(struct evb_stream *s, const uint8_t *d, size_t len, void *arg)
{
	const char *k;
	char key[32], acc[EVB_WS_ACCEPT_LEN], resp[256];

	(void)arg;
	if (raw_mode == RAW_NOTHING)
		return;
	k = memmem(d, len, "Sec-WebSocket-Key: ", 19);
	if (!k)
		return; /* frames after the handshake: ignored, pings unanswered */
	memcpy(key, k + 19, 24);
	key[24] = '\0';
	evb_ws_accept_key(key, acc);
	if (raw_mode == RAW_BAD_ACCEPT)
		acc[0] = acc[0] == 'A' ? 'B' : 'A';
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		 acc);
	evb_stream_write(s, resp, strlen(resp));
}

static void raw_close(struct evb_stream *s, int reason, void *arg)
{
	(void)s;
	(void)reason;
	(void)arg;
	raw_s = NULL;
}

static void raw_accept(struct evb_stream_listener *l, struct evb_stream *s, void *arg)
{
	(void)l;
	(void)arg;
	raw_s = s;
	evb_stream_start(s, raw_read, raw_close, NULL);
}

static void raw_case(const char *what, int mode, unsigned ping_ms, unsigned timeout_ms,
		     const char *want_reason, int want_open)
{
	struct evb_stream_listener *l;
	char url[64];

	tn_begin(what);
	raw_mode = mode;
	l = evb_stream_listen(&loop, "127.0.0.1", 0, NULL, raw_accept, NULL);
	snprintf(url, sizeof(url), "ws://localhost:%d/x?secret=1", evb_stream_listener_port(l));
	c_open = c_closed = 0;
	c_mode = MODE_IDLE;
	cws = evb_ws_connect(&loop, url, NULL, NULL, timeout_ms, c_open_cb, c_msg_cb, c_close_cb,
			     NULL);
	if (ping_ms)
		evb_ws_set_ping_interval(cws, ping_ms);
	tn_run_until(&c_closed);
	is_int(c_open, want_open, "opened or not");
	is_int(c_code, 1006, "1006");
	is_str(c_reason, want_reason, "reason");
	while (raw_s)
		uv_run(&loop, UV_RUN_ONCE);
	evb_stream_listener_close(l);
	tn_end();
}

/* ---- limits ---- */

static void test_queue_full(void)
{
	int port;
	char *big = calloc(1, 5000);

	tn_begin("send queue cap");
	port = server_up();
	client(port, "/ws", "X-Sig: ok\r\n", MODE_IDLE);
	is_int(evb_ws_send(cws, EVB_WS_TEXT, "x", 1), -ENOTCONN, "no send before open");
	tn_run_until(&c_open);
	evb_ws_set_max_queue(cws, 1000);
	is_int(evb_ws_send(cws, EVB_WS_BINARY, big, 5000), EVB_EFULL, "over the cap: EVB_EFULL");
	is_int(evb_ws_send(cws, EVB_WS_BINARY, big, 500), 0, "under the cap: queued");
	is_int(evb_ws_send(cws, 7, big, 5), -EINVAL, "bad kind");
	evb_ws_close(cws, 1000, NULL);
	tn_run_until(&c_closed);
	finish();
	free(big);
}

static void test_free_while_connecting(void)
{
	struct evb_ws *ws;

	tn_begin("free while connecting: no callback");
	c_closed = 0;
	ws = evb_ws_connect(&loop, "ws://127.0.0.1:9/x", NULL, NULL, 1000, c_open_cb, c_msg_cb,
			    c_close_cb, NULL);
	ok(ws != NULL, "connecting");
	evb_ws_free(ws);
	tn_end();
	is_int(c_closed, 0, "no on_close");
	ok(!evb_ws_connect(&loop, "http://x/", NULL, NULL, 0, NULL, NULL, NULL, NULL) &&
		   errno == EINVAL,
	   "http URL refused");
	ok(!evb_ws_connect(&loop, "wss://x/", NULL, NULL, 0, NULL, NULL, NULL, NULL) &&
		   errno == EINVAL,
	   "wss without TLS config refused");
	ok(!evb_ws_connect(&loop, "ws://x/", NULL, "Bad\r\n", 0, NULL, NULL, NULL, NULL) &&
		   errno == EINVAL,
	   "bad header refused");
}

/* ---- memory mode ---- */

static int m_msgs, m_closed, m_code;
static char m_last[256];

static void m_msg(struct evb_ws *ws, int kind, const uint8_t *d, size_t len, void *arg)
{
	(void)ws;
	(void)kind;
	(void)arg;
	m_msgs++;
	snprintf(m_last, sizeof(m_last), "%.*s", (int)len, (const char *)d);
}

static void m_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	(void)ws;
	(void)reason;
	(void)arg;
	m_closed = 1;
	m_code = code;
}

static void test_memory(void)
{
	/* masked "Hi" split in two fragments, a ping, then close 1000 */
	static const uint8_t in[] = {
		0x01, 0x81, 0, 0, 0, 0, 'H',
		0x89, 0x80, 1, 2, 3, 4,
		0x80, 0x81, 0, 0, 0, 0, 'i',
		0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8,
	};
	struct evb_ws *ws = evb_ws_mem_new(1, m_msg, m_close, NULL);

	diag("memory mode");
	m_msgs = m_closed = m_code = 0;
	is_int(evb_ws_mem_feed(ws, in, 10), 0, "partial input: still open");
	is_int(evb_ws_mem_feed(ws, in + 10, sizeof(in) - 10), 1, "closed after the close frame");
	is_int(m_msgs, 1, "one message");
	is_int(m_code, 1000, "code 1000");
	evb_ws_free(ws);
	m_closed = 0;
	ws = evb_ws_mem_new(1, m_msg, m_close, NULL);
	is_int(evb_ws_mem_feed(ws, "\x81\x05hello", 7), 1, "unmasked frame to a server");
	is_int(m_code, 1002, "protocol error 1002");
	evb_ws_free(ws);
}

/* The frame reader, case by case: what each input ends with (0: still
 * open), how many messages came before, and the last one. Frames to a
 * server carry the mask key 0 so their payload reads as it is. */
static void test_reader(void)
{
#define M "\0\0\0\0" /* a zero mask key */
	static const struct {
		const char *what;
		int server;
		const char *in;
		size_t len;
		int code, msgs;
		const char *last;
	} c[] = {
		{ "RSV1 set", 1, "\xc1\x82" M "hi", 8, 1002, 0, NULL },
		{ "reserved opcode 3", 1, "\x83\x80" M, 6, 1002, 0, NULL },
		{ "continuation with no message", 1, "\x80\x82" M "hi", 8, 1002, 0, NULL },
		{ "a new message inside a fragmented one", 1,
		  "\x01\x81" M "h\x81\x81" M "i", 14, 1002, 0, NULL },
		{ "fragmented ping", 1, "\x09\x80" M, 6, 1002, 0, NULL },
		{ "ping of 126 bytes", 1, "\x89\xfe\x00\x7e" M, 8, 1002, 0, NULL },
		{ "16-bit length under 126", 1, "\x81\xfe\x00\x02" M "hi", 10, 1002, 0, NULL },
		{ "64-bit length under 65536", 1,
		  "\x81\xff\0\0\0\0\0\0\0\x02" M "hi", 16, 1002, 0, NULL },
		{ "text that is not UTF-8", 1, "\x81\x82" M "\xc3\x28", 8, 1007, 0, NULL },
		{ "an overlong '/' in text", 1, "\x81\x82" M "\xc0\xaf", 8, 1007, 0, NULL },
		{ "UTF-8 split across fragments, a ping between", 1,
		  "\x01\x82" M "h\xc3\x89\x80" M "\x80\x82" M "\xa9!", 22, 0, 1, "h\xc3\xa9!" },
		{ "NUL in text is UTF-8", 1, "\x81\x83" M "a\0b", 9, 0, 1, "a" },
		{ "close of one byte", 1, "\x88\x81" M "\x03", 7, 1002, 0, NULL },
		{ "close 1005 on the wire", 1, "\x88\x82" M "\x03\xed", 8, 1002, 0, NULL },
		{ "close 999", 1, "\x88\x82" M "\x03\xe7", 8, 1002, 0, NULL },
		{ "close reason not UTF-8", 1, "\x88\x83" M "\x03\xe8\xff", 9, 1007, 0, NULL },
		{ "close without a status", 1, "\x88\x80" M, 6, 1005, 0, NULL },
		{ "close 4001, then a frame that is ignored", 1,
		  "\x88\x82" M "\x0f\xa1\x81\x82" M "hi", 16, 4001, 0, NULL },
		{ "masked frame to a client", 0, "\x81\x82" M "hi", 8, 1002, 0, NULL },
		{ "unmasked messages to a client, whole", 0, "\x81\x02hi\x82\x03" "abc", 9, 0, 2,
		  "abc" },
		{ "over the 16-byte cap in fragments", 1,
		  "\x01\x8a" M "0123456789\x80\x87" M "0123456", 29, 1009, 0, NULL },
		{ "exactly the cap", 1, "\x82\x90" M "0123456789abcdef", 22, 0, 1,
		  "0123456789abcdef" },
	};
#undef M

	diag("the frame reader");
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (size_t step = 0; step < 2; step++) {
			struct evb_ws *ws = evb_ws_mem_new(c[i].server, m_msg, m_close, NULL);
			size_t off = 0;
			int r = 0;

			m_msgs = m_closed = m_code = 0;
			m_last[0] = '\0';
			evb_ws_set_max_message(ws, 16);
			/* whole, then a byte at a time */
			while (off < c[i].len && r == 0) {
				size_t n = step ? 1 : c[i].len;
				r = evb_ws_mem_feed(ws, c[i].in + off, n);
				off += n;
			}
			ok(r == (c[i].code != 0) && m_code == c[i].code && m_msgs == c[i].msgs &&
				   (!c[i].last || strcmp(m_last, c[i].last) == 0),
			   "%s (%s): %s %d, %d message(s)", c[i].what, step ? "byte by byte" : "whole",
			   c[i].code ? "close" : "open", m_code, m_msgs);
			evb_ws_free(ws);
		}
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	evb_log_level = LOG_WARNING;
	test_reader();
	test_echo();
	test_hundred();
	test_too_big();
	test_close_codes();
	test_refused();
	test_bad_handshakes();
	test_early_frame();
	raw_case("client: wrong Sec-WebSocket-Accept", RAW_BAD_ACCEPT, 0, 3000,
		 "handshake failed: wrong Sec-WebSocket-Accept", 0);
	raw_case("client: handshake timeout", RAW_NOTHING, 0, 200, "handshake timed out", 0);
	raw_case("client: keepalive ping unanswered", RAW_SILENT_101, 50, 3000, "ping timeout", 1);
	test_queue_full();
	test_free_while_connecting();
	test_memory();
	return done_testing();
}
