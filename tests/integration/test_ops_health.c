/*
 * Running it for years, against the real daemon whose wall clock the test
 * steps (libfaketime): retention blanks contact details and then deletes
 * closed cases, logged, in `status` and in the audit trail; each channel's
 * scheduled check goes through the real path (a worker, httpsink) and
 * `status` and the metrics say when each channel last delivered and which
 * are stale or failing; the audit trail records who did what from where;
 * export holds everything about a school's cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"

#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define URN       "100001"
#define URN2      "100002"
#define WAIT_MS   20000
#define DAY       86400L
#define CONTACT   "Lead inspector Ann Smith 07700 900123"
#define NOTE      "Call the head first"
#define WEEKLY    "Weekly check of the Ofsted alert channel"
#define DAILY     "Daily check of the Ofsted alert channel"
#define NO_SCRIPT NULL

struct fx {
        struct cluster c;
};
/* c first: teardown() is cluster_teardown(), which frees f as its c. */
_Static_assert(offsetof(struct fx, c) == 0, "struct fx starts with c");

static int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));

        if (f == NULL || cluster_init(&f->c, "test_ops") < 0) {
                free(f);
                return -1;
        }
        *state = f;
        return cluster_httpsink_start(&f->c);
}

static int
teardown(void **state)
{
        return cluster_teardown(state);
}

/* Retention leaves the open case of URN2 its contact. */
static void
assert_open_contact_kept(struct fx *f)
{
        json_t *r =
            cluster_ctl_json(&f->c, "show", "--school", URN2, "--json", NULL);

        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(r, "case"), "contact")),
                            CONTACT);
        json_decref(r);
}

/* The scheduler's wall clock: the others' plus `days`. */
static void
clock_days(struct fx *f, long days)
{
        cluster_clock_set(&f->c, days * DAY);
}

/*
 * Two schools; channels "hook" (weekly check), "daily" (daily), "quiet"
 * (no check) and "gone" (its receiver says 404), each of its own path; the
 * rule followup (an hour and two after a notification); `daemon` more
 * settings for the daemon group.
 */
static void
write_conf(struct fx *f, const char *daemon)
{
        struct cluster_conf k = { .daemon = daemon, .retry_base = 1 };
        FILE *fp = cluster_conf_begin(&f->c, &k);
        static const char *const chans[][2] = {
                { "hook", "weekly" },
                { "daily", "daily" },
                { "quiet", "off" },
                { "gone", "weekly" },
        };

        fprintf(fp, "channels = (\n");
        for (size_t i = 0; i < 4; i++)
                fprintf(fp,
                        "  { name = \"%s\"; type = \"webhook\"; check = "
                        "\"%s\";\n    url = \"http://127.0.0.1:%d/%s\"; }%s\n",
                        chans[i][0], chans[i][1], f->c.port, chans[i][0],
                        i < 3 ? "," : "");
        fprintf(fp,
                ");\nschools = (\n"
                "  { urn = \"%s\"; name = \"Oak Primary\";"
                " channels = [ \"hook\" ]; },\n"
                "  { urn = \"%s\"; name = \"Ash Primary\";"
                " channels = [ \"hook\" ]; } );\n"
                "rules = (\n"
                "  { name = \"followup\"; event = \"notification\";\n"
                "    action = \"Follow up.\";\n"
                "    deadline = { working_days = 10; time = \"17:00\"; };\n"
                "    alerts = [ \"+1h\", \"+2h\" ]; } );\n",
                URN, URN2);
        cluster_conf_end(fp);
}

/* Starts the scheduler on a clock this test steps (at the others'). */
static void
daemon_start(struct fx *f)
{
        cluster_daemon_start(&f->c, cluster_clock_env(&f->c));
}

/* The member `key` of status's channel `name`. */
static json_t *
channel_status(json_t *status, const char *name)
{
        size_t i;
        json_t *ch;

        json_array_foreach(json_object_get(status, "channels"), i, ch)
        {
                if (strcmp(json_string_value(json_object_get(ch, "channel")),
                           name) == 0)
                        return ch;
        }
        fail_msg("status has no channel '%s'", name);
        return NULL;
}

static json_int_t
retention_count(json_t *status, const char *key)
{
        json_t *r = json_object_get(status, "retention");
        json_t *v = json_object_get(r, key);

        if (v == NULL)
                v = json_object_get(json_object_get(r, "deleted"), key);
        return json_integer_value(v);
}

struct until_retention {
        struct cluster *c;
        const char *key;
        json_int_t want;
};

/* status until retention's count `key` is the one wanted; each request
 * also wakes the scheduler to see its clock. */
static bool
retention_done(void *arg)
{
        struct until_retention *u = arg;
        json_t *s = cluster_ctl_json(u->c, "status", "--json", NULL);
        bool done = retention_count(s, u->key) == u->want;

        json_decref(s);
        return done;
}

/* The audit entries of `reply` whose action is `action`. */
static size_t
audit_count(json_t *reply, const char *action)
{
        size_t i, n = 0;
        json_t *e;

        json_array_foreach(json_object_get(reply, "audit"), i, e)
        {
                n += strcmp(json_string_value(json_object_get(e, "action")),
                            action) == 0;
        }
        return n;
}

/*
 * retention = { closed_cases = "2y"; personal = "180d"; }: 181 days after
 * a case closed its contact and note are blanked; two years after, it is
 * deleted with its events and alerts; an open case is left alone. Each
 * pass that changes something is in status and the audit trail.
 */
static void
test_retention(void **state)
{
        struct fx *f = *state;
        struct until_retention u = { &f->c, NULL, 0 };
        struct proc_result p;
        json_t *r, *c, *e;
        json_int_t id;
        size_t i;

        write_conf(f, "retention = { closed_cases = \"2y\"; "
                      "personal = \"180d\"; };");
        daemon_start(f);
        r = cluster_ctl_json(&f->c, "notify", "--school", URN, "--contact",
                             CONTACT, "--note", NOTE, "--json", NULL);
        id = json_integer_value(json_object_get(r, "case"));
        json_decref(r);
        json_decref(
            cluster_ctl_json(&f->c, "cancel", "--school", URN, "--json", NULL));
        json_decref(cluster_ctl_json(&f->c, "notify", "--school", URN2,
                                     "--contact", CONTACT, "--json", NULL));
        /* It ran at start, with nothing to do. */
        r = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_true(json_is_string(
            json_object_get(json_object_get(r, "retention"), "last_run")));
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(r, "retention"), "closed_cases")),
                         2 * 365 * DAY);
        json_decref(r);
        p = cluster_ctl(&f->c, "status", NULL);
        assert_int_equal(p.status, 0);
        assert_contains(p.out, "Retention:  closed cases 730 days, personal "
                               "data 180 days; last run ");
        assert_contains(p.out, ": 0 cases, 0 events, 0 alerts and 0 "
                               "deliveries deleted, 0 blanked\n");
        proc_result_free(&p);

        clock_days(f, 181);
        u.key = "blanked";
        u.want = 2; /* the closed case and its notification */
        if (!cluster_wait_until(retention_done, &u, WAIT_MS))
                fail_msg("retention did not blank the closed case");
        r = cluster_ctl_json(&f->c, "show", "--case", "1", "--json", NULL);
        c = json_object_get(r, "case");
        assert_int_equal(json_integer_value(json_object_get(c, "case")), id);
        assert_true(json_is_null(json_object_get(c, "contact")));
        assert_true(json_is_null(json_object_get(c, "note")));
        json_array_foreach(json_object_get(c, "events"), i, e)
        {
                assert_true(json_is_null(json_object_get(e, "contact")));
                assert_true(json_is_null(json_object_get(e, "note")));
        }
        json_decref(r);
        /* The open case keeps its contact. */
        assert_open_contact_kept(f);

        clock_days(f, 2 * 365 + 2);
        u.key = "cases";
        u.want = 1;
        if (!cluster_wait_until(retention_done, &u, WAIT_MS))
                fail_msg("retention did not delete the closed case");
        r = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_int_equal(retention_count(r, "events"), 2);
        assert_int_equal(retention_count(r, "alerts"), 2);
        json_decref(r);
        r = cluster_ctl_json_want(&f->c, 1, "show", "--case", "1", "--json",
                                  NULL);
        assert_string_equal(json_string_value(json_object_get(r, "reason")),
                            "not_found");
        json_decref(r);
        assert_open_contact_kept(f);
        r = cluster_ctl_json(&f->c, "audit", "--json", NULL);
        assert_int_equal(audit_count(r, "purge"), 2);
        json_decref(r);
        cluster_wait_log(f->c.dlog, "retention: 1 closed cases deleted", 1,
                         WAIT_MS);
        cluster_pass(&f->c);
}

struct until_requests {
        struct cluster *c;
        const char *path;
};

/* The request to `path` of the sink, when there is one. */
static json_t *
request_to(struct cluster *c, const char *path)
{
        json_t *reqs = cluster_sink_requests(c, path), *r;

        r = json_incref(json_array_get(reqs, 0));
        json_decref(reqs);
        return r;
}

struct until_status {
        struct cluster *c;
        const char *channel, *key;
};

/* status until the channel's `key` is a time (not null). */
static bool
channel_has(void *arg)
{
        struct until_status *u = arg;
        json_t *s = cluster_ctl_json(u->c, "status", "--json", NULL);
        bool yes = json_is_string(
            json_object_get(channel_status(s, u->channel), u->key));

        json_decref(s);
        return yes;
}

/*
 * Each channel's check through the real path: 15 days on, "hook" (weekly)
 * and "daily" get one check each, marked as such, recorded as delivered;
 * "quiet" (check off) gets none and is stale; "gone" answers 404, and
 * status warns that its last delivery failed for good. The metrics say
 * when each channel last delivered and which are stale.
 */
static void
test_channel_checks(void **state)
{
        struct fx *f = *state;
        struct until_status u = { &f->c, "hook", "last_delivered" };
        struct proc_result p;
        char metrics[256];
        json_t *s, *req, *h, *d;
        char *text = NULL;
        size_t i, checks = 0;

        write_conf(f, "channel_stale_after = \"14d\"; metrics = "
                      "\"metrics.prom\";");
        cluster_httpsink_script(&f->c, "/gone status 404\n");
        daemon_start(f);
        cluster_worker_start(&f->c, 0, "webhook", NULL, NULL);
        cluster_wait_workers(&f->c, "webhook", 1);
        /* A channel first seen is not checked at once, nor stale. */
        s = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_true(json_is_null(
            json_object_get(channel_status(s, "hook"), "last_delivered")));
        assert_true(json_is_false(
            json_object_get(channel_status(s, "quiet"), "stale")));
        assert_string_equal(json_string_value(json_object_get(
                                channel_status(s, "quiet"), "check")),
                            "off");
        json_decref(s);

        clock_days(f, 15);
        if (!cluster_wait_until(channel_has, &u, WAIT_MS))
                fail_msg("channel 'hook' was not checked");
        u.channel = "daily";
        if (!cluster_wait_until(channel_has, &u, WAIT_MS))
                fail_msg("channel 'daily' was not checked");
        req = request_to(&f->c, "/hook");
        assert_non_null(
            strstr(json_string_value(json_object_get(req, "body")), WEEKLY));
        json_decref(req);
        req = request_to(&f->c, "/daily");
        assert_non_null(
            strstr(json_string_value(json_object_get(req, "body")), DAILY));
        json_decref(req);
        cluster_wait_settled(&f->c, 2, 1, WAIT_MS);

        h = cluster_history(&f->c);
        json_array_foreach(h, i, d)
        {
                const char *ch =
                    json_string_value(json_object_get(d, "channel"));

                assert_string_equal(
                    json_string_value(json_object_get(d, "rule")),
                    "ofsted-notify-check");
                assert_string_not_equal(ch, "quiet");
                checks++;
        }
        assert_int_equal(checks, 3); /* hook, daily, gone: once each */
        json_decref(h);

        s = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_true(
            json_is_false(json_object_get(channel_status(s, "hook"), "stale")));
        assert_true(
            json_is_true(json_object_get(channel_status(s, "quiet"), "stale")));
        assert_non_null(strstr(json_string_value(json_object_get(
                                   channel_status(s, "quiet"), "warning")),
                               "nothing delivered for 15 days"));
        assert_true(json_is_true(
            json_object_get(channel_status(s, "gone"), "last_failed")));
        assert_non_null(strstr(json_string_value(json_object_get(
                                   channel_status(s, "gone"), "warning")),
                               "failed for good"));
        /* Confirmation comes with the acknowledgement link: none yet. */
        assert_true(json_is_null(
            json_object_get(channel_status(s, "hook"), "last_confirmed")));
        json_decref(s);
        /* The same for people: a table, and a warning line for each. */
        p = cluster_ctl(&f->c, "status", NULL);
        assert_int_equal(p.status, 0);
        assert_contains(p.out, "Retention:  off (everything is kept)\n");
        assert_contains(p.out, "Heartbeat:  off\n");
        assert_contains(p.out, "\nChannels\n  CHANNEL  CHECK   LAST "
                               "DELIVERED");
        assert_contains(p.out, "\n  quiet    off     never ");
        assert_contains(p.out, "\n  gone     weekly  never ");
        assert_contains(p.out, "\nWarning:    channel 'quiet': nothing "
                               "delivered for 15 days\n");
        assert_contains(p.out, "\nWarning:    channel 'gone': its last "
                               "delivery failed for good\n");
        assert_null(strstr(p.out, "channel 'hook':"));
        proc_result_free(&p);

        snprintf(metrics, sizeof(metrics), "%s/state/metrics.prom", f->c.dir);
        cluster_wait_log(metrics,
                         "ofsted_notify_channel_stale{channel=\"gone\"} 1", 1,
                         WAIT_MS);
        assert_int_equal(cluster_log_count(metrics,
                                           "ofsted_notify_channel_stale"
                                           "{channel=\"quiet\"} 1"),
                         1);
        assert_int_equal(
            cluster_log_count(metrics,
                              "ofsted_notify_channel_last_delivered_timestamp_"
                              "seconds{channel=\"quiet\"} 0"),
            1);
        assert_int_equal(
            cluster_log_count(metrics,
                              "ofsted_notify_channel_last_delivered_timestamp_"
                              "seconds{channel=\"hook\"} 0"),
            0);
        free(text);
        cluster_pass(&f->c);
}

/* The one entry of `reply` with action `action`. */
static json_t *
audit_entry(json_t *reply, const char *action)
{
        size_t i;
        json_t *e;

        assert_int_equal(audit_count(reply, action), 1);
        json_array_foreach(json_object_get(reply, "audit"), i, e)
        {
                if (strcmp(json_string_value(json_object_get(e, "action")),
                           action) == 0)
                        return e;
        }
        return NULL;
}

/*
 * Every change through ofsted-notifyctl is in the trail with its actor
 * (unix:USER) and source (ctl): events, token create and revoke, reload,
 * test, backup, export; --school keeps to one school's; export holds the
 * school's cases with their events and contact.
 */
static void
test_audit_and_export(void **state)
{
        struct fx *f = *state;
        char backup[256], actor[128];
        json_t *r, *e, *cases;

        snprintf(backup, sizeof(backup), "%s/b.db", f->c.dir);
        snprintf(actor, sizeof(actor), "unix:%s",
                 getenv("USER") ? getenv("USER") : "");
        write_conf(f, NULL);
        daemon_start(f);
        json_decref(cluster_ctl_json(&f->c, "notify", "--school", URN,
                                     "--contact", CONTACT, "--json", NULL));
        json_decref(cluster_ctl_json(&f->c, "notify", "--school", URN2,
                                     "--json", NULL));
        json_decref(cluster_ctl_json(&f->c, "token", "create", "ci", "--role",
                                     "admin", "--json", NULL));
        json_decref(
            cluster_ctl_json(&f->c, "token", "revoke", "ci", "--json", NULL));
        json_decref(cluster_ctl_json(&f->c, "reload", "--json", NULL));
        json_decref(cluster_ctl_json(&f->c, "backup", backup, "--json", NULL));

        r = cluster_ctl_json(&f->c, "audit", "--json", NULL);
        assert_int_equal(audit_count(r, "event"), 2);
        e = audit_entry(r, "token_create");
        assert_string_equal(json_string_value(json_object_get(e, "detail")),
                            "ci");
        assert_string_equal(json_string_value(json_object_get(e, "source")),
                            "ctl");
        if (getenv("USER") != NULL)
                assert_string_equal(
                    json_string_value(json_object_get(e, "actor")), actor);
        assert_non_null(audit_entry(r, "token_revoke"));
        assert_non_null(audit_entry(r, "reload"));
        e = audit_entry(r, "backup");
        assert_string_equal(json_string_value(json_object_get(e, "detail")),
                            backup);
        json_decref(r);

        r = cluster_ctl_json(&f->c, "audit", "--school", URN, "--json", NULL);
        assert_int_equal(json_array_size(json_object_get(r, "audit")), 1);
        e = audit_entry(r, "event");
        assert_string_equal(json_string_value(json_object_get(e, "school")),
                            URN);
        assert_int_equal(json_integer_value(json_object_get(e, "case")), 1);
        json_decref(r);
        r = cluster_ctl_json(&f->c, "audit", "--since", "2999-01-01T00:00",
                             "--json", NULL);
        assert_int_equal(json_array_size(json_object_get(r, "audit")), 0);
        json_decref(r);

        r = cluster_ctl_json(&f->c, "export", "--school", URN, "--json", NULL);
        cases = json_object_get(r, "cases");
        assert_int_equal(json_array_size(cases), 1);
        e = json_array_get(cases, 0);
        assert_string_equal(json_string_value(json_object_get(e, "school")),
                            URN);
        assert_string_equal(json_string_value(json_object_get(e, "contact")),
                            CONTACT);
        assert_int_equal(json_array_size(json_object_get(e, "events")), 1);
        assert_int_equal(json_array_size(json_object_get(e, "alerts")), 2);
        assert_int_equal(json_array_size(json_object_get(r, "audit")), 1);
        json_decref(r);
        /* The export itself is in the trail. */
        r = cluster_ctl_json(&f->c, "audit", "--school", URN, "--json", NULL);
        assert_non_null(audit_entry(r, "export"));
        json_decref(r);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_retention),
    CLUSTER_TEST(test_channel_checks),
    CLUSTER_TEST(test_audit_and_export),
})
