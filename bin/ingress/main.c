/* evb-ingress: the provider edge (Twilio and Vonage webhooks and media
 * WebSockets, paced playout, barge-in, signatures). */
#define USAGE                                                                      \
	"evb-ingress [--token-ttl-s N] [--grace-s N] [--header-ms MS] [--body-ms MS] " \
	"[--idle-ms MS] [--config FILE] [--KEY=value ...]"
#define HELP                                                                         \
	"Serves Twilio and Vonage on EVB_LISTEN (HTTP/1.1 and WebSocket, TLS with\n"   \
	"EVB_TLS_CERT and EVB_TLS_KEY): answers voice webhooks with <Connect><Stream>\n"\
	"TwiML or a websocket NCCO carrying a per-call media token, checks\n"          \
	"X-Twilio-Signature and Vonage signed webhooks, turns media messages into\n"   \
	"audio frames for EVB_RUN_DIR/transcode.sock and plays the agent's audio\n"    \
	"back one 20 ms frame per tick, with marks, clear on barge-in, and events\n"   \
	"to EVB_RUN_DIR/logger.sock.\n\n"                                             \
	"  --token-ttl-s N  media tokens expire N s after the webhook (default 300)\n" \
	"  --grace-s N      a lost media stream may come back within N s before the\n"\
	"                   call is ended (default 10)\n"                             \
	"  --header-ms MS   time allowed for a request's headers (default 10000)\n"   \
	"  --body-ms MS     then for its body (default 30000)\n"                      \
	"  --idle-ms MS     keep-alive idle timeout (default 60000)\n"                \
	"  --config FILE    read KEY=value settings (default ./evibridge.env)\n"      \
	"  --KEY=value      override one setting (see evibridge.env.sample)\n"        \
	"  -h, --help       this text;  -V, --version  the version\n\n"              \
	"Paths (PUBLIC_BASE_URL is how providers reach them):\n"                      \
	"  /twilio/voice         voice webhook, GET or POST (also\n"                  \
	"                        /api/hume-twilio/voice-webhook/ and -fixed/)\n"      \
	"  /twilio/status        status callback (/api/hume-twilio/status-callback/)\n"\
	"  /twilio/stream-ended  <Connect action>: hang up or reconnect the stream\n"  \
	"  /twilio/stream        media WebSocket (/ws/hume-twilio/stream/<CallSid>)\n" \
	"  /vonage/answer        answer webhook, GET or POST (also\n"                 \
	"                        /api/hume-twilio/vonage-voice-webhook/ and\n"        \
	"                        /api/hume-twilio/vonage-outgoing-answer/)\n"         \
	"  /vonage/event         event webhook (/api/hume-twilio/vonage-event-callback/)\n"\
	"  /vonage/ws-event      the connect action's eventUrl\n"                     \
	"  /vonage/stream/<id>   media WebSocket (/ws/vonage-stream/<uuid>)\n"        \
	"  /healthz              counters as JSON\n"                                  \
	"Webhook queries may carry call_id=<uuid>, agent=<slug>, customer_name and\n"  \
	"customer_email (evb-api sets them for the calls it places).\n\n"             \
	"On SIGTERM it stops listening, lets calls run up to EVB_DRAIN_S seconds,\n"  \
	"then ends them. Exit status: 0 ok, 100 usage or configuration, 111\n"        \
	"temporary failure.\n"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_cfg.h"
#include "evb_log.h"
#include "ingress.h"

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

static int number(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || end == s || *end || *out < lo || *out > hi) {
		fprintf(stderr, "evb-ingress: %s: expected %ld..%ld, got '%s'\n", opt, lo, hi, s);
		return 100;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct ing_opts *o)
{
	static const struct option opts[] = {
		{ "token-ttl-s", required_argument, NULL, 't' },
		{ "grace-s", required_argument, NULL, 'g' },
		{ "header-ms", required_argument, NULL, 'H' },
		{ "body-ms", required_argument, NULL, 'B' },
		{ "idle-ms", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': rc = number("--token-ttl-s", optarg, 1, 86400, &o->token_ttl_s); break;
		case 'g': rc = number("--grace-s", optarg, 0, 3600, &o->grace_s); break;
		case 'H': rc = number("--header-ms", optarg, 10, 600000, &o->header_ms); break;
		case 'B': rc = number("--body-ms", optarg, 10, 600000, &o->body_ms); break;
		case 'I': rc = number("--idle-ms", optarg, 10, 3600000, &o->idle_ms); break;
		default: return usage();
		}
	}
	if (rc == 0 && optind != argc)
		return usage();
	return rc;
}

int main(int argc, char **argv)
{
	struct ing_opts o = { .token_ttl_s = 300, .grace_s = 10, .header_ms = 10000,
			      .body_ms = 30000, .idle_ms = 60000 };
	struct evb_cfg *cfg;
	char err[512];
	int rc;

	evb_log_init("evb-ingress");
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-ingress %s\n", EVB_VERSION);
			return 0;
		}
	}
	if (!(cfg = evb_cfg_new())) {
		fprintf(stderr, "evb-ingress: %s\n", strerror(errno));
		return 111;
	}
	if (evb_cfg_from_argv(cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-ingress: %s\n", err);
		rc = 100;
	} else {
		rc = parse_opts(argc, argv, &o);
	}
	if (rc == 0) {
		const char *lvl = evb_cfg_get(cfg, "EVB_LOG_LEVEL");

		if (lvl)
			evb_log_level = evb_log_parse_level(lvl);
		o.drain_s = evb_cfg_get_int(cfg, "EVB_DRAIN_S", 30);
		rc = ingress_run(cfg, &o);
	}
	evb_cfg_free(cfg);
	return rc;
}
