/*
 * watch: ofsted-notifyctl's subscriber to the daemon's feed (docs/protocol.md),
 * the one online command that is not a request and a reply. It prints each
 * alert published for the chosen school, as a line for people or with --json
 * as the object sent, until SIGINT or SIGTERM. A malformed message is
 * reported and skipped: the feed is best effort.
 */
#include "online.h"

#include "cclient.h"
#include "conf.h"
#include "curve.h"
#include "print.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#define TOPIC_PREFIX "deadline."

/* Whether topic "deadline.<rule>.<urn>" is for school `urn` (NULL: any). */
static bool
topic_matches(zmq_msg_t *topic, const char *urn)
{
        const char *d = zmq_msg_data(topic);
        size_t n = zmq_msg_size(topic), ulen;

        if (n < strlen(TOPIC_PREFIX) ||
            memcmp(d, TOPIC_PREFIX, strlen(TOPIC_PREFIX)) != 0)
                return false;
        if (urn == NULL)
                return true;
        ulen = strlen(urn);
        return n > ulen + 1 && d[n - ulen - 1] == '.' &&
               memcmp(d + n - ulen, urn, ulen) == 0;
}

/* Drops the rest of a message whose parts we did not want. */
static void
drop_rest(void *sock)
{
        int more = 1;
        size_t size = sizeof(more);

        while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &size) == 0 && more) {
                zmq_msg_t m;
                int n;

                zmq_msg_init(&m);
                n = zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
                zmq_msg_close(&m);
                if (n < 0)
                        break;
        }
}

/*
 * Reads one message from the feed and prints it if it is for us. A
 * malformed one is reported and skipped: the feed is best effort.
 */
static void
feed_read(const struct online *o, void *sub, const char *urn)
{
        zmq_msg_t topic, payload;
        json_t *doc = NULL;
        char *line = NULL;

        zmq_msg_init(&topic);
        zmq_msg_init(&payload);
        if (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) < 0)
                goto out;
        if (zmq_msg_more(&topic) &&
            zmq_msg_recv(&payload, sub, ZMQ_DONTWAIT) < 0)
                goto out;
        if (!zmq_msg_more(&topic) || zmq_msg_more(&payload)) {
                fprintf(stderr,
                        "ofsted-notifyctl %s: a message on the feed is not "
                        "two frames, ignoring\n",
                        o->cmd);
                drop_rest(sub);
                goto out;
        }
        if (!topic_matches(&topic, urn))
                goto out;
        doc =
            json_loadb(zmq_msg_data(&payload), zmq_msg_size(&payload), 0, NULL);
        if (!json_is_object(doc)) {
                fprintf(stderr,
                        "ofsted-notifyctl %s: a message on the feed is not "
                        "a JSON object, ignoring\n",
                        o->cmd);
                goto out;
        }
        if (o->json) {
                line = json_dumps(doc, JSON_COMPACT);
                if (line == NULL)
                        abort();
                printf("%s\n", line);
        } else {
                print_alert(o, doc);
        }
        fflush(stdout);
out:
        free(line);
        json_decref(doc);
        zmq_msg_close(&topic);
        zmq_msg_close(&payload);
}

int
watch_run(struct online *o, const char *urn)
{
        void *zctx = NULL, *sub = NULL;
        char *endpoint = NULL, *why = NULL;
        sigset_t stop, old;
        int64_t maxsize = CCLIENT_REPLY_MAX;
        int linger = 0, sfd = -1, rc;

        /*
         * SIGINT and SIGTERM end the watch through a signalfd polled with
         * the socket: blocked first, so that ZeroMQ's threads never take
         * them, and no handler or global flag is needed.
         */
        rc = CTL_FAILED;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        sigprocmask(SIG_BLOCK, &stop, &old);
        sfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                fprintf(stderr, "ofsted-notifyctl %s: signalfd: %s\n", o->cmd,
                        strerror(errno));
                goto out;
        }

        endpoint = conf_endpoint_path(o->conf->daemon.feed);
        zctx = zmq_ctx_new();
        if (zctx != NULL)
                sub = zmq_socket(zctx, ZMQ_SUB);
        if (sub == NULL ||
            zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
            zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) <
                0 ||
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, TOPIC_PREFIX,
                           strlen(TOPIC_PREFIX)) < 0) {
                fprintf(stderr, "ofsted-notifyctl: ZeroMQ: %s\n",
                        zmq_strerror(zmq_errno()));
                goto out;
        }
        if (curve_client(sub, o->conf, endpoint, &why) < 0) {
                fprintf(stderr, "ofsted-notifyctl: %s\n", why);
                goto out;
        }
        if (zmq_connect(sub, endpoint) < 0) {
                fprintf(stderr, "ofsted-notifyctl: cannot connect to %s: %s\n",
                        endpoint, zmq_strerror(zmq_errno()));
                goto out;
        }
        if (!o->json && isatty(STDERR_FILENO))
                fprintf(stderr, "Watching %s for alerts; Ctrl-C stops.\n",
                        endpoint);

        for (;;) {
                zmq_pollitem_t items[2] = {
                        { sub, 0, ZMQ_POLLIN, 0 },
                        { NULL, sfd, ZMQ_POLLIN, 0 },
                };

                if (zmq_poll(items, 2, -1) < 0) {
                        if (zmq_errno() == EINTR)
                                continue;
                        fprintf(stderr, "ofsted-notifyctl %s: %s\n", o->cmd,
                                zmq_strerror(zmq_errno()));
                        goto out;
                }
                if (items[1].revents & ZMQ_POLLIN)
                        break;
                if (items[0].revents & ZMQ_POLLIN)
                        feed_read(o, sub, urn);
        }
        rc = CTL_OK;
out:
        if (sub != NULL)
                zmq_close(sub);
        if (zctx != NULL) {
                while (zmq_ctx_term(zctx) < 0 && zmq_errno() == EINTR)
                        ;
        }
        if (sfd >= 0) {
                struct signalfd_siginfo si;

                /* Take the signals that stopped us before unblocking. */
                while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                        ;
                close(sfd);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        free(endpoint);
        free(why);
        return rc;
}
