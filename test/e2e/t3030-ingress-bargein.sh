#!/bin/sh
# Barge-in and hang-up from the AI side (evb-loop sends 'interrupt' and
# 'hangup' control frames): the playout queue empties and Twilio 'clear' /
# Vonage {"action":"clear"} leaves at once, no frame follows it, the
# interruption event says how much was played, marks a clear returns are
# not counted as played, and an agent hang-up plays what was queued, then
# ends the call (<Hangup/> for Twilio, no NCCO for Vonage).
. "$(dirname "$0")/../lib.sh"

RUN=$TMP/run
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export EVB_RUN_DIR=$RUN PUBLIC_BASE_URL=$BASE EVB_LISTEN=127.0.0.1:$PORT
export TWILIO_AUTH_TOKEN=t3030-auth-token EVB_MEDIA_SECRET=t3030-media-secret
mkdir -p "$RUN"

events() { evb-cat <events.evbf 2>/dev/null | jq -c 'select(.kind=="event") | .json'; }
call_events() { events | jq -c "select(.call_id==\"$1\")"; }
has_event() { call_events "$1" | jq -s -e "map(select($2))|length>0" >/dev/null; }
count() { call_events "$1" | jq -s "map(select($2))|length"; }
health() { curl -s "$BASE/healthz" | jq -r ".$1"; }
stat() { sed -n "s/^$1=//p" "$2"; }
tw_id() { sed -n 's/.*name="call_id" value="\([^"]*\)".*/\1/p' "$1/webhook.txt"; }
vg_id() { jq -r '.[0].endpoint[0].headers.call_id' "$1/webhook.txt"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }
hume_links() { grep -c "connected to evb-hume" $TMP/transcode.log; }
# loop_with OPTS...: evb-loop again with other options; waits for transcode.
loop_with() {
	n=$(hume_links)
	stop_ok loop && evb_start_ready loop evb-loop --log loop.jsonl "$@" &&
		wait_for "test \$(hume_links) -gt $n"
}
# The time from evb-loop's interrupt to evb-call's receiving the clear, in ms.
clear_latency() {
	i=$(grep "$2" loop.jsonl | jq -r 'select(.sent.type=="interrupt") | .t_ms' | head -n 1)
	c=$(grep "\"kind\":\"text\"" "$1/messages.jsonl" |
		jq -r 'select(.msg.event=="clear" or .msg.action=="clear") | .t_ns' | head -n 1)
	echo $((c / 1000000 - i))
}

test_expect_success_here 'daemons start; evb-loop interrupts its 2 s reply after 400 ms' '
	sox -n -r 8000 -b 16 -c 1 tone.wav synth 2.5 sine 500 vol 0.5 &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 250 $RUN/logger.sock &&
	wait_for "test -S $RUN/logger.sock" &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop --log loop.jsonl --reply-ms 2000 --interrupt-after-ms 400 \
		--max-replies 1 &&
	evb_start_ready ingress evb-ingress
'

test_expect_success 'Twilio: clear at once, nothing after it, the rest of the reply dropped' '
	evb-call --url $BASE --play tone.wav --hangup-ms 3500 --check-sizes --out tw >tw.stats &&
	cat tw.stats &&
	test "$(stat clears tw.stats)" -eq 1 &&
	test "$(stat frames_after_clear tw.stats)" -eq 0 &&
	test "$(stat marks tw.stats)" -eq 0 &&
	f=$(stat frames tw.stats) && test $f -ge 15 && test $f -le 30 &&
	C=$(tw_id tw) && l=$(clear_latency tw $C) && echo "clear latency $l ms" &&
	test $l -ge 0 && test $l -lt 100
'

test_expect_success 'Twilio: an interruption event with the played share of the utterance' '
	C=$(tw_id tw) &&
	wait_for "has_event $C .type==\\\"interruption\\\"" &&
	call_events $C | jq -s "map(select(.type==\"interruption\"))[0]" >int.json && cat int.json &&
	jq -e ".played_ms>=300 and .played_ms<=600 and .dropped_ms>=1200 and .utterance==1" int.json
'

test_expect_success 'Vonage: {"action":"clear"} at once, websocket:cleared back, nothing after' '
	evb-call --provider vonage --url $BASE --play tone.wav --hangup-ms 3500 --check-sizes \
		--out vg >vg.stats &&
	test "$(stat clears vg.stats)" -eq 1 &&
	test "$(stat frames_after_clear vg.stats)" -eq 0 &&
	C=$(vg_id vg) && l=$(clear_latency vg $C) && echo "clear latency $l ms" &&
	test $l -ge 0 && test $l -lt 100 &&
	wait_for "has_event $C .type==\\\"interruption\\\"" &&
	test $(health interruptions) -ge 2
'

test_expect_success_here 'marks a clear returns are not counted as played' '
	loop_with --reply-ms 400 --interrupt-after-ms 1200 --max-replies 1 &&
	before=$(health marks_cleared) &&
	evb-call --url $BASE --play tone.wav --hangup-ms 3000 --mark-delay-ms 3000 --out mk >mk.stats &&
	cat mk.stats &&
	test "$(stat marks mk.stats)" -eq 1 &&
	test "$(stat clears mk.stats)" -eq 1 &&
	test "$(stat echoed mk.stats)" -eq 1 &&
	test $(health marks_cleared) -eq $((before + 1)) &&
	C=$(tw_id mk) &&
	wait_for "has_event $C .type==\\\"interruption\\\"" &&
	test $(count $C ".type==\"playback.mark\"") -eq 0
'

test_expect_success_here 'an agent hang-up: queued audio plays, then Twilio gets <Hangup/>' '
	loop_with --reply-ms 500 --hangup-after-ms 1500 &&
	evb-call --url $BASE --play tone.wav --wait-hangup --check-sizes --out hu >hu.stats &&
	cat hu.stats &&
	test "$(stat ended hu.stats)" = twiml-hangup &&
	test "$(stat marks hu.stats)" -ge 1 &&
	C=$(tw_id hu) &&
	grep -q "call=$C stream ended: hanging up" $TMP/ingress.log &&
	wait_for "has_event $C .type==\\\"call.ended\\\" and .reason==\\\"agent-hangup\\\""
'

test_expect_success 'an agent hang-up on Vonage: the eventUrl answers no NCCO' '
	evb-call --provider vonage --url $BASE --play tone.wav --wait-hangup --out vh >vh.stats &&
	test "$(stat ended vh.stats)" = hangup &&
	C=$(vg_id vh) &&
	grep -q "call=$C websocket disconnected: call over" $TMP/ingress.log &&
	wait_for "has_event $C .type==\\\"call.ended\\\" and .reason==\\\"agent-hangup\\\""
'

test_expect_success_here 'SIGTERM: each daemon exits 0' '
	stop_ok ingress && stop_ok loop && stop_ok transcode && evb_stop logger
'

test_done
