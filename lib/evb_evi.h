/* Hume EVI chat messages (../shared/PROTOCOLS.md section 5), with no I/O:
 * the 48 prosody keys, the chat URL and its query, the client messages
 * evb-hume builds (session_settings, audio_input, assistant_input, ...),
 * one parser for every message EVI sends, and the schema checks that
 * evb-fakehume applies to what a client sends. */
#ifndef EVB_EVI_H
#define EVB_EVI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "evb_url.h"

#define EVB_EVI_NEMOTIONS 48
#define EVB_EVI_PATH "/v0/evi/chat"
#define EVB_EVI_TOKEN_PATH "/oauth2-cc/token"
#define EVB_EVI_ERR_MAX 256 /* room for a message of the parse and check functions */

/* Message types, both directions. EVB_EVI_UNKNOWN: a "type" we do not know. */
enum evb_evi_type {
	EVB_EVI_UNKNOWN = 0,
	/* EVI -> client */
	EVB_EVI_CHAT_METADATA,
	EVB_EVI_USER_MESSAGE,
	EVB_EVI_ASSISTANT_MESSAGE,
	EVB_EVI_ASSISTANT_PROSODY,
	EVB_EVI_AUDIO_OUTPUT,
	EVB_EVI_USER_INTERRUPTION,
	EVB_EVI_ASSISTANT_END,
	EVB_EVI_TOOL_CALL,
	EVB_EVI_ERROR,
	/* both ways */
	EVB_EVI_TOOL_RESPONSE,
	EVB_EVI_TOOL_ERROR,
	EVB_EVI_SESSION_SETTINGS,
	/* client -> EVI */
	EVB_EVI_AUDIO_INPUT,
	EVB_EVI_USER_INPUT,
	EVB_EVI_ASSISTANT_INPUT,
	EVB_EVI_PAUSE_ASSISTANT,
	EVB_EVI_RESUME_ASSISTANT,
	EVB_EVI_NTYPES
};

/* The wire name of a type ("user_message"), NULL for EVB_EVI_UNKNOWN or
 * out of range; and the type of a wire name (EVB_EVI_UNKNOWN if none). */
const char *evb_evi_type_name(int type);
int evb_evi_type_parse(const char *name);

/* The i-th prosody key (0..47) in EVI's order, spelled as on the wire
 * ("Surprise (negative)"); NULL out of range. */
const char *evb_evi_emotion_name(int i);

/* The index of a prosody key, or -1. */
int evb_evi_emotion_index(const char *name);

/* One message from EVI, parsed. Strings point into root and live until
 * evb_evi_msg_release(); absent fields are NULL, -1 (integers and
 * booleans) or 0 (have_scores). */
struct evb_evi_msg {
	int type;                  /* enum evb_evi_type */
	const char *type_name;     /* the "type" as sent */
	const char *id;            /* assistant_message, assistant_prosody, audio_output */
	const char *chat_id, *chat_group_id, *request_id; /* chat_metadata, error */
	const char *role, *text;   /* message.role, message.content */
	int interim, from_text, is_quick_response;
	long long begin_ms, end_ms; /* user_message time.begin / time.end */
	int have_scores;           /* models.prosody.scores held all 48 keys as numbers */
	int bad_scores;            /* scores were present but incomplete or not numbers */
	double scores[EVB_EVI_NEMOTIONS];
	long long index;           /* audio_output */
	const char *data;          /* audio_output: base64 WAV, data_len bytes */
	size_t data_len;
	long long time;            /* user_interruption */
	const char *name, *parameters, *tool_call_id, *tool_type; /* tool_call */
	int response_required;
	const char *code, *slug, *message; /* error */
	const char *content;       /* tool_response, tool_error */
	json_t *root;
	char *owned; /* the fast path's copy of id */
};

/* Parses one text message from EVI. Returns 0 with m filled (m->type may be
 * EVB_EVI_UNKNOWN for a type we do not know: m->type_name says which), or
 * EVB_EJSON with a reason in err (not JSON, not an object, no "type", or a
 * field of the wrong JSON type, e.g. "audio_output: 'index' is not an
 * integer"); then m holds nothing to release. */
int evb_evi_parse(const void *data, size_t len, struct evb_evi_msg *m, char *err, size_t errlen);

/* evb_evi_parse() without its audio_output fast path: jansson for every
 * message. For the fuzzer and tests, which check that both agree. */
int evb__evi_parse_json(const void *data, size_t len, struct evb_evi_msg *m, char *err,
			size_t errlen);

/* Frees what evb_evi_parse() kept; m may be released twice. */
void evb_evi_msg_release(struct evb_evi_msg *m);

/* Decodes base64 (RFC 4648, padding required, no whitespace) into a new
 * buffer the caller frees. Returns 0, -EINVAL (not base64) or -ENOMEM. */
int evb_evi_b64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen);

/* Encodes len bytes as base64 into a new NUL-terminated string the caller
 * frees; NULL with errno ENOMEM. */
char *evb_evi_b64_encode(const void *data, size_t len, size_t *outlen);

/* What goes in the session_settings evb-hume sends; NULL or 0 fields are
 * left out. variables is borrowed (an object of strings, numbers, booleans). */
struct evb_evi_settings {
	uint32_t sample_rate;        /* audio: linear16, channels 1 */
	const char *system_prompt;
	const char *context_text;    /* context: {text, type} */
	const char *context_type;    /* "persistent" (default) or "temporary" */
	json_t *variables;
	const char *voice_id;
	const char *custom_session_id;
};

/* A session_settings message as JSON text, which the caller frees; NULL
 * with errno set (EINVAL for a sample rate of 0). */
char *evb_evi_session_settings(const struct evb_evi_settings *s);

/* {"type":"audio_input","data":"<base64 of pcm>"} as a new string the
 * caller frees, its length in *outlen; NULL with errno ENOMEM. */
char *evb_evi_audio_input(const void *pcm, size_t len, size_t *outlen);

/* {"type":type,"text":text}, e.g. assistant_input or user_input; the caller
 * frees it. NULL with errno set. */
char *evb_evi_text_message(const char *type, const char *text);

/* A tool_error for tool_call_id (content and tool_type may be NULL); the
 * caller frees it. NULL with errno set. */
char *evb_evi_tool_error(const char *tool_call_id, const char *error, const char *content,
			 const char *tool_type);

/* What goes in the chat URL's query. auth_name is "api_key" or
 * "access_token"; NULL fields are left out. */
struct evb_evi_connect {
	const char *config_id;
	const char *resumed_chat_group_id;
	const char *auth_name, *auth_value;
	int verbose_transcription;   /* 1: ask for interim user_messages */
};

/* base (a ws:// or wss:// URL, which may hold a query already) with the
 * query parameters of c appended, percent-encoded; the caller frees it.
 * NULL with errno set. The result may hold a secret: never log it. */
char *evb_evi_chat_url(const char *base, const struct evb_evi_connect *c);

/* Checks a chat URL's query as EVI's handshake would: known names only,
 * session_settings[...] limited to the connect-time fields. Returns 0 or
 * EVB_EJSON with err naming the parameter. */
int evb_evi_check_query(const struct evb_params *p, char *err, size_t errlen);

/* Checks one client message (a JSON object) against EVI's schema: a known
 * client type, only the fields that type defines, each of the right JSON
 * type and value (session_settings.audio.encoding "linear16", integral
 * sample_rate and channels, context.type, variables of scalars, ...).
 * Returns the type (> 0), or EVB_EJSON with err naming the field. */
int evb_evi_check_client(const json_t *msg, char *err, size_t errlen);

#endif
