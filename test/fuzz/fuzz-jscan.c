/* Fuzz target: the JSON scanner behind the audio fast paths agrees with
 * jansson. Whatever jansson accepts (nested no deeper than the scanner's
 * limit, and without a NUL byte) the scanner accepts; whatever the scanner accepts without
 * escapes or numbers that could overflow, jansson accepts; and the
 * tokens' spans stay inside the input. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evb_jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int depth_of(const json_t *v)
{
	int d = 0;

	if (json_is_object(v)) {
		const char *k;
		json_t *x;

		json_object_foreach((json_t *)v, k, x) {
			int e = depth_of(x);
			d = e > d ? e : d;
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;

		json_array_foreach(v, i, x) {
			int e = depth_of(x);
			d = e > d ? e : d;
		}
		return d + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evb_jscan j;
	struct evb_jtok t;
	int plain = 1, ok, type;
	json_t *v;

	evb_jscan_init(&j, data, size);
	while ((type = evb_jscan_next(&j, &t)) > 0) {
		if (t.s && (t.s < (const char *)data || t.s + t.len > (const char *)data + size))
			abort();
		if (t.escaped)
			plain = 0;
		if (type == EVB_JT_NUM &&
		    (t.len > 18 || memchr(t.s, 'e', t.len) || memchr(t.s, 'E', t.len) ||
		     memchr(t.s, '.', t.len)))
			plain = 0;
		if (type == EVB_JT_NUM && t.len > 0 && t.s[0] != '-' && evb_jtok_uint(&t) < 0 &&
		    !memchr(t.s, '.', t.len) && !memchr(t.s, 'e', t.len) &&
		    !memchr(t.s, 'E', t.len) && t.len <= 18)
			abort(); /* a plain integer the reader refuses */
	}
	ok = type == EVB_JT_EOF;
	if (evb_jscan_next(&j, &t) != type)
		abort(); /* the end, and errors, are sticky */
	v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	/* jansson stops at a NUL byte after the value; the scanner refuses it
	 * (the fast paths then leave the message to jansson). */
	if (v && !ok && depth_of(v) <= EVB_JSCAN_DEPTH && !memchr(data, '\0', size))
		abort();
	if (!v && ok && plain)
		abort();
	json_decref(v);
	return 0;
}
