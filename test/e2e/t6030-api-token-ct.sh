#!/bin/sh
# Issue 8, security: evb-api's token check (evb_token_ok) is constant-time,
# shown without timing anything (timed tests are too noisy here) by the
# ctgrind technique: test-token-ct marks the secret token's hash undefined
# for valgrind memcheck, so that memcheck reports every branch or memory
# index that depends on it. The check must run clean; the same run with a
# memcmp-based check (the negative control) must be caught, which shows
# that the marking reaches the comparison. valgrind comes from
# scripts/install-deps.
. "$(dirname "$0")/../lib.sh"

# The plain build: ASan's (EVB_BUILD=build/asan) does not run under valgrind.
CT=$TOP/build/test/test-token-ct

# ctgrind MODE: the TAP test under memcheck; its report in vg-MODE.txt.
ctgrind() {
	valgrind --error-exitcode=42 --log-file="$TMP/vg-$1.txt" "$CT" "$1" >"$TMP/tap-$1.txt"
}

test_expect_success 'valgrind and the test program are there' '
	command -v valgrind && test -x "$CT"
'

test_expect_success 'evb_token_ok: no branch on the secret, every answer right' '
	ctgrind evb &&
	grep -q "ERROR SUMMARY: 0 errors" vg-evb.txt &&
	! grep -q "uninitialised" vg-evb.txt &&
	grep -q "^1\.\.6\$" tap-evb.txt && ! grep -q "^not ok" tap-evb.txt
'

test_expect_success 'negative control: a memcmp-based check is caught' '
	{ ctgrind memcmp; rc=$?; } &&
	test $rc -eq 42 &&
	grep -A1 "Conditional jump or move depends on uninitialised value" vg-memcmp.txt |
		grep -q "memcmp_token_ok" &&
	! grep -q "^not ok" tap-memcmp.txt
'

test_done
