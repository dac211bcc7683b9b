#include "dispatch_int.h"

#include "curve.h"
#include "dproto.h"
#include "log.h"
#include "xalloc.h"
#include "zframes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_FRAMES 4 /* [routing id][DPROTO_ID][type][body] */
#define READ_BATCH 512

struct dispatch *
dispatch_new(void *sock)
{
        struct dispatch *d = xcalloc(1, sizeof(*d));
        uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);

        d->sock = sock;
        d->watch_due = true; /* receipts a scheduler before us handed out */
        d->rand[0] = (unsigned short)seed;
        d->rand[1] = (unsigned short)(seed >> 16);
        d->rand[2] = (unsigned short)(seed >> 32);
        return d;
}

static void
worker_free(struct worker *w)
{
        free(w->id);
        free(w->name);
        free(w->key);
}

void
dispatch_destroy(struct dispatch **dp)
{
        struct dispatch *d;

        if (dp == NULL || *dp == NULL)
                return;
        d = *dp;
        for (size_t i = 0; i < d->nworkers; i++)
                worker_free(&d->workers[i]);
        free(d->workers);
        free(d->paces);
        free(d->waiting);
        free(d->held);
        dispatch_watch_clear(d);
        free(d);
        *dp = NULL;
}

/*
 * Sends [id][DPROTO_ID][type][text]; never blocks. Returns -1 when it
 * could not (the socket is ROUTER_MANDATORY: a peer that has gone fails
 * with EHOSTUNREACH instead of swallowing the message).
 */
int
dispatch_send_text(struct dispatch *d, const struct worker *w,
                   enum dproto_type type, const char *text)
{
        const char *name = dproto_type_names[type];

        if (zmq_send(d->sock, w->id, w->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) <
                0 ||
            zmq_send(d->sock, DPROTO_ID, strlen(DPROTO_ID),
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(d->sock, name, strlen(name), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
                0 ||
            zmq_send(d->sock, text, strlen(text), ZMQ_DONTWAIT) < 0) {
                int err = zmq_errno();

                /* A closed connection is the caller's to report. */
                if (err != EHOSTUNREACH)
                        log_warnx("dispatch: sending %s to %s: %s", name,
                                  w->name, zmq_strerror(err));
                errno = err;
                return -1;
        }
        return 0;
}

/* A reply to a routing id that is not (or no longer) a known worker. */
static void
send_raw(struct dispatch *d, const void *id, size_t idlen,
         enum dproto_type type, const char *text)
{
        struct worker w = { .id = (char *)id,
                            .idlen = idlen,
                            .name = (char *)"unknown worker",
                            .kind = DPROTO_KIND_WEBHOOK };

        dispatch_send_text(d, &w, type, text);
}

/*
 * Replies held until the outcomes they answer are committed: a batch of
 * outcomes is one transaction, and an ACK must never go out before its
 * commit.
 */
struct reply {
        void *id;
        size_t idlen;
        enum dproto_type type;
        char *text; /* the body, owned */
};

struct replies {
        struct reply *r;
        size_t n;
};

static void
reply_later(struct replies *q, const void *id, size_t idlen,
            enum dproto_type type, char *text)
{
        struct reply *r;

        q->r = xreallocarray(q->r, q->n + 1, sizeof(*q->r));
        r = &q->r[q->n++];
        r->id = xmalloc(idlen);
        memcpy(r->id, id, idlen);
        r->idlen = idlen;
        r->type = type;
        r->text = text;
}

/* Sends the held replies when `send` is true, and empties the queue. */
static void
replies_flush(struct dispatch *d, struct replies *q, bool send)
{
        for (size_t i = 0; i < q->n; i++) {
                if (send)
                        send_raw(d, q->r[i].id, q->r[i].idlen, q->r[i].type,
                                 q->r[i].text);
                free(q->r[i].text);
                free(q->r[i].id);
        }
        free(q->r);
        q->r = NULL;
        q->n = 0;
}

/*
 * Logs a store error, unless the state database has a fault: main.c
 * reports that once, and what failed here is tried again when it is over
 * (outcomes go unacknowledged, so their workers repeat them).
 */
void
dispatch_store_error(struct store *st, const char *cause)
{
        if (store_fault(st, NULL) == STORE_OK)
                log_err("dispatch: %s", cause);
        else
                log_debug("dispatch: %s", cause);
}

static struct worker *
find_worker(struct dispatch *d, const void *id, size_t idlen)
{
        for (size_t i = 0; i < d->nworkers; i++) {
                if (d->workers[i].idlen == idlen &&
                    memcmp(d->workers[i].id, id, idlen) == 0)
                        return &d->workers[i];
        }
        return NULL;
}

/*
 * A routing id as text: printable bytes as they are, others and the
 * backslash as \xNN, so that two ids never have the same text: the store
 * names a lease's holder by it.
 */
char *
dispatch_printable(const void *id, size_t len)
{
        char *s = xmalloc(4 * len + 1), *p = s;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = ((const unsigned char *)id)[i];

                if (c >= 0x21 && c < 0x7f && c != '\\')
                        *p++ = (char)c;
                else
                        p += sprintf(p, "\\x%02x", c);
        }
        *p = '\0';
        return s;
}

void
dispatch_forget_worker(struct dispatch *d, struct store *st, struct worker *w,
                       int64_t now_ms, const char *why)
{
        char *cause = NULL;
        int n = store_deliveries_release(st, w->name, now_ms / 1000, &cause);

        if (n < 0)
                dispatch_store_error(st, cause);
        log_warnx("worker %s %s: %d deliveries back to pending", w->name, why,
                  n < 0 ? 0 : n);
        free(cause);
        dispatch_watch_changed(d, w->name);
        worker_free(w);
        *w = d->workers[--d->nworkers];
}

/*
 * Whether a worker that came in over CURVE with public key `key` (the ZAP
 * handler's User-Id; NULL or "" over ipc://, where the socket's file mode
 * is the guard) may deliver `kind`. Says why not in *why.
 */
static bool
key_allows(const struct conf *conf, const char *key, const char *kind,
           char **why)
{
        const struct conf_client *c;

        if (key == NULL || key[0] == '\0')
                return true;
        c = conf_client_by_key(conf, key);
        if (c == NULL) {
                xasprintf(why, "its CURVE key is no longer on the allow-list");
                return false;
        }
        if (!curve_allows_kind(c, kind)) {
                xasprintf(why,
                          "its CURVE key ('%s' on the allow-list) is not "
                          "allowed kind '%s'",
                          c->name, kind);
                return false;
        }
        return true;
}

static void
refuse(struct dispatch *d, const void *id, size_t idlen, const char *why)
{
        char *text = dproto_refuse_encode(&(struct dproto_refuse){ why });

        send_raw(d, id, idlen, DPROTO_REFUSE, text);
        free(text);
}

/*
 * A message from a worker, as a handler sees it: who sent it (its routing
 * id, and its CURVE key over tcp://), and where to queue replies that
 * wait for the batch's commit.
 */
struct inbound {
        struct dispatch *d;
        struct store *st;
        const struct conf *conf;
        const void *id;
        size_t idlen;
        const char *key; /* the ZAP handler's User-Id, or NULL */
        int64_t now_ms;
        struct replies *q;
};

static void
on_ready(const struct inbound *in, const struct dproto_msg *m)
{
        struct dispatch *d = in->d;
        const struct dproto_ready *r = &m->u.ready;
        const char *kind = dproto_kind_names[r->kind];
        struct worker *w = find_worker(d, in->id, in->idlen);
        char *why = NULL, *name;

        if (!key_allows(in->conf, in->key, kind, &why)) {
                name = dispatch_printable(in->id, in->idlen);
                log_warnx("worker %s says it delivers '%s', but %s: refused",
                          name, kind, why);
                refuse(d, in->id, in->idlen, why);
                if (w != NULL)
                        dispatch_forget_worker(d, in->st, w, in->now_ms,
                                               "was refused");
                free(name);
                free(why);
                return;
        }
        if (w == NULL) {
                d->workers = xreallocarray(d->workers, d->nworkers + 1,
                                           sizeof(*d->workers));
                w = &d->workers[d->nworkers++];
                memset(w, 0, sizeof(*w));
                w->id = xmalloc(in->idlen);
                memcpy(w->id, in->id, in->idlen);
                w->idlen = in->idlen;
                w->name = dispatch_printable(in->id, in->idlen);
                w->key = in->key != NULL && in->key[0] != '\0'
                             ? xstrdup(in->key)
                             : NULL;
                log_info("worker %s (%s) connected with credit %d", w->name,
                         kind, r->credit);
                /* It may poll receipts no other worker does. */
                dispatch_watch_changed(d, NULL);
        }
        w->kind = r->kind;
        w->credit = r->credit;
        w->last_ms = in->now_ms;
}

/*
 * A HEARTBEAT or an OUTCOME, even a malformed one, says the peer is
 * there: a worker is heard; a peer that has not said READY is told HELLO,
 * after the batch's ACKs when `queued` (an OUTCOME's answer), else now.
 * Returns the worker, or NULL.
 */
static struct worker *
heard(const struct inbound *in, bool queued)
{
        struct worker *w = find_worker(in->d, in->id, in->idlen);
        char *hello;

        if (w != NULL) {
                w->last_ms = in->now_ms;
                return w;
        }
        hello = dproto_hello_encode();
        if (queued) {
                reply_later(in->q, in->id, in->idlen, DPROTO_HELLO, hello);
                return NULL;
        }
        send_raw(in->d, in->id, in->idlen, DPROTO_HELLO, hello);
        free(hello);
        return NULL;
}

static void
on_outcome(const struct inbound *in, const struct dproto_msg *m)
{
        struct dispatch *d = in->d;
        const struct dproto_outcome *out = &m->u.outcome;
        struct worker *w = find_worker(d, in->id, in->idlen);
        enum applied a =
            dproto_is_beat(out->delivery)
                ? dispatch_beat_outcome(d, w, out, in->now_ms)
                : dispatch_apply_outcome(d, in->st, in->conf, w, in->id,
                                         in->idlen, out, in->now_ms);

        if (a != APPLIED_DROP)
                reply_later(in->q, in->id, in->idlen, DPROTO_ACK,
                            dproto_ack_encode(&(struct dproto_ack){
                                out->delivery, out->lease, false }));
        if (heard(in, true) == NULL || a == APPLIED_DROP)
                return;
        /* It reports: it may have jobs again. */
        if (w->stalled) {
                log_info("worker %s reports again: it gets jobs again",
                         w->name);
                w->stalled = false;
                w->expired = 0;
        }
        if (a == APPLIED_FIRST && w->credit < DPROTO_MAX_CREDIT)
                w->credit++;
}

static void
on_heartbeat(const struct inbound *in, const struct dproto_msg *m)
{
        struct worker *w = heard(in, false);

        if (w != NULL && m->u.heartbeat.credit >= 0)
                w->credit = m->u.heartbeat.credit;
}

/*
 * A RECEIPT: ACKed after the batch's commit once recorded (or never
 * recordable), as an OUTCOME is; a peer without READY is told HELLO.
 */
static void
on_receipt(const struct inbound *in, const struct dproto_msg *m)
{
        struct worker *w = heard(in, true);

        if (dispatch_apply_receipt(in->d, in->st, in->conf, w, in->id,
                                   in->idlen, &m->u.receipt, in->now_ms))
                reply_later(in->q, in->id, in->idlen, DPROTO_ACK,
                            dproto_ack_encode(&(struct dproto_ack){
                                m->u.receipt.delivery, 0, true }));
}

/* What the daemon does with each message type a worker may send. */
static void (*const handlers[DPROTO_NTYPES])(const struct inbound *,
                                             const struct dproto_msg *) = {
        [DPROTO_READY] = on_ready,
        [DPROTO_OUTCOME] = on_outcome,
        [DPROTO_HEARTBEAT] = on_heartbeat,
        [DPROTO_RECEIPT] = on_receipt,
};

/* One message: [routing id][DPROTO_ID][type][body?]. */
static void
handle(struct inbound *in, struct zframes *z)
{
        struct dispatch *d = in->d;
        struct dproto_frame f[MAX_FRAMES - 1];
        struct dproto_msg m;
        char *cause = NULL;
        int n = z->total - 1;

        for (int i = 1; i < z->n; i++)
                f[i - 1] = (struct dproto_frame){ zframes_data(z, i),
                                                  zframes_size(z, i) };
        in->id = zframes_data(z, 0);
        in->idlen = zframes_size(z, 0);
        /* The User-Id travels on every frame; a lone routing id has none. */
        in->key = z->n > 2 ? zmq_msg_gets(&z->f[2], "User-Id") : NULL;
        if (dproto_decode(f, n, &m, &cause) == 0 && handlers[m.type] != NULL) {
                handlers[m.type](in, &m);
                goto out;
        }
        switch (m.fault) {
        case DPROTO_FAULT_FOREIGN:
                log_warnx("dispatch: a worker speaks another protocol "
                          "version; refused");
                refuse(d, in->id, in->idlen,
                       "this scheduler speaks " DPROTO_ID);
                goto out;
        case DPROTO_FAULT_FRAMES:
                log_warnx("dispatch: message of %d frames, ignoring", z->total);
                break;
        case DPROTO_FAULT_BODY:
                log_warnx("dispatch: body is not a JSON object, ignoring");
                break;
        case DPROTO_FAULT_FIELDS:
                if (handlers[m.type] != NULL) {
                        log_warnx("dispatch: malformed %s (%s), ignoring",
                                  dproto_type_names[m.type], cause);
                        if (m.type != DPROTO_READY)
                                heard(in, m.type == DPROTO_OUTCOME ||
                                              m.type == DPROTO_RECEIPT);
                } else /* a type only the daemon sends */
                        log_warnx("dispatch: unknown message type, ignoring");
                break;
        case DPROTO_FAULT_NONE: /* the same */
        case DPROTO_FAULT_TYPE:
                log_warnx("dispatch: unknown message type, ignoring");
                break;
        }
        d->counts.malformed++;
out:
        dproto_msg_clear(&m);
        free(cause);
}

/*
 * Takes what the workers sent, READ_BATCH messages to a transaction: their
 * outcomes are committed together, then acknowledged together.
 */
void
dispatch_read(struct dispatch *d, struct store *st, const struct conf *conf,
              int64_t now_ms)
{
        struct replies q = { NULL, 0 };
        struct inbound in = { d, st, conf, NULL, 0, NULL, now_ms, &q };
        char *cause = NULL;
        int count;

        do {
                bool tx = false;

                for (count = 0; count < READ_BATCH; count++) {
                        struct zframes z;

                        if (zframes_recv(d->sock, &z, MAX_FRAMES) == 0)
                                break;
                        if (!tx && store_begin(st, &cause) < 0) {
                                dispatch_store_error(st, cause);
                                free(cause);
                                cause = NULL;
                        } else {
                                tx = true;
                        }
                        handle(&in, &z);
                        zframes_close(&z);
                }
                if (tx && store_commit(st, &cause) < 0) {
                        /* Nothing acknowledged: the workers repeat. */
                        dispatch_store_error(st, cause);
                        free(cause);
                        cause = NULL;
                        store_rollback(st);
                        replies_flush(d, &q, false);
                }
                replies_flush(d, &q, true);
        } while (count == READ_BATCH);
}

void
dispatch_clock_step(struct dispatch *d, int64_t step_ms)
{
        d->heartbeat_ms += step_ms;
        if (d->pace_wake_ms != 0)
                d->pace_wake_ms += step_ms;
        for (size_t i = 0; i < d->nworkers; i++)
                d->workers[i].last_ms += step_ms;
        for (size_t i = 0; i < d->npaces; i++)
                d->paces[i].next_ms += step_ms;
}

json_t *
dispatch_json_workers(const struct dispatch *d)
{
        json_int_t email = 0, webhook = 0;

        for (size_t i = 0; i < d->nworkers; i++) {
                if (d->workers[i].kind == DPROTO_KIND_EMAIL)
                        email++;
                else
                        webhook++;
        }
        return json_pack("{s:I, s:I}", "email", email, "webhook", webhook);
}

json_t *
dispatch_json_stalled(const struct dispatch *d)
{
        json_t *a = json_array();

        for (size_t i = 0; i < d->nworkers; i++) {
                const struct worker *w = &d->workers[i];

                if (!w->stalled)
                        continue;
                json_array_append_new(
                    a, json_pack("{s:s, s:s, s:I, s:I}", "worker", w->name,
                                 "kind", dproto_kind_names[w->kind], "since",
                                 (json_int_t)w->stalled_ms, "expired",
                                 (json_int_t)w->expired));
        }
        return a;
}

const struct dispatch_counts *
dispatch_counts(const struct dispatch *d)
{
        return &d->counts;
}

json_t *
dispatch_json_counts(const struct dispatch *d)
{
        const struct dispatch_counts *c = &d->counts;

        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "delivered",
                         (json_int_t)c->delivered, "retried",
                         (json_int_t)c->retried, "failed",
                         (json_int_t)c->failed, "given_up",
                         (json_int_t)c->given_up, "held", (json_int_t)c->held,
                         "malformed", (json_int_t)c->malformed, "signin_failed",
                         (json_int_t)c->signin_failed);
}

int
dispatch_revoke(struct dispatch *d, struct store *st, const struct conf *conf,
                int64_t now_ms)
{
        int n = 0;

        for (size_t i = 0; i < d->nworkers;) {
                struct worker *w = &d->workers[i];
                char *why = NULL;

                if (key_allows(conf, w->key, dproto_kind_names[w->kind],
                               &why)) {
                        i++;
                        continue;
                }
                log_warnx("worker %s: %s", w->name, why);
                refuse(d, w->id, w->idlen, why);
                dispatch_forget_worker(d, st, w, now_ms,
                                       "was refused on reload");
                free(why);
                n++;
        }
        return n;
}
