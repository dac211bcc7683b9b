/*
 * Slack incoming webhook: Block Kit. The top-level text is the fallback
 * shown in notifications; then a header block (plain_text, at most 150
 * characters), a section with the text (mrkdwn, at most 3000) and a section
 * of fields, one per fact (at most 10, each at most 2000). Slack parses &,
 * < and > in mrkdwn as control characters, so every value placed there is
 * escaped as Slack documents (&amp; &lt; &gt;) and then kept within the
 * limit; plain_text is shown as written. Slack answers "ok" as text.
 */
#include "backend_int.h"

#include "xalloc.h"

#include <string.h>

#define HEADER_UNITS   150
#define SECTION_UNITS  3000
#define FALLBACK_UNITS 3000
#define FIELD_UNITS    2000
#define FIELDS_MAX     10

/*
 * A text object {"type", "text"} taking `text` (freed); with type NULL
 * just the JSON string.
 */
static json_t *
text_object(const char *type, char *text)
{
        json_t *o;

        if (type == NULL) {
                o = jstr(text);
        } else {
                o = json_object();
                jset(o, "type", json_string(type));
                jset(o, "text", jstr(text));
        }
        free(text);
        return o;
}

static json_t *
slack_body(const struct job_view *j, char **cause)
{
        json_t *body = json_object(), *blocks = json_array(), *b;
        json_t *fields = json_array();
        struct fact facts[FACTS_MAX];
        size_t n = backend_facts(j, facts);

        (void)cause; /* a Slack message is always made */
        jset(body, "text",
             text_object(NULL, text_cut_escaped(j->title, FALLBACK_UNITS,
                                                text_escape_slack)));

        b = json_object();
        jset(b, "type", json_string("header"));
        jset(b, "text",
             text_object("plain_text", text_cut(j->title, HEADER_UNITS)));
        json_array_append_new(blocks, b);

        b = json_object();
        jset(b, "type", json_string("section"));
        jset(b, "text",
             text_object("mrkdwn", text_cut_escaped(j->text, SECTION_UNITS,
                                                    text_escape_slack)));
        json_array_append_new(blocks, b);

        /* Each field is "*Label*\nvalue", the label's 3 extra units too. */
        for (size_t i = 0; i < n && i < FIELDS_MAX; i++) {
                size_t room = FIELD_UNITS - 3 - text_units(facts[i].name);
                char *v =
                    text_cut_escaped(facts[i].value, room, text_escape_slack);
                char *f;

                xasprintf(&f, "*%s*\n%s", facts[i].name, v);
                free(v);
                json_array_append_new(fields, text_object("mrkdwn", f));
        }
        b = json_object();
        jset(b, "type", json_string("section"));
        jset(b, "fields", fields);
        json_array_append_new(blocks, b);
        if (j->ack_url[0] != '\0') {
                /* A link button: Slack opens the URL in the browser. */
                json_t *elements = json_array(), *button = json_object();

                jset(button, "type", json_string("button"));
                jset(button, "text",
                     text_object("plain_text", xstrdup(BACKEND_ACK_LABEL)));
                jset(button, "url", jstr(j->ack_url));
                jset(button, "action_id", json_string("ack"));
                json_array_append_new(elements, button);
                b = json_object();
                jset(b, "type", json_string("actions"));
                jset(b, "elements", elements);
                json_array_append_new(blocks, b);
        }
        jset(body, "blocks", blocks);
        facts_free(facts, n);
        return body;
}

BACKEND_CHAT(slack, "slack", slack_body);
