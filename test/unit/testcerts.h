/* Test certificates made at run time with mbedTLS's x509write API (no
 * committed keys, no openssl): two CAs and leaf certificates with a DNS
 * subjectAltName, as PEM files in a fresh temporary directory. EC P-256
 * keys, valid 2020-2099. Header-only: each test links alone. */
#ifndef EVB_TESTCERTS_H
#define EVB_TESTCERTS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "evb_tls.h"

struct tc_dir {
	char dir[64];
	char files[12][96];
	int nfiles;
};

static int tc_rng(void *unused, unsigned char *buf, size_t len)
{
	(void)unused;
	return evb_tls_random(buf, len) < 0 ? -1 : 0;
}

static int tc_genkey(mbedtls_pk_context *k)
{
	if (mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
		return -1;
	return mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*k), tc_rng, NULL) == 0
		       ? 0
		       : -1;
}

static const char *tc_path(struct tc_dir *d, const char *name)
{
	char *p = d->files[d->nfiles++], dir[sizeof(d->dir)];

	memcpy(dir, d->dir, sizeof(dir));
	snprintf(p, sizeof(d->files[0]), "%s/%s", dir, name);
	return p;
}

static int tc_write(const char *path, const unsigned char *pem)
{
	FILE *f = fopen(path, "w");
	int r;

	if (!f)
		return -1;
	r = fputs((const char *)pem, f) < 0 ? -1 : 0;
	return fclose(f) == 0 ? r : -1;
}

static int tc_write_key(struct tc_dir *d, const char *name, mbedtls_pk_context *k)
{
	unsigned char pem[2048];

	if (mbedtls_pk_write_key_pem(k, pem, sizeof(pem)) != 0)
		return -1;
	return tc_write(tc_path(d, name), pem);
}

/* Writes a certificate for key, signed by issuer_key (itself when self-
 * signed); dns (may be NULL) becomes the subjectAltName. */
static int tc_write_cert(struct tc_dir *d, const char *name, mbedtls_pk_context *key,
			 const char *subject, mbedtls_pk_context *issuer_key, const char *issuer,
			 int ca, const char *dns, int serial_no)
{
	mbedtls_x509write_cert crt;
	mbedtls_mpi serial;
	unsigned char pem[4096], san[300], *p = san + sizeof(san);
	size_t len = 0;
	int r = -1;

	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, key);
	mbedtls_x509write_crt_set_issuer_key(&crt, issuer_key);
	if (mbedtls_x509write_crt_set_subject_name(&crt, subject) != 0 ||
	    mbedtls_x509write_crt_set_issuer_name(&crt, issuer) != 0 ||
	    mbedtls_mpi_lset(&serial, serial_no) != 0 ||
	    mbedtls_x509write_crt_set_serial(&crt, &serial) != 0 ||
	    mbedtls_x509write_crt_set_validity(&crt, "20200101000000", "20991231235959") != 0 ||
	    mbedtls_x509write_crt_set_basic_constraints(&crt, ca, ca ? 0 : -1) != 0 ||
	    mbedtls_x509write_crt_set_subject_key_identifier(&crt) != 0 ||
	    mbedtls_x509write_crt_set_authority_key_identifier(&crt) != 0 ||
	    mbedtls_x509write_crt_set_key_usage(&crt, ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN |
								 MBEDTLS_X509_KU_CRL_SIGN
							    : MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0)
		goto out;
	if (dns) { /* SEQUENCE { [2] IA5String dns } */
		size_t n = strlen(dns);

		len += (size_t)mbedtls_asn1_write_raw_buffer(&p, san, (const unsigned char *)dns, n);
		len += (size_t)mbedtls_asn1_write_len(&p, san, n);
		len += (size_t)mbedtls_asn1_write_tag(&p, san, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2);
		len += (size_t)mbedtls_asn1_write_len(&p, san, len);
		len += (size_t)mbedtls_asn1_write_tag(&p, san, MBEDTLS_ASN1_CONSTRUCTED |
								       MBEDTLS_ASN1_SEQUENCE);
		if (mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
							MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
							0, p, len) != 0)
			goto out;
	}
	if (mbedtls_x509write_crt_pem(&crt, pem, sizeof(pem), tc_rng, NULL) != 0)
		goto out;
	r = tc_write(tc_path(d, name), pem);
out:
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	return r;
}

/* Makes in a new temporary directory: ca.pem (CA "evb test CA"), ca2.pem
 * (another CA), localhost.pem/.key (DNS:localhost, by ca), wrong.pem/.key
 * (DNS:wrong.example, by ca), rogue.pem/.key (DNS:localhost, by ca2).
 * Returns 0 or -1. */
static int tc_make(struct tc_dir *d)
{
	mbedtls_pk_context ca, ca2, k1, k2, k3;
	int r = -1;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/evb-tls-XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	mbedtls_pk_init(&ca);
	mbedtls_pk_init(&ca2);
	mbedtls_pk_init(&k1);
	mbedtls_pk_init(&k2);
	mbedtls_pk_init(&k3);
	if (tc_genkey(&ca) || tc_genkey(&ca2) || tc_genkey(&k1) || tc_genkey(&k2) ||
	    tc_genkey(&k3))
		goto out;
	if (tc_write_cert(d, "ca.pem", &ca, "CN=evb test CA,O=evibridge", &ca,
			  "CN=evb test CA,O=evibridge", 1, NULL, 1) ||
	    tc_write_cert(d, "ca2.pem", &ca2, "CN=evb other CA,O=evibridge", &ca2,
			  "CN=evb other CA,O=evibridge", 1, NULL, 2) ||
	    tc_write_cert(d, "localhost.pem", &k1, "CN=localhost", &ca,
			  "CN=evb test CA,O=evibridge", 0, "localhost", 3) ||
	    tc_write_key(d, "localhost.key", &k1) ||
	    tc_write_cert(d, "wrong.pem", &k2, "CN=wrong.example", &ca,
			  "CN=evb test CA,O=evibridge", 0, "wrong.example", 4) ||
	    tc_write_key(d, "wrong.key", &k2) ||
	    tc_write_cert(d, "rogue.pem", &k3, "CN=localhost", &ca2,
			  "CN=evb other CA,O=evibridge", 0, "localhost", 5) ||
	    tc_write_key(d, "rogue.key", &k3))
		goto out;
	r = 0;
out:
	mbedtls_pk_free(&ca);
	mbedtls_pk_free(&ca2);
	mbedtls_pk_free(&k1);
	mbedtls_pk_free(&k2);
	mbedtls_pk_free(&k3);
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
