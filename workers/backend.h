/*
 * backend: the delivery flavours behind one ops table.
 *
 * A webhook backend turns a job (docs/dispatch.md) into the HTTP request its
 * service documents, and a response into an outcome. Both are pure: the
 * secrets (URL, signing key) are read by the caller and passed in, the clock
 * is passed in, and nothing here touches the network. The worker loop owns
 * the transfer; this module owns what goes over it.
 */
#ifndef ONOTIFY_BACKEND_H
#define ONOTIFY_BACKEND_H

#include "conf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum outcome {
        OUTCOME_DELIVERED,
        OUTCOME_RETRY,  /* try again later (retry_after when the server said) */
        OUTCOME_FAILED, /* failed for good: retrying cannot help */
};

const char *outcome_name(enum outcome o); /* "delivered", "retry", "failed" */

/* What a backend needs besides the job: secrets and message templates. */
struct backend_input {
        json_t *job;     /* the JOB body: delivery, attempt, alert, ... */
        const char *url; /* the channel's webhook URL (a secret) */
        const unsigned char *key; /* signing key (webhook type), or NULL */
        size_t keylen;
        const char *title; /* rendered title template; NULL: default */
        const char *text;  /* rendered text template; NULL: default */
        int64_t now;       /* for webhook-timestamp */
        /* The channel (ntfy, pushover, sms read its settings), or NULL;
         * its token_file and user_key_file as read (secrets), or NULL. */
        const struct channel *ch;
        const char *token, *user;
};

/* An HTTP request to make: POST url with these headers and body. */
struct http_request {
        char *url;      /* owned */
        char **headers; /* owned, "Name: value" each */
        size_t nheaders;
        char *body; /* owned, NUL-terminated JSON */
};

struct http_response {
        long status;      /* 0 when no response came (timeout, refused) */
        const char *body; /* may be NULL */
        size_t len;
        long retry_after; /* seconds from Retry-After, -1 when absent */
        const char *transport_error; /* curl's message when status is 0 */
};

struct backend_ops {
        const char *type; /* the channel type: "teams", "slack", ... */
        /* Builds the request; -1 with *cause (caller frees) if it cannot. */
        int (*build)(const struct backend_input *in, struct http_request *out,
                     char **cause);
        /*
         * The outcome of a response; *retry_after in seconds (-1: none);
         * *error (caller frees) a short description without URL or secret.
         */
        enum outcome (*classify)(const struct http_response *r,
                                 long *retry_after, char **error);
        /*
         * Optional: what to log of a delivered response (Pushover's
         * emergency receipt), a new string without secret, or NULL.
         */
        char *(*note)(const struct http_response *r);
};

/*
 * Whether `d` may be a delivery id: 1 to 128 letters, digits, '_' and '-'.
 * It goes into headers, the signed "id.timestamp.body", and JSON unquoted.
 */
bool backend_valid_delivery(const char *d);
/* The backend for a channel type, or NULL (email is not a webhook). */
const struct backend_ops *backend_find(const char *type);
/* Frees what r owns and clears it; accepts NULL. */
void http_request_free(struct http_request *r);

/* Room for "v1,", the base64 of an HMAC-SHA256 and the NUL. */
#define WEBHOOK_SIG_LEN 48

/*
 * The Standard Webhooks signature of one attempt, "v1," and the base64
 * (original alphabet, padded) HMAC-SHA256 of "<id>.<timestamp>.<body>"
 * under key, into sig (siglen >= WEBHOOK_SIG_LEN).
 */
void webhook_sign(const unsigned char *key, size_t keylen, const char *id,
                  int64_t timestamp, const char *body, char *sig,
                  size_t siglen);

#endif
