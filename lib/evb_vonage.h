/* Vonage Voice, as evb-ingress and evb-call speak it: signed webhooks
 * (an HS256 JWT in "Authorization: Bearer" whose payload_hash is the
 * SHA-256 of the body), the NCCO that connects a call to our media
 * WebSocket, the text messages of that WebSocket, and event webhooks. */
#ifndef EVB_VONAGE_H
#define EVB_VONAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define EVB_VONAGE_JWT_SKEW_S 300    /* iat may be this far in the future */
#define EVB_VONAGE_JWT_MAX_AGE_S 3600 /* and at most this old */

/* Checks authorization ("Bearer <jwt>") against secret for a request whose
 * body is body[0..len) at Unix time now: alg HS256, a valid signature, iat
 * neither in the future nor too old, exp (if any) not passed, and
 * payload_hash equal to the body's SHA-256 (required when there is a
 * body). Built on evb_jwt. Returns 0, or -EPERM with err saying why
 * (never the secret). */
int evb_vonage_jwt_check(const char *authorization, const char *secret, const void *body,
			 size_t len, int64_t now, char *err, size_t errlen);

/* As evb_vonage_jwt_check(), and on success also the token's jti (copied
 * into jti, cap bytes; "" when it has none or it does not fit) and the
 * last second at which the check would still accept it (*until), to
 * remember the jti that long and refuse a replay. */
int evb_vonage_jwt_check_jti(const char *authorization, const char *secret, const void *body,
			     size_t len, int64_t now, char *jti, size_t cap, int64_t *until,
			     char *err, size_t errlen);

/* Makes such a token (the simulator signs its webhooks with it): claims
 * iat, jti, iss "Vonage" and payload_hash of body. Returns a malloc'd
 * string or NULL. */
char *evb_vonage_jwt_sign(const char *secret, const void *body, size_t len, int64_t now);

/* The rate of "audio/l16;rate=16000" (8000, 16000 or 24000), or -1. */
int evb_vonage_rate(const char *content_type);

/* The NCCO connecting the call to the WebSocket at ws_uri: a one-element
 * array [{"action":"connect","eventType":"synchronous","eventUrl":[...],
 * "endpoint":[{"type":"websocket","uri":...,"content-type":
 * "audio/l16;rate=R","headers":{...}}]}]. headers is an object (borrowed);
 * event_url may be NULL. Returns a malloc'd compact JSON string or NULL. */
char *evb_vonage_ncco_connect(const char *ws_uri, int rate, const char *event_url,
			      json_t *headers);

/* What the simulator reads from an NCCO: the first connect action's first
 * websocket endpoint. Strings point into *root, which the caller frees
 * with json_decref(). Returns 0, or -EBADMSG (no such action). */
struct evb_ncco {
	const char *uri, *content_type, *event_url;
	json_t *headers; /* object or NULL */
};
int evb_vonage_ncco_parse(const void *data, size_t len, json_t **root, struct evb_ncco *n);

/* ---- media WebSocket text messages ---- */

enum evb_vonage_event {
	EVB_VONAGE_UNKNOWN = 0,
	EVB_VONAGE_CONNECTED,  /* websocket:connected */
	EVB_VONAGE_DTMF,       /* websocket:dtmf, or {"dtmf":{"digit":...}} */
	EVB_VONAGE_NOTIFY,     /* websocket:notify (echo of our notify) */
	EVB_VONAGE_CLEARED,    /* websocket:cleared */
	EVB_VONAGE_A_NOTIFY,   /* {"action":"notify"}: server to Vonage */
	EVB_VONAGE_A_CLEAR,    /* {"action":"clear"}: server to Vonage */
};

struct evb_vonage_msg {
	int event;
	const char *name;         /* the "event" or "action" value */
	const char *content_type; /* websocket:connected */
	const char *digit;
	long long duration_ms;    /* dtmf duration, -1 if absent */
	json_t *payload;          /* notify payload, borrowed from root */
	json_t *root;             /* the whole message */
};

/* Parses one text message. Returns 0 (event may be EVB_VONAGE_UNKNOWN) or
 * EVB_EJSON with err set; on error nothing needs releasing. */
int evb_vonage_msg_parse(const void *data, size_t len, struct evb_vonage_msg *m, char *err,
			 size_t errlen);
void evb_vonage_msg_release(struct evb_vonage_msg *m);

/* The value of a header key echoed at the top level of websocket:connected
 * (or inside its "headers" object), as a string, or NULL. */
const char *evb_vonage_msg_header(const struct evb_vonage_msg *m, const char *key);

/* ---- event webhooks ---- */

struct evb_vonage_status {
	const char *status, *uuid, *conversation_uuid, *direction, *from, *to, *detail;
	long long duration_s; /* "duration" on completed, -1 if absent */
};

/* Reads an event webhook's JSON object (root, borrowed); uuid falls back
 * to call_uuid (machine detection events). Returns 0 or -EBADMSG when
 * there is no status. */
int evb_vonage_event_read(json_t *root, struct evb_vonage_status *e);

/* 1 for a status the Voice API documents (started, ringing, answered,
 * completed, busy, cancelled, unanswered, rejected, failed, timeout,
 * disconnected, machine, human). */
int evb_vonage_status_known(const char *status);

/* 1 for a status after which the call is over. */
int evb_vonage_status_final(const char *status);

#endif
