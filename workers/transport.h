/*
 * transport: how a job of each channel type goes over the wire, as one
 * table with an entry per type (STYLE #10).
 *
 * Email is an entry like each HTTP flavour. An entry's prepare() sets up
 * a libcurl easy handle for one job: for an HTTP flavour the request its
 * backend builds (backend.h) and HTTP's options; for email the message
 * email_build() makes (email.h) and the relay, TLS and credentials of the
 * email group. Its classify() turns the finished transfer into an
 * outcome. What goes over the wire is the backends' and email's; the
 * transfer module (transfer.h) runs the handles.
 */
#ifndef ONOTIFY_TRANSPORT_H
#define ONOTIFY_TRANSPORT_H

#include "backend.h"
#include "conf.h"
#include "email.h"
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
         * none). *retry_after in seconds (-1: none); *error (caller frees)
         * a short description without URL or secret.
         */
        enum outcome (*classify)(const struct transport *tp, CURLcode rc,
                                 const struct http_response *r, long code,
                                 long *retry_after, char **error);
};

/* The transport for channels of `type`, or NULL. */
const struct transport *transport_find(enum channel_type type);
/* Frees what j holds and clears it; the handle must be done with it. */
void transport_job_clear(struct transport_job *j);

#endif
