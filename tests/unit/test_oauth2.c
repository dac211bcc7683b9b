/*
 * oauth2's pure parts: the form body, the JWT and its RS256 signature
 * (checked with OpenSSL's verify against a key made here), the token
 * endpoint's answers (Entra's error JSON as Entra writes it), the
 * renewal time, what a job does with the token at a moment and how long
 * a token request may take; and Graph's answers (graph.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "graph.h"
#include "oauth2.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void
test_form(void **state)
{
        char *f;

        (void)state;
        f = oauth2_form((const struct oauth2_field[]){
            { "grant_type", "client_credentials" },
            { "client_secret", "a+b/c=d&e f~" },
            { "scope", "https://outlook.office365.com/.default" },
            { NULL, NULL } });
        assert_string_equal(f, "grant_type=client_credentials"
                               "&client_secret=a%2Bb%2Fc%3Dd%26e%20f~"
                               "&scope=https%3A%2F%2Foutlook.office365.com"
                               "%2F.default");
        oauth2_wipe(f);
}

/* The part of a JWT between dots `i`, decoded from base64url. */
static char *
jwt_part(const char *jwt, int i)
{
        const char *a = jwt, *z;
        unsigned char *out = calloc(1, 4096);
        size_t len = 0;

        for (int k = 0; k < i; k++)
                a = strchr(a, '.') + 1;
        z = strchr(a, '.');
        if (z == NULL)
                z = a + strlen(a);
        assert_int_equal(
            sodium_base642bin(out, 4095, a, (size_t)(z - a), NULL, &len, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
        out[len] = '\0';
        return (char *)out;
}

/*
 * Whether `sig` is `alg`'s signature of `input` by `key`, checked with
 * OpenSSL's verifier set up here, apart from the signer.
 */
static bool
verifies(EVP_PKEY *key, enum oauth2_alg alg, const char *input,
         const unsigned char *sig, size_t siglen)
{
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        bool ok;

        assert_non_null(md);
        assert_int_equal(
            EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key), 1);
        if (alg == OAUTH2_PS256) {
                assert_int_equal(
                    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING),
                    1);
                assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
        }
        ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input,
                              strlen(input)) == 1;
        EVP_MD_CTX_free(md);
        return ok;
}

/*
 * RS256 (Google) and PS256 (Entra ID): the header and claims as given,
 * and a signature that verifies with the public key under that padding
 * only, and not over changed claims.
 */
static void
test_jwt_sign(void **state)
{
        static const struct {
                enum oauth2_alg alg, other;
                const char *hdr;
        } rows[] = {
                { OAUTH2_RS256, OAUTH2_PS256,
                  "{\"alg\":\"RS256\",\"typ\":\"JWT\"}" },
                { OAUTH2_PS256, OAUTH2_RS256,
                  "{\"alg\":\"PS256\",\"typ\":\"JWT\"}" },
        };
        EVP_PKEY *key = EVP_RSA_gen(2048);
        const char *claims = "{\"aud\":\"https://login.example/t\"}";

        (void)state;
        assert_non_null(key);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                unsigned char sig[512];
                char *jwt = NULL, *cause = NULL, *h, *c, *input;
                size_t siglen = 0;
                const char *dot;

                assert_int_equal(oauth2_jwt_sign(key, rows[i].alg, rows[i].hdr,
                                                 claims, &jwt, &cause),
                                 0);
                h = jwt_part(jwt, 0);
                c = jwt_part(jwt, 1);
                assert_string_equal(h, rows[i].hdr);
                assert_string_equal(c, claims);
                dot = strrchr(jwt, '.');
                input = strndup(jwt, (size_t)(dot - jwt));
                assert_int_equal(
                    sodium_base642bin(sig, sizeof(sig), dot + 1,
                                      strlen(dot + 1), NULL, &siglen, NULL,
                                      sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                    0);
                assert_int_equal(siglen, 256);
                if (!verifies(key, rows[i].alg, input, sig, siglen))
                        fail_msg("row %zu: the signature does not verify", i);
                if (verifies(key, rows[i].other, input, sig, siglen))
                        fail_msg("row %zu: verifies under the other padding",
                                 i);
                input[strlen(input) - 1] ^= 1;
                if (verifies(key, rows[i].alg, input, sig, siglen))
                        fail_msg("row %zu: verifies over changed claims", i);
                free(input);
                free(h);
                free(c);
                oauth2_wipe(jwt);
        }
        EVP_PKEY_free(key);
}

static void
test_reply_token(void **state)
{
        const char *ok = "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
                         "\"ext_expires_in\":3599,\"access_token\":\"eyJ0.x\"}";
        struct oauth2_reply r;
        char *cause = NULL;

        (void)state;
        assert_int_equal(oauth2_parse_reply(200, ok, strlen(ok), &r, &cause),
                         0);
        assert_string_equal(r.token, "eyJ0.x");
        assert_int_equal(r.expires_in, 3599);
        oauth2_reply_clear(&r);
        assert_null(r.token);
}

static void
test_reply_entra_error(void **state)
{
        const char *e =
            "{\"error\":\"invalid_client\",\"error_description\":"
            "\"AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: "
            "0a1b\\r\\nCorrelation ID: 2c3d\\r\\nTimestamp: 2026-12-07 "
            "10:00:00Z\",\"error_codes\":[7000215],\"timestamp\":\"2026-12-07 "
            "10:00:00Z\",\"trace_id\":\"0a1b\",\"correlation_id\":\"2c3d\"}";
        const char *mac = "{\"token_type\":\"mac\",\"expires_in\":9,"
                          "\"access_token\":\"t\"}";
        struct oauth2_reply r;
        char *cause = NULL;

        (void)state;
        assert_int_equal(oauth2_parse_reply(401, e, strlen(e), &r, &cause), -1);
        assert_string_equal(cause, "token endpoint said invalid_client: "
                                   "AADSTS7000215: Invalid client secret "
                                   "provided. (HTTP 401)");
        assert_null(r.token);
        free(cause);
        cause = NULL;
        /* A proxy's HTML page: only its status. */
        assert_int_equal(oauth2_parse_reply(502, "<html>", 6, &r, &cause), -1);
        assert_string_equal(cause, "token endpoint answered HTTP 502");
        free(cause);
        cause = NULL;
        /* 200 without a token, or not a Bearer one. */
        assert_int_equal(oauth2_parse_reply(200, "{}", 2, &r, &cause), -1);
        assert_non_null(strstr(cause, "no access_token"));
        free(cause);
        cause = NULL;
        assert_int_equal(oauth2_parse_reply(200, mac, strlen(mac), &r, &cause),
                         -1);
        assert_non_null(strstr(cause, "not a Bearer"));
        free(cause);
}

static void
test_renew_at(void **state)
{
        (void)state;
        /* 80% of the life: an hour's token at 48 minutes. */
        assert_int_equal(oauth2_renew_at(1000, 3600), 1000 + 2880000);
        assert_int_equal(oauth2_renew_at(0, 3), 2400);
}

/*
 * What a job does, by a table: a token held renews at 1000 and ends at
 * 2000 (or none); a request under way or not; a failure whose backoff
 * ends at 1500, with the credential file changed or not.
 */
static void
test_step(void **state)
{
        static const struct {
                const char *what;
                bool token, asking, failed, changed;
                int64_t now;
                enum oauth2_step want;
        } rows[] = {
                { "none yet", false, false, false, false, 0, OAUTH2_ASK },
                { "none, one asked", false, true, false, false, 0,
                  OAUTH2_WAIT },
                { "fresh", true, false, false, false, 999, OAUTH2_USE },
                { "at its renewal", true, false, false, false, 1000,
                  OAUTH2_RENEW },
                { "renewing", true, true, false, false, 1500, OAUTH2_USE },
                { "last instant", true, false, false, false, 1999,
                  OAUTH2_RENEW },
                { "ended", true, false, false, false, 2000, OAUTH2_ASK },
                { "ended, renewing", true, true, false, false, 2000,
                  OAUTH2_WAIT },
                /* A renewal failed: the token serves until it ends. */
                { "renewal failed", true, false, true, false, 1200,
                  OAUTH2_USE },
                { "renewal failed, backoff over", true, false, true, false,
                  1500, OAUTH2_RENEW },
                { "renewal failed, file changed", true, false, true, true, 1200,
                  OAUTH2_RENEW },
                { "failed, none", false, false, true, false, 1499,
                  OAUTH2_HOLD },
                { "failed, none, backoff over", false, false, true, false, 1500,
                  OAUTH2_ASK },
                { "failed, none, file changed", false, false, true, true, 1499,
                  OAUTH2_ASK },
                { "failed, asking again", false, true, true, true, 1499,
                  OAUTH2_WAIT },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                struct oauth2_clock c = { rows[i].token,  1000,           2000,
                                          rows[i].asking, rows[i].failed, 1500,
                                          rows[i].changed };
                enum oauth2_step got = oauth2_step(&c, rows[i].now);

                if (got != rows[i].want)
                        fail_msg("%s: step %d, not %d", rows[i].what, got,
                                 rows[i].want);
        }
}

/* How long a request may take: 4 s when jobs wait, until the token's end
 * for a renewal, never past the worker's timeout. */
static void
test_request_ms(void **state)
{
        (void)state;
        assert_int_equal(oauth2_request_ms(30000, false, 0, 0), 4000);
        assert_int_equal(oauth2_request_ms(3000, false, 0, 0), 3000);
        /* A renewal of an hour's token at 48 minutes: 12 minutes left. */
        assert_int_equal(oauth2_request_ms(30000, true, 2880000, 3600000),
                         30000);
        assert_int_equal(oauth2_request_ms(30000, true, 8000, 16000), 8000);
        assert_int_equal(oauth2_request_ms(30000, true, 8000, 10000), 4000);
        assert_int_equal(oauth2_request_ms(3000, true, 8000, 16000), 3000);
}

static void
test_graph_answers(void **state)
{
        const char *denied = "{\"error\":{\"code\":\"ErrorAccessDenied\","
                             "\"message\":\"Access is denied.\"}}";
        struct http_response r = { 202, NULL, 0, -1, NULL };
        long ra;
        char *error = NULL;

        (void)state;
        assert_int_equal(graph_classify(&r, &ra, &error), OUTCOME_DELIVERED);
        r = (struct http_response){ 429, NULL, 0, 7, NULL };
        assert_int_equal(graph_classify(&r, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 7);
        free(error);
        r = (struct http_response){ 403, denied, strlen(denied), -1, NULL };
        assert_int_equal(graph_classify(&r, &ra, &error), OUTCOME_FAILED);
        assert_string_equal(error,
                            "Graph 403: ErrorAccessDenied: Access is denied.");
        free(error);
        r = (struct http_response){ 0, NULL, 0, -1, "Timeout was reached" };
        assert_int_equal(graph_classify(&r, &ra, &error), OUTCOME_RETRY);
        free(error);
        error = graph_send_url("https://graph.microsoft.com/v1.0",
                               "alerts@trust.example");
        assert_string_equal(error, "https://graph.microsoft.com/v1.0/users/"
                                   "alerts%40trust.example/sendMail");
        free(error);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_form),
                cmocka_unit_test(test_jwt_sign),
                cmocka_unit_test(test_reply_token),
                cmocka_unit_test(test_reply_entra_error),
                cmocka_unit_test(test_renew_at),
                cmocka_unit_test(test_step),
                cmocka_unit_test(test_request_ms),
                cmocka_unit_test(test_graph_answers),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
