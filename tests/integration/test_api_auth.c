/*
 * ofsted-notify-web (api.h): who may ask. No token, a bad one, a revoked
 * one (401); /healthz without one; the scheduler stopped (503) and back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <signal.h>
#include <string.h>

static int
setup(void **state)
{
        return api_setup(state);
}

static int
teardown(void **state)
{
        return api_teardown(state);
}

/* No Authorization, another scheme, a made-up token: 401 each. */
static void
test_no_or_bad_token(void **state)
{
        struct api *a = *state;
        struct api_resp r;

        api_get(a, "/api/v1/schools", NULL, &r);
        api_want(&r, 401, "no credentials");
        api_resp_free(&r);
        api_get(a, "/api/v1/schools",
                "ont_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r);
        api_want(&r, 401, "unknown or revoked token");
        api_resp_free(&r);
        api_get(a, "/api/v1/schools", "not-even-a-token", &r);
        api_want(&r, 401, "unknown or revoked token");
        api_resp_free(&r);
        /* A token's text is not its feed key. */
        {
                char path[128];

                snprintf(path, sizeof(path), "/api/v1/calendar.ics?key=%s",
                         a->trust);
                api_get(a, path, NULL, &r);
                api_want(&r, 401, "unknown or revoked token");
                api_resp_free(&r);
        }
}

/* token revoke: the token, and its calendar feed, are refused at once. */
static void
test_revoked_token(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        struct proc_result p;
        char path[256];
        const char *url;

        api_get(a, "/api/v1/feed", a->trust, &r);
        api_want(&r, 200, NULL);
        url = json_string_value(json_object_get(r.json, "url"));
        assert_non_null(url);
        assert_non_null(strstr(url, "https://alerts.test.example/api/v1/"
                                    "calendar.ics?key=ont_"));
        snprintf(path, sizeof(path), "%s", strstr(url, "/api/v1/"));
        api_resp_free(&r);
        api_get(a, path, NULL, &r);
        api_want(&r, 200, NULL);
        assert_non_null(strstr(r.body, "BEGIN:VCALENDAR"));
        api_resp_free(&r);

        p = cluster_ctl(&a->c, "token", "revoke", "trust", NULL);
        assert_int_equal(p.status, 0);
        assert_non_null(strstr(p.out, "Token 'trust' revoked."));
        proc_result_free(&p);
        api_get(a, "/api/v1/schools", a->trust, &r);
        api_want(&r, 401, "unknown or revoked token");
        api_resp_free(&r);
        api_get(a, path, NULL, &r);
        api_want(&r, 401, "unknown or revoked token");
        api_resp_free(&r);
        /* The list no longer shows it; the others still work. */
        p = cluster_ctl(&a->c, "token", "list", "--json", NULL);
        assert_int_equal(p.status, 0);
        assert_null(strstr(p.out, "\"trust\""));
        assert_non_null(strstr(p.out, "\"admin\""));
        assert_null(strstr(p.out, "ont_"));
        proc_result_free(&p);
        api_get(a, "/api/v1/schools", a->admin, &r);
        api_want(&r, 200, NULL);
        api_resp_free(&r);
}

/* /healthz needs no token; with the scheduler stopped it says so, and
 * the API answers 503; with it back, 200. */
static void
test_daemon_down_and_back(void **state)
{
        struct api *a = *state;
        struct api_resp r;

        api_get(a, "/healthz", NULL, &r);
        api_want(&r, 200, NULL);
        assert_true(json_is_true(json_object_get(r.json, "ok")));
        assert_true(json_is_true(json_object_get(r.json, "daemon")));
        api_resp_free(&r);

        assert_int_equal(cluster_daemon_stop(&a->c, SIGTERM), 0);
        api_get(a, "/healthz", NULL, &r);
        api_want(&r, 200, NULL);
        assert_true(json_is_false(json_object_get(r.json, "daemon")));
        api_resp_free(&r);
        api_get(a, "/api/v1/schools", a->admin, &r);
        api_want(&r, 503, "the scheduler does not answer");
        api_resp_free(&r);

        cluster_daemon_start(&a->c, NULL);
        api_get(a, "/api/v1/schools", a->admin, &r);
        api_want(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.json, "schools")),
                         2);
        api_resp_free(&r);
        api_get(a, "/healthz", NULL, &r);
        assert_true(json_is_true(json_object_get(r.json, "daemon")));
        api_resp_free(&r);
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                CLUSTER_TEST(test_no_or_bad_token),
                CLUSTER_TEST(test_revoked_token),
                CLUSTER_TEST(test_daemon_down_and_back),
        };

        return CLUSTER_MAIN(tests);
}
