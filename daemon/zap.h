/*
 * zap: the scheduler's gatekeeper for tcp:// endpoints.
 *
 * Owns the ZAP handler (RFC 27: a REP socket on inproc://zeromq.zap.01,
 * served from the main loop) that admits a CURVE client only when its key
 * is on the config's allow-list (curve.h decides), and one monitor per
 * tcp:// socket, so that a handshake that fails for any reason, such as a
 * client that has no CURVE, is logged too. Repeats of one refusal are
 * logged once a minute, not at every reconnect.
 */
#ifndef ONOTIFY_ZAP_H
#define ONOTIFY_ZAP_H

#include "conf.h"

#include <zmq.h>

#define ZAP_MAX_ITEMS 4 /* the handler and three monitors */

struct zap;

/*
 * Binds the ZAP handler in `zctx` (borrowed). Call before any socket with
 * a ZAP domain binds. Returns NULL with *cause (caller frees).
 */
struct zap *zap_new(void *zctx, char **cause);
void zap_destroy(struct zap **zp);

/*
 * Watches `sock` (borrowed; bound to `endpoint`) for failed handshakes,
 * which are logged under `name`. 0, or -1 with *cause.
 */
int zap_watch(struct zap *z, void *sock, const char *name, char **cause);

/* Fills `items` (ZAP_MAX_ITEMS) with what to poll; returns how many. */
int zap_pollitems(struct zap *z, zmq_pollitem_t *items);

/*
 * Answers every waiting ZAP request by `conf`'s allow-list and logs every
 * waiting monitor event. `now_ms` (monotonic) paces repeated log lines.
 */
void zap_handle(struct zap *z, const struct conf *conf, int64_t now_ms);

/* Requests answered so far: admitted and refused. */
void zap_counts(const struct zap *z, unsigned long *admitted,
                unsigned long *refused);

#endif
