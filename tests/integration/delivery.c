/*
 * delivery: the world of the delivery tests (test_delivery_*.c), see
 * delivery.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "delivery.h"

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

/* How many times `needle` occurs in `s`. */
int
occurrences(const char *s, const char *needle)
{
        int n = 0;

        for (const char *p = strstr(s, needle); p != NULL;
             p = strstr(p + 1, needle))
                n++;
        return n;
}

/* One channel of each webhook type, named after it, at /<type>. */
const char *const flavours[6] = {
        "teams", "google_chat", "slack", "discord", "mattermost", "webhook",
};

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
void
write_conf(struct fx *f)
{
        struct cluster_conf k = {
                .trust = TRUST,
                .retry_base = RETRY_BASE_S,
                .lease = f->lease > 0 ? f->lease : LEASE_S,
                .delivery = f->delivery != NULL ? f->delivery : "",
                .daemon = f->daemon,
        };
        FILE *fp = cluster_conf_begin(&f->c, &k);
        const char *sep;

        if (f->c.smtp_port > 0)
                fprintf(fp,
                        "email = { smtp = \"smtp://127.0.0.1:%d\"; "
                        "tls = \"none\";\n  from = \"%s\"; };\n",
                        f->c.smtp_port, MAIL_FROM);
        fprintf(fp, "channels = (\n");
        for (size_t i = 0; i < NFLAVOURS; i++)
                fprintf(fp,
                        "  { name = \"%s\"; type = \"%s\";\n"
                        "    url = \"http://127.0.0.1:%d/%s\";%s },\n",
                        flavours[i], flavours[i], f->c.port, flavours[i],
                        strcmp(flavours[i], "webhook") == 0
                            ? " secret_file = \"webhook.key\";"
                            : "");
        fprintf(fp,
                "  { name = \"solo\"; type = \"webhook\";\n"
                "    url = \"http://127.0.0.1:%d%s\";\n"
                "    secret_file = \"webhook.key\"; }",
                f->c.port, SOLO_PATH);
        for (int i = 0; i < BULK_CHANNELS; i++)
                fprintf(fp,
                        ",\n  { name = \"bulk%d\"; type = \"webhook\";\n"
                        "    url = \"http://127.0.0.1:%d/bulk/%d\";\n"
                        "    secret_file = \"webhook.key\"; }",
                        i, f->c.port, i);
        if (f->c.smtp_port > 0)
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
        if (f->c.smtp_port > 0)
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
        if (f->links)
                fprintf(fp, "web = { base_url = \"" LINK_BASE "\"; };\n");
        cluster_conf_end(fp);
}

/* The bulk rule's offsets, as the config lists them. */
void
bulk_offset(int i, char buf[16])
{
        if (i == 0)
                snprintf(buf, 16, "event");
        else
                snprintf(buf, 16, "+%ds", i);
}

/* A Standard Webhooks secret: "whsec_" and the base64 of random bytes. */
void
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

/*
 * Opens a case for school `urn` (no rule starts on a notification here)
 * and records event `kind` for it at `at`; checks the replies.
 */
void
record(struct fx *f, const char *kind, const char *urn, const char *at)
{
        json_t *r = cluster_ctl_json(&f->c, "notify", "--school", urn, "--at",
                                     at, "--contact", CONTACT, "--json", NULL);

        assert_string_equal(jstr(r, "state"), "open");
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 0);
        json_decref(r);
        r = cluster_ctl_json(&f->c, "event", kind, "--school", urn, "--at", at,
                             "--json", NULL);
        assert_string_equal(jstr(jobj(r, "school"), "urn"), urn);
        assert_int_equal(json_array_size(jarr(r, "scheduled")),
                         strcmp(kind, "bulk") == 0 ? BULK_ALERTS : 1);
        json_decref(r);
}

/*
 * Starts worker `slot` of kind f->kind (NULL: webhook) with `timeout`
 * ("--timeout" seconds, NULL: TRANSFER_TIMEOUT) and waits until the daemon
 * counts `registered` workers of its kind (-1: does not wait).
 */
void
worker_start(struct fx *f, int slot, const char *timeout, int registered)
{
        const char *kind = f->kind != NULL ? f->kind : "webhook";
        /* Below the lease, as the worker asks, above the sink's delays. */
        const char *args[] = {
                "--timeout", timeout != NULL ? timeout : TRANSFER_TIMEOUT,
                "--credit",  f->credit != NULL ? f->credit : WORKER_CREDIT,
                NULL,
        };

        cluster_worker_start(&f->c, slot, kind, NULL, args);
        if (registered >= 0)
                cluster_wait_workers(&f->c, kind, registered);
}

/* The delivery of channel `channel` in history `h` (exactly one). */
json_t *
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

const char *
header(json_t *req, const char *name)
{
        return jstr(jobj(req, "headers"), name);
}

/* The request's body parsed; it must be a JSON object. New reference. */
json_t *
body_of(json_t *req)
{
        char what[256];

        snprintf(what, sizeof(what), "the body of a request to %s",
                 jstr(req, "path"));
        return jparse(jstr(req, "body"), what);
}

/*
 * Checks the Standard Webhooks headers of `req` for delivery `id`:
 * webhook-id is the id, webhook-timestamp is this test's time, and
 * webhook-signature is "v1," and the base64 HMAC-SHA256 of
 * "id.timestamp.body" under the key the test wrote.
 */
void
check_signature(struct fx *f, json_t *req, const char *id)
{
        const char *ts = header(req, "webhook-timestamp");
        const char *body = jstr(req, "body");
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
                                           sodium_base64_VARIANT_ORIGINAL)];
        char want[sizeof(b64) + 3];
        long long t;
        char *end, *signed_text;
        int n;

        _Static_assert(KEY_BYTES == crypto_auth_hmacsha256_KEYBYTES,
                       "the one-shot HMAC takes the test's key as it is");
        assert_string_equal(header(req, "webhook-id"), id);
        t = strtoll(ts, &end, 10);
        if (*ts == '\0' || *end != '\0' || t < (long long)f->c.t0 - 1 ||
            t > (long long)time(NULL) + 1)
                fail_msg("webhook-timestamp '%s' is not a time of this test",
                         ts);
        /* Standard Webhooks signs "id.timestamp.body": built whole here,
         * unlike the worker, which streams the three parts. */
        n = snprintf(NULL, 0, "%s.%s.%s", id, ts, body);
        signed_text = malloc((size_t)n + 1);
        assert_non_null(signed_text);
        snprintf(signed_text, (size_t)n + 1, "%s.%s.%s", id, ts, body);
        crypto_auth_hmacsha256(mac, (const unsigned char *)signed_text,
                               (unsigned long long)n, f->secret);
        free(signed_text);
        sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(want, sizeof(want), "v1,%s", b64);
        assert_string_equal(header(req, "webhook-signature"), want);
}

/* Every request of `reqs` is a POST of JSON keyed with `id`. */
void
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
int
check_bulk(struct fx *f, int nschools, json_t **seen)
{
        json_t *h = cluster_history(&f->c),
               *reqs = cluster_sink_requests(&f->c, "/bulk/");
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

int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));

        if (f == NULL || sodium_init() < 0 ||
            cluster_init(&f->c, "test_delivery") < 0) {
                free(f);
                return -1;
        }
        *state = f;
        snprintf(f->key, sizeof(f->key), "%s/webhook.key", f->c.dir);
        if (cluster_httpsink_start(&f->c) < 0)
                return -1;
        write_key(f);
        write_conf(f);
        return 0;
}

/* Kills what still runs; shows the logs when the test failed. */
int
teardown(void **state)
{
        return cluster_teardown(state);
}

/*
 * Sets the sink's script, starts the daemon and one worker (`timeout`:
 * its --timeout, NULL for the default) and records a drill for URN_SOLO,
 * whose one channel is "solo" at SOLO_PATH.
 */
void
solo_start(struct fx *f, const char *script, const char *timeout)
{
        char at[32];

        cluster_httpsink_script(&f->c, script);
        cluster_daemon_start(&f->c, NULL);
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
json_t *
solo_settled_within(struct fx *f, const char *status, json_t **reqs,
                    int timeout_ms)
{
        json_t *h, *d, *r;
        size_t i;

        cluster_wait_settled(&f->c, strcmp(status, "delivered") == 0,
                             strcmp(status, "failed") == 0, timeout_ms);
        h = cluster_history(&f->c);
        assert_int_equal(json_array_size(h), 1);
        d = json_incref(delivery_of(h, "solo"));
        json_decref(h);
        assert_string_equal(jstr(d, "school"), URN_SOLO);
        assert_string_equal(jstr(d, "status"), status);
        *reqs = cluster_sink_requests(&f->c, SOLO_PATH);
        check_keys(*reqs, jstr(d, "id"));
        json_array_foreach(*reqs, i, r)
        {
                check_signature(f, r, jstr(d, "id"));
        }
        return d;
}

/* solo_settled_within() WAIT_MS. */
json_t *
solo_settled(struct fx *f, const char *status, json_t **reqs)
{
        return solo_settled_within(f, status, reqs, WAIT_MS);
}

/* The attempt each request's body gives must be 1, 2, ... in order. */
void
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

/* The arrival time of request i of `reqs`, on the wall clock. */
double
req_time(json_t *reqs, size_t i)
{
        return json_real_value(member(json_array_get(reqs, i), "time"));
}

void
assert_req_gap(json_t *reqs, size_t i, double min_s, const char *why)
{
        double gap = req_time(reqs, i) - req_time(reqs, i - 1);

        if (gap < min_s)
                fail_msg("request %zu came %.3f s after request %zu, before "
                         "%s",
                         i, gap, i - 1, why);
}

/* Records a bulk event for bulk schools [0, n), all ten alerts due now. */
void
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

/* `ofsted-notifyctl test solo`; wants it delivered, and n requests at /solo
 * in all; returns the last (new reference). */
json_t *
test_solo(struct fx *f, size_t n)
{
        struct proc_result r = cluster_ctl(&f->c, "test", "solo", NULL);
        json_t *reqs, *last;

        if (r.status != 0)
                fail_msg("test solo: exit %d: %s", r.status, r.err);
        proc_result_free(&r);
        reqs = cluster_wait_requests(&f->c, SOLO_PATH, n, WAIT_MS);
        assert_int_equal(json_array_size(reqs), n);
        last = json_incref(json_array_get(reqs, n - 1));
        json_decref(reqs);
        return last;
}
