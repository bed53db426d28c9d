/* Event checks and derived fields for evb-logger (see evmap.h). A record is
 * the derived fields as one JSON object with the event spliced in as "ev"
 * byte for byte: jansson has already checked it (valid UTF-8, no \u0000, no
 * duplicate key, numbers in range), so PostgreSQL's jsonb accepts it too. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_util.h"
#include "evmap.h"

#define MAX_SHORT 64   /* type, numbers, statuses, direction */
#define MAX_ID 256     /* provider call id, message id, chat ids */
#define MAX_TEXT 65536 /* customer fields, reasons */
#define RAW_MAX 65536  /* bytes of a non-JSON payload kept in call_events.raw */

static const struct {
	const char *name;
	signed char valence;
} emotions[EVM_NEMOTIONS] = {
	{ "Admiration", EVM_POSITIVE },
	{ "Adoration", EVM_POSITIVE },
	{ "Aesthetic Appreciation", EVM_POSITIVE },
	{ "Amusement", EVM_POSITIVE },
	{ "Anger", EVM_NEGATIVE },
	{ "Anxiety", EVM_NEGATIVE },
	{ "Awe", EVM_POSITIVE },
	{ "Awkwardness", EVM_NEGATIVE },
	{ "Boredom", EVM_NEGATIVE },
	{ "Calmness", EVM_NEUTRAL },
	{ "Concentration", EVM_NEUTRAL },
	{ "Confusion", EVM_NEGATIVE },
	{ "Contemplation", EVM_NEUTRAL },
	{ "Contempt", EVM_NEGATIVE },
	{ "Contentment", EVM_POSITIVE },
	{ "Craving", EVM_NEUTRAL },
	{ "Desire", EVM_NEUTRAL },
	{ "Determination", EVM_NEUTRAL },
	{ "Disappointment", EVM_NEGATIVE },
	{ "Disgust", EVM_NEGATIVE },
	{ "Distress", EVM_NEGATIVE },
	{ "Doubt", EVM_NEGATIVE },
	{ "Ecstasy", EVM_POSITIVE },
	{ "Embarrassment", EVM_NEGATIVE },
	{ "Empathic Pain", EVM_NEGATIVE },
	{ "Entrancement", EVM_POSITIVE },
	{ "Envy", EVM_NEGATIVE },
	{ "Excitement", EVM_POSITIVE },
	{ "Fear", EVM_NEGATIVE },
	{ "Guilt", EVM_NEGATIVE },
	{ "Horror", EVM_NEGATIVE },
	{ "Interest", EVM_POSITIVE },
	{ "Joy", EVM_POSITIVE },
	{ "Love", EVM_POSITIVE },
	{ "Nostalgia", EVM_NEUTRAL },
	{ "Pain", EVM_NEGATIVE },
	{ "Pride", EVM_POSITIVE },
	{ "Realization", EVM_NEUTRAL },
	{ "Relief", EVM_POSITIVE },
	{ "Romance", EVM_POSITIVE },
	{ "Sadness", EVM_NEGATIVE },
	{ "Satisfaction", EVM_POSITIVE },
	{ "Shame", EVM_NEGATIVE },
	{ "Surprise (negative)", EVM_NEGATIVE },
	{ "Surprise (positive)", EVM_POSITIVE },
	{ "Sympathy", EVM_POSITIVE },
	{ "Tiredness", EVM_NEGATIVE },
	{ "Triumph", EVM_POSITIVE },
};

/* Raw provider statuses (Twilio and Vonage spellings) -> canonical. */
static const struct {
	const char *raw, *canonical;
} statuses[] = {
	{ "queued", "initiated" },       { "initiated", "initiated" },
	{ "started", "initiated" },      { "ringing", "ringing" },
	{ "in-progress", "in-progress" }, { "answered", "in-progress" },
	{ "completed", "completed" },    { "busy", "busy" },
	{ "failed", "failed" },          { "rejected", "failed" },
	{ "no-answer", "no-answer" },    { "unanswered", "no-answer" },
	{ "timeout", "no-answer" },      { "canceled", "canceled" },
	{ "cancelled", "canceled" },
};

const char *evm_emotion_name(int i)
{
	return i >= 0 && i < EVM_NEMOTIONS ? emotions[i].name : NULL;
}

int evm_emotion_valence(int i)
{
	return i >= 0 && i < EVM_NEMOTIONS ? emotions[i].valence : EVM_NEUTRAL;
}

const char *evm_valence_name(int valence)
{
	return valence > 0 ? "positive" : valence < 0 ? "negative" : "neutral";
}

void evm_sentiment(const double scores[EVM_NEMOTIONS], struct evm_sentiment *out)
{
	double mass[3] = { 0, 0, 0 }, total = 0, best;
	int i, k, v;

	for (k = 0; k < EVM_TOP; k++)
		out->top[k] = -1;
	/* Highest first; equal scores keep table order. */
	for (i = 0; i < EVM_NEMOTIONS; i++) {
		for (k = 0; k < EVM_TOP; k++)
			if (out->top[k] < 0 || scores[i] > scores[out->top[k]])
				break;
		if (k == EVM_TOP)
			continue;
		memmove(&out->top[k + 1], &out->top[k], sizeof(int) * (size_t)(EVM_TOP - 1 - k));
		out->top[k] = i;
	}
	for (k = 0; k < EVM_TOP; k++) {
		double s = scores[out->top[k]];
		if (!(s > 0)) /* negative or NaN counts as nothing */
			s = 0;
		if (s > 1)
			s = 1;
		mass[emotions[out->top[k]].valence + 1] += s;
		total += s;
	}
	/* The valence with the most mass wins; a tie for first is neutral. */
	v = EVM_NEUTRAL;
	best = mass[1];
	if (mass[2] > best && mass[2] > mass[0]) {
		v = EVM_POSITIVE;
		best = mass[2];
	} else if (mass[0] > best && mass[0] > mass[2]) {
		v = EVM_NEGATIVE;
		best = mass[0];
	} else if (mass[1] < mass[0] || mass[1] < mass[2]) {
		best = mass[0]; /* positive and negative tie above neutral */
	}
	out->valence = v;
	out->confidence = total > 0 ? round(best / total * 10000.0) / 10000.0 : 0;
}

const char *evm_status_canonical(const char *raw)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(raw, statuses[i].raw) == 0)
			return statuses[i].canonical;
	return NULL;
}

/* ---- time ---- */

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int evm_parse_time(const char *s, int64_t *ms)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0, n;
	const char *p = s;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		for (n = 0; *p >= '0' && *p <= '9'; n++, p++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		if (n == 0 || n > 9)
			return -1;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0' || y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
	       (int64_t)sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

/* ---- buffer ---- */

void evm_buf_init(struct evm_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void evm_buf_release(struct evm_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int evm_buf_add(struct evm_buf *b, const void *p, size_t len)
{
	if (len > b->max - b->len)
		return -ENOBUFS;
	if (b->cap - b->len < len + 1) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;
		while (cap - b->len < len + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		if (!(q = realloc(b->p, cap)))
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_dump_cb(const char *p, size_t len, void *arg)
{
	return evm_buf_add(arg, p, len) < 0 ? -1 : 0;
}

/* Finds the member key of the top-level object p (len bytes, checked JSON)
 * written without escapes: *m0..*m1 the member ("key":value), *v0..*v1 its
 * value. Returns 0, or -1 when there is none. */
static int member_scan(const char *p, size_t len, const char *key, int at_open, size_t *m0,
		       size_t *m1, size_t *v0, size_t *v1);

static int member(const char *p, size_t len, const char *key, size_t *m0, size_t *m1,
		  size_t *v0, size_t *v1)
{
	return member_scan(p, len, key, 0, m0, m1, v0, v1);
}

/* member() when the value is an object or an array: sets *m0 and *v0 (its
 * '{' or '[') only, without reading the value. */
static int member_open(const char *p, size_t len, const char *key, size_t *m0, size_t *v0)
{
	size_t m1, v1;

	return member_scan(p, len, key, 1, m0, &m1, v0, &v1);
}

static int member_scan(const char *p, size_t len, const char *key, int at_open, size_t *m0,
		       size_t *m1, size_t *v0, size_t *v1)
{
	size_t klen = strlen(key), i = 0, k0 = 0;
	int depth = 0, want_key = 0, in_val = 0;

	for (; i < len; i++) {
		char c = p[i];
		if (c == '"') {
			size_t j = i + 1;
			while (j < len && p[j] != '"')
				j += p[j] == '\\' ? 2 : 1;
			if (depth == 1 && want_key) {
				k0 = i;
				want_key = 0;
				if (j - i - 1 == klen && memcmp(p + i + 1, key, klen) == 0)
					in_val = 1;
			}
			i = j;
			continue;
		}
		if (c == '{' || c == '[') {
			if (++depth == 1 && c == '{')
				want_key = 1;
			if (depth == 2 && in_val == 1) {
				*v0 = i;
				in_val = 2;
				if (at_open) {
					*m0 = k0;
					return 0;
				}
			}
		} else if (c == '}' || c == ']') {
			if (--depth == 1 && in_val == 2) {
				*v1 = i + 1;
				goto found;
			}
			if (depth == 0 && in_val == 3) {
				*v1 = i;
				goto found;
			}
		} else if (c == ',' && depth == 1) {
			if (in_val == 3) {
				*v1 = i;
				goto found;
			}
			want_key = 1;
		} else if (c == ':' && depth == 1 && in_val == 1) {
			size_t j = i + 1;
			while (j < len && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n' || p[j] == '\r'))
				j++;
			if (j < len && p[j] != '{' && p[j] != '[') {
				*v0 = j; /* a scalar: ends at the next ',' or '}' of this level */
				in_val = 3;
				if (p[j] == '"') {
					j++;
					while (j < len && p[j] != '"')
						j += p[j] == '\\' ? 2 : 1;
					i = j;
				}
			}
		}
	}
	return -1;
found:
	while (*v1 > *v0 && (p[*v1 - 1] == ' ' || p[*v1 - 1] == '\t' || p[*v1 - 1] == '\n' ||
			     p[*v1 - 1] == '\r'))
		(*v1)--;
	*m0 = k0;
	*m1 = *v1;
	return 0;
}

/* ---- the scores, without jansson ---- */

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses the JSON number at p[*i..len) as strtod() would (and jansson:
 * an integer of 19 digits or more, or a real that overflows, fails), with
 * the exact fast path for up to 15 significant digits. Returns 0. */
static int scan_number(const char *p, size_t len, size_t *i, double *out)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
					1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
					1e20, 1e21, 1e22 };
	size_t j = *i, start = j, idigits = 0, fdigits = 0, sig = 0;
	uint64_t m = 0;
	int neg = 0, real = 0, exp = 0, eneg = 0, edigits = 0, lead = 1;

	if (j < len && p[j] == '-') {
		neg = 1;
		j++;
	}
	if (j < len && p[j] == '0') {
		j++;
		idigits = 1;
	} else {
		for (; j < len && p[j] >= '0' && p[j] <= '9'; j++, idigits++) {
			if (sig < 19)
				m = m * 10 + (uint64_t)(p[j] - '0');
			sig++;
		}
		lead = sig == 0;
	}
	if (idigits == 0)
		return -1;
	if (j < len && p[j] == '.') {
		real = 1;
		for (j++; j < len && p[j] >= '0' && p[j] <= '9'; j++, fdigits++) {
			if (lead && p[j] == '0') {
				exp--; /* leading zeros of 0.000123 are not significant */
				continue;
			}
			lead = 0;
			if (sig < 19) {
				m = m * 10 + (uint64_t)(p[j] - '0');
				exp--;
			}
			sig++;
		}
		if (fdigits == 0)
			return -1;
	}
	if (j < len && (p[j] == 'e' || p[j] == 'E')) {
		int e = 0;
		real = 1;
		j++;
		if (j < len && (p[j] == '+' || p[j] == '-'))
			eneg = p[j++] == '-';
		for (; j < len && p[j] >= '0' && p[j] <= '9'; j++, edigits++)
			if (e < 100000)
				e = e * 10 + (p[j] - '0');
		if (edigits == 0)
			return -1;
		exp += eneg ? -e : e;
	}
	if (!real && idigits >= 19)
		return -1; /* jansson: too big an integer */
	*i = j;
	if (sig <= 15 && exp >= -22 && exp <= 22) {
		double v = (double)m;
		v = exp < 0 ? v / pow10[-exp] : v * pow10[exp];
		*out = neg ? -v : v;
		return 0;
	} else {
		char tmp[64];
		size_t n = j - start;
		double v;
		if (n >= sizeof(tmp))
			return -1;
		memcpy(tmp, p + start, n);
		tmp[n] = '\0';
		errno = 0;
		v = strtod(tmp, NULL);
		if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
			return -1; /* jansson: real number overflow */
		*out = v;
		return 0;
	}
}

static size_t name_len(int i)
{
	static size_t len[EVM_NEMOTIONS];

	if (!len[i])
		len[i] = strlen(emotions[i].name);
	return len[i];
}

/* Parses the object at p[v0..len) when it holds just the 48 scores: each
 * name once, unescaped, with a number. Sets *v1 past its '}'. Returns 0,
 * or -1 for anything else (jansson then parses it, and checks it). */
static int scan_scores(const char *p, size_t len, size_t v0, size_t *v1,
		       double sc[EVM_NEMOTIONS], size_t num[EVM_NEMOTIONS],
		       size_t numlen[EVM_NEMOTIONS])
{
	uint64_t seen = 0;
	size_t i = v0 + 1;
	int next = 0, n = 0;

	for (;;) {
		size_t k0, klen;
		int e = -1;

		while (i < len && is_ws(p[i]))
			i++;
		if (n == 0 && i < len && p[i] == '}')
			return -1; /* no scores at all */
		if (i >= len || p[i] != '"')
			return -1;
		k0 = ++i;
		while (i < len && p[i] != '"' && p[i] != '\\' && (unsigned char)p[i] >= 0x20)
			i++;
		if (i >= len || p[i] != '"')
			return -1;
		klen = i++ - k0;
		/* EVI sends them in table order: try the next one first. */
		for (int t = 0; t < EVM_NEMOTIONS && e < 0; t++) {
			int c = (next + t) % EVM_NEMOTIONS;
			if (name_len(c) == klen && memcmp(emotions[c].name, p + k0, klen) == 0)
				e = c;
		}
		if (e < 0 || (seen >> e & 1))
			return -1;
		seen |= (uint64_t)1 << e;
		next = e + 1;
		while (i < len && is_ws(p[i]))
			i++;
		if (i >= len || p[i++] != ':')
			return -1;
		while (i < len && is_ws(p[i]))
			i++;
		num[e] = i;
		if (scan_number(p, len, &i, &sc[e]) < 0)
			return -1;
		numlen[e] = i - num[e];
		n++;
		while (i < len && is_ws(p[i]))
			i++;
		if (i < len && p[i] == ',') {
			i++;
			continue;
		}
		if (i < len && p[i] == '}' && n == EVM_NEMOTIONS) {
			*v1 = i + 1;
			return 0;
		}
		return -1;
	}
}

/* ---- checks ---- */

struct ctx {
	json_t *ev;  /* the parsed event, or NULL */
	json_t *rec; /* the record being built */
	struct evm_info *info;
	/* have_sc: emotion_scores (member m0..m1, value v0..v1 of the payload)
	 * were parsed into sc, and ev holds {} in their place. */
	int have_sc;
	size_t m0, m1, v0, v1;
	double sc[EVM_NEMOTIONS];
	size_t num[EVM_NEMOTIONS], numlen[EVM_NEMOTIONS]; /* each score's text */
};

static int reject(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int reject(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->info->status != EVM_REJECTED) {
		x->info->status = EVM_REJECTED;
		va_start(ap, fmt);
		vsnprintf(x->info->reason, sizeof(x->info->reason), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void set_new(struct ctx *x, const char *key, json_t *v)
{
	json_object_set_new_nocheck(x->rec, key, v);
}

/* Gets an optional string field (absent or null: NULL); a wrong type or a
 * value longer than max rejects. */
static int opt_str(struct ctx *x, const char *key, size_t max, const char **out)
{
	json_t *v = json_object_get(x->ev, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return reject(x, "'%s': expected a string", key);
	if (json_string_length(v) > max)
		return reject(x, "'%s': longer than %zu bytes", key, max);
	*out = json_string_value(v);
	return 0;
}

static int req_str(struct ctx *x, const char *key, size_t max, const char **out)
{
	if (opt_str(x, key, max, out) < 0)
		return -1;
	if (!*out)
		return reject(x, "missing '%s'", key);
	return 0;
}

/* An optional integer in [lo, hi]; *set says whether it was there. */
static int opt_int(struct ctx *x, const char *key, json_int_t lo, json_int_t hi,
		   json_int_t *out, int *set)
{
	json_t *v = json_object_get(x->ev, key);

	*set = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return reject(x, "'%s': expected an integer", key);
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return reject(x, "'%s': %lld out of range", key, (long long)*out);
	*set = 1;
	return 0;
}

/* An optional boolean: -1 absent, else 0 or 1. */
static int opt_bool(struct ctx *x, const char *key, int *out)
{
	json_t *v = json_object_get(x->ev, key);

	*out = -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return reject(x, "'%s': expected true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int str_field(struct ctx *x, const char *key, const char *rkey, size_t max)
{
	const char *s;

	if (opt_str(x, key, max, &s) < 0)
		return -1;
	if (s)
		set_new(x, rkey, json_string(s));
	return 0;
}

static int is_slug(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int is_type_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_SHORT || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

static int map_started(struct ctx *x)
{
	const char *dir, *agent;
	json_t *cust = json_object_get(x->ev, "customer");
	json_t *meta = json_object_get(x->ev, "metadata");

	if (opt_str(x, "direction", MAX_SHORT, &dir) < 0)
		return -1;
	if (dir && strcmp(dir, "inbound") != 0 && strcmp(dir, "outbound") != 0)
		return reject(x, "'direction': expected inbound or outbound");
	if (dir)
		set_new(x, "dir", json_string(dir));
	if (str_field(x, "from", "fr", MAX_SHORT) < 0 || str_field(x, "to", "tn", MAX_SHORT) < 0 ||
	    str_field(x, "provider_call_id", "pcid", MAX_ID) < 0)
		return -1;
	if (opt_str(x, "agent", MAX_SHORT, &agent) < 0)
		return -1;
	if (agent && !is_slug(agent))
		return reject(x, "'agent': expected a slug (a-z, 0-9, '_', '-')");
	if (agent)
		set_new(x, "agent", json_string(agent));
	if (cust && !json_is_null(cust)) {
		json_t *n, *e;
		if (!json_is_object(cust))
			return reject(x, "'customer': expected an object");
		n = json_object_get(cust, "name");
		e = json_object_get(cust, "email");
		if ((n && !json_is_null(n) && !json_is_string(n)) ||
		    (e && !json_is_null(e) && !json_is_string(e)))
			return reject(x, "'customer': name and email must be strings");
		if ((json_is_string(n) && json_string_length(n) > MAX_TEXT) ||
		    (json_is_string(e) && json_string_length(e) > MAX_TEXT))
			return reject(x, "'customer': longer than %d bytes", MAX_TEXT);
		if (json_is_string(n))
			set_new(x, "cn", json_copy(n));
		if (json_is_string(e))
			set_new(x, "ce", json_copy(e));
	}
	if (meta && !json_is_null(meta) && !json_is_object(meta))
		return reject(x, "'metadata': expected an object");
	return 0;
}

static int map_status(struct ctx *x, int ended)
{
	const char *raw, *cs;

	if ((ended ? opt_str : req_str)(x, "status", MAX_SHORT, &raw) < 0)
		return -1;
	cs = raw ? evm_status_canonical(raw) : NULL;
	if (ended && !cs)
		cs = "completed";
	if (cs)
		set_new(x, "cs", json_string(cs));
	if (ended) {
		json_int_t dur;
		int set;
		if (opt_int(x, "duration_ms", 0, (json_int_t)1 << 50, &dur, &set) < 0 ||
		    str_field(x, "reason", "why", MAX_TEXT) < 0)
			return -1;
		if (set)
			set_new(x, "dur", json_integer(dur));
	}
	return 0;
}

static int map_chat(struct ctx *x)
{
	const char *chat;

	if (req_str(x, "chat_id", MAX_ID, &chat) < 0)
		return -1;
	set_new(x, "chat", json_string(chat));
	return str_field(x, "chat_group_id", "chatg", MAX_ID);
}

static int map_utterance(struct ctx *x)
{
	const char *role, *text;
	json_t *es = json_object_get(x->ev, "emotion_scores");
	json_int_t b = 0, e = 0;
	int bset, eset, interim, intr;

	if (req_str(x, "role", MAX_SHORT, &role) < 0 || req_str(x, "text", SIZE_MAX, &text) < 0)
		return -1;
	if (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)
		return reject(x, "'role': expected user or assistant");
	if (opt_int(x, "begin_ms", 0, INT32_MAX, &b, &bset) < 0 ||
	    opt_int(x, "end_ms", 0, INT32_MAX, &e, &eset) < 0 || opt_bool(x, "interim", &interim) < 0 ||
	    opt_bool(x, "interrupted", &intr) < 0 || str_field(x, "message_id", "mid", MAX_ID) < 0)
		return -1;
	if (x->have_sc || (es && !json_is_null(es))) {
		double *sc = x->sc;
		struct evm_sentiment st;
		json_t *top;

		if (!x->have_sc && !json_is_object(es))
			return reject(x, "'emotion_scores': expected an object");
		for (int i = 0; i < EVM_NEMOTIONS && !x->have_sc; i++) {
			json_t *v = json_object_get(es, emotions[i].name);
			if (!v)
				return reject(x, "'emotion_scores': missing '%s'", emotions[i].name);
			if (!json_is_number(v))
				return reject(x, "'emotion_scores': '%s' is not a number",
					      emotions[i].name);
			sc[i] = json_number_value(v);
		}
		evm_sentiment(sc, &st);
		top = json_array();
		for (int k = 0; k < EVM_TOP; k++)
			json_array_append_new(top, json_string(emotions[st.top[k]].name));
		set_new(x, "top", top);
		set_new(x, "sent", json_string(evm_valence_name(st.valence)));
		set_new(x, "conf", json_real(st.confidence));
	}
	set_new(x, "fin", json_boolean(interim != 1));
	set_new(x, "role", json_string(role));
	if (bset)
		set_new(x, "b", json_integer(b));
	if (eset)
		set_new(x, "en", json_integer(e));
	if (intr >= 0)
		set_new(x, "intr", json_boolean(intr));
	return 0;
}

/* Fields every event has; on success the record has e, c, t, p, ts. */
static int map_common(struct ctx *x)
{
	const char *type, *cid, *prov, *ts, *eid;
	uint8_t id[EVB_CALLID_LEN];
	char idstr[EVB_CALLID_STRLEN];
	int64_t ms;

	if (req_str(x, "type", MAX_SHORT, &type) < 0)
		return -1;
	if (!is_type_name(type))
		return reject(x, "'type': expected a name such as 'call.started'");
	snprintf(x->info->type, sizeof(x->info->type), "%s", type);
	if (req_str(x, "event_id", MAX_SHORT, &eid) < 0)
		return -1;
	if (evb_callid_parse(eid, id) < 0)
		return reject(x, "'event_id': expected a UUID");
	evb_callid_format(id, x->info->event_id);
	if (req_str(x, "call_id", MAX_SHORT, &cid) < 0)
		return -1;
	if (evb_callid_parse(cid, id) < 0)
		return reject(x, "'call_id': expected a UUID");
	evb_callid_format(id, idstr);
	set_new(x, "c", json_string(idstr));
	if (req_str(x, "provider", MAX_SHORT, &prov) < 0)
		return -1;
	if (strcmp(prov, "twilio") != 0 && strcmp(prov, "vonage") != 0)
		return reject(x, "'provider': expected twilio or vonage");
	set_new(x, "p", json_string(prov));
	if (req_str(x, "ts", MAX_SHORT, &ts) < 0)
		return -1;
	if (evm_parse_time(ts, &ms) < 0)
		return reject(x, "'ts': expected an RFC 3339 time");
	set_new(x, "ts", json_integer(ms));
	return 0;
}

static int map_type(struct ctx *x)
{
	const char *t = x->info->type;

	if (strcmp(t, "call.started") == 0)
		return map_started(x);
	if (strcmp(t, "call.status") == 0)
		return map_status(x, 0);
	if (strcmp(t, "call.ended") == 0)
		return map_status(x, 1);
	if (strcmp(t, "utterance") == 0)
		return map_utterance(x);
	if (strcmp(t, "chat.metadata") == 0)
		return map_chat(x);
	if (strcmp(t, "interruption") == 0 || strcmp(t, "playback.mark") == 0 ||
	    strcmp(t, "dtmf") == 0 || strcmp(t, "error") == 0)
		return 0;
	x->info->status = EVM_UNHANDLED;
	return 0;
}

/* A deterministic UUID for an event without a usable event_id, so that a
 * replay of the same bad bytes is recognised: two FNV-1a 64 hashes. */
static void hash_uuid(const void *p, size_t len, char out[EVB_CALLID_STRLEN])
{
	uint64_t h1 = 0xcbf29ce484222325u, h2 = 0x84222325cbf29ce4u;
	const uint8_t *b = p;
	uint8_t id[EVB_CALLID_LEN];

	for (size_t i = 0; i < len; i++) {
		h1 = (h1 ^ b[i]) * 0x100000001b3u;
		h2 = (h2 ^ b[i]) * 0x100000001b3u;
		h2 ^= h2 >> 29;
	}
	for (int i = 0; i < 8; i++) {
		id[i] = (uint8_t)(h1 >> (8 * i));
		id[8 + i] = (uint8_t)(h2 >> (8 * i));
	}
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x80); /* version 8: custom */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	evb_callid_format(id, out);
}

/* Copies at most RAW_MAX bytes of p as valid UTF-8 without NUL: bad bytes
 * become U+FFFD. Returns a new string (caller frees) or NULL. */
static char *utf8_clean(const uint8_t *p, size_t len)
{
	size_t n = len < RAW_MAX ? len : RAW_MAX, i = 0, o = 0;
	char *s = malloc(n * 3 + 1);

	if (!s)
		return NULL;
	while (i < n) {
		uint8_t c = p[i];
		size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			 : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
		size_t j;
		int good = k > 0 && c != 0 && i + k <= n;

		for (j = 1; good && j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				good = 0;
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if (good && k > 1 && ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
				      (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
				      (cp >= 0xd800 && cp <= 0xdfff)))
			good = 0;
		if (!good) {
			memcpy(s + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(s + o, p + i, k);
		o += k;
		i += k;
	}
	s[o] = '\0';
	return s;
}

/* Appends rec (with "ev": the payload, when it is an object) to out. */
static int emit(json_t *rec, const void *payload, size_t len, int with_ev, struct evm_buf *out)
{
	size_t mark = out->len;
	int r;

	if (json_dump_callback(rec, buf_dump_cb, out, JSON_COMPACT) < 0)
		goto fail;
	if (with_ev) {
		out->len--; /* the closing brace */
		if (evm_buf_add(out, ",\"ev\":", 6) < 0 || evm_buf_add(out, payload, len) < 0 ||
		    evm_buf_add(out, "}", 1) < 0)
			goto fail;
	}
	return 0;
fail:
	r = out->len + len + 64 > out->max ? -ENOBUFS : -ENOMEM;
	out->len = mark;
	if (out->p)
		out->p[mark] = '\0';
	return r;
}

/* Appends rec with one more member, key: the JSON text v (vlen bytes). */
static int emit_with(json_t *rec, const char *key, const void *v, size_t vlen,
		     struct evm_buf *out)
{
	size_t mark = out->len;

	if (json_dump_callback(rec, buf_dump_cb, out, JSON_COMPACT) < 0)
		goto fail;
	out->len--; /* the closing brace */
	if (evm_buf_add(out, out->len > mark + 1 ? ",\"" : "\"", out->len > mark + 1 ? 2 : 1) < 0 ||
	    evm_buf_add(out, key, strlen(key)) < 0 || evm_buf_add(out, "\":", 2) < 0 ||
	    evm_buf_add(out, v, vlen) < 0 || evm_buf_add(out, "}", 1) < 0)
		goto fail;
	return 0;
fail:
	out->len = mark;
	if (out->p)
		out->p[mark] = '\0';
	return -ENOMEM;
}

static int map_bad(const void *payload, size_t len, struct ctx *x, struct evm_buf *out)
{
	json_t *rec = json_object();
	int r, is_object = json_is_object(x->ev);

	if (!rec)
		return -ENOMEM;
	if (!x->info->event_id[0])
		hash_uuid(payload, len, x->info->event_id);
	json_object_set_new(rec, "e", json_string(x->info->event_id));
	json_object_set_new(rec, "s", json_string("rejected"));
	json_object_set_new(rec, "r", json_string(x->info->reason));
	if (x->info->type[0])
		json_object_set_new(rec, "t", json_string(x->info->type));
	/* Keep what identifies the call, when it is well formed. */
	if (x->rec) {
		static const char *const keep[] = { "c", "p", "ts" };
		for (size_t i = 0; i < 3; i++) {
			json_t *v = json_object_get(x->rec, keep[i]);
			if (v)
				json_object_set(rec, keep[i], v);
		}
	}
	if (!is_object) {
		char *raw = utf8_clean(payload, len);
		json_object_set_new(rec, "raw", json_string(raw ? raw : ""));
		free(raw);
	}
	r = emit(rec, payload, len, is_object, out);
	json_decref(rec);
	return r;
}

/* Parses and checks the payload: x->ev and x->rec set (either may be NULL
 * for a payload that is not a JSON object), x->info filled. */
static void check(const void *payload, size_t len, struct ctx *x)
{
	json_error_t jerr;

	memset(x->info, 0, sizeof(*x->info));
	x->ev = NULL;
	x->have_sc = 0;
	/* The scores are most of an utterance's bytes, and jansson's object
	 * costs more than the rest of the work: parse them here when they are
	 * plain, and give jansson the rest with {} in their place. */
	if (member_open(payload, len, "emotion_scores", &x->m0, &x->v0) == 0 &&
	    ((const char *)payload)[x->v0] == '{' &&
	    scan_scores(payload, len, x->v0, &x->v1, x->sc, x->num, x->numlen) == 0) {
		size_t n = len - (x->v1 - x->v0) + 2;
		char stack[4096], *rest = n <= sizeof(stack) ? stack : malloc(n);
		x->m1 = x->v1;
		if (rest) {
			memcpy(rest, payload, x->v0);
			memcpy(rest + x->v0, "{}", 2);
			memcpy(rest + x->v0 + 2, (const char *)payload + x->v1, len - x->v1);
			x->ev = json_loadb(rest, n, JSON_REJECT_DUPLICATES, &jerr);
			x->have_sc = x->ev != NULL;
			if (rest != stack)
				free(rest);
		}
	}
	if (!x->ev)
		x->ev = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!x->ev) {
		reject(x, "not JSON: %s", jerr.text);
		return;
	}
	if (!json_is_object(x->ev)) {
		reject(x, "not a JSON object");
		return;
	}
	x->rec = json_object();
	if (!x->rec) {
		reject(x, "out of memory");
		return;
	}
	if (map_common(x) == 0 && map_type(x) == 0) {
		set_new(x, "e", json_string(x->info->event_id));
		set_new(x, "t", json_string(x->info->type));
		set_new(x, "s", json_string(x->info->status == EVM_ACCEPTED ? "accepted"
									      : "unhandled"));
	}
}

int evm_map(const void *payload, size_t len, struct evm_buf *out, struct evm_info *info)
{
	struct evm_info local;
	struct ctx x = { .info = info ? info : &local };
	int r;

	check(payload, len, &x);
	if (x.info->status != EVM_REJECTED)
		r = emit(x.rec, payload, len, 1, out);
	else
		r = map_bad(payload, len, &x, out);
	json_decref(x.rec);
	json_decref(x.ev);
	return r;
}

int evm_map_refused(const void *payload, size_t len, const char *reason,
		    struct evm_buf *out, struct evm_info *info)
{
	struct evm_info local;
	struct ctx x = { .info = info ? info : &local };
	int r;

	check(payload, len, &x);
	x.info->status = EVM_ACCEPTED;
	reject(&x, "refused by the database: %s", reason);
	r = map_bad(payload, len, &x, out);
	json_decref(x.rec);
	json_decref(x.ev);
	return r;
}

/* ---- the COPY write path ---- */

/* Appends s as a field of COPY's text format. */
static int copy_text(struct evm_buf *b, const char *s, size_t n)
{
	size_t i = 0, run = 0;
	int r = 0;

	for (; i < n && r == 0; i++) {
		const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '\n' ? "\\n" : s[i] == '\r' ? "\\r"
				: s[i] == '\t' ? "\\t" : NULL;
		if (!esc)
			continue;
		if ((r = evm_buf_add(b, s + run, i - run)) == 0)
			r = evm_buf_add(b, esc, 2);
		run = i + 1;
	}
	if (r == 0)
		r = evm_buf_add(b, s + run, n - run);
	return r;
}

static int copy_str(struct evm_buf *b, const char *s)
{
	return s ? copy_text(b, s, strlen(s)) : evm_buf_add(b, "\\N", 2);
}

static const char *rec_str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

/* Appends a time in ms since 1970 as a UTC timestamp PostgreSQL reads. */
static int copy_time(struct evm_buf *b, int64_t ms)
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000, z = days + 719468, era, doe, yoe, y, doy, mp, d, m;
	char t[48];
	int n;

	/* Civil date of a day number (H. Hinnant), the inverse of days_from_civil(). */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	n = snprintf(t, sizeof(t), "%04lld-%02lld-%02lld %02lld:%02lld:%02lld.%03lld+00",
		     (long long)y, (long long)m, (long long)d, (long long)(rem / 3600000),
		     (long long)(rem / 60000 % 60), (long long)(rem / 1000 % 60),
		     (long long)(rem % 1000));
	return evm_buf_add(b, t, (size_t)n);
}

static int copy_int(struct evm_buf *b, json_t *v)
{
	char t[32];
	int n;

	if (!v)
		return evm_buf_add(b, "\\N", 2);
	n = snprintf(t, sizeof(t), "%lld", (long long)json_integer_value(v));
	return evm_buf_add(b, t, (size_t)n);
}

/* jsonb's order of object keys, for indexes into emotions[]. */
static int jsonb_key_cmp(const void *a, const void *b)
{
	const char *x = emotions[*(const int *)a].name, *y = emotions[*(const int *)b].name;
	size_t lx = strlen(x), ly = strlen(y);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return memcmp(x, y, lx);
}

static int copy_utterance(struct ctx *x, const char *p, size_t s0, size_t s1,
			  struct evm_buf *b)
{
	json_t *rec = x->rec, *top = json_object_get(rec, "top"), *v;
	json_t *text = json_object_get(x->ev, "text");
	char t[48];
	int r, n;

	r = evm_buf_add(b, x->info->event_id, strlen(x->info->event_id));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_str(b, rec_str(rec, "c"));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_str(b, rec_str(rec, "role"));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_str(b, rec_str(rec, "mid"));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_text(b, json_string_value(text), json_string_length(text));
	r = r ? r : evm_buf_add(b, "\t", 1);
	if (top && x->have_sc) {
		/* In jsonb's key order (shorter first, then bytewise), which
		 * spares PostgreSQL sorting them: the same object. */
		static int order[EVM_NEMOTIONS], sorted;
		if (!sorted) {
			for (int i = 0; i < EVM_NEMOTIONS; i++)
				order[i] = i;
			qsort(order, EVM_NEMOTIONS, sizeof(order[0]), jsonb_key_cmp);
			sorted = 1;
		}
		for (int k = 0; k < EVM_NEMOTIONS; k++) {
			int i = order[k];
			r = r ? r : evm_buf_add(b, k ? ",\"" : "{\"", 2);
			r = r ? r : evm_buf_add(b, emotions[i].name, strlen(emotions[i].name));
			r = r ? r : evm_buf_add(b, "\":", 2);
			r = r ? r : evm_buf_add(b, p + x->num[i], x->numlen[i]);
		}
		r = r ? r : evm_buf_add(b, "}", 1);
	} else {
		r = r ? r : top ? copy_text(b, p + s0, s1 - s0) : evm_buf_add(b, "\\N", 2);
	}
	r = r ? r : evm_buf_add(b, "\t", 1);
	if (top) {
		r = r ? r : evm_buf_add(b, "{", 1);
		for (size_t k = 0; k < json_array_size(top); k++) {
			const char *e = json_string_value(json_array_get(top, k));
			r = r ? r : evm_buf_add(b, k ? ",\"" : "\"", k ? 2 : 1);
			r = r ? r : evm_buf_add(b, e, strlen(e)); /* a name of the table */
			r = r ? r : evm_buf_add(b, "\"", 1);
		}
		r = r ? r : evm_buf_add(b, "}", 1);
	} else {
		r = r ? r : evm_buf_add(b, "\\N", 2);
	}
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_str(b, rec_str(rec, "sent"));
	r = r ? r : evm_buf_add(b, "\t", 1);
	if ((v = json_object_get(rec, "conf"))) {
		n = snprintf(t, sizeof(t), "%.17g", json_real_value(v));
		r = r ? r : evm_buf_add(b, t, (size_t)n);
	} else {
		r = r ? r : evm_buf_add(b, "\\N", 2);
	}
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_int(b, json_object_get(rec, "b"));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_int(b, json_object_get(rec, "en"));
	r = r ? r : evm_buf_add(b, json_is_true(json_object_get(rec, "intr")) ? "\tt\t" : "\tf\t",
				3);
	r = r ? r : copy_time(b, json_integer_value(json_object_get(rec, "ts")));
	r = r ? r : evm_buf_add(b, "\n", 1);
	return r;
}

static int copy_event(struct ctx *x, const char *p, size_t len, size_t m0, size_t m1,
		      struct evm_buf *b)
{
	json_t *rec = x->rec;
	int r;

	r = evm_buf_add(b, x->info->event_id, strlen(x->info->event_id));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_str(b, rec_str(rec, "c"));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_str(b, x->info->type);
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_str(b, rec_str(rec, "p"));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_time(b, json_integer_value(json_object_get(rec, "ts")));
	r = r ? r : evm_buf_add(b, "\t", 1);
	r = r ? r : copy_str(b, rec_str(rec, "s"));
	r = r ? r : evm_buf_add(b, "\t", 1);
	if (m1 > m0) {
		/* The payload without the member m0..m1 and one comma next to it. */
		size_t a = m0, z = m1;
		while (a > 0 && p[a - 1] != ',' && p[a - 1] != '{')
			a--;
		if (a > 0 && p[a - 1] == ',') {
			a--;
		} else {
			while (z < len && p[z] != ',' && p[z] != '}')
				z++;
			if (z < len && p[z] == ',')
				z++;
		}
		r = r ? r : copy_text(b, p, a);
		r = r ? r : copy_text(b, p + z, len - z);
	} else {
		r = r ? r : copy_text(b, p, len);
	}
	r = r ? r : evm_buf_add(b, "\n", 1);
	return r;
}

void evm_copy_init(struct evm_copy *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	evm_buf_init(&c->calls, max);
	evm_buf_init(&c->utt, max);
	evm_buf_init(&c->evs, max);
}

void evm_copy_release(struct evm_copy *c)
{
	evm_buf_release(&c->calls);
	evm_buf_release(&c->utt);
	evm_buf_release(&c->evs);
	free(c->plain);
	memset(c, 0, sizeof(*c));
}

void evm_copy_reset(struct evm_copy *c)
{
	c->calls.len = c->utt.len = c->evs.len = 0;
	if (c->nplain)
		memset(c->plain, 0, c->cap * sizeof(*c->plain));
	c->nplain = 0;
}

static size_t plain_slot(const struct evm_plain_call *t, size_t cap, const char *id)
{
	uint64_t h = 0xcbf29ce484222325u;
	size_t i;

	for (const char *q = id; *q; q++)
		h = (h ^ (uint8_t)*q) * 0x100000001b3u;
	for (i = h & (cap - 1); t[i].id[0] && strcmp(t[i].id, id) != 0; i = (i + 1) & (cap - 1))
		;
	return i;
}

/* Merges a plain event of call id into the table: earliest ts, least p. */
static int plain_add(struct evm_copy *c, const char *id, const char *p, int64_t ts)
{
	struct evm_plain_call *e;

	if ((c->nplain + 1) * 2 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct evm_plain_call *t = calloc(cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < c->cap; i++)
			if (c->plain[i].id[0])
				t[plain_slot(t, cap, c->plain[i].id)] = c->plain[i];
		free(c->plain);
		c->plain = t;
		c->cap = cap;
	}
	e = &c->plain[plain_slot(c->plain, c->cap, id)];
	if (!e->id[0]) {
		snprintf(e->id, sizeof(e->id), "%s", id);
		snprintf(e->p, sizeof(e->p), "%s", p);
		e->ts = ts;
		c->nplain++;
		return 0;
	}
	if (ts < e->ts)
		e->ts = ts;
	if (strcmp(p, e->p) < 0)
		snprintf(e->p, sizeof(e->p), "%s", p);
	return 0;
}

int evm_copy_finish(struct evm_copy *c)
{
	char rec[160];
	int r = 0;

	for (size_t i = 0; i < c->cap && r == 0; i++) {
		const struct evm_plain_call *e = &c->plain[i];
		int n;
		if (!e->id[0])
			continue;
		n = snprintf(rec, sizeof(rec), "{\"c\":\"%s\",\"p\":\"%s\",\"ts\":%lld,"
			     "\"t\":\"-\",\"s\":\"accepted\"},", e->id, e->p, (long long)e->ts);
		r = evm_buf_add(&c->calls, rec, (size_t)n);
	}
	return r;
}

int evm_map_copy(const void *payload, size_t len, struct evm_copy *outs, size_t nout,
		 struct evm_info *info, size_t *lane)
{
	struct evm_info local;
	struct ctx x = { .info = info ? info : &local };
	static const char *const drop[] = { "e", "top", "sent", "conf", "fin", "role", "b", "en",
					    "intr", "mid" };
	const char *p = payload;
	size_t m0 = 0, m1 = 0, v0 = 0, v1 = 0, mark[3] = { 0, 0, 0 }, k = 0;
	struct evm_copy *out = NULL;
	int r = 1, fin = 0, scored = 0;

	check(payload, len, &x);
	if (x.info->status == EVM_REJECTED)
		goto done;
	if (nout > 1) {
		uint64_t h = 0xcbf29ce484222325u;
		for (const char *q = rec_str(x.rec, "c"); *q; q++)
			h = (h ^ (uint8_t)*q) * 0x100000001b3u;
		k = (size_t)(h % nout);
	}
	out = &outs[k];
	if (lane)
		*lane = k;
	mark[0] = out->calls.len;
	mark[1] = out->utt.len;
	mark[2] = out->evs.len;
	if (x.info->status == EVM_ACCEPTED && strcmp(x.info->type, "utterance") == 0) {
		fin = json_is_true(json_object_get(x.rec, "fin"));
		scored = json_object_get(x.rec, "top") != NULL;
		/* Its scores go to utterances, not call_events: find their bytes. */
		if (fin && scored && x.have_sc) {
			m0 = x.m0;
			m1 = x.m1;
			v0 = x.v0;
			v1 = x.v1;
		} else if (fin && scored &&
			   member(p, len, "emotion_scores", &m0, &m1, &v0, &v1) < 0) {
			goto done; /* an escaped key: the JSON batch path copes */
		}
		if (!(fin && scored))
			m0 = m1 = 0;
	}
	if (fin && (r = copy_utterance(&x, p, v0, v1, &out->utt)) < 0)
		goto done;
	if ((r = copy_event(&x, p, len, m0, m1, &out->evs)) < 0)
		goto done;
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		json_object_del(x.rec, drop[i]);
	if (json_object_size(x.rec) == 5 && strcmp(x.info->type, "call.started") != 0) {
		/* c, p, ts, t, s: nothing for the call but its time and provider. */
		r = plain_add(out, rec_str(x.rec, "c"), rec_str(x.rec, "p"),
			      json_integer_value(json_object_get(x.rec, "ts")));
		goto done;
	}
	if (strcmp(x.info->type, "call.started") == 0) {
		json_t *meta = json_object_get(x.ev, "metadata");
		if (json_is_object(meta) && json_object_size(meta) > 0) {
			if (member(p, len, "metadata", &m0, &m1, &v0, &v1) < 0) {
				r = 1;
				goto done;
			}
			if ((r = emit_with(x.rec, "meta", p + v0, v1 - v0, &out->calls)) < 0)
				goto done;
			goto ok;
		}
	}
	if (json_dump_callback(x.rec, buf_dump_cb, &out->calls, JSON_COMPACT) < 0) {
		r = -ENOMEM;
		goto done;
	}
ok:
	r = evm_buf_add(&out->calls, ",", 1);
done:
	if (r != 0 && out) {
		out->calls.len = mark[0];
		out->utt.len = mark[1];
		out->evs.len = mark[2];
	}
	json_decref(x.rec);
	json_decref(x.ev);
	return r;
}
