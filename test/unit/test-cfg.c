/* Unit tests for lib/evb_cfg: parsing, precedence, checks, secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_cfg.h"
#include "evb_err.h"
#include "tap.h"

#define SEKRIT "SEKRIT-7f3a9c"

static char err[512];
static char tmpdir[64];
static char origdir[4096];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		abort();
	}
	fputs(text, f);
	fclose(f);
}

static char *dump(const struct evb_cfg *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	evb_cfg_dump(c, f);
	fclose(f);
	return buf;
}

/* Loads text as a file named "t.env"; returns the result, err set. */
static int load(struct evb_cfg *c, const char *text)
{
	err[0] = '\0';
	return evb_cfg_load_buf(c, text, strlen(text), "t.env", err, sizeof(err));
}

/* Sets key=value on a fresh config and validates it. */
static int check(const char *key, const char *value)
{
	struct evb_cfg *c = evb_cfg_new();
	int r;

	err[0] = '\0';
	r = evb_cfg_set(c, key, value, err, sizeof(err));
	if (r == 0)
		r = evb_cfg_validate(c, err, sizeof(err));
	evb_cfg_free(c);
	return r;
}

static void clear_env(void)
{
	const char *k;

	for (size_t i = 0; (k = evb_cfg_key_at(i)); i++)
		unsetenv(k);
	unsetenv("HUME_AI_API_KEY");
}

static void test_defaults(void)
{
	struct evb_cfg *c = evb_cfg_new();

	ok(c != NULL, "evb_cfg_new");
	is_str(evb_cfg_get(c, "VOICE_PROVIDER"), "twilio", "default VOICE_PROVIDER");
	is_str(evb_cfg_get(c, "EVB_LISTEN"), "127.0.0.1:8080", "default EVB_LISTEN");
	is_str(evb_cfg_get(c, "evb-api-listen"), "127.0.0.1:8081", "get normalises the name");
	is_str(evb_cfg_get(c, "HUME_EVI_URL"), "wss://api.hume.ai/v0/evi/chat",
	       "default HUME_EVI_URL");
	ok(evb_cfg_get(c, "TWILIO_AUTH_TOKEN") == NULL, "no default: NULL");
	ok(evb_cfg_get(c, "NOPE") == NULL, "unknown key: NULL");
	is_int(evb_cfg_get_int(c, "EVB_DRAIN_S", 7), 30, "get_int uses the table default");
	is_int(evb_cfg_get_int(c, "EVB_RESAMPLE_QUALITY", 7), 5, "default quality 5");
	is_int(evb_cfg_get_int(c, "EVB_HUME_RATE", 7), 0, "default Hume rate 0");
	is_int(evb_cfg_get_int(c, "TWILIO_ACCOUNT_SID", 42), 42, "get_int: no value, dflt");
	is_int(evb_cfg_get_int(c, "NOPE", -3), -3, "get_int: unknown key, dflt");
	ok(evb_cfg_get_double(c, "EVB_GAIN", 0) == 1.0, "get_double default 1.0");
	is_int(evb_cfg_set(c, "EVB_DRAIN_S", "45", err, sizeof(err)), 0, "set EVB_DRAIN_S");
	is_int(evb_cfg_get_int(c, "EVB_DRAIN_S", 7), 45, "get_int reads the value");
	evb_cfg_set(c, "EVB_DRAIN_S", "", err, sizeof(err));
	is_int(evb_cfg_get_int(c, "EVB_DRAIN_S", 7), 30, "empty value unsets");
	evb_cfg_set(c, "TWILIO_ACCOUNT_SID", "ACx", err, sizeof(err));
	is_int(evb_cfg_get_int(c, "TWILIO_ACCOUNT_SID", 9), 9, "get_int: not a number, dflt");
	is_int(evb_cfg_validate(c, err, sizeof(err)), 0, "defaults validate");
	evb_cfg_set(c, "EVB_GAIN", "2.5", err, sizeof(err));
	ok(evb_cfg_get_double(c, "EVB_GAIN", 0) == 2.5, "get_double reads the value");
	evb_cfg_free(c);
	evb_cfg_free(NULL);
}

static void test_names(void)
{
	struct evb_cfg *c = evb_cfg_new();

	ok(evb_cfg_is_key("EVB_LISTEN"), "is_key EVB_LISTEN");
	ok(evb_cfg_is_key("evb-listen"), "is_key evb-listen");
	ok(evb_cfg_is_key("Evb-Listen"), "is_key Evb-Listen");
	ok(evb_cfg_is_key("hume-ai-api-key"), "is_key alias");
	ok(!evb_cfg_is_key("NOPE"), "is_key NOPE");
	ok(!evb_cfg_is_key(""), "is_key empty");
	ok(!evb_cfg_is_key("EVB_LISTEN "), "is_key trailing blank");
	ok(!evb_cfg_is_key("stdio"), "is_key stdio");
	ok(evb_cfg_is_secret("TWILIO_AUTH_TOKEN"), "secret TWILIO_AUTH_TOKEN");
	ok(evb_cfg_is_secret("database-url"), "secret DATABASE_URL");
	ok(evb_cfg_is_secret("HUME_AI_API_KEY"), "alias of a secret is secret");
	ok(!evb_cfg_is_secret("EVB_LISTEN"), "EVB_LISTEN not secret");
	ok(evb_cfg_doc("EVB_LISTEN") != NULL, "doc EVB_LISTEN");
	ok(evb_cfg_key_at(0) != NULL && evb_cfg_key_at(1000) == NULL, "key_at");

	is_int(evb_cfg_set(c, "NOPE", "1", err, sizeof(err)), EVB_ECONFIG, "set unknown key");
	is_str(err, "unknown configuration key 'NOPE'", "unknown key message");
	is_int(evb_cfg_set(c, "hume-ai-api-key", SEKRIT, err, sizeof(err)), 0, "set alias");
	is_str(evb_cfg_get(c, "HUME_API_KEY"), SEKRIT, "alias sets HUME_API_KEY");
	is_str(evb_cfg_get(c, "HUME_AI_API_KEY"), SEKRIT, "get via alias");
	evb_cfg_free(c);

	c = evb_cfg_new();
	is_int(evb_cfg_require(c, err, sizeof(err), "EVB_LISTEN", (char *)NULL), 0,
	       "require: a default is enough");
	is_int(evb_cfg_require(c, err, sizeof(err), "EVB_LISTEN", "HUME_API_KEY",
			       (char *)NULL), EVB_ECONFIG, "require: missing key");
	is_str(err, "missing required key 'HUME_API_KEY'", "require names the key");
	evb_cfg_free(c);
}

static void test_syntax(void)
{
	struct evb_cfg *c = evb_cfg_new();

	is_int(load(c, "# comment\n"
		       "\n"
		       "   \t\n"
		       "  # indented comment\n"
		       "export EVB_RUN_DIR=/a/b\n"
		       "EVB_LISTEN = 0.0.0.0:9000  \n"
		       "HUME_CONFIG_ID=\"abc-def\"\r\n"
		       "TWILIO_ACCOUNT_SID='AC123'  # trailing comment\n"
		       "EVB_CA_FILE=\"/with space/ca.pem\"\n"
		       "VONAGE_PRIVATE_KEY_PATH=/k#ey.pem # comment\n"
		       "export\tEVB_LOG_LEVEL=debug\r\n"
		       "DATABASE_URL=host=/tmp dbname=evb\n"
		       "HUME_AI_API_KEY=k1\n"
		       "EVB_DRAIN_S=10"), 0, "syntax sample loads");
	diag("%s", err);
	is_str(evb_cfg_get(c, "EVB_RUN_DIR"), "/a/b", "export prefix");
	is_str(evb_cfg_get(c, "EVB_LISTEN"), "0.0.0.0:9000", "blanks around '=' trimmed");
	is_str(evb_cfg_get(c, "HUME_CONFIG_ID"), "abc-def", "double quotes, CRLF");
	is_str(evb_cfg_get(c, "TWILIO_ACCOUNT_SID"), "AC123", "single quotes, comment");
	is_str(evb_cfg_get(c, "EVB_CA_FILE"), "/with space/ca.pem", "blank inside quotes");
	is_str(evb_cfg_get(c, "VONAGE_PRIVATE_KEY_PATH"), "/k#ey.pem", "'#' not after blank");
	is_str(evb_cfg_get(c, "EVB_LOG_LEVEL"), "debug", "export<TAB>, CRLF");
	is_str(evb_cfg_get(c, "DATABASE_URL"), "host=/tmp dbname=evb", "'=' in value");
	is_str(evb_cfg_get(c, "HUME_API_KEY"), "k1", "alias in a file");
	is_str(evb_cfg_get(c, "EVB_DRAIN_S"), "10", "last line without newline");
	is_int(evb_cfg_validate(c, err, sizeof(err)), 0, "syntax sample validates");
	is_int(load(c, "EVB_DRAIN_S=\n"), 0, "empty value");
	is_str(evb_cfg_get(c, "EVB_DRAIN_S"), "30", "empty value unsets");
	is_int(load(c, "EVB_DRAIN_S=''\n"), 0, "empty quotes");
	is_int(load(c, "\xef\xbb\xbf" "EVB_DRAIN_S=11\n"), 0, "UTF-8 BOM skipped");
	is_int(evb_cfg_get_int(c, "EVB_DRAIN_S", 0), 11, "value after BOM");

	is_int(load(c, "# x\n\nBOGUS_KEY=1\n"), EVB_ECONFIG, "unknown key in a file");
	is_str(err, "t.env:3: unknown configuration key 'BOGUS_KEY'", "file, line and key named");
	is_int(load(c, "EVB_LISTEN=1.2.3.4:5\nno equals sign\n"), EVB_ECONFIG, "line without '='");
	is_str(err, "t.env:2: missing '=' (expected KEY=value)", "file and line named");
	is_int(load(c, "=x\n"), EVB_ECONFIG, "missing key");
	is_int(load(c, "EVB_RUN_DIR=\"/x\n"), EVB_ECONFIG, "unterminated quote");
	is_str(err, "t.env:1: EVB_RUN_DIR: missing closing quote", "unterminated quote message");
	is_int(load(c, "EVB_RUN_DIR='/x' y\n"), EVB_ECONFIG, "text after quote");
	is_int(load(c, "EVB RUN=1\n"), EVB_ECONFIG, "blank in key");
	ok(strstr(err, "t.env:1:") != NULL, "bad key name: line named");
	is_int(evb_cfg_load_buf(c, "EVB_RUN_DIR=a\0b\n", 14, "n.env", err, sizeof(err)),
	       EVB_ECONFIG, "NUL byte rejected");

	/* 8 KiB lines: the limit itself is fine, one more byte is not. */
	{
		size_t max = EVB_CFG_LINE_MAX, pre = strlen("EVB_RUN_DIR=");
		char *line = malloc(max + 3);
		memcpy(line, "EVB_RUN_DIR=", pre);
		memset(line + pre, 'a', max - pre);
		memcpy(line + max, "\r\n", 3);
		is_int(load(c, line), 0, "line of 8192 bytes + CRLF");
		is_int(strlen(evb_cfg_get(c, "EVB_RUN_DIR")), max - pre, "long value kept");
		line[max] = 'a';
		line[max + 1] = '\n';
		is_int(load(c, line), EVB_ECONFIG, "line of 8193 bytes");
		is_str(err, "t.env:1: line longer than 8192 bytes", "long line message");
		free(line);
	}
	evb_cfg_free(c);
}

struct vcase {
	const char *key, *value;
	int good;
};

static const struct vcase vcases[] = {
	{ "VOICE_PROVIDER", "vonage", 1 },
	{ "VOICE_PROVIDER", "Twilio", 0 },
	{ "VOICE_PROVIDER", "sip", 0 },
	{ "TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef", 1 },
	{ "TWILIO_ACCOUNT_SID", "AC 123", 0 },
	{ "TWILIO_PHONE_NUMBER", "+14155550123", 1 },
	{ "TWILIO_PHONE_NUMBER", "14155550123", 0 },
	{ "TWILIO_PHONE_NUMBER", "+1415", 0 },
	{ "TWILIO_PHONE_NUMBER", "+1234567890123456", 0 },
	{ "TWILIO_PHONE_NUMBER", "+1 415 555 0123", 0 },
	{ "VONAGE_PHONE_NUMBER", "447700900123", 1 },
	{ "VONAGE_PHONE_NUMBER", "+447700900123", 1 },
	{ "VONAGE_PHONE_NUMBER", "44-7700", 0 },
	{ "VONAGE_APPLICATION_ID", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", 1 },
	{ "VONAGE_PRIVATE_KEY_PATH", "./private.key", 1 },
	{ "VONAGE_PRIVATE_KEY_PATH", "a\tb", 0 },
	{ "HUME_CONFIG_ID", "x y", 0 },
	{ "PUBLIC_BASE_URL", "https://bridge.example.com", 1 },
	{ "PUBLIC_BASE_URL", "http://127.0.0.1:8080/prefix/", 1 },
	{ "PUBLIC_BASE_URL", "http://[::1]:8080", 1 },
	{ "PUBLIC_BASE_URL", "https://bridge.example.com/?a=b", 0 },
	{ "PUBLIC_BASE_URL", "https://bridge.example.com/#x", 0 },
	{ "PUBLIC_BASE_URL", "ws://bridge.example.com", 0 },
	{ "PUBLIC_BASE_URL", "https://", 0 },
	{ "PUBLIC_BASE_URL", "https://host:99999", 0 },
	{ "PUBLIC_BASE_URL", "https://ho st", 0 },
	{ "HUME_EVI_URL", "ws://127.0.0.1:9000/v0/evi/chat?x=1", 1 },
	{ "HUME_EVI_URL", "https://api.hume.ai", 0 },
	{ "HUME_API_BASE", "http://127.0.0.1:9000", 1 },
	{ "HUME_API_BASE", "api.hume.ai", 0 },
	{ "TWILIO_API_BASE", "https://api.dublin.ie1.twilio.com", 1 },
	{ "TWILIO_API_BASE", "https://-bad-.com", 0 },
	{ "VONAGE_API_BASE", "https://api-eu.vonage.com", 1 },
	{ "VONAGE_API_BASE", "ftp://api.nexmo.com", 0 },
	{ "EVB_LISTEN", "0.0.0.0:8080", 1 },
	{ "EVB_LISTEN", "[::1]:8080", 1 },
	{ "EVB_LISTEN", "[::]:0", 1 },
	{ "EVB_LISTEN", "[fe80::1%eth0]:80", 1 },
	{ "EVB_LISTEN", "localhost:8080", 1 },
	{ "EVB_LISTEN", "evb_db.local:5", 1 },
	{ "EVB_LISTEN", "::1:8080", 0 },
	{ "EVB_LISTEN", "[::1]", 0 },
	{ "EVB_LISTEN", "[::g]:80", 0 },
	{ "EVB_LISTEN", "127.0.0.1", 0 },
	{ "EVB_LISTEN", "1.2.3.999:80", 0 },
	{ "EVB_LISTEN", "host:65536", 0 },
	{ "EVB_LISTEN", "host:-1", 0 },
	{ "EVB_LISTEN", ":8080", 0 },
	{ "EVB_API_LISTEN", "127.0.0.1:x", 0 },
	{ "EVB_RUN_DIR", "/run/evibridge", 1 },
	{ "EVB_CA_FILE", "ca.pem", 1 },
	{ "EVB_DRAIN_S", "0", 1 },
	{ "EVB_DRAIN_S", "3600", 1 },
	{ "EVB_DRAIN_S", "3601", 0 },
	{ "EVB_DRAIN_S", "-1", 0 },
	{ "EVB_DRAIN_S", "10s", 0 },
	{ "EVB_DRAIN_S", " 10", 0 },
	{ "EVB_LOG_LEVEL", "warning", 1 },
	{ "EVB_LOG_LEVEL", "loud", 0 },
	{ "EVB_RESAMPLE_QUALITY", "10", 1 },
	{ "EVB_RESAMPLE_QUALITY", "11", 0 },
	{ "EVB_HUME_RATE", "44100", 1 },
	{ "EVB_HUME_RATE", "0", 1 },
	{ "EVB_HUME_RATE", "22050", 0 },
	{ "EVB_HUME_RATE", "016000", 0 },
	{ "EVB_GAIN", "0.1", 1 },
	{ "EVB_GAIN", "10", 1 },
	{ "EVB_GAIN", "2e0", 1 },
	{ "EVB_GAIN", "0.05", 0 },
	{ "EVB_GAIN", "nan", 0 },
	{ "EVB_GAIN", "1,5", 0 },
	{ "EVB_GAIN", "10.01", 0 },
};

static void test_values(void)
{
	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *v = &vcases[i];
		char prefix[80];
		int r = check(v->key, v->value);

		if (v->good) {
			ok(r == 0, "%s='%s' accepted", v->key, v->value);
			if (r)
				diag("%s", err);
			continue;
		}
		snprintf(prefix, sizeof(prefix), "%s: ", v->key);
		ok(r == EVB_ECONFIG && strncmp(err, prefix, strlen(prefix)) == 0,
		   "%s='%s' rejected, key named", v->key, v->value);
		diag("%s", err);
	}
	is_int(check("HUME_EVI_URL", "ftp://x"), EVB_ECONFIG, "HUME_EVI_URL ftp");
	is_str(err, "HUME_EVI_URL: expected a ws:// or wss:// URL, got 'ftp://x'",
	       "the message from the spec");
	is_int(check("EVB_DRAIN_S", "9999"), EVB_ECONFIG, "EVB_DRAIN_S range");
	is_str(err, "EVB_DRAIN_S: expected an integer from 0 to 3600, got '9999'",
	       "range in the message");
	is_int(check("EVB_LISTEN", "a\x01:1"), EVB_ECONFIG, "control byte");
	is_str(err, "EVB_LISTEN: expected host:port (IPv4:port, [IPv6]:port or name:port), "
	       "got 'a\\x01:1'", "control bytes escaped in messages");

	/* Rules between keys. */
	{
		struct evb_cfg *c = evb_cfg_new();
		evb_cfg_set(c, "EVB_TLS_CERT", "c.pem", err, sizeof(err));
		is_int(evb_cfg_validate(c, err, sizeof(err)), EVB_ECONFIG, "cert without key");
		is_str(err, "EVB_TLS_KEY: required when EVB_TLS_CERT is set", "cert needs key");
		evb_cfg_set(c, "EVB_TLS_KEY", "k.pem", err, sizeof(err));
		is_int(evb_cfg_validate(c, err, sizeof(err)), 0, "cert and key");
		evb_cfg_set(c, "EVB_API_LISTEN", "127.0.0.1:8080", err, sizeof(err));
		is_int(evb_cfg_validate(c, err, sizeof(err)), EVB_ECONFIG, "same listen address");
		ok(strncmp(err, "EVB_API_LISTEN: ", 16) == 0, "same listen: key named");
		evb_cfg_set(c, "EVB_API_LISTEN", "127.0.0.1:0", err, sizeof(err));
		evb_cfg_set(c, "EVB_LISTEN", "127.0.0.1:0", err, sizeof(err));
		is_int(evb_cfg_validate(c, err, sizeof(err)), 0, "both on port 0 is fine");
		evb_cfg_free(c);
	}
}

static const char *const secrets[] = {
	"TWILIO_AUTH_TOKEN", "VONAGE_API_SECRET", "VONAGE_SIGNATURE_SECRET",
	"HUME_API_KEY", "HUME_SECRET_KEY", "DATABASE_URL", "EVB_API_TOKEN",
	"EVB_MEDIA_SECRET",
};

#define N_SECRETS (sizeof(secrets) / sizeof(secrets[0]))

static void test_secrets(void)
{
	struct evb_cfg *c = evb_cfg_new();
	char *out;

	for (size_t i = 0; i < N_SECRETS; i++) {
		ok(evb_cfg_is_secret(secrets[i]), "%s is secret", secrets[i]);
		evb_cfg_set(c, secrets[i], strcmp(secrets[i], "DATABASE_URL") == 0
			    ? "postgres://evb:" SEKRIT "@db/evb" : SEKRIT, err, sizeof(err));
	}
	is_int(evb_cfg_validate(c, err, sizeof(err)), 0, "valid secrets validate");
	out = dump(c);
	ok(strstr(out, SEKRIT) == NULL, "dump never shows a secret");
	ok(strstr(out, "TWILIO_AUTH_TOKEN=(set)\n") != NULL, "dump: secret as (set)");
	ok(strstr(out, "DATABASE_URL=(set)\n") != NULL, "dump: DATABASE_URL as (set)");
	ok(strstr(out, "EVB_LISTEN=127.0.0.1:8080\n") != NULL, "dump: defaults");
	ok(strstr(out, "TWILIO_ACCOUNT_SID=\n") != NULL, "dump: unset key empty");
	free(out);
	evb_cfg_free(c);

	c = evb_cfg_new();
	evb_cfg_set(c, "EVB_CA_FILE", "/my dir/ca.pem", err, sizeof(err));
	out = dump(c);
	ok(strstr(out, "EVB_CA_FILE='/my dir/ca.pem'\n") != NULL, "dump quotes blanks");
	free(out);
	evb_cfg_free(c);

	/* Malformed secrets: the key is named, the value never shown. */
	for (size_t i = 0; i < N_SECRETS; i++) {
		const char *bad = strcmp(secrets[i], "DATABASE_URL") == 0
			? "host=x password " SEKRIT : SEKRIT " x";
		char prefix[80];
		snprintf(prefix, sizeof(prefix), "%s: ", secrets[i]);
		ok(check(secrets[i], bad) == EVB_ECONFIG &&
		   strncmp(err, prefix, strlen(prefix)) == 0 && !strstr(err, SEKRIT),
		   "malformed %s: key named, value hidden", secrets[i]);
		diag("%s", err);
	}
	ok(check("DATABASE_URL", "postgres://u:" SEKRIT "@h /d") == EVB_ECONFIG &&
	   !strstr(err, SEKRIT), "malformed DATABASE_URL URI hidden");
	ok(check("PUBLIC_BASE_URL", "https://u:" SEKRIT "@host/") == EVB_ECONFIG &&
	   !strstr(err, SEKRIT) && strstr(err, "PUBLIC_BASE_URL: credentials"),
	   "credentials in a URL are refused and hidden");
	diag("%s", err);
	ok(check("HUME_EVI_URL", "wss://" SEKRIT "@api.hume.ai/") == EVB_ECONFIG &&
	   !strstr(err, SEKRIT), "credentials in a ws URL hidden");

	/* Parse errors on a secret line do not show it either. */
	c = evb_cfg_new();
	ok(load(c, "HUME_API_KEY=\"" SEKRIT "\n") == EVB_ECONFIG && !strstr(err, SEKRIT),
	   "unterminated quote on a secret: hidden");
	ok(load(c, "HUME_API_KEY='" SEKRIT "' junk\n") == EVB_ECONFIG && !strstr(err, SEKRIT),
	   "junk after a quoted secret: hidden");
	ok(load(c, SEKRIT "\n") == EVB_ECONFIG && !strstr(err, SEKRIT),
	   "a bare secret line is not echoed");
	ok(load(c, "HUME:" SEKRIT "=x\n") == EVB_ECONFIG && !strstr(err, SEKRIT),
	   "a key that is not a name is not echoed");
	evb_cfg_free(c);
}

static void test_env(void)
{
	struct evb_cfg *c = evb_cfg_new();
	char *envp[] = {
		"PATH=/bin", "EVB_DRAIN_S=12", "EVB_LISTEN=", "NOEQUALS",
		"HUME_API_KEY=real", "HUME_AI_API_KEY=alias", "evb_run_dir=/lower",
		"EVB_LOG_LEVEL=debug", NULL,
	};

	evb_cfg_set(c, "EVB_LISTEN", "10.0.0.1:1", err, sizeof(err));
	is_int(evb_cfg_load_env(c, envp, err, sizeof(err)), 0, "load_env");
	is_int(evb_cfg_get_int(c, "EVB_DRAIN_S", 0), 12, "env key taken");
	is_str(evb_cfg_get(c, "EVB_LISTEN"), "10.0.0.1:1", "empty env value ignored");
	is_str(evb_cfg_get(c, "HUME_API_KEY"), "real", "real name wins over alias");
	is_str(evb_cfg_get(c, "EVB_RUN_DIR"), "./var/run", "env names are exact");
	is_str(evb_cfg_get(c, "EVB_LOG_LEVEL"), "debug", "EVB_LOG_LEVEL from env");
	evb_cfg_free(c);

	c = evb_cfg_new();
	{
		char *e2[] = { "HUME_AI_API_KEY=alias", NULL };
		evb_cfg_load_env(c, e2, err, sizeof(err));
		is_str(evb_cfg_get(c, "HUME_API_KEY"), "alias", "alias alone from env");
	}
	evb_cfg_free(c);
}

static int argv_is(int argc, char **argv, const char *const *want)
{
	int i;

	for (i = 0; want[i]; i++)
		if (i >= argc || strcmp(argv[i], want[i]) != 0) {
			diag("argv[%d] = '%s', want '%s'", i, i < argc ? argv[i] : "(end)",
			     want[i]);
			return 0;
		}
	return i == argc && argv[argc] == NULL;
}

static int run_argv(struct evb_cfg **c, int *argc, char **argv)
{
	evb_cfg_free(*c);
	*c = evb_cfg_new();
	err[0] = '\0';
	return evb_cfg_from_argv(*c, argc, argv, err, sizeof(err));
}

static void test_argv(void)
{
	struct evb_cfg *c = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/a.env", tmpdir);
	if (chdir(tmpdir) < 0)
		abort();

	/* No evibridge.env here: defaults only. */
	{
		char *argv[] = { "prog", NULL };
		int argc = 1;
		is_int(run_argv(&c, &argc, argv), 0, "no file: fine");
		is_str(evb_cfg_get(c, "EVB_RUN_DIR"), "./var/run", "no file: defaults");
	}
	write_file("evibridge.env", "EVB_RUN_DIR=/from-default\nEVB_DRAIN_S=1\n");
	{
		char *argv[] = { "prog", NULL };
		int argc = 1;
		is_int(run_argv(&c, &argc, argv), 0, "./evibridge.env read");
		is_str(evb_cfg_get(c, "EVB_RUN_DIR"), "/from-default", "./evibridge.env values");
	}

	/* Precedence: file < environment < argv. */
	write_file(path, "EVB_LISTEN=file:1\nEVB_API_LISTEN=file:2\nEVB_RUN_DIR=/file\n"
		   "HUME_API_KEY=" SEKRIT "\n");
	setenv("EVB_API_LISTEN", "env:2", 1);
	setenv("EVB_RUN_DIR", "/env", 1);
	{
		char *argv[] = { "prog", "--stdio", "-c", path, "--to=l16/16000",
				 "--evb-run-dir=/argv", "-h", "pos", "--EVB_LOG_LEVEL=debug",
				 "--", "--evb-listen=x:1", NULL };
		const char *const want[] = { "prog", "--stdio", "--to=l16/16000", "-h",
					     "pos", "--", "--evb-listen=x:1", NULL };
		int argc = 11;
		is_int(run_argv(&c, &argc, argv), 0, "from_argv");
		diag("%s", err);
		is_str(evb_cfg_get(c, "EVB_LISTEN"), "file:1", "file value");
		is_str(evb_cfg_get(c, "EVB_API_LISTEN"), "env:2", "env overrides file");
		is_str(evb_cfg_get(c, "EVB_RUN_DIR"), "/argv", "argv overrides env");
		is_str(evb_cfg_get(c, "EVB_LOG_LEVEL"), "debug", "--EVB_LOG_LEVEL=");
		is_str(evb_cfg_get(c, "HUME_API_KEY"), SEKRIT, "secret from file");
		is_int(evb_cfg_get_int(c, "EVB_DRAIN_S", -1), 30,
		       "--config: ./evibridge.env not read");
		ok(argv_is(argc, argv, want), "argv compacted, other options kept in order");
	}
	unsetenv("EVB_API_LISTEN");
	unsetenv("EVB_RUN_DIR");
	{
		char conf[160];
		char *argv[] = { "prog", conf, "--evb-drain-s=9", NULL };
		const char *const want[] = { "prog", NULL };
		int argc = 3;
		snprintf(conf, sizeof(conf), "--config=%s", path);
		is_int(run_argv(&c, &argc, argv), 0, "--config=FILE");
		is_str(evb_cfg_get(c, "EVB_RUN_DIR"), "/file", "--config=FILE read");
		is_int(evb_cfg_get_int(c, "EVB_DRAIN_S", 0), 9, "--evb-drain-s=9");
		ok(argv_is(argc, argv, want), "all consumed");
	}
	{
		char *argv[] = { "prog", "--config", "/nonexistent/evb.env", "--stdio", NULL };
		int argc = 4;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "--config missing file");
		ok(strstr(err, "/nonexistent/evb.env") != NULL, "missing file named");
		diag("%s", err);
		is_int(argc, 4, "argv unchanged on error");
	}
	{
		char *argv[] = { "prog", "-c", NULL };
		int argc = 2;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "-c without a file");
	}
	{
		char *argv[] = { "prog", "--config=", NULL };
		int argc = 2;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "--config= empty");
	}
	{
		char *argv[] = { "prog", "--evb-drain-s=abc", NULL };
		int argc = 2;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "bad value on argv");
		is_str(err, "EVB_DRAIN_S: expected an integer from 0 to 3600, got 'abc'",
		       "argv value checked");
	}
	{
		char *argv[] = { "prog", "--evb-listen", "1.2.3.4:5", NULL };
		int argc = 3;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "--KEY without '='");
		diag("%s", err);
	}
	{
		char *argv[] = { "prog", "--twilio-auth-token=" SEKRIT, NULL };
		int argc = 2;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "secret on argv refused");
		ok(strncmp(err, "TWILIO_AUTH_TOKEN: ", 19) == 0 && !strstr(err, SEKRIT),
		   "secret on argv: key named, value hidden");
		diag("%s", err);
	}
	{
		char *argv[] = { "prog", "--hume-ai-api-key=" SEKRIT, NULL };
		int argc = 2;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "secret alias on argv refused");
		ok(!strstr(err, SEKRIT), "alias: value hidden");
	}
	setenv("EVB_LISTEN", "[::1]:8443", 1);
	{
		char *argv[] = { "prog", NULL };
		int argc = 1;
		is_int(run_argv(&c, &argc, argv), 0, "IPv6 listen from env");
		is_str(evb_cfg_get(c, "EVB_LISTEN"), "[::1]:8443", "IPv6 listen kept");
	}
	setenv("EVB_LISTEN", "::1:8443", 1);
	{
		char *argv[] = { "prog", NULL };
		int argc = 1;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "bare IPv6 refused");
		diag("%s", err);
	}
	unsetenv("EVB_LISTEN");
	write_file("evibridge.env", "EVB_DRAIN_S=1\nWHAT=2\n");
	{
		char *argv[] = { "prog", NULL };
		int argc = 1;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "bad key in ./evibridge.env");
		is_str(err, "evibridge.env:2: unknown configuration key 'WHAT'",
		       "bad key named with file and line");
	}
	{
		char *argv[] = { "prog", "--config", tmpdir, NULL };
		int argc = 3;
		is_int(run_argv(&c, &argc, argv), EVB_ECONFIG, "--config a directory");
		diag("%s", err);
	}
	evb_cfg_free(c);
	unlink("evibridge.env");
	unlink(path);
	if (chdir(origdir) < 0)
		abort();
}

/* The sample must document every key, load as-is and with every default
 * line uncommented. */
static void test_sample(void)
{
	FILE *f = fopen("evibridge.env.sample", "r");
	char *text, *un, *p;
	long len;
	struct evb_cfg *c;
	const char *k;

	/* make test runs from the top of the checkout, where the sample is. */
	if (!ok(f != NULL, "evibridge.env.sample is readable from the current directory"))
		return;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	un = calloc(1, (size_t)len + 1);
	if (fread(text, 1, (size_t)len, f) != (size_t)len)
		abort();
	fclose(f);
	for (size_t i = 0; (k = evb_cfg_key_at(i)); i++) {
		char a[80], b[80];
		snprintf(a, sizeof(a), "\n%s=", k);
		snprintf(b, sizeof(b), "\n#%s=", k);
		ok(strstr(text, a) || strstr(text, b), "sample documents %s", k);
	}
	c = evb_cfg_new();
	is_int(evb_cfg_load_buf(c, text, (size_t)len, "sample", err, sizeof(err)), 0,
	       "sample loads");
	is_int(evb_cfg_validate(c, err, sizeof(err)), 0, "sample validates");
	evb_cfg_free(c);
	/* Uncomment "#KEY=" lines. */
	p = un;
	for (const char *q = text; *q; q++) {
		if (*q == '#' && (q == text || q[-1] == '\n') && q[1] >= 'A' && q[1] <= 'Z')
			continue;
		*p++ = *q;
	}
	c = evb_cfg_new();
	is_int(evb_cfg_load_buf(c, un, strlen(un), "sample", err, sizeof(err)), 0,
	       "sample with defaults uncommented loads");
	diag("%s", err);
	is_int(evb_cfg_validate(c, err, sizeof(err)), 0, "and validates");
	is_str(evb_cfg_get(c, "VOICE_PROVIDER"), "twilio", "sample default matches");
	evb_cfg_free(c);
	free(text);
	free(un);
}

int main(void)
{
	if (!getcwd(origdir, sizeof(origdir)))
		abort();
	snprintf(tmpdir, sizeof(tmpdir), "%s/evb-cfg-XXXXXX",
		 getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 40 ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	clear_env();
	test_defaults();
	test_names();
	test_syntax();
	test_values();
	test_secrets();
	test_env();
	test_sample();
	test_argv();
	rmdir(tmpdir);
	return done_testing();
}
