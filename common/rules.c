#include "rules.h"

#include "civil.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rules_builtin_kinds[] = {
        "notification", "pause",     "resume", "conclusion",
        "deferred",     "cancelled", NULL,
};

const char *const rules_remit_names[REMIT_N + 1] = {
        [REMIT_SCHOOL] = "school",
        [REMIT_FURTHER_EDUCATION] = "further_education",
        [REMIT_EARLY_YEARS] = "early_years",
        [REMIT_INDEPENDENT] = "independent",
        [REMIT_N] = NULL,
};

const char *
rules_remit_name(enum remit remit)
{
        return remit < REMIT_N ? rules_remit_names[remit] : "?";
}

int
rules_remit_parse(const char *name, enum remit *out)
{
        for (int i = 0; i < REMIT_N; i++) {
                if (strcmp(name, rules_remit_names[i]) == 0) {
                        *out = (enum remit)i;
                        return 0;
                }
        }
        return -1;
}

bool
rules_applies(const struct rule *rule, enum remit remit)
{
        return rule->enabled &&
               (rule->remits == 0 || (rule->remits & (1u << remit)) != 0);
}

/* Offsets longer than this are surely a typo. */
#define OFFSET_MAX_SECS (400LL * CIVIL_SECS_PER_DAY)

int
rules_parse_offset(const char *s, struct alert_offset *out)
{
        static const struct {
                const char *name;
                enum alert_anchor anchor;
        } named[] = {
                { "event", ALERT_EVENT },
                { "opens", ALERT_OPENS },
                { "deadline", ALERT_DEADLINE },
        };
        const char *p = s + 1;
        int64_t n = 0, unit;

        memset(out, 0, sizeof(*out));
        if (strlen(s) >= sizeof(out->text))
                return -1;
        snprintf(out->text, sizeof(out->text), "%s", s);
        for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
                if (strcmp(s, named[i].name) == 0) {
                        out->anchor = named[i].anchor;
                        return 0;
                }
        }
        if (s[0] != '-' && s[0] != '+')
                return -1;
        if (*p < '1' || *p > '9')
                return -1;
        while (*p >= '0' && *p <= '9' && n <= OFFSET_MAX_SECS)
                n = n * 10 + (*p++ - '0');
        switch (*p) {
        case 's':
                unit = 1;
                break;
        case 'm':
                unit = 60;
                break;
        case 'h':
                unit = 3600;
                break;
        case 'd':
                unit = CIVIL_SECS_PER_DAY;
                out->days = true;
                break;
        default:
                return -1;
        }
        if (p[1] != '\0' || n * unit > OFFSET_MAX_SECS)
                return -1;
        out->anchor = s[0] == '-' ? ALERT_DEADLINE : ALERT_EVENT;
        out->amount = (s[0] == '-' ? -n : n) * (out->days ? 1 : unit);
        return 0;
}

bool
rules_valid_kind(const char *s)
{
        size_t len = strlen(s);

        if (len == 0 || len >= RULES_KIND_MAX || s[0] < 'a' || s[0] > 'z')
                return false;
        for (size_t i = 0; i < len; i++) {
                if (!((s[i] >= 'a' && s[i] <= 'z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        }
        return true;
}

bool
rules_builtin_kind(const char *s)
{
        for (size_t i = 0; rules_builtin_kinds[i] != NULL; i++) {
                if (strcmp(s, rules_builtin_kinds[i]) == 0)
                        return true;
        }
        return false;
}

void
plan_warn(struct plan *plan, const char *fmt, ...)
{
        va_list ap;
        char *msg;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (msg == NULL)
                abort();
        plan->warnings = xreallocarray(plan->warnings, plan->nwarnings + 1,
                                       sizeof(*plan->warnings));
        plan->warnings[plan->nwarnings++] = msg;
}

static void
warn_coverage(struct plan *plan, const struct rule *rule,
              const struct calendar *cal, int32_t day)
{
        char date[16];
        int last = calendar_last_year(cal);

        civil_format_date(day, date, sizeof(date));
        if (last == 0)
                plan_warn(
                    plan,
                    "%s: there is no bank holiday data at all; %s was counted "
                    "as a working day without knowing whether it is a bank "
                    "holiday",
                    rule->name, date);
        else if (civil_from_days(day).year > last)
                plan_warn(
                    plan,
                    "%s: the bank holiday data ends with %d; %s was counted "
                    "as a working day without knowing whether it is a bank "
                    "holiday (update the holidays file)",
                    rule->name, last, date);
        else
                plan_warn(plan,
                          "%s: the bank holiday data does not cover %s; it was "
                          "counted as a working day without knowing whether it "
                          "is a bank holiday",
                          rule->name, date);
}

/* Local seconds to UTC, saying so when the local time is ambiguous. */
static int64_t
to_utc(struct plan *plan, const struct rule *rule, const struct tz *tz,
       int64_t local)
{
        enum tz_fold fold;
        int64_t utc = tz_to_utc(tz, local, &fold);
        char want[TIMEFMT_LEN], got[TIMEFMT_LEN];

        if (fold == TZ_EXACT)
                return utc;
        timefmt_rfc3339_utc(local, want, sizeof(want));
        want[16] = '\0'; /* "YYYY-MM-DDTHH:MM" */
        timefmt_rfc3339(tz, utc, got, sizeof(got));
        if (fold == TZ_GAP)
                plan_warn(
                    plan,
                    "%s: %s local time does not exist in %s (the clocks go "
                    "forward); using %s",
                    rule->name, want, tz_name(tz), got);
        else
                plan_warn(
                    plan,
                    "%s: %s local time happens twice in %s (the clocks go "
                    "back); using the first, %s",
                    rule->name, want, tz_name(tz), got);
        return utc;
}

static int64_t
resolve(struct plan *plan, const struct rule *rule, const struct rule_when *w,
        const struct calendar *cal, const struct tz *tz, int64_t at)
{
        int32_t event_day = civil_day_of(tz_to_local(tz, at));
        int32_t day, uncovered = CALENDAR_COVERED;

        if (w->unit == RULE_AT_EVENT)
                return at;
        if (w->unit == RULE_WORKING_DAYS) {
                day =
                    calendar_working_day(cal, event_day, w->count, &uncovered);
        } else {
                day = civil_add_months(event_day, w->count);
                day = calendar_roll(cal, day, w->roll, &uncovered);
        }
        if (uncovered != CALENDAR_COVERED)
                warn_coverage(plan, rule, cal, uncovered);
        return to_utc(plan, rule, tz, civil_local_secs(day, w->secs));
}

static int64_t
shift(struct plan *plan, const struct rule *rule, const struct tz *tz,
      int64_t base, const struct alert_offset *off)
{
        if (!off->days)
                return base + off->amount;
        /* Whole days keep the wall-clock time: -1d of 17:00 is 17:00. */
        return to_utc(plan, rule, tz,
                      tz_to_local(tz, base) + off->amount * CIVIL_SECS_PER_DAY);
}

/* The calendar `rule` counts working days on, for env's school. */
static const struct calendar *
rule_calendar(const struct rule *rule, const struct rules_env *env)
{
        if (rule->calendar == RULE_CALENDAR_SCHOOL && env->school != NULL)
                return env->school;
        return env->trust;
}

/* The instant of offset `off` for an event at `at` and deadline `dl`. */
static int64_t
alert_time(struct plan *plan, const struct rule *rule, const struct tz *tz,
           int64_t at, const struct plan_deadline *dl,
           const struct alert_offset *off)
{
        switch (off->anchor) {
        case ALERT_EVENT:
                return shift(plan, rule, tz, at, off);
        case ALERT_OPENS:
                return dl->opens;
        case ALERT_DEADLINE:
                break;
        }
        return shift(plan, rule, tz, dl->due, off);
}

void
rules_eval(const struct rule *rule, const struct rules_env *env, int64_t at,
           struct plan *plan)
{
        const struct calendar *cal = rule_calendar(rule, env);
        const struct tz *tz = env->tz;
        struct plan_deadline dl = { rule, rule->has_opens, 0, 0 };
        char *dropped = NULL;

        if (rule->has_opens)
                dl.opens = resolve(plan, rule, &rule->opens, cal, tz, at);
        dl.due = resolve(plan, rule, &rule->deadline, cal, tz, at);
        plan->deadlines = xreallocarray(plan->deadlines, plan->ndeadlines + 1,
                                        sizeof(*plan->deadlines));
        plan->deadlines[plan->ndeadlines++] = dl;

        if (dl.due < at) {
                char due[64], event[64];

                timefmt_human(tz, dl.due, due, sizeof(due));
                timefmt_human(tz, at, event, sizeof(event));
                plan_warn(plan,
                          "%s: the deadline (%s) had already passed at the "
                          "event (%s)",
                          rule->name, due, event);
        }

        for (size_t i = 0; i < rule->nalerts; i++) {
                const struct alert_offset *off = &rule->alerts[i];
                struct plan_alert a = { rule, off, 0, 0 };

                a.at = alert_time(plan, rule, tz, at, &dl, off);
                if (a.at < at) {
                        char *next;

                        xasprintf(&next, "%s%s%s", dropped ? dropped : "",
                                  dropped ? ", " : "", off->text);
                        free(dropped);
                        dropped = next;
                        continue;
                }
                plan->alerts = xreallocarray(plan->alerts, plan->nalerts + 1,
                                             sizeof(*plan->alerts));
                plan->alerts[plan->nalerts++] = a;
        }
        /* Escalations are timed as alerts are; which of them is sent is
         * decided when it comes due (an acknowledgement cancels them). */
        for (size_t i = 0; i < rule->nescalations; i++) {
                const struct alert_offset *off = &rule->escalations[i].at;
                struct plan_alert a = { rule, off, 0, (int)i + 1 };

                a.at = alert_time(plan, rule, tz, at, &dl, off);
                if (a.at < at)
                        continue;
                plan->alerts = xreallocarray(plan->alerts, plan->nalerts + 1,
                                             sizeof(*plan->alerts));
                plan->alerts[plan->nalerts++] = a;
        }
        if (dropped != NULL)
                plan_warn(plan,
                          "%s: alerts that would fall before the event are not "
                          "scheduled: %s",
                          rule->name, dropped);
        free(dropped);
}

static int
alert_cmp(const void *a, const void *b)
{
        const struct plan_alert *x = a, *y = b;

        if (x->at != y->at)
                return x->at < y->at ? -1 : 1;
        /* Same instant: keep rule order, then offset order (same arrays). */
        if (x->rule != y->rule)
                return x->rule < y->rule ? -1 : 1;
        if (x->offset != y->offset)
                return x->offset < y->offset ? -1 : 1;
        return 0;
}

void
plan_sort(struct plan *plan)
{
        if (plan->nalerts > 1)
                qsort(plan->alerts, plan->nalerts, sizeof(*plan->alerts),
                      alert_cmp);
}

void
rules_plan(const struct rule *rules, size_t nrules, const struct rules_env *env,
           const char *event, int64_t at, struct plan *plan)
{
        plan->at = at;
        for (size_t i = 0; i < nrules; i++) {
                if (rules_applies(&rules[i], env->remit) &&
                    strcmp(rules[i].event, event) == 0)
                        rules_eval(&rules[i], env, at, plan);
        }
        plan_sort(plan);
}

void
plan_free(struct plan *plan)
{
        for (size_t i = 0; i < plan->nwarnings; i++)
                free(plan->warnings[i]);
        free(plan->warnings);
        free(plan->deadlines);
        free(plan->alerts);
        memset(plan, 0, sizeof(*plan));
}

static void
when_text(const struct rule_when *w, char *buf, size_t len)
{
        if (w->unit == RULE_AT_EVENT) {
                snprintf(buf, len, "ev");
                return;
        }
        snprintf(buf, len, "%s%d@%d%s", w->unit == RULE_MONTHS ? "mo" : "wd",
                 w->count, w->secs,
                 w->unit != RULE_MONTHS ? ""
                 : w->roll > 0          ? "+"
                 : w->roll < 0          ? "-"
                                        : "=");
}

char *
rules_signature(const struct rule *rule, const struct rules_env *env)
{
        char deadline[48], opens[48] = "-", *sig, *next;

        when_text(&rule->deadline, deadline, sizeof(deadline));
        if (rule->has_opens)
                when_text(&rule->opens, opens, sizeof(opens));
        xasprintf(&sig, "1;%s;%s;%s;", rule->event, deadline, opens);
        for (size_t i = 0; i < rule->nalerts; i++) {
                xasprintf(&next, "%s%s%s", sig, i ? "," : "",
                          rule->alerts[i].text);
                free(sig);
                sig = next;
        }
        /* Escalations add to it only when there are some, so that the
         * signatures of rules without stay what they were. */
        for (size_t i = 0; i < rule->nescalations; i++) {
                xasprintf(&next, "%s%s%s", sig,
                          i ? "," : ";esc:", rule->escalations[i].at.text);
                free(sig);
                sig = next;
        }
        /* Only the school's calendar adds to it: the signatures of rules
         * on the trust's stay what they were before there was a choice. */
        if (rule->calendar == RULE_CALENDAR_SCHOOL) {
                xasprintf(
                    &next, "%s;school:%016llx", sig,
                    env->school != NULL
                        ? (unsigned long long)calendar_fingerprint(env->school)
                        : 0ULL);
                free(sig);
                sig = next;
        }
        return sig;
}

/* What people call an event of `kind`: the built-in kinds and the example
 * config's own, else the kind with spaces for underscores. */
static char *
event_words(const char *kind)
{
        static const struct {
                const char *kind, *words;
        } named[] = {
                { "notification", "the notification" },
                { "pause", "the pause" },
                { "resume", "the resumption" },
                { "conclusion", "the conclusion" },
                { "deferred", "the deferral" },
                { "cancelled", "the cancellation" },
                { "draft_report", "the draft report" },
                { "report_published", "the report's publication" },
        };
        char *out;

        for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
                if (strcmp(kind, named[i].kind) == 0)
                        return xstrdup(named[i].words);
        }
        xasprintf(&out, "the %s", kind);
        for (char *p = out; *p != '\0'; p++) {
                if (*p == '_')
                        *p = ' ';
        }
        return out;
}

/* "1st", "2nd", "3rd", "4th", ..., "11th", "12th", "13th", "21st". */
static void
ordinal(int n, char *buf, size_t len)
{
        const char *suffix = "th";

        if (n % 100 < 11 || n % 100 > 13) {
                if (n % 10 == 1)
                        suffix = "st";
                else if (n % 10 == 2)
                        suffix = "nd";
                else if (n % 10 == 3)
                        suffix = "rd";
        }
        snprintf(buf, len, "%d%s", n, suffix);
}

static char *
when_words(const struct rule *rule, const struct rule_when *w)
{
        char *event = event_words(rule->event), *out = NULL, nth[16];
        const char *cal = rule->calendar == RULE_CALENDAR_SCHOOL
                              ? " (the school's working days)"
                              : "";
        int h = w->secs / 3600, m = w->secs / 60 % 60;

        switch (w->unit) {
        case RULE_AT_EVENT:
                xasprintf(&out, "at %s itself", event);
                break;
        case RULE_WORKING_DAYS:
                ordinal(w->count, nth, sizeof(nth));
                if (w->count == 0)
                        xasprintf(&out, "the day of %s, %02d:%02d", event, h,
                                  m);
                else if (w->count == 1)
                        xasprintf(&out,
                                  "the next working day%s after %s, "
                                  "%02d:%02d",
                                  cal, event, h, m);
                else
                        xasprintf(&out,
                                  "the %s working day%s after %s, "
                                  "%02d:%02d",
                                  nth, cal, event, h, m);
                break;
        case RULE_MONTHS:
                xasprintf(&out, "%d month%s after %s, %02d:%02d%s", w->count,
                          w->count == 1 ? "" : "s", event, h, m,
                          w->roll > 0   ? ", or the next working day"
                          : w->roll < 0 ? ", or the working day before"
                                        : "");
                break;
        }
        free(event);
        return out;
}

char *
rules_deadline_words(const struct rule *rule)
{
        return when_words(rule, &rule->deadline);
}

char *
rules_opens_words(const struct rule *rule)
{
        return rule->has_opens ? when_words(rule, &rule->opens) : NULL;
}

static void
free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

bool
rules_ack_keeps(const struct rule *rule, const char *offset)
{
        for (size_t i = 0; i < rule->nack_keeps; i++) {
                if (strcmp(rule->ack_keeps[i], offset) == 0)
                        return true;
        }
        return false;
}

void
rule_free(struct rule *rule)
{
        free(rule->name);
        free(rule->event);
        free(rule->action);
        free(rule->source);
        free(rule->checked);
        free(rule->alerts);
        free_strv(rule->channels, rule->nchannels);
        free_strv(rule->cancel_on, rule->ncancel_on);
        for (size_t i = 0; i < rule->nescalations; i++)
                free_strv(rule->escalations[i].channels,
                          rule->escalations[i].nchannels);
        free(rule->escalations);
        free_strv(rule->ack_keeps, rule->nack_keeps);
        memset(rule, 0, sizeof(*rule));
}
