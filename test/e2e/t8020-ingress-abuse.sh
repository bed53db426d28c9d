#!/bin/sh
# Issue 8, hostile clients against evb-ingress while 5 calls run: 1,000
# idle connections that open a WebSocket upgrade and never finish it, 1,000
# media WebSockets that complete a signed upgrade and then stay silent (no
# 'start'), 50 slowloris clients dribbling header bytes, and a flood of
# oversized media messages on signed streams. The calls keep real time, the
# unfinished upgrades are cut at the header deadline and the silent
# WebSockets at the start deadline (10 s), and evb-ingress ends with no
# more descriptors than it began with.
#
# Real time here: frames of exactly 20 ms whose gaps average 20+-1 ms, and
# none over MAX_GAP_MS. evb-call --check-pacing (no gap over 45 ms, no
# catch-up burst) is too strict here: the 1,000 connections arrive (and are
# cut) within some 300 ms, and
# with the 2 cores also busy elsewhere (a fuzzer) that stalled every call
# once by 60-125 ms; on an otherwise quiet machine the worst gap was under
# 40 ms (docs/reliability.md).
. "$(dirname "$0")/../lib.sh"

RUN=$TMP/run
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export EVB_RUN_DIR=$RUN PUBLIC_BASE_URL=$BASE EVB_LISTEN=127.0.0.1:$PORT
export TWILIO_AUTH_TOKEN=t8020-auth-token EVB_MEDIA_SECRET=t8020-media-secret
mkdir -p "$RUN"
IDLE=${T8020_IDLE:-1000}
WS=${T8020_WS:-1000}
START_MS=10000 # START_TIMEOUT_S in bin/ingress/ingress.h
SLOW=${T8020_SLOW:-50}
HEADER_MS=3000
MAX_GAP_MS=${T8020_MAX_GAP_MS:-200}

# Room for the idle connections on both ends (a CI default is often 1024).
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -H -n)" 2>/dev/null
say "open files: $(ulimit -n)"

health() { curl -s "$BASE/healthz" | jq -r ".$1"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }
nfd() { ls /proc/"$(evb_pid ingress)"/fd | wc -l; }

# abuse.pl MODE N: N connections to evb-ingress; "idle" sends a WebSocket
# upgrade without its final empty line and then nothing, "ws" a complete
# upgrade to /twilio/stream signed as Twilio signs it (a valid
# X-Twilio-Signature) and then nothing, "slow" one header byte every
# 100 ms. Each connection is held until the server ends it; prints
# "upgraded=<answered 101> cut=<ended by the server> open=<still open at
# the end> first_ms=<earliest cut> close_ms=<earliest WebSocket close
# frame> close_code=<its code>". Gives up after 30 s.
cat >abuse.pl <<'PERL'
use strict; use warnings;
use IO::Socket::INET; use IO::Select; use Time::HiRes qw(time);
use Digest::SHA qw(hmac_sha1_base64);
my ($port, $mode, $n) = @ARGV;
my (@s, %cut, %up, %got);
my $sel = IO::Select->new;
my $req = "GET /twilio/stream HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n" .
	"Upgrade: websocket\r\nConnection: Upgrade\r\n" .
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
if ($mode eq "ws") {
	my $sig = hmac_sha1_base64("ws://127.0.0.1:$port/twilio/stream", $ENV{TWILIO_AUTH_TOKEN});
	$sig .= "=" while length($sig) % 4;
	$req .= "X-Twilio-Signature: $sig\r\n\r\n";
}
my $t0 = time;
for my $i (1 .. $n) {
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10)
		or die "connect $i: $!\n";
	syswrite $c, $mode eq "slow" ? "G" : $req;
	push @s, $c; $sel->add($c);
}
print STDERR "$n connected in ", int((time - $t0) * 1000), " ms\n";
my ($pos, $first, $next, $closed, $code) = (1, undef, time + 0.1, undef, 0);
while ($sel->count && time - $t0 < 30) {
	for my $c ($sel->can_read(0.05)) {
		my $r = sysread $c, my $buf, 4096;
		if ($r) {
			next if $mode ne "ws";
			$buf = $got{$c} .= $buf;
			if (!$up{$c}) {
				next unless $buf =~ s{^HTTP/1\.1 101 .*?\r\n\r\n}{}s;
				$up{$c} = 1;
			}
			# WebSocket frames from the server (unmasked, control
			# frames under 126 bytes, a frame may come in pieces):
			# note the first close's time and code.
			while (length $buf >= 2) {
				my ($b0, $b1) = unpack "CC", $buf;
				my $len = $b1 & 0x7f;
				last if $len > 125 || length $buf < 2 + $len;
				if (($b0 & 0x0f) == 8 && !defined $closed) {
					$closed = time - $t0;
					$code = $len >= 2 ? unpack("n", substr $buf, 2, 2) : 0;
				}
				substr($buf, 0, 2 + $len) = "";
			}
			$got{$c} = $buf;
			next;
		}
		$first //= time - $t0; $cut{$c} = 1; $sel->remove($c); close $c;
	}
	if ($mode eq "slow" && time >= $next) {
		my $b = substr($req, $pos++ % length $req, 1);
		syswrite $_, $b for $sel->handles;
		$next += 0.1;
	}
}
printf "upgraded=%d cut=%d open=%d first_ms=%d close_ms=%d close_code=%d\n", scalar(keys %up),
	scalar(keys %cut), $sel->count, ($first // 0) * 1000, ($closed // 0) * 1000, $code;
PERL

test_expect_success_here 'daemons start, and 5 calls begin' '
	sox -n -r 8000 -b 16 -c 1 tone.wav synth 14 sine 440 vol 0.5 &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 250 $RUN/logger.sock &&
	wait_for "test -S $RUN/logger.sock" &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop --reply-ms 300 &&
	evb_start_ready ingress evb-ingress --header-ms $HEADER_MS &&
	fd0=$(nfd) && echo $fd0 >fd0 &&
	for i in 1 2 3 4 5; do
		if [ $i -le 3 ]; then prov=twilio; else prov=vonage; fi &&
		evb_start call$i evb-call --provider $prov --url $BASE --play tone.wav \
			--hangup-ms 14000 --timeout-s 60 --check-sizes --min-frames 300 || break
	done &&
	wait_for "test \"\$(health streams)\" = 5" 20 &&
	wait_for "test \$(health frames_out) -gt 100" 10
'

test_expect_success_here 'hostile clients: idle upgrades, silent WebSockets, slowloris, oversized messages' '
	evb_start idle perl abuse.pl $PORT idle $IDLE &&
	evb_start ws perl abuse.pl $PORT ws $WS &&
	evb_start slow perl abuse.pl $PORT slow $SLOW &&
	evb_start flood sh -c "
		for i in 1 2 3 4 5 6 7 8 9 10; do
			evb-call --provider twilio --url $BASE --play tone.wav --inject oversized \
				--expect-close 1009 --timeout-s 20 >/dev/null & a=\$!
			evb-call --provider vonage --url $BASE --play tone.wav --inject oversized \
				--expect-close 1009 --timeout-s 20 >/dev/null & b=\$!
			wait \$a || exit 1; wait \$b || exit 1
		done" &&
	evb_wait flood &&
	evb_wait idle && evb_wait slow && evb_wait ws
'

test_expect_success 'the hostile connections were cut at the header deadline' '
	cat $TMP/idle.out $TMP/slow.out &&
	grep -q "^upgraded=0 cut=$IDLE open=0 " $TMP/idle.out &&
	grep -q "^upgraded=0 cut=$SLOW open=0 " $TMP/slow.out &&
	for f in idle slow; do
		ms=$(sed -n "s/.*first_ms=\([0-9]*\).*/\1/p" $TMP/$f.out) &&
		test "$ms" -ge $((HEADER_MS - 100)) || return 1
	done
'

test_expect_success 'the silent WebSockets were all upgraded, held, then cut at the start deadline' '
	cat $TMP/ws.out $TMP/ws.log &&
	grep -q "^upgraded=$WS cut=$WS open=0 " $TMP/ws.out &&
	ms=$(sed -n "s/.*close_ms=\([0-9]*\).*/\1/p" $TMP/ws.out) &&
	test "$ms" -ge $((START_MS - 100)) && test "$ms" -le $((START_MS + 3000)) &&
	grep -q "close_code=1008\$" $TMP/ws.out
'

test_expect_success_here 'the calls kept real time and ended normally' '
	bad=0 &&
	for i in 1 2 3 4 5; do
		evb_wait call$i; rc=$?
		awk -F= -v max=$MAX_GAP_MS "
			\$1 == \"gap_mean_ms\" && (\$2 < 19 || \$2 > 21) { bad = 1 }
			\$1 == \"gap_max_ms\" && \$2 > max { bad = 1 }
			\$1 == \"gaps\" && \$2 < 300 { bad = 1 }
			END { exit bad }" $TMP/call$i.out || rc="pacing"
		[ "$rc" = 0 ] || { echo "call$i: $rc"; cat $TMP/call$i.out $TMP/call$i.log; bad=1; }
		grep "^gap_" $TMP/call$i.out | tr "\n" " "; echo
	done &&
	test $bad -eq 0
'

say "silent WebSockets: $(cat $TMP/ws.out 2>/dev/null) ($(cat $TMP/ws.log 2>/dev/null))"
for i in 1 2 3 4 5; do say "call$i: $(grep "^gap_" $TMP/call$i.out 2>/dev/null | tr "\n" " ")"; done

test_expect_success 'evb-ingress is healthy and holds no leftover descriptors' '
	test "$(health status)" = ok &&
	wait_for "test \"\$(health streams)\" = 0" 10 &&
	wait_for "test \$(nfd) -le \$((\$(cat fd0) + 2))" 10
'

test_expect_success_here 'SIGTERM: each daemon exits 0' '
	stop_ok ingress && stop_ok loop && stop_ok transcode && evb_stop logger
'

test_done
