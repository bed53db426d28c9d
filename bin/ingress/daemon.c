/* evb-ingress as a daemon: configuration, the HTTP server, the link to
 * evb-transcode, the event sender, timers, signals and the drain on
 * SIGTERM. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_callmap.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_stream.h"
#include "evb_tls.h"
#include "evb_url.h"
#include "evb_replay.h"
#include "ingress.h"

#define FLUSH_MS 1000 /* at exit, wait this long for frames to reach transcode */

static void xc_up(struct evb_link *l, void *arg)
{
	struct ing *d = arg;

	(void)l;
	EVB_LOG(LOG_INFO, "ingress", "connected to evb-transcode");
	call_prepare_all(d);
}

static void xc_down(struct evb_link *l, int reason, void *arg)
{
	(void)l;
	(void)arg;
	EVB_LOG(LOG_WARNING, "ingress", "lost evb-transcode: %s; caller audio is dropped "
		"until it is back", reason ? evb_strerror(reason) : "closed");
}

static void xc_frame(struct evb_link *l, const struct evb_frame *f, void *arg)
{
	(void)l;
	play_down(arg, f);
}

/* The last step: every call is over; close what is left. */
static void teardown(struct ing *d)
{
	uv_timer_stop(&d->sweep);
	uv_timer_stop(&d->tick);
	uv_close((uv_handle_t *)&d->sweep, NULL);
	uv_close((uv_handle_t *)&d->tick, NULL);
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&d->sig[i], NULL);
	if (d->xc)
		evb_link_free(d->xc);
	d->xc = NULL;
	evb_events_free(d->ev);
	d->ev = NULL;
}

static void sweep_cb(uv_timer_t *t)
{
	struct ing *d = t->data;
	uint64_t now = evb_now_ns();

	if (d->stopping == 2) {
		struct evb_conn *c = d->xc ? evb_link_conn(d->xc) : NULL;

		if (!c || evb_conn_queued(c) == 0 || now >= d->drain_until_ns)
			teardown(d);
		return;
	}
	call_sweep(d, now);
	media_sweep(d, now);
	if (d->stopping && d->nstreams > 0 && now >= d->drain_until_ns) {
		EVB_LOG(LOG_INFO, "ingress", "drain time over: closing %zu media streams",
			d->nstreams);
		media_close_all(d, 1001, "server shutting down");
	}
}

void ing_maybe_exit(struct ing *d)
{
	if (d->stopping != 1 || d->nstreams > 0)
		return;
	/* Every stream is gone: end the calls, give their call.ended frames a
	 * moment to reach evb-transcode, then close. */
	d->stopping = 2;
	call_free_all(d);
	play_stop(d);
	d->drain_until_ns = evb_now_ns() + (uint64_t)FLUSH_MS * 1000000u;
	uv_timer_start(&d->sweep, sweep_cb, 20, 20);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct ing *d = s->data;

	if (d->stopping) {
		if (d->stopping == 1) {
			EVB_LOG(LOG_INFO, "ingress", "signal %d again: closing every stream", signum);
			media_close_all(d, 1001, "server shutting down");
		}
		return;
	}
	d->stopping = 1;
	EVB_LOG(LOG_INFO, "ingress", "signal %d: stopping (%zu media streams, drain %ld s)",
		signum, d->nstreams, d->o.drain_s);
	if (d->http) {
		evb_http_server_free(d->http);
		d->http = NULL;
	}
	ing_metrics_stop(d);
	d->drain_until_ns = evb_now_ns() + (uint64_t)d->o.drain_s * 1000000000u;
	ing_maybe_exit(d);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Derives the public URLs from PUBLIC_BASE_URL. */
static int set_base(struct ing *d, const char *url)
{
	struct evb_url *u = evb_url_parse(url);
	const char *path;
	size_t plen;
	int tls;

	if (!u)
		return -1;
	tls = evb_url_is_tls(u);
	path = evb_url_path(u);
	plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		plen--;
	snprintf(d->prefix, sizeof(d->prefix), "%.*s", (int)plen, path);
	snprintf(d->origin, sizeof(d->origin), "%s://%s", tls ? "https" : "http",
		 evb_url_hostport(u));
	snprintf(d->ws_origin, sizeof(d->ws_origin), "%s://%s", tls ? "wss" : "ws",
		 evb_url_hostport(u));
	snprintf(d->base, sizeof(d->base), "%s%s", d->origin, d->prefix);
	snprintf(d->ws_base, sizeof(d->ws_base), "%s%s", d->ws_origin, d->prefix);
	evb_url_free(u);
	return 0;
}

static int set_secrets(struct ing *d)
{
	const char *ms = evb_cfg_get(d->cfg, "EVB_MEDIA_SECRET");

	d->twilio_token = evb_cfg_get(d->cfg, "TWILIO_AUTH_TOKEN");
	d->twilio_account = evb_cfg_get(d->cfg, "TWILIO_ACCOUNT_SID");
	d->vonage_secret = evb_cfg_get(d->cfg, "VONAGE_SIGNATURE_SECRET");
	if (!d->twilio_token)
		EVB_LOG(LOG_WARNING, "ingress", "TWILIO_AUTH_TOKEN is unset: Twilio webhooks "
			"and media sockets are refused");
	if (!d->vonage_secret)
		EVB_LOG(LOG_INFO, "ingress", "VONAGE_SIGNATURE_SECRET is unset: Vonage "
			"webhooks are accepted unsigned");
	if (ms) {
		snprintf(d->media_secret, sizeof(d->media_secret), "%s", ms);
		return 0;
	}
	{
		static const char hex[] = "0123456789abcdef";
		uint8_t r[32];

		if (evb_tls_random(r, sizeof(r)) < 0)
			return -1;
		for (int i = 0; i < 32; i++) {
			d->media_secret[2 * i] = hex[r[i] >> 4];
			d->media_secret[2 * i + 1] = hex[r[i] & 15];
		}
		d->media_secret[64] = '\0';
	}
	EVB_LOG(LOG_WARNING, "ingress", "EVB_MEDIA_SECRET is unset: using a random one, so "
		"media tokens will not survive a restart");
	return 0;
}

static int set_tls(struct ing *d)
{
	const char *cert = evb_cfg_get(d->cfg, "EVB_TLS_CERT");
	const char *key = evb_cfg_get(d->cfg, "EVB_TLS_KEY");
	char err[EVB_TLS_ERR_MAX];

	if (!cert && !key)
		return 0;
	if (!cert || !key) {
		EVB_LOG(LOG_ERR, "ingress", "%s: needed with %s", cert ? "EVB_TLS_KEY" : "EVB_TLS_CERT",
			cert ? "EVB_TLS_CERT" : "EVB_TLS_KEY");
		return -1;
	}
	if (!(d->tls = evb_tls_server_config_new(cert, key, err, sizeof(err)))) {
		EVB_LOG(LOG_ERR, "ingress", "EVB_TLS_CERT/EVB_TLS_KEY: %s", err);
		return -1;
	}
	return 0;
}

/* Creates everything the loop runs; returns 0 or an exit status. */
static int start(struct ing *d)
{
	const char *run = evb_cfg_get(d->cfg, "EVB_RUN_DIR");
	const char *listen = evb_cfg_get(d->cfg, "EVB_LISTEN");
	char host[EVB_STREAM_HOST_MAX], path[PATH_MAX];
	int port;

	if (set_base(d, evb_cfg_get(d->cfg, "PUBLIC_BASE_URL")) < 0) {
		EVB_LOG(LOG_ERR, "ingress", "PUBLIC_BASE_URL: not a URL");
		return 100;
	}
	if (set_tls(d) < 0)
		return 100;
	if (set_secrets(d) < 0)
		return 111;
	if (evb_stream_parse_hostport(listen, host, sizeof(host), &port) < 0) {
		EVB_LOG(LOG_ERR, "ingress", "EVB_LISTEN: expected host:port, got '%s'", listen);
		return 100;
	}
	if (!(d->calls = evb_callmap_new()) || !(d->by_pcid = evb_callmap_new()) ||
	    !(d->jtis = evb_replay_new(JTI_MAX)))
		return 111;
	snprintf(path, sizeof(path), "%s/transcode.sock", run);
	if (!(d->xc = evb_link_new(d->loop, path, xc_up, xc_down, xc_frame, d))) {
		EVB_LOG(LOG_ERR, "ingress", "EVB_RUN_DIR: unable to use '%s': %s", path,
			strerror(errno));
		return 100;
	}
	snprintf(path, sizeof(path), "%s/logger.sock", run);
	if (!(d->ev = evb_events_new(d->loop, path, 0, 0))) {
		EVB_LOG(LOG_ERR, "ingress", "EVB_RUN_DIR: unable to use '%s': %s", path,
			strerror(errno));
		return 100;
	}
	d->http = evb_http_server_new(d->loop, host, port, d->tls, ing_on_request, d);
	if (!d->http) {
		EVB_LOG(LOG_ERR, "ingress", "unable to listen on '%s': %s", listen, strerror(errno));
		return errno == EADDRINUSE || errno == EACCES ? 111 : 100;
	}
	evb_http_server_set_max_body(d->http, 64u << 10);
	evb_http_server_set_timeouts(d->http, (unsigned)d->o.header_ms, (unsigned)d->o.body_ms,
				     (unsigned)d->o.idle_ms);
	uv_timer_start(&d->sweep, sweep_cb, 1000, 1000);
	for (int i = 0; i < 2; i++)
		uv_signal_start(&d->sig[i], on_signal, i ? SIGINT : SIGTERM);
	EVB_LOG(LOG_INFO, "ingress", "listening on %s%s%s:%d for %s, evb-transcode at '%s/%s'",
		strchr(host, ':') ? "[" : "", host[0] ? host : "0.0.0.0",
		strchr(host, ':') ? "]" : "", evb_http_server_port(d->http), d->base, run,
		"transcode.sock");
	return 0;
}

int ingress_run(const struct evb_cfg *cfg, const struct ing_opts *o)
{
	static struct ing d;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	d.cfg = cfg;
	d.o = *o;
	d.loop = uv_default_loop();
	uv_timer_init(d.loop, &d.tick);
	uv_timer_init(d.loop, &d.sweep);
	d.tick.data = d.sweep.data = &d;
	for (int i = 0; i < 2; i++) {
		uv_signal_init(d.loop, &d.sig[i]);
		d.sig[i].data = &d;
	}
	rc = start(&d);
	if (rc == 0) {
		ing_metrics_start(&d);
		evb_notify_ready();
		uv_run(d.loop, UV_RUN_DEFAULT);
	} else {
		if (d.http)
			evb_http_server_free(d.http);
		d.http = NULL;
		teardown(&d);
	}
	ing_metrics_stop(&d);
	uv_walk(d.loop, close_walk, NULL);
	uv_run(d.loop, UV_RUN_DEFAULT);
	uv_loop_close(d.loop);
	ing_metrics_free(&d);
	call_free_all(&d);
	evb_callmap_free(d.calls);
	evb_callmap_free(d.by_pcid);
	evb_replay_free(d.jtis);
	evb_tls_config_free(d.tls);
	return rc;
}
