/* Audio measurements for the unit tests, header-only (each test is linked
 * alone with libevb.a). */
#ifndef EVB_TEST_SINAD_H
#define EVB_TEST_SINAD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define PI 3.14159265358979323846

/* SINAD in dB of x against the best fit a*sin + b*cos + dc at freq. */
static inline double sinad(const int16_t *x, size_t n, double freq, double rate)
{
	double m[3][4] = { { 0 } }, sol[3], sig = 0, res = 0;
	for (size_t i = 0; i < n; i++) {
		double w = 2 * PI * freq * (double)i / rate;
		double v[3] = { sin(w), cos(w), 1.0 };
		for (int r = 0; r < 3; r++) {
			for (int c = 0; c < 3; c++)
				m[r][c] += v[r] * v[c];
			m[r][3] += v[r] * x[i];
		}
	}
	/* Gaussian elimination on the 3x3 normal equations. */
	for (int p = 0; p < 3; p++)
		for (int r = p + 1; r < 3; r++) {
			double f = m[r][p] / m[p][p];
			for (int c = p; c < 4; c++)
				m[r][c] -= f * m[p][c];
		}
	for (int r = 2; r >= 0; r--) {
		double s = m[r][3];
		for (int c = r + 1; c < 3; c++)
			s -= m[r][c] * sol[c];
		sol[r] = s / m[r][r];
	}
	for (size_t i = 0; i < n; i++) {
		double w = 2 * PI * freq * (double)i / rate;
		double fit = sol[0] * sin(w) + sol[1] * cos(w);
		double e = x[i] - fit - sol[2];
		sig += fit * fit;
		res += e * e;
	}
	return 10 * log10(sig / (res > 1e-30 ? res : 1e-30));
}

#endif
