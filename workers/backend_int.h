/*
 * backend_int: what the webhook flavours share, private to workers/.
 *
 * backend.c holds the table, the job reader, the request builder with the
 * headers every request carries, the text helpers (UTF-8-safe truncation,
 * escaping) and the classification the services agree on. Each flavour
 * (backend_teams.c, backend_slack.c, ...) holds only what its service
 * documents differently, and exports its ops entry.
 */
#ifndef ONOTIFY_BACKEND_INT_H
#define ONOTIFY_BACKEND_INT_H

#include "backend.h"
#include "dproto.h"

#include <stdbool.h>
#include <stdint.h>

/* The job's fields, borrowed from the JSON; absent strings are "". */
struct job_view {
        const char *delivery; /* checked: [A-Za-z0-9_-], 1 to 128 */
        long attempt;
        const json_t *alert;
        const char *trust, *urn, *school, *rule, *offset, *action, *contact;
        const char *at, *due, *due_utc, *due_human;
        const char *opens, *opens_human; /* "" when the rule has no window */
        const char *warning;
        /* Links the JOB may carry (docs/dispatch.md), "" when absent: the
         * case's page and the acknowledgement page. */
        const char *case_url, *ack_url;
        bool late;
        const char *title, *text; /* rendered templates, never NULL */
};

/*
 * Reads in->job; -1 with *cause when a field the backends need is missing
 * or wrong. When in->title or in->text is NULL the default template is
 * rendered into *owned_title / *owned_text (caller frees; else NULL).
 */
int backend_job(const struct backend_input *in, struct job_view *j,
                char **owned_title, char **owned_text, char **cause);

/* The label of the one-click acknowledgement, wherever it shows. */
#define BACKEND_ACK_LABEL "Done \xe2\x80\x94 stop the reminders"

/* One labelled value of an alert, as cards show it ("Deadline": ...). */
struct fact {
        const char *name;
        char *value; /* owned */
};
#define FACTS_MAX 6

/*
 * The alert's facts in display order: School, Deadline, Window opens (for
 * windows), Contact, Rule, Warning (when there is one). Returns the count;
 * release with facts_free().
 */
size_t backend_facts(const struct job_view *j, struct fact *f);
void facts_free(struct fact *f, size_t n);

/*
 * The webhook URL without surrounding whitespace (a url_file's newline),
 * or NULL with *cause when it is empty or holds a space or control
 * character. The URL is a secret: *cause never quotes it.
 */
char *backend_url(const char *url, char **cause);
/*
 * A request to `url` (through backend_url()) with the body
 * serialised compactly and the headers every request carries:
 * Content-Type, Idempotency-Key, User-Agent. Takes no reference to body.
 */
int backend_request(struct http_request *out, const char *url,
                    const json_t *body, const char *delivery, char **cause);
void backend_add_header(struct http_request *r, const char *name,
                        const char *value);
/*
 * The same with a body already made (body is copied) of `content_type`:
 * a form, or plain text.
 */
int backend_request_text(struct http_request *out, const char *url,
                         const char *body, const char *content_type,
                         const char *delivery, char **cause);
/*
 * Whether the alert is urgent: an escalation (the JOB's alert has an
 * "escalation" object: nobody has acknowledged the deadline), the
 * `deadline` alert, or one less than an hour before the deadline ("-60m",
 * "-30m").
 */
bool backend_urgent(const struct job_view *j);
/* application/x-www-form-urlencoded: appends "&name=value" (no '&' the
 * first time) to *form, value percent-encoded. */
void form_add(char **form, const char *name, const char *value);
/* A header value without CR, LF or other control characters (each a
 * space), so no text of an alert can end a header. Caller frees. */
char *header_clean(const char *s);
/* The URL of `path` on a service: under `base` (the channel's url) when
 * set, else under `def` (the service's own), without base's trailing '/'.
 * Caller frees. */
char *backend_endpoint(const char *base, const char *def, const char *path);
/*
 * The build of a chat flavour: reads the job (backend_job), asks body()
 * for the message and makes the request to in->url (backend_request).
 * body() returns a new reference, or NULL with *cause.
 */
int backend_build(const struct backend_input *in, struct http_request *out,
                  json_t *(*body)(const struct job_view *j, char **cause),
                  char **cause);
/*
 * Defines backend_<name>, the ops of a chat flavour: its build is
 * backend_build() with body(), its classification backend_classify_http().
 */
#define BACKEND_CHAT(name, type_name, body)                             \
        static int name##_build(const struct backend_input *in,         \
                                struct http_request *out, char **cause) \
        {                                                               \
                return backend_build(in, out, body, cause);             \
        }                                                               \
        const struct backend_ops backend_##name = {                     \
                .type = type_name,                                      \
                .build = name##_build,                                  \
                .classify = backend_classify_http,                      \
        }

/*
 * Text limits. Services count characters; counting UTF-16 code units (an
 * astral character counts 2) is never less than counting code points, so
 * a string within a limit by this count is within it by either.
 */
size_t text_units(const char *s);
/*
 * A copy of s cut at a character boundary so it holds at most max units
 * (text_units) or max bytes (text_cut_bytes), ending in "…" when cut.
 */
char *text_cut(const char *s, size_t max);
char *text_cut_bytes(const char *s, size_t max);
/* Slack's escaping of its control characters: & < > as HTML entities. */
char *text_escape_slack(const char *s);
/* The same three for HTML-formatted text (Google Chat card widgets). */
char *text_escape_html(const char *s);
/* text_cut, then escape, within max units after escaping. */
char *text_cut_escaped(const char *s, size_t max,
                       char *(*escape)(const char *));

/*
 * Serialises the body built by build(ctx), cutting the longest of the
 * strings in parts (each owned, replaced when cut) until the result is at
 * most max bytes. -1 with *cause if it cannot get there.
 */
int backend_fit(json_t *(*build)(void *ctx), void *ctx, char **parts,
                size_t nparts, size_t max, json_t **body, char **cause);

/* The most texts a card flavour cuts itself before the facts. */
#define CARD_LEAD_MAX 3
/*
 * A card of a chat flavour: its texts in parts, the `nlead` the flavour
 * cuts itself first (title, text, ...), then fact i's value at
 * parts[nlead + i].
 */
struct card {
        const struct job_view *j;
        struct fact facts[FACTS_MAX];
        size_t nfacts;
        size_t nlead;
        char *parts[CARD_LEAD_MAX + FACTS_MAX];
};
/*
 * Adds c->j's facts to card c, each value cut to fact_units, then fits
 * build(c) within max bytes (backend_fit(), cutting any of c's parts),
 * and frees c's parts and facts. The body, or NULL with *cause.
 */
json_t *backend_fit_card(struct card *c, json_t *(*build)(void *ctx),
                         size_t fact_units, size_t max, char **cause);

/*
 * The classification the services agree on (the comment atop backend.c),
 * adding the service's own short reason from the body when it has one.
 */
enum outcome backend_classify_http(const struct http_response *r,
                                   long *retry_after, char **error);

/* json_object_set_new() that cannot fail quietly. */
void jset(json_t *obj, const char *key, json_t *value);
/* A JSON string; invalid UTF-8 (never in JSON input) becomes "". */
json_t *jstr(const char *s);

/* --- ntfy (backend_ntfy.c) --- */

/* The Priority of an alert: urgent for the deadline hour, else the
 * channel's. */
enum ntfy_priority ntfy_priority_of(const struct job_view *j,
                                    enum ntfy_priority configured);

/* --- Pushover (backend_pushover.c) --- */

/*
 * The form to POST for job j (caller frees *form: it holds the token);
 * returns the priority it asks, 1 or 2 (an emergency, with retry and
 * expire).
 */
int pushover_form(const struct job_view *j, const char *token, const char *user,
                  int retry, int expire, char **form);

/* What GET /1/receipts/{receipt}.json says of an emergency. */
struct pushover_receipt {
        bool acknowledged;
        int64_t acknowledged_at;  /* Unix seconds; 0 when not */
        char acknowledged_by[64]; /* the user key that did; "" when not */
        bool expired;             /* retries ended unacknowledged */
        int64_t expires_at;
};
/* The longest receipt kept: Pushover's are 30 letters and digits; the
 * dispatch protocol carries it (dproto_receipt_valid()). */
#define PUSHOVER_RECEIPT_MAX DPROTO_RECEIPT_MAX
/* The receipt of an emergency's answer (letters and digits, at most
 * PUSHOVER_RECEIPT_MAX), a new string; NULL when it has none. */
char *pushover_receipt_of(const char *body, size_t len);
/* Parses a receipt reply; -1 with *cause (caller frees) if it is not one
 * with status 1, or says acknowledged without by whom and when. */
int pushover_receipt_parse(const char *body, size_t len,
                           struct pushover_receipt *out, char **cause);
/* The receipt's URL under base (NULL: Pushover's); it holds the
 * application token: caller wipes and frees. */
char *pushover_receipt_url(const char *base, const char *receipt,
                           const char *token);

/* --- SMS (backend_sms.c) --- */

struct sms_count {
        bool gsm7;       /* else UCS-2 */
        size_t units;    /* septets (GSM-7) or UTF-16 code units (UCS-2) */
        size_t segments; /* 0 for the empty text */
};
/* How `text` (valid UTF-8) goes as SMS: its coding, length, segments. */
void sms_count(const char *text, struct sms_count *out);
/* `s` with dashes, curly quotes, the ellipsis, no-break space and tab
 * made plain ASCII. Caller frees. */
char *sms_plain(const char *s);
/*
 * The SMS for an alert: title, newline, text, made plain and cut at a
 * character ("...") to fit two segments, then a newline and `link` (may
 * be NULL) uncut, left out only if it cannot fit at all. Caller frees.
 */
char *sms_fit(const char *title, const char *text, const char *link);

extern const struct backend_ops backend_teams;
extern const struct backend_ops backend_google_chat;
extern const struct backend_ops backend_slack;
extern const struct backend_ops backend_discord;
extern const struct backend_ops backend_mattermost;
extern const struct backend_ops backend_webhook;
extern const struct backend_ops backend_ntfy;
extern const struct backend_ops backend_pushover;
extern const struct backend_ops backend_sms;

#endif
