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
 * Every wait is bounded and waits for a condition: where nothing may
 * happen, for a positive sign that it had its chance (the alert due and
 * still pending on two answers of the scheduler's, the worker's outcome
 * refused and sent again).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"

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

#define URN_HOOK "100001" /* channel "hook": Mattermost, not paced */
#define URN_CHAT "100002" /* channel "chat": Slack, paced 1 a second */
#define URN_NONE "100003" /* no rule starts on a notification */
#define LEASE_S  30       /* above the worker's --timeout */
#define DRILL_S  3        /* the drill rule's second alert: "+3s" */

#define WAIT_MS 30000 /* any wait */
/* CPU the scheduler may use with a fault while the test waits for the
 * signs above (a loop spinning on it would use all of that time). A coarse
 * spin detector only: that it idles for as long as a fault lasts is the
 * soak's to show (tests/soak). */
#define QUIET_CPU_MS 500

/* How the scheduler is started. */
enum mode {
        PLAIN,
        FAULTFS,  /* its state database fails on cue */
        FAKETIME, /* its wall clock is this test's to step */
};

/* The cluster (the scheduler with -v and a notify socket, a webhook
 * worker in slot 0, httpsink) and the faults' files. */
struct fx {
        struct cluster c;
        char flag[192];
        char state[PATH_MAX]; /* the database, as the kernel names it */
        char env_prefix[PATH_MAX + 32], env_flag[224];
};
/* c first: teardown() is cluster_teardown(), which frees f as its c. */
_Static_assert(offsetof(struct fx, c) == 0, "struct fx starts with c");

/* --- Files and the state database ------------------------------------ */

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
        static const struct cluster_conf k = {
                .trust = "Fault Test Trust",
                .daemon = "late_after = 60; catch_up = \"late\";",
                .lease = LEASE_S,
                .retry_base = 1,
        };
        FILE *fp = cluster_conf_begin(&f->c, &k);

        fprintf(
            fp,
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
            f->c.port, f->c.port, URN_HOOK, URN_CHAT, URN_NONE, DRILL_S,
            span_alerts);
        cluster_conf_end(fp);
}

/* ofsted-notifyctl with `a0`...: wants exit status `want`; returns what it
 * printed (the caller frees). */
static struct proc_result
vctl_want(struct fx *f, int want, const char *a0, va_list ap)
{
        struct proc_result r = cluster_vctl(&f->c, a0, ap);

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

/* Records event `kind` for `urn` at the scheduler's now; wants it to
 * schedule `n` alerts. */
static void
record(struct fx *f, const char *kind, const char *urn, size_t n)
{
        json_t *r = cluster_ctl_json(&f->c, "event", kind, "--school", urn,
                                     "--json", NULL);

        assert_int_equal(json_array_size(jarr(r, "scheduled")), n);
        json_decref(r);
}

/* Starts the scheduler as `mode` says and waits until it answers. */
static void
daemon_start(struct fx *f, enum mode mode)
{
        char preload[PATH_MAX + 16], asan[256];
        const char *old = getenv("ASAN_OPTIONS"), *more = getenv("LD_PRELOAD");
        char *env[16];
        int n = 0;

        if (mode == FAKETIME) {
                cluster_daemon_start(&f->c, cluster_clock_env(&f->c));
                return;
        }
        if (mode == FAULTFS) {
                /* A sanitized scheduler wants its runtime first; faultfs
                 * only wraps a few calls and does not mind coming before
                 * it. The time sweep's libfaketime stays (scripts/test
                 * --at). */
                snprintf(asan, sizeof(asan),
                         "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
                         old ? old : "", old && *old ? ":" : "");
                snprintf(preload, sizeof(preload), "LD_PRELOAD=%s%s%s",
                         FAULTFS_MODULE, more && *more ? ":" : "",
                         more ? more : "");
                env[n++] = preload;
                env[n++] = asan;
                env[n++] = f->env_prefix;
                env[n++] = f->env_flag;
        }
        env[n] = NULL;
        cluster_daemon_start(&f->c, env);
}

/* Starts the webhook worker and waits until the scheduler counts it. */
static void
worker_start(struct fx *f)
{
        static const char *const args[] = { "--timeout", "20", NULL };

        cluster_worker_start(&f->c, 0, "webhook", NULL, args);
        cluster_wait_workers(&f->c, "webhook", 1);
}

static void
worker_stop(struct fx *f)
{
        assert_int_equal(cluster_worker_stop(&f->c, 0, SIGTERM), 0);
        cluster_wait_workers(&f->c, "webhook", 0);
}

/* --- What the scheduler and the sink say ------------------------------ */

/* `status --json` until `delivered` deliveries are delivered and none is
 * pending, being sent, waiting to retry or failed. */
static void
wait_delivered(struct fx *f, json_int_t delivered)
{
        cluster_wait_settled(&f->c, delivered, 0, WAIT_MS);
}

/* The sink's requests, as an object Idempotency-Key -> count. New. */
static json_t *
sink_keys(struct fx *f)
{
        json_t *all = cluster_sink_requests(&f->c, NULL), *keys = json_object();
        json_t *r;
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
        json_decref(cluster_wait_requests(&f->c, NULL, n, WAIT_MS));
}

/*
 * History holds `n` deliveries, all delivered, and the sink saw each of
 * them exactly once (by its Idempotency-Key) and nothing else. Returns the
 * history (new reference).
 */
static json_t *
check_once(struct fx *f, size_t n)
{
        json_t *h = cluster_ctl_json(&f->c, "history", "--json", NULL);
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
        json_t *r =
            cluster_ctl_json(&f->c, "show", "--school", urn, "--json", NULL);
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

/* The due and still pending alert, seen by the scheduler. */
struct due_wait {
        struct fx *f;
        int seen; /* answers that showed it */
};

static bool
due_pending(void *arg)
{
        struct due_wait *w = arg;
        json_t *st = cluster_ctl_json(&w->f->c, "status", "--json", NULL);
        json_t *next = member(st, "next_alert");

        /* Alerts fall due at whole seconds: one second later at most it
         * would have fired. */
        if (json_is_string(next) &&
            rfc3339(json_string_value(next)) < (int64_t)time(NULL) - 1 &&
            jint(jobj(st, "alerts"), "pending") >= 1)
                w->seen++;
        json_decref(st);
        return w->seen >= 2;
}

/*
 * Waits until an alert is due and still pending, on two answers of the
 * scheduler's (two passes of its loop, each of which would fire it):
 * the positive sign that it waits, for the caller to check that nothing
 * was written meanwhile.
 */
static void
wait_due_pending(struct fx *f)
{
        struct due_wait w = { f, 0 };

        if (!cluster_wait_until(due_pending, &w, WAIT_MS))
                fail_msg("no alert due and pending within %d ms", WAIT_MS);
}

/* --- Fixture ----------------------------------------------------------- */

static int
setup(void **state)
{
        static const char *const dargs[] = { "-v", NULL };
        struct fx *f = calloc(1, sizeof(*f));
        char sub[160];

        if (f == NULL)
                return -1;
        *state = f;
        if (cluster_init(&f->c, "test_faults") < 0)
                return -1;
        f->c.dargs = dargs;
        snprintf(f->flag, sizeof(f->flag), "%s/fault", f->c.dir);
        snprintf(sub, sizeof(sub), "%s/state", f->c.dir);
        if (realpath(sub, f->state) == NULL)
                return -1;
        strcat(f->state, "/state.db");
        snprintf(f->env_prefix, sizeof(f->env_prefix), "FAULTFS_PREFIX=%s",
                 f->state);
        snprintf(f->env_flag, sizeof(f->env_flag), "FAULTFS_FLAG=%s", f->flag);
        cluster_httpsink_script(&f->c, NULL);
        if (cluster_notify_open(&f->c) < 0 || cluster_httpsink_start(&f->c) < 0)
                return -1;
        write_conf(f, SPAN_ALERTS);
        return 0;
}

static int
teardown(void **state)
{
        return cluster_teardown(state);
}

/* --- The state database cannot be written ----------------------------- */

/* The scheduler's line (with -v) when a write of dispatch's, such as an
 * outcome, waits for the fault to end. */
#define OUTCOME_REFUSED "dispatch: begin transaction: "
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

/* While the fault lasts: the tables' rows are still `before`, the daemon
 * runs, and it has logged the fault once. */
static void
fault_held(struct fx *f, const char *before)
{
        char *during = db_rows(f);

        assert_string_equal(during, before);
        free(during);
        assert_true(proc_alive(f->c.daemon));
        assert_int_equal(cluster_log_count(f->c.dlog, FAULT_LOGGED), 1);
}

/* The fault gone: the drill's two deliveries are made once each, an event
 * is taken, and the daemon has logged the end of the fault once. */
static void
fault_over(struct fx *f)
{
        wait_delivered(f, 2);
        ctl_ok(f, "notify", "--school", URN_NONE, NULL);
        assert_int_equal(cluster_log_count(f->c.dlog, FAULT_ENDED), 1);
        json_decref(check_once(f, 2));
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
        char *before, line[512];
        long long cpu, since;
        int refused;
        json_t *st, *alerts;

        /* The worker's request for the event alert is held 2 s, so that
         * its outcome arrives while the disk is full. */
        cluster_httpsink_script(&f->c, "/hook delay 2000\n");
        daemon_start(f, FAULTFS);
        worker_start(f);
        ctl_ok(f, "notify", "--school", URN_HOOK, NULL);
        record(f, "drill", URN_HOOK, 2);
        wait_requests(f, 1);

        before = fault_start(f, "ENOSPC", "disk full");
        /* The outcome comes and is repeated, the drill's second alert
         * comes due: none of it can be committed. */
        cpu = cpu_ms(f->c.daemon);
        since = mono_ms();
        /* The worker's outcome: refused, and sent again. */
        cluster_wait_log(f->c.wlog[0], ": delivered", 1, WAIT_MS);
        refused = cluster_log_count(f->c.dlog, OUTCOME_REFUSED);
        cluster_wait_log(f->c.dlog, OUTCOME_REFUSED, refused + 1, WAIT_MS);
        wait_due_pending(f);
        cpu = cpu_ms(f->c.daemon) - cpu;
        if (cpu > QUIET_CPU_MS)
                fail_msg("the scheduler used %lld ms of CPU in %lld ms with a "
                         "full disk",
                         cpu, mono_ms() - since);
        fault_held(f, before);
        assert_int_equal(cluster_log_count(f->c.wlog[0], ": delivered"), 1);
        st = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_false(json_is_true(member(jobj(st, "database"), "writable")));
        assert_contains(jstr(jobj(st, "database"), "error"), "disk full");
        assert_int_equal(jint(jobj(st, "alerts"), "pending"), 1);
        assert_int_equal(jint(jobj(st, "deliveries"), "sending"), 1);
        json_decref(st);
        r = ctl_want(f, 0, "status", NULL);
        assert_contains(r.out, "DEGRADED: state database ");
        proc_result_free(&r);
        if (proc_notify_wait(f->c.nfd, "STATUS=degraded: state database", 1000,
                             f->c.daemon, line, sizeof(line)) < 0)
                fail_msg("no STATUS= saying the scheduler is degraded");
        assert_contains(line, "disk full");

        /* Space again: the outcome is recorded, the alert fires and is
         * delivered, and events are taken. */
        assert_int_equal(unlink(f->flag), 0);
        fault_over(f);
        assert_int_equal(cluster_log_count(f->c.dlog, FAULT_LOGGED), 1);
        alerts = alerts_of(f, URN_HOOK);
        assert_int_equal(count_alerts(alerts, "fired", false), 2);
        assert_int_equal(json_array_size(alerts), 2);
        json_decref(alerts);
        st = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_true(json_is_true(member(jobj(st, "database"), "writable")));
        assert_int_equal(jint(jobj(st, "cases"), "open"), 2);
        json_decref(st);
        free(before);
        cluster_pass(&f->c);
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
        char *before;
        json_t *up, *st;

        daemon_start(f, FAULTFS);
        ctl_ok(f, "notify", "--school", URN_HOOK, NULL);
        record(f, "span", URN_HOOK, 3);
        cluster_wait_count(&f->c, "alerts", "fired", 1, WAIT_MS);
        st = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_int_equal(jint(jobj(st, "alerts"), "fired"), 1);
        json_decref(st);
        before = fault_start(f, "EROFS", "read-only file system");
        r = ctl_want(f, 1, "event", "drill", "--school", URN_HOOK, NULL);
        assert_contains(r.err, "read-only file system; nothing was recorded");
        proc_result_free(&r);
        r = ctl_want(f, 1, "test", "hook", NULL);
        assert_contains(r.err, "read-only file system; nothing was recorded");
        proc_result_free(&r);
        fault_held(f, before);
        write_conf(f, "\"event\", \"+2h\"");
        ctl_ok(f, "reload", NULL);
        up = cluster_ctl_json(&f->c, "upcoming", "--json", NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 2);
        json_decref(up);

        /* Writable again: the span's alerts are re-planned (an hour and
         * three hours become two), and the drill is recorded. */
        assert_int_equal(unlink(f->flag), 0);
        record(f, "drill", URN_HOOK, 2);
        up = cluster_ctl_json(&f->c, "upcoming", "--json", NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 2);
        assert_string_equal(
            jstr(json_array_get(jarr(up, "alerts"), 0), "offset"), "+3s");
        assert_string_equal(
            jstr(json_array_get(jarr(up, "alerts"), 1), "offset"), "+2h");
        json_decref(up);
        assert_int_equal(cluster_log_count(f->c.dlog, FAULT_ENDED), 1);
        free(before);
        cluster_pass(&f->c);
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
        char *before;

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
        /* The drill's second alert comes due meanwhile, and waits. */
        wait_due_pending(f);
        fault_held(f, before);

        assert_int_equal(sqlite3_exec(admin, "ROLLBACK", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(admin);
        fault_over(f);
        free(before);
        cluster_pass(&f->c);
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

        cluster_httpsink_script(&f->c, "/hook delay 4000\n");
        daemon_start(f, FAKETIME);
        worker_start(f);
        ctl_ok(f, "notify", "--school", URN_HOOK, NULL);
        record(f, "span", URN_HOOK, 3);
        wait_requests(f, 1);
        cluster_clock_set(&f->c, 2 * 3600);
        wait_delivered(f, 2);
        up = cluster_ctl_json(&f->c, "upcoming", "--json", NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 1);
        assert_string_equal(
            jstr(json_array_get(jarr(up, "alerts"), 0), "offset"), "+3h");
        json_decref(up);
        h = check_once(f, 2);
        json_decref(h);

        cluster_httpsink_script(&f->c, NULL);
        cluster_clock_set(&f->c, 3 * 3600 + 300);
        wait_delivered(f, 3);
        h = check_once(f, 3);
        json_decref(h);
        alerts = alerts_of(f, URN_HOOK);
        assert_int_equal(json_array_size(alerts), 3);
        assert_int_equal(count_alerts(alerts, "fired", false), 1);
        assert_int_equal(count_alerts(alerts, "fired", true), 2);
        json_decref(alerts);
        assert_int_equal(
            cluster_log_count(f->c.dlog, "the wall clock stepped +72"), 1);
        cluster_pass(&f->c);
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
        /* Its alert fires before the clock goes back (its delivery waits
         * for a worker); under load the step could otherwise come first
         * and put the alert three hours ahead. */
        cluster_wait_log(f->c.dlog, "fired: ping event", 1, WAIT_MS);

        cluster_clock_set(&f->c, -3 * 3600);
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

        cluster_clock_set(&f->c, 3 * 3600 + 300);
        wait_delivered(f, 5);
        h = check_once(f, 5);
        json_decref(h);
        alerts = alerts_of(f, URN_CHAT);
        assert_int_equal(count_alerts(alerts, "fired", false), 3);
        assert_int_equal(count_alerts(alerts, "fired", true), 2);
        json_decref(alerts);
        assert_int_equal(
            cluster_log_count(f->c.dlog, "the wall clock stepped -108"), 1);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_disk_full),
    CLUSTER_TEST(test_read_only),
    CLUSTER_TEST(test_locked),
    CLUSTER_TEST(test_clock_forward),
    CLUSTER_TEST(test_clock_back),
})
