/* evb-cat: frames <-> JSON lines, for jq and for writing test input by hand. */
#define USAGE "evb-cat [-r] [--summary] [-h] [-V]"
#define HELP                                                                   \
	"Reads evibridge frames on stdin and writes one JSON object per frame\n"  \
	"on stdout; with -r, reads such JSON lines and writes frames.\n\n"         \
	"  -r, --reverse  JSON lines -> frames\n"                                 \
	"  --summary      leave audio payloads out (their size stays in 'len')\n" \
	"  -h, --help     this text\n"                                            \
	"  -V, --version  print the version\n\n"                                  \
	"A line: {\"kind\":\"audio\",\"codec\":\"ulaw\",\"dir\":\"up\",\"rate\":8000,"     \
	"\"seq\":0,\"call_id\":\"<uuid>\",\n"                                       \
	"\"media_ts_us\":0,\"capture_ns\":0,\"end\":false,\"len\":160,"             \
	"\"payload\":\"<base64>\"}\n"                                               \
	"Event and control frames carry their JSON object as \"json\" instead of\n" \
	"\"payload\". In -r mode every field but \"kind\" may be left out.\n"        \
	"Exit status: 0 ok, 1 bad input (the message names the frame or line),\n" \
	"100 usage.\n"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_frame.h"

#define LINE_MAX_BYTES (EVB_FRAME_MAX_PAYLOAD * 2)

static int summary;

static json_t *frame_to_json(const struct evb_frame *f)
{
	char id[EVB_CALLID_STRLEN];
	json_t *o = json_object();

	evb_callid_format(f->h.call_id, id);
	json_object_set_new(o, "kind", json_string(evb_kind_name(f->h.kind)));
	if (f->h.kind == EVB_KIND_AUDIO) {
		json_object_set_new(o, "codec", json_string(evb_codec_name(f->h.codec)));
		json_object_set_new(o, "rate", json_integer(f->h.rate));
	}
	json_object_set_new(o, "dir", json_string(evb_dir_name(f->h.dir)));
	json_object_set_new(o, "seq", json_integer(f->h.seq));
	json_object_set_new(o, "call_id", json_string(id));
	json_object_set_new(o, "media_ts_us", json_integer((json_int_t)f->h.media_ts_us));
	json_object_set_new(o, "capture_ns", json_integer((json_int_t)f->h.capture_ns));
	json_object_set_new(o, "end", json_boolean(f->h.flags & EVB_FLAG_END));
	json_object_set_new(o, "len", json_integer(f->h.len));
	if (f->h.kind != EVB_KIND_AUDIO) {
		json_error_t jerr;
		json_t *j = json_loadb((const char *)f->payload, f->h.len, 0, &jerr);
		if (j) {
			json_object_set_new(o, "json", j);
			return o;
		}
		/* Not JSON: show the bytes rather than hide the problem. */
	} else if (summary) {
		return o;
	}
	size_t olen = 0;
	unsigned char *b64;
	mbedtls_base64_encode(NULL, 0, &olen, f->payload, f->h.len);
	b64 = malloc(olen + 1);
	if (!b64 || mbedtls_base64_encode(b64, olen + 1, &olen, f->payload, f->h.len) != 0) {
		free(b64);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "payload", json_stringn((char *)b64, olen));
	free(b64);
	return o;
}

static int frames_to_json(void)
{
	struct evb_frame_reader *r = evb_frame_reader_new(EVB_FRAME_MAX_PAYLOAD);
	struct evb_frame f;
	long n;
	int e = 0;

	if (!r)
		return 111;
	do {
		n = evb_frame_reader_read_fd(r, STDIN_FILENO);
		if (n < 0) {
			fprintf(stderr, "evb-cat: unable to read stdin: %s\n", evb_strerror((int)n));
			evb_frame_reader_free(r);
			return 111;
		}
		while ((e = evb_frame_reader_next(r, &f)) == 1) {
			json_t *o = frame_to_json(&f);
			if (!o || json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) != 0) {
				json_decref(o);
				evb_frame_reader_free(r);
				return 111;
			}
			json_decref(o);
			putchar('\n');
		}
		if (e < 0)
			break;
	} while (n > 0);
	if (e == 0)
		e = evb_frame_reader_finish(r);
	if (e < 0)
		fprintf(stderr, "evb-cat: %s\n", evb_frame_reader_error(r));
	evb_frame_reader_free(r);
	return fflush(stdout) != 0 ? 111 : e < 0 ? 1 : 0;
}

/* Reads an optional unsigned field; returns 0 or -1 (wrong type/range). */
static int get_uint(json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_name(json_t *o, const char *key, int (*parse)(const char *), int *out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v) || (*out = parse(json_string_value(v))) < 0)
		return -1;
	return 0;
}

/* Builds a frame from one JSON line; on error returns a message. */
static const char *json_to_frame(json_t *o, struct evb_frame_hdr *h, uint8_t **payload,
				 char **dumped)
{
	uint64_t v;
	int i = 0;
	json_t *j, *p;

	memset(h, 0, sizeof(*h));
	*payload = NULL;
	*dumped = NULL;
	if (!json_is_object(o))
		return "expected a JSON object";
	if (get_name(o, "kind", evb_kind_parse, &i) < 0 || i <= 0)
		return "'kind' must be audio, event or control";
	h->kind = (uint8_t)i;
	i = 0;
	if (get_name(o, "codec", evb_codec_parse, &i) < 0)
		return "'codec' must be l16, ulaw, wav or none";
	h->codec = (uint8_t)i;
	i = 0;
	if (get_name(o, "dir", evb_dir_parse, &i) < 0)
		return "'dir' must be up, down or none";
	h->dir = (uint8_t)i;
	v = 0;
	if (get_uint(o, "rate", 384000, &v) < 0)
		return "'rate' must be an integer from 0 to 384000";
	h->rate = (uint32_t)v;
	v = 0;
	if (get_uint(o, "seq", UINT32_MAX, &v) < 0)
		return "'seq' must be a 32-bit unsigned integer";
	h->seq = (uint32_t)v;
	if (get_uint(o, "media_ts_us", INT64_MAX, &h->media_ts_us) < 0)
		return "'media_ts_us' must be a non-negative integer";
	if (get_uint(o, "capture_ns", INT64_MAX, &h->capture_ns) < 0)
		return "'capture_ns' must be a non-negative integer";
	if ((j = json_object_get(o, "end")) && !json_is_boolean(j))
		return "'end' must be true or false";
	if (json_is_true(j))
		h->flags |= EVB_FLAG_END;
	if ((j = json_object_get(o, "call_id"))) {
		if (!json_is_string(j) || evb_callid_parse(json_string_value(j), h->call_id) < 0)
			return "'call_id' must be a UUID string";
	}
	j = json_object_get(o, "json");
	p = json_object_get(o, "payload");
	if (j && p)
		return "give 'json' or 'payload', not both";
	if (j) {
		if (!json_is_object(j))
			return "'json' must be an object";
		*dumped = json_dumps(j, JSON_COMPACT);
		if (!*dumped || strlen(*dumped) > EVB_FRAME_MAX_PAYLOAD)
			return "'json' is over the payload cap";
		h->len = (uint32_t)strlen(*dumped);
		*payload = (uint8_t *)*dumped;
	} else if (p) {
		size_t olen = 0;
		const char *s = json_is_string(p) ? json_string_value(p) : NULL;
		size_t slen = s ? json_string_length(p) : 0;
		if (!s || slen % 4 != 0)
			return "'payload' must be a padded base64 string";
		*payload = malloc(slen / 4 * 3 + 3);
		if (!*payload ||
		    mbedtls_base64_decode(*payload, slen / 4 * 3 + 3, &olen,
					  (const unsigned char *)s, slen) != 0)
			return "'payload' is not valid base64";
		if (olen > EVB_FRAME_MAX_PAYLOAD)
			return "'payload' is over the payload cap";
		h->len = (uint32_t)olen;
	}
	return NULL;
}

static int json_to_frames(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int rc = 0;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		struct evb_frame_hdr h;
		uint8_t *payload, wire[EVB_FRAME_HDR_LEN];
		char *dumped;
		const char *msg;
		json_error_t jerr;
		json_t *o;
		int e = 0;

		lineno++;
		if (n == 0 || line[0] == '\n' || line[0] == '#')
			continue;
		if ((size_t)n > LINE_MAX_BYTES) {
			fprintf(stderr, "evb-cat: line %lu: longer than %u bytes\n", lineno,
				LINE_MAX_BYTES);
			rc = 1;
			break;
		}
		o = json_loadb(line, (size_t)n, 0, &jerr);
		if (!o) {
			fprintf(stderr, "evb-cat: line %lu: %s\n", lineno, jerr.text);
			rc = 1;
			break;
		}
		msg = json_to_frame(o, &h, &payload, &dumped);
		/* Validate exactly as a reader would, so no bad frame is written. */
		if (!msg) {
			evb_frame_hdr_encode(&h, wire);
			if ((e = evb_frame_hdr_decode(wire, EVB_FRAME_MAX_PAYLOAD, &h)) < 0)
				msg = evb_strerror(e);
		}
		if (msg)
			fprintf(stderr, "evb-cat: line %lu: %s\n", lineno, msg);
		else if ((e = evb_frame_write_fd(STDOUT_FILENO, &h, payload)) < 0)
			fprintf(stderr, "evb-cat: unable to write stdout: %s\n", evb_strerror(e));
		if (dumped)
			free(dumped);
		else
			free(payload);
		json_decref(o);
		if (msg) {
			rc = 1;
			break;
		}
		if (e < 0) {
			rc = 111;
			break;
		}
	}
	free(line);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reverse", no_argument, NULL, 'r' },
		{ "summary", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, reverse = 0;

	while ((c = getopt_long(argc, argv, "rhV", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reverse = 1; break;
		case 's': summary = 1; break;
		case 'h': printf("usage: %s\n\n%s", USAGE, HELP); return 0;
		case 'V': printf("evb-cat %s\n", EVB_VERSION); return 0;
		default: fprintf(stderr, "usage: %s\n", USAGE); return 100;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: %s\n", USAGE);
		return 100;
	}
	return reverse ? json_to_frames() : frames_to_json();
}
