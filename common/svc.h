/*
 * svc: what a long-running process tells its service manager (systemd's
 * sd_notify protocol): ready, reloading, stopping, its status line, and
 * that it is alive. Without $NOTIFY_SOCKET every call does nothing, so the
 * same binary runs by hand.
 */
#ifndef ONOTIFY_SVC_H
#define ONOTIFY_SVC_H

#include <stdint.h>

struct svc_watchdog {
        int64_t period_ms; /* between pings: half of WATCHDOG_USEC; 0 off */
        int64_t next_ms;   /* monotonic time of the next ping */
};

/* Reads $WATCHDOG_USEC (for this process only) and pings at once. */
void svc_watchdog_init(struct svc_watchdog *wd, int64_t now_ms);
/* Pings when one is due at monotonic time now_ms. */
void svc_watchdog_tick(struct svc_watchdog *wd, int64_t now_ms);
/* How long a poll may sleep at now_ms without missing a ping: at most
 * `limit_ms`. */
int64_t svc_watchdog_sleep(const struct svc_watchdog *wd, int64_t now_ms,
                           int64_t limit_ms);

void svc_ready(void);
/* Before reading the configuration again; svc_ready() when done. */
void svc_reloading(void);
void svc_stopping(void);
/* The one-line status `systemctl status` shows (printf-style). */
void svc_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
