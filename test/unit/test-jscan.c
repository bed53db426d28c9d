/* evb_jscan: the token stream of a document; documents jansson accepts
 * and refuses get the same verdict; skip_plain; the number reader. */
#include <jansson.h>
#include <string.h>

#include "evb_jscan.h"
#include "tap.h"

/* 1 when the whole text scans to EOF. */
static int scans(const char *s, size_t n)
{
	struct evb_jscan j;
	struct evb_jtok t;
	int type;

	evb_jscan_init(&j, s, n);
	while ((type = evb_jscan_next(&j, &t)) > 0)
		;
	return type == EVB_JT_EOF;
}

static int jansson_ok(const char *s, size_t n)
{
	json_t *v = json_loadb(s, n, JSON_DECODE_ANY, NULL);

	json_decref(v);
	return v != NULL;
}

int main(void)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0", "1.5", "-12.5e+3", "1E2", "true", "false", "null",
		"\"\"", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n",
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"",
		"[[[[[[[[[[]]]]]]]]]]", "{\"a\":{\"b\":{\"c\":[null,{\"d\":\"e\"}]}}}",
	};
	static const char *const bad[] = {
		"", " ", "{", "}", "[1,]", "[,1]", "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\" 1}",
		"{1:2}", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "True", "[1 2]",
		"{\"a\":1}{}", "{} x", "\"abc", "\"a\\x\"", "\"\\u12g4\"", "\"a\x01\"",
		"\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\x80\"",
		"[\"a\"", "{\"a\":[}]", "[}", "{]",
	};
	struct evb_jscan j;
	struct evb_jtok t;
	const char *doc = "{\"k\":[1,\"v\\n\",true],\"n\":null,\"o\":{}}";
	static const int want[] = { EVB_JT_OBJ,  EVB_JT_KEY,     EVB_JT_ARR,  EVB_JT_NUM,
				    EVB_JT_STR,  EVB_JT_TRUE,    EVB_JT_ARR_END, EVB_JT_KEY,
				    EVB_JT_NULL, EVB_JT_KEY,     EVB_JT_OBJ,  EVB_JT_OBJ_END,
				    EVB_JT_OBJ_END, EVB_JT_EOF, EVB_JT_EOF };
	int all = 1;

	evb_jscan_init(&j, doc, strlen(doc));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int type = evb_jscan_next(&j, &t);

		if (type != want[i]) {
			diag("token %zu: %d, want %d", i, type, want[i]);
			all = 0;
		}
		if (i == 1)
			ok(evb_jtok_is(&t, "k") && !t.escaped, "the first key is 'k'");
		if (i == 3)
			is_int((int)evb_jtok_uint(&t), 1, "the number is 1");
		if (i == 4)
			ok(t.escaped && t.len == 3 && memcmp(t.s, "v\\n", 3) == 0,
			   "an escaped string keeps its raw span and says so");
	}
	ok(all, "the token stream of a small document, then EOF twice");

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(scans(good[i], strlen(good[i])) && jansson_ok(good[i], strlen(good[i])),
		   "accepted, as by jansson: good[%zu]", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!scans(bad[i], strlen(bad[i])) && !jansson_ok(bad[i], strlen(bad[i])),
		   "refused, as by jansson: bad[%zu]", i);
	ok(!scans("[1]\0", 4), "a NUL byte after the value is refused");
	{
		char deep[2 * EVB_JSCAN_DEPTH + 3];
		size_t n = 0;

		for (int i = 0; i <= EVB_JSCAN_DEPTH; i++)
			deep[n++] = '[';
		for (int i = 0; i <= EVB_JSCAN_DEPTH; i++)
			deep[n++] = ']';
		ok(!scans(deep, n), "nesting past EVB_JSCAN_DEPTH is refused");
		ok(scans(deep + 1, n - 2), "nesting of exactly EVB_JSCAN_DEPTH is fine");
	}

	/* skip_plain */
	evb_jscan_init(&j, "{\"a\":{\"b\":[1,2,{\"c\":3}]},\"z\":4}", 31);
	evb_jscan_next(&j, &t);
	evb_jscan_next(&j, &t);
	evb_jscan_next(&j, &t);
	is_int(evb_jscan_skip_plain(&j, &t), 0, "skip_plain over a nested object");
	evb_jscan_next(&j, &t);
	ok(evb_jtok_is(&t, "z"), "... lands on the next key");
	evb_jscan_init(&j, "[{\"a\":\"x\\ty\"}]", 14);
	evb_jscan_next(&j, &t);
	evb_jscan_next(&j, &t);
	is_int(evb_jscan_skip_plain(&j, &t), -1, "skip_plain refuses an escape inside");
	evb_jscan_init(&j, "[1e999]", 7);
	evb_jscan_next(&j, &t);
	evb_jscan_next(&j, &t);
	is_int(evb_jscan_skip_plain(&j, &t), -1, "skip_plain refuses a number with an exponent");
	evb_jscan_init(&j, "[12345678901234567890]", 22);
	evb_jscan_next(&j, &t);
	evb_jscan_next(&j, &t);
	is_int(evb_jscan_skip_plain(&j, &t), -1, "... and one of 20 digits");
	is_int((int)evb_jtok_uint(&t), -1, "evb_jtok_uint refuses 20 digits");
	evb_jscan_init(&j, "[-3, 2.0, 123456789012345678]", 29);
	evb_jscan_next(&j, &t);
	evb_jscan_next(&j, &t);
	is_int((int)evb_jtok_uint(&t), -1, "evb_jtok_uint refuses a negative number");
	evb_jscan_next(&j, &t);
	is_int((int)evb_jtok_uint(&t), -1, "... and a fraction");
	evb_jscan_next(&j, &t);
	ok(evb_jtok_uint(&t) == 123456789012345678LL, "... and reads 18 digits");
	/* evb_jkeys_add */
	{
		struct evb_jkeys ks = { .n = 0 };
		struct evb_jtok k = { EVB_JT_KEY, "a", 1, 0 }, b = { EVB_JT_KEY, "ab", 2, 0 };
		struct evb_jtok e = { EVB_JT_KEY, "\\n", 2, 1 };
		char names[EVB_JKEYS_MAX][4];
		int r = 0;

		is_int(evb_jkeys_add(&ks, &k), 0, "jkeys: a first key");
		is_int(evb_jkeys_add(&ks, &b), 0, "jkeys: a key it is a prefix of");
		is_int(evb_jkeys_add(&ks, &k), -1, "jkeys: a repeat is refused");
		is_int(evb_jkeys_add(&ks, &e), -1, "jkeys: an escaped key is refused");
		ks.n = 0;
		for (int i = 0; i < EVB_JKEYS_MAX; i++) {
			struct evb_jtok nk = { EVB_JT_KEY, names[i], 2, 0 };

			names[i][0] = (char)('a' + i);
			names[i][1] = 'x';
			r |= evb_jkeys_add(&ks, &nk);
		}
		is_int(r, 0, "jkeys: EVB_JKEYS_MAX different keys");
		is_int(evb_jkeys_add(&ks, &b), -1, "jkeys: one more is refused");
	}
	return done_testing();
}
