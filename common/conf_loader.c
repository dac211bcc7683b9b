#include "conf_int.h"

#include "fileio.h"
#include "names.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/*
 * The conf module's loader (conf_int.h): errors as "path:line: message",
 * the file read with its @include directory, typed getters that check a
 * setting and report what is wrong with it, and paths and URLs.
 */

/* Adds an error message, taking it over. */
static void
add_error(struct loader *ld, char *msg)
{
        ld->errs->msgs = xreallocarray(ld->errs->msgs, ld->errs->n + 1,
                                       sizeof(*ld->errs->msgs));
        ld->errs->msgs[ld->errs->n++] = msg;
}

void __attribute__((format(printf, 3, 4)))
ld_error_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
        const char *file = ld->path;
        unsigned line = 1;
        char *msg, *full;
        va_list ap;

        if (s != NULL && config_setting_source_file(s) != NULL)
                file = config_setting_source_file(s);
        if (s != NULL && config_setting_source_line(s) > 0)
                line = config_setting_source_line(s);
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        xasprintf(&full, "%s:%u: %s", file, line, msg);
        free(msg);
        add_error(ld, full);
}

/*
 * libconfig 1.5 opens a directory named as the file or by an @include and
 * then ends the process from its scanner ("input in flex scanner failed")
 * when the read fails: a reload would take the daemon down. So before
 * libconfig reads `path`, refuse it when it or a file it includes
 * (resolved as libconfig does: under `incdir` when there is one) is a
 * directory. Reads `@include "..."` lines as libconfig's scanner does
 * (and also inside a block comment or a string, where it does not: a
 * harmless refusal of a contrived file); looks at `*budget` files at most
 * (libconfig stops at 10 levels), and leaves a file it cannot read for
 * libconfig to report.
 */
static bool
no_directories(struct loader *ld, const char *path, const char *incdir,
               int *budget)
{
        char *text = NULL, *cause = NULL, *line, *next;
        struct stat sb;
        unsigned n = 0;
        bool ok = true;
        size_t len;

        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
                return false;
        if (--*budget < 0 ||
            fileio_read(path, 1u << 20, &text, &len, &cause) < 0)
                goto out;
        /* By length: libconfig reads on past a NUL byte, and so must this. */
        for (line = text; ok && line < text + len; line = next) {
                char *name, *full, *w = NULL;

                next = memchr(line, '\n', len - (size_t)(line - text));
                if (next != NULL)
                        *next++ = '\0';
                else
                        next = text + len;
                n++;
                line += strspn(line, " \t");
                if (strncmp(line, "@include", 8) != 0 ||
                    strspn(line + 8, " \t") == 0)
                        continue;
                line += 8 + strspn(line + 8, " \t");
                if (*line++ != '"')
                        continue;
                /* The name, with \\ and \" unescaped, up to its quote. */
                for (name = w = line; *line != '\0' && *line != '"'; line++) {
                        if (*line == '\\' && line[1] != '\0')
                                line++;
                        *w++ = *line;
                }
                *w = '\0';
                if (incdir != NULL)
                        xasprintf(&full, "%s/%s", incdir, name);
                else
                        full = xstrdup(name);
                if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                        xasprintf(&cause, "%s:%u: @include '%s' is a directory",
                                  path, n, name);
                        add_error(ld, cause);
                        cause = NULL;
                        ok = false;
                } else {
                        ok = no_directories(ld, full, incdir, budget);
                }
                free(full);
        }
out:
        free(cause);
        free(text);
        return ok;
}

/*
 * Reads a libconfig file into `cfg` (initialised by the caller). On a
 * failure says why, as "path:line: message" or "path: cannot read ...".
 */
bool
ld_read_config(struct loader *ld, config_t *cfg, const char *path,
               const char *what)
{
        size_t nerrs = ld->errs->n;
        int budget = 32;
        char *msg;

        if (!no_directories(ld, path, config_get_include_dir(cfg), &budget)) {
                if (ld->errs->n == nerrs) {
                        xasprintf(&msg, "%s: cannot read %s: %s", path, what,
                                  strerror(EISDIR));
                        add_error(ld, msg);
                }
                return false;
        }
        if (config_read_file(cfg, path) == CONFIG_TRUE)
                return true;
        if (config_error_type(cfg) == CONFIG_ERR_FILE_IO) {
                FILE *f = fopen(path, "r");

                xasprintf(&msg, "%s: cannot read %s: %s", path, what,
                          f == NULL ? strerror(errno) : "I/O error");
                if (f != NULL)
                        fclose(f);
        } else {
                xasprintf(&msg, "%s:%d: %s",
                          config_error_file(cfg) ? config_error_file(cfg)
                                                 : path,
                          config_error_line(cfg), config_error_text(cfg));
        }
        add_error(ld, msg);
        return false;
}

void
ld_check_keys(struct loader *ld, const config_setting_t *group,
              const char *const *allowed, const char *where)
{
        int n = config_setting_length(group);

        for (int i = 0; i < n; i++) {
                const config_setting_t *m = config_setting_get_elem(group, i);
                const char *name = config_setting_name(m);
                size_t k;

                for (k = 0; allowed[k] != NULL; k++) {
                        if (strcmp(name, allowed[k]) == 0)
                                break;
                }
                if (allowed[k] == NULL)
                        ld_error_at(ld, m, "unknown key '%s' in %s", name,
                                    where);
        }
}

bool
ld_valid_utf8(const unsigned char *s)
{
        while (*s != '\0') {
                int extra;
                uint32_t cp;

                if (*s < 0x80) {
                        s++;
                        continue;
                } else if ((*s & 0xe0) == 0xc0) {
                        extra = 1;
                        cp = *s & 0x1f;
                } else if ((*s & 0xf0) == 0xe0) {
                        extra = 2;
                        cp = *s & 0x0f;
                } else if ((*s & 0xf8) == 0xf0) {
                        extra = 3;
                        cp = *s & 0x07;
                } else {
                        return false;
                }
                s++;
                for (int i = 0; i < extra; i++, s++) {
                        if ((*s & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (*s & 0x3f);
                }
                if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
                    (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
        }
        return true;
}

static bool
has_control(const char *value)
{
        for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return true;
        }
        return false;
}

/*
 * Text that may reach a message header or a chat card: printable UTF-8, no
 * control characters (no CR/LF header injection, ever).
 */
static bool
check_text(struct loader *ld, const config_setting_t *s, const char *key,
           const char *value)
{
        if (has_control(value)) {
                ld_error_at(ld, s, "'%s' contains a control character", key);
                return false;
        }
        if (!ld_valid_utf8((const unsigned char *)value)) {
                ld_error_at(ld, s, "'%s' is not valid UTF-8", key);
                return false;
        }
        return true;
}

/*
 * Refuses a text longer than `max` characters (UTF-8 code points), `what`
 * naming it for the message; true when it fits.
 */
bool
ld_check_length(struct loader *ld, const config_setting_t *s, const char *what,
                const char *value, size_t max)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *)value; *p; p++)
                n += (*p & 0xc0) != 0x80;
        if (n <= max)
                return true;
        ld_error_at(ld, s, "%s is %zu characters long; at most %zu are allowed",
                    what, n, max);
        return false;
}

/*
 * The string member `key` of `group`: NULL when absent (an error if
 * required) or invalid (an error said). The result is borrowed.
 */
const char *
ld_get_string(struct loader *ld, const config_setting_t *group, const char *key,
              bool required, const char *where)
{
        const config_setting_t *m =
            group != NULL ? config_setting_get_member(group, key) : NULL;
        const char *v;

        if (m == NULL) {
                if (required)
                        ld_error_at(ld, group, "missing '%s' in %s", key,
                                    where);
                return NULL;
        }
        if (config_setting_type(m) != CONFIG_TYPE_STRING) {
                ld_error_at(ld, m, "'%s' must be a string", key);
                return NULL;
        }
        v = config_setting_get_string(m);
        if (required && v[0] == '\0') {
                ld_error_at(ld, m, "'%s' must not be empty", key);
                return NULL;
        }
        if (!check_text(ld, m, key, v))
                return NULL;
        return v;
}

/*
 * "path:line" of member `key` of `group`, or "" when absent: where
 * check-config says a secret file the setting names is wrong.
 */
char *
ld_setting_at(struct loader *ld, const config_setting_t *group, const char *key)
{
        const config_setting_t *m =
            group != NULL ? config_setting_get_member(group, key) : NULL;
        const char *file;
        char *at;

        if (m == NULL)
                return xstrdup("");
        file = config_setting_source_file(m) != NULL
                   ? config_setting_source_file(m)
                   : ld->path;
        xasprintf(&at, "%s:%u", file, config_setting_source_line(m));
        return at;
}

/* Like get_string, but an owned copy, with a default when absent. */
char *
ld_dup_string(struct loader *ld, const config_setting_t *group, const char *key,
              const char *def, const char *where)
{
        const char *v = ld_get_string(ld, group, key, def == NULL, where);

        if (v == NULL)
                v = def;
        return v == NULL ? NULL : xstrdup(v);
}

int
ld_test_min(const char *env, int min)
{
        const char *v = getenv(env);
        char *end;
        long n;

        if (v == NULL || *v == '\0')
                return min;
        n = strtol(v, &end, 10);
        if (*end != '\0' || n < 1 || n > min)
                return min;
        return (int)n;
}

/* An integer member in [min, max]: false when absent or wrong (said). */
bool
ld_get_int(struct loader *ld, const config_setting_t *group, const char *key,
           int min, int max, int *out)
{
        const config_setting_t *m =
            group != NULL ? config_setting_get_member(group, key) : NULL;
        long long v;

        if (m == NULL)
                return false;
        if (config_setting_type(m) != CONFIG_TYPE_INT &&
            config_setting_type(m) != CONFIG_TYPE_INT64) {
                ld_error_at(ld, m, "'%s' must be a whole number", key);
                return false;
        }
        v = config_setting_get_int64(m);
        if (v < min || v > max) {
                ld_error_at(ld, m, "'%s' must be between %d and %d, not %lld",
                            key, min, max, v);
                return false;
        }
        *out = (int)v;
        return true;
}

/* One of `names` (NULL-terminated); its index, or `def` when absent. */
int
ld_get_enum(struct loader *ld, const config_setting_t *group, const char *key,
            const char *const *names, int def, const char *where)
{
        const char *v = ld_get_string(ld, group, key, false, where);
        char *want = NULL;

        if (v == NULL)
                return def;
        for (int i = 0; names[i] != NULL; i++) {
                if (strcmp(v, names[i]) == 0)
                        return i;
        }
        for (int i = 0; names[i] != NULL; i++) {
                char *next;

                xasprintf(&next, "%s%s\"%s\"", want ? want : "",
                          want ? ", " : "", names[i]);
                free(want);
                want = next;
        }
        ld_error_at(ld, config_setting_get_member(group, key),
                    "%s '%s' must be one of %s", key, v, want);
        free(want);
        return def;
}

/*
 * A list or array of strings; each element checked and the bad ones
 * reported and left out. out->at[i] is where out->v[i] was written, for
 * later errors about it. Absent: an empty list.
 */
void
ld_get_strv(struct loader *ld, const config_setting_t *group, const char *key,
            struct strlist *out)
{
        const config_setting_t *m = config_setting_get_member(group, key);
        int len;

        memset(out, 0, sizeof(*out));
        if (m == NULL)
                return;
        if (config_setting_type(m) != CONFIG_TYPE_ARRAY &&
            config_setting_type(m) != CONFIG_TYPE_LIST) {
                ld_error_at(ld, m, "'%s' must be a list of strings", key);
                return;
        }
        len = config_setting_length(m);
        out->v = xcalloc((size_t)len + 1, sizeof(*out->v));
        out->at = xcalloc((size_t)len + 1, sizeof(*out->at));
        for (int i = 0; i < len; i++) {
                const config_setting_t *e = config_setting_get_elem(m, i);

                if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                        ld_error_at(ld, e, "'%s' must be a list of strings",
                                    key);
                        continue;
                }
                if (!check_text(ld, e, key, config_setting_get_string(e)))
                        continue;
                out->at[out->n] = e;
                out->v[out->n++] = xstrdup(config_setting_get_string(e));
        }
}

void
ld_free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void
ld_strlist_free(struct strlist *l)
{
        ld_free_strv(l->v, l->n);
        free(l->at);
        memset(l, 0, sizeof(*l));
}

/* The group member `key`, or NULL; an error if it is there but no group. */
const config_setting_t *
ld_get_group(struct loader *ld, const config_setting_t *parent, const char *key)
{
        const config_setting_t *m = config_setting_get_member(parent, key);

        if (m != NULL && config_setting_type(m) != CONFIG_TYPE_GROUP) {
                ld_error_at(ld, m, "'%s' must be a group { ... }", key);
                return NULL;
        }
        return m;
}

/* A list ( {...}, {...} ) of groups, or NULL (error said if required). */
const config_setting_t *
ld_get_list(struct loader *ld, const config_setting_t *parent, const char *key,
            bool required)
{
        const config_setting_t *m = config_setting_get_member(parent, key);

        if (m == NULL) {
                if (required)
                        ld_error_at(ld, parent, "missing '%s'", key);
                return NULL;
        }
        if (config_setting_type(m) != CONFIG_TYPE_LIST) {
                ld_error_at(ld, m, "'%s' must be a list ( { ... }, ... )", key);
                return NULL;
        }
        return m;
}

char *
ld_resolve_path(const char *dir, const char *p)
{
        char *out;

        if (p[0] == '/')
                return xstrdup(p);
        xasprintf(&out, "%s/%s", dir, p);
        return out;
}

bool
ld_is_loopback_host(const char *host)
{
        struct in_addr a4;
        struct in6_addr a6;
        char buf[64];
        size_t len = strlen(host);

        if (strcasecmp(host, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (len > 2 && len < sizeof(buf) && host[0] == '[' &&
            host[len - 1] == ']') {
                memcpy(buf, host + 1, len - 2);
                buf[len - 2] = '\0';
                host = buf;
        }
        return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * Splits a URL with libcurl's parser. Returns -1 when it is not a URL; the
 * URL itself is never echoed (webhook URLs are secrets), only its host.
 */
int
ld_url_parts(const char *url, char **scheme, char **host)
{
        CURLU *u = curl_url();
        int rc = -1;

        *scheme = *host = NULL;
        if (u == NULL)
                abort();
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
                goto out;
        rc = 0;
out:
        if (rc != 0) {
                curl_free(*scheme);
                curl_free(*host);
                *scheme = *host = NULL;
        }
        curl_url_cleanup(u);
        return rc;
}

bool
ld_valid_name(const char *s)
{
        if (s[0] == '\0' || strlen(s) > NAMES_CHANNEL_LEN)
                return false;
        for (; *s != '\0'; s++) {
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
                      *s == '.'))
                        return false;
        }
        return true;
}

/* Reports `name` if an earlier element of `list` (by `key`) had it too. */
void
ld_check_unique(struct loader *ld, const config_setting_t *list, int index,
                const char *key, const char *name, const char *what)
{
        for (int j = 0; j < index; j++) {
                const config_setting_t *prev = config_setting_get_elem(list, j);
                const char *pv = NULL;

                if (config_setting_lookup_string(prev, key, &pv) &&
                    strcmp(pv, name) == 0) {
                        ld_error_at(
                            ld,
                            config_setting_get_member(
                                config_setting_get_elem(list, index), key),
                            "duplicate %s '%s' (first at line %u)", what, name,
                            config_setting_source_line(prev));
                        return;
                }
        }
}

/* The list elements that are groups; reports the others. */
bool
ld_element_group(struct loader *ld, const config_setting_t *e, const char *what)
{
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                ld_error_at(ld, e, "each %s must be a group { ... }", what);
                return false;
        }
        return true;
}
