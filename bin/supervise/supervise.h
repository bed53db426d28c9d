/* evb-supervise: starts the evibridge daemons in dependency order, each
 * ready before the next, restarts them with backoff, and stops them in
 * reverse order. */
#ifndef EVB_SUPERVISE_H
#define EVB_SUPERVISE_H

#include <stdint.h>
#include <uv.h>

#include "evb_cfg.h"

#define SV_MAX 8

enum sv_state {
	SV_DOWN,     /* not started yet, or waiting for its restart */
	SV_STARTING, /* running, not yet ready */
	SV_UP,       /* ready */
	SV_STOPPING, /* asked to stop */
	SV_FAILED,   /* exited 100: configuration error, not restarted */
};

struct sv;

struct sv_child {
	struct sv *sv;
	char name[32];      /* "logger" */
	char prog[4096];    /* path of evb-logger */
	enum sv_state state;
	uv_process_t proc;
	uv_pipe_t out, err, notify;
	int open_handles;   /* handles of this run still open */
	char linebuf[2][4096];
	size_t linelen[2];
	uv_timer_t restart;
	uint64_t started_ns, ready_ns;
	unsigned restarts;
	unsigned quick_crashes; /* crashes soon after start, for the backoff */
	int last_status;
	uint64_t cfg_hash;  /* of the keys it reads, for SIGHUP */
};

struct sv {
	uv_loop_t *loop;
	struct evb_cfg *cfg;
	const char *config_path; /* NULL: default file */
	struct sv_child child[SV_MAX];
	int n;
	int starting;     /* index being brought up in order, n when all up */
	int stopping;
	int exit_status;
	uv_signal_t sig[3];
	uv_timer_t deadline;
	uv_pipe_t status_srv;
	char status_path[4096];
	unsigned drain_s;
};

/* Spawns child c; 0 or -errno. */
int sv_child_spawn(struct sv_child *c);
/* Sends signum to c if running. */
void sv_child_signal(struct sv_child *c, int signum);
/* Called by the child code when c became ready or exited. */
void sv_on_ready(struct sv_child *c);
void sv_on_exit(struct sv_child *c, int64_t status, int term_signal);

#endif
