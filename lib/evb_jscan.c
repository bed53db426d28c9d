/* A pull scanner over JSON text (see evb_jscan.h). One state says what
 * may come next; a small stack says whether each open container is an
 * object or an array. Strings are checked with a byte-class table: plain
 * ASCII runs cost one lookup a byte. */
#include <string.h>

#include "evb_jscan.h"

enum {
	S_VALUE,          /* a value must come (top level, after ':' or an array's ',') */
	S_VALUE_OR_CLOSE, /* after '[' */
	S_KEY_OR_CLOSE,   /* after '{' */
	S_KEY,            /* after an object's ',' */
	S_NEXT,           /* after a value inside a container: ',' or the close */
	S_DONE,           /* the top-level value is complete */
	S_ERR,
};

/* 0 plain, 1 '"', 2 '\\', 3 control, 4 non-ASCII */
static uint8_t cls[256];
static int cls_ready;

static void cls_init(void)
{
	for (int c = 0; c < 256; c++)
		cls[c] = c < 0x20 ? 3 : c >= 0x80 ? 4 : 0;
	cls['"'] = 1;
	cls['\\'] = 2;
	cls_ready = 1;
}

void evb_jscan_init(struct evb_jscan *j, const void *data, size_t len)
{
	if (!cls_ready)
		cls_init();
	j->p = data;
	j->end = j->p + len;
	j->state = S_VALUE;
	j->depth = 0;
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct evb_jscan *j)
{
	while (j->p < j->end && is_space(*j->p))
		j->p++;
}

static int err(struct evb_jscan *j, struct evb_jtok *t)
{
	j->state = S_ERR;
	t->type = EVB_JT_ERR;
	t->s = NULL;
	t->len = 0;
	return EVB_JT_ERR;
}

static int hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Length of the UTF-8 sequence at p (n bytes left) when valid (no
 * overlongs, surrogates or code points past U+10FFFF), else 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	uint8_t lo = 0x80, hi = 0xbf;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need + 1 || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need + 1;
}

/* Scans a string whose opening quote is at j->p. */
static int string(struct evb_jscan *j, struct evb_jtok *t)
{
	const uint8_t *p = j->p + 1, *end = j->end;

	t->escaped = 0;
	t->s = (const char *)p;
	for (;;) {
		while (p < end && cls[*p] == 0)
			p++;
		if (p >= end)
			return -1;
		switch (cls[*p]) {
		case 1:
			t->len = (size_t)(p - (const uint8_t *)t->s);
			j->p = p + 1;
			return 0;
		case 2:
			t->escaped = 1;
			if (end - p < 2)
				return -1;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				break;
			case 'u':
				if (end - p < 6 || !hex(p[2]) || !hex(p[3]) || !hex(p[4]) || !hex(p[5]))
					return -1;
				p += 6;
				break;
			default:
				return -1;
			}
			break;
		case 3:
			return -1;
		default: {
			size_t n = utf8_len(p, (size_t)(end - p));

			if (!n)
				return -1;
			p += n;
		}
		}
	}
}

static int digits(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == *pp)
		return -1;
	*pp = p;
	return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(struct evb_jscan *j, struct evb_jtok *t)
{
	const uint8_t *p = j->p, *end = j->end;

	t->s = (const char *)p;
	if (*p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (digits(&p, end) < 0)
		return -1;
	if (p < end && *p == '.') {
		p++;
		if (digits(&p, end) < 0)
			return -1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (digits(&p, end) < 0)
			return -1;
	}
	t->len = (size_t)(p - j->p);
	j->p = p;
	return 0;
}

static int literal(struct evb_jscan *j, const char *word, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static void after_value(struct evb_jscan *j)
{
	j->state = j->depth ? S_NEXT : S_DONE;
}

static int push(struct evb_jscan *j, struct evb_jtok *t, int obj)
{
	if (j->depth == EVB_JSCAN_DEPTH)
		return err(j, t);
	j->stack[j->depth++] = (uint8_t)obj;
	j->p++;
	j->state = obj ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE;
	t->s = NULL;
	t->len = 0;
	return t->type = obj ? EVB_JT_OBJ : EVB_JT_ARR;
}

static int pop(struct evb_jscan *j, struct evb_jtok *t)
{
	int obj = j->stack[--j->depth];

	j->p++;
	after_value(j);
	t->s = NULL;
	t->len = 0;
	return t->type = obj ? EVB_JT_OBJ_END : EVB_JT_ARR_END;
}

static int value(struct evb_jscan *j, struct evb_jtok *t)
{
	uint8_t c = *j->p;
	int r = 0;

	t->escaped = 0;
	switch (c) {
	case '{':
		return push(j, t, 1);
	case '[':
		return push(j, t, 0);
	case '"':
		r = string(j, t);
		t->type = EVB_JT_STR;
		break;
	case 't':
		r = literal(j, "true", 4);
		t->type = EVB_JT_TRUE;
		break;
	case 'f':
		r = literal(j, "false", 5);
		t->type = EVB_JT_FALSE;
		break;
	case 'n':
		r = literal(j, "null", 4);
		t->type = EVB_JT_NULL;
		break;
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return err(j, t);
		r = number(j, t);
		t->type = EVB_JT_NUM;
	}
	if (r < 0)
		return err(j, t);
	if (t->type >= EVB_JT_TRUE) {
		t->s = (const char *)j->p - (t->type == EVB_JT_FALSE ? 5 : 4);
		t->len = t->type == EVB_JT_FALSE ? 5 : 4;
	}
	after_value(j);
	return t->type;
}

static int key(struct evb_jscan *j, struct evb_jtok *t)
{
	if (*j->p != '"' || string(j, t) < 0)
		return err(j, t);
	skip_space(j);
	if (j->p >= j->end || *j->p != ':')
		return err(j, t);
	j->p++;
	j->state = S_VALUE;
	return t->type = EVB_JT_KEY;
}

int evb_jscan_next(struct evb_jscan *j, struct evb_jtok *t)
{
	skip_space(j);
	if (j->state == S_ERR)
		return err(j, t);
	if (j->state == S_DONE) {
		if (j->p != j->end)
			return err(j, t);
		t->s = NULL;
		t->len = 0;
		return t->type = EVB_JT_EOF;
	}
	if (j->p >= j->end)
		return err(j, t);
	switch (j->state) {
	case S_NEXT:
		if (*j->p == (j->stack[j->depth - 1] ? '}' : ']'))
			return pop(j, t);
		if (*j->p != ',')
			return err(j, t);
		j->p++;
		skip_space(j);
		if (j->p >= j->end)
			return err(j, t);
		return j->stack[j->depth - 1] ? key(j, t) : value(j, t);
	case S_KEY_OR_CLOSE:
		if (*j->p == '}')
			return pop(j, t);
		return key(j, t);
	case S_KEY:
		return key(j, t);
	case S_VALUE_OR_CLOSE:
		if (*j->p == ']')
			return pop(j, t);
		return value(j, t);
	default:
		return value(j, t);
	}
}

int evb_jscan_skip_plain(struct evb_jscan *j, const struct evb_jtok *v)
{
	struct evb_jtok t = *v;
	int depth = j->depth - (v->type == EVB_JT_OBJ || v->type == EVB_JT_ARR);

	for (;;) {
		if (t.type == EVB_JT_ERR || t.escaped)
			return -1;
		if (t.type == EVB_JT_NUM &&
		    (t.len > 18 || memchr(t.s, 'e', t.len) || memchr(t.s, 'E', t.len)))
			return -1;
		if (j->depth == depth)
			return 0;
		evb_jscan_next(j, &t);
	}
}

int evb_jkeys_add(struct evb_jkeys *ks, const struct evb_jtok *t)
{
	if (t->escaped || ks->n == EVB_JKEYS_MAX)
		return -1;
	for (size_t i = 0; i < ks->n; i++)
		if (ks->k[i].len == t->len && memcmp(ks->k[i].s, t->s, t->len) == 0)
			return -1;
	ks->k[ks->n++] = *t;
	return 0;
}

long long evb_jtok_uint(const struct evb_jtok *t)
{
	long long v = 0;

	if (t->type != EVB_JT_NUM || t->len == 0 || t->len > 18)
		return -1;
	for (size_t i = 0; i < t->len; i++) {
		if (t->s[i] < '0' || t->s[i] > '9')
			return -1;
		v = v * 10 + (t->s[i] - '0');
	}
	return v;
}

int evb_jtok_is(const struct evb_jtok *t, const char *s)
{
	size_t n = strlen(s);

	return (t->type == EVB_JT_KEY || t->type == EVB_JT_STR) && !t->escaped && t->len == n &&
	       memcmp(t->s, s, n) == 0;
}
