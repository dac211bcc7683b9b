/*
 * itest: helpers the integration tests share (files, clocks, JSON
 * accessors that fail the test with a clear message).
 */
#ifndef ONOTIFY_TEST_ITEST_H
#define ONOTIFY_TEST_ITEST_H

#include "proc.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

void sleep_ms(long ms);
long long mono_ms(void);
/* The monotonic clock in seconds, for timing a call. */
double mono_s(void);
/* The wall clock as httpsink logs it: seconds with a fraction. */
double real_s(void);
json_t *member(json_t *obj, const char *key);
/* `text` parsed, which must be a JSON object; fails the test naming `what`
 * otherwise. New reference. */
json_t *jparse(const char *text, const char *what);
const char *jstr(json_t *obj, const char *key);
json_int_t jint(json_t *obj, const char *key);
json_t *jarr(json_t *obj, const char *key);
json_t *jobj(json_t *obj, const char *key);
/* Fails unless `s` contains `part`. */
void assert_contains(const char *s, const char *part);
/* "2024-03-04T10:15:00Z" */
void utc_text(time_t t, char buf[32]);
/* An RFC 3339 time as the daemon writes it ("...+01:00" or "...Z"). */
int64_t rfc3339(const char *s);
/* Writes `text` to path.new and renames it over path (readers never see
 * half of it). */
void spill(const char *path, const char *text);
/* spill() with the file's mode set to `mode` before the rename. */
void spill_mode(const char *path, const char *text, mode_t mode);
/* The whole file as a new string; "" if it does not exist (any other
 * error fails the test). */
char *slurp(const char *path);
/* The JSON object on each whole line of a JSON-lines file, in order, as a
 * new array (empty if the file does not exist). A line still being
 * written (no newline yet) is left for the next read; a complete line
 * that is not a JSON object fails the test. */
json_t *jsonl_records(const char *path);

/*
 * Fails unless `pid` sends at least `min` WATCHDOG=1 on notify socket `fd`
 * within the next `window_ms`.
 */
void assert_watchdog_pings(int fd, pid_t pid, int min, int window_ms);
/*
 * Sends `pid` SIGHUP and fails unless it then sends RELOADING=1, and READY=1
 * after it, on notify socket `fd`, each within `timeout_ms`.
 */
void assert_sighup_reload(int fd, pid_t pid, int timeout_ms);

/*
 * Runs CTL_BINARY -c `conf` and the arguments from a0 on (NULL-terminated,
 * at most 16), with $STATE_DIRECTORY and $RUNTIME_DIRECTORY as given
 * ("NAME=value") and no NOTIFY_SOCKET or JOURNAL_STREAM; fails the test if
 * it cannot start.
 */
struct proc_result itest_ctl_run(const char *ctl, const char *conf,
                                 char *env_state, char *env_run, const char *a0,
                                 va_list ap);

/*
 * Makes the directory $TMPDIR/<name>.XXXXXX in dir[len] (under /tmp when
 * $TMPDIR is long: ipc and AF_UNIX paths must stay short). 0, or -1 with
 * dir "".
 */
int itest_mkdtemp(char *dir, size_t len, const char *name);
/* Removes `dir` and everything under it; errors are ignored. */
void itest_rmtree(const char *dir);
/* Prints the file at `path` on stderr, its last `max` bytes, framed. */
void itest_show_log(const char *path, size_t max);
/*
 * Starts httpsink (`binary`) logging requests to `log`, following
 * `script`, its own messages to `errlog`, and waits for the port it
 * writes to `portfile`. Returns 0 with *pid and *port, or -1.
 */
int itest_httpsink_start(const char *binary, const char *portfile,
                         const char *log, const char *script,
                         const char *errlog, pid_t *pid, int *port);
/*
 * Starts smtpsink (`python` running `program`, smtpsink.py) spooling the
 * messages it accepts to `spool`, following `script`, with the further
 * arguments `args` (NULL-terminated, at most 15; NULL: none), its own
 * messages to `errlog`, and waits for the port it writes to `portfile`.
 * Returns 0 with *pid and *port, or -1.
 */
int itest_smtpsink_start(const char *python, const char *program,
                         const char *portfile, const char *spool,
                         const char *script, const char *const *args,
                         const char *errlog, pid_t *pid, int *port);

/* --- A sink under test ------------------------------------------------- */

/*
 * httpsink or smtpsink run by its own test: a directory of its own, the
 * files in it, the child and its port. `out` is what it writes: the
 * request log (httpsink) or the spool directory (smtpsink).
 */
struct itest_sink {
        pid_t pid;
        int port;
        char dir[128];
        char portfile[160], out[160], script[160], err[160];
};

/* Zeroes s, makes its directory $TMPDIR/<name>.XXXXXX and names the files
 * in it: port, `out`, script, stderr. */
void itest_sink_prepare(struct itest_sink *s, const char *name,
                        const char *out);
/* Writes the sink's script atomically, as tests must: a file, then a
 * rename. */
void itest_sink_script(const struct itest_sink *s, const char *text);
/*
 * Waits for the port the sink (started as s->pid) writes to s->portfile:
 * whole or nothing, as it is renamed into place. Fails the test with the
 * sink's stderr if it exits or writes none within timeout_ms.
 */
void itest_sink_wait_port(struct itest_sink *s, int timeout_ms);
/* Kills a sink a failed test left running and removes its directory. */
void itest_sink_cleanup(struct itest_sink *s);
/* cmocka setup and teardown: *state is a zeroed struct itest_sink, cleaned
 * up after the test. */
int itest_sink_setup(void **state);
int itest_sink_teardown(void **state);
#define SINK_TEST(t)                                         \
        cmocka_unit_test_setup_teardown(t, itest_sink_setup, \
                                        itest_sink_teardown)
#endif
