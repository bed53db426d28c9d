#!/bin/sh
# make demo, as a user runs it: two simulated calls end to end, shown from
# psql, and nothing left running afterwards.
. "$(dirname "$0")/../lib.sh"

export EVB_DEMO_DIR=$TMP/demo EVB_PG_DIR=$TMP/pg

test_expect_success 'the demo runs to its end' '
	chmod 0755 "$TMP" &&
	(cd "$TOP" && EVB_BUILD="$EVB_BUILD" sh scripts/demo) >demo.out 2>demo.err ||
		{ cat demo.out demo.err; tail -n 40 "$EVB_DEMO_DIR/evibridge.log"; false; }
'

test_expect_success 'the stack came up under evb-supervise' '
	grep -q "^evibridge up: evb-logger evb-hume evb-transcode evb-ingress evb-api;" demo.out
'

test_expect_success 'both calls are in call_summary, completed, each with a barge-in' '
	grep -E "^ twilio +\\| \\+15551230001 .*\\| sarah_sales +\\| completed " demo.out &&
	grep -E "^ vonage +\\| 15551230002 .*\\| sarah_sales +\\| completed " demo.out &&
	test $(grep -cE "^ (twilio|vonage) .*\\| +1 \\| \\{" demo.out) -eq 2
'

test_expect_success 'the transcripts have caller and agent turns with top emotions' '
	grep -q "(10 rows)" demo.out &&
	test $(grep -cE "^ (twilio|vonage) +\\| user +\\| .*\\| \\{[A-Z][a-z]" demo.out) -eq 4 &&
	test $(grep -cE "\\| Hi, this is Sarah\\. How can I help you today\\?" demo.out) -eq 2 &&
	test $(grep -cE "\\| t$" demo.out) -eq 2
'

test_expect_success 'each caller heard the agent: seconds of speech' '
	for p in twilio vonage; do
		f=$EVB_DEMO_DIR/$p/heard.wav &&
		grep -q "$f" demo.out &&
		awk -v d="$(soxi -D "$f")" "BEGIN { exit !(d > 3) }" || return 1
	done
'

test_expect_success 'nothing of the demo is left running' '
	! pgrep -f "$EVB_DEMO_DIR" >/dev/null &&
	! pgrep -f "$EVB_PG_DIR" >/dev/null
'

test_done
