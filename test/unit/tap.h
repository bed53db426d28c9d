/* Minimal TAP producer for unit tests: ok(), is_int(), done_testing(). */
#ifndef EVB_TAP_H
#define EVB_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   Failed test at %s line %d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, name)                                                   \
	do {                                                                      \
		long long g_ = (long long)(got), w_ = (long long)(want);          \
		if (!ok(g_ == w_, "%s", name))                                    \
			printf("#          got: %lld\n#     expected: %lld\n", g_, w_); \
	} while (0)
#define is_str(got, want, name)                                                  \
	do {                                                                     \
		const char *g_ = (got), *w_ = (want);                            \
		if (!ok(g_ && w_ && strcmp(g_, w_) == 0, "%s", name))            \
			printf("#          got: '%s'\n#     expected: '%s'\n",       \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)");          \
	} while (0)
#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
