/* evb-api routing and request checks (see route.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_url.h"
#include "route.h"

/* ---- routing ---- */

struct route_def {
	int route;
	const char *pattern; /* segments; "*" is the id */
	const char *allow;
	const char *names[3]; /* per method in allow order (HEAD as GET) */
};

static const struct route_def routes[] = {
	{ R_HEALTHZ, "/healthz", "GET, HEAD", { "healthz" } },
	{ R_METRICS, "/metrics", "GET, HEAD", { "metrics" } },
	{ R_CALLS, "/v1/calls", "GET, HEAD, POST", { "calls_list", "calls_create" } },
	{ R_CALL, "/v1/calls/*", "GET, HEAD", { "call_get" } },
	{ R_CALL_HANGUP, "/v1/calls/*/hangup", "POST", { "call_hangup" } },
	{ R_CALL_EVENTS, "/v1/calls/*/events", "GET, HEAD", { "call_events" } },
	{ R_AGENTS, "/v1/agents", "GET, HEAD, POST", { "agents_list", "agent_create" } },
	{ R_AGENT, "/v1/agents/*", "GET, HEAD, PUT, DELETE",
	  { "agent_get", "agent_update", "agent_delete" } },
	{ R_LEGACY_INITIATE, "/api/hume-twilio/initiate-call", "POST", { "legacy_initiate" } },
	{ R_LEGACY_STATUS, "/api/hume-twilio/call-status/*", "GET, HEAD", { "legacy_status" } },
	{ R_LEGACY_ALL, "/api/hume-twilio/get-all-calls", "GET, HEAD", { "legacy_all" } },
};

static int id_ok(const char *s, size_t n)
{
	if (n == 0 || n > API_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* Matches path (decoded, no trailing slash) against pattern; the id goes
 * to id. */
static int match(const char *pattern, const char *path, char *id)
{
	const char *p = pattern, *s = path;

	while (*p && *s) {
		if (*p == '*') {
			size_t n = strcspn(s, "/");
			if (!id_ok(s, n))
				return 0;
			memcpy(id, s, n);
			id[n] = '\0';
			s += n;
			p++;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

/* The method's position in allow ("GET, HEAD, POST"), HEAD counting as GET;
 * -1 if absent. */
static int method_index(const char *allow, const char *method)
{
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	size_t ml = strlen(m);
	int i = 0;

	for (const char *a = allow; *a;) {
		size_t n = strcspn(a, ",");
		if (n == ml && memcmp(a, m, n) == 0)
			return i;
		if (strncmp(a, "HEAD", n) != 0)
			i++;
		a += n;
		while (*a == ',' || *a == ' ')
			a++;
	}
	return -1;
}

int api_route(const char *method, const char *path, struct api_match *m)
{
	char dec[API_ID_MAX * 3 + 64];
	size_t n = strlen(path);
	ssize_t d;

	memset(m, 0, sizeof(*m));
	m->name = "unmatched";
	if (n == 0 || n >= sizeof(dec) || path[0] != '/')
		return R_NONE;
	/* An encoded '/' would split an id into segments: not ours. */
	if (strcasestr(path, "%2f"))
		return R_NONE;
	d = evb_url_decode(path, n, 0, dec);
	if (d < 0)
		return R_NONE;
	if (d > 1 && dec[d - 1] == '/')
		dec[--d] = '\0';
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route_def *r = &routes[i];
		int k;

		if (!match(r->pattern, dec, m->id))
			continue;
		m->route = r->route;
		m->allow = r->allow;
		k = method_index(r->allow, method);
		m->method_ok = k >= 0;
		m->name = k >= 0 && r->names[k] ? r->names[k] : "method_not_allowed";
		return m->route;
	}
	m->id[0] = '\0';
	return R_NONE;
}

int api_route_has_body(int route, const char *method)
{
	switch (route) {
	case R_CALLS:
	case R_AGENTS:
		return strcmp(method, "POST") == 0;
	case R_AGENT:
		return strcmp(method, "PUT") == 0;
	case R_LEGACY_INITIATE:
		return 1;
	default:
		return 0;
	}
}

/* ---- small checks ---- */

static int fail(struct api_err *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct api_err *e, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->field, sizeof(e->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int api_is_e164(const char *s)
{
	size_t n = strlen(s);

	if (n < 8 || n > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int api_is_slug(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > API_SLUG_MAX || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

int api_provider_parse(const char *s)
{
	if (s && strcmp(s, "twilio") == 0)
		return P_TWILIO;
	if (s && strcmp(s, "vonage") == 0)
		return P_VONAGE;
	return -1;
}

const char *api_provider_name(int p)
{
	return p == P_VONAGE ? "vonage" : "twilio";
}

static const char *const statuses[] = { "initiated", "ringing", "in-progress", "completed",
					 "busy", "no-answer", "canceled", "failed" };

int api_is_status(const char *s)
{
	for (size_t i = 0; i < 8; i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

int api_status_final(const char *s)
{
	for (size_t i = 3; i < 8; i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

static int digits(const char **p, int n)
{
	for (int i = 0; i < n; i++)
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return 0;
	*p += n;
	return 1;
}

int api_is_timestamp(const char *s)
{
	const char *p = s;

	if (!digits(&p, 4) || *p++ != '-' || !digits(&p, 2) || *p++ != '-' || !digits(&p, 2))
		return 0;
	if (*p == '\0')
		return 1;
	if ((*p != 'T' && *p != ' ') || (p++, !digits(&p, 2)) || *p++ != ':' || !digits(&p, 2))
		return 0;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2))
			return 0;
		if (*p == '.') {
			int n = 0;
			for (p++; *p >= '0' && *p <= '9'; p++)
				n++;
			if (n == 0 || n > 9)
				return 0;
		}
	}
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0';
	if (*p == '+' || *p == '-') {
		p++;
		if (!digits(&p, 2))
			return 0;
		if (*p == ':')
			p++;
		if (*p && !digits(&p, 2))
			return 0;
	}
	return *p == '\0';
}

/* A string member: absent or null leaves *out NULL; another type, an
 * embedded NUL or more than max bytes is an error. */
static int get_str(json_t *o, const char *key, size_t max, const char **out,
		   struct api_err *e, const char *field)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(e, field, "expected a string");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(e, field, "contains a NUL character");
	if (json_string_length(v) > max)
		return fail(e, field, "too long");
	*out = json_string_value(v);
	return 0;
}

static int only_keys(json_t *o, const char *const *keys, const char *prefix, struct api_err *e)
{
	const char *key;
	json_t *v;
	char f[API_FIELD_MAX];

	json_object_foreach(o, key, v) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], key) != 0)
			i++;
		if (!keys[i]) {
			snprintf(f, sizeof(f), "%s%s", prefix, key);
			return fail(e, f, "unknown field");
		}
	}
	return 0;
}

static int email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strchr(at + 1, '@'))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static int set_agent(struct api_call_req *r, const char *agent, const char *field,
		     struct api_err *e)
{
	if (!agent || !*agent)
		return 0;
	if (!api_is_slug(agent))
		return fail(e, field, "expected an agent slug (a-z, 0-9, '_', '-'), got '%s'",
			    strlen(agent) > 64 ? "..." : agent);
	snprintf(r->agent, sizeof(r->agent), "%s", agent);
	return 0;
}

static int set_provider(struct api_call_req *r, const char *p, struct api_err *e)
{
	r->provider = P_DEFAULT;
	if (!p)
		return 0;
	if ((r->provider = api_provider_parse(p)) < 0)
		return fail(e, "provider", "expected twilio or vonage");
	return 0;
}

static int set_customer(struct api_call_req *r, const char *name, const char *email,
			const char *efield, struct api_err *e)
{
	if (email && *email && !email_ok(email))
		return fail(e, efield, "expected an email address");
	if (name) {
		snprintf(r->customer_name, sizeof(r->customer_name), "%s", name);
		r->has_name = 1;
	}
	if (email && *email) {
		snprintf(r->customer_email, sizeof(r->customer_email), "%s", email);
		r->has_email = 1;
	}
	return 0;
}

int api_parse_call(json_t *body, struct api_call_req *r, struct api_err *e)
{
	static const char *const keys[] = { "to", "from", "provider", "agent", "customer",
					     "metadata", "machine_detection", "ring_timeout_s",
					     NULL };
	static const char *const ckeys[] = { "name", "email", NULL };
	const char *to, *from, *prov, *agent, *name = NULL, *email = NULL;
	json_t *cust, *meta, *v;

	memset(r, 0, sizeof(*r));
	r->provider = P_DEFAULT;
	if (!json_is_object(body))
		return fail(e, "", "the body must be a JSON object");
	if (only_keys(body, keys, "", e) < 0 ||
	    get_str(body, "to", 32, &to, e, "to") < 0 ||
	    get_str(body, "from", 32, &from, e, "from") < 0 ||
	    get_str(body, "provider", 16, &prov, e, "provider") < 0 ||
	    get_str(body, "agent", 100, &agent, e, "agent") < 0)
		return -1;
	if (!to)
		return fail(e, "to", "required: the number to call, in E.164 (+14155550100)");
	if (!api_is_e164(to))
		return fail(e, "to", "expected an E.164 number such as +14155550100");
	memcpy(r->to, to, strlen(to) + 1);
	if (from && !api_is_e164(from))
		return fail(e, "from", "expected an E.164 number such as +14155550100");
	if (from)
		memcpy(r->from, from, strlen(from) + 1);
	if (set_provider(r, prov, e) < 0 || set_agent(r, agent, "agent", e) < 0)
		return -1;
	cust = json_object_get(body, "customer");
	if (cust && !json_is_null(cust)) {
		if (!json_is_object(cust))
			return fail(e, "customer", "expected an object {name, email}");
		if (only_keys(cust, ckeys, "customer.", e) < 0 ||
		    get_str(cust, "name", API_NAME_MAX, &name, e, "customer.name") < 0 ||
		    get_str(cust, "email", API_EMAIL_MAX, &email, e, "customer.email") < 0 ||
		    set_customer(r, name, email, "customer.email", e) < 0)
			return -1;
	}
	meta = json_object_get(body, "metadata");
	if (meta && !json_is_null(meta)) {
		char *s;
		size_t n;
		if (!json_is_object(meta))
			return fail(e, "metadata", "expected an object");
		s = json_dumps(meta, JSON_COMPACT);
		n = s ? strlen(s) : 0;
		free(s);
		if (n > API_META_MAX)
			return fail(e, "metadata", "larger than 8 KiB");
		r->metadata = json_incref(meta);
	}
	v = json_object_get(body, "machine_detection");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			api_call_req_release(r);
			return fail(e, "machine_detection", "expected true or false");
		}
		r->machine_detection = json_is_true(v);
	}
	v = json_object_get(body, "ring_timeout_s");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 600) {
			api_call_req_release(r);
			return fail(e, "ring_timeout_s", "expected an integer from 1 to 600");
		}
		r->ring_timeout_s = (int)json_integer_value(v);
	}
	return 0;
}

int api_parse_legacy_call(json_t *body, struct api_call_req *r, struct api_err *e)
{
	static const char *const phones[] = { "phone_number", "phone_no", "customer_phone" };
	const char *phone = NULL, *field = "phone_number", *agent, *name, *email, *prov;
	char clean[40];
	size_t o = 0;

	memset(r, 0, sizeof(*r));
	r->provider = P_DEFAULT;
	if (!json_is_object(body))
		return fail(e, "", "the body must be a JSON object or a form");
	for (size_t i = 0; i < 3 && !phone; i++) {
		if (get_str(body, phones[i], 32, &phone, e, phones[i]) < 0)
			return -1;
		if (phone && !*phone)
			phone = NULL;
		if (phone)
			field = phones[i];
	}
	if (!phone)
		return fail(e, "phone_number", "required: phone_number (or phone_no, "
					       "customer_phone)");
	/* The original front end sent numbers as typed: drop the punctuation. */
	for (const char *p = phone; *p && o + 1 < sizeof(clean); p++)
		if (!strchr(" -().", *p))
			clean[o++] = *p;
	clean[o] = '\0';
	if (!api_is_e164(clean))
		return fail(e, field, "expected an E.164 number such as +14155550100");
	memcpy(r->to, clean, o + 1); /* at most 16 characters, checked */
	if (get_str(body, "agent_id", 100, &agent, e, "agent_id") < 0 ||
	    get_str(body, "customer_name", API_NAME_MAX, &name, e, "customer_name") < 0 ||
	    get_str(body, "customer_email", API_EMAIL_MAX, &email, e, "customer_email") < 0 ||
	    get_str(body, "provider", 16, &prov, e, "provider") < 0)
		return -1;
	if (prov && !*prov)
		prov = NULL;
	if (set_provider(r, prov, e) < 0 || set_agent(r, agent, "agent_id", e) < 0 ||
	    set_customer(r, name, email, "customer_email", e) < 0)
		return -1;
	return 0;
}

void api_call_req_release(struct api_call_req *r)
{
	json_decref(r->metadata);
	r->metadata = NULL;
}

int api_parse_agent(json_t *body, int slug_required, const char *path_slug,
		    struct api_agent *a, struct api_err *e)
{
	static const char *const keys[] = { "slug", "name", "hume_config_id", "voice",
					     "system_prompt", "greeting", NULL };

	memset(a, 0, sizeof(*a));
	if (!json_is_object(body))
		return fail(e, "", "the body must be a JSON object");
	if (only_keys(body, keys, "", e) < 0 ||
	    get_str(body, "slug", 100, &a->slug, e, "slug") < 0 ||
	    get_str(body, "name", API_NAME_MAX, &a->name, e, "name") < 0 ||
	    get_str(body, "hume_config_id", 100, &a->hume_config_id, e, "hume_config_id") < 0 ||
	    get_str(body, "voice", 100, &a->voice, e, "voice") < 0 ||
	    get_str(body, "system_prompt", 32768, &a->system_prompt, e, "system_prompt") < 0 ||
	    get_str(body, "greeting", 2000, &a->greeting, e, "greeting") < 0)
		return -1;
	if (slug_required && !a->slug)
		return fail(e, "slug", "required: a slug such as sarah_sales");
	if (a->slug && !api_is_slug(a->slug))
		return fail(e, "slug", "expected a-z, 0-9, '_' and '-', starting with a letter or "
				       "digit, at most 64");
	if (!slug_required && a->slug && strcmp(a->slug, path_slug) != 0)
		return fail(e, "slug", "differs from the slug in the path (renaming is not "
				       "supported)");
	if (!slug_required)
		a->slug = path_slug;
	if (!a->name || !*a->name)
		return fail(e, "name", "required: the agent's display name");
	if (a->hume_config_id) {
		for (const char *p = a->hume_config_id; *p; p++)
			if ((unsigned char)*p <= ' ')
				return fail(e, "hume_config_id", "must not contain blanks");
	}
	return 0;
}

int api_parse_list_query(const char *query, int max_limit, int default_limit,
			 struct api_list_q *q, struct api_err *e)
{
	struct evb_params *p = evb_params_parse(query, strlen(query));
	const char *v;
	int r = -1;

	memset(q, 0, sizeof(*q));
	q->limit = default_limit;
	if (!p)
		return fail(e, "", "the query string does not parse");
	if ((v = evb_params_get(p, "provider")) && *v) {
		if (api_provider_parse(v) < 0) {
			fail(e, "provider", "expected twilio or vonage");
			goto out;
		}
		snprintf(q->provider, sizeof(q->provider), "%s", v);
	}
	if ((v = evb_params_get(p, "status")) && *v) {
		if (!api_is_status(v)) {
			fail(e, "status", "expected initiated, ringing, in-progress, completed, "
					  "busy, no-answer, canceled or failed");
			goto out;
		}
		snprintf(q->status, sizeof(q->status), "%s", v);
	}
	if ((v = evb_params_get(p, "since")) && *v) {
		char *sp;
		if (strlen(v) >= sizeof(q->since) || !api_is_timestamp(v)) {
			fail(e, "since", "expected an RFC 3339 time such as 2026-11-21T07:00:00Z");
			goto out;
		}
		snprintf(q->since, sizeof(q->since), "%s", v);
		/* A '+' of an offset arrives as a space when not percent-encoded. */
		if (strlen(q->since) > 10 && (sp = strchr(q->since + 11, ' ')))
			*sp = '+';
	}
	if ((v = evb_params_get(p, "limit")) && *v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || n < 1 || n > max_limit) {
			fail(e, "limit", "expected an integer from 1 to %d", max_limit);
			goto out;
		}
		q->limit = (int)n;
	}
	if ((v = evb_params_get(p, "cursor")) && *v) {
		const char *us = strchr(v, '_');
		size_t n = us ? (size_t)(us - v) : 0;
		int ok = us && n > 0 && n < sizeof(q->cursor_us) && strlen(us + 1) == 36;
		for (size_t i = 0; ok && i < n; i++)
			ok = v[i] >= '0' && v[i] <= '9';
		for (const char *c = us ? us + 1 : ""; ok && *c; c++)
			ok = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || *c == '-';
		if (!ok) {
			fail(e, "cursor", "not a cursor this API returned");
			goto out;
		}
		memcpy(q->cursor_us, v, n);
		q->cursor_us[n] = '\0';
		snprintf(q->cursor_id, sizeof(q->cursor_id), "%s", us + 1);
	}
	r = 0;
out:
	evb_params_free(p);
	return r;
}
