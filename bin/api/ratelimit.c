/* Per-address token buckets in a fixed open-addressed table: a lookup
 * probes a few slots; when none matches or is free, the probed slot used
 * least recently is taken over (a forgotten client starts with a full
 * bucket, which is what an idle one would have anyway). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define PROBES 8
#define ADDR_MAX 48

struct slot {
	char addr[ADDR_MAX]; /* "" : free */
	double tokens;
	uint64_t last_ms;
};

struct ratelimit {
	struct slot *slots;
	size_t n;
	double rate, burst;
};

struct ratelimit *ratelimit_new(size_t slots, double rate, double burst)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl || !(rl->slots = calloc(slots, sizeof(*rl->slots)))) {
		free(rl);
		errno = ENOMEM;
		return NULL;
	}
	rl->n = slots;
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	free(rl);
}

/* The address without its port: "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1". */
static void host_of(const char *peer, char out[ADDR_MAX])
{
	const char *end = strrchr(peer, ':'), *start = peer;
	size_t n;

	if (peer[0] == '[') {
		start = peer + 1;
		end = strchr(start, ']');
	}
	n = end ? (size_t)(end - start) : strlen(start);
	if (n >= ADDR_MAX)
		n = ADDR_MAX - 1;
	memcpy(out, start, n);
	out[n] = '\0';
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int ratelimit_take(struct ratelimit *rl, const char *addr, uint64_t now_ms, unsigned *retry_s)
{
	char host[ADDR_MAX];
	struct slot *s = NULL, *lru = NULL;
	size_t h;

	host_of(addr, host);
	h = (size_t)(hash(host) % rl->n);
	for (size_t i = 0; i < PROBES && i < rl->n; i++) {
		struct slot *c = &rl->slots[(h + i) % rl->n];
		if (strcmp(c->addr, host) == 0) {
			s = c;
			break;
		}
		if (!lru || !c->addr[0] || (lru->addr[0] && c->last_ms < lru->last_ms))
			lru = c;
	}
	if (!s) {
		s = lru;
		memcpy(s->addr, host, sizeof(host));
		s->tokens = rl->burst;
		s->last_ms = now_ms;
	}
	if (now_ms > s->last_ms) {
		s->tokens += (double)(now_ms - s->last_ms) / 1000.0 * rl->rate;
		if (s->tokens > rl->burst)
			s->tokens = rl->burst;
		s->last_ms = now_ms;
	}
	if (s->tokens >= 1) {
		s->tokens -= 1;
		return 1;
	}
	*retry_s = (unsigned)ceil((1 - s->tokens) / rl->rate);
	if (*retry_s < 1)
		*retry_s = 1;
	return 0;
}
