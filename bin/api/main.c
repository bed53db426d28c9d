/* evb-api: the operator-facing HTTP API. */
#define USAGE                                                                       \
	"evb-api [--provider-timeout-ms MS] [--rate N] [--burst N] [--twilio-cps N] " \
	"[--vonage-cps N] [--pace-wait-ms MS] [--db-conns N] [--max-body BYTES] "     \
	"[--gather-ms MS] [--web-dir DIR] [--config FILE] [--KEY=value ...]"
#define HELP                                                                        \
	"Places and hangs up calls through the Twilio and Vonage REST APIs, manages\n"  \
	"agents, and answers questions about call history, over JSON/HTTP on\n"         \
	"EVB_API_LISTEN; serves /metrics (Prometheus text, gathered from every\n"       \
	"process's EVB_RUN_DIR/*.metrics socket), /healthz, and a web dashboard at /\n"  \
	"(docs/dashboard.md). Every route but /healthz and the dashboard's static\n"   \
	"files needs \"Authorization: Bearer EVB_API_TOKEN\". Reference: docs/api.md.\n\n" \
	"  --provider-timeout-ms MS  longest wait for Twilio or Vonage (default 15000);\n" \
	"                        past it a create answers 504 and the call is failed\n"   \
	"  --rate N, --burst N   requests per second per client address, and the\n"     \
	"                        burst allowed (default 20 and 40); beyond: 429\n"      \
	"  --twilio-cps N, --vonage-cps N  call creations per second sent to each\n"   \
	"                        provider (default 1); extra ones wait their turn\n"    \
	"  --pace-wait-ms MS     longest such wait (default 10000); beyond: 429\n"     \
	"  --db-conns N          database connections (default 4)\n"                   \
	"  --max-body BYTES      largest request body (default 65536); beyond: 413\n"  \
	"  --gather-ms MS        wait for each process's metrics (default 500)\n"      \
	"  --web-dir DIR         the dashboard's files (default: ../share/evibridge/web\n" \
	"                        beside the program, else a checkout's web/)\n"        \
	"  --config FILE         read KEY=value settings (default ./evibridge.env)\n"   \
	"  --KEY=value           override one setting (see evibridge.env.sample)\n"     \
	"  -h, --help            this text;  -V, --version  the version\n\n"           \
	"Keys: DATABASE_URL (required), EVB_API_LISTEN, EVB_API_TOKEN (required\n"      \
	"unless EVB_API_LISTEN is a loopback address), VOICE_PROVIDER, TWILIO_*,\n"    \
	"VONAGE_* (VONAGE_PRIVATE_KEY_PATH is read at start), PUBLIC_BASE_URL,\n"      \
	"TWILIO_API_BASE, VONAGE_API_BASE, EVB_CA_FILE, EVB_RUN_DIR, EVB_LOG_LEVEL.\n" \
	"Exit status: 0 ok, 100 usage or configuration, 111 temporary failure.\n"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "evb_cfg.h"
#include "evb_conn.h"
#include "evb_log.h"
#include "evb_stream.h"

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

static int num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out >= lo && *out <= hi)) {
		fprintf(stderr, "evb-api: %s: expected a number from %g to %g, got '%s'\n", opt, lo,
			hi, s);
		return -1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct api_opts *o)
{
	static const struct option opts[] = {
		{ "provider-timeout-ms", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		{ "twilio-cps", required_argument, NULL, 'T' },
		{ "vonage-cps", required_argument, NULL, 'N' },
		{ "pace-wait-ms", required_argument, NULL, 'w' },
		{ "db-conns", required_argument, NULL, 'd' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "gather-ms", required_argument, NULL, 'g' },
		{ "web-dir", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (num("--provider-timeout-ms", optarg, 100, 600000, &v) < 0)
				return 100;
			o->provider_timeout_ms = (unsigned)v;
			break;
		case 'r':
			if (num("--rate", optarg, 0.01, 1e6, &o->rate) < 0)
				return 100;
			break;
		case 'b':
			if (num("--burst", optarg, 1, 1e6, &o->burst) < 0)
				return 100;
			break;
		case 'T':
		case 'N':
			if (num(c == 'T' ? "--twilio-cps" : "--vonage-cps", optarg, 0.01, 1000,
				&o->cps[c == 'T' ? P_TWILIO : P_VONAGE]) < 0)
				return 100;
			break;
		case 'w':
			if (num("--pace-wait-ms", optarg, 0, 600000, &v) < 0)
				return 100;
			o->pace_wait_ms = (unsigned)v;
			break;
		case 'd':
			if (num("--db-conns", optarg, 1, 16, &v) < 0)
				return 100;
			o->db_conns = (unsigned)v;
			break;
		case 'm':
			if (num("--max-body", optarg, 1024, 4 << 20, &v) < 0)
				return 100;
			o->max_body = (size_t)v;
			break;
		case 'g':
			if (num("--gather-ms", optarg, 10, 10000, &v) < 0)
				return 100;
			o->gather_ms = (unsigned)v;
			break;
		case 'W':
			o->web_dir = optarg;
			break;
		default:
			return usage();
		}
	}
	return optind != argc ? usage() : 0;
}

static int cfg_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int cfg_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "evb-api: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 100;
}

static int is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	       strcmp(host, "localhost") == 0;
}

/* Copies a URL without its trailing '/'. */
static int base_url(char *out, size_t cap, const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

/* Reads the configuration into a; returns 0 or 100 (message printed). */
static int configure(struct api *a, const struct evb_cfg *cfg)
{
	const char *v, *sid, *tok, *app, *key;
	char err[256];

	if (evb_cfg_require(cfg, err, sizeof(err), "DATABASE_URL", NULL) < 0)
		return cfg_fail("%s", err);
	a->o.database_url = evb_cfg_get(cfg, "DATABASE_URL");
	a->o.run_dir = evb_cfg_get(cfg, "EVB_RUN_DIR");
	a->o.ca_file = evb_cfg_get(cfg, "EVB_CA_FILE");
	a->o.token = evb_cfg_get(cfg, "EVB_API_TOKEN");
	v = evb_cfg_get(cfg, "EVB_API_LISTEN");
	if (evb_stream_parse_hostport(v, a->o.host, sizeof(a->o.host), &a->o.port) < 0)
		return cfg_fail("EVB_API_LISTEN: expected host:port, got '%s'", v);
	if (!a->o.token && !is_loopback(a->o.host))
		return cfg_fail("EVB_API_TOKEN: required when EVB_API_LISTEN ('%s') is not a "
				"loopback address", v);
	if (base_url(a->public_base, sizeof(a->public_base), evb_cfg_get(cfg, "PUBLIC_BASE_URL")) < 0)
		return cfg_fail("PUBLIC_BASE_URL: too long");
	a->default_provider = api_provider_parse(evb_cfg_get(cfg, "VOICE_PROVIDER"));
	if (a->default_provider < 0)
		a->default_provider = P_TWILIO;

	/* Twilio: both credentials or neither. */
	sid = evb_cfg_get(cfg, "TWILIO_ACCOUNT_SID");
	tok = evb_cfg_get(cfg, "TWILIO_AUTH_TOKEN");
	if (!sid != !tok)
		return cfg_fail("%s: required with %s", sid ? "TWILIO_AUTH_TOKEN" : "TWILIO_ACCOUNT_SID",
				sid ? "TWILIO_ACCOUNT_SID" : "TWILIO_AUTH_TOKEN");
	a->twilio_sid = sid;
	a->twilio_token = tok;
	if (base_url(a->prov[P_TWILIO].base, sizeof(a->prov[P_TWILIO].base),
		     evb_cfg_get(cfg, "TWILIO_API_BASE")) < 0)
		return cfg_fail("TWILIO_API_BASE: too long");
	a->prov[P_TWILIO].configured = sid != NULL;
	snprintf(a->prov[P_TWILIO].why, sizeof(a->prov[P_TWILIO].why),
		 "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN");
	if ((v = evb_cfg_get(cfg, "TWILIO_PHONE_NUMBER"))) {
		if (!api_is_e164(v))
			return cfg_fail("TWILIO_PHONE_NUMBER: expected E.164 (+14155550123), got "
					"'%s'", v);
		snprintf(a->prov[P_TWILIO].from, sizeof(a->prov[P_TWILIO].from), "%s", v);
	}

	/* Vonage: the application and its key. */
	app = evb_cfg_get(cfg, "VONAGE_APPLICATION_ID");
	key = evb_cfg_get(cfg, "VONAGE_PRIVATE_KEY_PATH");
	if (!app != !key)
		return cfg_fail("%s: required with %s", app ? "VONAGE_PRIVATE_KEY_PATH"
							    : "VONAGE_APPLICATION_ID",
				app ? "VONAGE_APPLICATION_ID" : "VONAGE_PRIVATE_KEY_PATH");
	if (key && !(a->vonage_key = evb_jwt_key_load(key, 0))) {
		snprintf(err, sizeof(err), "%s", errno == EINVAL ? "not an RSA private key in PEM"
								 : strerror(errno));
		return cfg_fail("VONAGE_PRIVATE_KEY_PATH: unable to load '%s': %s", key, err);
	}
	a->vonage_app = app;
	if (base_url(a->prov[P_VONAGE].base, sizeof(a->prov[P_VONAGE].base),
		     evb_cfg_get(cfg, "VONAGE_API_BASE")) < 0)
		return cfg_fail("VONAGE_API_BASE: too long");
	a->prov[P_VONAGE].configured = app != NULL;
	snprintf(a->prov[P_VONAGE].why, sizeof(a->prov[P_VONAGE].why),
		 "set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY_PATH");
	if ((v = evb_cfg_get(cfg, "VONAGE_PHONE_NUMBER"))) {
		char e164[20];
		snprintf(e164, sizeof(e164), "%s%s", v[0] == '+' ? "" : "+", v);
		if (!api_is_e164(e164))
			return cfg_fail("VONAGE_PHONE_NUMBER: expected 7 to 15 digits, got '%s'", v);
		memcpy(a->prov[P_VONAGE].from, e164, sizeof(a->prov[P_VONAGE].from));
	}
	for (int i = 0; i < 2; i++)
		a->prov[i].cps = a->o.cps[i];
	if (!a->prov[a->default_provider].configured)
		EVB_LOG(LOG_WARNING, "api", "VOICE_PROVIDER '%s' is not configured: calls must name "
			"a provider", api_provider_name(a->default_provider));
	return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int main(int argc, char **argv)
{
	static struct api a = {
		.o = { .provider_timeout_ms = 15000, .rate = 20, .burst = 40, .cps = { 1, 1 },
		       .pace_wait_ms = 10000, .db_conns = 4, .max_body = 65536, .gather_ms = 500 },
	};
	struct evb_cfg *cfg;
	char err[1024];
	int rc;

	evb_log_init("evb-api");
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-api %s\n", EVB_VERSION);
			return 0;
		}
	}
	cfg = evb_cfg_new();
	if (!cfg || evb_cfg_from_argv(cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-api: %s\n", cfg ? err : strerror(errno));
		evb_cfg_free(cfg);
		return 100;
	}
	rc = parse_opts(argc, argv, &a.o);
	if (rc == 0 && evb_cfg_get(cfg, "EVB_LOG_LEVEL"))
		evb_log_level = evb_log_parse_level(evb_cfg_get(cfg, "EVB_LOG_LEVEL"));
	if (rc == 0)
		rc = configure(&a, cfg);
	if (rc == 0) {
		rc = api_start(&a);
		if (rc == 0) {
			evb_notify_ready();
			uv_run(a.loop, UV_RUN_DEFAULT);
			rc = a.rc;
		} else {
			api_stop(&a, rc);
		}
		uv_walk(a.loop, close_walk, NULL);
		uv_run(a.loop, UV_RUN_DEFAULT);
		uv_loop_close(a.loop);
	}
	ratelimit_free(a.rl);
	web_release(&a);
	evb_tls_config_free(a.tls);
	evb_jwt_key_free(a.vonage_key);
	evb_cfg_free(cfg);
	return rc;
}
