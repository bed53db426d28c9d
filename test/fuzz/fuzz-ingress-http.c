/* Fuzz target: the request path of evb-ingress, through the library code
 * it runs (the daemon's own handlers are exercised with this corpus over
 * TCP by test/e2e/t3050-ingress-bad-input.sh). The input is a stream of
 * HTTP requests; each is checked as a WebSocket handshake, its query and
 * form body are decoded, its X-Twilio-Signature is checked over the URL
 * rebuilt from a public base, its Authorization as a Vonage signed
 * webhook, and a JSON body is read as a Vonage event. After an upgrade the
 * rest is WebSocket frames from a client, and each message goes through
 * the Twilio and Vonage message parsers and the media token check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_http.h"
#include "evb_httpmsg.h"
#include "evb_sign.h"
#include "evb_twilio.h"
#include "evb_url.h"
#include "evb_vonage.h"
#include "evb_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ws_msg(struct evb_ws *ws, int kind, const uint8_t *d, size_t len, void *arg)
{
	static uint8_t buf[EVB_TWILIO_PAYLOAD_MAX];
	struct evb_twilio_msg tm;
	struct evb_vonage_msg vm;

	(void)ws;
	(void)arg;
	if (kind != EVB_WS_TEXT)
		return;
	if (evb_twilio_msg_parse(d, len, buf, sizeof(buf), &tm, NULL, 0) == 0) {
		if (tm.event == EVB_TWILIO_START)
			evb_mtoken_check("secret", evb_twilio_msg_param(&tm, "call_id"), tm.call_sid,
					 evb_twilio_msg_param(&tm, "token"), 0, NULL);
		evb_twilio_msg_release(&tm);
	}
	if (evb_vonage_msg_parse(d, len, &vm, NULL, 0) == 0) {
		if (vm.event == EVB_VONAGE_CONNECTED)
			evb_mtoken_check("secret", evb_vonage_msg_header(&vm, "call_id"),
					 evb_vonage_msg_header(&vm, "uuid"),
					 evb_vonage_msg_header(&vm, "token"), 0, NULL);
		evb_vonage_msg_release(&vm);
	}
}

static void ws_close(struct evb_ws *ws, int code, const char *reason, void *arg)
{
	(void)ws;
	(void)arg;
	if (code < 1000 || code > 4999 || strlen(reason) > 400)
		abort();
}

static void request(const struct evb_httpmsg *m)
{
	char accept[EVB_WS_ACCEPT_LEN], err[160];
	const char *q = evb_httpmsg_query(m), *target = evb_httpmsg_url(m);
	size_t blen, n = strlen(target) + 32;
	const uint8_t *body = evb_httpmsg_body(m, &blen);
	struct evb_params *qp = evb_params_parse(q, strlen(q));
	struct evb_params *form = evb_params_parse((const char *)body, blen);
	char *url = malloc(n);
	json_t *j;

	evb_http_ws_check(m, accept);
	if (url) {
		snprintf(url, n, "https://bridge.example%s", target);
		evb_twilio_check_signature("token", url, form, body, blen,
					   evb_httpmsg_header(m, "X-Twilio-Signature"));
		free(url);
	}
	evb_vonage_jwt_check(evb_httpmsg_header(m, "Authorization"), "secret", body, blen,
			     1800000000, err, sizeof(err));
	if (qp)
		evb_params_get(qp, "call_id");
	j = json_loadb((const char *)body, blen, 0, NULL);
	if (json_is_object(j)) {
		struct evb_vonage_status e;
		evb_vonage_event_read(j, &e);
	}
	json_decref(j);
	evb_params_free(qp);
	evb_params_free(form);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evb_httpmsg *m = evb_httpmsg_new(0, 64u << 10);
	size_t off = 0, used;
	int msgs = 0;

	if (!m)
		abort();
	while (off < size && msgs++ < 32) {
		int r = evb_httpmsg_feed(m, data + off, size - off, &used);

		if (r <= 0)
			break;
		off += used;
		request(m);
		if (evb_httpmsg_upgrade(m)) {
			struct evb_ws *ws = evb_ws_mem_new(1, ws_msg, ws_close, NULL);

			if (ws) {
				evb_ws_set_max_message(ws, 64u << 10);
				evb_ws_mem_feed(ws, data + off, size - off);
				evb_ws_free(ws);
			}
			break;
		}
		evb_httpmsg_reset(m);
	}
	evb_httpmsg_free(m);
	return 0;
}
