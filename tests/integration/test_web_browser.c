/*
 * The pages in a real browser (tests/browser/pages.py: Debian's chromium,
 * chromium-driver and python3-selenium) against the real scheduler, an
 * email worker, smtpsink and the web process started here (api.h). The
 * script's screenshots are kept under the build directory
 * (BROWSER_SHOTS), not committed. Without a browser it exits 77, and so
 * does this test (CTest: skipped) — except under CI=true, where the
 * script fails instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <stdio.h>
#include <stdlib.h>

/* Shown as text by the pages, never run. */
#define NAME "Oak Primary <script>alert(1)</script>"

static bool skipped;

static int
setup(void **state)
{
        static const struct api_world w = {
                .mail = true,
                .web = "signin = [ \"email\" ];",
                .oak_name = NAME,
                /* First in the config and by name, but no inspection:
                 * the trust's list puts Oak's inspection above it. */
                .first_school = "urn = \"100003\"; name = \"Alder "
                                "Infant\"; channels = [ \"it\" ];",
        };

        return api_setup_with(state, &w);
}

static int
teardown(void **state)
{
        return api_teardown(state);
}

static void
test_pages_in_a_browser(void **state)
{
        struct api *a = *state;
        char url[64];
        char *argv[] = { "/usr/bin/python3",
                         SOURCE_DIR "/tests/browser/pages.py",
                         "--url",
                         url,
                         "--spool",
                         a->c.spool,
                         "--shots",
                         BROWSER_SHOTS,
                         "--holidays",
                         CLUSTER_HOLIDAYS,
                         "--school-name",
                         NAME,
                         NULL };
        struct proc_result r;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d", a->c.web_port);
        assert_int_equal(proc_run(argv, NULL, &r), 0);
        fprintf(stderr, "%s%s", r.out, r.err);
        if (r.status == 77) {
                skipped = true;
                proc_result_free(&r);
                return;
        }
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pages_in_a_browser, setup,
                                                teardown),
        };
        int rc = CLUSTER_RUN(tests, NULL, NULL);

        return rc == 0 && skipped ? 77 : rc;
}
