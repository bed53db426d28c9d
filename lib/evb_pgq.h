/* Asynchronous PostgreSQL on a uv loop: a small pool of libpq connections
 * (PQconnectStart/PQconnectPoll, PQsendQueryParams, uv_poll on PQsocket)
 * sharing one bounded FIFO of parameterized queries, each with a deadline;
 * every connection reconnects with backoff. Nothing here blocks the loop,
 * except that libpq resolves a host name in the conninfo synchronously: use
 * an address or a unix socket directory. */
#ifndef EVB_PGQ_H
#define EVB_PGQ_H

#include <libpq-fe.h>
#include <stddef.h>
#include <uv.h>

#define EVB_PGQ_MAX_PARAMS 32
#define EVB_PGQ_TIMEOUT_MS 5000 /* default deadline of a query */

struct evb_pgq;

/* The outcome of a query: err 0 and res (a tuples, command or error
 * result: check PQresultStatus), or err -ENOTCONN (every connection lost),
 * -ETIMEDOUT (deadline passed; a query in flight was abandoned with its
 * connection, which reconnects) and res NULL. res belongs to the pool and
 * is cleared when the callback returns. */
typedef void (*evb_pgq_cb)(PGresult *res, int err, void *arg);

/* A pool of nconns (1..16) connections to conninfo (copied), connecting
 * now, with at most max_queue queries waiting (0: 1000). Returns NULL with
 * errno set. */
struct evb_pgq *evb_pgq_new(uv_loop_t *loop, const char *conninfo, unsigned nconns,
			    size_t max_queue);

/* Closes every connection and frees q from the loop. Queries queued or in
 * flight are dropped without their callbacks running. NULL is ignored. */
void evb_pgq_free(struct evb_pgq *q);

/* How many connections are up. */
unsigned evb_pgq_up(const struct evb_pgq *q);

/* Queues sql (one statement, copied) with n text parameters (copied; a
 * NULL value is SQL NULL), to run within timeout_ms (0: the default).
 * cb runs once, from the loop, unless q is freed first. Returns 0; -ENOTCONN
 * when no connection is up; EVB_EFULL when the queue is full; -E2BIG for
 * more than EVB_PGQ_MAX_PARAMS; -ENOMEM. Then cb never runs. */
int evb_pgq_query(struct evb_pgq *q, const char *sql, int n, const char *const *values,
		  unsigned timeout_ms, evb_pgq_cb cb, void *arg);

/* The SQLSTATE of an error result ("23505"), or "". */
const char *evb_pgq_sqlstate(const PGresult *res);

/* The primary message of an error result on one line, into buf. */
const char *evb_pgq_errmsg(const PGresult *res, char *buf, size_t cap);

#endif
