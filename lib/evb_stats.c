/* Metrics registry, its unix-socket server and client, and the merger of
 * exposition texts (see evb_stats.h). Registries are small (tens of
 * names): lookups are linear, updates go through the pointer a daemon
 * keeps. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_stats.h"

const double evb_stats_latency_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					    0.01,   0.025,   0.05,   0.1,   0.25 };
const size_t evb_stats_latency_nbounds =
	sizeof(evb_stats_latency_bounds) / sizeof(evb_stats_latency_bounds[0]);

#define MERGE_MAX_DEFAULT (8u << 20)

enum { T_COUNTER, T_GAUGE, T_HISTOGRAM };
static const char *const type_names[] = { "counter", "gauge", "histogram" };

/* ---- a growable buffer with a hard cap ---- */

struct sbuf {
	char *p;
	size_t len, cap, max;
};

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->max)
		return EVB_ETOOBIG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		if (!(p = realloc(b->p, cap)))
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int sb_str(struct sbuf *b, const char *s)
{
	return sb_add(b, s, strlen(s));
}

/* A number as Prometheus reads it: the shortest form that reads back. */
static void fmt_num(char *s, size_t cap, double v)
{
	if (isnan(v))
		snprintf(s, cap, "NaN");
	else if (isinf(v))
		snprintf(s, cap, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (snprintf(s, cap, "%.15g", v) > 0 && strtod(s, NULL) != v)
		snprintf(s, cap, "%.17g", v);
}

static int sb_num(struct sbuf *b, double v)
{
	char s[40];

	fmt_num(s, sizeof(s), v);
	return sb_str(b, s);
}

/* ---- registry ---- */

struct family;

struct evb_metric {
	struct family *fam;
	char *labels; /* "" for none */
	double value; /* counter, gauge */
	const uint64_t *src; /* counter read from here at render, or NULL */
	double sum;   /* histogram */
	uint64_t count, *buckets; /* histogram: one per bound, then +Inf */
};

struct family {
	char *name, *help;
	int type;
	double bounds[EVB_STATS_MAX_BUCKETS];
	size_t nbounds;
	struct evb_metric **series;
	size_t n, cap;
};

struct evb_stats {
	struct family **fams;
	size_t n, cap;
	void (*hook)(struct evb_stats *s, void *arg);
	void *hook_arg;
};

static int name_ok(const char *s)
{
	if (!s || !*s || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
			return 0;
	return 1;
}

/* Checks 'a="x",b="y"'; returns the number of chars used, -1 if bad.
 * Stops at end (the string's end or a '}'); *has_process is set when a
 * label is called process. */
static long labels_scan(const char *s, size_t n, int *has_process)
{
	size_t i = 0;

	*has_process = 0;
	while (i < n && s[i] != '}') {
		size_t start = i;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
			return -1;
		while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
				 (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			i++;
		if (i - start == 7 && memcmp(s + start, "process", 7) == 0)
			*has_process = 1;
		if (i + 1 >= n || s[i] != '=' || s[i + 1] != '"')
			return -1;
		for (i += 2; i < n && s[i] != '"'; i++) {
			if (s[i] == '\n')
				return -1;
			if (s[i] == '\\') {
				if (++i >= n || (s[i] != '\\' && s[i] != '"' && s[i] != 'n'))
					return -1;
			}
		}
		if (i >= n)
			return -1;
		i++; /* the closing quote */
		if (i < n && s[i] == ',')
			i++;
		else if (i < n && s[i] != '}')
			return -1;
	}
	return (long)i;
}

struct evb_stats *evb_stats_new(void)
{
	return calloc(1, sizeof(struct evb_stats));
}

static void metric_free(struct evb_metric *m)
{
	free(m->labels);
	free(m->buckets);
	free(m);
}

void evb_stats_free(struct evb_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct family *f = s->fams[i];
		for (size_t j = 0; j < f->n; j++)
			metric_free(f->series[j]);
		free(f->series);
		free(f->name);
		free(f->help);
		free(f);
	}
	free(s->fams);
	free(s);
}

static int grow(void *pp, size_t *cap, size_t n, size_t size)
{
	void **p = pp, *np;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	np = realloc(*p, ncap * size);
	if (!np)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static struct evb_metric *get(struct evb_stats *s, int type, const char *name,
			      const char *labels, const char *help, const double *bounds,
			      size_t nb)
{
	struct family *f = NULL;
	struct evb_metric *m;
	int hp;

	if (!labels)
		labels = "";
	if (!s || !name_ok(name) ||
	    (*labels && labels_scan(labels, strlen(labels), &hp) != (long)strlen(labels)) ||
	    (type == T_HISTOGRAM && (nb == 0 || nb > EVB_STATS_MAX_BUCKETS)))
		goto inval;
	for (size_t i = 1; type == T_HISTOGRAM && i < nb; i++)
		if (!(bounds[i] > bounds[i - 1]))
			goto inval;
	for (size_t i = 0; i < s->n && !f; i++)
		if (strcmp(s->fams[i]->name, name) == 0)
			f = s->fams[i];
	if (f) {
		if (f->type != type)
			goto inval;
		for (size_t i = 0; i < f->n; i++)
			if (strcmp(f->series[i]->labels, labels) == 0)
				return f->series[i];
	} else {
		if (grow(&s->fams, &s->cap, s->n, sizeof(*s->fams)) < 0 ||
		    !(f = calloc(1, sizeof(*f))))
			goto nomem;
		f->name = strdup(name);
		f->help = strdup(help ? help : "");
		if (!f->name || !f->help) {
			free(f->name);
			free(f->help);
			free(f);
			goto nomem;
		}
		f->type = type;
		if (type == T_HISTOGRAM) {
			memcpy(f->bounds, bounds, nb * sizeof(*bounds));
			f->nbounds = nb;
		}
		s->fams[s->n++] = f;
	}
	if (grow(&f->series, &f->cap, f->n, sizeof(*f->series)) < 0 ||
	    !(m = calloc(1, sizeof(*m))))
		goto nomem;
	m->fam = f;
	m->labels = strdup(labels);
	if (type == T_HISTOGRAM)
		m->buckets = calloc(f->nbounds + 1, sizeof(*m->buckets));
	if (!m->labels || (type == T_HISTOGRAM && !m->buckets)) {
		metric_free(m);
		goto nomem;
	}
	f->series[f->n++] = m;
	return m;
inval:
	errno = EINVAL;
	return NULL;
nomem:
	errno = ENOMEM;
	return NULL;
}

struct evb_metric *evb_stats_counter(struct evb_stats *s, const char *name, const char *labels,
				     const char *help)
{
	return get(s, T_COUNTER, name, labels, help, NULL, 0);
}

struct evb_metric *evb_stats_counter_of(struct evb_stats *s, const char *name,
					const char *labels, const char *help,
					const uint64_t *src)
{
	struct evb_metric *m = get(s, T_COUNTER, name, labels, help, NULL, 0);
	if (m)
		m->src = src;
	return m;
}

struct evb_metric *evb_stats_gauge(struct evb_stats *s, const char *name, const char *labels,
				   const char *help)
{
	return get(s, T_GAUGE, name, labels, help, NULL, 0);
}

struct evb_metric *evb_stats_histogram(struct evb_stats *s, const char *name,
				       const char *labels, const char *help,
				       const double *bounds, size_t n)
{
	return get(s, T_HISTOGRAM, name, labels, help, bounds, n);
}

void evb_metric_add(struct evb_metric *m, double v)
{
	if (!m || m->fam->type == T_HISTOGRAM || (m->fam->type == T_COUNTER && !(v >= 0)))
		return;
	m->value += v;
}

void evb_metric_set(struct evb_metric *m, double v)
{
	if (m && m->fam->type == T_GAUGE)
		m->value = v;
}

void evb_metric_observe(struct evb_metric *m, double v)
{
	size_t i = 0;

	if (!m || m->fam->type != T_HISTOGRAM || isnan(v))
		return;
	while (i < m->fam->nbounds && v > m->fam->bounds[i])
		i++;
	m->buckets[i]++;
	m->count++;
	m->sum += v;
}

double evb_metric_value(const struct evb_metric *m)
{
	if (!m)
		return 0;
	if (m->src)
		return (double)*m->src;
	return m->fam->type == T_HISTOGRAM ? (double)m->count : m->value;
}

void evb_stats_on_render(struct evb_stats *s, void (*fn)(struct evb_stats *s, void *arg),
			 void *arg)
{
	s->hook = fn;
	s->hook_arg = arg;
}

int evb_stats_label(char *out, size_t cap, const char *name, const char *value)
{
	size_t o = 0;
	int n = snprintf(out, cap, "%s=\"", name);

	if (n < 0 || (size_t)n >= cap)
		return -ENOBUFS;
	o = (size_t)n;
	for (const char *p = value; *p; p++) {
		const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
		size_t k = esc ? 2 : 1;
		if (o + k + 2 > cap)
			return -ENOBUFS;
		memcpy(out + o, esc ? esc : p, k);
		o += k;
	}
	if (o + 2 > cap)
		return -ENOBUFS;
	out[o++] = '"';
	out[o] = '\0';
	return (int)o;
}

/* name{labels[,extra]} */
static int sb_series(struct sbuf *b, const char *name, const char *suffix, const char *labels,
		     const char *extra)
{
	int r = sb_str(b, name);

	if (!r)
		r = sb_str(b, suffix);
	if (r || (!*labels && !extra))
		return r;
	r = sb_str(b, "{");
	if (!r)
		r = sb_str(b, labels);
	if (!r && extra && *labels)
		r = sb_str(b, ",");
	if (!r && extra)
		r = sb_str(b, extra);
	return r ? r : sb_str(b, "}");
}

static int render_family(struct sbuf *b, const struct family *f)
{
	int r = 0;

	if (*f->help) {
		r = sb_str(b, "# HELP ");
		r = r ? r : sb_str(b, f->name);
		r = r ? r : sb_str(b, " ");
		for (const char *p = f->help; !r && *p; p++)
			r = *p == '\n' ? sb_str(b, "\\n") : *p == '\\' ? sb_str(b, "\\\\")
								  : sb_add(b, p, 1);
		r = r ? r : sb_str(b, "\n");
	}
	r = r ? r : sb_str(b, "# TYPE ");
	r = r ? r : sb_str(b, f->name);
	r = r ? r : sb_str(b, " ");
	r = r ? r : sb_str(b, type_names[f->type]);
	r = r ? r : sb_str(b, "\n");
	for (size_t i = 0; !r && i < f->n; i++) {
		const struct evb_metric *m = f->series[i];
		if (f->type != T_HISTOGRAM) {
			r = sb_series(b, f->name, "", m->labels, NULL);
			r = r ? r : sb_str(b, " ");
			r = r ? r : sb_num(b, m->src ? (double)*m->src : m->value);
			r = r ? r : sb_str(b, "\n");
			continue;
		}
		uint64_t cum = 0;
		for (size_t j = 0; !r && j <= f->nbounds; j++) {
			char num[40], le[48];
			cum += m->buckets[j];
			fmt_num(num, sizeof(num), j < f->nbounds ? f->bounds[j] : INFINITY);
			snprintf(le, sizeof(le), "le=\"%s\"", num);
			r = r ? r : sb_series(b, f->name, "_bucket", m->labels, le);
			r = r ? r : sb_str(b, " ");
			r = r ? r : sb_num(b, (double)cum);
			r = r ? r : sb_str(b, "\n");
		}
		r = r ? r : sb_series(b, f->name, "_sum", m->labels, NULL);
		r = r ? r : sb_str(b, " ");
		r = r ? r : sb_num(b, m->sum);
		r = r ? r : sb_str(b, "\n");
		r = r ? r : sb_series(b, f->name, "_count", m->labels, NULL);
		r = r ? r : sb_str(b, " ");
		r = r ? r : sb_num(b, (double)m->count);
		r = r ? r : sb_str(b, "\n");
	}
	return r;
}

char *evb_stats_render(struct evb_stats *s, size_t *len)
{
	struct sbuf b = { NULL, 0, 0, EVB_STATS_MAX_TEXT };
	int r = sb_add(&b, "", 0);

	if (s->hook)
		s->hook(s, s->hook_arg);
	for (size_t i = 0; !r && i < s->n; i++)
		r = render_family(&b, s->fams[i]);
	if (r) {
		/* Too big: what fits is still valid text up to the last family. */
		EVB_LOG(LOG_WARNING, "stats", "metrics text cut at %zu bytes", b.len);
		if (r == -ENOMEM) {
			free(b.p);
			errno = ENOMEM;
			return NULL;
		}
	}
	*len = b.len;
	return b.p;
}

/* ---- server ---- */

struct client {
	uv_pipe_t pipe;
	uv_write_t wr;
	char *text;
	struct evb_stats_server *srv;
	struct client *next, *prev;
};

struct evb_stats_server {
	uv_pipe_t pipe;
	struct evb_stats *s;
	struct client clients; /* list head */
	char *path;
	dev_t dev;
	ino_t ino;
};

static void client_close_cb(uv_handle_t *h)
{
	struct client *c = h->data;

	free(c->text);
	free(c);
}

static void client_close(struct client *c)
{
	if (c->next) {
		c->next->prev = c->prev;
		c->prev->next = c->next;
		c->next = c->prev = NULL;
	}
	if (!uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, client_close_cb);
}

static void client_written(uv_write_t *wr, int status)
{
	(void)status;
	client_close(wr->data);
}

static void on_client(uv_stream_t *server, int status)
{
	struct evb_stats_server *srv = server->data;
	struct client *c;
	uv_buf_t buf;
	size_t len = 0;

	if (status < 0)
		return;
	if (!(c = calloc(1, sizeof(*c))))
		return;
	uv_pipe_init(server->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->wr.data = c;
	c->srv = srv;
	c->next = srv->clients.next;
	c->prev = &srv->clients;
	c->next->prev = c;
	srv->clients.next = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
	    !(c->text = evb_stats_render(srv->s, &len))) {
		client_close(c);
		return;
	}
	buf = uv_buf_init(c->text, (unsigned)len);
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &buf, 1, client_written) < 0)
		client_close(c);
}

/* 0 when path is free (a stale socket removed), else -errno. */
static int path_free(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS)
		return -EADDRINUSE;
	if (e != ECONNREFUSED)
		return -e;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static void server_close_cb(uv_handle_t *h)
{
	struct evb_stats_server *srv = h->data;

	free(srv->path);
	free(srv);
}

struct evb_stats_server *evb_stats_serve(uv_loop_t *loop, struct evb_stats *s,
					 const char *path)
{
	struct evb_stats_server *srv;
	struct stat st;
	int r = path_free(path);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv || !(srv->path = strdup(path))) {
		free(srv);
		errno = ENOMEM;
		return NULL;
	}
	srv->s = s;
	srv->clients.next = srv->clients.prev = &srv->clients;
	uv_pipe_init(loop, &srv->pipe, 0);
	srv->pipe.data = srv;
	r = uv_pipe_bind(&srv->pipe, path);
	if (r == 0) {
		r = chmod(path, 0660) < 0 || stat(path, &st) < 0 ? -errno : 0;
		if (r == 0) {
			srv->dev = st.st_dev;
			srv->ino = st.st_ino;
			r = uv_listen((uv_stream_t *)&srv->pipe, 64, on_client);
		}
		if (r < 0)
			unlink(path);
	}
	if (r < 0) {
		uv_close((uv_handle_t *)&srv->pipe, server_close_cb);
		errno = -r;
		return NULL;
	}
	return srv;
}

void evb_stats_server_close(struct evb_stats_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	while (srv->clients.next != &srv->clients)
		client_close(srv->clients.next);
	if (stat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	uv_close((uv_handle_t *)&srv->pipe, server_close_cb);
}

/* ---- client ---- */

struct fetch {
	uv_pipe_t pipe;
	uv_connect_t req;
	uv_timer_t timer;
	struct sbuf b;
	int done, handles;
	void (*cb)(int err, const char *text, size_t len, void *arg);
	void *arg;
};

static void fetch_close_cb(uv_handle_t *h)
{
	struct fetch *f = h->data;

	if (--f->handles == 0) {
		free(f->b.p);
		free(f);
	}
}

static void fetch_done(struct fetch *f, int err)
{
	if (f->done)
		return;
	f->done = 1;
	if (err == 0 && !f->b.p)
		err = sb_add(&f->b, "", 0);
	f->cb(err, err ? NULL : f->b.p, err ? 0 : f->b.len, f->arg);
	uv_close((uv_handle_t *)&f->pipe, fetch_close_cb);
	uv_close((uv_handle_t *)&f->timer, fetch_close_cb);
}

static void fetch_timeout(uv_timer_t *t)
{
	fetch_done(t->data, -ETIMEDOUT);
}

static void fetch_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char slab[16384];

	(void)h;
	(void)hint;
	*buf = uv_buf_init(slab, sizeof(slab));
}

static void fetch_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct fetch *f = st->data;
	int r;

	if (n == UV_EOF) {
		fetch_done(f, 0);
	} else if (n < 0) {
		fetch_done(f, (int)n);
	} else if (n > 0 && (r = sb_add(&f->b, buf->base, (size_t)n)) < 0) {
		fetch_done(f, r);
	}
}

static void fetch_connected(uv_connect_t *req, int status)
{
	struct fetch *f = req->data;
	int r;

	if (f->done)
		return;
	r = status < 0 ? status : uv_read_start((uv_stream_t *)&f->pipe, fetch_alloc, fetch_read);
	if (r < 0)
		fetch_done(f, r);
}

int evb_stats_fetch(uv_loop_t *loop, const char *path, unsigned timeout_ms, size_t max_bytes,
		    void (*cb)(int err, const char *text, size_t len, void *arg), void *arg)
{
	struct fetch *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->cb = cb;
	f->arg = arg;
	f->b.max = (max_bytes ? max_bytes : EVB_STATS_MAX_TEXT) + 1;
	f->handles = 2;
	uv_pipe_init(loop, &f->pipe, 0);
	uv_timer_init(loop, &f->timer);
	f->pipe.data = f->timer.data = f->req.data = f;
	uv_timer_start(&f->timer, fetch_timeout, timeout_ms, 0);
	uv_pipe_connect(&f->req, &f->pipe, path, fetch_connected);
	return 0;
}

/* ---- merging ---- */

struct mfam {
	char *name, *help, *type; /* help, type may be NULL */
	int conflict_src;          /* the source whose samples are dropped */
	struct sbuf lines;
};

struct evb_stats_merge {
	struct mfam **fams;
	size_t n, cap, total, max;
	int src;
};

struct evb_stats_merge *evb_stats_merge_new(size_t max_bytes)
{
	struct evb_stats_merge *m = calloc(1, sizeof(*m));

	if (m)
		m->max = max_bytes ? max_bytes : MERGE_MAX_DEFAULT;
	return m;
}

void evb_stats_merge_free(struct evb_stats_merge *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->fams[i]->name);
		free(m->fams[i]->help);
		free(m->fams[i]->type);
		free(m->fams[i]->lines.p);
		free(m->fams[i]);
	}
	free(m->fams);
	free(m);
}

static struct mfam *mfam_get(struct evb_stats_merge *m, const char *name, size_t n)
{
	struct mfam *f;

	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->fams[i]->name) == n && memcmp(m->fams[i]->name, name, n) == 0)
			return m->fams[i];
	if (grow(&m->fams, &m->cap, m->n, sizeof(*m->fams)) < 0 || !(f = calloc(1, sizeof(*f))))
		return NULL;
	if (!(f->name = strndup(name, n))) {
		free(f);
		return NULL;
	}
	f->conflict_src = -1;
	f->lines.max = m->max;
	m->fams[m->n++] = f;
	m->total += n + 32;
	return f;
}

static size_t name_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			 s[i] == '_' || s[i] == ':' || (i > 0 && s[i] >= '0' && s[i] <= '9')))
		i++;
	return i;
}

/* 1 if s[0..n) is a sample value (and optional timestamp). */
static int value_ok(const char *s, size_t n)
{
	char tmp[64], *end;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r'))
		n--;
	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (strncmp(tmp, "+Inf", 4) == 0 || strncmp(tmp, "-Inf", 4) == 0 ||
	    strncmp(tmp, "NaN", 3) == 0)
		end = tmp + (tmp[0] == 'N' ? 3 : 4);
	else if (strtod(tmp, &end) == 0 && end == tmp)
		return 0;
	if (*end == ' ') { /* a timestamp in ms */
		char *t = end + 1;
		strtoll(t, &end, 10);
		if (end == t)
			return 0;
	}
	return *end == '\0';
}

static int is_suffix_of(const char *fam, const char *s, size_t n)
{
	static const char *const suf[] = { "_bucket", "_sum", "_count" };
	size_t fl = strlen(fam);

	if (n <= fl || memcmp(s, fam, fl) != 0)
		return 0;
	for (int i = 0; i < 3; i++)
		if (n - fl == strlen(suf[i]) && memcmp(s + fl, suf[i], n - fl) == 0)
			return 1;
	return 0;
}

/* Adds one sample line to its family. 0, 1 (dropped), or a negative error. */
static int merge_sample(struct evb_stats_merge *m, const char *s, size_t n, struct mfam *cur,
			const char *process)
{
	size_t nl = name_len(s, n), i = nl, before;
	long ll = 0;
	int hp = 0, r = 0;
	struct mfam *f;
	struct sbuf *b;
	char lab[256];

	if (nl == 0)
		return 1;
	if (i < n && s[i] == '{') {
		ll = labels_scan(s + i + 1, n - i - 1, &hp);
		if (ll < 0 || i + 1 + (size_t)ll >= n || s[i + 1 + ll] != '}')
			return 1;
		i += (size_t)ll + 2;
	}
	if (i >= n || s[i] != ' ' || !value_ok(s + i + 1, n - i - 1))
		return 1;
	if (cur && ((strlen(cur->name) == nl && memcmp(cur->name, s, nl) == 0) ||
		    (cur->type && (!strcmp(cur->type, "histogram") || !strcmp(cur->type, "summary")) &&
		     is_suffix_of(cur->name, s, nl))))
		f = cur;
	else
		f = mfam_get(m, s, nl);
	if (!f)
		return -ENOMEM;
	if (f->conflict_src == m->src)
		return 1;
	if (process && !hp && evb_stats_label(lab, sizeof(lab), "process", process) < 0)
		return 1;
	if (m->total + n + sizeof(lab) + 4 > m->max)
		return EVB_ETOOBIG;
	b = &f->lines;
	before = b->len;
	r = sb_add(b, s, nl);
	if (!r && process && !hp) {
		r = sb_str(b, "{");
		r = r ? r : sb_str(b, lab);
		r = r ? r : sb_str(b, ll > 0 ? "," : "}");
		if (!r && ll > 0)
			r = sb_add(b, s + nl + 1, (size_t)ll + 1);
	} else if (!r && ll >= 0 && i > nl) {
		r = sb_add(b, s + nl, i - nl);
	}
	r = r ? r : sb_add(b, s + i, n - i);
	while (!r && b->len && (b->p[b->len - 1] == '\r' || b->p[b->len - 1] == ' '))
		b->p[--b->len] = '\0';
	r = r ? r : sb_str(b, "\n");
	if (r) {
		b->len = before; /* no half line */
		if (b->p)
			b->p[before] = '\0';
	}
	m->total += b->len - before;
	return r;
}

/* A "# HELP" or "# TYPE" line: 0, 1 (dropped) or a negative error. */
static int merge_meta(struct evb_stats_merge *m, const char *s, size_t n, struct mfam **cur)
{
	int help = n > 7 && memcmp(s, "# HELP ", 7) == 0;
	size_t nl;
	const char *rest;
	size_t rn;
	struct mfam *f;

	s += 7;
	n -= 7;
	nl = name_len(s, n);
	if (nl == 0 || (nl < n && s[nl] != ' '))
		return 1;
	rest = nl < n ? s + nl + 1 : s + nl;
	rn = nl < n ? n - nl - 1 : 0;
	while (rn > 0 && rest[rn - 1] == '\r')
		rn--;
	if (!(f = mfam_get(m, s, nl)))
		return -ENOMEM;
	if (help) {
		if (!f->help && !(f->help = strndup(rest, rn)))
			return -ENOMEM;
		return 0;
	}
	static const char *const types[] = { "counter", "gauge", "histogram", "summary",
					      "untyped" };
	int known = 0;
	for (int i = 0; i < 5; i++)
		known |= strlen(types[i]) == rn && memcmp(rest, types[i], rn) == 0;
	if (!known)
		return 1;
	*cur = f;
	if (!f->type)
		return (f->type = strndup(rest, rn)) ? 0 : -ENOMEM;
	if (strlen(f->type) != rn || memcmp(f->type, rest, rn) != 0) {
		f->conflict_src = m->src;
		return 1;
	}
	return 0;
}

int evb_stats_merge_add(struct evb_stats_merge *m, const char *text, size_t len,
			const char *process)
{
	struct mfam *cur = NULL;
	size_t pos = 0;
	int dropped = 0, r;

	m->src++;
	while (pos < len) {
		const char *s = text + pos, *nlp = memchr(s, '\n', len - pos);
		size_t n = nlp ? (size_t)(nlp - s) : len - pos;

		pos += n + 1;
		if (n == 0 || (n == 1 && s[0] == '\r'))
			continue;
		if (memchr(s, '\0', n)) {
			dropped++;
			continue;
		}
		if (s[0] == '#') {
			if (n > 7 && (memcmp(s, "# HELP ", 7) == 0 || memcmp(s, "# TYPE ", 7) == 0))
				r = merge_meta(m, s, n, &cur);
			else
				r = 0;
		} else {
			r = merge_sample(m, s, n, cur, process);
		}
		if (r < 0)
			return r;
		dropped += r;
	}
	return dropped;
}

char *evb_stats_merge_render(const struct evb_stats_merge *m, size_t *len)
{
	struct sbuf b = { NULL, 0, 0, m->max + 1 };
	int r = sb_add(&b, "", 0);

	for (size_t i = 0; !r && i < m->n; i++) {
		const struct mfam *f = m->fams[i];
		if (!f->lines.len)
			continue;
		if (f->help) {
			r = sb_str(&b, "# HELP ");
			r = r ? r : sb_str(&b, f->name);
			r = r ? r : sb_str(&b, " ");
			r = r ? r : sb_str(&b, f->help);
			r = r ? r : sb_str(&b, "\n");
		}
		if (!r && f->type) {
			r = sb_str(&b, "# TYPE ");
			r = r ? r : sb_str(&b, f->name);
			r = r ? r : sb_str(&b, " ");
			r = r ? r : sb_str(&b, f->type);
			r = r ? r : sb_str(&b, "\n");
		}
		r = r ? r : sb_add(&b, f->lines.p, f->lines.len);
	}
	if (r) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	*len = b.len;
	return b.p;
}
