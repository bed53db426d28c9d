/* JSON Web Tokens (RFC 7519) in compact form: RS256 signing and checking
 * with an RSA key (Vonage Voice API requests), HS256 signing and checking
 * with a shared secret (Vonage signed webhooks), and the claim checks both
 * need. Pure functions over memory, so unit tests and fuzzing reach them.
 * base64url is evb_b64url_*() of evb_sign.h. */
#ifndef EVB_JWT_H
#define EVB_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define EVB_JWT_MAX 8192 /* longest token accepted or produced */

struct evb_jwt_key;

/* Parses a PEM (or DER) RSA key of len bytes: a private key, or with
 * public set a public key ("BEGIN PUBLIC KEY"). A private key can sign and
 * check. Returns NULL with errno EINVAL (not an RSA key of that kind) or
 * ENOMEM; the caller frees it with evb_jwt_key_free(). */
struct evb_jwt_key *evb_jwt_key_parse(const void *data, size_t len, int public);

/* Same, read from the file at path (at most 64 KiB): errno ENOENT, EACCES,
 * EFBIG, ... when it cannot be read. */
struct evb_jwt_key *evb_jwt_key_load(const char *path, int public);

/* Frees k (NULL is ignored). */
void evb_jwt_key_free(struct evb_jwt_key *k);

/* Writes the public half of k as PEM into out (cap bytes with the NUL).
 * Returns 0, or -ENOBUFS, -EINVAL. */
int evb_jwt_key_public_pem(struct evb_jwt_key *k, char *out, size_t cap);

/* Signs claims (a JSON object, not modified) with header
 * {"alg":"RS256","typ":"JWT"} and the private key k. Returns the token,
 * which the caller frees, or NULL with errno EINVAL (no private key, claims
 * not an object) or ENOBUFS (over EVB_JWT_MAX). */
char *evb_jwt_sign_rs256(struct evb_jwt_key *k, const json_t *claims);

/* Same with HS256 and a secret of len bytes. */
char *evb_jwt_sign_hs256(const void *secret, size_t len, const json_t *claims);

/* Checks token's RS256 signature with k (public or private). The header
 * must say "alg":"RS256" exactly (no alg confusion, no "none"). Returns 0
 * and, if claims is not NULL, the claims object (the caller's reference);
 * -EINVAL for a malformed token (not three base64url parts of JSON
 * objects), -ENOTSUP for another alg, -EPERM for a wrong signature. */
int evb_jwt_verify_rs256(struct evb_jwt_key *k, const char *token, json_t **claims);

/* Same with HS256 and a secret of len bytes (compared in constant time). */
int evb_jwt_verify_hs256(const void *secret, size_t len, const char *token, json_t **claims);

/* Decodes token without checking its signature: header and claims objects
 * (either may be NULL; the caller's references). For logs and tests only.
 * Returns 0 or -EINVAL. */
int evb_jwt_decode(const char *token, json_t **header, json_t **claims);

/* Checks the time claims at now (Unix seconds) with leeway seconds of
 * clock skew: "exp" (if present) must be in the future, "nbf" and "iat" (if
 * present) not in the future; each present one must be an integer. When
 * max_age is above 0, "iat" is required and may be at most max_age seconds
 * old. Returns 0, -EINVAL (a claim of the wrong type, or iat missing),
 * -ETIME (expired or too old) or -EAGAIN (not yet valid). */
int evb_jwt_check_times(const json_t *claims, int64_t now, int64_t leeway, int64_t max_age);

#endif
