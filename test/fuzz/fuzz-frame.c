/* Fuzz target: the streaming frame reader. The first input byte chooses the
 * piece size, so the same bytes are also read across piece boundaries. */
#include <stdint.h>
#include <stddef.h>

#include "evb_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evb_frame_reader *r;
	struct evb_frame f;
	size_t piece = size ? (size_t)data[0] * 31 + 1 : 1;
	volatile uint32_t sink = 0;

	r = evb_frame_reader_new(65536);
	if (!r)
		return 0;
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		int e;
		if (evb_frame_reader_feed(r, data + off, n) < 0)
			break;
		while ((e = evb_frame_reader_next(r, &f)) == 1) {
			/* Touch the whole payload: it must be inside the buffer. */
			for (uint32_t i = 0; i < f.h.len; i++)
				sink += f.payload[i];
		}
		if (e < 0)
			break;
	}
	evb_frame_reader_finish(r);
	(void)evb_frame_reader_error(r);
	evb_frame_reader_free(r);
	(void)sink;
	return 0;
}
