#!/bin/sh
# evb-logger killed with SIGKILL in the middle of a stream: every event it
# acknowledged is in the database after a restart, and once the sender has
# sent the rest again (as lib/evb_events does) the rows equal the events
# sent, none twice.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

N=20000
ev_utterances $N 50 >all.jsonl

test_expect_success_here 'start PostgreSQL and evb-logger' '
	pg_start && evb-logger --migrate 2>/dev/null && logger_start
'

test_expect_success_here 'kill -9 the logger while events flow' '
	evb_start sender sh -c ". \"$TOP/test/lib-pg.sh\"; ev_send all.jsonl acks1" &&
	wait_for "test \$(db_count call_events) -ge 2000" 30 &&
	kill -KILL "$(evb_pid logger)" &&
	wait_for "! kill -0 $(evb_pid sender)" 20 &&
	acked=$(last_ack acks1) &&
	echo "acked up to $acked" &&
	test "$acked" -ge 1999 && test "$acked" -lt $((N - 1))
'

test_expect_success_here 'restart: every acknowledged event is in the database' '
	logger_start &&
	last=$(printf "e0000000-0000-4000-8000-%012d" "$acked") &&
	wait_for "test \$(pg_query \"SELECT count(*) FROM call_events WHERE event_id <= '\''$last'\''\") = $((acked + 1))" 30
'

test_expect_success 'the sender sends the unacknowledged rest again: rows equal events sent' '
	tail -n +$((acked + 2)) all.jsonl >rest.jsonl &&
	ev_send rest.jsonl acks2 &&
	test "$(last_ack acks2)" = $((N - acked - 2)) &&
	wait_for "test \$(db_count utterances) = $N" 60 &&
	test "$(db_count call_events)" = $N &&
	test "$(db_count calls)" = 50
'

test_expect_success 'the restarted logger cut any torn frame and stops cleanly' '
	evb_stop logger &&
	test_must_fail grep -E "runtime error|Sanitizer|lost [1-9]" "$TMP/logger.log"
'

test_expect_success 'stop PostgreSQL' 'pg_stop'

test_done
