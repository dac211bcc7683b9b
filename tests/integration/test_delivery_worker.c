/*
 * Delivery end to end (delivery.h): The worker as a service: pacing per
 * channel, `ofsted-notifyctl test`, its systemd life (SIGTERM, SIGHUP), a
 * secret file rewritten while it runs; a bad --credit or --timeout.
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

/* A case at the school of every channel and three drills at `at`: an
 * alert each, to every channel. */
static void
three_drills(struct fx *f, const char *at)
{
        json_t *r = cluster_ctl_json(&f->c, "notify", "--school", URN_ALL,
                                     "--at", at, "--json", NULL);

        json_decref(r);
        for (int i = 0; i < 3; i++) {
                r = cluster_ctl_json(&f->c, "event", "drill", "--school",
                                     URN_ALL, "--at", at, "--json", NULL);
                assert_int_equal(json_array_size(jarr(r, "scheduled")), 1);
                json_decref(r);
        }
}

/*
 * Pacing: three alerts at once to one Slack and one Teams channel leave
 * the scheduler at most one a second to Slack and four a second to Teams
 * (their documented limits), queued rather than failed. Only lower bounds
 * are checked: a slow machine makes the gaps longer, never shorter.
 */
static void
test_pacing(void **state)
{
        static const struct {
                const char *path;
                double gap;
        } paced[] = { { "/slack", 1.0 }, { "/teams", 0.25 } };
        struct fx *f = *state;
        char at[32];
        json_t *reqs;

        utc_text(time(NULL), at);
        cluster_daemon_start(&f->c, NULL);
        worker_start(f, 0, NULL, 1);
        three_drills(f, at);
        cluster_wait_settled(&f->c, 3 * NFLAVOURS, 0, WAIT_MS);
        for (size_t k = 0; k < sizeof(paced) / sizeof(paced[0]); k++) {
                reqs = cluster_sink_requests(&f->c, paced[k].path);
                assert_int_equal(json_array_size(reqs), 3);
                for (size_t i = 1; i < 3; i++) {
                        double gap =
                            json_real_value(
                                member(json_array_get(reqs, i), "time")) -
                            json_real_value(
                                member(json_array_get(reqs, i - 1), "time"));

                        /*
                         * The daemon paces when it hands jobs out; the
                         * sink sees them after the worker's own latency,
                         * which varies by a few hundred ms on a loaded
                         * machine (under ASan, say). Unpaced, they come
                         * milliseconds apart.
                         */
                        if (gap < paced[k].gap * 0.75)
                                fail_msg("%s: requests %zu and %zu came %.3f "
                                         "s apart, under its pace of %.2f s",
                                         paced[k].path, i - 1, i, gap,
                                         paced[k].gap);
                }
                json_decref(reqs);
        }
        cluster_pass(&f->c);
}

/* The time the sink saw request `i` under `path`. */
static double
request_time(struct fx *f, const char *path, size_t i)
{
        json_t *reqs = cluster_sink_requests(&f->c, path);
        double t;

        assert_true(json_array_size(reqs) > i);
        t = json_real_value(member(json_array_get(reqs, i), "time"));
        json_decref(reqs);
        return t;
}

/*
 * A channel waiting for its pace does not hold up the others: with a
 * worker of credit 1, whose every job is one row of the ready query, the
 * unpaced channels' three alerts all reach the sink before Slack's third,
 * which its pace keeps at least two seconds after its first. Were the
 * held Slack row asked for again and again, the others would wait behind
 * it, each after a Slack request.
 */
static void
test_pacing_no_block(void **state)
{
        static const char *const unpaced[] = { "/mattermost", "/webhook" };
        struct fx *f = *state;
        double slack3;
        char at[32];

        utc_text(time(NULL), at);
        cluster_daemon_start(&f->c, NULL);
        f->credit = "1";
        worker_start(f, 0, NULL, 1);
        f->credit = NULL;
        three_drills(f, at);
        cluster_wait_settled(&f->c, 3 * NFLAVOURS, 0, WAIT_MS);
        slack3 = request_time(f, "/slack", 2);
        for (size_t k = 0; k < sizeof(unpaced) / sizeof(unpaced[0]); k++) {
                double last = request_time(f, unpaced[k], 2);

                if (last >= slack3)
                        fail_msg("%s's third request came %.3f s after "
                                 "Slack's third: held up behind a paced "
                                 "channel",
                                 unpaced[k], last - slack3);
        }
        cluster_pass(&f->c);
}

/*
 * ofsted-notifyctl test CHANNEL: a marked test alert goes through the real
 * path and the command reports its outcome: 0 when delivered, 1 with the
 * reason when the service refuses it, 1 when no worker takes it in time.
 */
static void
test_ctl_test(void **state)
{
        struct fx *f = *state;
        struct proc_result r;
        json_t *reqs;

        cluster_httpsink_script(&f->c, SOLO_PATH " status 404\n");
        cluster_daemon_start(&f->c, NULL);

        /* No worker yet: nothing settles within the timeout. */
        r = cluster_ctl(&f->c, "test", "teams", "--timeout", "2", NULL);
        assert_int_equal(r.status, 1);
        assert_contains(r.err, "still pending");
        proc_result_free(&r);

        worker_start(f, 0, NULL, 1);
        r = cluster_ctl(&f->c, "test", "teams", NULL);
        if (r.status != 0)
                fail_msg("test teams: exit %d: %s", r.status, r.err);
        assert_contains(r.out, "Delivered");
        proc_result_free(&r);
        reqs = cluster_wait_requests(&f->c, "/teams", 2, WAIT_MS);
        /* Both the timed-out first test and this one arrive, marked. */
        for (size_t i = 0; i < json_array_size(reqs); i++)
                assert_contains(jstr(json_array_get(reqs, i), "body"),
                                "TEST ALERT");
        json_decref(reqs);

        r = cluster_ctl(&f->c, "test", "solo", NULL);
        assert_int_equal(r.status, 1);
        assert_contains(r.err, "404");
        proc_result_free(&r);

        r = cluster_ctl(&f->c, "test", "nosuchchannel", NULL);
        assert_int_equal(r.status, 1);
        assert_contains(r.err, "unknown channel 'nosuchchannel'");
        proc_result_free(&r);
        cluster_pass(&f->c);
}

/*
 * The worker run as systemd runs ofsted-notify-worker@webhook: its secret
 * only in $CREDENTIALS_DIRECTORY as the unit's LoadCredential= puts it, a
 * receiver on
 * NOTIFY_SOCKET and WATCHDOG_USEC set. It says READY, then a STATUS once
 * the scheduler speaks, pings the watchdog, signs with the credential,
 * says RELOADING then READY on SIGHUP and STOPPING on SIGTERM, and exits 0.
 */
static void
test_worker_service(void **state)
{
        struct fx *f = *state;
        char creds[224], moved[256], notify[224], env_creds[256],
            env_notify[256], line[512], at[32];
        char *argv[] = { WORKER_BINARY, "--kind",  "webhook",
                         "-c",          f->c.conf, NULL };
        /*
         * A ping every second: the test reads the notify socket only now
         * and then, and the kernel queues only net.unix.max_dgram_qlen
         * datagrams (10 here) before the worker's sd_notify() blocks.
         */
        char *env[] = { f->c.env_state,
                        f->c.env_run,
                        env_notify,
                        "WATCHDOG_USEC=2000000",
                        env_creds,
                        "JOURNAL_STREAM",
                        NULL };
        int fd;
        json_t *reqs, *d;

        snprintf(creds, sizeof(creds), "%s/creds", f->c.dir);
        /* As LoadCredential=secrets:DIR names the files of DIR. */
        snprintf(moved, sizeof(moved), "%s/secrets_webhook.key", creds);
        snprintf(notify, sizeof(notify), "%s/notify", f->c.dir);
        snprintf(env_creds, sizeof(env_creds), "CREDENTIALS_DIRECTORY=%s",
                 creds);
        snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", notify);
        assert_int_equal(mkdir(creds, 0700), 0);
        /* Only the credential holds the key: the config's file is gone. */
        assert_int_equal(rename(f->key, moved), 0);
        fd = proc_notify_open(notify);
        assert_true(fd >= 0);

        cluster_daemon_start(&f->c, NULL);
        assert_int_equal(proc_start(argv, env, f->c.wlog[0], &f->c.worker[0]),
                         0);
        assert_int_equal(
            proc_notify_wait(fd, "READY=1", START_MS, f->c.worker[0], NULL, 0),
            0);
        assert_int_equal(proc_notify_wait(fd, "STATUS=delivering", START_MS,
                                          f->c.worker[0], line, sizeof(line)),
                         0);
        assert_contains(line, "webhook");
        /* Every second (half of WATCHDOG_USEC): want 2 in 2.5 s. */
        assert_watchdog_pings(fd, f->c.worker[0], 2, 2500);

        utc_text(time(NULL), at);
        record(f, "drill", URN_SOLO, at);
        d = solo_settled(f, "delivered", &reqs); /* signature checked */
        assert_int_equal(json_array_size(reqs), 1);
        json_decref(reqs);
        json_decref(d);

        assert_sighup_reload(fd, f->c.worker[0], WAIT_MS);
        assert_int_equal(
            proc_notify_wait(fd, "WATCHDOG=1", 2500, f->c.worker[0], NULL, 0),
            0);

        assert_int_equal(kill(f->c.worker[0], SIGTERM), 0);
        assert_int_equal(
            proc_notify_wait(fd, "STOPPING=1", WAIT_MS, 0, NULL, 0), 0);
        assert_int_equal(cluster_worker_stop(&f->c, 0, SIGTERM), 0);
        close(fd);
        cluster_pass(&f->c);
}

/*
 * A channel's signing key file is checked per job and read again when it
 * changed (ofsted-notify-worker(8), SECRETS): a key rewritten on disk signs
 * the next delivery, with no reload; a reload (SIGHUP) keeps it.
 */
static void
test_secret_reload(void **state)
{
        struct fx *f = *state;
        unsigned char first[KEY_BYTES];
        json_t *req;

        cluster_daemon_start(&f->c, NULL);
        worker_start(f, 0, NULL, 1);
        req = test_solo(f, 1);
        check_signature(f, req, header(req, "webhook-id"));
        json_decref(req);

        memcpy(first, f->secret, sizeof(first));
        write_key(f);
        assert_memory_not_equal(first, f->secret, sizeof(first));
        req = test_solo(f, 2);
        check_signature(f, req, header(req, "webhook-id"));
        json_decref(req);
        cluster_wait_log(
            f->c.wlog[0],
            "secret_file: secret file 'webhook.key' changed: read again", 1,
            WAIT_MS);

        cluster_worker_reload(&f->c, 0, WAIT_MS);
        req = test_solo(f, 3);
        check_signature(f, req, header(req, "webhook-id"));
        json_decref(req);
        cluster_pass(&f->c);
}

/*
 * A bad --credit or --timeout: which option and value, and the range it
 * takes; exit 2, before the config is read.
 */
static void
test_bad_numbers(void **state)
{
        static const struct {
                const char *opt, *value, *want;
        } cases[] = {
                { "--credit", "0",
                  "--credit '0': want a number from 1 to 1000" },
                { "--credit", "1001", "from 1 to 1000" },
                { "--credit", "+5", "--credit '+5'" },
                { "--credit", " 5", "--credit ' 5'" },
                { "--credit", "5x", "--credit '5x'" },
                { "--credit", "", "--credit ''" },
                { "--timeout", "0",
                  "--timeout '0': want a number from 1 to 3600" },
                { "--timeout", "99999999999999999999", "from 1 to 3600" },
        };
        struct fx *f = *state;
        struct proc_result r;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *argv[] = { WORKER_BINARY,
                                 "--kind",
                                 "webhook",
                                 (char *)cases[i].opt,
                                 (char *)cases[i].value,
                                 "-c",
                                 "/nonexistent/conf",
                                 NULL };

                assert_int_equal(proc_run(argv, NULL, &r), 0);
                if (r.status != 2 || strstr(r.err, cases[i].want) == NULL)
                        fail_msg("%s '%s': exit %d, stderr %s; want exit 2 and "
                                 "\"%s\"",
                                 cases[i].opt, cases[i].value, r.status, r.err,
                                 cases[i].want);
                proc_result_free(&r);
        }
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_pacing),
    CLUSTER_TEST(test_pacing_no_block),
    CLUSTER_TEST(test_ctl_test),
    CLUSTER_TEST(test_worker_service),
    CLUSTER_TEST(test_secret_reload),
    CLUSTER_TEST(test_bad_numbers),
})
