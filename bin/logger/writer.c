/* The database writer (see writer.h).
 *
 * While one batch is in the database, the next is read from the spool and
 * built, a slice of events per loop turn so that the connection is served
 * in between, so the database never waits for us. A batch is built as
 * COPY rows (evm_map_copy(): SELECT evb_ingest_calls(), COPY utterances,
 * COPY call_events), in two parts by call, each one transaction on its own
 * connection (a lane), both at once; one holding a rejected event is
 * built as the JSON record array of SELECT evb_ingest(), and so is one
 * whose COPY the database refused (a replay: an event_id already there).
 * A batch commits as a whole; its end becomes the spool position. When
 * the database refuses a JSON batch's data (SQLSTATE class 22, 23 or 54),
 * the batch is written again one event per transaction, so one bad event
 * cannot hold up the others; an event refused alone is stored as rejected
 * with the database's message. Any other failure keeps the batch for a
 * later retry. */
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
#define BUILD_SLICE 32 /* events built per loop turn */
#define COPY_SQL                                                                     \
	");COPY utterances (event_id, call_id, role, message_id, text, emotion_scores, " \
	"top_emotions, sentiment, confidence, begin_ms, end_ms, interrupted, spoken_at) " \
	"FROM STDIN;COPY call_events (event_id, call_id, type, provider, ts, status, "     \
	"payload) FROM STDIN"

#define LANES 2 /* connections writing the parts of a COPY batch at once */

/* The rows of a COPY batch for one connection: its calls only. */
struct wpart {
	struct evm_copy cp;
	struct db_copy dc[2];
	struct evm_buf sql;
	size_t n; /* events */
};

struct wbatch {
	struct evm_buf json;
	struct wpart part[LANES];
	size_t nparts; /* parts built: 1, or LANES when the lanes were up */
	struct spool_batch sb;
	struct spool_pos end;
	size_t n, i;  /* events; the next one to build */
	uint64_t unhandled, rejected;
	int valid;
	int building; /* sb read, events [0, i) built */
	int copy;     /* built as COPY rows, else as JSON */
	int oversize; /* could not be built: write its events one by one */
};

struct writer {
	uv_loop_t *loop;
	struct spool *sp;
	struct db *db;            /* lane 0: migrations, JSON batches, one by one */
	struct db *lane[LANES];   /* lane[0] is db */
	int lane_up[LANES];       /* lane[i > 0] connected */
	int lane_err;             /* of the parts in flight: 1 data refused, 2 lane 0
				   * failed, 4 another lane failed */
	const struct migrations *m;
	size_t batch_max;
	void (*on_idle)(void *arg);
	void *arg;
	int ready, inflight, migrating;
	struct wbatch b[2];
	int cur; /* b[cur] is in flight; b[cur ^ 1] is the next */
	int json_once; /* build the next batch as JSON (its COPY was refused) */
	uv_idle_t build; /* builds the next slice of the next batch */
	int build_armed;
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
	w->b[0].building = w->b[1].building = 0;
	spool_rewind(w->sp);
}

/* Appends the records of events [from, to) of sb to the JSON array being
 * built, "[" and what came before (a comma before each but the first). */
static int add_records(struct wbatch *wb, const struct spool_batch *sb, size_t from,
		       size_t to, const char *refused)
{
	struct evm_info info;
	int r = 0;

	for (size_t i = from; i < to && r == 0; i++) {
		if (wb->json.len > 1 && (r = evm_buf_add(&wb->json, ",", 1)) < 0)
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
	return r;
}

/* Builds events [from, to) of sb as a JSON array into wb. */
static int build(struct wbatch *wb, const struct spool_batch *sb, size_t from, size_t to,
		 const char *refused)
{
	int r;

	wb->json.len = 0;
	wb->unhandled = wb->rejected = 0;
	wb->n = to - from;
	wb->copy = 0;
	if ((r = evm_buf_add(&wb->json, "[", 1)) < 0)
		return r;
	r = add_records(wb, sb, from, to, refused);
	if (r == 0)
		r = evm_buf_add(&wb->json, "]", 1);
	return r;
}

/* 1 while a query's input is being sent on any lane. */
static int sending(const struct writer *w)
{
	for (size_t i = 0; i < LANES; i++)
		if (w->lane[i] && db_sending(w->lane[i]))
			return 1;
	return 0;
}

/* Reads the next batch into wb, to be built by build_step(); 1 when there
 * is one. */
static int read_start(struct writer *w, struct wbatch *wb)
{
	int n = spool_read(w->sp, w->batch_max, &wb->sb);

	if (n < 0) {
		EVB_LOG(LOG_ERR, "writer", "unable to read the spool: %s", strerror(-n));
		retry_later(w);
		return 0;
	}
	if (n == 0)
		return 0;
	wb->end = wb->sb.end;
	wb->n = wb->sb.n;
	wb->i = 0;
	wb->copy = !w->json_once;
	w->json_once = 0;
	wb->nparts = 1;
	for (size_t i = 1; i < LANES; i++)
		wb->nparts += w->lane_up[i] ? 1 : 0;
	if (wb->nparts < LANES)
		wb->nparts = 1;
	for (size_t i = 0; i < LANES; i++) {
		evm_copy_reset(&wb->part[i].cp);
		wb->part[i].n = 0;
		if (evm_buf_add(&wb->part[i].cp.calls, "[", 1) < 0)
			wb->copy = 0;
	}
	wb->json.len = 0;
	wb->unhandled = wb->rejected = 0;
	wb->oversize = 0;
	wb->building = 1;
	return 1;
}

/* Builds the next slice of wb's events; 1 when the batch is complete. */
static int build_step(struct wbatch *wb)
{
	size_t to = wb->i + BUILD_SLICE < wb->n ? wb->i + BUILD_SLICE : wb->n;
	struct evm_info info;
	int r = 0;

	if (wb->copy) {
		struct evm_copy cps[LANES];
		size_t lane;

		for (size_t k = 0; k < wb->nparts; k++)
			cps[k] = wb->part[k].cp;
		for (; wb->i < to; wb->i++) {
			r = evm_map_copy(wb->sb.payload[wb->i], wb->sb.len[wb->i], cps, wb->nparts,
					 &info, &lane);
			if (r != 0)
				break;
			wb->part[lane].n++;
			wb->unhandled += info.status == EVM_UNHANDLED;
		}
		for (size_t k = 0; k < wb->nparts; k++)
			wb->part[k].cp = cps[k];
		for (size_t k = 0; k < wb->nparts && r == 0 && wb->i == wb->n; k++) {
			struct wpart *pt = &wb->part[k];
			if (pt->n == 0)
				continue;
			if ((r = evm_copy_finish(&pt->cp)) < 0)
				break;
			/* "[" records "]": the records each end with a comma. */
			pt->cp.calls.p[pt->cp.calls.len - 1] = ']';
			pt->dc[0].data = pt->cp.utt.p ? pt->cp.utt.p : "";
			pt->dc[0].len = pt->cp.utt.len;
			pt->dc[1].data = pt->cp.evs.p;
			pt->dc[1].len = pt->cp.evs.len;
		}
		if (r == 0)
			return wb->i == wb->n;
		/* A rejected event, or too big: the JSON path, from the start. */
		wb->copy = 0;
		wb->i = 0;
		wb->unhandled = 0;
		return 0;
	}
	if (wb->i == 0)
		r = evm_buf_add(&wb->json, "[", 1);
	if (r == 0)
		r = add_records(wb, &wb->sb, wb->i, to, NULL);
	wb->i = to;
	if (r == 0 && to == wb->n)
		r = evm_buf_add(&wb->json, "]", 1);
	if (r < 0) {
		EVB_LOG(LOG_WARNING, "writer", "unable to build a batch of %zu events (%s): "
			"writing them one by one", wb->n, strerror(-r));
		wb->oversize = 1;
		return 1;
	}
	return to == wb->n;
}

/* Runs once per loop turn while a batch is being built (an active idle
 * handle also makes the loop poll without waiting): one slice each time. */
static void build_cb(uv_idle_t *h)
{
	struct writer *w = h->data;
	struct wbatch *next = &w->b[w->cur ^ 1];

	if (!next->building || sending(w)) {
		/* Forgotten; or on_sent brings us back. */
		uv_idle_stop(h);
		w->build_armed = 0;
		return;
	}
	if (build_step(next)) {
		uv_idle_stop(h);
		w->build_armed = 0;
		next->building = 0;
		next->valid = 1;
		pump(w);
	}
}

static void single_start(struct writer *w);
static void batch_done(struct db *db, PGresult *res, void *arg);
static void single_done(struct db *db, PGresult *res, void *arg);

static int send_batch(struct writer *w, struct wbatch *wb, db_result_cb cb)
{
	const char *v[1] = { wb->json.p };
	int r;

	if (wb->copy) {
		static const char head[] = "SELECT evb_ingest_calls(";
		w->lane_err = 0;
		r = 0;
		for (size_t k = 0; k < wb->nparts; k++) {
			struct wpart *pt = &wb->part[k];
			char *lit;
			int e;
			if (pt->n == 0)
				continue;
			lit = db_escape_literal(w->lane[k], pt->cp.calls.p, pt->cp.calls.len);
			e = lit ? 0 : -errno;
			pt->sql.len = 0;
			e = e ? e : evm_buf_add(&pt->sql, head, sizeof(head) - 1);
			e = e ? e : evm_buf_add(&pt->sql, lit, strlen(lit));
			e = e ? e : evm_buf_add(&pt->sql, COPY_SQL, sizeof(COPY_SQL) - 1);
			free(lit);
			e = e ? e : db_query_copy(w->lane[k], pt->sql.p, pt->dc, 2, cb, w);
			if (e == 0) {
				w->inflight++;
			} else if (k > 0) {
				w->lane_err = 2; /* the parts sent are written again */
				w->lane_up[k] = 0;
			} else {
				r = e;
			}
		}
		if (r < 0 && w->inflight)
			w->lane_err = 2; /* wait for the parts in flight, then retry */
		/* -EAGAIN: only a helping lane failed; build again without it. */
		return w->inflight ? 0 : r ? r : -EAGAIN;
	}
	w->inflight = 1;
	r = db_query(w->db, INGEST_SQL, 1, v, NULL, cb, w);
	if (r < 0)
		w->inflight = 0;
	return r;
}

static void commit(struct writer *w, const struct spool_pos *end, const struct wbatch *wb,
		   uint64_t fresh)
{
	int r;

	w->st.events += wb->n;
	w->st.fresh += fresh;
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

/* One part of a COPY batch is done; once all are, the batch commits, or
 * is written again (as JSON when the database refused its rows). */
static void copy_done(struct writer *w, struct wbatch *wb, struct db *db, PGresult *res)
{
	char em[400];

	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (res && data_error(res)) {
			EVB_LOG(LOG_INFO, "writer", "the database refused the rows of a batch of "
				"%zu events (%s): writing it through evb_ingest()", wb->n,
				db_errmsg(res, em, sizeof(em)));
			w->lane_err |= 1;
		} else if (db == w->db) {
			failed(w, res);
			w->lane_err |= 2;
		} else {
			/* Lane 1 and up only help: drop this one until it reconnects. */
			if (res)
				EVB_LOG(LOG_WARNING, "writer", "unable to write part of a batch: %s "
					"(SQLSTATE %s)", db_errmsg(res, em, sizeof(em)),
					db_sqlstate(res));
			for (size_t i = 1; i < LANES; i++)
				if (w->lane[i] == db)
					w->lane_up[i] = 0;
			if (res)
				db_reset(db);
			w->lane_err |= 4;
		}
	}
	if (w->inflight)
		return;
	if (!w->lane_err) {
		commit(w, &wb->end, wb, wb->n); /* the COPYs added every event */
		wb->valid = 0;
		pump(w);
		return;
	}
	forget(w);
	if (w->lane_err & 1)
		w->json_once = 1;
	pump(w); /* does nothing while lane 0 reconnects or waits to retry */
}

static void batch_done(struct db *db, PGresult *res, void *arg)
{
	struct writer *w = arg;
	struct wbatch *wb = &w->b[w->cur];

	w->inflight--;
	if (wb->copy) {
		copy_done(w, wb, db, res);
		return;
	}
	if (!wb->copy && res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		commit(w, &wb->end, wb, (uint64_t)atoll(PQgetvalue(res, 0, 0)));
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
		commit(w, &end, &w->one, (uint64_t)atoll(PQgetvalue(res, 0, 0)));
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
		int r;

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
		/* Build the next batch while the server works on this one,
		 * pausing while a query or its COPY data is being sent. */
		if (!next->valid && !next->building && !sending(w))
			read_start(w, next);
		if (next->building && !sending(w) && !w->build_armed) {
			w->build_armed = 1;
			uv_idle_start(&w->build, build_cb);
		}
		if (w->inflight || w->retry_armed || next->building)
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
		if ((r = send_batch(w, next, batch_done)) < 0) {
			forget(w);
			if (r == -EAGAIN)
				continue;
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

static void lane_up(struct db *db, void *arg)
{
	struct writer *w = arg;

	for (size_t i = 1; i < LANES; i++)
		if (w->lane[i] == db)
			w->lane_up[i] = 1;
	pump(w);
}

static void lane_down(struct db *db, const char *why, void *arg)
{
	struct writer *w = arg;

	(void)why;
	for (size_t i = 1; i < LANES; i++)
		if (w->lane[i] == db)
			w->lane_up[i] = 0;
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
	for (int i = 0; i < 2; i++) {
		evm_buf_init(&w->b[i].json, JSON_MAX);
		for (int k = 0; k < LANES; k++) {
			evm_copy_init(&w->b[i].part[k].cp, JSON_MAX);
			evm_buf_init(&w->b[i].part[k].sql, JSON_MAX);
		}
	}
	evm_buf_init(&w->one.json, JSON_MAX);
	w->db = db_new(loop, conninfo, db_up, db_down, w);
	if (!w->db) {
		free(w);
		return NULL;
	}
	db_set_sent_cb(w->db, db_sent, w);
	w->lane[0] = w->db;
	for (size_t i = 1; i < LANES; i++) {
		w->lane[i] = db_new(loop, conninfo, lane_up, lane_down, w);
		if (w->lane[i])
			db_set_sent_cb(w->lane[i], db_sent, w);
	}
	uv_timer_init(loop, &w->retry);
	w->retry.data = w;
	uv_idle_init(loop, &w->build);
	w->build.data = w;
	return w;
}

static void retry_close_cb(uv_handle_t *h)
{
	struct writer *w = h->data;

	for (int i = 0; i < 2; i++) {
		evm_buf_release(&w->b[i].json);
		for (int k = 0; k < LANES; k++) {
			evm_copy_release(&w->b[i].part[k].cp);
			evm_buf_release(&w->b[i].part[k].sql);
		}
	}
	evm_buf_release(&w->one.json);
	free(w);
}

static void build_close_cb(uv_handle_t *h)
{
	struct writer *w = h->data;

	uv_close((uv_handle_t *)&w->retry, retry_close_cb);
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < LANES; i++)
		db_free(w->lane[i]);
	uv_close((uv_handle_t *)&w->build, build_close_cb);
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
