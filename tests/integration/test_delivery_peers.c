/*
 * Delivery end to end (delivery.h): Peers on the dispatch socket that speak
 * another protocol version or garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/dproto.h" /* DPROTO_ID, docs/dispatch.md */

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

/* --- Foreign and broken peers ------------------------------------------ */

static void *
dealer(void *ctx, const char *endpoint, const char *id)
{
        void *s = zmq_socket(ctx, ZMQ_DEALER);
        int zero = 0;

        assert_non_null(s);
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        assert_int_equal(zmq_connect(s, endpoint), 0);
        return s;
}

/* One frame of a message to send: len 0 means strlen(data). */
struct frame {
        const char *data;
        size_t len;
};

static void
send_frames(void *s, const struct frame *fr, int n)
{
        for (int i = 0; i < n; i++) {
                size_t len = fr[i].len ? fr[i].len : strlen(fr[i].data);

                if (zmq_send(s, fr[i].data, len, i < n - 1 ? ZMQ_SNDMORE : 0) <
                    0)
                        fail_msg("zmq_send: %s", zmq_strerror(zmq_errno()));
        }
}

/*
 * Receives one message within timeout_ms: its frames as strings into
 * out[max] (caller frees). Returns how many frames; 0 when none came.
 */
static int
recv_frames(void *s, char **out, int max, int timeout_ms)
{
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        long long until = mono_ms() + timeout_ms;
        int n = 0, more = 1;
        size_t len = sizeof(more);

        while (!(it.revents & ZMQ_POLLIN)) {
                long long left = until - mono_ms();

                if (left <= 0)
                        return 0;
                if (zmq_poll(&it, 1, (long)left) < 0 && zmq_errno() != EINTR)
                        fail_msg("zmq_poll: %s", zmq_strerror(zmq_errno()));
        }
        while (more) {
                zmq_msg_t m;

                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, s, 0) < 0) {
                        zmq_msg_close(&m);
                        break;
                }
                if (n < max)
                        out[n++] = strndup(zmq_msg_data(&m), zmq_msg_size(&m));
                zmq_msg_close(&m);
                zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len);
        }
        return n;
}

static void
frames_free(char **frames, int n)
{
        for (int i = 0; i < n; i++)
                free(frames[i]);
}

/*
 * A peer speaking another protocol version is refused; peers sending
 * garbage (wrong frame counts, bodies that are no JSON object, bad READY
 * fields, unknown types, a frame over the size limit) get nothing back
 * and register nothing; the daemon keeps running and still dispatches.
 */
static void
test_foreign_peers(void **state)
{
        static const struct frame junk[][7] = {
                { { "\x00\xff\xfe junk", 8 } },
                { { DPROTO_ID, 0 },
                  { "READY", 0 },
                  { "{}", 0 },
                  { "x", 0 },
                  { "y", 0 },
                  { "z", 0 },
                  { "w", 0 } },
                { { DPROTO_ID, 0 }, { "READY", 0 }, { "not json {", 0 } },
                { { DPROTO_ID, 0 }, { "READY", 0 }, { "[1, 2]", 0 } },
                { { DPROTO_ID, 0 },
                  { "READY", 0 },
                  { "{\"kind\": \"fax\", \"credit\": 5}", 0 } },
                { { DPROTO_ID, 0 },
                  { "READY", 0 },
                  { "{\"kind\": \"webhook\", \"credit\": 100000}", 0 } },
                { { DPROTO_ID, 0 },
                  { "READY", 0 },
                  { "{\"kind\": \"webhook\", \"credit\": \"many\"}", 0 } },
                { { DPROTO_ID, 0 }, { "READY", 0 } },
                { { DPROTO_ID, 0 }, { "NONSENSE", 0 }, { "{}", 0 } },
                { { DPROTO_ID, 0 }, { "\xff\xfe", 2 }, { "\x00{", 2 } },
        };
        static const int njunk[] = { 1, 7, 3, 3, 3, 3, 3, 2, 3, 3 };
        static const struct frame v9[] = { { "ofsted-notify-dispatch/9", 0 },
                                           { "READY", 0 },
                                           { "{}", 0 } };
        static const struct frame beat[] = { { DPROTO_ID, 0 },
                                             { "HEARTBEAT", 0 },
                                             { "{\"credit\": 1}", 0 } };
        struct fx *f = *state;
        void *ctx = zmq_ctx_new(), *old, *bad, *big;
        char endpoint[256], at[32], *got[4], *huge;
        json_t *body, *d, *reqs, *st;
        struct proc_result r;
        int n;

        assert_non_null(ctx);
        cluster_daemon_start(&f->c, NULL);
        snprintf(endpoint, sizeof(endpoint), "ipc://%s/run/dispatch.sock",
                 f->c.dir);

        old = dealer(ctx, endpoint, "test/old-version");
        send_frames(old, v9, 3);
        n = recv_frames(old, got, 4, WAIT_MS);
        assert_int_equal(n, 3);
        assert_string_equal(got[0], DPROTO_ID);
        assert_string_equal(got[1], "REFUSE");
        body = json_loads(got[2], 0, NULL);
        assert_true(json_is_object(body));
        assert_true(strlen(jstr(body, "error")) > 0);
        json_decref(body);
        frames_free(got, n);

        /*
         * The junk, then a heartbeat, which a peer the daemon does not know
         * gets a HELLO for. The daemon reads one peer's messages in order:
         * if HELLO is the first answer, none of the junk got one.
         */
        bad = dealer(ctx, endpoint, "test/junk");
        for (size_t i = 0; i < sizeof(njunk) / sizeof(njunk[0]); i++)
                send_frames(bad, junk[i], njunk[i]);
        send_frames(bad, beat, 3);
        n = recv_frames(bad, got, 4, WAIT_MS);
        assert_int_equal(n, 3);
        assert_string_equal(got[0], DPROTO_ID);
        assert_string_equal(got[1], "HELLO");
        frames_free(got, n);
        n = recv_frames(bad, got, 4, 200);
        frames_free(got, n);
        assert_int_equal(n, 0);

        /* Over the daemon's message size limit: the peer is cut off. */
        huge = calloc(1, 2 << 20);
        assert_non_null(huge);
        big = dealer(ctx, endpoint, "test/huge");
        send_frames(big,
                    (const struct frame[]){
                        { DPROTO_ID, 0 }, { "READY", 0 }, { huge, 2 << 20 } },
                    3);
        n = recv_frames(big, got, 4, 1000);
        frames_free(got, n);
        assert_int_equal(n, 0);
        free(huge);
        zmq_close(old);
        zmq_close(bad);
        zmq_close(big);
        zmq_ctx_term(ctx);

        /* Still running, nothing registered, and it still dispatches. */
        assert_true(proc_alive(f->c.daemon));
        cluster_wait_workers(&f->c, "webhook", 0);
        cluster_httpsink_script(&f->c, NULL);
        worker_start(f, 0, NULL, 1);
        utc_text(time(NULL), at);
        record(f, "drill", URN_SOLO, at);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(json_array_size(reqs), 1);
        json_decref(reqs);
        json_decref(d);
        /* Each of the ten junk messages was counted; the old version's
         * READY was refused, and the huge one never reached the daemon. */
        st = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_int_equal(jint(jobj(st, "dispatch"), "malformed"), 10);
        assert_int_equal(jint(jobj(st, "dispatch"), "delivered"), 1);
        json_decref(st);
        r = cluster_ctl(&f->c, "status", NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, "\nOutcomes:   delivered 1, retried 0, failed "
                               "0, given up 0 (since start)\n");
        assert_contains(r.out, "\nMalformed:  10 messages from workers "
                               "dropped (since start)\n");
        proc_result_free(&r);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_foreign_peers),
})
