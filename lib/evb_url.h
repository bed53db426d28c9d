/* URLs and their encodings: absolute http/https/ws/wss URLs split into
 * parts, percent-decoding, and ordered name=value lists for query strings
 * and application/x-www-form-urlencoded bodies (repeated names kept, in
 * order: Twilio's signature check sorts all of them). */
#ifndef EVB_URL_H
#define EVB_URL_H

#include <stddef.h>
#include <sys/types.h>

#define EVB_URL_MAX 8192       /* longest URL evb_url_parse() accepts */
#define EVB_PARAMS_MAX 1000    /* most pairs evb_params_parse() accepts */

struct evb_url;
struct evb_params;

/* Parses an absolute URL with scheme http, https, ws or wss (any case), a
 * host (name, IPv4, or [IPv6]), an optional port, path, query; a fragment is
 * dropped, user:password@ is refused. Returns NULL with errno EINVAL (or
 * ENOMEM); the caller frees the result with evb_url_free(). */
struct evb_url *evb_url_parse(const char *url);
void evb_url_free(struct evb_url *u);

/* The parts, valid as long as u: scheme in lowercase; host without
 * brackets; port (explicit, else 80 or 443); path as written, "/" when
 * empty; query as written without '?', NULL when absent. */
const char *evb_url_scheme(const struct evb_url *u);
const char *evb_url_host(const struct evb_url *u);
int evb_url_port(const struct evb_url *u);
const char *evb_url_path(const struct evb_url *u);
const char *evb_url_query(const struct evb_url *u);

/* 1 for https and wss. */
int evb_url_is_tls(const struct evb_url *u);

/* The Host header value: host (bracketed for IPv6), plus ":port" when the
 * port is not the scheme's default. Valid as long as u. */
const char *evb_url_hostport(const struct evb_url *u);

/* Decodes %XX escapes of s[0..len) (and '+' as a space if plus is set) into
 * out, NUL-terminated; out needs len + 1 bytes and may be s itself. Returns
 * the decoded length, or -EINVAL for a bad escape or an encoded NUL. */
ssize_t evb_url_decode(const char *s, size_t len, int plus, char *out);

/* An empty list; NULL with errno ENOMEM. Free with evb_params_free(). */
struct evb_params *evb_params_new(void);

/* Parses "a=1&b=2&a=3" (a query string or a form body; '+' is a space,
 * empty pieces skipped, "a" alone gives a = ""). Returns NULL with errno
 * EINVAL (bad escape, encoded NUL), E2BIG (over EVB_PARAMS_MAX pairs) or
 * ENOMEM. */
struct evb_params *evb_params_parse(const char *s, size_t len);

/* Appends copies of name and value. Returns 0, -ENOMEM or -E2BIG. */
int evb_params_add(struct evb_params *p, const char *name, const char *value);

/* Count, and the i-th name and value (decoded, valid as long as p). */
size_t evb_params_count(const struct evb_params *p);
const char *evb_params_name(const struct evb_params *p, size_t i);
const char *evb_params_value(const struct evb_params *p, size_t i);

/* The value of the first pair called name (case-sensitive), or NULL. */
const char *evb_params_get(const struct evb_params *p, const char *name);

/* Sorts by name, then by value, comparing bytes (Twilio's order). */
void evb_params_sort(struct evb_params *p);

/* Encodes as application/x-www-form-urlencoded ("To=%2B1555&Body=a+b");
 * the caller frees the string. NULL with errno ENOMEM. */
char *evb_params_encode(const struct evb_params *p);

void evb_params_free(struct evb_params *p);

#endif
