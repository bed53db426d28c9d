/* Twilio, as evb-ingress and evb-call speak it: X-Twilio-Signature
 * (HMAC-SHA1 over the URL and the sorted form parameters), the Media
 * Streams WebSocket messages (parsed from and built to JSON text), and
 * the TwiML documents we answer with (<Connect><Stream>, <Redirect>,
 * <Hangup/>), built with XML escaping and read back by the simulator. */
#ifndef EVB_TWILIO_H
#define EVB_TWILIO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "evb_url.h"

#define EVB_TWILIO_SIG_LEN 29     /* base64 of 20 bytes, and the NUL */
#define EVB_TWILIO_FRAME 160      /* 20 ms of mu-law at 8 kHz */
#define EVB_TWILIO_PAYLOAD_MAX 16000 /* decoded media bytes accepted (1 s) */

/* Computes the signature of url followed by the sorted name+value pairs of
 * params (NULL: none) with auth_token into out (base64, NUL-terminated).
 * Returns 0 or -EINVAL. */
int evb_twilio_signature(const char *auth_token, const char *url,
			 const struct evb_params *params, char out[EVB_TWILIO_SIG_LEN]);

/* Checks sig (the X-Twilio-Signature value; NULL counts as wrong) against
 * url, tried as given, without its port, and with the scheme's default
 * port added, plus params. When url's query has bodySHA256, body must hash
 * to it and params are not used (Twilio's JSON-body variant). Compares in
 * constant time. Returns 1 if valid, else 0. */
int evb_twilio_check_signature(const char *auth_token, const char *url,
			       const struct evb_params *params, const void *body,
			       size_t body_len, const char *sig);

/* ---- media stream messages ---- */

enum evb_twilio_event {
	EVB_TWILIO_UNKNOWN = 0, /* an "event" we do not know: name in m->name */
	EVB_TWILIO_CONNECTED,
	EVB_TWILIO_START,
	EVB_TWILIO_MEDIA,
	EVB_TWILIO_DTMF,
	EVB_TWILIO_MARK,
	EVB_TWILIO_STOP,
	EVB_TWILIO_CLEAR, /* server to Twilio; parsed for the simulator */
};

/* A parsed message. Strings point into root and live until
 * evb_twilio_msg_release(); absent fields are NULL (numbers -1). */
struct evb_twilio_msg {
	int event;
	const char *name;         /* the "event" value */
	const char *stream_sid;   /* "streamSid" (top level, or start's) */
	const char *call_sid;     /* start.callSid, stop.callSid */
	const char *account_sid;
	json_t *params;           /* start.customParameters (an object) or NULL */
	const char *encoding;     /* start.mediaFormat */
	long long sample_rate, channels;
	const char *track;        /* media.track */
	long long timestamp_ms;   /* media.timestamp */
	long long chunk;          /* media.chunk */
	long long seq;            /* sequenceNumber */
	uint8_t *payload;         /* media payload, decoded into the caller's buffer */
	size_t payload_len;
	const char *digit;        /* dtmf.digit */
	const char *mark;         /* mark.name */
	json_t *root;
	char fast_sid[72], fast_track[24]; /* the fast path's copies */
};

/* Parses one text message. Media payloads are base64-decoded into buf (cap
 * bytes). Returns 0 (m->event may be EVB_TWILIO_UNKNOWN), EVB_EJSON for
 * bad JSON or a missing or mistyped field (err says which), -EBADMSG for a
 * payload that is not base64, or EVB_ETOOBIG for one larger than cap. On
 * error nothing needs releasing. */
int evb_twilio_msg_parse(const void *data, size_t len, uint8_t *buf, size_t cap,
			 struct evb_twilio_msg *m, char *err, size_t errlen);

/* evb_twilio_msg_parse() without its media fast path: jansson for every
 * message. For the fuzzer and tests, which check that both agree. */
int evb__twilio_msg_parse_json(const void *data, size_t len, uint8_t *buf, size_t cap,
			       struct evb_twilio_msg *m, char *err, size_t errlen);

/* Frees what evb_twilio_msg_parse() filled. */
void evb_twilio_msg_release(struct evb_twilio_msg *m);

/* The value of customParameters name as a string, or NULL. */
const char *evb_twilio_msg_param(const struct evb_twilio_msg *m, const char *name);

/* Builds an outbound message into out (cap bytes) and returns its length,
 * or -ENOBUFS. sid_json is the stream sid already encoded as a JSON string
 * with its quotes (see evb_json_quote()). */
int evb_twilio_media_msg(char *out, size_t cap, const char *sid_json, const uint8_t *payload,
			 size_t len);
int evb_twilio_mark_msg(char *out, size_t cap, const char *sid_json, const char *name);
int evb_twilio_clear_msg(char *out, size_t cap, const char *sid_json);

/* s as a JSON string literal with quotes, malloc'd (the caller frees), or
 * NULL for a string that is not UTF-8. */
char *evb_json_quote(const char *s);

/* ---- TwiML ---- */

struct evb_twiml_param {
	const char *name, *value;
};

/* <Response><Connect action=...><Stream url=...><Parameter .../>...
 * </Stream></Connect></Response>, escaped, with the XML declaration.
 * action may be NULL. Returns a malloc'd string or NULL (ENOMEM). */
char *evb_twiml_connect(const char *stream_url, const char *action_url,
			const struct evb_twiml_param *params, size_t n);

/* <Response><Redirect method="POST">url</Redirect></Response>. */
char *evb_twiml_redirect(const char *url);

/* <Response><Hangup/></Response>. */
char *evb_twiml_hangup(void);

#define EVB_TWIML_MAX_PARAMS 16
#define EVB_TWIML_STR_MAX 2048

/* What a TwiML document asks for, as the simulator reads it. */
struct evb_twiml {
	int has_start;      /* a (one-way) <Start> verb */
	int has_connect;
	int hangup;         /* a <Hangup/> */
	char action[EVB_TWIML_STR_MAX];  /* <Connect action> */
	char stream_url[EVB_TWIML_STR_MAX];
	char redirect[EVB_TWIML_STR_MAX]; /* <Redirect> body */
	size_t nparams;
	char names[EVB_TWIML_MAX_PARAMS][128];
	char values[EVB_TWIML_MAX_PARAMS][EVB_TWIML_STR_MAX / 2];
};

/* Reads the verbs above from xml (len bytes), unescaping attribute values
 * and text. A tolerant scanner, not an XML parser: it never reads past len.
 * Returns 0, or -EBADMSG when xml has no <Response>. */
int evb_twiml_parse(const char *xml, size_t len, struct evb_twiml *t);

/* ---- connection overrides ---- */

/* Twilio's connection overrides: the fragment of a webhook URL, such as
 * "https://h/voice#rc=3&rp=ct,5xx" (docs: "Webhooks (HTTP callbacks):
 * Connection Overrides"). Times in ms; rp a set of EVB_TWILIO_RP_* bits. */
enum {
	EVB_TWILIO_RP_CT = 1,  /* the connection failed (refused, reset, timed out) */
	EVB_TWILIO_RP_RT = 2,  /* no response within rt */
	EVB_TWILIO_RP_4XX = 4,
	EVB_TWILIO_RP_5XX = 8,
};

struct evb_twilio_conn {
	unsigned ct_ms, rt_ms, tt_ms; /* connect, read and total timeouts */
	int rc;                       /* retries after the first attempt, 0-5 */
	unsigned rp;                  /* which failures are retried */
};

/* Splits url at '#': the part before goes to bare (cap bytes, what is
 * requested and signed), the overrides to *o, starting from Twilio's
 * defaults (ct 5000, rt 15000, tt 15000, rc 1, rp ct). Keys Twilio has
 * that do not matter here (e, edge, sni) are skipped. Returns 0, -EINVAL
 * for an unknown key or a value outside Twilio's range (then *o keeps the
 * defaults), or EVB_ETOOBIG when bare does not fit. */
int evb_twilio_conn_parse(const char *url, char *bare, size_t cap, struct evb_twilio_conn *o);

#endif
