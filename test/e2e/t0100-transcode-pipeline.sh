#!/bin/sh
# evb-wav to-frames | evb-transcode --stdio | evb-wav to-wav, checked against
# the input: length, level and pitch survive both directions, frames are exact
# 20 ms, calls stay apart, interrupts drop pending agent audio.
. "$(dirname "$0")/../lib.sh"

A=aaaaaaaa-0000-4000-8000-000000000001
B=bbbbbbbb-0000-4000-8000-000000000002

# stat FILE FIELD: a number from sox's stat ("RMS amplitude", "Rough frequency").
stat() { sox "$1" -n stat 2>&1 | sed -n "s/^$2: *//p" | sed 's/^ *//'; }
# near GOT WANT TOLERANCE: |got - want| <= tolerance
near() {
	awk -v g="$1" -v w="$2" -v t="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= t) }' ||
		{ echo "got $1, want $2 +- $3" >&2; return 1; }
}
# same_level A B: RMS within 0.5 dB
same_level() {
	awk -v a="$(stat "$1" 'RMS     amplitude')" -v b="$(stat "$2" 'RMS     amplitude')" \
		'BEGIN { d = 20 * log(a / b) / log(10); if (d < 0) d = -d; exit !(d <= 0.5) }' ||
		{ echo "levels differ by more than 0.5 dB: $1 vs $2" >&2; return 1; }
}
frames() { evb-cat --summary <"$1" | grep "\"dir\":\"$2\""; }

test_expect_success 'test audio: a caller tone at 16 kHz, agent tones at 48 kHz' '
	sox -n -r 16000 -b 16 -c 1 caller.wav synth 2 sine 440 vol 0.5 &&
	sox -n -r 48000 -b 16 -c 1 agent.wav synth 1.01 sine 1000 vol 0.5 &&
	sox -n -r 8000 -b 16 -c 1 caller2.wav synth 2 sine 620 vol 0.3
'

test_expect_success 'caller audio: mu-law 8 kHz in, L16 8 kHz (its own rate) out' '
	evb-wav to-frames --as ulaw/8000 --call $A caller.wav >up.evbf &&
	evb-transcode --stdio <up.evbf >out.evbf &&
	frames out.evbf up >f.jsonl &&
	test $(wc -l <f.jsonl) -eq 100 &&
	test $(grep -c "\"codec\":\"l16\",\"rate\":8000" f.jsonl) -eq 100 &&
	test $(grep -c "\"len\":320" f.jsonl) -eq 100 &&
	tail -n 1 f.jsonl | grep -q "\"seq\":99,.*\"media_ts_us\":1980000"
'

test_expect_success 'caller audio keeps its length, level and pitch' '
	evb-wav to-wav <out.evbf >paths &&
	grep -q "$A-up.wav" paths &&
	near "$(soxi -D $A-up.wav)" 2.0 0.001 &&
	same_level $A-up.wav caller.wav &&
	near "$(stat $A-up.wav "Rough   frequency")" 440 9
'

test_expect_success 'capture times are carried from input to output frames' '
	evb-cat --summary <up.evbf | sed -n "s/.*capture_ns\":\([0-9]*\).*/\1/p" >in.cap &&
	frames out.evbf up | sed -n "s/.*capture_ns\":\([0-9]*\).*/\1/p" >out.cap &&
	cmp in.cap out.cap
'

test_expect_success '--hume-rate 16000 makes L16 16 kHz frames of 640 bytes' '
	evb-transcode --stdio --hume-rate 16000 <up.evbf >out16.evbf &&
	test $(frames out16.evbf up | grep -c "\"rate\":16000,.*\"len\":640") -eq 100 &&
	rm -f $A-up.wav && evb-wav to-wav <out16.evbf >/dev/null &&
	near "$(soxi -D $A-up.wav)" 2.0 0.001 &&
	same_level $A-up.wav caller.wav &&
	near "$(stat $A-up.wav "Rough   frequency")" 440 9
'

test_expect_success 'agent WAV chunks become exact 20 ms mu-law frames, the last one flagged' '
	evb-wav to-frames --as wav --dir down --chunk-ms 250 --call $A agent.wav >down.evbf &&
	test $(evb-cat --summary <down.evbf | wc -l) -eq 5 &&
	cat up.evbf down.evbf | evb-transcode --stdio >both.evbf &&
	frames both.evbf down >d.jsonl &&
	test $(wc -l <d.jsonl) -eq 51 &&
	test $(grep -c "\"codec\":\"ulaw\",\"rate\":8000,.*\"len\":160" d.jsonl) -eq 51 &&
	test $(grep -c "\"end\":true" d.jsonl) -eq 1 &&
	tail -n 1 d.jsonl | grep -q "\"end\":true"
'

test_expect_success 'agent audio keeps its level and pitch (48 kHz to 8 kHz)' '
	rm -f $A-*.wav && evb-wav to-wav <both.evbf >/dev/null &&
	near "$(soxi -D $A-down.wav)" 1.02 0.001 &&
	sox agent.wav -r 8000 agent8k.wav &&
	same_level $A-down.wav agent8k.wav &&
	near "$(stat $A-down.wav "Rough   frequency")" "$(stat agent8k.wav "Rough   frequency")" 20
'

test_expect_success 'agent audio before any caller audio waits for the caller format' '
	cat down.evbf up.evbf | evb-transcode --stdio >late.evbf &&
	test $(frames late.evbf down | grep -c "\"len\":160") -eq 51
'

test_expect_success 'call.prepare announces the caller format (Vonage L16 16 kHz)' '
	echo "{\"kind\":\"control\",\"dir\":\"up\",\"call_id\":\"$A\",\"json\":{\"type\":\"call.prepare\",\"format\":\"l16/16000\"}}" |
		evb-cat -r >prep.evbf &&
	cat prep.evbf down.evbf | evb-transcode --stdio >prep-out.evbf &&
	test $(frames prep-out.evbf down | grep -c "\"codec\":\"l16\",\"rate\":16000,.*\"len\":640") -eq 51 &&
	evb-cat <prep-out.evbf | grep -q "\"type\":\"call.prepare\""
'

test_expect_success 'two interleaved calls come out apart, each with its own audio' '
	evb-wav to-frames --as ulaw/8000 --call $B caller2.wav >up2.evbf &&
	evb-cat <up.evbf >a.jsonl && evb-cat <up2.evbf >b.jsonl &&
	paste -d "\n" a.jsonl b.jsonl | evb-cat -r >mixed.evbf &&
	evb-transcode --stdio <mixed.evbf >mixed-out.evbf &&
	rm -f $A-*.wav $B-*.wav && evb-wav to-wav <mixed-out.evbf >/dev/null &&
	near "$(stat $A-up.wav "Rough   frequency")" 440 9 &&
	near "$(stat $B-up.wav "Rough   frequency")" 620 12 &&
	near "$(soxi -D $B-up.wav)" 2.0 0.001
'

test_expect_success 'an utterance ending on a frame boundary still flags its last frame' '
	sox -n -r 48000 -b 16 -c 1 exact.wav synth 1.0 sine 700 vol 0.5 &&
	evb-wav to-frames --as wav --dir down --chunk-ms 200 --call $A exact.wav >exact.evbf &&
	cat up.evbf exact.evbf | evb-transcode --stdio >exact-out.evbf &&
	frames exact-out.evbf down >e.jsonl &&
	test $(wc -l <e.jsonl) -eq 50 &&
	test $(grep -c "\"end\":true" e.jsonl) -eq 1 &&
	tail -n 1 e.jsonl | grep -q "\"end\":true"
'

# Of a 250 ms chunk, 12 frames are whole; the 12th is held back until the
# next frame or the utterance end, the 13th unfinished: the interrupt drops
# both, so 11 reach the caller side, then the interrupt itself.
test_expect_success 'an interrupt drops the pending agent frames and passes on' '
	evb-cat <down.evbf | head -n 1 >chunk1.jsonl &&
	grep -q "\"end\":false" chunk1.jsonl &&
	echo "{\"kind\":\"control\",\"dir\":\"down\",\"call_id\":\"$A\",\"json\":{\"type\":\"interrupt\"}}" >int.jsonl &&
	{ evb-cat <up.evbf | head -n 1; cat chunk1.jsonl int.jsonl; } | evb-cat -r >int.evbf &&
	evb-transcode --stdio <int.evbf >int-out.evbf &&
	evb-cat --summary <int-out.evbf >io.jsonl &&
	test $(grep -c "\"dir\":\"down\",.*\"len\":160" io.jsonl) -eq 11 &&
	tail -n 1 io.jsonl | grep -q "\"type\":\"interrupt\""
'

test_expect_success 'a truncated agent WAV is refused; the call carries on' '
	evb-cat <down.evbf >d.all &&
	sed -n 2p d.all | sed "s/\"payload\":\"\([A-Za-z0-9+\/]\{400\}\)[^\"]*\"/\"payload\":\"\1\"/" >bad.jsonl &&
	{ evb-cat <up.evbf | head -n 1; sed -n 1p d.all; cat bad.jsonl; sed -n "3,5p" d.all; } |
		evb-cat -r >trunc.evbf &&
	evb-transcode --stdio <trunc.evbf >trunc-out.evbf 2>err &&
	grep -q "truncated WAV" err &&
	test $(frames trunc-out.evbf down | wc -l) -eq 38
'

test_expect_success 'garbage in the stream: exit 1 with the offset, frames before it kept' '
	cat up.evbf >g.evbf && printf "NOT-A-FRAME-AT-ALL-NOT-A-FRAME-AT-ALL-NOT-A-FRAME-AT-ALL-" >>g.evbf &&
	test_exit_code 1 evb-transcode --stdio <g.evbf >g-out.evbf 2>err &&
	grep -q "bad magic 0x544f4e at offset 21600\|bad magic 0x4e4f542d at offset 21600" err &&
	test $(frames g-out.evbf up | wc -l) -eq 100
'

test_expect_success 'a bad --to exits 100' '
	test_exit_code 100 evb-transcode --stdio --to wav/8000 </dev/null 2>err &&
	grep -q -- "--to" err
'

test_done
