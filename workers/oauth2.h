/*
 * oauth2: the email worker signs in by itself (email.oauth2).
 *
 * It asks the provider's token endpoint for an access token with the
 * client credentials grant: Microsoft Entra ID's v2.0 endpoint with a
 * client secret or a certificate (a JWT client assertion signed RS256,
 * its certificate named by the "x5t#S256" header), Google's with a
 * service account key (the JWT bearer grant, `sub` the sending mailbox),
 * or any endpoint of the same shape (generic). The token is kept in
 * memory that is locked, left out of core dumps and wiped when freed
 * (sodium_malloc); it is renewed at 80% of its `expires_in`, and at once
 * when the mail server refuses it. A failed sign-in is kept with the
 * endpoint's `error` and `error_description` and asked again only after
 * a short backoff, so a burst of jobs does not hammer the endpoint.
 *
 * The parts that decide are pure and tested alone: the form body, the
 * JWT (signed with OpenSSL's EVP), the token endpoint's reply, when to
 * renew, what a job does at a given moment (use the token, wait for the
 * request under way, be held) and how long a request may take. The I/O
 * is the token request: an easy handle set up in one function and run
 * beside the deliveries on the worker's transfer pool (transfer_aside()),
 * one at a time, so the worker's loop never waits for it. While it runs
 * a token that has not ended still serves; a job with none waits, parked
 * in the pool, at most 4 s. No secret, assertion or token is ever logged
 * or put in a cause.
 */
#ifndef ONOTIFY_OAUTH2_H
#define ONOTIFY_OAUTH2_H

#include "conf.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- The pure parts -------------------------------------------------- */

/* The name=value pairs of a token request, in order; NULL-terminated. */
struct oauth2_field {
        const char *name, *value;
};
/*
 * application/x-www-form-urlencoded text of `fields` (up to the first
 * with a NULL name). The caller wipes and frees it with oauth2_wipe():
 * it holds a secret or an assertion.
 */
char *oauth2_form(const struct oauth2_field *fields);

/* The base64url (no padding) of len bytes. Caller frees. */
char *oauth2_b64url(const unsigned char *p, size_t len);

/* How a JWT is signed: both SHA-256 with an RSA key. */
enum oauth2_alg {
        OAUTH2_RS256, /* PKCS #1 v1.5: Google's service accounts */
        OAUTH2_PS256, /* PSS, salt as long as the digest: Entra ID's
                       * certificate credentials */
};

/*
 * A signed JWT: base64url(header) "." base64url(claims) "." the `alg`
 * signature of the two with `key` (an RSA private key); the header must
 * name the same alg. -1 with *cause when the key cannot sign. The caller
 * wipes and frees *jwt with oauth2_wipe().
 */
int oauth2_jwt_sign(EVP_PKEY *key, enum oauth2_alg alg, const char *header,
                    const char *claims, char **jwt, char **cause);

/* A token endpoint's answer, parsed. */
struct oauth2_reply {
        char *token;     /* access_token; wipe with oauth2_reply_clear() */
        long expires_in; /* seconds */
};
/*
 * Parses the token endpoint's answer `body` (len bytes) to HTTP `status`:
 * on 200, a JSON object with a Bearer `access_token` and `expires_in`;
 * otherwise (or when those are missing) -1 with *cause saying what the
 * endpoint said: "token endpoint said invalid_client: AADSTS7000215: ..."
 * from its `error` and the first line of `error_description` (Entra adds
 * trace and correlation ids on later lines), or its HTTP status. *cause
 * never holds the token.
 */
int oauth2_parse_reply(long status, const char *body, size_t len,
                       struct oauth2_reply *out, char **cause);
void oauth2_reply_clear(struct oauth2_reply *r);

/*
 * When a token got at `now_ms` that lives `expires_in` seconds is to be
 * renewed: at 80% of its life, so never after it ends.
 */
int64_t oauth2_renew_at(int64_t now_ms, long expires_in);

/* Wipes and frees a string that held a secret; accepts NULL. */
void oauth2_wipe(char *s);

/* What a sign-in knows at a moment (monotonic ms), for oauth2_step(). */
struct oauth2_clock {
        bool token;         /* a token is held */
        int64_t renew_ms;   /* when it is to be renewed */
        int64_t expires_ms; /* when it ends */
        bool asking;        /* a token request is under way */
        bool failed;        /* the last request failed */
        int64_t retry_ms;   /* then no request before this, */
        bool cred_changed;  /* unless the credential file changed since */
};
/* What a job that needs the token does. */
enum oauth2_step {
        OAUTH2_USE,   /* the token held serves */
        OAUTH2_RENEW, /* it serves, and a request for the next one starts */
        OAUTH2_ASK,   /* none serves: a request starts, the job waits */
        OAUTH2_WAIT,  /* none serves: the job waits for the request under way */
        OAUTH2_HOLD,  /* none serves and the last failure stands: held */
};
/*
 * What a job does at `now_ms`: a token serves until it ends, renewed
 * from its renewal time on, one request at a time, and after a failure
 * not before the backoff's end unless the credential file changed.
 */
enum oauth2_step oauth2_step(const struct oauth2_clock *c, int64_t now_ms);

/*
 * How long a token request started at `now_ms` may take (ms), within the
 * worker's `timeout_ms`: at most 4 s when jobs wait for it; for a renewal
 * (`expires_ms` the held token's end, still ahead) until that token ends,
 * and 4 s at least. So no job waits for a request more than 4 s.
 */
long oauth2_request_ms(long timeout_ms, bool renewal, int64_t now_ms,
                       int64_t expires_ms);

/* --- The token ------------------------------------------------------- */

struct oauth2;

struct transfer_pool;

/*
 * The sign-in the email group of `conf` asks for (NULL when it has no
 * oauth2 group), to get tokens for `transport` (the scope differs), with
 * requests run on `xfers` and bounded by `timeout_ms`. It copies what it
 * needs from conf; xfers must outlive its requests (destroying the pool
 * ends them). One reference, the caller's; a request under way holds
 * another.
 */
struct oauth2 *oauth2_new(const struct conf *conf, long timeout_ms,
                          struct transfer_pool *xfers);
/* Another reference to o, for a transfer that may outlive a reload. */
struct oauth2 *oauth2_hold(struct oauth2 *o);
/* Drops a reference; the last wipes the token. Accepts NULL; *op = NULL. */
void oauth2_destroy(struct oauth2 **op);

/*
 * The access token for a job now (`now_ms`, monotonic), as oauth2_step()
 * decides. 0 with *token, o's string, to copy at once (it is wiped when
 * o's next token comes); *gen (may be NULL) tells which token it was,
 * for oauth2_refused(). From its renewal time on, a token request starts
 * in the background and the token serves until the new one comes, or if
 * that fails, until it ends. 1 when no token serves yet: a request is
 * under way (started now if need be); ask again after the next
 * transfer_reap(). -1 with *cause (caller frees), "email sign-in: token
 * endpoint said ...", when the sign-in failed and its backoff holds; a
 * failure is logged once at error, and kept for a short backoff before
 * the endpoint is asked again.
 */
int oauth2_token(struct oauth2 *o, int64_t now_ms, const char **token,
                 unsigned *gen, char **cause);
/*
 * The server refused token `gen`: unless a newer one is held already, it
 * is dropped, so the next oauth2_token() asks for another at once.
 */
void oauth2_refused(struct oauth2 *o, unsigned gen);

/* "microsoft", "google" or "generic": for words about the sign-in. */
const char *oauth2_provider_name(const struct oauth2 *o);

#endif
