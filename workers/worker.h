/*
 * worker: the delivery worker's loop (docs/dispatch.md, worker side).
 *
 * One single-threaded loop: zmq_poll over the link to the scheduler
 * (link.h), a signalfd, and the sockets libcurl's multi handle asks to
 * watch (transfer.h), with its timer as the poll timeout; so hundreds of
 * transfers proceed at once. Jobs come in with credit and go out through
 * their channel type's transport (transport.h); each outcome goes back
 * through the link. Secrets are read per job through secrets.h.
 */
#ifndef ONOTIFY_WORKER_H
#define ONOTIFY_WORKER_H

#include "conf.h"

struct worker_opts {
        const char *conf_path;
        const char *kind; /* "webhook" */
        int credit;       /* jobs held at once */
        long timeout_ms;  /* per transfer, below the lease */
};

/* Runs until SIGTERM/SIGINT; returns the exit status. Takes conf. */
int worker_run(const struct worker_opts *opts, struct conf *conf);

#endif
