/* HTTP client: one request, one connection.
 *
 * The object outlives on_done while its stream closes: once done it waits
 * for the stream's on_close (the stream holds it as its argument) and frees
 * itself there. A stream still connecting has no callback left after
 * evb_stream_close(), so then it frees itself at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "evb_err.h"
#include "evb_httpc.h"
#include "evb_httpmsg.h"
#include "evb_log.h"
#include "evb_stream.h"
#include "evb_url.h"

#ifndef EVB_VERSION
#define EVB_VERSION "0"
#endif

enum { C_NEW, C_RUNNING, C_DONE };

struct evb_httpc {
	uv_loop_t *loop;
	struct evb_url *url;
	char method[16];
	char *hdrs;
	size_t hdrs_len;
	uint8_t *body;
	size_t body_len;
	int has_body;
	struct evb_tls_config *tls;
	unsigned connect_ms, total_ms;
	size_t max_body;
	struct evb_stream *s;
	struct evb_httpmsg *resp;
	void (*on_done)(struct evb_httpc *c, int err, void *arg);
	void *arg;
	int state, connected, in_cb;
	uint64_t deadline;
	char name[EVB_STREAM_HOST_MAX + 64]; /* host[:port]/path for messages */
	char err[EVB_TLS_ERR_MAX + 96];
};

static void release(struct evb_httpc *c)
{
	evb_url_free(c->url);
	evb_tls_config_free(c->tls);
	evb_httpmsg_free(c->resp);
	free(c->hdrs);
	free(c->body);
	free(c);
}

/* Reports once, then lets the stream go. */
static void done(struct evb_httpc *c, int err, const char *why)
{
	if (c->state == C_DONE)
		return;
	c->state = C_DONE;
	if (err < 0 && !c->err[0])
		snprintf(c->err, sizeof(c->err), "%s %s: %s", c->method, c->name,
			 why && *why ? why : evb_strerror(err));
	if (err == 0)
		EVB_LOG(LOG_DEBUG, "httpc", "%s %s: %d", c->method, c->name,
			evb_httpmsg_status(c->resp));
	c->in_cb++;
	c->on_done(c, err, c->arg);
	c->in_cb--;
	if (c->s && c->connected)
		evb_stream_close(c->s); /* its on_close frees c */
	else
		release(c);
}

static void on_timeout(struct evb_stream *s, void *arg)
{
	struct evb_httpc *c = arg;
	char why[64];

	(void)s;
	snprintf(why, sizeof(why), "no response within %u ms", c->total_ms);
	done(c, -ETIMEDOUT, why);
}

static void on_read(struct evb_stream *s, const uint8_t *data, size_t len, void *arg)
{
	struct evb_httpc *c = arg;
	size_t used;
	int r;

	(void)s;
	while (c->state == C_RUNNING && len > 0) {
		r = evb_httpmsg_feed(c->resp, data, len, &used);
		if (r < 0) {
			char why[96];

			if (r == EVB_ETOOBIG && evb_httpmsg_error_status(c->resp) == 413)
				snprintf(why, sizeof(why), "response body over %zu bytes", c->max_body);
			else
				snprintf(why, sizeof(why), "bad response: %s",
					 evb_httpmsg_errstr(c->resp));
			done(c, r, why);
			return;
		}
		if (r == 0)
			return;
		data += used;
		len -= used;
		if (evb_httpmsg_status(c->resp) >= 200 || evb_httpmsg_status(c->resp) == 101) {
			done(c, 0, NULL);
			return;
		}
		evb_httpmsg_reset(c->resp); /* 100 Continue and friends */
		if (strcmp(c->method, "HEAD") == 0)
			evb_httpmsg_expect_no_body(c->resp);
	}
}

static void on_close(struct evb_stream *s, int reason, void *arg)
{
	struct evb_httpc *c = arg;

	if (c->state == C_DONE) {
		release(c);
		return;
	}
	c->s = NULL;
	c->connected = 0;
	if (evb_httpmsg_finish(c->resp) == 1 && evb_httpmsg_status(c->resp) >= 200) {
		done(c, 0, NULL); /* a body that ran to the end of the stream */
		return;
	}
	done(c, reason < 0 ? reason : -ECONNRESET,
	     evb_stream_errstr(s)[0] ? evb_stream_errstr(s)
				     : "connection closed before the response was complete");
}

static int send_request(struct evb_httpc *c)
{
	const char *q = evb_url_query(c->url);
	char *head;
	size_t cap = strlen(evb_url_path(c->url)) + (q ? strlen(q) : 0) + c->hdrs_len + 512;
	int n, r, need_len = c->has_body || strcmp(c->method, "POST") == 0 ||
			     strcmp(c->method, "PUT") == 0 || strcmp(c->method, "PATCH") == 0;

	head = malloc(cap);
	if (!head)
		return -ENOMEM;
	n = snprintf(head, cap,
		     "%s %s%s%s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "User-Agent: evibridge/%s\r\n"
		     "Connection: close\r\n"
		     "%.*s",
		     c->method, evb_url_path(c->url), q ? "?" : "", q ? q : "",
		     evb_url_hostport(c->url), EVB_VERSION, (int)c->hdrs_len,
		     c->hdrs ? c->hdrs : "");
	if (need_len)
		n += snprintf(head + n, cap - (size_t)n, "Content-Length: %zu\r\n", c->body_len);
	n += snprintf(head + n, cap - (size_t)n, "\r\n");
	r = evb_stream_write(c->s, head, (size_t)n);
	free(head);
	if (r == 0 && c->body_len)
		r = evb_stream_write(c->s, c->body, c->body_len);
	return r;
}

static void on_connect(struct evb_stream *s, int status, void *arg)
{
	struct evb_httpc *c = arg;
	uint64_t now = uv_now(c->loop);
	int r;

	if (status < 0) {
		c->s = NULL; /* freed when we return */
		done(c, status, evb_stream_errstr(s));
		return;
	}
	c->connected = 1;
	evb_stream_set_max_queue(s, c->body_len + c->hdrs_len + (64u << 10));
	r = evb_stream_start(s, on_read, on_close, c);
	if (r == 0)
		r = send_request(c);
	if (r < 0) {
		done(c, r, "unable to send the request");
		return;
	}
	evb_stream_set_timer(s, c->deadline > now ? c->deadline - now : 0, on_timeout);
}

struct evb_httpc *evb_httpc_new(uv_loop_t *loop, const char *method, const char *url)
{
	struct evb_httpc *c;
	struct evb_url *u;
	size_t ml = strlen(method);

	if (ml == 0 || ml >= sizeof(c->method) || !evb_http_valid_header(method, "")) {
		errno = EINVAL;
		return NULL;
	}
	u = evb_url_parse(url);
	if (!u)
		return NULL;
	if (strncmp(evb_url_scheme(u), "http", 4) != 0) {
		evb_url_free(u);
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		evb_url_free(u);
		return NULL;
	}
	c->loop = loop;
	c->url = u;
	memcpy(c->method, method, ml + 1);
	c->connect_ms = EVB_HTTPC_CONNECT_MS;
	c->total_ms = EVB_HTTPC_TOTAL_MS;
	c->max_body = EVB_HTTPC_MAX_BODY;
	snprintf(c->name, sizeof(c->name), "%s%s", evb_url_hostport(u), evb_url_path(u));
	return c;
}

int evb_httpc_add_header(struct evb_httpc *c, const char *name, const char *value)
{
	size_t need = strlen(name) + strlen(value) + 4;
	char *p;

	if (!evb_http_valid_header(name, value))
		return -EINVAL;
	if (c->hdrs_len + need > EVB_HTTP_MAX_HEADER_BYTES)
		return EVB_ETOOBIG;
	p = realloc(c->hdrs, c->hdrs_len + need + 1);
	if (!p)
		return -ENOMEM;
	c->hdrs = p;
	snprintf(p + c->hdrs_len, need + 1, "%s: %s\r\n", name, value);
	c->hdrs_len += need;
	return 0;
}

int evb_httpc_set_basic_auth(struct evb_httpc *c, const char *user, const char *password)
{
	size_t ul = strlen(user), pl = strlen(password), olen;
	unsigned char *raw = malloc(ul + pl + 2), *b64;
	size_t cap = 4 * ((ul + pl + 1 + 2) / 3) + 8;
	int r = -ENOMEM;

	b64 = malloc(cap);
	if (raw && b64) {
		memcpy(raw, user, ul);
		raw[ul] = ':';
		memcpy(raw + ul + 1, password, pl);
		memcpy(b64, "Basic ", 6);
		r = mbedtls_base64_encode(b64 + 6, cap - 6, &olen, raw, ul + pl + 1) == 0
			    ? evb_httpc_add_header(c, "Authorization", (char *)b64)
			    : -EINVAL;
	}
	if (raw)
		memset(raw, 0, ul + pl + 1);
	if (b64)
		memset(b64, 0, cap);
	free(raw);
	free(b64);
	return r;
}

int evb_httpc_set_body(struct evb_httpc *c, const char *content_type, const void *body,
		       size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	int r;

	if (!p)
		return -ENOMEM;
	if (content_type) {
		r = evb_httpc_add_header(c, "Content-Type", content_type);
		if (r < 0) {
			free(p);
			return r;
		}
	}
	if (len)
		memcpy(p, body, len);
	free(c->body);
	c->body = p;
	c->body_len = len;
	c->has_body = 1;
	return 0;
}

void evb_httpc_set_tls(struct evb_httpc *c, struct evb_tls_config *tls)
{
	evb_tls_config_free(c->tls);
	c->tls = tls ? evb_tls_config_ref(tls) : NULL;
}

void evb_httpc_set_timeouts(struct evb_httpc *c, unsigned connect_ms, unsigned total_ms)
{
	if (connect_ms)
		c->connect_ms = connect_ms;
	if (total_ms)
		c->total_ms = total_ms;
}

void evb_httpc_set_max_body(struct evb_httpc *c, size_t bytes)
{
	c->max_body = bytes;
}

int evb_httpc_start(struct evb_httpc *c, void (*on_done)(struct evb_httpc *c, int err, void *arg),
		    void *arg)
{
	unsigned cms = c->connect_ms < c->total_ms ? c->connect_ms : c->total_ms;

	if (c->state != C_NEW || !on_done || (evb_url_is_tls(c->url) && !c->tls))
		return -EINVAL;
	c->resp = evb_httpmsg_new(1, c->max_body);
	if (!c->resp)
		return -ENOMEM;
	if (strcmp(c->method, "HEAD") == 0)
		evb_httpmsg_expect_no_body(c->resp);
	c->on_done = on_done;
	c->arg = arg;
	c->deadline = uv_now(c->loop) + c->total_ms;
	c->s = evb_stream_connect(c->loop, evb_url_host(c->url), evb_url_port(c->url),
				  evb_url_is_tls(c->url) ? c->tls : NULL, cms, on_connect, c);
	if (!c->s) {
		int e = errno;

		evb_httpmsg_free(c->resp);
		c->resp = NULL;
		return -e;
	}
	c->state = C_RUNNING;
	return 0;
}

void evb_httpc_free(struct evb_httpc *c)
{
	if (c->in_cb)
		return;
	if (c->state == C_NEW) {
		release(c);
		return;
	}
	c->state = C_DONE; /* no callback from now on */
	if (c->s && c->connected) {
		evb_stream_close(c->s); /* its on_close frees c */
		return;
	}
	if (c->s)
		evb_stream_close(c->s); /* still connecting: no callback comes */
	release(c);
}

int evb_httpc_status(const struct evb_httpc *c)
{
	return c->resp ? evb_httpmsg_status(c->resp) : 0;
}

const char *evb_httpc_header(const struct evb_httpc *c, const char *name)
{
	return c->resp ? evb_httpmsg_header(c->resp, name) : NULL;
}

const uint8_t *evb_httpc_body(const struct evb_httpc *c, size_t *len)
{
	if (!c->resp) {
		*len = 0;
		return (const uint8_t *)"";
	}
	return evb_httpmsg_body(c->resp, len);
}

const char *evb_httpc_errstr(const struct evb_httpc *c)
{
	return c->err;
}
