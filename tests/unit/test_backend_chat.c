/*
 * Unit tests for the chat flavours of the webhook backends: each request
 * checked field by field against the shape its service documents (Teams,
 * Google Chat, Slack, Discord, Mattermost), the services' limits (Teams'
 * 28 KB card, Slack's 150-character header, Discord's embed limits),
 * Slack's escaping and Discord's ?wait=true.
 *
 * The job is the example in docs/dispatch.md (backend_fixture.h).
 * Character counts are checked with a code-point counter written here, not
 * with the module's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "backend_fixture.h"
#include "backend_int.h"
#include "support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Valid UTF-8 (jansson refuses anything else, so parsing proves it too). */
static bool
ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* --- Teams -------------------------------------------------------------- */

static void
check_fact(const json_t *fact, const char *title, const char *value)
{
        backend_fx_assert_str(fact, "title", title);
        backend_fx_assert_str(fact, "value", value);
}

static void
test_teams(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body, *att, *card, *blocks,
               *b, *f;
        struct backend_input in;
        struct http_request r;

        (void)state;
        backend_fx_input(&in, job, BACKEND_FX_URL);
        backend_fx_build("teams", &in, &r);
        body = support_json(r.body);
        backend_fx_assert_str(body, "type", "message");
        assert_int_equal(json_array_size(json_object_get(body, "attachments")),
                         1);
        att = json_array_get(json_object_get(body, "attachments"), 0);
        backend_fx_assert_str(att, "contentType",
                              "application/vnd.microsoft.card.adaptive");
        assert_true(json_is_null(json_object_get(att, "contentUrl")));
        card = json_object_get(att, "content");
        backend_fx_assert_str(
            card, "$schema",
            "http://adaptivecards.io/schemas/adaptive-card.json");
        backend_fx_assert_str(card, "type", "AdaptiveCard");
        backend_fx_assert_str(card, "version", "1.4");
        blocks = json_object_get(card, "body");
        assert_int_equal(json_array_size(blocks), 3);

        b = json_array_get(blocks, 0);
        backend_fx_assert_str(b, "type", "TextBlock");
        backend_fx_assert_str(b, "text", BACKEND_FX_TITLE);
        backend_fx_assert_str(b, "weight", "Bolder");
        assert_true(json_is_true(json_object_get(b, "wrap")));
        assert_null(json_object_get(b, "color")); /* not late */

        b = json_array_get(blocks, 1);
        backend_fx_assert_str(b, "type", "TextBlock");
        backend_fx_assert_str(b, "text", BACKEND_FX_TEXT);
        assert_true(json_is_true(json_object_get(b, "wrap")));

        b = json_array_get(blocks, 2);
        backend_fx_assert_str(b, "type", "FactSet");
        f = json_object_get(b, "facts");
        assert_int_equal(json_array_size(f), 4);
        check_fact(json_array_get(f, 0), "School", "Oak Primary (URN 100001)");
        check_fact(json_array_get(f, 1), "Deadline",
                   "Mon 4 Mar 2024 16:30 GMT");
        check_fact(json_array_get(f, 2), "Contact",
                   "Senior Ofsted leader: 0300 123 4231");
        check_fact(json_array_get(f, 3), "Rule", "deferral_cutoff");
        json_decref(body);
        http_request_free(&r);

        /* A late alert with a window and a warning. */
        json_object_set_new(backend_fx_alert_of(job), "late", json_true());
        backend_fx_set_alert(job, "opens_human", "Tue 2 Apr 2024 08:00 BST");
        backend_fx_set_alert(job, "opens", "2024-04-02T08:00:00+01:00");
        backend_fx_set_alert(job, "warning",
                             "the bank holiday data ends in 2028");
        json_object_set_new(backend_fx_alert_of(job), "contact", json_null());
        backend_fx_build("teams", &in, &r);
        body = support_json(r.body);
        card = json_object_get(
            json_array_get(json_object_get(body, "attachments"), 0), "content");
        blocks = json_object_get(card, "body");
        backend_fx_assert_str(json_array_get(blocks, 0), "color", "Attention");
        f = json_object_get(json_array_get(blocks, 2), "facts");
        assert_int_equal(json_array_size(f), 6);
        check_fact(json_array_get(f, 2), "Window opens",
                   "Tue 2 Apr 2024 08:00 BST");
        check_fact(json_array_get(f, 3), "Contact", "not recorded");
        check_fact(json_array_get(f, 5), "Warning",
                   "the bank holiday data ends in 2028");
        json_decref(body);
        http_request_free(&r);
        json_decref(job);
}

/* A huge action (and a huge contact) still gives a card under 28 KB. */
static void
test_teams_limit(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body, *blocks, *facts;
        char *huge = support_repeat("Ask the lead inspector — \"now\". ", 4000);
        char *contact = support_repeat("é", 20000);
        struct backend_input in;
        struct http_request r;
        const char *text;

        (void)state;
        backend_fx_input(&in, job, BACKEND_FX_URL);
        in.text = huge;
        backend_fx_set_alert(job, "contact", contact);
        backend_fx_build("teams", &in, &r);
        assert_true(strlen(r.body) < 28 * 1000);
        body = support_json(r.body);
        blocks = json_object_get(
            json_object_get(
                json_array_get(json_object_get(body, "attachments"), 0),
                "content"),
            "body");
        text = backend_fx_sget(json_array_get(blocks, 1), "text");
        /* Cut, visibly, keeping the start. */
        assert_true(strlen(text) > 1000);
        assert_true(ends_with(text, "…"));
        assert_int_equal(strncmp(text, huge, 100), 0);
        /* The facts are still there: the deadline is never cut away. */
        facts = json_object_get(json_array_get(blocks, 2), "facts");
        check_fact(json_array_get(facts, 1), "Deadline",
                   "Mon 4 Mar 2024 16:30 GMT");
        assert_true(backend_fx_chars(backend_fx_sget(json_array_get(facts, 2),
                                                     "value")) <= 1024);
        json_decref(body);
        http_request_free(&r);
        free(huge);
        free(contact);
        json_decref(job);
}

/* --- Google Chat -------------------------------------------------------- */

static void
check_widget(const json_t *w, const char *label, const char *text)
{
        const json_t *dt = json_object_get(w, "decoratedText");

        assert_non_null(dt);
        backend_fx_assert_str(dt, "topLabel", label);
        backend_fx_assert_str(dt, "text", text);
}

static void
test_google_chat(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body, *cards, *card,
               *header, *w;
        struct backend_input in;
        struct http_request r;

        (void)state;
        backend_fx_set_alert(job, "contact", "Ms <b>Jones</b> & team");
        backend_fx_input(&in, job, BACKEND_FX_URL);
        backend_fx_build("google_chat", &in, &r);
        body = support_json(r.body);
        backend_fx_assert_str(body, "text", BACKEND_FX_TEXT);
        cards = json_object_get(body, "cardsV2");
        assert_int_equal(json_array_size(cards), 1);
        backend_fx_assert_str(json_array_get(cards, 0), "cardId", "3f2a9c0d5e");
        card = json_object_get(json_array_get(cards, 0), "card");
        header = json_object_get(card, "header");
        backend_fx_assert_str(header, "title", BACKEND_FX_TITLE);
        backend_fx_assert_str(header, "subtitle", "Example Learning Trust");
        assert_int_equal(json_array_size(json_object_get(card, "sections")), 1);
        w = json_object_get(
            json_array_get(json_object_get(card, "sections"), 0), "widgets");
        assert_int_equal(json_array_size(w), 4);
        check_widget(json_array_get(w, 0), "School",
                     "Oak Primary (URN 100001)");
        check_widget(json_array_get(w, 1), "Deadline",
                     "Mon 4 Mar 2024 16:30 GMT");
        /* Widget text is HTML-formatted: values are escaped. */
        check_widget(json_array_get(w, 2), "Contact",
                     "Ms &lt;b&gt;Jones&lt;/b&gt; &amp; team");
        check_widget(json_array_get(w, 3), "Rule", "deferral_cutoff");
        json_decref(body);
        http_request_free(&r);

        /* Under the 32,000-byte message limit whatever the action. */
        {
                char *huge = support_repeat("x&", 30000);

                in.text = huge;
                backend_fx_set_alert(job, "contact", huge);
                backend_fx_build("google_chat", &in, &r);
                assert_true(strlen(r.body) <= 32000);
                body = support_json(r.body);
                assert_true(backend_fx_chars(backend_fx_sget(body, "text")) <=
                            4096);
                json_decref(body);
                http_request_free(&r);
                free(huge);
        }
        json_decref(job);
}

/* --- Slack -------------------------------------------------------------- */

/* Every '&' in mrkdwn starts one of Slack's three entities. */
static void
assert_slack_escaped(const char *s)
{
        assert_null(strchr(s, '<'));
        assert_null(strchr(s, '>'));
        for (const char *p = strchr(s, '&'); p != NULL;
             p = strchr(p + 1, '&')) {
                if (strncmp(p, "&amp;", 5) != 0 && strncmp(p, "&lt;", 4) != 0 &&
                    strncmp(p, "&gt;", 4) != 0)
                        fail_msg("bare '&' in '%.40s'", p);
        }
}

static void
test_slack(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body, *blocks, *b, *fields;
        struct backend_input in;
        struct http_request r;

        (void)state;
        backend_fx_set_alert(job, "contact", "Ms Jones <0300 123 4231> & team");
        backend_fx_input(&in, job, BACKEND_FX_URL);
        in.title = "Oak & Elm <Primary>";
        in.text = "Ask <@U123> & <!channel> before 16:30 > 16:00";
        backend_fx_build("slack", &in, &r);
        body = support_json(r.body);
        /* The fallback is mrkdwn: escaped. */
        backend_fx_assert_str(body, "text", "Oak &amp; Elm &lt;Primary&gt;");
        blocks = json_object_get(body, "blocks");
        assert_int_equal(json_array_size(blocks), 3);

        b = json_array_get(blocks, 0);
        backend_fx_assert_str(b, "type", "header");
        backend_fx_assert_str(json_object_get(b, "text"), "type", "plain_text");
        /* plain_text is shown as written. */
        backend_fx_assert_str(json_object_get(b, "text"), "text",
                              "Oak & Elm <Primary>");

        b = json_array_get(blocks, 1);
        backend_fx_assert_str(b, "type", "section");
        backend_fx_assert_str(json_object_get(b, "text"), "type", "mrkdwn");
        /* No mention or link can be smuggled in through a value. */
        backend_fx_assert_str(
            json_object_get(b, "text"), "text",
            "Ask &lt;@U123&gt; &amp; &lt;!channel&gt; before 16:30 "
            "&gt; 16:00");

        b = json_array_get(blocks, 2);
        backend_fx_assert_str(b, "type", "section");
        fields = json_object_get(b, "fields");
        assert_int_equal(json_array_size(fields), 4);
        for (size_t i = 0; i < json_array_size(fields); i++)
                backend_fx_assert_str(json_array_get(fields, i), "type",
                                      "mrkdwn");
        backend_fx_assert_str(json_array_get(fields, 0), "text",
                              "*School*\nOak Primary (URN 100001)");
        backend_fx_assert_str(json_array_get(fields, 1), "text",
                              "*Deadline*\nMon 4 Mar 2024 16:30 GMT");
        backend_fx_assert_str(
            json_array_get(fields, 2), "text",
            "*Contact*\nMs Jones &lt;0300 123 4231&gt; &amp; team");
        backend_fx_assert_str(json_array_get(fields, 3), "text",
                              "*Rule*\ndeferral_cutoff");
        json_decref(body);
        http_request_free(&r);
        json_decref(job);
}

static void
test_slack_limits(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body, *blocks, *fields;
        char *title = support_repeat("é", 400),
             *text = support_repeat("a&<", 3000);
        char *contact = support_repeat("&", 5000);
        struct backend_input in;
        struct http_request r;
        const char *s;

        (void)state;
        backend_fx_set_alert(job, "contact", contact);
        backend_fx_input(&in, job, BACKEND_FX_URL);
        in.title = title;
        in.text = text;
        backend_fx_build("slack", &in, &r);
        body = support_json(r.body);
        blocks = json_object_get(body, "blocks");
        s = backend_fx_sget(json_object_get(json_array_get(blocks, 0), "text"),
                            "text");
        assert_int_equal(backend_fx_chars(s), 150);
        assert_true(ends_with(s, "…"));
        assert_int_equal(strncmp(s, "éééé", 8), 0);

        s = backend_fx_sget(json_object_get(json_array_get(blocks, 1), "text"),
                            "text");
        assert_true(backend_fx_chars(s) <= 3000);
        assert_true(backend_fx_chars(s) > 2900);
        assert_slack_escaped(s); /* cut between entities, never inside */
        assert_true(ends_with(s, "…"));

        fields = json_object_get(json_array_get(blocks, 2), "fields");
        for (size_t i = 0; i < json_array_size(fields); i++) {
                s = backend_fx_sget(json_array_get(fields, i), "text");
                assert_true(backend_fx_chars(s) <= 2000);
                assert_slack_escaped(s);
        }
        assert_true(backend_fx_chars(backend_fx_sget(body, "text")) <= 3000);
        json_decref(body);
        http_request_free(&r);
        free(title);
        free(text);
        free(contact);
        json_decref(job);
}

/* --- Discord ------------------------------------------------------------ */

static void
check_discord_url(const char *url, const char *want)
{
        json_t *job = support_json(BACKEND_FX_JOB);
        struct backend_input in;
        struct http_request r;

        backend_fx_input(&in, job, url);
        backend_fx_build("discord", &in, &r);
        assert_string_equal(r.url, want);
        http_request_free(&r);
        json_decref(job);
}

static void
test_discord_url(void **state)
{
        (void)state;
        check_discord_url("https://discord.com/api/webhooks/1/tok",
                          "https://discord.com/api/webhooks/1/tok?wait=true");
        check_discord_url(
            "https://discord.com/api/webhooks/1/tok?thread_id=99",
            "https://discord.com/api/webhooks/1/tok?thread_id=99&wait=true");
        /* Whatever wait it had, it now waits, once. */
        check_discord_url("https://discord.com/api/webhooks/1/tok?wait=false",
                          "https://discord.com/api/webhooks/1/tok?wait=true");
        check_discord_url(
            "https://discord.com/api/webhooks/1/tok?wait=true&thread_id=5",
            "https://discord.com/api/webhooks/1/tok?thread_id=5&wait=true");
        check_discord_url("http://127.0.0.1:8080/hook?a=1&b=2",
                          "http://127.0.0.1:8080/hook?a=1&b=2&wait=true");
}

static void
test_discord(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body, *embeds, *e, *fields,
               *f;
        struct backend_input in;
        struct http_request r;

        (void)state;
        backend_fx_input(&in, job, BACKEND_FX_URL);
        backend_fx_build("discord", &in, &r);
        body = support_json(r.body);
        backend_fx_assert_str(body, "content", BACKEND_FX_TITLE);
        embeds = json_object_get(body, "embeds");
        assert_int_equal(json_array_size(embeds), 1);
        e = json_array_get(embeds, 0);
        backend_fx_assert_str(e, "title", BACKEND_FX_TITLE);
        backend_fx_assert_str(e, "description", BACKEND_FX_TEXT);
        backend_fx_assert_str(e, "timestamp", "2024-03-04T16:30:00Z");
        assert_true(json_is_integer(json_object_get(e, "color")));
        backend_fx_assert_str(json_object_get(e, "footer"), "text",
                              "Example Learning Trust");
        fields = json_object_get(e, "fields");
        assert_int_equal(json_array_size(fields), 4);
        f = json_array_get(fields, 0);
        backend_fx_assert_str(f, "name", "School");
        backend_fx_assert_str(f, "value", "Oak Primary (URN 100001)");
        assert_true(json_is_boolean(json_object_get(f, "inline")));
        f = json_array_get(fields, 1);
        backend_fx_assert_str(f, "name", "Deadline");
        backend_fx_assert_str(f, "value", "Mon 4 Mar 2024 16:30 GMT");
        /* Nobody is pinged, whatever the texts say. */
        f = json_object_get(json_object_get(body, "allowed_mentions"), "parse");
        assert_true(json_is_array(f));
        assert_int_equal(json_array_size(f), 0);
        json_decref(body);
        http_request_free(&r);
        json_decref(job);
}

static void
test_discord_limits(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body, *e, *fields;
        char *title = support_repeat("t", 3000),
             *text = support_repeat("ü", 9000);
        char *contact = support_repeat("c", 5000),
             *warning = support_repeat("w", 5000);
        struct backend_input in;
        struct http_request r;
        size_t total;

        (void)state;
        backend_fx_set_alert(job, "contact", contact);
        backend_fx_set_alert(job, "warning", warning);
        backend_fx_set_alert(job, "trust", title);
        backend_fx_input(&in, job, BACKEND_FX_URL);
        in.title = title;
        in.text = text;
        backend_fx_build("discord", &in, &r);
        body = support_json(r.body);
        assert_true(backend_fx_chars(backend_fx_sget(body, "content")) <= 2000);
        e = json_array_get(json_object_get(body, "embeds"), 0);
        assert_true(backend_fx_chars(backend_fx_sget(e, "title")) <= 256);
        assert_true(backend_fx_chars(backend_fx_sget(e, "description")) <=
                    4096);
        total = backend_fx_chars(backend_fx_sget(e, "title")) +
                backend_fx_chars(backend_fx_sget(e, "description")) +
                backend_fx_chars(
                    backend_fx_sget(json_object_get(e, "footer"), "text"));
        fields = json_object_get(e, "fields");
        assert_true(json_array_size(fields) <= 25);
        for (size_t i = 0; i < json_array_size(fields); i++) {
                const json_t *f = json_array_get(fields, i);

                assert_true(backend_fx_chars(backend_fx_sget(f, "name")) <=
                            256);
                assert_true(backend_fx_chars(backend_fx_sget(f, "value")) <=
                            1024);
                total += backend_fx_chars(backend_fx_sget(f, "name")) +
                         backend_fx_chars(backend_fx_sget(f, "value"));
        }
        assert_true(total <= 6000);
        /* Cut to fit, not emptied. */
        assert_true(total > 5000);
        assert_true(ends_with(backend_fx_sget(e, "description"), "…"));
        json_decref(body);
        http_request_free(&r);
        free(title);
        free(text);
        free(contact);
        free(warning);
        json_decref(job);
}

/* --- Mattermost --------------------------------------------------------- */

static void
test_mattermost(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body;
        struct backend_input in;
        struct http_request r;
        char *huge = support_repeat("z", 10000);

        (void)state;
        backend_fx_input(&in, job, BACKEND_FX_URL);
        backend_fx_build("mattermost", &in, &r);
        body = support_json(r.body);
        assert_int_equal(json_object_size(body), 1);
        backend_fx_assert_str(
            body, "text",
            "#### " BACKEND_FX_TITLE "\n\n" BACKEND_FX_TEXT "\n"
            "\n**School:** Oak Primary (URN 100001)"
            "\n**Deadline:** Mon 4 Mar 2024 16:30 GMT"
            "\n**Contact:** Senior Ofsted leader: 0300 123 4231"
            "\n**Rule:** deferral_cutoff");
        json_decref(body);
        http_request_free(&r);

        in.text = huge;
        backend_fx_build("mattermost", &in, &r);
        body = support_json(r.body);
        assert_true(backend_fx_chars(backend_fx_sget(body, "text")) <= 4000);
        /* The facts survive the cut. */
        assert_non_null(strstr(backend_fx_sget(body, "text"),
                               "**Deadline:** Mon 4 Mar 2024 16:30 GMT"));
        json_decref(body);
        http_request_free(&r);
        free(huge);
        json_decref(job);
}

UNIT_MAIN({
    cmocka_unit_test(test_teams),
    cmocka_unit_test(test_teams_limit),
    cmocka_unit_test(test_google_chat),
    cmocka_unit_test(test_slack),
    cmocka_unit_test(test_slack_limits),
    cmocka_unit_test(test_discord_url),
    cmocka_unit_test(test_discord),
    cmocka_unit_test(test_discord_limits),
    cmocka_unit_test(test_mattermost),
})
