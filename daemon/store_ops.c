/*
 * store_ops: what running the service for years needs of the store: the
 * audit trail, backups (a consistent copy while running) and their check,
 * retention, and each channel's health.
 */
#include "store_int.h"

#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- The audit trail ------------------------------------------------------ */

int64_t
store_audit_add(struct store *st, const struct store_audit *a, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_AUDIT_ADD];

        if (store_write(st, s,
                        sqlite3_bind_int64(s, 1, a->at) != SQLITE_OK ||
                            bind_text(s, 2, a->actor) != SQLITE_OK ||
                            bind_text(s, 3, a->source) != SQLITE_OK ||
                            bind_text(s, 4, a->action) != SQLITE_OK ||
                            bind_text(s, 5, a->urn) != SQLITE_OK ||
                            bind_time(s, 6, a->case_id) != SQLITE_OK ||
                            bind_text(s, 7, a->detail) != SQLITE_OK,
                        "audit", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* --- Backups -------------------------------------------------------------- */

/* Runs `sql` on `db`, which answers one row; its first column into buf. */
static int
one_value(sqlite3 *db, const char *sql, char *buf, size_t len)
{
        sqlite3_stmt *s = NULL;
        int rc = -1;

        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW) {
                copy_col(buf, len, s, 0);
                rc = 0;
        }
        sqlite3_finalize(s);
        return rc;
}

int
store_verify(const char *path, int *version, char **cause)
{
        sqlite3 *db = NULL;
        char buf[256];
        int rc = -1, v;

        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
            SQLITE_OK) {
                xasprintf(cause, "%s: %s", path,
                          db ? sqlite3_errmsg(db) : "out of memory");
                goto out;
        }
        if (one_value(db, "PRAGMA integrity_check", buf, sizeof(buf)) < 0) {
                xasprintf(cause, "%s: not a state database: %s", path,
                          sqlite3_errmsg(db));
                goto out;
        }
        if (strcmp(buf, "ok") != 0) {
                xasprintf(cause, "%s: integrity check failed: %s", path, buf);
                goto out;
        }
        if (one_value(db, "PRAGMA user_version", buf, sizeof(buf)) < 0) {
                xasprintf(cause, "%s: %s", path, sqlite3_errmsg(db));
                goto out;
        }
        v = atoi(buf);
        if (v < 1 || v > STORE_SCHEMA_VERSION) {
                xasprintf(cause,
                          "%s: schema version %d: not a state database of "
                          "this program (versions 1 to %d)",
                          path, v, STORE_SCHEMA_VERSION);
                goto out;
        }
        if (version != NULL)
                *version = v;
        rc = 0;
out:
        sqlite3_close_v2(db);
        return rc;
}

/* The copy as one file: rollback journal, not WAL. */
static int
single_file(const char *path, char **cause)
{
        sqlite3 *db = NULL;
        char mode[16];
        int rc = -1;

        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
                SQLITE_OK ||
            one_value(db, "PRAGMA journal_mode = DELETE", mode, sizeof(mode)) <
                0) {
                xasprintf(cause, "%s: %s", path,
                          db ? sqlite3_errmsg(db) : "out of memory");
                goto out;
        }
        rc = 0;
out:
        sqlite3_close_v2(db);
        return rc;
}

int
store_backup(struct store *st, const char *path, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_BACKUP];
        int fd, rc = -1;

        /* An empty file of our mode: VACUUM INTO fills it. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, STORE_MODE);
        if (fd < 0) {
                xasprintf(cause, "%s: %s", path, strerror(errno));
                return -1;
        }
        if (fchmod(fd, STORE_MODE) < 0) {
                xasprintf(cause, "%s: chmod: %s", path, strerror(errno));
                close(fd);
                goto out;
        }
        close(fd);
        if (bind_text(s, 1, path) != SQLITE_OK) {
                done(s);
                store_fail(st, "backup", cause);
                goto out;
        }
        /* A read: the fault gate does not stop it. */
        if (store_run(st, s, "backup", cause) < 0 ||
            single_file(path, cause) < 0 || store_verify(path, NULL, cause) < 0)
                goto out;
        rc = 0;
out:
        if (rc < 0)
                unlink(path);
        return rc;
}

int
store_checkpoint(const char *path, char **cause)
{
        sqlite3 *db = NULL;
        int rc = -1;

        /* The last connection to close folds the -wal in and removes it. */
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
                SQLITE_OK ||
            sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
                         NULL) != SQLITE_OK) {
                xasprintf(cause, "%s: checkpoint: %s", path,
                          db ? sqlite3_errmsg(db) : "out of memory");
                goto out;
        }
        rc = 0;
out:
        if (db != NULL && sqlite3_close(db) != SQLITE_OK && rc == 0) {
                xasprintf(cause, "%s: close: %s", path, sqlite3_errmsg(db));
                sqlite3_close_v2(db);
                rc = -1;
        }
        return rc;
}

/* --- Retention ------------------------------------------------------------ */

/* Runs statement `which` with ?1 = before; how many rows it changed. */
static int
run_before(struct store *st, enum stmt which, int64_t before, const char *what,
           int *n, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];

        if (store_write(st, s, sqlite3_bind_int64(s, 1, before) != SQLITE_OK,
                        what, cause) < 0)
                return -1;
        *n += sqlite3_changes(st->db);
        return 0;
}

int
store_retention(struct store *st, int64_t purge_before, int64_t blank_before,
                struct store_retention *out, char **cause)
{
        *out = (struct store_retention){ 0 };
        if (store_begin(st, cause) < 0)
                return -1;
        if (purge_before > 0 &&
            (run_before(st, S_PURGE_DELIVERIES, purge_before, "retention",
                        &out->deliveries, cause) < 0 ||
             run_before(st, S_PURGE_ACKS, purge_before, "retention", &out->acks,
                        cause) < 0 ||
             run_before(st, S_PURGE_LINKS, purge_before, "retention",
                        &out->acks, cause) < 0 ||
             run_before(st, S_PURGE_ALERTS, purge_before, "retention",
                        &out->alerts, cause) < 0 ||
             run_before(st, S_PURGE_EVENTS, purge_before, "retention",
                        &out->events, cause) < 0 ||
             run_before(st, S_PURGE_CASES, purge_before, "retention",
                        &out->cases, cause) < 0))
                goto fail;
        if (blank_before > 0 &&
            (run_before(st, S_BLANK_EVENTS, blank_before, "retention",
                        &out->blanked, cause) < 0 ||
             run_before(st, S_BLANK_CASES, blank_before, "retention",
                        &out->blanked, cause) < 0))
                goto fail;
        if (store_commit(st, cause) < 0)
                goto fail;
        return 0;
fail:
        store_rollback(st);
        *out = (struct store_retention){ 0 };
        return -1;
}

/* --- Channels' health ----------------------------------------------------- */

int
store_channel_health(struct store *st, const char *channel,
                     struct store_channel_health *out, char **cause)
{
        static const enum stmt which[] = { S_CHANNEL_LAST, S_CHANNEL_DELIVERED,
                                           S_CHANNEL_HEALTH };
        int rc = 0;

        *out = (struct store_channel_health){ 0 };
        for (size_t i = 0; rc >= 0 && i < NELEM(which); i++) {
                sqlite3_stmt *s = st->stmts[which[i]];

                rc = store_step_text(st, s, channel, "channel health", cause);
                if (rc == 1 && which[i] == S_CHANNEL_LAST) {
                        out->last_failed =
                            strcmp(col_text(s, 0), "failed") == 0;
                        out->last_settled = sqlite3_column_int64(s, 1);
                } else if (rc == 1 && which[i] == S_CHANNEL_DELIVERED) {
                        out->last_delivered = sqlite3_column_int64(s, 0);
                } else if (rc == 1) {
                        out->checked_at = sqlite3_column_int64(s, 0);
                        out->confirmed_at = sqlite3_column_int64(s, 1);
                }
                done(s);
                if (rc < 0)
                        break;
        }
        return rc < 0 ? -1 : 0;
}

/* Sets one of a channel's times by statement `which`. */
static int
channel_time(struct store *st, enum stmt which, const char *channel,
             int64_t now, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];

        if (bind_text(s, 1, channel) != SQLITE_OK ||
            sqlite3_bind_int64(s, 2, now) != SQLITE_OK) {
                done(s);
                return store_fail(st, "channel health", cause);
        }
        return store_run(st, s, "channel health", cause);
}

int
store_channel_seen(struct store *st, const char *channel, int64_t now,
                   char **cause)
{
        return channel_time(st, S_CHANNEL_SEEN, channel, now, cause);
}

int
store_channel_confirmed(struct store *st, const char *channel, int64_t now,
                        char **cause)
{
        return channel_time(st, S_CHANNEL_CONFIRMED, channel, now, cause);
}

/* The time channel `arg` was last checked: `now`. */
static int
channel_checked(struct store *st, int64_t delivery, int64_t now,
                const void *arg, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CHANNEL_CHECKED];

        (void)delivery;
        return store_write(st, s,
                           bind_text(s, 1, arg) != SQLITE_OK ||
                               sqlite3_bind_int64(s, 2, now) != SQLITE_OK,
                           "channel check", cause);
}

int64_t
store_check_delivery(struct store *st, const char *channel, const char *type,
                     const char *every, int64_t now, char **cause)
{
        return store_marked_delivery(
            st,
            &(struct store_mark){ STORE_CHECK_RULE, every, "channel check",
                                  "check", "ofsted-notifyd" },
            channel, type, now, channel_checked, channel, cause);
}
