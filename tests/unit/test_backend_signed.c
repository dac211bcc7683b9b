/*
 * Unit tests for the generic, signed webhook flavour: its request, the
 * Standard Webhooks signature (recomputed here with libsodium's one-shot
 * HMAC, and the published test vector) and secret parsing.
 *
 * The job is the example in docs/dispatch.md (backend_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "backend_fixture.h"
#include "backend_int.h"
#include "secret.h"
#include "support.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- Generic, signed ---------------------------------------------------- */

/* The published Standard Webhooks test vector. */
#define VECTOR_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VECTOR_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VECTOR_TS     1614265330
#define VECTOR_BODY   "{\"test\": 2432232314}"
#define VECTOR_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void
test_signature_vector(void **state)
{
        unsigned char *key = NULL;
        size_t len = 0;
        char *cause = NULL, sig[WEBHOOK_SIG_LEN];

        (void)state;
        assert_int_equal(secret_whsec_key(VECTOR_SECRET, &key, &len, &cause),
                         0);
        assert_null(cause);
        assert_int_equal(len, 24);
        webhook_sign(key, len, VECTOR_ID, VECTOR_TS, VECTOR_BODY, sig,
                     sizeof(sig));
        assert_string_equal(sig, VECTOR_SIG);
        /* One byte of the body changed, another signature. */
        webhook_sign(key, len, VECTOR_ID, VECTOR_TS, "{\"test\": 2432232315}",
                     sig, sizeof(sig));
        assert_string_not_equal(sig, VECTOR_SIG);
        sodium_memzero(key, len);
        free(key);
}

static void
test_webhook(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body, *o;
        unsigned char raw[crypto_auth_hmacsha256_KEYBYTES], mac[64];
        char secret[128], *signed_text, *cause = NULL;
        unsigned char *key = NULL;
        size_t keylen = 0, maclen = 0;
        struct backend_input in;
        struct http_request r;
        const char *sig, *end = NULL;

        (void)state;
        assert_true(sodium_init() >= 0);
        randombytes_buf(raw, sizeof(raw));
        strcpy(secret, "whsec_");
        sodium_bin2base64(secret + 6, sizeof(secret) - 6, raw, sizeof(raw),
                          sodium_base64_VARIANT_ORIGINAL);
        strcat(secret, "\n");
        assert_int_equal(secret_whsec_key(secret, &key, &keylen, &cause), 0);
        assert_int_equal(keylen, sizeof(raw));
        assert_memory_equal(key, raw, sizeof(raw));

        backend_fx_input(&in, job, BACKEND_FX_URL);
        in.key = key;
        in.keylen = keylen;
        backend_fx_build("webhook", &in, &r);

        /* The Standard Webhooks headers. */
        assert_string_equal(backend_fx_header(&r, "webhook-id"), "3f2a9c0d5e");
        assert_string_equal(backend_fx_header(&r, "webhook-timestamp"),
                            "1709566200");
        sig = backend_fx_header(&r, "webhook-signature");
        assert_non_null(sig);
        assert_int_equal(strncmp(sig, "v1,", 3), 0);
        /* Recompute independently with the one-shot API over the exact
         * bytes sent. */
        assert_int_equal(sodium_base642bin(mac, sizeof(mac), sig + 3,
                                           strlen(sig + 3), NULL, &maclen, &end,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        assert_int_equal(*end, '\0');
        assert_int_equal(maclen, crypto_auth_hmacsha256_BYTES);
        assert_true(asprintf(&signed_text, "3f2a9c0d5e.1709566200.%s", r.body) >
                    0);
        assert_int_equal(crypto_auth_hmacsha256_verify(
                             mac, (const unsigned char *)signed_text,
                             strlen(signed_text), raw),
                         0);
        /* A body changed in transit no longer verifies. */
        signed_text[strlen(signed_text) - 2] ^= 1;
        assert_int_not_equal(crypto_auth_hmacsha256_verify(
                                 mac, (const unsigned char *)signed_text,
                                 strlen(signed_text), raw),
                             0);
        free(signed_text);

        body = support_json(r.body);
        backend_fx_assert_str(body, "type", "ofsted_notify.alert");
        backend_fx_assert_str(body, "timestamp", "2024-03-04T15:30:00+00:00");
        backend_fx_assert_str(body, "delivery", "3f2a9c0d5e");
        assert_int_equal(json_integer_value(json_object_get(body, "attempt")),
                         2);
        backend_fx_assert_str(body, "trust", "Example Learning Trust");
        o = json_object_get(body, "school");
        backend_fx_assert_str(o, "urn", "100001");
        backend_fx_assert_str(o, "name", "Oak Primary");
        backend_fx_assert_str(body, "rule", "deferral_cutoff");
        backend_fx_assert_str(body, "offset", "-60m");
        assert_true(json_is_false(json_object_get(body, "late")));
        backend_fx_assert_str(
            body, "action",
            "If you need to ask for a deferral, ask before 16:30.");
        backend_fx_assert_str(body, "contact",
                              "Senior Ofsted leader: 0300 123 4231");
        o = json_object_get(body, "deadline");
        backend_fx_assert_str(o, "local", "2024-03-04T16:30:00+00:00");
        backend_fx_assert_str(o, "utc", "2024-03-04T16:30:00Z");
        backend_fx_assert_str(o, "human", "Mon 4 Mar 2024 16:30 GMT");
        assert_true(json_is_null(json_object_get(body, "opens")));
        assert_true(json_is_null(json_object_get(body, "warning")));
        backend_fx_assert_str(body, "title", BACKEND_FX_TITLE);
        backend_fx_assert_str(body, "text", BACKEND_FX_TEXT);
        json_decref(body);
        http_request_free(&r);

        /* A window: opens with its UTC instant worked out (08:00 BST is
         * 07:00Z); a warning; late. */
        backend_fx_set_alert(job, "opens", "2024-04-02T08:00:00+01:00");
        backend_fx_set_alert(job, "opens_human", "Tue 2 Apr 2024 08:00 BST");
        backend_fx_set_alert(job, "warning",
                             "the bank holiday data ends in 2028");
        json_object_set_new(backend_fx_alert_of(job), "late", json_true());
        in.now = BACKEND_FX_NOW + 60;
        backend_fx_build("webhook", &in, &r);
        assert_string_equal(backend_fx_header(&r, "webhook-timestamp"),
                            "1709566260");
        body = support_json(r.body);
        o = json_object_get(body, "opens");
        backend_fx_assert_str(o, "local", "2024-04-02T08:00:00+01:00");
        backend_fx_assert_str(o, "utc", "2024-04-02T07:00:00Z");
        backend_fx_assert_str(o, "human", "Tue 2 Apr 2024 08:00 BST");
        backend_fx_assert_str(body, "warning",
                              "the bank holiday data ends in 2028");
        assert_true(json_is_true(json_object_get(body, "late")));
        json_decref(body);
        http_request_free(&r);

        /* No secret: the id and timestamp, no signature. */
        in.key = NULL;
        in.keylen = 0;
        backend_fx_build("webhook", &in, &r);
        assert_non_null(backend_fx_header(&r, "webhook-id"));
        assert_non_null(backend_fx_header(&r, "webhook-timestamp"));
        assert_null(backend_fx_header(&r, "webhook-signature"));
        http_request_free(&r);

        sodium_memzero(key, keylen);
        free(key);
        json_decref(job);
}

static void
check_secret_bad(const char *text, const char *want)
{
        unsigned char *key = (unsigned char *)"not touched";
        size_t len = 99;
        char *cause = NULL;

        assert_int_equal(secret_whsec_key(text, &key, &len, &cause), -1);
        assert_null(key);
        assert_int_equal(len, 0);
        assert_non_null(cause);
        if (strstr(cause, want) == NULL)
                fail_msg("cause '%s' lacks '%s'", cause, want);
        /* The secret is never quoted back. */
        if (text != NULL && strlen(text) > 8)
                assert_null(strstr(cause, text + 6));
        free(cause);
}

static void
test_secret(void **state)
{
        unsigned char *key = NULL;
        size_t len = 0;
        char *cause = NULL;

        (void)state;
        /* Whitespace around it (a file's newline) is ignored. */
        assert_int_equal(
            secret_whsec_key(" \t" VECTOR_SECRET "\r\n", &key, &len, &cause),
            0);
        assert_int_equal(len, 24);
        /* MfKQ decodes to 0x31 0xf2 0x90 (by hand: M=12 f=31 K=10 Q=16). */
        assert_int_equal(key[0], 0x31);
        assert_int_equal(key[1], 0xf2);
        assert_int_equal(key[2], 0x90);
        free(key);

        /* 32 bytes: 44 base64 characters with one '=' of padding. */
        assert_int_equal(
            secret_whsec_key(
                "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", &key,
                &len, &cause),
            0);
        assert_int_equal(len, 32);
        for (size_t i = 0; i < len; i++)
                assert_int_equal(key[i], i);
        free(key);

        check_secret_bad("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "'whsec_'");
        check_secret_bad("whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "'whsec_'");
        check_secret_bad("whsec_", "'whsec_'");
        check_secret_bad("", "'whsec_'");
        check_secret_bad(NULL, "'whsec_'");
        check_secret_bad("whsec_MfKQ9r8G!!!rTwjUPD8ILPZIo2LaLaSw", "base64");
        check_secret_bad("whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw", "base64");
        /* 16 bytes: under the spec's 24-byte minimum. */
        check_secret_bad("whsec_AAECAwQFBgcICQoLDA0ODw==", "16 bytes");
        /* 96 bytes: over its 64-byte maximum. */
        {
                char *long_key = support_repeat("AAAA", 32), *text;

                assert_true(asprintf(&text, "whsec_%s", long_key) > 0);
                check_secret_bad(text, "96 bytes");
                free(text);
                free(long_key);
                /* Far over: refused before decoding. */
                long_key = support_repeat("AAAA", 1000);
                assert_true(asprintf(&text, "whsec_%s", long_key) > 0);
                check_secret_bad(text, "over 64 bytes");
                free(text);
                free(long_key);
        }
}

UNIT_MAIN({
    cmocka_unit_test(test_signature_vector),
    cmocka_unit_test(test_webhook),
    cmocka_unit_test(test_secret),
})
