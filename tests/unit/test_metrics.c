/*
 * Tests for metrics: the Prometheus text format, escaping, atomic writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "metrics.h"

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

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render),
                cmocka_unit_test(test_escaping),
                cmocka_unit_test(test_write_atomic),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
