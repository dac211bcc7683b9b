#include "secret.h"

#include "fileio.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* `creds`/`prefix``name`, when that file exists. */
static char *
credential(const char *creds, const char *prefix, const char *name)
{
        struct stat sb;
        char *path;

        xasprintf(&path, "%s/%s%s", creds, prefix, name);
        if (stat(path, &sb) == 0)
                return path;
        free(path);
        return NULL;
}

char *
secret_path(const char *confdir, const char *name)
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        const char *base = strrchr(name, '/');
        char *path = NULL, *flat;

        base = base != NULL ? base + 1 : name;
        if (creds != NULL && *creds != '\0') {
                path = credential(creds, "", base);
                if (path == NULL && name[0] != '/') {
                        flat = xstrdup(name);
                        for (char *p = flat; *p != '\0'; p++)
                                if (*p == '/')
                                        *p = '_';
                        path = credential(creds, "", flat);
                        free(flat);
                }
                if (path == NULL)
                        path = credential(creds, "secrets_", base);
                if (path != NULL)
                        return path;
        }
        if (name[0] == '/')
                return xstrdup(name);
        xasprintf(&path, "%s/%s", confdir, name);
        return path;
}

char *
secret_read(const char *confdir, const char *name, char **cause)
{
        char *path = secret_path(confdir, name), *buf = NULL, *why = NULL;
        size_t len;

        if (fileio_read_private(path, SECRET_MAX, &buf, &len, &why) < 0) {
                xasprintf(cause, "cannot read secret file: %s", why);
                free(why);
                free(path);
                return NULL;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
                           buf[len - 1] == ' ' || buf[len - 1] == '\t'))
                buf[--len] = '\0';
        free(path);
        return buf;
}

void
secret_free(char *s)
{
        if (s == NULL)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}
