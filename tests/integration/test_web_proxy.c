/*
 * ofsted-notify-web behind a proxy (oauth2-proxy): the user header
 * counts only from a peer of web.proxy_trusted; from any other it is
 * ignored, and said so once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <string.h>

/* The tests' peer is 127.0.0.1: not in 10.0.0.0/8. */
static int
setup_untrusted(void **state)
{
        static const struct api_world w = {
                .web = "signin = [ \"proxy\" ]; "
                       "proxy_trusted = [ \"10.0.0.0/8\", \"::1\" ];",
        };

        return api_setup_with(state, &w);
}

static int
setup_trusted(void **state)
{
        static const struct api_world w = {
                .web = "signin = [ \"proxy\" ]; "
                       "proxy_trusted = [ \"127.0.0.0/8\" ];",
        };

        return api_setup_with(state, &w);
}

static int
teardown(void **state)
{
        return api_teardown(state);
}

static void
get_as(struct api *a, const char *header, struct api_resp *r)
{
        const char *headers[] = { header, NULL };
        struct api_req q = {
                "GET", "/api/v1/me", NULL, NULL, NULL, 0, headers
        };

        api_request(a, &q, r);
}

/* From an untrusted peer the header is nobody: 401, logged once. */
static void
test_untrusted_ignored(void **state)
{
        struct api *a = *state;
        struct api_resp r;

        get_as(a, "X-Auth-Request-Email: ceo@trust.example", &r);
        api_want(&r, 401, "no credentials");
        api_resp_free(&r);
        cluster_wait_log(a->c.weblog,
                         "header X-Auth-Request-Email from '127.0.0.1', not "
                         "a peer of web.proxy_trusted, ignoring (said once)",
                         1, 10000);
        get_as(a, "X-Auth-Request-Email: ceo@trust.example", &r);
        api_want(&r, 401, "no credentials");
        api_resp_free(&r);
        assert_int_equal(cluster_log_count(a->c.weblog, "ignoring (said once)"),
                         1);
}

/* From a trusted peer it names the user; one not in `users` is 403. */
static void
test_trusted_honoured(void **state)
{
        struct api *a = *state;
        struct api_resp r;

        get_as(a, "X-Auth-Request-Email: ceo@trust.example", &r);
        api_want(&r, 200, NULL);
        assert_string_equal(json_string_value(json_object_get(r.json, "actor")),
                            "user:ceo@trust.example");
        assert_string_equal(
            json_string_value(json_object_get(r.json, "signin")), "proxy");
        api_resp_free(&r);
        get_as(a, "X-Auth-Request-Email: stranger@elsewhere.example", &r);
        api_want(&r, 403, "not one of this service's users");
        api_resp_free(&r);
}

CLUSTER_MAIN({
    cmocka_unit_test_setup_teardown(test_untrusted_ignored, setup_untrusted,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_trusted_honoured, setup_trusted,
                                    teardown),
})
