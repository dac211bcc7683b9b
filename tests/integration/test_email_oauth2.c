/*
 * Email end to end with email.oauth2 (email.h): the worker signs in at a
 * token endpoint on loopback shaped like Entra ID's v2.0 endpoint or
 * Google's (oauthsink.py: it checks the client id, the secret or the
 * JWT's RS256 signature against a certificate or key made here with
 * openssl, aud and exp, and answers as they do), and sends through
 * smtpsink, which insists on STARTTLS and AUTH XOAUTH2 and takes only a
 * token valid now at that endpoint; or through a Graph-shaped sendMail.
 * Tokens live 3 s here: alerts sent across expiries all go, the endpoint
 * down then back loses nothing, and no log line holds a secret, an
 * assertion or a token. The endpoint slow or quiet, and Graph:
 * test_email_oauth2_held.c; the fixture: oauth.h.
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
#define SA_EMAIL "ofsted-notify@trust-mail.iam.gserviceaccount.com"
#define LIFETIME "3" /* seconds a token is valid at the endpoint */
/* oauthsink as Entra ID for a client secret, tokens living 10 minutes;
 * args[5] is the secret file's path. */
#define SECRET_ARGS                                            \
        {                                                      \
                "--lifetime", "600", "--client-id", CLIENT_ID, \
                    "--client-secret-file", NULL               \
        }

/* Whether every token issued so far has ended at the endpoint. */
static bool
all_expired(void *arg)
{
        json_t *doc = oauth_state(arg), *v;
        const char *k;
        bool ended = true;

        json_object_foreach(member(doc, "valid"), k, v)
        {
                if (json_number_value(v) > (double)time(NULL) - 0.5)
                        ended = false;
        }
        json_decref(doc);
        return ended;
}

/*
 * Client secret, tokens living 3 s and said so (expires_in 3): three test
 * alerts, each after every token so far has ended, are all delivered over
 * XOAUTH2 as the sender; the endpoint gave a token for each.
 */
static void
test_renewed_across_expiries(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = { "--lifetime", LIFETIME, "--client-id",
                                     CLIENT_ID, "--client-secret-file",
                                     NULL } };
        char secret[256], *extra;
        json_t *rec;

        extra = oauth_secret_endpoint(f, &o, 5, secret, sizeof(secret));
        oauth_start_with(f, &o, extra);
        for (int i = 0; i < 3; i++) {
                test_heads_delivered(f, "Delivered");
                assert_true(cluster_wait_until(all_expired, &o, WAIT_MS));
        }
        assert_int_equal(spool_count(f), 3);
        rec = spool_record(f, 3);
        assert_string_equal(jstr(rec, "auth_mechanism"), "XOAUTH2");
        assert_string_equal(jstr(rec, "auth_user"), SMTP_USER);
        assert_true(json_is_true(member(rec, "tls")));
        json_decref(rec);
        assert_true(oauth_tokens_issued(&o) >= 3);
        cluster_wait_settled(&f->c, 3, 0, WAIT_MS);
        free(extra);
        oauth_pass(f, &o, CLIENT_SECRET);
}

/*
 * The endpoint says a token lives an hour, the server takes it 3 s: the
 * second alert is refused with 535, and the worker renews once and
 * sends it in the same attempt.
 */
static void
test_refused_token_renewed_once(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = { "--lifetime", LIFETIME, "--claim", "3600",
                                     "--client-id", CLIENT_ID,
                                     "--client-secret-file", NULL } };
        char secret[256], *extra;
        json_t *h;

        extra = oauth_secret_endpoint(f, &o, 7, secret, sizeof(secret));
        oauth_start_with(f, &o, extra);
        for (int i = 0; i < 2; i++) {
                test_heads_delivered(f, "Delivered (1 attempt(s))");
                assert_true(cluster_wait_until(all_expired, &o, WAIT_MS));
        }
        assert_int_equal(spool_count(f), 2);
        assert_int_equal(oauth_tokens_issued(&o), 2);
        assert_int_equal(
            cluster_log_count(f->c.wlog[0], "refused the token: sending again"),
            1);
        h = cluster_history(&f->c);
        assert_int_equal(json_array_size(h), 2);
        json_decref(h);
        free(extra);
        oauth_pass(f, &o, CLIENT_SECRET);
}

/*
 * A certificate: the assertion (RS256, x5t#S256) is checked by the
 * endpoint against the certificate made here.
 */
static void
test_certificate_assertion(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = { "--lifetime", "600", "--client-id",
                                     CLIENT_ID, "--cert", NULL } };
        char crt[256], *extra;
        json_t *doc, *call;

        oauth_app_cert(f, 400, NULL, crt, sizeof(crt));
        o.args[5] = crt;
        oauth_start(f, &o);
        extra = oauth_group(&o, "microsoft",
                            "certificate_file = \"app.crt\"; "
                            "private_key_file = \"app.key\";");
        oauth_start_with(f, &o, extra);
        test_heads_delivered(f, "Delivered");
        doc = oauth_state(&o);
        call = json_array_get(jarr(doc, "calls"), 0);
        assert_string_equal(jstr(call, "grant"), "client_assertion");
        assert_true(json_is_true(member(call, "ok")));
        json_decref(doc);
        free(extra);
        oauth_pass(f, &o, NULL);
}

/*
 * Google: a service account key (made here) and the JWT bearer grant,
 * sub the sender, scope https://mail.google.com/.
 */
static void
test_google_service_account(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = { "--lifetime", "600", "--google-email",
                                     SA_EMAIL, "--google-key-pub", NULL,
                                     "--sender", FROM_ADDR } };
        char pem[256], pub[256], *extra;
        char *out[] = { "/usr/bin/openssl", "pkey", "-in", pem,
                        "-pubout",          "-out", pub,   NULL };
        json_t *sa;
        char *text;

        snprintf(pem, sizeof(pem), "%s/sa.pem", f->c.dir);
        snprintf(pub, sizeof(pub), "%s/sa.pub", f->c.dir);
        oauth_rsa_key(pem);
        oauth_openssl(out, NULL);
        text = slurp(pem);
        sa = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "service_account",
                       "client_email", SA_EMAIL, "private_key_id",
                       "3f1c0ffee0ddba11", "private_key", text, "token_uri",
                       "https://oauth2.googleapis.com/token");
        free(text);
        text = json_dumps(sa, JSON_INDENT(2));
        oauth_private_file(f, "sa.json", text);
        free(text);
        json_decref(sa);
        o.args[5] = pub;
        oauth_start(f, &o);
        extra =
            oauth_group(&o, "google", "service_account_file = \"sa.json\";");
        oauth_start_with(f, &o, extra);
        test_heads_delivered(f, "Delivered");
        assert_int_equal(oauth_tokens_issued(&o), 1);
        free(extra);
        oauth_pass(f, &o, NULL);
}

/* Whether history shows `n` deliveries waiting with `text` as their last
 * error. */
struct waiting {
        struct fx *f;
        const char *text;
        size_t n;
};

static bool
deliveries_waiting(void *arg)
{
        struct waiting *w = arg;
        json_t *h = cluster_history(&w->f->c), *d;
        size_t i, n = 0;

        json_array_foreach(h, i, d)
        {
                const char *e = json_string_value(member(d, "last_error"));

                if (e != NULL && strstr(e, w->text) != NULL &&
                    strcmp(jstr(d, "status"), "failed") != 0)
                        n++;
        }
        json_decref(h);
        return n >= w->n;
}

/*
 * The endpoint o (SECRET_ARGS) started, knowing the secret; the config's
 * client_secret_file, "wrong-secret", holding another. Returns the email
 * group's oauth2 lines (caller frees); secret[256] gets the endpoint's
 * file.
 */
static char *
wrong_secret(struct fx *f, struct oauth *o, char *secret)
{
        snprintf(secret, 256, "%s/oauth-secret", f->c.dir);
        spill(secret, CLIENT_SECRET "\n");
        o->args[5] = secret;
        oauth_private_file(f, "wrong-secret", "not-the-secret\n");
        oauth_start(f, o);
        return oauth_group(o, "microsoft",
                           "client_secret_file = \"wrong-secret\";");
}

/*
 * A wrong client secret: Entra's invalid_client, in words in `test`,
 * history, status and the log; held, never failed; a right secret
 * written to the file makes them go.
 */
static void
test_invalid_client_waits(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = SECRET_ARGS };
        struct waiting w = { f,
                             "email sign-in: token endpoint said "
                             "invalid_client: AADSTS7000215",
                             1 };
        char secret[256], *extra;
        struct proc_result r;

        extra = wrong_secret(f, &o, secret);
        oauth_start_with(f, &o, extra);
        r = cluster_ctl(&f->c, "test", "heads", "--timeout", "3", NULL);
        assert_int_not_equal(r.status, 0);
        assert_contains(r.err, "Sign-in failed: email sign-in: token "
                               "endpoint said invalid_client: AADSTS7000215");
        proc_result_free(&r);
        assert_true(cluster_wait_until(deliveries_waiting, &w, WAIT_MS));
        r = cluster_ctl(&f->c, "status", NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, "token endpoint said invalid_client");
        proc_result_free(&r);
        assert_true(cluster_log_count(f->c.wlog[0],
                                      "token endpoint said invalid_client") >=
                    1);
        /* The right secret: a later try signs in, and it goes. */
        oauth_private_file(f, "wrong-secret", CLIENT_SECRET "\n");
        cluster_wait_settled(&f->c, 1, 0, 60000);
        assert_int_equal(spool_count(f), 1);
        free(extra);
        oauth_pass(f, &o, CLIENT_SECRET);
}

/* A refused sign-in at the endpoint after `after` (epoch seconds); or
 * the delivery failed, which the test then reports. */
struct refused_after {
        struct fx *f;
        struct oauth *o;
        double after;
};

static bool
refused_since(void *arg)
{
        struct refused_after *r = arg;
        json_t *doc = oauth_state(r->o), *call;
        bool seen = false;
        size_t i;

        json_array_foreach(jarr(doc, "calls"), i, call)
        {
                const char *e = json_string_value(member(call, "error"));

                if (e != NULL && strcmp(e, "invalid_client") == 0 &&
                    json_number_value(member(call, "at")) > r->after)
                        seen = true;
        }
        json_decref(doc);
        doc = cluster_history(&r->f->c);
        json_array_foreach(doc, i, call)
        {
                if (strcmp(jstr(call, "status"), "failed") == 0)
                        seen = true;
        }
        json_decref(doc);
        return seen;
}

/* The metrics file counts at least one held sign-in. */
static bool
signin_counted(void *arg)
{
        static const char name[] =
            "\nofsted_notify_email_signin_failures_total ";
        char *text = slurp(arg), *line = strstr(text, name);
        bool yes = line != NULL && atol(line + strlen(name)) >= 1;

        free(text);
        return yes;
}

/*
 * The sign-in refused for longer than a receiver's answers would be
 * retried: max_attempts = 1 (a receiver's first retry gives up) and
 * give_up_after = 60 s; invalid_client is still the endpoint's answer
 * after both. The delivery is held, no attempt counted, never failed;
 * the metrics count the sign-in failures. The right secret written to
 * the file is tried at once (the worker's backoff gives way to a changed
 * file), and after a reload the delivery goes.
 */
static void
test_signin_outlasts_give_up(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = SECRET_ARGS };
        char secret[256], text[32], metrics[256], *extra;
        struct refused_after ra = { f, &o, 0 };
        struct opts so;
        time_t at;
        json_t *h, *d;
        struct proc_result r;

        snprintf(metrics, sizeof(metrics), "%s/state/metrics.prom", f->c.dir);
        extra = wrong_secret(f, &o, secret);
        so = oauth_sink_opts(&o, extra);
        so.daemon = "metrics = \"metrics.prom\";";
        so.delivery = "max_attempts = 1; give_up_after = 60;";
        start_all(f, &so);
        at = time(NULL);
        utc_text(at, text);
        record(f, "drill", text);
        /* Past give_up_after from the alert (it fired at `at` or after). */
        ra.after = (double)at + 61;
        assert_true(cluster_wait_until(refused_since, &ra, 180000));
        h = cluster_history(&f->c);
        assert_int_equal(json_array_size(h), 1);
        d = json_array_get(h, 0);
        assert_string_not_equal(jstr(d, "status"), "failed");
        assert_int_equal(jint(d, "attempts"), 0);
        assert_contains(jstr(d, "last_error"),
                        "email sign-in: token endpoint said invalid_client");
        json_decref(h);
        assert_true(cluster_wait_until(signin_counted, metrics, WAIT_MS));
        /* The right secret, and a reload to try the held delivery now. */
        oauth_private_file(f, "wrong-secret", CLIENT_SECRET "\n");
        r = cluster_ctl(&f->c, "reload", NULL);
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        cluster_wait_settled(&f->c, 1, 0, WAIT_MS);
        assert_int_equal(spool_count(f), 1);
        free(extra);
        oauth_pass(f, &o, CLIENT_SECRET);
}

/*
 * The token endpoint down: two alerts wait (history says why), then it
 * is back on the same port and both go; none failed.
 */
static void
test_endpoint_down_then_back(void **state)
{
        struct fx *f = *state;
        struct oauth o = { .args = SECRET_ARGS };
        struct waiting w = { f, "email sign-in: token endpoint unreachable",
                             2 };
        char secret[256], text[32], *extra;
        time_t at = time(NULL);
        struct proc_result r;

        extra = oauth_secret_endpoint(f, &o, 5, secret, sizeof(secret));
        oauth_stop(&o);
        oauth_start_with(f, &o, extra);
        utc_text(at, text);
        record(f, "drill", text);
        r = cluster_ctl(&f->c, "test", "heads", "--timeout", "1", NULL);
        proc_result_free(&r);
        assert_true(cluster_wait_until(deliveries_waiting, &w, WAIT_MS));
        assert_int_equal(spool_count(f), 0);
        oauth_start(f, &o); /* the same port */
        cluster_wait_settled(&f->c, 2, 0, 60000);
        assert_int_equal(spool_count(f), 2);
        free(extra);
        oauth_pass(f, &o, CLIENT_SECRET);
}

CLUSTER_MAIN_GROUP(
    group_setup, group_teardown,
    {
        cmocka_unit_test_setup_teardown(test_renewed_across_expiries, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_refused_token_renewed_once, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_certificate_assertion, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_google_service_account, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_client_waits, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_signin_outlasts_give_up, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_down_then_back, setup,
                                        oauth_teardown),
    })
