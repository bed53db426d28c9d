/* One asynchronous PostgreSQL connection on a uv loop: non-blocking
 * connect (10 s at most), one query at a time (5 min at most, then the
 * connection is dropped), reconnect with backoff. Nothing here ever
 * blocks the loop (but a host name in DATABASE_URL is resolved by libpq
 * synchronously: use an address or a unix socket). */
#ifndef EVB_LOGGER_DB_H
#define EVB_LOGGER_DB_H

#include <libpq-fe.h>
#include <uv.h>

struct db;

/* Called with the query's result (the first error of a multi-statement
 * query, else its last result), or with NULL when the connection was lost
 * before the query ended. res belongs to db and is freed after the call. */
typedef void (*db_result_cb)(struct db *db, PGresult *res, void *arg);

/* Connects to conninfo (copied) now and again after each loss, waiting
 * 100 ms doubling to 2 s between attempts. on_up runs when a connection is
 * ready, on_down when it is lost or an attempt fails (why: the libpq
 * message, secrets never included). Returns NULL with errno set. */
struct db *db_new(uv_loop_t *loop, const char *conninfo,
		  void (*on_up)(struct db *db, void *arg),
		  void (*on_down)(struct db *db, const char *why, void *arg), void *arg);

/* Closes the connection and frees db from the loop; no callback runs after. */
void db_free(struct db *db);

/* 1 when connected and no query is running, else 0. */
int db_ready(const struct db *db);

/* Sends sql with n text parameters (values and lengths; NULL for none):
 * with n == 0 it may hold several statements. cb runs once. Returns 0,
 * -ENOTCONN or -EBUSY (then cb never runs). */
int db_query(struct db *db, const char *sql, int n, const char *const *values,
	     const int *lengths, db_result_cb cb, void *arg);

/* The rows of one COPY ... FROM STDIN, in the COPY's format. */
struct db_copy {
	const char *data;
	size_t len;
};

/* As db_query() with no parameters, for sql holding COPY ... FROM STDIN
 * statements: the i-th COPY gets copy[i] (n of them). copy must stay valid
 * until cb runs. A multi-statement sql is one transaction. */
int db_query_copy(struct db *db, const char *sql, const struct db_copy *copy, size_t n,
		  db_result_cb cb, void *arg);

/* 1 while a query's input (or the data of one of its COPYs, once the
 * server asked for it) is still being sent to the server. */
int db_sending(const struct db *db);

/* s (len bytes) as an SQL string literal for this connection, quotes
 * included: a new string the caller frees, or NULL with errno set. */
char *db_escape_literal(struct db *db, const char *s, size_t len);

/* Sets cb(db, arg) to run whenever a query, or the data of one of its
 * COPYs, has been sent in full (the server has all it needs to work on). */
void db_set_sent_cb(struct db *db, void (*cb)(struct db *db, void *arg), void *arg);

/* Drops the connection (a query in flight reports NULL) and reconnects
 * after the backoff delay. */
void db_reset(struct db *db);

/* The SQLSTATE of an error result, or "" . */
const char *db_sqlstate(const PGresult *res);

/* A one-line error message of res (trailing newline removed). */
const char *db_errmsg(const PGresult *res, char *buf, size_t cap);

#endif
