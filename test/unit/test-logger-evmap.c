/* Unit tests for evb-logger's event checks and derived fields
 * (bin/logger/evmap.c, compiled in here: it is logger-only code). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bin/logger/evmap.c"
#include "tap.h"

#define CALL "0f8c6a3e-1b2d-4c5e-9f70-8a9b0c1d2e3f"
#define CALL_TAIL "f8c6a3e-1b2d-4c5e-9f70-8a9b0c1d2e3f"
#define EID "5d6e7f80-9a1b-4c2d-8e3f-405162738495"

/* An event with the common fields and extra (a JSON fragment, may be ""). */
static char *event(const char *type, const char *extra)
{
	char *s = NULL;
	if (asprintf(&s, "{\"type\":\"%s\",\"call_id\":\"" CALL "\",\"provider\":\"twilio\","
		     "\"ts\":\"2026-11-21T07:05:00.123Z\",\"event_id\":\"" EID "\"%s%s}",
		     type, *extra ? "," : "", extra) < 0)
		abort();
	return s;
}

/* The 48 scores, all 0.01 but for "Name=value" pairs in over. */
static char *scores(const char *over)
{
	static char buf[4096];
	size_t o = 0;

	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\"emotion_scores\":{");
	for (int i = 0; i < EVM_NEMOTIONS; i++) {
		const char *name = evm_emotion_name(i), *p = strstr(over, name);
		double v = 0.01;
		if (p && p[strlen(name)] == '=')
			v = atof(p + strlen(name) + 1);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"%s\":%g", i ? "," : "", name, v);
	}
	snprintf(buf + o, sizeof(buf) - o, "}");
	return buf;
}

/* Maps payload; returns the record parsed (caller decrefs) and fills info. */
static json_t *map(const char *payload, struct evm_info *info)
{
	struct evm_buf b;
	json_t *rec;

	evm_buf_init(&b, 1 << 24);
	if (evm_map(payload, strlen(payload), &b, info) < 0)
		return NULL;
	rec = json_loadb(b.p, b.len, 0, NULL);
	evm_buf_release(&b);
	return rec;
}

static const char *rs(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static void test_emotions(void)
{
	int uniq = 1, pos = 0, neg = 0, neu = 0;

	for (int i = 0; i < EVM_NEMOTIONS; i++) {
		for (int j = 0; j < i; j++)
			uniq &= strcmp(evm_emotion_name(i), evm_emotion_name(j)) != 0;
		pos += evm_emotion_valence(i) > 0;
		neg += evm_emotion_valence(i) < 0;
		neu += evm_emotion_valence(i) == 0;
	}
	ok(uniq && evm_emotion_name(EVM_NEMOTIONS) == NULL, "48 distinct emotion names");
	is_str(evm_emotion_name(2), "Aesthetic Appreciation", "EVI spelling kept");
	is_str(evm_emotion_name(43), "Surprise (negative)", "EVI spelling with parentheses");
	ok(pos == 19 && neg == 21 && neu == 8, "valence table: 19 positive, 21 negative, 8 neutral");
}

static void test_sentiment(void)
{
	double s[EVM_NEMOTIONS];
	struct evm_sentiment st;

	for (int i = 0; i < EVM_NEMOTIONS; i++)
		s[i] = 0;
	evm_sentiment(s, &st);
	ok(st.valence == EVM_NEUTRAL && st.confidence == 0, "all zero: neutral, confidence 0");
	ok(st.top[0] == 0 && st.top[1] == 1 && st.top[2] == 2, "ties keep table order");

	s[32] = 0.6; /* Joy */
	s[4] = 0.3;  /* Anger */
	s[9] = 0.1;  /* Calmness */
	evm_sentiment(s, &st);
	ok(st.top[0] == 32 && st.top[1] == 4 && st.top[2] == 9, "top three, highest first");
	ok(st.valence == EVM_POSITIVE && st.confidence == 0.6, "Joy .6 Anger .3 Calmness .1: "
	   "positive, confidence 0.6");

	s[20] = 0.5; /* Distress */
	evm_sentiment(s, &st);
	ok(st.valence == EVM_NEGATIVE && st.confidence == 0.5714,
	   "Joy .6 Distress .5 Anger .3: negative, 0.8/1.4 = 0.5714 (%g)", st.confidence);

	for (int i = 0; i < EVM_NEMOTIONS; i++)
		s[i] = 0;
	s[32] = 0.5; /* Joy */
	s[4] = 0.5;  /* Anger */
	evm_sentiment(s, &st);
	ok(st.valence == EVM_NEUTRAL && st.confidence == 0.5, "a positive/negative tie is "
	   "neutral (%g)", st.confidence);
}

static void test_status(void)
{
	is_str(evm_status_canonical("in-progress"), "in-progress", "twilio in-progress");
	is_str(evm_status_canonical("answered"), "in-progress", "vonage answered");
	is_str(evm_status_canonical("cancelled"), "canceled", "vonage cancelled");
	is_str(evm_status_canonical("unanswered"), "no-answer", "vonage unanswered");
	is_str(evm_status_canonical("queued"), "initiated", "twilio queued");
	ok(evm_status_canonical("human") == NULL, "vonage human changes nothing");
}

static void test_time(void)
{
	int64_t ms;

	ok(evm_parse_time("1970-01-01T00:00:00Z", &ms) == 0 && ms == 0, "epoch");
	ok(evm_parse_time("2026-11-21T07:05:00.123Z", &ms) == 0 && ms == 1795244700123LL,
	   "with milliseconds (%lld)", (long long)ms);
	ok(evm_parse_time("2026-11-21T08:05:00.1234+01:00", &ms) == 0 && ms == 1795244700123LL,
	   "offset and more digits");
	ok(evm_parse_time("2024-02-29T00:00:00Z", &ms) == 0, "leap day");
	ok(evm_parse_time("2025-02-29T00:00:00Z", &ms) < 0, "no leap day in 2025");
	ok(evm_parse_time("2026-11-21T07:05:00", &ms) < 0, "zone required");
	ok(evm_parse_time("2026-13-01T00:00:00Z", &ms) < 0, "month 13");
	ok(evm_parse_time("2026-11-21T07:05:00.Z", &ms) < 0, "empty fraction");
	ok(evm_parse_time("2026-11-21T07:05:00Zjunk", &ms) < 0, "trailing bytes");
}

static void test_map(void)
{
	struct evm_info info;
	char *p;
	json_t *rec;
	char extra[4600];

	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"hi\",%s,\"begin_ms\":10,"
		 "\"end_ms\":20,\"interim\":false,\"interrupted\":false", scores("Anger=0.9"));
	p = event("utterance", extra);
	rec = map(p, &info);
	ok(rec && info.status == EVM_ACCEPTED, "utterance accepted");
	is_str(rs(rec, "s"), "accepted", "record status");
	is_str(rs(rec, "sent"), "negative", "derived sentiment");
	is_str(json_string_value(json_array_get(json_object_get(rec, "top"), 0)), "Anger",
	       "top emotion");
	ok(json_is_true(json_object_get(rec, "fin")), "final");
	ok(json_integer_value(json_object_get(rec, "ts")) == 1795244700123LL, "ts in ms");
	is_str(rs(json_object_get(rec, "ev"), "text"), "hi", "the event is in 'ev'");
	is_str(info.event_id, EID, "event id reported");
	json_decref(rec);
	free(p);

	p = event("utterance", "\"role\":\"user\",\"text\":\"hm\",\"interim\":true");
	rec = map(p, &info);
	ok(info.status == EVM_ACCEPTED && json_is_false(json_object_get(rec, "fin")) &&
	   !json_object_get(rec, "sent"), "interim utterance without scores: not final, no "
	   "sentiment");
	json_decref(rec);
	free(p);

	p = event("call.status", "\"status\":\"no-answer\"");
	rec = map(p, &info);
	is_str(rs(rec, "cs"), "no-answer", "call.status canonical status");
	json_decref(rec);
	free(p);

	p = event("call.ended", "\"duration_ms\":65000");
	rec = map(p, &info);
	ok(!strcmp(rs(rec, "cs"), "completed") &&
	   json_integer_value(json_object_get(rec, "dur")) == 65000,
	   "call.ended: completed with its duration");
	json_decref(rec);
	free(p);

	p = event("call.started", "\"direction\":\"inbound\",\"from\":\"+15551234567\","
		  "\"agent\":\"sarah_sales\",\"customer\":{\"name\":\"Ann\"},\"metadata\":{}");
	rec = map(p, &info);
	ok(info.status == EVM_ACCEPTED && !strcmp(rs(rec, "fr"), "+15551234567") &&
	   !strcmp(rs(rec, "agent"), "sarah_sales") && !strcmp(rs(rec, "cn"), "Ann"),
	   "call.started fields");
	json_decref(rec);
	free(p);

	p = event("tool.call", "\"name\":\"x\"");
	rec = map(p, &info);
	ok(info.status == EVM_UNHANDLED && !strcmp(rs(rec, "s"), "unhandled"),
	   "an unknown well-formed type is unhandled");
	json_decref(rec);
	free(p);
}

static void rejected(const char *payload, const char *want_reason, const char *name)
{
	struct evm_info info;
	json_t *rec = map(payload, &info);

	if (!ok(rec && info.status == EVM_REJECTED && strstr(info.reason, want_reason) &&
		!strcmp(rs(rec, "s"), "rejected") && !strcmp(rs(rec, "r"), info.reason) &&
		strlen(rs(rec, "e")) == 36, "rejected: %s", name))
		diag("reason: '%s'", info.reason);
	json_decref(rec);
}

static void test_rejects(void)
{
	char extra[4600], *p;
	struct evm_info a, b;
	json_t *rec;

	rejected("not json", "not JSON", "not JSON");
	rejected("[1,2]", "not a JSON object", "an array");
	rejected("{\"a\":1,\"a\":2}", "not JSON", "duplicate keys");
	rejected("{\"type\":\"x\",\"s\":\"\\u0000\"}", "not JSON", "\\u0000 in a string");
	p = event("utterance", "\"role\":\"user\"");
	rejected(p, "missing 'text'", "missing field");
	free(p);
	p = event("utterance", "\"role\":\"robot\",\"text\":\"x\"");
	rejected(p, "'role'", "bad role");
	free(p);
	p = event("utterance", "\"role\":\"user\",\"text\":5");
	rejected(p, "'text': expected a string", "wrong type");
	free(p);
	p = event("utterance", "\"role\":\"user\",\"text\":\"x\",\"begin_ms\":1.5");
	rejected(p, "'begin_ms': expected an integer", "a real for an integer");
	free(p);
	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"x\",%s", scores(""));
	*strstr(extra, "Joy") = 'j';
	p = event("utterance", extra);
	rejected(p, "missing 'Joy'", "a score missing");
	free(p);
	p = event("call.status", "");
	rejected(p, "missing 'status'", "call.status without status");
	free(p);
	p = event("call.started", "\"agent\":\"Not A Slug\"");
	rejected(p, "'agent'", "bad agent slug");
	free(p);
	rejected("{\"type\":\"utterance\",\"call_id\":\"nope\",\"provider\":\"twilio\","
		 "\"ts\":\"2026-11-21T07:05:00Z\",\"event_id\":\"" EID "\"}", "'call_id'", "bad UUID");
	rejected("{\"type\":\"utterance\",\"call_id\":\"" CALL "\",\"provider\":\"skype\","
		 "\"ts\":\"2026-11-21T07:05:00Z\",\"event_id\":\"" EID "\"}", "'provider'",
		 "bad provider");
	rejected("{\"type\":\"Bad Type\",\"event_id\":\"" EID "\"}", "'type'", "bad type name");

	evm_buf_release(&(struct evm_buf){ 0 });
	rec = map("garbage \xff\xfe bytes", &a);
	json_decref(rec);
	rec = map("garbage \xff\xfe bytes", &b);
	ok(!strcmp(a.event_id, b.event_id), "a bad payload gets the same event id each time");
	ok(rec && strstr(rs(rec, "raw"), "\xef\xbf\xbd") != NULL,
	   "invalid UTF-8 is stored with U+FFFD");
	json_decref(rec);
}

static void test_scan_scores(void)
{
	static const char *const good[] = {
		"0", "-0", "0.9", "0.495889366", "1e5", "1E-7", "-2.5e+3", "123456789012345678",
		"0.00000000000000000000001", "12345678901234567.5", "1.7976931348623157e308",
		"4.9e-324", "0.1000000000000000055511151231257827", "9007199254740993",
	};
	static const char *const bad[] = { "1e400", "-1e400", "1234567890123456789", "1.", "-",
					   "+1", ".5", "1e", "1e+" };
	char extra[4600], *p;
	struct evm_info info;
	json_t *a, *b;
	int same = 1;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t at = 0;
		double v = -1, want = strtod(good[i], NULL);
		same &= scan_number(good[i], strlen(good[i]), &at, &v) == 0 &&
			at == strlen(good[i]) && memcmp(&v, &want, sizeof(v)) == 0;
		if (!same) {
			diag("'%s': %.17g, strtod %.17g", good[i], v, want);
			break;
		}
	}
	ok(same, "scores: numbers parsed exactly as strtod() does");
	same = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t at = 0;
		double v;
		same &= scan_number(bad[i], strlen(bad[i]), &at, &v) < 0;
	}
	ok(same, "scores: bad numbers, and those jansson refuses, are left to jansson");

	/* What the fast path does not take, jansson does, with the same result. */
	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"x\",%s",
		 scores("Anger=0.75 Joy=0.5"));
	p = event("utterance", extra);
	a = map(p, &info);
	free(p);
	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"x\",%s",
		 scores("Anger=0.75 Joy=0.5"));
	p = event("utterance", extra);
	{
		/* Escape the key: "Anger" becomes "Ang\u0065r". */
		char *k = strstr(p, "\"Anger\""), *q = NULL;
		if (asprintf(&q, "%.*s\"Ang\\u0065r\"%s", (int)(k - p), p, k + 7) < 0)
			abort();
		free(p);
		p = q;
	}
	b = map(p, &info);
	free(p);
	ok(a && b && info.status == EVM_ACCEPTED &&
	   json_equal(json_object_get(a, "top"), json_object_get(b, "top")) &&
	   json_equal(json_object_get(a, "conf"), json_object_get(b, "conf")),
	   "scores: an escaped name goes through jansson, to the same result");
	json_decref(b);

	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"x\",%s",
		 scores("Anger=0.75 Joy=0.5"));
	*strrchr(extra, '}') = '\0';
	p = NULL;
	if (asprintf(&p, "%s,\"Extra\":[1]}", extra) < 0)
		abort();
	snprintf(extra, sizeof(extra), "%s", p);
	free(p);
	p = event("utterance", extra);
	b = map(p, &info);
	free(p);
	ok(b && info.status == EVM_ACCEPTED &&
	   json_equal(json_object_get(a, "top"), json_object_get(b, "top")),
	   "scores: a 49th key goes through jansson, accepted as before");
	json_decref(b);
	json_decref(a);

	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"x\",%s", scores(""));
	memcpy(strstr(extra, "\"Joy\""), "\"Awe\"", 5);
	p = event("utterance", extra);
	rejected(p, "not JSON: duplicate object key", "a score twice");
	free(p);
	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"x\",%s", scores(""));
	{
		char *k = strstr(extra, "\"Joy\":0.01"), *q = NULL;
		if (asprintf(&q, "%.*s\"Joy\":1e400%s", (int)(k - extra), extra, k + 11) < 0)
			abort();
		p = event("utterance", q);
		free(q);
	}
	rejected(p, "not JSON: real number overflow", "a score that overflows");
	free(p);
}

static void test_refused(void)
{
	struct evm_buf buf;
	struct evm_info info;
	json_t *rec;
	char *p = event("call.status", "\"status\":\"ringing\"");

	evm_buf_init(&buf, 1 << 20);
	ok(evm_map_refused(p, strlen(p), "duplicate key", &buf, &info) == 0, "refused record");
	rec = json_loadb(buf.p, buf.len, 0, NULL);
	ok(rec && !strcmp(rs(rec, "s"), "rejected") && !strcmp(rs(rec, "e"), EID) &&
	   strstr(rs(rec, "r"), "duplicate key") && !json_object_get(rec, "cs"),
	   "keeps the event id, drops the derived fields");
	json_decref(rec);
	evm_buf_release(&buf);

	evm_buf_init(&buf, 16);
	ok(evm_map(p, strlen(p), &buf, NULL) == -ENOBUFS && buf.len == 0,
	   "a full buffer is left unchanged");
	evm_buf_release(&buf);
	free(p);
}


static const char *str0(const struct evm_buf *b)
{
	return b->p ? b->p : "";
}

static void test_copy_time(void)
{
	struct evm_buf b;

	evm_buf_init(&b, 1024);
	copy_time(&b, 0);
	copy_time(&b, -1);
	copy_time(&b, 951782400000LL + 86399999);
	copy_time(&b, 1795244700123LL);
	is_str(b.p, "1970-01-01 00:00:00.000+00" "1969-12-31 23:59:59.999+00"
	       "2000-02-29 23:59:59.999+00" "2026-11-21 07:05:00.123+00",
	       "COPY times: UTC, ms, before 1970 and a leap day");
	evm_buf_release(&b);
}

/* The scores of scores(over) in the key order PostgreSQL keeps in jsonb
 * (as psql shows them). */
static const char *jsonb_scores(const char *over)
{
	static const char *const order[EVM_NEMOTIONS] = {
		"Awe", "Joy", "Envy", "Fear", "Love", "Pain", "Anger", "Doubt", "Guilt", "Pride",
		"Shame", "Desire", "Horror", "Relief", "Anxiety", "Boredom", "Craving", "Disgust",
		"Ecstasy", "Romance", "Sadness", "Triumph", "Calmness", "Contempt", "Distress",
		"Interest", "Sympathy", "Adoration", "Amusement", "Confusion", "Nostalgia",
		"Tiredness", "Admiration", "Excitement", "Awkwardness", "Contentment",
		"Realization", "Entrancement", "Satisfaction", "Concentration", "Contemplation",
		"Determination", "Embarrassment", "Empathic Pain", "Disappointment",
		"Surprise (negative)", "Surprise (positive)", "Aesthetic Appreciation",
	};
	static char buf[4096];
	size_t o = 0;

	for (int i = 0; i < EVM_NEMOTIONS; i++) {
		const char *p = strstr(over, order[i]);
		double v = 0.01;
		if (p && p[strlen(order[i])] == '=')
			v = atof(p + strlen(order[i]) + 1);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"%s\":%g", i ? "," : "{",
				      order[i], v);
	}
	snprintf(buf + o, sizeof(buf) - o, "}");
	return buf;
}

static void test_copy(void)
{
	struct evm_copy c;
	struct evm_info info;
	char extra[4600], want[6000], *p, *sc = scores("Anger=0.9 Distress=0.5 Calmness=0.25");
	const char *sc_obj = jsonb_scores("Anger=0.9 Distress=0.5 Calmness=0.25");

	evm_copy_init(&c, 1 << 20);
	/* A final utterance: scores go to the utterances row only. */
	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"a\\tb\\\\c\\nd\",%s,"
		 "\"begin_ms\":10,\"interrupted\":true", sc);
	p = event("utterance", extra);
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) == 0 && info.status == EVM_ACCEPTED,
	   "copy: a final utterance is mapped");
	snprintf(want, sizeof(want), EID "\t" CALL "\tuser\t\\N\ta\\tb\\\\c\\nd\t%s\t"
		 "{\"Anger\",\"Distress\",\"Calmness\"}\tnegative\t%.17g\t10\t\\N\tt\t"
		 "2026-11-21 07:05:00.123+00\n", sc_obj, round(1.4 / 1.65 * 10000) / 10000);
	is_str(str0(&c.utt), want, "copy: the utterances row, text escaped for COPY, the scores in "
	       "jsonb's key order");
	is_str(str0(&c.evs), EID "\t" CALL "\tutterance\ttwilio\t2026-11-21 07:05:00.123+00\t"
	       "accepted\t{\"type\":\"utterance\",\"call_id\":\"" CALL "\",\"provider\":\"twilio\","
	       "\"ts\":\"2026-11-21T07:05:00.123Z\",\"event_id\":\"" EID "\",\"role\":\"user\","
	       "\"text\":\"a\\\\tb\\\\\\\\c\\\\nd\",\"begin_ms\":10,\"interrupted\":true}\n",
	       "copy: the call_events row, payload without the scores");
	ok(c.calls.len == 0, "copy: an utterance adds no call record of its own");
	free(p);
	/* The same call, earlier, from vonage; and another call. */
	p = event("utterance", "\"role\":\"user\",\"text\":\"x\",\"interim\":true");
	memcpy(strstr(p, "twilio"), "vonage", 6);
	memcpy(strstr(p, "07:05:00.123"), "07:04:59.001", 12);
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) == 0, "copy: an earlier event of the call");
	memcpy(strstr(p, CALL), "1", 1);
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) == 0, "copy: an event of another call");
	free(p);
	ok(evm_copy_finish(&c) == 0 && c.calls.len > 0, "copy: finished");
	ok(strstr(str0(&c.calls), "{\"c\":\"" CALL "\",\"p\":\"twilio\",\"ts\":1795244699001,"
		  "\"t\":\"-\",\"s\":\"accepted\"},") &&
	   strstr(str0(&c.calls), "{\"c\":\"1" CALL_TAIL "\",\"p\":\"vonage\",\"ts\":1795244699001,") &&
	   strlen(str0(&c.calls)) < 300, "copy: one record per call: the earliest time, the least provider");

	/* The scores first, or last with spaces: the payload stays valid JSON. */
	evm_copy_reset(&c);
	snprintf(want, sizeof(want), "{%s , \"type\":\"utterance\",\"call_id\":\"" CALL "\","
		 "\"provider\":\"vonage\",\"ts\":\"2026-11-21T07:05:00Z\",\"event_id\":\"" EID "\","
		 "\"role\":\"assistant\",\"text\":\"x\"}", sc);
	ok(evm_map_copy(want, strlen(want), &c, 1, &info, NULL) == 0, "copy: scores as the first member");
	ok(strstr(c.evs.p, "\t{ \"type\":\"utterance\"") && !strstr(c.evs.p, "Anger") &&
	   strstr(c.utt.p, "\"Anger\":0.9"), "copy: first member and its comma removed");
	evm_copy_reset(&c);
	snprintf(want, sizeof(want), "{ \"type\" : \"utterance\" , \"call_id\":\"" CALL "\","
		 "\"provider\":\"vonage\",\"ts\":\"2026-11-21T07:05:00Z\",\"event_id\":\"" EID "\","
		 "\"role\":\"assistant\",\"text\":\"x\" , %s }", sc);
	ok(evm_map_copy(want, strlen(want), &c, 1, &info, NULL) == 0, "copy: scores as the last member");
	ok(strstr(c.evs.p, "\"text\":\"x\"  }\n") && !strstr(c.evs.p, "Anger"),
	   "copy: last member and its comma removed");

	/* An interim utterance keeps its scores in call_events, has no row. */
	evm_copy_reset(&c);
	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"h\",%s,\"interim\":true", sc);
	p = event("utterance", extra);
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) == 0 && c.utt.len == 0 &&
	   strstr(c.evs.p, "\"Anger\":0.9"), "copy: an interim utterance keeps its scores");
	free(p);

	/* call.started: its metadata byte for byte in the call record. */
	evm_copy_reset(&c);
	p = event("call.started", "\"agent\":\"sarah_sales\",\"metadata\":{\"w\": 2.50}");
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) == 0 &&
	   strstr(c.calls.p, "\"agent\":\"sarah_sales\"") &&
	   strstr(c.calls.p, ",\"meta\":{\"w\": 2.50}},"), "copy: call.started with its metadata");
	free(p);

	evm_copy_reset(&c);
	p = event("call.started", "\"metadata\":{\"k\":1}");
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) == 0 && strstr(str0(&c.calls), ",\"meta\":{\"k\":1}},"),
	   "copy: call.started with nothing but metadata");
	free(p);

	/* Rejected, or scores under an escaped key: 1, nothing added. */
	evm_copy_reset(&c);
	p = event("utterance", "\"role\":\"user\"");
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) == 1 && info.status == EVM_REJECTED &&
	   c.calls.len + c.utt.len + c.evs.len == 0, "copy: a rejected event needs the JSON path");
	free(p);
	snprintf(extra, sizeof(extra), "\"role\":\"user\",\"text\":\"h\",\"emotion\\u005f%s", sc + 9);
	p = event("utterance", extra);
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) == 1 && info.status == EVM_ACCEPTED &&
	   c.calls.len + c.utt.len + c.evs.len == 0, "copy: an escaped scores key needs the JSON path");
	free(p);
	evm_copy_release(&c);

	/* Two lanes: a call's events always in the same one; calls spread. */
	{
		struct evm_copy two[2];
		size_t lane, first[16], used[2] = { 0, 0 };
		int same = 1;

		evm_copy_init(&two[0], 1 << 20);
		evm_copy_init(&two[1], 1 << 20);
		for (int k = 0; k < 32; k++) {
			char ev[400];
			snprintf(ev, sizeof(ev), "{\"type\":\"interruption\",\"call_id\":"
				 "\"%x" CALL_TAIL "\",\"provider\":\"twilio\",\"ts\":"
				 "\"2026-11-21T07:05:00Z\",\"event_id\":\"" EID "\"}", k % 16);
			if (evm_map_copy(ev, strlen(ev), two, 2, &info, &lane) != 0)
				same = 0;
			if (k < 16)
				first[k] = lane;
			else
				same &= first[k % 16] == lane;
			used[lane]++;
		}
		ok(same && used[0] > 0 && used[1] > 0 &&
		   (size_t)(strchr(two[0].evs.p, '\n') - two[0].evs.p) < two[0].evs.len,
		   "copy: each call's events in one lane, the calls over both");
		evm_copy_release(&two[0]);
		evm_copy_release(&two[1]);
	}

	evm_copy_init(&c, 64);
	p = event("call.status", "\"status\":\"ringing\"");
	ok(evm_map_copy(p, strlen(p), &c, 1, &info, NULL) < 0 && c.calls.len + c.utt.len + c.evs.len == 0,
	   "copy: a full buffer is left unchanged");
	free(p);
	evm_copy_release(&c);
}

int main(void)
{
	test_emotions();
	test_sentiment();
	test_status();
	test_time();
	test_map();
	test_rejects();
	test_scan_scores();
	test_refused();
	test_copy_time();
	test_copy();
	return done_testing();
}
