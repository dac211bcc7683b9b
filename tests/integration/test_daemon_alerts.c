/*
 * The daemon (daemon.h): alerts fire and reach the deliveries and the feed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/dproto.h" /* DPROTO_ID, docs/dispatch.md */
#include "../../common/proto.h"  /* PROTO_CONTROL_ID, docs/protocol.md */
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

/* `status --json` until feed.watched is `want`; fails after WAIT_MS. */
static void
wait_watched(struct fx *f, bool want)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *st =
                    cluster_ctl_json_want(&f->c, 0, "status", "--json", NULL);
                bool got = json_is_true(member(member(st, "feed"), "watched"));

                json_decref(st);
                if (got == want)
                        return;
                if (mono_ms() > until)
                        fail_msg("status says feed.watched is %s after %d ms",
                                 got ? "true" : "false", WAIT_MS);
                sleep_ms(50);
        }
}

/*
 * A socket of `type` connected to the daemon's ipc://<run>/<name>.sock,
 * waiting at most WAIT_MS for a message, dropping what is unsent when
 * closed.
 */
static void *
daemon_socket(struct fx *f, void *zctx, int type, const char *name)
{
        void *s = zmq_socket(zctx, type);
        int timeout = WAIT_MS, linger = 0;
        char endpoint[256];

        assert_non_null(s);
        snprintf(endpoint, sizeof(endpoint), "ipc://%s/run/%s.sock", f->c.dir,
                 name);
        assert_int_equal(
            zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)),
                         0);
        assert_int_equal(zmq_connect(s, endpoint), 0);
        return s;
}

/*
 * A subscriber of the daemon's feed to topics starting with `prefix`;
 * returns once the daemon counts it (feed.watched), so nothing published
 * after that is lost to a slow join.
 */
static void *
feed_subscribe(struct fx *f, void *zctx, const char *prefix)
{
        void *sub = daemon_socket(f, zctx, ZMQ_SUB, "feed");

        assert_int_equal(
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix)), 0);
        wait_watched(f, true);
        return sub;
}

/*
 * Reads one feed message (topic, JSON object) into topic[64] and a new
 * *doc; *when is the wall clock (real_s()) as the topic frame came in.
 */
static void
feed_recv(void *sub, char topic[64], json_t **doc, double *when)
{
        char body[4096];
        int more = 0, n;
        size_t len = sizeof(more);

        n = zmq_recv(sub, topic, 63, 0);
        *when = real_s();
        if (n < 0)
                fail_msg("no message on the feed: %s", zmq_strerror(errno));
        topic[n < 63 ? n : 63] = '\0';
        assert_int_equal(zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &len), 0);
        assert_true(more);
        n = zmq_recv(sub, body, sizeof(body) - 1, 0);
        if (n < 0 || n >= (int)sizeof(body))
                fail_msg("feed message body: %d bytes", n);
        body[n] = '\0';
        *doc = json_loads(body, 0, NULL);
        if (!json_is_object(*doc))
                fail_msg("feed message is not a JSON object: %s", body);
}

/*
 * "+2s" and "+4s" fire on time, each with one delivery per channel of the
 * school; a restart fires nothing again; SIGTERM exits 0.
 *
 * "On time" to the sub-second: alerts are due on whole seconds (td, the
 * drill's --at, is one), and the test takes the moment each one reaches a
 * feed subscriber of its own from the wall clock, with its fraction. The
 * daemon sleeps until the due second (its poll timeout is in ms) and
 * publishes as it fires, so the lag is normally a few ms; it must never be
 * negative (fired early) and must stay under 1.0 s: the store keeps the
 * time fired to the second only, and a fire in the second after the due
 * one is what a late wake-up would look like. 1.0 s is generous for a
 * busy 2-core machine, where a ctl process or the other tests' children
 * may hold the CPU for a few hundred ms.
 */
static void
test_alerts_fire_on_time(void **state)
{
        struct fx *f = *state;
        static const int offsets[] = { 2, 4 };
        json_t *show, *alerts, *hist, *hist2, *show2, *channels, *r, *msg;
        char num[32], topic[64];
        void *zctx, *sub;
        json_int_t id;
        double arrived, late;
        time_t td;
        size_t nch;

        write_conf(f, NULL, RULE_DRILL);
        daemon_start(f);
        channels = school_channels(f);
        nch = json_array_size(channels);
        assert_true(nch >= 1);
        id = open_case(f);
        snprintf(num, sizeof(num), "%lld", (long long)id);
        zctx = zmq_ctx_new();
        assert_non_null(zctx);
        sub = feed_subscribe(f, zctx, "deadline.drill.");

        td = record_drill(f);

        for (size_t i = 0; i < 2; i++) {
                char offset[8];

                snprintf(offset, sizeof(offset), "+%ds", offsets[i]);
                feed_recv(sub, topic, &msg, &arrived);
                assert_string_equal(topic, "deadline.drill." URN);
                assert_string_equal(jstr(msg, "offset"), offset);
                assert_true(jtime(msg, "at") == td + offsets[i]);
                /* Never early; how soon after is bench/'s to measure. */
                late = arrived - (double)(td + offsets[i]);
                if (late < 0)
                        fail_msg("%s due at %lld reached the feed at %.3f: "
                                 "%+.3f s",
                                 offset, (long long)(td + offsets[i]), arrived,
                                 late);
                json_decref(msg);
        }
        zmq_close(sub);
        zmq_ctx_term(zctx);

        show = show_settled(f, id, "drill");
        alerts = case_alerts(show, "drill");
        assert_int_equal(json_array_size(alerts), 2);
        for (size_t i = 0; i < 2; i++) {
                json_t *a = json_array_get(alerts, i);
                char offset[8];

                snprintf(offset, sizeof(offset), "+%ds", offsets[i]);
                assert_string_equal(jstr(a, "offset"), offset);
                assert_true(jtime(a, "at") == td + offsets[i]);
                assert_string_equal(jstr(a, "state"), "fired");
                assert_false(json_is_true(member(a, "late")));
                /* The store's record, to the second: never early (and
                 * not late: "late" above is the daemon's own verdict). */
                if (jtime(a, "fired") < jtime(a, "at"))
                        fail_msg("%s fired at %s, due %s", offset,
                                 jstr(a, "fired"), jstr(a, "at"));
        }
        json_decref(alerts);

        hist = cluster_ctl_json_want(&f->c, 0, "history", "--json", NULL);
        assert_int_equal(count_deliveries(hist, "drill", "+2s", channels), nch);
        assert_int_equal(count_deliveries(hist, "drill", "+4s", channels), nch);
        assert_int_equal(json_array_size(jarr(hist, "deliveries")), 2 * nch);

        /* A restart fires nothing twice. */
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        daemon_start(f);
        /* The catch-up runs before READY=1 and the "ready" line: whatever
         * the restart would fire twice, it has fired by now. */
        cluster_wait_log(f->c.dlog, "ready (version", 2, WAIT_MS);
        assert_int_equal(
            cluster_log_count(f->c.dlog, "catch-up after downtime"), 0);
        hist2 = cluster_ctl_json_want(&f->c, 0, "history", "--json", NULL);
        assert_true(json_equal(hist, hist2));
        show2 = cluster_ctl_json_want(&f->c, 0, "show", "--case", num, "--json",
                                      NULL);
        assert_true(json_equal(member(member(show, "case"), "alerts"),
                               member(member(show2, "case"), "alerts")));
        r = cluster_ctl_json_want(&f->c, 0, "status", "--json", NULL);
        assert_true(jint(member(r, "alerts"), "fired") == 2);
        json_decref(r);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);

        json_decref(channels);
        json_decref(show);
        json_decref(show2);
        json_decref(hist);
        json_decref(hist2);
        f->c.passed = true;
}

/*
 * The feed (docs/protocol.md): `status` says whether anyone watches it;
 * `ofsted-notifyctl watch --json` prints each alert as it fires, and a
 * subscriber of the test's own gets it under the topic
 * deadline.<rule>.<urn>; when they go, `status` says so again.
 */
static void
test_feed(void **state)
{
        struct fx *f = *state;
        char watchlog[224], topic[64];
        char *argv[] = { CTL_BINARY, "-c", f->c.conf, "watch", "--json", NULL };
        char *const env[] = { f->c.env_state, f->c.env_run, NULL };
        long long until;
        json_t *channels, *lines = NULL, *msg;
        void *zctx, *sub;
        double arrived;
        int status;
        pid_t watch;
        size_t nch;

        write_conf(f, NULL, RULE_DRILL);
        daemon_start(f);
        channels = school_channels(f);
        nch = json_array_size(channels);
        json_decref(channels);
        open_case(f);
        wait_watched(f, false);

        snprintf(watchlog, sizeof(watchlog), "%s/watch.out", f->c.dir);
        assert_int_equal(proc_start(argv, env, watchlog, &watch), 0);
        wait_watched(f, true);
        record_drill(f);
        for (until = mono_ms() + WAIT_MS;; sleep_ms(100)) {
                char *out = slurp(watchlog);

                json_decref(lines);
                lines = json_array();
                for (char *line = strtok(out, "\n"); line != NULL;
                     line = strtok(NULL, "\n")) {
                        json_t *doc = json_loads(line, 0, NULL);

                        if (doc != NULL)
                                json_array_append_new(lines, doc);
                }
                free(out);
                if (json_array_size(lines) >= 2)
                        break;
                if (mono_ms() > until)
                        fail_msg("watch printed %zu alerts, not 2",
                                 json_array_size(lines));
        }
        assert_int_equal(json_array_size(lines), 2);
        for (size_t i = 0; i < 2; i++) {
                json_t *a = json_array_get(lines, i);

                assert_string_equal(jstr(a, "rule"), "drill");
                assert_string_equal(jstr(a, "offset"), i == 0 ? "+2s" : "+4s");
                assert_string_equal(jstr(member(a, "school"), "urn"), URN);
                assert_string_equal(jstr(a, "action"), "Drill.");
                assert_false(json_is_true(member(a, "late")));
                assert_int_equal(jint(a, "deliveries"), (json_int_t)nch);
        }
        json_decref(lines);
        assert_int_equal(proc_stop(watch, SIGTERM), 0);
        wait_watched(f, false);

        /* A subscriber of our own, to a narrower topic, sees the topic. */
        zctx = zmq_ctx_new();
        assert_non_null(zctx);
        sub = feed_subscribe(f, zctx, "deadline.drill.");
        record_drill(f);
        feed_recv(sub, topic, &msg, &arrived);
        assert_string_equal(topic, "deadline.drill." URN);
        assert_string_equal(jstr(msg, "rule"), "drill");
        json_decref(msg);
        zmq_close(sub);
        zmq_ctx_term(zctx);
        wait_watched(f, false);

        status = cluster_daemon_stop(&f->c, SIGTERM);
        assert_int_equal(status, 0);
        f->c.passed = true;
}

/* A rule whose plan warns: its "-30d" falls before the event. */
#define RULE_WARNED                                                  \
        "{ name = \"warned\"; event = \"warned\";\n"                 \
        "    action = \"Check the warning.\";\n"                     \
        "    deadline = { working_days = 10; time = \"17:00\"; };\n" \
        "    alerts = [ \"+2s\", \"-30d\" ]; }"
#define WARNED_WARNING                                             \
        "warned: alerts that would fall before the event are not " \
        "scheduled: -30d"

/*
 * A worker of the test's own: a DEALER on the daemon's dispatch endpoint
 * that says READY as a webhook worker with some credit, as
 * docs/dispatch.md has it.
 */
static void *
fake_worker(struct fx *f, void *zctx)
{
        static const char ready[] = "{\"kind\":\"webhook\",\"credit\":8}";
        void *w = daemon_socket(f, zctx, ZMQ_DEALER, "dispatch");

        assert_true(zmq_send(w, DPROTO_ID, strlen(DPROTO_ID), ZMQ_SNDMORE) > 0);
        assert_true(zmq_send(w, "READY", 5, ZMQ_SNDMORE) > 0);
        assert_true(zmq_send(w, ready, strlen(ready), 0) > 0);
        return w;
}

/* The next JOB the daemon sends `w` (heartbeats pass by), as JSON. */
static json_t *
next_job(void *w)
{
        for (;;) {
                char frame[3][4096];
                int n[3] = { 0 }, more = 1, k = 0;
                size_t len = sizeof(more);

                while (more) {
                        int got = zmq_recv(w, frame[k < 2 ? k : 2],
                                           sizeof(frame[0]) - 1, 0);

                        if (got < 0)
                                fail_msg("no JOB from the daemon: %s",
                                         zmq_strerror(errno));
                        n[k < 2 ? k : 2] = got;
                        k++;
                        assert_int_equal(
                            zmq_getsockopt(w, ZMQ_RCVMORE, &more, &len), 0);
                }
                if (k != 3 || n[1] != 3 || memcmp(frame[1], "JOB", 3) != 0)
                        continue;
                assert_true(n[2] < (int)sizeof(frame[2]));
                frame[2][n[2]] = '\0';
                return json_loads(frame[2], 0, NULL);
        }
}

/* One control request, as ofsted-notifyctl sends it; the reply. */
static json_t *
control_request(struct fx *f, void *zctx, const char *body)
{
        void *req = daemon_socket(f, zctx, ZMQ_REQ, "control");
        char reply[8192];
        int n;

        assert_true(zmq_send(req, PROTO_CONTROL_ID, strlen(PROTO_CONTROL_ID),
                             ZMQ_SNDMORE) > 0);
        assert_true(zmq_send(req, body, strlen(body), 0) > 0);
        /* [PROTO_CONTROL_ID][reply] */
        n = zmq_recv(req, reply, sizeof(reply) - 1, 0);
        assert_true(n > 0);
        n = zmq_recv(req, reply, sizeof(reply) - 1, 0);
        if (n < 0 || n >= (int)sizeof(reply))
                fail_msg("control reply: %d bytes", n);
        reply[n] = '\0';
        zmq_close(req);
        return json_loads(reply, 0, NULL);
}

/*
 * The feed carries everything the JOB carries (docs/protocol.md): an alert
 * whose plan warns reaches a feed subscriber and a worker; every member of
 * the JOB's alert is in the feed's message with the same value, among them
 * the trust, the deadline for people and the warning (as the plan wrote
 * it, and as the `event` reply gave it). The `test` reply's alert is its
 * JOB's, marked as a test.
 */
static void
test_feed_carries_job(void **state)
{
        struct fx *f = *state;
        char at[32], topic[64];
        json_t *r, *msg, *job, *alert, *v, *channels;
        const char *key;
        void *zctx, *sub, *w;
        double arrived;

        write_conf(f, NULL, RULE_DRILL ",\n  " RULE_WARNED);
        daemon_start(f);
        open_case(f);
        zctx = zmq_ctx_new();
        assert_non_null(zctx);
        w = fake_worker(f, zctx);
        cluster_wait_workers(&f->c, "webhook", 1);
        sub = feed_subscribe(f, zctx, "deadline.warned.");

        utc_text(time(NULL), at);
        r = cluster_ctl_json_want(&f->c, 0, "event", "warned", "--school", URN,
                                  "--at", at, "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 1);
        assert_true(has_string(jarr(r, "warnings"), WARNED_WARNING));
        json_decref(r);

        feed_recv(sub, topic, &msg, &arrived);
        assert_string_equal(topic, "deadline.warned." URN);
        /* School URN's one webhook-kind channel, "leaders" (teams). */
        job = next_job(w);
        assert_non_null(job);
        assert_string_equal(jstr(job, "channel"), "leaders");
        alert = member(job, "alert");
        assert_true(json_is_object(alert));
        json_object_foreach(alert, key, v)
        {
                if (!json_equal(v, json_object_get(msg, key)))
                        fail_msg("the feed's '%s' is not the JOB's", key);
        }
        assert_string_equal(jstr(msg, "trust"), "Example Learning Trust");
        assert_non_null(strstr(jstr(msg, "warning"), WARNED_WARNING));
        assert_string_equal(jstr(msg, "due_human"), jstr(alert, "due_human"));
        assert_non_null(jstr(msg, "due_human"));
        channels = school_channels(f);
        assert_int_equal(jint(msg, "deliveries"),
                         (json_int_t)json_array_size(channels));
        json_decref(channels);
        json_decref(msg);
        json_decref(job);

        r = control_request(f, zctx,
                            "{\"cmd\":\"test\",\"channel\":\"leaders\"}");
        assert_true(json_is_true(member(r, "ok")));
        job = next_job(w);
        assert_string_equal(jstr(job, "delivery"), jstr(r, "delivery"));
        assert_true(json_equal(member(r, "alert"), member(job, "alert")));
        assert_string_equal(jstr(member(member(r, "alert"), "school"), "name"),
                            "TEST ALERT");
        assert_string_equal(jstr(member(r, "alert"), "contact"), "-");
        json_decref(job);
        json_decref(r);

        zmq_close(w);
        zmq_close(sub);
        zmq_ctx_term(zctx);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        f->c.passed = true;
}

CLUSTER_MAIN_GROUP(group_setup, NULL,
                   {
                       CLUSTER_TEST(test_alerts_fire_on_time),
                       CLUSTER_TEST(test_feed),
                       CLUSTER_TEST(test_feed_carries_job),
                   })
