/*
 * The daemon (daemon.h): sd_notify, reloads (rules, a new school reaching the
 * delivery path) and a second daemon on the same state.
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

/* sd_notify: READY, STATUS, the watchdog, RELOADING then READY, STOPPING. */
static void
test_sd_notify(void **state)
{
        struct fx *f = *state;
        char line[512];

        write_conf(f, NULL, NULL);
        daemon_start_env(f, "WATCHDOG_USEC=200000"); /* READY=1 seen */
        assert_int_equal(proc_notify_wait(f->nfd, "STATUS=", 2000, f->c.daemon,
                                          line, sizeof(line)),
                         0);
        assert_true(strlen(line) > strlen("STATUS="));
        /* Every 100 ms (half of WATCHDOG_USEC) would be 15; want 3. */
        assert_watchdog_pings(f->nfd, f->c.daemon, 3, 1500);

        assert_sighup_reload(f->nfd, f->c.daemon, WAIT_MS);
        /* The watchdog goes on after a reload. */
        assert_int_equal(
            proc_notify_wait(f->nfd, "WATCHDOG=1", 1000, f->c.daemon, NULL, 0),
            0);

        assert_int_equal(kill(f->c.daemon, SIGTERM), 0);
        assert_int_equal(
            proc_notify_wait(f->nfd, "STOPPING=1", WAIT_MS, 0, NULL, 0), 0);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        f->c.passed = true;
}

/* A rule whose one alert is far ahead: the day before its deadline. */
static void
drill2_rule(char *buf, size_t len, const char *time_of_day)
{
        snprintf(buf, len,
                 "{ name = \"drill2\"; event = \"drill2\";\n"
                 "    deadline = { working_days = 10; time = \"%s\"; };\n"
                 "    alerts = [ \"-1d\" ]; }",
                 time_of_day);
}

/* The planner's alerts for drill2 at each of `ats` (NULL-terminated). */
static json_t *
plan_drill2(struct fx *f, const char *const *ats)
{
        json_t *all = json_array();

        for (; *ats != NULL; ats++) {
                json_t *p =
                    cluster_ctl_json_want(&f->c, 0, "plan", "--event", "drill2",
                                          "--at", *ats, "--json", NULL);

                json_array_extend(all, jarr(p, "alerts"));
                json_decref(p);
        }
        return all;
}

static size_t
count_lines(const char *s)
{
        size_t n = 0;

        for (; *s != '\0'; s++)
                n += *s == '\n';
        return n;
}

/*
 * Reload: a changed rule re-plans the pending alerts of every event that
 * started it; a broken config is refused with path:line and the rules in
 * force stay.
 */
static void
test_reload(void **state)
{
        struct fx *f = *state;
        char rule[512], e[3][32], needle[256];
        const char *ats[3] = { e[0], e[1], NULL };
        const char *third[2] = { e[2], NULL };
        json_t *plan_a, *plan_b, *up, *up2, *r, *a, *b;
        char *want, *got, *text, *broken;
        struct proc_result pr;
        size_t i;

        utc_text(time(NULL), e[0]);
        utc_text(time(NULL) - 3 * 86400, e[1]);
        drill2_rule(rule, sizeof(rule), "17:00");
        write_conf(f, NULL, rule);
        daemon_start(f);
        open_case(f);
        for (i = 0; i < 2; i++) {
                r = cluster_ctl_json_want(&f->c, 0, "event", "drill2",
                                          "--school", URN, "--at", e[i],
                                          "--json", NULL);
                assert_int_equal(json_array_size(jarr(r, "scheduled")), 1);
                json_decref(r);
        }
        plan_a = plan_drill2(f, ats);
        up = cluster_ctl_json_want(&f->c, 0, "upcoming", "--json", NULL);
        want = alert_keys(plan_a, INT64_MIN, NULL, NULL);
        got = alert_keys(jarr(up, "alerts"), INT64_MIN, "drill2", NULL);
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(up);

        /* An hour earlier; SIGHUP. */
        drill2_rule(rule, sizeof(rule), "16:00");
        write_conf(f, NULL, rule);
        plan_b = plan_drill2(f, ats);
        assert_int_equal(json_array_size(plan_b), 2);
        json_array_foreach(plan_b, i, b)
        {
                a = json_array_get(plan_a, i);
                assert_true(jtime(b, "at") == jtime(a, "at") - 3600);
        }
        assert_sighup_reload(f->nfd, f->c.daemon, WAIT_MS);
        up = cluster_ctl_json_want(&f->c, 0, "upcoming", "--json", NULL);
        want = alert_keys(plan_b, INT64_MIN, NULL, NULL);
        got = alert_keys(jarr(up, "alerts"), INT64_MIN, "drill2", NULL);
        assert_string_equal(got, want);
        free(want);
        free(got);

        /* Nothing changed since: nothing to re-plan. */
        r = cluster_ctl_json_want(&f->c, 0, "reload", "--json", NULL);
        assert_true(jint(r, "replanned") == 0);
        json_decref(r);

        /* Broken: refused with path:line, the daemon and its rules stay. */
        text = conf_text(NULL, rule);
        if (asprintf(&broken, "%s\nthis is not a setting\n", text) < 0)
                abort();
        spill(f->c.conf, broken);
        snprintf(needle, sizeof(needle), "%s:%zu: ", f->c.conf,
                 count_lines(text) + 2);
        pr = cluster_ctl(&f->c, "reload", NULL);
        assert_int_equal(pr.status, 1);
        if (strstr(pr.err, needle) == NULL)
                fail_msg("reload: stderr lacks \"%s\": %s", needle, pr.err);
        proc_result_free(&pr);
        proc_notify_drain(f->nfd);
        assert_sighup_reload(f->nfd, f->c.daemon, WAIT_MS);
        assert_true(proc_alive(f->c.daemon));
        r = cluster_ctl_json_want(&f->c, 0, "status", "--json", NULL);
        json_decref(r);
        up2 = cluster_ctl_json_want(&f->c, 0, "upcoming", "--json", NULL);
        assert_true(json_equal(up, up2));
        json_decref(up2);
        /* A new event is planned by the rules in force: 16:00. */
        utc_text(time(NULL), e[2]);
        r = cluster_ctl_json_want(&f->c, 0, "event", "drill2", "--school", URN,
                                  "--at", e[2], "--json", NULL);
        json_decref(plan_b);
        plan_b = plan_drill2(f, third);
        want = alert_keys(plan_b, INT64_MIN, NULL, NULL);
        got = alert_keys(jarr(r, "scheduled"), INT64_MIN, NULL, NULL);
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(r);

        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        free(text);
        free(broken);
        json_decref(up);
        json_decref(plan_a);
        json_decref(plan_b);
        f->c.passed = true;
}

/* A school and its channel that only a reload brings in. */
#define URN_NEW "100002"

#define NAME_NEW "Elm Primary"

#define PATH_NEW "/elm"

/* The sink's requests whose path is PATH_NEW, new array. */
static json_t *
sink_requests(const char *log)
{
        json_t *all = jsonl_records(log), *out = json_array(), *r;
        size_t i;

        json_array_foreach(all, i, r)
        {
                if (strcmp(jstr(r, "path"), PATH_NEW) == 0)
                        json_array_append(out, r);
        }
        json_decref(all);
        return out;
}

/*
 * A reload brings in a new school with a new channel, a webhook to
 * httpsink: before it, an event for the school is refused as unknown;
 * after SIGHUP to the daemon and to a running webhook worker, the event is
 * accepted and its alerts reach the sink through the new channel, once
 * each, with the delivery ids that `history` gives.
 */
static void
test_reload_new_school(void **state)
{
        struct fx *f = *state;
        char chan[256], at[32], *text;
        json_t *r, *reqs = NULL, *hist, *d, *ids;
        struct proc_result pr;
        long long until;
        size_t i;

        assert_int_equal(cluster_httpsink_start(&f->c), 0);
        write_conf(f, NULL, RULE_DRILL);
        daemon_start(f);
        /* No NOTIFY_SOCKET for the worker: its datagrams would queue
         * unread (the kernel keeps 10) and block it. The daemon says when
         * it has registered; its log says when it has reloaded. */
        cluster_worker_start(&f->c, 0, "webhook", NULL, NULL);
        cluster_wait_workers(&f->c, "webhook", 1);

        pr = cluster_ctl(&f->c, "notify", "--school", URN_NEW, NULL);
        assert_int_equal(pr.status, 1);
        assert_contains(pr.err, "unknown school " URN_NEW);
        proc_result_free(&pr);

        /* The channel and the school, added to the example config. */
        text = conf_text(NULL, RULE_DRILL);
        snprintf(chan, sizeof(chan),
                 "secret_file = \"secrets/it.key\"; },\n"
                 "  { name = \"elm\"; type = \"webhook\";\n"
                 "    url = \"http://127.0.0.1:%d" PATH_NEW "\"; }\n);",
                 f->c.port);
        text =
            replace_last(text, "secret_file = \"secrets/it.key\"; }\n);", chan);
        text =
            replace_last(text, "channels = [ \"heads\", \"leaders\" ]; }\n);",
                         "channels = [ \"heads\", \"leaders\" ]; },\n"
                         "  { urn = \"" URN_NEW "\"; name = \"" NAME_NEW
                         "\"; channels = [ \"elm\" ]; }\n);");
        spill(f->c.conf, text);
        spill(f->c.ctlconf, text);
        free(text);

        proc_notify_drain(f->nfd);
        assert_sighup_reload(f->nfd, f->c.daemon, WAIT_MS);
        assert_int_equal(kill(f->c.worker[0], SIGHUP), 0);
        until = mono_ms() + WAIT_MS;
        for (;;) {
                char *log = slurp(f->c.wlog[0]);
                bool done = strstr(log, "configuration reloaded") != NULL;

                free(log);
                if (done)
                        break;
                if (mono_ms() > until || !proc_alive(f->c.worker[0]))
                        fail_msg("the worker did not log its reload in %d ms",
                                 WAIT_MS);
                sleep_ms(50);
        }

        /* An hour ahead: the notification's own alerts stay pending. */
        utc_text(time(NULL) + 3600, at);
        r = cluster_ctl_json_want(&f->c, 0, "notify", "--school", URN_NEW,
                                  "--at", at, "--json", NULL);
        assert_string_equal(jstr(r, "state"), "open");
        assert_string_equal(jstr(jobj(r, "school"), "name"), NAME_NEW);
        json_decref(r);
        r = cluster_ctl_json_want(&f->c, 0, "event", "drill", "--school",
                                  URN_NEW, "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 2);
        json_decref(r);

        /* Both alerts (+2s, +4s) reach the sink, and are delivered. */
        until = mono_ms() + WAIT_MS;
        for (;;) {
                size_t delivered = 0;

                json_decref(reqs);
                reqs = sink_requests(f->c.sinklog);
                hist = cluster_ctl_json_want(&f->c, 0, "history", "--school",
                                             URN_NEW, "--json", NULL);
                json_array_foreach(jarr(hist, "deliveries"), i, d)
                {
                        delivered +=
                            strcmp(jstr(d, "status"), "delivered") == 0;
                }
                if (json_array_size(reqs) >= 2 && delivered == 2)
                        break;
                json_decref(hist);
                if (mono_ms() > until)
                        fail_msg("after %d ms the sink saw %zu requests to "
                                 "the new channel and %zu were delivered, "
                                 "not 2",
                                 WAIT_MS, json_array_size(reqs), delivered);
                sleep_ms(200);
        }
        assert_int_equal(json_array_size(reqs), 2);
        assert_int_equal(json_array_size(jarr(hist, "deliveries")), 2);
        ids = json_array();
        json_array_foreach(jarr(hist, "deliveries"), i, d)
        {
                assert_string_equal(jstr(d, "channel"), "elm");
                assert_string_equal(jstr(d, "type"), "webhook");
                assert_string_equal(jstr(d, "rule"), "drill");
                assert_true(jint(d, "attempts") == 1);
                json_array_append(ids, member(d, "id"));
        }
        assert_string_not_equal(
            jstr(json_array_get(jarr(hist, "deliveries"), 0), "offset"),
            jstr(json_array_get(jarr(hist, "deliveries"), 1), "offset"));
        json_array_foreach(reqs, i, d)
        {
                const char *key = jstr(jobj(d, "headers"), "idempotency-key");

                assert_string_equal(jstr(d, "method"), "POST");
                if (!has_string(ids, key))
                        fail_msg("the sink got delivery %s, which history "
                                 "does not list",
                                 key);
                assert_contains(jstr(d, "body"), URN_NEW);
                assert_contains(jstr(d, "body"), NAME_NEW);
        }
        assert_string_not_equal(
            jstr(jobj(json_array_get(reqs, 0), "headers"), "idempotency-key"),
            jstr(jobj(json_array_get(reqs, 1), "headers"), "idempotency-key"));

        assert_int_equal(proc_stop(f->c.worker[0], SIGTERM), 0);
        f->c.worker[0] = -1;
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        assert_int_equal(proc_stop(f->c.sink, SIGTERM), 0);
        f->c.sink = -1;
        json_decref(ids);
        json_decref(hist);
        json_decref(reqs);
        f->c.passed = true;
}

/* One scheduler per state: a second one refuses to start. */
static void
test_second_daemon(void **state)
{
        struct fx *f = *state;
        char *argv[] = { DAEMON_BINARY, "-c", f->c.conf, NULL };
        char *const env[] = { f->c.env_state,   f->c.env_run,
                              "NOTIFY_SOCKET",  "WATCHDOG_USEC",
                              "JOURNAL_STREAM", NULL };
        char log2[256], *text;
        json_t *r;
        pid_t pid2;
        int status;

        write_conf(f, NULL, NULL);
        daemon_start(f);
        snprintf(log2, sizeof(log2), "%s/second.log", f->c.dir);
        assert_int_equal(proc_start(argv, env, log2, &pid2), 0);
        if (proc_wait(pid2, WAIT_MS, &status) < 0) {
                proc_stop(pid2, SIGKILL);
                fail_msg("a second ofsted-notifyd on the same state is still "
                         "running after %d ms",
                         WAIT_MS);
        }
        assert_int_not_equal(status, 0);
        text = slurp(log2);
        if (strstr(text, "another ofsted-notifyd") == NULL)
                fail_msg("the second daemon said: %s", text);
        free(text);

        r = cluster_ctl_json_want(&f->c, 0, "status", "--json", NULL);
        assert_true(jint(r, "pid") == f->c.daemon);
        json_decref(r);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        f->c.passed = true;
}

CLUSTER_MAIN_GROUP(group_setup, NULL,
                   {
                       CLUSTER_TEST(test_sd_notify),
                       CLUSTER_TEST(test_reload),
                       CLUSTER_TEST(test_reload_new_school),
                       CLUSTER_TEST(test_second_daemon),
                   })
