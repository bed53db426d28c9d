/* A pull scanner over JSON text that never allocates: the fast path for
 * the few message shapes that carry audio (EVI audio_output, Twilio media).
 * It checks the whole grammar (RFC 8259: structure, numbers, string
 * escapes, UTF-8) and hands out tokens as spans of the input. String
 * spans are raw: a token with escaped set holds backslash escapes the
 * caller would have to decode (the fast paths give such messages to
 * jansson instead, which also refuses \u0000 and lone surrogates). Nesting deeper than EVB_JSCAN_DEPTH is an error. */
#ifndef EVB_JSCAN_H
#define EVB_JSCAN_H

#include <stddef.h>
#include <stdint.h>

#define EVB_JSCAN_DEPTH 32

enum evb_jtok_type {
	EVB_JT_ERR = -1, /* bad JSON (sticky) */
	EVB_JT_EOF = 0,  /* the one top-level value ended, nothing but space after */
	EVB_JT_OBJ,      /* '{' */
	EVB_JT_OBJ_END,  /* '}' */
	EVB_JT_ARR,      /* '[' */
	EVB_JT_ARR_END,  /* ']' */
	EVB_JT_KEY,      /* a member name (the ':' after it is consumed) */
	EVB_JT_STR,
	EVB_JT_NUM,
	EVB_JT_TRUE,
	EVB_JT_FALSE,
	EVB_JT_NULL,
};

struct evb_jtok {
	int type;      /* enum evb_jtok_type */
	const char *s; /* KEY, STR: the characters between the quotes; NUM: the number */
	size_t len;
	int escaped;   /* KEY, STR: holds at least one backslash escape */
};

struct evb_jscan {
	const uint8_t *p, *end;
	int state, depth;
	uint8_t stack[EVB_JSCAN_DEPTH]; /* 1 object, 0 array */
};

/* Starts scanning len bytes at data (which must outlive the scanner). */
void evb_jscan_init(struct evb_jscan *j, const void *data, size_t len);

/* Reads the next token into t and returns its type; EVB_JT_ERR once the
 * text stops being JSON, EVB_JT_EOF after the top-level value. */
int evb_jscan_next(struct evb_jscan *j, struct evb_jtok *t);

/* Skips the rest of the value whose first token, just read, was v
 * (nothing more for a scalar; for '{' or '[' everything up to the
 * matching close). Returns 0, or -1 for bad JSON and for anything jansson
 * could read differently from a plain scan: an escape in a string or key,
 * a number with an exponent or over 18 characters (it might overflow).
 * The fast paths then leave the message to jansson. */
int evb_jscan_skip_plain(struct evb_jscan *j, const struct evb_jtok *v);

/* The keys of one object, as a fast path meets them. */
#define EVB_JKEYS_MAX 16
struct evb_jkeys {
	struct evb_jtok k[EVB_JKEYS_MAX];
	size_t n;
};

/* Records key t (a KEY token) in ks. Returns 0, or -1 when t holds an
 * escape, repeats a key already recorded, or is one too many: a fast path
 * then leaves the message to jansson, which refuses repeated keys. */
int evb_jkeys_add(struct evb_jkeys *ks, const struct evb_jtok *t);

/* A NUM token that is a plain non-negative integer of at most 18 digits
 * (no sign, fraction or exponent): its value; -1 otherwise. */
long long evb_jtok_uint(const struct evb_jtok *t);

/* 1 when t is a KEY or STR without escapes equal to the NUL-terminated s. */
int evb_jtok_is(const struct evb_jtok *t, const char *s);

#endif
