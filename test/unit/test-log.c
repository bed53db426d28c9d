/* Logging: one line per event, level filter without evaluating arguments,
 * newlines folded; error strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_log.h"
#include "tap.h"

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

/* Runs fn with stderr captured into buf. */
static void capture(void (*fn)(void), char *buf, size_t cap)
{
	int p[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	if (pipe(p) != 0)
		return;
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(p[0], buf, cap - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(p[0]);
}

static void log_two(void)
{
	EVB_LOG(LOG_ERR, "ws", "unable to connect to '%s': %s", "db", strerror(ECONNREFUSED));
	EVB_LOG(LOG_INFO, "call", "line one\nline two %d", 2);
}

static void log_filtered(void)
{
	EVB_LOG(LOG_DEBUG, "x", "%d", side_effect());
}

static void log_long(void)
{
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	EVB_LOG(LOG_WARNING, "big", "%s", big);
}

int main(void)
{
	char buf[8192], *nl;

	evb_log_init("evb-test");
	evb_log_level = LOG_INFO;
	capture(log_two, buf, sizeof(buf));
	nl = strchr(buf, '\n');
	ok(nl && strchr(nl + 1, '\n') && !strchr(strchr(nl + 1, '\n') + 1, '\n'),
	   "two events, exactly two lines");
	ok(strstr(buf, " evb-test err ws: unable to connect to 'db': Connection refused\n") != NULL,
	   "program, level, tag and message in the line");
	ok(strstr(buf, "line one line two 2\n") != NULL, "a newline in a message is folded");
	ok(buf[4] == '-' && buf[10] == 'T' && strstr(buf, "Z evb-test") != NULL,
	   "each line starts with an RFC 3339 UTC time");

	capture(log_filtered, buf, sizeof(buf));
	ok(buf[0] == '\0' && evaluated == 0, "a disabled level prints nothing and evaluates nothing");
	evb_log_level = LOG_DEBUG;
	capture(log_filtered, buf, sizeof(buf));
	ok(evaluated == 1 && strstr(buf, "debug x: 1") != NULL, "an enabled level does");

	capture(log_long, buf, sizeof(buf));
	ok(strlen(buf) <= 2048 && buf[strlen(buf) - 1] == '\n', "an overlong message is cut, still one line");

	is_int(evb_log_parse_level("warning"), LOG_WARNING, "level names parse");
	is_int(evb_log_parse_level("7"), LOG_DEBUG, "level digits parse");
	is_int(evb_log_parse_level("loud"), -1, "unknown level refused");

	is_str(evb_strerror(EVB_EBADMAGIC), "bad frame magic", "EVB_E* strings");
	is_str(evb_strerror(-ENOENT), "No such file or directory", "-errno strings");
	is_str(evb_strerror(-99999), "unknown error", "out-of-range code");
	return done_testing();
}
