/*
 * delivery: the world the delivery tests (test_delivery_*.c) share.
 *
 * Delivery end to end: ofsted-notifyd fires alerts into deliveries and
 * dispatches them to real ofsted-notify-worker processes, which POST them
 * to httpsink, a real HTTP server on loopback that logs every request and
 * fails, throttles or hangs on cue (its script). Checked: the payload of
 * every chat flavour against the shape its service documents, the
 * idempotency key and the Standard Webhooks signature, retries (5xx, 429
 * with Retry-After, a transfer timeout), a 404 failed for good, a
 * delivery given up after max_attempts and after give_up_after, a lease
 * that runs out on a live worker (its late outcome: delivered recorded,
 * retry ignored), a webhook and an email worker (with smtpsink) on one
 * daemon, at least once delivery through kill -9 of a worker, of the
 * daemon and of one of two workers, and peers that speak another protocol
 * version or garbage.
 *
 * Expected values come from the config this file writes, the test's clock
 * and `ofsted-notifyctl plan` (the offline planner); ids come from
 * `history`, the daemon's own record, and are compared with what reached
 * the sink. Every wait is bounded; every child is killed in teardown.
 */
#ifndef ONOTIFY_TEST_DELIVERY_H
#define ONOTIFY_TEST_DELIVERY_H

#include "cluster.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

/* What the config says, and so what the alerts must carry. */
#define TRUST          "Delivery Test Trust"
#define ACTION         "Drill the delivery path."
#define CONTACT        "SOL 0300 123 4231"
#define URN_ALL        "100001" /* one channel of every webhook type */
#define NAME_ALL       "Oak Primary"
#define URN_SOLO       "100002" /* the channel "solo" only */
#define NAME_SOLO      "Ash Primary"
#define SOLO_PATH      "/solo"
#define BULK_URN0      200000 /* bulk schools 200000.. */
#define BULK_SCHOOLS   10
#define BULK_CHANNELS  10 /* bulk0..bulk9 at /bulk/0../bulk/9 */
#define BULK_ALERTS    10 /* "event", "+1s" .. "+9s" */
#define BULK_PER_EVENT (BULK_CHANNELS * BULK_ALERTS)
#define LEASE_S        10
#define RETRY_BASE_S   1
#define KEY_BYTES      32
#define LINK_BASE      "https://alerts.test.example"
/* With an SMTP sink only: a school with "solo" and an email channel. */
#define URN_BOTH     "100003"
#define NAME_BOTH    "Elm Primary"
#define MAIL_CHANNEL "mail"
#define MAIL_FROM    "alerts@trust.example"
#define MAIL_TO      "head@elm.example"

#define START_MS         20000 /* a child starting */
#define WAIT_MS          30000 /* any other single wait */
#define NWORKERS         2     /* of CLUSTER_WORKERS */
#define TRANSFER_TIMEOUT "8"   /* seconds: the workers' --timeout */
#define WORKER_CREDIT    "100" /* the workers' --credit */

/* One channel of each webhook type, named after it, at /<type>. */
extern const char *const flavours[6];
#define NFLAVOURS (sizeof(flavours) / sizeof(flavours[0]))

/*
 * One test's world: the cluster (a directory, a sink, a daemon, up to two
 * workers, and for the test that wants one an SMTP sink: then
 * c.smtp_port > 0 and the config has the email channel MAIL_CHANNEL),
 * the webhook key and the knobs of the next config and worker.
 */
struct fx {
        struct cluster c;
        char key[192];
        unsigned char secret[KEY_BYTES];
        const char *credit;   /* the next worker's --credit; NULL: default */
        const char *kind;     /* the next worker's --kind; NULL: webhook */
        int lease;            /* delivery.lease; 0: LEASE_S */
        const char *delivery; /* more settings for the delivery group */
        const char *daemon;   /* more settings for the daemon group */
        /* The config has web.base_url LINK_BASE: every alert carries its
         * one-click link (LINK_BASE "/a/" TOKEN). */
        bool links;
};
/* c first: teardown() is cluster_teardown(), which frees f as its c. */
_Static_assert(offsetof(struct fx, c) == 0, "struct fx starts with c");

/* How many times `needle` occurs in `s`. */
int occurrences(const char *s, const char *needle);

/* --- Config -------------------------------------------------------------- */

/*
 * The config: a channel of every webhook type for URN_ALL, the signed
 * channel "solo" for URN_SOLO, ten bulk schools with ten bulk channels
 * each, the rules `drill` (one alert, at the event) and `bulk` (ten alerts
 * within ten seconds of the event), and fast leases and retries (f->lease
 * and f->delivery change them; f->links gives web.base_url). With an SMTP sink
 * (f->c.smtp_port), also the email channel MAIL_CHANNEL and the school URN_BOTH
 * with "solo" and it.
 */
void write_conf(struct fx *f);

/* The bulk rule's offsets, as the config lists them. */
void bulk_offset(int i, char buf[16]);

/* A Standard Webhooks secret: "whsec_" and the base64 of random bytes. */
void write_key(struct fx *f);

/*
 * Opens a case for school `urn` (no rule starts on a notification here)
 * and records event `kind` for it at `at`; checks the replies.
 */
void record(struct fx *f, const char *kind, const char *urn, const char *at);

/*
 * Starts worker `slot` of kind f->kind (NULL: webhook) with `timeout`
 * ("--timeout" seconds, NULL: TRANSFER_TIMEOUT) and waits until the daemon
 * counts `registered` workers of its kind (-1: does not wait).
 */
void worker_start(struct fx *f, int slot, const char *timeout, int registered);

/* The delivery of channel `channel` in history `h` (exactly one). */
json_t *delivery_of(json_t *h, const char *channel);

const char *header(json_t *req, const char *name);

/* The request's body parsed; it must be a JSON object. New reference. */
json_t *body_of(json_t *req);

/*
 * Checks the Standard Webhooks headers of `req` for delivery `id`:
 * webhook-id is the id, webhook-timestamp is this test's time, and
 * webhook-signature is "v1," and the base64 HMAC-SHA256 of
 * "id.timestamp.body" under the key the test wrote.
 */
void check_signature(struct fx *f, json_t *req, const char *id);

/* Every request of `reqs` is a POST of JSON keyed with `id`. */
void check_keys(json_t *reqs, const char *id);

/*
 * The deliveries of bulk events for the first `nschools` bulk schools:
 * history holds exactly one per (school, offset, channel) the config
 * implies, all delivered; the sink saw each at least once, and every
 * request for it carries its id as idempotency key and webhook-id, its
 * own school and offset, and a valid signature. Returns how many the sink
 * saw more than once; *seen (may be NULL) gets an object id -> count.
 */
int check_bulk(struct fx *f, int nschools, json_t **seen);

int setup(void **state);

/* Kills what still runs; shows the logs when the test failed. */
int teardown(void **state);

/*
 * Sets the sink's script, starts the daemon and one worker (`timeout`:
 * its --timeout, NULL for the default) and records a drill for URN_SOLO,
 * whose one channel is "solo" at SOLO_PATH.
 */
void solo_start(struct fx *f, const char *script, const char *timeout);

/*
 * Waits at most timeout_ms until the one delivery settles as `status`;
 * returns its history entry (new reference). *reqs gets the sink's
 * requests to SOLO_PATH, all checked to carry its id as key and a valid
 * signature.
 */
json_t *solo_settled_within(struct fx *f, const char *status, json_t **reqs,
                            int timeout_ms);

/* solo_settled_within() WAIT_MS. */
json_t *solo_settled(struct fx *f, const char *status, json_t **reqs);

/* The attempt each request's body gives must be 1, 2, ... in order. */
void check_attempts(json_t *reqs);

/* The arrival time of request i of `reqs`, on the wall clock. */
double req_time(json_t *reqs, size_t i);

/*
 * Fails unless request i of `reqs` came at least min_s after request i - 1;
 * `why` names the wait the gap must cover ("its Retry-After of 2 s").
 */
void assert_req_gap(json_t *reqs, size_t i, double min_s, const char *why);

/* Records a bulk event for bulk schools [0, n), all ten alerts due now. */
void record_bulk(struct fx *f, int n);

/* `ofsted-notifyctl test solo`; wants it delivered, and n requests at /solo
 * in all; returns the last (new reference). */
json_t *test_solo(struct fx *f, size_t n);

#endif
