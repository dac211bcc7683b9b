#include "cclient.h"

#include "conf.h"
#include "curve.h"
#include "proto.h"
#include "xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

struct cclient {
        char *endpoint;
        const struct conf *conf; /* borrowed; NULL for ipc:// */
        int64_t reply_max;
        void *zctx;
        void *sock; /* NULL until a request needs it */
};

struct cclient *
cclient_new(const char *endpoint, const struct conf *conf, size_t reply_max)
{
        struct cclient *c;
        void *zctx = zmq_ctx_new();

        if (zctx == NULL)
                return NULL;
        c = xcalloc(1, sizeof(*c));
        c->endpoint = xstrdup(endpoint);
        c->conf = conf;
        c->reply_max = reply_max > 0 ? (int64_t)reply_max : CCLIENT_REPLY_MAX;
        c->zctx = zctx;
        return c;
}

/* Closes the socket, if any: the next request makes a new one. */
static void
hang_up(struct cclient *c)
{
        if (c->sock != NULL)
                zmq_close(c->sock);
        c->sock = NULL;
}

void
cclient_destroy(struct cclient **cp)
{
        struct cclient *c = *cp;

        if (c == NULL)
                return;
        hang_up(c);
        while (zmq_ctx_term(c->zctx) < 0 && zmq_errno() == EINTR)
                ;
        free(c->endpoint);
        free(c);
        *cp = NULL;
}

/* Makes and connects the socket: 0, or -1 with *cause. */
static int
dial(struct cclient *c, char **cause)
{
        int linger = 0;
        char *why = NULL;

        c->sock = zmq_socket(c->zctx, ZMQ_REQ);
        if (c->sock == NULL ||
            zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
            zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &c->reply_max,
                           sizeof(c->reply_max)) < 0) {
                xasprintf(cause, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
                goto fail;
        }
        if (conf_endpoint_tcp(c->endpoint) &&
            curve_client(c->sock, c->conf, c->endpoint, &why) < 0) {
                *cause = why;
                goto fail;
        }
        if (zmq_connect(c->sock, c->endpoint) < 0) {
                xasprintf(cause, "cannot connect to %s: %s", c->endpoint,
                          zmq_strerror(zmq_errno()));
                goto fail;
        }
        return 0;
fail:
        hang_up(c);
        return -1;
}

static char *
no_answer(const struct cclient *c)
{
        char *s;

        xasprintf(&s,
                  "no answer from the daemon at %s (is ofsted-notifyd "
                  "running?%s)",
                  c->endpoint,
                  conf_endpoint_tcp(c->endpoint)
                      ? " Is this host's curve.client_key on its allow-list "
                        "with kind \"control\"?"
                      : "");
        return s;
}

/* The first bytes of a frame, printable, for a message; caller frees. */
static char *
frame_excerpt(zmq_msg_t *m)
{
        size_t n = zmq_msg_size(m) < 64 ? zmq_msg_size(m) : 64;
        const unsigned char *d = zmq_msg_data(m);
        char *out = xmalloc(n + 1);

        for (size_t i = 0; i < n; i++)
                out[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
        out[n] = '\0';
        return out;
}

/* Waits until `sock` can be read or `deadline` passes: 1, 0 or -1. */
static int
wait_readable(void *sock, const struct timespec *deadline)
{
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };

        for (;;) {
                struct timespec now;
                long long ms;
                int n;

                clock_gettime(CLOCK_MONOTONIC, &now);
                ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
                     (deadline->tv_nsec - now.tv_nsec) / 1000000;
                if (ms <= 0)
                        return 0;
                n = zmq_poll(&item, 1, (long)ms);
                if (n > 0)
                        return 1;
                if (n < 0 && zmq_errno() != EINTR)
                        return -1;
        }
}

/*
 * Reads the reply waiting on the socket and checks its shape: the reply
 * object, or NULL with *err and *cause.
 */
static json_t *
take_reply(struct cclient *c, enum cclient_error *err, char **cause)
{
        zmq_msg_t id, payload;
        json_t *doc = NULL, *reply = NULL;
        json_error_t jerr;
        char *got = NULL;

        zmq_msg_init(&id);
        zmq_msg_init(&payload);
        /* The parts of one message arrive together, so none can block. */
        if (zmq_msg_recv(&id, c->sock, ZMQ_DONTWAIT) < 0 ||
            (zmq_msg_more(&id) &&
             zmq_msg_recv(&payload, c->sock, ZMQ_DONTWAIT) < 0)) {
                *err = CCLIENT_IO;
                xasprintf(cause, "cannot read from %s: %s", c->endpoint,
                          zmq_strerror(zmq_errno()));
                goto out;
        }
        *err = CCLIENT_PROTOCOL;
        if (zmq_msg_size(&id) != strlen(PROTO_CONTROL_ID) ||
            memcmp(zmq_msg_data(&id), PROTO_CONTROL_ID, zmq_msg_size(&id)) !=
                0) {
                got = frame_excerpt(&id);
                xasprintf(cause,
                          "%s answered with protocol '%s', not '%s' (is it "
                          "ofsted-notifyd, of the same version?)",
                          c->endpoint, got, PROTO_CONTROL_ID);
                goto out;
        }
        *err = CCLIENT_MALFORMED;
        if (!zmq_msg_more(&id) || zmq_msg_more(&payload)) {
                xasprintf(cause, "the reply from %s is not two frames",
                          c->endpoint);
                goto out;
        }
        doc = json_loadb(zmq_msg_data(&payload), zmq_msg_size(&payload), 0,
                         &jerr);
        if (doc == NULL) {
                xasprintf(cause, "the reply from %s is not JSON: %s",
                          c->endpoint, jerr.text);
                goto out;
        }
        if (!json_is_object(doc) ||
            !json_is_boolean(json_object_get(doc, "ok"))) {
                xasprintf(cause,
                          "the reply from %s is not an object with a true or "
                          "false \"ok\"",
                          c->endpoint);
                goto out;
        }
        *err = CCLIENT_OK;
        reply = doc;
        doc = NULL;
out:
        json_decref(doc);
        zmq_msg_close(&id);
        zmq_msg_close(&payload);
        free(got);
        return reply;
}

int
cclient_request(struct cclient *c, const json_t *req, int timeout_ms,
                json_t **reply, enum cclient_error *errp, char **cause)
{
        enum cclient_error err = CCLIENT_SETUP;
        struct timespec deadline;
        char *body;
        size_t len;
        int rc;

        *reply = NULL;
        body = json_dumps(req, JSON_COMPACT);
        if (body == NULL)
                abort(); /* only when out of memory */
        len = strlen(body);
        if (len > PROTO_MAX_REQUEST) {
                err = CCLIENT_TOO_BIG;
                xasprintf(cause,
                          "the request is %zu bytes, more than the daemon "
                          "reads (%d)",
                          len, PROTO_MAX_REQUEST);
                goto out;
        }
        if (c->sock == NULL && dial(c, cause) < 0)
                goto out;
        if (zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &timeout_ms,
                           sizeof(timeout_ms)) < 0) {
                xasprintf(cause, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
                goto out;
        }

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
        }
        if (zmq_send(c->sock, PROTO_CONTROL_ID, strlen(PROTO_CONTROL_ID),
                     ZMQ_SNDMORE) < 0 ||
            zmq_send(c->sock, body, len, 0) < 0) {
                if (zmq_errno() == EAGAIN) {
                        err = CCLIENT_TIMEOUT;
                        *cause = no_answer(c);
                } else {
                        err = CCLIENT_IO;
                        xasprintf(cause, "cannot send to %s: %s", c->endpoint,
                                  zmq_strerror(zmq_errno()));
                }
                goto out;
        }
        rc = wait_readable(c->sock, &deadline);
        if (rc == 0) {
                err = CCLIENT_TIMEOUT;
                *cause = no_answer(c);
                goto out;
        }
        if (rc < 0) {
                err = CCLIENT_IO;
                xasprintf(cause, "cannot read from %s: %s", c->endpoint,
                          zmq_strerror(zmq_errno()));
                goto out;
        }
        *reply = take_reply(c, &err, cause);
out:
        /* A REQ socket that got no good reply cannot send again. */
        if (err != CCLIENT_OK && err != CCLIENT_TOO_BIG)
                hang_up(c);
        if (errp != NULL)
                *errp = err;
        free(body);
        return err == CCLIENT_OK ? 0 : -1;
}
