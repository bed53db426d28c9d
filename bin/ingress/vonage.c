/* Vonage: the answer webhook (an NCCO connecting to our media WebSocket),
 * the event webhook, the connect action's eventUrl (hang up or reconnect
 * when the WebSocket leg ends), and the media stream's messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_url.h"
#include "evb_vonage.h"
#include "ingress.h"

/* The JSON object of a POST body, or NULL (400 answered). */
static json_t *json_body(struct evb_http_req *req)
{
	size_t len;
	const uint8_t *b = evb_http_req_body(req, &len);
	json_t *j = json_loadb((const char *)b, len, 0, NULL);

	if (json_is_object(j))
		return j;
	json_decref(j);
	evb_http_respond_error(req, 400, NULL, "expected a JSON object");
	return NULL;
}

/* The NCCO connecting c to a media socket, with a fresh token. */
static char *ncco(struct ing *d, struct call *c)
{
	char tok[EVB_MTOKEN_MAX], uri[URL_MAX], ev[URL_MAX];
	json_t *h;
	char *s;

	if (call_mint_token(d, c, tok) < 0)
		return NULL;
	if (c->legacy && ing_safe_id(c->pcid))
		snprintf(uri, sizeof(uri), "%s/ws/vonage-stream/%s", d->ws_base, c->pcid);
	else
		snprintf(uri, sizeof(uri), "%s/vonage/stream/%s", d->ws_base, c->idstr);
	snprintf(ev, sizeof(ev), "%s/vonage/ws-event?call_id=%s", d->base, c->idstr);
	h = json_pack("{s:s,s:s,s:s}", "token", tok, "call_id", c->idstr, "uuid", c->pcid);
	s = h ? evb_vonage_ncco_connect(uri, (int)c->rate, ev, h) : NULL;
	json_decref(h);
	return s;
}

static void respond_json(struct evb_http_req *req, char *s)
{
	if (s)
		evb_http_respond(req, 200, "application/json", s, strlen(s));
	else
		evb_http_respond_error(req, 500, NULL, "out of memory");
	free(s);
}

void vg_answer(struct ing *d, struct evb_http_req *req, int legacy)
{
	const char *query = evb_http_req_query(req), *uuid, *qid;
	struct evb_params *q = evb_params_parse(query, strlen(query));
	json_t *body = NULL;
	struct call *c;

	if (!ing_method_ok(req))
		goto out;
	d->st.webhooks++;
	if (!ing_vonage_sig_ok(d, req)) {
		ing_refuse(d, req, PROV_VONAGE, "bad_signature", "bad or missing signed-webhook JWT",
			   NULL);
		goto out;
	}
	if (!q) {
		evb_http_respond_error(req, 400, NULL, "malformed query");
		goto out;
	}
	if (strcmp(evb_http_req_method(req), "POST") == 0 && !(body = json_body(req)))
		goto out;
#define FIELD(k) (body ? json_string_value(json_object_get(body, k)) : evb_params_get(q, k))
	uuid = FIELD("uuid");
	qid = evb_params_get(q, "call_id");
	if (!uuid || !*uuid || strlen(uuid) >= sizeof(c->pcid)) {
		evb_http_respond_error(req, 400, NULL, "no uuid");
		goto out;
	}
	c = call_find_pcid(d, PROV_VONAGE, uuid);
	if (c && c->state == C_ENDED) {
		respond_json(req, strdup("[]"));
		goto out;
	}
	if (!c) {
		uint8_t tmp[EVB_CALLID_LEN];

		if (qid && (evb_callid_parse(qid, tmp) < 0 || call_find(d, qid)))
			qid = NULL;
		if (!(c = call_new(d, PROV_VONAGE, qid, uuid))) {
			evb_http_respond_error(req, 500, NULL, "unable to create the call");
			goto out;
		}
		c->outbound = qid != NULL;
		c->legacy = legacy;
		ing_copy(c->from, sizeof(c->from), FIELD("from"));
		ing_copy(c->to, sizeof(c->to), FIELD("to"));
		ing_copy(c->conv, sizeof(c->conv), FIELD("conversation_uuid"));
		call_params(c, q);
		EVB_LOG(LOG_INFO, "vonage", "call=%s answer webhook for uuid %s (%s)", c->idstr,
			uuid, c->outbound ? "outbound" : "inbound");
		call_prepare(d, c, 0);
	}
#undef FIELD
	respond_json(req, ncco(d, c));
out:
	json_decref(body);
	evb_params_free(q);
}

/* The common start of an event webhook: GET or POST, a valid signature,
 * the query in *q, and the event as a JSON object (the body of a POST,
 * the query of a GET), which is returned; NULL once answered. The caller
 * frees *q either way. */
static json_t *event_begin(struct ing *d, struct evb_http_req *req, struct evb_params **q)
{
	const char *query = evb_http_req_query(req);
	json_t *j;

	if (!ing_method_ok(req))
		return NULL;
	d->st.webhooks++;
	*q = evb_params_parse(query, strlen(query));
	if (!ing_vonage_sig_ok(d, req)) {
		ing_refuse(d, req, PROV_VONAGE, "bad_signature", "bad or missing signed-webhook JWT",
			   NULL);
		return NULL;
	}
	if (strcmp(evb_http_req_method(req), "POST") == 0)
		return json_body(req);
	j = json_object();
	for (size_t i = 0; j && *q && i < evb_params_count(*q); i++)
		json_object_set_new(j, evb_params_name(*q, i), json_string(evb_params_value(*q, i)));
	if (!j)
		evb_http_respond_error(req, 500, NULL, "out of memory");
	return j;
}

void vg_event(struct ing *d, struct evb_http_req *req)
{
	struct evb_params *q = NULL;
	struct evb_vonage_status e;
	json_t *body;
	struct call *c;

	if (!(body = event_begin(d, req, &q)))
		goto out;
	if (evb_vonage_event_read(body, &e) < 0 || strlen(e.status) > 31) {
		/* record, input, transfer... events have no status: fine */
		evb_http_respond(req, 204, NULL, NULL, 0);
		goto out;
	}
	c = call_find_pcid(d, PROV_VONAGE, e.uuid);
	if (!c)
		c = call_find(d, q ? evb_params_get(q, "call_id") : NULL);
	if (!c) {
		EVB_LOG(LOG_INFO, "vonage", "event '%s' for a call we do not know", e.status);
		evb_http_respond(req, 204, NULL, NULL, 0);
		goto out;
	}
	if (!evb_vonage_status_known(e.status))
		EVB_LOG(LOG_INFO, "vonage", "call=%s unknown status '%s'", c->idstr, e.status);
	else
		EVB_LOG(LOG_INFO, "vonage", "call=%s status '%s'", c->idstr, e.status);
	call_status(d, c, e.status, e.duration_s);
	if (evb_vonage_status_final(e.status))
		call_end(d, c, "provider-status");
	evb_http_respond(req, 204, NULL, NULL, 0);
out:
	json_decref(body);
	evb_params_free(q);
}

void vg_ws_event(struct ing *d, struct evb_http_req *req)
{
	struct evb_params *q = NULL;
	struct evb_vonage_status e;
	uint8_t tmp[EVB_CALLID_LEN];
	const char *qid;
	json_t *body;
	struct call *c;

	if (!(body = event_begin(d, req, &q)))
		goto out;
	qid = q ? evb_params_get(q, "call_id") : NULL;
	c = call_find(d, qid);
	if (evb_vonage_event_read(body, &e) < 0 ||
	    (strcmp(e.status, "disconnected") != 0 && strcmp(e.status, "failed") != 0 &&
	     strcmp(e.status, "unanswered") != 0)) {
		evb_http_respond(req, 204, NULL, NULL, 0);
		goto out;
	}
	if (!c && strcmp(e.status, "disconnected") == 0 && e.uuid && *e.uuid &&
	    !call_find_pcid(d, PROV_VONAGE, e.uuid) &&
	    evb_callid_parse(qid ? qid : "", tmp) == 0 && strlen(e.uuid) < sizeof(c->pcid) &&
	    (c = call_new(d, PROV_VONAGE, qid, e.uuid))) {
		/* A call we do not know whose websocket was live: we were
		 * restarted during it. It started before, so no second
		 * call.started; call.prepare is a resend. */
		c->outbound = e.direction && strcmp(e.direction, "outbound") == 0;
		ing_copy(c->conv, sizeof(c->conv), e.conversation_uuid);
		c->streams = 1;
		EVB_LOG(LOG_INFO, "vonage", "call=%s websocket disconnected from a call in progress "
			"before a restart", c->idstr);
		call_prepare(d, c, 1);
	}
	if (!c) {
		evb_http_respond(req, 204, NULL, NULL, 0);
		goto out;
	}
	/* The WebSocket leg is gone. Ended on purpose: nothing more, the call
	 * completes. Otherwise the bridge lost it: connect again. */
	if (c->state == C_ENDED) {
		EVB_LOG(LOG_INFO, "vonage", "call=%s websocket %s: call over", c->idstr, e.status);
		evb_http_respond(req, 204, NULL, NULL, 0);
		goto out;
	}
	EVB_LOG(LOG_INFO, "vonage", "call=%s websocket %s: reconnecting", c->idstr, e.status);
	respond_json(req, ncco(d, c));
out:
	json_decref(body);
	evb_params_free(q);
}

/* ---- the media stream ---- */

static void connected(struct stream *s, const struct evb_vonage_msg *m)
{
	const char *call_id = evb_vonage_msg_header(m, "call_id");
	const char *uuid = evb_vonage_msg_header(m, "uuid");

	if (s->started) {
		media_bad(s, "a second websocket:connected", NULL, 1008);
		return;
	}
	if (evb_vonage_rate(m->content_type) != 16000) {
		media_bad(s, "unsupported content-type", m->content_type, 1008);
		return;
	}
	if (s->path_id[0] && !evb_ct_streq(s->path_id, s->legacy ? uuid : call_id)) {
		media_bad(s, "websocket:connected names another call than the path", NULL, 1008);
		return;
	}
	media_attach(s, call_id, uuid, evb_vonage_msg_header(m, "token"), NULL);
}

void vg_message(struct stream *s, int kind, const uint8_t *data, size_t len)
{
	uint64_t now = evb_now_ns();
	struct evb_vonage_msg m;
	char err[160];

	if (kind == EVB_WS_BINARY) {
		if (!s->started)
			media_bad(s, "audio before websocket:connected", NULL, 1008);
		else
			media_audio(s, data, len, -1, now);
		return;
	}
	if (evb_vonage_msg_parse(data, len, &m, err, sizeof(err)) < 0) {
		/* Text frames are events, never audio (audio is binary). */
		media_bad(s, "a text frame that is not a JSON event", err, 0);
		return;
	}
	switch (m.event) {
	case EVB_VONAGE_CONNECTED:
		connected(s, &m);
		break;
	case EVB_VONAGE_DTMF:
		if (s->started)
			media_dtmf(s, m.digit, m.duration_ms);
		else
			media_bad(s, "dtmf before websocket:connected", NULL, 0);
		break;
	case EVB_VONAGE_NOTIFY:
		if (s->call)
			play_mark_echo(s->d, s->call,
				       json_string_value(json_object_get(m.payload, "mark")));
		break;
	case EVB_VONAGE_CLEARED:
		EVB_LOG(LOG_DEBUG, "vonage", "call=%s playback cleared",
			s->call ? s->call->idstr : "-");
		break;
	default:
		media_bad(s, "unknown event", m.name, 0);
	}
	evb_vonage_msg_release(&m);
}
