/* Test certificates (see evb_certgen.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "evb_certgen.h"
#include "evb_tls.h"

struct evb_certgen_key {
	mbedtls_pk_context pk;
};

static int rng(void *unused, unsigned char *buf, size_t len)
{
	(void)unused;
	return evb_tls_random(buf, len) < 0 ? -1 : 0;
}

struct evb_certgen_key *evb_certgen_key_new(void)
{
	struct evb_certgen_key *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	mbedtls_pk_init(&k->pk);
	if (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk), rng, NULL) != 0) {
		mbedtls_pk_free(&k->pk);
		free(k);
		errno = EIO;
		return NULL;
	}
	return k;
}

void evb_certgen_key_free(struct evb_certgen_key *k)
{
	if (!k)
		return;
	mbedtls_pk_free(&k->pk);
	free(k);
}

static int write_file(const char *path, const unsigned char *pem, mode_t mode)
{
	size_t len = strlen((const char *)pem), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), e = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, pem + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			e = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 && !e)
		e = -errno;
	return e;
}

int evb_certgen_key_write(struct evb_certgen_key *k, const char *path)
{
	unsigned char pem[2048];

	if (mbedtls_pk_write_key_pem(&k->pk, pem, sizeof(pem)) != 0)
		return -EINVAL;
	return write_file(path, pem, 0600);
}

/* The subjectAltName extension value: SEQUENCE { [2] IA5String name ... },
 * written backwards into buf; *start gets where it begins. */
static int san_der(const char *const *dns, size_t n, unsigned char *buf, size_t cap,
		   unsigned char **start, size_t *out)
{
	unsigned char *p = buf + cap;
	size_t len = 0;
	int r;

	for (size_t i = n; i-- > 0;) {
		size_t l = strlen(dns[i]), part = 0;
		if ((r = mbedtls_asn1_write_raw_buffer(&p, buf, (const unsigned char *)dns[i], l)) < 0)
			return r;
		part += (size_t)r;
		if ((r = mbedtls_asn1_write_len(&p, buf, part)) < 0)
			return r;
		part += (size_t)r;
		if ((r = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) < 0)
			return r;
		len += part + (size_t)r;
	}
	if ((r = mbedtls_asn1_write_len(&p, buf, len)) < 0)
		return r;
	len += (size_t)r;
	if ((r = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) <
	    0)
		return r;
	len += (size_t)r;
	*start = p;
	*out = len;
	return 0;
}

int evb_certgen_cert_write(const char *path, struct evb_certgen_key *key, const char *subject,
			   struct evb_certgen_key *issuer_key, const char *issuer, int ca,
			   const char *const *dns, size_t ndns, int serial)
{
	mbedtls_x509write_cert crt;
	mbedtls_mpi sn;
	unsigned char pem[4096], san[EVB_CERTGEN_MAX_NAMES * 260 + 16], *p;
	size_t len;
	int r = -EINVAL;

	if (ndns > EVB_CERTGEN_MAX_NAMES)
		return -E2BIG;
	for (size_t i = 0; i < ndns; i++)
		if (strlen(dns[i]) == 0 || strlen(dns[i]) > 253)
			return -EINVAL;
	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&sn);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key->pk);
	mbedtls_x509write_crt_set_issuer_key(&crt, &issuer_key->pk);
	if (mbedtls_x509write_crt_set_subject_name(&crt, subject) != 0 ||
	    mbedtls_x509write_crt_set_issuer_name(&crt, issuer) != 0 ||
	    mbedtls_mpi_lset(&sn, serial) != 0 || mbedtls_x509write_crt_set_serial(&crt, &sn) != 0 ||
	    mbedtls_x509write_crt_set_validity(&crt, "20200101000000", "20991231235959") != 0 ||
	    mbedtls_x509write_crt_set_basic_constraints(&crt, ca, ca ? 0 : -1) != 0 ||
	    mbedtls_x509write_crt_set_subject_key_identifier(&crt) != 0 ||
	    mbedtls_x509write_crt_set_authority_key_identifier(&crt) != 0 ||
	    mbedtls_x509write_crt_set_key_usage(&crt, ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN |
							       MBEDTLS_X509_KU_CRL_SIGN
							  : MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0)
		goto out;
	if (ndns) {
		if (san_der(dns, ndns, san, sizeof(san), &p, &len) < 0 ||
		    mbedtls_x509write_crt_set_extension(
			    &crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
			    MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, p, len) != 0)
			goto out;
	}
	if (mbedtls_x509write_crt_pem(&crt, pem, sizeof(pem), rng, NULL) != 0)
		goto out;
	r = write_file(path, pem, 0644);
out:
	mbedtls_mpi_free(&sn);
	mbedtls_x509write_crt_free(&crt);
	return r;
}

int evb_certgen_make(const char *dir, const char *const *dns, size_t ndns, char *err,
		     size_t errlen)
{
	static const char ca_name[] = "CN=evb test CA,O=evibridge";
	struct evb_certgen_key *ca = evb_certgen_key_new(), *leaf = evb_certgen_key_new();
	char path[4096], subject[300];
	const char *file = "a key";
	int r = -ENOMEM;

	if (!ca || !leaf)
		goto fail;
	snprintf(subject, sizeof(subject), "CN=%s,O=evibridge", ndns ? dns[0] : "localhost");
	file = "ca.pem";
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((r = evb_certgen_cert_write(path, ca, ca_name, ca, ca_name, 1, NULL, 0, 1)) < 0)
		goto fail;
	file = "cert.pem";
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((r = evb_certgen_cert_write(path, leaf, subject, ca, ca_name, 0, dns, ndns, 2)) < 0)
		goto fail;
	file = "key.pem";
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((r = evb_certgen_key_write(leaf, path)) < 0)
		goto fail;
	evb_certgen_key_free(ca);
	evb_certgen_key_free(leaf);
	return 0;
fail:
	if (err && errlen)
		snprintf(err, errlen, "unable to write '%s/%s': %s", dir, file, strerror(-r));
	evb_certgen_key_free(ca);
	evb_certgen_key_free(leaf);
	return r;
}
