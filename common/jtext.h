/*
 * jtext: JSON text written straight into a growing text (strbuf.h).
 *
 * For the messages on a hot path (a JOB for every delivery), where
 * building a jansson tree to dump it costs more than the text itself.
 * Strings are escaped as jansson writes them: the quote, the backslash
 * and control characters; other UTF-8 as it is, and a byte that is not
 * UTF-8 as \ufffd. Pure; out of memory is fatal (xalloc.h).
 */
#ifndef ONOTIFY_JTEXT_H
#define ONOTIFY_JTEXT_H

#include "strbuf.h"

/* Appends the inside of `s` as a JSON string, escaped. */
void jtext_escaped(struct strbuf *b, const char *s);
/* Appends `s` as a JSON string, quotes included. */
void jtext_string(struct strbuf *b, const char *s);

#endif
