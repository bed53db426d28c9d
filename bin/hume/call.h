/* A call in evb-hume, shared by call.c (the chat's life, caller audio up)
 * and evimsg.c (what EVI sends, turned into frames down and events). */
#ifndef EVB_HUME_CALL_H
#define EVB_HUME_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "evb_ws.h"
#include "hume.h"

#define MAX_PENDING 64 /* audio_output chunks waiting for an earlier index */
#define MAX_PENDING_BYTES (8u << 20) /* and their bytes */
#define MAX_ASST 8     /* assistant utterances waiting for their turn's end */

/* An assistant utterance event held until the turn ends (assistant_end) or
 * is interrupted, so that its assistant_prosody scores and whether it was
 * interrupted go into one event. */
struct asst_pending {
	json_t *ev;
	char *id;
};

enum { C_INFO, C_CONNECTING, C_OPEN, C_WAIT, C_IDLE, C_ENDED };

/* Caller audio held while the chat is not open: a ring of at most max bytes
 * that drops the oldest. */
struct ring {
	uint8_t *p;
	size_t cap, head, len, max;
	uint64_t dropped;
};

struct chunk {
	long long index;
	uint8_t *wav;
	size_t len;
	uint64_t capture_ns;
};

struct call {
	struct hume *h;
	uint8_t id[EVB_CALLID_LEN];
	char idstr[EVB_CALLID_STRLEN];
	char provider[8];
	char *agent, *cust_name, *cust_email, *from, *to, *direction;
	int prepared;
	struct agent_info info;
	int info_pending;
	uint64_t info_deadline;
	uint32_t rate;             /* of the caller audio (L16) */
	struct evb_conn *conn;     /* down frames go here */
	int state;
	struct evb_ws *ws;         /* the current EVI socket */
	int ws_open, nws;          /* nws: sockets of ours not yet closed */
	int used_token, resumed_socket, metadata_seen;
	uint32_t sent_rate;        /* rate declared on the current socket */
	uint64_t ws_opened_ms, last_activity_ms, last_frame_ms;
	char *chat_id, *chat_group_id;
	int resume_failures, greeted, hanging_up, ended, asst_speaking;
	unsigned attempts, failures, short_chats;
	uint64_t retry_at, ended_at;
	uint8_t *batch;
	size_t batch_len, batch_cap;
	uint64_t batch_ns; /* capture time of the batch's oldest live audio, 0 if held */
	struct ring hold;
	char *out_id;
	long long next_index;
	struct chunk pend[MAX_PENDING];
	int npend;
	size_t pend_bytes;
	uint32_t down_seq;
	uint64_t down_media_us;
	char *asst_id, *asst_text;      /* the last assistant_message */
	struct asst_pending asst[MAX_ASST];
	int nasst;
	unsigned error_events;
	uint64_t send_dropped;
};

static inline uint64_t call_now_ms(const struct hume *h)
{
	return uv_now(h->loop);
}

/* Replaces *dst with a copy of s (NULL or "" gives NULL). */
void call_set_s(char **dst, const char *s);

/* Sends a text message on the call's open EVI socket; what names it in the
 * (rate-limited) warning when it cannot. */
void call_send_text(struct call *c, const char *txt, size_t len, const char *what);

/* Leaves the current socket for a new one, resuming the chat group. */
void call_resume(struct call *c, const char *why);

/* Handles one message from the call's current EVI socket. */
void evimsg_handle(struct call *c, int kind, const uint8_t *data, size_t len);

/* An error event (source "evi" or "evb") and a warning line, both capped
 * per call. */
void evimsg_error(struct call *c, const char *source, const char *code, const char *slug,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Drops the agent audio held for ordering (interruption, end of call). */
void evimsg_drop_output(struct call *c);

/* Sends the assistant utterances still held (the chat closed or the call
 * ended before the turn did). */
void evimsg_flush(struct call *c);

#endif
