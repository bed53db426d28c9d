/* evb-api: the operator-facing HTTP API. One uv loop; every request that
 * waits for the database, a provider or another process becomes a job,
 * answered exactly once and freed by job_reply*(). */
#ifndef EVB_API_H
#define EVB_API_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <uv.h>

#include "evb_cfg.h"
#include "evb_events.h"
#include "evb_http.h"
#include "evb_httpc.h"
#include "evb_jwt.h"
#include "evb_pgq.h"
#include "evb_stats.h"
#include "evb_util.h"
#include "route.h"

/* What main() read from the command line and the configuration. */
struct api_opts {
	char host[256];
	int port;
	const char *token;            /* EVB_API_TOKEN, NULL: no auth (loopback) */
	const char *database_url;
	const char *run_dir;
	const char *public_base;      /* PUBLIC_BASE_URL */
	const char *ca_file;          /* EVB_CA_FILE */
	unsigned provider_timeout_ms; /* --provider-timeout-ms */
	double rate, burst;           /* --rate, --burst: per client address */
	double cps[2];                /* --twilio-cps, --vonage-cps */
	unsigned pace_wait_ms;        /* --pace-wait-ms */
	unsigned db_conns;            /* --db-conns */
	size_t max_body;              /* --max-body */
	unsigned gather_ms;           /* --gather-ms: per *.metrics socket */
	const char *web_dir;          /* --web-dir: the dashboard, NULL: find it */
};

struct job;
struct ratelimit;
struct web;

/* A telephony provider as configured, and its call-creation pacing. */
struct provider {
	struct api *api;
	int idx;                 /* P_TWILIO or P_VONAGE */
	int configured;
	char why[128];           /* why not, for the 400 */
	char base[512];          /* API base URL, no trailing '/' */
	char from[20];           /* the default caller number, E.164 */
	double cps;
	uint64_t next_ms;        /* when the next create may start */
	struct job *qhead, *qtail; /* creates waiting for their turn */
	size_t queued;
	uv_timer_t timer;
};

struct api_metrics {
	struct evb_metric *auth_fail, *limited_client, *limited_pacing, *db_up, *db_conns,
		*events_pending, *jobs, *req_seconds, *pace_queue[2];
};

struct api {
	uv_loop_t *loop;
	struct api_opts o;
	struct evb_http_server *srv;
	struct evb_pgq *db;
	struct evb_events *events;
	struct evb_tls_config *tls;
	struct evb_jwt_key *vonage_key;
	struct provider prov[2];
	const char *twilio_sid, *twilio_token, *vonage_app;
	char public_base[512];   /* no trailing '/' */
	int default_provider;
	int auth;
	uint8_t token_sha[32];
	struct ratelimit *rl;
	struct evb_stats *stats;
	struct evb_stats_server *stats_srv;
	struct api_metrics m;
	struct web *web;         /* the dashboard's files */
	struct job *jobs;        /* every job in progress */
	size_t njobs;
	uv_signal_t sig[2];
	int stopping, rc;
};

/* The provider's answer to a create or hangup. */
enum { PR_OK, PR_REFUSED, PR_TIMEOUT, PR_UNREACHABLE };

struct job {
	struct api *api;
	struct evb_http_req *req;
	struct api_match m;
	int legacy;                /* answer in the original app's shapes */
	uint64_t start_ns;
	json_t *body;              /* parsed request body, or NULL */
	struct api_call_req cr;    /* for creates */
	int provider;              /* P_TWILIO or P_VONAGE */
	uint8_t call_uuid[EVB_CALLID_LEN];
	char call_id[EVB_CALLID_STRLEN];
	char pcid[96];             /* provider call id */
	char status[16];           /* hangup: the call's status, then the new one */
	struct evb_httpc *hc;      /* provider request in flight */
	uint64_t hc_start_ns;
	int outcome;               /* PR_* */
	int answer_status;         /* what to answer once the row is marked */
	char errmsg[400];          /* fits every message built in provider.c */
	uint64_t due_ms;           /* pacing */
	struct job *pnext;
	int pacing;
	void *gather;              /* /metrics, /healthz collection */
	struct job *next, *prev;
};

/* ---- server.c ---- */

/* Starts listening; returns 0 or an exit status (100, 111). */
int api_start(struct api *a);

/* Stops everything; jobs in progress are answered 503 and freed. */
void api_stop(struct api *a, int rc);

/* Answers j with obj (a JSON object, reference taken) and frees j. */
void job_reply_json(struct job *j, int status, json_t *obj);

/* Answers j with {success:false, error:{code, message, field}} (field
 * NULL or "" omitted) and frees j. */
void job_reply_error(struct job *j, int status, const char *code, const char *field,
		     const char *message);

/* {"success":true} followed by the members of o (reference taken). */
json_t *with_success(json_t *o);

/* Answers j with a body of content type ct and frees j. */
void job_reply_raw(struct job *j, int status, const char *ct, const char *body, size_t len);

/* Answers a failed query: 503 when the database is unreachable or slow,
 * 500 (logged) for an SQL error. Frees j. */
void job_reply_db(struct job *j, PGresult *res, int err, const char *what);

/* Sends a query for j; on a refusal answers 503 and frees j, returning -1. */
int job_query(struct job *j, const char *sql, int n, const char *const *values,
	      evb_pgq_cb cb);

/* 1 if res is a command or tuples result (the query succeeded). */
int db_ok(const PGresult *res);

/* Parses the JSON text in row 0, column 0 of res; NULL if absent. */
json_t *db_json(const PGresult *res);

/* ---- calls.c ---- */

void calls_create(struct job *j);
void calls_place(struct job *j); /* after pacing */
void calls_hangup(struct job *j);
void calls_get(struct job *j);
void calls_list(struct job *j);
void calls_events(struct job *j);
void legacy_status(struct job *j);
void legacy_all(struct job *j);

/* ---- provider.c ---- */

/* Takes a turn to create a call with j->provider: 0 to go now, 1 when
 * queued (calls_place(j) runs later), -1 when the wait would pass
 * --pace-wait-ms (*retry_s: when to come back). */
int pace_enter(struct job *j, unsigned *retry_s);

/* Removes j from its pacing queue (shutdown). */
void pace_leave(struct job *j);

/* Initialises and releases the pacing timers. */
void pace_init(struct api *a);
void pace_release(struct api *a);

/* Starts the create (j->cr, j->call_id) or the hangup (j->pcid,
 * j->status) request; done(j) runs once with j->outcome, j->pcid (create)
 * and j->errmsg set. Returns 0, or -1 with j->outcome and j->errmsg set
 * (done does not run). */
int provider_create(struct job *j, void (*done)(struct job *j));
int provider_hangup(struct job *j, void (*done)(struct job *j));

/* ---- agents.c ---- */

void agents_handle(struct job *j);

/* ---- metrics.c ---- */

/* Sets up the registry and serves EVB_RUN_DIR/api.metrics. 0 or -errno. */
int metrics_init(struct api *a);
void metrics_release(struct api *a);

/* Counts an answered request. */
void metrics_request(struct api *a, const char *route, int status, uint64_t start_ns);

/* Counts a provider request: outcome PR_*. */
void metrics_provider(struct api *a, int provider, int outcome, uint64_t start_ns);

void metrics_serve(struct job *j);
void healthz_serve(struct job *j);

/* Detaches j from a collection in progress (shutdown). */
void gather_cancel(struct job *j);

/* ---- web.c ---- */

/* Finds the dashboard's files (--web-dir, else beside the program) and
 * reads them into memory. Returns 0 (with none found and no --web-dir, a
 * warning, and the dashboard answers 404), 100 when --web-dir holds no
 * index.html, 111 out of memory. */
int web_init(struct api *a);
void web_release(struct api *a);

/* 1 if path (raw, no query) is the dashboard's: "/", "/ui", "/ui/...". */
int web_is_path(const char *path);

/* Answers a dashboard request without a token (GET, HEAD; else 405) and
 * counts it under the route "ui". req is answered and freed. */
void web_serve(struct api *a, struct evb_http_req *req, uint64_t start_ns);

/* ---- ratelimit.c ---- */

/* A token bucket per client address: rate tokens per second, at most
 * burst, for up to slots addresses (the stalest is forgotten first). NULL
 * with errno ENOMEM. */
struct ratelimit *ratelimit_new(size_t slots, double rate, double burst);
void ratelimit_free(struct ratelimit *rl);

/* Takes a token for addr (a peer "ip:port": the port is ignored) at now_ms.
 * Returns 1 if allowed, else 0 with *retry_s the seconds until a token. */
int ratelimit_take(struct ratelimit *rl, const char *addr, uint64_t now_ms, unsigned *retry_s);

#endif
