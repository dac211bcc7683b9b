/*
 * Tests for conf's rules: the shipped example's rules loaded into the
 * struct. Every expected value comes from DESIGN.md section 3 or
 * config/ofsted-notify.conf as read by a person (times worked out by hand:
 * 16:30 is 16 * 3600 + 30 * 60 = 59400 seconds); none was copied from what
 * the loader printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "civil.h"
#include "conf_fixture.h"
#include "rules.h"
#include "support.h"
#include "tz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
assert_strv(char **v, size_t n, const char *const *want, size_t nwant)
{
        assert_int_equal(n, nwant);
        for (size_t i = 0; i < nwant; i++)
                assert_string_equal(v[i], want[i]);
}

static void
test_example_rules(void **state)
{
        static const char *const cutoff_cancel[] = { "deferred", "cancelled" };
        static const char *const cancelled[] = { "cancelled" };
        static const char *const pause_cancel[] = { "resume", "conclusion",
                                                    "cancelled" };
        static const char *const it[] = { "it" };
        static const char *const leaders[] = { "leaders" };
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);
        const struct rule *r;

        (void)state;
        assert_non_null(c);
        assert_int_equal(c->nrules, 8);

        /* deferral_cutoff: the notification day (0) at 16:30. */
        r = &c->rules[0];
        assert_string_equal(r->name, "deferral_cutoff");
        assert_string_equal(r->event, "notification");
        assert_non_null(r->action);
        assert_non_null(strstr(r->action, "ask for a deferral"));
        assert_true(r->enabled);
        assert_false(r->has_opens);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 0);
        assert_int_equal(r->deadline.secs, 59400);
        assert_int_equal(r->nalerts, 4);
        conf_fx_assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        conf_fx_assert_offset(&r->alerts[1], ALERT_DEADLINE, -3600, false,
                              "-60m");
        conf_fx_assert_offset(&r->alerts[2], ALERT_DEADLINE, -1800, false,
                              "-30m");
        conf_fx_assert_offset(&r->alerts[3], ALERT_DEADLINE, 0, false,
                              "deadline");
        assert_int_equal(r->nchannels, 0);
        assert_strv(r->cancel_on, r->ncancel_on, cutoff_cancel, 2);

        /* concern_window: opens at the conclusion itself and closes 18:00
         * on working day 1; a reminder at 08:00 (-10h) that day. */
        r = &c->rules[1];
        assert_string_equal(r->name, "concern_window");
        assert_string_equal(r->event, "conclusion");
        assert_true(r->enabled);
        assert_true(r->has_opens);
        assert_int_equal(r->opens.unit, RULE_AT_EVENT);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 1);
        assert_int_equal(r->deadline.secs, 64800);
        assert_int_equal(r->nalerts, 3);
        conf_fx_assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        conf_fx_assert_offset(&r->alerts[1], ALERT_DEADLINE, -36000, false,
                              "-10h");
        conf_fx_assert_offset(&r->alerts[2], ALERT_DEADLINE, -7200, false,
                              "-2h");
        assert_strv(r->cancel_on, r->ncancel_on, cancelled, 1);

        /* pause_expected: next working day at 08:00. */
        r = &c->rules[2];
        assert_string_equal(r->name, "pause_expected");
        assert_string_equal(r->event, "pause");
        assert_false(r->has_opens);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 1);
        assert_int_equal(r->deadline.secs, 28800);
        assert_int_equal(r->nalerts, 1);
        conf_fx_assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        assert_strv(r->cancel_on, r->ncancel_on, pause_cancel, 3);

        /* pause_limit: fifth working day at 17:00, plus the "it" channel;
         * schools, early years and independent schools. */
        r = &c->rules[3];
        assert_string_equal(r->name, "pause_limit");
        assert_string_equal(r->event, "pause");
        assert_int_equal(r->remits, (1u << REMIT_SCHOOL) |
                                        (1u << REMIT_EARLY_YEARS) |
                                        (1u << REMIT_INDEPENDENT));
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 5);
        assert_int_equal(r->deadline.secs, 61200);
        assert_int_equal(r->nalerts, 2);
        /* A day offset counts whole days, keeping the time of day. */
        conf_fx_assert_offset(&r->alerts[0], ALERT_DEADLINE, -1, true, "-1d");
        conf_fx_assert_offset(&r->alerts[1], ALERT_DEADLINE, 0, false,
                              "deadline");
        assert_strv(r->channels, r->nchannels, it, 1);
        assert_strv(r->cancel_on, r->ncancel_on, pause_cancel, 3);

        /* pause_limit_fe: the same for further education, 15 days. */
        r = &c->rules[4];
        assert_string_equal(r->name, "pause_limit_fe");
        assert_string_equal(r->event, "pause");
        assert_int_equal(r->remits, 1u << REMIT_FURTHER_EDUCATION);
        assert_int_equal(r->deadline.count, 15);
        assert_int_equal(r->deadline.secs, 61200);
        assert_strv(r->channels, r->nchannels, it, 1);
        assert_strv(r->cancel_on, r->ncancel_on, pause_cancel, 3);

        /* factual_accuracy: fifth working day at 17:00. */
        r = &c->rules[5];
        assert_string_equal(r->name, "factual_accuracy");
        assert_string_equal(r->event, "draft_report");
        assert_true(r->enabled);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 5);
        assert_int_equal(r->deadline.secs, 61200);
        assert_int_equal(r->nalerts, 3);
        conf_fx_assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        conf_fx_assert_offset(&r->alerts[1], ALERT_DEADLINE, -1, true, "-1d");
        conf_fx_assert_offset(&r->alerts[2], ALERT_DEADLINE, -7200, false,
                              "-2h");
        assert_strv(r->cancel_on, r->ncancel_on, cancelled, 1);

        /* formal_complaint: as factual_accuracy, and to the trust. */
        r = &c->rules[6];
        assert_string_equal(r->name, "formal_complaint");
        assert_string_equal(r->event, "draft_report");
        assert_true(r->enabled);
        assert_int_equal(r->remits, 0);
        assert_int_equal(r->calendar, RULE_CALENDAR_TRUST);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 5);
        assert_int_equal(r->deadline.secs, 61200);
        assert_strv(r->channels, r->nchannels, leaders, 1);
        assert_strv(r->cancel_on, r->ncancel_on, cancelled, 1);

        /* monitoring_due: off; 18 months at 09:00, rolled forward. */
        r = &c->rules[7];
        assert_string_equal(r->name, "monitoring_due");
        assert_string_equal(r->event, "report_published");
        assert_false(r->enabled);
        assert_false(r->has_opens);
        assert_int_equal(r->deadline.unit, RULE_MONTHS);
        assert_int_equal(r->deadline.count, 18);
        assert_int_equal(r->deadline.secs, 32400);
        assert_int_equal(r->deadline.roll, 1);
        assert_int_equal(r->nalerts, 1);
        conf_fx_assert_offset(&r->alerts[0], ALERT_DEADLINE, -1, true, "-1d");
        assert_int_equal(r->nchannels, 0);
        assert_int_equal(r->ncancel_on, 0);

        conf_destroy(&c);
        conf_errors_free(&errs);
}

/* One rule of the example's, evaluated alone for `env` at `at`. */
static void
eval_one(const struct conf *c, const char *name, const struct rules_env *env,
         int64_t at, struct plan *p)
{
        const struct rule *r = conf_rule(c, name);

        if (r == NULL)
                fail_msg("the example config has no rule '%s'", name);
        rules_eval(r, env, at, p);
        plan_sort(p);
}

/* The deadline of rule `name` in plan p; fails the test when there is none. */
static const struct plan_deadline *
deadline_of(const struct plan *p, const char *name)
{
        for (size_t i = 0; i < p->ndeadlines; i++) {
                if (strcmp(p->deadlines[i].rule->name, name) == 0)
                        return &p->deadlines[i];
        }
        fail_msg("no deadline of '%s' in the plan", name);
        return NULL;
}

static bool
has_deadline(const struct plan *p, const char *name)
{
        for (size_t i = 0; i < p->ndeadlines; i++) {
                if (strcmp(p->deadlines[i].rule->name, name) == 0)
                        return true;
        }
        return false;
}

/*
 * formal_complaint has factual_accuracy's deadline and alert times for a
 * draft report on every weekday of 2024 to 2028, at 10:00 and at 17:30
 * local time: across every Easter, Christmas and change of the clocks in
 * the holiday data. The two rules are computed, not copied.
 */
static void
test_formal_complaint_as_factual_accuracy(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);
        struct rules_env env;
        int32_t first = civil_days(2024, 1, 1), last = civil_days(2028, 12, 31);
        int days = 0, over_holidays = 0;

        (void)state;
        assert_non_null(c);
        conf_rules_env(c, conf_school(c, "100001"), &env);
        for (int32_t day = first; day <= last; day++) {
                if (civil_weekday(day) >= 5)
                        continue;
                for (int t = 0; t < 2; t++) {
                        enum tz_fold fold;
                        int64_t at = tz_to_utc(
                            env.tz, civil_local_secs(day, t ? 63000 : 36000),
                            &fold);
                        struct plan fa = { 0 }, fc = { 0 };

                        eval_one(c, "factual_accuracy", &env, at, &fa);
                        eval_one(c, "formal_complaint", &env, at, &fc);
                        assert_int_equal(fa.ndeadlines, 1);
                        assert_int_equal(fc.ndeadlines, 1);
                        assert_int_equal(fc.deadlines[0].due,
                                         fa.deadlines[0].due);
                        assert_int_equal(fc.nalerts, fa.nalerts);
                        for (size_t i = 0; i < fa.nalerts; i++)
                                assert_int_equal(fc.alerts[i].at,
                                                 fa.alerts[i].at);
                        /* Five working days span a week, more over a
                         * holiday. */
                        if (fa.deadlines[0].due - at > 8 * 86400)
                                over_holidays++;
                        plan_free(&fa);
                        plan_free(&fc);
                }
                days++;
        }
        /* The weekdays, by hand from each year's first day and length:
         * 2024 Mon, 366 days: 262; 2025 Wed, 2026 Thu, 2027 Fri: 261
         * each; 2028 Sat, 366 days: 260. */
        assert_int_equal(days, 262 + 261 + 261 + 261 + 260);
        assert_true(over_holidays > 0);
        conf_destroy(&c);
        conf_errors_free(&errs);
}

/* Two dates worked out by hand, for both rules. */
static void
test_formal_complaint_by_hand(void **state)
{
        static const struct {
                const char *at, *due;
        } t[] = {
                /* Maundy Thursday 28 Mar 2024: (Fri 29 Good Friday, Mon 1
                 * Easter Monday) Tue 2, Wed 3, Thu 4, Fri 5, Mon 8 Apr,
                 * 17:00 BST. */
                { "2024-03-28T10:00:00Z", "2024-04-08T16:00:00Z" },
                /* Thu 24 Dec 2026: (Fri 25, Mon 28 Boxing Day substitute)
                 * Tue 29, Wed 30, Thu 31, (Fri 1 Jan) Mon 4, Tue 5 Jan
                 * 2027, 17:00 GMT. */
                { "2026-12-24T10:00:00Z", "2027-01-05T17:00:00Z" },
        };
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);
        struct rules_env env;

        (void)state;
        assert_non_null(c);
        conf_rules_env(c, NULL, &env);
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct plan p = { 0 };
                int64_t at = support_utc(t[i].at);

                rules_plan(c->rules, c->nrules, &env, "draft_report", at, &p);
                assert_int_equal(deadline_of(&p, "formal_complaint")->due,
                                 support_utc(t[i].due));
                assert_int_equal(deadline_of(&p, "factual_accuracy")->due,
                                 support_utc(t[i].due));
                plan_free(&p);
        }
        conf_destroy(&c);
        conf_errors_free(&errs);
}

/*
 * A pause on Wednesday 24 March 2027 at 11:00 GMT. Further education: the
 * 15th working day, counted by hand: Thu 25 (1), (Fri 26 Good Friday, Mon
 * 29 Easter Monday), Tue 30 (2), Wed 31 (3), Thu 1 Apr (4), Fri 2 (5), Mon
 * 5 (6), Tue 6 (7), Wed 7 (8), Thu 8 (9), Fri 9 (10), Mon 12 (11), Tue 13
 * (12), Wed 14 (13), Thu 15 (14), Fri 16 April (15), 17:00 BST. A school:
 * the 5th, Fri 2 April, 17:00 BST. Each remit gets its own limit only.
 */
static void
test_pause_limit_by_remit(void **state)
{
        static const struct {
                enum remit remit;
                const char *rule, *other, *due;
        } t[] = {
                { REMIT_FURTHER_EDUCATION, "pause_limit_fe", "pause_limit",
                  "2027-04-16T16:00:00Z" },
                { REMIT_SCHOOL, "pause_limit", "pause_limit_fe",
                  "2027-04-02T16:00:00Z" },
                { REMIT_EARLY_YEARS, "pause_limit", "pause_limit_fe",
                  "2027-04-02T16:00:00Z" },
        };
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);
        int64_t at = support_utc("2027-03-24T11:00:00Z");

        (void)state;
        assert_non_null(c);
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct rules_env env;
                struct plan p = { 0 };

                conf_rules_env(c, NULL, &env);
                env.remit = t[i].remit;
                rules_plan(c->rules, c->nrules, &env, "pause", at, &p);
                assert_int_equal(deadline_of(&p, t[i].rule)->due,
                                 support_utc(t[i].due));
                assert_false(has_deadline(&p, t[i].other));
                /* pause_expected is for every remit: Thu 25, 08:00 GMT. */
                assert_int_equal(deadline_of(&p, "pause_expected")->due,
                                 support_utc("2027-03-25T08:00:00Z"));
                assert_int_equal(p.ndeadlines, 2);
                plan_free(&p);
        }
        conf_destroy(&c);
        conf_errors_free(&errs);
}

/* What the shipped rules say, and that each says where it comes from. */
static void
test_shipped_words(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);
        const struct rule *r;
        struct rules_env env;
        struct plan p = { 0 };
        int64_t at = support_utc("2027-03-24T15:00:00Z");
        char *w;

        (void)state;
        assert_non_null(c);
        for (size_t i = 0; i < c->nrules; i++) {
                int32_t day;

                assert_non_null(c->rules[i].source);
                assert_true(strlen(c->rules[i].source) > 20);
                assert_non_null(strstr(c->rules[i].source, "Ofsted"));
                assert_non_null(c->rules[i].checked);
                assert_int_equal(civil_parse_date(c->rules[i].checked, &day),
                                 0);
        }

        r = conf_rule(c, "formal_complaint");
        assert_non_null(strstr(r->action, "may not be considered"));
        assert_non_null(strstr(r->action, "minor factual-accuracy points"));
        assert_non_null(strstr(r->action, "on hold"));
        w = rules_deadline_words(r);
        assert_string_equal(w, "the 5th working day after the draft report, "
                               "17:00");
        free(w);

        r = conf_rule(c, "pause_limit");
        assert_non_null(strstr(r->action, "treated as incomplete"));
        assert_non_null(strstr(r->action, "inspectors return"));
        assert_null(strstr(r->action, "due to resume"));

        r = conf_rule(c, "deferral_cutoff");
        assert_non_null(strstr(r->action, "16:30"));
        assert_non_null(strstr(r->action, "earliest opportunity"));
        assert_non_null(strstr(r->action, "email"));
        assert_non_null(strstr(r->source, "paragraphs 89, 100 and 101"));

        /* concern_window: open from the conclusion itself to 18:00 on the
         * next working day, Thu 25 March 2027 (GMT); both ways in words. */
        r = conf_rule(c, "concern_window");
        assert_non_null(strstr(r->action, "during the inspection"));
        assert_non_null(strstr(r->action, "lead inspector"));
        assert_non_null(strstr(r->action, "senior Ofsted contact"));
        assert_non_null(strstr(r->action, "next working day"));
        assert_non_null(strstr(r->action, "helpline"));
        conf_rules_env(c, NULL, &env);
        rules_plan(c->rules, c->nrules, &env, "conclusion", at, &p);
        assert_true(deadline_of(&p, "concern_window")->has_opens);
        assert_int_equal(deadline_of(&p, "concern_window")->opens, at);
        assert_int_equal(deadline_of(&p, "concern_window")->due,
                         support_utc("2027-03-25T18:00:00Z"));
        plan_free(&p);
        w = rules_opens_words(r);
        assert_string_equal(w, "at the conclusion itself");
        free(w);
        w = rules_deadline_words(r);
        assert_string_equal(w,
                            "the next working day after the conclusion, 18:00");
        free(w);
        conf_destroy(&c);
        conf_errors_free(&errs);
}

/*
 * A school's closures move a rule on the school's calendar, not one on the
 * trust's, and not another school's. Fri 12 Feb 2027 10:00 GMT, 3 working
 * days: on the trust's calendar Mon 15, Tue 16, Wed 17 Feb. Oak is closed
 * 15 to 19 Feb (a range) and Mon 22 Feb: Tue 23, Wed 24, Thu 25 Feb.
 */
static void
test_school_calendar(void **state)
{
        struct conf *c;
        char *text;
        int64_t at = support_utc("2027-02-12T10:00:00Z");
        static const struct {
                const char *urn, *trust_due, *school_due;
        } t[] = {
                { "100001", "2027-02-17T17:00:00Z", "2027-02-25T17:00:00Z" },
                { "100002", "2027-02-17T17:00:00Z", "2027-02-17T17:00:00Z" },
        };

        assert_true(
            asprintf(
                &text,
                "trust = { name = \"T\"; holidays = \"%s\"; };\n"
                "email = { from = \"a@t.example\"; };\n"
                "channels = ( { name = \"h\"; type = \"email\"; to = [ "
                "\"h@t.example\" ]; } );\n"
                "schools = (\n"
                "  { urn = \"100001\"; name = \"Oak\"; channels = [ \"h\" ];\n"
                "    closures = [ \"2027-02-15..2027-02-19\", \"2027-02-22\" "
                "]; "
                "},\n"
                "  { urn = \"100002\"; name = \"Elm\"; channels = [ \"h\" ];\n"
                "    remit = \"further_education\"; }\n"
                ");\n"
                "rules = (\n"
                "  { name = \"on_trust\"; event = \"duty\";\n"
                "    deadline = { working_days = 3; time = \"17:00\"; };\n"
                "    alerts = [ \"deadline\" ]; },\n"
                "  { name = \"on_school\"; event = \"duty\"; calendar = "
                "\"school\";\n"
                "    deadline = { working_days = 3; time = \"17:00\"; };\n"
                "    alerts = [ \"deadline\" ]; }\n"
                ");\n",
                CONF_FX_HOLIDAYS) > 0);
        c = conf_fx_load_ok(*state, "closures.conf", text);
        free(text);
        assert_int_equal(c->schools[0].remit, REMIT_SCHOOL);
        assert_int_equal(c->schools[1].remit, REMIT_FURTHER_EDUCATION);
        assert_int_equal(c->schools[0].nclosures, 6);
        assert_int_equal(c->schools[1].nclosures, 0);
        assert_int_equal(c->rules[0].calendar, RULE_CALENDAR_TRUST);
        assert_int_equal(c->rules[1].calendar, RULE_CALENDAR_SCHOOL);
        /* The trust's calendar is untouched by a school's closures. */
        assert_true(
            calendar_is_working_day(c->calendar, civil_days(2027, 2, 15)));
        assert_false(calendar_is_working_day(c->schools[0].calendar,
                                             civil_days(2027, 2, 15)));

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct rules_env env;
                struct plan p = { 0 };

                conf_rules_env(c, conf_school(c, t[i].urn), &env);
                rules_plan(c->rules, c->nrules, &env, "duty", at, &p);
                assert_int_equal(deadline_of(&p, "on_trust")->due,
                                 support_utc(t[i].trust_due));
                assert_int_equal(deadline_of(&p, "on_school")->due,
                                 support_utc(t[i].school_due));
                plan_free(&p);
        }
        conf_destroy(&c);
}

UNIT_MAIN({
    cmocka_unit_test(test_example_rules),
    cmocka_unit_test(test_formal_complaint_as_factual_accuracy),
    cmocka_unit_test(test_formal_complaint_by_hand),
    cmocka_unit_test(test_pause_limit_by_remit),
    cmocka_unit_test(test_shipped_words),
    cmocka_unit_test_setup_teardown(test_school_calendar, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
})
