/*
 * The daemon (daemon.h): acknowledging a case's rule stops its reminders
 * and escalations but those ack_keeps names; an escalation nobody
 * acknowledges fires to its own channels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reminders at +3 s and +5 s and at the deadline; escalations at +2 s to
 * leaders and +7 s to it. */
#define RULE_ACK                                                            \
        "{ name = \"drill\"; event = \"drill\"; action = \"Drill.\";\n"     \
        "    deadline = { working_days = 10; time = \"17:00\"; };\n"        \
        "    alerts = [ \"+3s\", \"+5s\", \"deadline\" ];\n"                \
        "    ack_keeps = [ \"deadline\" ];\n"                               \
        "    escalate = ( { at = \"+2s\"; channels = [ \"leaders\" ]; },\n" \
        "                 { at = \"+7s\"; channels = [ \"it\" ]; } ); }"

/* Records a drill now; returns its case. */
static json_int_t
drill(struct fx *f)
{
        char at[32];
        json_t *r;
        json_int_t id;

        utc_text(time(NULL), at);
        r = cluster_ctl_json_want(&f->c, 0, "event", "drill", "--school", URN,
                                  "--at", at, "--json", NULL);
        /* Three reminders and two escalations. */
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 5);
        id = jint(r, "case");
        json_decref(r);
        return id;
}

/* The case's alert of kind `kind` at `offset`; borrowed from show. */
static json_t *
find_alert(json_t *show, const char *kind, const char *offset)
{
        size_t i;
        json_t *a;

        json_array_foreach(jarr(member(show, "case"), "alerts"), i, a)
        {
                if (strcmp(jstr(a, "kind"), kind) == 0 &&
                    strcmp(jstr(a, "offset"), offset) == 0)
                        return a;
        }
        fail_msg("no %s at %s in the case", kind, offset);
        return NULL;
}

struct wait_state {
        struct fx *f;
        const char *kind, *offset, *state;
};

static bool
has_state(void *arg)
{
        struct wait_state *w = arg;
        json_t *show = cluster_ctl_json_want(&w->f->c, 0, "show", "--school",
                                             URN, "--json", NULL);
        bool got = strcmp(jstr(find_alert(show, w->kind, w->offset), "state"),
                          w->state) == 0;

        json_decref(show);
        return got;
}

static json_t *
ack(struct fx *f, const char *note)
{
        return cluster_ctl_json_want(&f->c, 0, "ack", "--school", URN, "--rule",
                                     "drill", "--note", note, "--json", NULL);
}

/*
 * Acknowledged before the first reminder: every reminder but the deadline's
 * (ack_keeps) and both escalations are cancelled; the deadline stays; a
 * second acknowledgement answers with the first's who and when.
 */
static void
test_ack_before(void **state)
{
        struct fx *f = *state;
        json_t *r, *r2, *show, *due_before;
        const char *offs[] = { "+3s", "+5s" };

        write_conf(f, NULL, RULE_ACK);
        daemon_start(f);
        open_case(f);
        drill(f);
        show = cluster_ctl_json_want(&f->c, 0, "show", "--school", URN,
                                     "--json", NULL);
        due_before = json_deep_copy(
            member(find_alert(show, "alert", "deadline"), "due"));
        json_decref(show);

        r = ack(f, "by phone, ref 123");
        assert_true(json_is_true(member(member(r, "ack"), "new")));
        assert_int_equal(jint(member(r, "ack"), "cancelled"), 4);
        assert_string_equal(jstr(member(r, "ack"), "note"),
                            "by phone, ref 123");
        /* ofsted-notifyctl's acknowledgement is its user's. */
        assert_int_equal(strncmp(jstr(member(r, "ack"), "by"), "unix:", 5), 0);
        r2 = ack(f, "again");
        assert_false(json_is_true(member(member(r2, "ack"), "new")));
        assert_string_equal(jstr(member(r2, "ack"), "by"),
                            jstr(member(r, "ack"), "by"));
        assert_string_equal(jstr(member(r2, "ack"), "at"),
                            jstr(member(r, "ack"), "at"));
        assert_string_equal(jstr(member(r2, "ack"), "note"),
                            "by phone, ref 123");

        show = cluster_ctl_json_want(&f->c, 0, "show", "--school", URN,
                                     "--json", NULL);
        for (size_t i = 0; i < 2; i++)
                assert_string_equal(
                    jstr(find_alert(show, "alert", offs[i]), "state"),
                    "cancelled");
        assert_string_equal(
            jstr(find_alert(show, "escalation", "+2s"), "state"), "cancelled");
        assert_string_equal(
            jstr(find_alert(show, "escalation", "+7s"), "state"), "cancelled");
        /* The deadline's reminder stays, and the deadline with it. */
        assert_string_equal(
            jstr(find_alert(show, "alert", "deadline"), "state"), "pending");
        assert_true(json_equal(
            member(find_alert(show, "alert", "deadline"), "due"), due_before));
        assert_int_equal(json_array_size(jarr(member(show, "case"), "acks")),
                         1);
        json_decref(show);
        json_decref(due_before);
        json_decref(r);
        json_decref(r2);
        f->c.passed = true;
}

/*
 * Nobody acknowledges: the first escalation fires to its own channel only;
 * acknowledged then, the second escalation is cancelled, not sent.
 */
static void
test_escalation_then_ack(void **state)
{
        struct fx *f = *state;
        struct wait_state w = { f, "escalation", "+2s", "fired" };
        json_t *hist, *show, *r, *d;
        size_t i, n = 0;

        write_conf(f, NULL, RULE_ACK);
        daemon_start(f);
        open_case(f);
        drill(f);
        if (!cluster_wait_until(has_state, &w, WAIT_MS))
                fail_msg("the +2s escalation did not fire");
        hist = cluster_ctl_json_want(&f->c, 0, "history", "--school", URN,
                                     "--json", NULL);
        json_array_foreach(jarr(hist, "deliveries"), i, d)
        {
                if (strcmp(jstr(d, "rule"), "drill") == 0 &&
                    strcmp(jstr(d, "offset"), "+2s") == 0) {
                        assert_string_equal(jstr(d, "channel"), "leaders");
                        n++;
                }
        }
        assert_int_equal(n, 1);
        json_decref(hist);

        r = ack(f, "seen");
        assert_true(json_is_true(member(member(r, "ack"), "new")));
        json_decref(r);
        show = cluster_ctl_json_want(&f->c, 0, "show", "--school", URN,
                                     "--json", NULL);
        assert_string_equal(
            jstr(find_alert(show, "escalation", "+7s"), "state"), "cancelled");
        assert_string_equal(
            jstr(find_alert(show, "escalation", "+2s"), "state"), "fired");
        json_decref(show);
        f->c.passed = true;
}

/* Acknowledgements and pending escalations survive kill -9; a rule the
 * case does not have is refused. */
static void
test_ack_durable(void **state)
{
        struct fx *f = *state;
        struct proc_result pr;
        json_t *show, *r;

        write_conf(f, NULL, RULE_ACK);
        daemon_start(f);
        open_case(f);
        drill(f);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGKILL), 9 + 128);
        daemon_start(f);
        show = cluster_ctl_json_want(&f->c, 0, "show", "--school", URN,
                                     "--json", NULL);
        assert_string_equal(
            jstr(find_alert(show, "escalation", "+7s"), "state"), "pending");
        json_decref(show);
        r = ack(f, "n");
        json_decref(r);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGKILL), 9 + 128);
        daemon_start(f);
        r = ack(f, "again");
        assert_false(json_is_true(member(member(r, "ack"), "new")));
        json_decref(r);
        pr = cluster_ctl(&f->c, "ack", "--school", URN, "--rule", "pause_limit",
                         NULL);
        assert_int_equal(pr.status, 1);
        assert_non_null(strstr(pr.err, "no alert of rule 'pause_limit'"));
        proc_result_free(&pr);
        f->c.passed = true;
}

CLUSTER_MAIN_GROUP(group_setup, NULL,
                   {
                       CLUSTER_TEST(test_ack_before),
                       CLUSTER_TEST(test_escalation_then_ack),
                       CLUSTER_TEST(test_ack_durable),
                   })
