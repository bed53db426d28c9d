/* Shared pieces of the simulated callers: random ids, WAV conversion. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evb_caller.h"
#include "evb_err.h"
#include "evb_frame.h"
#include "evb_util.h"
#include "evb_wav.h"
#include "tap.h"

/* A mono 16-bit WAV of n samples of a 440 Hz tone at rate. */
static uint8_t *tone_wav(uint32_t rate, size_t n, size_t *len)
{
	uint8_t *w = malloc(44 + 2 * n);

	if (!w)
		abort();
	evb_wav_header(w, rate, 1, (uint32_t)(2 * n));
	for (size_t i = 0; i < n; i++)
		evb_put_le16(w + 44 + 2 * i,
			     (uint16_t)(int16_t)(8000 * sin(2 * M_PI * 440 * (double)i / rate)));
	*len = 44 + 2 * n;
	return w;
}

int main(void)
{
	char a[33], b[33];
	uint8_t *wav, *out;
	size_t len, n;
	int hex = 1;

	evb_caller_random_hex(a, 32);
	evb_caller_random_hex(b, 32);
	for (size_t i = 0; i < 32; i++)
		hex &= strchr("0123456789abcdef", a[i]) != NULL;
	ok(strlen(a) == 32 && hex, "random_hex: 32 lowercase hex digits");
	ok(strcmp(a, b) != 0, "random_hex: two draws differ");

	wav = tone_wav(16000, 16000 + 100, &len);
	is_int(evb_caller_convert(wav, len, EVB_CODEC_ULAW, 8000, &out, &n), 0,
	       "1.00625 s at 16 kHz to mu-law at 8 kHz");
	ok(n % 160 == 0 && n >= 8000 && n <= 8160 + 160, "whole 20 ms frames: %zu bytes", n);
	free(out);
	is_int(evb_caller_convert(wav, len, EVB_CODEC_L16, 16000, &out, &n), 0, "to L16 at 16 kHz");
	ok(n % 640 == 0 && n >= 32000, "whole 640-byte frames: %zu bytes", n);
	free(out);
	free(wav);

	out = (uint8_t *)"x";
	is_int(evb_caller_convert((const uint8_t *)"not a wav file at all, not at all", 33,
				  EVB_CODEC_ULAW, 8000, &out, &n),
	       EVB_EWAVBAD, "not a WAV: EVB_EWAVBAD");
	ok(out == NULL && n == 0, "and nothing to free");
	return done_testing();
}
