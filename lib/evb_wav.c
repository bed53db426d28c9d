/* RIFF/WAVE reader that walks every chunk of an untrusted buffer, and a
 * writer for canonical 16-bit PCM files. Chunk sizes are uint32 from the
 * input: every comparison is made against the bytes left, never by adding
 * an untrusted size to an offset first. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_g711.h"
#include "evb_util.h"
#include "evb_wav.h"

#define EVB_WAV_FMT_PCM 1
#define EVB_WAV_FMT_FLOAT 3
#define EVB_WAV_FMT_EXTENSIBLE 0xFFFE
#define EVB_WAV_MAX_RATE 384000
#define EVB_WAV_MAX_CHANNELS 8

/* KSDATAFORMAT_SUBTYPE_* GUIDs share these 14 bytes after the format tag. */
static const uint8_t evb__guid_tail[14] = {
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
	0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
};

static int evb__parse_fmt(const uint8_t *p, uint32_t size, struct evb_wav_info *info,
			  uint16_t *block_align)
{
	uint16_t format, channels, align, bits;
	uint32_t rate;

	if (size < 16)
		return EVB_EWAVFMT;
	format = evb_get_le16(p);
	channels = evb_get_le16(p + 2);
	rate = evb_get_le32(p + 4);
	align = evb_get_le16(p + 12);
	bits = evb_get_le16(p + 14);
	if (format == EVB_WAV_FMT_EXTENSIBLE) {
		/* cbSize (2), valid bits (2), channel mask (4), GUID (16). */
		if (size < 40 || evb_get_le16(p + 16) < 22)
			return EVB_EWAVFMT;
		if (memcmp(p + 26, evb__guid_tail, sizeof(evb__guid_tail)) != 0)
			return EVB_EWAVFMT;
		format = evb_get_le16(p + 24);
	}
	if (channels < 1 || channels > EVB_WAV_MAX_CHANNELS)
		return EVB_EWAVFMT;
	if (rate < 1 || rate > EVB_WAV_MAX_RATE)
		return EVB_EWAVFMT;
	if (format == EVB_WAV_FMT_PCM) {
		if (bits != 8 && bits != 16 && bits != 24 && bits != 32)
			return EVB_EWAVFMT;
	} else if (format == EVB_WAV_FMT_FLOAT) {
		if (bits != 32)
			return EVB_EWAVFMT;
	} else {
		return EVB_EWAVFMT;
	}
	if (align != channels * (bits / 8))
		return EVB_EWAVFMT;
	info->rate = rate;
	info->channels = channels;
	info->bits = bits;
	info->format = format;
	*block_align = align;
	return 0;
}

int evb_wav_parse(const uint8_t *buf, size_t len, struct evb_wav_info *info)
{
	struct evb_wav_info w;
	uint16_t align = 0;
	int have_fmt = 0;
	size_t pos = 12;

	memset(info, 0, sizeof(*info));
	memset(&w, 0, sizeof(w));
	if (len < 4 || memcmp(buf, "RIFF", 4) != 0)
		return EVB_EWAVBAD;
	if (len < 12)
		return EVB_EWAVTRUNC;
	if (memcmp(buf + 8, "WAVE", 4) != 0)
		return EVB_EWAVBAD;
	/* The RIFF size is ignored: streaming writers leave it 0 or wrong. */
	while (pos < len) {
		size_t left;
		uint32_t size;
		const uint8_t *id;

		if (len - pos < 8)
			return EVB_EWAVTRUNC;
		id = buf + pos;
		size = evb_get_le32(buf + pos + 4);
		pos += 8;
		left = len - pos;
		if (memcmp(id, "data", 4) == 0) {
			size_t n;
			if (!have_fmt)
				return EVB_EWAVBAD;
			if (size == 0 || size == 0xFFFFFFFFu) {
				n = left - left % align;
			} else {
				if (size > left || size % align != 0)
					return EVB_EWAVTRUNC;
				n = size;
			}
			w.data = buf + pos;
			w.data_len = n;
			w.frames = n / align;
			*info = w;
			return 0;
		}
		if (size > left)
			return EVB_EWAVTRUNC;
		if (memcmp(id, "fmt ", 4) == 0) {
			int e = evb__parse_fmt(buf + pos, size, &w, &align);
			if (e)
				return e;
			have_fmt = 1;
		}
		/* Chunks are padded to even sizes; the pad may be missing at EOF. */
		pos += size;
		if ((size & 1) && pos < len)
			pos++;
	}
	return EVB_EWAVTRUNC;
}

static inline int32_t evb__sample16(const struct evb_wav_info *info, const uint8_t *p)
{
	switch (info->format == EVB_WAV_FMT_FLOAT ? 0 : info->bits) {
	case 8:
		return ((int32_t)p[0] - 128) * 256;
	case 16:
		return (int16_t)evb_get_le16(p);
	case 24:
		return (int16_t)(uint16_t)(p[1] | (p[2] << 8));
	case 32:
		return (int16_t)(uint16_t)(p[2] | (p[3] << 8));
	default: {
		union { uint32_t u; float f; } v;
		v.u = evb_get_le32(p);
		if (!(v.f > -1.0f))
			return v.f != v.f ? 0 : -32767; /* NaN gives silence */
		if (v.f >= 1.0f)
			return 32767;
		return (int32_t)lrintf(v.f * 32767.0f);
	}
	}
}

size_t evb_wav_to_mono16(const struct evb_wav_info *info, int16_t *out, size_t cap)
{
	size_t n = info->frames < cap ? info->frames : cap;
	unsigned ch = info->channels, bps = info->bits / 8u;
	const uint8_t *p = info->data;

	if (ch == 0 || bps == 0)
		return 0;
	if (ch == 1 && bps == 2 && info->format == EVB_WAV_FMT_PCM) {
		evb_l16_decode(p, out, n);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		int32_t sum = 0;
		for (unsigned c = 0; c < ch; c++, p += bps)
			sum += evb__sample16(info, p);
		/* Division truncates toward zero, so the mean stays in range. */
		out[i] = (int16_t)(sum / (int32_t)ch);
	}
	return n;
}

void evb_wav_header(uint8_t out[44], uint32_t rate, uint16_t channels, uint32_t data_bytes)
{
	uint32_t riff = data_bytes > 0xFFFFFFFFu - 36 ? 0xFFFFFFFFu : data_bytes + 36;

	memcpy(out, "RIFF", 4);
	evb_put_le32(out + 4, riff);
	memcpy(out + 8, "WAVEfmt ", 8);
	evb_put_le32(out + 16, 16);
	evb_put_le16(out + 20, EVB_WAV_FMT_PCM);
	evb_put_le16(out + 22, channels);
	evb_put_le32(out + 24, rate);
	evb_put_le32(out + 28, rate * channels * 2u);
	evb_put_le16(out + 32, (uint16_t)(channels * 2u));
	evb_put_le16(out + 34, 16);
	memcpy(out + 36, "data", 4);
	evb_put_le32(out + 40, data_bytes);
}

int evb_wav_write_file(const char *path, uint32_t rate, const int16_t *pcm, size_t n)
{
	uint8_t buf[4096];
	int fd, e;

	if (n > (0xFFFFFFFFu - 36) / 2)
		return -EFBIG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	evb_wav_header(buf, rate, 1, (uint32_t)(n * 2));
	e = evb_write_all(fd, buf, 44);
	while (!e && n > 0) {
		size_t k = n < sizeof(buf) / 2 ? n : sizeof(buf) / 2;
		evb_l16_encode(pcm, buf, k);
		e = evb_write_all(fd, buf, k * 2);
		pcm += k;
		n -= k;
	}
	if (close(fd) < 0 && !e)
		e = -errno;
	return e;
}

int evb_file_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	size_t lim = max < SIZE_MAX ? max + 1 : SIZE_MAX; /* reading lim bytes means too big */
	struct stat st;
	uint8_t *b = NULL;
	size_t cap, n = 0;
	int fd, e = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		e = -errno;
		goto fail;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
		e = -EFBIG;
		goto fail;
	}
	/* One byte beyond the expected size notices a file that grew. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	if (cap > lim)
		cap = lim;
	b = malloc(cap);
	if (!b) {
		e = -ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t r;
		if (n == cap) {
			uint8_t *nb;
			if (cap >= lim) {
				e = -EFBIG;
				goto fail;
			}
			cap = cap > lim / 2 ? lim : cap * 2;
			nb = realloc(b, cap);
			if (!nb) {
				e = -ENOMEM;
				goto fail;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			e = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		e = -EFBIG;
		goto fail;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	close(fd);
	return e;
}
