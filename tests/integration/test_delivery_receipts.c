/*
 * A Pushover emergency's receipt, end to end (phone.h's channels): the
 * worker that delivered it polls it until someone acknowledges it in the
 * app, which acknowledges the rule as pushover:<their key>, once, with
 * its audit entry; through a daemon that is down when it comes; and,
 * held by the scheduler (WATCH), by another worker when its own is
 * killed, but not once it has expired. No secret may appear in any log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "phone.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/*
 * The script of test_receipt: Pushover answers each message with a
 * receipt, whose poll says `acked` (then by PO_MEMBER at `at`), or not
 * yet; the SMS gateways accept.
 */
static void
receipt_script(struct cluster *c, bool acked, long long at)
{
        char script[1024];

        snprintf(script, sizeof(script),
                 "/1/messages.json status 200 header Content-Type "
                 "application/json body {\"status\":1,\"request\":"
                 "\"647d2300\",\"receipt\":\"" RECEIPT "\"}\n"
                 "/1/receipts/ status 200 header Content-Type "
                 "application/json body {\"status\":1,\"acknowledged\":%d,"
                 "\"acknowledged_at\":%lld,\"acknowledged_by\":\"%s\","
                 "\"acknowledged_by_device\":\"iphone\","
                 "\"last_delivered_at\":0,\"expired\":0,"
                 "\"expires_at\":4102444800,\"called_back\":0,"
                 "\"called_back_at\":0,\"request\":\"647d2300\"}\n" TWILIO_PATH
                 " status 201 body {\"sid\":\"SM01\",\"status\":"
                 "\"queued\"}\n/api/sendsms/json status 200 body "
                 "{\"code\":0,\"description\":\"OK\"}\n",
                 acked ? 1 : 0, acked ? at : 0LL, acked ? PO_MEMBER : "");
        cluster_httpsink_script(c, script);
}

/* Starts the cluster with Pushover's receipts not yet acknowledged, and
 * opens a case whose drill rule alerts and escalates. */
static void
start_drill(struct cluster *c)
{
        json_t *r;

        phone_start(c, NULL);
        receipt_script(c, false, 0);
        r = cluster_ctl_json(c, "event", "notification", "--school", URN,
                             "--json", NULL);
        json_decref(r);
        r = cluster_ctl_json(c, "event", "drill", "--school", URN, "--json",
                             NULL);
        json_decref(r);
}

/* The case of school URN, as `show` has it; caller frees. */
static json_t *
show_case(struct cluster *c)
{
        json_t *show = cluster_ctl_json_want(c, 0, "show", "--school", URN,
                                             "--json", NULL);
        json_t *cs = json_incref(jobj(show, "case"));

        json_decref(show);
        return cs;
}

static bool
is_acked(void *arg)
{
        json_t *cs = show_case(arg);
        bool acked = json_array_size(jarr(cs, "acks")) > 0;

        json_decref(cs);
        return acked;
}

/*
 * The rule acknowledged once, as pushover:PO_MEMBER, and its later
 * reminder (-60m) cancelled.
 */
static void
assert_acked_by_member(struct cluster *c)
{
        json_t *cs = show_case(c), *a;
        size_t i;
        bool found = false;

        assert_int_equal(json_array_size(jarr(cs, "acks")), 1);
        a = json_array_get(jarr(cs, "acks"), 0);
        assert_string_equal(jstr(a, "rule"), "drill");
        assert_string_equal(jstr(a, "by"), "pushover:" PO_MEMBER);
        json_array_foreach(jarr(cs, "alerts"), i, a)
        {
                if (strcmp(jstr(a, "offset"), "-60m") != 0)
                        continue;
                assert_string_equal(jstr(a, "state"), "cancelled");
                found = true;
        }
        assert_true(found);
        json_decref(cs);
}

/*
 * A Pushover emergency's receipt: the worker polls it (a GET with the app
 * token, no sooner than 5 s apart), not acknowledged the first time; once
 * a group member acknowledges it at Pushover, the rule is acknowledged as
 * pushover:MEMBER, and its later reminder is cancelled.
 */
static void
test_receipt(void **state)
{
        struct cluster *c = *state;
        json_t *r, *polls;
        const char *path;

        start_drill(c);
        polls = cluster_wait_requests(c, "/1/receipts/", 1, WAIT_MS);
        assert_true(json_array_size(polls) >= 1);
        r = json_array_get(polls, 0);
        assert_string_equal(jstr(r, "method"), "GET");
        path = jstr(r, "path");
        assert_string_equal(path, "/1/receipts/" RECEIPT ".json?token=" PO_APP);
        json_decref(polls);
        assert_false(is_acked(c));

        receipt_script(c, true, (long long)time(NULL));
        if (!cluster_wait_until(is_acked, c, WAIT_MS))
                fail_msg("the receipt's acknowledgement never acknowledged "
                         "the rule");
        assert_acked_by_member(c);
        /* The token travels in the poll's URL, never into a log. */
        phone_finish(c);
}

/* How many acknowledgements of rule drill by pushover:PO_MEMBER the
 * audit trail holds, written by the daemon. */
static int
audited(struct cluster *c)
{
        json_t *r = cluster_ctl_json(c, "audit", "--school", URN, "--json",
                                     NULL),
               *e;
        size_t i;
        int n = 0;

        json_array_foreach(jarr(r, "audit"), i, e)
        {
                n += strcmp(jstr(e, "action"), "ack") == 0 &&
                     strcmp(jstr(e, "source"), "daemon") == 0 &&
                     strcmp(jstr(e, "actor"), "pushover:" PO_MEMBER) == 0 &&
                     strcmp(jstr(e, "detail"), "drill") == 0;
        }
        json_decref(r);
        return n;
}

/*
 * The receipt's acknowledgement comes while the daemon is down: the
 * worker keeps its RECEIPT and sends it again until the daemon, started
 * again, acknowledges it; the rule is acknowledged once, with one audit
 * entry, however many receipts (the alert's and its escalation's) say it.
 */
static void
test_receipt_daemon_down(void **state)
{
        struct cluster *c = *state;
        json_t *cs, *a;
        int kept;

        start_drill(c);
        /* The alert to five channels and its escalation to two: every
         * Pushover message delivered, its receipt polled. */
        cluster_wait_settled(c, 7, 0, WAIT_MS);
        kept = cluster_log_count(c->wlog[0], "pushover emergency receipt");
        assert_true(kept >= 1);
        json_decref(cluster_wait_requests(c, "/1/receipts/", 1, WAIT_MS));

        assert_int_equal(cluster_daemon_stop(c, SIGTERM), 0);
        receipt_script(c, true, (long long)time(NULL));
        /* The worker has every acknowledgement, and no daemon to tell. */
        cluster_wait_log(c->wlog[0], "acknowledged at Pushover by", kept,
                         WAIT_MS);

        cluster_daemon_start(c, NULL);
        if (!cluster_wait_until(is_acked, c, WAIT_MS))
                fail_msg("the acknowledgement made at Pushover while the "
                         "daemon was down was lost");
        /* Every RECEIPT taken, the repeats of the first included. */
        cluster_wait_log(c->wlog[0], "the scheduler has its receipt", kept,
                         WAIT_MS);
        cs = show_case(c);
        assert_int_equal(json_array_size(jarr(cs, "acks")), 1);
        a = json_array_get(jarr(cs, "acks"), 0);
        assert_string_equal(jstr(a, "rule"), "drill");
        assert_string_equal(jstr(a, "by"), "pushover:" PO_MEMBER);
        json_decref(cs);
        assert_int_equal(audited(c), 1);
        phone_finish(c);
}

/* Worker slot 1, a webhook worker like slot 0's. */
static void
start_worker_1(struct cluster *c)
{
        static const char *const args[] = { "--timeout", "8", NULL };

        cluster_worker_start(c, 1, "webhook", NULL, args);
}

/* The alert and its escalation delivered, the emergency's receipt kept
 * by worker slot 0. */
static void
wait_receipt(struct cluster *c)
{
        cluster_wait_settled(c, 7, 0, WAIT_MS);
        assert_true(
            cluster_log_count(c->wlog[0], "pushover emergency receipt") >= 1);
}

/*
 * The worker that polled the emergency's receipt is killed (SIGKILL) and
 * another started: the scheduler, which kept the receipt with its
 * delivery, hands it to the new worker, which polls it; acknowledged at
 * Pushover, the rule is acknowledged once as pushover:MEMBER, with one
 * audit entry, and its later reminder is cancelled.
 */
static void
test_receipt_worker_killed(void **state)
{
        struct cluster *c = *state;
        int kept;

        start_drill(c);
        wait_receipt(c);
        assert_int_not_equal(cluster_worker_stop(c, 0, SIGKILL), -1);
        receipt_script(c, true, (long long)time(NULL));
        start_worker_1(c);
        if (!cluster_wait_until(is_acked, c, WAIT_MS))
                fail_msg("the receipt of a killed worker was never polled "
                         "again");
        /* Every receipt slot 0 kept (the mock gives one to each message)
         * handed to slot 1 once, and its RECEIPT taken. */
        kept = cluster_log_count(c->wlog[0], "pushover emergency receipt");
        cluster_wait_log(c->wlog[1], "the scheduler has its receipt", kept,
                         WAIT_MS);
        assert_int_equal(
            cluster_log_count(c->wlog[1], "polling its receipt '" RECEIPT "'"),
            kept);
        assert_acked_by_member(c);
        assert_int_equal(audited(c), 1);
        phone_finish(c);
}

/*
 * A receipt past its expiry is not handed out: with the scheduler
 * stopped, the worker is killed; the scheduler started again two hours
 * on (libfaketime; the channel's expire is an hour) has no receipt for
 * the new worker to poll.
 */
static void
test_receipt_expired(void **state)
{
        static const char pass[] = "Pushover receipts to poll",
                          none[] = ": 0 Pushover receipts to poll: 0 polled, "
                                   "0 handed out";
        struct cluster *c = *state;
        const char *old = getenv("ASAN_OPTIONS");
        char preload[PATH_MAX + 16], asan[256];
        char *env[] = { preload,
                        asan,
                        "FAKETIME=+7200",
                        "FAKETIME_NO_CACHE=1",
                        "DONT_FAKE_MONOTONIC=1",
                        "NO_FAKE_STAT=1",
                        NULL };
        int passes, nones;

        snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", FAKETIME_LIBRARY);
        snprintf(asan, sizeof(asan),
                 "ASAN_OPTIONS=%s%sverify_asan_link_order=0", old ? old : "",
                 old && *old ? ":" : "");
        start_drill(c);
        wait_receipt(c);
        assert_int_equal(cluster_daemon_stop(c, SIGTERM), 0);
        assert_int_not_equal(cluster_worker_stop(c, 0, SIGKILL), -1);
        passes = cluster_log_count(c->dlog, pass);
        nones = cluster_log_count(c->dlog, none);
        cluster_daemon_start(c, env);
        start_worker_1(c);
        /* The new scheduler's pass when the new worker says READY. */
        cluster_wait_log(c->dlog, pass, passes + 1, WAIT_MS);
        assert_int_equal(cluster_log_count(c->dlog, pass), passes + 1);
        assert_int_equal(cluster_log_count(c->dlog, none), nones + 1);
        assert_int_equal(cluster_log_count(c->wlog[1], "polling its receipt"),
                         0);
        phone_finish(c);
}
CLUSTER_MAIN({
    PHONE_TEST(test_receipt),
    PHONE_TEST(test_receipt_daemon_down),
    PHONE_TEST(test_receipt_worker_killed),
    PHONE_TEST(test_receipt_expired),
})
