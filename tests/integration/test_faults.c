/*
 * Resource faults, end to end: the real scheduler, a real webhook worker
 * and httpsink on loopback, while
 *
 *  - the state database's disk is full or read-only: faultfs.so, an
 *    LD_PRELOAD module of this directory, fails the scheduler's writes to
 *    that file with ENOSPC or EROFS while a flag file exists, as the kernel
 *    would (no root, no mount);
 *  - another process holds its write lock: this test, through SQLite, as
 *    an admin's `sqlite3 state.db` with `BEGIN IMMEDIATE;` would;
 *  - the scheduler's wall clock steps forward and back: Debian's
 *    libfaketime, its offset read from a file at every call (the monotonic
 *    clock stays real, as it does when an admin runs `date -s`).
 *
 * Checked: a refused event names the cause, exits 1 and leaves every table
 * as it was (row for row); an outcome is acknowledged only once committed
 * (its worker repeats it meanwhile, and the sink sees its request once);
 * the fault is logged once, however long it lasts; the scheduler idles
 * meanwhile; status and STATUS= say it is degraded; when the fault ends,
 * due alerts fire, outcomes are recorded and events are accepted again,
 * without a restart. Across clock steps every alert fires once (late after
 * a forward step past it, never again after a step back) and every
 * delivery reaches the sink exactly once, by its Idempotency-Key.
 *
 * Every wait is bounded and waits for a condition, except the windows in
 * which nothing may happen, which are watched for QUIET_MS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "proc.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOLIDAYS SOURCE_DIR "/config/bank-holidays.json"

#define URN_HOOK "100001" /* channel "hook": Mattermost, not paced */
#define URN_CHAT "100002" /* channel "chat": Slack, paced 1 a second */
#define URN_NONE "100003" /* no rule starts on a notification */
#define LEASE_S  30       /* above the worker's --timeout */
#define DRILL_S  3        /* the drill rule's second alert: "+3s" */

#define START_MS 20000 /* a child starting */
#define WAIT_MS  30000 /* any other wait */
#define QUIET_MS 5000  /* a window in which nothing may happen */
/* CPU the scheduler may use in QUIET_MS with a fault (a loop spinning on
 * it would use all of it). */
#define QUIET_CPU_MS 500

/* How the scheduler is started. */
enum mode {
        PLAIN,
        FAULTFS,  /* its state database fails on cue */
        FAKETIME, /* its wall clock is this test's to step */
};

struct fx {
        char dir[64];
        char conf[96], key[96], flag[96], clock[96], notify[96];
        char state[PATH_MAX]; /* the database, as the kernel names it */
        char sinklog[96], sinkerr[96], script[96], portfile[96];
        char dlog[96], wlog[96];
        char env_state[128], env_run[128], env_notify[128];
        char env_prefix[PATH_MAX + 32], env_flag[128], env_clock[128];
        int port, nfd;
        pid_t sink, daemon, worker;
        bool passed;
};

/* --- Files and the state database ------------------------------------ */

/* How many times `needle` occurs in file `path`. */
static int
log_count(const char *path, const char *needle)
{
        char *text = slurp(path);
        int n = 0;

        for (const char *p = strstr(text, needle); p != NULL;
             p = strstr(p + 1, needle))
                n++;
        free(text);
        return n;
}

/* Every row of the four tables, in order, as text: what the scheduler
 * has committed, read by a connection of this test's own. New string. */
static char *
db_rows(struct fx *f)
{
        static const char *const tables[] = { "cases", "events", "alerts",
                                              "deliveries" };
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        char sql[64], *out = strdup("");

        assert_int_equal(
            sqlite3_open_v2(f->state, &db, SQLITE_OPEN_READONLY, NULL),
            SQLITE_OK);
        for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
                snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY id",
                         tables[t]);
                assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
                                 SQLITE_OK);
                while (sqlite3_step(s) == SQLITE_ROW) {
                        for (int c = 0; c < sqlite3_column_count(s); c++) {
                                const char *v =
                                    (const char *)sqlite3_column_text(s, c);
                                char *next;

                                assert_true(asprintf(&next, "%s%s|", out,
                                                     v ? v : "NULL") > 0);
                                free(out);
                                out = next;
                        }
                }
                sqlite3_finalize(s);
        }
        sqlite3_close(db);
        return out;
}

/* The scheduler's CPU time so far, in ms (utime + stime). */
static long long
cpu_ms(pid_t pid)
{
        char path[64], *text, *p;
        unsigned long long ut = 0, st = 0;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        text = slurp(path);
        /* After the name in parentheses: fields 3.., utime is the 14th. */
        p = strrchr(text, ')');
        assert_non_null(p);
        assert_int_equal(sscanf(p + 2,
                                "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                                "%llu %llu",
                                &ut, &st),
                         2);
        free(text);
        return (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

/* Sets the scheduler's wall clock to the real one plus `offset` seconds. */
static void
clock_set(struct fx *f, long offset)
{
        char text[32];

        snprintf(text, sizeof(text), "%+ld\n", offset);
        spill(f->clock, text);
}

/* --- Config and children --------------------------------------------- */

/* The alerts of the rule `span`, as first configured. */
#define SPAN_ALERTS "\"event\", \"+1h\", \"+3h\""

/*
 * Three schools; the rules `drill` (at the event and DRILL_S later),
 * `span` (`span_alerts`) and `ping` (at the event), each with a deadline
 * ten working days off.
 */
static void
write_conf(struct fx *f, const char *span_alerts)
{
        char text[2048];

        snprintf(
            text, sizeof(text),
            "trust = { name = \"Fault Test Trust\"; holidays = \"%s\"; };\n"
            "daemon = { state = \"state.db\"; late_after = 60; "
            "catch_up = \"late\"; };\n"
            "delivery = { lease = %d; retry_base = 1; };\n"
            "channels = (\n"
            "  { name = \"hook\"; type = \"mattermost\";\n"
            "    url = \"http://127.0.0.1:%d/hook\"; },\n"
            "  { name = \"chat\"; type = \"slack\";\n"
            "    url = \"http://127.0.0.1:%d/chat\"; }\n"
            ");\n"
            "schools = (\n"
            "  { urn = \"%s\"; name = \"Oak\"; channels = [ \"hook\" ]; },\n"
            "  { urn = \"%s\"; name = \"Ash\"; channels = [ \"chat\" ]; },\n"
            "  { urn = \"%s\"; name = \"Elm\"; channels = [ \"hook\" ]; }\n"
            ");\n"
            "rules = (\n"
            "  { name = \"drill\"; event = \"drill\";\n"
            "    deadline = { working_days = 10; time = \"17:00\"; };\n"
            "    alerts = [ \"event\", \"+%ds\" ]; },\n"
            "  { name = \"span\"; event = \"span\";\n"
            "    deadline = { working_days = 10; time = \"17:00\"; };\n"
            "    alerts = [ %s ]; },\n"
            "  { name = \"ping\"; event = \"ping\";\n"
            "    deadline = { working_days = 10; time = \"17:00\"; };\n"
            "    alerts = [ \"event\" ]; }\n"
            ");\n",
            HOLIDAYS, LEASE_S, f->port, f->port, URN_HOOK, URN_CHAT, URN_NONE,
            DRILL_S, span_alerts);
        spill(f->conf, text);
}

static struct proc_result
vctl(struct fx *f, const char *a0, va_list ap)
{
        return itest_ctl_run(CTL_BINARY, f->conf, f->env_state, f->env_run, a0,
                             ap);
}

/* ofsted-notifyctl with `a0`...: wants exit status `want`; returns what it
 * printed (the caller frees). */
static struct proc_result
vctl_want(struct fx *f, int want, const char *a0, va_list ap)
{
        struct proc_result r = vctl(f, a0, ap);

        if (r.status != want)
                fail_msg("ofsted-notifyctl %s: exit %d, not %d; stdout: %s; "
                         "stderr: %s",
                         a0, r.status, want, r.out, r.err);
        return r;
}

static struct proc_result
ctl_want(struct fx *f, int want, const char *a0, ...)
{
        struct proc_result r;
        va_list ap;

        va_start(ap, a0);
        r = vctl_want(f, want, a0, ap);
        va_end(ap);
        return r;
}

/* The same, wanting exit status 0 and nothing of what it printed. */
static void
ctl_ok(struct fx *f, const char *a0, ...)
{
        struct proc_result r;
        va_list ap;

        va_start(ap, a0);
        r = vctl_want(f, 0, a0, ap);
        va_end(ap);
        proc_result_free(&r);
}

/* ofsted-notifyctl with `a0`... --json: wants exit 0 and an object. */
static json_t *
ctl_json(struct fx *f, const char *a0, ...)
{
        struct proc_result r;
        json_error_t err;
        json_t *doc;
        va_list ap;

        va_start(ap, a0);
        r = vctl(f, a0, ap);
        va_end(ap);
        doc = json_loads(r.out, 0, &err);
        if (r.status != 0 || !json_is_object(doc))
                fail_msg("ofsted-notifyctl %s: exit %d; stdout: %s; stderr: "
                         "%s",
                         a0, r.status, r.out, r.err);
        proc_result_free(&r);
        return doc;
}

/* Records event `kind` for `urn` at the scheduler's now; wants it to
 * schedule `n` alerts. */
static void
record(struct fx *f, const char *kind, const char *urn, size_t n)
{
        json_t *r = ctl_json(f, "event", kind, "--school", urn, "--json", NULL);

        assert_int_equal(json_array_size(jarr(r, "scheduled")), n);
        json_decref(r);
}

/* Starts the scheduler as `mode` says and waits for READY=1. */
static void
daemon_start(struct fx *f, enum mode mode)
{
        char *argv[] = { DAEMON_BINARY, "-v", "-c", f->conf, NULL };
        char preload[PATH_MAX + 16], asan[256];
        const char *old = getenv("ASAN_OPTIONS");
        char *env[16] = { f->env_state,    f->env_run,     f->env_notify,
                          "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM" };
        int n = 6;

        /* A sanitized scheduler wants its runtime first; these modules
         * only wrap a few calls and do not mind coming before it. */
        snprintf(asan, sizeof(asan),
                 "ASAN_OPTIONS=%s%sverify_asan_link_order=0", old ? old : "",
                 old && *old ? ":" : "");
        if (mode == FAULTFS) {
                snprintf(preload, sizeof(preload), "LD_PRELOAD=%s",
                         FAULTFS_MODULE);
                env[n++] = preload;
                env[n++] = asan;
                env[n++] = f->env_prefix;
                env[n++] = f->env_flag;
        } else if (mode == FAKETIME) {
                snprintf(preload, sizeof(preload), "LD_PRELOAD=%s",
                         FAKETIME_LIBRARY);
                clock_set(f, 0);
                env[n++] = preload;
                env[n++] = asan;
                env[n++] = f->env_clock;
                env[n++] = "FAKETIME_NO_CACHE=1";
                env[n++] = "DONT_FAKE_MONOTONIC=1";
                env[n++] = "NO_FAKE_STAT=1";
        }
        env[n] = NULL;
        assert_int_equal(f->daemon, -1);
        proc_notify_drain(f->nfd);
        assert_int_equal(proc_start(argv, env, f->dlog, &f->daemon), 0);
        if (proc_notify_wait(f->nfd, "READY=1", START_MS, f->daemon, NULL, 0) <
            0)
                fail_msg("ofsted-notifyd exited or did not say READY=1 "
                         "within %d ms",
                         START_MS);
}

/* `status --json` until its count `group`.`key` is `n`. */
static void
wait_count(struct fx *f, const char *group, const char *key, json_int_t n)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *st = ctl_json(f, "status", "--json", NULL);
                json_int_t got = jint(jobj(st, group), key);

                json_decref(st);
                proc_notify_drain(f->nfd);
                if (got == n)
                        return;
                if (mono_ms() > until)
                        fail_msg("%s %s: %lld, not %lld, after %d ms", group,
                                 key, (long long)got, (long long)n, WAIT_MS);
                sleep_ms(100);
        }
}

/* Starts the webhook worker and waits until the scheduler counts it. */
static void
worker_start(struct fx *f)
{
        char *argv[] = { WORKER_BINARY, "--kind",    "webhook", "-c",
                         f->conf,       "--timeout", "20",      NULL };
        char *const env[] = { f->env_state, f->env_run, "NOTIFY_SOCKET",
                              "JOURNAL_STREAM", NULL };

        assert_int_equal(f->worker, -1);
        assert_int_equal(proc_start(argv, env, f->wlog, &f->worker), 0);
        wait_count(f, "workers", "webhook", 1);
}

static void
worker_stop(struct fx *f)
{
        assert_int_equal(proc_stop(f->worker, SIGTERM), 0);
        f->worker = -1;
        wait_count(f, "workers", "webhook", 0);
}

/* Stops everything with SIGTERM; each must exit 0. */
static void
stop_all(struct fx *f)
{
        if (f->worker > 0)
                assert_int_equal(proc_stop(f->worker, SIGTERM), 0);
        f->worker = -1;
        assert_int_equal(proc_stop(f->daemon, SIGTERM), 0);
        f->daemon = -1;
}

/* --- What the scheduler and the sink say ------------------------------ */

/* `status --json` until `delivered` deliveries are delivered and none is
 * pending, being sent or waiting to retry. */
static void
wait_delivered(struct fx *f, json_int_t delivered)
{
        static const char *const busy[] = { "pending", "sending", "retry",
                                            "failed" };
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *st = ctl_json(f, "status", "--json", NULL);
                json_t *d = jobj(st, "deliveries");
                json_int_t got = jint(d, "delivered"), other = 0;
                char *text;

                for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]); i++)
                        other += jint(d, busy[i]);
                /* The kernel queues few datagrams, and the scheduler would
                 * wait for room to say STATUS=. */
                proc_notify_drain(f->nfd);
                if (got == delivered && other == 0) {
                        json_decref(st);
                        return;
                }
                if (got > delivered || mono_ms() > until) {
                        text = json_dumps(d, JSON_COMPACT);
                        fail_msg("deliveries %s, want %lld delivered", text,
                                 (long long)delivered);
                }
                json_decref(st);
                sleep_ms(100);
        }
}

/* The sink's requests, as an object Idempotency-Key -> count. New. */
static json_t *
sink_keys(struct fx *f)
{
        json_t *all = jsonl_records(f->sinklog), *keys = json_object(), *r;
        size_t i;

        json_array_foreach(all, i, r)
        {
                const char *k = jstr(jobj(r, "headers"), "idempotency-key");
                json_t *n = json_object_get(keys, k);

                json_object_set_new(keys, k,
                                    json_integer(json_integer_value(n) + 1));
        }
        json_decref(all);
        return keys;
}

/* Waits until the sink has seen `n` requests. */
static void
wait_requests(struct fx *f, size_t n)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *all = jsonl_records(f->sinklog);
                size_t got = json_array_size(all);

                json_decref(all);
                proc_notify_drain(f->nfd);
                if (got >= n)
                        return;
                if (mono_ms() > until)
                        fail_msg("the sink saw %zu requests, not %zu", got, n);
                sleep_ms(50);
        }
}

/*
 * History holds `n` deliveries, all delivered, and the sink saw each of
 * them exactly once (by its Idempotency-Key) and nothing else. Returns the
 * history (new reference).
 */
static json_t *
check_once(struct fx *f, size_t n)
{
        json_t *h = ctl_json(f, "history", "--json", NULL);
        json_t *d = jarr(h, "deliveries"), *keys = sink_keys(f), *row;
        size_t i;

        assert_int_equal(json_array_size(d), n);
        assert_int_equal(json_object_size(keys), n);
        json_array_foreach(d, i, row)
        {
                json_t *count = json_object_get(keys, jstr(row, "id"));

                assert_string_equal(jstr(row, "status"), "delivered");
                if (json_integer_value(count) != 1)
                        fail_msg("delivery %s reached the sink %lld times",
                                 jstr(row, "id"),
                                 (long long)json_integer_value(count));
        }
        json_decref(keys);
        return h;
}

/* The alerts of the current case of `urn`, from `show --json`. New. */
static json_t *
alerts_of(struct fx *f, const char *urn)
{
        json_t *r = ctl_json(f, "show", "--school", urn, "--json", NULL);
        json_t *a = json_incref(jarr(jobj(r, "case"), "alerts"));

        json_decref(r);
        return a;
}

/* Counts the alerts of `alerts` in `state`, late or not as `late` says
 * (-1: either). */
static int
count_alerts(json_t *alerts, const char *state, int late)
{
        json_t *a;
        size_t i;
        int n = 0;

        json_array_foreach(alerts, i, a)
        {
                if (strcmp(jstr(a, "state"), state) == 0 &&
                    (late < 0 || json_is_true(member(a, "late")) == late))
                        n++;
        }
        return n;
}

/* --- Fixture ----------------------------------------------------------- */

static int
setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        struct fx *f = calloc(1, sizeof(*f));
        char sub[96];

        if (f == NULL)
                return -1;
        f->sink = f->daemon = f->worker = f->nfd = -1;
        *state = f;
        /* ipc and AF_UNIX paths must stay short. */
        if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 30)
                tmp = "/tmp";
        snprintf(f->dir, sizeof(f->dir), "%s/test_faults.XXXXXX", tmp);
        if (mkdtemp(f->dir) == NULL)
                return -1;
#define PATH(field, name) \
        snprintf(f->field, sizeof(f->field), "%s/" name, f->dir)
        PATH(conf, "faults.conf");
        PATH(flag, "fault");
        PATH(clock, "clock");
        PATH(notify, "notify.sock");
        PATH(sinklog, "sink.jsonl");
        PATH(sinkerr, "sink.err");
        PATH(script, "sink.script");
        PATH(portfile, "sink.port");
        PATH(dlog, "daemon.log");
        PATH(wlog, "worker.log");
#undef PATH
        snprintf(sub, sizeof(sub), "%s/state", f->dir);
        if (mkdir(sub, 0700) < 0 || realpath(sub, f->state) == NULL)
                return -1;
        strcat(f->state, "/state.db");
        snprintf(f->env_state, sizeof(f->env_state), "STATE_DIRECTORY=%s", sub);
        snprintf(sub, sizeof(sub), "%s/run", f->dir);
        if (mkdir(sub, 0700) < 0)
                return -1;
        snprintf(f->env_run, sizeof(f->env_run), "RUNTIME_DIRECTORY=%s", sub);
        snprintf(f->env_notify, sizeof(f->env_notify), "NOTIFY_SOCKET=%s",
                 f->notify);
        snprintf(f->env_prefix, sizeof(f->env_prefix), "FAULTFS_PREFIX=%s",
                 f->state);
        snprintf(f->env_flag, sizeof(f->env_flag), "FAULTFS_FLAG=%s", f->flag);
        snprintf(f->env_clock, sizeof(f->env_clock),
                 "FAKETIME_TIMESTAMP_FILE=%s", f->clock);
        f->nfd = proc_notify_open(f->notify);
        spill(f->script, ""); /* 200 for all */
        if (f->nfd < 0 ||
            itest_httpsink_start(HTTPSINK_BINARY, f->portfile, f->sinklog,
                                 f->script, f->sinkerr, &f->sink, &f->port) < 0)
                return -1;
        write_conf(f, SPAN_ALERTS);
        return 0;
}

static int
teardown(void **state)
{
        struct fx *f = *state;

        if (f->worker > 0)
                proc_stop(f->worker, SIGKILL);
        if (f->daemon > 0)
                proc_stop(f->daemon, SIGKILL);
        if (f->sink > 0)
                proc_stop(f->sink, SIGKILL);
        if (!f->passed) {
                itest_show_log(f->dlog, 16384);
                itest_show_log(f->wlog, 8192);
                itest_show_log(f->sinklog, 8192);
        }
        if (f->nfd >= 0)
                close(f->nfd);
        if (f->dir[0] != '\0')
                itest_rmtree(f->dir);
        free(f);
        return 0;
}

/* --- The state database cannot be written ----------------------------- */

/* The log line of a fault starting, and of one ending. */
#define FAULT_LOGGED "new events are refused; alerts, deliveries"
#define FAULT_ENDED  "state.db can be written again"

/*
 * Starts a fault of kind `errname` ("ENOSPC", "EROFS") and wants the next
 * event refused for `why`, naming the database; returns the tables' rows
 * as they were (the caller frees).
 */
static char *
fault_start(struct fx *f, const char *errname, const char *why)
{
        char *rows = db_rows(f), want[PATH_MAX + 64];
        struct proc_result r;

        spill(f->flag, errname);
        r = ctl_want(f, 1, "notify", "--school", URN_NONE, NULL);
        snprintf(want, sizeof(want),
                 "state database %s: %s; nothing was "
                 "recorded",
                 f->state, why);
        assert_contains(r.err, want);
        proc_result_free(&r);
        return rows;
}

/*
 * A full disk with an outcome on its way and an alert coming due: the
 * event is refused, nothing committed changes, the outcome is not
 * acknowledged (the sink's request is not sent again either), the alert
 * waits, the fault is logged once and the scheduler idles; once there is
 * space, all of it goes through without a restart.
 */
static void
test_disk_full(void **state)
{
        struct fx *f = *state;
        struct proc_result r;
        char *before, *during, line[512];
        long long cpu;
        json_t *st, *h, *alerts;

        /* The worker's request for the event alert is held 2 s, so that
         * its outcome arrives while the disk is full. */
        spill(f->script, "/hook delay 2000\n");
        daemon_start(f, FAULTFS);
        worker_start(f);
        ctl_ok(f, "notify", "--school", URN_HOOK, NULL);
        record(f, "drill", URN_HOOK, 2);
        wait_requests(f, 1);

        before = fault_start(f, "ENOSPC", "disk full");
        /* The outcome comes and is repeated, the drill's second alert
         * comes due: none of it can be committed. */
        cpu = cpu_ms(f->daemon);
        sleep_ms(QUIET_MS);
        cpu = cpu_ms(f->daemon) - cpu;
        if (cpu > QUIET_CPU_MS)
                fail_msg("the scheduler used %lld ms of CPU in %d ms with a "
                         "full disk",
                         cpu, QUIET_MS);
        assert_true(proc_alive(f->daemon));
        during = db_rows(f);
        assert_string_equal(during, before);
        free(during);
        assert_int_equal(log_count(f->wlog, ": delivered"), 1);
        assert_int_equal(log_count(f->dlog, FAULT_LOGGED), 1);
        st = ctl_json(f, "status", "--json", NULL);
        assert_false(json_is_true(member(jobj(st, "database"), "writable")));
        assert_contains(jstr(jobj(st, "database"), "error"), "disk full");
        assert_int_equal(jint(jobj(st, "alerts"), "pending"), 1);
        assert_int_equal(jint(jobj(st, "deliveries"), "sending"), 1);
        json_decref(st);
        r = ctl_want(f, 0, "status", NULL);
        assert_contains(r.out, "DEGRADED: state database ");
        proc_result_free(&r);
        if (proc_notify_wait(f->nfd, "STATUS=degraded: state database", 1000,
                             f->daemon, line, sizeof(line)) < 0)
                fail_msg("no STATUS= saying the scheduler is degraded");
        assert_contains(line, "disk full");

        /* Space again: the outcome is recorded, the alert fires and is
         * delivered, and events are taken. */
        assert_int_equal(unlink(f->flag), 0);
        wait_delivered(f, 2);
        ctl_ok(f, "notify", "--school", URN_NONE, NULL);
        assert_int_equal(log_count(f->dlog, FAULT_LOGGED), 1);
        assert_int_equal(log_count(f->dlog, FAULT_ENDED), 1);
        h = check_once(f, 2);
        json_decref(h);
        alerts = alerts_of(f, URN_HOOK);
        assert_int_equal(count_alerts(alerts, "fired", false), 2);
        assert_int_equal(json_array_size(alerts), 2);
        json_decref(alerts);
        st = ctl_json(f, "status", "--json", NULL);
        assert_true(json_is_true(member(jobj(st, "database"), "writable")));
        assert_int_equal(jint(jobj(st, "cases"), "open"), 2);
        json_decref(st);
        free(before);
        stop_all(f);
        f->passed = true;
}

/*
 * A read-only file system: events and test alerts are refused, naming it,
 * and the tables stay as they were; a reload meanwhile takes the new
 * config and re-plans its alerts once the file can be written.
 */
static void
test_read_only(void **state)
{
        struct fx *f = *state;
        struct proc_result r;
        char *before, *during;
        json_t *up;

        daemon_start(f, FAULTFS);
        ctl_ok(f, "notify", "--school", URN_HOOK, NULL);
        record(f, "span", URN_HOOK, 3);
        wait_count(f, "alerts", "fired", 1);
        before = fault_start(f, "EROFS", "read-only file system");
        r = ctl_want(f, 1, "event", "drill", "--school", URN_HOOK, NULL);
        assert_contains(r.err, "read-only file system; nothing was recorded");
        proc_result_free(&r);
        r = ctl_want(f, 1, "test", "hook", NULL);
        assert_contains(r.err, "read-only file system; nothing was recorded");
        proc_result_free(&r);
        during = db_rows(f);
        assert_string_equal(during, before);
        free(during);
        assert_true(proc_alive(f->daemon));
        assert_int_equal(log_count(f->dlog, FAULT_LOGGED), 1);
        write_conf(f, "\"event\", \"+2h\"");
        ctl_ok(f, "reload", NULL);
        up = ctl_json(f, "upcoming", "--json", NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 2);
        json_decref(up);

        /* Writable again: the span's alerts are re-planned (an hour and
         * three hours become two), and the drill is recorded. */
        assert_int_equal(unlink(f->flag), 0);
        record(f, "drill", URN_HOOK, 2);
        up = ctl_json(f, "upcoming", "--json", NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 2);
        assert_string_equal(
            jstr(json_array_get(jarr(up, "alerts"), 0), "offset"), "+3s");
        assert_string_equal(
            jstr(json_array_get(jarr(up, "alerts"), 1), "offset"), "+2h");
        json_decref(up);
        assert_int_equal(log_count(f->dlog, FAULT_ENDED), 1);
        free(before);
        stop_all(f);
        f->passed = true;
}

/*
 * Another process holds the write lock (an admin's sqlite3 shell in a
 * transaction): an event waits at most the busy timeout, then is refused
 * naming the lock, and later ones are refused at once; an alert coming
 * due waits; when the lock goes, the alert fires and is delivered once,
 * and events are taken again.
 */
static void
test_locked(void **state)
{
        struct fx *f = *state;
        struct proc_result r;
        sqlite3 *admin = NULL;
        char *before, *during;
        json_t *h;

        daemon_start(f, PLAIN);
        worker_start(f);
        ctl_ok(f, "notify", "--school", URN_HOOK, NULL);
        record(f, "drill", URN_HOOK, 2);
        wait_requests(f, 1);

        /* Nothing can be committed from here on: the tables are still. */
        assert_int_equal(sqlite3_open(f->state, &admin), SQLITE_OK);
        /* The daemon may hold the lock for a moment (a worker's heartbeat
         * is a transaction): wait for it, as the sqlite3 shell would. */
        assert_int_equal(sqlite3_busy_timeout(admin, 10000), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(admin, "BEGIN IMMEDIATE", NULL, NULL, NULL),
            SQLITE_OK);
        before = db_rows(f);
        for (int i = 0; i < 2; i++) {
                r = ctl_want(f, 1, "notify", "--school", URN_NONE, NULL);
                assert_contains(r.err, "locked by another process; nothing "
                                       "was recorded");
                proc_result_free(&r);
        }
        /* The drill's second alert comes due meanwhile. */
        sleep_ms(DRILL_S * 1000);
        during = db_rows(f);
        assert_string_equal(during, before);
        free(during);
        assert_int_equal(log_count(f->dlog, FAULT_LOGGED), 1);
        assert_true(proc_alive(f->daemon));

        assert_int_equal(sqlite3_exec(admin, "ROLLBACK", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(admin);
        wait_delivered(f, 2);
        ctl_ok(f, "notify", "--school", URN_NONE, NULL);
        assert_int_equal(log_count(f->dlog, FAULT_ENDED), 1);
        h = check_once(f, 2);
        json_decref(h);
        free(before);
        stop_all(f);
        f->passed = true;
}

/* --- The wall clock steps --------------------------------------------- */

/*
 * Two hours forward while a delivery is on its way: it is not sent again
 * (its lease and its worker keep their time), the alert an hour after
 * the event fires at once, marked late, and the one three hours after
 * stays pending until a later step passes it too. Each alert fires once;
 * each delivery reaches the sink once.
 */
static void
test_clock_forward(void **state)
{
        struct fx *f = *state;
        json_t *h, *alerts, *up;

        spill(f->script, "/hook delay 4000\n");
        daemon_start(f, FAKETIME);
        worker_start(f);
        ctl_ok(f, "notify", "--school", URN_HOOK, NULL);
        record(f, "span", URN_HOOK, 3);
        wait_requests(f, 1);
        clock_set(f, 2 * 3600);
        wait_delivered(f, 2);
        up = ctl_json(f, "upcoming", "--json", NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 1);
        assert_string_equal(
            jstr(json_array_get(jarr(up, "alerts"), 0), "offset"), "+3h");
        json_decref(up);
        h = check_once(f, 2);
        json_decref(h);

        spill(f->script, ""); /* 200 for all */
        clock_set(f, 3 * 3600 + 300);
        wait_delivered(f, 3);
        h = check_once(f, 3);
        json_decref(h);
        alerts = alerts_of(f, URN_HOOK);
        assert_int_equal(json_array_size(alerts), 3);
        assert_int_equal(count_alerts(alerts, "fired", false), 1);
        assert_int_equal(count_alerts(alerts, "fired", true), 2);
        json_decref(alerts);
        assert_int_equal(log_count(f->dlog, "the wall clock stepped +72"), 1);
        stop_all(f);
        f->passed = true;
}

/*
 * Three hours back, with a delivery waiting for a worker and a paced
 * (Slack) channel just used: when the worker comes, the delivery goes at
 * once, and so does the next one to that channel; fired alerts do not
 * fire again. Then six hours forward: the alerts an hour and three hours
 * after the first event fire, late, once each.
 */
static void
test_clock_back(void **state)
{
        struct fx *f = *state;
        json_t *h, *alerts;

        daemon_start(f, FAKETIME);
        worker_start(f);
        ctl_ok(f, "notify", "--school", URN_CHAT, NULL);
        record(f, "span", URN_CHAT, 3);
        wait_delivered(f, 1);
        worker_stop(f);
        record(f, "ping", URN_CHAT, 1);

        clock_set(f, -3 * 3600);
        worker_start(f);
        wait_delivered(f, 2);
        record(f, "ping", URN_CHAT, 1);
        wait_delivered(f, 3);
        h = check_once(f, 3);
        json_decref(h);
        alerts = alerts_of(f, URN_CHAT);
        assert_int_equal(json_array_size(alerts), 5);
        assert_int_equal(count_alerts(alerts, "fired", false), 3);
        assert_int_equal(count_alerts(alerts, "pending", -1), 2);
        json_decref(alerts);

        clock_set(f, 3 * 3600 + 300);
        wait_delivered(f, 5);
        h = check_once(f, 5);
        json_decref(h);
        alerts = alerts_of(f, URN_CHAT);
        assert_int_equal(count_alerts(alerts, "fired", false), 3);
        assert_int_equal(count_alerts(alerts, "fired", true), 2);
        json_decref(alerts);
        assert_int_equal(log_count(f->dlog, "the wall clock stepped -108"), 1);
        stop_all(f);
        f->passed = true;
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_disk_full, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_read_only, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clock_forward, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_clock_back, setup,
                                                teardown),
        };
        /* One CTest per test: the name to run is the argument. */
        if (argc > 1)
                cmocka_set_test_filter(argv[1]);

        return cmocka_run_group_tests(tests, NULL, NULL);
}
