#include "fileio.h"

#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
fileio_read(const char *path, size_t max, char **buf, size_t *len, char **cause)
{
        FILE *f = NULL;
        char *data = NULL;
        size_t n = 0;
        int rc = -1, saved = 0;

        *buf = NULL;
        f = fopen(path, "rb");
        if (f == NULL) {
                saved = errno;
                xasprintf(cause, "%s: %s", path, strerror(saved));
                goto out;
        }
        data = xmalloc(max + 2);
        n = fread(data, 1, max + 1, f);
        if (ferror(f)) {
                saved = errno;
                xasprintf(cause, "%s: %s", path, strerror(saved));
                goto out;
        }
        if (n > max) {
                saved = EFBIG;
                xasprintf(cause, "%s: larger than %zu bytes", path, max);
                goto out;
        }
        data[n] = '\0';
        *buf = data;
        *len = n;
        data = NULL;
        rc = 0;
out:
        if (f != NULL)
                fclose(f);
        free(data);
        errno = saved;
        return rc;
}
