/* TLS 1.2 with mbedTLS over memory buffers. A process shares one random
 * generator; a configuration (client or server) is shared by many sessions;
 * a session knows nothing of sockets: the transport feeds it the ciphertext
 * it reads and gets the ciphertext to write through a send callback.
 * Failures return -EPROTO (-ENOMEM, -EINVAL) and evb_tls_error() says why. */
#ifndef EVB_TLS_H
#define EVB_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EVB_TLS_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define EVB_TLS_NO_SYSTEM_CA 1u /* client config flag: trust only ca_file */
#define EVB_TLS_ERR_MAX 256     /* room for an error message */

struct evb_tls_config;
struct evb_tls;

/* Fills buf with len bytes from the process-wide CTR-DRBG (seeded from the
 * system entropy source on first use, again after a fork; requests of up
 * to 32 bytes come from a pool it fills 256 bytes at a time). 0 or -EIO. */
int evb_tls_random(void *buf, size_t len);

/* A client configuration: TLS 1.2, peer certificate required and checked
 * against EVB_TLS_SYSTEM_CA (unless flags has EVB_TLS_NO_SYSTEM_CA) plus the
 * PEM bundle ca_file (may be NULL, e.g. EVB_CA_FILE). Returns NULL with errno
 * set and, if err is not NULL, a message naming the file in err. The caller
 * owns one reference: release it with evb_tls_config_free(). */
struct evb_tls_config *evb_tls_client_config_new(const char *ca_file, unsigned flags,
						 char *err, size_t errlen);

/* A server configuration from a PEM certificate chain (leaf first) and its
 * private key (unencrypted PEM or DER). Returns NULL with errno set and a
 * message in err (if not NULL), e.g. when the key does not match. */
struct evb_tls_config *evb_tls_server_config_new(const char *cert_file, const char *key_file,
						 char *err, size_t errlen);

/* Adds a reference to cfg for a new holder; returns cfg. */
struct evb_tls_config *evb_tls_config_ref(struct evb_tls_config *cfg);

/* Drops the caller's reference; sessions keep theirs, so this is safe while
 * connections made with cfg are still open. NULL is ignored. */
void evb_tls_config_free(struct evb_tls_config *cfg);

/* 1 for a server configuration, 0 for a client one. */
int evb_tls_config_is_server(const struct evb_tls_config *cfg);

/* A session using cfg (it takes a reference). For a client, hostname is sent
 * as SNI and the certificate must match it (DNS names only: mbedTLS 2.28
 * ignores IP subjectAltNames). Ciphertext to transmit goes to send(arg, data,
 * len), which returns 0 or a negative error. NULL with errno on failure. */
struct evb_tls *evb_tls_new(struct evb_tls_config *cfg, const char *hostname,
			    int (*send)(void *arg, const uint8_t *data, size_t len), void *arg);

/* Frees t (NULL is ignored); nothing is sent. */
void evb_tls_free(struct evb_tls *t);

/* Appends len bytes of ciphertext read from the peer; copied. Returns 0, or
 * EVB_EFULL when more than a few records are waiting (the transport should
 * not read more until the session consumed them). */
int evb_tls_feed(struct evb_tls *t, const void *data, size_t len);

/* Advances the handshake with what was fed. Returns 0 once complete,
 * -EAGAIN when it needs more input, or -EPROTO (see evb_tls_error(), e.g.
 * "certificate verify failed: ..."). */
int evb_tls_handshake(struct evb_tls *t);

/* Decrypts into buf (cap bytes). Returns the byte count, -EAGAIN when no
 * full record is buffered, 0 after the peer's close_notify, or -EPROTO. */
ssize_t evb_tls_read(struct evb_tls *t, void *buf, size_t cap);

/* Encrypts len bytes; all of it goes to the send callback before this
 * returns. Returns 0, -EPROTO, or the send callback's error. */
int evb_tls_write(struct evb_tls *t, const void *data, size_t len);

/* Sends a close_notify alert through the send callback. 0 or -EPROTO. */
int evb_tls_close_notify(struct evb_tls *t);

/* Ciphertext bytes fed and not yet consumed. */
size_t evb_tls_buffered(const struct evb_tls *t);

/* The last failure as one line ("" if none); valid until the next call. */
const char *evb_tls_error(const struct evb_tls *t);

#endif
