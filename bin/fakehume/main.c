/* evb-fakehume: a strict local Hume EVI for tests, the demo and benchmarks. */
#define USAGE                                                                          \
	"evb-fakehume [--listen host:port] [--tls-cert FILE --tls-key FILE | "       \
	"--gen-cert DIR [--cert-names N,...]] [--api-key K] [--secret-key S] "        \
	"[--token-ttl-s N] [--scenario FILE] [--record FILE] [options] [--config FILE] " \
	"[--KEY=value ...]"
#define HELP                                                                          \
	"Serves Hume's EVI chat WebSocket on /v0/evi/chat (ws://, or wss:// with a\n" \
	"certificate) and the OAuth token endpoint /oauth2-cc/token, and checks\n"   \
	"every client message against EVI's schema. Caller turns are found by\n"     \
	"energy; each gets a user_message with 48 prosody scores derived from the\n" \
	"audio, then assistant_message, audio_output chunks (WAV, 48 kHz, spoken by\n"\
	"espeak-ng or a tone) and assistant_end; caller speech during playback\n"    \
	"gets user_interruption. See docs/hume.md for the scenario language and\n"   \
	"the record format.\n\n"                                                      \
	"  --listen H:P        address (default 127.0.0.1:9000; port 0 picks one)\n"  \
	"  --tls-cert FILE     serve wss:// with this certificate chain (PEM)\n"      \
	"  --tls-key FILE      and its key (also EVB_TLS_CERT / EVB_TLS_KEY)\n"       \
	"  --gen-cert DIR      make DIR/ca.pem, DIR/cert.pem, DIR/key.pem and serve\n"\
	"                      wss:// with them\n"                                   \
	"  --cert-names LIST   DNS names of that certificate (default\n"              \
	"                      localhost,127.0.0.1)\n"                                \
	"  --api-key K         the key clients must give (default HUME_API_KEY);\n"   \
	"                      access tokens it issued are accepted too\n"           \
	"  --secret-key S      enables the token endpoint (default HUME_SECRET_KEY)\n"\
	"  --token-ttl-s N     lifetime of issued tokens (default 1800)\n"            \
	"  --scenario FILE     replies, delays, errors, drops, tools (docs/hume.md)\n"\
	"  --record FILE       JSON lines of everything received and sent\n"         \
	"  --speech-db DB      a 20 ms block above DB dBFS is speech (default -40)\n" \
	"  --min-speech-ms N   speech that starts a caller turn (default 60)\n"       \
	"  --silence-ms N      silence that ends it (default 500)\n"                  \
	"  --interrupt-ms N    caller speech during playback that interrupts (300)\n" \
	"  --max-duration-s N  end each chat after N s, as EVI's 30-min cap does\n"   \
	"  --inactivity-s N    end a chat after N s without caller activity\n"        \
	"  --chunk-ms N        audio_output chunk length (default 200)\n"            \
	"  --ahead-ms N        how far audio may run ahead of real time (6000)\n"     \
	"  --voice V           espeak-ng voice (default en-us)\n"                     \
	"  --no-espeak         speak with a tone only\n"                              \
	"  --config FILE       read KEY=value settings (default ./evibridge.env)\n"   \
	"  -h, --help          this text;  -V, --version  the version\n\n"           \
	"Exit status: 0 ok (SIGTERM), 100 usage or configuration, 111 temporary\n"    \
	"failure.\n"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_cfg.h"
#include "evb_log.h"
#include "evb_stream.h"
#include "fakehume.h"

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

static int num(const char *opt, const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < lo || n > hi) {
		fprintf(stderr, "evb-fakehume: --%s: expected %ld..%ld, got '%s'\n", opt, lo, hi, v);
		return -1;
	}
	*out = n;
	return 0;
}

/* Splits a comma-separated list in place into o->cert_names. */
static int names(struct fh_opts *o, char *list)
{
	for (char *p = list, *comma; p; p = comma) {
		if ((comma = strchr(p, ',')))
			*comma++ = '\0';
		if (!*p)
			continue;
		if (o->ncert_names == FH_MAX_NAMES || strlen(p) > 253) {
			fprintf(stderr, "evb-fakehume: --cert-names: at most %d names\n",
				FH_MAX_NAMES);
			return -1;
		}
		o->cert_names[o->ncert_names++] = p;
	}
	return o->ncert_names ? 0 : -1;
}

static int parse_opts(int argc, char **argv, struct fh_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "gen-cert", required_argument, NULL, 'g' },
		{ "cert-names", required_argument, NULL, 'n' },
		{ "api-key", required_argument, NULL, 'a' },
		{ "secret-key", required_argument, NULL, 's' },
		{ "token-ttl-s", required_argument, NULL, 't' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "record", required_argument, NULL, 'r' },
		{ "speech-db", required_argument, NULL, 'd' },
		{ "min-speech-ms", required_argument, NULL, 'm' },
		{ "silence-ms", required_argument, NULL, 'q' },
		{ "interrupt-ms", required_argument, NULL, 'i' },
		{ "max-duration-s", required_argument, NULL, 'D' },
		{ "inactivity-s", required_argument, NULL, 'I' },
		{ "chunk-ms", required_argument, NULL, 'C' },
		{ "ahead-ms", required_argument, NULL, 'A' },
		{ "voice", required_argument, NULL, 'v' },
		{ "no-espeak", no_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (evb_stream_parse_hostport(optarg, o->host, sizeof(o->host), &o->port) < 0) {
				fprintf(stderr, "evb-fakehume: --listen: expected host:port, got "
						"'%s'\n", optarg);
				return 100;
			}
			break;
		case 'c': o->tls_cert = optarg; break;
		case 'k': o->tls_key = optarg; break;
		case 'g': o->gen_cert_dir = optarg; break;
		case 'n':
			if (names(o, optarg) < 0)
				return 100;
			break;
		case 'a': o->api_key = optarg; break;
		case 's': o->secret_key = optarg; break;
		case 't':
			if (num("token-ttl-s", optarg, 1, 86400, &v) < 0)
				return 100;
			o->token_ttl_s = (unsigned)v;
			break;
		case 'S': o->scenario_path = optarg; break;
		case 'r': o->record_path = optarg; break;
		case 'd':
			o->speech_db = strtod(optarg, &end);
			if (*end || o->speech_db < -100 || o->speech_db > 0) {
				fprintf(stderr, "evb-fakehume: --speech-db: expected -100..0\n");
				return 100;
			}
			break;
		case 'm':
		case 'q':
		case 'i':
			if (num(c == 'm' ? "min-speech-ms" : c == 'q' ? "silence-ms" : "interrupt-ms",
				optarg, 20, 10000, &v) < 0)
				return 100;
			*(c == 'm' ? &o->min_speech_ms : c == 'q' ? &o->silence_ms
								    : &o->interrupt_ms) = (unsigned)v;
			break;
		case 'D':
		case 'I':
			if (num(c == 'D' ? "max-duration-s" : "inactivity-s", optarg, 1, 86400, &v) < 0)
				return 100;
			*(c == 'D' ? &o->max_duration_s : &o->inactivity_s) = (unsigned)v;
			break;
		case 'C':
			if (num("chunk-ms", optarg, 20, 5000, &v) < 0)
				return 100;
			o->chunk_ms = (unsigned)v;
			break;
		case 'A':
			if (num("ahead-ms", optarg, 0, 600000, &v) < 0)
				return 100;
			o->ahead_ms = (unsigned)v;
			break;
		case 'v': o->voice = optarg; break;
		case 'E': o->no_espeak = 1; break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if ((o->tls_cert != NULL) != (o->tls_key != NULL) || (o->tls_cert && o->gen_cert_dir)) {
		fprintf(stderr, "evb-fakehume: give --tls-cert with --tls-key, or --gen-cert\n");
		return 100;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fh_opts o = {
		.host = "127.0.0.1", .port = 9000, .token_ttl_s = 1800, .speech_db = -40,
		.min_speech_ms = 60, .silence_ms = 500, .interrupt_ms = 300, .chunk_ms = 200,
		.ahead_ms = 6000, .voice = "en-us",
	};
	struct evb_cfg *cfg;
	char err[512];
	int rc;

	evb_log_init("evb-fakehume");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-fakehume %s\n", EVB_VERSION);
			return 0;
		}
	}
	if (!(cfg = evb_cfg_new())) {
		fprintf(stderr, "evb-fakehume: %s\n", strerror(errno));
		return 111;
	}
	if (evb_cfg_from_argv(cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-fakehume: %s\n", err);
		rc = 100;
	} else {
		rc = parse_opts(argc, argv, &o);
	}
	if (rc == 0) {
		const char *lvl = evb_cfg_get(cfg, "EVB_LOG_LEVEL");
		if (lvl)
			evb_log_level = evb_log_parse_level(lvl);
		if (!o.api_key)
			o.api_key = evb_cfg_get(cfg, "HUME_API_KEY");
		if (!o.secret_key)
			o.secret_key = evb_cfg_get(cfg, "HUME_SECRET_KEY");
		if (!o.tls_cert && !o.gen_cert_dir && evb_cfg_get(cfg, "EVB_TLS_CERT")) {
			o.tls_cert = evb_cfg_get(cfg, "EVB_TLS_CERT");
			o.tls_key = evb_cfg_get(cfg, "EVB_TLS_KEY");
		}
		if (!o.api_key || !*o.api_key) {
			fprintf(stderr, "evb-fakehume: an API key is required (--api-key or "
					"HUME_API_KEY)\n");
			rc = 100;
		} else if (o.tls_cert && !o.tls_key) {
			fprintf(stderr, "evb-fakehume: EVB_TLS_CERT needs EVB_TLS_KEY\n");
			rc = 100;
		}
	}
	if (rc == 0)
		rc = fh_run(&o);
	evb_cfg_free(cfg);
	return rc;
}
