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

/* FNV-1a of a channel's name: where its pace is looked for first. */
static size_t
pace_hash(const char *name)
{
        uint64_t h = 14695981039346656037u;

        for (const unsigned char *c = (const unsigned char *)name; *c != '\0';
             c++)
                h = (h ^ *c) * 1099511628211u;
        return (size_t)h;
}

/* The slot of `channel`'s pace in `t` (n slots, a power of two): its own,
 * or the empty one it would take. */
static size_t
pace_slot(const struct pace *t, size_t n, const char *channel)
{
        size_t i = pace_hash(channel) & (n - 1);

        while (t[i].channel[0] != '\0' && strcmp(t[i].channel, channel) != 0)
                i = (i + 1) & (n - 1);
        return i;
}

/*
 * Room for one more channel's pace: when the table is half full it is
 * made again without the channels whose time has passed (as good as
 * absent), twice as large while those left fill more than a quarter. A
 * lookup is then one hash, not a walk of every channel paced so far: a
 * burst to thousands of sms numbers is thousands of channels.
 */
static void
pace_room(struct dispatch *d, int64_t now_ms)
{
        struct pace *old = d->paces;
        size_t nold = d->npaces, live = 0, n = nold > 0 ? nold : 64;

        if (nold > 0 && d->paces_used + 1 <= nold / 2)
                return;
        for (size_t i = 0; i < nold; i++) {
                if (old[i].channel[0] != '\0' && now_ms < old[i].next_ms)
                        live++;
        }
        while (live + 1 > n / 4)
                n *= 2;
        d->paces = xcalloc(n, sizeof(*d->paces));
        d->npaces = n;
        d->paces_used = 0;
        d->waiting = xreallocarray(d->waiting, n, sizeof(*d->waiting));
        d->nwaiting = 0;
        for (size_t i = 0; i < nold; i++) {
                size_t j;

                if (old[i].channel[0] == '\0' || now_ms >= old[i].next_ms)
                        continue;
                j = pace_slot(d->paces, n, old[i].channel);
                d->paces[j] = old[i];
                d->paces_used++;
                if (old[i].waiting)
                        d->waiting[d->nwaiting++] = j;
        }
        free(old);
}

/*
 * Whether a delivery to `r`'s channel may go now; if so its channel's next
 * slot is booked. Otherwise it waits, pending, the channel is left out of
 * the ready query until its slot, and the loop wakes for it.
 */
static bool
pace_ok(struct dispatch *d, const struct store_ready *r, int64_t now_ms)
{
        int64_t gap = dispatch_pace_ms(r->type);
        struct pace *p;
        size_t i = 0;

        if (gap == 0)
                return true;
        if (d->npaces > 0)
                i = pace_slot(d->paces, d->npaces, r->channel);
        if (d->npaces == 0 || d->paces[i].channel[0] == '\0') {
                pace_room(d, now_ms);
                i = pace_slot(d->paces, d->npaces, r->channel);
                snprintf(d->paces[i].channel, sizeof(d->paces[i].channel), "%s",
                         r->channel);
                d->paces[i].next_ms = 0;
                d->paces[i].waiting = false;
                d->paces_used++;
        }
        p = &d->paces[i];
        if (now_ms < p->next_ms) {
                if (!p->waiting) {
                        p->waiting = true;
                        d->waiting[d->nwaiting++] = i;
                }
                if (d->pace_wake_ms == 0 || p->next_ms < d->pace_wake_ms)
                        d->pace_wake_ms = p->next_ms;
                return false;
        }
        p->next_ms = now_ms + gap;
        return true;
}

/*
 * The channels to leave out of the ready query, as a JSON array (caller
 * frees; NULL: none): those waiting for their next slot, so that one busy
 * channel cannot hold up the others; the loop wakes when the first of
 * them may go again. A channel paced but with nothing held back is not
 * named: most are (an sms channel is one number), and its next delivery,
 * if any, is held back by pace_ok() when the query returns it.
 */
static char *
paced_skip(struct dispatch *d, int64_t now_ms)
{
        json_t *paced;
        char *skip;

        if (d->nwaiting == 0)
                return NULL;
        paced = json_array();
        for (size_t k = 0; k < d->nwaiting;) {
                struct pace *p = &d->paces[d->waiting[k]];

                if (now_ms >= p->next_ms) {
                        p->waiting = false;
                        d->waiting[k] = d->waiting[--d->nwaiting];
                        continue;
                }
                json_array_append_new(paced, json_string(p->channel));
                if (d->pace_wake_ms == 0 || p->next_ms < d->pace_wake_ms)
                        d->pace_wake_ms = p->next_ms;
                k++;
        }
        skip = json_array_size(paced) > 0 ? json_dumps(paced, JSON_COMPACT)
                                          : NULL; /* none: "[]" */
        json_decref(paced);
        return skip;
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
        char *cause = NULL, *skip;
        int want = w->credit < BATCH ? w->credit : BATCH;
        int n, limit, held, njobs = 0;
        bool begun = false;

        if (w->credit <= 0 || w->stalled)
                return;
        do {
                limit = want - njobs;
                skip = paced_skip(d, now_ms);
                n = store_deliveries_ready(st, w->kind == DPROTO_KIND_EMAIL,
                                           now, skip, ready, limit, &cause);
                free(skip);
                if (n <= 0 || (!begun && store_begin(st, &cause) < 0))
                        break;
                begun = true;
                held = 0;
                for (int i = 0; i < n; i++) {
                        char *job;

                        if (!pace_ok(d, &ready[i], now_ms)) {
                                held++;
                                continue;
                        }
                        if (store_delivery_lease(st, &ready[i], w->name,
                                                 now + conf->delivery.lease,
                                                 now, &cause) < 0)
                                break; /* a store error: try next tick */
                        job = job_text(st, conf, &ready[i], now);
                        if (job == NULL)
                                continue; /* the lease will expire */
                        jobs[njobs++] = job;
                }
                /* Rows held back for their pace took the places of others
                 * that are ready: ask again, without their channels. */
        } while (held > 0 && n == limit && cause == NULL && njobs < want);
        if (!begun)
                goto out;
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
        dispatch_watch_tick(d, st, now_ms);
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
