#!/bin/sh
# evb-supervise with the real stack: a simulated call on each provider goes
# end to end (caller audio reaches evb-fakehume, the agent's audio comes
# back, utterances with all 48 scores land in PostgreSQL); kill -9 of each
# child in turn is followed by a restart within 2 s; SIGTERM lets a running
# call finish before everything stops.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

export EVB_RUN_DIR=$TMP/run
export HUME_API_KEY=t7020-key TWILIO_AUTH_TOKEN=t7020-token EVB_API_TOKEN=t7020-api
ING=$(free_port)
API=$(free_port)
FH=$(free_port)

test_expect_success_here 'PostgreSQL and the EVI stand-in' '
	pg_start &&
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$FH --no-espeak \
		--record $TMP/fakehume.jsonl
'

cat >evb.env <<ENV
TWILIO_ACCOUNT_SID=ACt7020000000000000000000000000000
PUBLIC_BASE_URL=http://127.0.0.1:$ING
EVB_LISTEN=127.0.0.1:$ING
EVB_API_LISTEN=127.0.0.1:$API
EVB_RUN_DIR=$EVB_RUN_DIR
HUME_EVI_URL=ws://127.0.0.1:$FH/v0/evi/chat
HUME_CONFIG_ID=t7020-config
DATABASE_URL=$DATABASE_URL
EVB_DRAIN_S=15
ENV

test_expect_success_here 'evb-supervise brings up all five, in order' '
	evb_start_ready sv evb-supervise --config evb.env &&
	grep -q "^evibridge up: evb-logger evb-hume evb-transcode evb-ingress evb-api;" $TMP/sv.out &&
	for p in logger hume transcode ingress api; do
		grep -n "evb-$p is ready" $TMP/sv.log | head -n 1 | cut -d: -f1
	done >order &&
	sort -n order | cmp - order
'

sox -n -r 8000 -b 16 -c 1 talk.wav synth 1.5 sine 300 vol 0.5 pad 0.5 3

test_expect_success 'a Twilio call and a Vonage call go end to end' '
	evb-call --provider twilio --url http://127.0.0.1:$ING --play talk.wav --out tw \
		--timeout-s 30 >tw.stats &&
	evb-call --provider vonage --url http://127.0.0.1:$ING --play talk.wav --out vg \
		--timeout-s 30 >vg.stats &&
	grep -q "^frames=[1-9]" tw.stats && grep -q "^frames=[1-9]" vg.stats &&
	awk -v d="$(soxi -D tw/heard.wav)" "BEGIN { exit !(d > 0.5) }" &&
	grep -q "audio_input" $TMP/fakehume.jsonl
'

test_expect_success 'their utterances are in PostgreSQL with all 48 scores' '
	q="SELECT count(DISTINCT c.provider) FROM utterances u JOIN calls c ON c.id = u.call_id
		WHERE u.role = '"'"'user'"'"' AND (SELECT count(*) FROM jsonb_object_keys(u.emotion_scores)) = 48" &&
	wait_for "test \"\$(pg_query \"$q\")\" = 2" 15
'

test_expect_success '/metrics on evb-api gathers every process' '
	curl -sf -H "Authorization: Bearer $EVB_API_TOKEN" http://127.0.0.1:$API/metrics >m.txt &&
	for f in evb_ingress_calls_active evb_ingress_frames_total evb_ingress_dropped_total \
		evb_ingress_playout_underruns_total evb_ingress_interruptions_total \
		evb_hume_evi_reconnects_total evb_hume_calls_active \
		evb_transcode_frames_out_total evb_logger_spool_bytes \
		evb_hop_latency_seconds_bucket evb_calls; do
		grep -q "^$f[{ ]" m.txt || { echo "no $f in /metrics"; return 1; }
	done &&
	grep -q "^evb_ingress_calls_total{process=\"ingress\"} 2$" m.txt &&
	grep -q "^evb_hume_calls_total{process=\"hume\"} 2$" m.txt &&
	grep -q "^evb_up{process=\"transcode\"} 1$" m.txt
'

test_expect_success 'kill -9 of each child in turn: restarted within 2 s' '
	for p in transcode hume logger ingress api; do
		pid=$(evb-supervise status | awk -v p=evb-$p "\$1 == p { print \$3 }") &&
		test -n "$pid" && kill -KILL "$pid" &&
		wait_for "evb-supervise status | awk -v p=evb-$p -v old=$pid \
			\"\\\$1 == p && \\\$2 == \\\"up\\\" && \\\$3 != old { f = 1 } END { exit !f }\"" 2 ||
		{ echo "evb-$p not back within 2 s"; evb-supervise status; return 1; }
	done
'

test_expect_success 'after the restarts, a call still goes through' '
	evb-call --url http://127.0.0.1:$ING --play talk.wav --out again --timeout-s 30 >again.stats &&
	grep -q "^frames=[1-9]" again.stats
'

test_expect_success_here 'SIGTERM: a running call finishes, then everything stops, exit 0' '
	sox -n -r 8000 -b 16 -c 1 long.wav synth 1.5 sine 300 vol 0.5 pad 0.5 4 &&
	evb_start drain evb-call --url http://127.0.0.1:$ING --play long.wav --out drain \
		--timeout-s 30 &&
	wait_for "curl -sf http://127.0.0.1:$ING/healthz | grep -q \"\\\"streams\\\":1,\"" 10 &&
	kill -TERM $(evb_pid sv) &&
	evb_wait drain &&
	grep -q "^ended=caller" $TMP/drain.out &&
	{ evb_wait sv; test $? -eq 0; } &&
	grep -q "evb-ingress (pid [0-9]*) exited 0" $TMP/sv.log &&
	grep -q "evb-logger (pid [0-9]*) exited 0" $TMP/sv.log
'

test_expect_success_here 'stop the stand-ins' '
	evb_stop fakehume && pg_stop
'

test_done
