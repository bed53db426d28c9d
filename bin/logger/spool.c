/* The spool (see spool.h and docs/logger.md).
 *
 * Appends go to a memory buffer and reach the current segment with one
 * write() per sync (or per MiB). A sync runs fdatasync() on libuv's thread
 * pool, so the loop never waits for the disk; appends made meanwhile wait
 * for the next sync, which starts at most sync_ms after them. The writer
 * reads only synced bytes, so the recorded position never points past what
 * a power cut leaves on disk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_util.h"
#include "spool.h"

#define SEG_MAX (64u << 20)       /* a full segment is rotated */
#define COMPACT_MIN (256u << 10)  /* a drained segment this big is rotated */
#define WBUF_FLUSH (1u << 20)     /* write() at least every MiB */
#define RBUF_MAX (8u << 20)       /* bytes read per batch at most */
#define SEG_FMT "%016" PRIx64 ".evs"

struct spool {
	uv_loop_t *loop;
	char dir[PATH_MAX - 64];
	int dirfd, lockfd;
	unsigned sync_ms;
	struct spool_hooks hooks;

	uint64_t cur;          /* segment appended to */
	int fd;                /* its descriptor */
	uint64_t written;      /* bytes write() put in it */
	uint64_t synced;       /* bytes of it known durable */
	uint64_t sync_target;  /* written when the running sync began */
	uint8_t *wb;           /* appends not yet written */
	size_t wlen, wcap;
	int write_err;         /* a failed write since the last sync start */
	int dirty;             /* appends since the last sync start */
	int syncing, armed, closing, handles;
	int sync_fd, work_err;
	uv_timer_t timer;
	uv_work_t work;

	struct spool_pos pos;  /* everything before it is in the database */
	int posfd;             /* the position file, kept open */
	struct spool_pos rpos; /* where the next spool_read() starts */
	int rfd;               /* segment rseg, for reading */
	uint64_t rseg;
	uint8_t *rbuf;
	size_t rcap;
	const uint8_t **payloads;
	uint32_t *lens;
	size_t pcap;

	uint64_t appended;
};

static void seg_path(const struct spool *sp, uint64_t n, char *out, size_t cap)
{
	snprintf(out, cap, "%s/" SEG_FMT, sp->dir, n);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- segments on disk ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Segment numbers in the directory, sorted (caller frees). */
static int list_segments(const struct spool *sp, uint64_t **out, size_t *n)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	size_t cap = 0;
	uint64_t *v = NULL;

	*n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		uint64_t num;
		char tail[8];
		if (strlen(e->d_name) != 20 ||
		    sscanf(e->d_name, "%16" SCNx64 "%7s", &num, tail) != 2 ||
		    strcmp(tail, ".evs") != 0)
			continue;
		if (*n == cap) {
			uint64_t *nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[(*n)++] = num;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_u64);
	*out = v;
	return 0;
}

static void remove_segment(struct spool *sp, uint64_t n)
{
	char path[PATH_MAX];

	seg_path(sp, n, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		EVB_LOG(LOG_WARNING, "spool", "unable to remove '%s': %s", path, strerror(errno));
}

/* The position is one fixed-width line, rewritten in place by a single
 * pwrite() of 42 bytes (one sector: it lands whole or not at all) on a
 * descriptor kept open: a file created and renamed each batch cost an
 * open() that waited for the journal behind the spool's fdatasync(), on
 * the loop. It is not synced: a stale position after a power cut only
 * replays events the database already has, which the event_id makes a
 * no-op. */
static int write_position(struct spool *sp)
{
	char path[PATH_MAX], line[64];
	int n;

	if (sp->posfd < 0) {
		snprintf(path, sizeof(path), "%s/position", sp->dir);
		sp->posfd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
		if (sp->posfd < 0)
			return -errno;
	}
	n = snprintf(line, sizeof(line), "%020" PRIu64 " %020" PRIu64 "\n", sp->pos.seg,
		     sp->pos.off);
	if (pwrite(sp->posfd, line, (size_t)n, 0) != n)
		return errno ? -errno : -EIO;
	return 0;
}

static void read_position(struct spool *sp, int *found)
{
	char path[PATH_MAX];
	FILE *f;

	*found = 0;
	snprintf(path, sizeof(path), "%s/position", sp->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fscanf(f, "%" SCNu64 " %" SCNu64, &sp->pos.seg, &sp->pos.off) == 2)
		*found = 1;
	fclose(f);
}

/* Length of the whole frames at the start of segment n; *size gets the
 * file size. */
static int valid_length(struct spool *sp, uint64_t n, uint64_t *valid, uint64_t *size)
{
	char path[PATH_MAX];
	uint8_t hdr[EVB_FRAME_HDR_LEN];
	struct evb_frame_hdr h;
	struct stat st;
	uint64_t off = 0;
	int fd;

	seg_path(sp, n, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = -errno;
		if (fd >= 0)
			close(fd);
		return e;
	}
	*size = (uint64_t)st.st_size;
	while (off + EVB_FRAME_HDR_LEN <= *size) {
		if (pread(fd, hdr, sizeof(hdr), (off_t)off) != (ssize_t)sizeof(hdr) ||
		    evb_frame_hdr_decode(hdr, EVB_FRAME_MAX_PAYLOAD, &h) < 0 ||
		    off + EVB_FRAME_HDR_LEN + h.len > *size)
			break;
		off += EVB_FRAME_HDR_LEN + h.len;
	}
	close(fd);
	*valid = off;
	return 0;
}

/* Creates segment n for appends (and makes its name durable). */
static int new_segment(struct spool *sp, uint64_t n)
{
	char path[PATH_MAX];
	int fd;

	seg_path(sp, n, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (fsync(sp->dirfd) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = fd;
	sp->cur = n;
	sp->written = sp->synced = sp->sync_target = 0;
	return 0;
}

static int recover(struct spool *sp, char *err, size_t errlen)
{
	uint64_t *segs = NULL, last;
	size_t n = 0;
	int found, r;

	r = list_segments(sp, &segs, &n);
	if (r < 0) {
		snprintf(err, errlen, "unable to list '%s': %s", sp->dir, strerror(-r));
		return r;
	}
	read_position(sp, &found);
	if (!found)
		sp->pos = (struct spool_pos){ n ? segs[0] : 1, 0 };
	for (size_t i = 0; i < n; i++)
		if (segs[i] < sp->pos.seg)
			remove_segment(sp, segs[i]);
	last = n ? segs[n - 1] : 0;
	if (n && segs[n - 1] >= sp->pos.seg) {
		uint64_t valid = 0, size = 0;
		char path[PATH_MAX];

		/* Only the last segment can end in a torn frame (a crash while
		 * appending): cut it; its senders were never acknowledged. */
		r = valid_length(sp, last, &valid, &size);
		seg_path(sp, last, path, sizeof(path));
		if (r == 0 && valid < size) {
			EVB_LOG(LOG_WARNING, "spool", "'%s': cutting %" PRIu64 " bytes of a torn "
				"frame at offset %" PRIu64, path, size - valid, valid);
			if (truncate(path, (off_t)valid) < 0)
				r = -errno;
		}
		if (r < 0) {
			snprintf(err, errlen, "unable to recover '%s': %s", path, strerror(-r));
			free(segs);
			return r;
		}
		if (sp->pos.seg == last && sp->pos.off > valid)
			sp->pos.off = valid;
	}
	free(segs);
	if (last < sp->pos.seg)
		last = sp->pos.seg;
	r = new_segment(sp, last + 1);
	if (r < 0) {
		snprintf(err, errlen, "unable to create a segment in '%s': %s", sp->dir,
			 strerror(-r));
		return r;
	}
	if (sp->pos.seg > sp->cur || (sp->pos.seg < sp->cur && n == 0))
		sp->pos = (struct spool_pos){ sp->cur, 0 };
	sp->rpos = sp->pos;
	return write_position(sp);
}

/* ---- open and close ---- */

static int take_lock(struct spool *sp, char *err, size_t errlen, int *locked)
{
	char path[PATH_MAX], pid[32];
	ssize_t n;
	int len;

	snprintf(path, sizeof(path), "%s/lock", sp->dir);
	sp->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->lockfd < 0) {
		snprintf(err, errlen, "unable to open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		n = pread(sp->lockfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (e == EWOULDBLOCK) {
			*locked = 1;
			snprintf(err, errlen, "spool '%s' is in use by another evb-logger "
				 "(pid %s)", sp->dir, *pid ? pid : "unknown");
		} else {
			snprintf(err, errlen, "unable to lock '%s': %s", path, strerror(e));
		}
		return -1;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(sp->lockfd, 0) == 0)
		(void)!pwrite(sp->lockfd, pid, (size_t)len, 0);
	return 0;
}

static void sp_free(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->rfd >= 0)
		close(sp->rfd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	if (sp->posfd >= 0)
		close(sp->posfd);
	if (sp->lockfd >= 0)
		close(sp->lockfd); /* releases the lock */
	free(sp->wb);
	free(sp->rbuf);
	free(sp->payloads);
	free(sp->lens);
	free(sp);
}

static void unref(struct spool *sp)
{
	if (--sp->handles == 0)
		sp_free(sp);
}

static void timer_close_cb(uv_handle_t *h)
{
	unref(h->data);
}

struct spool *spool_open(uv_loop_t *loop, const char *dir, unsigned sync_ms,
			 const struct spool_hooks *hooks, char *err, size_t errlen,
			 int *locked)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	int r;

	*locked = 0;
	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sp->fd = sp->rfd = sp->dirfd = sp->lockfd = sp->posfd = -1;
	sp->loop = loop;
	sp->sync_ms = sync_ms > SPOOL_SYNC_MS_MAX ? SPOOL_SYNC_MS_MAX : sync_ms;
	sp->hooks = *hooks;
	if (strlen(dir) >= sizeof(sp->dir)) {
		snprintf(err, errlen, "spool path too long: '%s'", dir);
		goto fail;
	}
	snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	r = evb_mkdir_p(dir);
	if (r < 0) {
		snprintf(err, errlen, "unable to create '%s': %s", dir, strerror(-r));
		goto fail;
	}
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		snprintf(err, errlen, "unable to open '%s': %s", dir, strerror(errno));
		goto fail;
	}
	if (take_lock(sp, err, errlen, locked) < 0 || recover(sp, err, errlen) < 0)
		goto fail;
	uv_timer_init(loop, &sp->timer);
	sp->timer.data = sp;
	sp->handles = 1;
	return sp;
fail:
	sp_free(sp);
	return NULL;
}

/* ---- appending and syncing ---- */

/* write()s the buffered appends; on failure the segment is cut back. */
static int flush(struct spool *sp)
{
	int r;

	if (sp->wlen == 0)
		return 0;
	r = write_all(sp->fd, sp->wb, sp->wlen);
	if (r < 0) {
		EVB_LOG(LOG_ERR, "spool", "unable to write to the spool: %s", strerror(-r));
		if (ftruncate(sp->fd, (off_t)sp->written) < 0)
			EVB_LOG(LOG_ERR, "spool", "unable to cut the spool back: %s",
				strerror(errno));
		sp->write_err = r;
	} else {
		sp->written += sp->wlen;
	}
	sp->wlen = 0;
	return r;
}

static void work_cb(uv_work_t *w)
{
	struct spool *sp = w->data;
	sp->work_err = fdatasync(sp->sync_fd) < 0 ? -errno : 0;
}

static void arm(struct spool *sp);

static void sync_finished(struct spool *sp, int err)
{
	sp->syncing = 0;
	if (err == 0)
		sp->synced = sp->sync_target;
	else
		EVB_LOG(LOG_ERR, "spool", "unable to sync the spool: %s", strerror(-err));
	if (sp->closing)
		return;
	if (sp->hooks.sync_done)
		sp->hooks.sync_done(err, sp->hooks.arg);
	if (sp->dirty)
		arm(sp);
}

static void after_work_cb(uv_work_t *w, int status)
{
	struct spool *sp = w->data;

	sync_finished(sp, status < 0 ? status : sp->work_err);
	if (sp->closing)
		unref(sp);
}

static void sync_start(struct spool *sp)
{
	int err;

	if (sp->syncing || sp->closing)
		return;
	sp->armed = 0;
	uv_timer_stop(&sp->timer);
	flush(sp);
	if (!sp->write_err && sp->written >= SEG_MAX) {
		/* Rotate a full segment: its tail is synced here, once per SEG_MAX. */
		err = fdatasync(sp->fd) < 0 ? -errno : 0;
		if (err == 0)
			err = new_segment(sp, sp->cur + 1);
		if (err < 0)
			EVB_LOG(LOG_ERR, "spool", "unable to rotate the spool: %s", strerror(-err));
	}
	if (sp->hooks.sync_start)
		sp->hooks.sync_start(sp->hooks.arg);
	sp->dirty = 0;
	sp->syncing = 1;
	sp->sync_target = sp->written;
	err = sp->write_err;
	sp->write_err = 0;
	if (err) {
		sync_finished(sp, err);
		return;
	}
	sp->sync_fd = sp->fd;
	sp->work.data = sp;
	err = uv_queue_work(sp->loop, &sp->work, work_cb, after_work_cb);
	if (err < 0)
		sync_finished(sp, err);
}

static void timer_cb(uv_timer_t *t)
{
	sync_start(t->data);
}

static void arm(struct spool *sp)
{
	if (sp->armed || sp->syncing || sp->closing)
		return;
	sp->armed = 1;
	uv_timer_start(&sp->timer, timer_cb, sp->sync_ms, 0);
}

int spool_append(struct spool *sp, const struct evb_frame_hdr *h, const void *payload)
{
	size_t need = EVB_FRAME_HDR_LEN + (size_t)h->len;

	if (sp->closing)
		return -ESHUTDOWN;
	if (sp->write_err)
		return sp->write_err;
	if (sp->wlen + need > sp->wcap) {
		size_t cap = sp->wcap ? sp->wcap : 65536;
		uint8_t *p;
		while (cap < sp->wlen + need)
			cap *= 2;
		if (!(p = realloc(sp->wb, cap)))
			return -ENOMEM;
		sp->wb = p;
		sp->wcap = cap;
	}
	evb_frame_hdr_encode(h, sp->wb + sp->wlen);
	if (h->len)
		memcpy(sp->wb + sp->wlen + EVB_FRAME_HDR_LEN, payload, h->len);
	sp->wlen += need;
	sp->appended += need;
	sp->dirty = 1;
	if (sp->wlen >= WBUF_FLUSH)
		flush(sp); /* an error is reported by the next sync */
	arm(sp);
	return 0;
}

void spool_sync_now(struct spool *sp)
{
	if (sp->dirty && !sp->syncing && !sp->closing) {
		sp->armed = 0;
		uv_timer_stop(&sp->timer);
		uv_timer_start(&sp->timer, timer_cb, 0, 0);
		sp->armed = 1;
	}
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	sp->closing = 1;
	flush(sp);
	if (sp->fd >= 0 && fdatasync(sp->fd) < 0)
		EVB_LOG(LOG_ERR, "spool", "unable to sync the spool: %s", strerror(errno));
	if (sp->syncing)
		sp->handles++; /* after_work_cb drops it */
	uv_timer_stop(&sp->timer);
	uv_close((uv_handle_t *)&sp->timer, timer_close_cb);
}

/* ---- reading ---- */

/* Moves the read position to the start of the next segment. When nothing
 * read is uncommitted, the committed position follows and the drained
 * segment goes. */
static void advance(struct spool *sp)
{
	int follow = sp->rpos.seg == sp->pos.seg && sp->rpos.off == sp->pos.off;

	if (sp->rfd >= 0)
		close(sp->rfd);
	sp->rfd = -1;
	sp->rpos = (struct spool_pos){ sp->rpos.seg + 1, 0 };
	if (follow) {
		remove_segment(sp, sp->pos.seg);
		sp->pos = sp->rpos;
		write_position(sp);
	}
}

void spool_rewind(struct spool *sp)
{
	sp->rpos = sp->pos;
}

static int grow_arrays(struct spool *sp, size_t n)
{
	const uint8_t **p;
	uint32_t *l;

	if (n <= sp->pcap)
		return 0;
	p = realloc(sp->payloads, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	sp->payloads = p;
	l = realloc(sp->lens, n * sizeof(*l));
	if (!l)
		return -ENOMEM;
	sp->lens = l;
	sp->pcap = n;
	return 0;
}

int spool_read(struct spool *sp, size_t max_events, struct spool_batch *b)
{
	for (;;) {
		uint64_t limit, avail, off = 0;
		struct stat st;
		ssize_t got;
		size_t n = 0, want;
		int r;

		if (sp->rpos.seg == sp->cur) {
			limit = sp->synced;
		} else {
			if (sp->rfd < 0 || sp->rseg != sp->rpos.seg) {
				char path[PATH_MAX];
				if (sp->rfd >= 0)
					close(sp->rfd);
				seg_path(sp, sp->rpos.seg, path, sizeof(path));
				sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
				sp->rseg = sp->rpos.seg;
				if (sp->rfd < 0) {
					if (errno != ENOENT)
						return -errno;
					advance(sp);
					continue;
				}
			}
			if (fstat(sp->rfd, &st) < 0)
				return -errno;
			limit = (uint64_t)st.st_size;
		}
		if (sp->rpos.off >= limit) {
			if (sp->rpos.seg == sp->cur)
				return 0;
			advance(sp);
			continue;
		}
		if (sp->rpos.seg == sp->cur && (sp->rfd < 0 || sp->rseg != sp->cur)) {
			char path[PATH_MAX];
			if (sp->rfd >= 0)
				close(sp->rfd);
			seg_path(sp, sp->cur, path, sizeof(path));
			sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
			sp->rseg = sp->cur;
			if (sp->rfd < 0)
				return -errno;
		}
		avail = limit - sp->rpos.off;
		want = avail < RBUF_MAX ? (size_t)avail : RBUF_MAX;
		if (want > sp->rcap) {
			uint8_t *p = realloc(sp->rbuf, want);
			if (!p)
				return -ENOMEM;
			sp->rbuf = p;
			sp->rcap = want;
		}
		got = pread(sp->rfd, sp->rbuf, want, (off_t)sp->rpos.off);
		if (got < 0)
			return -errno;
		if ((size_t)got < want)
			want = (size_t)got;
		while (n < max_events && off + EVB_FRAME_HDR_LEN <= want) {
			struct evb_frame_hdr h;
			r = evb_frame_hdr_decode(sp->rbuf + off, EVB_FRAME_MAX_PAYLOAD, &h);
			if (r < 0 || off + EVB_FRAME_HDR_LEN + h.len > want) {
				if (r == 0 && (size_t)(avail) > want)
					break; /* continues past this read */
				if (n)
					break; /* hand over what is good first */
				EVB_LOG(LOG_ERR, "spool", "segment " SEG_FMT ": bad frame at "
					"offset %" PRIu64 "; skipping the rest of it",
					sp->rpos.seg, sp->rpos.off + off);
				if (sp->rpos.seg == sp->cur)
					return -EIO;
				advance(sp);
				goto again;
			}
			if ((r = grow_arrays(sp, n + 1)) < 0)
				return r;
			sp->payloads[n] = sp->rbuf + off + EVB_FRAME_HDR_LEN;
			sp->lens[n] = h.len;
			n++;
			off += EVB_FRAME_HDR_LEN + h.len;
		}
		if (n == 0 && want < avail && want < RBUF_MAX)
			return -EIO; /* short read */
		b->start = sp->rpos;
		b->end = (struct spool_pos){ sp->rpos.seg, sp->rpos.off + off };
		b->n = n;
		sp->rpos = b->end;
		b->payload = sp->payloads;
		b->len = sp->lens;
		return (int)n;
again:;
	}
}

int spool_commit(struct spool *sp, const struct spool_pos *pos)
{
	while (sp->pos.seg < pos->seg)
		remove_segment(sp, sp->pos.seg++);
	sp->pos = *pos;
	if (sp->rpos.seg < pos->seg || (sp->rpos.seg == pos->seg && sp->rpos.off < pos->off))
		sp->rpos = *pos;
	if (sp->pos.seg < sp->rpos.seg) {
		/* At the end of a segment the reader has left: on to the next. */
		char path[PATH_MAX];
		struct stat st;
		seg_path(sp, sp->pos.seg, path, sizeof(path));
		if (stat(path, &st) < 0 || (uint64_t)st.st_size <= sp->pos.off) {
			while (sp->pos.seg < sp->rpos.seg)
				remove_segment(sp, sp->pos.seg++);
			sp->pos.off = 0;
		}
	}
	if (sp->pos.seg == sp->cur && sp->pos.off == sp->written && sp->synced == sp->written &&
	    sp->rpos.seg == sp->pos.seg && sp->rpos.off == sp->pos.off &&
	    sp->wlen == 0 && !sp->dirty && !sp->syncing && sp->written >= COMPACT_MIN) {
		/* Drained: start afresh and drop the old segment. */
		uint64_t old = sp->cur;
		if (new_segment(sp, old + 1) == 0) {
			if (sp->rfd >= 0)
				close(sp->rfd);
			sp->rfd = -1;
			sp->pos = sp->rpos = (struct spool_pos){ sp->cur, 0 };
			remove_segment(sp, old);
		}
	}
	return write_position(sp);
}

int spool_drained(const struct spool *sp)
{
	return sp->pos.seg == sp->cur && sp->pos.off == sp->written && sp->wlen == 0 &&
	       !sp->dirty && !sp->syncing && sp->synced == sp->written;
}

uint64_t spool_bytes_appended(const struct spool *sp)
{
	return sp->appended;
}

uint64_t spool_bytes_on_disk(const struct spool *sp)
{
	uint64_t *segs = NULL, total = 0;
	size_t n = 0;

	if (list_segments(sp, &segs, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		seg_path(sp, segs[i], path, sizeof(path));
		if (stat(path, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	free(segs);
	return total;
}
