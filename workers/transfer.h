/*
 * transfer: the deliveries under way, on one libcurl multi handle.
 *
 * transfer_start() gives a job to its channel type's transport
 * (transport.h) on an easy handle and adds it to the multi handle, or,
 * for a transport that signs in while its sign-in is under way, parks it
 * until the token comes; transfer_aside() runs a request of the worker's
 * own (the sign-in's token request) on the same multi handle. The
 * caller's loop polls the sockets libcurl asks to watch
 * (CURLMOPT_SOCKETFUNCTION), with its timer as a poll timeout, and passes
 * what happened to transfer_action(); transfer_reap() hands each finished
 * transfer's outcome back. Finished easy handles are kept, reset, for
 * the next jobs. After a reload the multi handle is renewed once idle,
 * so no connection made under the old config carries a new transfer.
 */
#ifndef ONOTIFY_TRANSFER_H
#define ONOTIFY_TRANSFER_H

#include "transport.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

struct transfer_pool;

/*
 * A pool for `credit` transfers at once, each bounded by `timeout_ms`;
 * `max_host` connections to one host at most (0: no bound). Exits when
 * libcurl cannot make a multi handle. curl_global_init() comes first.
 */
struct transfer_pool *transfer_pool_new(int credit, long timeout_ms,
                                        long max_host);
/* Drops what is under way and every handle; accepts NULL. */
void transfer_pool_destroy(struct transfer_pool **pp);

/*
 * Starts delivery `uid` (lease `lease`) as in->ch's transport prepares
 * it. 0, or -1 with *cause (caller frees), *fail the outcome to report
 * and *local whether the problem is on our side.
 */
int transfer_start(struct transfer_pool *p, const char *uid, int64_t lease,
                   const struct transport_input *in, enum outcome *fail,
                   bool *local, char **cause);

/* More of a finished transfer, borrowed for the call. */
struct transfer_info {
        const struct transport *tp; /* the transport that ran it */
        const char *channel;        /* its channel's name, or NULL */
        const char *body;           /* the response (at most 64 KiB), or NULL */
        size_t len;
};
/* What became of one transfer; the strings are borrowed for the call. */
typedef void transfer_done(void *arg, const char *uid, int64_t lease,
                           enum outcome o, long code, long retry_after,
                           bool local, const char *error,
                           const struct transfer_info *x);
/*
 * Calls done() for each finished transfer, and forgets it; then starts
 * the parked transfers whose sign-in has answered, and calls done() for
 * those whose sign-in failed.
 */
void transfer_reap(struct transfer_pool *p, transfer_done *done, void *arg);
/* How many transfers are under way, parked ones included. */
size_t transfer_active(const struct transfer_pool *p);

/* The end of a request of one's own: `rc` libcurl's result, or
 * CURLE_ABORTED_BY_CALLBACK when the pool is destroyed first. */
typedef void transfer_aside_done(void *arg, CURL *easy, CURLcode rc);
/*
 * Runs `easy`, set up by the caller, beside the deliveries: not counted
 * as one, on a connection of its own that is not kept. done(arg, easy,
 * rc) is called once when it ends, from transfer_reap() or
 * transfer_pool_destroy(); the handle stays the caller's, to clean up
 * then (not before). -1 when it cannot be queued.
 */
int transfer_aside(struct transfer_pool *p, CURL *easy,
                   transfer_aside_done *done, void *arg);

/* The start of a libcurl answer, NUL-terminated; what is past `max`
 * bytes is dropped. */
struct transfer_buf {
        char *p; /* owned; NULL until a byte comes */
        size_t len;
        size_t max;
};
/* The CURLOPT_WRITEFUNCTION that fills the struct transfer_buf given as
 * CURLOPT_WRITEDATA. */
size_t transfer_write(char *data, size_t size, size_t n, void *buf);

/* How many sockets libcurl wants watched now. */
size_t transfer_nwatches(const struct transfer_pool *p);
/* Fills items[0 .. transfer_nwatches()) with them. */
void transfer_poll_items(const struct transfer_pool *p, zmq_pollitem_t *items);
/*
 * After zmq_poll(): tells libcurl what happened on the `n` items filled
 * by transfer_poll_items(), and runs its timeout action when due at
 * `now` (monotonic ms).
 */
void transfer_action(struct transfer_pool *p, const zmq_pollitem_t *items,
                     size_t n, int64_t now);
/* When libcurl wants its timeout action (monotonic ms), or -1. */
int64_t transfer_timer_ms(const struct transfer_pool *p);

/*
 * The config was reloaded: until the multi handle is renewed, no
 * transfer reuses a connection; it is renewed, with `max_host`, at the
 * first transfer_renew_idle() with nothing under way (no transfer, no
 * request aside).
 */
void transfer_reloaded(struct transfer_pool *p, long max_host);
void transfer_renew_idle(struct transfer_pool *p);

#endif
