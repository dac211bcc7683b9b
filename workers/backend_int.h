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

#include <stdbool.h>

/* The job's fields, borrowed from the JSON; absent strings are "". */
struct job_view {
        const char *delivery; /* checked: [A-Za-z0-9_-], 1 to 128 */
        long attempt;
        const json_t *alert;
        const char *trust, *urn, *school, *rule, *offset, *action, *contact;
        const char *at, *due, *due_utc, *due_human;
        const char *opens, *opens_human; /* "" when the rule has no window */
        const char *warning;
        const char *ack_url; /* the one-click acknowledgement; "": none */
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

extern const struct backend_ops backend_teams;
extern const struct backend_ops backend_google_chat;
extern const struct backend_ops backend_slack;
extern const struct backend_ops backend_discord;
extern const struct backend_ops backend_mattermost;
extern const struct backend_ops backend_webhook;

#endif
