#include "request.h"

#include "xalloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One row per route: its method, its path with {urn} and {id} segments,
 * and the query parameters it takes. */
struct route {
        enum route_id id;
        const char *method;
        const char *pattern;
        const char *const *params;
        bool body;
        bool feed_key;
        enum route_kind kind;
};

static const char *const no_params[] = { NULL };
static const char *const cases_params[] = { "all", NULL };
static const char *const school_params[] = { "school", NULL };
static const char *const history_params[] = { "school", "limit", NULL };
static const char *const plan_params[] = { "school", "event", "at", NULL };
static const char *const calendar_params[] = { "school", "key", NULL };

static const struct route routes[] = {
        { ROUTE_HEALTHZ, "GET", "/healthz", no_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_SCHOOLS, "GET", "/api/v1/schools", no_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_SCHOOL_EVENTS, "POST", "/api/v1/schools/{urn}/events",
          no_params, true, false, ROUTE_KIND_API },
        { ROUTE_CASE, "GET", "/api/v1/cases/{id}", no_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_CASE_ACKS, "POST", "/api/v1/cases/{id}/acks", no_params, true,
          false, ROUTE_KIND_API },
        { ROUTE_CASES, "GET", "/api/v1/cases", cases_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_UPCOMING, "GET", "/api/v1/upcoming", school_params, false,
          false, ROUTE_KIND_API },
        { ROUTE_HISTORY, "GET", "/api/v1/history", history_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_PLAN, "GET", "/api/v1/plan", plan_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_CALENDAR, "GET", "/api/v1/calendar.ics", calendar_params, false,
          true, ROUTE_KIND_API },
        { ROUTE_FEED, "GET", "/api/v1/feed", no_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_CASE_AUDIT, "GET", "/api/v1/cases/{id}/audit", no_params, false,
          false, ROUTE_KIND_API },
        { ROUTE_ME, "GET", "/api/v1/me", no_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_CHANNELS, "GET", "/api/v1/channels", no_params, false, false,
          ROUTE_KIND_API },
        { ROUTE_PAGE_HOME, "GET", "/", NULL, false, false, ROUTE_KIND_PAGE },
        { ROUTE_PAGE_SCHOOL, "GET", "/schools/{urn}", NULL, false, false,
          ROUTE_KIND_PAGE },
        { ROUTE_PAGE_CASE, "GET", "/cases/{id}", NULL, false, false,
          ROUTE_KIND_PAGE },
        { ROUTE_PAGE_SIGNIN, "GET", "/signin", NULL, false, false,
          ROUTE_KIND_PAGE },
        { ROUTE_SIGNIN, "POST", "/signin", NULL, false, false,
          ROUTE_KIND_FORM },
        { ROUTE_PAGE_LINK, "GET", "/signin/{token}", NULL, false, false,
          ROUTE_KIND_PAGE },
        { ROUTE_LINK, "POST", "/signin/{token}", NULL, false, false,
          ROUTE_KIND_FORM },
        { ROUTE_SIGNOUT, "POST", "/signout", NULL, false, false,
          ROUTE_KIND_FORM },
        { ROUTE_STATIC, "GET", "/static/{file}", NULL, false, false,
          ROUTE_KIND_ASSET },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The segment of `path` from *p to the next '/' or the end. */
static size_t
segment(const char *p)
{
        const char *slash = strchr(p, '/');

        return slash != NULL ? (size_t)(slash - p) : strlen(p);
}

/*
 * A {urn} or {token} parameter: exactly `len` characters, copied into
 * `to` (len + 1 bytes) and checked by valid(). It always fits; one of the
 * wrong form makes *bad true (segment_matches()).
 */
static bool
fixed_segment(const char *path, size_t n, size_t len, char *to,
              bool (*valid)(const char *), bool *bad)
{
        if (n != len) {
                *bad = true;
                return true;
        }
        memcpy(to, path, n);
        to[n] = '\0';
        *bad |= !valid(to);
        return true;
}

/*
 * Whether one segment of a path (`n` bytes) fits one of a pattern (`pn`
 * bytes): the same text, or a {urn} or {id} parameter, copied into *r. A
 * parameter of the wrong form still fits and makes *bad true, so that
 * /api/v1/cases/abc is the route's 404, not a 405.
 */
static bool
segment_matches(const char *pattern, size_t pn, const char *path, size_t n,
                struct request_route *r, bool *bad)
{
        char buf[24];
        long long v = 0;

        if (pn == 5 && strncmp(pattern, "{urn}", pn) == 0)
                return fixed_segment(path, n, NAMES_URN_LEN, r->urn,
                                     names_valid_urn, bad);
        if (pn == 4 && strncmp(pattern, "{id}", pn) == 0) {
                if (n == 0 || n >= sizeof(buf)) {
                        *bad = true;
                        return true;
                }
                memcpy(buf, path, n);
                buf[n] = '\0';
                *bad |= names_number(buf, 1, LLONG_MAX, &v) < 0;
                r->case_id = v;
                return true;
        }
        if (pn == 7 && strncmp(pattern, "{token}", pn) == 0)
                return fixed_segment(path, n, TOKEN_LEN, r->token,
                                     token_well_formed, bad);
        if (pn == 6 && strncmp(pattern, "{file}", pn) == 0) {
                *bad |= n == 0 || n > REQUEST_FILE_MAX || path[0] == '.';
                for (size_t i = 0; i < n && !*bad; i++) {
                        char ch = path[i];

                        *bad |= !((ch >= 'a' && ch <= 'z') ||
                                  (ch >= '0' && ch <= '9') || ch == '.' ||
                                  ch == '-' || ch == '_');
                }
                if (!*bad) {
                        memcpy(r->file, path, n);
                        r->file[n] = '\0';
                }
                return true;
        }
        return pn == n && strncmp(pattern, path, n) == 0;
}

/* Whether `path` has the shape of `pattern`, segment by segment. */
static bool
path_matches(const char *pattern, const char *path, struct request_route *r,
             bool *bad)
{
        while (*pattern != '\0' && *path != '\0') {
                size_t pn, n;

                if (*pattern == '/' || *path == '/') {
                        if (*pattern != *path)
                                return false;
                        pattern++;
                        path++;
                        continue;
                }
                pn = segment(pattern);
                n = segment(path);
                if (!segment_matches(pattern, pn, path, n, r, bad))
                        return false;
                pattern += pn;
                path += n;
        }
        return *pattern == '\0' && *path == '\0';
}

/* The Allow header for the methods a path takes: GET (1), POST (2). */
static const char *
allow_list(unsigned methods)
{
        static const char *const lists[] = { NULL, "GET", "POST", "GET, POST" };

        return lists[methods & 3];
}

int
request_match(const char *method, const char *path, struct request_route *r,
              const char **allow)
{
        unsigned methods = 0;

        *allow = NULL;
        for (size_t i = 0; i < NROUTES; i++) {
                bool bad = false;

                memset(r, 0, sizeof(*r));
                if (!path_matches(routes[i].pattern, path, r, &bad))
                        continue;
                if (bad) {
                        memset(r, 0, sizeof(*r));
                        return 404;
                }
                if (strcmp(method, routes[i].method) != 0 &&
                    !(strcmp(method, "HEAD") == 0 &&
                      strcmp(routes[i].method, "GET") == 0)) {
                        methods |=
                            strcmp(routes[i].method, "GET") == 0 ? 1u : 2u;
                        continue;
                }
                r->id = routes[i].id;
                r->params = routes[i].params;
                r->body = routes[i].body;
                r->feed_key = routes[i].feed_key;
                r->kind = routes[i].kind;
                return 0;
        }
        memset(r, 0, sizeof(*r));
        *allow = allow_list(methods);
        return *allow != NULL ? 405 : 404;
}

bool
request_param_ok(const struct request_route *r, const char *key)
{
        for (size_t i = 0; r->params != NULL && r->params[i] != NULL; i++) {
                if (strcmp(r->params[i], key) == 0)
                        return true;
        }
        return false;
}

int
request_bool(const char *s, bool *out)
{
        if (strcmp(s, "true") == 0)
                *out = true;
        else if (strcmp(s, "false") == 0)
                *out = false;
        else
                return -1;
        return 0;
}

/* A field a body may have: its key and JSON type (JSON_TRUE: a boolean,
 * else a string). */
struct body_field {
        const char *key;
        int type;
};

/*
 * A JSON object of only `fields`, `required` among them: 0 and *out, or
 * 400 (not a JSON object) or 422 with *why (caller frees).
 */
static int
object_body(const char *body, size_t len, const struct body_field *fields,
            size_t nfields, const char *required, json_t **out, char **why)
{
        json_error_t jerr;
        json_t *doc, *v;
        const char *key;

        *out = NULL;
        *why = NULL;
        doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (doc == NULL) {
                xasprintf(why, "the body is not JSON: %s (line %d, column %d)",
                          jerr.text, jerr.line, jerr.column);
                return 400;
        }
        if (!json_is_object(doc)) {
                json_decref(doc);
                xasprintf(why, "the body is not a JSON object");
                return 400;
        }
        json_object_foreach(doc, key, v)
        {
                size_t i;

                for (i = 0; i < nfields; i++) {
                        if (strcmp(key, fields[i].key) == 0)
                                break;
                }
                if (i == nfields) {
                        xasprintf(why, "unknown field '%.64s'", key);
                        goto bad;
                }
                if (fields[i].type == JSON_TRUE ? !json_is_boolean(v)
                                                : !json_is_string(v)) {
                        xasprintf(why, "'%s' must be %s", key,
                                  fields[i].type == JSON_TRUE ? "true or false"
                                                              : "a string");
                        goto bad;
                }
        }
        if (json_object_get(doc, required) == NULL) {
                xasprintf(why, "'%s' is required", required);
                goto bad;
        }
        *out = doc;
        return 0;
bad:
        json_decref(doc);
        return 422;
}

int
request_event_body(const char *body, size_t len, json_t **out, char **why)
{
        static const struct body_field fields[] = {
                { "kind", JSON_STRING },    { "at", JSON_STRING },
                { "contact", JSON_STRING }, { "note", JSON_STRING },
                { "new_case", JSON_TRUE },
        };

        return object_body(body, len, fields,
                           sizeof(fields) / sizeof(fields[0]), "kind", out,
                           why);
}

int
request_ack_body(const char *body, size_t len, json_t **out, char **why)
{
        static const struct body_field fields[] = {
                { "rule", JSON_STRING },
                { "note", JSON_STRING },
        };

        return object_body(body, len, fields,
                           sizeof(fields) / sizeof(fields[0]), "rule", out,
                           why);
}

int
request_hex(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int
request_form_value(const char *body, size_t len, const char *key, char *out,
                   size_t size)
{
        size_t klen = strlen(key), i = 0;

        while (i < len) {
                size_t end = i, o = 0;

                while (end < len && body[end] != '&')
                        end++;
                if (end - i > klen && strncmp(body + i, key, klen) == 0 &&
                    body[i + klen] == '=') {
                        for (size_t k = i + klen + 1; k < end; k++) {
                                int c = (unsigned char)body[k];

                                if (c == '+') {
                                        c = ' ';
                                } else if (c == '%') {
                                        if (k + 2 >= end ||
                                            request_hex(body[k + 1]) < 0 ||
                                            request_hex(body[k + 2]) < 0)
                                                return -1;
                                        c = request_hex(body[k + 1]) * 16 +
                                            request_hex(body[k + 2]);
                                        k += 2;
                                }
                                if (c < 0x20 || c == 0x7f || o + 1 >= size)
                                        return -1;
                                out[o++] = (char)c;
                        }
                        out[o] = '\0';
                        return 0;
                }
                i = end + 1;
        }
        return -1;
}

/* Whether `origin` is "SCHEME://HOST" exactly (HOST with its port). */
static bool
origin_is(const char *origin, const char *scheme, const char *host,
          size_t hostlen)
{
        size_t n = strlen(scheme);

        return strncmp(origin, scheme, n) == 0 &&
               strncmp(origin + n, "://", 3) == 0 &&
               strlen(origin + n + 3) == hostlen &&
               strncasecmp(origin + n + 3, host, hostlen) == 0;
}

bool
request_same_origin(const struct request_origin *o)
{
        const char *base = o->base_url, *rest, *slash;

        if (o->sec_fetch_site != NULL)
                return strcmp(o->sec_fetch_site, "same-origin") == 0 ||
                       strcmp(o->sec_fetch_site, "none") == 0;
        if (o->origin == NULL || strcmp(o->origin, "null") == 0)
                return false;
        if (o->host != NULL && origin_is(o->origin, o->tls ? "https" : "http",
                                         o->host, strlen(o->host)))
                return true;
        if (base == NULL || base[0] == '\0')
                return false;
        rest = strstr(base, "://");
        if (rest == NULL)
                return false;
        rest += 3;
        slash = strchr(rest, '/');
        return strncmp(o->origin, base, (size_t)(rest - base)) == 0 &&
               strlen(o->origin) == (size_t)(rest - base) +
                                        (slash != NULL ? (size_t)(slash - rest)
                                                       : strlen(rest)) &&
               strncasecmp(o->origin + (rest - base), rest,
                           slash != NULL ? (size_t)(slash - rest)
                                         : strlen(rest)) == 0;
}
