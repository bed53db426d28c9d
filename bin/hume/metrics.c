/* evb-hume's metrics on EVB_RUN_DIR/hume.metrics (lib/evb_stats): its own
 * counters, read as they are, and the number of calls. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "evb_callmap.h"
#include "evb_log.h"
#include "evb_stats.h"
#include "hume.h"

static void render(struct evb_stats *s, void *arg)
{
	struct hume *h = arg;
	(void)s;
	evb_metric_set(h->m_calls, (double)evb_callmap_count(h->calls));
	evb_metric_set(h->m_sockets, (double)call_open_sockets(h));
}

void hume_metrics_start(struct hume *h, const char *run)
{
	static const struct {
		const char *name, *labels, *help;
		size_t off;
	} counters[] = {
#define C(n, l, hp, f) { n, l, hp, offsetof(struct hume_stats, f) }
		C("evb_hume_calls_total", NULL, "Calls bridged to EVI.", calls),
		C("evb_hume_audio_frames_total", "state=\"in\"", "Caller audio frames.", audio_in),
		C("evb_hume_audio_frames_total", "state=\"sent\"", "Caller audio frames.",
		  audio_sent),
		C("evb_hume_audio_send_dropped_total", NULL,
		  "audio_input messages EVI's socket could not take.", audio_send_dropped),
		C("evb_hume_audio_held_dropped_ms_total", NULL,
		  "Caller audio (ms) dropped while a chat was not open, beyond the hold.",
		  audio_held_dropped_ms),
		C("evb_hume_down_frames_total", NULL, "Frames sent toward the caller.", down_frames),
		C("evb_hume_down_dropped_total", NULL, "Frames toward the caller dropped.",
		  down_dropped),
		C("evb_hume_evi_messages_total", NULL, "Messages received from EVI.", evi_messages),
		C("evb_hume_evi_bad_total", NULL, "EVI messages refused (bad JSON, WAV, base64).",
		  evi_bad),
		C("evb_hume_evi_reconnects_total", NULL, "EVI chats resumed.", reconnects),
#undef C
	};
	struct evb_stats *s = evb_stats_new();
	char path[PATH_MAX];

	if (!s)
		return;
	h->stats = s;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		evb_stats_counter_of(s, counters[i].name, counters[i].labels, counters[i].help,
				     (const uint64_t *)((const char *)&h->st + counters[i].off));
	h->m_calls = evb_stats_gauge(s, "evb_hume_calls_active", NULL, "Calls with state.");
	h->m_sockets = evb_stats_gauge(s, "evb_hume_evi_sockets", NULL,
				       "Open EVI chat WebSockets.");
	h->m_lat_up = evb_stats_histogram(s, "evb_hop_latency_seconds",
					  "hop=\"hume\",direction=\"up\"",
					  "From capture to leaving this hop.", evb_stats_latency_bounds,
					  evb_stats_latency_nbounds);
	evb_stats_on_render(s, render, h);
	snprintf(path, sizeof(path), "%s/hume%s", run, EVB_STATS_SUFFIX);
	if (!(h->stats_srv = evb_stats_serve(h->loop, s, path)))
		EVB_LOG(LOG_WARNING, "daemon", "no metrics socket at '%s': %s", path,
			strerror(errno));
}

void hume_metrics_stop(struct hume *h)
{
	if (h->stats_srv)
		evb_stats_server_close(h->stats_srv);
	h->stats_srv = NULL;
}

void hume_metrics_free(struct hume *h)
{
	hume_metrics_stop(h);
	evb_stats_free(h->stats);
	h->stats = NULL;
}
