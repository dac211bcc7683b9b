#include "store.h"

#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000
#define MISSED_MAX      20

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define XSTR(x)  STR(x)
#define STR(x)   #x

/*
 * Schema migrations: migrations[v] takes the database from user_version v
 * to v + 1. Append only; never edit a migration that has shipped.
 */
static const char *const migrations[] = {
        /* 0 -> 1: the first schema. */
        "CREATE TABLE cases ("
        " id INTEGER PRIMARY KEY,"
        " urn TEXT NOT NULL,"
        " state TEXT NOT NULL"
        "  CHECK (state IN ('open', 'paused', 'concluded', 'closed')),"
        " contact TEXT,"
        " note TEXT,"
        " opened_at INTEGER NOT NULL,"
        " closed_at INTEGER);"
        "CREATE INDEX cases_urn ON cases(urn, id);"
        "CREATE TABLE events ("
        " id INTEGER PRIMARY KEY,"
        " case_id INTEGER NOT NULL REFERENCES cases(id),"
        " kind TEXT NOT NULL,"
        " at INTEGER NOT NULL,"
        " recorded_at INTEGER NOT NULL,"
        " contact TEXT,"
        " note TEXT);"
        "CREATE TABLE alerts ("
        " id INTEGER PRIMARY KEY,"
        " case_id INTEGER NOT NULL REFERENCES cases(id),"
        " event_id INTEGER NOT NULL REFERENCES events(id),"
        " rule TEXT NOT NULL,"
        " offset TEXT NOT NULL,"
        " at INTEGER NOT NULL,"
        " due INTEGER NOT NULL,"
        " opens INTEGER,"
        " sig TEXT NOT NULL,"
        " warning TEXT,"
        " state TEXT NOT NULL"
        "  CHECK (state IN ('pending', 'fired', 'cancelled', 'missed')),"
        " late INTEGER NOT NULL DEFAULT 0,"
        " done_at INTEGER);"
        "CREATE INDEX alerts_pending ON alerts(at) WHERE state = 'pending';"
        "CREATE TABLE deliveries ("
        " id INTEGER PRIMARY KEY,"
        " uid TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),"
        " alert_id INTEGER NOT NULL REFERENCES alerts(id),"
        " channel TEXT NOT NULL,"
        " type TEXT NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN"
        "  ('pending', 'sending', 'delivered', 'retry', 'failed')),"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_at INTEGER,"
        " last_error TEXT,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL);"
        "CREATE INDEX deliveries_status ON deliveries(status, next_at);",
        /* 1 -> 2: leases for dispatch to workers. */
        "ALTER TABLE deliveries ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;"
        "ALTER TABLE deliveries ADD COLUMN worker TEXT;",
        /* 2 -> 3: a waiting (or leased) delivery always has next_at, a
         * new one its creation time, so the deliveries ready to send are
         * read in order straight off a partial index, not sorted on every
         * pass. */
        "UPDATE deliveries SET next_at = created_at "
        "WHERE status IN ('pending', 'sending') AND next_at IS NULL;"
        "CREATE INDEX deliveries_ready ON deliveries(next_at, id) "
        "WHERE status IN ('pending', 'retry');",
        /*
         * 3 -> 4: alerts and deliveries rebuilt (SQLite's twelve steps for
         * a schema change; migrate() turns foreign keys off around it and
         * checks them before it commits). SQLite evaluates "x IN (list)" by
         * building a temporary b-tree, and it evaluated the state and
         * status CHECKs and the deliveries_ready WHERE on every insert and
         * update of a row: the same tests written with OR cost a third as
         * much. And an index of the leases out, by expiry: on every pass
         * the daemon asks for the soonest expiry and whether any has
         * passed, and each question read every leased row.
         */
        "CREATE TABLE alerts_4 ("
        " id INTEGER PRIMARY KEY,"
        " case_id INTEGER NOT NULL REFERENCES cases(id),"
        " event_id INTEGER NOT NULL REFERENCES events(id),"
        " rule TEXT NOT NULL,"
        " offset TEXT NOT NULL,"
        " at INTEGER NOT NULL,"
        " due INTEGER NOT NULL,"
        " opens INTEGER,"
        " sig TEXT NOT NULL,"
        " warning TEXT,"
        " state TEXT NOT NULL CHECK (state = 'pending' OR state = 'fired' OR"
        "  state = 'cancelled' OR state = 'missed'),"
        " late INTEGER NOT NULL DEFAULT 0,"
        " done_at INTEGER);"
        "INSERT INTO alerts_4 SELECT id, case_id, event_id, rule, offset, at,"
        " due, opens, sig, warning, state, late, done_at FROM alerts;"
        "DROP TABLE alerts;"
        "ALTER TABLE alerts_4 RENAME TO alerts;"
        "CREATE INDEX alerts_pending ON alerts(at) WHERE state = 'pending';"
        "CREATE TABLE deliveries_4 ("
        " id INTEGER PRIMARY KEY,"
        " uid TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),"
        " alert_id INTEGER NOT NULL REFERENCES alerts(id),"
        " channel TEXT NOT NULL,"
        " type TEXT NOT NULL,"
        " status TEXT NOT NULL CHECK (status = 'pending' OR"
        "  status = 'sending' OR status = 'delivered' OR status = 'retry' OR"
        "  status = 'failed'),"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_at INTEGER,"
        " last_error TEXT,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL,"
        " lease INTEGER NOT NULL DEFAULT 0,"
        " lease_until INTEGER,"
        " worker TEXT);"
        "INSERT INTO deliveries_4 SELECT id, uid, alert_id, channel, type,"
        " status, attempts, next_at, last_error, created_at, updated_at,"
        " lease, lease_until, worker FROM deliveries;"
        "DROP TABLE deliveries;"
        "ALTER TABLE deliveries_4 RENAME TO deliveries;"
        "CREATE INDEX deliveries_status ON deliveries(status, next_at);"
        "CREATE INDEX deliveries_ready ON deliveries(next_at, id) "
        "WHERE status = 'pending' OR status = 'retry';"
        "CREATE INDEX deliveries_leased ON deliveries(lease_until) "
        "WHERE status = 'sending';",
        /*
         * 4 -> 5: who may settle a delivery, and what counts as an
         * attempt (docs/dispatch.md). `worker` now stays after an outcome
         * (the holder of lease `lease`, so its repeats are known);
         * prev_worker and prev_lease keep the holder before, whose late
         * `delivered` is still taken. `attempts` counts the receiver's
         * answers, `sent` the jobs handed to workers (a JOB's "attempt");
         * until now both were the leases. `held` counts the retries in a
         * row for a problem on our side (a secret file), 0 when none.
         */
        "ALTER TABLE deliveries ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;"
        "UPDATE deliveries SET sent = attempts;"
        "ALTER TABLE deliveries ADD COLUMN prev_worker TEXT;"
        "ALTER TABLE deliveries ADD COLUMN prev_lease INTEGER;"
        "ALTER TABLE deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(NELEM(migrations) == STORE_SCHEMA_VERSION,
               "one migration per schema version");

enum stmt {
        S_BEGIN,
        S_COMMIT,
        S_ROLLBACK,
        S_CASE_OPEN,
        S_CASE_CURRENT,
        S_CASE_GET,
        S_CASE_SET_STATE,
        S_CASE_SET_CONTACT,
        S_CASE_CONTACT,
        S_EVENT_ADD,
        S_ALERT_ADD,
        S_ALERTS_CANCEL,
        S_NEXT_ALERT,
        S_DUE_ALERTS,
        S_ALERT_FIRE,
        S_ALERT_MISS,
        S_PENDING_GROUPS,
        S_DELIVERY_ADD,
        S_JSON_CASES,
        S_JSON_CASE,
        S_JSON_CASE_EVENTS,
        S_JSON_CASE_ALERTS,
        S_JSON_UPCOMING,
        S_JSON_HISTORY,
        S_COUNT_CASES,
        S_COUNT_ALERTS,
        S_COUNT_DELIVERIES,
        S_MISSED,
        S_METRIC_ALERTS,
        S_METRIC_DELIVERIES,
        S_LAST_DELIVERED,
        S_DELIVERIES_REQUEUE,
        S_DELIVERIES_EXPIRE,
        S_DELIVERIES_RELEASE,
        S_DELIVERIES_READY,
        S_DELIVERY_LEASE,
        S_DELIVERY_FIND,
        S_DELIVERY_FINISH,
        S_NEXT_DELIVERY,
        S_JSON_JOB,
        S_LEASES_DUE,
        S_DELIVERIES_SHIFT,
        S_DELIVERIES_UNHOLD,
        S_JSON_HELD,
        S_PROBE,
        S_COUNT
};

/*
 * Every statement the store runs. The queries on pending alerts by time
 * say "state = 'pending'" literally so that SQLite can use the partial
 * index alerts_pending; the two the scheduler runs on every wake-up are
 * tagged with a comment so the tests can find them and check their plan.
 */
static const char *const stmt_sql[S_COUNT] = {
        [S_BEGIN] = "BEGIN IMMEDIATE",
        [S_COMMIT] = "COMMIT",
        [S_ROLLBACK] = "ROLLBACK",
        [S_CASE_OPEN] = "INSERT INTO cases (urn, state, contact, note, "
                        "opened_at) VALUES (?1, 'open', ?2, ?3, ?4)",
        [S_CASE_CURRENT] = "SELECT id, urn, state, opened_at FROM cases "
                           "WHERE urn = ?1 AND state <> 'closed' "
                           "ORDER BY id DESC LIMIT 1",
        [S_CASE_GET] = "SELECT id, urn, state, opened_at FROM cases "
                       "WHERE id = ?1",
        [S_CASE_SET_STATE] = "UPDATE cases SET state = ?2, closed_at = "
                             "CASE WHEN ?2 = 'closed' THEN ?3 END "
                             "WHERE id = ?1",
        [S_CASE_SET_CONTACT] = "UPDATE cases SET contact = ?2 WHERE id = ?1",
        [S_CASE_CONTACT] = "SELECT contact FROM cases WHERE id = ?1",
        [S_EVENT_ADD] = "INSERT INTO events (case_id, kind, at, recorded_at, "
                        "contact, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [S_ALERT_ADD] = "INSERT INTO alerts (case_id, event_id, rule, offset, "
                        "at, due, opens, sig, warning, state) VALUES "
                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
        [S_ALERTS_CANCEL] = "UPDATE alerts SET state = 'cancelled', "
                            "done_at = ?3 WHERE state = 'pending' "
                            "AND case_id = ?1 AND (?2 IS NULL OR rule = ?2) "
                            "AND (?4 IS NULL OR event_id = ?4)",
        [S_NEXT_ALERT] = "/* next_alert */ SELECT at FROM alerts "
                         "WHERE state = 'pending' ORDER BY at LIMIT 1",
        [S_DUE_ALERTS] = "/* due_alerts */ SELECT a.id, a.case_id, "
                         "a.event_id, c.urn, a.rule, a.offset, a.at, a.due, "
                         "a.opens FROM alerts AS a "
                         "JOIN cases AS c ON c.id = a.case_id "
                         "WHERE a.state = 'pending' AND a.at <= ?1 "
                         "ORDER BY a.at, a.id LIMIT ?2",
        [S_ALERT_FIRE] = "UPDATE alerts SET state = 'fired', late = ?3, "
                         "done_at = ?2 WHERE id = ?1 AND state = 'pending'",
        [S_ALERT_MISS] = "UPDATE alerts SET state = 'missed', done_at = ?2 "
                         "WHERE id = ?1 AND state = 'pending'",
        [S_PENDING_GROUPS] = "SELECT DISTINCT a.case_id, a.event_id, e.at, "
                             "c.urn, a.rule, a.sig FROM alerts AS a "
                             "JOIN events AS e ON e.id = a.event_id "
                             "JOIN cases AS c ON c.id = a.case_id "
                             "WHERE a.state = 'pending' "
                             "ORDER BY a.case_id, a.event_id, a.rule, a.sig",
        [S_DELIVERY_ADD] = "INSERT INTO deliveries (alert_id, channel, type, "
                           "status, next_at, created_at, updated_at) "
                           "VALUES (?1, ?2, ?3, 'pending', ?4, ?4, ?4)",
        [S_JSON_CASES] =
            "WITH last AS (SELECT case_id, max(id) AS id FROM events "
            "GROUP BY case_id), "
            "pending AS (SELECT case_id, count(*) AS n FROM alerts "
            "WHERE state = 'pending' GROUP BY case_id) "
            "SELECT c.id, c.urn, c.state, c.opened_at, e.kind, e.at, "
            "coalesce(p.n, 0), c.contact FROM cases AS c "
            "LEFT JOIN last AS l ON l.case_id = c.id "
            "LEFT JOIN events AS e ON e.id = l.id "
            "LEFT JOIN pending AS p ON p.case_id = c.id "
            "WHERE ?1 OR c.state <> 'closed' ORDER BY c.id DESC",
        [S_JSON_CASE] = "SELECT id, urn, state, opened_at, closed_at, "
                        "contact, note FROM cases WHERE id = ?1",
        [S_JSON_CASE_EVENTS] = "SELECT id, kind, at, recorded_at, contact, "
                               "note FROM events WHERE case_id = ?1 "
                               "ORDER BY id",
        [S_JSON_CASE_ALERTS] = "SELECT id, rule, offset, at, due, state, "
                               "late, done_at FROM alerts WHERE case_id = ?1 "
                               "ORDER BY at, id",
        [S_JSON_UPCOMING] = "SELECT a.case_id, c.urn, a.rule, a.at, "
                            "a.offset, a.due, a.opens FROM alerts AS a "
                            "JOIN cases AS c ON c.id = a.case_id "
                            "WHERE a.state = 'pending' "
                            "AND (?1 IS NULL OR c.urn = ?1) "
                            "ORDER BY a.at, a.id",
        [S_JSON_HISTORY] = "SELECT d.uid, a.case_id, c.urn, a.rule, a.offset, "
                           "d.channel, d.type, d.status, d.attempts, "
                           "d.last_error, a.late, d.created_at, d.updated_at "
                           "FROM deliveries AS d "
                           "JOIN alerts AS a ON a.id = d.alert_id "
                           "JOIN cases AS c ON c.id = a.case_id "
                           "WHERE (?1 IS NULL OR c.urn = ?1) "
                           "AND (?3 IS NULL OR d.uid = ?3) "
                           "ORDER BY d.id DESC LIMIT ?2",
        [S_COUNT_CASES] = "SELECT state, count(*) FROM cases GROUP BY state",
        [S_COUNT_ALERTS] = "SELECT state, count(*) FROM alerts "
                           "GROUP BY state",
        [S_COUNT_DELIVERIES] = "SELECT status, count(*) FROM deliveries "
                               "GROUP BY status",
        [S_MISSED] = "SELECT a.case_id, c.urn, a.rule, a.at, a.offset "
                     "FROM alerts AS a JOIN cases AS c ON c.id = a.case_id "
                     "WHERE a.state = 'missed' "
                     "ORDER BY a.done_at DESC, a.id DESC LIMIT ?1",
        [S_METRIC_ALERTS] = "SELECT rule, state, count(*) FROM alerts "
                            "GROUP BY rule, state ORDER BY rule, state",
        [S_METRIC_DELIVERIES] = "SELECT type, status, count(*) FROM "
                                "deliveries GROUP BY type, status "
                                "ORDER BY type, status",
        [S_LAST_DELIVERED] = "SELECT max(updated_at) FROM deliveries "
                             "WHERE status = 'delivered'",
        /* A raised lease makes a late outcome of the old one recognisable. */
        [S_DELIVERIES_REQUEUE] = "UPDATE deliveries SET status = 'pending', "
                                 "prev_worker = worker, prev_lease = lease, "
                                 "lease = lease + 1, lease_until = NULL, "
                                 "worker = NULL, updated_at = ?1 "
                                 "WHERE status = 'sending'",
        /* One row per lease that ran out, naming its worker. */
        [S_DELIVERIES_EXPIRE] = "UPDATE deliveries SET status = 'pending', "
                                "prev_worker = worker, prev_lease = lease, "
                                "lease = lease + 1, lease_until = NULL, "
                                "worker = NULL, updated_at = ?1 "
                                "WHERE status = 'sending' "
                                "AND lease_until <= ?1 "
                                "RETURNING prev_worker",
        [S_DELIVERIES_RELEASE] = "UPDATE deliveries SET status = 'pending', "
                                 "prev_worker = worker, prev_lease = lease, "
                                 "lease = lease + 1, lease_until = NULL, "
                                 "worker = NULL, updated_at = ?2 "
                                 "WHERE status = 'sending' AND worker = ?1",
        [S_DELIVERIES_READY] = "/* deliveries_ready */ SELECT d.id, "
                               "d.channel, d.type, d.lease, c.urn, a.rule "
                               "FROM deliveries AS d "
                               "INDEXED BY deliveries_ready "
                               "JOIN alerts AS a ON a.id = d.alert_id "
                               "JOIN cases AS c ON c.id = a.case_id "
                               "WHERE (d.status = 'pending' OR "
                               "d.status = 'retry') "
                               "AND d.next_at <= ?1 "
                               "AND (d.type = 'email') = ?2 "
                               "AND d.channel NOT IN "
                               "(SELECT value FROM json_each(?4)) "
                               "ORDER BY d.next_at, d.id LIMIT ?3",
        /* The worker of the last outcome (a retry's) becomes the
         * previous holder; after an expiry it already is. */
        [S_DELIVERY_LEASE] = "UPDATE deliveries SET status = 'sending', "
                             "lease = ?5 + 1, sent = sent + 1, "
                             "prev_worker = coalesce(worker, prev_worker), "
                             "prev_lease = CASE WHEN worker IS NULL "
                             "THEN prev_lease ELSE lease END, "
                             "worker = ?2, lease_until = ?3, updated_at = ?4 "
                             "WHERE id = ?1 AND lease = ?5 AND "
                             "(status = 'pending' OR status = 'retry')",
        [S_DELIVERY_FIND] = "SELECT d.id, d.status, d.lease, d.attempts, "
                            "a.done_at, d.channel, d.type, d.worker, "
                            "d.prev_worker, d.prev_lease, d.held "
                            "FROM deliveries "
                            "AS d JOIN alerts AS a ON a.id = d.alert_id "
                            "WHERE d.uid = ?1",
        /* The worker stays: the holder of the lease the outcome settled. */
        [S_DELIVERY_FINISH] = "UPDATE deliveries SET status = ?2, "
                              "next_at = ?3, last_error = ?4, "
                              "updated_at = ?5, lease_until = NULL, "
                              "attempts = attempts + ?6, "
                              "held = CASE WHEN ?7 THEN held + 1 ELSE 0 END "
                              "WHERE id = ?1",
        [S_NEXT_DELIVERY] = "/* next_delivery */ SELECT min(t) FROM ("
                            "SELECT min(next_at) AS t FROM deliveries "
                            "WHERE status = 'retry' UNION ALL "
                            "SELECT min(lease_until) FROM deliveries "
                            "INDEXED BY deliveries_leased "
                            "WHERE status = 'sending')",
        /* The JOB body, written by SQLite's json_object(); the config's
         * part bound (?2 trust, ?3 school name, ?4 action, ?5 contact),
         * times through the store's functions in the zone of the call. */
        [S_JSON_JOB] =
            "SELECT json_object('delivery', d.uid, 'lease', d.lease, "
            "'attempt', d.sent, 'channel', d.channel, 'type', d.type, "
            "'alert', json_object('trust', ?2, 'case', a.case_id, "
            "'school', json_object('urn', c.urn, 'name', coalesce(?3, c.urn)), "
            "'rule', a.rule, 'offset', a.offset, "
            "'late', json(CASE WHEN a.late THEN 'true' ELSE 'false' END), "
            "'action', ?4, 'contact', coalesce(?5, c.contact, ''), "
            "'at', onotify_local(a.at), 'due', onotify_local(a.due), "
            "'due_utc', onotify_utc(a.due), "
            "'due_human', onotify_human(a.due), "
            "'opens', onotify_local(a.opens), "
            "'opens_human', onotify_human(a.opens), 'warning', a.warning)) "
            "FROM deliveries AS d JOIN alerts AS a ON a.id = d.alert_id "
            "JOIN cases AS c ON c.id = a.case_id WHERE d.id = ?1",
        [S_LEASES_DUE] = "/* leases_due */ SELECT 1 FROM deliveries "
                         "INDEXED BY deliveries_leased "
                         "WHERE status = 'sending' "
                         "AND lease_until <= ?1 LIMIT 1",
        [S_DELIVERIES_SHIFT] = "UPDATE deliveries SET next_at = next_at + ?1, "
                               "lease_until = lease_until + ?1 "
                               "WHERE status IN ('pending', 'sending', "
                               "'retry')",
        /* After a reload: what waits for a local problem goes now. */
        [S_DELIVERIES_UNHOLD] = "UPDATE deliveries SET next_at = ?1 "
                                "WHERE status = 'retry' AND held > 0 "
                                "AND next_at > ?1",
        [S_JSON_HELD] = "SELECT channel, count(*), last_error "
                        "FROM deliveries WHERE held > 0 AND "
                        "(status = 'pending' OR status = 'sending' OR "
                        "status = 'retry') GROUP BY channel ORDER BY channel",
        /* A one-page write that changes nothing (see store_probe()). */
        [S_PROBE] = "PRAGMA user_version = " XSTR(STORE_SCHEMA_VERSION),
};

static const char *const case_states[] = {
        [CASE_OPEN] = "open",
        [CASE_PAUSED] = "paused",
        [CASE_CONCLUDED] = "concluded",
        [CASE_CLOSED] = "closed",
};

static const char *const alert_states[] = {
        [ALERT_PENDING] = "pending",
        [ALERT_FIRED] = "fired",
        [ALERT_CANCELLED] = "cancelled",
        [ALERT_MISSED] = "missed",
};

/* As the CHECK constraint on deliveries.status has them. */
static const char *const delivery_statuses[] = {
        "pending", "sending", "delivered", "retry", "failed",
};

/* A time the onotify_*() SQL functions wrote, kept for the next call. */
struct time_memo {
        const struct tz *tz;
        int64_t t;
        char text[64];
};

#define TIME_MEMOS 4 /* per form: a JOB has at most three distinct times */

struct store {
        sqlite3 *db;
        const struct tz *tz; /* the zone of the onotify_*() SQL functions */
        /* The last times they wrote, by form, within one transaction: in a
         * burst, the jobs of one rule mostly share their times, and writing
         * them was two fifths of the cost of a job's text. */
        struct time_memo memo[3][TIME_MEMOS];
        unsigned memo_next[3];
        sqlite3_stmt *stmts[S_COUNT];
        char *path;
        enum store_fault fault;
        char *fault_text; /* "state database PATH: why", while faulty */
};

/* A pending group copied out of its row, so fn may use the store. */
struct group_copy {
        struct store_group g;
        char *sig;
};

const char *
store_case_state_name(enum case_state state)
{
        if ((unsigned)state >= NELEM(case_states))
                return "unknown";
        return case_states[state];
}

const char *
store_alert_state_name(enum alert_state state)
{
        if ((unsigned)state >= NELEM(alert_states))
                return "unknown";
        return alert_states[state];
}

/* --- Helpers -------------------------------------------------------------- */

/*
 * Whether the connection's last error means the file cannot be written,
 * and why, in words (*why is static or the connection's message). `sys` is
 * errno as the failed call left it: for a failed write SQLite says only
 * "disk I/O error" and keeps no errno (sqlite3_system_errno() is 0), but
 * errno still holds the kernel's reason.
 */
static enum store_fault
classify(struct store *st, int sys, const char **why)
{
        int err;

        switch (sqlite3_extended_errcode(st->db) & 0xff) {
        case SQLITE_FULL:
                *why = "disk full";
                return STORE_FULL;
        case SQLITE_BUSY:
                *why = "locked by another process";
                return STORE_LOCKED;
        case SQLITE_READONLY:
                *why = "read-only";
                return STORE_READONLY;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
                err = sqlite3_system_errno(st->db);
                if (err == 0)
                        err = sys;
                if (err == ENOSPC) {
                        *why = "disk full";
                        return STORE_FULL;
                }
                if (err == EDQUOT) {
                        *why = "disk quota exceeded";
                        return STORE_FULL;
                }
                if (err == EROFS) {
                        *why = "read-only file system";
                        return STORE_READONLY;
                }
                if (err == EACCES || err == EPERM) {
                        *why = "permission denied";
                        return STORE_READONLY;
                }
                *why = err != 0 ? strerror(err) : sqlite3_errmsg(st->db);
                return STORE_IOERR;
        default:
                return STORE_OK;
        }
}

/*
 * Records a fault. While another process holds the lock, writes stop
 * waiting for it: one bounded wait an episode, not one a statement.
 */
static void
set_fault(struct store *st, enum store_fault fault, const char *why)
{
        char *text;

        xasprintf(&text, "state database %s: %s", st->path, why);
        free(st->fault_text);
        st->fault_text = text;
        st->fault = fault;
        sqlite3_busy_timeout(st->db,
                             fault == STORE_LOCKED ? 0 : BUSY_TIMEOUT_MS);
}

static void
clear_fault(struct store *st)
{
        free(st->fault_text);
        st->fault_text = NULL;
        st->fault = STORE_OK;
        sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
}

/*
 * Sets *cause to "what: <the connection's last error>", and notes a fault
 * when the error is one; returns -1.
 */
static int
fail(struct store *st, const char *what, char **cause)
{
        int sys = errno;
        const char *why = NULL;
        enum store_fault fault = classify(st, sys, &why);

        if (fault != STORE_OK)
                set_fault(st, fault, why);
        if (cause != NULL)
                xasprintf(cause, "%s: %s", what,
                          fault != STORE_OK ? st->fault_text
                                            : sqlite3_errmsg(st->db));
        return -1;
}

/* While a fault lasts, a write fails at once with its reason. */
static int
gate(struct store *st, const char *what, char **cause)
{
        if (st->fault == STORE_OK)
                return 0;
        if (cause != NULL)
                xasprintf(cause, "%s: %s", what, st->fault_text);
        return -1;
}

/* Readies a statement for its next use and drops the borrowed bindings. */
static void
done(sqlite3_stmt *s)
{
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
}

/*
 * Binds text, or NULL when v is NULL. The text is borrowed (SQLITE_STATIC):
 * every caller clears the bindings before v can go away.
 */
static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
        if (v == NULL)
                return sqlite3_bind_null(s, i);
        return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Binds a fixed-size field that may fill its array without a NUL. */
static int
bind_field(sqlite3_stmt *s, int i, const char *v, size_t size)
{
        return sqlite3_bind_text(s, i, v, (int)strnlen(v, size), SQLITE_STATIC);
}

/* Binds a time, or NULL when it is 0 (absent). */
static int
bind_time(sqlite3_stmt *s, int i, int64_t v)
{
        if (v == 0)
                return sqlite3_bind_null(s, i);
        return sqlite3_bind_int64(s, i, v);
}

/*
 * Steps: 1 on a row, 0 when done, -1 (cause set) on an error. A write
 * outside a transaction passes the gate first (inside one, store_begin()
 * did).
 */
static int
step(struct store *st, sqlite3_stmt *s, const char *what, char **cause)
{
        int rc;

        if (!sqlite3_stmt_readonly(s) && sqlite3_get_autocommit(st->db) &&
            gate(st, what, cause) < 0)
                return -1;
        errno = 0; /* see classify() */
        rc = sqlite3_step(s);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return fail(st, what, cause);
}

/* Runs a statement that returns no rows, then readies it again. */
static int
run(struct store *st, sqlite3_stmt *s, const char *what, char **cause)
{
        int rc = step(st, s, what, cause);

        done(s);
        return rc < 0 ? -1 : 0;
}

/* A text column into a fixed-size field, truncated if it must be. */
static void
copy_col(char *dst, size_t size, sqlite3_stmt *s, int col)
{
        const char *v = (const char *)sqlite3_column_text(s, col);
        size_t n = v == NULL ? 0 : strnlen(v, size - 1);

        if (n > 0)
                memcpy(dst, v, n);
        dst[n] = '\0';
}

static const char *
col_text(sqlite3_stmt *s, int col)
{
        return (const char *)sqlite3_column_text(s, col);
}

/* A time column as RFC 3339 text in buf, or NULL when the column is NULL. */
static const char *
col_time(const struct tz *tz, sqlite3_stmt *s, int col, char *buf, size_t len)
{
        if (sqlite3_column_type(s, col) == SQLITE_NULL)
                return NULL;
        timefmt_rfc3339(tz, sqlite3_column_int64(s, col), buf, len);
        return buf;
}

/* A row of (id, urn, state, opened_at) into *out. */
static int
read_case(sqlite3_stmt *s, struct store_case *out, const char *what,
          char **cause)
{
        const char *state = col_text(s, 2);
        size_t i;

        for (i = 0; i < NELEM(case_states); i++) {
                if (state != NULL && strcmp(state, case_states[i]) == 0)
                        break;
        }
        if (i == NELEM(case_states)) {
                if (cause != NULL)
                        xasprintf(cause, "%s: unknown case state '%s'", what,
                                  state == NULL ? "" : state);
                return -1;
        }
        memset(out, 0, sizeof(*out));
        out->id = sqlite3_column_int64(s, 0);
        copy_col(out->urn, sizeof(out->urn), s, 1);
        out->state = (enum case_state)i;
        out->opened_at = sqlite3_column_int64(s, 3);
        return 0;
}

/* Appends a row built by json_pack(), failing when it could not be. */
static int
append(json_t *array, json_t *row, const char *what, char **cause)
{
        if (row == NULL || json_array_append_new(array, row) < 0) {
                if (cause != NULL)
                        xasprintf(cause, "%s: a row cannot be written as JSON",
                                  what);
                return -1;
        }
        return 0;
}

/* --- Opening and closing -------------------------------------------------- */

/* Runs a PRAGMA that answers one value; its text is copied into buf. */
static int
pragma(struct store *st, const char *sql, char *buf, size_t len)
{
        sqlite3_stmt *s = NULL;
        int rc = -1;

        if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
                goto out;
        if (sqlite3_step(s) != SQLITE_ROW)
                goto out;
        copy_col(buf, len, s, 0);
        rc = 0;
out:
        sqlite3_finalize(s);
        return rc;
}

static int
user_version(struct store *st, const char *path, int *version, char **cause)
{
        char buf[32];

        if (pragma(st, "PRAGMA user_version", buf, sizeof(buf)) < 0) {
                xasprintf(cause, "%s: read schema version: %s", path,
                          sqlite3_errmsg(st->db));
                return -1;
        }
        *version = atoi(buf);
        return 0;
}

/* After a migration: no row refers to one that is not there. */
static int
foreign_key_check(struct store *st, const char *path, char **cause)
{
        sqlite3_stmt *s = NULL;
        int rc;

        if (sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s,
                               NULL) != SQLITE_OK) {
                xasprintf(cause, "%s: foreign key check: %s", path,
                          sqlite3_errmsg(st->db));
                return -1;
        }
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                xasprintf(cause,
                          "%s: migration: row %lld of table %s refers to a "
                          "missing row of %s",
                          path, (long long)sqlite3_column_int64(s, 1),
                          (const char *)sqlite3_column_text(s, 0),
                          (const char *)sqlite3_column_text(s, 2));
        else if (rc != SQLITE_DONE)
                xasprintf(cause, "%s: foreign key check: %s", path,
                          sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Brings the schema to STORE_SCHEMA_VERSION in one transaction, refusing a
 * database written by a newer program.
 */
static int
migrate(struct store *st, const char *path, char **cause)
{
        char *sql = NULL;
        int version, rc = -1;

        if (user_version(st, path, &version, cause) < 0)
                goto out;
        if (version == STORE_SCHEMA_VERSION) {
                rc = 0;
                goto out;
        }
        if (version < 0) {
                xasprintf(cause, "%s: schema version %d is not valid", path,
                          version);
                goto out;
        }
        if (version > STORE_SCHEMA_VERSION) {
                xasprintf(cause,
                          "%s: schema version %d is newer than this "
                          "program's %d",
                          path, version, STORE_SCHEMA_VERSION);
                goto out;
        }
        /* A migration may rebuild a table that others refer to: foreign
         * keys are off meanwhile (they cannot change inside a transaction)
         * and checked before the commit. */
        if (sqlite3_exec(st->db, "PRAGMA foreign_keys = OFF", NULL, NULL,
                         NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
                SQLITE_OK) {
                xasprintf(cause, "%s: begin migration: %s", path,
                          sqlite3_errmsg(st->db));
                goto out;
        }
        /* Read again under the write lock: another process may have won. */
        if (user_version(st, path, &version, cause) < 0)
                goto out;
        for (; version < STORE_SCHEMA_VERSION; version++) {
                if (sqlite3_exec(st->db, migrations[version], NULL, NULL,
                                 NULL) != SQLITE_OK) {
                        xasprintf(cause, "%s: migrate to schema version %d: %s",
                                  path, version + 1, sqlite3_errmsg(st->db));
                        goto out;
                }
        }
        if (foreign_key_check(st, path, cause) < 0)
                goto out;
        xasprintf(&sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
        if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
                xasprintf(cause, "%s: migrate to schema version %d: %s", path,
                          STORE_SCHEMA_VERSION, sqlite3_errmsg(st->db));
                goto out;
        }
        rc = 0;
out:
        if (rc < 0 && !sqlite3_get_autocommit(st->db))
                sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        if (sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL,
                         NULL) != SQLITE_OK &&
            rc == 0) {
                xasprintf(cause, "%s: %s", path, sqlite3_errmsg(st->db));
                rc = -1;
        }
        free(sql);
        return rc;
}

/*
 * SQL functions for the JOB text: onotify_local(t), onotify_utc(t) and
 * onotify_human(t) write UTC seconds as RFC 3339 in the zone of the call
 * (st->tz), as RFC 3339 UTC, and in words; NULL stays NULL.
 */
enum time_form { FORM_LOCAL, FORM_UTC, FORM_HUMAN };

static void
sql_time(sqlite3_context *ctx, sqlite3_value *v, enum time_form form)
{
        struct store *st = sqlite3_user_data(ctx);
        struct time_memo one, *m = &one;
        int64_t t;

        if (sqlite3_value_type(v) == SQLITE_NULL) {
                sqlite3_result_null(ctx);
                return;
        }
        t = sqlite3_value_int64(v);
        /* The memo serves inside a transaction only (see store_begin). */
        if (!sqlite3_get_autocommit(st->db)) {
                for (int i = 0; i < TIME_MEMOS; i++) {
                        m = &st->memo[form][i];
                        if (m->text[0] != '\0' && m->t == t &&
                            m->tz == st->tz) {
                                sqlite3_result_text(ctx, m->text, -1,
                                                    SQLITE_TRANSIENT);
                                return;
                        }
                }
                m = &st->memo[form][st->memo_next[form]++ % TIME_MEMOS];
        }
        m->t = t;
        m->tz = st->tz;
        if (form == FORM_UTC)
                timefmt_rfc3339_utc(t, m->text, sizeof(m->text));
        else if (st->tz == NULL)
                snprintf(m->text, sizeof(m->text), "%lld", (long long)t);
        else if (form == FORM_HUMAN)
                timefmt_human(st->tz, t, m->text, sizeof(m->text));
        else
                timefmt_rfc3339(st->tz, t, m->text, sizeof(m->text));
        sqlite3_result_text(ctx, m->text, -1, SQLITE_TRANSIENT);
}

static void
sql_local(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
        (void)argc;
        sql_time(ctx, argv[0], FORM_LOCAL);
}

static void
sql_utc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
        (void)argc;
        sql_time(ctx, argv[0], FORM_UTC);
}

static void
sql_human(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
        (void)argc;
        sql_time(ctx, argv[0], FORM_HUMAN);
}

static int
add_functions(struct store *st, const char *path, char **cause)
{
        static const struct {
                const char *name;
                void (*fn)(sqlite3_context *, int, sqlite3_value **);
        } fns[] = {
                { "onotify_local", sql_local },
                { "onotify_utc", sql_utc },
                { "onotify_human", sql_human },
        };

        for (size_t i = 0; i < NELEM(fns); i++) {
                if (sqlite3_create_function_v2(
                        st->db, fns[i].name, 1,
                        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
                        st, fns[i].fn, NULL, NULL, NULL) != SQLITE_OK) {
                        xasprintf(cause, "%s: %s", path,
                                  sqlite3_errmsg(st->db));
                        return -1;
                }
        }
        return 0;
}

/* The connection's settings; journal_mode must answer "wal". */
static int
configure(struct store *st, const char *path, char **cause)
{
        char mode[16];

        if (sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
                goto fail;
        if (pragma(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) < 0)
                goto fail;
        if (strcmp(mode, "wal") != 0) {
                xasprintf(cause, "%s: journal mode is '%s', not 'wal'", path,
                          mode);
                return -1;
        }
        if (sqlite3_exec(st->db, "PRAGMA synchronous = FULL", NULL, NULL,
                         NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL,
                         NULL) != SQLITE_OK)
                goto fail;
        return 0;
fail:
        xasprintf(cause, "%s: %s", path, sqlite3_errmsg(st->db));
        return -1;
}

int
store_one_thread(void)
{
        if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) != SQLITE_OK ||
            sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
                return -1;
        return 0;
}

/*
 * Narrows the file `file` to `mode` when its mode grants more; adds what
 * it did to *notice. 0, or -1 with *cause when it cannot.
 */
static int
narrow_mode(const char *file, mode_t mode, char **notice, char **cause)
{
        struct stat sb;
        mode_t had, want;
        char *next;

        if (stat(file, &sb) < 0)
                return 0; /* absent: SQLite makes it, or says why not */
        had = sb.st_mode & 07777;
        want = had & mode;
        if (had == want)
                return 0;
        if (chmod(file, want) < 0) {
                xasprintf(cause,
                          "%s: mode %04o is wider than %04o, and it cannot "
                          "be narrowed: %s",
                          file, (unsigned)had, (unsigned)mode, strerror(errno));
                return -1;
        }
        xasprintf(&next, "%s%s%s mode %04o narrowed to %04o",
                  *notice ? *notice : "", *notice ? "; " : "", file,
                  (unsigned)had, (unsigned)want);
        free(*notice);
        *notice = next;
        return 0;
}

/*
 * Gives the database at `path` the mode `mode`, whatever the umask. An
 * absent file is made empty with it (an empty file is a new database to
 * SQLite, which gives the -wal and -shm it makes the database file's mode);
 * an existing one, and its -wal and -shm, are narrowed to it, *notice
 * saying so. -1 with *cause when a file cannot be made so.
 */
static int
secure_files(const char *path, mode_t mode, char **notice, char **cause)
{
        static const char *const suffixes[] = { "", "-wal", "-shm" };
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0) {
                if (fchmod(fd, mode) < 0) {
                        xasprintf(cause, "%s: chmod %04o: %s", path,
                                  (unsigned)mode, strerror(errno));
                        close(fd);
                        unlink(path);
                        return -1;
                }
                close(fd);
        } else if (errno != EEXIST) {
                return 0; /* SQLite will fail too, and say it its way */
        }
        for (size_t i = 0; i < NELEM(suffixes); i++) {
                char *file;
                int rc;

                xasprintf(&file, "%s%s", path, suffixes[i]);
                rc = narrow_mode(file, mode, notice, cause);
                free(file);
                if (rc < 0)
                        return -1;
        }
        return 0;
}

struct store *
store_open(const char *path, char **cause)
{
        return store_open_mode(path, STORE_MODE, NULL, cause);
}

struct store *
store_open_mode(const char *path, unsigned mode, char **notice, char **cause)
{
        struct store *st = xcalloc(1, sizeof(*st));
        char *dummy = NULL, *said = NULL;

        st->path = xstrdup(path);

        /* Every failure below sets a cause, so give it somewhere to go. */
        if (cause == NULL)
                cause = &dummy;
        if (notice != NULL)
                *notice = NULL;
        if (secure_files(path, (mode_t)mode & 0777, &said, cause) < 0)
                goto fail;
        /* A store belongs to one thread: no mutex around each call. */
        if (sqlite3_open_v2(path, &st->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK) {
                xasprintf(cause, "%s: %s", path,
                          st->db == NULL ? "out of memory"
                                         : sqlite3_errmsg(st->db));
                goto fail;
        }
        if (configure(st, path, cause) < 0 || migrate(st, path, cause) < 0 ||
            add_functions(st, path, cause) < 0)
                goto fail;
        for (int i = 0; i < S_COUNT; i++) {
                if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
                                       SQLITE_PREPARE_PERSISTENT, &st->stmts[i],
                                       NULL) != SQLITE_OK) {
                        xasprintf(cause, "%s: prepare '%s': %s", path,
                                  stmt_sql[i], sqlite3_errmsg(st->db));
                        goto fail;
                }
        }
        if (notice != NULL)
                *notice = said;
        else
                free(said);
        return st;
fail:
        free(said);
        free(dummy);
        store_close(&st);
        return NULL;
}

void
store_close(struct store **stp)
{
        struct store *st;

        if (stp == NULL || *stp == NULL)
                return;
        st = *stp;
        for (int i = 0; i < S_COUNT; i++)
                sqlite3_finalize(st->stmts[i]);
        sqlite3_close_v2(st->db);
        free(st->fault_text);
        free(st->path);
        free(st);
        *stp = NULL;
}

enum store_fault
store_fault(const struct store *st, const char **text)
{
        if (text != NULL)
                *text = st->fault_text;
        return st->fault;
}

int
store_probe(struct store *st, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_PROBE];
        const char *why = NULL;
        int rc;

        if (!sqlite3_get_autocommit(st->db))
                return gate(st, "probe", cause);
        errno = 0; /* see classify() */
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
                done(s);
                clear_fault(st);
                return 0;
        }
        fail(st, "probe", cause);
        /* Whatever it is, the file cannot be written. */
        if (classify(st, 0, &why) == STORE_OK)
                set_fault(st, STORE_IOERR, sqlite3_errmsg(st->db));
        done(s);
        return -1;
}

/* --- Transactions --------------------------------------------------------- */

int
store_begin(struct store *st, char **cause)
{
        /* The times kept live for one transaction at most (and serve
         * only inside one): a reload, which comes between transactions,
         * may free the zone and load another at the same address. */
        memset(st->memo, 0, sizeof(st->memo));
        if (gate(st, "begin transaction", cause) < 0)
                return -1;
        return run(st, st->stmts[S_BEGIN], "begin transaction", cause);
}

int
store_commit(struct store *st, char **cause)
{
        return run(st, st->stmts[S_COMMIT], "commit", cause);
}

void
store_rollback(struct store *st)
{
        /* A failed statement may already have ended the transaction. */
        if (sqlite3_get_autocommit(st->db))
                return;
        run(st, st->stmts[S_ROLLBACK], "rollback", NULL);
}

/* --- Cases and events ----------------------------------------------------- */

int64_t
store_case_open(struct store *st, const char *urn, const char *contact,
                const char *note, int64_t at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_OPEN];

        /* It must fit struct store_case and struct store_alert later. */
        if (strlen(urn) >= sizeof(((struct store_case *)NULL)->urn)) {
                if (cause != NULL)
                        xasprintf(cause, "open case: URN '%s' is too long",
                                  urn);
                return -1;
        }
        if (bind_text(s, 1, urn) != SQLITE_OK ||
            bind_text(s, 2, contact) != SQLITE_OK ||
            bind_text(s, 3, note) != SQLITE_OK ||
            sqlite3_bind_int64(s, 4, at) != SQLITE_OK) {
                done(s);
                return fail(st, "open case", cause);
        }
        if (run(st, s, "open case", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* Runs a query for one case row: 0 and *out, 1 when none, -1 on error. */
static int
find_case(struct store *st, sqlite3_stmt *s, struct store_case *out,
          const char *what, char **cause)
{
        int rc = step(st, s, what, cause);

        if (rc == 1)
                rc = read_case(s, out, what, cause) < 0 ? -1 : 0;
        else if (rc == 0)
                rc = 1;
        done(s);
        return rc;
}

int
store_case_current(struct store *st, const char *urn, struct store_case *out,
                   char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_CURRENT];

        if (bind_text(s, 1, urn) != SQLITE_OK) {
                done(s);
                return fail(st, "find current case", cause);
        }
        return find_case(st, s, out, "find current case", cause);
}

int
store_case_get(struct store *st, int64_t id, struct store_case *out,
               char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_GET];

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
                done(s);
                return fail(st, "get case", cause);
        }
        return find_case(st, s, out, "get case", cause);
}

/* After an UPDATE of one row by id: -1 with a cause when it matched none. */
static int
check_changed(struct store *st, int64_t id, const char *what, const char *none,
              char **cause)
{
        if (sqlite3_changes(st->db) > 0)
                return 0;
        if (cause != NULL)
                xasprintf(cause, "%s: %s %lld", what, none, (long long)id);
        return -1;
}

int
store_case_set_state(struct store *st, int64_t id, enum case_state state,
                     int64_t at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_SET_STATE];

        if ((unsigned)state >= NELEM(case_states)) {
                if (cause != NULL)
                        xasprintf(cause, "set case state: bad state %d",
                                  (int)state);
                return -1;
        }
        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            bind_text(s, 2, case_states[state]) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, at) != SQLITE_OK) {
                done(s);
                return fail(st, "set case state", cause);
        }
        if (run(st, s, "set case state", cause) < 0)
                return -1;
        return check_changed(st, id, "set case state", "no case", cause);
}

int
store_case_set_contact(struct store *st, int64_t id, const char *contact,
                       char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_SET_CONTACT];

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            bind_text(s, 2, contact) != SQLITE_OK) {
                done(s);
                return fail(st, "set case contact", cause);
        }
        if (run(st, s, "set case contact", cause) < 0)
                return -1;
        return check_changed(st, id, "set case contact", "no case", cause);
}

int
store_case_contact(struct store *st, int64_t id, char **contact, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_CONTACT];
        const char *v;
        int rc = -1;

        *contact = NULL;
        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
                fail(st, "read case contact", cause);
                goto out;
        }
        rc = step(st, s, "read case contact", cause);
        if (rc == 0) {
                if (cause != NULL)
                        xasprintf(cause, "read case contact: no case %lld",
                                  (long long)id);
                rc = -1;
        }
        if (rc < 0)
                goto out;
        v = col_text(s, 0);
        *contact = xstrdup(v == NULL ? "" : v);
        rc = 0;
out:
        done(s);
        return rc;
}

int64_t
store_event_add(struct store *st, int64_t case_id, const char *kind, int64_t at,
                int64_t recorded_at, const char *contact, const char *note,
                char **cause)
{
        sqlite3_stmt *s = st->stmts[S_EVENT_ADD];

        if (sqlite3_bind_int64(s, 1, case_id) != SQLITE_OK ||
            bind_text(s, 2, kind) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, at) != SQLITE_OK ||
            sqlite3_bind_int64(s, 4, recorded_at) != SQLITE_OK ||
            bind_text(s, 5, contact) != SQLITE_OK ||
            bind_text(s, 6, note) != SQLITE_OK) {
                done(s);
                return fail(st, "insert event", cause);
        }
        if (run(st, s, "insert event", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* --- Alerts --------------------------------------------------------------- */

int64_t
store_alert_add(struct store *st, const struct store_alert *a, const char *sig,
                const char *warning, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_ALERT_ADD];

        if (sqlite3_bind_int64(s, 1, a->case_id) != SQLITE_OK ||
            sqlite3_bind_int64(s, 2, a->event_id) != SQLITE_OK ||
            bind_field(s, 3, a->rule, sizeof(a->rule)) != SQLITE_OK ||
            bind_field(s, 4, a->offset, sizeof(a->offset)) != SQLITE_OK ||
            sqlite3_bind_int64(s, 5, a->at) != SQLITE_OK ||
            sqlite3_bind_int64(s, 6, a->due) != SQLITE_OK ||
            bind_time(s, 7, a->opens) != SQLITE_OK ||
            bind_text(s, 8, sig) != SQLITE_OK ||
            bind_text(s, 9, warning) != SQLITE_OK) {
                done(s);
                return fail(st, "insert alert", cause);
        }
        if (run(st, s, "insert alert", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* Cancels the pending alerts of case_id, of `rule` unless NULL, of event
 * `event_id` unless 0 (then ?4 stays NULL). */
static int
cancel_alerts(struct store *st, int64_t case_id, int64_t event_id,
              const char *rule, int64_t at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_ALERTS_CANCEL];

        if (sqlite3_bind_int64(s, 1, case_id) != SQLITE_OK ||
            bind_text(s, 2, rule) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, at) != SQLITE_OK ||
            (event_id != 0 &&
             sqlite3_bind_int64(s, 4, event_id) != SQLITE_OK)) {
                done(s);
                return fail(st, "cancel alerts", cause);
        }
        if (run(st, s, "cancel alerts", cause) < 0)
                return -1;
        return sqlite3_changes(st->db);
}

int
store_alerts_cancel(struct store *st, int64_t case_id, const char *rule,
                    int64_t at, char **cause)
{
        return cancel_alerts(st, case_id, 0, rule, at, cause);
}

int
store_alerts_cancel_event(struct store *st, int64_t case_id, int64_t event_id,
                          const char *rule, int64_t at, char **cause)
{
        return cancel_alerts(st, case_id, event_id, rule, at, cause);
}

int
store_next_alert(struct store *st, int64_t *at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_NEXT_ALERT];
        int rc = step(st, s, "find next alert", cause);

        if (rc == 1) {
                *at = sqlite3_column_int64(s, 0);
                rc = 0;
        } else if (rc == 0) {
                rc = 1;
        }
        done(s);
        return rc;
}

int
store_due_alerts(struct store *st, int64_t now, struct store_alert *out,
                 int max, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_DUE_ALERTS];
        int n = 0;

        if (max <= 0)
                return 0;
        if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK ||
            sqlite3_bind_int(s, 2, max) != SQLITE_OK) {
                n = fail(st, "find due alerts", cause);
                goto out;
        }
        while (n < max) {
                struct store_alert *a = &out[n];
                int rc = step(st, s, "find due alerts", cause);

                if (rc < 0)
                        n = -1;
                if (rc != 1)
                        break;
                memset(a, 0, sizeof(*a));
                a->id = sqlite3_column_int64(s, 0);
                a->case_id = sqlite3_column_int64(s, 1);
                a->event_id = sqlite3_column_int64(s, 2);
                copy_col(a->urn, sizeof(a->urn), s, 3);
                copy_col(a->rule, sizeof(a->rule), s, 4);
                copy_col(a->offset, sizeof(a->offset), s, 5);
                a->at = sqlite3_column_int64(s, 6);
                a->due = sqlite3_column_int64(s, 7);
                a->opens = sqlite3_column_int64(s, 8);
                n++;
        }
out:
        done(s);
        return n;
}

/* Moves one pending alert to its final state. */
static int
finish_alert(struct store *st, enum stmt which, int64_t id, int64_t at,
             bool late, const char *what, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            sqlite3_bind_int64(s, 2, at) != SQLITE_OK ||
            (which == S_ALERT_FIRE &&
             sqlite3_bind_int(s, 3, late) != SQLITE_OK)) {
                done(s);
                return fail(st, what, cause);
        }
        if (run(st, s, what, cause) < 0)
                return -1;
        return check_changed(st, id, what, "no pending alert", cause);
}

int
store_alert_fire(struct store *st, int64_t id, int64_t at, bool late,
                 char **cause)
{
        return finish_alert(st, S_ALERT_FIRE, id, at, late, "fire alert",
                            cause);
}

int
store_alert_miss(struct store *st, int64_t id, int64_t at, char **cause)
{
        return finish_alert(st, S_ALERT_MISS, id, at, false, "miss alert",
                            cause);
}

int
store_pending_groups(struct store *st,
                     int (*fn)(const struct store_group *, void *), void *arg,
                     char **cause)
{
        sqlite3_stmt *s = st->stmts[S_PENDING_GROUPS];
        struct group_copy *groups = NULL, *c;
        const char *sig;
        size_t n = 0;
        int rc;

        /*
         * Read every group before calling fn, which re-plans: it cancels
         * and adds alerts, so it must not run under an open cursor.
         */
        for (;;) {
                rc = step(st, s, "list pending groups", cause);
                if (rc != 1)
                        break;
                groups = xreallocarray(groups, n + 1, sizeof(*groups));
                c = &groups[n++];
                memset(c, 0, sizeof(*c));
                c->g.case_id = sqlite3_column_int64(s, 0);
                c->g.event_id = sqlite3_column_int64(s, 1);
                c->g.event_at = sqlite3_column_int64(s, 2);
                copy_col(c->g.urn, sizeof(c->g.urn), s, 3);
                copy_col(c->g.rule, sizeof(c->g.rule), s, 4);
                sig = col_text(s, 5);
                c->sig = xstrdup(sig == NULL ? "" : sig);
                c->g.sig = c->sig;
        }
        done(s);
        /* fn says why it stopped, through its own arg: *cause stays. */
        for (size_t i = 0; rc == 0 && i < n; i++) {
                if (fn(&groups[i].g, arg) < 0)
                        rc = -1;
        }
        for (size_t i = 0; i < n; i++)
                free(groups[i].sig);
        free(groups);
        return rc;
}

/* --- Deliveries ----------------------------------------------------------- */

int64_t
store_delivery_add(struct store *st, int64_t alert_id, const char *channel,
                   const char *type, int64_t at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_DELIVERY_ADD];

        if (sqlite3_bind_int64(s, 1, alert_id) != SQLITE_OK ||
            bind_text(s, 2, channel) != SQLITE_OK ||
            bind_text(s, 3, type) != SQLITE_OK ||
            sqlite3_bind_int64(s, 4, at) != SQLITE_OK) {
                done(s);
                return fail(st, "insert delivery", cause);
        }
        if (run(st, s, "insert delivery", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* --- Views ---------------------------------------------------------------- */

/*
 * Each view binds its statement and hands it to rows(), with a function
 * that turns one row into a JSON object (json_pack: "s?" writes null for a
 * NULL column).
 */
typedef json_t *(*row_fn)(sqlite3_stmt *s, const struct tz *tz);

/*
 * Steps statement `which`, already bound (bind_rc is the binding's result),
 * and returns the array of its rows made by `row`; NULL with *cause on any
 * error. The statement is reset either way.
 */
static json_t *
rows(struct store *st, enum stmt which, int bind_rc, row_fn row,
     const struct tz *tz, const char *what, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];
        json_t *arr = json_array();
        int rc;

        if (bind_rc != SQLITE_OK) {
                rc = fail(st, what, cause);
        } else {
                while ((rc = step(st, s, what, cause)) == 1) {
                        if (append(arr, row(s, tz), what, cause) < 0) {
                                rc = -1;
                                break;
                        }
                }
        }
        done(s);
        if (rc < 0) {
                json_decref(arr);
                arr = NULL;
        }
        return arr;
}

static json_t *
case_row(sqlite3_stmt *s, const struct tz *tz)
{
        char opened[TIMEFMT_LEN], last[TIMEFMT_LEN];

        return json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s?, s:I, s:s?}", "case",
                         (json_int_t)sqlite3_column_int64(s, 0), "school",
                         col_text(s, 1), "state", col_text(s, 2), "opened",
                         col_time(tz, s, 3, opened, sizeof(opened)),
                         "last_event", col_text(s, 4), "last_event_at",
                         col_time(tz, s, 5, last, sizeof(last)), "pending",
                         (json_int_t)sqlite3_column_int64(s, 6), "contact",
                         col_text(s, 7));
}

json_t *
store_json_cases(struct store *st, const struct tz *tz, bool all, char **cause)
{
        return rows(st, S_JSON_CASES,
                    sqlite3_bind_int(st->stmts[S_JSON_CASES], 1, all), case_row,
                    tz, "list cases", cause);
}

static json_t *
event_row(sqlite3_stmt *s, const struct tz *tz)
{
        char at[TIMEFMT_LEN], recorded[TIMEFMT_LEN];

        return json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:s?}", "event",
                         (json_int_t)sqlite3_column_int64(s, 0), "kind",
                         col_text(s, 1), "at",
                         col_time(tz, s, 2, at, sizeof(at)), "recorded",
                         col_time(tz, s, 3, recorded, sizeof(recorded)),
                         "contact", col_text(s, 4), "note", col_text(s, 5));
}

static json_t *
alert_row(sqlite3_stmt *s, const struct tz *tz)
{
        char at[TIMEFMT_LEN], due[TIMEFMT_LEN], fired[TIMEFMT_LEN];
        const char *state = col_text(s, 5), *fired_at = NULL;

        /* done_at is when it fired, was cancelled or was missed. */
        if (state != NULL && strcmp(state, "fired") == 0)
                fired_at = col_time(tz, s, 7, fired, sizeof(fired));
        return json_pack(
            "{s:I, s:s, s:s, s:s?, s:s?, s:s, s:b, s:s?}", "id",
            (json_int_t)sqlite3_column_int64(s, 0), "rule", col_text(s, 1),
            "offset", col_text(s, 2), "at", col_time(tz, s, 3, at, sizeof(at)),
            "due", col_time(tz, s, 4, due, sizeof(due)), "state", state, "late",
            sqlite3_column_int(s, 6) != 0, "fired", fired_at);
}

json_t *
store_json_case(struct store *st, const struct tz *tz, int64_t id, char **cause)
{
        static const char what[] = "show case";
        sqlite3_stmt *s = st->stmts[S_JSON_CASE];
        json_t *c = NULL, *events = NULL, *alerts = NULL;
        char opened[TIMEFMT_LEN], closed[TIMEFMT_LEN];
        int rc;

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
                fail(st, what, cause);
                goto out;
        }
        rc = step(st, s, what, cause);
        if (rc == 0 && cause != NULL)
                xasprintf(cause, "no case %lld", (long long)id);
        if (rc != 1)
                goto out;
        c = json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "case",
                      (json_int_t)sqlite3_column_int64(s, 0), "school",
                      col_text(s, 1), "state", col_text(s, 2), "opened",
                      col_time(tz, s, 3, opened, sizeof(opened)), "closed",
                      col_time(tz, s, 4, closed, sizeof(closed)), "contact",
                      col_text(s, 5), "note", col_text(s, 6));
        done(s);
        if (c == NULL) {
                if (cause != NULL)
                        xasprintf(cause,
                                  "%s: case %lld cannot be written as "
                                  "JSON",
                                  what, (long long)id);
                goto out;
        }
        /* The events in the order recorded; the alerts soonest first. */
        events = rows(st, S_JSON_CASE_EVENTS,
                      sqlite3_bind_int64(st->stmts[S_JSON_CASE_EVENTS], 1, id),
                      event_row, tz, "show case events", cause);
        if (events != NULL)
                alerts = rows(
                    st, S_JSON_CASE_ALERTS,
                    sqlite3_bind_int64(st->stmts[S_JSON_CASE_ALERTS], 1, id),
                    alert_row, tz, "show case alerts", cause);
        if (alerts == NULL) {
                json_decref(c);
                c = NULL;
                goto out;
        }
        json_object_set_new(c, "events", events);
        json_object_set_new(c, "alerts", alerts);
        events = alerts = NULL;
out:
        done(s);
        json_decref(events);
        json_decref(alerts);
        return c;
}

static json_t *
upcoming_row(sqlite3_stmt *s, const struct tz *tz)
{
        char at[TIMEFMT_LEN], due[TIMEFMT_LEN], opens[TIMEFMT_LEN];

        /* opens: when the rule's window opens, null when it has none. */
        return json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s?, s:s?}", "case",
                         (json_int_t)sqlite3_column_int64(s, 0), "school",
                         col_text(s, 1), "rule", col_text(s, 2), "at",
                         col_time(tz, s, 3, at, sizeof(at)), "offset",
                         col_text(s, 4), "due",
                         col_time(tz, s, 5, due, sizeof(due)), "opens",
                         col_time(tz, s, 6, opens, sizeof(opens)));
}

json_t *
store_json_upcoming(struct store *st, const struct tz *tz, const char *urn,
                    char **cause)
{
        return rows(st, S_JSON_UPCOMING,
                    bind_text(st->stmts[S_JSON_UPCOMING], 1, urn), upcoming_row,
                    tz, "list upcoming alerts", cause);
}

static json_t *
history_row(sqlite3_stmt *s, const struct tz *tz)
{
        char created[TIMEFMT_LEN], updated[TIMEFMT_LEN];

        return json_pack(
            "{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s?, s:b, s:s?, "
            "s:s?}",
            "id", col_text(s, 0), "case",
            (json_int_t)sqlite3_column_int64(s, 1), "school", col_text(s, 2),
            "rule", col_text(s, 3), "offset", col_text(s, 4), "channel",
            col_text(s, 5), "type", col_text(s, 6), "status", col_text(s, 7),
            "attempts", (json_int_t)sqlite3_column_int64(s, 8), "last_error",
            col_text(s, 9), "late", sqlite3_column_int(s, 10) != 0, "created",
            col_time(tz, s, 11, created, sizeof(created)), "updated",
            col_time(tz, s, 12, updated, sizeof(updated)));
}

json_t *
store_json_history(struct store *st, const struct tz *tz, const char *urn,
                   const char *uid, int limit, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_JSON_HISTORY];
        int bind_rc = bind_text(s, 1, urn);

        /* A negative LIMIT is no limit in SQLite. */
        if (bind_rc == SQLITE_OK)
                bind_rc = sqlite3_bind_int(s, 2, limit < 0 ? -1 : limit);
        if (bind_rc == SQLITE_OK)
                bind_rc = bind_text(s, 3, uid);
        return rows(st, S_JSON_HISTORY, bind_rc, history_row, tz,
                    "list deliveries", cause);
}

/* {"<state>": n, ...} with every name present, 0 when it has no rows. */
static json_t *
count_by(struct store *st, enum stmt which, const char *const *names,
         size_t nnames, const char *what, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];
        json_t *counts = json_object();
        int rc;

        for (size_t i = 0; i < nnames; i++)
                json_object_set_new(counts, names[i], json_integer(0));
        for (;;) {
                const char *name;

                rc = step(st, s, what, cause);
                if (rc != 1)
                        break;
                name = col_text(s, 0);
                if (name != NULL)
                        json_object_set_new(
                            counts, name,
                            json_integer(sqlite3_column_int64(s, 1)));
        }
        done(s);
        if (rc < 0) {
                json_decref(counts);
                counts = NULL;
        }
        return counts;
}

static json_t *
missed_row(sqlite3_stmt *s, const struct tz *tz)
{
        char at[TIMEFMT_LEN];

        return json_pack("{s:I, s:s, s:s, s:s?, s:s}", "case",
                         (json_int_t)sqlite3_column_int64(s, 0), "school",
                         col_text(s, 1), "rule", col_text(s, 2), "at",
                         col_time(tz, s, 3, at, sizeof(at)), "offset",
                         col_text(s, 4));
}

/* {"channel", "deliveries", "error"}: one channel's held deliveries. */
static json_t *
held_row(sqlite3_stmt *s, const struct tz *tz)
{
        (void)tz;
        return json_pack("{s:s, s:I, s:s?}", "channel", col_text(s, 0),
                         "deliveries", (json_int_t)sqlite3_column_int64(s, 1),
                         "error", col_text(s, 2));
}

json_t *
store_json_counts(struct store *st, const struct tz *tz, char **cause)
{
        json_t *status = json_object(), *part;

        part = count_by(st, S_COUNT_CASES, case_states, NELEM(case_states),
                        "count cases", cause);
        if (part == NULL)
                goto fail;
        json_object_set_new(status, "cases", part);
        part = count_by(st, S_COUNT_ALERTS, alert_states, NELEM(alert_states),
                        "count alerts", cause);
        if (part == NULL)
                goto fail;
        json_object_set_new(status, "alerts", part);
        part = count_by(st, S_COUNT_DELIVERIES, delivery_statuses,
                        NELEM(delivery_statuses), "count deliveries", cause);
        if (part == NULL)
                goto fail;
        json_object_set_new(status, "deliveries", part);
        /* The most recently missed alerts, newest first. */
        part = rows(st, S_MISSED,
                    sqlite3_bind_int(st->stmts[S_MISSED], 1, MISSED_MAX),
                    missed_row, tz, "list missed alerts", cause);
        if (part == NULL)
                goto fail;
        json_object_set_new(status, "missed", part);
        part = rows(st, S_JSON_HELD, SQLITE_OK, held_row, tz,
                    "list held deliveries", cause);
        if (part == NULL)
                goto fail;
        json_object_set_new(status, "held", part);
        return status;
fail:
        json_decref(status);
        return NULL;
}

/* A (text, text, count) row as [a, b, n]. */
static json_t *
pair_row(sqlite3_stmt *s, const struct tz *tz)
{
        (void)tz;
        return json_pack("[ssI]", col_text(s, 0), col_text(s, 1),
                         (json_int_t)sqlite3_column_int64(s, 2));
}

json_t *
store_json_metrics(struct store *st, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_LAST_DELIVERED];
        json_t *m = json_object(), *part;
        int rc;

        part = rows(st, S_METRIC_ALERTS, SQLITE_OK, pair_row, NULL,
                    "count alerts by rule", cause);
        if (part == NULL)
                goto fail;
        json_object_set_new(m, "alerts", part);
        part = rows(st, S_METRIC_DELIVERIES, SQLITE_OK, pair_row, NULL,
                    "count deliveries by type", cause);
        if (part == NULL)
                goto fail;
        json_object_set_new(m, "deliveries", part);
        rc = step(st, s, "last delivery", cause);
        if (rc == 1 && sqlite3_column_type(s, 0) != SQLITE_NULL)
                json_object_set_new(m, "last_delivered",
                                    json_integer(sqlite3_column_int64(s, 0)));
        done(s);
        if (rc < 0)
                goto fail;
        return m;
fail:
        json_decref(m);
        return NULL;
}

/* --- Dispatch ----------------------------------------------------------------
 */

/* Runs an UPDATE taking (now) or (text, now); returns the rows changed. */
static int
update_count(struct store *st, enum stmt which, const char *text, int64_t now,
             const char *what, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];
        int i = 1;

        if ((text != NULL && bind_text(s, i++, text) != SQLITE_OK) ||
            sqlite3_bind_int64(s, i, now) != SQLITE_OK) {
                done(s);
                return fail(st, what, cause);
        }
        if (run(st, s, what, cause) < 0)
                return -1;
        return sqlite3_changes(st->db);
}

int
store_deliveries_requeue(struct store *st, int64_t now, char **cause)
{
        return update_count(st, S_DELIVERIES_REQUEUE, NULL, now,
                            "requeue deliveries", cause);
}

int
store_deliveries_expire(struct store *st, int64_t now,
                        void (*fn)(const char *worker, void *arg), void *arg,
                        char **cause)
{
        sqlite3_stmt *s = st->stmts[S_LEASES_DUE];
        int rc, n = 0;

        /* Called on every pass: a read first, so that the write lock is
         * taken only when a lease has run out. */
        if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK) {
                done(s);
                return fail(st, "find expired leases", cause);
        }
        rc = step(st, s, "find expired leases", cause);
        done(s);
        if (rc <= 0)
                return rc;
        s = st->stmts[S_DELIVERIES_EXPIRE];
        if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK) {
                done(s);
                return fail(st, "expire leases", cause);
        }
        while ((rc = step(st, s, "expire leases", cause)) == 1) {
                if (fn != NULL)
                        fn(col_text(s, 0), arg);
                n++;
        }
        done(s);
        return rc < 0 ? -1 : n;
}

int
store_deliveries_unhold(struct store *st, int64_t now, char **cause)
{
        return update_count(st, S_DELIVERIES_UNHOLD, NULL, now,
                            "release held deliveries", cause);
}

int
store_deliveries_shift(struct store *st, int64_t seconds, char **cause)
{
        return update_count(st, S_DELIVERIES_SHIFT, NULL, seconds,
                            "shift delivery times", cause);
}

int
store_deliveries_release(struct store *st, const char *worker, int64_t now,
                         char **cause)
{
        return update_count(st, S_DELIVERIES_RELEASE, worker, now,
                            "release a worker's deliveries", cause);
}

int
store_deliveries_ready(struct store *st, bool email, int64_t now,
                       const char *skip, struct store_ready *out, int max,
                       char **cause)
{
        static const char what[] = "list ready deliveries";
        sqlite3_stmt *s = st->stmts[S_DELIVERIES_READY];
        int n = 0, rc = 0;

        if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK ||
            sqlite3_bind_int(s, 2, email) != SQLITE_OK ||
            sqlite3_bind_int(s, 3, max) != SQLITE_OK ||
            bind_text(s, 4, skip != NULL ? skip : "[]") != SQLITE_OK) {
                done(s);
                return fail(st, what, cause);
        }
        while (n < max && (rc = step(st, s, what, cause)) == 1) {
                out[n].id = sqlite3_column_int64(s, 0);
                copy_col(out[n].channel, sizeof(out[n].channel), s, 1);
                copy_col(out[n].type, sizeof(out[n].type), s, 2);
                out[n].lease = sqlite3_column_int64(s, 3);
                copy_col(out[n].urn, sizeof(out[n].urn), s, 4);
                copy_col(out[n].rule, sizeof(out[n].rule), s, 5);
                n++;
        }
        done(s);
        return rc < 0 ? -1 : n;
}

int64_t
store_delivery_lease(struct store *st, const struct store_ready *r,
                     const char *worker, int64_t until, int64_t now,
                     char **cause)
{
        static const char what[] = "lease delivery";
        sqlite3_stmt *s = st->stmts[S_DELIVERY_LEASE];

        if (sqlite3_bind_int64(s, 1, r->id) != SQLITE_OK ||
            bind_text(s, 2, worker) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, until) != SQLITE_OK ||
            sqlite3_bind_int64(s, 4, now) != SQLITE_OK ||
            sqlite3_bind_int64(s, 5, r->lease) != SQLITE_OK) {
                done(s);
                return fail(st, what, cause);
        }
        if (run(st, s, what, cause) < 0)
                return -1;
        if (sqlite3_changes(st->db) != 1) {
                if (cause != NULL)
                        xasprintf(cause, "%s: delivery %lld is not ready", what,
                                  (long long)r->id);
                return -1;
        }
        return r->lease + 1;
}

int
store_delivery_find(struct store *st, const char *uid,
                    struct store_delivery *out, char **cause)
{
        static const char what[] = "find delivery";
        sqlite3_stmt *s = st->stmts[S_DELIVERY_FIND];
        int rc;

        if (bind_text(s, 1, uid) != SQLITE_OK) {
                done(s);
                return fail(st, what, cause);
        }
        rc = step(st, s, what, cause);
        if (rc == 1) {
                memset(out, 0, sizeof(*out));
                out->id = sqlite3_column_int64(s, 0);
                copy_col(out->status, sizeof(out->status), s, 1);
                out->lease = sqlite3_column_int64(s, 2);
                out->attempts = sqlite3_column_int(s, 3);
                out->fired_at = sqlite3_column_int64(s, 4);
                copy_col(out->channel, sizeof(out->channel), s, 5);
                copy_col(out->type, sizeof(out->type), s, 6);
                copy_col(out->worker, sizeof(out->worker), s, 7);
                copy_col(out->prev_worker, sizeof(out->prev_worker), s, 8);
                out->prev_lease = sqlite3_column_type(s, 9) == SQLITE_NULL
                                      ? -1
                                      : sqlite3_column_int64(s, 9);
                out->held = sqlite3_column_int(s, 10);
        }
        done(s);
        return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

int
store_delivery_finish(struct store *st, int64_t id,
                      const struct store_outcome *o, int64_t now, char **cause)
{
        static const char what[] = "record delivery outcome";
        sqlite3_stmt *s = st->stmts[S_DELIVERY_FINISH];

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            bind_text(s, 2, o->status) != SQLITE_OK ||
            (o->next_at != 0 &&
             sqlite3_bind_int64(s, 3, o->next_at) != SQLITE_OK) ||
            bind_text(s, 4, o->error) != SQLITE_OK ||
            sqlite3_bind_int64(s, 5, now) != SQLITE_OK ||
            sqlite3_bind_int(s, 6, o->verdict) != SQLITE_OK ||
            sqlite3_bind_int(s, 7, o->local) != SQLITE_OK) {
                done(s);
                return fail(st, what, cause);
        }
        return run(st, s, what, cause);
}

int
store_next_delivery(struct store *st, int64_t *at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_NEXT_DELIVERY];
        int rc = step(st, s, "next delivery time", cause);
        bool none = rc == 1 && sqlite3_column_type(s, 0) == SQLITE_NULL;

        if (rc == 1 && !none)
                *at = sqlite3_column_int64(s, 0);
        done(s);
        return rc < 0 ? -1 : (rc == 1 && !none) ? 0 : 1;
}

char *
store_job_text(struct store *st, const struct tz *tz, int64_t id,
               const struct store_job_names *names, char **cause)
{
        static const char what[] = "read job";
        sqlite3_stmt *s = st->stmts[S_JSON_JOB];
        char *text = NULL;
        int rc;

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            bind_text(s, 2, names->trust) != SQLITE_OK ||
            bind_text(s, 3, names->school) != SQLITE_OK ||
            bind_text(s, 4, names->action) != SQLITE_OK ||
            bind_text(s, 5, names->contact) != SQLITE_OK) {
                done(s);
                fail(st, what, cause);
                return NULL;
        }
        st->tz = tz;
        rc = step(st, s, what, cause);
        if (rc == 0 && cause != NULL)
                xasprintf(cause, "%s: no delivery %lld", what, (long long)id);
        if (rc == 1)
                text = xstrdup(col_text(s, 0));
        done(s);
        st->tz = NULL;
        return text;
}

json_t *
store_json_job(struct store *st, const struct tz *tz, int64_t id, char **cause)
{
        struct store_job_names names = { "", NULL, "", NULL };
        char *text = store_job_text(st, tz, id, &names, cause);
        json_t *job = text != NULL ? json_loads(text, 0, NULL) : NULL;

        if (text != NULL && job == NULL && cause != NULL)
                xasprintf(cause, "read job: delivery %lld is not JSON",
                          (long long)id);
        free(text);
        return job;
}

int64_t
store_test_delivery(struct store *st, const char *channel, const char *type,
                    int64_t now, char **cause)
{
        struct store_alert a = { 0 };
        int64_t id = -1;

        if (store_begin(st, cause) < 0)
                return -1;
        a.case_id =
            store_case_open(st, STORE_TEST_URN, NULL, "test alert", now, cause);
        if (a.case_id < 0 ||
            store_case_set_state(st, a.case_id, CASE_CLOSED, now, cause) < 0)
                goto out;
        a.event_id = store_event_add(st, a.case_id, "test", now, now, NULL,
                                     "ofsted-notifyctl test", cause);
        if (a.event_id < 0)
                goto out;
        snprintf(a.urn, sizeof(a.urn), "%s", STORE_TEST_URN);
        snprintf(a.rule, sizeof(a.rule), "%s", STORE_TEST_RULE);
        snprintf(a.offset, sizeof(a.offset), "test");
        a.at = a.due = now;
        a.id = store_alert_add(st, &a, "test", NULL, cause);
        if (a.id < 0 || store_alert_fire(st, a.id, now, false, cause) < 0)
                goto out;
        id = store_delivery_add(st, a.id, channel, type, now, cause);
        if (id >= 0 && store_commit(st, cause) < 0)
                id = -1;
out:
        if (id < 0)
                store_rollback(st);
        return id;
}
