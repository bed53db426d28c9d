/* Asynchronous libpq on a uv loop (see db.h). A uv_poll handle watches the
 * connection's socket; it is heap-allocated and replaced whenever libpq's
 * socket changes, and freed in its close callback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "evb_log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define CONNECT_TIMEOUT_MS 10000
#define QUERY_TIMEOUT_MS 300000 /* a query (a batch, a migration) this long: reconnect */

enum state { ST_WAIT, ST_CONNECTING, ST_UP };

struct db {
	uv_loop_t *loop;
	char *conninfo;
	PGconn *pg;
	uv_poll_t *poll;
	int poll_fd;
	uv_timer_t timer; /* backoff, connect timeout, or query deadline */
	enum state state;
	uint64_t delay_ms;
	void (*on_up)(struct db *db, void *arg);
	void (*on_down)(struct db *db, const char *why, void *arg);
	void *arg;
	db_result_cb cb; /* query in flight */
	void *cb_arg;
	const struct db_copy *copy; /* COPY FROM STDIN data of the query in flight */
	size_t ncopy, icopy;
	PGresult *res;   /* result kept for cb */
	int flushing;    /* output still to send */
	void (*on_sent)(struct db *db, void *arg);
	void *sent_arg;
	int complained;  /* one log line per outage */
};

static void connect_start(struct db *db);
static void lost(struct db *db, const char *why);

static void poll_close_cb(uv_handle_t *h)
{
	free(h);
}

static void unwatch(struct db *db)
{
	if (db->poll) {
		uv_close((uv_handle_t *)db->poll, poll_close_cb);
		db->poll = NULL;
		db->poll_fd = -1;
	}
}

static void on_poll(uv_poll_t *p, int status, int events);

/* Watches libpq's current socket for events. Returns 0 or a uv error. */
static int watch(struct db *db, int events)
{
	int fd = PQsocket(db->pg), r;

	if (fd < 0)
		return UV_EBADF;
	if (db->poll && db->poll_fd != fd)
		unwatch(db);
	if (!db->poll) {
		db->poll = malloc(sizeof(*db->poll));
		if (!db->poll)
			return UV_ENOMEM;
		r = uv_poll_init(db->loop, db->poll, fd);
		if (r < 0) {
			free(db->poll);
			db->poll = NULL;
			return r;
		}
		db->poll->data = db;
		db->poll_fd = fd;
	}
	return uv_poll_start(db->poll, events, on_poll);
}

static void timer_cb(uv_timer_t *t)
{
	struct db *db = t->data;

	if (db->state == ST_CONNECTING) {
		db_reset(db); /* connect timed out */
		return;
	}
	if (db->state == ST_UP) {
		if (db->cb)
			lost(db, "query timed out");
		return;
	}
	connect_start(db);
}

/* Ends the connection and schedules the next attempt. */
static void lost(struct db *db, const char *why)
{
	db_result_cb cb = db->cb;
	void *cb_arg = db->cb_arg;
	char msg[512];
	int was_up = db->state == ST_UP;

	snprintf(msg, sizeof(msg), "%s", why && *why ? why : "connection lost");
	msg[strcspn(msg, "\n")] = '\0';
	unwatch(db);
	if (db->res)
		PQclear(db->res);
	db->res = NULL;
	if (db->pg)
		PQfinish(db->pg);
	db->pg = NULL;
	db->cb = NULL;
	db->copy = NULL;
	db->ncopy = db->icopy = 0;
	db->flushing = 0;
	db->state = ST_WAIT;
	uv_timer_start(&db->timer, timer_cb, db->delay_ms, 0);
	db->delay_ms = db->delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : db->delay_ms * 2;
	if (was_up || !db->complained)
		EVB_LOG(LOG_WARNING, "db", "%s to the database: %s; retrying",
			was_up ? "lost the connection" : "unable to connect", msg);
	db->complained = 1;
	if (cb)
		cb(db, NULL, cb_arg);
	if (db->on_down)
		db->on_down(db, msg, db->arg);
}

static void notice(void *arg, const char *msg)
{
	(void)arg;
	EVB_LOG(LOG_DEBUG, "db", "%.*s", (int)strcspn(msg, "\n"), msg);
}

static void connect_step(struct db *db)
{
	PostgresPollingStatusType st = PQconnectPoll(db->pg);
	int r = 0;

	switch (st) {
	case PGRES_POLLING_READING:
		r = watch(db, UV_READABLE);
		break;
	case PGRES_POLLING_WRITING:
		r = watch(db, UV_WRITABLE);
		break;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(db->pg, 1) != 0) {
			lost(db, PQerrorMessage(db->pg));
			return;
		}
		PQsetNoticeProcessor(db->pg, notice, NULL);
		uv_timer_stop(&db->timer);
		db->state = ST_UP;
		db->delay_ms = BACKOFF_MIN_MS;
		db->complained = 0;
		r = watch(db, UV_READABLE);
		if (r < 0)
			break;
		EVB_LOG(LOG_INFO, "db", "connected to the database");
		if (db->on_up)
			db->on_up(db, db->arg);
		return;
	default:
		lost(db, PQerrorMessage(db->pg));
		return;
	}
	if (r < 0)
		lost(db, uv_strerror(r));
}

static void connect_start(struct db *db)
{
	db->pg = PQconnectStart(db->conninfo);
	if (!db->pg || PQstatus(db->pg) == CONNECTION_BAD) {
		lost(db, db->pg ? PQerrorMessage(db->pg) : "out of memory");
		return;
	}
	db->state = ST_CONNECTING;
	uv_timer_start(&db->timer, timer_cb, CONNECT_TIMEOUT_MS, 0);
	/* libpq: wait until the socket is writable before the first poll. */
	if (watch(db, UV_WRITABLE) < 0)
		lost(db, "unable to watch the database socket");
}

static void query_flush(struct db *db, int notify);

/* The server waits for the data of the query's next COPY FROM STDIN: hands
 * libpq all of it (its output buffer grows to hold it) and the end of the
 * copy, then lets the socket take it. A COPY with no data given ends at
 * once, with an error. Returns 0, or -1 when the connection is gone. */
static int copy_in(struct db *db)
{
	const struct db_copy *c = db->icopy < db->ncopy ? &db->copy[db->icopy++] : NULL;
	size_t off = 0;

	while (c && off < c->len) {
		size_t n = c->len - off > (1u << 30) ? 1u << 30 : c->len - off;
		if (PQputCopyData(db->pg, c->data + off, (int)n) != 1) {
			lost(db, PQerrorMessage(db->pg));
			return -1;
		}
		off += n;
	}
	if (PQputCopyEnd(db->pg, c ? NULL : "no data for this COPY") != 1) {
		lost(db, PQerrorMessage(db->pg));
		return -1;
	}
	query_flush(db, 1);
	return db->state == ST_UP ? 0 : -1;
}

/* Reads what is there; delivers the result once the query is complete. */
static void query_input(struct db *db)
{
	PGresult *r;

	if (!PQconsumeInput(db->pg)) {
		lost(db, PQerrorMessage(db->pg));
		return;
	}
	while (db->cb && !PQisBusy(db->pg)) {
		r = PQgetResult(db->pg);
		if (!r) {
			db_result_cb cb = db->cb;
			PGresult *res = db->res;
			db->cb = NULL;
			db->copy = NULL;
			db->ncopy = db->icopy = 0;
			db->res = NULL;
			uv_timer_stop(&db->timer);
			cb(db, res, db->cb_arg);
			PQclear(res);
			return;
		}
		if (PQresultStatus(r) == PGRES_COPY_IN) {
			PQclear(r);
			if (copy_in(db) < 0)
				return;
			continue;
		}
		/* Keep the first error, else the last result. */
		if (db->res && PQresultStatus(db->res) == PGRES_FATAL_ERROR) {
			PQclear(r);
		} else {
			PQclear(db->res);
			db->res = r;
		}
	}
	if (!db->cb) {
		/* Idle: a notice, or the server closing the connection. */
		PGnotify *n;
		while ((n = PQnotifies(db->pg)))
			PQfreemem(n);
		if (PQstatus(db->pg) == CONNECTION_BAD)
			lost(db, PQerrorMessage(db->pg));
	}
}

/* Sends what libpq holds; notify: tell on_sent when it is all out (not
 * from inside db_query(), whose caller can ask db_sending()). */
static void query_flush(struct db *db, int notify)
{
	int r = PQflush(db->pg);

	if (r < 0) {
		lost(db, PQerrorMessage(db->pg));
		return;
	}
	db->flushing = r == 1;
	if (watch(db, UV_READABLE | (db->flushing ? UV_WRITABLE : 0)) < 0) {
		lost(db, "unable to watch the database socket");
		return;
	}
	if (notify && !db->flushing && db->on_sent)
		db->on_sent(db, db->sent_arg);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct db *db = p->data;

	if (p != db->poll)
		return;
	if (db->state == ST_CONNECTING) {
		connect_step(db);
		return;
	}
	if (db->state != ST_UP)
		return;
	if (status < 0) {
		lost(db, uv_strerror(status));
		return;
	}
	if ((events & UV_WRITABLE) && db->flushing) {
		query_flush(db, 1);
		if (db->state != ST_UP)
			return;
	}
	if (events & UV_READABLE)
		query_input(db);
}

struct db *db_new(uv_loop_t *loop, const char *conninfo,
		  void (*on_up)(struct db *db, void *arg),
		  void (*on_down)(struct db *db, const char *why, void *arg), void *arg)
{
	struct db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	db->conninfo = strdup(conninfo);
	if (!db->conninfo) {
		free(db);
		return NULL;
	}
	db->loop = loop;
	db->poll_fd = -1;
	db->on_up = on_up;
	db->on_down = on_down;
	db->arg = arg;
	db->delay_ms = BACKOFF_MIN_MS;
	uv_timer_init(loop, &db->timer);
	db->timer.data = db;
	connect_start(db);
	return db;
}

static void db_timer_close_cb(uv_handle_t *h)
{
	struct db *db = h->data;

	free(db->conninfo);
	free(db);
}

void db_free(struct db *db)
{
	if (!db)
		return;
	unwatch(db);
	if (db->res)
		PQclear(db->res);
	if (db->pg)
		PQfinish(db->pg);
	uv_close((uv_handle_t *)&db->timer, db_timer_close_cb);
}

int db_ready(const struct db *db)
{
	return db->state == ST_UP && !db->cb;
}

int db_query(struct db *db, const char *sql, int n, const char *const *values,
	     const int *lengths, db_result_cb cb, void *arg)
{
	int ok;

	if (db->state != ST_UP)
		return -ENOTCONN;
	if (db->cb)
		return -EBUSY;
	if (n == 0 && !values)
		ok = PQsendQuery(db->pg, sql);
	else
		ok = PQsendQueryParams(db->pg, sql, n, NULL, values, lengths, NULL, 0);
	if (!ok) {
		lost(db, PQerrorMessage(db->pg));
		return -ENOTCONN;
	}
	db->cb = cb;
	db->cb_arg = arg;
	uv_timer_start(&db->timer, timer_cb, QUERY_TIMEOUT_MS, 0);
	query_flush(db, 0);
	return 0;
}

int db_query_copy(struct db *db, const char *sql, const struct db_copy *copy, size_t n,
		  db_result_cb cb, void *arg)
{
	int r;

	db->copy = copy;
	db->ncopy = n;
	db->icopy = 0;
	r = db_query(db, sql, 0, NULL, NULL, cb, arg);
	if (r < 0) {
		db->copy = NULL;
		db->ncopy = 0;
	}
	return r;
}

int db_sending(const struct db *db)
{
	return db->state == ST_UP && db->flushing;
}

char *db_escape_literal(struct db *db, const char *s, size_t len)
{
	char *lit, *out;

	if (db->state != ST_UP) {
		errno = ENOTCONN;
		return NULL;
	}
	if (!(lit = PQescapeLiteral(db->pg, s, len))) {
		errno = ENOMEM;
		return NULL;
	}
	out = strdup(lit);
	PQfreemem(lit);
	return out;
}

void db_set_sent_cb(struct db *db, void (*cb)(struct db *db, void *arg), void *arg)
{
	db->on_sent = cb;
	db->sent_arg = arg;
}

void db_reset(struct db *db)
{
	if (db->state == ST_WAIT)
		return;
	lost(db, "connection reset");
}

const char *db_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

const char *db_errmsg(const PGresult *res, char *buf, size_t cap)
{
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!m && res)
		m = PQresultErrorMessage(res);
	snprintf(buf, cap, "%s", m && *m ? m : "unknown error");
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}
