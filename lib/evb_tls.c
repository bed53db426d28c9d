/* TLS sessions over memory buffers (mbedTLS 2.28).
 *
 * The BIO callbacks never touch a socket: recv takes bytes from "in", the
 * ciphertext the transport fed, and answers WANT_READ when it is empty; send
 * hands every byte to the transport's callback at once, so mbedTLS never sees
 * WANT_WRITE and a write is complete when evb_tls_write() returns. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h> /* MBEDTLS_ERR_NET_SEND_FAILED only */
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_tls.h"

#define TLS_IN_MAX (192u << 10) /* ciphertext waiting to be decrypted */

struct evb_tls_config {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;   /* client: trusted roots */
	mbedtls_x509_crt cert; /* server: own chain */
	mbedtls_pk_context key;
	int server;
	int refs;
};

struct evb_tls {
	mbedtls_ssl_context ssl;
	struct evb_tls_config *cfg;
	int (*send)(void *arg, const uint8_t *data, size_t len);
	void *arg;
	int send_err;
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	char err[EVB_TLS_ERR_MAX];
};

/* ---- process-wide random generator ---- */

/* Small requests (a WebSocket frame's 4-byte mask, 50 a second a call) are
 * served from a pool the DRBG refills 256 bytes at a time. A fork is
 * noticed by an atfork handler rather than by asking getpid() (a system
 * call) on every request. */
#define RNG_POOL 256
#define RNG_POOL_MAX_REQ 32

static struct {
	int ready;
	volatile int forked;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	unsigned char pool[RNG_POOL];
	size_t pool_left; /* unused bytes at the end of pool */
} rng;

static void rng_atfork_child(void)
{
	rng.forked = 1;
	rng.pool_left = 0;
}

static int rng_ready(void)
{
	static const unsigned char pers[] = "evibridge";

	if (rng.ready && !rng.forked)
		return 0;
	if (rng.ready) { /* a forked child must not repeat its parent's stream */
		pid_t pid = getpid();

		if (mbedtls_ctr_drbg_reseed(&rng.drbg, (const unsigned char *)&pid,
					    sizeof(pid)) != 0)
			return -EIO;
		rng.forked = 0;
		rng.pool_left = 0;
		return 0;
	}
	mbedtls_entropy_init(&rng.entropy);
	mbedtls_ctr_drbg_init(&rng.drbg);
	if (mbedtls_ctr_drbg_seed(&rng.drbg, mbedtls_entropy_func, &rng.entropy, pers,
				  sizeof(pers) - 1) != 0) {
		mbedtls_ctr_drbg_free(&rng.drbg);
		mbedtls_entropy_free(&rng.entropy);
		return -EIO;
	}
	rng.ready = 1;
	rng.pool_left = 0;
	if (pthread_atfork(NULL, NULL, rng_atfork_child) != 0)
		return -EIO;
	return 0;
}

static int rng_cb(void *unused, unsigned char *buf, size_t len)
{
	(void)unused;
	if (rng_ready() < 0)
		return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
	return mbedtls_ctr_drbg_random(&rng.drbg, buf, len);
}

int evb_tls_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	if (len <= RNG_POOL_MAX_REQ) {
		if (rng_ready() < 0)
			return -EIO;
		if (rng.pool_left < len) {
			if (mbedtls_ctr_drbg_random(&rng.drbg, rng.pool, RNG_POOL) != 0)
				return -EIO;
			rng.pool_left = RNG_POOL;
		}
		/* Each byte is handed out once, then wiped. */
		memcpy(p, rng.pool + RNG_POOL - rng.pool_left, len);
		memset(rng.pool + RNG_POOL - rng.pool_left, 0, len);
		rng.pool_left -= len;
		return 0;
	}

	while (len > 0) { /* the DRBG hands out at most 1024 bytes per call */
		size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
		if (rng_cb(NULL, p, n) != 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- configurations ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *mbed_str(int r, char *buf, size_t len)
{
	mbedtls_strerror(r, buf, len);
	return buf;
}

static struct evb_tls_config *config_alloc(int server)
{
	struct evb_tls_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	mbedtls_ssl_config_init(&cfg->conf);
	mbedtls_x509_crt_init(&cfg->ca);
	mbedtls_x509_crt_init(&cfg->cert);
	mbedtls_pk_init(&cfg->key);
	cfg->server = server;
	cfg->refs = 1;
	return cfg;
}

static void config_unref(struct evb_tls_config *cfg)
{
	if (!cfg || --cfg->refs > 0)
		return;
	mbedtls_ssl_config_free(&cfg->conf);
	mbedtls_x509_crt_free(&cfg->ca);
	mbedtls_x509_crt_free(&cfg->cert);
	mbedtls_pk_free(&cfg->key);
	free(cfg);
}

/* Common settings; returns 0 or -errno with err filled. */
static int config_base(struct evb_tls_config *cfg, char *err, size_t errlen)
{
	char buf[128];
	int r;

	if (rng_ready() < 0) {
		seterr(err, errlen, "unable to seed the random generator");
		return -EIO;
	}
	r = mbedtls_ssl_config_defaults(&cfg->conf,
					cfg->server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (r != 0) {
		seterr(err, errlen, "unable to set up TLS: %s", mbed_str(r, buf, sizeof(buf)));
		return -EINVAL;
	}
	mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_rng(&cfg->conf, rng_cb, NULL);
	return 0;
}

/* Checks that path can be read, for an errno better than mbedTLS gives. */
static int readable(const char *what, const char *path, char *err, size_t errlen)
{
	if (access(path, R_OK) == 0)
		return 0;
	seterr(err, errlen, "unable to read %s '%s': %s", what, path, strerror(errno));
	return -errno;
}

struct evb_tls_config *evb_tls_client_config_new(const char *ca_file, unsigned flags,
						 char *err, size_t errlen)
{
	struct evb_tls_config *cfg = config_alloc(0);
	char buf[128];
	int r;

	if (!cfg) {
		seterr(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r = config_base(cfg, err, errlen);
	if (r < 0)
		goto fail;
	if (!(flags & EVB_TLS_NO_SYSTEM_CA)) {
		/* A positive result counts certificates it skipped: fine. */
		r = mbedtls_x509_crt_parse_file(&cfg->ca, EVB_TLS_SYSTEM_CA);
		if (r < 0 && !ca_file) {
			seterr(err, errlen, "unable to load CA bundle '%s': %s",
			       EVB_TLS_SYSTEM_CA, mbed_str(r, buf, sizeof(buf)));
			r = -ENOENT;
			goto fail;
		}
		if (r < 0)
			EVB_LOG(LOG_WARNING, "tls", "unable to load CA bundle '%s': %s",
				EVB_TLS_SYSTEM_CA, mbed_str(r, buf, sizeof(buf)));
	}
	if (ca_file) {
		r = readable("CA file", ca_file, err, errlen);
		if (r < 0)
			goto fail;
		r = mbedtls_x509_crt_parse_file(&cfg->ca, ca_file);
		if (r != 0) {
			if (r > 0)
				seterr(err, errlen, "unable to load CA file '%s': %d certificates "
				       "could not be parsed", ca_file, r);
			else
				seterr(err, errlen, "unable to load CA file '%s': %s", ca_file,
				       mbed_str(r, buf, sizeof(buf)));
			r = -EINVAL;
			goto fail;
		}
	}
	if (cfg->ca.version == 0) {
		seterr(err, errlen, "no trusted CA certificate");
		r = -EINVAL;
		goto fail;
	}
	mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, NULL);
	return cfg;

fail:
	config_unref(cfg);
	errno = -r;
	return NULL;
}

struct evb_tls_config *evb_tls_server_config_new(const char *cert_file, const char *key_file,
						 char *err, size_t errlen)
{
	struct evb_tls_config *cfg = config_alloc(1);
	char buf[128];
	int r;

	if (!cfg) {
		seterr(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r = config_base(cfg, err, errlen);
	if (r == 0)
		r = readable("certificate file", cert_file, err, errlen);
	if (r == 0)
		r = readable("key file", key_file, err, errlen);
	if (r < 0)
		goto fail;
	r = mbedtls_x509_crt_parse_file(&cfg->cert, cert_file);
	if (r != 0) {
		seterr(err, errlen, "unable to load certificate file '%s': %s", cert_file,
		       r > 0 ? "a certificate could not be parsed" : mbed_str(r, buf, sizeof(buf)));
		r = -EINVAL;
		goto fail;
	}
	r = mbedtls_pk_parse_keyfile(&cfg->key, key_file, NULL);
	if (r != 0) {
		seterr(err, errlen, "unable to load key file '%s': %s", key_file,
		       mbed_str(r, buf, sizeof(buf)));
		r = -EINVAL;
		goto fail;
	}
	r = mbedtls_pk_check_pair(&cfg->cert.pk, &cfg->key);
	if (r != 0) {
		seterr(err, errlen, "key file '%s' does not match certificate file '%s'",
		       key_file, cert_file);
		r = -EINVAL;
		goto fail;
	}
	r = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->cert, &cfg->key);
	if (r != 0) {
		seterr(err, errlen, "unable to use certificate '%s': %s", cert_file,
		       mbed_str(r, buf, sizeof(buf)));
		r = -EINVAL;
		goto fail;
	}
	mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_NONE);
	return cfg;

fail:
	config_unref(cfg);
	errno = -r;
	return NULL;
}

struct evb_tls_config *evb_tls_config_ref(struct evb_tls_config *cfg)
{
	cfg->refs++;
	return cfg;
}

void evb_tls_config_free(struct evb_tls_config *cfg)
{
	config_unref(cfg);
}

int evb_tls_config_is_server(const struct evb_tls_config *cfg)
{
	return cfg->server;
}

/* ---- sessions ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct evb_tls *t = ctx;
	int r = t->send(t->arg, buf, len);

	if (r < 0) {
		t->send_err = r;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
	return len > INT_MAX ? INT_MAX : (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct evb_tls *t = ctx;
	size_t n = t->in_len - t->in_off;

	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > len)
		n = len;
	if (n > INT_MAX)
		n = INT_MAX;
	memcpy(buf, t->in + t->in_off, n);
	t->in_off += n;
	if (t->in_off == t->in_len)
		t->in_off = t->in_len = 0;
	return (int)n;
}

struct evb_tls *evb_tls_new(struct evb_tls_config *cfg, const char *hostname,
			    int (*send)(void *arg, const uint8_t *data, size_t len), void *arg)
{
	struct evb_tls *t;
	int r;

	if (!cfg->server && (!hostname || !*hostname)) {
		errno = EINVAL; /* no name, no hostname check: refuse */
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	mbedtls_ssl_init(&t->ssl);
	r = mbedtls_ssl_setup(&t->ssl, &cfg->conf);
	if (r == 0 && !cfg->server)
		r = mbedtls_ssl_set_hostname(&t->ssl, hostname);
	if (r != 0) {
		mbedtls_ssl_free(&t->ssl);
		free(t);
		errno = r == MBEDTLS_ERR_SSL_ALLOC_FAILED ? ENOMEM : EINVAL;
		return NULL;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	t->cfg = cfg;
	cfg->refs++;
	t->send = send;
	t->arg = arg;
	return t;
}

void evb_tls_free(struct evb_tls *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl);
	config_unref(t->cfg);
	free(t->in);
	free(t);
}

int evb_tls_feed(struct evb_tls *t, const void *data, size_t len)
{
	size_t have = t->in_len - t->in_off;

	if (have + len > TLS_IN_MAX)
		return EVB_EFULL;
	if (t->in_off > 0) {
		memmove(t->in, t->in + t->in_off, have);
		t->in_off = 0;
		t->in_len = have;
	}
	if (t->in_len + len > t->in_cap) {
		size_t cap = t->in_cap ? t->in_cap : 16384;
		uint8_t *p;

		while (cap < t->in_len + len)
			cap *= 2;
		if (cap > TLS_IN_MAX)
			cap = TLS_IN_MAX;
		p = realloc(t->in, cap);
		if (!p)
			return -ENOMEM;
		t->in = p;
		t->in_cap = cap;
	}
	memcpy(t->in + t->in_len, data, len);
	t->in_len += len;
	return 0;
}

static const char *alert_name(unsigned char a)
{
	switch (a) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 112: return "unrecognized_name";
	}
	return "alert";
}

/* Describes a failed mbedTLS call in t->err; returns -EPROTO. */
static int fail(struct evb_tls *t, const char *what, int r)
{
	char buf[160];

	if (t->send_err < 0) {
		snprintf(t->err, sizeof(t->err), "unable to send: %s", evb_strerror(t->send_err));
		return t->send_err;
	}
	if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		char info[512], *p, *line;
		size_t o;
		uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);

		o = (size_t)snprintf(t->err, sizeof(t->err), "certificate verify failed");
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		/* One sentence per line, "The certificate ...": join them. */
		for (p = info; (line = strsep(&p, "\n")) != NULL;) {
			if (!*line || o >= sizeof(t->err))
				continue;
			line[0] = (char)tolower((unsigned char)line[0]);
			o += (size_t)snprintf(t->err + o, sizeof(t->err) - o, "%s%s",
					      o == strlen("certificate verify failed") ? ": " : "; ",
					      line);
		}
		return -EPROTO;
	}
	if (r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
		unsigned char a = t->ssl.in_msg ? t->ssl.in_msg[1] : 0;
		snprintf(t->err, sizeof(t->err), "%s: peer sent fatal alert %u (%s)", what, a,
			 alert_name(a));
		return -EPROTO;
	}
	mbedtls_strerror(r, buf, sizeof(buf));
	snprintf(t->err, sizeof(t->err), "%s: %s", what, buf);
	return -EPROTO;
}

int evb_tls_handshake(struct evb_tls *t)
{
	int r = mbedtls_ssl_handshake(&t->ssl);

	if (r == 0)
		return 0;
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return -EAGAIN;
	return fail(t, "tls handshake failed", r);
}

ssize_t evb_tls_read(struct evb_tls *t, void *buf, size_t cap)
{
	int r = mbedtls_ssl_read(&t->ssl, buf, cap);

	if (r > 0)
		return r;
	if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return -EAGAIN;
	return fail(t, "tls read failed", r);
}

int evb_tls_write(struct evb_tls *t, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		int r = mbedtls_ssl_write(&t->ssl, p, len);

		if (r < 0)
			return fail(t, "tls write failed", r);
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int evb_tls_close_notify(struct evb_tls *t)
{
	int r = mbedtls_ssl_close_notify(&t->ssl);

	return r == 0 ? 0 : fail(t, "tls close failed", r);
}

size_t evb_tls_buffered(const struct evb_tls *t)
{
	return t->in_len - t->in_off + mbedtls_ssl_get_bytes_avail(&t->ssl);
}

const char *evb_tls_error(const struct evb_tls *t)
{
	return t->err;
}
