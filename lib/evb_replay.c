/* One-time values remembered until they expire (see evb_replay.h): a
 * callmap from 16 bytes of SHA-256 to the expiry, swept of expired values
 * once a minute and whenever it is full. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "evb_callmap.h"
#include "evb_replay.h"

#define SWEEP_S 60

struct evb_replay {
	struct evb_callmap *m;
	size_t max;
	int64_t swept;
};

struct evb_replay *evb_replay_new(size_t max)
{
	struct evb_replay *r = calloc(1, sizeof(*r));

	if (!r || !(r->m = evb_callmap_new())) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->max = max;
	return r;
}

void evb_replay_free(struct evb_replay *r)
{
	if (!r)
		return;
	evb_callmap_free(r->m);
	free(r);
}

size_t evb_replay_count(const struct evb_replay *r)
{
	return evb_callmap_count(r->m);
}

/* The expiry is stored as the pointer itself (never NULL: 1 is added). */
static int64_t until_of(void *v)
{
	return (int64_t)(intptr_t)v - 1;
}

static int sweep_cb(const uint8_t *key, void *v, void *arg)
{
	struct evb_replay *r = arg;

	if (until_of(v) < r->swept)
		evb_callmap_del(r->m, key);
	return 0;
}

static void sweep(struct evb_replay *r, int64_t now)
{
	r->swept = now;
	evb_callmap_each(r->m, sweep_cb, r);
}

int evb_replay_use(struct evb_replay *r, const char *value, int64_t until, int64_t now)
{
	uint8_t h[32];
	void *v;

	if (mbedtls_sha256_ret((const unsigned char *)value, strlen(value), h, 0) != 0)
		return -ENOMEM;
	if ((v = evb_callmap_get(r->m, h)) && until_of(v) >= now)
		return -EEXIST;
	if (now - r->swept >= SWEEP_S || (!v && evb_callmap_count(r->m) >= r->max))
		sweep(r, now);
	if (!evb_callmap_get(r->m, h) && evb_callmap_count(r->m) >= r->max)
		return -ENOSPC;
	if (until < now)
		until = now;
	return evb_callmap_put(r->m, h, (void *)(intptr_t)(until + 1));
}
