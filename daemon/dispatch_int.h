/*
 * dispatch_int: what the files of the dispatch module share, private to
 * daemon/. dispatch.c holds the registry of workers and the messages they
 * send (READY, OUTCOME, HEARTBEAT) and what goes back; dispatch_outcome.c
 * decides who may settle a delivery and commits what an outcome says;
 * dispatch_jobs.c leases ready deliveries to workers with credit, paced
 * per channel, and runs the timers (heartbeats, silence, leases);
 * dispatch_watch.c hands the Pushover receipts still to poll to workers.
 * Everyone else uses dispatch.h.
 */
#ifndef ONOTIFY_DISPATCH_INT_H
#define ONOTIFY_DISPATCH_INT_H

#include "dispatch.h"
#include "dproto.h"
#include "names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker {
        char *id; /* the routing id: binary, idlen bytes */
        size_t idlen;
        char *name; /* the id as printable text, for logs and the store */
        char *key;  /* its CURVE public key over tcp://, else NULL */
        enum dproto_kind kind;
        int credit;
        int64_t last_ms;
        bool gone; /* a send found its connection closed */
        /* Leases of its ran out without an outcome: no jobs until it
         * reports one. */
        bool stalled;
        int64_t stalled_ms;     /* since when */
        int expired;            /* leases that ran out meanwhile */
        int64_t reject_log_ms;  /* its last dropped outcome logged */
        unsigned long rejected; /* dropped since, not logged */
};

/* A peer that sent outcomes without READY, for reject()'s rate limit. */
struct stranger {
        unsigned char id[255];
        size_t idlen;
        int64_t log_ms;
        unsigned long rejected;
};

/* A channel held by a problem on our side (logged once). */
struct held {
        char channel[NAMES_CHANNEL_LEN + 1];
};

/* When a channel may next be sent to: pacing per destination. A channel
 * whose time has passed is as good as absent. `waiting`: a delivery of
 * its was held back for it, so the ready query leaves it out till then. */
struct pace {
        char channel[NAMES_CHANNEL_LEN + 1]; /* "": an empty slot */
        int64_t next_ms;
        bool waiting;
};

/* The dead-man's switch's last heartbeat (dispatch_beat.c). */
struct beat {
        int64_t seq;          /* the last one sent: its lease; 0: none */
        int64_t sent_ms;      /* wall clock; 0: never */
        int64_t delivered_ms; /* its last one delivered; 0: never */
        bool settled;         /* the last one's outcome came */
        bool failing;         /* the last outcome was not delivered */
        char error[160];      /* what the worker said then */
};

/* A receipt handed to a worker to poll (dispatch_watch.c): who has it. */
struct watch {
        char uid[STORE_UID_LEN + 1];
        char *worker; /* its name */
};

struct dispatch {
        void *sock;
        struct worker *workers;
        size_t nworkers;
        struct pace *paces; /* by channel name, open addressing */
        size_t npaces;      /* its slots: 0 or a power of two */
        size_t paces_used;  /* slots with a channel */
        size_t *waiting;    /* the slots whose channel is waiting */
        size_t nwaiting;
        int64_t pace_wake_ms; /* the soonest paced delivery, or 0 */
        int64_t heartbeat_ms;
        struct dispatch_counts counts;
        struct stranger strangers[DISPATCH_STRANGERS];
        struct held *held;
        size_t nheld;
        unsigned short rand[3];
        struct beat beat;
        struct watch *watches; /* the receipts the workers poll */
        size_t nwatches;
        size_t watch_next; /* the worker the next receipt goes to */
        /* Receipts may be outstanding that no worker polls: at start, and
         * after a worker came or went. */
        bool watch_due;
};

/* Outcome of dispatch_apply_outcome(). */
enum applied {
        APPLIED_DROP, /* malformed, forged or not committed: no ACK */
        APPLIED_ACK,  /* recorded (or nothing to record): ACK */
        APPLIED_FIRST /* as ACK, and the worker reported a lease's outcome */
};

/* A routing id as text (printable bytes, others as \xNN); caller frees. */
char *dispatch_printable(const void *id, size_t len);
/* Logs a store failure (its fault is the daemon's to report). */
void dispatch_store_error(struct store *st, const char *cause);
/* Sends [type][text] to `w`; -1 when its connection is gone. */
int dispatch_send_text(struct dispatch *d, const struct worker *w,
                       enum dproto_type type, const char *text);
/* Forgets `w`, giving its leases back (`why` is for the log). */
void dispatch_forget_worker(struct dispatch *d, struct store *st,
                            struct worker *w, int64_t now_ms, const char *why);
/*
 * A peer whose message was dropped (not the holder, another lease, an
 * unknown delivery): counted as malformed, and logged ("WHAT from PEER
 * dropped: WHY") at most once a minute per peer, with how many were
 * dropped meanwhile, so that a flood does not flood the log. `w` is NULL
 * for a peer that has not said READY.
 */
void dispatch_reject(struct dispatch *d, struct worker *w, const void *id,
                     size_t idlen, int64_t now_ms, const char *what,
                     const char *why);
/* Commits an outcome from `w` when docs/dispatch.md lets it settle. */
enum applied dispatch_apply_outcome(struct dispatch *d, struct store *st,
                                    const struct conf *conf, struct worker *w,
                                    const void *id, size_t idlen,
                                    const struct dproto_outcome *out,
                                    int64_t now_ms);

/*
 * A RECEIPT from `w` (NULL: a peer without READY, dropped): the delivery's
 * case and rule acknowledged as pushover:USER at the service's time (not
 * after now), idempotent, with an audit entry (source "daemon") when it
 * is the first, both under one savepoint of the batch's transaction.
 * Needs no lease: the delivery was settled before. Returns whether to ACK
 * it: true once recorded (or there before), and for a receipt that can
 * never be (logged); false when the store failed or `w` is NULL.
 */
bool dispatch_apply_receipt(struct dispatch *d, struct store *st,
                            const struct conf *conf, struct worker *w,
                            const void *id, size_t idlen,
                            const struct dproto_receipt *r, int64_t now_ms);

/*
 * An OUTCOME of the heartbeat's from `w` (NULL: a peer without READY,
 * dropped): noted when it is the last one sent, acknowledged whatever it
 * says; APPLIED_FIRST the first time the last one's outcome comes
 * (dispatch_beat.c).
 */
enum applied dispatch_beat_outcome(struct dispatch *d, const struct worker *w,
                                   const struct dproto_outcome *out,
                                   int64_t now_ms);

/*
 * Receipts (dispatch_watch.c, docs/dispatch.md "Pushover receipts"):
 * worker `worker` polls delivery `uid`'s receipt (its own delivery's);
 * a worker came (`worker` NULL) or went: the receipts it polled go to
 * another at the next dispatch_watch_tick(); which hands each receipt
 * outstanding that no known worker polls to a webhook worker, WATCH.
 */
void dispatch_watch_held(struct dispatch *d, const char *uid,
                         const char *worker);
void dispatch_watch_changed(struct dispatch *d, const char *worker);
void dispatch_watch_tick(struct dispatch *d, struct store *st, int64_t now_ms);
void dispatch_watch_clear(struct dispatch *d);

#endif
