/* Gain with a soft limiter: samples below the knee are scaled linearly, above
 * it they are bent smoothly toward full scale and never reach it, so no input
 * and no gain can clip. */
#ifndef EVB_GAIN_H
#define EVB_GAIN_H

#include <stddef.h>
#include <stdint.h>

#define EVB_GAIN_KNEE_DEFAULT 0.7f /* fraction of full scale */

/* Multiplies n samples in place by gain, limiting softly above knee. */
void evb_gain_apply(int16_t *buf, size_t n, float gain, float knee);

#endif
