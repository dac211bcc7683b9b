/* dispatch_outcome: who may settle a delivery, and what an outcome
 * commits (dispatch_int.h). */
#include "dispatch_int.h"

#include "log.h"
#include "sched.h"
#include "store.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t
dispatch_backoff(int attempts, long retry_after, int first, double u)
{
        int64_t base = first;

        if (retry_after >= 0)
                return retry_after < 1      ? 1
                       : retry_after > 3600 ? 3600
                                            : retry_after;
        for (int i = 1; i < attempts && base < 3600; i++)
                base *= 2;
        if (base > 3600)
                base = 3600;
        return (int64_t)((double)base * (0.8 + 0.4 * u) + 0.5);
}

enum dispatch_claim
dispatch_claim(const struct store_delivery *dl, const char *worker,
               int64_t lease, bool delivered)
{
        bool settled = names_delivery_settled(dl->status);

        if (worker == NULL || worker[0] == '\0')
                return DISPATCH_CLAIM_FORGED;
        if (strcmp(worker, dl->worker) == 0 && lease == dl->lease)
                return dl->status == DELIVERY_SENDING ? DISPATCH_CLAIM_APPLY
                                                      : DISPATCH_CLAIM_REPEAT;
        if (strcmp(worker, dl->prev_worker) == 0 && lease == dl->prev_lease)
                return delivered && !settled ? DISPATCH_CLAIM_LATE
                                             : DISPATCH_CLAIM_STALE;
        /* An older lease of this delivery, whose holder is no longer known:
         * changes nothing, but the worker must be told to stop repeating. */
        if (lease >= 0 && lease < dl->lease &&
            (dl->prev_lease < 0 || lease < dl->prev_lease))
                return DISPATCH_CLAIM_STALE;
        return DISPATCH_CLAIM_FORGED;
}

void
dispatch_reject(struct dispatch *d, struct worker *w, const void *id,
                size_t idlen, int64_t now_ms, const char *what, const char *why)
{
        struct stranger *s = NULL;
        int64_t *log_ms;
        unsigned long *dropped;
        char *name;

        d->counts.malformed++;
        if (w != NULL) {
                log_ms = &w->reject_log_ms;
                dropped = &w->rejected;
        } else {
                size_t oldest = 0;

                if (idlen > sizeof(s->id))
                        idlen = sizeof(s->id);
                for (size_t i = 0; i < DISPATCH_STRANGERS && s == NULL; i++) {
                        if (d->strangers[i].idlen == idlen &&
                            memcmp(d->strangers[i].id, id, idlen) == 0)
                                s = &d->strangers[i];
                        else if (d->strangers[i].log_ms <
                                 d->strangers[oldest].log_ms)
                                oldest = i;
                }
                if (s == NULL) {
                        s = &d->strangers[oldest];
                        memcpy(s->id, id, idlen);
                        s->idlen = idlen;
                        s->log_ms = 0;
                        s->rejected = 0;
                }
                log_ms = &s->log_ms;
                dropped = &s->rejected;
        }
        if (*log_ms != 0 && now_ms - *log_ms < DISPATCH_REJECT_LOG_MS) {
                (*dropped)++;
                return;
        }
        name = dispatch_printable(id, idlen);
        if (*dropped > 0)
                log_warnx("dispatch: %s from %s dropped: %s (and %lu "
                          "more of its messages since the last report)",
                          what, name, why, *dropped);
        else
                log_warnx("dispatch: %s from %s dropped: %s", what, name, why);
        free(name);
        *log_ms = now_ms == 0 ? 1 : now_ms;
        *dropped = 0;
}

/*
 * A channel whose deliveries a problem on our side holds (a secret file):
 * logged at error once, when the first of them is held, and at info when
 * one of its deliveries gets a receiver's answer again.
 */
static void
hold_channel(struct dispatch *d, const char *uid,
             const struct store_delivery *dl, const char *error)
{
        for (size_t i = 0; i < d->nheld; i++) {
                if (strcmp(d->held[i].channel, dl->channel) == 0) {
                        log_debug("delivery %s to '%s' still held: %s", uid,
                                  dl->channel, error);
                        return;
                }
        }
        d->held = xreallocarray(d->held, d->nheld + 1, sizeof(*d->held));
        snprintf(d->held[d->nheld++].channel, sizeof(d->held[0].channel), "%s",
                 dl->channel);
        log_err("deliveries to '%s' (%s) held by a problem on this side: %s; "
                "tried again every few minutes, and at once after a reload",
                dl->channel, dl->type, error);
}

static void
unhold_channel(struct dispatch *d, const char *channel)
{
        for (size_t i = 0; i < d->nheld; i++) {
                if (strcmp(d->held[i].channel, channel) == 0) {
                        log_info("deliveries to '%s' are no longer held",
                                 channel);
                        d->held[i] = d->held[--d->nheld];
                        return;
                }
        }
}

/*
 * Commits an outcome from `w` (NULL: a peer that has not said READY) when
 * docs/dispatch.md lets it settle the delivery.
 */
enum applied
dispatch_apply_outcome(struct dispatch *d, struct store *st,
                       const struct conf *conf, struct worker *w,
                       const void *id, size_t idlen,
                       const struct dproto_outcome *out, int64_t now_ms)
{
        int64_t now = now_ms / 1000, wait;
        const char *uid = out->delivery, *error = out->error;
        const char *result = dproto_result_names[out->result];
        struct store_outcome o = {
                DELIVERY_PENDING, 0, error, true, false, NULL, 0
        };
        struct store_delivery dl;
        enum dispatch_claim claim;
        char *cause = NULL, *why = NULL;
        int rc;

        rc = store_delivery_find(st, uid, &dl, &cause);
        if (rc < 0) {
                dispatch_store_error(st, cause);
                free(cause);
                return APPLIED_DROP;
        }
        if (rc > 0) {
                dispatch_reject(d, w, id, idlen, now_ms, "outcome",
                                "no such delivery");
                return APPLIED_DROP;
        }
        claim = dispatch_claim(&dl, w != NULL ? w->name : NULL, out->lease,
                               out->result == DPROTO_DELIVERED);
        switch (claim) {
        case DISPATCH_CLAIM_FORGED:
                dispatch_reject(d, w, id, idlen, now_ms, "outcome",
                                w == NULL ? "it has not said READY"
                                          : "it does not hold that lease");
                return APPLIED_DROP;
        case DISPATCH_CLAIM_REPEAT:
                /* Already recorded: the ACK was on its way. */
                return APPLIED_ACK;
        case DISPATCH_CLAIM_STALE:
                log_info("dispatch: stale %s outcome for %s (lease %lld, now "
                         "%lld), ignoring",
                         result, uid, (long long)out->lease,
                         (long long)dl.lease);
                return APPLIED_FIRST;
        case DISPATCH_CLAIM_LATE:
        case DISPATCH_CLAIM_APPLY:
                break;
        }
        if (out->result == DPROTO_DELIVERED) {
                o.status = DELIVERY_DELIVERED;
                o.error = NULL;
                d->counts.delivered++;
                /* An emergency's receipt, kept to be polled by another
                 * worker should this one go; only a Pushover one. */
                if (out->receipt != NULL && strcmp(dl.type, "pushover") == 0) {
                        o.receipt = out->receipt;
                        o.receipt_expires = out->receipt_expires;
                }
        } else if (out->result == DPROTO_FAILED) {
                o.status = DELIVERY_FAILED;
                d->counts.failed++;
                log_err("delivery %s to '%s' (%s) failed for good: %s", uid,
                        dl.channel, dl.type, error ? error : "?");
        } else if (out->local) {
                /* Not the receiver's answer: never given up for it. */
                o.status = DELIVERY_RETRY;
                o.verdict = false;
                o.local = true;
                wait =
                    dispatch_backoff(dl.held + 1, -1, conf->delivery.retry_base,
                                     erand48(d->rand));
                if (wait > DISPATCH_LOCAL_MAX_S)
                        wait = DISPATCH_LOCAL_MAX_S;
                o.next_at = (now_ms + 999) / 1000 + wait;
                d->counts.held++;
                if (error != NULL && strncmp(error, DPROTO_SIGNIN_ERROR,
                                             strlen(DPROTO_SIGNIN_ERROR)) == 0)
                        d->counts.signin_failed++;
                hold_channel(d, uid, &dl, error ? error : "?");
        } else if (dl.attempts + 1 >= conf->delivery.max_attempts ||
                   now - dl.fired_at >= conf->delivery.give_up_after) {
                xasprintf(&why, "given up after %d attempts: %s",
                          dl.attempts + 1, error ? error : "?");
                o.status = DELIVERY_FAILED;
                o.error = why;
                d->counts.given_up++;
                log_err("delivery %s to '%s' (%s) %s", uid, dl.channel, dl.type,
                        why);
        } else {
                o.status = DELIVERY_RETRY;
                wait = dispatch_backoff(dl.attempts + 1, out->retry_after,
                                        conf->delivery.retry_base,
                                        erand48(d->rand));
                /* From the next whole second: counted from `now`,
                 * truncated, a server's Retry-After would end up to a
                 * second early. */
                o.next_at = (now_ms + 999) / 1000 + wait;
                d->counts.retried++;
                log_info("delivery %s to '%s': %s; retry %d in %lld s", uid,
                         dl.channel, error ? error : "?", dl.attempts + 2,
                         (long long)wait);
        }
        if (!o.local)
                unhold_channel(d, dl.channel);
        rc = store_delivery_finish(st, dl.id, &o, now, &cause);
        if (rc < 0) {
                dispatch_store_error(st, cause);
                free(cause);
        } else if (o.status == DELIVERY_DELIVERED) {
                /* The worker that delivered it polls its receipt. */
                if (o.receipt != NULL)
                        dispatch_watch_held(d, uid, w->name);
                log_info("delivery %s to '%s' (%s) delivered%s", uid,
                         dl.channel, dl.type,
                         claim == DISPATCH_CLAIM_LATE
                             ? " (by the previous holder of its lease)"
                             : "");
        }
        free(why);
        return rc < 0 ? APPLIED_DROP : APPLIED_FIRST;
}

/* A Pushover user key: letters and digits only (docs/dispatch.md). */
static bool
is_user_key(const char *s)
{
        return s[0] != '\0' &&
               strspn(s, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == strlen(s);
}

/*
 * The acknowledgement and its audit entry, whole or not at all, inside
 * the batch's transaction: 0 (recorded, or there before: *fresh says), 1
 * when the case has no alert of that rule, -1 (nothing written).
 */
static int
ack_receipt(struct store *st, const struct conf *conf,
            const struct store_delivery_case *dc, const char *actor, int64_t at,
            int64_t now, bool *fresh, char **cause)
{
        struct store_ack a = { 0 };
        struct store_audit au = { now,     actor,       "daemon", "ack",
                                  dc->urn, dc->case_id, dc->rule };
        int rc;

        *fresh = false;
        if (store_savepoint(st, cause) < 0)
                return -1;
        rc = sched_ack_within(
            st, conf, &(struct sched_ack){ dc->case_id, dc->rule, actor, NULL },
            at, &a, cause);
        if (rc == 0 && a.fresh && store_audit_add(st, &au, cause) < 0)
                rc = -1;
        if (rc == 0 && store_release(st, cause) < 0)
                rc = -1;
        if (rc != 0)
                store_rollback_to(st);
        else if (a.fresh)
                log_info("acknowledged %s for %s (case %lld) by '%s' at "
                         "Pushover: %d alerts cancelled",
                         dc->rule, dc->urn, (long long)dc->case_id, actor,
                         a.cancelled);
        *fresh = rc == 0 && a.fresh;
        store_ack_clear(&a);
        return rc;
}

bool
dispatch_apply_receipt(struct dispatch *d, struct store *st,
                       const struct conf *conf, struct worker *w,
                       const void *id, size_t idlen,
                       const struct dproto_receipt *r, int64_t now_ms)
{
        struct store_delivery_case dc;
        char actor[sizeof("pushover:") + DPROTO_MAX_ACKED_BY];
        char *cause = NULL;
        int64_t now = now_ms / 1000, at = r->acknowledged_at;
        bool fresh;
        int rc;

        if (w == NULL) {
                /* Told HELLO: it sends the receipt again after READY. */
                dispatch_reject(d, w, id, idlen, now_ms, "receipt",
                                "it has not said READY");
                return false;
        }
        /* What can never be recorded is acknowledged, so that the worker
         * stops repeating it, and logged. */
        if (!is_user_key(r->acknowledged_by)) {
                dispatch_reject(d, w, id, idlen, now_ms, "receipt",
                                "'acknowledged_by' is not a Pushover user key");
                return true;
        }
        rc = store_delivery_case(st, r->delivery, &dc, &cause);
        if (rc < 0) {
                dispatch_store_error(st, cause);
                free(cause);
                return false;
        }
        if (rc > 0 || strcmp(dc.type, "pushover") != 0) {
                dispatch_reject(d, w, id, idlen, now_ms, "receipt",
                                rc > 0 ? "no such delivery"
                                       : "not a Pushover delivery");
                return true;
        }
        /* Pushover's time, but never ahead of ours (a skewed clock). */
        if (at > now)
                at = now;
        snprintf(actor, sizeof(actor), "pushover:%s", r->acknowledged_by);
        rc = ack_receipt(st, conf, &dc, actor, at, now, &fresh, &cause);
        if (rc < 0) {
                /* Not acknowledged: the worker sends it again. */
                log_warnx("delivery %s acknowledged by '%s' at Pushover, not "
                          "recorded yet: %s",
                          r->delivery, actor, cause);
                free(cause);
                return false;
        }
        if (rc > 0)
                log_warnx("delivery %s acknowledged by '%s' at Pushover, not "
                          "recorded: its case has no alert of that rule",
                          r->delivery, actor);
        /* !fresh: acknowledged before, its first who stays. */
        return true;
}
