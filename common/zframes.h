/*
 * zframes: receiving one multipart ZeroMQ message into a bounded array of
 * frames, for every socket a process reads (the dispatch, control and ZAP
 * sockets, the worker's DEALER). A message with more frames than the array
 * holds keeps the first ones and counts the rest, so the caller can refuse
 * it; the extra frames are received and released, never left queued.
 */
#ifndef ONOTIFY_ZFRAMES_H
#define ONOTIFY_ZFRAMES_H

#include <stddef.h>
#include <zmq.h>

#define ZFRAMES_MAX 8

struct zframes {
        int n;     /* frames kept in f[] */
        int total; /* frames the message had */
        zmq_msg_t f[ZFRAMES_MAX];
};

/*
 * Receives the next message waiting on `sock`, without blocking, keeping
 * at most `max` (<= ZFRAMES_MAX) frames. Returns z->n: 0 when nothing was
 * waiting. The caller calls zframes_close(z) after a message.
 */
int zframes_recv(void *sock, struct zframes *z, int max);
/* Releases the frames; z can receive again. */
void zframes_close(struct zframes *z);

static inline const void *
zframes_data(struct zframes *z, int i)
{
        return zmq_msg_data(&z->f[i]);
}

static inline size_t
zframes_size(struct zframes *z, int i)
{
        return zmq_msg_size(&z->f[i]);
}

#endif
