/*
 * Pushover (https://pushover.net/api): a POST of form fields to
 * /1/messages.json: token (the application's), user (the user or group
 * key), title (at most 250 characters), message (at most 1,024), priority
 * (1, high, by default; 2, an emergency repeated every `retry` seconds
 * until acknowledged or `expire` passes, for the deadline hour), and url
 * (at most 512) with url_title: the acknowledgement page, else the case's,
 * when the job carries them.
 *
 * Answers are JSON: {"status": 1, "request": "..."} and, for an
 * emergency, "receipt"; a refusal is a 4xx with {"status": 0, "errors":
 * [...]} (failed for good, the errors kept as the reason), 429 the
 * application's monthly limit (retried), 5xx retried.
 *
 * A receipt is polled with GET /1/receipts/{receipt}.json?token=...; the
 * reply is parsed here (pushover_receipt_parse). Turning its
 * acknowledgement into the rule's is the acknowledgement issue's: see
 * docs/dispatch.md, "Pushover receipts".
 */
#include "backend_int.h"

#include "dproto.h"
#include "xalloc.h"

#include <string.h>

#define API_BASE        "https://api.pushover.net"
#define MESSAGES_PATH   "/1/messages.json"
#define TITLE_CHARS     250
#define MESSAGE_CHARS   1024
#define URL_CHARS       512
#define URL_TITLE_CHARS 100

int
pushover_form(const struct job_view *j, const char *token, const char *user,
              int retry, int expire, char **form)
{
        char *title = text_cut(j->title, TITLE_CHARS);
        char *msg = text_cut(j->text, MESSAGE_CHARS);
        const char *link = j->ack_url[0] != '\0' ? j->ack_url : j->case_url;
        char num[16];
        bool emergency = backend_urgent(j);

        *form = NULL;
        form_add(form, "token", token);
        form_add(form, "user", user);
        form_add(form, "title", title);
        form_add(form, "message", msg);
        form_add(form, "priority", emergency ? "2" : "1");
        if (emergency) {
                snprintf(num, sizeof(num), "%d", retry);
                form_add(form, "retry", num);
                snprintf(num, sizeof(num), "%d", expire);
                form_add(form, "expire", num);
        }
        /* A link cut short leads nowhere: one too long is left out. */
        if (link[0] != '\0' && strlen(link) <= URL_CHARS) {
                form_add(form, "url", link);
                form_add(form, "url_title",
                         j->ack_url[0] != '\0' ? "Acknowledge"
                                               : "Open the case");
        }
        free(title);
        free(msg);
        return emergency ? 2 : 1;
}

static int
pushover_build(const struct backend_input *in, struct http_request *out,
               char **cause)
{
        struct job_view j;
        char *title = NULL, *text = NULL, *form = NULL, *url = NULL;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (in->token == NULL || in->user == NULL) {
                *cause = xstrdup("pushover needs token_file and user_key_file");
                goto out;
        }
        if (backend_job(in, &j, &title, &text, cause) < 0)
                goto out;
        pushover_form(&j, in->token, in->user,
                      in->ch != NULL ? in->ch->retry : 60,
                      in->ch != NULL ? in->ch->expire : 3600, &form);
        url = backend_endpoint(in->url, API_BASE, MESSAGES_PATH);
        rc = backend_request_text(out, url, form,
                                  "application/x-www-form-urlencoded",
                                  j.delivery, cause);
out:
        if (form != NULL)
                explicit_bzero(form, strlen(form));
        free(form);
        free(url);
        free(title);
        free(text);
        return rc;
}

/* The "errors" of a Pushover answer joined with "; ", or NULL. */
static char *
errors_of(const json_t *doc)
{
        const json_t *errs = json_object_get(doc, "errors"), *e;
        char *out = NULL, *next, *cut;
        size_t i;

        json_array_foreach(errs, i, e)
        {
                const char *s = json_string_value(e);

                if (s == NULL)
                        continue;
                xasprintf(&next, "%s%s%s", out ? out : "", out ? "; " : "", s);
                free(out);
                out = next;
        }
        if (out == NULL)
                return NULL;
        cut = text_cut_bytes(out, 160);
        free(out);
        return cut;
}

static enum outcome
pushover_classify(const struct http_response *r, long *retry_after,
                  char **error)
{
        json_t *doc = NULL;
        enum outcome o = backend_classify_http(r, retry_after, error);
        char *why;

        if (r->body != NULL && r->len > 0)
                doc = json_loadb(r->body, r->len, 0, NULL);
        if (o == OUTCOME_DELIVERED) {
                /* A 2xx must say status 1; anything else is not a send. */
                if (json_integer_value(json_object_get(doc, "status")) != 1) {
                        why = errors_of(doc);
                        xasprintf(error, "HTTP %ld but status is not 1%s%s",
                                  r->status, why ? ": " : "", why ? why : "");
                        free(why);
                        o = OUTCOME_FAILED;
                }
        } else if (r->status >= 400 && r->status < 500 &&
                   (why = errors_of(doc)) != NULL) {
                free(*error);
                xasprintf(error, "HTTP %ld: %s", r->status, why);
                free(why);
        }
        json_decref(doc);
        return o;
}

char *
pushover_receipt_of(const char *body, size_t len)
{
        json_t *doc;
        const char *receipt;
        char *out = NULL;

        if (body == NULL || len == 0)
                return NULL;
        doc = json_loadb(body, len, 0, NULL);
        receipt = json_string_value(json_object_get(doc, "receipt"));
        /* Receipts are 30 letters and digits; anything else is not one,
         * judged as the scheduler judges the one an OUTCOME carries. */
        if (receipt != NULL && dproto_receipt_valid(receipt))
                out = xstrdup(receipt);
        json_decref(doc);
        return out;
}

static char *
pushover_note(const struct http_response *r)
{
        char *receipt = pushover_receipt_of(r->body, r->len), *out = NULL;

        if (receipt != NULL)
                xasprintf(&out, "pushover emergency receipt '%s'", receipt);
        free(receipt);
        return out;
}

char *
pushover_receipt_url(const char *base, const char *receipt, const char *token)
{
        char *path, *url, *q = NULL;

        form_add(&q, "token", token);
        xasprintf(&path, "/1/receipts/%s.json?%s", receipt, q);
        url = backend_endpoint(base, API_BASE, path);
        explicit_bzero(q, strlen(q));
        free(q);
        explicit_bzero(path, strlen(path));
        free(path);
        return url;
}

int
pushover_receipt_parse(const char *body, size_t len,
                       struct pushover_receipt *out, char **cause)
{
        json_t *doc = json_loadb(body != NULL ? body : "", len, 0, NULL);
        const json_t *v;
        const char *by;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (!json_is_object(doc)) {
                *cause = xstrdup("the receipt reply is not a JSON object");
                goto out;
        }
        if (json_integer_value(json_object_get(doc, "status")) != 1) {
                char *why = errors_of(doc);

                xasprintf(cause, "the receipt reply has status %lld%s%s",
                          (long long)json_integer_value(
                              json_object_get(doc, "status")),
                          why ? ": " : "", why ? why : "");
                free(why);
                goto out;
        }
        v = json_object_get(doc, "acknowledged");
        if (!json_is_integer(v)) {
                *cause = xstrdup("the receipt reply lacks 'acknowledged'");
                goto out;
        }
        out->acknowledged = json_integer_value(v) == 1;
        out->acknowledged_at =
            json_integer_value(json_object_get(doc, "acknowledged_at"));
        out->expired = json_integer_value(json_object_get(doc, "expired")) == 1;
        out->expires_at =
            json_integer_value(json_object_get(doc, "expires_at"));
        by = json_string_value(json_object_get(doc, "acknowledged_by"));
        if (out->acknowledged &&
            (by == NULL || by[0] == '\0' || out->acknowledged_at <= 0)) {
                *cause = xstrdup("the receipt is acknowledged but says not "
                                 "by whom or when");
                goto out;
        }
        snprintf(out->acknowledged_by, sizeof(out->acknowledged_by), "%s",
                 out->acknowledged ? by : "");
        rc = 0;
out:
        json_decref(doc);
        return rc;
}

const struct backend_ops backend_pushover = {
        .type = "pushover",
        .build = pushover_build,
        .classify = pushover_classify,
        .note = pushover_note,
};
