/*
 * Email end to end with email.oauth2 (email.h): the worker signs in at a
 * token endpoint on loopback shaped like Entra ID's v2.0 endpoint or
 * Google's (oauthsink.py: it checks the client id, the secret or the
 * JWT's RS256 signature against a certificate or key made here with
 * openssl, aud and exp, and answers as they do), and sends through
 * smtpsink, which insists on STARTTLS and AUTH XOAUTH2 and takes only a
 * token valid now at that endpoint; or through a Graph-shaped sendMail.
 * Tokens live 3 s here: alerts sent across expiries all go, the endpoint
 * down then back loses nothing, a token request held unanswered stops
 * nothing else (oauthsink --hold-file), and no log line holds a secret,
 * an assertion or a token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "email.h"
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

#define CLIENT_ID     "6731de76-14a6-49ae-97bc-6eba6914391e"
#define CLIENT_SECRET "Xq8Q~client.secret-value_0123456789abcdef"
#define TENANT        "contoso.onmicrosoft.com"
#define SA_EMAIL      "ofsted-notify@trust-mail.iam.gserviceaccount.com"
#define LIFETIME      "3" /* seconds a token is valid at the endpoint */
/* oauthsink as Entra ID for a client secret, tokens living 10 minutes;
 * args[5] is the secret file's path. */
#define SECRET_ARGS                                            \
        {                                                      \
                "--lifetime", "600", "--client-id", CLIENT_ID, \
                    "--client-secret-file", NULL               \
        }

/* The token endpoint of the test running: oauthsink.py. */
struct oauth {
        pid_t pid;
        int port;
        char state[192], portfile[192], log[192];
        const char *args[16];
};

static struct oauth *live; /* for the teardown, when a test fails */

static bool
port_written(void *arg)
{
        struct oauth *o = arg;
        char *text = slurp(o->portfile);

        o->port = atoi(text);
        free(text);
        return o->port > 0;
}

/* Starts oauthsink with o->args (on o->port when it is set: a restart). */
static void
oauth_start(struct fx *f, struct oauth *o)
{
        char *argv[32] = {
                SMTPSINK_PYTHON, SOURCE_DIR "/tests/integration/oauthsink.py",
                "--port-file",   o->portfile,
                "--state",       o->state
        };
        char port[16];
        int n = 6;

        snprintf(o->portfile, sizeof(o->portfile), "%s/oauth.port", f->c.dir);
        snprintf(o->state, sizeof(o->state), "%s/oauth.json", f->c.dir);
        snprintf(o->log, sizeof(o->log), "%s/oauth.log", f->c.dir);
        argv[3] = o->portfile;
        argv[5] = o->state;
        if (o->port > 0) {
                snprintf(port, sizeof(port), "%d", o->port);
                argv[n++] = "--port";
                argv[n++] = port;
        }
        for (size_t i = 0; o->args[i] != NULL; i++)
                argv[n++] = (char *)o->args[i];
        argv[n] = NULL;
        unlink(o->portfile);
        assert_int_equal(proc_start(argv, NULL, o->log, &o->pid), 0);
        live = o;
        assert_true(cluster_wait_until(port_written, o, START_MS));
}

static void
oauth_stop(struct oauth *o)
{
        if (o->pid > 0)
                proc_stop(o->pid, SIGTERM);
        o->pid = 0;
}

static int
oauth_teardown(void **state)
{
        if (live != NULL)
                oauth_stop(live);
        live = NULL;
        return teardown(state);
}

/* The endpoint's record (oauthsink.py's --state). New reference. */
static json_t *
oauth_state(struct oauth *o)
{
        json_t *doc = json_load_file(o->state, 0, NULL);

        assert_non_null(doc);
        return doc;
}

/* Token requests the endpoint answered with a token. */
static size_t
tokens_issued(struct oauth *o)
{
        json_t *doc = oauth_state(o);
        size_t n = json_array_size(jarr(doc, "issued"));

        json_decref(doc);
        return n;
}

/* A number in the endpoint's record (oauthsink.py's --state). */
static json_int_t
oauth_count(struct oauth *o, const char *key)
{
        json_t *doc = oauth_state(o);
        json_int_t n = json_is_array(member(doc, key))
                           ? (json_int_t)json_array_size(jarr(doc, key))
                           : jint(doc, key);

        json_decref(doc);
        return n;
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

/* A file beside the config, mode 0600. */
static void
private_file(struct fx *f, const char *name, const char *text)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", f->c.dir, name);
        spill(path, text);
        assert_int_equal(chmod(path, 0600), 0);
}

/* The email group's oauth2 lines for the endpoint at o->port. */
static char *
oauth2_group(struct oauth *o, const char *provider, const char *creds)
{
        char *g;

        if (strcmp(provider, "google") == 0)
                assert_true(
                    asprintf(&g,
                             "oauth2 = { provider = \"google\"; %s\n"
                             "    token_url = \"http://127.0.0.1:%d/token\"; "
                             "};",
                             creds, o->port) > 0);
        else
                assert_true(asprintf(&g,
                                     "oauth2 = { provider = \"%s\"; tenant = "
                                     "\"" TENANT "\";\n"
                                     "    client_id = \"" CLIENT_ID "\"; %s\n"
                                     "    token_url = "
                                     "\"http://127.0.0.1:%d/" TENANT
                                     "/oauth2/v2.0/token\"; };",
                                     provider, creds, o->port) > 0);
        return g;
}

/*
 * The endpoint started with the client secret: its path (into secret,
 * len bytes, which o->args[at] then points at) written mode 0600 beside
 * the config. Returns the microsoft group naming that file (caller frees).
 */
static char *
secret_endpoint(struct fx *f, struct oauth *o, int at, char *secret, size_t len)
{
        snprintf(secret, len, "%s/oauth-secret", f->c.dir);
        o->args[at] = secret;
        private_file(f, "oauth-secret", CLIENT_SECRET "\n");
        oauth_start(f, o);
        return oauth2_group(o, "microsoft",
                            "client_secret_file = \"oauth-secret\";");
}

/* The sink: STARTTLS first, then AUTH XOAUTH2 with a token valid now at
 * o; the email group with `extra`. */
static struct opts
sink_opts(struct oauth *o, const char *extra)
{
        return (struct opts){
                .tls = "starttls",
                .sink_tls = true,
                .sink_args = { "--auth-user", SMTP_USER, "--auth-token-file",
                               o->state, "--require-starttls" },
                .email_extra = extra,
        };
}

static void
start_with(struct fx *f, struct oauth *o, const char *extra)
{
        struct opts so = sink_opts(o, extra);

        start_all(f, &so);
}

/* No log line holds the secret, an assertion or a token the endpoint
 * issued. */
static void
assert_no_secrets(struct fx *f, struct oauth *o, const char *secret)
{
        const char *logs[] = { f->c.wlog[0], f->c.dlog };
        json_t *doc = oauth_state(o), *v;
        size_t i;

        for (size_t l = 0; l < sizeof(logs) / sizeof(logs[0]); l++) {
                char *text = slurp(logs[l]);

                assert_true(strlen(text) > 0);
                if (secret != NULL && strstr(text, secret) != NULL)
                        fail_msg("the secret in %s", logs[l]);
                json_array_foreach(jarr(doc, "issued"), i, v)
                {
                        if (strstr(text, json_string_value(v)) != NULL)
                                fail_msg("a token in %s", logs[l]);
                }
                json_array_foreach(jarr(doc, "assertions"), i, v)
                {
                        /* Its signature is the part no one else makes. */
                        const char *sig = strrchr(json_string_value(v), '.');

                        if (sig != NULL && strlen(sig) > 8 &&
                            strstr(text, sig + 1) != NULL)
                                fail_msg("an assertion in %s", logs[l]);
                }
                free(text);
        }
        json_decref(doc);
}

/* Ends a test that got this far: every process stopped, no secret in
 * their logs (assert_no_secrets()), and the test passed. */
static void
oauth_pass(struct fx *f, struct oauth *o, const char *secret)
{
        cluster_stop_all(&f->c);
        assert_no_secrets(f, o, secret);
        f->c.passed = true;
}

/* Runs openssl (argv[0]) to make a key or a certificate; wants exit 0. */
static void
openssl(char **argv)
{
        struct proc_result r;

        assert_int_equal(proc_run(argv, NULL, &r), 0);
        if (r.status != 0)
                fail_msg("%s %s: exit %d; stderr: %s", argv[0], argv[1],
                         r.status, r.err);
        proc_result_free(&r);
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

        extra = secret_endpoint(f, &o, 5, secret, sizeof(secret));
        start_with(f, &o, extra);
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
        assert_true(tokens_issued(&o) >= 3);
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

        extra = secret_endpoint(f, &o, 7, secret, sizeof(secret));
        start_with(f, &o, extra);
        for (int i = 0; i < 2; i++) {
                test_heads_delivered(f, "Delivered (1 attempt(s))");
                assert_true(cluster_wait_until(all_expired, &o, WAIT_MS));
        }
        assert_int_equal(spool_count(f), 2);
        assert_int_equal(tokens_issued(&o), 2);
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
        char crt[256], key[256], *extra;
        char *argv[] = { "/usr/bin/openssl",
                         "req",
                         "-x509",
                         "-newkey",
                         "rsa:2048",
                         "-nodes",
                         "-keyout",
                         key,
                         "-out",
                         crt,
                         "-subj",
                         "/CN=ofsted-notify test app",
                         "-days",
                         "2",
                         NULL };
        json_t *doc, *call;

        snprintf(crt, sizeof(crt), "%s/app.crt", f->c.dir);
        snprintf(key, sizeof(key), "%s/app.key", f->c.dir);
        openssl(argv);
        assert_int_equal(chmod(key, 0600), 0);
        o.args[5] = crt;
        oauth_start(f, &o);
        extra = oauth2_group(&o, "microsoft",
                             "certificate_file = \"app.crt\"; "
                             "private_key_file = \"app.key\";");
        start_with(f, &o, extra);
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
        char *gen[] = { "/usr/bin/openssl",
                        "genpkey",
                        "-algorithm",
                        "RSA",
                        "-pkeyopt",
                        "rsa_keygen_bits:2048",
                        "-out",
                        pem,
                        NULL };
        char *out[] = { "/usr/bin/openssl", "pkey", "-in", pem,
                        "-pubout",          "-out", pub,   NULL };
        json_t *sa;
        char *text;

        snprintf(pem, sizeof(pem), "%s/sa.pem", f->c.dir);
        snprintf(pub, sizeof(pub), "%s/sa.pub", f->c.dir);
        openssl(gen);
        openssl(out);
        text = slurp(pem);
        sa = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "service_account",
                       "client_email", SA_EMAIL, "private_key_id",
                       "3f1c0ffee0ddba11", "private_key", text, "token_uri",
                       "https://oauth2.googleapis.com/token");
        free(text);
        text = json_dumps(sa, JSON_INDENT(2));
        private_file(f, "sa.json", text);
        free(text);
        json_decref(sa);
        o.args[5] = pub;
        oauth_start(f, &o);
        extra =
            oauth2_group(&o, "google", "service_account_file = \"sa.json\";");
        start_with(f, &o, extra);
        test_heads_delivered(f, "Delivered");
        assert_int_equal(tokens_issued(&o), 1);
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
        private_file(f, "wrong-secret", "not-the-secret\n");
        oauth_start(f, o);
        return oauth2_group(o, "microsoft",
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
        start_with(f, &o, extra);
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
        private_file(f, "wrong-secret", CLIENT_SECRET "\n");
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
        so = sink_opts(&o, extra);
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
        private_file(f, "wrong-secret", CLIENT_SECRET "\n");
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

        extra = secret_endpoint(f, &o, 5, secret, sizeof(secret));
        oauth_stop(&o);
        start_with(f, &o, extra);
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

/*
 * Everything as start_with() does, but the worker with the default
 * --timeout of 30 s (the fixture's is 3 s): a token request is bounded
 * by its own rule then, 4 s when jobs wait for it, or a renewal's.
 */
static void
start_slow(struct fx *f, struct oauth *o, const char *extra)
{
        static const char *const wargs[] = { "--timeout", "30", NULL };
        struct opts so = sink_opts(o, extra);

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
        extra = secret_endpoint(f, &o, 5, secret, sizeof(secret));
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
        extra = secret_endpoint(f, &o, 5, secret, sizeof(secret));
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
        assert_no_secrets(f, &o, CLIENT_SECRET);
        free(extra);
        f->c.passed = true;
}

/* The config for Graph at the endpoint's own /v1.0. */
static char *
graph_group(struct oauth *o)
{
        char *creds, *g;

        creds = oauth2_group(o, "microsoft",
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
        return tokens_issued(arg) >= 2;
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
        private_file(f, "oauth-secret", CLIENT_SECRET "\n");
        oauth_start(f, o);
        extra = graph_group(o);
        start_with(f, o, extra);
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
        private_file(f, "oauth-secret", CLIENT_SECRET "\n");
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
        assert_no_secrets(f, &o, CLIENT_SECRET);
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
