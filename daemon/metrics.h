/*
 * metrics: the daemon's numbers in the Prometheus text exposition format,
 * for node_exporter's textfile collector.
 *
 * A struct metrics collects families (name, type, help) and their samples;
 * metrics_render() writes the text (no timestamps, as the textfile collector
 * requires) and metrics_write() replaces the file atomically (a temporary
 * file in the same directory, fsync, rename), so the collector never reads
 * half a file. Rendering is pure; only metrics_write() does I/O.
 */
#ifndef ONOTIFY_METRICS_H
#define ONOTIFY_METRICS_H

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

#endif
