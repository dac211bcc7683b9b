/*
 * auth: who is asking. One function, auth_request(), turns what a request
 * carries into a principal: an API token (Authorization: Bearer) or a
 * calendar feed key (?key=), both judged by the scheduler (control
 * command token_auth), which keeps only their hashes; a browser session
 * (session.h, its cookie) or a user named by a trusted proxy's header,
 * both people of the config's `users`. The handlers see only the
 * principal.
 */
#ifndef ONOTIFY_WEB_AUTH_H
#define ONOTIFY_WEB_AUTH_H

#include "names.h"
#include "roles.h"
#include "token.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct web;

/* What a request brings to prove who sends it; NULL where absent. */
struct auth_input {
        const char *authorization; /* the Authorization header */
        const char *feed_key;      /* the ?key= of a calendar feed URL */
        const char *session;       /* the session cookie's value */
        const char *proxy_user;    /* the proxy's user header, when it
                                      came from a trusted peer */
};

enum principal_kind {
        PRINCIPAL_TOKEN, /* an API token: acts as "token:NAME" */
        PRINCIPAL_FEED,  /* a token's calendar feed key: reads its feed only */
        PRINCIPAL_SESSION, /* a browser session: acts as "user:EMAIL" */
        PRINCIPAL_PROXY,   /* a user the proxy vouches for: "user:EMAIL" */
};

#define AUTH_MAX_SCHOOLS 64

struct principal {
        enum principal_kind kind;
        enum role role;
        char actor[272]; /* "token:NAME" or "user:EMAIL", for the record */
        char schools[AUTH_MAX_SCHOOLS][NAMES_URN_LEN + 1];
        size_t nschools;
        char feed_key[TOKEN_LEN + 1]; /* a token's; "" otherwise */
};

/*
 * Authenticates a request. Returns 0 with *p, 401 (none or bad
 * credentials), 403 (a proxy's user who is not in `users`) or 503 (the
 * scheduler does not answer), with the sentence to send in *why
 * (static).
 */
int auth_request(struct web *w, const struct auth_input *in,
                 struct principal *p, const char **why);
/* The token of an Authorization header "Bearer TOKEN", or NULL. */
const char *auth_bearer(const char *authorization);
/*
 * The principal of a token's holder as the scheduler gives it ({"name",
 * "role", "schools"}, the "token" of token_auth's reply and of
 * schools'): an API token's, or with `token` NULL a feed key's. 0 and
 * *p, or -1 when `holder` is not one.
 */
int auth_holder(const json_t *holder, const char *token, struct principal *p);
/* Whether `p` is a person signed in with a browser (a write needs the
 * same origin). */
bool auth_is_browser(const struct principal *p);
/* Whether `p` may read the school `urn`. */
bool auth_sees(const struct principal *p, const char *urn);
/* Whether `p` may record events for the school `urn`. */
bool auth_may_record(const struct principal *p, const char *urn);

#endif
