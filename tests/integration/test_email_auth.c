/*
 * Email end to end (email.h): SMTP AUTH: PLAIN, LOGIN, a wrong password, the
 * password from systemd credentials, XOAUTH2, a refused bearer token held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "email.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Writes `text` to the secret file at `path`, mode 0600 as the worker
 * wants, then starts everything as `o` says. */
static void
start_with_secret(struct fx *f, const struct opts *o, const char *path,
                  const char *text)
{
        spill_mode(path, text, 0600);
        start_all(f, o);
}

/*
 * Records a drill, which must be delivered; the message in the spool must
 * have come by AUTH `mech` as SMTP_USER. Returns its spool record (new
 * reference).
 */
static json_t *
delivered_by_auth(struct fx *f, const char *mech)
{
        time_t at;
        json_int_t id;
        json_t *d = drill(f, "delivered", &at, &id);
        json_t *rec = spool_record(f, 1);

        assert_string_equal(jstr(rec, "auth_mechanism"), mech);
        assert_string_equal(jstr(rec, "auth_user"), SMTP_USER);
        json_decref(d);
        return rec;
}

/*
 * STARTTLS to a sink taking SMTP_PASS from SMTP_USER, the worker reading
 * its password from the file the config names: `file`.
 */
#define PASSWORD_OPTS(file)                                                 \
        {                                                                   \
                .tls = "starttls", .sink_tls = true,                        \
                .sink_args = { "--auth-user", SMTP_USER, "--auth-password", \
                               SMTP_PASS },                                 \
                .email_extra = "username = \"" SMTP_USER "\";\n"            \
                               "  password_file = \"" file "\";",           \
        }

/* username and password_file over STARTTLS: AUTH PLAIN (or LOGIN). */

/*
 * AUTH with the password file, the server offering only `mech` (so the
 * worker cannot pick the other) and checking the user and password.
 */
static void
auth_password(struct fx *f, const char *mech)
{
        struct opts o = PASSWORD_OPTS("smtp-password");
        json_t *rec;

        o.sink_args[4] = "--auth-only";
        o.sink_args[5] = mech;

        start_with_secret(f, &o, f->pwfile, SMTP_PASS "\n");
        rec = delivered_by_auth(f, mech);
        assert_true(json_is_true(member(rec, "tls")));
        json_decref(rec);
        cluster_pass(&f->c);
}

static void
test_auth_plain(void **state)
{
        auth_password(*state, "PLAIN");
}

static void
test_auth_login(void **state)
{
        auth_password(*state, "LOGIN");
}

/* A wrong password: refused with 535, failed for good, nothing sent. */
static void
test_auth_wrong_password(void **state)
{
        struct fx *f = *state;
        const struct opts o = PASSWORD_OPTS("smtp-password");
        json_t *d;

        start_with_secret(f, &o, f->pwfile, "not the password\n");
        d = drill_failed_at_once(f, "authentication");
        json_decref(d);
        cluster_pass(&f->c);
}

/*
 * The password as systemd hands it over: the config names
 * "secrets/smtp-password", the unit has
 * LoadCredential=secrets:/etc/ofsted-notify/secrets, so the worker finds
 * it as secrets_smtp-password (mode 0400) in $CREDENTIALS_DIRECTORY, a
 * directory of its own. `pass` goes there; next to the config is either
 * nothing or, with `decoy`, the other password: the credential wins.
 */
static void
auth_credentials(struct fx *f, const char *pass, const char *decoy,
                 const char *status)
{
        const struct opts o = PASSWORD_OPTS("secrets/smtp-password");
        char path[256], *log;
        json_t *d;
        time_t at;
        json_int_t id;

        assert_int_equal(mkdir(f->creds, 0700), 0);
        snprintf(path, sizeof(path), "%s/secrets_smtp-password", f->creds);
        spill_mode(path, pass, 0400);
        snprintf(path, sizeof(path), "%s/secrets", f->c.dir);
        if (decoy != NULL) {
                assert_int_equal(mkdir(path, 0700), 0);
                snprintf(path, sizeof(path), "%s/secrets/smtp-password",
                         f->c.dir);
                spill_mode(path, decoy, 0600);
        } else {
                assert_int_equal(access(path, F_OK), -1);
        }
        snprintf(f->c.env_creds, sizeof(f->c.env_creds),
                 "CREDENTIALS_DIRECTORY=%s", f->creds);
        start_all(f, &o);
        d = drill(f, status, &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        if (strcmp(status, "delivered") == 0) {
                json_t *rec = spool_record(f, 1);

                assert_string_equal(jstr(rec, "auth_user"), SMTP_USER);
                assert_true(json_is_string(member(rec, "auth_mechanism")));
                json_decref(rec);
        } else {
                assert_contains(jstr(d, "last_error"), "authentication");
                assert_int_equal(spool_count(f), 0);
        }
        json_decref(d);
        cluster_stop_all(&f->c);
        /* Neither password reached the log. */
        log = slurp(f->c.wlog[0]);
        if (strstr(log, SMTP_PASS) != NULL ||
            strstr(log, "not the password") != NULL)
                fail_msg("a password in the worker's log");
        free(log);
        f->c.passed = true;
}

static void
test_auth_credentials(void **state)
{
        auth_credentials(*state, SMTP_PASS "\n", NULL, "delivered");
}

/* The wrong password there, the right one next to the config: refused. */
static void
test_auth_credentials_wrong(void **state)
{
        auth_credentials(*state, "not the password\n", SMTP_PASS "\n",
                         "failed");
}

/* The sink taking TOKEN from SMTP_USER; the worker's token in smtp-token. */
static const struct opts token_opts = {
        .tls = "starttls",
        .sink_tls = true,
        .sink_args = { "--auth-user", SMTP_USER, "--auth-token", TOKEN },
        .email_extra = "username = \"" SMTP_USER "\";\n"
                       "  bearer_token_file = \"smtp-token\";",
};

/*
 * bearer_token_file: XOAUTH2, though the relay offers OAUTHBEARER too
 * (which libcurl would otherwise prefer).
 */
static void
test_auth_xoauth2(void **state)
{
        struct fx *f = *state;
        struct opts o = token_opts;

        start_with_secret(f, &o, f->tokenfile, TOKEN "\n");
        json_decref(delivered_by_auth(f, "XOAUTH2"));
        cluster_pass(&f->c);
}

/*
 * What an external refresher does: `token` into the token file, in place
 * (the file keeps its inode, mode and, the tokens being of one length,
 * its size: only its times tell), and the sink's record of valid tokens
 * (smtpsink --auth-token-file) made to hold only it, until `until`.
 */
static void
refresh(struct fx *f, const char *valid, const char *token, time_t until)
{
        json_t *doc = json_pack("{s:{s:I}}", "valid", token, (json_int_t)until);
        char tmp[256];
        FILE *fp = fopen(f->tokenfile, "w");

        assert_non_null(fp);
        assert_true(fprintf(fp, "%s\n", token) > 0);
        assert_int_equal(fclose(fp), 0);
        snprintf(tmp, sizeof(tmp), "%s.new", valid);
        assert_int_equal(json_dump_file(doc, tmp, 0), 0);
        assert_int_equal(rename(tmp, valid), 0);
        json_decref(doc);
}

/* Whether the wall clock has passed *arg. */
static bool
past(void *arg)
{
        return time(NULL) > *(time_t *)arg;
}

/*
 * bearer_token_file with a refresher beside it: the first alert goes with
 * the first token, which then ends (the sink drops its session and
 * refuses it); the refresher writes the next one into the file, and the
 * second alert goes with that. Both delivered, none failed for good.
 */
static void
test_bearer_file_refreshed(void **state)
{
        struct fx *f = *state;
        char valid[256];
        struct opts o = {
                .tls = "starttls",
                .sink_tls = true,
                .sink_args = { "--auth-user", SMTP_USER, "--auth-token-file",
                               valid },
                .email_extra = "username = \"" SMTP_USER "\";\n"
                               "  bearer_token_file = \"smtp-token\";",
        };
        static const char *const tokens[] = { "ya29.first-token-0001",
                                              "ya29.second-token-002" };
        time_t until;

        snprintf(valid, sizeof(valid), "%s/valid-tokens.json", f->c.dir);
        refresh(f, valid, tokens[0], time(NULL) + 600);
        assert_int_equal(chmod(f->tokenfile, 0600), 0);
        start_all(f, &o);
        for (int i = 0; i < 2; i++) {
                /* The token lives a few seconds from now: long enough for
                 * this alert, then it ends. */
                until = time(NULL) + 4;
                refresh(f, valid, tokens[i], until);
                test_heads_delivered(f, "Delivered");
                assert_true(cluster_wait_until(past, &until, WAIT_MS));
        }
        cluster_wait_settled(&f->c, 2, 0, WAIT_MS);
        assert_int_equal(spool_count(f), 2);
        for (int seq = 1; seq <= 2; seq++) {
                json_t *rec = spool_record(f, seq);

                assert_string_equal(jstr(rec, "auth_mechanism"), "XOAUTH2");
                json_decref(rec);
        }
        assert_int_equal(cluster_log_count(f->c.wlog[0],
                                           "secret file 'smtp-token' changed: "
                                           "read again"),
                         1);
        cluster_pass(&f->c);
}

/* A delivery held with `want` in its error. */
struct held {
        struct fx *f;
        const char *want;
};

/* The one delivery in history, held as *arg says: waiting to be tried
 * again, no attempt counted. Fails the test if it failed. */
static bool
held_with(void *arg)
{
        const struct held *w = arg;
        struct fx *f = w->f;
        const char *want = w->want;
        json_t *h = cluster_history(&f->c), *d;
        bool yes = false;

        if (json_array_size(h) == 1) {
                d = json_array_get(h, 0);
                if (strcmp(jstr(d, "status"), "failed") == 0)
                        fail_msg("delivery failed for good: %s",
                                 jstr(d, "last_error"));
                yes = strcmp(jstr(d, "status"), "retry") == 0 &&
                      jint(d, "attempts") == 0 &&
                      json_is_string(member(d, "last_error")) &&
                      strstr(jstr(d, "last_error"), want) != NULL;
        }
        json_decref(h);
        return yes;
}

/*
 * bearer_token_file holding a stale token (the refresher lags): the relay
 * refuses it with 535, which is our problem, not the receiver's verdict:
 * the delivery is held, never failed, its error naming the file. The
 * refresher then writes a good token and, with no reload, it goes.
 */
static void
test_bearer_file_stale(void **state)
{
        struct fx *f = *state;
        struct opts o = token_opts;
        struct held held = { f, "the relay refused the bearer token in "
                                "'smtp-token': check the refresher" };
        char text[32];
        json_t *d, *rec;
        char *log;
        FILE *fp;

        /* As long as TOKEN, so only the file's times tell the change. */
        start_with_secret(f, &o, f->tokenfile, "ya29.stale-tok0\n");
        utc_text(time(NULL), text);
        record(f, "drill", text);
        assert_true(cluster_wait_until(held_with, &held, WAIT_MS));
        /* In place, as the refresher does: the mode stays 0600. */
        fp = fopen(f->tokenfile, "w");
        assert_non_null(fp);
        assert_true(fputs(TOKEN "\n", fp) >= 0);
        assert_int_equal(fclose(fp), 0);
        cluster_wait_settled(&f->c, 1, 0, 60000);
        d = the_delivery(f);
        assert_string_equal(jstr(d, "status"), "delivered");
        json_decref(d);
        assert_int_equal(spool_count(f), 1);
        rec = spool_record(f, 1);
        assert_string_equal(jstr(rec, "auth_mechanism"), "XOAUTH2");
        json_decref(rec);
        cluster_stop_all(&f->c);
        /* Neither token reached the log. */
        log = slurp(f->c.wlog[0]);
        if (strstr(log, TOKEN) != NULL || strstr(log, "ya29.stale") != NULL)
                fail_msg("a token in the worker's log");
        free(log);
        f->c.passed = true;
}

CLUSTER_MAIN_GROUP(group_setup, group_teardown,
                   {
                       CLUSTER_TEST(test_auth_plain),
                       CLUSTER_TEST(test_auth_login),
                       CLUSTER_TEST(test_auth_wrong_password),
                       CLUSTER_TEST(test_auth_credentials),
                       CLUSTER_TEST(test_auth_credentials_wrong),
                       CLUSTER_TEST(test_auth_xoauth2),
                       CLUSTER_TEST(test_bearer_file_refreshed),
                       CLUSTER_TEST(test_bearer_file_stale),
                   })
