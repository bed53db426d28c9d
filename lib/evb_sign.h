/* Small signing helpers for the provider edge: HMAC (SHA-1, SHA-256) with
 * mbedTLS, base64url without padding, hex, a constant-time comparison, and
 * the per-call media token that a media WebSocket must present:
 * base64url(HMAC-SHA256(secret, call_id "|" provider_call_id "|" expiry))
 * "." expiry, where expiry is a Unix time in seconds. */
#ifndef EVB_SIGN_H
#define EVB_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { EVB_SHA1 = 1, EVB_SHA256 = 2 };

#define EVB_MTOKEN_MAX 64 /* a token and its NUL */

/* HMAC of msg with key into out (20 bytes for EVB_SHA1, 32 for
 * EVB_SHA256). Returns the MAC length or -EINVAL. */
int evb_hmac(int alg, const void *key, size_t keylen, const void *msg, size_t len,
	     uint8_t out[32]);

/* SHA-256 of data as 64 lowercase hex digits and a NUL. 0 or -EINVAL. */
int evb_sha256_hex(const void *data, size_t len, char out[65]);

/* base64url without padding of n bytes into out (cap bytes with the NUL).
 * Returns the length written, or -ENOBUFS. */
ssize_t evb_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* Decodes n characters of base64url (padding optional) into out. Returns
 * the byte count, -EINVAL for a bad character or length, -ENOBUFS. */
ssize_t evb_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* 1 if the SHA-256 of given (a NUL-terminated token from a request) is
 * want_sha256, the hash of the secret token; else 0. Hashing first makes
 * the time independent of the length, and the comparison has no branch on
 * a byte of either hash (checked under valgrind, t6030). */
int evb_token_ok(const char *given, const uint8_t want_sha256[32]);

/* 1 if a and b (both NUL-terminated) are equal, comparing every byte of
 * the shorter length in constant time; else 0. NULL is never equal. */
int evb_ct_streq(const char *a, const char *b);

/* Writes a media token for call_id and provider_call_id valid until expiry
 * (Unix seconds) into out (EVB_MTOKEN_MAX bytes). secret is NUL-terminated
 * and not empty. Returns 0 or -EINVAL. */
int evb_mtoken_make(const char *secret, const char *call_id, const char *provider_call_id,
		    int64_t expiry, char out[EVB_MTOKEN_MAX]);

/* Checks token for call_id and provider_call_id at time now (Unix
 * seconds). Returns 0 if valid; -EINVAL if it is not a token at all,
 * -EPERM if its MAC is wrong (another call, or forged), -ETIME if it has
 * expired. *expiry gets the token's expiry when it parsed (may be NULL). */
int evb_mtoken_check(const char *secret, const char *call_id, const char *provider_call_id,
		     const char *token, int64_t now, int64_t *expiry);

#endif
