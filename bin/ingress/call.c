/* Calls: the table (by our id and by the provider's id), the control
 * frames they send up, their events, their end, and the sweep of calls
 * whose media never came, was lost for too long, or ended a while ago. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/sha256.h>

#include "evb_callmap.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_url.h"
#include "ingress.h"

const char *prov_name(int provider)
{
	return provider == PROV_VONAGE ? "vonage" : "twilio";
}

int64_t ing_unix_now(void)
{
	return (int64_t)time(NULL);
}

/* The provider's call id as a callmap key: 16 bytes of a SHA-256. */
static void pcid_key(int provider, const char *pcid, uint8_t key[EVB_CALLID_LEN])
{
	mbedtls_sha256_context ctx;
	uint8_t h[32], p = (uint8_t)provider;

	mbedtls_sha256_init(&ctx);
	mbedtls_sha256_starts_ret(&ctx, 0);
	mbedtls_sha256_update_ret(&ctx, &p, 1);
	mbedtls_sha256_update_ret(&ctx, (const uint8_t *)pcid, strlen(pcid));
	mbedtls_sha256_finish_ret(&ctx, h);
	mbedtls_sha256_free(&ctx);
	memcpy(key, h, EVB_CALLID_LEN);
}

int ing_copy(char *out, size_t cap, const char *s)
{
	if (!s || strlen(s) >= cap)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

struct call *call_new(struct ing *d, int provider, const char *idstr, const char *pcid)
{
	struct call *c = calloc(1, sizeof(*c));
	uint8_t key[EVB_CALLID_LEN];

	if (!c)
		return NULL;
	if (idstr ? evb_callid_parse(idstr, c->id) < 0 : evb_callid_random(c->id) < 0) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	evb_callid_format(c->id, c->idstr);
	c->provider = provider;
	c->codec = provider == PROV_TWILIO ? EVB_CODEC_ULAW : EVB_CODEC_L16;
	c->rate = provider == PROV_TWILIO ? 8000 : 16000;
	c->frame_bytes = provider == PROV_TWILIO ? 160 : 640;
	c->created_ns = evb_now_ns();
	c->state = C_RINGING;
	if (pcid && ing_copy(c->pcid, sizeof(c->pcid), pcid) < 0) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	if (evb_callmap_put(d->calls, c->id, c) < 0) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	if (c->pcid[0]) {
		pcid_key(provider, c->pcid, key);
		if (evb_callmap_put(d->by_pcid, key, c) < 0) {
			evb_callmap_del(d->calls, c->id);
			free(c);
			errno = ENOMEM;
			return NULL;
		}
	}
	d->st.calls++;
	return c;
}

struct call *call_find(struct ing *d, const char *idstr)
{
	uint8_t id[EVB_CALLID_LEN];

	if (!idstr || evb_callid_parse(idstr, id) < 0)
		return NULL;
	return evb_callmap_get(d->calls, id);
}

struct call *call_find_pcid(struct ing *d, int provider, const char *pcid)
{
	uint8_t key[EVB_CALLID_LEN];
	struct call *c;

	if (!pcid || !*pcid)
		return NULL;
	pcid_key(provider, pcid, key);
	c = evb_callmap_get(d->by_pcid, key);
	return c && c->provider == provider && strcmp(c->pcid, pcid) == 0 ? c : NULL;
}

static int is_slug(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      ((s[i] == '_' || s[i] == '-') && i > 0)))
			return 0;
	return 1;
}

void call_params(struct call *c, const struct evb_params *q)
{
	const char *agent = q ? evb_params_get(q, "agent") : NULL;

	if (agent && is_slug(agent))
		ing_copy(c->agent, sizeof(c->agent), agent);
	else if (agent)
		EVB_LOG(LOG_WARNING, "call", "call=%s ignoring agent: not a slug", c->idstr);
	if (q) {
		ing_copy(c->cust_name, sizeof(c->cust_name), evb_params_get(q, "customer_name"));
		ing_copy(c->cust_email, sizeof(c->cust_email),
			   evb_params_get(q, "customer_email"));
	}
}

int call_send_up(struct ing *d, struct call *c, struct evb_frame_hdr *h, const void *payload)
{
	h->dir = EVB_DIR_UP;
	h->seq = c->seq_up++;
	memcpy(h->call_id, c->id, EVB_CALLID_LEN);
	return d->xc ? evb_link_send(d->xc, h, payload) : -ENOTCONN;
}

void call_control_up(struct ing *d, struct call *c, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	struct evb_frame_hdr h = { .kind = EVB_KIND_CONTROL };
	const char *type = json_string_value(json_object_get(o, "type"));
	int r = -ENOMEM;

	if (s) {
		h.len = (uint32_t)strlen(s);
		h.capture_ns = evb_now_ns();
		r = call_send_up(d, c, &h, s);
	}
	if (r < 0)
		EVB_LOG(r == -ENOTCONN ? LOG_INFO : LOG_WARNING, "call",
			"call=%s unable to send '%s' to evb-transcode: %s", c->idstr,
			type ? type : "?", evb_strerror(r));
	free(s);
	json_decref(o);
}

json_t *call_event(const struct call *c, const char *type)
{
	return evb_event_new(type, c->id, prov_name(c->provider));
}

void ing_event(struct ing *d, json_t *ev)
{
	int r;

	if (!ev)
		return;
	if (!d->ev) {
		json_decref(ev);
		return;
	}
	r = evb_events_send(d->ev, ev);
	if (r < 0 && r != EVB_EFULL)
		EVB_LOG(LOG_WARNING, "call", "unable to queue an event: %s", evb_strerror(r));
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

void call_prepare(struct ing *d, struct call *c, int resent)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "call.prepare", "call_id",
			      c->idstr, "provider", prov_name(c->provider), "format",
			      c->provider == PROV_TWILIO ? "ulaw/8000" : "l16/16000", "direction",
			      c->outbound ? "outbound" : "inbound");

	if (!o)
		return;
	set_str(o, "from", c->from);
	set_str(o, "to", c->to);
	set_str(o, "provider_call_id", c->pcid);
	set_str(o, "agent", c->agent);
	if (c->cust_name[0] || c->cust_email[0]) {
		json_t *cu = json_object();
		set_str(cu, "name", c->cust_name);
		set_str(cu, "email", c->cust_email);
		json_object_set_new(o, "customer", cu);
	}
	if (resent)
		json_object_set_new(o, "resent", json_true());
	call_control_up(d, c, o);
}

static int prepare_cb(const uint8_t *id, void *v, void *arg)
{
	struct call *c = v;

	(void)id;
	if (c->state != C_ENDED)
		call_prepare(arg, c, 1);
	return 0;
}

void call_prepare_all(struct ing *d)
{
	if (evb_callmap_count(d->calls))
		EVB_LOG(LOG_INFO, "call", "sending call.prepare again for the calls in progress");
	evb_callmap_each(d->calls, prepare_cb, d);
}

void call_status(struct ing *d, struct call *c, const char *status, long long duration_s)
{
	json_t *ev = call_event(c, "call.status");

	snprintf(c->final_status, sizeof(c->final_status), "%s", status);
	if (!ev)
		return;
	json_object_set_new(ev, "status", json_string(status));
	set_str(ev, "provider_call_id", c->pcid);
	if (duration_s >= 0) {
		json_object_set_new(ev, "duration_s", json_integer(duration_s));
		json_object_set_new(ev, "duration_ms", json_integer(duration_s * 1000));
	}
	ing_event(d, ev);
}

void call_end(struct ing *d, struct call *c, const char *reason)
{
	const char *wire = reason;
	struct stream *s = c->stream;
	json_t *ev;

	if (c->state == C_ENDED)
		return;
	/* The contract's reasons; anything else travels as "error". */
	if (strcmp(reason, "caller-hangup") != 0 && strcmp(reason, "agent-hangup") != 0 &&
	    strcmp(reason, "provider-status") != 0)
		wire = "error";
	c->state = C_ENDED;
	c->ended_ns = evb_now_ns();
	c->end_reason = reason;
	play_release(d, c);
	if (s) {
		c->stream = NULL;
		s->call = NULL;
		media_close(s, 1000, strcmp(reason, "caller-hangup") == 0 ? "call ended" : reason);
	}
	EVB_LOG(LOG_INFO, "call", "call=%s ended: %s", c->idstr, reason);
	call_control_up(d, c, json_pack("{s:s,s:s}", "type", "call.ended", "reason", wire));
	if ((ev = call_event(c, "call.ended"))) {
		json_object_set_new(ev, "reason", json_string(wire));
		if (wire != reason)
			json_object_set_new(ev, "detail", json_string(reason));
		set_str(ev, "status", c->final_status);
		set_str(ev, "provider_call_id", c->pcid);
		json_object_set_new(ev, "duration_ms",
				    json_integer(c->live_ns ? (json_int_t)((c->ended_ns - c->live_ns) /
									 1000000u)
							    : 0));
		ing_event(d, ev);
	}
}

int call_token_used(const struct call *c, const char *token)
{
	for (int i = 0; i < c->nused && i < USED_TOKENS; i++)
		if (evb_ct_streq(c->used[i], token))
			return 1;
	return 0;
}

int call_mint_token(struct ing *d, struct call *c, char tok[EVB_MTOKEN_MAX])
{
	int64_t exp = ing_unix_now() + d->o.token_ttl_s;
	int r;

	/* Tokens are single-use and the same second gives the same token:
	 * a reconnection within it gets the next second's. */
	while ((r = evb_mtoken_make(d->media_secret, c->idstr, c->pcid, exp, tok)) == 0 &&
	       call_token_used(c, tok))
		exp++;
	return r;
}

static void call_free(struct ing *d, struct call *c)
{
	uint8_t key[EVB_CALLID_LEN];

	play_release(d, c);
	if (c->pcid[0]) {
		pcid_key(c->provider, c->pcid, key);
		if (evb_callmap_get(d->by_pcid, key) == c)
			evb_callmap_del(d->by_pcid, key);
	}
	evb_callmap_del(d->calls, c->id);
	free(c);
}

static int sweep_cb(const uint8_t *id, void *v, void *arg)
{
	struct ing *d = arg;
	struct call *c = v;
	uint64_t now = evb_now_ns(), s = 1000000000u;

	(void)id;
	if (c->state == C_RINGING && now - c->created_ns > (uint64_t)(d->o.token_ttl_s + 5) * s)
		call_end(d, c, "no media stream came");
	else if (c->state == C_LOST && now - c->lost_ns > (uint64_t)d->o.grace_s * s)
		call_end(d, c, "media stream lost");
	else if (c->state == C_ENDED && now - c->ended_ns > ENDED_LINGER_S * s)
		call_free(d, c);
	return 0;
}

void call_sweep(struct ing *d, uint64_t now)
{
	(void)now;
	evb_callmap_each(d->calls, sweep_cb, d);
}

static int free_cb(const uint8_t *id, void *v, void *arg)
{
	struct ing *d = arg;

	(void)id;
	call_end(d, v, "ingress shutdown");
	call_free(d, v);
	return 0;
}

void call_free_all(struct ing *d)
{
	if (d->calls)
		evb_callmap_each(d->calls, free_cb, d);
}
