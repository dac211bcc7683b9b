/*
 * Tests for dispatch_backoff: the wait before a delivery is tried again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dispatch.h"

/* The server's Retry-After wins, clamped to 1 s .. 1 h, without jitter. */
static void
test_retry_after(void **state)
{
        (void)state;
        assert_int_equal(dispatch_backoff(1, 2, 30, 0.99), 2);
        assert_int_equal(dispatch_backoff(5, 0, 30, 0.5), 1);
        assert_int_equal(dispatch_backoff(1, 7200, 30, 0.0), 3600);
        assert_int_equal(dispatch_backoff(3, 120, 30, 0.5), 120);
}

/* Without one: base x 2^(attempts-1), at most an hour; u = 0.5 is x1.0. */
static void
test_exponential(void **state)
{
        (void)state;
        assert_int_equal(dispatch_backoff(1, -1, 30, 0.5), 30);
        assert_int_equal(dispatch_backoff(2, -1, 30, 0.5), 60);
        assert_int_equal(dispatch_backoff(3, -1, 30, 0.5), 120);
        assert_int_equal(dispatch_backoff(7, -1, 30, 0.5), 1920);
        assert_int_equal(dispatch_backoff(8, -1, 30, 0.5), 3600);
        assert_int_equal(dispatch_backoff(40, -1, 30, 0.5), 3600);
        assert_int_equal(dispatch_backoff(1, -1, 1, 0.5), 1);
        assert_int_equal(dispatch_backoff(4, -1, 1, 0.5), 8);
}

/* Jitter stays within 0.8 .. 1.2 of the base. */
static void
test_jitter(void **state)
{
        (void)state;
        assert_int_equal(dispatch_backoff(1, -1, 100, 0.0), 80);
        assert_int_equal(dispatch_backoff(1, -1, 100, 0.999999), 120);
        for (int i = 0; i < 100; i++) {
                int64_t v = dispatch_backoff(2, -1, 30, i / 100.0);

                assert_in_range(v, 48, 72);
        }
}

/* Pacing follows the services' documented limits; others are free. */
static void
test_pace(void **state)
{
        (void)state;
        assert_int_equal(dispatch_pace_ms("slack"), 1000);
        assert_int_equal(dispatch_pace_ms("teams"), 250);
        assert_int_equal(dispatch_pace_ms("google_chat"), 1000);
        assert_int_equal(dispatch_pace_ms("discord"), 400);
        assert_int_equal(dispatch_pace_ms("mattermost"), 0);
        assert_int_equal(dispatch_pace_ms("webhook"), 0);
        assert_int_equal(dispatch_pace_ms("email"), 0);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_retry_after),
                cmocka_unit_test(test_exponential),
                cmocka_unit_test(test_jitter),
                cmocka_unit_test(test_pace),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
