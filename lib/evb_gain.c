/* Gain with a soft limiter. In units of full scale, |v| <= knee passes
 * linearly; above it y = knee + (1 - knee) * u / (1 + u) with
 * u = (|v| - knee) / (1 - knee): continuous with slope 1 at the knee,
 * rising monotonically toward 1 without reaching it. One division per
 * limited sample; no transcendental functions. */
#include <math.h>

#include "evb_gain.h"

/* Largest magnitude the limiter may produce: never the rails. */
#define EVB_GAIN_PEAK 32766.0f

void evb_gain_apply(int16_t *buf, size_t n, float gain, float knee)
{
	float k, lin, span;

	if (!(gain >= 0.0f))
		gain = 0.0f; /* negative or NaN: silence rather than garbage */
	if (gain > 10000.0f)
		gain = 10000.0f; /* keeps the float math finite */
	if (!(knee >= 0.05f && knee <= 0.99f))
		knee = knee > 0.99f ? 0.99f : knee >= 0.0f ? 0.05f : EVB_GAIN_KNEE_DEFAULT;
	/* Work in sample units: full scale is 32768. */
	k = knee * 32768.0f;
	lin = k / gain; /* inputs at or below this magnitude stay linear */
	span = 32768.0f - k;
	for (size_t i = 0; i < n; i++) {
		float x = (float)buf[i], a, y;
		if (fabsf(x) <= lin) {
			y = x * gain;
		} else {
			a = fabsf(x) * gain - k;
			/* span * u / (1 + u) with u = a / span equals a * span / (span + a). */
			y = k + a * span / (span + a);
			if (y > EVB_GAIN_PEAK)
				y = EVB_GAIN_PEAK;
			y = copysignf(y, x);
		}
		/* Round half away from zero; |y| <= 32766 here. */
		buf[i] = (int16_t)(y + copysignf(0.5f, y));
	}
}
