/*
 * ops: the scheduler's timed work for running it for years (README,
 * "Keeping it healthy"): retention at start and daily
 * (daemon.retention), each channel's scheduled check through the real
 * delivery path (a channel's `check`, daemon.check_time), and each
 * channel's health for `status` and the metrics: when it last delivered,
 * when a person last confirmed it, and whether it is stale
 * (daemon.channel_stale_after) or its last delivery failed for good.
 * main.c calls ops_tick() on every pass of its loop and waits no longer
 * than ops_timeout().
 */
#ifndef ONOTIFY_OPS_H
#define ONOTIFY_OPS_H

#include "conf.h"
#include "store.h"

#include <jansson.h>
#include <stdint.h>

struct ops;

struct ops *ops_new(void);
void ops_destroy(struct ops **op);

/*
 * Does what is due at `now` (UTC seconds): retention when a day has
 * passed since its last run (or it never ran), a check of each channel
 * whose check time has come since its last one (looked at once a minute:
 * check times are minutes). Returns how many checks
 * it made (their deliveries are pending for dispatch).
 */
int ops_tick(struct ops *o, struct store *st, const struct conf *conf,
             int64_t now);
/* After a reload: the channels (new ones, new check settings) are looked
 * at on the next pass, not at the next minute. */
void ops_reloaded(struct ops *o);
/* Milliseconds until ops_tick() has work, from `now` (UTC seconds). */
int64_t ops_timeout(const struct ops *o, int64_t now);

/*
 * For `status`: {"retention": {"closed_cases", "personal" (seconds, null:
 * kept), "last_run" (RFC 3339 or null), "deleted": {"cases", "events",
 * "alerts", "deliveries"}, "blanked"}, "channels": [{"channel", "check",
 * "last_delivered", "last_confirmed", "last_check" (RFC 3339 or null),
 * "last_failed" (bool), "stale" (bool), "warning" (text or null)}]}.
 * NULL and *cause on a store error.
 */
json_t *ops_json_status(const struct ops *o, struct store *st,
                        const struct conf *conf, int64_t now, char **cause);

/*
 * The channels' families for the metrics file: when each last delivered
 * and was last confirmed (UTC seconds, 0: never), and whether it is stale
 * (ofsted-notifyd(8) lists them).
 */
struct metrics;
void ops_metrics(struct metrics *m, struct store *st, const struct conf *conf,
                 int64_t now);

#endif
