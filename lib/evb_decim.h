/* Decimation by 6 (48 kHz to 8 kHz: EVI's audio to the telephone rate) in
 * two FIR stages, 3 then 2: the first needs only a short filter, since
 * what it lets through between 4 and 12 kHz lands where the second
 * removes it. Kaiser-windowed sinc filters designed at start-up (80 dB
 * stopband, flat to 0.425 of the output rate (3.4 kHz, the top of the
 * telephone band, at 8 kHz), nothing left at its Nyquist
 * frequency), streaming with history, so chunk boundaries change nothing:
 * the output is the same bit for bit however the input is cut. About half
 * the arithmetic of SpeexDSP's one-stage filter at quality 5. */
#ifndef EVB_DECIM_H
#define EVB_DECIM_H

#include <stddef.h>
#include <stdint.h>

struct evb_decim;

/* A decimator from in_rate to out_rate; NULL with errno EINVAL unless
 * in_rate == 6 * out_rate (and out_rate is 1000..48000), ENOMEM. */
struct evb_decim *evb_decim_new(uint32_t in_rate, uint32_t out_rate);
void evb_decim_free(struct evb_decim *d);

/* Most outputs evb_decim_process() can give for n inputs. */
size_t evb_decim_max_out(size_t n);

/* Filters n samples into out (room for evb_decim_max_out(n)); returns the
 * number written. */
size_t evb_decim_process(struct evb_decim *d, const int16_t *in, size_t n, int16_t *out);

/* Forgets the history, as a new decimator would start. */
void evb_decim_reset(struct evb_decim *d);

/* The delay the filters add, in input samples. */
int evb_decim_latency(const struct evb_decim *d);

#endif
