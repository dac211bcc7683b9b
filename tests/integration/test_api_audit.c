/*
 * A case's audit trail through the API, GET /api/v1/cases/{id}/audit: who
 * changed it and from where ("web" for a token's event, "ctl" for
 * ofsted-notifyctl's), to whoever may read the case, refused to a token of
 * another school, 404 for a case that is not there.
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

static void
test_case_audit(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        char unix_actor[128], path[64];
        json_t *trail, *e;
        json_int_t id;

        id = api_two_actors(a, unix_actor, sizeof(unix_actor));
        /* Another school's event is not in this case's trail. */
        api_post_event(a, ASH, a->trust, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);

        snprintf(path, sizeof(path), "/api/v1/cases/%lld/audit", (long long)id);
        api_get(a, path, a->viewer, &r);
        api_want(&r, 200, NULL);
        assert_int_equal(jint(r.json, "case"), id);
        trail = jarr(r.json, "audit");
        assert_int_equal(json_array_size(trail), 2);
        e = json_array_get(trail, 0);
        assert_string_equal(jstr(e, "action"), "event");
        assert_string_equal(jstr(e, "actor"), "token:school");
        assert_string_equal(jstr(e, "source"), "web");
        assert_string_equal(jstr(e, "school"), OAK);
        e = json_array_get(trail, 1);
        assert_string_equal(jstr(e, "actor"), unix_actor);
        assert_string_equal(jstr(e, "source"), "ctl");
        assert_non_null(strstr(jstr(e, "detail"), "pause"));
        api_resp_free(&r);

        /* Roles as for reading the case. */
        snprintf(path, sizeof(path), "/api/v1/cases/%lld/audit",
                 (long long)id + 1);
        api_get_want(a, path, a->viewer, 403, "not of one of your schools");
        api_get_want(a, "/api/v1/cases/999/audit", a->admin, 404,
                     "no case 999");
        api_get_want(a, path, NULL, 401, "");
        cluster_pass(&a->c);
}

CLUSTER_MAIN({
    API_TEST(test_case_audit),
})
