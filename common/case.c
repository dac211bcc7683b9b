#include "case.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A set of states: bit s + 1 for state s, so that CASE_NONE is bit 0. */
#define BIT(s)   (1u << ((int)(s) + 1))
#define ANY_CASE (BIT(CASE_OPEN) | BIT(CASE_PAUSED) | BIT(CASE_CONCLUDED))
#define SAME     CASE_NONE /* as `next`: the state does not change */

/*
 * One row per kind the product knows; the last row (kind NULL) is every
 * other kind, those that only start and end rules. A kind applies to the
 * current case when its state is in `from`, and is refused otherwise:
 * "case N is STATE" + `refuse`, or, with no case, "no open case". A row
 * that `opens` records the event on a new case; `supersede` are the states
 * of a current case that such a row must close first, and only with
 * new_case. A row that `closes` ends every rule of the case it closes.
 * Every other row ends the rules whose cancel_on names the kind.
 */
static const struct case_row {
        const char *kind;
        unsigned from;
        enum case_state next;
        bool opens;
        bool closes;
        unsigned supersede;
        const char *refuse;
} case_table[] = {
        { "notification", BIT(CASE_NONE) | ANY_CASE, CASE_OPEN, true, false,
          BIT(CASE_OPEN) | BIT(CASE_PAUSED), NULL },
        { "pause", BIT(CASE_OPEN), CASE_PAUSED, false, false, 0,
          ", not open: it cannot be paused" },
        { "resume", BIT(CASE_PAUSED), CASE_OPEN, false, false, 0,
          ", not paused: there is nothing to resume" },
        { "conclusion", BIT(CASE_OPEN) | BIT(CASE_PAUSED), CASE_CONCLUDED,
          false, false, 0, ": it cannot conclude" },
        { "deferred", ANY_CASE, CASE_CLOSED, false, true, 0, NULL },
        { "cancelled", ANY_CASE, CASE_CLOSED, false, true, 0, NULL },
        { NULL, ANY_CASE, SAME, false, false, 0, NULL },
};

static const char *const state_names[] = {
        [CASE_OPEN] = "open",
        [CASE_PAUSED] = "paused",
        [CASE_CONCLUDED] = "concluded",
        [CASE_CLOSED] = "closed",
};

static const struct case_row *
row_of(const char *kind)
{
        const struct case_row *r = case_table;

        while (r->kind != NULL && strcmp(r->kind, kind) != 0)
                r++;
        return r;
}

static bool
names(const struct rule *rule, const char *kind)
{
        for (size_t k = 0; k < rule->ncancel_on; k++) {
                if (strcmp(rule->cancel_on[k], kind) == 0)
                        return true;
        }
        return false;
}

int
case_decide(const char *kind, enum case_state state, bool new_case,
            enum remit remit, const struct rule *rules, size_t nrules,
            struct case_decision *d)
{
        const struct case_row *row = row_of(kind);

        memset(d, 0, sizeof(*d));
        d->kind = kind;
        /* A closed case is never current: the school has none. */
        d->from = state == CASE_CLOSED ? CASE_NONE : state;
        d->next = d->from;
        if (new_case && !row->opens)
                d->refusal = CASE_REFUSE_NEW_CASE;
        else if (!(row->from & BIT(d->from)))
                d->refusal = d->from == CASE_NONE ? CASE_REFUSE_NO_CASE
                                                  : CASE_REFUSE_STATE;
        else if ((row->supersede & BIT(d->from)) && !new_case)
                d->refusal = CASE_REFUSE_BUSY;
        if (d->refusal != CASE_OK)
                return -1;

        d->next = row->next == SAME ? d->from : row->next;
        d->opens = row->opens;
        d->closes = row->closes || (row->supersede & BIT(d->from));
        d->ends = xreallocarray(NULL, nrules + 1, sizeof(*d->ends));
        d->starts = xreallocarray(NULL, nrules + 1, sizeof(*d->starts));
        for (size_t i = 0; i < nrules; i++) {
                /* A case just opened has no alerts for cancel_on to end. */
                if (d->closes || (!row->opens && names(&rules[i], kind)))
                        d->ends[d->nends++] = i;
                if (rules_applies(&rules[i], remit) &&
                    strcmp(rules[i].event, kind) == 0)
                        d->starts[d->nstarts++] = i;
        }
        return 0;
}

void
case_decision_free(struct case_decision *d)
{
        free(d->ends);
        free(d->starts);
        d->ends = d->starts = NULL;
        d->nends = d->nstarts = 0;
}

void
case_plan(const struct case_decision *d, const struct rule *rules,
          const struct rules_env *env, int64_t at, struct plan *plan)
{
        plan->at = at;
        for (size_t i = 0; d->refusal == CASE_OK && i < d->nstarts; i++)
                rules_eval(&rules[d->starts[i]], env, at, plan);
        plan_sort(plan);
}

char *
case_refusal_text(const struct case_decision *d, const char *urn,
                  int64_t case_id)
{
        const char *state = case_state_name(d->from);
        char school[32], cas[32];
        char *out = NULL;

        if (urn != NULL)
                snprintf(school, sizeof(school), "school %s", urn);
        else
                snprintf(school, sizeof(school), "the school");
        if (case_id > 0)
                snprintf(cas, sizeof(cas), "case %lld", (long long)case_id);
        else
                snprintf(cas, sizeof(cas), "the case");
        switch (d->refusal) {
        case CASE_OK:
                out = xstrdup("");
                break;
        case CASE_REFUSE_NO_CASE:
                xasprintf(&out,
                          "%s has no open case: record the notification first",
                          school);
                break;
        case CASE_REFUSE_BUSY:
                if (case_id > 0)
                        xasprintf(&out,
                                  "%s already has %s %s case (%lld); use "
                                  "--new-case to start another",
                                  school, d->from == CASE_OPEN ? "an" : "a",
                                  state, (long long)case_id);
                else
                        xasprintf(&out,
                                  "%s already has %s %s case; use --new-case "
                                  "to start another",
                                  school, d->from == CASE_OPEN ? "an" : "a",
                                  state);
                break;
        case CASE_REFUSE_STATE:
                xasprintf(&out, "%s is %s%s", cas, state,
                          row_of(d->kind)->refuse ? row_of(d->kind)->refuse
                                                  : "");
                break;
        case CASE_REFUSE_NEW_CASE:
                out = xstrdup("'new_case' is only for a notification");
                break;
        }
        return out;
}

enum case_state
case_default_state(const char *kind)
{
        const struct case_row *row = row_of(kind);

        for (int s = CASE_NONE; s < CASE_CLOSED; s++) {
                if (row->from & BIT(s))
                        return (enum case_state)s;
        }
        return CASE_OPEN;
}

const char *
case_state_name(enum case_state state)
{
        if (state == CASE_NONE)
                return "none";
        if ((int)state < 0 ||
            (size_t)state >= sizeof(state_names) / sizeof(state_names[0]))
                return "?";
        return state_names[state];
}

int
case_state_parse(const char *name, enum case_state *out)
{
        for (int s = CASE_NONE; s <= CASE_CLOSED; s++) {
                if (strcmp(name, case_state_name((enum case_state)s)) == 0) {
                        *out = (enum case_state)s;
                        return 0;
                }
        }
        return -1;
}

enum case_fate
case_alert_fate(int64_t at, int64_t due, int64_t now, int late_after, bool skip)
{
        if (now - at <= late_after)
                return CASE_FIRE;
        if (skip || now >= due)
                return CASE_MISS;
        return CASE_FIRE_LATE;
}
