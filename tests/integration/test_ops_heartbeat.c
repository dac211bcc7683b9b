/*
 * The dead-man's switch (daemon.heartbeat), against the real scheduler, a
 * real webhook worker and httpsink as the push monitor: while the
 * scheduler runs, the monitor gets a GET of the secret URL every period;
 * once the scheduler stops they stop, which the worker proves by saying
 * twice that the scheduler went silent (each time 10 s, five periods,
 * without a word) with no GET in between. A monitor that refuses the
 * heartbeat is a warning in the scheduler's log and in `status`. The URL
 * never shows in a log, even at debug.
 *
 * The period is two seconds: OFSTED_NOTIFY_TEST_HEARTBEAT_MIN lets the
 * config go under its minute for this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WAIT_MS 30000
#define TOKEN   "f3e1-SECRET-TOKEN-9c2b"
#define PING    "/ping/" TOKEN
#define SILENT  "no word from the scheduler"

static int
setup(void **state)
{
        setenv("OFSTED_NOTIFY_TEST_HEARTBEAT_MIN", "1", 1);
        return cluster_setup(state);
}

static int
teardown(void **state)
{
        return cluster_teardown(state);
}

/*
 * The push monitor's URL in secrets/heartbeat.url (0600), a heartbeat
 * every 2 s, and one webhook channel for one school.
 */
static void
write_conf(struct cluster *c)
{
        static const struct cluster_conf k = {
                .daemon = "heartbeat = { url_file = \"secrets/heartbeat.url\";"
                          " every = \"2s\"; };",
        };
        char dir[256], path[320], url[128];
        FILE *fp;

        snprintf(dir, sizeof(dir), "%s/secrets", c->dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        snprintf(path, sizeof(path), "%s/heartbeat.url", dir);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s\n", c->port, PING);
        spill(path, url);
        assert_int_equal(chmod(path, 0600), 0);
        fp = cluster_conf_begin(c, &k);
        fprintf(fp,
                "channels = ( { name = \"hook\"; type = \"webhook\";\n"
                "  url = \"http://127.0.0.1:%d/hook\"; } );\n"
                "schools = ( { urn = \"100001\"; name = \"Oak Primary\";\n"
                "  channels = [ \"hook\" ]; } );\n"
                "rules = ( { name = \"drill\"; event = \"drill\";\n"
                "  action = \"Drill.\";\n"
                "  deadline = { working_days = 10; time = \"17:00\"; };\n"
                "  alerts = [ \"event\" ]; } );\n",
                c->port);
        cluster_conf_end(fp);
}

/* Everything at debug: the secret must not show even there. */
static void
start(struct cluster *c)
{
        static const char *const dargs[] = { "-v", NULL };
        static const char *const wargs[] = { "-v", NULL };

        assert_int_equal(cluster_httpsink_start(c), 0);
        write_conf(c);
        c->dargs = dargs;
        cluster_daemon_start(c, NULL);
        cluster_worker_start(c, 0, "webhook", NULL, wargs);
        cluster_wait_workers(c, "webhook", 1);
}

static void
assert_no_secret(struct cluster *c)
{
        assert_int_equal(cluster_log_count(c->dlog, TOKEN), 0);
        assert_int_equal(cluster_log_count(c->wlog[0], TOKEN), 0);
}

static size_t
pings(struct cluster *c)
{
        json_t *r = cluster_sink_requests(c, PING);
        size_t n = json_array_size(r);

        json_decref(r);
        return n;
}

static void
test_beats_while_running(void **state)
{
        struct cluster *c = *state;
        struct proc_result p;
        json_t *r, *s, *b, *req;
        size_t i, before, after;

        start(c);
        /* Three periods' GETs, each a bare GET of the URL. */
        r = cluster_wait_requests(c, PING, 3, WAIT_MS);
        json_array_foreach(r, i, req)
        {
                assert_string_equal(
                    json_string_value(json_object_get(req, "method")), "GET");
                assert_string_equal(
                    json_string_value(json_object_get(req, "path")), PING);
        }
        json_decref(r);
        s = cluster_ctl_json(c, "status", "--json", NULL);
        b = json_object_get(s, "heartbeat");
        assert_int_equal(json_integer_value(json_object_get(b, "every")), 2);
        assert_true(json_is_string(json_object_get(b, "last_sent")));
        assert_true(json_is_string(json_object_get(b, "last_delivered")));
        assert_true(json_is_null(json_object_get(b, "error")));
        json_decref(s);
        p = cluster_ctl(c, "status", NULL);
        assert_int_equal(p.status, 0);
        assert_contains(p.out, "Heartbeat:  every 2 seconds; last sent ");
        assert_null(strstr(p.out, "Warning:    heartbeat"));
        proc_result_free(&p);
        /* Nothing stored for them: no delivery, no case. */
        r = cluster_history(c);
        assert_int_equal(json_array_size(r), 0);
        json_decref(r);

        /* The scheduler stops: the worker hears nothing for 10 s, twice,
         * and no GET comes between. */
        assert_int_equal(cluster_daemon_stop(c, SIGTERM), 0);
        cluster_wait_log(c->wlog[0], SILENT, 1, WAIT_MS);
        before = pings(c);
        cluster_wait_log(c->wlog[0], SILENT, 2, WAIT_MS);
        after = pings(c);
        assert_true(before >= 3);
        assert_int_equal(after, before);
        assert_no_secret(c);
        cluster_pass(c);
}

/*
 * A monitor that says 404 (a deleted check): the scheduler warns once,
 * status says so, and heartbeats keep coming (none is sent again).
 */
static void
test_refused(void **state)
{
        struct cluster *c = *state;
        struct proc_result p;
        json_t *s, *b;

        start(c);
        cluster_httpsink_script(c, "/ping status 404\n");
        cluster_wait_log(c->dlog, "heartbeat: not delivered (failed: HTTP 404",
                         1, WAIT_MS);
        s = cluster_ctl_json(c, "status", "--json", NULL);
        b = json_object_get(s, "heartbeat");
        assert_non_null(
            strstr(json_string_value(json_object_get(b, "error")), "HTTP 404"));
        json_decref(s);
        p = cluster_ctl(c, "status", NULL);
        assert_int_equal(p.status, 0);
        assert_contains(p.out, "Warning:    heartbeat: failed: HTTP 404");
        proc_result_free(&p);
        /* Two more come, refused, and the warning stays one line. */
        json_decref(cluster_wait_requests(c, PING, pings(c) + 2, WAIT_MS));
        assert_int_equal(cluster_log_count(c->dlog, "heartbeat: not delivered"),
                         1);
        cluster_httpsink_script(c, NULL);
        cluster_wait_log(c->dlog, "heartbeat: delivered again", 1, WAIT_MS);
        assert_no_secret(c);
        cluster_pass(c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_beats_while_running),
    CLUSTER_TEST(test_refused),
})
