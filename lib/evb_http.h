/* HTTP/1.1 server on evb_stream: keep-alive, pipelined requests answered in
 * order (one request at a time is with the handler; the next is parsed once
 * it is answered), chunked request bodies, caps (414/431/413 with a JSON
 * error body), slowloris-proof header and body deadlines, an idle
 * keep-alive timeout, answers given later from any callback, and the
 * WebSocket upgrade handed over to evb_ws.
 *
 * Every request given to the handler must be answered exactly once, by
 * evb_http_respond(), evb_http_respond_error() or evb_http_req_accept_ws(),
 * even when the client has left meanwhile (the answer is then dropped). */
#ifndef EVB_HTTP_H
#define EVB_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evb_httpmsg.h"
#include "evb_tls.h"
#include "evb_ws.h"

#define EVB_HTTP_HEADER_MS 10000  /* to receive a request's headers */
#define EVB_HTTP_BODY_MS 30000    /* then its body */
#define EVB_HTTP_IDLE_MS 60000    /* keep-alive wait for the next request */
#define EVB_HTTP_MAX_CONNS 4096   /* clients beyond this are dropped */
#define EVB_HTTP_MAX_RESPONSE (16u << 20)

struct evb_http_server;
struct evb_http_req;

/* Listens on host:port (see evb_stream_listen(); port 0 picks one) with tls
 * (a server config, referenced) or plain. on_request(req, arg) runs per
 * request, in order per connection. Returns NULL with errno set. */
struct evb_http_server *evb_http_server_new(uv_loop_t *loop, const char *host, int port,
					    struct evb_tls_config *tls,
					    void (*on_request)(struct evb_http_req *req, void *arg),
					    void *arg);

/* The port listened on. */
int evb_http_server_port(const struct evb_http_server *srv);

/* Caps request bodies for connections accepted from now on (default
 * EVB_HTTP_MAX_BODY); larger ones get 413. */
void evb_http_server_set_max_body(struct evb_http_server *srv, size_t bytes);

/* Sets the header deadline (from a request's first byte, or from the
 * connection for its first request), the body deadline (from the end of the
 * headers) and the keep-alive idle timeout, in ms; 0 keeps the current
 * value. Late requests get 408; idle connections are closed. */
void evb_http_server_set_timeouts(struct evb_http_server *srv, unsigned header_ms,
				  unsigned body_ms, unsigned idle_ms);

/* Stops listening and closes every connection at once; requests not yet
 * answered stay valid until answered. No callback runs after this. */
void evb_http_server_free(struct evb_http_server *srv);

/* The request: method ("GET"), raw target, raw path (no query), raw query
 * ("" if none). Strings belong to req and live until it is answered. */
const char *evb_http_req_method(const struct evb_http_req *req);
const char *evb_http_req_url(const struct evb_http_req *req);
const char *evb_http_req_path(const struct evb_http_req *req);
const char *evb_http_req_query(const struct evb_http_req *req);

/* The first value of header name (any case), or NULL; and every header. */
const char *evb_http_req_header(const struct evb_http_req *req, const char *name);
size_t evb_http_req_header_count(const struct evb_http_req *req);
const char *evb_http_req_header_name(const struct evb_http_req *req, size_t i);
const char *evb_http_req_header_value(const struct evb_http_req *req, size_t i);

/* The body, NUL-terminated, *len bytes (chunked coding removed). */
const uint8_t *evb_http_req_body(const struct evb_http_req *req, size_t *len);

/* The client's address, e.g. "127.0.0.1:40312" or "[::1]:40312". */
const char *evb_http_req_peer(const struct evb_http_req *req);

/* 1 if the request came over TLS. */
int evb_http_req_is_tls(const struct evb_http_req *req);

/* 1 if req is a valid WebSocket upgrade (checked before the handler sees it:
 * a bad one is refused with 400 without reaching the handler). */
int evb_http_req_is_websocket(const struct evb_http_req *req);

/* cb(req, arg) runs if the client leaves before req is answered; req is
 * still valid and must still be answered. */
void evb_http_req_set_abort_cb(struct evb_http_req *req,
			       void (*cb)(struct evb_http_req *req, void *arg), void *arg);

/* Adds a response header line (copied) for the answer to come. Returns 0,
 * -EINVAL for a name or value that is not safe (CR, LF, ...), EVB_ETOOBIG
 * past EVB_HTTP_MAX_HEADER_BYTES. */
int evb_http_req_add_header(struct evb_http_req *req, const char *name, const char *value);

/* Answers req with status, an optional Content-Type, and len bytes of body
 * (copied; omitted for HEAD). req is freed. Returns 0; -ENOTCONN if the
 * client has left (answer dropped); EVB_EFULL if the response does not fit
 * EVB_HTTP_MAX_RESPONSE (the connection is closed); -EINVAL if req was
 * answered already. */
int evb_http_respond(struct evb_http_req *req, int status, const char *content_type,
		     const void *body, size_t len);

/* Answers with {"success":false,"error":{"code":code,"message":message}}
 * (code NULL: a slug from the status, e.g. "payload_too_large"). */
int evb_http_respond_error(struct evb_http_req *req, int status, const char *code,
			   const char *message);

/* Answers a WebSocket upgrade with 101 (plus headers added to req) and
 * returns the server session on the connection, which leaves the HTTP
 * server; bytes the client sent after its request reach the session. req
 * is answered and freed in every case: on failure NULL with errno EINVAL
 * (not a WebSocket request: answered 400), ENOTCONN (client gone) or
 * ENOMEM (connection dropped). */
struct evb_ws *evb_http_req_accept_ws(struct evb_http_req *req,
				      void (*on_message)(struct evb_ws *ws, int kind,
							 const uint8_t *data, size_t len,
							 void *arg),
				      void (*on_close)(struct evb_ws *ws, int code,
						       const char *reason, void *arg),
				      void *arg);

/* Checks a parsed request as a WebSocket handshake (GET, HTTP/1.1,
 * Upgrade: websocket, Connection: upgrade, a 16-byte base64
 * Sec-WebSocket-Key, Sec-WebSocket-Version: 13) and fills accept. Returns 0
 * if valid, 1 if it does not ask for a WebSocket, -EBADMSG if it asks
 * wrongly, -EPROTONOSUPPORT for another version. */
int evb_http_ws_check(const struct evb_httpmsg *m, char accept[EVB_WS_ACCEPT_LEN]);

/* The reason phrase of status ("Not Found"), "" if unknown. */
const char *evb_http_reason(int status);

#endif
