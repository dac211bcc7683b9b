/*
 * Tests for store: deliveries, their leases and holders, and the JOB text.
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
        char uid[3][64], sql[96], *cause = NULL;
        sqlite3 *db;

        for (int i = 0; i < 3; i++) {
                d[i] = new_delivery(f, a, "heads", t);
                assert_true(i == 0 || d[i] > d[i - 1]);
        }
        db = raw_open(f->path);
        for (int i = 0; i < 3; i++) {
                snprintf(sql, sizeof(sql),
                         "SELECT uid FROM deliveries WHERE id = %lld",
                         (long long)d[i]);
                raw_text(db, sql, uid[i], sizeof(uid[i]));
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

/* A member of a JSON object by a path of keys, NULL-terminated. */
static json_t *
jpath(json_t *v, const char *k0, ...)
{
        va_list ap;

        va_start(ap, k0);
        for (const char *k = k0; k != NULL && v != NULL;
             k = va_arg(ap, const char *))
                v = json_object_get(v, k);
        va_end(ap);
        if (v == NULL)
                fail_msg("no member '%s...' in the job", k0);
        return v;
}

#define JSTR(v, ...) json_string_value(jpath(v, __VA_ARGS__, NULL))

/* A member of the job by a dotted path ("alert.school.urn") and its string. */
struct member {
        const char *path;
        const char *value; /* NULL: the member is JSON null */
};

#define MEMBERS(job, ...)                                              \
        check_members(job, (const struct member[]){ __VA_ARGS__ },     \
                      sizeof((const struct member[]){ __VA_ARGS__ }) / \
                          sizeof(struct member))

/* Each member is there with its value; the failure names the first that is not.
 */
static void
check_members(json_t *job, const struct member *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char key[32];
                json_t *v = job;

                for (const char *p = m[i].path; v != NULL && *p != '\0';) {
                        size_t len = strcspn(p, ".");

                        snprintf(key, sizeof(key), "%.*s", (int)len, p);
                        v = json_object_get(v, key);
                        p += len + (p[len] == '.');
                }
                if (m[i].value == NULL
                        ? !json_is_null(v)
                        : !json_is_string(v) ||
                              strcmp(json_string_value(v), m[i].value) != 0)
                        fail_msg("job member '%s' is not '%s'", m[i].path,
                                 m[i].value == NULL ? "null" : m[i].value);
        }
}

/*
 * The JOB text of docs/dispatch.md, written by SQLite: every field, times
 * in the zone asked for (GMT in March, BST in July), text with quotes,
 * backslashes, a newline and non-ASCII characters carried through intact,
 * and what the config knows taken from the names given.
 */
static void
test_job_text(void **state)
{
        static const char contact[] =
            "Jo \"SOL\" O'Neil \\ 0300 \xe2\x80\x94 ok";
        struct fixture *f = *state;
        struct store_job_names names = { "Oak \"Trust\"", "Oak Primary",
                                         "Ask.\nNow", NULL };
        char *cause = NULL, *text, uid[64];
        int64_t c, e, a1, a2, d1, d2;
        sqlite3 *db;
        json_t *job;

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

        text = store_job_text(f->st, f->tz, d1, &names, &cause);
        assert_non_null(text);
        job = json_loads(text, 0, NULL);
        assert_non_null(job);
        db = raw_open(f->path);
        assert_int_equal(d1, 1);
        raw_text(db, "SELECT uid FROM deliveries WHERE id = 1", uid,
                 sizeof(uid));
        assert_string_equal(JSTR(job, "delivery"), uid);
        assert_int_equal(json_integer_value(jpath(job, "lease", NULL)), 1);
        assert_int_equal(json_integer_value(jpath(job, "attempt", NULL)), 1);
        assert_int_equal(json_integer_value(jpath(job, "alert", "case", NULL)),
                         c);
        assert_true(json_is_false(jpath(job, "alert", "late", NULL)));
        MEMBERS(job, { "channel", "heads" }, { "type", "email" },
                { "alert.trust", "Oak \"Trust\"" },
                { "alert.school.urn", "100001" },
                { "alert.school.name", "Oak Primary" },
                { "alert.rule", "deferral" }, { "alert.offset", "-60m" },
                { "alert.action", "Ask.\nNow" }, { "alert.contact", contact },
                { "alert.at", "2024-03-04T15:30:00+00:00" },
                { "alert.due", "2024-03-04T16:30:00+00:00" },
                { "alert.due_utc", "2024-03-04T16:30:00Z" },
                { "alert.due_human", "Mon 4 Mar 2024 16:30 GMT" },
                { "alert.opens", NULL }, { "alert.opens_human", NULL },
                { "alert.warning", NULL });
        json_decref(job);
        free(text);

        /* No school name: the URN; a contact given overrides the case's. */
        names.school = NULL;
        names.contact = "-";
        text = store_job_text(f->st, f->tz, d2, &names, &cause);
        assert_non_null(text);
        job = json_loads(text, 0, NULL);
        assert_non_null(job);
        assert_int_equal(json_integer_value(jpath(job, "lease", NULL)), 0);
        assert_int_equal(json_integer_value(jpath(job, "attempt", NULL)), 0);
        assert_true(json_is_true(jpath(job, "alert", "late", NULL)));
        MEMBERS(job, { "alert.school.name", "100001" },
                { "alert.contact", "-" },
                { "alert.at", "2024-07-01T10:00:00+01:00" },
                { "alert.due", "2024-07-01T11:00:00+01:00" },
                { "alert.due_utc", "2024-07-01T10:00:00Z" },
                { "alert.due_human", "Mon 1 Jul 2024 11:00 BST" },
                { "alert.opens", "2024-07-02T09:00:00+01:00" },
                { "alert.opens_human", "Tue 2 Jul 2024 09:00 BST" },
                { "alert.warning", "check \"the\" date" });
        json_decref(job);
        free(text);

        assert_null(store_job_text(f->st, f->tz, 99, &names, &cause));
        assert_non_null(strstr(cause, "no delivery 99"));
        free(cause);
        sqlite3_close(db);
}

/*
 * Inside a transaction the store keeps the times it wrote (a burst's jobs
 * share them); a job read for another zone in the same transaction must
 * still get that zone's times, and the first zone's again after it.
 */
static void
test_job_text_zones(void **state)
{
        struct fixture *f = *state;
        struct store_job_names names = { "Oak Trust", "Oak Primary", "Act.",
                                         NULL };
        struct tz *utc = support_tz("UTC");
        char *cause = NULL, *text[3];
        const char *zone[3] = { "London", "UTC", "London again" };
        int64_t c, e, id, d;

        c = new_case(f, "100001", T("2024-07-01T08:00:00Z"));
        e = new_event(f, c, "notification", T("2024-07-01T08:00:00Z"));
        id = new_alert_full(f, c, e, "resume", "event",
                            T("2024-07-01T09:00:00Z"), 0, "s");
        fire(f, id, T("2024-07-01T09:00:00Z"), false);
        d = new_delivery(f, id, "heads", T("2024-07-01T09:00:00Z"));

        assert_int_equal(store_begin(f->st, &cause), 0);
        text[0] = store_job_text(f->st, f->tz, d, &names, &cause);
        text[1] = store_job_text(f->st, utc, d, &names, &cause);
        text[2] = store_job_text(f->st, f->tz, d, &names, &cause);
        assert_int_equal(store_commit(f->st, &cause), 0);
        for (int i = 0; i < 3; i++) {
                json_t *job = json_loads(text[i], 0, NULL);
                bool bst = i != 1;

                assert_non_null(job);
                if (strcmp(JSTR(job, "alert", "due"),
                           bst ? "2024-07-01T11:00:00+01:00"
                               : "2024-07-01T10:00:00+00:00") != 0 ||
                    strcmp(JSTR(job, "alert", "due_human"),
                           bst ? "Mon 1 Jul 2024 11:00 BST"
                               : "Mon 1 Jul 2024 10:00 UTC") != 0 ||
                    strcmp(JSTR(job, "alert", "at"),
                           bst ? "2024-07-01T10:00:00+01:00"
                               : "2024-07-01T09:00:00+00:00") != 0)
                        fail_msg("%s: %s", zone[i], text[i]);
                assert_string_equal(JSTR(job, "alert", "due_utc"),
                                    "2024-07-01T10:00:00Z");
                json_decref(job);
                free(text[i]);
        }
        tz_destroy(&utc);
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
        char sql[96], uid[64], *cause = NULL;

        snprintf(sql, sizeof(sql), "SELECT uid FROM deliveries WHERE id = %lld",
                 (long long)id);
        raw_text(db, sql, uid, sizeof(uid));
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
        assert_int_equal(finish(f, d,
                                (struct store_outcome){ DELIVERY_RETRY, 2070,
                                                        "503", true, false },
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
        assert_int_equal(
            finish(f, d,
                   (struct store_outcome){ DELIVERY_RETRY, 2500,
                                           "secret file 'x'", false, true },
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
        assert_int_equal(finish(f, d,
                                (struct store_outcome){ DELIVERY_DELIVERED, 0,
                                                        NULL, true, false },
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
                                           true, false },
                   2000),
            0);
        assert_int_equal(finish(f, d[3],
                                (struct store_outcome){ DELIVERY_DELIVERED, 0,
                                                        NULL, true, false },
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

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int
main(void)
{
        const struct CMUnitTest tests[] = {
                TEST(test_delivery_uids),    TEST(test_job_text),
                TEST(test_job_text_zones),   TEST(test_expire_reads_first),
                TEST(test_deliveries_shift), TEST(test_delivery_holders),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
