/* Signing helpers and media tokens (see evb_sign.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/constant_time.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>

#include "evb_sign.h"

int evb_hmac(int alg, const void *key, size_t keylen, const void *msg, size_t len,
	     uint8_t out[32])
{
	const mbedtls_md_info_t *md =
		mbedtls_md_info_from_type(alg == EVB_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256);

	if (!md || (alg != EVB_SHA1 && alg != EVB_SHA256) ||
	    mbedtls_md_hmac(md, key, keylen, msg, len, out) != 0)
		return -EINVAL;
	return mbedtls_md_get_size(md);
}

int evb_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t h[32];

	if (mbedtls_sha256_ret(data, len, h, 0) != 0)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

ssize_t evb_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t o = 0, need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);

	if (need + 1 > cap)
		return -ENOBUFS;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;

		if (k > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (k > 2)
			v |= in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		if (k > 1)
			out[o++] = b64url[v >> 6 & 63];
		if (k > 2)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return (ssize_t)o;
}

static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

ssize_t evb_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_val(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -ENOBUFS;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* The unused low bits of the last character must be zero. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -EINVAL;
	return (ssize_t)o;
}

int evb_token_ok(const char *given, const uint8_t want_sha256[32])
{
	uint8_t sha[32];

	if (!given || mbedtls_sha256_ret((const unsigned char *)given, strlen(given), sha, 0) != 0)
		return 0;
	return mbedtls_ct_memcmp(sha, want_sha256, sizeof(sha)) == 0;
}

int evb_ct_streq(const char *a, const char *b)
{
	size_t la, lb, n;
	unsigned char d = 0;

	if (!a || !b)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	n = la < lb ? la : lb;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0 && la == lb;
}

static int mtoken_mac(const char *secret, const char *call_id, const char *pcid,
		      int64_t expiry, char mac[48])
{
	char msg[512];
	uint8_t h[32];
	int n = snprintf(msg, sizeof(msg), "%s|%s|%lld", call_id, pcid, (long long)expiry);

	if (!secret || !*secret || n < 0 || (size_t)n >= sizeof(msg) ||
	    evb_hmac(EVB_SHA256, secret, strlen(secret), msg, (size_t)n, h) != 32 ||
	    evb_b64url_encode(h, sizeof(h), mac, 48) != 43)
		return -EINVAL;
	return 0;
}

int evb_mtoken_make(const char *secret, const char *call_id, const char *provider_call_id,
		    int64_t expiry, char out[EVB_MTOKEN_MAX])
{
	char mac[48];

	if (expiry < 0 || mtoken_mac(secret, call_id, provider_call_id, expiry, mac) < 0)
		return -EINVAL;
	snprintf(out, EVB_MTOKEN_MAX, "%.43s.%lld", mac, (long long)expiry);
	return 0;
}

int evb_mtoken_check(const char *secret, const char *call_id, const char *provider_call_id,
		     const char *token, int64_t now, int64_t *expiry)
{
	char mac[48], given[48];
	const char *dot;
	int64_t exp = 0;

	if (!token || !(dot = strchr(token, '.')) || dot - token != 43 || !dot[1] ||
	    strlen(dot + 1) > 18 || (dot[1] == '0' && dot[2]))
		return -EINVAL;
	for (const char *p = dot + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		exp = exp * 10 + (*p - '0');
	}
	if (expiry)
		*expiry = exp;
	memcpy(given, token, 43);
	given[43] = '\0';
	if (mtoken_mac(secret, call_id ? call_id : "", provider_call_id ? provider_call_id : "",
		       exp, mac) < 0)
		return -EINVAL;
	if (!evb_ct_streq(mac, given))
		return -EPERM;
	return now > exp ? -ETIME : 0;
}
