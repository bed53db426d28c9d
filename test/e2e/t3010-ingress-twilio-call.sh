#!/bin/sh
# Twilio calls through evb-ingress, evb-transcode and evb-loop (which echoes
# the caller back): outbound frames of exactly 160 bytes paced at 20 ms,
# marks echoed into playback.mark events, DTMF up to the AI side and into
# events, status callbacks, the media token and the handshake signature
# refused, a stream the bridge loses coming back through <Connect action>
# and <Redirect>, and the call events from start to end.
. "$(dirname "$0")/../lib.sh"

RUN=$TMP/run
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export EVB_RUN_DIR=$RUN PUBLIC_BASE_URL=$BASE EVB_LISTEN=127.0.0.1:$PORT
export TWILIO_AUTH_TOKEN=t3010-auth-token EVB_MEDIA_SECRET=t3010-media-secret
mkdir -p "$RUN"

events() { evb-cat <events.evbf 2>/dev/null | jq -c 'select(.kind=="event") | .json'; }
call_events() { events | jq -c "select(.call_id==\"$1\")"; }
# has_event CALL COND: an event of CALL matches the jq condition COND.
has_event() { call_events "$1" | jq -s -e "map(select($2))|length>0" >/dev/null; }
count() { call_events "$1" | jq -s "map(select($2))|length"; }
health() { curl -s "$BASE/healthz" | jq -r ".$1"; }
stat() { sed -n "s/^$1=//p" "$2"; }
call_id() { sed -n 's/.*name="call_id" value="\([^"]*\)".*/\1/p' "$1/webhook.txt"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }

test_expect_success_here 'daemons start (media tokens live 2 s)' '
	sox -n -r 8000 -b 16 -c 1 tone.wav synth 2.5 sine 440 vol 0.5 &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 250 $RUN/logger.sock &&
	wait_for "test -S $RUN/logger.sock" &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop --log loop.jsonl &&
	evb_start_ready ingress evb-ingress --token-ttl-s 2
'

test_expect_success_here 'a call: 160-byte frames paced at 20 ms, no bursts' '
	evb-call --url $BASE --play tone.wav --hangup-ms 3500 --dtmf 1@400,2@900 \
		--status-callbacks --check-sizes --check-pacing --min-frames 100 --out c1 >c1.stats &&
	cat c1.stats &&
	test "$(stat ended c1.stats)" = caller &&
	test "$(stat wrong_sizes c1.stats)" -eq 0 &&
	test "$(stat bursts c1.stats)" -eq 0 &&
	C1=$(call_id c1) && test -n "$C1"
'

test_expect_success 'what it heard is the tone it played, echoed' '
	test "$(stat heard_ms c1.stats)" -ge 2000 &&
	sox c1/heard.wav -n stat 2>stat.txt &&
	f=$(sed -n "s/^Rough *frequency: *//p" stat.txt) &&
	test "$f" -gt 400 && test "$f" -lt 480
'

test_expect_success 'a mark after each utterance, echoed, and a playback.mark event each' '
	test "$(stat marks c1.stats)" -ge 2 &&
	test "$(stat echoed c1.stats)" -eq "$(stat marks c1.stats)" &&
	wait_for "test \$(count $C1 .type==\\\"playback.mark\\\") -ge 2" &&
	has_event $C1 ".type==\"playback.mark\" and .name==\"evb-1\" and .utterance==1"
'

test_expect_success 'DTMF reaches the AI side as control frames and the logger as events' '
	grep "$C1" loop.jsonl | grep -q "\"got\":{\"type\":\"dtmf\",\"digit\":\"1\"}" &&
	grep "$C1" loop.jsonl | grep -q "\"got\":{\"type\":\"dtmf\",\"digit\":\"2\"}" &&
	test $(count $C1 ".type==\"dtmf\"") -eq 2
'

test_expect_success 'call events: started, status (with duration), ended' '
	has_event $C1 ".type==\"call.started\" and .direction==\"inbound\" and
		.from==\"+15550001111\" and (.provider_call_id|startswith(\"CA\")) and
		.format==\"ulaw/8000\" and .provider==\"twilio\"" &&
	has_event $C1 ".type==\"call.status\" and .status==\"in-progress\"" &&
	has_event $C1 ".type==\"call.status\" and .status==\"completed\" and .duration_s>=3" &&
	has_event $C1 ".type==\"call.ended\" and .reason==\"caller-hangup\" and .duration_ms>=3000" &&
	grep "$C1" loop.jsonl | grep -q "\"got\":{\"type\":\"call.ended\",\"reason\":\"caller-hangup\"}"
'

test_expect_success 'the legacy paths carry a whole call' '
	evb-call --url $BASE --path /api/hume-twilio/voice-webhook-fixed/ --play tone.wav \
		--check-sizes --min-frames 40 --out legacy >out &&
	grep -q "/ws/hume-twilio/stream/CA" legacy/webhook.txt
'

test_expect_success 'a bad or missing media token: the stream is closed with 1008' '
	before=$(health bad_tokens) &&
	evb-call --url $BASE --inject bad-token --expect-close 1008 >out &&
	evb-call --url $BASE --inject no-token --expect-close 1008 >out &&
	test $(health bad_tokens) -eq $((before + 2)) &&
	grep -q "media token refused from .*: not valid for this call" $TMP/ingress.log &&
	grep -q "media token refused from .*: no token" $TMP/ingress.log &&
	wait_for "events | grep -q bad_token"
'

test_expect_success 'an expired media token: closed with 1008' '
	evb-call --url $BASE --connect-delay-ms 3100 --expect-close 1008 >out &&
	grep -q "media token refused from .*: expired" $TMP/ingress.log
'

test_expect_success 'a bad X-Twilio-Signature on the media handshake: 403' '
	evb-call --url $BASE --inject ws-bad-signature --expect-ws-status 403 >out &&
	grep -q "refused GET /twilio/stream from" $TMP/ingress.log
'

test_expect_success 'a stream the bridge drops comes back: <Connect action>, <Redirect>, same call' '
	evb-call --url $BASE --play tone.wav --inject second-start --hangup-ms 2500 \
		--out re >re.stats &&
	test "$(stat reconnects re.stats)" -eq 1 &&
	test "$(stat ended re.stats)" = caller &&
	test "$(stat frames re.stats)" -gt 0 &&
	R=$(call_id re) &&
	grep -q "call=$R stream ended without a hangup: reconnecting" $TMP/ingress.log &&
	grep -q "call=$R media stream reconnected" $TMP/ingress.log &&
	wait_for "has_event $R .type==\\\"call.ended\\\"" &&
	test $(count $R ".type==\"call.started\"") -eq 1
'

test_expect_success 'after a hangup, <Connect action> answers <Hangup/>' '
	C=$(call_id c1) &&
	sig=$(perl -MDigest::SHA=hmac_sha1_base64 -e "
		my \$s = hmac_sha1_base64(\"$BASE/twilio/stream-ended?call_id=$C\", \$ENV{TWILIO_AUTH_TOKEN});
		print \$s, \"=\";") &&
	curl -s -X POST -H "X-Twilio-Signature: $sig" "$BASE/twilio/stream-ended?call_id=$C" >end.xml &&
	grep -q "<Hangup/>" end.xml
'

test_expect_success_here 'SIGTERM: each daemon exits 0' '
	stop_ok ingress && stop_ok loop && stop_ok transcode && evb_stop logger
'

test_done
