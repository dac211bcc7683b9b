/*
 * metrics: the daemon's numbers in the Prometheus text exposition format,
 * for node_exporter's textfile collector.
 *
 * A struct metrics collects families (name, type, help) and their samples;
 * metrics_render() writes the text (no timestamps, as the textfile collector
 * requires) and metrics_write() replaces the file atomically (a temporary
 * file in the same directory, fsync, rename), so the collector never reads
 * half a file. Rendering is pure; only metrics_write() does I/O.
 *
 * metrics_daemon() samples the scheduler's numbers into the families
 * ofsted-notifyd(8) lists; metrics_update() reads the store's part,
 * samples, renders and writes in one call, which is all main.c does on
 * its timer.
 */
#ifndef ONOTIFY_METRICS_H
#define ONOTIFY_METRICS_H

#include "conf.h"
#include "dispatch.h"
#include "store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct metrics;

struct metrics *metrics_new(void);
void metrics_destroy(struct metrics **mp);

/* Starts a family: `type` is "gauge" or "counter"; strings are copied. */
void metrics_family(struct metrics *m, const char *name, const char *type,
                    const char *help);
/*
 * Adds a sample to the current family: label name/value pairs terminated by
 * NULL. Label values are escaped as the format requires.
 */
void metrics_sample(struct metrics *m, double value, ...)
    __attribute__((sentinel));

/* The exposition text; caller frees. */
char *metrics_render(const struct metrics *m);
/* Atomically replaces `path` with `text`; -1 and *cause on failure. */
int metrics_write(const char *path, const char *text, char **cause);

/*
 * The scheduler's families: `nums` as store_json_metrics() returns it (it
 * stays the caller's), the workers and outcome counts of `dsp`, whether
 * the state database can be written and when the scheduler started (UTC
 * seconds). Pure; the caller destroys the result.
 */
struct metrics *metrics_daemon(json_t *nums, const struct dispatch *dsp,
                               bool writable, int64_t started);
/* Reads the store's numbers and atomically rewrites `path` with all the
 * families, the channels' of `conf` at `now` among them (ops_metrics());
 * -1 and *cause on failure (the file is left as it was). */
int metrics_update(const char *path, struct store *st,
                   const struct dispatch *dsp, bool writable, int64_t started,
                   const struct conf *conf, int64_t now, char **cause);

#endif
