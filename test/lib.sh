# Shared helpers for test/e2e/t*.sh (POSIX sh, sourced). In the manner of
# git's t/test-lib.sh: test_expect_success runs an &&-chain and prints TAP;
# test_when_finished queues cleanup for the current test; every daemon
# started with evb_start is stopped at the end, and a test that leaves one
# running fails. Each script gets its own temp dir ($TMP) and a watchdog.

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
EVB_BUILD=${EVB_BUILD:-$TOP/build}
PATH=$EVB_BUILD:$PATH
export PATH TOP EVB_BUILD
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/evb-$TEST_NAME.XXXXXX")
export TMP
# Programs under test read no stray configuration from the caller.
unset EVB_RUN_DIR EVB_LISTEN EVB_API_LISTEN DATABASE_URL
cd "$TMP" || exit 1

test_count=0
test_failed=0
test_cleanup=""
evb_pids=""

# The watchdog ends a hung script: no test may run unbounded.
: "${EVB_TEST_TIMEOUT:=300}"
# Its output goes to /dev/null so that it never holds prove's pipe open.
trap 'echo "not ok - $TEST_NAME timed out after $EVB_TEST_TIMEOUT s"; test_watchdog=; test_failed=1; test_done' TERM
( sleep "$EVB_TEST_TIMEOUT" && kill -TERM $$ ) </dev/null >/dev/null 2>&1 &
test_watchdog=$!

say() { printf '# %s\n' "$*"; }

test_when_finished() {
	test_cleanup="$1
$test_cleanup"
}

test_expect_success() {
	test_count=$((test_count + 1))
	test_cleanup=""
	say "-- $1"
	if (eval "$2") >"$TMP/test.out" 2>&1; then
		printf 'ok %d - %s\n' "$test_count" "$1"
	else
		printf 'not ok %d - %s\n' "$test_count" "$1"
		sed 's/^/#    /' "$TMP/test.out" | tail -n 40
		test_failed=$((test_failed + 1))
	fi
	[ -n "$test_cleanup" ] && (eval "$test_cleanup") >/dev/null 2>&1
	test_cleanup=""
	return 0
}

# Runs the chain in the current shell, so variables it sets stay set (for
# tests that start daemons whose pids later tests use).
test_expect_success_here() {
	test_count=$((test_count + 1))
	say "-- $1"
	if eval "$2" >"$TMP/test.out" 2>&1; then
		printf 'ok %d - %s\n' "$test_count" "$1"
	else
		printf 'not ok %d - %s\n' "$test_count" "$1"
		sed 's/^/#    /' "$TMP/test.out" | tail -n 40
		test_failed=$((test_failed + 1))
	fi
}

# Succeeds if the command fails with an ordinary non-zero status (a crash or
# a signal is not a failure the test asked for).
test_must_fail() {
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ $rc -gt 128 ] && [ $rc -ne 255 ]; then
		echo "test_must_fail: '$*' died of signal $((rc - 128))" >&2
		return 1
	fi
	return 0
}

# test_exit_code N cmd...: the command exits with exactly N.
test_exit_code() {
	want=$1
	shift
	"$@"
	rc=$?
	[ $rc -eq "$want" ] || { echo "'$*' exited $rc, expected $want" >&2; return 1; }
}

# Polls a shell condition until it holds or timeout seconds pass.
wait_for() {
	cond=$1
	limit=${2:-10}
	i=0
	while ! eval "$cond" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt $((limit * 50)) ] && { echo "wait_for: '$cond' not true after $limit s" >&2; return 1; }
		sleep 0.02
	done
}

# metrics NAME: the Prometheus text a daemon serves on
# $EVB_RUN_DIR/NAME.metrics (lib/evb_stats).
metrics() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "metrics: $ARGV[0]: $!\n";
		print while <$s>;' "$EVB_RUN_DIR/$1.metrics"
}

# A free TCP port on 127.0.0.1 (the kernel picks an unused ephemeral one).
free_port() {
	perl -MIO::Socket::INET -e \
		'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1",LocalPort=>0,ReuseAddr=>1)->sockport, "\n"'
}

# evb_start NAME cmd...: runs a daemon in the background with stderr in
# $TMP/NAME.log; its pid is in $TMP/NAME.pid. It is stopped at test_done.
evb_start() {
	name=$1
	shift
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
	echo $! >"$TMP/$name.pid"
	evb_pids="$evb_pids $!"
}

# evb_start_ready NAME cmd...: as evb_start, then waits until the daemon
# reports readiness on EVB_NOTIFY_FD (s6-style: it writes a newline).
evb_start_ready() {
	name=$1
	shift
	: >"$TMP/$name.ready"
	EVB_NOTIFY_FD=9 "$@" 9>"$TMP/$name.ready" >"$TMP/$name.out" 2>"$TMP/$name.log" &
	echo $! >"$TMP/$name.pid"
	evb_pids="$evb_pids $!"
	wait_for "test -s '$TMP/$name.ready' || ! kill -0 $!" "${EVB_READY_TIMEOUT:-20}" &&
		test -s "$TMP/$name.ready" ||
		{ echo "$name did not become ready:" >&2; tail -n 20 "$TMP/$name.log" >&2; return 1; }
}

evb_pid() { cat "$TMP/$1.pid"; }

# evb_wait NAME: waits for a command started with evb_start (in the same
# shell) and returns its exit status. Use evb_start for background helpers:
# a bare "cmd &" inside an &&-chain would put the whole chain before it in
# the background.
evb_wait() { wait "$(evb_pid "$1")"; }

evb_alive() { kill -0 "$(evb_pid "$1")" 2>/dev/null; }

# evb_stop NAME: SIGTERM, then wait (bounded) for the exit.
evb_stop() {
	pid=$(evb_pid "$1")
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_for "! kill -0 $pid" 10 || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

test_done() {
	left=""
	# Daemons started inside a test's subshell are known by their pid files.
	for f in "$TMP"/*.pid; do
		[ -f "$f" ] && evb_pids="$evb_pids $(cat "$f")"
	done
	for pid in $evb_pids; do
		if kill -0 "$pid" 2>/dev/null; then
			left="$left $pid"
			kill -TERM "$pid" 2>/dev/null
		fi
	done
	for pid in $left; do
		wait_for "! kill -0 $pid" 5 || kill -KILL "$pid" 2>/dev/null
	done
	# A script stops what it started (and checks how it exited); anything
	# still running here is a failure.
	if [ -n "$left" ]; then
		test_count=$((test_count + 1))
		printf 'not ok %d - daemons left running:%s\n' "$test_count" "$left"
		test_failed=$((test_failed + 1))
	fi
	if [ -n "$test_watchdog" ]; then
		pkill -P "$test_watchdog" 2>/dev/null
		kill "$test_watchdog" 2>/dev/null
	fi
	printf '1..%d\n' "$test_count"
	if [ "$test_failed" -eq 0 ] && [ -z "${EVB_KEEP_TMP:-}" ]; then
		cd / && rm -rf "$TMP"
	else
		say "temp dir kept: $TMP"
	fi
	[ "$test_failed" -eq 0 ]
	exit $?
}
