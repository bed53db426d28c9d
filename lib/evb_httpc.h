/* HTTP/1.1 client for REST calls: one request per object, http or https
 * (verified through a client evb_tls config), "Connection: close", connect
 * and total timeouts, a capped response body, redirects not followed (a 3xx
 * is returned as it is). Build the request, start it, and read the
 * response inside on_done. */
#ifndef EVB_HTTPC_H
#define EVB_HTTPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evb_tls.h"

#define EVB_HTTPC_CONNECT_MS 10000
#define EVB_HTTPC_TOTAL_MS 30000
#define EVB_HTTPC_MAX_BODY (1u << 20)

struct evb_httpc;

/* A request for method ("GET", "POST", ...) and url (http:// or https://,
 * copied). The caller owns it until evb_httpc_start() succeeds. NULL with
 * errno EINVAL (bad method or URL) or ENOMEM. */
struct evb_httpc *evb_httpc_new(uv_loop_t *loop, const char *method, const char *url);

/* Adds a request header (copied). 0, -EINVAL (unsafe name or value),
 * EVB_ETOOBIG or -ENOMEM. Host, Connection and Content-Length are set by
 * the client. */
int evb_httpc_add_header(struct evb_httpc *c, const char *name, const char *value);

/* Adds "Authorization: Basic base64(user:password)". 0 or -errno. */
int evb_httpc_set_basic_auth(struct evb_httpc *c, const char *user, const char *password);

/* Sets the body (copied) and its Content-Type (NULL: none). 0 or -errno. */
int evb_httpc_set_body(struct evb_httpc *c, const char *content_type, const void *body,
		       size_t len);

/* The TLS client config for https (referenced); required for https. */
void evb_httpc_set_tls(struct evb_httpc *c, struct evb_tls_config *tls);

/* Limits connecting (TCP and TLS) and the whole exchange, in ms; 0 keeps
 * the default (EVB_HTTPC_CONNECT_MS, EVB_HTTPC_TOTAL_MS). */
void evb_httpc_set_timeouts(struct evb_httpc *c, unsigned connect_ms, unsigned total_ms);

/* Caps the response body (default EVB_HTTPC_MAX_BODY): beyond, the
 * request fails with EVB_ETOOBIG. */
void evb_httpc_set_max_body(struct evb_httpc *c, size_t bytes);

/* Sends the request. on_done(c, err, arg) runs once: err 0 with a complete
 * response (any status), else -ETIMEDOUT, -ECONNREFUSED, -EPROTO (TLS, see
 * evb_httpc_errstr()), -EBADMSG (bad response), EVB_ETOOBIG, ...; c is freed
 * when on_done returns. Returns 0, or -EINVAL (https without TLS config) or
 * -errno, and then c is still the caller's. */
int evb_httpc_start(struct evb_httpc *c, void (*on_done)(struct evb_httpc *c, int err, void *arg),
		    void *arg);

/* Frees c; once started, cancels it and on_done does not run. Inside
 * on_done it does nothing (c is freed after on_done anyway). */
void evb_httpc_free(struct evb_httpc *c);

/* The response, inside on_done with err 0: status code, first value of a
 * header (any case) or NULL, and the body (NUL-terminated, *len bytes). */
int evb_httpc_status(const struct evb_httpc *c);
const char *evb_httpc_header(const struct evb_httpc *c, const char *name);
const uint8_t *evb_httpc_body(const struct evb_httpc *c, size_t *len);

/* Why the request failed, one line ("" if it did not). The URL's query
 * string never appears in it. */
const char *evb_httpc_errstr(const struct evb_httpc *c);

#endif
