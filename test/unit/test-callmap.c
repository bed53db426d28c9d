/* Call-id hash map: against a plain array model, with deletes. */
#include <stdlib.h>
#include <string.h>

#include "evb_callmap.h"
#include "tap.h"

static void mkid(uint8_t *id, unsigned n)
{
	memset(id, 0, EVB_CALLID_LEN);
	memcpy(id, &n, sizeof(n));
	id[15] = (uint8_t)(n * 7);
}

static int count_cb(const uint8_t *id, void *v, void *arg)
{
	(void)id;
	(void)v;
	(*(int *)arg)++;
	return 0;
}

static int del_odd(const uint8_t *id, void *v, void *arg)
{
	struct evb_callmap *m = arg;
	if ((uintptr_t)v & 1)
		evb_callmap_del(m, id);
	return 0;
}

int main(void)
{
	enum { N = 5000 };
	struct evb_callmap *m = evb_callmap_new();
	uint8_t id[EVB_CALLID_LEN];
	int good = 1, n = 0;

	for (unsigned i = 1; i <= N; i++) {
		mkid(id, i);
		evb_callmap_put(m, id, (void *)(uintptr_t)i);
	}
	is_int(evb_callmap_count(m), N, "all entries stored");
	for (unsigned i = 1; i <= N; i++) {
		mkid(id, i);
		if (evb_callmap_get(m, id) != (void *)(uintptr_t)i)
			good = 0;
	}
	ok(good, "every entry found");
	mkid(id, N + 1);
	ok(evb_callmap_get(m, id) == NULL, "absent id not found");
	for (unsigned i = 1; i <= N; i += 3) {
		mkid(id, i);
		if (evb_callmap_del(m, id) != (void *)(uintptr_t)i)
			good = 0;
	}
	ok(good, "deletes return the value");
	for (unsigned i = 1; i <= N; i++) {
		mkid(id, i);
		void *want = (i - 1) % 3 == 0 ? NULL : (void *)(uintptr_t)i;
		if (evb_callmap_get(m, id) != want)
			good = 0;
	}
	ok(good, "after deletes, the rest still found and the deleted gone");
	evb_callmap_each(m, count_cb, &n);
	is_int(n, evb_callmap_count(m), "each visits every entry once");
	evb_callmap_each(m, del_odd, m);
	n = 0;
	evb_callmap_each(m, count_cb, &n);
	good = 1;
	for (unsigned i = 1; i <= N; i++) {
		mkid(id, i);
		void *v = evb_callmap_get(m, id);
		if (v && ((uintptr_t)v & 1))
			good = 0;
		if (!v && (i - 1) % 3 != 0 && !(i & 1))
			good = 0;
	}
	ok(good && (size_t)n == evb_callmap_count(m), "deleting inside each is safe");
	evb_callmap_free(m);
	return done_testing();
}
