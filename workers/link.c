#include "link.h"

#include "curve.h"
#include "log.h"
#include "os.h"
#include "svc.h"
#include "xalloc.h"
#include "zframes.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REDIAL_MIN_MS 2000 /* after a refused handshake */
#define REDIAL_MAX_MS 60000

/* An OUTCOME or RECEIPT body, sent until acknowledged: an OUTCOME's ACK
 * names its delivery and lease, a RECEIPT's its delivery. */
struct unacked {
        enum dproto_type type;
        char *uid;
        int64_t lease; /* an OUTCOME's */
        char *text;
        int64_t resend_ms;
};

struct link {
        const char *kind;
        int credit; /* the most jobs held at once, for the status line */
        char *id;
        char *endpoint;
        char *client_key; /* curve.client_key the socket was set up with */
        void *zctx;
        void *sock;
        void *monitor;     /* handshake events, over tcp:// only */
        bool said_refused; /* a failed handshake is logged once */
        int64_t redial_ms; /* when to connect again after a refusal */
        int64_t redial_gap_ms;
        struct unacked *outcomes; /* and receipts */
        size_t noutcomes;
        int64_t heartbeat_ms;
        int64_t heard_ms; /* when the scheduler last spoke */
        bool linked;      /* the scheduler has spoken since start or silence */
};

static char *
routing_id(const char *kind)
{
        char host[64] = "localhost", *id;
        unsigned r = (unsigned)(os_mono_ms() ^ ((int64_t)getpid() << 8));

        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        xasprintf(&id, "%s/%.40s/%ld/%08x", kind, host, (long)getpid(),
                  r * 2654435761u);
        return id;
}

struct link *
link_new(const struct conf *conf, const char *kind, int credit, char **cause,
         int *status)
{
        struct link *l = xcalloc(1, sizeof(*l));
        int zero = 0, hb_ivl = 5000, hb_timeout = 15000;

        l->kind = kind;
        l->credit = credit;
        l->id = routing_id(kind);
        l->endpoint = conf_endpoint_path(conf->daemon.dispatch);
        l->client_key = xstrdup(
            conf->curve.client_key != NULL ? conf->curve.client_key : "");
        l->zctx = zmq_ctx_new();
        l->sock = zmq_socket(l->zctx, ZMQ_DEALER);
        *status = 1;
        zmq_setsockopt(l->sock, ZMQ_ROUTING_ID, l->id, strlen(l->id));
        zmq_setsockopt(l->sock, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_setsockopt(l->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof(hb_ivl));
        zmq_setsockopt(l->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout,
                       sizeof(hb_timeout));
        if (conf_endpoint_tcp(l->endpoint)) {
                if (curve_client(l->sock, conf, l->endpoint, cause) < 0) {
                        *status = CONF_EXIT;
                        goto fail;
                }
                l->monitor = curve_monitor(l->zctx, l->sock, "dispatch", cause);
                if (l->monitor == NULL)
                        goto fail;
        }
        if (zmq_connect(l->sock, l->endpoint) < 0) {
                xasprintf(cause, "cannot connect to '%s': %s", l->endpoint,
                          zmq_strerror(zmq_errno()));
                goto fail;
        }
        l->heard_ms = l->heartbeat_ms = os_mono_ms();
        return l;
fail:
        link_destroy(&l);
        return NULL;
}

void
link_destroy(struct link **lp)
{
        struct link *l = *lp;

        if (l == NULL)
                return;
        for (size_t i = 0; i < l->noutcomes; i++) {
                free(l->outcomes[i].uid);
                free(l->outcomes[i].text);
        }
        free(l->outcomes);
        if (l->monitor != NULL)
                zmq_close(l->monitor);
        if (l->sock != NULL)
                zmq_close(l->sock);
        if (l->zctx != NULL)
                zmq_ctx_term(l->zctx);
        free(l->endpoint);
        free(l->client_key);
        free(l->id);
        free(l);
        *lp = NULL;
}

const char *
link_endpoint(const struct link *l)
{
        return l->endpoint;
}

const char *
link_id(const struct link *l)
{
        return l->id;
}

/* Sends [DPROTO_ID][type][body] to the scheduler; never blocks. */
static void
send_msg(struct link *l, enum dproto_type type, const char *body)
{
        const char *name = dproto_type_names[type];

        if (zmq_send(l->sock, DPROTO_ID, strlen(DPROTO_ID),
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(l->sock, name, strlen(name), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
                0 ||
            zmq_send(l->sock, body, strlen(body), ZMQ_DONTWAIT) < 0)
                log_debug("sending %s: %s", name, zmq_strerror(zmq_errno()));
}

void
link_ready(struct link *l, int credit)
{
        struct dproto_ready r = { strcmp(l->kind, "email") == 0
                                      ? DPROTO_KIND_EMAIL
                                      : DPROTO_KIND_WEBHOOK,
                                  credit };
        char *body = dproto_ready_encode(&r);

        send_msg(l, DPROTO_READY, body);
        free(body);
}

/* Sends `text` (taken) now, and keeps it to send again until its ACK. */
static void
keep(struct link *l, enum dproto_type type, const char *uid, int64_t lease,
     char *text, int64_t now)
{
        struct unacked *m;

        l->outcomes =
            xreallocarray(l->outcomes, l->noutcomes + 1, sizeof(*l->outcomes));
        m = &l->outcomes[l->noutcomes++];
        m->type = type;
        m->uid = xstrdup(uid);
        m->lease = lease;
        m->text = text;
        m->resend_ms = now + DPROTO_RESEND_MS;
        send_msg(l, type, m->text);
}

void
link_outcome(struct link *l, const struct dproto_outcome *o, int64_t now)
{
        keep(l, DPROTO_OUTCOME, o->delivery, o->lease, dproto_outcome_encode(o),
             now);
}

void
link_receipt(struct link *l, const struct dproto_receipt *r, int64_t now)
{
        keep(l, DPROTO_RECEIPT, r->delivery, 0, dproto_receipt_encode(r), now);
}

size_t
link_unacked(const struct link *l)
{
        return l->noutcomes;
}

static void
on_ack(struct link *l, const struct dproto_ack *ack)
{
        for (size_t i = 0; i < l->noutcomes; i++) {
                struct unacked *m = &l->outcomes[i];

                if (strcmp(m->uid, ack->delivery) != 0 ||
                    (m->type == DPROTO_RECEIPT) != ack->receipt ||
                    (!ack->receipt && m->lease != ack->lease))
                        continue;
                if (ack->receipt)
                        log_info("delivery %s: the scheduler has its receipt",
                                 m->uid);
                free(m->uid);
                free(m->text);
                *m = l->outcomes[--l->noutcomes];
                return;
        }
}

int
link_poll_items(const struct link *l, zmq_pollitem_t *items)
{
        items[0] = (zmq_pollitem_t){ l->sock, 0, ZMQ_POLLIN, 0 };
        if (l->monitor == NULL)
                return 1;
        items[1] = (zmq_pollitem_t){ l->monitor, 0, ZMQ_POLLIN, 0 };
        return 2;
}

/* One message from the scheduler: [DPROTO_ID][type][body]. */
static void
on_message(struct link *l, struct zframes *z,
           link_handler *const handlers[DPROTO_NTYPES], void *arg)
{
        struct dproto_frame f[3];
        struct dproto_msg m;
        char *cause = NULL;
        bool known;

        for (int i = 0; i < z->n; i++)
                f[i] = (struct dproto_frame){ zframes_data(z, i),
                                              zframes_size(z, i) };
        if (dproto_decode(f, z->total, &m, &cause) < 0 &&
            (m.fault == DPROTO_FAULT_FRAMES ||
             m.fault == DPROTO_FAULT_FOREIGN)) {
                log_warnx("malformed message from the scheduler, ignoring");
                goto out;
        }
        /* The scheduler always sends a body, "{}" at least. */
        if (m.fault == DPROTO_FAULT_BODY || z->total == 2) {
                log_warnx("message from the scheduler without a JSON body, "
                          "ignoring");
                goto out;
        }
        l->heard_ms = os_mono_ms();
        if (!l->linked) {
                l->linked = true;
                svc_status("delivering %s alerts; credit %d", l->kind,
                           l->credit);
        }
        known = m.fault != DPROTO_FAULT_TYPE &&
                (m.type == DPROTO_ACK || m.type == DPROTO_HEARTBEAT ||
                 handlers[m.type] != NULL);
        if (!known)
                log_warnx("unknown message type from the scheduler, "
                          "ignoring");
        else if (m.fault == DPROTO_FAULT_FIELDS)
                log_warnx("malformed %s (%s), ignoring",
                          dproto_type_names[m.type], cause);
        else if (m.type == DPROTO_ACK)
                on_ack(l, &m.u.ack);
        else if (m.type != DPROTO_HEARTBEAT) /* being heard is all it says */
                handlers[m.type](arg, &m);
out:
        dproto_msg_clear(&m);
        free(cause);
}

/*
 * The scheduler's answer to our handshake over tcp://. After a refusal
 * ZeroMQ gives the connection up, so we dial again ourselves, from 2 s
 * doubling to a minute: the admin may yet add our key to the allow-list
 * and reload. The refusal is logged once, until a handshake succeeds.
 */
static void
read_monitor(struct link *l)
{
        uint16_t event;
        uint32_t value;

        while (curve_monitor_recv(l->monitor, &event, &value) == 0) {
                if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                        if (l->said_refused)
                                log_info("the scheduler accepts our CURVE "
                                         "key now");
                        l->said_refused = false;
                        l->redial_ms = l->redial_gap_ms = 0;
                        continue;
                }
                if (l->redial_ms == 0) {
                        l->redial_gap_ms = l->redial_gap_ms == 0
                                               ? REDIAL_MIN_MS
                                               : l->redial_gap_ms * 2;
                        if (l->redial_gap_ms > REDIAL_MAX_MS)
                                l->redial_gap_ms = REDIAL_MAX_MS;
                        l->redial_ms = os_mono_ms() + l->redial_gap_ms;
                }
                if (!l->said_refused) {
                        log_err("the scheduler refused our connection: %s "
                                "(curve.client_key '%s'); retrying",
                                curve_handshake_text(event, value),
                                l->client_key);
                        l->said_refused = true;
                }
        }
}

void
link_read(struct link *l, link_handler *const handlers[DPROTO_NTYPES],
          void *arg)
{
        struct zframes z;

        while (zframes_recv(l->sock, &z, 3) > 0) {
                on_message(l, &z, handlers, arg);
                zframes_close(&z);
        }
        if (l->monitor != NULL)
                read_monitor(l);
}

void
link_timers(struct link *l, int64_t now, int credit)
{
        if (now >= l->heartbeat_ms) {
                char *body = dproto_heartbeat_encode(
                    &(struct dproto_heartbeat){ credit });

                send_msg(l, DPROTO_HEARTBEAT, body);
                free(body);
                l->heartbeat_ms = now + DPROTO_HEARTBEAT_MS;
        }
        for (size_t i = 0; i < l->noutcomes; i++) {
                if (now >= l->outcomes[i].resend_ms) {
                        send_msg(l, l->outcomes[i].type, l->outcomes[i].text);
                        l->outcomes[i].resend_ms = now + DPROTO_RESEND_MS;
                }
        }
        if (l->redial_ms != 0 && now >= l->redial_ms) {
                l->redial_ms = 0;
                zmq_disconnect(l->sock, l->endpoint);
                if (zmq_connect(l->sock, l->endpoint) < 0)
                        log_warnx("cannot connect to '%s' again: %s",
                                  l->endpoint, zmq_strerror(zmq_errno()));
        }
        if (now - l->heard_ms > DPROTO_SILENCE_MS) {
                log_warnx("no word from the scheduler for %d s: saying READY "
                          "again",
                          DPROTO_SILENCE_MS / 1000);
                link_ready(l, credit);
                l->heard_ms = now;
                if (l->linked)
                        svc_status("no word from the scheduler for %d s",
                                   DPROTO_SILENCE_MS / 1000);
                l->linked = false;
        }
}

int64_t
link_next_ms(const struct link *l)
{
        int64_t t = l->heartbeat_ms;

        for (size_t i = 0; i < l->noutcomes; i++) {
                if (l->outcomes[i].resend_ms < t)
                        t = l->outcomes[i].resend_ms;
        }
        return t;
}
