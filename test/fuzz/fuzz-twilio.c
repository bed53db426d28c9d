/* Fuzz target: Twilio input as evb-ingress and evb-call meet it. The input
 * is a Media Streams message (parsed, and on success every field read and
 * the outbound messages rebuilt from it), TwiML (read back), and a
 * signature check whose URL, parameters and signature come from the
 * input's lines. The media fast path must agree with jansson's parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evb_sign.h"
#include "evb_twilio.h"
#include "evb_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The media fast path and jansson agree on data: same result, same fields. */
static void agree(const uint8_t *data, size_t size)
{
	static uint8_t b1[EVB_TWILIO_PAYLOAD_MAX], b2[EVB_TWILIO_PAYLOAD_MAX];
	struct evb_twilio_msg x, y;
	char e1[160], e2[160];
	int r1 = evb_twilio_msg_parse(data, size, b1, sizeof(b1), &x, e1, sizeof(e1));
	int r2 = evb__twilio_msg_parse_json(data, size, b2, sizeof(b2), &y, e2, sizeof(e2));

	if (r1 != r2)
		abort();
	if (r1 < 0)
		return;
	if (x.event != y.event || !same_str(x.name, y.name) ||
	    !same_str(x.stream_sid, y.stream_sid) || !same_str(x.track, y.track) ||
	    x.seq != y.seq || x.chunk != y.chunk || x.timestamp_ms != y.timestamp_ms ||
	    x.payload_len != y.payload_len || memcmp(b1, b2, x.payload_len) != 0)
		abort();
	evb_twilio_msg_release(&x);
	evb_twilio_msg_release(&y);
}

static void message(const uint8_t *data, size_t size)
{
	static uint8_t buf[EVB_TWILIO_PAYLOAD_MAX];
	struct evb_twilio_msg m;
	char err[160], out[512];
	volatile size_t sum = 0;

	agree(data, size);
	if (evb_twilio_msg_parse(data, size, buf, sizeof(buf), &m, err, sizeof(err)) < 0) {
		if (strlen(err) >= sizeof(err))
			abort();
		return;
	}
	if (m.payload_len > sizeof(buf) || (m.payload_len && m.payload != buf))
		abort();
	for (size_t i = 0; i < m.payload_len; i++)
		sum += m.payload[i];
	if (m.stream_sid) {
		char *q = evb_json_quote(m.stream_sid);
		if (q) {
			evb_twilio_media_msg(out, sizeof(out), q, buf, m.payload_len < 160 ? m.payload_len : 160);
			if (m.mark)
				evb_twilio_mark_msg(out, sizeof(out), q, m.mark);
			evb_twilio_clear_msg(out, sizeof(out), q);
			free(q);
		}
	}
	if (m.event == EVB_TWILIO_START) {
		const char *tok = evb_twilio_msg_param(&m, "token");
		evb_mtoken_check("secret", evb_twilio_msg_param(&m, "call_id"), m.call_sid, tok, 0, NULL);
	}
	sum += (size_t)m.event + (m.digit ? strlen(m.digit) : 0) + (size_t)(m.chunk + m.seq);
	(void)sum;
	evb_twilio_msg_release(&m);
}

static void twiml(const uint8_t *data, size_t size)
{
	static struct evb_twiml t;

	if (evb_twiml_parse((const char *)data, size, &t) == 0) {
		if (strlen(t.action) >= sizeof(t.action) || strlen(t.stream_url) >= sizeof(t.stream_url) ||
		    t.nparams > EVB_TWIML_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < t.nparams; i++)
			if (strlen(t.values[i]) >= sizeof(t.values[i]))
				abort();
	}
}

/* Lines: URL, form body, signature. */
static void signature(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *url, *form, *sig;
	struct evb_params *p;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	url = s;
	form = strchr(url, '\n');
	if (form)
		*form++ = '\0';
	sig = form ? strchr(form, '\n') : NULL;
	if (sig)
		*sig++ = '\0';
	p = evb_params_parse(form ? form : "", form ? strlen(form) : 0);
	evb_twilio_check_signature("token", url, p, form, form ? strlen(form) : 0, sig);
	evb_params_free(p);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	message(data, size);
	twiml(data, size);
	signature(data, size);
	return 0;
}
