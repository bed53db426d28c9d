/* Calls: place (row first, then the provider, then the row again), hang
 * up, one call with its transcript, the paginated list, and the original
 * app's routes. The database builds the JSON of rows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "evb_err.h"
#include "evb_log.h"

/* A timestamp as RFC 3339 UTC with milliseconds. */
#define TS(x) "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#define CALL_FIELDS                                                                       \
	"'call_id', k.id, 'provider', k.provider,"                                        \
	" 'provider_call_id', k.provider_call_id, 'direction', k.direction,"              \
	" 'from', k.from_number, 'to', k.to_number, 'status', k.status, 'agent', k.agent," \
	" 'customer', json_build_object('name', k.customer_name, 'email', k.customer_email)," \
	" 'metadata', k.metadata, 'hume_chat_id', k.hume_chat_id,"                        \
	" 'hume_chat_group_id', k.hume_chat_group_id, 'created_at', " TS("k.created_at") "," \
	" 'started_at', " TS("k.started_at") ", 'answered_at', " TS("k.answered_at") ","  \
	" 'ended_at', " TS("k.ended_at") ", 'duration_ms', k.duration_ms,"                \
	" 'end_reason', k.end_reason"
#define CALL_JSON "json_build_object(" CALL_FIELDS ")"

/* A call of the list: the call k, and how the caller felt (s, its row of
 * call_summary). */
#define LIST_JSON                                                                         \
	"json_build_object(" CALL_FIELDS ","                                              \
	" 'dominant_emotions', coalesce(to_json(s.dominant_emotions), '[]'::json),"        \
	" 'sentiment', s.sentiment)"

/* The original app's call shape. */
#define LEGACY_JSON                                                                       \
	"json_build_object('id', k.id, 'call_id', k.id, 'call_sid', k.provider_call_id,"   \
	" 'provider', k.provider, 'phone_number', CASE WHEN k.direction = 'inbound'"       \
	" THEN k.from_number ELSE k.to_number END, 'from', k.from_number, 'to', k.to_number," \
	" 'customer_name', k.customer_name, 'customer_email', k.customer_email,"          \
	" 'agent_id', k.agent, 'status', k.status, 'direction', k.direction,"             \
	" 'duration', round(k.duration_ms / 1000.0), 'created_at', " TS("k.created_at") "," \
	" 'answered_at', " TS("k.answered_at") ", 'ended_at', " TS("k.ended_at") ")"

/* $1 the id as given, $2 the same when it is a UUID (else NULL): our id
 * first, else the provider's. */
#define BY_ID " WHERE k.id = $2::uuid OR k.provider_call_id = $1 ORDER BY k.id = $2::uuid LIMIT 1"

/* The two parameters of BY_ID for j->m.id. */
static void id_params(struct job *j, const char *v[2])
{
	uint8_t u[EVB_CALLID_LEN];

	v[0] = j->m.id;
	v[1] = evb_callid_parse(j->m.id, u) == 0 && strlen(j->m.id) == 36 ? j->m.id : NULL;
}

static void send_event(struct job *j, json_t *ev)
{
	if (!ev)
		return;
	if (!j->api->events)
		json_decref(ev);
	else if (evb_events_send(j->api->events, ev) < 0)
		EVB_LOG(LOG_WARNING, "api", "call=%s event for evb-logger dropped", j->call_id);
}

/* ---- place a call ---- */

static void answer_created(struct job *j)
{
	const char *prov = api_provider_name(j->provider);

	if (j->legacy)
		job_reply_json(j, 200, json_pack("{s:b, s:s, s:s, s:s, s:s}", "success", 1,
						 "call_sid", j->pcid, "call_id", j->call_id,
						 "provider", prov, "status", "initiated"));
	else
		job_reply_json(j, 201, json_pack("{s:b, s:s, s:s, s:s, s:s}", "success", 1,
						 "call_id", j->call_id, "provider", prov,
						 "provider_call_id", j->pcid, "status", "initiated"));
}

static void placed_saved(PGresult *res, int err, void *arg)
{
	struct job *j = arg;

	if (err < 0 || !db_ok(res))
		EVB_LOG(LOG_WARNING, "api", "call=%s placed as '%s' but not recorded: %s",
			j->call_id, j->pcid, err < 0 ? evb_strerror(err) : PQresultErrorMessage(res));
	answer_created(j);
}

static void failed_saved(PGresult *res, int err, void *arg)
{
	struct job *j = arg;

	if (err < 0 || !db_ok(res))
		EVB_LOG(LOG_ERR, "api", "call=%s not placed, and unable to mark it failed: %s",
			j->call_id, err < 0 ? evb_strerror(err) : PQresultErrorMessage(res));
	if (j->answer_status == 504)
		job_reply_error(j, 504, "provider_timeout", NULL, j->errmsg);
	else
		job_reply_error(j, 502, "provider_error", NULL, j->errmsg);
}

static void provider_done(struct job *j)
{
	static const char placed_sql[] =
		"UPDATE calls SET provider_call_id = $2, updated_at = now() WHERE id = $1";
	static const char failed_sql[] =
		"UPDATE calls SET status = 'failed', end_reason = $2, ended_at = now(),"
		" updated_at = now() WHERE id = $1 AND status = 'initiated'";
	const char *v[2] = { j->call_id, j->outcome == PR_OK ? j->pcid : j->errmsg };
	evb_pgq_cb cb;
	json_t *ev;
	int r;

	if (j->outcome == PR_OK) {
		EVB_LOG(LOG_INFO, "api", "call=%s placed through %s as '%s'", j->call_id,
			api_provider_name(j->provider), j->pcid);
		ev = evb_event_new("call.started", j->call_uuid, api_provider_name(j->provider));
		if (ev) {
			json_t *cust = json_object();
			json_object_set_new(ev, "direction", json_string("outbound"));
			json_object_set_new(ev, "from", json_string(j->cr.from));
			json_object_set_new(ev, "to", json_string(j->cr.to));
			json_object_set_new(ev, "provider_call_id", json_string(j->pcid));
			if (j->cr.agent[0])
				json_object_set_new(ev, "agent", json_string(j->cr.agent));
			if (j->cr.has_name)
				json_object_set_new(cust, "name", json_string(j->cr.customer_name));
			if (j->cr.has_email)
				json_object_set_new(cust, "email", json_string(j->cr.customer_email));
			json_object_set_new(ev, "customer", cust);
			if (j->cr.metadata)
				json_object_set(ev, "metadata", j->cr.metadata);
			send_event(j, ev);
		}
	} else {
		j->answer_status = j->outcome == PR_TIMEOUT ? 504 : 502;
		ev = evb_event_new("call.ended", j->call_uuid, api_provider_name(j->provider));
		if (ev) {
			json_object_set_new(ev, "status", json_string("failed"));
			json_object_set_new(ev, "reason", json_string(j->errmsg));
			send_event(j, ev);
		}
	}
	/* The answer depends on the provider, not on the database: a refused
	 * update is logged by the callback, and the answer goes out anyway. */
	cb = j->outcome == PR_OK ? placed_saved : failed_saved;
	r = evb_pgq_query(j->api->db, j->outcome == PR_OK ? placed_sql : failed_sql, 2, v, 0, cb,
			  j);
	if (r < 0)
		cb(NULL, r, j);
}

/* The row is in: ask the provider. */
static void row_inserted(PGresult *res, int err, void *arg)
{
	struct job *j = arg;
	char msg[300];

	if (err < 0 || !db_ok(res)) {
		if (err == 0 && strcmp(evb_pgq_sqlstate(res), "23503") == 0) {
			snprintf(msg, sizeof(msg), "no agent '%s' (create it with POST /v1/agents)",
				 j->cr.agent);
			job_reply_error(j, 400, "invalid_field", j->legacy ? "agent_id" : "agent",
					msg);
			return;
		}
		job_reply_db(j, res, err, "record the call");
		return;
	}
	if (provider_create(j, provider_done) < 0)
		provider_done(j);
}

void calls_place(struct job *j)
{
	static const char sql[] =
		"INSERT INTO calls (id, provider, direction, from_number, to_number, status,"
		" agent, customer_name, customer_email, metadata, started_at)"
		" VALUES ($1::uuid, $2, 'outbound', $3, $4, 'initiated', $5, $6, $7,"
		" coalesce($8::jsonb, '{}'::jsonb), now())";
	const char *v[8];
	char *meta = j->cr.metadata ? json_dumps(j->cr.metadata, JSON_COMPACT) : NULL;

	if (evb_callid_random(j->call_uuid) < 0) {
		free(meta);
		job_reply_error(j, 500, "internal_error", NULL, "no random numbers");
		return;
	}
	evb_callid_format(j->call_uuid, j->call_id);
	v[0] = j->call_id;
	v[1] = api_provider_name(j->provider);
	v[2] = j->cr.from;
	v[3] = j->cr.to;
	v[4] = j->cr.agent[0] ? j->cr.agent : NULL;
	v[5] = j->cr.has_name ? j->cr.customer_name : NULL;
	v[6] = j->cr.has_email ? j->cr.customer_email : NULL;
	v[7] = meta;
	job_query(j, sql, 8, v, row_inserted);
	free(meta);
}

void calls_create(struct job *j)
{
	struct api *a = j->api;
	struct api_err e = { "", "" };
	struct provider *p;
	unsigned retry;
	char rs[16];
	int r;

	r = j->legacy ? api_parse_legacy_call(j->body, &j->cr, &e)
		      : api_parse_call(j->body, &j->cr, &e);
	if (r < 0) {
		job_reply_error(j, 400, "invalid_field", e.field, e.msg);
		return;
	}
	j->provider = j->cr.provider == P_DEFAULT ? a->default_provider : j->cr.provider;
	p = &a->prov[j->provider];
	if (!p->configured) {
		snprintf(e.msg, sizeof(e.msg), "provider '%s' is not configured: %s",
			 api_provider_name(j->provider), p->why);
		job_reply_error(j, 400, "provider_not_configured", "provider", e.msg);
		return;
	}
	if (!j->cr.from[0]) {
		if (!p->from[0]) {
			job_reply_error(j, 400, "invalid_field", "from",
					j->provider == P_TWILIO
						? "required: no TWILIO_PHONE_NUMBER is configured"
						: "required: no VONAGE_PHONE_NUMBER is configured");
			return;
		}
		memcpy(j->cr.from, p->from, sizeof(j->cr.from));
	}
	if (j->provider == P_VONAGE && j->cr.ring_timeout_s > 120) {
		job_reply_error(j, 400, "invalid_field", "ring_timeout_s",
				"Vonage rings at most 120 s");
		return;
	}
	r = pace_enter(j, &retry);
	if (r < 0) {
		evb_metric_add(a->m.limited_pacing, 1);
		snprintf(rs, sizeof(rs), "%u", retry);
		evb_http_req_add_header(j->req, "Retry-After", rs);
		snprintf(e.msg, sizeof(e.msg), "%s call creation is paced at %g per second; "
			 "try again in %u s", api_provider_name(j->provider), p->cps, retry);
		job_reply_error(j, 429, "rate_limited", NULL, e.msg);
		return;
	}
	if (r == 0)
		calls_place(j);
}

/* ---- hang up ---- */

static void hangup_saved(PGresult *res, int err, void *arg)
{
	struct job *j = arg;

	if (err < 0 || !db_ok(res))
		EVB_LOG(LOG_WARNING, "api", "call=%s hung up but not recorded", j->call_id);
	job_reply_json(j, 200, json_pack("{s:b, s:s, s:s, s:s, s:s}", "success", 1, "call_id",
					 j->call_id, "provider", api_provider_name(j->provider),
					 "provider_call_id", j->pcid, "status", j->status));
}

static void hangup_done(struct job *j)
{
	static const char sql[] =
		"UPDATE calls SET status = $2, ended_at = coalesce(ended_at, now()),"
		" end_reason = coalesce(end_reason, 'hung up through the API'), updated_at = now()"
		" WHERE id = $1::uuid AND status IN ('initiated', 'ringing', 'in-progress')";
	const char *v[2] = { j->call_id, j->status };

	if (j->outcome != PR_OK) {
		job_reply_error(j, j->outcome == PR_TIMEOUT ? 504 : 502,
				j->outcome == PR_TIMEOUT ? "provider_timeout" : "provider_error",
				NULL, j->errmsg);
		return;
	}
	EVB_LOG(LOG_INFO, "api", "call=%s hung up (%s)", j->call_id, j->status);
	job_query(j, sql, 2, v, hangup_saved);
}

static void hangup_found(PGresult *res, int err, void *arg)
{
	struct job *j = arg;
	const char *prov, *pcid, *st;
	char msg[200];

	if (err < 0 || !db_ok(res)) {
		job_reply_db(j, res, err, "look the call up");
		return;
	}
	if (PQntuples(res) == 0) {
		job_reply_error(j, 404, "not_found", NULL, "no such call");
		return;
	}
	snprintf(j->call_id, sizeof(j->call_id), "%s", PQgetvalue(res, 0, 0));
	prov = PQgetvalue(res, 0, 1);
	pcid = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
	st = PQgetvalue(res, 0, 3);
	j->provider = api_provider_parse(prov);
	if (api_status_final(st)) {
		snprintf(msg, sizeof(msg), "the call has already ended (%s)", st);
		job_reply_error(j, 409, "call_ended", NULL, msg);
		return;
	}
	if (!pcid || !*pcid) {
		job_reply_error(j, 409, "call_not_placed", NULL,
				"the provider has not accepted the call yet");
		return;
	}
	if (j->provider < 0 || !j->api->prov[j->provider].configured) {
		snprintf(msg, sizeof(msg), "provider '%s' is not configured", prov);
		job_reply_error(j, 409, "provider_not_configured", NULL, msg);
		return;
	}
	snprintf(j->pcid, sizeof(j->pcid), "%s", pcid);
	/* Twilio cancels a call that has not been answered, completes one that
	 * has; the status Twilio answers with is the one we record. */
	snprintf(j->status, sizeof(j->status), "%s",
		 strcmp(st, "in-progress") == 0 || j->provider == P_VONAGE ? "completed"
									  : "canceled");
	if (provider_hangup(j, hangup_done) < 0)
		hangup_done(j);
}

void calls_hangup(struct job *j)
{
	static const char sql[] =
		"SELECT k.id, k.provider, k.provider_call_id, k.status FROM calls k" BY_ID;
	const char *v[2];

	id_params(j, v);
	job_query(j, sql, 2, v, hangup_found);
}

/* ---- one call ---- */

static void got_call(PGresult *res, int err, void *arg)
{
	struct job *j = arg;
	json_t *o;

	if (err < 0 || !db_ok(res)) {
		job_reply_db(j, res, err, "read the call");
		return;
	}
	if (!(o = db_json(res))) {
		job_reply_error(j, 404, "not_found", NULL, "no such call");
		return;
	}
	job_reply_json(j, 200, with_success(o));
}

void calls_get(struct job *j)
{
	static const char sql[] =
		"SELECT json_build_object('call', " CALL_JSON ","
		" 'transcript', coalesce((SELECT json_agg(json_build_object("
		"  'role', u.role, 'text', u.text, 'at', " TS("u.spoken_at") ","
		"  'begin_ms', u.begin_ms, 'end_ms', u.end_ms, 'interrupted', u.interrupted,"
		"  'sentiment', u.sentiment, 'confidence', u.confidence,"
		"  'top_emotions', coalesce((SELECT json_agg(json_build_object('name', t.e,"
		"   'score', (u.emotion_scores ->> t.e)::float8) ORDER BY t.o)"
		"   FROM unnest(u.top_emotions) WITH ORDINALITY AS t(e, o)), '[]'::json))"
		"  ORDER BY u.spoken_at, u.seq)"
		"  FROM utterances u WHERE u.call_id = k.id), '[]'::json),"
		" 'emotion_summary', (SELECT json_build_object("
		"  'dominant_emotions', coalesce(to_json(s.dominant_emotions), '[]'::json),"
		"  'sentiment', s.sentiment, 'utterances', s.utterances,"
		"  'user_utterances', s.user_utterances,"
		"  'assistant_utterances', s.assistant_utterances,"
		"  'interrupted_turns', s.interrupted_turns,"
		"  'caller_sentiments', (SELECT json_build_object("
		"   'positive', count(*) FILTER (WHERE x.sentiment = 'positive'),"
		"   'neutral', count(*) FILTER (WHERE x.sentiment = 'neutral'),"
		"   'negative', count(*) FILTER (WHERE x.sentiment = 'negative'))"
		"   FROM utterances x WHERE x.call_id = k.id AND x.role = 'user'))"
		"  FROM call_summary s WHERE s.call_id = k.id))"
		" FROM calls k" BY_ID;
	const char *v[2];

	id_params(j, v);
	job_query(j, sql, 2, v, got_call);
}

/* ---- the list ---- */

static void got_list(PGresult *res, int err, void *arg)
{
	struct job *j = arg;
	json_t *o;

	if (err == 0 && !db_ok(res) && strncmp(evb_pgq_sqlstate(res), "22", 2) == 0) {
		/* A date PostgreSQL could not read (month 13, ...). */
		job_reply_error(j, 400, "invalid_field", "since", "not a valid time");
		return;
	}
	if (err < 0 || !db_ok(res) || !(o = db_json(res))) {
		job_reply_db(j, res, err, "list the calls");
		return;
	}
	job_reply_json(j, 200, with_success(o));
}

void calls_list(struct job *j)
{
	/* $1 provider, $2 status, $3 since, $4 limit, $5 cursor time (us since
	 * 1970), $6 cursor id: newest first, the cursor names the last row. */
	static const char sql[] =
		"WITH f AS (SELECT * FROM calls k"
		"  WHERE ($1::text IS NULL OR k.provider = $1)"
		"  AND ($2::text IS NULL OR k.status = $2)"
		"  AND ($3::timestamptz IS NULL OR k.created_at >= $3::timestamptz)),"
		" page AS (SELECT * FROM f WHERE $5::bigint IS NULL OR (f.created_at, f.id) <"
		"  ('epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6::uuid)"
		"  ORDER BY f.created_at DESC, f.id DESC LIMIT $4::int + 1),"
		" shown AS (SELECT * FROM page ORDER BY created_at DESC, id DESC LIMIT $4::int)"
		" SELECT json_build_object("
		"  'calls', coalesce((SELECT json_agg(" LIST_JSON
		"   ORDER BY k.created_at DESC, k.id DESC) FROM shown k LEFT JOIN LATERAL"
		"   (SELECT x.dominant_emotions, x.sentiment FROM call_summary x"
		"    WHERE x.call_id = k.id) s ON true), '[]'::json),"
		"  'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $4::int THEN"
		"   (SELECT (extract(epoch FROM k.created_at) * 1000000)::bigint || '_' || k.id"
		"    FROM shown k ORDER BY k.created_at, k.id LIMIT 1) END,"
		"  'counts', (SELECT json_build_object("
		"   'twilio', count(*) FILTER (WHERE provider = 'twilio'),"
		"   'vonage', count(*) FILTER (WHERE provider = 'vonage'),"
		"   'total', count(*)) FROM f))";
	struct api_list_q q;
	struct api_err e;
	char limit[16];
	const char *v[6];

	if (api_parse_list_query(evb_http_req_query(j->req), 200, 50, &q, &e) < 0) {
		job_reply_error(j, 400, "invalid_field", e.field, e.msg);
		return;
	}
	snprintf(limit, sizeof(limit), "%d", q.limit);
	v[0] = q.provider[0] ? q.provider : NULL;
	v[1] = q.status[0] ? q.status : NULL;
	v[2] = q.since[0] ? q.since : NULL;
	v[3] = limit;
	v[4] = q.cursor_us[0] ? q.cursor_us : NULL;
	v[5] = q.cursor_us[0] ? q.cursor_id : NULL;
	job_query(j, sql, 6, v, got_list);
}

/* ---- a call's events ---- */

static void got_events(PGresult *res, int err, void *arg)
{
	struct job *j = arg;
	json_t *o;

	if (err == 0 && !db_ok(res) && strncmp(evb_pgq_sqlstate(res), "22", 2) == 0) {
		job_reply_error(j, 400, "invalid_field", "cursor", "not a cursor this API returned");
		return;
	}
	if (err < 0 || !db_ok(res)) {
		job_reply_db(j, res, err, "list the call's events");
		return;
	}
	if (!(o = db_json(res))) {
		job_reply_error(j, 404, "not_found", NULL, "no such call");
		return;
	}
	job_reply_json(j, 200, with_success(o));
}

void calls_events(struct job *j)
{
	/* $1, $2 as BY_ID, $3 limit, $4 cursor time (us since 1970), $5 cursor
	 * event id: oldest first, by ts (the time of receipt for an event
	 * without one), the cursor names the last row shown. */
	static const char sql[] =
		"WITH c AS (SELECT k.id FROM calls k" BY_ID "),"
		" page AS (SELECT e.*, coalesce(e.ts, e.created_at) AS at FROM call_events_as_sent e"
		"  WHERE e.call_id = (SELECT id FROM c) AND ($4::bigint IS NULL OR"
		"  (coalesce(e.ts, e.created_at), e.event_id) >"
		"  ('epoch'::timestamptz + $4::bigint * interval '1 microsecond', $5::uuid))"
		"  ORDER BY at, event_id LIMIT $3::int + 1),"
		" shown AS (SELECT * FROM page ORDER BY at, event_id LIMIT $3::int)"
		" SELECT json_build_object('call_id', c.id,"
		"  'events', coalesce((SELECT json_agg(json_build_object('event_id', s.event_id,"
		"   'type', s.type, 'ts', " TS("s.at") ", 'status', s.status, 'reason', s.reason,"
		"   'payload', s.payload, 'raw', left(s.raw, 4096)) ORDER BY s.at, s.event_id)"
		"   FROM shown s), '[]'::json),"
		"  'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $3::int THEN"
		"   (SELECT (extract(epoch FROM s.at) * 1000000)::bigint || '_' || s.event_id"
		"    FROM shown s ORDER BY s.at DESC, s.event_id DESC LIMIT 1) END)"
		" FROM c";
	struct api_list_q q;
	struct api_err e;
	char limit[16];
	const char *v[5];

	if (api_parse_list_query(evb_http_req_query(j->req), 500, 100, &q, &e) < 0) {
		job_reply_error(j, 400, "invalid_field", e.field, e.msg);
		return;
	}
	id_params(j, v);
	snprintf(limit, sizeof(limit), "%d", q.limit);
	v[2] = limit;
	v[3] = q.cursor_us[0] ? q.cursor_us : NULL;
	v[4] = q.cursor_us[0] ? q.cursor_id : NULL;
	job_query(j, sql, 5, v, got_events);
}

/* ---- the original app's routes ---- */

void legacy_status(struct job *j)
{
	static const char sql[] = "SELECT " LEGACY_JSON " FROM calls k" BY_ID;
	const char *v[2];

	id_params(j, v);
	job_query(j, sql, 2, v, got_call);
}

static void got_all(PGresult *res, int err, void *arg)
{
	struct job *j = arg;
	json_t *o;

	if (err < 0 || !db_ok(res) || !(o = db_json(res))) {
		job_reply_db(j, res, err, "list the calls");
		return;
	}
	job_reply_json(j, 200, with_success(o));
}

void legacy_all(struct job *j)
{
	static const char sql[] =
		"SELECT json_build_object("
		" 'twilio_calls', (SELECT count(*) FROM calls WHERE provider = 'twilio'),"
		" 'vonage_calls', (SELECT count(*) FROM calls WHERE provider = 'vonage'),"
		" 'total_calls', (SELECT count(*) FROM calls),"
		" 'calls', coalesce((SELECT json_agg(" LEGACY_JSON
		"  ORDER BY k.created_at DESC, k.id DESC) FROM (SELECT * FROM calls"
		"  ORDER BY created_at DESC, id DESC LIMIT $1::int) k), '[]'::json))";
	struct api_list_q q;
	struct api_err e;
	char limit[16];
	const char *v[1] = { limit };

	/* Only limit applies here (the original returned every call). */
	if (api_parse_list_query(evb_http_req_query(j->req), 1000, 100, &q, &e) < 0) {
		job_reply_error(j, 400, "invalid_field", e.field, e.msg);
		return;
	}
	snprintf(limit, sizeof(limit), "%d", q.limit);
	job_query(j, sql, 1, v, got_all);
}
