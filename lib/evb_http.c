/* HTTP/1.1 server.
 *
 * A connection parses until one request is complete and keeps the bytes
 * after it in "buf", where what arrives while the request is with the
 * handler also goes (reading goes on, up to BUF_PAUSE, so that a client
 * leaving is noticed). When the request is answered, the response is queued
 * and, on the next loop iteration (a 0 ms stream timer), parsing resumes
 * with "buf" and then the stream. So responses leave in request order, a
 * slow handler holds back only its own connection, and the handler never
 * runs from inside an API call.
 *
 * The request lives inside its connection, which therefore outlives its
 * stream until the request is answered. "in_cb" counts our callbacks on the
 * stack: a connection is only freed when none is. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <mbedtls/base64.h>

#include "evb_err.h"
#include "evb_http.h"
#include "evb_log.h"
#include "evb_stream.h"

#define BUF_MAX (256u << 10)  /* bytes read past a request, waiting */
#define BUF_PAUSE (64u << 10) /* stop reading beyond this many */

struct hconn;

struct evb_http_req {
	struct hconn *c;
	char *hdrs; /* added response lines */
	size_t hdrs_len;
	void (*abort_cb)(struct evb_http_req *req, void *arg);
	void *abort_arg;
	char accept[EVB_WS_ACCEPT_LEN]; /* set for a valid WebSocket upgrade */
};

struct hconn {
	struct evb_http_server *srv; /* NULL once the server is gone */
	struct evb_stream *s;        /* NULL once closed or handed over */
	struct evb_httpmsg *msg;
	struct evb_http_req req;
	struct hconn *prev, *next;
	uint8_t *buf;
	size_t buf_len, buf_cap;
	unsigned header_ms, body_ms, idle_ms;
	int busy, closing, in_cb, tls, continued, served, ws_badver, next_pending;
	char peer[EVB_STREAM_HOST_MAX + 16];
};

struct evb_http_server {
	struct evb_stream_listener *lst;
	void (*on_request)(struct evb_http_req *req, void *arg);
	void *arg;
	size_t max_body;
	unsigned header_ms, body_ms, idle_ms;
	struct hconn *conns;
	size_t nconns;
	int tls;
};

static void conn_parse(struct hconn *c, const uint8_t *data, size_t len);

/* ---- responses ---- */

const char *evb_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "";
}

static const char *status_slug(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 408: return "request_timeout";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 414: return "uri_too_long";
	case 415: return "unsupported_media_type";
	case 422: return "unprocessable_entity";
	case 429: return "too_many_requests";
	case 431: return "headers_too_large";
	case 501: return "not_implemented";
	case 502: return "bad_gateway";
	case 503: return "service_unavailable";
	case 505: return "http_version_not_supported";
	}
	return status >= 500 ? "internal_error" : "error";
}

/* Writes an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), locale-free. */
static void http_date(char *out, size_t cap)
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char mons[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		 tm.tm_mday, mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

static char *error_json(int status, const char *code, const char *message, size_t *len)
{
	json_t *j = json_pack("{s:b,s:{s:s,s:s}}", "success", 0, "error", "code",
			      code ? code : status_slug(status), "message",
			      message ? message : evb_http_reason(status));
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	*len = s ? strlen(s) : 0;
	return s;
}

/* Queues a response on c's stream. extra: header lines or NULL. Returns 0 or
 * a negative error, after which the connection is closed. */
static int write_response(struct hconn *c, int status, const char *ctype, const char *extra,
			  size_t extra_len, const void *body, size_t len, int head)
{
	char date[40], hdr[512];
	int n, r, nobody = status < 200 || status == 204 || status == 304;

	http_date(date, sizeof(date));
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
		     evb_http_reason(status), date);
	if (ctype && !nobody)
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Content-Type: %s\r\n", ctype);
	if (!nobody)
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Content-Length: %zu\r\n", len);
	if (status != 101)
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Connection: %s\r\n",
			      c->closing ? "close" : "keep-alive");
	if ((size_t)n >= sizeof(hdr))
		return -EINVAL; /* a content type that long is a bug */
	r = evb_stream_write(c->s, hdr, (size_t)n);
	if (r == 0 && extra_len)
		r = evb_stream_write(c->s, extra, extra_len);
	if (r == 0)
		r = evb_stream_write(c->s, "\r\n", 2);
	if (r == 0 && len && !nobody && !head)
		r = evb_stream_write(c->s, body, len);
	if (r < 0) {
		EVB_LOG(LOG_WARNING, "http", "unable to answer '%s': %s", c->peer,
			evb_strerror(r));
		evb_stream_close(c->s);
	}
	return r;
}

/* Answers without a handler (bad request, timeout) and ends the connection. */
static void conn_fail(struct hconn *c, int status, const char *message)
{
	size_t len;
	char *body = error_json(status, NULL, message, &len);
	const char *extra = c->ws_badver ? "Sec-WebSocket-Version: 13\r\n" : NULL;

	c->closing = 1;
	evb_stream_stop_timer(c->s);
	if (write_response(c, status, "application/json", extra, extra ? strlen(extra) : 0,
			   body ? body : "", body ? len : 0, 0) == 0)
		evb_stream_end(c->s);
	free(body);
}

/* ---- connections ---- */

static void conn_unlink(struct hconn *c)
{
	struct evb_http_server *srv = c->srv;

	if (!srv)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	c->srv = NULL;
	c->prev = c->next = NULL;
}

static void conn_maybe_free(struct hconn *c)
{
	if (c->s || c->busy || c->in_cb)
		return;
	conn_unlink(c);
	evb_httpmsg_free(c->msg);
	free(c->req.hdrs);
	free(c->buf);
	free(c);
}

static void conn_timeout(struct evb_stream *s, void *arg)
{
	struct hconn *c = arg;
	int phase = evb_httpmsg_phase(c->msg);

	if (c->busy || c->closing)
		return;
	if (phase == EVB_HTTPMSG_IDLE) {
		evb_stream_close(s);
		return;
	}
	EVB_LOG(LOG_INFO, "http", "'%s' too slow sending its request", c->peer);
	conn_fail(c, 408, phase == EVB_HTTPMSG_HEAD ? "request headers not received in time"
						    : "request body not received in time");
}

/* Arms the deadline of the phase the parser moved into. */
static void conn_phase_timer(struct hconn *c, int before, int after)
{
	if (before == after || c->closing)
		return;
	if (after == EVB_HTTPMSG_HEAD && c->served)
		evb_stream_set_timer(c->s, c->header_ms, conn_timeout);
	else if (after == EVB_HTTPMSG_BODY)
		evb_stream_set_timer(c->s, c->body_ms, conn_timeout);
}

/* Keeps the len bytes at data (possibly inside c->buf) for later. */
static int keep_rest(struct hconn *c, const uint8_t *data, size_t len)
{
	if (len == 0) {
		c->buf_len = 0;
		return 0;
	}
	if (data >= c->buf && data < c->buf + c->buf_cap) {
		memmove(c->buf, data, len);
		c->buf_len = len;
		return 0;
	}
	if (len > BUF_MAX)
		return -ENOMEM;
	if (len > c->buf_cap) {
		uint8_t *p = realloc(c->buf, len);

		if (!p)
			return -ENOMEM;
		c->buf = p;
		c->buf_cap = len;
	}
	memcpy(c->buf, data, len);
	c->buf_len = len;
	return 0;
}

static void dispatch(struct hconn *c)
{
	struct evb_httpmsg *m = c->msg;
	struct evb_http_server *srv = c->srv;
	int r;

	c->busy = 1;
	c->served = 1;
	evb_stream_stop_timer(c->s);
	c->req.hdrs_len = 0;
	c->req.abort_cb = NULL;
	c->req.accept[0] = '\0';
	if (!evb_httpmsg_keep_alive(m))
		c->closing = 1;
	r = evb_http_ws_check(m, c->req.accept);
	if (r < 0 || !srv) {
		c->busy = 0;
		c->req.accept[0] = '\0';
		c->ws_badver = r == -EPROTONOSUPPORT;
		conn_fail(c, srv ? 400 : 503, r == -EPROTONOSUPPORT
						      ? "unsupported WebSocket version"
						      : "bad WebSocket handshake");
		return;
	}
	if (r == 1)
		c->req.accept[0] = '\0';
	srv->on_request(&c->req, srv->arg); /* the caller holds in_cb */
}

/* Parses len bytes (from the stream, or c->buf itself) until one request is
 * complete: it is dispatched and what follows is kept. */
static void conn_parse(struct hconn *c, const uint8_t *data, size_t len)
{
	size_t used;
	int before, after, r;

	while (len > 0) {
		before = evb_httpmsg_phase(c->msg);
		r = evb_httpmsg_feed(c->msg, data, len, &used);
		after = evb_httpmsg_phase(c->msg);
		if (r < 0) {
			EVB_LOG(LOG_INFO, "http", "bad request from '%s': %s", c->peer,
				evb_httpmsg_errstr(c->msg));
			c->buf_len = 0;
			conn_fail(c, evb_httpmsg_error_status(c->msg), evb_httpmsg_errstr(c->msg));
			return;
		}
		conn_phase_timer(c, before, after);
		if (after == EVB_HTTPMSG_BODY && !c->continued &&
		    evb_http_has_token(evb_httpmsg_header(c->msg, "Expect"), "100-continue")) {
			c->continued = 1;
			(void)evb_stream_write(c->s, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		}
		data += used;
		len -= used;
		if (r == 1) {
			if (keep_rest(c, data, len) < 0) {
				evb_stream_close(c->s);
				return;
			}
			dispatch(c);
			return;
		}
	}
	c->buf_len = 0;
}

static void conn_read(struct hconn *c, struct evb_stream *s, const uint8_t *data, size_t len)
{
	if (c->closing)
		return;
	if (c->busy || c->buf_len > 0) { /* queue behind the request in hand */
		if (c->buf_len + len > BUF_MAX) {
			evb_stream_close(s);
			return;
		}
		if (c->buf_len + len > c->buf_cap) {
			uint8_t *p = realloc(c->buf, c->buf_len + len);

			if (!p) {
				evb_stream_close(s);
				return;
			}
			c->buf = p;
			c->buf_cap = c->buf_len + len;
		}
		memcpy(c->buf + c->buf_len, data, len);
		c->buf_len += len;
		if (!c->busy)
			conn_parse(c, c->buf, c->buf_len);
		else if (c->buf_len >= BUF_PAUSE)
			evb_stream_pause(s); /* conn_next() resumes */
		return;
	}
	conn_parse(c, data, len);
}

static void conn_on_read(struct evb_stream *s, const uint8_t *data, size_t len, void *arg)
{
	struct hconn *c = arg;

	c->in_cb++;
	conn_read(c, s, data, len);
	c->in_cb--;
	conn_maybe_free(c);
}

/* After an answer: parse what was kept, then read again. */
static void conn_next(struct evb_stream *s, void *arg)
{
	struct hconn *c = arg;

	c->next_pending = 0;
	if (c->busy || c->closing)
		return;
	c->in_cb++;
	if (c->buf_len > 0)
		conn_parse(c, c->buf, c->buf_len);
	c->in_cb--;
	if (c->busy || c->closing || !c->s || c->next_pending) {
		conn_maybe_free(c);
		return;
	}
	evb_stream_resume(s);
	if (evb_httpmsg_phase(c->msg) == EVB_HTTPMSG_IDLE)
		evb_stream_set_timer(s, c->idle_ms, conn_timeout);
	/* else conn_phase_timer() armed the phase's deadline */
}

static void conn_on_close(struct evb_stream *s, int reason, void *arg)
{
	struct hconn *c = arg;

	(void)s;
	(void)reason;
	c->s = NULL;
	conn_unlink(c);
	if (c->busy && c->req.abort_cb) {
		c->in_cb++;
		c->req.abort_cb(&c->req, c->req.abort_arg);
		c->in_cb--;
	}
	conn_maybe_free(c);
}

static void on_accept(struct evb_stream_listener *l, struct evb_stream *s, void *arg)
{
	struct evb_http_server *srv = arg;
	struct hconn *c;

	(void)l;
	if (srv->nconns >= EVB_HTTP_MAX_CONNS) {
		EVB_LOG(LOG_WARNING, "http", "dropping '%s': %d connections already",
			evb_stream_peer(s), EVB_HTTP_MAX_CONNS);
		evb_stream_close(s);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->msg = evb_httpmsg_new(0, srv->max_body))) {
		free(c);
		evb_stream_close(s);
		return;
	}
	c->srv = srv;
	c->s = s;
	c->req.c = c;
	c->tls = srv->tls;
	c->header_ms = srv->header_ms;
	c->body_ms = srv->body_ms;
	c->idle_ms = srv->idle_ms;
	snprintf(c->peer, sizeof(c->peer), "%s", evb_stream_peer(s));
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	evb_stream_set_max_queue(s, EVB_HTTP_MAX_RESPONSE);
	if (evb_stream_start(s, conn_on_read, conn_on_close, c) < 0) {
		conn_unlink(c);
		evb_httpmsg_free(c->msg);
		free(c);
		evb_stream_close(s);
		return;
	}
	evb_stream_set_timer(s, c->header_ms, conn_timeout);
}

/* ---- server ---- */

struct evb_http_server *evb_http_server_new(uv_loop_t *loop, const char *host, int port,
					    struct evb_tls_config *tls,
					    void (*on_request)(struct evb_http_req *req, void *arg),
					    void *arg)
{
	struct evb_http_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->on_request = on_request;
	srv->arg = arg;
	srv->max_body = EVB_HTTP_MAX_BODY;
	srv->header_ms = EVB_HTTP_HEADER_MS;
	srv->body_ms = EVB_HTTP_BODY_MS;
	srv->idle_ms = EVB_HTTP_IDLE_MS;
	srv->tls = tls != NULL;
	srv->lst = evb_stream_listen(loop, host, port, tls, on_accept, srv);
	if (!srv->lst) {
		int e = errno;
		free(srv);
		errno = e;
		return NULL;
	}
	return srv;
}

int evb_http_server_port(const struct evb_http_server *srv)
{
	return evb_stream_listener_port(srv->lst);
}

void evb_http_server_set_max_body(struct evb_http_server *srv, size_t bytes)
{
	srv->max_body = bytes;
}

void evb_http_server_set_timeouts(struct evb_http_server *srv, unsigned header_ms,
				  unsigned body_ms, unsigned idle_ms)
{
	if (header_ms)
		srv->header_ms = header_ms;
	if (body_ms)
		srv->body_ms = body_ms;
	if (idle_ms)
		srv->idle_ms = idle_ms;
}

void evb_http_server_free(struct evb_http_server *srv)
{
	evb_stream_listener_close(srv->lst);
	while (srv->conns) {
		struct hconn *c = srv->conns;

		conn_unlink(c);
		if (c->s)
			evb_stream_close(c->s);
	}
	free(srv);
}

/* ---- requests ---- */

const char *evb_http_req_method(const struct evb_http_req *req)
{
	return evb_httpmsg_method(req->c->msg);
}

const char *evb_http_req_url(const struct evb_http_req *req)
{
	return evb_httpmsg_url(req->c->msg);
}

const char *evb_http_req_path(const struct evb_http_req *req)
{
	return evb_httpmsg_path(req->c->msg);
}

const char *evb_http_req_query(const struct evb_http_req *req)
{
	return evb_httpmsg_query(req->c->msg);
}

const char *evb_http_req_header(const struct evb_http_req *req, const char *name)
{
	return evb_httpmsg_header(req->c->msg, name);
}

size_t evb_http_req_header_count(const struct evb_http_req *req)
{
	return evb_httpmsg_header_count(req->c->msg);
}

const char *evb_http_req_header_name(const struct evb_http_req *req, size_t i)
{
	return evb_httpmsg_header_name(req->c->msg, i);
}

const char *evb_http_req_header_value(const struct evb_http_req *req, size_t i)
{
	return evb_httpmsg_header_value(req->c->msg, i);
}

const uint8_t *evb_http_req_body(const struct evb_http_req *req, size_t *len)
{
	return evb_httpmsg_body(req->c->msg, len);
}

const char *evb_http_req_peer(const struct evb_http_req *req)
{
	return req->c->peer;
}

int evb_http_req_is_tls(const struct evb_http_req *req)
{
	return req->c->tls;
}

int evb_http_req_is_websocket(const struct evb_http_req *req)
{
	return req->accept[0] != '\0';
}

void evb_http_req_set_abort_cb(struct evb_http_req *req,
			       void (*cb)(struct evb_http_req *req, void *arg), void *arg)
{
	req->abort_cb = cb;
	req->abort_arg = arg;
}

int evb_http_req_add_header(struct evb_http_req *req, const char *name, const char *value)
{
	size_t need = strlen(name) + strlen(value) + 4;
	char *p;

	if (!evb_http_valid_header(name, value))
		return -EINVAL;
	if (req->hdrs_len + need > EVB_HTTP_MAX_HEADER_BYTES)
		return EVB_ETOOBIG;
	p = realloc(req->hdrs, req->hdrs_len + need + 1);
	if (!p)
		return -ENOMEM;
	req->hdrs = p;
	snprintf(p + req->hdrs_len, need + 1, "%s: %s\r\n", name, value);
	req->hdrs_len += need;
	return 0;
}

/* The request is answered: the connection goes on with the next one. */
static void req_done(struct hconn *c)
{
	c->busy = 0;
	c->continued = 0;
	c->req.hdrs_len = 0;
	c->req.abort_cb = NULL;
	c->req.accept[0] = '\0';
	evb_httpmsg_reset(c->msg);
	if (!c->s) {
		conn_maybe_free(c);
		return;
	}
	if (c->closing)
		evb_stream_end(c->s);
	else {
		c->next_pending = 1;
		evb_stream_set_timer(c->s, 0, conn_next);
	}
}

int evb_http_respond(struct evb_http_req *req, int status, const char *content_type,
		     const void *body, size_t len)
{
	struct hconn *c = req->c;
	int r, head;

	if (!c->busy)
		return -EINVAL;
	if (!c->s) {
		req_done(c);
		return -ENOTCONN;
	}
	if (status < 100 || status > 999 || status == 101)
		status = 500;
	head = strcmp(evb_httpmsg_method(c->msg), "HEAD") == 0;
	EVB_LOG(LOG_DEBUG, "http", "%s %s from '%s': %d", evb_httpmsg_method(c->msg),
		evb_httpmsg_path(c->msg), c->peer, status);
	r = write_response(c, status, content_type, req->hdrs, req->hdrs_len, body, len, head);
	req_done(c);
	return r;
}

int evb_http_respond_error(struct evb_http_req *req, int status, const char *code,
			   const char *message)
{
	size_t len;
	char *body = error_json(status, code, message, &len);
	int r = evb_http_respond(req, status, "application/json", body ? body : "",
				 body ? len : 0);

	free(body);
	return r;
}

struct evb_ws *evb_http_req_accept_ws(struct evb_http_req *req,
				      void (*on_message)(struct evb_ws *ws, int kind,
							 const uint8_t *data, size_t len,
							 void *arg),
				      void (*on_close)(struct evb_ws *ws, int code,
						       const char *reason, void *arg),
				      void *arg)
{
	struct hconn *c = req->c;
	struct evb_stream *s = c->s;
	struct evb_ws *ws;
	char extra[64];
	int r;

	if (!c->busy) {
		errno = EINVAL;
		return NULL;
	}
	if (!s) {
		req_done(c);
		errno = ENOTCONN;
		return NULL;
	}
	if (!req->accept[0]) {
		c->closing = 1;
		evb_http_respond_error(req, 400, NULL, "not a WebSocket handshake");
		errno = EINVAL;
		return NULL;
	}
	snprintf(extra, sizeof(extra), "Upgrade: websocket\r\nConnection: Upgrade\r\n");
	r = evb_stream_write(s, "HTTP/1.1 101 Switching Protocols\r\n", 34);
	if (r == 0)
		r = evb_stream_write(s, extra, strlen(extra));
	if (r == 0) {
		char acc[64];
		snprintf(acc, sizeof(acc), "Sec-WebSocket-Accept: %s\r\n", req->accept);
		r = evb_stream_write(s, acc, strlen(acc));
	}
	if (r == 0 && req->hdrs_len)
		r = evb_stream_write(s, req->hdrs, req->hdrs_len);
	if (r == 0)
		r = evb_stream_write(s, "\r\n", 2);
	ws = r == 0 ? evb_ws_server_new(s, c->buf, c->buf_len, on_message, on_close, arg) : NULL;
	if (!ws) {
		evb_stream_close(s);
		c->closing = 1;
		req_done(c);
		errno = r < 0 ? -r : ENOMEM;
		return NULL;
	}
	EVB_LOG(LOG_DEBUG, "http", "websocket %s from '%s'", evb_httpmsg_path(c->msg), c->peer);
	c->s = NULL; /* the session owns the stream now */
	c->buf_len = 0;
	conn_unlink(c);
	req_done(c);
	return ws;
}

int evb_http_ws_check(const struct evb_httpmsg *m, char accept[EVB_WS_ACCEPT_LEN])
{
	const char *key, *ver;
	unsigned char raw[32];
	size_t n;

	if (!evb_http_has_token(evb_httpmsg_header(m, "Upgrade"), "websocket"))
		return 1;
	if (strcmp(evb_httpmsg_method(m), "GET") != 0 || evb_httpmsg_version(m) < 11 ||
	    !evb_http_has_token(evb_httpmsg_header(m, "Connection"), "upgrade"))
		return -EBADMSG;
	ver = evb_httpmsg_header(m, "Sec-WebSocket-Version");
	if (ver && strcmp(ver, "13") != 0)
		return -EPROTONOSUPPORT;
	key = evb_httpmsg_header(m, "Sec-WebSocket-Key");
	if (!ver || !key || strlen(key) != 24 ||
	    mbedtls_base64_decode(raw, sizeof(raw), &n, (const unsigned char *)key, 24) != 0 ||
	    n != 16)
		return -EBADMSG;
	{
		size_t blen;
		evb_httpmsg_body(m, &blen);
		if (blen > 0)
			return -EBADMSG;
	}
	return evb_ws_accept_key(key, accept) < 0 ? -EBADMSG : 0;
}
