/* Unit tests for evb-logger's spool (bin/logger/spool.c, compiled in):
 * append and sync, read back, commit, the lock, recovery from a torn frame,
 * and compaction. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "../../bin/logger/spool.c"
#include "evb_log.h"
#include "tap.h"

static uv_loop_t loop;
static char dir[64];
static int syncs, sync_err, starts;

static void on_start(void *arg)
{
	(void)arg;
	starts++;
}

static void on_done(int err, void *arg)
{
	(void)arg;
	syncs++;
	sync_err = err;
}

static const struct spool_hooks hooks = { on_start, on_done, NULL };

static struct spool *open_spool(int *locked)
{
	char err[256];
	struct spool *sp = spool_open(&loop, dir, 0, &hooks, err, sizeof(err), locked);

	if (!sp)
		diag("spool_open: %s", err);
	return sp;
}

static void append(struct spool *sp, int i)
{
	struct evb_frame_hdr h = { .kind = EVB_KIND_EVENT, .seq = (uint32_t)i };
	char json[64];

	h.len = (uint32_t)snprintf(json, sizeof(json), "{\"n\":%d}", i);
	spool_append(sp, &h, json);
}

static void wait_sync(void)
{
	int want = syncs + 1;
	while (syncs < want)
		uv_run(&loop, UV_RUN_ONCE);
}

static void close_spool(struct spool *sp)
{
	spool_close(sp);
	uv_run(&loop, UV_RUN_DEFAULT);
}

/* Reads everything readable; returns the count and checks the numbering. */
static int read_all(struct spool *sp, int first, struct spool_pos *end)
{
	struct spool_batch b;
	int n = 0, r, ordered = 1;

	while ((r = spool_read(sp, 7, &b)) > 0) {
		for (size_t i = 0; i < b.n; i++) {
			char want[32];
			snprintf(want, sizeof(want), "{\"n\":%d}", first + n);
			ordered &= b.len[i] == strlen(want) && !memcmp(b.payload[i], want, b.len[i]);
			n++;
		}
		*end = b.end;
	}
	if (!ordered)
		diag("events out of order or damaged");
	return ordered ? n : -1;
}

static off_t segment_size(uint64_t seg)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" SEG_FMT, dir, seg);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

int main(void)
{
	struct spool *sp, *sp2;
	struct spool_pos end = { 0, 0 };
	int locked, fd;
	uint64_t seg;

	evb_log_level = LOG_ERR;
	snprintf(dir, sizeof(dir), "/tmp/evb-test-spool.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	uv_loop_init(&loop);

	sp = open_spool(&locked);
	ok(sp != NULL, "spool opened in an empty directory");
	sp2 = open_spool(&locked);
	ok(!sp2 && locked, "a second opener finds it locked");
	for (int i = 0; i < 20; i++)
		append(sp, i);
	is_int(read_all(sp, 0, &end), 0, "nothing is readable before the sync");
	wait_sync();
	ok(starts == 1 && sync_err == 0, "one sync covers the 20 appends");
	is_int(read_all(sp, 0, &end), 20, "after the sync, the 20 events read back in order");
	ok(!spool_drained(sp), "not drained before the commit");
	spool_commit(sp, &end);
	ok(spool_drained(sp), "drained after the commit");

	for (int i = 20; i < 30; i++)
		append(sp, i);
	wait_sync();
	seg = sp->cur;
	close_spool(sp);

	/* A crash while appending leaves half a frame at the end. */
	{
		char path[128];
		uint8_t half[30] = { 'E', 'V', 'B', 'F', 1, 2 };
		snprintf(path, sizeof(path), "%s/" SEG_FMT, dir, seg);
		fd = open(path, O_WRONLY | O_APPEND);
		ok(fd >= 0 && write(fd, half, sizeof(half)) == (ssize_t)sizeof(half),
		   "a torn frame is added to the last segment");
		close(fd);
	}
	sp = open_spool(&locked);
	ok(sp != NULL, "reopened after the crash");
	is_int(segment_size(seg), 10 * (EVB_FRAME_HDR_LEN + 7) + 20 * (EVB_FRAME_HDR_LEN + 8),
	       "the torn frame was cut, the 30 whole frames kept");
	is_int(read_all(sp, 20, &end), 10, "the 10 uncommitted events are read again, from "
	       "the position");
	spool_commit(sp, &end);
	ok(spool_drained(sp), "drained");
	ok(segment_size(seg) < 0, "the drained segment is gone");

	/* Compaction: a drained segment of COMPACT_MIN bytes or more goes. */
	{
		struct evb_frame_hdr h = { .kind = EVB_KIND_EVENT };
		static char big[64 << 10];
		uint64_t before = sp->cur;
		memset(big, ' ', sizeof(big));
		big[0] = '{';
		big[sizeof(big) - 1] = '}';
		h.len = sizeof(big);
		for (int i = 0; i < 5; i++)
			spool_append(sp, &h, big);
		wait_sync();
		while (spool_read(sp, 100, &(struct spool_batch){ 0 }) > 0)
			;
		end = sp->rpos;
		spool_commit(sp, &end);
		ok(sp->cur == before + 1 && segment_size(before) < 0 && segment_size(sp->cur) == 0,
		   "a drained 320 KiB segment is replaced by an empty one");
	}
	close_spool(sp);

	is_int(uv_loop_close(&loop), 0, "loop closes with no handle left");
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		ok(system(cmd) == 0, "cleaned up");
	}
	return done_testing();
}
