/*
 * Tests for store: cases, events and alerts, and the plans of the scheduler's
 * reads on every wake-up.
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

/* --- Cases and events ----------------------------------------------------- */

static void
test_cases(void **state)
{
        struct fixture *f = *state;
        struct store_case c;
        char *cause = NULL, *contact = NULL;
        int64_t c1, c2, c3;

        assert_int_equal(store_case_current(f->st, "100001", &c, &cause), 1);
        c1 = store_case_open(f->st, "100001", "SOL 0300 123 4231",
                             "lead J Smith", T("2024-03-04T10:15:00Z"), &cause);
        assert_true(c1 > 0);
        assert_int_equal(store_case_current(f->st, "100001", &c, &cause), 0);
        assert_int_equal(c.id, c1);
        assert_string_equal(c.urn, "100001");
        assert_int_equal(c.state, CASE_OPEN);
        assert_int_equal(c.opened_at, T("2024-03-04T10:15:00Z"));

        set_state(f, c1, CASE_PAUSED, T("2024-03-04T12:00:00Z"));
        assert_int_equal(store_case_current(f->st, "100001", &c, &cause), 0);
        assert_int_equal(c.state, CASE_PAUSED);

        /* The newest case that is not closed wins. */
        c2 = new_case(f, "100001", T("2024-03-05T09:00:00Z"));
        assert_true(c2 > c1);
        assert_int_equal(store_case_current(f->st, "100001", &c, &cause), 0);
        assert_int_equal(c.id, c2);

        /* Other schools are apart. */
        c3 = new_case(f, "100002", T("2024-03-05T09:00:00Z"));
        assert_int_equal(store_case_current(f->st, "100002", &c, &cause), 0);
        assert_int_equal(c.id, c3);
        assert_int_equal(store_case_current(f->st, "100003", &c, &cause), 1);

        /* Closed cases are not current. */
        set_state(f, c2, CASE_CLOSED, T("2024-03-05T10:00:00Z"));
        assert_int_equal(store_case_current(f->st, "100001", &c, &cause), 0);
        assert_int_equal(c.id, c1);
        set_state(f, c1, CASE_CONCLUDED, T("2024-03-06T10:00:00Z"));
        assert_int_equal(store_case_current(f->st, "100001", &c, &cause), 0);
        assert_int_equal(c.state, CASE_CONCLUDED);
        set_state(f, c1, CASE_CLOSED, T("2024-03-07T10:00:00Z"));
        assert_int_equal(store_case_current(f->st, "100001", &c, &cause), 1);

        assert_int_equal(store_case_get(f->st, c2, &c, &cause), 0);
        assert_int_equal(c.id, c2);
        assert_int_equal(c.state, CASE_CLOSED);
        assert_int_equal(store_case_get(f->st, 999, &c, &cause), 1);
        assert_null(cause);

        assert_int_equal(
            store_case_set_state(f->st, 999, CASE_CLOSED, 0, &cause), -1);
        assert_string_equal(cause, "set case state: no case 999");
        free(cause);
        cause = NULL;

        /* A URN that would not fit struct store_case is refused. */
        assert_int_equal(
            store_case_open(f->st, "12345678", NULL, NULL, 0, &cause), -1);
        assert_non_null(strstr(cause, "'12345678'"));
        free(cause);
        cause = NULL;

        /* Contact details: replaced, read back, "" when none. */
        assert_int_equal(store_case_contact(f->st, c1, &contact, &cause), 0);
        assert_string_equal(contact, "SOL 0300 123 4231");
        free(contact);
        assert_int_equal(store_case_set_contact(f->st, c1, "0300 999", &cause),
                         0);
        assert_int_equal(store_case_contact(f->st, c1, &contact, &cause), 0);
        assert_string_equal(contact, "0300 999");
        free(contact);
        assert_int_equal(store_case_contact(f->st, c3, &contact, &cause), 0);
        assert_string_equal(contact, "");
        free(contact);
        assert_int_equal(store_case_contact(f->st, 999, &contact, &cause), -1);
        assert_null(contact);
        assert_string_equal(cause, "read case contact: no case 999");
        free(cause);
}

static void
test_state_names(void **state)
{
        (void)state;
        assert_string_equal(store_case_state_name(CASE_OPEN), "open");
        assert_string_equal(store_case_state_name(CASE_PAUSED), "paused");
        assert_string_equal(store_case_state_name(CASE_CONCLUDED), "concluded");
        assert_string_equal(store_case_state_name(CASE_CLOSED), "closed");
        assert_string_equal(store_alert_state_name(ALERT_PENDING), "pending");
        assert_string_equal(store_alert_state_name(ALERT_FIRED), "fired");
        assert_string_equal(store_alert_state_name(ALERT_CANCELLED),
                            "cancelled");
        assert_string_equal(store_alert_state_name(ALERT_MISSED), "missed");
}

static void
test_events(void **state)
{
        struct fixture *f = *state;
        int64_t c = new_case(f, "100001", T("2024-03-04T10:15:00Z"));
        int64_t e1, e2;
        char *cause = NULL;
        sqlite3 *db;

        e1 = store_event_add(
            f->st, c, "notification", T("2024-03-04T10:15:00Z"),
            T("2024-03-04T10:16:00Z"), "SOL", "lead", "unix:alice", &cause);
        assert_true(e1 > 0);
        e2 = store_event_add(f->st, c, "pause", T("2024-03-05T10:15:00Z"),
                             T("2024-03-05T10:16:00Z"), NULL, NULL, NULL,
                             &cause);
        assert_true(e2 > e1);
        assert_null(cause);

        /* Foreign keys are on: an event of no case is refused. */
        assert_int_equal(store_event_add(f->st, 999, "pause", 0, 0, NULL, NULL,
                                         NULL, &cause),
                         -1);
        assert_string_equal(cause,
                            "insert event: FOREIGN KEY constraint failed");
        free(cause);

        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM events"), 2);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM events WHERE "
                                     "contact IS NULL AND note IS NULL"),
                         1);
        sqlite3_close(db);
}

/* --- Alerts --------------------------------------------------------------- */

static void
test_alerts_cancel(void **state)
{
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z"), at;
        int64_t c1 = new_case(f, "100001", t), e1 = new_event(f, c1, "n", t);
        int64_t c2 = new_case(f, "100002", t), e2 = new_event(f, c2, "n", t);
        int64_t fired;
        char *cause = NULL;
        sqlite3 *db;

        new_alert(f, c1, e1, "r1", t + 100);
        new_alert(f, c1, e1, "r1", t + 200);
        new_alert(f, c1, e1, "r2", t + 300);
        fired = new_alert(f, c1, e1, "r2", t + 50);
        new_alert(f, c2, e2, "r1", t + 400);
        fire(f, fired, t + 50, false);

        assert_int_equal(store_alerts_cancel(f->st, c1, "r1", t, &cause), 2);
        assert_int_equal(store_alerts_cancel(f->st, c1, "r1", t, &cause), 0);
        /* All of them: only the pending one of r2, not the fired one. */
        assert_int_equal(store_alerts_cancel(f->st, c1, NULL, t + 1, &cause),
                         1);
        assert_int_equal(store_alerts_cancel(f->st, c1, NULL, t, &cause), 0);
        assert_null(cause);

        /* The other case keeps its alert. */
        assert_int_equal(store_next_alert(f->st, &at, &cause), 0);
        assert_int_equal(at, t + 400);

        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM alerts WHERE "
                                     "state = 'cancelled'"),
                         3);
        assert_int_equal(raw_int(db, "SELECT state = 'fired' FROM alerts "
                                     "WHERE rule = 'r2' AND at = (SELECT "
                                     "min(at) FROM alerts)"),
                         1);
        sqlite3_close(db);
}

static void
test_next_alert(void **state)
{
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z"), at = 42;
        int64_t c = new_case(f, "100001", t), e = new_event(f, c, "n", t);
        int64_t soonest, early;
        char *cause = NULL;

        assert_int_equal(store_next_alert(f->st, &at, &cause), 1);
        assert_int_equal(at, 42);

        new_alert(f, c, e, "r", t + 300);
        soonest = new_alert(f, c, e, "r", t + 100);
        new_alert(f, c, e, "r", t + 200);
        assert_int_equal(store_next_alert(f->st, &at, &cause), 0);
        assert_int_equal(at, t + 100);

        /* Fired, missed and cancelled alerts are not next. */
        fire(f, soonest, t + 100, false);
        assert_int_equal(store_next_alert(f->st, &at, &cause), 0);
        assert_int_equal(at, t + 200);
        early = new_alert(f, c, e, "r", t + 10);
        miss(f, early, t + 20);
        new_alert(f, c, e, "other", t + 5);
        assert_int_equal(store_alerts_cancel(f->st, c, "other", t, &cause), 1);
        assert_int_equal(store_next_alert(f->st, &at, &cause), 0);
        assert_int_equal(at, t + 200);

        assert_int_equal(store_alerts_cancel(f->st, c, NULL, t, &cause), 2);
        assert_int_equal(store_next_alert(f->st, &at, &cause), 1);
        assert_null(cause);
}

static void
test_due_alerts(void **state)
{
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c = new_case(f, "100001", t), e = new_event(f, c, "n", t);
        int64_t a10, a20, a20b, a30;
        struct store_alert out[8];
        char *cause = NULL;

        new_alert(f, c, e, "r", t + 40);
        a10 = new_alert_full(f, c, e, "window", "+1d", t + 10, t + 5, "s");
        a30 = new_alert(f, c, e, "r", t + 30);
        a20 = new_alert(f, c, e, "r", t + 20);
        a20b = new_alert(f, c, e, "q", t + 20);
        new_alert(f, c, e, "r", t + 100);

        assert_int_equal(store_due_alerts(f->st, t + 35, out, 8, &cause), 4);
        assert_int_equal(out[0].id, a10);
        assert_int_equal(out[1].id, a20); /* same time: in id order */
        assert_int_equal(out[2].id, a20b);
        assert_int_equal(out[3].id, a30);
        assert_int_equal(out[0].case_id, c);
        assert_int_equal(out[0].event_id, e);
        assert_string_equal(out[0].urn, "100001");
        assert_string_equal(out[0].rule, "window");
        assert_string_equal(out[0].offset, "+1d");
        assert_int_equal(out[0].at, t + 10);
        assert_int_equal(out[0].due, t + 10 + 3600);
        assert_int_equal(out[0].opens, t + 5);
        assert_int_equal(out[1].opens, 0);
        assert_string_equal(out[3].offset, "-60m");

        /* At most max, still soonest first. */
        assert_int_equal(store_due_alerts(f->st, t + 35, out, 2, &cause), 2);
        assert_int_equal(out[0].id, a10);
        assert_int_equal(out[1].id, a20);
        assert_int_equal(store_due_alerts(f->st, t + 35, out, 0, &cause), 0);
        /* "at <= now": due exactly at its time. */
        assert_int_equal(store_due_alerts(f->st, t + 10, out, 8, &cause), 1);
        assert_int_equal(store_due_alerts(f->st, t + 9, out, 8, &cause), 0);
        assert_int_equal(store_due_alerts(f->st, t + 1000, out, 8, &cause), 6);
        assert_null(cause);
}

static void
test_fire_miss(void **state)
{
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c = new_case(f, "100001", t), e = new_event(f, c, "n", t);
        int64_t a1 = new_alert(f, c, e, "r", t + 10);
        int64_t a2 = new_alert(f, c, e, "r", t + 20);
        int64_t a3 = new_alert(f, c, e, "r", t + 30);
        struct store_alert out[4];
        char *cause = NULL;
        sqlite3 *db;

        assert_int_equal(store_due_alerts(f->st, t + 100, out, 4, &cause), 3);
        fire(f, a1, t + 500, true);
        miss(f, a2, t + 501);
        assert_int_equal(store_due_alerts(f->st, t + 100, out, 4, &cause), 1);
        assert_int_equal(out[0].id, a3);

        /* Only a pending alert fires or is missed, once. */
        assert_int_equal(store_alert_fire(f->st, a1, t, false, &cause), -1);
        assert_non_null(strstr(cause, "no pending alert"));
        free(cause);
        cause = NULL;
        assert_int_equal(store_alert_miss(f->st, a1, t, &cause), -1);
        assert_non_null(cause);
        free(cause);
        cause = NULL;
        assert_int_equal(store_alert_fire(f->st, 999, t, false, &cause), -1);
        assert_string_equal(cause, "fire alert: no pending alert 999");
        free(cause);

        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM alerts WHERE "
                                     "state = 'fired' AND late = 1"),
                         1);
        assert_int_equal(raw_int(db, "SELECT done_at FROM alerts WHERE "
                                     "state = 'fired'"),
                         t + 500);
        assert_int_equal(raw_int(db, "SELECT done_at FROM alerts WHERE "
                                     "state = 'missed' AND late = 0"),
                         t + 501);
        sqlite3_close(db);
}

struct groups_seen {
        struct store *st;
        int calls;
        int stop_at; /* stop at this call (1-based), 0 never */
        bool cancel; /* cancel each group's alerts as it is seen */
        char seen[8][96];
};

static int
collect_group(const struct store_group *g, void *arg)
{
        struct groups_seen *gs = arg;
        char *cause = NULL;

        if (gs->calls < 8)
                snprintf(gs->seen[gs->calls], sizeof(gs->seen[0]),
                         "%lld/%lld/%lld/%s/%s/%s", (long long)g->case_id,
                         (long long)g->event_id, (long long)g->event_at, g->urn,
                         g->rule, g->sig);
        gs->calls++;
        if (gs->cancel &&
            store_alerts_cancel(gs->st, g->case_id, g->rule, 0, &cause) < 0)
                fail_msg("cancel in fn: %s", cause);
        return gs->calls == gs->stop_at ? -1 : 0;
}

static void
test_pending_groups(void **state)
{
        struct fixture *f = *state;
        int64_t t = 1000000;
        int64_t c1 = new_case(f, "100001", t), e1 = new_event(f, c1, "n", t);
        int64_t c2 = new_case(f, "100002", t),
                e2 = new_event(f, c2, "n", t + 7);
        struct groups_seen gs = { .st = f->st };
        char *cause = NULL, want[96];
        int64_t at;

        new_alert_full(f, c1, e1, "r1", "-1d", t + 1, 0, "s1");
        new_alert_full(f, c1, e1, "r1", "-1h", t + 2, 0, "s1");
        new_alert_full(f, c1, e1, "r2", "-1h", t + 3, 0, "s2");
        new_alert_full(f, c2, e2, "r1", "-1h", t + 4, 0, "s1");
        fire(f, new_alert_full(f, c2, e2, "r3", "-1h", t + 5, 0, "s3"), t,
             false);

        assert_int_equal(
            store_pending_groups(f->st, collect_group, &gs, &cause), 0);
        assert_int_equal(gs.calls, 3);
        snprintf(want, sizeof(want), "%lld/%lld/%lld/100001/r1/s1",
                 (long long)c1, (long long)e1, (long long)t);
        assert_string_equal(gs.seen[0], want);
        snprintf(want, sizeof(want), "%lld/%lld/%lld/100001/r2/s2",
                 (long long)c1, (long long)e1, (long long)t);
        assert_string_equal(gs.seen[1], want);
        snprintf(want, sizeof(want), "%lld/%lld/%lld/100002/r1/s1",
                 (long long)c2, (long long)e2, (long long)t + 7);
        assert_string_equal(gs.seen[2], want);

        /* fn stops: -1, no more calls, and the cause is fn's business. */
        memset(&gs, 0, sizeof(gs));
        gs.st = f->st;
        gs.stop_at = 1;
        assert_int_equal(
            store_pending_groups(f->st, collect_group, &gs, &cause), -1);
        assert_int_equal(gs.calls, 1);
        assert_null(cause);

        /* fn may write to the store while groups are handed to it. */
        memset(&gs, 0, sizeof(gs));
        gs.st = f->st;
        gs.cancel = true;
        assert_int_equal(
            store_pending_groups(f->st, collect_group, &gs, &cause), 0);
        assert_int_equal(gs.calls, 3);
        assert_int_equal(store_next_alert(f->st, &at, &cause), 1);
        memset(&gs, 0, sizeof(gs));
        assert_int_equal(
            store_pending_groups(f->st, collect_group, &gs, &cause), 0);
        assert_int_equal(gs.calls, 0);
}

/* --- Query plans ---------------------------------------------------------- */

static void
test_query_plan(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db = reopen_caught(f);
        char plan[1024];

        plan_of(db, "/* next_alert */", plan, sizeof(plan));
        if (!uses_pending_index(plan))
                fail_msg("next_alert does not use alerts_pending:\n%s", plan);
        assert_null(strstr(plan, "SCAN alerts\n"));
        plan_of(db, "/* due_alerts */", plan, sizeof(plan));
        if (!uses_pending_index(plan))
                fail_msg("due_alerts does not use alerts_pending:\n%s", plan);
        assert_null(strstr(plan, "TEMP B-TREE"));
        /* The deliveries ready to send come off their index in order:
         * no sort of every waiting delivery on each pass. */
        plan_of(db, "/* deliveries_ready */", plan, sizeof(plan));
        if (strstr(plan, "INDEX deliveries_ready") == NULL)
                fail_msg("deliveries_ready does not use its index:\n%s", plan);
        assert_null(strstr(plan, "TEMP B-TREE"));
        /* The soonest lease expiry and whether one has passed, asked on
         * every pass: off the index of leased rows, not a read of each. */
        plan_of(db, "/* next_delivery */", plan, sizeof(plan));
        if (strstr(plan, "INDEX deliveries_leased") == NULL)
                fail_msg("next_delivery does not use deliveries_leased:\n%s",
                         plan);
        plan_of(db, "/* leases_due */", plan, sizeof(plan));
        if (strstr(plan, "INDEX deliveries_leased") == NULL)
                fail_msg("leases_due does not use deliveries_leased:\n%s",
                         plan);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

UNIT_MAIN({
    TEST(test_cases),
    TEST(test_state_names),
    TEST(test_events),
    TEST(test_alerts_cancel),
    TEST(test_next_alert),
    TEST(test_due_alerts),
    TEST(test_fire_miss),
    TEST(test_pending_groups),
    TEST(test_query_plan),
})
