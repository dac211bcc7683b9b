#include "transfer.h"

#include "log.h"
#include "os.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE  (64 * 1024)
#define SPARE_HANDLES 64 /* finished easy handles kept for reuse */

struct transfer {
        struct transfer_pool *p;
        struct transfer *prev, *next; /* p->live */
        CURL *easy;
        char *uid;
        char *channel; /* its channel's name, or NULL */
        int64_t lease;
        const struct transport *tp;
        struct transport_job job;
        struct transfer_buf resp; /* the answer's start */
        bool parked; /* in no multi handle: new, or waiting for its sign-in */
        bool waited; /* it has waited for its sign-in (said once) */
        /* A request aside (transfer_aside()): its caller's; tp is NULL. */
        transfer_aside_done *aside;
        void *aside_arg;
};

struct watch {
        curl_socket_t fd;
        short events;
};

struct transfer_pool {
        int credit;
        long timeout_ms;
        long max_host;
        CURLM *multi;
        int64_t timer_ms; /* when curl wants its timeout action, or -1 */
        struct watch *watches;
        size_t nwatches;
        struct transfer *live; /* transfers under way, and requests aside */
        size_t active;         /* transfers in live, parked ones included */
        size_t parked;         /* those in live that are parked */
        size_t asides;         /* requests aside in live */
        bool renew;            /* reloaded: no connection from before reused */
        CURL *spare[SPARE_HANDLES]; /* reset easy handles, for reuse */
        size_t nspare;
};

/* An easy handle: a spare one reset to its defaults, or a new one. */
static CURL *
easy_get(struct transfer_pool *p)
{
        if (p->nspare == 0)
                return curl_easy_init();
        return p->spare[--p->nspare];
}

/* Gives back a handle that is in no multi handle. */
static void
easy_put(struct transfer_pool *p, CURL *easy)
{
        if (easy == NULL)
                return;
        if (p->nspare == SPARE_HANDLES) {
                curl_easy_cleanup(easy);
                return;
        }
        curl_easy_reset(easy);
        p->spare[p->nspare++] = easy;
}

size_t
transfer_write(char *data, size_t size, size_t n, void *buf)
{
        struct transfer_buf *b = buf;
        size_t len = size * n, keep = len;

        if (b->len + keep > b->max)
                keep = b->max - b->len;
        if (keep > 0) {
                b->p = xreallocarray(b->p, b->len + keep + 1, 1);
                memcpy(b->p + b->len, data, keep);
                b->len += keep;
                b->p[b->len] = '\0';
        }
        return len;
}

/* Puts t, in no multi handle yet, in p->live and counts it. */
static void
transfer_link(struct transfer_pool *p, struct transfer *t)
{
        t->p = p;
        t->parked = true;
        p->parked++;
        if (t->aside != NULL)
                p->asides++;
        else
                p->active++;
        t->next = p->live;
        if (p->live != NULL)
                p->live->prev = t;
        p->live = t;
}

/* Takes t out of p->live and its multi handle, and frees it; the easy
 * handle of a request aside stays its caller's. */
static void
transfer_free(struct transfer *t)
{
        struct transfer_pool *p = t->p;

        if (t->prev != NULL)
                t->prev->next = t->next;
        else
                p->live = t->next;
        if (t->next != NULL)
                t->next->prev = t->prev;
        if (t->parked)
                p->parked--;
        else
                curl_multi_remove_handle(p->multi, t->easy);
        if (t->aside != NULL) {
                p->asides--;
        } else {
                p->active--;
                easy_put(p, t->easy);
        }
        transport_job_clear(&t->job);
        free(t->resp.p);
        free(t->uid);
        free(t->channel);
        free(t);
}

/* Options every transfer shares, whatever its transport. */
static void
common_options(struct transfer_pool *p, struct transfer *t)
{
        curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         p->timeout_ms < 10000 ? p->timeout_ms : 10000L);
        curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, p->timeout_ms);
        curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, transfer_write);
        curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, &t->resp);
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
        /* TLS verification stays on: libcurl's default, never changed. */
}

/*
 * Signs parked t in, when its transport signs in, and queues it on the
 * multi handle; or leaves it parked while the sign-in is under way
 * (transfer_reap() asks again). -1 with *cause, *fail and *local when
 * the sign-in failed or t cannot be queued.
 */
static int
arm(struct transfer_pool *p, struct transfer *t, int64_t now_ms,
    enum outcome *fail, bool *local, char **cause)
{
        int rc = 0;

        if (t->tp->sign != NULL)
                rc = t->tp->sign(t->tp, t->easy, &t->job, now_ms, fail, local,
                                 cause);
        if (rc < 0)
                return -1;
        if (rc > 0) {
                if (!t->waited)
                        log_debug("delivery %s: waiting for the sign-in",
                                  t->uid);
                t->waited = true;
                return 0;
        }
        if (curl_multi_add_handle(p->multi, t->easy) != CURLM_OK) {
                xasprintf(cause, "cannot queue the transfer");
                *fail = OUTCOME_RETRY;
                return -1;
        }
        t->parked = false;
        p->parked--;
        return 0;
}

int
transfer_start(struct transfer_pool *p, const char *uid, int64_t lease,
               const struct transport_input *in, enum outcome *fail,
               bool *local, char **cause)
{
        struct transfer *t = xcalloc(1, sizeof(*t));
        int rc = -1;

        *fail = OUTCOME_FAILED;
        transfer_link(p, t);
        t->uid = xstrdup(uid);
        t->lease = lease;
        /* A chat service's answer is short: keep the start, drop the rest. */
        t->resp.max = MAX_RESPONSE;
        t->job.uid = t->uid;
        t->channel = in->ch != NULL ? xstrdup(in->ch->name) : NULL;
        t->tp = in->tp != NULL ? in->tp : transport_for(in->conf, in->ch->type);
        t->easy = easy_get(p);
        if (t->easy == NULL) {
                xasprintf(cause, "cannot start a transfer");
                *fail = OUTCOME_RETRY;
                goto out;
        }
        if (t->tp == NULL) {
                xasprintf(cause, "no transport for type '%s'",
                          conf_channel_type_name(in->ch->type));
                goto out;
        }
        common_options(p, t);
        /* Since a reload, until the multi handle is renewed: libcurl (7.88)
         * reuses a plain or STARTTLS connection without comparing its TLS
         * settings, so one made under the old config (tls = "none", another
         * ca_file) must not carry this transfer. */
        if (p->renew) {
                curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L);
                curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L);
        }
        if (t->tp->prepare(t->tp, t->easy, &t->job, in, fail, local, cause) <
                0 ||
            arm(p, t, in->now_ms, fail, local, cause) < 0)
                goto out;
        t = NULL;
        rc = 0;
out:
        if (t != NULL)
                transfer_free(t);
        return rc;
}

/* What became of t when it could not be run: its outcome, and t is
 * forgotten. */
static void
not_run(struct transfer *t, transfer_done *done, void *arg, enum outcome o,
        bool local, const char *cause)
{
        done(arg, t->uid, t->lease, o, 0, -1, local, cause,
             &(struct transfer_info){ t->tp, t->channel, NULL, 0 });
        transfer_free(t);
}

/* A request aside ended: it is forgotten, then its caller told. */
static void
aside_end(struct transfer *t, CURLcode rc)
{
        transfer_aside_done *done = t->aside;
        void *arg = t->aside_arg;
        CURL *easy = t->easy;

        transfer_free(t);
        done(arg, easy, rc);
}

/* The parked transfers whose sign-in has answered: run, or reported. */
static void
resume(struct transfer_pool *p, transfer_done *done, void *arg)
{
        struct transfer *t, *next;

        /* A sign-in started here puts its request at the head: not met. */
        for (t = p->live; t != NULL && p->parked > 0; t = next) {
                enum outcome fail = OUTCOME_RETRY;
                bool local = false;
                char *cause = NULL;

                next = t->next;
                if (t->parked && t->aside == NULL &&
                    arm(p, t, os_mono_ms(), &fail, &local, &cause) < 0)
                        not_run(t, done, arg, fail, local, cause);
                free(cause);
        }
}

/*
 * t was refused for its token (the transport says so once per job):
 * signed in again and run once more, or parked until it can be; reported
 * when the sign-in fails.
 */
static void
again(struct transfer *t, transfer_done *done, void *arg)
{
        struct transfer_pool *p = t->p;
        enum outcome fail = OUTCOME_RETRY;
        bool local = false;
        char *cause = NULL;

        curl_multi_remove_handle(p->multi, t->easy);
        t->parked = true;
        p->parked++;
        free(t->resp.p);
        t->resp.p = NULL;
        t->resp.len = 0;
        if (arm(p, t, os_mono_ms(), &fail, &local, &cause) < 0)
                not_run(t, done, arg, fail, local, cause);
        free(cause);
}

void
transfer_reap(struct transfer_pool *p, transfer_done *done, void *arg)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
                struct transfer *t = NULL;
                struct http_response r = { 0, NULL, 0, -1, NULL };
                char *error = NULL;
                long retry_after = -1;
                bool local = false;
                curl_off_t ra = 0;
                CURLcode res;
                long code = 0;
                enum outcome o;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                res = msg->data.result; /* msg is gone once the handle is */
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
                if (t->aside != NULL) {
                        aside_end(t, res);
                        continue;
                }
                /* SMTP's last reply code counts even when the transfer
                 * failed (a 550 to RCPT); HTTP's only with a whole answer. */
                curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
                if (t->tp->refused != NULL &&
                    t->tp->refused(t->tp, &t->job, res, code)) {
                        /* Refused for its token: once more, renewed. */
                        again(t, done, arg);
                        continue;
                }
                if (res == CURLE_OK) {
                        r.status = code;
                        /* 7.88 can give a negative value for a past date. */
                        if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER,
                                              &ra) == CURLE_OK &&
                            ra > 0)
                                r.retry_after = ra > 3600 ? 3600 : (long)ra;
                } else {
                        r.transport_error = curl_easy_strerror(res);
                }
                r.body = t->resp.p;
                r.len = t->resp.len;
                o = t->tp->classify(t->tp, &t->job, res, &r, code, &retry_after,
                                    &local, &error);
                /* What a service hands back to keep (Pushover's receipt). */
                if (o == OUTCOME_DELIVERED && t->tp->be != NULL &&
                    t->tp->be->note != NULL) {
                        char *note = t->tp->be->note(&r);

                        if (note != NULL)
                                log_info("delivery %s: %s", t->uid, note);
                        free(note);
                }
                done(arg, t->uid, t->lease, o, code, retry_after, local, error,
                     &(struct transfer_info){ t->tp, t->channel, t->resp.p,
                                              t->resp.len });
                free(error);
                transfer_free(t);
        }
        resume(p, done, arg);
}

int
transfer_aside(struct transfer_pool *p, CURL *easy, transfer_aside_done *done,
               void *arg)
{
        struct transfer *t = xcalloc(1, sizeof(*t));

        t->aside = done;
        t->aside_arg = arg;
        t->easy = easy;
        transfer_link(p, t);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        /* As a request of its own did: once an hour or so, to another
         * host; nothing to keep in the deliveries' cache. */
        curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
        if (curl_multi_add_handle(p->multi, easy) != CURLM_OK) {
                transfer_free(t);
                return -1;
        }
        t->parked = false;
        p->parked--;
        return 0;
}

size_t
transfer_active(const struct transfer_pool *p)
{
        return p->active;
}

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
        struct transfer_pool *p = arg;
        size_t i;

        (void)easy;
        (void)sockp;
        for (i = 0; i < p->nwatches && p->watches[i].fd != fd; i++)
                ;
        if (what == CURL_POLL_REMOVE) {
                if (i < p->nwatches)
                        p->watches[i] = p->watches[--p->nwatches];
                return 0;
        }
        if (i == p->nwatches) {
                p->watches = xreallocarray(p->watches, p->nwatches + 1,
                                           sizeof(*p->watches));
                p->nwatches++;
        }
        p->watches[i].fd = fd;
        p->watches[i].events =
            (short)((what & CURL_POLL_IN ? ZMQ_POLLIN : 0) |
                    (what & CURL_POLL_OUT ? ZMQ_POLLOUT : 0));
        return 0;
}

static int
on_timer(CURLM *multi, long timeout_ms, void *arg)
{
        struct transfer_pool *p = arg;

        (void)multi;
        p->timer_ms = timeout_ms < 0 ? -1 : os_mono_ms() + timeout_ms;
        return 0;
}

/*
 * A multi handle set up for p. libcurl caches connections per multi
 * handle: a new one starts without any.
 */
static CURLM *
multi_new(struct transfer_pool *p)
{
        CURLM *multi = curl_multi_init();

        if (multi == NULL)
                fatalx("curl_multi_init failed");
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, p);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(multi, CURLMOPT_TIMERDATA, p);
        /* libcurl keeps four idle connections per transfer under way, so
         * its cache shrank as a burst drained and closed connections that
         * the next jobs opened again (464 connects for 10,000 deliveries
         * to one host; 147 with this). Four per transfer the credit
         * allows; idle ones still close after libcurl's maximum age. */
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                          (long)(p->credit > 0 ? 4 * p->credit : 4));
        /* Connections are reused per host; a relay gets only so many. */
        if (p->max_host > 0)
                curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                                  p->max_host);
        return multi;
}

struct transfer_pool *
transfer_pool_new(int credit, long timeout_ms, long max_host)
{
        struct transfer_pool *p = xcalloc(1, sizeof(*p));

        p->credit = credit;
        p->timeout_ms = timeout_ms;
        p->max_host = max_host;
        p->timer_ms = -1;
        p->multi = multi_new(p);
        return p;
}

void
transfer_pool_destroy(struct transfer_pool **pp)
{
        struct transfer_pool *p = *pp;

        if (p == NULL)
                return;
        /* Whatever is still in flight: its lease runs out at the
         * scheduler. A request aside is told it will not end. */
        while (p->live != NULL) {
                if (p->live->aside != NULL)
                        aside_end(p->live, CURLE_ABORTED_BY_CALLBACK);
                else
                        transfer_free(p->live);
        }
        free(p->watches);
        while (p->nspare > 0)
                curl_easy_cleanup(p->spare[--p->nspare]);
        curl_multi_cleanup(p->multi);
        free(p);
        *pp = NULL;
}

size_t
transfer_nwatches(const struct transfer_pool *p)
{
        return p->nwatches;
}

void
transfer_poll_items(const struct transfer_pool *p, zmq_pollitem_t *items)
{
        for (size_t i = 0; i < p->nwatches; i++)
                items[i] = (zmq_pollitem_t){ NULL, p->watches[i].fd,
                                             p->watches[i].events, 0 };
}

void
transfer_action(struct transfer_pool *p, const zmq_pollitem_t *items, size_t n,
                int64_t now)
{
        int running;

        for (size_t i = 0; i < n; i++) {
                int ev =
                    (items[i].revents & ZMQ_POLLIN ? CURL_CSELECT_IN : 0) |
                    (items[i].revents & ZMQ_POLLOUT ? CURL_CSELECT_OUT : 0) |
                    (items[i].revents & ZMQ_POLLERR ? CURL_CSELECT_ERR : 0);

                if (ev != 0)
                        curl_multi_socket_action(p->multi, items[i].fd, ev,
                                                 &running);
        }
        if (p->timer_ms >= 0 && now >= p->timer_ms) {
                p->timer_ms = -1;
                curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0,
                                         &running);
        }
}

int64_t
transfer_timer_ms(const struct transfer_pool *p)
{
        return p->timer_ms;
}

void
transfer_reloaded(struct transfer_pool *p, long max_host)
{
        p->max_host = max_host;
        p->renew = true;
}

/* After a reload, once no transfer is under way: closes the connections
 * made under the old config by starting a new multi handle. */
void
transfer_renew_idle(struct transfer_pool *p)
{
        if (!p->renew || p->active > 0 || p->asides > 0)
                return;
        curl_multi_cleanup(p->multi);
        p->nwatches = 0;
        p->timer_ms = -1;
        p->multi = multi_new(p);
        p->renew = false;
}
