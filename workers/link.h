/*
 * link: the worker's side of the dispatch protocol (docs/dispatch.md).
 *
 * Owns the DEALER socket to the scheduler and, over tcp://, the CURVE
 * handshake monitor: a refused handshake is logged once and dialled again
 * from 2 s doubling to a minute. Sends READY and a HEARTBEAT every
 * DPROTO_HEARTBEAT_MS with the credit the caller says is left; keeps each
 * OUTCOME and RECEIPT and sends it again every DPROTO_RESEND_MS until the
 * scheduler acknowledges it; says READY again after DPROTO_SILENCE_MS without a
 * word. Messages are decoded here (common/dproto.h) and handed to the
 * caller's handler table; ACK and HEARTBEAT are handled here.
 */
#ifndef ONOTIFY_LINK_H
#define ONOTIFY_LINK_H

#include "conf.h"
#include "dproto.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

struct link;

/* What the caller does with one message type; `arg` is link_read()'s. */
typedef void link_handler(void *arg, const struct dproto_msg *m);

/*
 * Connects a worker of kind `kind` ("webhook", "email"; borrowed) with
 * `credit` jobs at most to conf's dispatch endpoint, with CURVE over
 * tcp://; the caller sends READY. NULL with *cause (caller frees) and *status
 * the exit status: CONF_EXIT for a CURVE setting that cannot work, 1 for
 * anything else. conf is used only during the call.
 */
struct link *link_new(const struct conf *conf, const char *kind, int credit,
                      char **cause, int *status);
/* Closes the sockets and drops unacknowledged messages; accepts NULL. */
void link_destroy(struct link **lp);

/* The endpoint, as resolved ("ipc:///run/...", "tcp://..."); borrowed. */
const char *link_endpoint(const struct link *l);
/* This worker's routing id, "kind/host/pid/random"; borrowed. */
const char *link_id(const struct link *l);

/* Fills items[] (room for 2) with what to poll; returns how many. */
int link_poll_items(const struct link *l, zmq_pollitem_t *items);
/*
 * Reads every message waiting, without blocking, and every handshake
 * event. handlers[type] is called for a well-formed message of that type
 * (NULL: "unknown message type", logged and dropped); ACK and HEARTBEAT
 * never reach it. A malformed message is logged and dropped.
 */
void link_read(struct link *l, link_handler *const handlers[DPROTO_NTYPES],
               void *arg);

/* Sends READY with `credit` jobs wanted. */
void link_ready(struct link *l, int credit);
/* Sends an outcome now and keeps it, to send again until acknowledged. */
void link_outcome(struct link *l, const struct dproto_outcome *o, int64_t now);
/* Sends a RECEIPT now and keeps it, to send again until acknowledged. */
void link_receipt(struct link *l, const struct dproto_receipt *r, int64_t now);
/* How many outcomes and receipts await the scheduler's ACK. */
size_t link_unacked(const struct link *l);

/*
 * The timed work due at `now` (monotonic ms): a heartbeat offering
 * `credit`, outcomes and receipts to repeat, a dial after a refused handshake,
 * READY after a silence.
 */
void link_timers(struct link *l, int64_t now, int credit);
/* When link_timers() next has work to do (monotonic ms). */
int64_t link_next_ms(const struct link *l);

#endif
