/* jtext: JSON text written straight into a growing buffer (jtext.h). */
#include "jtext.h"

#include "xalloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
grow(struct jtext *b, size_t more)
{
        if (b->len + more + 1 <= b->cap)
                return;
        while (b->len + more + 1 > b->cap)
                b->cap = b->cap == 0 ? 128 : 2 * b->cap;
        b->s = xreallocarray(b->s, b->cap, 1);
}

void
jtext_add(struct jtext *b, const char *s, size_t n)
{
        grow(b, n);
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

void
jtext_printf(struct jtext *b, const char *fmt, ...)
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

/* The length of the UTF-8 sequence at s[0..n) (1 to 4), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
        size_t len;
        uint32_t c;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, c = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        /* No overlong form, surrogate or code point past U+10FFFF. */
        if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
            (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
                return 0;
        return len;
}

/*
 * The inside of `s` as a JSON string, escaped as jansson writes it: the
 * quote, the backslash and control characters; other UTF-8 as it is.
 */
void
jtext_escaped(struct jtext *b, const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t n = strlen(s);

        while (n > 0) {
                size_t run = 0, len;

                /* The common case: a run that needs no escape. */
                while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
                       p[run] != '"' && p[run] != '\\')
                        run++;
                jtext_add(b, (const char *)p, run);
                p += run;
                n -= run;
                if (n == 0)
                        break;
                if (*p >= 0x80) {
                        len = utf8_len(p, n);
                        if (len == 0) {
                                jtext_add(b, "\\ufffd", 6);
                                len = 1;
                        } else {
                                jtext_add(b, (const char *)p, len);
                        }
                        p += len;
                        n -= len;
                        continue;
                }
                switch (*p) {
                case '"':
                        jtext_add(b, "\\\"", 2);
                        break;
                case '\\':
                        jtext_add(b, "\\\\", 2);
                        break;
                case '\b':
                        jtext_add(b, "\\b", 2);
                        break;
                case '\f':
                        jtext_add(b, "\\f", 2);
                        break;
                case '\n':
                        jtext_add(b, "\\n", 2);
                        break;
                case '\r':
                        jtext_add(b, "\\r", 2);
                        break;
                case '\t':
                        jtext_add(b, "\\t", 2);
                        break;
                default:
                        jtext_printf(b, "\\u%04X", *p);
                        break;
                }
                p++;
                n--;
        }
}

/* `s` as a JSON string, quotes included. */
void
jtext_string(struct jtext *b, const char *s)
{
        jtext_add(b, "\"", 1);
        jtext_escaped(b, s);
        jtext_add(b, "\"", 1);
}
