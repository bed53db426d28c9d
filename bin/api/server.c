/* evb-api requests: rate limit, Bearer auth, routing, body checks, then a
 * job handed to its handler; answers and shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "api.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_sign.h"
#include "evb_tls.h"
#include "evb_url.h"

#define RATELIMIT_SLOTS 4096

/* ---- answering ---- */

static void job_unlink(struct job *j)
{
	struct api *a = j->api;

	if (j->prev)
		j->prev->next = j->next;
	else
		a->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	a->njobs--;
}

static void job_free(struct job *j)
{
	job_unlink(j);
	json_decref(j->body);
	api_call_req_release(&j->cr);
	free(j);
}

/* message as a JSON string; bytes that are not UTF-8 (a provider's text
 * cut mid-character) become '?'. */
static json_t *message_str(const char *message)
{
	json_t *m = json_string(message);
	char *copy;

	if (m || !(copy = strdup(message)))
		return m;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	m = json_string(copy);
	free(copy);
	return m;
}

static json_t *error_obj(const char *code, const char *field, const char *message)
{
	json_t *e = json_pack("{s:s, s:o*}", "code", code, "message", message_str(message));

	if (e && field && *field)
		json_object_set_new(e, "field", message_str(field));
	return json_pack("{s:b, s:o}", "success", 0, "error", e ? e : json_object());
}

/* Answers req (not a job) and counts it. */
static void respond(struct api *a, struct evb_http_req *req, const char *route, uint64_t start,
		    int status, const char *ct, const char *body, size_t len)
{
	evb_http_respond(req, status, ct, body, len);
	metrics_request(a, route, status, start);
}

static void respond_json(struct api *a, struct evb_http_req *req, const char *route,
			 uint64_t start, int status, json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	if (!s) {
		static const char oom[] = "{\"success\":false,\"error\":{\"code\":"
					  "\"internal_error\",\"message\":\"out of memory\"}}";
		respond(a, req, route, start, 500, "application/json", oom, sizeof(oom) - 1);
	} else {
		respond(a, req, route, start, status, "application/json", s, strlen(s));
	}
	free(s);
	json_decref(obj);
}

static void respond_error(struct api *a, struct evb_http_req *req, const char *route,
			  uint64_t start, int status, const char *code, const char *field,
			  const char *message)
{
	respond_json(a, req, route, start, status, error_obj(code, field, message));
}

void job_reply_raw(struct job *j, int status, const char *ct, const char *body, size_t len)
{
	respond(j->api, j->req, j->m.name, j->start_ns, status, ct, body, len);
	job_free(j);
}

void job_reply_json(struct job *j, int status, json_t *obj)
{
	respond_json(j->api, j->req, j->m.name, j->start_ns, status, obj);
	job_free(j);
}

void job_reply_error(struct job *j, int status, const char *code, const char *field,
		     const char *message)
{
	if (status >= 500)
		EVB_LOG(LOG_INFO, "api", "%s %s: %d %s", evb_http_req_method(j->req),
			j->m.name, status, message);
	job_reply_json(j, status, error_obj(code, field, message));
}

json_t *with_success(json_t *o)
{
	json_t *r = json_pack("{s:b}", "success", 1);

	if (r && o)
		json_object_update(r, o);
	json_decref(o);
	return r;
}

int db_ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

json_t *db_json(const PGresult *res)
{
	if (!res || PQntuples(res) < 1 || PQnfields(res) < 1 || PQgetisnull(res, 0, 0))
		return NULL;
	return json_loads(PQgetvalue(res, 0, 0), 0, NULL);
}

void job_reply_db(struct job *j, PGresult *res, int err, const char *what)
{
	char msg[300];

	if (err == -ETIMEDOUT) {
		job_reply_error(j, 503, "database_unavailable", NULL,
				"the database did not answer in time");
	} else if (err < 0) {
		job_reply_error(j, 503, "database_unavailable", NULL,
				"the database is unreachable");
	} else {
		EVB_LOG(LOG_ERR, "api", "unable to %s: %s (SQLSTATE %s)", what,
			evb_pgq_errmsg(res, msg, sizeof(msg)), evb_pgq_sqlstate(res));
		job_reply_error(j, 500, "internal_error", NULL, "the database refused the query");
	}
}

int job_query(struct job *j, const char *sql, int n, const char *const *values, evb_pgq_cb cb)
{
	int r = j->api->db ? evb_pgq_query(j->api->db, sql, n, values, 0, cb, j) : -ENOTCONN;

	if (r == 0)
		return 0;
	if (r == EVB_EFULL)
		job_reply_error(j, 503, "database_busy", NULL, "too many queries waiting");
	else
		job_reply_db(j, NULL, -ENOTCONN, NULL);
	return -1;
}

/* ---- requests ---- */

static int content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' ||
						       ct[n] == ' ');
}

/* 1 if the request carries the right Bearer token. */
static int authorized(struct api *a, struct evb_http_req *req)
{
	const char *h = evb_http_req_header(req, "authorization");

	if (!a->auth)
		return 1;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	return evb_token_ok(h, a->token_sha);
}

/* The form body of the original app's initiate-call as a JSON object. */
static json_t *form_to_json(const uint8_t *body, size_t len)
{
	struct evb_params *p = evb_params_parse((const char *)body, len);
	json_t *o;

	if (!p)
		return NULL;
	o = json_object();
	for (size_t i = 0; o && i < evb_params_count(p); i++)
		if (!json_object_get(o, evb_params_name(p, i)))
			json_object_set_new(o, evb_params_name(p, i),
					    json_string(evb_params_value(p, i)));
	evb_params_free(p);
	return o;
}

/* Reads the body of a request that takes one into j->body; answers 415 or
 * 400 itself and returns -1. */
static int read_body(struct job *j)
{
	const char *ct = evb_http_req_header(j->req, "content-type");
	size_t len;
	const uint8_t *body = evb_http_req_body(j->req, &len);
	json_error_t err;
	char msg[300];

	if (j->legacy && content_type_is(ct, "application/x-www-form-urlencoded")) {
		j->body = form_to_json(body, len);
		if (!j->body) {
			job_reply_error(j, 400, "invalid_body", NULL, "the form does not parse");
			return -1;
		}
		return 0;
	}
	if (!content_type_is(ct, "application/json")) {
		job_reply_error(j, 415, "unsupported_media_type", NULL,
				j->legacy ? "send application/json or a form"
					  : "send the body as application/json");
		return -1;
	}
	j->body = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &err);
	if (!j->body) {
		snprintf(msg, sizeof(msg), "the body is not valid JSON: %s (line %d)", err.text,
			 err.line);
		job_reply_error(j, 400, "invalid_json", NULL, msg);
		return -1;
	}
	if (!json_is_object(j->body)) {
		job_reply_error(j, 400, "invalid_json", NULL, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

static void dispatch(struct job *j)
{
	switch (j->m.route) {
	case R_METRICS:
		metrics_serve(j);
		break;
	case R_CALLS:
		if (strcmp(evb_http_req_method(j->req), "POST") == 0)
			calls_create(j);
		else
			calls_list(j);
		break;
	case R_CALL:
		calls_get(j);
		break;
	case R_CALL_HANGUP:
		calls_hangup(j);
		break;
	case R_CALL_EVENTS:
		calls_events(j);
		break;
	case R_AGENTS:
	case R_AGENT:
		agents_handle(j);
		break;
	case R_LEGACY_INITIATE:
		calls_create(j);
		break;
	case R_LEGACY_STATUS:
		legacy_status(j);
		break;
	case R_LEGACY_ALL:
		legacy_all(j);
		break;
	default:
		job_reply_error(j, 404, "not_found", NULL, "no such resource");
		break;
	}
}

static void on_request(struct evb_http_req *req, void *arg)
{
	struct api *a = arg;
	uint64_t start = evb_now_ns();
	struct api_match m;
	struct job *j;
	unsigned retry = 0;
	char rs[16];

	api_route(evb_http_req_method(req), evb_http_req_path(req), &m);
	if (a->stopping) {
		respond_error(a, req, m.name, start, 503, "shutting_down", NULL,
			      "evb-api is stopping");
		return;
	}
	if (m.route == R_HEALTHZ && m.method_ok) {
		if (!(j = calloc(1, sizeof(*j)))) {
			respond_error(a, req, m.name, start, 503, "internal_error", NULL,
				      "out of memory");
			return;
		}
		goto job;
	}
	if (!ratelimit_take(a->rl, evb_http_req_peer(req), uv_now(a->loop), &retry)) {
		evb_metric_add(a->m.limited_client, 1);
		snprintf(rs, sizeof(rs), "%u", retry);
		evb_http_req_add_header(req, "Retry-After", rs);
		respond_error(a, req, m.name, start, 429, "rate_limited", NULL,
			      "too many requests from this address");
		return;
	}
	/* The dashboard's pages carry no data: the token is asked by the page. */
	if (m.route == R_NONE && web_is_path(evb_http_req_path(req))) {
		web_serve(a, req, start);
		return;
	}
	if (!authorized(a, req)) {
		evb_metric_add(a->m.auth_fail, 1);
		evb_http_req_add_header(req, "WWW-Authenticate", "Bearer realm=\"evb-api\"");
		respond_error(a, req, m.name, start, 401, "unauthorized", NULL,
			      "send Authorization: Bearer <EVB_API_TOKEN>");
		return;
	}
	if (m.route == R_NONE) {
		respond_error(a, req, m.name, start, 404, "not_found", NULL, "no such resource");
		return;
	}
	if (!m.method_ok) {
		char msg[96];
		evb_http_req_add_header(req, "Allow", m.allow);
		snprintf(msg, sizeof(msg), "%s is not allowed here (allowed: %s)",
			 evb_http_req_method(req), m.allow);
		respond_error(a, req, m.name, start, 405, "method_not_allowed", NULL, msg);
		return;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		respond_error(a, req, m.name, start, 503, "internal_error", NULL, "out of memory");
		return;
	}
job:
	j->api = a;
	j->req = req;
	j->m = m;
	j->start_ns = start;
	j->legacy = m.route >= R_LEGACY_INITIATE;
	j->next = a->jobs;
	if (a->jobs)
		a->jobs->prev = j;
	a->jobs = j;
	a->njobs++;
	if (m.route == R_HEALTHZ) {
		healthz_serve(j);
		return;
	}
	if (api_route_has_body(m.route, evb_http_req_method(req)) && read_body(j) < 0)
		return;
	dispatch(j);
}

/* ---- start and stop ---- */

static void on_signal(uv_signal_t *h, int signum)
{
	struct api *a = h->data;

	EVB_LOG(LOG_INFO, "api", "signal %d: stopping", signum);
	api_stop(a, 0);
}

int api_start(struct api *a)
{
	char err[512];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	a->loop = uv_default_loop();
	pace_init(a);
	if (a->o.token) {
		a->auth = 1;
		mbedtls_sha256_ret((const unsigned char *)a->o.token, strlen(a->o.token),
				   a->token_sha, 0);
	}
	a->tls = evb_tls_client_config_new(a->o.ca_file, 0, err, sizeof(err));
	if (!a->tls) {
		EVB_LOG(LOG_ERR, "api", "EVB_CA_FILE: %s", err);
		return 100;
	}
	if ((rc = web_init(a)) != 0)
		return rc;
	a->rl = ratelimit_new(RATELIMIT_SLOTS, a->o.rate, a->o.burst);
	a->db = evb_pgq_new(a->loop, a->o.database_url, a->o.db_conns, 0);
	if (!a->rl || !a->db) {
		EVB_LOG(LOG_ERR, "api", "unable to start: %s", strerror(errno));
		return 111;
	}
	if (metrics_init(a) < 0)
		EVB_LOG(LOG_WARNING, "api", "unable to serve '%s/api.metrics': %s", a->o.run_dir,
			strerror(errno));
	{
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/logger.sock", a->o.run_dir);
		a->events = evb_events_new(a->loop, path, 0, 0);
		if (!a->events)
			EVB_LOG(LOG_WARNING, "api", "no events to evb-logger ('%s'): %s", path,
				strerror(errno));
	}
	a->srv = evb_http_server_new(a->loop, a->o.host, a->o.port, NULL, on_request, a);
	if (!a->srv) {
		int e = errno;
		EVB_LOG(LOG_ERR, "api", "unable to listen on '%s:%d': %s", a->o.host, a->o.port,
			strerror(e));
		return e == EADDRINUSE || e == EACCES ? 111 : 100;
	}
	evb_http_server_set_max_body(a->srv, a->o.max_body);
	for (int i = 0; i < 2; i++) {
		uv_signal_init(a->loop, &a->sig[i]);
		a->sig[i].data = a;
		uv_signal_start(&a->sig[i], on_signal, i ? SIGINT : SIGTERM);
	}
	EVB_LOG(LOG_INFO, "api", "listening on '%s:%d'%s", a->o.host,
		evb_http_server_port(a->srv), a->auth ? "" : " without authentication (loopback)");
	return 0;
}

void api_stop(struct api *a, int rc)
{
	if (a->stopping++)
		return;
	a->rc = rc;
	if (a->srv)
		evb_http_server_free(a->srv);
	a->srv = NULL;
	evb_pgq_free(a->db); /* no query callback runs after this */
	a->db = NULL;
	while (a->jobs) {
		struct job *j = a->jobs;
		if (j->hc)
			evb_httpc_free(j->hc);
		j->hc = NULL;
		pace_leave(j);
		gather_cancel(j);
		job_reply_error(j, 503, "shutting_down", NULL, "evb-api is stopping");
	}
	pace_release(a);
	metrics_release(a);
	if (a->events)
		evb_events_free(a->events);
	a->events = NULL;
	for (int i = 0; i < 2; i++)
		if (uv_is_active((uv_handle_t *)&a->sig[i]))
			uv_close((uv_handle_t *)&a->sig[i], NULL);
}
