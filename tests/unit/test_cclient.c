/*
 * cclient: the control client against a small ROUTER in this test, on a
 * real ipc:// socket, playing a daemon that answers well, late, never, with
 * another protocol, with a malformed reply or with one over the bound.
 */
#include "cclient.h"
#include "proto.h"

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#define WAIT_MS  10000 /* for a reply that comes */
#define SHORT_MS 300   /* for one that does not */
#define MAX_ACTS 4

/* What the in-test daemon does with each request, in turn. */
enum act {
        ACT_ECHO,     /* {"ok": true, "got": the request} */
        ACT_SILENT,   /* no reply */
        ACT_PROTO2,   /* another protocol id */
        ACT_NOT_JSON, /* a body that is not JSON */
        ACT_NO_OK,    /* an object without "ok" */
        ACT_THREE,    /* three frames */
        ACT_OVERSIZE, /* a 4 KiB reply */
};

struct fx {
        char dir[64];
        char endpoint[128];
        void *zctx;
        void *router;
        pthread_t thread;
        enum act acts[MAX_ACTS];
        size_t nacts;
        char *got[MAX_ACTS]; /* the request bodies the daemon received */
        char *proto[MAX_ACTS];
        const struct script *row; /* the case's row, for test_script */
};

static char *
msg_text(zmq_msg_t *m)
{
        char *s = malloc(zmq_msg_size(m) + 1);

        memcpy(s, zmq_msg_data(m), zmq_msg_size(m));
        s[zmq_msg_size(m)] = '\0';
        return s;
}

/* Receives one request: [peer, "", proto, body]; 0 or -1. */
static int
recv_request(struct fx *f, size_t n, zmq_msg_t *peer)
{
        zmq_msg_t part;

        zmq_msg_init(peer);
        if (zmq_msg_recv(peer, f->router, 0) < 0)
                return -1;
        for (int i = 0; i < 3; i++) {
                zmq_msg_init(&part);
                if (zmq_msg_recv(&part, f->router, 0) < 0)
                        return -1;
                if (i == 1)
                        f->proto[n] = msg_text(&part);
                if (i == 2)
                        f->got[n] = msg_text(&part);
                zmq_msg_close(&part);
        }
        return 0;
}

static void
send_frames(void *sock, zmq_msg_t *peer, const char *const *frames,
            size_t nframes)
{
        zmq_msg_send(peer, sock, ZMQ_SNDMORE);
        zmq_send(sock, "", 0, ZMQ_SNDMORE);
        for (size_t i = 0; i < nframes; i++)
                zmq_send(sock, frames[i], strlen(frames[i]),
                         i + 1 < nframes ? ZMQ_SNDMORE : 0);
}

static void *
daemon_main(void *arg)
{
        struct fx *f = arg;

        for (size_t n = 0; n < f->nacts; n++) {
                zmq_msg_t peer;
                char *echo = NULL, *big = NULL;

                if (recv_request(f, n, &peer) < 0)
                        break;
                switch (f->acts[n]) {
                case ACT_ECHO: {
                        json_t *r =
                            json_pack("{s:b, s:s}", "ok", 1, "got", f->got[n]);

                        echo = json_dumps(r, JSON_COMPACT);
                        json_decref(r);
                        send_frames(f->router, &peer,
                                    (const char *[]){ PROTO_CONTROL_ID, echo },
                                    2);
                        break;
                }
                case ACT_SILENT:
                        break;
                case ACT_PROTO2:
                        send_frames(f->router, &peer,
                                    (const char *[]){ "ofsted-notify-control/2",
                                                      "{\"ok\":true}" },
                                    2);
                        break;
                case ACT_NOT_JSON:
                        send_frames(
                            f->router, &peer,
                            (const char *[]){ PROTO_CONTROL_ID, "ok, sure" },
                            2);
                        break;
                case ACT_NO_OK:
                        send_frames(f->router, &peer,
                                    (const char *[]){ PROTO_CONTROL_ID,
                                                      "{\"error\":\"x\"}" },
                                    2);
                        break;
                case ACT_THREE:
                        send_frames(f->router, &peer,
                                    (const char *[]){ PROTO_CONTROL_ID,
                                                      "{\"ok\":true}", "{}" },
                                    3);
                        break;
                case ACT_OVERSIZE:
                        big = malloc(4096);
                        memset(big, ' ', 4095);
                        memcpy(big, "{\"ok\":true}", 11);
                        big[4095] = '\0';
                        send_frames(f->router, &peer,
                                    (const char *[]){ PROTO_CONTROL_ID, big },
                                    2);
                        break;
                }
                zmq_msg_close(&peer);
                free(echo);
                free(big);
        }
        return NULL;
}

static int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        int linger = 0;

        f->row = *state; /* NULL but for test_script's rows */
        snprintf(f->dir, sizeof(f->dir), "/tmp/test_cclient.XXXXXX");
        if (mkdtemp(f->dir) == NULL)
                return -1;
        snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/control.sock",
                 f->dir);
        f->zctx = zmq_ctx_new();
        f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
        zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof(linger));
        if (zmq_bind(f->router, f->endpoint) < 0)
                return -1;
        *state = f;
        return 0;
}

/* Starts the in-test daemon with its script of acts. */
static void
serve(struct fx *f, size_t nacts, const enum act *acts)
{
        memcpy(f->acts, acts, nacts * sizeof(*acts));
        f->nacts = nacts;
        assert_int_equal(pthread_create(&f->thread, NULL, daemon_main, f), 0);
}

static int
teardown(void **state)
{
        struct fx *f = *state;
        char path[160];

        if (f->nacts > 0)
                pthread_join(f->thread, NULL);
        zmq_close(f->router);
        zmq_ctx_term(f->zctx);
        for (size_t i = 0; i < MAX_ACTS; i++) {
                free(f->got[i]);
                free(f->proto[i]);
        }
        snprintf(path, sizeof(path), "%s/control.sock", f->dir);
        unlink(path);
        rmdir(f->dir);
        free(f);
        return 0;
}

/* One request {"cmd": cmd} on `c`; the error kind, with *reply and *cause. */
static enum cclient_error
request(struct cclient *c, const char *cmd, int ms, json_t **reply,
        char **cause)
{
        json_t *req = json_pack("{s:s}", "cmd", cmd);
        enum cclient_error err = CCLIENT_OK;
        int rc;

        *cause = NULL;
        rc = cclient_request(c, req, ms, reply, &err, cause);
        json_decref(req);
        assert_int_equal(rc, err == CCLIENT_OK ? 0 : -1);
        if (rc == 0)
                assert_null(*cause);
        else
                assert_null(*reply);
        return err;
}

/* Asks cmd and expects the echo of {"cmd": cmd}, as ACT_ECHO answers. */
static void
echoed(struct cclient *c, const char *cmd)
{
        json_t *reply = NULL;
        char *cause, want[64];

        assert_int_equal(request(c, cmd, WAIT_MS, &reply, &cause), CCLIENT_OK);
        assert_true(json_is_true(json_object_get(reply, "ok")));
        snprintf(want, sizeof(want), "{\"cmd\":\"%s\"}", cmd);
        assert_string_equal(json_string_value(json_object_get(reply, "got")),
                            want);
        json_decref(reply);
}

/* Asks cmd and expects error err, its cause being (whole) or containing
 * `says`. */
static void
refused(struct cclient *c, const char *cmd, int ms, enum cclient_error err,
        const char *says, bool whole)
{
        json_t *reply = NULL;
        char *cause;

        assert_int_equal(request(c, cmd, ms, &reply, &cause), err);
        if (whole ? strcmp(cause, says) != 0 : strstr(cause, says) == NULL)
                fail_msg("'%s' does not say '%s'", cause, says);
        free(cause);
}

/* A reply: the protocol id and the request as sent, and the reply whole. */
static void
test_reply(void **state)
{
        struct fx *f = *state;
        struct cclient *c = cclient_new(f->endpoint, NULL, 0);

        assert_non_null(c);
        serve(f, 2, (enum act[]){ ACT_ECHO, ACT_ECHO });
        echoed(c, "status");
        /* The same client asks again on the same socket. */
        echoed(c, "list");
        cclient_destroy(&c);
        assert_null(c);
        cclient_destroy(&c); /* NULL is fine */
        pthread_join(f->thread, NULL);
        f->nacts = 0;
        assert_string_equal(f->proto[0], PROTO_CONTROL_ID);
        assert_string_equal(f->proto[1], PROTO_CONTROL_ID);
}

/* Nobody bound to the endpoint: a timeout too. */
static void
test_no_daemon(void **state)
{
        struct fx *f = *state;
        struct cclient *c;
        char endpoint[160];

        snprintf(endpoint, sizeof(endpoint), "ipc://%s/nobody.sock", f->dir);
        c = cclient_new(endpoint, NULL, 0);
        refused(c, "status", SHORT_MS, CCLIENT_TIMEOUT, endpoint, false);
        cclient_destroy(&c);
}

/*
 * A script of the in-test daemon's acts, the first request's error and
 * what its cause says (%s: the endpoint), and the request after it, which
 * gets its own echo.
 */
struct script {
        const char *name;
        size_t max; /* the client's bound on a reply, 0: the default */
        size_t nacts;
        enum act acts[MAX_ACTS];
        int ms;
        enum cclient_error err;
        bool whole; /* says is the whole cause, else a part of each */
        const char *says[MAX_ACTS - 1];
        const char *then; /* NULL: no request after */
};

static const struct script scripts[] = {
        /* No reply in time is a timeout naming the endpoint; the next
         * request on the same client gets its own reply, not the one given
         * up on. */
        { "timeout then reply",
          0,
          2,
          { ACT_SILENT, ACT_ECHO },
          SHORT_MS,
          CCLIENT_TIMEOUT,
          true,
          { "no answer from the daemon at %s (is ofsted-notifyd running?)" },
          "reload" },
        /* A reply in another protocol is refused, naming what it said. */
        { "wrong protocol",
          0,
          1,
          { ACT_PROTO2 },
          WAIT_MS,
          CCLIENT_PROTOCOL,
          true,
          { "%s answered with protocol 'ofsted-notify-control/2', not "
            "'ofsted-notify-control/1' (is it ofsted-notifyd, of the same "
            "version?)" },
          NULL },
        /* Replies of the wrong shape are malformed, each with its reason;
         * the frame left over from the three does not answer the next. */
        { "malformed",
          0,
          4,
          { ACT_NOT_JSON, ACT_NO_OK, ACT_THREE, ACT_ECHO },
          WAIT_MS,
          CCLIENT_MALFORMED,
          false,
          { "is not JSON", "is not an object with a true or false \"ok\"",
            "is not two frames" },
          "list" },
        /* A reply over the client's bound is not taken: ZeroMQ drops it
         * with the connection, so the client hears nothing; one within it
         * is taken. */
        { "oversize reply",
          1024,
          2,
          { ACT_OVERSIZE, ACT_ECHO },
          SHORT_MS,
          CCLIENT_TIMEOUT,
          false,
          { "no answer from the daemon at %s" },
          "list" },
};

static void
test_script(void **state)
{
        struct fx *f = *state;
        const struct script *row = f->row;
        struct cclient *c = cclient_new(f->endpoint, NULL, row->max);
        char says[300];
        const char *mark;

        serve(f, row->nacts, row->acts);
        for (size_t i = 0; i < MAX_ACTS - 1 && row->says[i] != NULL; i++) {
                mark = strstr(row->says[i], "%s");
                if (mark == NULL)
                        snprintf(says, sizeof(says), "%s", row->says[i]);
                else
                        snprintf(says, sizeof(says), "%.*s%s%s",
                                 (int)(mark - row->says[i]), row->says[i],
                                 f->endpoint, mark + 2);
                print_message("%s: '%s'\n", row->name, says);
                refused(c, "status", row->ms, row->err, says, row->whole);
        }
        if (row->then != NULL)
                echoed(c, row->then);
        cclient_destroy(&c);
}

/* A request over PROTO_MAX_REQUEST is refused before anything is sent:
 * the daemon's first request is the one after it. */
static void
test_request_too_big(void **state)
{
        struct fx *f = *state;
        struct cclient *c = cclient_new(f->endpoint, NULL, 0);
        char *note = malloc(PROTO_MAX_REQUEST + 1), *cause = NULL;
        json_t *req, *reply = NULL;
        enum cclient_error err = CCLIENT_OK;

        memset(note, 'x', PROTO_MAX_REQUEST);
        note[PROTO_MAX_REQUEST] = '\0';
        req = json_pack("{s:s, s:s}", "cmd", "event", "note", note);
        serve(f, 1, (enum act[]){ ACT_ECHO });
        assert_int_equal(cclient_request(c, req, WAIT_MS, &reply, &err, &cause),
                         -1);
        assert_int_equal(err, CCLIENT_TOO_BIG);
        assert_null(reply);
        assert_non_null(strstr(cause, "more than the daemon reads (16384)"));
        free(cause);
        echoed(c, "status");
        pthread_join(f->thread, NULL);
        f->nacts = 0;
        assert_string_equal(f->got[0], "{\"cmd\":\"status\"}");
        json_decref(req);
        free(note);
        cclient_destroy(&c);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_daemon, setup,
                                                teardown),
#define SCRIPT(i)                    \
        { .name = scripts[i].name,   \
          .test_func = test_script,  \
          .setup_func = setup,       \
          .teardown_func = teardown, \
          .initial_state = (void *)&scripts[i] }
                SCRIPT(0),
                SCRIPT(1),
                SCRIPT(2),
                SCRIPT(3),
                cmocka_unit_test_setup_teardown(test_request_too_big, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
