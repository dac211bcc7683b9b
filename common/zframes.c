#include "zframes.h"

int
zframes_recv(void *sock, struct zframes *z, int max)
{
        int more = 1;
        size_t len = sizeof(more);

        if (max > ZFRAMES_MAX)
                max = ZFRAMES_MAX;
        z->n = z->total = 0;
        while (more) {
                zmq_msg_t part;

                zmq_msg_init(&part);
                if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&part);
                        break;
                }
                if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) < 0)
                        more = 0;
                z->total++;
                if (z->n < max)
                        z->f[z->n++] = part;
                else
                        zmq_msg_close(&part);
        }
        return z->n;
}

void
zframes_close(struct zframes *z)
{
        for (int i = 0; i < z->n; i++)
                zmq_msg_close(&z->f[i]);
        z->n = z->total = 0;
}
