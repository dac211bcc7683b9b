/*
 * cclient: a client of ofsted-notifyd's control endpoint, for any program
 * that sends it requests. ofsted-notifyctl links it, and so will
 * ofsted-notify-web (DESIGN.md §6): keep it free of what one of them prints.
 *
 * The protocol is proto.h's (docs/protocol.md): a request is the frames
 * PROTO_CONTROL_ID and one JSON object; the reply is the same two frames
 * with an object that has a boolean "ok". A client holds one REQ socket to
 * one endpoint, ipc:// or tcp:// with CURVE (curve_client() with the
 * config's keys), made on the first request and made afresh after a request
 * that failed, so a late reply to a request given up on is never taken for
 * the answer to the next one. The client checks the reply's shape only;
 * what the reply says is the caller's to judge.
 *
 * Library code does not print, log or exit: every failure comes back as an
 * enum cclient_error and an allocated cause the caller shows as it likes.
 */
#ifndef ONOTIFY_CCLIENT_H
#define ONOTIFY_CCLIENT_H

#include <jansson.h>
#include <stddef.h>

struct conf;
struct cclient;

/* Bytes of the largest reply taken by default; a larger one is dropped. */
#define CCLIENT_REPLY_MAX (64 << 20)

enum cclient_error {
        CCLIENT_OK = 0,
        CCLIENT_TOO_BIG,   /* the request is over PROTO_MAX_REQUEST bytes;
                            * nothing was sent */
        CCLIENT_SETUP,     /* the socket, the CURVE keys or the connect */
        CCLIENT_TIMEOUT,   /* no reply in time: no daemon, CURVE refused,
                            * or a reply over the bound (ZeroMQ drops it) */
        CCLIENT_IO,        /* sending or receiving failed */
        CCLIENT_PROTOCOL,  /* the reply carries another protocol id */
        CCLIENT_MALFORMED, /* not two frames, not JSON, or no boolean "ok" */
};

/*
 * A client of `endpoint` (as zmq_connect() takes it; conf_endpoint_path()
 * resolves a config's). `conf` gives the CURVE keys when the endpoint is
 * tcp:// and is borrowed for the client's life; it may be NULL for ipc://.
 * Replies over `reply_max` bytes (0: CCLIENT_REPLY_MAX) are not taken.
 * Returns NULL only when ZeroMQ cannot make a context.
 */
struct cclient *cclient_new(const char *endpoint, const struct conf *conf,
                            size_t reply_max);

/* Closes the socket, frees the client and sets *cp to NULL; NULL is fine. */
void cclient_destroy(struct cclient **cp);

/*
 * Sends `req` (a JSON object, borrowed) and waits up to `timeout_ms` for
 * the reply. Returns 0 with *reply (an object with a boolean "ok", owned by
 * the caller), or -1 with *err (when not NULL) and *cause (caller frees): a
 * sentence naming the endpoint, to show after the program's name.
 */
int cclient_request(struct cclient *c, const json_t *req, int timeout_ms,
                    json_t **reply, enum cclient_error *err, char **cause);

#endif
