/*
 * strbuf: a growing string, for the renderers that build text piece by
 * piece (ics.c, template.c). The caller owns b.s, always NUL-terminated
 * once anything (even "") has been added, and frees it.
 */
#ifndef ONOTIFY_STRBUF_H
#define ONOTIFY_STRBUF_H

#include <stddef.h>

struct strbuf {
        char *s;
        size_t len, cap;
};

/* Appends the `n` bytes at `s`; dies on out-of-memory as xalloc does. */
void strbuf_add(struct strbuf *b, const char *s, size_t n);
/* Appends the string `s`. */
void strbuf_str(struct strbuf *b, const char *s);

#endif
