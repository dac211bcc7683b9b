/*
 * Tests for receipts: the Pushover emergencies a worker polls. Which is
 * due when (5 s apart, longer for a Retry-After), and what a poll's answer
 * means: acknowledged (by whom, when), not yet, expired, past expires_at,
 * refused; a reply that cannot be read is polled again, not dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "receipts.h"
#include "support.h"

#include <stdlib.h>
#include <string.h>

#define NOW    1700000000
#define NOW_MS 500000
#define WAITING                                                   \
        "{\"status\":1,\"acknowledged\":0,\"acknowledged_at\":0," \
        "\"acknowledged_by\":\"\",\"expired\":0,\"expires_at\":1700003600}"

static enum receipt_step
poll_says(struct receipt *r, enum outcome o, long retry_after, const char *body,
          int64_t now, struct pushover_receipt *pr, char **why)
{
        return receipts_polled(r, o, retry_after, body,
                               body != NULL ? strlen(body) : 0, now, NOW_MS, pr,
                               why);
}

/* Added, a receipt is due 5 s later; a second add of the same delivery
 * keeps one entry, with the newer receipt. */
static void
test_add_and_due(void **state)
{
        struct receipts rs = { 0 };
        struct receipt *r;

        (void)state;
        assert_int_equal(receipts_next_ms(&rs), -1);
        receipts_add(&rs, "d1", "po", "rA", NOW + 3660, NOW_MS);
        receipts_add(&rs, "d2", "po", "rB", NOW + 3660, NOW_MS + 1000);
        assert_int_equal(receipts_next_ms(&rs), NOW_MS + 5000);
        receipts_add(&rs, "d1", "po", "rC", NOW + 3660, NOW_MS + 2000);
        assert_int_equal(rs.n, 2);
        r = receipts_find(&rs, "d1");
        assert_non_null(r);
        assert_string_equal(r->id, "rC");
        assert_int_equal(receipts_next_ms(&rs), NOW_MS + 6000);
        /* One under way is not due again. */
        receipts_find(&rs, "d2")->polling = true;
        assert_int_equal(receipts_next_ms(&rs), NOW_MS + 7000);
        receipts_drop(&rs, receipts_find(&rs, "d2"));
        assert_null(receipts_find(&rs, "d2"));
        receipts_clear(&rs);
        assert_int_equal(rs.n, 0);
}

static void
test_polled(void **state)
{
        struct receipts rs = { 0 };
        struct pushover_receipt pr;
        struct receipt *r;
        char *why = NULL;

        (void)state;
        receipts_add(&rs, "d1", "po", "rA", NOW + 60, NOW_MS);
        r = receipts_find(&rs, "d1");

        /* Not yet: 5 s on, and its expires_at now Pushover's. */
        r->polling = true;
        assert_int_equal(
            poll_says(r, OUTCOME_DELIVERED, -1, WAITING, NOW, &pr, &why),
            RECEIPT_WAIT);
        assert_false(r->polling);
        assert_int_equal(r->next_ms, NOW_MS + 5000);
        assert_int_equal(r->expires_at, 1700003600);
        /* Throttled: Retry-After, never sooner than 5 s. */
        assert_int_equal(poll_says(r, OUTCOME_RETRY, 30, "", NOW, &pr, &why),
                         RECEIPT_WAIT);
        assert_int_equal(r->next_ms, NOW_MS + 30000);
        assert_int_equal(poll_says(r, OUTCOME_RETRY, 1, "", NOW, &pr, &why),
                         RECEIPT_WAIT);
        assert_int_equal(r->next_ms, NOW_MS + 5000);
        /* Unreadable: polled again. */
        assert_int_equal(poll_says(r, OUTCOME_DELIVERED, -1, "{\"status\":1}",
                                   NOW, &pr, &why),
                         RECEIPT_WAIT);
        assert_null(why);
        /* Acknowledged: by whom and when. */
        assert_int_equal(
            poll_says(r, OUTCOME_DELIVERED, -1,
                      "{\"status\":1,\"acknowledged\":1,\"acknowledged_at\":"
                      "1700000100,\"acknowledged_by\":\"uMember\","
                      "\"expired\":0,\"expires_at\":1700003600}",
                      NOW, &pr, &why),
            RECEIPT_ACKED);
        assert_string_equal(pr.acknowledged_by, "uMember");
        assert_int_equal(pr.acknowledged_at, 1700000100);

        /* Expired at Pushover; past its expiry here; refused. */
        assert_int_equal(
            poll_says(r, OUTCOME_DELIVERED, -1,
                      "{\"status\":1,\"acknowledged\":0,\"expired\":1,"
                      "\"expires_at\":1700000050}",
                      NOW, &pr, &why),
            RECEIPT_DROP);
        assert_string_equal(why, "it expired unacknowledged");
        free(why);
        why = NULL;
        assert_int_equal(
            poll_says(r, OUTCOME_RETRY, -1, "", 1700003601, &pr, &why),
            RECEIPT_DROP);
        assert_string_equal(why, "it is past its expiry");
        free(why);
        why = NULL;
        assert_int_equal(poll_says(r, OUTCOME_FAILED, -1,
                                   "{\"status\":0,\"errors\":[\"receipt not "
                                   "found\"]}",
                                   NOW, &pr, &why),
                         RECEIPT_DROP);
        assert_non_null(why);
        free(why);
        receipts_clear(&rs);
}

UNIT_MAIN({
    cmocka_unit_test(test_add_and_due),
    cmocka_unit_test(test_polled),
})
