/* Framed connections, unix socket listener, reconnecting link, readiness.
 *
 * Writing: a connection keeps two byte buffers. send() appends the encoded
 * frame to "pend" and arms a prepare handle, which runs once the loop has
 * dispatched this round's events: every frame sent in one round leaves in
 * one system call, at no added latency (the loop would block next). That
 * write is tried at once (uv_try_write); only what the socket does not take
 * goes to uv_write, as "fly": pend and fly swap roles and keep their
 * memory, so the steady state allocates nothing, and frames queued while a
 * write is in flight leave together after it. Frames in pend stay
 * self-describing, which is all evb_conn_drop_call() needs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evb_conn.h"
#include "evb_err.h"
#include "evb_log.h"

#define CONN_READ_BUF (64u << 10)
#define CONN_SPARE_MAX (256u << 10) /* an idle buffer larger than this is freed */
#define CONN_QUEUE_LIMIT (1u << 30)
#define CONN_NAME_MAX 160
#define LINK_BACKOFF_MIN_MS 50
#define LINK_BACKOFF_MAX_MS 1000

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

struct evb_conn {
	uv_pipe_t pipe;    /* pipe.data is the conn */
	uv_prepare_t prep; /* flushes pend at the end of the loop's round */
	int handles;       /* open uv handles; c is freed when the last one closes */
	int prep_armed;
	uv_write_t wreq;
	struct evb_frame_reader *reader;
	void (*on_frame)(struct evb_conn *c, const struct evb_frame *f, void *arg);
	void (*on_close)(struct evb_conn *c, int reason, void *arg);
	void *arg;
	struct wbuf pend; /* frames not yet handed to uv_write */
	struct wbuf fly;  /* the batch uv_write is writing */
	size_t max_queue;
	int writing, started, closing, reason;
	int quiet; /* a link's: the link logs its I/O errors */
	char name[CONN_NAME_MAX];
	char rbuf[CONN_READ_BUF];
};

struct evb_listener {
	uv_pipe_t pipe;
	uv_pipe_t reject; /* accepts and drops a client we have no memory for */
	void (*on_accept)(struct evb_listener *l, struct evb_conn *c, void *arg);
	void *arg;
	int handles; /* open uv handles; l is freed when the last one closes */
	int rejecting, closing;
	dev_t dev;
	ino_t ino;
	char path[SUN_PATH_MAX];
};

struct evb_link {
	uv_loop_t *loop;
	uv_timer_t timer; /* next connection attempt */
	uv_connect_t creq;
	struct evb_conn *conn; /* connecting or up; NULL while waiting */
	void (*on_up)(struct evb_link *l, void *arg);
	void (*on_down)(struct evb_link *l, int reason, void *arg);
	void (*on_frame)(struct evb_link *l, const struct evb_frame *f, void *arg);
	void *arg;
	uint64_t delay_ms;
	int pending; /* the timer handle and conn still open; freed at 0 */
	int up, freeing, complained;
	char path[SUN_PATH_MAX];
};

/* ---- connection ---- */

static struct evb_conn *conn_new(uv_loop_t *loop, const char *name)
{
	struct evb_conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return NULL;
	c->reader = evb_frame_reader_new(EVB_FRAME_MAX_PAYLOAD);
	if (!c->reader)
		goto fail;
	r = uv_pipe_init(loop, &c->pipe, 0);
	if (r < 0) {
		errno = -r;
		goto fail;
	}
	c->pipe.data = c;
	uv_prepare_init(loop, &c->prep);
	c->prep.data = c;
	c->handles = 2;
	c->max_queue = EVB_CONN_MAX_QUEUE;
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;

fail:
	r = errno;
	if (c->reader)
		evb_frame_reader_free(c->reader);
	free(c);
	errno = r;
	return NULL;
}

static void conn_close_cb(uv_handle_t *h)
{
	struct evb_conn *c = h->data;

	if (--c->handles > 0)
		return;
	if (c->on_close)
		c->on_close(c, c->reason, c->arg);
	evb_frame_reader_free(c->reader);
	free(c->pend.p);
	free(c->fly.p);
	free(c);
}

/* Closes c once; the first reason given is the one on_close reports. */
static void conn_shut(struct evb_conn *c, int reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->reason = reason;
	uv_close((uv_handle_t *)&c->prep, conn_close_cb);
	uv_close((uv_handle_t *)&c->pipe, conn_close_cb);
}

static const char *reader_errstr(const struct evb_conn *c, int err)
{
	const char *s = evb_frame_reader_error(c->reader);
	return s && *s ? s : evb_strerror(err);
}

static void conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct evb_conn *c = h->data;

	(void)hint;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct evb_conn *c = s->data;
	struct evb_frame f;
	int r;

	(void)buf;
	if (c->closing || nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF) {
			r = evb_frame_reader_finish(c->reader);
			if (r < 0)
				EVB_LOG(LOG_ERR, "conn", "'%s' hung up inside a frame: %s",
					c->name, reader_errstr(c, r));
		} else {
			r = (int)nread;
			if (!c->quiet)
				EVB_LOG(LOG_WARNING, "conn", "unable to read from '%s': %s",
					c->name, evb_strerror(r));
		}
		conn_shut(c, r);
		return;
	}
	r = evb_frame_reader_feed(c->reader, c->rbuf, (size_t)nread);
	if (r == -ENOMEM) {
		EVB_LOG(LOG_ERR, "conn", "unable to buffer a frame from '%s': %s", c->name,
			evb_strerror(r));
		conn_shut(c, r);
		return;
	}
	if (r == 0)
		while (!c->closing && (r = evb_frame_reader_next(c->reader, &f)) == 1)
			c->on_frame(c, &f, c->arg);
	if (r < 0 && !c->closing) {
		EVB_LOG(LOG_ERR, "conn", "bad frame from '%s', closing: %s", c->name,
			reader_errstr(c, r));
		conn_shut(c, r);
	}
}

static int conn_read_start(struct evb_conn *c)
{
	if (!c->on_frame)
		return 0;
	return uv_read_start((uv_stream_t *)&c->pipe, conn_alloc_cb, conn_read_cb);
}

static void conn_write_cb(uv_write_t *req, int status);
static void conn_flush(struct evb_conn *c);

static void conn_prep_cb(uv_prepare_t *p)
{
	struct evb_conn *c = p->data;

	uv_prepare_stop(p);
	c->prep_armed = 0;
	conn_flush(c);
}

/* Writes everything pending unless a write is in flight: at once as far as
 * the socket takes it, the rest through uv_write. */
static void conn_flush(struct evb_conn *c)
{
	struct wbuf t;
	uv_buf_t b;
	int r;

	if (c->writing || c->closing || c->pend.len == 0)
		return;
	/* A write that completes here needs no request or callback, and leaves
	 * the poll set alone (libuv re-arms epoll after every uv_write). An
	 * error is left to uv_write to report. */
	b = uv_buf_init((char *)c->pend.p, (unsigned)c->pend.len);
	r = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
	if (r > 0 && (size_t)r == c->pend.len) {
		c->pend.len = 0;
		return;
	}
	if (r > 0) {
		memmove(c->pend.p, c->pend.p + r, c->pend.len - (size_t)r);
		c->pend.len -= (size_t)r;
	}
	t = c->fly; /* empty */
	c->fly = c->pend;
	c->pend = t;
	b = uv_buf_init((char *)c->fly.p, (unsigned)c->fly.len);
	r = uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &b, 1, conn_write_cb);
	if (r < 0) {
		c->fly.len = 0;
		if (!c->quiet)
			EVB_LOG(LOG_WARNING, "conn", "unable to write to '%s': %s", c->name,
				evb_strerror(r));
		conn_shut(c, r);
		return;
	}
	c->writing = 1;
}

static void conn_write_cb(uv_write_t *req, int status)
{
	struct evb_conn *c = req->handle->data;

	c->writing = 0;
	c->fly.len = 0;
	if (c->fly.cap > CONN_SPARE_MAX) {
		free(c->fly.p);
		c->fly.p = NULL;
		c->fly.cap = 0;
	}
	if (status < 0) {
		if (!c->closing) {
			if (!c->quiet)
				EVB_LOG(LOG_WARNING, "conn", "unable to write to '%s': %s",
					c->name, evb_strerror(status));
			conn_shut(c, status);
		}
		return;
	}
	conn_flush(c);
}

/* Makes room for need more bytes; the caller has checked them against max. */
static int wbuf_reserve(struct wbuf *b, size_t need, size_t max)
{
	size_t cap;
	uint8_t *p;

	if (b->cap - b->len >= need)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need)
		cap *= 2;
	if (cap > max)
		cap = max > b->len + need ? max : b->len + need;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

struct evb_conn *evb_conn_open(uv_loop_t *loop, int fd, const char *name)
{
	struct evb_conn *c;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		errno = EINVAL; /* epoll cannot watch files, and uv would abort */
		return NULL;
	}
	c = conn_new(loop, name);
	if (!c)
		return NULL;
	r = uv_pipe_open(&c->pipe, fd);
	if (r < 0) {
		conn_shut(c, r); /* the handle does not own fd: it stays open */
		errno = -r;
		return NULL;
	}
	return c;
}

int evb_conn_start(struct evb_conn *c,
		   void (*on_frame)(struct evb_conn *c, const struct evb_frame *f, void *arg),
		   void (*on_close)(struct evb_conn *c, int reason, void *arg), void *arg)
{
	if (c->closing)
		return -ENOTCONN;
	if (c->started)
		return -EALREADY;
	c->started = 1;
	c->on_frame = on_frame;
	c->on_close = on_close;
	c->arg = arg;
	return conn_read_start(c);
}

int evb_conn_send(struct evb_conn *c, const struct evb_frame_hdr *h, const void *payload)
{
	uint8_t hdr[EVB_FRAME_HDR_LEN];
	struct evb_frame_hdr check;
	size_t need;
	int r;

	if (c->closing)
		return -ENOTCONN;
	if (h->len > 0 && !payload)
		return -EINVAL;
	/* Refuse here what the peer's reader would refuse, killing the link. */
	evb_frame_hdr_encode(h, hdr);
	r = evb_frame_hdr_decode(hdr, EVB_FRAME_MAX_PAYLOAD, &check);
	if (r < 0)
		return r;
	need = EVB_FRAME_HDR_LEN + (size_t)h->len;
	if (c->pend.len + c->fly.len + need > c->max_queue)
		return EVB_EFULL;
	r = wbuf_reserve(&c->pend, need, c->max_queue);
	if (r < 0)
		return r;
	memcpy(c->pend.p + c->pend.len, hdr, EVB_FRAME_HDR_LEN);
	if (h->len > 0)
		memcpy(c->pend.p + c->pend.len + EVB_FRAME_HDR_LEN, payload, h->len);
	c->pend.len += need;
	if (!c->writing && !c->prep_armed) {
		c->prep_armed = 1;
		uv_prepare_start(&c->prep, conn_prep_cb);
	}
	return 0;
}

size_t evb_conn_drop_call(struct evb_conn *c, const uint8_t call_id[EVB_CALLID_LEN])
{
	size_t rd = 0, wr = 0, n = 0;

	while (rd < c->pend.len) {
		struct evb_frame_hdr h;
		size_t flen;

		if (evb_frame_hdr_decode(c->pend.p + rd, EVB_FRAME_MAX_PAYLOAD, &h) < 0) {
			/* Cannot happen (send checked it); keep the rest as it is. */
			flen = c->pend.len - rd;
		} else {
			flen = EVB_FRAME_HDR_LEN + (size_t)h.len;
			if (h.kind == EVB_KIND_AUDIO &&
			    memcmp(h.call_id, call_id, EVB_CALLID_LEN) == 0) {
				rd += flen;
				n++;
				continue;
			}
		}
		if (wr != rd)
			memmove(c->pend.p + wr, c->pend.p + rd, flen);
		wr += flen;
		rd += flen;
	}
	c->pend.len = wr;
	return n;
}

size_t evb_conn_queued(const struct evb_conn *c)
{
	return c->pend.len + c->fly.len;
}

void evb_conn_set_max_queue(struct evb_conn *c, size_t bytes)
{
	c->max_queue = bytes < CONN_QUEUE_LIMIT ? bytes : CONN_QUEUE_LIMIT;
}

const char *evb_conn_name(const struct evb_conn *c)
{
	return c->name;
}

void evb_conn_close(struct evb_conn *c)
{
	/* Frames sent this round still get their chance, as they had when
	 * send() wrote at once. */
	if (!c->closing && !c->writing && c->pend.len) {
		uv_buf_t b = uv_buf_init((char *)c->pend.p, (unsigned)c->pend.len);
		(void)uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
	}
	conn_shut(c, 0);
}

/* ---- listener ---- */

static int unix_path_check(const char *path)
{
	size_t n = strlen(path);

	if (n == 0)
		return -EINVAL;
	if (n >= SUN_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static void unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

/* Removes a socket file at path that nobody listens on. Returns 0 when the
 * path is free, -EEXIST for another kind of file, -EADDRINUSE when a server
 * answers, or -errno. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r, e;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unix_addr(&sa, path);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS)
		return -EADDRINUSE;
	if (e != ECONNREFUSED)
		return -e;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	EVB_LOG(LOG_INFO, "conn", "removed stale socket '%s'", path);
	return 0;
}

static void listener_close_cb(uv_handle_t *h)
{
	struct evb_listener *l = h->data;

	if (h == (uv_handle_t *)&l->reject)
		l->rejecting = 0;
	if (--l->handles == 0)
		free(l);
}

static void listener_reject(struct evb_listener *l, uv_stream_t *server, int err)
{
	EVB_LOG(LOG_ERR, "conn", "dropping a client of '%s': %s", l->path, evb_strerror(err));
	if (l->rejecting || uv_pipe_init(server->loop, &l->reject, 0) < 0)
		return; /* out of memory twice over: uv now waits for an accept */
	l->reject.data = l;
	l->rejecting = 1;
	l->handles++;
	(void)uv_accept(server, (uv_stream_t *)&l->reject);
	uv_close((uv_handle_t *)&l->reject, listener_close_cb);
}

static void listener_conn_cb(uv_stream_t *server, int status)
{
	struct evb_listener *l = server->data;
	struct evb_conn *c;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	uv_os_fd_t fd;
	int r;

	if (status < 0) {
		EVB_LOG(LOG_WARNING, "conn", "unable to accept on '%s': %s", l->path,
			evb_strerror(status));
		return;
	}
	c = conn_new(server->loop, l->path);
	if (!c) {
		listener_reject(l, server, -errno);
		return;
	}
	r = uv_accept(server, (uv_stream_t *)&c->pipe);
	if (r < 0) {
		EVB_LOG(LOG_WARNING, "conn", "unable to accept on '%s': %s", l->path,
			evb_strerror(r));
		conn_shut(c, r);
		return;
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0)
		snprintf(c->name, sizeof(c->name), "%s[%ld]", l->path, (long)cr.pid);
	l->on_accept(l, c, l->arg);
}

struct evb_listener *evb_listen_unix(uv_loop_t *loop, const char *path, int backlog,
				     void (*on_accept)(struct evb_listener *l,
						       struct evb_conn *c, void *arg),
				     void *arg)
{
	struct evb_listener *l = NULL;
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1, bound = 0, r;

	r = unix_path_check(path);
	if (r == 0)
		r = clear_stale(path);
	if (r < 0)
		goto fail;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	unix_addr(&sa, path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	bound = 1;
	if (chmod(path, 0660) < 0 || stat(path, &st) < 0 || listen(fd, backlog) < 0 ||
	    !(l = calloc(1, sizeof(*l)))) {
		r = -errno;
		goto fail;
	}
	memcpy(l->path, path, strlen(path) + 1);
	l->on_accept = on_accept;
	l->arg = arg;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	r = uv_pipe_init(loop, &l->pipe, 0);
	if (r < 0)
		goto fail;
	l->pipe.data = l;
	l->handles = 1;
	r = uv_pipe_open(&l->pipe, fd);
	if (r == 0) {
		fd = -1; /* the handle owns it now */
		r = uv_listen((uv_stream_t *)&l->pipe, backlog, listener_conn_cb);
	}
	if (r < 0) {
		l->closing = 1;
		uv_close((uv_handle_t *)&l->pipe, listener_close_cb); /* frees l */
		l = NULL;
		goto fail;
	}
	return l;

fail:
	if (bound)
		unlink(path);
	if (fd >= 0)
		close(fd);
	free(l);
	errno = -r;
	return NULL;
}

void evb_listener_close(struct evb_listener *l)
{
	struct stat st;

	if (l->closing)
		return;
	l->closing = 1;
	/* Another server may have taken the path since: leave its socket. */
	if (stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	uv_close((uv_handle_t *)&l->pipe, listener_close_cb);
}

/* ---- reconnecting link ---- */

static void link_connect(struct evb_link *l);

static void link_unref(struct evb_link *l)
{
	if (--l->pending == 0)
		free(l);
}

static void link_timer_cb(uv_timer_t *t)
{
	link_connect(t->data);
}

static void link_timer_close_cb(uv_handle_t *h)
{
	link_unref(h->data);
}

static void link_retry_later(struct evb_link *l)
{
	uv_timer_start(&l->timer, link_timer_cb, l->delay_ms, 0);
	l->delay_ms *= 2;
	if (l->delay_ms > LINK_BACKOFF_MAX_MS)
		l->delay_ms = LINK_BACKOFF_MAX_MS;
}

static void link_conn_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	struct evb_link *l = arg;

	(void)c;
	if (l->on_frame && !l->freeing)
		l->on_frame(l, f, l->arg);
}

static void link_conn_close(struct evb_conn *c, int reason, void *arg)
{
	struct evb_link *l = arg;
	int was_up = l->up;

	(void)c;
	l->conn = NULL;
	l->up = 0;
	if (!l->freeing && was_up) {
		if (reason == 0)
			EVB_LOG(LOG_WARNING, "conn", "connection to '%s' closed", l->path);
		else
			EVB_LOG(LOG_WARNING, "conn", "connection to '%s' lost: %s", l->path,
				evb_strerror(reason));
		if (l->on_down)
			l->on_down(l, reason, l->arg);
	}
	if (!l->freeing)
		link_retry_later(l);
	link_unref(l);
}

static void link_connect_cb(uv_connect_t *req, int status)
{
	struct evb_link *l = req->data;
	struct evb_conn *c = l->conn;
	int r;

	if (status == UV_ECANCELED || c->closing)
		return; /* evb_link_free() is closing it */
	if (status < 0) {
		if (!l->complained)
			EVB_LOG(LOG_WARNING, "conn", "unable to connect to '%s': %s", l->path,
				evb_strerror(status));
		l->complained = 1;
		conn_shut(c, status);
		return;
	}
	r = conn_read_start(c);
	if (r < 0) {
		conn_shut(c, r);
		return;
	}
	c->started = 1;
	l->up = 1;
	l->delay_ms = LINK_BACKOFF_MIN_MS;
	l->complained = 0;
	EVB_LOG(LOG_INFO, "conn", "connected to '%s'", l->path);
	if (l->on_up)
		l->on_up(l, l->arg);
}

static void link_connect(struct evb_link *l)
{
	struct evb_conn *c = conn_new(l->loop, l->path);

	if (!c) {
		EVB_LOG(LOG_ERR, "conn", "unable to connect to '%s': %s", l->path,
			strerror(errno));
		link_retry_later(l);
		return;
	}
	c->on_frame = link_conn_frame;
	c->on_close = link_conn_close;
	c->arg = l;
	c->quiet = 1;
	l->conn = c;
	l->pending++;
	l->creq.data = l;
	uv_pipe_connect(&l->creq, &c->pipe, l->path, link_connect_cb);
}

struct evb_link *evb_link_new(uv_loop_t *loop, const char *path,
			      void (*on_up)(struct evb_link *l, void *arg),
			      void (*on_down)(struct evb_link *l, int reason, void *arg),
			      void (*on_frame)(struct evb_link *l, const struct evb_frame *f,
					       void *arg),
			      void *arg)
{
	struct evb_link *l;
	int r = unix_path_check(path);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	r = uv_timer_init(loop, &l->timer);
	if (r < 0) {
		free(l);
		errno = -r;
		return NULL;
	}
	l->timer.data = l;
	l->pending = 1;
	l->loop = loop;
	memcpy(l->path, path, strlen(path) + 1);
	l->on_up = on_up;
	l->on_down = on_down;
	l->on_frame = on_frame;
	l->arg = arg;
	l->delay_ms = LINK_BACKOFF_MIN_MS;
	link_connect(l);
	return l;
}

int evb_link_send(struct evb_link *l, const struct evb_frame_hdr *h, const void *payload)
{
	if (!l->up)
		return -ENOTCONN;
	return evb_conn_send(l->conn, h, payload);
}

struct evb_conn *evb_link_conn(const struct evb_link *l)
{
	return l->up && !l->conn->closing ? l->conn : NULL;
}

void evb_link_free(struct evb_link *l)
{
	if (l->freeing)
		return;
	l->freeing = 1;
	uv_timer_stop(&l->timer);
	uv_close((uv_handle_t *)&l->timer, link_timer_close_cb);
	if (l->conn)
		conn_shut(l->conn, 0);
}

/* ---- readiness ---- */

int evb_notify_ready(void)
{
	const char *s = getenv("EVB_NOTIFY_FD");
	char *end;
	long fd;
	ssize_t n;

	if (!s)
		return 0;
	errno = 0;
	fd = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || fd < 3 || fd > INT_MAX)
		fd = -1;
	/* Unset in any case: a child must not write to whatever reuses the
	 * number. This invalidates s. */
	unsetenv("EVB_NOTIFY_FD");
	if (fd < 0)
		return -EINVAL;
	if (fcntl((int)fd, F_GETFD) < 0)
		return -errno;
	do
		n = write((int)fd, "\n", 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		close((int)fd);
		return -e;
	}
	close((int)fd);
	return 1;
}
