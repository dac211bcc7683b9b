/*
 * web: ofsted-notify-web's context, built once in main() and passed to
 * every handler, and what the modules of web/ share.
 *
 * The process serves HTTP with libmicrohttpd from one thread (its
 * internal polling thread): every handler runs there, one at a time, so
 * the one control client is never used from two threads. It talks to the
 * scheduler only through the control protocol (common/cclient.h); it
 * holds no state of its own but the config, the pages (pages.h) and the
 * browser sessions (session.h, in memory: a restart signs people out).
 */
#ifndef ONOTIFY_WEB_H
#define ONOTIFY_WEB_H

#include "auth.h"
#include "request.h"

#include <jansson.h>
#include <stdint.h>

struct conf;
struct cclient;
struct limits;
struct pages;
struct sessions;

struct web {
        const struct conf *conf;
        struct cclient *client;    /* the scheduler's control endpoint */
        int64_t (*now)(void);      /* UTC seconds */
        struct pages *pages;       /* the HTML, CSS and JS it serves */
        struct sessions *sessions; /* sign-in links and sessions */
        struct limits *limits;     /* how many links were asked for */
        bool tls;                  /* it serves https itself */
        bool secure;               /* cookies are Secure: https, here or
                                      at web.base_url */
        bool warned_proxy;         /* the untrusted proxy header logged */
};

/* What a handler answers: an HTTP status and a body. */
struct reply {
        int status;
        json_t *json;         /* the body as JSON; or */
        char *text;           /* a body of type `type` (caller frees) */
        const char *type;     /* NULL: application/json */
        const char *allow;    /* an Allow header (405); NULL: none */
        bool authenticate;    /* a WWW-Authenticate header (401) */
        const char *location; /* a Location header (303); NULL: none */
        char *cookie;         /* a Set-Cookie header (caller frees) */
        bool borrowed;        /* `text` is not the reply's to free */
        json_t *after;        /* the sign-in link's email, asked for
                                 once the answer is sent (browser.h) */
};

/* One request as a handler sees it. */
struct call {
        const struct request_route *route;
        const struct principal *who;
        json_t *query; /* parameter -> value, each given at most once */
        json_t *body;  /* the event body, for ROUTE_SCHOOL_EVENTS */
};

/*
 * Asks the scheduler `req` (borrowed). Returns 0 with *reply (caller
 * owns; ok true or false), or -1 when it does not answer (the API's 503),
 * the reason logged.
 */
int web_ask(struct web *w, const json_t *req, json_t **reply);

/* {"error": text}, with `status`. */
void web_error(struct reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The handler of every route but /healthz (api.c). */
void api_handle(struct web *w, const struct call *c, struct reply *r);
/*
 * GET /api/v1/schools with a bearer token, in one round trip: the
 * scheduler judges the token in the `schools` request itself and answers
 * its holder beside the rows (docs/protocol.md), where another route
 * asks token_auth first. A bad or revoked token: 401, as auth_request().
 */
void api_schools_by_token(struct web *w, const char *token, struct reply *r);
/* GET /healthz (api.c). */
void api_healthz(struct web *w, struct reply *r);

/* An address as text, with room for an IPv6 one and its NUL. */
#define CLIENT_MAX 46

/* What the browser's forms carry beside the route (browser.c). */
struct form {
        const char *body; /* the urlencoded body; may be NULL */
        size_t len;
        const char *session;     /* the session cookie's value; NULL: none */
        char client[CLIENT_MAX]; /* who sent it (http.c's client_address) */
};
/* POST /signin, /signin/{token}, /signout (browser.c). */
void browser_form(struct web *w, const struct request_route *route,
                  const struct form *f, struct reply *r);
/*
 * A reply's `after` (taken: freed here, its link wiped), asked of the
 * scheduler once the answer has been sent (http.c), so that how long the
 * answer took tells nobody whether the address was a user's.
 */
void browser_after(struct web *w, json_t *after);
/* The session cookie's name. */
#define BROWSER_COOKIE "ofsted_notify_session"

#endif
