/* Fuzz target: the WAV reader, and the WAV path of evb_conv (parse, rate
 * change, resample, frame). The last input byte picks the output format. */
#include <stdint.h>
#include <stddef.h>

#include "evb_conv.h"
#include "evb_wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink_cb(void *arg, const uint8_t *frame, size_t len, int end)
{
	volatile uint32_t *sum = arg;
	/* Touch the whole frame: it must be inside the conv's buffer. */
	for (size_t i = 0; i < len; i++)
		*sum += frame[i];
	*sum += (uint32_t)end;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int16_t pcm[4096];
	struct evb_wav_info info;
	volatile uint32_t sum = 0;
	struct evb_conv_opts o = {
		.in_codec = EVB_CODEC_WAV, .quality = 3, .gain = 1.0f, .frame_ms = 20,
	};
	struct evb_conv *c;
	uint8_t sel = size ? data[size - 1] : 0;

	if (evb_wav_parse(data, size, &info) == 0) {
		size_t n = evb_wav_to_mono16(&info, pcm, sizeof(pcm) / sizeof(pcm[0]));
		/* data must lie inside the input. */
		if (info.data < data || info.data_len > size ||
		    (size_t)(info.data - data) > size - info.data_len)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			sum += (uint16_t)pcm[i];
	}

	o.out_codec = sel & 1 ? EVB_CODEC_ULAW : EVB_CODEC_L16;
	o.out_rate = sel & 2 ? 8000 : 16000;
	if (sel & 4)
		o.gain = 2.8f;
	c = evb_conv_new(&o);
	if (!c)
		return 0;
	/* Twice: the second push reuses the resampler made for this rate. */
	evb_conv_push(c, data, size, sink_cb, (void *)&sum);
	evb_conv_push(c, data, size, sink_cb, (void *)&sum);
	evb_conv_flush(c, sink_cb, (void *)&sum);
	evb_conv_free(c);
	return 0;
}
