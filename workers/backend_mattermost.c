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
        room = used < POST_UNITS ? POST_UNITS - used : 0;
        text = text_cut(j->text, room);
        xasprintf(&out, "#### %s\n\n%s\n%s", title, text, lines);
        free(text);
        free(title);
        free(lines);
        facts_free(facts, n);
        return out;
}

static int
mattermost_build(const struct backend_input *in, struct http_request *out,
                 char **cause)
{
        struct job_view j;
        char *title = NULL, *text = NULL, *md = NULL;
        json_t *body = NULL;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (backend_job(in, &j, &title, &text, cause) < 0)
                goto out;
        md = mattermost_text(&j);
        body = json_object();
        jset(body, "text", jstr(md));
        rc = backend_request(out, in->url, body, j.delivery, cause);
out:
        json_decref(body);
        free(md);
        free(title);
        free(text);
        return rc;
}

const struct backend_ops backend_mattermost = {
        .type = "mattermost",
        .build = mattermost_build,
        .classify = backend_classify_http,
};
