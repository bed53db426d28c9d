/* The database writer (see writer.h).
 *
 * While one batch is in the database, the next is read from the spool and
 * turned into its JSON record array, so the database never waits for us.
 * A batch commits as a whole; its end becomes the spool position. When the
 * database refuses a batch's data (SQLSTATE class 22, 23 or 54), the batch
 * is written again one event per transaction, so one bad event cannot hold
 * up the others; an event refused alone is stored as rejected with the
 * database's message. Any other failure keeps the batch for a later retry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_log.h"
#include "evmap.h"
#include "writer.h"

#define JSON_MAX (128u << 20)
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 5000
#define INGEST_SQL "SELECT evb_ingest($1::jsonb)"

struct wbatch {
	struct evm_buf json;
	struct spool_pos end;
	size_t n;
	uint64_t unhandled, rejected;
	int valid;
	int oversize; /* could not be built: write its events one by one */
};

struct writer {
	uv_loop_t *loop;
	struct spool *sp;
	struct db *db;
	const struct migrations *m;
	size_t batch_max;
	void (*on_idle)(void *arg);
	void *arg;
	int ready, inflight, migrating;
	struct wbatch b[2];
	int cur; /* b[cur] is in flight; b[cur ^ 1] is the next */
	/* one event per transaction, after a refused batch */
	int single, refused;
	struct spool_batch sb;
	size_t si;
	char reason[300];
	struct wbatch one;
	uv_timer_t retry;
	int retry_armed;
	uint64_t retry_ms;
	struct writer_stats st;
};

static void pump(struct writer *w);
static void start_migrate(struct writer *w);

static int data_error(const PGresult *res)
{
	const char *s = db_sqlstate(res);
	return strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0 || strncmp(s, "54", 2) == 0;
}

static void retry_cb(uv_timer_t *t)
{
	struct writer *w = t->data;

	w->retry_armed = 0;
	if (!w->ready)
		start_migrate(w);
	else
		pump(w);
}

static void retry_later(struct writer *w)
{
	w->retry_armed = 1;
	uv_timer_start(&w->retry, retry_cb, w->retry_ms, 0);
	w->retry_ms = w->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : w->retry_ms * 2;
}

/* Forgets built batches: the spool will hand their events out again. */
static void forget(struct writer *w)
{
	w->b[0].valid = w->b[1].valid = 0;
	spool_rewind(w->sp);
}

/* Appends the records of events [from, to) of sb as a JSON array. */
static int build(struct wbatch *wb, const struct spool_batch *sb, size_t from, size_t to,
		 const char *refused)
{
	struct evm_info info;
	int r = 0;

	wb->json.len = 0;
	wb->unhandled = wb->rejected = 0;
	wb->n = to - from;
	if ((r = evm_buf_add(&wb->json, "[", 1)) < 0)
		return r;
	for (size_t i = from; i < to && r == 0; i++) {
		if (i > from && (r = evm_buf_add(&wb->json, ",", 1)) < 0)
			break;
		if (refused)
			r = evm_map_refused(sb->payload[i], sb->len[i], refused, &wb->json, &info);
		else
			r = evm_map(sb->payload[i], sb->len[i], &wb->json, &info);
		wb->unhandled += info.status == EVM_UNHANDLED;
		wb->rejected += info.status == EVM_REJECTED;
		if (info.status == EVM_REJECTED)
			EVB_LOG(LOG_WARNING, "writer", "event '%s' rejected: %s", info.event_id,
				info.reason);
	}
	if (r == 0)
		r = evm_buf_add(&wb->json, "]", 1);
	return r;
}

/* Reads and builds the next batch into wb; 1 when there is one. */
static int read_build(struct writer *w, struct wbatch *wb)
{
	struct spool_batch sb;
	int n = spool_read(w->sp, w->batch_max, &sb), r;

	if (n < 0) {
		EVB_LOG(LOG_ERR, "writer", "unable to read the spool: %s", strerror(-n));
		retry_later(w);
		return 0;
	}
	if (n == 0)
		return 0;
	r = build(wb, &sb, 0, sb.n, NULL);
	wb->oversize = r < 0;
	if (r < 0)
		EVB_LOG(LOG_WARNING, "writer", "unable to build a batch of %zu events (%s): "
			"writing them one by one", sb.n, strerror(-r));
	wb->end = sb.end;
	wb->valid = 1;
	return 1;
}

static void single_start(struct writer *w);
static void batch_done(struct db *db, PGresult *res, void *arg);
static void single_done(struct db *db, PGresult *res, void *arg);

static int send_batch(struct writer *w, struct wbatch *wb, db_result_cb cb)
{
	const char *v[1] = { wb->json.p };
	int r;

	w->inflight = 1;
	r = db_query(w->db, INGEST_SQL, 1, v, NULL, cb, w);
	if (r < 0)
		w->inflight = 0;
	return r;
}

static void commit(struct writer *w, const struct spool_pos *end, const struct wbatch *wb,
		   const PGresult *res)
{
	int r;

	w->st.events += wb->n;
	w->st.fresh += (uint64_t)atoll(PQgetvalue(res, 0, 0));
	w->st.unhandled += wb->unhandled;
	w->st.rejected += wb->rejected;
	w->st.batches++;
	w->retry_ms = RETRY_MIN_MS;
	r = spool_commit(w->sp, end);
	if (r < 0)
		EVB_LOG(LOG_WARNING, "writer", "unable to record the spool position: %s",
			strerror(-r));
}

/* A failure that is not about the data: keep everything for later. */
static void failed(struct writer *w, PGresult *res)
{
	char em[400];

	if (!res) {
		w->ready = 0; /* the connection is gone; on_up starts again */
		return;
	}
	EVB_LOG(LOG_ERR, "writer", "unable to write a batch: %s (SQLSTATE %s); retrying in "
		"%llu ms", db_errmsg(res, em, sizeof(em)), db_sqlstate(res),
		(unsigned long long)w->retry_ms);
	w->ready = 0; /* check the schema again before the retry */
	retry_later(w);
}

static void batch_done(struct db *db, PGresult *res, void *arg)
{
	struct writer *w = arg;
	struct wbatch *wb = &w->b[w->cur];

	(void)db;
	w->inflight = 0;
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		commit(w, &wb->end, wb, res);
		wb->valid = 0;
		pump(w);
		return;
	}
	forget(w);
	if (res && data_error(res)) {
		char em[400];
		EVB_LOG(LOG_WARNING, "writer", "the database refused a batch of %zu events "
			"(%s): writing them one by one", wb->n, db_errmsg(res, em, sizeof(em)));
		single_start(w);
		pump(w);
		return;
	}
	failed(w, res);
}

static void single_start(struct writer *w)
{
	int n = spool_read(w->sp, w->batch_max, &w->sb);

	if (n <= 0)
		return;
	w->single = 1;
	w->si = 0;
	w->refused = 0;
}

static void single_send(struct writer *w)
{
	int r = build(&w->one, &w->sb, w->si, w->si + 1, w->refused ? w->reason : NULL);

	if (r == 0)
		r = send_batch(w, &w->one, single_done);
	if (r == -ENOBUFS || r == -ENOMEM) {
		EVB_LOG(LOG_ERR, "writer", "unable to build the record of an event: %s; "
			"skipping it", strerror(-r));
		w->st.lost++;
		w->si++;
	}
}

static void single_done(struct db *db, PGresult *res, void *arg)
{
	struct writer *w = arg;
	char em[400];

	(void)db;
	w->inflight = 0;
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		struct spool_pos end = w->sb.start;
		for (size_t i = 0; i <= w->si; i++)
			end.off += EVB_FRAME_HDR_LEN + w->sb.len[i];
		commit(w, &end, &w->one, res);
		w->si++;
		w->refused = 0;
	} else if (res && data_error(res) && !w->refused) {
		db_errmsg(res, w->reason, sizeof(w->reason));
		w->refused = 1;
	} else if (res && data_error(res)) {
		EVB_LOG(LOG_ERR, "writer", "the database refused event %zu of a batch even as "
			"rejected (%s): skipping it", w->si, db_errmsg(res, em, sizeof(em)));
		w->st.lost++;
		w->si++;
		w->refused = 0;
	} else {
		failed(w, res);
		return;
	}
	pump(w);
}

static void pump(struct writer *w)
{
	for (;;) {
		struct wbatch *next;

		if (!w->ready || w->retry_armed)
			return;
		if (w->single) {
			if (w->inflight)
				return;
			if (w->si < w->sb.n) {
				single_send(w);
				if (w->inflight)
					return;
				continue;
			}
			w->single = 0;
			spool_rewind(w->sp);
			continue;
		}
		next = &w->b[w->cur ^ 1];
		/* Build the next batch once the server has all of this one. */
		if (!next->valid && !db_sending(w->db))
			read_build(w, next);
		if (w->inflight || w->retry_armed)
			return;
		if (!next->valid) {
			if (w->on_idle)
				w->on_idle(w->arg);
			return;
		}
		if (next->oversize) {
			forget(w);
			single_start(w);
			continue;
		}
		w->cur ^= 1;
		if (send_batch(w, next, batch_done) < 0) {
			forget(w);
			return;
		}
	}
}

static void migrated(int result, int applied, const char *msg, void *arg)
{
	struct writer *w = arg;

	w->migrating = 0;
	if (result == 0) {
		if (applied)
			EVB_LOG(LOG_INFO, "writer", "schema: %d migration%s applied", applied,
				applied == 1 ? "" : "s");
		w->ready = 1;
		pump(w);
		return;
	}
	if (result == -1) {
		EVB_LOG(LOG_ERR, "writer", "schema: %s; events stay in the spool, retrying in "
			"%llu ms", msg, (unsigned long long)w->retry_ms);
		retry_later(w);
	}
	/* -2: the connection is gone; db_up starts again. */
}

static void start_migrate(struct writer *w)
{
	if (w->migrating || w->ready || !db_ready(w->db))
		return;
	if (mig_run(w->db, w->m, migrated, w) == 0)
		w->migrating = 1;
}

static void db_up(struct db *db, void *arg)
{
	struct writer *w = arg;

	(void)db;
	w->ready = 0;
	if (!w->retry_armed)
		start_migrate(w);
}

static void db_sent(struct db *db, void *arg)
{
	(void)db;
	pump(arg);
}

static void db_down(struct db *db, const char *why, void *arg)
{
	struct writer *w = arg;

	(void)db;
	(void)why;
	w->ready = 0;
}

struct writer *writer_new(uv_loop_t *loop, struct spool *sp, const char *conninfo,
			  const struct migrations *m, size_t batch_max,
			  void (*on_idle)(void *arg), void *arg)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->loop = loop;
	w->sp = sp;
	w->m = m;
	w->batch_max = batch_max;
	w->on_idle = on_idle;
	w->arg = arg;
	w->retry_ms = RETRY_MIN_MS;
	evm_buf_init(&w->b[0].json, JSON_MAX);
	evm_buf_init(&w->b[1].json, JSON_MAX);
	evm_buf_init(&w->one.json, JSON_MAX);
	w->db = db_new(loop, conninfo, db_up, db_down, w);
	if (!w->db) {
		free(w);
		return NULL;
	}
	db_set_sent_cb(w->db, db_sent, w);
	uv_timer_init(loop, &w->retry);
	w->retry.data = w;
	return w;
}

static void retry_close_cb(uv_handle_t *h)
{
	struct writer *w = h->data;

	evm_buf_release(&w->b[0].json);
	evm_buf_release(&w->b[1].json);
	evm_buf_release(&w->one.json);
	free(w);
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	db_free(w->db);
	uv_close((uv_handle_t *)&w->retry, retry_close_cb);
}

void writer_kick(struct writer *w)
{
	pump(w);
}

int writer_connected(const struct writer *w)
{
	return w->ready;
}

const struct writer_stats *writer_stats(const struct writer *w)
{
	return &w->st;
}
