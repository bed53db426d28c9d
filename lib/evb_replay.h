/* Remembering one-time values (a signed webhook JWT's jti) until the
 * token that carries them expires, to refuse a replay. Bounded: at most
 * the given number of values, kept as 16 bytes of their SHA-256. */
#ifndef EVB_REPLAY_H
#define EVB_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct evb_replay;

/* A set of at most max values. NULL with errno ENOMEM. */
struct evb_replay *evb_replay_new(size_t max);
void evb_replay_free(struct evb_replay *r);

/* Records value (NUL-terminated), seen at Unix time now, as used until
 * until. Returns 0 the first time, -EEXIST for a value already recorded
 * whose time has not passed, -ENOSPC when max values are still in their
 * time (the caller refuses: a replay cannot be told apart), -ENOMEM. */
int evb_replay_use(struct evb_replay *r, const char *value, int64_t until, int64_t now);

/* How many values are remembered. */
size_t evb_replay_count(const struct evb_replay *r);

#endif
