/*
 * fuzz_dproto: the dispatch protocol (docs/dispatch.md) as both peers read
 * it. Every message of the input is decoded by dproto_decode(), the
 * decoder of the daemon and of the worker alike, for whichever type it
 * names (JOB, ACK, HELLO, REFUSE and WATCH as a worker gets them; READY,
 * OUTCOME, RECEIPT and HEARTBEAT as the daemon does); and it is sent to the
 * daemon's dispatch_read() and dispatch_tick() (daemon/dispatch.c) through a
 * real ROUTER socket and a real state database, which handle what it takes.
 *
 * Three DEALER peers stand in for workers: 0 "webhook/fuzz/1" (the worker
 * holding lease 1 of delivery 2 in fuzz_store()'s state), 1 "email/fuzz/2"
 * and 2 a binary routing id. The input is text:
 *
 *   @1                         optional: the message comes from peer 1
 *   ofsted-notify-dispatch/2   one line per frame after the routing id
 *   READY                      ("-" alone is an empty frame)
 *   {"kind": "email", "credit": 3}
 *                              a blank line ends the message
 *   !tick                      a message of its own: the daemon reads what
 *                              was sent, runs its tick, and 3 s pass
 *
 * The daemon reads and ticks once more at the end; what it sent back is
 * drained. Nothing a peer sends may crash either decoder or the daemon,
 * leak, or make the daemon count more workers than there are peers. A
 * refusal has a fault and a reason; a message taken encodes again to a
 * text that decodes to the same fields.
 */
#include "fuzz.h"

#include "dispatch.h"
#include "dproto.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define NPEERS       3
#define MAX_MESSAGES 256
#define MAX_FRAMES   8
#define TICK_MS      3000

static const struct {
        const char *id;
        size_t len;
} peer_ids[NPEERS] = {
        { "webhook/fuzz/1", 14 },
        { "email/fuzz/2", 12 },
        { "\x01\xfe\n\x7f bin", 8 },
};

/* The sockets, made once: the daemon's ROUTER and the workers' DEALERs. */
struct sockets {
        void *zctx;
        void *router;
        void *peers[NPEERS];
};

static void
setup_fail(const char *what)
{
        fprintf(stderr, "fuzz setup: %s: %s\n", what,
                zmq_strerror(zmq_errno()));
        exit(2);
}

static const struct sockets *
sockets(void)
{
        static struct sockets s;
        int one = 1, zero = 0;

        if (s.zctx != NULL)
                return &s;
        s.zctx = zmq_ctx_new();
        s.router = zmq_socket(s.zctx, ZMQ_ROUTER);
        if (s.router == NULL ||
            zmq_setsockopt(s.router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) <
                0 ||
            zmq_setsockopt(s.router, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
            zmq_bind(s.router, "inproc://fuzz-dproto") < 0)
                setup_fail("router");
        for (int i = 0; i < NPEERS; i++) {
                zmq_msg_t m;

                s.peers[i] = zmq_socket(s.zctx, ZMQ_DEALER);
                if (s.peers[i] == NULL ||
                    zmq_setsockopt(s.peers[i], ZMQ_ROUTING_ID, peer_ids[i].id,
                                   peer_ids[i].len) < 0 ||
                    zmq_setsockopt(s.peers[i], ZMQ_LINGER, &zero,
                                   sizeof(zero)) < 0 ||
                    zmq_connect(s.peers[i], "inproc://fuzz-dproto") < 0)
                        setup_fail("dealer");
                /* One message through, so the ROUTER knows the peer. */
                if (zmq_send(s.peers[i], "", 0, 0) < 0)
                        setup_fail("hello");
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, s.router, 0) < 0 ||
                    zmq_msg_recv(&m, s.router, 0) < 0)
                        setup_fail("hello");
                zmq_msg_close(&m);
        }
        return &s;
}

/* Throws away what the daemon sent to the workers. */
static void
drain(const struct sockets *s)
{
        for (int i = 0; i < NPEERS; i++) {
                zmq_msg_t m;

                zmq_msg_init(&m);
                while (zmq_msg_recv(&m, s->peers[i], ZMQ_DONTWAIT) >= 0)
                        ;
                zmq_msg_close(&m);
        }
}

static bool
same(const char *a, const char *b)
{
        return (a == NULL && b == NULL) ||
               (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* `m`, taken by the decoder, encoded again. */
static char *
encode(const struct dproto_msg *m)
{
        char *alert, *text = NULL;

        switch (m->type) {
        case DPROTO_READY:
                return dproto_ready_encode(&m->u.ready);
        case DPROTO_OUTCOME:
                return dproto_outcome_encode(&m->u.outcome);
        case DPROTO_HEARTBEAT:
                return dproto_heartbeat_encode(&m->u.heartbeat);
        case DPROTO_JOB:
                alert = json_dumps(m->u.job.alert, JSON_COMPACT);
                FUZZ_CHECK(alert != NULL);
                text = dproto_job_encode(&m->u.job, alert);
                free(alert);
                return text;
        case DPROTO_ACK:
                return dproto_ack_encode(&m->u.ack);
        case DPROTO_HELLO:
                return dproto_hello_encode();
        case DPROTO_REFUSE:
                return dproto_refuse_encode(&m->u.refuse);
        case DPROTO_RECEIPT:
                return dproto_receipt_encode(&m->u.receipt);
        case DPROTO_WATCH:
                return dproto_watch_encode(&m->u.watch);
        case DPROTO_NTYPES:
                break;
        }
        FUZZ_CHECK(!"a decoded message has a type");
        return NULL;
}

/* Both fields of a and b are the same message. */
static void
check_same(const struct dproto_msg *a, const struct dproto_msg *b)
{
        const struct dproto_outcome *oa = &a->u.outcome, *ob = &b->u.outcome;
        const struct dproto_job *ja = &a->u.job, *jb = &b->u.job;

        FUZZ_CHECK(a->type == b->type);
        switch (a->type) {
        case DPROTO_READY:
                FUZZ_CHECK(a->u.ready.kind == b->u.ready.kind &&
                           a->u.ready.credit == b->u.ready.credit);
                break;
        case DPROTO_OUTCOME:
                FUZZ_CHECK(same(oa->delivery, ob->delivery) &&
                           oa->lease == ob->lease && oa->result == ob->result &&
                           oa->code == ob->code &&
                           oa->retry_after == ob->retry_after &&
                           oa->local == ob->local &&
                           same(oa->error, ob->error) &&
                           same(oa->receipt, ob->receipt) &&
                           oa->receipt_expires == ob->receipt_expires);
                break;
        case DPROTO_HEARTBEAT:
                FUZZ_CHECK(a->u.heartbeat.credit == b->u.heartbeat.credit);
                break;
        case DPROTO_JOB:
                FUZZ_CHECK(same(ja->delivery, jb->delivery) &&
                           ja->lease == jb->lease &&
                           ja->attempt == jb->attempt &&
                           same(ja->channel, jb->channel) &&
                           same(ja->type, jb->type) &&
                           json_equal(ja->alert, jb->alert));
                break;
        case DPROTO_ACK:
                FUZZ_CHECK(same(a->u.ack.delivery, b->u.ack.delivery) &&
                           a->u.ack.lease == b->u.ack.lease);
                break;
        case DPROTO_REFUSE:
                FUZZ_CHECK(same(a->u.refuse.error, b->u.refuse.error));
                break;
        case DPROTO_RECEIPT:
                FUZZ_CHECK(same(a->u.receipt.delivery, b->u.receipt.delivery) &&
                           same(a->u.receipt.acknowledged_by,
                                b->u.receipt.acknowledged_by) &&
                           a->u.receipt.acknowledged_at ==
                               b->u.receipt.acknowledged_at);
                break;
        case DPROTO_WATCH:
                FUZZ_CHECK(same(a->u.watch.delivery, b->u.watch.delivery) &&
                           same(a->u.watch.channel, b->u.watch.channel) &&
                           same(a->u.watch.receipt, b->u.watch.receipt) &&
                           a->u.watch.expires_at == b->u.watch.expires_at);
                break;
        case DPROTO_HELLO:
        case DPROTO_NTYPES:
                break;
        }
}

/* Decodes the frames as either peer would, and checks the codec. */
static void
check_codec(const struct dproto_frame *f, int n)
{
        struct dproto_msg m, again;
        char *cause = NULL, *text;
        struct dproto_frame g[3];

        if (dproto_decode(f, n, &m, &cause) < 0) {
                FUZZ_CHECK(m.fault != DPROTO_FAULT_NONE);
                FUZZ_CHECK(cause != NULL && cause[0] != '\0');
                dproto_msg_clear(&m);
                free(cause);
                return;
        }
        FUZZ_CHECK(m.fault == DPROTO_FAULT_NONE && cause == NULL);
        text = encode(&m);
        g[0] = f[0];
        g[1] = f[1];
        g[2] = (struct dproto_frame){ text, strlen(text) };
        if (dproto_decode(g, 3, &again, &cause) < 0) {
                fprintf(stderr, "fuzz: %s encoded as %s is refused: %s\n",
                        dproto_type_names[m.type], text, cause);
                FUZZ_CHECK(!"an encoded message decodes");
        }
        check_same(&m, &again);
        dproto_msg_clear(&again);
        dproto_msg_clear(&m);
        free(text);
}

/* Sends one message written as lines in [p, end). */
static void
send_message(const struct sockets *s, const char *p, const char *end)
{
        const char *frames[MAX_FRAMES];
        size_t lens[MAX_FRAMES];
        struct dproto_frame f[MAX_FRAMES];
        int n = 0, peer = 0;

        if (end - p >= 2 && p[0] == '@') {
                peer = (unsigned char)p[1] % NPEERS;
                p = memchr(p, '\n', (size_t)(end - p));
                p = p == NULL ? end : p + 1;
        }
        while (p < end && n < MAX_FRAMES) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

                frames[n] = p;
                lens[n] = len == 1 && p[0] == '-' ? 0 : len;
                n++;
                p += len + 1;
        }
        for (int i = 0; i < n; i++) {
                f[i] = (struct dproto_frame){ frames[i], lens[i] };
                zmq_send(s->peers[peer], frames[i], lens[i],
                         ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0));
        }
        check_codec(f, n);
}

static void
run(struct dispatch *d, struct store *st, int64_t now_ms)
{
        const struct conf *conf = fuzz_conf();
        json_t *workers;

        dispatch_read(d, st, conf, now_ms);
        dispatch_tick(d, st, conf, now_ms);
        FUZZ_CHECK(dispatch_timeout(d, st, now_ms) >= 0);
        workers = dispatch_json_workers(d);
        FUZZ_CHECK(
            json_integer_value(json_object_get(workers, "email")) +
                json_integer_value(json_object_get(workers, "webhook")) <=
            NPEERS);
        json_decref(workers);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const struct sockets *s = sockets();
        struct store *st = fuzz_store();
        struct dispatch *d = dispatch_new(s->router);
        const char *p = (const char *)data, *end = p + size;
        int64_t now_ms = FUZZ_NOW * 1000;

        for (int i = 0; i < MAX_MESSAGES && p < end; i++) {
                const char *blank = memmem(p, (size_t)(end - p), "\n\n", 2);
                const char *stop = blank != NULL ? blank : end;

                if (stop - p == 5 && memcmp(p, "!tick", 5) == 0) {
                        run(d, st, now_ms);
                        now_ms += TICK_MS;
                } else {
                        send_message(s, p, stop);
                }
                p = blank != NULL ? blank + 2 : end;
        }
        run(d, st, now_ms);
        drain(s);
        dispatch_destroy(&d);
        store_close(&st);
        return 0;
}
