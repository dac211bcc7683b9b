/* strbuf: a growing text (strbuf.h). */
#include "strbuf.h"

#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
grow(struct strbuf *b, size_t more)
{
        if (b->len + more + 1 <= b->cap)
                return;
        while (b->len + more + 1 > b->cap)
                b->cap = b->cap == 0 ? 128 : 2 * b->cap;
        b->s = xreallocarray(b->s, b->cap, 1);
}

void
strbuf_add(struct strbuf *b, const char *s, size_t n)
{
        grow(b, n);
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

void
strbuf_str(struct strbuf *b, const char *s)
{
        strbuf_add(b, s, strlen(s));
}

void
strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        /* Numbers and names: the room kept free is enough at once. */
        grow(b, 64);
        va_start(ap, fmt);
        n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
                abort();
        if ((size_t)n >= b->cap - b->len) {
                grow(b, (size_t)n);
                va_start(ap, fmt);
                vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
                va_end(ap);
        }
        b->len += (size_t)n;
}
