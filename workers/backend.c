/*
 * backend: the ops table and what the webhook flavours share.
 *
 * Classification (backend_classify_http), as the services and the
 * Standard Webhooks spec agree:
 *   2xx                         delivered (Teams' 202 means accepted only)
 *   0 (no response), 1xx,
 *   408, 425, 429, 5xx, >= 600  retry, honouring Retry-After when given
 *   3xx                         failed: redirects are not followed
 *   other 4xx                   failed: retrying the same request cannot help
 * Error texts are short ("HTTP 503", "HTTP 404 (not found: ...)"), may add
 * the service's own reason, and never hold the URL.
 */
#include "backend_int.h"

#include "rules.h"
#include "template.h"
#include "xalloc.h"

#include <ctype.h>
#include <string.h>

#define DETAIL_MAX 100 /* bytes of a service's reason kept in an error */
#define BODY_PEEK  4096

static const struct backend_ops *const backends[] = {
        &backend_teams,      &backend_google_chat,
        &backend_slack,      &backend_discord,
        &backend_mattermost, &backend_webhook,
        &backend_ntfy,       &backend_pushover,
        &backend_sms,        NULL,
};

const struct backend_ops *
backend_find(const char *type)
{
        if (type == NULL)
                return NULL;
        for (size_t i = 0; backends[i] != NULL; i++) {
                if (strcmp(backends[i]->type, type) == 0)
                        return backends[i];
        }
        return NULL;
}

const char *
outcome_name(enum outcome o)
{
        switch (o) {
        case OUTCOME_DELIVERED:
                return "delivered";
        case OUTCOME_RETRY:
                return "retry";
        case OUTCOME_FAILED:
                return "failed";
        }
        return "?";
}

void
http_request_free(struct http_request *r)
{
        if (r == NULL)
                return;
        /* A URL or a form may hold a token (Pushover's): wiped. */
        if (r->url != NULL)
                explicit_bzero(r->url, strlen(r->url));
        if (r->body != NULL)
                explicit_bzero(r->body, strlen(r->body));
        free(r->url);
        for (size_t i = 0; i < r->nheaders; i++)
                free(r->headers[i]);
        free(r->headers);
        free(r->body);
        memset(r, 0, sizeof(*r));
}

/* --- JSON --------------------------------------------------------------- */

void
jset(json_t *obj, const char *key, json_t *value)
{
        if (value == NULL || json_object_set_new(obj, key, value) < 0)
                abort();
}

json_t *
jstr(const char *s)
{
        json_t *v = json_string(s != NULL ? s : "");

        return v != NULL ? v : json_string("");
}

/* --- The job ------------------------------------------------------------ */

static const char *
str(const json_t *obj, const char *key)
{
        const char *v = json_string_value(json_object_get(obj, key));

        return v != NULL ? v : "";
}

bool
backend_valid_delivery(const char *d)
{
        size_t n = strlen(d);

        return n > 0 && n <= 128 &&
               strspn(d, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

int
backend_job(const struct backend_input *in, struct job_view *j,
            char **owned_title, char **owned_text, char **cause)
{
        const json_t *job = in->job, *school, *attempt;
        json_t *vars = NULL;
        /* The alert's texts, each "" when absent. */
        const struct {
                const char **field;
                const char *key;
        } texts[] = {
                { &j->trust, "trust" },
                { &j->rule, "rule" },
                { &j->offset, "offset" },
                { &j->action, "action" },
                { &j->contact, "contact" },
                { &j->at, "at" },
                { &j->due, "due" },
                { &j->due_utc, "due_utc" },
                { &j->due_human, "due_human" },
                { &j->opens, "opens" },
                { &j->opens_human, "opens_human" },
                { &j->warning, "warning" },
                { &j->case_url, "case_url" },
                { &j->ack_url, "ack_url" },
        };

        memset(j, 0, sizeof(*j));
        *owned_title = *owned_text = NULL;
        if (!json_is_object(job)) {
                *cause = xstrdup("the job is not a JSON object");
                return -1;
        }
        j->delivery = str(job, "delivery");
        if (!backend_valid_delivery(j->delivery)) {
                *cause = xstrdup("the job's 'delivery' is missing or not an "
                                 "identifier");
                return -1;
        }
        attempt = json_object_get(job, "attempt");
        j->attempt =
            json_is_integer(attempt) ? (long)json_integer_value(attempt) : 1;
        j->alert = json_object_get(job, "alert");
        school = json_object_get(j->alert, "school");
        if (!json_is_object(j->alert) || !json_is_object(school)) {
                *cause = xstrdup("the job has no 'alert' with a 'school'");
                return -1;
        }
        j->urn = str(school, "urn");
        j->school = str(school, "name");
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                *texts[i].field = str(j->alert, texts[i].key);
        j->late = json_is_true(json_object_get(j->alert, "late"));
        if (j->urn[0] == '\0' || j->rule[0] == '\0' || j->due[0] == '\0' ||
            j->due_utc[0] == '\0') {
                *cause = xstrdup("the job's alert lacks school.urn, rule, due "
                                 "or due_utc");
                return -1;
        }
        if (j->due_human[0] == '\0')
                j->due_human = j->due;
        if (j->opens_human[0] == '\0')
                j->opens_human = j->opens;

        j->title = in->title;
        j->text = in->text;
        if (j->title == NULL || j->text == NULL)
                vars = template_vars(j->alert);
        if (j->title == NULL)
                j->title = *owned_title =
                    template_render(template_default(true), vars);
        if (j->text == NULL)
                j->text = *owned_text =
                    template_render(template_default(false), vars);
        json_decref(vars);
        return 0;
}

size_t
backend_facts(const struct job_view *j, struct fact *f)
{
        size_t n = 0;

        f[n].name = "School";
        if (j->school[0] != '\0')
                xasprintf(&f[n++].value, "%s (URN %s)", j->school, j->urn);
        else
                xasprintf(&f[n++].value, "URN %s", j->urn);
        f[n].name = "Deadline";
        f[n++].value = xstrdup(j->due_human);
        if (j->opens_human[0] != '\0') {
                f[n].name = "Window opens";
                f[n++].value = xstrdup(j->opens_human);
        }
        f[n].name = "Contact";
        f[n++].value =
            xstrdup(j->contact[0] != '\0' ? j->contact : "not recorded");
        f[n].name = "Rule";
        f[n++].value = xstrdup(j->rule);
        if (j->warning[0] != '\0') {
                f[n].name = "Warning";
                f[n++].value = xstrdup(j->warning);
        }
        return n;
}

void
facts_free(struct fact *f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(f[i].value);
                f[i].value = NULL;
        }
}

/* --- The request -------------------------------------------------------- */

void
backend_add_header(struct http_request *r, const char *name, const char *value)
{
        r->headers =
            xreallocarray(r->headers, r->nheaders + 1, sizeof(*r->headers));
        xasprintf(&r->headers[r->nheaders++], "%s: %s", name, value);
}

char *
backend_url(const char *url, char **cause)
{
        const char *a = url != NULL ? url : "", *z;

        while (isspace((unsigned char)*a))
                a++;
        z = a + strlen(a);
        while (z > a && isspace((unsigned char)z[-1]))
                z--;
        if (z == a) {
                *cause = xstrdup("no webhook URL");
                return NULL;
        }
        for (const char *p = a; p < z; p++) {
                if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
                        *cause = xstrdup("the webhook URL contains a space or "
                                         "control character");
                        return NULL;
                }
        }
        return xstrndup(a, (size_t)(z - a));
}

int
backend_request(struct http_request *out, const char *url, const json_t *body,
                const char *delivery, char **cause)
{
        memset(out, 0, sizeof(*out));
        out->url = backend_url(url, cause);
        if (out->url == NULL)
                return -1;
        out->body = json_dumps(body, JSON_COMPACT);
        if (out->body == NULL) {
                *cause = xstrdup("cannot serialise the message");
                http_request_free(out);
                return -1;
        }
        backend_add_header(out, "Content-Type", "application/json");
        backend_add_header(out, "Idempotency-Key", delivery);
        backend_add_header(out, "User-Agent", "ofsted-notify/" PROJECT_VERSION);
        return 0;
}

int
backend_request_text(struct http_request *out, const char *url,
                     const char *body, const char *content_type,
                     const char *delivery, char **cause)
{
        memset(out, 0, sizeof(*out));
        out->url = backend_url(url, cause);
        if (out->url == NULL)
                return -1;
        out->body = xstrdup(body);
        backend_add_header(out, "Content-Type", content_type);
        backend_add_header(out, "Idempotency-Key", delivery);
        backend_add_header(out, "User-Agent", "ofsted-notify/" PROJECT_VERSION);
        return 0;
}

bool
backend_urgent(const struct job_view *j)
{
        struct alert_offset o;

        /* Nobody has acknowledged the deadline: as urgent as its hour. */
        if (json_is_object(json_object_get(j->alert, "escalation")))
                return true;
        if (rules_parse_offset(j->offset, &o) < 0 || o.anchor != ALERT_DEADLINE)
                return false;
        /* "deadline" itself is 0, "-60m" -3600; "-1d" counts in days. */
        return !o.days && o.amount >= -3600;
}

void
form_add(char **form, const char *name, const char *value)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t len = *form != NULL ? strlen(*form) : 0;
        size_t room = len + strlen(name) + 3 * strlen(value) + 3;
        char *o;

        *form = xreallocarray(*form, room, 1);
        o = *form + len;
        if (len > 0)
                *o++ = '&';
        for (const char *p = name; *p != '\0'; p++)
                *o++ = *p;
        *o++ = '=';
        for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
                if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
                    *p == '~') {
                        *o++ = (char)*p;
                } else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = '\0';
}

char *
header_clean(const char *s)
{
        char *out = xstrdup(s);

        for (char *p = out; *p != '\0'; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
        }
        return out;
}

char *
backend_endpoint(const char *base, const char *def, const char *path)
{
        const char *b = base != NULL && base[0] != '\0' ? base : def;
        size_t n = strlen(b);
        char *out;

        while (n > 0 && b[n - 1] == '/')
                n--;
        xasprintf(&out, "%.*s%s", (int)n, b, path);
        return out;
}

int
backend_build(const struct backend_input *in, struct http_request *out,
              json_t *(*body)(const struct job_view *j, char **cause),
              char **cause)
{
        struct job_view j;
        char *title = NULL, *text = NULL;
        json_t *msg = NULL;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (backend_job(in, &j, &title, &text, cause) < 0)
                goto out;
        msg = body(&j, cause);
        if (msg != NULL)
                rc = backend_request(out, in->url, msg, j.delivery, cause);
out:
        json_decref(msg);
        free(title);
        free(text);
        return rc;
}

/* --- Text --------------------------------------------------------------- */

/* The length of the UTF-8 sequence that starts with byte c. */
static size_t
seq_len(unsigned char c)
{
        if (c >= 0xf0)
                return 4;
        if (c >= 0xe0)
                return 3;
        if (c >= 0xc0)
                return 2;
        return 1;
}

size_t
text_units(const char *s)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p & 0xc0) == 0x80)
                        continue;
                n += *p >= 0xf0 ? 2 : 1;
        }
        return n;
}

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, one unit, three bytes */

char *
text_cut(const char *s, size_t max)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t units = 0;
        char *out;

        if (text_units(s) <= max)
                return xstrdup(s);
        if (max == 0)
                return xstrdup("");
        while (*p != '\0') {
                size_t u = *p >= 0xf0 ? 2 : 1, n = seq_len(*p);

                if (units + u > max - 1)
                        break;
                units += u;
                for (size_t i = 0; i < n && *p != '\0'; i++)
                        p++;
        }
        out = xmalloc((size_t)(p - (const unsigned char *)s) + 4);
        memcpy(out, s, (size_t)(p - (const unsigned char *)s));
        memcpy(out + (p - (const unsigned char *)s), ELLIPSIS, 4);
        return out;
}

char *
text_cut_bytes(const char *s, size_t max)
{
        size_t len = strlen(s), n;
        char *out;

        if (len <= max)
                return xstrdup(s);
        if (max < 3)
                return xstrdup("");
        n = max - 3;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                n--;
        out = xmalloc(n + 4);
        memcpy(out, s, n);
        memcpy(out + n, ELLIPSIS, 4);
        return out;
}

static char *
escape3(const char *s)
{
        size_t n = 1;
        char *out, *o;

        for (const char *p = s; *p; p++)
                n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
        out = o = xmalloc(n);
        for (const char *p = s; *p; p++) {
                const char *e = *p == '&'   ? "&amp;"
                                : *p == '<' ? "&lt;"
                                : *p == '>' ? "&gt;"
                                            : NULL;

                if (e == NULL) {
                        *o++ = *p;
                } else {
                        memcpy(o, e, strlen(e));
                        o += strlen(e);
                }
        }
        *o = '\0';
        return out;
}

char *
text_escape_slack(const char *s)
{
        return escape3(s);
}

char *
text_escape_html(const char *s)
{
        return escape3(s);
}

char *
text_cut_escaped(const char *s, size_t max, char *(*escape)(const char *))
{
        size_t limit = max, step;

        for (;;) {
                char *cut = text_cut(s, limit);
                char *esc = escape(cut);
                size_t u = text_units(esc);

                free(cut);
                if (u <= max || limit == 0)
                        return esc;
                free(esc);
                /* An escape is at most 5 units for 1: cut by a fifth of
                 * the excess, at least one, so nothing is cut needlessly. */
                step = (u - max) / 5 > 0 ? (u - max) / 5 : 1;
                limit = step < limit ? limit - step : 0;
        }
}

int
backend_fit(json_t *(*build)(void *ctx), void *ctx, char **parts, size_t nparts,
            size_t max, json_t **body, char **cause)
{
        *body = NULL;
        for (;;) {
                json_t *b = build(ctx);
                char *s = json_dumps(b, JSON_COMPACT);
                size_t len, longest = 0, ll = 0;

                if (s == NULL) {
                        json_decref(b);
                        *cause = xstrdup("cannot serialise the message");
                        return -1;
                }
                len = strlen(s);
                free(s);
                if (len <= max) {
                        *body = b;
                        return 0;
                }
                json_decref(b);
                for (size_t i = 0; i < nparts; i++) {
                        if (strlen(parts[i]) > ll) {
                                ll = strlen(parts[i]);
                                longest = i;
                        }
                }
                if (ll == 0) {
                        xasprintf(cause,
                                  "the message is %zu bytes even with its "
                                  "texts cut, over the limit of %zu",
                                  len, max);
                        return -1;
                }
                /* Each byte cut shortens the JSON by at least one; the
                 * margin pays for the ellipsis. */
                s = text_cut_bytes(parts[longest], len - max + 16 < ll
                                                       ? ll - (len - max + 16)
                                                       : 0);
                free(parts[longest]);
                parts[longest] = s;
        }
}

json_t *
backend_fit_card(struct card *c, json_t *(*build)(void *ctx), size_t fact_units,
                 size_t max, char **cause)
{
        size_t nparts;
        json_t *body = NULL;

        c->nfacts = backend_facts(c->j, c->facts);
        nparts = c->nlead + c->nfacts;
        for (size_t i = 0; i < c->nfacts; i++)
                c->parts[c->nlead + i] =
                    text_cut(c->facts[i].value, fact_units);
        (void)backend_fit(build, c, c->parts, nparts, max, &body, cause);
        for (size_t i = 0; i < nparts; i++)
                free(c->parts[i]);
        facts_free(c->facts, c->nfacts);
        return body;
}

/* --- Classification ----------------------------------------------------- */

/* A short reason from the service's answer, safe to log, or NULL. */
static char *
service_detail(const struct http_response *r)
{
        size_t len = r->len < BODY_PEEK ? r->len : BODY_PEEK;
        json_t *doc, *err;
        const char *msg = NULL;
        char *raw = NULL, *out;

        if (r->body == NULL || len == 0)
                return NULL;
        doc = json_loadb(r->body, len, 0, NULL);
        if (doc != NULL) {
                err = json_object_get(doc, "error");
                msg = json_string_value(json_object_get(doc, "message"));
                if (msg == NULL)
                        msg =
                            json_string_value(json_object_get(err, "message"));
                if (msg == NULL)
                        msg = json_string_value(err);
                if (msg != NULL)
                        raw = xstrdup(msg);
                json_decref(doc);
        } else if (len <= DETAIL_MAX && memchr(r->body, '<', len) == NULL) {
                /* Plain text such as Slack's "invalid_payload"; not HTML. */
                raw = xstrndup(r->body, len);
        }
        if (raw == NULL)
                return NULL;
        for (char *p = raw; *p; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
        }
        out = text_cut_bytes(raw, DETAIL_MAX);
        free(raw);
        /* A reason quoting a URL could quote the secret one. */
        if (out[strspn(out, " ")] == '\0' || strstr(out, "://") != NULL) {
                free(out);
                return NULL;
        }
        return out;
}

static const char *
status_reason(long status)
{
        switch (status) {
        case 400:
                return "bad request: the service refused the message";
        case 401:
                return "unauthorized: check the webhook URL";
        case 403:
                return "forbidden: the webhook may be disabled";
        case 404:
                return "not found: the webhook may have been deleted";
        case 408:
                return "request timeout";
        case 410:
                return "gone: the webhook was removed";
        case 413:
                return "payload too large";
        case 425:
                return "too early";
        case 429:
                return "rate limited";
        }
        if (status >= 300 && status < 400)
                return "redirect not followed: update the webhook URL";
        return NULL;
}

enum outcome
backend_classify_http(const struct http_response *r, long *retry_after,
                      char **error)
{
        long s = r->status;
        enum outcome o;
        const char *reason;
        char *detail;

        *retry_after = -1;
        *error = NULL;
        if (s >= 200 && s < 300)
                return OUTCOME_DELIVERED;
        if (s == 0) {
                char *why = NULL;

                if (r->transport_error != NULL &&
                    strstr(r->transport_error, "://") == NULL)
                        why = text_cut_bytes(r->transport_error, 160);
                xasprintf(error, "no response: %s",
                          why != NULL && why[0] != '\0' ? why
                                                        : "transfer failed");
                free(why);
                return OUTCOME_RETRY;
        }
        if ((s >= 300 && s < 500) && s != 408 && s != 425 && s != 429) {
                o = OUTCOME_FAILED;
        } else {
                o = OUTCOME_RETRY;
                if (r->retry_after >= 0)
                        *retry_after = r->retry_after;
        }
        reason = status_reason(s);
        detail = service_detail(r);
        xasprintf(error, "HTTP %ld%s%s%s%s%s", s, reason ? " (" : "",
                  reason ? reason : "", reason ? ")" : "", detail ? ": " : "",
                  detail ? detail : "");
        free(detail);
        return o;
}
