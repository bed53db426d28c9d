/* evb-logger: events -> spool -> PostgreSQL. */
#define USAGE                                                                      \
	"evb-logger [--migrate | --stdin] [--sql-dir DIR] [--spool DIR] [--batch N] " \
	"[--sync-ms MS] [--config FILE] [--KEY=value ...]"
#define HELP                                                                       \
	"Writes evibridge events to PostgreSQL without losing any. Each event is\n"   \
	"appended to a spool file and synced to disk before its sender gets an ack;\n"\
	"a writer drains the spool into the database in batches, one transaction\n"   \
	"each, idempotent on event_id. Pending schema migrations are applied on\n"    \
	"every new database connection.\n\n"                                          \
	"  --migrate        apply pending migrations (sql/NNNN-*.sql) and exit\n"     \
	"  --stdin          load events from stdin (JSON lines, or frames), wait\n"   \
	"                   until all are in the database, and exit\n"                \
	"  --sql-dir DIR    migrations directory (default: found next to the\n"       \
	"                   program: ../share/evibridge/sql, ../sql, ../../sql)\n"    \
	"  --spool DIR      spool directory (default EVB_RUN_DIR/spool)\n"            \
	"  --batch N        events per transaction at most (default 1000)\n"          \
	"  --sync-ms MS     longest wait of an event for its fdatasync, 0 to 50\n"    \
	"                   (default 10)\n"                                           \
	"  --config FILE    read KEY=value settings (default ./evibridge.env)\n"      \
	"  --KEY=value      override one setting (see evibridge.env.sample)\n"        \
	"  -h, --help       this text;  -V, --version  the version\n\n"              \
	"Keys: DATABASE_URL (required), EVB_RUN_DIR (socket EVB_RUN_DIR/logger.sock,\n"\
	"spool EVB_RUN_DIR/spool), EVB_LOG_LEVEL. Protocol: docs/logger.md.\n"        \
	"Exit status: 0 ok, 100 usage or configuration (or a failed migration),\n"   \
	"111 temporary failure (database unreachable for --migrate, spool in use).\n"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_cfg.h"
#include "evb_log.h"
#include "logger.h"
#include "spool.h"

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

static int parse_num(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || end == s || *end || *out < lo || *out > hi) {
		fprintf(stderr, "evb-logger: %s: expected %ld..%ld, got '%s'\n", opt, lo, hi, s);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "migrate", no_argument, NULL, 'm' },
		{ "stdin", no_argument, NULL, 's' },
		{ "sql-dir", required_argument, NULL, 'q' },
		{ "spool", required_argument, NULL, 'p' },
		{ "batch", required_argument, NULL, 'b' },
		{ "sync-ms", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct logger_opts o = { .batch = 1000, .sync_ms = 10 };
	struct migrations m;
	struct evb_cfg *cfg;
	const char *sql_dir = NULL;
	char err[1024], dir[4096], spool[4096];
	int c, mode = 0, rc;
	long v;

	evb_log_init("evb-logger");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-logger %s\n", EVB_VERSION);
			return 0;
		}
	}
	cfg = evb_cfg_new();
	if (!cfg || evb_cfg_from_argv(cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-logger: %s\n", cfg ? err : strerror(errno));
		evb_cfg_free(cfg);
		return 100;
	}
	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
		case 's':
			if (mode && mode != c) {
				evb_cfg_free(cfg);
				return usage();
			}
			mode = c;
			break;
		case 'q':
			sql_dir = optarg;
			break;
		case 'p':
			o.spool_dir = optarg;
			break;
		case 'b':
			if (parse_num("--batch", optarg, 1, 10000, &v) < 0)
				goto bad;
			o.batch = (size_t)v;
			break;
		case 'y':
			if (parse_num("--sync-ms", optarg, 0, SPOOL_SYNC_MS_MAX, &v) < 0)
				goto bad;
			o.sync_ms = (unsigned)v;
			break;
		default:
			evb_cfg_free(cfg);
			return usage();
		}
	}
	if (optind != argc) {
		evb_cfg_free(cfg);
		return usage();
	}
	if (evb_cfg_get(cfg, "EVB_LOG_LEVEL"))
		evb_log_level = evb_log_parse_level(evb_cfg_get(cfg, "EVB_LOG_LEVEL"));
	if (evb_cfg_require(cfg, err, sizeof(err), "DATABASE_URL", NULL) < 0) {
		fprintf(stderr, "evb-logger: %s\n", err);
		goto bad;
	}
	if (mig_find_dir(sql_dir, dir, sizeof(dir), err, sizeof(err)) < 0 ||
	    mig_load(dir, &m, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-logger: %s\n", err);
		goto bad;
	}
	o.conninfo = evb_cfg_get(cfg, "DATABASE_URL");
	o.run_dir = evb_cfg_get(cfg, "EVB_RUN_DIR");
	if (!o.spool_dir) {
		snprintf(spool, sizeof(spool), "%s/spool", o.run_dir);
		o.spool_dir = spool;
	}
	o.m = &m;
	rc = mode == 'm' ? logger_migrate(&o) : mode == 's' ? logger_stdin(&o) : logger_daemon(&o);
	mig_release(&m);
	evb_cfg_free(cfg);
	return rc;
bad:
	evb_cfg_free(cfg);
	return 100;
}
