#include "conf_int.h"

#include "names.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The conf module's web section (conf_int.h): the `web` group that
 * ofsted-notify-web listens by (and the scheduler reads for `user`, the
 * one system user whose control requests may name an actor), and the
 * `users` list of people with their roles and schools.
 */

#define WEB_LISTEN_DEFAULT   "127.0.0.1:8080"
#define WEB_USER_DEFAULT     "ofsted-notify-web"
#define WEB_TIMEOUT_DEFAULT  2000
#define EMAIL_MAX            254
#define PROXY_HEADER_DEFAULT "X-Auth-Request-Email"
#define SESSION_IDLE_DEFAULT (8 * 3600)
#define SESSION_MAX_DEFAULT  (7 * 86400)
#define SIGNIN_LINK_DEFAULT  900
#define SESSION_IDLE_MIN     60

int
conf_listen_parse(const char *listen, struct sockaddr_storage *ss,
                  socklen_t *len)
{
        const char *colon = strrchr(listen, ':');
        char host[64];
        size_t hlen;
        char *end;
        long port;

        memset(ss, 0, sizeof(*ss));
        if (colon == NULL || colon == listen)
                return -1;
        hlen = (size_t)(colon - listen);
        if (listen[0] == '[') {
                if (hlen < 3 || listen[hlen - 1] != ']')
                        return -1;
                listen++;
                hlen -= 2;
        }
        if (hlen >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
                return -1;
        memcpy(host, listen, hlen);
        host[hlen] = '\0';
        port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port < 0 || port > 65535)
                return -1;
        if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) ==
            1) {
                ((struct sockaddr_in *)ss)->sin_family = AF_INET;
                ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
                *len = sizeof(struct sockaddr_in);
                return 0;
        }
        if (inet_pton(AF_INET6, host,
                      &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
                ((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
                ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
                *len = sizeof(struct sockaddr_in6);
                return 0;
        }
        return -1;
}

/* An optional file beside the config, resolved; NULL when absent. */
static char *
get_path(struct loader *ld, const config_setting_t *g, const char *key)
{
        const char *v = ld_get_string(ld, g, key, false, "web");

        return v == NULL || v[0] == '\0' ? NULL
                                         : ld_resolve_path(ld->conf->dir, v);
}

/* "ADDRESS" or "ADDRESS/BITS" into *out; -1 when it is neither. */
static int
parse_cidr(const char *s, struct conf_cidr *out)
{
        const char *slash = strchr(s, '/');
        char host[64];
        size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
        char *end;
        long bits;

        memset(out, 0, sizeof(*out));
        if (n == 0 || n >= sizeof(host))
                return -1;
        memcpy(host, s, n);
        host[n] = '\0';
        if (inet_pton(AF_INET, host, out->addr) == 1)
                out->family = AF_INET;
        else if (inet_pton(AF_INET6, host, out->addr) == 1)
                out->family = AF_INET6;
        else
                return -1;
        out->bits = out->family == AF_INET ? 32 : 128;
        if (slash == NULL)
                return 0;
        if (slash[1] < '0' || slash[1] > '9')
                return -1;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || bits < 0 || bits > out->bits)
                return -1;
        out->bits = (int)bits;
        return 0;
}

/* web.signin and what goes with it: the proxy's header and trusted
 * peers, the sessions' lives, the pages' directory. */
static void
load_signin(struct loader *ld, const config_setting_t *g)
{
        struct conf *c = ld->conf;
        struct strlist v;
        int n;

        memset(&v, 0, sizeof(v));
        if (g != NULL)
                ld_get_strv(ld, g, "signin", &v);
        for (size_t i = 0; i < v.n; i++) {
                if (strcmp(v.v[i], "proxy") == 0)
                        c->web.signin |= CONF_SIGNIN_PROXY;
                else if (strcmp(v.v[i], "email") == 0)
                        c->web.signin |= CONF_SIGNIN_EMAIL;
                else
                        ld_error_at(ld, v.at[i],
                                    "web.signin '%s': want \"proxy\" or "
                                    "\"email\"",
                                    v.v[i]);
        }
        ld_strlist_free(&v);
        if ((c->web.signin & CONF_SIGNIN_EMAIL) &&
            (c->web.base_url == NULL || c->web.base_url[0] == '\0'))
                ld_error_at(ld, config_setting_get_member(g, "signin"),
                            "web.signin \"email\" needs web.base_url, the "
                            "address the sign-in links point to");
        c->web.proxy_user_header = ld_dup_string(ld, g, "proxy_user_header",
                                                 PROXY_HEADER_DEFAULT, "web");
        memset(&v, 0, sizeof(v));
        if (g != NULL)
                ld_get_strv(ld, g, "proxy_trusted", &v);
        c->web.proxy_trusted = xcalloc(v.n + 1, sizeof(*c->web.proxy_trusted));
        for (size_t i = 0; i < v.n; i++) {
                if (parse_cidr(v.v[i],
                               &c->web.proxy_trusted[c->web.nproxy_trusted]) <
                    0)
                        ld_error_at(ld, v.at[i],
                                    "web.proxy_trusted '%s': want a numeric "
                                    "address or ADDRESS/BITS",
                                    v.v[i]);
                else
                        c->web.nproxy_trusted++;
        }
        if ((c->web.signin & CONF_SIGNIN_PROXY) && v.n == 0)
                ld_error_at(ld, config_setting_get_member(g, "signin"),
                            "web.signin \"proxy\" needs web.proxy_trusted, "
                            "the proxy's address");
        ld_strlist_free(&v);
        n = SESSION_IDLE_DEFAULT;
        ld_get_int(ld, g, "session_idle", SESSION_IDLE_MIN, 30 * 86400, &n);
        c->web.session_idle = n;
        n = SESSION_MAX_DEFAULT;
        ld_get_int(ld, g, "session_max", 60, 90 * 86400, &n);
        c->web.session_max = n;
        n = SIGNIN_LINK_DEFAULT;
        ld_get_int(ld, g, "signin_link_seconds", 1, 3600, &n);
        c->web.signin_link_seconds = n;
        c->web.pages = get_path(ld, g, "pages");
}

static void
load_web(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = {
                "listen",        "tls_cert_file",
                "tls_key_file",  "base_url",
                "user",          "timeout",
                "signin",        "proxy_user_header",
                "proxy_trusted", "session_idle",
                "session_max",   "signin_link_seconds",
                "pages",         NULL
        };
        const config_setting_t *g = ld_get_group(ld, root, "web");
        struct conf *c = ld->conf;
        struct sockaddr_storage ss;
        socklen_t len;
        char *scheme = NULL, *host = NULL;
        int timeout = WEB_TIMEOUT_DEFAULT;

        if (g != NULL)
                ld_check_keys(ld, g, keys, "web");
        c->web.listen =
            ld_dup_string(ld, g, "listen", WEB_LISTEN_DEFAULT, "web");
        if (c->web.listen != NULL &&
            conf_listen_parse(c->web.listen, &ss, &len) < 0)
                ld_error_at(ld, config_setting_get_member(g, "listen"),
                            "web.listen '%s': want ADDRESS:PORT with a "
                            "numeric address, as \"127.0.0.1:8080\" or "
                            "\"[::1]:8080\"",
                            c->web.listen);
        c->web.tls_cert_file = get_path(ld, g, "tls_cert_file");
        c->web.tls_key_file = get_path(ld, g, "tls_key_file");
        if ((c->web.tls_cert_file == NULL) != (c->web.tls_key_file == NULL))
                ld_error_at(ld, g,
                            "web: give both tls_cert_file and tls_key_file, "
                            "or neither");
        c->web.base_url = ld_dup_string(ld, g, "base_url", "", "web");
        if (c->web.base_url != NULL && c->web.base_url[0] != '\0') {
                if (ld_url_parts(c->web.base_url, &scheme, &host) < 0 ||
                    (strcmp(scheme, "https") != 0 &&
                     strcmp(scheme, "http") != 0))
                        ld_error_at(ld,
                                    config_setting_get_member(g, "base_url"),
                                    "web.base_url '%s': want an http:// or "
                                    "https:// URL",
                                    c->web.base_url);
                else if (c->web.base_url[strlen(c->web.base_url) - 1] == '/')
                        c->web.base_url[strlen(c->web.base_url) - 1] = '\0';
        }
        c->web.user = ld_dup_string(ld, g, "user", WEB_USER_DEFAULT, "web");
        if (c->web.user != NULL && !ld_valid_name(c->web.user))
                ld_error_at(ld, config_setting_get_member(g, "user"),
                            "web.user '%s' is not a user name", c->web.user);
        ld_get_int(ld, g, "timeout", 100, 60000, &timeout);
        c->web.timeout_ms = timeout;
        load_signin(ld, g);
        free(scheme);
        free(host);
}

/* An e-mail address as a sign-in name: one '@', no space, not too long. */
static bool
valid_email(const char *s)
{
        const char *at = strchr(s, '@');

        return at != NULL && at != s && at[1] != '\0' &&
               strchr(at + 1, '@') == NULL && strchr(s, ' ') == NULL &&
               strlen(s) <= EMAIL_MAX;
}

/* One { email; role; schools } of the users list. */
static void
load_user(struct loader *ld, const config_setting_t *list, int i)
{
        static const char *const keys[] = { "email", "role", "schools", NULL };
        const config_setting_t *g = config_setting_get_elem(list, i);
        struct conf *c = ld->conf;
        struct conf_user *u = &c->users[c->nusers++];
        const char *role;
        struct strlist schools;

        if (!ld_element_group(ld, g, "user"))
                return;
        ld_check_keys(ld, g, keys, "user");
        u->email = ld_dup_string(ld, g, "email", NULL, "user");
        if (u->email != NULL && !valid_email(u->email))
                ld_error_at(ld, config_setting_get_member(g, "email"),
                            "email '%s' is not an e-mail address", u->email);
        else if (u->email != NULL)
                ld_check_unique(ld, list, i, "email", u->email, "user email");
        role = ld_get_string(ld, g, "role", true, "user");
        if (role != NULL && roles_parse(role, &u->role) < 0)
                ld_error_at(ld, config_setting_get_member(g, "role"),
                            "role '%s': want %s", role, ROLES_NAMES);
        ld_get_strv(ld, g, "schools", &schools);
        for (size_t k = 0; k < schools.n; k++) {
                if (conf_school(c, schools.v[k]) == NULL)
                        ld_error_at(ld, schools.at[k],
                                    "school '%s' is not in 'schools'",
                                    schools.v[k]);
        }
        if (role != NULL && roles_every_school(u->role) && schools.n > 0)
                ld_error_at(ld, config_setting_get_member(g, "schools"),
                            "a %s sees every school: no 'schools'", role);
        else if (role != NULL && !roles_every_school(u->role) && schools.n == 0)
                ld_error_at(ld, g, "user '%s': a %s needs 'schools'",
                            u->email ? u->email : "?", role);
        u->schools = schools.v;
        u->nschools = schools.n;
        schools.v = NULL;
        schools.n = 0;
        ld_strlist_free(&schools);
}

void
ld_load_web(struct loader *ld, const config_setting_t *root)
{
        const config_setting_t *list = ld_get_list(ld, root, "users", false);
        struct conf *c = ld->conf;
        int n;

        load_web(ld, root);
        if (list == NULL)
                return;
        n = config_setting_length(list);
        c->users = xcalloc((size_t)n + 1, sizeof(*c->users));
        for (int i = 0; i < n; i++)
                load_user(ld, list, i);
}

void
ld_free_web(struct conf *c)
{
        free(c->web.listen);
        free(c->web.tls_cert_file);
        free(c->web.tls_key_file);
        free(c->web.base_url);
        free(c->web.user);
        free(c->web.proxy_user_header);
        free(c->web.proxy_trusted);
        free(c->web.pages);
        for (size_t i = 0; i < c->nusers; i++) {
                free(c->users[i].email);
                ld_free_strv(c->users[i].schools, c->users[i].nschools);
        }
        free(c->users);
}

bool
conf_proxy_trusted(const struct conf *conf, const struct sockaddr *sa)
{
        static const unsigned char mapped[12] = { 0, 0, 0, 0, 0,    0,
                                                  0, 0, 0, 0, 0xff, 0xff };
        unsigned char addr[16];
        int family;

        if (sa == NULL)
                return false;
        if (sa->sa_family == AF_INET) {
                family = AF_INET;
                memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        } else if (sa->sa_family == AF_INET6) {
                const unsigned char *a =
                    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

                family = AF_INET6;
                memcpy(addr, a, 16);
                if (memcmp(a, mapped, sizeof(mapped)) == 0) {
                        family = AF_INET;
                        memcpy(addr, a + 12, 4);
                }
        } else {
                return false;
        }
        for (size_t i = 0; i < conf->web.nproxy_trusted; i++) {
                const struct conf_cidr *n = &conf->web.proxy_trusted[i];
                int whole = n->bits / 8, rest = n->bits % 8;

                if (n->family != family ||
                    memcmp(n->addr, addr, (size_t)whole) != 0)
                        continue;
                if (rest == 0 || ((n->addr[whole] ^ addr[whole]) &
                                  (0xff << (8 - rest))) == 0)
                        return true;
        }
        return false;
}

const struct conf_user *
conf_user(const struct conf *conf, const char *email)
{
        for (size_t i = 0; i < conf->nusers; i++) {
                if (conf->users[i].email != NULL &&
                    strcasecmp(conf->users[i].email, email) == 0)
                        return &conf->users[i];
        }
        return NULL;
}
