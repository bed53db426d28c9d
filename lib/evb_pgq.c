/* A pool of asynchronous libpq connections with one query queue (see
 * evb_pgq.h). Each connection watches its socket with a heap-allocated
 * uv_poll handle, replaced whenever libpq's socket changes and freed in its
 * close callback; its timer serves the reconnect backoff and the connect
 * timeout. One pool timer ticks while queries exist, to enforce deadlines.
 * The connection logic follows bin/logger/db.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_pgq.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define CONNECT_TIMEOUT_MS 10000
#define TICK_MS 50
#define MAX_CONNS 16

enum state { ST_WAIT, ST_CONNECTING, ST_UP };

struct query {
	struct query *next;
	char *sql;
	int n;
	char *values[EVB_PGQ_MAX_PARAMS];
	uint64_t deadline; /* uv_now() ms */
	evb_pgq_cb cb;
	void *arg;
};

struct pconn {
	struct evb_pgq *q;
	PGconn *pg;
	uv_poll_t *poll;
	int poll_fd;
	uv_timer_t timer;
	enum state state;
	uint64_t delay_ms;
	struct query *cur; /* in flight */
	PGresult *res;     /* result kept for cur */
	int flushing;
};

struct evb_pgq {
	uv_loop_t *loop;
	char *conninfo;
	struct pconn conns[MAX_CONNS];
	unsigned nconns, up, handles;
	struct query *head, *tail;
	size_t queued, max_queue;
	uv_timer_t tick, kick;
	int complained, freeing;
};

static void connect_start(struct pconn *c);
static void dispatch(struct evb_pgq *q);

static void query_free(struct query *x)
{
	for (int i = 0; i < x->n; i++)
		free(x->values[i]);
	free(x->sql);
	free(x);
}

/* Runs x's callback and frees it. */
static void query_finish(struct query *x, PGresult *res, int err)
{
	x->cb(res, err, x->arg);
	query_free(x);
}

static void poll_close_cb(uv_handle_t *h)
{
	free(h);
}

static void unwatch(struct pconn *c)
{
	if (c->poll) {
		uv_close((uv_handle_t *)c->poll, poll_close_cb);
		c->poll = NULL;
		c->poll_fd = -1;
	}
}

static void on_poll(uv_poll_t *p, int status, int events);

/* Watches libpq's current socket. Returns 0 or a uv error. */
static int watch(struct pconn *c, int events)
{
	int fd = PQsocket(c->pg), r;

	if (fd < 0)
		return UV_EBADF;
	if (c->poll && c->poll_fd != fd)
		unwatch(c);
	if (!c->poll) {
		c->poll = malloc(sizeof(*c->poll));
		if (!c->poll)
			return UV_ENOMEM;
		r = uv_poll_init(c->q->loop, c->poll, fd);
		if (r < 0) {
			free(c->poll);
			c->poll = NULL;
			return r;
		}
		c->poll->data = c;
		c->poll_fd = fd;
	}
	return uv_poll_start(c->poll, events, on_poll);
}

static void conn_timer_cb(uv_timer_t *t)
{
	struct pconn *c = t->data;

	if (c->state == ST_CONNECTING) {
		EVB_LOG(LOG_DEBUG, "pgq", "connect timed out");
		PQfinish(c->pg);
		c->pg = NULL;
		unwatch(c);
		c->state = ST_WAIT;
	}
	connect_start(c);
}

/* Ends c's connection (its query fails) and schedules the next attempt;
 * queued queries fail at the next tick if no connection is left. */
static void lost(struct pconn *c, const char *why, int err)
{
	struct evb_pgq *q = c->q;
	struct query *x = c->cur;
	char msg[512];
	int was_up = c->state == ST_UP;

	snprintf(msg, sizeof(msg), "%s", why && *why ? why : "connection lost");
	msg[strcspn(msg, "\n")] = '\0';
	unwatch(c);
	PQclear(c->res);
	c->res = NULL;
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->cur = NULL;
	c->flushing = 0;
	c->state = ST_WAIT;
	if (was_up)
		q->up--;
	uv_timer_start(&c->timer, conn_timer_cb, c->delay_ms, 0);
	c->delay_ms = c->delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->delay_ms * 2;
	if (!q->complained)
		EVB_LOG(LOG_WARNING, "pgq", "%s to the database: %s; retrying",
			was_up ? "lost the connection" : "unable to connect", msg);
	q->complained = 1;
	if (x)
		query_finish(x, NULL, err);
}

static void notice(void *arg, const char *msg)
{
	(void)arg;
	EVB_LOG(LOG_DEBUG, "pgq", "%.*s", (int)strcspn(msg, "\n"), msg);
}

static void connect_step(struct pconn *c)
{
	PostgresPollingStatusType st = PQconnectPoll(c->pg);
	int r = 0;

	switch (st) {
	case PGRES_POLLING_READING:
		r = watch(c, UV_READABLE);
		break;
	case PGRES_POLLING_WRITING:
		r = watch(c, UV_WRITABLE);
		break;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->pg, 1) != 0) {
			lost(c, PQerrorMessage(c->pg), -ENOTCONN);
			return;
		}
		PQsetNoticeProcessor(c->pg, notice, NULL);
		uv_timer_stop(&c->timer);
		c->state = ST_UP;
		c->delay_ms = BACKOFF_MIN_MS;
		c->q->up++;
		r = watch(c, UV_READABLE);
		if (r < 0)
			break;
		if (c->q->complained || c->q->up == 1)
			EVB_LOG(LOG_INFO, "pgq", "connected to the database");
		c->q->complained = 0;
		dispatch(c->q);
		return;
	default:
		lost(c, PQerrorMessage(c->pg), -ENOTCONN);
		return;
	}
	if (r < 0)
		lost(c, uv_strerror(r), -ENOTCONN);
}

static void connect_start(struct pconn *c)
{
	c->pg = PQconnectStart(c->q->conninfo);
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
		lost(c, c->pg ? PQerrorMessage(c->pg) : "out of memory", -ENOTCONN);
		return;
	}
	c->state = ST_CONNECTING;
	uv_timer_start(&c->timer, conn_timer_cb, CONNECT_TIMEOUT_MS, 0);
	/* libpq: wait until the socket is writable before the first poll. */
	if (watch(c, UV_WRITABLE) < 0)
		lost(c, "unable to watch the database socket", -ENOTCONN);
}

static void flush_out(struct pconn *c)
{
	int r = PQflush(c->pg);

	if (r < 0) {
		lost(c, PQerrorMessage(c->pg), -ENOTCONN);
		return;
	}
	c->flushing = r == 1;
	if (watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0)) < 0)
		lost(c, "unable to watch the database socket", -ENOTCONN);
}

/* Reads what is there; delivers the result once the query is complete. */
static void read_in(struct pconn *c)
{
	PGresult *r;

	if (!PQconsumeInput(c->pg)) {
		lost(c, PQerrorMessage(c->pg), -ENOTCONN);
		return;
	}
	while (c->cur && !PQisBusy(c->pg)) {
		r = PQgetResult(c->pg);
		if (!r) {
			struct query *x = c->cur;
			PGresult *res = c->res;
			c->cur = NULL;
			c->res = NULL;
			query_finish(x, res, 0);
			PQclear(res);
			if (!c->q->freeing)
				dispatch(c->q);
			return;
		}
		/* Keep the first error, else the last result. */
		if (c->res && PQresultStatus(c->res) == PGRES_FATAL_ERROR) {
			PQclear(r);
		} else {
			PQclear(c->res);
			c->res = r;
		}
	}
	if (!c->cur) {
		PGnotify *nt;
		while ((nt = PQnotifies(c->pg)))
			PQfreemem(nt);
		if (PQstatus(c->pg) == CONNECTION_BAD)
			lost(c, PQerrorMessage(c->pg), -ENOTCONN);
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct pconn *c = p->data;

	if (p != c->poll || c->q->freeing)
		return;
	if (c->state == ST_CONNECTING) {
		connect_step(c);
		return;
	}
	if (c->state != ST_UP)
		return;
	if (status < 0) {
		lost(c, uv_strerror(status), -ENOTCONN);
		return;
	}
	if ((events & UV_WRITABLE) && c->flushing) {
		flush_out(c);
		if (c->state != ST_UP)
			return;
	}
	if (events & UV_READABLE)
		read_in(c);
}

/* Sends queued queries to idle connections. */
static void dispatch(struct evb_pgq *q)
{
	for (unsigned i = 0; i < q->nconns && q->head && !q->freeing; i++) {
		struct pconn *c = &q->conns[i];
		struct query *x;

		if (c->state != ST_UP || c->cur)
			continue;
		x = q->head;
		q->head = x->next;
		if (!q->head)
			q->tail = NULL;
		q->queued--;
		if (!PQsendQueryParams(c->pg, x->sql, x->n, NULL, (const char *const *)x->values,
				       NULL, NULL, 0)) {
			/* The connection is broken: the query goes back first. */
			x->next = q->head;
			q->head = x;
			if (!q->tail)
				q->tail = x;
			q->queued++;
			lost(c, PQerrorMessage(c->pg), -ENOTCONN);
			continue;
		}
		c->cur = x;
		flush_out(c);
	}
}

/* Takes the first query whose deadline has passed off the queue. */
static struct query *take_expired(struct evb_pgq *q, uint64_t now)
{
	struct query **pp = &q->head, *x, *prev = NULL;

	for (; (x = *pp); prev = x, pp = &x->next) {
		if (x->deadline > now)
			continue;
		*pp = x->next;
		if (q->tail == x)
			q->tail = prev;
		q->queued--;
		return x;
	}
	return NULL;
}

/* Every TICK_MS while queries exist: deadlines, and a queue left with no
 * connection up. Callbacks may free q: check after each. */
static void tick_cb(uv_timer_t *t)
{
	struct evb_pgq *q = t->data;
	uint64_t now = uv_now(q->loop);
	struct query *x;
	int busy = 0;

	while ((x = take_expired(q, now))) {
		query_finish(x, NULL, -ETIMEDOUT);
		if (q->freeing)
			return;
	}
	for (unsigned i = 0; i < q->nconns; i++) {
		struct pconn *c = &q->conns[i];
		if (c->cur && c->cur->deadline <= now) {
			EVB_LOG(LOG_WARNING, "pgq", "query timed out; resetting its connection");
			lost(c, "query timed out", -ETIMEDOUT);
			if (q->freeing)
				return;
		}
		busy |= c->cur != NULL;
	}
	if (q->up == 0) {
		while (q->head && !q->freeing) {
			x = q->head;
			q->head = x->next;
			if (!q->head)
				q->tail = NULL;
			q->queued--;
			query_finish(x, NULL, -ENOTCONN);
		}
		if (q->freeing)
			return;
	}
	dispatch(q);
	if (!busy && !q->head)
		uv_timer_stop(&q->tick);
}

static void kick_cb(uv_timer_t *t)
{
	dispatch(t->data);
}

static void handle_close_cb(uv_handle_t *h)
{
	struct evb_pgq *q = h->data;

	if (--q->handles == 0) {
		free(q->conninfo);
		free(q);
	}
}

struct evb_pgq *evb_pgq_new(uv_loop_t *loop, const char *conninfo, unsigned nconns,
			    size_t max_queue)
{
	struct evb_pgq *q;

	if (nconns < 1 || nconns > MAX_CONNS) {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q || !(q->conninfo = strdup(conninfo))) {
		free(q);
		errno = ENOMEM;
		return NULL;
	}
	q->loop = loop;
	q->nconns = nconns;
	q->max_queue = max_queue ? max_queue : 1000;
	uv_timer_init(loop, &q->tick);
	uv_timer_init(loop, &q->kick);
	q->tick.data = q->kick.data = q;
	q->handles = 2;
	for (unsigned i = 0; i < nconns; i++) {
		struct pconn *c = &q->conns[i];
		c->q = q;
		c->poll_fd = -1;
		c->delay_ms = BACKOFF_MIN_MS;
		uv_timer_init(loop, &c->timer);
		c->timer.data = c;
		q->handles++;
	}
	for (unsigned i = 0; i < nconns; i++)
		connect_start(&q->conns[i]);
	return q;
}

void evb_pgq_free(struct evb_pgq *q)
{
	if (!q)
		return;
	q->freeing = 1;
	while (q->head) {
		struct query *x = q->head;
		q->head = x->next;
		query_free(x);
	}
	for (unsigned i = 0; i < q->nconns; i++) {
		struct pconn *c = &q->conns[i];
		unwatch(c);
		PQclear(c->res);
		c->res = NULL;
		if (c->pg)
			PQfinish(c->pg);
		c->pg = NULL;
		if (c->cur)
			query_free(c->cur);
		c->cur = NULL;
		c->state = ST_WAIT;
		c->timer.data = q;
		uv_close((uv_handle_t *)&c->timer, handle_close_cb);
	}
	uv_close((uv_handle_t *)&q->tick, handle_close_cb);
	uv_close((uv_handle_t *)&q->kick, handle_close_cb);
}

unsigned evb_pgq_up(const struct evb_pgq *q)
{
	return q->up;
}

int evb_pgq_query(struct evb_pgq *q, const char *sql, int n, const char *const *values,
		  unsigned timeout_ms, evb_pgq_cb cb, void *arg)
{
	struct query *x;

	if (q->up == 0)
		return -ENOTCONN;
	if (n < 0 || n > EVB_PGQ_MAX_PARAMS)
		return -E2BIG;
	if (q->queued >= q->max_queue)
		return EVB_EFULL;
	x = calloc(1, sizeof(*x));
	if (!x || !(x->sql = strdup(sql))) {
		free(x);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (values[i] && !(x->values[i] = strdup(values[i]))) {
			x->n = i;
			query_free(x);
			return -ENOMEM;
		}
	}
	x->n = n;
	x->cb = cb;
	x->arg = arg;
	x->deadline = uv_now(q->loop) + (timeout_ms ? timeout_ms : EVB_PGQ_TIMEOUT_MS);
	if (q->tail)
		q->tail->next = x;
	else
		q->head = x;
	q->tail = x;
	q->queued++;
	if (!uv_is_active((uv_handle_t *)&q->tick))
		uv_timer_start(&q->tick, tick_cb, TICK_MS, TICK_MS);
	/* Sent from the loop, so that cb never runs inside this call. */
	uv_timer_start(&q->kick, kick_cb, 0, 0);
	return 0;
}

const char *evb_pgq_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

const char *evb_pgq_errmsg(const PGresult *res, char *buf, size_t cap)
{
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!m && res)
		m = PQresultErrorMessage(res);
	snprintf(buf, cap, "%s", m && *m ? m : "unknown error");
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}
