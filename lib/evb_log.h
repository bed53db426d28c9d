/* One line per event on stderr: "<time> <prog> <level> <tag>: <message>".
 * Never pass secrets or audio to these functions. */
#ifndef EVB_LOG_H
#define EVB_LOG_H

#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

extern int evb_log_level;

/* Sets the program name printed on each line (not copied: keep it alive). */
void evb_log_init(const char *prog);

/* Parses "err", "warning", "info" or "debug" (or a digit); -1 if unknown. */
int evb_log_parse_level(const char *s);

void evb__log(int level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Logs only when level is enabled; arguments are not evaluated otherwise. */
#define EVB_LOG(level, tag, ...)                                   \
	do {                                                       \
		if ((level) <= evb_log_level)                      \
			evb__log((level), (tag), __VA_ARGS__);     \
	} while (0)

#endif
