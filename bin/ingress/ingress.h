/* evb-ingress internals: the daemon, its calls and their media streams.
 * One uv loop serves every call; one 20 ms timer paces all playout and
 * one 1 s timer sweeps timeouts. Files: main.c (options), daemon.c (loop,
 * signals, links), routes.c (HTTP router, signatures, /healthz),
 * twilio.c and vonage.c (webhooks and media messages per provider),
 * media.c (media WebSocket sessions), call.c (call table and lifecycle),
 * playout.c (queues, pacing, marks, barge-in). */
#ifndef EVB_INGRESS_H
#define EVB_INGRESS_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "evb_cfg.h"
#include "evb_conn.h"
#include "evb_events.h"
#include "evb_frame.h"
#include "evb_http.h"
#include "evb_sign.h"
#include "evb_url.h"
#include "evb_util.h"
#include "evb_ws.h"

enum { PROV_TWILIO = 1, PROV_VONAGE = 2 };

#define TICK_NS 20000000u      /* the playout period */
#define MIN_GAP_NS 8000000u    /* never two frames of a call closer than this */
#define QUEUE_MAX_FRAMES 3000  /* 60 s of agent audio per call */
#define FRAME_MAX 640          /* L16 16 kHz, 20 ms */
#define MARKS_MAX 16           /* marks sent and not yet echoed, per call */
#define USED_TOKENS 4          /* tokens a call remembers as used */
#define ENDED_LINGER_S 60      /* an ended call is remembered this long */
#define START_TIMEOUT_S 10     /* a media socket must start by then */
#define SWEEP_CLOSE_MAX 200    /* media sockets the once-a-second sweep closes at most */
#define WS_MAX_MESSAGE (64u << 10)
#define WS_MAX_QUEUE (256u << 10)
#define WS_PING_MS 10000
#define URL_MAX 2048           /* a public URL we build */
#define JTI_MAX 200000         /* signed-webhook jti values remembered */

struct ing_opts {
	long token_ttl_s;   /* media token lifetime */
	long grace_s;       /* a lost stream may come back within this */
	long header_ms, body_ms, idle_ms;
	long drain_s;       /* on SIGTERM, let calls run this long */
};

struct evb_stats;
struct evb_replay;
struct evb_stats_server;
struct evb_metric;

struct ing_stats {
	uint64_t calls, webhooks, frames_in, frames_up, frames_up_dropped, frames_out,
		frames_down_dropped, underruns, interruptions, bad_inputs, bad_signatures,
		bad_tokens, reframed, marks_sent, marks_played, marks_cleared, dtmf,
		streams, reconnects, lat_sum_ns, lat_n;
};

enum call_state { C_RINGING, C_LIVE, C_LOST, C_ENDED };

struct mark {
	uint32_t utt;     /* utterance number, in the name "evb-<utt>" */
	uint64_t sent_ns;
	int cleared;      /* sent before a clear: its echo is not "played" */
};

/* One phone call, from its webhook until a while after it ended. */
struct call {
	uint8_t id[EVB_CALLID_LEN];
	char idstr[EVB_CALLID_STRLEN];
	int provider, outbound, legacy, state;
	char pcid[128];           /* Twilio CallSid / Vonage uuid */
	char conv[128];           /* Vonage conversation uuid */
	char from[65], to[65], agent[65];
	char cust_name[256], cust_email[256];
	char final_status[32];    /* last provider status seen */
	int codec;
	uint32_t rate;
	size_t frame_bytes;
	uint64_t created_ns, live_ns, lost_ns, ended_ns;
	uint32_t seq_up;
	struct stream *stream;    /* the live media socket, or NULL */
	int streams;              /* media sockets started so far */
	char used[USED_TOKENS][EVB_MTOKEN_MAX];
	int nused;
	const char *end_reason;
	/* playout */
	uint8_t *qbuf;            /* ring of frame_bytes slots */
	uint16_t *qflags;
	uint64_t *qcap_ns;
	size_t qcap, qhead, qlen;
	uint64_t last_sent_ns, play_end_ns;
	uint32_t utt;             /* utterances marked so far */
	uint32_t utt_frames;      /* frames sent of the current utterance */
	int utt_open, starved, hangup_pending;
	struct mark marks[MARKS_MAX];
	int nmarks;
	struct call *anext, *aprev; /* in the tick's list */
	int in_active;
};

/* One media WebSocket. */
struct stream {
	struct ing *d;
	struct evb_ws *ws;
	int provider, started, closing, we_closed, got_stop, legacy;
	char path_id[128];        /* the id in the socket's path, if any */
	char *sid_json;           /* Twilio streamSid as a JSON string */
	struct call *call;
	uint64_t opened_ns;
	uint8_t acc[FRAME_MAX];   /* inbound audio cut into exact frames */
	size_t acc_len;
	uint64_t next_ts_us;
	uint64_t bad;
	struct stream *next, *prev;
};

struct ing {
	uv_loop_t *loop;
	const struct evb_cfg *cfg;
	struct ing_opts o;
	struct evb_http_server *http;
	struct evb_tls_config *tls;
	struct evb_link *xc;
	struct evb_events *ev;
	struct evb_callmap *calls, *by_pcid;
	struct evb_replay *jtis;  /* Vonage signed-webhook jti values used */
	struct stream *streams;
	size_t nstreams;
	struct call *active;
	uv_timer_t tick, sweep;
	uv_signal_t sig[2];
	uint64_t tick_next_ns;
	int tick_on, stopping;
	uint64_t drain_until_ns;
	char base[1600], ws_base[1600], origin[1024], ws_origin[1024], prefix[512];
	const char *twilio_token, *twilio_account, *vonage_secret;
	char media_secret[80];
	struct ing_stats st;
	struct evb_stats *stats;
	struct evb_stats_server *stats_srv;
	struct evb_metric *m_calls, *m_streams;
	struct evb_metric *m_lat_first; /* an utterance's first frame, when it finds the line idle */
	struct evb_metric *m_interrupt; /* user_interruption at evb-hume to the clear written */
};

/* metrics.c: serve EVB_RUN_DIR/ingress.metrics; stop serving; free. */
void ing_metrics_start(struct ing *d);
void ing_metrics_stop(struct ing *d);
void ing_metrics_free(struct ing *d);

/* daemon.c: runs the daemon until SIGTERM; returns the exit status. */
int ingress_run(const struct evb_cfg *cfg, const struct ing_opts *o);
/* While stopping: once no media stream is left, ends the calls and exits. */
void ing_maybe_exit(struct ing *d);

/* routes.c: the HTTP handler (evb_http callback). */
void ing_on_request(struct evb_http_req *req, void *arg);
/* 1 if req carries a valid X-Twilio-Signature over the URL the provider
 * asked for and form (NULL for none); ws: a media socket's upgrade. */
int ing_twilio_sig_ok(struct ing *d, struct evb_http_req *req, const struct evb_params *form,
		      int ws);
/* 1 if req is a valid Vonage signed webhook, or signatures are off. */
int ing_vonage_sig_ok(struct ing *d, struct evb_http_req *req);
/* Answers 403 with code and why, logs, counts and sends an error event. */
void ing_refuse(struct ing *d, struct evb_http_req *req, int provider, const char *code,
		const char *why, const struct call *c);
/* 1 for GET and POST, else answers 405 and returns 0. */
int ing_method_ok(struct evb_http_req *req);
/* 1 if s is fit for a URL path: 1-127 letters, digits, '-' and '_'. */
int ing_safe_id(const char *s);
int64_t ing_unix_now(void);

/* twilio.c */
void tw_voice(struct ing *d, struct evb_http_req *req, int legacy);
void tw_status(struct ing *d, struct evb_http_req *req);
void tw_stream_ended(struct ing *d, struct evb_http_req *req);
void tw_message(struct stream *s, int kind, const uint8_t *data, size_t len);

/* vonage.c */
void vg_answer(struct ing *d, struct evb_http_req *req, int legacy);
void vg_event(struct ing *d, struct evb_http_req *req);
void vg_ws_event(struct ing *d, struct evb_http_req *req);
void vg_message(struct stream *s, int kind, const uint8_t *data, size_t len);

/* media.c: media_accept() answers an upgrade; media_attach() checks the
 * token when a stream starts and makes it the call's (0, or -1 when the
 * stream was refused and is closing); media_audio() cuts caller audio into
 * exact frames for evb-transcode; media_bad() logs and counts bad input,
 * closing with close_code unless it is 0, and returns -1. */
void media_accept(struct ing *d, struct evb_http_req *req, int provider, const char *path_id,
		  int legacy);
void media_close(struct stream *s, int code, const char *reason);
int media_bad(struct stream *s, const char *what, const char *detail, int close_code);
int media_attach(struct stream *s, const char *call_id, const char *pcid, const char *token,
		 const char *stream_sid);
void media_dtmf(struct stream *s, const char *digit, long long duration_ms);
void media_audio(struct stream *s, const uint8_t *data, size_t len, int64_t ts_ms,
		 uint64_t capture_ns);
int media_send_audio(struct stream *s, const uint8_t *data, size_t len);
void media_send_mark(struct stream *s, uint32_t utt);
void media_send_clear(struct stream *s);
void media_sweep(struct ing *d, uint64_t now);
void media_close_all(struct ing *d, int code, const char *reason);

/* call.c: call_new() takes our id (NULL: a new one) and the provider's;
 * call_end() ends a call once (closing its stream, call.ended up and as
 * an event); the sweep ends calls whose media never came or stayed lost
 * and frees ended ones after ENDED_LINGER_S. */
struct call *call_new(struct ing *d, int provider, const char *idstr, const char *pcid);
/* Copies s into out if it fits (0), else leaves out alone (-1). */
int ing_copy(char *out, size_t cap, const char *s);
struct call *call_find(struct ing *d, const char *idstr);
struct call *call_find_pcid(struct ing *d, int provider, const char *pcid);
const char *prov_name(int provider);
void call_prepare(struct ing *d, struct call *c, int resent);
int call_send_up(struct ing *d, struct call *c, struct evb_frame_hdr *h, const void *payload);
void call_control_up(struct ing *d, struct call *c, json_t *o);
json_t *call_event(const struct call *c, const char *type);
void ing_event(struct ing *d, json_t *ev);
void call_status(struct ing *d, struct call *c, const char *status, long long duration_s);
void call_end(struct ing *d, struct call *c, const char *reason);
int call_mint_token(struct ing *d, struct call *c, char tok[EVB_MTOKEN_MAX]);
int call_token_used(const struct call *c, const char *token);
void call_sweep(struct ing *d, uint64_t now);
void call_free_all(struct ing *d);
void call_prepare_all(struct ing *d);
void call_params(struct call *c, const struct evb_params *q);

/* playout.c: play_down() takes a frame from evb-transcode; play_kick()
 * starts playing a call's queue (its first frame at once if the provider
 * is idle); play_drop() empties it when the stream is lost; play_release()
 * frees it; play_stop() stops the tick for good. */
void play_down(struct ing *d, const struct evb_frame *f);
void play_kick(struct ing *d, struct call *c);
/* The agent was interrupted: queued audio goes, the provider gets a clear.
 * capture_ns: when evb-hume got EVI's user_interruption (0: unknown). */
void play_interrupt(struct ing *d, struct call *c, uint64_t capture_ns);
void play_mark_echo(struct ing *d, struct call *c, const char *name);
void play_drop(struct ing *d, struct call *c);
void play_release(struct ing *d, struct call *c);
void play_stop(struct ing *d);

#endif
