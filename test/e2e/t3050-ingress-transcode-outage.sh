#!/bin/sh
# evb-transcode dies in the middle of a call: caller audio is dropped and
# counted, the call survives; when evb-transcode is back, call.prepare goes
# up again and audio flows both ways again. Then SIGTERM in the middle of a
# call: the stream is given EVB_DRAIN_S, closed with 1001, the call ended
# up the pipeline, and the daemon exits 0.
. "$(dirname "$0")/../lib.sh"

RUN=$TMP/run
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export EVB_RUN_DIR=$RUN PUBLIC_BASE_URL=$BASE EVB_LISTEN=127.0.0.1:$PORT
export TWILIO_AUTH_TOKEN=t3050-auth-token EVB_MEDIA_SECRET=t3050-media-secret
mkdir -p "$RUN"

health() { curl -s "$BASE/healthz" | jq -r ".$1"; }
stat() { sed -n "s/^$1=//p" "$2"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }

test_expect_success_here 'daemons start and a call begins' '
	sox -n -r 8000 -b 16 -c 1 tone.wav synth 9 sine 440 vol 0.5 &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop --reply-ms 500 --log loop.jsonl &&
	evb_start_ready ingress evb-ingress &&
	evb_start call evb-call --url $BASE --play tone.wav --hangup-ms 9000 --timeout-s 40 \
		--check-sizes --out oc &&
	wait_for "test \$(health frames_out) -gt 20"
'

test_expect_success_here 'evb-transcode killed: caller audio is dropped and counted' '
	kill -KILL $(evb_pid transcode) && wait $(evb_pid transcode);
	wait_for "test \$(health transcode) = false" &&
	wait_for "test \$(health frames_up_dropped) -gt 10" &&
	evb_alive call &&
	grep -q "caller audio dropped" $TMP/ingress.log
'

test_expect_success_here 'evb-transcode back: call.prepare again, audio flows both ways' '
	up=$(health frames_up) && out=$(health frames_out) &&
	evb_start_ready transcode evb-transcode &&
	wait_for "test \$(health transcode) = true" &&
	wait_for "test \$(health frames_up) -gt $((up + 25))" &&
	wait_for "test \$(health frames_out) -gt $((out + 20))" 10 &&
	grep "call.prepare" loop.jsonl | grep -q "\"resent\":true"
'

test_expect_success_here 'the call went on to its end' '
	evb_wait call && cat $TMP/call.out &&
	test "$(stat ended $TMP/call.out)" = caller &&
	test "$(stat wrong_sizes $TMP/call.out)" -eq 0
'

test_expect_success_here 'SIGTERM during a call: drain, close 1001, call.ended up, exit 0' '
	stop_ok ingress &&
	evb_start_ready ingress evb-ingress --EVB_DRAIN_S=1 &&
	evb_start call2 evb-call --url $BASE --play tone.wav --hangup-ms 20000 \
		--expect-close 1001 --out dr &&
	wait_for "test \$(health streams) -eq 1" &&
	D=$(sed -n "s/.*name=\"call_id\" value=\"\([^\"]*\)\".*/\1/p" dr/webhook.txt) &&
	stop_ok ingress &&
	grep -q "drain time over: closing 1 media streams" $TMP/ingress.log &&
	evb_wait call2 &&
	wait_for "grep \"$D\" loop.jsonl | grep -q \"call.ended\""
'

test_expect_success_here 'SIGTERM: evb-loop and evb-transcode exit 0' '
	stop_ok loop && stop_ok transcode
'

test_done
