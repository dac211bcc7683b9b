/*
 * The daemon (daemon.h): a case's life (notification to conclusion, the daemon
 * killed on the way) and a new case for the same school.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* The concatenation of the arrays member `key` of a and b (new array). */
static json_t *
joined(json_t *a, json_t *b, const char *key)
{
        json_t *out = json_array();

        json_array_extend(out, jarr(a, key));
        if (b != NULL)
                json_array_extend(out, jarr(b, key));
        return out;
}

/* Whether `alerts` has one of rule `rule`. */
static bool
has_rule(json_t *alerts, const char *rule)
{
        size_t i;
        json_t *a;

        json_array_foreach(alerts, i, a)
        {
                if (strcmp(jstr(a, "rule"), rule) == 0)
                        return true;
        }
        return false;
}

/* The alerts of `alerts` in state `st` ("pending"...), new array. */
static json_t *
in_state(json_t *alerts, const char *st)
{
        json_t *out = json_array(), *a;
        size_t i;

        json_array_foreach(alerts, i, a)
        {
                if (strcmp(jstr(a, "state"), st) == 0)
                        json_array_append(out, a);
        }
        return out;
}

/* The alert of `alerts` with id `id`, or NULL. */
static json_t *
alert_by_id(json_t *alerts, json_int_t id)
{
        json_t *a;
        size_t i;

        json_array_foreach(alerts, i, a)
        {
                if (jint(a, "id") == id)
                        return a;
        }
        return NULL;
}

/* Fails unless `alerts` has one of `rule` at `offset` due at `at`, in
 * state `st` (NULL: any state). */
static void
assert_alert(json_t *alerts, const char *rule, const char *offset, int64_t at,
             const char *st)
{
        json_t *a;
        size_t i;

        json_array_foreach(alerts, i, a)
        {
                if (strcmp(jstr(a, "rule"), rule) == 0 &&
                    strcmp(jstr(a, "offset"), offset) == 0 &&
                    jtime(a, "at") == at &&
                    (st == NULL || strcmp(jstr(a, "state"), st) == 0))
                        return;
        }
        fail_msg("no %s alert of %s %s at %lld", st != NULL ? st : "", rule,
                 offset, (long long)at);
}

/* --- The tests --------------------------------------------------------- */

/*
 * A notification schedules what the planner says; the alerts survive
 * kill -9; pause adds both pause rules, resume ends them (their cancel_on),
 * cancel ends everything and closes the case.
 */
static void
test_case_lifecycle_and_kill(void **state)
{
        struct fx *f = *state;
        time_t t0 = time(NULL);
        char at[4][32], num[32];
        json_t *pn, *pp, *pr, *r, *up, *up2, *show, *show2, *all, *a;
        json_int_t id;
        char *want;
        size_t i;

        for (int k = 0; k < 4; k++)
                utc_text(t0 + 3600 * (k + 1), at[k]);
        write_conf(f, NULL, NULL);
        daemon_start(f);

        /* The oracle: the notification's own "event" alert, an hour on. */
        pn = cluster_ctl_json_want(&f->c, 0, "plan", "--event", "notification",
                                   "--at", at[0], "--json", NULL);
        assert_true(json_array_size(jarr(pn, "alerts")) >= 1);
        json_array_foreach(jarr(pn, "alerts"), i, a)
        {
                assert_string_equal(jstr(a, "rule"), "deferral_cutoff");
                if (strcmp(jstr(a, "offset"), "event") == 0)
                        assert_true(jtime(a, "at") == t0 + 3600);
        }

        r = cluster_ctl_json_want(&f->c, 0, "notify", "--school", URN, "--at",
                                  at[0], "--json", NULL);
        assert_string_equal(jstr(r, "state"), "open");
        id = jint(r, "case");
        json_decref(r);
        snprintf(num, sizeof(num), "%lld", (long long)id);

        want = alert_keys(jarr(pn, "alerts"), time(NULL), NULL, NULL);
        assert_string_not_equal(want, "");
        up = upcoming_is(f, want);
        json_array_foreach(jarr(up, "alerts"), i, a)
        {
                assert_true(jint(a, "case") == id);
                assert_string_equal(jstr(a, "school"), URN);
        }
        show = cluster_ctl_json_want(&f->c, 0, "show", "--case", num, "--json",
                                     NULL);

        /* kill -9: nothing to flush, yet nothing is lost or doubled. */
        assert_int_equal(cluster_daemon_stop(&f->c, SIGKILL), 128 + SIGKILL);
        daemon_start(f);
        up2 = cluster_ctl_json_want(&f->c, 0, "upcoming", "--json", NULL);
        assert_true(json_equal(up, up2));
        show2 = cluster_ctl_json_want(&f->c, 0, "show", "--case", num, "--json",
                                      NULL);
        assert_true(json_equal(member(member(show, "case"), "alerts"),
                               member(member(show2, "case"), "alerts")));
        json_decref(up2);
        json_decref(show);
        json_decref(show2);

        /* pause starts both pause rules. */
        pp = cluster_ctl_json_want(&f->c, 0, "plan", "--event", "pause", "--at",
                                   at[1], "--json", NULL);
        assert_true(has_rule(jarr(pp, "alerts"), "pause_expected"));
        assert_true(has_rule(jarr(pp, "alerts"), "pause_limit"));
        r = cluster_ctl_json_want(&f->c, 0, "pause", "--school", URN, "--at",
                                  at[1], "--json", NULL);
        assert_string_equal(jstr(r, "state"), "paused");
        json_decref(r);
        all = joined(pn, pp, "alerts");
        free(want);
        want = alert_keys(all, time(NULL), NULL, NULL);
        json_decref(all);
        json_decref(up);
        up = upcoming_is(f, want);

        /* resume ends them: both name it in cancel_on. */
        pr = cluster_ctl_json_want(&f->c, 0, "plan", "--event", "resume",
                                   "--at", at[2], "--json", NULL);
        assert_true(has_string(jarr(pr, "cancels"), "pause_expected"));
        assert_true(has_string(jarr(pr, "cancels"), "pause_limit"));
        r = cluster_ctl_json_want(&f->c, 0, "resume", "--school", URN, "--at",
                                  at[2], "--json", NULL);
        assert_string_equal(jstr(r, "state"), "open");
        assert_true(jint(r, "cancelled") ==
                    (json_int_t)json_array_size(jarr(pp, "alerts")));
        json_decref(r);
        all = joined(up, pr, "alerts");
        free(want);
        want = alert_keys(all, time(NULL), NULL, jarr(pr, "cancels"));
        json_decref(all);
        json_decref(up);
        up = upcoming_is(f, want);
        show = cluster_ctl_json_want(&f->c, 0, "show", "--case", num, "--json",
                                     NULL);
        json_array_foreach(jarr(member(show, "case"), "alerts"), i, a)
        {
                if (strncmp(jstr(a, "rule"), "pause_", 6) == 0)
                        assert_string_equal(jstr(a, "state"), "cancelled");
        }
        json_decref(show);

        /* cancel: every pending alert of the case goes, the case closes. */
        r = cluster_ctl_json_want(&f->c, 0, "cancel", "--school", URN, "--at",
                                  at[3], "--json", NULL);
        assert_string_equal(jstr(r, "state"), "closed");
        assert_true(jint(r, "cancelled") ==
                    (json_int_t)json_array_size(jarr(up, "alerts")));
        json_decref(r);
        json_decref(up);
        up = cluster_ctl_json_want(&f->c, 0, "upcoming", "--json", NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 0);
        show = cluster_ctl_json_want(&f->c, 0, "show", "--case", num, "--json",
                                     NULL);
        assert_string_equal(jstr(member(show, "case"), "state"), "closed");
        assert_true(jtime(member(show, "case"), "closed") >= t0);
        json_array_foreach(jarr(member(show, "case"), "alerts"), i, a)
        {
                assert_string_equal(jstr(a, "state"), "cancelled");
        }
        json_decref(show);
        r = cluster_ctl_json_want(&f->c, 0, "list", "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "cases")), 0);
        json_decref(r);
        r = cluster_ctl_json_want(&f->c, 0, "list", "--all", "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "cases")), 1);
        assert_true(jint(json_array_get(jarr(r, "cases"), 0), "case") == id);
        json_decref(r);

        free(want);
        json_decref(up);
        json_decref(pn);
        json_decref(pp);
        json_decref(pr);
        f->c.passed = true;
}

/*
 * `notify --new-case`: a second notification for a school whose case is
 * open or paused is refused (exit 1, the reason on stderr, nothing
 * changed); with --new-case the old case closes, every alert it had
 * pending is cancelled, and a new case opens with the alerts the planner
 * gives for the new notification.
 */
static void
test_new_case(void **state)
{
        struct fx *f = *state;
        time_t t0 = time(NULL);
        char at1[32], atp[32], at2[32], num1[32], num2[32], needle[128];
        json_t *pn1, *pp, *pn2, *all, *r, *show, *up, *up2, *old, *pend, *a;
        const char *states[2] = { "an open", "a paused" };
        struct proc_result pr;
        json_int_t id1, id2;
        char *want, *got;
        size_t i, npend;

        utc_text(t0 + 600, at1);
        utc_text(t0 + 900, atp);
        utc_text(t0 + 1200, at2);
        write_conf(f, NULL, RULE_FOLLOWUP);
        daemon_start(f);

        r = cluster_ctl_json_want(&f->c, 0, "notify", "--school", URN, "--at",
                                  at1, "--json", NULL);
        assert_string_equal(jstr(r, "state"), "open");
        id1 = jint(r, "case");
        json_decref(r);
        snprintf(num1, sizeof(num1), "%lld", (long long)id1);

        /* Refused while open, and while paused; nothing changes. */
        for (i = 0; i < 2; i++) {
                if (i == 1) {
                        r = cluster_ctl_json_want(&f->c, 0, "pause", "--school",
                                                  URN, "--at", atp, "--json",
                                                  NULL);
                        assert_string_equal(jstr(r, "state"), "paused");
                        json_decref(r);
                }
                up =
                    cluster_ctl_json_want(&f->c, 0, "upcoming", "--json", NULL);
                pr = cluster_ctl(&f->c, "notify", "--school", URN, "--at", at2,
                                 NULL);
                assert_int_equal(pr.status, 1);
                assert_string_equal(pr.out, "");
                snprintf(needle, sizeof(needle), "already has %s case (%s)",
                         states[i], num1);
                assert_contains(pr.err, needle);
                assert_contains(pr.err, "--new-case");
                proc_result_free(&pr);
                up2 =
                    cluster_ctl_json_want(&f->c, 0, "upcoming", "--json", NULL);
                assert_true(json_equal(up, up2));
                json_decref(up);
                json_decref(up2);
        }

        /* What the old case has pending: what the planner says the
         * notification and the pause schedule, from now on. */
        pn1 = cluster_ctl_json_want(&f->c, 0, "plan", "--event", "notification",
                                    "--at", at1, "--json", NULL);
        pp = cluster_ctl_json_want(&f->c, 0, "plan", "--event", "pause", "--at",
                                   atp, "--json", NULL);
        show = cluster_ctl_json_want(&f->c, 0, "show", "--case", num1, "--json",
                                     NULL);
        old = json_incref(jarr(member(show, "case"), "alerts"));
        json_decref(show);
        pend = in_state(old, "pending");
        npend = json_array_size(pend);
        all = joined(pn1, pp, "alerts");
        want = alert_keys(all, time(NULL), NULL, NULL);
        got = alert_keys(pend, INT64_MIN, NULL, NULL);
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(all);
        assert_alert(pend, "followup", "+1h", t0 + 600 + 3600, NULL);
        assert_alert(pend, "followup", "+2h", t0 + 600 + 7200, NULL);
        assert_true(has_rule(pend, "pause_limit"));

        /* --new-case: the old case closes, its pending alerts go. */
        r = cluster_ctl_json_want(&f->c, 0, "notify", "--school", URN, "--at",
                                  at2, "--new-case", "--json", NULL);
        assert_string_equal(jstr(r, "state"), "open");
        id2 = jint(r, "case");
        assert_true(id2 != id1);
        assert_true(jint(r, "cancelled") == (json_int_t)npend);
        pn2 = cluster_ctl_json_want(&f->c, 0, "plan", "--event", "notification",
                                    "--at", at2, "--json", NULL);
        want = alert_keys(jarr(pn2, "alerts"), time(NULL), NULL, NULL);
        got = alert_keys(jarr(r, "scheduled"), INT64_MIN, NULL, NULL);
        assert_string_equal(got, want);
        free(got);
        json_decref(r);
        snprintf(num2, sizeof(num2), "%lld", (long long)id2);

        show = cluster_ctl_json_want(&f->c, 0, "show", "--case", num1, "--json",
                                     NULL);
        assert_string_equal(jstr(member(show, "case"), "state"), "closed");
        assert_true(jtime(member(show, "case"), "closed") >= t0);
        r = in_state(jarr(member(show, "case"), "alerts"), "pending");
        assert_int_equal(json_array_size(r), 0);
        json_decref(r);
        json_array_foreach(pend, i, a)
        {
                json_t *now = alert_by_id(jarr(member(show, "case"), "alerts"),
                                          jint(a, "id"));

                assert_non_null(now);
                assert_string_equal(jstr(now, "state"), "cancelled");
        }
        json_decref(show);

        show = cluster_ctl_json_want(&f->c, 0, "show", "--case", num2, "--json",
                                     NULL);
        assert_string_equal(jstr(member(show, "case"), "state"), "open");
        assert_true(json_is_null(member(member(show, "case"), "closed")));
        r = in_state(jarr(member(show, "case"), "alerts"), "pending");
        got = alert_keys(r, INT64_MIN, NULL, NULL);
        assert_string_equal(got, want);
        free(got);
        assert_alert(r, "followup", "+1h", t0 + 1200 + 3600, "pending");
        assert_alert(r, "followup", "+2h", t0 + 1200 + 7200, "pending");
        json_decref(r);
        json_decref(show);

        /* upcoming: the new case's alerts, none of the old one's. */
        up = upcoming_is(f, want);
        json_array_foreach(jarr(up, "alerts"), i, a)
        {
                assert_true(jint(a, "case") == id2);
        }
        json_decref(up);

        r = cluster_ctl_json_want(&f->c, 0, "list", "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "cases")), 1);
        a = json_array_get(jarr(r, "cases"), 0);
        assert_true(jint(a, "case") == id2);
        assert_string_equal(jstr(a, "state"), "open");
        json_decref(r);
        r = cluster_ctl_json_want(&f->c, 0, "list", "--all", "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "cases")), 2);
        json_array_foreach(jarr(r, "cases"), i, a)
        {
                assert_string_equal(jstr(a, "state"),
                                    jint(a, "case") == id1 ? "closed" : "open");
        }
        json_decref(r);

        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        free(want);
        json_decref(old);
        json_decref(pend);
        json_decref(pn1);
        json_decref(pp);
        json_decref(pn2);
        f->c.passed = true;
}

CLUSTER_MAIN_GROUP(group_setup, NULL,
                   {
                       CLUSTER_TEST(test_case_lifecycle_and_kill),
                       CLUSTER_TEST(test_new_case),
                   })
