/* Shared pieces of the simulated callers (see evb_caller.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evb_caller.h"
#include "evb_conv.h"
#include "evb_tls.h"

void evb_caller_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[32];

	if (n > 2 * sizeof(b))
		n = 2 * sizeof(b);
	evb_tls_random(b, n / 2);
	for (size_t i = 0; i < n / 2; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[n] = '\0';
}

struct sink {
	uint8_t *p;
	size_t len, cap;
	int nomem;
};

static int sink_cb(void *arg, const uint8_t *data, size_t n, int end)
{
	struct sink *b = arg;

	(void)end;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->nomem = 1;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

int evb_caller_convert(const uint8_t *wav, size_t len, int out_codec, uint32_t out_rate,
		       uint8_t **out, size_t *out_len)
{
	struct evb_conv_opts co = {
		.in_codec = EVB_CODEC_WAV, .out_codec = out_codec, .out_rate = out_rate,
		.quality = 5, .gain = 1.0f, .frame_ms = 20,
	};
	struct sink b = { 0 };
	struct evb_conv *cv;
	int e;

	*out = NULL;
	*out_len = 0;
	if (!(cv = evb_conv_new(&co)))
		return -errno;
	e = evb_conv_push(cv, wav, len, sink_cb, &b);
	if (e == 0 && !b.nomem)
		evb_conv_flush(cv, sink_cb, &b);
	evb_conv_free(cv);
	if (e == 0 && b.nomem)
		e = -ENOMEM;
	if (e < 0) {
		free(b.p);
		return e;
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}
