/*
 * request: the pure half of serving an API request (docs/api.md): which
 * route a method and path name, which query parameters each route takes,
 * and the event body a POST carries. No socket, no clock, no allocation
 * the caller does not own; fuzzed (tests/fuzz/fuzz_request.c).
 */
#ifndef ONOTIFY_WEB_REQUEST_H
#define ONOTIFY_WEB_REQUEST_H

#include "names.h"

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
        ROUTE_COUNT
};

/* A route matched, with what its path carried. */
struct request_route {
        enum route_id id;
        bool body;                   /* it reads a JSON body (a POST) */
        bool feed_key;               /* it may be reached with ?key= */
        char urn[NAMES_URN_LEN + 1]; /* {urn}; "" when none */
        int64_t case_id;             /* {id}; 0 when none */
        const char *const *params;   /* the query parameters it takes */
};

/*
 * Matches `method` and `path` (without the query). Returns 0 and fills *r,
 * 404 when no route has that path (or a path parameter is not one), 405
 * when one has it with another method (*allow: the method it takes).
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

/*
 * A query value: `limit` as a whole number in [min, max], or the boolean
 * "true" / "false". 0, or -1 when it is not one.
 */
/* The acknowledgement's body {"rule", "note"?}: the same contract. */
int request_ack_body(const char *body, size_t len, json_t **out, char **why);

int request_number(const char *s, long min, long max, long *out);
int request_bool(const char *s, bool *out);

#endif
