/*
 * http: the libmicrohttpd side of ofsted-notify-web: one request's
 * headers, query and body gathered, its route matched (request.h), its
 * caller authenticated (auth.h), its handler called (api.c) and the
 * reply sent. Runs on libmicrohttpd's one polling thread.
 */
#include "http.h"
#include "link.h"

#include "pages.h"

#include "cclient.h"
#include "conf.h"
#include "log.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One request in progress: its body so far; what to do once answered. */
struct pending {
        char *body;
        size_t len;
        bool too_big;
        json_t *after; /* a reply's after (browser_after()) */
};

int
web_ask(struct web *w, const json_t *req, json_t **reply)
{
        enum cclient_error err;
        char *cause = NULL;

        if (cclient_request(w->client, req, w->conf->web.timeout_ms, reply,
                            &err, &cause) == 0)
                return 0;
        log_warnx("the scheduler: %s", cause);
        free(cause);
        *reply = NULL;
        return -1;
}

void
web_error(struct reply *r, int status, const char *fmt, ...)
{
        va_list ap;
        char *text;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                abort();
        va_end(ap);
        json_decref(r->json);
        r->status = status;
        r->json = json_pack("{s:s}", "error", text);
        free(text);
}

/* The query parameters into an object; a repeated or unknown one is
 * refused (the first such name in *bad). */
struct query_walk {
        const struct request_route *route;
        json_t *query;
        const char *bad;
        bool repeated;
};

static enum MHD_Result
query_item(void *cls, enum MHD_ValueKind kind, const char *key,
           const char *value)
{
        struct query_walk *q = cls;

        (void)kind;
        if (q->bad != NULL)
                return MHD_YES;
        if (!request_param_ok(q->route, key)) {
                q->bad = key;
        } else if (json_object_get(q->query, key) != NULL) {
                q->bad = key;
                q->repeated = true;
        } else {
                /* A value that is not UTF-8 cannot be any good value. */
                json_t *v = json_string(value != NULL ? value : "");

                if (v == NULL)
                        q->bad = key;
                else
                        json_object_set_new(q->query, key, v);
        }
        return MHD_YES;
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct reply *r)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;
        char *body = r->text;

        if (body == NULL) {
                body = json_dumps(r->json, JSON_COMPACT);
                if (body == NULL)
                        abort();
        }
        resp = MHD_create_response_from_buffer(
            strlen(body), body,
            r->borrowed ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
        r->text = NULL;
        MHD_add_response_header(resp, "Content-Type",
                                r->type ? r->type
                                        : "application/json; charset=utf-8");
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        /* Nothing but this site's own files, no framing, and no Referer
         * (a sign-in link's page must not pass its URL on). */
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        if (r->location != NULL)
                MHD_add_response_header(resp, "Location", r->location);
        if (r->cookie != NULL)
                MHD_add_response_header(resp, "Set-Cookie", r->cookie);
        free(r->cookie);
        r->cookie = NULL;
        if (r->allow != NULL)
                MHD_add_response_header(resp, "Allow", r->allow);
        if (r->authenticate)
                MHD_add_response_header(resp, "WWW-Authenticate",
                                        "Bearer realm=\"ofsted-notify\"");
        ret = MHD_queue_response(conn, (unsigned)r->status, resp);
        MHD_destroy_response(resp);
        json_decref(r->json);
        r->json = NULL;
        return ret;
}

/* Whether the Content-Type is JSON ("application/json", any parameters). */
static bool
is_json(const char *type)
{
        size_t n = strlen("application/json");

        return type != NULL && strncasecmp(type, "application/json", n) == 0 &&
               (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* Whether a browser's request comes from this site (request.h). */
static bool
same_origin(struct web *w, struct MHD_Connection *conn)
{
        struct request_origin o = {
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                            "Sec-Fetch-Site"),
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"),
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"),
                w->tls,
                w->conf->web.base_url,
        };

        return request_same_origin(&o);
}

/* The numeric text of address `sa` into out ("?" when none). */
static void
sockaddr_text(const struct sockaddr *sa, char *out, size_t size)
{
        snprintf(out, size, "?");
        if (sa != NULL && sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                          out, (socklen_t)size);
        else if (sa != NULL && sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6,
                          &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                          (socklen_t)size);
}

/* Whether the address text `s` is that of a peer of web.proxy_trusted. */
static bool
trusted_text(const struct conf *conf, const char *s)
{
        struct sockaddr_in in4 = { .sin_family = AF_INET };
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };

        if (inet_pton(AF_INET, s, &in4.sin_addr) == 1)
                return conf_proxy_trusted(conf, (struct sockaddr *)&in4);
        if (inet_pton(AF_INET6, s, &in6.sin6_addr) == 1)
                return conf_proxy_trusted(conf, (struct sockaddr *)&in6);
        return false;
}

/*
 * The client of a request, as text into out (CLIENT_MAX): the peer's
 * address; from a peer of web.proxy_trusted, the last address of its
 * X-Forwarded-For that is not a trusted proxy's too (each proxy appends
 * the address it was reached from; whatever is left of that, a client
 * can write). For the sign-in limit (limit.h).
 */
static void
client_address(struct web *w, struct MHD_Connection *conn, char *out)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
        const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                      "X-Forwarded-For");

        sockaddr_text(sa, out, CLIENT_MAX);
        if (xff == NULL || !conf_proxy_trusted(w->conf, sa))
                return;
        for (const char *p = xff + strlen(xff); p > xff;) {
                const char *start = p, *stop = p;
                char item[CLIENT_MAX];

                while (start > xff && start[-1] != ',')
                        start--;
                p = start > xff ? start - 1 : xff;
                while (start < stop && *start == ' ')
                        start++;
                while (stop > start && stop[-1] == ' ')
                        stop--;
                if (stop == start || (size_t)(stop - start) >= sizeof(item))
                        continue;
                snprintf(item, sizeof(item), "%.*s", (int)(stop - start),
                         start);
                snprintf(out, CLIENT_MAX, "%s", item);
                if (!trusted_text(w->conf, item))
                        return;
        }
}

/*
 * The user a proxy names in web.proxy_user_header: only from a peer of
 * web.proxy_trusted with the proxy sign-in on; from any other the header
 * is ignored, and said so once.
 */
static const char *
proxy_user(struct web *w, struct MHD_Connection *conn)
{
        const struct conf *conf = w->conf;
        const char *v = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, conf->web.proxy_user_header);
        const union MHD_ConnectionInfo *ci;
        const struct sockaddr *sa;
        char addr[INET6_ADDRSTRLEN] = "?";

        if (v == NULL)
                return NULL;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        sa = ci != NULL ? ci->client_addr : NULL;
        if ((conf->web.signin & CONF_SIGNIN_PROXY) &&
            conf_proxy_trusted(conf, sa))
                return v;
        if (!w->warned_proxy) {
                sockaddr_text(sa, addr, sizeof(addr));
                log_warnx("header %s from '%s', %s, ignoring (said once)",
                          conf->web.proxy_user_header, addr,
                          conf->web.signin & CONF_SIGNIN_PROXY
                              ? "not a peer of web.proxy_trusted"
                              : "but web.signin has no \"proxy\"");
                w->warned_proxy = true;
        }
        return NULL;
}

/* A whole request: route, query, credentials, body, handler. */
static void
serve(struct web *w, struct MHD_Connection *conn, const char *method,
      const char *url, struct pending *p, struct reply *r)
{
        struct request_route route;
        struct query_walk q = { &route, json_object(), NULL, false };
        struct auth_input in = { 0 };
        struct principal who;
        struct call c = { &route, &who, q.query, NULL };
        const char *allow, *why;
        char *bad = NULL;
        int status;

        /* The one-click link's page: the token is its permission. */
        if (link_path(url)) {
                link_serve(w, method, url, p->body, p->len, r);
                goto out;
        }
        status = request_match(method, url, &route, &allow);
        if (status != 0) {
                web_error(r, status,
                          status == 405 ? "%s takes %s only" : "no such %s",
                          status == 405 ? url : "resource",
                          status == 405 ? allow : "");
                r->allow = allow;
                goto out;
        }
        if (route.kind == ROUTE_KIND_PAGE || route.kind == ROUTE_KIND_ASSET) {
                pages_serve(w->pages, &route, r);
                goto out;
        }
        if (route.kind == ROUTE_KIND_FORM) {
                struct form f = { p->body, p->len,
                                  MHD_lookup_connection_value(
                                      conn, MHD_COOKIE_KIND, BROWSER_COOKIE),
                                  "" };

                if (!same_origin(w, conn)) {
                        r->status = 403;
                        r->text = xstrdup("Refused: this form was sent from "
                                          "another site.\n");
                        r->type = "text/plain; charset=utf-8";
                        goto out;
                }
                client_address(w, conn, f.client);
                browser_form(w, &route, &f, r);
                goto out;
        }
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_item, &q);
        if (q.bad != NULL) {
                web_error(r, 400,
                          q.repeated ? "parameter '%.64s' given twice"
                                     : "unknown parameter '%.64s'",
                          q.bad);
                goto out;
        }
        if (route.id == ROUTE_HEALTHZ) {
                api_healthz(w, r);
                goto out;
        }
        in.authorization =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (route.feed_key)
                in.feed_key =
                    json_string_value(json_object_get(q.query, "key"));
        in.session =
            MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, BROWSER_COOKIE);
        in.proxy_user = proxy_user(w, conn);
        /* The dashboard's read, the API's most frequent, judges a bearer
         * token in its own request (a bearer token comes before any
         * other credentials, as in auth_request()). */
        if (route.id == ROUTE_SCHOOLS && auth_bearer(in.authorization)) {
                api_schools_by_token(w, auth_bearer(in.authorization), r);
                goto out;
        }
        status = auth_request(w, &in, &who, &why);
        if (status != 0) {
                web_error(r, status, "%s", why);
                r->authenticate = status == 401;
                goto out;
        }
        /* A cookie (ours or a proxy's) rides along on any request to
         * this site: a write must come from this site's own pages. */
        if (auth_is_browser(&who) && strcmp(method, "GET") != 0 &&
            strcmp(method, "HEAD") != 0 && !same_origin(w, conn)) {
                web_error(r, 403,
                          "refused: a request from another site cannot "
                          "change anything");
                goto out;
        }
        if (route.body) {
                if (p->too_big) {
                        web_error(r, 413, "the body is over %d bytes",
                                  REQUEST_MAX_BODY);
                        goto out;
                }
                if (!is_json(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                         "Content-Type"))) {
                        web_error(r, 415,
                                  "send the body as "
                                  "Content-Type: application/json");
                        goto out;
                }
                status = (route.id == ROUTE_CASE_ACKS ? request_ack_body
                                                      : request_event_body)(
                    p->body ? p->body : "", p->len, &c.body, &bad);
                if (status != 0) {
                        web_error(r, status, "%s", bad);
                        goto out;
                }
        }
        api_handle(w, &c, r);
out:
        free(bad);
        json_decref(c.body);
        json_decref(q.query);
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload_data,
       size_t *upload_data_size, void **con_cls)
{
        struct web *w = cls;
        struct pending *p = *con_cls;
        struct reply r = { 0 };
        const char *length;

        (void)version;
        if (p == NULL) {
                p = xcalloc(1, sizeof(*p));
                *con_cls = p;
                /* Refused before it is read, when it says it is too big. */
                length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Content-Length");
                if (length != NULL &&
                    strtoull(length, NULL, 10) >
                        (unsigned long long)REQUEST_MAX_BODY) {
                        web_error(&r, 413, "the body is over %d bytes",
                                  REQUEST_MAX_BODY);
                        return send_reply(conn, &r);
                }
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                if (!p->too_big &&
                    p->len + *upload_data_size <= REQUEST_MAX_BODY) {
                        p->body = xreallocarray(p->body, 1,
                                                p->len + *upload_data_size + 1);
                        memcpy(p->body + p->len, upload_data,
                               *upload_data_size);
                        p->len += *upload_data_size;
                        p->body[p->len] = '\0';
                } else {
                        p->too_big = true;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        serve(w, conn, method, url, p, &r);
        log_debug("%s %s: %d", method, url, r.status);
        p->after = r.after;
        return send_reply(conn, &r);
}

/* A request ended: its answer sent (or the client gone), then its after. */
static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
          enum MHD_RequestTerminationCode code)
{
        struct web *w = cls;
        struct pending *p = *con_cls;

        (void)conn;
        (void)code;
        if (p != NULL) {
                if (p->after != NULL)
                        browser_after(w, p->after);
                free(p->body);
                free(p);
        }
        *con_cls = NULL;
}

struct MHD_Daemon *
http_start(struct web *w, const char *cert, const char *key, char **cause)
{
        struct sockaddr_storage ss;
        socklen_t len;
        unsigned flags =
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
        struct MHD_Daemon *d;

        if (conf_listen_parse(w->conf->web.listen, &ss, &len) < 0) {
                xasprintf(cause, "web.listen '%s' is not ADDRESS:PORT",
                          w->conf->web.listen);
                return NULL;
        }
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        if (cert != NULL)
                flags |= MHD_USE_TLS;
        d = cert != NULL
                ? MHD_start_daemon(
                      flags, 0, NULL, NULL, answer, w, MHD_OPTION_SOCK_ADDR,
                      (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
                      completed, w, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                      MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY,
                      key, MHD_OPTION_END)
                : MHD_start_daemon(flags, 0, NULL, NULL, answer, w,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                   MHD_OPTION_NOTIFY_COMPLETED, completed, w,
                                   MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                                   MHD_OPTION_END);
        if (d == NULL)
                xasprintf(cause, "cannot listen on %s", w->conf->web.listen);
        return d;
}

int
http_port(struct MHD_Daemon *d)
{
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

        return info != NULL ? (int)info->port : 0;
}

void
http_stop(struct MHD_Daemon *d)
{
        if (d != NULL)
                MHD_stop_daemon(d);
}
