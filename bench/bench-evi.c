/* bench-evi: the cost of decoding EVI's audio_output payloads (base64 of a
 * 200 ms 48 kHz WAV) with evb_evi_b64_decode, against mbedTLS's decoder as
 * the baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "evb_evi.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	enum { N = 2000 };
	size_t raw_n = 44 + 9600 * 2, elen, o;
	unsigned char *raw = malloc(raw_n), *enc = malloc(raw_n * 2);
	double t0, t1, t2;

	if (!raw || !enc)
		return 111;
	for (size_t i = 0; i < raw_n; i++)
		raw[i] = (unsigned char)(i * 31 + 7);
	mbedtls_base64_encode(enc, raw_n * 2, &elen, raw, raw_n);
	t0 = now();
	for (int i = 0; i < N; i++) {
		size_t need = 0;
		unsigned char *b;
		mbedtls_base64_decode(NULL, 0, &need, enc, elen);
		b = malloc(need);
		mbedtls_base64_decode(b, need, &o, enc, elen);
		free(b);
	}
	t1 = now();
	for (int i = 0; i < N; i++) {
		uint8_t *b;
		evb_evi_b64_decode((const char *)enc, elen, &b, &o);
		free(b);
	}
	t2 = now();
	printf("| EVI audio_output decode (%zu base64 bytes = 200 ms at 48 kHz) | µs |\n", elen);
	printf("|---|---:|\n");
	printf("| mbedTLS (constant time, two passes) | %.1f |\n", (t1 - t0) / N * 1e6);
	printf("| evb_evi_b64_decode (table, one pass) | %.1f |\n", (t2 - t1) / N * 1e6);
	free(raw);
	free(enc);
	return 0;
}
