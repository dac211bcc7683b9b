/*
 * cluster: the integration tests' one fixture (see cluster.h). Extracted
 * from the fixtures test_delivery, test_email, test_curve and test_faults
 * each had: the same directory layout, the same daemon start (wait until
 * `status` answers), the same wait_settled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STEP_MS 50

/* --- Fixture ----------------------------------------------------------- */

#define PATH(field, name) \
        snprintf(c->field, sizeof(c->field), "%s/" name, c->dir)

int
cluster_init(struct cluster *c, const char *name)
{
        static const char *const subs[] = { "state", "run", "spool" };
        char sub[192];

        memset(c, 0, sizeof(*c));
        c->sink = c->smtp = c->daemon = c->nfd = c->web = -1;
        for (int i = 0; i < CLUSTER_WORKERS; i++)
                c->worker[i] = -1;
        if (itest_mkdtemp(c->dir, sizeof(c->dir), name) < 0)
                return -1;
        PATH(conf, "test.conf");
        PATH(dlog, "daemon.log");
        PATH(weblog, "web.log");
        for (int i = 0; i < CLUSTER_WORKERS; i++)
                snprintf(c->wlog[i], sizeof(c->wlog[i]), "%s/worker%d.log",
                         c->dir, i);
        PATH(sinklog, "sink.jsonl");
        PATH(sinkerr, "sink.err");
        PATH(script, "sink.script");
        PATH(portfile, "sink.port");
        PATH(spool, "spool");
        PATH(smtperr, "smtp.err");
        PATH(smtpscript, "smtp.script");
        PATH(smtpportfile, "smtp.port");
        PATH(notify, "notify.sock");
        PATH(clock, "clock");
        snprintf(c->env_state, sizeof(c->env_state), "STATE_DIRECTORY=%s/state",
                 c->dir);
        snprintf(c->env_run, sizeof(c->env_run), "RUNTIME_DIRECTORY=%s/run",
                 c->dir);
        snprintf(c->env_creds, sizeof(c->env_creds), "CREDENTIALS_DIRECTORY");
        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
                snprintf(sub, sizeof(sub), "%s/%s", c->dir, subs[i]);
                if (mkdir(sub, 0700) < 0) {
                        itest_rmtree(c->dir);
                        c->dir[0] = '\0';
                        return -1;
                }
        }
        c->t0 = time(NULL);
        return 0;
}

#undef PATH

static void
show_if_there(const char *path, size_t max)
{
        if (access(path, F_OK) == 0)
                itest_show_log(path, max);
}

void
cluster_fini(struct cluster *c)
{
        for (int i = 0; i < CLUSTER_WORKERS; i++) {
                if (c->worker[i] > 0)
                        proc_stop(c->worker[i], SIGKILL);
                c->worker[i] = -1;
        }
        if (c->web > 0)
                proc_stop(c->web, SIGKILL);
        c->web = -1;
        if (c->daemon > 0)
                proc_stop(c->daemon, SIGKILL);
        if (c->sink > 0)
                proc_stop(c->sink, SIGKILL);
        if (c->smtp > 0)
                proc_stop(c->smtp, SIGKILL);
        c->daemon = c->sink = c->smtp = -1;
        if (c->nfd >= 0)
                close(c->nfd);
        c->nfd = -1;
        if (!c->passed && c->dir[0] != '\0') {
                show_if_there(c->conf, 8192);
                show_if_there(c->dlog, 32768);
                show_if_there(c->weblog, 16384);
                for (int i = 0; i < CLUSTER_WORKERS; i++)
                        show_if_there(c->wlog[i], 16384);
                show_if_there(c->sinkerr, 4096);
                show_if_there(c->sinklog, 8192);
                show_if_there(c->smtperr, 4096);
        }
        itest_rmtree(c->dir);
        c->dir[0] = '\0';
}

int
cluster_setup(void **state)
{
        struct cluster *c = malloc(sizeof(*c));

        if (c == NULL)
                return -1;
        if (cluster_init(c, "itest") < 0) {
                free(c);
                return -1;
        }
        *state = c;
        return 0;
}

int
cluster_teardown(void **state)
{
        cluster_fini(*state);
        free(*state);
        return 0;
}

int
cluster_notify_open(struct cluster *c)
{
        snprintf(c->env_notify, sizeof(c->env_notify), "NOTIFY_SOCKET=%s",
                 c->notify);
        c->nfd = proc_notify_open(c->notify);
        return c->nfd >= 0 ? 0 : -1;
}

/* Drops what the daemon said on c->nfd, if it has one. */
static void
notify_drain(struct cluster *c)
{
        if (c->nfd >= 0)
                proc_notify_drain(c->nfd);
}

int
cluster_main_group(int argc, char **argv, const struct CMUnitTest *tests,
                   size_t n, int (*group_setup)(void **),
                   int (*group_teardown)(void **))
{
        const char *name = strrchr(argv[0], '/');

        /* One CTest per test: the name to run is the argument. */
        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return _cmocka_run_group_tests(name != NULL ? name + 1 : argv[0], tests,
                                       n, group_setup, group_teardown);
}

/* --- Config ------------------------------------------------------------ */

FILE *
cluster_conf_begin(struct cluster *c, const struct cluster_conf *k)
{
        static const struct cluster_conf none;
        const char *path;
        FILE *fp;

        if (k == NULL)
                k = &none;
        path = k->path != NULL ? k->path : c->conf;
        fp = fopen(path, "w");
        if (fp == NULL)
                fail_msg("cannot write %s: %s", path, strerror(errno));
        fprintf(fp,
                "trust = { name = \"%s\"; timezone = \"%s\";\n"
                "  holidays = \"%s\"; };\n"
                "daemon = { state = \"state.db\";\n"
                "  control = \"%s\";\n"
                "  dispatch = \"%s\";\n"
                "  feed = \"%s\";%s%s };\n",
                k->trust != NULL ? k->trust : "Test Trust",
                k->timezone != NULL ? k->timezone : "Europe/London",
                CLUSTER_HOLIDAYS,
                k->control != NULL ? k->control : "ipc://control.sock",
                k->dispatch != NULL ? k->dispatch : "ipc://dispatch.sock",
                k->feed != NULL ? k->feed : "ipc://feed.sock",
                k->daemon != NULL ? " " : "",
                k->daemon != NULL ? k->daemon : "");
        if (k->retry_base > 0 || k->lease > 0 || k->delivery != NULL) {
                fprintf(fp, "delivery = {");
                if (k->retry_base > 0)
                        fprintf(fp, " retry_base = %d;", k->retry_base);
                if (k->lease > 0)
                        fprintf(fp, " lease = %d;", k->lease);
                fprintf(fp, " %s };\n", k->delivery != NULL ? k->delivery : "");
        }
        return fp;
}

void
cluster_conf_end(FILE *fp)
{
        assert_int_equal(fclose(fp), 0);
}

/* --- ofsted-notifyctl ------------------------------------------------- */

struct proc_result
cluster_vctl(struct cluster *c, const char *a0, va_list ap)
{
        return itest_ctl_run(CTL_BINARY,
                             c->ctlconf[0] != '\0' ? c->ctlconf : c->conf,
                             c->env_state, c->env_run, a0, ap);
}

struct proc_result
cluster_ctl(struct cluster *c, const char *a0, ...)
{
        struct proc_result r;
        va_list ap;

        va_start(ap, a0);
        r = cluster_vctl(c, a0, ap);
        va_end(ap);
        return r;
}

struct proc_result
cluster_ctl_with(struct cluster *c, const char *conf, const char *a0, ...)
{
        struct proc_result r;
        va_list ap;

        va_start(ap, a0);
        r = itest_ctl_run(CTL_BINARY, conf, c->env_state, c->env_run, a0, ap);
        va_end(ap);
        return r;
}

json_t *
cluster_vctl_json(struct cluster *c, int want, const char *a0, va_list ap)
{
        struct proc_result r = cluster_vctl(c, a0, ap);
        json_error_t err;
        json_t *doc = json_loads(r.out, 0, &err);
        char why[1024] = "";

        if (r.status != want)
                snprintf(why, sizeof(why), "exit %d, not %d; stderr: %s",
                         r.status, want, r.err);
        else if (!json_is_object(doc))
                snprintf(why, sizeof(why), "not a JSON object (%s): %s",
                         err.text, r.out);
        proc_result_free(&r);
        if (why[0] != '\0') {
                json_decref(doc);
                fail_msg("ofsted-notifyctl %s: %s", a0, why);
        }
        return doc;
}

json_t *
cluster_ctl_json_want(struct cluster *c, int want, const char *a0, ...)
{
        json_t *doc;
        va_list ap;

        va_start(ap, a0);
        doc = cluster_vctl_json(c, want, a0, ap);
        va_end(ap);
        return doc;
}

json_t *
cluster_ctl_json(struct cluster *c, const char *a0, ...)
{
        json_t *doc;
        va_list ap;

        va_start(ap, a0);
        doc = cluster_vctl_json(c, 0, a0, ap);
        va_end(ap);
        return doc;
}

json_t *
cluster_history(struct cluster *c)
{
        json_t *h =
            cluster_ctl_json(c, "history", "--limit", "1000", "--json", NULL);
        json_t *d = json_incref(jarr(h, "deliveries"));

        json_decref(h);
        return d;
}

/* --- Processes --------------------------------------------------------- */

int
cluster_daemon_spawn(struct cluster *c, char *const env[])
{
        char *argv[8] = { DAEMON_BINARY };
        char *all[16] = { c->env_state,    c->env_run,     "NOTIFY_SOCKET",
                          "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM" };
        int n = 6, na = 1;

        for (size_t i = 0; c->dargs != NULL && c->dargs[i] != NULL && na < 5;
             i++)
                argv[na++] = (char *)c->dargs[i];
        argv[na++] = "-c";
        argv[na++] = c->conf;
        argv[na] = NULL;
        if (c->nfd >= 0) {
                all[2] = c->env_notify;
                notify_drain(c);
        }
        /* Later entries win: env may set NOTIFY_SOCKET again. */
        for (size_t i = 0; env != NULL && env[i] != NULL && n < 15; i++)
                all[n++] = env[i];
        all[n] = NULL;
        assert_int_equal(c->daemon, -1);
        return proc_start(argv, all, c->dlog, &c->daemon);
}

void
cluster_daemon_wait(struct cluster *c)
{
        long long until = mono_ms() + CLUSTER_START_MS;

        for (;;) {
                struct proc_result r =
                    cluster_ctl(c, "status", "--timeout", "1", "--json", NULL);
                int status = r.status;

                proc_result_free(&r);
                if (status == 0)
                        return;
                if (!proc_alive(c->daemon) || mono_ms() > until)
                        fail_msg("ofsted-notifyd exited or did not answer "
                                 "within %d ms",
                                 CLUSTER_START_MS);
                sleep_ms(STEP_MS);
        }
}

void
cluster_daemon_start(struct cluster *c, char *const env[])
{
        assert_int_equal(cluster_daemon_spawn(c, env), 0);
        cluster_daemon_wait(c);
}

int
cluster_daemon_stop(struct cluster *c, int sig)
{
        int status = proc_stop(c->daemon, sig);

        c->daemon = -1;
        return status;
}

void
cluster_conf_web(FILE *fp, int timeout_ms, const char *extra)
{
        struct passwd *pw = getpwuid(getuid());

        assert_non_null(pw);
        if (extra == NULL)
                extra = "";
        fprintf(fp,
                "web = { listen = \"127.0.0.1:0\"; user = \"%s\";\n"
                "  %s timeout = %d;"
                "\n  pages = \"" SOURCE_DIR "/web/pages\";\n  %s };\n",
                pw->pw_name,
                strstr(extra, "base_url") != NULL
                    ? ""
                    : "base_url = \"https://alerts.test.example\";",
                timeout_ms, extra);
}

/* The port in the web's "listening on ... (port N)" line; 0: not yet. */
static int
web_port(const char *log)
{
        FILE *fp = fopen(log, "r");
        char line[512];
        const char *p;
        int port = 0;

        while (fp != NULL && port == 0 && fgets(line, sizeof(line), fp)) {
                p = strstr(line, "(port ");
                if (p != NULL && strstr(line, "listening on") != NULL)
                        port = atoi(p + 6);
        }
        if (fp != NULL)
                fclose(fp);
        return port;
}

void
cluster_web_start(struct cluster *c)
{
        cluster_web_start_with(c, NULL);
}

void
cluster_web_start_with(struct cluster *c, char *const env[])
{
        char *argv[] = { WEB_BINARY, "-c", c->conf, NULL };
        char *all[16] = { c->env_state, c->env_run, "NOTIFY_SOCKET",
                          "JOURNAL_STREAM" };
        long long until = mono_ms() + CLUSTER_START_MS;
        int n = 4;

        for (size_t i = 0; env != NULL && env[i] != NULL && n < 15; i++)
                all[n++] = env[i];
        all[n] = NULL;
        assert_int_equal(c->web, -1);
        unlink(c->weblog);
        assert_int_equal(proc_start(argv, all, c->weblog, &c->web), 0);
        while ((c->web_port = web_port(c->weblog)) == 0) {
                if (!proc_alive(c->web) || mono_ms() > until)
                        fail_msg("ofsted-notify-web exited or did not listen "
                                 "within %d ms",
                                 CLUSTER_START_MS);
                usleep(20 * 1000);
        }
}

int
cluster_web_stop(struct cluster *c, int sig)
{
        int status = proc_stop(c->web, sig);

        c->web = -1;
        return status;
}

/* --- A stepped wall clock -------------------------------------------- */

long
cluster_clock_sweep(void)
{
        static const struct {
                char suffix;
                long seconds;
        } units[] = { { 's', 1 },
                      { 'm', 60 },
                      { 'h', 3600 },
                      { 'd', 86400 },
                      { 'y', 365 * 86400L } };
        const char *ft = getenv("FAKETIME");
        char *end;
        long n;

        if (ft == NULL || ft[0] == '\0')
                return 0;
        errno = 0;
        n = strtol(ft, &end, 10);
        if ((ft[0] != '+' && ft[0] != '-') || end == ft + 1 || errno != 0)
                fail_msg("FAKETIME '%s': a stepped clock needs an offset "
                         "(+N or -N seconds)",
                         ft);
        if (*end == '\0')
                return n;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (end[0] == units[i].suffix && end[1] == '\0')
                        return n * units[i].seconds;
        }
        fail_msg("FAKETIME '%s': a stepped clock needs an offset "
                 "(+N or -N seconds)",
                 ft);
        return 0;
}

void
cluster_clock_set(struct cluster *c, long seconds)
{
        char text[32];

        snprintf(text, sizeof(text), "%+ld\n", cluster_clock_sweep() + seconds);
        spill(c->clock, text);
}

void
cluster_clock_at(struct cluster *c, time_t t)
{
        /* time() is the others' clock: under a sweep, the sweep's. */
        cluster_clock_set(c, (long)(t - time(NULL)));
}

char *const *
cluster_clock_env(struct cluster *c)
{
        const char *old = getenv("ASAN_OPTIONS");
        int n = 0;

        snprintf(c->env_clock, sizeof(c->env_clock),
                 "FAKETIME_TIMESTAMP_FILE=%s", c->clock);
        snprintf(c->env_preload, sizeof(c->env_preload), "LD_PRELOAD=%s",
                 FAKETIME_LIBRARY);
        /* A sanitized binary wants its runtime first; libfaketime only
         * wraps the clock calls and does not mind coming before it. */
        snprintf(c->env_asan, sizeof(c->env_asan),
                 "ASAN_OPTIONS=%s%sverify_asan_link_order=0", old ? old : "",
                 old && *old ? ":" : "");
        cluster_clock_set(c, 0);
        c->clock_env[n++] = c->env_preload;
        c->clock_env[n++] = c->env_asan;
        c->clock_env[n++] = c->env_clock;
        c->clock_env[n++] = "FAKETIME_NO_CACHE=1";
        c->clock_env[n++] = "FAKETIME_DONT_FAKE_MONOTONIC=1";
        c->clock_env[n++] = "NO_FAKE_STAT=1";
        /* The sweep's FAKETIME would win over the file: the file says
         * its offset too (cluster_clock_set()). */
        c->clock_env[n++] = "FAKETIME";
        c->clock_env[n] = NULL;
        return c->clock_env;
}

void
cluster_worker_start(struct cluster *c, int slot, const char *kind,
                     const char *conf, const char *const args[])
{
        char *argv[24] = { WORKER_BINARY, "--kind", (char *)kind, "-c",
                           (char *)(conf != NULL ? conf : c->conf) };
        char *env[16] = { c->env_state,     c->env_run,   "NOTIFY_SOCKET",
                          "JOURNAL_STREAM", c->env_creds, NULL };
        int n = 5, e = 5;

        for (size_t i = 0; args != NULL && args[i] != NULL && n < 21; i++)
                argv[n++] = (char *)args[i];
        argv[n] = NULL;
        for (size_t i = 0; c->wenv != NULL && c->wenv[i] != NULL && e < 13; i++)
                env[e++] = c->wenv[i];
        env[e] = NULL;
        assert_true(slot >= 0 && slot < CLUSTER_WORKERS);
        assert_int_equal(c->worker[slot], -1);
        assert_int_equal(proc_start(argv, env, c->wlog[slot], &c->worker[slot]),
                         0);
}

int
cluster_worker_stop(struct cluster *c, int slot, int sig)
{
        int status = proc_stop(c->worker[slot], sig);

        c->worker[slot] = -1;
        return status;
}

void
cluster_worker_reload(struct cluster *c, int slot, int timeout_ms)
{
        static const char done[] = "configuration reloaded";
        int n = cluster_log_count(c->wlog[slot], done);

        assert_int_equal(kill(c->worker[slot], SIGHUP), 0);
        cluster_wait_log(c->wlog[slot], done, n + 1, timeout_ms);
}

void
cluster_wait_workers(struct cluster *c, const char *kind, json_int_t want)
{
        long long until = mono_ms() + CLUSTER_START_MS;
        json_int_t got;

        for (;;) {
                json_t *st = cluster_ctl_json(c, "status", "--json", NULL);

                got = jint(jobj(st, "workers"), kind);
                json_decref(st);
                notify_drain(c);
                if (got == want)
                        return;
                if (mono_ms() > until)
                        fail_msg("the daemon counts %lld %s workers, not "
                                 "%lld, after %d ms",
                                 (long long)got, kind, (long long)want,
                                 CLUSTER_START_MS);
                sleep_ms(2 * STEP_MS);
        }
}

void
cluster_stop_all(struct cluster *c)
{
        for (int i = 0; i < CLUSTER_WORKERS; i++) {
                if (c->worker[i] > 0)
                        assert_int_equal(cluster_worker_stop(c, i, SIGTERM), 0);
        }
        if (c->daemon > 0)
                assert_int_equal(cluster_daemon_stop(c, SIGTERM), 0);
        if (c->sink > 0)
                assert_int_equal(proc_stop(c->sink, SIGTERM), 0);
        c->sink = -1;
        if (c->smtp > 0)
                assert_int_equal(proc_stop(c->smtp, SIGTERM), 0);
        c->smtp = -1;
}

void
cluster_pass(struct cluster *c)
{
        cluster_stop_all(c);
        c->passed = true;
}

/* --- Sinks ------------------------------------------------------------- */

int
cluster_httpsink_start(struct cluster *c)
{
        return itest_httpsink_start(HTTPSINK_BINARY, c->portfile, c->sinklog,
                                    c->script, c->sinkerr, &c->sink, &c->port);
}

void
cluster_httpsink_script(struct cluster *c, const char *script)
{
        spill(c->script, script != NULL ? script : "# 200 for all\n");
}

json_t *
cluster_sink_requests(struct cluster *c, const char *prefix)
{
        json_t *all = jsonl_records(c->sinklog), *out = json_array(), *r;
        size_t i;

        json_array_foreach(all, i, r)
        {
                if (prefix == NULL ||
                    strncmp(jstr(r, "path"), prefix, strlen(prefix)) == 0)
                        json_array_append(out, r);
        }
        json_decref(all);
        return out;
}

size_t
cluster_sink_count(struct cluster *c, const char *path)
{
        json_t *all = cluster_sink_requests(c, path), *r;
        size_t i, n = 0;

        json_array_foreach(all, i, r)
        {
                n += strcmp(jstr(r, "path"), path) == 0;
        }
        json_decref(all);
        return n;
}

json_t *
cluster_wait_requests(struct cluster *c, const char *prefix, size_t n,
                      int timeout_ms)
{
        long long until = mono_ms() + timeout_ms;

        for (;;) {
                json_t *reqs = cluster_sink_requests(c, prefix);

                notify_drain(c);
                if (json_array_size(reqs) >= n)
                        return reqs;
                if (mono_ms() > until)
                        fail_msg("httpsink saw %zu requests under '%s', not "
                                 "%zu, within %d ms",
                                 json_array_size(reqs),
                                 prefix != NULL ? prefix : "/", n, timeout_ms);
                json_decref(reqs);
                sleep_ms(STEP_MS);
        }
}

int
cluster_smtpsink_start(struct cluster *c, const char *script,
                       const char *const *args)
{
        spill(c->smtpscript, script != NULL ? script : "# accept all\n");
        return itest_smtpsink_start(SMTPSINK_PYTHON, SMTPSINK_SCRIPT,
                                    c->smtpportfile, c->spool, c->smtpscript,
                                    args, c->smtperr, &c->smtp, &c->smtp_port);
}

/* --- Waiting for a positive signal ------------------------------------ */

/* cluster_wait_until, `step_ms` between calls. */
static bool
wait_every(bool (*pred)(void *arg), void *arg, int timeout_ms, int step_ms)
{
        long long until = mono_ms() + timeout_ms;

        for (;;) {
                if (pred(arg))
                        return true;
                if (mono_ms() > until)
                        return false;
                sleep_ms(step_ms);
        }
}

bool
cluster_wait_until(bool (*pred)(void *arg), void *arg, int timeout_ms)
{
        return wait_every(pred, arg, timeout_ms, STEP_MS);
}

int
cluster_log_count(const char *path, const char *needle)
{
        char *text = slurp(path);
        int n = 0;

        for (const char *p = strstr(text, needle); p != NULL;
             p = strstr(p + 1, needle))
                n++;
        free(text);
        return n;
}

struct log_wait {
        const char *path, *needle;
        int n;
};

static bool
log_holds(void *arg)
{
        struct log_wait *w = arg;

        return cluster_log_count(w->path, w->needle) >= w->n;
}

void
cluster_wait_log(const char *path, const char *needle, int n, int timeout_ms)
{
        struct log_wait w = { path, needle, n };

        if (!cluster_wait_until(log_holds, &w, timeout_ms))
                fail_msg("%s holds '%s' %d times, not %d, after %d ms", path,
                         needle, cluster_log_count(path, needle), n,
                         timeout_ms);
}

struct settle_wait {
        struct cluster *c;
        json_int_t delivered, failed;
        json_t *last; /* the last deliveries counts seen */
        bool over;    /* more settled than wanted: no use waiting */
};

static bool
settled(void *arg)
{
        static const char *const busy[] = { "pending", "sending", "retry" };
        struct settle_wait *w = arg;
        json_t *st = cluster_ctl_json(w->c, "status", "--json", NULL);
        json_t *d = jobj(st, "deliveries");
        json_int_t dl = jint(d, "delivered"), fl = jint(d, "failed");
        json_int_t other = 0;

        for (size_t i = 0; i < 3; i++)
                other += jint(d, busy[i]);
        json_decref(w->last);
        w->last = json_incref(d);
        json_decref(st);
        notify_drain(w->c);
        w->over = dl > w->delivered || fl > w->failed;
        return w->over || (dl == w->delivered && fl == w->failed && other == 0);
}

void
cluster_wait_settled(struct cluster *c, json_int_t delivered, json_int_t failed,
                     int timeout_ms)
{
        struct settle_wait w = { c, delivered, failed, NULL, false };
        /* Each call runs ofsted-notifyctl: not too often. */
        bool ok = wait_every(settled, &w, timeout_ms, 4 * STEP_MS);
        char *text = json_dumps(w.last, JSON_COMPACT);

        json_decref(w.last);
        if (!ok || w.over)
                fail_msg("deliveries %s, want %lld delivered and %lld "
                         "failed (waited at most %d ms)",
                         text, (long long)delivered, (long long)failed,
                         timeout_ms);
        free(text);
}

struct count_wait {
        struct cluster *c;
        const char *group, *key;
        json_int_t n, got;
};

static bool
counted(void *arg)
{
        struct count_wait *w = arg;
        json_t *st = cluster_ctl_json(w->c, "status", "--json", NULL);

        w->got = jint(jobj(st, w->group), w->key);
        json_decref(st);
        notify_drain(w->c);
        return w->got >= w->n;
}

void
cluster_wait_count(struct cluster *c, const char *group, const char *key,
                   json_int_t n, int timeout_ms)
{
        struct count_wait w = { c, group, key, n, 0 };

        if (!wait_every(counted, &w, timeout_ms, 2 * STEP_MS))
                fail_msg("status: %s.%s is %lld, not %lld, after %d ms", group,
                         key, (long long)w.got, (long long)n, timeout_ms);
}
