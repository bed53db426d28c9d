#!/bin/sh
# Frames per second per core through `evb-transcode --stdio` on a long input:
# 10 minutes of caller audio (mu-law 8 kHz) and 10 minutes of agent audio
# (48 kHz WAV chunks of 1 s), for one call. CPU time is user+sys of the
# transcoder alone (its input is prepared first and read from a file).
# Usage: bench/transcode-throughput.sh BUILD_DIR
set -eu
B=${1:-build}
out=${B}/bench
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
C=bbbbbbbb-0000-4000-8000-00000000beef
sox -n -r 8000 -b 16 -c 1 "$tmp/caller.wav" synth 600 sine 300-3000 vol 0.5
sox -n -r 48000 -b 16 -c 1 "$tmp/agent.wav" synth 600 sine 200-6000 vol 0.5
"$B/evb-wav" to-frames --as ulaw/8000 --call $C "$tmp/caller.wav" >"$tmp/up.evbf"
"$B/evb-wav" to-frames --as wav --dir down --chunk-ms 1000 --call $C "$tmp/agent.wav" >"$tmp/down.evbf"

# run NAME INPUT ARGS: prints a table row and appends a JSON object.
json="$out/transcode.json"
echo "[" >"$json"
sep=""
run() {
	name=$1 input=$2 times=$3
	shift 3
	rm -f "$tmp/in.evbf"
	i=0
	while [ $i -lt "$times" ]; do cat "$input" >>"$tmp/in.evbf"; i=$((i + 1)); done
	input=$tmp/in.evbf
	/usr/bin/time -f "%U %S %M" -o "$tmp/time" "$B/evb-transcode" --stdio "$@" \
		<"$input" >"$tmp/out.evbf"
	frames=$("$B/evb-cat" --summary <"$tmp/out.evbf" | grep -c '"kind":"audio"')
	set -- $(cat "$tmp/time")
	awk -v n="$name" -v f="$frames" -v u="$1" -v s="$2" -v m="$3" -v sep="$sep" -v j="$json" 'BEGIN {
		cpu = u + s; if (cpu < 0.01) cpu = 0.01;
		fps = f / cpu; rt = fps * 0.02;
		printf "| %s | %d | %.2f | %.0f | %.0f | %.0f | %d |\n", n, f, cpu, fps, rt, cpu * 1e9 / f, m;
		printf "%s{\"path\":\"%s\",\"frames_out\":%d,\"cpu_s\":%.3f,\"frames_per_cpu_s\":%.0f,\"calls_per_core\":%.0f,\"ns_per_frame\":%.0f,\"max_rss_kib\":%d}\n", sep, n, f, cpu, fps, rt, cpu * 1e9 / f, m >> j;
	}'
	sep=","
}
echo "evb-transcode --stdio throughput (600 s of audio, repeated N times, per path; one call)"
echo
echo "| path | frames out | CPU s | frames/s per core | calls per core (x real time) | ns/frame incl. I/O | max RSS KiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
run "ulaw/8000 -> l16/8000 (caller, default)" "$tmp/up.evbf" 40
run "ulaw/8000 -> l16/16000 (caller, --hume-rate 16000)" "$tmp/up.evbf" 4 --hume-rate 16000
run "wav/48000 -> ulaw/8000 (agent, Twilio)" "$tmp/down.evbf" 1 --to ulaw/8000
run "wav/48000 -> l16/16000 (agent, Vonage)" "$tmp/down.evbf" 1 --to l16/16000
echo "]" >>"$json"
echo
echo "JSON: $json"
