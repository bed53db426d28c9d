#!/bin/sh
# Issue 8, faults: kill -9 of evb-ingress during 10 live Twilio calls and 2
# Vonage calls (the full stack under evb-supervise). The media sockets drop
# without a 'stop'; evb-call then does what Twilio does: asks the <Connect
# action>, retrying the refused connection as its connection overrides say
# (#rc=5&rp=ct) until evb-supervise has started evb-ingress again, follows
# the <Redirect> to the voice webhook and opens the new <Connect><Stream>.
# Vonage: posts 'disconnected' to the websocket's eventUrl, retried twice
# 1 s apart as Vonage does, and connects to the new NCCO's websocket. Each
# call goes on under the same call id: the caller hears the agent again
# soon, PostgreSQL has one calls row per call (same id, same CallSid or
# uuid) that ends completed, its start and end once, every utterance once.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"
. "$TOP/test/lib-stack.sh"

export EVB_RUN_DIR=$TMP/run
export HUME_API_KEY=t8050-key TWILIO_AUTH_TOKEN=t8050-token EVB_API_TOKEN=t8050-api
# Tokens minted before the kill must stay valid after it (docs/ingress.md).
export EVB_MEDIA_SECRET=t8050-media-secret-0123456789abcdef
ING=$(free_port)
API=$(free_port)
FH=$(free_port)
NTWILIO=10
NCALLS=12
# How soon after the restart every caller must hear a new agent reply: the
# reconnection itself (retries 100, 200, 400... ms apart until evb-ingress
# listens again), then the next turn (the callers speak 1 s in 2 s, the
# agent answers after 500 ms of silence), so one is due 1.5-2.5 s after
# the restart (Vonage: 1 s later, its retry); the bound allows one missed
# turn on a loaded machine.
HEAR_S=${T8050_HEAR_S:-5}

test_expect_success_here 'PostgreSQL, the EVI stand-in and the stack' '
	pg_start &&
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$FH --no-espeak \
		--record $TMP/fakehume.jsonl &&
	stack_env t8050 EVB_DRAIN_S=15 &&
	evb_start_ready sv evb-supervise --config evb.env
'

# 14 s of caller speech: 1 s of tone, 1 s of silence, 7 times.
sox -n -r 16000 -b 16 -c 1 talk.wav synth 1 sine 300 vol 0.5 pad 0 1 repeat 6

test_expect_success_here "$NTWILIO Twilio and $((NCALLS - NTWILIO)) Vonage calls start and hear the agent" '
	i=0 &&
	while [ $i -lt $NCALLS ]; do
		if [ $i -lt $NTWILIO ]; then prov=twilio; else prov=vonage; fi &&
		evb_start call$i evb-call --provider $prov --url http://127.0.0.1:$ING \
			--play talk.wav --out c$i --timeout-s 60 || break
		i=$((i + 1))
	done &&
	wait_for "test \"\$(health streams)\" = $NCALLS" 30 &&
	f=$(health frames_out) &&
	wait_for "test \$(health frames_out) -gt $((f + NCALLS * 25))" 20
'

test_expect_success_here 'kill -9 of evb-ingress during the calls: restarted, every call back' '
	old=$(child_pid ingress) && test -n "$old" &&
	mono >kill-t && kill -KILL "$old" &&
	wait_for "p=\$(child_pid ingress) && test -n \"\$p\" && test \"\$p\" != $old" 10 &&
	mono >restart-t &&
	say "evb-ingress $old killed, back as $(child_pid ingress)" &&
	wait_for "test \"\$(health streams)\" = $NCALLS" 10 &&
	mono >back-t &&
	test "$(health reconnects)" = $NCALLS
'
test -f restart-t && say "evb-ingress back $(( ($(cat restart-t) - $(cat kill-t)) / 1000000 )) ms after kill -9"
test -f back-t && say "all $NCALLS streams open again $(( ($(cat back-t) - $(cat kill-t)) / 1000000 )) ms after kill -9"

test_expect_success_here 'every call goes on to its normal end, one reconnection each' '
	i=0 && bad=0 &&
	while [ $i -lt $NCALLS ]; do
		evb_wait call$i; rc=$?
		if [ $rc -ne 0 ] || ! grep -q "^ended=caller" $TMP/call$i.out ||
			! grep -q "^reconnects=1\$" $TMP/call$i.out; then
			echo "call$i: exit $rc"; cat $TMP/call$i.out; bad=1
		fi
		i=$((i + 1))
	done &&
	test $bad -eq 0
'
say "retries of the refused <Connect action> or eventUrl per call: $(grep -h "^webhook_retries=" call*.out | sort | uniq -c | tr -s " \n" " ")"

test_expect_success 'each call: two streams (before and after), the same call id' '
	i=0 && : >ids &&
	while [ $i -lt $NCALLS ]; do
		jq -r "select(.kind == \"open\") | .call_id" c$i/messages.jsonl >open$i &&
		test $(wc -l <open$i) -eq 2 && test $(sort -u open$i | wc -l) -eq 1 &&
		test -n "$(head -n 1 open$i)" &&
		head -n 1 open$i >>ids || { echo "c$i:"; cat open$i; return 1; }
		i=$((i + 1))
	done &&
	test $(sort -u ids | wc -l) -eq $NCALLS
'

test_expect_success 'after the restart, every caller heard the agent again' '
	t0=$(cat restart-t) && i=0 && worst=0 &&
	while [ $i -lt $NCALLS ]; do
		ms=$(heard_after c$i $t0 $HEAR_S) ||
			{ echo "c$i: agent not heard within $HEAR_S s of the restart ($ms ms)"; return 1; }
		[ "$ms" -gt $worst ] && worst=$ms
		i=$((i + 1))
	done &&
	echo $worst >heard-worst
'
test -f heard-worst && say "new agent reply heard after the restart, worst of $NCALLS calls: $(cat heard-worst) ms"

test_expect_success_here 'the events drain to PostgreSQL' '
	wait_for "test \"\$(health events_pending)\" = 0" 30 &&
	q="SELECT count(*) FROM calls WHERE status = '"'"'completed'"'"' AND ended_at IS NOT NULL" &&
	wait_for "test \"\$(pg_query \"$q\")\" -ge $NCALLS" 30
'

test_expect_success 'one calls row per call, same id and CallSid, completed; start and end once' '
	pg_query "SELECT id FROM calls" | sort >rows &&
	sort -u ids >want && diff want rows &&
	test "$(pg_query "SELECT count(DISTINCT provider_call_id) FROM calls WHERE provider_call_id LIKE '"'"'CA%'"'"'")" -eq $NTWILIO &&
	test "$(pg_query "SELECT count(DISTINCT provider_call_id) FROM calls WHERE provider = '"'"'vonage'"'"'")" -eq $((NCALLS - NTWILIO)) &&
	pg_query "SELECT c.id FROM calls c WHERE c.status <> '"'"'completed'"'"'
		OR (SELECT count(*) FROM call_events e WHERE e.call_id = c.id AND e.type = '"'"'call.started'"'"') <> 1
		OR (SELECT count(*) FROM call_events e WHERE e.call_id = c.id AND e.type = '"'"'call.ended'"'"') <> 1
		OR NOT EXISTS (SELECT 1 FROM utterances u WHERE u.call_id = c.id AND u.role = '"'"'user'"'"')
		OR NOT EXISTS (SELECT 1 FROM utterances u WHERE u.call_id = c.id AND u.role = '"'"'assistant'"'"')" >bad &&
	empty bad
'

test_expect_success 'every utterance EVI sent stored exactly once' '
	pg_query "SELECT DISTINCT payload->>'"'"'chat_group_id'"'"', call_id FROM call_events
		WHERE type = '"'"'chat.metadata'"'"'" | tr "|" " " >groups &&
	test $(wc -l <groups) -eq $NCALLS &&
	pg_query "SELECT call_id, role, text FROM utterances" | tr "|" " " | sort >stored &&
	sort stored | uniq -d >dups && empty dups &&
	sent_utterances | sort >sent &&
	test $(wc -l <sent) -ge $((NCALLS * 6)) &&
	comm -23 sent stored >lost && empty lost &&
	comm -13 sent stored >extra && empty extra &&
	say "$(wc -l <stored) utterances stored, $(wc -l <sent) sent"
'

test_expect_success_here 'SIGTERM: all five exit 0, then the stand-ins stop' '
	kill -TERM $(evb_pid sv) && { evb_wait sv; rc=$?; } &&
	for p in api ingress transcode hume logger; do
		grep -q "supervise: evb-$p (pid [0-9]*) exited 0\$" $TMP/sv.log ||
			{ echo "evb-$p did not exit 0:"; grep "evb-$p" $TMP/sv.log | tail -n 20; rc=1; }
	done &&
	evb_stop fakehume && pg_stop && test $rc -eq 0
'

test_done
