#include "zap.h"

#include "curve.h"
#include "log.h"
#include "xalloc.h"
#include "zframes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ZAP_ENDPOINT    "inproc://zeromq.zap.01"
#define ZAP_FRAMES      8
#define MAX_MONITORS    3
#define RECENT          16
#define QUIET_NOTE      64
#define REPEAT_QUIET_MS 60000

struct monitor {
        void *pair; /* receives the watched socket's events */
        char *name;
};

/* A line logged lately, so its repeats within a minute stay quiet. */
struct recent {
        char text[160];
        int64_t at_ms;
        unsigned long quiet; /* repeats not logged since */
};

struct zap {
        void *zctx;
        void *handler;
        struct monitor monitors[MAX_MONITORS];
        int nmonitors;
        struct recent recent[RECENT];
        unsigned long admitted, refused;
};

struct zap *
zap_new(void *zctx, char **cause)
{
        struct zap *z = xcalloc(1, sizeof(*z));
        int zero = 0;

        z->zctx = zctx;
        z->handler = zmq_socket(zctx, ZMQ_REP);
        if (z->handler == NULL ||
            zmq_setsockopt(z->handler, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
            zmq_bind(z->handler, ZAP_ENDPOINT) < 0) {
                xasprintf(cause, "ZAP handler: %s", zmq_strerror(zmq_errno()));
                zap_destroy(&z);
        }
        return z;
}

void
zap_destroy(struct zap **zp)
{
        struct zap *z;

        if (zp == NULL || *zp == NULL)
                return;
        z = *zp;
        for (int i = 0; i < z->nmonitors; i++) {
                zmq_close(z->monitors[i].pair);
                free(z->monitors[i].name);
        }
        if (z->handler != NULL)
                zmq_close(z->handler);
        free(z);
        *zp = NULL;
}

int
zap_watch(struct zap *z, void *sock, const char *name, char **cause)
{
        struct monitor *m;

        if (z->nmonitors == MAX_MONITORS) {
                xasprintf(cause, "%s: too many sockets to watch", name);
                return -1;
        }
        m = &z->monitors[z->nmonitors];
        m->pair = curve_monitor(z->zctx, sock, name, cause);
        if (m->pair == NULL)
                return -1;
        m->name = xstrdup(name);
        z->nmonitors++;
        return 0;
}

int
zap_pollitems(struct zap *z, zmq_pollitem_t *items)
{
        int n = 0;

        items[n++] = (zmq_pollitem_t){ z->handler, 0, ZMQ_POLLIN, 0 };
        for (int i = 0; i < z->nmonitors; i++)
                items[n++] =
                    (zmq_pollitem_t){ z->monitors[i].pair, 0, ZMQ_POLLIN, 0 };
        return n;
}

void
zap_counts(const struct zap *z, unsigned long *admitted, unsigned long *refused)
{
        *admitted = z->admitted;
        *refused = z->refused;
}

/*
 * Whether to log `text` now: yes the first time, and then at most once
 * a minute. `note` gets what to add to the line: how many repeats were
 * kept quiet since it was last logged, or "".
 */
static bool
worth_logging(struct zap *z, const char *text, int64_t now_ms,
              char note[QUIET_NOTE])
{
        struct recent *oldest = &z->recent[0];

        note[0] = '\0';

        for (int i = 0; i < RECENT; i++) {
                struct recent *r = &z->recent[i];

                if (strcmp(r->text, text) == 0) {
                        if (now_ms - r->at_ms < REPEAT_QUIET_MS) {
                                r->quiet++;
                                return false;
                        }
                        if (r->quiet > 0)
                                snprintf(note, QUIET_NOTE,
                                         " (%lu more since it was last "
                                         "logged)",
                                         r->quiet);
                        r->quiet = 0;
                        r->at_ms = now_ms;
                        return true;
                }
                if (r->at_ms < oldest->at_ms)
                        oldest = r;
        }
        snprintf(oldest->text, sizeof(oldest->text), "%s", text);
        oldest->at_ms = now_ms;
        oldest->quiet = 0;
        return true;
}

/* Sends the reply frames; a failure means the requester has gone. */
static void
reply(struct zap *z, zmq_msg_t *request_id, const char *status,
      const char *text, const char *user_id)
{
        const char *parts[] = { "1.0", NULL, status, text, user_id, "" };

        for (int i = 0; i < 6; i++) {
                int more = i < 5 ? ZMQ_SNDMORE : 0;
                int rc = i == 1 ? zmq_send(z->handler, zmq_msg_data(request_id),
                                           zmq_msg_size(request_id), more)
                                : zmq_send(z->handler, parts[i],
                                           strlen(parts[i]), more);

                if (rc < 0)
                        return;
        }
}

/* A frame as text, for the log: at most `max` bytes. */
static void
frame_text(zmq_msg_t *f, char *buf, size_t max)
{
        size_t n = zmq_msg_size(f) < max - 1 ? zmq_msg_size(f) : max - 1;

        memcpy(buf, zmq_msg_data(f), n);
        buf[n] = '\0';
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
                        buf[i] = '?';
}

/* One request: [version][id][domain][address][identity][mechanism][creds] */
static void
serve(struct zap *z, const struct conf *conf, int64_t now_ms)
{
        struct zframes fr;
        zmq_msg_t *f = fr.f;
        int n = zframes_recv(z->handler, &fr, ZAP_FRAMES);
        char domain[32], address[64], mechanism[16], z85[CONF_KEY_LEN + 1];
        char line[160], note[QUIET_NOTE];
        const struct conf_client *who;
        const char *why = "malformed request";

        if (n == 0)
                return;
        if (n < 7 || zmq_msg_size(&f[0]) != 3 ||
            memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0) {
                /* Not from libzmq: nothing sensible to answer but no. */
                if (n >= 2)
                        reply(z, &f[1], "500", "malformed request", "");
                log_warnx("ZAP: a malformed request, refused");
                goto out;
        }
        frame_text(&f[2], domain, sizeof(domain));
        frame_text(&f[3], address, sizeof(address));
        frame_text(&f[5], mechanism, sizeof(mechanism));
        who = curve_admit(conf, domain, mechanism, zmq_msg_data(&f[6]),
                          zmq_msg_size(&f[6]), z85, &why);
        if (who != NULL) {
                z->admitted++;
                reply(z, &f[1], "200", "OK", who->key);
                /* A worker connecting is news; an admin's command is not. */
                if (strcmp(domain, CURVE_DOMAIN_DISPATCH) == 0)
                        log_info("%s: admitted CURVE client '%s' from %s",
                                 domain, who->name, address);
                else
                        log_debug("%s: admitted CURVE client '%s' from %s",
                                  domain, who->name, address);
                goto out;
        }
        z->refused++;
        reply(z, &f[1], "400", why, "");
        snprintf(line, sizeof(line), "%s %s %s %s", domain, address, z85, why);
        if (worth_logging(z, line, now_ms, note))
                log_warnx("%s: refused a client from %s with key '%s': %s%s",
                          domain, address, z85[0] ? z85 : "(none)", why, note);
out:
        zframes_close(&fr);
}

static void
monitor_event(struct zap *z, struct monitor *m, int64_t now_ms)
{
        uint16_t event;
        uint32_t value;
        char line[160], note[QUIET_NOTE];

        if (curve_monitor_recv(m->pair, &event, &value) < 0)
                return;
        /* Successes are routine; the ZAP handler said why it refused. */
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                return;
        snprintf(line, sizeof(line), "%s %u %u", m->name, event, value);
        if (worth_logging(z, line, now_ms, note))
                log_warnx("%s: a client's handshake failed: %s%s", m->name,
                          curve_handshake_text(event, value), note);
}

void
zap_handle(struct zap *z, const struct conf *conf, int64_t now_ms)
{
        int events;
        size_t len = sizeof(events);

        for (;;) {
                if (zmq_getsockopt(z->handler, ZMQ_EVENTS, &events, &len) < 0 ||
                    !(events & ZMQ_POLLIN))
                        break;
                serve(z, conf, now_ms);
        }
        for (int i = 0; i < z->nmonitors; i++) {
                for (;;) {
                        if (zmq_getsockopt(z->monitors[i].pair, ZMQ_EVENTS,
                                           &events, &len) < 0 ||
                            !(events & ZMQ_POLLIN))
                                break;
                        monitor_event(z, &z->monitors[i], now_ms);
                }
        }
}
