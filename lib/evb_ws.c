/* WebSocket sessions: our own frame reader, and wslay's event API for
 * sending, fed from evb_stream.
 *
 * Receiving: ws_input() parses frames from the bytes just read (RFC 6455:
 * masking by role, reserved bits and opcodes, control frames, fragments,
 * the message cap, UTF-8 of text and close reasons). wslay's reader
 * checked UTF-8 with a byte-at-a-time automaton, most of evb-hume's time
 * in wslay on EVI's large audio messages; ours skips ASCII eight bytes at a
 * time, and hands an unmasked message that arrived whole to on_message
 * straight from the read buffer. What the reader must answer (a pong, a
 * close) goes into wslay's queue, and a finished reading side is told to
 * wslay with wslay_event_shutdown_read(). wslay's send callback writes straight
 * into the stream's queue, which is sized a little above the session's cap,
 * so wslay's own queue is empty after every pump and the session's cap is
 * checked once, in evb_ws_send(). Sends pump at once, also from inside
 * on_message (wslay keeps separate input and output state), so a message
 * sent before a close leaves before it: wslay sends control frames ahead
 * of queued data.
 *
 * The session is done when wslay wants neither to read (a close came in, or
 * bad input) nor to write (our close went out): then the stream ends
 * gracefully and its on_close reports the session's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <wslay/wslay.h>

#include "evb_err.h"
#include "evb_httpmsg.h"
#include "evb_log.h"
#include "evb_url.h"
#include "evb_ws.h"

#define QUEUE_SLACK (64u << 10) /* stream cap above ours: control frames */
#define RESP_MAX_BODY 4096      /* of a refused handshake, unread */
#define WHY_MAX 320

enum { WS_CONNECTING, WS_HANDSHAKE, WS_OPEN, WS_CLOSING, WS_DONE };

struct evb_ws {
	struct evb_stream *s; /* NULL in memory mode */
	wslay_event_context_ptr ctx;
	int server, mem, state;
	int freeing, reported, kick;
	void (*on_open)(struct evb_ws *ws, void *arg);
	void (*on_message)(struct evb_ws *ws, int kind, const uint8_t *data, size_t len,
			   void *arg);
	void (*on_close)(struct evb_ws *ws, int code, const char *reason, void *arg);
	void *arg;
	/* the frame reader */
	uint8_t rx_hdr[14];
	unsigned rx_hlen, rx_need; /* header bytes held, and needed so far */
	int rx_payload, rx_op, rx_fin, rx_masked, rx_done;
	uint8_t rx_mask[4];
	uint64_t rx_left, rx_pos; /* payload bytes to come, and read, of this frame */
	int msg_op;               /* the data message being assembled, 0 if none */
	uint8_t *msg;
	size_t msg_len, msg_cap;
	uint8_t ctl[125];
	size_t ctl_len;
	int close_rcvd, close_rcvd_code;
	uint8_t *pending;
	size_t pending_len;
	size_t max_msg, max_queue;
	unsigned ping_ms;
	uint64_t last_rx;
	int http_status;
	/* client handshake */
	struct evb_httpmsg *resp;
	char *request;
	size_t request_len;
	uint64_t deadline;
	char accept[EVB_WS_ACCEPT_LEN];
	char name[EVB_STREAM_HOST_MAX + 64]; /* host:port/path, never the query */
	char peer_reason[EVB_WS_REASON_MAX + 1];
	char our_reason[EVB_WS_REASON_MAX + 1];
	char why[WHY_MAX]; /* why the connection dropped (1006) */
};

static void ws_timer_cb(struct evb_stream *s, void *arg);

/* ---- helpers ---- */

int evb_ws_accept_key(const char *key, char out[EVB_WS_ACCEPT_LEN])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char cat[64 + sizeof(guid)], sha[20];
	size_t kl = strlen(key), olen;

	if (kl == 0 || kl > 64)
		return -EINVAL;
	memcpy(cat, key, kl);
	memcpy(cat + kl, guid, sizeof(guid) - 1);
	if (mbedtls_sha1_ret(cat, kl + sizeof(guid) - 1, sha) != 0 ||
	    mbedtls_base64_encode((unsigned char *)out, EVB_WS_ACCEPT_LEN, &olen, sha,
				  sizeof(sha)) != 0)
		return -EINVAL;
	return 0;
}

static void set_why(struct evb_ws *ws, const char *why)
{
	if (!ws->why[0])
		snprintf(ws->why, sizeof(ws->why), "%s", why);
}

/* Copies at most EVB_WS_REASON_MAX bytes, not cutting a UTF-8 sequence. */
static void copy_reason(char *out, const char *r, size_t n)
{
	if (n > EVB_WS_REASON_MAX) {
		n = EVB_WS_REASON_MAX;
		while (n > 0 && ((unsigned char)r[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, r, n);
	out[n] = '\0';
}

/* 1 if p[0..n) is UTF-8 (no overlong forms, surrogates or NUL). wslay
 * checks a close reason only within each chunk it reads, so a reason split
 * across reads can slip through: we check again. */
static int utf8_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c = p[i], min;
		int k;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			k = 1, c &= 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, c &= 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, c &= 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (n - i <= (size_t)k)
			return 0; /* cut short */
		for (int j = 1; j <= k; j++) {
			if ((p[i + (size_t)j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + (size_t)j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += (size_t)k + 1;
	}
	return 1;
}

/* A status code a close frame may carry (RFC 6455 7.4). */
static int valid_code(int code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

static const char *code_text(int code)
{
	switch (code) {
	case 1002: return "protocol error";
	case 1007: return "invalid payload data";
	case 1009: return "message too big";
	}
	return "";
}

static void ws_release(struct evb_ws *ws)
{
	if (ws->ctx)
		wslay_event_context_free(ws->ctx);
	evb_httpmsg_free(ws->resp);
	free(ws->request);
	free(ws->pending);
	free(ws->msg);
	free(ws);
}

/* Runs on_close once with the code and reason the session ended with. */
static void report(struct evb_ws *ws, int stream_reason)
{
	int code = 1006;
	const char *reason;

	if (ws->reported || ws->freeing)
		return;
	ws->reported = 1;
	if (ws->close_rcvd) {
		code = ws->close_rcvd_code;
		reason = ws->peer_reason;
	} else if (ws->ctx && wslay_event_get_close_sent(ws->ctx)) {
		code = wslay_event_get_status_code_sent(ws->ctx);
		reason = ws->our_reason[0] ? ws->our_reason : code_text(code);
	} else if (ws->why[0]) {
		reason = ws->why;
	} else if (ws->s && evb_stream_errstr(ws->s)[0]) {
		reason = evb_stream_errstr(ws->s);
	} else if (stream_reason < 0) {
		reason = evb_strerror(stream_reason);
	} else {
		reason = "connection closed without a close frame";
	}
	if (code == 0)
		code = 1005;
	if (ws->on_close)
		ws->on_close(ws, code, reason, ws->arg);
}

/* The session is over: let the stream finish (or report now in memory). */
static void finish(struct evb_ws *ws)
{
	if (ws->state == WS_DONE)
		return;
	ws->state = WS_DONE;
	if (ws->mem)
		report(ws, 0);
	else
		evb_stream_end(ws->s);
}

/* Drops the connection: no close handshake. */
static void drop(struct evb_ws *ws, const char *why)
{
	if (ws->state == WS_DONE)
		return;
	set_why(ws, why);
	ws->state = WS_DONE;
	if (ws->mem)
		report(ws, 0);
	else
		evb_stream_close(ws->s);
}

/* ---- wslay glue ---- */

/* wslay reads nothing: ws_input() does (see the top of the file). */
static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
		       void *user)
{
	(void)buf;
	(void)len;
	(void)flags;
	(void)user;
	wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
	return -1;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
		       int flags, void *user)
{
	struct evb_ws *ws = user;
	int r;

	if (ws->mem)
		return (ssize_t)len;
	/* wslay hands over a frame's header, then its payload. */
	r = (flags & WSLAY_MSG_MORE) ? evb_stream_write_more(ws->s, data, len)
				     : evb_stream_write(ws->s, data, len);
	if (r == EVB_EFULL) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (r < 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	(void)user;
	if (evb_tls_random(buf, len) < 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return 0;
}

static const struct wslay_event_callbacks wslay_cbs = {
	.recv_callback = recv_cb,
	.send_callback = send_cb,
	.genmask_callback = genmask_cb,
};

static int ctx_init(struct evb_ws *ws)
{
	int r = ws->server ? wslay_event_context_server_init(&ws->ctx, &wslay_cbs, ws)
			   : wslay_event_context_client_init(&ws->ctx, &wslay_cbs, ws);

	if (r != 0)
		return -ENOMEM;
	return 0;
}

/* Sends what wslay has queued and ends the session once it is over. */
static void pump(struct evb_ws *ws)
{
	if (ws->state < WS_OPEN || ws->state == WS_DONE || ws->freeing)
		return;
	if (wslay_event_send(ws->ctx) != 0) {
		drop(ws, "unable to send");
		return;
	}
	if (!ws->mem)
		(void)evb_stream_write(ws->s, "", 0); /* a header held for its payload leaves */
	if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx))
		finish(ws);
}

/* ---- the frame reader ---- */

/* 1 if p[0..n) is UTF-8 as RFC 3629 has it (NUL allowed): ASCII is skipped
 * eight bytes at a time, the rest checked by utf8_ok(). */
static int text_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		uint64_t w;

		while (i + 8 <= n) {
			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		while (i < n && p[i] < 0x80)
			i++;
		if (i == n)
			return 1;
		/* A non-ASCII sequence: check it alone (at most 4 bytes). */
		{
			size_t k = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;

			if (k > n - i || !utf8_ok(p + i, k))
				return 0;
			i += k;
		}
	}
}

/* Reading is over: a close came in, or bad input. wslay is told so that
 * the session ends once our close (queued here unless sent already, with
 * code and reason: a received close is echoed) has gone out. code 0 sends
 * a close without a status. */
static void rx_stop(struct evb_ws *ws, int code, const uint8_t *reason, size_t n)
{
	ws->rx_done = 1;
	(void)wslay_event_queue_close(ws->ctx, (uint16_t)code, reason, n);
	wslay_event_shutdown_read(ws->ctx);
}

static int rx_fail(struct evb_ws *ws, int code, const char *why)
{
	set_why(ws, why);
	rx_stop(ws, code, NULL, 0);
	return -1;
}

/* A whole control frame. Returns -1 once reading is over. */
static int rx_control(struct evb_ws *ws, const uint8_t *p, size_t n)
{
	if (ws->rx_op == WSLAY_PING) {
		struct wslay_event_msg m = { WSLAY_PONG, p, n };

		(void)wslay_event_queue_msg(ws->ctx, &m);
		return 0;
	}
	if (ws->rx_op == WSLAY_PONG)
		return 0;
	/* close */
	if (n == 1)
		return rx_fail(ws, 1002, "close frame of one byte");
	if (n >= 2) {
		int code = p[0] << 8 | p[1];

		if (!valid_code(code))
			return rx_fail(ws, 1002, "close with an invalid status code");
		if (n > 2 && !text_ok(p + 2, n - 2))
			return rx_fail(ws, 1007, "close reason is not UTF-8");
		ws->close_rcvd_code = code;
		copy_reason(ws->peer_reason, (const char *)p + 2, n - 2);
	} else {
		ws->close_rcvd_code = 1005;
	}
	ws->close_rcvd = 1;
	rx_stop(ws, ws->close_rcvd_code == 1005 ? 0 : ws->close_rcvd_code, n > 2 ? p + 2 : NULL,
		n > 2 ? n - 2 : 0);
	return -1;
}

/* A whole data message. Returns -1 when the session went away meanwhile. */
static int rx_message(struct evb_ws *ws, int op, const uint8_t *p, size_t n)
{
	if (op == WSLAY_TEXT_FRAME && !text_ok(p, n))
		return rx_fail(ws, 1007, "text message is not UTF-8");
	if (ws->state == WS_OPEN && ws->on_message)
		ws->on_message(ws, op == WSLAY_TEXT_FRAME ? EVB_WS_TEXT : EVB_WS_BINARY,
			       n ? p : (const uint8_t *)"", n, ws->arg);
	return ws->freeing || ws->state == WS_DONE ? -1 : 0;
}

/* The header in rx_hdr is complete: check it and start the payload. */
static int rx_header(struct evb_ws *ws)
{
	const uint8_t *h = ws->rx_hdr;
	int op = h[0] & 0x0f, ctl = op & 0x08;
	uint64_t len = h[1] & 0x7f;
	unsigned at = 2;

	if (h[0] & 0x70)
		return rx_fail(ws, 1002, "reserved bits set");
	if (op != 0 && op != WSLAY_TEXT_FRAME && op != WSLAY_BINARY_FRAME &&
	    op != WSLAY_CONNECTION_CLOSE && op != WSLAY_PING && op != WSLAY_PONG)
		return rx_fail(ws, 1002, "reserved opcode");
	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		at = 4;
		if (len < 126)
			return rx_fail(ws, 1002, "length not in its shortest form");
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
		at = 10;
		if (len <= 0xffff || len >> 63)
			return rx_fail(ws, 1002, "bad 64-bit length");
	}
	ws->rx_masked = h[1] >> 7;
	if (ws->rx_masked != ws->server)
		return rx_fail(ws, 1002, ws->server ? "client frame not masked"
						    : "server frame masked");
	if (ws->rx_masked)
		memcpy(ws->rx_mask, h + at, 4);
	ws->rx_fin = h[0] >> 7;
	if (ctl) {
		if (!ws->rx_fin || len > 125)
			return rx_fail(ws, 1002, "bad control frame");
		ws->ctl_len = 0;
	} else if (op == 0) {
		if (!ws->msg_op)
			return rx_fail(ws, 1002, "continuation without a message");
	} else if (ws->msg_op) {
		return rx_fail(ws, 1002, "new message inside a fragmented one");
	} else {
		ws->msg_op = op;
		ws->msg_len = 0;
	}
	if (!ctl && len > ws->max_msg - ws->msg_len)
		return rx_fail(ws, 1009, "message too big");
	ws->rx_op = op ? op : ws->msg_op;
	ws->rx_left = len;
	ws->rx_pos = 0;
	ws->rx_payload = 1;
	return 0;
}

/* Copies (unmasking) n payload bytes to out. */
static void rx_copy(struct evb_ws *ws, uint8_t *out, const uint8_t *p, size_t n)
{
	if (!ws->rx_masked) {
		memcpy(out, p, n);
	} else {
		for (size_t i = 0; i < n; i++)
			out[i] = p[i] ^ ws->rx_mask[(ws->rx_pos + i) & 3];
	}
	ws->rx_pos += n;
}

/* The current frame's payload is complete. */
static int rx_frame_end(struct evb_ws *ws)
{
	int op = ws->rx_op;

	ws->rx_payload = 0;
	ws->rx_hlen = 0;
	ws->rx_need = 2;
	if (op & 0x08)
		return rx_control(ws, ws->ctl, ws->ctl_len);
	if (!ws->rx_fin)
		return 0;
	ws->msg_op = 0;
	return rx_message(ws, op, ws->msg, ws->msg_len);
}

/* Parses frames from data; stops at the end of it, or once reading is over
 * or the session went away. */
static void rx_feed(struct evb_ws *ws, const uint8_t *data, size_t len)
{
	while (len > 0 && !ws->rx_done) {
		if (!ws->rx_payload) {
			size_t k;

			if (ws->rx_need < 2)
				ws->rx_need = 2;
			k = ws->rx_need - ws->rx_hlen < len ? ws->rx_need - ws->rx_hlen : len;
			memcpy(ws->rx_hdr + ws->rx_hlen, data, k);
			ws->rx_hlen += (unsigned)k;
			data += k;
			len -= k;
			if (ws->rx_hlen < ws->rx_need)
				return;
			if (ws->rx_hlen == 2) { /* now the header's full size is known */
				unsigned l7 = ws->rx_hdr[1] & 0x7f;

				ws->rx_need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) +
					      (ws->rx_hdr[1] & 0x80 ? 4 : 0);
				if (ws->rx_need > 2)
					continue;
			}
			if (rx_header(ws) < 0)
				return;
			/* A whole unmasked, unfragmented message already here: no copy. */
			if (!ws->rx_masked && ws->rx_fin && !(ws->rx_op & 0x08) &&
			    ws->msg_len == 0 && ws->rx_left <= len) {
				size_t n = (size_t)ws->rx_left;

				ws->rx_payload = 0;
				ws->rx_hlen = 0;
				ws->rx_need = 2;
				ws->msg_op = 0;
				if (rx_message(ws, ws->rx_op, data, n) < 0)
					return;
				data += n;
				len -= n;
				continue;
			}
			if (!(ws->rx_op & 0x08) && ws->msg_cap - ws->msg_len < ws->rx_left) {
				size_t cap = ws->msg_cap ? ws->msg_cap : 4096;
				uint8_t *m;

				while (cap - ws->msg_len < ws->rx_left)
					cap *= 2;
				if (!(m = realloc(ws->msg, cap))) {
					drop(ws, "out of memory");
					return;
				}
				ws->msg = m;
				ws->msg_cap = cap;
			}
			if (ws->rx_left == 0 && rx_frame_end(ws) < 0)
				return;
			continue;
		}
		{
			size_t k = ws->rx_left < len ? (size_t)ws->rx_left : len;

			if (ws->rx_op & 0x08) {
				rx_copy(ws, ws->ctl + ws->ctl_len, data, k);
				ws->ctl_len += k;
			} else {
				rx_copy(ws, ws->msg + ws->msg_len, data, k);
				ws->msg_len += k;
			}
			data += k;
			len -= k;
			ws->rx_left -= k;
			if (ws->rx_left == 0 && rx_frame_end(ws) < 0)
				return;
		}
	}
}

static void ws_input(struct evb_ws *ws, const uint8_t *data, size_t len)
{
	if (ws->mem == 0)
		ws->last_rx = uv_now(evb_stream_loop(ws->s));
	rx_feed(ws, data, len);
	if (ws->freeing || ws->state == WS_DONE)
		return;
	/* A big message buffer goes back once idle. */
	if (!ws->msg_op && ws->msg_cap > (256u << 10)) {
		free(ws->msg);
		ws->msg = NULL;
		ws->msg_cap = 0;
	}
	pump(ws);
}

/* ---- stream callbacks ---- */

static void ws_on_stream_close(struct evb_stream *s, int reason, void *arg)
{
	struct evb_ws *ws = arg;

	(void)s;
	ws->state = WS_DONE;
	report(ws, reason);
	ws_release(ws);
}

static int check_response(struct evb_ws *ws)
{
	const char *v;

	if (!evb_http_has_token(evb_httpmsg_header(ws->resp, "Upgrade"), "websocket") ||
	    !evb_http_has_token(evb_httpmsg_header(ws->resp, "Connection"), "upgrade")) {
		set_why(ws, "handshake failed: no 'Upgrade: websocket' in the response");
		return -1;
	}
	v = evb_httpmsg_header(ws->resp, "Sec-WebSocket-Accept");
	if (!v || strcmp(v, ws->accept) != 0) {
		set_why(ws, "handshake failed: wrong Sec-WebSocket-Accept");
		return -1;
	}
	if (evb_httpmsg_header(ws->resp, "Sec-WebSocket-Extensions")) {
		set_why(ws, "handshake failed: extension not asked for");
		return -1;
	}
	return 0;
}

static void arm_ping(struct evb_ws *ws)
{
	if (!ws->mem && ws->state == WS_OPEN && ws->ping_ms)
		evb_stream_set_timer(ws->s, ws->ping_ms, ws_timer_cb);
}

static void handshake_read(struct evb_ws *ws, const uint8_t *data, size_t len)
{
	size_t used;
	int r = evb_httpmsg_feed(ws->resp, data, len, &used);
	char why[96];

	if (evb_httpmsg_phase(ws->resp) >= EVB_HTTPMSG_BODY) {
		ws->http_status = evb_httpmsg_status(ws->resp);
		if (ws->http_status != 101) {
			snprintf(why, sizeof(why), "handshake refused: HTTP %d", ws->http_status);
			drop(ws, why);
			return;
		}
	}
	if (r < 0) {
		drop(ws, "handshake failed: bad HTTP response");
		return;
	}
	if (r == 0)
		return;
	if (check_response(ws) < 0 || ctx_init(ws) < 0) {
		drop(ws, "handshake failed");
		return;
	}
	evb_httpmsg_free(ws->resp);
	ws->resp = NULL;
	ws->state = WS_OPEN;
	ws->last_rx = uv_now(evb_stream_loop(ws->s));
	evb_stream_set_max_queue(ws->s, ws->max_queue + QUEUE_SLACK);
	evb_stream_stop_timer(ws->s);
	arm_ping(ws);
	EVB_LOG(LOG_DEBUG, "ws", "connected to '%s'", ws->name);
	if (ws->on_open)
		ws->on_open(ws, ws->arg);
	if (ws->state == WS_OPEN && !ws->freeing && used < len)
		ws_input(ws, data + used, len - used);
}

static void ws_on_read(struct evb_stream *s, const uint8_t *data, size_t len, void *arg)
{
	struct evb_ws *ws = arg;

	(void)s;
	if (ws->freeing || ws->state == WS_DONE)
		return;
	if (ws->state == WS_HANDSHAKE)
		handshake_read(ws, data, len);
	else
		ws_input(ws, data, len);
}

static void ws_timer_cb(struct evb_stream *s, void *arg)
{
	struct evb_ws *ws = arg;
	uint64_t now = uv_now(evb_stream_loop(s));

	if (ws->freeing || ws->state == WS_DONE)
		return;
	if (ws->kick) { /* a server session's first iteration */
		ws->kick = 0;
		if (ws->pending_len > 0)
			ws_input(ws, ws->pending, ws->pending_len);
		free(ws->pending);
		ws->pending = NULL;
		ws->pending_len = 0;
		if (ws->freeing || ws->state == WS_DONE)
			return;
		evb_stream_resume(s);
		if (ws->state == WS_OPEN)
			arm_ping(ws);
		return;
	}
	switch (ws->state) {
	case WS_HANDSHAKE:
		drop(ws, "handshake timed out");
		break;
	case WS_OPEN:
		if (!ws->ping_ms)
			break;
		if (now - ws->last_rx > 2 * (uint64_t)ws->ping_ms) {
			drop(ws, "ping timeout");
			break;
		}
		{
			struct wslay_event_msg m = { WSLAY_PING, NULL, 0 };
			(void)wslay_event_queue_msg(ws->ctx, &m);
		}
		pump(ws);
		arm_ping(ws);
		break;
	case WS_CLOSING:
		drop(ws, "close handshake timed out"); /* reported as our close */
		break;
	}
}

static void ws_on_connect(struct evb_stream *s, int status, void *arg)
{
	struct evb_ws *ws = arg;
	uint64_t now = uv_now(evb_stream_loop(s)), left;
	int r;

	if (status < 0) {
		set_why(ws, evb_stream_errstr(s)[0] ? evb_stream_errstr(s) : evb_strerror(status));
		ws->s = NULL;
		ws->state = WS_DONE;
		report(ws, status);
		ws_release(ws);
		return;
	}
	ws->state = WS_HANDSHAKE;
	r = evb_stream_start(s, ws_on_read, ws_on_stream_close, ws);
	if (r == 0)
		r = evb_stream_write(s, ws->request, ws->request_len);
	if (r < 0) {
		drop(ws, evb_strerror(r));
		return;
	}
	free(ws->request);
	ws->request = NULL;
	left = ws->deadline > now ? ws->deadline - now : 0;
	if (ws->deadline)
		evb_stream_set_timer(s, left, ws_timer_cb);
}

/* ---- public ---- */

static struct evb_ws *ws_alloc(int server)
{
	struct evb_ws *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return NULL;
	ws->server = server;
	ws->max_msg = EVB_WS_MAX_MESSAGE;
	ws->max_queue = EVB_WS_MAX_QUEUE;
	return ws;
}

static char *build_request(const struct evb_url *u, const char *key, const char *headers,
			   size_t *len)
{
	const char *q = evb_url_query(u);
	size_t cap = strlen(evb_url_path(u)) + (q ? strlen(q) : 0) +
		     strlen(evb_url_hostport(u)) + strlen(key) + strlen(headers) + 256;
	char *req = malloc(cap);
	int n;

	if (!req)
		return NULL;
	n = snprintf(req, cap,
		     "GET %s%s%s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n"
		     "%s\r\n",
		     evb_url_path(u), q ? "?" : "", q ? q : "", evb_url_hostport(u), key, headers);
	*len = (size_t)n;
	return req;
}

struct evb_ws *evb_ws_connect(uv_loop_t *loop, const char *url, struct evb_tls_config *tls,
			      const char *headers, unsigned timeout_ms,
			      void (*on_open)(struct evb_ws *ws, void *arg),
			      void (*on_message)(struct evb_ws *ws, int kind, const uint8_t *data,
						 size_t len, void *arg),
			      void (*on_close)(struct evb_ws *ws, int code, const char *reason,
					       void *arg),
			      void *arg)
{
	struct evb_url *u = evb_url_parse(url);
	struct evb_ws *ws = NULL;
	unsigned char raw[16];
	char key[32];
	size_t klen;
	int e = EINVAL;

	if (!u)
		return NULL;
	if (!headers)
		headers = "";
	if (strncmp(evb_url_scheme(u), "ws", 2) != 0 || (evb_url_is_tls(u) && !tls) ||
	    !evb_http_valid_header_block(headers))
		goto fail;
	e = ENOMEM;
	ws = ws_alloc(0);
	if (!ws)
		goto fail;
	e = EIO;
	if (evb_tls_random(raw, sizeof(raw)) < 0 ||
	    mbedtls_base64_encode((unsigned char *)key, sizeof(key), &klen, raw, sizeof(raw)) != 0 ||
	    evb_ws_accept_key(key, ws->accept) < 0)
		goto fail;
	e = ENOMEM;
	ws->request = build_request(u, key, headers, &ws->request_len);
	ws->resp = evb_httpmsg_new(1, RESP_MAX_BODY);
	if (!ws->request || !ws->resp)
		goto fail;
	ws->on_open = on_open;
	ws->on_message = on_message;
	ws->on_close = on_close;
	ws->arg = arg;
	snprintf(ws->name, sizeof(ws->name), "%s%s", evb_url_hostport(u), evb_url_path(u));
	if (timeout_ms)
		ws->deadline = uv_now(loop) + timeout_ms;
	ws->s = evb_stream_connect(loop, evb_url_host(u), evb_url_port(u),
				   evb_url_is_tls(u) ? tls : NULL, timeout_ms, ws_on_connect, ws);
	if (!ws->s) {
		e = errno;
		goto fail;
	}
	EVB_LOG(LOG_DEBUG, "ws", "connecting to '%s'", ws->name);
	evb_url_free(u);
	return ws;

fail:
	if (ws)
		ws_release(ws);
	evb_url_free(u);
	errno = e;
	return NULL;
}

struct evb_ws *evb_ws_server_new(struct evb_stream *s, const void *pending, size_t len,
				 void (*on_message)(struct evb_ws *ws, int kind,
						    const uint8_t *data, size_t len, void *arg),
				 void (*on_close)(struct evb_ws *ws, int code, const char *reason,
						  void *arg),
				 void *arg)
{
	struct evb_ws *ws = ws_alloc(1);
	int r;

	if (!ws)
		return NULL;
	if (len > 0) {
		ws->pending = malloc(len);
		if (!ws->pending)
			goto fail;
		memcpy(ws->pending, pending, len);
		ws->pending_len = len;
	}
	if (ctx_init(ws) < 0)
		goto fail;
	ws->s = s;
	ws->on_message = on_message;
	ws->on_close = on_close;
	ws->arg = arg;
	ws->state = WS_OPEN;
	ws->http_status = 101;
	snprintf(ws->name, sizeof(ws->name), "%s", evb_stream_peer(s));
	evb_stream_pause(s); /* the pending bytes go first */
	r = evb_stream_start(s, ws_on_read, ws_on_stream_close, ws);
	if (r < 0) {
		errno = -r;
		ws->s = NULL;
		ws_release(ws);
		return NULL;
	}
	evb_stream_set_max_queue(s, ws->max_queue + QUEUE_SLACK);
	ws->last_rx = uv_now(evb_stream_loop(s));
	ws->kick = 1;
	evb_stream_set_timer(s, 0, ws_timer_cb);
	return ws;

fail:
	ws_release(ws);
	errno = ENOMEM;
	return NULL;
}

int evb_ws_send(struct evb_ws *ws, int kind, const void *data, size_t len)
{
	struct wslay_event_msg m;
	int r;

	if (ws->state != WS_OPEN || ws->freeing)
		return -ENOTCONN;
	if (kind != EVB_WS_TEXT && kind != EVB_WS_BINARY)
		return -EINVAL;
	if (!ws->mem && evb_stream_queued(ws->s) + len > ws->max_queue)
		return EVB_EFULL;
	m.opcode = kind == EVB_WS_TEXT ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME;
	m.msg = data;
	m.msg_length = len;
	r = wslay_event_queue_msg(ws->ctx, &m);
	if (r == WSLAY_ERR_NOMEM)
		return -ENOMEM;
	if (r != 0)
		return r == WSLAY_ERR_NO_MORE_MSG ? -ENOTCONN : -EINVAL;
	pump(ws);
	return 0;
}

void evb_ws_close(struct evb_ws *ws, int code, const char *reason)
{
	if (ws->freeing || ws->state == WS_CLOSING || ws->state == WS_DONE)
		return;
	if (ws->state != WS_OPEN) {
		evb_ws_free(ws);
		return;
	}
	if (!valid_code(code))
		code = 1000;
	copy_reason(ws->our_reason, reason ? reason : "", reason ? strlen(reason) : 0);
	if (wslay_event_queue_close(ws->ctx, (uint16_t)code, (const uint8_t *)ws->our_reason,
				    strlen(ws->our_reason)) != 0) {
		drop(ws, "unable to queue a close frame");
		return;
	}
	ws->state = WS_CLOSING;
	if (!ws->mem)
		evb_stream_set_timer(ws->s, EVB_WS_CLOSE_MS, ws_timer_cb);
	pump(ws);
}

void evb_ws_free(struct evb_ws *ws)
{
	if (ws->freeing)
		return;
	if (ws->mem) {
		ws_release(ws);
		return;
	}
	if (ws->state == WS_CONNECTING) {
		evb_stream_close(ws->s); /* not connected: no callback comes */
		ws_release(ws);
		return;
	}
	ws->freeing = 1;
	ws->state = WS_DONE;
	evb_stream_close(ws->s); /* its on_close frees ws */
}

void evb_ws_set_max_message(struct evb_ws *ws, size_t bytes)
{
	ws->max_msg = bytes;
}

void evb_ws_set_max_queue(struct evb_ws *ws, size_t bytes)
{
	ws->max_queue = bytes;
	if (ws->s && ws->state >= WS_OPEN)
		evb_stream_set_max_queue(ws->s, bytes + QUEUE_SLACK);
}

void evb_ws_set_ping_interval(struct evb_ws *ws, unsigned ms)
{
	ws->ping_ms = ms;
	if (!ws->kick)
		arm_ping(ws);
}

size_t evb_ws_queued(const struct evb_ws *ws)
{
	return ws->s && ws->state >= WS_HANDSHAKE ? evb_stream_queued(ws->s) : 0;
}

const char *evb_ws_peer(const struct evb_ws *ws)
{
	return ws->s ? evb_stream_peer(ws->s) : "";
}

int evb_ws_http_status(const struct evb_ws *ws)
{
	return ws->http_status;
}

/* ---- memory mode ---- */

struct evb_ws *evb_ws_mem_new(int server,
			      void (*on_message)(struct evb_ws *ws, int kind, const uint8_t *data,
						 size_t len, void *arg),
			      void (*on_close)(struct evb_ws *ws, int code, const char *reason,
					       void *arg),
			      void *arg)
{
	struct evb_ws *ws = ws_alloc(server);

	if (!ws)
		return NULL;
	ws->mem = 1;
	if (ctx_init(ws) < 0) {
		free(ws);
		errno = ENOMEM;
		return NULL;
	}
	ws->on_message = on_message;
	ws->on_close = on_close;
	ws->arg = arg;
	ws->state = WS_OPEN;
	return ws;
}

int evb_ws_mem_feed(struct evb_ws *ws, const void *data, size_t len)
{
	if (ws->state != WS_DONE)
		ws_input(ws, data, len);
	return ws->state == WS_DONE;
}
