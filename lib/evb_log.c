#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evb_log.h"
#include "evb_util.h"

int evb_log_level = LOG_INFO;
static const char *log_prog = "evb";

void evb_log_init(const char *prog)
{
	const char *lvl = getenv("EVB_LOG_LEVEL");
	log_prog = prog;
	if (lvl && evb_log_parse_level(lvl) >= 0)
		evb_log_level = evb_log_parse_level(lvl);
}

int evb_log_parse_level(const char *s)
{
	static const struct { const char *name; int level; } names[] = {
		{ "err", LOG_ERR }, { "error", LOG_ERR },
		{ "warning", LOG_WARNING }, { "warn", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].level;
	return -1;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "err";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void evb__log(int level, const char *tag, const char *fmt, ...)
{
	char line[2048];
	char ts[32];
	size_t n;
	int r;
	va_list ap;

	evb_wallclock_rfc3339(ts, sizeof(ts));
	r = snprintf(line, sizeof(line), "%s %s %s %s: ", ts, log_prog,
		     level_name(level), tag);
	n = r < 0 ? 0 : (size_t)r;
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		n += r < 0 ? 0 : (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* One event, one line: fold any newline the message carried. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
