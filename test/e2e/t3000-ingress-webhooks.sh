#!/bin/sh
# evb-ingress's HTTP side: TwiML and NCCO content, the original app's paths,
# X-Twilio-Signature and Vonage signed webhooks accepted and refused (403
# and an error event), /healthz, 404/405, size caps, and a slow client cut
# off while others are served. Calls are placed by evb-call; events are
# caught by evb-sock standing in for evb-logger.
. "$(dirname "$0")/../lib.sh"

RUN=$TMP/run
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export EVB_RUN_DIR=$RUN PUBLIC_BASE_URL=$BASE EVB_LISTEN=127.0.0.1:$PORT
export TWILIO_AUTH_TOKEN=t3000-auth-token VONAGE_SIGNATURE_SECRET=t3000-vonage-secret
export EVB_MEDIA_SECRET=t3000-media-secret
CID=aaaaaaaa-3000-4000-8000-000000000001
mkdir -p "$RUN"

events() { evb-cat <events.evbf 2>/dev/null | jq -c 'select(.kind=="event") | .json'; }
health() { curl -s "$BASE/healthz" | jq -r ".$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }

test_expect_success_here 'evb-ingress starts with evb-transcode and evb-loop' '
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 250 $RUN/logger.sock &&
	wait_for "test -S $RUN/logger.sock" &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop --log loop.jsonl &&
	evb_start_ready ingress evb-ingress --header-ms 500 --body-ms 500 &&
	test "$(health status)" = ok
'

test_expect_success 'Twilio voice webhook: <Connect><Stream> TwiML with a token' '
	evb-call --url $BASE --webhook-only --out tw >out &&
	grep -q "^webhook_status=200" out &&
	grep -q "<Response><Connect action=\"$BASE/twilio/stream-ended?call_id=" tw/webhook.txt &&
	grep -q "<Stream url=\"ws://127.0.0.1:$PORT/twilio/stream\">" tw/webhook.txt &&
	grep -q "<Parameter name=\"token\" value=\"[A-Za-z0-9_-]\{43\}\.[0-9]*\"/>" tw/webhook.txt &&
	grep -q "<Parameter name=\"call_id\" value=\"[0-9a-f-]\{36\}\"/>" tw/webhook.txt &&
	! grep -q "<Start>" tw/webhook.txt &&
	! grep -q "stream?" tw/webhook.txt
'

test_expect_success 'a GET voice webhook works too' '
	evb-call --url $BASE --method GET --webhook-only --out get >out &&
	grep -q "<Connect action=" get/webhook.txt
'

test_expect_success 'call_id and agent from the URL: kept, and call.prepare sent up' '
	evb-call --url $BASE --call-id $CID --agent sarah_sales --webhook-only --out id >out &&
	grep -q "name=\"call_id\" value=\"$CID\"" id/webhook.txt &&
	wait_for "grep -q \"\\\"call_id\\\":\\\"$CID\\\",\\\"got\\\":{\\\"type\\\":\\\"call.prepare\\\"\" loop.jsonl" &&
	grep "\"got\":{\"type\":\"call.prepare\"" loop.jsonl | grep "$CID" |
		grep "\"agent\":\"sarah_sales\"" | grep "\"direction\":\"outbound\"" |
		grep -q "\"format\":\"ulaw/8000\""
'

test_expect_success 'the original app paths answer too (legacy stream path)' '
	evb-call --url $BASE --path /api/hume-twilio/voice-webhook/ --webhook-only --out a1 >out &&
	grep -q "<Stream url=\"ws://127.0.0.1:$PORT/ws/hume-twilio/stream/CA[0-9a-f]*\">" a1/webhook.txt &&
	evb-call --url $BASE --path /api/hume-twilio/voice-webhook-fixed/ --webhook-only --out a2 >out &&
	grep -q "/ws/hume-twilio/stream/CA" a2/webhook.txt
'

test_expect_success 'a bad or missing X-Twilio-Signature gets 403 and an error event' '
	before=$(health bad_signatures) &&
	evb-call --url $BASE --inject bad-signature --expect-http 403 >out &&
	evb-call --url $BASE --inject no-signature --expect-http 403 >out &&
	test $(code -X POST -d CallSid=CA1\&CallStatus=completed $BASE/twilio/status) = 403 &&
	test $(code -X POST -d CallSid=CA1 $BASE/twilio/stream-ended) = 403 &&
	test $(health bad_signatures) -eq $((before + 4)) &&
	wait_for "events | grep -q bad_signature" &&
	events | jq -s -e "map(select(.type==\"error\" and .code==\"bad_signature\" and
		.provider==\"twilio\"))|length>0" >/dev/null &&
	grep -q "refused POST /twilio/voice from .*: missing or bad X-Twilio-Signature" $TMP/ingress.log
'

test_expect_success 'Vonage answer webhook: an NCCO connecting to our websocket' '
	evb-call --provider vonage --url $BASE --webhook-only --out vg >out &&
	jq -e "length==1 and .[0].action==\"connect\"" vg/webhook.txt &&
	jq -e ".[0].endpoint[0].type==\"websocket\"" vg/webhook.txt &&
	jq -e ".[0].endpoint[0][\"content-type\"]==\"audio/l16;rate=16000\"" vg/webhook.txt &&
	jq -e ".[0].endpoint[0].headers.token|test(\"^[A-Za-z0-9_-]{43}[.][0-9]+$\")" vg/webhook.txt &&
	id=$(jq -r ".[0].endpoint[0].headers.call_id" vg/webhook.txt) &&
	jq -e ".[0].endpoint[0].uri==\"ws://127.0.0.1:$PORT/vonage/stream/$id\"" vg/webhook.txt &&
	jq -e ".[0].eventUrl[0]==\"$BASE/vonage/ws-event?call_id=$id\"" vg/webhook.txt &&
	! grep -q "\"action\":\"stream\"" vg/webhook.txt
'

test_expect_success 'the Vonage aliases answer, with the legacy websocket path' '
	evb-call --provider vonage --url $BASE --path /api/hume-twilio/vonage-voice-webhook/ \
		--webhook-only --out v1 >out &&
	jq -e ".[0].endpoint[0].uri|test(\"/ws/vonage-stream/[0-9a-f-]{36}$\")" v1/webhook.txt &&
	evb-call --provider vonage --url $BASE --path /api/hume-twilio/vonage-outgoing-answer/ \
		--method POST --webhook-only --out v2 >out &&
	jq -e ".[0].endpoint[0].uri|test(\"/ws/vonage-stream/\")" v2/webhook.txt
'

test_expect_success 'Vonage signed webhooks: a bad or missing JWT gets 403' '
	evb-call --provider vonage --url $BASE --inject bad-signature --expect-http 403 >out &&
	evb-call --provider vonage --url $BASE --inject no-signature --expect-http 403 >out &&
	test $(code -X POST -H "Content-Type: application/json" -d "{\"status\":\"ringing\"}" \
		$BASE/vonage/event) = 403 &&
	test $(code -X POST -H "Content-Type: application/json" -d "{\"status\":\"ringing\"}" \
		$BASE/api/hume-twilio/vonage-event-callback/) = 403 &&
	grep -q "signed webhook refused: bad JWT signature" $TMP/ingress.log &&
	grep -q "signed webhook refused: no bearer token" $TMP/ingress.log
'

test_expect_success '/healthz: counters as JSON' '
	curl -s -D hdr $BASE/healthz >h.json &&
	grep -qi "^content-type: application/json" hdr &&
	jq -e ".status==\"ok\" and .transcode==true and (.calls|type==\"number\") and
		(.frames_up_dropped|type==\"number\") and (.underruns|type==\"number\") and
		(.interruptions|type==\"number\") and (.bad_inputs|type==\"number\")" h.json
'

test_expect_success 'unknown paths 404, wrong methods 405, a stream path without upgrade 426' '
	test $(code $BASE/nope) = 404 &&
	test $(code -X PUT $BASE/twilio/voice) = 405 &&
	test $(code -X DELETE $BASE/vonage/answer) = 405 &&
	test $(code $BASE/twilio/stream) = 426 &&
	curl -s $BASE/nope | jq -e ".success==false and .error.code==\"not_found\""
'

test_expect_success 'size caps: 414, 431, 413' '
	long=$(printf "%09000d" 0) &&
	test $(code "$BASE/twilio/voice?x=$long") = 414 &&
	test $(code -H "X-A: $long" -H "X-B: $long" $BASE/healthz) = 431 &&
	head -c 70000 /dev/zero | tr "\0" a >big &&
	test $(code -X POST --data-binary @big $BASE/twilio/voice) = 413
'

test_expect_success 'a slow client is cut off (408) while others are served' '
	evb_start slow perl -MIO::Socket::INET -e "
		my \$s = IO::Socket::INET->new(PeerAddr => \"127.0.0.1:$PORT\") or exit 2;
		print \$s \"GET /healthz HTTP/1.1\r\nHost: x\r\n\";
		my \$l = <\$s>; print \$l // \"none\n\";" &&
	test "$(health status)" = ok &&
	test "$(health status)" = ok &&
	evb_wait slow && grep -q "^HTTP/1.1 408" $TMP/slow.out
'

test_expect_success_here 'SIGTERM: each daemon exits 0' '
	stop_ok ingress && stop_ok loop && stop_ok transcode && evb_stop logger
'

test_done
