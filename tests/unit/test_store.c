/*
 * Tests for store: the scheduler's state in a real SQLite file in a scratch
 * directory, opened, migrated, filled through the API and read back through
 * the API, the JSON views and, where the API has no reader, a second
 * connection of the test's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store.h"
#include "support.h"
#include "tz.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
        char dir[64];
        char path[96];
        struct store *st;
        struct tz *tz;
};

static struct store *
open_store(const char *path)
{
        char *cause = NULL;
        struct store *st = store_open(path, &cause);

        if (st == NULL)
                fail_msg("store_open: %s", cause);
        assert_null(cause);
        return st;
}

static void
reopen(struct fixture *f)
{
        store_close(&f->st);
        assert_null(f->st);
        f->st = open_store(f->path);
}

static int
setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
        if (mkdtemp(f->dir) == NULL) {
                free(f);
                return -1;
        }
        snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
        f->st = open_store(f->path);
        f->tz = support_tz("Europe/London");
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        static const char *const suffixes[] = { "", "-wal", "-shm",
                                                "-journal" };
        struct fixture *f = *state;
        char path[128];

        store_close(&f->st);
        tz_destroy(&f->tz);
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                snprintf(path, sizeof(path), "%s%s", f->path, suffixes[i]);
                unlink(path);
        }
        if (rmdir(f->dir) < 0)
                return -1;
        free(f);
        return 0;
}

/* --- A second connection, for what the API does not read back ------------- */

static sqlite3 *
raw_open(const char *path)
{
        sqlite3 *db = NULL;

        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
            SQLITE_OK)
                fail_msg("sqlite3_open_v2('%s'): %s", path, sqlite3_errmsg(db));
        sqlite3_busy_timeout(db, 5000);
        return db;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
        char *err = NULL;

        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
}

/* The first column of the one row `sql` returns, as text into buf. */
static const char *
raw_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
        sqlite3_stmt *s = NULL;
        const unsigned char *v;

        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        v = sqlite3_column_text(s, 0);
        snprintf(buf, len, "%s", v == NULL ? "(null)" : (const char *)v);
        sqlite3_finalize(s);
        return buf;
}

static int64_t
raw_int(sqlite3 *db, const char *sql)
{
        char buf[32];

        return strtoll(raw_text(db, sql, buf, sizeof(buf)), NULL, 10);
}

/* --- Building blocks ------------------------------------------------------ */

static int64_t
T(const char *s)
{
        return support_utc(s);
}

static int64_t
new_case(struct fixture *f, const char *urn, int64_t at)
{
        char *cause = NULL;
        int64_t id = store_case_open(f->st, urn, NULL, NULL, at, &cause);

        if (id <= 0)
                fail_msg("store_case_open: %s", cause);
        return id;
}

static int64_t
new_event(struct fixture *f, int64_t case_id, const char *kind, int64_t at)
{
        char *cause = NULL;
        int64_t id = store_event_add(f->st, case_id, kind, at, at + 60, NULL,
                                     NULL, &cause);

        if (id <= 0)
                fail_msg("store_event_add: %s", cause);
        return id;
}

static int64_t
new_alert_full(struct fixture *f, int64_t case_id, int64_t event_id,
               const char *rule, const char *offset, int64_t at, int64_t opens,
               const char *sig)
{
        struct store_alert a = { 0 };
        char *cause = NULL;
        int64_t id;

        a.case_id = case_id;
        a.event_id = event_id;
        snprintf(a.rule, sizeof(a.rule), "%s", rule);
        snprintf(a.offset, sizeof(a.offset), "%s", offset);
        a.at = at;
        a.due = at + 3600;
        a.opens = opens;
        id = store_alert_add(f->st, &a, sig, NULL, &cause);
        if (id <= 0)
                fail_msg("store_alert_add: %s", cause);
        return id;
}

static int64_t
new_alert(struct fixture *f, int64_t case_id, int64_t event_id,
          const char *rule, int64_t at)
{
        return new_alert_full(f, case_id, event_id, rule, "-60m", at, 0, "sig");
}

static void
fire(struct fixture *f, int64_t id, int64_t at, bool late)
{
        char *cause = NULL;

        if (store_alert_fire(f->st, id, at, late, &cause) < 0)
                fail_msg("store_alert_fire: %s", cause);
}

static void
miss(struct fixture *f, int64_t id, int64_t at)
{
        char *cause = NULL;

        if (store_alert_miss(f->st, id, at, &cause) < 0)
                fail_msg("store_alert_miss: %s", cause);
}

static int64_t
new_delivery(struct fixture *f, int64_t alert_id, const char *channel,
             int64_t at)
{
        char *cause = NULL;
        int64_t id =
            store_delivery_add(f->st, alert_id, channel, "email", at, &cause);

        if (id <= 0)
                fail_msg("store_delivery_add: %s", cause);
        return id;
}

static void
set_state(struct fixture *f, int64_t id, enum case_state state, int64_t at)
{
        char *cause = NULL;

        if (store_case_set_state(f->st, id, state, at, &cause) < 0)
                fail_msg("store_case_set_state: %s", cause);
}

/* --- JSON checks ---------------------------------------------------------- */

static const char *
jstr(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);

        if (!json_is_string(v))
                fail_msg("'%s' is not a string", key);
        return json_string_value(v);
}

static json_int_t
jint(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                fail_msg("'%s' is not an integer", key);
        return json_integer_value(v);
}

static void
jnull(const json_t *o, const char *key)
{
        if (!json_is_null(json_object_get(o, key)))
                fail_msg("'%s' is not null", key);
}

/* The object has exactly these keys (NULL-terminated list). */
static void
jkeys(const json_t *o, const char *const *keys)
{
        size_t n = 0;

        assert_true(json_is_object(o));
        for (; keys[n] != NULL; n++) {
                if (json_object_get(o, keys[n]) == NULL)
                        fail_msg("key '%s' is missing", keys[n]);
        }
        assert_int_equal(json_object_size(o), n);
}

/* --- Opening and migrating ------------------------------------------------ */

static void
test_open_creates_and_migrates(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db = raw_open(f->path);
        char buf[256];

        assert_int_equal(raw_int(db, "PRAGMA user_version"),
                         STORE_SCHEMA_VERSION);
        assert_int_equal(STORE_SCHEMA_VERSION, 5);
        assert_string_equal(
            raw_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master "
                                     "WHERE type = 'table' AND name IN "
                                     "('cases', 'events', 'alerts', "
                                     "'deliveries')"),
                         4);
        /* The index on pending alerts is partial. */
        raw_text(db,
                 "SELECT sql FROM sqlite_master WHERE name = "
                 "'alerts_pending'",
                 buf, sizeof(buf));
        assert_non_null(strstr(buf, "WHERE state = 'pending'"));
        sqlite3_close(db);
}

static void
test_reopen_keeps_data(void **state)
{
        struct fixture *f = *state;
        struct store_case c;
        char *cause = NULL;
        int64_t id = new_case(f, "100001", T("2024-03-04T10:15:00Z"));
        sqlite3 *db;

        reopen(f);
        assert_int_equal(store_case_get(f->st, id, &c, &cause), 0);
        assert_int_equal(c.id, id);
        assert_string_equal(c.urn, "100001");
        assert_int_equal(c.state, CASE_OPEN);
        assert_int_equal(c.opened_at, T("2024-03-04T10:15:00Z"));
        /* Opening an up-to-date database migrates nothing. */
        assert_true(new_case(f, "100002", 0) > id);
        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 5);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM cases"), 2);
        sqlite3_close(db);
}

/*
 * A database written by version 1 of the schema (before leases), as an
 * older build left it, is migrated on open and keeps its rows.
 */
/* A database as version 1 of the program left it: one case, event and
 * alert, two deliveries; `extra` runs after (NULL: nothing). */
static void
write_v1(const char *path, const char *extra)
{
        sqlite3 *db;

        unlink(path);
        if (sqlite3_open(path, &db) != SQLITE_OK)
                fail_msg("cannot create %s", path);
        raw_exec(db, "CREATE TABLE cases (id INTEGER PRIMARY KEY, urn TEXT "
                     "NOT NULL, state TEXT NOT NULL, contact TEXT, note TEXT, "
                     "opened_at INTEGER NOT NULL, closed_at INTEGER);"
                     "CREATE TABLE events (id INTEGER PRIMARY KEY, case_id "
                     "INTEGER NOT NULL, kind TEXT NOT NULL, at INTEGER NOT "
                     "NULL, recorded_at INTEGER NOT NULL, contact TEXT, note "
                     "TEXT);"
                     "CREATE TABLE alerts (id INTEGER PRIMARY KEY, case_id "
                     "INTEGER NOT NULL, event_id INTEGER NOT NULL, rule TEXT "
                     "NOT NULL, offset TEXT NOT NULL, at INTEGER NOT NULL, "
                     "due INTEGER NOT NULL, opens INTEGER, sig TEXT NOT NULL, "
                     "warning TEXT, state TEXT NOT NULL, late INTEGER NOT "
                     "NULL DEFAULT 0, done_at INTEGER);"
                     "CREATE INDEX alerts_pending ON alerts(at) WHERE state "
                     "= 'pending';"
                     "CREATE TABLE deliveries (id INTEGER PRIMARY KEY, uid "
                     "TEXT NOT NULL UNIQUE, alert_id INTEGER NOT NULL, "
                     "channel TEXT NOT NULL, type TEXT NOT NULL, status TEXT "
                     "NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at "
                     "INTEGER, last_error TEXT, created_at INTEGER NOT NULL, "
                     "updated_at INTEGER NOT NULL);"
                     "INSERT INTO cases VALUES (1, '100001', 'open', NULL, "
                     "NULL, 100, NULL);"
                     "INSERT INTO events VALUES (1, 1, 'drill', 100, 100, "
                     "NULL, NULL);"
                     "INSERT INTO alerts VALUES (1, 1, 1, 'drill', 'event', "
                     "100, 200, NULL, 's', NULL, 'fired', 0, 100);"
                     "INSERT INTO deliveries VALUES (1, 'abc', 1, 'heads', "
                     "'email', 'sending', 1, NULL, NULL, 100, 100);"
                     "INSERT INTO deliveries VALUES (2, 'def', 1, 'trust', "
                     "'email', 'pending', 0, NULL, NULL, 150, 150);"
                     "PRAGMA user_version = 1;");
        if (extra != NULL)
                raw_exec(db, extra);
        sqlite3_close(db);
}

static void
test_migrates_v1(void **state)
{
        struct fixture *f = *state;
        char *cause = NULL;
        sqlite3 *db;

        store_close(&f->st);
        write_v1(f->path, NULL);
        f->st = store_open(f->path, &cause);
        assert_non_null(f->st);
        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 5);
        assert_int_equal(raw_int(db, "SELECT lease FROM deliveries "
                                     "WHERE id = 1"),
                         0);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM deliveries "
                                     "WHERE worker IS NULL AND lease_until "
                                     "IS NULL"),
                         2);
        /* Version 3: a pending delivery is ready from its creation. */
        assert_int_equal(raw_int(db, "SELECT next_at FROM deliveries "
                                     "WHERE id = 2"),
                         150);
        /* Version 4 rebuilt the table: every row and column came over,
         * the status check still holds, and the indexes are there. */
        assert_int_equal(raw_int(db, "SELECT count(*) FROM deliveries WHERE "
                                     "id = 1 AND uid = 'abc' AND alert_id = 1 "
                                     "AND channel = 'heads' AND type = "
                                     "'email' AND status = 'sending' AND "
                                     "attempts = 1 AND created_at = 100 AND "
                                     "updated_at = 100"),
                         1);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM deliveries WHERE "
                                     "id = 2 AND uid = 'def' AND channel = "
                                     "'trust' AND status = 'pending' AND "
                                     "created_at = 150"),
                         1);
        /* Version 5: the jobs sent so far are what attempts counted
         * then; no previous holder, nothing held. */
        assert_int_equal(raw_int(db, "SELECT count(*) FROM deliveries WHERE "
                                     "sent = attempts AND held = 0 AND "
                                     "prev_worker IS NULL AND prev_lease IS "
                                     "NULL"),
                         2);
        assert_int_equal(raw_int(db, "SELECT sent FROM deliveries "
                                     "WHERE id = 1"),
                         1);
        assert_int_not_equal(sqlite3_exec(db,
                                          "UPDATE deliveries SET status = "
                                          "'lost' WHERE id = 2",
                                          NULL, NULL, NULL),
                             SQLITE_OK);
        assert_int_not_equal(sqlite3_exec(db,
                                          "UPDATE alerts SET state = 'lost' "
                                          "WHERE id = 1",
                                          NULL, NULL, NULL),
                             SQLITE_OK);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM alerts WHERE "
                                     "id = 1 AND case_id = 1 AND event_id = 1 "
                                     "AND rule = 'drill' AND due = 200 AND "
                                     "state = 'fired' AND done_at = 100"),
                         1);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master "
                                     "WHERE type = 'index' AND name IN "
                                     "('deliveries_status', "
                                     "'deliveries_ready', "
                                     "'deliveries_leased')"),
                         3);
        sqlite3_close(db);
        /* And the leases work on the migrated rows: the sending one goes
         * back, then both are ready, the older first. */
        assert_int_equal(store_deliveries_requeue(f->st, 300, &cause), 1);
        {
                struct store_ready r[4];

                assert_int_equal(store_deliveries_ready(f->st, true, 300, "[]",
                                                        r, 4, &cause),
                                 2);
                assert_int_equal(r[0].id, 1);
                assert_int_equal(r[1].id, 2);
        }
}

/*
 * A migration that would leave a row pointing at nothing (a delivery of
 * an alert that is not there) is refused with the row named, and the
 * database is left as it was.
 */
static void
test_migration_checks_references(void **state)
{
        struct fixture *f = *state;
        char *cause = NULL;
        sqlite3 *db;

        store_close(&f->st);
        write_v1(f->path, "INSERT INTO deliveries VALUES (3, 'ghi', 9, "
                          "'heads', 'email', 'pending', 0, NULL, NULL, 150, "
                          "150);");
        f->st = store_open(f->path, &cause);
        assert_null(f->st);
        assert_non_null(cause);
        assert_non_null(strstr(cause, "row 3 of table deliveries refers to a "
                                      "missing row of alerts"));
        free(cause);
        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 1);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master "
                                     "WHERE name LIKE '%_4'"),
                         0);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM deliveries"), 3);
        sqlite3_close(db);
        write_v1(f->path, NULL);
        f->st = open_store(f->path);
}

static void
test_newer_schema_refused(void **state)
{
        struct fixture *f = *state;
        char *cause = NULL, *want = NULL;
        sqlite3 *db;

        store_close(&f->st);
        db = raw_open(f->path);
        raw_exec(db, "PRAGMA user_version = 99");
        sqlite3_close(db);

        assert_null(store_open(f->path, &cause));
        assert_non_null(cause);
        assert_int_not_equal(asprintf(&want,
                                      "%s: schema version 99 is newer than "
                                      "this program's 5",
                                      f->path),
                             -1);
        assert_string_equal(cause, want);
        free(want);
        free(cause);
        /* Refused means untouched. */
        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 99);
        sqlite3_close(db);
}

static void
test_open_errors(void **state)
{
        struct fixture *f = *state;
        char path[128], *cause = NULL;
        FILE *fp;

        /* A directory that does not exist: "path: message". */
        snprintf(path, sizeof(path), "%s/missing/state.db", f->dir);
        assert_null(store_open(path, &cause));
        assert_non_null(cause);
        assert_memory_equal(cause, path, strlen(path));
        assert_string_equal(cause + strlen(path), ": unable to open database "
                                                  "file");
        free(cause);
        cause = NULL;

        /* Not a database at all. */
        snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
        fp = fopen(path, "w");
        assert_non_null(fp);
        for (int i = 0; i < 100; i++)
                fputs("this is not an SQLite database, not at all\n", fp);
        assert_int_equal(fclose(fp), 0);
        assert_null(store_open(path, &cause));
        unlink(path);
        assert_non_null(cause);
        assert_memory_equal(cause, path, strlen(path));
        assert_non_null(strstr(cause, "file is not a database"));
        free(cause);

        /* No cause wanted: still refused, nothing leaks. */
        snprintf(path, sizeof(path), "%s/missing/state.db", f->dir);
        assert_null(store_open(path, NULL));
}

static void
test_close(void **state)
{
        struct fixture *f = *state;
        struct store *none = NULL;

        store_close(NULL);
        store_close(&none);
        assert_null(none);
        store_close(&f->st);
        assert_null(f->st);
        store_close(&f->st);
}

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

        e1 =
            store_event_add(f->st, c, "notification", T("2024-03-04T10:15:00Z"),
                            T("2024-03-04T10:16:00Z"), "SOL", "lead", &cause);
        assert_true(e1 > 0);
        e2 = store_event_add(f->st, c, "pause", T("2024-03-05T10:15:00Z"),
                             T("2024-03-05T10:16:00Z"), NULL, NULL, &cause);
        assert_true(e2 > e1);
        assert_null(cause);

        /* Foreign keys are on: an event of no case is refused. */
        assert_int_equal(
            store_event_add(f->st, 999, "pause", 0, 0, NULL, NULL, &cause), -1);
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

/* --- Deliveries ----------------------------------------------------------- */

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
        json_t *list, *row;

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
        row = json_array_get(list, 0);
        jkeys(row, keys);
        assert_int_equal(jint(row, "case"), c3);
        jnull(row, "last_event");
        jnull(row, "last_event_at");
        jnull(row, "contact");
        assert_int_equal(jint(row, "pending"), 0);
        assert_string_equal(jstr(row, "opened"), "2024-01-15T09:00:00+00:00");
        row = json_array_get(list, 1);
        jkeys(row, keys);
        assert_int_equal(jint(row, "case"), c1);
        assert_string_equal(jstr(row, "school"), "100001");
        assert_string_equal(jstr(row, "state"), "open");
        assert_string_equal(jstr(row, "opened"), "2024-07-01T11:00:00+01:00");
        assert_string_equal(jstr(row, "last_event"), "pause");
        assert_string_equal(jstr(row, "last_event_at"),
                            "2024-07-02T09:30:00+01:00");
        assert_int_equal(jint(row, "pending"), 2);
        assert_string_equal(jstr(row, "contact"), "SOL 0300");
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
                                            NULL };
        static const char *const event_keys[] = { "event",    "kind",    "at",
                                                  "recorded", "contact", "note",
                                                  NULL };
        static const char *const alert_keys[] = { "id",   "rule",  "offset",
                                                  "at",   "due",   "state",
                                                  "late", "fired", NULL };
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z");
        int64_t c, e1, e2, a1, a2;
        char *cause = NULL;
        json_t *v, *ev, *al;

        c = store_case_open(f->st, "100001", "SOL", "lead J Smith", t, &cause);
        e1 = store_event_add(f->st, c, "notification", t, t + 30, "SOL",
                             "by phone", &cause);
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
        assert_string_equal(jstr(v, "school"), "100001");
        assert_string_equal(jstr(v, "state"), "closed");
        assert_string_equal(jstr(v, "opened"), "2024-07-01T11:00:00+01:00");
        assert_string_equal(jstr(v, "closed"), "2024-12-03T09:00:00+00:00");
        assert_string_equal(jstr(v, "contact"), "SOL");
        assert_string_equal(jstr(v, "note"), "lead J Smith");

        ev = json_object_get(v, "events");
        assert_int_equal(json_array_size(ev), 2);
        jkeys(json_array_get(ev, 0), event_keys);
        assert_int_equal(jint(json_array_get(ev, 0), "event"), e1);
        assert_string_equal(jstr(json_array_get(ev, 0), "kind"),
                            "notification");
        assert_string_equal(jstr(json_array_get(ev, 0), "at"),
                            "2024-07-01T11:00:00+01:00");
        assert_string_equal(jstr(json_array_get(ev, 0), "recorded"),
                            "2024-07-01T11:00:30+01:00");
        assert_string_equal(jstr(json_array_get(ev, 0), "note"), "by phone");
        assert_int_equal(jint(json_array_get(ev, 1), "event"), e2);
        assert_string_equal(jstr(json_array_get(ev, 1), "at"),
                            "2024-12-02T09:00:00+00:00");
        jnull(json_array_get(ev, 1), "contact");
        jnull(json_array_get(ev, 1), "note");

        al = json_object_get(v, "alerts");
        assert_int_equal(json_array_size(al), 2);
        jkeys(json_array_get(al, 0), alert_keys);
        assert_int_equal(jint(json_array_get(al, 0), "id"), a1);
        assert_string_equal(jstr(json_array_get(al, 0), "rule"),
                            "deferral_cutoff");
        assert_string_equal(jstr(json_array_get(al, 0), "offset"), "-60m");
        assert_string_equal(jstr(json_array_get(al, 0), "at"),
                            "2024-07-01T12:00:00+01:00");
        assert_string_equal(jstr(json_array_get(al, 0), "due"),
                            "2024-07-01T13:00:00+01:00");
        assert_string_equal(jstr(json_array_get(al, 0), "state"), "fired");
        assert_true(
            json_is_true(json_object_get(json_array_get(al, 0), "late")));
        assert_string_equal(jstr(json_array_get(al, 0), "fired"),
                            "2024-07-01T12:00:05+01:00");
        assert_int_equal(jint(json_array_get(al, 1), "id"), a2);
        assert_string_equal(jstr(json_array_get(al, 1), "state"), "pending");
        assert_true(
            json_is_false(json_object_get(json_array_get(al, 1), "late")));
        jnull(json_array_get(al, 1), "fired");
        json_decref(v);
        assert_null(cause);

        /* Only a closed case has "closed". */
        c = new_case(f, "100002", t);
        set_state(f, c, CASE_PAUSED, t + 60);
        v = store_json_case(f->st, f->tz, c, &cause);
        assert_non_null(v);
        assert_string_equal(jstr(v, "state"), "paused");
        jnull(v, "closed");
        jnull(v, "contact");
        jnull(v, "note");
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
        static const char *const keys[] = { "case",   "school", "rule",  "at",
                                            "offset", "due",    "opens", NULL };
        struct fixture *f = *state;
        int64_t t = T("2024-07-01T10:00:00Z"), w = T("2024-12-02T09:00:00Z");
        int64_t c1 = new_case(f, "100001", t), e1 = new_event(f, c1, "n", t);
        int64_t c2 = new_case(f, "100002", t), e2 = new_event(f, c2, "n", t);
        char *cause = NULL;
        json_t *v, *row;

        new_alert_full(f, c1, e1, "late_rule", "+1d", w, w - 7200, "s");
        new_alert_full(f, c2, e2, "soon", "-60m", t, 0, "s");
        fire(f, new_alert(f, c1, e1, "gone", t - 60), t, false);

        v = store_json_upcoming(f->st, f->tz, NULL, &cause);
        assert_non_null(v);
        assert_int_equal(json_array_size(v), 2);
        row = json_array_get(v, 0);
        jkeys(row, keys);
        assert_int_equal(jint(row, "case"), c2);
        assert_string_equal(jstr(row, "school"), "100002");
        assert_string_equal(jstr(row, "rule"), "soon");
        assert_string_equal(jstr(row, "offset"), "-60m");
        assert_string_equal(jstr(row, "at"), "2024-07-01T11:00:00+01:00");
        assert_string_equal(jstr(row, "due"), "2024-07-01T12:00:00+01:00");
        assert_true(json_is_null(json_object_get(row, "opens")));
        row = json_array_get(v, 1);
        assert_int_equal(jint(row, "case"), c1);
        assert_string_equal(jstr(row, "at"), "2024-12-02T09:00:00+00:00");
        assert_string_equal(jstr(row, "opens"), "2024-12-02T07:00:00+00:00");
        json_decref(v);

        v = store_json_upcoming(f->st, f->tz, "100001", &cause);
        assert_int_equal(json_array_size(v), 1);
        assert_string_equal(jstr(json_array_get(v, 0), "rule"), "late_rule");
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
        json_t *v, *row;
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
        snprintf(sql, sizeof(sql), "SELECT uid FROM deliveries WHERE id = %lld",
                 (long long)d1);
        raw_text(db, sql, uid, sizeof(uid));
        snprintf(sql, sizeof(sql), "SELECT uid FROM deliveries WHERE id = %lld",
                 (long long)d2);
        raw_text(db, sql, uid2, sizeof(uid2));
        sqlite3_close(db);

        v = store_json_history(f->st, f->tz, NULL, NULL, 100, &cause);
        assert_non_null(v);
        assert_int_equal(json_array_size(v), 2);
        /* Newest first. */
        row = json_array_get(v, 0);
        jkeys(row, keys);
        assert_int_equal(jint(row, "case"), c2);
        assert_string_equal(jstr(row, "status"), "pending");
        jnull(row, "last_error");
        assert_true(json_is_false(json_object_get(row, "late")));
        assert_string_equal(jstr(row, "id"), uid2);
        row = json_array_get(v, 1);
        jkeys(row, keys);
        assert_string_equal(jstr(row, "id"), uid);
        assert_int_equal(jint(row, "case"), c1);
        assert_string_equal(jstr(row, "school"), "100001");
        assert_string_equal(jstr(row, "rule"), "cutoff");
        assert_string_equal(jstr(row, "offset"), "-60m");
        assert_string_equal(jstr(row, "channel"), "heads");
        assert_string_equal(jstr(row, "type"), "email");
        assert_string_equal(jstr(row, "status"), "failed");
        assert_int_equal(jint(row, "attempts"), 3);
        assert_string_equal(jstr(row, "last_error"), "boom");
        assert_true(json_is_true(json_object_get(row, "late")));
        assert_string_equal(jstr(row, "created"), "2024-07-01T11:00:10+01:00");
        assert_string_equal(jstr(row, "updated"), "2024-12-02T09:00:00+00:00");
        json_decref(v);

        v = store_json_history(f->st, f->tz, NULL, NULL, 1, &cause);
        assert_int_equal(json_array_size(v), 1);
        assert_int_equal(jint(json_array_get(v, 0), "case"), c2);
        json_decref(v);
        v = store_json_history(f->st, f->tz, "100001", NULL, 100, &cause);
        assert_int_equal(json_array_size(v), 1);
        assert_string_equal(jstr(json_array_get(v, 0), "id"), uid);
        json_decref(v);
        assert_null(cause);
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
        json_t *v, *row;
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
        row = json_array_get(json_object_get(v, "missed"), 0);
        jkeys(row, missed_keys);
        assert_int_equal(jint(row, "case"), c1);
        assert_string_equal(jstr(row, "school"), "100001");
        assert_string_equal(jstr(row, "rule"), "m21");
        assert_string_equal(jstr(row, "offset"), "-1d");
        assert_int_equal(last, T("2024-06-30T10:00:21Z"));
        assert_string_equal(jstr(row, "at"), "2024-06-30T11:00:21+01:00");
        row = json_array_get(json_object_get(v, "missed"), 19);
        assert_string_equal(jstr(row, "rule"), "m2");
        json_decref(v);
        assert_null(cause);
}

/* --- Query plans ---------------------------------------------------------- */

/* The connection store_open() makes, caught as SQLite opens it. */
static sqlite3 *caught_db;

static int
catch_db(sqlite3 *db, char **err, const struct sqlite3_api_routines *api)
{
        (void)err;
        (void)api;
        caught_db = db;
        return SQLITE_OK;
}

/* The query plan of the store's statement tagged `tag`, one line a step. */
static void
plan_of(sqlite3 *db, const char *tag, char *plan, size_t len)
{
        sqlite3_stmt *s = NULL, *eqp = NULL;
        char *sql = NULL;
        size_t used = 0;

        for (s = sqlite3_next_stmt(db, NULL); s != NULL;
             s = sqlite3_next_stmt(db, s)) {
                if (strstr(sqlite3_sql(s), tag) != NULL)
                        break;
        }
        if (s == NULL)
                fail_msg("no statement tagged '%s'", tag);
        assert_int_not_equal(
            asprintf(&sql, "EXPLAIN QUERY PLAN %s", sqlite3_sql(s)), -1);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &eqp, NULL),
                         SQLITE_OK);
        plan[0] = '\0';
        while (sqlite3_step(eqp) == SQLITE_ROW && used < len) {
                used += snprintf(plan + used, len - used, "%s\n",
                                 (const char *)sqlite3_column_text(eqp, 3));
        }
        sqlite3_finalize(eqp);
        free(sql);
}

static bool
uses_pending_index(const char *plan)
{
        return strstr(plan, "USING INDEX alerts_pending") != NULL ||
               strstr(plan, "USING COVERING INDEX alerts_pending") != NULL;
}

/* Opens the store again and returns its connection (owned by the store). */
static sqlite3 *
reopen_caught(struct fixture *f)
{
        store_close(&f->st);
        caught_db = NULL;
        assert_int_equal(sqlite3_auto_extension((void (*)(void))catch_db),
                         SQLITE_OK);
        f->st = open_store(f->path);
        sqlite3_cancel_auto_extension((void (*)(void))catch_db);
        assert_non_null(caught_db);
        return caught_db;
}

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
        struct store_alert a = { 0 };
        char *cause = NULL, *text, uid[64];
        int64_t c, e, a1, a2, d1, d2;
        sqlite3 *db;
        json_t *job;

        c = new_case(f, "100001", T("2024-03-04T10:00:00Z"));
        assert_int_equal(store_case_set_contact(f->st, c, contact, &cause), 0);
        e = new_event(f, c, "notification", T("2024-03-04T10:00:00Z"));
        a1 = new_alert_full(f, c, e, "deferral", "-60m",
                            T("2024-03-04T15:30:00Z"), 0, "s1");
        a.case_id = c;
        a.event_id = e;
        snprintf(a.rule, sizeof(a.rule), "resume");
        snprintf(a.offset, sizeof(a.offset), "event");
        a.at = T("2024-07-01T09:00:00Z");
        a.due = T("2024-07-01T10:00:00Z");
        a.opens = T("2024-07-02T08:00:00Z");
        a2 = store_alert_add(f->st, &a, "s2", "check \"the\" date", &cause);
        assert_true(a2 > 0);
        fire(f, a1, T("2024-03-04T15:30:00Z"), false);
        fire(f, a2, T("2024-07-01T09:05:00Z"), true);
        d1 = new_delivery(f, a1, "heads", T("2024-03-04T15:30:00Z"));
        d2 = new_delivery(f, a2, "trust", T("2024-07-01T09:05:00Z"));
        assert_int_equal(
            store_delivery_lease(f->st, &(struct store_ready){ .id = d1 }, "w",
                                 T("2024-03-04T15:31:00Z"),
                                 T("2024-03-04T15:30:00Z"), &cause),
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
        assert_string_equal(JSTR(job, "channel"), "heads");
        assert_string_equal(JSTR(job, "type"), "email");
        assert_string_equal(JSTR(job, "alert", "trust"), "Oak \"Trust\"");
        assert_int_equal(json_integer_value(jpath(job, "alert", "case", NULL)),
                         c);
        assert_string_equal(JSTR(job, "alert", "school", "urn"), "100001");
        assert_string_equal(JSTR(job, "alert", "school", "name"),
                            "Oak Primary");
        assert_string_equal(JSTR(job, "alert", "rule"), "deferral");
        assert_string_equal(JSTR(job, "alert", "offset"), "-60m");
        assert_true(json_is_false(jpath(job, "alert", "late", NULL)));
        assert_string_equal(JSTR(job, "alert", "action"), "Ask.\nNow");
        assert_string_equal(JSTR(job, "alert", "contact"), contact);
        assert_string_equal(JSTR(job, "alert", "at"),
                            "2024-03-04T15:30:00+00:00");
        assert_string_equal(JSTR(job, "alert", "due"),
                            "2024-03-04T16:30:00+00:00");
        assert_string_equal(JSTR(job, "alert", "due_utc"),
                            "2024-03-04T16:30:00Z");
        assert_string_equal(JSTR(job, "alert", "due_human"),
                            "Mon 4 Mar 2024 16:30 GMT");
        assert_true(json_is_null(jpath(job, "alert", "opens", NULL)));
        assert_true(json_is_null(jpath(job, "alert", "opens_human", NULL)));
        assert_true(json_is_null(jpath(job, "alert", "warning", NULL)));
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
        assert_string_equal(JSTR(job, "alert", "school", "name"), "100001");
        assert_string_equal(JSTR(job, "alert", "contact"), "-");
        assert_true(json_is_true(jpath(job, "alert", "late", NULL)));
        assert_string_equal(JSTR(job, "alert", "at"),
                            "2024-07-01T10:00:00+01:00");
        assert_string_equal(JSTR(job, "alert", "due"),
                            "2024-07-01T11:00:00+01:00");
        assert_string_equal(JSTR(job, "alert", "due_utc"),
                            "2024-07-01T10:00:00Z");
        assert_string_equal(JSTR(job, "alert", "due_human"),
                            "Mon 1 Jul 2024 11:00 BST");
        assert_string_equal(JSTR(job, "alert", "opens"),
                            "2024-07-02T09:00:00+01:00");
        assert_string_equal(JSTR(job, "alert", "opens_human"),
                            "Tue 2 Jul 2024 09:00 BST");
        assert_string_equal(JSTR(job, "alert", "warning"),
                            "check \"the\" date");
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
        struct store_alert a = { 0 };
        char *cause = NULL, *text[3];
        const char *zone[3] = { "London", "UTC", "London again" };
        int64_t c, e, id, d;

        c = new_case(f, "100001", T("2024-07-01T08:00:00Z"));
        e = new_event(f, c, "notification", T("2024-07-01T08:00:00Z"));
        a.case_id = c;
        a.event_id = e;
        snprintf(a.rule, sizeof(a.rule), "resume");
        snprintf(a.offset, sizeof(a.offset), "event");
        a.at = T("2024-07-01T09:00:00Z");
        a.due = T("2024-07-01T10:00:00Z");
        id = store_alert_add(f->st, &a, "s", NULL, &cause);
        assert_true(id > 0);
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

/* The store's own connection: settings that are per connection. */
static void
test_connection_settings(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db = reopen_caught(f);

        assert_int_equal(raw_int(db, "PRAGMA synchronous"), 2); /* FULL */
        assert_int_equal(raw_int(db, "PRAGMA foreign_keys"), 1);
        assert_int_equal(raw_int(db, "PRAGMA busy_timeout"), 5000);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 5);
}

/* --- Transactions and durability ------------------------------------------ */

static void
test_transactions(void **state)
{
        struct fixture *f = *state;
        struct store_case c;
        char *cause = NULL;
        int64_t kept, dropped;

        assert_int_equal(store_begin(f->st, &cause), 0);
        kept = new_case(f, "100001", 1000);
        assert_int_equal(store_commit(f->st, &cause), 0);

        assert_int_equal(store_begin(f->st, &cause), 0);
        /* Not twice. */
        assert_int_equal(store_begin(f->st, &cause), -1);
        assert_non_null(strstr(cause, "begin transaction: "));
        free(cause);
        cause = NULL;
        dropped = new_case(f, "100002", 2000);
        assert_int_equal(store_case_get(f->st, dropped, &c, &cause), 0);
        store_rollback(f->st);
        /* Without a transaction, rolling back is harmless. */
        store_rollback(f->st);

        reopen(f);
        assert_int_equal(store_case_get(f->st, kept, &c, &cause), 0);
        assert_string_equal(c.urn, "100001");
        assert_int_equal(store_case_get(f->st, dropped, &c, &cause), 1);
        assert_int_equal(store_case_current(f->st, "100002", &c, &cause), 1);
        assert_null(cause);
}

static void
test_commit_survives_exit(void **state)
{
        struct fixture *f = *state;
        struct store_case c;
        char *cause = NULL;
        int status;
        pid_t pid;

        /* A process that commits and dies without store_close(). */
        store_close(&f->st);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct store *st = store_open(f->path, NULL);

                if (st == NULL || store_begin(st, NULL) < 0 ||
                    store_case_open(st, "100001", NULL, NULL, 1000, NULL) !=
                        1 ||
                    store_commit(st, NULL) < 0)
                        _exit(1);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        f->st = open_store(f->path);
        assert_int_equal(store_case_get(f->st, 1, &c, &cause), 0);
        assert_string_equal(c.urn, "100001");
        assert_int_equal(c.opened_at, 1000);
}

/* --- Faults --------------------------------------------------------------- */

/*
 * Another process holds the write lock: the store notes the fault with its
 * reason and stops waiting for the lock; writes then fail at once, inside
 * a transaction or not, and reads go on; only a probe that gets through
 * ends the fault.
 */
static void
test_fault_locked(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db = reopen_caught(f), *other = raw_open(f->path);
        const char *text = NULL;
        char *cause = NULL, want[192], gated[256];
        int64_t at;

        /* The first wait is the busy timeout (5 s); not here. */
        raw_exec(db, "PRAGMA busy_timeout = 0");
        assert_int_equal(store_fault(f->st, &text), STORE_OK);
        assert_null(text);
        raw_exec(other, "BEGIN IMMEDIATE");

        assert_int_equal(store_begin(f->st, &cause), -1);
        snprintf(want, sizeof(want),
                 "state database %s: locked by another process", f->path);
        assert_int_equal(store_fault(f->st, &text), STORE_LOCKED);
        assert_string_equal(text, want);
        assert_non_null(strstr(cause, want));
        free(cause);
        cause = NULL;
        assert_int_equal(raw_int(db, "PRAGMA busy_timeout"), 0);
        assert_int_equal(store_next_alert(f->st, &at, &cause), 1);
        assert_int_equal(store_deliveries_requeue(f->st, 1000, &cause), -1);
        snprintf(gated, sizeof(gated), "requeue deliveries: %s", want);
        assert_string_equal(cause, gated);
        free(cause);
        cause = NULL;
        assert_int_equal(store_probe(f->st, &cause), -1);
        assert_non_null(strstr(cause, want));
        free(cause);
        cause = NULL;

        /* The lock has gone, but until a probe says so writes wait. */
        raw_exec(other, "ROLLBACK");
        assert_int_equal(store_begin(f->st, &cause), -1);
        free(cause);
        cause = NULL;
        assert_int_equal(store_probe(f->st, &cause), 0);
        assert_null(cause);
        assert_int_equal(store_fault(f->st, &text), STORE_OK);
        assert_null(text);
        assert_int_equal(raw_int(db, "PRAGMA busy_timeout"), 5000);
        assert_int_equal(store_begin(f->st, &cause), 0);
        new_case(f, "100001", 1000);
        assert_int_equal(store_commit(f->st, &cause), 0);
        sqlite3_close(other);
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
        int64_t c, e, a, d;

        c = new_case(f, "100001", 1000);
        e = new_event(f, c, "pause", 1000);
        a = new_alert(f, c, e, "pause_limit", 2000);
        d = new_delivery(f, a, "heads", 2000);
        assert_int_equal(store_delivery_lease(f->st,
                                              &(struct store_ready){ .id = d },
                                              "w", 2060, 2000, &cause),
                         1);
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
        int64_t c, e, a, d;
        json_t *v, *held;

        c = new_case(f, "100001", 1000);
        e = new_event(f, c, "pause", 1000);
        a = new_alert(f, c, e, "pause_limit", 2000);
        d = new_delivery(f, a, "heads", 2000);
        assert_int_equal(store_delivery_lease(f->st,
                                              &(struct store_ready){ .id = d },
                                              "w1", 2060, 2000, &cause),
                         1);
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
        assert_string_equal(dl.status, "pending");
        assert_string_equal(dl.worker, "");
        assert_int_equal(dl.lease, 2);
        assert_string_equal(dl.prev_worker, "w1");
        assert_int_equal(dl.prev_lease, 1);
        assert_int_equal(dl.attempts, 0);

        /* w2 leases it: w1 stays the previous holder. */
        assert_int_equal(
            store_delivery_lease(f->st,
                                 &(struct store_ready){ .id = d, .lease = 2 },
                                 "w2", 2120, 2061, &cause),
            3);
        find_row(f, d, &dl);
        assert_string_equal(dl.worker, "w2");
        assert_string_equal(dl.prev_worker, "w1");
        assert_int_equal(dl.prev_lease, 1);

        /* The receiver says retry: counted; w2 stays with lease 3. */
        assert_int_equal(
            store_delivery_finish(
                f->st, d,
                &(struct store_outcome){ "retry", 2070, "503", true, false },
                2062, &cause),
            0);
        find_row(f, d, &dl);
        assert_string_equal(dl.status, "retry");
        assert_string_equal(dl.worker, "w2");
        assert_int_equal(dl.lease, 3);
        assert_int_equal(dl.attempts, 1);
        assert_int_equal(dl.held, 0);

        /* w3 leases it: w2 becomes the previous holder. A local retry is
         * not counted as an attempt, and holds it. */
        assert_int_equal(
            store_delivery_lease(f->st,
                                 &(struct store_ready){ .id = d, .lease = 3 },
                                 "w3", 2130, 2070, &cause),
            4);
        find_row(f, d, &dl);
        assert_string_equal(dl.prev_worker, "w2");
        assert_int_equal(dl.prev_lease, 3);
        assert_int_equal(
            store_delivery_finish(f->st, d,
                                  &(struct store_outcome){ "retry", 2500,
                                                           "secret file 'x'",
                                                           false, true },
                                  2071, &cause),
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
        assert_int_equal(
            store_delivery_lease(f->st,
                                 &(struct store_ready){ .id = d, .lease = 4 },
                                 "w3", 2160, 2100, &cause),
            5);
        assert_int_equal(
            store_delivery_finish(
                f->st, d,
                &(struct store_outcome){ "delivered", 0, NULL, true, false },
                2101, &cause),
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
        int64_t c, e, a, d[4];

        c = new_case(f, "100001", 1000);
        e = new_event(f, c, "pause", 1000);
        a = new_alert(f, c, e, "pause_limit", 2000);
        for (int i = 0; i < 4; i++)
                d[i] = new_delivery(f, a, "heads", 2000);
        /* d[0] pending; d[1] leased; d[2] waiting to retry; d[3] done. */
        assert_int_equal(
            store_delivery_lease(f->st, &(struct store_ready){ .id = d[1] },
                                 "w", 2060, 2000, &cause),
            1);
        assert_int_equal(
            store_delivery_lease(f->st, &(struct store_ready){ .id = d[2] },
                                 "w", 2060, 2000, &cause),
            1);
        assert_int_equal(
            store_delivery_finish(f->st, d[2],
                                  &(struct store_outcome){
                                      "retry", 2030, "HTTP 503", true, false },
                                  2000, &cause),
            0);
        assert_int_equal(
            store_delivery_lease(f->st, &(struct store_ready){ .id = d[3] },
                                 "w", 2060, 2000, &cause),
            1);
        assert_int_equal(
            store_delivery_finish(
                f->st, d[3],
                &(struct store_outcome){ "delivered", 0, NULL, true, false },
                2001, &cause),
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

/* The permission bits of `path` plus `suffix`; fails when it is absent. */
static unsigned
mode_of(const char *path, const char *suffix)
{
        char file[160];
        struct stat sb;

        snprintf(file, sizeof(file), "%s%s", path, suffix);
        if (stat(file, &sb) < 0)
                fail_msg("stat '%s': %s", file, strerror(errno));
        return sb.st_mode & 07777;
}

/* Opens `path` with `mode`, records a case, and checks the three files. */
static void
check_modes(const char *path, unsigned mode, unsigned want)
{
        char *cause = NULL, *notice = NULL;
        struct store *st = store_open_mode(path, mode, &notice, &cause);

        if (st == NULL)
                fail_msg("store_open_mode: %s", cause);
        assert_null(notice);
        /* A write, so that the -wal and -shm are there. */
        assert_true(store_case_open(st, "100001", NULL, NULL, 1000, &cause) >
                    0);
        assert_int_equal(mode_of(path, ""), want);
        assert_int_equal(mode_of(path, "-wal"), want);
        assert_int_equal(mode_of(path, "-shm"), want);
        store_close(&st);
}

/*
 * The database holds contact details: it and SQLite's -wal and -shm are
 * made with the mode asked for (0600 by default) whatever the umask, and
 * an existing file open wider is narrowed, saying so.
 */
static void
test_file_modes(void **state)
{
        static const char *const suffixes[] = { "", "-wal", "-shm" };
        struct fixture *f = *state;
        char other[128], file[160], *cause = NULL, *notice = NULL;
        mode_t old;

        store_close(&f->st);
        for (size_t i = 0; i < 3; i++) {
                snprintf(file, sizeof(file), "%s%s", f->path, suffixes[i]);
                unlink(file);
        }
        old = umask(022);
        check_modes(f->path, STORE_MODE, 0600);
        /* Run by hand the day before, under umask 022: narrowed. */
        assert_int_equal(chmod(f->path, 0644), 0);
        f->st = store_open_mode(f->path, STORE_MODE, &notice, &cause);
        assert_non_null(f->st);
        assert_non_null(notice);
        snprintf(file, sizeof(file), "%s mode 0644 narrowed to 0600", f->path);
        if (strstr(notice, file) == NULL)
                fail_msg("notice '%s' lacks '%s'", notice, file);
        free(notice);
        assert_int_equal(mode_of(f->path, ""), 0600);
        /* A mode narrower than asked for stays. */
        store_close(&f->st);
        assert_int_equal(chmod(f->path, 0600), 0);
        f->st = store_open_mode(f->path, 0660, &notice, &cause);
        assert_non_null(f->st);
        assert_null(notice);
        assert_int_equal(mode_of(f->path, ""), 0600);

        /* The group's mode, under a umask that would take it away. */
        umask(077);
        snprintf(other, sizeof(other), "%s/group.db", f->dir);
        check_modes(other, 0660, 0660);
        umask(old);
        for (size_t i = 0; i < 3; i++) {
                snprintf(file, sizeof(file), "%s%s", other, suffixes[i]);
                unlink(file);
        }
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int
main(void)
{
        const struct CMUnitTest tests[] = {
                TEST(test_open_creates_and_migrates),
                TEST(test_reopen_keeps_data),
                TEST(test_migrates_v1),
                TEST(test_migration_checks_references),
                TEST(test_newer_schema_refused),
                TEST(test_open_errors),
                TEST(test_close),
                TEST(test_cases),
                TEST(test_state_names),
                TEST(test_events),
                TEST(test_alerts_cancel),
                TEST(test_next_alert),
                TEST(test_due_alerts),
                TEST(test_fire_miss),
                TEST(test_pending_groups),
                TEST(test_delivery_uids),
                TEST(test_json_cases),
                TEST(test_json_case),
                TEST(test_json_upcoming),
                TEST(test_json_history),
                TEST(test_json_counts),
                TEST(test_query_plan),
                TEST(test_job_text),
                TEST(test_job_text_zones),
                TEST(test_connection_settings),
                TEST(test_transactions),
                TEST(test_fault_locked),
                TEST(test_expire_reads_first),
                TEST(test_deliveries_shift),
                TEST(test_delivery_holders),
                TEST(test_commit_survives_exit),
                TEST(test_file_modes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
