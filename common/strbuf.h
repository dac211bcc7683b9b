/*
 * strbuf: a growing text, for whatever builds text piece by piece: the
 * JSON of jtext.h, iCalendar (ics.c), alert texts (template.c). Pure;
 * out of memory is fatal (xalloc.h).
 */
#ifndef ONOTIFY_STRBUF_H
#define ONOTIFY_STRBUF_H

#include <stddef.h>

/* { NULL, 0, 0 } is empty; s, once there is one, is NUL-terminated and
 * the caller's to free. */
struct strbuf {
        char *s;
        size_t len, cap;
};

/* Appends n bytes of s as they are. */
void strbuf_add(struct strbuf *b, const char *s, size_t n);
/* Appends the string s as it is. */
void strbuf_str(struct strbuf *b, const char *s);
/* Appends printf's text. */
void strbuf_printf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
