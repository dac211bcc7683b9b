#include "os.h"

#include "log.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>

static int64_t
clock_ms(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
os_wall_ms(void)
{
        return clock_ms(CLOCK_REALTIME);
}

int64_t
os_mono_ms(void)
{
        return clock_ms(CLOCK_MONOTONIC);
}

int
os_signalfd(void)
{
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                fatal("sigprocmask");
        fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
                fatal("signalfd");
        signal(SIGPIPE, SIG_IGN);
        return fd;
}
