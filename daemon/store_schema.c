/*
 * store_schema: the schema of the state database and how a file is
 * brought to it: the migrations, one per schema version, applied in one
 * transaction by store_migrate() when store_open() opens a file, with
 * the foreign keys checked before the commit.
 */
#include "store_int.h"

#include "xalloc.h"

#include <stdlib.h>

/*
 * Acknowledgements, escalations and one-click links (issue 21), one
 * migration kept whole under a name so that it moves as one line when
 * branches are merged in another order. An alert's `escalation` is 0 for a
 * reminder, n for its rule's nth escalation. An acknowledgement is of one
 * case's rule as one event started it (a rule started again by a later
 * event is a new deadline): at most one each. A link keeps only the
 * BLAKE2b hash of its token (common/token.h), the case and rule it may
 * acknowledge, the channel it was sent to, and when it stops working.
 */
#define MIGRATION_ACKS                                                         \
        "ALTER TABLE alerts ADD COLUMN escalation INTEGER NOT NULL DEFAULT 0;" \
        "CREATE TABLE acks ("                                                  \
        " id INTEGER PRIMARY KEY,"                                             \
        " case_id INTEGER NOT NULL REFERENCES cases(id),"                      \
        " event_id INTEGER NOT NULL REFERENCES events(id),"                    \
        " rule TEXT NOT NULL,"                                                 \
        " actor TEXT,"                                                         \
        " note TEXT,"                                                          \
        " at INTEGER NOT NULL);"                                               \
        "CREATE UNIQUE INDEX acks_rule ON acks(case_id, rule, event_id);"      \
        "CREATE TABLE links ("                                                 \
        " id INTEGER PRIMARY KEY,"                                             \
        " hash BLOB NOT NULL UNIQUE,"                                          \
        " case_id INTEGER NOT NULL REFERENCES cases(id),"                      \
        " rule TEXT NOT NULL,"                                                 \
        " channel TEXT NOT NULL,"                                              \
        " expires INTEGER NOT NULL,"                                           \
        " created_at INTEGER NOT NULL);"                                       \
        "CREATE INDEX links_expires ON links(expires);"

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
        /*
         * 5 -> 6: the reads of one school or one case (upcoming, history,
         * show) start from the case and reach its events, alerts and
         * deliveries through an index on their foreign key, instead of
         * reading every pending alert or every delivery: their cost is
         * that school's rows, however many the others have. Inserts pay
         * one more index entry each; no update changes a key.
         */
        "CREATE INDEX events_case ON events(case_id);"
        "CREATE INDEX alerts_case ON alerts(case_id, at);"
        "CREATE INDEX deliveries_alert ON deliveries(alert_id);",
        /*
         * 6 -> 7: who recorded each event (token:NAME, user:EMAIL,
         * unix:USER; NULL before this version), and the API tokens of
         * ofsted-notify-web: only the BLAKE2b hash of a token and of its
         * calendar feed key is kept (common/token.h). A name is unique
         * among the tokens not revoked, so a revoked name can be reused.
         */
        "ALTER TABLE events ADD COLUMN actor TEXT;"
        "CREATE TABLE tokens ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " hash BLOB NOT NULL UNIQUE,"
        " feed_hash BLOB NOT NULL UNIQUE,"
        " role TEXT NOT NULL CHECK (role = 'viewer' OR role = 'school' OR"
        "  role = 'trust' OR role = 'admin'),"
        " schools TEXT NOT NULL,"
        " created_at INTEGER NOT NULL,"
        " created_by TEXT,"
        " revoked_at INTEGER);"
        "CREATE UNIQUE INDEX tokens_live ON tokens(name) "
        "WHERE revoked_at IS NULL;",
        MIGRATION_ACKS,
        /*
         * 8 -> 9: running it for years (store_ops.c). The audit trail:
         * every change of state by a person or program, append-only (the
         * triggers refuse an UPDATE or DELETE), kept when retention purges
         * the case it names, so no foreign key. Each channel's health: when
         * its last scheduled check went and when a person last confirmed
         * seeing it (NULL until the acknowledgement link sets it). The
         * closed cases by closing time, for retention; the deliveries by
         * channel, for the channels' last delivery.
         */
        "CREATE TABLE audit ("
        " id INTEGER PRIMARY KEY,"
        " at INTEGER NOT NULL,"
        " actor TEXT NOT NULL,"
        " source TEXT NOT NULL CHECK (source = 'ctl' OR source = 'web' OR"
        "  source = 'link' OR source = 'daemon'),"
        " action TEXT NOT NULL,"
        " urn TEXT,"
        " case_id INTEGER,"
        " detail TEXT);"
        "CREATE INDEX audit_at ON audit(at, id);"
        "CREATE INDEX audit_urn ON audit(urn, id) WHERE urn IS NOT NULL;"
        "CREATE INDEX audit_case ON audit(case_id, id) "
        "WHERE case_id IS NOT NULL;"
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
        " SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
        " SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
        "CREATE TABLE channel_health ("
        " channel TEXT PRIMARY KEY,"
        " checked_at INTEGER,"
        " confirmed_at INTEGER);"
        "CREATE INDEX cases_closed ON cases(closed_at) "
        "WHERE state = 'closed';"
        "CREATE INDEX deliveries_channel ON deliveries(channel, id);",
        /*
         * 9 -> 10: one-off messages to one address (a sign-in link of
         * ofsted-notify-web, issue 20), each the message of one delivery
         * of the email path: the recipient, the subject and the text the
         * JOB carries instead of an alert's rendering. Not shown by any
         * read; a sign-in link in it is dead after its first use or 15
         * minutes.
         */
        "CREATE TABLE messages ("
        " delivery_id INTEGER PRIMARY KEY REFERENCES deliveries(id),"
        " rcpt TEXT NOT NULL,"
        " subject TEXT NOT NULL,"
        " body TEXT NOT NULL);",
        /*
         * 10 -> 11: a delivered Pushover emergency's receipt and when it
         * expires, from its OUTCOME, so that the receipts still to poll
         * outlive the worker that sent them (docs/dispatch.md, "Pushover
         * receipts"): the scheduler hands them out again. Indexed by
         * expiry, only the deliveries that have one.
         */
        "ALTER TABLE deliveries ADD COLUMN receipt TEXT;"
        "ALTER TABLE deliveries ADD COLUMN receipt_expires INTEGER;"
        "CREATE INDEX deliveries_receipts ON deliveries(receipt_expires) "
        "WHERE receipt IS NOT NULL;",
};

_Static_assert(NELEM(migrations) == STORE_SCHEMA_VERSION,
               "one migration per schema version");
static int
user_version(struct store *st, const char *path, int *version, char **cause)
{
        char buf[32];

        if (store_pragma(st, "PRAGMA user_version", buf, sizeof(buf)) < 0) {
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
int
store_migrate(struct store *st, const char *path, char **cause)
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
