#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define HOLD_BYTES (64 * 1024)

static struct {
        const char *progname;
        int verbose;
        bool journal;
        bool hold;
        char buf[HOLD_BYTES]; /* stderr's buffer while lines are held */
} log_state = { "ofsted-notify", 0, false, false, { 0 } };

void
log_init(const char *progname, int verbose, bool journal)
{
        log_state.progname = progname;
        log_state.verbose = verbose;
        log_state.journal = journal || getenv("JOURNAL_STREAM") != NULL;
}

void
log_hold(void)
{
        if (setvbuf(stderr, log_state.buf, _IOFBF, sizeof(log_state.buf)) == 0)
                log_state.hold = true;
}

void
log_flush(void)
{
        if (log_state.hold)
                fflush(stderr);
}

static void __attribute__((format(printf, 3, 0)))
vlog(int pri, int errnum, const char *fmt, va_list ap)
{
        if (pri == LOG_DEBUG && log_state.verbose < 1)
                return;
        if (log_state.journal)
                fprintf(stderr, "<%d>", pri);
        else
                fprintf(stderr, "%s: ", log_state.progname);
        vfprintf(stderr, fmt, ap);
        if (errnum != 0)
                fprintf(stderr, ": %s", strerror(errnum));
        fputc('\n', stderr);
        /* A warning or worse goes out at once, and whatever was held
         * before it, in order. */
        if (log_state.hold && pri <= LOG_WARNING)
                fflush(stderr);
}

#define LOG_FN(fn, pri, with_errno)                         \
        void fn(const char *fmt, ...)                       \
        {                                                   \
                int saved = errno;                          \
                va_list ap;                                 \
                va_start(ap, fmt);                          \
                vlog(pri, with_errno ? saved : 0, fmt, ap); \
                va_end(ap);                                 \
                errno = saved;                              \
        }

LOG_FN(log_debug, LOG_DEBUG, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_notice, LOG_NOTICE, 0)
LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_err, LOG_ERR, 0)

void
fatal(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        va_start(ap, fmt);
        vlog(LOG_CRIT, saved, fmt, ap);
        va_end(ap);
        exit(1);
}

void
fatalx(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vlog(LOG_CRIT, 0, fmt, ap);
        va_end(ap);
        exit(1);
}
