/*
 * Secret files end to end: ofsted-notifyd, a real ofsted-notify-worker and
 * httpsink on loopback, with the channel's webhook URL in a url_file the
 * test writes, spoils, fixes and rotates while they run.
 *
 * Checked: a url_file open to others, or holding a CR LF and a second
 * line, is a problem on our side: the worker answers "retry" with
 * "local": true, never "failed"; the delivery waits (status "retry",
 * history's last_error naming the file, never its URL), the problem is
 * logged once at error however often the delivery is retried, and once
 * the file is fixed the same delivery reaches the sink, with no reload.
 * A url_file rewritten with another URL while the worker runs sends the
 * next delivery to the new URL, with no reload.
 *
 * Expected values come from the files and config this test writes; every
 * wait is for a positive signal (a log line, a state, a request at the
 * sink) and bounded; every child is killed in teardown.
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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOLIDAYS SOURCE_DIR "/config/bank-holidays.json"
#define CHANNEL  "hook"
#define URL_FILE "hook.url" /* as the config names it */
#define START_MS 20000
#define WAIT_MS  30000

struct fx {
        char dir[128];
        char conf[192], url[192];
        char sinklog[192], sinkerr[192], script[192], portfile[192];
        char dlog[192], wlog[192];
        char env_state[224], env_run[224];
        int port;
        pid_t sink, daemon, worker;
        bool passed;
};

/* --- Files ------------------------------------------------------------- */

/*
 * Writes `text` to path.new with `mode` and renames it over `path`, as an
 * admin's editor or `install` would: the worker never sees half of it.
 */
static void
put(const char *path, const char *text, mode_t mode)
{
        char tmp[256];
        FILE *fp;

        snprintf(tmp, sizeof(tmp), "%s.new", path);
        fp = fopen(tmp, "w");
        if (fp == NULL)
                fail_msg("cannot write %s: %s", tmp, strerror(errno));
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(chmod(tmp, mode), 0);
        assert_int_equal(rename(tmp, path), 0);
}

/* The sink's URL for `path` followed by `end` ("\n", "\r\n", ...). */
static void
url_text(struct fx *f, const char *path, const char *end, char *buf, size_t len)
{
        snprintf(buf, len, "http://127.0.0.1:%d%s%s", f->port, path, end);
}

/* One webhook channel whose URL is in URL_FILE, for one school. */
static void
write_conf(struct fx *f)
{
        FILE *fp = fopen(f->conf, "w");

        if (fp == NULL)
                fail_msg("cannot write %s: %s", f->conf, strerror(errno));
        fprintf(fp,
                "trust = { name = \"Secrets Test Trust\";\n"
                "  timezone = \"Europe/London\"; holidays = \"%s\"; };\n"
                "daemon = { state = \"state.db\";\n"
                "  control = \"ipc://control.sock\";\n"
                "  dispatch = \"ipc://dispatch.sock\";\n"
                "  feed = \"ipc://feed.sock\"; };\n"
                "delivery = { retry_base = 1; lease = 10; };\n"
                "channels = ( { name = \"%s\"; type = \"webhook\";\n"
                "  url_file = \"%s\"; } );\n"
                "schools = ( { urn = \"100001\"; name = \"Oak Primary\";\n"
                "  channels = [ \"%s\" ]; } );\n"
                "rules = ( { name = \"drill\"; event = \"drill\";\n"
                "  action = \"Drill.\";\n"
                "  deadline = { working_days = 10; time = \"17:00\"; };\n"
                "  alerts = [ \"event\" ]; } );\n",
                HOLIDAYS, CHANNEL, URL_FILE, CHANNEL);
        assert_int_equal(fclose(fp), 0);
}

/* How many times `needle` occurs in the file at `path` (a log). */
static int
occurrences_in(const char *path, const char *needle)
{
        char *text = slurp(path);
        int n = 0;

        for (const char *p = strstr(text, needle); p != NULL;
             p = strstr(p + 1, needle))
                n++;
        free(text);
        return n;
}

/* Waits until the file at `path` holds `needle` at least `n` times. */
static void
wait_log(const char *path, const char *needle, int n)
{
        long long until = mono_ms() + WAIT_MS;
        int got;

        while ((got = occurrences_in(path, needle)) < n) {
                if (mono_ms() > until)
                        fail_msg("%s holds '%s' %d times, not %d, after %d ms",
                                 path, needle, got, n, WAIT_MS);
                sleep_ms(50);
        }
}

/* --- Running things ---------------------------------------------------- */

static struct proc_result
ctl(struct fx *f, const char *a0, ...)
{
        struct proc_result r;
        va_list ap;

        va_start(ap, a0);
        r = itest_ctl_run(CTL_BINARY, f->conf, f->env_state, f->env_run, a0,
                          ap);
        va_end(ap);
        return r;
}

/* status --json (exit 0 wanted). New reference. */
static json_t *
status_json(struct fx *f)
{
        struct proc_result r = ctl(f, "status", "--json", NULL);
        json_t *doc = json_loads(r.out, 0, NULL);

        if (r.status != 0 || !json_is_object(doc))
                fail_msg("status: exit %d: %s", r.status, r.err);
        proc_result_free(&r);
        return doc;
}

static void
daemon_start(struct fx *f)
{
        char *argv[] = { DAEMON_BINARY, "-c", f->conf, NULL };
        char *const env[] = { f->env_state,
                              f->env_run,
                              "NOTIFY_SOCKET",
                              "WATCHDOG_USEC",
                              "WATCHDOG_PID",
                              "JOURNAL_STREAM",
                              NULL };
        long long until = mono_ms() + START_MS;

        assert_int_equal(proc_start(argv, env, f->dlog, &f->daemon), 0);
        for (;;) {
                struct proc_result r =
                    ctl(f, "status", "--timeout", "1", "--json", NULL);
                int st = r.status;

                proc_result_free(&r);
                if (st == 0)
                        return;
                if (!proc_alive(f->daemon) || mono_ms() > until)
                        fail_msg("ofsted-notifyd exited or did not answer");
                sleep_ms(50);
        }
}

/* Starts the webhook worker (-v: its local retries are logged at debug)
 * and waits until the daemon counts it. */
static void
worker_start(struct fx *f)
{
        char *argv[] = { WORKER_BINARY, "--kind", "webhook", "-c", f->conf,
                         "--timeout",   "5",      "-v",      NULL };
        char *const env[] = { f->env_state,
                              f->env_run,
                              "NOTIFY_SOCKET",
                              "JOURNAL_STREAM",
                              "CREDENTIALS_DIRECTORY",
                              NULL };
        long long until = mono_ms() + START_MS;

        assert_int_equal(proc_start(argv, env, f->wlog, &f->worker), 0);
        for (;;) {
                json_t *st = status_json(f);
                json_int_t n = jint(jobj(st, "workers"), "webhook");

                json_decref(st);
                if (n == 1)
                        return;
                if (mono_ms() > until)
                        fail_msg("the worker did not register");
                sleep_ms(100);
        }
}

static void
stop_all(struct fx *f)
{
        assert_int_equal(proc_stop(f->worker, SIGTERM), 0);
        f->worker = -1;
        assert_int_equal(proc_stop(f->daemon, SIGTERM), 0);
        f->daemon = -1;
        assert_int_equal(proc_stop(f->sink, SIGTERM), 0);
        f->sink = -1;
}

/* `ofsted-notifyctl test CHANNEL`, not waiting: the delivery's id. */
static char *
send_test(struct fx *f)
{
        struct proc_result r =
            ctl(f, "test", CHANNEL, "--json", "--timeout", "1", NULL);
        json_t *doc = json_loads(r.out, 0, NULL);
        char *id;

        if (!json_is_object(doc))
                fail_msg("test %s: exit %d: %s %s", CHANNEL, r.status, r.out,
                         r.err);
        id = strdup(jstr(doc, "id"));
        json_decref(doc);
        proc_result_free(&r);
        return id;
}

/* The history entry of delivery `id`. New reference. */
static json_t *
delivery(struct fx *f, const char *id)
{
        struct proc_result r = ctl(f, "history", "--json", NULL);
        json_t *doc = json_loads(r.out, 0, NULL), *d, *found = NULL;
        size_t i;

        if (r.status != 0 || !json_is_object(doc))
                fail_msg("history: exit %d: %s", r.status, r.err);
        json_array_foreach(jarr(doc, "deliveries"), i, d)
        {
                if (strcmp(jstr(d, "id"), id) == 0)
                        found = json_incref(d);
        }
        json_decref(doc);
        proc_result_free(&r);
        if (found == NULL)
                fail_msg("delivery %s is not in history", id);
        return found;
}

/* Waits until delivery `id` has status `want`. New reference. */
static json_t *
wait_status(struct fx *f, const char *id, const char *want)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *d = delivery(f, id);

                if (strcmp(jstr(d, "status"), want) == 0)
                        return d;
                if (strcmp(jstr(d, "status"), "failed") == 0 ||
                    mono_ms() > until)
                        fail_msg("delivery %s is '%s' (%s), not '%s'", id,
                                 jstr(d, "status"),
                                 json_string_value(member(d, "last_error")),
                                 want);
                json_decref(d);
                sleep_ms(100);
        }
}

/* The requests the sink has logged to `path`. */
static size_t
sink_count(struct fx *f, const char *path)
{
        json_t *all = jsonl_records(f->sinklog), *r;
        size_t i, n = 0;

        json_array_foreach(all, i, r)
        {
                n += strcmp(jstr(r, "path"), path) == 0;
        }
        json_decref(all);
        return n;
}

static void
wait_sink(struct fx *f, const char *path, size_t n)
{
        long long until = mono_ms() + WAIT_MS;

        while (sink_count(f, path) < n) {
                if (mono_ms() > until)
                        fail_msg("the sink saw %zu requests to %s, not %zu",
                                 sink_count(f, path), path, n);
                sleep_ms(50);
        }
}

/*
 * The delivery `id` held by a local problem: retried (its local retries
 * seen twice in the worker's log), status "retry", never "failed"; the
 * problem `why` in history's last error and logged at error exactly
 * once; nothing sent. `url` (the secret) is in neither.
 */
static void
check_held(struct fx *f, const char *id, const char *why, const char *url)
{
        char local[128], logged[256];
        json_t *d, *st;
        const char *err;

        snprintf(local, sizeof(local), "delivery %s: retry (local): ", id);
        wait_log(f->wlog, local, 2);
        d = wait_status(f, id, "retry");
        err = json_string_value(member(d, "last_error"));
        assert_non_null(err);
        assert_contains(err, why);
        assert_null(strstr(err, url));
        json_decref(d);
        st = status_json(f);
        assert_int_equal(jint(jobj(st, "deliveries"), "failed"), 0);
        json_decref(st);
        snprintf(logged, sizeof(logged), "channel '%s': %s", CHANNEL, why);
        assert_int_equal(occurrences_in(f->wlog, logged), 1);
        assert_int_equal(occurrences_in(f->wlog, url), 0);
        assert_int_equal(sink_count(f, "/hook"), 0);
}

/* --- Fixture ----------------------------------------------------------- */

static int
setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        struct fx *f = calloc(1, sizeof(*f));
        char sub[192];

        if (f == NULL)
                return -1;
        f->sink = f->daemon = f->worker = -1;
        *state = f;
        if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 60)
                tmp = "/tmp";
        snprintf(f->dir, sizeof(f->dir), "%s/test_secrets.XXXXXX", tmp);
        if (mkdtemp(f->dir) == NULL)
                return -1;
        snprintf(f->conf, sizeof(f->conf), "%s/secrets.conf", f->dir);
        snprintf(f->url, sizeof(f->url), "%s/%s", f->dir, URL_FILE);
        snprintf(f->sinklog, sizeof(f->sinklog), "%s/sink.jsonl", f->dir);
        snprintf(f->sinkerr, sizeof(f->sinkerr), "%s/sink.err", f->dir);
        snprintf(f->script, sizeof(f->script), "%s/sink.script", f->dir);
        snprintf(f->portfile, sizeof(f->portfile), "%s/sink.port", f->dir);
        snprintf(f->dlog, sizeof(f->dlog), "%s/daemon.log", f->dir);
        snprintf(f->wlog, sizeof(f->wlog), "%s/worker.log", f->dir);
        snprintf(f->env_state, sizeof(f->env_state), "STATE_DIRECTORY=%s/state",
                 f->dir);
        snprintf(f->env_run, sizeof(f->env_run), "RUNTIME_DIRECTORY=%s/run",
                 f->dir);
        snprintf(sub, sizeof(sub), "%s/state", f->dir);
        if (mkdir(sub, 0700) < 0)
                return -1;
        snprintf(sub, sizeof(sub), "%s/run", f->dir);
        if (mkdir(sub, 0700) < 0)
                return -1;
        spill(f->script, "# 200 for all\n");
        if (itest_httpsink_start(HTTPSINK_BINARY, f->portfile, f->sinklog,
                                 f->script, f->sinkerr, &f->sink, &f->port) < 0)
                return -1;
        write_conf(f);
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
                itest_show_log(f->wlog, 16384);
                itest_show_log(f->sinkerr, 4096);
        }
        itest_rmtree(f->dir);
        free(f);
        return 0;
}

/* --- Tests ------------------------------------------------------------- */

/*
 * A url_file others can read: retried as a local problem, not failed;
 * chmod 600 and the same delivery is delivered, with no reload.
 */
static void
test_open_url_file(void **state)
{
        struct fx *f = *state;
        char url[128];
        char *id;

        url_text(f, "/hook", "\n", url, sizeof(url));
        put(f->url, url, 0644);
        daemon_start(f);
        worker_start(f);
        id = send_test(f);
        url[strlen(url) - 1] = '\0';
        check_held(f, id,
                   "secret file 'hook.url': readable by others (mode 0644)",
                   url);

        assert_int_equal(chmod(f->url, 0600), 0);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/hook", 1);
        assert_int_equal(sink_count(f, "/hook"), 1);
        wait_log(f->wlog, "url_file: secret file 'hook.url' is usable again",
                 1);
        free(id);
        stop_all(f);
        f->passed = true;
}

/*
 * A url_file with a CR LF and a second line (a Windows editor, a pasted
 * note): retried as a local problem; made one line, ending in CR LF, it
 * is delivered.
 */
static void
test_two_line_url_file(void **state)
{
        struct fx *f = *state;
        char url[128], text[300], bare[128];
        char *id;

        url_text(f, "/hook", "\r\n", url, sizeof(url));
        snprintf(text, sizeof(text), "%sthe Teams URL for leaders\r\n", url);
        put(f->url, text, 0600);
        url_text(f, "/hook", "", bare, sizeof(bare));
        daemon_start(f);
        worker_start(f);
        id = send_test(f);
        check_held(f, id, "secret file 'hook.url': holds more than one line",
                   bare);

        put(f->url, url, 0600);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/hook", 1);
        assert_int_equal(sink_count(f, "/hook"), 1);
        free(id);
        stop_all(f);
        f->passed = true;
}

/*
 * A URL rotated while the worker runs: the next delivery goes to the new
 * one, with no reload. Written in place (same inode, same length) the
 * first time, renamed over the second: both are seen.
 */
static void
test_url_rotated(void **state)
{
        struct fx *f = *state;
        char url[128];
        char *id;
        FILE *fp;

        url_text(f, "/hook", "\n", url, sizeof(url));
        put(f->url, url, 0600);
        daemon_start(f);
        worker_start(f);
        id = send_test(f);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/hook", 1);
        assert_int_equal(sink_count(f, "/hook"), 1);
        free(id);

        /* In place, as `echo URL > file` does: only the times change. */
        url_text(f, "/next", "\n", url, sizeof(url));
        fp = fopen(f->url, "w");
        assert_non_null(fp);
        fputs(url, fp);
        assert_int_equal(fclose(fp), 0);
        id = send_test(f);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/next", 1);
        assert_int_equal(sink_count(f, "/next"), 1);
        assert_int_equal(sink_count(f, "/hook"), 1);
        free(id);

        /* Renamed over it, another path. */
        url_text(f, "/third/path", "\n", url, sizeof(url));
        put(f->url, url, 0600);
        id = send_test(f);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/third/path", 1);
        assert_int_equal(sink_count(f, "/third/path"), 1);
        assert_int_equal(sink_count(f, "/next"), 1);
        free(id);

        wait_log(f->wlog,
                 "url_file: secret file 'hook.url' changed: read again", 2);
        assert_int_equal(occurrences_in(f->wlog, "configuration reloaded"), 0);
        stop_all(f);
        f->passed = true;
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_url_file, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_two_line_url_file, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_url_rotated, setup,
                                                teardown),
        };
        /* One CTest per test: the name to run is the argument. */
        if (argc > 1)
                cmocka_set_test_filter(argv[1]);

        return cmocka_run_group_tests(tests, NULL, NULL);
}
