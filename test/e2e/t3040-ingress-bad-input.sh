#!/bin/sh
# Bad input on the media sockets, while a good call runs beside them:
# malformed JSON, unknown events, base64 garbage, text audio on Vonage
# (logged, counted, the call goes on); oversized messages (1009), binary
# frames on Twilio (1003), a second start and media before start (1008).
# Then the HTTP fuzz corpus is thrown at the daemon over TCP. Nothing
# crashes, and the good call keeps its pacing.
. "$(dirname "$0")/../lib.sh"

RUN=$TMP/run
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export EVB_RUN_DIR=$RUN PUBLIC_BASE_URL=$BASE EVB_LISTEN=127.0.0.1:$PORT PORT
export TWILIO_AUTH_TOKEN=t3040-auth-token EVB_MEDIA_SECRET=t3040-media-secret
mkdir -p "$RUN"

health() { curl -s "$BASE/healthz" | jq -r ".$1"; }
stat() { sed -n "s/^$1=//p" "$2"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }
# survives PROVIDER MODE LOG-TEXT: the call goes on, the input is logged.
survives() {
	evb-call --provider $1 --url $BASE --play tone.wav --inject $2 --hangup-ms 1200 \
		--check-sizes --min-frames 10 >$1-$2.stats &&
	test "$(stat ended $1-$2.stats)" = caller &&
	grep -q "bad input from .*: $3" $TMP/ingress.log
}
# closes PROVIDER MODE CODE LOG-TEXT: the stream is closed with CODE.
closes() {
	evb-call --provider $1 --url $BASE --play tone.wav --inject $2 --expect-close $3 \
		>$1-$2.stats &&
	grep -q "$4" $TMP/ingress.log
}

test_expect_success_here 'daemons start, and a good call begins' '
	sox -n -r 8000 -b 16 -c 1 tone.wav synth 2 sine 440 vol 0.5 &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop --reply-ms 300 &&
	evb_start_ready ingress evb-ingress &&
	evb_start good evb-call --url $BASE --play tone.wav --hangup-ms 9000 --timeout-s 60 \
		--check-sizes --check-pacing --min-frames 300 &&
	wait_for "test \$(health frames_out) -gt 20"
'

test_expect_success 'Twilio: malformed JSON is logged and counted, the call goes on' '
	before=$(health bad_inputs) &&
	survives twilio malformed-json "malformed message: not JSON" &&
	test $(health bad_inputs) -gt $before
'
test_expect_success 'Twilio: an unknown event' '
	survives twilio unknown-event "unknown event: bogus"
'
test_expect_success 'Twilio: base64 garbage in media' '
	survives twilio base64-garbage "media payload is not base64"
'
test_expect_success 'Twilio: an oversized message closes with 1009' '
	closes twilio oversized 1009 "media stream closed: 1009"
'
test_expect_success 'Twilio: a binary frame closes with 1003' '
	closes twilio binary 1003 "a binary frame (Twilio sends JSON text) (closing the stream)"
'
test_expect_success 'Twilio: a second start closes with 1008' '
	closes twilio second-start 1008 "a second .start. (closing the stream)"
'
test_expect_success 'Twilio: media before start closes with 1008' '
	closes twilio media-before-start 1008 ".media. before .start. (closing the stream)"
'
test_expect_success 'Vonage: text audio is logged and counted, the call goes on' '
	survives vonage text-audio "a text frame that is not a JSON event"
'
test_expect_success 'Vonage: malformed JSON and an unknown event' '
	survives vonage malformed-json "a text frame that is not a JSON event" &&
	survives vonage unknown-event "unknown event: websocket:bogus"
'
test_expect_success 'Vonage: an oversized message closes with 1009' '
	closes vonage oversized 1009 "media stream closed: 1009"
'
test_expect_success 'Vonage: a second websocket:connected closes with 1008' '
	closes vonage second-start 1008 "a second websocket:connected (closing the stream)"
'
test_expect_success 'Vonage: audio before websocket:connected closes with 1008' '
	closes vonage media-before-start 1008 "audio before websocket:connected (closing the stream)"
'

test_expect_success 'the HTTP fuzz corpus, over TCP: the daemon stays up' '
	perl -MIO::Socket::INET -e "
		for my \$f (@ARGV) {
			open(my \$fh, \"<:raw\", \$f) or die; local \$/; my \$d = <\$fh>;
			my \$s = IO::Socket::INET->new(PeerAddr => \"127.0.0.1:\$ENV{PORT}\") or die;
			print \$s \$d; shutdown(\$s, 1);
			eval { local \$SIG{ALRM} = sub { die \"timeout\n\" }; alarm 3; 1 while <\$s>; alarm 0 };
			close \$s;
		}" "$TOP"/test/fuzz/corpus/ingress-http/* &&
	evb_alive ingress &&
	test "$(health status)" = ok
'

test_expect_success_here 'the good call beside them kept its pacing' '
	evb_wait good && cat $TMP/good.out &&
	test "$(stat ended $TMP/good.out)" = caller &&
	test "$(stat bursts $TMP/good.out)" -eq 0 &&
	test $(health bad_inputs) -ge 13
'

test_expect_success_here 'SIGTERM: each daemon exits 0' '
	stop_ok ingress && stop_ok loop && stop_ok transcode
'

test_done
