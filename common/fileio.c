#include "fileio.h"

#include "xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * The read itself. With `private`, the open file (not the name, which
 * could be swapped between a check and the open) must give others no
 * access at all, and its group none either, or only read access with
 * `group_read`.
 */
static int
read_file(const char *path, size_t max, bool private, bool group_read,
          char **buf, size_t *len, char **cause)
{
        mode_t closed = S_IRWXO | (group_read ? S_IWGRP | S_IXGRP : S_IRWXG);
        FILE *f = NULL;
        char *data = NULL;
        size_t n = 0;
        int rc = -1, saved = 0;
        struct stat sb;

        *buf = NULL;
        f = fopen(path, "rb");
        if (f == NULL) {
                saved = errno;
                xasprintf(cause, "%s: %s", path, strerror(saved));
                goto out;
        }
        if (private && fstat(fileno(f), &sb) == 0 &&
            (sb.st_mode & closed) != 0) {
                saved = EACCES;
                xasprintf(cause,
                          "%s: holds a secret but is open to others (mode "
                          "%04o); make it the owner's only (chmod 600)",
                          path, (unsigned)(sb.st_mode & 07777));
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

int
fileio_read(const char *path, size_t max, char **buf, size_t *len, char **cause)
{
        return read_file(path, max, false, false, buf, len, cause);
}

int
fileio_read_private(const char *path, size_t max, bool group_read, char **buf,
                    size_t *len, char **cause)
{
        return read_file(path, max, true, group_read, buf, len, cause);
}

char *
fileio_dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');

        if (slash == NULL)
                return xstrdup(".");
        if (slash == path)
                return xstrdup("/");
        return xstrndup(path, (size_t)(slash - path));
}
