/*
 * Tests for control_serve(): the control socket's framing, with a real
 * ROUTER on an inproc:// endpoint and real REQ and DEALER clients. The
 * requests here never reach a command, so the context is empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control.h"
#include "proto.h"
#include "support.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "zsocks.h"

#define ENDPOINT  "inproc://control-test"
#define MAX_SOCKS 4
#define WAIT_MS   10000
#define NOW       1732406400

struct fx {
        void *zctx;
        void *router;
        struct control_ctx cctx;
        void *socks[MAX_SOCKS]; /* clients, closed by teardown */
};

static int
setup(void **state)
{
        struct fx *fx = calloc(1, sizeof(*fx));
        int zero = 0;

        fx->zctx = zmq_ctx_new();
        fx->router = zmq_socket(fx->zctx, ZMQ_ROUTER);
        zmq_setsockopt(fx->router, ZMQ_LINGER, &zero, sizeof(zero));
        if (zmq_bind(fx->router, ENDPOINT) < 0)
                return -1;
        *state = fx;
        return 0;
}

static int
teardown(void **state)
{
        struct fx *fx = *state;

        zmq_close(fx->router);
        zsocks_close_all(fx->socks, MAX_SOCKS);
        zmq_ctx_term(fx->zctx);
        free(fx);
        return 0;
}

static void *
client(struct fx *fx, int type)
{
        return zsocks_connect(fx->zctx, type, ENDPOINT, fx->socks, MAX_SOCKS);
}

/* Closes a client before teardown does. */
static void
drop(struct fx *fx, void *s)
{
        zsocks_drop(fx->socks, MAX_SOCKS, s);
}

/* Sends `n` frames from `c` and serves them as the daemon's loop does,
 * once the ROUTER has them. */
static void
request(struct fx *fx, void *c, const char *const *frames, int n)
{
        zmq_pollitem_t item = { fx->router, 0, ZMQ_POLLIN, 0 };

        for (int i = 0; i < n; i++)
                assert_true(zmq_send(c, frames[i], strlen(frames[i]),
                                     i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
        assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
        control_serve(&fx->cctx, fx->router, NOW);
}

/* Receives the reply on `c`: [protocol id][body]; returns its "error". */
static char *
reply_error(void *c)
{
        zmq_pollitem_t item = { c, 0, ZMQ_POLLIN, 0 };
        char id[64], body[1024];
        int n, more = 0;
        size_t len = sizeof(more);
        json_t *doc;
        char *error;

        assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
        n = zmq_recv(c, id, sizeof(id) - 1, 0);
        assert_int_equal(n, (int)strlen(PROTO_CONTROL_ID));
        id[n] = '\0';
        assert_string_equal(id, PROTO_CONTROL_ID);
        zmq_getsockopt(c, ZMQ_RCVMORE, &more, &len);
        assert_true(more);
        n = zmq_recv(c, body, sizeof(body) - 1, 0);
        assert_true(n > 0 && n < (int)sizeof(body));
        body[n] = '\0';
        zmq_getsockopt(c, ZMQ_RCVMORE, &more, &len);
        assert_false(more);
        doc = json_loads(body, 0, NULL);
        assert_non_null(doc);
        assert_true(json_is_false(json_object_get(doc, "ok")));
        error = strdup(json_string_value(json_object_get(doc, "error")));
        json_decref(doc);
        return error;
}

/* A REQ client's envelope (routing id, empty delimiter) goes back with the
 * reply, and its request reaches the command table. */
static void
test_req(void **state)
{
        struct fx *fx = *state;
        void *c = client(fx, ZMQ_REQ);
        const char *const frames[] = { PROTO_CONTROL_ID, "{\"cmd\":\"nope\"}" };
        char *error;

        request(fx, c, frames, 2);
        error = reply_error(c);
        assert_string_equal(error, "unknown command 'nope'");
        free(error);
        drop(fx, c);
}

/* A DEALER has no empty delimiter; three frames are refused. */
static void
test_dealer_three_frames(void **state)
{
        struct fx *fx = *state;
        void *c = client(fx, ZMQ_DEALER);
        const char *const frames[] = { PROTO_CONTROL_ID, "{}", "{}" };
        char *error;

        request(fx, c, frames, 3);
        error = reply_error(c);
        assert_string_equal(error, "a request is two frames: the protocol id "
                                   "and a JSON body");
        free(error);
        drop(fx, c);
}

static void
test_other_protocol(void **state)
{
        struct fx *fx = *state;
        void *c = client(fx, ZMQ_REQ);
        const char *const frames[] = { "ONOTIFY-CTL/0",
                                       "{\"cmd\":\"status\"}" };
        char *error;

        request(fx, c, frames, 2);
        error = reply_error(c);
        assert_non_null(strstr(error, "unsupported protocol"));
        free(error);
        drop(fx, c);
}

/* With nothing waiting it returns at once, and serves what comes next. */
static void
test_nothing_waiting(void **state)
{
        struct fx *fx = *state;
        void *c = client(fx, ZMQ_DEALER);
        const char *const frames[] = { PROTO_CONTROL_ID, "[]" };
        char *error;

        control_serve(&fx->cctx, fx->router, NOW);
        request(fx, c, frames, 2);
        error = reply_error(c);
        assert_string_equal(error, "request is not a JSON object");
        free(error);
        drop(fx, c);
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_req, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dealer_three_frames, setup, teardown),
    cmocka_unit_test_setup_teardown(test_other_protocol, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nothing_waiting, setup, teardown),
})
