/*
 * request: the pure half of serving an API request (docs/api.md): which
 * route a method and path name, which query parameters each route takes,
 * and the event body a POST carries. No socket, no clock, no allocation
 * the caller does not own; fuzzed (tests/fuzz/fuzz_request.c).
 */
#ifndef ONOTIFY_WEB_REQUEST_H
#define ONOTIFY_WEB_REQUEST_H

#include "names.h"
#include "token.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest request body read; a larger one is refused with 413. */
#define REQUEST_MAX_BODY 16384

enum route_id {
        ROUTE_HEALTHZ,
        ROUTE_SCHOOLS,
        ROUTE_SCHOOL_EVENTS,
        ROUTE_CASE,
        ROUTE_CASE_ACKS,
        ROUTE_CASES,
        ROUTE_UPCOMING,
        ROUTE_HISTORY,
        ROUTE_PLAN,
        ROUTE_CALENDAR,
        ROUTE_FEED,
        ROUTE_CASE_AUDIT,
        ROUTE_ME,
        ROUTE_CHANNELS,
        /* The pages (web/pages.c) and the browser's sign-in forms
         * (web/browser.c). */
        ROUTE_PAGE_HOME,
        ROUTE_PAGE_SCHOOL,
        ROUTE_PAGE_CASE,
        ROUTE_PAGE_SIGNIN,
        ROUTE_PAGE_LINK,
        ROUTE_SIGNIN,
        ROUTE_LINK,
        ROUTE_SIGNOUT,
        ROUTE_STATIC,
        ROUTE_COUNT
};

/* What serves a route. */
enum route_kind {
        ROUTE_KIND_API,   /* api.c: JSON, authenticated */
        ROUTE_KIND_PAGE,  /* pages.c: an HTML page, the same for everyone */
        ROUTE_KIND_FORM,  /* browser.c: a sign-in form's POST */
        ROUTE_KIND_ASSET, /* pages.c: a file of the pages' directory */
};

/* The longest {file} of /static/{file}. */
#define REQUEST_FILE_MAX 63

/* A route matched, with what its path carried. */
struct request_route {
        enum route_id id;
        enum route_kind kind;
        bool body;                       /* it reads a JSON body (a POST) */
        bool feed_key;                   /* it may be reached with ?key= */
        char urn[NAMES_URN_LEN + 1];     /* {urn}; "" when none */
        int64_t case_id;                 /* {id}; 0 when none */
        const char *const *params;       /* the query parameters it takes;
                                            NULL: any, ignored (pages) */
        char token[TOKEN_LEN + 1];       /* {token}; "" when none */
        char file[REQUEST_FILE_MAX + 1]; /* {file}; "" when none */
};

/*
 * Matches `method` and `path` (without the query). Returns 0 and fills *r,
 * 404 when no route has that path (or a path parameter is not one), 405
 * when it has routes only for other methods (*allow: the Allow header's
 * list, "GET", "POST" or "GET, POST"; NULL on any other answer).
 */
int request_match(const char *method, const char *path, struct request_route *r,
                  const char **allow);
/* Whether route `r` takes query parameter `key`. */
bool request_param_ok(const struct request_route *r, const char *key);

/*
 * The body of POST /api/v1/schools/{urn}/events: a JSON object with
 * "kind" (required), "at", "contact", "note" (strings) and "new_case"
 * (true or false), and nothing else. Returns 0 with *out (new reference),
 * or the HTTP status, 400 (not JSON, not an object) or 422 (a field
 * missing, unknown or of the wrong type), with a sentence naming the field
 * or the place in *why (caller frees).
 */
int request_event_body(const char *body, size_t len, json_t **out, char **why);

/* The acknowledgement's body {"rule", "note"?}: the same contract. */
int request_ack_body(const char *body, size_t len, json_t **out, char **why);

/*
 * A query value that is the boolean "true" / "false" (a number is
 * names_number()'s). 0, or -1 when it is not one.
 */
int request_bool(const char *s, bool *out);

/*
 * The value of `key` in a form body (application/x-www-form-urlencoded)
 * of `len` bytes, decoded, into out (size bytes). 0, or -1 when it is
 * absent, too long, or holds a control character once decoded.
 */
int request_form_value(const char *body, size_t len, const char *key, char *out,
                       size_t size);
/* The value of hex digit `c` (either case), or -1. */
int request_hex(char c);

/* What a browser says of where a request comes from; NULL where absent. */
struct request_origin {
        const char *sec_fetch_site; /* Sec-Fetch-Site */
        const char *origin;         /* Origin */
        const char *host;           /* Host */
        bool tls;                   /* this server speaks https */
        const char *base_url;       /* web.base_url; "" when none */
};
/*
 * Whether a request is same-origin, so that a cookie may make it write:
 * Sec-Fetch-Site "same-origin" (or "none", typed by the user); without
 * it, an Origin that is this server's own (its scheme and Host) or
 * web.base_url's. Neither header: not known, so no.
 */
bool request_same_origin(const struct request_origin *o);

#endif
