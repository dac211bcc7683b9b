/*
 * oauth2: see oauth2.h. The requests, as the providers define them:
 *
 *   microsoft  POST
 * https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token
 *              grant_type=client_credentials, client_id, scope
 *              (https://outlook.office365.com/.default for SMTP,
 *              https://graph.microsoft.com/.default for Graph), and
 *              client_secret, or client_assertion_type=urn:ietf:params:
 *              oauth:client-assertion-type:jwt-bearer and client_assertion,
 *              a JWT {alg PS256, typ JWT, x5t#S256} {aud the token URL,
 *              iss = sub = client_id, jti, nbf, iat, exp +10 min}
 *   google     POST the key's token_uri (https://oauth2.googleapis.com/token)
 *              grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and
 *              assertion, a JWT {alg RS256, typ JWT, kid private_key_id}
 *              {iss client_email, sub the sender, scope
 *              https://mail.google.com/, aud the token URL, iat, exp +1 h}
 *   generic    as microsoft, at token_url with scope.
 *
 * Either answers {"token_type":"Bearer","expires_in":N,"access_token":...}
 * or an error object {"error":..., "error_description":...}.
 */
#include "oauth2.h"

#include "cert.h"
#include "dproto.h"
#include "email.h"
#include "log.h"
#include "os.h"
#include "secret.h"
#include "transfer.h"
#include "xalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RETRY_MIN_MS    2000  /* after a failed sign-in, the first pause */
#define RETRY_MAX_MS    60000 /* and the longest */
#define ASSERTION_LIFE  600   /* seconds a client assertion is valid */
#define GOOGLE_LIFE     3600  /* seconds Google's JWT may live, at most */
#define MAX_REPLY       65536 /* bytes of the endpoint's answer kept */
#define DESCRIPTION_MAX 300   /* characters of error_description shown */
/*
 * The longest a job waits for a token request, whatever the worker's
 * --timeout: the wait comes before its own transfer, and both must end
 * within its lease. An identity provider answers in well under a second;
 * one that takes longer is treated as unreachable, and the deliveries
 * wait (held, retried). A renewal nobody waits for may take until the
 * token it renews ends.
 */
#define REQUEST_MAX_MS 4000

#define MS_LOGIN       "https://login.microsoftonline.com"
#define MS_SMTP        "https://outlook.office365.com/.default"
#define MS_GRAPH       "https://graph.microsoft.com/.default"
#define GOOGLE_TOKEN   "https://oauth2.googleapis.com/token"
#define GOOGLE_SCOPE   "https://mail.google.com/"
#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define JWT_BEARER     "urn:ietf:params:oauth:grant-type:jwt-bearer"

/* --- The pure parts -------------------------------------------------- */

void
oauth2_wipe(char *s)
{
        if (s == NULL)
                return;
        sodium_memzero(s, strlen(s));
        free(s);
}

char *
oauth2_form(const struct oauth2_field *fields)
{
        char *out = xstrdup(""), *next;

        for (const struct oauth2_field *f = fields; f->name != NULL; f++) {
                char *v = curl_easy_escape(NULL, f->value, 0);

                if (v == NULL)
                        abort(); /* only when out of memory */
                xasprintf(&next, "%s%s%s=%s", out, out[0] != '\0' ? "&" : "",
                          f->name, v);
                sodium_memzero(v, strlen(v));
                curl_free(v);
                oauth2_wipe(out);
                out = next;
        }
        return out;
}

char *
oauth2_b64url(const unsigned char *p, size_t len)
{
        size_t n = sodium_base64_ENCODED_LEN(
            len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        char *out = xmalloc(n);

        sodium_bin2base64(out, n, p, len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        return out;
}

int
oauth2_jwt_sign(EVP_PKEY *key, enum oauth2_alg alg, const char *header,
                const char *claims, char **jwt, char **cause)
{
        EVP_MD_CTX *md = NULL;
        EVP_PKEY_CTX *pctx = NULL; /* md's, not ours */
        unsigned char *sig = NULL;
        size_t siglen = 0;
        char *h = NULL, *c = NULL, *input = NULL, *s = NULL;
        int rc = -1;

        *jwt = NULL;
        if (key == NULL || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
                *cause = xstrdup("the private key is not an RSA key");
                goto out;
        }
        h = oauth2_b64url((const unsigned char *)header, strlen(header));
        c = oauth2_b64url((const unsigned char *)claims, strlen(claims));
        xasprintf(&input, "%s.%s", h, c);
        md = EVP_MD_CTX_new();
        if (md == NULL ||
            EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
            (alg == OAUTH2_PS256 &&
             (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
                  1)) ||
            EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input,
                           strlen(input)) != 1) {
                *cause = xstrdup("cannot sign with the private key");
                goto out;
        }
        sig = xmalloc(siglen);
        if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input,
                           strlen(input)) != 1) {
                *cause = xstrdup("cannot sign with the private key");
                goto out;
        }
        s = oauth2_b64url(sig, siglen);
        xasprintf(jwt, "%s.%s", input, s);
        rc = 0;
out:
        ERR_clear_error();
        EVP_MD_CTX_free(md);
        free(sig);
        free(h);
        free(c);
        free(input);
        free(s);
        return rc;
}

/* The first line of `s`, at most DESCRIPTION_MAX characters, printable. */
static char *
first_line(const char *s)
{
        size_t n = strcspn(s, "\r\n");
        char *out = xstrndup(s, n > DESCRIPTION_MAX ? DESCRIPTION_MAX : n);

        for (char *p = out; *p != '\0'; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
        }
        return out;
}

int
oauth2_parse_reply(long status, const char *body, size_t len,
                   struct oauth2_reply *out, char **cause)
{
        json_t *root = NULL, *tok, *exp, *type;
        const char *error, *desc;
        char *d = NULL;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (body != NULL && len > 0)
                root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        error = json_string_value(json_object_get(root, "error"));
        desc = json_string_value(json_object_get(root, "error_description"));
        if (error != NULL) {
                if (desc != NULL)
                        d = first_line(desc);
                xasprintf(cause, "token endpoint said %s%s%s (HTTP %ld)", error,
                          d != NULL ? ": " : "", d != NULL ? d : "", status);
                goto out;
        }
        if (status != 200) {
                xasprintf(cause, "token endpoint answered HTTP %ld", status);
                goto out;
        }
        tok = json_object_get(root, "access_token");
        exp = json_object_get(root, "expires_in");
        type = json_object_get(root, "token_type");
        if (!json_is_string(tok) || json_string_length(tok) == 0) {
                *cause = xstrdup("token endpoint's answer has no "
                                 "access_token");
                goto out;
        }
        if (type != NULL && (!json_is_string(type) ||
                             strcasecmp(json_string_value(type), "Bearer"))) {
                *cause = xstrdup("token endpoint's answer is not a Bearer "
                                 "token");
                goto out;
        }
        /* Entra's v1 endpoint wrote it as a string. */
        if (json_is_integer(exp))
                out->expires_in = (long)json_integer_value(exp);
        else if (json_is_string(exp))
                out->expires_in = strtol(json_string_value(exp), NULL, 10);
        if (out->expires_in <= 0) {
                *cause = xstrdup("token endpoint's answer has no valid "
                                 "expires_in");
                goto out;
        }
        /* Nothing else of the JSON is kept: wipe it below. */
        out->token = xstrdup(json_string_value(tok));
        rc = 0;
out:
        if (json_is_string(json_object_get(root, "access_token")))
                sodium_memzero(
                    (char *)json_string_value(
                        json_object_get(root, "access_token")),
                    json_string_length(json_object_get(root, "access_token")));
        json_decref(root);
        free(d);
        return rc;
}

void
oauth2_reply_clear(struct oauth2_reply *r)
{
        oauth2_wipe(r->token);
        r->token = NULL;
        r->expires_in = 0;
}

int64_t
oauth2_renew_at(int64_t now_ms, long expires_in)
{
        return now_ms + (int64_t)expires_in * 800;
}

enum oauth2_step
oauth2_step(const struct oauth2_clock *c, int64_t now_ms)
{
        bool may_ask = !c->asking &&
                       (!c->failed || now_ms >= c->retry_ms || c->cred_changed);

        if (c->token && now_ms < c->expires_ms)
                return now_ms >= c->renew_ms && may_ask ? OAUTH2_RENEW
                                                        : OAUTH2_USE;
        if (c->asking)
                return OAUTH2_WAIT;
        return may_ask ? OAUTH2_ASK : OAUTH2_HOLD;
}

long
oauth2_request_ms(long timeout_ms, bool renewal, int64_t now_ms,
                  int64_t expires_ms)
{
        int64_t bound = REQUEST_MAX_MS;

        if (renewal && expires_ms - now_ms > bound)
                bound = expires_ms - now_ms;
        return bound < timeout_ms ? (long)bound : timeout_ms;
}

/* --- The token ------------------------------------------------------- */

struct oauth2 {
        int refs;
        enum oauth2_provider provider;
        long timeout_ms;
        struct transfer_pool *xfers; /* where the token requests run */
        char *dir;                   /* the config's, for secret files */
        char *client_id, *secret_file, *cert_file, *key_file, *sa_file;
        char *token_url, *scope, *sender;
        char *token; /* sodium_malloc'd; NULL: none held */
        unsigned gen;
        int64_t renew_ms, expires_ms;
        char *problem;            /* the last failure, as logged; NULL: none */
        int64_t retry_ms;         /* no request before then after a failure, */
        struct secret_stamp cred; /* unless the credential file changed */
        int64_t backoff_ms;
        /* The token request under way (easy not NULL), and what it uses
         * until it ends: its form is wiped then, as is its answer. */
        CURL *easy;
        struct curl_slist *hdrs;
        char *form;
        struct transfer_buf answer;
        int64_t asked_ms; /* when it was sent: the token's life starts */
};

struct oauth2 *
oauth2_new(const struct conf *conf, long timeout_ms,
           struct transfer_pool *xfers)
{
        const struct conf_oauth2 *c = &conf->email.oauth2;
        struct oauth2 *o;

        if (!conf->email.present || c->provider == OAUTH2_NONE)
                return NULL;
        o = xcalloc(1, sizeof(*o));
        o->refs = 1;
        o->provider = c->provider;
        o->timeout_ms = timeout_ms;
        o->xfers = xfers;
        o->dir = xstrdup(conf->dir);
        o->client_id = xstrdup(c->client_id);
        o->secret_file = xstrdup(c->client_secret_file);
        o->cert_file = xstrdup(c->certificate_file);
        o->key_file = xstrdup(c->private_key_file);
        o->sa_file = xstrdup(c->service_account_file);
        o->sender = email_from_address(conf->email.from);
        if (c->token_url[0] != '\0')
                o->token_url = xstrdup(c->token_url);
        else if (c->provider == OAUTH2_MICROSOFT)
                xasprintf(&o->token_url, MS_LOGIN "/%s/oauth2/v2.0/token",
                          c->tenant);
        /* google without token_url: the key's token_uri, read at use. */
        if (c->scope[0] != '\0')
                o->scope = xstrdup(c->scope);
        else if (c->provider == OAUTH2_GOOGLE)
                o->scope = xstrdup(GOOGLE_SCOPE);
        else
                o->scope = xstrdup(
                    conf->email.transport == EMAIL_TRANSPORT_GRAPH ? MS_GRAPH
                                                                   : MS_SMTP);
        return o;
}

struct oauth2 *
oauth2_hold(struct oauth2 *o)
{
        if (o != NULL)
                o->refs++;
        return o;
}

static void
drop_token(struct oauth2 *o)
{
        if (o->token != NULL)
                sodium_free(o->token); /* wipes it */
        o->token = NULL;
}

void
oauth2_destroy(struct oauth2 **op)
{
        struct oauth2 *o = *op;

        *op = NULL;
        if (o == NULL || --o->refs > 0)
                return;
        drop_token(o);
        free(o->dir);
        free(o->client_id);
        free(o->secret_file);
        free(o->cert_file);
        free(o->key_file);
        free(o->sa_file);
        free(o->token_url);
        free(o->scope);
        free(o->sender);
        free(o->problem);
        free(o);
}

const char *
oauth2_provider_name(const struct oauth2 *o)
{
        switch (o->provider) {
        case OAUTH2_MICROSOFT:
                return "microsoft";
        case OAUTH2_GOOGLE:
                return "google";
        case OAUTH2_GENERIC:
        case OAUTH2_NONE:
                break;
        }
        return "generic";
}

/* A secret file of the group, as secret files are read; "setting" names
 * it in a cause. */
static char *
read_secret(const struct oauth2 *o, const char *setting, const char *name,
            enum secret_kind kind, char **cause)
{
        char *path = secret_path(o->dir, name), *value = NULL, *why = NULL;

        if (secret_load(path, secret_is_credential(path), kind, &value, NULL,
                        &why) < 0) {
                xasprintf(cause, "email.oauth2.%s '%s' %s", setting, name, why);
                value = NULL;
        }
        free(why);
        free(path);
        return value;
}

/* A PEM private key from its text; NULL with *cause. */
static EVP_PKEY *
parse_key(const char *pem, const char *what, char **cause)
{
        BIO *b = BIO_new_mem_buf(pem, -1);
        EVP_PKEY *k =
            b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

        BIO_free(b);
        ERR_clear_error();
        if (k == NULL)
                xasprintf(cause, "%s holds no PEM private key", what);
        return k;
}

/*
 * "x5t#S256": the base64url SHA-256 of the certificate's DER form, once
 * the private key `pem` is known to be its RSA key: a mismatch is told
 * here, not by the token endpoint's opaque refusal.
 */
static char *
cert_thumbprint(const struct oauth2 *o, const char *pem, char **cause)
{
        char *path = secret_path(o->dir, o->cert_file), *out = NULL;
        char *why = NULL;
        unsigned char md[CERT_SHA256_LEN];
        struct cert *c = cert_load(path, &why);

        if (c == NULL)
                xasprintf(cause, "email.oauth2.certificate_file '%s': %s",
                          o->cert_file, why);
        else if (cert_key_check(c, pem, &why) < 0)
                xasprintf(cause, "email.oauth2.private_key_file '%s': %s",
                          o->key_file, why);
        else if (cert_sha256(c, md) < 0)
                *cause = xstrdup("cannot hash the certificate");
        else
                out = oauth2_b64url(md, sizeof(md));
        cert_destroy(&c);
        free(why);
        free(path);
        return out;
}

/* A JWT with `claims` and header fields `hdr`, signed by the PEM key. */
static char *
signed_jwt(enum oauth2_alg alg, json_t *hdr, json_t *claims, const char *pem,
           const char *what, char **cause)
{
        EVP_PKEY *key = parse_key(pem, what, cause);
        char *h = NULL, *c = NULL, *jwt = NULL, *why = NULL;

        if (key == NULL)
                goto out;
        json_object_set_new(
            hdr, "alg", json_string(alg == OAUTH2_PS256 ? "PS256" : "RS256"));
        json_object_set_new(hdr, "typ", json_string("JWT"));
        h = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
        c = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
        if (oauth2_jwt_sign(key, alg, h, c, &jwt, &why) < 0) {
                xasprintf(cause, "%s: %s", what, why);
                jwt = NULL;
        }
out:
        EVP_PKEY_free(key);
        free(h);
        free(c);
        free(why);
        return jwt;
}

/*
 * The form of a client-credentials request (microsoft, generic): with the
 * secret, or with an assertion signed by the certificate's key.
 */
static char *
client_credentials(const struct oauth2 *o, int64_t now, char **cause)
{
        char *secret = NULL, *pem = NULL, *x5t = NULL, *jwt = NULL;
        char *form = NULL;
        unsigned char jti[16];
        char jtihex[33];
        json_t *hdr = NULL, *claims = NULL;

        if (o->secret_file[0] != '\0') {
                secret = read_secret(o, "client_secret_file", o->secret_file,
                                     SECRET_PASSWORD, cause);
                if (secret == NULL)
                        goto out;
                form = oauth2_form((const struct oauth2_field[]){
                    { "grant_type", "client_credentials" },
                    { "client_id", o->client_id },
                    { "client_secret", secret },
                    { "scope", o->scope },
                    { NULL, NULL } });
                goto out;
        }
        pem = read_secret(o, "private_key_file", o->key_file, SECRET_DOCUMENT,
                          cause);
        if (pem == NULL || (x5t = cert_thumbprint(o, pem, cause)) == NULL)
                goto out;
        randombytes_buf(jti, sizeof(jti));
        sodium_bin2hex(jtihex, sizeof(jtihex), jti, sizeof(jti));
        hdr = json_pack("{s:s}", "x5t#S256", x5t);
        claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "aud",
                           o->token_url, "iss", o->client_id, "sub",
                           o->client_id, "jti", jtihex, "nbf", (json_int_t)now,
                           "iat", (json_int_t)now, "exp",
                           (json_int_t)(now + ASSERTION_LIFE));
        jwt = signed_jwt(OAUTH2_PS256, hdr, claims, pem,
                         "email.oauth2.private_key_file", cause);
        if (jwt == NULL)
                goto out;
        form = oauth2_form((const struct oauth2_field[]){
            { "grant_type", "client_credentials" },
            { "client_id", o->client_id },
            { "scope", o->scope },
            { "client_assertion_type", ASSERTION_TYPE },
            { "client_assertion", jwt },
            { NULL, NULL } });
out:
        json_decref(hdr);
        json_decref(claims);
        oauth2_wipe(secret);
        oauth2_wipe(pem);
        oauth2_wipe(jwt);
        free(x5t);
        return form;
}

/*
 * The form of Google's JWT bearer grant, from the service account key;
 * *url is the token URL (token_url, else the key's token_uri).
 */
static char *
google_grant(const struct oauth2 *o, int64_t now, char **url, char **cause)
{
        char *doc = NULL, *jwt = NULL, *form = NULL;
        const char *email, *pem, *kid, *uri;
        json_t *key = NULL, *hdr = NULL, *claims = NULL;

        doc = read_secret(o, "service_account_file", o->sa_file,
                          SECRET_DOCUMENT, cause);
        if (doc == NULL)
                goto out;
        key = json_loads(doc, 0, NULL);
        email = json_string_value(json_object_get(key, "client_email"));
        pem = json_string_value(json_object_get(key, "private_key"));
        kid = json_string_value(json_object_get(key, "private_key_id"));
        uri = json_string_value(json_object_get(key, "token_uri"));
        if (email == NULL || pem == NULL) {
                xasprintf(cause,
                          "email.oauth2.service_account_file '%s' is not a "
                          "service account key (JSON with client_email and "
                          "private_key)",
                          o->sa_file);
                goto out;
        }
        *url = xstrdup(o->token_url != NULL ? o->token_url
                       : uri != NULL        ? uri
                                            : GOOGLE_TOKEN);
        hdr = kid != NULL ? json_pack("{s:s}", "kid", kid) : json_object();
        claims =
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", email, "sub",
                      o->sender, "scope", o->scope, "aud", *url, "iat",
                      (json_int_t)now, "exp", (json_int_t)(now + GOOGLE_LIFE));
        jwt = signed_jwt(OAUTH2_RS256, hdr, claims, pem,
                         "email.oauth2.service_account_file", cause);
        if (jwt == NULL)
                goto out;
        form = oauth2_form(
            (const struct oauth2_field[]){ { "grant_type", JWT_BEARER },
                                           { "assertion", jwt },
                                           { NULL, NULL } });
out:
        if (key != NULL && pem != NULL)
                sodium_memzero((char *)pem, strlen(pem));
        json_decref(key);
        json_decref(hdr);
        json_decref(claims);
        oauth2_wipe(doc);
        oauth2_wipe(jwt);
        return form;
}

/* The file o proves who it is with: the secret, key or service account. */
static void
cred_stamp(const struct oauth2 *o, struct secret_stamp *st)
{
        const char *name = o->secret_file[0] != '\0' ? o->secret_file
                           : o->key_file[0] != '\0'  ? o->key_file
                                                     : o->sa_file;
        char *path = secret_path(o->dir, name);

        if (secret_stat(path, st) < 0)
                memset(st, 0, sizeof(*st));
        free(path);
}

/* The sign-in failed for `why` (taken): logged once per cause, and the
 * endpoint not asked again before a backoff. */
static void
failed(struct oauth2 *o, char *why)
{
        int64_t now_ms = os_mono_ms();

        /* A fix to the file is tried at once, not after the backoff. */
        cred_stamp(o, &o->cred);
        if (o->problem == NULL || strcmp(o->problem, why) != 0)
                log_err("email sign-in (%s) failed: %s; deliveries wait and "
                        "are tried again",
                        oauth2_provider_name(o), why);
        free(o->problem);
        o->problem = why;
        o->backoff_ms = o->backoff_ms == 0                 ? RETRY_MIN_MS
                        : 2 * o->backoff_ms > RETRY_MAX_MS ? RETRY_MAX_MS
                                                           : 2 * o->backoff_ms;
        /* From the end of the request: one that hung for its bound must
         * not be asked again at once. */
        o->retry_ms = now_ms + o->backoff_ms;
        /* A token that has not ended yet still serves. */
        if (o->token != NULL && now_ms >= o->expires_ms)
                drop_token(o);
}

/* The token the endpoint gave (r's, copied) is o's now. */
static void
got(struct oauth2 *o, const struct oauth2_reply *r)
{
        size_t n = strlen(r->token) + 1;

        drop_token(o);
        o->token = sodium_malloc(n);
        if (o->token == NULL)
                abort();
        memcpy(o->token, r->token, n);
        o->gen++;
        o->renew_ms = oauth2_renew_at(o->asked_ms, r->expires_in);
        o->expires_ms = o->asked_ms + (int64_t)r->expires_in * 1000;
        if (o->problem != NULL)
                log_info("email sign-in (%s) works again",
                         oauth2_provider_name(o));
        else
                log_info("email sign-in (%s): got a token",
                         oauth2_provider_name(o));
        free(o->problem);
        o->problem = NULL;
        o->backoff_ms = 0;
}

/* Frees what the request under way used, the secrets in it wiped. */
static void
request_clear(struct oauth2 *o)
{
        if (o->answer.p != NULL)
                sodium_memzero(o->answer.p, o->answer.len);
        free(o->answer.p);
        o->answer = (struct transfer_buf){ NULL, 0, MAX_REPLY };
        oauth2_wipe(o->form);
        o->form = NULL;
        curl_slist_free_all(o->hdrs);
        o->hdrs = NULL;
        if (o->easy != NULL)
                curl_easy_cleanup(o->easy);
        o->easy = NULL;
}

/* The token request ended (transfer_aside_done): the answer parsed. */
static void
answered(void *arg, CURL *easy, CURLcode rc)
{
        struct oauth2 *o = arg;
        struct oauth2_reply r = { NULL, 0 };
        char *why = NULL;
        long status = 0;

        if (rc == CURLE_ABORTED_BY_CALLBACK) {
                /* The pool is going: so is the worker. */
        } else if (rc != CURLE_OK) {
                xasprintf(&why, "token endpoint unreachable: %s",
                          curl_easy_strerror(rc));
        } else {
                curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
                if (oauth2_parse_reply(status, o->answer.p, o->answer.len, &r,
                                       &why) == 0)
                        got(o, &r);
        }
        request_clear(o);
        if (why != NULL)
                failed(o, why);
        oauth2_reply_clear(&r);
        oauth2_destroy(&o); /* the request's reference */
}

/*
 * The one I/O: POST o->form to `url` beside the deliveries, bounded by
 * `bound_ms`; answered() takes the answer.
 */
static int
request_start(struct oauth2 *o, const char *url, long bound_ms, char **cause)
{
        o->easy = curl_easy_init();
        if (o->easy == NULL) {
                *cause = xstrdup("cannot start a request");
                return -1;
        }
        o->hdrs =
            curl_slist_append(o->hdrs, "Content-Type: "
                                       "application/x-www-form-urlencoded");
        o->hdrs = curl_slist_append(o->hdrs, "Accept: application/json");
        curl_easy_setopt(o->easy, CURLOPT_URL, url);
        curl_easy_setopt(o->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(o->easy, CURLOPT_TIMEOUT_MS, bound_ms);
        curl_easy_setopt(o->easy, CURLOPT_HTTPHEADER, o->hdrs);
        /* Not copied by libcurl: wiped when the request ends. */
        curl_easy_setopt(o->easy, CURLOPT_POSTFIELDS, o->form);
        curl_easy_setopt(o->easy, CURLOPT_WRITEFUNCTION, transfer_write);
        curl_easy_setopt(o->easy, CURLOPT_WRITEDATA, &o->answer);
        if (transfer_aside(o->xfers, o->easy, answered, o) < 0) {
                *cause = xstrdup("cannot queue the request");
                return -1;
        }
        o->refs++; /* until answered() */
        return 0;
}

/* Asks for a token, a renewal of a token that serves or not; -1 when the
 * request cannot start (failed() has taken why). */
static int
ask(struct oauth2 *o, int64_t now_ms, bool renewal)
{
        int64_t now = (int64_t)time(NULL);
        char *url = NULL, *why = NULL;
        int rc = -1;

        o->answer = (struct transfer_buf){ NULL, 0, MAX_REPLY };
        if (o->provider == OAUTH2_GOOGLE)
                o->form = google_grant(o, now, &url, &why);
        else {
                o->form = client_credentials(o, now, &why);
                url = xstrdup(o->token_url);
        }
        if (o->form == NULL ||
            request_start(o, url,
                          oauth2_request_ms(o->timeout_ms, renewal, now_ms,
                                            o->expires_ms),
                          &why) < 0) {
                request_clear(o);
                failed(o,
                       why != NULL ? why : xstrdup("cannot ask for a token"));
                goto out;
        }
        o->asked_ms = now_ms;
        rc = 0;
out:
        free(url);
        return rc;
}

int
oauth2_token(struct oauth2 *o, int64_t now_ms, const char **token,
             unsigned *gen, char **cause)
{
        struct oauth2_clock c = {
                o->token != NULL,   o->renew_ms, o->expires_ms, o->easy != NULL,
                o->problem != NULL, o->retry_ms, false
        };
        struct secret_stamp cred;

        *token = NULL;
        *cause = NULL;
        if (c.failed && now_ms < c.retry_ms) {
                cred_stamp(o, &cred);
                c.cred_changed = !secret_stamp_equal(&cred, &o->cred);
        }
        switch (oauth2_step(&c, now_ms)) {
        case OAUTH2_RENEW:
                /* In the background: this token serves meanwhile, and
                 * after a failure until it ends. */
                ask(o, now_ms, true);
                /* FALLTHROUGH */
        case OAUTH2_USE:
                if (o->token == NULL)
                        break; /* it ended as the renewal failed */
                *token = o->token;
                if (gen != NULL)
                        *gen = o->gen;
                return 0;
        case OAUTH2_ASK:
                drop_token(o); /* one that ended */
                if (ask(o, now_ms, false) < 0)
                        break;
                return 1;
        case OAUTH2_WAIT:
                return 1;
        case OAUTH2_HOLD:
                break;
        }
        drop_token(o); /* one that ended */
        xasprintf(cause, DPROTO_SIGNIN_ERROR "%s", o->problem);
        return -1;
}

void
oauth2_refused(struct oauth2 *o, unsigned gen)
{
        if (o->gen == gen) {
                drop_token(o);
                o->retry_ms = 0; /* ask at once, even after a failure */
        }
}
