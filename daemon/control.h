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
#include "ops.h"
#include "store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

struct control_ctx {
        struct store *st;
        const struct conf *conf; /* the config in force */
        const struct dispatch *dispatch;
        int64_t started;
        /* Reloads the config (as SIGHUP does) and returns the reply. */
        json_t *(*reload)(void *arg);
        void *reload_arg;
        const struct feed *feed; /* the alert feed; NULL: none */
        const struct ops *ops;   /* retention and channel health */
};

/*
 * Who sent a request, as the transport tells it: over ipc:// the kernel's
 * credentials of the peer process (SO_PEERCRED, which libzmq reads when
 * the connection is accepted and hands on as the "Peer-Address" property
 * ":UID:GID:PID"); over tcp:// the name of the CURVE client key ZAP
 * admitted. An event records its actor from these: "unix:USER" for an
 * ipc peer, "curve:NAME" for a CURVE client. A request may name another
 * actor ("token:NAME", "user:EMAIL") only when it comes over ipc:// from
 * the uid of the config's web.user: the web service, which has
 * authenticated the person or token itself (docs/protocol.md).
 */
struct control_peer {
        bool has_uid;
        uid_t uid;
        const char *key_name; /* a CURVE client's name; NULL: none */
};

/*
 * Reads the peer of a message off the control socket from `frame`'s
 * metadata (any frame of it); `conf` names the CURVE clients. *peer's
 * key_name is borrowed from conf.
 */
void control_peer_of(const struct conf *conf, zmq_msg_t *frame,
                     struct control_peer *peer);
/* Handles one request from `peer`: its protocol id frame and its body. */
json_t *control_handle(struct control_ctx *ctx, const struct control_peer *peer,
                       const void *id, size_t idlen, const void *body,
                       size_t len, int64_t now);
/* Serves the next request waiting on `sock`, a ROUTER, if there is one. */
void control_serve(struct control_ctx *ctx, void *sock, int64_t now);

#endif
