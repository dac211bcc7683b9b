/*
 * Remits and a school's own calendar, in `ofsted-notifyctl plan` and in the
 * daemon: the shipped config with a second school, a further education
 * college, and the rules that count on the school's calendar.
 *
 * The pause is on Wednesday 24 March 2027, 11:00 GMT. Counted by hand on
 * the England-and-Wales holidays: a school's 5th working day after it is
 * Friday 2 April (Thu 25, then Good Friday 26 and Easter Monday 29 March
 * skipped, Tue 30, Wed 31, Thu 1, Fri 2); further education's 15th is
 * Friday 16 April (Mon 5 to Fri 9 are the 6th to 10th, Mon 12 to Fri 16
 * the 11th to 15th); both at 17:00 BST, 16:00 UTC. The daemon's clock is
 * pinned weeks before them (DAEMON_AT), so no alert comes due while a test
 * runs, whatever the date it runs on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URN_FE     "100002"
#define PAUSE_AT   "2027-03-24T11:00:00Z"
#define SCHOOL_DUE "2027-04-02T16:00:00Z"
#define FE_DUE     "2027-04-16T16:00:00Z"
#define DAEMON_AT  "2027-03-01T09:00:00Z"

/*
 * A second school, a further education college without closures; Oak
 * Primary closed 15 to 19 February 2027 and Monday 22 February.
 */
#define CLOSURES_OLD "closures = [ ];"
#define CLOSURES_NEW \
        "closures = [ \"2027-02-15..2027-02-19\", \"2027-02-22\" ];"
#define SCHOOLS_OLD "channels = [ \"heads\", \"leaders\" ]; }\n);"
#define SCHOOLS_NEW                                          \
        "channels = [ \"heads\", \"leaders\" ]; },\n"        \
        "  { urn = \"" URN_FE "\"; name = \"Elm College\"; " \
        "channels = [ \"heads\" ];\n"                        \
        "    remit = \"further_education\"; }\n);"

/* The same duty counted on each calendar: 3 working days, 17:00. */
#define RULES_DUTY                                                  \
        "{ name = \"duty_trust\"; event = \"duty\";\n"              \
        "    deadline = { working_days = 3; time = \"17:00\"; };\n" \
        "    alerts = [ \"deadline\" ]; },\n"                       \
        "  { name = \"duty_school\"; event = \"duty\"; calendar = " \
        "\"school\";\n"                                             \
        "    deadline = { working_days = 3; time = \"17:00\"; };\n" \
        "    alerts = [ \"deadline\" ]; }"

static void
write_remits_conf(struct fx *f)
{
        char *text = conf_text(NULL, RULES_DUTY);

        /* The last "closures = [ ];" is Oak's; the trust's comes first. */
        text = replace_last(text, CLOSURES_OLD, CLOSURES_NEW);
        text = replace_last(text, SCHOOLS_OLD, SCHOOLS_NEW);

        spill(f->c.conf, text);
        spill(f->c.ctlconf, text);
        free(text);
}

/* The deadline of `rule` in a plan reply, as a UTC instant; 0: none. */
static int64_t
plan_due(json_t *plan, const char *rule)
{
        size_t i;
        json_t *d;

        json_array_foreach(jarr(plan, "deadlines"), i, d)
        {
                if (strcmp(jstr(d, "rule"), rule) == 0)
                        return jtime(d, "due");
        }
        return 0;
}

/* The pending alerts of `rule` in a `show` reply, at their deadline. */
static int64_t
pending_due(json_t *show, const char *rule, size_t *n)
{
        json_t *alerts = case_alerts(show, rule), *a;
        int64_t due = 0;
        size_t i;

        *n = 0;
        json_array_foreach(alerts, i, a)
        {
                if (strcmp(jstr(a, "state"), "pending") != 0)
                        continue;
                (*n)++;
                if (strcmp(jstr(a, "offset"), "deadline") == 0)
                        due = jtime(a, "at");
        }
        json_decref(alerts);
        return due;
}

/* plan picks the pause limit by the school's remit, or by --remit. */
static void
test_plan_remit(void **state)
{
        struct fx *f = *state;
        static const struct {
                const char *opt, *val, *rule, *other, *due;
        } t[] = {
                { "--school", URN, "pause_limit", "pause_limit_fe",
                  SCHOOL_DUE },
                { "--school", URN_FE, "pause_limit_fe", "pause_limit", FE_DUE },
                { "--remit", "further_education", "pause_limit_fe",
                  "pause_limit", FE_DUE },
                { "--remit", "early_years", "pause_limit", "pause_limit_fe",
                  SCHOOL_DUE },
        };
        struct proc_result r;

        write_remits_conf(f);
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                json_t *p = cluster_ctl_json(&f->c, "plan", "--event", "pause",
                                             t[i].opt, t[i].val, "--at",
                                             PAUSE_AT, "--json", NULL);

                assert_int_equal(plan_due(p, t[i].rule), rfc3339(t[i].due));
                assert_int_equal(plan_due(p, t[i].other), 0);
                json_decref(p);
        }
        r = cluster_ctl(&f->c, "plan", "--event", "pause", "--remit", "fe",
                        NULL);
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "--remit 'fe'"));
        proc_result_free(&r);
        f->c.passed = true;
}

/*
 * A school's closures move the rule on the school's calendar and not the
 * one on the trust's; the college, without closures, has both on the same
 * day. Friday 12 February 2027: on the trust's days Mon 15, Tue 16, Wed
 * 17; Oak is closed 15 to 19 and 22: Tue 23, Wed 24, Thu 25 February.
 */
static void
test_plan_school_calendar(void **state)
{
        struct fx *f = *state;
        json_t *p;

        write_remits_conf(f);
        p = cluster_ctl_json(&f->c, "plan", "--event", "duty", "--school", URN,
                             "--at", "2027-02-12T10:00:00Z", "--json", NULL);
        assert_int_equal(plan_due(p, "duty_trust"),
                         rfc3339("2027-02-17T17:00:00Z"));
        assert_int_equal(plan_due(p, "duty_school"),
                         rfc3339("2027-02-25T17:00:00Z"));
        json_decref(p);
        p = cluster_ctl_json(&f->c, "plan", "--event", "duty", "--school",
                             URN_FE, "--at", "2027-02-12T10:00:00Z", "--json",
                             NULL);
        assert_int_equal(plan_due(p, "duty_trust"),
                         rfc3339("2027-02-17T17:00:00Z"));
        assert_int_equal(plan_due(p, "duty_school"),
                         rfc3339("2027-02-17T17:00:00Z"));
        json_decref(p);
        f->c.passed = true;
}

/*
 * The daemon schedules the pause limit of each school's remit: the school
 * 5 working days, the college 15, and neither the other's.
 */
static void
test_daemon_remit(void **state)
{
        struct fx *f = *state;
        static const struct {
                const char *urn, *rule, *other, *due;
        } t[] = {
                { URN, "pause_limit", "pause_limit_fe", SCHOOL_DUE },
                { URN_FE, "pause_limit_fe", "pause_limit", FE_DUE },
        };

        write_remits_conf(f);
        daemon_start_at(f, (time_t)rfc3339(DAEMON_AT));
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                json_t *r, *show;
                size_t n;

                r = cluster_ctl_json(&f->c, "notify", "--school", t[i].urn,
                                     "--at", "2027-03-22T09:00:00Z", "--json",
                                     NULL);
                json_decref(r);
                r = cluster_ctl_json(&f->c, "pause", "--school", t[i].urn,
                                     "--at", PAUSE_AT, "--json", NULL);
                assert_string_equal(jstr(r, "state"), "paused");
                json_decref(r);
                show = cluster_ctl_json(&f->c, "show", "--school", t[i].urn,
                                        "--json", NULL);
                assert_int_equal(pending_due(show, t[i].rule, &n),
                                 rfc3339(t[i].due));
                /* -1d, deadline and the escalation at -1d */
                assert_int_equal(n, 3);
                pending_due(show, t[i].other, &n);
                assert_int_equal(n, 0);
                json_decref(show);
        }
        f->c.passed = true;
}

CLUSTER_MAIN_GROUP(group_setup, NULL,
                   {
                       CLUSTER_TEST(test_plan_remit),
                       CLUSTER_TEST(test_plan_school_calendar),
                       CLUSTER_TEST(test_daemon_remit),
                   })
