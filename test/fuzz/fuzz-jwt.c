/* Fuzz target: the claim checks behind a valid signature. fuzz-vonage and
 * fuzz-api feed tokens whose signature never verifies, so the code after
 * it (claims, iat and exp, payload_hash) is out of their reach. Here the
 * input is a JWT header line, a claims line and then a request body; the
 * target signs header.claims with HS256 as Vonage would and runs the
 * token through evb_vonage_jwt_check() (a signed webhook) and
 * evb_jwt_verify_hs256() with evb_jwt_check_times(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evb_jwt.h"
#include "evb_sign.h"
#include "evb_vonage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzz-signature-secret";

/* base64url of n bytes at out + *at; 0 or -1 when it does not fit. */
static int put_b64(const uint8_t *in, size_t n, char *out, size_t cap, size_t *at)
{
	ssize_t w = evb_b64url_encode(in, n, out + *at, cap - *at);

	if (w < 0)
		return -1;
	*at += (size_t)w;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char def_hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char tok[EVB_JWT_MAX + 16], err[160];
	const uint8_t *hdr = data, *claims, *body, *nl;
	size_t hlen, clen, blen, at;
	uint8_t mac[32];
	json_t *c = NULL;

	nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	hlen = (size_t)(nl - data);
	claims = nl + 1;
	nl = memchr(claims, '\n', size - (size_t)(claims - data));
	clen = nl ? (size_t)(nl - claims) : size - (size_t)(claims - data);
	body = nl ? nl + 1 : data + size;
	blen = size - (size_t)(body - data);
	if (hlen == 0) {
		hdr = (const uint8_t *)def_hdr;
		hlen = sizeof(def_hdr) - 1;
	}
	if (hlen + clen > EVB_JWT_MAX)
		return 0;

	memcpy(tok, "Bearer ", 7);
	at = 7;
	if (put_b64(hdr, hlen, tok, sizeof(tok), &at) < 0 || at + 1 >= sizeof(tok))
		return 0;
	tok[at++] = '.';
	if (put_b64(claims, clen, tok, sizeof(tok), &at) < 0 || at + 1 >= sizeof(tok))
		return 0;
	if (evb_hmac(EVB_SHA256, secret, sizeof(secret) - 1, tok + 7, at - 7, mac) != 32)
		abort();
	tok[at++] = '.';
	if (put_b64(mac, sizeof(mac), tok, sizeof(tok), &at) < 0)
		return 0;

	err[0] = '\0';
	evb_vonage_jwt_check(tok, secret, body, blen, 1800000000, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (evb_jwt_verify_hs256(secret, sizeof(secret) - 1, tok + 7, &c) == 0) {
		if (!json_is_object(c))
			abort();
		evb_jwt_check_times(c, 1800000000, 60, 3600);
		evb_jwt_check_times(c, 1800000000, 0, 0);
		json_decref(c);
	}
	return 0;
}
