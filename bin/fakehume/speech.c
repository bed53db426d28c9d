/* The assistant's voice: espeak-ng run with uv_spawn (its WAV read from a
 * pipe, never blocking the loop) or, without it, a tone; resampled to
 * 48 kHz. And the deterministic prosody rule. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "evb_log.h"
#include "evb_resample.h"
#include "evb_util.h"
#include "evb_wav.h"
#include "fakehume.h"

#define SPEECH_MAX (32u << 20) /* bytes of espeak-ng output */
#define READ_CHUNK 65536

struct fh_synth {
	uv_loop_t *loop;
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer; /* tone path: runs done from the loop */
	int tone, open_handles, cancelled, exit_status, failed;
	char *text;
	uint8_t *buf;
	size_t len, cap;
	void (*done)(void *arg, const int16_t *pcm, size_t n);
	void *arg;
};

static void synth_free(struct fh_synth *s)
{
	free(s->text);
	free(s->buf);
	free(s);
}

/* A 440 Hz tone as long as the text would take to say (65 ms a character,
 * 0.4 to 8 s), at -10 dBFS with 10 ms fades. */
static int16_t *tone(const char *text, size_t *n)
{
	/* Replies of one length sound the same: the last tone made is kept
	 * (a benchmark's replies all have about the same length). */
	static int16_t *last;
	static size_t last_n;
	size_t ms = strlen(text) * 65, fade = FH_OUT_RATE / 100;
	int16_t *pcm;

	ms = ms < 400 ? 400 : ms > 8000 ? 8000 : ms;
	*n = ms * FH_OUT_RATE / 1000;
	if (!(pcm = malloc(*n * sizeof(*pcm))))
		return NULL;
	if (last && last_n == *n) {
		memcpy(pcm, last, *n * sizeof(*pcm));
		return pcm;
	}
	/* A rotating phasor instead of sin() per sample (a benchmark's replies
	 * cost the generator's core); re-read from sin/cos every 4800 samples,
	 * so rounding never builds up. */
	{
		double w = 2 * M_PI * 440.0 / FH_OUT_RATE, c = cos(w), sn = sin(w), x = 1, y = 0;

		for (size_t i = 0; i < *n; i++) {
			double g = i < fade ? (double)i / fade
				   : *n - i < fade ? (double)(*n - i) / fade : 1, t;

			if (i % 4800 == 0) {
				x = cos(w * (double)i);
				y = sin(w * (double)i);
			}
			pcm[i] = (int16_t)lrint(10362.0 * g * y);
			t = x * c - y * sn;
			y = x * sn + y * c;
			x = t;
		}
	}
	free(last);
	if ((last = malloc(*n * sizeof(*pcm)))) {
		memcpy(last, pcm, *n * sizeof(*pcm));
		last_n = *n;
	}
	return pcm;
}

/* espeak-ng writes to a pipe with placeholder sizes (0x7ffff000): set the
 * data chunk's size to what really came. */
static void fix_sizes(uint8_t *buf, size_t len)
{
	size_t off = 12;

	if (len < 12 || memcmp(buf, "RIFF", 4) != 0)
		return;
	evb_put_le32(buf + 4, (uint32_t)(len - 8));
	while (off + 8 <= len) {
		uint32_t sz = evb_get_le32(buf + off + 4);
		if (memcmp(buf + off, "data", 4) == 0) {
			if (sz > len - off - 8)
				evb_put_le32(buf + off + 4, (uint32_t)((len - off - 8) & ~(size_t)1));
			return;
		}
		if (sz > len - off - 8)
			return;
		off += 8 + sz + (sz & 1);
	}
}

/* espeak-ng's WAV as 48 kHz mono; NULL if it is not a usable WAV. */
static int16_t *convert(uint8_t *buf, size_t len, size_t *n)
{
	struct evb_wav_info wi;
	struct evb_resampler *r;
	int16_t *in, *out = NULL;
	size_t nin, pad;
	long got;

	fix_sizes(buf, len);
	if (evb_wav_parse(buf, len, &wi) < 0 || wi.frames == 0)
		return NULL;
	if (!(r = evb_resampler_new(wi.rate, FH_OUT_RATE, 5)))
		return NULL;
	/* Zeros after the speech push the resampler's delay out. */
	pad = (size_t)evb_resampler_latency(r) + 64;
	in = calloc(wi.frames + pad, sizeof(*in));
	nin = in ? evb_wav_to_mono16(&wi, in, wi.frames) + pad : 0;
	if (in && (out = malloc(evb_resampler_max_out(r, nin) * sizeof(*out)))) {
		got = evb_resampler_process(r, in, nin, out, evb_resampler_max_out(r, nin));
		if (got < 0) {
			free(out);
			out = NULL;
		} else {
			*n = (size_t)got;
		}
	}
	free(in);
	evb_resampler_free(r);
	return out;
}

/* Both handles are closed: deliver the speech (or a tone) and free s. */
static void finish(struct fh_synth *s)
{
	int16_t *pcm = NULL;
	size_t n = 0;

	if (!s->cancelled) {
		if (!s->tone && !s->failed && s->exit_status == 0)
			pcm = convert(s->buf, s->len, &n);
		if (!pcm && !s->tone)
			EVB_LOG(LOG_WARNING, "speech", "espeak-ng gave no usable WAV: a tone instead");
		if (!pcm)
			pcm = tone(s->text, &n);
		if (pcm)
			s->done(s->arg, pcm, n);
		else
			s->done(s->arg, NULL, 0);
	}
	free(pcm);
	synth_free(s);
}

static void handle_closed(uv_handle_t *h)
{
	struct fh_synth *s = h->data;

	if (--s->open_handles == 0)
		finish(s);
}

static void tone_cb(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, handle_closed);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct fh_synth *s = p->data;

	s->exit_status = status != 0 || sig != 0;
	uv_close((uv_handle_t *)p, handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct fh_synth *s = h->data;

	(void)hint;
	if (s->cap - s->len < READ_CHUNK && s->cap < SPEECH_MAX) {
		uint8_t *n = realloc(s->buf, s->cap + 4 * READ_CHUNK);
		if (n) {
			s->buf = n;
			s->cap += 4 * READ_CHUNK;
		}
	}
	b->base = (char *)s->buf + s->len;
	b->len = s->cap - s->len;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct fh_synth *s = st->data;

	(void)b;
	if (n > 0) {
		s->len += (size_t)n;
		if (s->len >= SPEECH_MAX) {
			s->failed = 1;
			uv_read_stop(st);
			uv_close((uv_handle_t *)st, handle_closed);
		}
		return;
	}
	if (n < 0) {
		if (n != UV_EOF)
			s->failed = 1;
		uv_read_stop(st);
		uv_close((uv_handle_t *)st, handle_closed);
	}
}

static int start_tone(struct fh_synth *s)
{
	s->tone = 1;
	s->open_handles = 1;
	uv_timer_init(s->loop, &s->timer);
	s->timer.data = s;
	return uv_timer_start(&s->timer, tone_cb, 0, 0);
}

struct fh_synth *fh_synth_start(uv_loop_t *loop, const char *text, const char *voice,
				int no_espeak,
				void (*done)(void *arg, const int16_t *pcm, size_t n), void *arg)
{
	struct fh_synth *s = calloc(1, sizeof(*s));
	uv_process_options_t po = { 0 };
	uv_stdio_container_t io[3];
	char *args[9];
	int r;

	if (!s || !(s->text = strdup(text))) {
		free(s);
		return NULL;
	}
	s->loop = loop;
	s->done = done;
	s->arg = arg;
	if (no_espeak) {
		start_tone(s);
		return s;
	}
	uv_pipe_init(loop, &s->out, 0);
	s->out.data = s;
	s->proc.data = s;
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&s->out;
	io[2].flags = UV_IGNORE;
	args[0] = "espeak-ng";
	args[1] = "--stdout";
	args[2] = "-v";
	args[3] = (char *)voice;
	args[4] = "-s";
	args[5] = "175";
	args[6] = "--";
	args[7] = s->text;
	args[8] = NULL;
	po.file = "espeak-ng";
	po.args = args;
	po.stdio = io;
	po.stdio_count = 3;
	po.exit_cb = on_exit_cb;
	r = uv_spawn(loop, &s->proc, &po);
	if (r < 0) {
		static int said;
		if (!said++)
			EVB_LOG(LOG_WARNING, "speech", "unable to run 'espeak-ng': %s; speaking "
				"with a tone", uv_strerror(r));
		/* A failed spawn still needs its handle closed. */
		s->open_handles = 3;
		uv_close((uv_handle_t *)&s->out, handle_closed);
		uv_close((uv_handle_t *)&s->proc, handle_closed);
		s->tone = 1;
		uv_timer_init(loop, &s->timer);
		s->timer.data = s;
		uv_timer_start(&s->timer, tone_cb, 0, 0);
		return s;
	}
	s->open_handles = 2;
	uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read);
	return s;
}

void fh_synth_cancel(struct fh_synth *s)
{
	if (!s)
		return;
	s->cancelled = 1;
	if (!s->tone && !uv_is_closing((uv_handle_t *)&s->proc))
		uv_process_kill(&s->proc, SIGTERM);
}

void fh_prosody(double L, double Z, double D, double scores[EVB_EVI_NEMOTIONS])
{
	for (int i = 0; i < EVB_EVI_NEMOTIONS; i++)
		scores[i] = round(1e6 * (0.5 + 0.5 * sin(1.3 * i + 3.1 * L + 2.3 * Z + 1.7 * D))) / 1e6;
}

static double clamp01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

void fh_features(double sumsq, uint64_t nsamples, uint64_t crossings, uint64_t duration_ms,
		 double *L, double *Z, double *D)
{
	double rms = nsamples ? sqrt(sumsq / (double)nsamples) / 32768.0 : 0;
	double db = rms > 0 ? 20 * log10(rms) : -120;

	*L = round(1e6 * clamp01((db + 60) / 60)) / 1e6;
	*Z = round(1e6 * clamp01(nsamples ? (double)crossings / (double)nsamples / 0.5 : 0)) / 1e6;
	*D = round(1e6 * clamp01((double)duration_ms / 10000.0)) / 1e6;
}
