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

#include "conf_fixture.h"
#include "rules.h"

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
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);
        const struct rule *r;

        (void)state;
        assert_non_null(c);
        assert_int_equal(c->nrules, 6);

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

        /* concern_window: opens 08:00 and closes 18:00 on working day 1. */
        r = &c->rules[1];
        assert_string_equal(r->name, "concern_window");
        assert_string_equal(r->event, "conclusion");
        assert_true(r->enabled);
        assert_true(r->has_opens);
        assert_int_equal(r->opens.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->opens.count, 1);
        assert_int_equal(r->opens.secs, 28800);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 1);
        assert_int_equal(r->deadline.secs, 64800);
        assert_int_equal(r->nalerts, 3);
        conf_fx_assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        conf_fx_assert_offset(&r->alerts[1], ALERT_OPENS, 0, false, "opens");
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

        /* pause_limit: fifth working day at 17:00, plus the "it" channel. */
        r = &c->rules[3];
        assert_string_equal(r->name, "pause_limit");
        assert_string_equal(r->event, "pause");
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

        /* factual_accuracy: fifth working day at 17:00. */
        r = &c->rules[4];
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

        /* monitoring_due: off; 18 months at 09:00, rolled forward. */
        r = &c->rules[5];
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

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_example_rules),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
