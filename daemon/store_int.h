/*
 * store_int: what the store's files share, private to daemon/.
 *
 * store.c holds the statement table (one enum-indexed array, prepared
 * once in store_open()), opening, faults, transactions and the stepping
 * every statement goes through; store_schema.c the migrations and
 * store_migrate(), which store_open() calls. store_cases.c holds
 * cases, events and alerts; store_deliveries.c the deliveries, their
 * dispatch and the JOB's rows; store_json.c the views that the control
 * replies and the metrics read; store_tokens.c the API tokens;
 * store_ops.c the audit trail, backups, retention and channel health.
 */
#ifndef ONOTIFY_STORE_INT_H
#define ONOTIFY_STORE_INT_H

#include "store.h"

#include <sqlite3.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

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
        S_RECEIPTS_OUTSTANDING,
        S_NEXT_DELIVERY,
        S_JOB_READ,
        S_MESSAGE_ADD,
        S_MESSAGE_READ,
        S_LEASES_DUE,
        S_DELIVERIES_SHIFT,
        S_DELIVERIES_UNHOLD,
        S_JSON_HELD,
        S_PROBE,
        S_JSON_UPCOMING_SCHOOL,
        S_JSON_HISTORY_SCHOOL,
        S_JSON_HISTORY_UID,
        S_ALERT_READ,
        S_ACK_EVENT,
        S_ACK_GET,
        S_ACK_ADD,
        S_ALERTS_ACK,
        S_JSON_CASE_ACKS,
        S_LINK_ADD,
        S_LINK_FIND,
        S_DELIVERY_CASE,
        S_LINKS_PRUNE,
        S_TOKEN_ADD,
        S_TOKEN_LIVE,
        S_TOKEN_REVOKE,
        S_TOKEN_LIST,
        S_TOKEN_AUTH,
        S_TOKEN_FEED,
        S_AUDIT_ADD,
        S_AUDIT_LIST,
        S_BACKUP,
        S_PURGE_DELIVERIES,
        S_PURGE_ALERTS,
        S_PURGE_EVENTS,
        S_PURGE_CASES,
        S_BLANK_EVENTS,
        S_BLANK_CASES,
        S_SCHOOL_CASES,
        S_CHANNEL_LAST,
        S_CHANNEL_DELIVERED,
        S_CHANNEL_HEALTH,
        S_CHANNEL_CHECKED,
        S_CHANNEL_SEEN,
        S_CHANNEL_CONFIRMED,
        S_PURGE_ACKS,
        S_PURGE_LINKS,
        S_JSON_SCHOOLS,
        S_JSON_SCHOOLS_ONE,
        S_JSON_DEADLINES,
        S_JSON_DEADLINES_ONE,
        S_RULE_ENDS_CLEAR,
        S_RULE_ENDS_ADD,
        S_SAVEPOINT,
        S_RELEASE,
        S_ROLLBACK_TO,
        S_COUNT
};

struct store {
        sqlite3 *db;
        sqlite3_stmt *stmts[S_COUNT];
        char *path;
        enum store_fault fault;
        char *fault_text; /* "state database PATH: why", while faulty */
};

/* The names of enum case_state and enum alert_state, as the CHECK
 * constraints on cases.state and alerts.state have them. */
extern const char *const store_case_states[CASE_CLOSED + 1];
extern const char *const store_alert_states[ALERT_MISSED + 1];

/*
 * Sets *cause to "what: <the connection's last error>", and notes a fault
 * when the error is one; returns -1.
 */
int store_fail(struct store *st, const char *what, char **cause);
/*
 * Steps: 1 on a row, 0 when done, -1 (cause set) on an error. A write
 * outside a transaction fails at once while the store has a fault.
 */
int store_step(struct store *st, sqlite3_stmt *s, const char *what,
               char **cause);
/*
 * Binds `key` to ?1 of `s` and steps it once, as store_step(); when the
 * bind fails, readies `s` again and fails as store_fail(). The caller
 * reads a row (1) and calls done(s) as after store_step().
 */
int store_step_text(struct store *st, sqlite3_stmt *s, const char *key,
                    const char *what, char **cause);
/* Runs a statement that returns no rows, then readies it again. */
int store_run(struct store *st, sqlite3_stmt *s, const char *what,
              char **cause);
/*
 * store_run() of `s` as the caller bound it: `bind_failed` when a bind
 * did not take, which readies `s` again and fails as store_fail(). Then
 * sqlite3_changes() or sqlite3_last_insert_rowid() tell what it did.
 */
int store_write(struct store *st, sqlite3_stmt *s, bool bind_failed,
                const char *what, char **cause);

/* Runs a PRAGMA that answers one value; its text is copied into buf. */
int store_pragma(struct store *st, const char *sql, char *buf, size_t len);
/*
 * Brings the schema of the file at `path`, just opened, to
 * STORE_SCHEMA_VERSION in one transaction, refusing a database written by
 * a newer program (store_schema.c).
 */
int store_migrate(struct store *st, const char *path, char **cause);

/* What marks a one-off delivery as what it is (store_marked_delivery()). */
struct store_mark {
        const char *rule, *offset; /* the alert's */
        const char *note;          /* the closed case's */
        const char *kind, *actor;  /* the event's */
};

/*
 * What a one-off delivery adds to its rows (the channel's check time, the
 * message): 0, or -1 with *cause. `delivery` is the new delivery's row id,
 * `now` the time it was made at.
 */
typedef int (*store_mark_then)(struct store *st, int64_t delivery, int64_t now,
                               const void *arg, char **cause);

/*
 * The rows of a test alert, a channel's check or a one-off email, and then
 * what then(st, id, now, arg) adds (then may be NULL), in one transaction of
 * their own; the delivery's row id, or -1 with all undone
 * (store_deliveries.c).
 */
int64_t store_marked_delivery(struct store *st, const struct store_mark *m,
                              const char *channel, const char *type,
                              int64_t now, store_mark_then then,
                              const void *arg, char **cause);

/* Readies a statement for its next use and drops the borrowed bindings. */
static inline void
done(sqlite3_stmt *s)
{
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
}

/*
 * Binds text, or NULL when v is NULL. The text is borrowed (SQLITE_STATIC):
 * every caller clears the bindings before v can go away.
 */
static inline int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
        if (v == NULL)
                return sqlite3_bind_null(s, i);
        return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Binds a fixed-size field that may fill its array without a NUL. */
static inline int
bind_field(sqlite3_stmt *s, int i, const char *v, size_t size)
{
        return sqlite3_bind_text(s, i, v, (int)strnlen(v, size), SQLITE_STATIC);
}

/* Binds a time, or NULL when it is 0 (absent). */
static inline int
bind_time(sqlite3_stmt *s, int i, int64_t v)
{
        if (v == 0)
                return sqlite3_bind_null(s, i);
        return sqlite3_bind_int64(s, i, v);
}

/* A text column into a fixed-size field, truncated if it must be. */
static inline void
copy_col(char *dst, size_t size, sqlite3_stmt *s, int col)
{
        const char *v = (const char *)sqlite3_column_text(s, col);
        size_t n = v == NULL ? 0 : strnlen(v, size - 1);

        if (n > 0)
                memcpy(dst, v, n);
        dst[n] = '\0';
}

static inline const char *
col_text(sqlite3_stmt *s, int col)
{
        return (const char *)sqlite3_column_text(s, col);
}

#endif
