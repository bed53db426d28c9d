# PostgreSQL helpers for e2e tests, sourced after test/lib.sh (POSIX sh).
#
#   pg_start       a private cluster in $TMP/pg (scripts/pg-local), unix
#                  socket only; exports DATABASE_URL (database "evibridge")
#   pg_stop        stops it (fast shutdown); pg_restart: stop and start
#   pg_query SQL   runs SQL with psql -XAtq, stops at the first error
#
# The cluster is stopped when the script exits, whatever happens, so none is
# left running; a script still ends with `pg_stop` in a test of its own,
# before test_done removes $TMP. Times are shown in UTC (PGTZ).
#
# Also here, for the evb-logger tests (t5*): ev_* build and send events.

PGTZ=UTC
export PGTZ
pg_pid=""

pg_local() { EVB_PG_DIR="$TMP/pg" sh "$TOP/scripts/pg-local" "$@"; }

pg_start() {
	# As root, the server runs as postgres, which must reach $TMP/pg.
	chmod 0755 "$TMP" || return 1
	pg_local start >"$TMP/pg-local.log" 2>&1 || { cat "$TMP/pg-local.log" >&2; return 1; }
	DATABASE_URL=$(pg_local url)
	export DATABASE_URL
	pg_pid=$(head -n 1 "$TMP/pg/data/postmaster.pid")
}

pg_stop() {
	pg_local stop
}

pg_restart() {
	pg_stop && pg_start
}

pg_query() {
	psql -XAtq -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"
}

# Only in the shell that started the cluster (a child that sources this file
# has no pg_pid).
pg_cleanup() {
	[ -n "$pg_pid" ] || return 0
	if [ -f "$TMP/pg/data/postmaster.pid" ]; then
		pg_local stop >/dev/null 2>&1 || kill -INT "$pg_pid" 2>/dev/null
	elif kill -0 "$pg_pid" 2>/dev/null; then
		kill -INT "$pg_pid" 2>/dev/null # its data dir is gone: stop it all the same
	fi
}
trap 'pg_cleanup' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- events for evb-logger ----

# ev_utterances N CALLS [FIRST] [PROVIDER]: N final utterance events (JSON
# lines) spread over CALLS calls, event ids e0000000-...-<FIRST+i>, call ids
# c0000000-...-<i % CALLS>, all 48 scores, user and assistant in turn.
ev_utterances() {
	awk -v n="$1" -v calls="$2" -v first="${3:-0}" -v prov="${4:-twilio}" 'BEGIN {
		ne = split("Admiration,Adoration,Aesthetic Appreciation,Amusement,Anger,Anxiety," \
			"Awe,Awkwardness,Boredom,Calmness,Concentration,Confusion,Contemplation," \
			"Contempt,Contentment,Craving,Desire,Determination,Disappointment,Disgust," \
			"Distress,Doubt,Ecstasy,Embarrassment,Empathic Pain,Entrancement,Envy," \
			"Excitement,Fear,Guilt,Horror,Interest,Joy,Love,Nostalgia,Pain,Pride," \
			"Realization,Relief,Romance,Sadness,Satisfaction,Shame,Surprise (negative)," \
			"Surprise (positive),Sympathy,Tiredness,Triumph", E, ",")
		for (i = first; i < first + n; i++) {
			s = ""
			for (k = 1; k <= ne; k++)
				s = s sprintf("%s\"%s\":%.6f", k > 1 ? "," : "", E[k], \
					((i * 7 + k * 13) % 97) / 97)
			printf "{\"type\":\"utterance\",\"call_id\":\"c0000000-0000-4000-8000-%012d\"," \
				"\"provider\":\"%s\",\"ts\":\"2026-11-21T07:05:00.000Z\"," \
				"\"event_id\":\"e0000000-0000-4000-8000-%012d\",\"role\":\"%s\"," \
				"\"text\":\"utterance %d\",\"emotion_scores\":{%s},\"begin_ms\":%d," \
				"\"end_ms\":%d,\"interim\":false}\n", \
				i % calls, prov, i, i % 2 ? "assistant" : "user", i, s, i * 10, i * 10 + 5
		}
	}'
}

# ev_scores [Name=value ...]: the 48 prosody scores as a JSON object, 0.01
# each but for the names given ("Surprise (negative)=0.5" works too).
ev_scores() {
	awk -v over="$(printf '%s\n' "$@")" 'BEGIN {
		n = split(over, o, "\n")
		for (i = 1; i <= n; i++) if (o[i] != "") {
			eq = index(o[i], "="); v[substr(o[i], 1, eq - 1)] = substr(o[i], eq + 1)
		}
		ne = split("Admiration,Adoration,Aesthetic Appreciation,Amusement,Anger,Anxiety," \
			"Awe,Awkwardness,Boredom,Calmness,Concentration,Confusion,Contemplation," \
			"Contempt,Contentment,Craving,Desire,Determination,Disappointment,Disgust," \
			"Distress,Doubt,Ecstasy,Embarrassment,Empathic Pain,Entrancement,Envy," \
			"Excitement,Fear,Guilt,Horror,Interest,Joy,Love,Nostalgia,Pain,Pride," \
			"Realization,Relief,Romance,Sadness,Satisfaction,Shame,Surprise (negative)," \
			"Surprise (positive),Sympathy,Tiredness,Triumph", E, ",")
		s = "{"
		for (k = 1; k <= ne; k++)
			s = s sprintf("%s\"%s\":%s", k > 1 ? "," : "", E[k], (E[k] in v) ? v[E[k]] : "0.01")
		print s "}"
	}'
}

# ev_frames: JSON lines on stdin -> event frames on stdout, seq from 0.
ev_frames() {
	awk '{ printf "{\"kind\":\"event\",\"seq\":%d,\"json\":%s}\n", NR - 1, $0 }' | evb-cat -r
}

# ev_send FILE [ACKS]: sends the events of FILE (JSON lines) to the logger
# at $TMP/run/logger.sock as one sender would, keeping the acks (frames) in
# ACKS (default $TMP/acks); returns once the logger has been quiet for 1 s.
ev_send() {
	ev_frames <"$1" | evb-sock --send - --recv "${2:-$TMP/acks}" --linger-ms 1000 \
		--timeout-s 120 "$TMP/run/logger.sock"
}

# last_ack [ACKS]: the highest "upto" acknowledged, or -1 for none.
last_ack() {
	n=$(evb-cat <"${1:-$TMP/acks}" 2>/dev/null | sed -n 's/.*"upto":\([0-9]*\).*/\1/p' |
		sort -n | tail -n 1)
	echo "${n:--1}"
}

# logger_start [ARGS...]: evb-logger on $TMP/run, ready when it says so.
logger_start() {
	rm -f "$TMP/logger.ready"
	EVB_RUN_DIR="$TMP/run"
	EVB_NOTIFY_FD=3
	export EVB_RUN_DIR EVB_NOTIFY_FD
	evb_start logger evb-logger "$@" 3>"$TMP/logger.ready"
	unset EVB_NOTIFY_FD
	wait_for "test -s '$TMP/logger.ready'" 20
}

# db_count TABLE: rows in TABLE.
db_count() {
	pg_query "SELECT count(*) FROM $1"
}
