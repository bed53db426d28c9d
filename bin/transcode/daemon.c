/* evb-transcode as a daemon: evb-ingress connects to transcode.sock; we
 * connect to hume.sock. Direction is implied by the socket a frame came in
 * on: from ingress it travels up, from hume down. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evb_conn.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_stats.h"
#include "transcode.h"

/* Seconds from the audio's capture to its leaving evb-transcode. */

struct daemon {
	uv_loop_t *loop;
	struct xc *x;
	struct evb_listener *lis;
	struct evb_link *hume;
	uv_timer_t expire;
	uv_signal_t sig[2];
	uint64_t idle_ns;
	uint64_t up_dropped, down_dropped;
	int stopping;
	struct evb_stats *stats;
	struct evb_stats_server *stats_srv;
	struct evb_metric *m_active, *m_lat_up, *m_lat_down;
};

static void emit(void *arg, void *owner, const struct evb_frame_hdr *h, const void *payload)
{
	struct daemon *d = arg;
	int e;

	if (h->kind == EVB_KIND_AUDIO && h->capture_ns)
		evb_metric_observe(h->dir == EVB_DIR_DOWN ? d->m_lat_down : d->m_lat_up,
				   (double)(evb_now_ns() - h->capture_ns) / 1e9);

	if (h->dir == EVB_DIR_DOWN) {
		e = owner ? evb_conn_send(owner, h, payload) : -ENOTCONN;
		if (e < 0 && d->down_dropped++ % 500 == 0)
			EVB_LOG(LOG_WARNING, "daemon", "agent audio to the caller side dropped "
				"(%llu so far): %s", (unsigned long long)d->down_dropped,
				evb_strerror(e));
		return;
	}
	e = evb_link_send(d->hume, h, payload);
	/* Caller audio is real time: while evb-hume is away it is dropped and
	 * counted, and the call goes on. */
	if (e < 0 && d->up_dropped++ % 500 == 0)
		EVB_LOG(LOG_WARNING, "daemon", "caller audio to evb-hume dropped (%llu so far): %s",
			(unsigned long long)d->up_dropped, evb_strerror(e));
}

static void drop(void *arg, void *owner, const uint8_t *call_id)
{
	(void)arg;
	if (owner)
		evb_conn_drop_call(owner, call_id);
}

static void ingress_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	struct daemon *d = arg;
	struct evb_frame up = *f;
	up.h.dir = EVB_DIR_UP;
	xc_frame(d->x, &up, c);
}

static void ingress_close(struct evb_conn *c, int reason, void *arg)
{
	struct daemon *d = arg;
	if (reason < 0)
		EVB_LOG(LOG_WARNING, "daemon", "'%s' closed: %s", evb_conn_name(c),
			evb_strerror(reason));
	xc_forget_owner(d->x, c);
}

static void on_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	(void)l;
	EVB_LOG(LOG_INFO, "daemon", "'%s' connected", evb_conn_name(c));
	if (evb_conn_start(c, ingress_frame, ingress_close, arg) < 0)
		evb_conn_close(c);
}

static void hume_frame(struct evb_link *l, const struct evb_frame *f, void *arg)
{
	struct daemon *d = arg;
	struct evb_frame down = *f;
	(void)l;
	down.h.dir = EVB_DIR_DOWN;
	xc_frame(d->x, &down, NULL);
}

static void hume_up(struct evb_link *l, void *arg)
{
	(void)l;
	(void)arg;
	EVB_LOG(LOG_INFO, "daemon", "connected to evb-hume");
}

static void hume_down(struct evb_link *l, int reason, void *arg)
{
	(void)l;
	(void)arg;
	EVB_LOG(LOG_WARNING, "daemon", "lost evb-hume: %s; reconnecting",
		reason ? evb_strerror(reason) : "closed");
}

static void render(struct evb_stats *s, void *arg)
{
	struct daemon *d = arg;
	(void)s;
	evb_metric_set(d->m_active, xc_active(d->x));
}

static int stats_init(struct daemon *d, const char *run)
{
	struct evb_stats *s = evb_stats_new();
	char path[PATH_MAX];
	size_t nb = evb_stats_latency_nbounds;
	const double *latency_bounds = evb_stats_latency_bounds;

	if (!s)
		return -ENOMEM;
	d->stats = s;
	const struct xc_stats *st = xc_stats(d->x);
	evb_stats_counter_of(s, "evb_transcode_frames_in_total", NULL,
			     "Frames received from evb-ingress and evb-hume.", &st->frames_in);
	evb_stats_counter_of(s, "evb_transcode_frames_out_total", NULL,
			     "Converted 20 ms audio frames sent on.", &st->frames_out);
	evb_stats_counter_of(s, "evb_transcode_bad_frames_total", NULL,
			     "Frames refused (bad WAV, bad control JSON, no direction).",
			     &st->bad_frames);
	evb_stats_counter_of(s, "evb_transcode_interrupts_total", NULL,
			     "Interrupts that dropped pending agent audio.", &st->interrupts);
	evb_stats_counter_of(s, "evb_transcode_calls_expired_total", NULL,
			     "Calls whose state was freed after going idle.", &st->calls_expired);
	evb_stats_counter_of(s, "evb_transcode_dropped_total", "direction=\"up\"",
			     "Frames dropped because the next stage was away or full.",
			     &d->up_dropped);
	evb_stats_counter_of(s, "evb_transcode_dropped_total", "direction=\"down\"",
			     "Frames dropped because the next stage was away or full.",
			     &d->down_dropped);
	d->m_active = evb_stats_gauge(s, "evb_transcode_calls_active", NULL,
				      "Calls with conversion state.");
	d->m_lat_up = evb_stats_histogram(s, "evb_hop_latency_seconds",
					  "hop=\"transcode\",direction=\"up\"",
					  "From capture to leaving this hop.", latency_bounds, nb);
	d->m_lat_down = evb_stats_histogram(s, "evb_hop_latency_seconds",
					    "hop=\"transcode\",direction=\"down\"",
					    "From capture to leaving this hop.", latency_bounds, nb);
	evb_stats_on_render(s, render, d);
	snprintf(path, sizeof(path), "%s/transcode%s", run, EVB_STATS_SUFFIX);
	d->stats_srv = evb_stats_serve(d->loop, s, path);
	if (!d->stats_srv)
		EVB_LOG(LOG_WARNING, "daemon", "no metrics socket at '%s': %s", path,
			strerror(errno));
	return 0;
}

static void on_expire(uv_timer_t *t)
{
	struct daemon *d = t->data;
	xc_expire(d->x, evb_now_ns(), d->idle_ns);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;
	EVB_LOG(LOG_INFO, "daemon", "signal %d: stopping", signum);
	if (d->stopping++)
		return;
	evb_listener_close(d->lis);
	evb_link_free(d->hume);
	if (d->stats_srv)
		evb_stats_server_close(d->stats_srv);
	d->stats_srv = NULL;
	uv_timer_stop(&d->expire);
	uv_close((uv_handle_t *)&d->expire, NULL);
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&d->sig[i], NULL);
	/* Open ingress connections close as the loop is walked. */
	uv_stop(d->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int transcode_daemon(const struct evb_cfg *cfg, const struct xc_opts *xo, uint64_t idle_ns)
{
	static struct daemon d;
	struct xc_sink sink = { emit, drop, &d };
	const char *run = evb_cfg_get(cfg, "EVB_RUN_DIR");
	char lpath[PATH_MAX], hpath[PATH_MAX];
	uint64_t period;
	int e;

	signal(SIGPIPE, SIG_IGN);
	if ((e = evb_mkdir_p(run)) < 0) {
		EVB_LOG(LOG_ERR, "daemon", "unable to create '%s': %s", run, evb_strerror(e));
		return 111;
	}
	snprintf(lpath, sizeof(lpath), "%s/transcode.sock", run);
	snprintf(hpath, sizeof(hpath), "%s/hume.sock", run);
	d.loop = uv_default_loop();
	d.idle_ns = idle_ns;
	if (!(d.x = xc_new(xo, &sink)))
		return 111;
	d.lis = evb_listen_unix(d.loop, lpath, 128, on_accept, &d);
	if (!d.lis) {
		EVB_LOG(LOG_ERR, "daemon", "unable to listen on '%s': %s", lpath, strerror(errno));
		xc_free(d.x);
		return errno == ENAMETOOLONG || errno == EEXIST ? 100 : 111;
	}
	d.hume = evb_link_new(d.loop, hpath, hume_up, hume_down, hume_frame, &d);
	if (!d.hume) {
		EVB_LOG(LOG_ERR, "daemon", "unable to connect to '%s': %s", hpath, strerror(errno));
		evb_listener_close(d.lis);
		uv_run(d.loop, UV_RUN_DEFAULT);
		xc_free(d.x);
		return 100;
	}
	stats_init(&d, run);
	uv_timer_init(d.loop, &d.expire);
	d.expire.data = &d;
	/* Sweep idle calls at half the idle time, at most every 5 s. */
	period = idle_ns / 2000000u;
	if (period > 5000)
		period = 5000;
	if (period < 100)
		period = 100;
	uv_timer_start(&d.expire, on_expire, period, period);
	uv_signal_init(d.loop, &d.sig[0]);
	uv_signal_init(d.loop, &d.sig[1]);
	d.sig[0].data = d.sig[1].data = &d;
	uv_signal_start(&d.sig[0], on_signal, SIGTERM);
	uv_signal_start(&d.sig[1], on_signal, SIGINT);
	EVB_LOG(LOG_INFO, "daemon", "listening on '%s', evb-hume at '%s'", lpath, hpath);
	evb_notify_ready();
	uv_run(d.loop, UV_RUN_DEFAULT);
	/* Close what is left (accepted connections), then let close callbacks run. */
	uv_walk(d.loop, close_walk, NULL);
	uv_run(d.loop, UV_RUN_DEFAULT);
	uv_loop_close(d.loop);
	xc_free(d.x);
	evb_stats_free(d.stats);
	return 0;
}
