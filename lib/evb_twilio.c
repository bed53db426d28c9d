/* Twilio signatures, Media Streams messages and TwiML (see evb_twilio.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#include "evb_b64.h"
#include "evb_err.h"
#include "evb_jscan.h"
#include "evb_sign.h"
#include "evb_twilio.h"

/* ---- signatures ---- */

struct pref {
	const char *name, *value;
};

static int pref_cmp(const void *a, const void *b)
{
	const struct pref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* HMAC-SHA1 of url + sorted unique name+value pairs, base64. */
static int sign(const char *token, const char *url, const struct pref *v, size_t n,
		char out[EVB_TWILIO_SIG_LEN])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	mbedtls_md_context_t ctx;
	uint8_t mac[20];
	size_t olen;
	int r;

	mbedtls_md_init(&ctx);
	r = mbedtls_md_setup(&ctx, md, 1);
	if (r == 0)
		r = mbedtls_md_hmac_starts(&ctx, (const uint8_t *)token, strlen(token));
	if (r == 0)
		r = mbedtls_md_hmac_update(&ctx, (const uint8_t *)url, strlen(url));
	for (size_t i = 0; r == 0 && i < n; i++) {
		/* Twilio's validators take each (name, value) once. */
		if (i > 0 && pref_cmp(&v[i - 1], &v[i]) == 0)
			continue;
		r = mbedtls_md_hmac_update(&ctx, (const uint8_t *)v[i].name, strlen(v[i].name));
		if (r == 0)
			r = mbedtls_md_hmac_update(&ctx, (const uint8_t *)v[i].value,
						   strlen(v[i].value));
	}
	if (r == 0)
		r = mbedtls_md_hmac_finish(&ctx, mac);
	mbedtls_md_free(&ctx);
	if (r == 0)
		r = mbedtls_base64_encode((uint8_t *)out, EVB_TWILIO_SIG_LEN, &olen, mac,
					  sizeof(mac));
	return r == 0 ? 0 : -EINVAL;
}

/* The pairs of p sorted by name then value, in a malloc'd array. */
static struct pref *sorted(const struct evb_params *p, size_t *n)
{
	struct pref *v;

	*n = p ? evb_params_count(p) : 0;
	v = malloc((*n ? *n : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < *n; i++) {
		v[i].name = evb_params_name(p, i);
		v[i].value = evb_params_value(p, i);
	}
	qsort(v, *n, sizeof(*v), pref_cmp);
	return v;
}

int evb_twilio_signature(const char *auth_token, const char *url,
			 const struct evb_params *params, char out[EVB_TWILIO_SIG_LEN])
{
	size_t n;
	struct pref *v = sorted(params, &n);
	int r;

	if (!v)
		return -ENOMEM;
	r = sign(auth_token, url, v, n, out);
	free(v);
	return r;
}

/* Writes url without its port (strip 1) or with the scheme's default port
 * added (strip 0) into out. Returns 0, or -EINVAL when that form does not
 * exist (no port to strip, a port already there, unknown scheme). */
static int port_variant(const char *url, int strip, char *out, size_t cap)
{
	const char *a = strstr(url, "://"), *e, *colon = NULL, *p;
	const char *dflt;
	size_t slen;

	if (!a)
		return -EINVAL;
	slen = (size_t)(a - url);
	a += 3;
	e = a + strcspn(a, "/?#");
	p = a;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(e - p));
		if (!rb)
			return -EINVAL;
		p = rb + 1;
	}
	for (; p < e; p++)
		if (*p == ':')
			colon = p;
	if (strip) {
		if (!colon)
			return -EINVAL;
		return snprintf(out, cap, "%.*s%s", (int)(colon - url), url, e) < (int)cap ? 0
											 : -EINVAL;
	}
	if (colon)
		return -EINVAL;
	if ((slen == 5 && strncasecmp(url, "https", 5) == 0) ||
	    (slen == 3 && strncasecmp(url, "wss", 3) == 0))
		dflt = "443";
	else if ((slen == 4 && strncasecmp(url, "http", 4) == 0) ||
		 (slen == 2 && strncasecmp(url, "ws", 2) == 0))
		dflt = "80";
	else
		return -EINVAL;
	return snprintf(out, cap, "%.*s:%s%s", (int)(e - url), url, dflt, e) < (int)cap ? 0
											  : -EINVAL;
}

/* The bodySHA256 value in url's query, or NULL (copied into out). */
static const char *body_hash_param(const char *url, char out[80])
{
	const char *q = strchr(url, '?');
	struct evb_params *p;
	const char *v;

	if (!q || !strstr(q, "bodySHA256="))
		return NULL;
	p = evb_params_parse(q + 1, strcspn(q + 1, "#"));
	v = p ? evb_params_get(p, "bodySHA256") : NULL;
	if (v)
		snprintf(out, 80, "%s", v);
	evb_params_free(p);
	return v ? out : NULL;
}

int evb_twilio_check_signature(const char *auth_token, const char *url,
			       const struct evb_params *params, const void *body,
			       size_t body_len, const char *sig)
{
	char want[EVB_TWILIO_SIG_LEN], hbuf[80], hex[65];
	size_t n = 0, cap = strlen(url) + 16;
	char *alt;
	struct pref *v = NULL;
	const char *bh;
	int ok = 0;

	if (!sig || !auth_token || !*auth_token)
		return 0;
	bh = body_hash_param(url, hbuf);
	if (bh) {
		/* JSON-body webhook: the body is covered by its hash instead. */
		if (evb_sha256_hex(body ? body : "", body_len, hex) < 0 ||
		    strcasecmp(bh, hex) != 0)
			return 0;
	} else if (!(v = sorted(params, &n))) {
		return 0;
	}
	if (!(alt = malloc(cap))) {
		free(v);
		return 0;
	}
	if (sign(auth_token, url, v, n, want) == 0 && evb_ct_streq(want, sig))
		ok = 1;
	for (int strip = 0; strip < 2 && !ok; strip++)
		if (port_variant(url, strip, alt, cap) == 0 && sign(auth_token, alt, v, n, want) == 0 &&
		    evb_ct_streq(want, sig))
			ok = 1;
	free(alt);
	free(v);
	return ok;
}

/* ---- media stream messages ---- */

static const char *str_at(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A number Twilio sends as a string ("12"), or as a number: -1 if absent,
 * -2 if present but not a non-negative integer. */
static long long num_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	long long n = 0;

	if (!v)
		return -1;
	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? json_integer_value(v) : -2;
	if (!(s = json_string_value(v)) || !*s || strlen(s) > 18)
		return -2;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -2;
		n = n * 10 + (*s - '0');
	}
	return n;
}

static int bad(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return EVB_EJSON;
}

static const struct {
	const char *name;
	int event;
} events[] = {
	{ "connected", EVB_TWILIO_CONNECTED }, { "start", EVB_TWILIO_START },
	{ "media", EVB_TWILIO_MEDIA },         { "dtmf", EVB_TWILIO_DTMF },
	{ "mark", EVB_TWILIO_MARK },           { "stop", EVB_TWILIO_STOP },
	{ "clear", EVB_TWILIO_CLEAR },
};

static int parse_fields(struct evb_twilio_msg *m, uint8_t *buf, size_t cap, char *err,
			size_t errlen)
{
	json_t *root = m->root, *o, *fmt;
	const char *p;
	size_t olen;
	int r;

	m->stream_sid = str_at(root, "streamSid");
	m->seq = num_at(root, "sequenceNumber");
	switch (m->event) {
	case EVB_TWILIO_START:
		if (!json_is_object(o = json_object_get(root, "start")))
			return bad(err, errlen, "'start' without a 'start' object");
		if (str_at(o, "streamSid"))
			m->stream_sid = str_at(o, "streamSid");
		m->call_sid = str_at(o, "callSid");
		m->account_sid = str_at(o, "accountSid");
		if (!m->stream_sid || !*m->stream_sid)
			return bad(err, errlen, "'start' without a 'streamSid'");
		if (!m->call_sid || !*m->call_sid)
			return bad(err, errlen, "'start' without a 'callSid'");
		m->params = json_object_get(o, "customParameters");
		if (m->params && !json_is_object(m->params))
			return bad(err, errlen, "'start': customParameters is not an object");
		fmt = json_object_get(o, "mediaFormat");
		if (json_is_object(fmt)) {
			m->encoding = str_at(fmt, "encoding");
			m->sample_rate = num_at(fmt, "sampleRate");
			m->channels = num_at(fmt, "channels");
		}
		return 0;
	case EVB_TWILIO_MEDIA:
		if (!json_is_object(o = json_object_get(root, "media")))
			return bad(err, errlen, "'media' without a 'media' object");
		if (!(p = str_at(o, "payload")))
			return bad(err, errlen, "'media' without a 'payload' string");
		m->track = str_at(o, "track");
		m->timestamp_ms = num_at(o, "timestamp");
		m->chunk = num_at(o, "chunk");
		if (m->timestamp_ms == -2 || m->chunk == -2)
			return bad(err, errlen, "'media': chunk or timestamp is not a number");
		r = evb_b64_decode(buf, cap, p, strlen(p), &olen);
		if (r == -ENOBUFS) {
			bad(err, errlen, "'media' payload too large");
			return EVB_ETOOBIG;
		}
		if (r != 0) {
			bad(err, errlen, "'media' payload is not base64");
			return -EBADMSG;
		}
		m->payload = buf;
		m->payload_len = olen;
		return 0;
	case EVB_TWILIO_DTMF:
		o = json_object_get(root, "dtmf");
		m->digit = str_at(o, "digit");
		m->track = str_at(o, "track");
		if (!m->digit || strlen(m->digit) != 1)
			return bad(err, errlen, "'dtmf' without a one-character 'digit'");
		return 0;
	case EVB_TWILIO_MARK:
		m->mark = str_at(json_object_get(root, "mark"), "name");
		if (!m->mark)
			return bad(err, errlen, "'mark' without a 'name'");
		return 0;
	case EVB_TWILIO_STOP:
		o = json_object_get(root, "stop");
		m->call_sid = str_at(o, "callSid");
		m->account_sid = str_at(o, "accountSid");
		return 0;
	}
	return 0;
}

static void msg_init(struct evb_twilio_msg *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->sample_rate = m->channels = m->timestamp_ms = m->chunk = m->seq = -1;
	if (err && errlen)
		err[0] = '\0';
}

/* A counter as Twilio sends it ("12", or 12): its value, or -1. */
static long long fast_num(const struct evb_jtok *v)
{
	struct evb_jtok n = *v;

	if (v->type == EVB_JT_STR && !v->escaped)
		n.type = EVB_JT_NUM;
	else if (v->type != EVB_JT_NUM)
		return -1;
	return evb_jtok_uint(&n);
}

static int fast_copy(char *out, size_t cap, const struct evb_jtok *v)
{
	if (v->type != EVB_JT_STR || v->escaped || v->len >= cap)
		return -1;
	memcpy(out, v->s, v->len);
	out[v->len] = '\0';
	return 0;
}

static int fast_media_obj(struct evb_jscan *j, struct evb_twilio_msg *m, struct evb_jtok *payload)
{
	struct evb_jtok t, v;
	struct evb_jkeys keys = { .n = 0 };

	while (evb_jscan_next(j, &t) == EVB_JT_KEY) {
		if (evb_jkeys_add(&keys, &t) < 0 || evb_jscan_next(j, &v) == EVB_JT_ERR)
			return -1;
		if (evb_jtok_is(&t, "payload")) {
			if (v.type != EVB_JT_STR || v.escaped)
				return -1;
			*payload = v;
		} else if (evb_jtok_is(&t, "track")) {
			if (fast_copy(m->fast_track, sizeof(m->fast_track), &v) < 0)
				return -1;
			m->track = m->fast_track;
		} else if (evb_jtok_is(&t, "chunk")) {
			if ((m->chunk = fast_num(&v)) < 0)
				return -1;
		} else if (evb_jtok_is(&t, "timestamp")) {
			if ((m->timestamp_ms = fast_num(&v)) < 0)
				return -1;
		} else if (evb_jscan_skip_plain(j, &v) < 0) {
			return -1;
		}
	}
	return t.type == EVB_JT_OBJ_END && payload->s ? 0 : -1;
}

/* The media fast path (fifty messages a second a call): the plain shape
 * Twilio sends, read without building a jansson tree. No escapes, no
 * repeated keys, counters as digit strings or plain integers, a payload
 * that decodes; anything else returns 0 and goes to jansson, so both paths
 * accept and refuse the same messages. */
static int fast_media(const void *data, size_t len, uint8_t *buf, size_t cap,
		      struct evb_twilio_msg *m)
{
	struct evb_jscan j;
	struct evb_jtok t, v, payload = { 0 };
	struct evb_jkeys keys = { .n = 0 };
	size_t olen;
	int is_media = 0, have_obj = 0;

	evb_jscan_init(&j, data, len);
	if (evb_jscan_next(&j, &t) != EVB_JT_OBJ)
		return 0;
	while (evb_jscan_next(&j, &t) == EVB_JT_KEY) {
		if (evb_jkeys_add(&keys, &t) < 0 || evb_jscan_next(&j, &v) == EVB_JT_ERR)
			return 0;
		if (evb_jtok_is(&t, "event")) {
			if (!evb_jtok_is(&v, "media"))
				return 0;
			is_media = 1;
		} else if (evb_jtok_is(&t, "media")) {
			if (v.type != EVB_JT_OBJ || fast_media_obj(&j, m, &payload) < 0)
				return 0;
			have_obj = 1;
		} else if (evb_jtok_is(&t, "streamSid")) {
			if (fast_copy(m->fast_sid, sizeof(m->fast_sid), &v) < 0)
				return 0;
			m->stream_sid = m->fast_sid;
		} else if (evb_jtok_is(&t, "sequenceNumber")) {
			if ((m->seq = fast_num(&v)) < 0)
				return 0;
		} else if (evb_jscan_skip_plain(&j, &v) < 0) {
			return 0;
		}
	}
	if (t.type != EVB_JT_OBJ_END || evb_jscan_next(&j, &t) != EVB_JT_EOF || !is_media ||
	    !have_obj || evb_b64_decode(buf, cap, payload.s, payload.len, &olen) < 0)
		return 0;
	m->event = EVB_TWILIO_MEDIA;
	m->name = "media";
	m->payload = buf;
	m->payload_len = olen;
	return 1;
}

int evb_twilio_msg_parse(const void *data, size_t len, uint8_t *buf, size_t cap,
			 struct evb_twilio_msg *m, char *err, size_t errlen)
{
	msg_init(m, err, errlen);
	if (fast_media(data, len, buf, cap, m))
		return 0;
	return evb__twilio_msg_parse_json(data, len, buf, cap, m, err, errlen);
}

int evb__twilio_msg_parse_json(const void *data, size_t len, uint8_t *buf, size_t cap,
			       struct evb_twilio_msg *m, char *err, size_t errlen)
{
	json_error_t je;
	int r;

	msg_init(m, err, errlen);
	m->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!m->root) {
		if (err && errlen)
			snprintf(err, errlen, "not JSON: %s", je.text);
		return EVB_EJSON;
	}
	if (!json_is_object(m->root) || !(m->name = str_at(m->root, "event"))) {
		json_decref(m->root);
		m->root = NULL;
		return bad(err, errlen, "not an object with an 'event' string");
	}
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (strcmp(m->name, events[i].name) == 0)
			m->event = events[i].event;
	r = parse_fields(m, buf, cap, err, errlen);
	if (r < 0) {
		json_decref(m->root);
		memset(m, 0, sizeof(*m));
	}
	return r;
}

void evb_twilio_msg_release(struct evb_twilio_msg *m)
{
	json_decref(m->root);
	m->root = NULL;
}

const char *evb_twilio_msg_param(const struct evb_twilio_msg *m, const char *name)
{
	return m->params ? str_at(m->params, name) : NULL;
}

char *evb_json_quote(const char *s)
{
	json_t *j = json_string(s);
	char *out = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	json_decref(j);
	return out;
}

int evb_twilio_media_msg(char *out, size_t cap, const char *sid_json, const uint8_t *payload,
			 size_t len)
{
	int n = snprintf(out, cap, "{\"event\":\"media\",\"streamSid\":%s,\"media\":{\"payload\":\"",
			 sid_json);
	size_t olen;

	if (n < 0 || (size_t)n + EVB_B64_ENC_LEN(len) + 4 > cap)
		return -ENOBUFS;
	olen = evb_b64_encode(out + n, payload, len);
	memcpy(out + n + olen, "\"}}", 4);
	return n + (int)olen + 3;
}

int evb_twilio_mark_msg(char *out, size_t cap, const char *sid_json, const char *name)
{
	char *q = evb_json_quote(name);
	int n = q ? snprintf(out, cap, "{\"event\":\"mark\",\"streamSid\":%s,\"mark\":{\"name\":%s}}",
			     sid_json, q)
		  : -1;

	free(q);
	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

int evb_twilio_clear_msg(char *out, size_t cap, const char *sid_json)
{
	int n = snprintf(out, cap, "{\"event\":\"clear\",\"streamSid\":%s}", sid_json);

	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

/* ---- TwiML ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Appends s escaped for XML text and attribute values. */
static void sb_xml(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': sb_str(b, "&amp;"); break;
		case '<': sb_str(b, "&lt;"); break;
		case '>': sb_str(b, "&gt;"); break;
		case '"': sb_str(b, "&quot;"); break;
		case '\'': sb_str(b, "&apos;"); break;
		default: sb_add(b, s, 1);
		}
	}
}

static char *sb_done(struct sbuf *b)
{
	if (b->err) {
		free(b->p);
		errno = ENOMEM;
		return NULL;
	}
	return b->p;
}

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

char *evb_twiml_connect(const char *stream_url, const char *action_url,
			const struct evb_twiml_param *params, size_t n)
{
	struct sbuf b = { 0 };

	sb_str(&b, XML_DECL "<Response><Connect");
	if (action_url) {
		sb_str(&b, " action=\"");
		sb_xml(&b, action_url);
		sb_str(&b, "\" method=\"POST\"");
	}
	sb_str(&b, "><Stream url=\"");
	sb_xml(&b, stream_url);
	sb_str(&b, "\">");
	for (size_t i = 0; i < n; i++) {
		sb_str(&b, "<Parameter name=\"");
		sb_xml(&b, params[i].name);
		sb_str(&b, "\" value=\"");
		sb_xml(&b, params[i].value);
		sb_str(&b, "\"/>");
	}
	sb_str(&b, "</Stream></Connect></Response>\n");
	return sb_done(&b);
}

char *evb_twiml_redirect(const char *url)
{
	struct sbuf b = { 0 };

	sb_str(&b, XML_DECL "<Response><Redirect method=\"POST\">");
	sb_xml(&b, url);
	sb_str(&b, "</Redirect></Response>\n");
	return sb_done(&b);
}

char *evb_twiml_hangup(void)
{
	struct sbuf b = { 0 };

	sb_str(&b, XML_DECL "<Response><Hangup/></Response>\n");
	return sb_done(&b);
}

/* Copies s[0..n) into out (cap bytes) with the five XML entities and
 * numeric references decoded; truncates. */
static void xml_unescape(const char *s, size_t n, char *out, size_t cap)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
		{ "&apos;", '\'' },
	};
	size_t o = 0, i = 0;

	while (i < n && o + 1 < cap) {
		char c = s[i];
		size_t used = 1;

		if (c == '&') {
			for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
				size_t el = strlen(ents[k].ent);
				if (n - i >= el && memcmp(s + i, ents[k].ent, el) == 0) {
					c = ents[k].c;
					used = el;
					break;
				}
			}
			if (used == 1 && n - i > 3 && s[i + 1] == '#') {
				unsigned v = 0;
				size_t j = i + 2;
				while (j < n && j < i + 6 && s[j] >= '0' && s[j] <= '9')
					v = v * 10 + (unsigned)(s[j++] - '0');
				if (j < n && s[j] == ';' && j > i + 2 && v > 0 && v < 128) {
					c = (char)v;
					used = j + 1 - i;
				}
			}
		}
		out[o++] = c;
		i += used;
	}
	out[o] = '\0';
}

/* Finds attribute name in the tag text t[0..n) and copies its value. */
static int xml_attr(const char *t, size_t n, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl + 2 < n; i++) {
		const char *v, *e;
		char q;

		if ((t[i] != ' ' && t[i] != '\t' && t[i] != '\n' && t[i] != '\r') ||
		    memcmp(t + i + 1, name, nl) != 0)
			continue;
		v = t + i + 1 + nl;
		while (v < t + n && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= t + n || *v != '=')
			continue;
		v++;
		while (v < t + n && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= t + n || (*v != '"' && *v != '\''))
			continue;
		q = *v++;
		if (!(e = memchr(v, q, (size_t)(t + n - v))))
			return -1;
		xml_unescape(v, (size_t)(e - v), out, cap);
		return 0;
	}
	return -1;
}

static int tag_is(const char *t, size_t n, const char *name)
{
	size_t nl = strlen(name);

	return n >= nl && memcmp(t, name, nl) == 0 &&
	       (n == nl || t[nl] == ' ' || t[nl] == '/' || t[nl] == '\t' || t[nl] == '\n' ||
		t[nl] == '\r');
}

int evb_twiml_parse(const char *xml, size_t len, struct evb_twiml *t)
{
	const char *p = xml, *end = xml + len;
	int response = 0;

	memset(t, 0, sizeof(*t));
	while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
		const char *tag = p + 1, *close = memchr(tag, '>', (size_t)(end - tag));
		size_t n;

		if (!close)
			break;
		n = (size_t)(close - tag);
		p = close + 1;
		if (n == 0 || tag[0] == '/' || tag[0] == '?' || tag[0] == '!')
			continue;
		if (tag_is(tag, n, "Response")) {
			response = 1;
		} else if (tag_is(tag, n, "Start")) {
			t->has_start = 1;
		} else if (tag_is(tag, n, "Connect")) {
			t->has_connect = 1;
			xml_attr(tag, n, "action", t->action, sizeof(t->action));
		} else if (tag_is(tag, n, "Stream")) {
			xml_attr(tag, n, "url", t->stream_url, sizeof(t->stream_url));
		} else if (tag_is(tag, n, "Parameter") && t->nparams < EVB_TWIML_MAX_PARAMS) {
			if (xml_attr(tag, n, "name", t->names[t->nparams],
				     sizeof(t->names[0])) == 0 &&
			    xml_attr(tag, n, "value", t->values[t->nparams],
				     sizeof(t->values[0])) == 0)
				t->nparams++;
		} else if (tag_is(tag, n, "Hangup")) {
			t->hangup = 1;
		} else if (tag_is(tag, n, "Redirect") && tag[n - 1] != '/') {
			const char *e = memchr(p, '<', (size_t)(end - p));
			const char *stop = e ? e : end;
			while (p < stop && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
				p++;
			xml_unescape(p, (size_t)(stop - p), t->redirect, sizeof(t->redirect));
			for (size_t k = strlen(t->redirect); k > 0 &&
			     (t->redirect[k - 1] == ' ' || t->redirect[k - 1] == '\n');)
				t->redirect[--k] = '\0';
		}
	}
	return response ? 0 : -EBADMSG;
}

/* ---- connection overrides ---- */

static void conn_defaults(struct evb_twilio_conn *o)
{
	*o = (struct evb_twilio_conn){ 5000, 15000, 15000, 1, EVB_TWILIO_RP_CT };
}

/* A decimal in [lo, hi] spelled by v (n bytes), or -1. */
static long conn_num(const char *v, size_t n, long lo, long hi)
{
	long x = 0;

	if (n == 0 || n > 6)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x >= lo && x <= hi ? x : -1;
}

/* rp: a comma-separated list of 4xx, 5xx, ct, rt, all. */
static int conn_policy(const char *v, size_t n, unsigned *rp)
{
	static const struct { const char *name; unsigned bits; } k[] = {
		{ "ct", EVB_TWILIO_RP_CT }, { "rt", EVB_TWILIO_RP_RT },
		{ "4xx", EVB_TWILIO_RP_4XX }, { "5xx", EVB_TWILIO_RP_5XX },
		{ "all", EVB_TWILIO_RP_CT | EVB_TWILIO_RP_RT | EVB_TWILIO_RP_4XX | EVB_TWILIO_RP_5XX },
	};
	size_t i = 0;

	*rp = 0;
	while (i < n) {
		size_t j = i, m;
		while (j < n && v[j] != ',')
			j++;
		for (m = 0; m < sizeof(k) / sizeof(k[0]); m++)
			if (strlen(k[m].name) == j - i && memcmp(k[m].name, v + i, j - i) == 0)
				break;
		if (m == sizeof(k) / sizeof(k[0]))
			return -1;
		*rp |= k[m].bits;
		i = j + 1;
	}
	return *rp ? 0 : -1;
}

int evb_twilio_conn_parse(const char *url, char *bare, size_t cap, struct evb_twilio_conn *o)
{
	const char *h = strchr(url, '#'), *p;
	size_t n = h ? (size_t)(h - url) : strlen(url);
	struct evb_twilio_conn t;

	conn_defaults(o);
	if (n >= cap)
		return EVB_ETOOBIG;
	memcpy(bare, url, n);
	bare[n] = 0;
	if (!h)
		return 0;
	conn_defaults(&t);
	for (p = h + 1; *p;) {
		const char *end = strchr(p, '&'), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p), kl, vl;
		long x = 0;

		eq = memchr(p, '=', len);
		if (!eq)
			return -EINVAL;
		kl = (size_t)(eq - p);
		vl = len - kl - 1;
#define KEY(s) (kl == strlen(s) && memcmp(p, s, kl) == 0)
		if (KEY("ct") && (x = conn_num(eq + 1, vl, 100, 10000)) >= 0)
			t.ct_ms = (unsigned)x;
		else if (KEY("rt") && (x = conn_num(eq + 1, vl, 100, 15000)) >= 0)
			t.rt_ms = (unsigned)x;
		else if (KEY("tt") && (x = conn_num(eq + 1, vl, 100, 15000)) >= 0)
			t.tt_ms = (unsigned)x;
		else if (KEY("rc") && (x = conn_num(eq + 1, vl, 0, 5)) >= 0)
			t.rc = (int)x;
		else if (KEY("rp")) {
			if (conn_policy(eq + 1, vl, &t.rp) < 0)
				return -EINVAL;
		} else if (!KEY("e") && !KEY("edge") && !KEY("sni"))
			return -EINVAL;
		if (x < 0)
			return -EINVAL;
#undef KEY
		p += len + (end ? 1 : 0);
	}
	*o = t;
	return 0;
}
