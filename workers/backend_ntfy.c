/*
 * ntfy (https://docs.ntfy.sh/publish/): a POST of the message as plain
 * text to the topic's URL, the rest in headers. Title (RFC 2047 encoded
 * when it is not ASCII, as ntfy decodes it), Priority by ntfy's names
 * (the channel's, "urgent" for the deadline hour), Tags (comma-separated:
 * an emoji short code and the rule), Click (the case's page, when the job
 * carries it), Actions (one "view" action to the acknowledgement page,
 * when the job carries it) and, with a token_file, Authorization: Bearer.
 * ntfy keeps a message of at most 4,096 bytes as text (a longer one
 * becomes an attachment), so the text is cut to that. Its error bodies
 * are JSON {"code", "http", "error", "link"}: the shared classification
 * reads "error".
 */
#include "backend_int.h"

#include "xalloc.h"

#include <sodium.h>
#include <string.h>

#define MESSAGE_BYTES 4096
#define TITLE_UNITS   250 /* a notification's title: one screen line */

/* Whether s is printable ASCII only. */
static bool
ascii(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p >= 0x7f)
                        return false;
        }
        return true;
}

/* A header value for text: as is when ASCII, else "=?UTF-8?B?...?=". */
static char *
encoded_word(const char *s)
{
        size_t len = strlen(s), blen;
        char *b64, *out;

        if (ascii(s))
                return xstrdup(s);
        blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        b64 = xmalloc(blen);
        sodium_bin2base64(b64, blen, (const unsigned char *)s, len,
                          sodium_base64_VARIANT_ORIGINAL);
        xasprintf(&out, "=?UTF-8?B?%s?=", b64);
        free(b64);
        return out;
}

/* ntfy's short action format splits on ',' and ';': a URL keeps its
 * meaning with them percent-encoded. */
static char *
action_url(const char *url)
{
        char *out = xmalloc(3 * strlen(url) + 1), *o = out;

        for (const char *p = url; *p != '\0'; p++) {
                if (*p == ',' || *p == ';' || *p == '"' || *p == '\'') {
                        snprintf(o, 4, "%%%02X", (unsigned char)*p);
                        o += 3;
                } else if ((unsigned char)*p > 0x20 && *p != 0x7f) {
                        *o++ = *p;
                }
        }
        *o = '\0';
        return out;
}

enum ntfy_priority
ntfy_priority_of(const struct job_view *j, enum ntfy_priority configured)
{
        if (backend_urgent(j))
                return NTFY_URGENT;
        return configured >= NTFY_MIN && configured <= NTFY_URGENT ? configured
                                                                   : NTFY_HIGH;
}

static int
ntfy_build(const struct backend_input *in, struct http_request *out,
           char **cause)
{
        struct job_view j;
        char *title = NULL, *text = NULL, *msg = NULL, *h = NULL, *t = NULL;
        enum ntfy_priority prio;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (backend_job(in, &j, &title, &text, cause) < 0)
                goto out;
        msg = text_cut_bytes(j.text, MESSAGE_BYTES);
        if (backend_request_text(out, in->url, msg, "text/plain; charset=utf-8",
                                 j.delivery, cause) < 0)
                goto out;
        t = text_cut(j.title, TITLE_UNITS);
        free(h);
        h = header_clean(t);
        free(t);
        t = encoded_word(h);
        backend_add_header(out, "Title", t);
        prio =
            ntfy_priority_of(&j, in->ch != NULL ? in->ch->priority : NTFY_HIGH);
        backend_add_header(out, "Priority", conf_ntfy_priority_name(prio));
        free(h);
        xasprintf(&h, "%s,%s",
                  prio == NTFY_URGENT ? "rotating_light" : "warning", j.rule);
        free(t);
        t = header_clean(h);
        backend_add_header(out, "Tags", t);
        if (j.case_url[0] != '\0') {
                free(t);
                t = header_clean(j.case_url);
                backend_add_header(out, "Click", t);
        }
        if (j.ack_url[0] != '\0') {
                free(h);
                h = action_url(j.ack_url);
                free(t);
                xasprintf(&t, "view, Acknowledge, %s, clear=true", h);
                backend_add_header(out, "Actions", t);
        }
        if (in->token != NULL && in->token[0] != '\0') {
                free(t);
                xasprintf(&t, "Bearer %s", in->token);
                backend_add_header(out, "Authorization", t);
                sodium_memzero(t, strlen(t));
        }
        rc = 0;
out:
        if (rc < 0)
                http_request_free(out);
        free(t);
        free(h);
        free(msg);
        free(title);
        free(text);
        return rc;
}

const struct backend_ops backend_ntfy = {
        .type = "ntfy",
        .build = ntfy_build,
        .classify = backend_classify_http,
};
