#!/bin/sh
# evb-supervise: ordered start with readiness, restart after kill -9, backoff
# for a crash loop, no restart after exit 100, SIGHUP restarts only the
# children whose settings changed, SIGTERM stops everything, status.
. "$(dirname "$0")/../lib.sh"

export EVB_RUN_DIR=$TMP/run
printf 'EVB_RESAMPLE_QUALITY=5\nTWILIO_PHONE_NUMBER=+15550000001\n' >evb.env

# Fake children: shell scripts standing in for the daemons.
mkdir fake
cat >fake/evb-transcode <<'SH'
#!/bin/sh
# Ready at once, then waits for SIGTERM.
trap 'exit 0' TERM
echo "fake transcode started" >&2
echo >&3
while :; do sleep 1; done
SH
cat >fake/evb-hume <<'SH'
#!/bin/sh
echo "crashing" >&2
exit 1
SH
cat >fake/evb-ingress <<'SH'
#!/bin/sh
echo "HUME_CONFIG_ID: malformed" >&2
exit 100
SH
chmod +x fake/*

test_expect_success_here 'starts the real evb-transcode and reports readiness' '
	evb_start_ready sv evb-supervise --config evb.env --services transcode &&
	grep -q "^evibridge up: evb-transcode;" $TMP/sv.out &&
	wait_for "grep -q \"evb-transcode is ready\" $TMP/sv.log"
'

test_expect_success 'children stderr is collected, each line prefixed' '
	grep -q "^evb-transcode: .* evb-transcode info daemon: listening on" $TMP/sv.log
'

test_expect_success 'status lists each child with its pid' '
	evb-supervise status >st &&
	grep -q "^evb-transcode *up *[0-9][0-9]* " st
'

test_expect_success 'kill -9 of a child: restarted within 2 s' '
	pid=$(awk "/^evb-transcode/ { print \$3 }" st) &&
	kill -KILL $pid &&
	wait_for "evb-supervise status | grep -q \"^evb-transcode *up .* 1 137\"" 2 &&
	evb-supervise status | awk "/^evb-transcode/ { exit !(\$3 != $pid) }"
'

test_expect_success 'SIGHUP: an unrelated setting changes, the child keeps running' '
	pid=$(evb-supervise status | awk "/^evb-transcode/ { print \$3 }") &&
	sed -i "s/+15550000001/+15550000002/" evb.env &&
	kill -HUP $(evb_pid sv) &&
	wait_for "grep -q \"SIGHUP: configuration re-read\" $TMP/sv.log" 5 &&
	! grep -q "settings of evb-transcode changed" $TMP/sv.log &&
	test "$(evb-supervise status | awk "/^evb-transcode/ { print \$3 }")" = "$pid"
'

test_expect_success 'SIGHUP: its own setting changes, the child is restarted' '
	sed -i "s/EVB_RESAMPLE_QUALITY=5/EVB_RESAMPLE_QUALITY=7/" evb.env &&
	kill -HUP $(evb_pid sv) &&
	wait_for "grep -q \"settings of evb-transcode changed: restarting it\" $TMP/sv.log" 5 &&
	wait_for "evb-supervise status | grep -q \"^evb-transcode *up .* 2 0\"" 5
'

test_expect_success_here 'SIGTERM stops the children and exits 0' '
	kill -TERM $(evb_pid sv) &&
	{ evb_wait sv; test $? -eq 0; } &&
	grep -q "evb-transcode (pid [0-9]*) exited 0" $TMP/sv.log &&
	test ! -e $EVB_RUN_DIR/supervise.sock &&
	test ! -e $EVB_RUN_DIR/transcode.sock
'

# The delay counts from the crashed start: 1 s, then 2 s, less the
# milliseconds the child lived.
test_expect_success_here 'a child in a crash loop is restarted ever more slowly' '
	evb_start sv2 evb-supervise --bin-dir $TMP/fake --services transcode,hume &&
	wait_for "test \$(grep -c \"started evb-hume\" $TMP/sv2.log) -ge 3" 10 &&
	grep "restarting evb-hume in" $TMP/sv2.log >restarts &&
	sed -n 1p restarts | grep -Eq "in (9[0-9][0-9]|1000) ms" &&
	sed -n 2p restarts | grep -Eq "in (19[0-9][0-9]|2000) ms" &&
	kill -TERM $(evb_pid sv2) && evb_wait sv2
'

test_expect_success_here 'a configuration error (exit 100) stops the start-up: exit 100, no loop' '
	evb_start sv3 evb-supervise --bin-dir $TMP/fake --services transcode,ingress &&
	{ evb_wait sv3; test $? -eq 100; } &&
	test $(grep -c "started evb-ingress" $TMP/sv3.log) -eq 1 &&
	grep -q "evb-ingress exited 100: a configuration error; not restarting" $TMP/sv3.log &&
	grep -q "^evb-ingress: HUME_CONFIG_ID: malformed" $TMP/sv3.log
'

test_expect_success 'unknown service and missing program: exit 100' '
	test_exit_code 100 evb-supervise --services transcode,bogus 2>err &&
	grep -q "unknown service .bogus." err &&
	test_exit_code 100 evb-supervise --bin-dir $TMP/nowhere --services transcode 2>err &&
	grep -q "not found" err
'

test_done
