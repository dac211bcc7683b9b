#include "oauth.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The endpoint of the test running, for the teardown when a test fails. */
static struct oauth *live;

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
void
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

void
oauth_stop(struct oauth *o)
{
        if (o->pid > 0)
                proc_stop(o->pid, SIGTERM);
        o->pid = 0;
}

int
oauth_teardown(void **state)
{
        if (live != NULL)
                oauth_stop(live);
        live = NULL;
        return teardown(state);
}

/* The endpoint's record (oauthsink.py's --state). New reference. */
json_t *
oauth_state(struct oauth *o)
{
        json_t *doc = json_load_file(o->state, 0, NULL);

        assert_non_null(doc);
        return doc;
}

/* Token requests the endpoint answered with a token. */
size_t
oauth_tokens_issued(struct oauth *o)
{
        json_t *doc = oauth_state(o);
        size_t n = json_array_size(jarr(doc, "issued"));

        json_decref(doc);
        return n;
}

/* A number in the endpoint's record (oauthsink.py's --state). */
json_int_t
oauth_count(struct oauth *o, const char *key)
{
        json_t *doc = oauth_state(o);
        json_int_t n = json_is_array(member(doc, key))
                           ? (json_int_t)json_array_size(jarr(doc, key))
                           : jint(doc, key);

        json_decref(doc);
        return n;
}

/* A file beside the config, mode 0600. */
void
oauth_private_file(struct fx *f, const char *name, const char *text)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", f->c.dir, name);
        spill(path, text);
        assert_int_equal(chmod(path, 0600), 0);
}

void
oauth_openssl(char *const argv[], char *const env[])
{
        struct proc_result r;

        assert_int_equal(proc_run(argv, env, &r), 0);
        if (r.status != 0)
                fail_msg("%s %s: exit %d; stderr: %s", argv[0], argv[1],
                         r.status, r.err);
        proc_result_free(&r);
}

void
oauth_rsa_key(const char *path)
{
        char *gen[] = { "/usr/bin/openssl",
                        "genpkey",
                        "-algorithm",
                        "RSA",
                        "-pkeyopt",
                        "rsa_keygen_bits:2048",
                        "-out",
                        (char *)path,
                        NULL };

        oauth_openssl(gen, NULL);
        assert_int_equal(chmod(path, 0600), 0);
}

void
oauth_app_cert(struct fx *f, int days, char *const env[], char *crt, size_t len)
{
        char key[256], ndays[16];
        char *argv[] = { "/usr/bin/openssl",
                         "req",
                         "-x509",
                         "-key",
                         key,
                         "-out",
                         crt,
                         "-subj",
                         "/CN=ofsted-notify test app",
                         "-days",
                         ndays,
                         NULL };

        snprintf(crt, len, "%s/app.crt", f->c.dir);
        snprintf(key, sizeof(key), "%s/app.key", f->c.dir);
        snprintf(ndays, sizeof(ndays), "%d", days);
        if (access(key, F_OK) != 0)
                oauth_rsa_key(key);
        oauth_openssl(argv, env);
}

/* The email group's oauth2 lines for the endpoint at o->port. */
char *
oauth_group(struct oauth *o, const char *provider, const char *creds)
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
char *
oauth_secret_endpoint(struct fx *f, struct oauth *o, int at, char *secret,
                      size_t len)
{
        snprintf(secret, len, "%s/oauth-secret", f->c.dir);
        o->args[at] = secret;
        oauth_private_file(f, "oauth-secret", CLIENT_SECRET "\n");
        oauth_start(f, o);
        return oauth_group(o, "microsoft",
                           "client_secret_file = \"oauth-secret\";");
}

/* The sink: STARTTLS first, then AUTH XOAUTH2 with a token valid now at
 * o; the email group with `extra`. */
struct opts
oauth_sink_opts(struct oauth *o, const char *extra)
{
        return (struct opts){
                .tls = "starttls",
                .sink_tls = true,
                .sink_args = { "--auth-user", SMTP_USER, "--auth-token-file",
                               o->state, "--require-starttls" },
                .email_extra = extra,
        };
}

void
oauth_start_with(struct fx *f, struct oauth *o, const char *extra)
{
        struct opts so = oauth_sink_opts(o, extra);

        start_all(f, &so);
}

/* No log line holds the secret, an assertion or a token the endpoint
 * issued. */
void
oauth_assert_no_secrets(struct fx *f, struct oauth *o, const char *secret)
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
 * their logs (oauth_assert_no_secrets()), and the test passed. */
void
oauth_pass(struct fx *f, struct oauth *o, const char *secret)
{
        cluster_stop_all(&f->c);
        oauth_assert_no_secrets(f, o, secret);
        f->c.passed = true;
}
