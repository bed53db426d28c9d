#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_frame.h"

/* Wire layout (little-endian), documented in docs/frames.md. */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 4,
	OFF_KIND = 5,
	OFF_CODEC = 6,
	OFF_DIR = 7,
	OFF_FLAGS = 8,
	OFF_HDRLEN = 10,
	OFF_RATE = 12,
	OFF_LEN = 16,
	OFF_SEQ = 20,
	OFF_CALL = 24,
	OFF_MEDIA_TS = 40,
	OFF_CAPTURE = 48,
};

#define MAX_RATE 384000u

void evb_frame_hdr_encode(const struct evb_frame_hdr *h, uint8_t out[EVB_FRAME_HDR_LEN])
{
	memcpy(out + OFF_MAGIC, EVB_FRAME_MAGIC, 4);
	out[OFF_VERSION] = EVB_FRAME_VERSION;
	out[OFF_KIND] = h->kind;
	out[OFF_CODEC] = h->codec;
	out[OFF_DIR] = h->dir;
	evb_put_le16(out + OFF_FLAGS, h->flags);
	evb_put_le16(out + OFF_HDRLEN, EVB_FRAME_HDR_LEN);
	evb_put_le32(out + OFF_RATE, h->rate);
	evb_put_le32(out + OFF_LEN, h->len);
	evb_put_le32(out + OFF_SEQ, h->seq);
	memcpy(out + OFF_CALL, h->call_id, EVB_CALLID_LEN);
	evb_put_le64(out + OFF_MEDIA_TS, h->media_ts_us);
	evb_put_le64(out + OFF_CAPTURE, h->capture_ns);
}

unsigned evb_codec_sample_bytes(enum evb_codec codec)
{
	return codec == EVB_CODEC_L16 ? 2 : codec == EVB_CODEC_ULAW ? 1 : 0;
}

/* Field-level checks shared by the decoder; a separate function so that
 * a bad header is reported the same way wherever it is found. */
static int hdr_check(const struct evb_frame_hdr *h, size_t max_payload)
{
	if (h->kind < EVB_KIND_AUDIO || h->kind > EVB_KIND_CONTROL)
		return EVB_EBADHDR;
	if (h->codec > EVB_CODEC_WAV || h->dir > EVB_DIR_DOWN)
		return EVB_EBADHDR;
	if (h->flags & ~EVB_FLAG_MASK)
		return EVB_EBADHDR;
	if (h->len > max_payload)
		return EVB_ETOOBIG;
	if (h->kind == EVB_KIND_AUDIO) {
		unsigned sb = evb_codec_sample_bytes(h->codec);
		if (h->codec == EVB_CODEC_NONE)
			return EVB_EBADHDR;
		if (h->codec != EVB_CODEC_WAV && (h->rate == 0 || h->rate > MAX_RATE))
			return EVB_EBADHDR;
		if (sb > 1 && h->len % sb != 0)
			return EVB_EBADHDR;
	} else if (h->codec != EVB_CODEC_NONE || h->rate != 0) {
		return EVB_EBADHDR;
	}
	return 0;
}

int evb_frame_hdr_decode(const uint8_t in[EVB_FRAME_HDR_LEN], size_t max_payload,
			 struct evb_frame_hdr *h)
{
	if (memcmp(in + OFF_MAGIC, EVB_FRAME_MAGIC, 4) != 0)
		return EVB_EBADMAGIC;
	if (in[OFF_VERSION] != EVB_FRAME_VERSION)
		return EVB_EVERSION;
	if (evb_get_le16(in + OFF_HDRLEN) != EVB_FRAME_HDR_LEN)
		return EVB_EBADHDR;
	h->kind = in[OFF_KIND];
	h->codec = in[OFF_CODEC];
	h->dir = in[OFF_DIR];
	h->flags = evb_get_le16(in + OFF_FLAGS);
	h->rate = evb_get_le32(in + OFF_RATE);
	h->len = evb_get_le32(in + OFF_LEN);
	h->seq = evb_get_le32(in + OFF_SEQ);
	memcpy(h->call_id, in + OFF_CALL, EVB_CALLID_LEN);
	h->media_ts_us = evb_get_le64(in + OFF_MEDIA_TS);
	h->capture_ns = evb_get_le64(in + OFF_CAPTURE);
	return hdr_check(h, max_payload);
}

static const char *const codec_names[] = { "none", "l16", "ulaw", "wav" };
static const char *const kind_names[] = { NULL, "audio", "event", "control" };
static const char *const dir_names[] = { "none", "up", "down" };

static int name_lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *evb_codec_name(enum evb_codec c)
{
	return (unsigned)c < 4 ? codec_names[c] : NULL;
}

int evb_codec_parse(const char *s)
{
	return name_lookup(codec_names, 4, s);
}

const char *evb_kind_name(enum evb_kind k)
{
	return (unsigned)k < 4 ? kind_names[k] : NULL;
}

int evb_kind_parse(const char *s)
{
	return name_lookup(kind_names, 4, s);
}

const char *evb_dir_name(enum evb_dir d)
{
	return (unsigned)d < 3 ? dir_names[d] : NULL;
}

int evb_dir_parse(const char *s)
{
	return name_lookup(dir_names, 3, s);
}

int evb_format_parse(const char *s, int *codec, uint32_t *rate)
{
	char name[8];
	const char *slash = strchr(s, '/');
	char *end;
	unsigned long r;
	size_t n;

	if (!slash || (n = (size_t)(slash - s)) >= sizeof(name))
		return EVB_ECONFIG;
	memcpy(name, s, n);
	name[n] = '\0';
	*codec = evb_codec_parse(name);
	if (*codec != EVB_CODEC_L16 && *codec != EVB_CODEC_ULAW)
		return EVB_ECONFIG;
	errno = 0;
	r = strtoul(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || r < 8000 || r > 48000 || r % 50)
		return EVB_ECONFIG;
	*rate = (uint32_t)r;
	return 0;
}

int evb_frame_write_fd(int fd, const struct evb_frame_hdr *h, const void *payload)
{
	uint8_t hdr[EVB_FRAME_HDR_LEN];
	int r;

	evb_frame_hdr_encode(h, hdr);
	r = evb_write_all(fd, hdr, sizeof(hdr));
	if (r == 0 && h->len)
		r = evb_write_all(fd, payload, h->len);
	return r;
}

/* The reader keeps unconsumed bytes in buf[start..end). Its capacity grows
 * only as far as one frame plus one read piece needs. */
#define READ_PIECE 65536u

struct evb_frame_reader {
	uint8_t *buf;
	size_t cap, start, end;
	size_t max_payload;
	uint64_t offset; /* stream offset of buf[start] */
	int err;
	char errmsg[128];
};

struct evb_frame_reader *evb_frame_reader_new(size_t max_payload)
{
	struct evb_frame_reader *r;

	if (max_payload > EVB_FRAME_MAX_PAYLOAD) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->max_payload = max_payload;
	return r;
}

void evb_frame_reader_free(struct evb_frame_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

/* Makes room for want more bytes after end: compacts, then grows within
 * the bound of one whole frame plus one read piece. */
static int reserve(struct evb_frame_reader *r, size_t want)
{
	size_t used = r->end - r->start;
	size_t limit = EVB_FRAME_HDR_LEN + r->max_payload + READ_PIECE;
	size_t ncap;
	uint8_t *nb;

	if (r->cap - r->end >= want)
		return 0;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, used);
		r->start = 0;
		r->end = used;
		if (r->cap - r->end >= want)
			return 0;
	}
	if (used + want > limit)
		return -ENOBUFS;
	ncap = r->cap ? r->cap : 4096;
	while (ncap < used + want)
		ncap *= 2;
	if (ncap > limit)
		ncap = limit;
	nb = realloc(r->buf, ncap);
	if (!nb)
		return -ENOMEM;
	r->buf = nb;
	r->cap = ncap;
	return 0;
}

int evb_frame_reader_feed(struct evb_frame_reader *r, const void *data, size_t len)
{
	int e;

	if (r->err)
		return r->err;
	if ((e = reserve(r, len)) < 0)
		return e;
	memcpy(r->buf + r->end, data, len);
	r->end += len;
	return 0;
}

long evb_frame_reader_read_fd(struct evb_frame_reader *r, int fd)
{
	ssize_t n;
	int e;

	if (r->err)
		return r->err;
	if ((e = reserve(r, READ_PIECE)) < 0)
		return e;
	do
		n = read(fd, r->buf + r->end, READ_PIECE);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	r->end += (size_t)n;
	return n;
}

static int fail(struct evb_frame_reader *r, int err, const uint8_t *h)
{
	r->err = err;
	switch (err) {
	case EVB_EBADMAGIC:
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "bad magic 0x%02x%02x%02x%02x at offset %llu", h[0], h[1], h[2],
			 h[3], (unsigned long long)r->offset);
		break;
	case EVB_EVERSION:
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "unsupported frame version %u at offset %llu (this reader speaks %u)",
			 h[OFF_VERSION], (unsigned long long)r->offset, EVB_FRAME_VERSION);
		break;
	case EVB_ETOOBIG:
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "payload of %u bytes at offset %llu is over the cap of %zu",
			 evb_get_le32(h + OFF_LEN), (unsigned long long)r->offset,
			 r->max_payload);
		break;
	default:
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "bad frame header at offset %llu (kind %u codec %u dir %u "
			 "flags 0x%x rate %u len %u)",
			 (unsigned long long)r->offset, h[OFF_KIND], h[OFF_CODEC], h[OFF_DIR],
			 evb_get_le16(h + OFF_FLAGS), evb_get_le32(h + OFF_RATE),
			 evb_get_le32(h + OFF_LEN));
	}
	return err;
}

int evb_frame_reader_next(struct evb_frame_reader *r, struct evb_frame *f)
{
	const uint8_t *p;
	size_t avail = r->end - r->start;
	int e;

	if (r->err)
		return r->err;
	/* Check the magic as soon as four bytes are there, so a stream of
	 * garbage is refused before a whole header is waited for. */
	p = r->buf + r->start;
	if (avail >= 4 && memcmp(p, EVB_FRAME_MAGIC, 4) != 0)
		return fail(r, EVB_EBADMAGIC, p);
	if (avail < EVB_FRAME_HDR_LEN)
		return 0;
	e = evb_frame_hdr_decode(p, r->max_payload, &f->h);
	if (e < 0)
		return fail(r, e, p);
	if (avail - EVB_FRAME_HDR_LEN < f->h.len)
		return 0;
	f->payload = p + EVB_FRAME_HDR_LEN;
	r->start += EVB_FRAME_HDR_LEN + f->h.len;
	r->offset += EVB_FRAME_HDR_LEN + f->h.len;
	return 1;
}

int evb_frame_reader_finish(struct evb_frame_reader *r)
{
	size_t avail = r->end - r->start;

	if (r->err)
		return r->err;
	if (avail == 0)
		return 0;
	r->err = EVB_ETRUNC;
	if (avail < EVB_FRAME_HDR_LEN)
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "truncated frame at offset %llu: %zu of %d header bytes",
			 (unsigned long long)r->offset, avail, EVB_FRAME_HDR_LEN);
	else
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "truncated frame at offset %llu: %zu of %u payload bytes",
			 (unsigned long long)r->offset, avail - EVB_FRAME_HDR_LEN,
			 evb_get_le32(r->buf + r->start + OFF_LEN));
	return EVB_ETRUNC;
}

const char *evb_frame_reader_error(const struct evb_frame_reader *r)
{
	return r->errmsg;
}

uint64_t evb_frame_reader_offset(const struct evb_frame_reader *r)
{
	return r->offset;
}
