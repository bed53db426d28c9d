#!/bin/sh
# Issue 8, memcheck: evb-ingress, evb-transcode and evb-hume under valgrind
# for one full call (a Twilio call from evb-call, EVI played by
# evb-fakehume, events caught by evb-sock standing in for evb-logger), then
# SIGTERM: each exits 0, with no memory error and no definite or indirect
# leak (valgrind --error-exitcode). valgrind comes from scripts/install-deps.
. "$(dirname "$0")/../lib.sh"

test_expect_success 'valgrind is installed' 'command -v valgrind'

RUN=$TMP/run
ING=$(free_port)
FH=$(free_port)
BASE=http://127.0.0.1:$ING
export EVB_RUN_DIR=$RUN PUBLIC_BASE_URL=$BASE EVB_LISTEN=127.0.0.1:$ING
export TWILIO_AUTH_TOKEN=t8030-auth-token EVB_MEDIA_SECRET=t8030-media-secret
export HUME_API_KEY=t8030-key
mkdir -p "$RUN"
# Under valgrind a daemon starts and runs some 20 times slower.
EVB_READY_TIMEOUT=60
export EVB_READY_TIMEOUT

# The plain build: ASan's (EVB_BUILD=build/asan) does not run under valgrind.
VG_BUILD=$TOP/build
vg() {
	n=$1
	shift
	exec valgrind -q --error-exitcode=42 --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --track-fds=no --log-file="$TMP/vg-$n.txt" \
		"$VG_BUILD/evb-$n" "$@"
}
vg_start() { evb_start_ready "$1" vg "$@"; }
# stop_vg NAME: SIGTERM, then its exit status must be 0 (42: valgrind found
# something, in vg-NAME.txt).
stop_vg() {
	pid=$(evb_pid "$1") && kill -TERM "$pid" &&
	{ wait "$pid"; rc=$?; } &&
	{ [ $rc -eq 0 ] || { echo "evb-$1 exited $rc"; cat "$TMP/vg-$1.txt"; return 1; }; }
}

test_expect_success_here 'the stand-ins, then the three daemons under valgrind' '
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$FH --no-espeak \
		--record $TMP/fakehume.jsonl &&
	evb_start logger evb-sock --listen --recv events.evbf --timeout-s 250 $RUN/logger.sock &&
	wait_for "test -S $RUN/logger.sock" &&
	vg_start hume --HUME_EVI_URL=ws://127.0.0.1:$FH/v0/evi/chat &&
	vg_start transcode &&
	vg_start ingress
'

test_expect_success 'one call goes end to end' '
	sox -n -r 8000 -b 16 -c 1 talk.wav synth 1 sine 300 vol 0.5 pad 0 1 repeat 1 &&
	evb-call --url $BASE --play talk.wav --out c --timeout-s 60 >c.stats &&
	grep -q "^ended=caller" c.stats && grep -q "^frames=[1-9]" c.stats &&
	wait_for "grep -q \"\\\"ev\\\":\\\"close\\\"\" $TMP/fakehume.jsonl" 20
'

test_expect_success_here 'SIGTERM: each exits 0, memcheck clean' '
	stop_vg ingress && stop_vg transcode && stop_vg hume &&
	test -f $TMP/vg-ingress.txt && test -f $TMP/vg-transcode.txt && test -f $TMP/vg-hume.txt &&
	evb_stop logger && evb_stop fakehume
'

test_done
