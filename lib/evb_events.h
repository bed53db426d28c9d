/* Sending events to evb-logger: build an event, queue it (bounded), send it
 * over a reconnecting link to logger.sock, keep it until the logger acks
 * it, and send every unacked event again after a reconnect. The protocol
 * is in docs/logger.md. */
#ifndef EVB_EVENTS_H
#define EVB_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evb_util.h"

#define EVB_EVENTS_MAX 10000          /* default cap on queued events */
#define EVB_EVENTS_MAX_BYTES (8u << 20) /* default cap on their JSON bytes */

/* How evb_events_send() serialises: compact, reals with 9 significant
 * digits, which keeps a single-precision value (an EVI prosody score)
 * exact and halves what the logger and PostgreSQL parse per score. */
#define EVB_EVENTS_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

struct evb_events;

struct evb_events_stats {
	uint64_t queued;      /* events accepted by evb_events_send() */
	uint64_t acked;       /* of which the logger has acknowledged */
	uint64_t refused;     /* refused: queue full, or not serialisable */
	uint64_t resent;      /* frames sent again after a reconnect */
	size_t pending;       /* events queued and not yet acked */
	size_t pending_bytes; /* their JSON bytes */
};

/* Returns a new event object with "type", "call_id" (the UUID string of
 * call_id), "provider", "ts" (now, RFC 3339 with milliseconds) and a random
 * "event_id"; add the type's own fields and pass it to evb_events_send().
 * The caller owns the reference. Returns NULL with errno set. */
json_t *evb_event_new(const char *type, const uint8_t call_id[EVB_CALLID_LEN],
		      const char *provider);

/* Starts a sender on loop toward the logger's unix socket at path (e.g.
 * "$EVB_RUN_DIR/logger.sock"), queueing at most max_events events and
 * max_bytes bytes of JSON (0: the defaults above). Connects now and after
 * every loss. Returns NULL with errno set. */
struct evb_events *evb_events_new(uv_loop_t *loop, const char *path, size_t max_events,
				  size_t max_bytes);

/* Stops the sender and frees it from the loop; events not acked yet are
 * dropped (a warning says how many). */
void evb_events_free(struct evb_events *q);

/* Queues ev (serialised with EVB_EVENTS_JSON_FLAGS), taking its reference
 * in every case, and sends it as soon as the logger is connected. Returns 0; EVB_EFULL when the queue is full (the
 * event is refused: logged and counted, the queue is left as it is);
 * EVB_ETOOBIG for an event over the frame payload cap; EVB_EJSON when ev is
 * not an object; -ENOMEM. */
int evb_events_send(struct evb_events *q, json_t *ev);

/* Same as evb_events_send() for an event already serialised: a copy of
 * the len bytes at json (one JSON object, not checked) goes in the queue,
 * with call_id for the frame header. For relays and benchmarks. */
int evb_events_send_raw(struct evb_events *q, const uint8_t call_id[EVB_CALLID_LEN],
			const char *json, size_t len);

/* Fills st with the counters. */
void evb_events_stats(const struct evb_events *q, struct evb_events_stats *st);

/* Events queued and not yet acked (0: everything is durable in the spool). */
size_t evb_events_pending(const struct evb_events *q);

/* 1 while connected to the logger. */
int evb_events_connected(const struct evb_events *q);

#endif
