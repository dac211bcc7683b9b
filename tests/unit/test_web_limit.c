/*
 * Tests for the sign-in limits (web/limit.h): per address (case aside)
 * and per client, a refusal told once a window, a new window after
 * LIMIT_WINDOW, a client's refusal not spending the address's count, and
 * the oldest window dropped when a table is full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "limit.h"
#include "support.h"

#include <stdio.h>

#define T0 1000000

static int
setup(void **state)
{
        *state = limits_new();
        return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
        struct limits *l = *state;

        limits_destroy(&l);
        return 0;
}

static enum limit_verdict
ask(struct limits *l, const char *email, const char *client, int64_t now,
    bool *first)
{
        int64_t until;

        return limit_signin(l, email, client, now, first, &until);
}

/* Three to an address, in any case; the fourth refused, told once; a
 * new window after LIMIT_WINDOW. */
static void
test_address(void **state)
{
        struct limits *l = *state;
        bool first;
        int64_t until;

        for (int i = 0; i < LIMIT_PER_ADDRESS; i++)
                assert_int_equal(ask(l, i ? "a@x.example" : "A@X.example",
                                     "192.0.2.1", T0 + i, &first),
                                 LIMIT_OK);
        assert_int_equal(limit_signin(l, "a@x.example", "192.0.2.2", T0 + 10,
                                      &first, &until),
                         LIMIT_ADDRESS);
        assert_true(first);
        assert_int_equal(until, T0 + LIMIT_WINDOW);
        assert_int_equal(ask(l, "a@x.example", "192.0.2.3", T0 + 11, &first),
                         LIMIT_ADDRESS);
        assert_false(first);
        assert_int_equal(ask(l, "b@x.example", "192.0.2.3", T0 + 12, &first),
                         LIMIT_OK);
        assert_int_equal(
            ask(l, "a@x.example", "192.0.2.3", T0 + LIMIT_WINDOW, &first),
            LIMIT_OK);
}

/* Ten from a client; the eleventh refused, and it does not count against
 * the address it named. */
static void
test_client(void **state)
{
        struct limits *l = *state;
        char email[64];
        bool first;

        for (int i = 0; i < LIMIT_PER_CLIENT; i++) {
                snprintf(email, sizeof(email), "u%d@x.example", i);
                assert_int_equal(ask(l, email, "192.0.2.1", T0, &first),
                                 LIMIT_OK);
        }
        for (int i = 0; i < LIMIT_PER_ADDRESS + 1; i++) {
                assert_int_equal(ask(l, "a@x.example", "192.0.2.1", T0, &first),
                                 LIMIT_CLIENT);
                assert_true(first == (i == 0));
        }
        for (int i = 0; i < LIMIT_PER_ADDRESS; i++)
                assert_int_equal(ask(l, "a@x.example", "192.0.2.9", T0, &first),
                                 LIMIT_OK);
}

/* A full table drops the oldest window: its address starts again. */
static void
test_full(void **state)
{
        struct limits *l = *state;
        char email[64], client[64];
        bool first;

        for (int i = 0; i < LIMIT_PER_ADDRESS; i++)
                assert_int_equal(
                    ask(l, "old@x.example", "192.0.2.1", T0, &first), LIMIT_OK);
        for (int i = 0; i < LIMIT_MAX_ADDRESSES; i++) {
                snprintf(email, sizeof(email), "u%d@x.example", i);
                snprintf(client, sizeof(client), "10.0.%d.%d", i / 256,
                         i % 256);
                assert_int_equal(ask(l, email, client, T0 + 1, &first),
                                 LIMIT_OK);
        }
        assert_int_equal(ask(l, "old@x.example", "192.0.2.2", T0 + 2, &first),
                         LIMIT_OK);
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_address, setup, teardown),
    cmocka_unit_test_setup_teardown(test_client, setup, teardown),
    cmocka_unit_test_setup_teardown(test_full, setup, teardown),
})
