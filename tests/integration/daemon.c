/*
 * daemon: the world of the daemon tests (test_daemon_*.c), see daemon.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* --- Files and text --------------------------------------------------- */

/* The last occurrence of `needle` in `s`, or NULL. */
static char *
last_of(char *s, const char *needle)
{
        char *at = NULL;

        for (char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
                at = p;
        return at;
}

/* `text` with the last occurrence of `old` (which must be there) replaced;
 * frees text. */
char *
replace_last(char *text, const char *old, const char *new)
{
        char *at = last_of(text, old), *out;

        if (at == NULL)
                fail_msg("the example config lacks \"%s\"", old);
        if (asprintf(&out, "%.*s%s%s", (int)(at - text), text, new,
                     at + strlen(old)) < 0)
                abort();
        free(text);
        return out;
}

/*
 * The shipped example config, adjusted: the holidays file by absolute
 * path, `daemon` (may be NULL) in place of its catch_up line, `rules` (may
 * be NULL) appended to its rules. Caller frees.
 */
char *
conf_text(const char *daemon, const char *rules)
{
        char *text = slurp(EXAMPLE_CONF), *extra;

        if (strstr(text, "timezone = \"" TRUST_TZ "\";") == NULL)
                fail_msg("the example config's zone is not " TRUST_TZ);
        text = replace_last(text, "holidays = \"bank-holidays.json\";",
                            "holidays = \"" HOLIDAYS "\";");
        if (daemon != NULL)
                text = replace_last(text, "catch_up = \"late\";", daemon);
        if (rules != NULL) {
                if (asprintf(&extra, "},\n  %s\n);", rules) < 0)
                        abort();
                text = replace_last(text, "}\n);", extra);
                free(extra);
        }
        return text;
}

/* Writes the config for both the daemon and ofsted-notifyctl. */
void
write_conf(struct fx *f, const char *daemon, const char *rules)
{
        char *text = conf_text(daemon, rules);

        spill(f->c.conf, text);
        spill(f->c.ctlconf, text);
        free(text);
}

/* --- JSON -------------------------------------------------------------- */

int64_t
jtime(json_t *obj, const char *key)
{
        return rfc3339(jstr(obj, key));
}

static int
cmp_lines(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The alerts of `alerts` (objects with rule, offset, at) as sorted lines
 * "rule offset epoch", keeping those after `after`, of rule `only` when
 * not NULL and of no rule in `skip` (an array of names, may be NULL).
 * Comparing two such texts compares sets of alerts. Caller frees.
 */
char *
alert_keys(json_t *alerts, int64_t after, const char *only, json_t *skip)
{
        size_t n = json_array_size(alerts), k = 0, i, j;
        char **lines = calloc(n + 1, sizeof(*lines)), *out = NULL;
        size_t len = 0;
        json_t *a, *s;

        assert_non_null(lines);
        json_array_foreach(alerts, i, a)
        {
                const char *rule = jstr(a, "rule");
                int64_t at = jtime(a, "at");
                bool skipped =
                    at <= after || (only != NULL && strcmp(rule, only) != 0);

                json_array_foreach(skip, j, s)
                {
                        skipped =
                            skipped || strcmp(rule, json_string_value(s)) == 0;
                }
                if (skipped)
                        continue;
                if (asprintf(&lines[k++], "%s %s %lld\n", rule,
                             jstr(a, "offset"), (long long)at) < 0)
                        abort();
        }
        qsort(lines, k, sizeof(*lines), cmp_lines);
        out = calloc(1, 1);
        for (i = 0; i < k; i++) {
                out = realloc(out, len + strlen(lines[i]) + 1);
                assert_non_null(out);
                strcpy(out + len, lines[i]);
                len += strlen(lines[i]);
                free(lines[i]);
        }
        free(lines);
        return out;
}

json_t *
upcoming_is(struct fx *f, const char *want)
{
        json_t *up =
            cluster_ctl_json_want(&f->c, 0, "upcoming", "--json", NULL);
        char *got = alert_keys(jarr(up, "alerts"), INT64_MIN, NULL, NULL);

        assert_string_equal(got, want);
        free(got);
        return up;
}

bool
has_string(json_t *arr, const char *s)
{
        size_t i;
        json_t *v;

        json_array_foreach(arr, i, v)
        {
                if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
                        return true;
        }
        return false;
}

/* The alerts of a `show` reply's case whose rule is `rule`, new array. */
json_t *
case_alerts(json_t *show, const char *rule)
{
        json_t *out = json_array(), *a;
        size_t i;

        json_array_foreach(jarr(member(show, "case"), "alerts"), i, a)
        {
                if (rule == NULL || strcmp(jstr(a, "rule"), rule) == 0)
                        json_array_append(out, a);
        }
        return out;
}

/* Starts the daemon with `env` (cluster_daemon_spawn()'s) and waits for
 * READY=1. */
static void
start_with(struct fx *f, char *const env[])
{
        proc_notify_drain(f->nfd);
        assert_int_equal(cluster_daemon_spawn(&f->c, env), 0);
        if (proc_notify_wait(f->nfd, "READY=1", WAIT_MS, f->c.daemon, NULL, 0) <
            0)
                fail_msg("ofsted-notifyd exited or did not say READY=1 "
                         "within %d ms",
                         WAIT_MS);
}

void
daemon_start_env(struct fx *f, const char *extra)
{
        char *const env[] = { f->env_notify, (char *)extra, NULL };

        start_with(f, env);
}

void
daemon_start(struct fx *f)
{
        daemon_start_env(f, NULL);
}

void
daemon_start_at(struct fx *f, time_t at)
{
        char *const *clock = cluster_clock_env(&f->c);
        char *env[9] = { f->env_notify };
        size_t n = 1;

        for (size_t i = 0; clock[i] != NULL && n < 8; i++)
                env[n++] = clock[i];
        env[n] = NULL;
        cluster_clock_at(&f->c, at);
        start_with(f, env);
}

/* Records a notification an hour ahead: an open case with nothing due
 * soon. Returns the case number. */
json_int_t
open_case(struct fx *f)
{
        char at[32];
        json_t *r;
        json_int_t id;

        utc_text(time(NULL) + 3600, at);
        r = cluster_ctl_json_want(&f->c, 0, "notify", "--school", URN, "--at",
                                  at, "--json", NULL);
        assert_string_equal(jstr(r, "state"), "open");
        id = jint(r, "case");
        json_decref(r);
        return id;
}

/* `show --case id --json`, polled until no alert of `rule` is pending or
 * WAIT_MS passed. */
json_t *
show_settled(struct fx *f, json_int_t id, const char *rule)
{
        char num[32];
        struct timespec t0, t;

        snprintf(num, sizeof(num), "%lld", (long long)id);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                json_t *show = cluster_ctl_json_want(&f->c, 0, "show", "--case",
                                                     num, "--json", NULL);
                json_t *alerts = case_alerts(show, rule), *a;
                bool pending = false;
                size_t i;

                json_array_foreach(alerts, i, a)
                {
                        pending =
                            pending || strcmp(jstr(a, "state"), "pending") == 0;
                }
                json_decref(alerts);
                clock_gettime(CLOCK_MONOTONIC, &t);
                if (!pending || (t.tv_sec - t0.tv_sec) * 1000 +
                                        (t.tv_nsec - t0.tv_nsec) / 1000000 >
                                    WAIT_MS)
                        return show;
                json_decref(show);
                sleep_ms(200);
        }
}

int
group_setup(void **state)
{
        (void)state;
        setenv("TZ", TRUST_TZ, 1);
        tzset();
        signal(SIGPIPE, SIG_IGN);
        return 0;
}

int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));

        if (f == NULL || cluster_init(&f->c, "test_daemon") < 0) {
                free(f);
                return -1;
        }
        *state = f;
        snprintf(f->c.ctlconf, sizeof(f->c.ctlconf), "%s/ctl.conf", f->c.dir);
        snprintf(f->notify, sizeof(f->notify), "%s/notify.sock", f->c.dir);
        snprintf(f->env_notify, sizeof(f->env_notify), "NOTIFY_SOCKET=%s",
                 f->notify);
        f->nfd = proc_notify_open(f->notify);
        return f->nfd < 0 ? -1 : 0;
}

/* Kills the daemon, worker and sink whatever happened; shows their logs
 * when the test failed. */
int
teardown(void **state)
{
        struct fx *f = *state;

        if (f->nfd > 0)
                close(f->nfd);
        cluster_fini(&f->c);
        free(f);
        return 0;
}

/* The channels the example config gives school URN, as an array. */
json_t *
school_channels(struct fx *f)
{
        json_t *plan =
            cluster_ctl_json_want(&f->c, 0, "plan", "--event", "drill",
                                  "--school", URN, "--json", NULL);
        json_t *ch =
            member(json_array_get(jarr(plan, "alerts"), 0), "channels");

        json_incref(ch);
        json_decref(plan);
        return ch;
}

/* Deliveries in a history reply for `rule` and `offset` (NULL: any). */
size_t
count_deliveries(json_t *history, const char *rule, const char *offset,
                 json_t *channels)
{
        size_t i, n = 0;
        json_t *d;

        json_array_foreach(jarr(history, "deliveries"), i, d)
        {
                if (strcmp(jstr(d, "rule"), rule) != 0 ||
                    (offset != NULL && strcmp(jstr(d, "offset"), offset) != 0))
                        continue;
                if (channels != NULL)
                        assert_true(has_string(channels, jstr(d, "channel")));
                n++;
        }
        return n;
}

/* Records a drill for URN now: alerts at +2 s and +4 s. Returns "now". */
time_t
record_drill(struct fx *f)
{
        time_t td = time(NULL);
        char at[32];
        json_t *r;

        utc_text(td, at);
        r = cluster_ctl_json_want(&f->c, 0, "event", "drill", "--school", URN,
                                  "--at", at, "--json", NULL);
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 2);
        json_decref(r);
        return td;
}
