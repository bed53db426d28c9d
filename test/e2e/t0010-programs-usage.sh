#!/bin/sh
# Every program: -h/--help and -V/--version on stdout with status 0; bad
# usage prints "usage:" on stderr and exits 100 (STYLE.md).
. "$(dirname "$0")/../lib.sh"

progs=$(ls "$EVB_BUILD"/evb-* | grep -v '\.d$')

test_expect_success 'there are programs to check' '
	test -n "$progs"
'

for p in $progs; do
	name=$(basename "$p")
	test_expect_success "$name --help prints usage on stdout, exit 0" '
		"$p" --help >out 2>err &&
		grep -q "^usage: $name" out &&
		test ! -s err &&
		"$p" -h >out2 && cmp out out2
	'
	test_expect_success "$name --version prints the version, exit 0" '
		"$p" --version >out &&
		grep -q "^$name [0-9]" out
	'
	test_expect_success "$name rejects an unknown option with status 100" '
		test_exit_code 100 "$p" --no-such-option </dev/null >out 2>err &&
		grep -q "usage:" err &&
		test ! -s out
	'
done

test_expect_success 'a malformed configuration key exits 100 naming the key' '
	test_exit_code 100 evb-transcode --EVB_LISTEN=nonsense --stdio </dev/null 2>err &&
	grep -q EVB_LISTEN err
'

test_expect_success 'an unknown key in the config file exits 100 naming it' '
	printf "EVB_NO_SUCH_KEY=1\n" >bad.env &&
	test_exit_code 100 evb-transcode --config bad.env --stdio </dev/null 2>err &&
	grep -q EVB_NO_SUCH_KEY err
'

test_expect_success 'a missing --config file exits 100' '
	test_exit_code 100 evb-transcode --config nope.env --stdio </dev/null 2>err &&
	grep -q nope.env err
'

test_done
