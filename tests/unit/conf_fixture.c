/*
 * conf_fixture: the scratch directory and the assertions conf's unit tests
 * share (conf_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
conf_fx_scratch_setup(void **state)
{
        struct conf_fx_scratch *s = calloc(1, sizeof(*s));
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

int
conf_fx_scratch_teardown(void **state)
{
        struct conf_fx_scratch *s = *state;
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

const char *
conf_fx_scratch_write(struct conf_fx_scratch *s, const char *name,
                      const char *text)
{
        char *path;
        FILE *f;

        assert_true(s->nfiles < CONF_FX_MAX_FILES);
        assert_true(asprintf(&path, "%s/%s", s->dir, name) > 0);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        s->files[s->nfiles++] = path;
        return path;
}

void
conf_fx_assert_absent(const char *v)
{
        if (v != NULL)
                assert_string_equal(v, "");
}

void
conf_fx_assert_offset(const struct alert_offset *o, enum alert_anchor anchor,
                      int64_t amount, bool days, const char *text)
{
        assert_int_equal(o->anchor, anchor);
        assert_int_equal(o->amount, amount);
        assert_int_equal(o->days, days);
        assert_string_equal(o->text, text);
}

void
conf_fx_assert_error_at(const struct conf_errors *errs, size_t i,
                        const char *path, int line)
{
        char *prefix;

        assert_true(i < errs->n);
        assert_true(asprintf(&prefix, "%s:%d: ", path, line) > 0);
        if (strncmp(errs->msgs[i], prefix, strlen(prefix)) != 0)
                fail_msg("message %zu is '%s', want it to start with '%s'", i,
                         errs->msgs[i], prefix);
        free(prefix);
}

/* Frees errs, checking that it is left empty. */
static void
errors_free(struct conf_errors *errs)
{
        conf_errors_free(errs);
        assert_int_equal(errs->n, 0);
        assert_null(errs->msgs);
}

void
conf_fx_assert_refused(struct conf_fx_scratch *s, const char *name,
                       const char *text, const struct conf_fx_error *want,
                       size_t n)
{
        const char *path = conf_fx_scratch_write(s, name, text);
        struct conf_errors errs;
        struct conf *c = conf_load(path, &errs);

        assert_null(c);
        if (errs.n != n) {
                for (size_t i = 0; i < errs.n; i++)
                        print_error("%.300s\n", errs.msgs[i]);
                fail_msg("%s: %zu messages, want %zu", name, errs.n, n);
        }
        for (size_t i = 0; i < n; i++) {
                conf_fx_assert_error_at(&errs, i, path, want[i].line);
                if (want[i].text != NULL &&
                    strstr(errs.msgs[i], want[i].text) == NULL)
                        fail_msg("message %zu '%.300s' lacks '%s'", i,
                                 errs.msgs[i], want[i].text);
        }
        errors_free(&errs);
}

struct conf *
conf_fx_load_ok(struct conf_fx_scratch *s, const char *name, const char *text)
{
        struct conf_errors errs;
        struct conf *c = conf_load(conf_fx_scratch_write(s, name, text), &errs);

        for (size_t i = 0; i < errs.n; i++)
                print_error("%.300s\n", errs.msgs[i]);
        assert_int_equal(errs.n, 0);
        assert_non_null(c);
        errors_free(&errs);
        return c;
}
