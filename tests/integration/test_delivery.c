/*
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
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/dproto.h" /* DPROTO_ID, docs/dispatch.md */
#include "itest.h"
#include "proc.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define HOLIDAYS SOURCE_DIR "/config/bank-holidays.json"

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
/* With an SMTP sink only: a school with "solo" and an email channel. */
#define URN_BOTH     "100003"
#define NAME_BOTH    "Elm Primary"
#define MAIL_CHANNEL "mail"
#define MAIL_FROM    "alerts@trust.example"
#define MAIL_TO      "head@elm.example"

#define START_MS         20000 /* a child starting */
#define WAIT_MS          30000 /* any other single wait */
#define NWORKERS         2
#define TRANSFER_TIMEOUT "8"   /* seconds: the workers' --timeout */
#define WORKER_CREDIT    "100" /* the workers' --credit */

/* One channel of each webhook type, named after it, at /<type>. */
static const char *const flavours[] = {
        "teams", "google_chat", "slack", "discord", "mattermost", "webhook",
};
#define NFLAVOURS (sizeof(flavours) / sizeof(flavours[0]))

/*
 * One test's world: a directory, a sink, a daemon, up to two workers, and
 * for the test that wants one an SMTP sink.
 */
struct fx {
        char dir[128];
        char conf[192], key[192];
        char sinklog[192], sinkerr[192], script[192], portfile[192];
        char spool[192], smtperr[192], smtpscript[192], smtpportfile[192];
        char dlog[192], wlog[NWORKERS][192];
        char env_state[224], env_run[224];
        unsigned char secret[KEY_BYTES];
        int port;
        int smtp_port; /* > 0: the config has the email channel MAIL_CHANNEL */
        time_t t0;
        pid_t sink, smtp, daemon, worker[NWORKERS];
        const char *credit;   /* the next worker's --credit; NULL: default */
        const char *kind;     /* the next worker's --kind; NULL: webhook */
        int lease;            /* delivery.lease; 0: LEASE_S */
        const char *delivery; /* more settings for the delivery group */
        bool passed;
};

/* --- Files, text, time ------------------------------------------------ */

/* Characters (code points) in UTF-8 text. */
static size_t
chars(const char *s)
{
        size_t n = 0;

        for (; *s != '\0'; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

/* How many times `needle` occurs in `s`. */
static int
occurrences(const char *s, const char *needle)
{
        int n = 0;

        for (const char *p = strstr(s, needle); p != NULL;
             p = strstr(p + 1, needle))
                n++;
        return n;
}

/* How many times `needle` occurs in the file at `path` (a log). */
static int
occurrences_in(const char *path, const char *needle)
{
        char *text = slurp(path);
        int n = occurrences(text, needle);

        free(text);
        return n;
}

/* Waits until the file at `path` holds `needle` at least `n` times. */
static void
wait_log(const char *path, const char *needle, int n, int timeout_ms)
{
        long long until = mono_ms() + timeout_ms;
        int got;

        while ((got = occurrences_in(path, needle)) < n) {
                if (mono_ms() > until)
                        fail_msg("%s holds '%s' %d times, not %d, after %d ms",
                                 path, needle, got, n, timeout_ms);
                sleep_ms(50);
        }
}

/* --- Config -------------------------------------------------------------- */

/*
 * The config: a channel of every webhook type for URN_ALL, the signed
 * channel "solo" for URN_SOLO, ten bulk schools with ten bulk channels
 * each, the rules `drill` (one alert, at the event) and `bulk` (ten alerts
 * within ten seconds of the event), and fast leases and retries (f->lease
 * and f->delivery change them). With an SMTP sink (f->smtp_port), also the
 * email channel MAIL_CHANNEL and the school URN_BOTH with "solo" and it.
 */
static void
write_conf(struct fx *f)
{
        FILE *fp = fopen(f->conf, "w");
        const char *sep;

        if (fp == NULL)
                fail_msg("cannot write %s: %s", f->conf, strerror(errno));
        fprintf(fp,
                "trust = { name = \"%s\"; timezone = \"Europe/London\";\n"
                "  holidays = \"%s\"; };\n"
                "daemon = { state = \"state.db\";\n"
                "  control = \"ipc://control.sock\";\n"
                "  dispatch = \"ipc://dispatch.sock\";\n"
                "  feed = \"ipc://feed.sock\"; };\n"
                "delivery = { retry_base = %d; lease = %d; %s };\n",
                TRUST, HOLIDAYS, RETRY_BASE_S,
                f->lease > 0 ? f->lease : LEASE_S,
                f->delivery != NULL ? f->delivery : "");
        if (f->smtp_port > 0)
                fprintf(fp,
                        "email = { smtp = \"smtp://127.0.0.1:%d\"; "
                        "tls = \"none\";\n  from = \"%s\"; };\n",
                        f->smtp_port, MAIL_FROM);
        fprintf(fp, "channels = (\n");
        for (size_t i = 0; i < NFLAVOURS; i++)
                fprintf(fp,
                        "  { name = \"%s\"; type = \"%s\";\n"
                        "    url = \"http://127.0.0.1:%d/%s\";%s },\n",
                        flavours[i], flavours[i], f->port, flavours[i],
                        strcmp(flavours[i], "webhook") == 0
                            ? " secret_file = \"webhook.key\";"
                            : "");
        fprintf(fp,
                "  { name = \"solo\"; type = \"webhook\";\n"
                "    url = \"http://127.0.0.1:%d%s\";\n"
                "    secret_file = \"webhook.key\"; }",
                f->port, SOLO_PATH);
        for (int i = 0; i < BULK_CHANNELS; i++)
                fprintf(fp,
                        ",\n  { name = \"bulk%d\"; type = \"webhook\";\n"
                        "    url = \"http://127.0.0.1:%d/bulk/%d\";\n"
                        "    secret_file = \"webhook.key\"; }",
                        i, f->port, i);
        if (f->smtp_port > 0)
                fprintf(fp,
                        ",\n  { name = \"%s\"; type = \"email\"; "
                        "to = [ \"%s\" ]; }",
                        MAIL_CHANNEL, MAIL_TO);
        fprintf(fp,
                "\n);\nschools = (\n  { urn = \"%s\"; name = \"%s\";\n"
                "    channels = [ ",
                URN_ALL, NAME_ALL);
        sep = "";
        for (size_t i = 0; i < NFLAVOURS; i++, sep = ", ")
                fprintf(fp, "%s\"%s\"", sep, flavours[i]);
        fprintf(fp,
                " ]; },\n  { urn = \"%s\"; name = \"%s\"; "
                "channels = [ \"solo\" ]; }",
                URN_SOLO, NAME_SOLO);
        for (int s = 0; s < BULK_SCHOOLS; s++) {
                fprintf(fp,
                        ",\n  { urn = \"%d\"; name = \"Bulk School %d\";\n"
                        "    channels = [ ",
                        BULK_URN0 + s, s);
                sep = "";
                for (int i = 0; i < BULK_CHANNELS; i++, sep = ", ")
                        fprintf(fp, "%s\"bulk%d\"", sep, i);
                fprintf(fp, " ]; }");
        }
        if (f->smtp_port > 0)
                fprintf(fp,
                        ",\n  { urn = \"%s\"; name = \"%s\";\n"
                        "    channels = [ \"solo\", \"%s\" ]; }",
                        URN_BOTH, NAME_BOTH, MAIL_CHANNEL);
        fprintf(fp,
                "\n);\nrules = (\n"
                "  { name = \"drill\"; event = \"drill\"; action = \"%s\";\n"
                "    deadline = { working_days = 10; time = \"17:00\"; };\n"
                "    alerts = [ \"event\" ]; },\n"
                "  { name = \"bulk\"; event = \"bulk\"; action = \"%s\";\n"
                "    deadline = { working_days = 10; time = \"17:00\"; };\n"
                "    alerts = [ \"event\"",
                ACTION, ACTION);
        for (int i = 1; i < BULK_ALERTS; i++)
                fprintf(fp, ", \"+%ds\"", i);
        fprintf(fp, " ]; }\n);\n");
        assert_int_equal(fclose(fp), 0);
}

/* The bulk rule's offsets, as the config lists them. */
static void
bulk_offset(int i, char buf[16])
{
        if (i == 0)
                snprintf(buf, 16, "event");
        else
                snprintf(buf, 16, "+%ds", i);
}

/* A Standard Webhooks secret: "whsec_" and the base64 of random bytes. */
static void
write_key(struct fx *f)
{
        char b64[sodium_base64_ENCODED_LEN(KEY_BYTES,
                                           sodium_base64_VARIANT_ORIGINAL)];
        char text[sizeof(b64) + 16];

        randombytes_buf(f->secret, sizeof(f->secret));
        sodium_bin2base64(b64, sizeof(b64), f->secret, sizeof(f->secret),
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(text, sizeof(text), "whsec_%s\n", b64);
        spill(f->key, text);
        assert_int_equal(chmod(f->key, 0600), 0);
}

/* Sets the sink's script (NULL: none, every request gets 200). */
static void
sink_script(struct fx *f, const char *script)
{
        spill(f->script, script != NULL ? script : "# 200 for all\n");
}

/* --- Running things ---------------------------------------------------- */

/* ofsted-notifyctl -c conf a0 ... (NULL-terminated, at most 14). */
static struct proc_result
vctl(struct fx *f, const char *a0, va_list ap)
{
        return itest_ctl_run(CTL_BINARY, f->conf, f->env_state, f->env_run, a0,
                             ap);
}

static struct proc_result
ctl(struct fx *f, const char *a0, ...)
{
        struct proc_result r;
        va_list ap;

        va_start(ap, a0);
        r = vctl(f, a0, ap);
        va_end(ap);
        return r;
}

/* Runs ofsted-notifyctl, wants exit status 0 and a JSON object. */
static json_t *
ctl_json(struct fx *f, const char *a0, ...)
{
        struct proc_result r;
        json_error_t err;
        json_t *doc;
        char why[1024] = "";
        va_list ap;

        va_start(ap, a0);
        r = vctl(f, a0, ap);
        va_end(ap);
        doc = json_loads(r.out, 0, &err);
        if (r.status != 0)
                snprintf(why, sizeof(why), "exit %d; stderr: %s", r.status,
                         r.err);
        else if (!json_is_object(doc))
                snprintf(why, sizeof(why), "not a JSON object (%s): %s",
                         err.text, r.out);
        proc_result_free(&r);
        if (why[0] != '\0') {
                json_decref(doc);
                fail_msg("ofsted-notifyctl %s: %s", a0, why);
        }
        return doc;
}

/*
 * Opens a case for school `urn` (no rule starts on a notification here)
 * and records event `kind` for it at `at`; checks the replies.
 */
static void
record(struct fx *f, const char *kind, const char *urn, const char *at)
{
        json_t *r = ctl_json(f, "notify", "--school", urn, "--at", at,
                             "--contact", CONTACT, "--json", NULL);

        assert_string_equal(jstr(r, "state"), "open");
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 0);
        json_decref(r);
        r = ctl_json(f, "event", kind, "--school", urn, "--at", at, "--json",
                     NULL);
        assert_string_equal(jstr(jobj(r, "school"), "urn"), urn);
        assert_int_equal(json_array_size(jarr(r, "scheduled")),
                         strcmp(kind, "bulk") == 0 ? BULK_ALERTS : 1);
        json_decref(r);
}

/*
 * Starts the daemon and waits until it answers `status`. No NOTIFY_SOCKET:
 * a test busy elsewhere would not read it, and with the kernel's short
 * datagram queue (net.unix.max_dgram_qlen) the daemon's STATUS= messages
 * would block it in sd_notify().
 */
static void
daemon_start(struct fx *f)
{
        char *argv[] = { DAEMON_BINARY, "-c", f->conf, NULL };
        char *const env[] = { f->env_state,
                              f->env_run,
                              "NOTIFY_SOCKET",
                              "WATCHDOG_USEC",
                              "WATCHDOG_PID",
                              "JOURNAL_STREAM",
                              NULL };
        long long until = mono_ms() + START_MS;

        assert_int_equal(f->daemon, -1);
        assert_int_equal(proc_start(argv, env, f->dlog, &f->daemon), 0);
        for (;;) {
                struct proc_result r =
                    ctl(f, "status", "--timeout", "1", "--json", NULL);
                int status = r.status;

                proc_result_free(&r);
                if (status == 0)
                        return;
                if (!proc_alive(f->daemon) || mono_ms() > until)
                        fail_msg("ofsted-notifyd exited or did not answer "
                                 "within %d ms",
                                 START_MS);
                sleep_ms(50);
        }
}

/* Stops the daemon with `sig`; returns its exit status. */
static int
daemon_stop(struct fx *f, int sig)
{
        int status = proc_stop(f->daemon, sig);

        f->daemon = -1;
        return status;
}

/* `status --json` until workers.<kind> is `want`; fails after START_MS. */
static void
wait_workers(struct fx *f, const char *kind, json_int_t want)
{
        long long until = mono_ms() + START_MS;
        json_int_t got;

        for (;;) {
                json_t *st = ctl_json(f, "status", "--json", NULL);

                got = jint(jobj(st, "workers"), kind);
                json_decref(st);
                if (got == want)
                        return;
                if (mono_ms() > until)
                        fail_msg("the daemon counts %lld %s workers, not "
                                 "%lld, after %d ms",
                                 (long long)got, kind, (long long)want,
                                 START_MS);
                sleep_ms(100);
        }
}

/*
 * Starts worker `slot` of kind f->kind (NULL: webhook) with `timeout`
 * ("--timeout" seconds, NULL: TRANSFER_TIMEOUT) and waits until the daemon
 * counts `registered` workers of its kind (-1: does not wait).
 */
static void
worker_start(struct fx *f, int slot, const char *timeout, int registered)
{
        const char *kind = f->kind != NULL ? f->kind : "webhook";
        char *argv[10] = { WORKER_BINARY, "--kind", (char *)kind, "-c",
                           f->conf };
        char *const env[] = { f->env_state,
                              f->env_run,
                              "NOTIFY_SOCKET",
                              "JOURNAL_STREAM",
                              "CREDENTIALS_DIRECTORY",
                              NULL };
        int n = 5;

        /* Below the lease, as the worker asks, above the sink's delays. */
        argv[n++] = "--timeout";
        argv[n++] = (char *)(timeout != NULL ? timeout : TRANSFER_TIMEOUT);
        argv[n++] = "--credit";
        argv[n++] = (char *)(f->credit != NULL ? f->credit : WORKER_CREDIT);
        argv[n] = NULL;
        assert_int_equal(f->worker[slot], -1);
        assert_int_equal(proc_start(argv, env, f->wlog[slot], &f->worker[slot]),
                         0);
        if (registered >= 0)
                wait_workers(f, kind, registered);
}

/* Stops worker `slot` with `sig`; returns its exit status. */
static int
worker_stop(struct fx *f, int slot, int sig)
{
        int status = proc_stop(f->worker[slot], sig);

        f->worker[slot] = -1;
        return status;
}

/* Stops everything with SIGTERM and wants each to exit 0. */
static void
stop_all(struct fx *f)
{
        for (int i = 0; i < NWORKERS; i++) {
                if (f->worker[i] > 0)
                        assert_int_equal(worker_stop(f, i, SIGTERM), 0);
        }
        if (f->daemon > 0)
                assert_int_equal(daemon_stop(f, SIGTERM), 0);
        assert_int_equal(proc_stop(f->sink, SIGTERM), 0);
        f->sink = -1;
        if (f->smtp > 0) {
                assert_int_equal(proc_stop(f->smtp, SIGTERM), 0);
                f->smtp = -1;
        }
}

/* --- What the daemon says ---------------------------------------------- */

/* history --json, every delivery (at most 1000). New reference. */
static json_t *
history(struct fx *f)
{
        json_t *h = ctl_json(f, "history", "--limit", "1000", "--json", NULL);
        json_t *d = json_incref(jarr(h, "deliveries"));

        json_decref(h);
        return d;
}

/*
 * Polls `status --json` until `delivered` deliveries are delivered and
 * `failed` failed, none pending, sending or waiting to retry; fails after
 * timeout_ms.
 */
static void
wait_settled(struct fx *f, json_int_t delivered, json_int_t failed,
             int timeout_ms)
{
        static const char *const busy[] = { "pending", "sending", "retry" };
        long long until = mono_ms() + timeout_ms;

        for (;;) {
                json_t *st = ctl_json(f, "status", "--json", NULL);
                json_t *d = jobj(st, "deliveries");
                json_int_t dl = jint(d, "delivered"), fl = jint(d, "failed");
                json_int_t other = 0;
                char *text;

                for (size_t i = 0; i < 3; i++)
                        other += jint(d, busy[i]);
                if (dl == delivered && fl == failed && other == 0) {
                        json_decref(st);
                        return;
                }
                if (dl > delivered || fl > failed || mono_ms() > until) {
                        text = json_dumps(d, JSON_COMPACT);
                        fail_msg("deliveries %s, want %lld delivered and %lld "
                                 "failed (waited at most %d ms)",
                                 text, (long long)delivered, (long long)failed,
                                 timeout_ms);
                }
                json_decref(st);
                sleep_ms(200);
        }
}

/* The delivery of channel `channel` in history `h` (exactly one). */
static json_t *
delivery_of(json_t *h, const char *channel)
{
        json_t *d, *found = NULL;
        size_t i;

        json_array_foreach(h, i, d)
        {
                if (strcmp(jstr(d, "channel"), channel) != 0)
                        continue;
                if (found != NULL)
                        fail_msg("two deliveries to '%s'", channel);
                found = d;
        }
        if (found == NULL)
                fail_msg("no delivery to '%s' in history", channel);
        return found;
}

/* --- What the sink saw --------------------------------------------------- */

/* The requests whose path starts with `prefix` (NULL: all), in log
 * order; whole lines only. New array. */
static json_t *
sink_requests(struct fx *f, const char *prefix)
{
        json_t *all = jsonl_records(f->sinklog), *out = json_array(), *r;
        size_t i;

        json_array_foreach(all, i, r)
        {
                if (prefix == NULL ||
                    strncmp(jstr(r, "path"), prefix, strlen(prefix)) == 0)
                        json_array_append(out, r);
        }
        json_decref(all);
        return out;
}

/* Waits until the sink has seen `n` requests under `prefix`. */
static json_t *
wait_requests(struct fx *f, const char *prefix, size_t n, int timeout_ms)
{
        long long until = mono_ms() + timeout_ms;

        for (;;) {
                json_t *reqs = sink_requests(f, prefix);

                if (json_array_size(reqs) >= n)
                        return reqs;
                if (mono_ms() > until)
                        fail_msg("httpsink saw %zu requests under '%s', not "
                                 "%zu, within %d ms",
                                 json_array_size(reqs), prefix, n, timeout_ms);
                json_decref(reqs);
                sleep_ms(50);
        }
}

static const char *
header(json_t *req, const char *name)
{
        return jstr(jobj(req, "headers"), name);
}

/* The request's body parsed; it must be a JSON object. New reference. */
static json_t *
body_of(json_t *req)
{
        json_error_t err;
        json_t *b = json_loads(jstr(req, "body"), 0, &err);

        if (!json_is_object(b))
                fail_msg("request to %s: body is not a JSON object (%s)",
                         jstr(req, "path"), err.text);
        return b;
}

/*
 * Checks the Standard Webhooks headers of `req` for delivery `id`:
 * webhook-id is the id, webhook-timestamp is this test's time, and
 * webhook-signature is "v1," and the base64 HMAC-SHA256 of
 * "id.timestamp.body" under the key the test wrote.
 */
static void
check_signature(struct fx *f, json_t *req, const char *id)
{
        const char *ts = header(req, "webhook-timestamp");
        const char *body = jstr(req, "body");
        crypto_auth_hmacsha256_state st;
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
                                           sodium_base64_VARIANT_ORIGINAL)];
        char want[sizeof(b64) + 3];
        long long t;
        char *end;

        assert_string_equal(header(req, "webhook-id"), id);
        t = strtoll(ts, &end, 10);
        if (*ts == '\0' || *end != '\0' || t < (long long)f->t0 - 1 ||
            t > (long long)time(NULL) + 1)
                fail_msg("webhook-timestamp '%s' is not a time of this test",
                         ts);
        crypto_auth_hmacsha256_init(&st, f->secret, sizeof(f->secret));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)id,
                                      strlen(id));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts,
                                      strlen(ts));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body,
                                      strlen(body));
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(want, sizeof(want), "v1,%s", b64);
        assert_string_equal(header(req, "webhook-signature"), want);
}

/* Every request of `reqs` is a POST of JSON keyed with `id`. */
static void
check_keys(json_t *reqs, const char *id)
{
        json_t *r;
        size_t i;

        json_array_foreach(reqs, i, r)
        {
                assert_string_equal(jstr(r, "method"), "POST");
                assert_string_equal(header(r, "content-type"),
                                    "application/json");
                assert_string_equal(header(r, "idempotency-key"), id);
        }
}

/*
 * The deliveries of bulk events for the first `nschools` bulk schools:
 * history holds exactly one per (school, offset, channel) the config
 * implies, all delivered; the sink saw each at least once, and every
 * request for it carries its id as idempotency key and webhook-id, its
 * own school and offset, and a valid signature. Returns how many the sink
 * saw more than once; *seen (may be NULL) gets an object id -> count.
 */
static int
check_bulk(struct fx *f, int nschools, json_t **seen)
{
        json_t *h = history(f), *reqs = sink_requests(f, "/bulk/");
        json_t *ids = json_object(), *count = json_object(), *d, *r;
        int want = nschools * BULK_PER_EVENT, dups = 0;
        char key[64], off[16];
        const char *k;
        size_t i;

        assert_int_equal(json_array_size(h), want);
        /* What the config implies, each tuple once. */
        for (int s = 0; s < nschools; s++)
                for (int a = 0; a < BULK_ALERTS; a++)
                        for (int c = 0; c < BULK_CHANNELS; c++) {
                                bulk_offset(a, off);
                                snprintf(key, sizeof(key), "%d %s bulk%d",
                                         BULK_URN0 + s, off, c);
                                json_object_set_new(ids, key, json_null());
                        }
        json_array_foreach(h, i, d)
        {
                snprintf(key, sizeof(key), "%s %s %s", jstr(d, "school"),
                         jstr(d, "offset"), jstr(d, "channel"));
                if (!json_is_null(json_object_get(ids, key)))
                        fail_msg("history has '%s' twice or unexpected", key);
                assert_string_equal(jstr(d, "rule"), "bulk");
                assert_string_equal(jstr(d, "status"), "delivered");
                json_object_set(ids, key, member(d, "id"));
                json_object_set_new(count, jstr(d, "id"), json_integer(0));
        }
        json_array_foreach(reqs, i, r)
        {
                const char *path = jstr(r, "path"), *id;
                json_t *b = body_of(r);

                snprintf(key, sizeof(key), "%s %s bulk%s",
                         jstr(jobj(b, "school"), "urn"), jstr(b, "offset"),
                         path + strlen("/bulk/"));
                if (!json_is_string(json_object_get(ids, key)))
                        fail_msg("the sink got '%s' (%s), which history does "
                                 "not hold",
                                 key, path);
                id = json_string_value(json_object_get(ids, key));
                assert_string_equal(jstr(r, "method"), "POST");
                assert_string_equal(header(r, "idempotency-key"), id);
                assert_string_equal(jstr(b, "delivery"), id);
                check_signature(f, r, id);
                json_object_set_new(count, id,
                                    json_integer(jint(count, id) + 1));
                json_decref(b);
        }
        json_object_foreach(count, k, d)
        {
                if (json_integer_value(d) < 1)
                        fail_msg("delivery %s never reached the sink", k);
                dups += json_integer_value(d) > 1;
        }
        fprintf(stderr,
                "# %d deliveries, %zu requests, %d seen more than once\n", want,
                json_array_size(reqs), dups);
        if (seen != NULL)
                *seen = json_incref(count);
        json_decref(count);
        json_decref(ids);
        json_decref(reqs);
        json_decref(h);
        return dups;
}

/* --- Fixture ----------------------------------------------------------- */

/* Starts the sink and reads its port; 0 or -1. */
static int
sink_start(struct fx *f)
{
        return itest_httpsink_start(HTTPSINK_BINARY, f->portfile, f->sinklog,
                                    f->script, f->sinkerr, &f->sink, &f->port);
}

static int
setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        struct fx *f = calloc(1, sizeof(*f));
        char sub[192];

        if (f == NULL || sodium_init() < 0)
                return -1;
        f->sink = f->smtp = f->daemon = -1;
        for (int i = 0; i < NWORKERS; i++)
                f->worker[i] = -1;
        *state = f;
        /* ipc and AF_UNIX paths must stay short. */
        if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 60)
                tmp = "/tmp";
        snprintf(f->dir, sizeof(f->dir), "%s/test_delivery.XXXXXX", tmp);
        if (mkdtemp(f->dir) == NULL)
                return -1;
        snprintf(f->conf, sizeof(f->conf), "%s/delivery.conf", f->dir);
        snprintf(f->key, sizeof(f->key), "%s/webhook.key", f->dir);
        snprintf(f->sinklog, sizeof(f->sinklog), "%s/sink.jsonl", f->dir);
        snprintf(f->sinkerr, sizeof(f->sinkerr), "%s/sink.err", f->dir);
        snprintf(f->script, sizeof(f->script), "%s/sink.script", f->dir);
        snprintf(f->portfile, sizeof(f->portfile), "%s/sink.port", f->dir);
        snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
        snprintf(f->smtperr, sizeof(f->smtperr), "%s/smtp.err", f->dir);
        snprintf(f->smtpscript, sizeof(f->smtpscript), "%s/smtp.script",
                 f->dir);
        snprintf(f->smtpportfile, sizeof(f->smtpportfile), "%s/smtp.port",
                 f->dir);
        snprintf(f->dlog, sizeof(f->dlog), "%s/daemon.log", f->dir);
        for (int i = 0; i < NWORKERS; i++)
                snprintf(f->wlog[i], sizeof(f->wlog[i]), "%s/worker%d.log",
                         f->dir, i);
        snprintf(f->env_state, sizeof(f->env_state), "STATE_DIRECTORY=%s/state",
                 f->dir);
        snprintf(f->env_run, sizeof(f->env_run), "RUNTIME_DIRECTORY=%s/run",
                 f->dir);
        snprintf(sub, sizeof(sub), "%s/state", f->dir);
        if (mkdir(sub, 0700) < 0)
                return -1;
        snprintf(sub, sizeof(sub), "%s/run", f->dir);
        if (mkdir(sub, 0700) < 0)
                return -1;
        if (sink_start(f) < 0)
                return -1;
        write_key(f);
        write_conf(f);
        f->t0 = time(NULL);
        return 0;
}

/* Kills what still runs; shows the logs when the test failed. */
static int
teardown(void **state)
{
        struct fx *f = *state;

        for (int i = 0; i < NWORKERS; i++) {
                if (f->worker[i] > 0)
                        proc_stop(f->worker[i], SIGKILL);
        }
        if (f->daemon > 0)
                proc_stop(f->daemon, SIGKILL);
        if (f->sink > 0)
                proc_stop(f->sink, SIGKILL);
        if (f->smtp > 0)
                proc_stop(f->smtp, SIGKILL);
        if (!f->passed) {
                itest_show_log(f->dlog, 32768);
                for (int i = 0; i < NWORKERS; i++)
                        itest_show_log(f->wlog[i], 16384);
                itest_show_log(f->sinkerr, 4096);
                itest_show_log(f->sinklog, 8192);
                if (access(f->smtperr, F_OK) == 0)
                        itest_show_log(f->smtperr, 4096);
        }
        itest_rmtree(f->dir);
        free(f);
        return 0;
}

/* --- Payload shapes, as each service documents them ------------------- */

/* What every flavour's message must say: from the config and the event. */
struct expect {
        const char *id;   /* the delivery, from history */
        const char *due;  /* the deadline, from the planner */
        char due_utc[32]; /* the same in UTC */
        time_t at;        /* the event */
        time_t recorded;  /* when the test had recorded it */
};

/*
 * Teams (Workflows webhook): {"type": "message", "attachments": [{
 * "contentType": "application/vnd.microsoft.card.adaptive", "content":
 * an AdaptiveCard}]}; the card's body holds TextBlocks and a FactSet.
 */
static void
check_teams(json_t *b, const struct expect *e)
{
        json_t *att, *card, *el, *fact;
        size_t i, j;
        bool title = false, facts = false, contact = false;

        (void)e;
        assert_string_equal(jstr(b, "type"), "message");
        assert_int_equal(json_array_size(jarr(b, "attachments")), 1);
        att = json_array_get(jarr(b, "attachments"), 0);
        assert_string_equal(jstr(att, "contentType"),
                            "application/vnd.microsoft.card.adaptive");
        if (json_object_get(att, "contentUrl") != NULL)
                assert_true(json_is_null(json_object_get(att, "contentUrl")));
        card = jobj(att, "content");
        assert_string_equal(jstr(card, "type"), "AdaptiveCard");
        assert_true(strncmp(jstr(card, "version"), "1.", 2) == 0);
        assert_true(json_array_size(jarr(card, "body")) >= 2);
        json_array_foreach(jarr(card, "body"), i, el)
        {
                const char *type = jstr(el, "type");

                if (strcmp(type, "TextBlock") == 0) {
                        const char *text = jstr(el, "text");

                        title = title || (strstr(text, NAME_ALL) != NULL &&
                                          strstr(text, "drill") != NULL);
                } else if (strcmp(type, "FactSet") == 0) {
                        assert_true(json_array_size(jarr(el, "facts")) > 0);
                        json_array_foreach(jarr(el, "facts"), j, fact)
                        {
                                const char *v = jstr(fact, "value");

                                assert_true(strlen(jstr(fact, "title")) > 0);
                                facts = facts || (strstr(v, NAME_ALL) != NULL &&
                                                  strstr(v, URN_ALL) != NULL);
                                contact = contact || strcmp(v, CONTACT) == 0;
                        }
                } else {
                        fail_msg("Teams card element of type '%s'", type);
                }
        }
        assert_true(title);
        assert_true(facts);
        assert_true(contact);
}

/*
 * Google Chat: {"text", "cardsV2": [{"cardId", "card": {"header":
 * {"title"}, "sections": [{"widgets": [...]}]}}]}.
 */
static void
check_google_chat(json_t *b, const struct expect *e)
{
        json_t *cards, *card, *sec, *w;
        size_t i, j;
        bool school = false;

        (void)e;
        assert_contains(jstr(b, "text"), ACTION);
        cards = jarr(b, "cardsV2");
        assert_int_equal(json_array_size(cards), 1);
        assert_true(strlen(jstr(json_array_get(cards, 0), "cardId")) > 0);
        card = jobj(json_array_get(cards, 0), "card");
        assert_contains(jstr(jobj(card, "header"), "title"), NAME_ALL);
        assert_true(json_array_size(jarr(card, "sections")) > 0);
        json_array_foreach(jarr(card, "sections"), i, sec)
        {
                assert_true(json_array_size(jarr(sec, "widgets")) > 0);
                json_array_foreach(jarr(sec, "widgets"), j, w)
                {
                        json_t *dt;

                        /* A widget is one kind of widget. */
                        assert_int_equal(json_object_size(w), 1);
                        dt = json_object_get(w, "decoratedText");
                        if (dt != NULL)
                                school = school ||
                                         strstr(jstr(dt, "text"), NAME_ALL);
                }
        }
        assert_true(school);
}

/*
 * Slack: {"text" (the notification fallback), "blocks": [{"type":
 * "header", "text": {"type": "plain_text", "text" (<= 150)}}, sections]}.
 */
static void
check_slack(json_t *b, const struct expect *e)
{
        json_t *blocks = jarr(b, "blocks"), *bl, *head, *fl;
        size_t i, j;

        (void)e;
        assert_contains(jstr(b, "text"), NAME_ALL);
        assert_true(json_array_size(blocks) >= 2 &&
                    json_array_size(blocks) <= 50);
        bl = json_array_get(blocks, 0);
        assert_string_equal(jstr(bl, "type"), "header");
        head = jobj(bl, "text");
        assert_string_equal(jstr(head, "type"), "plain_text");
        assert_contains(jstr(head, "text"), NAME_ALL);
        assert_true(chars(jstr(head, "text")) <= 150);
        json_array_foreach(blocks, i, bl)
        {
                if (i == 0)
                        continue;
                assert_string_equal(jstr(bl, "type"), "section");
                if (json_object_get(bl, "text") != NULL) {
                        assert_string_equal(jstr(jobj(bl, "text"), "type"),
                                            "mrkdwn");
                        assert_true(chars(jstr(jobj(bl, "text"), "text")) <=
                                    3000);
                        continue;
                }
                assert_true(json_array_size(jarr(bl, "fields")) <= 10);
                json_array_foreach(jarr(bl, "fields"), j, fl)
                {
                        assert_string_equal(jstr(fl, "type"), "mrkdwn");
                        assert_true(chars(jstr(fl, "text")) <= 2000);
                }
        }
}

/*
 * Discord (execute webhook, ?wait=true): {"content" (<= 2000), "embeds":
 * [{"title" (<= 256), ...}], "allowed_mentions": {"parse": []}}.
 */
static void
check_discord(json_t *b, const struct expect *e)
{
        json_t *embeds = jarr(b, "embeds"), *em, *fl, *ts;
        size_t i;

        assert_contains(jstr(b, "content"), NAME_ALL);
        assert_true(chars(jstr(b, "content")) <= 2000);
        assert_true(json_array_size(embeds) >= 1 &&
                    json_array_size(embeds) <= 10);
        em = json_array_get(embeds, 0);
        assert_contains(jstr(em, "title"), NAME_ALL);
        assert_true(chars(jstr(em, "title")) <= 256);
        if (json_object_get(em, "description") != NULL)
                assert_true(chars(jstr(em, "description")) <= 4096);
        if (json_object_get(em, "fields") != NULL) {
                assert_true(json_array_size(jarr(em, "fields")) <= 25);
                json_array_foreach(jarr(em, "fields"), i, fl)
                {
                        assert_true(chars(jstr(fl, "name")) <= 256);
                        assert_true(chars(jstr(fl, "value")) <= 1024);
                }
        }
        ts = json_object_get(em, "timestamp");
        if (ts != NULL)
                assert_true(rfc3339(json_string_value(ts)) ==
                            rfc3339(e->due_utc));
        assert_true(json_is_array(jarr(jobj(b, "allowed_mentions"), "parse")));
        assert_int_equal(
            json_array_size(jarr(jobj(b, "allowed_mentions"), "parse")), 0);
}

/* Mattermost: {"text": markdown}. */
static void
check_mattermost(json_t *b, const struct expect *e)
{
        const char *text = jstr(b, "text");

        (void)e;
        assert_contains(text, NAME_ALL);
        assert_contains(text, URN_ALL);
        assert_contains(text, "drill");
        assert_contains(text, ACTION);
        assert_contains(text, CONTACT);
        assert_true(chars(text) <= 4000);
}

/* The generic webhook: the alert itself, as README documents it. */
static void
check_webhook(json_t *b, const struct expect *e)
{
        json_t *dl = jobj(b, "deadline");

        assert_string_equal(jstr(b, "type"), "ofsted_notify.alert");
        assert_string_equal(jstr(b, "delivery"), e->id);
        assert_int_equal(jint(b, "attempt"), 1);
        assert_string_equal(jstr(b, "trust"), TRUST);
        assert_string_equal(jstr(jobj(b, "school"), "urn"), URN_ALL);
        assert_string_equal(jstr(jobj(b, "school"), "name"), NAME_ALL);
        assert_string_equal(jstr(b, "rule"), "drill");
        assert_string_equal(jstr(b, "offset"), "event");
        assert_true(json_is_false(member(b, "late")));
        assert_string_equal(jstr(b, "action"), ACTION);
        assert_string_equal(jstr(b, "contact"), CONTACT);
        /* The alert's time: the event's, or its recording's if later. */
        assert_true(rfc3339(jstr(b, "timestamp")) >= (int64_t)e->at);
        assert_true(rfc3339(jstr(b, "timestamp")) <= (int64_t)e->recorded);
        assert_string_equal(jstr(dl, "local"), e->due);
        assert_string_equal(jstr(dl, "utc"), e->due_utc);
        assert_true(strlen(jstr(dl, "human")) > 0);
        assert_true(json_is_null(member(b, "opens")));
        assert_contains(jstr(b, "title"), NAME_ALL);
        assert_contains(jstr(b, "text"), ACTION);
}

/* --- The tests --------------------------------------------------------- */

/*
 * One alert to a channel of every type: each service receives one POST
 * of the shape it documents, keyed with the delivery id history shows;
 * the generic webhook's signature verifies under the test's key.
 */
static void
test_flavours(void **state)
{
        static void (*const check[NFLAVOURS])(json_t *,
                                              const struct expect *) = {
                check_teams,   check_google_chat, check_slack,
                check_discord, check_mattermost,  check_webhook,
        };
        struct fx *f = *state;
        struct expect e = { 0 };
        char at[32], want_path[64];
        json_t *plan, *h, *reqs, *d, *dl = NULL;
        size_t i;

        e.at = time(NULL);
        utc_text(e.at, at);
        daemon_start(f);
        worker_start(f, 0, NULL, 1);
        plan =
            ctl_json(f, "plan", "--event", "drill", "--at", at, "--json", NULL);
        assert_int_equal(json_array_size(jarr(plan, "deadlines")), 1);
        dl = json_array_get(jarr(plan, "deadlines"), 0);
        assert_string_equal(jstr(dl, "rule"), "drill");
        e.due = jstr(dl, "due");
        utc_text((time_t)rfc3339(e.due), e.due_utc);

        record(f, "drill", URN_ALL, at);
        e.recorded = time(NULL);
        wait_settled(f, NFLAVOURS, 0, WAIT_MS);

        h = history(f);
        assert_int_equal(json_array_size(h), NFLAVOURS);
        reqs = sink_requests(f, NULL);
        assert_int_equal(json_array_size(reqs), NFLAVOURS);
        for (size_t k = 0; k < NFLAVOURS; k++) {
                json_t *one = json_array(), *r, *b;

                d = delivery_of(h, flavours[k]);
                assert_string_equal(jstr(d, "type"), flavours[k]);
                assert_string_equal(jstr(d, "school"), URN_ALL);
                assert_string_equal(jstr(d, "rule"), "drill");
                assert_string_equal(jstr(d, "offset"), "event");
                assert_string_equal(jstr(d, "status"), "delivered");
                assert_int_equal(jint(d, "attempts"), 1);
                e.id = jstr(d, "id");
                /* Discord wants ?wait=true to report errors. */
                snprintf(want_path, sizeof(want_path), "/%s%s", flavours[k],
                         strcmp(flavours[k], "discord") == 0 ? "?wait=true"
                                                             : "");
                json_array_foreach(reqs, i, r)
                {
                        if (strcmp(jstr(r, "path"), want_path) == 0)
                                json_array_append(one, r);
                }
                if (json_array_size(one) != 1)
                        fail_msg("%zu requests to %s, not 1",
                                 json_array_size(one), want_path);
                check_keys(one, e.id);
                r = json_array_get(one, 0);
                b = body_of(r);
                check[k](b, &e);
                if (strcmp(flavours[k], "webhook") == 0)
                        check_signature(f, r, e.id);
                json_decref(b);
                json_decref(one);
        }
        json_decref(reqs);
        json_decref(h);
        json_decref(plan);
        stop_all(f);
        f->passed = true;
}

/*
 * Sets the sink's script, starts the daemon and one worker (`timeout`:
 * its --timeout, NULL for the default) and records a drill for URN_SOLO,
 * whose one channel is "solo" at SOLO_PATH.
 */
static void
solo_start(struct fx *f, const char *script, const char *timeout)
{
        char at[32];

        sink_script(f, script);
        daemon_start(f);
        worker_start(f, 0, timeout, 1);
        utc_text(time(NULL), at);
        record(f, "drill", URN_SOLO, at);
}

/*
 * Waits at most timeout_ms until the one delivery settles as `status`;
 * returns its history entry (new reference). *reqs gets the sink's
 * requests to SOLO_PATH, all checked to carry its id as key and a valid
 * signature.
 */
static json_t *
solo_settled_within(struct fx *f, const char *status, json_t **reqs,
                    int timeout_ms)
{
        json_t *h, *d, *r;
        size_t i;

        wait_settled(f, strcmp(status, "delivered") == 0,
                     strcmp(status, "failed") == 0, timeout_ms);
        h = history(f);
        assert_int_equal(json_array_size(h), 1);
        d = json_incref(delivery_of(h, "solo"));
        json_decref(h);
        assert_string_equal(jstr(d, "school"), URN_SOLO);
        assert_string_equal(jstr(d, "status"), status);
        *reqs = sink_requests(f, SOLO_PATH);
        check_keys(*reqs, jstr(d, "id"));
        json_array_foreach(*reqs, i, r)
        {
                check_signature(f, r, jstr(d, "id"));
        }
        return d;
}

/* solo_settled_within() WAIT_MS. */
static json_t *
solo_settled(struct fx *f, const char *status, json_t **reqs)
{
        return solo_settled_within(f, status, reqs, WAIT_MS);
}

/* The attempt each request's body gives must be 1, 2, ... in order. */
static void
check_attempts(json_t *reqs)
{
        json_t *r;
        size_t i;

        json_array_foreach(reqs, i, r)
        {
                json_t *b = body_of(r);

                assert_int_equal(jint(b, "attempt"), (json_int_t)i + 1);
                json_decref(b);
        }
}

/* A 500, then a 200: delivered at the second attempt, the same key twice. */
static void
test_retry_500(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;

        solo_start(f, SOLO_PATH " sequence 500,200\n", NULL);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(jint(d, "attempts"), 2);
        assert_int_equal(json_array_size(reqs), 2);
        assert_int_equal(jint(json_array_get(reqs, 0), "status"), 500);
        assert_int_equal(jint(json_array_get(reqs, 1), "status"), 200);
        check_attempts(reqs);
        json_decref(reqs);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * Pacing: three alerts at once to one Slack and one Teams channel leave
 * the scheduler at most one a second to Slack and four a second to Teams
 * (their documented limits), queued rather than failed. Only lower bounds
 * are checked: a slow machine makes the gaps longer, never shorter.
 */
static void
test_pacing(void **state)
{
        static const struct {
                const char *path;
                double gap;
        } paced[] = { { "/slack", 1.0 }, { "/teams", 0.25 } };
        struct fx *f = *state;
        char at[32];
        json_t *r, *reqs;

        utc_text(time(NULL), at);
        daemon_start(f);
        worker_start(f, 0, NULL, 1);
        r = ctl_json(f, "notify", "--school", URN_ALL, "--at", at, "--json",
                     NULL);
        json_decref(r);
        for (int i = 0; i < 3; i++) {
                r = ctl_json(f, "event", "drill", "--school", URN_ALL, "--at",
                             at, "--json", NULL);
                assert_int_equal(json_array_size(jarr(r, "scheduled")), 1);
                json_decref(r);
        }
        wait_settled(f, 3 * NFLAVOURS, 0, WAIT_MS);
        for (size_t k = 0; k < sizeof(paced) / sizeof(paced[0]); k++) {
                reqs = sink_requests(f, paced[k].path);
                assert_int_equal(json_array_size(reqs), 3);
                for (size_t i = 1; i < 3; i++) {
                        double gap =
                            json_real_value(
                                member(json_array_get(reqs, i), "time")) -
                            json_real_value(
                                member(json_array_get(reqs, i - 1), "time"));

                        /*
                         * The daemon paces when it hands jobs out; the
                         * sink sees them after the worker's own latency,
                         * which varies by a few hundred ms on a loaded
                         * machine (under ASan, say). Unpaced, they come
                         * milliseconds apart.
                         */
                        if (gap < paced[k].gap * 0.75)
                                fail_msg("%s: requests %zu and %zu came %.3f "
                                         "s apart, under its pace of %.2f s",
                                         paced[k].path, i - 1, i, gap,
                                         paced[k].gap);
                }
                json_decref(reqs);
        }
        stop_all(f);
        f->passed = true;
}

/*
 * ofsted-notifyctl test CHANNEL: a marked test alert goes through the real
 * path and the command reports its outcome: 0 when delivered, 1 with the
 * reason when the service refuses it, 1 when no worker takes it in time.
 */
static void
test_ctl_test(void **state)
{
        struct fx *f = *state;
        struct proc_result r;
        json_t *reqs;

        sink_script(f, SOLO_PATH " status 404\n");
        daemon_start(f);

        /* No worker yet: nothing settles within the timeout. */
        r = ctl(f, "test", "teams", "--timeout", "2", NULL);
        assert_int_equal(r.status, 1);
        assert_contains(r.err, "still pending");
        proc_result_free(&r);

        worker_start(f, 0, NULL, 1);
        r = ctl(f, "test", "teams", NULL);
        if (r.status != 0)
                fail_msg("test teams: exit %d: %s", r.status, r.err);
        assert_contains(r.out, "Delivered");
        proc_result_free(&r);
        reqs = wait_requests(f, "/teams", 2, WAIT_MS);
        /* Both the timed-out first test and this one arrive, marked. */
        for (size_t i = 0; i < json_array_size(reqs); i++)
                assert_contains(jstr(json_array_get(reqs, i), "body"),
                                "TEST ALERT");
        json_decref(reqs);

        r = ctl(f, "test", "solo", NULL);
        assert_int_equal(r.status, 1);
        assert_contains(r.err, "404");
        proc_result_free(&r);

        r = ctl(f, "test", "nosuchchannel", NULL);
        assert_int_equal(r.status, 1);
        assert_contains(r.err, "unknown channel 'nosuchchannel'");
        proc_result_free(&r);
        stop_all(f);
        f->passed = true;
}

/*
 * The worker run as systemd runs ofsted-notify-worker@webhook: its secret
 * only in $CREDENTIALS_DIRECTORY as the unit's LoadCredential= puts it, a
 * receiver on
 * NOTIFY_SOCKET and WATCHDOG_USEC set. It says READY, then a STATUS once
 * the scheduler speaks, pings the watchdog, signs with the credential,
 * says RELOADING then READY on SIGHUP and STOPPING on SIGTERM, and exits 0.
 */
static void
test_worker_service(void **state)
{
        struct fx *f = *state;
        char creds[224], moved[256], notify[224], env_creds[256],
            env_notify[256], line[512], at[32];
        char *argv[] = {
                WORKER_BINARY, "--kind", "webhook", "-c", f->conf, NULL
        };
        /*
         * A ping every second: the test reads the notify socket only now
         * and then, and the kernel queues only net.unix.max_dgram_qlen
         * datagrams (10 here) before the worker's sd_notify() blocks.
         */
        char *env[] = { f->env_state, f->env_run,
                        env_notify,   "WATCHDOG_USEC=2000000",
                        env_creds,    "JOURNAL_STREAM",
                        NULL };
        int fd;
        json_t *reqs, *d;

        snprintf(creds, sizeof(creds), "%s/creds", f->dir);
        /* As LoadCredential=secrets:DIR names the files of DIR. */
        snprintf(moved, sizeof(moved), "%s/secrets_webhook.key", creds);
        snprintf(notify, sizeof(notify), "%s/notify", f->dir);
        snprintf(env_creds, sizeof(env_creds), "CREDENTIALS_DIRECTORY=%s",
                 creds);
        snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", notify);
        assert_int_equal(mkdir(creds, 0700), 0);
        /* Only the credential holds the key: the config's file is gone. */
        assert_int_equal(rename(f->key, moved), 0);
        fd = proc_notify_open(notify);
        assert_true(fd >= 0);

        daemon_start(f);
        assert_int_equal(proc_start(argv, env, f->wlog[0], &f->worker[0]), 0);
        assert_int_equal(
            proc_notify_wait(fd, "READY=1", START_MS, f->worker[0], NULL, 0),
            0);
        assert_int_equal(proc_notify_wait(fd, "STATUS=delivering", START_MS,
                                          f->worker[0], line, sizeof(line)),
                         0);
        assert_contains(line, "webhook");
        /* Every second (half of WATCHDOG_USEC): want 2 in 2.5 s. */
        assert_watchdog_pings(fd, f->worker[0], 2, 2500);

        utc_text(time(NULL), at);
        record(f, "drill", URN_SOLO, at);
        d = solo_settled(f, "delivered", &reqs); /* signature checked */
        assert_int_equal(json_array_size(reqs), 1);
        json_decref(reqs);
        json_decref(d);

        assert_int_equal(kill(f->worker[0], SIGHUP), 0);
        assert_int_equal(
            proc_notify_wait(fd, "RELOADING=1", WAIT_MS, f->worker[0], NULL, 0),
            0);
        assert_int_equal(
            proc_notify_wait(fd, "READY=1", WAIT_MS, f->worker[0], NULL, 0), 0);
        assert_int_equal(
            proc_notify_wait(fd, "WATCHDOG=1", 2500, f->worker[0], NULL, 0), 0);

        assert_int_equal(kill(f->worker[0], SIGTERM), 0);
        assert_int_equal(
            proc_notify_wait(fd, "STOPPING=1", WAIT_MS, 0, NULL, 0), 0);
        assert_int_equal(worker_stop(f, 0, SIGTERM), 0);
        close(fd);
        stop_all(f);
        f->passed = true;
}

/* `ofsted-notifyctl test solo`; wants it delivered, and n requests at /solo
 * in all; returns the last (new reference). */
static json_t *
test_solo(struct fx *f, size_t n)
{
        struct proc_result r = ctl(f, "test", "solo", NULL);
        json_t *reqs, *last;

        if (r.status != 0)
                fail_msg("test solo: exit %d: %s", r.status, r.err);
        proc_result_free(&r);
        reqs = wait_requests(f, SOLO_PATH, n, WAIT_MS);
        assert_int_equal(json_array_size(reqs), n);
        last = json_incref(json_array_get(reqs, n - 1));
        json_decref(reqs);
        return last;
}

/*
 * A channel's signing key file is checked per job and read again when it
 * changed (ofsted-notify-worker(8), SECRETS): a key rewritten on disk signs
 * the next delivery, with no reload; a reload (SIGHUP) keeps it.
 */
static void
test_secret_reload(void **state)
{
        struct fx *f = *state;
        unsigned char first[KEY_BYTES];
        json_t *req;

        daemon_start(f);
        worker_start(f, 0, NULL, 1);
        req = test_solo(f, 1);
        check_signature(f, req, header(req, "webhook-id"));
        json_decref(req);

        memcpy(first, f->secret, sizeof(first));
        write_key(f);
        assert_memory_not_equal(first, f->secret, sizeof(first));
        req = test_solo(f, 2);
        check_signature(f, req, header(req, "webhook-id"));
        json_decref(req);
        wait_log(f->wlog[0],
                 "secret_file: secret file 'webhook.key' changed: read again",
                 1, WAIT_MS);

        assert_int_equal(kill(f->worker[0], SIGHUP), 0);
        wait_log(f->wlog[0], "configuration reloaded", 1, WAIT_MS);
        req = test_solo(f, 3);
        check_signature(f, req, header(req, "webhook-id"));
        json_decref(req);
        stop_all(f);
        f->passed = true;
}

/*
 * A 429 with Retry-After: 2, then a 200: the second try waits at least
 * the two seconds the server asked for (retry_base alone would be one).
 */
static void
test_retry_after(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;
        double gap;

        solo_start(f, SOLO_PATH " sequence 429,200 header Retry-After 2\n",
                   NULL);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(jint(d, "attempts"), 2);
        assert_int_equal(json_array_size(reqs), 2);
        assert_int_equal(jint(json_array_get(reqs, 0), "status"), 429);
        assert_int_equal(jint(json_array_get(reqs, 1), "status"), 200);
        gap = json_real_value(member(json_array_get(reqs, 1), "time")) -
              json_real_value(member(json_array_get(reqs, 0), "time"));
        if (gap < 2.0)
                fail_msg("the retry came %.3f s after the 429, before its "
                         "Retry-After of 2 s",
                         gap);
        check_attempts(reqs);
        json_decref(reqs);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * The server hangs past the worker's --timeout 2 on the first request:
 * that attempt is abandoned at 2 s and retried with the same key; the
 * server answers the retry, and the delivery is delivered.
 */
static void
test_timeout(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;
        double gap;

        solo_start(f, SOLO_PATH " hang 5\n", "2");
        json_decref(wait_requests(f, SOLO_PATH, 1, WAIT_MS));
        sink_script(f, NULL); /* the next request is answered at once */
        d = solo_settled(f, "delivered", &reqs);
        assert_true(json_array_size(reqs) >= 2);
        /* Each attempt is one request: no lease ran out meanwhile. */
        assert_int_equal(jint(d, "attempts"), json_array_size(reqs));
        gap = json_real_value(member(json_array_get(reqs, 1), "time")) -
              json_real_value(member(json_array_get(reqs, 0), "time"));
        if (gap < 2.0)
                fail_msg("the retry came %.3f s after the first request, "
                         "before the 2 s timeout",
                         gap);
        check_attempts(reqs);
        json_decref(reqs);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/* A 404 fails for good at once: one attempt, one request, no retry. */
static void
test_not_found(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;

        solo_start(f, SOLO_PATH " status 404\n", NULL);
        d = solo_settled(f, "failed", &reqs);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_contains(jstr(d, "last_error"), "404");
        assert_int_equal(json_array_size(reqs), 1);
        json_decref(reqs);
        /* Longer than a retry at retry_base would wait, jitter included. */
        sleep_ms(RETRY_BASE_S * 2000 + 1000);
        reqs = sink_requests(f, SOLO_PATH);
        assert_int_equal(json_array_size(reqs), 1);
        json_decref(reqs);
        wait_settled(f, 0, 1, 0);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/* When the one alert of school `urn`'s case fired, as `show` gives it. */
static time_t
fired_at(struct fx *f, const char *urn)
{
        json_t *r = ctl_json(f, "show", "--school", urn, "--json", NULL);
        json_t *alerts = jarr(jobj(r, "case"), "alerts");
        time_t t;

        assert_int_equal(json_array_size(alerts), 1);
        t = (time_t)rfc3339(jstr(json_array_get(alerts, 0), "fired"));
        json_decref(r);
        return t;
}

/* The arrival time of request i of `reqs`, on the wall clock. */
static double
req_time(json_t *reqs, size_t i)
{
        return json_real_value(member(json_array_get(reqs, i), "time"));
}

/*
 * Every answer a 500, delivery.max_attempts = 3: attempt 1 is retried
 * after retry_base (1 s, the jitter rounds away), attempt 2 after 2 s,
 * and attempt 3, the third, is the last: failed for good, "given up after
 * 3 attempts", three requests with the delivery's key and attempts 1, 2, 3.
 */
static void
test_max_attempts(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs, *st, *counts;
        char want[160];

        f->delivery = "max_attempts = 3;";
        write_conf(f);
        solo_start(f, SOLO_PATH " status 500\n", NULL);
        d = solo_settled(f, "failed", &reqs); /* keys, signatures */
        assert_int_equal(jint(d, "attempts"), 3);
        assert_true(strncmp(jstr(d, "last_error"),
                            "given up after 3 attempts: ", 27) == 0);
        assert_contains(jstr(d, "last_error"), "HTTP 500");
        assert_int_equal(json_array_size(reqs), 3);
        check_attempts(reqs);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(jint(json_array_get(reqs, i), "status"), 500);
        /* Lower bounds only: each retry waits at least its backoff. */
        if (req_time(reqs, 1) - req_time(reqs, 0) < 1.0 ||
            req_time(reqs, 2) - req_time(reqs, 1) < 2.0)
                fail_msg("the retries came %.3f s and %.3f s apart, not at "
                         "least 1 s and 2 s",
                         req_time(reqs, 1) - req_time(reqs, 0),
                         req_time(reqs, 2) - req_time(reqs, 1));
        /* Logged, with the channel. */
        snprintf(want, sizeof(want),
                 "delivery %s to 'solo' (webhook) given up after 3 attempts",
                 jstr(d, "id"));
        assert_int_equal(occurrences_in(f->dlog, want), 1);
        /* Counted since start: two retries, then given up (not failed). */
        st = ctl_json(f, "status", "--json", NULL);
        counts = jobj(st, "dispatch");
        assert_int_equal(jint(counts, "retried"), 2);
        assert_int_equal(jint(counts, "given_up"), 1);
        assert_int_equal(jint(counts, "failed"), 0);
        assert_int_equal(jint(counts, "delivered"), 0);
        assert_int_equal(jint(counts, "malformed"), 0);
        json_decref(st);
        json_decref(reqs);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

#define GIVE_UP_S     60   /* the least give_up_after the config allows */
#define RETRY_AFTER_S "30" /* what the sink asks for in Retry-After */

/*
 * delivery.give_up_after at its least, 60 s, max_attempts far off (100),
 * and every answer a 503 with Retry-After: 30. Worked out: attempt 1 at
 * the alert's firing F, answered at once: retried from the next whole
 * second plus 30 s, so attempt 2 comes at F + 31 or so, under 60 s:
 * retried again; attempt 3 comes 30 s after that, past F + 60: given up,
 * after 3 attempts. (retry_base alone, 1 s doubling, would make the count
 * depend on the jitter; 60 s is why this test takes a minute.)
 */
static void
test_give_up_after(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;
        time_t fired;

        f->delivery = "max_attempts = 100; give_up_after = 60;"; /* GIVE_UP_S */
        write_conf(f);
        solo_start(
            f, SOLO_PATH " status 503 header Retry-After " RETRY_AFTER_S "\n",
            NULL);
        d = solo_settled_within(f, "failed", &reqs,
                                (GIVE_UP_S + 2 * atoi(RETRY_AFTER_S)) * 1000);
        fired = fired_at(f, URN_SOLO);
        assert_int_equal(jint(d, "attempts"), 3);
        assert_true(strncmp(jstr(d, "last_error"),
                            "given up after 3 attempts: ", 27) == 0);
        assert_contains(jstr(d, "last_error"), "HTTP 503");
        assert_int_equal(json_array_size(reqs), 3);
        check_attempts(reqs);
        /* Not given up before: attempt 2 came, and was retried, within the
         * 60 s; given up at attempt 3, which came after them. */
        if (req_time(reqs, 1) - (double)fired >= GIVE_UP_S ||
            req_time(reqs, 2) - (double)fired < GIVE_UP_S)
                fail_msg("attempts 2 and 3 came %.3f s and %.3f s after the "
                         "alert fired, not before and after %d s",
                         req_time(reqs, 1) - (double)fired,
                         req_time(reqs, 2) - (double)fired, GIVE_UP_S);
        /* The daemon's own record: failed at least 60 s after firing. */
        assert_true(rfc3339(jstr(d, "updated")) - (int64_t)fired >= GIVE_UP_S);
        json_decref(reqs);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * Waits for the solo job's second request, sent when its lease of
 * `lease_s` ran out on a live worker, and for the daemon's log of the
 * expiry. The lease ends `lease_s` after the whole second it was taken
 * in, so more than lease_s - 1 s after the first request, less the time
 * the job took to reach the sink.
 */
static void
wait_sent_again(struct fx *f, int lease_s)
{
        json_t *reqs = wait_requests(f, SOLO_PATH, 2, WAIT_MS);

        if (req_time(reqs, 1) - req_time(reqs, 0) < lease_s - 2)
                fail_msg("sent again %.3f s after the first request, before "
                         "the lease of %d s ran out",
                         req_time(reqs, 1) - req_time(reqs, 0), lease_s);
        json_decref(reqs);
        wait_log(f->dlog, "dispatch: 1 leases expired: back to pending", 1,
                 WAIT_MS);
}

/*
 * A live worker holds a job past its lease: --timeout 25 is above
 * delivery.lease (10 s), which the worker warns of and allows, and the
 * sink answers every request 200 only after 15 s. At 10 s the daemon puts
 * the job back to pending with its lease raised ("leases expired"); the
 * first worker, stalled now, gets no jobs, so it goes to a second worker
 * with the same key: JOB attempt 2. The first request's 200 comes back at
 * 15 s, from the previous holder, while the second is still out:
 * delivered is recorded all the same (it happened): one attempt, the
 * receiver's one answer recorded. The second's 200, at 25 s, from the
 * holder of the settled delivery, changes nothing: delivered once.
 */
static void
test_lease_late_delivered(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs, *st;
        char want[160];
        double hold = 15.0;

        solo_start(f, SOLO_PATH " delay 15000\n", "25");
        wait_log(f->wlog[0], "--timeout is not below delivery.lease (10 s)", 1,
                 WAIT_MS);
        json_decref(wait_requests(f, SOLO_PATH, 1, WAIT_MS));
        worker_start(f, 1, "25", 2);
        wait_sent_again(f, LEASE_S);
        d = solo_settled(f, "delivered", &reqs);
        json_decref(reqs);
        /* Both transfers end as delivered, the second 15 s after it was
         * sent, one by each worker; then look again. */
        snprintf(want, sizeof(want), "delivery %s: delivered\n", jstr(d, "id"));
        wait_log(f->wlog[0], want, 1, WAIT_MS);
        wait_log(f->wlog[1], want, 1, WAIT_MS);
        json_decref(d);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(json_array_size(reqs), 2);
        check_attempts(reqs);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_true(json_is_null(member(d, "last_error")));
        /* Recorded when the first answer came, not the second. */
        if (rfc3339(jstr(d, "updated")) <
                (int64_t)(req_time(reqs, 0) + hold) - 1 ||
            rfc3339(jstr(d, "updated")) >= (int64_t)(req_time(reqs, 1) + hold))
                fail_msg("recorded delivered at %s, not between the first "
                         "answer (%.3f) and the second (%.3f)",
                         jstr(d, "updated"), req_time(reqs, 0) + hold,
                         req_time(reqs, 1) + hold);
        snprintf(want, sizeof(want),
                 "delivery %s to 'solo' (webhook) delivered", jstr(d, "id"));
        assert_int_equal(occurrences_in(f->dlog, want), 1);
        /* One lease ran out; no worker was lost; the first was stalled
         * until its late outcome came. */
        assert_int_equal(occurrences_in(f->dlog, "leases expired"), 1);
        assert_int_equal(occurrences_in(f->dlog, "went silent"), 0);
        assert_int_equal(occurrences_in(f->dlog, "is gone"), 0);
        assert_int_equal(occurrences_in(f->dlog, "reports again"), 1);
        st = ctl_json(f, "status", "--json", NULL);
        assert_int_equal(jint(jobj(st, "workers"), "webhook"), 2);
        assert_int_equal(json_array_size(jarr(st, "stalled")), 0);
        assert_int_equal(jint(jobj(st, "deliveries"), "delivered"), 1);
        json_decref(st);
        assert_true(proc_alive(f->worker[0]));
        assert_true(proc_alive(f->worker[1]));
        json_decref(reqs);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

#define LATE_LEASE_S 15

/*
 * As test_lease_late_delivered, but the old lease's outcome is a retry,
 * which is ignored. delivery.lease is 15 s, --timeout 30; the first
 * request gets a 500 after 20 s; the second, sent (by the second worker:
 * the first is stalled) when the lease runs out at 15 s, a 200 after
 * 10 s. So the 500 comes back at 20 s, while the second lease is out:
 * stale, ignored (no retry, no third request, no attempt counted); the
 * 200 at 25 s delivers it, before the second lease would run out at 30 s.
 */
static void
test_lease_late_retry(void **state)
{
        struct fx *f = *state;
        json_t *d, *reqs;
        char want[160], *log, *stale, *done;
        long long old_lease, new_lease;

        f->lease = LATE_LEASE_S;
        write_conf(f);
        solo_start(f, SOLO_PATH " status 500 delay 20000\n", "30");
        json_decref(wait_requests(f, SOLO_PATH, 1, WAIT_MS));
        worker_start(f, 1, "30", 2);
        sink_script(f, SOLO_PATH " delay 10000\n");
        wait_sent_again(f, LATE_LEASE_S);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(json_array_size(reqs), 2);
        assert_int_equal(jint(json_array_get(reqs, 0), "status"), 500);
        assert_int_equal(jint(json_array_get(reqs, 1), "status"), 200);
        check_attempts(reqs);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_true(json_is_null(member(d, "last_error")));

        /* The worker reported the 500 as a retry, under lease 1; the
         * daemon, at a higher lease by then, ignored it, and only then
         * took the 200 of the new lease. */
        snprintf(want, sizeof(want), "delivery %s: retry: HTTP 500",
                 jstr(d, "id"));
        assert_int_equal(occurrences_in(f->wlog[0], want), 1);
        log = slurp(f->dlog);
        snprintf(want, sizeof(want), "stale retry outcome for %s (lease ",
                 jstr(d, "id"));
        stale = strstr(log, want);
        if (stale == NULL)
                fail_msg("the daemon did not log '%s...'", want);
        if (sscanf(stale + strlen(want), "%lld, now %lld)", &old_lease,
                   &new_lease) != 2)
                fail_msg("no lease numbers after '%s'", want);
        assert_int_equal(old_lease, 1);
        assert_true(new_lease > old_lease);
        snprintf(want, sizeof(want),
                 "delivery %s to 'solo' (webhook) delivered", jstr(d, "id"));
        done = strstr(log, want);
        assert_non_null(done);
        assert_true(stale < done);
        assert_int_equal(occurrences(log, want), 1);
        assert_int_equal(occurrences(log, "leases expired"), 1);
        free(log);
        json_decref(reqs);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * Webhook and email at once: URN_BOTH's alert goes to "solo" (httpsink)
 * and to MAIL_CHANNEL (smtpsink), with one webhook worker and one email
 * worker on one daemon. Both deliveries are delivered; each sink got its
 * own once, keyed with its delivery's id; each worker delivered only the
 * one of its kind.
 */
static void
test_both_kinds(void **state)
{
        static const char *const no_args[] = { NULL };
        struct fx *f = *state;
        json_t *h, *hook, *mail, *reqs, *rec;
        char at[32], path[256], want[160], *eml;
        const char *hook_id, *mail_id;

        assert_int_equal(mkdir(f->spool, 0700), 0);
        spill(f->smtpscript, "# accept all\n");
        if (itest_smtpsink_start(SMTPSINK_PYTHON, SMTPSINK_SCRIPT,
                                 f->smtpportfile, f->spool, f->smtpscript,
                                 no_args, f->smtperr, &f->smtp,
                                 &f->smtp_port) < 0)
                fail_msg("smtpsink did not start");
        write_conf(f);
        daemon_start(f);
        worker_start(f, 0, NULL, 1);
        f->kind = "email";
        worker_start(f, 1, NULL, 1);
        f->kind = NULL;
        utc_text(time(NULL), at);
        record(f, "drill", URN_BOTH, at);
        wait_settled(f, 2, 0, WAIT_MS);

        h = history(f);
        assert_int_equal(json_array_size(h), 2);
        hook = delivery_of(h, "solo");
        mail = delivery_of(h, MAIL_CHANNEL);
        hook_id = jstr(hook, "id");
        mail_id = jstr(mail, "id");
        assert_string_not_equal(hook_id, mail_id);
        assert_string_equal(jstr(hook, "type"), "webhook");
        assert_string_equal(jstr(mail, "type"), "email");
        for (size_t i = 0; i < 2; i++) {
                json_t *d = i == 0 ? hook : mail;

                assert_string_equal(jstr(d, "school"), URN_BOTH);
                assert_string_equal(jstr(d, "status"), "delivered");
                assert_int_equal(jint(d, "attempts"), 1);
        }

        /* The HTTP sink: the webhook once, and nothing else. */
        reqs = sink_requests(f, NULL);
        assert_int_equal(json_array_size(reqs), 1);
        assert_string_equal(jstr(json_array_get(reqs, 0), "path"), SOLO_PATH);
        check_keys(reqs, hook_id);
        check_signature(f, json_array_get(reqs, 0), hook_id);
        json_decref(reqs);

        /* The SMTP sink: the email once, to the channel's address. */
        snprintf(path, sizeof(path), "%s/2.json", f->spool);
        assert_int_equal(access(path, F_OK), -1);
        snprintf(path, sizeof(path), "%s/1.json", f->spool);
        rec = json_load_file(path, 0, NULL);
        if (!json_is_object(rec))
                fail_msg("smtpsink spooled no message at %s", path);
        assert_int_equal(json_array_size(jarr(rec, "rcpt_tos")), 1);
        assert_string_equal(
            json_string_value(json_array_get(jarr(rec, "rcpt_tos"), 0)),
            MAIL_TO);
        assert_string_equal(jstr(rec, "mail_from"), MAIL_FROM);
        snprintf(want, sizeof(want), "<%s@", mail_id);
        assert_true(strncmp(jstr(rec, "message_id"), want, strlen(want)) == 0);
        json_decref(rec);
        snprintf(path, sizeof(path), "%s/1.eml", f->spool);
        eml = slurp(path);
        snprintf(want, sizeof(want), "\r\nX-Ofsted-Notify-Delivery: %s\r\n",
                 mail_id);
        assert_contains(eml, want);
        assert_contains(eml, NAME_BOTH);
        free(eml);

        /* Each worker delivered its own, and only that. */
        snprintf(want, sizeof(want), "delivery %s: delivered\n", hook_id);
        assert_int_equal(occurrences_in(f->wlog[0], want), 1);
        assert_int_equal(occurrences_in(f->wlog[1], hook_id), 0);
        snprintf(want, sizeof(want), "delivery %s: delivered\n", mail_id);
        assert_int_equal(occurrences_in(f->wlog[1], want), 1);
        assert_int_equal(occurrences_in(f->wlog[0], mail_id), 0);
        for (int i = 0; i < 2; i++)
                assert_int_equal(occurrences_in(f->wlog[i], ": delivered\n"),
                                 1);
        json_decref(h);
        stop_all(f);
        f->passed = true;
}

/* Records a bulk event for bulk schools [0, n), all ten alerts due now. */
static void
record_bulk(struct fx *f, int n)
{
        char at[32], urn[16];

        /* Within late_after: sent on time, not late. */
        utc_text(time(NULL) - 30, at);
        for (int s = 0; s < n; s++) {
                snprintf(urn, sizeof(urn), "%d", BULK_URN0 + s);
                record(f, "bulk", urn, at);
        }
}

/*
 * kill -9 of the worker with 200 deliveries on the way (credit for 250;
 * the sink holds each request 5 s): a new worker sends what the dead one
 * held once the daemon notices (silence or lease, 10 s). Every delivery
 * reaches the sink, those sent twice with the same key.
 */
static void
test_kill_worker(void **state)
{
        struct fx *f = *state;
        json_t *inflight, *seen = NULL, *r;
        double first = 1e300, killed;
        size_t i;

        sink_script(f, "/bulk/ delay 5000\n");
        daemon_start(f);
        f->credit = "250";
        worker_start(f, 0, NULL, 1);
        f->credit = NULL;
        record_bulk(f, 2);
        inflight = wait_requests(f, "/bulk/", 2 * BULK_PER_EVENT, WAIT_MS);
        assert_int_equal(json_array_size(inflight), 2 * BULK_PER_EVENT);
        assert_int_equal(worker_stop(f, 0, SIGKILL), 128 + SIGKILL);
        killed = real_s();
        /* Its connection closed: the daemon forgets it at its next
         * heartbeat, not after 10 s of silence. */
        wait_log(f->dlog, "is gone (its connection closed)", 1, WAIT_MS);
        sink_script(f, NULL);
        worker_start(f, 1, NULL, -1);
        wait_settled(f, 2 * BULK_PER_EVENT, 0, WAIT_MS);
        check_bulk(f, 2, &seen);
        json_array_foreach(inflight, i, r)
        {
                double t = json_real_value(member(r, "time"));

                first = t < first ? t : first;
        }
        /* None had its answer before the kill: each was sent again. */
        if (killed < first + 5.0) {
                json_array_foreach(inflight, i, r)
                {
                        const char *id = header(r, "idempotency-key");

                        if (jint(seen, id) < 2)
                                fail_msg("delivery %s, in flight at the "
                                         "kill, reached the sink once",
                                         id);
                }
        } else {
                fprintf(stderr,
                        "# the kill came %.1f s after the first "
                        "request: not checking the resends\n",
                        killed - first);
        }
        assert_true(proc_alive(f->worker[1]));
        json_decref(seen);
        json_decref(inflight);
        stop_all(f);
        f->passed = true;
}

/*
 * Fails if more than `max` of `reqs` overlapped: the sink holds each
 * request `hold` seconds before it answers, so the requests that arrived
 * in the `hold` seconds up to one (itself included) were all still open
 * when it arrived.
 */
static void
check_overlap(json_t *reqs, double hold, size_t max)
{
        json_t *r, *q;
        size_t i, j;

        json_array_foreach(reqs, i, r)
        {
                double t = json_real_value(member(r, "time"));
                size_t open = 0;

                json_array_foreach(reqs, j, q)
                {
                        double u = json_real_value(member(q, "time"));

                        open += u > t - hold && u <= t;
                }
                if (open > max)
                        fail_msg("at least %zu requests open at once, "
                                 "over the worker's credit of %zu",
                                 open, max);
        }
}

/*
 * kill -9 of the daemon with 100 deliveries on the way (the sink holds
 * each request 5 s): restarted on the same state, it takes the running
 * worker's outcomes, says HELLO, the worker says READY again (offering
 * only the credit it has left), and everything ends delivered.
 */
static void
test_kill_daemon(void **state)
{
        struct fx *f = *state;
        json_t *reqs;
        pid_t worker;

        sink_script(f, "/bulk/ delay 5000\n");
        daemon_start(f);
        worker_start(f, 0, NULL, 1);
        worker = f->worker[0];
        record_bulk(f, 1);
        json_decref(wait_requests(f, "/bulk/", BULK_PER_EVENT / 2, WAIT_MS));
        assert_int_equal(daemon_stop(f, SIGKILL), 128 + SIGKILL);
        daemon_start(f);
        /* The only worker there is, registered with the new daemon. */
        wait_workers(f, "webhook", 1);
        wait_settled(f, BULK_PER_EVENT, 0, WAIT_MS);
        check_bulk(f, 1, NULL);
        reqs = sink_requests(f, "/bulk/");
        check_overlap(reqs, 5.0, (size_t)atoi(WORKER_CREDIT));
        json_decref(reqs);
        assert_int_equal(f->worker[0], worker);
        assert_true(proc_alive(worker));
        stop_all(f);
        f->passed = true;
}

/*
 * Two workers share 1,000 deliveries; one is killed halfway. The other
 * carries on, takes what the dead one held once the daemon notices, and
 * all 1,000 are delivered.
 */
static void
test_two_workers(void **state)
{
        struct fx *f = *state;
        int total = BULK_SCHOOLS * BULK_PER_EVENT, before, after;
        struct proc_result r;
        char *log;

        sink_script(f, "/bulk/ delay 1000\n");
        daemon_start(f);
        worker_start(f, 0, NULL, 1);
        worker_start(f, 1, NULL, 2);
        /* The admin's view says who is connected. */
        r = ctl(f, "status", NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, "\nWorkers:    webhook 2, email 0\n");
        proc_result_free(&r);
        record_bulk(f, BULK_SCHOOLS);
        json_decref(wait_requests(f, "/bulk/", (size_t)total / 2, WAIT_MS));
        assert_int_equal(worker_stop(f, 0, SIGKILL), 128 + SIGKILL);
        log = slurp(f->wlog[1]);
        before = occurrences(log, ": delivered\n");
        free(log);
        wait_settled(f, total, 0, WAIT_MS);
        check_bulk(f, BULK_SCHOOLS, NULL);
        assert_true(proc_alive(f->worker[1]));
        log = slurp(f->wlog[1]);
        after = occurrences(log, ": delivered\n");
        free(log);
        fprintf(stderr,
                "# the surviving worker delivered %d before the kill, "
                "%d after\n",
                before, after - before);
        assert_true(after > before);
        stop_all(f);
        f->passed = true;
}

/* --- Foreign and broken peers ------------------------------------------ */

static void *
dealer(void *ctx, const char *endpoint, const char *id)
{
        void *s = zmq_socket(ctx, ZMQ_DEALER);
        int zero = 0;

        assert_non_null(s);
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        assert_int_equal(zmq_connect(s, endpoint), 0);
        return s;
}

/* One frame of a message to send: len 0 means strlen(data). */
struct frame {
        const char *data;
        size_t len;
};

static void
send_frames(void *s, const struct frame *fr, int n)
{
        for (int i = 0; i < n; i++) {
                size_t len = fr[i].len ? fr[i].len : strlen(fr[i].data);

                if (zmq_send(s, fr[i].data, len, i < n - 1 ? ZMQ_SNDMORE : 0) <
                    0)
                        fail_msg("zmq_send: %s", zmq_strerror(zmq_errno()));
        }
}

/*
 * Receives one message within timeout_ms: its frames as strings into
 * out[max] (caller frees). Returns how many frames; 0 when none came.
 */
static int
recv_frames(void *s, char **out, int max, int timeout_ms)
{
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        long long until = mono_ms() + timeout_ms;
        int n = 0, more = 1;
        size_t len = sizeof(more);

        while (!(it.revents & ZMQ_POLLIN)) {
                long long left = until - mono_ms();

                if (left <= 0)
                        return 0;
                if (zmq_poll(&it, 1, (long)left) < 0 && zmq_errno() != EINTR)
                        fail_msg("zmq_poll: %s", zmq_strerror(zmq_errno()));
        }
        while (more) {
                zmq_msg_t m;

                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, s, 0) < 0) {
                        zmq_msg_close(&m);
                        break;
                }
                if (n < max)
                        out[n++] = strndup(zmq_msg_data(&m), zmq_msg_size(&m));
                zmq_msg_close(&m);
                zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len);
        }
        return n;
}

static void
frames_free(char **frames, int n)
{
        for (int i = 0; i < n; i++)
                free(frames[i]);
}

/*
 * A peer speaking another protocol version is refused; peers sending
 * garbage (wrong frame counts, bodies that are no JSON object, bad READY
 * fields, unknown types, a frame over the size limit) get nothing back
 * and register nothing; the daemon keeps running and still dispatches.
 */
static void
test_foreign_peers(void **state)
{
        static const struct frame junk[][7] = {
                { { "\x00\xff\xfe junk", 8 } },
                { { DPROTO_ID, 0 },
                  { "READY", 0 },
                  { "{}", 0 },
                  { "x", 0 },
                  { "y", 0 },
                  { "z", 0 },
                  { "w", 0 } },
                { { DPROTO_ID, 0 }, { "READY", 0 }, { "not json {", 0 } },
                { { DPROTO_ID, 0 }, { "READY", 0 }, { "[1, 2]", 0 } },
                { { DPROTO_ID, 0 },
                  { "READY", 0 },
                  { "{\"kind\": \"fax\", \"credit\": 5}", 0 } },
                { { DPROTO_ID, 0 },
                  { "READY", 0 },
                  { "{\"kind\": \"webhook\", \"credit\": 100000}", 0 } },
                { { DPROTO_ID, 0 },
                  { "READY", 0 },
                  { "{\"kind\": \"webhook\", \"credit\": \"many\"}", 0 } },
                { { DPROTO_ID, 0 }, { "READY", 0 } },
                { { DPROTO_ID, 0 }, { "NONSENSE", 0 }, { "{}", 0 } },
                { { DPROTO_ID, 0 }, { "\xff\xfe", 2 }, { "\x00{", 2 } },
        };
        static const int njunk[] = { 1, 7, 3, 3, 3, 3, 3, 2, 3, 3 };
        static const struct frame v9[] = { { "ofsted-notify-dispatch/9", 0 },
                                           { "READY", 0 },
                                           { "{}", 0 } };
        static const struct frame beat[] = { { DPROTO_ID, 0 },
                                             { "HEARTBEAT", 0 },
                                             { "{\"credit\": 1}", 0 } };
        struct fx *f = *state;
        void *ctx = zmq_ctx_new(), *old, *bad, *big;
        char endpoint[256], at[32], *got[4], *huge;
        json_t *body, *d, *reqs, *st;
        struct proc_result r;
        int n;

        assert_non_null(ctx);
        daemon_start(f);
        snprintf(endpoint, sizeof(endpoint), "ipc://%s/run/dispatch.sock",
                 f->dir);

        old = dealer(ctx, endpoint, "test/old-version");
        send_frames(old, v9, 3);
        n = recv_frames(old, got, 4, WAIT_MS);
        assert_int_equal(n, 3);
        assert_string_equal(got[0], DPROTO_ID);
        assert_string_equal(got[1], "REFUSE");
        body = json_loads(got[2], 0, NULL);
        assert_true(json_is_object(body));
        assert_true(strlen(jstr(body, "error")) > 0);
        json_decref(body);
        frames_free(got, n);

        /*
         * The junk, then a heartbeat, which a peer the daemon does not know
         * gets a HELLO for. The daemon reads one peer's messages in order:
         * if HELLO is the first answer, none of the junk got one.
         */
        bad = dealer(ctx, endpoint, "test/junk");
        for (size_t i = 0; i < sizeof(njunk) / sizeof(njunk[0]); i++)
                send_frames(bad, junk[i], njunk[i]);
        send_frames(bad, beat, 3);
        n = recv_frames(bad, got, 4, WAIT_MS);
        assert_int_equal(n, 3);
        assert_string_equal(got[0], DPROTO_ID);
        assert_string_equal(got[1], "HELLO");
        frames_free(got, n);
        n = recv_frames(bad, got, 4, 200);
        frames_free(got, n);
        assert_int_equal(n, 0);

        /* Over the daemon's message size limit: the peer is cut off. */
        huge = calloc(1, 2 << 20);
        assert_non_null(huge);
        big = dealer(ctx, endpoint, "test/huge");
        send_frames(big,
                    (const struct frame[]){
                        { DPROTO_ID, 0 }, { "READY", 0 }, { huge, 2 << 20 } },
                    3);
        n = recv_frames(big, got, 4, 1000);
        frames_free(got, n);
        assert_int_equal(n, 0);
        free(huge);
        zmq_close(old);
        zmq_close(bad);
        zmq_close(big);
        zmq_ctx_term(ctx);

        /* Still running, nothing registered, and it still dispatches. */
        assert_true(proc_alive(f->daemon));
        wait_workers(f, "webhook", 0);
        sink_script(f, NULL);
        worker_start(f, 0, NULL, 1);
        utc_text(time(NULL), at);
        record(f, "drill", URN_SOLO, at);
        d = solo_settled(f, "delivered", &reqs);
        assert_int_equal(json_array_size(reqs), 1);
        json_decref(reqs);
        json_decref(d);
        /* Each of the ten junk messages was counted; the old version's
         * READY was refused, and the huge one never reached the daemon. */
        st = ctl_json(f, "status", "--json", NULL);
        assert_int_equal(jint(jobj(st, "dispatch"), "malformed"), 10);
        assert_int_equal(jint(jobj(st, "dispatch"), "delivered"), 1);
        json_decref(st);
        r = ctl(f, "status", NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, "\nOutcomes:   delivered 1, retried 0, failed "
                               "0, given up 0 (since start)\n");
        assert_contains(r.out, "\nMalformed:  10 messages from workers "
                               "dropped (since start)\n");
        proc_result_free(&r);
        stop_all(f);
        f->passed = true;
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_flavours, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pacing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ctl_test, setup, teardown),
                cmocka_unit_test_setup_teardown(test_secret_reload, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_worker_service, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_retry_500, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_retry_after, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_found, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_max_attempts, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_give_up_after, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_lease_late_delivered,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_lease_late_retry, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_both_kinds, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_kill_worker, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_kill_daemon, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_two_workers, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_foreign_peers, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
