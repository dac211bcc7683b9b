/*
 * fuzz_template: the message templates, template_check() and
 * template_render(), on any text.
 *
 * The input is the template; after a NUL byte, if there is one, comes the
 * "alert" object of a JOB (docs/dispatch.md) whose template_vars() fill it,
 * else a fixed alert. Invariants: rendering with no values gives the
 * template back unchanged (unknown placeholders are copied as written); a
 * template that template_check() accepts, filled from values holding no
 * braces, leaves no "{{" behind; a refused one says why.
 */
#include "fuzz.h"

#include "template.h"

#include <stdlib.h>
#include <string.h>

static const char fixed_alert[] =
    "{\"trust\": \"Example Learning Trust\", \"case\": 7,"
    " \"school\": {\"urn\": \"100001\", \"name\": \"Oak Primary\"},"
    " \"rule\": \"deferral_cutoff\", \"offset\": \"-60m\", \"late\": true,"
    " \"action\": \"Ask before 16:30.\", \"contact\": \"SOL 0300 123 4231\","
    " \"due\": \"2024-03-04T16:30:00+00:00\","
    " \"due_human\": \"Mon 4 Mar 2024 16:30 GMT\","
    " \"opens\": null, \"warning\": null}";

/* Whether any value holds a brace, which may make a "{{" of its own. */
static bool
braces_in(const json_t *vars)
{
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)vars, key, v)
        {
                if (strpbrk(json_string_value(v), "{}") != NULL)
                        return true;
        }
        return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *tmpl = fuzz_cstr(data, size), *out, *cause = NULL;
        size_t tlen = strlen(tmpl);
        json_t *alert = NULL, *vars, *none = json_object();
        int ok;

        if (tlen < size)
                alert = json_loadb((const char *)data + tlen + 1,
                                   size - tlen - 1, 0, NULL);
        if (!json_is_object(alert)) {
                json_decref(alert);
                alert = json_loads(fixed_alert, 0, NULL);
        }
        vars = template_vars(alert);

        out = template_render(tmpl, none);
        FUZZ_CHECK(strcmp(out, tmpl) == 0);
        free(out);

        ok = template_check(tmpl, &cause) == 0;
        FUZZ_CHECK(ok == (cause == NULL));
        out = template_render(tmpl, vars);
        if (ok && !braces_in(vars))
                FUZZ_CHECK(strstr(out, "{{") == NULL);
        free(out);

        free(cause);
        json_decref(vars);
        json_decref(none);
        json_decref(alert);
        free(tmpl);
        return 0;
}
