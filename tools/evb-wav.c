/* evb-wav: a WAV file to a frame stream for one call, and frame streams back
 * to WAV files (one per call and direction). */
#define USAGE                                                                    \
	"evb-wav to-frames [--as FMT|wav] [--dir up|down] [--call UUID] [--paced] "  \
	"[--chunk-ms N] FILE.wav\n"                                              \
	"       evb-wav to-wav [--out-dir DIR]"
#define HELP                                                                     \
	"to-frames: reads FILE.wav (any PCM WAV) and writes frames on stdout.\n"   \
	"  --as FMT       ulaw/8000 (default), l16/16000, ...: exact 20 ms frames;\n"\
	"                 'wav': WAV files of --chunk-ms each at the file's rate,\n"\
	"                 the last flagged as the end of the utterance (as evb-hume\n"\
	"                 passes EVI's audio_output on)\n"                      \
	"  --dir D        up (caller audio, default) or down (agent audio)\n"    \
	"  --call UUID    the call id (default: a random one, printed on stderr)\n"\
	"  --paced        emit in real time on an absolute schedule\n"            \
	"  --chunk-ms N   WAV chunk length for --as wav (default 1000)\n"        \
	"to-wav: reads frames on stdin and writes DIR/<call>-<dir>.wav for every\n"\
	"  call and direction with audio (16-bit mono at the stream's first rate),\n"\
	"  printing each path on stdout.\n"                                        \
	"  --out-dir DIR  where to write (default .)\n"                          \
	"Exit status: 0 ok, 1 bad input, 100 usage, 111 system error.\n"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evb_callmap.h"
#include "evb_conv.h"
#include "evb_err.h"
#include "evb_frame.h"
#include "evb_g711.h"
#include "evb_resample.h"
#include "evb_wav.h"

#define WAV_MAX_BYTES (512u << 20)
#define STREAM_MAX_SAMPLES (1u << 28)

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

struct sender {
	struct evb_frame_hdr h;
	int paced;
	uint64_t t0;
	uint64_t period_ns;
	int err;
};

static void pace(struct sender *s)
{
	struct timespec ts;
	uint64_t due = s->t0 + (uint64_t)s->h.seq * s->period_ns;
	ts.tv_sec = (time_t)(due / 1000000000u);
	ts.tv_nsec = (long)(due % 1000000000u);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void send_frame(struct sender *s, const uint8_t *data, size_t len, uint64_t media_us,
		       int end)
{
	if (s->err)
		return;
	if (s->paced)
		pace(s);
	s->h.len = (uint32_t)len;
	s->h.media_ts_us = media_us;
	s->h.capture_ns = evb_now_ns();
	s->h.flags = end ? EVB_FLAG_END : 0;
	s->err = evb_frame_write_fd(STDOUT_FILENO, &s->h, data);
	s->h.seq++;
}

static int pcm_cb(void *arg, const uint8_t *data, size_t len, int end)
{
	struct sender *s = arg;
	send_frame(s, data, len, (uint64_t)s->h.seq * 20000u, end);
	return s->err;
}

static int to_frames(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, 'a' },
		{ "dir", required_argument, NULL, 'd' },
		{ "call", required_argument, NULL, 'c' },
		{ "paced", no_argument, NULL, 'p' },
		{ "chunk-ms", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct sender s = { .h = { .kind = EVB_KIND_AUDIO, .dir = EVB_DIR_UP } };
	const char *as = "ulaw/8000", *call = NULL;
	struct evb_wav_info wi;
	uint8_t *buf;
	size_t len;
	long chunk_ms = 1000;
	int c, e, codec = 0;
	uint32_t rate = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': as = optarg; break;
		case 'd':
			if ((e = evb_dir_parse(optarg)) <= 0)
				return usage();
			s.h.dir = (uint8_t)e;
			break;
		case 'c': call = optarg; break;
		case 'p': s.paced = 1; break;
		case 'k':
			chunk_ms = strtol(optarg, NULL, 10);
			if (chunk_ms < 20 || chunk_ms > 60000)
				return usage();
			break;
		default: return usage();
		}
	}
	if (optind + 1 != argc)
		return usage();
	if (strcmp(as, "wav") != 0 && evb_format_parse(as, &codec, &rate) < 0) {
		fprintf(stderr, "evb-wav: --as: expected ulaw/RATE, l16/RATE or wav, got '%s'\n", as);
		return 100;
	}
	if (call) {
		if (evb_callid_parse(call, s.h.call_id) < 0) {
			fprintf(stderr, "evb-wav: --call: expected a UUID, got '%s'\n", call);
			return 100;
		}
	} else {
		char id[EVB_CALLID_STRLEN];
		evb_callid_random(s.h.call_id);
		evb_callid_format(s.h.call_id, id);
		fprintf(stderr, "evb-wav: call %s\n", id);
	}
	if ((e = evb_file_read(argv[optind], WAV_MAX_BYTES, &buf, &len)) < 0) {
		fprintf(stderr, "evb-wav: unable to read '%s': %s\n", argv[optind], evb_strerror(e));
		return 111;
	}
	if ((e = evb_wav_parse(buf, len, &wi)) < 0) {
		fprintf(stderr, "evb-wav: '%s': %s\n", argv[optind], evb_strerror(e));
		free(buf);
		return 1;
	}
	s.t0 = evb_now_ns();
	if (codec) {
		struct evb_conv_opts co = {
			.in_codec = EVB_CODEC_WAV, .out_codec = codec, .out_rate = rate,
			.quality = EVB_RESAMPLE_QUALITY_DEFAULT, .gain = 1.0f, .frame_ms = 20,
		};
		struct evb_conv *cv = evb_conv_new(&co);
		s.h.codec = (uint8_t)codec;
		s.h.rate = rate;
		s.period_ns = 20000000u;
		if (!cv) {
			fprintf(stderr, "evb-wav: unable to convert to %s: %s\n", as, strerror(errno));
			free(buf);
			return 111;
		}
		e = evb_conv_push(cv, buf, len, pcm_cb, &s);
		if (e == 0)
			evb_conv_flush(cv, pcm_cb, &s);
		evb_conv_free(cv);
	} else {
		/* WAV chunks of chunk_ms, each a complete file, as EVI sends them. */
		int16_t *pcm = malloc(wi.frames * sizeof(int16_t) + 1);
		size_t n = pcm ? evb_wav_to_mono16(&wi, pcm, wi.frames) : 0;
		size_t per = (size_t)wi.rate * (size_t)chunk_ms / 1000;
		uint8_t *chunk = malloc(44 + per * 2);
		s.h.codec = EVB_CODEC_WAV;
		s.period_ns = (uint64_t)chunk_ms * 1000000u;
		e = pcm && chunk ? 0 : -ENOMEM;
		for (size_t off = 0; off < n && !e; off += per) {
			size_t k = n - off < per ? n - off : per;
			evb_wav_header(chunk, wi.rate, 1, (uint32_t)(k * 2));
			evb_l16_encode(pcm + off, chunk + 44, k);
			send_frame(&s, chunk, 44 + k * 2, (uint64_t)off * 1000000u / wi.rate,
				   off + k >= n);
		}
		free(pcm);
		free(chunk);
	}
	free(buf);
	if (e < 0 || s.err < 0) {
		fprintf(stderr, "evb-wav: %s\n", evb_strerror(e < 0 ? e : s.err));
		return e < 0 && e != -ENOMEM ? 1 : 111;
	}
	return 0;
}

/* One call and direction being collected. */
struct stream {
	uint8_t id[EVB_CALLID_LEN];
	int dir;
	uint32_t rate;
	int16_t *pcm;
	size_t n, cap;
	struct evb_resampler *rs; /* when a later piece has another rate */
	uint32_t rs_in;
	struct stream *next;
};

static int append(struct stream *st, const int16_t *pcm, size_t n, uint32_t rate)
{
	int16_t *tmp = NULL;
	if (rate != st->rate) {
		long got;
		if (!st->rs || st->rs_in != rate) {
			evb_resampler_free(st->rs);
			st->rs = evb_resampler_new(rate, st->rate, EVB_RESAMPLE_QUALITY_DEFAULT);
			st->rs_in = rate;
			if (!st->rs)
				return -errno;
		}
		tmp = malloc(evb_resampler_max_out(st->rs, n) * sizeof(int16_t) + 2);
		if (!tmp)
			return -ENOMEM;
		got = evb_resampler_process(st->rs, pcm, n, tmp, evb_resampler_max_out(st->rs, n));
		if (got < 0) {
			free(tmp);
			return (int)got;
		}
		pcm = tmp;
		n = (size_t)got;
	}
	if (st->n + n > STREAM_MAX_SAMPLES) {
		free(tmp);
		return -EFBIG;
	}
	if (st->n + n > st->cap) {
		size_t ncap = st->cap ? st->cap : 16000;
		int16_t *np;
		while (ncap < st->n + n)
			ncap *= 2;
		np = realloc(st->pcm, ncap * sizeof(int16_t));
		if (!np) {
			free(tmp);
			return -ENOMEM;
		}
		st->pcm = np;
		st->cap = ncap;
	}
	memcpy(st->pcm + st->n, pcm, n * sizeof(int16_t));
	st->n += n;
	free(tmp);
	return 0;
}

static int add_frame(struct stream **head, const struct evb_frame *f)
{
	struct stream *st;
	int16_t *pcm = NULL;
	size_t n = 0;
	uint32_t rate = f->h.rate;
	int e = 0;

	for (st = *head; st; st = st->next)
		if (st->dir == f->h.dir && memcmp(st->id, f->h.call_id, EVB_CALLID_LEN) == 0)
			break;
	if (f->h.codec == EVB_CODEC_WAV) {
		struct evb_wav_info wi;
		if ((e = evb_wav_parse(f->payload, f->h.len, &wi)) < 0)
			return e;
		rate = wi.rate;
		pcm = malloc(wi.frames * sizeof(int16_t) + 2);
		n = pcm ? evb_wav_to_mono16(&wi, pcm, wi.frames) : 0;
	} else {
		n = f->h.len / evb_codec_sample_bytes(f->h.codec);
		pcm = malloc(n * sizeof(int16_t) + 2);
		if (pcm && f->h.codec == EVB_CODEC_ULAW)
			evb_ulaw_decode(f->payload, pcm, n);
		else if (pcm)
			evb_l16_decode(f->payload, pcm, n);
	}
	if (!pcm)
		return -ENOMEM;
	if (!st) {
		if (!(st = calloc(1, sizeof(*st)))) {
			free(pcm);
			return -ENOMEM;
		}
		memcpy(st->id, f->h.call_id, EVB_CALLID_LEN);
		st->dir = f->h.dir;
		st->rate = rate;
		st->next = *head;
		*head = st;
	}
	e = append(st, pcm, n, rate);
	free(pcm);
	return e;
}

static int to_wav(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out-dir", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = ".";
	struct evb_frame_reader *r = evb_frame_reader_new(EVB_FRAME_MAX_PAYLOAD);
	struct stream *head = NULL, *st;
	struct evb_frame f;
	long n;
	int c, e = 0, rc = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'o') {
			evb_frame_reader_free(r);
			return usage();
		}
		dir = optarg;
	}
	if (optind != argc || !r) {
		evb_frame_reader_free(r);
		return usage();
	}
	do {
		n = evb_frame_reader_read_fd(r, STDIN_FILENO);
		while (n >= 0 && (e = evb_frame_reader_next(r, &f)) == 1) {
			int ae;
			if (f.h.kind != EVB_KIND_AUDIO)
				continue;
			if ((ae = add_frame(&head, &f)) < 0) {
				char id[EVB_CALLID_STRLEN];
				evb_callid_format(f.h.call_id, id);
				fprintf(stderr, "evb-wav: call %s frame %u skipped: %s\n", id,
					f.h.seq, evb_strerror(ae));
				rc = 1;
			}
		}
	} while (n > 0 && e == 0);
	if (n < 0) {
		fprintf(stderr, "evb-wav: unable to read stdin: %s\n", evb_strerror((int)n));
		rc = 111;
	} else if (e == 0 && evb_frame_reader_finish(r) < 0) {
		e = -1;
	}
	if (e < 0) {
		fprintf(stderr, "evb-wav: stdin: %s\n", evb_frame_reader_error(r));
		rc = 1;
	}
	while ((st = head)) {
		char id[EVB_CALLID_STRLEN], path[4096];
		evb_callid_format(st->id, id);
		snprintf(path, sizeof(path), "%s/%s-%s.wav", dir, id, evb_dir_name(st->dir));
		if ((e = evb_wav_write_file(path, st->rate, st->pcm, st->n)) < 0) {
			fprintf(stderr, "evb-wav: unable to write '%s': %s\n", path, evb_strerror(e));
			rc = 111;
		} else {
			printf("%s\n", path);
		}
		head = st->next;
		evb_resampler_free(st->rs);
		free(st->pcm);
		free(st);
	}
	evb_frame_reader_free(r);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: %s\n\n%s", USAGE, HELP);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("evb-wav %s\n", EVB_VERSION);
		return 0;
	}
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "to-frames") == 0)
		return to_frames(argc - 1, argv + 1);
	if (strcmp(argv[1], "to-wav") == 0)
		return to_wav(argc - 1, argv + 1);
	return usage();
}
