/* evb_decim: 48 kHz to 8 kHz in two stages. The passband is flat to
 * 3.4 kHz, nothing above 4 kHz folds back, a tone keeps its SINAD, the
 * output is the same however the input is cut, the delay is what
 * evb_decim_latency() says, and reset forgets the past. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evb_decim.h"
#include "sinad.h"
#include "tap.h"

#define PI 3.14159265358979323846
#define N_IN 48000

static int16_t in[N_IN], out[N_IN / 6 + 2], out2[N_IN / 6 + 2];

static void tone(double hz, double amp)
{
	for (int i = 0; i < N_IN; i++)
		in[i] = (int16_t)lrint(amp * 32767 * sin(2 * PI * hz * i / 48000.0 + 0.3));
}

static double rms(const int16_t *x, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return sqrt(s / (double)(n ? n : 1));
}

/* Output level against input level, dB, after 100 ms of settling. */
static double gain_db(double hz)
{
	struct evb_decim *d = evb_decim_new(48000, 8000);
	size_t n;

	tone(hz, 0.5);
	n = evb_decim_process(d, in, N_IN, out);
	evb_decim_free(d);
	return 20 * log10(rms(out + 800, n - 800) / rms(in, N_IN) + 1e-12);
}

int main(void)
{
	static const double pass[] = { 100, 300, 1000, 2000, 3000, 3400 };
	static const double stop[] = { 4000, 4200, 5000, 8000, 12000, 16000, 20000, 23900 };
	struct evb_decim *d;
	size_t n, m;
	int same;

	ok(!evb_decim_new(44100, 8000) && errno == EINVAL, "44.1k -> 8k: EINVAL");
	ok(!evb_decim_new(48000, 16000) && errno == EINVAL, "48k -> 16k: EINVAL (not 6:1)");
	d = evb_decim_new(48000, 8000);
	ok(d != NULL, "48k -> 8k");
	is_int((int)evb_decim_max_out(960), 162, "max_out(960)");

	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		double g = gain_db(pass[i]);
		ok(fabs(g) < 0.05, "%.0f Hz passes at %.3f dB (within 0.05)", pass[i], g);
	}
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
		double g = gain_db(stop[i]);
		ok(g < -75, "%.0f Hz is stopped: %.1f dB (< -75)", stop[i], g);
	}

	/* SINAD of a 1 kHz tone at -6 dBFS: the int16 output is the limit. */
	tone(1000, 0.5);
	n = evb_decim_process(d, in, N_IN, out);
	is_int((int)n, 8000, "48000 samples in, 8000 out");
	{
		double s = sinad(out + 800, n - 800, 1000, 8000);
		ok(s > 85, "1 kHz SINAD %.1f dB (> 85)", s);
	}

	/* Chunking changes nothing, bit for bit. */
	evb_decim_reset(d);
	m = 0;
	srand(7);
	for (size_t off = 0; off < N_IN;) {
		size_t k = (size_t)(rand() % 1500) + 1;
		if (k > N_IN - off)
			k = N_IN - off;
		m += evb_decim_process(d, in + off, k, out2 + m);
		off += k;
	}
	same = m == n && memcmp(out, out2, n * sizeof(int16_t)) == 0;
	ok(same, "random chunks of 1..1500 samples: identical output (%zu samples)", m);

	/* The delay: an impulse comes out latency input samples later. */
	evb_decim_reset(d);
	memset(in, 0, sizeof(in));
	in[600] = 30000;
	n = evb_decim_process(d, in, 4800, out);
	{
		size_t peak = 0;
		for (size_t i = 1; i < n; i++)
			if (abs(out[i]) > abs(out[peak]))
				peak = i;
		diag("latency %d input samples; impulse at 600 peaks at output %zu", evb_decim_latency(d),
		     peak);
		ok(labs((long)(peak * 6) - (600 + evb_decim_latency(d))) <= 6,
		   "the impulse peaks where the latency says (+-1 output sample)");
	}

	/* reset: the same input gives the same output as a new decimator. */
	tone(700, 0.7);
	evb_decim_process(d, in, 4800, out);
	evb_decim_reset(d);
	n = evb_decim_process(d, in, 4800, out);
	{
		struct evb_decim *e = evb_decim_new(48000, 8000);
		m = evb_decim_process(e, in, 4800, out2);
		ok(n == m && memcmp(out, out2, n * sizeof(int16_t)) == 0,
		   "after reset, as a new decimator");
		evb_decim_free(e);
	}

	/* Full scale square wave: clipped at the rails, never wrapped. */
	for (int i = 0; i < N_IN; i++)
		in[i] = (i / 24) % 2 ? 32767 : -32768;
	evb_decim_reset(d);
	n = evb_decim_process(d, in, N_IN, out);
	{
		int wrapped = 0;
		for (size_t i = 1; i < n; i++)
			if (abs(out[i] - out[i - 1]) > 60000)
				wrapped = 1;
		ok(!wrapped, "a full-scale square wave saturates, never wraps");
	}
	evb_decim_free(d);
	evb_decim_free(NULL);
	return done_testing();
}
