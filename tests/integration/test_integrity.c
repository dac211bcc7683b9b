/*
 * Delivery integrity (docs/dispatch.md, who may settle a delivery): the
 * real ofsted-notifyd, real ofsted-notify-worker processes and httpsink on
 * loopback, and fake workers — DEALER sockets this test drives — on the
 * daemon's dispatch socket. Checked:
 *
 * - forged outcomes: a peer that never said READY, a registered worker
 *   that does not hold the lease, the holder with a wrong lease number,
 *   and a `delivered` for a delivery that failed for good (HTTP 404) are
 *   dropped, counted as malformed and never acknowledged; the holder's
 *   outcome is taken and acknowledged, and so is its repeat;
 * - a worker that takes jobs and never answers: its leases run out, it
 *   gets no more jobs and is shown as stalled, and the deliveries reach
 *   the receiver through a healthy worker, none given up;
 * - `local` retries (a problem on our side): never given up however many,
 *   shown in history and status, tried again at once after a reload, then
 *   delivered by a real worker.
 *
 * Every wait is bounded and waits for a positive signal (a reply, a
 * counter, a state, a log line); every child is killed in teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/dproto.h" /* DPROTO_ID, docs/dispatch.md */
#include "cluster.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define URN_OK    "100001" /* channels a, b, c: /a, /b, /c answer 200 */
#define URN_GONE  "100002" /* channel gone: /gone answers 404 */
#define URN_ONE   "100003" /* channel a only */
#define WAIT_MS   30000
#define LEASE_S   5 /* the least delivery.lease the config allows */
#define BEAT_MS   1000
#define LOCAL_ERR "secret file 'a.url': readable by others (mode 0644)"

/* The cluster (the daemon, a webhook worker in slot 0, httpsink) and the
 * fakes' context. */
struct fx {
        struct cluster c;
        char endpoint[224]; /* the daemon's dispatch socket */
        void *zctx;
        void *socks[4]; /* the fakes' sockets still open */
};

/* A fake worker: a DEALER this test speaks the protocol through. */
struct fake {
        void *sock;
        const char *id;
        long long beat_ms; /* its next HEARTBEAT; 0: it sends none */
        json_t *jobs;      /* the JOB bodies it received, in order */
        json_t *acks;      /* the ACK bodies */
        void **slot;       /* its place in fx.socks */
        int credit;        /* what it announces, in READY and heartbeats */
        int hellos;        /* HELLOs received */
        int other;         /* any other message */
};

static int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));

        if (f == NULL)
                return -1;
        *state = f;
        if (cluster_init(&f->c, "test_integrity") < 0)
                return -1;
        snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/run/dispatch.sock",
                 f->c.dir);
        cluster_httpsink_script(&f->c, "/gone status 404\n");
        if (cluster_httpsink_start(&f->c) < 0)
                return -1;
        f->zctx = zmq_ctx_new();
        return f->zctx != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
        struct fx *f = *state;

        /* A failed test leaves its fakes open; the context waits for them. */
        for (size_t i = 0; i < 4; i++) {
                if (f->socks[i] != NULL)
                        zmq_close(f->socks[i]);
        }
        if (f->zctx != NULL)
                zmq_ctx_term(f->zctx);
        cluster_fini(&f->c);
        free(f);
        return 0;
}

/* The config: lease and max_attempts as given, fast retries. */
static void
write_conf(struct fx *f, int lease, int max_attempts)
{
        char more[64];
        const struct cluster_conf k = { .trust = "Integrity Trust",
                                        .retry_base = 1,
                                        .lease = lease,
                                        .delivery = more };
        FILE *fp;

        snprintf(more, sizeof(more), "max_attempts = %d;", max_attempts);
        fp = cluster_conf_begin(&f->c, &k);
        fprintf(fp,
                "channels = (\n"
                "  { name = \"a\"; type = \"mattermost\"; url = "
                "\"http://127.0.0.1:%d/a\"; },\n"
                "  { name = \"b\"; type = \"mattermost\"; url = "
                "\"http://127.0.0.1:%d/b\"; },\n"
                "  { name = \"c\"; type = \"mattermost\"; url = "
                "\"http://127.0.0.1:%d/c\"; },\n"
                "  { name = \"gone\"; type = \"mattermost\"; url = "
                "\"http://127.0.0.1:%d/gone\"; }\n);\n"
                "schools = (\n"
                "  { urn = \"%s\"; name = \"Oak Primary\"; channels = [ "
                "\"a\", \"b\", \"c\" ]; },\n"
                "  { urn = \"%s\"; name = \"Ash Primary\"; channels = [ "
                "\"gone\" ]; },\n"
                "  { urn = \"%s\"; name = \"Elm Primary\"; channels = [ "
                "\"a\" ]; }\n);\n"
                "rules = (\n  { name = \"drill\"; event = \"drill\"; action = "
                "\"Drill.\";\n    deadline = { working_days = 10; time = "
                "\"17:00\"; };\n    alerts = [ \"event\" ]; }\n);\n",
                f->c.port, f->c.port, f->c.port, f->c.port, URN_OK, URN_GONE,
                URN_ONE);
        cluster_conf_end(fp);
}

/* --- The real programs ------------------------------------------------- */

static json_t *
status(struct fx *f)
{
        return cluster_ctl_json(&f->c, "status", "--json", NULL);
}

/* The webhook worker, in slot 0. */
static void
worker_start(struct fx *f)
{
        static const char *const args[] = { "--timeout", "4", NULL };

        cluster_worker_start(&f->c, 0, "webhook", NULL, args);
}

/* Records a drill event for `urn`, due now. */
static void
record(struct fx *f, const char *urn)
{
        json_t *r =
            cluster_ctl_json(&f->c, "notify", "--school", urn, "--json", NULL);
        struct proc_result p;

        json_decref(r);
        p = cluster_ctl(&f->c, "event", "drill", "--school", urn, "--json",
                        NULL);
        if (p.status != 0)
                fail_msg("ofsted-notifyctl event: %s", p.err);
        proc_result_free(&p);
}

/* The one delivery to `channel` in history. New reference. */
static json_t *
delivery_to(struct fx *f, const char *channel)
{
        json_t *h = cluster_history(&f->c), *d, *found = NULL;
        size_t i;

        json_array_foreach(h, i, d)
        {
                if (strcmp(jstr(d, "channel"), channel) == 0) {
                        assert_null(found);
                        found = json_incref(d);
                }
        }
        json_decref(h);
        if (found == NULL)
                fail_msg("no delivery to '%s'", channel);
        return found;
}

/* --- Fake workers ------------------------------------------------------ */

static void
fake_send(struct fake *k, const char *type, const char *body)
{
        if (zmq_send(k->sock, DPROTO_ID, strlen(DPROTO_ID), ZMQ_SNDMORE) < 0 ||
            zmq_send(k->sock, type, strlen(type), ZMQ_SNDMORE) < 0 ||
            zmq_send(k->sock, body, strlen(body), 0) < 0)
                fail_msg("%s: zmq_send: %s", k->id, zmq_strerror(zmq_errno()));
}

/*
 * Connects a fake worker with routing id `id`; with `credit` >= 0 it says
 * READY with that credit and heartbeats while the test polls it.
 */
static void
fake_open(struct fx *f, struct fake *k, const char *id, int credit)
{
        int zero = 0;
        char body[64];

        memset(k, 0, sizeof(*k));
        k->id = id;
        k->sock = zmq_socket(f->zctx, ZMQ_DEALER);
        assert_non_null(k->sock);
        zmq_setsockopt(k->sock, ZMQ_ROUTING_ID, id, strlen(id));
        zmq_setsockopt(k->sock, ZMQ_LINGER, &zero, sizeof(zero));
        assert_int_equal(zmq_connect(k->sock, f->endpoint), 0);
        k->jobs = json_array();
        k->acks = json_array();
        k->credit = credit;
        k->slot = NULL;
        for (size_t i = 0; i < 4 && k->slot == NULL; i++) {
                if (f->socks[i] == NULL) {
                        f->socks[i] = k->sock;
                        k->slot = &f->socks[i];
                }
        }
        assert_non_null(k->slot);
        if (credit < 0)
                return;
        snprintf(body, sizeof(body), "{\"kind\": \"webhook\", \"credit\": %d}",
                 credit);
        fake_send(k, "READY", body);
        k->beat_ms = mono_ms() + BEAT_MS;
}

static void
fake_close(struct fake *k)
{
        zmq_close(k->sock);
        *k->slot = NULL;
        json_decref(k->jobs);
        json_decref(k->acks);
        k->sock = NULL;
}

/*
 * Reads what has come for fake `k` within `ms` (0: what is there), filing
 * each message, and heartbeats when due with the credit it announced
 * (however many jobs it holds).
 */
static void
fake_poll(struct fake *k, long ms)
{
        long long until = mono_ms() + ms;

        for (;;) {
                zmq_pollitem_t it = { k->sock, 0, ZMQ_POLLIN, 0 };
                long left = (long)(until - mono_ms());
                char *fr[3] = { NULL, NULL, NULL };
                int n = 0, more = 1;
                size_t len = sizeof(more);

                if (k->beat_ms != 0 && mono_ms() >= k->beat_ms) {
                        char body[32];

                        snprintf(body, sizeof(body), "{\"credit\": %d}",
                                 k->credit);
                        fake_send(k, "HEARTBEAT", body);
                        k->beat_ms = mono_ms() + BEAT_MS;
                }
                if (zmq_poll(&it, 1, left > 0 ? left : 0) < 0 &&
                    zmq_errno() != EINTR)
                        fail_msg("zmq_poll: %s", zmq_strerror(zmq_errno()));
                if (!(it.revents & ZMQ_POLLIN)) {
                        if (mono_ms() >= until)
                                return;
                        continue;
                }
                while (more) {
                        zmq_msg_t m;

                        zmq_msg_init(&m);
                        if (zmq_msg_recv(&m, k->sock, 0) < 0) {
                                zmq_msg_close(&m);
                                break;
                        }
                        if (n < 3)
                                fr[n++] =
                                    strndup(zmq_msg_data(&m), zmq_msg_size(&m));
                        zmq_msg_close(&m);
                        zmq_getsockopt(k->sock, ZMQ_RCVMORE, &more, &len);
                }
                if (n == 3 && strcmp(fr[1], "JOB") == 0)
                        json_array_append_new(k->jobs,
                                              json_loads(fr[2], 0, NULL));
                else if (n == 3 && strcmp(fr[1], "ACK") == 0)
                        json_array_append_new(k->acks,
                                              json_loads(fr[2], 0, NULL));
                else if (n == 3 && strcmp(fr[1], "HELLO") == 0)
                        k->hellos++;
                else if (n < 2 || strcmp(fr[1], "HEARTBEAT") != 0)
                        k->other++;
                for (int i = 0; i < n; i++)
                        free(fr[i]);
        }
}

/* Polls `k` until it holds `n` jobs. */
static void
fake_wait_jobs(struct fake *k, size_t n)
{
        long long until = mono_ms() + WAIT_MS;

        while (json_array_size(k->jobs) < n) {
                if (mono_ms() > until)
                        fail_msg("%s got %zu jobs, not %zu", k->id,
                                 json_array_size(k->jobs), n);
                fake_poll(k, 100);
        }
}

/* The OUTCOME body for delivery `uid` under `lease`. */
static void
fake_outcome(struct fake *k, const char *uid, json_int_t lease,
             const char *result, bool local)
{
        char body[512];

        snprintf(
            body, sizeof(body),
            "{\"delivery\": \"%s\", \"lease\": %lld, \"result\": \"%s\"%s}",
            uid, (long long)lease, result,
            local ? ", \"local\": true, \"error\": \"" LOCAL_ERR "\"" : "");
        fake_send(k, "OUTCOME", body);
}

/*
 * Polls `status --json` (and the fakes, so that they keep beating) until
 * dispatch.malformed is `n`.
 */
static void
wait_malformed(struct fx *f, json_int_t n, struct fake **fakes, int nfakes)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *st = status(f);
                json_int_t got = jint(jobj(st, "dispatch"), "malformed");

                json_decref(st);
                if (got == n)
                        break;
                if (got > n || mono_ms() > until)
                        fail_msg("dispatch.malformed is %lld, not %lld",
                                 (long long)got, (long long)n);
                for (int i = 0; i < nfakes; i++)
                        fake_poll(fakes[i], 0);
                sleep_ms(50);
        }
        /* Replies go out before the counter can be read (dispatch_read
         * sends them at the end of its batch); take what arrived. */
        for (int i = 0; i < nfakes; i++)
                fake_poll(fakes[i], 200);
}

/*
 * Polls status (and the fakes) until deliveries.`what` is `n` and none of
 * pending, sending, retry is left when `settled`.
 */
static void
wait_deliveries(struct fx *f, const char *what, json_int_t n, bool settled,
                struct fake **fakes, int nfakes)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *st = status(f), *d = jobj(st, "deliveries");
                json_int_t busy =
                    jint(d, "pending") + jint(d, "sending") + jint(d, "retry");
                json_int_t got = jint(d, what);

                json_decref(st);
                if (got == n && (!settled || busy == 0))
                        return;
                if (mono_ms() > until)
                        fail_msg("deliveries.%s is %lld, not %lld", what,
                                 (long long)got, (long long)n);
                for (int i = 0; i < nfakes; i++)
                        fake_poll(fakes[i], 0);
                sleep_ms(100);
        }
}

/* --- The tests --------------------------------------------------------- */

/*
 * The forged outcomes of issue 16 and the legitimate path beside them.
 */
static void
test_forged(void **state)
{
        struct fx *f = *state;
        struct fake stranger, holder, other, *all[3];
        json_t *job, *d, *st;
        char uid[64], gone[64];
        json_int_t lease;

        /* A long lease: the holder keeps it through the test. */
        write_conf(f, 600, 3);
        cluster_daemon_start(&f->c, NULL);

        /* A failed-for-good delivery first: a real worker meets the 404. */
        worker_start(f);
        record(f, URN_GONE);
        wait_deliveries(f, "failed", 1, true, NULL, 0);
        assert_int_equal(cluster_worker_stop(&f->c, 0, SIGTERM), 0);
        d = delivery_to(f, "gone");
        snprintf(gone, sizeof(gone), "%s", jstr(d, "id"));
        assert_contains(jstr(d, "last_error"), "404");
        json_decref(d);

        /* A fake holder takes the next job; another worker has no credit. */
        fake_open(f, &holder, "webhook/fake/1/a", 1);
        fake_open(f, &other, "webhook/fake/2/b", 0);
        all[0] = &holder;
        all[1] = &other;
        record(f, URN_OK);
        fake_wait_jobs(&holder, 1);
        job = json_array_get(holder.jobs, 0);
        snprintf(uid, sizeof(uid), "%s", jstr(job, "delivery"));
        lease = jint(job, "lease");

        /* 1. A peer that never said READY: HELLO, and no ACK before it. */
        fake_open(f, &stranger, "webhook/fake/3/c", -1);
        all[2] = &stranger;
        fake_outcome(&stranger, uid, lease, "delivered", false);
        fake_outcome(&stranger, gone, 12345, "delivered", false);
        wait_malformed(f, 2, all, 3);
        assert_int_equal(stranger.hellos, 2);
        assert_int_equal(json_array_size(stranger.acks), 0);

        /* 2. A registered worker that does not hold the lease. */
        fake_outcome(&other, uid, lease, "delivered", false);
        wait_malformed(f, 3, all, 3);
        assert_int_equal(json_array_size(other.acks), 0);

        /* 3. The holder, with a wrong lease number. */
        fake_outcome(&holder, uid, lease + 7, "delivered", false);
        wait_malformed(f, 4, all, 3);
        assert_int_equal(json_array_size(holder.acks), 0);

        /* 4. delivered for the delivery that failed for good, from a
         * registered worker, with the lease it failed under too. */
        fake_outcome(&other, gone, 1, "delivered", false);
        fake_outcome(&holder, gone, 1, "delivered", false);
        wait_malformed(f, 6, all, 3);
        assert_int_equal(json_array_size(other.acks), 0);
        assert_int_equal(json_array_size(holder.acks), 0);

        /* Nothing changed: still sending, no attempt; still failed. */
        d = delivery_to(f, jstr(job, "channel"));
        assert_string_equal(jstr(d, "id"), uid);
        assert_string_equal(jstr(d, "status"), "sending");
        assert_int_equal(jint(d, "attempts"), 0);
        json_decref(d);
        d = delivery_to(f, "gone");
        assert_string_equal(jstr(d, "status"), "failed");
        assert_contains(jstr(d, "last_error"), "404");
        json_decref(d);
        assert_int_equal(cluster_sink_count(&f->c, "/gone"), 1);
        st = status(f);
        assert_int_equal(jint(jobj(st, "dispatch"), "delivered"), 0);
        assert_int_equal(jint(jobj(st, "deliveries"), "delivered"), 0);
        json_decref(st);
        /* Logged, at most once a minute per peer. */
        assert_int_equal(cluster_log_count(f->c.dlog,
                                           "dispatch: outcome from "
                                           "webhook/fake/3/c dropped"),
                         1);
        assert_int_equal(cluster_log_count(f->c.dlog,
                                           "dispatch: outcome from "
                                           "webhook/fake/2/b dropped"),
                         1);

        /* The legitimate path: the holder's outcome is taken and ACKed,
         * and its repeat ACKed again without another change. */
        fake_outcome(&holder, uid, lease, "delivered", false);
        wait_deliveries(f, "delivered", 1, false, all, 3);
        fake_outcome(&holder, uid, lease, "delivered", false);
        while (json_array_size(holder.acks) < 2)
                fake_poll(&holder, 100);
        assert_string_equal(jstr(json_array_get(holder.acks, 0), "delivery"),
                            uid);
        assert_int_equal(jint(json_array_get(holder.acks, 1), "lease"), lease);
        st = status(f);
        assert_int_equal(jint(jobj(st, "dispatch"), "delivered"), 1);
        assert_int_equal(jint(jobj(st, "dispatch"), "malformed"), 6);
        json_decref(st);
        fake_close(&stranger);
        fake_close(&other);
        fake_close(&holder);

        /* The rest go through a real worker as ever. */
        worker_start(f);
        wait_deliveries(f, "delivered", 3, true, NULL, 0);
        cluster_pass(&f->c);
}

/*
 * A fake worker announces credit 1000, takes jobs and never answers
 * (though it keeps beating); a real worker runs beside it. Its leases run
 * out: it is stalled and gets nothing more, and each delivery reaches the
 * sink once, through the real worker, with one attempt, none given up,
 * though max_attempts is 1.
 */
static void
test_stalled(void **state)
{
        static const char *const paths[] = { "/a", "/b", "/c" };
        struct fx *f = *state;
        struct fake hog, *all[1] = { &hog };
        json_t *st, *stalled, *h, *d;
        struct proc_result r;
        size_t i;

        write_conf(f, LEASE_S, 1);
        cluster_daemon_start(&f->c, NULL);
        fake_open(f, &hog, "webhook/hog/1/x", 1000);
        record(f, URN_OK);
        fake_wait_jobs(&hog, 3);
        worker_start(f);
        wait_deliveries(f, "delivered", 3, true, all, 1);
        fake_poll(&hog, 0);
        assert_int_equal(json_array_size(hog.jobs), 3);

        h = cluster_history(&f->c);
        assert_int_equal(json_array_size(h), 3);
        json_array_foreach(h, i, d)
        {
                assert_string_equal(jstr(d, "status"), "delivered");
                assert_int_equal(jint(d, "attempts"), 1);
        }
        json_decref(h);
        for (i = 0; i < 3; i++)
                assert_int_equal(cluster_sink_count(&f->c, paths[i]), 1);

        st = status(f);
        assert_int_equal(jint(jobj(st, "dispatch"), "given_up"), 0);
        assert_int_equal(jint(jobj(st, "workers"), "webhook"), 2);
        stalled = jarr(st, "stalled");
        assert_int_equal(json_array_size(stalled), 1);
        assert_string_equal(jstr(json_array_get(stalled, 0), "worker"),
                            "webhook/hog/1/x");
        assert_int_equal(jint(json_array_get(stalled, 0), "expired"), 3);
        json_decref(st);
        r = cluster_ctl(&f->c, "status", NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, "Stalled:    worker webhook/hog/1/x (webhook): "
                               "3 leases ran out");
        proc_result_free(&r);
        assert_int_equal(
            cluster_log_count(f->c.dlog, "worker webhook/hog/1/x let "), 1);

        /* It reports (a late outcome of a lease it held): jobs again. */
        fake_outcome(&hog, jstr(json_array_get(hog.jobs, 0), "delivery"),
                     jint(json_array_get(hog.jobs, 0), "lease"), "retry",
                     false);
        while (json_array_size(hog.acks) < 1)
                fake_poll(&hog, 100);
        st = status(f);
        assert_int_equal(json_array_size(jarr(st, "stalled")), 0);
        json_decref(st);
        fake_close(&hog);
        cluster_pass(&f->c);
}

/* Polls fakes `k` and `other` (so both keep beating) until `k` holds `n`
 * jobs. */
static void
fake_wait_jobs_beside(struct fake *k, size_t n, struct fake *other)
{
        long long until = mono_ms() + WAIT_MS;

        while (json_array_size(k->jobs) < n) {
                if (mono_ms() > until)
                        fail_msg("%s got %zu jobs, not %zu", k->id,
                                 json_array_size(k->jobs), n);
                fake_poll(k, 50);
                fake_poll(other, 50);
        }
}

/*
 * An outcome for a lease older than the previous one (found by the soak: a
 * worker's lease ran out, and another worker then held the delivery twice,
 * retrying it): it changes nothing, but it is acknowledged, or the worker
 * would repeat it for as long as it runs.
 */
static void
test_older_lease(void **state)
{
        struct fx *f = *state;
        struct fake a, b;
        json_t *job, *h, *st;
        json_int_t l1;
        char uid[80];
        long long until;

        write_conf(f, LEASE_S, 10);
        cluster_daemon_start(&f->c, NULL);
        fake_open(f, &a, "webhook/fake/1/a", 1);
        record(f, URN_ONE);
        fake_wait_jobs(&a, 1);
        job = json_array_get(a.jobs, 0);
        snprintf(uid, sizeof(uid), "%s", jstr(job, "delivery"));
        l1 = jint(job, "lease");
        /* A sits on it; once its lease runs out, B holds the delivery,
         * answers retry, holds it again and delivers it. */
        fake_open(f, &b, "webhook/fake/2/b", 1);
        fake_wait_jobs_beside(&b, 1, &a);
        job = json_array_get(b.jobs, 0);
        assert_string_equal(jstr(job, "delivery"), uid);
        assert_true(jint(job, "lease") > l1);
        fake_outcome(&b, uid, jint(job, "lease"), "retry", false);
        fake_wait_jobs_beside(&b, 2, &a);
        job = json_array_get(b.jobs, 1);
        assert_string_equal(jstr(job, "delivery"), uid);
        fake_outcome(&b, uid, jint(job, "lease"), "delivered", false);
        until = mono_ms() + WAIT_MS;
        while (json_array_size(b.acks) < 2) {
                if (mono_ms() > until)
                        fail_msg("B has %zu ACKs, not 2",
                                 json_array_size(b.acks));
                fake_poll(&b, 50);
                fake_poll(&a, 50);
        }

        /* A's outcome, two holders back: acknowledged, nothing changed. */
        fake_outcome(&a, uid, l1, "failed", false);
        until = mono_ms() + WAIT_MS;
        while (json_array_size(a.acks) < 1) {
                if (mono_ms() > until)
                        fail_msg("the outcome of lease %lld was never "
                                 "acknowledged",
                                 (long long)l1);
                fake_poll(&a, 50);
                fake_poll(&b, 50);
        }
        assert_string_equal(jstr(json_array_get(a.acks, 0), "delivery"), uid);
        assert_int_equal(jint(json_array_get(a.acks, 0), "lease"), l1);
        h = cluster_history(&f->c);
        assert_int_equal(json_array_size(h), 1);
        assert_string_equal(jstr(json_array_get(h, 0), "status"), "delivered");
        assert_int_equal(jint(json_array_get(h, 0), "attempts"), 2);
        json_decref(h);
        st = status(f);
        assert_int_equal(jint(jobj(st, "dispatch"), "malformed"), 0);
        json_decref(st);
        fake_close(&a);
        fake_close(&b);
        cluster_pass(&f->c);
}

/*
 * The holder answers `local: true` (a secret file of ours is wrong) four
 * times, with max_attempts 2: never given up, no attempt counted, its
 * error in history, held in status, logged at error once; a reload makes
 * it due at once, and a real worker delivers it.
 */
static void
test_local(void **state)
{
        struct fx *f = *state;
        struct fake holder;
        json_t *st, *held, *d, *job;
        struct proc_result r;
        size_t n;

        write_conf(f, LEASE_S, 2);
        cluster_daemon_start(&f->c, NULL);
        fake_open(f, &holder, "webhook/fake/1/a", 1);
        record(f, URN_ONE);
        for (n = 1; n <= 4; n++) {
                fake_wait_jobs(&holder, n);
                job = json_array_get(holder.jobs, n - 1);
                assert_string_equal(jstr(job, "channel"), "a");
                fake_outcome(&holder, jstr(job, "delivery"), jint(job, "lease"),
                             "retry", true);
                while (json_array_size(holder.acks) < n)
                        fake_poll(&holder, 100);
        }
        st = status(f);
        assert_int_equal(jint(jobj(st, "dispatch"), "given_up"), 0);
        assert_int_equal(jint(jobj(st, "dispatch"), "retried"), 0);
        assert_int_equal(jint(jobj(st, "dispatch"), "held"), 4);
        assert_int_equal(jint(jobj(st, "deliveries"), "failed"), 0);
        assert_int_equal(jint(jobj(st, "deliveries"), "retry"), 1);
        held = jarr(st, "held");
        assert_int_equal(json_array_size(held), 1);
        assert_string_equal(jstr(json_array_get(held, 0), "channel"), "a");
        assert_int_equal(jint(json_array_get(held, 0), "deliveries"), 1);
        assert_string_equal(jstr(json_array_get(held, 0), "error"), LOCAL_ERR);
        json_decref(st);
        r = cluster_ctl(&f->c, "status", NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out,
                        "Held:       1 deliveries to 'a' by a problem on this "
                        "side: " LOCAL_ERR "\n");
        proc_result_free(&r);
        d = delivery_to(f, "a");
        assert_string_equal(jstr(d, "status"), "retry");
        assert_string_equal(jstr(d, "last_error"), LOCAL_ERR);
        assert_int_equal(jint(d, "attempts"), 0);
        json_decref(d);
        /* Logged at error once, not once per retry. */
        assert_int_equal(
            cluster_log_count(f->c.dlog,
                              "deliveries to 'a' (mattermost) held by a "
                              "problem on this side: " LOCAL_ERR),
            1);
        fake_close(&holder);

        /* Fixed: a reload sends it at once; a real worker delivers it. */
        worker_start(f);
        r = cluster_ctl(&f->c, "reload", NULL);
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        cluster_wait_log(f->c.dlog, "reload: 1 held deliveries tried again now",
                         1, WAIT_MS);
        wait_deliveries(f, "delivered", 1, true, NULL, 0);
        d = delivery_to(f, "a");
        assert_string_equal(jstr(d, "status"), "delivered");
        assert_int_equal(jint(d, "attempts"), 1);
        assert_true(json_is_null(member(d, "last_error")));
        json_decref(d);
        assert_int_equal(cluster_sink_count(&f->c, "/a"), 1);
        st = status(f);
        assert_int_equal(json_array_size(jarr(st, "held")), 0);
        json_decref(st);
        cluster_wait_log(f->c.dlog, "deliveries to 'a' are no longer held", 1,
                         WAIT_MS);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_forged),
    CLUSTER_TEST(test_stalled),
    CLUSTER_TEST(test_older_lease),
    CLUSTER_TEST(test_local),
})
