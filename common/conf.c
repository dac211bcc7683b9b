#include "conf.h"

#include "civil.h"
#include "fileio.h"
#include "template.h"
#include "timefmt.h"
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
#include <unistd.h>
#include <zmq.h>

#define HOLIDAYS_MAX     (16u << 20)
#define WORKING_DAYS_MAX 260
#define MONTHS_MAX       120
#define TYPE_LIST        "email teams google_chat slack discord mattermost webhook"

static const char *const channel_types[CHANNEL_NTYPES] = {
        [CHANNEL_EMAIL] = "email",
        [CHANNEL_TEAMS] = "teams",
        [CHANNEL_GOOGLE_CHAT] = "google_chat",
        [CHANNEL_SLACK] = "slack",
        [CHANNEL_DISCORD] = "discord",
        [CHANNEL_MATTERMOST] = "mattermost",
        [CHANNEL_WEBHOOK] = "webhook",
};

/* One load in progress: where errors go and what is being built. */
struct loader {
        const char *path;
        struct conf *conf;
        struct conf_errors *errs;
};

/* Adds an error message, taking it over. */
static void
add_error(struct loader *ld, char *msg)
{
        ld->errs->msgs = xreallocarray(ld->errs->msgs, ld->errs->n + 1,
                                       sizeof(*ld->errs->msgs));
        ld->errs->msgs[ld->errs->n++] = msg;
}

static void __attribute__((format(printf, 3, 4)))
error_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
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
static bool
read_config(struct loader *ld, config_t *cfg, const char *path,
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

/* --- Typed getters ------------------------------------------------------ */

static void
check_keys(struct loader *ld, const config_setting_t *group,
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
                        error_at(ld, m, "unknown key '%s' in %s", name, where);
        }
}

static bool
valid_utf8(const unsigned char *s)
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
                error_at(ld, s, "'%s' contains a control character", key);
                return false;
        }
        if (!valid_utf8((const unsigned char *)value)) {
                error_at(ld, s, "'%s' is not valid UTF-8", key);
                return false;
        }
        return true;
}

/*
 * Refuses a text longer than `max` characters (UTF-8 code points), `what`
 * naming it for the message; true when it fits.
 */
static bool
check_length(struct loader *ld, const config_setting_t *s, const char *what,
             const char *value, size_t max)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *)value; *p; p++)
                n += (*p & 0xc0) != 0x80;
        if (n <= max)
                return true;
        error_at(ld, s, "%s is %zu characters long; at most %zu are allowed",
                 what, n, max);
        return false;
}

/*
 * The string member `key` of `group`: NULL when absent (an error if
 * required) or invalid (an error said). The result is borrowed.
 */
static const char *
get_string(struct loader *ld, const config_setting_t *group, const char *key,
           bool required, const char *where)
{
        const config_setting_t *m =
            group != NULL ? config_setting_get_member(group, key) : NULL;
        const char *v;

        if (m == NULL) {
                if (required)
                        error_at(ld, group, "missing '%s' in %s", key, where);
                return NULL;
        }
        if (config_setting_type(m) != CONFIG_TYPE_STRING) {
                error_at(ld, m, "'%s' must be a string", key);
                return NULL;
        }
        v = config_setting_get_string(m);
        if (required && v[0] == '\0') {
                error_at(ld, m, "'%s' must not be empty", key);
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
static char *
setting_at(struct loader *ld, const config_setting_t *group, const char *key)
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
static char *
dup_string(struct loader *ld, const config_setting_t *group, const char *key,
           const char *def, const char *where)
{
        const char *v = get_string(ld, group, key, def == NULL, where);

        if (v == NULL)
                v = def;
        return v == NULL ? NULL : xstrdup(v);
}

/* An integer member in [min, max]: false when absent or wrong (said). */
static bool
get_int(struct loader *ld, const config_setting_t *group, const char *key,
        int min, int max, int *out)
{
        const config_setting_t *m =
            group != NULL ? config_setting_get_member(group, key) : NULL;
        long long v;

        if (m == NULL)
                return false;
        if (config_setting_type(m) != CONFIG_TYPE_INT &&
            config_setting_type(m) != CONFIG_TYPE_INT64) {
                error_at(ld, m, "'%s' must be a whole number", key);
                return false;
        }
        v = config_setting_get_int64(m);
        if (v < min || v > max) {
                error_at(ld, m, "'%s' must be between %d and %d, not %lld", key,
                         min, max, v);
                return false;
        }
        *out = (int)v;
        return true;
}

/* One of `names` (NULL-terminated); its index, or `def` when absent. */
static int
get_enum(struct loader *ld, const config_setting_t *group, const char *key,
         const char *const *names, int def, const char *where)
{
        const char *v = get_string(ld, group, key, false, where);
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
        error_at(ld, config_setting_get_member(group, key),
                 "%s '%s' must be one of %s", key, v, want);
        free(want);
        return def;
}

/* Strings read from a list, each with the setting it came from. */
struct strlist {
        char **v;
        const config_setting_t **at;
        size_t n;
};

/*
 * A list or array of strings; each element checked and the bad ones
 * reported and left out. out->at[i] is where out->v[i] was written, for
 * later errors about it. Absent: an empty list.
 */
static void
get_strv(struct loader *ld, const config_setting_t *group, const char *key,
         struct strlist *out)
{
        const config_setting_t *m = config_setting_get_member(group, key);
        int len;

        memset(out, 0, sizeof(*out));
        if (m == NULL)
                return;
        if (config_setting_type(m) != CONFIG_TYPE_ARRAY &&
            config_setting_type(m) != CONFIG_TYPE_LIST) {
                error_at(ld, m, "'%s' must be a list of strings", key);
                return;
        }
        len = config_setting_length(m);
        out->v = xcalloc((size_t)len + 1, sizeof(*out->v));
        out->at = xcalloc((size_t)len + 1, sizeof(*out->at));
        for (int i = 0; i < len; i++) {
                const config_setting_t *e = config_setting_get_elem(m, i);

                if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                        error_at(ld, e, "'%s' must be a list of strings", key);
                        continue;
                }
                if (!check_text(ld, e, key, config_setting_get_string(e)))
                        continue;
                out->at[out->n] = e;
                out->v[out->n++] = xstrdup(config_setting_get_string(e));
        }
}

static void
free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void
strlist_free(struct strlist *l)
{
        free_strv(l->v, l->n);
        free(l->at);
        memset(l, 0, sizeof(*l));
}

/* The group member `key`, or NULL; an error if it is there but no group. */
static const config_setting_t *
get_group(struct loader *ld, const config_setting_t *parent, const char *key)
{
        const config_setting_t *m = config_setting_get_member(parent, key);

        if (m != NULL && config_setting_type(m) != CONFIG_TYPE_GROUP) {
                error_at(ld, m, "'%s' must be a group { ... }", key);
                return NULL;
        }
        return m;
}

/* A list ( {...}, {...} ) of groups, or NULL (error said if required). */
static const config_setting_t *
get_list(struct loader *ld, const config_setting_t *parent, const char *key,
         bool required)
{
        const config_setting_t *m = config_setting_get_member(parent, key);

        if (m == NULL) {
                if (required)
                        error_at(ld, parent, "missing '%s'", key);
                return NULL;
        }
        if (config_setting_type(m) != CONFIG_TYPE_LIST) {
                error_at(ld, m, "'%s' must be a list ( { ... }, ... )", key);
                return NULL;
        }
        return m;
}

static char *
dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');

        if (slash == NULL)
                return xstrdup(".");
        if (slash == path)
                return xstrdup("/");
        return xstrndup(path, (size_t)(slash - path));
}

static char *
resolve_path(const char *dir, const char *p)
{
        char *out;

        if (p[0] == '/')
                return xstrdup(p);
        xasprintf(&out, "%s/%s", dir, p);
        return out;
}

static bool
is_loopback_host(const char *host)
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
static int
url_parts(const char *url, char **scheme, char **host)
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

/* --- Sections ----------------------------------------------------------- */

static void
load_trust(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "name",     "timezone", "holidays",
                                            "division", "closures", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = get_group(ld, root, "trust");
        const config_setting_t *m;
        char *holidays = NULL, *json = NULL, *why = NULL;
        struct strlist closures;
        size_t len;

        if (g == NULL) {
                if (config_setting_get_member(root, "trust") == NULL)
                        error_at(ld, NULL, "missing 'trust'");
                return;
        }
        check_keys(ld, g, keys, "trust");
        c->trust.name = dup_string(ld, g, "name", NULL, "trust");
        if (c->trust.name != NULL)
                check_length(ld, config_setting_get_member(g, "name"),
                             "the trust's name", c->trust.name, CONF_MAX_NAME);
        c->trust.timezone =
            dup_string(ld, g, "timezone", "Europe/London", "trust");
        c->trust.division =
            dup_string(ld, g, "division", "england-and-wales", "trust");
        holidays = dup_string(ld, g, "holidays", "bank-holidays.json", "trust");

        if (c->trust.timezone != NULL) {
                c->tz = tz_load(c->trust.timezone, &why);
                if (c->tz == NULL) {
                        m = config_setting_get_member(g, "timezone");
                        error_at(ld, m != NULL ? m : g, "%s", why);
                        free(why);
                        why = NULL;
                }
        }

        c->calendar = calendar_new();
        m = config_setting_get_member(g, "holidays");
        if (holidays != NULL && c->trust.division != NULL) {
                c->trust.holidays = resolve_path(c->dir, holidays);
                if (fileio_read(c->trust.holidays, HOLIDAYS_MAX, &json, &len,
                                &why) < 0)
                        error_at(ld, m != NULL ? m : g,
                                 "cannot read the holidays file: %s", why);
                else if (calendar_add_govuk(c->calendar, json, len,
                                            c->trust.division, &why) < 0)
                        error_at(ld, m != NULL ? m : g, "%s: %s",
                                 c->trust.holidays, why);
        }

        get_strv(ld, g, "closures", &closures);
        c->trust.closures = xcalloc(closures.n, sizeof(*c->trust.closures));
        for (size_t i = 0; i < closures.n; i++) {
                int32_t day;

                if (civil_parse_date(closures.v[i], &day) < 0) {
                        error_at(ld, closures.at[i],
                                 "closure '%s' is not a date YYYY-MM-DD",
                                 closures.v[i]);
                        continue;
                }
                c->trust.closures[c->trust.nclosures++] = day;
                calendar_add_closure(c->calendar, day, "closure");
        }
        strlist_free(&closures);
        free(why);
        free(json);
        free(holidays);
}

/*
 * A ZeroMQ endpoint: ipc:// (on this host), or tcp://HOST:PORT, which
 * load_curve() then insists has CURVE keys.
 */
static char *
get_endpoint(struct loader *ld, const config_setting_t *g, const char *key,
             const char *def)
{
        char *v = dup_string(ld, g, key, def, "daemon");
        const char *colon;

        if (v == NULL || (strncmp(v, "ipc://", 6) == 0 && v[6] != '\0'))
                return v;
        if (strncmp(v, "tcp://", 6) == 0) {
                colon = strrchr(v + 6, ':');
                if (colon == NULL || colon == v + 6 || colon[1] == '\0' ||
                    strspn(colon + 1, "0123456789*") != strlen(colon + 1))
                        error_at(ld, config_setting_get_member(g, key),
                                 "%s '%s' is not tcp://HOST:PORT", key, v);
                return v;
        }
        error_at(ld, config_setting_get_member(g, key),
                 "%s '%s' is neither an ipc:// nor a tcp:// endpoint", key, v);
        return v;
}

/* The daemon group is optional: every key has a default. */
static void
load_daemon(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "state",   "control",  "dispatch",
                                            "feed",    "catch_up", "late_after",
                                            "metrics", NULL };
        static const char *const catch_up[] = { "late", "skip", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = get_group(ld, root, "daemon");

        if (g != NULL)
                check_keys(ld, g, keys, "daemon");
        c->daemon.state = dup_string(ld, g, "state", "state.db", "daemon");
        c->daemon.control =
            get_endpoint(ld, g, "control", "ipc://control.sock");
        c->daemon.dispatch =
            get_endpoint(ld, g, "dispatch", "ipc://dispatch.sock");
        c->daemon.feed = get_endpoint(ld, g, "feed", "ipc://feed.sock");
        c->daemon.catch_up = (enum catch_up)get_enum(
            ld, g, "catch_up", catch_up, CATCH_UP_LATE, "daemon");
        c->daemon.late_after = 60;
        get_int(ld, g, "late_after", 1, 86400, &c->daemon.late_after);
        c->daemon.metrics = dup_string(ld, g, "metrics", "", "daemon");
}

/* How deliveries are leased and retried (docs/dispatch.md); optional. */
static void
load_delivery(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "lease", "max_attempts",
                                            "give_up_after", "retry_base",
                                            NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = get_group(ld, root, "delivery");

        if (g != NULL)
                check_keys(ld, g, keys, "delivery");
        c->delivery.lease = 60;
        c->delivery.max_attempts = 12;
        c->delivery.give_up_after = 86400;
        c->delivery.retry_base = 30;
        get_int(ld, g, "lease", 5, 3600, &c->delivery.lease);
        get_int(ld, g, "max_attempts", 1, 100, &c->delivery.max_attempts);
        get_int(ld, g, "give_up_after", 60, 30 * 86400,
                &c->delivery.give_up_after);
        get_int(ld, g, "retry_base", 1, 3600, &c->delivery.retry_base);
}

static bool
valid_address(const char *a)
{
        const char *at = strchr(a, '@');

        if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@'))
                return false;
        return strpbrk(a, " <>\",;()[]\\") == NULL;
}

static void
load_email(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = {
                "smtp",     "tls",           "from",
                "username", "password_file", "bearer_token_file",
                "ca_file",  "connections",   NULL
        };
        static const char *const tls[] = { "starttls", "implicit", "none",
                                           NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = get_group(ld, root, "email");
        const config_setting_t *m, *t;
        char *scheme = NULL, *host = NULL;

        if (g == NULL)
                return;
        c->email.present = true;
        check_keys(ld, g, keys, "email");
        c->email.smtp =
            dup_string(ld, g, "smtp", "smtp://localhost:25", "email");
        c->email.tls = (enum email_tls)get_enum(ld, g, "tls", tls,
                                                EMAIL_TLS_STARTTLS, "email");
        c->email.from = dup_string(ld, g, "from", NULL, "email");
        c->email.username = dup_string(ld, g, "username", "", "email");
        c->email.password_file =
            dup_string(ld, g, "password_file", "", "email");
        c->email.bearer_token_file =
            dup_string(ld, g, "bearer_token_file", "", "email");
        c->email.password_file_at = setting_at(ld, g, "password_file");
        c->email.bearer_token_file_at = setting_at(ld, g, "bearer_token_file");
        c->email.ca_file = dup_string(ld, g, "ca_file", "", "email");
        if (c->email.ca_file != NULL && c->email.ca_file[0] != '\0') {
                /* Relative to the config, as every other file named. */
                char *abs = resolve_path(c->dir, c->email.ca_file);

                free(c->email.ca_file);
                c->email.ca_file = abs;
        }
        c->email.connections = 4;
        get_int(ld, g, "connections", 1, 100, &c->email.connections);

        if (c->email.from != NULL && strchr(c->email.from, '@') == NULL)
                error_at(ld, config_setting_get_member(g, "from"),
                         "from '%s' has no email address", c->email.from);
        if (c->email.password_file[0] != '\0' &&
            c->email.bearer_token_file[0] != '\0')
                error_at(ld, g,
                         "email: password_file and bearer_token_file "
                         "exclude each other");
        if ((c->email.password_file[0] != '\0' ||
             c->email.bearer_token_file[0] != '\0') &&
            c->email.username[0] == '\0')
                error_at(ld, g, "email: a password or token needs 'username'");

        m = config_setting_get_member(g, "smtp");
        t = config_setting_get_member(g, "tls");
        if (c->email.smtp == NULL)
                return;
        if (url_parts(c->email.smtp, &scheme, &host) < 0) {
                error_at(ld, m, "smtp '%s' is not a URL", c->email.smtp);
                return;
        }
        if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0)
                error_at(ld, m, "smtp URL must be smtp:// or smtps://");
        else if (c->email.tls == EMAIL_TLS_IMPLICIT &&
                 strcmp(scheme, "smtps") != 0)
                error_at(ld, t, "tls = \"implicit\" needs an smtps:// URL");
        else if (c->email.tls != EMAIL_TLS_IMPLICIT &&
                 strcmp(scheme, "smtps") == 0)
                error_at(ld, m, "an smtps:// URL needs tls = \"implicit\"");
        else if (c->email.tls == EMAIL_TLS_NONE && !is_loopback_host(host))
                error_at(ld, t,
                         "tls = \"none\" is allowed only to a loopback relay, "
                         "not '%s'",
                         host);
        curl_free(scheme);
        curl_free(host);
}

static void
check_webhook_url(struct loader *ld, const config_setting_t *s, const char *url)
{
        char *scheme = NULL, *host = NULL;

        if (url_parts(url, &scheme, &host) < 0) {
                error_at(ld, s, "'url' is not a valid URL");
                return;
        }
        if (strcmp(scheme, "http") == 0) {
                if (!is_loopback_host(host))
                        error_at(ld, s,
                                 "plain http:// webhook URL to '%s' refused: "
                                 "use https:// (http is allowed only to "
                                 "loopback)",
                                 host);
        } else if (strcmp(scheme, "https") != 0) {
                error_at(ld, s, "webhook URL scheme must be https, not '%s'",
                         scheme);
        }
        curl_free(scheme);
        curl_free(host);
}

static bool
valid_name(const char *s)
{
        if (s[0] == '\0' || strlen(s) > 64)
                return false;
        for (; *s != '\0'; s++) {
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
                      *s == '.'))
                        return false;
        }
        return true;
}

static void
load_channel(struct loader *ld, const config_setting_t *g, struct channel *ch)
{
        static const char *const keys[] = { "name", "type",     "to",
                                            "url",  "url_file", "secret_file",
                                            NULL };
        const char *type;
        const config_setting_t *url;

        check_keys(ld, g, keys, "channel");
        ch->name = dup_string(ld, g, "name", NULL, "channel");
        if (ch->name != NULL && !valid_name(ch->name))
                error_at(ld, config_setting_get_member(g, "name"),
                         "channel name '%s' may only use letters, digits, "
                         "'_', '-' and '.'",
                         ch->name);
        type = get_string(ld, g, "type", true, "channel");
        if (type == NULL)
                return;
        for (ch->type = 0; ch->type < CHANNEL_NTYPES; ch->type++) {
                if (strcmp(type, channel_types[ch->type]) == 0)
                        break;
        }
        if (ch->type == CHANNEL_NTYPES) {
                error_at(ld, config_setting_get_member(g, "type"),
                         "unknown channel type '%s' (types: " TYPE_LIST ")",
                         type);
                return;
        }
        struct strlist to;

        get_strv(ld, g, "to", &to);
        ch->to = to.v;
        ch->nto = to.n;
        ch->url = dup_string(ld, g, "url", "", "channel");
        ch->url_file = dup_string(ld, g, "url_file", "", "channel");
        ch->secret_file = dup_string(ld, g, "secret_file", "", "channel");
        ch->url_file_at = setting_at(ld, g, "url_file");
        ch->secret_file_at = setting_at(ld, g, "secret_file");
        url = config_setting_get_member(g, "url");

        if (ch->type == CHANNEL_EMAIL) {
                if (ch->nto == 0)
                        error_at(ld, g, "email channel '%s' needs 'to'",
                                 ch->name ? ch->name : "");
                for (size_t i = 0; i < ch->nto; i++) {
                        if (!valid_address(ch->to[i]))
                                error_at(ld, to.at[i],
                                         "'%s' is not an email address",
                                         ch->to[i]);
                }
                free(to.at);
                if (ch->url[0] != '\0' || ch->url_file[0] != '\0' ||
                    ch->secret_file[0] != '\0')
                        error_at(ld, g,
                                 "email channel '%s' takes 'to', not a URL "
                                 "or secret",
                                 ch->name ? ch->name : "");
                return;
        }
        if (ch->nto > 0)
                error_at(ld, to.at[0], "'to' is only for email channels");
        free(to.at);
        if ((ch->url[0] == '\0') == (ch->url_file[0] == '\0'))
                error_at(ld, g,
                         "channel '%s' needs exactly one of 'url' and "
                         "'url_file'",
                         ch->name ? ch->name : "");
        else if (ch->url[0] != '\0')
                check_webhook_url(ld, url, ch->url);
        if (ch->secret_file[0] != '\0' && ch->type != CHANNEL_WEBHOOK)
                error_at(ld, config_setting_get_member(g, "secret_file"),
                         "'secret_file' is only for type \"webhook\"");
}

/* Reports `name` if an earlier element of `list` (by `key`) had it too. */
static void
check_unique(struct loader *ld, const config_setting_t *list, int index,
             const char *key, const char *name, const char *what)
{
        for (int j = 0; j < index; j++) {
                const config_setting_t *prev = config_setting_get_elem(list, j);
                const char *pv = NULL;

                if (config_setting_lookup_string(prev, key, &pv) &&
                    strcmp(pv, name) == 0) {
                        error_at(ld,
                                 config_setting_get_member(
                                     config_setting_get_elem(list, index), key),
                                 "duplicate %s '%s' (first at line %u)", what,
                                 name, config_setting_source_line(prev));
                        return;
                }
        }
}

/* The list elements that are groups; reports the others. */
static bool
element_group(struct loader *ld, const config_setting_t *e, const char *what)
{
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                error_at(ld, e, "each %s must be a group { ... }", what);
                return false;
        }
        return true;
}

static void
load_channels(struct loader *ld, const config_setting_t *root)
{
        struct conf *c = ld->conf;
        const config_setting_t *list = get_list(ld, root, "channels", true);
        int n;

        if (list == NULL)
                return;
        n = config_setting_length(list);
        c->channels = xcalloc((size_t)n, sizeof(*c->channels));
        for (int i = 0; i < n; i++) {
                const config_setting_t *g = config_setting_get_elem(list, i);
                struct channel *ch = &c->channels[c->nchannels++];

                if (!element_group(ld, g, "channel"))
                        continue;
                load_channel(ld, g, ch);
                if (ch->name != NULL)
                        check_unique(ld, list, i, "name", ch->name,
                                     "channel name");
                if (ch->type == CHANNEL_EMAIL && ch->name != NULL &&
                    config_setting_get_member(root, "email") == NULL)
                        error_at(ld, g,
                                 "channel '%s' is of type email but there is "
                                 "no 'email' group",
                                 ch->name);
        }
}

/* Channel names to indexes; unknown names reported at the list. */
static void
resolve_channels(struct loader *ld, const struct strlist *names,
                 const char *owner, size_t **out, size_t *nout)
{
        *out = xcalloc(names->n, sizeof(**out));
        *nout = 0;
        for (size_t i = 0; i < names->n; i++) {
                const struct channel *ch = conf_channel(ld->conf, names->v[i]);

                if (ch == NULL) {
                        error_at(ld, names->at[i], "%s: unknown channel '%s'",
                                 owner, names->v[i]);
                        continue;
                }
                (*out)[(*nout)++] = (size_t)(ch - ld->conf->channels);
        }
}

static void
load_schools(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "urn", "name", "channels", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *list = get_list(ld, root, "schools", true);
        int n;

        if (list == NULL)
                return;
        n = config_setting_length(list);
        c->schools = xcalloc((size_t)n, sizeof(*c->schools));
        for (int i = 0; i < n; i++) {
                const config_setting_t *g = config_setting_get_elem(list, i);
                struct school *s = &c->schools[c->nschools++];
                struct strlist names;
                char *owner;

                if (!element_group(ld, g, "school"))
                        continue;
                check_keys(ld, g, keys, "school");
                s->urn = dup_string(ld, g, "urn", NULL, "school");
                s->name = dup_string(ld, g, "name", NULL, "school");
                if (s->name != NULL)
                        check_length(ld, config_setting_get_member(g, "name"),
                                     "a school's name", s->name, CONF_MAX_NAME);
                if (s->urn != NULL && (strlen(s->urn) != 6 ||
                                       strspn(s->urn, "0123456789") != 6)) {
                        error_at(ld, config_setting_get_member(g, "urn"),
                                 "urn '%s' is not a URN (6 digits)", s->urn);
                } else if (s->urn != NULL) {
                        check_unique(ld, list, i, "urn", s->urn, "school urn");
                }
                xasprintf(&owner, "school '%s'", s->urn ? s->urn : "?");
                get_strv(ld, g, "channels", &names);
                if (config_setting_get_member(g, "channels") == NULL)
                        error_at(ld, g, "%s has no 'channels'", owner);
                resolve_channels(ld, &names, owner, &s->channels,
                                 &s->nchannels);
                strlist_free(&names);
                free(owner);
        }
}

static void
load_when(struct loader *ld, const config_setting_t *rule, const char *key,
          struct rule_when *w)
{
        static const char *const keys[] = { "working_days", "months", "time",
                                            "roll", NULL };
        static const char *const rolls[] = { "none", "forward", "backward",
                                             NULL };
        const config_setting_t *g = get_group(ld, rule, key);
        const char *time;
        bool mo;
        int roll;

        if (g == NULL)
                return;
        check_keys(ld, g, keys, key);
        get_int(ld, g, "working_days", 0, WORKING_DAYS_MAX, &w->count);
        mo = get_int(ld, g, "months", 0, MONTHS_MAX, &w->count);
        w->unit = mo ? RULE_MONTHS : RULE_WORKING_DAYS;
        if (config_setting_get_member(g, "working_days") != NULL &&
            config_setting_get_member(g, "months") != NULL)
                error_at(ld, g, "'%s' has both working_days and months", key);
        else if (config_setting_get_member(g, "working_days") == NULL &&
                 config_setting_get_member(g, "months") == NULL)
                error_at(ld, g, "'%s' needs working_days or months", key);
        roll = get_enum(ld, g, "roll", rolls, 1, key);
        w->roll = roll == 2 ? -1 : roll;
        if (config_setting_get_member(g, "months") == NULL &&
            config_setting_get_member(g, "roll") != NULL)
                error_at(ld, config_setting_get_member(g, "roll"),
                         "'roll' is only for months");
        time = get_string(ld, g, "time", true, key);
        if (time != NULL && timefmt_parse_clock(time, &w->secs) < 0)
                error_at(ld, config_setting_get_member(g, "time"),
                         "bad time '%s' (want HH:MM, 00:00 to 23:59)", time);
}

/* One rule; *cancel_on gets its cancel_on list, whose strings r takes. */
static void
load_rule(struct loader *ld, const config_setting_t *g, struct rule *r,
          struct strlist *cancel_on)
{
        static const char *const keys[] = { "name",    "event",    "action",
                                            "enabled", "opens",    "deadline",
                                            "alerts",  "channels", "cancel_on",
                                            NULL };
        const config_setting_t *m;
        struct strlist alerts, channels;
        size_t *idx = NULL, nidx = 0;
        char *owner;

        check_keys(ld, g, keys, "rule");
        r->name = dup_string(ld, g, "name", NULL, "rule");
        if (r->name != NULL && !rules_valid_kind(r->name))
                error_at(ld, config_setting_get_member(g, "name"),
                         "rule name '%s' must be lower case letters, digits "
                         "and '_'",
                         r->name);
        r->event = dup_string(ld, g, "event", NULL, "rule");
        if (r->event != NULL && !rules_valid_kind(r->event))
                error_at(ld, config_setting_get_member(g, "event"),
                         "event kind '%s' must be lower case letters, digits "
                         "and '_'",
                         r->event);
        r->action = dup_string(ld, g, "action", "", "rule");
        if (r->action != NULL)
                check_length(ld, config_setting_get_member(g, "action"),
                             "a rule's action", r->action, CONF_MAX_ACTION);
        r->enabled = true;
        m = config_setting_get_member(g, "enabled");
        if (m != NULL && config_setting_type(m) != CONFIG_TYPE_BOOL)
                error_at(ld, m, "'enabled' must be true or false");
        else if (m != NULL)
                r->enabled = config_setting_get_bool(m);

        if (config_setting_get_member(g, "deadline") == NULL)
                error_at(ld, g, "missing 'deadline' in rule");
        load_when(ld, g, "deadline", &r->deadline);
        r->has_opens = config_setting_get_member(g, "opens") != NULL;
        if (r->has_opens)
                load_when(ld, g, "opens", &r->opens);
        if (r->has_opens && r->opens.unit == RULE_WORKING_DAYS &&
            r->deadline.unit == RULE_WORKING_DAYS &&
            (r->opens.count > r->deadline.count ||
             (r->opens.count == r->deadline.count &&
              r->opens.secs > r->deadline.secs)))
                error_at(ld, config_setting_get_member(g, "opens"),
                         "the window opens after its deadline");

        get_strv(ld, g, "alerts", &alerts);
        if (config_setting_get_member(g, "alerts") == NULL)
                error_at(ld, g, "missing 'alerts' in rule");
        r->alerts = xcalloc(alerts.n, sizeof(*r->alerts));
        for (size_t i = 0; i < alerts.n; i++) {
                struct alert_offset *o = &r->alerts[r->nalerts];
                const config_setting_t *e = alerts.at[i];

                if (rules_parse_offset(alerts.v[i], o) < 0)
                        error_at(ld, e,
                                 "bad alert offset '%s' (want event, opens, "
                                 "deadline, -90m, -2h, -1d, +30s, +1h)",
                                 alerts.v[i]);
                else if (o->anchor == ALERT_OPENS && !r->has_opens)
                        error_at(ld, e,
                                 "alert 'opens' but the rule has no 'opens'");
                else
                        r->nalerts++;
        }
        strlist_free(&alerts);

        xasprintf(&owner, "rule '%s'", r->name ? r->name : "?");
        get_strv(ld, g, "channels", &channels);
        resolve_channels(ld, &channels, owner, &idx, &nidx);
        r->channels = channels.v;
        r->nchannels = channels.n;
        free(channels.at);
        free(idx);
        free(owner);
        get_strv(ld, g, "cancel_on", cancel_on);
        r->cancel_on = cancel_on->v;
        r->ncancel_on = cancel_on->n;
}

static void
load_rules(struct loader *ld, const config_setting_t *root)
{
        struct conf *c = ld->conf;
        const config_setting_t *list = get_list(ld, root, "rules", true);
        const config_setting_t ***cancel_at; /* per rule, per cancel_on */
        int n;

        if (list == NULL)
                return;
        n = config_setting_length(list);
        c->rules = xcalloc((size_t)n, sizeof(*c->rules));
        cancel_at = xcalloc((size_t)n, sizeof(*cancel_at));
        for (int i = 0; i < n; i++) {
                const config_setting_t *g = config_setting_get_elem(list, i);
                struct rule *r = &c->rules[c->nrules++];
                struct strlist cancel_on = { 0 };

                if (!element_group(ld, g, "rule"))
                        continue;
                load_rule(ld, g, r, &cancel_on);
                cancel_at[i] = cancel_on.at; /* r owns cancel_on.v */
                if (r->name != NULL)
                        check_unique(ld, list, i, "name", r->name, "rule name");
        }
        /* cancel_on may name any kind some rule starts on: check after all. */
        for (size_t i = 0; i < c->nrules; i++) {
                const struct rule *r = &c->rules[i];

                for (size_t k = 0; k < r->ncancel_on; k++) {
                        if (!conf_known_kind(c, r->cancel_on[k]))
                                error_at(ld, cancel_at[i][k],
                                         "unknown event kind '%s' in "
                                         "cancel_on",
                                         r->cancel_on[k]);
                }
                free(cancel_at[i]);
        }
        free(cancel_at);
}

/*
 * One template string, `where` naming it ("templates.slack.title"): NULL
 * when absent or wrong (said). A title becomes an email subject, so it is
 * one line; a text may hold newlines but no other control character.
 */
static char *
get_template(struct loader *ld, const config_setting_t *g, const char *key,
             const char *where)
{
        const config_setting_t *m = config_setting_get_member(g, key);
        bool title = strcmp(key, "title") == 0;
        char *cause = NULL;
        const char *v;

        if (m == NULL)
                return NULL;
        if (config_setting_type(m) != CONFIG_TYPE_STRING) {
                error_at(ld, m, "%s must be a string", where);
                return NULL;
        }
        v = config_setting_get_string(m);
        if (v[0] == '\0') {
                error_at(ld, m, "%s must not be empty", where);
                return NULL;
        }
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
                if ((*p < 0x20 || *p == 0x7f) && (title || *p != '\n')) {
                        error_at(ld, m, "%s contains a control character%s",
                                 where, title ? " (a title is one line)" : "");
                        return NULL;
                }
        }
        if (!valid_utf8((const unsigned char *)v)) {
                error_at(ld, m, "%s is not valid UTF-8", where);
                return NULL;
        }
        if (!check_length(ld, m, where, v,
                          title ? CONF_MAX_TITLE : CONF_MAX_TEMPLATE))
                return NULL;
        if (template_check(v, &cause) < 0) {
                error_at(ld, m, "%s: %s", where, cause);
                free(cause);
                return NULL;
        }
        return xstrdup(v);
}

/*
 * The optional templates group: for each channel type an optional group
 * with an optional title and text (template.h), checked here so a typo in
 * a placeholder stops the load instead of reaching a chat.
 */
static void
load_templates(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "title", "text", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = get_group(ld, root, "templates");
        int n;

        if (g == NULL)
                return;
        n = config_setting_length(g);
        for (int i = 0; i < n; i++) {
                const config_setting_t *m = config_setting_get_elem(g, i);
                const char *name = config_setting_name(m);
                enum channel_type t;
                char *where;

                for (t = 0; t < CHANNEL_NTYPES; t++) {
                        if (strcmp(name, channel_types[t]) == 0)
                                break;
                }
                if (t == CHANNEL_NTYPES) {
                        error_at(ld, m,
                                 "unknown channel type '%s' in templates "
                                 "(types: " TYPE_LIST ")",
                                 name);
                        continue;
                }
                xasprintf(&where, "templates.%s", name);
                if (config_setting_type(m) != CONFIG_TYPE_GROUP) {
                        error_at(ld, m, "%s must be a group { ... }", where);
                        free(where);
                        continue;
                }
                check_keys(ld, m, keys, where);
                free(where);
                xasprintf(&where, "templates.%s.title", name);
                c->templates[t].title = get_template(ld, m, "title", where);
                free(where);
                xasprintf(&where, "templates.%s.text", name);
                c->templates[t].text = get_template(ld, m, "text", where);
                free(where);
        }
}

/* --- CURVE keys and the allow-list -------------------------------------- */

static const char *const client_kinds[] = { "email", "webhook", "control",
                                            NULL };

/* A Z85 CURVE public key: 40 characters that decode to 32 bytes. */
static bool
valid_key(const char *z85)
{
        uint8_t raw[32];

        return strlen(z85) == CONF_KEY_LEN && zmq_z85_decode(raw, z85) != NULL;
}

/*
 * A public key file ("public_key = ...;", as ofsted-notifyctl keygen
 * writes it) named by `at`: its key copied to `out`, or false (said).
 */
static bool
load_key_file(struct loader *ld, const config_setting_t *at, const char *path,
              char out[CONF_KEY_LEN + 1])
{
        struct loader sub = { path, ld->conf, ld->errs };
        config_t cfg;
        const config_setting_t *root;
        const char *key;
        bool ok = false;

        config_init(&cfg);
        if (access(path, R_OK) < 0) {
                error_at(ld, at, "key_file '%s': %s", path, strerror(errno));
                goto out;
        }
        if (!read_config(ld, &cfg, path, "the public key file"))
                goto out;
        root = config_root_setting(&cfg);
        key = get_string(&sub, root, "public_key", true, "the key file");
        if (key == NULL)
                goto out;
        if (!valid_key(key)) {
                error_at(ld, config_setting_get_member(root, "public_key"),
                         "public_key is not a CURVE key (40 Z85 characters)");
                goto out;
        }
        memcpy(out, key, CONF_KEY_LEN + 1);
        ok = true;
out:
        config_destroy(&cfg);
        return ok;
}

/* One { name; key or key_file; kinds } of the allow-list. */
static void
load_client(struct loader *ld, const config_setting_t *list, int index,
            const char *dir)
{
        static const char *const keys[] = { "name", "key", "key_file", "kinds",
                                            NULL };
        const config_setting_t *g = config_setting_get_elem(list, index);
        struct conf *c = ld->conf;
        struct conf_client *cl = &c->curve.clients[c->curve.nclients];
        const char *name, *key, *file;
        struct strlist kinds;
        unsigned mask = 0;
        char *path;

        if (!element_group(ld, g, "client"))
                return;
        check_keys(ld, g, keys, "a client");
        name = get_string(ld, g, "name", true, "a client");
        key = get_string(ld, g, "key", false, "a client");
        file = get_string(ld, g, "key_file", false, "a client");
        if (name != NULL && !valid_name(name))
                error_at(ld, config_setting_get_member(g, "name"),
                         "client name '%s' may hold only letters, digits, "
                         "'_', '-' and '.' (at most 64)",
                         name);
        if (name != NULL)
                check_unique(ld, list, index, "name", name, "client");
        if ((key == NULL) == (file == NULL)) {
                error_at(ld, g,
                         "a client needs exactly one of 'key' and "
                         "'key_file'");
                return;
        }
        if (key != NULL && !valid_key(key)) {
                error_at(ld, config_setting_get_member(g, "key"),
                         "key '%s' is not a CURVE public key (40 Z85 "
                         "characters, as 'ofsted-notifyctl keygen' prints)",
                         key);
                return;
        }
        if (key != NULL) {
                memcpy(cl->key, key, CONF_KEY_LEN + 1);
        } else {
                path = resolve_path(dir, file);
                if (!load_key_file(ld, config_setting_get_member(g, "key_file"),
                                   path, cl->key)) {
                        free(path);
                        return;
                }
                free(path);
        }
        for (size_t i = 0; i < c->curve.nclients; i++) {
                if (strcmp(c->curve.clients[i].key, cl->key) == 0) {
                        error_at(ld, g,
                                 "client '%s' has the same key as client '%s'",
                                 name ? name : "?", c->curve.clients[i].name);
                        return;
                }
        }
        get_strv(ld, g, "kinds", &kinds);
        for (size_t i = 0; i < kinds.n; i++) {
                size_t k;

                for (k = 0; client_kinds[k] != NULL; k++)
                        if (strcmp(kinds.v[i], client_kinds[k]) == 0)
                                break;
                if (client_kinds[k] == NULL)
                        error_at(ld, kinds.at[i],
                                 "kind '%s' must be one of \"email\", "
                                 "\"webhook\", \"control\"",
                                 kinds.v[i]);
                else
                        mask |= 1u << k;
        }
        if (kinds.n == 0)
                error_at(ld, g,
                         "a client needs 'kinds': what it may connect as "
                         "(\"email\", \"webhook\", \"control\")");
        strlist_free(&kinds);
        if (name == NULL || mask == 0)
                return;
        cl->name = xstrdup(name);
        cl->kinds = mask;
        c->curve.nclients++;
}

/* The allow-list file: clients = ( { name; key; kinds; }, ... ); */
static void
load_allow(struct loader *ld, const char *path)
{
        static const char *const keys[] = { "clients", NULL };
        struct loader sub = { path, ld->conf, ld->errs };
        const config_setting_t *root, *list;
        char *dir = NULL;
        config_t cfg;
        int n;

        config_init(&cfg);
        if (!read_config(ld, &cfg, path, "the CURVE allow-list"))
                goto out;
        root = config_root_setting(&cfg);
        check_keys(&sub, root, keys, "the allow-list");
        list = get_list(&sub, root, "clients", true);
        if (list == NULL)
                goto out;
        dir = dir_of(path);
        n = config_setting_length(list);
        ld->conf->curve.clients =
            xcalloc((size_t)n + 1, sizeof(*ld->conf->curve.clients));
        for (int i = 0; i < n; i++)
                load_client(ld, list, i, dir);
out:
        free(dir);
        config_destroy(&cfg);
}

/*
 * curve = { server_key; client_key; allow; }: the keys tcp:// endpoints
 * need. A tcp:// endpoint without them is refused here, so nothing ever
 * listens or connects in the clear.
 */
static void
load_curve(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "server_key", "client_key", "allow",
                                            NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = get_group(ld, root, "curve");
        const config_setting_t *d = config_setting_get_member(root, "daemon");
        const char *const names[] = { "control", "dispatch", "feed" };
        const char *const values[] = { c->daemon.control, c->daemon.dispatch,
                                       c->daemon.feed };
        const char *allow;

        if (g != NULL)
                check_keys(ld, g, keys, "curve");
        c->curve.server_key = dup_string(ld, g, "server_key", "", "curve");
        c->curve.client_key = dup_string(ld, g, "client_key", "", "curve");
        allow = get_string(ld, g, "allow", false, "curve");
        c->curve.allow = xstrdup("");
        if (allow != NULL && allow[0] != '\0') {
                free(c->curve.allow);
                c->curve.allow = resolve_path(c->dir, allow);
                load_allow(ld, c->curve.allow);
        }
        for (size_t i = 0; i < 3; i++) {
                const config_setting_t *at =
                    d != NULL ? config_setting_get_member(d, names[i]) : NULL;

                if (!conf_endpoint_tcp(values[i]))
                        continue;
                if (c->curve.server_key[0] == '\0')
                        error_at(ld, at,
                                 "%s '%s': a tcp:// endpoint needs CURVE "
                                 "keys: set curve.server_key (make a key "
                                 "pair with 'ofsted-notifyctl keygen')",
                                 names[i], values[i]);
                else if (c->curve.allow[0] == '\0' &&
                         c->curve.client_key[0] == '\0')
                        error_at(ld, at,
                                 "%s '%s': a tcp:// endpoint needs "
                                 "curve.allow (the scheduler's list of "
                                 "client keys) or curve.client_key (a "
                                 "worker's or an admin's own key)",
                                 names[i], values[i]);
        }
}

static void
check_root(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "trust",    "daemon", "curve",
                                            "delivery", "email",  "channels",
                                            "schools",  "rules",  "templates",
                                            NULL };

        check_keys(ld, root, keys, "the file");
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
        struct loader ld = { path, NULL, errs };
        config_t cfg;
        const config_setting_t *root;
        struct conf *c = xcalloc(1, sizeof(*c));

        memset(errs, 0, sizeof(*errs));
        c->path = xstrdup(path);
        c->dir = dir_of(path);
        ld.conf = c;
        config_init(&cfg);
        config_set_include_dir(&cfg, c->dir);
        if (!read_config(&ld, &cfg, path, "the file"))
                goto out;
        root = config_root_setting(&cfg);
        check_root(&ld, root);
        load_trust(&ld, root);
        load_daemon(&ld, root);
        load_curve(&ld, root);
        load_delivery(&ld, root);
        load_email(&ld, root);
        load_channels(&ld, root);
        load_schools(&ld, root);
        load_rules(&ld, root);
        load_templates(&ld, root);
out:
        config_destroy(&cfg);
        if (errs->n > 0)
                conf_destroy(&c);
        return c;
}

void
conf_errors_free(struct conf_errors *errs)
{
        free_strv(errs->msgs, errs->n);
        memset(errs, 0, sizeof(*errs));
}

void
conf_destroy(struct conf **confp)
{
        struct conf *c;

        if (confp == NULL || *confp == NULL)
                return;
        c = *confp;
        free(c->path);
        free(c->dir);
        free(c->trust.name);
        free(c->trust.timezone);
        free(c->trust.holidays);
        free(c->trust.division);
        free(c->trust.closures);
        free(c->daemon.state);
        free(c->daemon.control);
        free(c->daemon.dispatch);
        free(c->daemon.feed);
        free(c->daemon.metrics);
        free(c->curve.server_key);
        free(c->curve.client_key);
        free(c->curve.allow);
        for (size_t i = 0; i < c->curve.nclients; i++)
                free(c->curve.clients[i].name);
        free(c->curve.clients);
        free(c->email.smtp);
        free(c->email.from);
        free(c->email.username);
        free(c->email.password_file);
        free(c->email.bearer_token_file);
        free(c->email.password_file_at);
        free(c->email.bearer_token_file_at);
        free(c->email.ca_file);
        for (size_t i = 0; i < c->nchannels; i++) {
                struct channel *ch = &c->channels[i];

                free(ch->name);
                free_strv(ch->to, ch->nto);
                free(ch->url);
                free(ch->url_file);
                free(ch->secret_file);
                free(ch->url_file_at);
                free(ch->secret_file_at);
        }
        free(c->channels);
        for (size_t i = 0; i < c->nschools; i++) {
                free(c->schools[i].urn);
                free(c->schools[i].name);
                free(c->schools[i].channels);
        }
        free(c->schools);
        for (size_t i = 0; i < c->nrules; i++)
                rule_free(&c->rules[i]);
        free(c->rules);
        for (size_t i = 0; i < CHANNEL_NTYPES; i++) {
                free(c->templates[i].title);
                free(c->templates[i].text);
        }
        calendar_destroy(&c->calendar);
        tz_destroy(&c->tz);
        free(c);
        *confp = NULL;
}

const char *
conf_default_path(const char *arg)
{
        const char *env = getenv(CONF_ENV);

        if (arg != NULL)
                return arg;
        if (env != NULL && *env != '\0')
                return env;
        return CONF_DEFAULT_PATH;
}

const char *
conf_channel_type_name(enum channel_type type)
{
        return type < CHANNEL_NTYPES ? channel_types[type] : "?";
}

const struct school *
conf_school(const struct conf *conf, const char *urn)
{
        for (size_t i = 0; i < conf->nschools; i++) {
                if (conf->schools[i].urn != NULL &&
                    strcmp(conf->schools[i].urn, urn) == 0)
                        return &conf->schools[i];
        }
        return NULL;
}

const struct rule *
conf_rule(const struct conf *conf, const char *name)
{
        for (size_t i = 0; i < conf->nrules; i++) {
                if (conf->rules[i].name != NULL &&
                    strcmp(conf->rules[i].name, name) == 0)
                        return &conf->rules[i];
        }
        return NULL;
}

const struct channel *
conf_channel(const struct conf *conf, const char *name)
{
        for (size_t i = 0; i < conf->nchannels; i++) {
                if (conf->channels[i].name != NULL &&
                    strcmp(conf->channels[i].name, name) == 0)
                        return &conf->channels[i];
        }
        return NULL;
}

const char *
conf_template(const struct conf *conf, enum channel_type type, bool title)
{
        const char *own = NULL;

        if (type < CHANNEL_NTYPES)
                own = title ? conf->templates[type].title
                            : conf->templates[type].text;
        return own != NULL ? own : template_default(title);
}

bool
conf_known_kind(const struct conf *conf, const char *kind)
{
        if (rules_builtin_kind(kind))
                return true;
        for (size_t i = 0; i < conf->nrules; i++) {
                if (conf->rules[i].event != NULL &&
                    strcmp(conf->rules[i].event, kind) == 0)
                        return true;
        }
        return false;
}

/*
 * `rel` under the directory $var names (its first colon-separated entry),
 * else under `fallback`; caller frees.
 */
static char *
under_env_dir(const char *var, const char *fallback, const char *rel)
{
        const char *dir = getenv(var);
        size_t n = 0;
        char *out;

        if (dir != NULL)
                n = strcspn(dir, ":");
        if (n == 0) {
                dir = fallback;
                n = strlen(dir);
        }
        while (n > 1 && dir[n - 1] == '/')
                n--;
        xasprintf(&out, "%.*s/%s", (int)n, dir, rel);
        return out;
}

char *
conf_endpoint_path(const char *endpoint)
{
        const char *path;
        char *dir, *out;

        if (endpoint == NULL)
                return NULL;
        if (strncmp(endpoint, "ipc://", 6) != 0)
                return xstrdup(endpoint);
        path = endpoint + 6;
        if (path[0] == '/' || path[0] == '@' || path[0] == '\0')
                return xstrdup(endpoint);
        dir = under_env_dir("RUNTIME_DIRECTORY", CONF_RUNTIME_DIR, path);
        xasprintf(&out, "ipc://%s", dir);
        free(dir);
        return out;
}

char *
conf_state_path(const char *state)
{
        if (state == NULL)
                return NULL;
        if (state[0] == '/')
                return xstrdup(state);
        return under_env_dir("STATE_DIRECTORY", CONF_STATE_DIR, state);
}

bool
conf_host_loopback(const char *host)
{
        return is_loopback_host(host);
}

bool
conf_endpoint_tcp(const char *endpoint)
{
        return endpoint != NULL && strncmp(endpoint, "tcp://", 6) == 0;
}

const struct conf_client *
conf_client_by_key(const struct conf *conf, const char *z85)
{
        for (size_t i = 0; i < conf->curve.nclients; i++) {
                if (strcmp(conf->curve.clients[i].key, z85) == 0)
                        return &conf->curve.clients[i];
        }
        return NULL;
}
