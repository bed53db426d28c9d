/* Test certificates made at run time with lib/evb_certgen (mbedTLS's
 * x509write API; no committed keys, no openssl): two CAs and leaf
 * certificates with a DNS subjectAltName, as PEM files in a fresh temporary
 * directory. EC P-256 keys, valid 2020-2099. Header-only. */
#ifndef EVB_TESTCERTS_H
#define EVB_TESTCERTS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_certgen.h"
#include "evb_tls.h"

struct tc_dir {
	char dir[64];
	char files[12][96];
	int nfiles;
};

static const char *tc_path(struct tc_dir *d, const char *name)
{
	char *p = d->files[d->nfiles++], dir[sizeof(d->dir)];

	memcpy(dir, d->dir, sizeof(dir));
	snprintf(p, sizeof(d->files[0]), "%s/%s", dir, name);
	return p;
}

static int tc_write_key(struct tc_dir *d, const char *name, struct evb_certgen_key *k)
{
	return evb_certgen_key_write(k, tc_path(d, name)) < 0 ? -1 : 0;
}

/* Writes a certificate for key, signed by issuer_key (itself when self-
 * signed); dns (may be NULL) becomes the subjectAltName. */
static int tc_write_cert(struct tc_dir *d, const char *name, struct evb_certgen_key *key,
			 const char *subject, struct evb_certgen_key *issuer_key,
			 const char *issuer, int ca, const char *dns, int serial_no)
{
	return evb_certgen_cert_write(tc_path(d, name), key, subject, issuer_key, issuer, ca,
				      &dns, dns ? 1 : 0, serial_no) < 0
		       ? -1
		       : 0;
}

/* Makes in a new temporary directory: ca.pem (CA "evb test CA"), ca2.pem
 * (another CA), localhost.pem/.key (DNS:localhost, by ca), wrong.pem/.key
 * (DNS:wrong.example, by ca), rogue.pem/.key (DNS:localhost, by ca2).
 * Returns 0 or -1. */
static int tc_make(struct tc_dir *d)
{
	struct evb_certgen_key *ca, *ca2, *k1, *k2, *k3;
	int r = -1;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/evb-tls-XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	ca = evb_certgen_key_new();
	ca2 = evb_certgen_key_new();
	k1 = evb_certgen_key_new();
	k2 = evb_certgen_key_new();
	k3 = evb_certgen_key_new();
	if (!ca || !ca2 || !k1 || !k2 || !k3)
		goto out;
	if (tc_write_cert(d, "ca.pem", ca, "CN=evb test CA,O=evibridge", ca,
			  "CN=evb test CA,O=evibridge", 1, NULL, 1) ||
	    tc_write_cert(d, "ca2.pem", ca2, "CN=evb other CA,O=evibridge", ca2,
			  "CN=evb other CA,O=evibridge", 1, NULL, 2) ||
	    tc_write_cert(d, "localhost.pem", k1, "CN=localhost", ca,
			  "CN=evb test CA,O=evibridge", 0, "localhost", 3) ||
	    tc_write_key(d, "localhost.key", k1) ||
	    tc_write_cert(d, "wrong.pem", k2, "CN=wrong.example", ca,
			  "CN=evb test CA,O=evibridge", 0, "wrong.example", 4) ||
	    tc_write_key(d, "wrong.key", k2) ||
	    tc_write_cert(d, "rogue.pem", k3, "CN=localhost", ca2,
			  "CN=evb other CA,O=evibridge", 0, "localhost", 5) ||
	    tc_write_key(d, "rogue.key", k3))
		goto out;
	r = 0;
out:
	evb_certgen_key_free(ca);
	evb_certgen_key_free(ca2);
	evb_certgen_key_free(k1);
	evb_certgen_key_free(k2);
	evb_certgen_key_free(k3);
	return r;
}

/* The path of file name in d. */
static const char *tc_file(const struct tc_dir *d, const char *name)
{
	for (int i = 0; i < d->nfiles; i++) {
		const char *slash = strrchr(d->files[i], '/');
		if (slash && strcmp(slash + 1, name) == 0)
			return d->files[i];
	}
	return "/nonexistent";
}

static void tc_cleanup(struct tc_dir *d)
{
	for (int i = 0; i < d->nfiles; i++)
		unlink(d->files[i]);
	rmdir(d->dir);
}

#endif
