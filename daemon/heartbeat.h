/*
 * heartbeat: the dead-man's switch (daemon.heartbeat). Once every period
 * a webhook worker GETs the push monitor's URL (healthchecks.io, Uptime
 * Kuma), so that a service outside notices when the whole system is
 * down. What it proves is the scheduler's health: the heartbeat goes only
 * from the loop, only once a write to the state database has succeeded
 * (store_probe()), and only through the dispatch socket to a worker that
 * answers (dispatch_beat()). Periods are on the monotonic clock; one
 * that passes without a heartbeat is lost, never made up later, and a
 * heartbeat is never sent again: one older than its period proves
 * nothing. main.c calls heartbeat_tick() on every pass of its loop and
 * waits no longer than heartbeat_timeout().
 */
#ifndef ONOTIFY_HEARTBEAT_H
#define ONOTIFY_HEARTBEAT_H

#include "conf.h"
#include "dispatch.h"
#include "store.h"

#include <stdint.h>

struct heartbeat;

struct heartbeat *heartbeat_new(void);
/* Accepts NULL; sets *hp to NULL. */
void heartbeat_destroy(struct heartbeat **hp);

/*
 * Sends this period's heartbeat when it has not gone yet and the store
 * and a worker allow it; `mono_ms` the monotonic clock, `wall_ms` the
 * wall clock (for status). Logs once when a whole period went without
 * one, and once when one goes again. Nothing without
 * daemon.heartbeat.url_file.
 */
void heartbeat_tick(struct heartbeat *h, struct store *st, struct dispatch *d,
                    const struct conf *conf, int64_t mono_ms, int64_t wall_ms);
/* Milliseconds until heartbeat_tick() has work, from `mono_ms`. */
int64_t heartbeat_timeout(const struct heartbeat *h, const struct conf *conf,
                          int64_t mono_ms);

#endif
