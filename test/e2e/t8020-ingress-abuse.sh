#!/bin/sh
# Issue 8, hostile clients against evb-ingress while 5 calls run: 1,000
# idle connections that open a WebSocket upgrade and never finish it, 50
# slowloris clients dribbling header bytes, and a flood of oversized media
# messages on signed streams. The calls keep real time, the hostile
# connections are cut at the header deadline, and evb-ingress ends with no
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
SLOW=${T8020_SLOW:-50}
HEADER_MS=3000
MAX_GAP_MS=${T8020_MAX_GAP_MS:-200}

# Room for the idle connections on both ends (a CI default is often 1024).
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -H -n)" 2>/dev/null
say "open files: $(ulimit -n)"

health() { curl -s "$BASE/healthz" | jq -r ".$1"; }
stop_ok() { kill -TERM "$(evb_pid "$1")" && wait "$(evb_pid "$1")"; }
nfd() { ls /proc/"$(evb_pid ingress)"/fd | wc -l; }

# abuse.pl MODE N: N connections to evb-ingress; "idle" sends a WebSocket
# upgrade without its final empty line and then nothing, "slow" sends one
# header byte every 100 ms. Each connection is held until the server ends
# it; prints "cut=<ended by the server> open=<still open at the end>
# first_ms=<earliest cut> ". Gives up after 30 s.
cat >abuse.pl <<'PERL'
use strict; use warnings;
use IO::Socket::INET; use IO::Select; use Time::HiRes qw(time);
my ($port, $mode, $n) = @ARGV;
my (@s, %cut);
my $sel = IO::Select->new;
my $req = "GET /twilio/stream HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n" .
	"Upgrade: websocket\r\nConnection: Upgrade\r\n" .
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
my $t0 = time;
for my $i (1 .. $n) {
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10)
		or die "connect $i: $!\n";
	syswrite $c, $mode eq "idle" ? $req : "G";
	push @s, $c; $sel->add($c);
}
print STDERR "$n connected in ", int((time - $t0) * 1000), " ms\n";
my ($pos, $first, $next) = (1, undef, time + 0.1);
while ($sel->count && time - $t0 < 30) {
	for my $c ($sel->can_read(0.05)) {
		my $r = sysread $c, my $buf, 4096;
		next if $r;
		$first //= time - $t0; $cut{$c} = 1; $sel->remove($c); close $c;
	}
	if ($mode eq "slow" && time >= $next) {
		my $b = substr($req, $pos++ % length $req, 1);
		syswrite $_, $b for $sel->handles;
		$next += 0.1;
	}
}
printf "cut=%d open=%d first_ms=%d\n", scalar(keys %cut), $sel->count, ($first // 0) * 1000;
PERL

test_expect_success_here 'daemons start, and 5 calls begin' '
	sox -n -r 8000 -b 16 -c 1 tone.wav synth 12 sine 440 vol 0.5 &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 250 $RUN/logger.sock &&
	wait_for "test -S $RUN/logger.sock" &&
	evb_start_ready transcode evb-transcode &&
	evb_start_ready loop evb-loop --reply-ms 300 &&
	evb_start_ready ingress evb-ingress --header-ms $HEADER_MS &&
	fd0=$(nfd) && echo $fd0 >fd0 &&
	for i in 1 2 3 4 5; do
		if [ $i -le 3 ]; then prov=twilio; else prov=vonage; fi &&
		evb_start call$i evb-call --provider $prov --url $BASE --play tone.wav \
			--hangup-ms 12000 --timeout-s 60 --check-sizes --min-frames 300 || break
	done &&
	wait_for "test \"\$(health streams)\" = 5" 20 &&
	wait_for "test \$(health frames_out) -gt 100" 10
'

test_expect_success_here 'hostile clients: idle upgrades, slowloris, oversized messages' '
	evb_start idle perl abuse.pl $PORT idle $IDLE &&
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
	evb_wait idle && evb_wait slow
'

test_expect_success 'the hostile connections were cut at the header deadline' '
	cat $TMP/idle.out $TMP/slow.out &&
	grep -q "^cut=$IDLE open=0 " $TMP/idle.out &&
	grep -q "^cut=$SLOW open=0 " $TMP/slow.out &&
	for f in idle slow; do
		ms=$(sed -n "s/.*first_ms=//p" $TMP/$f.out) &&
		test "$ms" -ge $((HEADER_MS - 100)) || return 1
	done
'

test_expect_success_here 'the calls kept real time and ended normally' '
	bad=0 &&
	for i in 1 2 3 4 5; do
		evb_wait call$i; rc=$?
		awk -F= -v max=$MAX_GAP_MS "
			\$1 == \"gap_mean_ms\" && (\$2 < 19 || \$2 > 21) { bad = 1 }
			\$1 == \"gap_max_ms\" && \$2 > max { bad = 1 }
			\$1 == \"gaps\" && \$2 < 250 { bad = 1 }
			END { exit bad }" $TMP/call$i.out || rc="pacing"
		[ "$rc" = 0 ] || { echo "call$i: $rc"; cat $TMP/call$i.out $TMP/call$i.log; bad=1; }
		grep "^gap_" $TMP/call$i.out | tr "\n" " "; echo
	done &&
	test $bad -eq 0
'

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
