/*
 * rules: deadline rules as data, and their evaluation.
 *
 * A rule says which event kind starts it, when its deadline falls (a count of
 * working days, or of calendar months, after the event's local date, at a
 * local time), optionally when a window opens, and at which offsets alerts
 * go out. Rules come from the config; nothing here knows the Ofsted rules by
 * name. Evaluation is pure: the calendar, the zone and the event's instant
 * are passed in, and the result is a plan of deadlines, alerts and warnings.
 */
#ifndef ONOTIFY_RULES_H
#define ONOTIFY_RULES_H

#include "calendar.h"
#include "names.h"
#include "tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_KIND_MAX   (NAMES_KIND_LEN + 1)
#define RULES_OFFSET_MAX (NAMES_OFFSET_LEN + 1)

/* The event kinds the product records itself; rules may add others. */
extern const char *const rules_builtin_kinds[];

enum rule_count {
        RULE_WORKING_DAYS, /* 0 = the event's day, n = nth working day after */
        RULE_MONTHS,       /* calendar months after the event's day */
};

struct rule_when {
        enum rule_count unit;
        int count;
        int secs; /* local time of day, seconds after midnight */
        int roll; /* months only: to a working day, 1 after, -1 before, 0 no */
};

enum alert_anchor {
        ALERT_EVENT,    /* when the event is recorded (+ offset) */
        ALERT_OPENS,    /* when the rule's window opens */
        ALERT_DEADLINE, /* at the deadline (- offset) */
};

struct alert_offset {
        enum alert_anchor anchor;
        int64_t amount; /* seconds, or whole days when `days` */
        bool days;      /* days keep the local time of day across BST */
        char text[RULES_OFFSET_MAX]; /* as written: "-60m" */
};

struct rule {
        char *name;
        char *event;
        char *action; /* what to do, for people; may be NULL */
        bool enabled;
        bool has_opens;
        struct rule_when opens;
        struct rule_when deadline;
        struct alert_offset *alerts;
        size_t nalerts;
        char **channels; /* extra channel names for this rule */
        size_t nchannels;
        char **cancel_on; /* event kinds that end the rule */
        size_t ncancel_on;
};

struct plan_deadline {
        const struct rule *rule;
        bool has_opens;
        int64_t opens;
        int64_t due;
};

struct plan_alert {
        const struct rule *rule;
        const struct alert_offset *offset;
        int64_t at;
};

/* A plan owns its arrays and warnings; the rule pointers are borrowed. */
struct plan {
        int64_t at;
        struct plan_deadline *deadlines;
        size_t ndeadlines;
        struct plan_alert *alerts; /* sorted by time */
        size_t nalerts;
        char **warnings;
        size_t nwarnings;
};

/* "event", "opens", "deadline", "-90m", "-2h", "-1d", "+30s", "+1h". */
int rules_parse_offset(const char *s, struct alert_offset *out);
/* A kind is [a-z][a-z0-9_]* of at most RULES_KIND_MAX - 1 characters. */
bool rules_valid_kind(const char *s);
bool rules_builtin_kind(const char *s);

/*
 * Adds to *plan what recording `event` at `at` schedules under every
 * enabled rule started by that kind, in rule order, then sorts the alerts.
 * Call with a zeroed plan; release it with plan_free().
 */
void rules_plan(const struct rule *rules, size_t nrules,
                const struct calendar *cal, const struct tz *tz,
                const char *event, int64_t at, struct plan *plan);
/* Adds one rule's deadline, alerts and warnings to *plan (unsorted). */
void rules_eval(const struct rule *rule, const struct calendar *cal,
                const struct tz *tz, int64_t at, struct plan *plan);
void plan_sort(struct plan *plan);
/* Appends a warning to the plan. */
void plan_warn(struct plan *plan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void plan_free(struct plan *plan);

/*
 * A canonical text of what decides a rule's alert times (event kind,
 * deadline, window, offsets), to notice on reload that a rule changed.
 * Routing is not part of it: channels are resolved when an alert fires.
 * Caller frees.
 */
char *rules_signature(const struct rule *rule);

void rule_free(struct rule *rule);

#endif
