#!/bin/sh
# evb-fakehume is strict, so it catches a bridge that speaks EVI wrongly:
# the handshake (path, query parameters, api_key / access_token, expiry),
# the OAuth token endpoint, and every client message against the schema
# (unknown session_settings fields, wrong audio format, audio faster than
# real time for the declared rate, non-JSON, binary frames, unknown tool
# ids). Driven by a minimal WebSocket client in perl.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
KEY=test-key-4060
SECRET=test-secret-4060

cat >wsc.pl <<\EOF
# wsc.pl PORT TARGET MESSAGES IDLE_MS: a WebSocket client. Prints the
# handshake status, then every text message received, until IDLE_MS pass
# with nothing or the server closes. MESSAGES: one text frame per line;
# "BIN text" sends a binary frame, "AUDIO n bytes" an audio_input of n
# zero bytes, "AUDIOS k n" k of them at once.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use MIME::Base64;
my ($port, $target, $file, $idle) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die "connect: $!";
binmode $s;
my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
print $s "GET $target HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nUpgrade: websocket\r\n" .
	"Connection: Upgrade\r\nSec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n";
my $buf = '';
while ($buf !~ /\r\n\r\n/) {
	my $n = sysread($s, my $b, 4096) or last;
	$buf .= $b;
}
my ($status) = $buf =~ m{^HTTP/1\.1 (\d+)};
print "status $status\n";
if ($status != 101) {
	my $sel = IO::Select->new($s);
	while ($sel->can_read(0.5)) { sysread($s, my $b, 4096) or last; $buf .= $b; }
	my ($body) = $buf =~ /\r\n\r\n(.*)/s;
	print "body $body\n";
	exit 0;
}
$buf = substr($buf, index($buf, "\r\n\r\n") + 4);
sub frame {
	my ($op, $data) = @_;
	my $len = length $data;
	my $mask = join '', map { chr int rand 256 } 1 .. 4;
	my $h = chr(0x80 | $op);
	if ($len < 126) { $h .= chr(0x80 | $len) }
	elsif ($len < 65536) { $h .= chr(0x80 | 126) . pack('n', $len) }
	else { $h .= chr(0x80 | 127) . pack('Q>', $len) }
	return $h . $mask . ($data ^ substr($mask x (int($len / 4) + 1), 0, $len));
}
sub audio { '{"type":"audio_input","data":"' . encode_base64("\0" x $_[0], '') . '"}' }
open my $in, '<', $file or die "$file: $!";
while (my $l = <$in>) {
	chomp $l;
	if ($l =~ /^BIN (.*)/) { print $s frame(2, $1) }
	elsif ($l =~ /^AUDIO (\d+)$/) { print $s frame(1, audio($1)) }
	elsif ($l =~ /^AUDIOS (\d+) (\d+)$/) { print $s frame(1, audio($2)) for 1 .. $1 }
	else { print $s frame(1, $l) }
}
my $sel = IO::Select->new($s);
for (;;) {
	while (length($buf) >= 2) {
		my ($b0, $b1) = unpack('CC', $buf);
		my ($len, $off) = ($b1 & 127, 2);
		if ($len == 126) { last if length($buf) < 4; $len = unpack('n', substr($buf, 2, 2)); $off = 4 }
		elsif ($len == 127) { last if length($buf) < 10; $len = unpack('Q>', substr($buf, 2, 8)); $off = 10 }
		last if length($buf) < $off + $len;
		my $p = substr($buf, $off, $len);
		$buf = substr($buf, $off + $len);
		if (($b0 & 15) == 1) { print "$p\n" }
		elsif (($b0 & 15) == 8) { print "close ", ($len >= 2 ? unpack('n', $p) : 0), "\n"; exit 0 }
	}
	last unless $sel->can_read($idle / 1000);
	my $n = sysread($s, my $b, 65536) or last;
	$buf .= $b;
}
EOF

# ws QUERY MESSAGES-FILE [PATH]: one chat; output in ws.out.
ws() {
	perl wsc.pl $PORT "${3:-/v0/evi/chat}?$1" "$2" 600 >ws.out
}

settings='{"type":"session_settings","audio":{"encoding":"linear16","sample_rate":8000,"channels":1}}'

errors() { grep "\"type\":\"error\"" ws.out; }

test_expect_success_here 'fakehume starts (token TTL 1 s)' '
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$PORT --api-key $KEY \
		--secret-key $SECRET --token-ttl-s 1 --ahead-ms 500 --record rec.jsonl --no-espeak
'

test_expect_success 'the handshake wants the right key on the right path' '
	: >none &&
	ws "api_key=nope" none && grep -q "status 401" ws.out && grep -q "wrong api_key" ws.out &&
	ws "config_id=x" none && grep -q "status 401" ws.out &&
	ws "api_key=$KEY" none /v0/assistant/chat && grep -q "status 404" ws.out &&
	ws "api_key=$KEY" none && grep -q "status 101" ws.out &&
	grep -q "\"type\":\"chat_metadata\"" ws.out
'

test_expect_success 'query parameters EVI does not define are refused' '
	: >none &&
	ws "api_key=$KEY&sample_rate=8000" none && grep -q "status 400" ws.out &&
	grep -q "sample_rate.*unknown parameter" ws.out &&
	ws "api_key=$KEY&session_settings%5Btools%5D=x" none && grep -q "status 400" ws.out &&
	ws "api_key=$KEY&verbose_transcription=yes" none && grep -q "status 400" ws.out &&
	ws "api_key=$KEY&resumed_chat_group_id=nope" none && grep -q "status 404" ws.out
'

test_expect_success 'a good chat: settings, then real-time audio, no error' '
	{ echo "$settings" && echo "AUDIO 320"; } >good &&
	ws "api_key=$KEY" good && grep -q "status 101" ws.out && ! errors
'

test_expect_success 'session_settings with an invented field' '
	echo "{\"type\":\"session_settings\",\"greeting\":\"hi\"}" >m &&
	ws "api_key=$KEY" m &&
	errors | jq -e ".code == \"E0101\" and (.message | test(\"unknown field .greeting.\"))"
'

test_expect_success 'session_settings with a wrong encoding or rate' '
	echo "{\"type\":\"session_settings\",\"audio\":{\"encoding\":\"mulaw\",\"sample_rate\":8000,\"channels\":1}}" >m &&
	ws "api_key=$KEY" m && errors | jq -e "(.message | test(\"linear16\"))" &&
	echo "{\"type\":\"session_settings\",\"audio\":{\"encoding\":\"linear16\",\"sample_rate\":8001,\"channels\":1}}" >m &&
	ws "api_key=$KEY" m && errors | jq -e "(.message | test(\"8001\"))"
'

test_expect_success 'audio before the format is declared, or not whole samples' '
	echo "AUDIO 320" >m &&
	ws "api_key=$KEY" m && errors | jq -e ".code == \"E0202\" and (.message | test(\"before session_settings\"))" &&
	{ echo "$settings" && echo "AUDIO 321"; } >m &&
	ws "api_key=$KEY" m && errors | jq -e ".code == \"E0202\" and (.message | test(\"whole\"))"
'

test_expect_success 'audio faster than real time for the declared rate' '
	{ echo "$settings" && echo "AUDIOS 100 320"; } >m &&
	ws "api_key=$KEY" m && test $(errors | wc -l) -eq 1 &&
	errors | jq -e ".code == \"E0202\" and (.message | test(\"sample_rate 8000\"))"
'

test_expect_success 'non-JSON, binary frames, base64 garbage, bad tool ids' '
	{ echo "not json" && echo "BIN abc" &&
	  echo "{\"type\":\"audio_input\",\"data\":\"%%%\"}" &&
	  echo "{\"type\":\"tool_error\",\"tool_call_id\":\"t9\",\"error\":\"x\"}" &&
	  echo "{\"type\":\"user_message\",\"message\":{}}"; } >m &&
	ws "api_key=$KEY" m && errors >e &&
	test $(wc -l <e) -eq 5 &&
	sed -n 1p e | jq -e ".code == \"E0100\"" &&
	sed -n 2p e | jq -e ".code == \"E0100\"" &&
	sed -n 3p e | jq -e ".code == \"E0201\"" &&
	sed -n 4p e | jq -e "(.message | test(\"t9\"))" &&
	sed -n 5p e | jq -e "(.message | test(\"not a message a client sends\"))" &&
	test $(grep -c "\"ev\":\"recv_bad\"" rec.jsonl) -ge 3
'

test_expect_success 'the token endpoint: Basic auth, form, client_credentials' '
	url=http://127.0.0.1:$PORT/oauth2-cc/token &&
	curl -s -u "$KEY:$SECRET" -d grant_type=client_credentials $url >tok &&
	jq -e ".token_type == \"Bearer\" and .expires_in == 1 and (.access_token | length) == 64" tok &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -u "$KEY:wrong" -d grant_type=client_credentials $url)" = 401 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -u "$KEY:$SECRET" -d grant_type=password $url)" = 400 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -u "$KEY:$SECRET" $url)" = 405 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -u "$KEY:$SECRET" -H "Content-Type: application/json" -d "{}" $url)" = 400
'

test_expect_success 'an access token works until it expires' '
	curl -s -u "$KEY:$SECRET" -d grant_type=client_credentials \
		http://127.0.0.1:$PORT/oauth2-cc/token | jq -r .access_token >token &&
	: >none &&
	ws "access_token=$(cat token)" none && grep -q "status 101" ws.out &&
	ws "access_token=made-up" none && grep -q "unknown access_token" ws.out &&
	wait_for "ws access_token=$(cat token) none; grep -q \"access_token expired\" ws.out" 5
'

test_expect_success 'the record hides keys and tokens' '
	grep "\"ev\":\"open\"" rec.jsonl | head -n 1 | jq -e ".query.api_key == \"(set)\"" &&
	! grep -q "$KEY\|$SECRET\|$(cat token)" rec.jsonl fakehume.log
'

test_expect_success 'a bad scenario or option stops it at start (100)' '
	printf "reply 1 fine\nat turn x drop\n" >bad.sc &&
	test_exit_code 100 evb-fakehume --api-key k --scenario bad.sc 2>err &&
	grep -q "bad.sc:2: at turn: expected a number" err &&
	printf "at open 1 explode\n" >bad.sc &&
	test_exit_code 100 evb-fakehume --api-key k --scenario bad.sc 2>err &&
	grep -q "bad.sc:1: unknown action" err &&
	test_exit_code 100 env -u HUME_API_KEY evb-fakehume 2>err &&
	grep -q "API key is required" err &&
	test_exit_code 100 evb-fakehume --api-key k --tls-cert x.pem 2>err
'

test_expect_success_here 'SIGTERM: exits 0' '
	kill -TERM $(evb_pid fakehume) && { wait $(evb_pid fakehume); test $? -eq 0; }
'

test_done
