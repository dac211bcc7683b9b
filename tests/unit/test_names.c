/*
 * Tests for names: the delivery statuses' text both ways, which of them
 * are settled, and what a URN is.
 */
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

UNIT_MAIN({
    cmocka_unit_test(test_delivery_status),
    cmocka_unit_test(test_urn),
})
