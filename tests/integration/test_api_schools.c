/*
 * GET /api/v1/schools and GET /api/v1/calendar.ics show a school's
 * deadline while it stands, not while one of its alerts is pending: a
 * pause's "event" alert fires at once, and the pause's next-working-day
 * deadline is still the one shown, with its rule, and still an event of
 * the calendar, until a resume ends the rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"
#include "itest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The shipped pause_expected: one alert, when the pause is recorded. */
#define PAUSE_EXPECTED                                              \
        "name = \"pause_expected\"; event = \"pause\";\n"           \
        "    deadline = { working_days = 1; time = \"08:00\"; };\n" \
        "    alerts = [ \"event\" ]; cancel_on = [ \"resume\" ];"

static int
setup(void **state)
{
        static const struct api_world w = { .rule = PAUSE_EXPECTED };

        return api_setup_with(state, &w);
}

/* What the test waits on: case `id`'s alert of `rule` in `state`. */
struct want_alert {
        struct api *a;
        json_int_t id;
        const char *rule, *state;
        char due[64]; /* that alert's due, once it is so */
};

static bool
alert_is(void *arg)
{
        struct want_alert *w = arg;
        struct api_resp r;
        char path[64];
        json_t *al;
        size_t i;
        bool found = false;

        snprintf(path, sizeof(path), "/api/v1/cases/%lld", (long long)w->id);
        api_get(w->a, path, w->a->admin, &r);
        api_want(&r, 200, NULL);
        json_array_foreach(jarr(json_object_get(r.json, "case"), "alerts"), i,
                           al)
        {
                if (strcmp(jstr(al, "rule"), w->rule) == 0 &&
                    strcmp(jstr(al, "state"), w->state) == 0) {
                        snprintf(w->due, sizeof(w->due), "%s", jstr(al, "due"));
                        found = true;
                }
        }
        api_resp_free(&r);
        return found;
}

/* Oak's row of GET /api/v1/schools; the caller frees r. */
static json_t *
oak_row(struct api *a, struct api_resp *r)
{
        json_t *row;
        size_t i;

        api_get(a, "/api/v1/schools", a->school, r);
        api_want(r, 200, NULL);
        json_array_foreach(jarr(r->json, "schools"), i, row)
        {
                if (strcmp(jstr(row, "urn"), OAK) == 0)
                        return row;
        }
        fail_msg("no row of " OAK " in /api/v1/schools");
        return NULL;
}

static void
test_fired_deadline_stands_until_resume(void **state)
{
        struct api *a = *state;
        struct want_alert pause = { a, 0, "pause_expected", "fired", "" };
        struct want_alert cutoff = { a, 0, "deferral_cutoff", "pending", "" };
        struct api_resp r, s;
        json_t *row;

        api_post_event(a, OAK, a->school, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        pause.id = cutoff.id = jint(r.json, "case");
        api_resp_free(&r);
        api_post_event(a, OAK, a->school, "{\"kind\": \"pause\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        assert_true(cluster_wait_until(alert_is, &pause, 10000));

        /* Its only alert has gone; the deadline, the next working day's
         * 08:00, is before the others' (16:30 and five days on). */
        row = oak_row(a, &r);
        assert_string_equal(jstr(row, "next_deadline"), pause.due);
        assert_string_equal(jstr(row, "next_deadline_rule"), "pause_expected");
        assert_true(json_is_false(json_object_get(row, "acknowledged")));
        assert_string_equal(jstr(json_object_get(row, "next_alert"), "rule"),
                            "deferral_cutoff");
        api_resp_free(&r);

        /* A resume ends it: the next deadline is the cutoff's. */
        api_post_event(a, OAK, a->school, "{\"kind\": \"resume\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        assert_true(alert_is(&cutoff));
        row = oak_row(a, &s);
        assert_string_equal(jstr(row, "next_deadline"), cutoff.due);
        assert_string_equal(jstr(row, "next_deadline_rule"), "deferral_cutoff");
        api_resp_free(&s);
        cluster_pass(&a->c);
}

/* The text of Oak's calendar as the school token reads it; r freed by the
 * caller. */
static const char *
oak_calendar(struct api *a, struct api_resp *r)
{
        api_get(a, "/api/v1/calendar.ics?school=" OAK, a->school, r);
        api_want(r, 200, NULL);
        return r->body;
}

/* `name`:`due` (RFC 3339) `minus` seconds, as an iCalendar UTC time. */
static void
ics_line(char *buf, size_t len, const char *name, const char *due,
         int64_t minus)
{
        time_t t = (time_t)(rfc3339(due) - minus);
        struct tm tm;
        char v[32];

        gmtime_r(&t, &tm);
        strftime(v, sizeof(v), "%Y%m%dT%H%M%SZ", &tm);
        snprintf(buf, len, "%s:%s", name, v);
}

static void
test_fired_deadline_on_calendar_until_resume(void **state)
{
        struct api *a = *state;
        struct want_alert pause = { a, 0, "pause_expected", "fired", "" };
        const char *summary = "SUMMARY:Oak Primary: pause_expected deadline";
        char start[64], end[64];
        struct proc_result p;
        struct api_resp r;
        const char *ics;

        api_post_event(a, OAK, a->school, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        pause.id = jint(r.json, "case");
        api_resp_free(&r);
        api_post_event(a, OAK, a->school, "{\"kind\": \"pause\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        assert_true(cluster_wait_until(alert_is, &pause, 10000));

        /* Its only alert has fired: its deadline is still an event, the
         * half hour up to it (the rule has no window). */
        ics_line(start, sizeof(start), "DTSTART", pause.due, 30 * 60);
        ics_line(end, sizeof(end), "DTEND", pause.due, 0);
        ics = oak_calendar(a, &r);
        assert_non_null(strstr(ics, "BEGIN:VCALENDAR"));
        if (strstr(ics, summary) == NULL || strstr(ics, start) == NULL ||
            strstr(ics, end) == NULL)
                fail_msg("no '%s' from '%s' to '%s' in:\n%s", summary, start,
                         end, ics);
        /* The notification's deadlines are there too. */
        assert_non_null(strstr(ics, "SUMMARY:Oak Primary: deferral_cutoff"));
        api_resp_free(&r);
        /* ofsted-notifyctl ics has the same deadline, from the same
         * `deadlines` (its lines as the feed's). */
        p = cluster_ctl(&a->c, "ics", "--school", OAK, NULL);
        assert_int_equal(p.status, 0);
        if (strstr(p.out, summary) == NULL || strstr(p.out, start) == NULL ||
            strstr(p.out, end) == NULL)
                fail_msg("ofsted-notifyctl ics: no '%s' from '%s' to '%s' "
                         "in:\n%s",
                         summary, start, end, p.out);
        proc_result_free(&p);

        /* A resume ends it; the others stay. */
        api_post_event(a, OAK, a->school, "{\"kind\": \"resume\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        ics = oak_calendar(a, &r);
        if (strstr(ics, "pause_expected") != NULL)
                fail_msg("pause_expected after the resume:\n%s", ics);
        assert_non_null(strstr(ics, "SUMMARY:Oak Primary: deferral_cutoff"));
        api_resp_free(&r);
        cluster_pass(&a->c);
}

CLUSTER_MAIN({
    cmocka_unit_test_setup_teardown(test_fired_deadline_stands_until_resume,
                                    setup, api_teardown),
    cmocka_unit_test_setup_teardown(
        test_fired_deadline_on_calendar_until_resume, setup, api_teardown),
})
