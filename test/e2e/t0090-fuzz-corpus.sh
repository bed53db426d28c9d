#!/bin/sh
# Replays every fuzz target's corpus (test/fuzz/corpus/<target>/) through its
# standalone build: each input must run without a crash or sanitizer report.
. "$(dirname "$0")/../lib.sh"

for src in "$TOP"/test/fuzz/fuzz-*.c; do
	t=$(basename "$src" .c)
	name=${t#fuzz-}
	test_expect_success "$t: has a seed corpus" '
		test -d "$TOP/test/fuzz/corpus/$name" &&
		test -n "$(ls "$TOP/test/fuzz/corpus/$name")"
	'
	test_expect_success "$t: every corpus input runs cleanly" '
		"$EVB_BUILD/fuzz/$t" "$TOP/test/fuzz/corpus/$name" >replay.tap &&
		! grep -q "^not ok" replay.tap &&
		test $(grep -c "^ok" replay.tap) -eq $(($(ls "$TOP/test/fuzz/corpus/$name" | wc -l) + 1))
	'
done

test_done
