/* Twilio: the voice webhook (TwiML <Connect><Stream>), the status
 * callback, the <Connect action> asked when a stream ends (hang up or
 * reconnect), and the media stream's JSON messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_twilio.h"
#include "evb_url.h"
#include "ingress.h"

/* The common start of a webhook: GET or POST, its parameters (the form
 * body of a POST, the query of a GET) in *f and its query in *q (call_id,
 * agent...), a valid signature. Returns 0, or -1 once answered; the
 * caller frees *f and *q either way. */
static int begin(struct ing *d, struct evb_http_req *req, struct evb_params **f,
		 struct evb_params **q)
{
	const char *query = evb_http_req_query(req);
	const char *ct = evb_http_req_header(req, "Content-Type");
	int post = strcmp(evb_http_req_method(req), "POST") == 0;
	size_t blen;
	const uint8_t *body = evb_http_req_body(req, &blen);

	if (!ing_method_ok(req))
		return -1;
	d->st.webhooks++;
	*q = evb_params_parse(query, strlen(query));
	if (!post)
		*f = evb_params_parse(query, strlen(query));
	else if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		*f = evb_params_new();
	else
		*f = evb_params_parse((const char *)body, blen);
	if (!*f || !*q) {
		evb_http_respond_error(req, 400, NULL, "malformed parameters");
		return -1;
	}
	if (!ing_twilio_sig_ok(d, req, post ? *f : NULL, 0)) {
		ing_refuse(d, req, PROV_TWILIO, "bad_signature",
			   d->twilio_token ? "missing or bad X-Twilio-Signature"
					   : "TWILIO_AUTH_TOKEN is not configured", NULL);
		return -1;
	}
	return 0;
}

static void respond_xml(struct evb_http_req *req, char *xml)
{
	if (xml)
		evb_http_respond(req, 200, "text/xml", xml, strlen(xml));
	else
		evb_http_respond_error(req, 500, NULL, "out of memory");
	free(xml);
}

/* Twilio's connection overrides on the URLs Twilio asks after a stream
 * ended: evb-ingress may be restarting (kill -9, then evb-supervise starts
 * it again within a second), so connection failures are retried five times
 * instead of once. Twilio does not send the fragment. */
#define RETRIES "#rc=5&rp=ct"

/* <Connect><Stream> for c, with a fresh media token. */
static char *connect_twiml(struct ing *d, struct call *c)
{
	char tok[EVB_MTOKEN_MAX], url[URL_MAX], action[URL_MAX];
	struct evb_twiml_param p[2] = { { "token", tok }, { "call_id", c->idstr } };

	if (call_mint_token(d, c, tok) < 0)
		return NULL;
	/* No query string in the stream URL: Twilio refuses it (error 31922). */
	if (c->legacy && ing_safe_id(c->pcid))
		snprintf(url, sizeof(url), "%s/ws/hume-twilio/stream/%s", d->ws_base, c->pcid);
	else
		snprintf(url, sizeof(url), "%s/twilio/stream", d->ws_base);
	snprintf(action, sizeof(action), "%s/twilio/stream-ended?call_id=%s" RETRIES, d->base,
		 c->idstr);
	return evb_twiml_connect(url, action, p, 2);
}

void tw_voice(struct ing *d, struct evb_http_req *req, int legacy)
{
	struct evb_params *q = NULL, *f = NULL;
	const char *sid, *qid, *dir;
	struct call *c;
	int again;

	if (begin(d, req, &f, &q) < 0)
		goto out;
	sid = evb_params_get(f, "CallSid");
	qid = evb_params_get(q, "call_id");
	if (!sid || !*sid || strlen(sid) >= sizeof(c->pcid)) {
		evb_http_respond_error(req, 400, NULL, "no CallSid");
		goto out;
	}
	c = call_find_pcid(d, PROV_TWILIO, sid);
	if (!c && qid && (c = call_find(d, qid)) && strcmp(c->pcid, sid) != 0) {
		EVB_LOG(LOG_WARNING, "twilio", "call=%s belongs to another CallSid: a new id is "
			"used", c->idstr);
		c = NULL;
		qid = NULL;
	}
	if (c && c->state == C_ENDED) {
		respond_xml(req, evb_twiml_hangup());
		goto out;
	}
	if (!c) {
		uint8_t tmp[EVB_CALLID_LEN];

		if (qid && evb_callid_parse(qid, tmp) < 0)
			qid = NULL;
		if (!(c = call_new(d, PROV_TWILIO, qid, sid))) {
			evb_http_respond_error(req, 500, NULL, "unable to create the call");
			goto out;
		}
		dir = evb_params_get(f, "Direction");
		/* Redirected here by /twilio/stream-ended for a call we do not
		 * know: we were restarted during it. It started before, so no
		 * second call.started, and call.prepare is a resend. */
		again = qid && evb_params_get(q, "reconnect");
		c->outbound = (qid && !again) || (dir && strncmp(dir, "outbound", 8) == 0);
		c->legacy = legacy;
		ing_copy(c->from, sizeof(c->from), evb_params_get(f, "From"));
		ing_copy(c->to, sizeof(c->to), evb_params_get(f, "To"));
		call_params(c, q);
		EVB_LOG(LOG_INFO, "twilio", "call=%s voice webhook for CallSid %s (%s)%s", c->idstr,
			sid, c->outbound ? "outbound" : "inbound",
			again ? ": a call in progress before a restart" : "");
		if (again)
			c->streams = 1;
		call_prepare(d, c, again);
	} else {
		EVB_LOG(LOG_INFO, "twilio", "call=%s voice webhook again: new media token",
			c->idstr);
	}
	respond_xml(req, connect_twiml(d, c));
out:
	evb_params_free(f);
	evb_params_free(q);
}

static int final_status(const char *s)
{
	return strcmp(s, "completed") == 0 || strcmp(s, "busy") == 0 || strcmp(s, "failed") == 0 ||
	       strcmp(s, "no-answer") == 0 || strcmp(s, "canceled") == 0;
}

static struct call *find(struct ing *d, const struct evb_params *f, const struct evb_params *q)
{
	struct call *c = call_find_pcid(d, PROV_TWILIO, evb_params_get(f, "CallSid"));

	return c ? c : call_find(d, evb_params_get(q, "call_id"));
}

void tw_status(struct ing *d, struct evb_http_req *req)
{
	struct evb_params *q = NULL, *f = NULL;
	const char *status, *dur;
	struct call *c;
	long long secs = -1;

	if (begin(d, req, &f, &q) < 0)
		goto out;
	status = evb_params_get(f, "CallStatus");
	if (!status || !*status || strlen(status) > 31) {
		evb_http_respond_error(req, 400, NULL, "no CallStatus");
		goto out;
	}
	if (!(c = find(d, f, q))) {
		EVB_LOG(LOG_INFO, "twilio", "status '%.31s' for a call we do not know", status);
		evb_http_respond(req, 204, NULL, NULL, 0);
		goto out;
	}
	if ((dur = evb_params_get(f, "CallDuration")) && *dur && strlen(dur) < 12 &&
	    strspn(dur, "0123456789") == strlen(dur))
		secs = strtoll(dur, NULL, 10);
	EVB_LOG(LOG_INFO, "twilio", "call=%s status '%s'", c->idstr, status);
	call_status(d, c, status, secs);
	if (final_status(status))
		call_end(d, c, "provider-status");
	evb_http_respond(req, 204, NULL, NULL, 0);
out:
	evb_params_free(f);
	evb_params_free(q);
}

void tw_stream_ended(struct ing *d, struct evb_http_req *req)
{
	struct evb_params *q = NULL, *f = NULL;
	const char *st, *qid;
	struct call *c;
	char url[URL_MAX];

	if (begin(d, req, &f, &q) < 0)
		goto out;
	c = find(d, f, q);
	st = evb_params_get(f, "CallStatus");
	/* Ended on purpose (our hangup, the caller gone): hang up. Otherwise
	 * the bridge lost the stream: back to the voice webhook, which gives
	 * the call a new stream and token under the same id. */
	if ((c && c->state == C_ENDED) || (st && final_status(st))) {
		EVB_LOG(LOG_INFO, "twilio", "call=%s stream ended: hanging up",
			c ? c->idstr : "-");
		respond_xml(req, evb_twiml_hangup());
		goto out;
	}
	qid = c ? c->idstr : evb_params_get(q, "call_id");
	{
		uint8_t tmp[EVB_CALLID_LEN];
		if (qid && evb_callid_parse(qid, tmp) == 0)
			snprintf(url, sizeof(url), "%s/twilio/voice?call_id=%s&reconnect=1" RETRIES,
				 d->base, qid);
		else
			snprintf(url, sizeof(url), "%s/twilio/voice" RETRIES, d->base);
	}
	EVB_LOG(LOG_INFO, "twilio", "call=%s stream ended without a hangup: reconnecting",
		c ? c->idstr : "-");
	respond_xml(req, evb_twiml_redirect(url));
out:
	evb_params_free(f);
	evb_params_free(q);
}

/* ---- the media stream ---- */

static void start(struct stream *s, const struct evb_twilio_msg *m)
{
	if (s->started) {
		media_bad(s, "a second 'start'", NULL, 1008);
		return;
	}
	if (s->path_id[0] && strcmp(s->path_id, m->call_sid) != 0) {
		media_bad(s, "'start' names another call than the stream's path", NULL, 1008);
		return;
	}
	if ((m->encoding && strcmp(m->encoding, "audio/x-mulaw") != 0) ||
	    (m->sample_rate >= 0 && m->sample_rate != 8000) || (m->channels >= 0 && m->channels != 1)) {
		media_bad(s, "unsupported mediaFormat", m->encoding, 1008);
		return;
	}
	if (strlen(m->stream_sid) > 128 || !(s->sid_json = evb_json_quote(m->stream_sid))) {
		media_bad(s, "unusable streamSid", NULL, 1008);
		return;
	}
	media_attach(s, evb_twilio_msg_param(m, "call_id"), m->call_sid,
		     evb_twilio_msg_param(m, "token"), m->stream_sid);
}

void tw_message(struct stream *s, int kind, const uint8_t *data, size_t len)
{
	uint64_t now = evb_now_ns();
	uint8_t buf[EVB_TWILIO_PAYLOAD_MAX];
	struct evb_twilio_msg m;
	char err[160];
	int r;

	if (kind != EVB_WS_TEXT) {
		media_bad(s, "a binary frame (Twilio sends JSON text)", NULL, 1003);
		return;
	}
	r = evb_twilio_msg_parse(data, len, buf, sizeof(buf), &m, err, sizeof(err));
	if (r == -EBADMSG || r == EVB_ETOOBIG) {
		media_bad(s, r == -EBADMSG ? "media payload is not base64" : "media payload too large",
			  NULL, 0);
		return;
	}
	if (r < 0) {
		media_bad(s, "malformed message", err, 0);
		return;
	}
	switch (m.event) {
	case EVB_TWILIO_CONNECTED:
		break;
	case EVB_TWILIO_START:
		start(s, &m);
		break;
	case EVB_TWILIO_MEDIA:
		if (!s->started)
			media_bad(s, "'media' before 'start'", NULL, 1008);
		else if (!m.track || strcmp(m.track, "outbound") != 0)
			media_audio(s, m.payload, m.payload_len, m.timestamp_ms, now);
		break;
	case EVB_TWILIO_DTMF:
		if (!s->started)
			media_bad(s, "'dtmf' before 'start'", NULL, 0);
		else
			media_dtmf(s, m.digit, -1);
		break;
	case EVB_TWILIO_MARK:
		if (s->call)
			play_mark_echo(s->d, s->call, m.mark);
		break;
	case EVB_TWILIO_STOP:
		s->got_stop = 1;
		if (s->call)
			call_end(s->d, s->call, "caller-hangup");
		else
			media_close(s, 1000, "stopped");
		break;
	default:
		media_bad(s, "unknown event", m.name, 0);
	}
	evb_twilio_msg_release(&m);
}
