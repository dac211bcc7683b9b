/*
 * Email with email.oauth2 (oauth.h) when the token endpoint is slow or
 * gone quiet: a token request held unanswered (oauthsink --hold-file)
 * stops nothing else: the worker keeps its heartbeat, reloads and takes
 * the next job meanwhile, and a renewal goes on in the background while
 * the token held serves; and Microsoft Graph's sendMail (401 renews once,
 * 429 waits, 202 delivers, 403 fails for good). No log line holds a
 * secret, an assertion or a token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "oauth.h"
#include "proc.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Everything as oauth_start_with() does, but the worker with the default
 * --timeout of 30 s (the fixture's is 3 s): a token request is bounded
 * by its own rule then, 4 s when jobs wait for it, or a renewal's.
 */
static void
start_slow(struct fx *f, struct oauth *o, const char *extra)
{
        static const char *const wargs[] = { "--timeout", "30", NULL };
        struct opts so = oauth_sink_opts(o, extra);

        sink_start(f, &so);
        write_conf(f, &so);
        cluster_daemon_start(&f->c, NULL);
        cluster_worker_start(&f->c, 0, "email", NULL, wargs);
        cluster_wait_workers(&f->c, "email", 1);
}

/*
 * A token endpoint that hangs for its first 15 s, under a worker with the
 * default --timeout of 30 s: a sign-in gives up after 4 s, so the alert
 * waits no longer than that for it each time, and meanwhile the worker
 * keeps its heartbeat and its lease; the alert is held and goes, once,
 * when the endpoint answers.
 */
static void
test_stalled_endpoint_keeps_heartbeat(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = { "--lifetime", "600", "--client-id",
                                     CLIENT_ID, "--client-secret-file", NULL,
                                     "--stall", "15" } };
        char secret[256], text[32], *extra;

        /* The endpoint's 15 s of stalling start now. */
        extra = oauth_secret_endpoint(f, &o, 5, secret, sizeof(secret));
        start_slow(f, &o, extra);
        utc_text(time(NULL), text);
        record(f, "drill", text);
        cluster_wait_settled(&f->c, 1, 0, 60000);
        assert_true(oauth_count(&o, "stalled") >= 1);
        assert_true(
            cluster_log_count(f->c.wlog[0], "token endpoint unreachable") >= 1);
        /* The daemon heard the worker throughout. */
        assert_int_equal(cluster_log_count(f->c.dlog, "went silent"), 0);
        assert_int_equal(cluster_log_count(f->c.dlog, "leases expired"), 0);
        assert_int_equal(cluster_log_count(f->c.dlog, "run out without"), 0);
        assert_int_equal(spool_count(f), 1);
        free(extra);
        oauth_pass(f, &o, CLIENT_SECRET);
}

/* The endpoint holds `n` token requests unanswered (or more). */
struct holding {
        struct oauth *o;
        json_int_t n;
};

static bool
holding(void *arg)
{
        struct holding *h = arg;

        return oauth_count(h->o, "holding") >= h->n;
}

/* The wall clock has passed *(double *)arg, epoch seconds. */
static bool
past(void *arg)
{
        return (double)time(NULL) > *(double *)arg;
}

/*
 * The token endpoint holds every request unanswered from the start
 * (--hold-file): the alert's job waits for the sign-in, and meanwhile the
 * worker goes on: it reloads its config on SIGHUP, takes the next alert's
 * job from the scheduler and asks for a token for it under the new config.
 * Once the endpoint answers, both alerts go, each with the token of the
 * request it waited for: no request was given up and asked again, and the
 * scheduler heard the worker throughout.
 */
static void
test_cold_start_held(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = { "--lifetime", "600", "--client-id",
                                     CLIENT_ID, "--client-secret-file", NULL,
                                     "--hold-file", NULL } };
        struct holding h = { &o, 1 };
        char secret[256], hold[256], text[32], *extra;
        json_t *r;

        snprintf(hold, sizeof(hold), "%s/oauth-hold", f->c.dir);
        spill(hold, "");
        o.args[7] = hold;
        extra = oauth_secret_endpoint(f, &o, 5, secret, sizeof(secret));
        start_slow(f, &o, extra);
        utc_text(time(NULL), text);
        record(f, "drill", text);
        assert_true(cluster_wait_until(holding, &h, WAIT_MS));
        /* While that request is held: a reload, and another alert. */
        cluster_worker_reload(&f->c, 0, WAIT_MS);
        r = cluster_ctl_json(&f->c, "notify", "--school", URN2, "--at", text,
                             "--contact", CONTACT, "--json", NULL);
        json_decref(r);
        r = cluster_ctl_json(&f->c, "event", "drill", "--school", URN2, "--at",
                             text, "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 1);
        json_decref(r);
        h.n = 2;
        assert_true(cluster_wait_until(holding, &h, WAIT_MS));
        assert_int_equal(spool_count(f), 0);
        assert_int_equal(unlink(hold), 0);
        cluster_wait_settled(&f->c, 2, 0, WAIT_MS);
        assert_int_equal(spool_count(f), 2);
        assert_int_equal(oauth_count(&o, "calls"), 2);
        assert_int_equal(oauth_count(&o, "issued"), 2);
        assert_int_equal(
            cluster_log_count(f->c.wlog[0], "token endpoint unreachable"), 0);
        assert_int_equal(cluster_log_count(f->c.dlog, "went silent"), 0);
        cluster_stop_all(&f->c);
        oauth_assert_no_secrets(f, &o, CLIENT_SECRET);
        free(extra);
        f->c.passed = true;
}

/* The config for Graph at the endpoint's own /v1.0. */
static char *
graph_group(struct oauth *o)
{
        char *creds, *g;

        creds = oauth_group(o, "microsoft",
                            "client_secret_file = \"oauth-secret\";");
        assert_true(asprintf(&g,
                             "transport = \"graph\";\n"
                             "  graph_url = \"http://127.0.0.1:%d/v1.0\";\n"
                             "  %s",
                             o->port, creds) > 0);
        free(creds);
        return g;
}

/* The endpoint has issued a second token. */
static bool
tokens_two(void *arg)
{
        return oauth_tokens_issued(arg) >= 2;
}

/* Graph's sendMail as a script of answers, then 202. */
static json_t *
graph_run(struct fx *f, struct oauth *o, const char *script, const char *status)
{
        char path[256], secret[256], *extra;
        time_t at;
        json_int_t id;
        json_t *d;

        snprintf(path, sizeof(path), "%s/graph-script", f->c.dir);
        snprintf(secret, sizeof(secret), "%s/oauth-secret", f->c.dir);
        spill(path, script);
        o->args[0] = "--lifetime";
        o->args[1] = "600";
        o->args[2] = "--client-id";
        o->args[3] = CLIENT_ID;
        o->args[4] = "--client-secret-file";
        o->args[5] = secret;
        o->args[6] = "--graph-script";
        o->args[7] = path;
        oauth_private_file(f, "oauth-secret", CLIENT_SECRET "\n");
        oauth_start(f, o);
        extra = graph_group(o);
        oauth_start_with(f, o, extra);
        d = drill(f, status, &at, &id);
        free(extra);
        return d;
}

/*
 * Graph: 401 with WWW-Authenticate renews the token once and sends again
 * in the same attempt, 429 with Retry-After is retried, then 202: the
 * MIME message, base64, for the sender, with the subject; nothing
 * through SMTP.
 */
static void
test_graph_sendmail(void **state)
{
        struct fx *f = *state;
        struct oauth o = { 0 };
        json_t *d, *doc, *calls;
        const char *mime;

        d = graph_run(f, &o, "401\n429\n202\n", "delivered");
        assert_int_equal(jint(d, "attempts"), 2);
        json_decref(d);
        doc = oauth_state(&o);
        calls = jarr(doc, "graph");
        assert_int_equal(json_array_size(calls), 3);
        assert_int_equal(jint(json_array_get(calls, 0), "status"), 401);
        assert_int_equal(jint(json_array_get(calls, 1), "status"), 429);
        assert_int_equal(jint(json_array_get(calls, 2), "status"), 202);
        assert_string_equal(jstr(json_array_get(calls, 2), "user"), FROM_ADDR);
        mime = jstr(json_array_get(calls, 2), "mime");
        assert_contains(mime, "From: " FROM);
        assert_contains(mime, "Subject: ");
        assert_contains(mime, "Content-Type: multipart/mixed");
        assert_contains(mime, "filename=\"deadline.ics\"");
        assert_int_equal(json_array_size(jarr(doc, "issued")), 2);
        json_decref(doc);
        assert_int_equal(spool_count(f), 0);
        oauth_pass(f, &o, CLIENT_SECRET);
}

/* The index in the endpoint's "issued" of the token Graph's sendMail
 * number `i` came with. */
static json_int_t
graph_token(struct oauth *o, size_t i)
{
        json_t *doc = oauth_state(o);
        json_int_t n = jint(json_array_get(jarr(doc, "graph"), i), "token");

        json_decref(doc);
        return n;
}

/*
 * A renewal in the background, through Graph: the endpoint says a token
 * lives 40 s (the worker renews it from 32 s on) and holds every token
 * request unanswered once the first token is past that point. The alert
 * that comes then starts the renewal; it and the next go with the token
 * held while the endpoint still holds that request. Once it answers, the
 * next alert goes with the token it gave: the renewal was not given up.
 */
static void
test_renewal_in_background(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = { "--lifetime", "600", "--claim", "40",
                                     "--client-id", CLIENT_ID,
                                     "--client-secret-file", NULL,
                                     "--hold-file", NULL } };
        struct holding h = { &o, 1 };
        char secret[256], hold[256], *extra;
        double renew;
        json_t *doc;

        snprintf(secret, sizeof(secret), "%s/oauth-secret", f->c.dir);
        snprintf(hold, sizeof(hold), "%s/oauth-hold", f->c.dir);
        o.args[7] = secret;
        o.args[9] = hold;
        oauth_private_file(f, "oauth-secret", CLIENT_SECRET "\n");
        oauth_start(f, &o);
        extra = graph_group(&o);
        start_slow(f, &o, extra);
        test_heads_delivered(f, "Delivered");
        doc = oauth_state(&o);
        /* The worker asked before the endpoint answered: its renewal time
         * is at most 32 s after the answer. */
        renew = json_number_value(
                    member(json_array_get(jarr(doc, "calls"), 0), "at")) +
                33;
        json_decref(doc);
        spill(hold, "");
        assert_true(cluster_wait_until(past, &renew, 60000));
        test_heads_delivered(f, "Delivered");
        assert_true(cluster_wait_until(holding, &h, WAIT_MS));
        test_heads_delivered(f, "Delivered");
        /* Both while the renewal was held, with the first token. */
        assert_int_equal(oauth_count(&o, "holding"), 1);
        assert_int_equal(oauth_count(&o, "graph"), 3);
        assert_int_equal(graph_token(&o, 1), 0);
        assert_int_equal(graph_token(&o, 2), 0);
        assert_int_equal(unlink(hold), 0);
        assert_true(cluster_wait_until(tokens_two, &o, WAIT_MS));
        test_heads_delivered(f, "Delivered");
        assert_int_equal(graph_token(&o, 3), 1);
        assert_int_equal(oauth_count(&o, "calls"), 2);
        assert_int_equal(
            cluster_log_count(f->c.wlog[0], "token endpoint unreachable"), 0);
        cluster_stop_all(&f->c);
        oauth_assert_no_secrets(f, &o, CLIENT_SECRET);
        free(extra);
        f->c.passed = true;
}

/* Graph's 403: failed for good with Graph's code and message. */
static void
test_graph_forbidden(void **state)
{
        struct fx *f = *state;
        struct oauth o = { 0 };
        json_t *d;

        d = graph_run(f, &o, "403\n", "failed");
        assert_int_equal(jint(d, "attempts"), 1);
        assert_contains(jstr(d, "last_error"),
                        "Graph 403: ErrorAccessDenied: Access is denied");
        json_decref(d);
        oauth_pass(f, &o, CLIENT_SECRET);
}

CLUSTER_MAIN_GROUP(
    group_setup, group_teardown,
    {
        cmocka_unit_test_setup_teardown(test_stalled_endpoint_keeps_heartbeat,
                                        setup, oauth_teardown),
        cmocka_unit_test_setup_teardown(test_graph_sendmail, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_graph_forbidden, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_cold_start_held, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_renewal_in_background, setup,
                                        oauth_teardown),
    })
