/* Test helpers for the network modules (header-only: each test links
 * alone with libevb.a): a loop with a watchdog, and a raw HTTP client on
 * evb_stream that sends a script of requests and parses what comes back. */
#ifndef EVB_TESTNET_H
#define EVB_TESTNET_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "evb_err.h"
#include "evb_httpmsg.h"
#include "evb_stream.h"
#include "tap.h"

#define TN_FN static __attribute__((unused))

static uv_loop_t loop;
static uv_timer_t watchdog;
static const char *tn_name;

TN_FN void tn_watchdog_cb(uv_timer_t *t)
{
	(void)t;
	ok(0, "%s: finished in time", tn_name);
	printf("Bail out! watchdog fired in '%s'\n", tn_name);
	exit(1);
}

TN_FN void tn_begin(const char *name)
{
	tn_name = name;
	diag("%s", name);
	uv_loop_init(&loop);
	uv_timer_init(&loop, &watchdog);
	uv_timer_start(&watchdog, tn_watchdog_cb, 10000, 0);
}

TN_FN void tn_run_until(const int *flag)
{
	while (!*flag)
		uv_run(&loop, UV_RUN_ONCE);
}

/* Runs until every handle but the watchdog has closed, then closes the loop. */
TN_FN void tn_end(void)
{
	uv_unref((uv_handle_t *)&watchdog);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&watchdog, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&loop), 0, "loop closes with no handle left");
}

/* ---- raw client ---- */

#define TN_MAX 8

struct tn_resp {
	int status;
	char *body;
	size_t body_len;
	char connection[32];
	char ctype[64];
	char extra[128]; /* value of the header named in rawc.want_header */
};

struct rawc {
	struct evb_stream *s;
	const char *reqs[TN_MAX]; /* sent one after the other, each once the
				   * previous response is in; all at once if
				   * pipelined */
	size_t req_len[TN_MAX];
	int nreqs, sent, pipelined;
	int expect; /* final responses awaited (default nreqs) */
	const char *want_header;
	const char *on_continue; /* sent once a 100 Continue is in */
	uint8_t *in;
	size_t in_len, in_cap;
	struct tn_resp resp[TN_MAX];
	int nresp;
	int connected, closed, done, reason, conn_status;
	int close_when_done; /* close once nreqs responses are in */
};

TN_FN void tn_free_resps(struct rawc *rc)
{
	for (int i = 0; i < TN_MAX; i++)
		free(rc->resp[i].body);
	free(rc->in);
}

/* Parses every complete response in rc->in (from scratch). */
TN_FN void tn_parse(struct rawc *rc)
{
	struct evb_httpmsg *m = evb_httpmsg_new(1, 4u << 20);
	size_t off = 0, used;
	int n = 0, r;

	for (int i = 0; i < TN_MAX; i++) {
		free(rc->resp[i].body);
		rc->resp[i].body = NULL;
	}
	while (off < rc->in_len && n < TN_MAX) {
		r = evb_httpmsg_feed(m, rc->in + off, rc->in_len - off, &used);
		if (r != 1)
			break;
		off += used;
		{
			struct tn_resp *t = &rc->resp[n++];
			size_t bl;
			const uint8_t *b = evb_httpmsg_body(m, &bl);
			const char *v;

			t->status = evb_httpmsg_status(m);
			t->body = malloc(bl + 1);
			memcpy(t->body, b, bl);
			t->body[bl] = '\0';
			t->body_len = bl;
			v = evb_httpmsg_header(m, "Connection");
			snprintf(t->connection, sizeof(t->connection), "%s", v ? v : "");
			v = evb_httpmsg_header(m, "Content-Type");
			snprintf(t->ctype, sizeof(t->ctype), "%s", v ? v : "");
			v = rc->want_header ? evb_httpmsg_header(m, rc->want_header) : NULL;
			snprintf(t->extra, sizeof(t->extra), "%s", v ? v : "");
		}
		evb_httpmsg_reset(m);
	}
	if (rc->closed && off < rc->in_len && evb_httpmsg_finish(m) == 1 && n < TN_MAX) {
		struct tn_resp *t = &rc->resp[n++];
		size_t bl;
		const uint8_t *b = evb_httpmsg_body(m, &bl);

		t->status = evb_httpmsg_status(m);
		t->body = malloc(bl + 1);
		memcpy(t->body, b, bl);
		t->body[bl] = '\0';
		t->body_len = bl;
	}
	rc->nresp = n;
	evb_httpmsg_free(m);
}

TN_FN int tn_final(const struct rawc *rc)
{
	int n = 0;

	for (int i = 0; i < rc->nresp; i++)
		if (rc->resp[i].status >= 200)
			n++;
	return n;
}

TN_FN void tn_send_next(struct rawc *rc)
{
	while (rc->sent < rc->nreqs) {
		int r = evb_stream_write(rc->s, rc->reqs[rc->sent], rc->req_len[rc->sent]);

		if (r < 0)
			diag("raw client write: %s", evb_strerror(r));
		rc->sent++;
		if (!rc->pipelined)
			break;
	}
}

TN_FN void tn_on_read(struct evb_stream *s, const uint8_t *d, size_t len, void *arg)
{
	struct rawc *rc = arg;

	(void)s;
	if (rc->in_len + len > rc->in_cap) {
		rc->in_cap = (rc->in_len + len) * 2;
		rc->in = realloc(rc->in, rc->in_cap);
	}
	memcpy(rc->in + rc->in_len, d, len);
	rc->in_len += len;
	tn_parse(rc);
	if (rc->on_continue && rc->nresp > 0 && rc->resp[rc->nresp - 1].status == 100) {
		evb_stream_write(rc->s, rc->on_continue, strlen(rc->on_continue));
		rc->on_continue = NULL;
	}
	if (!rc->pipelined && tn_final(rc) == rc->sent && rc->sent < rc->nreqs)
		tn_send_next(rc);
	if (tn_final(rc) >= (rc->expect ? rc->expect : rc->nreqs) && rc->close_when_done &&
	    !rc->done) {
		rc->done = 1;
		evb_stream_close(rc->s);
	}
}

TN_FN void tn_on_close(struct evb_stream *s, int reason, void *arg)
{
	struct rawc *rc = arg;

	(void)s;
	rc->closed = 1;
	rc->done = 1;
	rc->reason = reason;
	rc->s = NULL;
	tn_parse(rc);
}

TN_FN void tn_on_connect(struct evb_stream *s, int status, void *arg)
{
	struct rawc *rc = arg;

	rc->conn_status = status;
	if (status < 0) {
		diag("raw client: %s", evb_stream_errstr(s));
		rc->s = NULL;
		rc->closed = rc->done = 1;
		rc->reason = status;
		return;
	}
	rc->connected = 1;
	evb_stream_set_max_queue(s, 64u << 20);
	evb_stream_start(s, tn_on_read, tn_on_close, rc);
	tn_send_next(rc);
}

/* Connects and sends reqs (NULL-terminated); lengths from strlen unless
 * lens is given. */
TN_FN void tn_rawc(struct rawc *rc, const char *host, int port, struct evb_tls_config *tls,
		    int pipelined, const char *const *reqs, const size_t *lens)
{
	memset(rc, 0, sizeof(*rc));
	for (int i = 0; reqs[i] && i < TN_MAX; i++) {
		rc->reqs[i] = reqs[i];
		rc->req_len[i] = lens ? lens[i] : strlen(reqs[i]);
		rc->nreqs++;
	}
	rc->pipelined = pipelined;
	rc->close_when_done = 1;
	rc->s = evb_stream_connect(&loop, host, port, tls, 5000, tn_on_connect, rc);
	if (!rc->s) {
		diag("raw client connect: %s", strerror(errno));
		rc->closed = rc->done = 1;
	}
}

#endif
