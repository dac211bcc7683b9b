/* store_acks: acknowledgements of a case's rule, and the one-click links
 * that make them (store.h); a link's token is kept as its hash only. */
#include "store_int.h"

#include "token.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static char *
dup_col(sqlite3_stmt *s, int col)
{
        const char *v = col_text(s, col);

        return v != NULL ? xstrdup(v) : NULL;
}

void
store_ack_clear(struct store_ack *a)
{
        free(a->actor);
        free(a->note);
        a->actor = a->note = NULL;
}

/* The event and deadline the rule's newest alerts on the case are of:
 * 0, 1 when the case has none of that rule, -1. */
static int
ack_event(struct store *st, int64_t case_id, const char *rule,
          struct store_ack *out, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_ACK_EVENT];
        int rc;

        if (sqlite3_bind_int64(s, 1, case_id) != SQLITE_OK ||
            bind_text(s, 2, rule) != SQLITE_OK) {
                done(s);
                return store_fail(st, "find the rule's deadline", cause);
        }
        rc = store_step(st, s, "find the rule's deadline", cause);
        if (rc == 1) {
                out->event_id = sqlite3_column_int64(s, 0);
                out->due = sqlite3_column_int64(s, 1);
        }
        done(s);
        return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

/* The acknowledgement of (case, rule, event) into *out: 1, 0 none, -1. */
static int
ack_get(struct store *st, int64_t case_id, int64_t event_id, const char *rule,
        struct store_ack *out, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_ACK_GET];
        int rc;

        if (sqlite3_bind_int64(s, 1, case_id) != SQLITE_OK ||
            bind_text(s, 2, rule) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, event_id) != SQLITE_OK) {
                done(s);
                return store_fail(st, "read acknowledgement", cause);
        }
        rc = store_step(st, s, "read acknowledgement", cause);
        if (rc == 1 && out != NULL) {
                out->actor = dup_col(s, 0);
                out->note = dup_col(s, 1);
                out->at = sqlite3_column_int64(s, 2);
        }
        done(s);
        return rc;
}

int
store_ack_read(struct store *st, int64_t case_id, const char *rule,
               struct store_ack *out, char **cause)
{
        int rc;

        *out = (struct store_ack){ 0 };
        rc = ack_event(st, case_id, rule, out, cause);
        if (rc != 0)
                return rc < 0 ? -1 : 2;
        rc = ack_get(st, case_id, out->event_id, rule, out, cause);
        return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

int
store_acked(struct store *st, int64_t case_id, int64_t event_id,
            const char *rule, char **cause)
{
        return ack_get(st, case_id, event_id, rule, NULL, cause);
}

int
store_ack(struct store *st, int64_t case_id, const char *rule,
          const char *keeps, const char *actor, const char *note, int64_t now,
          struct store_ack *out, char **cause)
{
        sqlite3_stmt *add = st->stmts[S_ACK_ADD];
        sqlite3_stmt *cancel = st->stmts[S_ALERTS_ACK];
        int rc;

        *out = (struct store_ack){ 0 };
        rc = ack_event(st, case_id, rule, out, cause);
        if (rc != 0)
                return rc;
        rc = ack_get(st, case_id, out->event_id, rule, out, cause);
        if (rc != 0)
                return rc < 0 ? -1 : 0;
        if (store_write(st, add,
                        sqlite3_bind_int64(add, 1, case_id) != SQLITE_OK ||
                            sqlite3_bind_int64(add, 2, out->event_id) !=
                                SQLITE_OK ||
                            bind_text(add, 3, rule) != SQLITE_OK ||
                            bind_text(add, 4, actor) != SQLITE_OK ||
                            bind_text(add, 5, note) != SQLITE_OK ||
                            sqlite3_bind_int64(add, 6, now) != SQLITE_OK,
                        "add acknowledgement", cause) < 0)
                return -1;
        if (store_write(
                st, cancel,
                sqlite3_bind_int64(cancel, 1, case_id) != SQLITE_OK ||
                    bind_text(cancel, 2, rule) != SQLITE_OK ||
                    sqlite3_bind_int64(cancel, 3, out->event_id) != SQLITE_OK ||
                    sqlite3_bind_int64(cancel, 4, now) != SQLITE_OK ||
                    bind_text(cancel, 5, keeps != NULL ? keeps : "[]") !=
                        SQLITE_OK,
                "cancel acknowledged alerts", cause) < 0)
                return -1;
        out->cancelled = sqlite3_changes(st->db);
        out->fresh = true;
        out->actor = actor != NULL ? xstrdup(actor) : NULL;
        out->note = note != NULL ? xstrdup(note) : NULL;
        out->at = now;
        return 0;
}

int
store_link_add(struct store *st, const unsigned char *hash,
               const struct store_link *l, int64_t now, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_LINK_ADD];

        if (sqlite3_bind_blob(s, 1, hash, TOKEN_HASH_LEN, SQLITE_STATIC) !=
                SQLITE_OK ||
            sqlite3_bind_int64(s, 2, l->case_id) != SQLITE_OK ||
            bind_field(s, 3, l->rule, sizeof(l->rule)) != SQLITE_OK ||
            bind_field(s, 4, l->channel, sizeof(l->channel)) != SQLITE_OK ||
            sqlite3_bind_int64(s, 5, l->expires) != SQLITE_OK ||
            sqlite3_bind_int64(s, 6, now) != SQLITE_OK) {
                done(s);
                return store_fail(st, "add link", cause);
        }
        return store_run(st, s, "add link", cause);
}

int
store_link_find(struct store *st, const unsigned char *hash,
                struct store_link *out, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_LINK_FIND];
        int rc;

        if (sqlite3_bind_blob(s, 1, hash, TOKEN_HASH_LEN, SQLITE_STATIC) !=
            SQLITE_OK) {
                done(s);
                return store_fail(st, "find link", cause);
        }
        rc = store_step(st, s, "find link", cause);
        if (rc == 1) {
                out->case_id = sqlite3_column_int64(s, 0);
                copy_col(out->urn, sizeof(out->urn), s, 1);
                copy_col(out->rule, sizeof(out->rule), s, 2);
                copy_col(out->channel, sizeof(out->channel), s, 3);
                out->expires = sqlite3_column_int64(s, 4);
        }
        done(s);
        return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

int
store_delivery_case(struct store *st, const char *uid,
                    struct store_delivery_case *out, char **cause)
{
        static const char what[] = "find a delivery's case";
        sqlite3_stmt *s = st->stmts[S_DELIVERY_CASE];
        int rc;

        rc = store_step_text(st, s, uid, what, cause);
        if (rc == 1) {
                memset(out, 0, sizeof(*out));
                out->case_id = sqlite3_column_int64(s, 0);
                copy_col(out->urn, sizeof(out->urn), s, 1);
                copy_col(out->rule, sizeof(out->rule), s, 2);
                copy_col(out->channel, sizeof(out->channel), s, 3);
                copy_col(out->type, sizeof(out->type), s, 4);
        }
        done(s);
        return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

int
store_links_prune(struct store *st, int64_t before, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_LINKS_PRUNE];

        if (store_write(st, s, sqlite3_bind_int64(s, 1, before) != SQLITE_OK,
                        "prune links", cause) < 0)
                return -1;
        return sqlite3_changes(st->db);
}
