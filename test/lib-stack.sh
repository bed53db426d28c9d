# Helpers for the e2e tests that run the whole stack with evb-fakehume
# (sourced after test/lib.sh). Expect $ING (evb-ingress's port) and
# $TMP/fakehume.jsonl (evb-fakehume --record).

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
# interrupted, to mark it, and a killed evb-hume never sent it.
sent_utterances() {
	perl -MJSON::PP -e '
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
			if (defined $broke{$c}) {
				my $end = $broke{$c} - 300;
				next if $t > $end;
				next if $role eq "assistant" &&
					!grep { $_ >= $t && $_ <= $end } @{$done{$c} // []};
			}
			print $call{$group{$c}} // "group-$group{$c}", " $role $text\n";
		}' <$TMP/fakehume.jsonl
}
