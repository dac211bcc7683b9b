/* dispatch_watch: the Pushover receipts still to poll, each handed to one
 * worker (dispatch_int.h; docs/dispatch.md, "Pushover receipts"). */
#include "dispatch_int.h"

#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <zmq.h>

_Static_assert(STORE_RECEIPT_LEN == DPROTO_RECEIPT_MAX,
               "the store keeps every receipt the protocol carries");

static struct watch *
watch_find(struct dispatch *d, const char *uid)
{
        for (size_t i = 0; i < d->nwatches; i++) {
                if (strcmp(d->watches[i].uid, uid) == 0)
                        return &d->watches[i];
        }
        return NULL;
}

void
dispatch_watch_held(struct dispatch *d, const char *uid, const char *worker)
{
        struct watch *w = watch_find(d, uid);

        if (w == NULL) {
                d->watches = xreallocarray(d->watches, d->nwatches + 1,
                                           sizeof(*d->watches));
                w = &d->watches[d->nwatches++];
                snprintf(w->uid, sizeof(w->uid), "%s", uid);
        } else {
                free(w->worker);
        }
        w->worker = xstrdup(worker);
}

void
dispatch_watch_changed(struct dispatch *d, const char *worker)
{
        d->watch_due = true;
        for (size_t i = 0; worker != NULL && i < d->nwatches;) {
                if (strcmp(d->watches[i].worker, worker) == 0) {
                        free(d->watches[i].worker);
                        d->watches[i] = d->watches[--d->nwatches];
                } else {
                        i++;
                }
        }
}

void
dispatch_watch_clear(struct dispatch *d)
{
        for (size_t i = 0; i < d->nwatches; i++)
                free(d->watches[i].worker);
        free(d->watches);
        d->watches = NULL;
        d->nwatches = 0;
}

/* A known webhook worker (the kind that delivers pushover channels) by
 * name, or NULL. */
static struct worker *
poller_named(struct dispatch *d, const char *name)
{
        for (size_t i = 0; i < d->nworkers; i++) {
                struct worker *w = &d->workers[i];

                if (!w->gone && w->kind == DPROTO_KIND_WEBHOOK &&
                    strcmp(w->name, name) == 0)
                        return w;
        }
        return NULL;
}

/* The next webhook worker in turn, or NULL when none is connected. */
static struct worker *
poller_next(struct dispatch *d)
{
        for (size_t k = 0; k < d->nworkers; k++) {
                struct worker *w = &d->workers[d->watch_next++ % d->nworkers];

                if (!w->gone && w->kind == DPROTO_KIND_WEBHOOK)
                        return w;
        }
        return NULL;
}

/*
 * Sends receipt `r` to `w`; 0, or -1 when its connection is gone (it is
 * forgotten at the next tick, and the receipt handed out again).
 */
static int
watch_send(struct dispatch *d, struct worker *w, const struct store_receipt *r)
{
        char *text = dproto_watch_encode(&(struct dproto_watch){
            r->uid, r->channel, r->receipt, r->expires_at });
        int rc = dispatch_send_text(d, w, DPROTO_WATCH, text);

        free(text);
        if (rc < 0) {
                w->gone = zmq_errno() == EHOSTUNREACH;
                return -1;
        }
        dispatch_watch_held(d, r->uid, w->name);
        log_info("delivery %s: its receipt handed to worker %s to poll", r->uid,
                 w->name);
        return 0;
}

void
dispatch_watch_tick(struct dispatch *d, struct store *st, int64_t now_ms)
{
        struct store_receipt *rs = NULL;
        struct watch *kept = NULL;
        size_t nkept = 0;
        char *cause = NULL;
        int n, polled = 0, handed = 0;

        if (!d->watch_due || poller_next(d) == NULL)
                return;
        n = store_receipts_outstanding(st, now_ms / 1000, &rs, &cause);
        if (n < 0) {
                dispatch_store_error(st, cause);
                free(cause);
                return;
        }
        d->watch_due = false;
        /* What is no longer outstanding (acknowledged, expired) is
         * forgotten: the watches kept are the rows'. */
        for (int i = 0; i < n; i++) {
                struct watch *w = watch_find(d, rs[i].uid);

                if (w == NULL || poller_named(d, w->worker) == NULL)
                        continue;
                kept = xreallocarray(kept, nkept + 1, sizeof(*kept));
                kept[nkept++] = *w;
                w->worker = NULL;
        }
        dispatch_watch_clear(d);
        d->watches = kept;
        d->nwatches = nkept;
        for (int i = 0; i < n; i++) {
                struct worker *w;

                if (watch_find(d, rs[i].uid) != NULL) {
                        polled++;
                        continue;
                }
                /* The worker that delivered it may poll it still (the
                 * scheduler restarted): it keeps it, once. */
                w = poller_named(d, rs[i].worker);
                if (w == NULL)
                        w = poller_next(d);
                if (w == NULL || watch_send(d, w, &rs[i]) < 0)
                        d->watch_due = true;
                else
                        handed++;
        }
        /* After a worker came or went: rare, and worth a line. */
        log_info("dispatch: %d Pushover receipts to poll: %d polled, %d "
                 "handed out",
                 n, polled, handed);
        free(rs);
}
