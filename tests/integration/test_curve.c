/*
 * tcp:// endpoints with CURVE, end to end: the real scheduler, real
 * webhook workers, ofsted-notifyctl and httpsink on loopback, with key
 * pairs made by `ofsted-notifyctl keygen`.
 *
 * A worker whose key is on the allow-list connects and delivers; an
 * unknown key, a plaintext client and a worker announcing a kind its key
 * is not allowed are refused and logged; the allow-list is reread on
 * reload, both to admit and to revoke; a secret key file others can read
 * is refused at start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/dproto.h" /* DPROTO_ID, docs/dispatch.md */
#include "itest.h"
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define HOLIDAYS   SOURCE_DIR "/config/bank-holidays.json"
#define CONTROL_ID "ofsted-notify-control/1" /* docs/protocol.md */
#define URN        "100001"
#define START_MS   20000
#define WAIT_MS    15000
#define QUIET_MS   2000 /* how long "nothing happens" is watched */

struct fx {
        char dir[64];
        char conf[96];  /* the scheduler's and the admin's */
        char allow[96]; /* curve/allow.conf */
        char sinklog[96], sinkerr[96], script[96], portfile[96];
        char dlog[96], wlog[96];
        char env_state[96], env_run[96];
        char pub[4][41]; /* scheduler, w1, admin, stranger */
        int port;        /* httpsink */
        int tcp[3];      /* control, dispatch, feed */
        pid_t daemon, worker, sink;
        bool passed;
};

enum { SCHEDULER, W1, ADMIN, STRANGER };
static const char *const keynames[] = { "scheduler", "w1", "admin",
                                        "stranger" };

/*
 * A TCP port on loopback that nothing listens on just now, taken from
 * below the kernel's ephemeral range (net.ipv4.ip_local_port_range): a
 * port the kernel handed out for `bind(0)` could be handed out again,
 * to a client's connect() or another test's sink, before the daemon
 * binds it. `taken` ports, picked earlier, are skipped.
 */
static int
free_port(const int *taken, int ntaken)
{
        int low = 32768;
        FILE *range = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

        if (range) {
                if (fscanf(range, "%d", &low) != 1)
                        low = 32768;
                fclose(range);
        }
        assert_true(low > 11024);
        srand((unsigned)getpid() ^ (unsigned)mono_ms());
        for (int tries = 0; tries < 200; tries++) {
                struct sockaddr_in a = { .sin_family = AF_INET };
                int port = 10000 + rand() % (low - 11000);
                int fd = socket(AF_INET, SOCK_STREAM, 0), ok, one = 1;
                bool dup = false;

                for (int i = 0; i < ntaken; i++)
                        dup |= taken[i] == port;
                assert_true(fd >= 0);
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                a.sin_port = htons((uint16_t)port);
                ok = !dup && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
                close(fd);
                if (ok)
                        return port;
        }
        fail_msg("no free TCP port below %d on loopback", low);
        return -1;
}

/* ofsted-notifyctl -c `conf` a0 ... (NULL-terminated). */
static struct proc_result
ctl_with(struct fx *f, const char *conf, const char *a0, ...)
{
        struct proc_result r;
        va_list ap;

        va_start(ap, a0);
        r = itest_ctl_run(CTL_BINARY, conf, f->env_state, f->env_run, a0, ap);
        va_end(ap);
        return r;
}

/* `ofsted-notifyctl keygen curve/NAME`; keeps the public key it prints. */
static void
keygen(struct fx *f, int which)
{
        char base[128], *argv[] = { CTL_BINARY, "keygen", base, NULL };
        struct proc_result r;
        const char *p;

        snprintf(base, sizeof(base), "%s/curve/%s", f->dir, keynames[which]);
        assert_int_equal(proc_run(argv, NULL, &r), 0);
        assert_int_equal(r.status, 0);
        p = strstr(r.out, "public key: ");
        assert_non_null(p);
        snprintf(f->pub[which], sizeof(f->pub[which]), "%.40s", p + 12);
        assert_int_equal(strlen(f->pub[which]), 40);
        proc_result_free(&r);
}

/* The allow-list: the clients listed, each with its kinds. */
static void
write_allow(struct fx *f, const char *w1_kinds, bool stranger)
{
        char text[1024];
        int n;

        n = snprintf(text, sizeof(text),
                     "clients = (\n"
                     "  { name = \"admin\"; key_file = \"admin.pub\";\n"
                     "    kinds = [ \"control\" ]; }");
        if (w1_kinds != NULL)
                n += snprintf(text + n, sizeof(text) - (size_t)n,
                              ",\n  { name = \"w1\"; key = \"%s\";\n"
                              "    kinds = [ %s ]; }",
                              f->pub[W1], w1_kinds);
        if (stranger)
                n += snprintf(text + n, sizeof(text) - (size_t)n,
                              ",\n  { name = \"stranger\"; key = \"%s\";\n"
                              "    kinds = [ \"webhook\" ]; }",
                              f->pub[STRANGER]);
        snprintf(text + n, sizeof(text) - (size_t)n, "\n);\n");
        spill(f->allow, text);
}

/* A config in the fixture's directory; `client` is this host's key. */
static void
write_conf(struct fx *f, const char *path, const char *client)
{
        FILE *fp = fopen(path, "w");

        assert_non_null(fp);
        fprintf(fp,
                "trust = { name = \"CURVE Test Trust\";\n"
                "  timezone = \"Europe/London\"; holidays = \"%s\"; };\n"
                "daemon = { state = \"state.db\";\n"
                "  control = \"tcp://127.0.0.1:%d\";\n"
                "  dispatch = \"tcp://127.0.0.1:%d\";\n"
                "  feed = \"tcp://127.0.0.1:%d\"; };\n"
                "curve = { server_key = \"curve/scheduler.key\";\n"
                "  client_key = \"curve/%s.key\";\n"
                "  allow = \"curve/allow.conf\"; };\n"
                "delivery = { retry_base = 1; lease = 10; };\n"
                "channels = ( { name = \"it\"; type = \"webhook\";\n"
                "  url = \"http://127.0.0.1:%d/it\"; } );\n"
                "schools = ( { urn = \"%s\"; name = \"Oak Primary\";\n"
                "  channels = [ \"it\" ]; } );\n"
                "rules = ( { name = \"drill\"; event = \"drill\";\n"
                "  deadline = { working_days = 10; time = \"17:00\"; };\n"
                "  alerts = [ \"event\" ]; } );\n",
                HOLIDAYS, f->tcp[0], f->tcp[1], f->tcp[2], client, f->port,
                URN);
        assert_int_equal(fclose(fp), 0);
}

/* A worker's config path for key `name`. */
static void
conf_for(struct fx *f, const char *name, char *out, size_t len)
{
        snprintf(out, len, "%s/%s.conf", f->dir, name);
        write_conf(f, out, name);
}

static int
sink_start(struct fx *f)
{
        spill(f->script, "# 200 for all\n");
        return itest_httpsink_start(HTTPSINK_BINARY, f->portfile, f->sinklog,
                                    f->script, f->sinkerr, &f->sink, &f->port);
}

static int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        char sub[128];

        if (f == NULL)
                return -1;
        *state = f;
        f->daemon = f->worker = f->sink = -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/test_curve.XXXXXX");
        if (mkdtemp(f->dir) == NULL)
                return -1;
        snprintf(f->conf, sizeof(f->conf), "%s/sched.conf", f->dir);
        snprintf(f->allow, sizeof(f->allow), "%s/curve/allow.conf", f->dir);
        snprintf(f->sinklog, sizeof(f->sinklog), "%s/sink.jsonl", f->dir);
        snprintf(f->sinkerr, sizeof(f->sinkerr), "%s/sink.err", f->dir);
        snprintf(f->script, sizeof(f->script), "%s/sink.script", f->dir);
        snprintf(f->portfile, sizeof(f->portfile), "%s/sink.port", f->dir);
        snprintf(f->dlog, sizeof(f->dlog), "%s/daemon.log", f->dir);
        snprintf(f->wlog, sizeof(f->wlog), "%s/worker.log", f->dir);
        snprintf(f->env_state, sizeof(f->env_state), "STATE_DIRECTORY=%s",
                 f->dir);
        snprintf(f->env_run, sizeof(f->env_run), "RUNTIME_DIRECTORY=%s",
                 f->dir);
        snprintf(sub, sizeof(sub), "%s/curve", f->dir);
        if (mkdir(sub, 0700) < 0 || sink_start(f) < 0)
                return -1;
        for (int i = 0; i < 3; i++)
                f->tcp[i] = free_port(f->tcp, i);
        for (int i = SCHEDULER; i <= STRANGER; i++)
                keygen(f, i);
        write_allow(f, "\"webhook\"", false);
        write_conf(f, f->conf, "admin");
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
                itest_show_log(f->dlog, 32768);
                itest_show_log(f->wlog, 16384);
        }
        itest_rmtree(f->dir);
        free(f);
        return 0;
}

/* Starts the daemon and waits until the admin's `status` reaches it. */
static void
daemon_start(struct fx *f)
{
        char *argv[] = { DAEMON_BINARY, "-c", f->conf, NULL };
        char *const env[] = { f->env_state, f->env_run, "NOTIFY_SOCKET",
                              "JOURNAL_STREAM", NULL };
        long long until = mono_ms() + START_MS;

        assert_int_equal(proc_start(argv, env, f->dlog, &f->daemon), 0);
        for (;;) {
                struct proc_result r =
                    ctl_with(f, f->conf, "status", "--timeout", "1", NULL);
                int status = r.status;

                proc_result_free(&r);
                if (status == 0)
                        return;
                if (!proc_alive(f->daemon) || mono_ms() > until)
                        fail_msg("ofsted-notifyd exited or did not answer "
                                 "over CURVE within %d ms",
                                 START_MS);
                sleep_ms(100);
        }
}

static void
worker_start(struct fx *f, const char *conf, const char *kind)
{
        char *argv[] = { WORKER_BINARY, "--kind",     (char *)kind,
                         "-c",          (char *)conf, NULL };
        char *const env[] = { f->env_state,
                              f->env_run,
                              "NOTIFY_SOCKET",
                              "JOURNAL_STREAM",
                              "CREDENTIALS_DIRECTORY",
                              NULL };

        assert_int_equal(proc_start(argv, env, f->wlog, &f->worker), 0);
}

/* Connected webhook workers, as the admin's `status --json` counts them. */
static json_int_t
webhook_workers(struct fx *f)
{
        struct proc_result r = ctl_with(f, f->conf, "status", "--json", NULL);
        json_t *doc = json_loads(r.out, 0, NULL);
        json_int_t n;

        if (r.status != 0 || doc == NULL)
                fail_msg("status --json: exit %d: %s", r.status, r.err);
        n = jint(jobj(doc, "workers"), "webhook");
        json_decref(doc);
        proc_result_free(&r);
        return n;
}

static void
wait_workers(struct fx *f, json_int_t want)
{
        long long until = mono_ms() + WAIT_MS;

        while (webhook_workers(f) != want) {
                if (mono_ms() > until)
                        fail_msg("the daemon does not count %lld webhook "
                                 "workers",
                                 (long long)want);
                sleep_ms(100);
        }
}

/* Waits until the file at `path` contains `text`. */
static void
wait_log(const char *path, const char *text)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                char *log = slurp(path);
                bool found = strstr(log, text) != NULL;

                free(log);
                if (found)
                        return;
                if (mono_ms() > until)
                        fail_msg("'%s' never said: %s", path, text);
                sleep_ms(100);
        }
}

static size_t
sink_count(struct fx *f)
{
        json_t *all = jsonl_records(f->sinklog);
        size_t n = json_array_size(all);

        json_decref(all);
        return n;
}

static void
wait_sink(struct fx *f, size_t n)
{
        long long until = mono_ms() + WAIT_MS;

        while (sink_count(f) < n) {
                if (mono_ms() > until)
                        fail_msg("httpsink saw %zu requests, not %zu",
                                 sink_count(f), n);
                sleep_ms(100);
        }
        assert_int_equal(sink_count(f), n);
}

/* Opens a case and records the `drill` event: one alert, due now. */
static void
record_drill(struct fx *f)
{
        struct proc_result r =
            ctl_with(f, f->conf, "notify", "--school", URN, NULL);

        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        r = ctl_with(f, f->conf, "event", "drill", "--school", URN, NULL);
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
}

static void
reload(struct fx *f)
{
        struct proc_result r = ctl_with(f, f->conf, "reload", NULL);

        if (r.status != 0)
                fail_msg("reload: exit %d: %s", r.status, r.err);
        proc_result_free(&r);
}

/* --- The tests --------------------------------------------------------- */

/* A key on the allow-list: admitted, and its worker delivers (the admin's
 * commands over CURVE work, or nothing would be recorded). */
static void
test_known_key_delivers(void **state)
{
        struct fx *f = *state;
        char conf[128], line[128];

        daemon_start(f);
        conf_for(f, "w1", conf, sizeof(conf));
        worker_start(f, conf, "webhook");
        wait_workers(f, 1);
        record_drill(f);
        wait_sink(f, 1);
        wait_log(f->dlog, "dispatch: admitted CURVE client 'w1' from "
                          "127.0.0.1");
        snprintf(line, sizeof(line), "server key %s", f->pub[SCHEDULER]);
        wait_log(f->dlog, line);
        assert_int_equal(proc_stop(f->worker, SIGTERM), 0);
        f->worker = -1;
        assert_int_equal(proc_stop(f->daemon, SIGTERM), 0);
        f->daemon = -1;
        f->passed = true;
}

/*
 * A key not on the list: the handshake fails, both sides log it, nothing
 * is delivered. Listed and reloaded, the same worker gets in and delivers
 * without a restart.
 */
static void
test_unknown_key_refused(void **state)
{
        struct fx *f = *state;
        char conf[128], line[256];

        daemon_start(f);
        conf_for(f, "stranger", conf, sizeof(conf));
        worker_start(f, conf, "webhook");
        snprintf(line, sizeof(line),
                 "dispatch: refused a client from 127.0.0.1 with key '%s': "
                 "key not on the allow-list",
                 f->pub[STRANGER]);
        wait_log(f->dlog, line);
        wait_log(f->wlog, "the scheduler refused our connection");
        record_drill(f);
        sleep_ms(QUIET_MS);
        assert_int_equal(webhook_workers(f), 0);
        assert_int_equal(sink_count(f), 0);
        assert_true(proc_alive(f->worker));

        write_allow(f, "\"webhook\"", true);
        reload(f);
        wait_workers(f, 1);
        wait_sink(f, 1);
        wait_log(f->dlog, "admitted CURVE client 'stranger'");
        wait_log(f->wlog, "the scheduler accepts our CURVE key now");
        f->passed = true;
}

/* A listed key that announces a kind it is not allowed: REFUSE. */
static void
test_wrong_kind_refused(void **state)
{
        struct fx *f = *state;
        char conf[128];
        int status;

        daemon_start(f);
        conf_for(f, "w1", conf, sizeof(conf));
        worker_start(f, conf, "email");
        assert_int_equal(proc_wait(f->worker, WAIT_MS, &status), 0);
        f->worker = -1;
        assert_int_equal(status, 1);
        wait_log(f->wlog, "the scheduler refuses us: its CURVE key ('w1' on "
                          "the allow-list) is not allowed kind 'email'");
        wait_log(f->dlog, "says it delivers 'email', but its CURVE key ('w1' "
                          "on the allow-list) is not allowed kind 'email': "
                          "refused");
        f->passed = true;
}

/* Sends [DPROTO_ID]["READY"][body] on a DEALER; false if it blocks. */
static bool
send_ready(void *sock)
{
        const char *body = "{\"kind\":\"webhook\",\"credit\":1}";

        return zmq_send(sock, DPROTO_ID, strlen(DPROTO_ID),
                        ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
               zmq_send(sock, "READY", 5, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
               zmq_send(sock, body, strlen(body), ZMQ_DONTWAIT) >= 0;
}

/* A client without CURVE: no handshake, no answer, and a log line. */
static void
test_plaintext_refused(void **state)
{
        struct fx *f = *state;
        void *zctx = zmq_ctx_new(), *dealer, *req;
        char endpoint[64];
        int zero = 0;
        zmq_pollitem_t items[2];

        daemon_start(f);
        dealer = zmq_socket(zctx, ZMQ_DEALER);
        req = zmq_socket(zctx, ZMQ_REQ);
        zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof(zero));
        snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:%d", f->tcp[1]);
        assert_int_equal(zmq_connect(dealer, endpoint), 0);
        snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:%d", f->tcp[0]);
        assert_int_equal(zmq_connect(req, endpoint), 0);
        /* Queued until a handshake that never completes. */
        send_ready(dealer);
        zmq_send(req, CONTROL_ID, strlen(CONTROL_ID), ZMQ_SNDMORE);
        zmq_send(req, "{\"cmd\":\"status\"}", 16, ZMQ_DONTWAIT);
        items[0] = (zmq_pollitem_t){ dealer, 0, ZMQ_POLLIN, 0 };
        items[1] = (zmq_pollitem_t){ req, 0, ZMQ_POLLIN, 0 };
        assert_int_equal(zmq_poll(items, 2, QUIET_MS), 0);
        /* Which side notices the mismatch first varies, so the cause in
         * the line does too. */
        wait_log(f->dlog, "dispatch: a client's handshake failed: ");
        wait_log(f->dlog, "control: a client's handshake failed: ");
        assert_int_equal(webhook_workers(f), 0);
        zmq_close(dealer);
        zmq_close(req);
        zmq_ctx_term(zctx);
        f->passed = true;
}

/* A worker's key on the control socket: refused; it is not "control". */
static void
test_control_needs_control_kind(void **state)
{
        struct fx *f = *state;
        char conf[128];
        struct proc_result r;

        daemon_start(f);
        conf_for(f, "w1", conf, sizeof(conf));
        r = ctl_with(f, conf, "status", "--timeout", "2", NULL);
        assert_int_equal(r.status, 1);
        assert_contains(r.err, "no answer from the daemon");
        assert_contains(r.err, "allow-list with kind \"control\"");
        proc_result_free(&r);
        wait_log(f->dlog, "control: refused a client from 127.0.0.1 with key");
        wait_log(f->dlog, "key not allowed kind \"control\"");
        f->passed = true;
}

/* Taken off the list and reloaded: the connected worker is refused. */
static void
test_revoked_on_reload(void **state)
{
        struct fx *f = *state;
        char conf[128];
        int status;

        daemon_start(f);
        conf_for(f, "w1", conf, sizeof(conf));
        worker_start(f, conf, "webhook");
        wait_workers(f, 1);
        write_allow(f, NULL, false);
        reload(f);
        wait_workers(f, 0);
        assert_int_equal(proc_wait(f->worker, WAIT_MS, &status), 0);
        f->worker = -1;
        assert_int_equal(status, 1);
        wait_log(f->dlog, "its CURVE key is no longer on the allow-list");
        wait_log(f->wlog, "the scheduler refuses us");
        f->passed = true;
}

/* A key file others may read is refused, with the fix in the message. */
static void
test_open_key_file_refused(void **state)
{
        struct fx *f = *state;
        char *argv[] = { DAEMON_BINARY, "-c", f->conf, NULL };
        char *const env[] = { f->env_state, f->env_run, "NOTIFY_SOCKET", NULL };
        char key[128], conf[128];
        int status;

        snprintf(key, sizeof(key), "%s/curve/scheduler.key", f->dir);
        assert_int_equal(chmod(key, 0644), 0);
        assert_int_equal(proc_start(argv, env, f->dlog, &f->daemon), 0);
        assert_int_equal(proc_wait(f->daemon, WAIT_MS, &status), 0);
        f->daemon = -1;
        assert_int_equal(status, 78);
        wait_log(f->dlog, "scheduler.key: holds a secret but is open to "
                          "others (mode 0644)");

        /* The worker's own key, likewise. */
        assert_int_equal(chmod(key, 0600), 0);
        snprintf(key, sizeof(key), "%s/curve/w1.key", f->dir);
        assert_int_equal(chmod(key, 0640), 0);
        daemon_start(f);
        conf_for(f, "w1", conf, sizeof(conf));
        worker_start(f, conf, "webhook");
        assert_int_equal(proc_wait(f->worker, WAIT_MS, &status), 0);
        f->worker = -1;
        assert_int_equal(status, 78);
        wait_log(f->wlog, "w1.key: holds a secret but is open to others "
                          "(mode 0640)");
        f->passed = true;
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_known_key_delivers, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_unknown_key_refused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wrong_kind_refused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_plaintext_refused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_control_needs_control_kind,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_revoked_on_reload, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_open_key_file_refused,
                                                setup, teardown),
        };
        /* One CTest per test: the name to run is the argument. */
        if (argc > 1)
                cmocka_set_test_filter(argv[1]);

        return cmocka_run_group_tests(tests, NULL, NULL);
}
