/*
 * The generic webhook: the alert as JSON, signed per Standard Webhooks
 * (https://www.standardwebhooks.com). Headers webhook-id (the delivery id,
 * the same on every attempt), webhook-timestamp (this attempt, Unix
 * seconds) and, when the channel has a secret, webhook-signature:
 * "v1," and the base64 (original alphabet, padded) HMAC-SHA256 of
 * "<id>.<timestamp>.<body>" under the key. The body is signed exactly as
 * sent. Nothing is cut: receivers get the whole alert.
 */
#include "backend_int.h"

#include "timefmt.h"
#include "xalloc.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SIG_B64_LEN                                             \
        sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, \
                                  sodium_base64_VARIANT_ORIGINAL)

void
webhook_sign(const unsigned char *key, size_t keylen, const char *id,
             int64_t timestamp, const char *body, char *sig, size_t siglen)
{
        crypto_auth_hmacsha256_state st;
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        char ts[24], b64[SIG_B64_LEN];

        snprintf(ts, sizeof(ts), "%" PRId64, timestamp);
        crypto_auth_hmacsha256_init(&st, key, keylen);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)id,
                                      strlen(id));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts,
                                      strlen(ts));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body,
                                      strlen(body));
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(sig, siglen, "v1,%s", b64);
        sodium_memzero(&st, sizeof(st));
        sodium_memzero(mac, sizeof(mac));
}

/* {"local", "utc", "human"} for an RFC 3339 time with an offset. */
static json_t *
when(const char *local, const char *utc, const char *human)
{
        json_t *o = json_object();
        char buf[TIMEFMT_LEN];

        if (utc == NULL) {
                size_t n = strlen(local);
                char *cause = NULL;
                int64_t t;

                /* Only with an offset (or Z): no zone is at hand here. */
                buf[0] = '\0';
                if (n > 19 && timefmt_parse(NULL, local, &t, NULL, &cause) == 0)
                        timefmt_rfc3339_utc(t, buf, sizeof(buf));
                free(cause);
                utc = buf;
        }
        jset(o, "local", jstr(local));
        jset(o, "utc", utc[0] != '\0' ? jstr(utc) : json_null());
        jset(o, "human", jstr(human));
        return o;
}

static json_t *
nullable(const char *s)
{
        return s[0] != '\0' ? jstr(s) : json_null();
}

static json_t *
webhook_body(const struct job_view *j)
{
        json_t *body = json_object(), *school = json_object();

        jset(school, "urn", jstr(j->urn));
        jset(school, "name", jstr(j->school));
        jset(body, "type", json_string("ofsted_notify.alert"));
        jset(body, "timestamp", nullable(j->at));
        jset(body, "delivery", jstr(j->delivery));
        jset(body, "attempt", json_integer(j->attempt));
        jset(body, "trust", jstr(j->trust));
        jset(body, "school", school);
        jset(body, "rule", jstr(j->rule));
        jset(body, "offset", jstr(j->offset));
        jset(body, "late", json_boolean(j->late));
        jset(body, "action", jstr(j->action));
        jset(body, "contact", nullable(j->contact));
        jset(body, "deadline", when(j->due, j->due_utc, j->due_human));
        jset(body, "opens",
             j->opens[0] != '\0' ? when(j->opens, NULL, j->opens_human)
                                 : json_null());
        jset(body, "warning", nullable(j->warning));
        jset(body, "ack_url", nullable(j->ack_url));
        jset(body, "escalation",
             json_is_object(json_object_get(j->alert, "escalation"))
                 ? json_deep_copy(json_object_get(j->alert, "escalation"))
                 : json_null());
        jset(body, "title", jstr(j->title));
        jset(body, "text", jstr(j->text));
        return body;
}

static int
webhook_build(const struct backend_input *in, struct http_request *out,
              char **cause)
{
        struct job_view j;
        char *title = NULL, *text = NULL;
        char ts[24], sig[WEBHOOK_SIG_LEN];
        json_t *body = NULL;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (backend_job(in, &j, &title, &text, cause) < 0)
                goto out;
        if (in->key != NULL && sodium_init() < 0) {
                *cause = xstrdup("libsodium cannot be initialised");
                goto out;
        }
        body = webhook_body(&j);
        if (backend_request(out, in->url, body, j.delivery, cause) < 0)
                goto out;
        snprintf(ts, sizeof(ts), "%" PRId64, in->now);
        backend_add_header(out, "webhook-id", j.delivery);
        backend_add_header(out, "webhook-timestamp", ts);
        if (in->key != NULL) {
                webhook_sign(in->key, in->keylen, j.delivery, in->now,
                             out->body, sig, sizeof(sig));
                backend_add_header(out, "webhook-signature", sig);
        }
        rc = 0;
out:
        json_decref(body);
        free(title);
        free(text);
        return rc;
}

const struct backend_ops backend_webhook = {
        .type = "webhook",
        .build = webhook_build,
        .classify = backend_classify_http,
};
