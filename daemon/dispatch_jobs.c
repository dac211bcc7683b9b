/* dispatch_jobs: leasing ready deliveries to workers with credit, paced
 * per channel, and the timers (dispatch_int.h). */
#include "dispatch_int.h"

#include "log.h"
#include "sched.h"
#include "token.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <zmq.h>

#define BATCH 256

/* A one-click link works until a day after its deadline. */
#define LINK_VALID_AFTER 86400

/*
 * A new one-click link for job `job` (inside the lease's transaction), as
 * the URL the alert carries: web.base_url + "/a/" + a random token whose
 * hash is kept, bound to the case, the rule and the channel, valid until a
 * day after the deadline. NULL when links are off (no web.base_url), for a
 * test alert, or on an error (*cause set). A channel check's link is the
 * person's confirmation that the channel reaches them (channel_health).
 */
static char *
job_link(struct store *st, const struct conf *conf, const struct store_job *job,
         int64_t now, char **cause)
{
        const struct store_alert *a = &job->alert.a;
        unsigned char hash[TOKEN_HASH_LEN];
        char token[TOKEN_LEN + 1], *url;
        struct store_link l = { 0 };

        if (conf->web.base_url == NULL || conf->web.base_url[0] == '\0' ||
            strcmp(a->rule, STORE_TEST_RULE) == 0)
                return NULL;
        if (token_make(token) < 0) {
                xasprintf(cause, "link: libsodium cannot start");
                return NULL;
        }
        token_hash(token, hash);
        l.case_id = a->case_id;
        snprintf(l.rule, sizeof(l.rule), "%s", a->rule);
        snprintf(l.channel, sizeof(l.channel), "%s", job->channel);
        l.expires = a->due + LINK_VALID_AFTER;
        if (store_link_add(st, hash, &l, now, cause) < 0)
                return NULL;
        xasprintf(&url, "%s/a/%s", conf->web.base_url, token);
        return url;
}

/*
 * The JOB body of delivery `r` as text (caller frees), NULL on a store
 * error (reported): the store's rows, told as sched_alert() and
 * alert_encode_text() tell every alert, in dproto's envelope.
 */
static char *
job_text(struct store *st, const struct conf *conf, const struct store_ready *r,
         int64_t now)
{
        struct store_job row, *job = &row;
        struct store_message m;
        struct alert told;
        char *cause = NULL, *alert_text, *text, *url = NULL;
        json_t *message = NULL;
        int rc;

        if (store_job_read(st, r->id, job, &cause) < 0) {
                dispatch_store_error(st, cause);
                free(cause);
                return NULL;
        }
        /* A one-off email (a sign-in link) carries its own message; an
         * alert, its one-click link. */
        rc = store_message_read(st, r->id, &m, &cause);
        if (rc == 0)
                url = job_link(st, conf, job, now, &cause);
        if (rc < 0 || cause != NULL) {
                dispatch_store_error(st, cause);
                free(cause);
                store_alert_row_clear(&job->alert);
                return NULL;
        }
        if (rc == 1) {
                message = json_pack("{s:s, s:s, s:s}", "to", m.rcpt, "subject",
                                    m.subject, "text", m.body);
                store_message_clear(&m);
        }
        sched_alert(conf, &job->alert, &told);
        told.ack_url = url;
        alert_text = alert_encode_text(&told, conf->tz);
        text = dproto_job_encode(&(struct dproto_job){ .delivery = job->uid,
                                                       .lease = job->lease,
                                                       .attempt = job->attempt,
                                                       .channel = job->channel,
                                                       .type = job->type,
                                                       .message = message },
                                 alert_text);
        free(alert_text);
        free(url);
        json_decref(message);
        store_alert_row_clear(&job->alert);
        return text;
}

int64_t
dispatch_pace_ms(const char *type)
{
        /* The documented limits: Slack about 1 a second per webhook, Teams
         * 4 a second, Google Chat 60 a minute per space, Discord 5 per 2
         * seconds per webhook. Others are not limited here. */
        static const struct {
                const char *type;
                int64_t ms;
        } paces[] = {
                { "slack", 1000 },
                { "teams", 250 },
                { "google_chat", 1000 },
                { "discord", 400 },
                /* An sms channel is one number (conf_phone.c): this paces
                 * each number, one message a second, as gateways send
                 * from one long code. */
                { "sms", 1000 },
        };

        for (size_t i = 0; i < sizeof(paces) / sizeof(paces[0]); i++) {
                if (strcmp(type, paces[i].type) == 0)
                        return paces[i].ms;
        }
        return 0;
}

/*
 * Whether a delivery to `r`'s channel may go now; if so its channel's next
 * slot is booked. Otherwise it waits, pending, and the loop wakes for it.
 */
static bool
pace_ok(struct dispatch *d, const struct store_ready *r, int64_t now_ms)
{
        int64_t gap = dispatch_pace_ms(r->type);
        struct pace *p = NULL;

        if (gap == 0)
                return true;
        for (size_t i = 0; i < d->npaces && p == NULL; i++) {
                if (strcmp(d->paces[i].channel, r->channel) == 0)
                        p = &d->paces[i];
        }
        if (p == NULL) {
                d->paces =
                    xreallocarray(d->paces, d->npaces + 1, sizeof(*d->paces));
                p = &d->paces[d->npaces++];
                snprintf(p->channel, sizeof(p->channel), "%s", r->channel);
                p->next_ms = 0;
        }
        if (now_ms < p->next_ms) {
                if (d->pace_wake_ms == 0 || p->next_ms < d->pace_wake_ms)
                        d->pace_wake_ms = p->next_ms;
                return false;
        }
        p->next_ms = now_ms + gap;
        return true;
}

/*
 * Leases jobs for `w` while it has credit and work is ready, all in one
 * transaction, then sends them: one commit for a batch of jobs. A job is
 * sent only once its lease is committed.
 */
static void
feed_worker(struct dispatch *d, struct store *st, const struct conf *conf,
            struct worker *w, int64_t now_ms)
{
        struct store_ready ready[BATCH];
        char *jobs[BATCH];
        int64_t now = now_ms / 1000;
        json_t *paced;
        char *cause = NULL, *skip;
        int n, njobs = 0;

        if (w->credit <= 0 || w->stalled)
                return;
        /* Channels waiting for their next slot are left out of the query,
         * so one busy channel cannot hold up the others; the loop wakes
         * when the first of them may go again. */
        paced = json_array();
        for (size_t i = 0; i < d->npaces; i++) {
                if (now_ms >= d->paces[i].next_ms)
                        continue;
                json_array_append_new(paced, json_string(d->paces[i].channel));
                if (d->pace_wake_ms == 0 ||
                    d->paces[i].next_ms < d->pace_wake_ms)
                        d->pace_wake_ms = d->paces[i].next_ms;
        }
        skip = json_array_size(paced) > 0 ? json_dumps(paced, JSON_COMPACT)
                                          : NULL; /* none: "[]" */
        json_decref(paced);
        n = store_deliveries_ready(st, w->kind == DPROTO_KIND_EMAIL, now, skip,
                                   ready, w->credit < BATCH ? w->credit : BATCH,
                                   &cause);
        free(skip);
        if (n <= 0 || store_begin(st, &cause) < 0)
                goto out;
        for (int i = 0; i < n; i++) {
                char *job;

                if (!pace_ok(d, &ready[i], now_ms))
                        continue;
                if (store_delivery_lease(st, &ready[i], w->name,
                                         now + conf->delivery.lease, now,
                                         &cause) < 0)
                        break; /* a store error: try next tick */
                job = job_text(st, conf, &ready[i], now);
                if (job == NULL)
                        continue; /* the lease will expire */
                jobs[njobs++] = job;
        }
        if (cause != NULL || store_commit(st, &cause) < 0) {
                store_rollback(st);
                goto out;
        }
        for (int i = 0; i < njobs; i++) {
                if (dispatch_send_text(d, w, DPROTO_JOB, jobs[i]) < 0) {
                        /* Gone: give its leases back now, not when they
                         * run out, and forget it at the next tick. */
                        w->gone = zmq_errno() == EHOSTUNREACH;
                        store_deliveries_release(st, w->name, now, &cause);
                        w->credit = 0;
                        w->last_ms = 0;
                        break;
                }
                w->credit--;
        }
out:
        for (int i = 0; i < njobs; i++)
                free(jobs[i]);
        if (cause != NULL) {
                dispatch_store_error(st, cause);
                free(cause);
        }
}

/* store_deliveries_expire()'s callback: a lease of `name` ran out. */
static void
lease_expired(const char *name, void *arg)
{
        struct dispatch *d = arg;

        for (size_t i = 0; i < d->nworkers; i++) {
                if (name != NULL && strcmp(d->workers[i].name, name) == 0) {
                        d->workers[i].expired++;
                        return;
                }
        }
}

void
dispatch_tick(struct dispatch *d, struct store *st, const struct conf *conf,
              int64_t now_ms)
{
        char *cause = NULL;
        int n;

        if (now_ms >= d->heartbeat_ms) {
                char *beat =
                    dproto_heartbeat_encode(&(struct dproto_heartbeat){ -1 });

                /* A worker whose connection has closed (killed, say) is
                 * unreachable at once: its deliveries need not wait for
                 * its silence. */
                for (size_t i = 0; i < d->nworkers;) {
                        if (dispatch_send_text(d, &d->workers[i],
                                               DPROTO_HEARTBEAT, beat) < 0 &&
                            zmq_errno() == EHOSTUNREACH)
                                dispatch_forget_worker(
                                    d, st, &d->workers[i], now_ms,
                                    "is gone (its connection "
                                    "closed)");
                        else
                                i++;
                }
                free(beat);
                d->heartbeat_ms = now_ms + DPROTO_HEARTBEAT_MS;
        }
        for (size_t i = 0; i < d->nworkers;) {
                if (d->workers[i].gone)
                        dispatch_forget_worker(
                            d, st, &d->workers[i], now_ms,
                            "is gone (its connection closed)");
                else if (now_ms - d->workers[i].last_ms > DPROTO_SILENCE_MS)
                        dispatch_forget_worker(d, st, &d->workers[i], now_ms,
                                               "went silent");
                else
                        i++;
        }
        n = store_deliveries_expire(st, now_ms / 1000, lease_expired, d,
                                    &cause);
        if (n < 0)
                dispatch_store_error(st, cause);
        else if (n > 0)
                log_warnx("dispatch: %d leases expired: back to pending", n);
        free(cause);
        for (size_t i = 0; i < d->nworkers; i++) {
                struct worker *w = &d->workers[i];

                if (w->expired > 0 && !w->stalled) {
                        w->stalled = true;
                        w->stalled_ms = now_ms;
                        log_warnx("worker %s let %d leases run out without "
                                  "an outcome: no jobs for it until it "
                                  "reports one",
                                  w->name, w->expired);
                }
        }
        d->pace_wake_ms = 0;
        for (size_t i = 0; i < d->nworkers; i++)
                feed_worker(d, st, conf, &d->workers[i], now_ms);
}

int64_t
dispatch_timeout(struct dispatch *d, struct store *st, int64_t now_ms)
{
        int64_t ms = INT64_MAX, at;
        char *cause = NULL;

        if (d->nworkers > 0)
                ms = d->heartbeat_ms - now_ms;
        /* While the store cannot be written, its deliveries wait for it,
         * not for their time. */
        if (store_fault(st, NULL) == STORE_OK &&
            store_next_delivery(st, &at, &cause) == 0 &&
            at * 1000 - now_ms < ms)
                ms = at * 1000 - now_ms;
        if (d->pace_wake_ms != 0 && d->pace_wake_ms - now_ms < ms)
                ms = d->pace_wake_ms - now_ms;
        free(cause);
        return ms < 0 ? 0 : ms;
}
