/*
 * store_fixture: what the store's unit tests share. A scratch directory
 * with a store in it, a second connection for what the API does not read
 * back, building blocks that fail the test on any error, JSON checks, and
 * the query plan of a statement of the store's own connection.
 */
#include "store_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct store *
open_store(const char *path)
{
        char *cause = NULL;
        struct store *st = store_open(path, &cause);

        if (st == NULL)
                fail_msg("store_open: %s", cause);
        assert_null(cause);
        return st;
}

void
reopen(struct fixture *f)
{
        store_close(&f->st);
        assert_null(f->st);
        f->st = open_store(f->path);
}

int
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

int
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

sqlite3 *
raw_open(const char *path)
{
        sqlite3 *db = NULL;

        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
            SQLITE_OK)
                fail_msg("sqlite3_open_v2('%s'): %s", path, sqlite3_errmsg(db));
        sqlite3_busy_timeout(db, 5000);
        return db;
}

void
raw_exec(sqlite3 *db, const char *sql)
{
        char *err = NULL;

        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
}

/* The first column of the one row `sql` returns, as text into buf. */
const char *
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

int64_t
raw_int(sqlite3 *db, const char *sql)
{
        char buf[32];

        return strtoll(raw_text(db, sql, buf, sizeof(buf)), NULL, 10);
}

const char *
raw_delivery_uid(sqlite3 *db, int64_t id, char *buf, size_t len)
{
        char sql[96];

        snprintf(sql, sizeof(sql), "SELECT uid FROM deliveries WHERE id = %lld",
                 (long long)id);
        return raw_text(db, sql, buf, len);
}

/* --- Building blocks ------------------------------------------------------ */

int64_t
T(const char *s)
{
        return support_utc(s);
}

int64_t
new_case(struct fixture *f, const char *urn, int64_t at)
{
        char *cause = NULL;
        int64_t id = store_case_open(f->st, urn, NULL, NULL, at, &cause);

        if (id <= 0)
                fail_msg("store_case_open: %s", cause);
        return id;
}

int64_t
new_event(struct fixture *f, int64_t case_id, const char *kind, int64_t at)
{
        char *cause = NULL;
        int64_t id = store_event_add(f->st, case_id, kind, at, at + 60, NULL,
                                     NULL, NULL, &cause);

        if (id <= 0)
                fail_msg("store_event_add: %s", cause);
        return id;
}

int64_t
new_alert_full(struct fixture *f, int64_t case_id, int64_t event_id,
               const char *rule, const char *offset, int64_t at, int64_t opens,
               const char *sig)
{
        return new_alert_warned(f, case_id, event_id, rule, offset, at, opens,
                                sig, NULL);
}

int64_t
new_alert_warned(struct fixture *f, int64_t case_id, int64_t event_id,
                 const char *rule, const char *offset, int64_t at,
                 int64_t opens, const char *sig, const char *warning)
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
        id = store_alert_add(f->st, &a, sig, warning, &cause);
        if (id <= 0)
                fail_msg("store_alert_add: %s", cause);
        return id;
}

int64_t
new_alert(struct fixture *f, int64_t case_id, int64_t event_id,
          const char *rule, int64_t at)
{
        return new_alert_full(f, case_id, event_id, rule, "-60m", at, 0, "sig");
}

void
fire(struct fixture *f, int64_t id, int64_t at, bool late)
{
        char *cause = NULL;

        if (store_alert_fire(f->st, id, at, late, &cause) < 0)
                fail_msg("store_alert_fire: %s", cause);
}

void
miss(struct fixture *f, int64_t id, int64_t at)
{
        char *cause = NULL;

        if (store_alert_miss(f->st, id, at, &cause) < 0)
                fail_msg("store_alert_miss: %s", cause);
}

int64_t
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

void
set_state(struct fixture *f, int64_t id, enum case_state state, int64_t at)
{
        char *cause = NULL;

        if (store_case_set_state(f->st, id, state, at, &cause) < 0)
                fail_msg("store_case_set_state: %s", cause);
}

/* --- JSON checks ---------------------------------------------------------- */

const char *
jstr(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);

        if (!json_is_string(v))
                fail_msg("'%s' is not a string", key);
        return json_string_value(v);
}

json_int_t
jint(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                fail_msg("'%s' is not an integer", key);
        return json_integer_value(v);
}

void
jnull(const json_t *o, const char *key)
{
        if (!json_is_null(json_object_get(o, key)))
                fail_msg("'%s' is not null", key);
}

/* The object has exactly these keys (NULL-terminated list). */
void
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

const json_t *
jrow(const json_t *a, size_t i, const char *const *keys)
{
        const json_t *row = json_array_get(a, i);

        if (row == NULL)
                fail_msg("no row %zu", i);
        if (keys != NULL)
                jkeys(row, keys);
        return row;
}

void
jfields(const json_t *o, const struct jfield *want)
{
        for (; want->key != NULL; want++) {
                if (want->str == NULL) {
                        jnull(o, want->key);
                } else if (strcmp(jstr(o, want->key), want->str) != 0) {
                        fail_msg("'%s' is '%s', not '%s'", want->key,
                                 jstr(o, want->key), want->str);
                }
        }
}

void
jcolumn(const json_t *a, const char *key, const char *const *want)
{
        size_t n = 0;

        assert_true(json_is_array(a));
        for (; want[n] != NULL; n++) {
                const json_t *row = jrow(a, n, NULL);

                if (strcmp(jstr(row, key), want[n]) != 0)
                        fail_msg("row %zu: '%s' is '%s', not '%s'", n, key,
                                 jstr(row, key), want[n]);
        }
        assert_int_equal(json_array_size(a), n);
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
void
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

bool
uses_pending_index(const char *plan)
{
        return strstr(plan, "USING INDEX alerts_pending") != NULL ||
               strstr(plan, "USING COVERING INDEX alerts_pending") != NULL;
}

/* Opens the store again and returns its connection (owned by the store). */
sqlite3 *
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
