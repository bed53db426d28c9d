/* Fuzz target: Vonage input as evb-ingress and evb-call meet it: a media
 * WebSocket text message, an NCCO, an event webhook body, and a signed
 * webhook's "Authorization" value (the input's first line) over the rest
 * as the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evb_vonage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evb_vonage_msg m;
	struct evb_vonage_status e;
	struct evb_ncco n;
	char err[160], *auth;
	const uint8_t *nl;
	json_t *root;

	if (evb_vonage_msg_parse(data, size, &m, err, sizeof(err)) == 0) {
		const char *t = evb_vonage_msg_header(&m, "token");
		volatile size_t sum = (t ? strlen(t) : 0) + (size_t)m.event +
				      (m.digit ? strlen(m.digit) : 0);
		(void)sum;
		evb_vonage_rate(m.content_type);
		evb_vonage_msg_release(&m);
	}
	if (evb_vonage_ncco_parse(data, size, &root, &n) == 0) {
		if (!n.uri)
			abort();
		evb_vonage_rate(n.content_type);
		json_decref(root);
	}
	root = json_loadb((const char *)data, size, 0, NULL);
	if (json_is_object(root) && evb_vonage_event_read(root, &e) == 0) {
		if (!e.status)
			abort();
		evb_vonage_status_known(e.status);
		evb_vonage_status_final(e.status);
	}
	json_decref(root);
	nl = memchr(data, '\n', size);
	if (nl && (auth = malloc((size_t)(nl - data) + 1))) {
		memcpy(auth, data, (size_t)(nl - data));
		auth[nl - data] = '\0';
		evb_vonage_jwt_check(auth, "secret", nl + 1, size - (size_t)(nl - data) - 1,
				     1800000000, err, sizeof(err));
		free(auth);
	}
	return 0;
}
