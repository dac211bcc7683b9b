/*
 * Tests for conf's loader and its top-level errors: the shipped example's
 * trust, daemon and email groups, the defaults, the lookups, the default
 * path, relative paths, the error collection and the endpoint and state
 * path resolution. Every expected value comes from DESIGN.md section 3,
 * config/ofsted-notify.conf or config/bank-holidays.json as read by a
 * person (times worked out by hand: 16:30 is 16 * 3600 + 30 * 60 = 59400
 * seconds); none was copied from what the loader printed. Small configs are
 * written to a mkdtemp() directory and removed again (conf_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "calendar.h"
#include "civil.h"
#include "conf_fixture.h"
#include "support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_example_trust(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);

        (void)state;
        assert_int_equal(errs.n, 0);
        assert_non_null(c);
        assert_string_equal(c->path, CONF_FX_EXAMPLE);
        assert_string_equal(c->dir, SOURCE_DIR "/config");
        assert_string_equal(c->trust.name, "Example Learning Trust");
        assert_string_equal(c->trust.timezone, "Europe/London");
        assert_string_equal(c->trust.division, "england-and-wales");
        /* "bank-holidays.json", relative to the config file's directory. */
        assert_string_equal(c->trust.holidays, CONF_FX_HOLIDAYS);
        assert_int_equal(c->trust.nclosures, 0);
        assert_non_null(c->tz);

        /* The shipped file's England-and-Wales data runs 2024 to 2028. */
        assert_non_null(c->calendar);
        assert_int_equal(calendar_last_year(c->calendar), 2028);
        /* Christmas Day 2024 (a Wednesday) and the 2028 summer bank holiday
         * (Monday 28 August) are off; Friday 27 December 2024 is not. */
        assert_false(
            calendar_is_working_day(c->calendar, civil_days(2024, 12, 25)));
        assert_false(
            calendar_is_working_day(c->calendar, civil_days(2028, 8, 28)));
        assert_true(
            calendar_is_working_day(c->calendar, civil_days(2024, 12, 27)));

        conf_destroy(&c);
        assert_null(c);
        conf_errors_free(&errs);
}

/* The daemon group's defaults (DESIGN.md section 3), which the example
 * writes out. */
static void
assert_daemon_defaults(const struct conf *c)
{
        assert_string_equal(c->daemon.state, "state.db");
        assert_string_equal(c->daemon.control, "ipc://control.sock");
        assert_string_equal(c->daemon.dispatch, "ipc://dispatch.sock");
        assert_string_equal(c->daemon.feed, "ipc://feed.sock");
        assert_int_equal(c->daemon.catch_up, CATCH_UP_LATE);
}

static void
test_example_daemon_email(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);

        (void)state;
        assert_non_null(c);
        assert_daemon_defaults(c);

        assert_true(c->email.present);
        assert_string_equal(c->email.smtp, "smtp://localhost:25");
        assert_int_equal(c->email.tls, EMAIL_TLS_STARTTLS);
        assert_string_equal(c->email.from,
                            "Ofsted alerts <alerts@trust.example>");
        /* username and password_file are commented out in the example. */
        conf_fx_assert_absent(c->email.username);
        conf_fx_assert_absent(c->email.password_file);
        conf_fx_assert_absent(c->email.bearer_token_file);
        conf_fx_assert_absent(c->email.ca_file);

        conf_destroy(&c);
        conf_errors_free(&errs);
}

static void
test_lookups(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(CONF_FX_EXAMPLE, &errs);

        (void)state;
        assert_non_null(c);
        assert_ptr_equal(conf_school(c, "100001"), &c->schools[0]);
        assert_null(conf_school(c, "100002"));
        assert_null(conf_school(c, "10000"));
        assert_null(conf_school(c, ""));

        assert_ptr_equal(conf_channel(c, "heads"), &c->channels[0]);
        assert_ptr_equal(conf_channel(c, "leaders"), &c->channels[1]);
        assert_ptr_equal(conf_channel(c, "it"), &c->channels[2]);
        assert_null(conf_channel(c, "Heads"));
        assert_null(conf_channel(c, "nobody"));

        assert_ptr_equal(conf_rule(c, "deferral_cutoff"), &c->rules[0]);
        assert_ptr_equal(conf_rule(c, "concern_window"), &c->rules[1]);
        assert_null(conf_rule(c, "Deferral_cutoff"));
        assert_null(conf_rule(c, "deferral"));

        /* Built in: the kinds ofsted-notifyctl records itself. */
        assert_true(conf_known_kind(c, "notification"));
        assert_true(conf_known_kind(c, "pause"));
        assert_true(conf_known_kind(c, "resume"));
        assert_true(conf_known_kind(c, "conclusion"));
        assert_true(conf_known_kind(c, "deferred"));
        assert_true(conf_known_kind(c, "cancelled"));
        /* Added by the example's rules, even a disabled one. */
        assert_true(conf_known_kind(c, "draft_report"));
        assert_true(conf_known_kind(c, "report_published"));
        /* Neither built in nor a rule's event. */
        assert_false(conf_known_kind(c, "canceled"));
        assert_false(conf_known_kind(c, "deferral_cutoff"));
        assert_false(conf_known_kind(c, ""));

        assert_string_equal(conf_channel_type_name(CHANNEL_EMAIL), "email");
        assert_string_equal(conf_channel_type_name(CHANNEL_GOOGLE_CHAT),
                            "google_chat");
        assert_string_equal(conf_channel_type_name(CHANNEL_WEBHOOK), "webhook");
        assert_string_equal(conf_channel_type_name(CHANNEL_NTYPES), "?");

        conf_destroy(&c);
        conf_errors_free(&errs);
}

/* A saved environment variable, restored by env_restore(). */
struct saved_env {
        const char *name;
        char *value; /* NULL when it was unset */
};

static struct saved_env
env_save(const char *name)
{
        const char *v = getenv(name);
        struct saved_env e = { name, v != NULL ? strdup(v) : NULL };

        return e;
}

static void
env_restore(struct saved_env *e)
{
        if (e->value != NULL)
                setenv(e->name, e->value, 1);
        else
                unsetenv(e->name);
        free(e->value);
        e->value = NULL;
}

static void
test_default_path(void **state)
{
        struct saved_env saved = env_save(CONF_ENV);

        (void)state;
        assert_string_equal(CONF_ENV, "OFSTED_NOTIFY_CONF");

        assert_int_equal(unsetenv("OFSTED_NOTIFY_CONF"), 0);
        assert_string_equal(conf_default_path(NULL),
                            "/etc/ofsted-notify/ofsted-notify.conf");
        assert_string_equal(conf_default_path("given.conf"), "given.conf");

        assert_int_equal(setenv("OFSTED_NOTIFY_CONF", "/srv/env.conf", 1), 0);
        assert_string_equal(conf_default_path(NULL), "/srv/env.conf");
        /* -c wins over the environment. */
        assert_string_equal(conf_default_path("given.conf"), "given.conf");

        /* An empty variable is the same as none. */
        assert_int_equal(setenv("OFSTED_NOTIFY_CONF", "", 1), 0);
        assert_string_equal(conf_default_path(NULL),
                            "/etc/ofsted-notify/ofsted-notify.conf");

        env_restore(&saved);
}

/* No daemon group: every daemon default; no email group: none needed. */
static void
test_defaults(void **state)
{
        struct conf_fx_scratch *s = *state;
        struct conf *c;
        char *text;

        assert_true(
            asprintf(&text,
                     "trust = { name = \"T\"; holidays = \"%s\"; };\n"
                     "channels = ( { name = \"it\"; type = \"webhook\"; "
                     "url = \"https://hooks.example/x\"; } );\n"
                     "schools = ( { urn = \"123456\"; name = \"S\"; "
                     "channels = [ \"it\" ]; } );\n"
                     "rules = ( { name = \"r\"; event = \"pause\";\n"
                     "  deadline = { working_days = 2; time = \"07:05\"; "
                     "};\n"
                     "  alerts = [ \"+30s\", \"+1h\", \"-90m\" ]; } );\n",
                     CONF_FX_HOLIDAYS) > 0);
        c = conf_fx_load_ok(s, "defaults.conf", text);
        free(text);
        assert_daemon_defaults(c);
        assert_false(c->email.present);
        /* trust defaults (DESIGN.md section 1). */
        assert_string_equal(c->trust.timezone, "Europe/London");
        assert_string_equal(c->trust.division, "england-and-wales");
        assert_string_equal(c->dir, s->dir);

        assert_int_equal(c->nrules, 1);
        assert_true(c->rules[0].enabled);
        assert_null(c->rules[0].cancel_on);
        assert_int_equal(c->rules[0].deadline.count, 2);
        assert_int_equal(c->rules[0].deadline.secs, 7 * 3600 + 5 * 60);
        assert_int_equal(c->rules[0].nalerts, 3);
        conf_fx_assert_offset(&c->rules[0].alerts[0], ALERT_EVENT, 30, false,
                              "+30s");
        conf_fx_assert_offset(&c->rules[0].alerts[1], ALERT_EVENT, 3600, false,
                              "+1h");
        conf_fx_assert_offset(&c->rules[0].alerts[2], ALERT_DEADLINE, -5400,
                              false, "-90m");

        conf_destroy(&c);
}

/* A relative holidays path and CA file are found next to the config;
 * closures count. */
static void
test_relative_holidays_and_closures(void **state)
{
        struct conf_fx_scratch *s = *state;
        struct conf *c;
        char *want;

        conf_fx_scratch_write(
            s, "hols.json",
            "{\"england-and-wales\": {\"division\": \"england-and-wales\", "
            "\"events\": [{\"title\": \"Test Day\", \"date\": \"2030-06-03\", "
            "\"notes\": \"\", \"bunting\": false}]}}\n");
        c = conf_fx_load_ok(
            s, "relative.conf",
            "trust = { name = \"T\"; holidays = \"hols.json\";\n"
            "  closures = [ \"2025-06-13\" ]; };\n"
            "daemon = { catch_up = \"skip\"; };\n"
            "email = { from = \"a@t.example\"; ca_file = \"ca/relay.pem\"; "
            "};\n"
            "channels = ( { name = \"it\"; type = \"discord\"; "
            "url_file = \"d.url\"; } );\n"
            "schools = ( );\n"
            "rules = ( { name = \"r\"; event = \"withdrawn\";\n"
            "  deadline = { months = 3; time = \"12:00\"; roll = \"none\"; "
            "};\n"
            "  alerts = [ \"deadline\" ]; cancel_on = [ \"withdrawn\" ]; "
            "} );\n");
        assert_true(asprintf(&want, "%s/hols.json", s->dir) > 0);
        assert_string_equal(c->trust.holidays, want);
        free(want);
        assert_true(asprintf(&want, "%s/ca/relay.pem", s->dir) > 0);
        assert_string_equal(c->email.ca_file, want);
        free(want);
        assert_int_equal(c->daemon.catch_up, CATCH_UP_SKIP);
        assert_int_equal(c->channels[0].type, CHANNEL_DISCORD);
        assert_int_equal(c->nschools, 0);

        /* Monday 3 June 2030 is the file's one holiday; Tuesday is not. */
        assert_int_equal(calendar_last_year(c->calendar), 2030);
        assert_false(
            calendar_is_working_day(c->calendar, civil_days(2030, 6, 3)));
        assert_string_equal(
            calendar_holiday(c->calendar, civil_days(2030, 6, 3)), "Test Day");
        assert_true(
            calendar_is_working_day(c->calendar, civil_days(2030, 6, 4)));
        /* Friday 13 June 2025 is the trust's closure. */
        assert_int_equal(c->trust.nclosures, 1);
        assert_int_equal(c->trust.closures[0], civil_days(2025, 6, 13));
        assert_false(
            calendar_is_working_day(c->calendar, civil_days(2025, 6, 13)));

        assert_int_equal(c->rules[0].deadline.unit, RULE_MONTHS);
        assert_int_equal(c->rules[0].deadline.count, 3);
        assert_int_equal(c->rules[0].deadline.roll, 0);
        /* A kind that only a rule starts on is known (and may cancel). */
        assert_true(conf_known_kind(c, "withdrawn"));

        conf_destroy(&c);
}

/*
 * N faults give exactly N messages, in file order, each "path:line: ";
 * and no struct.
 */
static void
test_error_count(void **state)
{
        static const char *const five =
            "trust = {\n"                                               /* 1 */
            "  name = \"T\";\n"                                         /* 2 */
            "  holidays = \"" CONF_FX_HOLIDAYS "\";\n"                  /* 3 */
            "  colour = \"red\";\n"                                     /* 4 */
            "};\n"                                                      /* 5 */
            "email = { from = \"a@b.example\"; };\n"                    /* 6 */
            "channels = (\n"                                            /* 7 */
            "  { name = \"heads\"; type = \"email\"; to = [ "           /* 8 */
            "\"head@oak.example\" ]; }\n"                               /* 8 */
            ");\n"                                                      /* 9 */
            "schools = (\n"                                             /* 10 */
            "  { urn = \"1234\"; name = \"Oak\"; channels = [ "         /* 11 */
            "\"heads\", \"nobody\" ]; }\n"                              /* 11 */
            ");\n"                                                      /* 12 */
            "rules = (\n"                                               /* 13 */
            "  { name = \"r\"; event = \"notification\";\n"             /* 14 */
            "    deadline = { working_days = 0; time = \"24:00\"; };\n" /* 15 */
            "    alerts = [ \"-5x\" ]; }\n"                             /* 16 */
            ");\n";                                                     /* 17 */
        static const struct conf_fx_error want[] = {
                { 4, "'colour'" }, { 11, "'1234'" }, { 11, "'nobody'" },
                { 15, "'24:00'" }, { 16, "'-5x'" },
        };

        conf_fx_assert_refused(*state, "five.conf", five, want, 5);
}

static void
test_one_error(void **state)
{
        static const struct conf_fx_error want[] = { { 3, "https" } };

        conf_fx_assert_refused(
            *state, "one.conf",
            "trust = { name = \"T\"; holidays = \"" CONF_FX_HOLIDAYS "\"; };\n"
            "channels = ( { name = \"it\"; type = \"webhook\";\n"
            "  url = \"ftp://hooks.example/x\"; } );\n"
            "schools = ( );\n"
            "rules = ( );\n",
            want, 1);
}

static void
test_syntax_error(void **state)
{
        static const struct conf_fx_error want[] = { { 3, NULL } };

        conf_fx_assert_refused(*state, "syntax.conf",
                               "trust = {\n  name = \"T\";\n  closures = [ ;\n"
                               "};\n",
                               want, 1);
}

/* Loading `path` is refused with the one message `want`, which is freed. */
static void
assert_refused_with(const char *path, char *want)
{
        struct conf_errors errs;
        struct conf *c = conf_load(path, &errs);

        assert_null(c);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.msgs[0], want);
        conf_errors_free(&errs);
        free(want);
}

static void
test_missing_file(void **state)
{
        struct conf_fx_scratch *s = *state;
        char *path, *want;

        assert_true(asprintf(&path, "%s/absent.conf", s->dir) > 0);
        assert_true(asprintf(&want,
                             "%s: cannot read the file: No such file or "
                             "directory",
                             path) > 0);
        assert_refused_with(path, want);
        free(path);
}

/*
 * A directory as the file or in an @include, at any depth, is an error
 * (libconfig 1.5 would end the process reading it; found by fuzz_conf).
 */
static void
test_directory(void **state)
{
        struct conf_fx_scratch *s = *state;
        const char *path;
        char *want, *inner;

        assert_true(asprintf(&want, "%s: cannot read the file: Is a directory",
                             s->dir) > 0);
        assert_refused_with(s->dir, want);

        inner = strdup(
            conf_fx_scratch_write(s, "inner.conf", "a = 1;\n@include \"\"\n"));
        path = conf_fx_scratch_write(s, "outer.conf",
                                     "trust = { name = \"T\"; };\n"
                                     "  @include \"inner.conf\"\n");
        assert_true(asprintf(&want, "%s:2: @include '' is a directory", inner) >
                    0);
        assert_refused_with(path, want);
        free(inner);
}

/* One resolution: with RUNTIME_DIRECTORY and STATE_DIRECTORY set so (NULL:
 * unset), `path` resolves to `want`. */
struct path_case {
        const char *runtime, *state, *path, *want;
};

static void
set_or_unset(const char *name, const char *value)
{
        if (value == NULL)
                assert_int_equal(unsetenv(name), 0);
        else
                assert_int_equal(setenv(name, value, 1), 0);
}

/* Checks every case of `resolve` (named `what`), naming the row that
 * fails, and that NULL resolves to NULL; the environment is restored. */
static void
check_paths(char *(*resolve)(const char *), const char *what,
            const struct path_case *cases, size_t n)
{
        struct saved_env rt = env_save("RUNTIME_DIRECTORY");
        struct saved_env st = env_save("STATE_DIRECTORY");

        for (size_t i = 0; i < n; i++) {
                const struct path_case *k = &cases[i];
                char *got;

                set_or_unset("RUNTIME_DIRECTORY", k->runtime);
                set_or_unset("STATE_DIRECTORY", k->state);
                got = resolve(k->path);
                if (got == NULL || strcmp(got, k->want) != 0)
                        fail_msg("%s row %zu: '%s' with RUNTIME_DIRECTORY=%s "
                                 "STATE_DIRECTORY=%s is '%s', want '%s'",
                                 what, i, k->path,
                                 k->runtime ? k->runtime : "(unset)",
                                 k->state ? k->state : "(unset)",
                                 got ? got : "(null)", k->want);
                free(got);
        }
        assert_null(resolve(NULL));
        env_restore(&rt);
        env_restore(&st);
}

/* Relative ipc:// paths go under $RUNTIME_DIRECTORY, else under the
 * directory the systemd units give the daemon (README, "Files"); everything
 * else is left alone. */
static void
test_endpoint_path(void **state)
{
        static const struct path_case cases[] = {
                { NULL, NULL, "ipc://control.sock",
                  "ipc:///run/ofsted-notify/control.sock" },
                { NULL, NULL, "ipc://sub/feed.sock",
                  "ipc:///run/ofsted-notify/sub/feed.sock" },
                /* An empty variable is the same as none. */
                { "", NULL, "ipc://control.sock",
                  "ipc:///run/ofsted-notify/control.sock" },
                { "/run/on", NULL, "ipc://control.sock",
                  "ipc:///run/on/control.sock" },
                /* The state directory has nothing to do with sockets. */
                { "/run/on", "/var/lib/o", "ipc://feed.sock",
                  "ipc:///run/on/feed.sock" },
                /* A trailing slash is not doubled. */
                { "/run/o/", NULL, "ipc://control.sock",
                  "ipc:///run/o/control.sock" },
                /* systemd separates several RuntimeDirectory= entries with
                 * ':'. */
                { "/run/a:/run/b", NULL, "ipc://control.sock",
                  "ipc:///run/a/control.sock" },
                /* A relative directory stays relative. */
                { "rt", NULL, "ipc://control.sock", "ipc://rt/control.sock" },
                /* Absolute and abstract paths and other transports:
                 * unchanged. */
                { "rt", NULL, "ipc:///tmp/x.sock", "ipc:///tmp/x.sock" },
                { "rt", NULL, "ipc://@ofsted", "ipc://@ofsted" },
                { "rt", NULL, "tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555" },
        };

        (void)state;
        check_paths(conf_endpoint_path, "endpoint", cases,
                    sizeof(cases) / sizeof(cases[0]));
}

/* Relative state paths go under $STATE_DIRECTORY, else the units' state
 * directory. */
static void
test_state_path(void **state)
{
        static const struct path_case cases[] = {
                { "/run/o", NULL, "state.db",
                  "/var/lib/ofsted-notify/state.db" },
                { "/run/o", "", "state.db", "/var/lib/ofsted-notify/state.db" },
                { "/run/o", "/srv/on", "state.db", "/srv/on/state.db" },
                { "/run/o", "/srv/on", "db/state.db", "/srv/on/db/state.db" },
                { "/run/o", "/var/lib/a:/var/lib/b", "state.db",
                  "/var/lib/a/state.db" },
                /* An absolute path is used as written. */
                { "/run/o", "/var/lib/a:/var/lib/b", "/srv/o/state.db",
                  "/srv/o/state.db" },
        };

        (void)state;
        check_paths(conf_state_path, "state", cases,
                    sizeof(cases) / sizeof(cases[0]));
}

static void
test_destroy_null(void **state)
{
        struct conf *c = NULL;

        (void)state;
        conf_destroy(NULL);
        conf_destroy(&c);
        assert_null(c);
}

UNIT_MAIN({
    cmocka_unit_test(test_example_trust),
    cmocka_unit_test(test_example_daemon_email),
    cmocka_unit_test(test_lookups),
    cmocka_unit_test(test_default_path),
    cmocka_unit_test_setup_teardown(test_defaults, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_relative_holidays_and_closures,
                                    conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_error_count, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_one_error, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_syntax_error, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_missing_file, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_directory, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test(test_endpoint_path),
    cmocka_unit_test(test_state_path),
    cmocka_unit_test(test_destroy_null),
})
