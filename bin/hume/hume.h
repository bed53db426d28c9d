/* evb-hume: one Hume EVI chat WebSocket per call (docs/hume.md). The
 * daemon (daemon.c) serves hume.sock; calls (call.c) bridge frames and EVI
 * messages; auth.c keeps an OAuth access token fresh; agents.c reads
 * agents and customers from PostgreSQL, cached. One uv loop, one tick. */
#ifndef EVB_HUME_H
#define EVB_HUME_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evb_callmap.h"
#include "evb_cfg.h"
#include "evb_conn.h"
#include "evb_events.h"
#include "evb_tls.h"

#define HUME_TICK_MS 50
#define HUME_ENDED_GRACE_MS 10000 /* an ended call's id is remembered this long */

struct hume_opts {
	unsigned batch_ms;        /* caller audio per audio_input */
	unsigned hold_ms;         /* caller audio held while the chat is not open */
	unsigned db_wait_ms;      /* longest wait for the database before connecting */
	unsigned agent_ttl_s;     /* agent cache lifetime */
	unsigned max_chat_s;      /* resume a chat this old (EVI caps chats at 30 min) */
	unsigned inactivity_s;    /* resume a chat idle this long (0: never) */
	unsigned max_message_kb;  /* largest EVI message accepted */
	unsigned connect_ms;      /* connect + TLS + handshake timeout */
	unsigned idle_s;          /* end a call that sent no frame for this long */
	int interim;              /* ask EVI for interim user_messages */
	int dtmf_input;           /* pass key presses to EVI as user_input */
};

struct hume_stats {
	uint64_t calls, audio_in, audio_sent, audio_held_dropped_ms, audio_send_dropped;
	uint64_t down_frames, down_dropped, evi_messages, evi_bad, reconnects;
};

struct auth;
struct evb_stats;
struct evb_stats_server;
struct evb_metric;
struct agents;

struct hume {
	uv_loop_t *loop;
	struct hume_opts o;
	const char *evi_url, *config_id, *api_key;
	uint32_t hume_rate;             /* EVB_HUME_RATE, 0: the caller's rate */
	struct evb_tls_config *tls;     /* client config; NULL if nothing needs TLS */
	struct auth *auth;
	struct agents *agents;          /* NULL without DATABASE_URL */
	struct evb_events *events;
	struct evb_listener *lis;
	struct evb_callmap *calls;
	struct evb_conn **conns;
	size_t nconns, capconns;
	uv_timer_t tick;
	uv_signal_t sig[2];
	int stopping, ready, auth_done;
	uint64_t started_ms;
	struct hume_stats st;
	struct evb_stats *stats;
	struct evb_stats_server *stats_srv;
	struct evb_metric *m_calls, *m_sockets;
	struct evb_metric *m_lat_up; /* caller audio: capture to audio_input written */
};

/* ---- daemon.c ---- */

/* Runs until SIGTERM or SIGINT; returns the exit status. */
int hume_daemon(const struct evb_cfg *cfg, const struct hume_opts *o);

/* ---- call.c ---- */

struct call;

/* One frame from evb-transcode on conn (control call.prepare, call.ended,
 * dtmf; audio L16). Creates the call when needed. */
void call_frame(struct hume *h, struct evb_conn *conn, const struct evb_frame *f);

/* Timed work of every call: database waits, reconnects, resumes, freeing
 * ended calls. */
void call_tick_all(struct hume *h, uint64_t now_ms);

/* conn closed: its calls keep going, their down frames are dropped until
 * frames for them come in on another connection. */
void call_conn_gone(struct hume *h, struct evb_conn *conn);

/* Ends every call (closing EVI sockets) for shutdown. */
void call_end_all(struct hume *h);

/* Frees every call (after the loop has closed their sockets). */
void call_free_all(struct hume *h);

/* Calls still holding an EVI socket. */
size_t call_open_sockets(struct hume *h);

/* metrics.c: serve run/hume.metrics; stop serving; free. */
void hume_metrics_start(struct hume *h, const char *run);
void hume_metrics_stop(struct hume *h);
void hume_metrics_free(struct hume *h);

/* ---- auth.c ---- */

/* Chat authentication: with a secret key, an access token from
 * base/oauth2-cc/token, refreshed before it expires; else the API key.
 * first(arg) runs once, when the first token request has ended either way
 * (at once without a secret). NULL with errno set. */
struct auth *auth_new(uv_loop_t *loop, const char *api_base, const char *api_key,
		      const char *secret, struct evb_tls_config *tls,
		      void (*first)(void *arg), void *arg);
void auth_free(struct auth *a);

/* The query parameter to authenticate a chat: "access_token" while a fresh
 * token is there, else "api_key"; the value is a secret. */
void auth_param(struct auth *a, const char **name, const char **value);

/* A chat was refused with a token: drop it and fetch another now. */
void auth_invalidate(struct auth *a);

/* ---- agents.c ---- */

struct agent_info {
	char *slug, *name, *config_id, *system_prompt, *greeting, *voice;
	char *customer_name, *customer_email, *chat_group_id;
	int found; /* the agent row exists */
};

void agent_info_release(struct agent_info *ai);

/* Agent and call lookups on conninfo (lib/evb_pgq, connecting now),
 * read-only, agents cached ttl_ms. NULL with errno set. */
struct agents *agents_new(uv_loop_t *loop, const char *conninfo, unsigned ttl_ms);

/* Frees a; no callback runs after this. */
void agents_free(struct agents *a);

/* 1 while the database connection is up. */
int agents_up(const struct agents *a);

/* Looks up agent slug (NULL: the call row's agent) and, if need_call, the
 * call's row (customer, chat group). Returns 1 when the cache answered:
 * *out filled. Returns 0 when a query is on its way: *out holds what the
 * cache had (maybe stale) and cb(arg, ai) runs later, ai NULL if the
 * database failed. Returns -1 when the database is unavailable now: *out
 * holds what the cache had, cb never runs. out must be zeroed before. */
int agents_lookup(struct agents *a, const char *slug, const uint8_t call_id[EVB_CALLID_LEN],
		  int need_call, struct agent_info *out,
		  void (*cb)(void *arg, const struct agent_info *ai), void *arg);

/* cb will not run for arg. */
void agents_cancel(struct agents *a, void *arg);

#endif
