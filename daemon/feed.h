/*
 * feed: the scheduler's side of the alert feed (docs/protocol.md).
 *
 * A struct feed owns the XPUB socket main.c binds and what that socket
 * hands up: how many topics someone subscribes to. While nobody watches,
 * the scheduler writes no alert out for the feed at all (feed_watched()).
 * Publishing never blocks: a slow subscriber loses messages, not us.
 */
#ifndef ONOTIFY_FEED_H
#define ONOTIFY_FEED_H

#include <jansson.h>
#include <stdbool.h>
#include <zmq.h>

struct feed;

/* Takes `sock`, a bound XPUB socket; feed_destroy() closes it. */
struct feed *feed_new(void *sock);
void feed_destroy(struct feed **fp);

/* Fills `item` with what to poll for the feed's subscriptions; returns 1,
 * the number of items filled. */
int feed_pollitems(const struct feed *f, zmq_pollitem_t *item);
/* Takes every subscription and unsubscription the socket has queued. */
void feed_read(struct feed *f);
/* Whether anyone subscribes to any topic. */
bool feed_watched(const struct feed *f);
/* Sends [topic][msg as compact JSON]; the message stays the caller's. A
 * send that fails (no peer, a full queue) is dropped. */
void feed_publish(struct feed *f, const char *topic, json_t *msg);

#endif
