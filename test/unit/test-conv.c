/* evb_conv: framing, flush, reset, WAV input, errors, and end-to-end
 * fidelity (SINAD by least-squares sine fit) of the call audio paths. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "evb_conv.h"
#include "evb_err.h"
#include "evb_g711.h"
#include "evb_util.h"
#include "evb_wav.h"
#include "sinad.h"
#include "tap.h"

struct sink {
	uint8_t *b;
	size_t n, cap;
	size_t frames, bad_len, ends;
	size_t want_len;
	size_t stop_after; /* 0: never stop */
	struct evb_conv *next; /* optional second stage fed frame by frame */
	struct sink *next_sink;
};

static int collect(void *arg, const uint8_t *data, size_t len, int end);

static int collect(void *arg, const uint8_t *data, size_t len, int end)
{
	struct sink *s = arg;
	if (len != s->want_len)
		s->bad_len++;
	if (end)
		s->ends++;
	s->frames++;
	if (s->next)
		evb_conv_push(s->next, data, len, collect, s->next_sink);
	if (s->n + len > s->cap) {
		s->cap = (s->n + len) * 2;
		s->b = realloc(s->b, s->cap);
	}
	memcpy(s->b + s->n, data, len);
	s->n += len;
	return s->stop_after && s->frames >= s->stop_after;
}

static void sink_init(struct sink *s, size_t want_len)
{
	memset(s, 0, sizeof(*s));
	s->want_len = want_len;
}

static struct evb_conv *mk(int in_codec, uint32_t in_rate, int out_codec, uint32_t out_rate,
			   float gain)
{
	struct evb_conv_opts o = {
		.in_codec = in_codec, .in_rate = in_rate, .out_codec = out_codec,
		.out_rate = out_rate, .quality = 5, .gain = gain, .frame_ms = 20,
	};
	return evb_conv_new(&o);
}

/* A mono 16-bit WAV of n samples of a sine in a malloc'd buffer. */
static uint8_t *sine_wav(uint32_t rate, size_t n, double freq, double amp, size_t *len)
{
	uint8_t *w = malloc(44 + 2 * n);
	evb_wav_header(w, rate, 1, (uint32_t)(2 * n));
	for (size_t i = 0; i < n; i++)
		evb_put_le16(w + 44 + 2 * i,
			     (uint16_t)(int16_t)lrint(amp * sin(2 * PI * freq * (double)i / rate)));
	*len = 44 + 2 * n;
	return w;
}

static void test_new(void)
{
	struct evb_conv_opts o = {
		.in_codec = EVB_CODEC_ULAW, .in_rate = 8000, .out_codec = EVB_CODEC_L16,
		.out_rate = 16000, .quality = 5, .gain = 1.0f, .frame_ms = 20,
	};
	struct evb_conv_opts b;
	struct evb_conv *c;

	c = evb_conv_new(&o);
	ok(c && evb_conv_frame_bytes(c) == 640, "ulaw/8000 -> l16/16000: 640-byte frames");
	evb_conv_free(c);
	c = mk(EVB_CODEC_L16, 16000, EVB_CODEC_ULAW, 8000, 1.0f);
	ok(c && evb_conv_frame_bytes(c) == 160, "l16/16000 -> ulaw/8000: 160-byte frames");
	evb_conv_free(c);
	c = mk(EVB_CODEC_WAV, 0, EVB_CODEC_L16, 24000, 1.0f);
	ok(c && evb_conv_frame_bytes(c) == 960, "wav -> l16/24000: 960-byte frames");
	evb_conv_free(c);
	evb_conv_free(NULL);

	b = o; b.in_codec = EVB_CODEC_NONE;
	errno = 0;
	ok(!evb_conv_new(&b) && errno == EINVAL, "input codec none is EINVAL");
	b = o; b.out_codec = EVB_CODEC_WAV;
	errno = 0;
	ok(!evb_conv_new(&b) && errno == EINVAL, "output codec wav is EINVAL");
	b = o; b.in_rate = 0;
	errno = 0;
	ok(!evb_conv_new(&b) && errno == EINVAL, "input rate 0 is EINVAL");
	b = o; b.out_rate = 11025;
	errno = 0;
	ok(!evb_conv_new(&b) && errno == EINVAL, "11025 Hz cannot make whole 20 ms frames");
	b = o; b.frame_ms = 0;
	errno = 0;
	ok(!evb_conv_new(&b) && errno == EINVAL, "frame_ms 0 is EINVAL");
	b = o; b.quality = 11;
	errno = 0;
	ok(!evb_conv_new(&b) && errno == EINVAL, "quality 11 is EINVAL");
	b = o; b.gain = -1.0f;
	errno = 0;
	ok(!evb_conv_new(&b) && errno == EINVAL, "negative gain is EINVAL");
}

static void test_framing(void)
{
	struct evb_conv *c = mk(EVB_CODEC_ULAW, 8000, EVB_CODEC_L16, 8000, 1.0f);
	struct sink s;
	uint8_t u[400];
	int16_t want[160];
	int bad = 0;

	sink_init(&s, 320);
	for (int i = 0; i < 400; i++)
		u[i] = (uint8_t)(i * 7);
	is_int(evb_conv_push(c, u, 100, collect, &s), 0, "push 100 mu-law bytes");
	ok(s.frames == 0 && evb_conv_pending(c) == 100, "no frame yet, 100 pending");
	is_int(evb_conv_push(c, u + 100, 60, collect, &s), 0, "push 60 more");
	ok(s.frames == 1 && s.bad_len == 0 && evb_conv_pending(c) == 0, "one 320-byte frame");
	evb_ulaw_decode(u, want, 160);
	for (int i = 0; i < 160; i++)
		if ((int16_t)evb_get_le16(s.b + 2 * i) != want[i])
			bad++;
	is_int(bad, 0, "same-rate frame is the exact decode");
	is_int(evb_conv_push(c, u + 160, 240, collect, &s), 0, "push 240");
	ok(s.frames == 2 && evb_conv_pending(c) == 80, "one more frame, 80 pending");
	is_int(evb_conv_flush(c, collect, &s), 1, "flush emits the rest");
	ok(s.frames == 3 && s.ends == 1 && s.bad_len == 0, "padded frame has end=1");
	bad = 0;
	for (int i = 80; i < 160; i++)
		if (s.b[640 + 2 * i] || s.b[640 + 2 * i + 1])
			bad++;
	is_int(bad, 0, "l16 padding is 0x00");
	is_int(evb_conv_flush(c, collect, &s), 0, "second flush has nothing");
	is_int(s.frames, 3, "  and does not call back");
	evb_conv_free(c);

	free(s.b);

	/* L16 in: odd length refused. mu-law out: padding 0xFF. */
	c = mk(EVB_CODEC_L16, 8000, EVB_CODEC_ULAW, 8000, 1.0f);
	sink_init(&s, 160);
	is_int(evb_conv_push(c, u, 3, collect, &s), -EINVAL, "odd L16 length is -EINVAL");
	ok(s.frames == 0 && evb_conv_pending(c) == 0, "  nothing emitted or kept");
	is_int(evb_conv_push(c, u, 20, collect, &s), 0, "10 samples");
	is_int(evb_conv_flush(c, collect, &s), 1, "flush");
	bad = 0;
	for (int i = 10; i < 160; i++)
		if (s.b[i] != 0xFF)
			bad++;
	ok(s.frames == 1 && bad == 0, "mu-law padding is 0xFF");
	is_int(evb_conv_push(c, u, 20, collect, &s), 0, "10 samples again");
	evb_conv_reset(c);
	is_int(evb_conv_pending(c), 0, "reset drops the unfinished frame");
	is_int(evb_conv_flush(c, collect, &s), 0, "  so flush has nothing");
	evb_conv_free(c);

	free(s.b);

	/* Pass-through (same codec and rate) keeps bytes. */
	c = mk(EVB_CODEC_L16, 16000, EVB_CODEC_L16, 16000, 1.0f);
	sink_init(&s, 640);
	evb_conv_push(c, u, 400, collect, &s);
	evb_conv_push(c, u, 400, collect, &s);
	ok(s.frames == 1 && memcmp(s.b, u, 400) == 0 && memcmp(s.b + 400, u, 240) == 0 &&
	   evb_conv_pending(c) == 80, "l16 pass-through frames the bytes unchanged");
	evb_conv_free(c);
	free(s.b);

	/* A callback that says stop ends the push. */
	c = mk(EVB_CODEC_ULAW, 8000, EVB_CODEC_ULAW, 8000, 1.0f);
	sink_init(&s, 160);
	s.stop_after = 1;
	is_int(evb_conv_push(c, u, 400, collect, &s), 0, "push with a stopping callback");
	ok(s.frames == 1 && evb_conv_pending(c) == 0, "  one frame, rest dropped");
	evb_conv_free(c);
	free(s.b);
}

static void test_wav_input(void)
{
	struct evb_conv *c = mk(EVB_CODEC_WAV, 0, EVB_CODEC_ULAW, 8000, 1.0f);
	struct sink s;
	size_t len, len2;
	uint8_t *w = sine_wav(48000, 48000, 440, 16384, &len);
	uint8_t *w2 = sine_wav(24000, 12000, 440, 16384, &len2);
	int16_t *pcm = malloc(16000 * sizeof(*pcm));

	sink_init(&s, 160);
	is_int(evb_conv_push(c, w, len, collect, &s), 0, "1 s WAV 48 kHz -> mu-law 8 kHz");
	ok(s.frames == 50 && s.bad_len == 0 && evb_conv_pending(c) == 0, "  exactly 50 frames (%zu)",
	   s.frames);
	is_int(evb_conv_push(c, w, 100, collect, &s), EVB_EWAVTRUNC, "cut WAV is EVB_EWAVTRUNC");
	memcpy(w, "RIFX", 4);
	is_int(evb_conv_push(c, w, len, collect, &s), EVB_EWAVBAD, "bad magic is EVB_EWAVBAD");
	ok(s.frames == 50 && evb_conv_pending(c) == 0, "  bad WAVs emit nothing");
	is_int(evb_conv_push(c, w2, len2, collect, &s), 0, "then 0.5 s at 24 kHz (rate change)");
	ok(s.frames == 75 && evb_conv_pending(c) == 0, "  25 more frames (%zu)", s.frames);
	evb_ulaw_decode(s.b + 8000, pcm, 2400);
	{
		double q = sinad(pcm + 400, 2000, 440, 8000);
		diag("440 Hz after the 24 kHz WAV: SINAD %.1f dB", q);
		ok(q > 30, "  the 24 kHz WAV is resampled at its own rate (SINAD %.1f)", q);
	}
	evb_conv_free(c);
	free(s.b);

	/* WAV split in 20 ms files equals one big WAV (state kept). */
	{
		struct evb_conv *c1 = mk(EVB_CODEC_WAV, 0, EVB_CODEC_L16, 16000, 1.0f);
		struct evb_conv *c2 = mk(EVB_CODEC_WAV, 0, EVB_CODEC_L16, 16000, 1.0f);
		struct sink s1, s2;
		uint8_t *piece = malloc(44 + 1920);
		size_t wl;
		uint8_t *whole = sine_wav(48000, 48000, 1000, 16384, &wl);
		sink_init(&s1, 640);
		sink_init(&s2, 640);
		evb_conv_push(c1, whole, wl, collect, &s1);
		for (size_t off = 0; off < 48000; off += 960) {
			evb_wav_header(piece, 48000, 1, 1920);
			memcpy(piece + 44, whole + 44 + 2 * off, 1920);
			evb_conv_push(c2, piece, 44 + 1920, collect, &s2);
		}
		ok(s1.n == 32000 && s1.n == s2.n && memcmp(s1.b, s2.b, s1.n) == 0,
		   "50 WAVs of 20 ms give the same bytes as one WAV of 1 s");
		for (size_t i = 0; i < 16000; i++)
			pcm[i] = (int16_t)evb_get_le16(s1.b + 2 * i);
		{
			double q = sinad(pcm + 1600, 12800, 1000, 16000);
			diag("1 kHz WAV 48k -> l16 16k: SINAD %.1f dB", q);
			ok(q >= 60, "WAV 48k -> l16 16k SINAD >= 60 dB (%.1f)", q);
		}
		evb_conv_free(c1);
		evb_conv_free(c2);
		free(s1.b);
		free(s2.b);
		free(piece);
		free(whole);
	}

	/* Gain stage inside the conv: full scale at 2.8 never hits the rails. */
	{
		struct evb_conv *g = mk(EVB_CODEC_WAV, 0, EVB_CODEC_L16, 16000, 2.8f);
		struct sink sg;
		size_t gl;
		uint8_t *loud = sine_wav(16000, 16000, 440, 32767, &gl);
		int rail = 0, peak = 0;
		sink_init(&sg, 640);
		evb_conv_push(g, loud, gl, collect, &sg);
		for (size_t i = 0; i < sg.n / 2; i++) {
			int v = (int16_t)evb_get_le16(sg.b + 2 * i);
			if (v >= 32767 || v <= -32767)
				rail++;
			if (abs(v) > peak)
				peak = abs(v);
		}
		ok(sg.n == 32000 && rail == 0, "gain 2.8 on a full-scale WAV: no rail (peak %d)", peak);
		evb_conv_free(g);
		free(sg.b);
		free(loud);
	}
	free(w);
	free(w2);
	free(pcm);
}

/* mu-law 8k -> L16 16k -> mu-law 8k through two convs in 20 ms pushes
 * against a plain mu-law encode/decode of the same sine. */
static void test_roundtrip(double freq)
{
	struct evb_conv *up = mk(EVB_CODEC_ULAW, 8000, EVB_CODEC_L16, 16000, 1.0f);
	struct evb_conv *down = mk(EVB_CODEC_L16, 16000, EVB_CODEC_ULAW, 8000, 1.0f);
	struct sink s16, s8;
	size_t n = 16000; /* 2 s */
	int16_t *x = malloc(n * sizeof(*x)), *ref = malloc(n * sizeof(*ref));
	int16_t *y = malloc(n * sizeof(*y));
	uint8_t *u = malloc(n);
	double q_ref, q_path;

	for (size_t i = 0; i < n; i++)
		x[i] = (int16_t)lrint(16384 * sin(2 * PI * freq * (double)i / 8000));
	evb_ulaw_encode(x, u, n);
	evb_ulaw_decode(u, ref, n);
	sink_init(&s16, 640);
	sink_init(&s8, 160);
	s16.next = down;
	s16.next_sink = &s8;
	for (size_t off = 0; off < n; off += 160)
		evb_conv_push(up, u + off, 160, collect, &s16);
	evb_ulaw_decode(s8.b, y, s8.n);
	/* Skip 100 ms of filter transient; fit 1.5 s. */
	q_ref = sinad(ref + 800, 12000, freq, 8000);
	q_path = sinad(y + 800, 12000, freq, 8000);
	diag("%.0f Hz -6 dBFS: SINAD plain mu-law %.2f dB, via l16/16k and back %.2f dB "
	     "(loss %.2f dB)", freq, q_ref, q_path, q_ref - q_path);
	ok(s8.n == n && s16.bad_len == 0 && s8.bad_len == 0 && q_path >= q_ref - 3.0,
	   "%.0f Hz mu-law -> l16/16k -> mu-law loses <= 3 dB SINAD (%.2f)", freq,
	   q_ref - q_path);
	evb_conv_free(up);
	evb_conv_free(down);
	free(s16.b);
	free(s8.b);
	free(x);
	free(ref);
	free(y);
	free(u);
}

int main(void)
{
	test_new();
	test_framing();
	test_wav_input();
	test_roundtrip(440);
	test_roundtrip(1000);
	return done_testing();
}
