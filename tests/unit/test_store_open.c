/*
 * Tests for store: opening, migrating, the connection's settings, transactions,
 * durability, faults and file modes.
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

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- Opening and migrating ------------------------------------------------ */

static void
test_open_creates_and_migrates(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db = raw_open(f->path);
        char buf[256];

        assert_int_equal(raw_int(db, "PRAGMA user_version"),
                         STORE_SCHEMA_VERSION);
        assert_int_equal(STORE_SCHEMA_VERSION, 11);
        assert_string_equal(
            raw_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master "
                                     "WHERE type = 'table' AND name IN "
                                     "('cases', 'events', 'alerts', "
                                     "'deliveries', 'acks', 'links')"),
                         6);
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
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 11);
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
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 11);
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
        /* Version 6: the foreign keys are indexed. */
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master "
                                     "WHERE type = 'index' AND name IN "
                                     "('events_case', 'alerts_case', "
                                     "'deliveries_alert')"),
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
                                      "this program's 11",
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

/* The store's own connection: settings that are per connection. */
static void
test_connection_settings(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db = reopen_caught(f);

        assert_int_equal(raw_int(db, "PRAGMA synchronous"), 2); /* FULL */
        assert_int_equal(raw_int(db, "PRAGMA foreign_keys"), 1);
        assert_int_equal(raw_int(db, "PRAGMA busy_timeout"), 5000);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 11);
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

UNIT_MAIN({
    TEST(test_open_creates_and_migrates),
    TEST(test_reopen_keeps_data),
    TEST(test_migrates_v1),
    TEST(test_migration_checks_references),
    TEST(test_newer_schema_refused),
    TEST(test_open_errors),
    TEST(test_close),
    TEST(test_connection_settings),
    TEST(test_transactions),
    TEST(test_fault_locked),
    TEST(test_commit_survives_exit),
    TEST(test_file_modes),
})
