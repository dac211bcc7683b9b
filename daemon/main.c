/*
 * ofsted-notifyd: the scheduler.
 *
 * One single-threaded loop: zmq_poll over the control and dispatch
 * sockets, the signalfd and the items the feed and the ZAP handler ask for,
 * with a timeout that is the soonest of the next due alert (read from the
 * store's index) and the modules' timed work. main.c binds the sockets and
 * wires the modules: control, dispatch, feed, metrics, sched, store, zap.
 * The context built here is the only state; every module gets what it
 * needs passed in.
 */
#include "backup.h"
#include "conf.h"
#include "control.h"
#include "curve.h"
#include "dispatch.h"
#include "feed.h"
#include "heartbeat.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "os.h"
#include "proto.h"
#include "sched.h"
#include "store.h"
#include "svc.h"
#include "timefmt.h"
#include "xalloc.h"
#include "zap.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/*
 * Wake at least this often, so a wall-clock step is noticed soon. (Every
 * wake-up checks for one, and connected workers wake the loop every 2 s;
 * a timerfd with TFD_TIMER_CANCEL_ON_SET would only shorten the wait when
 * no worker is connected, and nothing could be delivered then anyway.)
 */
#define MAX_SLEEP_MS        60000
#define MAX_MESSAGE         (1 << 20)
#define METRICS_INTERVAL_MS 15000
/* Expired one-click links are deleted once a day, a week after they
 * stopped working (till then their page can still say "expired"). */
#define PRUNE_INTERVAL_MS  (86400LL * 1000)
#define LINKS_KEEP_S       (7 * 86400)
#define STATUS_INTERVAL_MS 2000
/* How often a state database that cannot be written is tried again. */
#define PROBE_MS 2000
/* A change of the wall clock against the monotonic one larger than this
 * between two passes is a step (NTP slews at most 0.5 ms a second). */
#define CLOCK_STEP_MS 2000

struct daemon {
        const char *conf_path;
        struct conf *conf;
        struct store *st;
        char *state_path;
        int lock_fd;
        void *zctx;
        void *control;
        void *dispatch;
        struct feed *feed;
        struct zap *zap;         /* with tcp:// endpoints only */
        struct curve_key server; /* the same */
        struct dispatch *dsp;
        int sigfd;
        bool running;
        int64_t started;
        struct svc_watchdog watchdog;
        int64_t metrics_next_ms;
        int64_t prune_next_ms;  /* the daily housekeeping (monotonic) */
        bool status_stale;      /* STATUS= is due an update */
        int64_t status_next_ms; /* not before this (monotonic) */
        struct sched_counts counts;
        struct control_ctx cctx;
        enum store_fault fault; /* the state database's, as last reported */
        int64_t probe_ms;       /* when to try it again (monotonic) */
        bool replan_due;        /* re-planning waits for the store */
        int64_t clock_off;      /* wall less monotonic clock, last pass */
        int64_t shift_s;        /* a clock step the store has yet to take */
        int fire_size;          /* alerts the loop fires in its next turn */
        struct ops *ops;        /* retention, channel checks */
        struct heartbeat *beat; /* the dead-man's switch */
};

static void
usage(FILE *out)
{
        fprintf(out,
                "usage: ofsted-notifyd [-v] [-c FILE] [--restore BACKUP]\n"
                "  -c, --config FILE  configuration (default: $%s, "
                "else %s)\n"
                "  -v, --verbose      log debug messages too\n"
                "      --restore BACKUP  put a backup in place of the "
                "state (the daemon\n"
                "                     stopped), keeping the old one, and "
                "exit\n"
                "      --version      print the version and exit\n",
                CONF_ENV, CONF_DEFAULT_PATH);
}

static struct conf *
load_conf(const char *path, json_t *errors)
{
        struct conf_errors errs;
        struct conf *conf = conf_load(path, &errs);

        for (size_t i = 0; i < errs.n; i++) {
                log_err("%s", errs.msgs[i]);
                if (errors != NULL)
                        json_array_append_new(errors,
                                              json_string(errs.msgs[i]));
        }
        conf_errors_free(&errs);
        return conf;
}

/* Makes the last directory of `path` when it is missing (run by hand,
 * without the directories systemd would make). */
static void
ensure_parent(const char *path)
{
        char *dir = xstrdup(path), *slash = strrchr(dir, '/');

        if (slash != NULL && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                        log_warn("mkdir '%s'", dir);
        }
        free(dir);
}

/*
 * Binds a socket. An ipc path gets mode 0660 (the group may use it),
 * except the dispatch socket's, 0600: only processes of our own user (the
 * workers) may reach it, not the admins in our group, and it is made
 * under umask 077, so it is never open to them, not even until the
 * chmod. A tcp:// endpoint is a CURVE server whose clients the ZAP handler
 * admits by the allow-list, under ZAP domain `domain`.
 */
static void *
bind_socket(struct daemon *d, int type, const char *endpoint,
            const char *domain)
{
        char *cause = NULL;
        char *resolved = conf_endpoint_path(endpoint);
        void *s = zmq_socket(d->zctx, type);
        int zero = 0, hb_ivl = 5000, hb_timeout = 15000;
        int64_t maxmsg = MAX_MESSAGE;
        bool owner_only = strncmp(resolved, "ipc://", 6) == 0 &&
                          strcmp(domain, CURVE_DOMAIN_DISPATCH) == 0;
        mode_t mask = 0;

        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
        /* ZMTP heartbeats notice a half-open TCP peer. */
        zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof(hb_ivl));
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout,
                       sizeof(hb_timeout));
        if (strcmp(domain, CURVE_DOMAIN_DISPATCH) == 0) {
                int hwm = DISPATCH_SNDHWM;

                zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
        }
        if (strncmp(resolved, "ipc://", 6) == 0)
                ensure_parent(resolved + 6);
        if (conf_endpoint_tcp(resolved) &&
            (curve_server(s, &d->server, domain, &cause) < 0 ||
             zap_watch(d->zap, s, domain, &cause) < 0))
                fatalx("%s '%s': %s", domain, resolved, cause);
        /* libzmq makes an ipc socket's file within zmq_bind(). */
        if (owner_only)
                mask = umask(077);
        if (zmq_bind(s, resolved) < 0)
                fatalx("cannot bind '%s': %s", resolved, zmq_strerror(errno));
        if (owner_only)
                umask(mask);
        if (strncmp(resolved, "ipc://", 6) == 0 &&
            chmod(resolved + 6, owner_only ? 0600 : 0660) < 0)
                log_warn("chmod '%s'", resolved + 6);
        log_debug("bound %s%s", resolved,
                  conf_endpoint_tcp(resolved) ? " (CURVE)" : "");
        free(resolved);
        return s;
}

/* sched's publisher: the feed. */
static void
publish(void *arg, const char *topic, json_t *msg)
{
        feed_publish(arg, topic, msg);
}

static void
notify_status(struct daemon *d)
{
        char *cause = NULL;
        json_t *counts = store_json_counts(d->st, d->conf->tz, &cause);
        json_int_t open = 0, pending = 0;
        const char *fault = NULL;

        if (counts != NULL) {
                json_t *c = json_object_get(counts, "cases");

                open = json_integer_value(json_object_get(c, "open")) +
                       json_integer_value(json_object_get(c, "paused"));
                pending = json_integer_value(json_object_get(
                    json_object_get(counts, "alerts"), "pending"));
        }
        if (store_fault(d->st, &fault) != STORE_OK)
                svc_status("degraded: %s: new events are refused; %lld open "
                           "cases, %lld alerts pending",
                           fault, (long long)open, (long long)pending);
        else
                svc_status("%lld open cases, %lld alerts pending, %d fired, "
                           "%d missed since start",
                           (long long)open, (long long)pending, d->counts.fired,
                           d->counts.missed);
        json_decref(counts);
        free(cause);
}

/*
 * STATUS= after alerts fire, at most every STATUS_INTERVAL_MS: its counts
 * read whole tables, which in a burst of alerts, or with a million
 * pending, costs more than the firing itself.
 */
static void
status_tick(struct daemon *d)
{
        if (!d->status_stale || os_mono_ms() < d->status_next_ms)
                return;
        notify_status(d);
        d->status_stale = false;
        d->status_next_ms = os_mono_ms() + STATUS_INTERVAL_MS;
}

/*
 * Fires what is due, `batches` transactions at most (0: all). The loop
 * fires one per turn, so that in a burst the workers get the first jobs
 * while the rest are fired; the next turn comes at once. Its batches start
 * small and double while they come back full: the first jobs of a burst
 * then wait for a few dozen alerts to be fired, not for SCHED_FIRE_BATCH of
 * them, and the rest still go in large batches.
 */
#define FIRE_FIRST 32

static void
fire_due(struct daemon *d, int batches)
{
        int before = d->counts.fired + d->counts.missed, n;

        if (d->fire_size < FIRE_FIRST)
                d->fire_size = FIRE_FIRST;
        sched_fire_due(d->st, d->conf, os_wall_ms() / 1000,
                       feed_watched(d->feed) ? publish : NULL, d->feed,
                       &d->counts, batches, batches == 0 ? 0 : d->fire_size);
        n = d->counts.fired + d->counts.missed - before;
        if (n != 0)
                d->status_stale = true;
        if (batches == 0 || n < d->fire_size)
                d->fire_size = FIRE_FIRST;
        else if (d->fire_size < SCHED_FIRE_BATCH)
                d->fire_size *= 2;
}

/*
 * Tells the store which events end which rules of `conf`, for the
 * deadlines `schools` shows. Its own table in memory: it fails only when
 * memory does, and then the view shows deadlines a later event ended.
 */
static void
rule_ends(struct daemon *d, const struct conf *conf)
{
        char *cause = NULL;

        if (store_rule_ends_set(d->st, conf->rules, conf->nrules, &cause) < 0)
                log_warnx("%s; deadlines shown may have ended", cause);
        free(cause);
}

/*
 * After a reload: the deliveries held by a problem on our side (a secret
 * file the admin has probably just fixed) are due at once.
 */
static void
unhold(struct daemon *d)
{
        char *cause = NULL;
        int n = store_deliveries_unhold(d->st, os_wall_ms() / 1000, &cause);

        if (n < 0)
                log_warnx("reload: %s", cause);
        else if (n > 0)
                log_info("reload: %d held deliveries tried again now", n);
        free(cause);
}

/* Reads the config again; on success re-plans what its rules changed. */
static json_t *
reload(void *arg)
{
        struct daemon *d = arg;
        json_t *errors = json_array(), *reply;
        struct conf *next;
        int replanned = 0, cancelled = 0;

        svc_reloading();
        log_info("reloading %s", d->conf_path);
        next = load_conf(d->conf_path, errors);
        if (next == NULL) {
                log_err("the new configuration has errors: keeping the one in "
                        "force");
                reply = proto_error("the configuration has errors; the one in "
                                    "force is kept");
                json_object_set_new(reply, "errors", errors);
                svc_ready();
                return reply;
        }
        json_decref(errors);
        if (strcmp(next->daemon.state, d->conf->daemon.state) != 0 ||
            strcmp(next->daemon.control, d->conf->daemon.control) != 0 ||
            strcmp(next->daemon.dispatch, d->conf->daemon.dispatch) != 0 ||
            strcmp(next->daemon.feed, d->conf->daemon.feed) != 0)
                log_warnx("daemon state and endpoints take effect at restart, "
                          "ignoring their change");
        if (sched_replan(d->st, next, os_wall_ms() / 1000, &replanned,
                         &cancelled) < 0 &&
            store_fault(d->st, NULL) != STORE_OK) {
                log_warnx("re-planning waits until the state database can be "
                          "written");
                d->replan_due = true;
        }
        conf_destroy(&d->conf);
        d->conf = next;
        d->cctx.conf = next;
        rule_ends(d, next);
        unhold(d);
        if (d->zap != NULL)
                log_info("CURVE allow-list: %zu clients; %d workers refused "
                         "now",
                         next->curve.nclients,
                         dispatch_revoke(d->dsp, d->st, next, os_wall_ms()));
        log_info("configuration reloaded: %d alert groups re-planned, %d "
                 "cancelled",
                 replanned, cancelled);
        ops_reloaded(d->ops);
        fire_due(d, 1);
        notify_status(d);
        svc_ready();
        reply = proto_ok();
        json_object_set_new(reply, "replanned", json_integer(replanned));
        json_object_set_new(reply, "cancelled", json_integer(cancelled));
        return reply;
}

static void
handle_signal(struct daemon *d)
{
        struct signalfd_siginfo si;

        while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGHUP:
                        json_decref(reload(d));
                        break;
                case SIGTERM:
                case SIGINT:
                        log_info("signal %u: stopping", si.ssi_signo);
                        d->running = false;
                        break;
                }
        }
}

/*
 * The state database: a fault is logged when it starts and when it ends,
 * not on every pass; meanwhile the store is probed every PROBE_MS, and
 * what waited for it (alerts, deliveries, outcomes, re-planning) goes
 * ahead once the probe gets through.
 */
static void
store_watch(struct daemon *d)
{
        enum store_fault fault = store_fault(d->st, NULL);
        const char *text = NULL;
        int replanned = 0, cancelled = 0, rc;

        if (fault != STORE_OK && fault == d->fault &&
            os_mono_ms() >= d->probe_ms) {
                store_probe(d->st, NULL);
                d->probe_ms = os_mono_ms() + PROBE_MS;
        }
        fault = store_fault(d->st, &text);
        if (fault != d->fault) {
                if (fault != STORE_OK)
                        log_err("%s: new events are refused; alerts, "
                                "deliveries and outcomes wait until it can "
                                "be written again",
                                text);
                else
                        log_notice("state database %s can be written again",
                                   d->state_path);
                d->fault = fault;
                d->probe_ms = os_mono_ms() + PROBE_MS;
                notify_status(d);
        }
        if (fault == STORE_OK && d->replan_due) {
                rc = sched_replan(d->st, d->conf, os_wall_ms() / 1000,
                                  &replanned, &cancelled);
                /* Given up on an error that is not a fault (logged). */
                d->replan_due = rc < 0 && store_fault(d->st, NULL) != STORE_OK;
                if (rc == 0)
                        log_info("re-planned once the state database could "
                                 "be written: %d alert groups re-planned, %d "
                                 "cancelled",
                                 replanned, cancelled);
        }
}

/*
 * A step of the wall clock (an admin's `date -s`, a first NTP sync, a VM
 * restored): alerts keep their wall-clock times, so the next pass fires
 * what a forward step made due (late, as after downtime) and a backward
 * step re-fires nothing (fired alerts are no longer pending). Durations
 * measured on the wall clock keep their length instead: the deliveries'
 * waits and leases in the store, the workers' heartbeats and the channels'
 * paces, lest a step forward expire every lease at once (and send again
 * what is being sent) or a step back hold deliveries for its length.
 */
static void
clock_watch(struct daemon *d)
{
        int64_t off = os_wall_ms() - os_mono_ms(), step = off - d->clock_off;
        char *cause = NULL;

        d->clock_off = off;
        if (step <= -CLOCK_STEP_MS || step >= CLOCK_STEP_MS) {
                log_notice("the wall clock stepped %+.1f s: alerts keep their "
                           "times, deliveries their waits",
                           (double)step / 1000);
                dispatch_clock_step(d->dsp, step);
                d->shift_s += (step + (step < 0 ? -500 : 500)) / 1000;
        }
        if (d->shift_s == 0)
                return;
        if (store_deliveries_shift(d->st, d->shift_s, &cause) < 0) {
                if (store_fault(d->st, NULL) == STORE_OK)
                        log_err("%s", cause);
                free(cause);
                return; /* tried again on the next pass */
        }
        d->shift_s = 0;
}

/* Milliseconds until the monotonic instant `at`. */
static int64_t
until(int64_t at)
{
        return at - os_mono_ms();
}

/* The next due alert; while the store is faulty, due alerts wait for it
 * and its probe wakes the loop instead. */
static int64_t
store_timeout(struct daemon *d, int64_t now)
{
        char *cause = NULL;
        int64_t next, ms = MAX_SLEEP_MS;

        if (d->fault != STORE_OK)
                ms = until(d->probe_ms);
        else if (store_next_alert(d->st, &next, &cause) == 0)
                ms = next * 1000 - now;
        free(cause);
        return ms;
}

/* The wait for the soonest timed work of the loop and of its modules. */
static int
poll_timeout(struct daemon *d)
{
        int64_t now = os_wall_ms(), ms, dms;

        ms = svc_watchdog_sleep(&d->watchdog, os_mono_ms(),
                                store_timeout(d, now));
        if (d->conf->daemon.metrics[0] != '\0' &&
            until(d->metrics_next_ms) < ms)
                ms = until(d->metrics_next_ms);
        dms = dispatch_timeout(d->dsp, d->st, now);
        if (dms < ms)
                ms = dms;
        if (d->status_stale && until(d->status_next_ms) < ms)
                ms = until(d->status_next_ms);
        dms = ops_timeout(d->ops, now / 1000);
        if (dms < ms)
                ms = dms;
        dms = heartbeat_timeout(d->beat, d->conf, os_mono_ms());
        if (dms < ms)
                ms = dms;
        if (ms > MAX_SLEEP_MS)
                ms = MAX_SLEEP_MS;
        return ms < 0 ? 0 : (int)ms;
}

/* Rewrites the node_exporter textfile, when one is configured. */
static void
write_metrics(struct daemon *d)
{
        char *cause = NULL, *path = NULL;

        if (d->conf->daemon.metrics[0] == '\0' ||
            os_mono_ms() < d->metrics_next_ms)
                return;
        d->metrics_next_ms = os_mono_ms() + METRICS_INTERVAL_MS;
        path = conf_state_path(d->conf->daemon.metrics);
        if (metrics_update(path, d->st, d->dsp, d->fault == STORE_OK,
                           d->started, d->conf, os_wall_ms() / 1000,
                           &cause) < 0)
                log_warnx("metrics: %s", cause);
        else
                log_debug("metrics written to %s", path);
        free(path);
        free(cause);
}

/* The daily housekeeping: deletes the links that expired over a week
 * ago; a faulty store tries again in a minute. */
static void
prune(struct daemon *d)
{
        char *cause = NULL;
        int n;

        if (os_mono_ms() < d->prune_next_ms)
                return;
        if (d->fault != STORE_OK) {
                d->prune_next_ms = os_mono_ms() + MAX_SLEEP_MS;
                return;
        }
        d->prune_next_ms = os_mono_ms() + PRUNE_INTERVAL_MS;
        n = store_links_prune(d->st, os_wall_ms() / 1000 - LINKS_KEEP_S,
                              &cause);
        if (n < 0)
                log_warnx("prune links: %s", cause);
        else if (n > 0)
                log_info("pruned %d acknowledgement links expired over a "
                         "week ago",
                         n);
        free(cause);
}

/* The loop's poll items: its own sockets and signalfd, then what each
 * module asks to be polled for. */
enum { ITEM_CONTROL, ITEM_DISPATCH, ITEM_SIGNAL, ITEM_FEED, ITEM_ZAP };

static void
run(struct daemon *d)
{
        zmq_pollitem_t items[ITEM_ZAP + ZAP_MAX_ITEMS] = {
                [ITEM_CONTROL] = { d->control, 0, ZMQ_POLLIN, 0 },
                [ITEM_DISPATCH] = { d->dispatch, 0, ZMQ_POLLIN, 0 },
                [ITEM_SIGNAL] = { NULL, d->sigfd, ZMQ_POLLIN, 0 },
        };
        int n = ITEM_FEED + feed_pollitems(d->feed, items + ITEM_FEED);

        if (d->zap != NULL)
                n += zap_pollitems(d->zap, items + n);
        while (d->running) {
                int timeout = poll_timeout(d);

                log_flush(); /* what this turn logged, before we wait */
                if (zmq_poll(items, n, timeout) < 0 && errno != EINTR)
                        fatalx("zmq_poll: %s", zmq_strerror(errno));
                clock_watch(d);
                /* Handshakes first: a client waits on them. */
                if (d->zap != NULL)
                        zap_handle(d->zap, d->conf, os_mono_ms());
                if (items[ITEM_SIGNAL].revents & ZMQ_POLLIN)
                        handle_signal(d);
                if (items[ITEM_CONTROL].revents & ZMQ_POLLIN)
                        control_serve(&d->cctx, d->control,
                                      os_wall_ms() / 1000);
                if (items[ITEM_DISPATCH].revents & ZMQ_POLLIN)
                        dispatch_read(d->dsp, d->st, d->conf, os_wall_ms());
                if (items[ITEM_FEED].revents & ZMQ_POLLIN)
                        feed_read(d->feed);
                fire_due(d, 1);
                ops_tick(d->ops, d->st, d->conf, os_wall_ms() / 1000);
                dispatch_tick(d->dsp, d->st, d->conf, os_wall_ms());
                heartbeat_tick(d->beat, d->st, d->dsp, d->conf, os_mono_ms(),
                               os_wall_ms());
                store_watch(d);
                svc_watchdog_tick(&d->watchdog, os_mono_ms());
                status_tick(d);
                write_metrics(d);
                prune(d);
        }
}

/* One scheduler per state file: a second one would steal the sockets;
 * a restore needs none running (`restoring`). */
static int
take_lock(const char *state_path, bool restoring)
{
        char *path;
        int fd;

        xasprintf(&path, "%s.lock", state_path);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
                fatal("open '%s'", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK && restoring)
                        fatalx("ofsted-notifyd is running with state '%s': "
                               "stop it before a restore (systemctl stop "
                               "ofsted-notify.target)",
                               state_path);
                if (errno == EWOULDBLOCK)
                        fatalx("another ofsted-notifyd is running with state "
                               "'%s'",
                               state_path);
                fatal("flock '%s'", path);
        }
        free(path);
        return fd;
}

/*
 * With any tcp:// endpoint: the scheduler's own key pair, and the ZAP
 * handler that checks clients against the allow-list. Without the list
 * nobody could connect, so that is a configuration error.
 */
static void
start_curve(struct daemon *d)
{
        const struct conf *c = d->conf;
        char *cause = NULL;

        if (!conf_endpoint_tcp(c->daemon.control) &&
            !conf_endpoint_tcp(c->daemon.dispatch) &&
            !conf_endpoint_tcp(c->daemon.feed))
                return;
        if (c->curve.allow[0] == '\0') {
                log_err("%s: the scheduler's tcp:// endpoints need "
                        "curve.allow, the list of client keys it admits",
                        c->path);
                exit(CONF_EXIT);
        }
        if (curve_key_load(c->dir, c->curve.server_key, true, &d->server,
                           &cause) < 0) {
                log_err("curve.server_key: %s", cause);
                exit(CONF_EXIT);
        }
        d->zap = zap_new(d->zctx, &cause);
        if (d->zap == NULL)
                fatalx("%s", cause);
        log_info("CURVE on tcp:// endpoints; server key %s; %zu clients on "
                 "the allow-list",
                 d->server.public_key, c->curve.nclients);
}

static void
startup(struct daemon *d)
{
        char *cause = NULL, *notice = NULL;
        int replanned = 0, cancelled = 0, n, one = 1;

        d->state_path = conf_state_path(d->conf->daemon.state);
        ensure_parent(d->state_path);
        d->lock_fd = take_lock(d->state_path, false);
        /* Only the daemon's user, under the unit too: the group that may
         * record events must not be able to write deliveries as settled
         * behind the dispatch protocol's back (docs/dispatch.md). */
        d->st = store_open_mode(d->state_path, STORE_MODE, &notice, &cause);
        if (d->st == NULL)
                fatalx("%s", cause);
        if (notice != NULL)
                log_notice("state database: %s", notice);
        free(notice);
        log_info("state in %s", d->state_path);
        rule_ends(d, d->conf);

        d->sigfd = os_signalfd();

        d->zctx = zmq_ctx_new();
        start_curve(d);
        d->control = bind_socket(d, ZMQ_ROUTER, d->conf->daemon.control,
                                 CURVE_DOMAIN_CONTROL);
        d->dispatch = bind_socket(d, ZMQ_ROUTER, d->conf->daemon.dispatch,
                                  CURVE_DOMAIN_DISPATCH);
        d->feed = feed_new(
            bind_socket(d, ZMQ_XPUB, d->conf->daemon.feed, CURVE_DOMAIN_FEED));
        /* Fail loudly, not silently, when a worker has gone. */
        zmq_setsockopt(d->dispatch, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
        d->dsp = dispatch_new(d->dispatch);
        /* No worker holds anything of ours after a restart. (When the
         * store cannot be written, their leases run out instead.) */
        n = store_deliveries_requeue(d->st, os_wall_ms() / 1000, &cause);
        if (n < 0 && store_fault(d->st, NULL) == STORE_OK)
                fatalx("%s", cause);
        free(cause);
        cause = NULL;
        if (n > 0)
                log_notice("%d deliveries that were being sent are pending "
                           "again",
                           n);

        /* The config may have changed while we were down. */
        d->clock_off = os_wall_ms() - os_mono_ms();
        d->replan_due = sched_replan(d->st, d->conf, os_wall_ms() / 1000,
                                     &replanned, &cancelled) < 0 &&
                        store_fault(d->st, NULL) != STORE_OK;
        if (replanned > 0 || cancelled > 0)
                log_info("rules changed while stopped: %d alert groups "
                         "re-planned, %d cancelled",
                         replanned, cancelled);
        /* Catch up on what came due while we were down. */
        fire_due(d, 0);
        if (d->counts.fired + d->counts.missed > 0)
                log_notice("catch-up after downtime: %d alerts fired (%d "
                           "late), %d missed",
                           d->counts.fired, d->counts.late, d->counts.missed);

        /* Retention and the channels' checks due while we were down. */
        d->ops = ops_new();
        ops_tick(d->ops, d->st, d->conf, os_wall_ms() / 1000);
        d->beat = heartbeat_new();

        svc_watchdog_init(&d->watchdog, os_mono_ms());
        d->metrics_next_ms = os_mono_ms();
        d->prune_next_ms = os_mono_ms();
        d->cctx = (struct control_ctx){ d->st,  d->conf, d->dsp,  d->started,
                                        reload, d,       d->feed, d->ops };
        d->running = true;
        svc_ready();
        store_watch(d);
        notify_status(d);
        log_info("ready (version %s)", PROJECT_VERSION);
}

/*
 * --restore FILE: with no daemon running (its lock taken), the checked
 * backup replaces the state, which is kept; the audit trail of the
 * restored state says who did it. The next start catches up on the
 * alerts that came due since the backup, and sends again what was being
 * sent when it was taken. Returns the exit status.
 */
static int
restore(struct daemon *d, const char *file)
{
        char *cause = NULL, *kept = NULL, actor[300], detail[4200];
        struct passwd *pw = getpwuid(getuid());
        int64_t now = os_wall_ms() / 1000;
        struct store_audit a = {
                now, actor, "ctl", "restore", NULL, 0, detail
        };

        d->state_path = conf_state_path(d->conf->daemon.state);
        ensure_parent(d->state_path);
        d->lock_fd = take_lock(d->state_path, true);
        if (backup_restore(d->state_path, file, now, &kept, &cause) < 0) {
                log_err("restore: %s; the state is unchanged", cause);
                free(cause);
                return 1;
        }
        if (pw != NULL)
                snprintf(actor, sizeof(actor), "unix:%s", pw->pw_name);
        else
                snprintf(actor, sizeof(actor), "unix:%lu",
                         (unsigned long)getuid());
        snprintf(detail, sizeof(detail),
                 "from '%.2000s'; previous state kept "
                 "as '%.2000s'",
                 file, kept ? kept : "(none)");
        d->st = store_open_mode(d->state_path, STORE_MODE, NULL, &cause);
        if (d->st == NULL || store_audit_add(d->st, &a, &cause) < 0) {
                log_err("restore: %s", cause);
                free(cause);
                free(kept);
                return 1;
        }
        log_notice("restored '%s' into '%s'; the previous state is kept as "
                   "'%s'; start ofsted-notifyd to catch up on what came due "
                   "meanwhile",
                   file, d->state_path, kept ? kept : "(there was none)");
        free(kept);
        return 0;
}

static void
shutdown_daemon(struct daemon *d)
{
        svc_stopping();
        if (d->control != NULL)
                zmq_close(d->control);
        if (d->dispatch != NULL)
                zmq_close(d->dispatch);
        feed_destroy(&d->feed);
        zap_destroy(&d->zap);
        explicit_bzero(&d->server, sizeof(d->server));
        dispatch_destroy(&d->dsp);
        ops_destroy(&d->ops);
        heartbeat_destroy(&d->beat);
        if (d->zctx != NULL)
                zmq_ctx_term(d->zctx);
        store_close(&d->st);
        if (d->sigfd >= 0)
                close(d->sigfd);
        if (d->lock_fd >= 0)
                close(d->lock_fd);
        free(d->state_path);
        conf_destroy(&d->conf);
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "restore", required_argument, NULL, 'R' },
                { NULL, 0, NULL, 0 },
        };
        struct daemon d = { 0 };
        const char *arg = NULL, *backup = NULL;
        int ch, verbose = 0, rc;

        d.sigfd = d.lock_fd = -1;
        while ((ch = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
                switch (ch) {
                case 'c':
                        arg = optarg;
                        break;
                case 'v':
                        verbose++;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        printf("ofsted-notifyd %s\n", PROJECT_VERSION);
                        return 0;
                case 'R':
                        backup = optarg;
                        break;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "ofsted-notifyd: unexpected argument '%s'\n",
                        argv[optind]);
                usage(stderr);
                return 2;
        }
        log_init("ofsted-notifyd", verbose, false);
        log_hold(); /* a line per delivery: flushed once per turn of the loop */
        /* One thread uses the store: SQLite need not lock for others. */
        if (store_one_thread() < 0)
                log_warnx("SQLite is already initialised: it keeps its locks");
        d.conf_path = conf_default_path(arg);
        d.conf = load_conf(d.conf_path, NULL);
        if (d.conf == NULL)
                return CONF_EXIT;
        if (backup != NULL) {
                rc = restore(&d, backup);
                log_flush();
                shutdown_daemon(&d);
                return rc;
        }
        d.started = os_wall_ms() / 1000;
        startup(&d);
        run(&d);
        shutdown_daemon(&d);
        log_info("stopped");
        return 0;
}
