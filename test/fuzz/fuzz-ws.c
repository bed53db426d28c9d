/* Fuzz target: WebSocket frames into evb_ws sessions with no socket
 * (memory mode): a server session (client frames must be masked) and a
 * client session (server frames must not be), with a small message cap so
 * the 1009 path is reached; the input is fed whole and in pieces, which
 * must end the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evb_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	unsigned long bytes;
	int msgs, closed, code;
};

static void on_msg(struct evb_ws *ws, int kind, const uint8_t *d, size_t len, void *arg)
{
	struct tally *t = arg;
	volatile uint8_t x = 0;

	(void)ws;
	if (kind != EVB_WS_TEXT && kind != EVB_WS_BINARY)
		abort();
	for (size_t i = 0; i < len; i++) /* every byte must be readable */
		x ^= d[i];
	(void)x;
	t->bytes += len;
	t->msgs++;
}

static void on_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	struct tally *t = arg;

	(void)ws;
	if (t->closed++ || code < 1000 || code > 4999 || strlen(reason) > 400)
		abort(); /* once, with a sane code */
	t->code = code;
}

static void run(int server, const uint8_t *data, size_t size, size_t step, struct tally *t)
{
	struct evb_ws *ws = evb_ws_mem_new(server, on_msg, on_close, t);
	size_t off = 0;

	memset(t, 0, sizeof(*t));
	if (!ws)
		abort();
	evb_ws_set_max_message(ws, 4096);
	while (off < size) {
		size_t n = step && size - off > step ? step : size - off;

		if (evb_ws_mem_feed(ws, data + off, n))
			break;
		off += n;
	}
	evb_ws_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally a, b;

	for (int server = 0; server < 2; server++) {
		run(server, data, size, 0, &a);
		run(server, data, size, 1 + size % 7, &b);
		/* The same bytes in pieces must give the same messages and the
		 * same end. */
		if (a.msgs != b.msgs || a.bytes != b.bytes || a.closed != b.closed ||
		    a.code != b.code)
			abort();
	}
	return 0;
}
