/*
 * Tests for conf's channels, schools and templates: the shipped example's
 * channels and schools, the default and own templates and their errors, and
 * the limits on texts that reach every channel. Every expected value comes
 * from DESIGN.md section 3 or config/ofsted-notify.conf as read by a person;
 * none was copied from what the loader printed. Small configs are written to
 * a mkdtemp() directory and removed again (conf_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf_fixture.h"
#include "support.h"
#include "template.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_example_channels_schools(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);
        const struct channel *ch;
        const struct school *s;

        (void)state;
        assert_non_null(c);
        assert_int_equal(c->nchannels, 3);

        ch = &c->channels[0];
        assert_string_equal(ch->name, "heads");
        assert_int_equal(ch->type, CHANNEL_EMAIL);
        assert_int_equal(ch->nto, 1);
        assert_string_equal(ch->to[0], "head@oak.example");
        conf_fx_assert_absent(ch->url);
        conf_fx_assert_absent(ch->url_file);
        conf_fx_assert_absent(ch->secret_file);

        ch = &c->channels[1];
        assert_string_equal(ch->name, "leaders");
        assert_int_equal(ch->type, CHANNEL_TEAMS);
        assert_int_equal(ch->nto, 0);
        conf_fx_assert_absent(ch->url);
        assert_string_equal(ch->url_file, "secrets/teams-leaders.url");
        conf_fx_assert_absent(ch->secret_file);

        ch = &c->channels[2];
        assert_string_equal(ch->name, "it");
        assert_int_equal(ch->type, CHANNEL_WEBHOOK);
        assert_int_equal(ch->nto, 0);
        assert_string_equal(ch->url, "https://hooks.trust.example/ofsted");
        conf_fx_assert_absent(ch->url_file);
        assert_string_equal(ch->secret_file, "secrets/it.key");

        assert_int_equal(c->nschools, 1);
        s = &c->schools[0];
        assert_string_equal(s->urn, "100001");
        assert_string_equal(s->name, "Oak Primary");
        assert_int_equal(s->nchannels, 2);
        assert_int_equal(s->channels[0], 0); /* heads */
        assert_int_equal(s->channels[1], 1); /* leaders */

        conf_destroy(&c);
        conf_errors_free(&errs);
}

/* Without a templates group every type gets the defaults (template.h). */
static void
test_templates_default(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);

        (void)state;
        assert_non_null(c);
        for (int t = 0; t < CHANNEL_NTYPES; t++) {
                assert_string_equal(
                    conf_template(c, (enum channel_type)t, true),
                    TEMPLATE_DEFAULT_TITLE);
                assert_string_equal(
                    conf_template(c, (enum channel_type)t, false),
                    TEMPLATE_DEFAULT_TEXT);
        }
        conf_destroy(&c);
        conf_errors_free(&errs);
}

#define TEMPLATE_BASE                                                       \
        "trust = { name = \"T\"; holidays = \"" CONF_FX_HOLIDAYS "\"; };\n" \
        "channels = ( { name = \"s\"; type = \"slack\"; "                   \
        "url = \"https://hooks.example/s\"; } );\n"                         \
        "schools = ( );\n"                                                  \
        "rules = ( );\n"

/* A type's own title or text replaces the default for that type only. */
static void
test_templates_own(void **state)
{
        struct conf *c = conf_fx_load_ok(
            *state, "templates.conf",
            TEMPLATE_BASE
            "templates = {\n"
            "  slack = { title = \"{{late}}{{school}} ({{urn}}): by {{due}}\"; "
            "};\n"
            "  email = { text = \"{{action}}\\nBy {{ due }} ({{due_iso}}).\\n"
            "{{warning}}\"; title = \"{{rule}} at {{school}}\"; };\n"
            "  webhook = { };\n"
            "};\n");
        assert_string_equal(conf_template(c, CHANNEL_SLACK, true),
                            "{{late}}{{school}} ({{urn}}): by {{due}}");
        assert_string_equal(conf_template(c, CHANNEL_SLACK, false),
                            TEMPLATE_DEFAULT_TEXT);
        assert_string_equal(conf_template(c, CHANNEL_EMAIL, true),
                            "{{rule}} at {{school}}");
        /* A text may span lines. */
        assert_string_equal(conf_template(c, CHANNEL_EMAIL, false),
                            "{{action}}\nBy {{ due }} ({{due_iso}}).\n"
                            "{{warning}}");
        assert_string_equal(conf_template(c, CHANNEL_WEBHOOK, true),
                            TEMPLATE_DEFAULT_TITLE);
        assert_string_equal(conf_template(c, CHANNEL_TEAMS, false),
                            TEMPLATE_DEFAULT_TEXT);
        conf_destroy(&c);
}

/* Every fault in the templates group, each at its own line. */
static void
test_templates_errors(void **state)
{
        static const struct conf_fx_error want[] = {
                /* Unknown keys first in a group, as everywhere. */
                { 7, "unknown key 'body' in templates.slack" },
                { 6, "templates.slack.title: unknown placeholder '{{schol}}' "
                     "(known: " TEMPLATE_NAMES ")" },
                { 8, "unknown channel type 'fax' in templates (types: email "
                     "teams google_chat slack discord mattermost webhook "
                     "ntfy pushover sms)" },
                { 9, "templates.teams.title contains a control character (a "
                     "title is one line)" },
                { 10, "templates.discord.text: unterminated placeholder" },
                { 11, "templates.mattermost.text must be a string" },
                { 12, "templates.google_chat.title must not be empty" },
                { 13, "templates.email must be a group { ... }" },
        };

        conf_fx_assert_refused(
            *state, "bad_templates.conf",
            TEMPLATE_BASE                                     /* 1-4 */
            "templates = {\n"                                 /* 5 */
            "  slack = { title = \"{{school}} {{schol}}\";\n" /* 6 */
            "    body = \"x\"; };\n"                          /* 7 */
            "  fax = { title = \"x\"; };\n"                   /* 8 */
            "  teams = { title = \"a\\nb\"; };\n"             /* 9 */
            "  discord = { text = \"by {{due\"; };\n"         /* 10 */
            "  mattermost = { text = 5; };\n"                 /* 11 */
            "  google_chat = { title = \"\"; };\n"            /* 12 */
            "  email = \"x\";\n"                              /* 13 */
            "};\n",
            want, sizeof(want) / sizeof(want[0]));
}

/*
 * Texts that reach every channel have limits (conf.h, counted in
 * characters, not bytes): one over is refused at its line, a 1 MB name
 * too; exactly the limit, in two-byte characters, passes.
 */
static void
test_text_limits(void **state)
{
        static const struct conf_fx_error want[] = {
                { 1, "the trust's name is 121 characters long; at most 120 "
                     "are allowed" },
                { 5, "a school's name is 1048576 characters long; at most "
                     "120 are allowed" },
                { 6, "a rule's action is 1001 characters long; at most 1000 "
                     "are allowed" },
                { 10, "templates.slack.title is 201 characters long; at most "
                      "200 are allowed" },
                { 11, "templates.slack.text is 2001 characters long; at most "
                      "2000 are allowed" },
        };
        struct conf_fx_scratch *s = *state;
        char *n121 = support_repeat("x", 121),
             *n120 = support_repeat("\xc3\xa9", 120);
        char *huge = support_repeat("x", 1 << 20),
             *a1001 = support_repeat("a", 1001);
        char *a1000 = support_repeat("\xc3\xa9", 1000),
             *t201 = support_repeat("t", 201);
        char *t200 = support_repeat("\xc3\xa9", 200),
             *x2001 = support_repeat("x", 2001);
        char *x2000 = support_repeat("\xc3\xa9", 2000), *text, *good;
        struct conf *c;

        assert_true(
            asprintf(&text,
                     "trust = { name = \"%s\"; holidays = \"" CONF_FX_HOLIDAYS
                     "\"; };\n" /* 1 */
                     "channels = ( { name = \"s\"; type = \"slack\"; "
                     "url = \"https://hooks.example/s\"; } );\n" /* 2 */
                     "schools = (\n"                             /* 3 */
                     "  { urn = \"100001\"; name = \"%s\"; channels = [ "
                     "\"s\" ]; },\n" /* 4 */
                     "  { urn = \"100002\"; name = \"%s\"; channels = [ "
                     "\"s\" ]; } );\n" /* 5 */
                     "rules = ( { name = \"r\"; event = \"pause\"; "
                     "action = \"%s\";\n" /* 6 */
                     "  deadline = { working_days = 1; time = \"08:00\"; "
                     "}; alerts = [ \"deadline\" ]; },\n" /* 7 */
                     "  { name = \"q\"; event = \"pause\"; action = \"%s\"; "
                     "deadline = { working_days = 1; time = \"09:00\"; "
                     "}; alerts = [ \"deadline\" ]; } );\n"            /* 8 */
                     "templates = {\n"                                 /* 9 */
                     "  slack = { title = \"%s\";\n"                   /* 10 */
                     "    text = \"%s\"; };\n"                         /* 11 */
                     "  teams = { title = \"%s\"; text = \"%s\"; };\n" /* 12 */
                     "};\n",
                     n121, n120, huge, a1001, a1000, t201, x2001, t200,
                     x2000) > 0);
        conf_fx_assert_refused(s, "limits.conf", text, want,
                               sizeof(want) / sizeof(want[0]));

        /* At the limits, every one of them: loaded. */
        assert_true(
            asprintf(&good,
                     "trust = { name = \"%s\"; holidays = \"" CONF_FX_HOLIDAYS
                     "\"; };\n"
                     "channels = ( { name = \"s\"; type = \"slack\"; "
                     "url = \"https://hooks.example/s\"; } );\n"
                     "schools = ( { urn = \"100001\"; name = \"%s\"; "
                     "channels = [ \"s\" ]; } );\n"
                     "rules = ( { name = \"q\"; event = \"pause\"; "
                     "action = \"%s\"; deadline = { working_days = 1; "
                     "time = \"09:00\"; }; alerts = [ \"deadline\" ]; } );\n"
                     "templates = { teams = { title = \"%s\"; "
                     "text = \"%s\"; }; };\n",
                     n120, n120, a1000, t200, x2000) > 0);
        c = conf_fx_load_ok(s, "limits_ok.conf", good);
        assert_int_equal(strlen(c->trust.name), 240);
        assert_string_equal(c->schools[0].name, n120);
        assert_string_equal(c->rules[0].action, a1000);
        conf_destroy(&c);
        free(good);
        free(text);
        free(n121);
        free(n120);
        free(huge);
        free(a1001);
        free(a1000);
        free(t201);
        free(t200);
        free(x2001);
        free(x2000);
}

UNIT_MAIN({
    cmocka_unit_test(test_example_channels_schools),
    cmocka_unit_test(test_templates_default),
    cmocka_unit_test_setup_teardown(test_templates_own, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_templates_errors,
                                    conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_text_limits, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
})
