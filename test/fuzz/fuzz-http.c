/* Fuzz target: HTTP/1.x parsing as evb_http and evb_httpc use it, from
 * memory. The input is parsed as a stream of requests and again as a
 * stream of responses, each twice: whole, and in small pieces; the two
 * must agree. Every accessor a handler would call is exercised, including
 * form and query decoding and the WebSocket handshake check; after an
 * upgrade the rest goes to a WebSocket server session. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_http.h"
#include "evb_httpmsg.h"
#include "evb_url.h"
#include "evb_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch_message(const struct evb_httpmsg *m, unsigned long *sum)
{
	char accept[EVB_WS_ACCEPT_LEN];
	const char *path = evb_httpmsg_path(m), *query = evb_httpmsg_query(m);
	size_t blen, n = evb_httpmsg_header_count(m);
	const uint8_t *body = evb_httpmsg_body(m, &blen);
	struct evb_params *p;
	char *dec = malloc(strlen(path) + 1);

	*sum = *sum * 31 + (unsigned long)evb_httpmsg_status(m) + strlen(evb_httpmsg_method(m)) +
	       strlen(evb_httpmsg_url(m)) + strlen(path) + strlen(query) + n + blen +
	       (unsigned long)evb_httpmsg_keep_alive(m) * 7 +
	       (unsigned long)evb_httpmsg_upgrade(m) * 11 + (unsigned long)evb_httpmsg_version(m);
	for (size_t i = 0; i < n; i++)
		*sum += strlen(evb_httpmsg_header_name(m, i)) + strlen(evb_httpmsg_header_value(m, i));
	if (evb_httpmsg_header(m, "content-type"))
		*sum += 3;
	if (dec && evb_url_decode(path, strlen(path), 0, dec) >= 0)
		*sum += strlen(dec);
	free(dec);
	p = evb_params_parse(query, strlen(query));
	if (p) {
		char *enc;

		evb_params_sort(p);
		enc = evb_params_encode(p);
		*sum += evb_params_count(p) + (enc ? strlen(enc) : 0);
		free(enc);
		evb_params_free(p);
	}
	p = evb_params_parse((const char *)body, blen);
	if (p) {
		*sum += evb_params_count(p);
		evb_params_free(p);
	}
	*sum += (unsigned long)(evb_http_ws_check(m, accept) + 2);
}

static void ws_msg(struct evb_ws *ws, int kind, const uint8_t *d, size_t len, void *arg)
{
	(void)ws;
	(void)d;
	*(unsigned long *)arg += (unsigned long)kind + len;
}

static void ws_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	(void)ws;
	*(unsigned long *)arg += (unsigned long)code + strlen(reason);
}

/* Parses data as messages fed step bytes at a time (0: all at once);
 * returns a summary of what came out. */
static unsigned long parse(int response, const uint8_t *data, size_t size, size_t step)
{
	struct evb_httpmsg *m = evb_httpmsg_new(response, 64u << 10);
	unsigned long sum = 0;
	size_t off = 0, used;
	int r = 0, msgs = 0;

	if (!m)
		abort();
	while (off < size && msgs < 64) {
		size_t n = step && size - off > step ? step : size - off;

		r = evb_httpmsg_feed(m, data + off, n, &used);
		if (r < 0) {
			/* Which error comes first may depend on the pieces (a cap is
			 * checked when http-parser hands over a partial header name,
			 * bad syntax when it meets it); that it fails may not. */
			int st = evb_httpmsg_error_status(m);

			if (st < 400 || st > 505 || !evb_http_reason(st)[0])
				abort();
			sum = sum * 31 + 1;
			break;
		}
		off += used;
		if (r == 0)
			continue;
		msgs++;
		touch_message(m, &sum);
		if (evb_httpmsg_upgrade(m)) {
			struct evb_ws *ws = evb_ws_mem_new(!response, ws_msg, ws_close, &sum);

			if (ws) {
				evb_ws_set_max_message(ws, 64u << 10);
				evb_ws_mem_feed(ws, data + off, size - off);
				evb_ws_free(ws);
			}
			off = size;
			break;
		}
		evb_httpmsg_reset(m);
	}
	if (r >= 0 && off >= size && response && evb_httpmsg_finish(m) == 1)
		touch_message(m, &sum);
	evb_httpmsg_free(m);
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step = 1 + size % 13;

	for (int response = 0; response < 2; response++) {
		unsigned long whole = parse(response, data, size, 0);
		unsigned long pieces = parse(response, data, size, step);

		if (whole != pieces) {
			fprintf(stderr, "fuzz-http: %s parse differs fed whole and in %zu-byte pieces\n",
				response ? "response" : "request", step);
			abort();
		}
	}
	return 0;
}
