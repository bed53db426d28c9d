/* WebSocket (RFC 6455) sessions over evb_stream with wslay's event API:
 * client connections to ws:// and wss:// URLs, server sessions over a
 * stream whose HTTP handshake is done (see evb_http_req_accept_ws()), text
 * and binary messages with a receive cap (close 1009 beyond it), ping/pong,
 * an optional keepalive ping, a bounded send queue, and the close handshake
 * with code and reason both ways. A session frees itself after on_close.
 *
 * Close codes reported by on_close: the peer's when it sent a close frame
 * (1005 if it had no code); else ours when we sent one (evb_ws_close(), or
 * 1002/1007/1009 on bad input); else 1006, with the error as the reason. */
#ifndef EVB_WS_H
#define EVB_WS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evb_stream.h"
#include "evb_tls.h"

#define EVB_WS_TEXT 1
#define EVB_WS_BINARY 2
#define EVB_WS_MAX_MESSAGE (1u << 20) /* default receive cap */
#define EVB_WS_MAX_QUEUE (4u << 20)   /* default send queue cap */
#define EVB_WS_CLOSE_MS 5000          /* wait this long for the peer's close */
#define EVB_WS_ACCEPT_LEN 29          /* Sec-WebSocket-Accept and its NUL */
#define EVB_WS_REASON_MAX 123         /* close reason bytes */

struct evb_ws;

/* Opens a client session to url (ws://host[:port]/path?query or wss://...;
 * tls, a client config, is required for wss and ignored for ws). headers is
 * NULL or extra request lines "Name: value\r\n..." (copied). timeout_ms
 * bounds connecting plus the handshake. Then exactly one of: on_open(ws)
 * followed later by on_close, or on_close(ws, 1006, reason) alone if it
 * failed (evb_ws_http_status() tells a refused handshake, e.g. 401). Log
 * lines name host and path only: the query may carry secrets. Returns NULL
 * with errno set (EINVAL for a bad URL or header), and then no callback. */
struct evb_ws *evb_ws_connect(uv_loop_t *loop, const char *url, struct evb_tls_config *tls,
			      const char *headers, unsigned timeout_ms,
			      void (*on_open)(struct evb_ws *ws, void *arg),
			      void (*on_message)(struct evb_ws *ws, int kind, const uint8_t *data,
						 size_t len, void *arg),
			      void (*on_close)(struct evb_ws *ws, int code, const char *reason,
					       void *arg),
			      void *arg);

/* Starts a server session on s, whose handshake response (101) has been
 * queued; pending holds bytes already read after the request (copied, may
 * be NULL). On success the session owns s and replaces its callbacks; the
 * pending bytes are handled on the next loop iteration, before anything
 * read later. on_message(ws, kind, data, len, arg) gets each complete
 * message (EVB_WS_TEXT or EVB_WS_BINARY), data valid during the call.
 * Returns NULL with errno set, leaving s to the caller. */
struct evb_ws *evb_ws_server_new(struct evb_stream *s, const void *pending, size_t len,
				 void (*on_message)(struct evb_ws *ws, int kind,
						    const uint8_t *data, size_t len, void *arg),
				 void (*on_close)(struct evb_ws *ws, int code, const char *reason,
						  void *arg),
				 void *arg);

/* Queues one message of kind EVB_WS_TEXT (valid UTF-8) or EVB_WS_BINARY;
 * data is copied. Returns 0; EVB_EFULL when the queue would pass its cap
 * (nothing queued); -ENOTCONN before on_open or once closing; -EINVAL. */
int evb_ws_send(struct evb_ws *ws, int kind, const void *data, size_t len);

/* Starts the close handshake with code (1000-4999) and reason (truncated
 * to EVB_WS_REASON_MAX bytes); the connection ends when the peer answers or
 * after EVB_WS_CLOSE_MS, then on_close runs. Idempotent. Before on_open it
 * is evb_ws_free(). */
void evb_ws_close(struct evb_ws *ws, int code, const char *reason);

/* Drops the connection at once without a close frame; no callback runs
 * after this call. Safe inside ws's callbacks. */
void evb_ws_free(struct evb_ws *ws);

/* Caps a received message (default EVB_WS_MAX_MESSAGE). */
void evb_ws_set_max_message(struct evb_ws *ws, size_t bytes);

/* Caps bytes queued for sending (default EVB_WS_MAX_QUEUE). */
void evb_ws_set_max_queue(struct evb_ws *ws, size_t bytes);

/* Sends a ping every ms milliseconds (0: never, the default) and drops the
 * connection (1006, "ping timeout") when nothing arrived for two of them. */
void evb_ws_set_ping_interval(struct evb_ws *ws, unsigned ms);

/* Bytes queued for sending. */
size_t evb_ws_queued(const struct evb_ws *ws);

/* The peer's address (see evb_stream_peer()); "" in memory mode. */
const char *evb_ws_peer(const struct evb_ws *ws);

/* A client's handshake response status (101 once open, 0 if none came). */
int evb_ws_http_status(const struct evb_ws *ws);

/* Computes Sec-WebSocket-Accept for key into out. 0 or -EINVAL. */
int evb_ws_accept_key(const char *key, char out[EVB_WS_ACCEPT_LEN]);

/* For fuzzing and tests: a session with no socket (server 1: expects
 * masked frames). evb_ws_mem_feed() runs data through it at once, calling
 * on_message and, when the session ends, on_close; output is discarded.
 * Returns 0 while open, 1 once closed. Free with evb_ws_free(), not from
 * inside its callbacks. */
struct evb_ws *evb_ws_mem_new(int server,
			      void (*on_message)(struct evb_ws *ws, int kind, const uint8_t *data,
						 size_t len, void *arg),
			      void (*on_close)(struct evb_ws *ws, int code, const char *reason,
					       void *arg),
			      void *arg);
int evb_ws_mem_feed(struct evb_ws *ws, const void *data, size_t len);

#endif
