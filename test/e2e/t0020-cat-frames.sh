#!/bin/sh
# evb-cat: frames to JSON lines and back, and clear errors for bad input.
. "$(dirname "$0")/../lib.sh"

C=11111111-2222-4333-8444-555555555555

test_expect_success 'a WAV becomes frames that survive a JSON round trip' '
	sox -n -r 8000 -b 16 -c 1 tone.wav synth 0.5 sine 300 &&
	evb-wav to-frames --as ulaw/8000 --call $C tone.wav >a.evbf &&
	evb-cat <a.evbf >a.jsonl &&
	test $(wc -l <a.jsonl) -eq 25 &&
	evb-cat -r <a.jsonl >b.evbf &&
	cmp a.evbf b.evbf
'

test_expect_success 'JSON lines carry the header fields' '
	head -n 1 a.jsonl >first &&
	grep -q "\"kind\":\"audio\"" first &&
	grep -q "\"codec\":\"ulaw\"" first &&
	grep -q "\"rate\":8000" first &&
	grep -q "\"call_id\":\"$C\"" first &&
	grep -q "\"len\":160" first &&
	tail -n 1 a.jsonl | grep -q "\"seq\":24"
'

test_expect_success 'control and event frames show their JSON inline' '
	echo "{\"kind\":\"control\",\"call_id\":\"$C\",\"json\":{\"type\":\"interrupt\"}}" |
		evb-cat -r | evb-cat >c.jsonl &&
	grep -q "\"json\":{\"type\":\"interrupt\"}" c.jsonl
'

test_expect_success 'garbage after good frames: the good ones out, then the offset' '
	cat a.evbf >g.evbf && printf "GARBAGE-GARBAGE-GARBAGE-GARBAGE-GARBAGE-GARBAGE-GARBAGE-" >>g.evbf &&
	test_exit_code 1 evb-cat <g.evbf >g.jsonl 2>err &&
	test $(wc -l <g.jsonl) -eq 25 &&
	grep -q "bad magic 0x47415242 at offset 5400" err
'

test_expect_success 'a truncated stream is reported, with its offset' '
	head -c 5000 a.evbf >t.evbf &&
	test_exit_code 1 evb-cat <t.evbf >t.jsonl 2>err &&
	test $(wc -l <t.jsonl) -eq 23 &&
	grep -q "truncated frame at offset 4968: 32 of 56 header bytes" err
'

test_expect_success 'a bad JSON line is refused with its line number' '
	printf "%s\n" "{\"kind\":\"event\",\"json\":{}}" "{not json" >bad.jsonl &&
	test_exit_code 1 evb-cat -r <bad.jsonl >out 2>err &&
	grep -q "line 2" err
'

test_expect_success 'fields of the wrong type or range are refused' '
	for line in "{\"kind\":\"sound\"}" \
		"{\"kind\":\"audio\",\"codec\":\"l16\",\"rate\":8000,\"payload\":\"AAE\"}" \
		"{\"kind\":\"audio\",\"codec\":\"l16\",\"rate\":-1}" \
		"{\"kind\":\"event\",\"call_id\":\"not-a-uuid\",\"json\":{}}" \
		"{\"kind\":\"audio\",\"codec\":\"l16\",\"rate\":8000,\"payload\":\"AAEC\"}" \
		"{\"kind\":\"event\",\"codec\":\"l16\",\"json\":{}}"
	do
		echo "$line" >one.jsonl &&
		test_exit_code 1 evb-cat -r <one.jsonl >out 2>err &&
		test ! -s out &&
		grep -q "line 1" err || return 1
	done
'

test_done
