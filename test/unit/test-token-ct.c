/* The API token check is constant-time, shown without a clock (the
 * ctgrind technique): the secret token's hash is marked undefined for
 * valgrind memcheck, so that any branch or memory index that depends on
 * it is reported ("Conditional jump or move depends on uninitialised
 * value(s)"). Run plainly it is a TAP test of the check's answers; t6030
 * runs it under valgrind: "evb" must be clean, "memcmp" (a comparison with
 * memcmp, the negative control) must be caught. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <valgrind/memcheck.h>

#include "evb_sign.h"
#include "tap.h"

static const char *const secret = "t6030-the-api-token-0123456789";

/* What a naive server would do: hash, then memcmp (stops at the first
 * difference). */
static int __attribute__((noinline)) memcmp_token_ok(const char *given, const uint8_t want[32])
{
	uint8_t sha[32];

	mbedtls_sha256_ret((const unsigned char *)given, strlen(given), sha, 0);
	return memcmp(sha, want, sizeof(sha)) == 0;
}

/* One check with the secret's hash undefined; the answer alone is made
 * defined again (it is what the server acts on: 401 or not). */
static int check(int (*f)(const char *, const uint8_t *), const char *given)
{
	uint8_t want[32];
	int r;

	mbedtls_sha256_ret((const unsigned char *)secret, strlen(secret), want, 0);
	VALGRIND_MAKE_MEM_UNDEFINED(want, sizeof(want));
	r = f(given, want);
	VALGRIND_MAKE_MEM_DEFINED(&r, sizeof(r));
	return r;
}

int main(int argc, char **argv)
{
	int (*f)(const char *, const uint8_t *) = evb_token_ok;
	char near[64];

	if (argc > 1 && strcmp(argv[1], "memcmp") == 0)
		f = memcmp_token_ok;
	else if (argc > 1 && strcmp(argv[1], "evb") != 0) {
		fprintf(stderr, "usage: test-token-ct [evb|memcmp]\n");
		return 100;
	}
	snprintf(near, sizeof(near), "%s", secret);
	near[strlen(near) - 1] ^= 1;
	ok(check(f, secret) == 1, "the right token is accepted");
	ok(check(f, near) == 0, "one bit off is refused");
	ok(check(f, "t6030") == 0, "a prefix is refused");
	ok(check(f, "") == 0, "an empty token is refused");
	ok(check(f, "t6030-the-api-token-0123456789x") == 0, "a longer token is refused");
	ok(evb_token_ok(NULL, (const uint8_t *)"0123456789abcdef0123456789abcdef") == 0,
	   "no token is refused");
	return done_testing();
}
