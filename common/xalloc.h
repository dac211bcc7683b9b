/*
 * xalloc: allocation that cannot fail.
 *
 * Out of memory is not a condition this program can recover from, so these
 * wrappers abort with a message instead of returning NULL. Every pointer they
 * return is owned by the caller and released with free().
 */
#ifndef ONOTIFY_XALLOC_H
#define ONOTIFY_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
/* Grows (or shrinks) an array of nmemb elements, checking for overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
int xasprintf(char **ret, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
