#!/bin/sh
# Vonage calls through evb-ingress, evb-transcode and evb-loop: signed
# webhooks, binary frames of exactly 640 bytes paced at 20 ms, notify
# echoed into playback.mark events, DTMF, event webhooks into call.status,
# wrong-sized caller frames re-framed, the media token refused, and a
# dropped websocket connected again through the connect action's eventUrl.
. "$(dirname "$0")/../lib.sh"

RUN=$TMP/run
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export EVB_RUN_DIR=$RUN PUBLIC_BASE_URL=$BASE EVB_LISTEN=127.0.0.1:$PORT
export VONAGE_SIGNATURE_SECRET=t3020-vonage-secret EVB_MEDIA_SECRET=t3020-media-secret
mkdir -p "$RUN"

events() { evb-cat <events.evbf 2>/dev/null | jq -c 'select(.kind=="event") | .json'; }
call_events() { events | jq -c "select(.call_id==\"$1\")"; }
has_event() { call_events "$1" | jq -s -e "map(select($2))|length>0" >/dev/null; }
count() { call_events "$1" | jq -s "map(select($2))|length"; }
health() { curl -s "$BASE/healthz" | jq -r ".$1"; }
stat() { sed -n "s/^$1=//p" "$2"; }
call_id() { jq -r '.[0].endpoint[0].headers.call_id' "$1/webhook.txt"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }

test_expect_success_here 'daemons start' '
	sox -n -r 16000 -b 16 -c 1 tone.wav synth 2.5 sine 300 vol 0.5 &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 250 $RUN/logger.sock &&
	wait_for "test -S $RUN/logger.sock" &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop --log loop.jsonl &&
	evb_start_ready ingress evb-ingress
'

test_expect_success_here 'a call: 640-byte binary frames paced at 20 ms, no bursts' '
	evb-call --provider vonage --url $BASE --play tone.wav --hangup-ms 3500 --dtmf 9@500 \
		--status-callbacks --check-sizes --check-pacing --min-frames 100 --out c1 >c1.stats &&
	cat c1.stats &&
	test "$(stat ended c1.stats)" = caller &&
	test "$(stat wrong_sizes c1.stats)" -eq 0 &&
	C1=$(call_id c1) && test -n "$C1"
'

test_expect_success 'it heard its own tone at 16 kHz' '
	test "$(soxi -r c1/heard.wav)" = 16000 &&
	sox c1/heard.wav -n stat 2>stat.txt &&
	f=$(sed -n "s/^Rough *frequency: *//p" stat.txt) &&
	test "$f" -gt 260 && test "$f" -lt 340
'

test_expect_success 'a notify after each utterance, echoed into playback.mark events' '
	test "$(stat notifies c1.stats)" -ge 2 &&
	test "$(stat echoed c1.stats)" -eq "$(stat notifies c1.stats)" &&
	wait_for "test \$(count $C1 .type==\\\"playback.mark\\\") -ge 2" &&
	grep "\"kind\":\"text\"" c1/messages.jsonl | grep -q "\"action\":\"notify\",\"payload\":{\"mark\":\"evb-1\""
'

test_expect_success 'DTMF, call events and status from the event webhook' '
	grep "$C1" loop.jsonl | grep -q "\"got\":{\"type\":\"dtmf\",\"digit\":\"9\"}" &&
	has_event $C1 ".type==\"dtmf\" and .digit==\"9\" and .duration_ms==260" &&
	has_event $C1 ".type==\"call.started\" and .format==\"l16/16000\" and .provider==\"vonage\" and
		.from==\"15550001111\"" &&
	has_event $C1 ".type==\"call.status\" and .status==\"answered\"" &&
	has_event $C1 ".type==\"call.status\" and .status==\"completed\" and .duration_s==3" &&
	has_event $C1 ".type==\"call.ended\"" &&
	grep "$C1" loop.jsonl | grep -q "\"format\":\"l16/16000\""
'

test_expect_success 'caller frames of the wrong size are re-framed, not passed on' '
	before=$(health reframed) &&
	evb-call --provider vonage --url $BASE --play tone.wav --frame-bytes 500 --hangup-ms 2500 \
		--check-sizes --min-frames 20 --out rf >rf.stats &&
	test $(health reframed) -gt $before &&
	R=$(call_id rf) &&
	grep "$R" loop.jsonl | grep "\"audio\":" | jq -e ".audio.bytes % 640 == 0 and .audio.frames > 50"
'

test_expect_success 'the aliases carry a whole call' '
	evb-call --provider vonage --url $BASE --path /api/hume-twilio/vonage-voice-webhook/ \
		--play tone.wav --check-sizes --min-frames 40 --out legacy >out &&
	jq -e ".[0].endpoint[0].uri|test(\"/ws/vonage-stream/\")" legacy/webhook.txt
'

test_expect_success 'a bad or missing media token: closed with 1008' '
	evb-call --provider vonage --url $BASE --inject bad-token --expect-close 1008 >out &&
	evb-call --provider vonage --url $BASE --inject no-token --expect-close 1008 >out &&
	grep -q "media token refused from .*: not valid for this call" $TMP/ingress.log
'

test_expect_success 'a dropped websocket: eventUrl gets disconnected, answers an NCCO, same call' '
	evb-call --provider vonage --url $BASE --play tone.wav --inject second-start \
		--hangup-ms 2500 --out re >re.stats &&
	test "$(stat reconnects re.stats)" -eq 1 &&
	test "$(stat ended re.stats)" = caller &&
	R=$(call_id re) &&
	grep -q "call=$R websocket disconnected: reconnecting" $TMP/ingress.log &&
	grep -q "call=$R media stream reconnected" $TMP/ingress.log &&
	test $(count $R ".type==\"call.started\"") -eq 1
'

test_expect_success_here 'SIGTERM: each daemon exits 0' '
	stop_ok ingress && stop_ok loop && stop_ok transcode && evb_stop logger
'

test_done
