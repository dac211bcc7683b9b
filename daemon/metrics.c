#include "metrics.h"

#include "xalloc.h"

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
