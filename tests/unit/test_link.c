/*
 * Tests for the worker's link to the scheduler (workers/link.h), against
 * a ROUTER of the test's own on a real ipc:// socket: READY on request,
 * an OUTCOME sent again when its time comes until the matching ACK (same
 * delivery, same lease) arrives, a heartbeat with the credit given, and
 * messages handed to the caller's table, ACK and HEARTBEAT excepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "link.h"
#include "os.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

struct fixture {
        char dir[64];
        char endpoint[128];
        void *zctx, *router;
        struct conf conf;
        struct link *link;
        char peer[256]; /* the worker's routing id */
        size_t peerlen;
        int hellos, jobs;
};

static int
setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        int timeout = 5000, zero = 0, status = 0;
        char *cause = NULL;

        snprintf(f->dir, sizeof(f->dir), "/tmp/test_link.XXXXXX");
        if (mkdtemp(f->dir) == NULL)
                return -1;
        snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/dispatch", f->dir);
        f->zctx = zmq_ctx_new();
        f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
        zmq_setsockopt(f->router, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
        zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof(zero));
        if (zmq_bind(f->router, f->endpoint) < 0)
                return -1;
        f->conf.daemon.dispatch = f->endpoint;
        f->conf.curve.client_key = "";
        f->link = link_new(&f->conf, "webhook", 7, &cause, &status);
        if (f->link == NULL) {
                fprintf(stderr, "link_new: %s\n", cause);
                return -1;
        }
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fixture *f = *state;
        char cmd[96];

        link_destroy(&f->link);
        zmq_close(f->router);
        zmq_ctx_term(f->zctx);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        free(f);
        return system(cmd) == 0 ? 0 : -1;
}

/* The next message the worker sent, decoded; fails after 5 s of none. */
static void
next(struct fixture *f, struct dproto_msg *m)
{
        zmq_msg_t part[4];
        struct dproto_frame fr[3];
        char *cause = NULL;
        int n = 0, more = 1;

        while (more) {
                assert_true(n < 4);
                zmq_msg_init(&part[n]);
                assert_true(zmq_msg_recv(&part[n], f->router, 0) >= 0);
                more = zmq_msg_more(&part[n]);
                n++;
        }
        assert_int_equal(n, 4);
        f->peerlen = zmq_msg_size(&part[0]);
        memcpy(f->peer, zmq_msg_data(&part[0]), f->peerlen);
        for (int i = 0; i < 3; i++)
                fr[i] = (struct dproto_frame){ zmq_msg_data(&part[i + 1]),
                                               zmq_msg_size(&part[i + 1]) };
        assert_int_equal(dproto_decode(fr, 3, m, &cause), 0);
        for (int i = 0; i < n; i++)
                zmq_msg_close(&part[i]);
}

/* The next message of `type`, skipping others (heartbeats). */
static void
next_of(struct fixture *f, enum dproto_type type, struct dproto_msg *m)
{
        for (;;) {
                next(f, m);
                if (m->type == type)
                        return;
                dproto_msg_clear(m);
        }
}

/* Sends [DPROTO_ID][type][body] to the worker and lets the link read it. */
static void
say(struct fixture *f, enum dproto_type type, const char *body,
    link_handler *const handlers[DPROTO_NTYPES])
{
        const char *name = dproto_type_names[type];
        zmq_pollitem_t items[2];
        int n;

        assert_true(zmq_send(f->router, f->peer, f->peerlen, ZMQ_SNDMORE) >= 0);
        assert_true(zmq_send(f->router, DPROTO_ID, strlen(DPROTO_ID),
                             ZMQ_SNDMORE) >= 0);
        assert_true(zmq_send(f->router, name, strlen(name), ZMQ_SNDMORE) >= 0);
        assert_true(zmq_send(f->router, body, strlen(body), 0) >= 0);
        n = link_poll_items(f->link, items);
        assert_int_equal(zmq_poll(items, n, 5000), 1);
        link_read(f->link, handlers, f);
}

static void
on_hello(void *arg, const struct dproto_msg *m)
{
        struct fixture *f = arg;

        assert_int_equal(m->type, DPROTO_HELLO);
        f->hellos++;
}

static link_handler *const handlers[DPROTO_NTYPES] = {
        [DPROTO_HELLO] = on_hello,
};

/* The scheduler's ACK of an OUTCOME's lease, or of a RECEIPT. */
static void
say_ack(struct fixture *f, const char *uid, int64_t lease, bool receipt)
{
        char *ack =
            dproto_ack_encode(&(struct dproto_ack){ uid, lease, receipt });

        say(f, DPROTO_ACK, ack, handlers);
        free(ack);
}

static void
test_ready(void **state)
{
        struct fixture *f = *state;
        struct dproto_msg m;

        link_ready(f->link, 5);
        next_of(f, DPROTO_READY, &m);
        assert_int_equal(m.u.ready.kind, DPROTO_KIND_WEBHOOK);
        assert_int_equal(m.u.ready.credit, 5);
        dproto_msg_clear(&m);
}

static void
test_outcome_until_ack(void **state)
{
        struct fixture *f = *state;
        struct dproto_msg m;
        int64_t t0 = os_mono_ms();

        link_ready(f->link, 7);
        next_of(f, DPROTO_READY, &m);
        dproto_msg_clear(&m);

        link_outcome(f->link,
                     &(struct dproto_outcome){ "d-1", 42, DPROTO_RETRY, 503, 30,
                                               false, "busy", NULL, 0 },
                     t0);
        next_of(f, DPROTO_OUTCOME, &m);
        assert_string_equal(m.u.outcome.delivery, "d-1");
        assert_int_equal(m.u.outcome.lease, 42);
        assert_int_equal(m.u.outcome.result, DPROTO_RETRY);
        assert_int_equal(m.u.outcome.code, 503);
        assert_int_equal(m.u.outcome.retry_after, 30);
        dproto_msg_clear(&m);
        assert_int_equal(link_unacked(f->link), 1);
        assert_true(link_next_ms(f->link) <= t0 + DPROTO_RESEND_MS);

        /* Unacknowledged when its time comes: sent again, the same. The
         * heartbeat due by then carries the credit given. */
        link_timers(f->link, t0 + DPROTO_RESEND_MS, 3);
        next_of(f, DPROTO_HEARTBEAT, &m);
        assert_int_equal(m.u.heartbeat.credit, 3);
        dproto_msg_clear(&m);
        next_of(f, DPROTO_OUTCOME, &m);
        assert_string_equal(m.u.outcome.delivery, "d-1");
        assert_int_equal(m.u.outcome.lease, 42);
        dproto_msg_clear(&m);

        /* An ACK for another lease of the same delivery changes nothing. */
        say_ack(f, "d-1", 41, false);
        assert_int_equal(link_unacked(f->link), 1);

        /* The matching ACK: no longer kept, nothing left to repeat. */
        say_ack(f, "d-1", 42, false);
        assert_int_equal(link_unacked(f->link), 0);
        assert_int_equal(f->hellos, 0);
}

/*
 * A RECEIPT is kept and repeated as an OUTCOME is, until an ACK of a
 * receipt for its delivery: the ACK of an OUTCOME of the same delivery
 * and lease 0 does not end it, nor does another delivery's.
 */
static void
test_receipt_until_ack(void **state)
{
        struct fixture *f = *state;
        struct dproto_msg m;
        int64_t t0 = os_mono_ms();

        link_outcome(f->link,
                     &(struct dproto_outcome){ "d-1", 0, DPROTO_DELIVERED, 200,
                                               -1, false, NULL, NULL, 0 },
                     t0);
        next_of(f, DPROTO_OUTCOME, &m);
        dproto_msg_clear(&m);
        link_receipt(f->link, &(struct dproto_receipt){ "d-1", "u1", 1700 },
                     t0);
        next_of(f, DPROTO_RECEIPT, &m);
        assert_string_equal(m.u.receipt.delivery, "d-1");
        assert_string_equal(m.u.receipt.acknowledged_by, "u1");
        dproto_msg_clear(&m);
        assert_int_equal(link_unacked(f->link), 2);

        /* The OUTCOME's ACK (lease 0): the receipt stays. */
        say_ack(f, "d-1", 0, false);
        assert_int_equal(link_unacked(f->link), 1);

        /* Unacknowledged when its time comes: sent again, the same. */
        link_timers(f->link, t0 + DPROTO_RESEND_MS, 3);
        next_of(f, DPROTO_HEARTBEAT, &m);
        dproto_msg_clear(&m);
        next_of(f, DPROTO_RECEIPT, &m);
        assert_string_equal(m.u.receipt.delivery, "d-1");
        assert_true(m.u.receipt.acknowledged_at == 1700);
        dproto_msg_clear(&m);

        /* Another delivery's receipt ACK changes nothing; its own ends it. */
        say_ack(f, "d-2", 0, true);
        assert_int_equal(link_unacked(f->link), 1);
        say_ack(f, "d-1", 0, true);
        assert_int_equal(link_unacked(f->link), 0);
}

static void
test_handlers(void **state)
{
        struct fixture *f = *state;
        struct dproto_msg m;
        char *hello = dproto_hello_encode();

        link_ready(f->link, 1);
        next_of(f, DPROTO_READY, &m);
        dproto_msg_clear(&m);
        say(f, DPROTO_HELLO, hello, handlers);
        assert_int_equal(f->hellos, 1);
        /* A type the table leaves out is dropped, not a crash. */
        say(f, DPROTO_REFUSE, "{\"error\":\"no\"}", handlers);
        say(f, DPROTO_HEARTBEAT, "{}", handlers);
        assert_int_equal(f->hellos, 1);
        free(hello);
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_ready, setup, teardown),
    cmocka_unit_test_setup_teardown(test_outcome_until_ack, setup, teardown),
    cmocka_unit_test_setup_teardown(test_receipt_until_ack, setup, teardown),
    cmocka_unit_test_setup_teardown(test_handlers, setup, teardown),
})
