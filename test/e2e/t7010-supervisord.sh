#!/bin/sh
# scripts/supervisord.conf: supervisord (Debian package supervisor) starts
# the stack from it and a simulated call goes through, with its utterances
# in PostgreSQL; a program exiting 100 is not restarted.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

export EVB_RUN_DIR=$TMP/run EVB_BIN=$EVB_BUILD EVB_CONFIG=$TMP/evb.env
export HUME_API_KEY=t7010-key TWILIO_AUTH_TOKEN=t7010-token EVB_API_TOKEN=t7010-api
mkdir -p "$EVB_RUN_DIR"
ING=$(free_port)
API=$(free_port)
FH=$(free_port)

test_expect_success_here 'PostgreSQL and the EVI stand-in' '
	pg_start &&
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$FH --no-espeak
'

cat >"$EVB_CONFIG" <<ENV
TWILIO_ACCOUNT_SID=ACt7010000000000000000000000000000
PUBLIC_BASE_URL=http://127.0.0.1:$ING
EVB_LISTEN=127.0.0.1:$ING
EVB_API_LISTEN=127.0.0.1:$API
EVB_RUN_DIR=$EVB_RUN_DIR
HUME_EVI_URL=ws://127.0.0.1:$FH/v0/evi/chat
HUME_CONFIG_ID=t7010-config
DATABASE_URL=$DATABASE_URL
ENV

test_expect_success_here 'supervisord starts every program from the config' '
	evb_start supervisord supervisord -c "$TOP/scripts/supervisord.conf" &&
	wait_for "curl -sf http://127.0.0.1:$ING/healthz" 30 &&
	wait_for "curl -sf http://127.0.0.1:$API/healthz" 30 &&
	wait_for "supervisorctl -c $TOP/scripts/supervisord.conf status | grep -c RUNNING | grep -qx 5" 20
'

test_expect_success 'a simulated Twilio call goes through and lands in PostgreSQL' '
	sox -n -r 8000 -b 16 -c 1 talk.wav synth 1.5 sine 300 vol 0.5 pad 1 3 &&
	evb-call --url http://127.0.0.1:$ING --play talk.wav --out call --timeout-s 30 >stats &&
	grep -q "^frames=[1-9]" stats &&
	wait_for "test \"\$(pg_query \"SELECT count(*) FROM utterances WHERE role = '"'"'user'"'"'\")\" -ge 1" 15 &&
	wait_for "test \"\$(pg_query \"SELECT count(*) FROM calls WHERE status = '"'"'completed'"'"'\")\" -eq 1" 15
'

test_expect_success 'a killed program is restarted by supervisord' '
	pid=$(supervisorctl -c $TOP/scripts/supervisord.conf pid evb-transcode) &&
	kill -KILL $pid &&
	wait_for "test \"\$(supervisorctl -c $TOP/scripts/supervisord.conf pid evb-transcode)\" != $pid &&
		supervisorctl -c $TOP/scripts/supervisord.conf status evb-transcode | grep -q RUNNING" 10
'

test_expect_success_here 'supervisord stops them all on SIGTERM' '
	kill -TERM $(evb_pid supervisord) &&
	evb_wait supervisord &&
	! pgrep -f "evb-.*--config $EVB_CONFIG" >/dev/null &&
	evb_stop fakehume &&
	pg_stop
'

test_done
