/* evb-fakeprovider: a local stand-in for the Twilio and Vonage REST APIs. */
#define USAGE                                                                         \
	"evb-fakeprovider --make-keys DIR | --listen HOST:PORT --cert FILE --key FILE " \
	"[--vonage-public-key FILE] [--record FILE] [--config FILE] [--KEY=value ...]"
#define HELP                                                                          \
	"Serves, over HTTPS, the parts of the Twilio and Vonage REST APIs evb-api\n"     \
	"uses, checks every request strictly, answers like the real ones, and\n"         \
	"records each request as one JSON line (n, ms: a monotonic clock, method,\n"   \
	"path, provider, auth, form, json, jwt, status, response, problems).\n\n"                                      \
	"  Twilio  POST /2010-04-01/Accounts/SID/Calls.json        create (201)\n"        \
	"          POST /2010-04-01/Accounts/SID/Calls/CALLSID.json  Status=completed|\n" \
	"                                                          canceled (200)\n"      \
	"          Basic auth TWILIO_ACCOUNT_SID:TWILIO_AUTH_TOKEN; form fields To,\n"    \
	"          From, Url, StatusCallback, StatusCallbackEvent (once per value),\n"    \
	"          Timeout, MachineDetection checked.\n"                                  \
	"  Vonage  POST /v1/calls (201), PUT /v1/calls/UUID {\"action\":\"hangup\"} (204)\n" \
	"          Bearer JWT: RS256 signature checked with --vonage-public-key,\n"       \
	"          claims application_id (= VONAGE_APPLICATION_ID), iat, jti (never\n"    \
	"          reused), exp; numbers without '+'; answer_url and event_url.\n\n"      \
	"Destination numbers choose the outcome (Twilio with '+', Vonage without):\n"    \
	"  +15005550001  400, invalid number     +15005550002  500\n"                     \
	"  +15005550003  429, too many requests  +15005550009  no answer at all\n"        \
	"  anything else: the call is created.\n\n"                                       \
	"  --make-keys DIR   write ca.pem, cert.pem and key.pem (for localhost and\n"     \
	"                    127.0.0.1) and an RSA pair vonage.key, vonage.pub; exit\n"   \
	"  --listen H:P      address to serve on\n"                                       \
	"  --cert, --key     TLS certificate chain and key (PEM)\n"                       \
	"  --vonage-public-key FILE  PEM public key that checks Vonage JWTs\n"            \
	"  --record FILE     append one JSON line per request (default: none)\n"         \
	"  -h, --help        this text;  -V, --version  the version\n\n"                  \
	"Keys: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, VONAGE_APPLICATION_ID.\n"          \
	"For tests only: it trusts nothing and stores nothing durable.\n"                 \
	"Exit status: 0 ok, 100 usage or configuration, 111 temporary failure.\n"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mbedtls/base64.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "evb_certgen.h"
#include "evb_cfg.h"
#include "evb_conn.h"
#include "evb_http.h"
#include "evb_jwt.h"
#include "evb_log.h"
#include "evb_sign.h"
#include "evb_stream.h"
#include "evb_tls.h"
#include "evb_url.h"
#include "evb_util.h"

#define MAX_CALLS 10000
#define MAX_JTIS 10000
#define MAX_HUNG 256

struct fake_call {
	char id[48];   /* CA... or a UUID */
	char to[32], from[32];
	char status[16];
	int vonage;
};

struct fake {
	uv_loop_t *loop;
	struct evb_http_server *srv;
	uv_signal_t sig[2];
	const char *sid, *token, *app_id;
	struct evb_jwt_key *vpub;
	FILE *rec;
	unsigned long n;
	struct fake_call *calls;
	size_t ncalls;
	char (*jtis)[64];
	size_t njtis;
	struct evb_http_req *hung[MAX_HUNG];
	size_t nhung;
};

/* One request being answered: what goes in the record. */
struct ex {
	json_t *rec;       /* the record line */
	json_t *problems;  /* array of strings */
};

static void problem(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct ex *x, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(x->problems, json_string(buf));
}

static void record(struct fake *f, struct ex *x, int status, json_t *resp)
{
	json_object_set_new(x->rec, "status", json_integer(status));
	json_object_set(x->rec, "response", resp ? resp : json_null());
	json_object_set_new(x->rec, "problems", x->problems);
	x->problems = NULL;
	if (f->rec) {
		json_dumpf(x->rec, f->rec, JSON_COMPACT);
		fputc('\n', f->rec);
		fflush(f->rec);
	}
	json_decref(x->rec);
	x->rec = NULL;
}

static void reply(struct fake *f, struct evb_http_req *req, struct ex *x, int status,
		  json_t *resp)
{
	char *body = resp ? json_dumps(resp, JSON_COMPACT) : NULL;

	record(f, x, status, resp);
	evb_http_respond(req, status, body ? "application/json" : NULL, body ? body : "",
			 body ? strlen(body) : 0);
	free(body);
	json_decref(resp);
}

/* ---- Twilio ---- */

static json_t *twilio_error(int status, int code, const char *message)
{
	char more[96];

	snprintf(more, sizeof(more), "https://www.twilio.com/docs/errors/%d", code);
	return json_pack("{s:i, s:s, s:s, s:i}", "code", code, "message", message, "more_info",
			 more, "status", status);
}

static int e164(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 8 || n > 16 || s[0] != '+' || s[1] == '0')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int http_url(const char *s)
{
	struct evb_url *u = s ? evb_url_parse(s) : NULL;
	int ok = u && (strcmp(evb_url_scheme(u), "http") == 0 ||
		       strcmp(evb_url_scheme(u), "https") == 0);

	evb_url_free(u);
	return ok;
}

static json_t *twilio_call_json(const struct fake *f, const struct fake_call *c)
{
	char uri[160], date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(uri, sizeof(uri), "/2010-04-01/Accounts/%s/Calls/%s.json", f->sid, c->id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:n, s:s, s:s, s:s}",
			 "sid", c->id, "account_sid", f->sid, "to", c->to, "to_formatted", c->to,
			 "from", c->from, "from_formatted", c->from, "status", c->status,
			 "direction", "outbound-api", "start_time", "end_time", "duration",
			 "api_version", "2010-04-01", "date_created", date, "uri", uri);
}

/* Checks "Basic base64(sid:token)". */
static int twilio_auth(struct fake *f, struct evb_http_req *req, struct ex *x)
{
	const char *h = evb_http_req_header(req, "authorization");
	unsigned char dec[512];
	char want[512];
	size_t n = 0;

	if (!h || strncmp(h, "Basic ", 6) != 0) {
		json_object_set_new(x->rec, "auth", json_string("missing"));
		return 0;
	}
	snprintf(want, sizeof(want), "%s:%s", f->sid, f->token);
	if (mbedtls_base64_decode(dec, sizeof(dec) - 1, &n, (const unsigned char *)h + 6,
				  strlen(h + 6)) != 0)
		n = 0;
	dec[n] = '\0';
	json_object_set_new(x->rec, "auth",
			    json_string(evb_ct_streq((char *)dec, want) ? "ok" : "bad"));
	return evb_ct_streq((char *)dec, want);
}

/* The form body as {name: [values...]} in the record; NULL if not a form. */
static struct evb_params *twilio_form(struct evb_http_req *req, struct ex *x)
{
	const char *ct = evb_http_req_header(req, "content-type");
	size_t len;
	const uint8_t *body = evb_http_req_body(req, &len);
	struct evb_params *p;
	json_t *form;

	if (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		problem(x, "Content-Type is '%s', not a form", ct ? ct : "");
		return NULL;
	}
	p = evb_params_parse((const char *)body, len);
	if (!p) {
		problem(x, "the form does not parse");
		return NULL;
	}
	form = json_object();
	for (size_t i = 0; i < evb_params_count(p); i++) {
		const char *name = evb_params_name(p, i);
		json_t *a = json_object_get(form, name);
		if (!a) {
			a = json_array();
			json_object_set_new(form, name, a);
		}
		json_array_append_new(a, json_string(evb_params_value(p, i)));
	}
	json_object_set_new(x->rec, "form", form);
	return p;
}

static size_t count_param(const struct evb_params *p, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < evb_params_count(p); i++)
		n += strcmp(evb_params_name(p, i), name) == 0;
	return n;
}

/* Checks the fields of a create; returns the Twilio error to answer, or
 * NULL. */
static json_t *twilio_check_create(const struct evb_params *p, struct ex *x)
{
	static const char *const events[] = { "initiated", "ringing", "answered", "completed" };
	static const char *const known[] = {
		"To", "From", "Url", "Method", "StatusCallback", "StatusCallbackMethod",
		"StatusCallbackEvent", "Timeout", "MachineDetection", "MachineDetectionTimeout",
		"AsyncAmd", "AsyncAmdStatusCallback", "TimeLimit", "Record", "SendDigits",
		"FallbackUrl", "FallbackMethod", "Twiml", "CallerId", "Trim", NULL,
	};
	const char *to = evb_params_get(p, "To"), *from = evb_params_get(p, "From");
	const char *v;
	unsigned seen = 0;
	char *end;

	if (!to)
		return twilio_error(400, 21201, "No 'To' number is specified");
	if (!from)
		return twilio_error(400, 21213, "No 'From' number is specified");
	if (!e164(to))
		return twilio_error(400, 21211, "The 'To' number is not a valid phone number.");
	if (!e164(from))
		return twilio_error(400, 21212, "The 'From' number is not a valid phone number.");
	if (!evb_params_get(p, "Url") && !evb_params_get(p, "Twiml"))
		return twilio_error(400, 21205, "Url parameter is required.");
	if ((v = evb_params_get(p, "Url")) && !http_url(v))
		return twilio_error(400, 21205, "Url is not a valid URL.");
	if ((v = evb_params_get(p, "StatusCallback")) && !http_url(v))
		return twilio_error(400, 21609, "StatusCallback is not a valid URL.");
	for (const char *name = "To"; name; name = strcmp(name, "To") == 0 ? "From" : NULL)
		if (count_param(p, name) != 1)
			problem(x, "'%s' given %zu times", name, count_param(p, name));
	for (size_t i = 0; i < evb_params_count(p); i++) {
		size_t k = 0;
		while (known[k] && strcmp(known[k], evb_params_name(p, i)) != 0)
			k++;
		if (!known[k])
			problem(x, "unknown field '%s' (Twilio ignores it)", evb_params_name(p, i));
	}
	for (size_t i = 0; i < evb_params_count(p); i++) {
		unsigned bit = 0;
		if (strcmp(evb_params_name(p, i), "StatusCallbackEvent") != 0)
			continue;
		v = evb_params_value(p, i);
		for (unsigned k = 0; k < 4; k++)
			if (strcmp(v, events[k]) == 0)
				bit = 1u << k;
		if (!bit || strchr(v, ' '))
			return twilio_error(400, 21626, "Invalid StatusCallbackEvent value.");
		if (seen & bit)
			problem(x, "StatusCallbackEvent '%s' given twice", v);
		seen |= bit;
	}
	if ((v = evb_params_get(p, "StatusCallbackMethod")) && strcmp(v, "GET") != 0 &&
	    strcmp(v, "POST") != 0)
		return twilio_error(400, 21610, "Invalid StatusCallbackMethod.");
	if ((v = evb_params_get(p, "Timeout"))) {
		long t = strtol(v, &end, 10);
		if (*end || end == v || t < 1 || t > 600)
			return twilio_error(400, 21217, "Timeout must be between 1 and 600.");
	}
	if ((v = evb_params_get(p, "MachineDetection")) && strcmp(v, "Enable") != 0 &&
	    strcmp(v, "DetectMessageEnd") != 0)
		return twilio_error(400, 21630, "Invalid MachineDetection value.");
	return NULL;
}

static struct fake_call *find_call(struct fake *f, const char *id, int vonage)
{
	for (size_t i = 0; i < f->ncalls; i++)
		if (f->calls[i].vonage == vonage && strcmp(f->calls[i].id, id) == 0)
			return &f->calls[i];
	return NULL;
}

static struct fake_call *add_call(struct fake *f, int vonage, const char *to, const char *from)
{
	struct fake_call *c;
	uint8_t id[EVB_CALLID_LEN];
	char uuid[EVB_CALLID_STRLEN];

	if (f->ncalls == MAX_CALLS)
		return NULL;
	c = &f->calls[f->ncalls++];
	memset(c, 0, sizeof(*c));
	evb_callid_random(id);
	evb_callid_format(id, uuid);
	if (vonage) {
		snprintf(c->id, sizeof(c->id), "%s", uuid);
		snprintf(c->status, sizeof(c->status), "started");
	} else {
		/* "CA" and 32 hex digits. */
		size_t o = 2;
		memcpy(c->id, "CA", 2);
		for (const char *p = uuid; *p; p++)
			if (*p != '-')
				c->id[o++] = *p;
		c->id[o] = '\0';
		snprintf(c->status, sizeof(c->status), "queued");
	}
	c->vonage = vonage;
	snprintf(c->to, sizeof(c->to), "%s", to);
	snprintf(c->from, sizeof(c->from), "%s", from);
	return c;
}

static void hang(struct fake *f, struct evb_http_req *req, struct ex *x);

/* The magic destination numbers: 1 if the request was answered here. */
static int magic(struct fake *f, struct evb_http_req *req, struct ex *x, const char *to,
		 int vonage)
{
	const char *d = to + (to[0] == '+');
	json_t *r = NULL;
	int status = 0;

	if (strcmp(d, "15005550009") == 0) {
		hang(f, req, x);
		return 1;
	}
	if (strcmp(d, "15005550001") == 0) {
		status = 400;
		r = vonage ? json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "type",
				       "https://developer.nexmo.com/api-errors/voice#validation",
				       "title", "Bad Request", "detail",
				       "The number you are trying to call is not valid",
				       "invalid_parameters", "name", "to", "reason", "invalid number")
			   : twilio_error(400, 21211, "The 'To' number +15005550001 is not a "
						      "valid phone number.");
	} else if (strcmp(d, "15005550002") == 0) {
		status = 500;
		r = vonage ? json_pack("{s:s, s:s, s:s}", "type",
				       "https://developer.nexmo.com/api-errors#internal-error",
				       "title", "Internal Error", "detail",
				       "Something went wrong on our side")
			   : twilio_error(500, 20500, "Internal Server Error");
	} else if (strcmp(d, "15005550003") == 0) {
		status = 429;
		r = vonage ? json_pack("{s:s, s:s, s:s}", "type",
				       "https://developer.nexmo.com/api-errors#throttled", "title",
				       "Too Many Requests", "detail", "Rate limit hit")
			   : twilio_error(429, 20429, "Too Many Requests");
	}
	if (!status)
		return 0;
	reply(f, req, x, status, r);
	return 1;
}

static void twilio(struct fake *f, struct evb_http_req *req, struct ex *x, const char *sid,
		   const char *call_sid)
{
	struct evb_params *p = NULL;
	struct fake_call *c;
	json_t *err;
	const char *method = evb_http_req_method(req), *st;
	char msg[256];

	json_object_set_new(x->rec, "provider", json_string("twilio"));
	if (!twilio_auth(f, req, x) || strcmp(sid, f->sid) != 0) {
		reply(f, req, x, 401, twilio_error(401, 20003, "Authenticate"));
		return;
	}
	if (strcmp(method, "POST") != 0) {
		reply(f, req, x, 405, twilio_error(405, 20004, "Method not allowed"));
		return;
	}
	if (!(p = twilio_form(req, x))) {
		reply(f, req, x, 400, twilio_error(400, 21200, "The request is not a form."));
		return;
	}
	if (!call_sid) {
		if ((err = twilio_check_create(p, x))) {
			reply(f, req, x, 400, err);
		} else if (!magic(f, req, x, evb_params_get(p, "To"), 0)) {
			c = add_call(f, 0, evb_params_get(p, "To"), evb_params_get(p, "From"));
			if (c)
				reply(f, req, x, 201, twilio_call_json(f, c));
			else
				reply(f, req, x, 503, twilio_error(503, 20503, "Full"));
		}
	} else if (!(c = find_call(f, call_sid, 0))) {
		snprintf(msg, sizeof(msg), "The requested resource /2010-04-01/Accounts/%s/"
			 "Calls/%s.json was not found", sid, call_sid);
		reply(f, req, x, 404, twilio_error(404, 20404, msg));
	} else if (!(st = evb_params_get(p, "Status")) ||
		   (strcmp(st, "completed") != 0 && strcmp(st, "canceled") != 0)) {
		reply(f, req, x, 400, twilio_error(400, 21218, "Invalid Status: expected "
							       "canceled or completed"));
	} else {
		if (evb_params_count(p) != 1)
			problem(x, "hangup carries %zu fields, expected only Status",
				evb_params_count(p));
		snprintf(c->status, sizeof(c->status), "%s", st);
		reply(f, req, x, 200, twilio_call_json(f, c));
	}
	evb_params_free(p);
}

/* ---- Vonage ---- */

static json_t *vonage_error(const char *type, const char *title, const char *detail)
{
	char t[128];

	snprintf(t, sizeof(t), "https://developer.nexmo.com/api-errors%s", type);
	return json_pack("{s:s, s:s, s:s}", "type", t, "title", title, "detail", detail);
}

/* Checks the Bearer JWT; 1 if good. */
static int vonage_auth(struct fake *f, struct evb_http_req *req, struct ex *x)
{
	const char *h = evb_http_req_header(req, "authorization"), *jti, *app;
	json_t *claims = NULL, *header = NULL, *j = json_object();
	int64_t now = time(NULL), iat, exp;
	int r, ok = 0;

	json_object_set_new(x->rec, "jwt", j);
	if (!h || strncmp(h, "Bearer ", 7) != 0) {
		problem(x, "no Bearer token");
		return 0;
	}
	if (evb_jwt_decode(h + 7, &header, NULL) == 0)
		json_object_set_new(j, "header", header);
	r = evb_jwt_verify_rs256(f->vpub, h + 7, &claims);
	json_object_set_new(j, "verified", json_boolean(r == 0));
	if (r < 0) {
		problem(x, "JWT signature check failed: %s", strerror(-r));
		return 0;
	}
	json_object_set(j, "claims", claims);
	app = json_string_value(json_object_get(claims, "application_id"));
	jti = json_string_value(json_object_get(claims, "jti"));
	iat = json_integer_value(json_object_get(claims, "iat"));
	exp = json_integer_value(json_object_get(claims, "exp"));
	if (!app || strcmp(app, f->app_id) != 0)
		problem(x, "application_id is not '%s'", f->app_id);
	else if (!jti || !*jti || strlen(jti) >= sizeof(f->jtis[0]))
		problem(x, "no usable jti");
	else if (!json_is_integer(json_object_get(claims, "iat")) || iat > now + 300 ||
		 iat < now - 300)
		problem(x, "iat missing or not now");
	else if (json_object_get(claims, "exp") &&
		 (!json_is_integer(json_object_get(claims, "exp")) || exp <= now ||
		  exp - iat < 30 || exp - iat > 86400))
		problem(x, "exp not between 30 s and 24 h after iat");
	else if (evb_jwt_check_times(claims, now, 300, 0) < 0)
		problem(x, "time claims refused");
	else
		ok = 1;
	for (size_t i = 0; ok && i < f->njtis; i++)
		if (strcmp(f->jtis[i], jti) == 0) {
			problem(x, "jti '%s' used before", jti);
			ok = 0;
		}
	if (ok && f->njtis < MAX_JTIS)
		snprintf(f->jtis[f->njtis++], sizeof(f->jtis[0]), "%s", jti);
	json_decref(claims);
	return ok;
}

static json_t *vonage_body(struct evb_http_req *req, struct ex *x)
{
	const char *ct = evb_http_req_header(req, "content-type");
	size_t len;
	const uint8_t *body = evb_http_req_body(req, &len);
	json_t *j;

	if (!ct || strncmp(ct, "application/json", 16) != 0) {
		problem(x, "Content-Type is '%s', not JSON", ct ? ct : "");
		return NULL;
	}
	j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		problem(x, "the body is not a JSON object");
		json_decref(j);
		return NULL;
	}
	json_object_set(x->rec, "json", j);
	return j;
}

static int vonage_number(json_t *ep)
{
	const char *t = json_string_value(json_object_get(ep, "type"));
	const char *n = json_string_value(json_object_get(ep, "number"));
	size_t len = n ? strlen(n) : 0;

	if (!t || strcmp(t, "phone") != 0 || len < 7 || len > 15)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	return 1;
}

static int url_array(json_t *a)
{
	if (!json_is_array(a) || json_array_size(a) != 1)
		return 0;
	return http_url(json_string_value(json_array_get(a, 0)));
}

/* The reason a create body is invalid, or NULL. */
static const char *vonage_check_create(json_t *b, struct ex *x)
{
	static const char *const known[] = {
		"to", "from", "ncco", "answer_url", "answer_method", "event_url", "event_method",
		"machine_detection", "advanced_machine_detection", "length_timer",
		"ringing_timer", "random_from_number", NULL,
	};
	json_t *to = json_object_get(b, "to"), *v;
	const char *s, *key;

	json_object_foreach(b, key, v) {
		size_t k = 0;
		while (known[k] && strcmp(known[k], key) != 0)
			k++;
		if (!known[k])
			problem(x, "unknown field '%s'", key);
	}

	if (!json_is_array(to) || json_array_size(to) != 1 || !vonage_number(json_array_get(to, 0)))
		return "to: expected one phone endpoint, number of 7 to 15 digits without '+'";
	if (!vonage_number(json_object_get(b, "from")) &&
	    !json_is_true(json_object_get(b, "random_from_number")))
		return "from: expected a phone endpoint, number of 7 to 15 digits without '+'";
	if (!json_object_get(b, "ncco") && !url_array(json_object_get(b, "answer_url")))
		return "answer_url: expected an array of one URL (or an ncco)";
	if (!url_array(json_object_get(b, "event_url")))
		return "event_url: expected an array of one URL";
	if ((s = json_string_value(json_object_get(b, "answer_method"))) && strcmp(s, "GET") &&
	    strcmp(s, "POST"))
		return "answer_method: GET or POST";
	if ((s = json_string_value(json_object_get(b, "event_method"))) && strcmp(s, "GET") &&
	    strcmp(s, "POST"))
		return "event_method: GET or POST";
	if ((v = json_object_get(b, "ringing_timer")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 120))
		return "ringing_timer: 1 to 120";
	if ((v = json_object_get(b, "length_timer")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 7200))
		return "length_timer: 1 to 7200";
	if ((v = json_object_get(b, "machine_detection")) &&
	    (!(s = json_string_value(v)) || (strcmp(s, "continue") && strcmp(s, "hangup"))))
		return "machine_detection: continue or hangup";
	return NULL;
}

static void vonage(struct fake *f, struct evb_http_req *req, struct ex *x, const char *uuid)
{
	const char *method = evb_http_req_method(req), *why, *action;
	json_t *b = NULL;
	struct fake_call *c;
	char detail[160];

	json_object_set_new(x->rec, "provider", json_string("vonage"));
	if (!vonage_auth(f, req, x)) {
		reply(f, req, x, 401, vonage_error("#unauthorized", "Unauthorized",
						   "You did not provide correct credentials."));
		return;
	}
	if (strcmp(method, uuid ? "PUT" : "POST") != 0) {
		reply(f, req, x, 405, vonage_error("#method-not-allowed", "Method Not Allowed",
						   "Method not allowed"));
		return;
	}
	if (!(b = vonage_body(req, x))) {
		reply(f, req, x, 400, vonage_error("/voice#validation", "Bad Request",
						   "The request body is not JSON"));
		return;
	}
	if (!uuid) {
		const char *to = json_string_value(
			json_object_get(json_array_get(json_object_get(b, "to"), 0), "number"));
		if ((why = vonage_check_create(b, x))) {
			reply(f, req, x, 400, vonage_error("/voice#validation", "Bad Request", why));
		} else if (!magic(f, req, x, to, 1)) {
			const char *from = json_string_value(
				json_object_get(json_object_get(b, "from"), "number"));
			c = add_call(f, 1, to, from ? from : "");
			if (!c) {
				reply(f, req, x, 503, vonage_error("#full", "Full", "Full"));
			} else {
				char con[64];
				snprintf(con, sizeof(con), "CON-%s", c->id);
				reply(f, req, x, 201,
				      json_pack("{s:s, s:s, s:s, s:s}", "uuid", c->id, "status",
						"started", "direction", "outbound",
						"conversation_uuid", con));
			}
		}
	} else if (!(c = find_call(f, uuid, 1))) {
		snprintf(detail, sizeof(detail), "Call %s doesn't exist.", uuid);
		reply(f, req, x, 404, vonage_error("#not-found", "Not Found", detail));
	} else if (!(action = json_string_value(json_object_get(b, "action"))) ||
		   strcmp(action, "hangup") != 0 || json_object_size(b) != 1) {
		reply(f, req, x, 400, vonage_error("/voice#validation", "Bad Request",
						   "expected {\"action\":\"hangup\"}"));
	} else {
		snprintf(c->status, sizeof(c->status), "completed");
		reply(f, req, x, 204, NULL);
	}
	json_decref(b);
}

/* ---- requests that never get an answer ---- */

static void hung_abort(struct evb_http_req *req, void *arg)
{
	struct fake *f = arg;

	for (size_t i = 0; i < f->nhung; i++) {
		if (f->hung[i] == req) {
			f->hung[i] = f->hung[--f->nhung];
			break;
		}
	}
	evb_http_respond(req, 504, NULL, "", 0); /* dropped: the client is gone */
}

static void hang(struct fake *f, struct evb_http_req *req, struct ex *x)
{
	record(f, x, 0, NULL);
	if (f->nhung == MAX_HUNG) {
		evb_http_respond(req, 503, NULL, "", 0);
		return;
	}
	f->hung[f->nhung++] = req;
	evb_http_req_set_abort_cb(req, hung_abort, f);
}

/* ---- dispatch ---- */

static void on_request(struct evb_http_req *req, void *arg)
{
	struct fake *f = arg;
	const char *path = evb_http_req_path(req);
	struct ex x = { json_object(), json_array() };
	char sid[64], call[64], tail[16];
	int n = 0;

	json_object_set_new(x.rec, "n", json_integer((json_int_t)++f->n));
	json_object_set_new(x.rec, "ms", json_integer((json_int_t)(evb_now_ns() / 1000000)));
	json_object_set_new(x.rec, "method", json_string(evb_http_req_method(req)));
	json_object_set_new(x.rec, "path", json_string(path));
	json_object_set_new(x.rec, "query", json_string(evb_http_req_query(req)));
	if (sscanf(path, "/2010-04-01/Accounts/%63[A-Za-z0-9]/Calls.jso%1[n]%n", sid, tail, &n) ==
		    2 && path[n] == '\0') {
		twilio(f, req, &x, sid, NULL);
	} else if (sscanf(path, "/2010-04-01/Accounts/%63[A-Za-z0-9]/Calls/%63[A-Za-z0-9].jso%1[n]%n",
			  sid, call, tail, &n) == 3 && path[n] == '\0') {
		twilio(f, req, &x, sid, call);
	} else if (strcmp(path, "/v1/calls") == 0) {
		vonage(f, req, &x, NULL);
	} else if (sscanf(path, "/v1/calls/%63[0-9a-f-]%n", call, &n) == 1 && path[n] == '\0') {
		vonage(f, req, &x, call);
	} else {
		json_object_set_new(x.rec, "provider", json_null());
		reply(f, req, &x, 404, json_pack("{s:s}", "message", "no such resource"));
	}
	json_decref(x.problems);
}

/* ---- main ---- */

static int rng(void *unused, unsigned char *buf, size_t len)
{
	(void)unused;
	return evb_tls_random(buf, len) < 0 ? -1 : 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), r;

	if (fd < 0)
		return -errno;
	r = evb_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int make_keys(const char *dir)
{
	static const char *const names[] = { "localhost", "127.0.0.1" };
	mbedtls_pk_context k;
	unsigned char pem[8192];
	char path[4096], err[512];
	struct evb_jwt_key *jk = NULL;
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "evb-fakeprovider: unable to create '%s': %s\n", dir,
			strerror(errno));
		return 111;
	}
	if (evb_certgen_make(dir, names, 2, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-fakeprovider: %s\n", err);
		return 111;
	}
	mbedtls_pk_init(&k);
	r = mbedtls_pk_setup(&k, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) ||
	    mbedtls_rsa_gen_key(mbedtls_pk_rsa(k), rng, NULL, 2048, 65537) ||
	    mbedtls_pk_write_key_pem(&k, pem, sizeof(pem));
	mbedtls_pk_free(&k);
	snprintf(path, sizeof(path), "%s/vonage.key", dir);
	if (r || write_file(path, pem, strlen((char *)pem)) < 0 ||
	    !(jk = evb_jwt_key_parse(pem, strlen((char *)pem), 0)) ||
	    evb_jwt_key_public_pem(jk, (char *)pem, sizeof(pem)) < 0 ||
	    (snprintf(path, sizeof(path), "%s/vonage.pub", dir),
	     write_file(path, pem, strlen((char *)pem)) < 0)) {
		fprintf(stderr, "evb-fakeprovider: unable to write the RSA key pair in '%s'\n", dir);
		evb_jwt_key_free(jk);
		return 111;
	}
	evb_jwt_key_free(jk);
	return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct fake *f = h->data;

	(void)signum;
	while (f->nhung)
		evb_http_respond(f->hung[--f->nhung], 503, NULL, "", 0);
	evb_http_server_free(f->srv);
	f->srv = NULL;
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&f->sig[i], NULL);
}

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "make-keys", required_argument, NULL, 'm' },
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "vonage-public-key", required_argument, NULL, 'v' },
		{ "record", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static struct fake f;
	const char *keys_dir = NULL, *listen = NULL, *cert = NULL, *key = NULL, *vpub = NULL,
		   *rec = NULL;
	struct evb_tls_config *tls = NULL;
	struct evb_cfg *cfg;
	char err[1024], host[EVB_STREAM_HOST_MAX];
	int c, port, rc = 100;

	evb_log_init("evb-fakeprovider");
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-fakeprovider %s\n", EVB_VERSION);
			return 0;
		}
	}
	cfg = evb_cfg_new();
	if (!cfg || evb_cfg_from_argv(cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-fakeprovider: %s\n", cfg ? err : strerror(errno));
		evb_cfg_free(cfg);
		return 100;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': keys_dir = optarg; break;
		case 'l': listen = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'v': vpub = optarg; break;
		case 'r': rec = optarg; break;
		default:
			evb_cfg_free(cfg);
			return usage();
		}
	}
	if (optind != argc || (!keys_dir && (!listen || !cert || !key))) {
		evb_cfg_free(cfg);
		return usage();
	}
	if (keys_dir) {
		rc = make_keys(keys_dir);
		evb_cfg_free(cfg);
		return rc;
	}
	signal(SIGPIPE, SIG_IGN);
	f.sid = evb_cfg_get(cfg, "TWILIO_ACCOUNT_SID");
	f.token = evb_cfg_get(cfg, "TWILIO_AUTH_TOKEN");
	f.app_id = evb_cfg_get(cfg, "VONAGE_APPLICATION_ID");
	if (!f.sid || !f.token || !f.app_id) {
		fprintf(stderr, "evb-fakeprovider: missing required key '%s'\n",
			!f.sid ? "TWILIO_ACCOUNT_SID" : !f.token ? "TWILIO_AUTH_TOKEN"
								 : "VONAGE_APPLICATION_ID");
		goto out;
	}
	if (evb_stream_parse_hostport(listen, host, sizeof(host), &port) < 0) {
		fprintf(stderr, "evb-fakeprovider: --listen: expected HOST:PORT, got '%s'\n",
			listen);
		goto out;
	}
	if (vpub && !(f.vpub = evb_jwt_key_load(vpub, 1))) {
		fprintf(stderr, "evb-fakeprovider: --vonage-public-key: unable to load '%s': %s\n",
			vpub, strerror(errno));
		goto out;
	}
	if (!(tls = evb_tls_server_config_new(cert, key, err, sizeof(err)))) {
		fprintf(stderr, "evb-fakeprovider: %s\n", err);
		goto out;
	}
	if (rec && !(f.rec = fopen(rec, "a"))) {
		fprintf(stderr, "evb-fakeprovider: unable to open '%s': %s\n", rec,
			strerror(errno));
		goto out;
	}
	f.calls = calloc(MAX_CALLS, sizeof(*f.calls));
	f.jtis = calloc(MAX_JTIS, sizeof(*f.jtis));
	f.loop = uv_default_loop();
	rc = 111;
	if (!f.calls || !f.jtis ||
	    !(f.srv = evb_http_server_new(f.loop, host, port, tls, on_request, &f))) {
		fprintf(stderr, "evb-fakeprovider: unable to listen on '%s': %s\n", listen,
			strerror(errno));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		uv_signal_init(f.loop, &f.sig[i]);
		f.sig[i].data = &f;
		uv_signal_start(&f.sig[i], on_signal, i ? SIGINT : SIGTERM);
	}
	EVB_LOG(LOG_INFO, "fake", "serving Twilio and Vonage on '%s'", listen);
	evb_notify_ready();
	uv_run(f.loop, UV_RUN_DEFAULT);
	rc = 0;
out:
	if (f.loop) {
		uv_walk(f.loop, close_walk, NULL);
		uv_run(f.loop, UV_RUN_DEFAULT);
		uv_loop_close(f.loop);
	}
	evb_tls_config_free(tls);
	evb_jwt_key_free(f.vpub);
	if (f.rec)
		fclose(f.rec);
	free(f.calls);
	free(f.jtis);
	evb_cfg_free(cfg);
	return rc;
}
