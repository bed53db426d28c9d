/* evb-logger's modes: the daemon (socket intake with acks), --stdin, and
 * --migrate. The ack protocol is in docs/logger.md: a sender numbers the
 * event frames of a connection from 0 in the header's seq; once a sync
 * covers a frame, the logger answers {"type":"ack","upto":seq}. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_conn.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_stats.h"
#include "logger.h"
#include "spool.h"
#include "writer.h"

#define STATS_EVERY_MS 60000
#define LINE_MAX_BYTES EVB_FRAME_MAX_PAYLOAD

struct sender {
	struct sender *prev, *next;
	struct evb_conn *c;
	struct logger *lg;
	uint32_t last;     /* seq of the last frame appended */
	uint32_t inflight; /* seq covered by the running sync */
	int have, have_inflight;
};

struct logger {
	uv_loop_t *loop;
	const struct logger_opts *o;
	struct spool *sp;
	struct writer *w;
	struct evb_listener *lis;
	struct sender senders; /* list head */
	uv_signal_t sig[2];
	uv_timer_t stats;
	uint64_t received, refused, logged_events;
	int stdin_mode, stdin_done, stopping, rc;
	struct evb_stats *metrics;
	struct evb_stats_server *stats_srv;
	struct evb_metric *m_spool, *m_senders;
};

static void stop(struct logger *lg, int rc);

/* ---- senders and acks ---- */

static void send_ack(struct sender *s, uint32_t upto)
{
	struct evb_frame_hdr h = { .kind = EVB_KIND_CONTROL, .seq = upto };
	char json[64];
	int n = snprintf(json, sizeof(json), "{\"type\":\"ack\",\"upto\":%lu}",
			 (unsigned long)upto);
	int r;

	h.len = (uint32_t)n;
	r = evb_conn_send(s->c, &h, json);
	if (r < 0 && r != -ENOTCONN) {
		EVB_LOG(LOG_WARNING, "intake", "unable to ack '%s': %s", evb_conn_name(s->c),
			evb_strerror(r));
		evb_conn_close(s->c); /* it resends what was not acked */
	}
}

static void sync_start(void *arg)
{
	struct logger *lg = arg;

	for (struct sender *s = lg->senders.next; s != &lg->senders; s = s->next) {
		if (!s->have)
			continue;
		s->inflight = s->last;
		s->have_inflight = 1;
		s->have = 0;
	}
}

static void sync_done(int err, void *arg)
{
	struct logger *lg = arg;
	struct sender *s, *n;

	for (s = lg->senders.next; s != &lg->senders; s = n) {
		n = s->next;
		if (!s->have_inflight)
			continue;
		s->have_inflight = 0;
		if (err == 0) {
			send_ack(s, s->inflight);
		} else {
			/* Nothing of it is known durable: the sender must resend. */
			evb_conn_close(s->c);
		}
	}
	if (lg->w)
		writer_kick(lg->w);
}

static void on_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	struct sender *s = arg;
	struct logger *lg = s->lg;
	int r;

	if (f->h.kind != EVB_KIND_EVENT) {
		EVB_LOG(LOG_DEBUG, "intake", "ignoring a %s frame from '%s'",
			evb_kind_name(f->h.kind), evb_conn_name(c));
		return;
	}
	r = spool_append(lg->sp, &f->h, f->payload);
	if (r < 0) {
		lg->refused++;
		EVB_LOG(LOG_ERR, "intake", "unable to spool an event from '%s': %s; closing",
			evb_conn_name(c), evb_strerror(r));
		evb_conn_close(c);
		return;
	}
	lg->received++;
	s->last = f->h.seq;
	s->have = 1;
}

static void on_close(struct evb_conn *c, int reason, void *arg)
{
	struct sender *s = arg;

	if (reason < 0)
		EVB_LOG(LOG_WARNING, "intake", "'%s' closed: %s", evb_conn_name(c),
			evb_strerror(reason));
	else
		EVB_LOG(LOG_DEBUG, "intake", "'%s' closed", evb_conn_name(c));
	s->prev->next = s->next;
	s->next->prev = s->prev;
	free(s);
}

static void on_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	struct logger *lg = arg;
	struct sender *s = calloc(1, sizeof(*s));

	(void)l;
	if (!s) {
		evb_conn_close(c);
		return;
	}
	s->c = c;
	s->lg = lg;
	s->next = &lg->senders;
	s->prev = lg->senders.prev;
	lg->senders.prev->next = s;
	lg->senders.prev = s;
	EVB_LOG(LOG_INFO, "intake", "'%s' connected", evb_conn_name(c));
	if (evb_conn_start(c, on_frame, on_close, s) < 0)
		evb_conn_close(c);
}

/* ---- life cycle ---- */

static void log_stats(struct logger *lg)
{
	const struct writer_stats *st = writer_stats(lg->w);

	EVB_LOG(LOG_INFO, "stats", "%llu events received, %llu written (%llu new, %llu "
		"unhandled, %llu rejected) in %llu batches, %llu refused, %llu lost; spool "
		"%llu bytes appended",
		(unsigned long long)lg->received, (unsigned long long)st->events,
		(unsigned long long)st->fresh, (unsigned long long)st->unhandled,
		(unsigned long long)st->rejected, (unsigned long long)st->batches,
		(unsigned long long)lg->refused, (unsigned long long)st->lost,
		(unsigned long long)spool_bytes_appended(lg->sp));
	lg->logged_events = st->events + lg->received;
}

static void stats_cb(uv_timer_t *t)
{
	struct logger *lg = t->data;
	const struct writer_stats *st = writer_stats(lg->w);

	if (st->events + lg->received != lg->logged_events)
		log_stats(lg);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void stop(struct logger *lg, int rc)
{
	if (lg->stopping++)
		return;
	lg->rc = rc;
	if (lg->lis)
		evb_listener_close(lg->lis);
	if (lg->stats_srv)
		evb_stats_server_close(lg->stats_srv);
	lg->stats_srv = NULL;
	for (struct sender *s = lg->senders.next; s != &lg->senders; s = s->next)
		evb_conn_close(s->c);
	log_stats(lg);
	writer_free(lg->w);
	spool_close(lg->sp);
	uv_close((uv_handle_t *)&lg->stats, NULL);
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&lg->sig[i], NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct logger *lg = h->data;

	EVB_LOG(LOG_INFO, "logger", "signal %d: stopping", signum);
	stop(lg, 0);
}

static void on_idle(void *arg)
{
	struct logger *lg = arg;

	if (lg->stdin_mode && lg->stdin_done && spool_drained(lg->sp))
		stop(lg, 0);
}

static int start(struct logger *lg, const struct logger_opts *o)
{
	struct spool_hooks hooks = { sync_start, sync_done, lg };
	char err[1024];
	int locked;

	signal(SIGPIPE, SIG_IGN);
	lg->loop = uv_default_loop();
	lg->o = o;
	lg->senders.next = lg->senders.prev = &lg->senders;
	lg->sp = spool_open(lg->loop, o->spool_dir, o->sync_ms, &hooks, err, sizeof(err), &locked);
	if (!lg->sp) {
		EVB_LOG(LOG_ERR, "logger", "%s", err);
		return 111;
	}
	lg->w = writer_new(lg->loop, lg->sp, o->conninfo, o->m, o->batch, on_idle, lg);
	if (!lg->w) {
		EVB_LOG(LOG_ERR, "logger", "unable to start the writer: %s", strerror(errno));
		spool_close(lg->sp);
		return 111;
	}
	uv_timer_init(lg->loop, &lg->stats);
	lg->stats.data = lg;
	uv_timer_start(&lg->stats, stats_cb, STATS_EVERY_MS, STATS_EVERY_MS);
	uv_unref((uv_handle_t *)&lg->stats);
	for (int i = 0; i < 2; i++) {
		uv_signal_init(lg->loop, &lg->sig[i]);
		lg->sig[i].data = lg;
		uv_signal_start(&lg->sig[i], on_signal, i ? SIGINT : SIGTERM);
	}
	return 0;
}

static int run(struct logger *lg)
{
	uv_run(lg->loop, UV_RUN_DEFAULT);
	uv_walk(lg->loop, close_walk, NULL);
	uv_run(lg->loop, UV_RUN_DEFAULT);
	uv_loop_close(lg->loop);
	return lg->rc;
}

static void render(struct evb_stats *stats, void *arg)
{
	struct logger *lg = arg;
	size_t senders = 0;

	(void)stats;
	for (struct sender *sd = lg->senders.next; sd != &lg->senders; sd = sd->next)
		senders++;
	evb_metric_set(lg->m_spool, (double)spool_bytes_on_disk(lg->sp));
	evb_metric_set(lg->m_senders, (double)senders);
}

static void stats_init(struct logger *lg)
{
	struct evb_stats *s = evb_stats_new();
	char path[PATH_MAX];

	if (!s)
		return;
	lg->metrics = s;
	const struct writer_stats *st = writer_stats(lg->w);
	evb_stats_counter_of(s, "evb_logger_events_received_total", NULL,
			     "Events spooled from senders.", &lg->received);
	evb_stats_counter_of(s, "evb_logger_events_refused_total", NULL,
			     "Event frames that could not be spooled.", &lg->refused);
	evb_stats_counter_of(s, "evb_logger_events_written_total", NULL,
			     "Events committed to PostgreSQL (replays included).", &st->events);
	evb_stats_counter_of(s, "evb_logger_events_rejected_total", NULL,
			     "Malformed events, stored with the reason.", &st->rejected);
	evb_stats_counter_of(s, "evb_logger_events_unhandled_total", NULL,
			     "Well-formed events of a type without a mapping.", &st->unhandled);
	evb_stats_counter_of(s, "evb_logger_batches_total", NULL, "Transactions written.",
			     &st->batches);
	evb_stats_counter_of(s, "evb_logger_events_lost_total", NULL,
			     "Events refused even as rejected rows.", &st->lost);
	lg->m_spool = evb_stats_gauge(s, "evb_logger_spool_bytes", NULL,
				      "Bytes in the spool on disk (events not yet compacted away).");
	lg->m_senders = evb_stats_gauge(s, "evb_logger_senders", NULL, "Connected senders.");
	evb_stats_on_render(s, render, lg);
	snprintf(path, sizeof(path), "%s/logger%s", lg->o->run_dir, EVB_STATS_SUFFIX);
	if (!(lg->stats_srv = evb_stats_serve(lg->loop, s, path)))
		EVB_LOG(LOG_WARNING, "logger", "no metrics socket at '%s': %s", path,
			strerror(errno));
}

int logger_daemon(const struct logger_opts *o)
{
	static struct logger lg;
	char path[PATH_MAX];
	int rc = start(&lg, o);

	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/logger.sock", o->run_dir);
	lg.lis = evb_listen_unix(lg.loop, path, 128, on_accept, &lg);
	if (!lg.lis) {
		int e = errno;
		EVB_LOG(LOG_ERR, "logger", "unable to listen on '%s': %s", path, strerror(e));
		stop(&lg, e == ENAMETOOLONG || e == EEXIST ? 100 : 111);
		return run(&lg);
	}
	EVB_LOG(LOG_INFO, "logger", "listening on '%s', spool '%s'", path, o->spool_dir);
	stats_init(&lg);
	evb_notify_ready();
	rc = run(&lg);
	evb_stats_free(lg.metrics);
	return rc;
}

/* ---- --stdin ---- */

static int spool_one(struct logger *lg, const void *p, size_t len, uint32_t seq)
{
	struct evb_frame_hdr h = { .kind = EVB_KIND_EVENT, .seq = seq };
	int r;

	h.len = (uint32_t)len;
	r = spool_append(lg->sp, &h, p);
	if (r < 0) {
		EVB_LOG(LOG_ERR, "stdin", "unable to spool event %lu: %s", (unsigned long)seq,
			evb_strerror(r));
		return -1;
	}
	lg->received++;
	return 0;
}

static int read_frames(struct logger *lg, const uint8_t *head, size_t hlen)
{
	struct evb_frame_reader *r = evb_frame_reader_new(EVB_FRAME_MAX_PAYLOAD);
	struct evb_frame f;
	long n = 1;
	int e = 0;

	if (!r || evb_frame_reader_feed(r, head, hlen) < 0)
		goto fail;
	while (e >= 0) {
		while ((e = evb_frame_reader_next(r, &f)) == 1)
			if (f.h.kind == EVB_KIND_EVENT &&
			    spool_one(lg, f.payload, f.h.len, (uint32_t)lg->received) < 0)
				goto fail;
		if (e < 0 || n == 0)
			break;
		n = evb_frame_reader_read_fd(r, STDIN_FILENO);
		if (n < 0) {
			EVB_LOG(LOG_ERR, "stdin", "unable to read stdin: %s", evb_strerror((int)n));
			goto fail;
		}
		if (n == 0)
			e = evb_frame_reader_finish(r);
	}
	if (e < 0) {
		EVB_LOG(LOG_ERR, "stdin", "stdin: %s", evb_frame_reader_error(r));
		goto fail;
	}
	evb_frame_reader_free(r);
	return 0;
fail:
	evb_frame_reader_free(r);
	return -1;
}

struct lines {
	struct logger *lg;
	uint8_t *buf; /* the current line, at most LINE_MAX_BYTES */
	size_t len;
	int over;     /* the line was longer: the rest is dropped */
};

static int line_end(struct lines *ls)
{
	size_t l = ls->len;
	int r = 0;

	if (l && ls->buf[l - 1] == '\r')
		l--;
	if (ls->over)
		EVB_LOG(LOG_WARNING, "stdin", "a line longer than %u bytes is cut",
			LINE_MAX_BYTES);
	if (l)
		r = spool_one(ls->lg, ls->buf, l, (uint32_t)ls->lg->received);
	ls->len = 0;
	ls->over = 0;
	return r;
}

static int lines_feed(struct lines *ls, const uint8_t *p, size_t n)
{
	while (n) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n, fit = LINE_MAX_BYTES - ls->len;

		if (seg > fit)
			ls->over = 1;
		memcpy(ls->buf + ls->len, p, seg < fit ? seg : fit);
		ls->len += seg < fit ? seg : fit;
		if (!nl)
			return 0;
		if (line_end(ls) < 0)
			return -1;
		p += seg + 1;
		n -= seg + 1;
	}
	return 0;
}

static int read_lines(struct logger *lg, const uint8_t *head, size_t hlen)
{
	struct lines ls = { .lg = lg, .buf = malloc(LINE_MAX_BYTES) };
	uint8_t chunk[65536];
	ssize_t n;
	int r = -1;

	if (!ls.buf || lines_feed(&ls, head, hlen) < 0)
		goto done;
	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			EVB_LOG(LOG_ERR, "stdin", "unable to read stdin: %s", strerror(errno));
			goto done;
		}
		if (lines_feed(&ls, chunk, (size_t)n) < 0)
			goto done;
	}
	r = line_end(&ls);
done:
	free(ls.buf);
	return r;
}

int logger_stdin(const struct logger_opts *o)
{
	static struct logger lg;
	uint8_t head[4];
	size_t hlen = 0;
	ssize_t n;
	int rc = start(&lg, o), r;

	if (rc)
		return rc;
	lg.stdin_mode = 1;
	while (hlen < sizeof(head) && (n = read(STDIN_FILENO, head + hlen, sizeof(head) - hlen)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		hlen += (size_t)n;
	}
	if (hlen == 4 && memcmp(head, EVB_FRAME_MAGIC, 4) == 0)
		r = read_frames(&lg, head, hlen);
	else
		r = read_lines(&lg, head, hlen);
	lg.stdin_done = 1;
	EVB_LOG(LOG_INFO, "stdin", "%llu events read; writing them to the database",
		(unsigned long long)lg.received);
	spool_sync_now(lg.sp);
	if (r < 0)
		stop(&lg, 111);
	return run(&lg);
}

/* ---- --migrate ---- */

struct mig {
	uv_loop_t *loop;
	struct db *db;
	const struct migrations *m;
	int rc, done;
};

static void mig_done(int result, int applied, const char *msg, void *arg)
{
	struct mig *g = arg;

	if (result == 0) {
		if (applied)
			EVB_LOG(LOG_INFO, "migrate", "%d migration%s applied", applied,
				applied == 1 ? "" : "s");
		else
			EVB_LOG(LOG_INFO, "migrate", "the schema is up to date");
		g->rc = 0;
	} else {
		EVB_LOG(LOG_ERR, "migrate", "%s", msg);
		g->rc = result == -1 ? 100 : 111;
	}
	g->done = 1;
	db_free(g->db);
}

static void mig_up(struct db *db, void *arg)
{
	struct mig *g = arg;

	if (mig_run(db, g->m, mig_done, g) < 0) {
		g->rc = 111;
		g->done = 1;
		db_free(g->db);
	}
}

static void mig_down(struct db *db, const char *why, void *arg)
{
	struct mig *g = arg;

	(void)why;
	if (g->done)
		return;
	/* --migrate does not wait for the database: fail at once. */
	g->rc = 111;
	g->done = 1;
	db_free(db);
}

int logger_migrate(const struct logger_opts *o)
{
	struct mig g = { .m = o->m, .rc = 111 };

	g.loop = uv_default_loop();
	g.db = db_new(g.loop, o->conninfo, mig_up, mig_down, &g);
	if (!g.db) {
		EVB_LOG(LOG_ERR, "migrate", "unable to start: %s", strerror(errno));
		return 111;
	}
	uv_run(g.loop, UV_RUN_DEFAULT);
	uv_loop_close(g.loop);
	return g.rc;
}
