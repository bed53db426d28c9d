/* Unit tests for lib/evb_events: the sender side of the logger protocol,
 * against a fake logger on the same uv loop. A 10 s timer is a watchdog. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "evb_conn.h"
#include "evb_err.h"
#include "evb_events.h"
#include "evb_log.h"
#include "evb_util.h"
#include "tap.h"

static uv_loop_t loop;
static uv_timer_t watchdog;
static char dir[64], sock[128];

/* ---- fake logger ---- */

enum ack_mode { ACK_EACH, ACK_NONE, CLOSE_AFTER };

static struct fake {
	struct evb_listener *lis;
	struct evb_conn *c;
	enum ack_mode mode;
	int close_after, connections;
	int frames;      /* on the current connection */
	int total;       /* on all connections */
	uint32_t seqs[256];
	int bad_seq;     /* a seq that did not follow 0, 1, 2... */
	char last_type[64];
	char last_call_id[EVB_CALLID_STRLEN];
	uint8_t last_hdr_call[EVB_CALLID_LEN];
} fk;

static void fake_ack(uint32_t upto)
{
	struct evb_frame_hdr h = { .kind = EVB_KIND_CONTROL };
	char json[64];

	h.len = (uint32_t)snprintf(json, sizeof(json), "{\"type\":\"ack\",\"upto\":%u}", upto);
	evb_conn_send(fk.c, &h, json);
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static void fake_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	json_t *j = json_loadb((const char *)f->payload, f->h.len, 0, NULL);

	(void)arg;
	if (f->h.seq != (uint32_t)fk.frames)
		fk.bad_seq = 1;
	if (fk.total < 256)
		fk.seqs[fk.total] = f->h.seq;
	fk.frames++;
	fk.total++;
	snprintf(fk.last_type, sizeof(fk.last_type), "%s",
		 str_or_empty(json_string_value(json_object_get(j, "type"))));
	snprintf(fk.last_call_id, sizeof(fk.last_call_id), "%s",
		 str_or_empty(json_string_value(json_object_get(j, "call_id"))));
	memcpy(fk.last_hdr_call, f->h.call_id, EVB_CALLID_LEN);
	json_decref(j);
	if (fk.mode == ACK_EACH)
		fake_ack(f->h.seq);
	else if (fk.mode == CLOSE_AFTER && fk.connections == 1 && fk.frames == fk.close_after)
		evb_conn_close(c);
}

static void fake_close(struct evb_conn *c, int reason, void *arg)
{
	(void)reason;
	(void)arg;
	if (fk.c == c)
		fk.c = NULL;
}

static void fake_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	(void)l;
	(void)arg;
	fk.c = c;
	fk.frames = 0;
	fk.connections++;
	evb_conn_start(c, fake_frame, fake_close, NULL);
}

static void fake_start(enum ack_mode mode)
{
	memset(&fk, 0, sizeof(fk));
	fk.mode = mode;
	fk.lis = evb_listen_unix(&loop, sock, 8, fake_accept, NULL);
}

static void fake_stop(void)
{
	if (fk.c)
		evb_conn_close(fk.c);
	if (fk.lis)
		evb_listener_close(fk.lis);
	fk.lis = NULL;
}

/* ---- loop helpers ---- */

static void watchdog_cb(uv_timer_t *t)
{
	(void)t;
	printf("Bail out! watchdog fired\n");
	exit(1);
}

static int cond_pending_zero(struct evb_events *q) { return evb_events_pending(q) == 0; }

/* Runs the loop until cond(q) holds (or the watchdog fires). */
static void run_until(int (*cond)(struct evb_events *), struct evb_events *q)
{
	while (!cond(q))
		uv_run(&loop, UV_RUN_ONCE);
}

static int want_total;
static int cond_total(struct evb_events *q)
{
	(void)q;
	return fk.total >= want_total;
}

static int cond_connected(struct evb_events *q) { return evb_events_connected(q); }

static json_t *event(int i)
{
	uint8_t cid[EVB_CALLID_LEN] = { 0xca, 0x11 };
	json_t *ev;

	cid[15] = (uint8_t)i;
	ev = evb_event_new("utterance", cid, "twilio");
	json_object_set_new(ev, "text", json_sprintf("hello %d", i));
	return ev;
}

static void finish(struct evb_events *q)
{
	evb_events_free(q);
	fake_stop();
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- tests ---- */

static void test_event_new(void)
{
	uint8_t cid[EVB_CALLID_LEN], back[EVB_CALLID_LEN];
	json_t *ev;
	const char *ts, *eid;

	evb_callid_random(cid);
	ev = evb_event_new("call.started", cid, "vonage");
	ok(ev != NULL, "evb_event_new returns an object");
	is_str(json_string_value(json_object_get(ev, "type")), "call.started", "type");
	is_str(json_string_value(json_object_get(ev, "provider")), "vonage", "provider");
	ok(evb_callid_parse(json_string_value(json_object_get(ev, "call_id")), back) == 0 &&
		   memcmp(back, cid, sizeof(cid)) == 0, "call_id is the call's UUID");
	eid = json_string_value(json_object_get(ev, "event_id"));
	ok(eid && strlen(eid) == 36 && eid[14] == '4', "event_id is a version 4 UUID");
	ts = json_string_value(json_object_get(ev, "ts"));
	ok(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z',
	   "ts is RFC 3339 with milliseconds ('%s')", ts ? ts : "");
	json_decref(ev);
	ok(evb_event_new(NULL, cid, "twilio") == NULL, "a NULL type is refused");

	{
		/* Single-precision scores survive the 9-digit serialisation. */
		int exact = 1;
		uint32_t x = 7;
		for (int i = 0; i < 10000; i++) {
			float f;
			json_t *j, *parsed;
			char *s;
			x = x * 1664525u + 1013904223u;
			f = (float)((x >> 8) / 16777216.0);
			j = json_pack("{s:f}", "v", (double)f);
			s = json_dumps(j, EVB_EVENTS_JSON_FLAGS);
			parsed = json_loads(s, 0, NULL);
			exact &= (float)json_real_value(json_object_get(parsed, "v")) == f;
			json_decref(j);
			json_decref(parsed);
			free(s);
		}
		ok(exact, "10000 single-precision scores round-trip exactly");
	}
}

static void test_delivery_and_acks(void)
{
	struct evb_events *q;
	struct evb_events_stats st;
	int r = 0;

	diag("delivery with an ack per frame");
	fake_start(ACK_EACH);
	q = evb_events_new(&loop, sock, 0, 0);
	ok(q != NULL, "sender created");
	for (int i = 0; i < 100; i++)
		r |= evb_events_send(q, event(i));
	is_int(r, 0, "100 events queued");
	run_until(cond_pending_zero, q);
	is_int(fk.total, 100, "the logger got 100 frames");
	ok(!fk.bad_seq, "seq numbers run 0, 1, 2, ... on the connection");
	is_str(fk.last_type, "utterance", "the payload is the event JSON");
	ok(fk.last_hdr_call[0] == 0xca && fk.last_hdr_call[15] == 99,
	   "the header carries the event's call id");
	evb_events_stats(q, &st);
	ok(st.queued == 100 && st.acked == 100 && st.pending == 0 && st.pending_bytes == 0,
	   "counters: 100 queued, 100 acked, none pending");
	finish(q);
}

static void test_resend_after_reconnect(void)
{
	struct evb_events *q;
	struct evb_events_stats st;
	int renumbered = 1;

	diag("unacked events are sent again, renumbered, on a new connection");
	fake_start(CLOSE_AFTER);
	fk.close_after = 10;
	q = evb_events_new(&loop, sock, 0, 0);
	for (int i = 0; i < 10; i++)
		evb_events_send(q, event(i));
	want_total = 20; /* 10 on the first connection, 10 again on the second */
	run_until(cond_total, q);
	is_int(fk.connections, 2, "the sender reconnected");
	for (int i = 0; i < 10; i++)
		renumbered &= fk.seqs[10 + i] == (uint32_t)i;
	ok(renumbered, "seq restarts at 0 on the new connection");
	is_int(evb_events_pending(q), 10, "nothing is dropped before an ack");
	fk.mode = ACK_EACH;
	fake_ack(4);
	run_until(cond_connected, q);
	while (evb_events_pending(q) != 5)
		uv_run(&loop, UV_RUN_ONCE);
	is_int(evb_events_pending(q), 5, "an ack frees the events up to its seq only");
	fake_ack(9);
	run_until(cond_pending_zero, q);
	evb_events_stats(q, &st);
	is_int(st.resent, 10, "10 events counted as sent again");
	finish(q);
}

static void test_bounded_queue(void)
{
	struct evb_events *q;
	struct evb_events_stats st;
	int r;

	diag("the queue is bounded while the logger is away");
	unlink(sock);
	q = evb_events_new(&loop, sock, 5, 0);
	for (int i = 0; i < 5; i++)
		evb_events_send(q, event(i));
	r = evb_events_send(q, event(5));
	is_int(r, EVB_EFULL, "the 6th event is refused with EVB_EFULL");
	evb_events_stats(q, &st);
	ok(st.refused == 1 && st.pending == 5, "refused counted; the queue keeps its 5 events");
	fake_start(ACK_EACH);
	run_until(cond_pending_zero, q);
	is_int(fk.total, 5, "once the logger is there, the 5 queued events arrive");
	finish(q);

	q = evb_events_new(&loop, sock, 0, 300);
	r = evb_events_send(q, event(1));
	is_int(r, 0, "an event within the byte cap is queued");
	r = evb_events_send(q, event(2));
	is_int(r, EVB_EFULL, "an event past the byte cap is refused");
	r = evb_events_send(q, json_string("x"));
	is_int(r, EVB_EJSON, "a non-object is refused");
	finish(q);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	evb_log_level = LOG_CRIT; /* the refusals below log at LOG_ERR */
	snprintf(dir, sizeof(dir), "/tmp/evb-test-events.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/logger.sock", dir);
	uv_loop_init(&loop);
	uv_timer_init(&loop, &watchdog);
	uv_timer_start(&watchdog, watchdog_cb, 10000, 0);
	uv_unref((uv_handle_t *)&watchdog);

	test_event_new();
	test_delivery_and_acks();
	test_resend_after_reconnect();
	test_bounded_queue();

	uv_close((uv_handle_t *)&watchdog, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&loop), 0, "loop closes with no handle left");
	unlink(sock);
	rmdir(dir);
	return done_testing();
}
