/*
 * api: the fixture of the ofsted-notify-web tests: a cluster (cluster.h)
 * with two schools, the scheduler and the web process started, a token of
 * each role, and an HTTP client (libcurl) that returns the status and the
 * body of a request.
 */
#ifndef ONOTIFY_TEST_API_H
#define ONOTIFY_TEST_API_H

#include "cluster.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define OAK "100001" /* the viewer's and the school token's school */
#define ASH "100002" /* nobody's but trust's and admin's */

struct api {
        struct cluster c;
        /* Tokens: viewer and school of OAK, trust and admin. */
        char viewer[64], school[64], trust[64], admin[64];
};

struct api_resp {
        long status;
        char *headers; /* the response's header lines, CRLF-ended */
        char *body;    /* NUL-terminated */
        json_t *json;  /* the body when it is JSON, else NULL */
};

/* cmocka setup and teardown: *state is a struct api. */
int api_setup(void **state);
/* A case run with them (CLUSTER_TEST with api_setup and api_teardown). */
#define API_TEST(t) cmocka_unit_test_setup_teardown(t, api_setup, api_teardown)
/*
 * What else the world of api_setup_with() has: an email channel "heads"
 * to smtpsink with an email worker (mail), more web settings (web), Oak's
 * name (oak_name, NULL: "Oak Primary"), how long the web process waits for
 * the scheduler (timeout_ms, 0: 700), the web process's wall clock the
 * test's to step (stepped: cluster_clock_env(), cluster_clock_set()). The
 * users are head@oak.sch.uk (school, OAK) and ceo@trust.example (trust).
 */
struct api_world {
        bool mail;
        const char *web;
        const char *oak_name;
        int timeout_ms;
        bool stepped;
        /* A school listed before Oak in the config (the rest of its
         * "{ ... }" element), or NULL: none. */
        const char *first_school;
        /* A rule after the others (the rest of its "{ ... }" element), or
         * NULL: none. */
        const char *rule;
};
int api_setup_with(void **state, const struct api_world *w);
int api_teardown(void **state);

/* `ofsted-notifyctl token create NAME --role ROLE [--school URN]`: its
 * stdout, the token, into out (64 bytes). */
void api_token(struct cluster *c, const char *name, const char *role,
               const char *school, char *out);

/*
 * A request to the web process: `token` as a Bearer token (NULL: none),
 * `type` as Content-Type (NULL: none), `body` of `len` bytes (NULL: no
 * body). Fails the test when no HTTP answer comes.
 */
void api_call(struct api *a, const char *method, const char *path,
              const char *token, const char *type, const char *body, size_t len,
              struct api_resp *r);
/* A request with more header lines (NULL-terminated `headers`). */
struct api_req {
        const char *method, *path, *token, *type, *body;
        size_t len;
        const char *const *headers;
};
void api_request(struct api *a, const struct api_req *q, struct api_resp *r);
/* The same to `site` ("https://NAME:PORT", a proxy in front) instead of
 * the web process, NAME resolved to 127.0.0.1, the server's certificate
 * verified against the CA file `cainfo`. */
void api_request_at(struct api *a, const char *site, const char *cainfo,
                    const struct api_req *q, struct api_resp *r);
/* The value of response header `name` into out; false when absent. */
bool api_header(const struct api_resp *r, const char *name, char *out,
                size_t size);
void api_get(struct api *a, const char *path, const char *token,
             struct api_resp *r);
/* api_get() that wants `status` and `needle` as api_want() does. */
void api_get_want(struct api *a, const char *path, const char *token,
                  long status, const char *needle);
/* POST a JSON text to a school's events. */
void api_post_event(struct api *a, const char *urn, const char *token,
                    const char *json, struct api_resp *r);
/*
 * Oak's case opened by a's school token (a notification), then paused by
 * ofsted-notifyctl: one event by each kind of actor. Returns the case's
 * id; unix_actor (64 bytes or more) gets this user's "unix:NAME".
 */
json_int_t api_two_actors(struct api *a, char *unix_actor, size_t len);
/* Wants `status`; for an error status, {"error"} holding `needle`. */
void api_want(const struct api_resp *r, long status, const char *needle);
void api_resp_free(struct api_resp *r);

#endif
