/* store_json: the views the control replies and metrics read. */
#include "store_int.h"

#include "timefmt.h"
#include "xalloc.h"

#define MISSED_MAX 20

/* A time column as RFC 3339 text in buf, or NULL when the column is NULL. */
static const char *
col_time(const struct tz *tz, sqlite3_stmt *s, int col, char *buf, size_t len)
{
        if (sqlite3_column_type(s, col) == SQLITE_NULL)
                return NULL;
        timefmt_rfc3339(tz, sqlite3_column_int64(s, col), buf, len);
        return buf;
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

/* --- Views ---------------------------------------------------------------- */

/*
 * Each view binds its statement and hands it to rows(), with a function
 * that turns one row into a JSON object (json_pack: "s?" writes null for a
 * NULL column).
 */
typedef json_t *(*row_fn)(sqlite3_stmt *s, const struct tz *tz);

/*
 * Steps statement `which`, already bound (bind_rc is the binding's result),
 * calling `each` on every row with `arg`: 0, or -1 with *cause on an error
 * of the database or of `each` (which stops the walk). The statement is
 * reset either way.
 */
typedef int (*each_fn)(sqlite3_stmt *s, void *arg, const char *what,
                       char **cause);

static int
each_row(struct store *st, enum stmt which, int bind_rc, each_fn each,
         void *arg, const char *what, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];
        int rc;

        if (bind_rc != SQLITE_OK) {
                rc = store_fail(st, what, cause);
        } else {
                while ((rc = store_step(st, s, what, cause)) == 1) {
                        if (each(s, arg, what, cause) < 0) {
                                rc = -1;
                                break;
                        }
                }
        }
        done(s);
        return rc < 0 ? -1 : 0;
}

struct rows_arg {
        json_t *arr;
        row_fn row;
        const struct tz *tz;
};

static int
add_row(sqlite3_stmt *s, void *arg, const char *what, char **cause)
{
        struct rows_arg *a = arg;

        return append(a->arr, a->row(s, a->tz), what, cause);
}

/*
 * The array of the rows of statement `which` (as each_row()) made by
 * `row`; NULL with *cause on any error.
 */
static json_t *
rows(struct store *st, enum stmt which, int bind_rc, row_fn row,
     const struct tz *tz, const char *what, char **cause)
{
        struct rows_arg a = { json_array(), row, tz };

        if (each_row(st, which, bind_rc, add_row, &a, what, cause) < 0) {
                json_decref(a.arr);
                return NULL;
        }
        return a.arr;
}

/* Sets the view `part` as `key` of `obj`: 0, or -1 when it is NULL (the
 * view failed, cause set). */
static int
set_part(json_t *obj, const char *key, json_t *part)
{
        if (part == NULL)
                return -1;
        json_object_set_new(obj, key, part);
        return 0;
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

        /* actor: who recorded it; null for events before schema 7. */
        return json_pack(
            "{s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:s?}", "event",
            (json_int_t)sqlite3_column_int64(s, 0), "kind", col_text(s, 1),
            "at", col_time(tz, s, 2, at, sizeof(at)), "recorded",
            col_time(tz, s, 3, recorded, sizeof(recorded)), "contact",
            col_text(s, 4), "note", col_text(s, 5), "actor", col_text(s, 6));
}

/* "alert" for a reminder, "escalation" for an escalation. */
static const char *
alert_kind(sqlite3_stmt *s, int col)
{
        return sqlite3_column_int(s, col) > 0 ? "escalation" : "alert";
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
            "{s:I, s:s, s:s, s:s, s:s?, s:s?, s:s, s:b, s:s?}", "id",
            (json_int_t)sqlite3_column_int64(s, 0), "rule", col_text(s, 1),
            "kind", alert_kind(s, 8), "offset", col_text(s, 2), "at",
            col_time(tz, s, 3, at, sizeof(at)), "due",
            col_time(tz, s, 4, due, sizeof(due)), "state", state, "late",
            sqlite3_column_int(s, 6) != 0, "fired", fired_at);
}

static json_t *
ack_row(sqlite3_stmt *s, const struct tz *tz)
{
        char at[TIMEFMT_LEN];

        return json_pack("{s:s, s:I, s:s?, s:s?, s:s?}", "rule", col_text(s, 0),
                         "event", (json_int_t)sqlite3_column_int64(s, 1), "by",
                         col_text(s, 2), "note", col_text(s, 3), "at",
                         col_time(tz, s, 4, at, sizeof(at)));
}

json_t *
store_json_case(struct store *st, const struct tz *tz, int64_t id, char **cause)
{
        static const char what[] = "show case";
        sqlite3_stmt *s = st->stmts[S_JSON_CASE];
        json_t *c = NULL;
        char opened[TIMEFMT_LEN], closed[TIMEFMT_LEN];
        int rc;

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
                store_fail(st, what, cause);
                goto out;
        }
        rc = store_step(st, s, what, cause);
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
        if (set_part(
                c, "events",
                rows(st, S_JSON_CASE_EVENTS,
                     sqlite3_bind_int64(st->stmts[S_JSON_CASE_EVENTS], 1, id),
                     event_row, tz, "show case events", cause)) < 0 ||
            set_part(
                c, "alerts",
                rows(st, S_JSON_CASE_ALERTS,
                     sqlite3_bind_int64(st->stmts[S_JSON_CASE_ALERTS], 1, id),
                     alert_row, tz, "show case alerts", cause)) < 0 ||
            set_part(
                c, "acks",
                rows(st, S_JSON_CASE_ACKS,
                     sqlite3_bind_int64(st->stmts[S_JSON_CASE_ACKS], 1, id),
                     ack_row, tz, "show case acknowledgements", cause)) < 0) {
                json_decref(c);
                c = NULL;
        }
out:
        done(s);
        return c;
}

static json_t *
upcoming_row(sqlite3_stmt *s, const struct tz *tz)
{
        char at[TIMEFMT_LEN], due[TIMEFMT_LEN], opens[TIMEFMT_LEN];

        /* opens: when the rule's window opens, null when it has none. */
        return json_pack(
            "{s:I, s:s, s:s, s:s, s:s?, s:s, s:s?, s:s?}", "case",
            (json_int_t)sqlite3_column_int64(s, 0), "school", col_text(s, 1),
            "rule", col_text(s, 2), "kind", alert_kind(s, 7), "at",
            col_time(tz, s, 3, at, sizeof(at)), "offset", col_text(s, 4), "due",
            col_time(tz, s, 5, due, sizeof(due)), "opens",
            col_time(tz, s, 6, opens, sizeof(opens)));
}

json_t *
store_json_upcoming(struct store *st, const struct tz *tz, const char *urn,
                    char **cause)
{
        if (urn == NULL)
                return rows(st, S_JSON_UPCOMING, SQLITE_OK, upcoming_row, tz,
                            "list upcoming alerts", cause);
        return rows(st, S_JSON_UPCOMING_SCHOOL,
                    bind_text(st->stmts[S_JSON_UPCOMING_SCHOOL], 1, urn),
                    upcoming_row, tz, "list upcoming alerts", cause);
}

static json_t *
school_row(sqlite3_stmt *s, const struct tz *tz)
{
        char opened[TIMEFMT_LEN], due[TIMEFMT_LEN], at[TIMEFMT_LEN];
        json_t *next = json_null();

        if (sqlite3_column_type(s, 5) != SQLITE_NULL)
                next = json_pack("{s:s, s:s?, s:s?}", "at",
                                 col_time(tz, s, 5, at, sizeof(at)), "rule",
                                 col_text(s, 6), "offset", col_text(s, 7));
        return json_pack("{s:s?, s:I, s:s?, s:s?, s:s?, s:s?, s:b, s:o?}",
                         "school", col_text(s, 1), "case",
                         (json_int_t)sqlite3_column_int64(s, 0), "state",
                         col_text(s, 2), "opened",
                         col_time(tz, s, 3, opened, sizeof(opened)),
                         "next_deadline", col_time(tz, s, 4, due, sizeof(due)),
                         "next_deadline_rule", col_text(s, 8), "acknowledged",
                         sqlite3_column_int(s, 9) != 0, "next_alert", next);
}

json_t *
store_json_schools(struct store *st, const struct tz *tz,
                   const char *const *urns, size_t n, int64_t now, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_JSON_SCHOOLS_ONE];
        json_t *all, *one;

        if (urns == NULL)
                return rows(
                    st, S_JSON_SCHOOLS,
                    sqlite3_bind_int64(st->stmts[S_JSON_SCHOOLS], 2, now),
                    school_row, tz, "list schools", cause);
        all = json_array();
        for (size_t i = 0; i < n; i++) {
                int bind_rc = bind_text(s, 1, urns[i]);

                if (bind_rc == SQLITE_OK)
                        bind_rc = sqlite3_bind_int64(s, 2, now);
                one = rows(st, S_JSON_SCHOOLS_ONE, bind_rc, school_row, tz,
                           "list schools", cause);
                if (one == NULL || json_array_extend(all, one) < 0) {
                        json_decref(one);
                        json_decref(all);
                        return NULL;
                }
                json_decref(one);
        }
        return all;
}

static json_t *
deadline_row(sqlite3_stmt *s, const struct tz *tz)
{
        char due[TIMEFMT_LEN], opens[TIMEFMT_LEN];

        return json_pack("{s:I, s:s?, s:s?, s:s?, s:s?, s:b}", "case",
                         (json_int_t)sqlite3_column_int64(s, 0), "school",
                         col_text(s, 1), "rule", col_text(s, 2), "due",
                         col_time(tz, s, 3, due, sizeof(due)), "opens",
                         col_time(tz, s, 4, opens, sizeof(opens)),
                         "acknowledged", sqlite3_column_int(s, 5) != 0);
}

json_t *
store_json_deadlines(struct store *st, const struct tz *tz, const char *urn,
                     int64_t now, char **cause)
{
        enum stmt which = urn == NULL ? S_JSON_DEADLINES : S_JSON_DEADLINES_ONE;
        sqlite3_stmt *s = st->stmts[which];
        int bind_rc = urn == NULL ? SQLITE_OK : bind_text(s, 1, urn);

        if (bind_rc == SQLITE_OK)
                bind_rc = sqlite3_bind_int64(s, 2, now);
        return rows(st, which, bind_rc, deadline_row, tz, "list deadlines",
                    cause);
}

/*
 * The rows are the connection's own (a TEMP table), so they are written
 * while the file has a fault too: straight through sqlite3_step(), not
 * store_step()'s gate, which guards the file.
 */
static int
rule_ends_step(struct store *st, sqlite3_stmt *s, int bind_rc, char **cause)
{
        int rc = bind_rc == SQLITE_OK ? sqlite3_step(s) : bind_rc;

        done(s);
        if (rc == SQLITE_DONE)
                return 0;
        return store_fail(st, "set which events end which rules", cause);
}

int
store_rule_ends_set(struct store *st, const struct rule *rules, size_t nrules,
                    char **cause)
{
        sqlite3_stmt *add = st->stmts[S_RULE_ENDS_ADD];

        if (rule_ends_step(st, st->stmts[S_RULE_ENDS_CLEAR], SQLITE_OK, cause) <
            0)
                return -1;
        for (size_t i = 0; i < nrules; i++) {
                for (size_t j = 0; j < rules[i].ncancel_on; j++) {
                        int bind_rc = bind_text(add, 1, rules[i].name);

                        if (bind_rc == SQLITE_OK)
                                bind_rc =
                                    bind_text(add, 2, rules[i].cancel_on[j]);
                        if (rule_ends_step(st, add, bind_rc, cause) < 0)
                                return -1;
                }
        }
        return 0;
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
        /* One statement for each way in, so that each reads only its
         * rows: one delivery by its uid, one school from its cases, or
         * every delivery newest first. */
        enum stmt which = uid != NULL   ? S_JSON_HISTORY_UID
                          : urn != NULL ? S_JSON_HISTORY_SCHOOL
                                        : S_JSON_HISTORY;
        sqlite3_stmt *s = st->stmts[which];
        /* A negative LIMIT is no limit in SQLite. The three number their
         * parameters alike; one left unbound is NULL. */
        int bind_rc = sqlite3_bind_int(s, 2, limit < 0 ? -1 : limit);

        if (bind_rc == SQLITE_OK && urn != NULL)
                bind_rc = bind_text(s, 1, urn);
        if (bind_rc == SQLITE_OK && uid != NULL)
                bind_rc = bind_text(s, 3, uid);
        return rows(st, which, bind_rc, history_row, tz, "list deliveries",
                    cause);
}

/* Sets a (name, count) row in the object `arg`. */
static int
count_row(sqlite3_stmt *s, void *arg, const char *what, char **cause)
{
        const char *name = col_text(s, 0);

        (void)what;
        (void)cause;
        if (name != NULL)
                json_object_set_new(arg, name,
                                    json_integer(sqlite3_column_int64(s, 1)));
        return 0;
}

/* {"<state>": n, ...} with every name present, 0 when it has no rows. */
static json_t *
count_by(struct store *st, enum stmt which, const char *const *names,
         size_t nnames, const char *what, char **cause)
{
        json_t *counts = json_object();

        for (size_t i = 0; i < nnames; i++)
                json_object_set_new(counts, names[i], json_integer(0));
        if (each_row(st, which, SQLITE_OK, count_row, counts, what, cause) <
            0) {
                json_decref(counts);
                return NULL;
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
        json_t *status = json_object();

        if (set_part(status, "cases",
                     count_by(st, S_COUNT_CASES, store_case_states,
                              NELEM(store_case_states), "count cases", cause)) <
                0 ||
            set_part(status, "alerts",
                     count_by(st, S_COUNT_ALERTS, store_alert_states,
                              NELEM(store_alert_states), "count alerts",
                              cause)) < 0 ||
            set_part(status, "deliveries",
                     count_by(st, S_COUNT_DELIVERIES, names_delivery_status,
                              DELIVERY_NSTATUS, "count deliveries", cause)) <
                0 ||
            /* The most recently missed alerts, newest first. */
            set_part(status, "missed",
                     rows(st, S_MISSED,
                          sqlite3_bind_int(st->stmts[S_MISSED], 1, MISSED_MAX),
                          missed_row, tz, "list missed alerts", cause)) < 0 ||
            set_part(status, "held",
                     rows(st, S_JSON_HELD, SQLITE_OK, held_row, tz,
                          "list held deliveries", cause)) < 0)
                goto fail;
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
        json_t *m = json_object();
        int rc;

        if (set_part(m, "alerts",
                     rows(st, S_METRIC_ALERTS, SQLITE_OK, pair_row, NULL,
                          "count alerts by rule", cause)) < 0 ||
            set_part(m, "deliveries",
                     rows(st, S_METRIC_DELIVERIES, SQLITE_OK, pair_row, NULL,
                          "count deliveries by type", cause)) < 0)
                goto fail;
        rc = store_step(st, s, "last delivery", cause);
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

/* --- Running it for years (store_ops.c writes what these read) ------------ */

static json_t *
audit_row(sqlite3_stmt *s, const struct tz *tz)
{
        char at[TIMEFMT_LEN];
        json_int_t case_id = sqlite3_column_int64(s, 6);

        return json_pack("{s:I, s:s?, s:s, s:s, s:s, s:s?, s:o, s:s?}", "id",
                         (json_int_t)sqlite3_column_int64(s, 0), "at",
                         col_time(tz, s, 1, at, sizeof(at)), "actor",
                         col_text(s, 2), "source", col_text(s, 3), "action",
                         col_text(s, 4), "school", col_text(s, 5), "case",
                         case_id > 0 ? json_integer(case_id) : json_null(),
                         "detail", col_text(s, 7));
}

json_t *
store_json_audit(struct store *st, const struct tz *tz, int64_t since,
                 const char *urn, int64_t case_id, int limit, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_AUDIT_LIST];
        int rc = sqlite3_bind_int64(s, 1, since);

        if (rc == SQLITE_OK)
                rc = bind_text(s, 2, urn);
        if (rc == SQLITE_OK)
                rc = bind_time(s, 3, case_id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 4, limit);
        return rows(st, S_AUDIT_LIST, rc, audit_row, tz, "audit trail", cause);
}

struct ids {
        int64_t *v;
        size_t n, cap;
};

/* Adds the id in the first column to the ids `arg`. */
static int
id_row(sqlite3_stmt *s, void *arg, const char *what, char **cause)
{
        struct ids *ids = arg;

        (void)what;
        (void)cause;
        if (ids->n == ids->cap) {
                ids->cap = ids->cap ? ids->cap * 2 : 16;
                ids->v = xreallocarray(ids->v, ids->cap, sizeof(*ids->v));
        }
        ids->v[ids->n++] = sqlite3_column_int64(s, 0);
        return 0;
}

json_t *
store_json_export(struct store *st, const struct tz *tz, const char *urn,
                  char **cause)
{
        json_t *cases = json_array(), *c;
        struct ids ids = { NULL, 0, 0 };
        int rc;

        /* The ids first: store_json_case() steps statements of its own. */
        rc = each_row(st, S_SCHOOL_CASES,
                      bind_text(st->stmts[S_SCHOOL_CASES], 1, urn), id_row,
                      &ids, "export", cause);
        for (size_t i = 0; rc == 0 && i < ids.n; i++) {
                c = store_json_case(st, tz, ids.v[i], cause);
                if (c == NULL || json_array_append_new(cases, c) < 0)
                        rc = -1;
        }
        free(ids.v);
        if (rc < 0) {
                json_decref(cases);
                return NULL;
        }
        return cases;
}
