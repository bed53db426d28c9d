/* Vonage signed webhooks, NCCO, media messages, events (see evb_vonage.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evb_err.h"
#include "evb_jwt.h"
#include "evb_sign.h"
#include "evb_util.h"
#include "evb_vonage.h"

static int fail(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return -EPERM;
}

int evb_vonage_jwt_check(const char *authorization, const char *secret, const void *body,
			 size_t len, int64_t now, char *err, size_t errlen)
{
	char jti[8];
	int64_t until;

	return evb_vonage_jwt_check_jti(authorization, secret, body, len, now, jti, sizeof(jti),
					&until, err, errlen);
}

/* The jti and how long evb_jwt_check_times() accepts claims. */
static void jti_of(const json_t *claims, char *jti, size_t cap, int64_t *until)
{
	const char *j = json_string_value(json_object_get(claims, "jti"));
	json_t *iat = json_object_get(claims, "iat"), *exp = json_object_get(claims, "exp");

	if (cap > 0)
		jti[0] = 0;
	if (j && strlen(j) < cap)
		memcpy(jti, j, strlen(j) + 1);
	*until = (int64_t)json_number_value(iat) + EVB_VONAGE_JWT_MAX_AGE_S +
		 EVB_VONAGE_JWT_SKEW_S;
	if (json_is_number(exp) &&
	    (int64_t)json_number_value(exp) + EVB_VONAGE_JWT_SKEW_S < *until)
		*until = (int64_t)json_number_value(exp) + EVB_VONAGE_JWT_SKEW_S;
}

int evb_vonage_jwt_check_jti(const char *authorization, const char *secret, const void *body,
			     size_t len, int64_t now, char *jti, size_t cap, int64_t *until,
			     char *err, size_t errlen)
{
	const char *tok, *ph;
	json_t *claims = NULL;
	char hex[65];
	int r;

	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return fail(err, errlen, "no bearer token");
	if (!secret || !*secret)
		return fail(err, errlen, "no signature secret");
	tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	r = evb_jwt_verify_hs256(secret, strlen(secret), tok, &claims);
	if (r < 0)
		return fail(err, errlen, r == -ENOTSUP ? "JWT alg is not HS256"
					 : r == -EPERM	? "bad JWT signature"
							: "not a JWT");
	r = evb_jwt_check_times(claims, now, EVB_VONAGE_JWT_SKEW_S, EVB_VONAGE_JWT_MAX_AGE_S);
	if (r < 0) {
		json_decref(claims);
		return fail(err, errlen, r == -ETIME ? "JWT expired or too old"
					 : r == -EAGAIN ? "JWT not valid yet"
							: "JWT without a usable iat");
	}
	ph = json_string_value(json_object_get(claims, "payload_hash"));
	if (len > 0 && !ph)
		r = fail(err, errlen, "JWT without payload_hash for a request with a body");
	else if (ph && (evb_sha256_hex(body ? body : "", len, hex) < 0 || strcasecmp(ph, hex) != 0))
		r = fail(err, errlen, "payload_hash does not match the body");
	if (r == 0)
		jti_of(claims, jti, cap, until);
	json_decref(claims);
	return r;
}

char *evb_vonage_jwt_sign(const char *secret, const void *body, size_t len, int64_t now)
{
	char hex[65], jti[EVB_CALLID_STRLEN], *out;
	uint8_t id[EVB_CALLID_LEN];
	json_t *c;

	if (evb_sha256_hex(body ? body : "", len, hex) < 0 || evb_callid_random(id) < 0)
		return NULL;
	evb_callid_format(id, jti);
	c = json_pack("{s:I,s:s,s:s,s:s}", "iat", (json_int_t)now, "jti", jti, "iss", "Vonage",
		      "payload_hash", hex);
	out = c ? evb_jwt_sign_hs256(secret, strlen(secret), c) : NULL;
	json_decref(c);
	return out;
}

int evb_vonage_rate(const char *ct)
{
	static const char pfx[] = "audio/l16;rate=";

	if (!ct || strncasecmp(ct, pfx, sizeof(pfx) - 1) != 0)
		return -1;
	ct += sizeof(pfx) - 1;
	if (strcmp(ct, "8000") == 0)
		return 8000;
	if (strcmp(ct, "16000") == 0)
		return 16000;
	if (strcmp(ct, "24000") == 0)
		return 24000;
	return -1;
}

char *evb_vonage_ncco_connect(const char *ws_uri, int rate, const char *event_url,
			      json_t *headers)
{
	char ct[40];
	json_t *ep, *act, *ncco;
	char *s;

	snprintf(ct, sizeof(ct), "audio/l16;rate=%d", rate);
	ep = json_pack("{s:s,s:s,s:s,s:o}", "type", "websocket", "uri", ws_uri, "content-type",
		       ct, "headers", headers ? json_incref(headers) : json_object());
	act = json_pack("{s:s,s:o}", "action", "connect", "endpoint", json_pack("[o]", ep));
	if (act && event_url) {
		json_object_set_new(act, "eventType", json_string("synchronous"));
		json_object_set_new(act, "eventUrl", json_pack("[s]", event_url));
		json_object_set_new(act, "eventMethod", json_string("POST"));
	}
	ncco = act ? json_pack("[o]", act) : NULL;
	s = ncco ? json_dumps(ncco, JSON_COMPACT) : NULL;
	json_decref(ncco);
	return s;
}

int evb_vonage_ncco_parse(const void *data, size_t len, json_t **root, struct evb_ncco *n)
{
	size_t i, j;
	json_t *a, *ep;

	memset(n, 0, sizeof(*n));
	*root = json_loadb(data, len, 0, NULL);
	if (!json_is_array(*root))
		goto bad;
	json_array_foreach(*root, i, a) {
		const char *act = json_string_value(json_object_get(a, "action"));
		json_t *eps = json_object_get(a, "endpoint"), *eu;

		if (!act || strcmp(act, "connect") != 0 || !json_is_array(eps))
			continue;
		eu = json_object_get(a, "eventUrl");
		n->event_url = json_string_value(json_is_array(eu) ? json_array_get(eu, 0) : eu);
		json_array_foreach(eps, j, ep) {
			const char *type = json_string_value(json_object_get(ep, "type"));

			if (!type || strcmp(type, "websocket") != 0)
				continue;
			n->uri = json_string_value(json_object_get(ep, "uri"));
			n->content_type = json_string_value(json_object_get(ep, "content-type"));
			n->headers = json_object_get(ep, "headers");
			if (n->headers && !json_is_object(n->headers))
				n->headers = NULL;
			if (n->uri)
				return 0;
		}
	}
bad:
	json_decref(*root);
	*root = NULL;
	memset(n, 0, sizeof(*n));
	return -EBADMSG;
}

/* ---- media WebSocket messages ---- */

static const struct {
	const char *name;
	int event;
} events[] = {
	{ "websocket:connected", EVB_VONAGE_CONNECTED },
	{ "websocket:dtmf", EVB_VONAGE_DTMF },
	{ "websocket:notify", EVB_VONAGE_NOTIFY },
	{ "websocket:cleared", EVB_VONAGE_CLEARED },
};

int evb_vonage_msg_parse(const void *data, size_t len, struct evb_vonage_msg *m, char *err,
			 size_t errlen)
{
	json_error_t je;
	json_t *d, *dur;
	const char *action;

	memset(m, 0, sizeof(*m));
	m->duration_ms = -1;
	if (err && errlen)
		err[0] = '\0';
	m->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(m->root)) {
		if (err && errlen)
			snprintf(err, errlen, "%s", m->root ? "not a JSON object" : je.text);
		json_decref(m->root);
		m->root = NULL;
		return EVB_EJSON;
	}
	m->name = json_string_value(json_object_get(m->root, "event"));
	action = json_string_value(json_object_get(m->root, "action"));
	d = json_object_get(m->root, "dtmf");
	for (size_t i = 0; m->name && i < sizeof(events) / sizeof(events[0]); i++)
		if (strcmp(m->name, events[i].name) == 0)
			m->event = events[i].event;
	if (!m->name && action) {
		m->name = action;
		m->event = strcmp(action, "notify") == 0  ? EVB_VONAGE_A_NOTIFY
			   : strcmp(action, "clear") == 0 ? EVB_VONAGE_A_CLEAR
							  : EVB_VONAGE_UNKNOWN;
	}
	if (!m->name && json_is_object(d)) {
		m->name = "dtmf";
		m->event = EVB_VONAGE_DTMF;
	}
	if (!m->name) {
		if (err && errlen)
			snprintf(err, errlen, "no 'event' or 'action'");
		json_decref(m->root);
		m->root = NULL;
		return EVB_EJSON;
	}
	switch (m->event) {
	case EVB_VONAGE_CONNECTED:
		m->content_type = json_string_value(json_object_get(m->root, "content-type"));
		break;
	case EVB_VONAGE_DTMF:
		m->digit = json_string_value(json_object_get(m->root, "digit"));
		dur = json_object_get(m->root, "duration");
		if (!m->digit && json_is_object(d)) {
			m->digit = json_string_value(json_object_get(d, "digit"));
			if (!m->digit)
				m->digit = json_string_value(json_object_get(d, "digits"));
			dur = json_object_get(d, "duration");
		}
		if (json_is_integer(dur) && json_integer_value(dur) >= 0)
			m->duration_ms = json_integer_value(dur);
		if (!m->digit || strlen(m->digit) != 1) {
			if (err && errlen)
				snprintf(err, errlen, "dtmf without a one-character 'digit'");
			json_decref(m->root);
			m->root = NULL;
			return EVB_EJSON;
		}
		break;
	case EVB_VONAGE_NOTIFY:
	case EVB_VONAGE_A_NOTIFY:
		m->payload = json_object_get(m->root, "payload");
		break;
	}
	return 0;
}

void evb_vonage_msg_release(struct evb_vonage_msg *m)
{
	json_decref(m->root);
	m->root = NULL;
}

const char *evb_vonage_msg_header(const struct evb_vonage_msg *m, const char *key)
{
	const char *v = json_string_value(json_object_get(m->root, key));

	if (!v)
		v = json_string_value(json_object_get(json_object_get(m->root, "headers"), key));
	return v;
}

/* ---- event webhooks ---- */

static const char *const known[] = {
	"started", "ringing", "answered", "completed", "busy", "cancelled", "unanswered",
	"rejected", "failed", "timeout", "disconnected", "machine", "human",
};

int evb_vonage_status_known(const char *status)
{
	for (size_t i = 0; status && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(status, known[i]) == 0)
			return 1;
	return 0;
}

int evb_vonage_status_final(const char *s)
{
	return s && (strcmp(s, "completed") == 0 || strcmp(s, "busy") == 0 ||
		     strcmp(s, "cancelled") == 0 || strcmp(s, "unanswered") == 0 ||
		     strcmp(s, "rejected") == 0 || strcmp(s, "failed") == 0 ||
		     strcmp(s, "timeout") == 0);
}

int evb_vonage_event_read(json_t *root, struct evb_vonage_status *e)
{
	json_t *d;

	memset(e, 0, sizeof(*e));
	e->duration_s = -1;
	e->status = json_string_value(json_object_get(root, "status"));
	if (!e->status)
		return -EBADMSG;
	e->uuid = json_string_value(json_object_get(root, "uuid"));
	if (!e->uuid)
		e->uuid = json_string_value(json_object_get(root, "call_uuid"));
	e->conversation_uuid = json_string_value(json_object_get(root, "conversation_uuid"));
	e->direction = json_string_value(json_object_get(root, "direction"));
	e->from = json_string_value(json_object_get(root, "from"));
	e->to = json_string_value(json_object_get(root, "to"));
	e->detail = json_string_value(json_object_get(root, "detail"));
	d = json_object_get(root, "duration");
	if (json_is_integer(d) && json_integer_value(d) >= 0) {
		e->duration_s = json_integer_value(d);
	} else if (json_is_string(d)) {
		const char *s = json_string_value(d);
		long long v = 0;
		int ok = *s != '\0' && strlen(s) < 12;
		for (; ok && *s; s++) {
			if (*s < '0' || *s > '9')
				ok = 0;
			else
				v = v * 10 + (*s - '0');
		}
		if (ok)
			e->duration_s = v;
	}
	return 0;
}
