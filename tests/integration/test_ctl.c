/*
 * The offline ofsted-notifyctl commands, run as a user runs them: the real
 * binary, the shipped example config and holidays file, output parsed as a
 * script would parse it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"
#include "proc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONF SOURCE_DIR "/config/ofsted-notify.conf"

/* Runs ofsted-notifyctl with up to 10 arguments after argv[0]. */
static struct proc_result
ctl(char *const env[], const char *a0, ...)
{
        char *argv[16] = { CTL_BINARY };
        struct proc_result r;
        va_list ap;
        int n = 1;

        va_start(ap, a0);
        for (const char *a = a0; a != NULL && n < 15; a = va_arg(ap, char *))
                argv[n++] = (char *)a;
        va_end(ap);
        assert_int_equal(proc_run(argv, env, &r), 0);
        return r;
}

/* The issue's own example: Easter 2024 pushes the concern window's close
 * to Tue 2 April; it opens at the conclusion itself. */
static void
test_plan_json_easter(void **state)
{
        struct proc_result r;
        json_t *doc, *dl, *al;

        (void)state;
        r = ctl(NULL, "plan", "-c", CONF, "--event", "conclusion", "--at",
                "2024-03-28T15:00", "--json", NULL);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.err, "");
        doc = jparse(r.out, "ofsted-notifyctl plan --json");
        assert_string_equal(jstr(doc, "event"), "conclusion");
        assert_string_equal(jstr(doc, "at"), "2024-03-28T15:00:00+00:00");
        dl = json_object_get(doc, "deadlines");
        assert_int_equal(json_array_size(dl), 1);
        assert_string_equal(jstr(json_array_get(dl, 0), "rule"),
                            "concern_window");
        assert_string_equal(jstr(json_array_get(dl, 0), "opens"),
                            "2024-03-28T15:00:00+00:00");
        assert_string_equal(jstr(json_array_get(dl, 0), "due"),
                            "2024-04-02T18:00:00+01:00");
        al = json_object_get(doc, "alerts");
        assert_int_equal(json_array_size(al), 3);
        assert_string_equal(jstr(json_array_get(al, 0), "offset"), "event");
        assert_string_equal(jstr(json_array_get(al, 0), "at"),
                            "2024-03-28T15:00:00+00:00");
        /* -10h of 18:00 BST: 08:00 BST that morning. */
        assert_string_equal(jstr(json_array_get(al, 1), "offset"), "-10h");
        assert_string_equal(jstr(json_array_get(al, 1), "at"),
                            "2024-04-02T08:00:00+01:00");
        assert_string_equal(jstr(json_array_get(al, 2), "offset"), "-2h");
        assert_string_equal(jstr(json_array_get(al, 2), "at"),
                            "2024-04-02T16:00:00+01:00");
        assert_int_equal(json_array_size(json_object_get(doc, "warnings")), 0);
        json_decref(doc);
        proc_result_free(&r);
}

/* An explicit offset is honoured; the output is in local time. */
static void
test_plan_at_with_offset(void **state)
{
        struct proc_result r;
        json_t *doc;

        (void)state;
        /* 08:30Z on Mon 8 Apr 2024 is 09:30 BST. */
        r = ctl(NULL, "plan", "-c", CONF, "--event", "notification", "--at",
                "2024-04-08T08:30Z", "--json", NULL);
        assert_int_equal(r.status, 0);
        doc = jparse(r.out, "ofsted-notifyctl plan --json");
        assert_string_equal(jstr(doc, "at"), "2024-04-08T09:30:00+01:00");
        assert_string_equal(
            jstr(json_array_get(json_object_get(doc, "deadlines"), 0), "due"),
            "2024-04-08T16:30:00+01:00");
        assert_null(json_object_get(
            json_array_get(json_object_get(doc, "deadlines"), 0), "opens"));
        json_decref(doc);
        proc_result_free(&r);

        r = ctl(NULL, "plan", "-c", CONF, "--event", "notification", "--at",
                "2024-04-08T10:30+02:00", "--json", NULL);
        assert_int_equal(r.status, 0);
        doc = jparse(r.out, "ofsted-notifyctl plan --json");
        assert_string_equal(jstr(doc, "at"), "2024-04-08T09:30:00+01:00");
        json_decref(doc);
        proc_result_free(&r);
}

/* With --school, each alert says where it goes: the school's channels, then
 * the rule's extra ones. */
static void
test_plan_school_channels(void **state)
{
        struct proc_result r;
        json_t *doc, *al, *ch;

        (void)state;
        r = ctl(NULL, "plan", "-c", CONF, "--event", "pause", "--at",
                "2025-10-23T11:00", "--school", "100001", "--json", NULL);
        assert_int_equal(r.status, 0);
        doc = jparse(r.out, "ofsted-notifyctl plan --json");
        assert_string_equal(jstr(json_object_get(doc, "school"), "name"),
                            "Oak Primary");
        al = json_object_get(doc, "alerts");
        /* pause_expected's, and pause_limit's -1d, its escalation at -1d
         * and its deadline. */
        assert_int_equal(json_array_size(al), 4);
        /* The last alert is pause_limit's deadline: heads, leaders, it. */
        ch = json_object_get(json_array_get(al, 3), "channels");
        assert_string_equal(jstr(json_array_get(al, 3), "rule"), "pause_limit");
        assert_int_equal(json_array_size(ch), 3);
        assert_string_equal(json_string_value(json_array_get(ch, 0)), "heads");
        assert_string_equal(json_string_value(json_array_get(ch, 2)), "it");
        /* Thu 23 Oct 2025 + 5 working days = Thu 30 Oct, GMT again. */
        assert_string_equal(jstr(json_array_get(al, 3), "at"),
                            "2025-10-30T17:00:00+00:00");
        json_decref(doc);
        proc_result_free(&r);
}

static void
test_plan_coverage_warning(void **state)
{
        struct proc_result r;
        json_t *doc, *w;

        (void)state;
        r = ctl(NULL, "plan", "-c", CONF, "--event", "pause", "--at",
                "2028-12-22T11:00", "--json", NULL);
        assert_int_equal(r.status, 0);
        doc = jparse(r.out, "ofsted-notifyctl plan --json");
        w = json_object_get(doc, "warnings");
        assert_int_equal(json_array_size(w), 1);
        assert_non_null(
            strstr(json_string_value(json_array_get(w, 0)), "2029-01-01"));
        json_decref(doc);
        proc_result_free(&r);

        /* The table shows it too. */
        r = ctl(NULL, "plan", "-c", CONF, "--event", "pause", "--at",
                "2028-12-22T11:00", NULL);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "Warnings"));
        assert_non_null(strstr(r.out, "2029-01-01"));
        proc_result_free(&r);
}

static void
test_plan_human(void **state)
{
        struct proc_result r;

        (void)state;
        r = ctl(NULL, "-c", CONF, "plan", "--event", "conclusion", "--at",
                "2024-03-28T15:00", NULL);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "concern_window"));
        assert_non_null(strstr(r.out, "Tue 2 Apr 2024 08:00 BST"));
        assert_non_null(strstr(r.out, "Tue 2 Apr 2024 18:00 BST"));
        assert_non_null(strstr(r.out, "Thu 28 Mar 2024 15:00 GMT"));
        /* conclusion ends the pause rules */
        assert_non_null(strstr(r.out, "pause_limit"));
        proc_result_free(&r);
}

/* Bad input: which argument, and why; exit 2; nothing on stdout. */
static void
test_plan_errors(void **state)
{
        static const struct {
                const char *flag, *value, *needle;
        } cases[] = {
                { "--at", "2024-03-28T25:00", "'2024-03-28T25:00'" },
                { "--at", "yesterday", "--at 'yesterday'" },
                { "--event", "inspection", "unknown event kind" },
                { "--school", "999999", "--school '999999'" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *event = strcmp(cases[i].flag, "--event") == 0
                                        ? cases[i].value
                                        : "notification";
                struct proc_result r;

                if (strcmp(cases[i].flag, "--event") == 0)
                        r = ctl(NULL, "plan", "-c", CONF, "--event", event,
                                NULL);
                else
                        r = ctl(NULL, "plan", "-c", CONF, "--event", event,
                                cases[i].flag, cases[i].value, NULL);
                assert_int_equal(r.status, 2);
                assert_string_equal(r.out, "");
                if (strstr(r.err, cases[i].needle) == NULL)
                        fail_msg("case %zu: stderr lacks \"%s\": %s", i,
                                 cases[i].needle, r.err);
                proc_result_free(&r);
        }
}

static void
test_usage_errors(void **state)
{
        struct proc_result r;

        (void)state;
        r = ctl(NULL, "plan", "-c", CONF, NULL);
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "--event"));
        proc_result_free(&r);

        r = ctl(NULL, "frobnicate", NULL);
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "'frobnicate'"));
        proc_result_free(&r);

        r = ctl(NULL, "help", NULL);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "check-config"));
        proc_result_free(&r);
}

/* A config that cannot be read is a configuration error: 78. */
static void
test_missing_config(void **state)
{
        struct proc_result r;

        (void)state;
        r = ctl(NULL, "plan", "-c", "/nonexistent/o.conf", "--event",
                "notification", NULL);
        assert_int_equal(r.status, 78);
        assert_non_null(strstr(r.err, "/nonexistent/o.conf"));
        proc_result_free(&r);
}

/*
 * Without -c, $OFSTED_NOTIFY_CONF names the file. (Not the shipped
 * example: check-config reads the secret files it names, which are not
 * in the source tree.)
 */
static void
test_config_from_env(void **state)
{
        char *const env[] = { "OFSTED_NOTIFY_CONF=" SOURCE_DIR
                              "/tests/config/good/loopback_webhook.conf",
                              NULL };
        char *const bad[] = { "OFSTED_NOTIFY_CONF=/nonexistent/x.conf", NULL };
        struct proc_result r;

        (void)state;
        r = ctl(env, "check-config", NULL);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, "configuration OK\n");
        proc_result_free(&r);

        r = ctl(bad, "check-config", NULL);
        assert_int_equal(r.status, 78);
        assert_non_null(strstr(r.err, "/nonexistent/x.conf"));
        proc_result_free(&r);
}

/*
 * The online commands check their arguments before they look for the
 * daemon: which argument and why, exit 2, nothing on stdout. No daemon
 * runs here, so anything that got past the checks would say so instead.
 */
static void
test_online_usage_errors(void **state)
{
        static const struct {
                const char *args[8];
                const char *needle;
        } cases[] = {
                { { "notify", NULL }, "--school URN is required" },
                { { "notify", "--school", "12345", NULL }, "--school '12345'" },
                { { "pause", "--school", "1000011", NULL },
                  "--school '1000011'" },
                { { "upcoming", "--school", "abcdef", NULL },
                  "--school 'abcdef'" },
                { { "ics", "--school", "12345", NULL }, "--school '12345'" },
                { { "ics", "--json", NULL }, "bad option" },
                { { "notify", "--school", "100001", "--at", "yesterday", NULL },
                  "--at 'yesterday'" },
                { { "notify", "--school", "100001", "--contact", "a\nb", NULL },
                  "--contact" },
                { { "conclude", "--school", "100001", "--note", "tab\there",
                    NULL },
                  "--note" },
                { { "resume", "--school", "100001", "--new-case", NULL },
                  "--new-case" },
                { { "event", "--school", "100001", NULL }, "KIND" },
                { { "event", "Visit", "--school", "100001", NULL }, "'Visit'" },
                { { "show", NULL }, "--case N" },
                { { "show", "--case", "1", "--school", "100001", NULL },
                  "--case N" },
                { { "show", "--case", "0", NULL }, "--case '0'" },
                { { "show", "--case", "7x", NULL }, "--case '7x'" },
                { { "history", "--limit", "0", NULL }, "--limit '0'" },
                { { "history", "--limit", "1001", NULL }, "--limit '1001'" },
                { { "list", "--timeout", "0", NULL }, "--timeout '0'" },
                { { "list", "extra", NULL }, "'extra'" },
                { { "status", "--bogus", NULL }, "bad option" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *const *a = cases[i].args;
                struct proc_result r;

                r = ctl(NULL, a[0], "-c", CONF, a[1], a[2], a[3], a[4], a[5],
                        a[6], NULL);
                if (r.status != 2 || strstr(r.err, cases[i].needle) == NULL)
                        fail_msg("case %zu (%s): exit %d, stderr lacks "
                                 "\"%s\": %s",
                                 i, a[0], r.status, cases[i].needle, r.err);
                assert_string_equal(r.out, "");
                proc_result_free(&r);
        }
}

/* Free text is at most 1000 characters: characters, not bytes. */
static void
test_online_text_length(void **state)
{
        char over[1002], *accented = malloc(2 * 1000 + 1);
        struct proc_result r;

        (void)state;
        assert_non_null(accented);
        memset(over, 'x', 1001);
        over[1001] = '\0';
        r = ctl(NULL, "notify", "-c", CONF, "--school", "100001", "--note",
                over, NULL);
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "--note: 1001 characters"));
        proc_result_free(&r);

        /* 1000 two-byte characters pass the check (and then find no
         * daemon in this empty runtime directory). */
        for (int i = 0; i < 1000; i++)
                memcpy(accented + 2 * i, "\xc3\xa9", 2);
        accented[2000] = '\0';
        {
                char *const env[] = { "RUNTIME_DIRECTORY=/nonexistent", NULL };

                r = ctl(env, "notify", "-c", CONF, "--school", "100001",
                        "--note", accented, "--timeout", "1", NULL);
        }
        assert_int_equal(r.status, 1);
        assert_non_null(strstr(r.err, "no answer from the daemon"));
        proc_result_free(&r);
        free(accented);
}

/*
 * An argument far too long for any request is refused here, exit 2, by
 * its name, without being shown back (the daemon would drop a request
 * over 1 MiB unanswered; docs/protocol.md).
 */
static void
test_online_long_arguments(void **state)
{
        static const struct {
                const char *args[6]; /* "LONG" stands for the long value */
                const char *needle;
        } cases[] = {
                { { "notify", "--school", "100001", "--at", "LONG", NULL },
                  "--at: 100000 characters, at most 64 allowed" },
                { { "event", "LONG", "--school", "100001", NULL },
                  "event KIND: 100000 characters, at most 31 allowed" },
                { { "notify", "--school", "LONG", NULL },
                  "--school: 100000 characters; a URN is six digits" },
                { { "upcoming", "--school", "LONG", NULL },
                  "--school: 100000 characters" },
                { { "notify", "--school", "100001", "--contact", "LONG", NULL },
                  "--contact: 100000 characters, at most 1000 allowed" },
                { { "show", "--case", "LONG", NULL }, "--case '" },
                { { "history", "--limit", "LONG", NULL }, "--limit '" },
                { { "list", "--timeout", "LONG", NULL }, "--timeout '" },
        };
        char *lots = malloc(100000 + 1);

        (void)state;
        assert_non_null(lots);
        memset(lots, '1', 100000);
        lots[100000] = '\0';
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *a[6];
                struct proc_result r;

                for (size_t k = 0; k < 6; k++) {
                        a[k] = cases[i].args[k];
                        if (a[k] != NULL && strcmp(a[k], "LONG") == 0)
                                a[k] = lots;
                }
                /* Letters for a KIND, digits elsewhere. */
                memset(lots, strcmp(a[0], "event") == 0 ? 'k' : '1', 100000);
                r = ctl(NULL, a[0], "-c", CONF, a[1], a[2], a[3], a[4], a[5],
                        NULL);
                if (r.status != 2 || strstr(r.err, cases[i].needle) == NULL)
                        fail_msg("case %zu (%s): exit %d, stderr lacks "
                                 "\"%s\": %.200s",
                                 i, a[0], r.status, cases[i].needle, r.err);
                /* Named, not shown back: the message and the hint. */
                if (strlen(r.err) > 300)
                        fail_msg("case %zu: %zu bytes on stderr", i,
                                 strlen(r.err));
                assert_string_equal(r.out, "");
                proc_result_free(&r);
        }
        free(lots);
}

static double
seconds_since(const struct timespec *t0)
{
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (double)(t1.tv_sec - t0->tv_sec) +
               (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* No daemon: the socket's path under $RUNTIME_DIRECTORY is named, exit 1,
 * within the --timeout. */
static void
test_online_no_daemon(void **state)
{
        static const char *const cmds[] = { "list", "status", "reload", "ics" };
        char dir[128], envvar[160], want[320];
        char *const env[] = { envvar, NULL };
        struct timespec t0;
        struct proc_result r;

        (void)state;
        assert_int_equal(itest_mkdtemp(dir, sizeof(dir), "test_ctl"), 0);
        snprintf(envvar, sizeof(envvar), "RUNTIME_DIRECTORY=%s", dir);
        snprintf(want, sizeof(want),
                 "no answer from the daemon at ipc://%s/control.sock (is "
                 "ofsted-notifyd running?)",
                 dir);

        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
                clock_gettime(CLOCK_MONOTONIC, &t0);
                r = ctl(env, cmds[i], "-c", CONF, "--timeout", "1", NULL);
                if (seconds_since(&t0) > 5)
                        fail_msg("%s took %.1f s with --timeout 1", cmds[i],
                                 seconds_since(&t0));
                assert_int_equal(r.status, 1);
                if (strstr(r.err, want) == NULL)
                        fail_msg("%s: stderr lacks \"%s\": %s", cmds[i], want,
                                 r.err);
                assert_string_equal(r.out, "");
                proc_result_free(&r);
        }

        /* --json changes nothing when there is no reply to print. */
        r = ctl(env, "upcoming", "--json", "-c", CONF, "--timeout", "1", NULL);
        assert_int_equal(r.status, 1);
        assert_string_equal(r.out, "");
        assert_non_null(strstr(r.err, want));
        proc_result_free(&r);

        /* A config that cannot be read is still 78, before any socket. */
        r = ctl(env, "status", "-c", "/nonexistent/o.conf", NULL);
        assert_int_equal(r.status, 78);
        proc_result_free(&r);

        assert_int_equal(rmdir(dir), 0);
}

static void
test_help_lists_online(void **state)
{
        static const char *const names[] = {
                "notify --school URN",
                "pause --school URN",
                "resume --school URN",
                "conclude --school URN",
                "defer --school URN",
                "cancel --school URN",
                "event KIND",
                "list [--all]",
                "show (--case N",
                "upcoming [--school URN]",
                "ics [--school URN]",
                "history [--school",
                "status",
                "reload",
                "watch [--school URN]",
                "--timeout SECONDS",
        };
        struct proc_result r;

        (void)state;
        r = ctl(NULL, "help", NULL);
        assert_int_equal(r.status, 0);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (strstr(r.out, names[i]) == NULL)
                        fail_msg("help lacks \"%s\"", names[i]);
        }
        proc_result_free(&r);
}

CLUSTER_MAIN({
    cmocka_unit_test(test_plan_json_easter),
    cmocka_unit_test(test_plan_at_with_offset),
    cmocka_unit_test(test_plan_school_channels),
    cmocka_unit_test(test_plan_coverage_warning),
    cmocka_unit_test(test_plan_human),
    cmocka_unit_test(test_plan_errors),
    cmocka_unit_test(test_usage_errors),
    cmocka_unit_test(test_missing_config),
    cmocka_unit_test(test_config_from_env),
    cmocka_unit_test(test_online_usage_errors),
    cmocka_unit_test(test_online_text_length),
    cmocka_unit_test(test_online_long_arguments),
    cmocka_unit_test(test_online_no_daemon),
    cmocka_unit_test(test_help_lists_online),
})
