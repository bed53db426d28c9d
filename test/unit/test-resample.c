/* Streaming resampler: pass-through, bounds, chunking continuity, fidelity
 * (SINAD by least-squares sine fit) and anti-aliasing. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "evb_resample.h"
#include "sinad.h"
#include "tap.h"

static double rms(const int16_t *x, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return sqrt(s / (double)n);
}

static void sine(int16_t *x, size_t n, double freq, double rate, double amp)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (int16_t)lrint(amp * sin(2 * PI * freq * (double)i / rate));
}

/* Resamples n samples in chunks of chunk (0: one call); returns the count. */
static size_t run(struct evb_resampler *r, const int16_t *in, size_t n, size_t chunk,
		  int16_t *out)
{
	size_t done = 0;
	if (!chunk)
		chunk = n;
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		long m = evb_resampler_process(r, in + off, k, out + done,
					       evb_resampler_max_out(r, k));
		if (m < 0)
			return 0;
		done += (size_t)m;
	}
	return done;
}

static void test_basics(void)
{
	struct evb_resampler *r;
	int16_t in[480], out[1000];
	long m;

	errno = 0;
	ok(!evb_resampler_new(0, 8000, 5) && errno == EINVAL, "rate 0 is EINVAL");
	errno = 0;
	ok(!evb_resampler_new(8000, 400000, 5) && errno == EINVAL, "rate 400000 is EINVAL");
	errno = 0;
	ok(!evb_resampler_new(8000, 16000, 11) && errno == EINVAL, "quality 11 is EINVAL");
	errno = 0;
	ok(!evb_resampler_new(8000, 16000, -1) && errno == EINVAL, "quality -1 is EINVAL");

	r = evb_resampler_new(16000, 16000, 5);
	ok(r != NULL, "equal rates");
	for (int i = 0; i < 480; i++)
		in[i] = (int16_t)(i * 101);
	is_int(evb_resampler_max_out(r, 480), 480, "pass-through max_out = in_len");
	m = evb_resampler_process(r, in, 480, out, 480);
	ok(m == 480 && memcmp(in, out, sizeof(in)) == 0, "pass-through copies exactly");
	is_int(evb_resampler_latency(r), 0, "pass-through latency 0");
	is_int(evb_resampler_process(r, in, 480, out, 479), -ENOBUFS, "too small out is -ENOBUFS");
	evb_resampler_free(r);

	r = evb_resampler_new(8000, 16000, EVB_RESAMPLE_QUALITY_DEFAULT);
	ok(r && evb_resampler_in_rate(r) == 8000 && evb_resampler_out_rate(r) == 16000,
	   "8000 -> 16000 rates");
	ok(evb_resampler_latency(r) > 0, "latency %d input samples", evb_resampler_latency(r));
	m = evb_resampler_process(r, in, 160, out, evb_resampler_max_out(r, 160));
	is_int(m, 320, "160 samples give 320");
	evb_resampler_free(r);
	evb_resampler_free(NULL);
}

/* Random chunk sizes: output never exceeds max_out, total matches ratio. */
static void test_bounds(void)
{
	static const uint32_t rates[][2] = {
		{ 48000, 8000 }, { 8000, 48000 }, { 44100, 8000 }, { 8000, 44100 },
		{ 22050, 16000 }, { 16000, 24000 }, { 11025, 48000 },
	};
	int16_t *in = calloc(48000, sizeof(*in)), *out = calloc(300000, sizeof(*out));
	unsigned seed = 1;

	for (size_t t = 0; t < sizeof(rates) / sizeof(rates[0]); t++) {
		struct evb_resampler *r = evb_resampler_new(rates[t][0], rates[t][1], 5);
		size_t total_in = 0, total_out = 0;
		int within = 1;
		while (total_in < rates[t][0]) {
			size_t k, bound;
			long m;
			seed = seed * 1103515245 + 12345;
			k = 1 + (seed >> 16) % 997;
			bound = evb_resampler_max_out(r, k);
			m = evb_resampler_process(r, in, k, out, bound);
			if (m < 0 || (size_t)m > bound)
				within = 0;
			total_in += k;
			total_out += m > 0 ? (size_t)m : 0;
		}
		{
			double want = (double)total_in * rates[t][1] / rates[t][0];
			ok(within && fabs((double)total_out - want) <= 2,
			   "%u -> %u: every call within max_out, %zu out for %.1f expected",
			   rates[t][0], rates[t][1], total_out, want);
		}
		evb_resampler_free(r);
	}
	free(in);
	free(out);
}

/* Chunked processing gives the same samples as one call. */
static void test_continuity(void)
{
	static const uint32_t rates[][2] = {
		{ 16000, 8000 }, { 8000, 16000 }, { 48000, 8000 }, { 48000, 16000 }, { 44100, 8000 },
	};
	for (size_t t = 0; t < sizeof(rates) / sizeof(rates[0]); t++) {
		uint32_t ir = rates[t][0], orate = rates[t][1];
		size_t n = ir; /* one second */
		int16_t *in = malloc(n * sizeof(*in));
		int16_t *a = malloc((n * 7 + 100) * sizeof(*a)), *b = malloc((n * 7 + 100) * sizeof(*b));
		struct evb_resampler *r1 = evb_resampler_new(ir, orate, 5);
		struct evb_resampler *r2 = evb_resampler_new(ir, orate, 5);
		size_t na, nb;
		sine(in, n, 1000, ir, 16000);
		na = run(r1, in, n, 0, a);
		nb = run(r2, in, n, ir / 50, b);
		ok(na == nb && na > 0 && memcmp(a, b, na * sizeof(*a)) == 0,
		   "%u -> %u in 20 ms chunks is bit-identical to one call (%zu samples)", ir, orate,
		   nb);
		/* Reset forgets history: output then equals a fresh resampler's. */
		evb_resampler_reset(r2);
		nb = run(r2, in, n, 0, b);
		ok(na == nb && memcmp(a, b, na * sizeof(*a)) == 0, "  after reset equals fresh");
		evb_resampler_free(r1);
		evb_resampler_free(r2);
		free(in);
		free(a);
		free(b);
	}
}

static void test_sinad(void)
{
	int16_t *in = malloc(16000 * sizeof(*in)), *mid = malloc(8100 * sizeof(*mid));
	int16_t *out = malloc(16200 * sizeof(*out));
	struct evb_resampler *down = evb_resampler_new(16000, 8000, EVB_RESAMPLE_QUALITY_DEFAULT);
	struct evb_resampler *up = evb_resampler_new(8000, 16000, EVB_RESAMPLE_QUALITY_DEFAULT);
	size_t nm, no;
	double s_in, s_out;

	sine(in, 16000, 1000, 16000, 16384);
	nm = run(down, in, 16000, 320, mid);
	no = run(up, mid, nm, 160, out);
	s_in = sinad(in + 1600, 12800, 1000, 16000);
	s_out = sinad(out + 1600, no > 14400 ? 12800 : 0, 1000, 16000);
	diag("1 kHz -6 dBFS: SINAD input %.1f dB, after 16k->8k->16k %.1f dB", s_in, s_out);
	ok(no == 16000 && s_out >= 60.0, "16k->8k->16k keeps SINAD >= 60 dB (%.1f)", s_out);

	for (int q = 0; q <= 10; q += 5) {
		struct evb_resampler *d = evb_resampler_new(16000, 8000, q);
		struct evb_resampler *u = evb_resampler_new(8000, 16000, q);
		nm = run(d, in, 16000, 320, mid);
		no = run(u, mid, nm, 160, out);
		diag("  quality %d: SINAD %.1f dB", q, sinad(out + 1600, 12800, 1000, 16000));
		evb_resampler_free(d);
		evb_resampler_free(u);
	}
	evb_resampler_free(down);
	evb_resampler_free(up);
	free(in);
	free(mid);
	free(out);
}

/* 48 kHz tones above 4 kHz must not fold into the 8 kHz output. */
static double down48(int q, double freq, int16_t *in, int16_t *out)
{
	struct evb_resampler *r = evb_resampler_new(48000, 8000, q);
	size_t n;
	/* A phase offset keeps tones at 4 kHz off the output's zero crossings. */
	for (size_t i = 0; i < 48000; i++)
		in[i] = (int16_t)lrint(32767 * sin(2 * PI * freq * (double)i / 48000 + 0.3));
	n = run(r, in, 48000, 960, out);
	evb_resampler_free(r);
	if (n != 8000)
		return 999;
	/* Skip 100 ms of filter transient. */
	return 20 * log10(rms(out + 800, n - 800) / rms(in, 48000) + 1e-12);
}

static void test_alias(void)
{
	static const double tones[] = { 4200, 4500, 5000, 6000, 8000, 12000, 18000, 23000 };
	static const double edge[] = { 3500, 3900, 4000, 4200, 4500, 5000 };
	static const int qs[] = { 0, 3, 5, 10 };
	int16_t *in = malloc(48000 * sizeof(*in)), *out = malloc(8100 * sizeof(*out));
	double rel;

	rel = down48(EVB_RESAMPLE_QUALITY_DEFAULT, 1000, in, out);
	ok(fabs(rel) < 0.1, "1000 Hz passes 48k -> 8k at %.2f dB", rel);
	for (size_t t = 0; t < sizeof(tones) / sizeof(tones[0]); t++) {
		rel = down48(EVB_RESAMPLE_QUALITY_DEFAULT, tones[t], in, out);
		ok(rel <= -40.0, "%.0f Hz full scale 48k -> 8k: output %.1f dB (<= -40)", tones[t],
		   rel);
	}
	for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
		char line[256];
		size_t o = 0;
		for (size_t t = 0; t < sizeof(edge) / sizeof(edge[0]); t++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %.0f:%.1f", edge[t],
					      down48(qs[q], edge[t], in, out));
		diag("48k -> 8k quality %2d, Hz:dB%s (-240 = no output)", qs[q], line);
	}
	free(in);
	free(out);
}

int main(void)
{
	test_basics();
	test_bounds();
	test_continuity();
	test_sinad();
	test_alias();
	return done_testing();
}
