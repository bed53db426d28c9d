/* One HTTP/1.x message parsed from memory with http-parser, under hard caps:
 * a request (server side) or a response (client side), fed in pieces as
 * they arrive; the parser stops at the end of each message so pipelined
 * requests and the bytes after an upgrade stay with the caller. Sockets are
 * someone else's business (evb_http, evb_httpc, evb_ws), which is also what
 * makes it easy to fuzz. */
#ifndef EVB_HTTPMSG_H
#define EVB_HTTPMSG_H

#include <stddef.h>
#include <stdint.h>

#define EVB_HTTP_MAX_URL 8192            /* request target, else 414 */
#define EVB_HTTP_MAX_HEADER_BYTES 16384  /* names and values, else 431 */
#define EVB_HTTP_MAX_HEADERS 100         /* header lines, else 431 */
#define EVB_HTTP_MAX_BODY (1u << 20)     /* default body cap, else 413 */

/* Where the message being parsed stands. */
enum {
	EVB_HTTPMSG_IDLE,    /* nothing received yet */
	EVB_HTTPMSG_HEAD,    /* in the start line or headers */
	EVB_HTTPMSG_BODY,    /* headers complete, body under way */
	EVB_HTTPMSG_DONE,    /* complete: read it, then evb_httpmsg_reset() */
	EVB_HTTPMSG_ERROR,   /* failed: see evb_httpmsg_error_status() */
};

struct evb_httpmsg;

/* A parser for requests (response 0) or responses (response 1) whose
 * bodies may hold max_body bytes. NULL with errno ENOMEM. */
struct evb_httpmsg *evb_httpmsg_new(int response, size_t max_body);
void evb_httpmsg_free(struct evb_httpmsg *m);

/* Parses up to len bytes. Returns 1 when a message is complete, having used
 * *used bytes (the rest is the next message's, or the new protocol's after
 * an upgrade); 0 when all len bytes were used and more are needed; or a
 * negative error: EVB_ETOOBIG for a cap, -EBADMSG for bad syntax. After an
 * error, evb_httpmsg_error_status() gives the status to answer. */
int evb_httpmsg_feed(struct evb_httpmsg *m, const void *data, size_t len, size_t *used);

/* Tells the parser the peer closed: completes a response whose body runs to
 * the end of the stream. Returns 1 if a message is now complete, 0 if
 * nothing had started, -EBADMSG if the message was cut short. */
int evb_httpmsg_finish(struct evb_httpmsg *m);

/* Forgets the message, ready to parse the next one on the connection. */
void evb_httpmsg_reset(struct evb_httpmsg *m);

/* For responses: the body of the next message is not sent (HEAD). */
void evb_httpmsg_expect_no_body(struct evb_httpmsg *m);

/* EVB_HTTPMSG_IDLE ... EVB_HTTPMSG_ERROR. */
int evb_httpmsg_phase(const struct evb_httpmsg *m);

/* After an error: 400, 413, 414, 431, 501 or 505, and a short reason. */
int evb_httpmsg_error_status(const struct evb_httpmsg *m);
const char *evb_httpmsg_errstr(const struct evb_httpmsg *m);

/* Accessors, valid once the headers are in (phase BODY or DONE) until the
 * next reset. Strings are NUL-terminated and owned by m. */
const char *evb_httpmsg_method(const struct evb_httpmsg *m);  /* "GET", requests */
int evb_httpmsg_status(const struct evb_httpmsg *m);          /* responses */
int evb_httpmsg_version(const struct evb_httpmsg *m);         /* 10 or 11 */
const char *evb_httpmsg_url(const struct evb_httpmsg *m);     /* raw target */
const char *evb_httpmsg_path(const struct evb_httpmsg *m);    /* raw, no query */
const char *evb_httpmsg_query(const struct evb_httpmsg *m);   /* raw, "" if none */

/* The first value of header name (any case), or NULL. */
const char *evb_httpmsg_header(const struct evb_httpmsg *m, const char *name);

/* All header lines in order (trailers of a chunked body included). */
size_t evb_httpmsg_header_count(const struct evb_httpmsg *m);
const char *evb_httpmsg_header_name(const struct evb_httpmsg *m, size_t i);
const char *evb_httpmsg_header_value(const struct evb_httpmsg *m, size_t i);

/* The body (chunked coding removed), NUL-terminated for convenience; *len
 * gets its length. Valid once DONE. */
const uint8_t *evb_httpmsg_body(const struct evb_httpmsg *m, size_t *len);

/* 1 if the connection may carry another message after this one. */
int evb_httpmsg_keep_alive(const struct evb_httpmsg *m);

/* 1 if the message asks to switch protocols (Upgrade + Connection: upgrade,
 * or a 101 response): the bytes after it are not HTTP. */
int evb_httpmsg_upgrade(const struct evb_httpmsg *m);

/* 1 if the comma-separated header value holds token (any case), as in
 * "Connection: keep-alive, Upgrade". */
int evb_http_has_token(const char *value, const char *token);

/* 1 if name is a header token and value has no CR, LF or other control
 * byte but tab: safe to write as "name: value\r\n". */
int evb_http_valid_header(const char *name, const char *value);

/* 1 if block is "" or lines "Name: value\r\n" each passing
 * evb_http_valid_header(). */
int evb_http_valid_header_block(const char *block);

#endif
