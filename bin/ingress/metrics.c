/* evb-ingress's metrics on EVB_RUN_DIR/ingress.metrics (lib/evb_stats):
 * its own counters, read as they are, and two gauges. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "evb_callmap.h"
#include "evb_log.h"
#include "evb_stats.h"
#include "ingress.h"

static int count_live(const uint8_t *id, void *v, void *arg)
{
	const struct call *c = v;
	(void)id;
	if (c->state == C_RINGING || c->state == C_LIVE || c->state == C_LOST)
		(*(size_t *)arg)++;
	return 0;
}

static void render(struct evb_stats *s, void *arg)
{
	struct ing *d = arg;
	size_t live = 0;
	(void)s;
	evb_callmap_each(d->calls, count_live, &live);
	evb_metric_set(d->m_calls, (double)live);
	evb_metric_set(d->m_streams, (double)d->nstreams);
}

void ing_metrics_start(struct ing *d)
{
	static const struct {
		const char *name, *labels, *help;
		size_t off;
	} counters[] = {
#define C(n, l, h, f) { n, l, h, offsetof(struct ing_stats, f) }
		C("evb_ingress_calls_total", NULL, "Calls seen (webhooks that started one).", calls),
		C("evb_ingress_webhooks_total", NULL, "Provider webhooks answered.", webhooks),
		C("evb_ingress_frames_total", "direction=\"in\"", "Audio frames.", frames_in),
		C("evb_ingress_frames_total", "direction=\"up\"", "Audio frames.", frames_up),
		C("evb_ingress_frames_total", "direction=\"out\"", "Audio frames.", frames_out),
		C("evb_ingress_dropped_total", "direction=\"up\"",
		  "Frames dropped (evb-transcode away or full, or queue full).", frames_up_dropped),
		C("evb_ingress_dropped_total", "direction=\"down\"",
		  "Frames dropped (evb-transcode away or full, or queue full).",
		  frames_down_dropped),
		C("evb_ingress_playout_underruns_total", NULL,
		  "Ticks where a playing utterance had no frame ready.", underruns),
		C("evb_ingress_interruptions_total", NULL, "Barge-ins: queue emptied, clear sent.",
		  interruptions),
		C("evb_ingress_bad_inputs_total", NULL, "Malformed provider messages.", bad_inputs),
		C("evb_ingress_bad_signatures_total", NULL, "Webhooks or upgrades refused (403).",
		  bad_signatures),
		C("evb_ingress_bad_tokens_total", NULL, "Media sockets refused for their token.",
		  bad_tokens),
		C("evb_ingress_reframed_total", NULL, "Wrong-sized inbound frames re-framed.",
		  reframed),
		C("evb_ingress_marks_total", "state=\"sent\"", "Marks / notifies.", marks_sent),
		C("evb_ingress_marks_total", "state=\"played\"", "Marks / notifies.", marks_played),
		C("evb_ingress_marks_total", "state=\"cleared\"", "Marks / notifies.",
		  marks_cleared),
		C("evb_ingress_dtmf_total", NULL, "Key presses.", dtmf),
		C("evb_ingress_stream_reconnects_total", NULL,
		  "Media streams that came back for a live call.", reconnects),
#undef C
	};
	struct evb_stats *s = evb_stats_new();
	const char *run = evb_cfg_get(d->cfg, "EVB_RUN_DIR");
	char path[PATH_MAX];

	if (!s)
		return;
	d->stats = s;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		evb_stats_counter_of(s, counters[i].name, counters[i].labels, counters[i].help,
				     (const uint64_t *)((const char *)&d->st + counters[i].off));
	d->m_calls = evb_stats_gauge(s, "evb_ingress_calls_active", NULL,
				     "Calls ringing, live or waiting for their stream to return.");
	d->m_streams = evb_stats_gauge(s, "evb_ingress_media_streams", NULL,
				       "Open media WebSockets.");
	d->m_lat_first = evb_stats_histogram(
		s, "evb_hop_latency_seconds", "hop=\"ingress\",direction=\"down_first\"",
		"From capture to leaving this hop (down_first: the first frame of an utterance "
		"that finds nothing queued; up: see evb-hume).", evb_stats_latency_bounds,
		evb_stats_latency_nbounds);
	d->m_interrupt = evb_stats_histogram(
		s, "evb_interrupt_latency_seconds", NULL,
		"From EVI's user_interruption reaching evb-hume to the provider's clear written.",
		evb_stats_latency_bounds, evb_stats_latency_nbounds);
	evb_stats_on_render(s, render, d);
	snprintf(path, sizeof(path), "%s/ingress%s", run, EVB_STATS_SUFFIX);
	if (!(d->stats_srv = evb_stats_serve(d->loop, s, path)))
		EVB_LOG(LOG_WARNING, "ingress", "no metrics socket at '%s': %s", path,
			strerror(errno));
}

void ing_metrics_stop(struct ing *d)
{
	if (d->stats_srv)
		evb_stats_server_close(d->stats_srv);
	d->stats_srv = NULL;
}

void ing_metrics_free(struct ing *d)
{
	ing_metrics_stop(d);
	evb_stats_free(d->stats);
	d->stats = NULL;
}
