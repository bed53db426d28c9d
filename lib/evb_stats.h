/* Metrics in the Prometheus text format, the evibridge way: a daemon keeps
 * a registry of counters, gauges and histograms (fixed buckets) that it
 * updates cheaply, and serves it on $EVB_RUN_DIR/<program>.metrics, a unix
 * stream socket: a client connects and reads the text until EOF. evb-api
 * fetches every *.metrics socket, merges the texts with a process="<name>"
 * label on each sample, and serves the whole on GET /metrics. Names start
 * with "evb_" (docs/api.md lists them). A client that leaves early raises
 * SIGPIPE in the server: programs must ignore it. */
#ifndef EVB_STATS_H
#define EVB_STATS_H

#include <stddef.h>
#include <uv.h>

#define EVB_STATS_MAX_TEXT (1u << 20)   /* longest text one process serves */
#define EVB_STATS_MAX_BUCKETS 32
#define EVB_STATS_SUFFIX ".metrics"

struct evb_stats;
struct evb_metric;
struct evb_stats_server;
struct evb_stats_merge;

/* An empty registry, or NULL with errno ENOMEM. */
struct evb_stats *evb_stats_new(void);

/* Frees s and every metric in it (their pointers become invalid). */
void evb_stats_free(struct evb_stats *s);

/* The metric called name with the given labels ('provider="twilio"', NULL
 * or "" for none; see evb_stats_label()), created on first use, the same
 * pointer after. help is kept from the first call. name must be a valid
 * metric name ([a-zA-Z_:][a-zA-Z0-9_:]*); one name has one type. Returns
 * NULL with errno EINVAL (bad name or labels, another type) or ENOMEM.
 * Every update function accepts NULL and does nothing then. */
struct evb_metric *evb_stats_counter(struct evb_stats *s, const char *name, const char *labels,
				     const char *help);
/* A counter whose value is read from *src whenever the metrics are
 * rendered: for a daemon's own monotonic counters, kept where its code
 * already counts. src must stay valid as long as s. */
struct evb_metric *evb_stats_counter_of(struct evb_stats *s, const char *name,
					const char *labels, const char *help,
					const uint64_t *src);
struct evb_metric *evb_stats_gauge(struct evb_stats *s, const char *name, const char *labels,
				   const char *help);

/* Bucket bounds (seconds) every latency histogram uses: 100 µs to 250 ms. */
extern const double evb_stats_latency_bounds[];
extern const size_t evb_stats_latency_nbounds;

/* A histogram with n (1..EVB_STATS_MAX_BUCKETS) increasing upper bounds
 * (copied; "+Inf" is implied). Series of one name share its bounds. */
struct evb_metric *evb_stats_histogram(struct evb_stats *s, const char *name,
				       const char *labels, const char *help,
				       const double *bounds, size_t n);

/* Counter or gauge += v (a counter ignores v < 0); gauge = v; one
 * observation into a histogram. */
void evb_metric_add(struct evb_metric *m, double v);
void evb_metric_set(struct evb_metric *m, double v);
void evb_metric_observe(struct evb_metric *m, double v);

/* The current value of a counter or gauge (a histogram's count). */
double evb_metric_value(const struct evb_metric *m);

/* fn(s, arg) runs before each rendering, to set gauges computed on demand
 * (queue depths, open calls). One hook per registry; NULL removes it. */
void evb_stats_on_render(struct evb_stats *s, void (*fn)(struct evb_stats *s, void *arg),
			 void *arg);

/* The registry as Prometheus text (version 0.0.4): per name one # HELP
 * and # TYPE line, then its samples. The caller frees it; *len gets its
 * length. NULL with errno ENOMEM. */
char *evb_stats_render(struct evb_stats *s, size_t *len);

/* Formats one label pair name="value" into out (cap bytes with the NUL),
 * escaping \, " and newlines in value. Returns the length, or -ENOBUFS. */
int evb_stats_label(char *out, size_t cap, const char *name, const char *value);

/* Serves s on the unix socket path (mode 0660; a socket file nobody
 * listens on is replaced, any other file is left alone): each client gets
 * the rendered text, then EOF. Returns NULL with errno set (EADDRINUSE,
 * EEXIST, ENAMETOOLONG, ...). */
struct evb_stats_server *evb_stats_serve(uv_loop_t *loop, struct evb_stats *s,
					 const char *path);

/* Stops serving, removes the socket file, and frees srv from the loop;
 * clients being written to are dropped. NULL is ignored. */
void evb_stats_server_close(struct evb_stats_server *srv);

/* Reads a *.metrics socket: connects to path, reads until EOF, at most
 * max_bytes (0: EVB_STATS_MAX_TEXT), within timeout_ms. cb(err, text, len,
 * arg) runs once from the loop: err 0 with the text (valid during the
 * call), else -ETIMEDOUT, -ECONNREFUSED, -ENOENT, EVB_ETOOBIG, ... with
 * text NULL. Returns 0, or -errno (then cb never runs). */
int evb_stats_fetch(uv_loop_t *loop, const char *path, unsigned timeout_ms, size_t max_bytes,
		    void (*cb)(int err, const char *text, size_t len, void *arg), void *arg);

/* A merger of exposition texts into one valid text: samples of one name
 * from every source are grouped under a single # HELP/# TYPE (the first
 * source's), a source that gives a name another type loses those samples,
 * malformed lines are dropped. max_bytes caps the merged text (0: 8 MiB).
 * NULL with errno ENOMEM. */
struct evb_stats_merge *evb_stats_merge_new(size_t max_bytes);
void evb_stats_merge_free(struct evb_stats_merge *m);

/* Adds the text of one source (len bytes). When process is not NULL each
 * sample gets the label process="<process>" first. Returns the number of
 * lines dropped (malformed, type conflict), or EVB_ETOOBIG when the cap
 * is reached (the source is then partly added), -ENOMEM. */
int evb_stats_merge_add(struct evb_stats_merge *m, const char *text, size_t len,
			const char *process);

/* The merged text (caller frees; *len its length), or NULL (ENOMEM). */
char *evb_stats_merge_render(const struct evb_stats_merge *m, size_t *len);

#endif
