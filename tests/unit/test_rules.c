/*
 * Tests for rules: offsets, kinds, and rule evaluation against the shipped
 * England-and-Wales holidays in Europe/London. Every expected instant below
 * was worked out by hand from the bank holiday list and the BST dates
 * (GMT = UTC, BST = UTC+1, changes at 01:00 UTC on the last Sundays of March
 * and October); the comments show the count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "calendar.h"
#include "civil.h"
#include "rules.h"
#include "support.h"
#include "tz.h"

#include <stdlib.h>
#include <string.h>

struct fixture {
        struct calendar *cal;
        struct tz *tz;
        struct rules_env env; /* a school on the trust's calendar */
        struct rule rules[8];
        size_t nrules;
};

/* A UTC instant from a civil UTC date and time. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
        return civil_local_secs(civil_days(y, mo, d), h * 3600 + mi * 60);
}

static void
add_rule(struct fixture *f, const char *name, const char *event,
         enum rule_count unit, int count, int h, int m, const char *alerts[],
         size_t nalerts)
{
        struct rule *r = &f->rules[f->nrules++];

        r->name = strdup(name);
        r->event = strdup(event);
        r->enabled = true;
        r->deadline.unit = unit;
        r->deadline.count = count;
        r->deadline.secs = h * 3600 + m * 60;
        r->deadline.roll = 0;
        r->alerts = calloc(nalerts, sizeof(*r->alerts));
        for (size_t i = 0; i < nalerts; i++)
                assert_int_equal(rules_parse_offset(alerts[i], &r->alerts[i]),
                                 0);
        r->nalerts = nalerts;
}

/* The example config's rules, built here so this test needs no conf. */
static int
setup(void **state)
{
        static const char *cutoff[] = { "event", "-60m", "-30m", "deadline" };
        static const char *window[] = { "event", "opens", "-2h" };
        static const char *expected[] = { "event" };
        static const char *limit[] = { "-1d", "deadline" };
        static const char *monitor[] = { "-1d" };
        struct fixture *f = calloc(1, sizeof(*f));

        f->cal = support_calendar("england-and-wales");
        f->tz = support_tz("Europe/London");
        f->env = (struct rules_env){ REMIT_SCHOOL, f->cal, NULL, f->tz };

        add_rule(f, "deferral_cutoff", "notification", RULE_WORKING_DAYS, 0, 16,
                 30, cutoff, 4);
        add_rule(f, "concern_window", "conclusion", RULE_WORKING_DAYS, 1, 18, 0,
                 window, 3);
        f->rules[1].has_opens = true;
        f->rules[1].opens.unit = RULE_WORKING_DAYS;
        f->rules[1].opens.count = 1;
        f->rules[1].opens.secs = 8 * 3600;
        add_rule(f, "pause_expected", "pause", RULE_WORKING_DAYS, 1, 8, 0,
                 expected, 1);
        add_rule(f, "pause_limit", "pause", RULE_WORKING_DAYS, 5, 17, 0, limit,
                 2);
        add_rule(f, "monitoring_due", "report_published", RULE_MONTHS, 18, 9, 0,
                 monitor, 1);
        f->rules[4].deadline.roll = 1;
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fixture *f = *state;

        for (size_t i = 0; i < f->nrules; i++)
                rule_free(&f->rules[i]);
        calendar_destroy(&f->cal);
        tz_destroy(&f->tz);
        free(f);
        return 0;
}

static const struct plan_deadline *
find_deadline(const struct plan *p, const char *rule)
{
        for (size_t i = 0; i < p->ndeadlines; i++) {
                if (strcmp(p->deadlines[i].rule->name, rule) == 0)
                        return &p->deadlines[i];
        }
        fail_msg("no deadline for %s", rule);
        return NULL;
}

static bool
has_warning(const struct plan *p, const char *needle)
{
        for (size_t i = 0; i < p->nwarnings; i++) {
                if (strstr(p->warnings[i], needle) != NULL)
                        return true;
        }
        return false;
}

static void
test_parse_offset(void **state)
{
        struct alert_offset o;

        (void)state;
        assert_int_equal(rules_parse_offset("event", &o), 0);
        assert_int_equal(o.anchor, ALERT_EVENT);
        assert_int_equal(o.amount, 0);
        assert_int_equal(rules_parse_offset("opens", &o), 0);
        assert_int_equal(o.anchor, ALERT_OPENS);
        assert_int_equal(rules_parse_offset("deadline", &o), 0);
        assert_int_equal(o.anchor, ALERT_DEADLINE);
        assert_int_equal(o.amount, 0);
        assert_int_equal(rules_parse_offset("-90m", &o), 0);
        assert_int_equal(o.anchor, ALERT_DEADLINE);
        assert_int_equal(o.amount, -5400);
        assert_false(o.days);
        assert_string_equal(o.text, "-90m");
        assert_int_equal(rules_parse_offset("-2h", &o), 0);
        assert_int_equal(o.amount, -7200);
        assert_int_equal(rules_parse_offset("-1d", &o), 0);
        assert_true(o.days);
        assert_int_equal(o.amount, -1);
        assert_int_equal(rules_parse_offset("+30s", &o), 0);
        assert_int_equal(o.anchor, ALERT_EVENT);
        assert_int_equal(o.amount, 30);
        assert_int_equal(rules_parse_offset("+1h", &o), 0);
        assert_int_equal(o.amount, 3600);

        assert_int_equal(rules_parse_offset("90m", &o), -1);
        assert_int_equal(rules_parse_offset("-0m", &o), -1);
        assert_int_equal(rules_parse_offset("-5x", &o), -1);
        assert_int_equal(rules_parse_offset("-", &o), -1);
        assert_int_equal(rules_parse_offset("+", &o), -1);
        assert_int_equal(rules_parse_offset("-1.5h", &o), -1);
        assert_int_equal(rules_parse_offset("-1h ", &o), -1);
        assert_int_equal(rules_parse_offset("deadlines", &o), -1);
        assert_int_equal(rules_parse_offset("", &o), -1);
        assert_int_equal(rules_parse_offset("-401d", &o), -1);
        assert_int_equal(rules_parse_offset("-99999999999999999999d", &o), -1);
        assert_int_equal(rules_parse_offset("-400d", &o), 0);
}

static void
test_kinds(void **state)
{
        (void)state;
        assert_true(rules_valid_kind("draft_report"));
        assert_true(rules_valid_kind("a1"));
        assert_false(rules_valid_kind(""));
        assert_false(rules_valid_kind("Draft"));
        assert_false(rules_valid_kind("1abc"));
        assert_false(rules_valid_kind("a-b"));
        assert_false(rules_valid_kind("abcdefghijklmnopqrstuvwxyz789012"));
        assert_true(rules_valid_kind("abcdefghijklmnopqrstuvwxyz78901"));
        assert_true(rules_builtin_kind("notification"));
        assert_true(rules_builtin_kind("cancelled"));
        assert_false(rules_builtin_kind("draft_report"));
}

/* One row: recording `event` at `at` (UTC) gives `rule` this due/opens. */
struct row {
        const char *event;
        int64_t at;
        const char *rule;
        int64_t due;
        int64_t opens; /* 0: the rule has no window */
};

static void
test_table(void **state)
{
        const struct fixture *f = *state;
        const struct row rows[] = {
                /* Thu before Easter 2024: Good Fri 29, Sat, Sun, Easter
                 * Mon 1 Apr -> Tue 2 Apr, now BST. */
                { "conclusion", utc(2024, 3, 28, 15, 0), "concern_window",
                  utc(2024, 4, 2, 17, 0), utc(2024, 4, 2, 7, 0) },
                { "conclusion", utc(2024, 3, 27, 15, 0), "concern_window",
                  utc(2024, 3, 28, 18, 0), utc(2024, 3, 28, 8, 0) },
                /* Early May, spring and summer bank holidays 2024. */
                { "conclusion", utc(2024, 5, 3, 14, 0), "concern_window",
                  utc(2024, 5, 7, 17, 0), utc(2024, 5, 7, 7, 0) },
                { "conclusion", utc(2024, 5, 24, 14, 0), "concern_window",
                  utc(2024, 5, 28, 17, 0), utc(2024, 5, 28, 7, 0) },
                { "conclusion", utc(2024, 8, 23, 14, 0), "concern_window",
                  utc(2024, 8, 27, 17, 0), utc(2024, 8, 27, 7, 0) },
                /* Tue 24 Dec 2024: Christmas Wed, Boxing Day Thu -> Fri. */
                { "conclusion", utc(2024, 12, 24, 12, 0), "concern_window",
                  utc(2024, 12, 27, 18, 0), utc(2024, 12, 27, 8, 0) },
                /* Tue 31 Dec 2024: New Year's Day Wed -> Thu 2 Jan. */
                { "conclusion", utc(2024, 12, 31, 12, 0), "concern_window",
                  utc(2025, 1, 2, 18, 0), utc(2025, 1, 2, 8, 0) },
                /* Thu 17 Apr 2025: Good Fri 18, Easter Mon 21 -> Tue 22. */
                { "conclusion", utc(2025, 4, 17, 14, 0), "concern_window",
                  utc(2025, 4, 22, 17, 0), utc(2025, 4, 22, 7, 0) },
                /* Wed 24 Dec 2025: Thu 25, Fri 26, weekend -> Mon 29. */
                { "conclusion", utc(2025, 12, 24, 12, 0), "concern_window",
                  utc(2025, 12, 29, 18, 0), utc(2025, 12, 29, 8, 0) },
                /* Thu 24 Dec 2026: Fri 25, weekend, Mon 28 (Boxing Day
                 * substitute) -> Tue 29. */
                { "conclusion", utc(2026, 12, 24, 12, 0), "concern_window",
                  utc(2026, 12, 29, 18, 0), utc(2026, 12, 29, 8, 0) },
                /* Fri 24 Dec 2027: Mon 27 and Tue 28 substitutes -> Wed 29. */
                { "conclusion", utc(2027, 12, 24, 12, 0), "concern_window",
                  utc(2027, 12, 29, 18, 0), utc(2027, 12, 29, 8, 0) },
                /* Fri 31 Dec 2027: Mon 3 Jan 2028 substitute -> Tue 4. */
                { "conclusion", utc(2027, 12, 31, 12, 0), "concern_window",
                  utc(2028, 1, 4, 18, 0), utc(2028, 1, 4, 8, 0) },
                /* Thu 13 Apr 2028: Good Fri 14, Easter Mon 17 -> Tue 18. */
                { "conclusion", utc(2028, 4, 13, 14, 0), "concern_window",
                  utc(2028, 4, 18, 17, 0), utc(2028, 4, 18, 7, 0) },
                /* Fri 22 Dec 2028: Mon 25, Tue 26 -> Wed 27. */
                { "conclusion", utc(2028, 12, 22, 12, 0), "concern_window",
                  utc(2028, 12, 27, 18, 0), utc(2028, 12, 27, 8, 0) },
                /* A Saturday conclusion before Easter 2024 -> Tue 2 Apr. */
                { "conclusion", utc(2024, 3, 30, 11, 0), "concern_window",
                  utc(2024, 4, 2, 17, 0), utc(2024, 4, 2, 7, 0) },
                /* Sunday the clocks go back: Mon 28 Oct is GMT again. */
                { "conclusion", utc(2024, 10, 27, 10, 0), "concern_window",
                  utc(2024, 10, 28, 18, 0), utc(2024, 10, 28, 8, 0) },
                /* Fri before BST 2025 starts: Mon 31 Mar is BST. */
                { "conclusion", utc(2025, 3, 28, 15, 0), "concern_window",
                  utc(2025, 3, 31, 17, 0), utc(2025, 3, 31, 7, 0) },
                /* Local date, not UTC date: 00:30 BST Tue 2 Apr 2024 is
                 * 23:30Z Mon; next working day after Tue is Wed 3 Apr. */
                { "conclusion", utc(2024, 4, 1, 23, 30), "concern_window",
                  utc(2024, 4, 3, 17, 0), utc(2024, 4, 3, 7, 0) },

                /* Tue 26 Mar 2024 + 5: Wed 27, Thu 28, (Fri 29, Mon 1),
                 * Tue 2, Wed 3, Thu 4 Apr 17:00 BST. */
                { "pause", utc(2024, 3, 26, 11, 0), "pause_limit",
                  utc(2024, 4, 4, 16, 0), 0 },
                /* Wed 18 Dec 2024 + 5: 19, 20, 23, 24, (25, 26), Fri 27. */
                { "pause", utc(2024, 12, 18, 11, 0), "pause_limit",
                  utc(2024, 12, 27, 17, 0), 0 },
                /* Fri 18 Dec 2026 + 5: 21, 22, 23, 24, (25, 28), Tue 29. */
                { "pause", utc(2026, 12, 18, 11, 0), "pause_limit",
                  utc(2026, 12, 29, 17, 0), 0 },
                /* Mon 20 Dec 2027 + 5: 21, 22, 23, 24, (27, 28), Wed 29. */
                { "pause", utc(2027, 12, 20, 11, 0), "pause_limit",
                  utc(2027, 12, 29, 17, 0), 0 },
                /* Wed 29 Dec 2027 + 5: 30, 31, (Mon 3 Jan), 4, 5, Thu 6. */
                { "pause", utc(2027, 12, 29, 11, 0), "pause_limit",
                  utc(2028, 1, 6, 17, 0), 0 },
                /* Thu 23 Oct 2025 + 5: 24, 27, 28, 29, Thu 30 (GMT). */
                { "pause", utc(2025, 10, 23, 10, 0), "pause_limit",
                  utc(2025, 10, 30, 17, 0), 0 },
                /* Wed 26 Mar 2025 + 5: 27, 28, 31, 1 Apr, Wed 2 (BST). */
                { "pause", utc(2025, 3, 26, 11, 0), "pause_limit",
                  utc(2025, 4, 2, 16, 0), 0 },
                /* Thu 2 May 2024 + 5: 3, (Mon 6), 7, 8, 9, Fri 10. */
                { "pause", utc(2024, 5, 2, 11, 0), "pause_limit",
                  utc(2024, 5, 10, 16, 0), 0 },
                /* Fri 2 May 2025: Mon 5 May holiday -> Tue 6, 08:00 BST. */
                { "pause", utc(2025, 5, 2, 11, 0), "pause_expected",
                  utc(2025, 5, 6, 7, 0), 0 },
                /* Fri 28 Aug 2026: Mon 31 Aug holiday -> Tue 1 Sep. */
                { "pause", utc(2026, 8, 28, 11, 0), "pause_expected",
                  utc(2026, 9, 1, 7, 0), 0 },
                /* Fri 23 May 2025: Mon 26 May holiday -> Tue 27. */
                { "pause", utc(2025, 5, 23, 11, 0), "pause_expected",
                  utc(2025, 5, 27, 7, 0), 0 },

                /* The cutoff is 16:30 local on the notification day. */
                { "notification", utc(2024, 3, 4, 10, 0), "deferral_cutoff",
                  utc(2024, 3, 4, 16, 30), 0 },
                { "notification", utc(2024, 4, 8, 9, 0), "deferral_cutoff",
                  utc(2024, 4, 8, 15, 30), 0 },
                /* Fri before the clocks go back (BST), Mon after (GMT). */
                { "notification", utc(2024, 10, 25, 8, 45), "deferral_cutoff",
                  utc(2024, 10, 25, 15, 30), 0 },
                { "notification", utc(2024, 10, 28, 9, 45), "deferral_cutoff",
                  utc(2024, 10, 28, 16, 30), 0 },
                /* Notified on a Saturday: still that day's 16:30. */
                { "notification", utc(2024, 3, 30, 11, 0), "deferral_cutoff",
                  utc(2024, 3, 30, 16, 30), 0 },
                /* On a bank holiday (Easter Monday 2026): that day too. */
                { "notification", utc(2026, 4, 6, 9, 0), "deferral_cutoff",
                  utc(2026, 4, 6, 15, 30), 0 },

                /* 18 months from Wed 31 Jan 2024: Thu 31 Jul 2025, BST. */
                { "report_published", utc(2024, 1, 31, 12, 0), "monitoring_due",
                  utc(2025, 7, 31, 8, 0), 0 },
                /* From Sat 24 Feb 2024: Sun 24 Aug 2025, rolled past the
                 * summer bank holiday Mon 25 to Tue 26 Aug. */
                { "report_published", utc(2024, 2, 24, 12, 0), "monitoring_due",
                  utc(2025, 8, 26, 8, 0), 0 },
                /* From Sat 31 Aug 2024: 31 Feb 2026 clamps to Sat 28 Feb,
                 * rolled to Mon 2 Mar (GMT). */
                { "report_published", utc(2024, 8, 31, 12, 0), "monitoring_due",
                  utc(2026, 3, 2, 9, 0), 0 },
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const struct row *r = &rows[i];
                struct plan p = { 0 };
                const struct plan_deadline *d;

                rules_plan(f->rules, f->nrules, &f->env, r->event, r->at, &p);
                d = find_deadline(&p, r->rule);
                if (d->due != r->due)
                        fail_msg("row %zu (%s): due %lld, want %lld", i,
                                 r->rule, (long long)d->due, (long long)r->due);
                assert_int_equal(d->has_opens, r->opens != 0);
                if (r->opens != 0 && d->opens != r->opens)
                        fail_msg("row %zu: opens %lld, want %lld", i,
                                 (long long)d->opens, (long long)r->opens);
                /* Everything in 2024-2028 is covered by the holiday data. */
                if (has_warning(&p, "bank holiday data"))
                        fail_msg("row %zu: unexpected coverage warning", i);
                plan_free(&p);
        }
}

static void
test_cutoff_alerts(void **state)
{
        const struct fixture *f = *state;
        struct plan p = { 0 };

        rules_plan(f->rules, f->nrules, &f->env, "notification",
                   utc(2024, 3, 4, 10, 0), &p);
        assert_int_equal(p.nalerts, 4);
        assert_int_equal(p.alerts[0].at, utc(2024, 3, 4, 10, 0));
        assert_string_equal(p.alerts[0].offset->text, "event");
        assert_int_equal(p.alerts[1].at, utc(2024, 3, 4, 15, 30));
        assert_int_equal(p.alerts[2].at, utc(2024, 3, 4, 16, 0));
        assert_int_equal(p.alerts[3].at, utc(2024, 3, 4, 16, 30));
        assert_string_equal(p.alerts[3].offset->text, "deadline");
        assert_int_equal(p.nwarnings, 0);
        plan_free(&p);
}

/* Notified after 16:30: the cutoff has passed; only "event" goes out. */
static void
test_notification_after_cutoff(void **state)
{
        const struct fixture *f = *state;
        struct plan p = { 0 };

        rules_plan(f->rules, f->nrules, &f->env, "notification",
                   utc(2024, 3, 4, 17, 5), &p);
        assert_int_equal(p.ndeadlines, 1);
        assert_int_equal(p.deadlines[0].due, utc(2024, 3, 4, 16, 30));
        assert_int_equal(p.nalerts, 1);
        assert_string_equal(p.alerts[0].offset->text, "event");
        assert_int_equal(p.alerts[0].at, utc(2024, 3, 4, 17, 5));
        assert_true(has_warning(&p, "already passed"));
        assert_true(has_warning(&p, "-60m, -30m, deadline"));
        plan_free(&p);

        /* At 16:10 the deadline alert still goes, the earlier ones not. */
        rules_plan(f->rules, f->nrules, &f->env, "notification",
                   utc(2024, 3, 4, 16, 10), &p);
        assert_int_equal(p.nalerts, 2);
        assert_int_equal(p.alerts[1].at, utc(2024, 3, 4, 16, 30));
        assert_false(has_warning(&p, "already passed"));
        assert_true(has_warning(&p, "not scheduled: -60m, -30m"));
        plan_free(&p);
}

/* Both pause rules; alerts sorted across rules; -1d the day before. */
static void
test_pause_plan_sorted(void **state)
{
        const struct fixture *f = *state;
        struct plan p = { 0 };

        /* Thu 23 Oct 2025: expected Fri 24 08:00 BST; limit Thu 30 17:00
         * GMT, its -1d Wed 29 17:00 GMT. */
        rules_plan(f->rules, f->nrules, &f->env, "pause",
                   utc(2025, 10, 23, 10, 0), &p);
        assert_int_equal(p.ndeadlines, 2);
        assert_int_equal(p.nalerts, 3);
        assert_string_equal(p.alerts[0].rule->name, "pause_expected");
        assert_int_equal(p.alerts[0].at, utc(2025, 10, 23, 10, 0));
        assert_string_equal(p.alerts[1].rule->name, "pause_limit");
        assert_int_equal(p.alerts[1].at, utc(2025, 10, 29, 17, 0));
        assert_int_equal(p.alerts[2].at, utc(2025, 10, 30, 17, 0));
        plan_free(&p);
}

/* A kind no rule starts on plans nothing; a disabled rule is skipped. */
static void
test_no_rules_and_disabled(void **state)
{
        struct fixture *f = *state;
        struct plan p = { 0 };

        rules_plan(f->rules, f->nrules, &f->env, "resume",
                   utc(2024, 3, 4, 10, 0), &p);
        assert_int_equal(p.ndeadlines, 0);
        assert_int_equal(p.nalerts, 0);
        plan_free(&p);

        f->rules[4].enabled = false;
        rules_plan(f->rules, f->nrules, &f->env, "report_published",
                   utc(2024, 1, 31, 12, 0), &p);
        f->rules[4].enabled = true;
        assert_int_equal(p.ndeadlines, 0);
        plan_free(&p);
}

/* Past the holiday data: computed, but said. */
static void
test_coverage_warning(void **state)
{
        const struct fixture *f = *state;
        struct plan p = { 0 };

        /* Fri 22 Dec 2028 + 5: 27, 28, 29, Mon 1 Jan 2029 (unknown), 2. */
        rules_plan(f->rules, f->nrules, &f->env, "pause",
                   utc(2028, 12, 22, 11, 0), &p);
        assert_int_equal(find_deadline(&p, "pause_limit")->due,
                         utc(2029, 1, 2, 17, 0));
        assert_true(has_warning(&p, "pause_limit"));
        assert_true(has_warning(&p, "ends with 2028"));
        assert_true(has_warning(&p, "2029-01-01"));
        /* pause_expected (Wed 27 Dec) needed nothing past 2028. */
        assert_false(has_warning(&p, "pause_expected"));
        plan_free(&p);

        /* 18 months past 2027 lands in 2029 as well. */
        rules_plan(f->rules, f->nrules, &f->env, "report_published",
                   utc(2027, 9, 1, 12, 0), &p);
        assert_true(has_warning(&p, "monitoring_due"));
        assert_true(has_warning(&p, "2029-03-01"));
        plan_free(&p);
}

/* A closure counts as a non-working day. */
static void
test_closure(void **state)
{
        const struct fixture *f = *state;
        struct plan p = { 0 };

        calendar_add_closure(f->cal, civil_days(2025, 6, 13), "closure");
        /* Thu 12 Jun 2025: Fri 13 closed -> Mon 16, 08:00 BST. */
        rules_plan(f->rules, f->nrules, &f->env, "pause",
                   utc(2025, 6, 12, 11, 0), &p);
        assert_int_equal(find_deadline(&p, "pause_expected")->due,
                         utc(2025, 6, 16, 7, 0));
        /* + 5: (13), 16, 17, 18, 19, Fri 20. */
        assert_int_equal(find_deadline(&p, "pause_limit")->due,
                         utc(2025, 6, 20, 16, 0));
        plan_free(&p);
}

/*
 * Times the clocks skip or repeat. A rule at 01:30 on the event's own day:
 * on Sun 31 Mar 2024 01:30 does not exist (read as 02:30 BST = 01:30Z); on
 * Sun 27 Oct 2024 it happens twice (the first, BST, = 00:30Z).
 */
static void
test_gap_and_overlap(void **state)
{
        static const char *alerts[] = { "deadline" };
        struct fixture *f = *state;
        struct rule r = { 0 };
        struct plan p = { 0 };

        r.name = "night";
        r.event = "night";
        r.enabled = true;
        r.deadline.unit = RULE_WORKING_DAYS;
        r.deadline.count = 0;
        r.deadline.secs = 3600 + 1800;
        r.alerts = calloc(1, sizeof(*r.alerts));
        assert_int_equal(rules_parse_offset(alerts[0], &r.alerts[0]), 0);
        r.nalerts = 1;

        rules_plan(&r, 1, &f->env, "night", utc(2024, 3, 31, 0, 10), &p);
        assert_int_equal(p.deadlines[0].due, utc(2024, 3, 31, 1, 30));
        assert_true(has_warning(&p, "does not exist"));
        plan_free(&p);

        rules_plan(&r, 1, &f->env, "night", utc(2024, 10, 27, 0, 10), &p);
        assert_int_equal(p.deadlines[0].due, utc(2024, 10, 27, 0, 30));
        assert_true(has_warning(&p, "happens twice"));
        plan_free(&p);
        free(r.alerts);
}

/* "+1d" keeps the wall-clock time across the change; "+24h" does not. */
static void
test_days_keep_wall_clock(void **state)
{
        struct fixture *f = *state;
        struct rule r = { 0 };
        struct plan p = { 0 };

        r.name = "r";
        r.event = "x";
        r.enabled = true;
        r.deadline.unit = RULE_WORKING_DAYS;
        r.deadline.count = 5;
        r.deadline.secs = 12 * 3600;
        r.alerts = calloc(2, sizeof(*r.alerts));
        assert_int_equal(rules_parse_offset("+1d", &r.alerts[0]), 0);
        assert_int_equal(rules_parse_offset("+24h", &r.alerts[1]), 0);
        r.nalerts = 2;

        /* Sat 30 Mar 2024 12:00 GMT: +1d = Sun 12:00 BST = 11:00Z. */
        rules_plan(&r, 1, &f->env, "x", utc(2024, 3, 30, 12, 0), &p);
        assert_int_equal(p.nalerts, 2);
        assert_int_equal(p.alerts[0].at, utc(2024, 3, 31, 11, 0));
        assert_string_equal(p.alerts[0].offset->text, "+1d");
        assert_int_equal(p.alerts[1].at, utc(2024, 3, 31, 12, 0));
        plan_free(&p);
        free(r.alerts);
}

/* The signature changes with timing, not with routing. */
static void
test_signature(void **state)
{
        struct fixture *f = *state;
        struct rule *r = &f->rules[3]; /* pause_limit */
        char *a = rules_signature(r, &f->env), *b;

        assert_string_equal(a, "1;pause;wd5@61200;-;-1d,deadline");
        r->channels = calloc(1, sizeof(*r->channels));
        r->channels[0] = strdup("it");
        r->nchannels = 1;
        b = rules_signature(r, &f->env);
        assert_string_equal(a, b);
        free(b);
        r->deadline.secs = 16 * 3600;
        b = rules_signature(r, &f->env);
        assert_string_not_equal(a, b);
        r->deadline.secs = 17 * 3600;
        free(b);
        free(a);
        a = rules_signature(&f->rules[4],
                            &f->env); /* monitoring_due, rolls on */
        assert_string_equal(a, "1;report_published;mo18@32400+;-;-1d");
        free(a);
}

UNIT_MAIN_GROUP(setup, teardown,
                {
                    cmocka_unit_test(test_parse_offset),
                    cmocka_unit_test(test_kinds),
                    cmocka_unit_test(test_table),
                    cmocka_unit_test(test_cutoff_alerts),
                    cmocka_unit_test(test_notification_after_cutoff),
                    cmocka_unit_test(test_pause_plan_sorted),
                    cmocka_unit_test(test_no_rules_and_disabled),
                    cmocka_unit_test(test_coverage_warning),
                    cmocka_unit_test(test_gap_and_overlap),
                    cmocka_unit_test(test_days_keep_wall_clock),
                    cmocka_unit_test(test_signature),
                    /* Last: it adds a closure to the shared calendar. */
                    cmocka_unit_test(test_closure),
                })
