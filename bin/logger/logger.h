/* evb-logger: the modes main() dispatches to. */
#ifndef EVB_LOGGER_H
#define EVB_LOGGER_H

#include <stddef.h>

#include "migrate.h"

struct logger_opts {
	const char *conninfo;          /* DATABASE_URL */
	const char *run_dir;           /* EVB_RUN_DIR */
	const char *spool_dir;         /* --spool, else run_dir/spool */
	const struct migrations *m;
	size_t batch;                  /* events per transaction at most */
	unsigned sync_ms;              /* longest wait for an fdatasync */
};

/* Serves run_dir/logger.sock until SIGTERM or SIGINT; returns the exit
 * status. */
int logger_daemon(const struct logger_opts *o);

/* Loads the events on stdin (JSON lines, or frames) through the spool into
 * the database and returns once all are committed: the exit status. */
int logger_stdin(const struct logger_opts *o);

/* Applies pending migrations and returns the exit status. */
int logger_migrate(const struct logger_opts *o);

#endif
