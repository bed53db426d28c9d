/* Unit tests for lib/evb_vonage: signed webhooks, NCCO built and read
 * back, media WebSocket messages, event webhooks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evb_err.h"
#include "evb_sign.h"
#include "evb_vonage.h"
#include "tap.h"

#define NOW 1800000000

static char *bearer(const char *jwt)
{
	size_t n = strlen(jwt) + 8;
	char *b = malloc(n);

	snprintf(b, n, "Bearer %s", jwt);
	return b;
}

static void test_jwt(void)
{
	static const char body[] = "{\"status\":\"answered\"}";
	char *jwt = evb_vonage_jwt_sign("sekrit", body, strlen(body), NOW);
	char *auth = bearer(jwt), err[160], *old, *nohash;
	char forged[2048];

	ok(jwt != NULL, "a token is signed");
	is_int(evb_vonage_jwt_check(auth, "sekrit", body, strlen(body), NOW, err, sizeof(err)), 0,
	       "and accepted");
	is_int(evb_vonage_jwt_check(auth, "other", body, strlen(body), NOW, err, sizeof(err)), -EPERM,
	       "another secret: refused");
	ok(strstr(err, "signature") != NULL, "the reason says so: %s", err);
	is_int(evb_vonage_jwt_check(auth, "sekrit", "{}", 2, NOW, err, sizeof(err)), -EPERM,
	       "another body: refused");
	ok(strstr(err, "payload_hash") != NULL, "because of payload_hash: %s", err);
	is_int(evb_vonage_jwt_check(auth, "sekrit", body, strlen(body), NOW + 7200, err, sizeof(err)),
	       -EPERM, "two hours later: refused (too old)");
	is_int(evb_vonage_jwt_check(auth, "sekrit", body, strlen(body), NOW - 3600, err, sizeof(err)),
	       -EPERM, "an hour early: refused (from the future)");
	is_int(evb_vonage_jwt_check(NULL, "sekrit", body, strlen(body), NOW, err, sizeof(err)), -EPERM,
	       "no Authorization: refused");
	is_int(evb_vonage_jwt_check(jwt, "sekrit", body, strlen(body), NOW, err, sizeof(err)), -EPERM,
	       "no Bearer prefix: refused");
	/* alg none with the same claims */
	{
		const char *dot = strchr(jwt, '.');
		const char *dot2 = strchr(dot + 1, '.');
		char h[64];
		evb_b64url_encode((const uint8_t *)"{\"alg\":\"none\"}", 14, h, sizeof(h));
		snprintf(forged, sizeof(forged), "Bearer %s.%.*s.", h, (int)(dot2 - dot - 1), dot + 1);
		is_int(evb_vonage_jwt_check(forged, "sekrit", body, strlen(body), NOW, err,
					    sizeof(err)),
		       -EPERM, "alg none: refused");
	}
	old = evb_vonage_jwt_sign("sekrit", "", 0, NOW);
	nohash = bearer(old);
	is_int(evb_vonage_jwt_check(nohash, "sekrit", NULL, 0, NOW, err, sizeof(err)), 0,
	       "a GET (no body) with the hash of nothing: accepted");
	free(old);
	free(nohash);
	free(auth);
	free(jwt);
}

static void test_ncco(void)
{
	json_t *h = json_pack("{s:s,s:s}", "token", "t0k", "call_id", "c1"), *root;
	char *s = evb_vonage_ncco_connect("wss://b/vonage/stream/c1", 16000,
					  "https://b/vonage/ws-event?call_id=c1", h);
	struct evb_ncco n;

	ok(s && s[0] == '[', "an NCCO is an array");
	ok(s && strstr(s, "\"content-type\":\"audio/l16;rate=16000\""), "content-type with a hyphen");
	ok(s && strstr(s, "\"type\":\"websocket\"") && !strstr(s, "\"stream\""),
	   "a websocket endpoint, never the stream action");
	ok(s && strstr(s, "\"eventType\":\"synchronous\""), "synchronous eventUrl");
	is_int(evb_vonage_ncco_parse(s, strlen(s), &root, &n), 0, "it reads back");
	is_str(n.uri, "wss://b/vonage/stream/c1", "uri");
	is_str(n.content_type, "audio/l16;rate=16000", "content-type");
	is_str(n.event_url, "https://b/vonage/ws-event?call_id=c1", "eventUrl");
	is_str(json_string_value(json_object_get(n.headers, "token")), "t0k", "headers.token");
	json_decref(root);
	free(s);
	json_decref(h);
	is_int(evb_vonage_ncco_parse("[]", 2, &root, &n), -EBADMSG, "an empty NCCO has no websocket");
	is_int(evb_vonage_ncco_parse("{", 1, &root, &n), -EBADMSG, "not JSON");
	is_int(evb_vonage_rate("audio/l16;rate=16000"), 16000, "rate 16000");
	is_int(evb_vonage_rate("audio/l16;rate=8000"), 8000, "rate 8000");
	is_int(evb_vonage_rate("audio/l16;rate=24000"), 24000, "rate 24000");
	is_int(evb_vonage_rate("audio/l16;rate=44100"), -1, "rate 44100 refused");
	is_int(evb_vonage_rate(NULL), -1, "no content-type");
}

static void test_msgs(void)
{
	struct evb_vonage_msg m;
	char err[128];
	static const char conn[] = "{\"event\":\"websocket:connected\",\"content-type\":"
				   "\"audio/l16;rate=16000\",\"token\":\"t\",\"call_id\":\"c\"}";
#define PARSE(s) evb_vonage_msg_parse(s, strlen(s), &m, err, sizeof(err))
	is_int(PARSE(conn), 0, "websocket:connected parses");
	is_int(m.event, EVB_VONAGE_CONNECTED, "as connected");
	is_str(m.content_type, "audio/l16;rate=16000", "content-type");
	is_str(evb_vonage_msg_header(&m, "token"), "t", "header echoed at the top level");
	evb_vonage_msg_release(&m);
	is_int(PARSE("{\"event\":\"websocket:connected\",\"headers\":{\"token\":\"u\"}}"), 0,
	       "headers as an object");
	is_str(evb_vonage_msg_header(&m, "token"), "u", "header read from it");
	evb_vonage_msg_release(&m);
	is_int(PARSE("{\"event\":\"websocket:dtmf\",\"digit\":\"5\",\"duration\":260}"), 0,
	       "dtmf parses");
	is_str(m.digit, "5", "digit");
	is_int(m.duration_ms, 260, "duration");
	evb_vonage_msg_release(&m);
	is_int(PARSE("{\"dtmf\":{\"digit\":\"#\",\"duration\":100}}"), 0, "the other dtmf form");
	is_int(m.event, EVB_VONAGE_DTMF, "is dtmf");
	is_str(m.digit, "#", "digit");
	evb_vonage_msg_release(&m);
	is_int(PARSE("{\"event\":\"websocket:notify\",\"payload\":{\"mark\":\"evb-2\"}}"), 0,
	       "notify parses");
	is_str(json_string_value(json_object_get(m.payload, "mark")), "evb-2", "payload kept");
	evb_vonage_msg_release(&m);
	is_int(PARSE("{\"action\":\"clear\"}"), 0, "our clear parses");
	is_int(m.event, EVB_VONAGE_A_CLEAR, "as clear");
	evb_vonage_msg_release(&m);
	is_int(PARSE("{\"event\":\"websocket:cleared\"}"), 0, "cleared parses");
	is_int(m.event, EVB_VONAGE_CLEARED, "as cleared");
	evb_vonage_msg_release(&m);
	is_int(PARSE("AAAAAAAA"), EVB_EJSON, "base64 audio in a text frame: EVB_EJSON");
	is_int(PARSE("{\"x\":1}"), EVB_EJSON, "no event: EVB_EJSON");
	is_int(PARSE("{\"event\":\"websocket:dtmf\"}"), EVB_EJSON, "dtmf without digit: EVB_EJSON");
	is_int(PARSE("{\"event\":\"websocket:new\"}"), 0, "an unknown event parses");
	is_int(m.event, EVB_VONAGE_UNKNOWN, "as unknown");
	evb_vonage_msg_release(&m);
#undef PARSE
}

static void test_events(void)
{
	struct evb_vonage_status e;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "status", "completed", "uuid", "u1",
			      "conversation_uuid", "CON-1", "duration", "42");

	is_int(evb_vonage_event_read(j, &e), 0, "completed event read");
	is_str(e.uuid, "u1", "uuid");
	is_int(e.duration_s, 42, "duration given as a string");
	json_decref(j);
	j = json_pack("{s:s,s:s}", "status", "machine", "call_uuid", "u2");
	is_int(evb_vonage_event_read(j, &e), 0, "machine event read");
	is_str(e.uuid, "u2", "uuid from call_uuid");
	is_int(e.duration_s, -1, "no duration");
	json_decref(j);
	j = json_pack("{s:s}", "recording_url", "x");
	is_int(evb_vonage_event_read(j, &e), -EBADMSG, "no status: -EBADMSG");
	json_decref(j);
	ok(evb_vonage_status_known("cancelled") && !evb_vonage_status_known("canceled"),
	   "Vonage spells cancelled with two l");
	ok(evb_vonage_status_final("completed") && evb_vonage_status_final("unanswered") &&
	   !evb_vonage_status_final("answered") && !evb_vonage_status_final("human"),
	   "final statuses");
}

int main(void)
{
	test_jwt();
	test_ncco();
	test_msgs();
	test_events();
	return done_testing();
}
