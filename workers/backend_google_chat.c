/*
 * Google Chat incoming webhook: a message with the text and one cardsV2
 * card (header: title and trust; one section of decoratedText widgets, one
 * per fact). Widget text is HTML-formatted, so values are escaped; header
 * texts and the message text are not HTML. A message holds at most 32,000
 * bytes, kept by cutting the longest texts. Google Chat documents no
 * Retry-After: a 429 is retried on the scheduler's backoff.
 */
#include "backend_int.h"

#include "xalloc.h"

#include <string.h>

#define CHAT_MAX    32000u /* bytes in a message */
#define TEXT_UNITS  4096
#define TITLE_UNITS 200
#define FACT_UNITS  1024

static json_t *
chat_body(void *ctx)
{
        struct card *c = ctx;
        json_t *body = json_object(), *cards = json_array(),
               *cwi = json_object();
        json_t *card = json_object(), *header = json_object();
        json_t *sections = json_array(), *section = json_object();
        json_t *widgets = json_array();

        for (size_t i = 0; i < c->nfacts; i++) {
                json_t *w = json_object(), *dt = json_object();
                char *v = text_escape_html(c->parts[3 + i]);

                jset(dt, "topLabel", jstr(c->facts[i].name));
                jset(dt, "text", jstr(v));
                jset(dt, "wrapText", json_true());
                jset(w, "decoratedText", dt);
                json_array_append_new(widgets, w);
                free(v);
        }
        if (c->j->ack_url[0] != '\0') {
                /* A button that opens the acknowledgement page. */
                json_t *w = json_object(), *list = json_object();
                json_t *buttons = json_array(), *b = json_object();
                json_t *click = json_object(), *link = json_object();

                jset(link, "url", jstr(c->j->ack_url));
                jset(click, "openLink", link);
                jset(b, "text", json_string(BACKEND_ACK_LABEL));
                jset(b, "onClick", click);
                json_array_append_new(buttons, b);
                jset(list, "buttons", buttons);
                jset(w, "buttonList", list);
                json_array_append_new(widgets, w);
        }
        jset(section, "widgets", widgets);
        json_array_append_new(sections, section);
        jset(header, "title", jstr(c->parts[0]));
        jset(header, "subtitle", jstr(c->parts[2]));
        jset(card, "header", header);
        jset(card, "sections", sections);
        jset(cwi, "cardId", jstr(c->j->delivery));
        jset(cwi, "card", card);
        json_array_append_new(cards, cwi);
        jset(body, "text", jstr(c->parts[1]));
        jset(body, "cardsV2", cards);
        return body;
}

/*
 * The message, its texts cut until it fits CHAT_MAX bytes: parts[0] the
 * title, parts[1] the text, parts[2] the subtitle, then the facts.
 */
static json_t *
chat_fit(const struct job_view *j, char **cause)
{
        struct card c = { .j = j, .nlead = 3 };

        c.parts[0] = text_cut(j->title, TITLE_UNITS);
        c.parts[1] = text_cut(j->text, TEXT_UNITS);
        c.parts[2] =
            text_cut(j->trust[0] != '\0' ? j->trust : "Ofsted deadline alert",
                     TITLE_UNITS);
        return backend_fit_card(&c, chat_body, FACT_UNITS, CHAT_MAX, cause);
}

BACKEND_CHAT(google_chat, "google_chat", chat_fit);
