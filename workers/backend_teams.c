/*
 * Microsoft Teams through a Workflows webhook ("Post to a channel when a
 * webhook request is received"): a message envelope holding one Adaptive
 * Card 1.4 with the title, the text and a FactSet. Workflows answers 202
 * before the flow runs, and a card over 28 KB fails there unseen, so the
 * whole body is kept under TEAMS_MAX by cutting the longest texts.
 */
#include "backend_int.h"

#include "xalloc.h"

#include <string.h>

#define TEAMS_MAX   (27u * 1024u) /* bytes: under 28 KB, with headroom */
#define TITLE_UNITS 256
#define FACT_UNITS  1024

static json_t *
text_block(const char *text, bool title, bool late)
{
        json_t *b = json_object();

        jset(b, "type", json_string("TextBlock"));
        jset(b, "text", jstr(text));
        if (title) {
                jset(b, "weight", json_string("Bolder"));
                jset(b, "size", json_string("Medium"));
                if (late)
                        jset(b, "color", json_string("Attention"));
        }
        jset(b, "wrap", json_true());
        return b;
}

static json_t *
teams_body(void *ctx)
{
        struct card *t = ctx;
        json_t *body = json_object(), *att = json_object(),
               *card = json_object();
        json_t *blocks = json_array(), *facts = json_array(), *set;

        for (size_t i = 0; i < t->nfacts; i++) {
                json_t *f = json_object();

                jset(f, "title", jstr(t->facts[i].name));
                jset(f, "value", jstr(t->parts[2 + i]));
                json_array_append_new(facts, f);
        }
        set = json_object();
        jset(set, "type", json_string("FactSet"));
        jset(set, "facts", facts);
        json_array_append_new(blocks,
                              text_block(t->parts[0], true, t->j->late));
        json_array_append_new(blocks, text_block(t->parts[1], false, false));
        json_array_append_new(blocks, set);

        jset(card, "$schema",
             json_string("http://adaptivecards.io/schemas/adaptive-card.json"));
        jset(card, "type", json_string("AdaptiveCard"));
        jset(card, "version", json_string("1.4"));
        jset(card, "body", blocks);
        if (t->j->ack_url[0] != '\0') {
                /* The card's one button opens the acknowledgement page. */
                json_t *actions = json_array(), *open = json_object();

                jset(open, "type", json_string("Action.OpenUrl"));
                jset(open, "title", json_string(BACKEND_ACK_LABEL));
                jset(open, "url", jstr(t->j->ack_url));
                json_array_append_new(actions, open);
                jset(card, "actions", actions);
        }
        jset(att, "contentType",
             json_string("application/vnd.microsoft.card.adaptive"));
        jset(att, "contentUrl", json_null());
        jset(att, "content", card);
        jset(body, "type", json_string("message"));
        jset(body, "attachments", json_array());
        json_array_append_new(json_object_get(body, "attachments"), att);
        return body;
}

/*
 * The message, its texts cut until it fits TEAMS_MAX bytes: parts[0] the
 * title, parts[1] the text, then the facts.
 */
static json_t *
teams_fit(const struct job_view *j, char **cause)
{
        struct card t = { .j = j, .nlead = 2 };

        t.parts[0] = text_cut(j->title, TITLE_UNITS);
        t.parts[1] = xstrdup(j->text);
        return backend_fit_card(&t, teams_body, FACT_UNITS, TEAMS_MAX, cause);
}

BACKEND_CHAT(teams, "teams", teams_fit);
