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
 * emergency), whose receipt the worker polls until someone acknowledges
 * it there, which acknowledges the rule. No secret (token, key, auth token) may
 * appear in any log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"
#include "form.h"

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

#define NTFY_TOKEN  "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
#define PO_APP      "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
#define PO_USER     "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
#define TW_SID      "AC0123456789abcdef0123456789abcdef"
#define TW_TOKEN    "f0e1d2c3b4a5968778695a4b3c2d1e0f"
#define FT_KEY      "FTKEY-9f8e7d6c5b4a39281706"
#define WAIT_MS     30000
#define TWILIO_PATH "/2010-04-01/Accounts/" TW_SID "/Messages.json"
#define URN         "100001"
/* A member of the group whose key user_key_file holds: who acknowledges. */
#define PO_MEMBER "gznej3rKEVAvPUxu9vvNnqpmZpokzF"
#define RECEIPT   "rLqQ5ZBe2w5nd3Rs"
#define LINK_BASE "https://alerts.test.example"

static const char *const secrets[] = { NTFY_TOKEN, PO_APP, PO_USER, TW_TOKEN,
                                       FT_KEY };

/* A secret file of the test's own, mode 0600, in the config's directory. */
static void
write_secret(struct cluster *c, const char *name, const char *value)
{
        char path[256];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", c->dir, name);
        fp = fopen(path, "w");
        if (fp == NULL)
                fail_msg("cannot write %s: %s", path, strerror(errno));
        fprintf(fp, "%s\n", value);
        fclose(fp);
        assert_int_equal(chmod(path, 0600), 0);
}

static void
write_conf(struct cluster *c)
{
        FILE *fp = cluster_conf_begin(
            c, &(struct cluster_conf){ .retry_base = 1, .lease = 10 });

        write_secret(c, "ntfy.token", NTFY_TOKEN);
        write_secret(c, "po.app", PO_APP);
        write_secret(c, "po.user", PO_USER);
        write_secret(c, "tw.token", TW_TOKEN);
        write_secret(c, "ft.key", FT_KEY);
        fprintf(fp,
                "channels = (\n"
                "  { name = \"ntfy\"; type = \"ntfy\";\n"
                "    url = \"http://127.0.0.1:%d/oak-alerts\";\n"
                "    token_file = \"ntfy.token\"; },\n"
                "  { name = \"po\"; type = \"pushover\";\n"
                "    url = \"http://127.0.0.1:%d\";\n"
                "    token_file = \"po.app\"; user_key_file = \"po.user\"; },\n"
                "  { name = \"tw\"; type = \"sms\"; profile = \"twilio\";\n"
                "    url = \"http://127.0.0.1:%d\"; account = \"" TW_SID "\";\n"
                "    from = \"+447700900999\"; to = [ \"+447700900123\" ];\n"
                "    token_file = \"tw.token\"; },\n"
                "  { name = \"ft\"; type = \"sms\"; profile = \"firetext\";\n"
                "    url = \"http://127.0.0.1:%d\"; from = \"OakTrust\";\n"
                "    to = [ \"+447700900124\" ]; token_file = \"ft.key\"; },\n"
                "  { name = \"gen\"; type = \"sms\"; profile = \"generic\";\n"
                "    url = \"http://127.0.0.1:%d/gw/send\";\n"
                "    to = [ \"+447700900125\" ];\n"
                "    body = \"{\\\"number\\\": \\\"{{to}}\\\", "
                "\\\"text\\\": \\\"{{message}}\\\"}\"; }\n"
                ");\n"
                "schools = ( { urn = \"100001\"; name = \"Oak Primary\";\n"
                "  channels = [ \"ntfy\", \"po\", \"tw\", \"ft\", \"gen\" ]; "
                "} );\n"
                "rules = ( { name = \"drill\"; event = \"drill\";\n"
                "    action = \"Drill.\";\n"
                "    deadline = { working_days = 10; time = \"17:00\"; };\n"
                "    alerts = [ \"event\", \"-60m\" ];\n"
                "    escalate = ( { at = \"+1s\"; "
                "channels = [ \"ntfy\", \"po\" ]; } ); } );\n"
                "web = { base_url = \"" LINK_BASE "\"; };\n",
                c->port, c->port, c->port, c->port, c->port);
        cluster_conf_end(fp);
}

static int
setup(void **state)
{
        struct cluster *c;

        if (cluster_setup(state) < 0)
                return -1;
        c = *state;
        if (cluster_httpsink_start(c) < 0)
                return -1;
        write_conf(c);
        return 0;
}

static int
teardown(void **state)
{
        return cluster_teardown(state);
}

/* Starts the daemon and a webhook worker. */
static void
start(struct cluster *c, const char *script)
{
        static const char *const args[] = { "--timeout", "8", NULL };

        cluster_httpsink_script(c, script);
        cluster_daemon_start(c, NULL);
        cluster_worker_start(c, 0, "webhook", NULL, args);
        cluster_wait_workers(c, "webhook", 1);
}

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

static const char *
header(json_t *req, const char *name)
{
        return json_string_value(json_object_get(jobj(req, "headers"), name));
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

/* No secret in the daemon's or the workers' logs. */
static void
assert_no_secret_logged(struct cluster *c)
{
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
                assert_int_equal(cluster_log_count(c->dlog, secrets[i]), 0);
                /* Slot 1: the worker started after slot 0's was killed. */
                for (int w = 0; w < 2; w++)
                        assert_int_equal(
                            cluster_log_count(c->wlog[w], secrets[i]), 0);
        }
}

/* A case's end: no secret logged, everything stopped, the case passed. */
static void
finish(struct cluster *c)
{
        assert_no_secret_logged(c);
        cluster_pass(c);
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

        start(c, "/oak-alerts sequence 429,200 header Retry-After 1 body "
                 "{\"id\":\"sPs71M8A2T\",\"time\":1700000000,\"event\":"
                 "\"message\",\"topic\":\"oak-alerts\"}\n");
        req = test_channel(c, "ntfy", "/oak-alerts", 2);
        assert_string_equal(jstr(req, "method"), "POST");
        assert_contains(header(req, "content-type"), "text/plain");
        assert_string_equal(header(req, "priority"), "high");
        assert_contains(header(req, "tags"), "warning");
        assert_true(strlen(header(req, "title")) > 0);
        assert_string_equal(header(req, "authorization"), "Bearer " NTFY_TOKEN);
        assert_contains(jstr(req, "body"), "No action is needed");
        json_decref(req);
        d = settled(c, "ntfy", "delivered");
        assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 2);
        json_decref(d);
        finish(c);
}

/* Pushover: the form with the app token, user key and priority 1. */
static void
test_pushover(void **state)
{
        struct cluster *c = *state;
        json_t *req, *d;

        start(c, "/1/messages.json status 200 header Content-Type "
                 "application/json body {\"status\":1,\"request\":"
                 "\"647d2300-702c-4b38-8b2f-d56326ae460b\"}\n");
        req = test_channel(c, "po", "/1/messages.json", 1);
        assert_string_equal(header(req, "content-type"),
                            "application/x-www-form-urlencoded");
        assert_field(req, "token", PO_APP);
        assert_field(req, "user", PO_USER);
        assert_field(req, "priority", "1");
        json_decref(req);
        d = settled(c, "po", "delivered");
        json_decref(d);
        finish(c);
}

/* Pushover's refusal, 400 {"status": 0, "errors": [...]}: failed for good
 * at once, its error kept, no secret in it. */
static void
test_pushover_refused(void **state)
{
        struct cluster *c = *state;
        json_t *req, *d;

        start(c, "/1/messages.json status 400 header Content-Type "
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
        finish(c);
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

        start(c, TWILIO_PATH " sequence 429,201 header Retry-After 1 header "
                             "Content-Type application/json body "
                             "{\"sid\":\"SM0123456789abcdef0123456789abcdef\","
                             "\"status\":\"queued\",\"error_code\":null}\n");
        req = test_channel(c, "tw", TWILIO_PATH, 2);
        sodium_bin2base64(
            b64, sizeof(b64), (const unsigned char *)TW_SID ":" TW_TOKEN,
            strlen(TW_SID ":" TW_TOKEN), sodium_base64_VARIANT_ORIGINAL);
        snprintf(want, sizeof(want), "Basic %s", b64);
        assert_string_equal(header(req, "authorization"), want);
        assert_string_equal(header(req, "content-type"),
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
        finish(c);
}

/* Firetext: the form with apiKey, the number without '+'; a 200 whose
 * code is not 0 is a refusal. */
static void
test_firetext(void **state)
{
        struct cluster *c = *state;
        json_t *req, *d;

        start(c, "/api/sendsms/json sequence 200 header Content-Type "
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
        finish(c);
}

/* The generic gateway: the channel's body template, as JSON. */
static void
test_generic(void **state)
{
        struct cluster *c = *state;
        json_t *req, *b, *d;

        start(c, NULL);
        req = test_channel(c, "gen", "/gw/send", 1);
        assert_string_equal(header(req, "content-type"), "application/json");
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
                const char *v = header(r, name);

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

        start(c, "/1/messages.json status 200 header Content-Type "
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
                assert_string_equal(header(req, "click"), click);
                actions = header(req, "actions");
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
        finish(c);
}

/*
 * The script of test_receipt: Pushover answers each message with a
 * receipt, whose poll says `acked` (then by PO_MEMBER at `at`), or not
 * yet; the SMS gateways accept.
 */
static void
receipt_script(struct cluster *c, bool acked, long long at)
{
        char script[1024];

        snprintf(script, sizeof(script),
                 "/1/messages.json status 200 header Content-Type "
                 "application/json body {\"status\":1,\"request\":"
                 "\"647d2300\",\"receipt\":\"" RECEIPT "\"}\n"
                 "/1/receipts/ status 200 header Content-Type "
                 "application/json body {\"status\":1,\"acknowledged\":%d,"
                 "\"acknowledged_at\":%lld,\"acknowledged_by\":\"%s\","
                 "\"acknowledged_by_device\":\"iphone\","
                 "\"last_delivered_at\":0,\"expired\":0,"
                 "\"expires_at\":4102444800,\"called_back\":0,"
                 "\"called_back_at\":0,\"request\":\"647d2300\"}\n" TWILIO_PATH
                 " status 201 body {\"sid\":\"SM01\",\"status\":"
                 "\"queued\"}\n/api/sendsms/json status 200 body "
                 "{\"code\":0,\"description\":\"OK\"}\n",
                 acked ? 1 : 0, acked ? at : 0LL, acked ? PO_MEMBER : "");
        cluster_httpsink_script(c, script);
}

/* Starts the cluster with Pushover's receipts not yet acknowledged, and
 * opens a case whose drill rule alerts and escalates. */
static void
start_drill(struct cluster *c)
{
        json_t *r;

        start(c, NULL);
        receipt_script(c, false, 0);
        r = cluster_ctl_json(c, "event", "notification", "--school", URN,
                             "--json", NULL);
        json_decref(r);
        r = cluster_ctl_json(c, "event", "drill", "--school", URN, "--json",
                             NULL);
        json_decref(r);
}

/* The case of school URN, as `show` has it; caller frees. */
static json_t *
show_case(struct cluster *c)
{
        json_t *show = cluster_ctl_json_want(c, 0, "show", "--school", URN,
                                             "--json", NULL);
        json_t *cs = json_incref(jobj(show, "case"));

        json_decref(show);
        return cs;
}

static bool
is_acked(void *arg)
{
        json_t *cs = show_case(arg);
        bool acked = json_array_size(jarr(cs, "acks")) > 0;

        json_decref(cs);
        return acked;
}

/*
 * The rule acknowledged once, as pushover:PO_MEMBER, and its later
 * reminder (-60m) cancelled.
 */
static void
assert_acked_by_member(struct cluster *c)
{
        json_t *cs = show_case(c), *a;
        size_t i;
        bool found = false;

        assert_int_equal(json_array_size(jarr(cs, "acks")), 1);
        a = json_array_get(jarr(cs, "acks"), 0);
        assert_string_equal(jstr(a, "rule"), "drill");
        assert_string_equal(jstr(a, "by"), "pushover:" PO_MEMBER);
        json_array_foreach(jarr(cs, "alerts"), i, a)
        {
                if (strcmp(jstr(a, "offset"), "-60m") != 0)
                        continue;
                assert_string_equal(jstr(a, "state"), "cancelled");
                found = true;
        }
        assert_true(found);
        json_decref(cs);
}

/*
 * A Pushover emergency's receipt: the worker polls it (a GET with the app
 * token, no sooner than 5 s apart), not acknowledged the first time; once
 * a group member acknowledges it at Pushover, the rule is acknowledged as
 * pushover:MEMBER, and its later reminder is cancelled.
 */
static void
test_receipt(void **state)
{
        struct cluster *c = *state;
        json_t *r, *polls;
        const char *path;

        start_drill(c);
        polls = cluster_wait_requests(c, "/1/receipts/", 1, WAIT_MS);
        assert_true(json_array_size(polls) >= 1);
        r = json_array_get(polls, 0);
        assert_string_equal(jstr(r, "method"), "GET");
        path = jstr(r, "path");
        assert_string_equal(path, "/1/receipts/" RECEIPT ".json?token=" PO_APP);
        json_decref(polls);
        assert_false(is_acked(c));

        receipt_script(c, true, (long long)time(NULL));
        if (!cluster_wait_until(is_acked, c, WAIT_MS))
                fail_msg("the receipt's acknowledgement never acknowledged "
                         "the rule");
        assert_acked_by_member(c);
        /* The token travels in the poll's URL, never into a log. */
        finish(c);
}

/* How many acknowledgements of rule drill by pushover:PO_MEMBER the
 * audit trail holds, written by the daemon. */
static int
audited(struct cluster *c)
{
        json_t *r = cluster_ctl_json(c, "audit", "--school", URN, "--json",
                                     NULL),
               *e;
        size_t i;
        int n = 0;

        json_array_foreach(jarr(r, "audit"), i, e)
        {
                n += strcmp(jstr(e, "action"), "ack") == 0 &&
                     strcmp(jstr(e, "source"), "daemon") == 0 &&
                     strcmp(jstr(e, "actor"), "pushover:" PO_MEMBER) == 0 &&
                     strcmp(jstr(e, "detail"), "drill") == 0;
        }
        json_decref(r);
        return n;
}

/*
 * The receipt's acknowledgement comes while the daemon is down: the
 * worker keeps its RECEIPT and sends it again until the daemon, started
 * again, acknowledges it; the rule is acknowledged once, with one audit
 * entry, however many receipts (the alert's and its escalation's) say it.
 */
static void
test_receipt_daemon_down(void **state)
{
        struct cluster *c = *state;
        json_t *cs, *a;
        int kept;

        start_drill(c);
        /* The alert to five channels and its escalation to two: every
         * Pushover message delivered, its receipt polled. */
        cluster_wait_settled(c, 7, 0, WAIT_MS);
        kept = cluster_log_count(c->wlog[0], "pushover emergency receipt");
        assert_true(kept >= 1);
        json_decref(cluster_wait_requests(c, "/1/receipts/", 1, WAIT_MS));

        assert_int_equal(cluster_daemon_stop(c, SIGTERM), 0);
        receipt_script(c, true, (long long)time(NULL));
        /* The worker has every acknowledgement, and no daemon to tell. */
        cluster_wait_log(c->wlog[0], "acknowledged at Pushover by", kept,
                         WAIT_MS);

        cluster_daemon_start(c, NULL);
        if (!cluster_wait_until(is_acked, c, WAIT_MS))
                fail_msg("the acknowledgement made at Pushover while the "
                         "daemon was down was lost");
        /* Every RECEIPT taken, the repeats of the first included. */
        cluster_wait_log(c->wlog[0], "the scheduler has its receipt", kept,
                         WAIT_MS);
        cs = show_case(c);
        assert_int_equal(json_array_size(jarr(cs, "acks")), 1);
        a = json_array_get(jarr(cs, "acks"), 0);
        assert_string_equal(jstr(a, "rule"), "drill");
        assert_string_equal(jstr(a, "by"), "pushover:" PO_MEMBER);
        json_decref(cs);
        assert_int_equal(audited(c), 1);
        finish(c);
}

/* Worker slot 1, a webhook worker like slot 0's. */
static void
start_worker_1(struct cluster *c)
{
        static const char *const args[] = { "--timeout", "8", NULL };

        cluster_worker_start(c, 1, "webhook", NULL, args);
}

/* The alert and its escalation delivered, the emergency's receipt kept
 * by worker slot 0. */
static void
wait_receipt(struct cluster *c)
{
        cluster_wait_settled(c, 7, 0, WAIT_MS);
        assert_true(
            cluster_log_count(c->wlog[0], "pushover emergency receipt") >= 1);
}

/*
 * The worker that polled the emergency's receipt is killed (SIGKILL) and
 * another started: the scheduler, which kept the receipt with its
 * delivery, hands it to the new worker, which polls it; acknowledged at
 * Pushover, the rule is acknowledged once as pushover:MEMBER, with one
 * audit entry, and its later reminder is cancelled.
 */
static void
test_receipt_worker_killed(void **state)
{
        struct cluster *c = *state;
        int kept;

        start_drill(c);
        wait_receipt(c);
        assert_int_not_equal(cluster_worker_stop(c, 0, SIGKILL), -1);
        receipt_script(c, true, (long long)time(NULL));
        start_worker_1(c);
        if (!cluster_wait_until(is_acked, c, WAIT_MS))
                fail_msg("the receipt of a killed worker was never polled "
                         "again");
        /* Every receipt slot 0 kept (the mock gives one to each message)
         * handed to slot 1 once, and its RECEIPT taken. */
        kept = cluster_log_count(c->wlog[0], "pushover emergency receipt");
        cluster_wait_log(c->wlog[1], "the scheduler has its receipt", kept,
                         WAIT_MS);
        assert_int_equal(
            cluster_log_count(c->wlog[1], "polling its receipt '" RECEIPT "'"),
            kept);
        assert_acked_by_member(c);
        assert_int_equal(audited(c), 1);
        finish(c);
}

/*
 * A receipt past its expiry is not handed out: with the scheduler
 * stopped, the worker is killed; the scheduler started again two hours
 * on (libfaketime; the channel's expire is an hour) has no receipt for
 * the new worker to poll.
 */
static void
test_receipt_expired(void **state)
{
        static const char pass[] = "Pushover receipts to poll",
                          none[] = ": 0 Pushover receipts to poll: 0 polled, "
                                   "0 handed out";
        struct cluster *c = *state;
        const char *old = getenv("ASAN_OPTIONS");
        char preload[PATH_MAX + 16], asan[256];
        char *env[] = { preload,
                        asan,
                        "FAKETIME=+7200",
                        "FAKETIME_NO_CACHE=1",
                        "DONT_FAKE_MONOTONIC=1",
                        "NO_FAKE_STAT=1",
                        NULL };
        int passes, nones;

        snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", FAKETIME_LIBRARY);
        snprintf(asan, sizeof(asan),
                 "ASAN_OPTIONS=%s%sverify_asan_link_order=0", old ? old : "",
                 old && *old ? ":" : "");
        start_drill(c);
        wait_receipt(c);
        assert_int_equal(cluster_daemon_stop(c, SIGTERM), 0);
        assert_int_not_equal(cluster_worker_stop(c, 0, SIGKILL), -1);
        passes = cluster_log_count(c->dlog, pass);
        nones = cluster_log_count(c->dlog, none);
        cluster_daemon_start(c, env);
        start_worker_1(c);
        /* The new scheduler's pass when the new worker says READY. */
        cluster_wait_log(c->dlog, pass, passes + 1, WAIT_MS);
        assert_int_equal(cluster_log_count(c->dlog, pass), passes + 1);
        assert_int_equal(cluster_log_count(c->dlog, none), nones + 1);
        assert_int_equal(cluster_log_count(c->wlog[1], "polling its receipt"),
                         0);
        finish(c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_ntfy),
    CLUSTER_TEST(test_pushover),
    CLUSTER_TEST(test_pushover_refused),
    CLUSTER_TEST(test_twilio),
    CLUSTER_TEST(test_firetext),
    CLUSTER_TEST(test_generic),
    CLUSTER_TEST(test_links_and_escalation),
    CLUSTER_TEST(test_receipt),
    CLUSTER_TEST(test_receipt_daemon_down),
    CLUSTER_TEST(test_receipt_worker_killed),
    CLUSTER_TEST(test_receipt_expired),
})
