/*
 * Tests for case: the case state machine and the fate of a due alert.
 *
 * Every expected outcome below is worked out by hand from DESIGN.md §1
 * ("resume ends both pause rules; deferred and cancelled end every rule of
 * the case; conclusion ends pause rules"), docs/protocol.md ("event": a
 * notification is refused while a case is open or paused unless new_case,
 * which closes the old case first; pause needs an open case, resume a
 * paused one, conclusion an open or paused one; every other kind needs a
 * current case, the newest one that is not closed) and the daemon's
 * catch_up policy in ofsted-notify.conf(5), not from the code's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "case.h"
#include "rules.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NRULES 7

/* The example config's rules and three more, by index:
 * 0 deferral_cutoff  starts on notification, cancel_on deferred, cancelled
 * 1 concern_window   starts on conclusion
 * 2 pause_expected   starts on pause, cancel_on resume, conclusion, cancelled
 * 3 pause_limit      the same
 * 4 drill            starts on drill (a kind of the config), cancel_on pause
 * 5 quiet            starts on drill but disabled, cancel_on drill
 * 6 followup         starts on notification, cancel_on notification */
static const struct {
        const char *name, *event;
        bool enabled;
        const char *cancel_on[3];
} spec[NRULES] = {
        { "deferral_cutoff",
          "notification",
          true,
          { "deferred", "cancelled" } },
        { "concern_window", "conclusion", true, { NULL } },
        { "pause_expected",
          "pause",
          true,
          { "resume", "conclusion", "cancelled" } },
        { "pause_limit",
          "pause",
          true,
          { "resume", "conclusion", "cancelled" } },
        { "drill", "drill", true, { "pause" } },
        { "quiet", "drill", false, { "drill" } },
        { "followup", "notification", true, { "notification" } },
};

static struct rule rules[NRULES];

#define ALL                                                          \
        "deferral_cutoff concern_window pause_expected pause_limit " \
        "drill quiet followup"

static int
setup(void **state)
{
        (void)state;
        for (size_t i = 0; i < NRULES; i++) {
                struct rule *r = &rules[i];

                r->name = strdup(spec[i].name);
                r->event = strdup(spec[i].event);
                r->action = strdup("");
                r->enabled = spec[i].enabled;
                r->deadline.unit = RULE_WORKING_DAYS;
                r->deadline.count = 1;
                r->deadline.secs = 17 * 3600;
                r->cancel_on = calloc(3, sizeof(char *));
                for (size_t k = 0; k < 3 && spec[i].cancel_on[k] != NULL; k++)
                        r->cancel_on[r->ncancel_on++] =
                            strdup(spec[i].cancel_on[k]);
        }
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        for (size_t i = 0; i < NRULES; i++)
                rule_free(&rules[i]);
        return 0;
}

/* The names of rules[idx[0..n]], space separated, in `buf`. */
static const char *
names(const size_t *idx, size_t n, char *buf, size_t len)
{
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                assert_true(idx[i] < NRULES);
                used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                         i ? " " : "", rules[idx[i]].name);
                assert_true(used < len);
        }
        return buf;
}

#define NONE      CASE_NONE
#define OPEN      CASE_OPEN
#define PAUSED    CASE_PAUSED
#define CONCLUDED CASE_CONCLUDED
#define CLOSED    CASE_CLOSED

/* One combination and what the machine must decide. */
struct row {
        enum case_state state;
        const char *kind;
        bool new_case;
        enum case_refusal refusal;
        /* When it goes ahead: */
        enum case_state next;
        bool opens, closes;
        const char *ends, *starts;
};

#define REFUSED(st, k, nc, why)                         \
        {                                               \
                st, k, nc, why, 0, false, false, "", "" \
        }
#define OK(st, k, nc, nx, op, cl, e, s)              \
        {                                            \
                st, k, nc, CASE_OK, nx, op, cl, e, s \
        }

static const struct row table[] = {
        /* A notification opens a case, refused over an open or paused one
         * unless new_case, which closes that one first: every rule of it
         * ends. The new case has nothing for followup's cancel_on to end.
         * A concluded case stays as it is. A closed case is no case. */
        OK(NONE, "notification", false, OPEN, true, false, "",
           "deferral_cutoff followup"),
        REFUSED(OPEN, "notification", false, CASE_REFUSE_BUSY),
        REFUSED(PAUSED, "notification", false, CASE_REFUSE_BUSY),
        OK(CONCLUDED, "notification", false, OPEN, true, false, "",
           "deferral_cutoff followup"),
        OK(CLOSED, "notification", false, OPEN, true, false, "",
           "deferral_cutoff followup"),
        OK(NONE, "notification", true, OPEN, true, false, "",
           "deferral_cutoff followup"),
        OK(OPEN, "notification", true, OPEN, true, true, ALL,
           "deferral_cutoff followup"),
        OK(PAUSED, "notification", true, OPEN, true, true, ALL,
           "deferral_cutoff followup"),
        OK(CONCLUDED, "notification", true, OPEN, true, false, "",
           "deferral_cutoff followup"),
        OK(CLOSED, "notification", true, OPEN, true, false, "",
           "deferral_cutoff followup"),

        /* pause: an open case only; it ends drill (cancel_on pause). */
        REFUSED(NONE, "pause", false, CASE_REFUSE_NO_CASE),
        OK(OPEN, "pause", false, PAUSED, false, false, "drill",
           "pause_expected pause_limit"),
        REFUSED(PAUSED, "pause", false, CASE_REFUSE_STATE),
        REFUSED(CONCLUDED, "pause", false, CASE_REFUSE_STATE),
        REFUSED(CLOSED, "pause", false, CASE_REFUSE_NO_CASE),

        /* resume: a paused case only; it ends both pause rules. */
        REFUSED(NONE, "resume", false, CASE_REFUSE_NO_CASE),
        REFUSED(OPEN, "resume", false, CASE_REFUSE_STATE),
        OK(PAUSED, "resume", false, OPEN, false, false,
           "pause_expected pause_limit", ""),
        REFUSED(CONCLUDED, "resume", false, CASE_REFUSE_STATE),
        REFUSED(CLOSED, "resume", false, CASE_REFUSE_NO_CASE),

        /* conclusion: open or paused; it ends the pause rules. */
        REFUSED(NONE, "conclusion", false, CASE_REFUSE_NO_CASE),
        OK(OPEN, "conclusion", false, CONCLUDED, false, false,
           "pause_expected pause_limit", "concern_window"),
        OK(PAUSED, "conclusion", false, CONCLUDED, false, false,
           "pause_expected pause_limit", "concern_window"),
        REFUSED(CONCLUDED, "conclusion", false, CASE_REFUSE_STATE),
        REFUSED(CLOSED, "conclusion", false, CASE_REFUSE_NO_CASE),

        /* deferred and cancelled close any current case and end every
         * rule of it, whatever the rules' cancel_on say. */
        REFUSED(NONE, "deferred", false, CASE_REFUSE_NO_CASE),
        OK(OPEN, "deferred", false, CLOSED, false, true, ALL, ""),
        OK(PAUSED, "deferred", false, CLOSED, false, true, ALL, ""),
        OK(CONCLUDED, "deferred", false, CLOSED, false, true, ALL, ""),
        REFUSED(CLOSED, "deferred", false, CASE_REFUSE_NO_CASE),
        REFUSED(NONE, "cancelled", false, CASE_REFUSE_NO_CASE),
        OK(OPEN, "cancelled", false, CLOSED, false, true, ALL, ""),
        OK(PAUSED, "cancelled", false, CLOSED, false, true, ALL, ""),
        OK(CONCLUDED, "cancelled", false, CLOSED, false, true, ALL, ""),
        REFUSED(CLOSED, "cancelled", false, CASE_REFUSE_NO_CASE),

        /* A kind of the config: any current case, its state unchanged;
         * it starts its enabled rules and ends those naming it. */
        REFUSED(NONE, "drill", false, CASE_REFUSE_NO_CASE),
        OK(OPEN, "drill", false, OPEN, false, false, "quiet", "drill"),
        OK(PAUSED, "drill", false, PAUSED, false, false, "quiet", "drill"),
        OK(CONCLUDED, "drill", false, CONCLUDED, false, false, "quiet",
           "drill"),
        REFUSED(CLOSED, "drill", false, CASE_REFUSE_NO_CASE),
};

/* Fails, naming the combination, unless `cond` holds. */
#define EXPECT(cond)                                          \
        do {                                                  \
                if (!(cond))                                  \
                        fail_msg("%s: want %s", what, #cond); \
        } while (0)

/* Fails, naming the combination, unless the rules are `want`. */
static void
expect_rules(const char *what, const char *field, const size_t *idx, size_t n,
             const char *want)
{
        char got[256];

        if (strcmp(names(idx, n, got, sizeof(got)), want) != 0)
                fail_msg("%s: %s are '%s', want '%s'", what, field, got, want);
}

static void
test_table(void **state)
{
        char what[96];

        (void)state;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                const struct row *r = &table[i];
                struct case_decision d;
                int rc = case_decide(r->kind, r->state, r->new_case,
                                     REMIT_SCHOOL, rules, NRULES, &d);

                snprintf(what, sizeof(what), "%s on %s%s", r->kind,
                         case_state_name(r->state),
                         r->new_case ? " with new_case" : "");
                EXPECT(rc == (r->refusal == CASE_OK ? 0 : -1));
                EXPECT(d.refusal == r->refusal);
                EXPECT(strcmp(d.kind, r->kind) == 0);
                EXPECT(d.from == (r->state == CLOSED ? CASE_NONE : r->state));
                if (r->refusal == CASE_OK) {
                        EXPECT(d.next == r->next);
                        EXPECT(d.opens == r->opens);
                        EXPECT(d.closes == r->closes);
                }
                expect_rules(what, "ends", d.ends, d.nends, r->ends);
                expect_rules(what, "starts", d.starts, d.nstarts, r->starts);
                case_decision_free(&d);
                EXPECT(d.ends == NULL && d.starts == NULL);
        }
}

/* new_case belongs to a notification: with any other kind it is refused,
 * from every state. */
static void
test_new_case_only_for_notification(void **state)
{
        static const char *const kinds[] = { "pause",      "resume",
                                             "conclusion", "deferred",
                                             "cancelled",  "drill" };
        struct case_decision d;

        (void)state;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                for (int s = CASE_NONE; s <= CASE_CLOSED; s++) {
                        assert_int_equal(
                            case_decide(kinds[k], (enum case_state)s, true,
                                        REMIT_SCHOOL, rules, NRULES, &d),
                            -1);
                        assert_int_equal(d.refusal, CASE_REFUSE_NEW_CASE);
                        assert_int_equal(d.nends, 0);
                        assert_int_equal(d.nstarts, 0);
                        case_decision_free(&d);
                }
        }
}

/* The refusals in words: the daemon's (school and case known) and the
 * planner's (neither). */
static void
test_refusal_text(void **state)
{
        static const struct {
                const char *kind;
                enum case_state st;
                bool new_case;
                const char *urn;
                int64_t id;
                const char *want;
        } t[] = {
                { "notification", OPEN, false, "100001", 7,
                  "school 100001 already has an open case (7); use "
                  "--new-case to start another" },
                { "notification", PAUSED, false, "100001", 7,
                  "school 100001 already has a paused case (7); use "
                  "--new-case to start another" },
                { "notification", OPEN, false, NULL, 0,
                  "the school already has an open case; use --new-case to "
                  "start another" },
                { "pause", NONE, false, "100001", 0,
                  "school 100001 has no open case: record the notification "
                  "first" },
                { "drill", NONE, false, NULL, 0,
                  "the school has no open case: record the notification "
                  "first" },
                { "pause", CONCLUDED, false, "100001", 7,
                  "case 7 is concluded, not open: it cannot be paused" },
                { "pause", PAUSED, false, NULL, 0,
                  "the case is paused, not open: it cannot be paused" },
                { "resume", OPEN, false, "100001", 7,
                  "case 7 is open, not paused: there is nothing to resume" },
                { "conclusion", CONCLUDED, false, "100001", 7,
                  "case 7 is concluded: it cannot conclude" },
                { "deferred", OPEN, true, "100001", 7,
                  "'new_case' is only for a notification" },
        };
        struct case_decision d;
        char *text;

        (void)state;
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                assert_int_equal(case_decide(t[i].kind, t[i].st, t[i].new_case,
                                             REMIT_SCHOOL, rules, NRULES, &d),
                                 -1);
                text = case_refusal_text(&d, t[i].urn, t[i].id);
                assert_string_equal(text, t[i].want);
                free(text);
                case_decision_free(&d);
        }
}

/* What plan assumes without --state: the first state that takes the kind. */
static void
test_default_state(void **state)
{
        (void)state;
        assert_int_equal(case_default_state("notification"), CASE_NONE);
        assert_int_equal(case_default_state("pause"), CASE_OPEN);
        assert_int_equal(case_default_state("resume"), CASE_PAUSED);
        assert_int_equal(case_default_state("conclusion"), CASE_OPEN);
        assert_int_equal(case_default_state("deferred"), CASE_OPEN);
        assert_int_equal(case_default_state("cancelled"), CASE_OPEN);
        assert_int_equal(case_default_state("drill"), CASE_OPEN);
}

static void
test_state_names(void **state)
{
        static const char *const want[] = { "none", "open", "paused",
                                            "concluded", "closed" };
        enum case_state s;

        (void)state;
        for (int i = CASE_NONE; i <= CASE_CLOSED; i++) {
                assert_string_equal(case_state_name((enum case_state)i),
                                    want[i + 1]);
                assert_int_equal(case_state_parse(want[i + 1], &s), 0);
                assert_int_equal(s, i);
        }
        assert_string_equal(case_state_name((enum case_state)9), "?");
        assert_int_equal(case_state_parse("Open", &s), -1);
        assert_int_equal(case_state_parse("", &s), -1);
}

/* The plan of a decision: the rules it starts, nothing when refused. */
static void
test_plan(void **state)
{
        struct calendar *cal = support_calendar("england-and-wales");
        struct tz *tz = support_tz("Europe/London");
        /* Monday 4 March 2024 10:15 GMT: the next working day is Tuesday
         * 5 March, and 17:00 GMT that day is 17:00 UTC. */
        int64_t at = support_utc("2024-03-04T10:15:00Z");
        int64_t due = support_utc("2024-03-05T17:00:00Z");
        struct rules_env env = { REMIT_SCHOOL, cal, NULL, tz };
        struct case_decision d;
        struct plan plan = { 0 };

        (void)state;
        assert_int_equal(case_decide("notification", CASE_NONE, false,
                                     REMIT_SCHOOL, rules, NRULES, &d),
                         0);
        case_plan(&d, rules, &env, at, &plan);
        assert_int_equal(plan.at, at);
        assert_int_equal(plan.ndeadlines, 2);
        assert_string_equal(plan.deadlines[0].rule->name, "deferral_cutoff");
        assert_string_equal(plan.deadlines[1].rule->name, "followup");
        assert_int_equal(plan.deadlines[0].due, due);
        plan_free(&plan);
        case_decision_free(&d);

        assert_int_equal(case_decide("notification", CASE_OPEN, false,
                                     REMIT_SCHOOL, rules, NRULES, &d),
                         -1);
        case_plan(&d, rules, &env, at, &plan);
        assert_int_equal(plan.at, at);
        assert_int_equal(plan.ndeadlines, 0);
        assert_int_equal(plan.nalerts, 0);
        plan_free(&plan);
        case_decision_free(&d);
        tz_destroy(&tz);
        calendar_destroy(&cal);
}

/* An alert due at T handled at T + lateness, with late_after 60 s:
 * on time up to 60 s; later, sent marked late while its deadline is ahead
 * under catch_up "late", missed once the deadline has come or under
 * catch_up "skip". An alert whose time is its deadline (offset "deadline")
 * is sent when handled on time, though the deadline has then come. */
static void
test_alert_fate(void **state)
{
        static const struct {
                int64_t late; /* now - at */
                int64_t due;  /* due - at */
                bool skip;    /* catch_up = "skip" */
                enum case_fate want;
        } t[] = {
                { 0, 3600, false, CASE_FIRE },
                { 0, 3600, true, CASE_FIRE },
                { 60, 3600, false, CASE_FIRE },
                { 60, 3600, true, CASE_FIRE },
                { 61, 3600, false, CASE_FIRE_LATE },
                { 61, 3600, true, CASE_MISS },
                { 3599, 3600, false, CASE_FIRE_LATE },
                { 3600, 3600, false, CASE_MISS },
                { 7200, 3600, false, CASE_MISS },
                { 5, 0, false, CASE_FIRE },
                { 5, 0, true, CASE_FIRE },
                { 61, 0, false, CASE_MISS },
                { -5, 3600, true, CASE_FIRE },
        };
        const int64_t at = support_utc("2024-03-04T15:30:00Z");

        (void)state;
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                enum case_fate got = case_alert_fate(
                    at, at + t[i].due, at + t[i].late, 60, t[i].skip);

                if (got != t[i].want)
                        fail_msg("%lld s late, due %lld s after, catch_up "
                                 "'%s': fate %d, want %d",
                                 (long long)t[i].late, (long long)t[i].due,
                                 t[i].skip ? "skip" : "late", (int)got,
                                 (int)t[i].want);
        }
}

UNIT_MAIN_GROUP(setup, teardown,
                {
                    cmocka_unit_test(test_table),
                    cmocka_unit_test(test_new_case_only_for_notification),
                    cmocka_unit_test(test_refusal_text),
                    cmocka_unit_test(test_default_state),
                    cmocka_unit_test(test_state_names),
                    cmocka_unit_test(test_plan),
                    cmocka_unit_test(test_alert_fate),
                })
