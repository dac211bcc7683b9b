#include "xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(void)
{
        fputs("out of memory\n", stderr);
        abort();
}

void *
xmalloc(size_t size)
{
        void *p = malloc(size == 0 ? 1 : size);

        if (p == NULL)
                oom();
        return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
        void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

        if (p == NULL)
                oom();
        return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
        void *p;

        if (size != 0 && nmemb > SIZE_MAX / size)
                oom();
        p = realloc(ptr, nmemb * size == 0 ? 1 : nmemb * size);
        if (p == NULL)
                oom();
        return p;
}

char *
xstrdup(const char *s)
{
        char *p = strdup(s);

        if (p == NULL)
                oom();
        return p;
}

char *
xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);

        if (p == NULL)
                oom();
        return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(ret, fmt, ap);
        va_end(ap);
        if (n < 0)
                oom();
        return n;
}
