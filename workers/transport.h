/*
 * transport: how a job of each channel type goes over the wire, as one
 * table with an entry per type (STYLE #10).
 *
 * Email is an entry like each HTTP flavour. An entry's prepare() sets up
 * a libcurl easy handle for one job: for an HTTP flavour the request its
 * backend builds (backend.h) and HTTP's options; for email the message
 * email_build() makes (email.h) and the relay, TLS and credentials of the
 * email group, or that message posted to Microsoft Graph's sendMail
 * (email.transport = "graph"). With email.oauth2 the token comes from
 * the oauth2 module (sign(): the transfer waits, parked, while the first
 * token is asked for), and a transfer refused for its token is run again
 * once with a renewed one (refused()). Its classify() turns the finished
 * transfer into an outcome. What goes over the wire is the backends' and
 * email's; the transfer module (transfer.h) runs the handles.
 */
#ifndef ONOTIFY_TRANSPORT_H
#define ONOTIFY_TRANSPORT_H

#include "backend.h"
#include "conf.h"
#include "email.h"
#include "oauth2.h"
#include "secrets.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* What a transport keeps for one transfer, until it is over. */
struct transport_job {
        const char *uid;            /* the delivery, for logs; borrowed */
        struct curl_slist *headers; /* HTTP: the request's headers */
        struct http_request req;    /* HTTP: the request */
        struct email_msg mail;      /* email: the message */
        /* email with email.oauth2: the sign-in (a reference held), the
         * token used (oauth2_token()'s gen) and whether it was renewed
         * after a refusal. */
        struct oauth2 *oauth2;
        unsigned gen;
        bool renewed;
        /* email with email.bearer_token_file: the file's name as the
         * config gives it, for the error when the relay refuses the token
         * (a problem on our side: the refresher lags). NULL: none. */
        char *bearer_file;
        char *body; /* Graph: the request's body */
};

/* What prepare() gets besides the handle; all borrowed. */
struct transport_input {
        const struct conf *conf;
        struct wsecrets *secrets;
        const struct channel *ch;
        json_t *job;              /* the JOB body */
        const char *title, *text; /* the rendered templates */
        long timeout_ms;          /* for the whole transfer */
        int64_t now;              /* wall clock, seconds */
        struct oauth2 *oauth2;    /* email.oauth2's sign-in, or NULL */
        int64_t now_ms;           /* monotonic, for the token */
        /* A transport that is no channel's (the heartbeat's), used
         * instead of ch's; ch is NULL then. NULL: ch's. */
        const struct transport *tp;
        /* transport_receipt()'s: the receipt to poll on ch. */
        const char *receipt;
};

struct transport {
        enum channel_type type;
        const struct backend_ops *be; /* an HTTP flavour's backend, or NULL */
        /*
         * Sets `easy` up for the job, keeping what it must outlive in *j.
         * -1 with *cause (caller frees), *fail the outcome to report and
         * *local whether the problem is on our side (a secret file, our
         * config).
         */
        int (*prepare)(const struct transport *tp, CURL *easy,
                       struct transport_job *j,
                       const struct transport_input *in, enum outcome *fail,
                       bool *local, char **cause);
        /*
         * The outcome of a finished transfer: `rc` libcurl's result, `r`
         * the response, `code` the last response code (HTTP or SMTP, 0 for
         * none). *retry_after in seconds (-1: none); *local whether the
         * problem is on our side (a sign-in that failed); *error (caller
         * frees) a short description without URL or secret.
         */
        enum outcome (*classify)(const struct transport *tp,
                                 const struct transport_job *j, CURLcode rc,
                                 const struct http_response *r, long code,
                                 long *retry_after, bool *local, char **error);
        /*
         * After prepare(), for a transport that signs in (NULL for the
         * others): puts the job's token on `easy`. 0; 1 while the sign-in
         * is under way (the transfer waits, and sign() is called again
         * after the next transfer_reap()); -1 with *cause, *fail and
         * *local when it failed (a problem on our side, retried).
         */
        int (*sign)(const struct transport *tp, CURL *easy,
                    struct transport_job *j, int64_t now_ms, enum outcome *fail,
                    bool *local, char **cause);
        /*
         * Before classify(), for a transport that signs in: whether the
         * finished transfer was refused for its token, the first time for
         * this job; that token is then dropped, and the transfer signed
         * again (sign()) and run once more.
         */
        bool (*refused)(const struct transport *tp, struct transport_job *j,
                        CURLcode rc, long code);
};

/* The transport for channels of `type`, or NULL. */
const struct transport *transport_find(enum channel_type type);
/* The transport for channel type `type` under `conf`: for email, SMTP or
 * Microsoft Graph as email.transport says. */
const struct transport *transport_for(const struct conf *conf,
                                      enum channel_type type);
/*
 * The dead-man's switch's transport (docs/dispatch.md): a GET of
 * daemon.heartbeat's URL, its answer classified as a webhook's.
 */
const struct transport *transport_heartbeat(void);
/*
 * A Pushover receipt's poll (docs/dispatch.md, "Pushover receipts"): a GET
 * of pushover_receipt_url() under ch's url (if set), its answer classified
 * as a Pushover answer. The URL holds the application token: never in a
 * cause, wiped with the job.
 */
const struct transport *transport_receipt(void);
/* Frees what j holds and clears it; the handle must be done with it. */
void transport_job_clear(struct transport_job *j);

#endif
