#include "svc.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

void
svc_watchdog_init(struct svc_watchdog *wd, int64_t now_ms)
{
        uint64_t usec = 0;

        wd->period_ms = 0;
        if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
                wd->period_ms =
                    (int64_t)(usec / 2000) > 0 ? (int64_t)(usec / 2000) : 1;
        wd->next_ms = now_ms;
        svc_watchdog_tick(wd, now_ms);
}

void
svc_watchdog_tick(struct svc_watchdog *wd, int64_t now_ms)
{
        if (wd->period_ms == 0 || now_ms < wd->next_ms)
                return;
        sd_notify(0, "WATCHDOG=1");
        wd->next_ms = now_ms + wd->period_ms;
}

int64_t
svc_watchdog_sleep(const struct svc_watchdog *wd, int64_t now_ms,
                   int64_t limit_ms)
{
        int64_t ms;

        if (wd->period_ms == 0)
                return limit_ms;
        ms = wd->next_ms - now_ms;
        if (ms < 0)
                ms = 0;
        return ms < limit_ms ? ms : limit_ms;
}

void
svc_ready(void)
{
        sd_notify(0, "READY=1");
}

void
svc_reloading(void)
{
        sd_notify(0, "RELOADING=1");
}

void
svc_stopping(void)
{
        sd_notify(0, "STOPPING=1");
}

void
svc_status(const char *fmt, ...)
{
        char line[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        sd_notifyf(0, "STATUS=%s", line);
}
