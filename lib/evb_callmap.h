/* A hash map from call id (16 bytes) to a pointer, for per-call state. */
#ifndef EVB_CALLMAP_H
#define EVB_CALLMAP_H

#include <stddef.h>
#include <stdint.h>

#include "evb_util.h"

struct evb_callmap;

struct evb_callmap *evb_callmap_new(void);
/* Frees the map, not the values. */
void evb_callmap_free(struct evb_callmap *m);

/* Returns the value stored for id, or NULL. */
void *evb_callmap_get(const struct evb_callmap *m, const uint8_t id[EVB_CALLID_LEN]);

/* Stores value (non-NULL) for id, replacing any earlier one.
 * Returns 0 or -ENOMEM. */
int evb_callmap_put(struct evb_callmap *m, const uint8_t id[EVB_CALLID_LEN], void *value);

/* Removes id; returns the value it had, or NULL. */
void *evb_callmap_del(struct evb_callmap *m, const uint8_t id[EVB_CALLID_LEN]);

size_t evb_callmap_count(const struct evb_callmap *m);

/* Calls fn for each entry; fn may delete the entry it is given (only that
 * one). Iteration stops when fn returns non-zero. */
void evb_callmap_each(struct evb_callmap *m,
		      int (*fn)(const uint8_t *id, void *value, void *arg), void *arg);

#endif
