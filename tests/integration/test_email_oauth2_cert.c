/*
 * The end of email.oauth2's certificate told in the email worker's log
 * (oauth.h's fixture: oauthsink.py as Entra ID, checking the assertion
 * against the certificate made here with openssl): a warning at start
 * for one that ends within 30 days, an error at a reload that brings one
 * that has ended, and the look taken again once a day while the worker
 * runs, seen by stepping the worker's wall clock (libfaketime) a day on.
 * The date in the lines is the certificate's notAfter as openssl prints
 * it, in the trust's zone by the C library; the priority is the
 * journal's (JOURNAL_STREAM set: "<4>" a warning, "<3>" an error). No
 * line holds the private key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "oauth.h"
#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY 86400
#define CRT "email.oauth2.certificate_file 'app.crt'"

/* The workers' lines carry their priority, as under systemd. */
static char *const journal_env[] = { "JOURNAL_STREAM=1", NULL };

/*
 * The notAfter of the certificate at `crt` as openssl reads it, in the
 * trust's zone (the test's TZ) in people's form: "Tue 5 Jan 2027 09:00
 * GMT".
 */
static void
not_after_text(const char *crt, char *buf, size_t len)
{
        char *argv[] = { "/usr/bin/openssl", "x509",     "-in", (char *)crt,
                         "-noout",           "-enddate", NULL };
        struct proc_result r;
        struct tm tm = { 0 }, local;
        const char *end;
        time_t t;

        assert_int_equal(proc_run(argv, NULL, &r), 0);
        assert_int_equal(r.status, 0);
        /* "notAfter=Dec 17 20:07:44 2026 GMT" */
        assert_non_null(
            end = strptime(r.out, "notAfter=%b %d %H:%M:%S %Y GMT", &tm));
        t = timegm(&tm);
        localtime_r(&t, &local);
        assert_true(strftime(buf, len, "%a %-d %b %Y %H:%M %Z", &local) > 0);
        proc_result_free(&r);
}

/* No line of the worker's log holds a line of the private key's PEM. */
static void
assert_no_key(struct fx *f)
{
        char path[256], *key, *log, *line, *save = NULL;
        int lines = 0;

        snprintf(path, sizeof(path), "%s/app.key", f->c.dir);
        key = slurp(path);
        log = slurp(f->c.wlog[0]);
        for (line = strtok_r(key, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "-----", 5) == 0)
                        continue;
                lines++;
                if (strstr(log, line) != NULL)
                        fail_msg("the private key in %s", f->c.wlog[0]);
        }
        assert_true(lines > 10);
        free(key);
        free(log);
}

/* The endpoint started for the certificate at `crt`, and everything else
 * with the group that names it and its key. */
static void
start_with_cert(struct fx *f, struct oauth *o, const char *crt)
{
        char *extra;

        o->args[0] = "--lifetime";
        o->args[1] = "600";
        o->args[2] = "--client-id";
        o->args[3] = CLIENT_ID;
        o->args[4] = "--cert";
        o->args[5] = crt;
        oauth_start(f, o);
        extra = oauth_group(o, "microsoft",
                            "certificate_file = \"app.crt\"; "
                            "private_key_file = \"app.key\";");
        oauth_start_with(f, o, extra);
        free(extra);
}

/*
 * Ten days to go: a warning at start with the date and the days; the
 * certificate still signs in, and an alert goes.
 */
static void
test_ending_told_at_start(void **state)
{
        struct fx *f = *state;
        struct oauth o = { 0 };
        char crt[256], end[64], want[512];

        oauth_app_cert(f, 10, NULL, crt, sizeof(crt));
        not_after_text(crt, end, sizeof(end));
        f->c.wenv = journal_env;
        start_with_cert(f, &o, crt);
        snprintf(want, sizeof(want),
                 "<4>" CRT " expires on %s (in 10 days): Entra ID refuses it "
                 "from then on; upload a new one to the app registration "
                 "and replace the file before then\n",
                 end);
        cluster_wait_log(f->c.wlog[0], want, 1, WAIT_MS);
        test_heads_delivered(f, "Delivered");
        assert_int_equal(cluster_log_count(f->c.wlog[0], " expires on "), 1);
        assert_no_key(f);
        oauth_pass(f, &o, NULL);
}

/*
 * A year to go at start: said at info. Replaced by one that ended (made
 * on a clock 400 days back, for 30) and reloaded: an error naming its
 * date.
 */
static void
test_ended_told_at_reload(void **state)
{
        struct fx *f = *state;
        struct oauth o = { 0 };
        char preload[256], crt[256], end[64], want[512];
        char *const back[] = { preload, "FAKETIME=-400d", NULL };

        oauth_app_cert(f, 400, NULL, crt, sizeof(crt));
        not_after_text(crt, end, sizeof(end));
        f->c.wenv = journal_env;
        start_with_cert(f, &o, crt);
        snprintf(want, sizeof(want), "<6>" CRT " is valid until %s\n", end);
        cluster_wait_log(f->c.wlog[0], want, 1, WAIT_MS);

        snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", FAKETIME_LIBRARY);
        oauth_app_cert(f, 30, back, crt, sizeof(crt));
        not_after_text(crt, end, sizeof(end));
        cluster_worker_reload(&f->c, 0, WAIT_MS);
        snprintf(want, sizeof(want),
                 "<3>" CRT " expired on %s: Entra ID refuses it; upload a new "
                 "one to the app registration and replace the file\n",
                 end);
        cluster_wait_log(f->c.wlog[0], want, 1, WAIT_MS);
        assert_no_key(f);
        oauth_pass(f, &o, NULL);
}

/*
 * Forty days to go: nothing to warn of at start. The worker's wall clock
 * stepped 20 days on: its daily look warns, 20 days to go; a day later,
 * once more, 19 days, and the 20 days' warning was said once only.
 */
static void
test_ending_told_daily(void **state)
{
        struct fx *f = *state;
        struct oauth o = { 0 };
        char *const *clock = cluster_clock_env(&f->c);
        char *env[12], crt[256];
        size_t n = 0;

        for (; clock[n] != NULL; n++)
                env[n] = clock[n];
        env[n++] = journal_env[0];
        env[n] = NULL;
        oauth_app_cert(f, 40, NULL, crt, sizeof(crt));
        f->c.wenv = env;
        start_with_cert(f, &o, crt);
        cluster_wait_log(f->c.wlog[0], "<6>" CRT " is valid until ", 1,
                         WAIT_MS);
        assert_int_equal(cluster_log_count(f->c.wlog[0], " expires on "), 0);

        cluster_clock_set(&f->c, 20L * DAY);
        cluster_wait_log(f->c.wlog[0], " (in 20 days): Entra ID refuses it", 1,
                         WAIT_MS);
        cluster_clock_set(&f->c, 21L * DAY);
        cluster_wait_log(f->c.wlog[0], " (in 19 days): Entra ID refuses it", 1,
                         WAIT_MS);
        assert_int_equal(cluster_log_count(f->c.wlog[0], "<4>" CRT " expires "),
                         2);
        assert_int_equal(cluster_log_count(f->c.wlog[0], " is valid until "),
                         1);
        oauth_pass(f, &o, NULL);
}

CLUSTER_MAIN_GROUP(
    group_setup, group_teardown,
    {
        cmocka_unit_test_setup_teardown(test_ending_told_at_start, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_ended_told_at_reload, setup,
                                        oauth_teardown),
        cmocka_unit_test_setup_teardown(test_ending_told_daily, setup,
                                        oauth_teardown),
    })
