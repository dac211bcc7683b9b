/*
 * dispatch: the daemon's side of docs/dispatch.md.
 *
 * Owns the registry of connected workers (kind, credit, last heard) and the
 * ROUTER socket's traffic: READY, OUTCOME, RECEIPT and HEARTBEAT in;
 * JOB, ACK, HEARTBEAT, HELLO, REFUSE and WATCH out, each encoded and
 * decoded by dproto.
 * Deliveries themselves live in the store: a job is leased in a committed
 * transaction before it is sent, and an outcome is committed before it is
 * acknowledged.
 */
#ifndef ONOTIFY_DISPATCH_H
#define ONOTIFY_DISPATCH_H

#include "conf.h"
#include "dproto.h"
#include "store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The longest wait before a delivery held by a problem on our side (a
 * secret file) is tried again: a fixed file is picked up within it. */
#define DISPATCH_LOCAL_MAX_S 300
/* A peer's dropped outcomes are logged at most this often. */
#define DISPATCH_REJECT_LOG_MS 60000
/* Peers without READY whose dropped outcomes are rate-limited apart. */
#define DISPATCH_STRANGERS 32
/*
 * Messages the dispatch socket queues for one worker: JOBs (at most its
 * credit), ACKs (one per outcome, so as many) and heartbeats. Above
 * libzmq's default of 1000, so that a send fails (and the worker is
 * taken for gone) only when the worker has stopped reading, not because
 * it announced a large credit.
 */
#define DISPATCH_SNDHWM (4 * DPROTO_MAX_CREDIT)

struct dispatch;

/*
 * Since start: outcomes recorded, by what became of the delivery (a
 * retry that went over max_attempts or give_up_after is given_up, not
 * failed; a retry for a problem on our side is held), and messages from
 * workers dropped as malformed (outcomes from a peer that may not settle
 * the delivery among them).
 */
struct dispatch_counts {
        unsigned long delivered, retried, failed, given_up, held, malformed;
        /* Of `held`: the email worker could not sign in (email.oauth2),
         * its error starting DPROTO_SIGNIN_ERROR. */
        unsigned long signin_failed;
};

/*
 * What an OUTCOME from `worker` (its name; NULL: a peer that has not said
 * READY) for lease `lease` of delivery `dl` may do (docs/dispatch.md, who
 * may settle a delivery). Pure.
 */
enum dispatch_claim {
        DISPATCH_CLAIM_APPLY,  /* the holder's, of its lease: recorded */
        DISPATCH_CLAIM_REPEAT, /* the holder's again: ACK, nothing changes */
        DISPATCH_CLAIM_LATE,   /* the previous holder's delivered, the
                                  delivery not settled: recorded */
        DISPATCH_CLAIM_STALE,  /* the previous holder's otherwise, or any
                                  worker's for a lease older than the
                                  previous one: ACK, nothing changes */
        DISPATCH_CLAIM_FORGED, /* anyone else's: dropped, never ACKed */
};
enum dispatch_claim dispatch_claim(const struct store_delivery *dl,
                                   const char *worker, int64_t lease,
                                   bool delivered);

/* The socket is borrowed; the caller binds and closes it. */
struct dispatch *dispatch_new(void *sock);
void dispatch_destroy(struct dispatch **dp);

/* Reads and handles every message waiting on the socket. */
void dispatch_read(struct dispatch *d, struct store *st,
                   const struct conf *conf, int64_t now_ms);
/*
 * Heartbeats, silent workers, expired leases, then jobs for every worker
 * with credit. Call on every loop pass.
 */
void dispatch_tick(struct dispatch *d, struct store *st,
                   const struct conf *conf, int64_t now_ms);
/* Milliseconds until dispatch_tick() has something to do. */
int64_t dispatch_timeout(struct dispatch *d, struct store *st, int64_t now_ms);
/*
 * The wall clock stepped by `step_ms`: moves the registry's times (when
 * each worker was last heard, the next heartbeat, each channel's pace) with
 * it, so a step neither silences every worker nor stalls them.
 */
void dispatch_clock_step(struct dispatch *d, int64_t step_ms);

/*
 * After the config (and its CURVE allow-list) changed: refuses and forgets
 * every worker whose key is no longer allowed what it delivers, its
 * deliveries going back to pending. Returns how many.
 */
int dispatch_revoke(struct dispatch *d, struct store *st,
                    const struct conf *conf, int64_t now_ms);

/* {"email": n, "webhook": n}: connected workers by kind. */
json_t *dispatch_json_workers(const struct dispatch *d);
/*
 * [{"worker": name, "kind": k, "since": ms, "expired": n}]: the workers
 * given no jobs because their leases ran out without an outcome; "since"
 * is on the wall clock in ms (the caller writes it as a time).
 */
json_t *dispatch_json_stalled(const struct dispatch *d);
const struct dispatch_counts *dispatch_counts(const struct dispatch *d);
/* The counts as {"delivered": n, "retried": n, "failed": n,
 * "given_up": n, "held": n, "malformed": n, "signin_failed": n}. */
json_t *dispatch_json_counts(const struct dispatch *d);

/*
 * The dead-man's switch: sends the next heartbeat JOB (docs/dispatch.md)
 * to a webhook worker that has credit and is not stalled, at `now_ms`
 * (wall clock). Nothing is stored: it is never sent again. 0, or -1 with
 * *cause (caller frees) when no such worker is connected.
 */
int dispatch_beat(struct dispatch *d, int64_t now_ms, char **cause);
/*
 * The last heartbeat: {"last_sent", "last_delivered" (wall clock ms, 0:
 * never), "error" (what the worker said of the last one when it was not
 * delivered, or null)}.
 */
json_t *dispatch_json_beat(const struct dispatch *d);

/*
 * The wait before retry `attempts` (1 = after the first try): the server's
 * retry_after (seconds, >= 0) clamped to 1 s .. 1 h when given, else base x
 * 2^(attempts-1), at most 1 h, times a jitter factor in [0.8, 1.2] drawn
 * from `u` (uniform in [0, 1)). Pure.
 */
/*
 * The least gap between two deliveries to one channel of `type`, in ms
 * (the service's documented rate limit), or 0 for none. Pure.
 */
int64_t dispatch_pace_ms(const char *type);

int64_t dispatch_backoff(int attempts, long retry_after, int base, double u);

#endif
