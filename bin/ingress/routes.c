/* The HTTP side: routing (with the original app's paths as aliases),
 * signature checks shared by the webhooks, refusals, and /healthz. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_callmap.h"
#include "evb_log.h"
#include "evb_twilio.h"
#include "evb_url.h"
#include "evb_vonage.h"
#include "evb_replay.h"
#include "ingress.h"

static const uint8_t no_call[EVB_CALLID_LEN];

/* The URL the provider asked for: the public origin plus the request
 * target, with the base path put back if a proxy took it off. */
static void requested_url(struct ing *d, struct evb_http_req *req, const char *origin,
			  char *out, size_t cap)
{
	const char *target = evb_http_req_url(req);
	size_t pl = strlen(d->prefix);
	int has_prefix = pl == 0 || (strncmp(target, d->prefix, pl) == 0 &&
				     (target[pl] == '/' || target[pl] == '?' || !target[pl]));

	snprintf(out, cap, "%s%s%s", origin, has_prefix ? "" : d->prefix, target);
}

int ing_twilio_sig_ok(struct ing *d, struct evb_http_req *req, const struct evb_params *form,
		      int ws)
{
	const char *sig = evb_http_req_header(req, "X-Twilio-Signature");
	size_t cap = strlen(evb_http_req_url(req)) + sizeof(d->base) + 8, blen;
	const uint8_t *body = evb_http_req_body(req, &blen);
	char *url = malloc(cap);
	int ok = 0;

	if (!url || !d->twilio_token || !sig) {
		free(url);
		return 0;
	}
	/* Media sockets: the wss:// URL as written in the TwiML; the https://
	 * spelling of it is accepted too (what Twilio signs there is not
	 * documented). */
	requested_url(d, req, ws ? d->ws_origin : d->origin, url, cap);
	ok = evb_twilio_check_signature(d->twilio_token, url, form, body, blen, sig);
	if (!ok && ws) {
		requested_url(d, req, d->origin, url, cap);
		ok = evb_twilio_check_signature(d->twilio_token, url, NULL, body, blen, sig);
	}
	free(url);
	return ok;
}

int ing_vonage_sig_ok(struct ing *d, struct evb_http_req *req)
{
	size_t blen;
	const uint8_t *body = evb_http_req_body(req, &blen);
	char err[160];

	char jti[128];
	int64_t until, now = ing_unix_now();
	int r;

	if (!d->vonage_secret)
		return 1;
	if (evb_vonage_jwt_check_jti(evb_http_req_header(req, "Authorization"), d->vonage_secret,
				     body, blen, now, jti, sizeof(jti), &until, err,
				     sizeof(err)) < 0) {
		EVB_LOG(LOG_WARNING, "vonage", "signed webhook refused: %s", err);
		return 0;
	}
	/* An exact replay (same JWT, same body) passes the check above: each
	 * jti is accepted once while its token is valid. */
	if (!jti[0]) {
		EVB_LOG(LOG_WARNING, "vonage", "signed webhook refused: JWT without a usable jti");
		return 0;
	}
	if ((r = evb_replay_use(d->jtis, jti, until, now)) == 0)
		return 1;
	EVB_LOG(LOG_WARNING, "vonage", "signed webhook refused: %s",
		r == -EEXIST ? "a replay (jti already used)"
			     : "too many signed webhooks in an hour to tell a replay");
	return 0;
}

void ing_refuse(struct ing *d, struct evb_http_req *req, int provider, const char *code,
		const char *why, const struct call *c)
{
	json_t *ev = evb_event_new("error", c ? c->id : no_call, prov_name(provider));

	if (strcmp(code, "bad_signature") == 0)
		d->st.bad_signatures++;
	EVB_LOG(LOG_WARNING, "http", "%s%srefused %s %s from '%s': %s", c ? "call=" : "",
		c ? c->idstr : "", evb_http_req_method(req), evb_http_req_path(req),
		evb_http_req_peer(req), why);
	if (ev) {
		json_object_set_new(ev, "code", json_string(code));
		json_object_set_new(ev, "message", json_string(why));
		json_object_set_new(ev, "path", json_string(evb_http_req_path(req)));
		ing_event(d, ev);
	}
	evb_http_respond_error(req, 403, code, why);
}

static int live_cb(const uint8_t *id, void *v, void *arg)
{
	(void)id;
	if (((struct call *)v)->state != C_ENDED)
		(*(json_int_t *)arg)++;
	return 0;
}

static void healthz(struct ing *d, struct evb_http_req *req)
{
	json_int_t active = 0;
	const struct ing_stats *s = &d->st;
	struct evb_events_stats es = { 0 };
	json_t *j;
	char *out;

	if (d->ev)
		evb_events_stats(d->ev, &es);
	evb_callmap_each(d->calls, live_cb, &active);
	j = json_pack("{s:s,s:I,s:I,s:b,s:b,s:I}", "status", d->stopping ? "draining" : "ok",
		      "calls", active, "streams",
		      (json_int_t)d->nstreams, "transcode",
		      d->xc && evb_link_conn(d->xc) != NULL, "logger",
		      d->ev && evb_events_connected(d->ev), "events_pending",
		      (json_int_t)es.pending);
#define C(name) json_object_set_new(j, #name, json_integer((json_int_t)s->name))
	if (j) {
		C(webhooks);
		json_object_set_new(j, "calls_total", json_integer((json_int_t)s->calls));
		C(frames_in);
		C(frames_up);
		C(frames_up_dropped);
		C(frames_out);
		C(frames_down_dropped);
		C(underruns);
		C(interruptions);
		C(bad_inputs);
		C(bad_signatures);
		C(bad_tokens);
		C(reframed);
		C(marks_sent);
		C(marks_played);
		C(marks_cleared);
		C(dtmf);
		json_object_set_new(j, "streams_total", json_integer((json_int_t)s->streams));
		C(reconnects);
		json_object_set_new(j, "down_latency_ms",
				    json_real(s->lat_n ? (double)s->lat_sum_ns / s->lat_n / 1e6 : 0));
	}
#undef C
	out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (out)
		evb_http_respond(req, 200, "application/json", out, strlen(out));
	else
		evb_http_respond_error(req, 500, NULL, "out of memory");
	free(out);
}

int ing_safe_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

int ing_method_ok(struct evb_http_req *req)
{
	const char *m = evb_http_req_method(req);

	if (strcmp(m, "POST") == 0 || strcmp(m, "GET") == 0)
		return 1;
	evb_http_req_add_header(req, "Allow", "GET, POST");
	evb_http_respond_error(req, 405, NULL, "method not allowed");
	return 0;
}

static void websocket(struct ing *d, struct evb_http_req *req, int provider, const char *id,
		      int legacy)
{
	if (!evb_http_req_is_websocket(req)) {
		evb_http_req_add_header(req, "Upgrade", "websocket");
		evb_http_respond_error(req, 426, "upgrade_required",
				       "this is a media WebSocket endpoint");
		return;
	}
	if (id && !ing_safe_id(id)) {
		evb_http_respond_error(req, 404, NULL, "no such stream");
		return;
	}
	if (provider == PROV_TWILIO && !ing_twilio_sig_ok(d, req, NULL, 1)) {
		ing_refuse(d, req, provider, "bad_signature",
			   d->twilio_token ? "missing or bad X-Twilio-Signature"
					   : "TWILIO_AUTH_TOKEN is not configured", NULL);
		return;
	}
	media_accept(d, req, provider, id, legacy);
}

static const char *after(const char *path, const char *pfx)
{
	size_t n = strlen(pfx);

	return strncmp(path, pfx, n) == 0 ? path + n : NULL;
}

void ing_on_request(struct evb_http_req *req, void *arg)
{
	struct ing *d = arg;
	const char *raw = evb_http_req_path(req), *id;
	size_t pl = strlen(d->prefix), n;
	char path[256];

	if (pl && strncmp(raw, d->prefix, pl) == 0 && raw[pl] == '/')
		raw += pl;
	n = strlen(raw);
	if (n >= sizeof(path)) {
		evb_http_respond_error(req, 404, NULL, "no such path");
		return;
	}
	memcpy(path, raw, n + 1);
	if (n > 1 && path[n - 1] == '/')
		path[n - 1] = '\0'; /* the original app's paths end with '/' */
	if (strcmp(path, "/healthz") == 0)
		healthz(d, req);
	else if (strcmp(path, "/twilio/voice") == 0)
		tw_voice(d, req, 0);
	else if (strcmp(path, "/api/hume-twilio/voice-webhook") == 0 ||
		 strcmp(path, "/api/hume-twilio/voice-webhook-fixed") == 0)
		tw_voice(d, req, 1);
	else if (strcmp(path, "/twilio/status") == 0 ||
		 strcmp(path, "/api/hume-twilio/status-callback") == 0)
		tw_status(d, req);
	else if (strcmp(path, "/twilio/stream-ended") == 0)
		tw_stream_ended(d, req);
	else if (strcmp(path, "/twilio/stream") == 0)
		websocket(d, req, PROV_TWILIO, NULL, 0);
	else if ((id = after(path, "/ws/hume-twilio/stream/")))
		websocket(d, req, PROV_TWILIO, id, 1);
	else if (strcmp(path, "/vonage/answer") == 0)
		vg_answer(d, req, 0);
	else if (strcmp(path, "/api/hume-twilio/vonage-voice-webhook") == 0 ||
		 strcmp(path, "/api/hume-twilio/vonage-outgoing-answer") == 0)
		vg_answer(d, req, 1);
	else if (strcmp(path, "/vonage/event") == 0 ||
		 strcmp(path, "/api/hume-twilio/vonage-event-callback") == 0)
		vg_event(d, req);
	else if (strcmp(path, "/vonage/ws-event") == 0)
		vg_ws_event(d, req);
	else if ((id = after(path, "/vonage/stream/")))
		websocket(d, req, PROV_VONAGE, id, 0);
	else if ((id = after(path, "/ws/vonage-stream/")))
		websocket(d, req, PROV_VONAGE, id, 1);
	else
		evb_http_respond_error(req, 404, NULL, "no such path");
}
