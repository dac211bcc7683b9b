#include "dispatch.h"

#include "curve.h"
#include "dproto.h"
#include "log.h"
#include "timefmt.h"
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
#define BATCH      256
#define READ_BATCH 512

struct worker {
        char *id; /* the routing id: binary, idlen bytes */
        size_t idlen;
        char *name; /* the id as printable text, for logs and the store */
        char *key;  /* its CURVE public key over tcp://, else NULL */
        enum dproto_kind kind;
        int credit;
        int64_t last_ms;
        bool gone; /* a send found its connection closed */
        /* Leases of its ran out without an outcome: no jobs until it
         * reports one. */
        bool stalled;
        int64_t stalled_ms;     /* since when */
        int expired;            /* leases that ran out meanwhile */
        int64_t reject_log_ms;  /* its last dropped outcome logged */
        unsigned long rejected; /* dropped since, not logged */
};

/* A peer that sent outcomes without READY, for reject()'s rate limit. */
struct stranger {
        unsigned char id[255];
        size_t idlen;
        int64_t log_ms;
        unsigned long rejected;
};

/* A channel held by a problem on our side (logged once). */
struct held {
        char channel[65];
};

/* When a channel may next be sent to: pacing per destination. */
struct pace {
        char channel[65];
        int64_t next_ms;
};

struct dispatch {
        void *sock;
        struct worker *workers;
        size_t nworkers;
        struct pace *paces;
        size_t npaces;
        int64_t pace_wake_ms; /* the soonest paced delivery, or 0 */
        int64_t heartbeat_ms;
        struct dispatch_counts counts;
        struct stranger strangers[DISPATCH_STRANGERS];
        struct held *held;
        size_t nheld;
        unsigned short rand[3];
};

struct dispatch *
dispatch_new(void *sock)
{
        struct dispatch *d = xcalloc(1, sizeof(*d));
        uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);

        d->sock = sock;
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
        free(d->held);
        free(d);
        *dp = NULL;
}

int64_t
dispatch_backoff(int attempts, long retry_after, int first, double u)
{
        int64_t base = first;

        if (retry_after >= 0)
                return retry_after < 1      ? 1
                       : retry_after > 3600 ? 3600
                                            : retry_after;
        for (int i = 1; i < attempts && base < 3600; i++)
                base *= 2;
        if (base > 3600)
                base = 3600;
        return (int64_t)((double)base * (0.8 + 0.4 * u) + 0.5);
}

/*
 * Sends [id][DPROTO_ID][type][text]; never blocks. Returns -1 when it
 * could not (the socket is ROUTER_MANDATORY: a peer that has gone fails
 * with EHOSTUNREACH instead of swallowing the message).
 */
static int
send_text(struct dispatch *d, const struct worker *w, enum dproto_type type,
          const char *text)
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

        send_text(d, &w, type, text);
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
static void
store_error(struct store *st, const char *cause)
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
static char *
printable(const void *id, size_t len)
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

static void
forget_worker(struct dispatch *d, struct store *st, struct worker *w,
              int64_t now_ms, const char *why)
{
        char *cause = NULL;
        int n = store_deliveries_release(st, w->name, now_ms / 1000, &cause);

        if (n < 0)
                store_error(st, cause);
        log_warnx("worker %s %s: %d deliveries back to pending", w->name, why,
                  n < 0 ? 0 : n);
        free(cause);
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
                name = printable(in->id, in->idlen);
                log_warnx("worker %s says it delivers '%s', but %s: refused",
                          name, kind, why);
                refuse(d, in->id, in->idlen, why);
                if (w != NULL)
                        forget_worker(d, in->st, w, in->now_ms, "was refused");
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
                w->name = printable(in->id, in->idlen);
                w->key = in->key != NULL && in->key[0] != '\0'
                             ? xstrdup(in->key)
                             : NULL;
                log_info("worker %s (%s) connected with credit %d", w->name,
                         kind, r->credit);
        }
        w->kind = r->kind;
        w->credit = r->credit;
        w->last_ms = in->now_ms;
}

enum dispatch_claim
dispatch_claim(const struct store_delivery *dl, const char *worker,
               int64_t lease, bool delivered)
{
        bool settled = names_delivery_settled(dl->status);

        if (worker == NULL || worker[0] == '\0')
                return DISPATCH_CLAIM_FORGED;
        if (strcmp(worker, dl->worker) == 0 && lease == dl->lease)
                return dl->status == DELIVERY_SENDING ? DISPATCH_CLAIM_APPLY
                                                      : DISPATCH_CLAIM_REPEAT;
        if (strcmp(worker, dl->prev_worker) == 0 && lease == dl->prev_lease)
                return delivered && !settled ? DISPATCH_CLAIM_LATE
                                             : DISPATCH_CLAIM_STALE;
        /* An older lease of this delivery, whose holder is no longer known:
         * changes nothing, but the worker must be told to stop repeating. */
        if (lease >= 0 && lease < dl->lease &&
            (dl->prev_lease < 0 || lease < dl->prev_lease))
                return DISPATCH_CLAIM_STALE;
        return DISPATCH_CLAIM_FORGED;
}

/*
 * A peer whose outcome was dropped (not the holder, another lease, an
 * unknown delivery): counted as malformed, and logged at most once a
 * minute per peer, with how many were dropped meanwhile, so that a flood
 * does not flood the log.
 */
static void
reject(struct dispatch *d, struct worker *w, const void *id, size_t idlen,
       int64_t now_ms, const char *why)
{
        struct stranger *s = NULL;
        int64_t *log_ms;
        unsigned long *dropped;
        char *name;

        d->counts.malformed++;
        if (w != NULL) {
                log_ms = &w->reject_log_ms;
                dropped = &w->rejected;
        } else {
                size_t oldest = 0;

                if (idlen > sizeof(s->id))
                        idlen = sizeof(s->id);
                for (size_t i = 0; i < DISPATCH_STRANGERS && s == NULL; i++) {
                        if (d->strangers[i].idlen == idlen &&
                            memcmp(d->strangers[i].id, id, idlen) == 0)
                                s = &d->strangers[i];
                        else if (d->strangers[i].log_ms <
                                 d->strangers[oldest].log_ms)
                                oldest = i;
                }
                if (s == NULL) {
                        s = &d->strangers[oldest];
                        memcpy(s->id, id, idlen);
                        s->idlen = idlen;
                        s->log_ms = 0;
                        s->rejected = 0;
                }
                log_ms = &s->log_ms;
                dropped = &s->rejected;
        }
        if (*log_ms != 0 && now_ms - *log_ms < DISPATCH_REJECT_LOG_MS) {
                (*dropped)++;
                return;
        }
        name = printable(id, idlen);
        if (*dropped > 0)
                log_warnx("dispatch: outcome from %s dropped: %s (and %lu "
                          "more of its outcomes since the last report)",
                          name, why, *dropped);
        else
                log_warnx("dispatch: outcome from %s dropped: %s", name, why);
        free(name);
        *log_ms = now_ms == 0 ? 1 : now_ms;
        *dropped = 0;
}

/*
 * A channel whose deliveries a problem on our side holds (a secret file):
 * logged at error once, when the first of them is held, and at info when
 * one of its deliveries gets a receiver's answer again.
 */
static void
hold_channel(struct dispatch *d, const char *uid,
             const struct store_delivery *dl, const char *error)
{
        for (size_t i = 0; i < d->nheld; i++) {
                if (strcmp(d->held[i].channel, dl->channel) == 0) {
                        log_debug("delivery %s to '%s' still held: %s", uid,
                                  dl->channel, error);
                        return;
                }
        }
        d->held = xreallocarray(d->held, d->nheld + 1, sizeof(*d->held));
        snprintf(d->held[d->nheld++].channel, sizeof(d->held[0].channel), "%s",
                 dl->channel);
        log_err("deliveries to '%s' (%s) held by a problem on this side: %s; "
                "tried again every few minutes, and at once after a reload",
                dl->channel, dl->type, error);
}

static void
unhold_channel(struct dispatch *d, const char *channel)
{
        for (size_t i = 0; i < d->nheld; i++) {
                if (strcmp(d->held[i].channel, channel) == 0) {
                        log_info("deliveries to '%s' are no longer held",
                                 channel);
                        d->held[i] = d->held[--d->nheld];
                        return;
                }
        }
}

/* Outcome of apply_outcome(). */
enum applied {
        APPLIED_DROP, /* malformed, forged or not committed: no ACK */
        APPLIED_ACK,  /* recorded (or nothing to record): ACK */
        APPLIED_FIRST /* as ACK, and the worker reported a lease's outcome */
};

/*
 * Commits an outcome from `w` (NULL: a peer that has not said READY) when
 * docs/dispatch.md lets it settle the delivery.
 */
static enum applied
apply_outcome(struct dispatch *d, struct store *st, const struct conf *conf,
              struct worker *w, const void *id, size_t idlen,
              const struct dproto_outcome *out, int64_t now_ms)
{
        int64_t now = now_ms / 1000, wait;
        const char *uid = out->delivery, *error = out->error;
        const char *result = dproto_result_names[out->result];
        struct store_outcome o = { DELIVERY_PENDING, 0, error, true, false };
        struct store_delivery dl;
        enum dispatch_claim claim;
        char *cause = NULL, *why = NULL;
        int rc;

        rc = store_delivery_find(st, uid, &dl, &cause);
        if (rc < 0) {
                store_error(st, cause);
                free(cause);
                return APPLIED_DROP;
        }
        if (rc > 0) {
                reject(d, w, id, idlen, now_ms, "no such delivery");
                return APPLIED_DROP;
        }
        claim = dispatch_claim(&dl, w != NULL ? w->name : NULL, out->lease,
                               out->result == DPROTO_DELIVERED);
        switch (claim) {
        case DISPATCH_CLAIM_FORGED:
                reject(d, w, id, idlen, now_ms,
                       w == NULL ? "it has not said READY"
                                 : "it does not hold that lease");
                return APPLIED_DROP;
        case DISPATCH_CLAIM_REPEAT:
                /* Already recorded: the ACK was on its way. */
                return APPLIED_ACK;
        case DISPATCH_CLAIM_STALE:
                log_info("dispatch: stale %s outcome for %s (lease %lld, now "
                         "%lld), ignoring",
                         result, uid, (long long)out->lease,
                         (long long)dl.lease);
                return APPLIED_FIRST;
        case DISPATCH_CLAIM_LATE:
        case DISPATCH_CLAIM_APPLY:
                break;
        }
        if (out->result == DPROTO_DELIVERED) {
                o.status = DELIVERY_DELIVERED;
                o.error = NULL;
                d->counts.delivered++;
        } else if (out->result == DPROTO_FAILED) {
                o.status = DELIVERY_FAILED;
                d->counts.failed++;
                log_err("delivery %s to '%s' (%s) failed for good: %s", uid,
                        dl.channel, dl.type, error ? error : "?");
        } else if (out->local) {
                /* Not the receiver's answer: never given up for it. */
                o.status = DELIVERY_RETRY;
                o.verdict = false;
                o.local = true;
                wait =
                    dispatch_backoff(dl.held + 1, -1, conf->delivery.retry_base,
                                     erand48(d->rand));
                if (wait > DISPATCH_LOCAL_MAX_S)
                        wait = DISPATCH_LOCAL_MAX_S;
                o.next_at = (now_ms + 999) / 1000 + wait;
                d->counts.held++;
                hold_channel(d, uid, &dl, error ? error : "?");
        } else if (dl.attempts + 1 >= conf->delivery.max_attempts ||
                   now - dl.fired_at >= conf->delivery.give_up_after) {
                xasprintf(&why, "given up after %d attempts: %s",
                          dl.attempts + 1, error ? error : "?");
                o.status = DELIVERY_FAILED;
                o.error = why;
                d->counts.given_up++;
                log_err("delivery %s to '%s' (%s) %s", uid, dl.channel, dl.type,
                        why);
        } else {
                o.status = DELIVERY_RETRY;
                wait = dispatch_backoff(dl.attempts + 1, out->retry_after,
                                        conf->delivery.retry_base,
                                        erand48(d->rand));
                /* From the next whole second: counted from `now`,
                 * truncated, a server's Retry-After would end up to a
                 * second early. */
                o.next_at = (now_ms + 999) / 1000 + wait;
                d->counts.retried++;
                log_info("delivery %s to '%s': %s; retry %d in %lld s", uid,
                         dl.channel, error ? error : "?", dl.attempts + 2,
                         (long long)wait);
        }
        if (!o.local)
                unhold_channel(d, dl.channel);
        rc = store_delivery_finish(st, dl.id, &o, now, &cause);
        if (rc < 0) {
                store_error(st, cause);
                free(cause);
        } else if (o.status == DELIVERY_DELIVERED) {
                log_info("delivery %s to '%s' (%s) delivered%s", uid,
                         dl.channel, dl.type,
                         claim == DISPATCH_CLAIM_LATE
                             ? " (by the previous holder of its lease)"
                             : "");
        }
        free(why);
        return rc < 0 ? APPLIED_DROP : APPLIED_FIRST;
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
        enum applied a = apply_outcome(d, in->st, in->conf, w, in->id,
                                       in->idlen, out, in->now_ms);

        if (a != APPLIED_DROP)
                reply_later(in->q, in->id, in->idlen, DPROTO_ACK,
                            dproto_ack_encode(&(struct dproto_ack){
                                out->delivery, out->lease }));
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

/* What the daemon does with each message type a worker may send. */
static void (*const handlers[DPROTO_NTYPES])(const struct inbound *,
                                             const struct dproto_msg *) = {
        [DPROTO_READY] = on_ready,
        [DPROTO_OUTCOME] = on_outcome,
        [DPROTO_HEARTBEAT] = on_heartbeat,
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
                                heard(in, m.type == DPROTO_OUTCOME);
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
                                store_error(st, cause);
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
                        store_error(st, cause);
                        free(cause);
                        cause = NULL;
                        store_rollback(st);
                        replies_flush(d, &q, false);
                }
                replies_flush(d, &q, true);
        } while (count == READ_BATCH);
}

/* The JOB body as text: the store's part and what the config says. */
static char *
job_text(struct store *st, const struct conf *conf, const struct store_ready *r)
{
        const struct school *school = conf_school(conf, r->urn);
        const struct rule *rule;
        struct store_job_names names = { conf->trust.name,
                                         school ? school->name : NULL, "",
                                         NULL };
        char *cause = NULL, *text;

        if (strcmp(r->rule, STORE_TEST_RULE) == 0) {
                /* ofsted-notifyctl test: say so wherever it shows. */
                names.school = "TEST ALERT";
                names.action = "This is a test of ofsted-notify's delivery "
                               "to this channel. No action is needed.";
                names.contact = "-";
        }
        rule = conf_rule(conf, r->rule);
        if (rule != NULL && rule->action != NULL)
                names.action = rule->action;
        text = store_job_text(st, conf->tz, r->id, &names, &cause);
        if (text == NULL) {
                store_error(st, cause);
                free(cause);
        }
        return text;
}

int64_t
dispatch_pace_ms(const char *type)
{
        /* The documented limits: Slack about 1 a second per webhook, Teams
         * 4 a second, Google Chat 60 a minute per space, Discord 5 per 2
         * seconds per webhook. Others are not limited here. */
        static const struct {
                const char *type;
                int64_t ms;
        } paces[] = {
                { "slack", 1000 },
                { "teams", 250 },
                { "google_chat", 1000 },
                { "discord", 400 },
        };

        for (size_t i = 0; i < sizeof(paces) / sizeof(paces[0]); i++) {
                if (strcmp(type, paces[i].type) == 0)
                        return paces[i].ms;
        }
        return 0;
}

/*
 * Whether a delivery to `r`'s channel may go now; if so its channel's next
 * slot is booked. Otherwise it waits, pending, and the loop wakes for it.
 */
static bool
pace_ok(struct dispatch *d, const struct store_ready *r, int64_t now_ms)
{
        int64_t gap = dispatch_pace_ms(r->type);
        struct pace *p = NULL;

        if (gap == 0)
                return true;
        for (size_t i = 0; i < d->npaces && p == NULL; i++) {
                if (strcmp(d->paces[i].channel, r->channel) == 0)
                        p = &d->paces[i];
        }
        if (p == NULL) {
                d->paces =
                    xreallocarray(d->paces, d->npaces + 1, sizeof(*d->paces));
                p = &d->paces[d->npaces++];
                snprintf(p->channel, sizeof(p->channel), "%s", r->channel);
                p->next_ms = 0;
        }
        if (now_ms < p->next_ms) {
                if (d->pace_wake_ms == 0 || p->next_ms < d->pace_wake_ms)
                        d->pace_wake_ms = p->next_ms;
                return false;
        }
        p->next_ms = now_ms + gap;
        return true;
}

/*
 * Leases jobs for `w` while it has credit and work is ready, all in one
 * transaction, then sends them: one commit for a batch of jobs. A job is
 * sent only once its lease is committed.
 */
static void
feed_worker(struct dispatch *d, struct store *st, const struct conf *conf,
            struct worker *w, int64_t now_ms)
{
        struct store_ready ready[BATCH];
        char *jobs[BATCH];
        int64_t now = now_ms / 1000;
        json_t *paced;
        char *cause = NULL, *skip;
        int n, njobs = 0;

        if (w->credit <= 0 || w->stalled)
                return;
        /* Channels waiting for their next slot are left out of the query,
         * so one busy channel cannot hold up the others; the loop wakes
         * when the first of them may go again. */
        paced = json_array();
        for (size_t i = 0; i < d->npaces; i++) {
                if (now_ms >= d->paces[i].next_ms)
                        continue;
                json_array_append_new(paced, json_string(d->paces[i].channel));
                if (d->pace_wake_ms == 0 ||
                    d->paces[i].next_ms < d->pace_wake_ms)
                        d->pace_wake_ms = d->paces[i].next_ms;
        }
        skip = json_array_size(paced) > 0 ? json_dumps(paced, JSON_COMPACT)
                                          : NULL; /* none: "[]" */
        json_decref(paced);
        n = store_deliveries_ready(st, w->kind == DPROTO_KIND_EMAIL, now, skip,
                                   ready, w->credit < BATCH ? w->credit : BATCH,
                                   &cause);
        free(skip);
        if (n <= 0 || store_begin(st, &cause) < 0)
                goto out;
        for (int i = 0; i < n; i++) {
                char *job;

                if (!pace_ok(d, &ready[i], now_ms))
                        continue;
                if (store_delivery_lease(st, &ready[i], w->name,
                                         now + conf->delivery.lease, now,
                                         &cause) < 0)
                        break; /* a store error: try next tick */
                job = job_text(st, conf, &ready[i]);
                if (job == NULL)
                        continue; /* the lease will expire */
                jobs[njobs++] = job;
        }
        if (cause != NULL || store_commit(st, &cause) < 0) {
                store_rollback(st);
                goto out;
        }
        for (int i = 0; i < njobs; i++) {
                if (send_text(d, w, DPROTO_JOB, jobs[i]) < 0) {
                        /* Gone: give its leases back now, not when they
                         * run out, and forget it at the next tick. */
                        w->gone = zmq_errno() == EHOSTUNREACH;
                        store_deliveries_release(st, w->name, now, &cause);
                        w->credit = 0;
                        w->last_ms = 0;
                        break;
                }
                w->credit--;
        }
out:
        for (int i = 0; i < njobs; i++)
                free(jobs[i]);
        if (cause != NULL) {
                store_error(st, cause);
                free(cause);
        }
}

/* store_deliveries_expire()'s callback: a lease of `name` ran out. */
static void
lease_expired(const char *name, void *arg)
{
        struct dispatch *d = arg;

        for (size_t i = 0; i < d->nworkers; i++) {
                if (name != NULL && strcmp(d->workers[i].name, name) == 0) {
                        d->workers[i].expired++;
                        return;
                }
        }
}

void
dispatch_tick(struct dispatch *d, struct store *st, const struct conf *conf,
              int64_t now_ms)
{
        char *cause = NULL;
        int n;

        if (now_ms >= d->heartbeat_ms) {
                char *beat =
                    dproto_heartbeat_encode(&(struct dproto_heartbeat){ -1 });

                /* A worker whose connection has closed (killed, say) is
                 * unreachable at once: its deliveries need not wait for
                 * its silence. */
                for (size_t i = 0; i < d->nworkers;) {
                        if (send_text(d, &d->workers[i], DPROTO_HEARTBEAT,
                                      beat) < 0 &&
                            zmq_errno() == EHOSTUNREACH)
                                forget_worker(d, st, &d->workers[i], now_ms,
                                              "is gone (its connection "
                                              "closed)");
                        else
                                i++;
                }
                free(beat);
                d->heartbeat_ms = now_ms + DPROTO_HEARTBEAT_MS;
        }
        for (size_t i = 0; i < d->nworkers;) {
                if (d->workers[i].gone)
                        forget_worker(d, st, &d->workers[i], now_ms,
                                      "is gone (its connection closed)");
                else if (now_ms - d->workers[i].last_ms > DPROTO_SILENCE_MS)
                        forget_worker(d, st, &d->workers[i], now_ms,
                                      "went silent");
                else
                        i++;
        }
        n = store_deliveries_expire(st, now_ms / 1000, lease_expired, d,
                                    &cause);
        if (n < 0)
                store_error(st, cause);
        else if (n > 0)
                log_warnx("dispatch: %d leases expired: back to pending", n);
        free(cause);
        for (size_t i = 0; i < d->nworkers; i++) {
                struct worker *w = &d->workers[i];

                if (w->expired > 0 && !w->stalled) {
                        w->stalled = true;
                        w->stalled_ms = now_ms;
                        log_warnx("worker %s let %d leases run out without "
                                  "an outcome: no jobs for it until it "
                                  "reports one",
                                  w->name, w->expired);
                }
        }
        d->pace_wake_ms = 0;
        for (size_t i = 0; i < d->nworkers; i++)
                feed_worker(d, st, conf, &d->workers[i], now_ms);
}

int64_t
dispatch_timeout(struct dispatch *d, struct store *st, int64_t now_ms)
{
        int64_t ms = INT64_MAX, at;
        char *cause = NULL;

        if (d->nworkers > 0)
                ms = d->heartbeat_ms - now_ms;
        /* While the store cannot be written, its deliveries wait for it,
         * not for their time. */
        if (store_fault(st, NULL) == STORE_OK &&
            store_next_delivery(st, &at, &cause) == 0 &&
            at * 1000 - now_ms < ms)
                ms = at * 1000 - now_ms;
        if (d->pace_wake_ms != 0 && d->pace_wake_ms - now_ms < ms)
                ms = d->pace_wake_ms - now_ms;
        free(cause);
        return ms < 0 ? 0 : ms;
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

        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "delivered",
                         (json_int_t)c->delivered, "retried",
                         (json_int_t)c->retried, "failed",
                         (json_int_t)c->failed, "given_up",
                         (json_int_t)c->given_up, "held", (json_int_t)c->held,
                         "malformed", (json_int_t)c->malformed);
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
                forget_worker(d, st, w, now_ms, "was refused on reload");
                free(why);
                n++;
        }
        return n;
}
