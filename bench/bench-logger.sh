#!/bin/sh
# bench-logger.sh [BUILD_DIR] [EVENTS]: evb-logger throughput, intake to
# committed rows, on a private PostgreSQL in a temp dir (scripts/pg-local)
# that is torn down afterwards. Prints one markdown line and writes
# BUILD_DIR/bench/logger.json. Environment: EVB_LOGGER_ARGS (extra options
# for evb-logger, e.g. "--batch 2000"), EVB_PG_OPTS (server options),
# EVB_BENCH_KEEP=1 (leave the database and spool for a look).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
events=${2:-100000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evb-bench-logger.XXXXXX")
chmod 0755 "$tmp"
logger_pid=""

cleanup() {
	if [ -n "$logger_pid" ]; then
		kill -TERM "$logger_pid" 2>/dev/null && wait "$logger_pid" 2>/dev/null
	fi
	if [ -n "${EVB_BENCH_KEEP:-}" ]; then
		echo "# kept $tmp (stop it: EVB_PG_DIR=$tmp/pg scripts/pg-local stop)" >&2
		return
	fi
	EVB_PG_DIR=$tmp/pg sh "$top/scripts/pg-local" stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A production-like server: the defaults (128 MB of buffers, checkpoints
# every 1 GB of WAL) are sized for a laptop.
EVB_PG_OPTS=${EVB_PG_OPTS:-"-c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min -c wal_buffers=64MB"}
export EVB_PG_OPTS
EVB_PG_DIR=$tmp/pg sh "$top/scripts/pg-local" start >"$tmp/pg.log" 2>&1 ||
	{ cat "$tmp/pg.log" >&2; exit 1; }
DATABASE_URL=$(EVB_PG_DIR=$tmp/pg sh "$top/scripts/pg-local" url)
EVB_RUN_DIR=$tmp/run
export DATABASE_URL EVB_RUN_DIR
"$build/evb-logger" --migrate 2>"$tmp/migrate.log"

# shellcheck disable=SC2086 # EVB_LOGGER_ARGS holds several options
EVB_NOTIFY_FD=3 "$build/evb-logger" ${EVB_LOGGER_ARGS:-} 2>"$tmp/logger.log" 3>"$tmp/ready" &
logger_pid=$!
i=0
until [ -s "$tmp/ready" ]; do
	i=$((i + 1))
	[ $i -le 500 ] || { cat "$tmp/logger.log" >&2; exit 1; }
	sleep 0.02
done

mkdir -p "$build/bench"
rc=0
"$build/bench/bench-logger" --socket "$EVB_RUN_DIR/logger.sock" --events "$events" \
	--json "$build/bench/logger.json" --command "make bench-logger" || rc=$?
kill -TERM "$logger_pid" && wait "$logger_pid" || true
logger_pid=""
grep -E "stats:|error|warning" "$tmp/logger.log" | tail -n 5 | sed "s/^/# /"
exit $rc
