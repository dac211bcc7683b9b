#include "worker.h"

#include "backend.h"
#include "dproto.h"
#include "email.h"
#include "ics.h"
#include "link.h"
#include "log.h"
#include "os.h"
#include "secrets.h"
#include "svc.h"
#include "template.h"
#include "xalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define STOP_GRACE_MS 15000
#define MAX_RESPONSE  (64 * 1024)

struct transfer {
        struct wk *w;
        struct transfer *prev, *next; /* w->live */
        CURL *easy;
        char *uid;
        int64_t lease;
        bool email;
        const struct backend_ops *be; /* webhook */
        struct curl_slist *headers;
        struct http_request req;
        struct email_msg mail; /* email */
        char *resp;
        size_t len;
};

struct watch {
        curl_socket_t fd;
        short events;
};

#define SPARE_HANDLES 64 /* finished easy handles kept for reuse */

struct wk {
        const struct worker_opts *opts;
        struct conf *conf;
        struct link *link; /* to the scheduler */
        CURLM *multi;
        int sigfd;
        int64_t timer_ms; /* when curl wants its timeout action, or -1 */
        struct watch *watches;
        size_t nwatches;
        struct transfer *live; /* transfers under way */
        size_t active;
        struct svc_watchdog watchdog;
        bool running;
        int64_t stop_by_ms; /* when stopping: the end of the grace */
        bool renew_multi;   /* reloaded: no connection from before reused */
        struct wsecrets *secrets;   /* the files w->conf names, as read */
        CURL *spare[SPARE_HANDLES]; /* reset easy handles, for reuse */
        size_t nspare;
        int status;
};

/* An easy handle: a spare one reset to its defaults, or a new one. */
static CURL *
easy_get(struct wk *w)
{
        if (w->nspare == 0)
                return curl_easy_init();
        return w->spare[--w->nspare];
}

/* Gives back a handle that is in no multi handle. */
static void
easy_put(struct wk *w, CURL *easy)
{
        if (easy == NULL)
                return;
        if (w->nspare == SPARE_HANDLES) {
                curl_easy_cleanup(easy);
                return;
        }
        curl_easy_reset(easy);
        w->spare[w->nspare++] = easy;
}

/*
 * The credit offered is what is left: after the scheduler restarts, the
 * transfers it handed out before are still under way here.
 */
static int
credit_left(const struct wk *w)
{
        long credit = (long)w->opts->credit - (long)w->active;

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
 * Queues an outcome and sends it; it is sent again every DPROTO_RESEND_MS until
 * the scheduler acknowledges it. `error` holds no URL or secret. A local
 * retry is logged at debug only: its cause was logged once, at error.
 */
static void
report(struct wk *w, const char *uid, int64_t lease, enum outcome o, long code,
       long retry_after, bool local, const char *error)
{
        link_outcome(w->link,
                     &(struct dproto_outcome){ uid, lease, wire_result(o), code,
                                               retry_after, local, error },
                     os_mono_ms());
        if (o == OUTCOME_DELIVERED)
                log_info("delivery %s: delivered", uid);
        else if (local)
                log_debug("delivery %s: %s (local): %s", uid, outcome_name(o),
                          error ? error : "?");
        else
                log_warnx("delivery %s: %s: %s", uid, outcome_name(o),
                          error ? error : "?");
}

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
        struct transfer *t = arg;
        size_t len = size * n, keep = len;

        /* A chat service's answer is short: keep the start, drop the rest. */
        if (t->len + keep > MAX_RESPONSE)
                keep = MAX_RESPONSE - t->len;
        if (keep > 0) {
                t->resp = xreallocarray(t->resp, t->len + keep + 1, 1);
                memcpy(t->resp + t->len, data, keep);
                t->len += keep;
                t->resp[t->len] = '\0';
        }
        return len;
}

static void
transfer_free(struct transfer *t)
{
        if (t == NULL)
                return;
        if (t->prev != NULL)
                t->prev->next = t->next;
        else if (t->w->live == t)
                t->w->live = t->next;
        if (t->next != NULL)
                t->next->prev = t->prev;
        if (t->easy != NULL) {
                curl_multi_remove_handle(t->w->multi, t->easy);
                easy_put(t->w, t->easy);
        }
        curl_slist_free_all(t->headers);
        http_request_free(&t->req);
        email_msg_free(&t->mail);
        free(t->resp);
        free(t->uid);
        free(t);
}

/* Options every transfer shares, webhook or SMTP. */
static void
common_options(struct wk *w, struct transfer *t)
{
        curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         w->opts->timeout_ms < 10000 ? w->opts->timeout_ms
                                                     : 10000L);
        curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, w->opts->timeout_ms);
        curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
        /* TLS verification stays on: libcurl's default, never changed. */
}

/* A webhook job: the channel's backend builds the HTTP request. */
static int
prepare_webhook(struct wk *w, struct transfer *t, const struct channel *ch,
                json_t *job, const char *title, const char *text,
                enum outcome *fail, bool *local, char **cause)
{
        const struct wsecrets_channel *cs;
        struct backend_input in;

        *fail = OUTCOME_FAILED;
        t->be = backend_find(conf_channel_type_name(ch->type));
        if (t->be == NULL) {
                xasprintf(cause, "no webhook backend for type '%s'",
                          conf_channel_type_name(ch->type));
                return -1;
        }
        if ((cs = wsecrets_channel(w->secrets, ch, cause)) == NULL) {
                *fail = OUTCOME_RETRY;
                *local = true;
                return -1;
        }
        in = (struct backend_input){ job,
                                     ch->url[0] != '\0' ? ch->url
                                                        : cs->url.value,
                                     cs->keybytes,
                                     cs->keylen,
                                     title,
                                     text,
                                     (int64_t)time(NULL) };
        if (t->be->build(&in, &t->req, cause) < 0)
                return -1;
        for (size_t i = 0; i < t->req.nheaders; i++)
                t->headers = curl_slist_append(t->headers, t->req.headers[i]);
        curl_easy_setopt(t->easy, CURLOPT_URL, t->req.url);
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->req.body);
        curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
        curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION,
                         (long)CURL_HTTP_VERSION_2TLS);
        return 0;
}

/*
 * libcurl's trace of an SMTP transfer (CURLOPT_DEBUGFUNCTION): a recipient
 * the relay refuses is left out while the others get the message, and
 * libcurl reports nothing per recipient, so each refusal is logged here.
 * Nothing else of the trace is kept or logged (it holds the AUTH line).
 */
static int
on_smtp_trace(CURL *easy, curl_infotype type, char *data, size_t size,
              void *arg)
{
        struct transfer *t = arg;
        char *refused;

        (void)easy;
        refused = email_trace(&t->mail, type, data, size);
        if (refused != NULL)
                log_warnx("delivery %s: the relay refused recipient %s", t->uid,
                          refused);
        free(refused);
        return 0;
}

/* An email job: the relay, TLS and credentials from the email group. */
static int
prepare_email(struct wk *w, struct transfer *t, const struct channel *ch,
              json_t *job, const char *title, const char *text,
              enum outcome *fail, bool *local, char **cause)
{
        const struct conf *c = w->conf;
        struct email_input in;
        const char *secret = NULL;
        char *host = NULL;
        int rc = -1;

        *fail = OUTCOME_FAILED;
        if (!c->email.present) {
                xasprintf(cause, "this worker's config has no email group");
                log_warnx("delivery %s: %s", t->uid, *cause);
                *fail = OUTCOME_RETRY;
                *local = true;
                goto out;
        }
        /* The From domain names every Message-ID, so any worker sending a
         * delivery again gives it the same id. */
        host = ics_uid_host(c->email.from);
        in.job = job;
        in.from = c->email.from;
        in.to = ch->to;
        in.nto = ch->nto;
        in.subject = title;
        in.text = text;
        in.host = host != NULL ? host : "ofsted-notify.invalid";
        in.now = (int64_t)time(NULL);
        if (email_build(t->easy, &in, &t->mail, cause) < 0)
                goto out;
        curl_easy_setopt(t->easy, CURLOPT_URL, c->email.smtp);
        curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(t->easy, CURLOPT_MAIL_FROM, t->mail.mail_from);
        curl_easy_setopt(t->easy, CURLOPT_MAIL_RCPT, t->mail.rcpt);
        /* One refused recipient (someone who left) must not cost the
         * others their alert: libcurl goes on with the accepted ones and
         * fails only when the relay refuses them all. 8.2 fixed the name. */
#if CURL_AT_LEAST_VERSION(8, 2, 0)
        curl_easy_setopt(t->easy, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
        curl_easy_setopt(t->easy, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
#endif
        /* The trace is the only place libcurl shows which one it was. */
        curl_easy_setopt(t->easy, CURLOPT_DEBUGFUNCTION, on_smtp_trace);
        curl_easy_setopt(t->easy, CURLOPT_DEBUGDATA, t);
        curl_easy_setopt(t->easy, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->mail.headers);
        curl_easy_setopt(t->easy, CURLOPT_MIMEPOST, t->mail.mime);
        /* Bounds the wait for a reply, QUIT included (else 120 s). */
        curl_easy_setopt(t->easy, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                         (long)(w->opts->timeout_ms / 1000));
        /* starttls and implicit TLS both insist, never falling back to
         * clear text; none only reaches here for a loopback relay (the
         * config loader sees to that). */
        curl_easy_setopt(t->easy, CURLOPT_USE_SSL,
                         c->email.tls == EMAIL_TLS_NONE ? (long)CURLUSESSL_NONE
                                                        : (long)CURLUSESSL_ALL);
        if (c->email.ca_file[0] != '\0')
                curl_easy_setopt(t->easy, CURLOPT_CAINFO, c->email.ca_file);
        if (c->email.username[0] != '\0')
                curl_easy_setopt(t->easy, CURLOPT_USERNAME, c->email.username);
        secret = wsecrets_mail(w->secrets, cause);
        if (*cause != NULL) {
                *fail = OUTCOME_RETRY;
                *local = true;
                goto out;
        }
        if (c->email.password_file[0] != '\0') {
                curl_easy_setopt(t->easy, CURLOPT_PASSWORD, secret);
        } else if (c->email.bearer_token_file[0] != '\0') {
                /* XOAUTH2, as Microsoft 365 and Gmail take it (libcurl
                 * would prefer OAUTHBEARER when a server offers both). */
                curl_easy_setopt(t->easy, CURLOPT_LOGIN_OPTIONS,
                                 "AUTH=XOAUTH2");
                curl_easy_setopt(t->easy, CURLOPT_XOAUTH2_BEARER, secret);
        }
        rc = 0;
out:
        free(host);
        return rc;
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
        struct transfer *t = NULL;
        char *title = NULL, *text = NULL, *cause = NULL;
        enum outcome fail = OUTCOME_FAILED;
        bool local = false;
        int rc;

        if (w->stop_by_ms != 0)
                return;
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
        t = xcalloc(1, sizeof(*t));
        t->w = w;
        t->uid = xstrdup(uid);
        t->lease = job->lease;
        t->email = ch->type == CHANNEL_EMAIL;
        t->easy = easy_get(w);
        if (t->easy == NULL) {
                xasprintf(&cause, "cannot start a transfer");
                fail = OUTCOME_RETRY;
                goto fail;
        }
        vars = template_vars(job->alert);
        title = template_render(conf_template(w->conf, ch->type, true), vars);
        text = template_render(conf_template(w->conf, ch->type, false), vars);
        common_options(w, t);
        /* Since a reload, until the multi handle is renewed: libcurl (7.88)
         * reuses a plain or STARTTLS connection without comparing its TLS
         * settings, so one made under the old config (tls = "none", another
         * ca_file) must not carry this transfer. */
        if (w->renew_multi) {
                curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L);
                curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L);
        }
        if (t->email)
                rc = prepare_email(w, t, ch, m->root, title, text, &fail,
                                   &local, &cause);
        else
                rc = prepare_webhook(w, t, ch, m->root, title, text, &fail,
                                     &local, &cause);
        if (rc < 0)
                goto fail;
        if (curl_multi_add_handle(w->multi, t->easy) != CURLM_OK) {
                xasprintf(&cause, "cannot queue the transfer");
                fail = OUTCOME_RETRY;
                goto fail;
        }
        w->active++;
        t->next = w->live;
        if (w->live != NULL)
                w->live->prev = t;
        w->live = t;
        log_debug("delivery %s: sending to '%s' (%s)", uid, name, type);
        t = NULL;
        goto out;
fail:
        report(w, uid, job->lease, fail, 0, -1, local, cause);
out:
        if (t != NULL) {
                /* Never added to the multi handle: nothing to remove. */
                easy_put(w, t->easy);
                t->easy = NULL;
                transfer_free(t);
        }
        json_decref(vars);
        free(title);
        free(text);
        free(cause);
}

/* Turns finished transfers into outcomes. */
static void
reap(struct wk *w)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
                struct transfer *t = NULL;
                struct http_response r = { 0, NULL, 0, -1, NULL };
                char *error = NULL;
                long retry_after = -1;
                curl_off_t ra = 0;
                long code = 0;
                enum outcome o;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
                /* SMTP's last reply code counts even when the transfer
                 * failed (a 550 to RCPT); HTTP's only with a whole answer. */
                curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
                if (msg->data.result == CURLE_OK) {
                        r.status = code;
                        /* 7.88 can give a negative value for a past date. */
                        if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER,
                                              &ra) == CURLE_OK &&
                            ra > 0)
                                r.retry_after = ra > 3600 ? 3600 : (long)ra;
                } else {
                        r.transport_error =
                            curl_easy_strerror(msg->data.result);
                }
                r.body = t->resp;
                r.len = t->len;
                if (t->email)
                        o = email_classify(msg->data.result, code, &error);
                else
                        o = t->be->classify(&r, &retry_after, &error);
                report(w, t->uid, t->lease, o, code, retry_after, false, error);
                free(error);
                w->active--;
                transfer_free(t);
        }
}

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
        struct wk *w = arg;
        size_t i;

        (void)easy;
        (void)sockp;
        for (i = 0; i < w->nwatches && w->watches[i].fd != fd; i++)
                ;
        if (what == CURL_POLL_REMOVE) {
                if (i < w->nwatches)
                        w->watches[i] = w->watches[--w->nwatches];
                return 0;
        }
        if (i == w->nwatches) {
                w->watches = xreallocarray(w->watches, w->nwatches + 1,
                                           sizeof(*w->watches));
                w->nwatches++;
        }
        w->watches[i].fd = fd;
        w->watches[i].events =
            (short)((what & CURL_POLL_IN ? ZMQ_POLLIN : 0) |
                    (what & CURL_POLL_OUT ? ZMQ_POLLOUT : 0));
        return 0;
}

static int
on_timer(CURLM *multi, long timeout_ms, void *arg)
{
        struct wk *w = arg;

        (void)multi;
        w->timer_ms = timeout_ms < 0 ? -1 : os_mono_ms() + timeout_ms;
        return 0;
}

/*
 * A multi handle set up for w->conf. libcurl caches connections per multi
 * handle: a new one starts without any.
 */
static CURLM *
multi_new(struct wk *w)
{
        CURLM *multi = curl_multi_init();

        if (multi == NULL)
                fatalx("curl_multi_init failed");
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, w);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(multi, CURLMOPT_TIMERDATA, w);
        /* libcurl keeps four idle connections per transfer under way, so
         * its cache shrank as a burst drained and closed connections that
         * the next jobs opened again (464 connects for 10,000 deliveries
         * to one host; 147 with this). Four per transfer the credit
         * allows; idle ones still close after libcurl's maximum age. */
        curl_multi_setopt(
            multi, CURLMOPT_MAXCONNECTS,
            (long)(w->opts->credit > 0 ? 4 * w->opts->credit : 4));
        /* Connections are reused per host; a relay gets only so many. */
        if (strcmp(w->opts->kind, "email") == 0)
                curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                                  (long)w->conf->email.connections);
        return multi;
}

/* After a reload, once no transfer is under way: closes the connections
 * made under the old config by starting a new multi handle. */
static void
renew_multi(struct wk *w)
{
        curl_multi_cleanup(w->multi);
        w->nwatches = 0;
        w->timer_ms = -1;
        w->multi = multi_new(w);
        w->renew_multi = false;
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
};

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
                        conf_destroy(&w->conf);
                        w->conf = next;
                        w->secrets = wsecrets_new(w->conf);
                        w->renew_multi = true;
                        log_info("configuration reloaded");
                        svc_ready();
                } else if (w->stop_by_ms == 0) {
                        svc_stopping();
                        log_info("signal %u: finishing %zu transfers, then "
                                 "stopping",
                                 si.ssi_signo, w->active);
                        w->stop_by_ms = os_mono_ms() + STOP_GRACE_MS;
                }
        }
}

/* Heartbeats, repeated outcomes, a scheduler gone quiet; the end of a
 * stop. */
static void
timers(struct wk *w, int64_t now)
{
        size_t unacked;

        link_timers(w->link, now, credit_left(w));
        unacked = link_unacked(w->link);
        if (w->stop_by_ms != 0 &&
            ((w->active == 0 && unacked == 0) || now >= w->stop_by_ms)) {
                if (w->active > 0 || unacked > 0)
                        log_warnx("stopping with %zu transfers unfinished and "
                                  "%zu outcomes unacknowledged: the scheduler "
                                  "will send them again",
                                  w->active, unacked);
                w->running = false;
        }
}

static int
poll_timeout(struct wk *w, int64_t now)
{
        int64_t t = link_next_ms(w->link);

        if (w->timer_ms >= 0 && w->timer_ms < t)
                t = w->timer_ms;
        t = now + svc_watchdog_sleep(&w->watchdog, now, t - now);
        return t <= now ? 0 : (int)(t - now);
}

static void
loop(struct wk *w)
{
        zmq_pollitem_t *items = NULL;
        int running;

        while (w->running) {
                size_t n, nwatches;
                int64_t now = os_mono_ms();

                if (w->renew_multi && w->active == 0)
                        renew_multi(w);
                /* curl may add or drop watches below: poll these ones. */
                nwatches = w->nwatches;
                n = 3 + nwatches;

                items = xreallocarray(items, n, sizeof(*items));
                items[0] = (zmq_pollitem_t){ NULL, w->sigfd, ZMQ_POLLIN, 0 };
                for (size_t i = 0; i < w->nwatches; i++)
                        items[1 + i] =
                            (zmq_pollitem_t){ NULL, w->watches[i].fd,
                                              w->watches[i].events, 0 };
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
                for (size_t i = 1; i < 1 + nwatches; i++) {
                        int ev =
                            (items[i].revents & ZMQ_POLLIN ? CURL_CSELECT_IN
                                                           : 0) |
                            (items[i].revents & ZMQ_POLLOUT ? CURL_CSELECT_OUT
                                                            : 0) |
                            (items[i].revents & ZMQ_POLLERR ? CURL_CSELECT_ERR
                                                            : 0);

                        if (ev != 0)
                                curl_multi_socket_action(w->multi, items[i].fd,
                                                         ev, &running);
                }
                if (w->timer_ms >= 0 && os_mono_ms() >= w->timer_ms) {
                        w->timer_ms = -1;
                        curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT,
                                                 0, &running);
                }
                reap(w);
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
        w.timer_ms = -1;
        w.running = true;
        w.sigfd = os_signalfd();
        w.secrets = wsecrets_new(conf);

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                fatalx("curl_global_init failed");
        w.multi = multi_new(&w);

        w.link = link_new(conf, opts->kind, opts->credit, &cause, &status);
        if (w.link == NULL) {
                if (status != CONF_EXIT)
                        fatalx("%s", cause);
                log_err("%s", cause);
                exit(CONF_EXIT);
        }
        log_info("worker %s: %s, credit %d", link_id(w.link),
                 link_endpoint(w.link), opts->credit);
        link_ready(w.link, credit_left(&w));
        svc_watchdog_init(&w.watchdog, os_mono_ms());
        svc_ready();
        svc_status("waiting for the scheduler");

        loop(&w);

        /* Whatever is still in flight: its lease runs out at the scheduler. */
        while (w.live != NULL)
                transfer_free(w.live);
        free(w.watches);
        wsecrets_destroy(&w.secrets);
        while (w.nspare > 0)
                curl_easy_cleanup(w.spare[--w.nspare]);
        curl_multi_cleanup(w.multi);
        curl_global_cleanup();
        link_destroy(&w.link);
        close(w.sigfd);
        conf_destroy(&w.conf);
        log_info("stopped");
        return w.status;
}
