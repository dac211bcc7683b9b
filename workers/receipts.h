/*
 * receipts: the Pushover emergencies this worker polls until someone
 * acknowledges them (docs/dispatch.md, "Pushover receipts").
 *
 * Each delivered emergency's receipt is kept with its delivery, its
 * channel and when to poll it next: those this worker delivered, and
 * those the scheduler hands it (WATCH) when the worker that delivered them
 * went, for the scheduler keeps every receipt with its delivery. What a
 * poll's answer means is decided here
 * (receipts_polled(), no I/O); the worker runs the polls in its transfer
 * pool (transport_receipt()) and sends the RECEIPT.
 */
#ifndef ONOTIFY_RECEIPTS_H
#define ONOTIFY_RECEIPTS_H

#include "backend_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pushover asks for no more than one poll of a receipt every 5 s. */
#define RECEIPTS_POLL_MS 5000

struct receipt {
        char *uid;     /* the delivery */
        char *channel; /* its channel's name */
        char id[PUSHOVER_RECEIPT_MAX + 1];
        int64_t next_ms;    /* monotonic: its next poll */
        int64_t expires_at; /* wall clock: given up after */
        bool polling;       /* a poll is under way */
};

struct receipts {
        struct receipt *v;
        size_t n;
};

/* Keeps receipt `id` of delivery `uid` on `channel`, first polled
 * RECEIPTS_POLL_MS after `now_ms`, given up after `expires_at`. */
void receipts_add(struct receipts *rs, const char *uid, const char *channel,
                  const char *id, int64_t expires_at, int64_t now_ms);
/* The receipt of delivery `uid`, or NULL. */
struct receipt *receipts_find(struct receipts *rs, const char *uid);
/* Forgets r (from receipts_find() or rs->v). */
void receipts_drop(struct receipts *rs, struct receipt *r);
/* When the next poll is due (monotonic ms), or -1 when none waits. */
int64_t receipts_next_ms(const struct receipts *rs);
/* Forgets them all. */
void receipts_clear(struct receipts *rs);

enum receipt_step {
        RECEIPT_WAIT,  /* not yet: polled again at r->next_ms */
        RECEIPT_ACKED, /* acknowledged: *out says by whom and when */
        RECEIPT_DROP   /* expired, or no longer Pushover's: *why says */
};
/*
 * What a poll's answer means: `o` the answer's outcome as a Pushover
 * answer, `retry_after` its Retry-After (-1: none), `body` the reply; at
 * `now` (wall) and `now_ms` (monotonic). Sets r->next_ms for WAIT; *why
 * (caller frees) for DROP.
 */
enum receipt_step receipts_polled(struct receipt *r, enum outcome o,
                                  long retry_after, const char *body,
                                  size_t len, int64_t now, int64_t now_ms,
                                  struct pushover_receipt *out, char **why);

#endif
