#include "secret.h"

#include "conf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHSEC_PREFIX "whsec_"
#define WHSEC_MIN    24 /* bytes: the Standard Webhooks minimum, 192 bits */
#define WHSEC_MAX    64 /* and its maximum, 512 bits */

/* --- Where ---------------------------------------------------------------- */

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

bool
secret_is_credential(const char *path)
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        size_t n;

        if (creds == NULL || *creds == '\0')
                return false;
        n = strlen(creds);
        while (n > 1 && creds[n - 1] == '/')
                n--;
        return strncmp(path, creds, n) == 0 && path[n] == '/' &&
               strchr(path + n + 1, '/') == NULL;
}

/* --- Judging -------------------------------------------------------------- */

int
secret_check_mode(mode_t mode, uid_t owner, uid_t self, bool credential,
                  char **cause)
{
        unsigned m = (unsigned)(mode & 07777);
        mode_t group = credential ? (S_IWGRP | S_IXGRP) : S_IRWXG;

        if ((mode & S_IRWXO) != 0) {
                xasprintf(cause, "%s by others (mode %04o); chmod 600 it",
                          (mode & S_IROTH) != 0 ? "readable" : "open", m);
                return -1;
        }
        if ((mode & group) != 0) {
                xasprintf(cause, "%s by its group (mode %04o); chmod 600 it",
                          (mode & S_IRGRP) != 0 ? "readable" : "open", m);
                return -1;
        }
        if (owner != 0 && owner != self) {
                xasprintf(cause,
                          "owned by uid %lu, who could rewrite it; make it "
                          "root's or uid %lu's",
                          (unsigned long)owner, (unsigned long)self);
                return -1;
        }
        return 0;
}

/* A url_file's URL, judged by the config's one rule (conf_webhook_url()). */
static int
check_url(const char *url, char **cause)
{
        char *part = NULL;
        int rc = -1;

        switch (conf_webhook_url(url, &part)) {
        case CONF_URL_OK:
                rc = 0;
                break;
        case CONF_URL_INVALID:
                *cause = xstrdup("is not a valid URL");
                break;
        case CONF_URL_PLAIN_HTTP:
                xasprintf(cause,
                          "holds a plain http:// URL to '%s': use https:// "
                          "(http is allowed only to loopback)",
                          part);
                break;
        case CONF_URL_SCHEME:
                xasprintf(cause, "holds a '%s' URL, not https", part);
                break;
        }
        free(part);
        return rc;
}

/* A document: lines of text, so no NUL or other control character but
 * tab, CR and LF, and something besides white space. */
static int
check_document(const char *text, size_t len, char **value, char **cause)
{
        bool blank = true;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)text[i];

                if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
                    c == 0x7f) {
                        xasprintf(cause,
                                  "holds a control character (byte 0x%02x "
                                  "at offset %zu)",
                                  c, i);
                        return -1;
                }
                if (c > 0x20)
                        blank = false;
        }
        if (blank) {
                *cause = xstrdup("is empty");
                return -1;
        }
        *value = xstrndup(text, len);
        return 0;
}

int
secret_check_text(enum secret_kind kind, const char *text, size_t len,
                  char **value, char **cause)
{
        unsigned char *key = NULL;
        size_t keylen = 0;
        char *v;

        *value = NULL;
        if (kind == SECRET_DOCUMENT)
                return check_document(text, len, value, cause);
        /* One line: its end may be LF or, as Windows editors write, CR LF. */
        if (len > 0 && text[len - 1] == '\n') {
                len--;
                if (len > 0 && text[len - 1] == '\r')
                        len--;
        }
        if (len == 0) {
                *cause = xstrdup("is empty");
                return -1;
        }
        if (memchr(text, '\n', len) != NULL) {
                *cause = xstrdup("holds more than one line");
                return -1;
        }
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)text[i];

                if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        xasprintf(cause,
                                  "holds a control character (byte 0x%02x "
                                  "at offset %zu)",
                                  c, i);
                        return -1;
                }
        }
        if (text[0] == ' ' || text[0] == '\t' || text[len - 1] == ' ' ||
            text[len - 1] == '\t') {
                *cause = xstrdup("has white space at the start or end of its "
                                 "line");
                return -1;
        }
        v = xstrndup(text, len);
        switch (kind) {
        case SECRET_URL:
                if (strpbrk(v, " \t") != NULL) {
                        *cause = xstrdup("holds a URL with a space in it");
                        goto bad;
                }
                if (check_url(v, cause) < 0)
                        goto bad;
                break;
        case SECRET_SIGNING_KEY:
                if (secret_whsec_key(v, &key, &keylen, cause) < 0)
                        goto bad;
                explicit_bzero(key, keylen);
                free(key);
                break;
        case SECRET_PASSWORD:
        case SECRET_TOKEN:
        case SECRET_DOCUMENT:
                break;
        }
        *value = v;
        return 0;
bad:
        secret_free(v);
        return -1;
}

int
secret_whsec_key(const char *text, unsigned char **key, size_t *len,
                 char **cause)
{
        const char *a = text != NULL ? text : "", *z, *b64, *end = NULL;
        unsigned char buf[WHSEC_MAX * 2];
        size_t n = 0;
        int rc = -1;

        *key = NULL;
        *len = 0;
        while (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n')
                a++;
        z = a + strlen(a);
        while (z > a && (z[-1] == ' ' || z[-1] == '\t' || z[-1] == '\r' ||
                         z[-1] == '\n'))
                z--;
        if ((size_t)(z - a) <= strlen(WHSEC_PREFIX) ||
            strncmp(a, WHSEC_PREFIX, strlen(WHSEC_PREFIX)) != 0) {
                *cause = xstrdup("the signing secret must be 'whsec_' "
                                 "followed by a base64 key");
                return -1;
        }
        b64 = a + strlen(WHSEC_PREFIX);
        if ((size_t)(z - b64) > sizeof(buf) / 3 * 4) {
                xasprintf(cause,
                          "the signing key is over %d bytes, the Standard "
                          "Webhooks maximum",
                          WHSEC_MAX);
                return -1;
        }
        if ((sodium_base642bin(buf, sizeof(buf), b64, (size_t)(z - b64), NULL,
                               &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
             end != z) &&
            (sodium_base642bin(
                 buf, sizeof(buf), b64, (size_t)(z - b64), NULL, &n, &end,
                 sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
             end != z)) {
                *cause = xstrdup("the signing secret is not valid base64 "
                                 "after 'whsec_'");
                goto out;
        }
        if (n < WHSEC_MIN || n > WHSEC_MAX) {
                xasprintf(cause,
                          "the signing key is %zu bytes; Standard Webhooks "
                          "keys are %d to %d",
                          n, WHSEC_MIN, WHSEC_MAX);
                goto out;
        }
        *key = xmalloc(n);
        memcpy(*key, buf, n);
        *len = n;
        rc = 0;
out:
        sodium_memzero(buf, sizeof(buf));
        return rc;
}

/* --- Reading -------------------------------------------------------------- */

static void
stamp_of(const struct stat *sb, struct secret_stamp *stamp)
{
        memset(stamp, 0, sizeof(*stamp));
        stamp->dev = sb->st_dev;
        stamp->ino = sb->st_ino;
        stamp->size = sb->st_size;
        stamp->mode = sb->st_mode;
        stamp->uid = sb->st_uid;
        stamp->mtime = sb->st_mtim;
        stamp->ctime = sb->st_ctim;
}

int
secret_stat(const char *path, struct secret_stamp *stamp)
{
        struct stat sb;

        if (stat(path, &sb) < 0)
                return -1;
        stamp_of(&sb, stamp);
        return 0;
}

bool
secret_stamp_equal(const struct secret_stamp *a, const struct secret_stamp *b)
{
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mode == b->mode && a->uid == b->uid &&
               a->mtime.tv_sec == b->mtime.tv_sec &&
               a->mtime.tv_nsec == b->mtime.tv_nsec &&
               a->ctime.tv_sec == b->ctime.tv_sec &&
               a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int
secret_load(const char *path, bool credential, enum secret_kind kind,
            char **value, struct secret_stamp *stamp, char **cause)
{
        size_t max = kind == SECRET_DOCUMENT ? SECRET_DOC_MAX : SECRET_MAX;
        char *buf = NULL;
        size_t len = 0;
        struct stat sb;
        int fd, rc = -1, saved = EINVAL;
        ssize_t n;

        *value = NULL;
        /* The checks are of the open file, not of a name that could be
         * swapped between a look and the open. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                saved = errno;
                xasprintf(cause, "%s",
                          saved == ENOENT ? "does not exist" : strerror(saved));
                goto out;
        }
        if (fstat(fd, &sb) < 0) {
                saved = errno;
                xasprintf(cause, "%s", strerror(saved));
                goto out;
        }
        if (!S_ISREG(sb.st_mode)) {
                *cause = xstrdup("is not a regular file");
                goto out;
        }
        if (secret_check_mode(sb.st_mode, sb.st_uid, geteuid(), credential,
                              cause) < 0)
                goto out;
        buf = xmalloc(max + 2);
        while (len <= max && (n = read(fd, buf + len, max + 1 - len)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        saved = errno;
                        xasprintf(cause, "%s", strerror(saved));
                        goto out;
                }
                len += (size_t)n;
        }
        if (len > max) {
                xasprintf(cause, "is larger than %zu bytes", max);
                goto out;
        }
        if (secret_check_text(kind, buf, len, value, cause) < 0)
                goto out;
        if (stamp != NULL)
                stamp_of(&sb, stamp);
        rc = 0;
out:
        if (buf != NULL) {
                explicit_bzero(buf, max + 2);
                free(buf);
        }
        if (fd >= 0)
                close(fd);
        errno = rc == 0 ? 0 : saved;
        return rc;
}

void
secret_free(char *s)
{
        if (s == NULL)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}
