/*
 * Tests for store: the JSON views the control replies read.
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

/* --- Views ---------------------------------------------------------------- */

static void
test_json_cases(void **state)
{
        static const char *const keys[] = {
                "case",          "school",  "state",   "opened", "last_event",
                "last_event_at", "pending", "contact", NULL
        };
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c1, c2, c3, e;
        char *cause = NULL;
        const json_t *row;
        json_t *list;

        c1 = store_case_open(f->st, "100001", "SOL 0300", NULL, t, &cause);
        e = new_event(f, c1, "notification", t);
        new_event(f, c1, "pause", T("2024-07-02T08:30:00Z"));
        new_alert(f, c1, e, "r", t + 3600);
        new_alert(f, c1, e, "r", t + 7200);
        fire(f, new_alert(f, c1, e, "r", t + 60), t + 60, false);
        c2 = new_case(f, "100002", T("2024-01-15T09:00:00Z"));
        set_state(f, c2, CASE_CLOSED, T("2024-01-16T09:00:00Z"));
        c3 = new_case(f, "100003", T("2024-01-15T09:00:00Z"));

        list = store_json_cases(f->st, f->tz, false, &cause);
        assert_non_null(list);
        assert_int_equal(json_array_size(list), 2);
        /* Newest first; closed ones left out. */
        row = jrow(list, 0, keys);
        assert_int_equal(jint(row, "case"), c3);
        assert_int_equal(jint(row, "pending"), 0);
        jfields(row, (const struct jfield[]){
                         { "opened", "2024-01-15T09:00:00+00:00" },
                         { "last_event", NULL },
                         { "last_event_at", NULL },
                         { "contact", NULL },
                         { NULL, NULL } });
        row = jrow(list, 1, keys);
        assert_int_equal(jint(row, "case"), c1);
        assert_int_equal(jint(row, "pending"), 2);
        jfields(row, (const struct jfield[]){
                         { "school", "100001" },
                         { "state", "open" },
                         { "opened", "2024-07-01T11:00:00+01:00" },
                         { "last_event", "pause" },
                         { "last_event_at", "2024-07-02T09:30:00+01:00" },
                         { "contact", "SOL 0300" },
                         { NULL, NULL } });
        json_decref(list);

        list = store_json_cases(f->st, f->tz, true, &cause);
        assert_int_equal(json_array_size(list), 3);
        assert_int_equal(jint(json_array_get(list, 0), "case"), c3);
        assert_int_equal(jint(json_array_get(list, 1), "case"), c2);
        assert_string_equal(jstr(json_array_get(list, 1), "state"), "closed");
        assert_int_equal(jint(json_array_get(list, 2), "case"), c1);
        json_decref(list);
        assert_null(cause);
}

static void
test_json_case(void **state)
{
        static const char *const keys[] = { "case",   "school", "state",
                                            "opened", "closed", "contact",
                                            "note",   "events", "alerts",
                                            "acks",   NULL };
        static const char *const event_keys[] = { "event",    "kind",    "at",
                                                  "recorded", "contact", "note",
                                                  "actor",    NULL };
        static const char *const alert_keys[] = { "id",     "rule", "kind",
                                                  "offset", "at",   "due",
                                                  "state",  "late", "fired",
                                                  NULL };
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c, e1, e2, a1, a2;
        char *cause = NULL;
        const json_t *ev, *al;
        json_t *v;

        c = store_case_open(f->st, "100001", "SOL", "lead J Smith", t, &cause);
        e1 = store_event_add(f->st, c, "notification", t, t + 30, "SOL",
                             "by phone", "token:mis", &cause);
        e2 = new_event(f, c, "conclusion", T("2024-12-02T09:00:00Z"));
        a1 = new_alert_full(f, c, e1, "deferral_cutoff", "-60m", t + 3600, 0,
                            "s");
        a2 = new_alert(f, c, e1, "publish", t + 7200);
        fire(f, a1, t + 3605, true);
        set_state(f, c, CASE_CLOSED, T("2024-12-03T09:00:00Z"));

        v = store_json_case(f->st, f->tz, c, &cause);
        assert_non_null(v);
        jkeys(v, keys);
        assert_null(json_object_get(v, "ok"));
        assert_int_equal(jint(v, "case"), c);
        jfields(v, (const struct jfield[]){
                       { "school", "100001" },
                       { "state", "closed" },
                       { "opened", "2024-07-01T11:00:00+01:00" },
                       { "closed", "2024-12-03T09:00:00+00:00" },
                       { "contact", "SOL" },
                       { "note", "lead J Smith" },
                       { NULL, NULL } });

        ev = json_object_get(v, "events");
        assert_int_equal(json_array_size(ev), 2);
        assert_int_equal(jint(jrow(ev, 0, event_keys), "event"), e1);
        jfields(jrow(ev, 0, NULL),
                (const struct jfield[]){
                    { "kind", "notification" },
                    { "at", "2024-07-01T11:00:00+01:00" },
                    { "recorded", "2024-07-01T11:00:30+01:00" },
                    { "note", "by phone" },
                    { "actor", "token:mis" },
                    { NULL, NULL } });
        assert_int_equal(jint(jrow(ev, 1, NULL), "event"), e2);
        jfields(jrow(ev, 1, NULL),
                (const struct jfield[]){ { "at", "2024-12-02T09:00:00+00:00" },
                                         { "contact", NULL },
                                         { "note", NULL },
                                         { "actor", NULL },
                                         { NULL, NULL } });

        al = json_object_get(v, "alerts");
        assert_int_equal(json_array_size(al), 2);
        assert_int_equal(jint(jrow(al, 0, alert_keys), "id"), a1);
        jfields(jrow(al, 0, NULL), (const struct jfield[]){
                                       { "rule", "deferral_cutoff" },
                                       { "offset", "-60m" },
                                       { "at", "2024-07-01T12:00:00+01:00" },
                                       { "due", "2024-07-01T13:00:00+01:00" },
                                       { "state", "fired" },
                                       { "fired", "2024-07-01T12:00:05+01:00" },
                                       { NULL, NULL } });
        assert_true(json_is_true(json_object_get(jrow(al, 0, NULL), "late")));
        assert_int_equal(jint(jrow(al, 1, NULL), "id"), a2);
        jfields(jrow(al, 1, NULL),
                (const struct jfield[]){ { "state", "pending" },
                                         { "fired", NULL },
                                         { NULL, NULL } });
        assert_true(json_is_false(json_object_get(jrow(al, 1, NULL), "late")));
        json_decref(v);
        assert_null(cause);

        /* Only a closed case has "closed". */
        c = new_case(f, "100002", t);
        set_state(f, c, CASE_PAUSED, t + 60);
        v = store_json_case(f->st, f->tz, c, &cause);
        assert_non_null(v);
        jfields(v, (const struct jfield[]){ { "state", "paused" },
                                            { "closed", NULL },
                                            { "contact", NULL },
                                            { "note", NULL },
                                            { NULL, NULL } });
        assert_int_equal(json_array_size(json_object_get(v, "events")), 0);
        assert_int_equal(json_array_size(json_object_get(v, "alerts")), 0);
        json_decref(v);

        /* No such case: NULL and a cause the client can read. */
        assert_null(store_json_case(f->st, f->tz, 42, &cause));
        assert_string_equal(cause, "no case 42");
        free(cause);
}

static void
test_json_upcoming(void **state)
{
        static const char *const keys[] = { "case", "school", "rule",
                                            "kind", "at",     "offset",
                                            "due",  "opens",  NULL };
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z"), w = T("2024-12-02T09:00:00Z");
        int64_t c1 = new_case(f, "100001", t), e1 = new_event(f, c1, "n", t);
        int64_t c2 = new_case(f, "100002", t), e2 = new_event(f, c2, "n", t);
        char *cause = NULL;
        const json_t *row;
        json_t *v;

        new_alert_full(f, c1, e1, "late_rule", "+1d", w, w - 7200, "s");
        new_alert_full(f, c2, e2, "soon", "-60m", t, 0, "s");
        fire(f, new_alert(f, c1, e1, "gone", t - 60), t, false);

        v = store_json_upcoming(f->st, f->tz, NULL, &cause);
        assert_non_null(v);
        assert_int_equal(json_array_size(v), 2);
        row = jrow(v, 0, keys);
        assert_int_equal(jint(row, "case"), c2);
        jfields(row,
                (const struct jfield[]){ { "school", "100002" },
                                         { "rule", "soon" },
                                         { "offset", "-60m" },
                                         { "at", "2024-07-01T11:00:00+01:00" },
                                         { "due", "2024-07-01T12:00:00+01:00" },
                                         { "opens", NULL },
                                         { NULL, NULL } });
        row = jrow(v, 1, NULL);
        assert_int_equal(jint(row, "case"), c1);
        jfields(row, (const struct jfield[]){
                         { "at", "2024-12-02T09:00:00+00:00" },
                         { "opens", "2024-12-02T07:00:00+00:00" },
                         { NULL, NULL } });
        json_decref(v);

        v = store_json_upcoming(f->st, f->tz, "100001", &cause);
        jcolumn(v, "rule", (const char *const[]){ "late_rule", NULL });
        json_decref(v);
        v = store_json_upcoming(f->st, f->tz, "999999", &cause);
        assert_int_equal(json_array_size(v), 0);
        json_decref(v);
        assert_null(cause);
}

static void
test_json_history(void **state)
{
        static const char *const keys[] = { "id",         "case",   "school",
                                            "rule",       "offset", "channel",
                                            "type",       "status", "attempts",
                                            "last_error", "late",   "created",
                                            "updated",    NULL };
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c1 = new_case(f, "100001", t), e1 = new_event(f, c1, "n", t);
        int64_t c2 = new_case(f, "100002", t), e2 = new_event(f, c2, "n", t);
        int64_t a1 = new_alert_full(f, c1, e1, "cutoff", "-60m", t, 0, "s");
        int64_t a2 = new_alert_full(f, c2, e2, "publish", "+5d", t, 0, "s");
        int64_t d1, d2;
        char uid[64], uid2[64], sql[128], *cause = NULL;
        const json_t *row;
        json_t *v;
        sqlite3 *db;

        fire(f, a1, t + 10, true);
        fire(f, a2, t + 20, false);
        d1 = new_delivery(f, a1, "heads", t + 10);
        d2 = new_delivery(f, a2, "teams", t + 20);

        db = raw_open(f->path);
        snprintf(sql, sizeof(sql),
                 "UPDATE deliveries SET status = 'failed', attempts = 3, "
                 "last_error = 'boom', updated_at = %lld WHERE id = %lld",
                 (long long)T("2024-12-02T09:00:00Z"), (long long)d1);
        raw_exec(db, sql);
        raw_delivery_uid(db, d1, uid, sizeof(uid));
        raw_delivery_uid(db, d2, uid2, sizeof(uid2));
        sqlite3_close(db);

        v = store_json_history(f->st, f->tz, NULL, NULL, 100, &cause);
        assert_non_null(v);
        assert_int_equal(json_array_size(v), 2);
        /* Newest first. */
        row = jrow(v, 0, keys);
        assert_int_equal(jint(row, "case"), c2);
        jfields(row, (const struct jfield[]){ { "id", uid2 },
                                              { "status", "pending" },
                                              { "last_error", NULL },
                                              { NULL, NULL } });
        assert_true(json_is_false(json_object_get(row, "late")));
        row = jrow(v, 1, keys);
        assert_int_equal(jint(row, "case"), c1);
        assert_int_equal(jint(row, "attempts"), 3);
        jfields(row, (const struct jfield[]){
                         { "id", uid },
                         { "school", "100001" },
                         { "rule", "cutoff" },
                         { "offset", "-60m" },
                         { "channel", "heads" },
                         { "type", "email" },
                         { "status", "failed" },
                         { "last_error", "boom" },
                         { "created", "2024-07-01T11:00:10+01:00" },
                         { "updated", "2024-12-02T09:00:00+00:00" },
                         { NULL, NULL } });
        assert_true(json_is_true(json_object_get(row, "late")));
        json_decref(v);

        v = store_json_history(f->st, f->tz, NULL, NULL, 1, &cause);
        assert_int_equal(json_array_size(v), 1);
        assert_int_equal(jint(json_array_get(v, 0), "case"), c2);
        json_decref(v);
        v = store_json_history(f->st, f->tz, "100001", NULL, 100, &cause);
        jcolumn(v, "id", (const char *const[]){ uid, NULL });
        json_decref(v);
        /* One delivery by its id, alone or within its school. */
        v = store_json_history(f->st, f->tz, NULL, uid2, 100, &cause);
        jcolumn(v, "id", (const char *const[]){ uid2, NULL });
        jcolumn(v, "school", (const char *const[]){ "100002", NULL });
        json_decref(v);
        v = store_json_history(f->st, f->tz, "100002", uid2, 100, &cause);
        assert_int_equal(json_array_size(v), 1);
        json_decref(v);
        v = store_json_history(f->st, f->tz, "100001", uid2, 100, &cause);
        assert_int_equal(json_array_size(v), 0);
        json_decref(v);
        v = store_json_history(f->st, f->tz, NULL, "nosuchid", 100, &cause);
        assert_int_equal(json_array_size(v), 0);
        json_decref(v);
        v = store_json_history(f->st, f->tz, NULL, uid2, 0, &cause);
        assert_int_equal(json_array_size(v), 0);
        json_decref(v);
        assert_null(cause);
}

/*
 * The reads of one school span all its cases, closed or not: its
 * upcoming alerts soonest first and its deliveries newest first, with
 * the limit counted over the school's rows only.
 */
static void
test_json_school_spans_cases(void **state)
{
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c1 = new_case(f, "100001", t), e1 = new_event(f, c1, "n", t);
        int64_t c2 = new_case(f, "100002", t), e2 = new_event(f, c2, "n", t);
        int64_t c3, e3, a[4];
        char *cause = NULL;
        json_t *v;

        set_state(f, c1, CASE_CLOSED, t + 1);
        c3 = new_case(f, "100001", t + 2);
        e3 = new_event(f, c3, "n", t + 2);
        /* Interleaved in time across the school's two cases. */
        a[0] = new_alert(f, c3, e3, "r3_late", t + 4000);
        a[1] = new_alert(f, c1, e1, "r1_early", t + 1000);
        a[2] = new_alert(f, c2, e2, "other", t + 500);
        a[3] = new_alert(f, c3, e3, "r3_early", t + 2000);

        v = store_json_upcoming(f->st, f->tz, "100001", &cause);
        assert_non_null(v);
        jcolumn(
            v, "rule",
            (const char *const[]){ "r1_early", "r3_early", "r3_late", NULL });
        assert_int_equal(jint(jrow(v, 0, NULL), "case"), c1);
        json_decref(v);

        for (int i = 0; i < 4; i++) {
                fire(f, a[i], t + 5000, false);
                new_delivery(f, a[i], "heads", t + 5000 + i);
        }
        v = store_json_history(f->st, f->tz, "100001", NULL, -1, &cause);
        jcolumn(
            v, "rule",
            (const char *const[]){ "r3_early", "r1_early", "r3_late", NULL });
        json_decref(v);
        v = store_json_history(f->st, f->tz, "100001", NULL, 2, &cause);
        jcolumn(v, "rule",
                (const char *const[]){ "r3_early", "r1_early", NULL });
        json_decref(v);
        assert_null(cause);
}

/*
 * `schools`: each school's current case, newest first, with its soonest
 * pending alert and the least due of them; a closed case and fired alerts
 * left out; only the schools asked for when given.
 */
static void
test_json_schools(void **state)
{
        static const char *const keys[] = {
                "school",       "case",          "state",
                "opened",       "next_deadline", "next_deadline_rule",
                "acknowledged", "next_alert",    NULL
        };
        static const char *const one[] = { "100002" };
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c1, c2, c3, e1, e3;
        char *cause = NULL;
        const json_t *row;
        json_t *v;

        c1 = new_case(f, "100001", t);
        e1 = new_event(f, c1, "n", t);
        new_alert(f, c1, e1, "old", t + 100);
        set_state(f, c1, CASE_CLOSED, t + 1);
        c2 = new_case(f, "100002", t + 2);
        c3 = new_case(f, "100001", t + 3);
        e3 = new_event(f, c3, "n", t + 3);
        new_alert(f, c3, e3, "late", t + 7200);
        new_alert(f, c3, e3, "soon", t + 1800);
        fire(f, new_alert(f, c3, e3, "fired", t + 60), t + 60, false);

        /* At 10:02Z: "fired", its alert at 10:01Z, is due an hour later
         * (store_fixture.c), 11:01Z, before "soon" (11:30Z): its alert
         * has gone, its deadline stands. */
        v = store_json_schools(f->st, f->tz, NULL, 0, t + 120, &cause);
        assert_non_null(v);
        assert_int_equal(json_array_size(v), 2);
        row = jrow(v, 0, keys);
        assert_int_equal(jint(row, "case"), c3);
        jfields(row, (const struct jfield[]){
                         { "school", "100001" },
                         { "state", "open" },
                         { "opened", "2024-07-01T11:00:03+01:00" },
                         { "next_deadline", "2024-07-01T12:01:00+01:00" },
                         { "next_deadline_rule", "fired" },
                         { NULL, NULL } });
        assert_false(json_is_true(json_object_get(row, "acknowledged")));
        jfields(json_object_get(row, "next_alert"),
                (const struct jfield[]){ { "rule", "soon" },
                                         { "at", "2024-07-01T11:30:00+01:00" },
                                         { "offset", "-60m" },
                                         { NULL, NULL } });
        row = jrow(v, 1, keys);
        assert_int_equal(jint(row, "case"), c2);
        jfields(row, (const struct jfield[]){ { "next_deadline", NULL },
                                              { "next_deadline_rule", NULL },
                                              { "next_alert", NULL },
                                              { NULL, NULL } });
        assert_true(json_is_false(json_object_get(row, "acknowledged")));
        json_decref(v);

        v = store_json_schools(f->st, f->tz, one, 1, t + 120, &cause);
        assert_non_null(v);
        jcolumn(v, "school", (const char *const[]){ "100002", NULL });
        json_decref(v);
        assert_null(cause);
}

/* The one school's row of `schools` at `now`. */
static json_t *
school_at(struct fixture *f, const char *urn, int64_t now)
{
        const char *const urns[] = { urn };
        char *cause = NULL;
        json_t *v = store_json_schools(f->st, f->tz, urns, 1, now, &cause);

        assert_non_null(v);
        assert_null(cause);
        assert_int_equal(json_array_size(v), 1);
        return v;
}

/* next_deadline and next_deadline_rule of the one row of `v`, which it
 * releases, and its acknowledged. */
static void
deadline_is(json_t *v, const char *due, const char *rule, bool acked)
{
        const json_t *row = jrow(v, 0, NULL);

        jfields(row, (const struct jfield[]){ { "next_deadline", due },
                                              { "next_deadline_rule", rule },
                                              { NULL, NULL } });
        assert_true(json_is_boolean(json_object_get(row, "acknowledged")));
        assert_int_equal(json_is_true(json_object_get(row, "acknowledged")),
                         acked);
        json_decref(v);
}

/*
 * A deadline stands until its time or until a later event of the case
 * ends its rule (cancel_on), whatever its alerts' states: fired, or
 * cancelled by an acknowledgement, it is still the school's next
 * deadline.
 */
static void
test_json_schools_standing(void **state)
{
        struct fixture *f = *state;
        char *cause = NULL;
        char *pause_ends[] = { "resume", "conclusion" };
        const struct rule rules[] = {
                { .name = "pause_expected",
                  .cancel_on = pause_ends,
                  .ncancel_on = 2 },
                { .name = "cutoff" },
        };
        struct store_ack a = { 0 };
        int64_t c1, c2, e;

        assert_int_equal(store_rule_ends_set(f->st, rules, 2, &cause), 0);

        /* A pause at 10:00Z; its one alert at once, fired; due 11:00Z. */
        c1 = new_case(f, "100001", T("2024-07-01T09:00:00Z"));
        e = new_event(f, c1, "pause", T("2024-07-01T10:00:00Z"));
        fire(f,
             new_alert(f, c1, e, "pause_expected", T("2024-07-01T10:00:00Z")),
             T("2024-07-01T10:00:00Z"), false);
        deadline_is(school_at(f, "100001", T("2024-07-01T10:30:00Z")),
                    "2024-07-01T12:00:00+01:00", "pause_expected", false);
        /* Past its time it stands no more. */
        deadline_is(school_at(f, "100001", T("2024-07-01T11:00:00Z")), NULL,
                    NULL, false);

        /* An acknowledgement cancels the rule's one reminder (09:00Z, for
         * 10:00Z): the deadline stands, acknowledged. */
        c2 = new_case(f, "100002", T("2024-07-02T08:00:00Z"));
        e = new_event(f, c2, "notification", T("2024-07-02T08:00:00Z"));
        new_alert_full(f, c2, e, "cutoff", "-60m", T("2024-07-02T09:00:00Z"), 0,
                       "s");
        assert_int_equal(store_ack(f->st, c2, "cutoff", "[]", "user:head", NULL,
                                   T("2024-07-02T08:30:00Z"), &a, &cause),
                         0);
        assert_int_equal(a.cancelled, 1);
        store_ack_clear(&a);
        deadline_is(school_at(f, "100002", T("2024-07-02T08:40:00Z")),
                    "2024-07-02T11:00:00+01:00", "cutoff", true);

        /* A later resume ends pause_expected; a draft report, which
         * ends no rule of it, does not. */
        c1 = new_case(f, "100003", T("2024-07-03T09:00:00Z"));
        e = new_event(f, c1, "pause", T("2024-07-03T09:00:00Z"));
        new_alert(f, c1, e, "pause_expected", T("2024-07-03T12:00:00Z"));
        new_event(f, c1, "draft_report", T("2024-07-03T09:10:00Z"));
        deadline_is(school_at(f, "100003", T("2024-07-03T09:20:00Z")),
                    "2024-07-03T14:00:00+01:00", "pause_expected", false);
        new_event(f, c1, "resume", T("2024-07-03T09:30:00Z"));
        deadline_is(school_at(f, "100003", T("2024-07-03T09:40:00Z")), NULL,
                    NULL, false);
        /* Re-planned (its rule's deadline moved from 14:00Z to 15:00Z):
         * the group's newest alert has its deadline, the old one fired. */
        c2 = new_case(f, "100004", T("2024-07-04T09:00:00Z"));
        e = new_event(f, c2, "pause", T("2024-07-04T09:00:00Z"));
        fire(f,
             new_alert(f, c2, e, "pause_expected", T("2024-07-04T13:00:00Z")),
             T("2024-07-04T13:00:00Z"), false);
        new_alert(f, c2, e, "pause_expected", T("2024-07-04T14:00:00Z"));
        deadline_is(school_at(f, "100004", T("2024-07-04T13:10:00Z")),
                    "2024-07-04T16:00:00+01:00", "pause_expected", false);

        /* The rules in force decide: with none ending it, it stands. */
        assert_int_equal(store_rule_ends_set(f->st, rules + 1, 1, &cause), 0);
        deadline_is(school_at(f, "100003", T("2024-07-03T09:40:00Z")),
                    "2024-07-03T14:00:00+01:00", "pause_expected", false);
        assert_null(cause);
}

/* store_json_deadlines() of `urn` (every school when NULL) at `now`. */
static json_t *
deadlines_at(struct fixture *f, const char *urn, int64_t now)
{
        char *cause = NULL;
        json_t *v = store_json_deadlines(f->st, f->tz, urn, now, &cause);

        assert_non_null(v);
        assert_null(cause);
        return v;
}

/*
 * `deadlines` lists every standing deadline, soonest first, as `schools`
 * defines one: a group whose one alert fired, and one acknowledged, are
 * listed; one a later event ended, one past its time and one of a closed
 * case are not.
 */
static void
test_json_deadlines(void **state)
{
        static const char *const keys[] = { "case", "school", "rule",
                                            "due",  "opens",  "acknowledged",
                                            NULL };
        struct fixture *f = *state;
        char *cause = NULL;
        char *pause_ends[] = { "resume" };
        const struct rule rules[] = {
                { .name = "pause_expected",
                  .cancel_on = pause_ends,
                  .ncancel_on = 1 },
                { .name = "cutoff" },
        };
        int64_t now = T("2024-07-01T09:30:00Z");
        struct store_ack a = { 0 };
        int64_t c1, c2, c3, c4, c5, e;
        const json_t *row;
        json_t *v;

        assert_int_equal(store_rule_ends_set(f->st, rules, 2, &cause), 0);

        /* A pause's one alert, fired on the event: due 10:00Z. */
        c1 = new_case(f, "100001", T("2024-07-01T09:00:00Z"));
        e = new_event(f, c1, "pause", T("2024-07-01T09:00:00Z"));
        fire(f,
             new_alert(f, c1, e, "pause_expected", T("2024-07-01T09:00:00Z")),
             T("2024-07-01T09:00:00Z"), false);
        /* Acknowledged, its one reminder cancelled: due 11:00Z, its window
         * open from 08:00Z. */
        c2 = new_case(f, "100002", T("2024-07-01T08:00:00Z"));
        e = new_event(f, c2, "notification", T("2024-07-01T08:00:00Z"));
        new_alert_full(f, c2, e, "cutoff", "-60m", T("2024-07-01T10:00:00Z"),
                       T("2024-07-01T08:00:00Z"), "s");
        assert_int_equal(store_ack(f->st, c2, "cutoff", "[]", "user:head", NULL,
                                   T("2024-07-01T09:10:00Z"), &a, &cause),
                         0);
        assert_int_equal(a.cancelled, 1);
        store_ack_clear(&a);
        /* Ended by a later resume. */
        c3 = new_case(f, "100003", T("2024-07-01T09:00:00Z"));
        e = new_event(f, c3, "pause", T("2024-07-01T09:00:00Z"));
        new_alert(f, c3, e, "pause_expected", T("2024-07-01T12:00:00Z"));
        new_event(f, c3, "resume", T("2024-07-01T09:10:00Z"));
        /* Past: due 09:00Z. */
        c4 = new_case(f, "100004", T("2024-07-01T07:00:00Z"));
        e = new_event(f, c4, "notification", T("2024-07-01T07:00:00Z"));
        new_alert(f, c4, e, "cutoff", T("2024-07-01T08:00:00Z"));
        /* A closed case's. */
        c5 = new_case(f, "100005", T("2024-07-01T07:00:00Z"));
        e = new_event(f, c5, "notification", T("2024-07-01T07:00:00Z"));
        new_alert(f, c5, e, "cutoff", T("2024-07-01T12:00:00Z"));
        assert_int_equal(store_case_set_state(f->st, c5, CASE_CLOSED,
                                              T("2024-07-01T07:30:00Z"),
                                              &cause),
                         0);

        v = deadlines_at(f, NULL, now);
        jcolumn(v, "school", (const char *const[]){ "100001", "100002", NULL });
        row = jrow(v, 0, keys);
        assert_int_equal(json_integer_value(json_object_get(row, "case")), c1);
        jfields(row,
                (const struct jfield[]){ { "rule", "pause_expected" },
                                         { "due", "2024-07-01T11:00:00+01:00" },
                                         { "opens", NULL },
                                         { NULL, NULL } });
        assert_true(json_is_false(json_object_get(row, "acknowledged")));
        row = jrow(v, 1, keys);
        assert_int_equal(json_integer_value(json_object_get(row, "case")), c2);
        jfields(row, (const struct jfield[]){
                         { "rule", "cutoff" },
                         { "due", "2024-07-01T12:00:00+01:00" },
                         { "opens", "2024-07-01T09:00:00+01:00" },
                         { NULL, NULL } });
        assert_true(json_is_true(json_object_get(row, "acknowledged")));
        json_decref(v);

        /* One school's; none once its time has passed. */
        v = deadlines_at(f, "100002", now);
        jcolumn(v, "school", (const char *const[]){ "100002", NULL });
        json_decref(v);
        v = deadlines_at(f, "100002", T("2024-07-01T11:00:00Z"));
        assert_int_equal(json_array_size(v), 0);
        json_decref(v);
        (void)c3;
        (void)c4;
        assert_null(cause);
}

/* The plan holds no full read of a table ("SCAN t"), and names `index`. */
static void
check_flat(sqlite3 *db, const char *tag, const char *index)
{
        char plan[1024];

        plan_of(db, tag, plan, sizeof(plan));
        if (strncmp(plan, "SCAN ", 5) == 0 || strstr(plan, "\nSCAN ") != NULL)
                fail_msg("%s reads a whole table:\n%s", tag, plan);
        if (strstr(plan, index) == NULL)
                fail_msg("%s does not use %s:\n%s", tag, index, plan);
}

/*
 * The reads of one school, one case or one delivery start from it and
 * reach the rest by index: their cost is that school's rows, however many
 * pending alerts and deliveries the others have (bench/README.md, scale).
 */
static void
test_per_school_plans(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db = reopen_caught(f);

        check_flat(db, "/* upcoming_school */", "INDEX cases_urn");
        check_flat(db, "/* upcoming_school */", "INDEX alerts_case");
        check_flat(db, "/* history_school */", "INDEX cases_urn");
        check_flat(db, "/* history_school */", "INDEX alerts_case");
        check_flat(db, "/* history_school */", "INDEX deliveries_alert");
        check_flat(db, "/* history_uid */",
                   "INDEX sqlite_autoindex_deliveries");
        check_flat(db, "/* case_current */", "INDEX cases_urn");
        check_flat(db, "/* schools_one */", "INDEX cases_urn");
        check_flat(db, "/* schools_one */", "INDEX alerts_case");
        check_flat(db, "/* schools_one */", "INDEX events_case");
        check_flat(db, "/* schools_one */", "INDEX acks_rule");
        check_flat(db, "/* deadlines_one */", "INDEX cases_urn");
        check_flat(db, "/* deadlines_one */", "INDEX alerts_case");
        check_flat(db, "/* deadlines_one */", "INDEX events_case");
        check_flat(db, "/* deadlines_one */", "INDEX acks_rule");
        check_flat(db, "/* case_events */", "INDEX events_case");
        check_flat(db, "/* case_alerts */", "INDEX alerts_case");
        check_flat(db, "/* alerts_cancel */", "INDEX alerts_case");
}

static void
test_json_counts(void **state)
{
        static const char *const top[] = { "cases",  "alerts", "deliveries",
                                           "missed", "held",   NULL };
        static const char *const cases[] = { "open", "paused", "concluded",
                                             "closed", NULL };
        static const char *const alerts[] = { "pending", "fired", "cancelled",
                                              "missed", NULL };
        static const char *const deliveries[] = { "pending",   "sending",
                                                  "delivered", "retry",
                                                  "failed",    NULL };
        static const char *const missed_keys[] = { "case", "school", "rule",
                                                   "at",   "offset", NULL };
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c1, c2, e, a, last = 0;
        char *cause = NULL;
        const json_t *row;
        json_t *v;
        sqlite3 *db;

        /* Empty: every key, all 0. */
        v = store_json_counts(f->st, f->tz, &cause);
        assert_non_null(v);
        jkeys(v, top);
        jkeys(json_object_get(v, "cases"), cases);
        jkeys(json_object_get(v, "alerts"), alerts);
        jkeys(json_object_get(v, "deliveries"), deliveries);
        for (int i = 0; cases[i] != NULL; i++)
                assert_int_equal(jint(json_object_get(v, "cases"), cases[i]),
                                 0);
        for (int i = 0; deliveries[i] != NULL; i++)
                assert_int_equal(
                    jint(json_object_get(v, "deliveries"), deliveries[i]), 0);
        assert_int_equal(json_array_size(json_object_get(v, "missed")), 0);
        json_decref(v);

        c1 = new_case(f, "100001", t);
        e = new_event(f, c1, "n", t);
        c2 = new_case(f, "100002", t);
        set_state(f, c2, CASE_CLOSED, t);
        new_alert(f, c1, e, "r", t + 1);
        new_alert(f, c1, e, "r", t + 2);
        a = new_alert(f, c1, e, "r", t + 3);
        fire(f, a, t, false);
        new_delivery(f, a, "heads", t);
        new_delivery(f, a, "teams", t);
        new_alert(f, c1, e, "cancel_me", t + 4);
        assert_int_equal(store_alerts_cancel(f->st, c1, "cancel_me", t, &cause),
                         1);
        /* 22 missed: the 20 most recently missed are listed, newest first. */
        for (int i = 0; i < 22; i++) {
                char rule[16];

                snprintf(rule, sizeof(rule), "m%d", i);
                a = new_alert_full(f, c1, e, rule, "-1d", t - 86400 + i, 0,
                                   "s");
                miss(f, a, t + 100 + i);
                last = t - 86400 + i;
        }
        db = raw_open(f->path);
        raw_exec(db, "UPDATE deliveries SET status = 'delivered' WHERE "
                     "channel = 'teams'");
        sqlite3_close(db);

        v = store_json_counts(f->st, f->tz, &cause);
        assert_non_null(v);
        jkeys(v, top);
        jkeys(json_object_get(v, "cases"), cases);
        jkeys(json_object_get(v, "alerts"), alerts);
        jkeys(json_object_get(v, "deliveries"), deliveries);
        assert_int_equal(jint(json_object_get(v, "cases"), "open"), 1);
        assert_int_equal(jint(json_object_get(v, "cases"), "paused"), 0);
        assert_int_equal(jint(json_object_get(v, "cases"), "closed"), 1);
        assert_int_equal(jint(json_object_get(v, "alerts"), "pending"), 2);
        assert_int_equal(jint(json_object_get(v, "alerts"), "fired"), 1);
        assert_int_equal(jint(json_object_get(v, "alerts"), "cancelled"), 1);
        assert_int_equal(jint(json_object_get(v, "alerts"), "missed"), 22);
        assert_int_equal(jint(json_object_get(v, "deliveries"), "pending"), 1);
        assert_int_equal(jint(json_object_get(v, "deliveries"), "delivered"),
                         1);
        assert_int_equal(jint(json_object_get(v, "deliveries"), "failed"), 0);
        assert_int_equal(json_array_size(json_object_get(v, "missed")), 20);
        row = jrow(json_object_get(v, "missed"), 0, missed_keys);
        assert_int_equal(jint(row, "case"), c1);
        assert_int_equal(last, T("2024-06-30T10:00:21Z"));
        jfields(row,
                (const struct jfield[]){ { "school", "100001" },
                                         { "rule", "m21" },
                                         { "offset", "-1d" },
                                         { "at", "2024-06-30T11:00:21+01:00" },
                                         { NULL, NULL } });
        row = jrow(json_object_get(v, "missed"), 19, NULL);
        assert_string_equal(jstr(row, "rule"), "m2");
        json_decref(v);
        assert_null(cause);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

UNIT_MAIN({
    TEST(test_json_cases),
    TEST(test_json_case),
    TEST(test_json_upcoming),
    TEST(test_json_history),
    TEST(test_json_counts),
    TEST(test_json_school_spans_cases),
    TEST(test_json_schools),
    TEST(test_json_schools_standing),
    TEST(test_json_deadlines),
    TEST(test_per_school_plans),
})
