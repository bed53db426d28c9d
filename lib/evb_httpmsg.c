/* HTTP/1.x message parsing over http-parser 2.9 with caps.
 *
 * Header names and values go into one buffer "hb" as NUL-terminated strings
 * whose offsets sit in "h"; offsets survive the buffer growing. The parser
 * pauses itself in on_message_complete, so http_parser_execute() returns
 * right after the message and the caller keeps what follows. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "evb_err.h"
#include "evb_httpmsg.h"

#define HB_LIMIT (EVB_HTTP_MAX_HEADER_BYTES + 2 * EVB_HTTP_MAX_HEADERS + 2)
#define BODY_SPARE_MAX (64u << 10) /* a larger body buffer is freed on reset */

enum { H_NONE, H_FIELD, H_VALUE };

struct hdr {
	size_t name, value;
};

struct evb_httpmsg {
	http_parser p;
	int response, phase, err_status, hstate;
	int keep_alive, upgrade, no_body, version, status;
	size_t max_body;
	const char *errstr;
	char *url;
	size_t url_len, url_cap;
	char *pq; /* path, NUL, query, NUL */
	const char *path, *query;
	char *hb;
	size_t hb_len, hb_cap, hbytes;
	struct hdr h[EVB_HTTP_MAX_HEADERS];
	size_t nh;
	uint8_t *body;
	size_t body_len, body_cap;
};

static int set_error(struct evb_httpmsg *m, int status, const char *why)
{
	if (!m->err_status) {
		m->err_status = status;
		m->errstr = why;
	}
	return -1; /* makes http-parser stop with HPE_CB_* */
}

/* Appends to a buffer that may grow up to limit bytes. */
static int grow_append(char **buf, size_t *len, size_t *cap, size_t limit, const char *at,
		       size_t n)
{
	if (*len + n > limit)
		return -1;
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 256;
		char *p;

		while (c < *len + n)
			c *= 2;
		if (c > limit)
			c = limit;
		p = realloc(*buf, c);
		if (!p)
			return -1;
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, at, n);
	*len += n;
	return 0;
}

static int hb_append(struct evb_httpmsg *m, const char *at, size_t n)
{
	return grow_append(&m->hb, &m->hb_len, &m->hb_cap, HB_LIMIT, at, n);
}

/* Terminates the header line in progress, if any. */
static int close_header(struct evb_httpmsg *m)
{
	if (m->hstate == H_FIELD) { /* a name with no value callback */
		if (hb_append(m, "", 1) < 0)
			return -1;
		m->h[m->nh - 1].value = m->hb_len;
	}
	if (m->hstate != H_NONE && hb_append(m, "", 1) < 0)
		return -1;
	m->hstate = H_NONE;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct evb_httpmsg *m = p->data;

	if (m->url_len + n > EVB_HTTP_MAX_URL)
		return set_error(m, 414, "request target too long");
	if (grow_append(&m->url, &m->url_len, &m->url_cap, EVB_HTTP_MAX_URL + 1, at, n) < 0)
		return set_error(m, 400, "out of memory");
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct evb_httpmsg *m = p->data;

	if (m->hstate != H_FIELD) {
		if (close_header(m) < 0)
			return set_error(m, 431, "header fields too large");
		if (m->nh == EVB_HTTP_MAX_HEADERS)
			return set_error(m, 431, "too many header fields");
		m->h[m->nh++].name = m->hb_len;
		m->hstate = H_FIELD;
	}
	m->hbytes += n;
	if (m->hbytes > EVB_HTTP_MAX_HEADER_BYTES || hb_append(m, at, n) < 0)
		return set_error(m, 431, "header fields too large");
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct evb_httpmsg *m = p->data;

	if (m->hstate == H_FIELD) {
		if (hb_append(m, "", 1) < 0)
			return set_error(m, 431, "header fields too large");
		m->h[m->nh - 1].value = m->hb_len;
		m->hstate = H_VALUE;
	}
	m->hbytes += n;
	if (m->hbytes > EVB_HTTP_MAX_HEADER_BYTES || hb_append(m, at, n) < 0)
		return set_error(m, 431, "header fields too large");
	return 0;
}

/* Splits the request target into path and query. */
static int split_target(struct evb_httpmsg *m)
{
	struct http_parser_url u;
	const char *path = "/", *query = "";
	size_t plen = 1, qlen = 0;

	http_parser_url_init(&u);
	if (m->url_len == 0 || http_parser_parse_url(m->url, m->url_len, 0, &u) != 0)
		return -1;
	if (u.field_set & (1 << UF_PATH)) {
		path = m->url + u.field_data[UF_PATH].off;
		plen = u.field_data[UF_PATH].len;
	}
	if (u.field_set & (1 << UF_QUERY)) {
		query = m->url + u.field_data[UF_QUERY].off;
		qlen = u.field_data[UF_QUERY].len;
	}
	free(m->pq);
	m->pq = malloc(plen + qlen + 2);
	if (!m->pq)
		return -1;
	memcpy(m->pq, path, plen);
	m->pq[plen] = '\0';
	memcpy(m->pq + plen + 1, query, qlen);
	m->pq[plen + 1 + qlen] = '\0';
	m->path = m->pq;
	m->query = m->pq + plen + 1;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct evb_httpmsg *m = p->data;

	if (close_header(m) < 0)
		return set_error(m, 431, "header fields too large");
	if (grow_append(&m->url, &m->url_len, &m->url_cap, EVB_HTTP_MAX_URL + 1, "", 1) < 0)
		return set_error(m, 400, "out of memory");
	m->url_len--; /* the NUL is not part of it */
	m->version = p->http_major * 10 + p->http_minor;
	m->status = (int)p->status_code;
	m->keep_alive = http_should_keep_alive(p);
	m->upgrade = p->upgrade;
	m->phase = EVB_HTTPMSG_BODY;
	if (!m->response) {
		if (p->http_major != 1)
			return set_error(m, 505, "HTTP version not supported");
		if (split_target(m) < 0)
			return set_error(m, 400, "bad request target");
	}
	if (p->content_length != ULLONG_MAX && p->content_length > 0 &&
	    !(m->response && m->no_body)) {
		if (p->content_length > m->max_body)
			return set_error(m, 413, "body too large");
		if (p->content_length + 1 > m->body_cap) {
			uint8_t *b = realloc(m->body, p->content_length + 1);

			if (!b)
				return set_error(m, 413, "body too large");
			m->body = b;
			m->body_cap = p->content_length + 1;
		}
	}
	return m->response && m->no_body ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct evb_httpmsg *m = p->data;

	if (m->body_len + n > m->max_body)
		return set_error(m, 413, "body too large");
	if (grow_append((char **)&m->body, &m->body_len, &m->body_cap, m->max_body + 1, at, n) < 0)
		return set_error(m, 413, "body too large");
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct evb_httpmsg *m = p->data;

	if (close_header(m) < 0) /* after trailers */
		return set_error(m, 431, "header fields too large");
	if (m->body_len > 0 && m->body_len + 1 > m->body_cap) {
		uint8_t *b = realloc(m->body, m->body_len + 1);

		if (!b)
			return set_error(m, 413, "body too large");
		m->body = b;
		m->body_cap = m->body_len + 1;
	}
	if (m->body_len > 0)
		m->body[m->body_len] = '\0';
	m->keep_alive = http_should_keep_alive(p);
	m->phase = EVB_HTTPMSG_DONE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

struct evb_httpmsg *evb_httpmsg_new(int response, size_t max_body)
{
	struct evb_httpmsg *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->response = response;
	m->max_body = max_body;
	evb_httpmsg_reset(m);
	return m;
}

void evb_httpmsg_free(struct evb_httpmsg *m)
{
	if (!m)
		return;
	free(m->url);
	free(m->pq);
	free(m->hb);
	free(m->body);
	free(m);
}

void evb_httpmsg_reset(struct evb_httpmsg *m)
{
	http_parser_init(&m->p, m->response ? HTTP_RESPONSE : HTTP_REQUEST);
	m->p.data = m;
	m->phase = EVB_HTTPMSG_IDLE;
	m->err_status = 0;
	m->errstr = NULL;
	m->hstate = H_NONE;
	m->keep_alive = m->upgrade = m->no_body = m->version = m->status = 0;
	m->url_len = m->hb_len = m->hbytes = m->nh = m->body_len = 0;
	m->path = "/";
	m->query = "";
	if (m->body_cap > BODY_SPARE_MAX) {
		free(m->body);
		m->body = NULL;
		m->body_cap = 0;
	}
}

void evb_httpmsg_expect_no_body(struct evb_httpmsg *m)
{
	m->no_body = 1;
}

static int fail_parse(struct evb_httpmsg *m)
{
	enum http_errno e = HTTP_PARSER_ERRNO(&m->p);

	if (!m->err_status) {
		if (e == HPE_HEADER_OVERFLOW)
			set_error(m, 431, "header fields too large");
		else
			set_error(m, 400, http_errno_description(e));
	}
	m->phase = EVB_HTTPMSG_ERROR;
	return m->err_status == 413 || m->err_status == 414 || m->err_status == 431
		       ? EVB_ETOOBIG
		       : -EBADMSG;
}

int evb_httpmsg_feed(struct evb_httpmsg *m, const void *data, size_t len, size_t *used)
{
	size_t n;

	*used = 0;
	if (m->phase == EVB_HTTPMSG_ERROR)
		return m->err_status == 413 || m->err_status == 414 || m->err_status == 431
			       ? EVB_ETOOBIG
			       : -EBADMSG;
	if (m->phase == EVB_HTTPMSG_DONE)
		return 1;
	if (len == 0)
		return 0;
	if (m->phase == EVB_HTTPMSG_IDLE)
		m->phase = EVB_HTTPMSG_HEAD;
	n = http_parser_execute(&m->p, &settings, data, len);
	if (m->phase == EVB_HTTPMSG_DONE) {
		*used = n;
		return 1;
	}
	if (HTTP_PARSER_ERRNO(&m->p) != HPE_OK || n != len)
		return fail_parse(m);
	*used = n;
	return 0;
}

int evb_httpmsg_finish(struct evb_httpmsg *m)
{
	if (m->phase == EVB_HTTPMSG_DONE)
		return 1;
	if (m->phase == EVB_HTTPMSG_IDLE)
		return 0;
	if (m->phase == EVB_HTTPMSG_ERROR)
		return -EBADMSG;
	http_parser_execute(&m->p, &settings, NULL, 0);
	if (m->phase == EVB_HTTPMSG_DONE)
		return 1;
	if (HTTP_PARSER_ERRNO(&m->p) == HPE_OK)
		set_error(m, 400, "connection closed inside a message");
	fail_parse(m);
	return -EBADMSG;
}

int evb_httpmsg_phase(const struct evb_httpmsg *m)
{
	return m->phase;
}

int evb_httpmsg_error_status(const struct evb_httpmsg *m)
{
	return m->err_status ? m->err_status : 400;
}

const char *evb_httpmsg_errstr(const struct evb_httpmsg *m)
{
	return m->errstr ? m->errstr : "";
}

const char *evb_httpmsg_method(const struct evb_httpmsg *m)
{
	return m->response ? "" : http_method_str((enum http_method)m->p.method);
}

int evb_httpmsg_status(const struct evb_httpmsg *m)
{
	return m->status;
}

int evb_httpmsg_version(const struct evb_httpmsg *m)
{
	return m->version;
}

const char *evb_httpmsg_url(const struct evb_httpmsg *m)
{
	return m->url && m->phase >= EVB_HTTPMSG_BODY ? m->url : "";
}

const char *evb_httpmsg_path(const struct evb_httpmsg *m)
{
	return m->path;
}

const char *evb_httpmsg_query(const struct evb_httpmsg *m)
{
	return m->query;
}

const char *evb_httpmsg_header(const struct evb_httpmsg *m, const char *name)
{
	if (m->phase < EVB_HTTPMSG_BODY)
		return NULL;
	for (size_t i = 0; i < m->nh; i++)
		if (strcasecmp(m->hb + m->h[i].name, name) == 0)
			return m->hb + m->h[i].value;
	return NULL;
}

size_t evb_httpmsg_header_count(const struct evb_httpmsg *m)
{
	return m->phase < EVB_HTTPMSG_BODY ? 0 : m->nh;
}

const char *evb_httpmsg_header_name(const struct evb_httpmsg *m, size_t i)
{
	return i < evb_httpmsg_header_count(m) ? m->hb + m->h[i].name : NULL;
}

const char *evb_httpmsg_header_value(const struct evb_httpmsg *m, size_t i)
{
	return i < evb_httpmsg_header_count(m) ? m->hb + m->h[i].value : NULL;
}

const uint8_t *evb_httpmsg_body(const struct evb_httpmsg *m, size_t *len)
{
	*len = m->phase == EVB_HTTPMSG_DONE ? m->body_len : 0;
	return m->body && *len ? m->body : (const uint8_t *)"";
}

int evb_httpmsg_keep_alive(const struct evb_httpmsg *m)
{
	return m->keep_alive;
}

int evb_httpmsg_upgrade(const struct evb_httpmsg *m)
{
	return m->upgrade;
}

int evb_http_has_token(const char *value, const char *token)
{
	size_t tl = strlen(token);

	while (value && *value) {
		const char *end;
		size_t n;

		value += strspn(value, " \t,");
		end = value + strcspn(value, ",");
		n = (size_t)(end - value);
		while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			n--;
		if (n == tl && strncasecmp(value, token, n) == 0)
			return 1;
		value = end;
	}
	return 0;
}

static int token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int value_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

int evb_http_valid_header(const char *name, const char *value)
{
	if (!*name)
		return 0;
	for (const char *c = name; *c; c++)
		if (!token_char((unsigned char)*c))
			return 0;
	return value_ok(value, strlen(value));
}

int evb_http_valid_header_block(const char *block)
{
	while (*block) {
		const char *eol = strstr(block, "\r\n"), *c = block;

		if (!eol)
			return 0;
		while (c < eol && token_char((unsigned char)*c))
			c++;
		if (c == block || c == eol || *c != ':' || !value_ok(c + 1, (size_t)(eol - c - 1)))
			return 0;
		block = eol + 2;
	}
	return 1;
}
