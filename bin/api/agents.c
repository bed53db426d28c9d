/* Agents: the EVI personas a call can use (GET/POST /v1/agents,
 * GET/PUT/DELETE /v1/agents/{slug}). PUT replaces every field. */
#include <stdio.h>
#include <string.h>

#include "api.h"

#define TS(x) "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define AGENT_JSON                                                                    \
	"json_build_object('slug', a.slug, 'name', a.name, 'hume_config_id',"         \
	" a.hume_config_id, 'voice', a.voice, 'system_prompt', a.system_prompt,"      \
	" 'greeting', a.greeting, 'created_at', " TS("a.created_at") ", 'updated_at', " \
	TS("a.updated_at") ")"

static void got_list(PGresult *res, int err, void *arg)
{
	struct job *j = arg;
	json_t *list;

	if (err < 0 || !db_ok(res) || !(list = db_json(res))) {
		job_reply_db(j, res, err, "list the agents");
		return;
	}
	job_reply_json(j, 200, json_pack("{s:b, s:o}", "success", 1, "agents", list));
}

/* One agent back (GET, POST, PUT), or its absence. */
static void got_one(PGresult *res, int err, void *arg)
{
	struct job *j = arg;
	const char *method = evb_http_req_method(j->req), *st;
	json_t *agent;
	char msg[160];

	if (err == 0 && !db_ok(res)) {
		st = evb_pgq_sqlstate(res);
		if (strcmp(st, "23505") == 0) {
			snprintf(msg, sizeof(msg), "agent '%s' exists already (PUT updates it)",
				 json_string_value(json_object_get(j->body, "slug")));
			job_reply_error(j, 409, "conflict", "slug", msg);
			return;
		}
		if (strcmp(st, "23514") == 0) { /* a CHECK of the schema */
			job_reply_error(j, 400, "invalid_field", NULL,
					"the database refused a value");
			return;
		}
	}
	if (err < 0 || !db_ok(res)) {
		job_reply_db(j, res, err, "write the agent");
		return;
	}
	if (!(agent = db_json(res))) {
		job_reply_error(j, 404, "not_found", NULL, "no such agent");
		return;
	}
	job_reply_json(j, strcmp(method, "POST") == 0 ? 201 : 200,
		       json_pack("{s:b, s:o}", "success", 1, "agent", agent));
}

static void deleted(PGresult *res, int err, void *arg)
{
	struct job *j = arg;

	if (err == 0 && !db_ok(res) && strcmp(evb_pgq_sqlstate(res), "23503") == 0) {
		job_reply_error(j, 409, "agent_in_use", NULL,
				"calls refer to this agent: it cannot be deleted");
		return;
	}
	if (err < 0 || !db_ok(res)) {
		job_reply_db(j, res, err, "delete the agent");
		return;
	}
	if (strcmp(PQcmdTuples(res), "0") == 0) {
		job_reply_error(j, 404, "not_found", NULL, "no such agent");
		return;
	}
	job_reply_json(j, 200, json_pack("{s:b, s:s}", "success", 1, "deleted", j->m.id));
}

void agents_handle(struct job *j)
{
	static const char list_sql[] =
		"SELECT coalesce(json_agg(" AGENT_JSON " ORDER BY a.slug), '[]'::json) FROM agents a";
	static const char get_sql[] = "SELECT " AGENT_JSON " FROM agents a WHERE a.slug = $1";
	static const char create_sql[] =
		"INSERT INTO agents AS a (slug, name, hume_config_id, voice, system_prompt, greeting)"
		" VALUES ($1, $2, $3, $4, $5, $6) RETURNING " AGENT_JSON;
	static const char update_sql[] =
		"UPDATE agents AS a SET name = $2, hume_config_id = $3, voice = $4,"
		" system_prompt = $5, greeting = $6, updated_at = now() WHERE a.slug = $1"
		" RETURNING " AGENT_JSON;
	static const char delete_sql[] = "DELETE FROM agents WHERE slug = $1";
	const char *method = evb_http_req_method(j->req);
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	struct api_agent ag;
	struct api_err e;
	const char *v[6];

	if (j->m.route == R_AGENTS && get) {
		job_query(j, list_sql, 0, NULL, got_list);
		return;
	}
	if (j->m.route == R_AGENT && (get || strcmp(method, "DELETE") == 0)) {
		if (!api_is_slug(j->m.id)) {
			job_reply_error(j, 404, "not_found", NULL, "no such agent");
			return;
		}
		v[0] = j->m.id;
		job_query(j, get ? get_sql : delete_sql, 1, v, get ? got_one : deleted);
		return;
	}
	/* POST /v1/agents or PUT /v1/agents/{slug} */
	if (j->m.route == R_AGENT && !api_is_slug(j->m.id)) {
		job_reply_error(j, 404, "not_found", NULL, "no such agent");
		return;
	}
	if (api_parse_agent(j->body, j->m.route == R_AGENTS, j->m.id, &ag, &e) < 0) {
		job_reply_error(j, 400, "invalid_field", e.field, e.msg);
		return;
	}
	v[0] = ag.slug;
	v[1] = ag.name;
	v[2] = ag.hume_config_id;
	v[3] = ag.voice;
	v[4] = ag.system_prompt;
	v[5] = ag.greeting;
	job_query(j, j->m.route == R_AGENTS ? create_sql : update_sql, 6, v, got_one);
}
