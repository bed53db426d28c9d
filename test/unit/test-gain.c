/* Gain with soft limiter: linear below the knee, never clips, monotonic,
 * continuous at the knee. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "evb_gain.h"
#include "tap.h"

#define PI 3.14159265358979323846

/* Applies gain to every int16 value in order; checks rails and order. */
static void sweep(float gain, float knee, int *clip, int *mono, int *peak)
{
	int16_t *buf = malloc(65536 * sizeof(*buf));
	for (int i = 0; i < 65536; i++)
		buf[i] = (int16_t)(i - 32768);
	evb_gain_apply(buf, 65536, gain, knee);
	*clip = 0;
	*mono = 1;
	*peak = 0;
	for (int i = 0; i < 65536; i++) {
		if (buf[i] >= 32767 || buf[i] <= -32767)
			(*clip)++;
		if (i && buf[i] < buf[i - 1])
			*mono = 0;
		if (abs(buf[i]) > *peak)
			*peak = abs(buf[i]);
	}
	free(buf);
}

int main(void)
{
	static const float gains[] = { 1.0f, 2.8f, 10.0f, 100.0f, 10000.0f, 1e30f };
	int clip, mono, peak;

	for (size_t g = 0; g < sizeof(gains) / sizeof(gains[0]); g++) {
		sweep(gains[g], EVB_GAIN_KNEE_DEFAULT, &clip, &mono, &peak);
		ok(clip == 0 && mono, "gain %g, all 65536 inputs: no rail, monotonic (peak %d)",
		   (double)gains[g], peak);
	}
	sweep(10.0f, 0.95f, &clip, &mono, &peak);
	ok(clip == 0 && mono, "gain 10 knee 0.95: no rail, monotonic (peak %d)", peak);

	/* Below the knee the gain is exact. */
	{
		int16_t b[5] = { 0, 100, -100, 7000, -7000 };
		evb_gain_apply(b, 5, 2.0f, EVB_GAIN_KNEE_DEFAULT);
		ok(b[0] == 0 && b[1] == 200 && b[2] == -200 && b[3] == 14000 && b[4] == -14000,
		   "linear below the knee");
		int16_t c[2] = { 22937, -22937 }; /* 0.7 * 32768 = 22937.6 */
		evb_gain_apply(c, 2, 1.0f, EVB_GAIN_KNEE_DEFAULT);
		ok(c[0] == 22937 && c[1] == -22937, "gain 1 below the knee is identity");
		int16_t z[2] = { 1000, -1000 };
		evb_gain_apply(z, 2, 0.0f, EVB_GAIN_KNEE_DEFAULT);
		ok(z[0] == 0 && z[1] == 0, "gain 0 is silence");
		int16_t h[2] = { 1000, -1000 };
		evb_gain_apply(h, 2, 0.5f, EVB_GAIN_KNEE_DEFAULT);
		ok(h[0] == 500 && h[1] == -500, "gain 0.5 halves");
	}

	/* Slope 1 at the knee: a step of 10 just above it still adds ~10. */
	{
		int16_t b[3] = { 22938, 22948, 32767 };
		evb_gain_apply(b, 3, 1.0f, EVB_GAIN_KNEE_DEFAULT);
		ok(b[1] - b[0] >= 9 && b[1] - b[0] <= 10, "slope ~1 just above the knee (%d)",
		   b[1] - b[0]);
		ok(b[2] > 27000 && b[2] < 32767, "full scale at gain 1 is bent to %d", b[2]);
	}

	/* Square and sine waves at full scale through gains 1, 2.8, 10. */
	for (int g = 0; g < 3; g++) {
		float gain = g == 0 ? 1.0f : g == 1 ? 2.8f : 10.0f;
		int16_t sq[800], sn[800], sorted_in[800];
		int bad = 0, order = 1;
		for (int i = 0; i < 800; i++) {
			sq[i] = (i / 20) % 2 ? -32768 : 32767;
			sn[i] = (int16_t)lrint(32767 * sin(2 * PI * 440 * i / 8000.0));
			sorted_in[i] = sn[i];
		}
		evb_gain_apply(sq, 800, gain, EVB_GAIN_KNEE_DEFAULT);
		evb_gain_apply(sn, 800, gain, EVB_GAIN_KNEE_DEFAULT);
		for (int i = 0; i < 800; i++) {
			if (abs(sq[i]) >= 32767 || abs(sn[i]) >= 32767)
				bad++;
			for (int j = 0; j < 800; j += 7)
				if (sorted_in[i] < sorted_in[j] && sn[i] > sn[j])
					order = 0;
		}
		ok(bad == 0 && order, "gain %.1f: full-scale square (%d/%d) and sine never clip, "
		   "sine output monotonic in input", (double)gain, sq[0], sq[20]);
	}
	return done_testing();
}
