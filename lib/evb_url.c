/* URL parsing, percent-decoding, name=value lists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evb_url.h"

struct evb_url {
	int port, tls;
	char scheme[8];
	char *host, *path, *query, *hostport;
	char buf[]; /* the strings above */
};

struct pair {
	char *name, *value;
	size_t idx;
};

struct evb_params {
	struct pair *v;
	size_t n, cap;
};

/* ---- URLs ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* Bytes a request target may not carry raw: controls, space, DEL. */
static int bad_char(unsigned char c)
{
	return c <= 0x20 || c == 0x7f;
}

struct evb_url *evb_url_parse(const char *url)
{
	static const struct { const char *name; int port, tls; } schemes[] = {
		{ "http", 80, 0 }, { "https", 443, 1 }, { "ws", 80, 0 }, { "wss", 443, 1 },
	};
	const char *p = url, *sep, *h, *hend, *path, *pend, *q = NULL, *qend = NULL;
	size_t slen, hlen, plen, qlen, len = strlen(url);
	struct evb_url *u;
	int port = -1, si = -1;
	char *o;

	if (len > EVB_URL_MAX || !(sep = strstr(url, "://")))
		goto inval;
	slen = (size_t)(sep - url);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].name) == slen && strncasecmp(url, schemes[i].name, slen) == 0)
			si = (int)i;
	if (si < 0)
		goto inval;
	p = sep + 3;
	path = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(path - p)))
		goto inval; /* credentials do not belong in a URL */
	if (*p == '[') {
		h = p + 1;
		hend = memchr(h, ']', (size_t)(path - h));
		if (!hend || hend == h)
			goto inval;
		for (const char *c = h; c < hend; c++)
			if (hexval(*c) < 0 && *c != ':' && *c != '.')
				goto inval;
		p = hend + 1;
	} else {
		h = p;
		hend = h;
		while (hend < path && *hend != ':')
			hend++;
		if (hend == h)
			goto inval;
		for (const char *c = h; c < hend; c++)
			if (!host_char((unsigned char)*c))
				goto inval;
		p = hend;
	}
	if (p < path) {
		if (*p != ':' || p + 1 == path || path - p > 6)
			goto inval;
		port = 0;
		for (p++; p < path; p++) {
			if (*p < '0' || *p > '9')
				goto inval;
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			goto inval;
	}
	pend = path + strcspn(path, "?#");
	if (*pend == '?') {
		q = pend + 1;
		qend = q + strcspn(q, "#");
	}
	for (const char *c = path; *c && *c != '#'; c++)
		if (bad_char((unsigned char)*c))
			goto inval;
	hlen = (size_t)(hend - h);
	plen = (size_t)(pend - path);
	qlen = q ? (size_t)(qend - q) : 0;
	u = calloc(1, sizeof(*u) + hlen + 1 + (plen ? plen : 1) + 1 + qlen + 1 + hlen + 10);
	if (!u)
		return NULL;
	snprintf(u->scheme, sizeof(u->scheme), "%s", schemes[si].name);
	u->tls = schemes[si].tls;
	u->port = port > 0 ? port : schemes[si].port;
	o = u->buf;
	u->host = o;
	memcpy(o, h, hlen);
	o += hlen + 1;
	u->path = o;
	if (plen)
		memcpy(o, path, plen);
	else
		*o = '/';
	o += (plen ? plen : 1) + 1;
	if (q) {
		u->query = o;
		memcpy(o, q, qlen);
		o += qlen + 1;
	}
	u->hostport = o;
	if (port > 0 && port != schemes[si].port)
		snprintf(o, hlen + 10, memchr(h, ':', hlen) ? "[%s]:%d" : "%s:%d", u->host, port);
	else
		snprintf(o, hlen + 10, memchr(h, ':', hlen) ? "[%s]" : "%s", u->host);
	return u;

inval:
	errno = EINVAL;
	return NULL;
}

void evb_url_free(struct evb_url *u)
{
	free(u);
}

const char *evb_url_scheme(const struct evb_url *u)
{
	return u->scheme;
}

const char *evb_url_host(const struct evb_url *u)
{
	return u->host;
}

int evb_url_port(const struct evb_url *u)
{
	return u->port;
}

const char *evb_url_path(const struct evb_url *u)
{
	return u->path;
}

const char *evb_url_query(const struct evb_url *u)
{
	return u->query;
}

int evb_url_is_tls(const struct evb_url *u)
{
	return u->tls;
}

const char *evb_url_hostport(const struct evb_url *u)
{
	return u->hostport;
}

ssize_t evb_url_decode(const char *s, size_t len, int plus, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -EINVAL;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		} else if (c == '\0') {
			return -EINVAL;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (ssize_t)o;
}

/* ---- name=value lists ---- */

struct evb_params *evb_params_new(void)
{
	return calloc(1, sizeof(struct evb_params));
}

static int params_push(struct evb_params *p, char *name, char *value)
{
	if (p->n == EVB_PARAMS_MAX)
		return -E2BIG;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct pair *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n].name = name;
	p->v[p->n].value = value;
	p->v[p->n].idx = p->n;
	p->n++;
	return 0;
}

int evb_params_add(struct evb_params *p, const char *name, const char *value)
{
	char *n = strdup(name), *v = strdup(value);
	int r = n && v ? params_push(p, n, v) : -ENOMEM;

	if (r < 0) {
		free(n);
		free(v);
	}
	return r;
}

struct evb_params *evb_params_parse(const char *s, size_t len)
{
	struct evb_params *p = evb_params_new();
	const char *end = s + len;
	int r = 0;

	if (!p)
		return NULL;
	while (s < end && r == 0) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *pe = amp ? amp : end, *eq = memchr(s, '=', (size_t)(pe - s));
		size_t nl = (size_t)((eq ? eq : pe) - s);
		size_t vl = eq ? (size_t)(pe - eq - 1) : 0;
		char *n, *v;

		if (pe == s) {
			s = pe + 1;
			continue;
		}
		n = malloc(nl + 1);
		v = malloc(vl + 1);
		if (!n || !v)
			r = -ENOMEM;
		else if (evb_url_decode(s, nl, 1, n) < 0 ||
			 evb_url_decode(eq ? eq + 1 : "", vl, 1, v) < 0)
			r = -EINVAL;
		else
			r = params_push(p, n, v);
		if (r < 0) {
			free(n);
			free(v);
		}
		s = pe + 1;
	}
	if (r < 0) {
		evb_params_free(p);
		errno = -r;
		return NULL;
	}
	return p;
}

size_t evb_params_count(const struct evb_params *p)
{
	return p->n;
}

const char *evb_params_name(const struct evb_params *p, size_t i)
{
	return i < p->n ? p->v[i].name : NULL;
}

const char *evb_params_value(const struct evb_params *p, size_t i)
{
	return i < p->n ? p->v[i].value : NULL;
}

const char *evb_params_get(const struct evb_params *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return p->v[i].value;
	return NULL;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c == 0)
		c = strcmp(x->value, y->value);
	if (c == 0)
		c = x->idx < y->idx ? -1 : x->idx > y->idx;
	return c;
}

void evb_params_sort(struct evb_params *p)
{
	if (p->n > 1)
		qsort(p->v, p->n, sizeof(*p->v), pair_cmp);
	for (size_t i = 0; i < p->n; i++)
		p->v[i].idx = i;
}

static size_t encode(const char *s, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			if (out)
				out[o] = (char)c;
			o++;
		} else if (c == ' ') {
			if (out)
				out[o] = '+';
			o++;
		} else {
			if (out) {
				out[o] = '%';
				out[o + 1] = hex[c >> 4];
				out[o + 2] = hex[c & 15];
			}
			o += 3;
		}
	}
	return o;
}

char *evb_params_encode(const struct evb_params *p)
{
	size_t len = 1, o = 0;
	char *out;

	for (size_t i = 0; i < p->n; i++)
		len += encode(p->v[i].name, NULL) + encode(p->v[i].value, NULL) + 2;
	out = malloc(len);
	if (!out)
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		if (i > 0)
			out[o++] = '&';
		o += encode(p->v[i].name, out + o);
		out[o++] = '=';
		o += encode(p->v[i].value, out + o);
	}
	out[o] = '\0';
	return out;
}

void evb_params_free(struct evb_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	free(p);
}
