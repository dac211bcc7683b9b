/*
 * Tests for dispatch_backoff (the wait before a delivery is tried again),
 * dispatch_pace_ms and dispatch_claim (who may settle a delivery).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dispatch.h"
#include "support.h"

#include <stdio.h>
#include <string.h>

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

/* A delivery `status` under lease 5 of "w2", lease 3 having been "w1"'s. */
static struct store_delivery
delivery(enum delivery_status status)
{
        struct store_delivery dl;

        memset(&dl, 0, sizeof(dl));
        dl.status = status;
        dl.lease = 5;
        snprintf(dl.worker, sizeof(dl.worker), "w2");
        snprintf(dl.prev_worker, sizeof(dl.prev_worker), "w1");
        dl.prev_lease = 3;
        return dl;
}

/* A claim on delivery(status) and what it must give. */
struct claim_row {
        enum delivery_status status;
        const char *worker;
        int64_t lease;
        bool delivered;
        enum dispatch_claim want;
};

/*
 * docs/dispatch.md: only the holder of the current lease settles a
 * delivery; the previous holder's delivered is recorded while the
 * delivery is not settled; anyone else's outcome is forged.
 */
static void
test_claim(void **state)
{
        static const struct claim_row rows[] = {
                /* The holder, its lease: applied, whatever the result. */
                { DELIVERY_SENDING, "w2", 5, true, DISPATCH_CLAIM_APPLY },
                { DELIVERY_SENDING, "w2", 5, false, DISPATCH_CLAIM_APPLY },
                /* A peer without READY, another worker, another lease. */
                { DELIVERY_SENDING, NULL, 5, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_SENDING, "", 5, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_SENDING, "w3", 5, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_SENDING, "w2", 4, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_SENDING, "w2", 3, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_SENDING, "w1", 5, true, DISPATCH_CLAIM_FORGED },
                /* Leases older than the previous one: whoever held them is
                 * no longer known; acknowledged, never applied. */
                { DELIVERY_SENDING, "w1", 2, true, DISPATCH_CLAIM_STALE },
                { DELIVERY_SENDING, "w3", 1, true, DISPATCH_CLAIM_STALE },
                { DELIVERY_SENDING, NULL, 1, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_SENDING, "w3", -1, true, DISPATCH_CLAIM_FORGED },
                /* The previous holder: its delivered is recorded, the rest
                 * not. */
                { DELIVERY_SENDING, "w1", 3, true, DISPATCH_CLAIM_LATE },
                { DELIVERY_SENDING, "w1", 3, false, DISPATCH_CLAIM_STALE },
                { DELIVERY_PENDING, "w1", 3, true, DISPATCH_CLAIM_LATE },
                { DELIVERY_RETRY, "w1", 3, true, DISPATCH_CLAIM_LATE },
                /* The holder again after its outcome: a repeat. */
                { DELIVERY_RETRY, "w2", 5, false, DISPATCH_CLAIM_REPEAT },
                /* Settled: never changed; the holders are told to stop. */
                { DELIVERY_DELIVERED, "w1", 3, true, DISPATCH_CLAIM_STALE },
                { DELIVERY_DELIVERED, "w2", 5, true, DISPATCH_CLAIM_REPEAT },
                { DELIVERY_DELIVERED, "w3", 5, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_DELIVERED, NULL, 5, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_DELIVERED, "w3", 2, true, DISPATCH_CLAIM_STALE },
                { DELIVERY_FAILED, "w1", 3, true, DISPATCH_CLAIM_STALE },
                { DELIVERY_FAILED, "w2", 5, true, DISPATCH_CLAIM_REPEAT },
                { DELIVERY_FAILED, "w3", 5, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_FAILED, NULL, 5, true, DISPATCH_CLAIM_FORGED },
                { DELIVERY_FAILED, "w3", 2, true, DISPATCH_CLAIM_STALE },
        };
        struct store_delivery dl;

        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const struct claim_row *r = &rows[i];
                enum dispatch_claim got;

                dl = delivery(r->status);
                got = dispatch_claim(&dl, r->worker, r->lease, r->delivered);
                if (got != r->want)
                        fail_msg("row %zu (status %d, worker '%s', lease "
                                 "%lld, %s): claim %d, want %d",
                                 i, (int)r->status,
                                 r->worker ? r->worker : "(none)",
                                 (long long)r->lease,
                                 r->delivered ? "delivered" : "not delivered",
                                 (int)got, (int)r->want);
        }
        /* Never a holder: nothing matches an empty name. */
        memset(&dl, 0, sizeof(dl));
        dl.status = DELIVERY_PENDING;
        dl.prev_lease = -1;
        assert_int_equal(dispatch_claim(&dl, "w1", 0, true),
                         DISPATCH_CLAIM_FORGED);
}

UNIT_MAIN({
    cmocka_unit_test(test_retry_after),
    cmocka_unit_test(test_exponential),
    cmocka_unit_test(test_jitter),
    cmocka_unit_test(test_pace),
    cmocka_unit_test(test_claim),
})
