/*
 * log: the process log, on stderr.
 *
 * Under systemd (JOURNAL_STREAM set, or log_init(..., true)) every line starts
 * with a <N> syslog priority prefix so journald keeps the level; on a terminal
 * lines start with the program name. The verbosity is the one piece of global
 * state the house style allows. Library code does not log: callers do.
 */
#ifndef ONOTIFY_LOG_H
#define ONOTIFY_LOG_H

#include <stdbool.h>

/* verbose: 0 = info and above, 1 = debug too. */
void log_init(const char *progname, int verbose, bool journal);
/*
 * log_hold: from now on, lines below warning are held in a buffer, to go
 * out together at the next log_flush() (or when 64 KiB are held), not a
 * write(2) each. A loop that logs a line per delivery calls it once at
 * start and log_flush() before it waits. Warnings and worse, and exit(),
 * flush at once.
 */
void log_hold(void);
void log_flush(void);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
