/*
 * Delivery end to end (delivery.h): At least once delivery through kill -9 of a
 * worker, of the daemon and of one of two workers.
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
 * kill -9 of the worker with 200 deliveries on the way (credit for 250;
 * the sink holds each request 5 s): a new worker sends what the dead one
 * held once the daemon notices (silence or lease, 10 s). Every delivery
 * reaches the sink, those sent twice with the same key.
 */
static void
test_kill_worker(void **state)
{
        struct fx *f = *state;
        json_t *inflight, *seen = NULL, *r;
        double first = 1e300, killed;
        size_t i;

        cluster_httpsink_script(&f->c, "/bulk/ delay 5000\n");
        cluster_daemon_start(&f->c, NULL);
        f->credit = "250";
        worker_start(f, 0, NULL, 1);
        f->credit = NULL;
        record_bulk(f, 2);
        inflight =
            cluster_wait_requests(&f->c, "/bulk/", 2 * BULK_PER_EVENT, WAIT_MS);
        assert_int_equal(json_array_size(inflight), 2 * BULK_PER_EVENT);
        assert_int_equal(cluster_worker_stop(&f->c, 0, SIGKILL), 128 + SIGKILL);
        killed = real_s();
        /* Its connection closed: the daemon forgets it at its next
         * heartbeat, not after 10 s of silence. */
        cluster_wait_log(f->c.dlog, "is gone (its connection closed)", 1,
                         WAIT_MS);
        cluster_httpsink_script(&f->c, NULL);
        worker_start(f, 1, NULL, -1);
        cluster_wait_settled(&f->c, 2 * BULK_PER_EVENT, 0, WAIT_MS);
        check_bulk(f, 2, &seen);
        json_array_foreach(inflight, i, r)
        {
                double t = json_real_value(member(r, "time"));

                first = t < first ? t : first;
        }
        /* None had its answer before the kill: each was sent again. */
        if (killed < first + 5.0) {
                json_array_foreach(inflight, i, r)
                {
                        const char *id = header(r, "idempotency-key");

                        if (jint(seen, id) < 2)
                                fail_msg("delivery %s, in flight at the "
                                         "kill, reached the sink once",
                                         id);
                }
        } else {
                fprintf(stderr,
                        "# the kill came %.1f s after the first "
                        "request: not checking the resends\n",
                        killed - first);
        }
        assert_true(proc_alive(f->c.worker[1]));
        json_decref(seen);
        json_decref(inflight);
        cluster_pass(&f->c);
}

/*
 * Fails if more than `max` of `reqs` overlapped: the sink holds each
 * request `hold` seconds before it answers, so the requests that arrived
 * in the `hold` seconds up to one (itself included) were all still open
 * when it arrived.
 */
static void
check_overlap(json_t *reqs, double hold, size_t max)
{
        json_t *r, *q;
        size_t i, j;

        json_array_foreach(reqs, i, r)
        {
                double t = json_real_value(member(r, "time"));
                size_t open = 0;

                json_array_foreach(reqs, j, q)
                {
                        double u = json_real_value(member(q, "time"));

                        open += u > t - hold && u <= t;
                }
                if (open > max)
                        fail_msg("at least %zu requests open at once, "
                                 "over the worker's credit of %zu",
                                 open, max);
        }
}

/*
 * kill -9 of the daemon with 100 deliveries on the way (the sink holds
 * each request 5 s): restarted on the same state, it takes the running
 * worker's outcomes, says HELLO, the worker says READY again (offering
 * only the credit it has left), and everything ends delivered.
 */
static void
test_kill_daemon(void **state)
{
        struct fx *f = *state;
        json_t *reqs;
        pid_t worker;

        cluster_httpsink_script(&f->c, "/bulk/ delay 5000\n");
        cluster_daemon_start(&f->c, NULL);
        worker_start(f, 0, NULL, 1);
        worker = f->c.worker[0];
        record_bulk(f, 1);
        json_decref(cluster_wait_requests(&f->c, "/bulk/", BULK_PER_EVENT / 2,
                                          WAIT_MS));
        assert_int_equal(cluster_daemon_stop(&f->c, SIGKILL), 128 + SIGKILL);
        cluster_daemon_start(&f->c, NULL);
        /* The only worker there is, registered with the new daemon. */
        cluster_wait_workers(&f->c, "webhook", 1);
        cluster_wait_settled(&f->c, BULK_PER_EVENT, 0, WAIT_MS);
        check_bulk(f, 1, NULL);
        reqs = cluster_sink_requests(&f->c, "/bulk/");
        check_overlap(reqs, 5.0, (size_t)atoi(WORKER_CREDIT));
        json_decref(reqs);
        assert_int_equal(f->c.worker[0], worker);
        assert_true(proc_alive(worker));
        cluster_pass(&f->c);
}

/*
 * Two workers share 1,000 deliveries; one is killed halfway. The other
 * carries on, takes what the dead one held once the daemon notices, and
 * all 1,000 are delivered.
 */
static void
test_two_workers(void **state)
{
        struct fx *f = *state;
        int total = BULK_SCHOOLS * BULK_PER_EVENT, before, after;
        struct proc_result r;
        char *log;

        cluster_httpsink_script(&f->c, "/bulk/ delay 1000\n");
        cluster_daemon_start(&f->c, NULL);
        worker_start(f, 0, NULL, 1);
        worker_start(f, 1, NULL, 2);
        /* The admin's view says who is connected. */
        r = cluster_ctl(&f->c, "status", NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, "\nWorkers:    webhook 2, email 0\n");
        proc_result_free(&r);
        record_bulk(f, BULK_SCHOOLS);
        json_decref(
            cluster_wait_requests(&f->c, "/bulk/", (size_t)total / 2, WAIT_MS));
        assert_int_equal(cluster_worker_stop(&f->c, 0, SIGKILL), 128 + SIGKILL);
        log = slurp(f->c.wlog[1]);
        before = occurrences(log, ": delivered\n");
        free(log);
        cluster_wait_settled(&f->c, total, 0, WAIT_MS);
        check_bulk(f, BULK_SCHOOLS, NULL);
        assert_true(proc_alive(f->c.worker[1]));
        log = slurp(f->c.wlog[1]);
        after = occurrences(log, ": delivered\n");
        free(log);
        fprintf(stderr,
                "# the surviving worker delivered %d before the kill, "
                "%d after\n",
                before, after - before);
        assert_true(after > before);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_kill_worker),
    CLUSTER_TEST(test_kill_daemon),
    CLUSTER_TEST(test_two_workers),
})
