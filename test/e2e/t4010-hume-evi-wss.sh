#!/bin/sh
# evb-hume against evb-fakehume over wss:// with a test CA (EVB_CA_FILE):
# access tokens from the OAuth endpoint (HUME_SECRET_KEY), refreshed before
# they expire; a server signed by another CA, or whose certificate does not
# name the host, is refused.
. "$(dirname "$0")/../lib.sh"

A=aaaaaaaa-0000-4000-8000-0000000040b1
B=aaaaaaaa-0000-4000-8000-0000000040b2
C=aaaaaaaa-0000-4000-8000-0000000040b3
RUN=$TMP/run
HUME_API_KEY=test-key-4010
HUME_SECRET_KEY=test-secret-4010
export EVB_RUN_DIR=$RUN HUME_API_KEY HUME_SECRET_KEY
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)

ctl() {
	printf '{"kind":"control","dir":"up","call_id":"%s","json":%s}\n' "$1" "$2" | evb-cat -r
}

# call ID: a short call straight into evb-hume (L16 8 kHz, as evb-transcode
# sends it): call.prepare, 1.6 s of speech and silence, call.ended.
call() {
	{
		ctl $1 "{\"type\":\"call.prepare\",\"call_id\":\"$1\",\"provider\":\"twilio\",\"format\":\"ulaw/8000\"}" &&
		evb-wav to-frames --as l16/8000 --paced --call $1 caller.wav &&
		ctl $1 "{\"type\":\"call.ended\",\"reason\":\"caller-hangup\"}"
	} | evb-sock --send - --recv "down-$1.evbf" --linger-ms 200 --timeout-s 20 "$2/hume.sock"
}

test_expect_success 'caller audio' '
	espeak-ng -w s.wav "Hello there." &&
	sox s.wav -r 8000 caller.wav pad 0.1 0.8 &&
	printf "reply * OK.\n" >scenario
'

test_expect_success_here 'fakehume serves wss with a generated certificate' '
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$P1 --gen-cert certs \
		--token-ttl-s 2 --record rec.jsonl --scenario scenario &&
	test -s certs/ca.pem && test -s certs/cert.pem && test -s certs/key.pem &&
	grep -q "listening on wss://127.0.0.1:$P1" fakehume.log
'

test_expect_success_here 'evb-hume fetches an access token before it is ready' '
	evb_start_ready hume evb-hume --EVB_CA_FILE=$TMP/certs/ca.pem \
		--HUME_EVI_URL=wss://localhost:$P1/v0/evi/chat \
		--HUME_API_BASE=https://localhost:$P1 &&
	grep "\"ev\":\"token\"" rec.jsonl | head -n 1 | jq -e ".status == 200"
'

test_expect_success 'a call over wss authenticates with the token' '
	call $A $RUN &&
	wait_for "grep -q ev.:.close rec.jsonl" 10 &&
	grep "\"ev\":\"open\"" rec.jsonl >open.jsonl &&
	jq -e ".tls == true and .auth == \"access_token\" and
		.query == {\"access_token\":\"(set)\"}" open.jsonl &&
	grep "\"ev\":\"sent\"" rec.jsonl | grep -q "\"type\":\"assistant_end\"" &&
	test $(evb-cat --summary <down-$A.evbf | grep -c "\"codec\":\"wav\"") -ge 1
'

test_expect_success 'the token is refreshed before it expires (TTL 2 s)' '
	wait_for "test \$(grep -c ev.:.token rec.jsonl) -ge 3" 10 &&
	! grep "\"ev\":\"token\"" rec.jsonl | grep -v -q "\"status\":200"
'

test_expect_success 'a call after the first token expired still gets in' '
	call $B $RUN &&
	wait_for "test \$(grep -c ev.:.close rec.jsonl) -ge 2" 10 &&
	test $(grep "\"ev\":\"open\"" rec.jsonl | grep -c "\"auth\":\"access_token\"") -eq 2 &&
	! grep -q "\"ev\":\"reject\"" rec.jsonl
'

test_expect_success 'no key, secret or token in the logs' '
	tok=$(curl -s --cacert certs/ca.pem -u "$HUME_API_KEY:$HUME_SECRET_KEY" \
		-d grant_type=client_credentials https://localhost:$P1/oauth2-cc/token |
		jq -r .access_token) &&
	test ${#tok} -eq 64 &&
	! grep -q "$HUME_API_KEY\|$HUME_SECRET_KEY\|access_token=\|api_key=" hume.log fakehume.log
'

test_expect_success_here 'a server signed by another CA is refused' '
	evb_start_ready fh2 evb-fakehume --listen 127.0.0.1:$P2 --gen-cert certs2 \
		--record rec2.jsonl &&
	evb_start_ready hume2 evb-hume --EVB_RUN_DIR=$TMP/run2 --EVB_CA_FILE=$TMP/certs/ca.pem \
		--HUME_EVI_URL=wss://localhost:$P2/v0/evi/chat \
		--HUME_API_BASE=https://localhost:$P2 &&
	ctl $C "{\"type\":\"call.prepare\",\"format\":\"ulaw/8000\"}" >prep.evbf &&
	evb-sock --send prep.evbf --linger-ms 100 $TMP/run2/hume.sock &&
	wait_for "grep -q \"call=$C .*unable to open the EVI chat: certificate verify failed: the certificate is not correctly signed\" hume2.log" 10 &&
	grep -q "unable to get a Hume access token: .*certificate verify failed" hume2.log &&
	! grep -q "ev.:.open\|ev.:.token" rec2.jsonl
'

test_expect_success_here 'a certificate that does not name the host is refused' '
	evb_start_ready fh3 evb-fakehume --listen 127.0.0.1:$P3 --gen-cert certs3 \
		--cert-names localhost --record rec3.jsonl &&
	evb_start_ready hume3 env -u HUME_SECRET_KEY evb-hume --EVB_RUN_DIR=$TMP/run3 \
		--EVB_CA_FILE=$TMP/certs3/ca.pem \
		--HUME_EVI_URL=wss://127.0.0.1:$P3/v0/evi/chat &&
	evb-sock --send prep.evbf --linger-ms 100 $TMP/run3/hume.sock &&
	wait_for "grep -q \"call=$C .*certificate Common Name (CN) does not match\" hume3.log" 10 &&
	! grep -q "ev.:.open" rec3.jsonl &&
	grep -q "(API key)" hume3.log
'

test_expect_success_here 'the same server is fine by its name (config file)' '
	printf "HUME_EVI_URL=wss://localhost:$P3/v0/evi/chat\n" >three.env &&
	evb_start_ready hume4 env -u HUME_SECRET_KEY evb-hume --config three.env \
		--EVB_RUN_DIR=$TMP/run4 --EVB_CA_FILE=$TMP/certs3/ca.pem &&
	call $A $TMP/run4 &&
	wait_for "grep -q ev.:.close rec3.jsonl" 10 &&
	grep "\"ev\":\"open\"" rec3.jsonl | jq -e ".tls == true and .auth == \"api_key\""
'

test_expect_success_here 'everything stops cleanly' '
	for d in hume hume2 hume3 hume4 fakehume fh2 fh3; do
		kill -TERM $(evb_pid $d) && { wait $(evb_pid $d); test $? -eq 0; } || return 1
	done
'

test_done
