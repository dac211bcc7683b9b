/*
 * Tests for store: acknowledgements of a case's rule (what one cancels and
 * keeps, idempotence, the deadline it is bound to, a savepoint's undoing
 * of a half-written one) and the one-click links
 * (found by their token's hash only, pruned once expired).
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
#include "token.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state of alert `id`, read on a second connection. */
static const char *
state_of(struct fixture *f, int64_t id, char *buf, size_t len)
{
        sqlite3 *db = raw_open(f->path);
        char sql[96];

        snprintf(sql, sizeof(sql), "SELECT state FROM alerts WHERE id = %lld",
                 (long long)id);
        raw_text(db, sql, buf, len);
        sqlite3_close(db);
        return buf;
}

/* Makes alert `id` its rule's nth escalation. */
static void
escalate(struct fixture *f, int64_t id, int n)
{
        sqlite3 *db = raw_open(f->path);
        char sql[96];

        snprintf(sql, sizeof(sql),
                 "UPDATE alerts SET escalation = %d WHERE id = %lld", n,
                 (long long)id);
        raw_exec(db, sql);
        sqlite3_close(db);
}

/*
 * A fresh acknowledgement cancels the rule's pending reminders but those
 * `keeps` names, and all its escalations, even one at a kept offset; other
 * rules and fired alerts stay. A second answers with the first's who,
 * when and note and changes nothing.
 */
static void
test_ack_cancels_and_keeps(void **state)
{
        struct fixture *f = *state;
        struct store_ack a, again;
        char *cause = NULL, buf[32];
        int64_t c = new_case(f, "100001", T("2024-03-04T09:00:00Z"));
        int64_t ev = new_event(f, c, "notification", T("2024-03-04T09:00:00Z"));
        int64_t fired = new_alert_full(f, c, ev, "cutoff", "event",
                                       T("2024-03-04T09:00:00Z"), 0, "s");
        int64_t r60 = new_alert_full(f, c, ev, "cutoff", "-60m",
                                     T("2024-03-04T15:30:00Z"), 0, "s");
        int64_t dl = new_alert_full(f, c, ev, "cutoff", "deadline",
                                    T("2024-03-04T16:30:00Z"), 0, "s");
        int64_t esc = new_alert_full(f, c, ev, "cutoff", "deadline",
                                     T("2024-03-04T16:30:00Z"), 0, "s");
        int64_t other = new_alert_full(f, c, ev, "pause", "-60m",
                                       T("2024-03-04T15:30:00Z"), 0, "s");

        escalate(f, esc, 1);
        fire(f, fired, T("2024-03-04T09:00:00Z"), false);
        assert_int_equal(store_acked(f->st, c, ev, "cutoff", &cause), 0);
        assert_int_equal(store_ack_read(f->st, c, "cutoff", &a, &cause), 1);
        assert_int_equal(a.event_id, ev);

        assert_int_equal(store_ack(f->st, c, "cutoff", "[\"deadline\"]",
                                   "user:head@oak.sch.uk", "by phone",
                                   T("2024-03-04T11:00:00Z"), &a, &cause),
                         0);
        assert_true(a.fresh);
        assert_int_equal(a.cancelled, 2); /* -60m and the escalation */
        assert_int_equal(a.event_id, ev);
        store_ack_clear(&a);
        assert_string_equal(state_of(f, r60, buf, sizeof(buf)), "cancelled");
        assert_string_equal(state_of(f, esc, buf, sizeof(buf)), "cancelled");
        assert_string_equal(state_of(f, dl, buf, sizeof(buf)), "pending");
        assert_string_equal(state_of(f, fired, buf, sizeof(buf)), "fired");
        assert_string_equal(state_of(f, other, buf, sizeof(buf)), "pending");
        assert_int_equal(store_acked(f->st, c, ev, "cutoff", &cause), 1);
        assert_int_equal(store_acked(f->st, c, ev, "pause", &cause), 0);

        assert_int_equal(store_ack(f->st, c, "cutoff", "[]", "link:it", NULL,
                                   T("2024-03-04T12:00:00Z"), &again, &cause),
                         0);
        assert_false(again.fresh);
        assert_string_equal(again.actor, "user:head@oak.sch.uk");
        assert_string_equal(again.note, "by phone");
        assert_int_equal(again.at, T("2024-03-04T11:00:00Z"));
        store_ack_clear(&again);
        /* "[]" would have cancelled the deadline's; nothing changed. */
        assert_string_equal(state_of(f, dl, buf, sizeof(buf)), "pending");
        assert_int_equal(store_ack_read(f->st, c, "cutoff", &a, &cause), 0);
        assert_string_equal(a.actor, "user:head@oak.sch.uk");
        store_ack_clear(&a);

        /* No alert of the rule on the case: nothing to acknowledge. */
        assert_int_equal(store_ack(f->st, c, "nosuch", "[]", "x", NULL,
                                   T("2024-03-04T12:00:00Z"), &a, &cause),
                         1);
        assert_int_equal(store_ack_read(f->st, c, "nosuch", &a, &cause), 2);
        assert_null(cause);
}

/*
 * An acknowledgement is of the deadline one event started: the rule
 * started again by a later event is a new deadline, not acknowledged.
 */
static void
test_ack_bound_to_event(void **state)
{
        struct fixture *f = *state;
        struct store_ack a;
        char *cause = NULL;
        int64_t c = new_case(f, "100001", T("2024-03-04T09:00:00Z"));
        int64_t e1 = new_event(f, c, "pause", T("2024-03-04T09:00:00Z"));
        int64_t e2;

        new_alert(f, c, e1, "pause_limit", T("2024-03-05T09:00:00Z"));
        assert_int_equal(store_ack(f->st, c, "pause_limit", "[]", "a", NULL,
                                   T("2024-03-04T10:00:00Z"), &a, &cause),
                         0);
        store_ack_clear(&a);
        e2 = new_event(f, c, "pause", T("2024-03-06T09:00:00Z"));
        new_alert(f, c, e2, "pause_limit", T("2024-03-07T09:00:00Z"));
        assert_int_equal(store_acked(f->st, c, e1, "pause_limit", &cause), 1);
        assert_int_equal(store_acked(f->st, c, e2, "pause_limit", &cause), 0);
        assert_int_equal(store_ack_read(f->st, c, "pause_limit", &a, &cause),
                         1);
        assert_int_equal(a.event_id, e2);
        assert_int_equal(a.due, T("2024-03-07T10:00:00Z"));
        assert_int_equal(store_ack(f->st, c, "pause_limit", "[]", "b", NULL,
                                   T("2024-03-06T10:00:00Z"), &a, &cause),
                         0);
        assert_true(a.fresh);
        assert_int_equal(a.event_id, e2);
        store_ack_clear(&a);
}

static void
hash_of(unsigned char hash[TOKEN_HASH_LEN], unsigned char fill)
{
        memset(hash, fill, TOKEN_HASH_LEN);
}

/*
 * A link is found by its hash alone, with its case's school; an unknown
 * hash is not; the same hash twice is refused. Pruning deletes only the
 * links that expired before the given instant.
 */
static void
test_links(void **state)
{
        struct fixture *f = *state;
        unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN],
            h3[TOKEN_HASH_LEN];
        struct store_link l = { 0 }, out;
        char *cause = NULL;
        int64_t c = new_case(f, "100001", T("2024-03-04T09:00:00Z"));

        hash_of(h1, 1);
        hash_of(h2, 2);
        hash_of(h3, 3);
        l.case_id = c;
        snprintf(l.rule, sizeof(l.rule), "deferral_cutoff");
        snprintf(l.channel, sizeof(l.channel), "it");
        l.expires = T("2024-03-05T16:30:00Z");
        assert_int_equal(
            store_link_add(f->st, h1, &l, T("2024-03-04T09:00:00Z"), &cause),
            0);
        l.expires = T("2024-03-20T16:30:00Z");
        snprintf(l.channel, sizeof(l.channel), "heads");
        assert_int_equal(
            store_link_add(f->st, h2, &l, T("2024-03-04T09:00:00Z"), &cause),
            0);
        assert_int_equal(
            store_link_add(f->st, h2, &l, T("2024-03-04T09:00:00Z"), &cause),
            -1);
        free(cause);
        cause = NULL;

        assert_int_equal(store_link_find(f->st, h1, &out, &cause), 0);
        assert_int_equal(out.case_id, c);
        assert_string_equal(out.urn, "100001");
        assert_string_equal(out.rule, "deferral_cutoff");
        assert_string_equal(out.channel, "it");
        assert_int_equal(out.expires, T("2024-03-05T16:30:00Z"));
        assert_int_equal(store_link_find(f->st, h3, &out, &cause), 1);

        /* Nothing expired before the first's expiry: nothing goes. */
        assert_int_equal(
            store_links_prune(f->st, T("2024-03-05T16:30:00Z"), &cause), 0);
        assert_int_equal(store_link_find(f->st, h1, &out, &cause), 0);
        assert_int_equal(
            store_links_prune(f->st, T("2024-03-12T16:30:00Z"), &cause), 1);
        assert_int_equal(store_link_find(f->st, h1, &out, &cause), 1);
        assert_int_equal(store_link_find(f->st, h2, &out, &cause), 0);
        assert_string_equal(out.channel, "heads");
        assert_null(cause);
}

/*
 * Retention deletes a purged case's acknowledgements and links with it
 * (their foreign keys would refuse the case's deletion otherwise), and
 * keeps those of a case closed later.
 */
static void
test_retention_takes_acks(void **state)
{
        struct fixture *f = *state;
        unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
        struct store_link l = { 0 }, out;
        struct store_retention r;
        struct store_ack a;
        char *cause = NULL;
        int64_t old = new_case(f, "100001", T("2020-03-02T09:00:00Z"));
        int64_t ev =
            new_event(f, old, "notification", T("2020-03-02T09:00:00Z"));
        int64_t now = new_case(f, "100002", T("2024-03-04T09:00:00Z"));
        int64_t ev2 =
            new_event(f, now, "notification", T("2024-03-04T09:00:00Z"));

        new_alert_full(f, old, ev, "cutoff", "-60m", T("2020-03-03T15:30:00Z"),
                       0, "s");
        new_alert_full(f, now, ev2, "cutoff", "-60m", T("2024-03-05T15:30:00Z"),
                       0, "s");
        hash_of(h1, 1);
        hash_of(h2, 2);
        snprintf(l.rule, sizeof(l.rule), "cutoff");
        snprintf(l.channel, sizeof(l.channel), "it");
        l.case_id = old;
        l.expires = T("2020-03-04T16:30:00Z");
        assert_int_equal(
            store_link_add(f->st, h1, &l, T("2020-03-02T09:00:00Z"), &cause),
            0);
        l.case_id = now;
        l.expires = T("2024-03-06T16:30:00Z");
        assert_int_equal(
            store_link_add(f->st, h2, &l, T("2024-03-04T09:00:00Z"), &cause),
            0);
        for (int i = 0; i < 2; i++) {
                assert_int_equal(store_ack(f->st, i == 0 ? old : now, "cutoff",
                                           "[]", "link:it", NULL,
                                           T("2024-03-04T10:00:00Z"), &a,
                                           &cause),
                                 0);
                store_ack_clear(&a);
        }
        assert_int_equal(store_case_set_state(f->st, old, CASE_CLOSED,
                                              T("2020-04-01T09:00:00Z"),
                                              &cause),
                         0);
        assert_int_equal(store_case_set_state(f->st, now, CASE_CLOSED,
                                              T("2024-04-01T09:00:00Z"),
                                              &cause),
                         0);

        assert_int_equal(
            store_retention(f->st, T("2022-04-01T09:00:00Z"), 0, &r, &cause),
            0);
        assert_null(cause);
        assert_int_equal(r.cases, 1);
        assert_int_equal(r.acks, 2); /* its acknowledgement and its link */
        assert_int_equal(store_link_find(f->st, h1, &out, &cause), 1);
        assert_int_equal(store_link_find(f->st, h2, &out, &cause), 0);
        assert_int_equal(store_ack_read(f->st, now, "cutoff", &a, &cause), 0);
        assert_string_equal(a.actor, "link:it");
        store_ack_clear(&a);
        assert_null(cause);
}

/* A person's confirmation of a channel is its confirmed_at, beside the
 * time of its last check, which it leaves. */
static void
test_channel_confirmed(void **state)
{
        struct fixture *f = *state;
        struct store_channel_health h;
        char *cause = NULL;

        assert_int_equal(store_channel_confirmed(
                             f->st, "it", T("2024-03-04T10:00:00Z"), &cause),
                         0);
        assert_int_equal(store_channel_health(f->st, "it", &h, &cause), 0);
        assert_int_equal(h.confirmed_at, T("2024-03-04T10:00:00Z"));
        assert_int_equal(h.checked_at, 0);
        assert_int_equal(store_check_delivery(f->st, "it", "webhook", "weekly",
                                              T("2024-03-05T09:00:00Z"),
                                              &cause) > 0,
                         1);
        assert_int_equal(store_channel_confirmed(
                             f->st, "it", T("2024-03-05T10:00:00Z"), &cause),
                         0);
        assert_int_equal(store_channel_health(f->st, "it", &h, &cause), 0);
        assert_int_equal(h.checked_at, T("2024-03-05T09:00:00Z"));
        assert_int_equal(h.confirmed_at, T("2024-03-05T10:00:00Z"));
        assert_null(cause);
}

/*
 * A delivery's uid leads to its alert's case, school and rule, with its
 * channel and type (what a Pushover receipt acknowledges); an unknown uid
 * is 1, not an error.
 */
static void
test_delivery_case(void **state)
{
        struct fixture *f = *state;
        struct store_delivery_case dc;
        char *cause = NULL, uid[64];
        int64_t c = new_case(f, "100001", T("2024-03-04T09:00:00Z"));
        int64_t other = new_case(f, "100002", T("2024-03-04T09:00:00Z"));
        int64_t ev = new_event(f, c, "notification", T("2024-03-04T09:00:00Z"));
        int64_t ev2 =
            new_event(f, other, "notification", T("2024-03-04T09:00:00Z"));
        int64_t al = new_alert(f, c, ev, "cutoff", T("2024-03-04T15:30:00Z"));
        int64_t al2 =
            new_alert(f, other, ev2, "pause", T("2024-03-04T15:30:00Z"));
        int64_t dl =
            new_delivery(f, al, "head-phone", T("2024-03-04T15:30:00Z"));
        sqlite3 *db = raw_open(f->path);

        new_delivery(f, al2, "office", T("2024-03-04T15:30:00Z"));
        raw_delivery_uid(db, dl, uid, sizeof(uid));
        sqlite3_close(db);
        assert_int_equal(store_delivery_case(f->st, uid, &dc, &cause), 0);
        assert_int_equal(dc.case_id, c);
        assert_string_equal(dc.urn, "100001");
        assert_string_equal(dc.rule, "cutoff");
        assert_string_equal(dc.channel, "head-phone");
        assert_string_equal(dc.type, "email");
        assert_int_equal(
            store_delivery_case(f->st, "0123456789abcdef", &dc, &cause), 1);
        assert_null(cause);
}

/*
 * An acknowledgement inside a larger transaction (the dispatch's batch)
 * under a savepoint: when its cancellation fails after its row went in,
 * ROLLBACK TO takes the row back and keeps the transaction's other
 * writes; committed, neither the acknowledgement nor a cancellation is
 * there. With the failure gone, RELEASE keeps it all.
 */
static void
test_ack_savepoint(void **state)
{
        struct fixture *f = *state;
        struct store_ack a;
        char *cause = NULL, buf[32];
        int64_t c = new_case(f, "100001", T("2024-03-04T09:00:00Z"));
        int64_t ev = new_event(f, c, "notification", T("2024-03-04T09:00:00Z"));
        int64_t first = new_alert_full(f, c, ev, "cutoff", "event",
                                       T("2024-03-04T09:00:00Z"), 0, "s");
        int64_t r60 = new_alert_full(f, c, ev, "cutoff", "-60m",
                                     T("2024-03-04T15:30:00Z"), 0, "s");
        sqlite3 *db = raw_open(f->path);

        /* The failure, between the acknowledgement's row and its
         * cancellations. */
        raw_exec(db, "CREATE TRIGGER no_cancel BEFORE UPDATE OF state ON "
                     "alerts WHEN NEW.state = 'cancelled' "
                     "BEGIN SELECT RAISE(ABORT, 'forced'); END");
        assert_int_equal(store_begin(f->st, &cause), 0);
        fire(f, first, T("2024-03-04T09:00:00Z"), false); /* the batch's */
        assert_int_equal(store_savepoint(f->st, &cause), 0);
        assert_int_equal(store_ack(f->st, c, "cutoff", "[]", "pushover:u1",
                                   NULL, T("2024-03-04T11:00:00Z"), &a, &cause),
                         -1);
        assert_non_null(strstr(cause, "forced"));
        free(cause);
        cause = NULL;
        store_ack_clear(&a);
        /* Half written until the savepoint is rolled back to. */
        assert_int_equal(store_ack_read(f->st, c, "cutoff", &a, &cause), 0);
        store_ack_clear(&a);
        store_rollback_to(f->st);
        assert_int_equal(store_commit(f->st, &cause), 0);

        assert_int_equal(raw_int(db, "SELECT count(*) FROM acks"), 0);
        assert_string_equal(state_of(f, r60, buf, sizeof(buf)), "pending");
        assert_string_equal(state_of(f, first, buf, sizeof(buf)), "fired");

        raw_exec(db, "DROP TRIGGER no_cancel");
        assert_int_equal(store_begin(f->st, &cause), 0);
        assert_int_equal(store_savepoint(f->st, &cause), 0);
        assert_int_equal(store_ack(f->st, c, "cutoff", "[]", "pushover:u1",
                                   NULL, T("2024-03-04T11:00:00Z"), &a, &cause),
                         0);
        assert_true(a.fresh);
        store_ack_clear(&a);
        assert_int_equal(store_release(f->st, &cause), 0);
        assert_int_equal(store_commit(f->st, &cause), 0);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM acks"), 1);
        assert_string_equal(state_of(f, r60, buf, sizeof(buf)), "cancelled");
        sqlite3_close(db);
        assert_null(cause);
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_ack_cancels_and_keeps, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_ack_bound_to_event, setup, teardown),
    cmocka_unit_test_setup_teardown(test_links, setup, teardown),
    cmocka_unit_test_setup_teardown(test_retention_takes_acks, setup, teardown),
    cmocka_unit_test_setup_teardown(test_channel_confirmed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_delivery_case, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ack_savepoint, setup, teardown),
})
