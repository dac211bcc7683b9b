#include "metrics.h"

#include "ops.h"

#include "xalloc.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct family {
        char *name;
        char *type;
        char *help;
        char **samples; /* rendered "name{labels} value" lines */
        size_t nsamples;
};

struct metrics {
        struct family *families;
        size_t n;
};

struct metrics *
metrics_new(void)
{
        return xcalloc(1, sizeof(struct metrics));
}

void
metrics_destroy(struct metrics **mp)
{
        struct metrics *m;

        if (mp == NULL || *mp == NULL)
                return;
        m = *mp;
        for (size_t i = 0; i < m->n; i++) {
                struct family *f = &m->families[i];

                for (size_t k = 0; k < f->nsamples; k++)
                        free(f->samples[k]);
                free(f->samples);
                free(f->name);
                free(f->type);
                free(f->help);
        }
        free(m->families);
        free(m);
        *mp = NULL;
}

void
metrics_family(struct metrics *m, const char *name, const char *type,
               const char *help)
{
        struct family *f;

        m->families = xreallocarray(m->families, m->n + 1, sizeof(*f));
        f = &m->families[m->n++];
        memset(f, 0, sizeof(*f));
        f->name = xstrdup(name);
        f->type = xstrdup(type);
        f->help = xstrdup(help);
}

/* Appends `s` to the growing string *out, escaping for a label value. */
static void
append_escaped(char **out, const char *s)
{
        size_t len = strlen(*out), extra = 0;
        char *p;

        for (const char *q = s; *q; q++)
                extra += (*q == '\\' || *q == '"' || *q == '\n') ? 2 : 1;
        *out = xreallocarray(*out, len + extra + 1, 1);
        p = *out + len;
        for (; *s; s++) {
                if (*s == '\\' || *s == '"' || *s == '\n') {
                        *p++ = '\\';
                        *p++ = *s == '\n' ? 'n' : *s;
                } else {
                        *p++ = *s;
                }
        }
        *p = '\0';
}

void
metrics_sample(struct metrics *m, double value, ...)
{
        struct family *f = &m->families[m->n - 1];
        char *line = xstrdup(f->name), *next;
        const char *name;
        va_list ap;
        int nlabels = 0;

        va_start(ap, value);
        while ((name = va_arg(ap, const char *)) != NULL) {
                const char *v = va_arg(ap, const char *);

                xasprintf(&next, "%s%c%s=\"", line, nlabels ? ',' : '{', name);
                free(line);
                line = next;
                append_escaped(&line, v);
                xasprintf(&next, "%s\"", line);
                free(line);
                line = next;
                nlabels++;
        }
        va_end(ap);
        xasprintf(&next, "%s%s %.17g", line, nlabels ? "}" : "", value);
        free(line);
        f->samples =
            xreallocarray(f->samples, f->nsamples + 1, sizeof(*f->samples));
        f->samples[f->nsamples++] = next;
}

char *
metrics_render(const struct metrics *m)
{
        char *out = xstrdup(""), *next;

        for (size_t i = 0; i < m->n; i++) {
                const struct family *f = &m->families[i];

                xasprintf(&next, "%s# HELP %s %s\n# TYPE %s %s\n", out, f->name,
                          f->help, f->name, f->type);
                free(out);
                out = next;
                for (size_t k = 0; k < f->nsamples; k++) {
                        xasprintf(&next, "%s%s\n", out, f->samples[k]);
                        free(out);
                        out = next;
                }
        }
        return out;
}

int
metrics_write(const char *path, const char *text, char **cause)
{
        char *tmp = NULL;
        size_t len = strlen(text), off = 0;
        int fd = -1, rc = -1;

        xasprintf(&tmp, "%s.tmp.%ld", path, (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                xasprintf(cause, "%s: %s", tmp, strerror(errno));
                goto out;
        }
        while (off < len) {
                ssize_t n = write(fd, text + off, len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        xasprintf(cause, "%s: %s", tmp, strerror(errno));
                        goto out;
                }
                off += (size_t)n;
        }
        if (fsync(fd) < 0 || close(fd) < 0) {
                fd = -1;
                xasprintf(cause, "%s: %s", tmp, strerror(errno));
                goto out;
        }
        fd = -1;
        if (rename(tmp, path) < 0) {
                xasprintf(cause, "rename to %s: %s", path, strerror(errno));
                goto out;
        }
        rc = 0;
out:
        if (fd >= 0)
                close(fd);
        if (rc < 0)
                unlink(tmp);
        free(tmp);
        return rc;
}

/* Adds one family of [label1, label2, n] rows. */
static void
rows_family(struct metrics *m, json_t *rows, const char *name, const char *help,
            const char *l1, const char *l2)
{
        size_t i;
        json_t *r;

        metrics_family(m, name, "gauge", help);
        json_array_foreach(rows, i, r)
        {
                metrics_sample(m,
                               (double)json_integer_value(json_array_get(r, 2)),
                               l1, json_string_value(json_array_get(r, 0)), l2,
                               json_string_value(json_array_get(r, 1)), NULL);
        }
}

struct metrics *
metrics_daemon(json_t *nums, const struct dispatch *dsp, bool writable,
               int64_t started)
{
        struct metrics *m;
        const struct dispatch_counts *counts;
        json_t *last, *workers;

        m = metrics_new();
        rows_family(m, json_object_get(nums, "alerts"), "ofsted_notify_alerts",
                    "Alerts in the state database by rule and state.", "rule",
                    "state");
        rows_family(m, json_object_get(nums, "deliveries"),
                    "ofsted_notify_deliveries",
                    "Deliveries in the state database by channel type and "
                    "status.",
                    "type", "status");
        metrics_family(m, "ofsted_notify_workers", "gauge",
                       "Delivery workers connected, by kind.");
        workers = dispatch_json_workers(dsp);
        metrics_sample(
            m, (double)json_integer_value(json_object_get(workers, "email")),
            "kind", "email", NULL);
        metrics_sample(
            m, (double)json_integer_value(json_object_get(workers, "webhook")),
            "kind", "webhook", NULL);
        json_decref(workers);
        metrics_family(m, "ofsted_notify_workers_stalled", "gauge",
                       "Delivery workers given no jobs because their leases "
                       "ran out without an outcome, by kind.");
        workers = dispatch_json_stalled(dsp);
        for (size_t k = 0; k < 2; k++) {
                static const char *const kinds[] = { "email", "webhook" };
                size_t i, n = 0;
                json_t *w;

                json_array_foreach(workers, i, w)
                {
                        n += strcmp(
                                 json_string_value(json_object_get(w, "kind")),
                                 kinds[k]) == 0;
                }
                metrics_sample(m, (double)n, "kind", kinds[k], NULL);
        }
        json_decref(workers);
        counts = dispatch_counts(dsp);
        metrics_family(m, "ofsted_notify_outcomes_total", "counter",
                       "Delivery outcomes recorded since the scheduler "
                       "started, by result.");
        metrics_sample(m, (double)counts->delivered, "result", "delivered",
                       NULL);
        metrics_sample(m, (double)counts->retried, "result", "retry", NULL);
        metrics_sample(m, (double)counts->failed, "result", "failed", NULL);
        metrics_sample(m, (double)counts->given_up, "result", "given_up", NULL);
        metrics_sample(m, (double)counts->held, "result", "held", NULL);
        metrics_family(m, "ofsted_notify_malformed_messages_total", "counter",
                       "Messages from workers dropped as malformed since the "
                       "scheduler started.");
        metrics_sample(m, (double)counts->malformed, NULL);
        last = json_object_get(nums, "last_delivered");
        if (last != NULL) {
                metrics_family(m,
                               "ofsted_notify_last_delivery_timestamp_seconds",
                               "gauge", "When a delivery last succeeded.");
                metrics_sample(m, (double)json_integer_value(last), NULL);
        }
        metrics_family(m, "ofsted_notify_state_writable", "gauge",
                       "1 when the state database can be written, 0 while "
                       "it cannot (disk full, read-only, locked).");
        metrics_sample(m, writable ? 1 : 0, NULL);
        metrics_family(m, "ofsted_notify_start_time_seconds", "gauge",
                       "When the scheduler started.");
        metrics_sample(m, (double)started, NULL);
        metrics_family(m, "ofsted_notify_build_info", "gauge",
                       "The running version.");
        metrics_sample(m, 1, "version", PROJECT_VERSION, NULL);
        return m;
}

int
metrics_update(const char *path, struct store *st, const struct dispatch *dsp,
               bool writable, int64_t started, const struct conf *conf,
               int64_t now, char **cause)
{
        struct metrics *m = NULL;
        json_t *nums = NULL;
        char *text = NULL;
        int rc = -1;

        nums = store_json_metrics(st, cause);
        if (nums == NULL)
                goto out;
        m = metrics_daemon(nums, dsp, writable, started);
        ops_metrics(m, st, conf, now);
        text = metrics_render(m);
        if (metrics_write(path, text, cause) < 0)
                goto out;
        rc = 0;
out:
        free(text);
        metrics_destroy(&m);
        json_decref(nums);
        return rc;
}
