/* jtext: JSON text written straight into a growing text (jtext.h). */
#include "jtext.h"

#include <stdint.h>
#include <string.h>

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

/* The escapes of two characters jansson writes, by the byte (< 0x80)
 * they stand for; any other byte below 0x20 is written \u00XX. */
static const char short_escape[0x80] = {
        ['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
        ['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't',
};

/*
 * The inside of `s` as a JSON string, escaped as jansson writes it: the
 * quote, the backslash and control characters; other UTF-8 as it is.
 */
void
jtext_escaped(struct strbuf *b, const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t n = strlen(s);

        while (n > 0) {
                size_t run = 0, len;

                /* The common case: a run that needs no escape. */
                while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
                       p[run] != '"' && p[run] != '\\')
                        run++;
                strbuf_add(b, (const char *)p, run);
                p += run;
                n -= run;
                if (n == 0)
                        break;
                if (*p >= 0x80) {
                        len = utf8_len(p, n);
                        if (len == 0) {
                                strbuf_add(b, "\\ufffd", 6);
                                len = 1;
                        } else {
                                strbuf_add(b, (const char *)p, len);
                        }
                        p += len;
                        n -= len;
                        continue;
                }
                if (short_escape[*p] != '\0') {
                        char esc[2] = { '\\', short_escape[*p] };

                        strbuf_add(b, esc, 2);
                } else {
                        strbuf_printf(b, "\\u%04X", *p);
                }
                p++;
                n--;
        }
}

/* `s` as a JSON string, quotes included. */
void
jtext_string(struct strbuf *b, const char *s)
{
        strbuf_add(b, "\"", 1);
        jtext_escaped(b, s);
        strbuf_add(b, "\"", 1);
}
