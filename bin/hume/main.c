/* evb-hume: the bridge between calls' audio and Hume's EVI. */
#define USAGE                                                                         \
	"evb-hume [--batch-ms N] [--hold-ms N] [--interim] [--dtmf-input] [options] " \
	"[--config FILE] [--KEY=value ...]"
#define HELP                                                                          \
	"Opens one Hume EVI chat WebSocket per call (wss:// verified against the\n"  \
	"system CAs and EVB_CA_FILE; ws:// only when HUME_EVI_URL says so), sends\n"  \
	"session_settings, the agent's greeting and the caller's audio\n"           \
	"(audio_input), and turns every EVI message into frames toward the caller\n"\
	"(WAV audio, interrupt, assistant_end, hangup) and events for evb-logger.\n" \
	"A dropped chat is resumed with resumed_chat_group_id; so is a chat near\n"  \
	"EVI's 30-minute cap or inactivity timeout. Agents (config id, prompt,\n"    \
	"greeting, voice) and customers come from DATABASE_URL, cached.\n\n"         \
	"  --batch-ms N        caller audio per audio_input message (default 20)\n"  \
	"  --hold-ms N         caller audio kept while the chat is not open\n"        \
	"                      (default 5000; the oldest goes beyond)\n"             \
	"  --db-wait-ms N      longest wait for the database (default 500)\n"         \
	"  --agent-ttl-s N     how long an agent stays cached (default 10)\n"         \
	"  --max-chat-s N      resume a chat this old (default 1740)\n"              \
	"  --inactivity-s N    resume a chat idle this long; 0 never (default 110)\n" \
	"  --idle-s N          end a call with no frames for N s (default 120)\n"    \
	"  --max-message-kb N  largest EVI message accepted (default 2048)\n"        \
	"  --connect-ms N      connect, TLS and handshake timeout (default 10000)\n" \
	"  --interim           ask EVI for interim user_messages\n"                 \
	"  --dtmf-input        pass key presses to EVI as user_input\n"              \
	"  --config FILE       read KEY=value settings (default ./evibridge.env)\n"   \
	"  --KEY=value         override one setting (see evibridge.env.sample)\n"     \
	"  -h, --help          this text;  -V, --version  the version\n\n"           \
	"Keys: HUME_API_KEY (required), HUME_SECRET_KEY (then access tokens),\n"     \
	"HUME_CONFIG_ID, HUME_EVI_URL, HUME_API_BASE, EVB_CA_FILE, DATABASE_URL,\n"  \
	"EVB_RUN_DIR (hume.sock, logger.sock), EVB_HUME_RATE. Secrets only from the\n"\
	"environment or the config file.\n"                                          \
	"Exit status: 0 ok, 100 usage or configuration, 111 temporary failure.\n"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_cfg.h"
#include "evb_log.h"
#include "hume.h"

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

static int num(const char *opt, const char *v, long lo, long hi, unsigned *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < lo || n > hi) {
		fprintf(stderr, "evb-hume: --%s: expected %ld..%ld, got '%s'\n", opt, lo, hi, v);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_opts(int argc, char **argv, struct hume_opts *o)
{
	static const struct option opts[] = {
		{ "batch-ms", required_argument, NULL, 'b' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ "db-wait-ms", required_argument, NULL, 'w' },
		{ "agent-ttl-s", required_argument, NULL, 't' },
		{ "max-chat-s", required_argument, NULL, 'm' },
		{ "inactivity-s", required_argument, NULL, 'i' },
		{ "idle-s", required_argument, NULL, 'I' },
		{ "max-message-kb", required_argument, NULL, 'M' },
		{ "connect-ms", required_argument, NULL, 'c' },
		{ "interim", no_argument, NULL, 'v' },
		{ "dtmf-input", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': r = num("batch-ms", optarg, 20, 1000, &o->batch_ms); break;
		case 'H': r = num("hold-ms", optarg, 0, 60000, &o->hold_ms); break;
		case 'w': r = num("db-wait-ms", optarg, 0, 10000, &o->db_wait_ms); break;
		case 't': r = num("agent-ttl-s", optarg, 0, 86400, &o->agent_ttl_s); break;
		case 'm': r = num("max-chat-s", optarg, 0, 1800, &o->max_chat_s); break;
		case 'i': r = num("inactivity-s", optarg, 0, 1800, &o->inactivity_s); break;
		case 'I': r = num("idle-s", optarg, 1, 86400, &o->idle_s); break;
		case 'M': r = num("max-message-kb", optarg, 64, 65536, &o->max_message_kb); break;
		case 'c': r = num("connect-ms", optarg, 100, 120000, &o->connect_ms); break;
		case 'v': o->interim = 1; break;
		case 'd': o->dtmf_input = 1; break;
		default: return usage();
		}
		if (r < 0)
			return 100;
	}
	return optind != argc ? usage() : 0;
}

int main(int argc, char **argv)
{
	struct hume_opts o = {
		.batch_ms = 20, .hold_ms = 5000, .db_wait_ms = 500, .agent_ttl_s = 10,
		.max_chat_s = 1740, .inactivity_s = 110, .idle_s = 120, .max_message_kb = 2048,
		.connect_ms = 10000,
	};
	struct evb_cfg *cfg;
	char err[512];
	int rc;

	evb_log_init("evb-hume");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-hume %s\n", EVB_VERSION);
			return 0;
		}
	}
	if (!(cfg = evb_cfg_new())) {
		fprintf(stderr, "evb-hume: %s\n", strerror(errno));
		return 111;
	}
	if (evb_cfg_from_argv(cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-hume: %s\n", err);
		rc = 100;
	} else {
		rc = parse_opts(argc, argv, &o);
	}
	if (rc == 0 && evb_cfg_require(cfg, err, sizeof(err), "HUME_API_KEY", (char *)NULL) < 0) {
		fprintf(stderr, "evb-hume: %s\n", err);
		rc = 100;
	}
	if (rc == 0) {
		const char *lvl = evb_cfg_get(cfg, "EVB_LOG_LEVEL");
		if (lvl)
			evb_log_level = evb_log_parse_level(lvl);
		rc = hume_daemon(cfg, &o);
	}
	evb_cfg_free(cfg);
	return rc;
}
