#include "strbuf.h"

#include "xalloc.h"

#include <string.h>

void
strbuf_add(struct strbuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap > 0 ? b->cap : 256;

                while (b->len + n + 1 > cap)
                        cap *= 2;
                b->s = xreallocarray(b->s, cap, 1);
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

void
strbuf_str(struct strbuf *b, const char *s)
{
        strbuf_add(b, s, strlen(s));
}
