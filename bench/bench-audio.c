/* Measures the cost of one 20 ms output frame for each conversion path of
 * evb_conv on one core; prints a markdown table and writes JSON. */
#define USAGE "bench-audio [-h] [json-path]"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "evb_conv.h"
#include "evb_g711.h"
#include "evb_resample.h"
#include "evb_util.h"
#include "evb_wav.h"

#define DEFAULT_JSON "build/bench/audio.json"
#define RUN_NS 700000000ull /* per path */
#define PI 3.14159265358979323846

struct path {
	const char *name;
	int in_codec;
	uint32_t in_rate;
	int out_codec;
	uint32_t out_rate;
	const uint8_t *in; /* one push */
	size_t in_len;
	double ns_per_frame;
	uint64_t frames;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int count_cb(void *arg, const uint8_t *data, size_t len, int end)
{
	uint64_t *frames = arg;
	(void)data;
	(void)len;
	(void)end;
	(*frames)++;
	return 0;
}

/* Speech-like test signal: a gliding 100-250 Hz voice with harmonics that
 * fall off with frequency, syllable-rate amplitude, and a little noise. */
static void speechish(int16_t *out, size_t n, uint32_t rate)
{
	double phase = 0;
	uint32_t seed = 12345;
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / rate;
		double f0 = 175 + 75 * sin(2 * PI * 1.3 * t);
		double env = 0.55 + 0.45 * sin(2 * PI * 4.0 * t);
		double v = 0;
		phase += 2 * PI * f0 / rate;
		for (int h = 1; h <= 20 && h * f0 < rate / 2.0; h++)
			v += sin(h * phase) / h;
		seed = seed * 1664525u + 1013904223u;
		v = env * v * 0.3 + ((double)(seed >> 16) / 65536.0 - 0.5) * 0.02;
		out[i] = (int16_t)lrint(v * 32767 > 32767 ? 32767 : v * 32767 < -32768 ? -32768 : v * 32767);
	}
}

static int bench(struct path *p)
{
	struct evb_conv_opts o = {
		.in_codec = p->in_codec, .in_rate = p->in_rate, .out_codec = p->out_codec,
		.out_rate = p->out_rate, .quality = EVB_RESAMPLE_QUALITY_DEFAULT, .gain = 1.0f,
		.frame_ms = 20,
	};
	struct evb_conv *c = evb_conv_new(&o);
	uint64_t frames = 0, t0, t;

	if (!c)
		return -errno;
	/* Warm up caches and the resampler. */
	for (int i = 0; i < 10; i++)
		evb_conv_push(c, p->in, p->in_len, count_cb, &frames);
	frames = 0;
	t0 = now_ns();
	do {
		for (int i = 0; i < 20; i++)
			evb_conv_push(c, p->in, p->in_len, count_cb, &frames);
		t = now_ns();
	} while (t - t0 < RUN_NS);
	evb_conv_free(c);
	p->frames = frames;
	p->ns_per_frame = frames ? (double)(t - t0) / (double)frames : 0;
	return 0;
}

static int mkdirs_for(const char *path)
{
	char dir[4096];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n + 1);
	for (char *s = dir + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *json = DEFAULT_JSON;
	int16_t *pcm8 = malloc(160 * sizeof(int16_t)), *pcm16 = malloc(320 * sizeof(int16_t));
	int16_t *pcm48 = malloc(48000 * sizeof(int16_t));
	uint8_t ulaw[160], l16[640];
	uint8_t *wav = malloc(44 + 96000);
	struct path paths[] = {
		{ "ulaw/8000 -> l16/8000", EVB_CODEC_ULAW, 8000, EVB_CODEC_L16, 8000, ulaw, 160, 0, 0 },
		{ "ulaw/8000 -> l16/16000", EVB_CODEC_ULAW, 8000, EVB_CODEC_L16, 16000, ulaw, 160, 0, 0 },
		{ "wav/48000 -> ulaw/8000", EVB_CODEC_WAV, 0, EVB_CODEC_ULAW, 8000, wav, 44 + 96000, 0, 0 },
		{ "wav/48000 -> l16/16000", EVB_CODEC_WAV, 0, EVB_CODEC_L16, 16000, wav, 44 + 96000, 0, 0 },
		{ "l16/16000 -> l16/16000", EVB_CODEC_L16, 16000, EVB_CODEC_L16, 16000, l16, 640, 0, 0 },
	};
	size_t np = sizeof(paths) / sizeof(paths[0]);
	FILE *f;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: %s\n", USAGE);
		return 0;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s\n", USAGE);
		return 100;
	}
	if (argc == 2)
		json = argv[1];
	if (!pcm8 || !pcm16 || !pcm48 || !wav) {
		fprintf(stderr, "bench-audio: out of memory\n");
		return 111;
	}
	speechish(pcm8, 160, 8000);
	speechish(pcm16, 320, 16000);
	speechish(pcm48, 48000, 48000);
	evb_ulaw_encode(pcm8, ulaw, 160);
	evb_l16_encode(pcm16, l16, 320);
	evb_wav_header(wav, 48000, 1, 96000);
	evb_l16_encode(pcm48, wav + 44, 48000);

	for (size_t i = 0; i < np; i++) {
		int e = bench(&paths[i]);
		if (e < 0) {
			fprintf(stderr, "bench-audio: unable to run '%s': %s\n", paths[i].name,
				strerror(-e));
			return 111;
		}
	}

	printf("| path | ns/frame | frames/s (1 core) | x real time |\n");
	printf("|---|---:|---:|---:|\n");
	for (size_t i = 0; i < np; i++) {
		double ns = paths[i].ns_per_frame;
		printf("| %s | %.0f | %.0f | %.0f |\n", paths[i].name, ns, 1e9 / ns, 20e6 / ns);
	}

	if (mkdirs_for(json) < 0 || !(f = fopen(json, "w"))) {
		fprintf(stderr, "bench-audio: unable to write '%s': %s\n", json, strerror(errno));
		return 111;
	}
	fprintf(f, "{\n  \"frame_ms\": 20,\n  \"quality\": %d,\n  \"paths\": [\n",
		EVB_RESAMPLE_QUALITY_DEFAULT);
	for (size_t i = 0; i < np; i++) {
		double ns = paths[i].ns_per_frame;
		fprintf(f,
			"    {\"path\": \"%s\", \"ns_per_frame\": %.1f, \"frames_per_s\": %.0f, "
			"\"x_realtime\": %.0f, \"frames\": %llu}%s\n",
			paths[i].name, ns, 1e9 / ns, 20e6 / ns, (unsigned long long)paths[i].frames,
			i + 1 < np ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "bench-audio: unable to write '%s': %s\n", json, strerror(errno));
		return 111;
	}
	printf("\nwrote %s\n", json);
	free(pcm8);
	free(pcm16);
	free(pcm48);
	free(wav);
	return 0;
}
