/* evb-fakehume's server: ws:// or wss:// on one port, the EVI chat
 * handshake (path, query schema, api_key or access_token, chat groups),
 * the OAuth client-credentials token endpoint, the record file, the tick
 * and signals. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "evb_certgen.h"
#include "evb_conn.h"
#include "evb_err.h"
#include "evb_log.h"
#include "evb_sign.h"
#include "evb_tls.h"
#include "evb_url.h"
#include "evb_util.h"
#include "fakehume.h"

#define MAX_TOKENS 4096
#define MAX_GROUPS 10000

struct fh_token {
	char tok[65];
	uint64_t expires_ms;
};

uint64_t fh_now_ms(const struct fh_server *srv)
{
	return (uv_hrtime() - srv->t0_ns) / 1000000u;
}

void fh_record(struct fh_server *srv, unsigned conn, const char *ev, json_t *fields)
{
	json_t *o = json_object();
	char *line;

	if (!srv->record || !o) {
		json_decref(o);
		json_decref(fields);
		return;
	}
	json_object_set_new(o, "t", json_integer((json_int_t)fh_now_ms(srv)));
	if (conn)
		json_object_set_new(o, "conn", json_integer(conn));
	json_object_set_new(o, "ev", json_string(ev));
	if (fields)
		json_object_update(o, fields);
	json_decref(fields);
	line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (line) {
		fputs(line, srv->record);
		fputc('\n', srv->record);
		fflush(srv->record);
	}
	free(line);
	json_decref(o);
}

static void random_hex(char *out, size_t bytes)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[64];

	evb_tls_random(b, bytes);
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * bytes] = '\0';
}

/* ---- chat groups ---- */

struct fh_group *fh_group_get(struct fh_server *srv, const char *id)
{
	struct fh_group *g;
	uint8_t raw[EVB_CALLID_LEN];
	size_t n = fh_scenario_count(srv->sc);

	if (id) {
		for (g = srv->groups; g; g = g->next)
			if (strcmp(g->id, id) == 0)
				return g;
		return NULL;
	}
	if (srv->ngroups >= MAX_GROUPS)
		return NULL;
	if (!(g = calloc(1, sizeof(*g))) || (n && !(g->fired = calloc(n, 1)))) {
		free(g);
		return NULL;
	}
	evb_callid_random(raw);
	evb_callid_format(raw, g->id);
	g->next = srv->groups;
	srv->groups = g;
	srv->ngroups++;
	return g;
}

int fh_server_add(struct fh_server *srv, struct fh_session *s)
{
	if (srv->nsess == srv->capsess) {
		size_t cap = srv->capsess ? srv->capsess * 2 : 16;
		struct fh_session **n = realloc(srv->sess, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		srv->sess = n;
		srv->capsess = cap;
	}
	srv->sess[srv->nsess++] = s;
	return 0;
}

void fh_server_remove(struct fh_server *srv, struct fh_session *s)
{
	for (size_t i = 0; i < srv->nsess; i++)
		if (srv->sess[i] == s) {
			memmove(&srv->sess[i], &srv->sess[i + 1],
				(srv->nsess - i - 1) * sizeof(srv->sess[0]));
			srv->nsess--;
			return;
		}
}

/* ---- the token endpoint ---- */

static int token_valid(struct fh_server *srv, const char *tok)
{
	uint64_t now = fh_now_ms(srv);

	for (size_t i = 0; i < srv->ntokens; i++)
		if (evb_ct_streq(srv->tokens[i].tok, tok))
			return now < srv->tokens[i].expires_ms ? 1 : -1;
	return 0;
}

static void token_reject(struct fh_server *srv, struct evb_http_req *req, int status,
			 const char *error, const char *why)
{
	char body[256];

	fh_record(srv, 0, "token", json_pack("{s:i, s:s}", "status", status, "why", why));
	snprintf(body, sizeof(body), "{\"error\":\"%s\",\"error_description\":\"%s\"}", error, why);
	evb_http_respond(req, status, "application/json", body, strlen(body));
}

static void token_endpoint(struct fh_server *srv, struct evb_http_req *req)
{
	const char *ct = evb_http_req_header(req, "Content-Type");
	const char *auth = evb_http_req_header(req, "Authorization");
	char want[1024], cred[600], body[256];
	struct evb_params *form;
	const uint8_t *b;
	struct fh_token *t;
	size_t blen, n;
	uint64_t now = fh_now_ms(srv);

	if (strcmp(evb_http_req_method(req), "POST") != 0) {
		token_reject(srv, req, 405, "invalid_request", "the token endpoint takes POST");
		return;
	}
	if (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		token_reject(srv, req, 400, "invalid_request",
			     "Content-Type must be application/x-www-form-urlencoded");
		return;
	}
	snprintf(cred, sizeof(cred), "%s:%s", srv->o.api_key, srv->o.secret_key ? srv->o.secret_key
										 : "");
	memcpy(want, "Basic ", 6);
	if (mbedtls_base64_encode((unsigned char *)want + 6, sizeof(want) - 6, &n,
				  (const unsigned char *)cred, strlen(cred)) != 0)
		n = 0;
	want[6 + n] = '\0';
	if (!srv->o.secret_key || !auth || !evb_ct_streq(auth, want)) {
		token_reject(srv, req, 401, "invalid_client",
			     auth ? "wrong API key or secret key" : "no Basic authorization");
		return;
	}
	b = evb_http_req_body(req, &blen);
	form = evb_params_parse((const char *)b, blen);
	if (!form || !evb_params_get(form, "grant_type") ||
	    strcmp(evb_params_get(form, "grant_type"), "client_credentials") != 0) {
		evb_params_free(form);
		token_reject(srv, req, 400, "unsupported_grant_type",
			     "grant_type must be client_credentials");
		return;
	}
	evb_params_free(form);
	/* Forget expired tokens; keep at most MAX_TOKENS. */
	for (size_t i = 0; i < srv->ntokens;)
		if (srv->tokens[i].expires_ms <= now)
			srv->tokens[i] = srv->tokens[--srv->ntokens];
		else
			i++;
	if (srv->ntokens == MAX_TOKENS) {
		token_reject(srv, req, 503, "temporarily_unavailable", "too many live tokens");
		return;
	}
	t = &srv->tokens[srv->ntokens++];
	random_hex(t->tok, 32);
	t->expires_ms = now + (uint64_t)srv->o.token_ttl_s * 1000;
	snprintf(body, sizeof(body),
		 "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":%u,"
		 "\"issued_at\":%llu}",
		 t->tok, srv->o.token_ttl_s, (unsigned long long)time(NULL));
	fh_record(srv, 0, "token", json_pack("{s:i, s:i}", "status", 200, "expires_in",
					     (int)srv->o.token_ttl_s));
	EVB_LOG(LOG_INFO, "server", "issued an access token for %u s", srv->o.token_ttl_s);
	evb_http_respond(req, 200, "application/json", body, strlen(body));
}

/* ---- the chat handshake ---- */

static void reject(struct fh_server *srv, struct evb_http_req *req, int status, const char *code,
		   const char *why)
{
	EVB_LOG(LOG_INFO, "server", "refused '%s' from %s: %d %s", evb_http_req_path(req),
		evb_http_req_peer(req), status, why);
	fh_record(srv, 0, "reject", json_pack("{s:i, s:s, s:s}", "status", status, "path",
					      evb_http_req_path(req), "why", why));
	evb_http_respond_error(req, status, code, why);
}

/* The query for the record: secrets replaced by "(set)". */
static json_t *query_record(const struct evb_params *p)
{
	json_t *q = json_object();

	for (size_t i = 0; q && i < evb_params_count(p); i++) {
		const char *n = evb_params_name(p, i);
		int secret = strcmp(n, "api_key") == 0 || strcmp(n, "access_token") == 0 ||
			     strstr(n, "language_model_api_key");
		json_object_set_new(q, n, json_string(secret ? "(set)" : evb_params_value(p, i)));
	}
	return q;
}

static void chat(struct fh_server *srv, struct evb_http_req *req)
{
	const char *qs = evb_http_req_query(req), *key, *tok, *resumed, *v;
	struct fh_connect c = { 0 };
	struct evb_params *p;
	char err[EVB_EVI_ERR_MAX];
	int valid;

	if (!evb_http_req_is_websocket(req)) {
		reject(srv, req, 426, "upgrade_required", "the chat endpoint is a WebSocket");
		return;
	}
	if (!(p = evb_params_parse(qs, strlen(qs)))) {
		reject(srv, req, 400, "bad_request", "the query string does not parse");
		return;
	}
	if (evb_evi_check_query(p, err, sizeof(err)) < 0) {
		reject(srv, req, 400, "bad_request", err);
		goto out;
	}
	key = evb_params_get(p, "api_key");
	tok = evb_params_get(p, "access_token");
	if (!key && !tok) {
		reject(srv, req, 401, "unauthorized", "no api_key or access_token");
		goto out;
	}
	if (key && !evb_ct_streq(key, srv->o.api_key)) {
		reject(srv, req, 401, "unauthorized", "wrong api_key");
		goto out;
	}
	if (tok && (valid = token_valid(srv, tok)) <= 0) {
		reject(srv, req, 401, "unauthorized",
		       valid < 0 ? "access_token expired" : "unknown access_token");
		goto out;
	}
	resumed = evb_params_get(p, "resumed_chat_group_id");
	c.group = fh_group_get(srv, resumed);
	if (!c.group) {
		reject(srv, req, resumed ? 404 : 503, resumed ? "not_found" : "unavailable",
		       resumed ? "no such chat group" : "too many chat groups");
		goto out;
	}
	c.resumed = resumed != NULL;
	c.verbose = (v = evb_params_get(p, "verbose_transcription")) && strcmp(v, "true") == 0;
	c.config_id = evb_params_get(p, "config_id");
	c.auth = tok ? "access_token" : "api_key";
	if ((v = evb_params_get(p, "session_settings[audio][sample_rate]")))
		c.rate = (uint32_t)atoi(v);
	if ((v = evb_params_get(p, "session_settings[audio][channels]")))
		c.channels = (unsigned)atoi(v);
	if (c.rate && (c.rate < 8000 || c.rate > 48000 || c.rate % 50)) {
		reject(srv, req, 400, "bad_request", "unsupported session_settings[audio][sample_rate]");
		goto out;
	}
	c.query = query_record(p);
	c.tls = evb_http_req_is_tls(req);
	fh_session_new(srv, req, ++srv->conns, &c);
	json_decref(c.query);
out:
	evb_params_free(p);
}

static void on_request(struct evb_http_req *req, void *arg)
{
	struct fh_server *srv = arg;
	const char *path = evb_http_req_path(req);

	if (srv->stopping) {
		evb_http_respond_error(req, 503, NULL, "shutting down");
	} else if (strcmp(path, EVB_EVI_TOKEN_PATH) == 0) {
		token_endpoint(srv, req);
	} else if (strcmp(path, EVB_EVI_PATH) == 0) {
		chat(srv, req);
	} else if (strcmp(path, "/healthz") == 0) {
		evb_http_respond(req, 200, "application/json", "{\"ok\":true}", 11);
	} else {
		reject(srv, req, 404, "not_found", "no such endpoint");
	}
}

/* ---- loop ---- */

static void on_tick(uv_timer_t *t)
{
	struct fh_server *srv = t->data;
	uint64_t now = fh_now_ms(srv);

	/* Backwards: a session may end (and leave the array) during its own
	 * tick, and only the ones already visited move. */
	for (size_t i = srv->nsess; i-- > 0;)
		if (i < srv->nsess)
			fh_session_tick(srv->sess[i], now);
	if (srv->stopping && srv->nsess == 0) {
		uv_timer_stop(&srv->tick);
		uv_close((uv_handle_t *)&srv->tick, NULL);
	}
}

static void on_signal(uv_signal_t *sg, int signum)
{
	struct fh_server *srv = sg->data;

	EVB_LOG(LOG_INFO, "server", "signal %d: stopping", signum);
	if (srv->stopping++)
		return;
	evb_http_server_free(srv->http);
	srv->http = NULL;
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&srv->sig[i], NULL);
	for (size_t i = 0; i < srv->nsess; i++)
		fh_session_shutdown(srv->sess[i]);
}

static int make_certs(struct fh_server *srv, char *cert, char *key, size_t cap)
{
	const struct fh_opts *o = &srv->o;
	static const char *const dflt[] = { "localhost", "127.0.0.1" };
	char err[512];
	int r;

	if (mkdir(o->gen_cert_dir, 0755) < 0 && errno != EEXIST) {
		EVB_LOG(LOG_ERR, "server", "unable to create '%s': %s", o->gen_cert_dir,
			strerror(errno));
		return -1;
	}
	r = o->ncert_names ? evb_certgen_make(o->gen_cert_dir, o->cert_names, o->ncert_names, err,
					      sizeof(err))
			   : evb_certgen_make(o->gen_cert_dir, dflt, 2, err, sizeof(err));
	if (r < 0) {
		EVB_LOG(LOG_ERR, "server", "%s", err);
		return -1;
	}
	snprintf(cert, cap, "%s/cert.pem", o->gen_cert_dir);
	snprintf(key, cap, "%s/key.pem", o->gen_cert_dir);
	return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int fh_run(const struct fh_opts *o)
{
	static struct fh_server srv;
	char err[512], cert[4200], key[4200];
	const char *certp = o->tls_cert, *keyp = o->tls_key;
	int rc = 111;

	signal(SIGPIPE, SIG_IGN);
	srv.o = *o;
	srv.loop = uv_default_loop();
	srv.t0_ns = uv_hrtime();
	if (!(srv.sc = fh_scenario_load(o->scenario_path, err, sizeof(err)))) {
		EVB_LOG(LOG_ERR, "server", "%s", err);
		return 100;
	}
	if (fh_scenario_count(srv.sc) && !(srv.open_fired = calloc(fh_scenario_count(srv.sc), 1)))
		goto out;
	if (!(srv.tokens = calloc(MAX_TOKENS, sizeof(*srv.tokens))))
		goto out;
	if (o->record_path) {
		if (!(srv.record = fopen(o->record_path, "w"))) {
			EVB_LOG(LOG_ERR, "server", "unable to open '%s': %s", o->record_path,
				strerror(errno));
			goto out;
		}
	}
	if (o->gen_cert_dir) {
		if (make_certs(&srv, cert, key, sizeof(cert)) < 0)
			goto out;
		certp = cert;
		keyp = key;
	}
	if (certp) {
		srv.tls = evb_tls_server_config_new(certp, keyp, err, sizeof(err));
		if (!srv.tls) {
			EVB_LOG(LOG_ERR, "server", "%s", err);
			rc = 100;
			goto out;
		}
	}
	srv.http = evb_http_server_new(srv.loop, o->host, o->port, srv.tls, on_request, &srv);
	if (!srv.http) {
		EVB_LOG(LOG_ERR, "server", "unable to listen on '%s:%d': %s", o->host, o->port,
			strerror(errno));
		rc = errno == EADDRINUSE ? 111 : 100;
		goto out;
	}
	uv_timer_init(srv.loop, &srv.tick);
	srv.tick.data = &srv;
	uv_timer_start(&srv.tick, on_tick, FH_TICK_MS, FH_TICK_MS);
	for (int i = 0; i < 2; i++) {
		uv_signal_init(srv.loop, &srv.sig[i]);
		srv.sig[i].data = &srv;
		uv_signal_start(&srv.sig[i], on_signal, i ? SIGINT : SIGTERM);
	}
	EVB_LOG(LOG_INFO, "server", "listening on %s://%s:%d%s", srv.tls ? "wss" : "ws", o->host,
		evb_http_server_port(srv.http), EVB_EVI_PATH);
	evb_notify_ready();
	uv_run(srv.loop, UV_RUN_DEFAULT);
	rc = 0;
out:
	if (srv.http)
		evb_http_server_free(srv.http);
	uv_walk(srv.loop, close_walk, NULL);
	uv_run(srv.loop, UV_RUN_DEFAULT);
	uv_loop_close(srv.loop);
	evb_tls_config_free(srv.tls);
	while (srv.groups) {
		struct fh_group *g = srv.groups;
		srv.groups = g->next;
		free(g->fired);
		free(g);
	}
	if (srv.record)
		fclose(srv.record);
	free(srv.sess);
	free(srv.tokens);
	free(srv.open_fired);
	fh_scenario_free(srv.sc);
	return rc;
}
