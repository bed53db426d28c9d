/* evb_evi: the 48 prosody keys, parsing every message type EVI sends,
 * building client messages and the chat URL, and the schema checks. */
#include <errno.h>
#include <mbedtls/base64.h>
#include <stdlib.h>
#include <string.h>

#include "evb_err.h"
#include "evb_evi.h"
#include "tap.h"

static char err[EVB_EVI_ERR_MAX];

static int parse(const char *s, struct evb_evi_msg *m)
{
	err[0] = '\0';
	return evb_evi_parse(s, strlen(s), m, err, sizeof(err));
}

static char *scores_json(double base)
{
	static char buf[4096];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{");
	for (int i = 0; i < EVB_EVI_NEMOTIONS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\":%.3f", i ? "," : "",
				      evb_evi_emotion_name(i), base + i / 1000.0);
	snprintf(buf + n, sizeof(buf) - n, "}");
	return buf;
}

static void test_emotions(void)
{
	int all = 1;

	is_str(evb_evi_emotion_name(0), "Admiration", "first key");
	is_str(evb_evi_emotion_name(47), "Triumph", "last key");
	ok(evb_evi_emotion_name(48) == NULL && evb_evi_emotion_name(-1) == NULL,
	   "out of range gives NULL");
	is_int(evb_evi_emotion_index("Surprise (negative)"), 43, "keys with parentheses");
	is_int(evb_evi_emotion_index("Empathic Pain"), 24, "keys with spaces");
	is_int(evb_evi_emotion_index("surprise (negative)"), -1, "keys are case-sensitive");
	for (int i = 0; i < EVB_EVI_NEMOTIONS; i++)
		all &= evb_evi_emotion_index(evb_evi_emotion_name(i)) == i;
	ok(all, "48 distinct keys, each found at its index");
	for (int i = 1; i < EVB_EVI_NEMOTIONS; i++)
		all &= strcmp(evb_evi_emotion_name(i - 1), evb_evi_emotion_name(i)) < 0;
	ok(all, "keys in EVI's (sorted) order");
}

static void test_types(void)
{
	is_int(evb_evi_type_parse("user_message"), EVB_EVI_USER_MESSAGE, "type name parses");
	is_int(evb_evi_type_parse("nope"), EVB_EVI_UNKNOWN, "unknown type");
	is_int(evb_evi_type_parse(NULL), EVB_EVI_UNKNOWN, "NULL type");
	is_str(evb_evi_type_name(EVB_EVI_PAUSE_ASSISTANT), "pause_assistant_message", "type name");
	ok(evb_evi_type_name(0) == NULL && evb_evi_type_name(EVB_EVI_NTYPES) == NULL,
	   "no name out of range");
}

static void test_parse_server(void)
{
	struct evb_evi_msg m;
	char buf[8192];

	is_int(parse("{\"type\":\"chat_metadata\",\"chat_id\":\"c1\",\"chat_group_id\":\"g1\","
		     "\"request_id\":\"r\"}", &m), 0, "chat_metadata parses");
	ok(m.type == EVB_EVI_CHAT_METADATA && strcmp(m.chat_id, "c1") == 0 &&
	   strcmp(m.chat_group_id, "g1") == 0 && strcmp(m.request_id, "r") == 0,
	   "chat_metadata fields");
	evb_evi_msg_release(&m);
	evb_evi_msg_release(&m);
	ok(parse("{\"type\":\"chat_metadata\",\"chat_id\":\"c1\"}", &m) == EVB_EJSON &&
	   strstr(err, "chat_group_id"), "chat_metadata without chat_group_id: %s", err);

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"user_message\",\"message\":{\"role\":\"user\",\"content\":\"Hi there\"},"
		 "\"models\":{\"prosody\":{\"scores\":%s}},\"from_text\":false,\"interim\":true,"
		 "\"time\":{\"begin\":120,\"end\":1840.0}}",
		 scores_json(0.25));
	is_int(parse(buf, &m), 0, "user_message parses");
	ok(m.type == EVB_EVI_USER_MESSAGE && strcmp(m.role, "user") == 0 &&
	   strcmp(m.text, "Hi there") == 0 && m.interim == 1 && m.from_text == 0 &&
	   m.begin_ms == 120 && m.end_ms == 1840, "user_message fields (integral real accepted)");
	ok(m.have_scores && !m.bad_scores && m.scores[0] == 0.25 && m.scores[47] > 0.2969 &&
	   m.scores[47] < 0.2971, "all 48 scores read");
	evb_evi_msg_release(&m);

	is_int(parse("{\"type\":\"user_message\",\"message\":{\"role\":\"user\",\"content\":\"x\"},"
		     "\"models\":{\"prosody\":{\"scores\":{\"Joy\":0.5}}}}", &m), 0,
	       "user_message with partial scores parses");
	ok(!m.have_scores && m.bad_scores, "partial scores are flagged, not used");
	evb_evi_msg_release(&m);
	ok(parse("{\"type\":\"user_message\",\"message\":{\"content\":\"x\"},\"time\":{\"begin\":"
		 "\"soon\"}}", &m) == EVB_EJSON && strstr(err, "begin"),
	   "a non-integer time is refused: %s", err);
	ok(parse("{\"type\":\"user_message\"}", &m) == EVB_EJSON && strstr(err, "message"),
	   "user_message without message: %s", err);

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"assistant_message\",\"id\":\"a1\",\"message\":{\"role\":\"assistant\","
		 "\"content\":\"Hello!\"},\"models\":{},\"from_text\":false,"
		 "\"is_quick_response\":true}");
	is_int(parse(buf, &m), 0, "assistant_message parses");
	ok(strcmp(m.id, "a1") == 0 && strcmp(m.text, "Hello!") == 0 && m.is_quick_response == 1 &&
	   !m.have_scores && !m.bad_scores, "assistant_message fields, no prosody");
	evb_evi_msg_release(&m);

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"assistant_prosody\",\"id\":\"a1\",\"models\":{\"prosody\":{\"scores\":"
		 "%s}}}", scores_json(0.5));
	is_int(parse(buf, &m), 0, "assistant_prosody parses");
	ok(m.type == EVB_EVI_ASSISTANT_PROSODY && m.have_scores && strcmp(m.id, "a1") == 0,
	   "assistant_prosody fields");
	evb_evi_msg_release(&m);

	is_int(parse("{\"type\":\"audio_output\",\"id\":\"a1\",\"index\":3,\"data\":\"UklGRg==\"}",
		     &m), 0, "audio_output parses");
	ok(m.index == 3 && m.data_len == 8 && strncmp(m.data, "UklGRg==", 8) == 0,
	   "audio_output fields");
	evb_evi_msg_release(&m);
	ok(parse("{\"type\":\"audio_output\",\"index\":\"3\",\"data\":\"\"}", &m) == EVB_EJSON &&
	   strstr(err, "index"), "a string index is refused: %s", err);
	ok(parse("{\"type\":\"audio_output\",\"index\":1.5,\"data\":\"\"}", &m) == EVB_EJSON,
	   "a fractional index is refused");
	ok(parse("{\"type\":\"audio_output\",\"index\":1}", &m) == EVB_EJSON && strstr(err, "data"),
	   "audio_output without data: %s", err);

	is_int(parse("{\"type\":\"user_interruption\",\"time\":1700000000000}", &m), 0,
	       "user_interruption parses");
	ok(m.type == EVB_EVI_USER_INTERRUPTION && m.time == 1700000000000LL, "its time");
	evb_evi_msg_release(&m);
	is_int(parse("{\"type\":\"assistant_end\"}", &m), 0, "assistant_end parses");
	is_int(m.type, EVB_EVI_ASSISTANT_END, "assistant_end type");
	evb_evi_msg_release(&m);

	is_int(parse("{\"type\":\"tool_call\",\"name\":\"hang_up\",\"parameters\":\"{}\","
		     "\"tool_call_id\":\"t1\",\"tool_type\":\"builtin\",\"response_required\":false}",
		     &m), 0, "tool_call parses");
	ok(strcmp(m.name, "hang_up") == 0 && strcmp(m.tool_call_id, "t1") == 0 &&
	   strcmp(m.tool_type, "builtin") == 0 && m.response_required == 0, "tool_call fields");
	evb_evi_msg_release(&m);
	ok(parse("{\"type\":\"tool_call\",\"name\":\"x\"}", &m) == EVB_EJSON,
	   "tool_call without an id is refused");

	is_int(parse("{\"type\":\"error\",\"code\":\"E0100\",\"slug\":\"bad\",\"message\":\"m\"}",
		     &m), 0, "error parses");
	ok(strcmp(m.code, "E0100") == 0 && strcmp(m.slug, "bad") == 0 && strcmp(m.message, "m") == 0,
	   "error fields");
	evb_evi_msg_release(&m);
	is_int(parse("{\"type\":\"tool_error\",\"tool_call_id\":\"t\",\"error\":\"e\"}", &m), 0,
	       "tool_error parses");
	ok(strcmp(m.message, "e") == 0, "tool_error's error");
	evb_evi_msg_release(&m);
	is_int(parse("{\"type\":\"session_settings\",\"audio\":{}}", &m), 0,
	       "a session_settings echo parses");
	evb_evi_msg_release(&m);

	is_int(parse("{\"type\":\"brand_new\",\"x\":1}", &m), 0, "an unknown type parses");
	ok(m.type == EVB_EVI_UNKNOWN && strcmp(m.type_name, "brand_new") == 0,
	   "... as EVB_EVI_UNKNOWN with its name");
	evb_evi_msg_release(&m);
	ok(parse("not json", &m) == EVB_EJSON && strstr(err, "not JSON"), "non-JSON: %s", err);
	ok(parse("[1,2]", &m) == EVB_EJSON && m.root == NULL, "an array is refused");
	ok(parse("{\"type\":3}", &m) == EVB_EJSON && strstr(err, "type"), "a numeric type");
	ok(parse("{\"type\":\"error\",\"type\":\"x\"}", &m) == EVB_EJSON, "duplicate keys refused");
	ok(evb_evi_parse("{\"type\":\"assistant_end\"}", 10, &m, err, sizeof(err)) == EVB_EJSON,
	   "truncated JSON refused");
}

static void test_b64(void)
{
	uint8_t *out;
	size_t n;
	char *s = evb_evi_b64_encode("hello", 5, &n);

	is_str(s, "aGVsbG8=", "base64 encode");
	is_int(n, 8, "encoded length");
	is_int(evb_evi_b64_decode(s, n, &out, &n), 0, "base64 decode");
	ok(n == 5 && memcmp(out, "hello", 5) == 0, "round trip");
	free(out);
	free(s);
	is_int(evb_evi_b64_decode("aGV*bG8=", 8, &out, &n), -EINVAL, "bad character refused");
	is_int(evb_evi_b64_decode("aGVsbG8", 7, &out, &n), -EINVAL, "missing padding refused");
	is_int(evb_evi_b64_decode("aGVs\nbG8=", 9, &out, &n), -EINVAL, "whitespace refused");
	is_int(evb_evi_b64_decode("", 0, &out, &n), 0, "empty is fine");
	ok(n == 0 && out != NULL, "... zero bytes");
	free(out);
	is_int(evb_evi_b64_decode("aGVs=G8=", 8, &out, &n), -EINVAL, "'=' inside refused");
	is_int(evb_evi_b64_decode("aGVsbA==", 8, &out, &n), 0, "two padding characters");
	ok(n == 4 && memcmp(out, "hell", 4) == 0, "decoded 'hell'");
	free(out);
	is_int(evb_evi_b64_decode("aGVsbG8h", 8, &out, &n), 0, "no padding needed");
	ok(n == 6 && memcmp(out, "hello!", 6) == 0, "decoded 'hello!'");
	free(out);
	{
		/* Every length and every byte value, against mbedTLS's encoder. */
		uint8_t raw[300];
		unsigned char enc[512];
		size_t elen;
		int good = 1;
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (uint8_t)(i * 97 + 13);
		for (size_t len = 0; len <= sizeof(raw) && good; len++) {
			mbedtls_base64_encode(enc, sizeof(enc), &elen, raw, len);
			if (evb_evi_b64_decode((const char *)enc, elen, &out, &n) != 0 || n != len ||
			    memcmp(out, raw, len) != 0)
				good = 0;
			free(out);
		}
		ok(good, "round trip with mbedTLS's encoder for lengths 0..300");
	}
}

static void test_build(void)
{
	json_t *vars = json_pack("{s:s}", "customer_name", "Jo \"Q\" Public");
	struct evb_evi_settings st = {
		.sample_rate = 8000,
		.system_prompt = "Be brief.",
		.context_text = "The caller is Jo.",
		.variables = vars,
		.voice_id = "v1",
		.custom_session_id = "aaaaaaaa-0000-4000-8000-000000000001",
	};
	char *s = evb_evi_session_settings(&st);
	json_t *o = s ? json_loads(s, 0, NULL) : NULL;
	uint8_t pcm[320];
	size_t n;

	ok(o != NULL, "session_settings is JSON");
	is_int(evb_evi_check_client(o, err, sizeof(err)), EVB_EVI_SESSION_SETTINGS,
	       "and passes the schema check");
	is_str(json_string_value(json_object_get(o, "type")), "session_settings", "its type");
	is_int(json_integer_value(json_object_get(json_object_get(o, "audio"), "sample_rate")), 8000,
	       "audio.sample_rate");
	is_str(json_string_value(json_object_get(json_object_get(o, "audio"), "encoding")),
	       "linear16", "audio.encoding");
	is_int(json_integer_value(json_object_get(json_object_get(o, "audio"), "channels")), 1,
	       "audio.channels");
	is_str(json_string_value(json_object_get(json_object_get(o, "context"), "type")),
	       "persistent", "context.type defaults to persistent");
	is_str(json_string_value(json_object_get(json_object_get(o, "variables"), "customer_name")),
	       "Jo \"Q\" Public", "variables survive quoting");
	is_str(json_string_value(json_object_get(o, "custom_session_id")),
	       "aaaaaaaa-0000-4000-8000-000000000001", "custom_session_id");
	json_decref(o);
	free(s);
	st.sample_rate = 0;
	ok(evb_evi_session_settings(&st) == NULL && errno == EINVAL, "a rate of 0 is refused");
	st.sample_rate = 16000;
	st.system_prompt = "\xff\xfe";
	ok(evb_evi_session_settings(&st) == NULL, "a prompt that is not UTF-8 is refused");
	json_decref(vars);
	st = (struct evb_evi_settings){ .sample_rate = 16000 };
	s = evb_evi_session_settings(&st);
	is_str(s, "{\"type\":\"session_settings\",\"audio\":{\"encoding\":\"linear16\","
		  "\"sample_rate\":16000,\"channels\":1}}", "minimal session_settings");
	free(s);

	for (int i = 0; i < 320; i++)
		pcm[i] = (uint8_t)i;
	s = evb_evi_audio_input(pcm, sizeof(pcm), &n);
	o = s ? json_loads(s, 0, NULL) : NULL;
	ok(o && n == strlen(s), "audio_input is JSON of the length told");
	is_int(evb_evi_check_client(o, err, sizeof(err)), EVB_EVI_AUDIO_INPUT, "and passes");
	{
		const char *d = json_string_value(json_object_get(o, "data"));
		uint8_t *back;
		size_t bn;
		ok(d && evb_evi_b64_decode(d, strlen(d), &back, &bn) == 0 && bn == 320 &&
		   memcmp(back, pcm, 320) == 0, "its data decodes to the PCM");
		if (d && bn == 320)
			free(back);
	}
	json_decref(o);
	free(s);

	s = evb_evi_text_message("assistant_input", "Hello, this is Sarah.");
	is_str(s, "{\"type\":\"assistant_input\",\"text\":\"Hello, this is Sarah.\"}",
	       "assistant_input");
	free(s);
	s = evb_evi_tool_error("t1", "unknown tool 'x'", "The tool is not available.", "function");
	o = s ? json_loads(s, 0, NULL) : NULL;
	is_int(evb_evi_check_client(o, err, sizeof(err)), EVB_EVI_TOOL_ERROR, "tool_error passes");
	json_decref(o);
	free(s);
}

static void test_url(void)
{
	struct evb_evi_connect c = { .config_id = "cfg 1", .resumed_chat_group_id = "g/2",
				     .auth_name = "api_key", .auth_value = "k&y=" };
	char *u = evb_evi_chat_url("wss://api.hume.ai/v0/evi/chat", &c);

	is_str(u, "wss://api.hume.ai/v0/evi/chat?config_id=cfg%201&resumed_chat_group_id=g%2F2"
		  "&api_key=k%26y%3D", "chat URL with encoded query");
	free(u);
	c = (struct evb_evi_connect){ .auth_name = "access_token", .auth_value = "t",
				      .verbose_transcription = 1 };
	u = evb_evi_chat_url("ws://127.0.0.1:9/v0/evi/chat?config_version=2", &c);
	is_str(u, "ws://127.0.0.1:9/v0/evi/chat?config_version=2&verbose_transcription=true"
		  "&access_token=t", "appended to an existing query");
	free(u);
}

static int check_q(const char *q)
{
	struct evb_params *p = evb_params_parse(q, strlen(q));
	int r = p ? evb_evi_check_query(p, err, sizeof(err)) : -1;

	evb_params_free(p);
	return r;
}

static int check_c(const char *s)
{
	json_t *o = json_loads(s, 0, NULL);
	int r;

	err[0] = '\0';
	r = evb_evi_check_client(o, err, sizeof(err));
	json_decref(o);
	return r;
}

static void test_checks(void)
{
	is_int(check_q("config_id=x&api_key=k&resumed_chat_group_id=g&verbose_transcription=true"),
	       0, "a good query");
	is_int(check_q("session_settings[audio][encoding]=linear16&session_settings[audio]"
		       "[sample_rate]=8000&session_settings[variables][name]=Jo"), 0,
	       "connect-time session settings");
	ok(check_q("config_id=x&foo=1") == EVB_EJSON && strstr(err, "foo"), "unknown param: %s",
	   err);
	ok(check_q("session_settings[tools]=x") == EVB_EJSON, "tools is not connect-time");
	ok(check_q("session_settings[audio][encoding]=mulaw") == EVB_EJSON, "bad encoding");
	ok(check_q("verbose_transcription=yes") == EVB_EJSON, "bad boolean");
	ok(check_q("api_key=a&api_key=b") == EVB_EJSON, "repeated parameter");
	ok(check_q("config_id=") == EVB_EJSON, "empty config_id");

	is_int(check_c("{\"type\":\"session_settings\",\"audio\":{\"encoding\":\"linear16\","
		       "\"sample_rate\":8000,\"channels\":1},\"builtin_tools\":[{\"name\":\"hang_up\"}],"
		       "\"tools\":[{\"type\":\"function\",\"name\":\"f\",\"parameters\":\"{}\"}],"
		       "\"context\":null,\"metadata\":{}}"), EVB_EVI_SESSION_SETTINGS,
	       "a full session_settings");
	ok(check_c("{\"type\":\"session_settings\",\"greeting\":\"hi\"}") == EVB_EJSON &&
	   strstr(err, "greeting"), "an invented field is refused: %s", err);
	ok(check_c("{\"type\":\"session_settings\",\"audio\":{\"encoding\":\"mulaw\","
		   "\"sample_rate\":8000,\"channels\":1}}") == EVB_EJSON && strstr(err, "linear16"),
	   "a wrong encoding: %s", err);
	ok(check_c("{\"type\":\"session_settings\",\"audio\":{\"encoding\":\"linear16\","
		   "\"sample_rate\":\"8000\",\"channels\":1}}") == EVB_EJSON,
	   "a sample_rate string");
	ok(check_c("{\"type\":\"session_settings\",\"audio\":{\"encoding\":\"linear16\","
		   "\"sample_rate\":8000}}") == EVB_EJSON && strstr(err, "channels"),
	   "audio without channels: %s", err);
	ok(check_c("{\"type\":\"session_settings\",\"variables\":{\"a\":{}}}") == EVB_EJSON,
	   "a nested variable");
	ok(check_c("{\"type\":\"session_settings\",\"context\":{\"text\":\"t\",\"type\":\"x\"}}") ==
		   EVB_EJSON, "a bad context type");
	ok(check_c("{\"type\":\"session_settings\",\"builtin_tools\":[{\"name\":\"fly\"}]}") ==
		   EVB_EJSON, "an unknown builtin tool");
	ok(check_c("{\"type\":\"audio_input\"}") == EVB_EJSON, "audio_input without data");
	ok(check_c("{\"type\":\"audio_input\",\"data\":\"\",\"rate\":8000}") == EVB_EJSON,
	   "audio_input with an invented field");
	is_int(check_c("{\"type\":\"pause_assistant_message\"}"), EVB_EVI_PAUSE_ASSISTANT,
	       "pause_assistant_message");
	ok(check_c("{\"type\":\"tool_error\",\"tool_call_id\":\"t\",\"error\":\"e\",\"level\":"
		   "\"fatal\"}") == EVB_EJSON, "tool_error with a bad level");
	ok(check_c("{\"type\":\"user_message\",\"message\":{}}") == EVB_EJSON &&
	   strstr(err, "client"), "a server type from a client: %s", err);
	ok(check_c("[]") == EVB_EJSON, "not an object");
	ok(check_c("{\"x\":1}") == EVB_EJSON, "no type");
}

/* The audio_output fast path and the jansson path give the same verdict
 * and the same fields, whichever of them takes the message. */
static void test_fast_path(void)
{
	static const char *const msgs[] = {
		"{\"type\":\"audio_output\",\"id\":\"a1\",\"index\":3,\"data\":\"UklGRg==\"}",
		"{ \"data\" : \"\" , \"type\" : \"audio_output\" }",
		"{\"type\":\"audio_output\",\"id\":null,\"index\":null,\"data\":\"QQ==\","
		"\"custom_session_id\":null,\"extra\":{\"x\":[1,2.5,\"y\"]}}",
		"{\"type\":\"audio_output\",\"id\":\"a\\u0031\",\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\",\"index\":2.0,\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\",\"index\":-4,\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\",\"index\":\"4\",\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\",\"data\":\"QQ==\",\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\",\"x\":1,\"x\":2,\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\",\"x\":\"\\u0000\",\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\",\"x\":1e999,\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\",\"id\":5,\"data\":\"QQ==\"}",
		"{\"type\":\"audio_output\"}",
		"{\"type\":\"audio_output\",\"data\":\"QQ==\"} x",
		"{\"type\":\"assistant_end\"}",
	};
	static const int want[] = { 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, 0 };

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct evb_evi_msg a, b;
		char e1[EVB_EVI_ERR_MAX], e2[EVB_EVI_ERR_MAX];
		int r1 = evb_evi_parse(msgs[i], strlen(msgs[i]), &a, e1, sizeof(e1));
		int r2 = evb__evi_parse_json(msgs[i], strlen(msgs[i]), &b, e2, sizeof(e2));
		int same = r1 == r2 && (r1 < 0) == (want[i] < 0);

		if (same && r1 == 0)
			same = a.type == b.type && a.index == b.index && a.data_len == b.data_len &&
			       ((!a.id && !b.id) || (a.id && b.id && strcmp(a.id, b.id) == 0)) &&
			       memcmp(a.data ? a.data : "", b.data ? b.data : "", a.data_len) == 0;
		ok(same, "fast path and jansson agree on message %zu (%s)", i,
		   want[i] < 0 ? "refused" : "accepted");
		if (r1 == 0)
			evb_evi_msg_release(&a);
		if (r2 == 0)
			evb_evi_msg_release(&b);
	}
	{
		struct evb_evi_msg m;
		const char *s = msgs[0];

		is_int(evb_evi_parse(s, strlen(s), &m, err, sizeof(err)), 0, "fast audio_output");
		ok(!m.root && m.id && strcmp(m.id, "a1") == 0 && m.index == 3 && m.data_len == 8 &&
		   memcmp(m.data, "UklGRg==", 8) == 0, "... read without jansson: id, index, data");
		evb_evi_msg_release(&m);
		evb_evi_msg_release(&m);
	}
}

int main(void)
{
	test_emotions();
	test_fast_path();
	test_types();
	test_parse_server();
	test_b64();
	test_build();
	test_url();
	test_checks();
	return done_testing();
}
