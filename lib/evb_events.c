/* Event sender (see evb_events.h). The queue is a ring of serialised
 * events in send order: the first `nsent` have gone out on the current
 * connection with seq base_seq, base_seq + 1, ...; the rest wait for a
 * connection. An ack {"type":"ack","upto":N} frees every event up to seq N.
 * On a new connection, seq restarts at 0 and the whole queue goes again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evb_conn.h"
#include "evb_err.h"
#include "evb_events.h"
#include "evb_log.h"

struct ev_ent {
	char *json;
	uint32_t len;
	uint8_t call_id[EVB_CALLID_LEN];
};

struct evb_events {
	struct evb_link *link;
	struct ev_ent *ring;
	size_t cap, head, count; /* ring slots allocated, first, used */
	size_t nsent;            /* of count, sent on the current connection */
	uint32_t base_seq;       /* seq of ring[head] on this connection */
	size_t max_events, max_bytes, bytes;
	int up;
	uint64_t queued, acked, refused, resent;
};

json_t *evb_event_new(const char *type, const uint8_t call_id[EVB_CALLID_LEN],
		      const char *provider)
{
	char cid[EVB_CALLID_STRLEN], eid[EVB_CALLID_STRLEN], ts[32];
	uint8_t id[EVB_CALLID_LEN];
	json_t *ev;
	int r = evb_callid_random(id);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	evb_callid_format(id, eid);
	evb_callid_format(call_id, cid);
	evb_wallclock_rfc3339(ts, sizeof(ts));
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "call_id", cid, "provider",
		       provider, "ts", ts, "event_id", eid);
	if (!ev)
		errno = EINVAL; /* NULL or non-UTF-8 type or provider, or no memory */
	return ev;
}

static struct ev_ent *ent_at(struct evb_events *q, size_t i)
{
	return &q->ring[(q->head + i) % q->cap];
}

/* Sends the queued events not yet sent on this connection. */
static void flush(struct evb_events *q)
{
	while (q->up && q->nsent < q->count) {
		struct ev_ent *e = ent_at(q, q->nsent);
		struct evb_frame_hdr h = { .kind = EVB_KIND_EVENT, .len = e->len };
		int r;

		h.seq = q->base_seq + (uint32_t)q->nsent;
		memcpy(h.call_id, e->call_id, EVB_CALLID_LEN);
		r = evb_link_send(q->link, &h, e->json);
		if (r < 0) {
			/* The connection's queue holds twice the ring (see on_up), so
			 * this is a connection going away: the next one sends
			 * everything. Otherwise the next ack tries again. */
			if (r != -ENOTCONN)
				EVB_LOG(LOG_WARNING, "events", "unable to send an event to the "
					"logger: %s", evb_strerror(r));
			return;
		}
		q->nsent++;
	}
}

static void pop(struct evb_events *q, size_t n)
{
	while (n--) {
		struct ev_ent *e = ent_at(q, 0);
		q->bytes -= e->len;
		free(e->json);
		e->json = NULL;
		q->head = (q->head + 1) % q->cap;
		q->count--;
		q->nsent--;
		q->base_seq++;
		q->acked++;
	}
}

static void on_frame(struct evb_link *l, const struct evb_frame *f, void *arg)
{
	struct evb_events *q = arg;
	json_t *j, *t, *u;
	uint32_t upto, n;

	(void)l;
	if (f->h.kind != EVB_KIND_CONTROL)
		return;
	j = json_loadb((const char *)f->payload, f->h.len, 0, NULL);
	t = json_object_get(j, "type");
	u = json_object_get(j, "upto");
	if (json_is_string(t) && strcmp(json_string_value(t), "ack") == 0 && json_is_integer(u) &&
	    json_integer_value(u) >= 0 && json_integer_value(u) <= UINT32_MAX) {
		upto = (uint32_t)json_integer_value(u);
		n = upto - q->base_seq + 1; /* modulo 2^32, like seq */
		if (n <= q->nsent) {
			pop(q, n);
			flush(q);
		}
		/* else: an ack for nothing outstanding (a stale one): ignored */
	} else {
		EVB_LOG(LOG_DEBUG, "events", "ignoring a control frame from the logger");
	}
	json_decref(j);
}

static void on_up(struct evb_link *l, void *arg)
{
	struct evb_events *q = arg;
	struct evb_conn *c = evb_link_conn(l);

	/* A batch being written counts in full until its write ends, while
	 * acks for its start free the ring for more: twice the ring fits. */
	if (c)
		evb_conn_set_max_queue(c, 2 * (q->max_bytes + q->max_events * EVB_FRAME_HDR_LEN) +
					       EVB_FRAME_MAX_PAYLOAD);
	q->up = 1;
	q->base_seq = 0;
	q->nsent = 0;
	if (q->count)
		EVB_LOG(LOG_INFO, "events", "sending %zu queued events to the logger",
			q->count);
	flush(q);
}

static void on_down(struct evb_link *l, int reason, void *arg)
{
	struct evb_events *q = arg;

	(void)l;
	(void)reason;
	q->up = 0;
	q->resent += q->nsent; /* they go again on the next connection */
	q->nsent = 0;
}

struct evb_events *evb_events_new(uv_loop_t *loop, const char *path, size_t max_events,
				  size_t max_bytes)
{
	struct evb_events *q = calloc(1, sizeof(*q));
	int e;

	if (!q)
		return NULL;
	q->max_events = max_events ? max_events : EVB_EVENTS_MAX;
	q->max_bytes = max_bytes ? max_bytes : EVB_EVENTS_MAX_BYTES;
	q->link = evb_link_new(loop, path, on_up, on_down, on_frame, q);
	if (!q->link) {
		e = errno;
		free(q);
		errno = e;
		return NULL;
	}
	return q;
}

void evb_events_free(struct evb_events *q)
{
	if (!q)
		return;
	if (q->count)
		EVB_LOG(LOG_WARNING, "events", "%zu events not acknowledged by the logger are "
			"dropped", q->count);
	evb_link_free(q->link);
	for (size_t i = 0; i < q->count; i++)
		free(ent_at(q, i)->json);
	free(q->ring);
	free(q);
}

static void refuse(struct evb_events *q, const char *why)
{
	if (q->refused++ % 1000 == 0)
		EVB_LOG(LOG_ERR, "events", "event refused (%llu so far): %s",
			(unsigned long long)q->refused, why);
}

/* Makes room for one more entry in the ring (count < max_events). */
static int ring_grow(struct evb_events *q)
{
	size_t cap;
	struct ev_ent *r;

	if (q->count < q->cap)
		return 0;
	cap = q->cap ? q->cap * 2 : 64;
	if (cap > q->max_events)
		cap = q->max_events;
	r = malloc(cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < q->count; i++)
		r[i] = *ent_at(q, i);
	free(q->ring);
	q->ring = r;
	q->cap = cap;
	q->head = 0;
	return 0;
}

/* Queues s (len bytes, malloc'ed: the queue takes it). */
static int enqueue(struct evb_events *q, const uint8_t call_id[EVB_CALLID_LEN], char *s,
		   size_t len)
{
	struct ev_ent *e;

	if (len > EVB_FRAME_MAX_PAYLOAD) {
		free(s);
		refuse(q, "larger than a frame payload");
		return EVB_ETOOBIG;
	}
	if (q->count >= q->max_events || q->bytes + len > q->max_bytes) {
		free(s);
		refuse(q, "the queue to the logger is full");
		return EVB_EFULL;
	}
	if (ring_grow(q) < 0) {
		free(s);
		refuse(q, "out of memory");
		return -ENOMEM;
	}
	e = ent_at(q, q->count);
	e->json = s;
	e->len = (uint32_t)len;
	memcpy(e->call_id, call_id, EVB_CALLID_LEN);
	q->count++;
	q->bytes += len;
	q->queued++;
	flush(q);
	return 0;
}

int evb_events_send(struct evb_events *q, json_t *ev)
{
	json_t *cid = json_object_get(ev, "call_id");
	uint8_t id[EVB_CALLID_LEN] = { 0 };
	char *s;

	if (!json_is_object(ev)) {
		json_decref(ev);
		refuse(q, "not a JSON object");
		return EVB_EJSON;
	}
	if (json_is_string(cid) && evb_callid_parse(json_string_value(cid), id) < 0)
		memset(id, 0, sizeof(id));
	s = json_dumps(ev, EVB_EVENTS_JSON_FLAGS);
	json_decref(ev);
	if (!s) {
		refuse(q, "unable to serialise it");
		return -ENOMEM;
	}
	return enqueue(q, id, s, strlen(s));
}

int evb_events_send_raw(struct evb_events *q, const uint8_t call_id[EVB_CALLID_LEN],
			const char *json, size_t len)
{
	char *s = malloc(len ? len : 1);

	if (!s) {
		refuse(q, "out of memory");
		return -ENOMEM;
	}
	memcpy(s, json, len);
	return enqueue(q, call_id, s, len);
}

void evb_events_stats(const struct evb_events *q, struct evb_events_stats *st)
{
	st->queued = q->queued;
	st->acked = q->acked;
	st->refused = q->refused;
	st->resent = q->resent;
	st->pending = q->count;
	st->pending_bytes = q->bytes;
}

size_t evb_events_pending(const struct evb_events *q)
{
	return q->count;
}

int evb_events_connected(const struct evb_events *q)
{
	return q->up;
}
