/* evb-hume as a daemon: evb-transcode connects to hume.sock (several
 * connections are fine; a call's down frames go back on the connection its
 * up frames came from); events go to logger.sock. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_util.h"
#include "hume.h"

#define STOP_WAIT_MS 6000 /* at shutdown: for EVI closes and event acks */
#define READY_DB_MS 1000  /* longest wait for the database before readiness */

static uint64_t stop_deadline;

static void on_frame(struct evb_conn *c, const struct evb_frame *f, void *arg)
{
	call_frame(arg, c, f);
}

static void on_conn_close(struct evb_conn *c, int reason, void *arg)
{
	struct hume *h = arg;

	if (reason < 0)
		EVB_LOG(LOG_WARNING, "daemon", "'%s' closed: %s", evb_conn_name(c),
			evb_strerror(reason));
	else
		EVB_LOG(LOG_INFO, "daemon", "'%s' disconnected", evb_conn_name(c));
	for (size_t i = 0; i < h->nconns; i++)
		if (h->conns[i] == c) {
			h->conns[i] = h->conns[--h->nconns];
			break;
		}
	call_conn_gone(h, c);
}

static void on_accept(struct evb_listener *l, struct evb_conn *c, void *arg)
{
	struct hume *h = arg;

	(void)l;
	if (h->nconns == h->capconns) {
		size_t cap = h->capconns ? h->capconns * 2 : 8;
		struct evb_conn **n = realloc(h->conns, cap * sizeof(*n));
		if (!n) {
			evb_conn_close(c);
			return;
		}
		h->conns = n;
		h->capconns = cap;
	}
	if (evb_conn_start(c, on_frame, on_conn_close, h) < 0) {
		evb_conn_close(c);
		return;
	}
	h->conns[h->nconns++] = c;
	EVB_LOG(LOG_INFO, "daemon", "'%s' connected", evb_conn_name(c));
}

static void finish(struct hume *h)
{
	struct evb_events_stats es;

	evb_events_stats(h->events, &es);
	EVB_LOG(LOG_INFO, "daemon", "stopped: %llu calls, %llu audio_input sent, %llu EVI "
		"messages (%llu bad), %llu frames toward callers (%llu dropped), %llu reconnects, "
		"%llu events (%llu acked)",
		(unsigned long long)h->st.calls, (unsigned long long)h->st.audio_sent,
		(unsigned long long)h->st.evi_messages, (unsigned long long)h->st.evi_bad,
		(unsigned long long)h->st.down_frames, (unsigned long long)h->st.down_dropped,
		(unsigned long long)h->st.reconnects, (unsigned long long)es.queued,
		(unsigned long long)es.acked);
	uv_timer_stop(&h->tick);
	uv_close((uv_handle_t *)&h->tick, NULL);
	auth_free(h->auth);
	h->auth = NULL;
	agents_free(h->agents);
	h->agents = NULL;
	evb_events_free(h->events);
	h->events = NULL;
}

/* Ready once the first token request has ended and the database (if any)
 * is connected, or has had READY_DB_MS to connect: the first calls then
 * get their agents. */
static void maybe_ready(struct hume *h)
{
	if (h->ready || !h->auth_done || h->stopping)
		return;
	if (h->agents && !agents_up(h->agents) && uv_now(h->loop) - h->started_ms < READY_DB_MS)
		return;
	h->ready = 1;
	EVB_LOG(LOG_INFO, "daemon", "ready");
	evb_notify_ready();
}

static void on_tick(uv_timer_t *t)
{
	struct hume *h = t->data;
	uint64_t now = uv_now(h->loop);

	maybe_ready(h);
	call_tick_all(h, now);
	if (h->stopping == 1 &&
	    ((call_open_sockets(h) == 0 &&
	      (!evb_events_connected(h->events) || evb_events_pending(h->events) == 0)) ||
	     now >= stop_deadline)) {
		h->stopping = 2;
		finish(h);
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct hume *h = s->data;

	EVB_LOG(LOG_INFO, "daemon", "signal %d: stopping", signum);
	if (h->stopping)
		return;
	h->stopping = 1;
	stop_deadline = uv_now(h->loop) + STOP_WAIT_MS;
	evb_listener_close(h->lis);
	h->lis = NULL;
	hume_metrics_stop(h);
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&h->sig[i], NULL);
	call_end_all(h);
	while (h->nconns)
		evb_conn_close(h->conns[--h->nconns]);
}

static void on_auth_ready(void *arg)
{
	struct hume *h = arg;

	h->auth_done = 1;
	maybe_ready(h);
}

int hume_daemon(const struct evb_cfg *cfg, const struct hume_opts *o)
{
	static struct hume h;
	const char *run = evb_cfg_get(cfg, "EVB_RUN_DIR");
	const char *secret = evb_cfg_get(cfg, "HUME_SECRET_KEY");
	const char *base = evb_cfg_get(cfg, "HUME_API_BASE");
	const char *db = evb_cfg_get(cfg, "DATABASE_URL");
	const char *ca = evb_cfg_get(cfg, "EVB_CA_FILE");
	char lpath[PATH_MAX], epath[PATH_MAX], err[512];
	int e, rc = 111;

	signal(SIGPIPE, SIG_IGN);
	h.o = *o;
	h.loop = uv_default_loop();
	h.started_ms = uv_now(h.loop);
	h.evi_url = evb_cfg_get(cfg, "HUME_EVI_URL");
	h.config_id = evb_cfg_get(cfg, "HUME_CONFIG_ID");
	h.api_key = evb_cfg_get(cfg, "HUME_API_KEY");
	h.hume_rate = (uint32_t)evb_cfg_get_int(cfg, "EVB_HUME_RATE", 0);
	if (strncmp(h.evi_url, "wss:", 4) == 0 || (secret && strncmp(base, "https:", 6) == 0)) {
		h.tls = evb_tls_client_config_new(ca, 0, err, sizeof(err));
		if (!h.tls) {
			EVB_LOG(LOG_ERR, "daemon", "EVB_CA_FILE: %s", err);
			return 100;
		}
	}
	if ((e = evb_mkdir_p(run)) < 0) {
		EVB_LOG(LOG_ERR, "daemon", "unable to create '%s': %s", run, evb_strerror(e));
		goto out;
	}
	snprintf(lpath, sizeof(lpath), "%s/hume.sock", run);
	snprintf(epath, sizeof(epath), "%s/logger.sock", run);
	if (!(h.calls = evb_callmap_new()) ||
	    !(h.events = evb_events_new(h.loop, epath, 0, 0))) {
		EVB_LOG(LOG_ERR, "daemon", "unable to start: %s", strerror(errno));
		goto out;
	}
	if (db && !(h.agents = agents_new(h.loop, db, o->agent_ttl_s * 1000))) {
		EVB_LOG(LOG_ERR, "daemon", "unable to start the agent lookups: %s", strerror(errno));
		goto out;
	}
	h.lis = evb_listen_unix(h.loop, lpath, 128, on_accept, &h);
	if (!h.lis) {
		EVB_LOG(LOG_ERR, "daemon", "unable to listen on '%s': %s", lpath, strerror(errno));
		rc = errno == ENAMETOOLONG || errno == EEXIST ? 100 : 111;
		goto out;
	}
	uv_timer_init(h.loop, &h.tick);
	h.tick.data = &h;
	uv_timer_start(&h.tick, on_tick, HUME_TICK_MS, HUME_TICK_MS);
	for (int i = 0; i < 2; i++) {
		uv_signal_init(h.loop, &h.sig[i]);
		h.sig[i].data = &h;
		uv_signal_start(&h.sig[i], on_signal, i ? SIGINT : SIGTERM);
	}
	EVB_LOG(LOG_INFO, "daemon", "listening on '%s'; EVI at %s (%s)%s", lpath, h.evi_url,
		secret ? "access tokens" : "API key", h.agents ? "; agents from the database" : "");
	hume_metrics_start(&h, run);
	h.auth = auth_new(h.loop, base, h.api_key, secret, h.tls, on_auth_ready, &h);
	if (!h.auth) {
		EVB_LOG(LOG_ERR, "daemon", "unable to start: %s", strerror(errno));
		raise(SIGTERM);
	}
	uv_run(h.loop, UV_RUN_DEFAULT);
	rc = 0;
out:
	if (h.stopping < 2) {
		/* Failed start: release what was made, then let the loop close it. */
		if (h.lis)
			evb_listener_close(h.lis);
		hume_metrics_stop(&h);
		auth_free(h.auth);
		agents_free(h.agents);
		evb_events_free(h.events);
		uv_run(h.loop, UV_RUN_DEFAULT);
	}
	if (h.calls) {
		call_free_all(&h);
		evb_callmap_free(h.calls);
	}
	uv_loop_close(h.loop);
	hume_metrics_free(&h);
	free(h.conns);
	evb_tls_config_free(h.tls);
	return rc;
}
