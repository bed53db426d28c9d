/* Fuzz target: evb-api's request routing and request bodies, without a
 * database or sockets. The input is "METHOD TARGET\n" then a body: the
 * target is routed (path and query), the body checked by the parser its
 * route uses (JSON, or a form for the original app's initiate-call), the
 * query by the list parser. The body also goes through the JWT reader and
 * the metrics-text merger, the other parsers evb-api runs on input from
 * outside. bin/api/route.c is compiled in: the Makefile links fuzz targets
 * with libevb.a only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bin/api/route.c"
#include "evb_jwt.h"
#include "evb_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_body(const struct api_match *m, const char *method, const char *body,
		       size_t len)
{
	struct api_call_req cr;
	struct api_agent ag;
	struct api_err e;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);

	if (!j && m->route == R_LEGACY_INITIATE) {
		/* A form body, as server.c turns it into an object. */
		struct evb_params *p = evb_params_parse(body, len);
		if (p) {
			j = json_object();
			for (size_t i = 0; i < evb_params_count(p); i++)
				if (!json_object_get(j, evb_params_name(p, i)))
					json_object_set_new(j, evb_params_name(p, i),
							    json_string(evb_params_value(p, i)));
			evb_params_free(p);
		}
	}
	switch (m->route) {
	case R_CALLS:
	case R_LEGACY_INITIATE:
		if ((m->route == R_CALLS ? api_parse_call : api_parse_legacy_call)(j, &cr, &e) == 0) {
			if (!api_is_e164(cr.to) || (cr.agent[0] && !api_is_slug(cr.agent)) ||
			    (cr.from[0] && !api_is_e164(cr.from)))
				abort(); /* a parse that succeeds yields valid values */
			api_call_req_release(&cr);
		} else if (strlen(e.msg) == 0) {
			abort(); /* every refusal says why */
		}
		break;
	case R_AGENTS:
	case R_AGENT:
		if (api_parse_agent(j, strcmp(method, "POST") == 0, m->id[0] ? m->id : "x", &ag,
				    &e) == 0 &&
		    (!ag.slug || !ag.name))
			abort();
		break;
	default:
		break;
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1024], method[16], *sp, *q;
	const char *body, *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - (const char *)data) : size, blen;
	struct api_match m;
	struct api_list_q lq;
	struct api_err e;
	struct evb_stats_merge *mg;
	char *tok;

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, data, n);
	line[n] = '\0';
	body = nl ? nl + 1 : (const char *)data + size;
	blen = (size_t)((const char *)data + size - body);
	if (memchr(line, '\0', n))
		return 0;
	sp = strchr(line, ' ');
	if (sp && (size_t)(sp - line) < sizeof(method)) {
		memcpy(method, line, (size_t)(sp - line));
		method[sp - line] = '\0';
		q = strchr(sp + 1, '?');
		if (q)
			*q++ = '\0';
		api_route(method, sp + 1, &m);
		if (m.route != R_NONE && (!m.allow || !m.name))
			abort();
		if (m.route != R_NONE && m.method_ok && api_route_has_body(m.route, method))
			check_body(&m, method, body, blen);
		if (q && api_parse_list_query(q, 200, 50, &lq, &e) == 0 &&
		    strlen(lq.since) > 11 && strchr(lq.since + 11, ' '))
			abort(); /* an offset's '+' is restored */
		api_is_timestamp(sp + 1);
	}

	/* The body as a token and as metrics text. */
	tok = malloc(blen + 1);
	if (tok) {
		json_t *h = NULL, *c = NULL;
		memcpy(tok, body, blen);
		tok[blen] = '\0';
		if (evb_jwt_decode(tok, &h, &c) == 0) {
			evb_jwt_check_times(c, 1700000000, 60, 3600);
			json_decref(h);
			json_decref(c);
		}
		evb_jwt_verify_hs256("secret", 6, tok, NULL);
		free(tok);
	}
	mg = evb_stats_merge_new(1 << 16);
	if (mg) {
		size_t len;
		char *out;
		evb_stats_merge_add(mg, body, blen, "fuzz");
		evb_stats_merge_add(mg, body, blen, NULL);
		out = evb_stats_merge_render(mg, &len);
		if (out && strlen(out) != len)
			abort();
		free(out);
		evb_stats_merge_free(mg);
	}
	return 0;
}
