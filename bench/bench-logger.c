/* bench-logger: how many utterance events a second evb-logger takes from a
 * sender (lib/evb_events, acks and all) and commits to PostgreSQL, and how
 * many spool bytes each costs. Run by bench/bench-logger.sh, which starts a
 * private PostgreSQL and the logger; usable alone against running ones:
 *   DATABASE_URL=... bench-logger --socket RUN/logger.sock [--events N]
 * The clock runs from the first event sent to the last one committed. */
#define USAGE                                                                   \
	"bench-logger --socket PATH [--events N] [--calls N] [--json FILE] " \
	"[--command TEXT]"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "evb_err.h"
#include "evb_events.h"
#include "evb_frame.h"
#include "evb_log.h"
#include "evb_util.h"

#define N_SCORE_SETS 256
#define ID_MARK "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"

static const char *const emotions[48] = {
	"Admiration", "Adoration", "Aesthetic Appreciation", "Amusement", "Anger", "Anxiety",
	"Awe", "Awkwardness", "Boredom", "Calmness", "Concentration", "Confusion",
	"Contemplation", "Contempt", "Contentment", "Craving", "Desire", "Determination",
	"Disappointment", "Disgust", "Distress", "Doubt", "Ecstasy", "Embarrassment",
	"Empathic Pain", "Entrancement", "Envy", "Excitement", "Fear", "Guilt", "Horror",
	"Interest", "Joy", "Love", "Nostalgia", "Pain", "Pride", "Realization", "Relief",
	"Romance", "Sadness", "Satisfaction", "Shame", "Surprise (negative)",
	"Surprise (positive)", "Sympathy", "Tiredness", "Triumph",
};

struct bench {
	uv_loop_t *loop;
	struct evb_events *q;
	PGconn *pg;
	uv_timer_t tick;
	json_t *scores[N_SCORE_SETS];
	char *tmpl[N_SCORE_SETS];
	size_t tmpl_len[N_SCORE_SETS], id_at[N_SCORE_SETS];
	uint32_t run;
	uint8_t calls[64][EVB_CALLID_LEN];
	long n, ncalls, sent;
	uint64_t payload_bytes;
	uint64_t t0, t_acked, t_done;
	char last_id[EVB_CALLID_STRLEN];
	int done, failed;
};

/* Scores as EVI sends them: single-precision values. */
static void make_scores(struct bench *b)
{
	uint32_t x = 12345;

	for (int s = 0; s < N_SCORE_SETS; s++) {
		b->scores[s] = json_object();
		for (int i = 0; i < 48; i++) {
			x = x * 1664525u + 1013904223u;
			json_object_set_new(b->scores[s], emotions[i],
					    json_real((float)((x >> 8) / 16777216.0)));
		}
	}
}

/* Serialises one template event per score set as evb_events_send() would,
 * with a placeholder event id that send_one() overwrites: the sender's own
 * cost stays small, so the figure is the logger's and the database's. */
static void make_templates(struct bench *b)
{
	for (int s = 0; s < N_SCORE_SETS; s++) {
		json_t *ev = evb_event_new("utterance", b->calls[s % b->ncalls],
					   s % 3 ? "twilio" : "vonage");

		json_object_set_new(ev, "event_id", json_string(ID_MARK));
		json_object_set_new(ev, "role", json_string(s % 2 ? "assistant" : "user"));
		json_object_set_new(ev, "text", json_string("I would like to know why my bill "
							    "is higher this month than it was "
							    "last month."));
		json_object_set_new(ev, "emotion_scores", json_incref(b->scores[s]));
		json_object_set_new(ev, "begin_ms", json_integer(s * 1500));
		json_object_set_new(ev, "end_ms", json_integer(s * 1500 + 1400));
		json_object_set_new(ev, "interim", json_false());
		json_object_set_new(ev, "interrupted", json_boolean(s % 7 == 0));
		b->tmpl[s] = json_dumps(ev, EVB_EVENTS_JSON_FLAGS);
		b->tmpl_len[s] = strlen(b->tmpl[s]);
		b->id_at[s] = (size_t)(strstr(b->tmpl[s], ID_MARK) - b->tmpl[s]);
		json_decref(ev);
	}
}

static int send_one(struct bench *b)
{
	long i = b->sent;
	int s = (int)(i % N_SCORE_SETS), r;
	char *p = b->tmpl[s];
	char id[EVB_CALLID_STRLEN];

	/* Event ids: a fixed prefix and the event number, all distinct. */
	snprintf(id, sizeof(id), "%08x-%04x-4%03x-8000-%012lx", b->run, 0, 0, (unsigned long)i);
	memcpy(p + b->id_at[s], id, 36);
	r = evb_events_send_raw(b->q, b->calls[s % b->ncalls], p, b->tmpl_len[s]);
	if (r == 0) {
		b->payload_bytes += EVB_FRAME_HDR_LEN + b->tmpl_len[s];
		if (i == b->n - 1)
			memcpy(b->last_id, id, sizeof(id));
		b->sent++;
	}
	return r;
}

static int committed(struct bench *b)
{
	const char *p[1] = { b->last_id };
	PGresult *res = PQexecParams(b->pg, "SELECT 1 FROM call_events WHERE event_id = $1",
				     1, NULL, p, NULL, NULL, 0);
	int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	PQclear(res);
	return ok;
}

static void tick_cb(uv_timer_t *t)
{
	struct bench *b = t->data;

	/* Keep the sender's queue full: refill up to its bound. */
	while (b->sent < b->n && evb_events_pending(b->q) < EVB_EVENTS_MAX - 1 &&
	       send_one(b) == 0)
		;
	if (b->sent == b->n && !b->t_acked && evb_events_pending(b->q) == 0)
		b->t_acked = evb_now_ns();
	if (b->t_acked && committed(b)) {
		b->t_done = evb_now_ns();
		b->done = 1;
		uv_timer_stop(t);
		uv_close((uv_handle_t *)t, NULL);
		evb_events_free(b->q);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "events", required_argument, NULL, 'n' },
		{ "calls", required_argument, NULL, 'c' },
		{ "json", required_argument, NULL, 'j' },
		{ "command", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bench b = { .n = 100000, .ncalls = 64 };
	const char *sock = NULL, *json_path = NULL, *command = "bench-logger";
	const char *url = getenv("DATABASE_URL");
	PGresult *res;
	double secs, intake, eps, bpe;
	long rows;
	int c;

	evb_log_init("bench-logger");
	evb_log_level = LOG_WARNING;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'n': b.n = atol(optarg); break;
		case 'c': b.ncalls = atol(optarg); break;
		case 'j': json_path = optarg; break;
		case 'C': command = optarg; break;
		case 'h': printf("usage: %s\n", USAGE); return 0;
		default: fprintf(stderr, "usage: %s\n", USAGE); return 100;
		}
	}
	if (!sock || !url || b.n < 1 || b.ncalls < 1 || b.ncalls > 64) {
		fprintf(stderr, "usage: %s (DATABASE_URL in the environment)\n", USAGE);
		return 100;
	}
	b.pg = PQconnectdb(url);
	if (PQstatus(b.pg) != CONNECTION_OK) {
		fprintf(stderr, "bench-logger: unable to connect to the database: %s",
			PQerrorMessage(b.pg));
		return 111;
	}
	make_scores(&b);
	for (int i = 0; i < b.ncalls; i++)
		evb_callid_random(b.calls[i]);
	b.run = (uint32_t)b.calls[0][0] << 24 | (uint32_t)b.calls[0][1] << 16 |
		(uint32_t)b.calls[0][2] << 8 | b.calls[0][3];
	make_templates(&b);
	b.loop = uv_default_loop();
	b.q = evb_events_new(b.loop, sock, 0, 32u << 20);
	if (!b.q)
		return 111;
	uv_timer_init(b.loop, &b.tick);
	b.tick.data = &b;
	uv_timer_start(&b.tick, tick_cb, 0, 2);
	b.t0 = evb_now_ns();
	uv_run(b.loop, UV_RUN_DEFAULT);
	uv_loop_close(b.loop);

	res = PQexec(b.pg, "SELECT count(*) FROM utterances");
	rows = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(b.pg);
	for (int s = 0; s < N_SCORE_SETS; s++) {
		json_decref(b.scores[s]);
		free(b.tmpl[s]);
	}
	secs = (double)(b.t_done - b.t0) / 1e9;
	intake = (double)b.n / ((double)(b.t_acked - b.t0) / 1e9);
	eps = (double)b.n / secs;
	bpe = (double)b.payload_bytes / (double)b.n;
	printf("| evb-logger, utterance events (48 scores) | %ld events, %ld calls | "
	       "%.0f events/s intake to committed (%.0f events/s intake to acked) | "
	       "%.0f spool bytes/event | `%s` |\n",
	       b.n, b.ncalls, eps, intake, bpe, command);
	if (json_path) {
		FILE *f = fopen(json_path, "w");
		if (f) {
			fprintf(f, "{\"events\":%ld,\"calls\":%ld,\"seconds\":%.3f,"
				"\"events_per_s\":%.0f,\"intake_events_per_s\":%.0f,"
				"\"spool_bytes_per_event\":%.1f,\"utterance_rows\":%ld,"
				"\"command\":\"%s\"}\n",
				b.n, b.ncalls, secs, eps, intake, bpe, rows, command);
			fclose(f);
		}
	}
	if (rows < b.n) {
		fprintf(stderr, "bench-logger: only %ld utterance rows for %ld events\n", rows, b.n);
		return 1;
	}
	return 0;
}
