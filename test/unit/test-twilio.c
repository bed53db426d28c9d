/* Unit tests for lib/evb_twilio: signatures (twilio-python's vectors),
 * Media Streams messages both ways, TwiML built and read back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evb_err.h"
#include "evb_twilio.h"
#include "evb_url.h"
#include "tap.h"

static const char *URL = "https://mycompany.com/myapp.php?foo=1&bar=2";

static struct evb_params *doc_params(void)
{
	struct evb_params *p = evb_params_new();

	/* Out of order on purpose: the signature sorts them. */
	evb_params_add(p, "To", "+18005551212");
	evb_params_add(p, "CallSid", "CA1234567890ABCDE");
	evb_params_add(p, "Digits", "1234");
	evb_params_add(p, "From", "+14158675309");
	evb_params_add(p, "Caller", "+14158675309");
	return p;
}

static void test_signature(void)
{
	struct evb_params *p = doc_params();
	char sig[EVB_TWILIO_SIG_LEN];
	static const char body[] = "{\"property\": \"value\", \"boolean\": true}";
	static const char burl[] = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
				   "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

	ok(evb_twilio_signature("12345", URL, p, sig) == 0, "signature computed");
	is_str(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "twilio-python's vector");
	ok(evb_twilio_check_signature("12345", URL, p, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
	   "valid signature accepted");
	ok(!evb_twilio_check_signature("12345", URL, p, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8"),
	   "truncated signature refused");
	ok(!evb_twilio_check_signature("54321", URL, p, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
	   "another auth token refused");
	ok(!evb_twilio_check_signature("12345", URL, p, NULL, 0, NULL), "missing signature refused");
	ok(!evb_twilio_check_signature("", URL, p, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
	   "no auth token: refused");
	/* Signed with the port, checked without it, and the other way. */
	ok(evb_twilio_check_signature("12345", URL, p, NULL, 0, "kvajT1Ptam85bY51eRf/AJRuM3w="),
	   "signature over the URL with :443 accepted for the URL without");
	ok(evb_twilio_check_signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2",
				      p, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
	   "signature over the URL without port accepted for the URL with :443");
	evb_params_add(p, "Digits", "1234"); /* a repeated pair counts once */
	ok(evb_twilio_check_signature("12345", URL, p, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
	   "a repeated identical pair counts once");
	evb_params_add(p, "Extra", "1");
	ok(!evb_twilio_check_signature("12345", URL, p, NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
	   "an added parameter breaks the signature");
	evb_params_free(p);
	ok(evb_twilio_check_signature("12345", burl, NULL, body, strlen(body),
				      "a9nBmqA0ju/hNViExpshrM61xv4="),
	   "JSON body with bodySHA256: accepted");
	ok(!evb_twilio_check_signature("12345", burl, NULL, "{}", 2, "a9nBmqA0ju/hNViExpshrM61xv4="),
	   "JSON body not matching bodySHA256: refused");
	ok(evb_twilio_check_signature("secret123", "ws://127.0.0.1:8080/twilio/stream", NULL, NULL, 0,
				      "82NUPd+Qym8af3wX6Ag4e7nexLQ="),
	   "WebSocket URL, no parameters");
}

static void test_parse(void)
{
	uint8_t buf[EVB_TWILIO_PAYLOAD_MAX];
	struct evb_twilio_msg m;
	char err[128];
	static const char start[] =
		"{\"event\":\"start\",\"sequenceNumber\":\"1\",\"start\":{\"accountSid\":\"AC1\","
		"\"streamSid\":\"MZ1\",\"callSid\":\"CA1\",\"tracks\":[\"inbound\"],"
		"\"customParameters\":{\"token\":\"t\",\"call_id\":\"c\"},\"mediaFormat\":"
		"{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}},"
		"\"streamSid\":\"MZ1\"}";
	static const char media[] =
		"{\"event\":\"media\",\"sequenceNumber\":\"3\",\"media\":{\"track\":\"inbound\","
		"\"chunk\":\"2\",\"timestamp\":\"20\",\"payload\":\"AAECAw==\"},\"streamSid\":\"MZ1\"}";
	static const char big[] = "{\"event\":\"media\",\"media\":{\"payload\":\"AAAAAAAA\"}}";

	is_int(evb_twilio_msg_parse(start, strlen(start), buf, sizeof(buf), &m, err, sizeof(err)), 0,
	       "start parses");
	is_int(m.event, EVB_TWILIO_START, "start: event");
	is_str(m.stream_sid, "MZ1", "start: streamSid");
	is_str(m.call_sid, "CA1", "start: callSid");
	is_str(evb_twilio_msg_param(&m, "token"), "t", "start: customParameters.token");
	is_str(m.encoding, "audio/x-mulaw", "start: encoding");
	is_int(m.sample_rate, 8000, "start: sampleRate (a number)");
	is_int(m.seq, 1, "start: sequenceNumber (a string)");
	evb_twilio_msg_release(&m);

	is_int(evb_twilio_msg_parse(media, strlen(media), buf, sizeof(buf), &m, err, sizeof(err)), 0,
	       "media parses");
	is_int(m.payload_len, 4, "media: payload decoded");
	ok(m.payload[3] == 3, "media: payload bytes");
	is_int(m.timestamp_ms, 20, "media: timestamp");
	is_int(m.chunk, 2, "media: chunk");
	evb_twilio_msg_release(&m);

#define PARSE(s) evb_twilio_msg_parse(s, strlen(s), buf, sizeof(buf), &m, err, sizeof(err))
	is_int(PARSE("{\"event\":\"media\",\"media\":{\"payload\":\"%%%\"}}"), -EBADMSG,
	       "base64 garbage: -EBADMSG");
	is_int(evb_twilio_msg_parse(big, strlen(big), buf, 4, &m, err, sizeof(err)),
	       EVB_ETOOBIG, "payload over the buffer: EVB_ETOOBIG");
	is_int(PARSE("{\"event\":\"media\""), EVB_EJSON, "malformed JSON: EVB_EJSON");
	is_int(PARSE("[1,2]"), EVB_EJSON, "not an object: EVB_EJSON");
	is_int(PARSE("{\"event\":\"start\",\"start\":{\"streamSid\":\"x\"}}"), EVB_EJSON,
	       "start without callSid: EVB_EJSON");
	ok(strstr(err, "callSid") != NULL, "the error names the field");
	is_int(PARSE("{\"event\":\"dtmf\",\"dtmf\":{\"digit\":\"55\"}}"), EVB_EJSON,
	       "dtmf with two digits refused");
	is_int(PARSE("{\"event\":\"media\",\"media\":{\"payload\":\"\",\"chunk\":\"x\"}}"), EVB_EJSON,
	       "a chunk that is not a number refused");
	is_int(PARSE("{\"event\":\"bogus\"}"), 0, "unknown event parses");
	is_int(m.event, EVB_TWILIO_UNKNOWN, "as EVB_TWILIO_UNKNOWN");
	is_str(m.name, "bogus", "with its name");
	evb_twilio_msg_release(&m);
	is_int(PARSE("{\"event\":\"mark\",\"mark\":{\"name\":\"evb-1\"}}"), 0, "mark parses");
	is_str(m.mark, "evb-1", "mark: name");
	evb_twilio_msg_release(&m);
	is_int(PARSE("{\"event\":\"stop\",\"stop\":{\"callSid\":\"CA9\"}}"), 0, "stop parses");
	is_str(m.call_sid, "CA9", "stop: callSid");
	evb_twilio_msg_release(&m);
#undef PARSE
}

static void test_build(void)
{
	uint8_t frame[160], buf[EVB_TWILIO_PAYLOAD_MAX];
	char out[512], *sid = evb_json_quote("MZ\"1");
	struct evb_twilio_msg m;
	int n;

	memset(frame, 0xff, sizeof(frame));
	frame[0] = 7;
	n = evb_twilio_media_msg(out, sizeof(out), sid, frame, sizeof(frame));
	ok(n > 216, "media message built (%d bytes)", n);
	is_int(evb_twilio_msg_parse(out, (size_t)n, buf, sizeof(buf), &m, NULL, 0), 0,
	       "media message parses back");
	is_int(m.payload_len, 160, "160 bytes of payload");
	ok(m.payload[0] == 7, "payload bytes kept");
	is_str(m.stream_sid, "MZ\"1", "streamSid escaped and kept");
	evb_twilio_msg_release(&m);
	is_int(evb_twilio_media_msg(out, 100, sid, frame, sizeof(frame)), -ENOBUFS,
	       "too small a buffer: -ENOBUFS");
	n = evb_twilio_mark_msg(out, sizeof(out), sid, "evb-3");
	is_int(evb_twilio_msg_parse(out, (size_t)n, buf, sizeof(buf), &m, NULL, 0), 0,
	       "mark message parses back");
	is_str(m.mark, "evb-3", "mark name");
	evb_twilio_msg_release(&m);
	n = evb_twilio_clear_msg(out, sizeof(out), sid);
	is_int(evb_twilio_msg_parse(out, (size_t)n, buf, sizeof(buf), &m, NULL, 0), 0,
	       "clear message parses back");
	is_int(m.event, EVB_TWILIO_CLEAR, "clear event");
	evb_twilio_msg_release(&m);
	ok(evb_json_quote("\xff") == NULL, "a string that is not UTF-8 cannot be quoted");
	free(sid);
}

static void test_twiml(void)
{
	struct evb_twiml_param p[2] = { { "token", "a&b\"c" }, { "call_id", "x<y>" } };
	char *x = evb_twiml_connect("wss://h/twilio/stream", "https://h/ended?a=1&b=2", p, 2);
	static struct evb_twiml t;

	ok(x && strstr(x, "<Connect action=\"https://h/ended?a=1&amp;b=2\""),
	   "action URL escaped");
	ok(x && strstr(x, "<Stream url=\"wss://h/twilio/stream\">"), "Stream url, no query");
	ok(x && !strstr(x, "<Start>"), "never <Start>");
	is_int(evb_twiml_parse(x, strlen(x), &t), 0, "TwiML reads back");
	ok(t.has_connect && !t.has_start && !t.hangup, "a Connect");
	is_str(t.action, "https://h/ended?a=1&b=2", "action unescaped");
	is_str(t.stream_url, "wss://h/twilio/stream", "stream url");
	is_int(t.nparams, 2, "two parameters");
	is_str(t.values[0], "a&b\"c", "parameter value unescaped");
	is_str(t.values[1], "x<y>", "second parameter");
	free(x);
	x = evb_twiml_redirect("https://h/twilio/voice?call_id=1&x=2");
	is_int(evb_twiml_parse(x, strlen(x), &t), 0, "Redirect reads back");
	is_str(t.redirect, "https://h/twilio/voice?call_id=1&x=2", "redirect URL");
	free(x);
	x = evb_twiml_hangup();
	is_int(evb_twiml_parse(x, strlen(x), &t), 0, "Hangup reads back");
	ok(t.hangup, "a Hangup");
	free(x);
	is_int(evb_twiml_parse("<Response", 9, &t), -EBADMSG, "cut TwiML: no Response");
	is_int(evb_twiml_parse("hello", 5, &t), -EBADMSG, "not TwiML");
	x = "<Response><Start><Stream url=\"wss://a\"/></Start></Response>";
	is_int(evb_twiml_parse(x, strlen(x), &t), 0, "a one-way <Start><Stream> reads");
	ok(t.has_start, "and is seen as <Start>");
}

/* The media fast path and the jansson path give the same verdict and the
 * same fields, whichever of them takes the message. */
static void test_fast_media(void)
{
	static const char *const msgs[] = {
		"{\"event\":\"media\",\"sequenceNumber\":\"3\",\"media\":{\"track\":\"inbound\","
		"\"chunk\":\"1\",\"timestamp\":\"5\",\"payload\":\"/////w==\"},\"streamSid\":\"MZ1\"}",
		"{\"event\":\"media\",\"media\":{\"payload\":\"\"}}",
		"{\"event\":\"media\",\"sequenceNumber\":7,\"media\":{\"chunk\":2,\"timestamp\":40,"
		"\"payload\":\"QUJD\",\"extra\":[1,{\"a\":null}]},\"streamSid\":\"MZ2\"}",
		"{\"event\":\"media\",\"streamSid\":\"M\\u005a\",\"media\":{\"payload\":\"QUJD\"}}",
		"{\"event\":\"media\",\"media\":{\"payload\":\"QUJD\",\"payload\":\"QUJD\"}}",
		"{\"event\":\"media\",\"media\":{\"payload\":\"QU JD\"}}",
		"{\"event\":\"media\",\"media\":{\"payload\":\"QUJD\",\"chunk\":\"x\"}}",
		"{\"event\":\"media\",\"sequenceNumber\":\"x\",\"media\":{\"payload\":\"QUJD\"}}",
		"{\"event\":\"media\",\"media\":{\"payload\":5}}",
		"{\"event\":\"media\"}",
		"{\"event\":\"mark\",\"mark\":{\"name\":\"m1\"},\"streamSid\":\"MZ\"}",
		"{\"event\":\"media\",\"media\":{\"payload\":\"QUJD\"}}]",
	};
	static const int fails[] = { 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1 };

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		static uint8_t b1[EVB_TWILIO_PAYLOAD_MAX], b2[EVB_TWILIO_PAYLOAD_MAX];
		struct evb_twilio_msg x, y;
		char e1[160], e2[160];
		int r1 = evb_twilio_msg_parse(msgs[i], strlen(msgs[i]), b1, sizeof(b1), &x, e1,
					      sizeof(e1));
		int r2 = evb__twilio_msg_parse_json(msgs[i], strlen(msgs[i]), b2, sizeof(b2), &y,
						    e2, sizeof(e2));
		int same = r1 == r2 && (r1 < 0) == fails[i];

#define SAME_S(a, b) ((!(a) && !(b)) || ((a) && (b) && strcmp((a), (b)) == 0))
		if (same && r1 == 0)
			same = x.event == y.event && x.seq == y.seq && x.chunk == y.chunk &&
			       x.timestamp_ms == y.timestamp_ms && x.payload_len == y.payload_len &&
			       memcmp(b1, b2, x.payload_len) == 0 &&
			       SAME_S(x.stream_sid, y.stream_sid) && SAME_S(x.track, y.track);
#undef SAME_S
		ok(same, "fast path and jansson agree on message %zu (%s)", i,
		   fails[i] ? "refused" : "accepted");
		if (r1 == 0)
			evb_twilio_msg_release(&x);
		if (r2 == 0)
			evb_twilio_msg_release(&y);
	}
}

static void test_conn(void)
{
	struct evb_twilio_conn o;
	char bare[64];

	is_int(evb_twilio_conn_parse("http://h/a?x=1", bare, sizeof(bare), &o), 0, "no fragment");
	is_str(bare, "http://h/a?x=1", "the URL as it is");
	ok(o.ct_ms == 5000 && o.rt_ms == 15000 && o.tt_ms == 15000 && o.rc == 1 &&
	   o.rp == EVB_TWILIO_RP_CT, "Twilio's defaults: ct 5000, rt 15000, tt 15000, rc 1, rp ct");
	is_int(evb_twilio_conn_parse("http://h/a?x=1#rc=5&rp=ct,5xx&ct=200&tt=9000&e=ie1",
				     bare, sizeof(bare), &o), 0, "overrides");
	is_str(bare, "http://h/a?x=1", "the fragment is not requested");
	ok(o.rc == 5 && o.ct_ms == 200 && o.tt_ms == 9000 && o.rt_ms == 15000 &&
	   o.rp == (EVB_TWILIO_RP_CT | EVB_TWILIO_RP_5XX), "read: rc ct tt rp, rt kept");
	is_int(evb_twilio_conn_parse("http://h/#rp=all", bare, sizeof(bare), &o), 0, "rp=all");
	is_int(o.rp, EVB_TWILIO_RP_CT | EVB_TWILIO_RP_RT | EVB_TWILIO_RP_4XX | EVB_TWILIO_RP_5XX,
	       "all is every failure");
	is_int(evb_twilio_conn_parse("http://h/#rc=6", bare, sizeof(bare), &o), -EINVAL,
	       "rc over 5 refused");
	is_int(o.rc, 1, "and the defaults kept");
	is_int(evb_twilio_conn_parse("http://h/#ct=50", bare, sizeof(bare), &o), -EINVAL,
	       "ct under 100 refused");
	is_int(evb_twilio_conn_parse("http://h/#rp=ct,9xx", bare, sizeof(bare), &o), -EINVAL,
	       "unknown policy refused");
	is_int(evb_twilio_conn_parse("http://h/#zz=1", bare, sizeof(bare), &o), -EINVAL,
	       "unknown key refused");
	is_int(evb_twilio_conn_parse("http://h/#rc", bare, sizeof(bare), &o), -EINVAL,
	       "a key without a value refused");
	is_int(evb_twilio_conn_parse("http://h/#rc=", bare, sizeof(bare), &o), -EINVAL,
	       "an empty value refused");
	is_int(evb_twilio_conn_parse("http://h/long/path#rc=1", bare, 8, &o), EVB_ETOOBIG,
	       "a URL that does not fit");
}

int main(void)
{
	test_fast_media();
	test_signature();
	test_parse();
	test_build();
	test_twiml();
	test_conn();
	return done_testing();
}
