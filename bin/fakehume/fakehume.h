/* evb-fakehume: a strict local stand-in for Hume's EVI chat WebSocket and
 * its OAuth token endpoint (docs/hume.md). One uv loop; one 10 ms tick
 * drives every session's timed work. */
#ifndef EVB_FAKEHUME_H
#define EVB_FAKEHUME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "evb_evi.h"
#include "evb_http.h"
#include "evb_ws.h"

#define FH_MAX_NAMES 8
#define FH_TICK_MS 10
#define FH_OUT_RATE 48000 /* audio_output WAV rate */

struct fh_opts {
	char host[256];
	int port;
	const char *tls_cert, *tls_key, *gen_cert_dir;
	const char *cert_names[FH_MAX_NAMES];
	size_t ncert_names;
	const char *api_key, *secret_key;
	unsigned token_ttl_s;
	const char *scenario_path, *record_path;
	double speech_db;          /* a 20 ms block louder than this (dBFS) is speech */
	unsigned min_speech_ms;    /* speech this long starts a caller turn */
	unsigned silence_ms;       /* silence this long ends it */
	unsigned interrupt_ms;     /* caller speech this long during playback interrupts */
	unsigned max_duration_s;   /* 0: no cap */
	unsigned inactivity_s;     /* 0: none */
	unsigned chunk_ms;         /* audio_output chunk length */
	unsigned ahead_ms;         /* audio may run this far ahead of the wall clock */
	int no_espeak;
	const char *voice;         /* espeak-ng voice */
};

/* ---- scenario.c ---- */

enum fh_trigger { FH_AT_OPEN, FH_AT_TURN, FH_AT_REPLY };

enum fh_act {
	FH_DROP, FH_CLOSE, FH_ERROR, FH_HANG_UP, FH_TOOL, FH_SEND, FH_SEND_RAW, FH_SEND_BIG,
	FH_SAY, FH_INTERRUPT,
};

struct fh_action {
	int trigger;    /* enum fh_trigger */
	int n;          /* connection or turn number */
	unsigned after_ms;
	int act;        /* enum fh_act */
	long num;       /* close code, KiB for send-big */
	char *a, *b, *c; /* arguments (code, slug, message; name, params; text) */
};

struct fh_scenario;

/* Reads a scenario file (docs/hume.md); NULL path gives the empty one.
 * Returns NULL with a message naming the line in err. */
struct fh_scenario *fh_scenario_load(const char *path, char *err, size_t errlen);
void fh_scenario_free(struct fh_scenario *sc);

/* The reply text for caller turn n ("-": none), its delay in ms, and the
 * transcript; defaults when the scenario says nothing. out is for the
 * default text. */
const char *fh_scenario_reply(const struct fh_scenario *sc, int n, char *out, size_t cap,
			      double seconds);
unsigned fh_scenario_delay(const struct fh_scenario *sc, int n);
const char *fh_scenario_transcript(const struct fh_scenario *sc, int n, char *out, size_t cap,
				   double seconds);

/* The actions, in file order. */
size_t fh_scenario_count(const struct fh_scenario *sc);
const struct fh_action *fh_scenario_action(const struct fh_scenario *sc, size_t i);

/* ---- speech.c ---- */

struct fh_synth;

/* Speaks text with espeak-ng (uv_spawn, never blocking) or, when it is
 * missing, fails or no_espeak is set, a tone as long as the text would
 * take; the result is 16-bit mono at FH_OUT_RATE. done(arg, pcm, n) runs
 * once, from the loop; pcm is the callee's (valid during the call). NULL
 * with errno set, and then done never runs. */
struct fh_synth *fh_synth_start(uv_loop_t *loop, const char *text, const char *voice,
				int no_espeak,
				void (*done)(void *arg, const int16_t *pcm, size_t n), void *arg);

/* done will not run; the child, if any, is reaped in the background. */
void fh_synth_cancel(struct fh_synth *s);

/* The rule (docs/hume.md): L = loudness, Z = zero-crossing rate, D =
 * duration, each in [0, 1]; score i = 0.5 + 0.5 sin(1.3 i + 3.1 L + 2.3 Z +
 * 1.7 D), rounded to 6 decimals. */
void fh_prosody(double L, double Z, double D, double scores[EVB_EVI_NEMOTIONS]);

/* Features of n samples: L from the RMS level (-60..0 dBFS), Z from the
 * zero-crossing rate (0..0.5 per sample), D from duration_ms (0..10 s). */
void fh_features(double sumsq, uint64_t nsamples, uint64_t crossings, uint64_t duration_ms,
		 double *L, double *Z, double *D);

/* ---- server.c ---- */

/* A chat group: chats resumed with resumed_chat_group_id continue its turn
 * count, and scenario turn and reply actions fire once per group. */
struct fh_group {
	char id[40];
	int turns;      /* caller turns so far */
	uint8_t *fired; /* one flag per scenario action */
	struct fh_group *next;
};

struct fh_session;

struct fh_server {
	uv_loop_t *loop;
	struct fh_opts o;
	struct fh_scenario *sc;
	struct evb_http_server *http;
	struct evb_tls_config *tls;
	FILE *record;
	uint64_t t0_ns;
	unsigned conns;              /* chat connections accepted so far */
	uint8_t *open_fired;         /* "at open" actions done */
	struct fh_group *groups;
	size_t ngroups;
	struct fh_session **sess;
	size_t nsess, capsess;
	struct fh_token *tokens;
	size_t ntokens;
	uv_timer_t tick;
	uv_signal_t sig[2];
	int stopping;
};

/* Writes one record line {"t":ms,"conn":conn,"ev":ev, ...fields} (fields
 * is taken, may be NULL; conn 0 leaves "conn" out). */
void fh_record(struct fh_server *srv, unsigned conn, const char *ev, json_t *fields);

/* The group called id, or a new one with a random id when id is NULL;
 * NULL if id is unknown (or out of memory). */
struct fh_group *fh_group_get(struct fh_server *srv, const char *id);

/* Registers and forgets a live session (for the tick and shutdown). */
int fh_server_add(struct fh_server *srv, struct fh_session *s);
void fh_server_remove(struct fh_server *srv, struct fh_session *s);

/* Milliseconds since the server started (monotonic, not cached). */
uint64_t fh_now_ms(const struct fh_server *srv);

/* ---- session.c ---- */

/* What the handshake told about a new chat. */
struct fh_connect {
	struct fh_group *group;
	int resumed;
	int verbose;          /* verbose_transcription=true */
	const char *config_id;
	const char *auth;     /* "api_key" or "access_token" */
	/* connect-time session_settings[audio] from the query, 0 if none */
	uint32_t rate;
	unsigned channels;
	json_t *query;        /* for the record, secrets hidden (borrowed) */
	int tls;
};

/* Accepts the WebSocket of req as chat number conn_no and sends
 * chat_metadata. Returns NULL (req answered) on failure. */
struct fh_session *fh_session_new(struct fh_server *srv, struct evb_http_req *req,
				  unsigned conn_no, const struct fh_connect *c);

/* Timed work: replies, audio chunks, scenario delays, timeouts. */
void fh_session_tick(struct fh_session *s, uint64_t now_ms);

/* Closes the chat (1001, going away) at shutdown. */
void fh_session_shutdown(struct fh_session *s);

/* Its connection number. */
unsigned fh_session_conn(const struct fh_session *s);

/* Runs the server until SIGTERM or SIGINT; returns the exit status. */
int fh_run(const struct fh_opts *o);

#endif
