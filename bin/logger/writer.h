/* The database writer: drains the spool into PostgreSQL in batches (COPY
 * rows in two parts by call, one transaction each on two connections; or
 * SELECT evb_ingest(batch)), after bringing the schema up to date on every
 * new connection. */
#ifndef EVB_LOGGER_WRITER_H
#define EVB_LOGGER_WRITER_H

#include <stdint.h>
#include <uv.h>

#include "migrate.h"
#include "spool.h"

struct writer;

struct writer_stats {
	uint64_t events;    /* events committed (replays included) */
	uint64_t fresh;     /* of which new to the database */
	uint64_t unhandled; /* well formed, type without mapping */
	uint64_t rejected;  /* malformed, stored with the reason */
	uint64_t batches;
	uint64_t lost;      /* refused even as a rejected row (logged) */
};

/* Creates the writer and connects to conninfo. on_idle(arg), when not NULL,
 * runs whenever the writer finds nothing more to write. Returns NULL with
 * errno set. */
struct writer *writer_new(uv_loop_t *loop, struct spool *sp, const char *conninfo,
			  const struct migrations *m, size_t batch_max,
			  void (*on_idle)(void *arg), void *arg);

/* Closes the connection (a batch in flight is written again next time) and
 * frees w from the loop. */
void writer_free(struct writer *w);

/* Tells the writer there may be new durable events. */
void writer_kick(struct writer *w);

/* 1 while the writer has a connection and an up-to-date schema. */
int writer_connected(const struct writer *w);

const struct writer_stats *writer_stats(const struct writer *w);

#endif
