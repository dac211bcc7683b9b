/*
 * cluster: the one fixture of the integration tests that run the
 * programs together: a short temporary directory with state/ and run/, a
 * config writer with the common knobs, the daemon, workers, httpsink and
 * smtpsink started and stopped, ofsted-notifyctl run against them, and
 * waits for a positive signal (cluster_wait_until and what is built on
 * it) instead of sleeps. Built on itest and proc.
 *
 * The binaries come from the compile definitions of the testcluster
 * library (DAEMON_BINARY, CTL_BINARY, WORKER_BINARY, WEB_BINARY,
 * HTTPSINK_BINARY,
 * SMTPSINK_PYTHON, SMTPSINK_SCRIPT, SOURCE_DIR).
 */
#ifndef ONOTIFY_TEST_CLUSTER_H
#define ONOTIFY_TEST_CLUSTER_H

#include "itest.h"
#include "proc.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

struct CMUnitTest; /* cmocka.h */

#define CLUSTER_HOLIDAYS SOURCE_DIR "/config/bank-holidays.json"
#define CLUSTER_WORKERS  4
#define CLUSTER_START_MS 20000 /* a child starting */

struct cluster {
        char dir[128];
        char conf[192];
        /* ofsted-notifyctl's config when not c->conf (a test that breaks
         * the daemon's on purpose); "": c->conf. */
        char ctlconf[192];
        char dlog[192], wlog[CLUSTER_WORKERS][192];
        char env_state[224], env_run[224];
        /* The workers' CREDENTIALS_DIRECTORY=...; by default the bare name
         * (unset). */
        char env_creds[224];
        /* More env entries for the workers started from now on (as
         * cluster_daemon_start's, at most 8; NULL: none), e.g.
         * cluster_clock_env(c) for a worker whose wall clock is stepped. */
        char *const *wenv;
        /* httpsink: its request log, its own messages, script, port file. */
        char sinklog[192], sinkerr[192], script[192], portfile[192];
        /* smtpsink: its spool, its own messages, script, port file. */
        char spool[192], smtperr[192], smtpscript[192], smtpportfile[192];
        int port;      /* httpsink's, once started */
        int smtp_port; /* smtpsink's, once started */
        pid_t sink, smtp, daemon, worker[CLUSTER_WORKERS];
        /* ofsted-notify-web: its log, and its port once started. */
        pid_t web;
        char weblog[192];
        int web_port;
        /* More ofsted-notifyd arguments before its -c (NULL-terminated, at
         * most 4; NULL: none), e.g. { "-v", NULL }. */
        const char *const *dargs;
        /* The daemon's NOTIFY_SOCKET once cluster_notify_open() made it
         * (c->nfd, else -1): the waits below drain it, lest the daemon
         * block on a full queue while a test polls something else. */
        char notify[192], env_notify[224];
        int nfd;
        /* The wall clock a test steps (cluster_clock_env()): the file
         * libfaketime reads it from, and the entries that say so. */
        char clock[192], env_clock[224], env_preload[256], env_asan[256];
        char *clock_env[8];
        time_t t0;   /* when the fixture was made */
        bool passed; /* set at the end of a test: no logs shown */
};

/*
 * Makes $TMPDIR/<name>.XXXXXX (under /tmp when $TMPDIR is long: ipc and
 * AF_UNIX paths must stay short) with state/, run/ and spool/, the paths
 * of every file above, and no child. 0, or -1 with nothing left behind.
 */
int cluster_init(struct cluster *c, const char *name);
/* Kills what still runs, shows the logs unless c->passed, removes the
 * directory. */
void cluster_fini(struct cluster *c);
/*
 * cmocka setup and teardown for tests that want nothing else: *state is
 * a struct cluster named after the test program. cluster_teardown() also
 * ends a fixture of a test's own whose first member is its struct cluster
 * (allocated with malloc), as most are.
 */
int cluster_setup(void **state);
int cluster_teardown(void **state);
/*
 * Binds c->notify for sd_notify(3) datagrams (c->nfd) and gives it to the
 * daemons started from now on as NOTIFY_SOCKET; 0 or -1.
 */
int cluster_notify_open(struct cluster *c);

/*
 * What a test program's main does: runs the cmocka tests `tests` (n of
 * them), or only the one named in argv[1] (itest() in CMakeLists.txt
 * registers one CTest per test so), with cmocka group setup and teardown
 * (either may be NULL). Each file lists its tests with CLUSTER_TEST(),
 * which gives each the file's own static setup() and teardown(), in
 * CLUSTER_MAIN() below.
 */
int cluster_main_group(int argc, char **argv, const struct CMUnitTest *tests,
                       size_t n, int (*group_setup)(void **),
                       int (*group_teardown)(void **));
#define CLUSTER_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
/*
 * A test program's whole main(), from the list of its tests, at the end of
 * a file: CLUSTER_MAIN({ CLUSTER_TEST(a), CLUSTER_TEST(b), }), or
 * CLUSTER_MAIN_GROUP(gsetup, gteardown, { ... }) with a cmocka group setup
 * and teardown (either NULL). The list is variadic only because the
 * preprocessor splits a braced list at its commas.
 */
#define CLUSTER_MAIN(...) CLUSTER_MAIN_GROUP(NULL, NULL, __VA_ARGS__)
#define CLUSTER_MAIN_GROUP(gsetup, gteardown, ...)             \
        int main(int argc, char **argv)                        \
        {                                                      \
                const struct CMUnitTest tests[] = __VA_ARGS__; \
                return CLUSTER_RUN(tests, gsetup, gteardown);  \
        }
/* cluster_main_group() on the array `tests`, in a main() of a file's own. */
#define CLUSTER_RUN(tests, gsetup, gteardown)                          \
        cluster_main_group(argc, argv, tests,                          \
                           sizeof(tests) / sizeof((tests)[0]), gsetup, \
                           gteardown)

/* --- Config ------------------------------------------------------------ */

/* The groups every config has; NULL or 0: the default. */
struct cluster_conf {
        const char *path;     /* the file; NULL: c->conf */
        const char *trust;    /* trust.name; NULL: "Test Trust" */
        const char *timezone; /* NULL: Europe/London */
        const char *daemon;   /* more settings for the daemon group */
        /* daemon.control, .dispatch, .feed; NULL: ipc://<name>.sock (in
         * $RUNTIME_DIRECTORY) */
        const char *control, *dispatch, *feed;
        int retry_base;       /* delivery.retry_base; 0: not set */
        int lease;            /* delivery.lease; 0: not set */
        const char *delivery; /* more settings for the delivery group; NULL
                                 and no retry_base or lease: no group */
};

/*
 * Opens k->path or c->conf for writing and writes the trust, daemon (state.db
 * and ipc:// control, dispatch and feed sockets beside it) and delivery groups;
 * the caller writes the rest and closes it with cluster_conf_end().
 */
FILE *cluster_conf_begin(struct cluster *c, const struct cluster_conf *k);
void cluster_conf_end(FILE *fp);

/* --- ofsted-notifyctl ------------------------------------------------- */

/* ofsted-notifyctl -c c->ctlconf or c->conf a0 ... (NULL-terminated, at most
 * 16). */
struct proc_result cluster_vctl(struct cluster *c, const char *a0, va_list ap);
struct proc_result cluster_ctl(struct cluster *c, const char *a0, ...);
/* The same with the config at `conf`. */
struct proc_result cluster_ctl_with(struct cluster *c, const char *conf,
                                    const char *a0, ...);
/* Wants exit status `want` and a JSON object on stdout. New reference. */
json_t *cluster_vctl_json(struct cluster *c, int want, const char *a0,
                          va_list ap);
json_t *cluster_ctl_json_want(struct cluster *c, int want, const char *a0, ...);
/* Wants exit status 0 and a JSON object. New reference. */
json_t *cluster_ctl_json(struct cluster *c, const char *a0, ...);
/* history --json --limit 1000: the deliveries array. New reference. */
json_t *cluster_history(struct cluster *c);

/* --- Processes --------------------------------------------------------- */

/*
 * Starts ofsted-notifyd -c c->conf with `env` (more "K=V" or bare "K"
 * entries, NULL-terminated, at most 8; may be NULL) and waits until it
 * answers `status`. No NOTIFY_SOCKET unless `env` sets one: a test busy
 * elsewhere would not read it, and with the kernel's short datagram queue
 * the daemon would block in sd_notify().
 */
void cluster_daemon_start(struct cluster *c, char *const env[]);
/* Starts it without waiting; 0 or -1. */
int cluster_daemon_spawn(struct cluster *c, char *const env[]);
/* Waits until the daemon answers `status`; fails after CLUSTER_START_MS
 * or when it exits. */
void cluster_daemon_wait(struct cluster *c);
/* Stops the daemon with `sig`; its exit status. */
int cluster_daemon_stop(struct cluster *c, int sig);
/*
 * Starts worker `slot` of `kind` with -c `conf` (NULL: c->conf) and the
 * further arguments `args` (NULL-terminated, at most 16; may be NULL), its
 * log in c->wlog[slot], CREDENTIALS_DIRECTORY as c->env_creds says.
 */
void cluster_worker_start(struct cluster *c, int slot, const char *kind,
                          const char *conf, const char *const args[]);
/* Stops worker `slot` with `sig`; its exit status. */
int cluster_worker_stop(struct cluster *c, int slot, int sig);
/* Sends worker `slot` SIGHUP and waits, at most timeout_ms, for one more
 * "configuration reloaded" in its log. */
void cluster_worker_reload(struct cluster *c, int slot, int timeout_ms);
/* `status --json` until workers.<kind> is `want`; fails after
 * CLUSTER_START_MS. */
void cluster_wait_workers(struct cluster *c, const char *kind, json_int_t want);
/* Stops the workers, the daemon and the sinks with SIGTERM and wants each
 * to exit 0 (under the sanitizers: no leak either). */
void cluster_stop_all(struct cluster *c);
/* The end of a test that got this far: cluster_stop_all(), then
 * c->passed (the teardown shows no logs). */
void cluster_pass(struct cluster *c);

/*
 * Writes a web group for ofsted-notify-web: listening on a free loopback
 * port, run as the test's own user (so the scheduler takes the actor it
 * names), waiting `timeout_ms` for the scheduler; `extra` more settings
 * (may be NULL), whose base_url, if it has one, replaces the default.
 */
void cluster_conf_web(FILE *fp, int timeout_ms, const char *extra);
/*
 * Starts ofsted-notify-web -c c->conf and waits until it logs the port it
 * listens on (c->web_port).
 */
void cluster_web_start(struct cluster *c);
/* The same with `env` (as cluster_daemon_start's, at most 8). */
void cluster_web_start_with(struct cluster *c, char *const env[]);
/* Stops it with `sig`; its exit status. */
int cluster_web_stop(struct cluster *c, int sig);

/* --- A stepped wall clock -------------------------------------------- */

/*
 * The env entries (for cluster_daemon_start(), cluster_web_start_with())
 * of a process whose wall clock this test steps: Debian's libfaketime
 * preloaded, reading its offset from c->clock at every call, the
 * monotonic clock left real (as when an admin runs `date -s`); set to
 * cluster_clock_set(c, 0) first. A sanitized binary is told not to mind
 * the library coming before its runtime.
 */
char *const *cluster_clock_env(struct cluster *c);
/*
 * Sets that clock to the other processes' plus `seconds`. The others' is
 * the real one, or under a time sweep (scripts/test --at: FAKETIME="+N"
 * for every process, this test too) the real one plus the sweep's N.
 */
void cluster_clock_set(struct cluster *c, long seconds);
/* Sets that clock to `t` now (it moves on from there), whatever the
 * others' is: for a test whose dates must stay ahead of the clock. */
void cluster_clock_at(struct cluster *c, time_t t);
/*
 * The sweep's offset in seconds, from $FAKETIME ("+N" or "-N", with an
 * optional s, m, h, d or y; unset or empty: 0). Fails the test on an
 * absolute or other FAKETIME, under which no clock can be stepped.
 */
long cluster_clock_sweep(void);

/* --- Sinks ------------------------------------------------------------- */

/* Starts httpsink; 0 or -1. */
int cluster_httpsink_start(struct cluster *c);
/* Sets its script (NULL: none, 200 for all), atomically. */
void cluster_httpsink_script(struct cluster *c, const char *script);
/* The requests whose path starts with `prefix` (NULL: all), in log order,
 * whole lines only. New array. */
json_t *cluster_sink_requests(struct cluster *c, const char *prefix);
/* How many requests httpsink has logged at exactly `path`. */
size_t cluster_sink_count(struct cluster *c, const char *path);
/* Waits until httpsink has logged `n` requests under `prefix`. New array. */
json_t *cluster_wait_requests(struct cluster *c, const char *prefix, size_t n,
                              int timeout_ms);
/*
 * Starts smtpsink spooling to c->spool, following c->smtpscript (written
 * from `script`, NULL: accept all) with the further arguments `args`
 * (NULL-terminated, at most 15; may be NULL); 0 or -1.
 */
int cluster_smtpsink_start(struct cluster *c, const char *script,
                           const char *const *args);

/* --- Waiting for a positive signal ------------------------------------ */

/*
 * Calls pred(arg) until it is true, at most timeout_ms (50 ms between
 * calls). Returns whether it became true; the caller fails the test
 * saying what it waited for.
 */
bool cluster_wait_until(bool (*pred)(void *arg), void *arg, int timeout_ms);
/* How many times `needle` occurs in the file at `path` (a log). */
int cluster_log_count(const char *path, const char *needle);
/* Waits until the file at `path` holds `needle` at least `n` times; fails
 * the test after timeout_ms. */
void cluster_wait_log(const char *path, const char *needle, int n,
                      int timeout_ms);
/*
 * Polls `status --json` until `delivered` deliveries are delivered and
 * `failed` failed, none pending, sending or waiting to retry; fails after
 * timeout_ms, or at once when more than that are settled.
 */
void cluster_wait_settled(struct cluster *c, json_int_t delivered,
                          json_int_t failed, int timeout_ms);
/* `status --json` until <group>.<key> is at least `n`; fails after
 * timeout_ms. */
void cluster_wait_count(struct cluster *c, const char *group, const char *key,
                        json_int_t n, int timeout_ms);

#endif
