/*
 * `ofsted-notifyctl plan` against the daemon, one event kind at a time: for
 * each kind, plan is asked (from the state the daemon shows for the case)
 * what recording the event does, the event is recorded against the real
 * daemon, and what the daemon did, read back with `show --json`, must be
 * what plan said: the alerts it cancelled are exactly those pending of the
 * rules plan says end, the alerts it created are the ones plan lists, the
 * case's state is plan's "next"; and where plan says the daemon refuses,
 * it refuses for the same reason and changes nothing.
 *
 * Every event is recorded days ahead (--at), so no alert comes due while a
 * test runs and every alert stays pending until an event ends it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXAMPLE_CONF SOURCE_DIR "/config/ofsted-notify.conf"
#define URN          "100001"

/*
 * Added to the example config's rules: one that a notification starts and
 * that a pause and the config's own kind draft_report end, so that those
 * end something beside the example's cancel_on.
 */
#define RULE_FOLLOWUP                                                \
        "{ name = \"followup\"; event = \"notification\";\n"         \
        "    deadline = { working_days = 10; time = \"17:00\"; };\n" \
        "    alerts = [ \"+1h\", \"+2h\" ];\n"                       \
        "    cancel_on = [ \"pause\", \"draft_report\" ]; }"

struct fx {
        struct cluster c;
        int64_t at; /* the time of the next event */
};
/* c first: teardown() is cluster_teardown(), which frees f as its c. */
_Static_assert(offsetof(struct fx, c) == 0, "struct fx starts with c");

/* --- Fixture: a daemon of its own, the example config and followup ----- */

/* The example config with the holidays file by absolute path and
 * RULE_FOLLOWUP after its last rule. */
static void
write_conf(struct fx *f)
{
        const char *holidays = "holidays = \"bank-holidays.json\";";
        char *text = slurp(EXAMPLE_CONF), *h, *end = NULL, *out;

        /* The rules are the last list in the file. */
        for (char *p = strstr(text, "}\n);"); p != NULL;
             p = strstr(p + 1, "}\n);"))
                end = p;
        h = strstr(text, holidays);
        if (h == NULL || end == NULL || end < h)
                fail_msg("the example config's holidays or rules moved");
        if (asprintf(&out, "%.*sholidays = \"%s\";%.*s},\n  %s\n);%s",
                     (int)(h - text), text, CLUSTER_HOLIDAYS,
                     (int)(end - (h + strlen(holidays))), h + strlen(holidays),
                     RULE_FOLLOWUP, end + strlen("}\n);")) < 0)
                abort();
        spill(f->c.conf, out);
        free(out);
        free(text);
}

static int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));

        if (f == NULL)
                return -1;
        *state = f;
        if (cluster_init(&f->c, "test_case_plan") < 0)
                return -1;
        /* Three days ahead, on the minute. */
        f->at = (time(NULL) / 60 + 3 * 24 * 60) * 60;
        write_conf(f);
        cluster_daemon_start(&f->c, NULL);
        return 0;
}

static int
teardown(void **state)
{
        return cluster_teardown(state);
}

/* --- Running ofsted-notifyctl ------------------------------------------ */

/* The JSON object printed by a run that exited `want`; frees the run. */
static json_t *
json_of(struct proc_result *r, int want, const char *what)
{
        json_t *doc;

        if (r->status != want)
                fail_msg("%s: exit %d, not %d; stderr: %s", what, r->status,
                         want, r->err);
        doc = jparse(r->out, what);
        proc_result_free(r);
        return doc;
}

/* `show --case id --json`: the case object (new reference). */
static json_t *
show(struct fx *f, json_int_t id)
{
        char num[32];
        struct proc_result r;
        json_t *doc, *c;

        snprintf(num, sizeof(num), "%lld", (long long)id);
        r = cluster_ctl(&f->c, "show", "--case", num, "--json", NULL);
        doc = json_of(&r, 0, "show");
        c = json_incref(member(doc, "case"));
        json_decref(doc);
        return c;
}

/* --- Sets of alerts and rules ------------------------------------------ */

static int
cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted lines of `strs` (n of them, each freed), as one new string. */
static char *
lines(char **strs, size_t n)
{
        size_t len = 1;
        char *out;

        qsort(strs, n, sizeof(*strs), cmp_str);
        for (size_t i = 0; i < n; i++)
                len += strlen(strs[i]) + 1;
        out = calloc(1, len);
        assert_non_null(out);
        for (size_t i = 0; i < n; i++) {
                strcat(out, strs[i]);
                strcat(out, "\n");
                free(strs[i]);
        }
        return out;
}

/* The alerts (objects with rule, offset, at) as sorted "rule offset
 * epoch" lines: two such texts are equal when the sets are. */
static char *
alert_keys(json_t *alerts)
{
        size_t n = json_array_size(alerts), i;
        char **strs = calloc(n + 1, sizeof(*strs)), *out;
        json_t *a;

        assert_non_null(strs);
        json_array_foreach(alerts, i, a)
        {
                if (asprintf(&strs[i], "%s %s %lld", jstr(a, "rule"),
                             jstr(a, "offset"),
                             (long long)rfc3339(jstr(a, "at"))) < 0)
                        abort();
        }
        out = lines(strs, n);
        free(strs);
        return out;
}

static bool
has_string(json_t *arr, const char *s)
{
        size_t i;
        json_t *v;

        json_array_foreach(arr, i, v)
        {
                if (strcmp(json_string_value(v), s) == 0)
                        return true;
        }
        return false;
}

static json_t *
by_id(json_t *alerts, json_int_t id)
{
        size_t i;
        json_t *a;

        json_array_foreach(alerts, i, a)
        {
                if (jint(a, "id") == id)
                        return a;
        }
        return NULL;
}

/* --- The comparison ---------------------------------------------------- */

/*
 * Records `kind` at the fixture's next time (with --new-case when asked)
 * for the school, whose current case is `id` (0: it has none), after
 * asking plan what that does from the state `show` gives for the case.
 * Fails unless the daemon did just what plan said. `min_pending` is how
 * many rules the scenario has pending before the event, so that an empty
 * comparison cannot pass for a full one. Returns the case the event went
 * to.
 */
static json_int_t
check_event(struct fx *f, json_int_t id, const char *kind, bool new_case,
            size_t min_pending)
{
        json_t *before = id ? show(f, id) : NULL, *plan, *rec, *after, *a;
        json_t *pending_rules = json_array(), *created = json_array();
        const char *state = id ? jstr(before, "state") : "none";
        struct proc_result r;
        json_int_t to, ncancelled = 0;
        char at[32], *want, *got;
        size_t i;

        utc_text((time_t)f->at, at);
        f->at += 3600;

        /* What plan says. */
        if (new_case)
                r = cluster_ctl(&f->c, "plan", "--event", kind, "--at", at,
                                "--state", state, "--new-case", "--json", NULL);
        else
                r = cluster_ctl(&f->c, "plan", "--event", kind, "--at", at,
                                "--state", state, "--json", NULL);
        plan = json_of(&r, 0, "plan");
        assert_string_equal(jstr(plan, "state"), state);
        assert_null(json_object_get(plan, "refused"));

        /* What the daemon does. */
        if (new_case)
                r = cluster_ctl(&f->c, "event", kind, "--school", URN, "--at",
                                at, "--new-case", "--json", NULL);
        else
                r = cluster_ctl(&f->c, "event", kind, "--school", URN, "--at",
                                at, "--json", NULL);
        rec = json_of(&r, 0, kind);
        to = jint(rec, "case");
        assert_string_equal(jstr(rec, "state"), jstr(plan, "next"));

        /* A new case exactly when plan says one opens. */
        assert_int_equal(json_is_true(member(plan, "opens_case")), to != id);

        /* Every alert the case had pending: cancelled now when plan says
         * its rule ends, else still pending. */
        if (id != 0) {
                after = show(f, id);
                json_array_foreach(jarr(before, "alerts"), i, a)
                {
                        const char *rule = jstr(a, "rule");
                        json_t *now =
                            by_id(jarr(after, "alerts"), jint(a, "id"));
                        bool ends = has_string(jarr(plan, "cancels"), rule);

                        if (strcmp(jstr(a, "state"), "pending") != 0)
                                continue;
                        if (!has_string(pending_rules, rule))
                                json_array_append_new(pending_rules,
                                                      json_string(rule));
                        assert_non_null(now);
                        if (strcmp(jstr(now, "state"),
                                   ends ? "cancelled" : "pending") != 0)
                                fail_msg("%s on a %s case: plan says it %s "
                                         "%s, yet its alert %lld is %s",
                                         kind, state,
                                         ends ? "ends" : "does not end", rule,
                                         (long long)jint(a, "id"),
                                         jstr(now, "state"));
                        ncancelled += ends;
                }
                /* The old case is closed when plan says it closes. */
                if (to != id)
                        assert_string_equal(
                            jstr(after, "state"),
                            json_is_true(member(plan, "closes_case")) ? "closed"
                                                                      : state);
                if (to == id)
                        json_array_foreach(jarr(after, "alerts"), i, a)
                        {
                                if (by_id(jarr(before, "alerts"),
                                          jint(a, "id")) == NULL)
                                        json_array_append(created, a);
                        }
                json_decref(after);
        }
        if (json_array_size(pending_rules) < min_pending)
                fail_msg("%s on a %s case: %zu rules pending before, want at "
                         "least %zu",
                         kind, state, json_array_size(pending_rules),
                         min_pending);
        assert_int_equal(jint(rec, "cancelled"), ncancelled);

        /* The alerts it created are the ones plan lists. */
        if (to != id) {
                after = show(f, to);
                assert_string_equal(jstr(after, "state"), jstr(plan, "next"));
                json_array_extend(created, jarr(after, "alerts"));
                json_decref(after);
        } else {
                after = show(f, to);
                assert_string_equal(jstr(after, "state"), jstr(plan, "next"));
                json_decref(after);
        }
        want = alert_keys(jarr(plan, "alerts"));
        got = alert_keys(created);
        assert_string_equal(got, want);
        free(got);
        got = alert_keys(jarr(rec, "scheduled"));
        assert_string_equal(got, want);
        free(got);
        free(want);

        json_decref(pending_rules);
        json_decref(created);
        json_decref(before);
        json_decref(plan);
        json_decref(rec);
        return to;
}

/* --- One test per event kind ------------------------------------------- */

/* An event of a scenario, and how many rules are pending before it. */
struct step {
        const char *kind;
        size_t min_pending;
};

/*
 * A notification opens a case, then each of `steps` (up to the one with
 * a NULL kind) is recorded on it, each checked against plan
 * (check_event()) and each going to that case.
 */
static void
scenario(struct fx *f, const struct step *steps)
{
        json_int_t c = check_event(f, 0, "notification", false, 0), to;

        for (; steps->kind != NULL; steps++) {
                to = check_event(f, c, steps->kind, false, steps->min_pending);
                if (to != c)
                        fail_msg("'%s' went to case %lld, not %lld",
                                 steps->kind, (long long)to, (long long)c);
        }
        f->c.passed = true;
}

/* A notification opens a case from none and from a concluded case (which
 * keeps its alerts); with --new-case over an open case it closes that
 * case first, ending every rule of it. */
static void
test_notification(void **state)
{
        struct fx *f = *state;
        json_int_t c1, c2, c3;

        c1 = check_event(f, 0, "notification", false, 0);
        check_event(f, c1, "conclusion", false, 2);
        c2 = check_event(f, c1, "notification", false, 3);
        assert_true(c2 != c1);
        c3 = check_event(f, c2, "notification", true, 2);
        assert_true(c3 != c2);
        f->c.passed = true;
}

/* pause starts both pause rules and ends followup (its cancel_on). */
static void
test_pause(void **state)
{
        static const struct step steps[] = { { "pause", 2 }, { NULL, 0 } };

        scenario(*state, steps);
}

/* resume ends both pause rules. */
static void
test_resume(void **state)
{
        static const struct step steps[] = { { "pause", 2 },
                                             { "resume", 3 },
                                             { NULL, 0 } };

        scenario(*state, steps);
}

/* conclusion, from a paused case, ends the pause rules. */
static void
test_conclusion(void **state)
{
        static const struct step steps[] = { { "pause", 2 },
                                             { "conclusion", 3 },
                                             { NULL, 0 } };

        scenario(*state, steps);
}

/* deferred closes the case and ends every rule of it: deferral_cutoff,
 * factual_accuracy and both pause rules are pending, and only the first
 * names deferred in its cancel_on. */
static void
test_deferred(void **state)
{
        static const struct step steps[] = { { "draft_report", 2 },
                                             { "pause", 2 },
                                             { "deferred", 4 },
                                             { NULL, 0 } };

        scenario(*state, steps);
}

/* cancelled closes a concluded case and ends every rule of it, followup
 * too, whose cancel_on does not name it. */
static void
test_cancelled(void **state)
{
        static const struct step steps[] = { { "conclusion", 2 },
                                             { "cancelled", 3 },
                                             { NULL, 0 } };

        scenario(*state, steps);
}

/* A kind of the config (draft_report) starts factual_accuracy and ends
 * followup, whose cancel_on names it; the case stays open. */
static void
test_custom_kind(void **state)
{
        static const struct step steps[] = { { "draft_report", 2 },
                                             { NULL, 0 } };

        scenario(*state, steps);
}

/* --- Refusals ---------------------------------------------------------- */

/*
 * For every kind (and a notification with --new-case) from the state of
 * the school's case `id` (0: none): where plan says the daemon refuses,
 * the daemon refuses, for the reason plan gives, and nothing changes.
 * Returns how many refusals were compared.
 */
static int
check_refusals(struct fx *f, json_int_t id)
{
        static const char *const kinds[] = {
                "notification", "pause",     "resume",       "conclusion",
                "deferred",     "cancelled", "draft_report",
        };
        json_t *before = id ? show(f, id) : NULL, *plan, *after;
        const char *state = id ? jstr(before, "state") : "none";
        struct proc_result r;
        char at[32];
        int n = 0;

        utc_text((time_t)f->at, at);
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                const char *why, *part;
                char *text, *save = NULL;

                r = cluster_ctl(&f->c, "plan", "--event", kinds[k], "--at", at,
                                "--state", state, "--json", NULL);
                if (r.status == 0) {
                        proc_result_free(&r);
                        continue;
                }
                plan = json_of(&r, 1, "plan");
                assert_string_equal(jstr(plan, "state"), state);
                assert_int_equal(json_array_size(jarr(plan, "alerts")), 0);
                assert_int_equal(json_array_size(jarr(plan, "cancels")), 0);
                why = jstr(plan, "refused");
                r = cluster_ctl(&f->c, "event", kinds[k], "--school", URN,
                                "--at", at, NULL);
                if (r.status != 1)
                        fail_msg("%s on a %s case: plan says refused (%s), "
                                 "the daemon's exit is %d",
                                 kinds[k], state, why, r.status);
                assert_string_equal(r.out, "");
                /* Plan says "the school ..." or "the case ...", the daemon
                 * names them and may add the case's number: each part of
                 * the reason after that must be in the daemon's. */
                if (strncmp(why, "the school ", 11) == 0)
                        why += 11;
                else if (strncmp(why, "the case ", 9) == 0)
                        why += 9;
                else
                        fail_msg("plan's refusal '%s' names neither", why);
                text = strdup(why);
                for (part = strtok_r(text, ";", &save); part != NULL;
                     part = strtok_r(NULL, ";", &save))
                        assert_contains(r.err, part);
                free(text);
                proc_result_free(&r);
                json_decref(plan);
                n++;
        }
        if (id != 0) {
                after = show(f, id);
                assert_true(json_equal(before, after));
                json_decref(after);
        }
        json_decref(before);
        return n;
}

/* Through every state a case takes: none, open, paused, concluded, and
 * none again once it is closed. */
static void
test_refusals(void **state)
{
        struct fx *f = *state;
        json_int_t c;

        /* none: all but a notification need a case. */
        assert_int_equal(check_refusals(f, 0), 6);
        c = check_event(f, 0, "notification", false, 0);
        /* open: notification (without --new-case), resume. */
        assert_int_equal(check_refusals(f, c), 2);
        check_event(f, c, "pause", false, 2);
        /* paused: notification, pause. */
        assert_int_equal(check_refusals(f, c), 2);
        check_event(f, c, "conclusion", false, 3);
        /* concluded: pause, resume, conclusion. */
        assert_int_equal(check_refusals(f, c), 3);
        check_event(f, c, "cancelled", false, 2);
        assert_int_equal(check_refusals(f, 0), 6);
        f->c.passed = true;
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_notification),
    CLUSTER_TEST(test_pause),
    CLUSTER_TEST(test_resume),
    CLUSTER_TEST(test_conclusion),
    CLUSTER_TEST(test_deferred),
    CLUSTER_TEST(test_cancelled),
    CLUSTER_TEST(test_custom_kind),
    CLUSTER_TEST(test_refusals),
})
