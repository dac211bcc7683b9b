/*
 * Tests for feed: a real XPUB on an inproc:// endpoint and real SUB
 * sockets; the count of watched topics follows their subscriptions, and
 * what is published arrives as [topic][compact JSON].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "feed.h"
#include "support.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "zsocks.h"

#define ENDPOINT  "inproc://feed-test"
#define MAX_SOCKS 4
#define WAIT_MS   10000

struct fx {
        void *zctx;
        struct feed *feed;
        void *socks[MAX_SOCKS]; /* clients, closed by teardown */
};

static int
setup(void **state)
{
        struct fx *fx = calloc(1, sizeof(*fx));
        void *sock;
        int zero = 0;

        fx->zctx = zmq_ctx_new();
        sock = zmq_socket(fx->zctx, ZMQ_XPUB);
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
        if (zmq_bind(sock, ENDPOINT) < 0)
                return -1;
        fx->feed = feed_new(sock);
        *state = fx;
        return 0;
}

static int
teardown(void **state)
{
        struct fx *fx = *state;

        feed_destroy(&fx->feed);
        assert_null(fx->feed);
        feed_destroy(&fx->feed); /* NULL is fine */
        zsocks_close_all(fx->socks, MAX_SOCKS);
        zmq_ctx_term(fx->zctx);
        free(fx);
        return 0;
}

static void *
subscriber(struct fx *fx, const char *topic)
{
        void *s =
            zsocks_connect(fx->zctx, ZMQ_SUB, ENDPOINT, fx->socks, MAX_SOCKS);

        assert_int_equal(zmq_setsockopt(s, ZMQ_SUBSCRIBE, topic, strlen(topic)),
                         0);
        return s;
}

/* Closes a client before teardown does. */
static void
drop(struct fx *fx, void *s)
{
        zsocks_drop(fx->socks, MAX_SOCKS, s);
}

/* Reads the feed's socket as the daemon's loop does, until feed_watched()
 * is `want`; fails the test after WAIT_MS. */
static void
wait_watched(struct feed *f, bool want)
{
        zmq_pollitem_t item;

        assert_int_equal(feed_pollitems(f, &item), 1);
        for (int waited = 0; feed_watched(f) != want; waited += 100) {
                assert_true(waited < WAIT_MS);
                assert_true(zmq_poll(&item, 1, 100) >= 0);
                if (item.revents & ZMQ_POLLIN)
                        feed_read(f);
        }
}

static char *
recv_text(void *s)
{
        zmq_msg_t m;
        char *text;
        zmq_pollitem_t item = { s, 0, ZMQ_POLLIN, 0 };

        assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
        zmq_msg_init(&m);
        assert_true(zmq_msg_recv(&m, s, 0) >= 0);
        text = strndup(zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
        return text;
}

static void
test_unwatched(void **state)
{
        struct fx *fx = *state;

        assert_false(feed_watched(fx->feed));
        assert_false(feed_watched(NULL));
}

static void
test_subscribe_publish_unsubscribe(void **state)
{
        struct fx *fx = *state;
        void *sub = subscriber(fx, "alert.");
        json_t *msg = json_pack("{s:s, s:i}", "urn", "100001", "n", 2);
        char *topic, *body;

        wait_watched(fx->feed, true);
        feed_publish(fx->feed, "alert.pause_limit", msg);
        topic = recv_text(sub);
        body = recv_text(sub);
        assert_string_equal(topic, "alert.pause_limit");
        assert_string_equal(body, "{\"urn\":\"100001\",\"n\":2}");
        /* The message stays the caller's. */
        assert_int_equal(msg->refcount, 1);

        assert_int_equal(zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, "alert.", 6), 0);
        wait_watched(fx->feed, false);
        free(topic);
        free(body);
        json_decref(msg);
        drop(fx, sub);
}

/* Watchers of two topics that disconnect without unsubscribing: their
 * topics are dropped as they go, and the feed is watched no more. */
static void
test_watchers_disconnect(void **state)
{
        struct fx *fx = *state;
        void *a = subscriber(fx, "alert.a");
        void *b = subscriber(fx, "alert.b");

        wait_watched(fx->feed, true);
        drop(fx, a);
        drop(fx, b);
        wait_watched(fx->feed, false);
}

/* Publishing with nobody connected drops the message and returns. */
static void
test_publish_unwatched(void **state)
{
        struct fx *fx = *state;
        json_t *msg = json_pack("{s:s}", "urn", "100001");

        feed_publish(fx->feed, "alert.x", msg);
        assert_false(feed_watched(fx->feed));
        json_decref(msg);
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_unwatched, setup, teardown),
    cmocka_unit_test_setup_teardown(test_subscribe_publish_unsubscribe, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_watchers_disconnect, setup, teardown),
    cmocka_unit_test_setup_teardown(test_publish_unwatched, setup, teardown),
})
