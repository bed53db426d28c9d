/* Fuzz target: one EVI message through everything evb-hume does with it
 * before it touches a socket (evb_evi_parse; for audio_output the base64
 * and the WAV inside; the prosody scores), and through evb-fakehume's
 * schema checks (evb_evi_check_client) and handshake query check. Nothing
 * may crash, leak or read out of bounds, and what parses must be sane.
 * The audio_output fast path must agree with jansson's parse: same
 * verdict, same fields. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evb_evi.h"
#include "evb_url.h"
#include "evb_wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void audio(const struct evb_evi_msg *m)
{
	struct evb_wav_info wi;
	uint8_t *wav;
	size_t len;
	int16_t *pcm;

	if (evb_evi_b64_decode(m->data, m->data_len, &wav, &len) < 0)
		return;
	if (evb_wav_parse(wav, len, &wi) == 0 && wi.frames && wi.frames < (1u << 22)) {
		pcm = malloc(wi.frames * sizeof(*pcm));
		if (pcm && evb_wav_to_mono16(&wi, pcm, wi.frames) != wi.frames)
			abort();
		free(pcm);
	}
	free(wav);
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The fast path and jansson agree on data. */
static void agree(const uint8_t *data, size_t size)
{
	char e1[EVB_EVI_ERR_MAX], e2[EVB_EVI_ERR_MAX];
	struct evb_evi_msg a, b;
	int r1 = evb_evi_parse(data, size, &a, e1, sizeof(e1));
	int r2 = evb__evi_parse_json(data, size, &b, e2, sizeof(e2));

	if (r1 != r2)
		abort();
	if (r1 < 0)
		return;
	if (a.type != b.type || !same_str(a.type_name, b.type_name) || !same_str(a.id, b.id) ||
	    a.index != b.index || a.data_len != b.data_len ||
	    (a.data_len && memcmp(a.data, b.data, a.data_len) != 0))
		abort();
	evb_evi_msg_release(&a);
	evb_evi_msg_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[EVB_EVI_ERR_MAX];
	struct evb_evi_msg m;
	struct evb_params *p;
	json_t *o;

	agree(data, size);
	if (evb_evi_parse(data, size, &m, err, sizeof(err)) == 0) {
		if (!m.type_name || m.type < 0 || m.type >= EVB_EVI_NTYPES)
			abort();
		if (m.type != EVB_EVI_AUDIO_OUTPUT && !m.root)
			abort();
		if (m.type == EVB_EVI_AUDIO_OUTPUT &&
		    (!m.data || memchr(m.data, '\0', m.data_len)))
			abort();
		if (m.type == EVB_EVI_AUDIO_OUTPUT)
			audio(&m);
		if (m.type == EVB_EVI_CHAT_METADATA && (!m.chat_id || !m.chat_group_id))
			abort();
		if (m.type == EVB_EVI_TOOL_CALL && (!m.name || !m.tool_call_id))
			abort();
		if (m.have_scores && m.bad_scores)
			abort();
		evb_evi_msg_release(&m);
	} else if (m.root) {
		abort(); /* a failed parse keeps nothing */
	}
	o = json_loadb((const char *)data, size, 0, NULL);
	if (o) {
		int t = evb_evi_check_client(o, err, sizeof(err));
		if (t > 0 && (t >= EVB_EVI_NTYPES || !evb_evi_type_name(t)))
			abort();
		json_decref(o);
	}
	p = evb_params_parse((const char *)data, size);
	if (p) {
		evb_evi_check_query(p, err, sizeof(err));
		evb_params_free(p);
	}
	return 0;
}
