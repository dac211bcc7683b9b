/*
 * Unit tests for the webhook backends: each flavour's request checked field
 * by field against the shape its service documents, the services' limits
 * (Teams' 28 KB card, Slack's 150-character header, Discord's embed
 * limits), Slack's escaping, Discord's ?wait=true, the Standard Webhooks
 * signature (recomputed here with libsodium's one-shot HMAC, and the
 * published test vector), secret parsing and the classification of every
 * status.
 *
 * The job is the example in docs/dispatch.md. Character counts are checked
 * with a code-point counter written here, not with the module's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "backend_int.h"
#include "secret.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXAMPLE_JOB                                                        \
        "{\"delivery\": \"3f2a9c0d5e\", \"lease\": 17, \"attempt\": 2,"    \
        " \"channel\": \"leaders\", \"type\": \"teams\","                  \
        " \"alert\": {\"trust\": \"Example Learning Trust\", \"case\": 7," \
        " \"school\": {\"urn\": \"100001\", \"name\": \"Oak Primary\"},"   \
        " \"rule\": \"deferral_cutoff\", \"offset\": \"-60m\","            \
        " \"late\": false,"                                                \
        " \"action\": \"If you need to ask for a deferral, ask before "    \
        "16:30.\","                                                        \
        " \"contact\": \"Senior Ofsted leader: 0300 123 4231\","           \
        " \"at\": \"2024-03-04T15:30:00+00:00\","                          \
        " \"due\": \"2024-03-04T16:30:00+00:00\","                         \
        " \"due_utc\": \"2024-03-04T16:30:00Z\","                          \
        " \"due_human\": \"Mon 4 Mar 2024 16:30 GMT\","                    \
        " \"opens\": null, \"opens_human\": null, \"warning\": null}}"

#define URL   "https://hooks.example/webhook/abc"
#define NOW   1709566200 /* 2024-03-04T15:30:00Z */
#define TITLE "Oak Primary: deferral_cutoff — due Mon 4 Mar 2024 16:30 GMT"
#define TEXT  "Ask before 16:30.\nDeadline: Mon 4 Mar 2024 16:30 GMT."

/* --- Helpers ------------------------------------------------------------ */

static json_t *
load(const char *text)
{
        json_error_t e;
        json_t *v = json_loads(text, 0, &e);

        if (v == NULL)
                fail_msg("not JSON (%s): %.200s", e.text, text);
        return v;
}

static json_t *
alert_of(json_t *job)
{
        return json_object_get(job, "alert");
}

static void
set_alert(json_t *job, const char *key, const char *value)
{
        assert_int_equal(
            json_object_set_new(alert_of(job), key, json_string(value)), 0);
}

static void
input(struct backend_input *in, json_t *job, const char *url)
{
        memset(in, 0, sizeof(*in));
        in->job = job;
        in->url = url;
        in->title = TITLE;
        in->text = TEXT;
        in->now = NOW;
}

/* Builds with `type`, which must succeed. */
static void
build(const char *type, const struct backend_input *in, struct http_request *r)
{
        const struct backend_ops *ops = backend_find(type);
        char *cause = NULL;

        assert_non_null(ops);
        if (ops->build(in, r, &cause) != 0)
                fail_msg("%s build failed: %s", type, cause);
        assert_null(cause);
        assert_non_null(r->body);
        assert_non_null(r->url);
}

/* Builds with `type`, which must fail with `want` in the cause. */
static void
build_fails(const char *type, const struct backend_input *in, const char *want)
{
        struct http_request r;
        char *cause = NULL;

        assert_int_equal(backend_find(type)->build(in, &r, &cause), -1);
        assert_non_null(cause);
        if (strstr(cause, want) == NULL)
                fail_msg("cause '%s' lacks '%s'", cause, want);
        /* The URL is a secret: never in a message. */
        assert_null(strstr(cause, "hooks.example"));
        assert_null(r.body);
        assert_null(r.url);
        free(cause);
}

/* The value of header `name`, or NULL; the header must appear once. */
static const char *
header(const struct http_request *r, const char *name)
{
        const char *found = NULL;
        size_t n = strlen(name);

        for (size_t i = 0; i < r->nheaders; i++) {
                if (strncasecmp(r->headers[i], name, n) == 0 &&
                    r->headers[i][n] == ':' && r->headers[i][n + 1] == ' ') {
                        assert_null(found);
                        found = r->headers[i] + n + 2;
                }
        }
        return found;
}

/* Code points, the unit the services' limits are written in. */
static size_t
chars(const char *s)
{
        size_t n = 0;

        for (; *s != '\0'; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

static const char *
sget(const json_t *obj, const char *key)
{
        const char *v = json_string_value(json_object_get(obj, key));

        if (v == NULL)
                fail_msg("no string '%s'", key);
        return v;
}

static void
assert_str(const json_t *obj, const char *key, const char *want)
{
        assert_string_equal(sget(obj, key), want);
}

/* A string of n copies of `unit`, caller frees. */
static char *
repeat(const char *unit, size_t n)
{
        size_t len = strlen(unit);
        char *s = malloc(len * n + 1);

        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
                memcpy(s + i * len, unit, len);
        s[len * n] = '\0';
        return s;
}

/* Valid UTF-8 (jansson refuses anything else, so parsing proves it too). */
static bool
ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* --- The table and the common request ----------------------------------- */

static void
test_find(void **state)
{
        static const char *const types[] = {
                "teams",   "google_chat", "slack",
                "discord", "mattermost",  "webhook"
        };

        (void)state;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                const struct backend_ops *ops = backend_find(types[i]);

                assert_non_null(ops);
                assert_string_equal(ops->type, types[i]);
                assert_non_null(ops->build);
                assert_non_null(ops->classify);
        }
        assert_null(backend_find("email"));
        assert_null(backend_find("Teams"));
        assert_null(backend_find(""));
        assert_null(backend_find(NULL));
        assert_string_equal(outcome_name(OUTCOME_DELIVERED), "delivered");
        assert_string_equal(outcome_name(OUTCOME_RETRY), "retry");
        assert_string_equal(outcome_name(OUTCOME_FAILED), "failed");
}

/* Every flavour: the common headers, the URL, and a JSON body. */
static void
test_common_request(void **state)
{
        static const char *const types[] = {
                "teams",   "google_chat", "slack",
                "discord", "mattermost",  "webhook"
        };
        json_t *job = load(EXAMPLE_JOB);

        (void)state;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                struct backend_input in;
                struct http_request r;
                json_t *body;

                /* A url_file's trailing newline is not part of the URL. */
                input(&in, job, "  " URL "\n");
                build(types[i], &in, &r);
                assert_string_equal(header(&r, "Content-Type"),
                                    "application/json");
                assert_string_equal(header(&r, "Idempotency-Key"),
                                    "3f2a9c0d5e");
                assert_string_equal(header(&r, "User-Agent"),
                                    "ofsted-notify/" PROJECT_VERSION);
                if (strcmp(types[i], "discord") == 0)
                        assert_string_equal(r.url, URL "?wait=true");
                else
                        assert_string_equal(r.url, URL);
                body = load(r.body);
                assert_true(json_is_object(body));
                /* Compact: no pretty-printing newlines in the body. */
                assert_null(strchr(r.body, '\n'));
                json_decref(body);
                http_request_free(&r);
                assert_null(r.body);
                assert_int_equal(r.nheaders, 0);
        }
        http_request_free(NULL);
        json_decref(job);
}

static void
test_bad_input(void **state)
{
        json_t *job = load(EXAMPLE_JOB), *bad;
        struct backend_input in;

        (void)state;
        input(&in, job, NULL);
        build_fails("slack", &in, "no webhook URL");
        input(&in, job, " \n");
        build_fails("teams", &in, "no webhook URL");
        input(&in, job, "https://hooks.example/a b");
        build_fails("discord", &in, "space or control character");
        input(&in, job, "https://hooks.example/a\r\nX-Injected: 1");
        build_fails("webhook", &in, "space or control character");

        /* A delivery id goes into headers and the signed string. */
        bad = load(EXAMPLE_JOB);
        json_object_set_new(bad, "delivery", json_string("a.b"));
        input(&in, bad, URL);
        build_fails("webhook", &in, "'delivery'");
        json_object_set_new(bad, "delivery", json_string("a\r\nX: y"));
        build_fails("teams", &in, "'delivery'");
        json_object_del(bad, "delivery");
        build_fails("slack", &in, "'delivery'");
        json_decref(bad);

        bad = load(EXAMPLE_JOB);
        json_object_del(bad, "alert");
        input(&in, bad, URL);
        build_fails("google_chat", &in, "'alert'");
        json_decref(bad);

        bad = load(EXAMPLE_JOB);
        json_object_del(alert_of(bad), "due_utc");
        input(&in, bad, URL);
        build_fails("discord", &in, "due_utc");
        json_decref(bad);

        input(&in, NULL, URL);
        build_fails("mattermost", &in, "not a JSON object");
        json_decref(job);
}

/* No rendered title or text: the defaults are rendered from the alert. */
static void
test_default_templates(void **state)
{
        json_t *job = load(EXAMPLE_JOB), *body;
        struct backend_input in;
        struct http_request r;

        (void)state;
        input(&in, job, URL);
        in.title = in.text = NULL;
        build("webhook", &in, &r);
        body = load(r.body);
        assert_str(body, "title", TITLE);
        assert_str(body, "text",
                   "If you need to ask for a deferral, ask before 16:30.\n"
                   "Deadline: Mon 4 Mar 2024 16:30 GMT.\n"
                   "School: Oak Primary (URN 100001).\n"
                   "Contact: Senior Ofsted leader: 0300 123 4231");
        json_decref(body);
        http_request_free(&r);
        json_decref(job);
}

/* --- Teams -------------------------------------------------------------- */

static void
check_fact(const json_t *fact, const char *title, const char *value)
{
        assert_str(fact, "title", title);
        assert_str(fact, "value", value);
}

static void
test_teams(void **state)
{
        json_t *job = load(EXAMPLE_JOB), *body, *att, *card, *blocks, *b, *f;
        struct backend_input in;
        struct http_request r;

        (void)state;
        input(&in, job, URL);
        build("teams", &in, &r);
        body = load(r.body);
        assert_str(body, "type", "message");
        assert_int_equal(json_array_size(json_object_get(body, "attachments")),
                         1);
        att = json_array_get(json_object_get(body, "attachments"), 0);
        assert_str(att, "contentType",
                   "application/vnd.microsoft.card.adaptive");
        assert_true(json_is_null(json_object_get(att, "contentUrl")));
        card = json_object_get(att, "content");
        assert_str(card, "$schema",
                   "http://adaptivecards.io/schemas/adaptive-card.json");
        assert_str(card, "type", "AdaptiveCard");
        assert_str(card, "version", "1.4");
        blocks = json_object_get(card, "body");
        assert_int_equal(json_array_size(blocks), 3);

        b = json_array_get(blocks, 0);
        assert_str(b, "type", "TextBlock");
        assert_str(b, "text", TITLE);
        assert_str(b, "weight", "Bolder");
        assert_true(json_is_true(json_object_get(b, "wrap")));
        assert_null(json_object_get(b, "color")); /* not late */

        b = json_array_get(blocks, 1);
        assert_str(b, "type", "TextBlock");
        assert_str(b, "text", TEXT);
        assert_true(json_is_true(json_object_get(b, "wrap")));

        b = json_array_get(blocks, 2);
        assert_str(b, "type", "FactSet");
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
        json_object_set_new(alert_of(job), "late", json_true());
        set_alert(job, "opens_human", "Tue 2 Apr 2024 08:00 BST");
        set_alert(job, "opens", "2024-04-02T08:00:00+01:00");
        set_alert(job, "warning", "the bank holiday data ends in 2028");
        json_object_set_new(alert_of(job), "contact", json_null());
        build("teams", &in, &r);
        body = load(r.body);
        card = json_object_get(
            json_array_get(json_object_get(body, "attachments"), 0), "content");
        blocks = json_object_get(card, "body");
        assert_str(json_array_get(blocks, 0), "color", "Attention");
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
        json_t *job = load(EXAMPLE_JOB), *body, *blocks, *facts;
        char *huge = repeat("Ask the lead inspector — \"now\". ", 4000);
        char *contact = repeat("é", 20000);
        struct backend_input in;
        struct http_request r;
        const char *text;

        (void)state;
        input(&in, job, URL);
        in.text = huge;
        set_alert(job, "contact", contact);
        build("teams", &in, &r);
        assert_true(strlen(r.body) < 28 * 1000);
        body = load(r.body);
        blocks = json_object_get(
            json_object_get(
                json_array_get(json_object_get(body, "attachments"), 0),
                "content"),
            "body");
        text = sget(json_array_get(blocks, 1), "text");
        /* Cut, visibly, keeping the start. */
        assert_true(strlen(text) > 1000);
        assert_true(ends_with(text, "…"));
        assert_int_equal(strncmp(text, huge, 100), 0);
        /* The facts are still there: the deadline is never cut away. */
        facts = json_object_get(json_array_get(blocks, 2), "facts");
        check_fact(json_array_get(facts, 1), "Deadline",
                   "Mon 4 Mar 2024 16:30 GMT");
        assert_true(chars(sget(json_array_get(facts, 2), "value")) <= 1024);
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
        assert_str(dt, "topLabel", label);
        assert_str(dt, "text", text);
}

static void
test_google_chat(void **state)
{
        json_t *job = load(EXAMPLE_JOB), *body, *cards, *card, *header, *w;
        struct backend_input in;
        struct http_request r;

        (void)state;
        set_alert(job, "contact", "Ms <b>Jones</b> & team");
        input(&in, job, URL);
        build("google_chat", &in, &r);
        body = load(r.body);
        assert_str(body, "text", TEXT);
        cards = json_object_get(body, "cardsV2");
        assert_int_equal(json_array_size(cards), 1);
        assert_str(json_array_get(cards, 0), "cardId", "3f2a9c0d5e");
        card = json_object_get(json_array_get(cards, 0), "card");
        header = json_object_get(card, "header");
        assert_str(header, "title", TITLE);
        assert_str(header, "subtitle", "Example Learning Trust");
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
                char *huge = repeat("x&", 30000);

                in.text = huge;
                set_alert(job, "contact", huge);
                build("google_chat", &in, &r);
                assert_true(strlen(r.body) <= 32000);
                body = load(r.body);
                assert_true(chars(sget(body, "text")) <= 4096);
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
        json_t *job = load(EXAMPLE_JOB), *body, *blocks, *b, *fields;
        struct backend_input in;
        struct http_request r;

        (void)state;
        set_alert(job, "contact", "Ms Jones <0300 123 4231> & team");
        input(&in, job, URL);
        in.title = "Oak & Elm <Primary>";
        in.text = "Ask <@U123> & <!channel> before 16:30 > 16:00";
        build("slack", &in, &r);
        body = load(r.body);
        /* The fallback is mrkdwn: escaped. */
        assert_str(body, "text", "Oak &amp; Elm &lt;Primary&gt;");
        blocks = json_object_get(body, "blocks");
        assert_int_equal(json_array_size(blocks), 3);

        b = json_array_get(blocks, 0);
        assert_str(b, "type", "header");
        assert_str(json_object_get(b, "text"), "type", "plain_text");
        /* plain_text is shown as written. */
        assert_str(json_object_get(b, "text"), "text", "Oak & Elm <Primary>");

        b = json_array_get(blocks, 1);
        assert_str(b, "type", "section");
        assert_str(json_object_get(b, "text"), "type", "mrkdwn");
        /* No mention or link can be smuggled in through a value. */
        assert_str(json_object_get(b, "text"), "text",
                   "Ask &lt;@U123&gt; &amp; &lt;!channel&gt; before 16:30 "
                   "&gt; 16:00");

        b = json_array_get(blocks, 2);
        assert_str(b, "type", "section");
        fields = json_object_get(b, "fields");
        assert_int_equal(json_array_size(fields), 4);
        for (size_t i = 0; i < json_array_size(fields); i++)
                assert_str(json_array_get(fields, i), "type", "mrkdwn");
        assert_str(json_array_get(fields, 0), "text",
                   "*School*\nOak Primary (URN 100001)");
        assert_str(json_array_get(fields, 1), "text",
                   "*Deadline*\nMon 4 Mar 2024 16:30 GMT");
        assert_str(json_array_get(fields, 2), "text",
                   "*Contact*\nMs Jones &lt;0300 123 4231&gt; &amp; team");
        assert_str(json_array_get(fields, 3), "text",
                   "*Rule*\ndeferral_cutoff");
        json_decref(body);
        http_request_free(&r);
        json_decref(job);
}

static void
test_slack_limits(void **state)
{
        json_t *job = load(EXAMPLE_JOB), *body, *blocks, *fields;
        char *title = repeat("é", 400), *text = repeat("a&<", 3000);
        char *contact = repeat("&", 5000);
        struct backend_input in;
        struct http_request r;
        const char *s;

        (void)state;
        set_alert(job, "contact", contact);
        input(&in, job, URL);
        in.title = title;
        in.text = text;
        build("slack", &in, &r);
        body = load(r.body);
        blocks = json_object_get(body, "blocks");
        s = sget(json_object_get(json_array_get(blocks, 0), "text"), "text");
        assert_int_equal(chars(s), 150);
        assert_true(ends_with(s, "…"));
        assert_int_equal(strncmp(s, "éééé", 8), 0);

        s = sget(json_object_get(json_array_get(blocks, 1), "text"), "text");
        assert_true(chars(s) <= 3000);
        assert_true(chars(s) > 2900);
        assert_slack_escaped(s); /* cut between entities, never inside */
        assert_true(ends_with(s, "…"));

        fields = json_object_get(json_array_get(blocks, 2), "fields");
        for (size_t i = 0; i < json_array_size(fields); i++) {
                s = sget(json_array_get(fields, i), "text");
                assert_true(chars(s) <= 2000);
                assert_slack_escaped(s);
        }
        assert_true(chars(sget(body, "text")) <= 3000);
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
        json_t *job = load(EXAMPLE_JOB);
        struct backend_input in;
        struct http_request r;

        input(&in, job, url);
        build("discord", &in, &r);
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
        json_t *job = load(EXAMPLE_JOB), *body, *embeds, *e, *fields, *f;
        struct backend_input in;
        struct http_request r;

        (void)state;
        input(&in, job, URL);
        build("discord", &in, &r);
        body = load(r.body);
        assert_str(body, "content", TITLE);
        embeds = json_object_get(body, "embeds");
        assert_int_equal(json_array_size(embeds), 1);
        e = json_array_get(embeds, 0);
        assert_str(e, "title", TITLE);
        assert_str(e, "description", TEXT);
        assert_str(e, "timestamp", "2024-03-04T16:30:00Z");
        assert_true(json_is_integer(json_object_get(e, "color")));
        assert_str(json_object_get(e, "footer"), "text",
                   "Example Learning Trust");
        fields = json_object_get(e, "fields");
        assert_int_equal(json_array_size(fields), 4);
        f = json_array_get(fields, 0);
        assert_str(f, "name", "School");
        assert_str(f, "value", "Oak Primary (URN 100001)");
        assert_true(json_is_boolean(json_object_get(f, "inline")));
        f = json_array_get(fields, 1);
        assert_str(f, "name", "Deadline");
        assert_str(f, "value", "Mon 4 Mar 2024 16:30 GMT");
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
        json_t *job = load(EXAMPLE_JOB), *body, *e, *fields;
        char *title = repeat("t", 3000), *text = repeat("ü", 9000);
        char *contact = repeat("c", 5000), *warning = repeat("w", 5000);
        struct backend_input in;
        struct http_request r;
        size_t total;

        (void)state;
        set_alert(job, "contact", contact);
        set_alert(job, "warning", warning);
        set_alert(job, "trust", title);
        input(&in, job, URL);
        in.title = title;
        in.text = text;
        build("discord", &in, &r);
        body = load(r.body);
        assert_true(chars(sget(body, "content")) <= 2000);
        e = json_array_get(json_object_get(body, "embeds"), 0);
        assert_true(chars(sget(e, "title")) <= 256);
        assert_true(chars(sget(e, "description")) <= 4096);
        total = chars(sget(e, "title")) + chars(sget(e, "description")) +
                chars(sget(json_object_get(e, "footer"), "text"));
        fields = json_object_get(e, "fields");
        assert_true(json_array_size(fields) <= 25);
        for (size_t i = 0; i < json_array_size(fields); i++) {
                const json_t *f = json_array_get(fields, i);

                assert_true(chars(sget(f, "name")) <= 256);
                assert_true(chars(sget(f, "value")) <= 1024);
                total += chars(sget(f, "name")) + chars(sget(f, "value"));
        }
        assert_true(total <= 6000);
        /* Cut to fit, not emptied. */
        assert_true(total > 5000);
        assert_true(ends_with(sget(e, "description"), "…"));
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
        json_t *job = load(EXAMPLE_JOB), *body;
        struct backend_input in;
        struct http_request r;
        char *huge = repeat("z", 10000);

        (void)state;
        input(&in, job, URL);
        build("mattermost", &in, &r);
        body = load(r.body);
        assert_int_equal(json_object_size(body), 1);
        assert_str(body, "text",
                   "#### " TITLE "\n\n" TEXT "\n"
                   "\n**School:** Oak Primary (URN 100001)"
                   "\n**Deadline:** Mon 4 Mar 2024 16:30 GMT"
                   "\n**Contact:** Senior Ofsted leader: 0300 123 4231"
                   "\n**Rule:** deferral_cutoff");
        json_decref(body);
        http_request_free(&r);

        in.text = huge;
        build("mattermost", &in, &r);
        body = load(r.body);
        assert_true(chars(sget(body, "text")) <= 4000);
        /* The facts survive the cut. */
        assert_non_null(strstr(sget(body, "text"),
                               "**Deadline:** Mon 4 Mar 2024 16:30 GMT"));
        json_decref(body);
        http_request_free(&r);
        free(huge);
        json_decref(job);
}

/* --- Generic, signed ---------------------------------------------------- */

/* The published Standard Webhooks test vector. */
#define VECTOR_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VECTOR_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VECTOR_TS     1614265330
#define VECTOR_BODY   "{\"test\": 2432232314}"
#define VECTOR_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void
test_signature_vector(void **state)
{
        unsigned char *key = NULL;
        size_t len = 0;
        char *cause = NULL, sig[WEBHOOK_SIG_LEN];

        (void)state;
        assert_int_equal(secret_whsec_key(VECTOR_SECRET, &key, &len, &cause),
                         0);
        assert_null(cause);
        assert_int_equal(len, 24);
        webhook_sign(key, len, VECTOR_ID, VECTOR_TS, VECTOR_BODY, sig,
                     sizeof(sig));
        assert_string_equal(sig, VECTOR_SIG);
        /* One byte of the body changed, another signature. */
        webhook_sign(key, len, VECTOR_ID, VECTOR_TS, "{\"test\": 2432232315}",
                     sig, sizeof(sig));
        assert_string_not_equal(sig, VECTOR_SIG);
        sodium_memzero(key, len);
        free(key);
}

static void
test_webhook(void **state)
{
        json_t *job = load(EXAMPLE_JOB), *body, *o;
        unsigned char raw[crypto_auth_hmacsha256_KEYBYTES], mac[64];
        char secret[128], *signed_text, *cause = NULL;
        unsigned char *key = NULL;
        size_t keylen = 0, maclen = 0;
        struct backend_input in;
        struct http_request r;
        const char *sig, *end = NULL;

        (void)state;
        assert_true(sodium_init() >= 0);
        randombytes_buf(raw, sizeof(raw));
        strcpy(secret, "whsec_");
        sodium_bin2base64(secret + 6, sizeof(secret) - 6, raw, sizeof(raw),
                          sodium_base64_VARIANT_ORIGINAL);
        strcat(secret, "\n");
        assert_int_equal(secret_whsec_key(secret, &key, &keylen, &cause), 0);
        assert_int_equal(keylen, sizeof(raw));
        assert_memory_equal(key, raw, sizeof(raw));

        input(&in, job, URL);
        in.key = key;
        in.keylen = keylen;
        build("webhook", &in, &r);

        /* The Standard Webhooks headers. */
        assert_string_equal(header(&r, "webhook-id"), "3f2a9c0d5e");
        assert_string_equal(header(&r, "webhook-timestamp"), "1709566200");
        sig = header(&r, "webhook-signature");
        assert_non_null(sig);
        assert_int_equal(strncmp(sig, "v1,", 3), 0);
        /* Recompute independently with the one-shot API over the exact
         * bytes sent. */
        assert_int_equal(sodium_base642bin(mac, sizeof(mac), sig + 3,
                                           strlen(sig + 3), NULL, &maclen, &end,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        assert_int_equal(*end, '\0');
        assert_int_equal(maclen, crypto_auth_hmacsha256_BYTES);
        assert_true(asprintf(&signed_text, "3f2a9c0d5e.1709566200.%s", r.body) >
                    0);
        assert_int_equal(crypto_auth_hmacsha256_verify(
                             mac, (const unsigned char *)signed_text,
                             strlen(signed_text), raw),
                         0);
        /* A body changed in transit no longer verifies. */
        signed_text[strlen(signed_text) - 2] ^= 1;
        assert_int_not_equal(crypto_auth_hmacsha256_verify(
                                 mac, (const unsigned char *)signed_text,
                                 strlen(signed_text), raw),
                             0);
        free(signed_text);

        body = load(r.body);
        assert_str(body, "type", "ofsted_notify.alert");
        assert_str(body, "timestamp", "2024-03-04T15:30:00+00:00");
        assert_str(body, "delivery", "3f2a9c0d5e");
        assert_int_equal(json_integer_value(json_object_get(body, "attempt")),
                         2);
        assert_str(body, "trust", "Example Learning Trust");
        o = json_object_get(body, "school");
        assert_str(o, "urn", "100001");
        assert_str(o, "name", "Oak Primary");
        assert_str(body, "rule", "deferral_cutoff");
        assert_str(body, "offset", "-60m");
        assert_true(json_is_false(json_object_get(body, "late")));
        assert_str(body, "action",
                   "If you need to ask for a deferral, ask before 16:30.");
        assert_str(body, "contact", "Senior Ofsted leader: 0300 123 4231");
        o = json_object_get(body, "deadline");
        assert_str(o, "local", "2024-03-04T16:30:00+00:00");
        assert_str(o, "utc", "2024-03-04T16:30:00Z");
        assert_str(o, "human", "Mon 4 Mar 2024 16:30 GMT");
        assert_true(json_is_null(json_object_get(body, "opens")));
        assert_true(json_is_null(json_object_get(body, "warning")));
        assert_str(body, "title", TITLE);
        assert_str(body, "text", TEXT);
        json_decref(body);
        http_request_free(&r);

        /* A window: opens with its UTC instant worked out (08:00 BST is
         * 07:00Z); a warning; late. */
        set_alert(job, "opens", "2024-04-02T08:00:00+01:00");
        set_alert(job, "opens_human", "Tue 2 Apr 2024 08:00 BST");
        set_alert(job, "warning", "the bank holiday data ends in 2028");
        json_object_set_new(alert_of(job), "late", json_true());
        in.now = NOW + 60;
        build("webhook", &in, &r);
        assert_string_equal(header(&r, "webhook-timestamp"), "1709566260");
        body = load(r.body);
        o = json_object_get(body, "opens");
        assert_str(o, "local", "2024-04-02T08:00:00+01:00");
        assert_str(o, "utc", "2024-04-02T07:00:00Z");
        assert_str(o, "human", "Tue 2 Apr 2024 08:00 BST");
        assert_str(body, "warning", "the bank holiday data ends in 2028");
        assert_true(json_is_true(json_object_get(body, "late")));
        json_decref(body);
        http_request_free(&r);

        /* No secret: the id and timestamp, no signature. */
        in.key = NULL;
        in.keylen = 0;
        build("webhook", &in, &r);
        assert_non_null(header(&r, "webhook-id"));
        assert_non_null(header(&r, "webhook-timestamp"));
        assert_null(header(&r, "webhook-signature"));
        http_request_free(&r);

        sodium_memzero(key, keylen);
        free(key);
        json_decref(job);
}

static void
check_secret_bad(const char *text, const char *want)
{
        unsigned char *key = (unsigned char *)"not touched";
        size_t len = 99;
        char *cause = NULL;

        assert_int_equal(secret_whsec_key(text, &key, &len, &cause), -1);
        assert_null(key);
        assert_int_equal(len, 0);
        assert_non_null(cause);
        if (strstr(cause, want) == NULL)
                fail_msg("cause '%s' lacks '%s'", cause, want);
        /* The secret is never quoted back. */
        if (text != NULL && strlen(text) > 8)
                assert_null(strstr(cause, text + 6));
        free(cause);
}

static void
test_secret(void **state)
{
        unsigned char *key = NULL;
        size_t len = 0;
        char *cause = NULL;

        (void)state;
        /* Whitespace around it (a file's newline) is ignored. */
        assert_int_equal(
            secret_whsec_key(" \t" VECTOR_SECRET "\r\n", &key, &len, &cause),
            0);
        assert_int_equal(len, 24);
        /* MfKQ decodes to 0x31 0xf2 0x90 (by hand: M=12 f=31 K=10 Q=16). */
        assert_int_equal(key[0], 0x31);
        assert_int_equal(key[1], 0xf2);
        assert_int_equal(key[2], 0x90);
        free(key);

        /* 32 bytes: 44 base64 characters with one '=' of padding. */
        assert_int_equal(
            secret_whsec_key(
                "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", &key,
                &len, &cause),
            0);
        assert_int_equal(len, 32);
        for (size_t i = 0; i < len; i++)
                assert_int_equal(key[i], i);
        free(key);

        check_secret_bad("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "'whsec_'");
        check_secret_bad("whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "'whsec_'");
        check_secret_bad("whsec_", "'whsec_'");
        check_secret_bad("", "'whsec_'");
        check_secret_bad(NULL, "'whsec_'");
        check_secret_bad("whsec_MfKQ9r8G!!!rTwjUPD8ILPZIo2LaLaSw", "base64");
        check_secret_bad("whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw", "base64");
        /* 16 bytes: under the spec's 24-byte minimum. */
        check_secret_bad("whsec_AAECAwQFBgcICQoLDA0ODw==", "16 bytes");
        /* 96 bytes: over its 64-byte maximum. */
        {
                char *long_key = repeat("AAAA", 32), *text;

                assert_true(asprintf(&text, "whsec_%s", long_key) > 0);
                check_secret_bad(text, "96 bytes");
                free(text);
                free(long_key);
                /* Far over: refused before decoding. */
                long_key = repeat("AAAA", 1000);
                assert_true(asprintf(&text, "whsec_%s", long_key) > 0);
                check_secret_bad(text, "over 64 bytes");
                free(text);
                free(long_key);
        }
}

/* --- Classification ----------------------------------------------------- */

struct class_row {
        long status;
        const char *body;
        long header_retry_after;
        enum outcome want;
        long want_retry_after;
        const char *want_error; /* exact; NULL: none */
};

static const struct class_row class_rows[] = {
        { 200, "ok", -1, OUTCOME_DELIVERED, -1, NULL },
        { 201, NULL, -1, OUTCOME_DELIVERED, -1, NULL },
        { 202, NULL, -1, OUTCOME_DELIVERED, -1, NULL }, /* Teams Workflows */
        { 204, NULL, 5, OUTCOME_DELIVERED, -1, NULL },
        { 408, NULL, -1, OUTCOME_RETRY, -1, "HTTP 408 (request timeout)" },
        { 425, NULL, -1, OUTCOME_RETRY, -1, "HTTP 425 (too early)" },
        { 429, NULL, 30, OUTCOME_RETRY, 30, "HTTP 429 (rate limited)" },
        { 500, NULL, -1, OUTCOME_RETRY, -1, "HTTP 500" },
        { 502, NULL, -1, OUTCOME_RETRY, -1, "HTTP 502" },
        { 503, NULL, 7, OUTCOME_RETRY, 7, "HTTP 503" },
        { 504, "<html>gateway</html>", -1, OUTCOME_RETRY, -1, "HTTP 504" },
        { 301, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 301 (redirect not followed: update the webhook URL)" },
        { 400, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 400 (bad request: the service refused the message)" },
        { 401, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 401 (unauthorized: check the webhook URL)" },
        { 403, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 403 (forbidden: the webhook may be disabled)" },
        { 404, NULL, 9, OUTCOME_FAILED, -1,
          "HTTP 404 (not found: the webhook may have been deleted)" },
        { 410, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 410 (gone: the webhook was removed)" },
        { 413, NULL, -1, OUTCOME_FAILED, -1, "HTTP 413 (payload too large)" },
        { 422, NULL, -1, OUTCOME_FAILED, -1, "HTTP 422" },
        /* The service's own reason: Slack's text, Discord's JSON. */
        { 400, "invalid_payload", -1, OUTCOME_FAILED, -1,
          "HTTP 400 (bad request: the service refused the message): "
          "invalid_payload" },
        { 404, "{\"message\": \"Unknown Webhook\", \"code\": 10015}", -1,
          OUTCOME_FAILED, -1,
          "HTTP 404 (not found: the webhook may have been deleted): Unknown "
          "Webhook" },
        { 400, "{\"error\": {\"code\": 400, \"message\": \"Invalid JSON\"}}",
          -1, OUTCOME_FAILED, -1,
          "HTTP 400 (bad request: the service refused the message): Invalid "
          "JSON" },
        /* ...unless it quotes a URL, which may be the secret one. */
        { 404, "no such hook https://hooks.example/webhook/abc", -1,
          OUTCOME_FAILED, -1,
          "HTTP 404 (not found: the webhook may have been deleted)" },
};

static void
check_class(const struct backend_ops *ops, const struct class_row *row)
{
        struct http_response resp = { 0 };
        long ra = 12345;
        char *error = (char *)"untouched";
        enum outcome o;

        resp.status = row->status;
        resp.body = row->body;
        resp.len = row->body != NULL ? strlen(row->body) : 0;
        resp.retry_after = row->header_retry_after;
        o = ops->classify(&resp, &ra, &error);
        if (o != row->want)
                fail_msg("%s: HTTP %ld: %s, want %s", ops->type, row->status,
                         outcome_name(o), outcome_name(row->want));
        assert_int_equal(ra, row->want_retry_after);
        if (row->want_error == NULL) {
                assert_null(error);
        } else {
                assert_non_null(error);
                if (strcmp(error, row->want_error) != 0)
                        fail_msg("%s: HTTP %ld: '%s', want '%s'", ops->type,
                                 row->status, error, row->want_error);
        }
        free(error);
}

static void
test_classify(void **state)
{
        static const char *const types[] = {
                "teams",   "google_chat", "slack",
                "discord", "mattermost",  "webhook"
        };

        (void)state;
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
                for (size_t i = 0;
                     i < sizeof(class_rows) / sizeof(class_rows[0]); i++)
                        check_class(backend_find(types[t]), &class_rows[i]);
        }
}

/* No response at all: retry, with curl's reason but never a URL. */
static void
test_classify_transport(void **state)
{
        const struct backend_ops *ops = backend_find("slack");
        struct http_response resp = { 0 };
        long ra = 0;
        char *error = NULL;

        (void)state;
        resp.retry_after = -1;
        resp.transport_error = "Failed to connect to hooks.example port 443 "
                               "after 3 ms: Connection refused";
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, -1);
        assert_string_equal(error,
                            "no response: Failed to connect to hooks.example "
                            "port 443 after 3 ms: Connection refused");
        free(error);

        resp.transport_error = "Operation timed out after 15000 milliseconds";
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_non_null(strstr(error, "timed out"));
        free(error);

        resp.transport_error = "URL rejected: https://hooks.example/secret";
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_null(strstr(error, "secret"));
        free(error);

        resp.transport_error = NULL;
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_string_equal(error, "no response: transfer failed");
        free(error);
}

/* Discord's 429 says when in its JSON body, in fractional seconds. */
static void
test_classify_discord_429(void **state)
{
        const struct backend_ops *ops = backend_find("discord");
        const char *body = "{\"message\": \"You are being rate limited.\", "
                           "\"retry_after\": 1.234, \"global\": false}";
        struct http_response resp = { 429, body, strlen(body), -1, NULL };
        long ra = 0;
        char *error = NULL;

        (void)state;
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 2); /* rounded up */
        assert_string_equal(error, "HTTP 429 (rate limited): You are being "
                                   "rate limited.");
        free(error);

        /* Whole seconds stay as they are. */
        resp.body = "{\"retry_after\": 3}";
        resp.len = strlen(resp.body);
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 3);
        free(error);

        /* The header, when there is one, wins. */
        resp.retry_after = 5;
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 5);
        free(error);

        /* No usable body: no retry_after, the scheduler backs off. */
        resp.retry_after = -1;
        resp.body = "{\"retry_after\": \"soon\"}";
        resp.len = strlen(resp.body);
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, -1);
        free(error);

        /* The others read no body for it (Slack sends the header). */
        resp.body = "{\"retry_after\": 3}";
        resp.len = strlen(resp.body);
        assert_int_equal(backend_find("slack")->classify(&resp, &ra, &error),
                         OUTCOME_RETRY);
        assert_int_equal(ra, -1);
        free(error);
}

/* --- Text helpers ------------------------------------------------------- */

static void
test_text(void **state)
{
        char *s;

        (void)state;
        assert_int_equal(text_units("abc"), 3);
        assert_int_equal(text_units("é—"), 2);
        assert_int_equal(text_units("\xf0\x9f\x98\x80"), 2); /* U+1F600 */

        s = text_cut("abcdef", 6);
        assert_string_equal(s, "abcdef");
        free(s);
        s = text_cut("abcdef", 4);
        assert_string_equal(s, "abc…");
        free(s);
        s = text_cut("ééé", 2);
        assert_string_equal(s, "é…");
        free(s);
        /* An astral character is never split, nor counted as one. */
        s = text_cut("a\xf0\x9f\x98\x80"
                     "bc",
                     3);
        assert_string_equal(s, "a…");
        free(s);
        s = text_cut("abc", 0);
        assert_string_equal(s, "");
        free(s);

        s = text_cut_bytes("ééé", 6);
        assert_string_equal(s, "ééé");
        free(s);
        s = text_cut_bytes("ééé", 5); /* 2 bytes left: one é, then … */
        assert_string_equal(s, "é…");
        free(s);
        s = text_cut_bytes("ééé", 4); /* 1 byte left: half an é is none */
        assert_string_equal(s, "…");
        free(s);
        s = text_cut_bytes("abcdéf", 6);
        assert_string_equal(s, "abc…");
        free(s);

        s = text_escape_slack("a&b<c>d");
        assert_string_equal(s, "a&amp;b&lt;c&gt;d");
        free(s);
        s = text_cut_escaped("&&&&", 7, text_escape_slack);
        assert_string_equal(s, "&amp;…");
        free(s);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_find),
                cmocka_unit_test(test_common_request),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_default_templates),
                cmocka_unit_test(test_teams),
                cmocka_unit_test(test_teams_limit),
                cmocka_unit_test(test_google_chat),
                cmocka_unit_test(test_slack),
                cmocka_unit_test(test_slack_limits),
                cmocka_unit_test(test_discord_url),
                cmocka_unit_test(test_discord),
                cmocka_unit_test(test_discord_limits),
                cmocka_unit_test(test_mattermost),
                cmocka_unit_test(test_signature_vector),
                cmocka_unit_test(test_webhook),
                cmocka_unit_test(test_secret),
                cmocka_unit_test(test_classify),
                cmocka_unit_test(test_classify_transport),
                cmocka_unit_test(test_classify_discord_429),
                cmocka_unit_test(test_text),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
