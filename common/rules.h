/*
 * rules: deadline rules as data, and their evaluation.
 *
 * A rule says which event kind starts it, when its deadline falls (a count of
 * working days, or of calendar months, after the event's local date, at a
 * local time), optionally when a window opens, and at which offsets alerts
 * go out; which remits it applies to, and whether it counts the trust's
 * working days or the school's. Rules come from the config; nothing here
 * knows the Ofsted rules by name. Evaluation is pure: the school's remit and
 * calendars, the zone and the event's instant are passed in, and the result
 * is a plan of deadlines, alerts and warnings.
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

/* The kinds of institution Ofsted inspects under different rules. */
enum remit {
        REMIT_SCHOOL,
        REMIT_FURTHER_EDUCATION, /* including 16 to 19 academies */
        REMIT_EARLY_YEARS,
        REMIT_INDEPENDENT,
        REMIT_N
};

/* The remits' names by enum value, then NULL. */
extern const char *const rules_remit_names[];
/* "school", "further_education", ...; "?" if out of range. */
const char *rules_remit_name(enum remit remit);
/* The remit named `name`: 0, or -1 when there is none by that name. */
int rules_remit_parse(const char *name, enum remit *out);
/* "school, further_education, early_years, independent", for messages. */
#define RULES_REMIT_LIST "school, further_education, early_years, independent"

/* Which days a rule counts as working days. */
enum rule_calendar {
        RULE_CALENDAR_TRUST,  /* Ofsted's: weekdays that are not bank
                                 holidays (nor the trust's closures) */
        RULE_CALENDAR_SCHOOL, /* also not the school's own closures */
};

enum rule_count {
        RULE_WORKING_DAYS, /* 0 = the event's day, n = nth working day after */
        RULE_MONTHS,       /* calendar months after the event's day */
        RULE_AT_EVENT,     /* opens only: the event's own instant */
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

/*
 * An escalation: at `at` (an offset as alerts take), if nobody has
 * acknowledged the rule, an alert goes to `channels` saying so.
 */
struct rule_escalation {
        struct alert_offset at;
        char **channels;
        size_t nchannels;
};

/*
 * One rule. Zeroed fields mean the defaults (every remit, the trust's
 * calendar, no source), so a rule built field by field stays valid when a
 * field is added: later fields (escalations, ...) must keep that true.
 */
struct rule {
        char *name;
        char *event;
        char *action; /* what to do, for people; may be NULL */
        bool enabled;
        unsigned remits; /* bit (1u << REMIT_*) per remit; 0: every remit */
        enum rule_calendar calendar;
        char *source;  /* where the rule comes from, for people; may be NULL */
        char *checked; /* "YYYY-MM-DD" the source was last read; may be NULL */
        bool has_opens;
        struct rule_when opens;
        struct rule_when deadline;
        struct alert_offset *alerts;
        size_t nalerts;
        char **channels; /* extra channel names for this rule */
        size_t nchannels;
        char **cancel_on; /* event kinds that end the rule */
        size_t ncancel_on;
        struct rule_escalation *escalations; /* in the order written */
        size_t nescalations;
        char **ack_keeps; /* alert offsets an acknowledgement keeps */
        size_t nack_keeps;
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
        int escalation; /* 0: a reminder; n: the rule's nth escalation */
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

/*
 * Whom rules are applied for. `remit` picks the rules; `trust` is the
 * calendar of Ofsted's working days, `school` the school's own (over the
 * trust's, with the school's closures; NULL: the trust's). Borrowed.
 */
struct rules_env {
        enum remit remit;
        const struct calendar *trust;
        const struct calendar *school;
        const struct tz *tz;
};

/* Whether `rule` is enabled and applies to a school of `remit`. */
bool rules_applies(const struct rule *rule, enum remit remit);

/* "event", "opens", "deadline", "-90m", "-2h", "-1d", "+30s", "+1h". */
int rules_parse_offset(const char *s, struct alert_offset *out);
/* A kind is [a-z][a-z0-9_]* of at most RULES_KIND_MAX - 1 characters. */
bool rules_valid_kind(const char *s);
bool rules_builtin_kind(const char *s);

/*
 * Adds to *plan what recording `event` at `at` schedules under every rule
 * started by that kind that applies to env's remit, in rule order, then
 * sorts the alerts. Call with a zeroed plan; release it with plan_free().
 */
void rules_plan(const struct rule *rules, size_t nrules,
                const struct rules_env *env, const char *event, int64_t at,
                struct plan *plan);
/*
 * Adds one rule's deadline, alerts and warnings to *plan (unsorted),
 * counting working days on the calendar the rule names.
 */
void rules_eval(const struct rule *rule, const struct rules_env *env,
                int64_t at, struct plan *plan);
void plan_sort(struct plan *plan);
/* Appends a warning to the plan. */
void plan_warn(struct plan *plan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void plan_free(struct plan *plan);

/*
 * A canonical text of what decides a rule's alert times for a school
 * (event kind, deadline, window, offsets, and on the school's calendar its
 * closures), to notice on reload that they changed. Routing is not part of
 * it: channels are resolved when an alert fires. Caller frees.
 */
char *rules_signature(const struct rule *rule, const struct rules_env *env);

/*
 * A rule's deadline and window in words, for people: "the 5th working day
 * after the draft report, 17:00"; "at the conclusion itself". The window's
 * is NULL when the rule has none. Caller frees.
 */
char *rules_deadline_words(const struct rule *rule);
char *rules_opens_words(const struct rule *rule);

/* Whether an acknowledgement of `rule` keeps its alert at `offset` (as
 * written: "deadline"); escalations are never kept. */
bool rules_ack_keeps(const struct rule *rule, const char *offset);

void rule_free(struct rule *rule);

#endif
