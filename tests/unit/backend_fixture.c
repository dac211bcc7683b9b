/*
 * backend_fixture: the job and request helpers the webhook backends' unit
 * tests share (backend_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend_fixture.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *
backend_fx_alert_of(json_t *job)
{
        return json_object_get(job, "alert");
}

void
backend_fx_set_alert(json_t *job, const char *key, const char *value)
{
        assert_int_equal(json_object_set_new(backend_fx_alert_of(job), key,
                                             json_string(value)),
                         0);
}

void
backend_fx_input(struct backend_input *in, json_t *job, const char *url)
{
        memset(in, 0, sizeof(*in));
        in->job = job;
        in->url = url;
        in->title = BACKEND_FX_TITLE;
        in->text = BACKEND_FX_TEXT;
        in->now = BACKEND_FX_NOW;
}

void
backend_fx_build(const char *type, const struct backend_input *in,
                 struct http_request *r)
{
        const struct backend_ops *ops = backend_find(type);
        char *cause = NULL;

        assert_non_null(ops);
        if (ops->build(in, r, &cause) != 0)
                fail_msg("%s build failed: %s", type, cause);
        assert_null(cause);
        assert_non_null(r->body);
        assert_non_null(r->url);
}

const char *
backend_fx_header(const struct http_request *r, const char *name)
{
        const char *found = NULL;
        size_t n = strlen(name);

        for (size_t i = 0; i < r->nheaders; i++) {
                if (strncasecmp(r->headers[i], name, n) == 0 &&
                    r->headers[i][n] == ':' && r->headers[i][n + 1] == ' ') {
                        assert_null(found);
                        found = r->headers[i] + n + 2;
                }
        }
        return found;
}

const char *
backend_fx_sget(const json_t *obj, const char *key)
{
        const char *v = json_string_value(json_object_get(obj, key));

        if (v == NULL)
                fail_msg("no string '%s'", key);
        return v;
}

void
backend_fx_assert_str(const json_t *obj, const char *key, const char *want)
{
        assert_string_equal(backend_fx_sget(obj, key), want);
}

size_t
backend_fx_chars(const char *s)
{
        size_t n = 0;

        for (; *s != '\0'; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}
