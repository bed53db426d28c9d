/* Base64 (RFC 4648, standard alphabet, padded) for audio payloads: table
 * driven, one pass. Not constant-time: use mbedTLS for secrets. */
#ifndef EVB_B64_H
#define EVB_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters evb_b64_encode() writes for n bytes (no NUL counted). */
#define EVB_B64_ENC_LEN(n) (4 * (((size_t)(n) + 2) / 3))
/* Most bytes evb_b64_decode() can produce from n characters. */
#define EVB_B64_DEC_MAX(n) ((size_t)(n) / 4 * 3)

/* Encodes len bytes of in as EVB_B64_ENC_LEN(len) characters at out (no
 * NUL written). Returns the number of characters. */
size_t evb_b64_encode(char *out, const void *in, size_t len);

/* Decodes len characters (padding required, no whitespace) into out, cap
 * bytes. Returns 0 with *outlen set, -EINVAL for anything that is not
 * canonical-alphabet base64, or -ENOBUFS when out is too small; out may
 * then hold a partial result. */
int evb_b64_decode(uint8_t *out, size_t cap, const char *in, size_t len, size_t *outlen);

#endif
