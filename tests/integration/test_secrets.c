/*
 * Secret files end to end: ofsted-notifyd, a real ofsted-notify-worker and
 * httpsink on loopback, with the channel's webhook URL in a url_file the
 * test writes, spoils, fixes and rotates while they run.
 *
 * Checked: a url_file open to others, or holding a CR LF and a second
 * line, is a problem on our side: the worker answers "retry" with
 * "local": true, never "failed"; the delivery waits (status "retry",
 * history's last_error naming the file, never its URL), the problem is
 * logged once at error however often the delivery is retried, and once
 * the file is fixed the same delivery reaches the sink, with no reload.
 * A url_file rewritten with another URL while the worker runs sends the
 * next delivery to the new URL, with no reload.
 *
 * Expected values come from the files and config this test writes; every
 * wait is for a positive signal (a log line, a state, a request at the
 * sink) and bounded; every child is killed in teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHANNEL  "hook"
#define URL_FILE "hook.url" /* as the config names it */
#define WAIT_MS  30000

struct fx {
        struct cluster c;
        char url[192]; /* URL_FILE beside the config */
};
/* c first: teardown() is cluster_teardown(), which frees f as its c. */
_Static_assert(offsetof(struct fx, c) == 0, "struct fx starts with c");

/* --- Files ------------------------------------------------------------- */

/* The sink's URL for `path` followed by `end` ("\n", "\r\n", ...). */
static void
url_text(struct fx *f, const char *path, const char *end, char *buf, size_t len)
{
        snprintf(buf, len, "http://127.0.0.1:%d%s%s", f->c.port, path, end);
}

/* One webhook channel whose URL is in URL_FILE, for one school. */
static void
write_conf(struct fx *f)
{
        static const struct cluster_conf k = { .trust = "Secrets Test Trust",
                                               .retry_base = 1,
                                               .lease = 10 };
        FILE *fp = cluster_conf_begin(&f->c, &k);

        fprintf(fp,
                "channels = ( { name = \"%s\"; type = \"webhook\";\n"
                "  url_file = \"%s\"; } );\n"
                "schools = ( { urn = \"100001\"; name = \"Oak Primary\";\n"
                "  channels = [ \"%s\" ]; } );\n"
                "rules = ( { name = \"drill\"; event = \"drill\";\n"
                "  action = \"Drill.\";\n"
                "  deadline = { working_days = 10; time = \"17:00\"; };\n"
                "  alerts = [ \"event\" ]; } );\n",
                CHANNEL, URL_FILE, CHANNEL);
        cluster_conf_end(fp);
}

/* --- Running things ---------------------------------------------------- */

/* Starts the webhook worker (-v: its local retries are logged at debug)
 * and waits until the daemon counts it. */
static void
worker_start(struct fx *f)
{
        static const char *const args[] = { "--timeout", "5", "-v", NULL };

        cluster_worker_start(&f->c, 0, "webhook", NULL, args);
        cluster_wait_workers(&f->c, "webhook", 1);
}

/* `ofsted-notifyctl test CHANNEL`, not waiting: the delivery's id. */
static char *
send_test(struct fx *f)
{
        struct proc_result r = cluster_ctl(&f->c, "test", CHANNEL, "--json",
                                           "--timeout", "1", NULL);
        json_t *doc = json_loads(r.out, 0, NULL);
        char *id;

        if (!json_is_object(doc))
                fail_msg("test %s: exit %d: %s %s", CHANNEL, r.status, r.out,
                         r.err);
        id = strdup(jstr(doc, "id"));
        json_decref(doc);
        proc_result_free(&r);
        return id;
}

/* The history entry of delivery `id`. New reference. */
static json_t *
delivery(struct fx *f, const char *id)
{
        struct proc_result r = cluster_ctl(&f->c, "history", "--json", NULL);
        json_t *doc = json_loads(r.out, 0, NULL), *d, *found = NULL;
        size_t i;

        if (r.status != 0 || !json_is_object(doc))
                fail_msg("history: exit %d: %s", r.status, r.err);
        json_array_foreach(jarr(doc, "deliveries"), i, d)
        {
                if (strcmp(jstr(d, "id"), id) == 0)
                        found = json_incref(d);
        }
        json_decref(doc);
        proc_result_free(&r);
        if (found == NULL)
                fail_msg("delivery %s is not in history", id);
        return found;
}

/* Waits until delivery `id` has status `want`. New reference. */
static json_t *
wait_status(struct fx *f, const char *id, const char *want)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *d = delivery(f, id);

                if (strcmp(jstr(d, "status"), want) == 0)
                        return d;
                if (strcmp(jstr(d, "status"), "failed") == 0 ||
                    mono_ms() > until)
                        fail_msg("delivery %s is '%s' (%s), not '%s'", id,
                                 jstr(d, "status"),
                                 json_string_value(member(d, "last_error")),
                                 want);
                json_decref(d);
                sleep_ms(100);
        }
}

static void
wait_sink(struct fx *f, const char *path, size_t n)
{
        json_decref(cluster_wait_requests(&f->c, path, n, WAIT_MS));
}

/*
 * The delivery `id` held by a local problem: retried (its local retries
 * seen twice in the worker's log), status "retry", never "failed"; the
 * problem `why` in history's last error and logged at error exactly
 * once; nothing sent. `url` (the secret) is in neither.
 */
static void
check_held(struct fx *f, const char *id, const char *why, const char *url)
{
        char local[128], logged[256];
        json_t *d, *st;
        const char *err;

        snprintf(local, sizeof(local), "delivery %s: retry (local): ", id);
        cluster_wait_log(f->c.wlog[0], local, 2, WAIT_MS);
        d = wait_status(f, id, "retry");
        err = json_string_value(member(d, "last_error"));
        assert_non_null(err);
        assert_contains(err, why);
        assert_null(strstr(err, url));
        json_decref(d);
        st = cluster_ctl_json(&f->c, "status", "--json", NULL);
        assert_int_equal(jint(jobj(st, "deliveries"), "failed"), 0);
        json_decref(st);
        snprintf(logged, sizeof(logged), "channel '%s': %s", CHANNEL, why);
        assert_int_equal(cluster_log_count(f->c.wlog[0], logged), 1);
        assert_int_equal(cluster_log_count(f->c.wlog[0], url), 0);
        assert_int_equal(cluster_sink_count(&f->c, "/hook"), 0);
}

/* --- Fixture ----------------------------------------------------------- */

static int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));

        if (f == NULL)
                return -1;
        *state = f;
        if (cluster_init(&f->c, "test_secrets") < 0)
                return -1;
        snprintf(f->url, sizeof(f->url), "%s/%s", f->c.dir, URL_FILE);
        cluster_httpsink_script(&f->c, NULL);
        if (cluster_httpsink_start(&f->c) < 0)
                return -1;
        write_conf(f);
        return 0;
}

static int
teardown(void **state)
{
        return cluster_teardown(state);
}

/* --- Tests ------------------------------------------------------------- */

/*
 * A url_file others can read: retried as a local problem, not failed;
 * chmod 600 and the same delivery is delivered, with no reload.
 */
static void
test_open_url_file(void **state)
{
        struct fx *f = *state;
        char url[128];
        char *id;

        url_text(f, "/hook", "\n", url, sizeof(url));
        spill_mode(f->url, url, 0644);
        cluster_daemon_start(&f->c, NULL);
        worker_start(f);
        id = send_test(f);
        url[strlen(url) - 1] = '\0';
        check_held(f, id,
                   "secret file 'hook.url': readable by others (mode 0644)",
                   url);

        assert_int_equal(chmod(f->url, 0600), 0);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/hook", 1);
        assert_int_equal(cluster_sink_count(&f->c, "/hook"), 1);
        cluster_wait_log(f->c.wlog[0],
                         "url_file: secret file 'hook.url' is usable again", 1,
                         WAIT_MS);
        free(id);
        cluster_pass(&f->c);
}

/*
 * A url_file with a CR LF and a second line (a Windows editor, a pasted
 * note): retried as a local problem; made one line, ending in CR LF, it
 * is delivered.
 */
static void
test_two_line_url_file(void **state)
{
        struct fx *f = *state;
        char url[128], text[300], bare[128];
        char *id;

        url_text(f, "/hook", "\r\n", url, sizeof(url));
        snprintf(text, sizeof(text), "%sthe Teams URL for leaders\r\n", url);
        spill_mode(f->url, text, 0600);
        url_text(f, "/hook", "", bare, sizeof(bare));
        cluster_daemon_start(&f->c, NULL);
        worker_start(f);
        id = send_test(f);
        check_held(f, id, "secret file 'hook.url': holds more than one line",
                   bare);

        spill_mode(f->url, url, 0600);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/hook", 1);
        assert_int_equal(cluster_sink_count(&f->c, "/hook"), 1);
        free(id);
        cluster_pass(&f->c);
}

/*
 * A URL rotated while the worker runs: the next delivery goes to the new
 * one, with no reload. Written in place (same inode, same length) the
 * first time, renamed over the second: both are seen.
 */
static void
test_url_rotated(void **state)
{
        struct fx *f = *state;
        char url[128];
        char *id;
        FILE *fp;

        url_text(f, "/hook", "\n", url, sizeof(url));
        spill_mode(f->url, url, 0600);
        cluster_daemon_start(&f->c, NULL);
        worker_start(f);
        id = send_test(f);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/hook", 1);
        assert_int_equal(cluster_sink_count(&f->c, "/hook"), 1);
        free(id);

        /* In place, as `echo URL > file` does: only the times change. */
        url_text(f, "/next", "\n", url, sizeof(url));
        fp = fopen(f->url, "w");
        assert_non_null(fp);
        fputs(url, fp);
        assert_int_equal(fclose(fp), 0);
        id = send_test(f);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/next", 1);
        assert_int_equal(cluster_sink_count(&f->c, "/next"), 1);
        assert_int_equal(cluster_sink_count(&f->c, "/hook"), 1);
        free(id);

        /* Renamed over it, another path. */
        url_text(f, "/third/path", "\n", url, sizeof(url));
        spill_mode(f->url, url, 0600);
        id = send_test(f);
        json_decref(wait_status(f, id, "delivered"));
        wait_sink(f, "/third/path", 1);
        assert_int_equal(cluster_sink_count(&f->c, "/third/path"), 1);
        assert_int_equal(cluster_sink_count(&f->c, "/next"), 1);
        free(id);

        cluster_wait_log(f->c.wlog[0],
                         "url_file: secret file 'hook.url' changed: read again",
                         2, WAIT_MS);
        assert_int_equal(
            cluster_log_count(f->c.wlog[0], "configuration reloaded"), 0);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_open_url_file),
    CLUSTER_TEST(test_two_line_url_file),
    CLUSTER_TEST(test_url_rotated),
})
