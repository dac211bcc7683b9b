/* store_tokens: the API tokens of ofsted-notify-web; hashes only. */
#include "store_int.h"

#include "timefmt.h"
#include "token.h"
#include "xalloc.h"

int64_t
store_token_add(struct store *st, const struct store_token *t, int64_t now,
                char **cause)
{
        sqlite3_stmt *live = st->stmts[S_TOKEN_LIVE];
        sqlite3_stmt *s = st->stmts[S_TOKEN_ADD];
        int rc;

        rc = store_step_text(st, live, t->name, "token add", cause);
        done(live);
        if (rc != 0)
                return rc < 0 ? -1 : 0;
        if (store_write(st, s,
                        bind_text(s, 1, t->name) != SQLITE_OK ||
                            sqlite3_bind_blob(s, 2, t->hash, TOKEN_HASH_LEN,
                                              SQLITE_STATIC) != SQLITE_OK ||
                            sqlite3_bind_blob(s, 3, t->feed_hash,
                                              TOKEN_HASH_LEN,
                                              SQLITE_STATIC) != SQLITE_OK ||
                            bind_text(s, 4, t->role) != SQLITE_OK ||
                            bind_text(s, 5, t->schools) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 6, now) != SQLITE_OK ||
                            bind_text(s, 7, t->actor) != SQLITE_OK,
                        "token add", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

int
store_token_revoke(struct store *st, const char *name, int64_t now,
                   char **cause)
{
        sqlite3_stmt *s = st->stmts[S_TOKEN_REVOKE];

        if (store_write(st, s,
                        bind_text(s, 1, name) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 2, now) != SQLITE_OK,
                        "token revoke", cause) < 0)
                return -1;
        return sqlite3_changes(st->db) > 0;
}

/* The schools column as JSON: an array of URNs ([] if unreadable). */
static json_t *
schools_col(sqlite3_stmt *s, int col)
{
        const char *text = col_text(s, col);
        json_t *v = text != NULL ? json_loads(text, 0, NULL) : NULL;

        if (!json_is_array(v)) {
                json_decref(v);
                v = json_array();
        }
        return v;
}

json_t *
store_json_tokens(struct store *st, const struct tz *tz, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_TOKEN_LIST];
        json_t *arr = json_array();
        char created[TIMEFMT_LEN];
        int rc;

        while ((rc = store_step(st, s, "token list", cause)) == 1) {
                timefmt_rfc3339(tz, sqlite3_column_int64(s, 3), created,
                                sizeof(created));
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:o, s:s, s:s?}", "name",
                                   col_text(s, 0), "role", col_text(s, 1),
                                   "schools", schools_col(s, 2), "created",
                                   created, "created_by", col_text(s, 4)));
        }
        done(s);
        if (rc < 0) {
                json_decref(arr);
                return NULL;
        }
        return arr;
}

json_t *
store_json_token_auth(struct store *st, const unsigned char *hash, bool feed,
                      char **cause)
{
        sqlite3_stmt *s = st->stmts[feed ? S_TOKEN_FEED : S_TOKEN_AUTH];
        json_t *v = NULL;
        int rc;

        *cause = NULL;
        if (sqlite3_bind_blob(s, 1, hash, TOKEN_HASH_LEN, SQLITE_STATIC) !=
            SQLITE_OK) {
                done(s);
                store_fail(st, "token auth", cause);
                return NULL;
        }
        rc = store_step(st, s, "token auth", cause);
        if (rc == 1)
                v = json_pack("{s:s, s:s, s:o}", "name", col_text(s, 0), "role",
                              col_text(s, 1), "schools", schools_col(s, 2));
        done(s);
        return v;
}
