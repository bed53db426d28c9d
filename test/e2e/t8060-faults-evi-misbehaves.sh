#!/bin/sh
# Issue 8, faults: EVI misbehaving during calls through the full stack
# (evb-ingress, evb-transcode, evb-hume, evb-logger under evb-supervise;
# evb-fakehume as EVI; 2 Twilio and 2 Vonage calls by evb-call). In every
# chat group EVI drops the connection (no close frame) at turn 2, answers
# turn 4 2.5 s late, sends an error at turn 6, and ends each chat after
# 16 s as its 30-minute cap does (E0712, close 1000). Each call goes on, on
# a resumed chat of the same chat group: the caller hears the agent again
# after each fault, and the call ends normally, stored once, with every
# utterance once (short replies, each its own text) and the same chat
# group throughout.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"
. "$TOP/test/lib-stack.sh"

export EVB_RUN_DIR=$TMP/run
export HUME_API_KEY=t8060-key TWILIO_AUTH_TOKEN=t8060-token EVB_API_TOKEN=t8060-api
ING=$(free_port)
API=$(free_port)
FH=$(free_port)
NCALLS=4
MAXDUR_S=16
# How soon after each fault every caller must hear a new agent reply (a
# reply that begins at least 1 s after the fault: see heard_after). The
# callers speak 1 s in every 3 s; the next turn is due within 3 s of a
# fault, the late answer 2.5 s after its turn.
HEAR_S=${T8060_HEAR_S:-6}

test_expect_success_here 'PostgreSQL, a misbehaving EVI stand-in and the stack' '
	pg_start &&
	for n in 1 2 3 4 5 6 7 8 9 10; do echo "reply $n Reply $n."; done >scenario &&
	cat >>scenario <<-EOF &&
	reply * Another reply.
	at turn 2 drop
	delay 4 2500
	at turn 6 error E0500 internal_error something went wrong on our side
	EOF
	mono >fh-t0 &&
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$FH --no-espeak \
		--scenario scenario --max-duration-s $MAXDUR_S --record $TMP/fakehume.jsonl &&
	stack_env t8060 EVB_DRAIN_S=15 &&
	evb_start_ready sv evb-supervise --config evb.env
'

# 24 s of caller speech: 1 s of tone, 2 s of silence, 8 times (turn N ends
# about 3N - 1.5 s into the call).
sox -n -r 16000 -b 16 -c 1 talk.wav synth 1 sine 300 vol 0.5 pad 0 2 repeat 7

test_expect_success_here "$NCALLS calls run to their end" '
	i=0 &&
	while [ $i -lt $NCALLS ]; do
		if [ $i -lt 2 ]; then prov=twilio; else prov=vonage; fi &&
		evb_start call$i evb-call --provider $prov --url http://127.0.0.1:$ING \
			--play talk.wav --out c$i --timeout-s 60 || break
		i=$((i + 1))
	done &&
	i=0 && bad=0 &&
	while [ $i -lt $NCALLS ]; do
		evb_wait call$i; rc=$?
		if [ $rc -ne 0 ] || ! grep -q "^ended=caller" $TMP/call$i.out ||
			! grep -q "^reconnects=0\$" $TMP/call$i.out; then
			echo "call$i: exit $rc"; cat $TMP/call$i.out $TMP/call$i.log; bad=1
		fi
		i=$((i + 1))
	done &&
	test $bad -eq 0
'

# faults: "chat_group_id fault t_ms" from evb-fakehume's record (t: ms since
# it started): drop (the connection it dropped), late (turn 4 ended, its
# answer delayed), error (E0500 sent), maxdur (E0712 sent).
faults() {
	perl -MJSON::PP -e '
		my %group;
		while (<STDIN>) {
			my $r = eval { decode_json($_) } or next;
			my ($ev, $c, $t) = ($r->{ev} // "", $r->{conn} // 0, $r->{t});
			$group{$c} = $r->{chat_group_id} if $ev eq "open";
			my $g = $group{$c} // next;
			if ($ev eq "close" && ($r->{code} // 0) == 1006) { print "$g drop $t\n" }
			elsif ($ev eq "turn" && $r->{turn} == 4) { print "$g late $t\n" }
			elsif ($ev eq "sent" && ($r->{msg}{type} // "") eq "error") {
				my $code = $r->{msg}{code} // "";
				print "$g error $t\n" if $code eq "E0500";
				print "$g maxdur $t\n" if $code eq "E0712";
			}
		}' <$TMP/fakehume.jsonl
}

test_expect_success 'every chat group saw the four faults, once each' '
	faults >faults && cat faults &&
	for f in drop late error maxdur; do
		test $(grep -c " $f " faults) -eq $NCALLS || { echo "$f: not $NCALLS"; return 1; }
	done &&
	test $(cut -d" " -f1 faults | sort -u | wc -l) -eq $NCALLS
'

test_expect_success 'each call stayed in one chat group: the first chat, then resumed ones' '
	jq -r "select(.ev == \"open\") | \"\(.chat_group_id) \(.resumed)\"" fakehume.jsonl >opens &&
	for g in $(cut -d" " -f1 faults | sort -u); do
		test $(grep -c "^$g false\$" opens) -eq 1 &&
		test $(grep -c "^$g true\$" opens) -ge 2 || { echo "group $g:"; grep "^$g" opens; return 1; }
	done &&
	test $(grep -c " false\$" opens) -eq $NCALLS
'

test_expect_success_here 'the events drain to PostgreSQL' '
	wait_for "test \"\$(health events_pending)\" = 0" 30 &&
	q="SELECT count(*) FROM calls WHERE status = '"'"'completed'"'"' AND ended_at IS NOT NULL" &&
	wait_for "test \"\$(pg_query \"$q\")\" -ge $NCALLS" 30
'

test_expect_success 'after each fault, every caller heard the agent again' '
	pg_query "SELECT DISTINCT payload->>'"'"'chat_group_id'"'"', call_id FROM call_events
		WHERE type = '"'"'chat.metadata'"'"'" | tr "|" " " >groups &&
	test $(wc -l <groups) -eq $NCALLS &&
	test $(cut -d" " -f2 groups | sort -u | wc -l) -eq $NCALLS &&
	t0=$(cat fh-t0) && i=0 && : >heard &&
	while [ $i -lt $NCALLS ]; do
		id=$(jq -r "select(.kind == \"open\") | .call_id" c$i/messages.jsonl | head -n 1) &&
		g=$(awk -v id=$id "\$2 == id { print \$1 }" groups) && test -n "$g" &&
		for f in drop late error maxdur; do
			t=$(awk -v g=$g -v f=$f "\$1 == g && \$2 == f { print \$3; exit }" faults) &&
			ms=$(heard_after c$i $((t0 + t * 1000000)) $HEAR_S) ||
				{ echo "c$i: agent not heard within $HEAR_S s of the $f ($ms ms)"; return 1; }
			echo "$f $ms" >>heard
		done || return 1
		i=$((i + 1))
	done &&
	for f in drop late error maxdur; do
		echo "$f: worst $(awk -v f=$f "\$1 == f && \$2 > m { m = \$2 } END { print m + 0 }" heard) ms"
	done >heard-worst
'
test -f heard-worst && say "new agent reply heard after each fault: $(tr "\n" " " <heard-worst)"

test_expect_success 'each call stored once, completed, in one chat group; EVI errors recorded' '
	test "$(pg_query "SELECT count(*) FROM calls")" -eq $NCALLS &&
	pg_query "SELECT c.id FROM calls c WHERE c.status <> '"'"'completed'"'"'
		OR (SELECT count(*) FROM call_events e WHERE e.call_id = c.id AND e.type = '"'"'call.started'"'"') <> 1
		OR (SELECT count(*) FROM call_events e WHERE e.call_id = c.id AND e.type = '"'"'call.ended'"'"') <> 1
		OR (SELECT count(DISTINCT e.payload->>'"'"'chat_group_id'"'"') FROM call_events e
			WHERE e.call_id = c.id AND e.type = '"'"'chat.metadata'"'"') <> 1
		OR (SELECT count(*) FROM call_events e WHERE e.call_id = c.id AND e.type = '"'"'chat.metadata'"'"') < 3
		OR NOT EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = c.id AND e.type = '"'"'error'"'"'
			AND e.payload->>'"'"'code'"'"' = '"'"'E0500'"'"')
		OR NOT EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = c.id AND e.type = '"'"'error'"'"'
			AND e.payload->>'"'"'code'"'"' = '"'"'E0712'"'"')" >bad &&
	empty bad
'

test_expect_success 'every utterance EVI sent stored exactly once' '
	pg_query "SELECT call_id, role, text FROM utterances" | tr "|" " " | sort >stored &&
	sort stored | uniq -d >dups && empty dups &&
	sent_utterances all | sort >sent &&
	test $(wc -l <sent) -ge $((NCALLS * 10)) &&
	comm -23 sent stored >lost && empty lost &&
	comm -13 sent stored >extra && empty extra &&
	say "$(wc -l <stored) utterances stored, as sent"
'

test_expect_success_here 'SIGTERM: all five exit 0, then the stand-ins stop' '
	kill -TERM $(evb_pid sv) && { evb_wait sv; rc=$?; } &&
	for p in api ingress transcode hume logger; do
		grep -q "supervise: evb-$p (pid [0-9]*) exited 0\$" $TMP/sv.log ||
			{ echo "evb-$p did not exit 0:"; grep "evb-$p" $TMP/sv.log | tail -n 20; rc=1; }
	done &&
	evb_stop fakehume && pg_stop && test $rc -eq 0
'

test_done
