/* The logger's spool: events on disk before they are acknowledged, read back
 * by the database writer. A directory of numbered segment files holding
 * evibridge frames (docs/frames.md: `cat spool/NNN.evs | evb-cat` shows them), a
 * "position" file with the writer's place, and a lock file. */
#ifndef EVB_LOGGER_SPOOL_H
#define EVB_LOGGER_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evb_frame.h"

#define SPOOL_SYNC_MS_MAX 50

struct spool;

struct spool_pos {
	uint64_t seg; /* segment number */
	uint64_t off; /* byte offset in it */
};

struct spool_hooks {
	/* A sync begins: everything appended so far is in it. */
	void (*sync_start)(void *arg);
	/* The sync that began last is done: err 0 (that data is durable) or
	 * -errno (appends failed or were lost: nothing of it is durable). */
	void (*sync_done)(int err, void *arg);
	void *arg;
};

/* One batch of frames read for the writer: payload i is at
 * buf + off[i], len[i] bytes. Memory belongs to the spool until the next
 * spool_read(). */
struct spool_batch {
	struct spool_pos start, end;
	size_t n;
	const uint8_t **payload;
	const uint32_t *len;
};

/* Opens (creating) the spool directory dir, takes its lock, recovers after
 * a crash (a torn last frame is cut off) and starts a new segment for
 * appends. sync_ms (0..SPOOL_SYNC_MS_MAX) is the longest an append waits
 * for its fdatasync. Returns NULL with err set; *locked is 1 when another
 * process holds the lock. */
struct spool *spool_open(uv_loop_t *loop, const char *dir, unsigned sync_ms,
			 const struct spool_hooks *hooks, char *err, size_t errlen,
			 int *locked);

/* Flushes and syncs what was appended (blocking), then frees sp and
 * releases the lock. The caller closes the loop's handles afterwards. */
void spool_close(struct spool *sp);

/* Appends one frame (header h, h->len payload bytes); durable after the
 * next sync_done. Returns 0 or -errno (nothing appended). */
int spool_append(struct spool *sp, const struct evb_frame_hdr *h, const void *payload);

/* Starts a sync now if anything is pending (else sooner than sync_ms). */
void spool_sync_now(struct spool *sp);

/* Reads the next frames, at most max_events and not past what is
 * durable: after the last batch read, or after the committed position
 * following spool_rewind(). Returns the count (0: nothing new) or -errno. */
int spool_read(struct spool *sp, size_t max_events, struct spool_batch *b);

/* Makes the next spool_read() start at the committed position again. */
void spool_rewind(struct spool *sp);

/* Records that everything up to pos is in the database; drained segments
 * are deleted. Returns 0 or -errno (the position file could not be
 * written: harmless, the events are replayed idempotently). */
int spool_commit(struct spool *sp, const struct spool_pos *pos);

/* 1 when every appended frame is durable and committed. */
int spool_drained(const struct spool *sp);

/* Bytes appended since spool_open(), and bytes in the spool directory's
 * segments now. */
uint64_t spool_bytes_appended(const struct spool *sp);
uint64_t spool_bytes_on_disk(const struct spool *sp);

#endif
