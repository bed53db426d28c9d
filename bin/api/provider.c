/* The Twilio and Vonage REST calls evb-api makes (docs/api.md,
 * PROTOCOLS.md sections 3 and 4), and the pacing of call creation. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_url.h"

#define PROVIDER_MAX_BODY (256u * 1024)
#define VONAGE_JWT_TTL_S 900

/* ---- pacing ---- */

static void pace_timer_cb(uv_timer_t *t)
{
	struct provider *p = t->data;
	uint64_t now = uv_now(t->loop);

	while (p->qhead && p->qhead->due_ms <= now) {
		struct job *j = p->qhead;
		p->qhead = j->pnext;
		if (!p->qhead)
			p->qtail = NULL;
		p->queued--;
		j->pacing = 0;
		j->pnext = NULL;
		calls_place(j);
	}
	if (p->qhead)
		uv_timer_start(&p->timer, pace_timer_cb, p->qhead->due_ms - now, 0);
}

void pace_init(struct api *a)
{
	for (int i = 0; i < 2; i++) {
		struct provider *p = &a->prov[i];
		p->api = a;
		p->idx = i;
		uv_timer_init(a->loop, &p->timer);
		p->timer.data = p;
	}
}

void pace_release(struct api *a)
{
	for (int i = 0; i < 2; i++)
		if (!uv_is_closing((uv_handle_t *)&a->prov[i].timer))
			uv_close((uv_handle_t *)&a->prov[i].timer, NULL);
}

int pace_enter(struct job *j, unsigned *retry_s)
{
	struct api *a = j->api;
	struct provider *p = &a->prov[j->provider];
	uint64_t now = uv_now(a->loop), start = p->next_ms > now ? p->next_ms : now;

	if (start - now > a->o.pace_wait_ms) {
		*retry_s = (unsigned)((start - now + 999) / 1000);
		return -1;
	}
	p->next_ms = start + (uint64_t)ceil(1000.0 / p->cps);
	if (start == now)
		return 0;
	j->due_ms = start;
	j->pacing = 1;
	j->pnext = NULL;
	if (p->qtail)
		p->qtail->pnext = j;
	else
		p->qhead = j;
	p->qtail = j;
	p->queued++;
	if (!uv_is_active((uv_handle_t *)&p->timer))
		uv_timer_start(&p->timer, pace_timer_cb, p->qhead->due_ms - now, 0);
	return 1;
}

void pace_leave(struct job *j)
{
	struct provider *p = &j->api->prov[j->provider];
	struct job **pp = &p->qhead, *prev = NULL;

	if (!j->pacing)
		return;
	for (; *pp; prev = *pp, pp = &(*pp)->pnext) {
		if (*pp != j)
			continue;
		*pp = j->pnext;
		if (p->qtail == j)
			p->qtail = prev;
		p->queued--;
		break;
	}
	j->pacing = 0;
}

/* ---- requests ---- */

struct preq {
	struct job *j;
	void (*done)(struct job *j);
	int hangup;
};

/* Cuts a UTF-8 sequence left incomplete at the end of s (by truncation). */
static void utf8_trim(char *s)
{
	size_t n = strlen(s), i = n, need;

	while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (unsigned char)s[i - 1] < 0xc0)
		return;
	need = (unsigned char)s[i - 1] >= 0xf0 ? 4 : (unsigned char)s[i - 1] >= 0xe0 ? 3 : 2;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* Copies s into out, control characters as spaces, at most cap - 1. */
static void clean(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; s && *s && o + 1 < cap; s++)
		out[o++] = (unsigned char)*s < ' ' ? ' ' : *s;
	out[o] = '\0';
	utf8_trim(out);
}

/* The provider's own words for an error answer. */
static void refusal(struct job *j, int status, const uint8_t *body, size_t len)
{
	const char *prov = api_provider_name(j->provider);
	json_t *o = json_loadb((const char *)body, len, 0, NULL);
	const char *msg = json_string_value(json_object_get(o, "message"));
	const char *title = json_string_value(json_object_get(o, "title"));
	const char *detail = json_string_value(json_object_get(o, "detail"));
	json_t *code = json_object_get(o, "code");
	char m[240], t[80];

	if (j->provider == P_TWILIO && msg) {
		clean(m, sizeof(m), msg);
		if (json_is_integer(code))
			snprintf(j->errmsg, sizeof(j->errmsg), "twilio: %s (code %lld, HTTP %d)", m,
				 (long long)json_integer_value(code), status);
		else
			snprintf(j->errmsg, sizeof(j->errmsg), "twilio: %s (HTTP %d)", m, status);
	} else if (j->provider == P_VONAGE && (title || detail)) {
		clean(t, sizeof(t), title ? title : "error");
		clean(m, sizeof(m), detail ? detail : "");
		snprintf(j->errmsg, sizeof(j->errmsg), "vonage: %s%s%s (HTTP %d)", t,
			 detail ? ": " : "", m, status);
	} else {
		snprintf(j->errmsg, sizeof(j->errmsg), "%s answered HTTP %d", prov, status);
	}
	json_decref(o);
}

/* 1 for a provider call id we can put in a URL path. */
static int pcid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static void on_done(struct evb_httpc *c, int err, void *arg)
{
	struct preq *pr = arg;
	struct job *j = pr->j;
	size_t len = 0;
	const uint8_t *body = err == 0 ? evb_httpc_body(c, &len) : NULL;
	int status = err == 0 ? evb_httpc_status(c) : 0;
	const char *what = pr->hangup ? "hang up" : "place the call";

	j->hc = NULL;
	if (err == -ETIMEDOUT) {
		j->outcome = PR_TIMEOUT;
		snprintf(j->errmsg, sizeof(j->errmsg), "%s did not answer within %u ms",
			 api_provider_name(j->provider), j->api->o.provider_timeout_ms);
	} else if (err < 0) {
		j->outcome = PR_UNREACHABLE;
		snprintf(j->errmsg, sizeof(j->errmsg), "unable to reach %s: %s",
			 api_provider_name(j->provider), evb_httpc_errstr(c));
	} else if (status < 200 || status > 299) {
		j->outcome = PR_REFUSED;
		refusal(j, status, body, len);
	} else if (!pr->hangup) {
		json_t *o = json_loadb((const char *)body, len, 0, NULL);
		const char *id = json_string_value(
			json_object_get(o, j->provider == P_TWILIO ? "sid" : "uuid"));
		if (id && pcid_ok(id)) {
			j->outcome = PR_OK;
			snprintf(j->pcid, sizeof(j->pcid), "%s", id);
		} else {
			j->outcome = PR_REFUSED;
			snprintf(j->errmsg, sizeof(j->errmsg), "%s answered HTTP %d without a call id",
				 api_provider_name(j->provider), status);
		}
		json_decref(o);
	} else {
		json_t *o = json_loadb((const char *)body, len, 0, NULL);
		const char *st = json_string_value(json_object_get(o, "status"));
		j->outcome = PR_OK;
		if (j->provider == P_TWILIO && st &&
		    (strcmp(st, "completed") == 0 || strcmp(st, "canceled") == 0))
			snprintf(j->status, sizeof(j->status), "%s", st);
		json_decref(o);
	}
	if (j->outcome != PR_OK)
		EVB_LOG(LOG_WARNING, "api", "call=%s unable to %s: %s", j->call_id, what,
			j->errmsg);
	metrics_provider(j->api, j->provider, j->outcome, j->hc_start_ns);
	pr->done(j);
	free(pr);
}

/* Sends c for j; done(j) runs later. 0, or -1 with j->errmsg set. */
static int send_request(struct job *j, struct evb_httpc *c, int hangup, void (*done)(struct job *j))
{
	struct api *a = j->api;
	struct preq *pr = malloc(sizeof(*pr));
	unsigned t = a->o.provider_timeout_ms;
	int r;

	if (!pr) {
		evb_httpc_free(c);
		j->outcome = PR_UNREACHABLE;
		snprintf(j->errmsg, sizeof(j->errmsg), "out of memory");
		return -1;
	}
	pr->j = j;
	pr->done = done;
	pr->hangup = hangup;
	evb_httpc_add_header(c, "Accept", "application/json");
	evb_httpc_set_tls(c, a->tls);
	evb_httpc_set_timeouts(c, t < EVB_HTTPC_CONNECT_MS ? t : EVB_HTTPC_CONNECT_MS, t);
	evb_httpc_set_max_body(c, PROVIDER_MAX_BODY);
	j->hc_start_ns = evb_now_ns();
	r = evb_httpc_start(c, on_done, pr);
	if (r < 0) {
		evb_httpc_free(c);
		free(pr);
		j->outcome = PR_UNREACHABLE;
		snprintf(j->errmsg, sizeof(j->errmsg), "unable to reach %s: %s",
			 api_provider_name(j->provider), evb_strerror(r));
		metrics_provider(a, j->provider, j->outcome, j->hc_start_ns);
		return -1;
	}
	j->hc = c;
	return 0;
}

static struct evb_httpc *new_request(struct job *j, const char *method, const char *url)
{
	struct evb_httpc *c = evb_httpc_new(j->api->loop, method, url);

	if (!c) {
		j->outcome = PR_UNREACHABLE;
		snprintf(j->errmsg, sizeof(j->errmsg), "unable to build the %s request: %s",
			 api_provider_name(j->provider), strerror(errno));
	}
	return c;
}

/* A fresh Bearer token for the Vonage Voice API. */
static int vonage_auth(struct job *j, struct evb_httpc *c)
{
	struct api *a = j->api;
	uint8_t id[EVB_CALLID_LEN];
	char jti[EVB_CALLID_STRLEN], *tok, *h;
	json_int_t now = (json_int_t)time(NULL);
	json_t *claims;
	int r = -1;

	if (evb_callid_random(id) < 0)
		return -1;
	evb_callid_format(id, jti);
	claims = json_pack("{s:s, s:I, s:s, s:I}", "application_id", a->vonage_app, "iat", now,
			   "jti", jti, "exp", now + VONAGE_JWT_TTL_S);
	tok = claims ? evb_jwt_sign_rs256(a->vonage_key, claims) : NULL;
	json_decref(claims);
	if (tok && (h = malloc(strlen(tok) + 8))) {
		snprintf(h, strlen(tok) + 8, "Bearer %s", tok);
		r = evb_httpc_add_header(c, "Authorization", h);
		free(h);
	}
	free(tok);
	if (r < 0) {
		j->outcome = PR_UNREACHABLE;
		snprintf(j->errmsg, sizeof(j->errmsg), "unable to sign the Vonage JWT");
	}
	return r < 0 ? -1 : 0;
}

static int twilio_create(struct job *j, void (*done)(struct job *j))
{
	static const char *const events[] = { "initiated", "ringing", "answered", "completed" };
	struct api *a = j->api;
	char url[1024], voice[1024], status[1024], timeout[16];
	struct evb_params *p = evb_params_new();
	struct evb_httpc *c;
	char *form = NULL;
	int r = 0;

	snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/Calls.json",
		 a->prov[P_TWILIO].base, a->twilio_sid);
	snprintf(voice, sizeof(voice), "%s/twilio/voice?call_id=%s%s%s", a->public_base,
		 j->call_id, j->cr.agent[0] ? "&agent=" : "", j->cr.agent);
	snprintf(status, sizeof(status), "%s/twilio/status?call_id=%s", a->public_base,
		 j->call_id);
	snprintf(timeout, sizeof(timeout), "%d", j->cr.ring_timeout_s ? j->cr.ring_timeout_s : 60);
	if (!p)
		goto nomem;
	r |= evb_params_add(p, "To", j->cr.to);
	r |= evb_params_add(p, "From", j->cr.from);
	r |= evb_params_add(p, "Url", voice);
	r |= evb_params_add(p, "Method", "POST");
	r |= evb_params_add(p, "StatusCallback", status);
	r |= evb_params_add(p, "StatusCallbackMethod", "POST");
	for (int i = 0; i < 4; i++)
		r |= evb_params_add(p, "StatusCallbackEvent", events[i]);
	r |= evb_params_add(p, "Timeout", timeout);
	if (j->cr.machine_detection)
		r |= evb_params_add(p, "MachineDetection", "Enable");
	if (r || !(form = evb_params_encode(p)))
		goto nomem;
	evb_params_free(p);
	if (!(c = new_request(j, "POST", url))) {
		free(form);
		return -1;
	}
	if (evb_httpc_set_basic_auth(c, a->twilio_sid, a->twilio_token) < 0 ||
	    evb_httpc_set_body(c, "application/x-www-form-urlencoded", form, strlen(form)) < 0) {
		free(form);
		evb_httpc_free(c);
		goto fail;
	}
	free(form);
	return send_request(j, c, 0, done);
nomem:
	evb_params_free(p);
	free(form);
fail:
	j->outcome = PR_UNREACHABLE;
	snprintf(j->errmsg, sizeof(j->errmsg), "unable to build the Twilio request");
	return -1;
}

static int vonage_create(struct job *j, void (*done)(struct job *j))
{
	struct api *a = j->api;
	char url[1024], answer[1024], event[1024];
	struct evb_httpc *c;
	json_t *b;
	char *body;

	snprintf(url, sizeof(url), "%s/v1/calls", a->prov[P_VONAGE].base);
	snprintf(answer, sizeof(answer), "%s/vonage/answer?call_id=%s%s%s", a->public_base,
		 j->call_id, j->cr.agent[0] ? "&agent=" : "", j->cr.agent);
	snprintf(event, sizeof(event), "%s/vonage/event?call_id=%s", a->public_base, j->call_id);
	/* Vonage numbers are digits only, without the '+'. */
	b = json_pack("{s:[{s:s, s:s}], s:{s:s, s:s}, s:[s], s:s, s:[s], s:s, s:i}", "to", "type",
		      "phone", "number", j->cr.to + 1, "from", "type", "phone", "number",
		      j->cr.from + 1, "answer_url", answer, "answer_method", "GET", "event_url",
		      event, "event_method", "POST", "ringing_timer",
		      j->cr.ring_timeout_s ? j->cr.ring_timeout_s : 60);
	if (b && j->cr.machine_detection)
		json_object_set_new(b, "machine_detection", json_string("continue"));
	body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!body || !(c = new_request(j, "POST", url))) {
		if (!body) {
			j->outcome = PR_UNREACHABLE;
			snprintf(j->errmsg, sizeof(j->errmsg), "unable to build the Vonage request");
		}
		free(body);
		return -1;
	}
	if (vonage_auth(j, c) < 0 ||
	    evb_httpc_set_body(c, "application/json", body, strlen(body)) < 0) {
		free(body);
		evb_httpc_free(c);
		if (j->outcome != PR_UNREACHABLE) {
			j->outcome = PR_UNREACHABLE;
			snprintf(j->errmsg, sizeof(j->errmsg), "unable to build the Vonage request");
		}
		return -1;
	}
	free(body);
	return send_request(j, c, 0, done);
}

int provider_create(struct job *j, void (*done)(struct job *j))
{
	j->outcome = PR_UNREACHABLE;
	return j->provider == P_TWILIO ? twilio_create(j, done) : vonage_create(j, done);
}

int provider_hangup(struct job *j, void (*done)(struct job *j))
{
	struct api *a = j->api;
	char url[1024], form[32];
	struct evb_httpc *c;
	int r;

	j->outcome = PR_UNREACHABLE;
	if (!pcid_ok(j->pcid)) {
		snprintf(j->errmsg, sizeof(j->errmsg), "the call's provider id is not usable");
		return -1;
	}
	if (j->provider == P_TWILIO) {
		snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/Calls/%s.json",
			 a->prov[P_TWILIO].base, a->twilio_sid, j->pcid);
		snprintf(form, sizeof(form), "Status=%s", j->status);
		if (!(c = new_request(j, "POST", url)))
			return -1;
		r = evb_httpc_set_basic_auth(c, a->twilio_sid, a->twilio_token);
		if (r == 0)
			r = evb_httpc_set_body(c, "application/x-www-form-urlencoded", form,
					       strlen(form));
	} else {
		snprintf(url, sizeof(url), "%s/v1/calls/%s", a->prov[P_VONAGE].base, j->pcid);
		if (!(c = new_request(j, "PUT", url)))
			return -1;
		r = vonage_auth(j, c);
		if (r == 0)
			r = evb_httpc_set_body(c, "application/json", "{\"action\":\"hangup\"}", 19);
	}
	if (r < 0) {
		evb_httpc_free(c);
		snprintf(j->errmsg, sizeof(j->errmsg), "unable to build the %s request",
			 api_provider_name(j->provider));
		return -1;
	}
	return send_request(j, c, 1, done);
}
