/* JSON Web Tokens (see evb_jwt.h). A token is built in one buffer:
 * base64url(header) "." base64url(claims) "." base64url(signature), the
 * signature covering the first two parts as written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "evb_jwt.h"
#include "evb_sign.h"
#include "evb_tls.h"

#define KEY_FILE_MAX (64 * 1024)

struct evb_jwt_key {
	mbedtls_pk_context pk;
	int private;
};

enum { ALG_RS256, ALG_HS256 };

static const char *const alg_names[] = { "RS256", "HS256" };

static int rng(void *unused, unsigned char *buf, size_t len)
{
	(void)unused;
	return evb_tls_random(buf, len) < 0 ? -1 : 0;
}

struct evb_jwt_key *evb_jwt_key_parse(const void *data, size_t len, int public)
{
	struct evb_jwt_key *k;
	unsigned char *buf;
	int r;

	if (!data || len == 0 || len > KEY_FILE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	/* mbedTLS wants PEM NUL-terminated, the NUL counted in the length. */
	buf = malloc(len + 1);
	k = calloc(1, sizeof(*k));
	if (!buf || !k) {
		free(buf);
		free(k);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) == NULL && strstr((char *)buf, "-----BEGIN"))
		len++;
	mbedtls_pk_init(&k->pk);
	r = public ? mbedtls_pk_parse_public_key(&k->pk, buf, len)
		   : mbedtls_pk_parse_key(&k->pk, buf, len, NULL, 0);
	mbedtls_platform_zeroize(buf, len);
	free(buf);
	if (r != 0 || mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_RSA) {
		evb_jwt_key_free(k);
		errno = EINVAL;
		return NULL;
	}
	k->private = !public;
	return k;
}

struct evb_jwt_key *evb_jwt_key_load(const char *path, int public)
{
	struct evb_jwt_key *k;
	unsigned char *buf;
	size_t len;
	FILE *f = fopen(path, "rb");
	int e;

	if (!f)
		return NULL;
	buf = malloc(KEY_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	len = fread(buf, 1, KEY_FILE_MAX + 1, f);
	e = ferror(f) ? EIO : len > KEY_FILE_MAX ? EFBIG : 0;
	fclose(f);
	k = e ? NULL : evb_jwt_key_parse(buf, len, public);
	if (!k && !e)
		e = errno;
	mbedtls_platform_zeroize(buf, KEY_FILE_MAX + 1);
	free(buf);
	errno = e;
	return k;
}

void evb_jwt_key_free(struct evb_jwt_key *k)
{
	if (!k)
		return;
	mbedtls_pk_free(&k->pk);
	free(k);
}

int evb_jwt_key_public_pem(struct evb_jwt_key *k, char *out, size_t cap)
{
	int r = mbedtls_pk_write_pubkey_pem(&k->pk, (unsigned char *)out, cap);

	if (r == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || r == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
		return -ENOBUFS;
	return r == 0 ? 0 : -EINVAL;
}

/* ---- building ---- */

/* Appends base64url(data) to tok at *len (cap EVB_JWT_MAX). */
static int put_b64(char *tok, size_t *len, const void *data, size_t n)
{
	ssize_t w = evb_b64url_encode(data, n, tok + *len, EVB_JWT_MAX - *len);

	if (w < 0)
		return -ENOBUFS;
	*len += (size_t)w;
	return 0;
}

/* Signs input (n bytes) into sig; returns the signature length or -errno. */
static int sign(int alg, struct evb_jwt_key *k, const void *secret, size_t slen,
		const char *input, size_t n, uint8_t *sig, size_t cap)
{
	uint8_t hash[32];
	size_t siglen = 0;

	if (alg == ALG_HS256)
		return cap < 32 ? -ENOBUFS : evb_hmac(EVB_SHA256, secret, slen, input, n, sig);
	if (!k->private)
		return -EINVAL;
	if (mbedtls_sha256_ret((const unsigned char *)input, n, hash, 0) != 0 ||
	    mbedtls_pk_get_len(&k->pk) > cap ||
	    mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, &siglen, rng,
			    NULL) != 0)
		return -EINVAL;
	return (int)siglen;
}

static char *build(int alg, struct evb_jwt_key *k, const void *secret, size_t slen,
		   const json_t *claims)
{
	char header[64], *body = NULL, *tok = NULL;
	uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t len = 0;
	int e = EINVAL, n;

	if (!json_is_object(claims))
		goto fail;
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg_names[alg]);
	body = json_dumps(claims, JSON_COMPACT);
	tok = malloc(EVB_JWT_MAX);
	if (!body || !tok) {
		e = ENOMEM;
		goto fail;
	}
	e = ENOBUFS;
	if (put_b64(tok, &len, header, strlen(header)) < 0 || len + 1 >= EVB_JWT_MAX)
		goto fail;
	tok[len++] = '.';
	if (put_b64(tok, &len, body, strlen(body)) < 0)
		goto fail;
	n = sign(alg, k, secret, slen, tok, len, sig, sizeof(sig));
	if (n < 0) {
		e = -n;
		goto fail;
	}
	if (len + 1 >= EVB_JWT_MAX)
		goto fail;
	tok[len++] = '.';
	if (put_b64(tok, &len, sig, (size_t)n) < 0)
		goto fail;
	free(body);
	return tok;
fail:
	free(body);
	free(tok);
	errno = e;
	return NULL;
}

char *evb_jwt_sign_rs256(struct evb_jwt_key *k, const json_t *claims)
{
	if (!k) {
		errno = EINVAL;
		return NULL;
	}
	return build(ALG_RS256, k, NULL, 0, claims);
}

char *evb_jwt_sign_hs256(const void *secret, size_t len, const json_t *claims)
{
	return build(ALG_HS256, NULL, secret, len, claims);
}

/* ---- reading ---- */

struct parts {
	const char *p[3]; /* start of each part */
	size_t n[3];      /* its length */
};

static int split(const char *token, struct parts *pt)
{
	const char *s = token, *dot;
	size_t total;

	if (!token || (total = strlen(token)) == 0 || total >= EVB_JWT_MAX)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		dot = strchr(s, '.');
		if ((i < 2) != (dot != NULL))
			return -EINVAL;
		pt->p[i] = s;
		pt->n[i] = dot ? (size_t)(dot - s) : strlen(s);
		s = dot ? dot + 1 : s;
	}
	return pt->n[0] && pt->n[1] ? 0 : -EINVAL;
}

/* Decodes one part as a JSON object. */
static json_t *part_json(const struct parts *pt, int i)
{
	uint8_t buf[EVB_JWT_MAX];
	ssize_t n = evb_b64url_decode(pt->p[i], pt->n[i], buf, sizeof(buf));
	json_t *j;

	if (n < 0)
		return NULL;
	j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

int evb_jwt_decode(const char *token, json_t **header, json_t **claims)
{
	struct parts pt;
	json_t *h, *c;

	if (split(token, &pt) < 0)
		return -EINVAL;
	h = part_json(&pt, 0);
	c = part_json(&pt, 1);
	if (!h || !c) {
		json_decref(h);
		json_decref(c);
		return -EINVAL;
	}
	if (header)
		*header = h;
	else
		json_decref(h);
	if (claims)
		*claims = c;
	else
		json_decref(c);
	return 0;
}

static int verify(int alg, struct evb_jwt_key *k, const void *secret, size_t slen,
		  const char *token, json_t **claims)
{
	uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE], mac[32], hash[32];
	struct parts pt;
	json_t *h, *c;
	const char *a;
	size_t signed_len;
	ssize_t n;
	int r;

	if (claims)
		*claims = NULL;
	if (evb_jwt_decode(token, &h, &c) < 0)
		return -EINVAL;
	split(token, &pt);
	a = json_string_value(json_object_get(h, "alg"));
	r = a && strcmp(a, alg_names[alg]) == 0 ? 0 : -ENOTSUP;
	json_decref(h);
	if (r < 0)
		goto out;
	r = -EINVAL;
	n = evb_b64url_decode(pt.p[2], pt.n[2], sig, sizeof(sig));
	if (n <= 0)
		goto out;
	signed_len = pt.n[0] + 1 + pt.n[1];
	r = -EPERM;
	if (alg == ALG_HS256) {
		if (evb_hmac(EVB_SHA256, secret, slen, token, signed_len, mac) == 32 && n == 32 &&
		    mbedtls_ct_memcmp(mac, sig, 32) == 0)
			r = 0;
	} else if (mbedtls_sha256_ret((const unsigned char *)token, signed_len, hash, 0) == 0 &&
		   (size_t)n == mbedtls_pk_get_len(&k->pk) &&
		   mbedtls_pk_verify(&k->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig,
				     (size_t)n) == 0) {
		r = 0;
	}
out:
	if (r == 0 && claims)
		*claims = c;
	else
		json_decref(c);
	return r;
}

int evb_jwt_verify_rs256(struct evb_jwt_key *k, const char *token, json_t **claims)
{
	if (!k) {
		if (claims)
			*claims = NULL;
		return -EINVAL;
	}
	return verify(ALG_RS256, k, NULL, 0, token, claims);
}

int evb_jwt_verify_hs256(const void *secret, size_t len, const char *token, json_t **claims)
{
	return verify(ALG_HS256, NULL, secret, len, token, claims);
}

/* 1 with *v set when claims has name as an integer, 0 when absent, -1 when
 * it has another type. */
static int time_claim(const json_t *claims, const char *name, int64_t *v)
{
	json_t *j = json_object_get(claims, name);

	if (!j)
		return 0;
	if (!json_is_integer(j))
		return -1;
	*v = (int64_t)json_integer_value(j);
	return 1;
}

int evb_jwt_check_times(const json_t *claims, int64_t now, int64_t leeway, int64_t max_age)
{
	int64_t exp = 0, nbf = 0, iat = 0;
	int has_exp = time_claim(claims, "exp", &exp), has_nbf = time_claim(claims, "nbf", &nbf),
	    has_iat = time_claim(claims, "iat", &iat);

	if (!json_is_object(claims) || has_exp < 0 || has_nbf < 0 || has_iat < 0 ||
	    (max_age > 0 && !has_iat))
		return -EINVAL;
	if (has_exp && now - leeway >= exp)
		return -ETIME;
	if (has_iat && max_age > 0 && iat < now - leeway - max_age)
		return -ETIME;
	if ((has_nbf && nbf > now + leeway) || (has_iat && iat > now + leeway))
		return -EAGAIN;
	return 0;
}
