/*
 * Delivery end to end to the channels that reach a phone: ntfy, Pushover
 * and SMS (Twilio, Firetext, a generic gateway). `ofsted-notifyctl test
 * CHANNEL` sends to each through a real worker; httpsink plays the
 * service, scripted with the paths, success and error bodies and 429s
 * with Retry-After its documentation gives, and the test checks what
 * arrived: path, authentication, headers and form or JSON fields. A real
 * alert carries the one-click link as each service shows one (ntfy's
 * view action, Pushover's url, the SMS's last line) and the case's page
 * (ntfy's Click), and its escalation is urgent (ntfy urgent, Pushover
 * emergency; its receipt: test_delivery_receipts.c). No secret (token,
 * key, auth token) may appear in any log. The fixture: phone.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "form.h"
#include "phone.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/*
 * `ofsted-notifyctl test NAME`, which must succeed, or with `refusal`
 * exit 1 saying it; then `n` requests at `path`: the last.
 */
static json_t *
test_channel_says(struct cluster *c, const char *name, const char *path,
                  size_t n, const char *refusal)
{
        struct proc_result r = cluster_ctl(c, "test", name, NULL);
        json_t *reqs, *last;

        if (r.status != (refusal != NULL ? 1 : 0))
                fail_msg("test %s: exit %d: %s", name, r.status, r.err);
        if (refusal != NULL)
                assert_contains(r.err, refusal);
        proc_result_free(&r);
        reqs = cluster_wait_requests(c, path, n, WAIT_MS);
        assert_int_equal(json_array_size(reqs), n);
        last = json_incref(json_array_get(reqs, n - 1));
        json_decref(reqs);
        return last;
}

static json_t *
test_channel(struct cluster *c, const char *name, const char *path, size_t n)
{
        return test_channel_says(c, name, path, n, NULL);
}
/* Form field `name` of the request's body, decoded; caller frees. */
static char *
body_field(json_t *req, const char *name)
{
        const char *form = jstr(req, "body");
        char *v = form_field(form, name);

        if (v == NULL)
                fail_msg("no form field '%s' in '%s'", name, form);
        return v;
}

static void
assert_field(json_t *req, const char *name, const char *want)
{
        char *v = body_field(req, name);

        assert_string_equal(v, want);
        free(v);
}

/* What settled() waits for, and what it found. */
struct want_settled {
        struct cluster *c;
        const char *name, *status;
        json_t *found;
};

static bool
is_settled(void *arg)
{
        struct want_settled *w = arg;
        json_t *h = cluster_history(w->c), *d;
        size_t k;

        json_array_foreach(h, k, d)
        {
                if (strcmp(jstr(d, "channel"), w->name) == 0 &&
                    strcmp(jstr(d, "status"), w->status) == 0)
                        w->found = json_incref(d);
        }
        json_decref(h);
        return w->found != NULL;
}

/* The test delivery of channel `name` in history settles as `status`. */
static json_t *
settled(struct cluster *c, const char *name, const char *status)
{
        struct want_settled w = { c, name, status, NULL };

        if (!cluster_wait_until(is_settled, &w, WAIT_MS))
                fail_msg("channel '%s' never %s", name, status);
        return w.found;
}

/*
 * ntfy: throttled once (429, Retry-After 1), then the message: a POST of
 * text to the topic with Title, Priority (a test alert: the channel's
 * default, high), Tags and the access token as Bearer.
 */
static void
test_ntfy(void **state)
{
        struct cluster *c = *state;
        json_t *req, *d;

        phone_start(c, "/oak-alerts sequence 429,200 header Retry-After 1 body "
                       "{\"id\":\"sPs71M8A2T\",\"time\":1700000000,\"event\":"
                       "\"message\",\"topic\":\"oak-alerts\"}\n");
        req = test_channel(c, "ntfy", "/oak-alerts", 2);
        assert_string_equal(jstr(req, "method"), "POST");
        assert_contains(phone_header(req, "content-type"), "text/plain");
        assert_string_equal(phone_header(req, "priority"), "high");
        assert_contains(phone_header(req, "tags"), "warning");
        assert_true(strlen(phone_header(req, "title")) > 0);
        assert_string_equal(phone_header(req, "authorization"),
                            "Bearer " NTFY_TOKEN);
        assert_contains(jstr(req, "body"), "No action is needed");
        json_decref(req);
        d = settled(c, "ntfy", "delivered");
        assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 2);
        json_decref(d);
        phone_finish(c);
}

/* Pushover: the form with the app token, user key and priority 1. */
static void
test_pushover(void **state)
{
        struct cluster *c = *state;
        json_t *req, *d;

        phone_start(c, "/1/messages.json status 200 header Content-Type "
                       "application/json body {\"status\":1,\"request\":"
                       "\"647d2300-702c-4b38-8b2f-d56326ae460b\"}\n");
        req = test_channel(c, "po", "/1/messages.json", 1);
        assert_string_equal(phone_header(req, "content-type"),
                            "application/x-www-form-urlencoded");
        assert_field(req, "token", PO_APP);
        assert_field(req, "user", PO_USER);
        assert_field(req, "priority", "1");
        json_decref(req);
        d = settled(c, "po", "delivered");
        json_decref(d);
        phone_finish(c);
}

/* Pushover's refusal, 400 {"status": 0, "errors": [...]}: failed for good
 * at once, its error kept, no secret in it. */
static void
test_pushover_refused(void **state)
{
        struct cluster *c = *state;
        json_t *req, *d;

        phone_start(c,
                    "/1/messages.json status 400 header Content-Type "
                    "application/json body {\"token\":\"invalid\",\"errors\":"
                    "[\"application token is invalid\"],\"status\":0,"
                    "\"request\":\"5042853c\"}\n");
        req = test_channel_says(c, "po", "/1/messages.json", 1,
                                "HTTP 400: application token is invalid");
        json_decref(req);
        d = settled(c, "po", "failed");
        assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 1);
        json_decref(d);
        cluster_wait_log(c->wlog[0], "application token is invalid", 1,
                         WAIT_MS);
        phone_finish(c);
}

/* Twilio: the Messages resource, basic auth SID:token, To, From, Body;
 * a 429 first (Retry-After), then 201 with the message resource. */
static void
test_twilio(void **state)
{
        struct cluster *c = *state;
        char b64[128], want[160];
        json_t *req, *d;
        char *body;

        phone_start(c, TWILIO_PATH
                    " sequence 429,201 header Retry-After 1 header "
                    "Content-Type application/json body "
                    "{\"sid\":\"SM0123456789abcdef0123456789abcdef\","
                    "\"status\":\"queued\",\"error_code\":null}\n");
        req = test_channel(c, "tw", TWILIO_PATH, 2);
        sodium_bin2base64(
            b64, sizeof(b64), (const unsigned char *)TW_SID ":" TW_TOKEN,
            strlen(TW_SID ":" TW_TOKEN), sodium_base64_VARIANT_ORIGINAL);
        snprintf(want, sizeof(want), "Basic %s", b64);
        assert_string_equal(phone_header(req, "authorization"), want);
        assert_string_equal(phone_header(req, "content-type"),
                            "application/x-www-form-urlencoded");
        assert_field(req, "To", "+447700900123");
        assert_field(req, "From", "+447700900999");
        body = body_field(req, "Body");
        assert_contains(body, "TEST ALERT");
        /* Two segments at most: 306 characters of plain text. */
        assert_true(strlen(body) <= 306);
        free(body);
        json_decref(req);
        d = settled(c, "tw", "delivered");
        json_decref(d);
        phone_finish(c);
}

/* Firetext: the form with apiKey, the number without '+'; a 200 whose
 * code is not 0 is a refusal. */
static void
test_firetext(void **state)
{
        struct cluster *c = *state;
        json_t *req, *d;

        phone_start(c, "/api/sendsms/json sequence 200 header Content-Type "
                       "application/json body {\"code\":1,\"description\":"
                       "\"Authentication error\"}\n");
        req = test_channel_says(c, "ft", "/api/sendsms/json", 1,
                                "gateway code 1: Authentication error");
        assert_field(req, "apiKey", FT_KEY);
        assert_field(req, "to", "447700900124");
        assert_field(req, "from", "OakTrust");
        json_decref(req);
        d = settled(c, "ft", "failed");
        json_decref(d);
        cluster_wait_log(c->wlog[0], "gateway code 1: Authentication error", 1,
                         WAIT_MS);
        phone_finish(c);
}

/* The generic gateway: the channel's body template, as JSON. */
static void
test_generic(void **state)
{
        struct cluster *c = *state;
        json_t *req, *b, *d;

        phone_start(c, NULL);
        req = test_channel(c, "gen", "/gw/send", 1);
        assert_string_equal(phone_header(req, "content-type"),
                            "application/json");
        b = json_loads(jstr(req, "body"), 0, NULL);
        assert_non_null(b);
        assert_string_equal(jstr(b, "number"), "+447700900125");
        assert_contains(jstr(b, "text"), "TEST ALERT");
        json_decref(b);
        json_decref(req);
        d = settled(c, "gen", "delivered");
        json_decref(d);
        cluster_pass(c);
}

/* `url` is a one-click link: LINK_BASE "/a/" and a token. */
static void
assert_link(const char *url)
{
        const char *p = LINK_BASE "/a/ont_";

        if (strncmp(url, p, strlen(p)) != 0 || strlen(url) != strlen(p) + 43)
                fail_msg("not a one-click link: '%s'", url);
}

/* The request of `reqs` whose header `name` is `value` (exactly one). */
static json_t *
with_header(json_t *reqs, const char *name, const char *value)
{
        json_t *r, *found = NULL;
        size_t i;

        json_array_foreach(reqs, i, r)
        {
                const char *v = phone_header(r, name);

                if (v != NULL && strcmp(v, value) == 0) {
                        assert_null(found);
                        found = r;
                }
        }
        if (found == NULL)
                fail_msg("no request with %s: %s", name, value);
        return found;
}

/* `text` ends with a line that is a one-click link. */
static void
assert_ends_with_link(const char *text)
{
        const char *nl = strrchr(text, '\n');

        assert_non_null(nl);
        assert_link(nl + 1);
}

/*
 * A real alert and its escalation, one second later, nobody having
 * acknowledged: every phone channel's alert carries its one-click link as
 * the service shows one (ntfy's view action beside Click to the case's
 * page, Pushover's url titled Acknowledge, each SMS's last line); the
 * escalation to ntfy and Pushover is urgent there (ntfy urgent, Pushover
 * emergency with retry and expire) where the alert was not.
 */
static void
test_links_and_escalation(void **state)
{
        static const struct {
                const char *path, *field;
        } sms[] = { { TWILIO_PATH, "Body" },
                    { "/api/sendsms/json", "message" } };
        struct cluster *c = *state;
        json_t *r, *ntfy, *po, *req, *b;
        char click[96], want[256], *v, *link;

        phone_start(
            c, "/1/messages.json status 200 header Content-Type "
               "application/json body {\"status\":1,\"request\":"
               "\"647d2300\",\"receipt\":\"rLqQ5ZBe2w5nd3Rs\"}\n" TWILIO_PATH
               " status 201 body {\"sid\":\"SM01\",\"status\":"
               "\"queued\"}\n/api/sendsms/json status 200 body "
               "{\"code\":0,\"description\":\"OK\"}\n");
        r = cluster_ctl_json(c, "event", "notification", "--school", URN,
                             "--json", NULL);
        snprintf(click, sizeof(click), LINK_BASE "/cases/%lld",
                 (long long)jint(r, "case"));
        json_decref(r);
        r = cluster_ctl_json(c, "event", "drill", "--school", URN, "--json",
                             NULL);
        json_decref(r);
        cluster_wait_settled(c, 7, 0, WAIT_MS);

        /* ntfy: the channel's high for the alert, urgent for the escalation;
         * each with Click and its own view action. */
        ntfy = cluster_sink_requests(c, "/oak-alerts");
        assert_int_equal(json_array_size(ntfy), 2);
        for (int i = 0; i < 2; i++) {
                const char *actions;

                req = with_header(ntfy, "priority", i == 0 ? "high" : "urgent");
                assert_string_equal(phone_header(req, "click"), click);
                actions = phone_header(req, "actions");
                assert_non_null(actions);
                assert_int_equal(strncmp(actions, "view, Acknowledge, ", 19),
                                 0);
                assert_int_equal(
                    strcmp(actions + strlen(actions) - 12, ", clear=true"), 0);
                snprintf(want, sizeof(want), "%.*s",
                         (int)(strlen(actions) - 19 - 12), actions + 19);
                assert_link(want);
        }
        json_decref(ntfy);

        /* Pushover: priority 1 for the alert, 2 with retry and expire for
         * the escalation; the link as its url. */
        po = cluster_sink_requests(c, "/1/messages.json");
        assert_int_equal(json_array_size(po), 2);
        for (size_t i = 0; i < 2; i++) {
                req = json_array_get(po, i);
                v = body_field(req, "priority");
                if (strcmp(v, "2") == 0) {
                        assert_field(req, "retry", "60");
                        assert_field(req, "expire", "3600");
                        link = body_field(req, "title");
                        /* Who had the alert: the school's channels. */
                        assert_contains(link, "Nobody has confirmed");
                        assert_contains(link, "ntfy, po, tw, ft, gen");
                        free(link);
                } else {
                        assert_string_equal(v, "1");
                }
                free(v);
                link = body_field(req, "url");
                assert_link(link);
                free(link);
                assert_field(req, "url_title", "Acknowledge");
        }
        assert_true(strstr(jstr(json_array_get(po, 0), "body"), "priority=2") !=
                    strstr(jstr(json_array_get(po, 1), "body"), "priority=2"));
        json_decref(po);

        /* SMS: the link is each message's last line. */
        for (size_t i = 0; i < 2; i++) {
                /* Twilio's Body, Firetext's message: one request each. */
                req = cluster_sink_requests(c, sms[i].path);
                assert_int_equal(json_array_size(req), 1);
                v = body_field(json_array_get(req, 0), sms[i].field);
                assert_ends_with_link(v);
                free(v);
                json_decref(req);
        }
        req = cluster_sink_requests(c, "/gw/send");
        assert_int_equal(json_array_size(req), 1);
        b = json_loads(jstr(json_array_get(req, 0), "body"), 0, NULL);
        assert_non_null(b);
        assert_ends_with_link(jstr(b, "text"));
        json_decref(b);
        json_decref(req);
        phone_finish(c);
}

CLUSTER_MAIN({
    PHONE_TEST(test_ntfy),
    PHONE_TEST(test_pushover),
    PHONE_TEST(test_pushover_refused),
    PHONE_TEST(test_twilio),
    PHONE_TEST(test_firetext),
    PHONE_TEST(test_generic),
    PHONE_TEST(test_links_and_escalation),
})
