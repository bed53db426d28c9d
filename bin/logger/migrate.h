/* Schema migrations: sql/NNNN-name.sql files applied in order, each in its
 * own transaction, recorded in schema_migrations, under an advisory lock so
 * that two loggers never race. Runs over an asynchronous db connection. */
#ifndef EVB_LOGGER_MIGRATE_H
#define EVB_LOGGER_MIGRATE_H

#include <stddef.h>

#include "db.h"

struct migration {
	int version;
	char *name; /* file name, e.g. "0001-schema.sql" */
	char *sql;
};

struct migrations {
	struct migration *v;
	size_t n;
	char dir[4096];
};

/* Finds the migration directory: dir if given, else the first of
 * <exe>/../share/evibridge/sql, <exe>/../sql, <exe>/../../sql holding
 * 0001-*.sql. Returns 0, or -1 with err set. */
int mig_find_dir(const char *dir, char *out, size_t cap, char *err, size_t errlen);

/* Loads every NNNN-*.sql file of dir, sorted by number (two files with one
 * number are an error). Returns 0, or -1 with err set. */
int mig_load(const char *dir, struct migrations *m, char *err, size_t errlen);
void mig_release(struct migrations *m);

/* Applies the pending migrations of m over db (which must be ready).
 * done(result, applied, msg, arg) runs once: result 0 (applied: how many
 * were new), -1 when a migration failed (msg says which and why; the
 * schema is as before it), or -2 when the connection was lost. Returns 0,
 * or -EBUSY / -ENOTCONN from db_query (done does not run). */
int mig_run(struct db *db, const struct migrations *m,
	    void (*done)(int result, int applied, const char *msg, void *arg), void *arg);

#endif
