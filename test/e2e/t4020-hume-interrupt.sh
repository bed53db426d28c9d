#!/bin/sh
# Barge-in: the caller speaks while the agent's reply plays; evb-fakehume
# stops its output and sends user_interruption; evb-hume sends an
# 'interrupt' control frame down the chain (through evb-transcode to the
# caller side) and an interruption event, then the next turn goes on.
. "$(dirname "$0")/../lib.sh"

A=aaaaaaaa-0000-4000-8000-0000000040c1
RUN=$TMP/run
HUME_API_KEY=test-key-4020
export EVB_RUN_DIR=$RUN HUME_API_KEY
PORT=$(free_port)

ctl() {
	printf '{"kind":"control","dir":"up","call_id":"%s","json":%s}\n' "$1" "$2" | evb-cat -r
}

test_expect_success 'caller audio: a question, then speech over the long answer' '
	espeak-ng -w s1.wav "Tell me about your products." &&
	espeak-ng -w s2.wav "Stop, stop, that is enough." &&
	sox s1.wav -r 8000 p1.wav pad 0.2 5 trim 0 3.6 &&
	sox s2.wav -r 8000 p2.wav pad 0 2.8 &&
	sox p1.wav p2.wav caller.wav &&
	cat >scenario <<-\EOF &&
	reply 1 We have many wonderful products, and every one of them is better than the one before it, so let me tell you about each of them in turn.
	reply 2 All right, I will stop.
	EOF
	ctl $A "{\"type\":\"call.prepare\",\"call_id\":\"$A\",\"provider\":\"vonage\",\"format\":\"l16/16000\"}" >prep.evbf &&
	ctl $A "{\"type\":\"call.ended\",\"reason\":\"caller-hangup\"}" >end.evbf
'

test_expect_success_here 'fakehume, a fake logger, evb-hume and evb-transcode start' '
	mkdir -p $RUN &&
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$PORT --record rec.jsonl \
		--scenario scenario &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 120 $RUN/logger.sock &&
	evb_start_ready hume evb-hume --HUME_EVI_URL=ws://127.0.0.1:$PORT/v0/evi/chat &&
	evb_start_ready transcode evb-transcode
'

test_expect_success 'a Vonage-style call (L16 16 kHz) with a barge-in' '
	{ cat prep.evbf && evb-wav to-frames --as l16/16000 --paced --call $A caller.wav &&
	  cat end.evbf; } |
		evb-sock --send - --recv down.evbf --linger-ms 300 --timeout-s 40 $RUN/transcode.sock &&
	wait_for "grep -q ev.:.close rec.jsonl" 10
'

test_expect_success 'session settings declare 16 kHz (the caller rate)' '
	grep "\"ev\":\"recv\"" rec.jsonl | head -n 1 |
		jq -e ".msg.audio.sample_rate == 16000" &&
	grep "\"type\":\"audio_input\"" rec.jsonl | jq -r .msg.data_bytes | sort -u >sizes &&
	test "$(cat sizes)" = 640
'

test_expect_success 'fakehume heard speech during playback: output stopped, interruption sent' '
	grep "\"ev\":\"sent\"" rec.jsonl | jq -r .msg.type >types &&
	test $(grep -c user_interruption types) -eq 1 &&
	sed -n "/user_interruption/,\$p" types >after &&
	! sed -n "1,/user_interruption/p" types | grep -q assistant_end &&
	grep -q assistant_end after &&
	grep "\"ev\":\"turn\"" rec.jsonl | sed -n 2p | jq -e ".interrupted == true"
'

test_expect_success 'the caller side got an interrupt control frame, then the next reply' '
	evb-cat --summary <down.evbf >down.jsonl &&
	grep -n "\"type\":\"interrupt\"" down.jsonl >int &&
	test $(wc -l <int) -eq 1 &&
	n=$(cut -d: -f1 int) &&
	before=$(head -n $n down.jsonl | grep -c "\"kind\":\"audio\"") &&
	after=$(tail -n +$n down.jsonl | grep -c "\"kind\":\"audio\"") &&
	echo "$before frames before the interrupt, $after after" &&
	test $before -ge 10 && test $after -ge 10 &&
	tail -n +$n down.jsonl | grep assistant_end | jq -e ".end == true" &&
	head -n $n down.jsonl | grep "\"kind\":\"audio\"" | jq -e ".codec == \"l16\" and .rate == 16000 and .len == 640" >/dev/null
'

test_expect_success 'not all of the first reply reached the caller' '
	first=$(grep "\"type\":\"assistant_prosody\"" rec.jsonl | head -n 1 | jq -r .msg.id) &&
	chunks=$(grep "\"type\":\"audio_output\"" rec.jsonl | grep -c "\"id\":\"$first\"") &&
	reply_ms=$(espeak-ng --stdout -s 175 "$(sed -n "s/^reply 1 //p" scenario)" | sox -t wav - -n stat 2>&1 |
		sed -n "s/^Length (seconds): *//p" | awk "{ printf \"%d\", \$1 * 1000 }") &&
	echo "$chunks chunks of 200 ms sent for a $reply_ms ms reply" &&
	test $((chunks * 200)) -lt $((reply_ms - 400))
'

test_expect_success 'events: one interruption from EVI' '
	evb-cat <events.evbf | jq -c .json >events.jsonl &&
	jq -s -e "map(select(.type == \"interruption\")) | length == 1 and
		.[0].source == \"evi\" and .[0].provider == \"vonage\" and (.[0].time > 0)" \
		events.jsonl &&
	grep -q "call=$A caller interrupted the agent" hume.log
'

test_expect_success 'events: the interrupted reply is marked so, the next is not' '
	jq -c "select(.type == \"utterance\" and .role == \"assistant\")" events.jsonl >asst.jsonl &&
	test $(wc -l <asst.jsonl) -eq 2 &&
	head -n 1 asst.jsonl | jq -e ".interrupted == true and (.text | test(\"wonderful\")) and
		(.emotion_scores | length) == 48" &&
	tail -n 1 asst.jsonl | jq -e ".interrupted == false and .text == \"All right, I will stop.\""
'

test_expect_success_here 'everything stops cleanly' '
	evb_stop logger &&
	for d in transcode hume fakehume; do
		kill -TERM $(evb_pid $d) && { wait $(evb_pid $d); test $? -eq 0; } || return 1
	done
'

test_done
