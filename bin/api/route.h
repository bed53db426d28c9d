/* evb-api request routing and request-body checks: pure functions over
 * strings and JSON, no I/O, so that test/fuzz/fuzz-api.c reaches them. */
#ifndef EVB_API_ROUTE_H
#define EVB_API_ROUTE_H

#include <jansson.h>
#include <stddef.h>

#define API_ID_MAX 64      /* longest call id or agent slug in a path */
#define API_FIELD_MAX 64

enum api_route {
	R_NONE = 0,
	R_HEALTHZ,
	R_METRICS,
	R_CALLS,          /* GET list, POST create */
	R_CALL,           /* GET one */
	R_CALL_HANGUP,    /* POST */
	R_CALL_EVENTS,    /* GET: the call's raw events */
	R_AGENTS,         /* GET list, POST create */
	R_AGENT,          /* GET, PUT, DELETE */
	R_LEGACY_INITIATE,
	R_LEGACY_STATUS,
	R_LEGACY_ALL,
	R_COUNT,
};

/* What a request asks for. */
struct api_match {
	int route;          /* enum api_route; R_NONE: 404 */
	int method_ok;      /* 0: 405, allow lists the methods */
	char id[API_ID_MAX + 1]; /* the {id} or {slug} of the path, decoded */
	const char *allow;  /* "GET, POST" */
	const char *name;   /* a short name for metrics: "calls_create" */
};

/* Matches method and the raw path (no query) against the routes. Path
 * segments are percent-decoded; an id holds only [A-Za-z0-9_-]. Returns
 * m->route (R_NONE when no route has this path). */
int api_route(const char *method, const char *path, struct api_match *m);

/* 1 if the route takes a request body (and so a Content-Type). */
int api_route_has_body(int route, const char *method);

/* ---- request bodies ---- */

/* An error found in a request: the field (may be "") and a message. */
struct api_err {
	char field[API_FIELD_MAX];
	char msg[256];
};

enum { P_DEFAULT = -1, P_TWILIO = 0, P_VONAGE = 1 };

#define API_NUMBER_MAX 17 /* '+', 15 digits, NUL */
#define API_NAME_MAX 200
#define API_EMAIL_MAX 254
#define API_SLUG_MAX 64
#define API_META_MAX 8192 /* serialised metadata */

/* A call to place. Strings are copies; metadata (an object or NULL) is the
 * caller's reference: api_call_req_release() drops it. */
struct api_call_req {
	char to[API_NUMBER_MAX], from[API_NUMBER_MAX]; /* from "" : the configured one */
	int provider;                                   /* P_* */
	char agent[API_SLUG_MAX + 1];                   /* "" : none */
	char customer_name[API_NAME_MAX + 1], customer_email[API_EMAIL_MAX + 1];
	int has_name, has_email;
	json_t *metadata;
	int machine_detection;
	int ring_timeout_s; /* 0: the provider's default (60) */
};

/* Reads POST /v1/calls: {to, from?, provider?, agent?, customer?: {name,
 * email}, metadata?, machine_detection?, ring_timeout_s?}. Returns 0, or
 * -1 with e set (unknown fields are refused too). */
int api_parse_call(json_t *body, struct api_call_req *r, struct api_err *e);

/* Reads the original app's initiate-call body: phone_number, phone_no or
 * customer_phone, agent_id, customer_name, customer_email, provider (other
 * fields are ignored, as the original did). Returns 0 or -1 with e set. */
int api_parse_legacy_call(json_t *body, struct api_call_req *r, struct api_err *e);

void api_call_req_release(struct api_call_req *r);

/* 1 for an E.164 number: '+', then 7 to 15 digits, the first not 0. */
int api_is_e164(const char *s);

/* 1 for an agent slug: [a-z0-9][a-z0-9_-]{0,63}. */
int api_is_slug(const char *s);

/* The provider named s ("twilio", "vonage"), or -1. */
int api_provider_parse(const char *s);
const char *api_provider_name(int p);

/* An agent: slug, name, hume_config_id, voice, system_prompt, greeting. */
struct api_agent {
	const char *slug, *name, *hume_config_id, *voice, *system_prompt, *greeting;
};

/* Reads an agent body (strings borrowed from body). With slug_required
 * (POST) the body names the slug; otherwise (PUT) a slug in the body must
 * equal path_slug. Returns 0 or -1 with e set. */
int api_parse_agent(json_t *body, int slug_required, const char *path_slug,
		    struct api_agent *a, struct api_err *e);

/* GET /v1/calls query: provider, status, since, limit, cursor. */
struct api_list_q {
	char provider[8], status[16], since[40];
	int limit;
	char cursor_us[24], cursor_id[40]; /* "" : first page */
};

/* Parses a raw query string. Returns 0 or -1 with e set. */
int api_parse_list_query(const char *query, int max_limit, int default_limit,
			 struct api_list_q *q, struct api_err *e);

/* 1 for a canonical call status (initiated ... failed). */
int api_is_status(const char *s);

/* 1 for a final status (completed, busy, no-answer, canceled, failed). */
int api_status_final(const char *s);

/* 1 for "2026-11-21", "2026-11-21T07:05:00Z", "...07:05:00.123+01:00" and
 * the like (what the since filter accepts). */
int api_is_timestamp(const char *s);

#endif
