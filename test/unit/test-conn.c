/* Unit tests for lib/evb_conn: framed connections, listener, link, notify.
 * Everything runs on one uv loop per test; a 5 s timer is only a watchdog. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "evb_conn.h"
#include "evb_err.h"
#include "evb_log.h"
#include "tap.h"

static uv_loop_t loop;
static uv_timer_t watchdog;
static char dir[64];
static const char *test_name;

static void watchdog_cb(uv_timer_t *t)
{
	(void)t;
	ok(0, "%s: finished within 5 s", test_name);
	printf("Bail out! watchdog fired in '%s'\n", test_name);
	exit(1);
}

static void loop_begin(const char *name)
{
	test_name = name;
	diag("%s", name);
	uv_loop_init(&loop);
	uv_timer_init(&loop, &watchdog);
	uv_timer_start(&watchdog, watchdog_cb, 5000, 0);
}

static void run_until(const int *flag)
{
	while (!*flag)
		uv_run(&loop, UV_RUN_ONCE);
}

/* Runs until every handle but the watchdog has closed, then closes the loop. */
static void loop_end(void)
{
	uv_unref((uv_handle_t *)&watchdog);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&watchdog, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&loop), 0, "loop closes with no handle left");
}

static void path_in_dir(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* ---- deterministic frames ---- */

static uint8_t bigbuf[EVB_FRAME_MAX_PAYLOAD];

static void call_id_n(uint8_t id[EVB_CALLID_LEN], int n)
{
	memset(id, 0, EVB_CALLID_LEN);
	id[0] = 0xca;
	id[15] = (uint8_t)n;
}

/* Frame i of the stream: kinds, codecs and sizes vary; i == 500 carries a
 * payload of exactly EVB_FRAME_MAX_PAYLOAD bytes. Payload goes to buf. */
static void gen_frame(int i, struct evb_frame_hdr *h, uint8_t *buf)
{
	memset(h, 0, sizeof(*h));
	h->seq = (uint32_t)i;
	call_id_n(h->call_id, i % 4);
	h->media_ts_us = (uint64_t)i * 20000;
	h->capture_ns = 1000000000ull + (uint64_t)i;
	switch (i % 3) {
	case 0:
		h->kind = EVB_KIND_AUDIO;
		h->codec = EVB_CODEC_L16;
		h->rate = 16000;
		h->dir = EVB_DIR_UP;
		h->len = (uint32_t)((i * 7919) % 4000) & ~1u;
		break;
	case 1:
		h->kind = EVB_KIND_AUDIO;
		h->codec = EVB_CODEC_ULAW;
		h->rate = 8000;
		h->dir = EVB_DIR_DOWN;
		h->flags = i % 7 == 0 ? EVB_FLAG_END : 0;
		h->len = (uint32_t)((i * 104729) % 3000);
		break;
	default:
		h->kind = i % 2 ? EVB_KIND_EVENT : EVB_KIND_CONTROL;
		h->len = (uint32_t)(24 + (i * 31) % 500);
		break;
	}
	if (i == 500)
		h->len = EVB_FRAME_MAX_PAYLOAD;
	if (h->kind == EVB_KIND_AUDIO) {
		for (uint32_t j = 0; j < h->len; j++)
			buf[j] = (uint8_t)(i * 31 + j * 7);
	} else {
		int n = snprintf((char *)buf, h->len, "{\"i\":%d,\"pad\":\"", i);
		memset(buf + n, 'x', h->len - (size_t)n - 2);
		memcpy(buf + h->len - 2, "\"}", 2);
	}
}

static int hdr_eq(const struct evb_frame_hdr *a, const struct evb_frame_hdr *b)
{
	return a->kind == b->kind && a->codec == b->codec && a->dir == b->dir &&
	       a->flags == b->flags && a->rate == b->rate && a->len == b->len &&
	       a->seq == b->seq && memcmp(a->call_id, b->call_id, EVB_CALLID_LEN) == 0 &&
	       a->media_ts_us == b->media_ts_us && a->capture_ns == b->capture_ns;
}

static uint8_t checkbuf[EVB_FRAME_MAX_PAYLOAD];

/* 1 when f is frame i of gen_frame(). */
static int frame_is(const struct evb_frame *f, int i)
{
	struct evb_frame_hdr h;

	gen_frame(i, &h, checkbuf);
	return hdr_eq(&h, &f->h) && memcmp(checkbuf, f->payload, h.len) == 0;
}

/* ---- 1. listener + link: 1000 frames there and back ---- */

#define NFRAMES 1000

static struct {
	struct evb_listener *lst;
	struct evb_link *link;
	int srv_got, srv_bad, srv_echo_err, srv_closed, srv_reason;
	int cli_got, cli_bad, send_err, ups;
	int done;
} e;

static void echo_srv_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	(void)arg;
	if (!frame_is(f, e.srv_got))
		e.srv_bad++;
	e.srv_got++;
	if (evb_conn_send(c, &f->h, f->payload) != 0)
		e.srv_echo_err++;
}

static void echo_srv_close(struct evb_conn *c, int reason, void *arg)
{
	(void)c;
	(void)arg;
	e.srv_closed = 1;
	e.srv_reason = reason;
}

static void echo_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	(void)l;
	(void)arg;
	if (evb_conn_start(c, echo_srv_frame, echo_srv_close, NULL) != 0)
		evb_conn_close(c);
}

static void echo_up(struct evb_link *l, void *arg)
{
	struct evb_frame_hdr h;

	(void)arg;
	e.ups++;
	for (int i = 0; i < NFRAMES; i++) {
		gen_frame(i, &h, bigbuf);
		if (evb_link_send(l, &h, bigbuf) != 0)
			e.send_err++;
	}
}

static void echo_cli_frame(struct evb_link *l, const struct evb_frame *f, void *arg)
{
	(void)l;
	(void)arg;
	if (!frame_is(f, e.cli_got))
		e.cli_bad++;
	if (++e.cli_got == NFRAMES)
		e.done = 1;
}

static void test_echo(void)
{
	char path[128];

	loop_begin("listener and link: 1000 frames each way");
	path_in_dir(path, sizeof(path), "echo.sock");
	e.lst = evb_listen_unix(&loop, path, 16, echo_accept, NULL);
	ok(e.lst != NULL, "listen on '%s'", path);
	e.link = evb_link_new(&loop, path, echo_up, NULL, echo_cli_frame, NULL);
	ok(e.link != NULL, "link created");
	ok(evb_link_conn(e.link) == NULL, "link is not up before the loop runs");
	is_int(evb_link_send(e.link, &(struct evb_frame_hdr){ .kind = EVB_KIND_EVENT }, NULL),
	       -ENOTCONN, "send before up is -ENOTCONN");
	run_until(&e.done);
	is_int(e.ups, 1, "link came up once");
	is_int(e.send_err, 0, "every send accepted (1 MiB frame included)");
	is_int(e.srv_got, NFRAMES, "server received every frame");
	is_int(e.srv_bad, 0, "server frames in order with identical headers and payloads");
	is_int(e.srv_echo_err, 0, "every echo accepted");
	is_int(e.cli_got, NFRAMES, "client received every echo");
	is_int(e.cli_bad, 0, "echoes in order and identical");
	evb_link_free(e.link);
	evb_listener_close(e.lst);
	loop_end();
	ok(e.srv_closed, "server conn closed after the link went away");
	is_int(e.srv_reason, 0, "clean end of stream gives reason 0");
	ok(access(path, F_OK) < 0 && errno == ENOENT, "listener close removed the socket");
}

/* ---- 2. garbage from one peer does not disturb another ---- */

struct peer {
	struct evb_conn *c;
	int frames, closed, reason;
};

static struct {
	struct peer peers[4];
	int npeers, garbage_closed, ups, echoed;
	struct evb_link *link;
} g;

static void g_srv_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	struct peer *p = arg;

	p->frames++;
	(void)evb_conn_send(c, &f->h, f->payload);
}

static void g_srv_close(struct evb_conn *c, int reason, void *arg)
{
	struct peer *p = arg;

	(void)c;
	p->closed = 1;
	p->reason = reason;
	if (reason < 0)
		g.garbage_closed = 1;
}

static void g_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	struct peer *p;

	(void)l;
	(void)arg;
	if (g.npeers == 4) {
		evb_conn_close(c);
		return;
	}
	p = &g.peers[g.npeers++];
	p->c = c;
	evb_conn_start(c, g_srv_frame, g_srv_close, p);
}

static void g_up(struct evb_link *l, void *arg)
{
	(void)l;
	(void)arg;
	g.ups++;
}

static void g_cli_frame(struct evb_link *l, const struct evb_frame *f, void *arg)
{
	(void)l;
	(void)arg;
	if (frame_is(f, 7))
		g.echoed = 1;
}

static void test_garbage(void)
{
	static const char junk[] = "GET / HTTP/1.1\r\nHost: evb\r\n\r\n"
				   "0123456789abcdef0123456789abcdef";
	struct evb_listener *lst;
	struct sockaddr_un sa;
	struct evb_frame_hdr h;
	char path[128], c;
	struct peer *bad = NULL, *good = NULL;
	int fd;

	loop_begin("bad magic closes only that peer");
	path_in_dir(path, sizeof(path), "garbage.sock");
	lst = evb_listen_unix(&loop, path, 16, g_accept, NULL);
	ok(lst != NULL, "listen");
	g.link = evb_link_new(&loop, path, g_up, NULL, g_cli_frame, NULL);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "raw client connected");
	is_int(write(fd, junk, sizeof(junk) - 1), (long)sizeof(junk) - 1, "raw client sent junk");

	run_until(&g.garbage_closed);
	run_until(&g.ups);
	for (int i = 0; i < g.npeers; i++) {
		if (g.peers[i].closed)
			bad = &g.peers[i];
		else
			good = &g.peers[i];
	}
	ok(bad && good, "two peers: one closed, one open");
	if (bad)
		is_int(bad->reason, EVB_EBADMAGIC, "junk peer closed with EVB_EBADMAGIC");
	is_int(read(fd, &c, 1), 0, "junk peer sees end of stream");
	close(fd);

	gen_frame(7, &h, bigbuf);
	is_int(evb_link_send(g.link, &h, bigbuf), 0, "good peer still sends");
	run_until(&g.echoed);
	ok(good && good->frames == 1 && !good->closed, "good peer still served");
	evb_link_free(g.link);
	evb_listener_close(lst);
	loop_end();
}

/* ---- 3. the write queue cap ---- */

static int cap_closed, cap_reason;

static void cap_close(struct evb_conn *c, int reason, void *arg)
{
	(void)c;
	(void)arg;
	cap_closed = 1;
	cap_reason = reason;
}

static void test_cap(void)
{
	const size_t cap = 256u << 10;
	struct evb_frame_hdr h;
	struct evb_conn *c;
	int sv[2], r = 0, sent = 0, fd;
	char file[128];

	loop_begin("queue cap against a peer that never reads");
	ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	c = evb_conn_open(&loop, sv[0], "pair");
	ok(c != NULL, "conn wraps a socketpair fd");
	is_int(evb_conn_start(c, NULL, cap_close, NULL), 0, "start write-only");
	is_int(evb_conn_start(c, NULL, cap_close, NULL), -EALREADY, "start twice refused");
	evb_conn_set_max_queue(c, cap);

	memset(&h, 0, sizeof(h));
	h.kind = EVB_KIND_AUDIO;
	h.codec = EVB_CODEC_L16;
	h.rate = 16000;
	h.len = 16000;
	memset(bigbuf, 0x55, h.len);
	for (int i = 0; i < 100000; i++) {
		r = evb_conn_send(c, &h, bigbuf);
		if (r != 0)
			break;
		sent++;
		uv_run(&loop, UV_RUN_NOWAIT); /* let writes complete into the kernel */
	}
	is_int(r, EVB_EFULL, "send eventually returns EVB_EFULL");
	diag("%d frames accepted before the queue filled", sent);
	ok(evb_conn_queued(c) <= cap, "queued %zu bytes <= cap %zu", evb_conn_queued(c), cap);
	ok(evb_conn_queued(c) + EVB_FRAME_HDR_LEN + h.len > cap, "the refused frame did not fit");
	is_int(evb_conn_send(c, &h, bigbuf), EVB_EFULL, "still full while nobody reads");

	h.kind = 9;
	is_int(evb_conn_send(c, &h, bigbuf), EVB_EBADHDR, "invalid header refused");
	h.kind = EVB_KIND_AUDIO;
	h.len = EVB_FRAME_MAX_PAYLOAD + 2;
	is_int(evb_conn_send(c, &h, bigbuf), EVB_ETOOBIG, "oversized payload refused");

	evb_conn_close(c);
	evb_conn_close(c);
	h.len = 2;
	is_int(evb_conn_send(c, &h, bigbuf), -ENOTCONN, "send after close is -ENOTCONN");
	close(sv[1]);
	loop_end();
	ok(cap_closed, "on_close ran once closed");
	is_int(cap_reason, 0, "local close gives reason 0");

	path_in_dir(file, sizeof(file), "plain-file");
	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	loop_begin("conn refuses a regular file");
	errno = 0;
	ok(evb_conn_open(&loop, fd, "file") == NULL && errno == EINVAL,
	   "regular file fd refused with EINVAL");
	close(fd);
	unlink(file);
	loop_end();
}

/* ---- 4. drop_call ---- */

static struct {
	int a_audio, a_ctl, b_audio, b_order_bad, last_b_seq, done, other;
	int recv_closed, recv_reason;
} d;

static void d_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	uint8_t a[EVB_CALLID_LEN], b[EVB_CALLID_LEN];

	(void)c;
	(void)arg;
	call_id_n(a, 1);
	call_id_n(b, 2);
	if (memcmp(f->h.call_id, a, EVB_CALLID_LEN) == 0) {
		if (f->h.kind == EVB_KIND_AUDIO)
			d.a_audio++;
		else
			d.a_ctl++;
	} else if (memcmp(f->h.call_id, b, EVB_CALLID_LEN) == 0) {
		if (f->h.kind != EVB_KIND_AUDIO) {
			d.done = 1;
			return;
		}
		if ((int)f->h.seq <= d.last_b_seq)
			d.b_order_bad++;
		d.last_b_seq = (int)f->h.seq;
		d.b_audio++;
	} else {
		d.other++;
	}
}

static void d_close(struct evb_conn *c, int reason, void *arg)
{
	(void)c;
	(void)arg;
	d.recv_closed = 1;
	d.recv_reason = reason;
}

static void test_drop_call(void)
{
	struct evb_frame_hdr audio, ctl;
	struct evb_conn *snd, *rcv;
	uint8_t id_c[EVB_CALLID_LEN];
	size_t before;
	int sv[2], sends = 0;

	loop_begin("drop_call removes only one call's unwritten audio");
	d.last_b_seq = -1;
	ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	snd = evb_conn_open(&loop, sv[0], "sender");
	rcv = evb_conn_open(&loop, sv[1], "receiver");
	ok(snd && rcv, "both ends wrapped");
	evb_conn_start(rcv, d_frame, d_close, NULL);

	memset(&audio, 0, sizeof(audio));
	audio.kind = EVB_KIND_AUDIO;
	audio.codec = EVB_CODEC_L16;
	audio.rate = 8000;
	audio.dir = EVB_DIR_DOWN;
	audio.len = 320;
	memset(&ctl, 0, sizeof(ctl));
	ctl.kind = EVB_KIND_CONTROL;
	ctl.len = 2;
	memcpy(bigbuf, "{}", 2);

	/* Nothing leaves before the loop's round ends: every frame sent now is
	 * still queued, so an interrupt can drop all of a call's audio. */
	call_id_n(audio.call_id, 1);
	sends += evb_conn_send(snd, &audio, bigbuf) == 0;
	for (int i = 0; i < 30; i++) {
		audio.seq = (uint32_t)i + 1;
		call_id_n(audio.call_id, 1);
		sends += evb_conn_send(snd, &audio, bigbuf) == 0;
		audio.seq = (uint32_t)i;
		call_id_n(audio.call_id, 2);
		sends += evb_conn_send(snd, &audio, bigbuf) == 0;
		if (i % 10 == 0) {
			call_id_n(ctl.call_id, 1);
			sends += evb_conn_send(snd, &ctl, bigbuf) == 0;
		}
	}
	is_int(sends, 64, "64 frames queued");
	before = evb_conn_queued(snd);
	call_id_n(id_c, 3);
	is_int(evb_conn_drop_call(snd, id_c), 0, "unknown call: nothing dropped");
	call_id_n(id_c, 1);
	is_int(evb_conn_drop_call(snd, id_c), 31, "all 31 audio frames of call A dropped");
	is_int(before - evb_conn_queued(snd), 31 * (EVB_FRAME_HDR_LEN + 320),
	       "queued bytes shrank by exactly those frames");
	is_int(evb_conn_drop_call(snd, id_c), 0, "dropping again finds nothing");
	call_id_n(ctl.call_id, 2);
	is_int(evb_conn_send(snd, &ctl, bigbuf), 0, "end marker queued");

	run_until(&d.done);
	is_int(d.a_audio, 0, "call A: no audio arrived");
	is_int(d.a_ctl, 3, "call A: control frames kept");
	is_int(d.b_audio, 30, "call B: every audio frame arrived");
	is_int(d.b_order_bad, 0, "call B: in order");
	is_int(d.other, 0, "nothing else arrived");
	evb_conn_close(snd);
	loop_end();
	ok(d.recv_closed, "receiver closed at end of stream");
	is_int(d.recv_reason, 0, "with reason 0");
}

/* ---- 5. reconnect ---- */

static struct {
	char path[128];
	struct evb_listener *lst;
	struct evb_conn *srv;
	struct evb_link *link;
	uv_timer_t relisten;
	int ups, downs, down_reason, echoes, done, accepts;
	int down_send, down_conn_null, up_conn_ok;
} rc;

static void rc_srv_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	(void)arg;
	(void)evb_conn_send(c, &f->h, f->payload);
}

static void rc_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	(void)l;
	(void)arg;
	rc.accepts++;
	rc.srv = c;
	evb_conn_start(c, rc_srv_frame, NULL, NULL);
}

static void rc_send(struct evb_link *l, int i)
{
	struct evb_frame_hdr h;

	gen_frame(i, &h, bigbuf);
	if (evb_link_send(l, &h, bigbuf) != 0)
		ok(0, "send after up");
}

static void rc_up(struct evb_link *l, void *arg)
{
	(void)arg;
	rc.ups++;
	rc.up_conn_ok += evb_link_conn(l) != NULL;
	rc_send(l, rc.ups);
}

static void rc_relisten(uv_timer_t *t)
{
	(void)t;
	rc.lst = evb_listen_unix(&loop, rc.path, 16, rc_accept, NULL);
	ok(rc.lst != NULL, "second listener on the same path");
}

static void rc_down(struct evb_link *l, int reason, void *arg)
{
	struct evb_frame_hdr h;

	(void)arg;
	rc.downs++;
	rc.down_reason = reason;
	gen_frame(3, &h, bigbuf);
	rc.down_send = evb_link_send(l, &h, bigbuf);
	rc.down_conn_null = evb_link_conn(l) == NULL;
	/* A while later, so that the link fails a few attempts first. */
	uv_timer_start(&rc.relisten, rc_relisten, 200, 0);
}

static void rc_frame(struct evb_link *l, const struct evb_frame *f, void *arg)
{
	(void)l;
	(void)arg;
	if (!frame_is(f, rc.ups))
		ok(0, "echo %d matches", rc.ups);
	rc.echoes++;
	if (rc.echoes == 1) {
		/* The server goes away: its listener and its connection. */
		evb_listener_close(rc.lst);
		rc.lst = NULL;
		evb_conn_close(rc.srv);
	} else {
		rc.done = 1;
	}
}

static void noop_up(struct evb_link *l, void *arg)
{
	(void)l;
	(void)arg;
}

static void fire_flag(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

static void test_reconnect(void)
{
	struct evb_link *idle;
	uv_timer_t later;
	char nowhere[128];
	int waited = 0;

	loop_begin("link goes down and comes back");
	path_in_dir(rc.path, sizeof(rc.path), "re.sock");
	uv_timer_init(&loop, &rc.relisten);
	rc.lst = evb_listen_unix(&loop, rc.path, 16, rc_accept, NULL);
	ok(rc.lst != NULL, "first listener");
	rc.link = evb_link_new(&loop, rc.path, rc_up, rc_down, rc_frame, NULL);
	ok(rc.link != NULL, "link created");
	run_until(&rc.done);
	is_int(rc.ups, 2, "on_up twice");
	is_int(rc.downs, 1, "on_down once");
	is_int(rc.down_reason, 0, "down after a clean close: reason 0");
	is_int(rc.down_send, -ENOTCONN, "send while down is -ENOTCONN");
	ok(rc.down_conn_null, "no conn while down");
	is_int(rc.up_conn_ok, 2, "a conn while up");
	is_int(rc.accepts, 2, "each listener accepted once");
	is_int(rc.echoes, 2, "frames flowed on both connections");
	evb_link_free(rc.link);
	evb_listener_close(rc.lst);
	uv_close((uv_handle_t *)&rc.relisten, NULL);

	/* A link that never connects frees cleanly, in either waiting state. */
	path_in_dir(nowhere, sizeof(nowhere), "nobody.sock");
	idle = evb_link_new(&loop, nowhere, noop_up, NULL, NULL, NULL);
	ok(idle != NULL, "link to a missing socket");
	evb_link_free(idle); /* connect in progress */
	idle = evb_link_new(&loop, nowhere, noop_up, NULL, NULL, NULL);
	uv_timer_init(&loop, &later);
	later.data = &waited;
	uv_timer_start(&later, fire_flag, 120, 0);
	run_until(&waited);
	ok(evb_link_conn(idle) == NULL, "still down after 120 ms of retries");
	evb_link_free(idle); /* between attempts or connecting */
	uv_close((uv_handle_t *)&later, NULL);
	loop_end();
}

/* ---- 6. socket paths ---- */

static void never_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	(void)l;
	(void)arg;
	evb_conn_close(c);
}

static void test_paths(void)
{
	struct evb_listener *lst, *again;
	struct sockaddr_un sa;
	struct stat st;
	char path[128], file[128], longp[200];
	int fd;

	loop_begin("socket paths: stale, in use, regular file, too long");
	path_in_dir(path, sizeof(path), "stale.sock");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "made a socket file");
	close(fd); /* nobody listens on it now */

	lst = evb_listen_unix(&loop, path, 4, never_accept, NULL);
	ok(lst != NULL, "stale socket replaced");
	ok(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660,
	   "socket mode 0660");
	errno = 0;
	again = evb_listen_unix(&loop, path, 4, never_accept, NULL);
	ok(again == NULL && errno == EADDRINUSE, "live socket not taken: EADDRINUSE");
	ok(stat(path, &st) == 0 && S_ISSOCK(st.st_mode), "live socket left in place");
	evb_listener_close(lst);
	ok(stat(path, &st) < 0 && errno == ENOENT, "close removed the socket file");

	path_in_dir(file, sizeof(file), "regular");
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	is_int(write(fd, "keep", 4), 4, "made a regular file");
	close(fd);
	errno = 0;
	ok(evb_listen_unix(&loop, file, 4, never_accept, NULL) == NULL && errno == EEXIST,
	   "regular file refused: EEXIST");
	ok(stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4,
	   "regular file left alone");
	unlink(file);

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	errno = 0;
	ok(evb_listen_unix(&loop, longp, 4, never_accept, NULL) == NULL &&
		   errno == ENAMETOOLONG,
	   "over-long path: ENAMETOOLONG");
	errno = 0;
	ok(evb_link_new(&loop, longp, noop_up, NULL, NULL, NULL) == NULL &&
		   errno == ENAMETOOLONG,
	   "link to an over-long path: ENAMETOOLONG");
	loop_end();
}

/* ---- 7. readiness ---- */

static void test_notify(void)
{
	char num[16], buf[4];
	int p[2];

	diag("readiness notification");
	unsetenv("EVB_NOTIFY_FD");
	is_int(evb_notify_ready(), 0, "no variable: no-op");
	ok(pipe(p) == 0, "pipe");
	snprintf(num, sizeof(num), "%d", p[1]);
	setenv("EVB_NOTIFY_FD", num, 1);
	is_int(evb_notify_ready(), 1, "notified");
	is_int(read(p[0], buf, sizeof(buf)), 1, "one byte written");
	ok(buf[0] == '\n', "a newline");
	is_int(read(p[0], buf, sizeof(buf)), 0, "write end closed");
	ok(getenv("EVB_NOTIFY_FD") == NULL, "variable unset");
	is_int(evb_notify_ready(), 0, "second call: no-op");
	close(p[0]);
	setenv("EVB_NOTIFY_FD", "x1", 1);
	is_int(evb_notify_ready(), -EINVAL, "garbage value: -EINVAL");
	setenv("EVB_NOTIFY_FD", "1", 1);
	is_int(evb_notify_ready(), -EINVAL, "stdout is never the notify fd");
	ok(fcntl(1, F_GETFD) >= 0, "stdout still open");
}

int main(void)
{
	char tmpl[] = "/tmp/evb-conn-XXXXXX";

	signal(SIGPIPE, SIG_IGN);
	evb_log_init("test-conn");
	if (!mkdtemp(tmpl)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", tmpl);

	test_echo();
	test_garbage();
	test_cap();
	test_drop_call();
	test_reconnect();
	test_paths();
	test_notify();

	ok(rmdir(dir) == 0, "temp dir left empty");
	return done_testing();
}
