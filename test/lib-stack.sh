# Helpers for the e2e tests that run the whole stack with evb-fakehume
# (sourced after test/lib.sh). Expect $ING (evb-ingress's port) and
# $TMP/fakehume.jsonl (evb-fakehume --record).

# stack_env TAG [KEY=VALUE ...]: writes evb.env for the whole stack under
# evb-supervise: evb-ingress on $ING, evb-api on $API, evb-fakehume on $FH
# as EVI, PostgreSQL at $DATABASE_URL, run files in $EVB_RUN_DIR; TAG
# (t8000...) names the Twilio account and the EVI config; then the extra
# settings given.
stack_env() {
	tag=$1
	shift
	{
		printf 'TWILIO_ACCOUNT_SID=AC%s%0*d\n' "$tag" $((32 - ${#tag})) 0
		echo "PUBLIC_BASE_URL=http://127.0.0.1:$ING"
		echo "EVB_LISTEN=127.0.0.1:$ING"
		echo "EVB_API_LISTEN=127.0.0.1:$API"
		echo "EVB_RUN_DIR=$EVB_RUN_DIR"
		echo "HUME_EVI_URL=ws://127.0.0.1:$FH/v0/evi/chat"
		echo "HUME_CONFIG_ID=$tag-config"
		echo "DATABASE_URL=$DATABASE_URL"
		for kv in "$@"; do echo "$kv"; done
	} >evb.env
}

# empty FILE: true if FILE is empty, else shows it and fails.
empty() { test ! -s "$1" || { echo "$1:"; cat "$1"; return 1; }; }

# health FIELD: one field of evb-ingress's /healthz.
health() { curl -s "http://127.0.0.1:$ING/healthz" | jq -r ".$1"; }

# replies: how many assistant messages evb-fakehume has sent.
replies() { grep -c '"ev":"sent","msg":{"type":"assistant_message"' $TMP/fakehume.jsonl; }

# sent_utterances: the final user and assistant messages evb-fakehume sent,
# as "call_id role text" lines (groups file: "chat_group_id call_id"). On a
# connection that broke (evb-hume killed), what was sent in its last 300 ms
# is left out, and so is a reply still playing then: evb-hume holds an
# assistant utterance until the reply ends (assistant_end) or is
# interrupted, to mark it, and a killed evb-hume never sent it. With
# "all" (no daemon killed), nothing is left out.
sent_utterances() {
	ALL=${1:-} perl -MJSON::PP -e '
		my (%group, %broke, %done, @sent, %call);
		open my $g, "<", "groups" or die "groups: $!\n";
		while (<$g>) { chomp; my ($grp, $id) = split / /; $call{$grp} = $id }
		while (<STDIN>) {
			my $r = eval { decode_json($_) } or next;
			my ($ev, $c) = ($r->{ev} // "", $r->{conn} // 0);
			$group{$c} = $r->{chat_group_id} if $ev eq "open";
			$broke{$c} //= $r->{t} if $ev eq "close" && ($r->{code} // 0) != 1000;
			next unless $ev eq "sent" && ref $r->{msg} eq "HASH";
			my $m = $r->{msg};
			my $type = $m->{type} // "";
			push @{$done{$c}}, $r->{t} if $type =~ /^(assistant_end|user_interruption)$/;
			next unless $type =~ /^(user|assistant)_message$/ && !$m->{interim};
			push @sent, [$c, $r->{t}, $m->{message}{role}, $m->{message}{content}];
		}
		for (@sent) {
			my ($c, $t, $role, $text) = @$_;
			if (defined $broke{$c} && !$ENV{ALL}) {
				my $end = $broke{$c} - 300;
				next if $t > $end;
				next if $role eq "assistant" &&
					!grep { $_ >= $t && $_ <= $end } @{$done{$c} // []};
			}
			print $call{$group{$c}} // "group-$group{$c}", " $role $text\n";
		}' <$TMP/fakehume.jsonl
}

# Monotonic time in ns, the clock of evb-call's messages.jsonl (t_ns).
mono() { perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e \
	'printf "%.0f\n", clock_gettime(CLOCK_MONOTONIC) * 1e9'; }

# child_pid NAME: the pid of evb-NAME under evb-supervise, if it is up.
child_pid() { evb-supervise status | awk -v p="evb-$1" '$1 == p && $2 == "up" { print $3 }'; }

# heard_after CALL T0 LIMIT_S: the agent's replies reach CALL again after a
# restart at T0 (ns): the first reply to begin (a frame after 300 ms of
# none) later than T0 + 1 s, so one that answers caller audio that went
# through the restarted daemon, begins within LIMIT_S of T0. Prints its
# delay in ms.
heard_after() {
	perl -e '
		my ($f, $t0, $lim) = @ARGV; my ($prev, $first);
		open my $h, "<", $f or die "$f: $!\n";
		while (<$h>) {
			next unless /"kind":"(media|binary)"/ && /"t_ns":(\d+)/;
			my $t = $1;
			if ($t > $t0 + 1e9 && (!defined $prev || $t - $prev >= 300e6)) { $first = $t; last }
			$prev = $t;
		}
		unless (defined $first) { print "never\n"; exit 1 }
		my $ms = ($first - $t0) / 1e6;
		printf "%.0f\n", $ms;
		exit($ms <= $lim * 1000 ? 0 : 1);' "$1/messages.jsonl" "$2" "$3"
}
