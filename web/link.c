/* link: the one-click acknowledgement page (link.h). */
#include "link.h"

#include "pages.h"
#include "request.h"

#include "token.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTML_TYPE "text/html; charset=utf-8"

bool
link_path(const char *url)
{
        return strncmp(url, "/a/", 3) == 0;
}

char *
link_html_escape(const char *s)
{
        size_t n = 0;
        char *out, *o;

        for (const char *p = s; *p; p++)
                n += strchr("&<>\"'", *p) != NULL ? 6 : 1;
        out = o = xcalloc(n + 1, 1);
        for (; *s; s++) {
                switch (*s) {
                case '&':
                        o += sprintf(o, "&amp;");
                        break;
                case '<':
                        o += sprintf(o, "&lt;");
                        break;
                case '>':
                        o += sprintf(o, "&gt;");
                        break;
                case '"':
                        o += sprintf(o, "&quot;");
                        break;
                case '\'':
                        o += sprintf(o, "&#39;");
                        break;
                default:
                        *o++ = *s;
                }
        }
        return out;
}

char *
link_form_value(const char *body, size_t len, const char *key)
{
        size_t klen = strlen(key);
        const char *p = body, *end = body + len;

        while (body != NULL && p < end) {
                const char *amp = memchr(p, '&', (size_t)(end - p));
                const char *stop = amp != NULL ? amp : end;

                if ((size_t)(stop - p) > klen && strncmp(p, key, klen) == 0 &&
                    p[klen] == '=') {
                        char *out = xcalloc((size_t)(stop - p) + 1, 1),
                             *o = out;

                        for (p += klen + 1; p < stop; p++) {
                                if (*p == '+') {
                                        *o++ = ' ';
                                } else if (*p == '%' && stop - p > 2 &&
                                           request_hex(p[1]) >= 0 &&
                                           request_hex(p[2]) >= 0) {
                                        *o++ = (char)(request_hex(p[1]) * 16 +
                                                      request_hex(p[2]));
                                        p += 2;
                                } else {
                                        *o++ = *p;
                                }
                        }
                        return out;
                }
                p = stop + 1;
        }
        return NULL;
}

/* A whole page: title and body (HTML, already escaped), in the pages'
 * layout (pages.h) when they are loaded. */
static void page(struct web *w, struct reply *r, int status, const char *title,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
page(struct web *w, struct reply *r, int status, const char *title,
     const char *fmt, ...)
{
        char *inner = NULL, *main;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&inner, fmt, ap) < 0)
                abort();
        va_end(ap);
        xasprintf(&main, "<h1>%s</h1>\n%s", title, inner);
        if (w->pages != NULL)
                r->text = pages_page(w->pages, title, main);
        else
                xasprintf(&r->text,
                          "<!doctype html>\n<html lang=\"en-GB\"><head>"
                          "<meta charset=\"utf-8\">"
                          "<meta name=\"viewport\" content=\"width=device-"
                          "width, initial-scale=1\">"
                          "<title>%s</title></head>\n<body><main>\n%s"
                          "</main></body></html>\n",
                          title, main);
        free(main);
        free(inner);
        r->status = status;
        r->type = HTML_TYPE;
}

/* The page for a refusal of the scheduler's: 404, 410 or 503. */
static void
refused(struct web *w, struct reply *r, const json_t *reply)
{
        const char *reason =
            json_string_value(json_object_get(reply, "reason"));

        if (reply == NULL)
                page(w, r, 503, "Try again shortly",
                     "<p>The alert service does not answer just now. Nothing "
                     "has changed; try the link again in a minute.</p>\n");
        else if (reason != NULL && strcmp(reason, "expired") == 0)
                page(w, r, 410, "This link has expired",
                     "<p>A link works until a day after its deadline. Nothing "
                     "has changed.</p>\n");
        else
                page(w, r, 404, "Unknown link",
                     "<p>This link is not one of ours, or it was copied "
                     "incompletely. Nothing has changed.</p>\n");
}

/* "3 h 20 min left", "the deadline has passed". */
static void
time_left(json_int_t secs, char *buf, size_t len)
{
        if (secs <= 0)
                snprintf(buf, len, "the deadline has passed");
        else if (secs >= 86400)
                snprintf(buf, len, "%lld d %lld h left",
                         (long long)(secs / 86400),
                         (long long)(secs % 86400 / 3600));
        else
                snprintf(buf, len, "%lld h %lld min left",
                         (long long)(secs / 3600),
                         (long long)(secs % 3600 / 60));
}

/* The acknowledgement page for the link's `l` (the scheduler's). */
static void
show(struct web *w, struct reply *r, const json_t *l, const char *token,
     bool just)
{
        const json_t *school = json_object_get(l, "school");
        char *name = link_html_escape(
            json_string_value(json_object_get(school, "name")) ?: "");
        char *urn = link_html_escape(
            json_string_value(json_object_get(school, "urn")) ?: "");
        char *rule = link_html_escape(
            json_string_value(json_object_get(l, "rule")) ?: "");
        char *due = link_html_escape(
            json_string_value(json_object_get(l, "due_human")) ?: "");
        char *action = link_html_escape(
            json_string_value(json_object_get(l, "action")) ?: "");
        char left[64], *by = NULL, *note = NULL;

        time_left(json_integer_value(json_object_get(l, "left")), left,
                  sizeof(left));
        if (json_is_true(json_object_get(l, "acked"))) {
                by = link_html_escape(
                    json_string_value(json_object_get(l, "by")) ?: "someone");
                note = link_html_escape(
                    json_string_value(json_object_get(l, "note")) ?: "");
                page(w, r, 200,
                     just ? "Done: the reminders stop" : "Already done",
                     "<p><strong>%s</strong> (URN %s)</p>\n"
                     "<p>Rule: %s<br>Deadline: %s</p>\n"
                     "<p>Acknowledged by %s%s%s%s. The reminders and "
                     "escalations have stopped; the deadline itself "
                     "stands.</p>\n",
                     name, urn, rule, due, by, note[0] ? " (" : "", note,
                     note[0] ? ")" : "");
        } else {
                /* The token is the permission: the form posts it back. */
                page(w, r, 200, "Confirm this deadline is in hand",
                     "<p><strong>%s</strong> (URN %s)</p>\n"
                     "<p>Rule: %s<br>Deadline: %s (%s)</p>\n<p>%s</p>\n"
                     "<form method=\"post\" action=\"/a/%s\">\n"
                     "<p><label for=\"note\">Note (optional)</label><br>"
                     "<input id=\"note\" name=\"note\" maxlength=\"500\" "
                     "size=\"30\"></p>\n"
                     "<p><button type=\"submit\" class=\"big\">Done "
                     "\xe2\x80\x94 stop the "
                     "reminders</button></p>\n</form>\n",
                     name, urn, rule, due, left, action, token);
        }
        free(name);
        free(urn);
        free(rule);
        free(due);
        free(action);
        free(by);
        free(note);
}

void
link_serve(struct web *w, const char *method, const char *url, const char *body,
           size_t len, struct reply *r)
{
        const char *token = url + 3;
        bool post = strcmp(method, "POST") == 0;
        json_t *req, *reply = NULL;
        char *note = NULL;

        if (!post && strcmp(method, "GET") != 0) {
                page(w, r, 405, "Not here",
                     "<p>Open the link, or press its "
                     "button.</p>\n");
                r->allow = "GET, POST";
                return;
        }
        if (!token_well_formed(token)) {
                json_t *unknown = json_pack("{s:s}", "reason", "not_found");

                refused(w, r, unknown);
                json_decref(unknown);
                return;
        }
        if (post) {
                note = link_form_value(body, len, "note");
                req = json_pack("{s:s, s:s}", "cmd", "ack", "token", token);
                if (note != NULL && note[0] != '\0')
                        json_object_set_new(req, "note", json_string(note));
        } else {
                req = json_pack("{s:s, s:s}", "cmd", "link", "token", token);
        }
        if (web_ask(w, req, &reply) < 0)
                reply = NULL;
        json_decref(req);
        if (reply == NULL || !json_is_true(json_object_get(reply, "ok"))) {
                if (reply != NULL && json_object_get(reply, "reason") == NULL &&
                    post) {
                        page(w, r, 422, "Not acknowledged",
                             "<p>The note could not be taken: keep it to one "
                             "line of plain text. Nothing has changed.</p>\n");
                } else {
                        refused(w, r, reply);
                }
        } else {
                const json_t *l = json_object_get(reply, post ? "ack" : "link");

                /* "Done" only for the POST that made it; a second one, or
                 * one that lost the race, says it was done already. */
                show(w, r, l, token,
                     post && json_is_true(json_object_get(l, "new")));
        }
        json_decref(reply);
        free(note);
}
