/* RIFF/WAVE reading (walks every chunk; no 44-byte assumption) and writing. */
#ifndef EVB_WAV_H
#define EVB_WAV_H

#include <stddef.h>
#include <stdint.h>

struct evb_wav_info {
	uint32_t rate;
	uint16_t channels;
	uint16_t bits;        /* 8, 16, 24 or 32 */
	uint16_t format;      /* 1 = integer PCM, 3 = IEEE float (after resolving EXTENSIBLE) */
	const uint8_t *data;  /* points into the parsed buffer */
	size_t data_len;      /* bytes of whole sample frames in data */
	size_t frames;        /* samples per channel */
};

/* Parses a WAV held in buf. Accepts integer PCM 8/16/24/32-bit, float32,
 * and WAVE_FORMAT_EXTENSIBLE with those subformats; any channel count 1..8.
 * A data chunk whose size is 0 or 0xFFFFFFFF (streaming writers) runs to
 * the end of buf. Returns 0, EVB_EWAVBAD, EVB_EWAVFMT or EVB_EWAVTRUNC. */
int evb_wav_parse(const uint8_t *buf, size_t len, struct evb_wav_info *info);

/* Converts info's samples to host int16 mono (channels averaged), writing at
 * most cap samples. Returns the number of samples written. */
size_t evb_wav_to_mono16(const struct evb_wav_info *info, int16_t *out, size_t cap);

/* Writes a 44-byte canonical header for 16-bit PCM into out. */
void evb_wav_header(uint8_t out[44], uint32_t rate, uint16_t channels, uint32_t data_bytes);

/* Writes a mono 16-bit WAV file. Returns 0 or -errno. */
int evb_wav_write_file(const char *path, uint32_t rate, const int16_t *pcm, size_t n);

/* Reads a whole file into a malloc'd buffer of at most max bytes; the caller
 * frees *buf. Returns 0, -errno, or -EFBIG when the file is larger than max. */
int evb_file_read(const char *path, size_t max, uint8_t **buf, size_t *len);

#endif
