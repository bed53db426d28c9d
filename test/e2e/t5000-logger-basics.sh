#!/bin/sh
# evb-logger: usage, migrations, every event type to rows, replays, bad
# events, --stdin, spool compaction. Against a real PostgreSQL.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

C1=11111111-1111-4111-8111-111111111111
C2=22222222-2222-4222-8222-222222222222
C3=33333333-3333-4333-8333-333333333333
ev() { # ev TYPE CALL N EXTRA: one event line, event id ...-<N>
	printf '{"type":"%s","call_id":"%s","provider":"%s","ts":"2026-11-21T10:00:%02d.000Z","event_id":"aaaaaaaa-0000-4000-8000-%012d"%s}\n' \
		"$1" "$2" "${PROV:-twilio}" "$3" "$3" "$4"
}

# as_sent_diff FILE: how many events of FILE (JSON object lines) are not
# shown by call_events_as_sent as sent (0: none). Scores compare as reals:
# evb-cat (ev_send) writes numbers with 17 digits.
as_sent_diff() {
	pg_query "DROP TABLE IF EXISTS sent; CREATE TABLE sent (line text)" 2>/dev/null &&
	psql -XAtq -v ON_ERROR_STOP=1 -d "$DATABASE_URL" \
		-c "\\copy sent FROM '$1' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" &&
	pg_query "SELECT count(*) FROM sent s WHERE NOT EXISTS (SELECT 1 FROM call_events_as_sent e
		WHERE e.event_id = (s.line::jsonb ->> 'event_id')::uuid
		AND e.payload - 'emotion_scores' = s.line::jsonb - 'emotion_scores'
		AND (SELECT count(*) FROM jsonb_each_text(s.line::jsonb -> 'emotion_scores') a
			FULL JOIN jsonb_each_text(e.payload -> 'emotion_scores') b USING (key)
			WHERE a.value::real IS DISTINCT FROM b.value::real) = 0)"
}

test_expect_success 'usage: --help, --version, bad option, missing DATABASE_URL' '
	evb-logger --help >out && grep "^usage: evb-logger" out &&
	evb-logger --version >out && grep "^evb-logger [0-9]" out &&
	test_exit_code 100 evb-logger --bogus 2>err && grep "^usage:" err &&
	test_exit_code 100 evb-logger --migrate 2>err && grep DATABASE_URL err &&
	test_exit_code 100 env DATABASE_URL=postgresql:///x evb-logger --batch=0 2>err &&
	grep -- --batch err
'

test_expect_success_here 'start PostgreSQL' 'pg_start'

test_expect_success '--migrate with the database unreachable exits 111' '
	test_exit_code 111 env DATABASE_URL="postgresql:///evibridge?host=$TMP/none" \
		evb-logger --migrate 2>err
'

test_expect_success '--migrate applies the migrations; again is a no-op' '
	evb-logger --migrate 2>err && grep "5 migrations applied" err &&
	test "$(pg_query "SELECT string_agg(version::text, '\'','\'' ORDER BY version) FROM schema_migrations")" = "1,2,3,4,5" &&
	evb-logger --migrate 2>err && grep "up to date" err &&
	test "$(db_count schema_migrations)" = 5
'

test_expect_success_here 'start evb-logger' 'logger_start'

# One call, every event type; the utterance comes before call.started.
{
	ev utterance $C1 1 ",\"role\":\"user\",\"text\":\"I am so angry\",\"emotion_scores\":$(ev_scores Anger=0.9 Distress=0.5 Calmness=0.2),\"begin_ms\":500,\"end_ms\":1500,\"interim\":false"
	ev call.started $C1 2 ',"direction":"inbound","from":"+15551230001","to":"+15557650001","provider_call_id":"CA0001","agent":"sarah_sales","customer":{"name":"Ann","email":"ann@example.com"},"metadata":{"campaign":"spring"}'
	ev call.status $C1 3 ',"status":"ringing"'
	ev call.status $C1 4 ',"status":"in-progress"'
	ev chat.metadata $C1 5 ',"chat_id":"chat-1","chat_group_id":"group-1"'
	ev utterance $C1 6 ",\"role\":\"assistant\",\"text\":\"I am sorry to hear that\",\"emotion_scores\":$(ev_scores Sympathy=0.8 Calmness=0.6 Joy=0.3),\"message_id\":\"m1\",\"interrupted\":true"
	ev utterance $C1 7 ',"role":"user","text":"well","interim":true'
	ev interruption $C1 8 ''
	ev playback.mark $C1 9 ',"name":"m1"'
	ev dtmf $C1 10 ',"digits":"42"'
	ev error $C1 11 ',"code":"E1","message":"oops"'
	ev tool.call $C1 12 ',"name":"hang_up"'
	ev call.ended $C1 13 ',"duration_ms":65000,"reason":"caller hung up"'
	ev call.status $C1 14 ',"status":"ringing"'
} >call1.jsonl

test_expect_success 'events over the socket are acknowledged up to the last seq' '
	ev_send call1.jsonl &&
	test "$(last_ack)" = 13 &&
	wait_for "test \"\$(db_count call_events)\" = 14" 20
'

test_expect_success 'metrics: received, written and rejected events, spool size' '
	wait_for "metrics logger | grep -q \"^evb_logger_events_written_total 14\$\"" 10 &&
	metrics logger >m.txt &&
	grep -q "^evb_logger_events_received_total 14$" m.txt &&
	grep -q "^evb_logger_spool_bytes [0-9]" m.txt &&
	grep -q "^evb_logger_senders 0$" m.txt
'

test_expect_success 'calls: the call row has every field; status only moved forward' '
	pg_query "SELECT provider, provider_call_id, direction, from_number, to_number, agent,
		status, hume_chat_id, hume_chat_group_id, customer_name, customer_email,
		metadata->>'\''campaign'\'', duration_ms, end_reason,
		to_char(started_at, '\''HH24:MI:SS'\''), to_char(answered_at, '\''HH24:MI:SS'\''),
		to_char(ended_at, '\''HH24:MI:SS'\'') FROM calls" >out &&
	echo "twilio|CA0001|inbound|+15551230001|+15557650001|sarah_sales|completed|chat-1|group-1|Ann|ann@example.com|spring|65000|caller hung up|10:00:01|10:00:04|10:00:13" >want &&
	diff -u want out &&
	test "$(pg_query "SELECT slug FROM agents")" = sarah_sales
'

test_expect_success 'utterances: final ones only, with derived fields' '
	pg_query "SELECT role, text, top_emotions, sentiment, confidence, begin_ms, end_ms,
		interrupted, message_id, jsonb_typeof(emotion_scores),
		(SELECT count(*) FROM jsonb_object_keys(emotion_scores))
		FROM utterances ORDER BY spoken_at" >out &&
	cat >want <<-EOF &&
	user|I am so angry|{Anger,Distress,Calmness}|negative|0.875|500|1500|f||object|48
	assistant|I am sorry to hear that|{Sympathy,Calmness,Joy}|positive|0.6471|||t|m1|object|48
	EOF
	diff -u want out
'

test_expect_success 'call_events: every event, accepted or unhandled' '
	pg_query "SELECT type, status FROM call_events ORDER BY ts" >out &&
	cat >want <<-EOF &&
	utterance|accepted
	call.started|accepted
	call.status|accepted
	call.status|accepted
	chat.metadata|accepted
	utterance|accepted
	utterance|accepted
	interruption|accepted
	playback.mark|accepted
	dtmf|accepted
	error|accepted
	tool.call|unhandled
	call.ended|accepted
	call.status|accepted
	EOF
	diff -u want out &&
	test "$(pg_query "SELECT count(*) FROM call_events WHERE call_id IS NULL OR payload IS NULL")" = 0
'

test_expect_success 'the same events again add nothing' '
	ev_send call1.jsonl acks2 && test "$(last_ack acks2)" = 13 &&
	test "$(db_count call_events)" = 14 &&
	test "$(db_count utterances)" = 2 &&
	test "$(db_count calls)" = 1
'

test_expect_success 'scores stored once: not in call_events, shown by call_events_as_sent' '
	test "$(pg_query "SELECT count(*) FROM call_events WHERE payload ? '\''emotion_scores'\''")" = 0 &&
	test "$(as_sent_diff call1.jsonl)" = 0
'

# Scores first, in the middle with spaces, in an interim utterance; a text
# with COPY's special characters; a time with an offset; metadata numbers.
# Loaded with --stdin: its bytes reach the spool as they are.
cat <<'EOF' | sed "s/SCORES/$(ev_scores Anger=0.7 Joy=0.25)/" >call3.jsonl
{"emotion_scores":SCORES,"type":"utterance","call_id":"33333333-3333-4333-8333-333333333333","provider":"twilio","ts":"2026-11-21T10:00:31.5+01:00","event_id":"aaaaaaaa-0000-4000-8000-000000000031","role":"user","text":"tab\there \"quoted\" back\\slash\nnew line \u00e9 ☎"}
{ "type" : "utterance" , "call_id":"33333333-3333-4333-8333-333333333333","provider":"twilio","ts":"2026-11-21T10:00:32.000Z","event_id":"aaaaaaaa-0000-4000-8000-000000000032","role":"assistant","text":"ok" , "emotion_scores" : SCORES , "interrupted":false }
{"type":"utterance","call_id":"33333333-3333-4333-8333-333333333333","provider":"twilio","ts":"2026-11-21T10:00:33.000Z","event_id":"aaaaaaaa-0000-4000-8000-000000000033","role":"user","text":"h","interim":true,"emotion_scores":SCORES}
{"type":"call.started","call_id":"33333333-3333-4333-8333-333333333333","provider":"twilio","ts":"2026-11-21T10:00:30.000Z","event_id":"aaaaaaaa-0000-4000-8000-000000000034","metadata":{"campaign":"x","weight":0.10,"n":[1,2.50,{"a":null}]}}
EOF

test_expect_success 'COPY rows: texts, times, metadata and payloads as sent' '
	EVB_RUN_DIR=$TMP/stdin3-run evb-logger --stdin <call3.jsonl 2>err &&
	test "$(db_count call_events)" = 18 &&
	test "$(as_sent_diff call3.jsonl)" = 0 &&
	test "$(pg_query "SELECT count(*) FROM call_events WHERE payload ? '\''emotion_scores'\''")" = 1 &&
	test "$(pg_query "SELECT count(*) FROM utterances u JOIN call_events e USING (event_id)
		WHERE u.text IS DISTINCT FROM e.payload ->> '\''text'\''
		OR u.spoken_at IS DISTINCT FROM e.ts")" = 0 &&
	pg_query "SELECT to_char(spoken_at, '\''HH24:MI:SS.MS'\''), text FROM utterances
		WHERE call_id = '\''$C3'\'' ORDER BY spoken_at" >out &&
	printf "09:00:31.500|tab\there \"quoted\" back\\\\slash\nnew line \303\251 \342\230\216\n10:00:32.000|ok\n" >want &&
	diff -u want out &&
	test "$(pg_query "SELECT metadata::text FROM calls WHERE id = '\''$C3'\''")" = \
		"{\"n\": [1, 2.50, {\"a\": null}], \"weight\": 0.10, \"campaign\": \"x\"}"
'

# Vonage spellings and bad events, loaded from the shell.
{
	PROV=vonage
	ev call.status $C2 21 ',"status":"started"'
	ev call.status $C2 22 ',"status":"cancelled"'
	ev call.status $C2 23 ',"status":"answered"'
	echo 'this is not json'
	echo '[1,2,3]'
	ev utterance $C2 24 ',"role":"user"'
	ev utterance $C2 25 ',"role":"user","text":"x","begin_ms":"soon"'
	printf '{"type":"call.status","call_id":"%s","provider":"vonage","ts":"yesterday","event_id":"aaaaaaaa-0000-4000-8000-000000000026","status":"ringing"}\n' $C2
	ev utterance $C2 27 ",\"role\":\"user\",\"text\":\"fine\",\"emotion_scores\":$(ev_scores Joy=0.7 Contentment=0.4 Calmness=0.3)"
	printf '{"type":"utterance","call_id":"%s","provider":"skype","ts":"2026-11-21T10:00:00.000Z","event_id":"aaaaaaaa-0000-4000-8000-000000000028"}\n' $C2
} >call2.jsonl

test_expect_success '--stdin loads a file: bad events are rejected with a reason' '
	EVB_RUN_DIR=$TMP/stdin-run evb-logger --stdin <call2.jsonl 2>err &&
	grep "10 events read" err && grep "6 rejected" err &&
	pg_query "SELECT status, reason FROM call_events WHERE status = '\''rejected'\'' ORDER BY reason" >out &&
	cat >want <<-EOF &&
	rejected|'\''begin_ms'\'': expected an integer
	rejected|'\''provider'\'': expected twilio or vonage
	rejected|'\''ts'\'': expected an RFC 3339 time
	rejected|missing '\''text'\''
	rejected|not JSON: '\''['\'' or '\''{'\'' expected near '\''this'\''
	rejected|not a JSON object
	EOF
	diff -u want out &&
	test "$(pg_query "SELECT count(*) FROM call_events WHERE raw IS NOT NULL")" = 2
'

test_expect_success 'vonage statuses map to the canonical set; good events of the file land' '
	test "$(pg_query "SELECT provider, status FROM calls WHERE id = '\''$C2'\''")" = "vonage|canceled" &&
	test "$(pg_query "SELECT sentiment FROM utterances WHERE call_id = '\''$C2'\''")" = positive
'

test_expect_success 'a batch with rejected events (evb_ingest) stores the scores once too' '
	E27=aaaaaaaa-0000-4000-8000-000000000027 &&
	test "$(pg_query "SELECT payload ? '\''emotion_scores'\'' FROM call_events
		WHERE event_id = '\''$E27'\''")" = f &&
	test "$(pg_query "SELECT count(*) FROM jsonb_object_keys((SELECT payload -> '\''emotion_scores'\''
		FROM call_events_as_sent WHERE event_id = '\''$E27'\''))")" = 48
'

test_expect_success '--stdin again adds nothing, not even the bad events' '
	EVB_RUN_DIR=$TMP/stdin-run evb-logger --stdin <call2.jsonl 2>err &&
	test "$(db_count call_events)" = 28
'

test_expect_success 'many events: the spool is compacted once drained' '
	ev_utterances 3000 10 >many.jsonl &&
	ev_send many.jsonl acks3 && test "$(last_ack acks3)" = 2999 &&
	wait_for "test \"\$(db_count utterances)\" = 3005" 30 &&
	wait_for "test \$(cat \"$TMP\"/run/spool/*.evs | wc -c) -lt 262144" 10 &&
	test "$(ls "$TMP"/run/spool/*.evs | wc -l)" = 1
'

test_expect_success 'a second logger on the same spool is refused (exit 111)' '
	test_exit_code 111 evb-logger --stdin </dev/null 2>err &&
	grep "in use by another evb-logger" err
'

test_expect_success 'SIGTERM stops the logger cleanly' '
	evb_stop logger &&
	grep "stats: 3028 events received" "$TMP/logger.log" &&
	test_must_fail grep -E "lost [1-9]|Sanitizer|runtime error" "$TMP/logger.log"
'

test_expect_success 'call ids are checked as foreign keys: missing call, cascade, id kept' '
	test_must_fail pg_query "INSERT INTO call_events (event_id, call_id, status, payload)
		VALUES (gen_random_uuid(), '\''99999999-9999-4999-8999-999999999999'\'', '\''accepted'\'', '\''{}'\'')" 2>err &&
	grep "violates foreign key" err &&
	test_must_fail pg_query "UPDATE utterances SET call_id = '\''99999999-9999-4999-8999-999999999999'\''
		WHERE call_id = '\''$C1'\''" 2>err &&
	grep "violates foreign key" err &&
	test_must_fail pg_query "UPDATE calls SET id = '\''99999999-9999-4999-8999-999999999999'\''
		WHERE id = '\''$C1'\''" 2>err &&
	grep "still named by its events" err &&
	test "$(pg_query "SELECT count(*) FROM call_events WHERE call_id = '\''$C2'\''")" -gt 0 &&
	pg_query "DELETE FROM calls WHERE id = '\''$C2'\''" &&
	test "$(pg_query "SELECT count(*) FROM call_events WHERE call_id = '\''$C2'\''")" = 0 &&
	test "$(pg_query "SELECT count(*) FROM utterances WHERE call_id = '\''$C2'\''")" = 0 &&
	test "$(pg_query "SELECT count(*) FROM utterances WHERE call_id = '\''$C1'\''")" = 2
'

test_expect_success 'stop PostgreSQL' 'pg_stop'

test_done
