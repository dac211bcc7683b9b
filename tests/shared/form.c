/* form: a form body's field, decoded (form.h). */
#include "form.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
form_field(const char *form, const char *name)
{
        size_t n = strlen(name);

        for (const char *p = form; p != NULL && *p != '\0';) {
                const char *end = strchr(p, '&');
                size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

                if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
                        char *out = malloc(len), *o = out;

                        assert_non_null(out);
                        for (const char *q = p + n + 1; q < p + len; q++) {
                                if (*q == '%') {
                                        unsigned v;

                                        assert_int_equal(
                                            sscanf(q + 1, "%2x", &v), 1);
                                        *o++ = (char)v;
                                        q += 2;
                                } else {
                                        *o++ = *q == '+' ? ' ' : *q;
                                }
                        }
                        *o = '\0';
                        return out;
                }
                p = end != NULL ? end + 1 : NULL;
        }
        return NULL;
}
