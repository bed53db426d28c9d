/* Test certificates made with mbedTLS's x509write API (no openssl, no
 * committed keys): EC P-256 keys, CA and leaf certificates with DNS
 * subjectAltNames, valid 2020-2099, written as PEM. For tests and
 * evb-fakehume --gen-cert only: nothing in production trusts them. */
#ifndef EVB_CERTGEN_H
#define EVB_CERTGEN_H

#include <stddef.h>

#define EVB_CERTGEN_MAX_NAMES 8

struct evb_certgen_key;

/* A fresh EC P-256 key pair; NULL with errno set. Free it with
 * evb_certgen_key_free(). */
struct evb_certgen_key *evb_certgen_key_new(void);
void evb_certgen_key_free(struct evb_certgen_key *k);

/* Writes k's private key as PEM to path (mode 0600). Returns 0 or -errno. */
int evb_certgen_key_write(struct evb_certgen_key *k, const char *path);

/* Writes a certificate for key with the given subject ("CN=...,O=..."),
 * signed by issuer_key under the name issuer (the same key and name for a
 * self-signed CA). ca makes it a CA (basicConstraints, keyCertSign);
 * otherwise a leaf whose subjectAltName lists the ndns DNS names (at most
 * EVB_CERTGEN_MAX_NAMES; mbedTLS 2.28 matches host names only against DNS
 * entries, so "127.0.0.1" goes in as a DNS name too). Returns 0 or -errno
 * (-EINVAL when mbedTLS refuses a field). */
int evb_certgen_cert_write(const char *path, struct evb_certgen_key *key, const char *subject,
			   struct evb_certgen_key *issuer_key, const char *issuer, int ca,
			   const char *const *dns, size_t ndns, int serial);

/* Makes, in the existing directory dir: ca.pem (a new CA), cert.pem (a leaf
 * for the ndns names, signed by that CA) and key.pem (its key). Returns 0,
 * or -errno with a message naming the file in err. */
int evb_certgen_make(const char *dir, const char *const *dns, size_t ndns, char *err,
		     size_t errlen);

#endif
