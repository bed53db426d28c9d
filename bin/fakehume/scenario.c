/* Scenario files: what evb-fakehume replies and when it misbehaves. One
 * directive per line, '#' starts a comment (docs/hume.md):
 *
 *   reply N|* TEXT...          delay N|* MS          transcript N|* TEXT...
 *   at open C [+MS] ACTION     at turn N [+MS] ACTION     at reply N [+MS] ACTION
 *
 * ACTION: drop | close CODE [REASON] | error CODE SLUG [MESSAGE] | hang_up |
 * tool NAME [JSON] | send JSON | send-raw TEXT | send-big KIB | say TEXT |
 * interrupt */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_wav.h"
#include "fakehume.h"

#define SC_MAX_FILE (1u << 20)
#define SC_MAX_LINES 1000

enum { R_REPLY, R_DELAY, R_TRANSCRIPT };

struct rule {
	int kind;
	int n; /* 0 for '*' */
	char *text;
	unsigned ms;
};

struct fh_scenario {
	struct rule *rules;
	size_t nrules;
	struct fh_action *acts;
	size_t nacts;
};

void fh_scenario_free(struct fh_scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nrules; i++)
		free(sc->rules[i].text);
	for (size_t i = 0; i < sc->nacts; i++) {
		free(sc->acts[i].a);
		free(sc->acts[i].b);
		free(sc->acts[i].c);
	}
	free(sc->rules);
	free(sc->acts);
	free(sc);
}

/* The next blank-separated word of *p (NUL-terminated in place), or NULL. */
static char *word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

/* The rest of the line without leading blanks; "" at the end. */
static char *rest(char **p)
{
	char *s = *p;

	while (*s == ' ' || *s == '\t')
		s++;
	*p = s + strlen(s);
	return s;
}

static int number(const char *w, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!w || !*w)
		return -1;
	errno = 0;
	v = strtol(w, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static int parse_action(char *p, struct fh_action *a, char *err, size_t errlen)
{
	char *w = word(&p), *x;
	long v;

	if (!w)
		return snprintf(err, errlen, "an action is missing"), -1;
	if (strcmp(w, "drop") == 0) {
		a->act = FH_DROP;
	} else if (strcmp(w, "close") == 0) {
		a->act = FH_CLOSE;
		if (number(word(&p), 1000, 4999, &v) < 0)
			return snprintf(err, errlen, "close: expected a code 1000-4999"), -1;
		a->num = v;
		a->a = dup_or_null(rest(&p));
	} else if (strcmp(w, "error") == 0) {
		char *code = word(&p), *slug = word(&p);
		if (!code || !slug)
			return snprintf(err, errlen, "error: expected CODE SLUG [MESSAGE]"), -1;
		a->act = FH_ERROR;
		a->a = strdup(code);
		a->b = strdup(slug);
		a->c = dup_or_null(rest(&p));
	} else if (strcmp(w, "hang_up") == 0) {
		a->act = FH_HANG_UP;
	} else if (strcmp(w, "tool") == 0) {
		if (!(x = word(&p)))
			return snprintf(err, errlen, "tool: expected a name"), -1;
		a->act = FH_TOOL;
		a->a = strdup(x);
		a->b = dup_or_null(rest(&p));
		if (a->b) {
			json_t *j = json_loads(a->b, 0, NULL);
			if (!j)
				return snprintf(err, errlen, "tool: parameters are not JSON"), -1;
			json_decref(j);
		}
	} else if (strcmp(w, "send") == 0 || strcmp(w, "send-raw") == 0 ||
		   strcmp(w, "say") == 0) {
		a->act = w[1] == 'a' ? FH_SAY : strcmp(w, "send") == 0 ? FH_SEND : FH_SEND_RAW;
		if (!(a->a = dup_or_null(rest(&p))))
			return snprintf(err, errlen, "%s: expected text", w), -1;
	} else if (strcmp(w, "send-big") == 0) {
		a->act = FH_SEND_BIG;
		if (number(word(&p), 1, 65536, &v) < 0)
			return snprintf(err, errlen, "send-big: expected KiB 1-65536"), -1;
		a->num = v;
	} else if (strcmp(w, "interrupt") == 0) {
		a->act = FH_INTERRUPT;
	} else {
		return snprintf(err, errlen, "unknown action '%.32s'", w), -1;
	}
	if (a->act != FH_CLOSE && a->act != FH_ERROR && a->act != FH_TOOL && a->act != FH_SEND &&
	    a->act != FH_SEND_RAW && a->act != FH_SAY && (x = word(&p)))
		return snprintf(err, errlen, "unexpected '%.32s'", x), -1;
	return 0;
}

static int parse_line(struct fh_scenario *sc, char *p, char *err, size_t errlen)
{
	char *w = word(&p), *x;
	long v;

	if (!w)
		return 0;
	if (strcmp(w, "reply") == 0 || strcmp(w, "delay") == 0 || strcmp(w, "transcript") == 0) {
		struct rule r = { .kind = w[0] == 'r' ? R_REPLY : w[0] == 'd' ? R_DELAY
									: R_TRANSCRIPT };
		struct rule *n;
		x = word(&p);
		if (x && strcmp(x, "*") == 0)
			r.n = 0;
		else if (number(x, 0, 1000000, &v) == 0)
			r.n = (int)v;
		else
			return snprintf(err, errlen, "%s: expected a turn number or '*'", w), -1;
		if (r.kind == R_DELAY) {
			if (number(word(&p), 0, 600000, &v) < 0)
				return snprintf(err, errlen, "delay: expected milliseconds"), -1;
			r.ms = (unsigned)v;
		} else if (!(r.text = dup_or_null(rest(&p)))) {
			return snprintf(err, errlen, "%s: expected text", w), -1;
		}
		n = realloc(sc->rules, (sc->nrules + 1) * sizeof(*n));
		if (!n) {
			free(r.text);
			return snprintf(err, errlen, "out of memory"), -1;
		}
		sc->rules = n;
		sc->rules[sc->nrules++] = r;
		return 0;
	}
	if (strcmp(w, "at") == 0) {
		struct fh_action a = { 0 }, *n;
		x = word(&p);
		if (x && strcmp(x, "open") == 0)
			a.trigger = FH_AT_OPEN;
		else if (x && strcmp(x, "turn") == 0)
			a.trigger = FH_AT_TURN;
		else if (x && strcmp(x, "reply") == 0)
			a.trigger = FH_AT_REPLY;
		else
			return snprintf(err, errlen, "at: expected open, turn or reply"), -1;
		if (number(word(&p), 0, 1000000, &v) < 0)
			return snprintf(err, errlen, "at %s: expected a number", x), -1;
		a.n = (int)v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '+') {
			p++;
			if (number(word(&p), 0, 3600000, &v) < 0)
				return snprintf(err, errlen, "at: expected +MILLISECONDS"), -1;
			a.after_ms = (unsigned)v;
		}
		if (parse_action(p, &a, err, errlen) < 0) {
			free(a.a);
			free(a.b);
			free(a.c);
			return -1;
		}
		n = realloc(sc->acts, (sc->nacts + 1) * sizeof(*n));
		if (!n) {
			free(a.a);
			free(a.b);
			free(a.c);
			return snprintf(err, errlen, "out of memory"), -1;
		}
		sc->acts = n;
		sc->acts[sc->nacts++] = a;
		return 0;
	}
	return snprintf(err, errlen, "unknown directive '%.32s'", w), -1;
}

struct fh_scenario *fh_scenario_load(const char *path, char *err, size_t errlen)
{
	struct fh_scenario *sc = calloc(1, sizeof(*sc));
	uint8_t *buf = NULL;
	size_t len = 0, lineno = 0;
	char *p, *nl, msg[200];
	int e;

	if (!sc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!path)
		return sc;
	if ((e = evb_file_read(path, SC_MAX_FILE, &buf, &len)) < 0) {
		snprintf(err, errlen, "unable to read scenario '%s': %s", path, strerror(-e));
		free(sc);
		return NULL;
	}
	if (memchr(buf, '\0', len)) {
		snprintf(err, errlen, "%s: not a text file", path);
		goto fail;
	}
	if (!(p = malloc(len + 1))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(p, buf, len);
	p[len] = '\0';
	free(buf);
	buf = (uint8_t *)p;
	for (; *p; p = nl) {
		char *hash;
		nl = p + strcspn(p, "\n");
		if (*nl)
			*nl++ = '\0';
		lineno++;
		if (lineno > SC_MAX_LINES) {
			snprintf(err, errlen, "%s: more than %d lines", path, SC_MAX_LINES);
			goto fail;
		}
		p[strcspn(p, "\r")] = '\0';
		/* '#' starts a comment only at the start of a word: JSON may hold '#'. */
		for (hash = p; (hash = strchr(hash, '#')); hash++)
			if (hash == p || hash[-1] == ' ' || hash[-1] == '\t') {
				*hash = '\0';
				break;
			}
		if (parse_line(sc, p, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, msg);
			goto fail;
		}
	}
	free(buf);
	return sc;
fail:
	free(buf);
	fh_scenario_free(sc);
	return NULL;
}

static const struct rule *find(const struct fh_scenario *sc, int kind, int n)
{
	const struct rule *any = NULL;

	for (size_t i = 0; i < sc->nrules; i++) {
		if (sc->rules[i].kind != kind)
			continue;
		if (sc->rules[i].n == n)
			return &sc->rules[i];
		if (sc->rules[i].n == 0 && !any)
			any = &sc->rules[i];
	}
	return any;
}

const char *fh_scenario_reply(const struct fh_scenario *sc, int n, char *out, size_t cap,
			      double seconds)
{
	const struct rule *r = find(sc, R_REPLY, n);

	if (r)
		return r->text;
	snprintf(out, cap, "I heard you for %.1f seconds. This is reply %d.", seconds, n);
	return out;
}

unsigned fh_scenario_delay(const struct fh_scenario *sc, int n)
{
	const struct rule *r = find(sc, R_DELAY, n);
	return r ? r->ms : 0;
}

const char *fh_scenario_transcript(const struct fh_scenario *sc, int n, char *out, size_t cap,
				   double seconds)
{
	const struct rule *r = find(sc, R_TRANSCRIPT, n);

	if (r)
		return r->text;
	snprintf(out, cap, "caller turn %d, %.1f seconds", n, seconds);
	return out;
}

size_t fh_scenario_count(const struct fh_scenario *sc)
{
	return sc->nacts;
}

const struct fh_action *fh_scenario_action(const struct fh_scenario *sc, size_t i)
{
	return i < sc->nacts ? &sc->acts[i] : NULL;
}
