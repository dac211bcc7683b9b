/*
 * case: the case state machine, one table for the daemon and the planner.
 *
 * A case is one inspection of one school. What an event does to it is
 * decided here, from the state of the school's current case, the event's
 * kind, whether a new case was asked for and the configured rules: whether
 * the event is refused and why, the state afterwards, whether a case opens
 * or closes, which rules end (their pending alerts are cancelled) and which
 * start. The scheduler (daemon/sched.c) applies the decision to the store;
 * `ofsted-notifyctl plan` prints it. Also here: what becomes of an alert
 * that comes due late, after downtime (the catch_up policy).
 *
 * Everything is pure: no I/O, no clock (times are passed in). The rules
 * are borrowed; a decision owns its index arrays (case_decision_free()).
 * docs/protocol.md ("event") describes the same table for people.
 */
#ifndef ONOTIFY_CASE_H
#define ONOTIFY_CASE_H

#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The stored states of a case, and CASE_NONE: the school has no current
 * case (none yet, or only closed ones). CASE_NONE is never stored. */
enum case_state {
        CASE_NONE = -1,
        CASE_OPEN,      /* notified, inspection under way */
        CASE_PAUSED,    /* paused */
        CASE_CONCLUDED, /* concluded; post-inspection rules may still run */
        CASE_CLOSED,    /* deferred, cancelled, or superseded */
};

enum case_refusal {
        CASE_OK,
        CASE_REFUSE_NO_CASE,  /* the kind needs a case; the school has none */
        CASE_REFUSE_BUSY,     /* a notification while a case is open or
                                 paused, without new_case */
        CASE_REFUSE_STATE,    /* the case's state does not take the kind */
        CASE_REFUSE_NEW_CASE, /* new_case with a kind other than a
                                 notification */
};

struct case_decision {
        enum case_refusal refusal;
        const char *kind;     /* borrowed from the caller */
        enum case_state from; /* the current case's state (CLOSED is NONE) */
        /* The rest is set only when refusal is CASE_OK. */
        enum case_state next; /* the state of the case the event is on */
        bool opens;   /* a new case opens; the event is recorded on it */
        bool closes;  /* the current case closes and every rule of it ends,
                         configured or not: all its pending alerts go */
        size_t *ends; /* indexes of the rules that end: with `closes` all
                         of them, else those whose cancel_on names kind */
        size_t nends;
        size_t *starts; /* indexes of the rules `kind` starts: enabled
                           and applying to the school's remit */
        size_t nstarts;
};

/*
 * Decides what recording an event of `kind` does to a school of `remit`
 * whose current case is in `state` (CASE_NONE: it has none), under
 * `rules`. Returns 0 when it may go ahead, -1 when refused (d->refusal
 * says why). Release *d with case_decision_free() either way.
 */
int case_decide(const char *kind, enum case_state state, bool new_case,
                enum remit remit, const struct rule *rules, size_t nrules,
                struct case_decision *d);
void case_decision_free(struct case_decision *d);

/*
 * Adds to a zeroed *plan the deadlines, alerts and warnings of the rules
 * `d` starts, for an event at `at` (nothing when it is refused).
 */
void case_plan(const struct case_decision *d, const struct rule *rules,
               const struct rules_env *env, int64_t at, struct plan *plan);

/*
 * The refusal of `d` in words, for the control reply and for plan. `urn`
 * and `case_id` name the school and its case; NULL and 0 when unknown (the
 * planner's): "the school", "the case". Caller frees.
 */
char *case_refusal_text(const struct case_decision *d, const char *urn,
                        int64_t case_id);

/* The state a kind is planned from when none is given: the first state
 * that takes it, in the order none, open, paused, concluded. */
enum case_state case_default_state(const char *kind);

/* "none", "open", "paused", "concluded", "closed"; "?" if out of range. */
const char *case_state_name(enum case_state state);
/* The state named `name`, or -1 when there is none by that name. */
int case_state_parse(const char *name, enum case_state *out);

/* What becomes of an alert that comes due. */
enum case_fate {
        CASE_FIRE,      /* sent, on time */
        CASE_FIRE_LATE, /* sent, marked late */
        CASE_MISS,      /* not sent: recorded as missed */
};

/*
 * The fate of an alert due at `at` for a deadline at `due`, handled at
 * `now`: late when more than `late_after` seconds behind; a late one is
 * missed when `skip` (the config's catch_up = "skip") or its deadline has
 * passed, else sent marked late.
 */
enum case_fate case_alert_fate(int64_t at, int64_t due, int64_t now,
                               int late_after, bool skip);

#endif
