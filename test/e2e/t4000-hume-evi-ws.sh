#!/bin/sh
# evb-transcode + evb-hume against evb-fakehume over ws://: a call with two
# caller turns. Checks the session settings, the audio format and pacing,
# every message type EVI sends in a conversation (chat_metadata,
# user_message final and interim, assistant_message, assistant_prosody,
# audio_output, assistant_end) as events and frames toward the caller.
. "$(dirname "$0")/../lib.sh"

A=aaaaaaaa-0000-4000-8000-0000000040a1
RUN=$TMP/run
HUME_API_KEY=test-key-4000
export EVB_RUN_DIR=$RUN HUME_API_KEY
PORT=$(free_port)

# ctl CALL JSON: one control frame toward evb-hume.
ctl() {
	printf '{"kind":"control","dir":"up","call_id":"%s","json":%s}\n' "$1" "$2" | evb-cat -r
}

test_expect_success 'caller audio: two sentences with pauses' '
	espeak-ng -w s1.wav "Hello, I would like to check my order." &&
	espeak-ng -w s2.wav "Thank you." &&
	sox s1.wav -r 8000 p1.wav pad 0.3 2.2 &&
	sox s2.wav -r 8000 p2.wav pad 0 2.6 &&
	sox p1.wav p2.wav caller.wav &&
	cat >scenario <<-\EOF &&
	# short replies keep the test short
	reply 1 Sure, one moment.
	reply 2 You are welcome.
	transcript 1 I would like to check my order
	EOF
	ctl $A "{\"type\":\"call.prepare\",\"call_id\":\"$A\",\"provider\":\"twilio\",\"format\":\"ulaw/8000\",\"direction\":\"inbound\",\"from\":\"+15550100\",\"to\":\"+15550199\",\"customer\":{\"name\":\"Jo Public\",\"email\":\"jo@example.com\"}}" >prep.evbf &&
	ctl $A "{\"type\":\"call.ended\",\"reason\":\"caller-hangup\"}" >end.evbf &&
	evb-wav to-frames --as ulaw/8000 --call $A caller.wav >audio.evbf &&
	test $(evb-cat --summary <audio.evbf | grep -c "\"len\":160") -ge 350
'

test_expect_success_here 'fakehume, a fake logger, evb-hume and evb-transcode start' '
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$PORT --record rec.jsonl \
		--scenario scenario &&
	mkdir -p $RUN &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 120 $RUN/logger.sock &&
	evb_start_ready hume evb-hume --interim --HUME_EVI_URL=ws://127.0.0.1:$PORT/v0/evi/chat &&
	evb_start_ready transcode evb-transcode
'

test_expect_success 'a paced call through transcode and hume' '
	{ cat prep.evbf && evb-wav to-frames --as ulaw/8000 --paced --call $A caller.wav &&
	  cat end.evbf; } |
		evb-sock --send - --recv down.evbf --linger-ms 300 --timeout-s 40 $RUN/transcode.sock &&
	wait_for "grep -q ev.:.close rec.jsonl" 10
'

test_expect_success 'the chat URL: our API key, no config, nothing else' '
	grep "\"ev\":\"open\"" rec.jsonl >open.jsonl &&
	test $(wc -l <open.jsonl) -eq 1 &&
	jq -e ".auth == \"api_key\" and .tls == false and .resumed == false and
		.query == {\"verbose_transcription\":\"true\",\"api_key\":\"(set)\"}" open.jsonl
'

test_expect_success 'session_settings first: linear16 8 kHz mono, call id, customer' '
	grep "\"ev\":\"recv\"" rec.jsonl | head -n 1 | jq -c .msg >settings.json &&
	jq -e ".type == \"session_settings\" and
		.audio == {\"encoding\":\"linear16\",\"sample_rate\":8000,\"channels\":1} and
		.custom_session_id == \"$A\" and
		.variables.customer_name == \"Jo Public\" and
		.variables.customer_email == \"jo@example.com\" and
		.variables.customer_number == \"+15550100\" and
		.context.type == \"persistent\" and (.context.text | test(\"Jo Public\"))" settings.json &&
	test $(jq -r "keys | join(\",\")" settings.json) = \
		"audio,context,custom_session_id,type,variables"
'

test_expect_success 'fakehume found nothing to complain about' '
	! grep -q "\"ev\":\"recv_bad\"" rec.jsonl &&
	! grep "\"ev\":\"sent\"" rec.jsonl | grep -q "\"type\":\"error\""
'

test_expect_success 'audio_input: one 20 ms L16 frame (320 bytes) per message, in real time' '
	grep "\"type\":\"audio_input\"" rec.jsonl >ai.jsonl &&
	n=$(wc -l <ai.jsonl) &&
	frames=$(evb-cat --summary <audio.evbf | grep -c "\"len\":160") &&
	echo "$n audio_input for $frames frames" &&
	test $n -eq $frames &&
	test $(jq -r .msg.data_bytes ai.jsonl | sort -u) = 320 &&
	first=$(head -n 1 ai.jsonl | jq .t) && last=$(tail -n 1 ai.jsonl | jq .t) &&
	echo "span $((last - first)) ms" &&
	test $((last - first)) -ge $(( (n - 1) * 20 - 400 ))
'

test_expect_success 'two caller turns, each answered' '
	test $(grep -c "\"ev\":\"turn\"" rec.jsonl) -eq 2 &&
	test $(grep "\"ev\":\"sent\"" rec.jsonl | grep -c "\"type\":\"assistant_end\"") -eq 2
'

test_expect_success 'events: chat.metadata names the chat fakehume opened' '
	evb-cat <events.evbf | jq -c .json >events.jsonl &&
	jq -c "select(.type == \"chat.metadata\")" events.jsonl >meta.jsonl &&
	test $(wc -l <meta.jsonl) -eq 1 &&
	chat=$(jq -r .chat_id open.jsonl) && group=$(jq -r .chat_group_id open.jsonl) &&
	jq -e ".chat_id == \"$chat\" and .chat_group_id == \"$group\" and .call_id == \"$A\" and
		.provider == \"twilio\" and (.event_id | length) == 36 and .resumed == false" meta.jsonl
'

test_expect_success 'events: each final user utterance has the 48 scores fakehume sent' '
	jq -c "select(.type == \"utterance\" and .role == \"user\" and .interim == false)" \
		events.jsonl >user.jsonl &&
	test $(wc -l <user.jsonl) -eq 2 &&
	grep "\"ev\":\"turn\"" rec.jsonl >turns.jsonl &&
	for i in 1 2; do
		sed -n "${i}p" user.jsonl >u &&
		sed -n "${i}p" turns.jsonl >t &&
		test $(jq ".emotion_scores | length" u) -eq 48 &&
		jq -e --slurpfile t t ".emotion_scores == \$t[0].scores and
			.begin_ms == \$t[0].begin_ms and .end_ms == \$t[0].end_ms and
			.from_text == false" u || return 1
	done &&
	jq -s -e "map(select(.text == \"I would like to check my order\")) | length == 1" user.jsonl
'

test_expect_success 'the scores follow the documented rule (48 keys in [0,1])' '
	jq -r "[.L, .Z, .D] | @tsv" turns.jsonl >feat &&
	jq -r "[.scores[]] | @tsv" turns.jsonl >got &&
	awk -F "\t" "NR == FNR { L[NR] = \$1; Z[NR] = \$2; D[NR] = \$3; next }
		{ for (i = 1; i <= NF; i++) {
			want = 0.5 + 0.5 * sin(1.3 * (i - 1) + 3.1 * L[FNR] + 2.3 * Z[FNR] + 1.7 * D[FNR]);
			d = \$i - want; if (d < 0) d = -d;
			if (d > 1e-5 || \$i < 0 || \$i > 1) { print \"key\", i, \$i, want; bad = 1 }
		  }
		  if (NF != 48) bad = 1 }
		END { exit bad }" feat got
'

test_expect_success 'events: interim user utterances (verbose_transcription)' '
	test $(jq -c "select(.type == \"utterance\" and .interim == true)" events.jsonl |
		wc -l) -ge 1
'

test_expect_success 'events: one assistant utterance per message, with its prosody' '
	jq -c "select(.type == \"utterance\" and .role == \"assistant\")" events.jsonl >asst.jsonl &&
	test $(wc -l <asst.jsonl) -eq 2 &&
	jq -s -e "map(select(.text == \"Sure, one moment.\" and (.emotion_scores | length) == 48 and
		.interrupted == false)) | length == 1" asst.jsonl &&
	jq -s -e "map(select(.text == \"You are welcome.\")) | length == 1" asst.jsonl &&
	grep "\"type\":\"assistant_prosody\"" rec.jsonl | head -n 1 | jq -c .msg.models.prosody.scores >p1 &&
	head -n 1 asst.jsonl | jq -c .emotion_scores >e1 && cmp p1 e1 &&
	ids=$(jq -r .message_id asst.jsonl | sort -u | wc -l) && test $ids -eq 2
'

test_expect_success 'toward the caller: mu-law 20 ms frames, END on each reply, in order' '
	evb-cat --summary <down.evbf >down.jsonl &&
	test $(jq -c "select(.kind == \"audio\" and .codec == \"ulaw\" and .rate == 8000 and
		.dir == \"down\")" down.jsonl | wc -l) -ge 80 &&
	! grep "\"kind\":\"audio\"" down.jsonl | grep -v -q "\"len\":160" &&
	test $(grep -c "assistant_end" down.jsonl) -eq 2 &&
	grep assistant_end down.jsonl | jq -e ".end == true" >/dev/null &&
	grep "\"kind\":\"audio\"" down.jsonl | jq -r .seq |
		awk "NR > 1 && \$1 != prev + 1 { exit 1 } { prev = \$1 }"
'

test_expect_success 'the audio toward the caller is what fakehume sent, all of it' '
	sent=$(grep "\"type\":\"audio_output\"" rec.jsonl | jq -s "map(.msg.data_bytes - 44) | add") &&
	frames=$(grep -c "\"kind\":\"audio\"" down.jsonl) &&
	echo "$sent bytes at 48 kHz, $frames frames at 8 kHz" &&
	test $((sent / 2 / 960)) -le $frames &&
	test $frames -le $((sent / 2 / 960 + 4))
'

test_expect_success 'caller hangup closed the EVI socket at once' '
	grep "\"ev\":\"close\"" rec.jsonl | jq -e ".code == 1000 and .reason == \"call ended\"" &&
	grep -q "call=$A ended (caller-hangup): closing the EVI chat" hume.log
'

test_expect_success_here 'everything stops cleanly' '
	evb_stop logger &&
	kill -TERM $(evb_pid transcode) && { wait $(evb_pid transcode); test $? -eq 0; } &&
	kill -TERM $(evb_pid hume) && { wait $(evb_pid hume); test $? -eq 0; } &&
	kill -TERM $(evb_pid fakehume) && { wait $(evb_pid fakehume); test $? -eq 0; } &&
	! grep -q "api_key=\|$HUME_API_KEY" hume.log fakehume.log
'

test_done
