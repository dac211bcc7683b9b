/*
 * email: an alert as an email, built with libcurl's MIME API.
 *
 * RFC 5322 headers (Date, From, To, Subject RFC 2047-encoded when not
 * ASCII, a Message-ID that is the same on every retry:
 * <delivery-id@host>), a text/plain UTF-8 part (quoted-printable) and the
 * deadline as an iCalendar attachment (ics.h). libcurl adds no Date or
 * Message-ID and encodes no headers: all of that is here. Every part gets
 * an explicit transfer encoding. Nothing here touches the network; the
 * worker loop sends what email_build() prepares on its handle.
 */
#ifndef ONOTIFY_EMAIL_H
#define ONOTIFY_EMAIL_H

#include "backend.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct email_input {
        json_t *job;      /* the JOB body (docs/dispatch.md) */
        const char *from; /* "Name <addr>" or "addr", from the config */
        char *const *to;  /* the channel's recipients */
        size_t nto;
        const char *subject; /* the rendered title template */
        const char *text;    /* the rendered text template */
        /* A one-off message (the JOB's "message"): `text` is the whole
         * body, sent as it is, with no calendar attachment. */
        bool plain;
        const char *host; /* the right-hand side of Message-ID */
        int64_t now;      /* for Date and DTSTAMP */
};

/* What a transfer needs; owned, released with email_msg_free(). */
struct email_msg {
        struct curl_slist *headers; /* CURLOPT_HTTPHEADER: the mail headers */
        curl_mime *mime;            /* CURLOPT_MIMEPOST */
        struct curl_slist *rcpt;    /* CURLOPT_MAIL_RCPT: <addr> each */
        char *mail_from;            /* CURLOPT_MAIL_FROM: <addr> */
        char *message_id;           /* "<delivery@host>", for logs/tests */
        char *text;  /* part 1 (CRLF lines) and part 2 (the calendar) as */
        char *ics;   /* given to libcurl, which copies them: for tests */
        char *asked; /* email_trace(): the RCPT TO awaiting its reply */
};

/*
 * Builds the message for `easy` (the MIME parts belong to that handle);
 * the caller sets the four options named above from *out and frees it
 * with email_msg_free() once the transfer is over. The attachment's UID
 * is "<case>-<rule>@<domain of from>" (ics_deadline_event()), the same as
 * ofsted-notifyctl ics writes. Returns -1 with *cause when the input
 * cannot make a valid message, among them a header value (from, to,
 * subject, host) holding CR, LF or another control character.
 */
int email_build(CURL *easy, const struct email_input *in, struct email_msg *out,
                char **cause);
void email_msg_free(struct email_msg *m);

/*
 * Follows the SMTP conversation of m's transfer as libcurl traces it
 * (CURLOPT_DEBUGFUNCTION with CURLOPT_VERBOSE): pass every call on. When
 * `data` ends the relay's refusal (4xx or 5xx) of a RCPT TO, returns
 * "'address': reply" for the caller to log, and the caller frees it;
 * otherwise NULL. The state lives in m: the address of a RCPT TO until
 * its reply, nothing else (an AUTH line passes by untouched).
 */
char *email_trace(struct email_msg *m, curl_infotype type, const char *data,
                  size_t size);

/*
 * The outcome of an SMTP transfer: `rc` is libcurl's result, `code` the
 * last SMTP response code (CURLINFO_RESPONSE_CODE, 0 if none). 4xx and
 * connection trouble are retried; 5xx fails for good; a server without
 * STARTTLS when it is required fails for good, saying so. When the relay
 * refused every recipient, `code` is its reply to the last one.
 */
enum outcome email_classify(CURLcode rc, long code, char **error);

/*
 * The whole message m holds as MIME text (CRLF lines): its headers,
 * MIME-Version, and a multipart/mixed body with the text and the
 * calendar, both base64. For a service that takes a message rather than
 * an SMTP conversation (Microsoft Graph's sendMail). Caller frees.
 */
char *email_mime_text(const struct email_msg *m);

/* The address in a configured sender, "Name <addr>" or "addr". Caller
 * frees. */
char *email_from_address(const char *from);

/* "=?UTF-8?B?...?=" words for a header value that is not plain ASCII;
 * plain ASCII comes back as it is. Caller frees. */
char *email_encode_header(const char *value);

#endif
