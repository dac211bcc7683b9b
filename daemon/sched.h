/*
 * sched: what recorded events mean for the state, and alerts coming due.
 *
 * The scheduler applies decisions here, between the pure core and the store
 * (SQLite): what the case machine (common/case.h) decides an event does to
 * the case and which rules it starts and ends, what it decides becomes of
 * an alert that comes due (fired, fired late or missed), and re-planning
 * after the rules change. Every change is one transaction. The clock is
 * passed in; nothing here touches a socket.
 */
#ifndef ONOTIFY_SCHED_H
#define ONOTIFY_SCHED_H

#include "alert.h"
#include "conf.h"
#include "store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct sched_event {
        const char *kind;
        const char *urn;
        int64_t at;
        const char *contact; /* may be NULL */
        const char *note;    /* may be NULL */
        bool new_case;
        const char *actor; /* who records it: "unix:USER"...; may be NULL */
};

/*
 * Records `ev` (validated by the caller: known school and kind) at `now`.
 * Returns the reply for the control socket: {"ok": true, ...} as in
 * docs/protocol.md, or {"ok": false, "error"} when refused; nothing changes
 * then. A fault of the state database (see store_fault()) is a refusal that
 * names it, and is not logged here. Caller owns the reply.
 */
json_t *sched_record(struct store *st, const struct conf *conf,
                     const struct sched_event *ev, int64_t now);

/* An acknowledgement asked for: of `rule` on case `case_id`. */
struct sched_ack {
        int64_t case_id;
        const char *rule;
        const char *actor; /* "user:EMAIL", "link:CHANNEL"...; may be NULL */
        const char *note;  /* may be NULL */
};

/*
 * Acknowledges a case's rule at `now`, in one transaction: its pending
 * escalations and reminders are cancelled, but those its ack_keeps names;
 * the deadline stays. A second acknowledgement changes nothing and answers
 * with the first's who and when ("new": false). The reply is
 * {"ok": true, "ack": {...}} as in docs/protocol.md, or a refusal
 * ("reason": "not_found" when the case has no alert of that rule).
 */
json_t *sched_ack(struct store *st, const struct conf *conf,
                  const struct sched_ack *ack, int64_t now);
/*
 * The same inside the caller's transaction (the dispatch's batch): 0 with
 * *out (out->fresh false when it was there), 1 when the case has no alert
 * of that rule, -1 with *cause; logs nothing.
 */
int sched_ack_within(struct store *st, const struct conf *conf,
                     const struct sched_ack *ack, int64_t now,
                     struct store_ack *out, char **cause);
/*
 * An acknowledgement as the replies show it: {"case", "school": {"urn",
 * "name"}, "rule", "due", "due_human", "acked", and when acked "by", "at",
 * "note"}. Borrows nothing; the caller owns it.
 */
json_t *sched_ack_json(const struct conf *conf, int64_t case_id,
                       const char *urn, const char *rule,
                       const struct store_ack *a, bool acked);

/* Called for each alert that fires, after its transaction committed. */
typedef void (*sched_publish_fn)(void *arg, const char *topic, json_t *msg);

struct sched_counts {
        int fired;
        int late;
        int missed;
};

/*
 * Fires every pending alert whose time has come: creates its deliveries
 * (the school's channels, then the rule's extra ones) and publishes it, or,
 * when it is more than conf's daemon.late_after late, applies conf's catch_up
 * policy: "late" fires it marked late while its deadline is ahead, else it
 * is missed; "skip" records it missed. Adds to *counts. Returns -1 on a
 * store error (logged, unless it is a fault of the state database), else
 * 0; what could not be fired stays pending. At most `batches` transactions
 * (0: until nothing is due) of up to `size` alerts each (0, or more than
 * SCHED_FIRE_BATCH: SCHED_FIRE_BATCH), so that a loop may hand the first
 * deliveries of a burst to its workers while the rest wait.
 */
#define SCHED_FIRE_BATCH 512

int sched_fire_due(struct store *st, const struct conf *conf, int64_t now,
                   sched_publish_fn publish, void *arg,
                   struct sched_counts *counts, int batches, int size);

/*
 * Alert `row` as it is told (alert_encode()), with what `conf` knows: the
 * trust, the school's name, the rule's action. A test alert (rule
 * STORE_TEST_RULE) says so in place of the school, action and contact.
 * The strings are borrowed from row and conf. The JOB, the feed and the
 * `test` reply all take their alert from here.
 */
void sched_alert(const struct conf *conf, const struct store_alert_row *row,
                 struct alert *out);

/*
 * Brings pending alerts in line with `conf`'s rules: a group (case, rule)
 * whose rule is gone or disabled is cancelled; one whose rule's timing
 * changed is cancelled and planned again from its event, keeping only the
 * alerts still ahead of `now`. *replanned and *cancelled count the groups.
 * Returns 0, or -1 when nothing changed (logged, unless the state database
 * has a fault: then the caller should try again once it is over).
 */
int sched_replan(struct store *st, const struct conf *conf, int64_t now,
                 int *replanned, int *cancelled);

#endif
