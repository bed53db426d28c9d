#!/bin/sh
# evb-api edges: 401 without the Bearer token, 404, 405 with Allow, 413,
# 415, 429 per client address and for call pacing; /metrics gathered from
# every process's *.metrics socket and checked by a Prometheus text-format
# checker; /healthz; a database outage (503) and the recovery.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

FAKE_PORT=$(free_port)
API_PORT=$(free_port)
API2_PORT=$(free_port)
URL=http://127.0.0.1:$API_PORT
TWILIO_ACCOUNT_SID=AC00000000000000000000000000000001
TWILIO_AUTH_TOKEN=twilio-auth-token
TWILIO_PHONE_NUMBER=+14155550199
EVB_CA_FILE=$TMP/keys/ca.pem
TWILIO_API_BASE=https://localhost:$FAKE_PORT
FAKE_APP_ID=aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab # the fake needs one
EVB_API_LISTEN=127.0.0.1:$API_PORT
EVB_API_TOKEN=test-api-token-0123456789
EVB_RUN_DIR=$TMP/run
export TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN TWILIO_PHONE_NUMBER EVB_CA_FILE TWILIO_API_BASE \
	EVB_API_LISTEN EVB_API_TOKEN EVB_RUN_DIR
unset VONAGE_APPLICATION_ID VONAGE_PRIVATE_KEY_PATH

# http [curl args...] URL: prints the status; body in $TMP/out, headers in $TMP/hdr.
http() { curl -sS -o "$TMP/out" -D "$TMP/hdr" -w '%{http_code}' "$@"; }
auth() { http -H "Authorization: Bearer $EVB_API_TOKEN" "$@"; }
j() {
	jq -e "$1" "$TMP/out" >/dev/null || {
		echo "jq '$1' is false on:" >&2
		cat "$TMP/out" >&2
		return 1
	}
}
stop_ok() { pid=$(evb_pid "$1") && kill -TERM "$pid" && wait "$pid"; }

# A stand-in for a daemon's metrics socket: serves FILE to each client, or
# with -silent accepts and never writes.
cat >metrics-server.pl <<'EOF'
use strict;
use IO::Socket::UNIX;
use Socket;
my ($path, $file) = @ARGV;
unlink $path;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $path, Listen => 16)
	or die "listen on $path: $!";
$SIG{TERM} = sub { unlink $path; exit 0 };
my @held;
while (1) {
	my $c = $s->accept or next;
	if ($file eq '-silent') { push @held, $c; next }
	open my $f, '<', $file or die "$file: $!";
	my $text = do { local $/; <$f> };
	print {$c} $text;
	close $f;
	close $c;
}
EOF

# The Prometheus text format (0.0.4), strictly: line syntax, one HELP and
# TYPE per family before its samples, families contiguous, unique label
# names and series, counters not negative, histogram buckets increasing up
# to +Inf equal to _count.
cat >promcheck.pl <<'EOF'
use strict;
my $name = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $lname = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $num = qr/(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)/;
my (%type, %help, %seen, %series, %hist, $cur, $errors, $samples, $ln);
sub bad { print STDERR "line $ln: $_[0]: $_\n"; $errors++ }
my $text = do { local $/; <STDIN> };
bad("no final newline") if length $text && $text !~ /\n\z/;
for (split /\n/, $text) {
	$ln++;
	if (/^# HELP ($name) (.*)$/) { bad("second HELP") if $help{$1}++; next }
	if (/^# TYPE ($name) (\S+)$/) {
		my ($f, $t) = ($1, $2);
		bad("unknown type") unless $t =~ /^(counter|gauge|histogram|summary|untyped)$/;
		bad("second TYPE") if exists $type{$f};
		bad("TYPE after samples") if $seen{$f};
		$type{$f} = $t;
		next;
	}
	next if /^#/ || /^$/;
	unless (/^($name)(?:\{(.*)\})? ($num)(?: -?\d+)?$/) { bad("not a sample"); next }
	my ($n, $labels, $v) = ($1, $2 // '', $3);
	$samples++;
	my $fam = $n;
	if ($n =~ /^(.*)_(bucket|sum|count)$/) {
		my $base = $1;
		$fam = $base if ($type{$base} // '') =~ /^(histogram|summary)$/;
	}
	bad("family $fam is not contiguous") if defined $cur && $cur ne $fam && $seen{$fam};
	$cur = $fam;
	$seen{$fam} = 1;
	my %l;
	my $rest = $labels;
	while (length $rest) {
		unless ($rest =~ s/^($lname)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)//) {
			bad("bad labels");
			last;
		}
		my ($k, $lv) = ($1, $2);
		bad("label $k twice") if exists $l{$k};
		$l{$k} = $lv;
	}
	my $key = join ',', map { "$_=$l{$_}" } sort keys %l;
	bad("series twice") if $series{"$n\{$key\}"}++;
	my $t = $type{$fam} // '';
	bad("negative counter") if $t eq 'counter' && $v < 0;
	next unless $t eq 'histogram';
	my $hk = join ',', map { "$_=$l{$_}" } sort grep { $_ ne 'le' } keys %l;
	my $h = $hist{$fam}{$hk} //= {};
	if ($n eq "${fam}_bucket") {
		bad("bucket without le"), next unless exists $l{le};
		my $le = $l{le} eq '+Inf' ? 9**9**9 : $l{le};
		bad("le not increasing") if defined $h->{le} && $le <= $h->{le};
		bad("bucket count falls") if defined $h->{c} && $v < $h->{c};
		@$h{qw(le c)} = ($le, $v);
		$h->{inf} = $v if $l{le} eq '+Inf';
	} elsif ($n eq "${fam}_count") {
		bad("_count differs from the +Inf bucket") unless defined $h->{inf} && $h->{inf} == $v;
	}
}
bad("no samples") unless $samples;
exit($errors ? 1 : 0);
EOF

test_expect_success 'the Prometheus checker refuses bad text' '
	printf "evb_x 1\nevb_y{a=\"1\",a=\"2\"} 1\n" | test_must_fail perl promcheck.pl 2>err &&
	grep -q "twice" err &&
	printf "# TYPE evb_c counter\nevb_c -1\n" | test_must_fail perl promcheck.pl &&
	printf "evb_a 1\nevb_b 1\nevb_a{x=\"1\"} 1\n" | test_must_fail perl promcheck.pl &&
	printf "# TYPE evb_h histogram\nevb_h_bucket{le=\"1\"} 2\nevb_h_bucket{le=\"+Inf\"} 1\nevb_h_count 1\n" |
		test_must_fail perl promcheck.pl &&
	printf "# TYPE evb_g gauge\nevb_g{a=\"x\"} 1.5e3\n" | perl promcheck.pl
'

test_expect_success_here 'start PostgreSQL, the fake providers, evb-api and stand-in metrics sockets' '
	pg_start &&
	evb-logger --migrate 2>migrate.log &&
	evb-fakeprovider --make-keys keys &&
	evb_start_ready fake env VONAGE_APPLICATION_ID=$FAKE_APP_ID \
		evb-fakeprovider --listen 127.0.0.1:$FAKE_PORT \
		--cert keys/cert.pem --key keys/key.pem --record rec.jsonl &&
	mkdir -p run &&
	printf "%s\n" "# HELP evb_frames_total Frames handled." "# TYPE evb_frames_total counter" \
		"evb_frames_total{dir=\"up\"} 1234" "evb_frames_total{dir=\"down\"} 999" \
		"# HELP evb_hop_latency_seconds Latency added by a hop." \
		"# TYPE evb_hop_latency_seconds histogram" \
		"evb_hop_latency_seconds_bucket{hop=\"ingress\",le=\"0.001\"} 5" \
		"evb_hop_latency_seconds_bucket{hop=\"ingress\",le=\"0.01\"} 9" \
		"evb_hop_latency_seconds_bucket{hop=\"ingress\",le=\"+Inf\"} 10" \
		"evb_hop_latency_seconds_sum{hop=\"ingress\"} 0.05" \
		"evb_hop_latency_seconds_count{hop=\"ingress\"} 10" \
		"# TYPE evb_api_db_up counter" "evb_api_db_up 7" \
		"# TYPE evb_playout_underruns_total counter" "evb_playout_underruns_total 3" >ingress.txt &&
	evb_start ingress perl metrics-server.pl run/ingress.metrics ingress.txt &&
	evb_start slow perl metrics-server.pl run/slow.metrics -silent &&
	perl -MIO::Socket::UNIX -e "IO::Socket::UNIX->new(Type => 1, Local => shift, Listen => 1)" \
		run/dead.metrics &&
	wait_for "test -S run/ingress.metrics && test -S run/slow.metrics" &&
	evb_start_ready api evb-api --twilio-cps=1 --pace-wait-ms=1500 --max-body=2048 \
		--gather-ms=300 --rate=1000 --burst=1000
'

test_expect_success '401 without the token, with a wrong one, or another scheme; /healthz needs none' '
	code=$(http $URL/v1/calls) && test "$code" = 401 &&
	j ".success == false and .error.code == \"unauthorized\"" &&
	grep -qi "^WWW-Authenticate: Bearer" hdr &&
	code=$(http -H "Authorization: Bearer wrong" $URL/v1/agents) && test "$code" = 401 &&
	code=$(http -H "Authorization: Bearer ${EVB_API_TOKEN}x" $URL/v1/agents) && test "$code" = 401 &&
	code=$(http -H "Authorization: Bearer test-api-token" $URL/v1/agents) && test "$code" = 401 &&
	code=$(http -u "x:$EVB_API_TOKEN" $URL/v1/agents) && test "$code" = 401 &&
	code=$(http $URL/metrics) && test "$code" = 401 &&
	code=$(http -X POST $URL/api/hume-twilio/initiate-call/) && test "$code" = 401 &&
	code=$(http $URL/api/hume-twilio/get-all-calls/) && test "$code" = 401 &&
	code=$(http $URL/nowhere) && test "$code" = 401 &&
	code=$(http -H "Authorization: bearer $EVB_API_TOKEN" $URL/v1/agents) && test "$code" = 200
'

test_expect_success '404 as JSON for an unknown path' '
	code=$(auth $URL/v2/calls) && test "$code" = 404 &&
	j ".success == false and .error.code == \"not_found\"" &&
	code=$(auth $URL/v1/calls/a/b/c) && test "$code" = 404
'

test_expect_success '405 with Allow for a known path and the wrong method' '
	code=$(auth -X DELETE $URL/v1/calls) && test "$code" = 405 &&
	j ".error.code == \"method_not_allowed\"" && grep -q "^Allow: GET, HEAD, POST" hdr &&
	code=$(auth $URL/v1/calls/x/hangup) && test "$code" = 405 && grep -q "^Allow: POST" hdr &&
	code=$(auth -X PATCH $URL/v1/agents/x) && test "$code" = 405 &&
	grep -q "^Allow: GET, HEAD, PUT, DELETE" hdr &&
	code=$(auth -X POST $URL/healthz) && test "$code" = 405
'

test_expect_success '413 for a body over --max-body, 415 for one that is not JSON' '
	head -c 4000 /dev/zero | tr "\0" a >big &&
	code=$(auth -H "Content-Type: application/json" --data-binary @big $URL/v1/agents) &&
	test "$code" = 413 && j ".success == false and .error.code == \"payload_too_large\"" &&
	code=$(auth -H "Content-Type: application/xml" -d "<a/>" $URL/v1/agents) &&
	test "$code" = 415 && j ".error.code == \"unsupported_media_type\""
'

test_expect_success 'Twilio pacing at 1 call/s: the second waits its turn, the third gets 429' '
	for i in 1 2 3; do
		evb_start c$i curl -sS -o out$i -D hdr$i -w "%{http_code}\\n" \
			-H "Authorization: Bearer $EVB_API_TOKEN" -H "Content-Type: application/json" \
			-d "{\"to\":\"+1415555020$i\"}" $URL/v1/calls || return 1
	done &&
	evb_wait c1 && evb_wait c2 && evb_wait c3 &&
	cat c1.out c2.out c3.out | sort | tr "\n" " " >codes &&
	test "$(cat codes)" = "201 201 429 " &&
	for i in 1 2 3; do
		[ "$(cat c$i.out)" = 429 ] || continue
		grep -q "^Retry-After: [12]" hdr$i && jq -e ".error.code == \"rate_limited\"" out$i || return 1
	done &&
	jq -s "[.[] | select(.provider == \"twilio\") | .ms] | .[1] - .[0] >= 950" rec.jsonl | grep -q true
'

test_expect_success_here 'a second evb-api limited to a burst of 3 requests' '
	evb_start_ready api2 evb-api --EVB_API_LISTEN=127.0.0.1:$API2_PORT --rate=0.2 --burst=3 \
		--EVB_RUN_DIR=$TMP/run2
'

test_expect_success '429 with Retry-After past the burst, per address; /healthz is not limited' '
	for i in 1 2 3; do
		code=$(auth http://127.0.0.1:$API2_PORT/v1/agents) && test "$code" = 200 || return 1
	done &&
	code=$(auth http://127.0.0.1:$API2_PORT/v1/agents) && test "$code" = 429 &&
	j ".success == false and .error.code == \"rate_limited\"" &&
	grep -Eq "^Retry-After: [1-5]" hdr &&
	code=$(http http://127.0.0.1:$API2_PORT/nowhere) && test "$code" = 429 &&
	code=$(http http://127.0.0.1:$API2_PORT/healthz) && test "$code" = 200 &&
	code=$(auth $URL/v1/agents) && test "$code" = 200
'

test_expect_success '/metrics: valid Prometheus text from every process, labelled by process' '
	code=$(auth $URL/metrics) && test "$code" = 200 &&
	grep -qi "^Content-Type: text/plain; version=0.0.4" hdr &&
	perl promcheck.pl <out &&
	grep -q "^evb_up{process=\"api\"} 1$" out &&
	grep -q "^evb_up{process=\"ingress\"} 1$" out &&
	grep -q "^evb_up{process=\"slow\"} 0$" out &&
	grep -q "^evb_up{process=\"dead\"} 0$" out &&
	grep -q "^evb_frames_total{process=\"ingress\",dir=\"up\"} 1234$" out &&
	grep -q "^evb_hop_latency_seconds_bucket{process=\"ingress\",hop=\"ingress\",le=\"+Inf\"} 10$" out &&
	grep -q "^evb_playout_underruns_total{process=\"ingress\"} 3$" out &&
	grep -q "^evb_api_db_up{process=\"api\"} 1$" out &&
	! grep -q "^evb_api_db_up{process=\"ingress\"}" out &&
	grep -q "^evb_api_requests_total{process=\"api\",route=\"calls_create\",code=\"429\"} 1$" out &&
	grep -q "^evb_api_rate_limited_total{process=\"api\",reason=\"pacing\"} 1$" out &&
	grep -q "^evb_api_provider_requests_total{process=\"api\",provider=\"twilio\",outcome=\"ok\"} 2$" out &&
	grep -q "^evb_calls{provider=\"twilio\",status=\"initiated\"} 2$" out &&
	grep -q "^evb_calls{provider=\"vonage\",status=\"failed\"} 0$" out &&
	grep -q "^evb_calls_active{provider=\"twilio\"} 2$" out &&
	test "$(grep -c "^# TYPE evb_up " out)" = 1
'

test_expect_success '/healthz: 503 naming the processes that do not answer' '
	code=$(http $URL/healthz) && test "$code" = 503 &&
	j ".success == false and .status == \"unavailable\" and .database.ok == true" &&
	j ".processes == {\"api\": true, \"dead\": false, \"ingress\": true, \"slow\": false}"
'

test_expect_success_here 'with every process answering, /healthz is 200' '
	stop_ok slow && rm run/dead.metrics &&
	code=$(http $URL/healthz) && test "$code" = 200 &&
	j ".success and .status == \"ok\" and .processes.ingress == true"
'

test_expect_success_here 'database down: 503 for its routes and on /healthz, /metrics still served' '
	pg_stop &&
	code=$(auth $URL/v1/calls) && test "$code" = 503 &&
	j ".success == false and .error.code == \"database_unavailable\"" &&
	code=$(auth -H "Content-Type: application/json" -d "{\"to\":\"+14155550300\"}" $URL/v1/calls) &&
	test "$code" = 503 && test "$(jq -c "select(.form.To == [\"+14155550300\"])" rec.jsonl)" = "" &&
	code=$(http $URL/healthz) && test "$code" = 503 && j ".database.ok == false" &&
	code=$(auth $URL/metrics) && test "$code" = 200 && perl promcheck.pl <out &&
	grep -q "^evb_api_db_up{process=\"api\"} 0$" out
'

test_expect_success_here 'the database back: evb-api reconnects by itself' '
	pg_start &&
	wait_for "test \"\$(auth $URL/v1/agents)\" = 200" 15 &&
	code=$(http $URL/healthz) && test "$code" = 200
'

test_expect_success_here 'everything stops on SIGTERM with status 0' '
	stop_ok api && stop_ok api2 && stop_ok fake && stop_ok ingress
'

test_expect_success 'stop PostgreSQL' 'pg_stop'

test_done
