/* store_deliveries: deliveries, their dispatch and the JOB text. */
#include "store_int.h"

#include "timefmt.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>

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
                return store_fail(st, "insert delivery", cause);
        }
        if (store_run(st, s, "insert delivery", cause) < 0)
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

        if ((text != NULL && bind_text(s, i++, text) != SQLITE_OK) ||
            sqlite3_bind_int64(s, i, now) != SQLITE_OK) {
                done(s);
                return store_fail(st, what, cause);
        }
        if (store_run(st, s, what, cause) < 0)
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

        if (sqlite3_bind_int64(s, 1, r->id) != SQLITE_OK ||
            bind_text(s, 2, worker) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, until) != SQLITE_OK ||
            sqlite3_bind_int64(s, 4, now) != SQLITE_OK ||
            sqlite3_bind_int64(s, 5, r->lease) != SQLITE_OK) {
                done(s);
                return store_fail(st, what, cause);
        }
        if (store_run(st, s, what, cause) < 0)
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
                return store_fail(st, what, cause);
        }
        rc = store_step(st, s, what, cause);
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
            sqlite3_bind_int(s, 7, o->local) != SQLITE_OK) {
                done(s);
                return store_fail(st, what, cause);
        }
        return store_run(st, s, what, cause);
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

/* --- The JOB text --------------------------------------------------------- */

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

int
store_add_functions(struct store *st, const char *path, char **cause)
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
                store_fail(st, what, cause);
                return NULL;
        }
        st->tz = tz;
        rc = store_step(st, s, what, cause);
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
                                     NULL, "ofsted-notifyctl test", cause);
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
