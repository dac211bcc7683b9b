/*
 * jtext: JSON text written straight into a growing buffer.
 *
 * For the messages on a hot path (a JOB for every delivery), where
 * building a jansson tree to dump it costs more than the text itself.
 * Strings are escaped as jansson writes them: the quote, the backslash
 * and control characters; other UTF-8 as it is, and a byte that is not
 * UTF-8 as \ufffd. Pure; out of memory is fatal (xalloc.h).
 */
#ifndef ONOTIFY_JTEXT_H
#define ONOTIFY_JTEXT_H

#include <stddef.h>

/* A growing text; { NULL, 0, 0 } is empty. s, once there is one, is the
 * caller's to free. */
struct jtext {
        char *s;
        size_t len, cap;
};

/* Appends n bytes of s as they are. */
void jtext_add(struct jtext *b, const char *s, size_t n);
/* Appends printf's text (numbers and names: nothing to escape). */
void jtext_printf(struct jtext *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends the inside of `s` as a JSON string, escaped. */
void jtext_escaped(struct jtext *b, const char *s);
/* Appends `s` as a JSON string, quotes included. */
void jtext_string(struct jtext *b, const char *s);

#endif
