/* /metrics and /healthz: evb-api's own registry (served on
 * EVB_RUN_DIR/api.metrics like every daemon's), every other process's
 * *.metrics socket read in parallel with a short timeout, and the calls
 * table counted by provider and status. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "evb_err.h"
#include "evb_log.h"

#define MAX_PROCS 64
#define PROC_NAME_MAX 48
#define DB_GATHER_MS 1000

static const double latency_bounds[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
					  0.25, 0.5, 1, 2.5, 5, 10 };

static void render_hook(struct evb_stats *s, void *arg)
{
	struct api *a = arg;
	unsigned up = a->db ? evb_pgq_up(a->db) : 0;

	(void)s;
	evb_metric_set(a->m.db_up, up > 0);
	evb_metric_set(a->m.db_conns, up);
	evb_metric_set(a->m.events_pending, a->events ? (double)evb_events_pending(a->events) : 0);
	evb_metric_set(a->m.jobs, (double)a->njobs);
	for (int i = 0; i < 2; i++)
		evb_metric_set(a->m.pace_queue[i], (double)a->prov[i].queued);
}

int metrics_init(struct api *a)
{
	struct evb_stats *s = evb_stats_new();
	char path[PATH_MAX];

	if (!s)
		return -ENOMEM;
	a->stats = s;
	a->m.auth_fail = evb_stats_counter(s, "evb_api_auth_failures_total", NULL,
					   "Requests refused for a missing or wrong Bearer token.");
	a->m.limited_client = evb_stats_counter(s, "evb_api_rate_limited_total",
						"reason=\"client\"",
						"Requests refused with 429, by reason.");
	a->m.limited_pacing = evb_stats_counter(s, "evb_api_rate_limited_total",
						"reason=\"pacing\"", NULL);
	a->m.db_up = evb_stats_gauge(s, "evb_api_db_up", NULL, "1 when the database is reachable.");
	a->m.db_conns = evb_stats_gauge(s, "evb_api_db_connections", NULL,
					"Database connections up.");
	a->m.events_pending = evb_stats_gauge(s, "evb_api_events_pending", NULL,
					      "Events for evb-logger not yet acknowledged.");
	a->m.jobs = evb_stats_gauge(s, "evb_api_requests_in_progress", NULL,
				    "Requests waiting for the database, a provider or a process.");
	a->m.pace_queue[P_TWILIO] = evb_stats_gauge(s, "evb_api_pacing_queue",
						    "provider=\"twilio\"",
						    "Call creations waiting for their turn.");
	a->m.pace_queue[P_VONAGE] = evb_stats_gauge(s, "evb_api_pacing_queue",
						    "provider=\"vonage\"", NULL);
	a->m.req_seconds = evb_stats_histogram(s, "evb_api_request_duration_seconds", NULL,
					       "Time to answer a request.", latency_bounds,
					       sizeof(latency_bounds) / sizeof(latency_bounds[0]));
	evb_stats_on_render(s, render_hook, a);
	snprintf(path, sizeof(path), "%s/api%s", a->o.run_dir, EVB_STATS_SUFFIX);
	if (evb_mkdir_p(a->o.run_dir) < 0 || !(a->stats_srv = evb_stats_serve(a->loop, s, path)))
		return -errno;
	return 0;
}

void metrics_release(struct api *a)
{
	evb_stats_server_close(a->stats_srv);
	a->stats_srv = NULL;
	evb_stats_free(a->stats);
	a->stats = NULL;
}

void metrics_request(struct api *a, const char *route, int status, uint64_t start_ns)
{
	char labels[128];

	if (!a->stats)
		return;
	snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"", route, status);
	evb_metric_add(evb_stats_counter(a->stats, "evb_api_requests_total", labels,
					 "Requests answered, by route and status."),
		       1);
	evb_metric_observe(a->m.req_seconds, (double)(evb_now_ns() - start_ns) / 1e9);
}

void metrics_provider(struct api *a, int provider, int outcome, uint64_t start_ns)
{
	static const char *const outcomes[] = { "ok", "refused", "timeout", "unreachable" };
	char labels[96];

	if (!a->stats)
		return;
	snprintf(labels, sizeof(labels), "provider=\"%s\",outcome=\"%s\"",
		 api_provider_name(provider), outcomes[outcome]);
	evb_metric_add(evb_stats_counter(a->stats, "evb_api_provider_requests_total", labels,
					 "Requests to the Twilio and Vonage REST APIs."),
		       1);
	snprintf(labels, sizeof(labels), "provider=\"%s\"", api_provider_name(provider));
	evb_metric_observe(evb_stats_histogram(a->stats, "evb_api_provider_duration_seconds",
					       labels, "Time the provider took to answer.",
					       latency_bounds,
					       sizeof(latency_bounds) / sizeof(latency_bounds[0])),
			   (double)(evb_now_ns() - start_ns) / 1e9);
}

/* ---- collecting from every process ---- */

struct proc {
	struct gather *g;
	char name[PROC_NAME_MAX];
	int up;
	char *text; /* its metrics, merged once all are in */
	size_t len;
};

struct gather {
	struct job *j;      /* NULL once the job is gone */
	int healthz;
	int pending, db_pending;
	int db_ok;
	char db_err[160];
	PGresult *db_res;   /* counts, kept for rendering */
	struct evb_stats_merge *merge;
	struct proc procs[MAX_PROCS];
	int nprocs;
};

static void gather_free(struct gather *g)
{
	for (int i = 0; i < g->nprocs; i++)
		free(g->procs[i].text);
	PQclear(g->db_res);
	evb_stats_merge_free(g->merge);
	free(g);
}

/* The calls table as gauges, every provider and status listed. */
static void add_db_text(struct gather *g)
{
	static const char *const st[] = { "initiated", "ringing", "in-progress", "completed",
					   "busy", "no-answer", "canceled", "failed" };
	char text[4096];
	size_t o = 0;
	double active[2] = { 0, 0 };

	o += (size_t)snprintf(text + o, sizeof(text) - o,
			      "# HELP evb_calls Calls in the database, by provider and status.\n"
			      "# TYPE evb_calls gauge\n");
	for (int p = 0; p < 2; p++) {
		for (int s = 0; s < 8; s++) {
			long long n = 0;
			for (int r = 0; r < PQntuples(g->db_res); r++)
				if (strcmp(PQgetvalue(g->db_res, r, 0), api_provider_name(p)) == 0 &&
				    strcmp(PQgetvalue(g->db_res, r, 1), st[s]) == 0)
					n = atoll(PQgetvalue(g->db_res, r, 2));
			if (s < 3)
				active[p] += (double)n;
			o += (size_t)snprintf(text + o, sizeof(text) - o,
					      "evb_calls{provider=\"%s\",status=\"%s\"} %lld\n",
					      api_provider_name(p), st[s], n);
		}
	}
	o += (size_t)snprintf(text + o, sizeof(text) - o,
			      "# HELP evb_calls_active Calls not ended yet (initiated, ringing, "
			      "in-progress).\n# TYPE evb_calls_active gauge\n");
	for (int p = 0; p < 2; p++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "evb_calls_active{provider=\"%s\"} %.0f\n",
				      api_provider_name(p), active[p]);
	evb_stats_merge_add(g->merge, text, o, NULL);
}

static void add_up(struct gather *g, const char *name, int up)
{
	char text[128];
	int n = snprintf(text, sizeof(text),
			 "# HELP evb_up 1 when the process answered on its metrics socket.\n"
			 "# TYPE evb_up gauge\nevb_up %d\n", up);

	evb_stats_merge_add(g->merge, text, (size_t)n, name);
}

/* Merges in a fixed order: evb-api, the other processes by name, their
 * liveness, the database's counts; the first to name a family types it. */
static void finish_metrics(struct gather *g)
{
	struct job *j = g->j;
	struct api *a = j->api;
	size_t len = 0;
	char *own = evb_stats_render(a->stats, &len), *text;

	if (own)
		evb_stats_merge_add(g->merge, own, len, "api");
	free(own);
	for (int i = 0; i < g->nprocs; i++)
		if (g->procs[i].text &&
		    evb_stats_merge_add(g->merge, g->procs[i].text, g->procs[i].len,
					g->procs[i].name) < 0)
			EVB_LOG(LOG_WARNING, "api", "metrics of '%s' cut", g->procs[i].name);
	add_up(g, "api", 1);
	for (int i = 0; i < g->nprocs; i++)
		add_up(g, g->procs[i].name, g->procs[i].up);
	if (g->db_ok)
		add_db_text(g);
	text = evb_stats_merge_render(g->merge, &len);
	if (!text) {
		job_reply_error(j, 500, "internal_error", NULL, "out of memory");
		return;
	}
	job_reply_raw(j, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static void finish_healthz(struct gather *g)
{
	json_t *procs = json_object(), *db;
	int ok = g->db_ok;

	json_object_set_new(procs, "api", json_true());
	for (int i = 0; i < g->nprocs; i++) {
		json_object_set_new(procs, g->procs[i].name, json_boolean(g->procs[i].up));
		ok &= g->procs[i].up;
	}
	db = json_pack("{s:b}", "ok", g->db_ok);
	if (!g->db_ok)
		json_object_set_new(db, "error", json_string(g->db_err));
	job_reply_json(g->j, ok ? 200 : 503,
		       json_pack("{s:b, s:s, s:o, s:o}", "success", ok, "status",
				 ok ? "ok" : "unavailable", "database", db, "processes", procs));
}

static void step(struct gather *g)
{
	if (--g->pending > 0)
		return;
	if (g->j) {
		if (g->healthz)
			finish_healthz(g);
		else
			finish_metrics(g);
	}
	gather_free(g);
}

static void fetched(int err, const char *text, size_t len, void *arg)
{
	struct proc *p = arg;
	struct gather *g = p->g;

	p->up = err == 0;
	if (err < 0)
		EVB_LOG(LOG_DEBUG, "api", "no metrics from '%s': %s", p->name, evb_strerror(err));
	if (err == 0 && g->j && !g->healthz && (p->text = malloc(len + 1))) {
		memcpy(p->text, text, len);
		p->len = len;
	}
	step(g);
}

static void db_done(PGresult *res, int err, void *arg)
{
	struct gather *g = arg;

	g->db_pending = 0;
	g->db_ok = err == 0 && db_ok(res);
	if (!g->db_ok) {
		snprintf(g->db_err, sizeof(g->db_err), "%s",
			 err == -ETIMEDOUT ? "the database did not answer in time"
			 : err < 0	   ? "the database is unreachable"
					   : "the query failed");
	} else if (!g->healthz) {
		g->db_res = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
		g->db_ok = g->db_res != NULL;
	}
	step(g);
}

static int proc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct proc *)a)->name, ((const struct proc *)b)->name);
}

/* Lists the *.metrics sockets of the other processes. */
static void scan(struct gather *g, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t sl = strlen(EVB_STATS_SUFFIX);

	if (!d)
		return;
	while ((e = readdir(d)) && g->nprocs < MAX_PROCS) {
		size_t n = strlen(e->d_name);
		int ok = n > sl && n - sl < PROC_NAME_MAX &&
			 strcmp(e->d_name + n - sl, EVB_STATS_SUFFIX) == 0;
		for (size_t i = 0; ok && i < n - sl; i++)
			ok = (e->d_name[i] >= 'a' && e->d_name[i] <= 'z') ||
			     (e->d_name[i] >= '0' && e->d_name[i] <= '9') || e->d_name[i] == '_' ||
			     e->d_name[i] == '-';
		if (!ok || (n - sl == 3 && strncmp(e->d_name, "api", 3) == 0))
			continue;
		memcpy(g->procs[g->nprocs].name, e->d_name, n - sl);
		g->procs[g->nprocs].name[n - sl] = '\0';
		g->procs[g->nprocs].g = g;
		g->nprocs++;
	}
	closedir(d);
	qsort(g->procs, (size_t)g->nprocs, sizeof(g->procs[0]), proc_cmp);
}

static void gather_start(struct job *j, int healthz)
{
	static const char counts_sql[] =
		"SELECT provider, status, count(*) FROM calls GROUP BY 1, 2";
	struct api *a = j->api;
	struct gather *g = calloc(1, sizeof(*g));
	char path[PATH_MAX];

	if (!g || !(g->merge = evb_stats_merge_new(0))) {
		free(g);
		job_reply_error(j, 500, "internal_error", NULL, "out of memory");
		return;
	}
	g->j = j;
	g->healthz = healthz;
	j->gather = g;
	g->pending = 1; /* until every request is out */
	scan(g, a->o.run_dir);
	for (int i = 0; i < g->nprocs; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", a->o.run_dir, g->procs[i].name,
			 EVB_STATS_SUFFIX);
		if (evb_stats_fetch(a->loop, path, a->o.gather_ms, 0, fetched, &g->procs[i]) == 0)
			g->pending++;
	}
	if (a->db && evb_pgq_query(a->db, healthz ? "SELECT 1" : counts_sql, 0, NULL,
				   DB_GATHER_MS, db_done, g) == 0) {
		g->pending++;
		g->db_pending = 1;
	} else {
		snprintf(g->db_err, sizeof(g->db_err), "the database is unreachable");
	}
	step(g);
}

void gather_cancel(struct job *j)
{
	struct gather *g = j->gather;

	if (!g)
		return;
	j->gather = NULL;
	g->j = NULL;
	/* The pool is gone: its callback will not come. */
	if (g->db_pending) {
		g->db_pending = 0;
		step(g);
	}
}

void metrics_serve(struct job *j)
{
	gather_start(j, 0);
}

void healthz_serve(struct job *j)
{
	gather_start(j, 1);
}
