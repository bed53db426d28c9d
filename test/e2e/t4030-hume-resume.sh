#!/bin/sh
# Resume: evb-hume reconnects with resumed_chat_group_id whenever the EVI
# socket drops (A), EVI ends the chat at its maximum duration (B) or for
# inactivity (E), or the chat nears its maximum age (C, proactive, after the
# assistant's turn); a chat group EVI no longer knows is given up for a new
# chat (D). The call never ends for it, and caller audio in the gap is held
# up to --hold-ms. Five calls run side by side, each against its own
# evb-fakehume and evb-hume, straight into hume.sock (L16, as evb-transcode
# sends it).
. "$(dirname "$0")/../lib.sh"

HUME_API_KEY=test-key-4030
export HUME_API_KEY

ctl() {
	printf '{"kind":"control","dir":"up","call_id":"%s","json":%s}\n' "$1" "$2" | evb-cat -r
}

id() { echo "aaaaaaaa-0000-4000-8000-0000000040d$(echo $1 | tr A-Z a-z)"; }

# start X SECONDS FAKEHUME-OPTIONS -- HUME-OPTIONS: fakehume fhX on a free
# port recording recX.jsonl, humeX on $TMP/runX.
start() {
	x=$1
	shift
	port=$(free_port)
	echo $port >port$x
	fo=""
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do fo="$fo $1"; shift; done
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086
	evb_start_ready fh$x evb-fakehume --listen 127.0.0.1:$port --record rec$x.jsonl \
		--scenario scenario$x $fo &&
	evb_start_ready hume$x evb-hume --EVB_RUN_DIR=$TMP/run$x \
		--HUME_EVI_URL=ws://127.0.0.1:$port/v0/evi/chat "$@"
}

opens() { grep "\"ev\":\"open\"" "$1"; }
audio_bytes() { grep "\"type\":\"audio_input\"" "$1" | jq -s "map(.msg.data_bytes) | add // 0"; }

test_expect_success 'caller audio and scenarios' '
	espeak-ng -w s.wav "Hello, is anybody there?" &&
	sox s.wav -r 8000 short.wav pad 0.2 3.8 &&
	sox s.wav -r 8000 long.wav pad 0.2 6.3 &&
	printf "reply * OK.\nat open 1 +1500 drop\n" >scenarioA &&
	printf "reply * OK.\n" >scenarioB &&
	printf "reply * Let me look that up for you, it will take me a little while.\n" >scenarioC &&
	printf "reply * OK.\n" >scenarioD &&
	printf "reply * -\n" >scenarioE &&
	for x in A B C D E; do
		f=short.wav && test $x != D && test $x != C || f=long.wav
		{
			ctl $(id $x) "{\"type\":\"call.prepare\",\"provider\":\"twilio\",\"format\":\"ulaw/8000\"}" &&
			ctl $(id $x) "{\"type\":\"call.ended\",\"reason\":\"caller-hangup\"}"
		} >ctl$x.evbf && echo $f >wav$x || return 1
	done
'

test_expect_success_here 'five fakehumes and evb-humes start' '
	start A -- --batch-ms 100 &&
	start B --max-duration-s 2 &&
	start C -- --max-chat-s 3 &&
	start D -- --hold-ms 1000 &&
	start E --inactivity-s 1 -- --inactivity-s 0
'

# send X: the call of X in the background, as evb_start job callX.
send() {
	evb_start call$1 sh -c "{ evb-cat <ctl$1.evbf | head -n 1 | evb-cat -r &&
		evb-wav to-frames --as l16/8000 --paced --call $(id $1) \$(cat wav$1) &&
		evb-cat <ctl$1.evbf | tail -n 1 | evb-cat -r; } |
		evb-sock --send - --recv down$1.evbf --linger-ms 200 --timeout-s 40 $TMP/run$1/hume.sock"
}

test_expect_success_here 'five calls at once; fakehume D dies and comes back empty' '
	for x in A B C D E; do send $x || return 1; done &&
	wait_for "grep -q audio_input recD.jsonl" 10 &&
	wait_for "test \$(grep -c audio_input recD.jsonl) -ge 60" 10 &&
	kill -KILL $(evb_pid fhD) && { wait $(evb_pid fhD); true; } &&
	wait_for "test \$(grep -c \"connecting to EVI (resuming)\" humeD.log) -ge 3" 10 &&
	evb_start_ready fhD evb-fakehume --listen 127.0.0.1:$(cat portD) --record recD2.jsonl \
		--scenario scenarioD &&
	for x in A B C D E; do evb_wait call$x || return 1; done
'

test_expect_success 'A: a dropped socket is resumed at once, in the same chat group' '
	opens recA.jsonl >openA &&
	test $(wc -l <openA) -eq 2 &&
	g=$(head -n 1 openA | jq -r .chat_group_id) &&
	sed -n 2p openA | jq -e ".resumed == true and .chat_group_id == \"$g\" and
		.query.resumed_chat_group_id == \"$g\"" &&
	test $(grep "\"ev\":\"recv\"" recA.jsonl | grep -c "\"type\":\"session_settings\"") -eq 2 &&
	grep -q "call=$(id A) evb error evb_evi_closed evi_disconnected" humeA.log
'

test_expect_success 'A: --batch-ms 100: 1600-byte audio_input, none lost but in flight' '
	sizes=$(grep "\"type\":\"audio_input\"" recA.jsonl | jq .msg.data_bytes | sort -u) &&
	echo "sizes: $sizes" &&
	test "$(echo $sizes)" = 1600 &&
	sent=$(( $(evb-wav to-frames --as l16/8000 --call $(id A) short.wav | evb-cat --summary |
		grep -c "\"len\":320") * 320 )) &&
	got=$(audio_bytes recA.jsonl) &&
	echo "sent $sent bytes, fakehume got $got" &&
	test $got -le $sent && test $got -ge $((sent - 8 * 1600))
'

test_expect_success 'B: maximum duration: error, close, resumed' '
	grep "\"ev\":\"sent\"" recB.jsonl | jq -c "select(.msg.type == \"error\") | .msg" >errB &&
	jq -e ".slug == \"max_duration_timeout\"" errB &&
	test $(opens recB.jsonl | wc -l) -ge 2 &&
	opens recB.jsonl | sed -n 2p | jq -e ".resumed == true" &&
	grep -q "call=$(id B) evi error E0712 max_duration_timeout" humeB.log &&
	grep -q "call=$(id B) resuming the chat: max_duration_timeout" humeB.log
'

test_expect_success 'C: near the maximum age, resumed once the assistant finished' '
	opens recC.jsonl >openC &&
	test $(wc -l <openC) -ge 2 &&
	grep -q "call=$(id C) resuming the chat: the chat nears EVI.s maximum duration" humeC.log &&
	grep "\"conn\":1," recC.jsonl >conn1 &&
	tail -n 1 conn1 | jq -e ".ev == \"close\" and .code == 1000 and .reason == \"resuming\"" &&
	grep -q "\"type\":\"assistant_end\"" conn1 &&
	age=$(( $(tail -n 1 conn1 | jq .t) - $(head -n 1 conn1 | jq .t) )) &&
	echo "conn 1 lasted $age ms" && test $age -ge 3500 &&
	! grep "\"type\":\"error\"" recC.jsonl | grep -q "\"ev\":\"sent\""
'

test_expect_success 'D: an unknown chat group is given up for a new chat' '
	grep -q "call=$(id D) evb error evb_resume_failed resume_failed" humeD.log &&
	test $(grep "\"ev\":\"reject\"" recD2.jsonl | grep -c "no such chat group") -eq 2 &&
	opens recD2.jsonl | jq -e ".resumed == false" &&
	grep "\"ev\":\"recv\"" recD2.jsonl | head -n 1 | jq -e ".msg.type == \"session_settings\""
'

test_expect_success 'D: caller audio during the outage was held up to --hold-ms 1000' '
	grep -q "call=$(id D) [0-9]* ms of caller audio dropped while the chat was not open (bound: --hold-ms 1000)" humeD.log &&
	t0=$(opens recD2.jsonl | jq .t) &&
	burst=$(grep "\"type\":\"audio_input\"" recD2.jsonl |
		jq -s "map(select(.t <= $t0 + 10) | .msg.data_bytes) | add // 0") &&
	echo "$burst bytes at once after the reconnect" &&
	test $burst -le $((16000 + 320)) && test $burst -ge 15000
'

test_expect_success 'E: inactivity: error, close, resumed' '
	grep "\"ev\":\"sent\"" recE.jsonl | jq -c "select(.msg.type == \"error\") | .msg" >errE &&
	head -n 1 errE | jq -e ".slug == \"inactivity_timeout\"" &&
	test $(opens recE.jsonl | wc -l) -ge 2 &&
	opens recE.jsonl | sed -n 2p | jq -e ".resumed == true"
'

test_expect_success 'no call ended before its caller hung up' '
	for x in A B C D E; do
		grep "ended (" hume$x.log >ended &&
		test $(wc -l <ended) -eq 1 &&
		grep -q "ended (caller-hangup)" ended || return 1
	done
'

test_expect_success_here 'everything stops cleanly' '
	for x in A B C D E; do
		kill -TERM $(evb_pid hume$x) && { wait $(evb_pid hume$x); test $? -eq 0; } &&
		kill -TERM $(evb_pid fh$x) && { wait $(evb_pid fh$x); test $? -eq 0; } || return 1
	done
'

test_done
