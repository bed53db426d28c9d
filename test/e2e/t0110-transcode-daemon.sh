#!/bin/sh
# evb-transcode as a daemon between a fake evb-ingress and a fake evb-hume
# (evb-sock on its unix sockets): audio both ways, evb-hume arriving late,
# a client sending garbage, kill -9 and restart, SIGTERM.
. "$(dirname "$0")/../lib.sh"

A=aaaaaaaa-0000-4000-8000-000000000001
RUN=$TMP/run
export EVB_RUN_DIR=$RUN
frames() { evb-cat --summary <"$1" | grep -c "$2"; }

test_expect_success 'test audio' '
	sox -n -r 8000 -b 16 -c 1 caller.wav synth 1 sine 440 vol 0.5 &&
	sox -n -r 48000 -b 16 -c 1 agent.wav synth 0.5 sine 1000 vol 0.5 &&
	evb-wav to-frames --as ulaw/8000 --call $A caller.wav >up.evbf &&
	evb-wav to-frames --as wav --dir down --chunk-ms 100 --call $A agent.wav >down.evbf
'

test_expect_success_here 'the daemon reports readiness and listens on transcode.sock' '
	evb_start_ready transcode evb-transcode &&
	test -S $RUN/transcode.sock
'

test_expect_success 'evb-hume appearing after the daemon is found (link retries)' '
	grep -q "unable to connect\|connecting\|hume" $TMP/transcode.log &&
	evb_start hume evb-sock --listen --send down.evbf --recv hume.in --count 50 \
		--timeout-s 20 $RUN/hume.sock &&
	wait_for "grep -q \"connected to evb-hume\" $TMP/transcode.log" 10 &&
	evb-sock --send up.evbf --recv ingress.in --count 25 --timeout-s 20 $RUN/transcode.sock &&
	evb_wait hume
'

test_expect_success 'evb-hume got the caller audio as L16 8 kHz 20 ms frames' '
	test $(frames hume.in "\"codec\":\"l16\",\"rate\":8000,.*\"len\":320") -eq 50
'

test_expect_success 'the caller side got the agent audio as mu-law 20 ms frames' '
	test $(frames ingress.in "\"codec\":\"ulaw\",\"rate\":8000,.*\"len\":160") -eq 25 &&
	evb-cat --summary <ingress.in | tail -n 1 | grep -q "\"end\":true"
'

test_expect_success 'metrics: frames counted, hop latency observed, a call active' '
	metrics transcode >m.txt &&
	grep -q "^evb_transcode_frames_in_total 55$" m.txt &&
	grep -q "^evb_transcode_frames_out_total 75$" m.txt &&
	grep -q "^evb_transcode_calls_active 1$" m.txt &&
	grep -q "^evb_hop_latency_seconds_count{hop=\"transcode\",direction=\"up\"} 50$" m.txt &&
	grep -q "^evb_hop_latency_seconds_count{hop=\"transcode\",direction=\"down\"} 25$" m.txt
'

test_expect_success 'a client sending garbage is cut off; the daemon serves the next' '
	printf "GET / HTTP/1.1\r\n\r\n" >garbage &&
	evb-sock --send garbage --linger-ms 200 --timeout-s 5 $RUN/transcode.sock >/dev/null 2>&1;
	wait_for "grep -q \"bad magic\" $TMP/transcode.log" &&
	evb_alive transcode &&
	evb_start hume evb-sock --listen --recv hume2.in --count 50 --timeout-s 20 $RUN/hume.sock &&
	wait_for "test \$(grep -c \"connected to evb-hume\" $TMP/transcode.log) -ge 2" 10 &&
	evb-sock --send up.evbf --linger-ms 100 --timeout-s 20 $RUN/transcode.sock >/dev/null &&
	evb_wait hume &&
	test $(frames hume2.in "\"len\":320") -eq 50
'

test_expect_success_here 'after kill -9 and a restart, calls carry on from frame headers' '
	kill -KILL $(evb_pid transcode) && wait_for "! evb_alive transcode" &&
	test -S $RUN/transcode.sock &&
	evb_start_ready transcode evb-transcode &&
	evb_start hume evb-sock --listen --send down.evbf --recv hume3.in --count 50 \
		--timeout-s 20 $RUN/hume.sock &&
	wait_for "grep -q \"connected to evb-hume\" $TMP/transcode.log" 10 &&
	evb-sock --send up.evbf --recv ingress3.in --count 25 --timeout-s 20 $RUN/transcode.sock &&
	evb_wait hume &&
	test $(frames hume3.in "\"len\":320") -eq 50 &&
	test $(frames ingress3.in "\"len\":160") -eq 25
'

test_expect_success_here 'a call idle for --idle-s has its state freed' '
	kill -TERM $(evb_pid transcode) && { wait $(evb_pid transcode); test $? -eq 0; } &&
	evb_start_ready transcode evb-transcode --idle-s 1 &&
	evb-sock --send up.evbf --linger-ms 50 --timeout-s 10 $RUN/transcode.sock >/dev/null &&
	wait_for "grep -q \"call=$A idle: state freed\" $TMP/transcode.log" 5
'

test_expect_success_here 'SIGTERM: exits 0 and removes its socket' '
	kill -TERM $(evb_pid transcode) &&
	{ wait $(evb_pid transcode); test $? -eq 0; } &&
	test ! -e $RUN/transcode.sock
'

test_done
