/* Configuration table, KEY=value parser and format checks. To add a key,
 * add one row to keys[] and one entry to evibridge.env.sample. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evb_cfg.h"
#include "evb_err.h"

enum cfg_type {
	T_TOKEN,    /* printable, no blanks: ids, API keys */
	T_ENUM,     /* one of choices, "a|b|c" */
	T_E164,     /* '+' and 7-15 digits */
	T_PHONE,    /* 7-15 digits, '+' optional */
	T_PATH,     /* file system path */
	T_HTTP_URL, /* http(s)://host[:port][/path], no query */
	T_WS_URL,   /* ws(s)://host[:port][/path][?query] */
	T_HOSTPORT, /* ipv4:port, [ipv6]:port, name:port */
	T_INT,      /* decimal in [min, max], or one of choices */
	T_FLOAT,    /* decimal number in [min, max] */
	T_PGCONN,   /* libpq conninfo or postgres:// URI */
};

#define SECRET 1

struct cfg_key {
	const char *name;
	enum cfg_type type;
	const char *dflt;    /* NULL: none */
	int secret;
	double min, max;     /* T_INT, T_FLOAT */
	const char *choices; /* T_ENUM, T_INT: "a|b|c" */
	const char *expect;  /* overrides the generated "expected ..." text */
	const char *doc;
};

#define K(n, t, d, s, doc_) { .name = n, .type = t, .dflt = d, .secret = s, .doc = doc_ }
#define KR(n, t, d, lo, hi, doc_) \
	{ .name = n, .type = t, .dflt = d, .min = lo, .max = hi, .doc = doc_ }
#define KC(n, t, d, ch, exp, doc_) \
	{ .name = n, .type = t, .dflt = d, .choices = ch, .expect = exp, .doc = doc_ }

static const struct cfg_key keys[] = {
	KC("VOICE_PROVIDER", T_ENUM, "twilio", "twilio|vonage", NULL,
	   "provider for outbound calls"),
	K("TWILIO_ACCOUNT_SID", T_TOKEN, NULL, 0, "Twilio account SID (AC...)"),
	K("TWILIO_AUTH_TOKEN", T_TOKEN, NULL, SECRET, "Twilio auth token"),
	K("TWILIO_PHONE_NUMBER", T_E164, NULL, 0, "Twilio caller number, E.164"),
	K("VONAGE_API_KEY", T_TOKEN, NULL, 0, "Vonage API key"),
	K("VONAGE_API_SECRET", T_TOKEN, NULL, SECRET, "Vonage API secret"),
	K("VONAGE_APPLICATION_ID", T_TOKEN, NULL, 0, "Vonage application id"),
	K("VONAGE_PRIVATE_KEY_PATH", T_PATH, NULL, 0,
	  "Vonage application private key (PEM file)"),
	K("VONAGE_PHONE_NUMBER", T_PHONE, NULL, 0, "Vonage caller number"),
	K("VONAGE_SIGNATURE_SECRET", T_TOKEN, NULL, SECRET,
	  "Vonage signed-webhook secret"),
	K("HUME_API_KEY", T_TOKEN, NULL, SECRET, "Hume API key"),
	K("HUME_SECRET_KEY", T_TOKEN, NULL, SECRET, "Hume secret key"),
	K("HUME_CONFIG_ID", T_TOKEN, NULL, 0, "Hume EVI configuration id"),
	K("PUBLIC_BASE_URL", T_HTTP_URL, "http://127.0.0.1:8080", 0,
	  "URL the providers reach evb-ingress at"),
	K("DATABASE_URL", T_PGCONN, NULL, SECRET,
	  "PostgreSQL conninfo or postgres:// URI"),
	K("EVB_LISTEN", T_HOSTPORT, "127.0.0.1:8080", 0,
	  "address evb-ingress listens on"),
	K("EVB_API_LISTEN", T_HOSTPORT, "127.0.0.1:8081", 0,
	  "address evb-api listens on"),
	K("EVB_RUN_DIR", T_PATH, "./var/run", 0, "directory for sockets and spool"),
	K("EVB_API_TOKEN", T_TOKEN, NULL, SECRET, "bearer token for evb-api"),
	K("EVB_MEDIA_SECRET", T_TOKEN, NULL, SECRET,
	  "server secret for per-call media tokens"),
	K("HUME_EVI_URL", T_WS_URL, "wss://api.hume.ai/v0/evi/chat", 0,
	  "Hume EVI WebSocket URL"),
	K("HUME_API_BASE", T_HTTP_URL, "https://api.hume.ai", 0, "Hume REST base URL"),
	K("TWILIO_API_BASE", T_HTTP_URL, "https://api.twilio.com", 0,
	  "Twilio REST base URL"),
	K("VONAGE_API_BASE", T_HTTP_URL, "https://api.nexmo.com", 0,
	  "Vonage REST base URL"),
	K("EVB_CA_FILE", T_PATH, NULL, 0, "extra trusted CA bundle (PEM)"),
	K("EVB_TLS_CERT", T_PATH, NULL, 0, "TLS certificate chain to serve (PEM)"),
	K("EVB_TLS_KEY", T_PATH, NULL, 0, "TLS private key to serve (PEM)"),
	KR("EVB_DRAIN_S", T_INT, "30", 0, 3600,
	   "seconds to let calls finish on shutdown"),
	KC("EVB_LOG_LEVEL", T_ENUM, "info", "err|warning|info|debug", NULL,
	   "lowest level logged"),
	KR("EVB_RESAMPLE_QUALITY", T_INT, "5", 0, 10, "speexdsp resampler quality"),
	KC("EVB_HUME_RATE", T_INT, "0", "0|8000|16000|24000|44100|48000",
	   "0 (the provider's own rate) or one of 8000|16000|24000|44100|48000",
	   "sample rate sent to Hume, 0 = the provider's"),
	KR("EVB_GAIN", T_FLOAT, "1.0", 0.1, 10, "gain applied to caller audio"),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct { const char *alias, *name; } aliases[] = {
	{ "HUME_AI_API_KEY", "HUME_API_KEY" },
};

#define N_ALIASES (sizeof(aliases) / sizeof(aliases[0]))

struct evb_cfg {
	char *val[N_KEYS];
};

#define NAME_MAX_LEN 64

static int cfg_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return EVB_ECONFIG;
}

/* Copies s for an error message: at most 80 bytes, control bytes as \xNN. */
static const char *shown(char *out, size_t cap, const char *s, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 8 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i >= 80) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f) {
			snprintf(out + o, cap - o, "\\x%02x", ch);
			o += 4;
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	return out;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_alnum(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Normalises name[0..len) into out: uppercase, '-' to '_'. Returns -1 if it
 * is empty, too long or holds a byte other than [A-Za-z0-9_-]. */
static int normalise(const char *name, size_t len, char out[NAME_MAX_LEN])
{
	if (len == 0 || len >= NAME_MAX_LEN)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (ch == '-')
			ch = '_';
		else if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		else if (!is_alnum(ch) && ch != '_')
			return -1;
		out[i] = ch;
	}
	out[len] = '\0';
	return 0;
}

/* Returns the index of the key name[0..len) stands for, aliases followed, or
 * -1. *is_alias tells whether an alias was used (may be NULL). */
static int lookup_n(const char *name, size_t len, int *is_alias)
{
	char n[NAME_MAX_LEN];
	const char *want;
	size_t i;

	if (is_alias)
		*is_alias = 0;
	if (!name || normalise(name, len, n) < 0)
		return -1;
	want = n;
	for (i = 0; i < N_ALIASES; i++)
		if (strcmp(n, aliases[i].alias) == 0) {
			want = aliases[i].name;
			if (is_alias)
				*is_alias = 1;
			break;
		}
	for (i = 0; i < N_KEYS; i++)
		if (strcmp(want, keys[i].name) == 0)
			return (int)i;
	return -1;
}

static int lookup(const char *name)
{
	return name ? lookup_n(name, strlen(name), NULL) : -1;
}

struct evb_cfg *evb_cfg_new(void)
{
	return calloc(1, sizeof(struct evb_cfg));
}

void evb_cfg_free(struct evb_cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < N_KEYS; i++)
		free(c->val[i]);
	free(c);
}

/* Sets key k to value[0..len); an empty value unsets it. */
static int set_index(struct evb_cfg *c, int k, const char *value, size_t len,
		     char *err, size_t errlen)
{
	char *v = NULL;

	if (len > EVB_CFG_LINE_MAX)
		return cfg_err(err, errlen, "%s: value longer than %d bytes",
			       keys[k].name, EVB_CFG_LINE_MAX);
	if (len) {
		v = malloc(len + 1);
		if (!v)
			return cfg_err(err, errlen, "%s: %s", keys[k].name, strerror(ENOMEM));
		memcpy(v, value, len);
		v[len] = '\0';
	}
	free(c->val[k]);
	c->val[k] = v;
	return 0;
}

static int unknown_key(const char *name, size_t len, char *err, size_t errlen)
{
	char buf[NAME_MAX_LEN];
	char s[100];

	/* Only echo what looks like a name: a stray secret must not leak. */
	if (len < NAME_MAX_LEN && normalise(name, len, buf) == 0)
		return cfg_err(err, errlen, "unknown configuration key '%s'",
			       shown(s, sizeof(s), name, len));
	return cfg_err(err, errlen, "invalid configuration key name (expected letters, "
		       "digits, '_' or '-')");
}

int evb_cfg_set(struct evb_cfg *c, const char *key, const char *value,
		char *err, size_t errlen)
{
	int k = lookup(key);

	if (k < 0)
		return unknown_key(key ? key : "", key ? strlen(key) : 0, err, errlen);
	return set_index(c, k, value ? value : "", value ? strlen(value) : 0, err, errlen);
}

const char *evb_cfg_get(const struct evb_cfg *c, const char *key)
{
	int k = lookup(key);

	if (k < 0)
		return NULL;
	if (c && c->val[k])
		return c->val[k];
	return keys[k].dflt;
}

static int parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || !(is_digit(s[0]) || (s[0] == '-' && is_digit(s[1]))))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || strspn(s, "0123456789.eE+-") != strlen(s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

long evb_cfg_get_int(const struct evb_cfg *c, const char *key, long dflt)
{
	long v;

	return parse_long(evb_cfg_get(c, key), &v) == 0 ? v : dflt;
}

double evb_cfg_get_double(const struct evb_cfg *c, const char *key, double dflt)
{
	double v;

	return parse_double(evb_cfg_get(c, key), &v) == 0 ? v : dflt;
}

int evb_cfg_is_key(const char *name)
{
	return lookup(name) >= 0;
}

int evb_cfg_is_secret(const char *key)
{
	int k = lookup(key);

	return k >= 0 && keys[k].secret;
}

const char *evb_cfg_key_at(size_t i)
{
	return i < N_KEYS ? keys[i].name : NULL;
}

const char *evb_cfg_doc(const char *key)
{
	int k = lookup(key);

	return k >= 0 ? keys[k].doc : NULL;
}

/* ---- KEY=value files ---- */

int evb_cfg_load_buf(struct evb_cfg *c, const char *buf, size_t len,
		     const char *name, char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned line = 0;

	if (!name)
		name = "(config)";
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* UTF-8 byte order mark */
	while (pos < len) {
		const char *p = buf + pos, *nl, *e, *eq, *ks, *ke, *v, *ve;
		size_t n;
		int k, alias;

		line++;
		nl = memchr(p, '\n', len - pos);
		n = nl ? (size_t)(nl - p) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (n && p[n - 1] == '\r')
			n--;
		if (n > EVB_CFG_LINE_MAX)
			return cfg_err(err, errlen, "%s:%u: line longer than %d bytes",
				       name, line, EVB_CFG_LINE_MAX);
		if (memchr(p, '\0', n))
			return cfg_err(err, errlen, "%s:%u: NUL byte in line", name, line);
		e = p + n;
		while (p < e && is_blank(*p))
			p++;
		if (p == e || *p == '#')
			continue;
		if (e - p > 7 && memcmp(p, "export", 6) == 0 && is_blank(p[6])) {
			p += 7;
			while (p < e && is_blank(*p))
				p++;
		}
		eq = memchr(p, '=', (size_t)(e - p));
		if (!eq)
			return cfg_err(err, errlen, "%s:%u: missing '=' (expected KEY=value)",
				       name, line);
		ks = p;
		ke = eq;
		while (ke > ks && is_blank(ke[-1]))
			ke--;
		if (ke == ks)
			return cfg_err(err, errlen, "%s:%u: missing key before '='", name, line);
		k = lookup_n(ks, (size_t)(ke - ks), &alias);
		if (k < 0) {
			int off = snprintf(err, errlen, "%s:%u: ", name, line);
			if (off < 0 || (size_t)off >= errlen)
				return EVB_ECONFIG;
			return unknown_key(ks, (size_t)(ke - ks), err + off, errlen - (size_t)off);
		}
		v = eq + 1;
		while (v < e && is_blank(*v))
			v++;
		if (v < e && (*v == '"' || *v == '\'')) {
			const char *q = memchr(v + 1, *v, (size_t)(e - v - 1)), *t;
			if (!q)
				return cfg_err(err, errlen, "%s:%u: %s: missing closing quote",
					       name, line, keys[k].name);
			for (t = q + 1; t < e && is_blank(*t); t++)
				;
			if (t < e && *t != '#')
				return cfg_err(err, errlen,
					       "%s:%u: %s: unexpected text after the closing quote",
					       name, line, keys[k].name);
			v++;
			ve = q;
		} else {
			for (ve = v; ve < e; ve++)
				if (*ve == '#' && ve > v && is_blank(ve[-1]))
					break;
			while (ve > v && is_blank(ve[-1]))
				ve--;
		}
		if (set_index(c, k, v, (size_t)(ve - v), err, errlen) < 0)
			return EVB_ECONFIG;
	}
	return 0;
}

int evb_cfg_load_file(struct evb_cfg *c, const char *path, int must_exist,
		      char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return cfg_err(err, errlen, "unable to open config file '%s': %s",
			       path, strerror(errno));
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		r = cfg_err(err, errlen, "unable to read config file '%s': %s",
			    path, strerror(EISDIR));
		goto fail;
	}
	for (;;) {
		ssize_t got;
		if (len == cap) {
			char *nb;
			if (cap >= EVB_CFG_FILE_MAX) {
				r = cfg_err(err, errlen, "config file '%s' is larger than %d bytes",
					    path, EVB_CFG_FILE_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 4096;
			if (cap > EVB_CFG_FILE_MAX)
				cap = EVB_CFG_FILE_MAX;
			nb = realloc(buf, cap + 1); /* one more to see the cap exceeded */
			if (!nb) {
				r = cfg_err(err, errlen, "unable to read config file '%s': %s",
					    path, strerror(ENOMEM));
				goto fail;
			}
			buf = nb;
		}
		got = read(fd, buf + len, cap + (cap == EVB_CFG_FILE_MAX) - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = cfg_err(err, errlen, "unable to read config file '%s': %s",
				    path, strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > EVB_CFG_FILE_MAX) {
			r = cfg_err(err, errlen, "config file '%s' is larger than %d bytes",
				    path, EVB_CFG_FILE_MAX);
			goto fail;
		}
	}
	r = evb_cfg_load_buf(c, buf ? buf : "", len, path, err, errlen);
fail:
	free(buf);
	close(fd);
	return r;
}

int evb_cfg_load_env(struct evb_cfg *c, char **envp, char *err, size_t errlen)
{
	if (!envp)
		envp = environ;
	/* Two passes: aliases, then real names, so the real name wins. */
	for (int pass = 0; pass < 2; pass++) {
		for (char **e = envp; *e; e++) {
			const char *eq = strchr(*e, '=');
			size_t nlen;
			int k = -1;

			if (!eq || !eq[1])
				continue;
			nlen = (size_t)(eq - *e);
			if (pass == 0) {
				for (size_t i = 0; i < N_ALIASES; i++)
					if (strlen(aliases[i].alias) == nlen &&
					    memcmp(*e, aliases[i].alias, nlen) == 0)
						k = lookup(aliases[i].name);
			} else {
				for (size_t i = 0; i < N_KEYS; i++)
					if (strlen(keys[i].name) == nlen &&
					    memcmp(*e, keys[i].name, nlen) == 0)
						k = (int)i;
			}
			if (k >= 0 && set_index(c, k, eq + 1, strlen(eq + 1), err, errlen) < 0)
				return EVB_ECONFIG;
		}
	}
	return 0;
}

/* ---- format checks ---- */

static int check_token(const char *v)
{
	if (!*v)
		return -1;
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || *v == 0x7f)
			return -1;
	return 0;
}

static int check_choice(const char *v, const char *choices)
{
	size_t n = strlen(v);

	for (const char *p = choices; p; p = strchr(p, '|'), p = p ? p + 1 : NULL) {
		size_t m = strcspn(p, "|");
		if (m == n && memcmp(p, v, n) == 0)
			return 0;
	}
	return -1;
}

static int check_digits(const char *v, int plus)
{
	size_t n;

	if (*v == '+')
		v++;
	else if (plus == 2)
		return -1;
	n = strlen(v);
	if (n < 7 || n > 15 || strspn(v, "0123456789") != n)
		return -1;
	return plus == 2 && *v == '0' ? -1 : 0;
}

static int check_path(const char *v)
{
	if (!*v || strlen(v) >= 4096)
		return -1;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return -1;
	return 0;
}

/* Port: 1-5 digits up to 65535, 0 only when zero_ok. */
static int check_port(const char *p, size_t n, int zero_ok)
{
	long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v > 65535 || (v == 0 && !zero_ok) ? -1 : 0;
}

static int check_ipv6(const char *p, size_t n)
{
	char buf[64];
	struct in6_addr a;
	const char *pct = memchr(p, '%', n);

	if (pct) { /* zone: fe80::1%eth0 */
		size_t z = n - (size_t)(pct - p) - 1;
		if (z == 0)
			return -1;
		for (size_t i = 1; i <= z; i++)
			if (!is_alnum(pct[i]) && pct[i] != '_' && pct[i] != '-' && pct[i] != '.')
				return -1;
		n = (size_t)(pct - p);
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1 ? 0 : -1;
}

/* A host name or dotted IPv4 address. */
static int check_hostname(const char *p, size_t n)
{
	size_t label = 0, i;
	int numeric = 1;

	if (n && p[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return -1;
	for (i = 0; i < n; i++) {
		char ch = p[i];
		if (ch == '.') {
			if (label == 0 || p[i - 1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!is_alnum(ch) && ch != '-' && ch != '_')
			return -1;
		if (label == 0 && ch == '-')
			return -1;
		if (!is_digit(ch))
			numeric = 0;
		if (++label > 63)
			return -1;
	}
	if (p[n - 1] == '-')
		return -1;
	if (numeric) {
		char buf[16];
		struct in_addr a;
		if (n >= sizeof(buf))
			return -1;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return inet_pton(AF_INET, buf, &a) == 1 ? 0 : -1;
	}
	return 0;
}

/* host[:port] or [v6][:port] in p[0..n); port required when need_port. */
static int check_authority(const char *p, size_t n, int need_port, int zero_port)
{
	const char *colon;

	if (n && p[0] == '[') {
		const char *rb = memchr(p, ']', n);
		if (!rb || check_ipv6(p + 1, (size_t)(rb - p - 1)) < 0)
			return -1;
		colon = rb + 1;
		if (colon == p + n)
			return need_port ? -1 : 0;
		if (*colon != ':')
			return -1;
	} else {
		colon = memchr(p, ':', n);
		if (!colon)
			return need_port ? -1 : check_hostname(p, n);
		if (check_hostname(p, (size_t)(colon - p)) < 0)
			return -1;
	}
	return check_port(colon + 1, n - (size_t)(colon + 1 - p), zero_port);
}

static int starts_with_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static const char d_creds[] = "credentials are not allowed in the URL (value not shown)";

/* scheme://authority[/path][?query]; *detail set for a special message. */
static int check_url(const char *v, int ws, const char **detail)
{
	const char *a, *end;
	size_t n;

	if (ws ? starts_with_ci(v, "wss://") : starts_with_ci(v, "https://"))
		a = v + (ws ? 6 : 8);
	else if (ws ? starts_with_ci(v, "ws://") : starts_with_ci(v, "http://"))
		a = v + (ws ? 5 : 7);
	else
		return -1;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return -1;
	n = strcspn(a, "/?#");
	if (memchr(a, '@', n)) {
		*detail = d_creds;
		return -1;
	}
	if (check_authority(a, n, 0, 0) < 0)
		return -1;
	end = a + n;
	if (strchr(end, '#'))
		return -1;
	if (!ws && strchr(end, '?'))
		return -1;
	return 0;
}

/* libpq "key=value key='quoted value'" or a postgres:// URI. */
static int check_pgconn(const char *v)
{
	const char *p = v;

	if (starts_with_ci(v, "postgresql://") || starts_with_ci(v, "postgres://"))
		return check_token(v);
	for (const char *q = v; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return -1;
	while (is_blank(*p))
		p++;
	if (!*p)
		return -1;
	while (*p) {
		const char *k = p;
		while ((*p >= 'a' && *p <= 'z') || *p == '_')
			p++;
		if (p == k)
			return -1;
		while (is_blank(*p))
			p++;
		if (*p++ != '=')
			return -1;
		while (is_blank(*p))
			p++;
		if (*p == '\'') {
			for (p++; *p != '\''; p++) {
				if (!*p)
					return -1;
				if (*p == '\\' && p[1])
					p++;
			}
			p++;
		} else {
			while (*p && !is_blank(*p))
				p++;
		}
		if (*p && !is_blank(*p))
			return -1;
		while (is_blank(*p))
			p++;
	}
	return 0;
}

static int check_value(const struct cfg_key *k, const char *v, const char **detail)
{
	long l;
	double d;

	switch (k->type) {
	case T_TOKEN:
		return check_token(v);
	case T_ENUM:
		return check_choice(v, k->choices);
	case T_E164:
		return check_digits(v, 2);
	case T_PHONE:
		return check_digits(v, 1);
	case T_PATH:
		return check_path(v);
	case T_HTTP_URL:
		return check_url(v, 0, detail);
	case T_WS_URL:
		return check_url(v, 1, detail);
	case T_HOSTPORT:
		if (strchr(v, ':') == strrchr(v, ':') || v[0] == '[')
			return check_authority(v, strlen(v), 1, 1);
		*detail = "an IPv6 address needs brackets: [addr]:port";
		return -1;
	case T_INT:
		if (parse_long(v, &l) < 0)
			return -1;
		if (k->choices)
			return check_choice(v, k->choices);
		return l < k->min || l > k->max ? -1 : 0;
	case T_FLOAT:
		if (parse_double(v, &d) < 0)
			return -1;
		return d < k->min || d > k->max ? -1 : 0;
	case T_PGCONN:
		return check_pgconn(v);
	}
	return -1;
}

static const char *expected(const struct cfg_key *k, char *buf, size_t cap)
{
	if (k->expect)
		return k->expect;
	switch (k->type) {
	case T_TOKEN: return "a value without spaces or control characters";
	case T_ENUM:
		snprintf(buf, cap, "one of %s", k->choices);
		return buf;
	case T_E164: return "an E.164 number: '+' and 7 to 15 digits";
	case T_PHONE: return "a phone number: 7 to 15 digits, optionally after '+'";
	case T_PATH: return "a file path without control characters";
	case T_HTTP_URL: return "an http:// or https:// URL without query or fragment";
	case T_WS_URL: return "a ws:// or wss:// URL";
	case T_HOSTPORT: return "host:port (IPv4:port, [IPv6]:port or name:port)";
	case T_INT:
		if (k->choices)
			snprintf(buf, cap, "one of %s", k->choices);
		else
			snprintf(buf, cap, "an integer from %g to %g", k->min, k->max);
		return buf;
	case T_FLOAT:
		snprintf(buf, cap, "a number from %g to %g", k->min, k->max);
		return buf;
	case T_PGCONN: return "a libpq conninfo (key=value ...) or a postgres:// URI";
	}
	return "a valid value";
}

int evb_cfg_validate(const struct evb_cfg *c, char *err, size_t errlen)
{
	char buf[128], s[100];
	int cert, key;
	const char *l, *a;

	for (size_t i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &keys[i];
		const char *v = c->val[i], *detail = NULL;
		if (!v || check_value(k, v, &detail) == 0)
			continue;
		if (detail && (k->secret || detail == d_creds))
			return cfg_err(err, errlen, "%s: %s", k->name, detail);
		if (detail)
			return cfg_err(err, errlen, "%s: %s, got '%s'", k->name, detail,
				       shown(s, sizeof(s), v, strlen(v)));
		if (k->secret)
			return cfg_err(err, errlen, "%s: expected %s (value not shown)",
				       k->name, expected(k, buf, sizeof(buf)));
		return cfg_err(err, errlen, "%s: expected %s, got '%s'", k->name,
			       expected(k, buf, sizeof(buf)), shown(s, sizeof(s), v, strlen(v)));
	}
	cert = lookup("EVB_TLS_CERT");
	key = lookup("EVB_TLS_KEY");
	if (!c->val[cert] != !c->val[key])
		return cfg_err(err, errlen, "%s: required when %s is set",
			       keys[c->val[cert] ? key : cert].name,
			       keys[c->val[cert] ? cert : key].name);
	l = evb_cfg_get(c, "EVB_LISTEN");
	a = evb_cfg_get(c, "EVB_API_LISTEN");
	/* Port 0 (ephemeral, for tests) may repeat. */
	if (l && a && strcmp(l, a) == 0 && strrchr(l, ':') &&
	    strcmp(strrchr(l, ':'), ":0") != 0)
		return cfg_err(err, errlen, "EVB_API_LISTEN: must differ from EVB_LISTEN, "
			       "got '%s' for both", shown(s, sizeof(s), l, strlen(l)));
	return 0;
}

int evb_cfg_require(const struct evb_cfg *c, char *err, size_t errlen, ...)
{
	va_list ap;
	const char *key;
	int r = 0;

	va_start(ap, errlen);
	while ((key = va_arg(ap, const char *))) {
		if (lookup(key) < 0) {
			r = unknown_key(key, strlen(key), err, errlen);
			break;
		}
		if (!evb_cfg_get(c, key)) {
			r = cfg_err(err, errlen, "missing required key '%s'",
				    keys[lookup(key)].name);
			break;
		}
	}
	va_end(ap);
	return r;
}

void evb_cfg_dump(const struct evb_cfg *c, FILE *out)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const char *v = c->val[i] ? c->val[i] : keys[i].dflt;
		if (!v)
			v = "";
		else if (keys[i].secret)
			v = "(set)";
		if (v[strcspn(v, " \t#'\"")] == '\0')
			fprintf(out, "%s=%s\n", keys[i].name, v);
		else if (!strchr(v, '\''))
			fprintf(out, "%s='%s'\n", keys[i].name, v);
		else
			fprintf(out, "%s=\"%s\"\n", keys[i].name, v);
	}
}

/* ---- command line ---- */

static int is_config_opt(const char *a)
{
	return strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0;
}

int evb_cfg_from_argv(struct evb_cfg *c, int *argc, char **argv,
		      char *err, size_t errlen)
{
	const char *conf = NULL;
	int n = *argc, end = n, i, j, r;

	/* Pass 1: find the file and where options end. */
	for (i = 1; i < n; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			end = i;
			break;
		}
		if (is_config_opt(a)) {
			if (i + 1 >= n)
				return cfg_err(err, errlen, "option '%s' requires a file name", a);
			conf = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			conf = a + 9;
		}
		if (conf && !*conf)
			return cfg_err(err, errlen, "option '--config' requires a file name");
	}
	r = conf ? evb_cfg_load_file(c, conf, 1, err, errlen)
		 : evb_cfg_load_file(c, EVB_CFG_DEFAULT_FILE, 0, err, errlen);
	if (r < 0)
		return r;
	if (evb_cfg_load_env(c, NULL, err, errlen) < 0)
		return EVB_ECONFIG;
	/* Pass 2: apply --KEY=value in order. */
	for (i = 1; i < end; i++) {
		const char *a = argv[i], *name, *eq;
		size_t nlen;
		int k;
		if (is_config_opt(a)) {
			i++;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || strncmp(a, "--config=", 9) == 0)
			continue;
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		k = lookup_n(name, nlen, NULL);
		if (k < 0)
			continue;
		if (keys[k].secret)
			return cfg_err(err, errlen, "%s: secrets are not accepted on the command "
				       "line; use the environment or the config file",
				       keys[k].name);
		if (!eq)
			return cfg_err(err, errlen, "option '--%.*s' needs a value: --%.*s=VALUE",
				       (int)nlen, name, (int)nlen, name);
		if (set_index(c, k, eq + 1, strlen(eq + 1), err, errlen) < 0)
			return EVB_ECONFIG;
	}
	if (evb_cfg_validate(c, err, errlen) < 0)
		return EVB_ECONFIG;
	/* Pass 3: nothing can fail now; drop what was consumed. */
	for (i = j = 1; i < n; i++) {
		const char *a = argv[i];
		if (i < end) {
			if (is_config_opt(a)) {
				i++;
				continue;
			}
			if (strncmp(a, "--config=", 9) == 0)
				continue;
			if (strncmp(a, "--", 2) == 0) {
				const char *eq = strchr(a + 2, '=');
				if (eq && lookup_n(a + 2, (size_t)(eq - a - 2), NULL) >= 0)
					continue;
			}
		}
		argv[j++] = argv[i];
	}
	if (n > 0) {
		argv[j] = NULL;
		*argc = j;
	}
	return 0;
}
