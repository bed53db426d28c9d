#!/bin/sh
# evb-load against the whole stack: 5 concurrent Twilio calls for 3 s all
# get through, hear the agent's greeting and its replies, and the generator
# reports its figures; the latency histograms bench-calls reads (evb-hume's
# caller->EVI hop, evb-ingress's first frame and interrupt->clear) fill.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"
. "$TOP/test/lib-stack.sh"

export EVB_RUN_DIR=$TMP/run
export HUME_API_KEY=t1000-key TWILIO_AUTH_TOKEN=t1000-token EVB_API_TOKEN=t1000-api
ING=$(free_port)
API=$(free_port)
FH=$(free_port)

test_expect_success 'usage: --help, and a bad option exits 100' '
	evb-load --help | grep -q "^usage: evb-load" &&
	test_exit_code 100 evb-load --calls 0
'

test_expect_success_here 'PostgreSQL, the EVI stand-in and the stack' '
	pg_start &&
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$FH --no-espeak &&
	stack_env t1000 &&
	evb_start_ready sv evb-supervise --config evb.env
'

test_expect_success 'an agent with a greeting' '
	pg_query "INSERT INTO agents (slug, name, greeting) VALUES (\$\$smoke\$\$, \$\$Smoke\$\$, \$\$Hello there, how can I help?\$\$)"
'

test_expect_success '5 calls for 3 s: all set up, frames both ways, figures reported' '
	sox -n -r 8000 -b 16 -c 1 talk.wav synth 0.8 sine 300 vol 0.5 &&
	evb-load --calls 5 --duration-s 3 --pause-ms 600 --play talk.wav --agent smoke \
		--url http://127.0.0.1:$ING --json load.json >load.out &&
	grep -q "^setup_ok=5$" load.out &&
	grep -q "^failed=0$" load.out &&
	awk -F= "\$1 == \"frames_sent\" { exit !(\$2 >= 5 * 140) }" load.out &&
	awk -F= "\$1 == \"frames_heard\" { exit !(\$2 > 0) }" load.out &&
	grep -q "^gen_late_p99_ms=" load.out &&
	grep -q "^gap_p99_ms=" load.out &&
	jq -e ".calls == 5 and .setup_ok == 5" load.json >/dev/null
'

test_expect_success 'every caller heard the agent first (the greeting, sent while ringing)' '
	jq -e ".first_audio_n == 5 and .first_audio_p99_ms < 2500" load.json >/dev/null
'

test_expect_success 'latency histograms: evb-hume up, evb-ingress first frame' '
	metrics hume >hume.m && metrics ingress >ingress.m &&
	awk "/^evb_hop_latency_seconds_count\\{hop=\"hume\",direction=\"up\"\\}/ { n = \$NF }
		END { exit !(n >= 5 * 100) }" hume.m &&
	awk "/^evb_hop_latency_seconds_count\\{hop=\"ingress\",direction=\"down_first\"\\}/ { n = \$NF }
		END { exit !(n >= 5) }" ingress.m
'

test_expect_success 'interrupt->clear: one observation per clear sent' '
	clears=$(jq .clears load.json) &&
	test "$clears" -gt 0 &&
	awk -v want="$clears" "/^evb_interrupt_latency_seconds_count / { n = \$NF }
		END { exit !(n == want) }" ingress.m
'

test_expect_success_here 'stop everything' '
	evb_stop sv && evb_stop fakehume && pg_stop
'

test_done
