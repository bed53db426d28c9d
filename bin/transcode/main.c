/* evb-transcode: audio between the provider edge and the EVI bridge. */
#define USAGE                                                                    \
	"evb-transcode [--stdio] [--to codec/rate] [--hume-rate N] [--config FILE] " \
	"[--KEY=value ...]"
#define HELP                                                                     \
	"Converts call audio in evibridge frames. Caller audio (dir up, mu-law or\n"\
	"L16) becomes L16 at the rate declared to EVI; agent audio (dir down, WAV\n"\
	"files of any rate, or PCM) becomes the caller's codec and rate, cut into\n"\
	"exact 20 ms frames. Control frames pass through; an 'interrupt' drops the\n"\
	"call's pending agent audio. Per-call state comes from frame headers.\n\n"  \
	"  --stdio          filter frames from stdin to stdout\n"                 \
	"  --to FMT         convert every audio frame to FMT (ulaw/8000, l16/16000)\n"\
	"  --hume-rate N    rate of caller audio sent to EVI (default: the caller's\n"\
	"                   own rate; also EVB_HUME_RATE)\n"                      \
	"  --idle-s N       free a call's state after N silent seconds (default 60)\n"\
	"  --config FILE    read KEY=value settings (default ./evibridge.env)\n"  \
	"  --KEY=value      override one setting (see evibridge.env.sample)\n"    \
	"  -h, --help       this text;  -V, --version  the version\n\n"          \
	"Without --stdio it serves EVB_RUN_DIR/transcode.sock (evb-ingress connects)\n"\
	"and connects to EVB_RUN_DIR/hume.sock (evb-hume).\n"                    \
	"Exit status: 0 ok, 1 bad input (--stdio), 100 usage or configuration,\n" \
	"111 temporary failure.\n"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_cfg.h"
#include "evb_err.h"
#include "evb_frame.h"
#include "evb_log.h"
#include "transcode.h"
#include "xcode.h"

/* Buffered frame output for the filter: one write per input chunk. */
struct outbuf {
	uint8_t buf[1 << 18];
	size_t len;
	int err;
};

static void out_flush(struct outbuf *o)
{
	size_t off = 0;
	while (off < o->len && !o->err) {
		ssize_t w = write(STDOUT_FILENO, o->buf + off, o->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			o->err = -errno;
		else
			off += (size_t)w;
	}
	o->len = 0;
}

static void out_emit(void *arg, void *owner, const struct evb_frame_hdr *h, const void *payload)
{
	struct outbuf *o = arg;
	(void)owner;
	if (o->len + EVB_FRAME_HDR_LEN + h->len > sizeof(o->buf))
		out_flush(o);
	if (EVB_FRAME_HDR_LEN + h->len > sizeof(o->buf)) {
		if (!o->err)
			o->err = evb_frame_write_fd(STDOUT_FILENO, h, payload);
		return;
	}
	evb_frame_hdr_encode(h, o->buf + o->len);
	memcpy(o->buf + o->len + EVB_FRAME_HDR_LEN, payload, h->len);
	o->len += EVB_FRAME_HDR_LEN + h->len;
}

static int run_stdio(const struct xc_opts *xo)
{
	static struct outbuf out;
	struct xc_sink sink = { out_emit, NULL, &out };
	struct xc *x = xc_new(xo, &sink);
	struct evb_frame_reader *r = evb_frame_reader_new(EVB_FRAME_MAX_PAYLOAD);
	struct evb_frame f;
	long n;
	int e = 0;

	if (!x || !r) {
		EVB_LOG(LOG_ERR, "stdio", "unable to start: %s", strerror(errno));
		return 111;
	}
	do {
		n = evb_frame_reader_read_fd(r, STDIN_FILENO);
		if (n < 0) {
			EVB_LOG(LOG_ERR, "stdio", "unable to read stdin: %s", evb_strerror((int)n));
			break;
		}
		while ((e = evb_frame_reader_next(r, &f)) == 1)
			xc_frame(x, &f, NULL);
		out_flush(&out);
	} while (n > 0 && e == 0 && !out.err);
	if (e == 0 && n == 0)
		e = evb_frame_reader_finish(r);
	if (e < 0)
		EVB_LOG(LOG_ERR, "stdio", "stdin: %s", evb_frame_reader_error(r));
	xc_flush_all(x);
	out_flush(&out);
	if (out.err)
		EVB_LOG(LOG_ERR, "stdio", "unable to write stdout: %s", evb_strerror(out.err));
	if (xc_stats(x)->bad_frames)
		EVB_LOG(LOG_WARNING, "stdio", "%llu bad frames skipped",
			(unsigned long long)xc_stats(x)->bad_frames);
	xc_free(x);
	evb_frame_reader_free(r);
	return out.err || n < 0 ? 111 : e < 0 ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

/* Parses the program's own options into xo; returns 0 or an exit status. */
static int parse_opts(int argc, char **argv, struct xc_opts *xo, int *stdio_mode,
		      long *idle_s, long *hume_rate)
{
	static const struct option opts[] = {
		{ "stdio", no_argument, NULL, 's' },
		{ "to", required_argument, NULL, 't' },
		{ "hume-rate", required_argument, NULL, 'r' },
		{ "idle-s", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			*stdio_mode = 1;
			break;
		case 't':
			if (evb_format_parse(optarg, &xo->to_codec, &xo->to_rate) < 0) {
				fprintf(stderr, "evb-transcode: --to: expected ulaw/RATE or "
						"l16/RATE, got '%s'\n", optarg);
				return 100;
			}
			break;
		case 'r':
			*hume_rate = strtol(optarg, &end, 10);
			if (*end || *hume_rate < 8000 || *hume_rate > 48000 || *hume_rate % 50) {
				fprintf(stderr, "evb-transcode: --hume-rate: expected 8000..48000, "
						"got '%s'\n", optarg);
				return 100;
			}
			break;
		case 'i':
			*idle_s = strtol(optarg, &end, 10);
			if (*end || *idle_s < 1 || *idle_s > 86400) {
				fprintf(stderr, "evb-transcode: --idle-s: expected 1..86400\n");
				return 100;
			}
			break;
		default:
			return usage();
		}
	}
	return optind != argc ? usage() : 0;
}

int main(int argc, char **argv)
{
	struct xc_opts xo = { .quality = 5, .gain = 1.0f, .hold_max = 256 };
	struct evb_cfg *cfg;
	char err[512];
	int rc, stdio_mode = 0;
	long idle_s = 60, hume_rate = -1;

	evb_log_init("evb-transcode");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-transcode %s\n", EVB_VERSION);
			return 0;
		}
	}
	if (!(cfg = evb_cfg_new())) {
		fprintf(stderr, "evb-transcode: %s\n", strerror(errno));
		return 111;
	}
	if (evb_cfg_from_argv(cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-transcode: %s\n", err);
		rc = 100;
	} else {
		rc = parse_opts(argc, argv, &xo, &stdio_mode, &idle_s, &hume_rate);
	}
	if (rc == 0) {
		const char *lvl = evb_cfg_get(cfg, "EVB_LOG_LEVEL");
		if (lvl)
			evb_log_level = evb_log_parse_level(lvl);
		xo.quality = (int)evb_cfg_get_int(cfg, "EVB_RESAMPLE_QUALITY", 5);
		xo.gain = (float)evb_cfg_get_double(cfg, "EVB_GAIN", 1.0);
		xo.hume_rate = hume_rate > 0 ? (uint32_t)hume_rate
					     : (uint32_t)evb_cfg_get_int(cfg, "EVB_HUME_RATE", 0);
		rc = stdio_mode ? run_stdio(&xo)
				: transcode_daemon(cfg, &xo, (uint64_t)idle_s * 1000000000u);
	}
	evb_cfg_free(cfg);
	return rc;
}
