/* RIFF/WAVE reader and writer: chunk walking, formats, malformed input. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_util.h"
#include "evb_wav.h"
#include "tap.h"

struct wb {
	uint8_t b[4096];
	size_t n;
};

static void wb_raw(struct wb *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void wb_riff(struct wb *w)
{
	w->n = 0;
	wb_raw(w, "RIFF\0\0\0\0WAVE", 12);
}

/* Appends a chunk with its declared size, the bytes and the pad byte. */
static void wb_chunk(struct wb *w, const char *id, uint32_t declared, const void *p, size_t n)
{
	uint8_t h[8];
	memcpy(h, id, 4);
	evb_put_le32(h + 4, declared);
	wb_raw(w, h, 8);
	if (n)
		wb_raw(w, p, n);
	if (n & 1)
		w->b[w->n++] = 0;
}

static void wb_fix_riff(struct wb *w)
{
	evb_put_le32(w->b + 4, (uint32_t)(w->n - 8));
}

static void fmt16(uint8_t f[16], uint16_t format, uint16_t ch, uint32_t rate, uint16_t bits)
{
	evb_put_le16(f, format);
	evb_put_le16(f + 2, ch);
	evb_put_le32(f + 4, rate);
	evb_put_le32(f + 8, rate * ch * (bits / 8u));
	evb_put_le16(f + 12, (uint16_t)(ch * (bits / 8u)));
	evb_put_le16(f + 14, bits);
}

static void fmt_ext(uint8_t f[40], uint16_t sub, uint16_t ch, uint32_t rate, uint16_t bits)
{
	static const uint8_t tail[14] = { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
					  0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71 };
	fmt16(f, 0xFFFE, ch, rate, bits);
	evb_put_le16(f + 16, 22);
	evb_put_le16(f + 18, bits);
	evb_put_le32(f + 20, ch == 2 ? 3 : 4);
	evb_put_le16(f + 24, sub);
	memcpy(f + 26, tail, 14);
}

static const int16_t pcm4[4] = { 0, 1000, -1000, 32767 };

/* A mono 16-bit file with pcm4 and optional LIST chunks around fmt. */
static void make_basic(struct wb *w, int list_before, int list_after)
{
	uint8_t f[16], d[8];
	static const char info[] = "INFOISFT\x05\0\0\0evb!\0"; /* 17 bytes: odd */
	fmt16(f, 1, 1, 16000, 16);
	for (int i = 0; i < 4; i++)
		evb_put_le16(d + 2 * i, (uint16_t)pcm4[i]);
	wb_riff(w);
	if (list_before)
		wb_chunk(w, "LIST", 17, info, 17);
	wb_chunk(w, "fmt ", 16, f, 16);
	if (list_after) {
		wb_chunk(w, "LIST", 17, info, 17);
		wb_chunk(w, "fact", 4, "\4\0\0\0", 4);
	}
	wb_chunk(w, "data", 8, d, 8);
	wb_fix_riff(w);
}

static int same4(const int16_t *a)
{
	return memcmp(a, pcm4, sizeof(pcm4)) == 0;
}

int main(void)
{
	struct wb w;
	struct evb_wav_info info;
	int16_t out[64];
	uint8_t f[40], d[64];

	/* Plain, and with LIST chunks (odd size, padded) before/after fmt. */
	for (int v = 0; v < 3; v++) {
		char name[80];
		make_basic(&w, v == 1, v == 2);
		snprintf(name, sizeof(name), "parse basic variant %d", v);
		is_int(evb_wav_parse(w.b, w.n, &info), 0, name);
		ok(info.rate == 16000 && info.channels == 1 && info.bits == 16 &&
		   info.format == 1 && info.frames == 4 && info.data_len == 8,
		   "  fields (rate %u ch %u bits %u frames %zu)", info.rate, info.channels,
		   info.bits, info.frames);
		is_int(evb_wav_to_mono16(&info, out, 64), 4, "  4 samples");
		ok(same4(out), "  samples exact");
	}
	make_basic(&w, 0, 0);
	is_int(evb_wav_to_mono16(&info, out, 2), 2, "to_mono16 honours cap");

	/* Trailing chunk after data is ignored; odd chunk whose pad is missing. */
	make_basic(&w, 0, 0);
	wb_chunk(&w, "LIST", 3, "abc", 3);
	w.n--; /* drop the pad byte at end of file */
	is_int(evb_wav_parse(w.b, w.n, &info), 0, "chunk after data ignored");

	/* Stereo 16-bit: channels averaged. */
	fmt16(f, 1, 2, 8000, 16);
	{
		int16_t s[6] = { 1000, 3000, -32768, -32768, 32767, -32768 };
		for (int i = 0; i < 6; i++)
			evb_put_le16(d + 2 * i, (uint16_t)s[i]);
	}
	wb_riff(&w);
	wb_chunk(&w, "fmt ", 16, f, 16);
	wb_chunk(&w, "data", 12, d, 12);
	is_int(evb_wav_parse(w.b, w.n, &info), 0, "stereo parses");
	is_int(evb_wav_to_mono16(&info, out, 64), 3, "stereo: 3 frames");
	ok(out[0] == 2000 && out[1] == -32768 && out[2] == 0, "stereo downmix %d %d %d", out[0],
	   out[1], out[2]);

	/* 8-bit unsigned. */
	fmt16(f, 1, 1, 8000, 8);
	wb_riff(&w);
	wb_chunk(&w, "fmt ", 16, f, 16);
	wb_chunk(&w, "data", 3, "\x80\x00\xFF", 3);
	is_int(evb_wav_parse(w.b, w.n, &info), 0, "8-bit parses (odd data chunk padded)");
	is_int(evb_wav_to_mono16(&info, out, 64), 3, "8-bit: 3 samples");
	ok(out[0] == 0 && out[1] == -32768 && out[2] == 32512, "8-bit values %d %d %d", out[0],
	   out[1], out[2]);

	/* 24-bit. */
	fmt16(f, 1, 1, 48000, 24);
	wb_riff(&w);
	wb_chunk(&w, "fmt ", 16, f, 16);
	wb_chunk(&w, "data", 9, "\xFF\x34\x12\x00\x00\x80\xFF\xFF\xFF", 9);
	is_int(evb_wav_parse(w.b, w.n, &info), 0, "24-bit parses");
	is_int(evb_wav_to_mono16(&info, out, 64), 3, "24-bit: 3 samples");
	ok(out[0] == 0x1234 && out[1] == -32768 && out[2] == -1, "24-bit values %d %d %d", out[0],
	   out[1], out[2]);

	/* 32-bit integer. */
	fmt16(f, 1, 1, 48000, 32);
	wb_riff(&w);
	wb_chunk(&w, "fmt ", 16, f, 16);
	wb_chunk(&w, "data", 8, "\xFF\xFF\x34\x12\x00\x00\x00\x80", 8);
	is_int(evb_wav_parse(w.b, w.n, &info), 0, "32-bit parses");
	is_int(evb_wav_to_mono16(&info, out, 64), 2, "32-bit: 2 samples");
	ok(out[0] == 0x1234 && out[1] == -32768, "32-bit values %d %d", out[0], out[1]);

	/* Float32, clamped; NaN is silence. */
	{
		float fv[6] = { 0.5f, -0.25f, 2.0f, -3.0f, 1.0f, 0.0f };
		fv[5] = NAN;
		fmt16(f, 3, 1, 24000, 32);
		for (int i = 0; i < 6; i++) {
			union { float f; uint32_t u; } c = { .f = fv[i] };
			evb_put_le32(d + 4 * i, c.u);
		}
		wb_riff(&w);
		wb_chunk(&w, "fmt ", 16, f, 16);
		wb_chunk(&w, "data", 24, d, 24);
		is_int(evb_wav_parse(w.b, w.n, &info), 0, "float32 parses");
		is_int(info.format, 3, "  format 3");
		is_int(evb_wav_to_mono16(&info, out, 64), 6, "float32: 6 samples");
		ok(out[0] == 16384 && out[1] == -8192 && out[2] == 32767 && out[3] == -32767 &&
		   out[4] == 32767 && out[5] == 0,
		   "float32 values %d %d %d %d %d %d", out[0], out[1], out[2], out[3], out[4], out[5]);
	}

	/* WAVE_FORMAT_EXTENSIBLE, PCM 16-bit stereo and float. */
	fmt_ext(f, 1, 2, 16000, 16);
	{
		int16_t s[4] = { 100, 300, -5, -7 };
		for (int i = 0; i < 4; i++)
			evb_put_le16(d + 2 * i, (uint16_t)s[i]);
	}
	wb_riff(&w);
	wb_chunk(&w, "fmt ", 40, f, 40);
	wb_chunk(&w, "data", 8, d, 8);
	is_int(evb_wav_parse(w.b, w.n, &info), 0, "extensible PCM parses");
	ok(info.format == 1 && info.channels == 2 && info.frames == 2, "  resolved to PCM stereo");
	evb_wav_to_mono16(&info, out, 64);
	ok(out[0] == 200 && out[1] == -6, "  downmix %d %d", out[0], out[1]);
	fmt_ext(f, 3, 1, 48000, 32);
	wb_riff(&w);
	wb_chunk(&w, "fmt ", 40, f, 40);
	wb_chunk(&w, "data", 4, "\0\0\0\x3f", 4); /* 0.5f */
	is_int(evb_wav_parse(w.b, w.n, &info), 0, "extensible float parses");
	evb_wav_to_mono16(&info, out, 64);
	ok(info.format == 3 && out[0] == 16384, "  float sample %d", out[0]);
	f[26] ^= 1; /* not a KSDATAFORMAT subtype GUID */
	wb_riff(&w);
	wb_chunk(&w, "fmt ", 40, f, 40);
	wb_chunk(&w, "data", 4, "\0\0\0\x3f", 4);
	is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVFMT, "extensible with unknown GUID");

	/* Streaming placeholder sizes run to the end and drop partial frames. */
	for (int v = 0; v < 2; v++) {
		uint32_t ph = v ? 0xFFFFFFFFu : 0;
		fmt16(f, 1, 2, 8000, 16);
		wb_riff(&w);
		evb_put_le32(w.b + 4, ph);
		wb_chunk(&w, "fmt ", 16, f, 16);
		wb_chunk(&w, "data", ph, NULL, 0);
		wb_raw(&w, "\1\0\2\0\3\0\4\0\5\0\6", 11); /* 2 frames + 3 stray bytes */
		is_int(evb_wav_parse(w.b, w.n, &info), 0,
		       v ? "data size 0xFFFFFFFF runs to the end" : "data size 0 runs to the end");
		ok(info.frames == 2 && info.data_len == 8, "  2 whole frames (%zu)", info.frames);
	}

	/* Rejections. */
	make_basic(&w, 0, 0);
	memcpy(w.b, "RIFX", 4);
	is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVBAD, "wrong RIFF magic");
	make_basic(&w, 0, 0);
	memcpy(w.b + 8, "AVI ", 4);
	is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVBAD, "wrong WAVE magic");
	is_int(evb_wav_parse((const uint8_t *)"", 0, &info), EVB_EWAVBAD, "empty buffer");
	is_int(evb_wav_parse((const uint8_t *)"RIFF\0\0", 6, &info), EVB_EWAVTRUNC,
	       "cut inside the RIFF header");
	{
		uint8_t df[16];
		fmt16(df, 1, 1, 8000, 16);
		wb_riff(&w);
		wb_chunk(&w, "data", 2, "\0\0", 2);
		wb_chunk(&w, "fmt ", 16, df, 16);
		is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVBAD, "data before fmt");
	}
	{
		static const struct { uint16_t format, ch, bits; uint32_t rate; const char *name; } bad[] = {
			{ 2, 1, 4, 8000, "ADPCM (format 2)" },
			{ 1, 1, 12, 8000, "12-bit PCM" },
			{ 1, 0, 16, 8000, "0 channels" },
			{ 1, 9, 16, 8000, "9 channels" },
			{ 1, 1, 16, 0, "rate 0" },
			{ 1, 1, 16, 384001, "rate 384001" },
			{ 3, 1, 64, 8000, "float64" },
			{ 3, 1, 16, 8000, "16-bit float" },
			{ 6, 1, 8, 8000, "A-law (format 6)" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			fmt16(f, bad[i].format, bad[i].ch, bad[i].rate, bad[i].bits);
			wb_riff(&w);
			wb_chunk(&w, "fmt ", 16, f, 16);
			wb_chunk(&w, "data", 4, "\0\0\0\0", 4);
			is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVFMT, bad[i].name);
		}
		fmt16(f, 1, 2, 8000, 16);
		evb_put_le16(f + 12, 3); /* block_align inconsistent */
		wb_riff(&w);
		wb_chunk(&w, "fmt ", 16, f, 16);
		wb_chunk(&w, "data", 4, "\0\0\0\0", 4);
		is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVFMT, "bad block_align");
		fmt16(f, 1, 1, 8000, 16);
		wb_riff(&w);
		wb_chunk(&w, "fmt ", 14, f, 14);
		wb_chunk(&w, "data", 4, "\0\0\0\0", 4);
		is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVFMT, "fmt chunk of 14 bytes");
	}
	/* Truncations of a valid file at every length. */
	{
		int allbad = 1;
		make_basic(&w, 1, 1);
		for (size_t n = 4; n < w.n; n++) {
			int e = evb_wav_parse(w.b, n, &info);
			if (e != EVB_EWAVTRUNC) {
				allbad = 0;
				diag("cut at %zu of %zu gave %d", n, w.n, e);
			}
		}
		ok(allbad, "every cut of a valid file is EVB_EWAVTRUNC");
	}
	make_basic(&w, 0, 0);
	evb_put_le32(w.b + w.n - 12, 10); /* data declares 10 > 8 bytes */
	is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVTRUNC, "data larger than the buffer");
	make_basic(&w, 0, 0);
	evb_put_le32(w.b + w.n - 12, 7); /* not a whole number of frames */
	is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVTRUNC, "data size not a multiple of block_align");
	{
		uint8_t ff[16];
		fmt16(ff, 1, 1, 8000, 16);
		wb_riff(&w);
		wb_chunk(&w, "LIST", 0xFFFFFFF0u, NULL, 0);
		is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVTRUNC, "huge chunk size");
		wb_riff(&w);
		wb_chunk(&w, "fmt ", 16, ff, 16);
		is_int(evb_wav_parse(w.b, w.n, &info), EVB_EWAVTRUNC, "no data chunk");
	}

	/* Writer: header bytes and a file round trip. */
	{
		uint8_t h[44];
		static const uint8_t want[44] = {
			'R', 'I', 'F', 'F', 0x24, 0x7D, 0, 0, 'W', 'A', 'V', 'E',
			'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
			0x80, 0x3E, 0, 0, 0, 0x7D, 0, 0, 2, 0, 16, 0,
			'd', 'a', 't', 'a', 0, 0x7D, 0, 0,
		};
		evb_wav_header(h, 16000, 1, 32000);
		ok(memcmp(h, want, 44) == 0, "canonical 44-byte header");
		is_int(evb_wav_parse(h, 44, &info), EVB_EWAVTRUNC, "header alone is truncated");
	}
	{
		char path[] = "/tmp/evb-test-wav-XXXXXX";
		int16_t pcm[1000];
		uint8_t *buf;
		size_t len;
		int fd = mkstemp(path);
		ok(fd >= 0, "temp file");
		close(fd);
		for (int i = 0; i < 1000; i++)
			pcm[i] = (int16_t)(i * 65 - 32768);
		is_int(evb_wav_write_file(path, 22050, pcm, 1000), 0, "write file");
		is_int(evb_file_read(path, 1 << 20, &buf, &len), 0, "read file");
		is_int(len, 44 + 2000, "file size");
		is_int(evb_wav_parse(buf, len, &info), 0, "written file parses");
		ok(info.rate == 22050 && info.frames == 1000, "  rate and frames");
		{
			int16_t *back = malloc(1000 * sizeof(*back));
			is_int(evb_wav_to_mono16(&info, back, 1000), 1000, "  1000 samples");
			ok(memcmp(back, pcm, sizeof(pcm)) == 0, "  round trip exact");
			free(back);
		}
		free(buf);
		is_int(evb_file_read(path, 2043, &buf, &len), -EFBIG, "file over max is -EFBIG");
		ok(buf == NULL, "  and no buffer");
		is_int(evb_file_read(path, 2044, &buf, &len), 0, "file of exactly max is read");
		free(buf);
		unlink(path);
		is_int(evb_file_read(path, 100, &buf, &len), -ENOENT, "missing file is -ENOENT");
		is_int(evb_wav_write_file("/nonexistent-dir/x.wav", 8000, pcm, 1), -ENOENT,
		       "write into a missing directory");
	}
	return done_testing();
}
