/* evb_replay: a value is accepted once until its time passes; the set
 * never holds more than its bound. */
#include <errno.h>
#include <stdio.h>

#include "evb_replay.h"
#include "tap.h"

int main(void)
{
	struct evb_replay *r = evb_replay_new(3);
	char v[32];

	ok(r != NULL, "a set of 3");
	is_int(evb_replay_use(r, "jti-a", 1100, 1000), 0, "first use");
	is_int(evb_replay_use(r, "jti-a", 1100, 1050), -EEXIST, "a replay within its time");
	is_int(evb_replay_use(r, "jti-a", 1100, 1100), -EEXIST, "up to its last second");
	is_int(evb_replay_use(r, "jti-b", 1200, 1050), 0, "another value");
	is_int(evb_replay_use(r, "jti-c", 1300, 1050), 0, "a third");
	is_int(evb_replay_use(r, "jti-d", 1300, 1060), -ENOSPC, "full of live values: refused");
	is_int(evb_replay_count(r), 3, "never more than 3");
	is_int(evb_replay_use(r, "jti-d", 1300, 1101), 0, "once jti-a has expired, room again");
	is_int(evb_replay_count(r), 3, "jti-a forgotten");
	is_int(evb_replay_use(r, "jti-e", 1400, 1102), -ENOSPC, "full again");
	is_int(evb_replay_use(r, "jti-b", 1300, 1250), 0, "an expired value is new again");
	is_int(evb_replay_use(r, "jti-c", 1300, 1250), -EEXIST, "jti-c still remembered");
	evb_replay_free(r);
	r = evb_replay_new(1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(v, sizeof(v), "jti-%d", i);
		if (evb_replay_use(r, v, 5000 + i, 4000) != 0)
			break;
	}
	is_int(evb_replay_count(r), 1000, "1000 values");
	is_int(evb_replay_use(r, "jti-999", 5999, 4500), -EEXIST, "the last one remembered");
	is_int(evb_replay_use(r, "jti-0", 5000, 4500), -EEXIST, "and the first");
	is_int(evb_replay_use(r, "jti-x", 9000, 5500), 0, "later: the expired ones swept");
	is_int(evb_replay_count(r), 501, "half of them left, and the new one");
	evb_replay_free(r);
	return done_testing();
}
