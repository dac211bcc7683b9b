/*
 * GET /api/v1/schools shows a school's next deadline while it stands, not
 * while one of its alerts is pending: a pause's "event" alert fires at
 * once, and the pause's next-working-day deadline is still the one
 * shown, with its rule, until a resume ends the rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

CLUSTER_MAIN({
    cmocka_unit_test_setup_teardown(test_fired_deadline_stands_until_resume,
                                    setup, api_teardown),
})
