/* Agents and customers from PostgreSQL, read-only and never blocking the
 * loop: queries go through lib/evb_pgq (one connection, non-blocking
 * libpq on a uv_poll, reconnecting with backoff). Agents are cached by slug
 * for ttl_ms, so edits are picked up without a restart. While the
 * database is unreachable (logged once per outage), lookups answer at once
 * from the cache, stale or empty. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_log.h"
#include "evb_pgq.h"
#include "evb_util.h"
#include "hume.h"

#define QUERY_MS 5000
#define MAX_QUEUE 1000
#define MAX_CACHE 1000

/* $1: the slug or NULL (then the call's agent), $2: the call id. */
static const char sql[] =
	"SELECT a.slug, a.name, a.hume_config_id, a.system_prompt, a.greeting, a.voice, "
	"c.customer_name, c.customer_email, c.hume_chat_group_id "
	"FROM (SELECT 1) AS one "
	"LEFT JOIN calls c ON c.id = $2::uuid "
	"LEFT JOIN agents a ON a.slug = COALESCE($1::text, c.agent)";

/* A query on its way; cb NULL once cancelled. */
struct req {
	struct agents *a;
	char *slug;
	void (*cb)(void *arg, const struct agent_info *ai);
	void *arg;
	struct req *prev, *next;
};

struct entry {
	struct agent_info ai; /* agent fields only */
	uint64_t at_ms;
};

struct agents {
	uv_loop_t *loop;
	struct evb_pgq *pgq;
	unsigned ttl_ms;
	int complained;
	char last_err[256];
	struct req *reqs;
	struct entry *cache;
	size_t ncache;
};

static char *dup_s(const char *s)
{
	return s ? strdup(s) : NULL;
}

void agent_info_release(struct agent_info *ai)
{
	free(ai->slug);
	free(ai->name);
	free(ai->config_id);
	free(ai->system_prompt);
	free(ai->greeting);
	free(ai->voice);
	free(ai->customer_name);
	free(ai->customer_email);
	free(ai->chat_group_id);
	memset(ai, 0, sizeof(*ai));
}

/* Copies the agent fields of src into dst (freeing what dst had). */
static void copy_agent(struct agent_info *dst, const struct agent_info *src)
{
	free(dst->slug);
	free(dst->name);
	free(dst->config_id);
	free(dst->system_prompt);
	free(dst->greeting);
	free(dst->voice);
	dst->slug = dup_s(src->slug);
	dst->name = dup_s(src->name);
	dst->config_id = dup_s(src->config_id);
	dst->system_prompt = dup_s(src->system_prompt);
	dst->greeting = dup_s(src->greeting);
	dst->voice = dup_s(src->voice);
	dst->found = src->found;
}

static struct entry *cache_find(struct agents *a, const char *slug)
{
	for (size_t i = 0; slug && i < a->ncache; i++)
		if (strcmp(a->cache[i].ai.slug, slug) == 0)
			return &a->cache[i];
	return NULL;
}

/* Caches ai (found or not) under slug. */
static void cache_put(struct agents *a, const char *slug, const struct agent_info *ai)
{
	struct entry *e = cache_find(a, slug);

	if (!e) {
		if (a->ncache == MAX_CACHE) {
			size_t old = 0;
			for (size_t i = 1; i < a->ncache; i++)
				if (a->cache[i].at_ms < a->cache[old].at_ms)
					old = i;
			agent_info_release(&a->cache[old].ai);
			a->cache[old] = a->cache[--a->ncache];
		}
		e = &a->cache[a->ncache++];
		memset(e, 0, sizeof(*e));
	}
	copy_agent(&e->ai, ai);
	if (!e->ai.slug)
		e->ai.slug = strdup(slug);
	if (!e->ai.slug) { /* out of memory: forget it */
		agent_info_release(&e->ai);
		*e = a->cache[--a->ncache];
		return;
	}
	e->at_ms = uv_now(a->loop);
}

static void unavailable(struct agents *a, const char *why)
{
	if (!a->complained)
		EVB_LOG(LOG_WARNING, "agents", "unable to read agents from the database: %s; "
			"using cached agents or HUME_CONFIG_ID until it is back", why);
	a->complained = 1;
}

static void on_result(PGresult *res, int err, void *arg)
{
	struct req *r = arg;
	struct agents *a = r->a;
	struct agent_info ai = { 0 };
	char why[256];

	if (r->prev)
		r->prev->next = r->next;
	else
		a->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (err < 0) {
		unavailable(a, err == -ETIMEDOUT ? "query timed out" : "no connection");
	} else if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		evb_pgq_errmsg(res, why, sizeof(why));
		if (strcmp(why, a->last_err) != 0)
			EVB_LOG(LOG_WARNING, "agents", "agent query failed: %s", why);
		snprintf(a->last_err, sizeof(a->last_err), "%s", why);
		err = -EIO;
	} else {
		if (a->complained)
			EVB_LOG(LOG_INFO, "agents", "reading agents from the database again");
		a->complained = 0;
		a->last_err[0] = '\0';
#define COL(i) (PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i))
		ai.slug = dup_s(COL(0));
		ai.found = ai.slug != NULL;
		ai.name = dup_s(COL(1));
		ai.config_id = dup_s(COL(2));
		ai.system_prompt = dup_s(COL(3));
		ai.greeting = dup_s(COL(4));
		ai.voice = dup_s(COL(5));
		ai.customer_name = dup_s(COL(6));
		ai.customer_email = dup_s(COL(7));
		ai.chat_group_id = dup_s(COL(8));
#undef COL
		if (ai.slug || r->slug)
			cache_put(a, ai.slug ? ai.slug : r->slug, &ai);
	}
	if (r->cb)
		r->cb(r->arg, err < 0 ? NULL : &ai);
	agent_info_release(&ai);
	free(r->slug);
	free(r);
}

struct agents *agents_new(uv_loop_t *loop, const char *conninfo, unsigned ttl_ms)
{
	struct agents *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->loop = loop;
	a->ttl_ms = ttl_ms;
	a->cache = calloc(MAX_CACHE, sizeof(*a->cache));
	a->pgq = a->cache ? evb_pgq_new(loop, conninfo, 1, MAX_QUEUE) : NULL;
	if (!a->pgq) {
		free(a->cache);
		free(a);
		return NULL;
	}
	return a;
}

void agents_free(struct agents *a)
{
	if (!a)
		return;
	evb_pgq_free(a->pgq); /* no callback runs after this */
	while (a->reqs) {
		struct req *r = a->reqs;
		a->reqs = r->next;
		free(r->slug);
		free(r);
	}
	for (size_t i = 0; i < a->ncache; i++)
		agent_info_release(&a->cache[i].ai);
	free(a->cache);
	free(a);
}

int agents_up(const struct agents *a)
{
	return evb_pgq_up(a->pgq) > 0;
}

int agents_lookup(struct agents *a, const char *slug, const uint8_t call_id[EVB_CALLID_LEN],
		  int need_call, struct agent_info *out,
		  void (*cb)(void *arg, const struct agent_info *ai), void *arg)
{
	struct entry *e = cache_find(a, slug);
	char call[EVB_CALLID_STRLEN];
	const char *params[2];
	struct req *r;
	int err;

	if (e)
		copy_agent(out, &e->ai);
	if (e && !need_call && uv_now(a->loop) - e->at_ms < a->ttl_ms)
		return 1;
	if (!(r = calloc(1, sizeof(*r))) || (slug && !(r->slug = strdup(slug)))) {
		free(r);
		return -1;
	}
	r->a = a;
	r->cb = cb;
	r->arg = arg;
	evb_callid_format(call_id, call);
	params[0] = slug;
	params[1] = call;
	if ((err = evb_pgq_query(a->pgq, sql, 2, params, QUERY_MS, on_result, r)) < 0) {
		unavailable(a, err == -ENOTCONN ? "no connection" : "too many lookups waiting");
		free(r->slug);
		free(r);
		return -1;
	}
	r->next = a->reqs;
	if (r->next)
		r->next->prev = r;
	a->reqs = r;
	return 0;
}

void agents_cancel(struct agents *a, void *arg)
{
	for (struct req *r = a ? a->reqs : NULL; r; r = r->next)
		if (r->arg == arg)
			r->cb = NULL;
}
