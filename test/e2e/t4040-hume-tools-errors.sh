#!/bin/sh
# Tools and bad input from EVI: an unknown function tool gets a tool_error
# and the chat goes on; the built-in hang_up ends the phone call (a
# 'hangup' control frame) and a chat closed after it is not resumed;
# non-JSON, unknown types, base64 garbage, a truncated WAV, incomplete
# prosody scores, an EVI error and a message over the size cap each give a
# clear error event, and the call carries on. DTMF goes to EVI as
# user_input with --dtmf-input.
. "$(dirname "$0")/../lib.sh"

A=aaaaaaaa-0000-4000-8000-0000000040e1
RUN=$TMP/run
HUME_API_KEY=test-key-4040
export EVB_RUN_DIR=$RUN HUME_API_KEY
PORT=$(free_port)

ctl() {
	printf '{"kind":"control","dir":"up","call_id":"%s","json":%s}\n' "$1" "$2" | evb-cat -r
}

test_expect_success 'caller audio and the scenario' '
	espeak-ng -w s1.wav "What is the weather like in Paris?" &&
	espeak-ng -w s2.wav "Thanks, bye." &&
	sox s1.wav -r 8000 p1.wav pad 0.2 2.0 &&
	sox s2.wav -r 8000 p2.wav pad 1.8 1.0 &&
	wav=$(sox -n -r 48000 -b 16 -c 1 -t wav - synth 0.05 sine 500 | base64 -w 0 | cut -c 1-100) &&
	sox -n -r 48000 -b 16 -c 1 w10.wav synth 0.01 sine 300 &&
	sox -n -r 48000 -b 16 -c 1 w20.wav synth 0.02 sine 300 &&
	cat >scenario <<-EOF &&
	reply 1 -
	at turn 1 send-raw this is not JSON
	at turn 1 send {"type":"brand_new_type","x":1}
	at turn 1 send {"type":"audio_output","id":"b1","index":0,"data":"!!not*base64!!"}
	at turn 1 send {"type":"audio_output","id":"b2","index":0,"data":"$wav"}
	at turn 1 send {"type":"audio_output","id":"b3","index":"0","data":""}
	at turn 1 send {"type":"audio_output","id":"ord","index":1,"data":"$(base64 -w 0 w20.wav)"}
	at turn 1 send {"type":"audio_output","id":"ord","index":0,"data":"$(base64 -w 0 w10.wav)"}
	at turn 1 send {"type":"user_message","message":{"role":"user","content":"partial"},"models":{"prosody":{"scores":{"Joy":0.5}}}}
	at turn 1 error E0300 some_test_error an error EVI reports
	at turn 1 tool get_weather {"city":"Paris"}
	at turn 1 send-big 2100
	reply 2 Goodbye.
	at reply 2 hang_up
	at reply 2 +300 close 1000 bye
	EOF
	ctl $A "{\"type\":\"call.prepare\",\"call_id\":\"$A\",\"provider\":\"twilio\",\"format\":\"ulaw/8000\"}" >prep.evbf &&
	ctl $A "{\"type\":\"dtmf\",\"digit\":\"5\"}" >dtmf.evbf &&
	ctl $A "{\"type\":\"call.ended\",\"reason\":\"agent-hangup\"}" >end.evbf
'

test_expect_success_here 'fakehume, a fake logger and evb-hume start' '
	mkdir -p $RUN &&
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$PORT --record rec.jsonl \
		--scenario scenario &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 120 $RUN/logger.sock &&
	evb_start_ready hume evb-hume --dtmf-input --HUME_EVI_URL=ws://127.0.0.1:$PORT/v0/evi/chat
'

test_expect_success 'the call' '
	{ cat prep.evbf && evb-wav to-frames --as l16/8000 --paced --call $A p1.wav &&
	  cat dtmf.evbf && evb-wav to-frames --as l16/8000 --paced --call $A p2.wav &&
	  cat end.evbf; } |
		evb-sock --send - --recv down.evbf --linger-ms 300 --timeout-s 40 $RUN/hume.sock &&
	wait_for "test \$(grep -c ev.:.close rec.jsonl) -ge 2" 10 &&
	evb-cat <events.evbf | jq -c .json >events.jsonl
'

errors() { jq -c "select(.type == \"error\")" events.jsonl; }

test_expect_success 'unknown function tool: tool_call event, tool_error to EVI' '
	jq -s -e "map(select(.type == \"tool_call\" and .name == \"get_weather\")) | length == 1 and
		.[0].tool_type == \"function\" and .[0].parameters == \"{\\\"city\\\":\\\"Paris\\\"}\"" \
		events.jsonl &&
	id=$(grep "\"ev\":\"sent\"" rec.jsonl | jq -r "select(.msg.type == \"tool_call\" and
		.msg.name == \"get_weather\") | .msg.tool_call_id") &&
	grep "\"ev\":\"recv\"" rec.jsonl | jq -s -e "map(select(.msg.type == \"tool_error\")) |
		length == 1 and (.[0].msg | .tool_call_id == \"$id\" and
		.error == \"unknown tool '"'"'get_weather'"'"'\" and .tool_type == \"function\" and
		(.content | length > 0))" &&
	! grep -q "\"ev\":\"tool_unanswered\"" rec.jsonl
'

test_expect_success 'bad input from EVI: one clear error event each' '
	errors >errors.jsonl &&
	cat errors.jsonl &&
	jq -s -e "map(select(.slug == \"bad_message\" and (.message | test(\"not JSON\")))) | length == 1" errors.jsonl &&
	jq -s -e "map(select(.slug == \"unknown_message_type\" and (.message | test(\"brand_new_type\")))) | length == 1" errors.jsonl &&
	jq -s -e "map(select(.slug == \"bad_audio\" and (.message | test(\"base64\")))) | length == 1" errors.jsonl &&
	jq -s -e "map(select(.slug == \"bad_wav\")) | length == 1" errors.jsonl &&
	jq -s -e "map(select(.slug == \"bad_message\" and (.message | test(\"index\")))) | length == 1" errors.jsonl &&
	jq -s -e "map(select(.slug == \"bad_prosody_scores\")) | length == 1" errors.jsonl &&
	jq -s -e "map(select(.source == \"evi\" and .code == \"E0300\" and .slug == \"some_test_error\" and
		.message == \"an error EVI reports\")) | length == 1" errors.jsonl &&
	jq -s -e "map(select(.slug == \"evi_disconnected\" and (.message | test(\"1009\")))) | length == 1" errors.jsonl &&
	jq -s -e "map(select(.type == \"utterance\" and .text == \"partial\" and .emotion_scores == null)) |
		length == 1" events.jsonl
'

test_expect_success 'after the oversized message the chat was resumed and went on' '
	grep "\"ev\":\"close\"" rec.jsonl | head -n 1 | jq -e ".code == 1009" &&
	grep "\"ev\":\"open\"" rec.jsonl | sed -n 2p | jq -e ".resumed == true" &&
	grep "\"ev\":\"sent\"" rec.jsonl | grep -q "\"content\":\"Goodbye.\""
'

test_expect_success 'hang_up: a hangup control frame toward the caller, no resume after' '
	evb-cat <down.evbf | jq -c "select(.kind == \"control\") | .json" >controls &&
	grep -q "{\"type\":\"hangup\",\"reason\":\"agent-hangup\"}" controls &&
	jq -s -e "map(select(.type == \"tool_call\" and .name == \"hang_up\" and
		.tool_type == \"builtin\")) | length == 1" events.jsonl &&
	test $(grep -c "\"ev\":\"open\"" rec.jsonl) -eq 2 &&
	grep "\"ev\":\"close\"" rec.jsonl | sed -n 2p | jq -e ".code == 1000 and .reason == \"bye\"" &&
	grep -q "call=$A EVI closed the chat after hang_up" hume.log
'

test_expect_success 'the good audio among the garbage reached the caller, in index order' '
	evb-cat --summary <down.evbf | grep "\"codec\":\"wav\"" >wavs &&
	test $(wc -l <wavs) -ge 3 &&
	n10=$(grep -n "\"len\":$(wc -c <w10.wav)}" wavs | cut -d: -f1) &&
	n20=$(grep -n "\"len\":$(wc -c <w20.wav)}" wavs | cut -d: -f1) &&
	echo "index 0 at $n10, index 1 at $n20" &&
	test "$n10" -lt "$n20"
'

test_expect_success 'dtmf went to EVI as user_input (caller turn 2, from text)' '
	grep "\"type\":\"user_input\"" rec.jsonl | jq -e ".msg == {\"type\":\"user_input\",\"text\":\"5\"}" &&
	jq -s -e "map(select(.type == \"utterance\" and .role == \"user\" and .text == \"5\" and
		.from_text == true)) | length == 1" events.jsonl
'

test_expect_success_here 'everything stops cleanly' '
	evb_stop logger &&
	for d in hume fakehume; do
		kill -TERM $(evb_pid $d) && { wait $(evb_pid $d); test $? -eq 0; } || return 1
	done
'

test_done
