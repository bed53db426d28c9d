/* The evb-transcode daemon: unix sockets toward evb-ingress and evb-hume. */
#ifndef EVB_TRANSCODE_H
#define EVB_TRANSCODE_H

#include <stdint.h>

#include "evb_cfg.h"
#include "xcode.h"

/* Runs until SIGTERM or SIGINT; returns the process exit status. */
int transcode_daemon(const struct evb_cfg *cfg, const struct xc_opts *xo, uint64_t idle_ns);

#endif
