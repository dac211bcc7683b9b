/*
 * ofsted-notify-web (api.h): every role. A viewer reads its school and
 * records nothing; a school token records for its school only; trust and
 * admin see both; another school's case is refused (403) for reading and
 * for writing; only an admin sees the test alerts' history.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <stdio.h>
#include <string.h>

/* A case for each school, recorded by trust; its id. */
static json_int_t
open_case(struct api *a, const char *urn)
{
        struct api_resp r;
        json_int_t id;

        api_post_event(a, urn, a->trust, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        id = jint(r.json, "case");
        api_resp_free(&r);
        return id;
}

static size_t
count(struct api *a, const char *path, const char *token, const char *key)
{
        struct api_resp r;
        size_t n;

        api_get(a, path, token, &r);
        api_want(&r, 200, NULL);
        n = json_array_size(jarr(r.json, key));
        api_resp_free(&r);
        return n;
}

static void
test_viewer(void **state)
{
        struct api *a = *state;
        json_int_t oak = open_case(a, OAK), ash = open_case(a, ASH);
        struct api_resp r;
        char path[64];

        assert_int_equal(count(a, "/api/v1/schools", a->viewer, "schools"), 1);
        assert_int_equal(count(a, "/api/v1/cases", a->viewer, "cases"), 1);
        assert_int_equal(count(a, "/api/v1/upcoming", a->viewer, "alerts"), 1);
        snprintf(path, sizeof(path), "/api/v1/cases/%lld", (long long)oak);
        api_get(a, path, a->viewer, &r);
        api_want(&r, 200, NULL);
        assert_string_equal(jstr(jobj(r.json, "case"), "school"), OAK);
        api_resp_free(&r);
        snprintf(path, sizeof(path), "/api/v1/cases/%lld", (long long)ash);
        api_get_want(a, path, a->viewer, 403, "not of one of your schools");
        api_post_event(a, OAK, a->viewer, "{\"kind\": \"pause\"}", &r);
        api_want(&r, 403, "a viewer token may not record events");
        api_resp_free(&r);
        api_get_want(a, "/api/v1/upcoming?school=" ASH, a->viewer, 403,
                     "not one of yours");
}

static void
test_school(void **state)
{
        struct api *a = *state;
        json_int_t ash = open_case(a, ASH);
        struct api_resp r;
        char path[64];

        api_post_event(a, OAK, a->school, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        api_post_event(a, ASH, a->school, "{\"kind\": \"pause\"}", &r);
        api_want(&r, 403, "school " ASH " is not one of yours");
        api_resp_free(&r);
        snprintf(path, sizeof(path), "/api/v1/cases/%lld", (long long)ash);
        api_get_want(a, path, a->school, 403, "not of one of your schools");
        api_get_want(a, "/api/v1/history?school=" ASH, a->school, 403,
                     "not one of yours");
        api_get_want(a, "/api/v1/calendar.ics?school=" ASH, a->school, 403,
                     "not one of yours");
        /* Its plan: what a pause would do to its open case. */
        api_get(a, "/api/v1/plan?school=" OAK "&event=pause", a->school, &r);
        api_want(&r, 200, NULL);
        assert_string_equal(jstr(r.json, "state"), "open");
        assert_string_equal(jstr(r.json, "next"), "paused");
        assert_string_equal(
            jstr(json_array_get(jarr(r.json, "deadlines"), 0), "rule"),
            "pause_limit");
        api_resp_free(&r);
        api_get(a, "/api/v1/plan?school=" OAK "&event=resume", a->school, &r);
        api_want(&r, 200, NULL);
        assert_non_null(strstr(jstr(r.json, "refused"), "not paused"));
        api_resp_free(&r);
}

static void
test_trust_and_admin(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        struct proc_result p;

        open_case(a, OAK);
        open_case(a, ASH);
        assert_int_equal(count(a, "/api/v1/schools", a->trust, "schools"), 2);
        assert_int_equal(count(a, "/api/v1/cases", a->admin, "cases"), 2);
        assert_int_equal(count(a, "/api/v1/upcoming", a->trust, "alerts"), 2);
        api_post_event(a, ASH, a->admin, "{\"kind\": \"pause\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        api_get(a, "/api/v1/calendar.ics", a->trust, &r);
        api_want(&r, 200, NULL);
        assert_non_null(strstr(r.body, "Ash Academy"));
        assert_non_null(strstr(r.body, "Oak Primary"));
        api_resp_free(&r);
        /* A test alert's delivery: in the admin's history only. */
        p = cluster_ctl(&a->c, "test", "it", "--timeout", "1", NULL);
        proc_result_free(&p);
        assert_int_equal(count(a, "/api/v1/history", a->admin, "deliveries"),
                         1);
        assert_int_equal(count(a, "/api/v1/history", a->trust, "deliveries"),
                         0);
}

CLUSTER_MAIN({
    API_TEST(test_viewer),
    API_TEST(test_school),
    API_TEST(test_trust_and_admin),
})
