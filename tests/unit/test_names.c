/*
 * Tests for names: the delivery statuses' text both ways, which of them
 * are settled, and what a URN is.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "names.h"
#include "support.h"

/* The texts are those of the store's CHECK constraint on deliveries.status
 * and of docs/protocol.md's status reply, written out here. */
static void
test_delivery_status(void **state)
{
        static const struct {
                const char *text;
                enum delivery_status status;
                bool settled;
        } cases[] = {
                { "pending", DELIVERY_PENDING, false },
                { "sending", DELIVERY_SENDING, false },
                { "delivered", DELIVERY_DELIVERED, true },
                { "retry", DELIVERY_RETRY, false },
                { "failed", DELIVERY_FAILED, true },
        };
        enum delivery_status got;

        (void)state;
        assert_int_equal(DELIVERY_NSTATUS, 5);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_string_equal(names_delivery_status[cases[i].status],
                                    cases[i].text);
                assert_int_equal(
                    names_delivery_status_parse(cases[i].text, &got), 0);
                assert_int_equal(got, cases[i].status);
                assert_int_equal(names_delivery_settled(cases[i].status),
                                 cases[i].settled);
        }
        assert_int_equal(names_delivery_status_parse("given up", &got), -1);
        assert_int_equal(names_delivery_status_parse("Delivered", &got), -1);
        assert_int_equal(names_delivery_status_parse("", &got), -1);
        assert_int_equal(names_delivery_status_parse(NULL, &got), -1);
}

static void
test_urn(void **state)
{
        (void)state;
        assert_true(names_valid_urn("100001"));
        assert_true(names_valid_urn("000000"));
        assert_false(names_valid_urn("10001"));
        assert_false(names_valid_urn("1000011"));
        assert_false(names_valid_urn("10000a"));
        assert_false(names_valid_urn(" 10001"));
        assert_false(names_valid_urn(""));
}

/* A number people give: digits only, within the range, no overflow. */
static void
test_number(void **state)
{
        static const struct {
                const char *text;
                long long min, max;
                int rc;
                long long want;
        } cases[] = {
                { "1", 1, 1000, 0, 1 },
                { "1000", 1, 1000, 0, 1000 },
                { "007", 1, 1000, 0, 7 },
                { "9223372036854775807", 1, LLONG_MAX, 0, LLONG_MAX },
                { "0", 1, 1000, -1, 0 },
                { "1001", 1, 1000, -1, 0 },
                { "9223372036854775808", 1, LLONG_MAX, -1, 0 },
                { "-1", -5, 5, -1, 0 },
                { "+1", 1, 5, -1, 0 },
                { " 1", 1, 5, -1, 0 },
                { "1 ", 1, 5, -1, 0 },
                { "1e3", 1, 5000, -1, 0 },
                { "0x10", 1, 5000, -1, 0 },
                { "", 1, 5, -1, 0 },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                long long got = -42;
                int rc = names_number(cases[i].text, cases[i].min, cases[i].max,
                                      &got);

                if (rc != cases[i].rc ||
                    (rc == 0 ? got != cases[i].want : got != -42))
                        fail_msg("names_number('%s', %lld, %lld): %d, %lld; "
                                 "want %d, %lld",
                                 cases[i].text, cases[i].min, cases[i].max, rc,
                                 got, cases[i].rc,
                                 cases[i].rc == 0 ? cases[i].want : -42);
        }
}

UNIT_MAIN({
    cmocka_unit_test(test_delivery_status),
    cmocka_unit_test(test_urn),
    cmocka_unit_test(test_number),
})
