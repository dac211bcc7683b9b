/*
 * The daemon (daemon.h): alerts that fell due while the daemon was down: sent
 * late or skipped, as catch_up says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* Sleeps until the wall clock reaches `t` (at most WAIT_MS). */
static void
sleep_until(time_t t)
{
        struct timespec now;
        long ms;

        clock_gettime(CLOCK_REALTIME, &now);
        ms = (long)(t - now.tv_sec) * 1000 - now.tv_nsec / 1000000;
        if (ms > WAIT_MS)
                fail_msg("refusing to sleep %ld ms", ms);
        if (ms > 0)
                sleep_ms(ms);
}

/*
 * Records a drill and stops the daemon at once, stays down past both
 * alerts and well past late_after (1 s), then starts it. Returns the case.
 */
static json_int_t
drill_during_downtime(struct fx *f, time_t *td)
{
        json_int_t id;

        daemon_start(f);
        id = open_case(f);
        *td = record_drill(f);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        sleep_until(*td + 7);
        daemon_start(f);
        return id;
}

/*
 * A local date and times on it, well clear of any clock change, whose
 * deadline (`hhmm`) has passed: today 02:50 and 03:00, or yesterday's
 * 22:50 and 23:00 before 04:00.
 */
static void
passed_deadline(char event_at[32], char hhmm[8])
{
        time_t now = time(NULL);
        struct tm tm;
        char day[16];
        bool today;

        localtime_r(&now, &tm);
        today = tm.tm_hour >= 4;
        if (!today) {
                tm.tm_mday -= 1;
                tm.tm_hour = 12;
                tm.tm_isdst = -1;
                now = mktime(&tm);
                localtime_r(&now, &tm);
        }
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        snprintf(event_at, 32, "%sT%s", day, today ? "02:50" : "22:50");
        snprintf(hhmm, 8, "%s", today ? "03:00" : "23:00");
}

/*
 * catch_up = "late": alerts that came due while the daemon was down fire
 * marked late, with their deliveries. An alert whose deadline has passed
 * is missed all the same.
 */
static void
test_catch_up_late(void **state)
{
        struct fx *f = *state;
        json_t *show, *alerts, *hist, *r, *plan, *a, *d, *missed, *channels;
        char rules[512], event_at[32], hhmm[8];
        json_int_t id;
        time_t td;
        size_t i;

        passed_deadline(event_at, hhmm);
        snprintf(rules, sizeof(rules),
                 RULE_DRILL
                 ",\n"
                 "  { name = \"lapse\"; event = \"lapse\";\n"
                 "    deadline = { working_days = 0; time = \"%s\"; };\n"
                 "    alerts = [ \"-1m\" ]; }",
                 hhmm);
        write_conf(f, "catch_up = \"late\"; late_after = 1;", rules);
        channels = school_channels(f);
        id = drill_during_downtime(f, &td);

        show = show_settled(f, id, "drill");
        alerts = case_alerts(show, "drill");
        assert_int_equal(json_array_size(alerts), 2);
        json_array_foreach(alerts, i, a)
        {
                assert_string_equal(jstr(a, "state"), "fired");
                assert_true(json_is_true(member(a, "late")));
                assert_true(jtime(a, "fired") - jtime(a, "at") > 1);
        }
        json_decref(alerts);
        json_decref(show);
        hist = cluster_ctl_json_want(&f->c, 0, "history", "--json", NULL);
        assert_int_equal(count_deliveries(hist, "drill", NULL, channels),
                         2 * json_array_size(channels));
        json_array_foreach(jarr(hist, "deliveries"), i, d)
        {
                assert_true(json_is_true(member(d, "late")));
        }
        json_decref(hist);

        /* Deadline passed: missed, whatever catch_up says. */
        plan = cluster_ctl_json_want(&f->c, 0, "plan", "--event", "lapse",
                                     "--at", event_at, "--json", NULL);
        assert_int_equal(json_array_size(jarr(plan, "alerts")), 1);
        a = json_array_get(jarr(plan, "alerts"), 0);
        assert_string_equal(jstr(a, "offset"), "-1m");
        d = json_array_get(jarr(plan, "deadlines"), 0);
        assert_true(jtime(a, "at") == jtime(d, "due") - 60);
        assert_true(jtime(d, "due") < time(NULL));
        json_decref(plan);
        r = cluster_ctl_json_want(&f->c, 0, "event", "lapse", "--school", URN,
                                  "--at", event_at, "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 1);
        json_decref(r);
        show = show_settled(f, id, "lapse");
        alerts = case_alerts(show, "lapse");
        assert_int_equal(json_array_size(alerts), 1);
        assert_string_equal(jstr(json_array_get(alerts, 0), "state"), "missed");
        assert_true(json_is_null(member(json_array_get(alerts, 0), "fired")));
        json_decref(alerts);
        json_decref(show);
        hist = cluster_ctl_json_want(&f->c, 0, "history", "--json", NULL);
        assert_int_equal(count_deliveries(hist, "lapse", NULL, NULL), 0);
        json_decref(hist);
        r = cluster_ctl_json_want(&f->c, 0, "status", "--json", NULL);
        missed = jarr(r, "missed");
        assert_int_equal(json_array_size(missed), 1);
        assert_string_equal(jstr(json_array_get(missed, 0), "rule"), "lapse");
        json_decref(r);

        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        json_decref(channels);
        f->c.passed = true;
}

/* catch_up = "skip": the same alerts are missed, with no deliveries. */
static void
test_catch_up_skip(void **state)
{
        struct fx *f = *state;
        json_t *show, *alerts, *hist, *r, *missed, *a;
        json_int_t id;
        time_t td;
        size_t i;

        write_conf(f, "catch_up = \"skip\"; late_after = 1;", RULE_DRILL);
        id = drill_during_downtime(f, &td);

        show = show_settled(f, id, "drill");
        alerts = case_alerts(show, "drill");
        assert_int_equal(json_array_size(alerts), 2);
        json_array_foreach(alerts, i, a)
        {
                assert_string_equal(jstr(a, "state"), "missed");
                assert_true(json_is_null(member(a, "fired")));
        }
        json_decref(alerts);
        json_decref(show);
        hist = cluster_ctl_json_want(&f->c, 0, "history", "--json", NULL);
        assert_int_equal(json_array_size(jarr(hist, "deliveries")), 0);
        json_decref(hist);

        r = cluster_ctl_json_want(&f->c, 0, "status", "--json", NULL);
        assert_true(jint(member(r, "alerts"), "missed") == 2);
        missed = jarr(r, "missed");
        assert_int_equal(json_array_size(missed), 2);
        json_array_foreach(missed, i, a)
        {
                const char *off = jstr(a, "offset");

                assert_string_equal(jstr(a, "rule"), "drill");
                assert_true(jint(a, "case") == id);
                assert_true(strcmp(off, "+2s") == 0 || strcmp(off, "+4s") == 0);
                assert_true(jtime(a, "at") ==
                            td + (strcmp(off, "+2s") == 0 ? 2 : 4));
        }
        assert_string_not_equal(jstr(json_array_get(missed, 0), "offset"),
                                jstr(json_array_get(missed, 1), "offset"));
        json_decref(r);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        f->c.passed = true;
}

CLUSTER_MAIN_GROUP(group_setup, NULL,
                   {
                       CLUSTER_TEST(test_catch_up_late),
                       CLUSTER_TEST(test_catch_up_skip),
                   })
