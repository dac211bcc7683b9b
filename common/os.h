/*
 * os: what every long-running process here asks of the system the same
 * way: the clocks, and its signals as a file descriptor for its poll loop.
 * These are the edges; nothing in the pure core calls them.
 */
#ifndef ONOTIFY_OS_H
#define ONOTIFY_OS_H

#include <stdint.h>

/* Wall-clock time (what alerts are scheduled in), in milliseconds. */
int64_t os_wall_ms(void);
/* Monotonic time (for intervals: heartbeats, leases), in milliseconds. */
int64_t os_mono_ms(void);
/*
 * Blocks SIGTERM, SIGINT and SIGHUP and returns a non-blocking signalfd
 * that reads them; ignores SIGPIPE. Exits on failure (a process without
 * its signals cannot be stopped cleanly).
 */
int os_signalfd(void);

#endif
