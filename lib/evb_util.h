/* Small helpers: clocks, call ids, little-endian access. */
#ifndef EVB_UTIL_H
#define EVB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define EVB_CALLID_LEN 16
#define EVB_CALLID_STRLEN 37 /* 36 characters and the NUL */

/* CLOCK_MONOTONIC in nanoseconds; comparable across processes of one host. */
uint64_t evb_now_ns(void);

/* Writes the UTC wall clock as RFC 3339 with milliseconds
 * ("2026-11-21T07:05:00.123Z") into out; returns out. */
char *evb_wallclock_rfc3339(char *out, size_t cap);

/* Writes all n bytes to fd, retrying short writes and EINTR.
 * Returns 0 or -errno. */
int evb_write_all(int fd, const void *buf, size_t n);

/* Creates path and its missing parents (mode 0750). Returns 0 or -errno. */
int evb_mkdir_p(const char *path);

/* Fills id with a random version-4 UUID. Returns 0 or -errno. */
int evb_callid_random(uint8_t id[EVB_CALLID_LEN]);

/* Formats id as a lowercase 8-4-4-4-12 UUID string into out. */
void evb_callid_format(const uint8_t id[EVB_CALLID_LEN], char out[EVB_CALLID_STRLEN]);

/* Parses a UUID string (either case, with hyphens); 0 or EVB_EBADHDR. */
int evb_callid_parse(const char *s, uint8_t id[EVB_CALLID_LEN]);

static inline void evb_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void evb_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void evb_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t evb_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t evb_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t evb_get_le64(const uint8_t *p)
{
	return (uint64_t)evb_get_le32(p) | ((uint64_t)evb_get_le32(p + 4) << 32);
}

#endif
