/*
 * Tests for store: deliveries, their leases and holders, and a JOB's rows.
 * The store is a real SQLite file in a scratch directory (store_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store.h"
#include "store_fixture.h"
#include "support.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- Deliveries ----------------------------------------------------------- */

/*
 * A case, its event and alert at 1000/2000, and a delivery of it on
 * "heads": the delivery's id; the alert's in *alert unless NULL.
 */
static int64_t
new_chain(struct fixture *f, int64_t *alert)
{
        int64_t c = new_case(f, "100001", 1000);
        int64_t e = new_event(f, c, "pause", 1000);
        int64_t a = new_alert(f, c, e, "pause_limit", 2000);

        if (alert != NULL)
                *alert = a;
        return new_delivery(f, a, "heads", 2000);
}

/*
 * store_delivery_lease() of delivery d as read at lease `from`, to worker
 * until `until`: the new lease, or -1 with the cause cleared.
 */
static int64_t
lease(struct fixture *f, int64_t d, int64_t from, const char *worker,
      int64_t until, int64_t now)
{
        char *cause = NULL;
        int64_t r = store_delivery_lease(
            f->st, &(struct store_ready){ .id = d, .lease = from }, worker,
            until, now, &cause);

        free(cause);
        return r;
}

/* store_delivery_finish() of d with outcome o: 0, or -1 with the cause cleared.
 */
static int
finish(struct fixture *f, int64_t d, struct store_outcome o, int64_t now)
{
        char *cause = NULL;
        int r = store_delivery_finish(f->st, d, &o, now, &cause);

        free(cause);
        return r;
}

static void
test_delivery_uids(void **state)
{
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c = new_case(f, "100001", t), e = new_event(f, c, "n", t);
        int64_t a = new_alert(f, c, e, "r", t);
        int64_t d[3];
        char uid[3][64], *cause = NULL;
        sqlite3 *db;

        for (int i = 0; i < 3; i++) {
                d[i] = new_delivery(f, a, "heads", t);
                assert_true(i == 0 || d[i] > d[i - 1]);
        }
        db = raw_open(f->path);
        for (int i = 0; i < 3; i++) {
                raw_delivery_uid(db, d[i], uid[i], sizeof(uid[i]));
                assert_int_equal(strlen(uid[i]), 32);
                assert_int_equal(strspn(uid[i], "0123456789abcdef"), 32);
        }
        assert_string_not_equal(uid[0], uid[1]);
        assert_string_not_equal(uid[0], uid[2]);
        assert_string_not_equal(uid[1], uid[2]);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM deliveries WHERE "
                                     "status = 'pending' AND attempts = 0"),
                         3);
        sqlite3_close(db);

        assert_int_equal(
            store_delivery_add(f->st, 999, "heads", "email", t, &cause), -1);
        assert_string_equal(cause,
                            "insert delivery: FOREIGN KEY constraint failed");
        free(cause);
}

/*
 * A JOB's rows (docs/dispatch.md), typed: the delivery's uid, lease,
 * attempt, channel and type, and its alert with the case's contact, the
 * plan's warning and times in UTC seconds as stored; text with quotes,
 * backslashes and non-ASCII characters intact; NULL for what is absent.
 * The same alert read alone is the same row.
 */
static void
test_job_read(void **state)
{
        static const char contact[] =
            "Jo \"SOL\" O'Neil \\ 0300 \xe2\x80\x94 ok";
        struct fixture *f = *state;
        struct store_job job;
        struct store_alert_row row;
        char *cause = NULL, uid[64];
        int64_t c, e, a1, a2, d1, d2;
        sqlite3 *db;

        c = new_case(f, "100001", T("2024-03-04T10:00:00Z"));
        assert_int_equal(store_case_set_contact(f->st, c, contact, &cause), 0);
        e = new_event(f, c, "notification", T("2024-03-04T10:00:00Z"));
        a1 = new_alert_full(f, c, e, "deferral", "-60m",
                            T("2024-03-04T15:30:00Z"), 0, "s1");
        a2 = new_alert_warned(
            f, c, e, "resume", "event", T("2024-07-01T09:00:00Z"),
            T("2024-07-02T08:00:00Z"), "s2", "check \"the\" date");
        fire(f, a1, T("2024-03-04T15:30:00Z"), false);
        fire(f, a2, T("2024-07-01T09:05:00Z"), true);
        d1 = new_delivery(f, a1, "heads", T("2024-03-04T15:30:00Z"));
        d2 = new_delivery(f, a2, "trust", T("2024-07-01T09:05:00Z"));
        assert_int_equal(lease(f, d1, 0, "w", T("2024-03-04T15:31:00Z"),
                               T("2024-03-04T15:30:00Z")),
                         1);

        assert_int_equal(store_job_read(f->st, d1, &job, &cause), 0);
        db = raw_open(f->path);
        assert_int_equal(d1, 1);
        raw_delivery_uid(db, 1, uid, sizeof(uid));
        sqlite3_close(db);
        assert_string_equal(job.uid, uid);
        assert_int_equal(job.lease, 1);
        assert_int_equal(job.attempt, 1);
        assert_string_equal(job.channel, "heads");
        assert_string_equal(job.type, "email");
        assert_int_equal(job.alert.a.id, a1);
        assert_int_equal(job.alert.a.case_id, c);
        assert_int_equal(job.alert.a.event_id, e);
        assert_string_equal(job.alert.a.urn, "100001");
        assert_string_equal(job.alert.a.rule, "deferral");
        assert_string_equal(job.alert.a.offset, "-60m");
        assert_false(job.alert.late);
        assert_int_equal(job.alert.a.at, T("2024-03-04T15:30:00Z"));
        /* new_alert_full() sets the deadline an hour after the alert. */
        assert_int_equal(job.alert.a.due, T("2024-03-04T16:30:00Z"));
        assert_int_equal(job.alert.a.opens, 0);
        assert_string_equal(job.alert.contact, contact);
        assert_null(job.alert.warning);
        store_alert_row_clear(&job.alert);
        assert_null(job.alert.contact);

        assert_int_equal(store_job_read(f->st, d2, &job, &cause), 0);
        assert_int_equal(job.lease, 0);
        assert_int_equal(job.attempt, 0);
        assert_string_equal(job.channel, "trust");
        assert_int_equal(job.alert.a.id, a2);
        assert_string_equal(job.alert.a.rule, "resume");
        assert_string_equal(job.alert.a.offset, "event");
        assert_true(job.alert.late);
        assert_int_equal(job.alert.a.at, T("2024-07-01T09:00:00Z"));
        assert_int_equal(job.alert.a.due, T("2024-07-01T10:00:00Z"));
        assert_int_equal(job.alert.a.opens, T("2024-07-02T08:00:00Z"));
        assert_string_equal(job.alert.warning, "check \"the\" date");

        assert_int_equal(store_alert_read(f->st, a2, &row, &cause), 0);
        assert_int_equal(row.a.id, a2);
        assert_int_equal(row.a.case_id, job.alert.a.case_id);
        assert_string_equal(row.a.urn, job.alert.a.urn);
        assert_string_equal(row.a.rule, job.alert.a.rule);
        assert_string_equal(row.a.offset, job.alert.a.offset);
        assert_true(row.late == job.alert.late);
        assert_int_equal(row.a.at, job.alert.a.at);
        assert_int_equal(row.a.due, job.alert.a.due);
        assert_int_equal(row.a.opens, job.alert.a.opens);
        assert_string_equal(row.contact, contact);
        assert_string_equal(row.warning, job.alert.warning);
        store_alert_row_clear(&row);
        store_alert_row_clear(&job.alert);

        assert_int_equal(store_job_read(f->st, 99, &job, &cause), -1);
        assert_string_equal(cause, "read job: no delivery 99");
        free(cause);
        cause = NULL;
        assert_int_equal(store_alert_read(f->st, 99, &row, &cause), -1);
        assert_string_equal(cause, "read alert: no alert 99");
        free(cause);
}

/* A case without contact details: the row says so with NULL. */
static void
test_job_read_no_contact(void **state)
{
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c = new_case(f, "100002", t), e = new_event(f, c, "n", t);
        int64_t a = new_alert(f, c, e, "r", t);
        int64_t d = new_delivery(f, a, "heads", t);
        struct store_job job;
        char *cause = NULL;

        assert_int_equal(store_job_read(f->st, d, &job, &cause), 0);
        assert_null(job.alert.contact);
        assert_string_equal(job.alert.a.urn, "100002");
        store_alert_row_clear(&job.alert);
}

/*
 * Expiring leases takes the write lock only when one has run out, so the
 * scheduler's pass over it costs nothing while another process holds the
 * lock and nothing is due.
 */
static void
test_expire_reads_first(void **state)
{
        struct fixture *f = *state;
        sqlite3 *other = raw_open(f->path);
        char *cause = NULL;
        int64_t d = new_chain(f, NULL);

        assert_int_equal(lease(f, d, 0, "w", 2060, 2000), 1);
        raw_exec(other, "BEGIN IMMEDIATE");
        assert_int_equal(
            store_deliveries_expire(f->st, 2059, NULL, NULL, &cause), 0);
        assert_int_equal(store_fault(f->st, NULL), STORE_OK);
        raw_exec(other, "ROLLBACK");
        assert_int_equal(
            store_deliveries_expire(f->st, 2060, NULL, NULL, &cause), 1);
        assert_null(cause);
        sqlite3_close(other);
}

/* store_deliveries_expire()'s callback: appends the worker's name. */
static void
note_worker(const char *worker, void *arg)
{
        strcat(arg, worker);
        strcat(arg, ";");
}

/* The delivery with public id of row `id`, as the dispatch reads it. */
static void
find_row(struct fixture *f, int64_t id, struct store_delivery *dl)
{
        sqlite3 *db = raw_open(f->path);
        char uid[64], *cause = NULL;

        raw_delivery_uid(db, id, uid, sizeof(uid));
        sqlite3_close(db);
        assert_int_equal(store_delivery_find(f->st, uid, dl, &cause), 0);
}

/*
 * Who holds a delivery's lease, and who held the one before: a lease that
 * runs out names its worker and makes it the previous holder; an outcome
 * leaves its worker as the holder; the next lease makes that one the
 * previous holder. Attempts count the receiver's answers only, `sent`
 * (the JOB's "attempt") the leases; a local retry counts as held, and a
 * reload's unhold makes it due.
 */
static void
test_delivery_holders(void **state)
{
        struct fixture *f = *state;
        struct store_delivery dl;
        sqlite3 *db = raw_open(f->path);
        char *cause = NULL, names[64] = "";
        int64_t d = new_chain(f, NULL);
        json_t *v, *held;

        assert_int_equal(lease(f, d, 0, "w1", 2060, 2000), 1);
        find_row(f, d, &dl);
        assert_string_equal(dl.worker, "w1");
        assert_int_equal(dl.lease, 1);
        assert_string_equal(dl.prev_worker, "");
        assert_int_equal(dl.prev_lease, -1);

        /* It runs out: w1 named, and now the previous holder. */
        assert_int_equal(
            store_deliveries_expire(f->st, 2060, note_worker, names, &cause),
            1);
        assert_string_equal(names, "w1;");
        find_row(f, d, &dl);
        assert_int_equal(dl.status, DELIVERY_PENDING);
        assert_string_equal(dl.worker, "");
        assert_int_equal(dl.lease, 2);
        assert_string_equal(dl.prev_worker, "w1");
        assert_int_equal(dl.prev_lease, 1);
        assert_int_equal(dl.attempts, 0);

        /* w2 leases it: w1 stays the previous holder. */
        assert_int_equal(lease(f, d, 2, "w2", 2120, 2061), 3);
        find_row(f, d, &dl);
        assert_string_equal(dl.worker, "w2");
        assert_string_equal(dl.prev_worker, "w1");
        assert_int_equal(dl.prev_lease, 1);

        /* The receiver says retry: counted; w2 stays with lease 3. */
        assert_int_equal(
            finish(f, d,
                   (struct store_outcome){ DELIVERY_RETRY, 2070, "503", true,
                                           false, NULL, 0 },
                   2062),
            0);
        find_row(f, d, &dl);
        assert_int_equal(dl.status, DELIVERY_RETRY);
        assert_string_equal(dl.worker, "w2");
        assert_int_equal(dl.lease, 3);
        assert_int_equal(dl.attempts, 1);
        assert_int_equal(dl.held, 0);

        /* w3 leases it: w2 becomes the previous holder. A local retry is
         * not counted as an attempt, and holds it. */
        assert_int_equal(lease(f, d, 3, "w3", 2130, 2070), 4);
        find_row(f, d, &dl);
        assert_string_equal(dl.prev_worker, "w2");
        assert_int_equal(dl.prev_lease, 3);
        assert_int_equal(finish(f, d,
                                (struct store_outcome){ DELIVERY_RETRY, 2500,
                                                        "secret file 'x'",
                                                        false, true, NULL, 0 },
                                2071),
                         0);
        find_row(f, d, &dl);
        assert_int_equal(dl.attempts, 1);
        assert_int_equal(dl.held, 1);
        assert_int_equal(raw_int(db, "SELECT sent FROM deliveries"), 3);
        v = store_json_counts(f->st, f->tz, &cause);
        held = json_object_get(v, "held");
        assert_int_equal(json_array_size(held), 1);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(held, 0), "channel")),
                            "heads");
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(held, 0), "deliveries")),
                         1);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(held, 0), "error")),
                            "secret file 'x'");
        json_decref(v);

        /* A reload: due now. */
        assert_int_equal(store_deliveries_unhold(f->st, 2100, &cause), 1);
        assert_int_equal(raw_int(db, "SELECT next_at FROM deliveries"), 2100);
        assert_int_equal(store_deliveries_unhold(f->st, 2100, &cause), 0);
        /* The receiver's answer ends the hold. */
        assert_int_equal(lease(f, d, 4, "w3", 2160, 2100), 5);
        assert_int_equal(
            finish(f, d,
                   (struct store_outcome){ DELIVERY_DELIVERED, 0, NULL, true,
                                           false, NULL, 0 },
                   2101),
            0);
        find_row(f, d, &dl);
        assert_int_equal(dl.attempts, 2);
        assert_int_equal(dl.held, 0);
        assert_string_equal(dl.worker, "w3");
        assert_int_equal(dl.lease, 5);
        assert_null(cause);
        sqlite3_close(db);
}

/*
 * After a step of the wall clock, what is still to be sent keeps its
 * waits and leases: their times move with the step; the others do not.
 */
static void
test_deliveries_shift(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db = raw_open(f->path);
        char *cause = NULL;
        int64_t a, d[4];

        d[0] = new_chain(f, &a);
        for (int i = 1; i < 4; i++)
                d[i] = new_delivery(f, a, "heads", 2000);
        /* d[0] pending; d[1] leased; d[2] waiting to retry; d[3] done. */
        for (int i = 1; i < 4; i++)
                assert_int_equal(lease(f, d[i], 0, "w", 2060, 2000), 1);
        assert_int_equal(
            finish(f, d[2],
                   (struct store_outcome){ DELIVERY_RETRY, 2030, "HTTP 503",
                                           true, false, NULL, 0 },
                   2000),
            0);
        assert_int_equal(
            finish(f, d[3],
                   (struct store_outcome){ DELIVERY_DELIVERED, 0, NULL, true,
                                           false, NULL, 0 },
                   2001),
            0);

        assert_int_equal(store_deliveries_shift(f->st, -3600, &cause), 3);
        assert_null(cause);
        assert_int_equal(raw_int(db, "SELECT next_at FROM deliveries "
                                     "WHERE id = 1"),
                         2000 - 3600);
        assert_int_equal(raw_int(db, "SELECT lease_until FROM deliveries "
                                     "WHERE id = 2"),
                         2060 - 3600);
        assert_int_equal(raw_int(db, "SELECT next_at FROM deliveries "
                                     "WHERE id = 3"),
                         2030 - 3600);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM deliveries "
                                     "WHERE id = 4 AND next_at IS NULL "
                                     "AND updated_at = 2001"),
                         1);
        sqlite3_close(db);
}

/*
 * A delivered emergency's receipt is kept with it, from its outcome, and
 * is outstanding until it expires or the case's rule is acknowledged;
 * read off the partial index deliveries_receipts.
 */
static void
test_receipts_outstanding(void **state)
{
        struct fixture *f = *state;
        struct store_receipt *rs = NULL;
        struct store_ack a = { 0 };
        char *cause = NULL, plan[1024];
        int64_t alert, d = new_chain(f, &alert);
        int64_t other = new_delivery(f, alert, "leaders", 2000);
        sqlite3 *db;

        assert_int_equal(lease(f, d, 0, "w1", 2060, 2000), 1);
        assert_int_equal(lease(f, other, 0, "w1", 2060, 2000), 1);
        /* Not yet delivered: none. */
        assert_int_equal(store_receipts_outstanding(f->st, 2000, &rs, &cause),
                         0);
        free(rs);
        assert_int_equal(
            finish(f, d,
                   (struct store_outcome){ .status = DELIVERY_DELIVERED,
                                           .verdict = true,
                                           .receipt = "rLqQ5ZBe2w5nd3Rs",
                                           .receipt_expires = 5660 },
                   2001),
            0);
        assert_int_equal(
            finish(f, other,
                   (struct store_outcome){ .status = DELIVERY_DELIVERED,
                                           .verdict = true },
                   2001),
            0);
        assert_int_equal(store_receipts_outstanding(f->st, 2002, &rs, &cause),
                         1);
        assert_string_equal(rs[0].channel, "heads");
        assert_string_equal(rs[0].receipt, "rLqQ5ZBe2w5nd3Rs");
        assert_true(rs[0].expires_at == 5660);
        assert_string_equal(rs[0].worker, "w1");
        assert_int_equal(strlen(rs[0].uid), STORE_UID_LEN);
        free(rs);
        /* Expired: none. */
        assert_int_equal(store_receipts_outstanding(f->st, 5660, &rs, &cause),
                         0);
        free(rs);
        /* The rule acknowledged: none. */
        assert_int_equal(store_ack(f->st, 1, "pause_limit", "[]", "ctl:head",
                                   NULL, 2100, &a, &cause),
                         0);
        store_ack_clear(&a);
        assert_int_equal(store_receipts_outstanding(f->st, 2200, &rs, &cause),
                         0);
        free(rs);
        assert_null(cause);

        db = reopen_caught(f);
        plan_of(db, "/* receipts_outstanding */", plan, sizeof(plan));
        if (strstr(plan, "INDEX deliveries_receipts") == NULL)
                fail_msg("receipts_outstanding does not use "
                         "deliveries_receipts:\n%s",
                         plan);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

UNIT_MAIN({
    TEST(test_delivery_uids),
    TEST(test_job_read),
    TEST(test_job_read_no_contact),
    TEST(test_expire_reads_first),
    TEST(test_deliveries_shift),
    TEST(test_delivery_holders),
    TEST(test_receipts_outstanding),
})
