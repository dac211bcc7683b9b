#include "worker.h"

#include "cert.h"
#include "dproto.h"
#include "link.h"
#include "log.h"
#include "oauth2.h"
#include "os.h"
#include "receipts.h"
#include "secret.h"
#include "secrets.h"
#include "svc.h"
#include "template.h"
#include "timefmt.h"
#include "transfer.h"
#include "xalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define STOP_GRACE_MS 15000
/* How often the certificate's end is looked at again while running. */
#define CERT_CHECK_S 86400

struct wk {
        const struct worker_opts *opts;
        struct conf *conf;
        struct link *link;           /* to the scheduler */
        struct transfer_pool *xfers; /* the deliveries under way */
        struct wsecrets *secrets;    /* the files w->conf names, as read */
        struct oauth2 *oauth2;       /* email.oauth2's sign-in, or NULL */
        struct receipts receipts;    /* Pushover emergencies polled */
        int sigfd;
        struct svc_watchdog watchdog;
        time_t cert_next; /* the certificate's next look (wall); 0: none */
        bool running;
        int64_t stop_by_ms; /* when stopping: the end of the grace */
        int status;
};

/* How many connections to one host the pool may hold: the email group's
 * for an email worker (a relay gets only so many), else no bound. */
static long
max_host(const struct wk *w)
{
        if (strcmp(w->opts->kind, "email") == 0)
                return (long)w->conf->email.connections;
        return 0;
}

/*
 * The credit offered is what is left: after the scheduler restarts, the
 * transfers it handed out before are still under way here.
 */
static int
credit_left(const struct wk *w)
{
        long credit = (long)w->opts->credit - (long)transfer_active(w->xfers);

        return credit < 0 ? 0 : (int)credit;
}

/* The protocol's name for a backend's outcome. */
static enum dproto_result
wire_result(enum outcome o)
{
        switch (o) {
        case OUTCOME_DELIVERED:
                return DPROTO_DELIVERED;
        case OUTCOME_RETRY:
                return DPROTO_RETRY;
        case OUTCOME_FAILED:
                break;
        }
        return DPROTO_FAILED;
}

/*
 * Queues an outcome and sends it; it is sent again every DPROTO_RESEND_MS
 * until the scheduler acknowledges it. A delivered emergency's carries its
 * receipt `r` (NULL: none), which the scheduler keeps. `error` holds no
 * URL or secret. A local retry is logged at debug only: its cause was
 * logged once, at error.
 */
static void
report_receipt(struct wk *w, const char *uid, int64_t lease, enum outcome o,
               long code, long retry_after, bool local, const char *error,
               const struct receipt *r)
{
        link_outcome(w->link,
                     &(struct dproto_outcome){ uid, lease, wire_result(o), code,
                                               retry_after, local, error,
                                               r != NULL ? r->id : NULL,
                                               r != NULL ? r->expires_at : 0 },
                     os_mono_ms());
        if (o == OUTCOME_DELIVERED && dproto_is_beat(uid))
                log_debug("%s: delivered", uid); /* every few minutes */
        else if (o == OUTCOME_DELIVERED)
                log_info("delivery %s: delivered", uid);
        else if (local)
                log_debug("delivery %s: %s (local): %s", uid, outcome_name(o),
                          error ? error : "?");
        else
                log_warnx("delivery %s: %s: %s", uid, outcome_name(o),
                          error ? error : "?");
}

/* An outcome without a receipt. */
static void
report(struct wk *w, const char *uid, int64_t lease, enum outcome o, long code,
       long retry_after, bool local, const char *error)
{
        report_receipt(w, uid, lease, o, code, retry_after, local, error, NULL);
}

/* The dead-man's switch's JOB: a GET of the push monitor's URL. */
static void
on_beat(struct wk *w, const struct dproto_msg *m)
{
        const struct dproto_job *job = &m->u.job;
        enum outcome fail = OUTCOME_FAILED;
        bool local = false;
        char *cause = NULL;

        if (transfer_start(
                w->xfers, job->delivery, job->lease,
                &(struct transport_input){ .conf = w->conf,
                                           .secrets = w->secrets,
                                           .job = m->root,
                                           .timeout_ms = w->opts->timeout_ms,
                                           .now = (int64_t)time(NULL),
                                           .now_ms = os_mono_ms(),
                                           .tp = transport_heartbeat() },
                &fail, &local, &cause) < 0)
                report(w, job->delivery, job->lease, fail, 0, -1, local, cause);
        free(cause);
}

/* Builds the transfer for a job and starts it. */
static void
on_job(void *arg, const struct dproto_msg *m)
{
        struct wk *w = arg;
        const struct dproto_job *job = &m->u.job;
        const char *uid = job->delivery, *name = job->channel;
        const char *type = job->type;
        json_t *vars = NULL;
        const struct channel *ch;
        char *title = NULL, *text = NULL, *cause = NULL;
        enum outcome fail = OUTCOME_FAILED;
        bool local = false;

        if (w->stop_by_ms != 0)
                return;
        if (strcmp(type, DPROTO_BEAT) == 0 && dproto_is_beat(uid)) {
                on_beat(w, m);
                return;
        }
        ch = conf_channel(w->conf, name);
        if (ch == NULL || strcmp(conf_channel_type_name(ch->type), type) != 0) {
                /* Our config and the scheduler's are out of step. */
                xasprintf(&cause,
                          "channel '%s' (%s) is not in this worker's "
                          "config",
                          name, type);
                log_warnx("delivery %s: %s", uid, cause);
                fail = OUTCOME_RETRY;
                local = true;
                goto fail;
        }
        vars = template_vars(job->alert);
        title = template_render(conf_template(w->conf, ch->type, true), vars);
        text = template_render(conf_template(w->conf, ch->type, false), vars);
        if (transfer_start(w->xfers, uid, job->lease,
                           &(struct transport_input){
                               w->conf, w->secrets, ch, m->root, title, text,
                               w->opts->timeout_ms, (int64_t)time(NULL),
                               w->oauth2, os_mono_ms(), NULL, NULL },
                           &fail, &local, &cause) < 0)
                goto fail;
        log_debug("delivery %s: sending to '%s' (%s)", uid, name, type);
        goto out;
fail:
        report(w, uid, job->lease, fail, 0, -1, local, cause);
out:
        json_decref(vars);
        free(title);
        free(text);
        free(cause);
}

/* Emergencies stay unacknowledged a little past their expire. */
#define RECEIPT_SLACK_S 60

/* A receipt's poll answered: once acknowledged, a RECEIPT, which the link
 * repeats until the scheduler acknowledges it. */
static void
on_polled(struct wk *w, const char *uid, enum outcome o, long retry_after,
          const struct transfer_info *x)
{
        struct receipt *r = receipts_find(&w->receipts, uid);
        struct pushover_receipt pr;
        char *why = NULL;

        if (r == NULL)
                return;
        switch (receipts_polled(r, o, retry_after, x->body, x->len,
                                (int64_t)time(NULL), os_mono_ms(), &pr, &why)) {
        case RECEIPT_ACKED:
                log_info("delivery %s: acknowledged at Pushover by '%s'", uid,
                         pr.acknowledged_by);
                link_receipt(w->link,
                             &(struct dproto_receipt){ uid, pr.acknowledged_by,
                                                       pr.acknowledged_at },
                             os_mono_ms());
                receipts_drop(&w->receipts, r);
                break;
        case RECEIPT_DROP:
                log_info("delivery %s: no longer polling its receipt: %s", uid,
                         why);
                receipts_drop(&w->receipts, r);
                break;
        case RECEIPT_WAIT:
                break;
        }
        free(why);
}

/* A delivered Pushover emergency: its receipt, to poll, or NULL. */
static const struct receipt *
keep_receipt(struct wk *w, const char *uid, const struct transfer_info *x)
{
        const struct channel *ch =
            x->channel != NULL ? conf_channel(w->conf, x->channel) : NULL;
        char *id;

        if (ch == NULL || ch->type != CHANNEL_PUSHOVER)
                return NULL;
        id = pushover_receipt_of(x->body, x->len);
        if (id == NULL)
                return NULL;
        receipts_add(&w->receipts, uid, ch->name, id,
                     (int64_t)time(NULL) + ch->expire + RECEIPT_SLACK_S,
                     os_mono_ms());
        free(id);
        return receipts_find(&w->receipts, uid);
}

/* A finished transfer's outcome, for the scheduler (transfer_done), with
 * a delivered emergency's receipt; a receipt's poll stays here. */
static void
on_done(void *arg, const char *uid, int64_t lease, enum outcome o, long code,
        long retry_after, bool local, const char *error,
        const struct transfer_info *x)
{
        struct wk *w = arg;

        if (x->tp == transport_receipt()) {
                on_polled(w, uid, o, retry_after, x);
                return;
        }
        report_receipt(w, uid, lease, o, code, retry_after, local, error,
                       o == OUTCOME_DELIVERED ? keep_receipt(w, uid, x) : NULL);
}

/* Starts the polls that are due, unless stopping. */
static void
poll_receipts(struct wk *w, int64_t now)
{
        enum outcome fail;
        bool local;
        char *cause;

        for (size_t i = 0; i < w->receipts.n && w->stop_by_ms == 0; i++) {
                struct receipt *r = &w->receipts.v[i];
                const struct channel *ch = conf_channel(w->conf, r->channel);

                if (r->polling || r->next_ms > now)
                        continue;
                if (ch == NULL || ch->type != CHANNEL_PUSHOVER) {
                        log_info("delivery %s: no longer polling its receipt: "
                                 "channel '%s' is no longer a Pushover channel",
                                 r->uid, r->channel);
                        receipts_drop(&w->receipts, r);
                        i--;
                        continue;
                }
                fail = OUTCOME_FAILED;
                local = false;
                cause = NULL;
                if (transfer_start(w->xfers, r->uid, -1,
                                   &(struct transport_input){
                                       .conf = w->conf,
                                       .secrets = w->secrets,
                                       .ch = ch,
                                       .timeout_ms = w->opts->timeout_ms,
                                       .now = (int64_t)time(NULL),
                                       .now_ms = now,
                                       .tp = transport_receipt(),
                                       .receipt = r->id },
                                   &fail, &local, &cause) == 0) {
                        r->polling = true;
                } else {
                        /* cause names no URL: the token stays out. */
                        log_warnx("delivery %s: receipt not polled: %s", r->uid,
                                  cause);
                        r->next_ms = now + RECEIPTS_POLL_MS;
                }
                free(cause);
        }
}

/*
 * A receipt the scheduler hands us to poll (its worker went, or the
 * scheduler restarted): kept once, by delivery, and polled as our own.
 */
static void
on_watch(void *arg, const struct dproto_msg *m)
{
        struct wk *w = arg;
        const struct dproto_watch *wa = &m->u.watch;
        const struct channel *ch = conf_channel(w->conf, wa->channel);

        if (receipts_find(&w->receipts, wa->delivery) != NULL) {
                log_debug("delivery %s: its receipt is polled already",
                          wa->delivery);
                return;
        }
        if (ch == NULL || ch->type != CHANNEL_PUSHOVER) {
                log_warnx("delivery %s: receipt not polled: channel '%s' is "
                          "not a Pushover channel of this worker's config",
                          wa->delivery, wa->channel);
                return;
        }
        receipts_add(&w->receipts, wa->delivery, ch->name, wa->receipt,
                     wa->expires_at, os_mono_ms());
        log_info("delivery %s: polling its receipt '%s' for the scheduler",
                 wa->delivery, wa->receipt);
}

static void
on_hello(void *arg, const struct dproto_msg *m)
{
        struct wk *w = arg;

        (void)m;
        log_info("the scheduler asks who we are: sending READY");
        link_ready(w->link, credit_left(w));
}

static void
on_refuse(void *arg, const struct dproto_msg *m)
{
        struct wk *w = arg;

        log_err("the scheduler refuses us: %s", m->u.refuse.error);
        w->running = false;
        w->status = 1;
}

/* What the worker does with each message type the scheduler may send;
 * the link takes ACK and HEARTBEAT. */
static link_handler *const handlers[DPROTO_NTYPES] = {
        [DPROTO_JOB] = on_job,
        [DPROTO_HELLO] = on_hello,
        [DPROTO_REFUSE] = on_refuse,
        [DPROTO_WATCH] = on_watch,
};

/*
 * email.oauth2's certificate, looked at `now` (wall clock): at start and
 * at each reload (`start`), and once a day while running, so that its
 * end is told weeks ahead, in the log the admin reads, not by Entra ID
 * refusing every token on the day. One that is fine is said only at a
 * start; one that cannot be read is an error here too, ahead of the
 * first token request, which says it again. The key is never read here.
 */
static void
tell_cert(struct wk *w, time_t now, bool start)
{
        const struct conf_oauth2 *o = &w->conf->email.oauth2;
        struct cert *c = NULL;
        char *path, *why = NULL, *words = NULL, when[64];

        w->cert_next = 0;
        if (strcmp(w->opts->kind, "email") != 0 || !w->conf->email.present ||
            o->provider == OAUTH2_NONE || o->certificate_file[0] == '\0')
                return;
        w->cert_next = now + CERT_CHECK_S;
        path = secret_path(w->conf->dir, o->certificate_file);
        c = cert_load(path, &why);
        if (c == NULL) {
                log_err("email.oauth2.certificate_file '%s': %s; email "
                        "sign-in cannot work",
                        o->certificate_file, why);
                goto out;
        }
        words = cert_end_words(w->conf->tz, cert_not_after(c), (int64_t)now,
                               o->provider == OAUTH2_MICROSOFT
                                   ? "Entra ID"
                                   : "the token endpoint");
        if (words == NULL && start) {
                timefmt_human(w->conf->tz, cert_not_after(c), when,
                              sizeof(when));
                log_info("email.oauth2.certificate_file '%s' is valid until "
                         "%s",
                         o->certificate_file, when);
        } else if (words != NULL && cert_end(cert_not_after(c), (int64_t)now,
                                             NULL) == CERT_ENDED) {
                log_err("email.oauth2.certificate_file '%s' %s",
                        o->certificate_file, words);
        } else if (words != NULL) {
                log_warnx("email.oauth2.certificate_file '%s' %s",
                          o->certificate_file, words);
        }
out:
        cert_destroy(&c);
        free(words);
        free(why);
        free(path);
}

static void
on_signal(struct wk *w)
{
        struct signalfd_siginfo si;

        while (read(w->sigfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGHUP) {
                        struct conf_errors errs;
                        struct conf *next;

                        svc_reloading();
                        next = conf_load(w->conf->path, &errs);

                        for (size_t i = 0; i < errs.n; i++)
                                log_err("%s", errs.msgs[i]);
                        conf_errors_free(&errs);
                        if (next == NULL) {
                                log_err("the new configuration has errors: "
                                        "keeping the one in force");
                                svc_ready();
                                continue;
                        }
                        /* Read again, from the files the new config names. */
                        wsecrets_destroy(&w->secrets);
                        /* Transfers under way keep their own reference. */
                        oauth2_destroy(&w->oauth2);
                        conf_destroy(&w->conf);
                        w->conf = next;
                        w->secrets = wsecrets_new(w->conf);
                        w->oauth2 =
                            oauth2_new(w->conf, w->opts->timeout_ms, w->xfers);
                        transfer_reloaded(w->xfers, max_host(w));
                        log_info("configuration reloaded");
                        tell_cert(w, time(NULL), true);
                        svc_ready();
                } else if (w->stop_by_ms == 0) {
                        svc_stopping();
                        log_info("signal %u: finishing %zu transfers, then "
                                 "stopping",
                                 si.ssi_signo, transfer_active(w->xfers));
                        w->stop_by_ms = os_mono_ms() + STOP_GRACE_MS;
                }
        }
}

/* Heartbeats, repeated outcomes, a scheduler gone quiet; the end of a
 * stop. */
static void
timers(struct wk *w, int64_t now)
{
        size_t active = transfer_active(w->xfers), unacked;

        link_timers(w->link, now, credit_left(w));
        poll_receipts(w, now);
        /* A day on by the wall clock, or the clock set back before the
         * last look. */
        if (w->cert_next != 0 && (time(NULL) >= w->cert_next ||
                                  time(NULL) < w->cert_next - CERT_CHECK_S))
                tell_cert(w, time(NULL), false);
        unacked = link_unacked(w->link);
        if (w->stop_by_ms != 0 &&
            ((active == 0 && unacked == 0) || now >= w->stop_by_ms)) {
                if (active > 0 || unacked > 0)
                        log_warnx("stopping with %zu transfers unfinished and "
                                  "%zu outcomes or receipts unacknowledged: "
                                  "the scheduler sends the jobs again",
                                  active, unacked);
                w->running = false;
        }
}

static int
poll_timeout(struct wk *w, int64_t now)
{
        int64_t t = link_next_ms(w->link);

        int64_t curl_ms = transfer_timer_ms(w->xfers);
        int64_t poll_ms = receipts_next_ms(&w->receipts);

        if (curl_ms >= 0 && curl_ms < t)
                t = curl_ms;
        if (poll_ms >= 0 && poll_ms < t)
                t = poll_ms;
        t = now + svc_watchdog_sleep(&w->watchdog, now, t - now);
        return t <= now ? 0 : (int)(t - now);
}

static void
loop(struct wk *w)
{
        zmq_pollitem_t *items = NULL;

        while (w->running) {
                size_t n, nwatches;
                int64_t now = os_mono_ms();

                transfer_renew_idle(w->xfers);
                /* curl may add or drop watches below: poll these ones. */
                nwatches = transfer_nwatches(w->xfers);
                items = xreallocarray(items, 3 + nwatches, sizeof(*items));
                items[0] = (zmq_pollitem_t){ NULL, w->sigfd, ZMQ_POLLIN, 0 };
                transfer_poll_items(w->xfers, items + 1);
                n = 1 + nwatches +
                    (size_t)link_poll_items(w->link, items + 1 + nwatches);
                log_flush(); /* what this turn logged, before we wait */
                if (zmq_poll(items, (int)n, poll_timeout(w, now)) < 0 &&
                    zmq_errno() != EINTR)
                        fatalx("zmq_poll: %s", zmq_strerror(zmq_errno()));
                if (items[0].revents & ZMQ_POLLIN)
                        on_signal(w);
                /* Drain always: ZMQ_EVENTS is edge-triggered underneath. */
                link_read(w->link, handlers, w);
                transfer_action(w->xfers, items + 1, nwatches, os_mono_ms());
                transfer_reap(w->xfers, on_done, w);
                timers(w, os_mono_ms());
                svc_watchdog_tick(&w->watchdog, os_mono_ms());
        }
        free(items);
}

int
worker_run(const struct worker_opts *opts, struct conf *conf)
{
        struct wk w = { 0 };
        char *cause = NULL;
        int status;

        w.opts = opts;
        w.conf = conf;
        w.running = true;
        w.sigfd = os_signalfd();
        w.secrets = wsecrets_new(conf);

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                fatalx("curl_global_init failed");
        w.xfers =
            transfer_pool_new(opts->credit, opts->timeout_ms, max_host(&w));
        /* Its token requests run on the pool, beside the deliveries. */
        w.oauth2 = oauth2_new(conf, opts->timeout_ms, w.xfers);

        w.link = link_new(conf, opts->kind, opts->credit, &cause, &status);
        if (w.link == NULL) {
                if (status != CONF_EXIT)
                        fatalx("%s", cause);
                log_err("%s", cause);
                exit(CONF_EXIT);
        }
        log_info("worker %s: %s, credit %d", link_id(w.link),
                 link_endpoint(w.link), opts->credit);
        tell_cert(&w, time(NULL), true);
        link_ready(w.link, credit_left(&w));
        svc_watchdog_init(&w.watchdog, os_mono_ms());
        svc_ready();
        svc_status("waiting for the scheduler");

        loop(&w);

        /* Whatever is still in flight: its lease runs out at the scheduler.
         * A token request under way ends with the pool. */
        transfer_pool_destroy(&w.xfers);
        receipts_clear(&w.receipts);
        curl_global_cleanup();
        wsecrets_destroy(&w.secrets);
        oauth2_destroy(&w.oauth2);
        link_destroy(&w.link);
        close(w.sigfd);
        conf_destroy(&w.conf);
        log_info("stopped");
        return w.status;
}
