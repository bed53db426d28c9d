/* Frame transport between evibridge processes, on one uv loop: a framed
 * connection over a unix socket or pipe, a unix socket listener, a client
 * link that reconnects with backoff, and s6-style readiness notification.
 * Writing to a vanished peer raises SIGPIPE: programs must ignore it. */
#ifndef EVB_CONN_H
#define EVB_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evb_frame.h"

#define EVB_CONN_MAX_QUEUE (4u << 20) /* default cap on queued bytes */

struct evb_conn;
struct evb_listener;
struct evb_link;

/* Wraps fd, a connected unix socket or a pipe, in a connection on loop; from
 * then on the connection owns fd and closes it. name (copied) identifies the
 * peer in log lines. Nothing is read before evb_conn_start(). Returns NULL
 * with errno set (EINVAL for other kinds of fd), leaving fd open. */
struct evb_conn *evb_conn_open(uv_loop_t *loop, int fd, const char *name);

/* Sets the callbacks and starts reading; call it once. on_frame(c, f, arg)
 * runs per frame received, f and its payload valid only during the call; a
 * NULL on_frame reads nothing (a write-only fd). on_close(c, reason, arg) runs
 * once when c closes: reason 0 after a clean end of stream or
 * evb_conn_close(), an EVB_E* code after a bad frame, or -errno after an I/O
 * error; c is freed when it returns. Returns 0 or -errno. */
int evb_conn_start(struct evb_conn *c,
		   void (*on_frame)(struct evb_conn *c, const struct evb_frame *f, void *arg),
		   void (*on_close)(struct evb_conn *c, int reason, void *arg), void *arg);

/* Queues a copy of header h and its h->len payload bytes; queued frames leave
 * in order, in batches. Returns 0; EVB_EFULL if the queue cap would be passed
 * (nothing queued: count a drop or retry later); EVB_EBADHDR or EVB_ETOOBIG
 * for a header that could not be decoded; -ENOTCONN once c is closing. */
int evb_conn_send(struct evb_conn *c, const struct evb_frame_hdr *h, const void *payload);

/* Removes the queued audio frames of call_id that are not yet being written
 * (barge-in); event and control frames stay. Returns how many were removed. */
size_t evb_conn_drop_call(struct evb_conn *c, const uint8_t call_id[EVB_CALLID_LEN]);

/* Bytes queued or being written. */
size_t evb_conn_queued(const struct evb_conn *c);

/* Caps the bytes queued or being written (EVB_CONN_MAX_QUEUE by default, at
 * most 1 GiB); a frame that does not fit is refused with EVB_EFULL. */
void evb_conn_set_max_queue(struct evb_conn *c, size_t bytes);

/* The peer's name for log lines, e.g. "/run/evb/hume.sock[1234]" (path and
 * peer pid) for an accepted connection. Valid as long as c. */
const char *evb_conn_name(const struct evb_conn *c);

/* Closes c: unsent frames are discarded, nothing more is delivered, and
 * on_close runs once from the loop, after which c is freed. Idempotent and
 * safe inside on_frame. */
void evb_conn_close(struct evb_conn *c);

/* Listens on the unix socket path (mode 0660). A socket file nobody listens
 * on is replaced; any other file is left alone. Each client becomes a conn
 * handed to on_accept(l, c, arg), which owns it: evb_conn_start() or
 * evb_conn_close() it. Returns NULL with errno set: ENAMETOOLONG (path does
 * not fit sun_path), EEXIST (not a socket), EADDRINUSE (in use), or other. */
struct evb_listener *evb_listen_unix(uv_loop_t *loop, const char *path, int backlog,
				     void (*on_accept)(struct evb_listener *l,
						       struct evb_conn *c, void *arg),
				     void *arg);

/* Stops listening, removes the socket file if it is still ours, and frees l
 * from the loop; on_accept does not run again. Accepted conns stay open. */
void evb_listener_close(struct evb_listener *l);

/* Connects to the unix socket path now and, whenever that fails or the
 * connection drops, again after 50 ms doubling to 1 s (reset once connected).
 * on_up(l, arg) runs when connected and on_down(l, reason, arg) when an up
 * connection ends (reason as for on_close); either may be NULL. Frames
 * arrive through on_frame. Returns NULL with errno set (ENAMETOOLONG). */
struct evb_link *evb_link_new(uv_loop_t *loop, const char *path,
			      void (*on_up)(struct evb_link *l, void *arg),
			      void (*on_down)(struct evb_link *l, int reason, void *arg),
			      void (*on_frame)(struct evb_link *l, const struct evb_frame *f,
					       void *arg),
			      void *arg);

/* evb_conn_send() on the current connection; -ENOTCONN while down. */
int evb_link_send(struct evb_link *l, const struct evb_frame_hdr *h, const void *payload);

/* The current connection, or NULL while down. It stays the link's: use it
 * for evb_conn_set_max_queue() or evb_conn_drop_call(), never
 * evb_conn_start(); after evb_conn_close() the link reconnects. */
struct evb_conn *evb_link_conn(const struct evb_link *l);

/* Stops retrying, closes the connection (unsent frames are discarded), and
 * frees l from the loop; no callback runs after this call. Safe inside any
 * of the link's callbacks. */
void evb_link_free(struct evb_link *l);

/* s6-style readiness: if EVB_NOTIFY_FD names an open descriptor above 2,
 * writes "\n" to it, closes it, and unsets the variable. Returns 1 when
 * notified, 0 when the variable is unset, or -errno (then nothing written). */
int evb_notify_ready(void);

#endif
