#!/bin/sh
# evb-api start-up: every configuration mistake exits 100 naming the key;
# a busy port exits 111; without EVB_API_TOKEN it serves a loopback address
# only, with no authentication; with the database unreachable it starts,
# answers 503 on database routes and says so on /healthz. No PostgreSQL.
. "$(dirname "$0")/../lib.sh"

API_PORT=$(free_port)
URL=http://127.0.0.1:$API_PORT
EVB_RUN_DIR=$TMP/run
DATABASE_URL="postgresql:///evibridge?host=$TMP/nopg"
export EVB_RUN_DIR DATABASE_URL
unset EVB_API_TOKEN TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN VONAGE_APPLICATION_ID \
	VONAGE_PRIVATE_KEY_PATH EVB_CA_FILE

stop_ok() { pid=$(evb_pid "$1") && kill -TERM "$pid" && wait "$pid"; }

test_expect_success 'evb-fakeprovider --make-keys writes the CA, the cert and the RSA pair' '
	evb-fakeprovider --make-keys keys &&
	for f in ca.pem cert.pem key.pem vonage.key vonage.pub; do test -s keys/$f || return 1; done &&
	grep -q "BEGIN PUBLIC KEY" keys/vonage.pub
'

test_expect_success 'DATABASE_URL is required' '
	test_exit_code 100 env -u DATABASE_URL evb-api 2>err && grep -q DATABASE_URL err
'

test_expect_success 'EVB_API_TOKEN is required off loopback' '
	test_exit_code 100 evb-api --EVB_API_LISTEN=0.0.0.0:$API_PORT 2>err &&
	grep -q "EVB_API_TOKEN: required when EVB_API_LISTEN" err
'

test_expect_success 'secrets are refused on the command line' '
	test_exit_code 100 evb-api --EVB_API_TOKEN=abc 2>err && grep -q EVB_API_TOKEN err &&
	! grep -q abc err
'

test_expect_success 'Twilio needs both credentials' '
	test_exit_code 100 env TWILIO_ACCOUNT_SID=AC1 evb-api 2>err &&
	grep -q "TWILIO_AUTH_TOKEN: required with TWILIO_ACCOUNT_SID" err &&
	test_exit_code 100 env TWILIO_AUTH_TOKEN=t evb-api 2>err &&
	grep -q "TWILIO_ACCOUNT_SID: required" err &&
	test_exit_code 100 env TWILIO_ACCOUNT_SID=AC1 TWILIO_AUTH_TOKEN=t \
		TWILIO_PHONE_NUMBER=12 evb-api 2>err && grep -q TWILIO_PHONE_NUMBER err
'

test_expect_success 'Vonage: the private key is read at start' '
	test_exit_code 100 env VONAGE_APPLICATION_ID=app evb-api 2>err &&
	grep -q "VONAGE_PRIVATE_KEY_PATH: required" err &&
	test_exit_code 100 env VONAGE_APPLICATION_ID=app VONAGE_PRIVATE_KEY_PATH=$TMP/none.key \
		evb-api 2>err &&
	grep -q "VONAGE_PRIVATE_KEY_PATH: unable to load .*No such file" err &&
	test_exit_code 100 env VONAGE_APPLICATION_ID=app VONAGE_PRIVATE_KEY_PATH=keys/key.pem \
		evb-api 2>err &&
	grep -q "VONAGE_PRIVATE_KEY_PATH: unable to load .*not an RSA private key" err &&
	test_exit_code 100 env VONAGE_APPLICATION_ID=app VONAGE_PRIVATE_KEY_PATH=keys/vonage.pub \
		evb-api 2>err && grep -q VONAGE_PRIVATE_KEY_PATH err
'

test_expect_success 'an unreadable EVB_CA_FILE exits 100 naming it' '
	test_exit_code 100 env EVB_CA_FILE=$TMP/none.pem evb-api \
		--EVB_API_LISTEN=127.0.0.1:$API_PORT 2>err && grep -q EVB_CA_FILE err
'

test_expect_success 'bad option values exit 100' '
	test_exit_code 100 evb-api --rate=0 2>err && grep -q -- --rate err &&
	test_exit_code 100 evb-api --provider-timeout-ms=x 2>err &&
	test_exit_code 100 evb-api --db-conns=99 2>err &&
	test_exit_code 100 evb-api extra 2>err && grep -q "^usage:" err
'

test_expect_success_here 'without a token on loopback, and no database: it starts' '
	evb_start_ready api evb-api --EVB_API_LISTEN=127.0.0.1:$API_PORT &&
	grep -q "without authentication" "$TMP/api.log"
'

test_expect_success 'a second one on the same port exits 111' '
	test_exit_code 111 evb-api --EVB_API_LISTEN=127.0.0.1:$API_PORT --EVB_RUN_DIR=$TMP/run2 2>err &&
	grep -q "unable to listen" err
'

test_expect_success 'no authentication needed; database routes answer 503 as JSON' '
	code=$(curl -sS -o out -w "%{http_code}" $URL/v1/agents) && test "$code" = 503 &&
	jq -e ".success == false and .error.code == \"database_unavailable\"" out &&
	code=$(curl -sS -o out -w "%{http_code}" $URL/v1/calls) && test "$code" = 503
'

test_expect_success 'a call for a provider not configured is 400 before anything else' '
	code=$(curl -sS -o out -w "%{http_code}" -H "Content-Type: application/json" \
		-d "{\"to\":\"+14155550100\"}" $URL/v1/calls) && test "$code" = 400 &&
	jq -e ".error.code == \"provider_not_configured\" and .error.field == \"provider\"" out
'

test_expect_success '/healthz: 503 with the database unreachable' '
	code=$(curl -sS -o out -w "%{http_code}" $URL/healthz) && test "$code" = 503 &&
	jq -e ".status == \"unavailable\" and .database.ok == false and .processes.api == true" out
'

test_expect_success 'evb-api serves its own metrics socket' '
	test -S run/api.metrics &&
	perl -MIO::Socket::UNIX -e "print IO::Socket::UNIX->new(Peer => shift)->getlines" \
		run/api.metrics >m &&
	grep -q "^# TYPE evb_api_db_up gauge" m && grep -q "^evb_api_db_up 0$" m
'

test_expect_success_here 'SIGTERM: exit 0, and the metrics socket is gone' '
	stop_ok api && test ! -e run/api.metrics
'

test_done
