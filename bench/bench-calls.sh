#!/bin/sh
# bench-calls.sh [BUILD_DIR]: capacity, latency and cost per call. Starts a
# private PostgreSQL (scripts/pg-local, in a temp dir), evb-fakehume
# (--no-espeak) and the whole stack under evb-supervise, then runs evb-load
# for N in a rising series until the bridge falls behind or the series (or
# the time budget) ends. For each N it measures the CPU time (utime+stime
# from /proc/PID/stat) of each evibridge process over the step, its
# resident memory (VmRSS) in the middle of the step, evb-transcode's
# evb_hop_latency_seconds histograms (capture to leaving the hop), and
# evb-load's view (pacing of what callers hear, its own lateness, barge-in
# to clear, first agent audio). Prints a markdown table and writes
# BUILD_DIR/bench/calls.json.
#
# Environment: EVB_BENCH_SERIES ("10 50 100 200 400 700 1000 1500"),
# EVB_BENCH_STEP_S (20: seconds each call streams), EVB_BENCH_BUDGET_S (600),
# EVB_BENCH_BRIDGE_CPU / EVB_BENCH_GEN_CPU (cores for the bridge and for
# evb-load + evb-fakehume + PostgreSQL; default 0 and 1 when there are two or
# more; EVB_BENCH_PIN=0: no pinning), EVB_BENCH_ALL=1 (run the whole series
# even past the first step that falls behind), EVB_BENCH_KEEP=1 (keep the temp dir),
# EVB_BENCH_PERF=1 (perf record the evibridge processes for 5 s in the middle
# of each step; the top symbols go to BUILD_DIR/bench/perf-N.txt, the share
# of each process and library to perf-N-dso.txt).
# The load average is printed at the start and after each step: on a shared
# machine, other work starves the generator (see gen late) and the bridge.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
series=${EVB_BENCH_SERIES:-"10 50 100 200 400 700 1000 1500"}
step_s=${EVB_BENCH_STEP_S:-20}
budget_s=${EVB_BENCH_BUDGET_S:-600}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evb-bench-calls.XXXXXX")
chmod 0755 "$tmp"
out=$build/bench
mkdir -p "$out"
fh_pid="" sv_pid=""
PATH=$build:$PATH

cleanup() {
	[ -z "$sv_pid" ] || { kill -TERM "$sv_pid" 2>/dev/null && wait "$sv_pid" 2>/dev/null; } || true
	[ -z "$fh_pid" ] || { kill -TERM "$fh_pid" 2>/dev/null && wait "$fh_pid" 2>/dev/null; } || true
	EVB_PG_DIR=$tmp/pg sh "$top/scripts/pg-local" stop >/dev/null 2>&1 || true
	if [ -n "${EVB_BENCH_KEEP:-}" ]; then
		echo "# kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ncpu=$(nproc)
if [ "$ncpu" -ge 2 ] && [ "${EVB_BENCH_PIN:-1}" != 0 ]; then
	bridge_cpu=${EVB_BENCH_BRIDGE_CPU:-0}
	gen_cpu=${EVB_BENCH_GEN_CPU:-1}
	pin_bridge="taskset -c $bridge_cpu"
	pin_gen="taskset -c $gen_cpu"
	how="bridge pinned to core $bridge_cpu; evb-load, evb-fakehume and PostgreSQL to core $gen_cpu"
else
	pin_bridge="" pin_gen=""
	how="not pinned: bridge, generator and evb-fakehume share $ncpu CPU(s)"
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() {
	perl -MIO::Socket::INET -e \
		'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1",LocalPort=>0,ReuseAddr=>1)->sockport, "\n"'
}
wait_file() { # FILE PID: until FILE is non-empty, or PID is gone
	i=0
	until [ -s "$1" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		i=$((i + 1))
		[ $i -le 1500 ] || return 1
		sleep 0.02
	done
}
metrics() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 0;
		print while <$s>;' "$EVB_RUN_DIR/$1.metrics"
}

# PostgreSQL, the EVI stand-in, then the stack.
export EVB_RUN_DIR=$tmp/run HUME_API_KEY=bench-key TWILIO_AUTH_TOKEN=bench-token
export EVB_API_TOKEN=bench-api TWILIO_ACCOUNT_SID=ACbench0000000000000000000000000000
mkdir -p "$EVB_RUN_DIR"
$pin_gen env EVB_PG_DIR="$tmp/pg" sh "$top/scripts/pg-local" start >"$tmp/pg.log" 2>&1 ||
	{ cat "$tmp/pg.log" >&2; exit 1; }
DATABASE_URL=$(EVB_PG_DIR=$tmp/pg sh "$top/scripts/pg-local" url)
export DATABASE_URL
ING=$(free_port) API=$(free_port) FH=$(free_port)
EVB_NOTIFY_FD=3 $pin_gen "$build/evb-fakehume" --listen "127.0.0.1:$FH" --no-espeak \
	3>"$tmp/fh.ready" 2>"$tmp/fh.log" &
fh_pid=$!
wait_file "$tmp/fh.ready" $fh_pid || { tail "$tmp/fh.log" >&2; exit 1; }
cat >"$tmp/evb.env" <<ENV
TWILIO_ACCOUNT_SID=$TWILIO_ACCOUNT_SID
PUBLIC_BASE_URL=http://127.0.0.1:$ING
EVB_LISTEN=127.0.0.1:$ING
EVB_API_LISTEN=127.0.0.1:$API
EVB_RUN_DIR=$EVB_RUN_DIR
HUME_EVI_URL=ws://127.0.0.1:$FH/v0/evi/chat
HUME_CONFIG_ID=bench-config
DATABASE_URL=$DATABASE_URL
EVB_LOG_LEVEL=warning
ENV
EVB_NOTIFY_FD=3 $pin_bridge "$build/evb-supervise" --config "$tmp/evb.env" \
	3>"$tmp/sv.ready" >"$tmp/sv.out" 2>"$tmp/sv.log" &
sv_pid=$!
wait_file "$tmp/sv.ready" $sv_pid || { tail "$tmp/sv.log" >&2; exit 1; }

# The agent every call asks for: its greeting, sent while the call rings,
# is the first agent audio the caller hears.
psql -q "$DATABASE_URL" -c "INSERT INTO agents (slug, name, greeting) VALUES ('bench', 'Bench', 'Hello, thank you for calling.') ON CONFLICT (slug) DO NOTHING" >/dev/null
procs="ingress transcode hume logger api"
pid_of() { "$build/evb-supervise" status | awk -v p="evb-$1" '$1 == p { print $3 }'; }
for p in $procs; do
	eval "pid_$p=\$(pid_of $p)"
done
cpu_ms() { # PID: utime+stime in ms
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# hist_q BEFORE AFTER METRIC LABELS Q: from two scrapes of a metrics
# socket, the Q-quantile (ms, as the bucket's upper bound) of what histogram
# METRIC's series whose labels contain LABELS observed in between; Q "max"
# gives the highest bucket that grew. ">250" past the last bound, "null"
# for no observation.
hist_q() {
	awk -v metric="$3" -v sel="$4" -v q="$5" '
		index($0, metric "_bucket{") == 1 && index($0, sel) {
			match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
			if (FILENAME == ARGV[1]) b[le] = $NF; else { a[le] = $NF; order[++n] = le }
		}
		END {
			tot = a["+Inf"] - b["+Inf"]
			if (tot <= 0) { print "null"; exit }
			for (i = 1; i <= n; i++) {
				c = a[order[i]] - b[order[i]]
				if ((q == "max" && c == tot) || (q != "max" && c >= q * tot)) {
					print (order[i] == "+Inf" ? ">250" : order[i] * 1000); exit
				}
			}
		}' "$1" "$2"
}
lat() { # FILE_PREFIX METRIC LABELS: "p50 / p99 / max"
	printf '%s / %s / %s' "$(hist_q "$1.before" "$1.after" "$2" "$3" 0.5)" \
		"$(hist_q "$1.before" "$1.after" "$2" "$3" 0.99)" \
		"$(hist_q "$1.before" "$1.after" "$2" "$3" max)"
}

# Memory at rest, before any call.
base_rss=0
for p in $procs; do
	eval "pid=\$pid_$p"
	eval "rss0_$p=$(rss_kib "$pid")"
done
# Idle CPU, subtracted from each step: timers and keepalives cost a little
# whatever the number of calls.
for p in $procs; do eval "pid=\$pid_$p; i0_$p=\$(cpu_ms \$pid)"; done
t_idle0=$(date +%s.%N)
sleep 5
t_idle1=$(date +%s.%N)
for p in $procs; do
	eval "pid=\$pid_$p; i1=\$(cpu_ms \$pid); idle_$p=\$(awk -v a=\$i0_$p -v b=\$i1 -v t0=$t_idle0 -v t1=$t_idle1 'BEGIN { printf \"%.3f\", (b - a) / (t1 - t0) }')"
done
sox -n -r 8000 -b 16 -c 1 "$tmp/prompt.wav" synth 1.2 sine 300 vol 0.5 pad 0 0.1

cat <<EOF
## make bench-calls
$(date -u +%FT%TZ), $(uname -srm), $ncpu CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)); $how; load average before: $(cut -d' ' -f1-3 /proc/loadavg).
Idle CPU (ms per s, subtracted below):$(for p in $procs; do printf ' %s %s' "$p" "$(eval echo "\$idle_$p")"; done).
Each step: N Twilio calls (evb-load, ramp 2 ms per call, agent "bench" with a greeting) each streaming ${step_s} s of a 1.2 s prompt + 2 s pause in a loop against evb-fakehume --no-espeak.
Latencies in ms as p50 / p99 / max (histogram bucket bounds: 0.1 0.25 0.5 1 2.5 5 10 25 50 100 250): caller→EVI is capture at evb-ingress to leaving evb-transcode, and to the audio_input written by evb-hume (the bridge end to end); EVI→caller is audio_output at evb-hume to leaving evb-transcode, and to an utterance's first frame written by evb-ingress when nothing else was queued; interrupt is user_interruption at evb-hume to the clear written by evb-ingress. Barge-in→clear and first audio are the caller's view (evb-load): from the caller starting to talk over the agent (EVI's own detection included) and from the stream's start.

| N | load avg | real time | failed | gen late p99 ms | heard gap p99 / max ms | gaps >40 ms | caller→EVI: transcode; bridge | EVI→caller: transcode; bridge, first frame | interrupt→clear, bridge | barge-in→clear p50/p99 | first audio p50/p99 | CPU ms per call-s: ingress transcode hume logger api = total | RSS KiB per call (total) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
EOF
start=$(date +%s)
headline=0
idle_json=""
for p in $procs; do idle_json="$idle_json\"$p\":$(eval echo "\$idle_$p"),"; done
printf '{"how":"%s","step_s":%s,"idle_cpu_ms_per_s":{%s},"steps":[' "$how" "$step_s" "${idle_json%,}" >"$out/calls.json"
sep=""
for n in $series; do
	now=$(date +%s)
	[ $((now - start + step_s + n / 200 + 10)) -le "$budget_s" ] || { echo "(time budget reached before N=$n)"; break; }
	for p in transcode hume ingress; do metrics $p >"$tmp/$p.before"; done
	for p in $procs; do eval "pid=\$pid_$p; c0_$p=\$(cpu_ms \$pid)"; done
	w0=$(date +%s.%N)
	$pin_gen "$build/evb-load" --calls "$n" --url "http://127.0.0.1:$ING" \
		--play "$tmp/prompt.wav" --duration-s "$step_s" --json "$tmp/load.json" --agent bench \
		>"$tmp/load.out" 2>"$tmp/load.log" &
	load_pid=$!
	sleep $((n * 2 / 1000 + step_s / 2))
	for p in $procs; do eval "pid=\$pid_$p; r_$p=\$(rss_kib \$pid)"; done
	if [ -n "${EVB_BENCH_PERF:-}" ]; then
		pids=$(for p in $procs; do eval "printf '%s,' \$pid_$p"; done)
		perf record -q -F 1999 -g -p "${pids%,}" -o "$tmp/perf.data" -- sleep 5 >/dev/null 2>&1 &&
			perf report -i "$tmp/perf.data" --no-children --sort comm,dso,sym --stdio \
				-g none --percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$' \
				>"$out/perf-$n.txt" &&
			perf report -i "$tmp/perf.data" --no-children --sort comm,dso --stdio -g none \
				2>/dev/null | grep -v '^#' | grep -v '^$' >"$out/perf-$n-dso.txt" || true
	fi
	wait $load_pid || true
	for p in $procs; do eval "pid=\$pid_$p; c1_$p=\$(cpu_ms \$pid)"; done
	w1=$(date +%s.%N)
	for p in transcode hume ingress; do metrics $p >"$tmp/$p.after"; done
	cs=$(jq -r .call_seconds "$tmp/load.json" 2>/dev/null || echo 0)
	[ "$cs" != "0" ] && [ -n "$cs" ] || cs=1
	cpu_row="" cpu_json="" tot=0 rss_tot=0 rss_json=""
	for p in $procs; do
		eval "d=\$(awk -v a=\$c0_$p -v b=\$c1_$p -v s=$cs -v i=\$idle_$p -v w0=$w0 -v w1=$w1 'BEGIN { d = (b - a - i * (w1 - w0)) / s; printf \"%.3f\", d < 0 ? 0 : d }')"
		eval "r=\$(awk -v a=\$rss0_$p -v b=\$r_$p -v n=$n 'BEGIN { printf \"%.1f\", (b - a) / n }')"
		tot=$(awk -v a="$tot" -v b="$d" 'BEGIN { printf "%.3f", a + b }')
		rss_tot=$(awk -v a="$rss_tot" -v b="$r" 'BEGIN { printf "%.1f", a + b }')
		cpu_row="$cpu_row $d"
		cpu_json="$cpu_json\"$p\":$d,"
		rss_json="$rss_json\"$p\":$r,"
	done
	H=evb_hop_latency_seconds
	lat_tu=$(lat "$tmp/transcode" $H 'direction="up"')
	lat_hu=$(lat "$tmp/hume" $H 'direction="up"')
	lat_td=$(lat "$tmp/transcode" $H 'direction="down"')
	lat_id=$(lat "$tmp/ingress" $H 'direction="down_first"')
	lat_ir=$(lat "$tmp/ingress" evb_interrupt_latency_seconds '')
	j=$tmp/load.json
	[ -s "$j" ] || echo '{"realtime":0,"failed":-1}' >"$j"
	rt=$(jq -r .realtime "$j")
	gok=$(jq -r '.generator_ok // 0' "$j")
	if [ "$gok" != 1 ]; then verdict="no verdict (generator late)"
	elif [ "$rt" = 1 ]; then verdict=yes
	else verdict=NO; fi
	la=$(cut -d' ' -f1 /proc/loadavg)
	printf '| %s | %s | %s | %s | %s | %s / %s | %s | %s; %s | %s; %s | %s | %s / %s | %s / %s | %s = %s | %s |\n' \
		"$n" "$la" "$verdict" "$(jq -r .failed "$j")" \
		"$(jq -r .gen_late_p99_ms "$j")" "$(jq -r .gap_p99_ms "$j")" "$(jq -r .gap_max_ms "$j")" \
		"$(jq -r .gaps_over_40ms "$j")" "$lat_tu" "$lat_hu" "$lat_td" "$lat_id" "$lat_ir" \
		"$(jq -r .bargein_to_clear_p50_ms "$j")" "$(jq -r .bargein_to_clear_p99_ms "$j")" \
		"$(jq -r .first_audio_p50_ms "$j")" "$(jq -r .first_audio_p99_ms "$j")" \
		"$cpu_row" "$tot" "$rss_tot"
	printf '%s{"n":%s,"loadavg":%s,"load":%s,"cpu_ms_per_call_s":{%s"total":%s},"rss_kib_per_call":{%s"total":%s},"latency_ms_p50_p99_max":{"transcode_up":"%s","bridge_up":"%s","transcode_down":"%s","bridge_down_first":"%s","interrupt_to_clear":"%s"}}' \
		"$sep" "$n" "$la" "$(cat "$j")" "$cpu_json" "$tot" "$rss_json" "$rss_tot" \
		"$lat_tu" "$lat_hu" "$lat_td" "$lat_id" "$lat_ir" >>"$out/calls.json"
	sep=","
	cp "$tmp/load.out" "$out/load-$n.txt"
	if [ "$verdict" = yes ]; then
		headline=$n
	else
		tail -n 3 "$tmp/load.log" | sed 's/^/    /'
		[ -n "${EVB_BENCH_ALL:-}" ] || break
	fi
done
printf '],"headline":%s}\n' "$headline" >>"$out/calls.json"
echo
echo "Largest N in real time: **$headline** (build/bench/calls.json)"
