/*
 * Tests for conf: the shipped example loaded into the struct, the defaults,
 * the lookups, the default path and the error collection. Every expected
 * value comes from DESIGN.md section 3, config/ofsted-notify.conf or
 * config/bank-holidays.json as read by a person (times worked out by hand:
 * 16:30 is 16 * 3600 + 30 * 60 = 59400 seconds); none was copied from what
 * the loader printed. Small configs are written to a mkdtemp() directory and
 * removed again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "calendar.h"
#include "civil.h"
#include "conf.h"
#include "rules.h"
#include "template.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXAMPLE   SOURCE_DIR "/config/ofsted-notify.conf"
#define HOLIDAYS  SOURCE_DIR "/config/bank-holidays.json"
#define MAX_FILES 8

/* A scratch directory and the files written into it. */
struct scratch {
        char dir[64];
        char *files[MAX_FILES];
        size_t nfiles;
};

static int
scratch_setup(void **state)
{
        struct scratch *s = calloc(1, sizeof(*s));
        const char *tmp = getenv("TMPDIR");

        if (s == NULL)
                return -1;
        if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 40)
                tmp = "/tmp";
        snprintf(s->dir, sizeof(s->dir), "%s/test_conf.XXXXXX", tmp);
        if (mkdtemp(s->dir) == NULL) {
                free(s);
                return -1;
        }
        *state = s;
        return 0;
}

static int
scratch_teardown(void **state)
{
        struct scratch *s = *state;
        int rc = 0;

        for (size_t i = 0; i < s->nfiles; i++) {
                if (unlink(s->files[i]) < 0)
                        rc = -1;
                free(s->files[i]);
        }
        if (rmdir(s->dir) < 0)
                rc = -1;
        free(s);
        return rc;
}

/* Writes `text` to `name` in the scratch directory; the path is borrowed. */
static const char *
scratch_write(struct scratch *s, const char *name, const char *text)
{
        char *path;
        FILE *f;

        assert_true(s->nfiles < MAX_FILES);
        assert_true(asprintf(&path, "%s/%s", s->dir, name) > 0);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        s->files[s->nfiles++] = path;
        return path;
}

/* Absent optional strings: the loader may leave NULL or "" (see conf.h). */
static void
assert_absent(const char *v)
{
        if (v != NULL)
                assert_string_equal(v, "");
}

static void
assert_offset(const struct alert_offset *o, enum alert_anchor anchor,
              int64_t amount, bool days, const char *text)
{
        assert_int_equal(o->anchor, anchor);
        assert_int_equal(o->amount, amount);
        assert_int_equal(o->days, days);
        assert_string_equal(o->text, text);
}

static void
assert_strv(char **v, size_t n, const char *const *want, size_t nwant)
{
        assert_int_equal(n, nwant);
        for (size_t i = 0; i < nwant; i++)
                assert_string_equal(v[i], want[i]);
}

/* Message i of errs starts with "path:line: ". */
static void
assert_error_at(const struct conf_errors *errs, size_t i, const char *path,
                int line)
{
        char *prefix;

        assert_true(i < errs->n);
        assert_true(asprintf(&prefix, "%s:%d: ", path, line) > 0);
        if (strncmp(errs->msgs[i], prefix, strlen(prefix)) != 0)
                fail_msg("message %zu is '%s', want it to start with '%s'", i,
                         errs->msgs[i], prefix);
        free(prefix);
}

static void
test_example_trust(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(EXAMPLE, &errs);

        (void)state;
        assert_int_equal(errs.n, 0);
        assert_non_null(c);
        assert_string_equal(c->path, EXAMPLE);
        assert_string_equal(c->dir, SOURCE_DIR "/config");
        assert_string_equal(c->trust.name, "Example Learning Trust");
        assert_string_equal(c->trust.timezone, "Europe/London");
        assert_string_equal(c->trust.division, "england-and-wales");
        /* "bank-holidays.json", relative to the config file's directory. */
        assert_string_equal(c->trust.holidays, HOLIDAYS);
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

static void
test_example_daemon_email(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(EXAMPLE, &errs);

        (void)state;
        assert_non_null(c);
        assert_string_equal(c->daemon.state, "state.db");
        assert_string_equal(c->daemon.control, "ipc://control.sock");
        assert_string_equal(c->daemon.dispatch, "ipc://dispatch.sock");
        assert_string_equal(c->daemon.feed, "ipc://feed.sock");
        assert_int_equal(c->daemon.catch_up, CATCH_UP_LATE);

        assert_true(c->email.present);
        assert_string_equal(c->email.smtp, "smtp://localhost:25");
        assert_int_equal(c->email.tls, EMAIL_TLS_STARTTLS);
        assert_string_equal(c->email.from,
                            "Ofsted alerts <alerts@trust.example>");
        /* username and password_file are commented out in the example. */
        assert_absent(c->email.username);
        assert_absent(c->email.password_file);
        assert_absent(c->email.bearer_token_file);
        assert_absent(c->email.ca_file);

        conf_destroy(&c);
        conf_errors_free(&errs);
}

static void
test_example_channels_schools(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(EXAMPLE, &errs);
        const struct channel *ch;
        const struct school *s;

        (void)state;
        assert_non_null(c);
        assert_int_equal(c->nchannels, 3);

        ch = &c->channels[0];
        assert_string_equal(ch->name, "heads");
        assert_int_equal(ch->type, CHANNEL_EMAIL);
        assert_int_equal(ch->nto, 1);
        assert_string_equal(ch->to[0], "head@oak.example");
        assert_absent(ch->url);
        assert_absent(ch->url_file);
        assert_absent(ch->secret_file);

        ch = &c->channels[1];
        assert_string_equal(ch->name, "leaders");
        assert_int_equal(ch->type, CHANNEL_TEAMS);
        assert_int_equal(ch->nto, 0);
        assert_absent(ch->url);
        assert_string_equal(ch->url_file, "secrets/teams-leaders.url");
        assert_absent(ch->secret_file);

        ch = &c->channels[2];
        assert_string_equal(ch->name, "it");
        assert_int_equal(ch->type, CHANNEL_WEBHOOK);
        assert_int_equal(ch->nto, 0);
        assert_string_equal(ch->url, "https://hooks.trust.example/ofsted");
        assert_absent(ch->url_file);
        assert_string_equal(ch->secret_file, "secrets/it.key");

        assert_int_equal(c->nschools, 1);
        s = &c->schools[0];
        assert_string_equal(s->urn, "100001");
        assert_string_equal(s->name, "Oak Primary");
        assert_int_equal(s->nchannels, 2);
        assert_int_equal(s->channels[0], 0); /* heads */
        assert_int_equal(s->channels[1], 1); /* leaders */

        conf_destroy(&c);
        conf_errors_free(&errs);
}

static void
test_example_rules(void **state)
{
        static const char *const cutoff_cancel[] = { "deferred", "cancelled" };
        static const char *const cancelled[] = { "cancelled" };
        static const char *const pause_cancel[] = { "resume", "conclusion",
                                                    "cancelled" };
        static const char *const it[] = { "it" };
        struct conf_errors errs;
        struct conf *c = conf_load(EXAMPLE, &errs);
        const struct rule *r;

        (void)state;
        assert_non_null(c);
        assert_int_equal(c->nrules, 6);

        /* deferral_cutoff: the notification day (0) at 16:30. */
        r = &c->rules[0];
        assert_string_equal(r->name, "deferral_cutoff");
        assert_string_equal(r->event, "notification");
        assert_non_null(r->action);
        assert_non_null(strstr(r->action, "ask for a deferral"));
        assert_true(r->enabled);
        assert_false(r->has_opens);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 0);
        assert_int_equal(r->deadline.secs, 59400);
        assert_int_equal(r->nalerts, 4);
        assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        assert_offset(&r->alerts[1], ALERT_DEADLINE, -3600, false, "-60m");
        assert_offset(&r->alerts[2], ALERT_DEADLINE, -1800, false, "-30m");
        assert_offset(&r->alerts[3], ALERT_DEADLINE, 0, false, "deadline");
        assert_int_equal(r->nchannels, 0);
        assert_strv(r->cancel_on, r->ncancel_on, cutoff_cancel, 2);

        /* concern_window: opens 08:00 and closes 18:00 on working day 1. */
        r = &c->rules[1];
        assert_string_equal(r->name, "concern_window");
        assert_string_equal(r->event, "conclusion");
        assert_true(r->enabled);
        assert_true(r->has_opens);
        assert_int_equal(r->opens.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->opens.count, 1);
        assert_int_equal(r->opens.secs, 28800);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 1);
        assert_int_equal(r->deadline.secs, 64800);
        assert_int_equal(r->nalerts, 3);
        assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        assert_offset(&r->alerts[1], ALERT_OPENS, 0, false, "opens");
        assert_offset(&r->alerts[2], ALERT_DEADLINE, -7200, false, "-2h");
        assert_strv(r->cancel_on, r->ncancel_on, cancelled, 1);

        /* pause_expected: next working day at 08:00. */
        r = &c->rules[2];
        assert_string_equal(r->name, "pause_expected");
        assert_string_equal(r->event, "pause");
        assert_false(r->has_opens);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 1);
        assert_int_equal(r->deadline.secs, 28800);
        assert_int_equal(r->nalerts, 1);
        assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        assert_strv(r->cancel_on, r->ncancel_on, pause_cancel, 3);

        /* pause_limit: fifth working day at 17:00, plus the "it" channel. */
        r = &c->rules[3];
        assert_string_equal(r->name, "pause_limit");
        assert_string_equal(r->event, "pause");
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 5);
        assert_int_equal(r->deadline.secs, 61200);
        assert_int_equal(r->nalerts, 2);
        /* A day offset counts whole days, keeping the time of day. */
        assert_offset(&r->alerts[0], ALERT_DEADLINE, -1, true, "-1d");
        assert_offset(&r->alerts[1], ALERT_DEADLINE, 0, false, "deadline");
        assert_strv(r->channels, r->nchannels, it, 1);
        assert_strv(r->cancel_on, r->ncancel_on, pause_cancel, 3);

        /* factual_accuracy: fifth working day at 17:00. */
        r = &c->rules[4];
        assert_string_equal(r->name, "factual_accuracy");
        assert_string_equal(r->event, "draft_report");
        assert_true(r->enabled);
        assert_int_equal(r->deadline.unit, RULE_WORKING_DAYS);
        assert_int_equal(r->deadline.count, 5);
        assert_int_equal(r->deadline.secs, 61200);
        assert_int_equal(r->nalerts, 3);
        assert_offset(&r->alerts[0], ALERT_EVENT, 0, false, "event");
        assert_offset(&r->alerts[1], ALERT_DEADLINE, -1, true, "-1d");
        assert_offset(&r->alerts[2], ALERT_DEADLINE, -7200, false, "-2h");
        assert_strv(r->cancel_on, r->ncancel_on, cancelled, 1);

        /* monitoring_due: off; 18 months at 09:00, rolled forward. */
        r = &c->rules[5];
        assert_string_equal(r->name, "monitoring_due");
        assert_string_equal(r->event, "report_published");
        assert_false(r->enabled);
        assert_false(r->has_opens);
        assert_int_equal(r->deadline.unit, RULE_MONTHS);
        assert_int_equal(r->deadline.count, 18);
        assert_int_equal(r->deadline.secs, 32400);
        assert_int_equal(r->deadline.roll, 1);
        assert_int_equal(r->nalerts, 1);
        assert_offset(&r->alerts[0], ALERT_DEADLINE, -1, true, "-1d");
        assert_int_equal(r->nchannels, 0);
        assert_int_equal(r->ncancel_on, 0);

        conf_destroy(&c);
        conf_errors_free(&errs);
}

static void
test_lookups(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(EXAMPLE, &errs);

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

static void
test_default_path(void **state)
{
        const char *saved = getenv(CONF_ENV);
        char *copy = saved != NULL ? strdup(saved) : NULL;

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

        if (copy != NULL)
                setenv(CONF_ENV, copy, 1);
        else
                unsetenv(CONF_ENV);
        free(copy);
}

/* No daemon group: every daemon default; no email group: none needed. */
static void
test_defaults(void **state)
{
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        const char *path;
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
                     HOLIDAYS) > 0);
        path = scratch_write(s, "defaults.conf", text);
        free(text);

        c = conf_load(path, &errs);
        assert_int_equal(errs.n, 0);
        assert_non_null(c);
        assert_string_equal(c->daemon.state, "state.db");
        assert_string_equal(c->daemon.control, "ipc://control.sock");
        assert_string_equal(c->daemon.dispatch, "ipc://dispatch.sock");
        assert_string_equal(c->daemon.feed, "ipc://feed.sock");
        assert_int_equal(c->daemon.catch_up, CATCH_UP_LATE);
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
        assert_offset(&c->rules[0].alerts[0], ALERT_EVENT, 30, false, "+30s");
        assert_offset(&c->rules[0].alerts[1], ALERT_EVENT, 3600, false, "+1h");
        assert_offset(&c->rules[0].alerts[2], ALERT_DEADLINE, -5400, false,
                      "-90m");

        conf_destroy(&c);
        conf_errors_free(&errs);
        assert_int_equal(errs.n, 0);
        assert_null(errs.msgs);
}

/* A relative holidays path and CA file are found next to the config;
 * closures count. */
static void
test_relative_holidays_and_closures(void **state)
{
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        const char *path;
        char *want;

        scratch_write(
            s, "hols.json",
            "{\"england-and-wales\": {\"division\": \"england-and-wales\", "
            "\"events\": [{\"title\": \"Test Day\", \"date\": \"2030-06-03\", "
            "\"notes\": \"\", \"bunting\": false}]}}\n");
        path = scratch_write(
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

        c = conf_load(path, &errs);
        assert_int_equal(errs.n, 0);
        assert_non_null(c);
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
        conf_errors_free(&errs);
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
            "  holidays = \"" HOLIDAYS "\";\n"                          /* 3 */
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
        static const int lines[] = { 4, 11, 11, 15, 16 };
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        const char *path;

        path = scratch_write(s, "five.conf", five);
        c = conf_load(path, &errs);
        assert_null(c);
        assert_int_equal(errs.n, 5);
        for (size_t i = 0; i < 5; i++)
                assert_error_at(&errs, i, path, lines[i]);
        assert_non_null(strstr(errs.msgs[0], "'colour'"));
        assert_non_null(strstr(errs.msgs[1], "'1234'"));
        assert_non_null(strstr(errs.msgs[2], "'nobody'"));
        assert_non_null(strstr(errs.msgs[3], "'24:00'"));
        assert_non_null(strstr(errs.msgs[4], "'-5x'"));
        conf_errors_free(&errs);
        assert_int_equal(errs.n, 0);
        assert_null(errs.msgs);
}

static void
test_one_error(void **state)
{
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        const char *path;

        path = scratch_write(
            s, "one.conf",
            "trust = { name = \"T\"; holidays = \"" HOLIDAYS "\"; };\n"
            "channels = ( { name = \"it\"; type = \"webhook\";\n"
            "  url = \"ftp://hooks.example/x\"; } );\n"
            "schools = ( );\n"
            "rules = ( );\n");
        c = conf_load(path, &errs);
        assert_null(c);
        assert_int_equal(errs.n, 1);
        assert_error_at(&errs, 0, path, 3);
        assert_non_null(strstr(errs.msgs[0], "https"));
        conf_errors_free(&errs);
}

static void
test_syntax_error(void **state)
{
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        const char *path;

        path = scratch_write(s, "syntax.conf",
                             "trust = {\n  name = \"T\";\n  closures = [ ;\n"
                             "};\n");
        c = conf_load(path, &errs);
        assert_null(c);
        assert_int_equal(errs.n, 1);
        assert_error_at(&errs, 0, path, 3);
        conf_errors_free(&errs);
}

static void
test_missing_file(void **state)
{
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        char *path, *want;

        assert_true(asprintf(&path, "%s/absent.conf", s->dir) > 0);
        assert_true(asprintf(&want,
                             "%s: cannot read the file: No such file or "
                             "directory",
                             path) > 0);
        c = conf_load(path, &errs);
        assert_null(c);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.msgs[0], want);
        conf_errors_free(&errs);
        free(want);
        free(path);
}

/*
 * A directory as the file or in an @include, at any depth, is an error
 * (libconfig 1.5 would end the process reading it; found by fuzz_conf).
 */
static void
test_directory(void **state)
{
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        const char *path;
        char *want, *inner;

        assert_true(asprintf(&want, "%s: cannot read the file: Is a directory",
                             s->dir) > 0);
        c = conf_load(s->dir, &errs);
        assert_null(c);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.msgs[0], want);
        conf_errors_free(&errs);
        free(want);

        inner =
            strdup(scratch_write(s, "inner.conf", "a = 1;\n@include \"\"\n"));
        path = scratch_write(s, "outer.conf",
                             "trust = { name = \"T\"; };\n"
                             "  @include \"inner.conf\"\n");
        assert_true(asprintf(&want, "%s:2: @include '' is a directory", inner) >
                    0);
        c = conf_load(path, &errs);
        assert_null(c);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.msgs[0], want);
        conf_errors_free(&errs);
        free(want);
        free(inner);
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

/* Checks one resolution and frees it. */
static void
check_path(char *got, const char *want)
{
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

/* Relative ipc:// paths go under $RUNTIME_DIRECTORY, else under the
 * directory the systemd units give the daemon (README, "Files"); everything
 * else is left alone. */
static void
test_endpoint_path(void **state)
{
        struct saved_env rt = env_save("RUNTIME_DIRECTORY");
        struct saved_env st = env_save("STATE_DIRECTORY");

        (void)state;
        assert_int_equal(unsetenv("RUNTIME_DIRECTORY"), 0);
        check_path(conf_endpoint_path("ipc://control.sock"),
                   "ipc:///run/ofsted-notify/control.sock");
        check_path(conf_endpoint_path("ipc://sub/feed.sock"),
                   "ipc:///run/ofsted-notify/sub/feed.sock");
        /* An empty variable is the same as none. */
        assert_int_equal(setenv("RUNTIME_DIRECTORY", "", 1), 0);
        check_path(conf_endpoint_path("ipc://control.sock"),
                   "ipc:///run/ofsted-notify/control.sock");

        assert_int_equal(setenv("RUNTIME_DIRECTORY", "/run/on", 1), 0);
        check_path(conf_endpoint_path("ipc://control.sock"),
                   "ipc:///run/on/control.sock");
        /* The state directory has nothing to do with sockets. */
        assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/o", 1), 0);
        check_path(conf_endpoint_path("ipc://feed.sock"),
                   "ipc:///run/on/feed.sock");
        /* A trailing slash is not doubled. */
        assert_int_equal(setenv("RUNTIME_DIRECTORY", "/run/o/", 1), 0);
        check_path(conf_endpoint_path("ipc://control.sock"),
                   "ipc:///run/o/control.sock");
        /* systemd separates several RuntimeDirectory= entries with ':'. */
        assert_int_equal(setenv("RUNTIME_DIRECTORY", "/run/a:/run/b", 1), 0);
        check_path(conf_endpoint_path("ipc://control.sock"),
                   "ipc:///run/a/control.sock");
        /* A relative directory stays relative. */
        assert_int_equal(setenv("RUNTIME_DIRECTORY", "rt", 1), 0);
        check_path(conf_endpoint_path("ipc://control.sock"),
                   "ipc://rt/control.sock");

        /* Absolute and abstract paths and other transports: unchanged. */
        check_path(conf_endpoint_path("ipc:///tmp/x.sock"),
                   "ipc:///tmp/x.sock");
        check_path(conf_endpoint_path("ipc://@ofsted"), "ipc://@ofsted");
        check_path(conf_endpoint_path("tcp://127.0.0.1:5555"),
                   "tcp://127.0.0.1:5555");
        assert_null(conf_endpoint_path(NULL));

        env_restore(&rt);
        env_restore(&st);
}

/* Relative state paths go under $STATE_DIRECTORY, else the units' state
 * directory. */
static void
test_state_path(void **state)
{
        struct saved_env rt = env_save("RUNTIME_DIRECTORY");
        struct saved_env st = env_save("STATE_DIRECTORY");

        (void)state;
        assert_int_equal(unsetenv("STATE_DIRECTORY"), 0);
        assert_int_equal(setenv("RUNTIME_DIRECTORY", "/run/o", 1), 0);
        check_path(conf_state_path("state.db"),
                   "/var/lib/ofsted-notify/state.db");
        assert_int_equal(setenv("STATE_DIRECTORY", "", 1), 0);
        check_path(conf_state_path("state.db"),
                   "/var/lib/ofsted-notify/state.db");

        assert_int_equal(setenv("STATE_DIRECTORY", "/srv/on", 1), 0);
        check_path(conf_state_path("state.db"), "/srv/on/state.db");
        check_path(conf_state_path("db/state.db"), "/srv/on/db/state.db");
        assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/a:/var/lib/b", 1),
                         0);
        check_path(conf_state_path("state.db"), "/var/lib/a/state.db");
        /* An absolute path is used as written. */
        check_path(conf_state_path("/srv/o/state.db"), "/srv/o/state.db");
        assert_null(conf_state_path(NULL));

        env_restore(&rt);
        env_restore(&st);
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

/* Without a templates group every type gets the defaults (template.h). */
static void
test_templates_default(void **state)
{
        struct conf_errors errs;
        struct conf *c = conf_load(EXAMPLE, &errs);

        (void)state;
        assert_non_null(c);
        for (int t = 0; t < CHANNEL_NTYPES; t++) {
                assert_string_equal(
                    conf_template(c, (enum channel_type)t, true),
                    TEMPLATE_DEFAULT_TITLE);
                assert_string_equal(
                    conf_template(c, (enum channel_type)t, false),
                    TEMPLATE_DEFAULT_TEXT);
        }
        conf_destroy(&c);
        conf_errors_free(&errs);
}

#define TEMPLATE_BASE                                               \
        "trust = { name = \"T\"; holidays = \"" HOLIDAYS "\"; };\n" \
        "channels = ( { name = \"s\"; type = \"slack\"; "           \
        "url = \"https://hooks.example/s\"; } );\n"                 \
        "schools = ( );\n"                                          \
        "rules = ( );\n"

/* A type's own title or text replaces the default for that type only. */
static void
test_templates_own(void **state)
{
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        const char *path;

        path = scratch_write(
            s, "templates.conf",
            TEMPLATE_BASE
            "templates = {\n"
            "  slack = { title = \"{{late}}{{school}} ({{urn}}): by {{due}}\"; "
            "};\n"
            "  email = { text = \"{{action}}\\nBy {{ due }} ({{due_iso}}).\\n"
            "{{warning}}\"; title = \"{{rule}} at {{school}}\"; };\n"
            "  webhook = { };\n"
            "};\n");
        c = conf_load(path, &errs);
        if (errs.n > 0)
                fail_msg("%s", errs.msgs[0]);
        assert_non_null(c);
        assert_string_equal(conf_template(c, CHANNEL_SLACK, true),
                            "{{late}}{{school}} ({{urn}}): by {{due}}");
        assert_string_equal(conf_template(c, CHANNEL_SLACK, false),
                            TEMPLATE_DEFAULT_TEXT);
        assert_string_equal(conf_template(c, CHANNEL_EMAIL, true),
                            "{{rule}} at {{school}}");
        /* A text may span lines. */
        assert_string_equal(conf_template(c, CHANNEL_EMAIL, false),
                            "{{action}}\nBy {{ due }} ({{due_iso}}).\n"
                            "{{warning}}");
        assert_string_equal(conf_template(c, CHANNEL_WEBHOOK, true),
                            TEMPLATE_DEFAULT_TITLE);
        assert_string_equal(conf_template(c, CHANNEL_TEAMS, false),
                            TEMPLATE_DEFAULT_TEXT);
        conf_destroy(&c);
        conf_errors_free(&errs);
}

/* Every fault in the templates group, each at its own line. */
static void
test_templates_errors(void **state)
{
        static const struct {
                int line;
                const char *text;
        } want[] = {
                /* Unknown keys first in a group, as everywhere. */
                { 7, "unknown key 'body' in templates.slack" },
                { 6, "templates.slack.title: unknown placeholder '{{schol}}' "
                     "(known: " TEMPLATE_NAMES ")" },
                { 8, "unknown channel type 'sms' in templates (types: email "
                     "teams google_chat slack discord mattermost webhook)" },
                { 9, "templates.teams.title contains a control character (a "
                     "title is one line)" },
                { 10, "templates.discord.text: unterminated placeholder" },
                { 11, "templates.mattermost.text must be a string" },
                { 12, "templates.google_chat.title must not be empty" },
                { 13, "templates.email must be a group { ... }" },
        };
        struct scratch *s = *state;
        struct conf_errors errs;
        struct conf *c;
        const char *path;

        path = scratch_write(
            s, "bad_templates.conf",
            TEMPLATE_BASE                                     /* 1-4 */
            "templates = {\n"                                 /* 5 */
            "  slack = { title = \"{{school}} {{schol}}\";\n" /* 6 */
            "    body = \"x\"; };\n"                          /* 7 */
            "  sms = { title = \"x\"; };\n"                   /* 8 */
            "  teams = { title = \"a\\nb\"; };\n"             /* 9 */
            "  discord = { text = \"by {{due\"; };\n"         /* 10 */
            "  mattermost = { text = 5; };\n"                 /* 11 */
            "  google_chat = { title = \"\"; };\n"            /* 12 */
            "  email = \"x\";\n"                              /* 13 */
            "};\n");
        c = conf_load(path, &errs);
        assert_null(c);
        assert_int_equal(errs.n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < errs.n; i++) {
                assert_error_at(&errs, i, path, want[i].line);
                if (strstr(errs.msgs[i], want[i].text) == NULL)
                        fail_msg("message '%s' lacks '%s'", errs.msgs[i],
                                 want[i].text);
        }
        conf_errors_free(&errs);
}

/* `n` copies of `unit` (a character of one or more bytes); caller frees. */
static char *
repeat(const char *unit, size_t n)
{
        size_t len = strlen(unit);
        char *out = malloc(n * len + 1);

        assert_non_null(out);
        for (size_t i = 0; i < n; i++)
                memcpy(out + i * len, unit, len);
        out[n * len] = '\0';
        return out;
}

/*
 * Texts that reach every channel have limits (conf.h, counted in
 * characters, not bytes): one over is refused at its line, a 1 MB name
 * too; exactly the limit, in two-byte characters, passes.
 */
static void
test_text_limits(void **state)
{
        static const struct {
                int line;
                const char *text;
        } want[] = {
                { 1, "the trust's name is 121 characters long; at most 120 "
                     "are allowed" },
                { 5, "a school's name is 1048576 characters long; at most "
                     "120 are allowed" },
                { 6, "a rule's action is 1001 characters long; at most 1000 "
                     "are allowed" },
                { 10, "templates.slack.title is 201 characters long; at most "
                      "200 are allowed" },
                { 11, "templates.slack.text is 2001 characters long; at most "
                      "2000 are allowed" },
        };
        struct scratch *s = *state;
        char *n121 = repeat("x", 121), *n120 = repeat("\xc3\xa9", 120);
        char *huge = repeat("x", 1 << 20), *a1001 = repeat("a", 1001);
        char *a1000 = repeat("\xc3\xa9", 1000), *t201 = repeat("t", 201);
        char *t200 = repeat("\xc3\xa9", 200), *x2001 = repeat("x", 2001);
        char *x2000 = repeat("\xc3\xa9", 2000), *text, *good;
        struct conf_errors errs;
        struct conf *c;
        const char *path;

        assert_true(
            asprintf(&text,
                     "trust = { name = \"%s\"; holidays = \"" HOLIDAYS
                     "\"; };\n" /* 1 */
                     "channels = ( { name = \"s\"; type = \"slack\"; "
                     "url = \"https://hooks.example/s\"; } );\n" /* 2 */
                     "schools = (\n"                             /* 3 */
                     "  { urn = \"100001\"; name = \"%s\"; channels = [ "
                     "\"s\" ]; },\n" /* 4 */
                     "  { urn = \"100002\"; name = \"%s\"; channels = [ "
                     "\"s\" ]; } );\n" /* 5 */
                     "rules = ( { name = \"r\"; event = \"pause\"; "
                     "action = \"%s\";\n" /* 6 */
                     "  deadline = { working_days = 1; time = \"08:00\"; "
                     "}; alerts = [ \"deadline\" ]; },\n" /* 7 */
                     "  { name = \"q\"; event = \"pause\"; action = \"%s\"; "
                     "deadline = { working_days = 1; time = \"09:00\"; "
                     "}; alerts = [ \"deadline\" ]; } );\n"            /* 8 */
                     "templates = {\n"                                 /* 9 */
                     "  slack = { title = \"%s\";\n"                   /* 10 */
                     "    text = \"%s\"; };\n"                         /* 11 */
                     "  teams = { title = \"%s\"; text = \"%s\"; };\n" /* 12 */
                     "};\n",
                     n121, n120, huge, a1001, a1000, t201, x2001, t200,
                     x2000) > 0);
        path = scratch_write(s, "limits.conf", text);
        c = conf_load(path, &errs);
        assert_null(c);
        assert_int_equal(errs.n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < errs.n; i++) {
                assert_error_at(&errs, i, path, want[i].line);
                if (strstr(errs.msgs[i], want[i].text) == NULL)
                        fail_msg("message '%.200s' lacks '%s'", errs.msgs[i],
                                 want[i].text);
        }
        conf_errors_free(&errs);

        /* At the limits, every one of them: loaded. */
        assert_true(
            asprintf(&good,
                     "trust = { name = \"%s\"; holidays = \"" HOLIDAYS
                     "\"; };\n"
                     "channels = ( { name = \"s\"; type = \"slack\"; "
                     "url = \"https://hooks.example/s\"; } );\n"
                     "schools = ( { urn = \"100001\"; name = \"%s\"; "
                     "channels = [ \"s\" ]; } );\n"
                     "rules = ( { name = \"q\"; event = \"pause\"; "
                     "action = \"%s\"; deadline = { working_days = 1; "
                     "time = \"09:00\"; }; alerts = [ \"deadline\" ]; } );\n"
                     "templates = { teams = { title = \"%s\"; "
                     "text = \"%s\"; }; };\n",
                     n120, n120, a1000, t200, x2000) > 0);
        path = scratch_write(s, "limits_ok.conf", good);
        c = conf_load(path, &errs);
        if (c == NULL)
                fail_msg("at the limits: %.300s", errs.msgs[0]);
        assert_int_equal(strlen(c->trust.name), 240);
        assert_string_equal(c->schools[0].name, n120);
        assert_string_equal(c->rules[0].action, a1000);
        conf_destroy(&c);
        free(good);
        free(text);
        free(n121);
        free(n120);
        free(huge);
        free(a1001);
        free(a1000);
        free(t201);
        free(t200);
        free(x2001);
        free(x2000);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_example_trust),
                cmocka_unit_test(test_example_daemon_email),
                cmocka_unit_test(test_example_channels_schools),
                cmocka_unit_test(test_example_rules),
                cmocka_unit_test(test_lookups),
                cmocka_unit_test(test_default_path),
                cmocka_unit_test_setup_teardown(test_defaults, scratch_setup,
                                                scratch_teardown),
                cmocka_unit_test_setup_teardown(
                    test_relative_holidays_and_closures, scratch_setup,
                    scratch_teardown),
                cmocka_unit_test_setup_teardown(test_error_count, scratch_setup,
                                                scratch_teardown),
                cmocka_unit_test_setup_teardown(test_one_error, scratch_setup,
                                                scratch_teardown),
                cmocka_unit_test_setup_teardown(
                    test_syntax_error, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(
                    test_missing_file, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(test_directory, scratch_setup,
                                                scratch_teardown),
                cmocka_unit_test(test_endpoint_path),
                cmocka_unit_test(test_state_path),
                cmocka_unit_test(test_destroy_null),
                cmocka_unit_test(test_templates_default),
                cmocka_unit_test_setup_teardown(
                    test_templates_own, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(
                    test_templates_errors, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(test_text_limits, scratch_setup,
                                                scratch_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
