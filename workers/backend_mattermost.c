/*
 * Mattermost incoming webhook: {"text": markdown}, a heading with the
 * title, the text, then one bold-labelled line per fact. Kept within 4000
 * characters, the post limit of every Mattermost version (5.0 raised it to
 * 16383), by cutting the text first. Mattermost answers "ok" as text.
 */
#include "backend_int.h"

#include "xalloc.h"

#include <string.h>

#define POST_UNITS  4000
#define TITLE_UNITS 256
#define FACT_UNITS  400

static char *
mattermost_text(const struct job_view *j)
{
        struct fact facts[FACTS_MAX];
        size_t n = backend_facts(j, facts), room, used;
        char *title = text_cut(j->title, TITLE_UNITS), *lines = xstrdup("");
        char *text, *out;

        for (size_t i = 0; i < n; i++) {
                char *v = text_cut(facts[i].value, FACT_UNITS), *next;

                xasprintf(&next, "%s\n**%s:** %s", lines, facts[i].name, v);
                free(v);
                free(lines);
                lines = next;
        }
        /* "#### " title "\n\n" text "\n" lines */
        used = 5 + text_units(title) + 2 + 1 + text_units(lines);
        if (j->ack_url[0] != '\0')
                used += 64 + text_units(j->ack_url);
        room = used < POST_UNITS ? POST_UNITS - used : 0;
        text = text_cut(j->text, room);
        if (j->ack_url[0] != '\0')
                xasprintf(&out, "#### %s\n\n%s\n%s\n\n[%s](%s)", title, text,
                          lines, BACKEND_ACK_LABEL, j->ack_url);
        else
                xasprintf(&out, "#### %s\n\n%s\n%s", title, text, lines);
        free(text);
        free(title);
        free(lines);
        facts_free(facts, n);
        return out;
}

static json_t *
mattermost_body(const struct job_view *j, char **cause)
{
        json_t *body = json_object();
        char *md = mattermost_text(j);

        (void)cause; /* a Mattermost post is always made */
        jset(body, "text", jstr(md));
        free(md);
        return body;
}

BACKEND_CHAT(mattermost, "mattermost", mattermost_body);
