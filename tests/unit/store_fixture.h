/*
 * store_fixture: what the store's unit tests share. Each test runs on a
 * new store in a scratch directory (setup/teardown); the helpers below
 * fail the test on any error, so a test reads as what it checks.
 */
#ifndef ONOTIFY_STORE_FIXTURE_H
#define ONOTIFY_STORE_FIXTURE_H

#include "store.h"
#include "tz.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fixture {
        char dir[64];
        char path[96];
        struct store *st;
        struct tz *tz; /* Europe/London */
};

/* cmocka setup and teardown: a fixture in *state, its files removed. */
int setup(void **state);
int teardown(void **state);

/* store_open(path), failing the test when it fails. */
struct store *open_store(const char *path);
/* Closes the fixture's store and opens it again. */
void reopen(struct fixture *f);

/* A second connection, for what the API does not read back. */
sqlite3 *raw_open(const char *path);
void raw_exec(sqlite3 *db, const char *sql);
/* The first column of the one row `sql` returns, as text into buf. */
const char *raw_text(sqlite3 *db, const char *sql, char *buf, size_t len);
int64_t raw_int(sqlite3 *db, const char *sql);
/* The public uid of delivery row `id`, as text into buf. */
const char *raw_delivery_uid(sqlite3 *db, int64_t id, char *buf, size_t len);

/* Building blocks: each returns the new row's id. */
int64_t T(const char *s); /* support_utc() */
int64_t new_case(struct fixture *f, const char *urn, int64_t at);
int64_t new_event(struct fixture *f, int64_t case_id, const char *kind,
                  int64_t at);
int64_t new_alert_full(struct fixture *f, int64_t case_id, int64_t event_id,
                       const char *rule, const char *offset, int64_t at,
                       int64_t opens, const char *sig);
/* The same with the rule's warning (NULL: none). */
int64_t new_alert_warned(struct fixture *f, int64_t case_id, int64_t event_id,
                         const char *rule, const char *offset, int64_t at,
                         int64_t opens, const char *sig, const char *warning);
/* Offset "-60m", no window, sig "sig"; due an hour after `at`. */
int64_t new_alert(struct fixture *f, int64_t case_id, int64_t event_id,
                  const char *rule, int64_t at);
void fire(struct fixture *f, int64_t id, int64_t at, bool late);
void miss(struct fixture *f, int64_t id, int64_t at);
/* An email delivery on `channel`. */
int64_t new_delivery(struct fixture *f, int64_t alert_id, const char *channel,
                     int64_t at);
void set_state(struct fixture *f, int64_t id, enum case_state state,
               int64_t at);

/* JSON checks: the member of that type, failing the test otherwise. */
const char *jstr(const json_t *o, const char *key);
json_int_t jint(const json_t *o, const char *key);
void jnull(const json_t *o, const char *key);
/* The object has exactly these keys (NULL-terminated list). */
void jkeys(const json_t *o, const char *const *keys);
/* Row i of the array, with exactly these keys (none checked: NULL). */
const json_t *jrow(const json_t *a, size_t i, const char *const *keys);
/* One member of a JSON object as a test wants it: the string `str`, or
 * null where `str` is NULL. */
struct jfield {
        const char *key, *str;
};
/* The object's members as `want` says, up to the row with a NULL key; a
 * failure names the member. */
void jfields(const json_t *o, const struct jfield *want);
/* The array holds as many objects as `want` has strings (NULL-terminated)
 * and the string member `key` of each is that string, in order. */
void jcolumn(const json_t *a, const char *key, const char *const *want);

/* The query plan of the store's statement tagged `tag`, one line a step. */
void plan_of(sqlite3 *db, const char *tag, char *plan, size_t len);
bool uses_pending_index(const char *plan);
/* Opens the store again and returns its connection (owned by the store). */
sqlite3 *reopen_caught(struct fixture *f);

#endif
