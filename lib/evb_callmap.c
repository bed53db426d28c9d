#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evb_callmap.h"

/* Open addressing with linear probing and backward-shift deletion, so there
 * are no tombstones and lookups stay short. Capacity is a power of two and
 * the load stays under 3/4. */
struct slot {
	uint8_t id[EVB_CALLID_LEN];
	void *value; /* NULL: empty */
};

struct evb_callmap {
	struct slot *slots;
	size_t cap, count;
};

static size_t hash(const uint8_t *id)
{
	uint64_t h = 1469598103934665603ull;
	for (int i = 0; i < EVB_CALLID_LEN; i++) {
		h ^= id[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 32));
}

struct evb_callmap *evb_callmap_new(void)
{
	struct evb_callmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cap = 16;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void evb_callmap_free(struct evb_callmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static struct slot *find(const struct evb_callmap *m, const uint8_t *id)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash(id) & mask;; i = (i + 1) & mask) {
		struct slot *s = &m->slots[i];
		if (!s->value || memcmp(s->id, id, EVB_CALLID_LEN) == 0)
			return s;
	}
}

void *evb_callmap_get(const struct evb_callmap *m, const uint8_t id[EVB_CALLID_LEN])
{
	return find(m, id)->value;
}

static int grow(struct evb_callmap *m)
{
	struct slot *old = m->slots;
	size_t oldcap = m->cap;
	struct slot *ns = calloc(oldcap * 2, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	m->slots = ns;
	m->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].value)
			*find(m, old[i].id) = old[i];
	free(old);
	return 0;
}

int evb_callmap_put(struct evb_callmap *m, const uint8_t id[EVB_CALLID_LEN], void *value)
{
	struct slot *s;

	if ((m->count + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return -ENOMEM;
	s = find(m, id);
	if (!s->value) {
		memcpy(s->id, id, EVB_CALLID_LEN);
		m->count++;
	}
	s->value = value;
	return 0;
}

void *evb_callmap_del(struct evb_callmap *m, const uint8_t id[EVB_CALLID_LEN])
{
	size_t mask = m->cap - 1;
	struct slot *s = find(m, id);
	size_t i = (size_t)(s - m->slots), j = i;
	void *value = s->value;

	if (!value)
		return NULL;
	m->count--;
	/* Shift back any later entry whose probe run passes through i. */
	for (;;) {
		size_t home;
		j = (j + 1) & mask;
		if (!m->slots[j].value)
			break;
		home = hash(m->slots[j].id) & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].value = NULL;
	return value;
}

size_t evb_callmap_count(const struct evb_callmap *m)
{
	return m->count;
}

void evb_callmap_each(struct evb_callmap *m,
		      int (*fn)(const uint8_t *id, void *value, void *arg), void *arg)
{
	/* Deleting shifts later entries back into the current slot: revisit
	 * a slot whose entry changed under us. Walk from an empty slot so no
	 * run is split across the wrap-around. */
	size_t start = 0, mask = m->cap - 1;
	while (m->slots[start].value)
		start++;
	for (size_t k = 1; k <= m->cap; k++) {
		size_t i = (start + k) & mask;
		while (m->slots[i].value) {
			uint8_t id[EVB_CALLID_LEN];
			void *v = m->slots[i].value;
			memcpy(id, m->slots[i].id, EVB_CALLID_LEN);
			if (fn(id, v, arg))
				return;
			if (m->slots[i].value == v && memcmp(m->slots[i].id, id, EVB_CALLID_LEN) == 0)
				break;
		}
	}
}
