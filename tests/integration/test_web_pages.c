/*
 * ofsted-notify-web's pages without a browser: each served whole from
 * the pages' directory with the policy that lets only this site's own
 * scripts run; no data in the HTML; a school's name with markup in it
 * reaches the page only as JSON text, and the scripts put text only
 * through textContent (the browser test sees it shown as text).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVIL "Oak <script>alert(1)</script> & \\\"Primary\\\""

static int
setup(void **state)
{
        static const struct api_world w = {
                .web = "signin = [ \"proxy\" ]; "
                       "proxy_trusted = [ \"127.0.0.1\" ];",
                .oak_name = EVIL,
        };

        return api_setup_with(state, &w);
}

static int
teardown(void **state)
{
        return api_teardown(state);
}

/* Every page: HTML, the policy, the shared layout, scripts by src only. */
static void
test_pages_served(void **state)
{
        static const char *const paths[] = { "/", "/schools/" OAK, "/cases/1",
                                             "/signin" };
        struct api *a = *state;
        struct api_resp r;
        char v[256];

        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                const char *p;

                api_get(a, paths[i], NULL, &r);
                assert_int_equal(r.status, 200);
                assert_true(api_header(&r, "Content-Type", v, sizeof(v)));
                assert_string_equal(v, "text/html; charset=utf-8");
                assert_true(
                    api_header(&r, "Content-Security-Policy", v, sizeof(v)));
                assert_non_null(strstr(v, "default-src 'self'"));
                assert_non_null(strstr(r.body, "<main id=\"main\""));
                assert_non_null(strstr(r.body, "href=\"/static/style.css\""));
                assert_non_null(
                    strstr(r.body, "<script src=\"/static/common.js\" defer>"));
                /* No inline script: every <script has a src. */
                for (p = strstr(r.body, "<script"); p != NULL;
                     p = strstr(p + 1, "<script"))
                        assert_memory_equal(p, "<script src=", 12);
                /* No data: the school's name is not in the HTML. */
                assert_null(strstr(r.body, "Oak"));
                api_resp_free(&r);
        }
        api_get(a, "/static/common.js", NULL, &r);
        assert_int_equal(r.status, 200);
        assert_true(api_header(&r, "Content-Type", v, sizeof(v)));
        assert_string_equal(v, "text/javascript; charset=utf-8");
        api_resp_free(&r);
        api_get_want(a, "/static/nothing.js", NULL, 404, "no such file");
        api_get(a, "/static/..%2flayout.html", NULL, &r);
        assert_int_equal(r.status, 404);
        api_resp_free(&r);
}

/*
 * The name with markup is data: the API gives it as a JSON string, and
 * no script of the pages writes HTML (innerHTML and its kin), so the
 * browser can only show it as text.
 */
static void
test_markup_is_text(void **state)
{
        static const char *const sinks[] = { "innerHTML", "outerHTML",
                                             "insertAdjacentHTML",
                                             "document.write", "eval(" };
        struct api *a = *state;
        const char *headers[] = { "X-Auth-Request-Email: ceo@trust.example",
                                  NULL };
        struct api_req q = { "GET",  "/api/v1/schools", NULL, NULL, NULL, 0,
                             headers };
        struct api_resp r;
        DIR *d;
        struct dirent *de;
        int scripts = 0;

        api_request(a, &q, &r);
        api_want(&r, 200, NULL);
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(r.json, "schools"), 0), "name")),
            "Oak <script>alert(1)</script> & \"Primary\"");
        api_resp_free(&r);

        d = opendir(SOURCE_DIR "/web/pages");
        assert_non_null(d);
        while ((de = readdir(d)) != NULL) {
                size_t n = strlen(de->d_name);

                if (n < 3 || strcmp(de->d_name + n - 3, ".js") != 0)
                        continue;
                scripts++;
                q.path = NULL;
                {
                        char path[sizeof(de->d_name) + 16];

                        snprintf(path, sizeof(path), "/static/%s", de->d_name);
                        api_get(a, path, NULL, &r);
                }
                assert_int_equal(r.status, 200);
                for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
                        if (strstr(r.body, sinks[i]) != NULL)
                                fail_msg("%s uses %s", de->d_name, sinks[i]);
                api_resp_free(&r);
        }
        closedir(d);
        assert_true(scripts >= 4);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_pages_served),
    CLUSTER_TEST(test_markup_is_text),
})
