/*
 * oauth: the token endpoint of the email.oauth2 tests (test_email_oauth2.c,
 * test_email_oauth2_held.c): oauthsink.py shaped like Entra ID's v2.0
 * endpoint or Google's, its record, the email group that signs in there,
 * smtpsink taking only a token valid now at it, and the check that no log
 * holds a secret, an assertion or a token. On email.h's fixture.
 */
#ifndef ONOTIFY_TEST_OAUTH_H
#define ONOTIFY_TEST_OAUTH_H

#include "email.h"

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define CLIENT_ID     "6731de76-14a6-49ae-97bc-6eba6914391e"
#define CLIENT_SECRET "Xq8Q~client.secret-value_0123456789abcdef"
#define TENANT        "contoso.onmicrosoft.com"

/* The token endpoint of the test running: oauthsink.py. */
struct oauth {
        pid_t pid;
        int port;
        char state[192], portfile[192], log[192];
        const char *args[16];
};

/* Starts oauthsink with o->args (on o->port when it is set: a restart). */
void oauth_start(struct fx *f, struct oauth *o);
void oauth_stop(struct oauth *o);
/* cmocka teardown: the endpoint of the test stopped, then teardown(). */
int oauth_teardown(void **state);
/* The endpoint's record (oauthsink.py's --state). New reference. */
json_t *oauth_state(struct oauth *o);
/* Token requests the endpoint answered with a token. */
size_t oauth_tokens_issued(struct oauth *o);
/* A number in the endpoint's record (a list: its length). */
json_int_t oauth_count(struct oauth *o, const char *key);
/* A file beside the config, mode 0600. */
void oauth_private_file(struct fx *f, const char *name, const char *text);
/* Runs openssl (argv[0], its path) with `env` as for proc_run (may be
 * NULL); wants exit 0. */
void oauth_openssl(char *const argv[], char *const env[]);
/* A new 2048-bit RSA private key (PEM) at `path`, mode 0600. */
void oauth_rsa_key(const char *path);
/*
 * app.crt beside the config (its path into crt, len bytes): a certificate
 * of app.key (made first, mode 0600, unless it exists) valid for `days`
 * from now as openssl's clock has it (env: as for proc_run, may be NULL;
 * a libfaketime offset makes one that ended already).
 */
void oauth_app_cert(struct fx *f, int days, char *const env[], char *crt,
                    size_t len);
/* The email group's oauth2 lines for `provider` at o->port, with
 * credentials `creds` (caller frees). */
char *oauth_group(struct oauth *o, const char *provider, const char *creds);
/*
 * The endpoint started with the client secret: its path (into secret,
 * len bytes, which o->args[at] then points at) written mode 0600 beside
 * the config. Returns the microsoft group naming that file (caller frees).
 */
char *oauth_secret_endpoint(struct fx *f, struct oauth *o, int at, char *secret,
                            size_t len);
/* The sink: STARTTLS first, then AUTH XOAUTH2 with a token valid now at
 * o; the email group with `extra`. */
struct opts oauth_sink_opts(struct oauth *o, const char *extra);
/* Everything started with oauth_sink_opts(o, extra). */
void oauth_start_with(struct fx *f, struct oauth *o, const char *extra);
/* No log line holds the secret, an assertion or a token o issued. */
void oauth_assert_no_secrets(struct fx *f, struct oauth *o, const char *secret);
/* Ends a test that got this far: every process stopped, no secret in
 * their logs, and the test passed. */
void oauth_pass(struct fx *f, struct oauth *o, const char *secret);

#endif
