/*
 * feed: the XPUB socket and its subscription count.
 */
#include "feed.h"

#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct feed {
        void *sock;
        int topics; /* topics someone subscribes to */
};

struct feed *
feed_new(void *sock)
{
        struct feed *f = xcalloc(1, sizeof(*f));

        f->sock = sock;
        return f;
}

void
feed_destroy(struct feed **fp)
{
        struct feed *f = *fp;

        if (f == NULL)
                return;
        if (f->sock != NULL)
                zmq_close(f->sock);
        free(f);
        *fp = NULL;
}

int
feed_pollitems(const struct feed *f, zmq_pollitem_t *item)
{
        *item = (zmq_pollitem_t){ f->sock, 0, ZMQ_POLLIN, 0 };
        return 1;
}

/*
 * Subscriptions as XPUB hands them up: [1, topic] when a topic gets its
 * first subscriber, [0, topic] when it loses its last (a watcher that
 * disconnects unsubscribes).
 */
void
feed_read(struct feed *f)
{
        for (;;) {
                zmq_msg_t m;
                int first;

                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, f->sock, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&m);
                        return;
                }
                first = zmq_msg_size(&m) > 0
                            ? ((const unsigned char *)zmq_msg_data(&m))[0]
                            : -1;
                if (first == 1)
                        f->topics++;
                else if (first == 0 && f->topics > 0)
                        f->topics--;
                zmq_msg_close(&m);
        }
}

bool
feed_watched(const struct feed *f)
{
        return f != NULL && f->topics > 0;
}

void
feed_publish(struct feed *f, const char *topic, json_t *msg)
{
        char *text = json_dumps(msg, JSON_COMPACT);

        if (zmq_send(f->sock, topic, strlen(topic),
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(f->sock, text, strlen(text), ZMQ_DONTWAIT) < 0)
                log_debug("feed: %s", zmq_strerror(errno));
        free(text);
}
