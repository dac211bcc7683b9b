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
 * JWT (signed with OpenSSL's EVP), the token endpoint's reply and when to
 * renew. The one I/O function is the token request (libcurl, blocking,
 * bounded by the worker's timeout). No secret, assertion or token is ever
 * logged or put in a cause.
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

/* --- The token ------------------------------------------------------- */

struct oauth2;

/*
 * The sign-in the email group of `conf` asks for (NULL when it has no
 * oauth2 group), to get tokens for `transport` (the scope differs), with
 * requests bounded by `timeout_ms`. It copies what it needs from conf.
 * One reference, the caller's.
 */
struct oauth2 *oauth2_new(const struct conf *conf, long timeout_ms);
/* Another reference to o, for a transfer that may outlive a reload. */
struct oauth2 *oauth2_hold(struct oauth2 *o);
/* Drops a reference; the last wipes the token. Accepts NULL; *op = NULL. */
void oauth2_destroy(struct oauth2 **op);

/*
 * The access token to use now (`now_ms`, monotonic): the one held, or a
 * new one fetched when there is none or its renewal time has come. The
 * string is o's, valid until the next call; *gen (may be NULL) tells
 * which token it was, for oauth2_refused(). NULL with *cause (caller
 * frees), "email sign-in: token endpoint said ...", when the sign-in
 * fails; that failure is logged once at error, and kept for a short
 * backoff before the endpoint is asked again.
 */
const char *oauth2_token(struct oauth2 *o, int64_t now_ms, unsigned *gen,
                         char **cause);
/*
 * The server refused token `gen`: unless a newer one is held already, it
 * is dropped, so the next oauth2_token() fetches another.
 */
void oauth2_refused(struct oauth2 *o, unsigned gen);

/* "microsoft", "google" or "generic": for words about the sign-in. */
const char *oauth2_provider_name(const struct oauth2 *o);

#endif
