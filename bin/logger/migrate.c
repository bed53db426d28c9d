/* Migrations (see migrate.h). mig_run() is a chain of queries:
 *   lock -> create schema_migrations -> read applied versions ->
 *   per pending file: BEGIN, file, INSERT version, COMMIT -> unlock.
 * A failure rolls back the file's transaction and still unlocks. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evb_log.h"
#include "migrate.h"

#define MIG_FILE_MAX (16u << 20)
#define LOCK_KEY "7451984120394817" /* any constant: "evibridge migrations" */

static int has_first(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d)))
		found = strncmp(e->d_name, "0001-", 5) == 0 &&
			strlen(e->d_name) > 9 &&
			strcmp(e->d_name + strlen(e->d_name) - 4, ".sql") == 0;
	closedir(d);
	return found;
}

int mig_find_dir(const char *dir, char *out, size_t cap, char *err, size_t errlen)
{
	static const char *const rel[] = { "../share/evibridge/sql", "../sql", "../../sql" };
	char exe[PATH_MAX];
	ssize_t n;

	if (dir) {
		if (!has_first(dir)) {
			snprintf(err, errlen, "no migrations (0001-*.sql) in '%s'", dir);
			return -1;
		}
		snprintf(out, cap, "%s", dir);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(out, cap, "%s/%s", exe, rel[i]);
			if (has_first(out))
				return 0;
		}
	}
	snprintf(err, errlen, "no migration directory found next to the program: "
		 "use --sql-dir DIR");
	return -1;
}

static int mig_cmp(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		snprintf(err, errlen, "unable to read '%s': %s", path, strerror(errno));
		goto done;
	}
	if ((size_t)len > MIG_FILE_MAX) {
		snprintf(err, errlen, "'%s' is larger than %u bytes", path, MIG_FILE_MAX);
		goto done;
	}
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		snprintf(err, errlen, "unable to read '%s': %s", path, strerror(errno ? errno : EIO));
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[len] = '\0';
	if (strlen(buf) != (size_t)len) {
		snprintf(err, errlen, "'%s' contains a NUL byte", path);
		free(buf);
		buf = NULL;
	}
done:
	if (f)
		fclose(f);
	return buf;
}

int mig_load(const char *dir, struct migrations *m, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	memset(m, 0, sizeof(*m));
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	if (!d) {
		snprintf(err, errlen, "unable to open '%s': %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		const char *nm = e->d_name;
		size_t len = strlen(nm);
		char path[PATH_MAX];
		struct migration *mg;

		if (len < 10 || strspn(nm, "0123456789") != 4 || nm[4] != '-' ||
		    strcmp(nm + len - 4, ".sql") != 0)
			continue;
		if (m->n == cap) {
			struct migration *v = realloc(m->v, (cap ? cap * 2 : 16) * sizeof(*v));
			if (!v) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			m->v = v;
			cap = cap ? cap * 2 : 16;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, nm);
		mg = &m->v[m->n];
		mg->version = atoi(nm);
		mg->name = strdup(nm);
		mg->sql = read_file(path, err, errlen);
		if (!mg->name || !mg->sql) {
			free(mg->name);
			free(mg->sql);
			if (!mg->name)
				snprintf(err, errlen, "out of memory");
			goto fail;
		}
		m->n++;
	}
	closedir(d);
	d = NULL;
	qsort(m->v, m->n, sizeof(*m->v), mig_cmp);
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].version == 0 || (i > 0 && m->v[i].version == m->v[i - 1].version)) {
			snprintf(err, errlen, "'%s': version %04d is %s", m->v[i].name,
				 m->v[i].version, m->v[i].version ? "used twice" : "not allowed");
			goto fail;
		}
	}
	if (m->n == 0) {
		snprintf(err, errlen, "no migrations (NNNN-name.sql) in '%s'", dir);
		goto fail;
	}
	return 0;
fail:
	if (d)
		closedir(d);
	mig_release(m);
	return -1;
}

void mig_release(struct migrations *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].sql);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* ---- the chain ---- */

enum step { S_LOCK, S_TABLE, S_READ, S_BEGIN, S_FILE, S_RECORD, S_COMMIT, S_ROLLBACK, S_UNLOCK };

struct run {
	struct db *db;
	const struct migrations *m;
	void (*done)(int result, int applied, const char *msg, void *arg);
	void *arg;
	enum step step;
	unsigned char *have; /* have[i]: m->v[i] already applied */
	size_t i;            /* migration being applied */
	int applied, result;
	char msg[512];
};

static void next(struct db *db, PGresult *res, void *arg);

static void finish(struct run *r, int result)
{
	void (*done)(int, int, const char *, void *) = r->done;
	void *arg = r->arg;
	int applied = r->applied;
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", r->msg);
	free(r->have);
	free(r);
	done(result, applied, msg, arg);
}

static int send_step(struct run *r)
{
	char ver[16];
	const char *p[3];

	switch (r->step) {
	case S_LOCK:
		return db_query(r->db, "SELECT pg_advisory_lock(" LOCK_KEY ")", 0, NULL, NULL,
				next, r);
	case S_TABLE:
		return db_query(r->db,
				"CREATE TABLE IF NOT EXISTS schema_migrations ("
				"version integer PRIMARY KEY, name text NOT NULL, "
				"checksum text NOT NULL, "
				"applied_at timestamptz NOT NULL DEFAULT now())",
				0, NULL, NULL, next, r);
	case S_READ:
		return db_query(r->db, "SELECT version FROM schema_migrations ORDER BY version",
				0, NULL, NULL, next, r);
	case S_BEGIN:
		return db_query(r->db, "BEGIN", 0, NULL, NULL, next, r);
	case S_FILE:
		return db_query(r->db, r->m->v[r->i].sql, 0, NULL, NULL, next, r);
	case S_RECORD:
		snprintf(ver, sizeof(ver), "%d", r->m->v[r->i].version);
		p[0] = ver;
		p[1] = r->m->v[r->i].name;
		p[2] = r->m->v[r->i].sql;
		return db_query(r->db,
				"INSERT INTO schema_migrations (version, name, checksum) "
				"VALUES ($1, $2, md5($3))",
				3, p, NULL, next, r);
	case S_COMMIT:
		return db_query(r->db, "COMMIT", 0, NULL, NULL, next, r);
	case S_ROLLBACK:
		return db_query(r->db, "ROLLBACK", 0, NULL, NULL, next, r);
	case S_UNLOCK:
		return db_query(r->db, "SELECT pg_advisory_unlock(" LOCK_KEY ")", 0, NULL, NULL,
				next, r);
	}
	return -EINVAL;
}

/* The next pending migration from r->i on: S_BEGIN, or S_UNLOCK when none. */
static enum step pending(struct run *r)
{
	while (r->i < r->m->n && r->have[r->i])
		r->i++;
	return r->i < r->m->n ? S_BEGIN : S_UNLOCK;
}

static void next(struct db *db, PGresult *res, void *arg)
{
	struct run *r = arg;
	ExecStatusType st;
	char em[400];

	(void)db;
	if (!res) {
		snprintf(r->msg, sizeof(r->msg), "connection lost");
		finish(r, -2);
		return;
	}
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		if (r->step == S_FILE || r->step == S_RECORD || r->step == S_COMMIT) {
			snprintf(r->msg, sizeof(r->msg), "migration '%s' failed: %s",
				 r->m->v[r->i].name, db_errmsg(res, em, sizeof(em)));
			r->result = -1;
			r->step = S_ROLLBACK;
		} else if (r->step == S_UNLOCK || r->step == S_ROLLBACK) {
			r->step = S_UNLOCK;
			finish(r, r->result ? r->result : -1);
			return;
		} else {
			snprintf(r->msg, sizeof(r->msg), "unable to read the schema version: %s",
				 db_errmsg(res, em, sizeof(em)));
			r->result = -1;
			r->step = S_UNLOCK;
		}
		goto send;
	}
	switch (r->step) {
	case S_LOCK:
		r->step = S_TABLE;
		break;
	case S_TABLE:
		r->step = S_READ;
		break;
	case S_READ:
		for (int row = 0; row < PQntuples(res); row++) {
			int v = atoi(PQgetvalue(res, row, 0)), known = 0;
			for (size_t i = 0; i < r->m->n; i++)
				if (r->m->v[i].version == v)
					r->have[i] = known = 1;
			if (!known)
				EVB_LOG(LOG_WARNING, "migrate", "the database has migration %04d, "
					"which this evb-logger does not know", v);
		}
		r->i = 0;
		r->step = pending(r);
		break;
	case S_BEGIN:
		EVB_LOG(LOG_INFO, "migrate", "applying '%s'", r->m->v[r->i].name);
		r->step = S_FILE;
		break;
	case S_FILE:
		r->step = S_RECORD;
		break;
	case S_RECORD:
		r->step = S_COMMIT;
		break;
	case S_COMMIT:
		r->applied++;
		r->i++;
		r->step = pending(r);
		break;
	case S_ROLLBACK:
		r->step = S_UNLOCK;
		break;
	case S_UNLOCK:
		finish(r, r->result);
		return;
	}
send:
	if (send_step(r) < 0) {
		snprintf(r->msg, sizeof(r->msg), "connection lost");
		finish(r, -2);
	}
}

int mig_run(struct db *db, const struct migrations *m,
	    void (*done)(int result, int applied, const char *msg, void *arg), void *arg)
{
	struct run *r = calloc(1, sizeof(*r));
	int e;

	if (!r || !(r->have = calloc(m->n ? m->n : 1, 1))) {
		free(r);
		return -ENOMEM;
	}
	r->db = db;
	r->m = m;
	r->done = done;
	r->arg = arg;
	r->step = S_LOCK;
	e = send_step(r);
	if (e < 0) {
		free(r->have);
		free(r);
	}
	return e;
}
