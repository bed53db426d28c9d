/* Hume access tokens (PROTOCOLS.md 5.1): POST base/oauth2-cc/token with
 * Basic auth (API key : secret key) and grant_type=client_credentials;
 * refreshed a fifth of its life (at most 60 s) before it expires, retried
 * with backoff when the endpoint fails. Neither the key, the secret nor a
 * token ever reaches a log line. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "evb_evi.h"
#include "evb_httpc.h"
#include "evb_log.h"
#include "hume.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define MARGIN_MS 2000 /* a token this close to expiry (or a quarter of its life) is not used */

struct auth {
	uv_loop_t *loop;
	char *url, *api_key, *secret;
	struct evb_tls_config *tls;
	struct evb_httpc *req;
	uv_timer_t timer;
	char *token;
	uint64_t expires_ms, margin_ms;
	uint64_t retry_ms;
	int failing, first_done;
	void (*first)(void *arg);
	void *arg;
};

static void fetch(struct auth *a);

static void timer_cb(uv_timer_t *t)
{
	fetch(t->data);
}

static void first_done(struct auth *a)
{
	if (a->first_done)
		return;
	a->first_done = 1;
	if (a->first)
		a->first(a->arg);
}

static void failed(struct auth *a, const char *why)
{
	if (!a->failing)
		EVB_LOG(LOG_WARNING, "auth", "unable to get a Hume access token: %s; chats use the "
			"API key meanwhile, retrying", why);
	a->failing = 1;
	uv_timer_start(&a->timer, timer_cb, a->retry_ms, 0);
	a->retry_ms = a->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : a->retry_ms * 2;
	first_done(a);
}

static void on_done(struct evb_httpc *c, int err, void *arg)
{
	struct auth *a = arg;
	const uint8_t *body;
	size_t len;
	json_t *o, *tok, *exp;
	char why[300];
	uint64_t life_ms, refresh_ms;

	a->req = NULL;
	if (err < 0) {
		snprintf(why, sizeof(why), "%s", evb_httpc_errstr(c));
		failed(a, why);
		return;
	}
	if (evb_httpc_status(c) != 200) {
		snprintf(why, sizeof(why), "HTTP %d from the token endpoint", evb_httpc_status(c));
		failed(a, why);
		return;
	}
	body = evb_httpc_body(c, &len);
	o = json_loadb((const char *)body, len, 0, NULL);
	tok = json_object_get(o, "access_token");
	exp = json_object_get(o, "expires_in");
	if (!json_is_string(tok) || !json_string_length(tok) ||
	    strspn(json_string_value(tok), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789-._~+/=") != json_string_length(tok)) {
		json_decref(o);
		failed(a, "the response has no usable access_token");
		return;
	}
	/* Tokens last 30 minutes unless the endpoint says otherwise. */
	life_ms = json_is_integer(exp) && json_integer_value(exp) > 0 &&
				  json_integer_value(exp) < 86400 * 30
			  ? (uint64_t)json_integer_value(exp) * 1000
			  : 1800000;
	free(a->token);
	a->token = strdup(json_string_value(tok));
	json_decref(o);
	a->expires_ms = uv_now(a->loop) + life_ms;
	a->margin_ms = life_ms / 4 < MARGIN_MS ? life_ms / 4 : MARGIN_MS;
	refresh_ms = life_ms - (life_ms / 5 < 60000 ? life_ms / 5 : 60000);
	if (a->failing)
		EVB_LOG(LOG_INFO, "auth", "Hume access token obtained again");
	a->failing = 0;
	a->retry_ms = RETRY_MIN_MS;
	EVB_LOG(LOG_DEBUG, "auth", "access token for %llu s, refresh in %llu ms",
		(unsigned long long)(life_ms / 1000), (unsigned long long)refresh_ms);
	uv_timer_start(&a->timer, timer_cb, refresh_ms ? refresh_ms : 1, 0);
	first_done(a);
}

static void fetch(struct auth *a)
{
	static const char form[] = "grant_type=client_credentials";
	struct evb_httpc *c;
	int r;

	if (a->req)
		return;
	c = evb_httpc_new(a->loop, "POST", a->url);
	if (!c) {
		failed(a, strerror(errno));
		return;
	}
	if (a->tls)
		evb_httpc_set_tls(c, a->tls);
	evb_httpc_set_timeouts(c, 5000, 10000);
	evb_httpc_set_max_body(c, 64 * 1024);
	if ((r = evb_httpc_set_basic_auth(c, a->api_key, a->secret)) < 0 ||
	    (r = evb_httpc_set_body(c, "application/x-www-form-urlencoded", form,
				    sizeof(form) - 1)) < 0 ||
	    (r = evb_httpc_add_header(c, "Accept", "application/json")) < 0 ||
	    (r = evb_httpc_start(c, on_done, a)) < 0) {
		evb_httpc_free(c);
		failed(a, strerror(-r));
		return;
	}
	a->req = c;
}

struct auth *auth_new(uv_loop_t *loop, const char *api_base, const char *api_key,
		      const char *secret, struct evb_tls_config *tls,
		      void (*first)(void *arg), void *arg)
{
	struct auth *a = calloc(1, sizeof(*a));
	size_t n = strlen(api_base);

	if (!a)
		return NULL;
	a->loop = loop;
	a->first = first;
	a->arg = arg;
	a->retry_ms = RETRY_MIN_MS;
	a->tls = tls;
	while (n && api_base[n - 1] == '/')
		n--;
	a->url = malloc(n + sizeof(EVB_EVI_TOKEN_PATH));
	a->api_key = strdup(api_key);
	a->secret = secret ? strdup(secret) : NULL;
	if (!a->url || !a->api_key || (secret && !a->secret)) {
		free(a->url);
		free(a->api_key);
		free(a->secret);
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(a->url, api_base, n);
	memcpy(a->url + n, EVB_EVI_TOKEN_PATH, sizeof(EVB_EVI_TOKEN_PATH));
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	if (a->secret)
		fetch(a);
	else
		first_done(a);
	return a;
}

void auth_param(struct auth *a, const char **name, const char **value)
{
	if (a->token && uv_now(a->loop) + a->margin_ms < a->expires_ms) {
		*name = "access_token";
		*value = a->token;
	} else {
		*name = "api_key";
		*value = a->api_key;
	}
}

void auth_invalidate(struct auth *a)
{
	if (!a->secret || !a->token)
		return;
	EVB_LOG(LOG_WARNING, "auth", "a chat was refused with the access token: fetching "
		"another");
	free(a->token);
	a->token = NULL;
	uv_timer_stop(&a->timer);
	fetch(a);
}

static void auth_close_cb(uv_handle_t *h)
{
	struct auth *a = h->data;

	free(a->token);
	free(a->url);
	free(a->api_key);
	free(a->secret);
	free(a);
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	if (a->req)
		evb_httpc_free(a->req);
	if (a->token)
		memset(a->token, 0, strlen(a->token));
	uv_close((uv_handle_t *)&a->timer, auth_close_cb);
}
