#!/bin/sh
# The ten queries of docs/psql.md, run as they stand in the document against
# a known set of calls (loaded with evb-logger --stdin), and the views.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

D0=$(date -u +%F)
D1=$(date -u -d yesterday +%F)
D3=$(date -u -d '3 days ago' +%F)
D10=$(date -u -d '10 days ago' +%F)
n=0
cev() { # cev TYPE CALL(a..f) PROVIDER TIME EXTRA
	n=$((n + 1))
	printf '{"type":"%s","call_id":"11111111-0000-4000-8000-00000000000%s","provider":"%s","ts":"%s.000Z","event_id":"33333333-0000-4000-8000-%012d"%s}\n' \
		"$1" "$2" "$3" "$4" "$n" "$5"
}
started() { # started CALL PROVIDER TIME FROM AGENT PCID
	cev call.started "$1" "$2" "$3" ",\"direction\":\"inbound\",\"from\":\"$4\",\"to\":\"+15559990000\",\"agent\":\"$5\",\"provider_call_id\":\"$6\""
}
utt() { # utt CALL PROVIDER TIME ROLE TEXT INTERRUPTED SCORES...
	c=$1 p=$2 t=$3 r=$4 x=$5 i=$6
	shift 6
	cev utterance "$c" "$p" "$t" ",\"role\":\"$r\",\"text\":\"$x\",\"interrupted\":$i,\"emotion_scores\":$(ev_scores "$@")"
}
{
	started a twilio "${D1}T12:00:00" +15550000001 sarah_sales CA_A
	cev call.status a twilio "${D1}T12:00:05" ',"status":"in-progress"'
	utt a twilio "${D1}T12:00:10" user 'Hi, I have a question about my bill' false Calmness=0.6 Interest=0.4 Concentration=0.3
	utt a twilio "${D1}T12:00:20" assistant 'Sure, let me look that up for you' true Calmness=0.5 Joy=0.3 Interest=0.1
	utt a twilio "${D1}T12:01:30" user 'This is the third time you overcharged me' false Anger=0.8 Distress=0.6 Disappointment=0.4
	cev call.ended a twilio "${D1}T12:02:05" ',"duration_ms":120000,"reason":"hangup"'

	started b vonage "${D1}T15:00:00" +15550000002 sarah_sales VG-B
	cev call.status b vonage "${D1}T15:00:02" ',"status":"answered"'
	utt b vonage "${D1}T15:00:10" user 'Thanks, that was quick' false Joy=0.9 Satisfaction=0.5 Calmness=0.2
	utt b vonage "${D1}T15:00:20" assistant 'Glad I could help' false Joy=0.6 Calmness=0.4 Pride=0.1
	utt b vonage "${D1}T15:00:50" user 'Bye' false Contentment=0.5 Calmness=0.4 Joy=0.3
	cev call.ended b vonage "${D1}T15:01:02" ',"duration_ms":60000'

	started c twilio "${D3}T09:00:00" +15550000003 mike_support CA_C
	cev call.status c twilio "${D3}T09:00:03" ',"status":"in-progress"'
	utt c twilio "${D3}T09:00:10" user 'My order never arrived' false Disappointment=0.7 Sadness=0.4 Calmness=0.3
	utt c twilio "${D3}T09:00:30" assistant 'I am sorry, let me check' true Sympathy=0.6 Calmness=0.5 Concentration=0.2
	utt c twilio "${D3}T09:01:00" assistant 'It shipped yesterday' true Calmness=0.5 Interest=0.3 Realization=0.2
	utt c twilio "${D3}T09:04:00" user 'Okay, thank you' false Relief=0.6 Calmness=0.5 Joy=0.2
	cev call.ended c twilio "${D3}T09:05:03" ',"duration_ms":300000'

	started d twilio "${D0}T08:00:00" +15550000001 mike_support CA_D
	cev call.status d twilio "${D0}T08:00:02" ',"status":"in-progress"'
	utt d twilio "${D0}T08:00:20" user 'You cut me off again' false Anger=0.9 Contempt=0.5 Distress=0.3
	cev call.ended d twilio "${D0}T08:00:32" ',"duration_ms":30000'

	started e vonage "${D0}T09:00:00" +15550000005 sarah_sales VG-E
	cev call.status e vonage "${D0}T09:00:01" ',"status":"ringing"'
	cev call.status e vonage "${D0}T09:00:31" ',"status":"unanswered"'

	started f twilio "${D10}T10:00:00" +15550000006 mike_support CA_F
	cev call.status f twilio "${D10}T10:00:02" ',"status":"in-progress"'
	utt f twilio "${D10}T10:00:10" user 'Terrible service' false Anger=0.95 Disgust=0.5 Contempt=0.4
	cev call.ended f twilio "${D10}T10:00:47" ',"duration_ms":45000'

	echo 'garbage'
	cev utterance a twilio "${D1}T12:00:11" ',"role":"user"'
} >calls.jsonl

# doc_query N: the N-th sql block of docs/psql.md.
doc_query() {
	awk -v n="$1" '/^```sql$/ { k++; if (k == n) { on = 1; next } } /^```$/ { on = 0 } on' \
		"$TOP/docs/psql.md"
}
run_query() {
	doc_query "$1" | psql -XAtq -v ON_ERROR_STOP=1 -d "$DATABASE_URL"
}
check_query() { # check_query N <expected
	cat >want.$1 && run_query "$1" >got.$1 && diff -u want.$1 got.$1
}

test_expect_success_here 'start PostgreSQL' 'pg_start'

test_expect_success 'load the calls with evb-logger --stdin' '
	EVB_RUN_DIR=$TMP/run evb-logger --stdin <calls.jsonl 2>err &&
	test "$(db_count calls)" = 6 && test "$(db_count utterances)" = 12 &&
	test "$(db_count call_events)" = 32 &&
	test "$(doc_query 10 | grep -c .)" -gt 0
'

test_expect_success '1. calls per provider per day' '
	check_query 1 <<-EOF
	$D3|twilio|1
	$D1|twilio|1
	$D1|vonage|1
	$D0|twilio|1
	$D0|vonage|1
	EOF
'

test_expect_success '2. average length of completed calls' '
	check_query 2 <<-EOF
	twilio|3|150.0
	vonage|1|60.0
	EOF
'

test_expect_success '3. the most frustrated callers this week' '
	check_query 3 <<-EOF
	+15550000001|2|0.57
	+15550000003|1|0.36
	+15550000002|1|0.01
	EOF
'

test_expect_success '4. emotion timeline of one call' '
	check_query 4 <<-EOF
	1|user|Hi, I have a question about my bill|neutral|0.6923|Calmness|0.6
	2|assistant|Sure, let me look that up for you|neutral|0.5556|Calmness|0.5
	3|user|This is the third time you overcharged me|negative|1|Anger|0.8
	EOF
'

test_expect_success '5. interrupted assistant turns' '
	check_query 5 <<-EOF
	CA_A|2|Sure, let me look that up for you
	CA_C|3|It shipped yesterday
	CA_C|2|I am sorry, let me check
	EOF
'

test_expect_success '6. calls yesterday that ended with the caller upset' '
	check_query 6 <<-EOF
	CA_A|+15550000001|This is the third time you overcharged me|1
	EOF
'

test_expect_success '7. how calls ended' '
	check_query 7 <<-EOF
	twilio|completed|3
	vonage|completed|1
	vonage|no-answer|1
	EOF
'

test_expect_success '8. what callers felt most this week' '
	check_query 8 <<-EOF
	Calmness|0.289
	Anger|0.250
	Joy|0.206
	Disappointment|0.164
	Distress|0.136
	EOF
'

test_expect_success '9. agents' '
	check_query 9 <<-EOF
	mike_support|2|165.0|2
	sarah_sales|3|90.0|1
	EOF
'

test_expect_success '10. rejected events by reason' '
	check_query 10 <<-EOF
	missing '\''text'\''|1
	not JSON: '\''['\'' or '\''{'\'' expected near '\''garbage'\''|1
	EOF
'

test_expect_success 'call_summary: one row a call, with dominant caller emotions' '
	pg_query "SELECT provider, from_number, agent, status, duration_s, utterances,
		user_utterances, assistant_utterances, interrupted_turns, dominant_emotions,
		sentiment FROM call_summary ORDER BY started_at" >out &&
	cat >want <<-EOF &&
	twilio|+15550000006|mike_support|completed|45.0|1|1|0|0|{Anger,Disgust,Contempt}|negative
	twilio|+15550000003|mike_support|completed|300.0|4|2|2|2|{Calmness,Disappointment,Relief}|negative
	twilio|+15550000001|sarah_sales|completed|120.0|3|2|1|1|{Anger,Calmness,Distress}|negative
	vonage|+15550000002|sarah_sales|completed|60.0|3|2|1|0|{Joy,Calmness,Contentment}|positive
	twilio|+15550000001|mike_support|completed|30.0|1|1|0|0|{Anger,Contempt,Distress}|negative
	vonage|+15550000005|sarah_sales|no-answer||0|0|0|0||
	EOF
	diff -u want out
'

test_expect_success 'conversation_log has the original ConversationLog shape' '
	pg_query "SELECT string_agg(column_name, '\'','\'' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_name = '\''conversation_log'\''" >out &&
	echo "id,call_id,call_sid,provider,role,message,emotion_scores,sentiment,confidence,timestamp" >want &&
	diff -u want out &&
	test "$(pg_query "SELECT count(*) FROM conversation_log WHERE call_sid = '\''CA_C'\''")" = 4
'

# Two utterances of one call stamped in the same millisecond (EVI's
# user_message and the assistant_message answering it can arrive together):
# they keep the order they were sent in, not their event ids' (sql/0005).
test_expect_success 'a tie in spoken_at goes to the order of sending' '
	C=22222222-0000-4000-8000-000000000001 T="${D0}T08:00:00.000Z" &&
	for e in "call.started 01 ,\"direction\":\"inbound\"" \
		"utterance ff ,\"role\":\"user\",\"text\":\"first\"" \
		"utterance 02 ,\"role\":\"assistant\",\"text\":\"second\"" \
		"utterance 80 ,\"role\":\"user\",\"text\":\"third\""; do
		set -- $e &&
		printf "{\"type\":\"%s\",\"call_id\":\"%s\",\"provider\":\"twilio\",\"ts\":\"%s\",\"event_id\":\"44444444-0000-4000-8000-0000000000%s\"%s}\n" \
			"$1" "$C" "$T" "$2" "$3" || return 1
	done >tie.jsonl &&
	EVB_RUN_DIR=$TMP/run evb-logger --stdin <tie.jsonl 2>err &&
	test "$(pg_query "SELECT string_agg(text, '\'','\'' ORDER BY turn) FROM emotion_timeline
		WHERE call_id = '\''$C'\''")" = "first,second,third"
'

test_expect_success 'stop PostgreSQL' 'pg_stop'

test_done
