/* Two-stage decimation by 6 (see evb_decim.h). Each stage keeps its input
 * in a float buffer whose first taps-1 samples are history; an output is
 * due at every m-th input sample, and is the dot product of the filter
 * with the taps samples ending there (the filters are symmetric, so no
 * reversal). Filter lengths are padded with zeros to a multiple of 8 for
 * the 8-lane dot product. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evb_decim.h"

#define BLOCK 1024 /* input samples a stage takes at a time */
#define ATTEN_DB 80.0
#define PASS 0.425 /* passband edge, as a fraction of the output rate: 3.4 kHz at 8 kHz, the top of the telephone band (G.712) */

struct stage {
	int m, taps; /* decimation, filter length (a multiple of 8) */
	int len;     /* the filter's own length, before the padding */
	float *h;
	float *buf; /* taps - 1 samples of history, then up to BLOCK new ones */
	size_t have; /* samples in buf */
	size_t next; /* index in buf of the sample the next output ends at */
};

struct evb_decim {
	struct stage s[2];
	float mid[BLOCK / 3 + 2];
};

/* Zeroth-order modified Bessel function of the first kind (series). */
static double bessel_i0(double x)
{
	double sum = 1.0, term = 1.0, q = x * x / 4.0;

	for (int k = 1; k < 64 && term > 1e-12 * sum; k++) {
		term *= q / ((double)k * k);
		sum += term;
	}
	return sum;
}

/* A low-pass for rate fs_in passing [0, pass] and stopping [stop, fs_in/2]. */
static int design(struct stage *st, int m, double fs_in, double pass, double stop)
{
	double dw = 2.0 * M_PI * (stop - pass) / fs_in;
	double beta = 0.1102 * (ATTEN_DB - 8.7);
	double fc = (pass + stop) / 2.0 / fs_in, sum = 0.0;
	int n = (int)ceil((ATTEN_DB - 8.0) / (2.285 * dw)) + 1;
	int taps = (n + 7) / 8 * 8, pad = taps - n;

	st->m = m;
	st->taps = taps;
	st->len = n;
	st->h = calloc((size_t)taps, sizeof(float));
	st->buf = calloc((size_t)taps - 1 + BLOCK, sizeof(float));
	if (!st->h || !st->buf)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		double t = i - (n - 1) / 2.0, r = 2.0 * i / (n - 1) - 1.0;
		double x = 2.0 * fc * t;
		double sinc = fabs(x) < 1e-12 ? 1.0 : sin(M_PI * x) / (M_PI * x);
		double w = bessel_i0(beta * sqrt(1.0 - r * r)) / bessel_i0(beta);
		double v = 2.0 * fc * sinc * w;

		st->h[pad + i] = (float)v;
		sum += v;
	}
	for (int i = 0; i < taps; i++)
		st->h[i] = (float)(st->h[i] / sum);
	return 0;
}

static void stage_reset(struct stage *st)
{
	memset(st->buf, 0, ((size_t)st->taps - 1) * sizeof(float));
	st->have = (size_t)st->taps - 1;
	st->next = st->have;
}

struct evb_decim *evb_decim_new(uint32_t in_rate, uint32_t out_rate)
{
	struct evb_decim *d;
	double f = out_rate;

	if (out_rate < 1000 || out_rate > 48000 || in_rate != 6 * out_rate) {
		errno = EINVAL;
		return NULL;
	}
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	/* 3 first: 6F to 2F; what it lets through below 2F - F/2 folds above
	 * F/2, where the second stage stops it. */
	if (design(&d->s[0], 3, 6 * f, PASS * f, 1.5 * f) < 0 ||
	    design(&d->s[1], 2, 2 * f, PASS * f, 0.5 * f) < 0) {
		evb_decim_free(d);
		errno = ENOMEM;
		return NULL;
	}
	evb_decim_reset(d);
	return d;
}

void evb_decim_free(struct evb_decim *d)
{
	if (!d)
		return;
	for (int i = 0; i < 2; i++) {
		free(d->s[i].h);
		free(d->s[i].buf);
	}
	free(d);
}

void evb_decim_reset(struct evb_decim *d)
{
	stage_reset(&d->s[0]);
	stage_reset(&d->s[1]);
}

int evb_decim_latency(const struct evb_decim *d)
{
	/* Each stage delays by half its (unpadded) length, in its own input. */
	return (d->s[0].len - 1) / 2 + 3 * ((d->s[1].len - 1) / 2);
}

size_t evb_decim_max_out(size_t n)
{
	return n / 6 + 2;
}

#if defined(__GNUC__)
/* Two 4-lane accumulators: SSE registers on x86-64, NEON on arm64. */
typedef float v4f __attribute__((vector_size(16)));

static float dot(const float *a, const float *b, int n)
{
	v4f p = { 0 }, q = { 0 };

	for (int i = 0; i < n; i += 8) {
		v4f x0, x1, y0, y1;

		memcpy(&x0, a + i, sizeof(x0));
		memcpy(&x1, a + i + 4, sizeof(x1));
		memcpy(&y0, b + i, sizeof(y0));
		memcpy(&y1, b + i + 4, sizeof(y1));
		p += x0 * y0;
		q += x1 * y1;
	}
	return ((p[0] + q[0]) + (p[1] + q[1])) + ((p[2] + q[2]) + (p[3] + q[3]));
}
#else
static float dot(const float *a, const float *b, int n)
{
	float acc[8] = { 0 };

	for (int i = 0; i < n; i += 8)
		for (int k = 0; k < 8; k++)
			acc[k] += a[i + k] * b[i + k];
	return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}
#endif
/* Both sum lane k of the first half with lane k of the second, then the
 * same tree: the same result either way. */

/* Runs the samples already appended to st->buf; writes outputs to out and
 * keeps the last taps - 1 samples as history. Returns the outputs. */
static size_t stage_run(struct stage *st, float *out)
{
	size_t n = 0, keep = (size_t)st->taps - 1, drop;

	while (st->next < st->have) {
		out[n++] = dot(st->h, st->buf + st->next + 1 - (size_t)st->taps, st->taps);
		st->next += (size_t)st->m;
	}
	drop = st->have - keep;
	memmove(st->buf, st->buf + drop, keep * sizeof(float));
	st->have = keep;
	st->next -= drop;
	return n;
}

static int16_t to_s16(float v)
{
	if (v >= 32767.0f)
		return 32767;
	if (v <= -32768.0f)
		return -32768;
	return (int16_t)lrintf(v);
}

size_t evb_decim_process(struct evb_decim *d, const int16_t *in, size_t n, int16_t *out)
{
	struct stage *a = &d->s[0], *b = &d->s[1];
	size_t done = 0;

	while (n > 0) {
		size_t k = n < BLOCK ? n : BLOCK, got;
		float fin[BLOCK / 2 + 2];

		for (size_t i = 0; i < k; i++)
			a->buf[a->have + i] = in[i];
		a->have += k;
		in += k;
		n -= k;
		got = stage_run(a, d->mid);
		memcpy(b->buf + b->have, d->mid, got * sizeof(float));
		b->have += got;
		got = stage_run(b, fin);
		for (size_t i = 0; i < got; i++)
			out[done++] = to_s16(fin[i]);
	}
	return done;
}
