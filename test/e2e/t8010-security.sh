#!/bin/sh
# Issue 8, security checks not made elsewhere (t3000/t3040: bad and missing
# signatures and media tokens; t6020: API tokens; t4010: TLS checks): a
# replayed X-Twilio-Signature or Vonage JWT (a valid one over another body
# or URL) gets 403; with distinctive secrets, a full stack and a call on
# each provider, no secret appears in any log, record or output of the run.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"
. "$TOP/test/lib-stack.sh"

export EVB_RUN_DIR=$TMP/run
# Distinctive values, so that a grep can find any copy of them.
export HUME_API_KEY=s8010hk-QWxpY2UgYW5kIEJvYg
export HUME_SECRET_KEY=s8010hs-ZXZpYnJpZGdlIHNlY3JldA
export TWILIO_AUTH_TOKEN=s8010tw-c2lnbmF0dXJlIGtleQ
export VONAGE_SIGNATURE_SECRET=s8010vg-and0IHNpZ25pbmcga2V5
export EVB_API_TOKEN=s8010api-YmVhcmVyIHRva2Vu
export EVB_MEDIA_SECRET=s8010ms-bWVkaWEgdG9rZW4ga2V5
SECRETS="$HUME_API_KEY $HUME_SECRET_KEY $TWILIO_AUTH_TOKEN $VONAGE_SIGNATURE_SECRET $EVB_API_TOKEN $EVB_MEDIA_SECRET"
ING=$(free_port)
API=$(free_port)
FH=$(free_port)
BASE=http://127.0.0.1:$ING

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# twilio_sig URL [name=value ...]: X-Twilio-Signature of a POST to URL with
# those form parameters: base64(HMAC-SHA1(token, URL + sorted name value)).
twilio_sig() {
	perl -MDigest::SHA=hmac_sha1_base64 -e '
		my ($url, @p) = @ARGV; my $s = $url;
		$s .= join "", map { my ($n, $v) = split /=/, $_, 2; $n . $v } sort @p;
		my $b = hmac_sha1_base64($s, $ENV{TWILIO_AUTH_TOKEN});
		$b .= "=" while length($b) % 4;
		print "$b\n";' "$@"
}

# vonage_jwt FILE [IAT]: "Bearer <JWT>" as Vonage signs a webhook whose body
# is FILE: HS256 over iat, jti, iss and payload_hash (SHA-256 of the body).
vonage_jwt() {
	perl -MDigest::SHA=hmac_sha256,sha256_hex -MMIME::Base64 -e '
		my ($f, $iat) = @ARGV;
		open my $h, "<", $f or die "$f: $!\n"; local $/; my $body = <$h>;
		sub b64u { my $b = encode_base64($_[0], ""); $b =~ tr{+/}{-_}; $b =~ s/=+$//; $b }
		my $hd = b64u(q({"alg":"HS256","typ":"JWT"}));
		my $pl = b64u(sprintf q({"iat":%d,"jti":"t8010-%d-%d","iss":"Vonage","payload_hash":"%s"}),
			$iat, $$, $iat, sha256_hex($body));
		my $sig = b64u(hmac_sha256("$hd.$pl", $ENV{VONAGE_SIGNATURE_SECRET}));
		print "Bearer $hd.$pl.$sig\n";' "$1" "${2:-$(date +%s)}"
}

test_expect_success_here 'PostgreSQL, the EVI stand-in (token auth) and the stack' '
	pg_start &&
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$FH --no-espeak \
		--record $TMP/fakehume.jsonl &&
	stack_env t8010 HUME_API_BASE=http://127.0.0.1:$FH EVB_DRAIN_S=5 &&
	evb_start_ready sv evb-supervise --config evb.env
'

test_expect_success 'Twilio: a valid signature is accepted' '
	url="$BASE/twilio/voice" &&
	sig=$(twilio_sig "$url" CallSid=CA8010a AccountSid=ACt8010000000000000000000000000000 \
		From=15550001 To=15550002) &&
	test "$(code -X POST -H "X-Twilio-Signature: $sig" -d CallSid=CA8010a \
		-d AccountSid=ACt8010000000000000000000000000000 -d From=15550001 -d To=15550002 \
		"$url")" = 200
'

test_expect_success 'Twilio: the same signature over another body or URL gets 403' '
	url="$BASE/twilio/voice" &&
	sig=$(twilio_sig "$url" CallSid=CA8010b AccountSid=ACt8010000000000000000000000000000 \
		From=15550001 To=15550002) &&
	test "$(code -X POST -H "X-Twilio-Signature: $sig" -d CallSid=CA8010b \
		-d AccountSid=ACt8010000000000000000000000000000 -d From=15550666 -d To=15550002 \
		"$url")" = 403 &&
	test "$(code -X POST -H "X-Twilio-Signature: $sig" -d CallSid=CA8010b \
		-d AccountSid=ACt8010000000000000000000000000000 -d From=15550001 -d To=15550002 \
		-d Extra=1 "$url")" = 403 &&
	test "$(code -X POST -H "X-Twilio-Signature: $sig" -d CallSid=CA8010b \
		-d AccountSid=ACt8010000000000000000000000000000 -d From=15550001 -d To=15550002 \
		"$url?agent=other")" = 403 &&
	test "$(code -X POST -H "X-Twilio-Signature: $sig" -d CallSid=CA8010b \
		-d AccountSid=ACt8010000000000000000000000000000 -d From=15550001 -d To=15550002 \
		"$BASE/api/hume-twilio/voice-webhook/")" = 403
'

test_expect_success 'Vonage: a valid JWT is accepted; over another body, or too old, 403' '
	printf "{\"status\":\"ringing\",\"uuid\":\"v8010-leg\",\"conversation_uuid\":\"CON-8010\",\"from\":\"15550001\",\"to\":\"15550002\",\"direction\":\"inbound\"}" >ev.json &&
	sed "s/ringing/answered/" ev.json >ev2.json &&
	auth=$(vonage_jwt ev.json) &&
	c=$(code -X POST -H "Authorization: $auth" -H "Content-Type: application/json" \
		--data-binary @ev.json $BASE/vonage/event) &&
	test "$c" -ge 200 && test "$c" -lt 300 &&
	test "$(code -X POST -H "Authorization: $auth" -H "Content-Type: application/json" \
		--data-binary @ev2.json $BASE/vonage/event)" = 403 &&
	old=$(vonage_jwt ev.json $(( $(date +%s) - 7200 ))) &&
	test "$(code -X POST -H "Authorization: $old" -H "Content-Type: application/json" \
		--data-binary @ev.json $BASE/vonage/event)" = 403
'

test_expect_success 'Vonage: an exact replay (same JWT, same jti, same body) is refused 403' '
	printf "{\"status\":\"ringing\",\"uuid\":\"v8010-replay\",\"conversation_uuid\":\"CON-8010r\",\"from\":\"15550001\",\"to\":\"15550002\",\"direction\":\"inbound\"}" >rp.json &&
	auth=$(vonage_jwt rp.json) &&
	c=$(code -X POST -H "Authorization: $auth" -H "Content-Type: application/json" \
		--data-binary @rp.json $BASE/vonage/event) &&
	test "$c" -ge 200 && test "$c" -lt 300 &&
	test "$(code -X POST -H "Authorization: $auth" -H "Content-Type: application/json" \
		--data-binary @rp.json $BASE/vonage/event)" = 403 &&
	test "$(code -X POST -H "Authorization: $auth" -H "Content-Type: application/json" \
		--data-binary @rp.json $BASE/vonage/event)" = 403 &&
	wait_for "grep -q \"signed webhook refused: a replay (jti already used)\" $TMP/sv.log" 5 &&
	auth2=$(vonage_jwt rp.json) && test "$auth2" != "$auth" &&
	c=$(code -X POST -H "Authorization: $auth2" -H "Content-Type: application/json" \
		--data-binary @rp.json $BASE/vonage/event) &&
	test "$c" -ge 200 && test "$c" -lt 300
'

sox -n -r 8000 -b 16 -c 1 talk.wav synth 1 sine 300 vol 0.5 pad 0 1 repeat 1

test_expect_success 'a call on each provider goes end to end (token auth to EVI)' '
	evb-call --provider twilio --url $BASE --play talk.wav --out tw --timeout-s 30 >tw.stats &&
	evb-call --provider vonage --url $BASE --play talk.wav --out vg --timeout-s 30 >vg.stats &&
	grep -q "^frames=[1-9]" tw.stats && grep -q "^frames=[1-9]" vg.stats &&
	grep "\"ev\":\"open\"" $TMP/fakehume.jsonl | grep -q "\"auth\":\"access_token\""
'

test_expect_success 'evb-api: the token works, a wrong one or none gets 401' '
	test "$(code -H "Authorization: Bearer $EVB_API_TOKEN" http://127.0.0.1:$API/v1/agents)" = 200 &&
	test "$(code -H "Authorization: Bearer ${EVB_API_TOKEN}x" http://127.0.0.1:$API/v1/agents)" = 401 &&
	test "$(code -H "Authorization: Bearer s8010api" http://127.0.0.1:$API/v1/agents)" = 401 &&
	test "$(code http://127.0.0.1:$API/v1/agents)" = 401 &&
	wait_for "test \"\$(pg_query \"SELECT count(*) FROM calls WHERE ended_at IS NOT NULL\")\" -ge 2" 15
'

test_expect_success_here 'everything stops' '
	kill -TERM $(evb_pid sv) && { evb_wait sv; test $? -eq 0; } &&
	evb_stop fakehume && pg_stop
'

# Every file of the run but the configuration (which holds them by design)
# and PostgreSQL's data files; its server log is included.
test_expect_success 'no secret in any log, record or output of the run' '
	find "$TMP" -type f ! -name evb.env ! -name "*.wav" \
		! -path "$TMP/pg/data/*" -o -type f -path "$TMP/pg/data/server.log" >files &&
	test $(wc -l <files) -gt 10 &&
	grep -q "sv.log" files && grep -q "fakehume.jsonl" files && grep -q server.log files &&
	for s in $SECRETS; do
		if xargs grep -l -F -- "$s" <files >found; then
			echo "secret ${s%%-*} found in:"; cat found; return 1
		fi
	done
'

test_done
