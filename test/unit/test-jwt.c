/* evb_jwt: HS256 against a published token, RS256 round trips with a key
 * made here, tampering, alg confusion, malformed tokens, time claims. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "evb_jwt.h"
#include "evb_sign.h"
#include "evb_tls.h"
#include "tap.h"

static int rng(void *unused, unsigned char *buf, size_t len)
{
	(void)unused;
	return evb_tls_random(buf, len) < 0 ? -1 : 0;
}

/* A PEM private key of the given type (RSA 2048 or EC P-256) in out. */
static int make_key(int rsa, unsigned char *out, size_t cap)
{
	mbedtls_pk_context k;
	int r = -1;

	mbedtls_pk_init(&k);
	if (mbedtls_pk_setup(&k, mbedtls_pk_info_from_type(rsa ? MBEDTLS_PK_RSA
								: MBEDTLS_PK_ECKEY)) != 0)
		goto out;
	if (rsa ? mbedtls_rsa_gen_key(mbedtls_pk_rsa(k), rng, NULL, 2048, 65537)
		: mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k), rng, NULL))
		goto out;
	r = mbedtls_pk_write_key_pem(&k, out, cap) == 0 ? 0 : -1;
out:
	mbedtls_pk_free(&k);
	return r;
}

/* token with character i changed. */
static char *flip(const char *token, size_t i)
{
	char *t = strdup(token);
	t[i] = t[i] == 'A' ? 'B' : 'A';
	return t;
}

static void test_hs256(void)
{
	/* The example token of jwt.io (RFC 7519 style HS256). */
	const char *secret = "your-256-bit-secret";
	const char *want = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
			   "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
			   "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
	json_t *claims = json_pack("{s:s, s:s, s:I}", "sub", "1234567890", "name", "John Doe",
				   "iat", (json_int_t)1516239022);
	json_t *got = NULL;
	char *tok = evb_jwt_sign_hs256(secret, strlen(secret), claims), *bad;

	is_str(tok, want, "HS256 signing matches the published token");
	is_int(evb_jwt_verify_hs256(secret, strlen(secret), want, &got), 0,
	       "HS256 token verifies");
	ok(got && json_equal(got, claims), "verify returns the claims");
	json_decref(got);
	is_int(evb_jwt_verify_hs256("other", 5, want, &got), -EPERM, "wrong secret: -EPERM");
	ok(got == NULL, "no claims on failure");
	bad = flip(want, strlen(want) - 3);
	is_int(evb_jwt_verify_hs256(secret, strlen(secret), bad, NULL), -EPERM,
	       "changed signature: -EPERM");
	free(bad);
	bad = flip(want, 40);
	ok(evb_jwt_verify_hs256(secret, strlen(secret), bad, NULL) < 0, "changed claims: refused");
	free(bad);
	free(tok);
	json_decref(claims);
}

static void test_rs256(void)
{
	static unsigned char pem[8192], ecpem[2048];
	static char pub[4096];
	struct evb_jwt_key *k, *pk, *ec;
	json_t *claims = json_pack("{s:s, s:I, s:s, s:I}", "application_id",
				   "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "iat",
				   (json_int_t)1700000000, "jti", "j-1", "exp",
				   (json_int_t)1700000900);
	json_t *got = NULL, *h = NULL;
	char *tok, *hs, *bad, *none;

	ok(make_key(1, pem, sizeof(pem)) == 0, "made an RSA key");
	k = evb_jwt_key_parse(pem, strlen((char *)pem), 0);
	ok(k != NULL, "private key parses");
	ok(evb_jwt_key_public_pem(k, pub, sizeof(pub)) == 0 && strstr(pub, "BEGIN PUBLIC KEY"),
	   "public half as PEM");
	pk = evb_jwt_key_parse(pub, strlen(pub), 1);
	ok(pk != NULL, "public key parses");
	ok(evb_jwt_key_parse(pub, strlen(pub), 0) == NULL && errno == EINVAL,
	   "a public key is not a private key");
	ok(make_key(0, ecpem, sizeof(ecpem)) == 0, "made an EC key");
	ec = evb_jwt_key_parse(ecpem, strlen((char *)ecpem), 0);
	ok(ec == NULL && errno == EINVAL, "an EC key is refused");
	ok(evb_jwt_key_load("/nonexistent/key.pem", 0) == NULL && errno == ENOENT,
	   "missing key file: ENOENT");

	tok = evb_jwt_sign_rs256(k, claims);
	ok(tok != NULL, "RS256 token signed");
	ok(evb_jwt_decode(tok, &h, NULL) == 0 &&
		   strcmp(json_string_value(json_object_get(h, "alg")), "RS256") == 0 &&
		   strcmp(json_string_value(json_object_get(h, "typ")), "JWT") == 0 &&
		   json_object_size(h) == 2,
	   "header is {alg: RS256, typ: JWT}");
	json_decref(h);
	is_int(evb_jwt_verify_rs256(pk, tok, &got), 0, "verifies with the public key");
	ok(got && json_equal(got, claims), "claims come back");
	json_decref(got);
	is_int(evb_jwt_verify_rs256(k, tok, NULL), 0, "verifies with the private key");
	ok(evb_jwt_sign_rs256(pk, claims) == NULL && errno == EINVAL,
	   "a public key cannot sign");

	bad = flip(tok, strlen(tok) - 5);
	is_int(evb_jwt_verify_rs256(pk, bad, NULL), -EPERM, "changed signature: -EPERM");
	free(bad);
	bad = flip(tok, strchr(tok, '.') - tok + 5);
	ok(evb_jwt_verify_rs256(pk, bad, NULL) < 0, "changed claims: refused");
	free(bad);

	/* Alg confusion: an HS256 token keyed with the public PEM. */
	hs = evb_jwt_sign_hs256(pub, strlen(pub), claims);
	is_int(evb_jwt_verify_rs256(pk, hs, NULL), -ENOTSUP, "HS256 token as RS256: -ENOTSUP");
	is_int(evb_jwt_verify_hs256("s", 1, tok, NULL), -ENOTSUP, "RS256 token as HS256: -ENOTSUP");
	free(hs);
	none = strdup("eyJhbGciOiJub25lIn0.eyJhIjoxfQ.");
	is_int(evb_jwt_verify_rs256(pk, none, NULL), -ENOTSUP, "alg none: -ENOTSUP");
	free(none);

	is_int(evb_jwt_verify_rs256(pk, "", NULL), -EINVAL, "empty: -EINVAL");
	is_int(evb_jwt_verify_rs256(pk, "a.b", NULL), -EINVAL, "two parts: -EINVAL");
	is_int(evb_jwt_verify_rs256(pk, "a.b.c.d", NULL), -EINVAL, "four parts: -EINVAL");
	is_int(evb_jwt_verify_rs256(pk, "e30.W10.AAAA", NULL), -EINVAL,
	       "claims not an object: -EINVAL");
	is_int(evb_jwt_verify_rs256(pk, "eyJhbGciOiJSUzI1NiJ9.e30.!!!", NULL), -EINVAL, "bad base64: -EINVAL");
	is_int(evb_jwt_decode("eyJhIjoxLCJhIjoyfQ.e30.", NULL, NULL), -EINVAL,
	       "duplicate header keys: -EINVAL");
	h = json_array();
	ok(evb_jwt_sign_rs256(k, h) == NULL && errno == EINVAL, "claims must be an object");
	json_decref(h);

	free(tok);
	json_decref(claims);
	evb_jwt_key_free(k);
	evb_jwt_key_free(pk);
}

static void test_times(void)
{
	json_t *c = json_pack("{s:I, s:I}", "iat", (json_int_t)1000, "exp", (json_int_t)1900);
	json_t *s = json_pack("{s:s}", "iat", "soon");
	json_t *nbf = json_pack("{s:I}", "nbf", (json_int_t)2000);
	json_t *empty = json_object();

	is_int(evb_jwt_check_times(c, 1500, 0, 0), 0, "within iat..exp: valid");
	is_int(evb_jwt_check_times(c, 1900, 0, 0), -ETIME, "at exp: expired");
	is_int(evb_jwt_check_times(c, 1900, 30, 0), 0, "leeway covers skew");
	is_int(evb_jwt_check_times(c, 990, 0, 0), -EAGAIN, "issued in the future: -EAGAIN");
	is_int(evb_jwt_check_times(c, 1400, 0, 300), -ETIME, "older than max_age: -ETIME");
	is_int(evb_jwt_check_times(c, 1200, 0, 300), 0, "younger than max_age: valid");
	is_int(evb_jwt_check_times(nbf, 1500, 0, 0), -EAGAIN, "before nbf: -EAGAIN");
	is_int(evb_jwt_check_times(s, 1500, 0, 0), -EINVAL, "iat not an integer: -EINVAL");
	is_int(evb_jwt_check_times(empty, 1500, 0, 0), 0, "no time claims: valid");
	is_int(evb_jwt_check_times(empty, 1500, 0, 60), -EINVAL, "max_age needs iat");
	json_decref(c);
	json_decref(s);
	json_decref(nbf);
	json_decref(empty);
}

int main(void)
{
	test_hs256();
	test_rs256();
	test_times();
	return done_testing();
}
