/* One supervised child: spawn with its stdout and stderr on pipes (each line
 * forwarded, prefixed with the program name) and a readiness pipe on fd 3. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_log.h"
#include "evb_util.h"
#include "supervise.h"

static void handle_closed(uv_handle_t *h)
{
	struct sv_child *c = h->data;
	c->open_handles--;
}

static void close_handle(struct sv_child *c, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, handle_closed);
	(void)c;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536];
	(void)h;
	(void)suggested;
	buf->base = slab;
	buf->len = sizeof(slab);
}

/* Writes one line to our stderr as "evb-<name>: <line>". */
static void emit_line(struct sv_child *c, const char *s, size_t n)
{
	char line[4200];
	int k = snprintf(line, sizeof(line), "evb-%s: %.*s\n", c->name, (int)n, s);
	if (k > (int)sizeof(line))
		k = (int)sizeof(line);
	(void)!write(STDERR_FILENO, line, (size_t)k);
}

static void on_output(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct sv_child *c = s->data;
	int which = s == (uv_stream_t *)&c->err;
	char *lb = c->linebuf[which];
	size_t *ll = &c->linelen[which];

	if (nread < 0) {
		if (*ll)
			emit_line(c, lb, *ll);
		*ll = 0;
		close_handle(c, (uv_handle_t *)s);
		return;
	}
	for (ssize_t i = 0; i < nread; i++) {
		char ch = buf->base[i];
		if (ch == '\n' || *ll == sizeof(c->linebuf[0])) {
			emit_line(c, lb, *ll);
			*ll = 0;
			if (ch == '\n')
				continue;
		}
		lb[(*ll)++] = ch;
	}
}

static void on_notify(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct sv_child *c = s->data;

	if (nread > 0 && memchr(buf->base, '\n', (size_t)nread) && c->state == SV_STARTING)
		sv_on_ready(c);
	if (nread < 0 || (nread > 0 && memchr(buf->base, '\n', (size_t)nread)))
		close_handle(c, (uv_handle_t *)s);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct sv_child *c = p->data;
	close_handle(c, (uv_handle_t *)p);
	sv_on_exit(c, status, term_signal);
}

int sv_child_spawn(struct sv_child *c)
{
	uv_loop_t *loop = c->sv->loop;
	uv_process_options_t o = { 0 };
	uv_stdio_container_t io[4];
	char *args[6];
	int n = 0, e;

	/* The previous run's pipes must be closed before they are reused. */
	if (c->open_handles > 0)
		return -EBUSY;
	args[n++] = c->prog;
	if (c->sv->config_path) {
		args[n++] = "--config";
		args[n++] = (char *)c->sv->config_path;
	}
	args[n] = NULL;
	uv_pipe_init(loop, &c->out, 0);
	uv_pipe_init(loop, &c->err, 0);
	uv_pipe_init(loop, &c->notify, 0);
	c->out.data = c->err.data = c->notify.data = c->proc.data = c;
	c->open_handles = 3;
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&c->out;
	io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[2].data.stream = (uv_stream_t *)&c->err;
	io[3].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[3].data.stream = (uv_stream_t *)&c->notify;
	o.file = c->prog;
	o.args = args;
	o.stdio = io;
	o.stdio_count = 4;
	o.exit_cb = on_exit_cb;
	/* The environment is inherited, with EVB_NOTIFY_FD=3 set by main(). */
	e = uv_spawn(loop, &c->proc, &o);
	if (e < 0) {
		close_handle(c, (uv_handle_t *)&c->out);
		close_handle(c, (uv_handle_t *)&c->err);
		close_handle(c, (uv_handle_t *)&c->notify);
		/* A handle whose spawn failed must still be closed. */
		uv_close((uv_handle_t *)&c->proc, NULL);
		return e;
	}
	c->open_handles++;
	uv_read_start((uv_stream_t *)&c->out, alloc_cb, on_output);
	uv_read_start((uv_stream_t *)&c->err, alloc_cb, on_output);
	uv_read_start((uv_stream_t *)&c->notify, alloc_cb, on_notify);
	c->state = SV_STARTING;
	c->started_ns = evb_now_ns();
	EVB_LOG(LOG_INFO, "supervise", "started evb-%s (pid %d)", c->name, c->proc.pid);
	return 0;
}

void sv_child_signal(struct sv_child *c, int signum)
{
	if (c->state == SV_STARTING || c->state == SV_UP || c->state == SV_STOPPING)
		uv_process_kill(&c->proc, signum);
}
