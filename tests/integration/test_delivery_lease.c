/*
 * Delivery end to end (delivery.h): A lease that runs out on a live worker: its
 * late outcome, delivered recorded, retry ignored.
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
 * Waits for the solo job's second request, sent when its lease of
 * `lease_s` ran out on a live worker, and for the daemon's log of the
 * expiry. The lease ends `lease_s` after the whole second it was taken
 * in, so more than lease_s - 1 s after the first request, less the time
 * the job took to reach the sink.
 */
static void
wait_sent_again(struct fx *f, int lease_s)
{
        json_t *reqs = cluster_wait_requests(&f->c, SOLO_PATH, 2, WAIT_MS);

        assert_req_gap(reqs, 1, lease_s - 2, "the lease ran out");
        json_decref(reqs);
        cluster_wait_log(f->c.dlog,
                         "dispatch: 1 leases expired: back to pending", 1,
                         WAIT_MS);
}

/*
 * A live worker holds a job past its lease: --timeout 25 is above
 * delivery.lease (10 s), which the worker warns of and allows, and the
 * sink answers every request 200 only after 15 s. At 10 s the daemon puts
 * the job back to pending with its lease raised ("leases expired"); the
 * first worker, stalled now, gets no jobs, so it goes to a second worker
 * with the same key: JOB attempt 2. The first request's 200 comes back at
 * 15 s, from the previous holder, while the second is still out:
 * delivered is recorded all the same (it happened): one attempt, the
 * receiver's one answer recorded. The second's 200, at 25 s, from the
 * holder of the settled delivery, changes nothing: delivered once.
 */
static void
test_lease_late_delivered(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs, *st;
        char want[160];
        double hold = 15.0;

        solo_start(f, SOLO_PATH " delay 15000\n", "25");
        cluster_wait_log(f->c.wlog[0],
                         "--timeout is not below delivery.lease (10 s)", 1,
                         WAIT_MS);
        json_decref(cluster_wait_requests(&f->c, SOLO_PATH, 1, WAIT_MS));
        worker_start(f, 1, "25", 2);
        wait_sent_again(f, LEASE_S);
        d = solo_settled(f, "delivered", &reqs);
        json_decref(reqs);
        /* Both transfers end as delivered, the second 15 s after it was
         * sent, one by each worker; then look again. */
        snprintf(want, sizeof(want), "delivery %s: delivered\n", jstr(d, "id"));
        cluster_wait_log(f->c.wlog[0], want, 1, WAIT_MS);
        cluster_wait_log(f->c.wlog[1], want, 1, WAIT_MS);
        json_decref(d);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(json_array_size(reqs), 2);
        check_attempts(reqs);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_true(json_is_null(member(d, "last_error")));
        /* Recorded when the first answer came, not the second. */
        if (rfc3339(jstr(d, "updated")) <
                (int64_t)(req_time(reqs, 0) + hold) - 1 ||
            rfc3339(jstr(d, "updated")) >= (int64_t)(req_time(reqs, 1) + hold))
                fail_msg("recorded delivered at %s, not between the first "
                         "answer (%.3f) and the second (%.3f)",
                         jstr(d, "updated"), req_time(reqs, 0) + hold,
                         req_time(reqs, 1) + hold);
        snprintf(want, sizeof(want),
                 "delivery %s to 'solo' (webhook) delivered", jstr(d, "id"));
        assert_int_equal(cluster_log_count(f->c.dlog, want), 1);
        /* One lease ran out; no worker was lost; the first was stalled
         * until its late outcome came. */
        assert_int_equal(cluster_log_count(f->c.dlog, "leases expired"), 1);
        assert_int_equal(cluster_log_count(f->c.dlog, "went silent"), 0);
        assert_int_equal(cluster_log_count(f->c.dlog, "is gone"), 0);
        assert_int_equal(cluster_log_count(f->c.dlog, "reports again"), 1);
        st = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_int_equal(jint(jobj(st, "workers"), "webhook"), 2);
        assert_int_equal(json_array_size(jarr(st, "stalled")), 0);
        assert_int_equal(jint(jobj(st, "deliveries"), "delivered"), 1);
        json_decref(st);
        assert_true(proc_alive(f->c.worker[0]));
        assert_true(proc_alive(f->c.worker[1]));
        json_decref(reqs);
        json_decref(d);
        cluster_pass(&f->c);
}

#define LATE_LEASE_S 15

/*
 * As test_lease_late_delivered, but the old lease's outcome is a retry,
 * which is ignored. delivery.lease is 15 s, --timeout 30; the first
 * request gets a 500 after 20 s; the second, sent (by the second worker:
 * the first is stalled) when the lease runs out at 15 s, a 200 after
 * 10 s. So the 500 comes back at 20 s, while the second lease is out:
 * stale, ignored (no retry, no third request, no attempt counted); the
 * 200 at 25 s delivers it, before the second lease would run out at 30 s.
 */
static void
test_lease_late_retry(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;
        char want[160], *log, *stale, *done;
        long long old_lease, new_lease;

        f->lease = LATE_LEASE_S;
        write_conf(f);
        solo_start(f, SOLO_PATH " status 500 delay 20000\n", "30");
        json_decref(cluster_wait_requests(&f->c, SOLO_PATH, 1, WAIT_MS));
        worker_start(f, 1, "30", 2);
        cluster_httpsink_script(&f->c, SOLO_PATH " delay 10000\n");
        wait_sent_again(f, LATE_LEASE_S);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(json_array_size(reqs), 2);
        assert_int_equal(jint(json_array_get(reqs, 0), "status"), 500);
        assert_int_equal(jint(json_array_get(reqs, 1), "status"), 200);
        check_attempts(reqs);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_true(json_is_null(member(d, "last_error")));

        /* The worker reported the 500 as a retry, under lease 1; the
         * daemon, at a higher lease by then, ignored it, and only then
         * took the 200 of the new lease. */
        snprintf(want, sizeof(want), "delivery %s: retry: HTTP 500",
                 jstr(d, "id"));
        assert_int_equal(cluster_log_count(f->c.wlog[0], want), 1);
        log = slurp(f->c.dlog);
        snprintf(want, sizeof(want), "stale retry outcome for %s (lease ",
                 jstr(d, "id"));
        stale = strstr(log, want);
        if (stale == NULL)
                fail_msg("the daemon did not log '%s...'", want);
        if (sscanf(stale + strlen(want), "%lld, now %lld)", &old_lease,
                   &new_lease) != 2)
                fail_msg("no lease numbers after '%s'", want);
        assert_int_equal(old_lease, 1);
        assert_true(new_lease > old_lease);
        snprintf(want, sizeof(want),
                 "delivery %s to 'solo' (webhook) delivered", jstr(d, "id"));
        done = strstr(log, want);
        assert_non_null(done);
        assert_true(stale < done);
        assert_int_equal(occurrences(log, want), 1);
        assert_int_equal(occurrences(log, "leases expired"), 1);
        free(log);
        json_decref(reqs);
        json_decref(d);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_lease_late_delivered),
    CLUSTER_TEST(test_lease_late_retry),
})
