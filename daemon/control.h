/*
 * control: the daemon's side of the control protocol (docs/protocol.md).
 *
 * control_handle() takes one request as it came off the socket, validates
 * everything in it, and returns the reply. It never fails and never trusts
 * the request: a bad one gets {"ok": false, "error"} and changes nothing.
 * control_serve() is the socket's side: it takes one message off the
 * ROUTER main.c binds, frames it for control_handle() and sends the reply.
 */
#ifndef ONOTIFY_CONTROL_H
#define ONOTIFY_CONTROL_H

#include "conf.h"
#include "dispatch.h"
#include "feed.h"
#include "store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct control_ctx {
        struct store *st;
        const struct conf *conf; /* the config in force */
        const struct dispatch *dispatch;
        int64_t started;
        /* Reloads the config (as SIGHUP does) and returns the reply. */
        json_t *(*reload)(void *arg);
        void *reload_arg;
        const struct feed *feed; /* the alert feed; NULL: none */
};

/* Handles one request: its protocol id frame and its body. */
json_t *control_handle(struct control_ctx *ctx, const void *id, size_t idlen,
                       const void *body, size_t len, int64_t now);
/* Serves the next request waiting on `sock`, a ROUTER, if there is one. */
void control_serve(struct control_ctx *ctx, void *sock, int64_t now);

#endif
