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
#include "cluster.h"

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

#define CONTROL_ID "ofsted-notify-control/1" /* docs/protocol.md */
#define URN        "100001"
#define WAIT_MS    15000

/* The cluster, whose c.conf is the scheduler's and the admin's (key
 * "admin"), the workers' configs beside it, and the keys. */
struct fx {
        struct cluster c;
        char allow[192]; /* curve/allow.conf */
        char pub[4][41]; /* scheduler, w1, admin, stranger */
        int tcp[3];      /* control, dispatch, feed */
};
/* c first: teardown() is cluster_teardown(), which frees f as its c. */
_Static_assert(offsetof(struct fx, c) == 0, "struct fx starts with c");

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

/* `ofsted-notifyctl keygen curve/NAME`; keeps the public key it prints. */
static void
keygen(struct fx *f, int which)
{
        char base[192], *argv[] = { CTL_BINARY, "keygen", base, NULL };
        struct proc_result r;
        const char *p;

        snprintf(base, sizeof(base), "%s/curve/%s", f->c.dir, keynames[which]);
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
        char ep[3][32];
        const struct cluster_conf k = { .path = path,
                                        .trust = "CURVE Test Trust",
                                        .control = ep[0],
                                        .dispatch = ep[1],
                                        .feed = ep[2],
                                        .retry_base = 1,
                                        .lease = 10 };
        FILE *fp;

        for (int i = 0; i < 3; i++)
                snprintf(ep[i], sizeof(ep[i]), "tcp://127.0.0.1:%d", f->tcp[i]);
        fp = cluster_conf_begin(&f->c, &k);
        fprintf(fp,
                "curve = { server_key = \"curve/scheduler.key\";\n"
                "  client_key = \"curve/%s.key\";\n"
                "  allow = \"curve/allow.conf\"; };\n"
                "channels = ( { name = \"it\"; type = \"webhook\";\n"
                "  url = \"http://127.0.0.1:%d/it\"; } );\n"
                "schools = ( { urn = \"%s\"; name = \"Oak Primary\";\n"
                "  channels = [ \"it\" ]; } );\n"
                "rules = ( { name = \"drill\"; event = \"drill\";\n"
                "  deadline = { working_days = 10; time = \"17:00\"; };\n"
                "  alerts = [ \"event\" ]; } );\n",
                client, f->c.port, URN);
        cluster_conf_end(fp);
}

/* A worker's config path for key `name`. */
static void
conf_for(struct fx *f, const char *name, char *out, size_t len)
{
        snprintf(out, len, "%s/%s.conf", f->c.dir, name);
        write_conf(f, out, name);
}

static int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        char sub[160];

        if (f == NULL)
                return -1;
        *state = f;
        if (cluster_init(&f->c, "test_curve") < 0)
                return -1;
        snprintf(f->allow, sizeof(f->allow), "%s/curve/allow.conf", f->c.dir);
        snprintf(sub, sizeof(sub), "%s/curve", f->c.dir);
        cluster_httpsink_script(&f->c, NULL);
        if (mkdir(sub, 0700) < 0 || cluster_httpsink_start(&f->c) < 0)
                return -1;
        for (int i = 0; i < 3; i++)
                f->tcp[i] = free_port(f->tcp, i);
        for (int i = SCHEDULER; i <= STRANGER; i++)
                keygen(f, i);
        write_allow(f, "\"webhook\"", false);
        write_conf(f, f->c.conf, "admin");
        return 0;
}

static int
teardown(void **state)
{
        return cluster_teardown(state);
}

/* Starts the one worker, of `kind`, with the config at `conf`. */
static void
worker_start(struct fx *f, const char *conf, const char *kind)
{
        cluster_worker_start(&f->c, 0, kind, conf, NULL);
}

/* Connected webhook workers, as the admin's `status --json` counts them. */
static json_int_t
webhook_workers(struct fx *f)
{
        json_t *doc = cluster_ctl_json(&f->c, "status", "--json", NULL);
        json_int_t n = jint(jobj(doc, "workers"), "webhook");

        json_decref(doc);
        return n;
}

/* Waits until the file at `path` contains `text`. */
static void
wait_log(const char *path, const char *text)
{
        cluster_wait_log(path, text, 1, WAIT_MS);
}

static size_t
sink_count(struct fx *f)
{
        json_t *all = cluster_sink_requests(&f->c, NULL);
        size_t n = json_array_size(all);

        json_decref(all);
        return n;
}

static void
wait_sink(struct fx *f, size_t n)
{
        json_decref(cluster_wait_requests(&f->c, NULL, n, WAIT_MS));
        assert_int_equal(sink_count(f), n);
}

/* Opens a case and records the `drill` event: one alert, due now. */
static void
record_drill(struct fx *f)
{
        struct proc_result r =
            cluster_ctl(&f->c, "notify", "--school", URN, NULL);

        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        r = cluster_ctl(&f->c, "event", "drill", "--school", URN, NULL);
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
}

static void
reload(struct fx *f)
{
        struct proc_result r = cluster_ctl(&f->c, "reload", NULL);

        if (r.status != 0)
                fail_msg("reload: exit %d: %s", r.status, r.err);
        proc_result_free(&r);
}

/* Waits for the process *pid (the daemon, or a worker) to exit, wanting
 * exit status `want`; it is then no longer the fixture's to stop. */
static void
wait_exit(pid_t *pid, int want)
{
        int status;

        assert_int_equal(proc_wait(*pid, WAIT_MS, &status), 0);
        *pid = -1;
        assert_int_equal(status, want);
}

/* --- The tests --------------------------------------------------------- */

/* A key on the allow-list: admitted, and its worker delivers (the admin's
 * commands over CURVE work, or nothing would be recorded). */
static void
test_known_key_delivers(void **state)
{
        struct fx *f = *state;
        char conf[192], line[128];

        cluster_daemon_start(&f->c, NULL);
        conf_for(f, "w1", conf, sizeof(conf));
        worker_start(f, conf, "webhook");
        cluster_wait_workers(&f->c, "webhook", 1);
        record_drill(f);
        wait_sink(f, 1);
        wait_log(f->c.dlog, "dispatch: admitted CURVE client 'w1' from "
                            "127.0.0.1");
        snprintf(line, sizeof(line), "server key %s", f->pub[SCHEDULER]);
        wait_log(f->c.dlog, line);
        cluster_pass(&f->c);
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
        char conf[192], line[256];

        cluster_daemon_start(&f->c, NULL);
        conf_for(f, "stranger", conf, sizeof(conf));
        worker_start(f, conf, "webhook");
        snprintf(line, sizeof(line),
                 "dispatch: refused a client from 127.0.0.1 with key '%s': "
                 "key not on the allow-list",
                 f->pub[STRANGER]);
        wait_log(f->c.dlog, line);
        wait_log(f->c.wlog[0], "the scheduler refused our connection");
        record_drill(f);
        /* The alert has fired into a delivery that waits for a worker. */
        cluster_wait_count(&f->c, "deliveries", "pending", 1, WAIT_MS);
        assert_int_equal(webhook_workers(f), 0);
        assert_int_equal(sink_count(f), 0);
        assert_true(proc_alive(f->c.worker[0]));

        write_allow(f, "\"webhook\"", true);
        reload(f);
        cluster_wait_workers(&f->c, "webhook", 1);
        wait_sink(f, 1);
        wait_log(f->c.dlog, "admitted CURVE client 'stranger'");
        wait_log(f->c.wlog[0], "the scheduler accepts our CURVE key now");
        f->c.passed = true;
}

/* A listed key that announces a kind it is not allowed: REFUSE. */
static void
test_wrong_kind_refused(void **state)
{
        struct fx *f = *state;
        char conf[192];

        cluster_daemon_start(&f->c, NULL);
        conf_for(f, "w1", conf, sizeof(conf));
        worker_start(f, conf, "email");
        wait_exit(&f->c.worker[0], 1);
        wait_log(f->c.wlog[0],
                 "the scheduler refuses us: its CURVE key ('w1' on "
                 "the allow-list) is not allowed kind 'email'");
        wait_log(f->c.dlog, "says it delivers 'email', but its CURVE key ('w1' "
                            "on the allow-list) is not allowed kind 'email': "
                            "refused");
        f->c.passed = true;
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

/*
 * A PAIR socket on which `sock`'s monitor reports a handshake that failed
 * or a connection dropped.
 */
static void *
monitor_open(void *zctx, void *sock, const char *name)
{
        char ep[64];
        void *pair;
        int zero = 0;

        snprintf(ep, sizeof(ep), "inproc://monitor-%s", name);
        assert_int_equal(
            zmq_socket_monitor(sock, ep,
                               ZMQ_EVENT_DISCONNECTED |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
            0);
        pair = zmq_socket(zctx, ZMQ_PAIR);
        assert_non_null(pair);
        zmq_setsockopt(pair, ZMQ_LINGER, &zero, sizeof(zero));
        assert_int_equal(zmq_connect(pair, ep), 0);
        return pair;
}

/* Waits for one event on monitor `pair`: the connection of `name` was
 * given up without a handshake. */
static void
monitor_wait(void *pair, const char *name)
{
        int ms = WAIT_MS;
        zmq_msg_t m;

        zmq_setsockopt(pair, ZMQ_RCVTIMEO, &ms, sizeof(ms));
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, pair, 0) < 0)
                fail_msg("%s: no failed handshake or dropped connection "
                         "within %d ms",
                         name, WAIT_MS);
        /* [event: 16 bits][value: 32 bits], then the endpoint. */
        assert_int_equal(zmq_msg_size(&m), 6);
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        assert_true(zmq_msg_recv(&m, pair, 0) >= 0);
        zmq_msg_close(&m);
}

/* A client without CURVE: no handshake, no answer, and a log line. */
static void
test_plaintext_refused(void **state)
{
        struct fx *f = *state;
        void *zctx = zmq_ctx_new(), *dealer, *req, *mon[2];
        char endpoint[64];
        int zero = 0;
        zmq_pollitem_t items[2];

        cluster_daemon_start(&f->c, NULL);
        dealer = zmq_socket(zctx, ZMQ_DEALER);
        req = zmq_socket(zctx, ZMQ_REQ);
        zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof(zero));
        mon[0] = monitor_open(zctx, dealer, "dealer");
        mon[1] = monitor_open(zctx, req, "req");
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
        /* Each connection is given up without a handshake, so what was
         * queued never leaves and no answer can come. */
        monitor_wait(mon[0], "the DEALER");
        monitor_wait(mon[1], "the REQ");
        assert_int_equal(zmq_poll(items, 2, 0), 0);
        /* Which side notices the mismatch first varies, so the cause in
         * the line does too. */
        wait_log(f->c.dlog, "dispatch: a client's handshake failed: ");
        wait_log(f->c.dlog, "control: a client's handshake failed: ");
        assert_int_equal(webhook_workers(f), 0);
        zmq_close(mon[0]);
        zmq_close(mon[1]);
        zmq_close(dealer);
        zmq_close(req);
        zmq_ctx_term(zctx);
        f->c.passed = true;
}

/* A worker's key on the control socket: refused; it is not "control". */
static void
test_control_needs_control_kind(void **state)
{
        struct fx *f = *state;
        char conf[192];
        struct proc_result r;

        cluster_daemon_start(&f->c, NULL);
        conf_for(f, "w1", conf, sizeof(conf));
        r = cluster_ctl_with(&f->c, conf, "status", "--timeout", "2", NULL);
        assert_int_equal(r.status, 1);
        assert_contains(r.err, "no answer from the daemon");
        assert_contains(r.err, "allow-list with kind \"control\"");
        proc_result_free(&r);
        wait_log(f->c.dlog,
                 "control: refused a client from 127.0.0.1 with key");
        wait_log(f->c.dlog, "key not allowed kind \"control\"");
        f->c.passed = true;
}

/* Taken off the list and reloaded: the connected worker is refused. */
static void
test_revoked_on_reload(void **state)
{
        struct fx *f = *state;
        char conf[192];

        cluster_daemon_start(&f->c, NULL);
        conf_for(f, "w1", conf, sizeof(conf));
        worker_start(f, conf, "webhook");
        cluster_wait_workers(&f->c, "webhook", 1);
        write_allow(f, NULL, false);
        reload(f);
        cluster_wait_workers(&f->c, "webhook", 0);
        wait_exit(&f->c.worker[0], 1);
        wait_log(f->c.dlog, "its CURVE key is no longer on the allow-list");
        wait_log(f->c.wlog[0], "the scheduler refuses us");
        f->c.passed = true;
}

/* A key file others may read is refused, with the fix in the message. */
static void
test_open_key_file_refused(void **state)
{
        struct fx *f = *state;
        char key[192], conf[192];

        snprintf(key, sizeof(key), "%s/curve/scheduler.key", f->c.dir);
        assert_int_equal(chmod(key, 0644), 0);
        assert_int_equal(cluster_daemon_spawn(&f->c, NULL), 0);
        wait_exit(&f->c.daemon, 78);
        wait_log(f->c.dlog, "scheduler.key: holds a secret but is open to "
                            "others (mode 0644)");

        /* The worker's own key, likewise. */
        assert_int_equal(chmod(key, 0600), 0);
        snprintf(key, sizeof(key), "%s/curve/w1.key", f->c.dir);
        assert_int_equal(chmod(key, 0640), 0);
        cluster_daemon_start(&f->c, NULL);
        conf_for(f, "w1", conf, sizeof(conf));
        worker_start(f, conf, "webhook");
        wait_exit(&f->c.worker[0], 78);
        wait_log(f->c.wlog[0], "w1.key: holds a secret but is open to others "
                               "(mode 0640)");
        f->c.passed = true;
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_known_key_delivers),
    CLUSTER_TEST(test_unknown_key_refused),
    CLUSTER_TEST(test_wrong_kind_refused),
    CLUSTER_TEST(test_plaintext_refused),
    CLUSTER_TEST(test_control_needs_control_kind),
    CLUSTER_TEST(test_revoked_on_reload),
    CLUSTER_TEST(test_open_key_file_refused),
})
