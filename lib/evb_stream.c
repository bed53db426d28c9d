/* TCP byte streams, plain or TLS, on one uv loop.
 *
 * Life of a stream: RESOLVING and CONNECTING (client only), HANDSHAKE (TLS
 * only), OPEN, then ENDING (graceful: flush, close_notify, shutdown, drain)
 * or straight to CLOSING. In CLOSING the uv handles close; the last close
 * callback reports (on_connect for a connection that never came up, else
 * on_close) and frees the stream.
 *
 * One uv_timer serves three purposes: a "kick" on the next iteration (to
 * deliver TLS plaintext still buffered after a pause), the stream's own
 * deadline (connect, handshake, flush, linger), and the user's timer.
 *
 * Reads land in one static buffer: every byte is handed on (or fed to the
 * TLS session) before the read callback returns, and nothing delivers data
 * from inside an API call, so no two reads overlap. Writes batch like
 * evb_conn: "pend" collects bytes while "fly" is being written. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_stream.h"

#define READ_BUF (64u << 10)
#define PLAIN_BUF (16u << 10) /* one TLS record of plaintext */
#define SPARE_MAX (256u << 10)
#define QUEUE_LIMIT (1u << 30)
#define FLUSH_MS 30000  /* evb_stream_end(): time to write what is queued */
#define LINGER_MS 2000  /* then to drain input until the peer closes */

enum { ST_RESOLVING, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_ENDING, ST_CLOSING };

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

struct evb_stream {
	uv_loop_t *loop;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_getaddrinfo_t gai;
	uv_connect_t creq;
	uv_write_t wreq;
	uv_shutdown_t sreq;
	struct addrinfo *ai, *ai_cur;
	struct evb_tls *tls;
	struct evb_stream_listener *lst; /* accepted, handshake not done */
	struct evb_stream *hs_prev, *hs_next;
	struct wbuf pend, fly;
	size_t max_queue;
	void (*on_connect)(struct evb_stream *s, int status, void *arg);
	void (*on_read)(struct evb_stream *s, const uint8_t *data, size_t len, void *arg);
	void (*on_close)(struct evb_stream *s, int reason, void *arg);
	void *arg;
	void (*timer_cb)(struct evb_stream *s, void *arg);
	uint64_t t_sys, t_user; /* uv_now() deadlines */
	int sys_set, user_set, kick;
	int refs; /* open handles and pending requests; freed at 0 */
	int state;
	int client, connected, started, paused, reading, writing, tcp_open;
	int user_closed, shutting, gai_pending, last_err, reason;
	int port;
	char host[EVB_STREAM_HOST_MAX];
	char peer[EVB_STREAM_HOST_MAX + 16];
	char err[EVB_TLS_ERR_MAX + 96];
};

struct evb_stream_listener {
	uv_tcp_t tcp;
	uv_tcp_t reject; /* accepts and drops a client we have no memory for */
	struct evb_tls_config *tls;
	void (*on_accept)(struct evb_stream_listener *l, struct evb_stream *s, void *arg);
	void *arg;
	struct evb_stream *hs; /* clients in their TLS handshake */
	unsigned hs_ms;
	int port, handles, rejecting, closing;
	char name[EVB_STREAM_HOST_MAX + 16];
};

static uint8_t read_buf[READ_BUF];
static uint8_t plain_buf[PLAIN_BUF];

static void arm(struct evb_stream *s);
static void flush(struct evb_stream *s);
static void update_reading(struct evb_stream *s);
static void tls_process(struct evb_stream *s);

/* ---- lifetime ---- */

static void hs_unlink(struct evb_stream *s)
{
	if (!s->lst)
		return;
	if (s->hs_prev)
		s->hs_prev->hs_next = s->hs_next;
	else
		s->lst->hs = s->hs_next;
	if (s->hs_next)
		s->hs_next->hs_prev = s->hs_prev;
	s->lst = NULL;
	s->hs_prev = s->hs_next = NULL;
}

static void finalize(struct evb_stream *s)
{
	if (s->client && !s->connected) {
		if (!s->user_closed && s->on_connect)
			s->on_connect(s, s->reason < 0 ? s->reason : -ECONNABORTED, s->arg);
	} else if (s->started && s->on_close) {
		s->on_close(s, s->reason, s->arg);
	}
	hs_unlink(s);
	if (s->ai)
		uv_freeaddrinfo(s->ai);
	evb_tls_free(s->tls);
	free(s->pend.p);
	free(s->fly.p);
	free(s);
}

static void unref(struct evb_stream *s)
{
	if (--s->refs == 0 && s->state == ST_CLOSING)
		finalize(s);
}

static void timer_close_cb(uv_handle_t *h)
{
	unref(h->data);
}

static void try_connect(struct evb_stream *s);

static void tcp_close_cb(uv_handle_t *h)
{
	struct evb_stream *s = h->data;

	s->tcp_open = 0;
	if (s->state == ST_CONNECTING) { /* that address failed: next one */
		s->ai_cur = s->ai_cur ? s->ai_cur->ai_next : NULL;
		try_connect(s);
	}
	unref(s);
}

/* Closes s once; the first reason is the one reported. */
static void shut(struct evb_stream *s, int reason)
{
	if (s->state == ST_CLOSING)
		return;
	s->state = ST_CLOSING;
	s->reason = reason;
	uv_close((uv_handle_t *)&s->timer, timer_close_cb);
	if (s->tcp_open && !uv_is_closing((uv_handle_t *)&s->tcp))
		uv_close((uv_handle_t *)&s->tcp, tcp_close_cb);
	if (s->gai_pending)
		uv_cancel((uv_req_t *)&s->gai);
}

static void fail(struct evb_stream *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct evb_stream *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->state == ST_CLOSING)
		return;
	if (!s->err[0]) {
		va_start(ap, fmt);
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
		va_end(ap);
	}
	/* A TLS alert explaining the failure is worth one try. */
	if (s->tls && s->tcp_open && !s->writing && s->pend.len > 0) {
		uv_buf_t b = uv_buf_init((char *)s->pend.p, (unsigned)s->pend.len);
		(void)uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
	}
	shut(s, err);
}

static struct evb_stream *stream_alloc(uv_loop_t *loop)
{
	struct evb_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (uv_timer_init(loop, &s->timer) < 0) {
		free(s);
		return NULL;
	}
	s->loop = loop;
	s->timer.data = s;
	s->tcp.data = s;
	s->refs = 1;
	s->max_queue = EVB_STREAM_MAX_QUEUE;
	return s;
}

/* ---- addresses ---- */

static void format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		uv_ip6_name(a, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		uv_ip4_name(a, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
	} else {
		snprintf(out, cap, "?");
	}
}

static void set_peer(struct evb_stream *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &len) == 0)
		format_addr((struct sockaddr *)&ss, s->peer, sizeof(s->peer));
}

/* Copies host without brackets; -EINVAL if it does not fit or is odd. */
static int copy_host(char *out, size_t cap, const char *host)
{
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n >= cap || memchr(host, '[', n) || memchr(host, ']', n))
		return -EINVAL;
	memcpy(out, host, n);
	out[n] = '\0';
	return 0;
}

int evb_stream_parse_hostport(const char *s, char *host, size_t hostcap, int *port)
{
	const char *colon, *h = s, *hend;
	char *end;
	long p;

	if (s[0] == '[') {
		hend = strchr(s, ']');
		if (!hend || hend[1] != ':')
			return -EINVAL;
		h = s + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL; /* none, or a bare IPv6 address */
		hend = colon;
	}
	if ((size_t)(hend - h) >= hostcap || colon[1] == '\0')
		return -EINVAL;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || p < 0 || p > 65535 || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (int)p;
	return 0;
}

/* ---- timer ---- */

static void timer_cb(uv_timer_t *t);

static void arm(struct evb_stream *s)
{
	uint64_t now, due = UINT64_MAX;

	if (s->state == ST_CLOSING)
		return;
	now = uv_now(s->loop);
	if (s->kick)
		due = now;
	if (s->sys_set && s->t_sys < due)
		due = s->t_sys;
	if (s->user_set && s->t_user < due)
		due = s->t_user;
	if (due == UINT64_MAX)
		uv_timer_stop(&s->timer);
	else
		uv_timer_start(&s->timer, timer_cb, due > now ? due - now : 0, 0);
}

static void sys_deadline(struct evb_stream *s, uint64_t ms)
{
	s->sys_set = ms > 0;
	s->t_sys = uv_now(s->loop) + ms;
	arm(s);
}

static void sys_timeout(struct evb_stream *s)
{
	switch (s->state) {
	case ST_RESOLVING:
	case ST_CONNECTING:
		fail(s, -ETIMEDOUT, "unable to connect to '%s:%d': %s", s->host, s->port,
		     strerror(ETIMEDOUT));
		break;
	case ST_HANDSHAKE:
		fail(s, -ETIMEDOUT, "tls handshake with '%s' timed out", s->peer);
		break;
	case ST_ENDING:
		shut(s, 0); /* flushing or lingering took too long: give up */
		break;
	}
}

static void timer_cb(uv_timer_t *t)
{
	struct evb_stream *s = t->data;
	uint64_t now = uv_now(s->loop);

	if (s->kick) {
		s->kick = 0;
		tls_process(s);
	}
	if (s->state != ST_CLOSING && s->sys_set && s->t_sys <= now) {
		s->sys_set = 0;
		sys_timeout(s);
	}
	if (s->state != ST_CLOSING && s->user_set && s->t_user <= now) {
		void (*cb)(struct evb_stream *, void *) = s->timer_cb;

		s->user_set = 0;
		if (cb)
			cb(s, s->arg);
		else
			fail(s, -ETIMEDOUT, "'%s' timed out", s->peer);
	}
	arm(s);
}

void evb_stream_set_timer(struct evb_stream *s, uint64_t ms,
			  void (*cb)(struct evb_stream *s, void *arg))
{
	s->user_set = 1;
	s->t_user = uv_now(s->loop) + ms;
	s->timer_cb = cb;
	arm(s);
}

void evb_stream_stop_timer(struct evb_stream *s)
{
	s->user_set = 0;
	arm(s);
}

/* ---- writing ---- */

static int wbuf_append(struct wbuf *b, const void *data, size_t len)
{
	if (b->cap - b->len < len) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static void do_shutdown(struct evb_stream *s);

static void write_cb(uv_write_t *req, int status)
{
	struct evb_stream *s = req->handle->data;

	s->writing = 0;
	s->fly.len = 0;
	if (s->fly.cap > SPARE_MAX) {
		free(s->fly.p);
		s->fly.p = NULL;
		s->fly.cap = 0;
	}
	if (s->state == ST_CLOSING)
		return;
	if (status < 0) {
		fail(s, status, "unable to write to '%s': %s", s->peer, uv_strerror(status));
		return;
	}
	flush(s);
	if (s->state == ST_ENDING && !s->writing && s->pend.len == 0)
		do_shutdown(s);
}

static void flush(struct evb_stream *s)
{
	struct wbuf t;
	uv_buf_t b;
	int r;

	if (s->writing || s->pend.len == 0 || !s->tcp_open || s->state == ST_CLOSING)
		return;
	/* Nothing in flight: try the socket at once. What leaves here needs no
	 * request and no callback, and leaves the poll set alone (libuv
	 * re-arms epoll after every uv_write that completes: one more system
	 * call per message). An error is left to uv_write, which reports it
	 * from its callback, never from inside the caller's write. */
	b = uv_buf_init((char *)s->pend.p, (unsigned)s->pend.len);
	r = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
	if (r > 0 && (size_t)r == s->pend.len) {
		s->pend.len = 0;
		return;
	}
	if (r > 0) {
		memmove(s->pend.p, s->pend.p + r, s->pend.len - (size_t)r);
		s->pend.len -= (size_t)r;
	}
	t = s->fly;
	s->fly = s->pend;
	s->pend = t;
	b = uv_buf_init((char *)s->fly.p, (unsigned)s->fly.len);
	r = uv_write(&s->wreq, (uv_stream_t *)&s->tcp, &b, 1, write_cb);
	if (r < 0) {
		s->fly.len = 0;
		fail(s, r, "unable to write to '%s': %s", s->peer, uv_strerror(r));
		return;
	}
	s->writing = 1;
}

/* The TLS session's output: ciphertext joins the queue. */
static int tls_send_cb(void *arg, const uint8_t *data, size_t len)
{
	struct evb_stream *s = arg;

	if (s->pend.len + s->fly.len + len > (size_t)QUEUE_LIMIT + s->max_queue)
		return EVB_EFULL;
	return wbuf_append(&s->pend, data, len);
}

int evb_stream_write(struct evb_stream *s, const void *data, size_t len)
{
	int r = evb_stream_write_more(s, data, len);

	if (r == 0)
		flush(s);
	return r;
}

int evb_stream_write_more(struct evb_stream *s, const void *data, size_t len)
{
	int r;

	if (s->state != ST_OPEN)
		return -ENOTCONN;
	if (s->pend.len + s->fly.len + len > s->max_queue)
		return EVB_EFULL;
	if (s->tls) {
		r = evb_tls_write(s->tls, data, len);
		if (r < 0) {
			fail(s, r, "unable to write to '%s': %s", s->peer, evb_tls_error(s->tls));
			return r;
		}
	} else {
		r = wbuf_append(&s->pend, data, len);
		if (r < 0)
			return r;
	}
	return 0;
}

size_t evb_stream_queued(const struct evb_stream *s)
{
	return s->pend.len + s->fly.len;
}

void evb_stream_set_max_queue(struct evb_stream *s, size_t bytes)
{
	s->max_queue = bytes < QUEUE_LIMIT ? bytes : QUEUE_LIMIT;
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	*buf = uv_buf_init((char *)read_buf, sizeof(read_buf));
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void update_reading(struct evb_stream *s)
{
	int want, r;

	if (s->state == ST_CLOSING || !s->tcp_open)
		return;
	want = s->state == ST_HANDSHAKE || s->state == ST_ENDING ||
	       (s->state == ST_OPEN && s->started && !s->paused);
	if (want && !s->reading) {
		r = uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, read_cb);
		if (r < 0) {
			fail(s, r, "unable to read from '%s': %s", s->peer, uv_strerror(r));
			return;
		}
		s->reading = 1;
	} else if (!want && s->reading) {
		uv_read_stop((uv_stream_t *)&s->tcp);
		s->reading = 0;
	}
}

static void handshake_done(struct evb_stream *s)
{
	struct evb_stream_listener *l = s->lst;

	s->state = ST_OPEN;
	s->sys_set = 0;
	arm(s);
	if (s->client) {
		s->connected = 1;
		s->on_connect(s, 0, s->arg);
	} else if (l) {
		hs_unlink(s);
		l->on_accept(l, s, l->arg);
	}
	update_reading(s);
}

/* Advances the handshake, then hands over plaintext while s may read. */
static void tls_process(struct evb_stream *s)
{
	ssize_t n;
	int r;

	if (!s->tls)
		return;
	if (s->state == ST_HANDSHAKE) {
		r = evb_tls_handshake(s->tls);
		flush(s);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			fail(s, r, "%s", evb_tls_error(s->tls));
			if (!s->client)
				EVB_LOG(LOG_INFO, "stream", "tls handshake with '%s' failed: %s",
					s->peer, evb_tls_error(s->tls));
			return;
		}
		handshake_done(s);
	}
	while (s->state == ST_OPEN && s->started && !s->paused) {
		n = evb_tls_read(s->tls, plain_buf, sizeof(plain_buf));
		flush(s); /* a read may answer, e.g. refusing renegotiation */
		if (n == -EAGAIN)
			break;
		if (n == 0) {
			shut(s, 0); /* close_notify */
			break;
		}
		if (n < 0) {
			fail(s, (int)n, "%s", evb_tls_error(s->tls));
			break;
		}
		if (s->on_read)
			s->on_read(s, plain_buf, (size_t)n, s->arg);
	}
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct evb_stream *s = st->data;
	int r;

	(void)buf;
	if (s->state == ST_CLOSING || nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF && s->state == ST_HANDSHAKE)
			fail(s, -ECONNRESET, "'%s' closed the connection during the tls handshake",
			     s->peer);
		else if (nread == UV_EOF)
			shut(s, 0);
		else
			fail(s, (int)nread, "unable to read from '%s': %s", s->peer,
			     uv_strerror((int)nread));
		return;
	}
	if (s->state == ST_ENDING)
		return; /* draining */
	if (!s->tls) {
		if (s->state == ST_OPEN && s->started && !s->paused && s->on_read)
			s->on_read(s, read_buf, (size_t)nread, s->arg);
		return;
	}
	r = evb_tls_feed(s->tls, read_buf, (size_t)nread);
	if (r < 0) {
		fail(s, r, "unable to buffer input from '%s': %s", s->peer, evb_strerror(r));
		return;
	}
	tls_process(s);
}

int evb_stream_start(struct evb_stream *s,
		     void (*on_read)(struct evb_stream *s, const uint8_t *data, size_t len,
				     void *arg),
		     void (*on_close)(struct evb_stream *s, int reason, void *arg), void *arg)
{
	if (s->state != ST_OPEN)
		return -ENOTCONN;
	s->on_read = on_read;
	s->on_close = on_close;
	s->arg = arg;
	s->started = 1;
	update_reading(s);
	if (s->tls && !s->paused && evb_tls_buffered(s->tls) > 0) {
		s->kick = 1;
		arm(s);
	}
	return s->state == ST_CLOSING ? -ENOTCONN : 0;
}

void evb_stream_pause(struct evb_stream *s)
{
	s->paused = 1;
	update_reading(s);
}

void evb_stream_resume(struct evb_stream *s)
{
	if (!s->paused)
		return;
	s->paused = 0;
	update_reading(s);
	if (s->tls && s->state == ST_OPEN && evb_tls_buffered(s->tls) > 0) {
		s->kick = 1;
		arm(s);
	}
}

/* ---- closing ---- */

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct evb_stream *s = req->data;

	if (s->state == ST_CLOSING)
		return;
	if (status < 0) {
		shut(s, 0);
		return;
	}
	sys_deadline(s, LINGER_MS); /* read_cb ends it at EOF */
}

static void do_shutdown(struct evb_stream *s)
{
	int r;

	if (s->shutting)
		return;
	s->shutting = 1;
	s->sreq.data = s;
	r = uv_shutdown(&s->sreq, (uv_stream_t *)&s->tcp, shutdown_cb);
	if (r < 0)
		shut(s, 0);
}

void evb_stream_end(struct evb_stream *s)
{
	if (s->state == ST_ENDING || s->state == ST_CLOSING)
		return;
	if (s->state != ST_OPEN) {
		evb_stream_close(s);
		return;
	}
	s->state = ST_ENDING;
	s->user_set = 0;
	s->kick = 0;
	if (s->tls && evb_tls_close_notify(s->tls) < 0) {
		shut(s, 0);
		return;
	}
	flush(s);
	if (s->state != ST_ENDING)
		return;
	sys_deadline(s, FLUSH_MS);
	update_reading(s);
	if (!s->writing && s->pend.len == 0)
		do_shutdown(s);
}

void evb_stream_close(struct evb_stream *s)
{
	if (s->state == ST_CLOSING)
		return;
	s->user_closed = 1;
	shut(s, 0);
}

/* ---- connecting ---- */

static void connect_cb(uv_connect_t *req, int status)
{
	struct evb_stream *s = req->data;

	if (status == UV_ECANCELED || s->state != ST_CONNECTING)
		return;
	if (status < 0) {
		s->last_err = status;
		uv_close((uv_handle_t *)&s->tcp, tcp_close_cb); /* tries the next */
		return;
	}
	uv_tcp_nodelay(&s->tcp, 1);
	set_peer(s);
	uv_freeaddrinfo(s->ai);
	s->ai = s->ai_cur = NULL;
	if (s->tls) {
		s->state = ST_HANDSHAKE;
		update_reading(s);
		tls_process(s); /* sends the ClientHello */
		return;
	}
	s->state = ST_OPEN;
	s->sys_set = 0;
	arm(s);
	s->connected = 1;
	s->on_connect(s, 0, s->arg);
}

static void try_connect(struct evb_stream *s)
{
	int r;

	if (s->state != ST_CONNECTING)
		return;
	if (!s->ai_cur) {
		r = s->last_err ? s->last_err : UV_ECONNREFUSED;
		fail(s, r, "unable to connect to '%s:%d': %s", s->host, s->port, uv_strerror(r));
		return;
	}
	r = uv_tcp_init(s->loop, &s->tcp);
	if (r < 0) {
		fail(s, r, "unable to connect to '%s:%d': %s", s->host, s->port, uv_strerror(r));
		return;
	}
	s->tcp.data = s;
	s->tcp_open = 1;
	s->refs++;
	s->creq.data = s;
	r = uv_tcp_connect(&s->creq, &s->tcp, s->ai_cur->ai_addr, connect_cb);
	if (r < 0) {
		s->last_err = r;
		uv_close((uv_handle_t *)&s->tcp, tcp_close_cb);
	}
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct evb_stream *s = req->data;

	s->gai_pending = 0;
	if (s->state == ST_CLOSING) {
		if (res)
			uv_freeaddrinfo(res);
		unref(s);
		return;
	}
	if (status < 0) {
		fail(s, status == UV_EAI_NONAME ? -ENOENT : status,
		     "unable to resolve '%s': %s", s->host, uv_strerror(status));
	} else {
		s->ai = s->ai_cur = res;
		s->state = ST_CONNECTING;
		try_connect(s);
	}
	unref(s);
}

struct evb_stream *evb_stream_connect(uv_loop_t *loop, const char *host, int port,
				      struct evb_tls_config *tls, unsigned timeout_ms,
				      void (*on_connect)(struct evb_stream *s, int status,
							 void *arg),
				      void *arg)
{
	struct addrinfo hints;
	struct evb_stream *s;
	char portstr[8];
	int r;

	if (!host || !*host || port <= 0 || port > 65535 || !on_connect ||
	    (tls && evb_tls_config_is_server(tls))) {
		errno = EINVAL;
		return NULL;
	}
	s = stream_alloc(loop);
	if (!s)
		return NULL;
	s->client = 1;
	s->state = ST_RESOLVING;
	s->port = port;
	s->on_connect = on_connect;
	s->arg = arg;
	r = copy_host(s->host, sizeof(s->host), host);
	if (r == 0 && tls && !(s->tls = evb_tls_new(tls, s->host, tls_send_cb, s)))
		r = -errno;
	if (r < 0)
		goto fail;
	snprintf(s->peer, sizeof(s->peer), strchr(s->host, ':') ? "[%s]:%d" : "%s:%d",
		 s->host, port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	s->gai.data = s;
	r = uv_getaddrinfo(loop, &s->gai, gai_cb, s->host, portstr, &hints);
	if (r < 0)
		goto fail;
	s->refs++;
	s->gai_pending = 1;
	if (timeout_ms)
		sys_deadline(s, timeout_ms);
	return s;

fail:
	s->user_closed = 1;
	shut(s, r); /* frees s from the loop, with no callback */
	errno = -r;
	return NULL;
}

/* ---- listening ---- */

static void listener_close_cb(uv_handle_t *h)
{
	struct evb_stream_listener *l = h->data;

	if (h == (uv_handle_t *)&l->reject)
		l->rejecting = 0;
	if (--l->handles == 0) {
		evb_tls_config_free(l->tls);
		free(l);
	}
}

static void listener_reject(struct evb_stream_listener *l, uv_stream_t *server)
{
	EVB_LOG(LOG_ERR, "stream", "dropping a client of '%s': %s", l->name, strerror(ENOMEM));
	if (l->rejecting || uv_tcp_init(server->loop, &l->reject) < 0)
		return;
	l->reject.data = l;
	l->rejecting = 1;
	l->handles++;
	(void)uv_accept(server, (uv_stream_t *)&l->reject);
	uv_close((uv_handle_t *)&l->reject, listener_close_cb);
}

static void listener_conn_cb(uv_stream_t *server, int status)
{
	struct evb_stream_listener *l = server->data;
	struct evb_stream *s;
	int r;

	if (status < 0) {
		EVB_LOG(LOG_WARNING, "stream", "unable to accept on '%s': %s", l->name,
			uv_strerror(status));
		return;
	}
	s = stream_alloc(server->loop);
	if (!s || uv_tcp_init(server->loop, &s->tcp) < 0) {
		if (s) {
			s->user_closed = 1;
			shut(s, -ENOMEM);
		}
		listener_reject(l, server);
		return;
	}
	s->tcp.data = s;
	s->tcp_open = 1;
	s->refs++;
	r = uv_accept(server, (uv_stream_t *)&s->tcp);
	if (r < 0) {
		EVB_LOG(LOG_WARNING, "stream", "unable to accept on '%s': %s", l->name,
			uv_strerror(r));
		shut(s, r);
		return;
	}
	uv_tcp_nodelay(&s->tcp, 1);
	set_peer(s);
	if (!l->tls) {
		s->state = ST_OPEN;
		l->on_accept(l, s, l->arg);
		return;
	}
	s->tls = evb_tls_new(l->tls, NULL, tls_send_cb, s);
	if (!s->tls) {
		r = -errno;
		EVB_LOG(LOG_ERR, "stream", "dropping '%s': %s", s->peer, strerror(-r));
		shut(s, r);
		return;
	}
	s->state = ST_HANDSHAKE;
	s->lst = l;
	s->hs_next = l->hs;
	if (l->hs)
		l->hs->hs_prev = s;
	l->hs = s;
	sys_deadline(s, l->hs_ms);
	update_reading(s);
}

/* Resolves host for a listener: a literal, or the first address of a name. */
static int listen_addr(uv_loop_t *loop, const char *host, int port,
		       struct sockaddr_storage *ss)
{
	char h[EVB_STREAM_HOST_MAX];
	uv_getaddrinfo_t req;
	struct addrinfo hints;
	char portstr[8];
	int r;

	if (!host || !*host)
		host = "0.0.0.0";
	if (copy_host(h, sizeof(h), host) < 0)
		return -EINVAL;
	if (uv_ip4_addr(h, port, (struct sockaddr_in *)ss) == 0 ||
	    uv_ip6_addr(h, port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	r = uv_getaddrinfo(loop, &req, NULL, h, portstr, &hints); /* synchronous */
	if (r < 0)
		return r == UV_EAI_NONAME ? -ENOENT : r;
	memcpy(ss, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
	uv_freeaddrinfo(req.addrinfo);
	return 0;
}

struct evb_stream_listener *evb_stream_listen(uv_loop_t *loop, const char *host, int port,
					      struct evb_tls_config *tls,
					      void (*on_accept)(struct evb_stream_listener *l,
								struct evb_stream *s, void *arg),
					      void *arg)
{
	struct evb_stream_listener *l;
	struct sockaddr_storage ss;
	int len = sizeof(ss), r;

	if (port < 0 || port > 65535 || !on_accept || (tls && !evb_tls_config_is_server(tls))) {
		errno = EINVAL;
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	r = listen_addr(loop, host, port, &ss);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	r = uv_tcp_init(loop, &l->tcp);
	if (r < 0) {
		free(l);
		errno = -r;
		return NULL;
	}
	l->tcp.data = l;
	l->handles = 1;
	l->on_accept = on_accept;
	l->arg = arg;
	l->hs_ms = EVB_STREAM_HANDSHAKE_MS;
	r = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->tcp, SOMAXCONN, listener_conn_cb);
	if (r == 0)
		r = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len);
	if (r < 0) {
		l->closing = 1;
		uv_close((uv_handle_t *)&l->tcp, listener_close_cb); /* frees l */
		errno = -r;
		return NULL;
	}
	format_addr((struct sockaddr *)&ss, l->name, sizeof(l->name));
	l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	if (tls) {
		l->tls = tls;
		evb_tls_config_ref(tls);
	}
	return l;
}

int evb_stream_listener_port(const struct evb_stream_listener *l)
{
	return l->port;
}

void evb_stream_listener_set_handshake_timeout(struct evb_stream_listener *l, unsigned ms)
{
	l->hs_ms = ms;
}

void evb_stream_listener_close(struct evb_stream_listener *l)
{
	if (l->closing)
		return;
	l->closing = 1;
	while (l->hs) {
		struct evb_stream *s = l->hs;

		hs_unlink(s);
		shut(s, -ECONNABORTED);
	}
	uv_close((uv_handle_t *)&l->tcp, listener_close_cb);
}

/* ---- accessors ---- */

const char *evb_stream_peer(const struct evb_stream *s)
{
	return s->peer;
}

const char *evb_stream_errstr(const struct evb_stream *s)
{
	return s->err;
}

int evb_stream_is_tls(const struct evb_stream *s)
{
	return s->tls != NULL;
}

uv_loop_t *evb_stream_loop(const struct evb_stream *s)
{
	return s->loop;
}
