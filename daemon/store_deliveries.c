/* store_deliveries: deliveries, their dispatch and a JOB's rows. */
#include "store_int.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* --- Deliveries ----------------------------------------------------------- */

int64_t
store_delivery_add(struct store *st, int64_t alert_id, const char *channel,
                   const char *type, int64_t at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_DELIVERY_ADD];

        if (store_write(st, s,
                        sqlite3_bind_int64(s, 1, alert_id) != SQLITE_OK ||
                            bind_text(s, 2, channel) != SQLITE_OK ||
                            bind_text(s, 3, type) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 4, at) != SQLITE_OK,
                        "insert delivery", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* --- Dispatch ------------------------------------------------------------- */

/* Runs an UPDATE taking (now) or (text, now); returns the rows changed. */
static int
update_count(struct store *st, enum stmt which, const char *text, int64_t now,
             const char *what, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];
        int i = 1;

        if (store_write(
                st, s,
                (text != NULL && bind_text(s, i++, text) != SQLITE_OK) ||
                    sqlite3_bind_int64(s, i, now) != SQLITE_OK,
                what, cause) < 0)
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
                return store_fail(st, "find expired leases", cause);
        }
        rc = store_step(st, s, "find expired leases", cause);
        done(s);
        if (rc <= 0)
                return rc;
        s = st->stmts[S_DELIVERIES_EXPIRE];
        if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK) {
                done(s);
                return store_fail(st, "expire leases", cause);
        }
        while ((rc = store_step(st, s, "expire leases", cause)) == 1) {
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
                return store_fail(st, what, cause);
        }
        while (n < max && (rc = store_step(st, s, what, cause)) == 1) {
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

        if (store_write(st, s,
                        sqlite3_bind_int64(s, 1, r->id) != SQLITE_OK ||
                            bind_text(s, 2, worker) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 3, until) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 4, now) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 5, r->lease) != SQLITE_OK,
                        what, cause) < 0)
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

        rc = store_step_text(st, s, uid, what, cause);
        if (rc == 1) {
                memset(out, 0, sizeof(*out));
                out->id = sqlite3_column_int64(s, 0);
                if (names_delivery_status_parse(
                        (const char *)sqlite3_column_text(s, 1), &out->status) <
                    0) {
                        done(s);
                        xasprintf(cause,
                                  "%s: delivery %s has an unknown "
                                  "status",
                                  what, uid);
                        return -1;
                }
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
            bind_text(s, 2, names_delivery_status[o->status]) != SQLITE_OK ||
            (o->next_at != 0 &&
             sqlite3_bind_int64(s, 3, o->next_at) != SQLITE_OK) ||
            bind_text(s, 4, o->error) != SQLITE_OK ||
            sqlite3_bind_int64(s, 5, now) != SQLITE_OK ||
            sqlite3_bind_int(s, 6, o->verdict) != SQLITE_OK ||
            sqlite3_bind_int(s, 7, o->local) != SQLITE_OK ||
            bind_text(s, 8, o->receipt) != SQLITE_OK ||
            (o->receipt != NULL &&
             sqlite3_bind_int64(s, 9, o->receipt_expires) != SQLITE_OK)) {
                done(s);
                return store_fail(st, what, cause);
        }
        return store_run(st, s, what, cause);
}

int
store_receipts_outstanding(struct store *st, int64_t now,
                           struct store_receipt **out, char **cause)
{
        static const char what[] = "list receipts outstanding";
        sqlite3_stmt *s = st->stmts[S_RECEIPTS_OUTSTANDING];
        struct store_receipt *v = NULL;
        int n = 0, rc;

        *out = NULL;
        if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK) {
                done(s);
                return store_fail(st, what, cause);
        }
        while ((rc = store_step(st, s, what, cause)) == 1) {
                v = xreallocarray(v, (size_t)n + 1, sizeof(*v));
                copy_col(v[n].uid, sizeof(v[n].uid), s, 0);
                copy_col(v[n].channel, sizeof(v[n].channel), s, 1);
                copy_col(v[n].receipt, sizeof(v[n].receipt), s, 2);
                v[n].expires_at = sqlite3_column_int64(s, 3);
                copy_col(v[n].worker, sizeof(v[n].worker), s, 4);
                n++;
        }
        done(s);
        if (rc < 0) {
                free(v);
                return -1;
        }
        *out = v;
        return n;
}

int
store_next_delivery(struct store *st, int64_t *at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_NEXT_DELIVERY];
        int rc = store_step(st, s, "next delivery time", cause);
        bool none = rc == 1 && sqlite3_column_type(s, 0) == SQLITE_NULL;

        if (rc == 1 && !none)
                *at = sqlite3_column_int64(s, 0);
        done(s);
        return rc < 0 ? -1 : (rc == 1 && !none) ? 0 : 1;
}

/* --- A JOB's rows --------------------------------------------------------- */

/* A text column as a new string, or NULL when it is NULL. */
static char *
col_dup(sqlite3_stmt *s, int col)
{
        const char *v = col_text(s, col);

        return v != NULL ? xstrdup(v) : NULL;
}

/* An alert's columns from `col` on, in S_ALERT_READ's order. */
static void
alert_cols(sqlite3_stmt *s, int col, struct store_alert_row *out)
{
        struct store_alert *a = &out->a;

        a->id = sqlite3_column_int64(s, col);
        a->case_id = sqlite3_column_int64(s, col + 1);
        a->event_id = sqlite3_column_int64(s, col + 2);
        copy_col(a->urn, sizeof(a->urn), s, col + 3);
        copy_col(a->rule, sizeof(a->rule), s, col + 4);
        copy_col(a->offset, sizeof(a->offset), s, col + 5);
        a->at = sqlite3_column_int64(s, col + 6);
        a->due = sqlite3_column_int64(s, col + 7);
        a->opens = sqlite3_column_int64(s, col + 8); /* NULL: 0 */
        out->late = sqlite3_column_int(s, col + 9) != 0;
        out->contact = col_dup(s, col + 10);
        out->warning = col_dup(s, col + 11);
        a->escalation = sqlite3_column_int(s, col + 12);
}

/*
 * Steps statement `which`, bound to `id`, to its one row; 1 on it (the
 * caller reads it, then calls done()), -1 with *cause when there is none
 * or on an error.
 */
static int
read_one(struct store *st, enum stmt which, int64_t id, const char *what,
         const char *noun, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];
        int rc;

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
                done(s);
                return store_fail(st, what, cause);
        }
        rc = store_step(st, s, what, cause);
        if (rc == 1)
                return 1;
        if (rc == 0 && cause != NULL)
                xasprintf(cause, "%s: no %s %lld", what, noun, (long long)id);
        done(s);
        return -1;
}

int
store_alert_read(struct store *st, int64_t id, struct store_alert_row *out,
                 char **cause)
{
        sqlite3_stmt *s = st->stmts[S_ALERT_READ];

        if (read_one(st, S_ALERT_READ, id, "read alert", "alert", cause) < 0)
                return -1;
        alert_cols(s, 0, out);
        done(s);
        return 0;
}

void
store_alert_row_clear(struct store_alert_row *r)
{
        free(r->contact);
        free(r->warning);
        r->contact = r->warning = NULL;
}

int
store_job_read(struct store *st, int64_t id, struct store_job *out,
               char **cause)
{
        sqlite3_stmt *s = st->stmts[S_JOB_READ];

        if (read_one(st, S_JOB_READ, id, "read job", "delivery", cause) < 0)
                return -1;
        copy_col(out->uid, sizeof(out->uid), s, 0);
        out->lease = sqlite3_column_int64(s, 1);
        out->attempt = sqlite3_column_int64(s, 2);
        copy_col(out->channel, sizeof(out->channel), s, 3);
        copy_col(out->type, sizeof(out->type), s, 4);
        alert_cols(s, 5, &out->alert);
        done(s);
        return 0;
}

/*
 * A one-off delivery to `channel`: a closed case of school STORE_TEST_URN
 * noted m->note, an event m->kind by m->actor, an alert of m->rule and
 * m->offset fired at `now` and a pending delivery: what a test alert, a
 * channel's check and a one-off email are made of.
 */
static int64_t
marked_rows(struct store *st, const struct store_mark *m, const char *channel,
            const char *type, int64_t now, char **cause)
{
        struct store_alert a = { 0 };

        a.case_id =
            store_case_open(st, STORE_TEST_URN, NULL, m->note, now, cause);
        if (a.case_id < 0 ||
            store_case_set_state(st, a.case_id, CASE_CLOSED, now, cause) < 0)
                return -1;
        a.event_id = store_event_add(st, a.case_id, m->kind, now, now, NULL,
                                     NULL, m->actor, cause);
        if (a.event_id < 0)
                return -1;
        snprintf(a.urn, sizeof(a.urn), "%s", STORE_TEST_URN);
        snprintf(a.rule, sizeof(a.rule), "%s", m->rule);
        snprintf(a.offset, sizeof(a.offset), "%s", m->offset);
        a.at = a.due = now;
        a.id = store_alert_add(st, &a, m->kind, NULL, cause);
        if (a.id < 0 || store_alert_fire(st, a.id, now, false, cause) < 0)
                return -1;
        return store_delivery_add(st, a.id, channel, type, now, cause);
}

/* The rows and then()'s, in a transaction of their own. */
int64_t
store_marked_delivery(struct store *st, const struct store_mark *m,
                      const char *channel, const char *type, int64_t now,
                      store_mark_then then, const void *arg, char **cause)
{
        int64_t id;

        if (store_begin(st, cause) < 0)
                return -1;
        id = marked_rows(st, m, channel, type, now, cause);
        if (id >= 0 && ((then != NULL && then(st, id, now, arg, cause) < 0) ||
                        store_commit(st, cause) < 0))
                id = -1;
        if (id < 0)
                store_rollback(st);
        return id;
}

int64_t
store_test_delivery(struct store *st, const char *channel, const char *type,
                    int64_t now, char **cause)
{
        return store_marked_delivery(
            st,
            &(struct store_mark){ STORE_TEST_RULE, "test", "test alert", "test",
                                  "ofsted-notifyctl test" },
            channel, type, now, NULL, NULL, cause);
}

/* The message of one-off email delivery `delivery`. */
static int
message_add(struct store *st, int64_t delivery, int64_t now, const void *arg,
            char **cause)
{
        const struct store_message *m = arg;
        sqlite3_stmt *s = st->stmts[S_MESSAGE_ADD];

        (void)now;
        return store_write(st, s,
                           sqlite3_bind_int64(s, 1, delivery) != SQLITE_OK ||
                               bind_text(s, 2, m->rcpt) != SQLITE_OK ||
                               bind_text(s, 3, m->subject) != SQLITE_OK ||
                               bind_text(s, 4, m->body) != SQLITE_OK,
                           "message add", cause);
}

int64_t
store_message_delivery(struct store *st, const char *channel, const char *type,
                       const struct store_message *m, int64_t now, char **cause)
{
        return store_marked_delivery(
            st,
            &(struct store_mark){ STORE_MESSAGE_RULE, m->kind,
                                  "a one-off email", m->kind, m->actor },
            channel, type, now, message_add, m, cause);
}

int
store_message_read(struct store *st, int64_t id, struct store_message *out,
                   char **cause)
{
        sqlite3_stmt *s = st->stmts[S_MESSAGE_READ];
        int rc;

        memset(out, 0, sizeof(*out));
        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
                done(s);
                return store_fail(st, "message read", cause);
        }
        rc = store_step(st, s, "message read", cause);
        if (rc == 1) {
                out->rcpt = xstrdup(col_text(s, 0));
                out->subject = xstrdup(col_text(s, 1));
                out->body = xstrdup(col_text(s, 2));
        }
        done(s);
        return rc;
}

void
store_message_clear(struct store_message *m)
{
        free((char *)m->rcpt);
        free((char *)m->subject);
        free((char *)m->body);
        memset(m, 0, sizeof(*m));
}
