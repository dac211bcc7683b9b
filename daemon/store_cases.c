/* store_cases: cases, events and alerts. */
#include "store_int.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>

const char *const store_case_states[] = {
        [CASE_OPEN] = "open",
        [CASE_PAUSED] = "paused",
        [CASE_CONCLUDED] = "concluded",
        [CASE_CLOSED] = "closed",
};

const char *const store_alert_states[] = {
        [ALERT_PENDING] = "pending",
        [ALERT_FIRED] = "fired",
        [ALERT_CANCELLED] = "cancelled",
        [ALERT_MISSED] = "missed",
};

/* A pending group copied out of its row, so fn may use the store. */
struct group_copy {
        struct store_group g;
        char *sig;
};

const char *
store_case_state_name(enum case_state state)
{
        if ((unsigned)state >= NELEM(store_case_states))
                return "unknown";
        return store_case_states[state];
}

const char *
store_alert_state_name(enum alert_state state)
{
        if ((unsigned)state >= NELEM(store_alert_states))
                return "unknown";
        return store_alert_states[state];
}

/* A row of (id, urn, state, opened_at) into *out. */
static int
read_case(sqlite3_stmt *s, struct store_case *out, const char *what,
          char **cause)
{
        const char *state = col_text(s, 2);
        size_t i;

        for (i = 0; i < NELEM(store_case_states); i++) {
                if (state != NULL && strcmp(state, store_case_states[i]) == 0)
                        break;
        }
        if (i == NELEM(store_case_states)) {
                if (cause != NULL)
                        xasprintf(cause, "%s: unknown case state '%s'", what,
                                  state == NULL ? "" : state);
                return -1;
        }
        memset(out, 0, sizeof(*out));
        out->id = sqlite3_column_int64(s, 0);
        copy_col(out->urn, sizeof(out->urn), s, 1);
        out->state = (enum case_state)i;
        out->opened_at = sqlite3_column_int64(s, 3);
        return 0;
}

/* --- Cases and events ----------------------------------------------------- */

int64_t
store_case_open(struct store *st, const char *urn, const char *contact,
                const char *note, int64_t at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_OPEN];

        /* It must fit struct store_case and struct store_alert later. */
        if (strlen(urn) >= sizeof(((struct store_case *)NULL)->urn)) {
                if (cause != NULL)
                        xasprintf(cause, "open case: URN '%s' is too long",
                                  urn);
                return -1;
        }
        if (store_write(st, s,
                        bind_text(s, 1, urn) != SQLITE_OK ||
                            bind_text(s, 2, contact) != SQLITE_OK ||
                            bind_text(s, 3, note) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 4, at) != SQLITE_OK,
                        "open case", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* Runs a query for one case row: 0 and *out, 1 when none, -1 on error. */
static int
find_case(struct store *st, sqlite3_stmt *s, struct store_case *out,
          const char *what, char **cause)
{
        int rc = store_step(st, s, what, cause);

        if (rc == 1)
                rc = read_case(s, out, what, cause) < 0 ? -1 : 0;
        else if (rc == 0)
                rc = 1;
        done(s);
        return rc;
}

int
store_case_current(struct store *st, const char *urn, struct store_case *out,
                   char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_CURRENT];

        if (bind_text(s, 1, urn) != SQLITE_OK) {
                done(s);
                return store_fail(st, "find current case", cause);
        }
        return find_case(st, s, out, "find current case", cause);
}

int
store_case_get(struct store *st, int64_t id, struct store_case *out,
               char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_GET];

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
                done(s);
                return store_fail(st, "get case", cause);
        }
        return find_case(st, s, out, "get case", cause);
}

/* After an UPDATE of one row by id: -1 with a cause when it matched none. */
static int
check_changed(struct store *st, int64_t id, const char *what, const char *none,
              char **cause)
{
        if (sqlite3_changes(st->db) > 0)
                return 0;
        if (cause != NULL)
                xasprintf(cause, "%s: %s %lld", what, none, (long long)id);
        return -1;
}

int
store_case_set_state(struct store *st, int64_t id, enum case_state state,
                     int64_t at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_SET_STATE];

        if ((unsigned)state >= NELEM(store_case_states)) {
                if (cause != NULL)
                        xasprintf(cause, "set case state: bad state %d",
                                  (int)state);
                return -1;
        }
        if (store_write(st, s,
                        sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
                            bind_text(s, 2, store_case_states[state]) !=
                                SQLITE_OK ||
                            sqlite3_bind_int64(s, 3, at) != SQLITE_OK,
                        "set case state", cause) < 0)
                return -1;
        return check_changed(st, id, "set case state", "no case", cause);
}

int
store_case_set_contact(struct store *st, int64_t id, const char *contact,
                       char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_SET_CONTACT];

        if (store_write(st, s,
                        sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
                            bind_text(s, 2, contact) != SQLITE_OK,
                        "set case contact", cause) < 0)
                return -1;
        return check_changed(st, id, "set case contact", "no case", cause);
}

int
store_case_contact(struct store *st, int64_t id, char **contact, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_CASE_CONTACT];
        const char *v;
        int rc = -1;

        *contact = NULL;
        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
                store_fail(st, "read case contact", cause);
                goto out;
        }
        rc = store_step(st, s, "read case contact", cause);
        if (rc == 0) {
                if (cause != NULL)
                        xasprintf(cause, "read case contact: no case %lld",
                                  (long long)id);
                rc = -1;
        }
        if (rc < 0)
                goto out;
        v = col_text(s, 0);
        *contact = xstrdup(v == NULL ? "" : v);
        rc = 0;
out:
        done(s);
        return rc;
}

int64_t
store_event_add(struct store *st, int64_t case_id, const char *kind, int64_t at,
                int64_t recorded_at, const char *contact, const char *note,
                const char *actor, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_EVENT_ADD];

        if (store_write(st, s,
                        sqlite3_bind_int64(s, 1, case_id) != SQLITE_OK ||
                            bind_text(s, 2, kind) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 3, at) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 4, recorded_at) !=
                                SQLITE_OK ||
                            bind_text(s, 5, contact) != SQLITE_OK ||
                            bind_text(s, 6, note) != SQLITE_OK ||
                            bind_text(s, 7, actor) != SQLITE_OK,
                        "insert event", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* --- Alerts --------------------------------------------------------------- */

int64_t
store_alert_add(struct store *st, const struct store_alert *a, const char *sig,
                const char *warning, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_ALERT_ADD];

        if (store_write(
                st, s,
                sqlite3_bind_int64(s, 1, a->case_id) != SQLITE_OK ||
                    sqlite3_bind_int64(s, 2, a->event_id) != SQLITE_OK ||
                    bind_field(s, 3, a->rule, sizeof(a->rule)) != SQLITE_OK ||
                    bind_field(s, 4, a->offset, sizeof(a->offset)) !=
                        SQLITE_OK ||
                    sqlite3_bind_int64(s, 5, a->at) != SQLITE_OK ||
                    sqlite3_bind_int64(s, 6, a->due) != SQLITE_OK ||
                    bind_time(s, 7, a->opens) != SQLITE_OK ||
                    bind_text(s, 8, sig) != SQLITE_OK ||
                    bind_text(s, 9, warning) != SQLITE_OK ||
                    sqlite3_bind_int(s, 10, a->escalation) != SQLITE_OK,
                "insert alert", cause) < 0)
                return -1;
        return sqlite3_last_insert_rowid(st->db);
}

/* Cancels the pending alerts of case_id, of `rule` unless NULL, of event
 * `event_id` unless 0 (then ?4 stays NULL). */
static int
cancel_alerts(struct store *st, int64_t case_id, int64_t event_id,
              const char *rule, int64_t at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_ALERTS_CANCEL];

        if (store_write(st, s,
                        sqlite3_bind_int64(s, 1, case_id) != SQLITE_OK ||
                            bind_text(s, 2, rule) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 3, at) != SQLITE_OK ||
                            (event_id != 0 &&
                             sqlite3_bind_int64(s, 4, event_id) != SQLITE_OK),
                        "cancel alerts", cause) < 0)
                return -1;
        return sqlite3_changes(st->db);
}

int
store_alerts_cancel(struct store *st, int64_t case_id, const char *rule,
                    int64_t at, char **cause)
{
        return cancel_alerts(st, case_id, 0, rule, at, cause);
}

int
store_alerts_cancel_event(struct store *st, int64_t case_id, int64_t event_id,
                          const char *rule, int64_t at, char **cause)
{
        return cancel_alerts(st, case_id, event_id, rule, at, cause);
}

int
store_next_alert(struct store *st, int64_t *at, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_NEXT_ALERT];
        int rc = store_step(st, s, "find next alert", cause);

        if (rc == 1) {
                *at = sqlite3_column_int64(s, 0);
                rc = 0;
        } else if (rc == 0) {
                rc = 1;
        }
        done(s);
        return rc;
}

int
store_due_alerts(struct store *st, int64_t now, struct store_alert *out,
                 int max, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_DUE_ALERTS];
        int n = 0;

        if (max <= 0)
                return 0;
        if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK ||
            sqlite3_bind_int(s, 2, max) != SQLITE_OK) {
                n = store_fail(st, "find due alerts", cause);
                goto out;
        }
        while (n < max) {
                struct store_alert *a = &out[n];
                int rc = store_step(st, s, "find due alerts", cause);

                if (rc < 0)
                        n = -1;
                if (rc != 1)
                        break;
                memset(a, 0, sizeof(*a));
                a->id = sqlite3_column_int64(s, 0);
                a->case_id = sqlite3_column_int64(s, 1);
                a->event_id = sqlite3_column_int64(s, 2);
                copy_col(a->urn, sizeof(a->urn), s, 3);
                copy_col(a->rule, sizeof(a->rule), s, 4);
                copy_col(a->offset, sizeof(a->offset), s, 5);
                a->at = sqlite3_column_int64(s, 6);
                a->escalation = sqlite3_column_int(s, 9);
                a->due = sqlite3_column_int64(s, 7);
                a->opens = sqlite3_column_int64(s, 8);
                n++;
        }
out:
        done(s);
        return n;
}

/* Moves one pending alert to its final state. */
static int
finish_alert(struct store *st, enum stmt which, int64_t id, int64_t at,
             bool late, const char *what, char **cause)
{
        sqlite3_stmt *s = st->stmts[which];

        if (store_write(st, s,
                        sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
                            sqlite3_bind_int64(s, 2, at) != SQLITE_OK ||
                            (which == S_ALERT_FIRE &&
                             sqlite3_bind_int(s, 3, late) != SQLITE_OK),
                        what, cause) < 0)
                return -1;
        return check_changed(st, id, what, "no pending alert", cause);
}

int
store_alert_fire(struct store *st, int64_t id, int64_t at, bool late,
                 char **cause)
{
        return finish_alert(st, S_ALERT_FIRE, id, at, late, "fire alert",
                            cause);
}

int
store_alert_miss(struct store *st, int64_t id, int64_t at, char **cause)
{
        return finish_alert(st, S_ALERT_MISS, id, at, false, "miss alert",
                            cause);
}

int
store_pending_groups(struct store *st,
                     int (*fn)(const struct store_group *, void *), void *arg,
                     char **cause)
{
        sqlite3_stmt *s = st->stmts[S_PENDING_GROUPS];
        struct group_copy *groups = NULL, *c;
        const char *sig;
        size_t n = 0;
        int rc;

        /*
         * Read every group before calling fn, which re-plans: it cancels
         * and adds alerts, so it must not run under an open cursor.
         */
        for (;;) {
                rc = store_step(st, s, "list pending groups", cause);
                if (rc != 1)
                        break;
                groups = xreallocarray(groups, n + 1, sizeof(*groups));
                c = &groups[n++];
                memset(c, 0, sizeof(*c));
                c->g.case_id = sqlite3_column_int64(s, 0);
                c->g.event_id = sqlite3_column_int64(s, 1);
                c->g.event_at = sqlite3_column_int64(s, 2);
                copy_col(c->g.urn, sizeof(c->g.urn), s, 3);
                copy_col(c->g.rule, sizeof(c->g.rule), s, 4);
                sig = col_text(s, 5);
                c->sig = xstrdup(sig == NULL ? "" : sig);
                c->g.sig = c->sig;
        }
        done(s);
        /* fn says why it stopped, through its own arg: *cause stays. */
        for (size_t i = 0; rc == 0 && i < n; i++) {
                if (fn(&groups[i].g, arg) < 0)
                        rc = -1;
        }
        for (size_t i = 0; i < n; i++)
                free(groups[i].sig);
        free(groups);
        return rc;
}
