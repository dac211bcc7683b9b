/*
 * The daemon (daemon.h): the control socket against hostile and oversize
 * requests.
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

/* docs/protocol.md: the first frame of every request and reply. */
#define CONTROL_ID "ofsted-notify-control/1"

/* A reply read off a ZeroMQ socket: at most 8 frames, NUL-terminated. */
struct reply {
        int n;
        char *frame[8];
        size_t len[8];
};

static void
reply_free(struct reply *r)
{
        for (int i = 0; i < r->n; i++)
                free(r->frame[i]);
        r->n = 0;
}

static void
send_frames(void *sock, int n, const char *const *frames, const size_t *lens)
{
        for (int i = 0; i < n; i++) {
                size_t len = lens != NULL ? lens[i] : strlen(frames[i]);

                if (zmq_send(sock, frames[i], len,
                             i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
                        fail_msg("zmq_send: %s", zmq_strerror(zmq_errno()));
        }
}

/* Reads one whole message; fails after the socket's receive timeout. */
static void
recv_reply(void *sock, struct reply *r)
{
        int more = 1;

        r->n = 0;
        while (more) {
                zmq_msg_t m;

                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, sock, 0) < 0)
                        fail_msg("no reply from the daemon: %s",
                                 zmq_strerror(zmq_errno()));
                more = zmq_msg_more(&m);
                if (r->n < 8) {
                        r->len[r->n] = zmq_msg_size(&m);
                        r->frame[r->n] = malloc(r->len[r->n] + 1);
                        assert_non_null(r->frame[r->n]);
                        memcpy(r->frame[r->n], zmq_msg_data(&m), r->len[r->n]);
                        r->frame[r->n][r->len[r->n]] = '\0';
                        r->n++;
                }
                zmq_msg_close(&m);
        }
}

/*
 * Checks a reply after `skip` envelope frames: [CONTROL_ID, JSON object]
 * with ok = `ok`; a refusal has an error holding `needle`.
 */
static void
check_reply(struct reply *r, int skip, bool ok, const char *needle,
            const char *what)
{
        json_error_t err;
        json_t *doc;
        const char *error;

        if (r->n != skip + 2)
                fail_msg("%s: reply of %d frames", what, r->n);
        for (int i = 0; i < skip; i++)
                assert_int_equal(r->len[i], 0);
        assert_string_equal(r->frame[skip], CONTROL_ID);
        doc = json_loads(r->frame[skip + 1], 0, &err);
        if (!json_is_object(doc))
                fail_msg("%s: reply is not a JSON object: %s", what,
                         r->frame[skip + 1]);
        if (json_is_true(json_object_get(doc, "ok")) != ok)
                fail_msg("%s: want ok=%d: %s", what, ok, r->frame[skip + 1]);
        if (!ok) {
                assert_true(json_is_false(json_object_get(doc, "ok")));
                error = jstr(doc, "error");
                if (error[0] == '\0' || strstr(error, needle) == NULL)
                        fail_msg("%s: error lacks \"%s\": %s", what, needle,
                                 error);
        }
        json_decref(doc);
}

static void *
control_socket(struct fx *f, void *zctx, int type)
{
        void *s = zmq_socket(zctx, type);
        int linger = 0, timeout = 5000;
        char endpoint[256];

        assert_non_null(s);
        snprintf(endpoint, sizeof(endpoint), "ipc://%s/run/control.sock",
                 f->c.dir);
        assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)),
                         0);
        assert_int_equal(
            zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)), 0);
        assert_int_equal(
            zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout, sizeof(timeout)), 0);
        assert_int_equal(zmq_connect(s, endpoint), 0);
        return s;
}

/* An event request for a pause (which would succeed) plus `extra`. */
#define PAUSE(extra) \
        "{\"cmd\":\"event\",\"kind\":\"pause\",\"school\":\"" URN "\"" extra "}"

/*
 * Hostile requests each get an error reply and change nothing; the daemon
 * still answers afterwards.
 */
static void
test_hostile_requests(void **state)
{
        struct fx *f = *state;
        static const struct {
                const char *frames[4];
                const char *needle;
        } cases[] = {
                { { "ofsted-notify-control/2", "{\"cmd\":\"status\"}" },
                  "unsupported protocol" },
                { { "", "{\"cmd\":\"status\"}" }, "unsupported protocol" },
                { { CONTROL_ID, "this is not JSON" }, "not JSON" },
                { { CONTROL_ID, "" }, "not JSON" },
                { { CONTROL_ID, "[\"status\"]" }, "not a JSON object" },
                { { CONTROL_ID, "\"status\"" }, "JSON" },
                { { CONTROL_ID, "{\"cmd\":\"explode\"}" }, "unknown command" },
                { { CONTROL_ID, "{\"cmd\":7}" }, "no 'cmd'" },
                { { CONTROL_ID, "{\"cmd\":\"status\",\"cmd\":\"list\"}" },
                  "not JSON" },
                { { CONTROL_ID, PAUSE(",\"colour\":\"red\"") },
                  "unknown field 'colour'" },
                { { CONTROL_ID, "{\"cmd\":\"status\"}", "{}" }, "two frames" },
                { { CONTROL_ID }, "two frames" },
                { { CONTROL_ID, "{\"cmd\":\"event\",\"school\":\"" URN "\"}" },
                  "'kind' is required" },
                { { CONTROL_ID, "{\"cmd\":\"event\",\"kind\":\"pause\","
                                "\"school\":\"999999\"}" },
                  "unknown school 999999" },
                { { CONTROL_ID, "{\"cmd\":\"event\",\"kind\":\"pause\","
                                "\"school\":\"12a456\"}" },
                  "not a URN" },
                { { CONTROL_ID, "{\"cmd\":\"event\",\"kind\":\"pause\","
                                "\"school\":100001}" },
                  "must be a string" },
                { { CONTROL_ID, PAUSE(",\"at\":\"2024-13-45T99:00\"") },
                  "at:" },
                { { CONTROL_ID, PAUSE(",\"at\":\"tomorrow\"") }, "at:" },
                { { CONTROL_ID, PAUSE(",\"at\":\"2001-01-01T09:00\"") },
                  "more than a year" },
                { { CONTROL_ID, PAUSE(",\"contact\":\"SOL\\n0300\"") },
                  "control character" },
                { { CONTROL_ID, PAUSE(",\"note\":\"a\\u0000b\"") }, "JSON" },
                { { CONTROL_ID, "{\"cmd\":\"event\",\"kind\":\"inspection\","
                                "\"school\":\"" URN "\"}" },
                  "unknown event kind 'inspection'" },
                { { CONTROL_ID, "{\"cmd\":\"event\",\"kind\":\"Pause!\","
                                "\"school\":\"" URN "\"}" },
                  "unknown event kind" },
                { { CONTROL_ID, PAUSE(",\"new_case\":true") }, "new_case" },
                { { CONTROL_ID, "{\"cmd\":\"event\",\"kind\":\"notification\","
                                "\"school\":\"" URN "\"}" },
                  "already has an open case" },
                { { CONTROL_ID, "{\"cmd\":\"event\",\"kind\":\"resume\","
                                "\"school\":\"" URN "\"}" },
                  "not paused" },
                { { CONTROL_ID, "{\"cmd\":\"list\",\"all\":\"yes\"}" },
                  "true or false" },
                { { CONTROL_ID, "{\"cmd\":\"history\",\"limit\":0}" },
                  "whole number" },
                { { CONTROL_ID, "{\"cmd\":\"show\",\"case\":999999}" },
                  "no case 999999" },
                { { CONTROL_ID, "{\"cmd\":\"show\"}" }, "one of" },
        };
        struct proc_result before_list, before_up, r;
        void *zctx = zmq_ctx_new(), *req, *dealer;
        char *big, *contact, *body;
        struct reply rep;
        json_t *doc;

        write_conf(f, NULL, NULL);
        daemon_start(f);
        open_case(f);
        before_list = cluster_ctl(&f->c, "list", "--all", "--json", NULL);
        before_up = cluster_ctl(&f->c, "upcoming", "--json", NULL);
        assert_int_equal(before_list.status, 0);
        assert_int_equal(before_up.status, 0);

        assert_non_null(zctx);
        req = control_socket(f, zctx, ZMQ_REQ);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int n = 0;
                char what[32];

                while (n < 4 && cases[i].frames[n] != NULL)
                        n++;
                snprintf(what, sizeof(what), "case %zu", i);
                send_frames(req, n, cases[i].frames, NULL);
                recv_reply(req, &rep);
                check_reply(&rep, 0, false, cases[i].needle, what);
                reply_free(&rep);
        }

        /* 1001 characters of contact (two bytes each): one too many. */
        contact = malloc(2 * 1001 + 1);
        assert_non_null(contact);
        for (int i = 0; i < 1001; i++)
                memcpy(contact + 2 * i, "\xc3\xa9", 2);
        contact[2 * 1001] = '\0';
        doc = json_pack("{s:s, s:s, s:s, s:s}", "cmd", "event", "kind", "pause",
                        "school", URN, "contact", contact);
        body = json_dumps(doc, JSON_COMPACT);
        send_frames(req, 2, (const char *[]){ CONTROL_ID, body }, NULL);
        recv_reply(req, &rep);
        check_reply(&rep, 0, false, "longer than 1000 characters", "contact");
        reply_free(&rep);
        free(body);
        json_decref(doc);
        free(contact);

        /* Over 16 KiB, though valid JSON and a valid command. */
        big = malloc(17 * 1024 + 64);
        assert_non_null(big);
        snprintf(big, 64, "{\"cmd\":\"status\",\"pad\":\"");
        memset(big + strlen(big), 'x', 17 * 1024);
        strcpy(big + strlen("{\"cmd\":\"status\",\"pad\":\"") + 17 * 1024,
               "\"}");
        send_frames(req, 2, (const char *[]){ CONTROL_ID, big }, NULL);
        recv_reply(req, &rep);
        check_reply(&rep, 0, false, "larger than", "oversized");
        reply_free(&rep);
        free(big);

        /* A DEALER may leave out REQ's empty delimiter, or send junk. */
        dealer = control_socket(f, zctx, ZMQ_DEALER);
        send_frames(dealer, 3,
                    (const char *[]){ "", CONTROL_ID, "{\"cmd\":\"status\"}" },
                    NULL);
        recv_reply(dealer, &rep);
        check_reply(&rep, 1, true, NULL, "dealer with delimiter");
        reply_free(&rep);
        send_frames(dealer, 2,
                    (const char *[]){ CONTROL_ID, "{\"cmd\":\"status\"}" },
                    NULL);
        recv_reply(dealer, &rep);
        check_reply(&rep, 0, true, NULL, "dealer without delimiter");
        reply_free(&rep);
        send_frames(dealer, 1, (const char *[]){ "{\"cmd\":\"status\"}" },
                    NULL);
        recv_reply(dealer, &rep);
        check_reply(&rep, 0, false, "two frames", "dealer, one frame");
        reply_free(&rep);
        send_frames(dealer, 10,
                    (const char *[]){ "", CONTROL_ID, "{}", "{}", "{}", "{}",
                                      "{}", "{}", "{}", "{}" },
                    NULL);
        recv_reply(dealer, &rep);
        check_reply(&rep, 1, false, "two frames", "dealer, ten frames");
        reply_free(&rep);
        send_frames(dealer, 3,
                    (const char *[]){ "", CONTROL_ID, PAUSE(",\"x\":1") },
                    NULL);
        recv_reply(dealer, &rep);
        check_reply(&rep, 1, false, "unknown field 'x'", "dealer, field");
        reply_free(&rep);
        /* Over the socket's 1 MiB limit: the daemon drops the peer. */
        big = calloc(1, 2 << 20);
        assert_non_null(big);
        send_frames(dealer, 2, (const char *[]){ CONTROL_ID, big },
                    (const size_t[]){ strlen(CONTROL_ID), 2 << 20 });
        free(big);
        {
                int linger = 2000; /* let it go out before the close */

                zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof(linger));
        }
        zmq_close(dealer);
        zmq_close(req);
        zmq_ctx_term(zctx);

        /* Still there, still answering, nothing changed. */
        assert_true(proc_alive(f->c.daemon));
        doc = cluster_ctl_json_want(&f->c, 0, "status", "--json", NULL);
        assert_true(json_is_true(member(doc, "ok")));
        assert_true(jint(doc, "pid") == f->c.daemon);
        json_decref(doc);
        r = cluster_ctl(&f->c, "list", "--all", "--json", NULL);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, before_list.out);
        proc_result_free(&r);
        r = cluster_ctl(&f->c, "upcoming", "--json", NULL);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, before_up.out);
        proc_result_free(&r);
        proc_result_free(&before_list);
        proc_result_free(&before_up);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        f->c.passed = true;
}

/* Waits for monitor event `want` on `mon` (a PAIR); false on timeout. */
static bool
wait_event(void *mon, int want)
{
        long long until = mono_ms() + WAIT_MS;

        while (mono_ms() < until) {
                zmq_pollitem_t item = { mon, 0, ZMQ_POLLIN, 0 };
                zmq_msg_t m;
                uint16_t event;

                if (zmq_poll(&item, 1, 200) <= 0)
                        continue;
                zmq_msg_init(&m);
                assert_true(zmq_msg_recv(&m, mon, 0) >= 6);
                memcpy(&event, zmq_msg_data(&m), sizeof(event));
                assert_true(zmq_msg_more(&m));
                zmq_msg_close(&m);
                zmq_msg_init(&m);
                assert_true(zmq_msg_recv(&m, mon, 0) >= 0); /* endpoint */
                zmq_msg_close(&m);
                if (event == want)
                        return true;
        }
        return false;
}

/*
 * docs/protocol.md: a body over 16 KiB is refused with a reply, up to a
 * frame of 1 MiB; a larger frame is not read: the daemon drops the
 * connection unanswered, which the client sees as a disconnection, and it
 * goes on answering others.
 */
static void
test_oversize_request(void **state)
{
        struct fx *f = *state;
        void *zctx = zmq_ctx_new(), *dealer, *mon, *req;
        const size_t mib = 1 << 20;
        char *big = malloc(mib + 2);
        struct reply rep;
        json_t *doc;

        assert_non_null(zctx);
        assert_non_null(big);
        write_conf(f, NULL, NULL);
        daemon_start(f);

        /* Exactly 1 MiB: read, and refused with a reply. */
        req = control_socket(f, zctx, ZMQ_REQ);
        memset(big, ' ', mib);
        send_frames(req, 2, (const char *[]){ CONTROL_ID, big },
                    (const size_t[]){ strlen(CONTROL_ID), mib });
        recv_reply(req, &rep);
        check_reply(&rep, 0, false, "request larger than 16384 bytes", "1 MiB");
        reply_free(&rep);
        zmq_close(req);

        /* One byte more: the connection is dropped, without a reply. */
        dealer = control_socket(f, zctx, ZMQ_DEALER);
        assert_int_equal(zmq_socket_monitor(dealer, "inproc://oversize",
                                            ZMQ_EVENT_DISCONNECTED),
                         0);
        mon = zmq_socket(zctx, ZMQ_PAIR);
        assert_non_null(mon);
        assert_int_equal(zmq_connect(mon, "inproc://oversize"), 0);
        memset(big, ' ', mib + 1);
        send_frames(dealer, 3, (const char *[]){ "", CONTROL_ID, big },
                    (const size_t[]){ 0, strlen(CONTROL_ID), mib + 1 });
        if (!wait_event(mon, ZMQ_EVENT_DISCONNECTED))
                fail_msg("the daemon kept a connection that sent a frame "
                         "over 1 MiB");
        zmq_socket_monitor(dealer, NULL, 0);
        zmq_close(mon);
        zmq_close(dealer);
        zmq_ctx_term(zctx);
        free(big);

        /* Still there, still answering. */
        assert_true(proc_alive(f->c.daemon));
        doc = cluster_ctl_json_want(&f->c, 0, "status", "--json", NULL);
        assert_true(json_is_true(member(doc, "ok")));
        assert_true(jint(doc, "pid") == f->c.daemon);
        json_decref(doc);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);
        f->c.passed = true;
}

CLUSTER_MAIN_GROUP(group_setup, NULL,
                   {
                       CLUSTER_TEST(test_hostile_requests),
                       CLUSTER_TEST(test_oversize_request),
                   })
