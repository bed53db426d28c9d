/* The evibridge frame: a fixed 56-byte little-endian header followed by a
 * payload (PCM, a WAV file, or one JSON object). The format is specified in
 * docs/frames.md; the same bytes travel on unix sockets, pipes and files. */
#ifndef EVB_FRAME_H
#define EVB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "evb_util.h"

#define EVB_FRAME_MAGIC "EVBF"
#define EVB_FRAME_VERSION 1
#define EVB_FRAME_HDR_LEN 56
#define EVB_FRAME_MAX_PAYLOAD (1u << 20) /* hard cap: 1 MiB */

enum evb_kind {
	EVB_KIND_AUDIO = 1,
	EVB_KIND_EVENT = 2,   /* JSON object for evb-logger */
	EVB_KIND_CONTROL = 3, /* JSON object for the next stage */
};

enum evb_codec {
	EVB_CODEC_NONE = 0, /* event and control frames */
	EVB_CODEC_L16 = 1,  /* signed 16-bit little-endian PCM, mono */
	EVB_CODEC_ULAW = 2, /* G.711 mu-law, mono */
	EVB_CODEC_WAV = 3,  /* one complete RIFF/WAVE file */
};

enum evb_dir {
	EVB_DIR_NONE = 0,
	EVB_DIR_UP = 1,   /* caller -> AI */
	EVB_DIR_DOWN = 2, /* AI -> caller */
};

#define EVB_FLAG_END 0x0001 /* last frame of an utterance */
#define EVB_FLAG_MASK 0x0001

struct evb_frame_hdr {
	uint8_t kind;
	uint8_t codec;
	uint8_t dir;
	uint16_t flags;
	uint32_t rate;        /* samples per second; 0 for non-audio */
	uint32_t len;         /* payload bytes */
	uint32_t seq;         /* per call and direction, from 0 */
	uint8_t call_id[EVB_CALLID_LEN];
	uint64_t media_ts_us; /* media time of the first sample */
	uint64_t capture_ns;  /* CLOCK_MONOTONIC when the audio entered the bridge */
};

struct evb_frame {
	struct evb_frame_hdr h;
	const uint8_t *payload; /* h.len bytes; owned by whoever produced it */
};

/* Writes the 56-byte wire form of h into out. */
void evb_frame_hdr_encode(const struct evb_frame_hdr *h, uint8_t out[EVB_FRAME_HDR_LEN]);

/* Decodes and validates a header (magic, version, kind, codec, dir, flags,
 * rate, payload length against max_payload). Returns 0 or an EVB_E* code. */
int evb_frame_hdr_decode(const uint8_t in[EVB_FRAME_HDR_LEN], size_t max_payload,
			 struct evb_frame_hdr *h);

/* Bytes per sample of a PCM codec (2 for L16, 1 for mu-law), 0 otherwise. */
unsigned evb_codec_sample_bytes(enum evb_codec codec);

/* "l16", "ulaw", "wav", "none"; NULL for an unknown value. */
const char *evb_codec_name(enum evb_codec codec);
/* Parses a codec name; returns the codec or -1. */
int evb_codec_parse(const char *name);
const char *evb_kind_name(enum evb_kind kind);
int evb_kind_parse(const char *name);
const char *evb_dir_name(enum evb_dir dir);
int evb_dir_parse(const char *name);

/* Parses "ulaw/8000" or "l16/16000" into codec and rate; 0 or EVB_ECONFIG. */
int evb_format_parse(const char *s, int *codec, uint32_t *rate);

/* Writes header and payload to fd, retrying short writes and EINTR.
 * Returns 0 or -errno. */
int evb_frame_write_fd(int fd, const struct evb_frame_hdr *h, const void *payload);

/* Streaming reader: accepts bytes in pieces of any size, yields whole frames,
 * and never holds more than one frame plus one fed piece. */
struct evb_frame_reader;

/* Creates a reader whose payloads may not exceed max_payload (at most
 * EVB_FRAME_MAX_PAYLOAD). Returns NULL with errno set on failure. */
struct evb_frame_reader *evb_frame_reader_new(size_t max_payload);
void evb_frame_reader_free(struct evb_frame_reader *r);

/* Appends len bytes; call evb_frame_reader_next() until it returns 0 before
 * feeding more. Returns 0, -ENOMEM, or a stored earlier error. */
int evb_frame_reader_feed(struct evb_frame_reader *r, const void *data, size_t len);

/* Reads once from fd into the reader. Returns bytes read (0 at EOF) or -errno. */
long evb_frame_reader_read_fd(struct evb_frame_reader *r, int fd);

/* Yields the next complete frame: 1 and f filled (f->payload stays valid until
 * the next call), 0 when more bytes are needed, or a negative EVB_E* code.
 * An error is sticky: the stream cannot be resynchronised. */
int evb_frame_reader_next(struct evb_frame_reader *r, struct evb_frame *f);

/* At end of input: 0 if the stream ended on a frame boundary, else EVB_ETRUNC. */
int evb_frame_reader_finish(struct evb_frame_reader *r);

/* A precise description of the last error, naming the stream offset
 * ("bad magic 0x41424344 at offset 112"); "" when there is none. */
const char *evb_frame_reader_error(const struct evb_frame_reader *r);

/* Bytes of the stream consumed so far by complete frames. */
uint64_t evb_frame_reader_offset(const struct evb_frame_reader *r);

#endif
