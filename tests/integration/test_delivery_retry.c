/*
 * Delivery end to end (delivery.h): Retries (5xx, 429 with Retry-After, a
 * transfer timeout), a 404 failed for good, a delivery given up after
 * max_attempts and after give_up_after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "delivery.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/*
 * Starts the solo channel with `script`; its delivery must be delivered at
 * the second attempt, the first request answered `first` and the second
 * 200, each carrying its attempt. Returns the requests (new reference).
 */
static json_t *
delivered_at_second(struct fx *f, const char *script, int first)
{
        json_t *d, *reqs;

        solo_start(f, script, NULL);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(jint(d, "attempts"), 2);
        assert_int_equal(json_array_size(reqs), 2);
        assert_int_equal(jint(json_array_get(reqs, 0), "status"), first);
        assert_int_equal(jint(json_array_get(reqs, 1), "status"), 200);
        check_attempts(reqs);
        json_decref(d);
        return reqs;
}

/* A 500, then a 200: delivered at the second attempt, the same key twice. */
static void
test_retry_500(void **state)
{
        struct fx *f = *state;

        json_decref(
            delivered_at_second(f, SOLO_PATH " sequence 500,200\n", 500));
        cluster_pass(&f->c);
}

/*
 * A 429 with Retry-After: 2, then a 200: the second try waits at least
 * the two seconds the server asked for (retry_base alone would be one).
 */
static void
test_retry_after(void **state)
{
        struct fx *f = *state;
        json_t *reqs = delivered_at_second(
            f, SOLO_PATH " sequence 429,200 header Retry-After 2\n", 429);

        assert_req_gap(reqs, 1, 2.0, "the 429's Retry-After of 2 s");
        json_decref(reqs);
        cluster_pass(&f->c);
}

/*
 * The server hangs past the worker's --timeout 2 on the first request:
 * that attempt is abandoned at 2 s and retried with the same key; the
 * server answers the retry, and the delivery is delivered.
 */
static void
test_timeout(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;

        solo_start(f, SOLO_PATH " hang 5\n", "2");
        json_decref(cluster_wait_requests(&f->c, SOLO_PATH, 1, WAIT_MS));
        cluster_httpsink_script(
            &f->c, NULL); /* the next request is answered at once */
        d = solo_settled(f, "delivered", &reqs);
        assert_true(json_array_size(reqs) >= 2);
        /* Each attempt is one request: no lease ran out meanwhile. */
        assert_int_equal(jint(d, "attempts"), json_array_size(reqs));
        assert_req_gap(reqs, 1, 2.0, "the 2 s timeout");
        check_attempts(reqs);
        json_decref(reqs);
        json_decref(d);
        cluster_pass(&f->c);
}

/* A 404 fails for good at once: one attempt, one request, no retry. */
static void
test_not_found(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs, *st;

        solo_start(f, SOLO_PATH " status 404\n", NULL);
        d = solo_settled(f, "failed", &reqs);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_contains(jstr(d, "last_error"), "404");
        assert_int_equal(json_array_size(reqs), 1);
        json_decref(reqs);
        /* Failed for good: the daemon counts it failed, not retried, and
         * holds nothing pending, sending or waiting to retry for it. */
        cluster_wait_settled(&f->c, 0, 1, 0);
        st = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_int_equal(jint(jobj(st, "dispatch"), "failed"), 1);
        assert_int_equal(jint(jobj(st, "dispatch"), "retried"), 0);
        json_decref(st);
        reqs = cluster_sink_requests(&f->c, SOLO_PATH);
        assert_int_equal(json_array_size(reqs), 1);
        json_decref(reqs);
        cluster_wait_settled(&f->c, 0, 1, 0);
        json_decref(d);
        cluster_pass(&f->c);
}

/*
 * Every answer a 500, delivery.max_attempts = 3: attempt 1 is retried
 * after retry_base (1 s, the jitter rounds away), attempt 2 after 2 s,
 * and attempt 3, the third, is the last: failed for good, "given up after
 * 3 attempts", three requests with the delivery's key and attempts 1, 2, 3.
 */
static void
test_max_attempts(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs, *st, *counts;
        char want[160];

        f->delivery = "max_attempts = 3;";
        write_conf(f);
        solo_start(f, SOLO_PATH " status 500\n", NULL);
        d = solo_settled(f, "failed", &reqs); /* keys, signatures */
        assert_int_equal(jint(d, "attempts"), 3);
        assert_true(strncmp(jstr(d, "last_error"),
                            "given up after 3 attempts: ", 27) == 0);
        assert_contains(jstr(d, "last_error"), "HTTP 500");
        assert_int_equal(json_array_size(reqs), 3);
        check_attempts(reqs);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(jint(json_array_get(reqs, i), "status"), 500);
        /* Lower bounds only: each retry waits at least its backoff. */
        assert_req_gap(reqs, 1, 1.0, "the first backoff of 1 s");
        assert_req_gap(reqs, 2, 2.0, "the second backoff of 2 s");
        /* Logged, with the channel. */
        snprintf(want, sizeof(want),
                 "delivery %s to 'solo' (webhook) given up after 3 attempts",
                 jstr(d, "id"));
        assert_int_equal(cluster_log_count(f->c.dlog, want), 1);
        /* Counted since start: two retries, then given up (not failed). */
        st = cluster_ctl_json(&f->c, "status", "--json", NULL);
        counts = jobj(st, "dispatch");
        assert_int_equal(jint(counts, "retried"), 2);
        assert_int_equal(jint(counts, "given_up"), 1);
        assert_int_equal(jint(counts, "failed"), 0);
        assert_int_equal(jint(counts, "delivered"), 0);
        assert_int_equal(jint(counts, "malformed"), 0);
        json_decref(st);
        json_decref(reqs);
        json_decref(d);
        cluster_pass(&f->c);
}

/* When the one alert of school `urn`'s case fired, as `show` gives it. */
static time_t
fired_at(struct fx *f, const char *urn)
{
        json_t *r =
            cluster_ctl_json(&f->c, "show", "--school", urn, "--json", NULL);
        json_t *alerts = jarr(jobj(r, "case"), "alerts");
        time_t t;

        assert_int_equal(json_array_size(alerts), 1);
        t = (time_t)rfc3339(jstr(json_array_get(alerts, 0), "fired"));
        json_decref(r);
        return t;
}

#define GIVE_UP_S 60 /* the least give_up_after the config allows */

#define RETRY_AFTER_S "30" /* what the sink asks for in Retry-After */

/*
 * delivery.give_up_after at its least, 60 s, max_attempts far off (100),
 * and every answer a 503 with Retry-After: 30. Worked out: attempt 1 at
 * the alert's firing F, answered at once: retried from the next whole
 * second plus 30 s, so attempt 2 comes at F + 31 or so, under 60 s:
 * retried again; attempt 3 comes 30 s after that, past F + 60: given up,
 * after 3 attempts. (retry_base alone, 1 s doubling, would make the count
 * depend on the jitter; 60 s is why this test takes a minute.)
 */
static void
test_give_up_after(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;
        time_t fired;

        f->delivery = "max_attempts = 100; give_up_after = 60;"; /* GIVE_UP_S */
        write_conf(f);
        solo_start(
            f, SOLO_PATH " status 503 header Retry-After " RETRY_AFTER_S "\n",
            NULL);
        d = solo_settled_within(f, "failed", &reqs,
                                (GIVE_UP_S + 2 * atoi(RETRY_AFTER_S)) * 1000);
        fired = fired_at(f, URN_SOLO);
        assert_int_equal(jint(d, "attempts"), 3);
        assert_true(strncmp(jstr(d, "last_error"),
                            "given up after 3 attempts: ", 27) == 0);
        assert_contains(jstr(d, "last_error"), "HTTP 503");
        assert_int_equal(json_array_size(reqs), 3);
        check_attempts(reqs);
        /* Not given up before: attempt 2 came, and was retried, within the
         * 60 s; given up at attempt 3, which came after them. */
        if (req_time(reqs, 1) - (double)fired >= GIVE_UP_S ||
            req_time(reqs, 2) - (double)fired < GIVE_UP_S)
                fail_msg("attempts 2 and 3 came %.3f s and %.3f s after the "
                         "alert fired, not before and after %d s",
                         req_time(reqs, 1) - (double)fired,
                         req_time(reqs, 2) - (double)fired, GIVE_UP_S);
        /* The daemon's own record: failed at least 60 s after firing. */
        assert_true(rfc3339(jstr(d, "updated")) - (int64_t)fired >= GIVE_UP_S);
        json_decref(reqs);
        json_decref(d);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_retry_500),
    CLUSTER_TEST(test_retry_after),
    CLUSTER_TEST(test_timeout),
    CLUSTER_TEST(test_not_found),
    CLUSTER_TEST(test_max_attempts),
    CLUSTER_TEST(test_give_up_after),
})
