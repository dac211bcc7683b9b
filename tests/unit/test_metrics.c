/*
 * Tests for metrics: the Prometheus text format, escaping, atomic writes,
 * and the scheduler's families sampled from the store's numbers and a
 * dispatch with no workers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dispatch.h"
#include "metrics.h"
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_render(void **state)
{
        struct metrics *m = metrics_new();
        char *text;

        (void)state;
        metrics_family(m, "ofsted_notify_alerts", "gauge",
                       "Alerts in the state database, by rule and state.");
        metrics_sample(m, 3, "rule", "pause_limit", "state", "pending", NULL);
        metrics_sample(m, 0, "rule", "pause_limit", "state", "missed", NULL);
        metrics_family(m, "ofsted_notify_build_info", "gauge", "Build.");
        metrics_sample(m, 1, "version", "0.1.0", NULL);
        metrics_family(m, "ofsted_notify_last_delivery_timestamp_seconds",
                       "gauge", "When.");
        metrics_sample(m, 1732406400, NULL);
        text = metrics_render(m);
        assert_string_equal(
            text,
            "# HELP ofsted_notify_alerts Alerts in the state database, by "
            "rule and state.\n"
            "# TYPE ofsted_notify_alerts gauge\n"
            "ofsted_notify_alerts{rule=\"pause_limit\",state=\"pending\"} 3\n"
            "ofsted_notify_alerts{rule=\"pause_limit\",state=\"missed\"} 0\n"
            "# HELP ofsted_notify_build_info Build.\n"
            "# TYPE ofsted_notify_build_info gauge\n"
            "ofsted_notify_build_info{version=\"0.1.0\"} 1\n"
            "# HELP ofsted_notify_last_delivery_timestamp_seconds When.\n"
            "# TYPE ofsted_notify_last_delivery_timestamp_seconds gauge\n"
            "ofsted_notify_last_delivery_timestamp_seconds 1732406400\n");
        free(text);
        metrics_destroy(&m);
        assert_null(m);
        metrics_destroy(&m);
}

/* Backslash, double quote and newline are escaped in label values. */
static void
test_escaping(void **state)
{
        struct metrics *m = metrics_new();
        char *text;

        (void)state;
        metrics_family(m, "x", "gauge", "h");
        metrics_sample(m, 1.5, "l", "a\\b\"c\nd", NULL);
        text = metrics_render(m);
        assert_non_null(strstr(text, "x{l=\"a\\\\b\\\"c\\nd\"} 1.5\n"));
        free(text);
        metrics_destroy(&m);
}

static int
entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;

        assert_non_null(d);
        while ((e = readdir(d)) != NULL)
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

static void
test_write_atomic(void **state)
{
        char dir[] = "/tmp/test_metrics.XXXXXX", path[64], buf[64];
        char *cause = NULL;
        FILE *f;
        size_t n;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/o.prom", dir);
        assert_int_equal(metrics_write(path, "a 1\n", &cause), 0);
        assert_int_equal(metrics_write(path, "b 2\n", &cause), 0);
        f = fopen(path, "r");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        assert_string_equal(buf, "b 2\n");
        /* No temporary file is left behind: o.prom is all there is. */
        assert_int_equal(entries(dir), 1);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);

        /* A missing directory is an error with the path in it. */
        assert_int_equal(
            metrics_write("/nonexistent/dir/o.prom", "a 1\n", &cause), -1);
        assert_non_null(strstr(cause, "/nonexistent/dir/o.prom"));
        free(cause);
}

/* Each family the man page lists, from the numbers it is given. */
static void
test_daemon_families(void **state)
{
        struct dispatch *dsp = dispatch_new(NULL);
        json_t *nums = json_pack("{s:[[s,s,i]], s:[[s,s,i],[s,s,i]], s:i}",
                                 "alerts", "pause_limit", "pending", 3,
                                 "deliveries", "email", "sent", 2, "slack",
                                 "failed", 1, "last_delivered", 1732406400);
        struct metrics *m = metrics_daemon(nums, dsp, false, 1732400000);
        char *text = metrics_render(m);
        static const char *const lines[] = {
                "# TYPE ofsted_notify_alerts gauge\n"
                "ofsted_notify_alerts{rule=\"pause_limit\",state=\"pending\"} "
                "3\n",
                "ofsted_notify_deliveries{type=\"email\",status=\"sent\"} 2\n"
                "ofsted_notify_deliveries{type=\"slack\",status=\"failed\"} "
                "1\n",
                "ofsted_notify_workers{kind=\"email\"} 0\n"
                "ofsted_notify_workers{kind=\"webhook\"} 0\n",
                "ofsted_notify_workers_stalled{kind=\"email\"} 0\n"
                "ofsted_notify_workers_stalled{kind=\"webhook\"} 0\n",
                "# TYPE ofsted_notify_outcomes_total counter\n"
                "ofsted_notify_outcomes_total{result=\"delivered\"} 0\n"
                "ofsted_notify_outcomes_total{result=\"retry\"} 0\n"
                "ofsted_notify_outcomes_total{result=\"failed\"} 0\n"
                "ofsted_notify_outcomes_total{result=\"given_up\"} 0\n"
                "ofsted_notify_outcomes_total{result=\"held\"} 0\n",
                "# TYPE ofsted_notify_malformed_messages_total counter\n"
                "ofsted_notify_malformed_messages_total 0\n",
                "ofsted_notify_last_delivery_timestamp_seconds 1732406400\n",
                "ofsted_notify_state_writable 0\n",
                "ofsted_notify_start_time_seconds 1732400000\n",
                "ofsted_notify_build_info{version=\"" PROJECT_VERSION "\"} 1\n",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
                if (strstr(text, lines[i]) == NULL)
                        fail_msg("missing:\n%s\nin:\n%s", lines[i], text);
        }
        free(text);
        metrics_destroy(&m);

        /* Writable, and nothing delivered yet: no timestamp family. */
        json_object_del(nums, "last_delivered");
        m = metrics_daemon(nums, dsp, true, 1732400000);
        text = metrics_render(m);
        assert_non_null(strstr(text, "\nofsted_notify_state_writable 1\n"));
        assert_null(strstr(text, "ofsted_notify_last_delivery"));
        free(text);
        metrics_destroy(&m);
        json_decref(nums);
        dispatch_destroy(&dsp);
}

UNIT_MAIN({
    cmocka_unit_test(test_render),
    cmocka_unit_test(test_escaping),
    cmocka_unit_test(test_write_atomic),
    cmocka_unit_test(test_daemon_families),
})
