/* Byte streams over TCP on one uv loop, plain or TLS (evb_tls): outgoing
 * connections to host:port (IPv4 or IPv6, every resolved address in turn,
 * one timeout for resolving, connecting and the TLS handshake), listeners,
 * push-style reads, a bounded write queue, one timer per stream, and a close
 * that reports once. A stream frees itself after its last callback.
 * Writing to a vanished peer raises SIGPIPE: programs must ignore it. */
#ifndef EVB_STREAM_H
#define EVB_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evb_tls.h"

#define EVB_STREAM_MAX_QUEUE (4u << 20)  /* default cap on queued bytes */
#define EVB_STREAM_HANDSHAKE_MS 10000    /* default server TLS handshake limit */
#define EVB_STREAM_HOST_MAX 256

struct evb_stream;
struct evb_stream_listener;

/* Connects to host (a name, an IPv4 address, or an IPv6 address with or
 * without brackets) on port; with tls (a client config, referenced) the TLS
 * handshake runs too, sending host as SNI and checking the certificate
 * against it. timeout_ms (0: none) bounds it all. on_connect(s, status, arg)
 * runs once: status 0 means connected (call evb_stream_start() or
 * evb_stream_close()); a negative status (-ETIMEDOUT, -ECONNREFUSED,
 * -EPROTO for TLS, ...) means s is freed when the callback returns, and
 * evb_stream_errstr(s) explains it meanwhile. Returns NULL with errno set. */
struct evb_stream *evb_stream_connect(uv_loop_t *loop, const char *host, int port,
				      struct evb_tls_config *tls, unsigned timeout_ms,
				      void (*on_connect)(struct evb_stream *s, int status,
							 void *arg),
				      void *arg);

/* Listens on host:port (port 0: any free port, see
 * evb_stream_listener_port()); host is an address or a name resolved now,
 * "[::1]" and "::1" alike, NULL or "" meaning 0.0.0.0. With tls (a server
 * config, referenced) each client completes its handshake before it is
 * handed to on_accept(l, s, arg), which owns s: evb_stream_start() or
 * evb_stream_close() it. Returns NULL with errno set (EADDRINUSE, ...). */
struct evb_stream_listener *evb_stream_listen(uv_loop_t *loop, const char *host, int port,
					      struct evb_tls_config *tls,
					      void (*on_accept)(struct evb_stream_listener *l,
								struct evb_stream *s, void *arg),
					      void *arg);

/* The port actually bound (useful after listening on port 0). */
int evb_stream_listener_port(const struct evb_stream_listener *l);

/* Limits the TLS handshake of each accepted client (default
 * EVB_STREAM_HANDSHAKE_MS); clients too slow are dropped unseen. */
void evb_stream_listener_set_handshake_timeout(struct evb_stream_listener *l, unsigned ms);

/* Stops listening and frees l from the loop; clients still in their TLS
 * handshake are dropped, accepted streams stay open. on_accept does not run
 * again. */
void evb_stream_listener_close(struct evb_stream_listener *l);

/* Sets the callbacks and reads. on_read(s, data, len, arg) gets the bytes in
 * order (plaintext for TLS), valid only during the call; NULL discards. on_close(s, reason,
 * arg) runs once when s is closed: reason 0 after evb_stream_close(),
 * evb_stream_end(), a clean end of stream from the peer (EOF or TLS
 * close_notify), or -errno (-ETIMEDOUT for the timer's default action,
 * -ECONNRESET, -EPROTO, ...); s is freed when it returns. Calling it again
 * replaces the callbacks: a protocol hands the stream over to the next one.
 * Returns 0, or -ENOTCONN once s is closing. */
int evb_stream_start(struct evb_stream *s,
		     void (*on_read)(struct evb_stream *s, const uint8_t *data, size_t len,
				     void *arg),
		     void (*on_close)(struct evb_stream *s, int reason, void *arg), void *arg);

/* Stops delivering data: once this returns, on_read does not run until
 * evb_stream_resume(), which continues with the first byte not delivered.
 * Both are cheap and idempotent. */
void evb_stream_pause(struct evb_stream *s);
void evb_stream_resume(struct evb_stream *s);

/* Queues a copy of len bytes (encrypted for TLS); they leave in order.
 * Returns 0, EVB_EFULL when the queue would pass its cap (nothing queued),
 * -ENOTCONN before the connection is up or once it is closing, or -errno. */
int evb_stream_write(struct evb_stream *s, const void *data, size_t len);

/* evb_stream_write() when more of the same message follows at once: the
 * bytes wait for the next evb_stream_write(), so a message written in
 * pieces (a WebSocket frame's header, then its payload) leaves in one
 * system call. */
int evb_stream_write_more(struct evb_stream *s, const void *data, size_t len);

/* Bytes queued and not yet written to the socket (ciphertext for TLS). */
size_t evb_stream_queued(const struct evb_stream *s);

/* Caps the write queue (EVB_STREAM_MAX_QUEUE by default). TLS adds a few
 * bytes per record that the cap does not see coming. */
void evb_stream_set_max_queue(struct evb_stream *s, size_t bytes);

/* Arms the stream's one timer to fire once in ms milliseconds (0: on the next
 * loop iteration), replacing any earlier setting: cb(s, arg) then runs with
 * the arg of evb_stream_start(); a NULL cb closes s with -ETIMEDOUT instead.
 * evb_stream_stop_timer() disarms it. */
void evb_stream_set_timer(struct evb_stream *s, uint64_t ms,
			  void (*cb)(struct evb_stream *s, void *arg));
void evb_stream_stop_timer(struct evb_stream *s);

/* Closes gracefully: no more on_read, the queued bytes are written (then a
 * TLS close_notify), the write side is shut down, and input is discarded
 * until the peer closes or a few seconds pass; then on_close(s, 0). */
void evb_stream_end(struct evb_stream *s);

/* Closes now: queued bytes are discarded and on_close runs once from the
 * loop. On a stream not yet connected or started, no callback runs at all.
 * Idempotent; safe inside any of s's callbacks. */
void evb_stream_close(struct evb_stream *s);

/* The peer as "192.0.2.1:5060" or "[2001:db8::1]:443" (for a client
 * stream, the host and port asked for until connected). Valid as long as s. */
const char *evb_stream_peer(const struct evb_stream *s);

/* The reason of the last failure as one line, "" if none; meant for
 * on_connect and on_close. */
const char *evb_stream_errstr(const struct evb_stream *s);

/* 1 if s is a TLS stream. */
int evb_stream_is_tls(const struct evb_stream *s);

/* The loop s runs on. */
uv_loop_t *evb_stream_loop(const struct evb_stream *s);

/* Splits "host:port", "[v6addr]:port" or ":port" (host "") into host (no
 * brackets, hostcap bytes with the NUL) and *port (0-65535). Returns 0 or
 * -EINVAL. */
int evb_stream_parse_hostport(const char *s, char *host, size_t hostcap, int *port);

#endif
