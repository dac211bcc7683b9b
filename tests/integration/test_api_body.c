/*
 * ofsted-notify-web (api.h): what a POST may carry. 201 for a good event;
 * 413 for a 1 MB body, 415 for another type, 400 for bad JSON (where),
 * 422 for an unknown field or a wrong type (which), 409 when the case's
 * state refuses the event (the scheduler's reason), 404 and 405.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <stdlib.h>
#include <string.h>

static void
test_event_recorded(void **state)
{
        struct api *a = *state;
        struct api_resp r;

        api_post_event(a, OAK, a->school,
                       "{\"kind\": \"notification\", \"contact\": \"SOL\", "
                       "\"note\": \"by phone\"}",
                       &r);
        api_want(&r, 201, NULL);
        assert_true(json_is_true(json_object_get(r.json, "ok")));
        assert_string_equal(jstr(r.json, "kind"), "notification");
        assert_string_equal(jstr(r.json, "state"), "open");
        assert_string_equal(jstr(jobj(r.json, "school"), "urn"), OAK);
        assert_int_equal(json_array_size(jarr(r.json, "scheduled")), 1);
        api_resp_free(&r);
        /* The dashboard shows the case and its next alert. */
        api_get(a, "/api/v1/schools", a->school, &r);
        api_want(&r, 200, NULL);
        assert_int_equal(json_array_size(jarr(r.json, "schools")), 1);
        {
                json_t *s = json_array_get(jarr(r.json, "schools"), 0);

                assert_string_equal(jstr(s, "urn"), OAK);
                assert_string_equal(jstr(jobj(s, "case"), "state"), "open");
                assert_string_equal(jstr(jobj(s, "next_alert"), "rule"),
                                    "deferral_cutoff");
                assert_true(
                    json_is_string(json_object_get(s, "next_deadline")));
        }
        api_resp_free(&r);
}

static void
test_state_refuses(void **state)
{
        struct api *a = *state;
        struct api_resp r;

        api_post_event(a, OAK, a->school, "{\"kind\": \"resume\"}", &r);
        api_want(&r, 409, "has no open case");
        api_resp_free(&r);
        api_post_event(a, OAK, a->school, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        api_post_event(a, OAK, a->school, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 409, "already has an open case");
        api_resp_free(&r);
        /* The scheduler's own judgement of a field: 422. */
        api_post_event(a, OAK, a->school,
                       "{\"kind\": \"pause\", \"at\": \"tomorrow\"}", &r);
        api_want(&r, 422, "at:");
        api_resp_free(&r);
}

static void
test_bad_bodies(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        const char *path = "/api/v1/schools/" OAK "/events";
        size_t big = 1 << 20;
        char *mb = malloc(big);

        assert_non_null(mb);
        memset(mb, 'a', big);
        api_call(a, "POST", path, a->school, "application/json", mb, big, &r);
        api_want(&r, 413, "over 16384 bytes");
        api_resp_free(&r);
        free(mb);

        api_call(a, "POST", path, a->school, "text/plain",
                 "{\"kind\":\"pause\"}", 16, &r);
        api_want(&r, 415, "application/json");
        api_resp_free(&r);
        api_post_event(a, OAK, a->school, "{\"kind\": ", &r);
        api_want(&r, 400, "not JSON");
        assert_non_null(strstr(jstr(r.json, "error"), "column"));
        api_resp_free(&r);
        api_post_event(a, OAK, a->school, "[\"pause\"]", &r);
        api_want(&r, 400, "not a JSON object");
        api_resp_free(&r);
        api_post_event(a, OAK, a->school,
                       "{\"kind\": \"pause\", \"colour\": \"red\"}", &r);
        api_want(&r, 422, "unknown field 'colour'");
        api_resp_free(&r);
        api_post_event(a, OAK, a->school, "{\"kind\": 7}", &r);
        api_want(&r, 422, "'kind' must be a string");
        api_resp_free(&r);
        api_post_event(a, OAK, a->school,
                       "{\"kind\": \"notification\", \"new_case\": \"yes\"}",
                       &r);
        api_want(&r, 422, "'new_case' must be true or false");
        api_resp_free(&r);
        api_post_event(a, OAK, a->school, "{\"note\": \"x\"}", &r);
        api_want(&r, 422, "'kind' is required");
        api_resp_free(&r);
        /* Nothing of it was recorded. */
        api_get(a, "/api/v1/cases?all=true", a->admin, &r);
        api_want(&r, 200, NULL);
        assert_int_equal(json_array_size(jarr(r.json, "cases")), 0);
        api_resp_free(&r);
}

static void
test_not_found_and_method(void **state)
{
        struct api *a = *state;
        struct api_resp r;

        api_get_want(a, "/api/v1/nothing", a->admin, 404, "no such resource");
        api_get_want(a, "/api/v1/cases/42", a->admin, 404, "no case 42");
        api_get_want(a, "/api/v1/cases/abc", a->admin, 404, "no such resource");
        api_post_event(a, "999999", a->admin, "{\"kind\": \"pause\"}", &r);
        api_want(&r, 404, "unknown school 999999");
        api_resp_free(&r);
        api_get_want(a, "/api/v1/upcoming?school=999999", a->admin, 404,
                     "unknown school 999999");
        api_call(a, "DELETE", "/api/v1/schools", a->admin, NULL, NULL, 0, &r);
        api_want(&r, 405, "takes GET only");
        api_resp_free(&r);
        api_get_want(a, "/api/v1/upcoming?school=12ab", a->admin, 400,
                     "not a URN");
        api_get_want(a, "/api/v1/history?limit=0", a->admin, 400, "'limit'");
        api_get_want(a, "/api/v1/cases?colour=red", a->admin, 400,
                     "unknown parameter 'colour'");
}

CLUSTER_MAIN({
    API_TEST(test_event_recorded),
    API_TEST(test_state_refuses),
    API_TEST(test_bad_bodies),
    API_TEST(test_not_found_and_method),
})
