/* Hume EVI chat messages (see evb_evi.h). Parsing is lenient where EVI's
 * schema leaves room (integers sent as integral reals, absent optional
 * fields) and strict about JSON types; the client checks are strict. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "evb_b64.h"
#include "evb_err.h"
#include "evb_evi.h"
#include "evb_jscan.h"

static const char *const type_names[EVB_EVI_NTYPES] = {
	[EVB_EVI_CHAT_METADATA] = "chat_metadata",
	[EVB_EVI_USER_MESSAGE] = "user_message",
	[EVB_EVI_ASSISTANT_MESSAGE] = "assistant_message",
	[EVB_EVI_ASSISTANT_PROSODY] = "assistant_prosody",
	[EVB_EVI_AUDIO_OUTPUT] = "audio_output",
	[EVB_EVI_USER_INTERRUPTION] = "user_interruption",
	[EVB_EVI_ASSISTANT_END] = "assistant_end",
	[EVB_EVI_TOOL_CALL] = "tool_call",
	[EVB_EVI_ERROR] = "error",
	[EVB_EVI_TOOL_RESPONSE] = "tool_response",
	[EVB_EVI_TOOL_ERROR] = "tool_error",
	[EVB_EVI_SESSION_SETTINGS] = "session_settings",
	[EVB_EVI_AUDIO_INPUT] = "audio_input",
	[EVB_EVI_USER_INPUT] = "user_input",
	[EVB_EVI_ASSISTANT_INPUT] = "assistant_input",
	[EVB_EVI_PAUSE_ASSISTANT] = "pause_assistant_message",
	[EVB_EVI_RESUME_ASSISTANT] = "resume_assistant_message",
};

/* PROTOCOLS.md 5.5, in EVI's (alphabetical) order. */
static const char *const emotions[EVB_EVI_NEMOTIONS] = {
	"Admiration", "Adoration", "Aesthetic Appreciation", "Amusement", "Anger",
	"Anxiety", "Awe", "Awkwardness", "Boredom", "Calmness", "Concentration",
	"Confusion", "Contemplation", "Contempt", "Contentment", "Craving", "Desire",
	"Determination", "Disappointment", "Disgust", "Distress", "Doubt", "Ecstasy",
	"Embarrassment", "Empathic Pain", "Entrancement", "Envy", "Excitement", "Fear",
	"Guilt", "Horror", "Interest", "Joy", "Love", "Nostalgia", "Pain", "Pride",
	"Realization", "Relief", "Romance", "Sadness", "Satisfaction", "Shame",
	"Surprise (negative)", "Surprise (positive)", "Sympathy", "Tiredness", "Triumph",
};

const char *evb_evi_type_name(int type)
{
	return type > 0 && type < EVB_EVI_NTYPES ? type_names[type] : NULL;
}

int evb_evi_type_parse(const char *name)
{
	for (int t = 1; name && t < EVB_EVI_NTYPES; t++)
		if (strcmp(type_names[t], name) == 0)
			return t;
	return EVB_EVI_UNKNOWN;
}

const char *evb_evi_emotion_name(int i)
{
	return i >= 0 && i < EVB_EVI_NEMOTIONS ? emotions[i] : NULL;
}

int evb_evi_emotion_index(const char *name)
{
	for (int i = 0; name && i < EVB_EVI_NEMOTIONS; i++)
		if (strcmp(emotions[i], name) == 0)
			return i;
	return -1;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return EVB_EJSON;
}

/* ---- parsing what EVI sends ---- */

struct pctx {
	const char *type;
	char *err;
	size_t errlen;
};

/* An optional string field: *out NULL when absent or null. */
static int opt_str(struct pctx *x, const json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(x->err, x->errlen, "%s: '%s' is not a string", x->type, key);
	*out = json_string_value(v);
	return 0;
}

static int req_str(struct pctx *x, const json_t *o, const char *key, const char **out)
{
	if (opt_str(x, o, key, out) < 0)
		return EVB_EJSON;
	if (!*out)
		return fail(x->err, x->errlen, "%s: '%s' is missing", x->type, key);
	return 0;
}

/* An optional integer (an integral real is accepted); -1 when absent. */
static int opt_int(struct pctx *x, const json_t *o, const char *key, long long *out)
{
	json_t *v = json_object_get(o, key);
	double d;

	*out = -1;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return 0;
	}
	d = json_is_real(v) ? json_real_value(v) : NAN;
	if (!isfinite(d) || d != floor(d) || fabs(d) > 9e15)
		return fail(x->err, x->errlen, "%s: '%s' is not an integer", x->type, key);
	*out = (long long)d;
	return 0;
}

static int opt_bool(struct pctx *x, const json_t *o, const char *key, int *out)
{
	json_t *v = json_object_get(o, key);

	*out = -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(x->err, x->errlen, "%s: '%s' is not a boolean", x->type, key);
	*out = json_is_true(v);
	return 0;
}

static int opt_obj(struct pctx *x, const json_t *o, const char *key, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(x->err, x->errlen, "%s: '%s' is not an object", x->type, key);
	*out = v;
	return 0;
}

/* message{role, content} */
static int parse_chat_message(struct pctx *x, const json_t *root, struct evb_evi_msg *m)
{
	json_t *msg;

	if (opt_obj(x, root, "message", &msg) < 0)
		return EVB_EJSON;
	if (!msg)
		return fail(x->err, x->errlen, "%s: 'message' is missing", x->type);
	if (opt_str(x, msg, "role", &m->role) < 0 || opt_str(x, msg, "content", &m->text) < 0)
		return EVB_EJSON;
	return 0;
}

/* models{prosody{scores{...}}}: all 48 keys as numbers, else bad_scores. */
static int parse_scores(struct pctx *x, const json_t *root, struct evb_evi_msg *m)
{
	json_t *models, *prosody, *scores;

	if (opt_obj(x, root, "models", &models) < 0)
		return EVB_EJSON;
	if (!models)
		return 0;
	if (opt_obj(x, models, "prosody", &prosody) < 0)
		return EVB_EJSON;
	if (!prosody)
		return 0;
	if (opt_obj(x, prosody, "scores", &scores) < 0)
		return EVB_EJSON;
	if (!scores)
		return 0;
	for (int i = 0; i < EVB_EVI_NEMOTIONS; i++) {
		json_t *v = json_object_get(scores, emotions[i]);
		if (!json_is_number(v)) {
			m->bad_scores = 1;
			return 0;
		}
		m->scores[i] = json_number_value(v);
	}
	m->have_scores = 1;
	return 0;
}

static int parse_fields(struct pctx *x, const json_t *r, struct evb_evi_msg *m)
{
	json_t *t;
	const char *data;

	switch (m->type) {
	case EVB_EVI_CHAT_METADATA:
		return req_str(x, r, "chat_id", &m->chat_id) < 0 ||
			       req_str(x, r, "chat_group_id", &m->chat_group_id) < 0 ||
			       opt_str(x, r, "request_id", &m->request_id) < 0
			       ? EVB_EJSON
			       : 0;
	case EVB_EVI_USER_MESSAGE:
		if (parse_chat_message(x, r, m) < 0 || parse_scores(x, r, m) < 0 ||
		    opt_bool(x, r, "interim", &m->interim) < 0 ||
		    opt_bool(x, r, "from_text", &m->from_text) < 0 || opt_obj(x, r, "time", &t) < 0)
			return EVB_EJSON;
		if (t) {
			x->type = "user_message: time";
			if (opt_int(x, t, "begin", &m->begin_ms) < 0 ||
			    opt_int(x, t, "end", &m->end_ms) < 0)
				return EVB_EJSON;
		}
		return 0;
	case EVB_EVI_ASSISTANT_MESSAGE:
		return opt_str(x, r, "id", &m->id) < 0 || parse_chat_message(x, r, m) < 0 ||
			       parse_scores(x, r, m) < 0 ||
			       opt_bool(x, r, "from_text", &m->from_text) < 0 ||
			       opt_bool(x, r, "is_quick_response", &m->is_quick_response) < 0
			       ? EVB_EJSON
			       : 0;
	case EVB_EVI_ASSISTANT_PROSODY:
		return opt_str(x, r, "id", &m->id) < 0 || parse_scores(x, r, m) < 0 ? EVB_EJSON : 0;
	case EVB_EVI_AUDIO_OUTPUT:
		if (opt_str(x, r, "id", &m->id) < 0 || opt_int(x, r, "index", &m->index) < 0 ||
		    req_str(x, r, "data", &data) < 0)
			return EVB_EJSON;
		m->data = data;
		m->data_len = json_string_length(json_object_get(r, "data"));
		return 0;
	case EVB_EVI_USER_INTERRUPTION:
		return opt_int(x, r, "time", &m->time);
	case EVB_EVI_TOOL_CALL:
		if (req_str(x, r, "name", &m->name) < 0 ||
		    req_str(x, r, "tool_call_id", &m->tool_call_id) < 0 ||
		    opt_str(x, r, "parameters", &m->parameters) < 0 ||
		    opt_str(x, r, "tool_type", &m->tool_type) < 0 ||
		    opt_bool(x, r, "response_required", &m->response_required) < 0)
			return EVB_EJSON;
		return 0;
	case EVB_EVI_TOOL_RESPONSE:
	case EVB_EVI_TOOL_ERROR:
		return opt_str(x, r, "tool_call_id", &m->tool_call_id) < 0 ||
			       opt_str(x, r, "tool_name", &m->name) < 0 ||
			       opt_str(x, r, "tool_type", &m->tool_type) < 0 ||
			       opt_str(x, r, "content", &m->content) < 0 ||
			       (m->type == EVB_EVI_TOOL_ERROR &&
				opt_str(x, r, "error", &m->message) < 0)
			       ? EVB_EJSON
			       : 0;
	case EVB_EVI_ERROR:
		return opt_str(x, r, "code", &m->code) < 0 || opt_str(x, r, "slug", &m->slug) < 0 ||
			       opt_str(x, r, "message", &m->message) < 0 ||
			       opt_str(x, r, "request_id", &m->request_id) < 0
			       ? EVB_EJSON
			       : 0;
	default:
		return 0; /* assistant_end, session_settings, unknown: nothing to read */
	}
}

static void msg_init(struct evb_evi_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->interim = m->from_text = m->is_quick_response = m->response_required = -1;
	m->begin_ms = m->end_ms = m->index = m->time = -1;
}

/* The audio_output fast path: most of EVI's bytes are audio_output
 * messages, whose base64 string jansson would copy twice character by
 * character. Only the plain shape is taken: no escapes anywhere, no
 * repeated key, numbers jansson reads the same way, "id" and "index" of
 * the expected types. Anything else returns 0 and goes to jansson, so both
 * paths accept and refuse the same messages. */
static int fast_audio_output(const void *data, size_t len, struct evb_evi_msg *m)
{
	struct evb_jscan j;
	struct evb_jtok t, v, id = { 0 }, audio = { 0 };
	struct evb_jkeys keys = { .n = 0 };
	long long index = -1;
	int have_type = 0;

	evb_jscan_init(&j, data, len);
	if (evb_jscan_next(&j, &t) != EVB_JT_OBJ)
		return 0;
	while (evb_jscan_next(&j, &t) == EVB_JT_KEY) {
		if (evb_jkeys_add(&keys, &t) < 0 || evb_jscan_next(&j, &v) == EVB_JT_ERR)
			return 0;
		if (evb_jtok_is(&t, "type")) {
			if (!evb_jtok_is(&v, "audio_output"))
				return 0;
			have_type = 1;
		} else if (evb_jtok_is(&t, "id")) {
			if (v.type == EVB_JT_STR && !v.escaped)
				id = v;
			else if (v.type != EVB_JT_NULL)
				return 0;
		} else if (evb_jtok_is(&t, "index")) {
			if (v.type != EVB_JT_NULL && (index = evb_jtok_uint(&v)) < 0)
				return 0;
		} else if (evb_jtok_is(&t, "data")) {
			if (v.type != EVB_JT_STR || v.escaped)
				return 0;
			audio = v;
		} else if (evb_jscan_skip_plain(&j, &v) < 0) {
			return 0;
		}
	}
	if (t.type != EVB_JT_OBJ_END || evb_jscan_next(&j, &t) != EVB_JT_EOF || !have_type ||
	    !audio.s)
		return 0;
	if (id.s) {
		if (!(m->owned = malloc(id.len + 1)))
			return 0;
		memcpy(m->owned, id.s, id.len);
		m->owned[id.len] = '\0';
		m->id = m->owned;
	}
	m->type = EVB_EVI_AUDIO_OUTPUT;
	m->type_name = "audio_output";
	m->index = index;
	m->data = audio.s;
	m->data_len = audio.len;
	return 1;
}

int evb_evi_parse(const void *data, size_t len, struct evb_evi_msg *m, char *err, size_t errlen)
{
	msg_init(m);
	if (fast_audio_output(data, len, m))
		return 0;
	return evb__evi_parse_json(data, len, m, err, errlen);
}

int evb__evi_parse_json(const void *data, size_t len, struct evb_evi_msg *m, char *err,
			size_t errlen)
{
	json_error_t jerr;
	json_t *root, *type;
	struct pctx x = { "message", err, errlen };

	msg_init(m);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, errlen, "not JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "not a JSON object");
	}
	type = json_object_get(root, "type");
	if (!json_is_string(type)) {
		json_decref(root);
		return fail(err, errlen, "no 'type' string");
	}
	m->root = root;
	m->type_name = json_string_value(type);
	m->type = evb_evi_type_parse(m->type_name);
	if (m->type_name)
		x.type = m->type_name;
	if (parse_fields(&x, root, m) < 0) {
		json_decref(root);
		memset(m, 0, sizeof(*m));
		return EVB_EJSON;
	}
	return 0;
}

void evb_evi_msg_release(struct evb_evi_msg *m)
{
	if (m->root)
		json_decref(m->root);
	m->root = NULL;
	free(m->owned);
	m->owned = NULL;
}

/* ---- base64 ---- */

int evb_evi_b64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen)
{
	size_t max = EVB_B64_DEC_MAX(len);
	uint8_t *buf = malloc(max ? max : 1);
	int r;

	*out = NULL;
	*outlen = 0;
	if (!buf)
		return -ENOMEM;
	if ((r = evb_b64_decode(buf, max, in, len, outlen)) < 0) {
		free(buf);
		return r == -ENOBUFS ? -EINVAL : r;
	}
	*out = buf;
	return 0;
}

char *evb_evi_b64_encode(const void *data, size_t len, size_t *outlen)
{
	char *s = malloc(EVB_B64_ENC_LEN(len) + 1);
	size_t n;

	if (!s)
		return NULL;
	n = evb_b64_encode(s, data, len);
	s[n] = '\0';
	if (outlen)
		*outlen = n;
	return s;
}

/* ---- building client messages ---- */

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!s)
		errno = errno ? errno : EINVAL;
	return s;
}

/* Sets key to a new value; a NULL value (bad UTF-8, no memory) counts in *bad. */
static void set_new(json_t *o, const char *key, json_t *v, int *bad)
{
	if (!v || json_object_set_new(o, key, v) < 0)
		(*bad)++;
}

char *evb_evi_session_settings(const struct evb_evi_settings *s)
{
	json_t *o;
	int bad = 0;

	if (!s->sample_rate) {
		errno = EINVAL;
		return NULL;
	}
	if (!(o = json_object()))
		return NULL;
	set_new(o, "type", json_string("session_settings"), &bad);
	if (s->custom_session_id)
		set_new(o, "custom_session_id", json_string(s->custom_session_id), &bad);
	set_new(o, "audio",
		json_pack("{s:s, s:I, s:i}", "encoding", "linear16", "sample_rate",
			  (json_int_t)s->sample_rate, "channels", 1),
		&bad);
	if (s->system_prompt)
		set_new(o, "system_prompt", json_string(s->system_prompt), &bad);
	if (s->context_text)
		set_new(o, "context",
			json_pack("{s:s, s:s}", "text", s->context_text, "type",
				  s->context_type ? s->context_type : "persistent"),
			&bad);
	if (s->variables && json_object_size(s->variables))
		set_new(o, "variables", json_deep_copy(s->variables), &bad);
	if (s->voice_id)
		set_new(o, "voice_id", json_string(s->voice_id), &bad);
	if (bad) {
		json_decref(o);
		errno = EINVAL;
		return NULL;
	}
	return dump(o);
}

char *evb_evi_audio_input(const void *pcm, size_t len, size_t *outlen)
{
	static const char head[] = "{\"type\":\"audio_input\",\"data\":\"", tail[] = "\"}";
	char *s = malloc(sizeof(head) - 1 + EVB_B64_ENC_LEN(len) + sizeof(tail));
	size_t n;

	if (!s)
		return NULL;
	memcpy(s, head, sizeof(head) - 1);
	n = sizeof(head) - 1 + evb_b64_encode(s + sizeof(head) - 1, pcm, len);
	memcpy(s + n, tail, sizeof(tail));
	if (outlen)
		*outlen = n + sizeof(tail) - 1;
	return s;
}

char *evb_evi_text_message(const char *type, const char *text)
{
	return dump(json_pack("{s:s, s:s}", "type", type, "text", text));
}

char *evb_evi_tool_error(const char *tool_call_id, const char *error, const char *content,
			 const char *tool_type)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "tool_error", "tool_call_id",
			      tool_call_id, "error", error);
	int bad = 0;

	if (!o) {
		errno = EINVAL;
		return NULL;
	}
	if (content)
		set_new(o, "content", json_string(content), &bad);
	if (tool_type)
		set_new(o, "tool_type", json_string(tool_type), &bad);
	if (bad) {
		json_decref(o);
		errno = EINVAL;
		return NULL;
	}
	return dump(o);
}

/* Appends "&name=value" (percent-encoded) to s, growing it. */
static int add_param(char **s, size_t *len, size_t *cap, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t need = *len + 2 + strlen(name) + 3 * strlen(value) + 1;

	if (need > *cap) {
		char *n = realloc(*s, need * 2);
		if (!n)
			return -ENOMEM;
		*s = n;
		*cap = need * 2;
	}
	(*s)[(*len)++] = strchr(*s, '?') ? '&' : '?';
	for (const char *p = name; *p; p++)
		(*s)[(*len)++] = *p;
	(*s)[(*len)++] = '=';
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			(*s)[(*len)++] = (char)*p;
		} else {
			(*s)[(*len)++] = '%';
			(*s)[(*len)++] = hex[*p >> 4];
			(*s)[(*len)++] = hex[*p & 15];
		}
	}
	(*s)[*len] = '\0';
	return 0;
}

char *evb_evi_chat_url(const char *base, const struct evb_evi_connect *c)
{
	size_t len = strlen(base), cap = len + 256;
	char *s = malloc(cap);
	int r = 0;

	if (!s)
		return NULL;
	memcpy(s, base, len + 1);
	/* A base ending in '?' or '&' gets no second separator. */
	if (len && (s[len - 1] == '?' || s[len - 1] == '&'))
		s[--len] = '\0';
	if (c->config_id && *c->config_id)
		r = add_param(&s, &len, &cap, "config_id", c->config_id);
	if (!r && c->resumed_chat_group_id && *c->resumed_chat_group_id)
		r = add_param(&s, &len, &cap, "resumed_chat_group_id", c->resumed_chat_group_id);
	if (!r && c->verbose_transcription)
		r = add_param(&s, &len, &cap, "verbose_transcription", "true");
	if (!r && c->auth_name && c->auth_value)
		r = add_param(&s, &len, &cap, c->auth_name, c->auth_value);
	if (r) {
		free(s);
		errno = -r;
		return NULL;
	}
	return s;
}

/* ---- schema checks (evb-fakehume) ---- */

static int is_bool_word(const char *v)
{
	return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
}

static int is_uint(const char *v)
{
	if (!*v || strlen(v) > 9)
		return 0;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return 0;
	return 1;
}

/* One session_settings[...] query key; rest is what follows the prefix. */
static int check_query_settings(const char *name, const char *rest, const char *value, char *err,
				size_t errlen)
{
	static const char *const flat[] = { "[custom_session_id]", "[event_limit]",
					    "[language_model_api_key]", "[system_prompt]",
					    "[voice_id]" };

	for (size_t i = 0; i < sizeof(flat) / sizeof(flat[0]); i++)
		if (strcmp(rest, flat[i]) == 0)
			return strcmp(flat[i], "[event_limit]") == 0 && !is_uint(value)
				       ? fail(err, errlen, "query '%s': not an integer", name)
				       : 0;
	if (strcmp(rest, "[audio][encoding]") == 0)
		return strcmp(value, "linear16") == 0
			       ? 0
			       : fail(err, errlen, "query '%s': expected linear16", name);
	if (strcmp(rest, "[audio][sample_rate]") == 0 || strcmp(rest, "[audio][channels]") == 0)
		return is_uint(value) && atoi(value) > 0
			       ? 0
			       : fail(err, errlen, "query '%s': not a positive integer", name);
	if (strcmp(rest, "[context][text]") == 0)
		return 0;
	if (strcmp(rest, "[context][type]") == 0)
		return strcmp(value, "persistent") == 0 || strcmp(value, "temporary") == 0
			       ? 0
			       : fail(err, errlen, "query '%s': expected persistent or temporary",
				      name);
	if (strncmp(rest, "[variables][", 12) == 0 && strlen(rest) > 13 &&
	    rest[strlen(rest) - 1] == ']' && !strchr(rest + 12, '['))
		return 0;
	return fail(err, errlen, "query '%s': not a connect-time session setting", name);
}

int evb_evi_check_query(const struct evb_params *p, char *err, size_t errlen)
{
	static const char *const names[] = { "config_id", "config_version", "resumed_chat_group_id",
					     "verbose_transcription", "allow_connection",
					     "event_limit", "voice_id", "access_token", "api_key" };

	for (size_t i = 0; i < evb_params_count(p); i++) {
		const char *n = evb_params_name(p, i), *v = evb_params_value(p, i);
		size_t k;

		for (size_t j = 0; j < i; j++)
			if (strcmp(evb_params_name(p, j), n) == 0)
				return fail(err, errlen, "query '%s': given twice", n);
		if (strncmp(n, "session_settings[", 17) == 0) {
			if (check_query_settings(n, n + 16, v, err, errlen) < 0)
				return EVB_EJSON;
			continue;
		}
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(n, names[k]) == 0)
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			return fail(err, errlen, "query '%s': unknown parameter", n);
		if ((strcmp(n, "verbose_transcription") == 0 || strcmp(n, "allow_connection") == 0) &&
		    !is_bool_word(v))
			return fail(err, errlen, "query '%s': expected true or false", n);
		if ((strcmp(n, "config_version") == 0 || strcmp(n, "event_limit") == 0) &&
		    !is_uint(v))
			return fail(err, errlen, "query '%s': not an integer", n);
		if (!*v)
			return fail(err, errlen, "query '%s': empty", n);
	}
	return 0;
}

/* Field kinds for the client schema. */
enum fk { F_STR, F_STR_NULL, F_INT, F_BOOL, F_OBJ, F_OBJ_NULL, F_ARR, F_ANY_SCALAR };

struct field {
	const char *name;
	enum fk kind;
	int required;
};

static int kind_ok(const json_t *v, enum fk k)
{
	switch (k) {
	case F_STR: return json_is_string(v);
	case F_STR_NULL: return json_is_string(v) || json_is_null(v);
	case F_INT:
		return json_is_integer(v) ||
		       (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
	case F_BOOL: return json_is_boolean(v);
	case F_OBJ: return json_is_object(v);
	case F_OBJ_NULL: return json_is_object(v) || json_is_null(v);
	case F_ARR: return json_is_array(v);
	case F_ANY_SCALAR: return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
	}
	return 0;
}

static const char *kind_name(enum fk k)
{
	switch (k) {
	case F_STR: return "a string";
	case F_STR_NULL: return "a string or null";
	case F_INT: return "an integer";
	case F_BOOL: return "a boolean";
	case F_OBJ: return "an object";
	case F_OBJ_NULL: return "an object or null";
	case F_ARR: return "an array";
	case F_ANY_SCALAR: return "a string, number or boolean";
	}
	return "?";
}

/* Checks that o has only the fields listed, each of its kind, and the
 * required ones. what names o in messages ("session_settings.audio"). */
static int check_fields(const json_t *o, const struct field *f, size_t n, const char *what,
			char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(f[i].name, key) == 0)
				break;
		if (i == n)
			return fail(err, errlen, "%s: unknown field '%s'", what, key);
		if (!kind_ok(v, f[i].kind))
			return fail(err, errlen, "%s: '%s' must be %s", what, key,
				    kind_name(f[i].kind));
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].required && !json_object_get(o, f[i].name))
			return fail(err, errlen, "%s: '%s' is missing", what, f[i].name);
	return 0;
}

#define NF(a) (sizeof(a) / sizeof((a)[0]))

static int check_enum(const json_t *o, const char *key, const char *what, char *err, size_t errlen,
		      const char *a, const char *b)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (!v || strcmp(v, a) == 0 || (b && strcmp(v, b) == 0))
		return 0;
	return fail(err, errlen, "%s: '%s' must be \"%s\"%s%s%s", what, key, a, b ? " or \"" : "",
		    b ? b : "", b ? "\"" : "");
}

static int check_settings(const json_t *msg, char *err, size_t errlen)
{
	static const struct field top[] = {
		{ "type", F_STR, 1 },           { "custom_session_id", F_STR, 0 },
		{ "audio", F_OBJ, 0 },          { "system_prompt", F_STR_NULL, 0 },
		{ "context", F_OBJ_NULL, 0 },   { "variables", F_OBJ, 0 },
		{ "voice_id", F_STR, 0 },       { "tools", F_ARR, 0 },
		{ "builtin_tools", F_ARR, 0 },  { "language_model_api_key", F_STR, 0 },
		{ "metadata", F_OBJ, 0 },
	};
	static const struct field audio[] = {
		{ "encoding", F_STR, 1 }, { "sample_rate", F_INT, 1 },
		{ "channels", F_INT, 1 }, { "codec", F_STR, 0 },
	};
	static const struct field context[] = { { "text", F_STR, 1 }, { "type", F_STR, 0 } };
	static const struct field tool[] = {
		{ "type", F_STR, 1 },        { "name", F_STR, 1 },
		{ "parameters", F_STR, 1 },  { "description", F_STR, 0 },
		{ "fallback_content", F_STR, 0 },
	};
	static const struct field btool[] = { { "name", F_STR, 1 },
					      { "fallback_content", F_STR, 0 } };
	const char *w = "session_settings";
	json_t *a, *c, *vars, *arr, *v;
	const char *key;
	size_t i;

	if (check_fields(msg, top, NF(top), w, err, errlen) < 0)
		return EVB_EJSON;
	if ((a = json_object_get(msg, "audio"))) {
		if (check_fields(a, audio, NF(audio), "session_settings.audio", err, errlen) < 0 ||
		    check_enum(a, "encoding", "session_settings.audio", err, errlen, "linear16",
			       NULL) < 0)
			return EVB_EJSON;
		if (json_number_value(json_object_get(a, "sample_rate")) < 1 ||
		    json_number_value(json_object_get(a, "channels")) < 1)
			return fail(err, errlen,
				    "session_settings.audio: sample_rate and channels must be "
				    "positive");
	}
	if ((c = json_object_get(msg, "context")) && json_is_object(c) &&
	    (check_fields(c, context, NF(context), "session_settings.context", err, errlen) < 0 ||
	     check_enum(c, "type", "session_settings.context", err, errlen, "persistent",
			"temporary") < 0))
		return EVB_EJSON;
	if ((vars = json_object_get(msg, "variables")))
		json_object_foreach(vars, key, v)
			if (!kind_ok(v, F_ANY_SCALAR))
				return fail(err, errlen,
					    "session_settings.variables: '%s' must be a string, "
					    "number or boolean",
					    key);
	if ((arr = json_object_get(msg, "tools")))
		json_array_foreach(arr, i, v) {
			if (!json_is_object(v))
				return fail(err, errlen, "session_settings.tools[%zu]: not an object",
					    i);
			if (check_fields(v, tool, NF(tool), "session_settings.tools[]", err,
					 errlen) < 0 ||
			    check_enum(v, "type", "session_settings.tools[]", err, errlen,
				       "builtin", "function") < 0)
				return EVB_EJSON;
		}
	if ((arr = json_object_get(msg, "builtin_tools")))
		json_array_foreach(arr, i, v) {
			if (!json_is_object(v))
				return fail(err, errlen,
					    "session_settings.builtin_tools[%zu]: not an object", i);
			if (check_fields(v, btool, NF(btool), "session_settings.builtin_tools[]", err,
					 errlen) < 0 ||
			    check_enum(v, "name", "session_settings.builtin_tools[]", err, errlen,
				       "web_search", "hang_up") < 0)
				return EVB_EJSON;
		}
	return 0;
}

int evb_evi_check_client(const json_t *msg, char *err, size_t errlen)
{
	static const struct field audio_input[] = { { "type", F_STR, 1 },
						    { "custom_session_id", F_STR, 0 },
						    { "data", F_STR, 1 } };
	static const struct field text_input[] = { { "type", F_STR, 1 },
						   { "custom_session_id", F_STR, 0 },
						   { "text", F_STR, 1 } };
	static const struct field bare[] = { { "type", F_STR, 1 },
					     { "custom_session_id", F_STR, 0 } };
	static const struct field tool_response[] = {
		{ "type", F_STR, 1 },      { "custom_session_id", F_STR, 0 },
		{ "tool_call_id", F_STR, 1 }, { "content", F_STR, 1 },
		{ "tool_name", F_STR, 0 }, { "tool_type", F_STR, 0 },
	};
	static const struct field tool_error[] = {
		{ "type", F_STR, 1 },         { "custom_session_id", F_STR, 0 },
		{ "tool_call_id", F_STR, 1 }, { "error", F_STR, 1 },
		{ "content", F_STR, 0 },      { "code", F_STR, 0 },
		{ "level", F_STR, 0 },        { "tool_type", F_STR, 0 },
	};
	const char *tn;
	int t, r;

	if (!json_is_object(msg))
		return fail(err, errlen, "not a JSON object");
	tn = json_string_value(json_object_get(msg, "type"));
	if (!tn)
		return fail(err, errlen, "no 'type' string");
	t = evb_evi_type_parse(tn);
	switch (t) {
	case EVB_EVI_SESSION_SETTINGS:
		r = check_settings(msg, err, errlen);
		break;
	case EVB_EVI_AUDIO_INPUT:
		r = check_fields(msg, audio_input, NF(audio_input), tn, err, errlen);
		break;
	case EVB_EVI_USER_INPUT:
	case EVB_EVI_ASSISTANT_INPUT:
		r = check_fields(msg, text_input, NF(text_input), tn, err, errlen);
		break;
	case EVB_EVI_PAUSE_ASSISTANT:
	case EVB_EVI_RESUME_ASSISTANT:
		r = check_fields(msg, bare, NF(bare), tn, err, errlen);
		break;
	case EVB_EVI_TOOL_RESPONSE:
		r = check_fields(msg, tool_response, NF(tool_response), tn, err, errlen);
		if (r == 0)
			r = check_enum(msg, "tool_type", tn, err, errlen, "builtin", "function");
		break;
	case EVB_EVI_TOOL_ERROR:
		r = check_fields(msg, tool_error, NF(tool_error), tn, err, errlen);
		if (r == 0)
			r = check_enum(msg, "tool_type", tn, err, errlen, "builtin", "function");
		if (r == 0)
			r = check_enum(msg, "level", tn, err, errlen, "warn", NULL);
		break;
	default:
		return fail(err, errlen, "'%.64s' is not a message a client sends", tn);
	}
	return r < 0 ? EVB_EJSON : t;
}
