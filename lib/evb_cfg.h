/* Configuration shared by every evibridge program: one KEY=value file,
 * the environment and "--KEY=value" options, checked at start-up.
 * Error strings name the key but never show the value of a secret. */
#ifndef EVB_CFG_H
#define EVB_CFG_H

#include <stddef.h>
#include <stdio.h>

#define EVB_CFG_LINE_MAX 8192 /* longest line in a file, and longest value */
#define EVB_CFG_FILE_MAX (1024 * 1024)
#define EVB_CFG_DEFAULT_FILE "evibridge.env"

struct evb_cfg;

/* Returns a configuration with every key unset, so defaults apply, or NULL
 * with errno set. The caller frees it with evb_cfg_free(). */
struct evb_cfg *evb_cfg_new(void);

/* Frees c and every value it holds; NULL is fine. */
void evb_cfg_free(struct evb_cfg *c);

/* Reads a KEY=value file: '#' comments, blank lines, an optional "export "
 * prefix, optional single or double quotes around the value, CRLF line
 * ends; an unquoted value ends at a '#' that follows a blank. A missing
 * file is fine unless must_exist. Returns 0 or EVB_ECONFIG with err set
 * ("path:line: ..." for a bad line). Later lines override earlier ones. */
int evb_cfg_load_file(struct evb_cfg *c, const char *path, int must_exist,
		      char *err, size_t errlen);

/* Same as evb_cfg_load_file() for the len bytes at buf (not NUL-terminated);
 * name is used in error messages. Returns 0 or EVB_ECONFIG. */
int evb_cfg_load_buf(struct evb_cfg *c, const char *buf, size_t len,
		     const char *name, char *err, size_t errlen);

/* Takes the known keys (exact names, aliases first so the real name wins)
 * from envp, or from environ when envp is NULL; other variables and empty
 * values are ignored. Returns 0 or EVB_ECONFIG. */
int evb_cfg_load_env(struct evb_cfg *c, char **envp, char *err, size_t errlen);

/* Sets one key; the name is normalised (uppercase, '-' becomes '_'), an alias
 * sets its key, value is copied and an empty value unsets the key. Returns 0
 * or EVB_ECONFIG ("unknown configuration key 'X'"). No format check here. */
int evb_cfg_set(struct evb_cfg *c, const char *key, const char *value,
		char *err, size_t errlen);

/* Checks the format of every set value and the rules between keys. Returns
 * 0 or EVB_ECONFIG with err naming the first bad key, e.g. "HUME_EVI_URL:
 * expected a ws:// or wss:// URL, got 'ftp://x'" (secret values not shown). */
int evb_cfg_validate(const struct evb_cfg *c, char *err, size_t errlen);

/* Returns the value of key (normalised, aliases followed), else its default,
 * else NULL. The string belongs to c or to the static table. */
const char *evb_cfg_get(const struct evb_cfg *c, const char *key);

/* Returns the value (or default) of key as a decimal integer, or dflt when
 * there is none or it does not parse. */
long evb_cfg_get_int(const struct evb_cfg *c, const char *key, long dflt);

/* Same for a decimal number (EVB_GAIN). */
double evb_cfg_get_double(const struct evb_cfg *c, const char *key, double dflt);

/* Returns 1 if name is a configuration key or alias (KEY or key-with-dashes). */
int evb_cfg_is_key(const char *name);

/* Returns 1 if key names a secret (never print its value), else 0. */
int evb_cfg_is_secret(const char *key);

/* Returns the name of the i-th key in table order, or NULL past the end
 * (aliases are not listed). For --help and tests. */
const char *evb_cfg_key_at(size_t i);

/* Returns a one-line description of key, or NULL if it is unknown. */
const char *evb_cfg_doc(const char *key);

/* Returns 0 if every key named in the NULL-terminated list has a value or a
 * default, else EVB_ECONFIG with err "missing required key 'KEY'". */
int evb_cfg_require(const struct evb_cfg *c, char *err, size_t errlen, ...)
	__attribute__((sentinel));

/* Prints the effective configuration, one KEY=value line per key in table
 * order; a secret that is set prints as "(set)", values with blanks or '#'
 * are quoted. For --print-config. */
void evb_cfg_dump(const struct evb_cfg *c, FILE *out);

/* The start-up every program runs: reads "--config FILE", "--config=FILE" or
 * "-c FILE" (must exist; else ./evibridge.env if present), then the
 * environment, then each "--KEY=value" option naming a key, then validates.
 * Consumed options are removed and argv/argc compacted; other options and
 * everything from "--" on stay in order. Secrets are refused on the command
 * line. Returns 0 or EVB_ECONFIG with err set (argv is then unchanged). */
int evb_cfg_from_argv(struct evb_cfg *c, int *argc, char **argv,
		      char *err, size_t errlen);

#endif
