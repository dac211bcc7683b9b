/*
 * online: what ofsted-notifyctl's online commands share. online.c holds
 * their table and the one runner (arguments → request → cclient → printer),
 * print.c turns replies into text for people, watch.c follows the feed.
 */
#ifndef ONOTIFY_CTL_ONLINE_H
#define ONOTIFY_CTL_ONLINE_H

#include "ctl.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

struct cclient;

/* One online command in progress. */
struct online {
        struct ctl *ctl;
        const char *cmd;        /* its name, for messages */
        bool json;              /* --json */
        int timeout;            /* seconds */
        struct conf *conf;      /* loaded once the arguments are good */
        const json_t *req;      /* the request, for the printers */
        struct cclient *client; /* made by the first request */
};

/*
 * watch (watch.c): follows the daemon's feed until SIGINT or SIGTERM and
 * prints each alert for school `urn` (NULL: every school). Exit status.
 */
int watch_run(struct online *o, const char *urn);

#endif
