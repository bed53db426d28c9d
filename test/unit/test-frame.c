/* Frame header codec and streaming reader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_frame.h"
#include "tap.h"

static size_t put_frame(uint8_t *out, const struct evb_frame_hdr *h, const void *payload)
{
	evb_frame_hdr_encode(h, out);
	memcpy(out + EVB_FRAME_HDR_LEN, payload, h->len);
	return EVB_FRAME_HDR_LEN + h->len;
}

static struct evb_frame_hdr audio_hdr(uint32_t seq, uint32_t len)
{
	struct evb_frame_hdr h = {
		.kind = EVB_KIND_AUDIO, .codec = EVB_CODEC_ULAW, .dir = EVB_DIR_UP,
		.rate = 8000, .len = len, .seq = seq,
		.media_ts_us = (uint64_t)seq * 20000, .capture_ns = 0x0102030405060708ull,
	};
	for (int i = 0; i < EVB_CALLID_LEN; i++)
		h.call_id[i] = (uint8_t)(0xa0 + i);
	return h;
}

static void test_layout(void)
{
	struct evb_frame_hdr h = audio_hdr(7, 160), d;
	uint8_t b[EVB_FRAME_HDR_LEN];
	/* Golden bytes: the layout of docs/frames.md. */
	static const uint8_t want[EVB_FRAME_HDR_LEN] = {
		'E', 'V', 'B', 'F', 1, 1, 2, 1, 0, 0, 56, 0,
		0x40, 0x1f, 0, 0, 160, 0, 0, 0, 7, 0, 0, 0,
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
		0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
		0xe0, 0x22, 0x02, 0, 0, 0, 0, 0,
		8, 7, 6, 5, 4, 3, 2, 1,
	};
	evb_frame_hdr_encode(&h, b);
	ok(memcmp(b, want, sizeof(b)) == 0, "header bytes match the documented layout");
	is_int(evb_frame_hdr_decode(b, EVB_FRAME_MAX_PAYLOAD, &d), 0, "golden header decodes");
	ok(memcmp(&d.call_id, h.call_id, 16) == 0 && d.seq == 7 && d.rate == 8000 &&
		   d.media_ts_us == 140000 && d.capture_ns == h.capture_ns && d.len == 160,
	   "decoded fields equal the encoded ones");
}

static void test_bad_headers(void)
{
	struct evb_frame_hdr h = audio_hdr(1, 160), d;
	uint8_t b[EVB_FRAME_HDR_LEN];
	struct { int off; uint8_t val; int want; const char *name; } cases[] = {
		{ 0, 'X', EVB_EBADMAGIC, "bad magic" },
		{ 4, 2, EVB_EVERSION, "future version" },
		{ 5, 0, EVB_EBADHDR, "kind 0" },
		{ 5, 4, EVB_EBADHDR, "kind 4" },
		{ 6, 0, EVB_EBADHDR, "audio without codec" },
		{ 6, 9, EVB_EBADHDR, "unknown codec" },
		{ 7, 3, EVB_EBADHDR, "unknown direction" },
		{ 8, 0x80, EVB_EBADHDR, "unknown flag" },
		{ 10, 60, EVB_EBADHDR, "header length not 56" },
		{ 19, 0x7f, EVB_ETOOBIG, "payload over the cap" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		evb_frame_hdr_encode(&h, b);
		b[cases[i].off] = cases[i].val;
		is_int(evb_frame_hdr_decode(b, EVB_FRAME_MAX_PAYLOAD, &d), cases[i].want,
		       cases[i].name);
	}
	h = audio_hdr(1, 161);
	h.codec = EVB_CODEC_L16;
	evb_frame_hdr_encode(&h, b);
	is_int(evb_frame_hdr_decode(b, EVB_FRAME_MAX_PAYLOAD, &d), EVB_EBADHDR,
	       "L16 payload with an odd byte count");
	h = audio_hdr(1, 2);
	h.kind = EVB_KIND_EVENT;
	evb_frame_hdr_encode(&h, b);
	is_int(evb_frame_hdr_decode(b, EVB_FRAME_MAX_PAYLOAD, &d), EVB_EBADHDR,
	       "event frame carrying a codec");
	h.codec = EVB_CODEC_NONE;
	h.rate = 0;
	evb_frame_hdr_encode(&h, b);
	is_int(evb_frame_hdr_decode(b, EVB_FRAME_MAX_PAYLOAD, &d), 0, "event frame is fine");
	h = audio_hdr(1, 160);
	h.rate = 0;
	evb_frame_hdr_encode(&h, b);
	is_int(evb_frame_hdr_decode(b, EVB_FRAME_MAX_PAYLOAD, &d), EVB_EBADHDR,
	       "audio at rate 0");
}

/* Feeds a stream of frames in pieces of every size from 1 to 97 bytes and
 * checks that every frame comes out whole and in order. */
static void test_stream_pieces(void)
{
	enum { N = 40 };
	uint8_t *stream = malloc(N * (EVB_FRAME_HDR_LEN + 700));
	size_t len = 0;
	int all_ok = 1;

	for (uint32_t i = 0; i < N; i++) {
		uint8_t payload[700];
		struct evb_frame_hdr h = audio_hdr(i, i * 17 % 700);
		for (uint32_t k = 0; k < h.len; k++)
			payload[k] = (uint8_t)(i + k);
		len += put_frame(stream + len, &h, payload);
	}
	for (size_t piece = 1; piece <= 97 && all_ok; piece += 8) {
		struct evb_frame_reader *r = evb_frame_reader_new(4096);
		struct evb_frame f;
		uint32_t got = 0;
		for (size_t off = 0; off < len; off += piece) {
			size_t n = len - off < piece ? len - off : piece;
			int e;
			if (evb_frame_reader_feed(r, stream + off, n) != 0)
				all_ok = 0;
			while ((e = evb_frame_reader_next(r, &f)) == 1) {
				if (f.h.seq != got || f.h.len != got * 17 % 700 ||
				    (f.h.len && f.payload[f.h.len - 1] != (uint8_t)(got + f.h.len - 1)))
					all_ok = 0;
				got++;
			}
			if (e < 0)
				all_ok = 0;
		}
		if (got != N || evb_frame_reader_finish(r) != 0 ||
		    evb_frame_reader_offset(r) != len)
			all_ok = 0;
		evb_frame_reader_free(r);
	}
	ok(all_ok, "frames come out whole and in order whatever the piece size");
	free(stream);
}

static void test_reader_errors(void)
{
	struct evb_frame_reader *r = evb_frame_reader_new(1000);
	struct evb_frame_hdr h = audio_hdr(0, 160);
	uint8_t buf[2 * (EVB_FRAME_HDR_LEN + 2000)] = { 0 };
	struct evb_frame f;
	size_t n = put_frame(buf, &h, buf + 1000);

	/* A good frame, then garbage: the good one comes out, then an error
	 * naming the offset of the garbage. */
	memcpy(buf + n, "ABCDxxxx", 8);
	evb_frame_reader_feed(r, buf, n + 8);
	is_int(evb_frame_reader_next(r, &f), 1, "good frame before garbage");
	is_int(evb_frame_reader_next(r, &f), EVB_EBADMAGIC, "garbage refused");
	is_str(evb_frame_reader_error(r), "bad magic 0x41424344 at offset 216",
	       "error names the bytes and the offset");
	is_int(evb_frame_reader_next(r, &f), EVB_EBADMAGIC, "error is sticky");
	is_int(evb_frame_reader_feed(r, buf, 10), EVB_EBADMAGIC, "feed after error refused");
	evb_frame_reader_free(r);

	/* Over the reader's cap: refused on the header, before any payload. */
	r = evb_frame_reader_new(1000);
	h = audio_hdr(0, 1001);
	evb_frame_hdr_encode(&h, buf);
	evb_frame_reader_feed(r, buf, EVB_FRAME_HDR_LEN);
	is_int(evb_frame_reader_next(r, &f), EVB_ETOOBIG, "payload over reader cap refused");
	is_str(evb_frame_reader_error(r),
	       "payload of 1001 bytes at offset 0 is over the cap of 1000", "cap error message");
	evb_frame_reader_free(r);

	/* Truncation inside the header and inside the payload. */
	r = evb_frame_reader_new(1000);
	h = audio_hdr(0, 160);
	evb_frame_hdr_encode(&h, buf);
	evb_frame_reader_feed(r, buf, 20);
	is_int(evb_frame_reader_next(r, &f), 0, "partial header waits");
	is_int(evb_frame_reader_finish(r), EVB_ETRUNC, "EOF inside header");
	is_str(evb_frame_reader_error(r), "truncated frame at offset 0: 20 of 56 header bytes",
	       "header truncation message");
	evb_frame_reader_free(r);
	r = evb_frame_reader_new(1000);
	evb_frame_reader_feed(r, buf, EVB_FRAME_HDR_LEN + 100);
	is_int(evb_frame_reader_next(r, &f), 0, "partial payload waits");
	is_int(evb_frame_reader_finish(r), EVB_ETRUNC, "EOF inside payload");
	is_str(evb_frame_reader_error(r), "truncated frame at offset 0: 100 of 160 payload bytes",
	       "payload truncation message");
	evb_frame_reader_free(r);

	/* The reader's buffer never grows past one frame plus one piece. */
	r = evb_frame_reader_new(1000);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, EVB_FRAME_MAGIC, 4);
	ok(evb_frame_reader_feed(r, buf, 200000) == -ENOBUFS, "oversized feed refused");
	evb_frame_reader_free(r);
	ok(evb_frame_reader_new(EVB_FRAME_MAX_PAYLOAD + 1) == NULL && errno == EINVAL,
	   "reader cap above the format cap refused");
}

static void test_fd_roundtrip(void)
{
	int p[2];
	struct evb_frame_hdr h = audio_hdr(3, 5);
	struct evb_frame_reader *r = evb_frame_reader_new(1000);
	struct evb_frame f;
	long n;

	if (pipe(p) != 0)
		return;
	is_int(evb_frame_write_fd(p[1], &h, "hello"), 0, "frame written to a pipe");
	close(p[1]);
	n = evb_frame_reader_read_fd(r, p[0]);
	is_int(n, EVB_FRAME_HDR_LEN + 5, "read the frame back");
	ok(evb_frame_reader_next(r, &f) == 1 && memcmp(f.payload, "hello", 5) == 0,
	   "payload intact through a pipe");
	is_int(evb_frame_reader_read_fd(r, p[0]), 0, "EOF");
	is_int(evb_frame_reader_finish(r), 0, "clean end");
	close(p[0]);
	evb_frame_reader_free(r);
}

static void test_names(void)
{
	int codec;
	uint32_t rate;
	is_int(evb_format_parse("ulaw/8000", &codec, &rate), 0, "ulaw/8000 parses");
	ok(codec == EVB_CODEC_ULAW && rate == 8000, "ulaw/8000 values");
	is_int(evb_format_parse("l16/16000", &codec, &rate), 0, "l16/16000 parses");
	ok(codec == EVB_CODEC_L16 && rate == 16000, "l16/16000 values");
	is_int(evb_format_parse("wav/16000", &codec, &rate), EVB_ECONFIG, "wav is no output format");
	is_int(evb_format_parse("l16/16001", &codec, &rate), EVB_ECONFIG, "rate not a 20 ms multiple");
	is_int(evb_format_parse("l16", &codec, &rate), EVB_ECONFIG, "missing rate");
	is_int(evb_format_parse("l16/", &codec, &rate), EVB_ECONFIG, "empty rate");
	is_str(evb_codec_name(EVB_CODEC_WAV), "wav", "codec name");
	is_int(evb_kind_parse("control"), EVB_KIND_CONTROL, "kind parse");
	is_int(evb_dir_parse("down"), EVB_DIR_DOWN, "dir parse");
	ok(evb_kind_parse("bogus") < 0 && evb_codec_name(9) == NULL, "unknown names");
}

static void test_callid(void)
{
	uint8_t id[16], back[16];
	char s[EVB_CALLID_STRLEN];
	evb_callid_random(id);
	evb_callid_format(id, s);
	ok(strlen(s) == 36 && s[14] == '4', "random call id is a v4 UUID (%s)", s);
	is_int(evb_callid_parse(s, back), 0, "formatted id parses");
	ok(memcmp(id, back, 16) == 0, "call id round trip");
	is_int(evb_callid_parse("123e4567-e89b-12d3-a456-42661417400", back), EVB_EBADHDR,
	       "short UUID refused");
	is_int(evb_callid_parse("123e4567-e89b-12d3-a456-4266141740000", back), EVB_EBADHDR,
	       "long UUID refused");
	is_int(evb_callid_parse("123E4567-E89B-12D3-A456-426614174000", back), 0,
	       "upper case accepted");
}

int main(void)
{
	test_layout();
	test_bad_headers();
	test_stream_pieces();
	test_reader_errors();
	test_fd_roundtrip();
	test_names();
	test_callid();
	return done_testing();
}
