/*
 * GET /api/v1/channels, the channels' health for the pages' warning:
 * each configured channel as `status` tells it, and the heartbeat (null
 * when daemon.heartbeat is not set), to the trust and admin roles only;
 * a school or viewer token is refused, as is no token.
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
test_channels(void **state)
{
        struct api *a = *state;
        const char *const readers[] = { a->trust, a->admin };
        struct api_resp r;
        json_t *chans, *ch;

        for (size_t i = 0; i < 2; i++) {
                api_get(a, "/api/v1/channels", readers[i], &r);
                api_want(&r, 200, NULL);
                chans = jarr(r.json, "channels");
                assert_int_equal(json_array_size(chans), 1);
                ch = json_array_get(chans, 0);
                assert_string_equal(jstr(ch, "channel"), "it");
                assert_string_equal(jstr(ch, "check"), "weekly");
                /* New: nothing delivered yet, and not stale for 14 days. */
                assert_true(
                    json_is_null(json_object_get(ch, "last_delivered")));
                assert_true(json_is_false(json_object_get(ch, "stale")));
                assert_true(json_is_false(json_object_get(ch, "last_failed")));
                assert_true(json_is_null(json_object_get(ch, "warning")));
                assert_true(json_is_null(json_object_get(r.json, "heartbeat")));
                api_resp_free(&r);
        }
        api_get_want(a, "/api/v1/channels", a->school, 403, "trust and admin");
        api_get_want(a, "/api/v1/channels", a->viewer, 403, "trust and admin");
        api_get_want(a, "/api/v1/channels", NULL, 401, "");
        cluster_pass(&a->c);
}

CLUSTER_MAIN({
    API_TEST(test_channels),
})
