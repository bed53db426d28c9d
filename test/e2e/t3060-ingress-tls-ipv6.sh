#!/bin/sh
# evb-ingress terminating TLS itself (EVB_TLS_CERT, EVB_TLS_KEY): https
# webhooks and a wss media stream, signatures over the https URL; and
# evb-ingress listening on IPv6.
. "$(dirname "$0")/../lib.sh"

RUN=$TMP/run
export EVB_RUN_DIR=$RUN TWILIO_AUTH_TOKEN=t3060-auth-token EVB_MEDIA_SECRET=t3060-media-secret
mkdir -p "$RUN"
stat() { sed -n "s/^$1=//p" "$2"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }
# gen_cert DIR: a test CA and a certificate for localhost (evb-fakehume makes
# them with mbedTLS, then serves with them: it is stopped at once).
gen_cert() {
	evb_start_ready "gen-$1" evb-fakehume --gen-cert "$TMP/$1" --listen 127.0.0.1:0 \
		--api-key unused &&
	stop_ok "gen-$1" &&
	test -s "$TMP/$1/ca.pem" && test -s "$TMP/$1/cert.pem" && test -s "$TMP/$1/key.pem"
}

test_expect_success_here 'evb-transcode and evb-loop start' '
	sox -n -r 8000 -b 16 -c 1 tone.wav synth 2 sine 440 vol 0.5 &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop
'

TPORT=$(free_port)
test_expect_success_here 'with a certificate, evb-ingress serves https and wss' '
	gen_cert pki &&
	evb_start_ready tls env EVB_TLS_CERT=$TMP/pki/cert.pem EVB_TLS_KEY=$TMP/pki/key.pem \
		evb-ingress --EVB_LISTEN=127.0.0.1:$TPORT \
		--PUBLIC_BASE_URL=https://localhost:$TPORT &&
	curl -s --cacert pki/ca.pem https://localhost:$TPORT/healthz | jq -e ".status==\"ok\""
'
test_expect_success 'a call over https and wss' '
	evb-call --url https://localhost:$TPORT --ca pki/ca.pem --play tone.wav \
		--check-sizes --min-frames 40 --out tls >tls.stats &&
	grep -q "<Stream url=\"wss://localhost:$TPORT/twilio/stream\">" tls/webhook.txt &&
	grep -q "<Connect action=\"https://localhost:$TPORT/twilio/stream-ended" tls/webhook.txt &&
	test "$(stat ended tls.stats)" = caller
'
test_expect_success 'plain HTTP on the TLS port gets nowhere' '
	test_must_fail curl -s -m 5 http://127.0.0.1:$TPORT/healthz >out 2>&1 &&
	test "$(curl -s --cacert pki/ca.pem https://localhost:$TPORT/healthz | jq -r .status)" = ok
'
test_expect_success_here 'SIGTERM: the TLS ingress exits 0' 'stop_ok tls'
test_expect_success 'a key that does not match its certificate: exit 100, naming the keys' '
	gen_cert pki2 &&
	test_exit_code 100 env EVB_TLS_CERT=$TMP/pki/cert.pem EVB_TLS_KEY=$TMP/pki2/key.pem \
		evb-ingress --EVB_LISTEN=127.0.0.1:0 2>err &&
	grep -q "EVB_TLS_CERT/EVB_TLS_KEY" err
'

VPORT=$(free_port)
test_expect_success_here 'evb-ingress listens on IPv6' '
	evb_start_ready v6 evb-ingress --EVB_LISTEN=[::1]:$VPORT \
		--PUBLIC_BASE_URL=http://[::1]:$VPORT &&
	grep -q "listening on \[::1\]:$VPORT" $TMP/v6.log
'
test_expect_success 'Twilio and Vonage calls over IPv6' '
	evb-call --url "http://[::1]:$VPORT" --play tone.wav --check-sizes --min-frames 40 \
		>v6t.stats &&
	evb-call --provider vonage --url "http://[::1]:$VPORT" --play tone.wav --check-sizes \
		--min-frames 40 >v6v.stats &&
	test "$(stat ended v6t.stats)" = caller && test "$(stat ended v6v.stats)" = caller
'
test_expect_success_here 'SIGTERM: the IPv6 ingress exits 0' 'stop_ok v6'

test_expect_success_here 'SIGTERM: evb-loop and evb-transcode exit 0' '
	stop_ok loop && stop_ok transcode
'

test_done
