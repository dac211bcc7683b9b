/*
 * Unit tests for template: rendering {{name}} placeholders, the load-time
 * check, the defaults, and the values taken from a JOB's alert.
 *
 * The alert is the example in docs/dispatch.md; every expected string was
 * written by hand from it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support.h"
#include "template.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXAMPLE_ALERT SUPPORT_ALERT

/* Renders and compares, freeing the result. */
static void
check_render(const char *tmpl, const json_t *vars, const char *want)
{
        char *got = template_render(tmpl, vars);

        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

static void
test_render(void **state)
{
        json_t *vars =
            support_json("{\"school\": \"Oak Primary\", \"urn\": \"100001\","
                         " \"late\": \"LATE: \", \"action\": \"{{urn}}\","
                         " \"rule\": 5}");

        (void)state;
        check_render("{{school}} ({{urn}})", vars, "Oak Primary (100001)");
        check_render("{{late}}{{school}}", vars, "LATE: Oak Primary");
        check_render("{{ school }}|{{  urn}}", vars, "Oak Primary|100001");
        check_render("no placeholders", vars, "no placeholders");
        check_render("", vars, "");
        check_render("{{school}}", vars, "Oak Primary");
        /* Values are inserted verbatim, never expanded again. */
        check_render("[{{action}}]", vars, "[{{urn}}]");
        /* A name without a string value is left as written, visibly. */
        check_render("{{trust}}: {{rule}}", vars, "{{trust}}: {{rule}}");
        check_render("{{Not A Name}} {{school}}", vars,
                     "{{Not A Name}} Oak Primary");
        /* Single braces and a stray close are text. */
        check_render("{school} }} {", vars, "{school} }} {");
        /* An unclosed placeholder leaves the rest as text. */
        check_render("{{school}} {{urn", vars, "Oak Primary {{urn");
        /* UTF-8 around placeholders is untouched. */
        check_render("Ysgol — {{school}} ’", vars, "Ysgol — Oak Primary ’");
        json_decref(vars);
}

static void
check_bad(const char *text, const char *want_in_cause)
{
        char *cause = NULL;

        assert_int_equal(template_check(text, &cause), -1);
        assert_non_null(cause);
        if (strstr(cause, want_in_cause) == NULL)
                fail_msg("cause '%s' lacks '%s'", cause, want_in_cause);
        free(cause);
}

static void
test_check(void **state)
{
        static const char *const good[] = {
                "",
                "plain text",
                "{{trust}}{{school}}{{urn}}{{rule}}",
                "{{action}} {{due}} {{due_iso}} {{opens}} {{contact}}",
                "{{offset}}{{late}}{{warning}}",
                "{{ school }}",
                "{ } }}",
                "line one\nline two {{due}}",
        };
        char *cause = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                if (template_check(good[i], &cause) != 0)
                        fail_msg("'%s' refused: %s", good[i], cause);
                assert_null(cause);
        }
        /* An unknown name is refused, naming it and listing the known. */
        check_bad("{{school}} {{schol}}", "unknown placeholder '{{schol}}'");
        check_bad("{{schol}}",
                  "(known: trust, school, urn, rule, action, due, due_iso, "
                  "opens, contact, offset, late, warning, escalation, "
                  "ack_url)");
        check_bad("{{School}}", "'{{School}}'");
        check_bad("{{}}", "'{{}}'");
        check_bad("{{due date}}", "'{{due date}}'");
        check_bad("{{outcome}}", "'{{outcome}}'");
        check_bad("due {{due", "unterminated placeholder '{{due'");
}

static void
test_known(void **state)
{
        char *names = strdup(TEMPLATE_NAMES), *save = NULL;
        size_t n = 0;

        (void)state;
        for (char *t = strtok_r(names, ", ", &save); t != NULL;
             t = strtok_r(NULL, ", ", &save)) {
                assert_true(template_known(t));
                n++;
        }
        assert_int_equal(n, 14);
        assert_false(template_known("School"));
        assert_false(template_known(""));
        assert_false(template_known("grade"));
        free(names);
}

/* Words that would reveal an inspection outcome (DESIGN.md section 1). */
static void
assert_no_outcome(const char *s)
{
        static const char *const words[] = {
                "outstanding",        "good",    "requires improvement",
                "inadequate",         "grade",   "judgement",
                "judgment",           "outcome", "special measures",
                "serious weaknesses", "rating",
        };

        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                if (strcasestr(s, words[i]) != NULL)
                        fail_msg("'%s' contains '%s'", s, words[i]);
        }
}

static void
test_defaults(void **state)
{
        json_t *alert = support_json(EXAMPLE_ALERT),
               *vars = template_vars(alert);
        char *cause = NULL;

        (void)state;
        assert_string_equal(template_default(true), TEMPLATE_DEFAULT_TITLE);
        assert_string_equal(template_default(false), TEMPLATE_DEFAULT_TEXT);
        assert_int_equal(template_check(template_default(true), &cause), 0);
        assert_int_equal(template_check(template_default(false), &cause), 0);
        /* A title becomes an email subject: one line. */
        assert_null(strchr(template_default(true), '\n'));
        assert_no_outcome(template_default(true));
        assert_no_outcome(template_default(false));

        /* What to do, by when in local time, where and whom to call. */
        check_render(template_default(true), vars,
                     "Oak Primary: deferral_cutoff — due Mon 4 Mar 2024 "
                     "16:30 GMT");
        check_render(template_default(false), vars,
                     "If you need to ask for a deferral, ask before 16:30.\n"
                     "Deadline: Mon 4 Mar 2024 16:30 GMT.\n"
                     "School: Oak Primary (URN 100001).\n"
                     "Contact: Senior Ofsted leader: 0300 123 4231");
        json_decref(vars);

        /* A late alert says so first. */
        json_object_set_new(alert, "late", json_true());
        vars = template_vars(alert);
        check_render(template_default(true), vars,
                     "LATE: Oak Primary: deferral_cutoff — due Mon 4 Mar "
                     "2024 16:30 GMT");
        json_decref(vars);
        json_decref(alert);
}

static void
check_var(const json_t *vars, const char *name, const char *want)
{
        const char *got = json_string_value(json_object_get(vars, name));

        if (got == NULL)
                fail_msg("no string for '%s'", name);
        if (strcmp(got, want) != 0)
                fail_msg("%s is '%s', want '%s'", name, got, want);
}

/* An escalation's title says nobody has confirmed and who was alerted;
 * the link is a placeholder too. */
static void
test_vars_escalation(void **state)
{
        json_t *alert = support_json(EXAMPLE_ALERT), *vars;
        char *title;

        (void)state;
        json_object_set_new(alert, "ack_url",
                            json_string("https://a.example/a/ont_x"));
        json_object_set_new(alert, "escalation",
                            json_pack("{s:[s], s:[s, s]}", "to", "leaders",
                                      "alerted", "heads", "it"));
        vars = template_vars(alert);
        check_var(vars, "escalation",
                  "Nobody has confirmed this deadline yet (alerted before: "
                  "heads, it): ");
        check_var(vars, "ack_url", "https://a.example/a/ont_x");
        title = template_render(TEMPLATE_DEFAULT_TITLE, vars);
        assert_non_null(strstr(title, "Nobody has confirmed this deadline yet "
                                      "(alerted before: heads, it): Oak "
                                      "Primary"));
        free(title);
        json_decref(vars);
        json_object_set_new(alert, "escalation", json_null());
        vars = template_vars(alert);
        check_var(vars, "escalation", "");
        json_decref(vars);
        json_decref(alert);
}

static void
test_vars(void **state)
{
        json_t *alert = support_json(EXAMPLE_ALERT),
               *vars = template_vars(alert);

        (void)state;
        assert_int_equal(json_object_size(vars), 14);
        check_var(vars, "trust", "Example Learning Trust");
        check_var(vars, "school", "Oak Primary");
        check_var(vars, "urn", "100001");
        check_var(vars, "rule", "deferral_cutoff");
        check_var(vars, "action",
                  "If you need to ask for a deferral, ask before 16:30.");
        check_var(vars, "due", "Mon 4 Mar 2024 16:30 GMT");
        check_var(vars, "due_iso", "2024-03-04T16:30:00+00:00");
        check_var(vars, "opens", "");
        check_var(vars, "contact", "Senior Ofsted leader: 0300 123 4231");
        check_var(vars, "offset", "-60m");
        check_var(vars, "late", "");
        check_var(vars, "warning", "");
        json_decref(vars);

        /* A window, a warning, no contact, no action, no due_human. */
        json_object_set_new(alert, "opens",
                            json_string("2024-04-02T08:00:00+01:00"));
        json_object_set_new(alert, "opens_human",
                            json_string("Tue 2 Apr 2024 08:00 BST"));
        json_object_set_new(alert, "warning",
                            json_string("the bank holiday data ends in 2028"));
        json_object_set_new(alert, "contact", json_null());
        json_object_set_new(alert, "action", json_string(""));
        json_object_del(alert, "due_human");
        vars = template_vars(alert);
        check_var(vars, "opens", "Tue 2 Apr 2024 08:00 BST");
        check_var(vars, "warning", "the bank holiday data ends in 2028");
        check_var(vars, "contact", "not recorded");
        check_var(vars, "action", "Act before the deadline.");
        check_var(vars, "due", "2024-03-04T16:30:00+00:00");
        json_decref(vars);

        /* Nothing at all: every name is still there, as a string. */
        vars = template_vars(NULL);
        assert_int_equal(json_object_size(vars), 14);
        check_var(vars, "school", "");
        check_var(vars, "late", "");
        json_decref(vars);
        json_decref(alert);
}

UNIT_MAIN({
    cmocka_unit_test(test_render),
    cmocka_unit_test(test_check),
    cmocka_unit_test(test_known),
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_vars),
    cmocka_unit_test(test_vars_escalation),
})
