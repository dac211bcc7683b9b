/*
 * Unit tests for what the webhook backends share: the table of flavours,
 * the request every flavour builds from a job (headers, URL, JSON body),
 * bad input, the default templates, the classification of every status and
 * of no response at all, Discord's 429 and the text helpers.
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
#include "support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Builds with `type`, which must fail with `want` in the cause. */
static void
build_fails(const char *type, const struct backend_input *in, const char *want)
{
        struct http_request r;
        char *cause = NULL;

        assert_int_equal(backend_find(type)->build(in, &r, &cause), -1);
        assert_non_null(cause);
        if (strstr(cause, want) == NULL)
                fail_msg("cause '%s' lacks '%s'", cause, want);
        /* The URL is a secret: never in a message. */
        assert_null(strstr(cause, "hooks.example"));
        assert_null(r.body);
        assert_null(r.url);
        free(cause);
}

/* --- The table and the common request ----------------------------------- */

/* The six chat and webhook types, each tested alike. */
static const char *const types[] = { "teams",   "google_chat", "slack",
                                     "discord", "mattermost",  "webhook" };

#define NTYPES (sizeof(types) / sizeof(types[0]))

static void
test_find(void **state)
{
        (void)state;
        for (size_t i = 0; i < NTYPES; i++) {
                const struct backend_ops *ops = backend_find(types[i]);

                assert_non_null(ops);
                assert_string_equal(ops->type, types[i]);
                assert_non_null(ops->build);
                assert_non_null(ops->classify);
        }
        assert_null(backend_find("email"));
        assert_null(backend_find("Teams"));
        assert_null(backend_find(""));
        assert_null(backend_find(NULL));
        assert_string_equal(outcome_name(OUTCOME_DELIVERED), "delivered");
        assert_string_equal(outcome_name(OUTCOME_RETRY), "retry");
        assert_string_equal(outcome_name(OUTCOME_FAILED), "failed");
}

/* Every flavour: the common headers, the URL, and a JSON body. */
static void
test_common_request(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB);

        (void)state;
        for (size_t i = 0; i < NTYPES; i++) {
                struct backend_input in;
                struct http_request r;
                json_t *body;

                /* A url_file's trailing newline is not part of the URL. */
                backend_fx_input(&in, job, "  " BACKEND_FX_URL "\n");
                backend_fx_build(types[i], &in, &r);
                assert_string_equal(backend_fx_header(&r, "Content-Type"),
                                    "application/json");
                assert_string_equal(backend_fx_header(&r, "Idempotency-Key"),
                                    "3f2a9c0d5e");
                assert_string_equal(backend_fx_header(&r, "User-Agent"),
                                    "ofsted-notify/" PROJECT_VERSION);
                if (strcmp(types[i], "discord") == 0)
                        assert_string_equal(r.url, BACKEND_FX_URL "?wait=true");
                else
                        assert_string_equal(r.url, BACKEND_FX_URL);
                body = support_json(r.body);
                assert_true(json_is_object(body));
                /* Compact: no pretty-printing newlines in the body. */
                assert_null(strchr(r.body, '\n'));
                json_decref(body);
                http_request_free(&r);
                assert_null(r.body);
                assert_int_equal(r.nheaders, 0);
        }
        http_request_free(NULL);
        json_decref(job);
}

static void
test_bad_input(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *bad;
        struct backend_input in;

        (void)state;
        backend_fx_input(&in, job, NULL);
        build_fails("slack", &in, "no webhook URL");
        backend_fx_input(&in, job, " \n");
        build_fails("teams", &in, "no webhook URL");
        backend_fx_input(&in, job, "https://hooks.example/a b");
        build_fails("discord", &in, "space or control character");
        backend_fx_input(&in, job, "https://hooks.example/a\r\nX-Injected: 1");
        build_fails("webhook", &in, "space or control character");

        /* A delivery id goes into headers and the signed string. */
        bad = support_json(BACKEND_FX_JOB);
        json_object_set_new(bad, "delivery", json_string("a.b"));
        backend_fx_input(&in, bad, BACKEND_FX_URL);
        build_fails("webhook", &in, "'delivery'");
        json_object_set_new(bad, "delivery", json_string("a\r\nX: y"));
        build_fails("teams", &in, "'delivery'");
        json_object_del(bad, "delivery");
        build_fails("slack", &in, "'delivery'");
        json_decref(bad);

        bad = support_json(BACKEND_FX_JOB);
        json_object_del(bad, "alert");
        backend_fx_input(&in, bad, BACKEND_FX_URL);
        build_fails("google_chat", &in, "'alert'");
        json_decref(bad);

        bad = support_json(BACKEND_FX_JOB);
        json_object_del(backend_fx_alert_of(bad), "due_utc");
        backend_fx_input(&in, bad, BACKEND_FX_URL);
        build_fails("discord", &in, "due_utc");
        json_decref(bad);

        backend_fx_input(&in, NULL, BACKEND_FX_URL);
        build_fails("mattermost", &in, "not a JSON object");
        json_decref(job);
}

/* No rendered title or text: the defaults are rendered from the alert. */
static void
test_default_templates(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *body;
        struct backend_input in;
        struct http_request r;

        (void)state;
        backend_fx_input(&in, job, BACKEND_FX_URL);
        in.title = in.text = NULL;
        backend_fx_build("webhook", &in, &r);
        body = support_json(r.body);
        backend_fx_assert_str(body, "title", BACKEND_FX_TITLE);
        backend_fx_assert_str(
            body, "text",
            "If you need to ask for a deferral, ask before 16:30.\n"
            "Deadline: Mon 4 Mar 2024 16:30 GMT.\n"
            "School: Oak Primary (URN 100001).\n"
            "Contact: Senior Ofsted leader: 0300 123 4231");
        json_decref(body);
        http_request_free(&r);
        json_decref(job);
}

/* --- Classification ----------------------------------------------------- */

struct class_row {
        long status;
        const char *body;
        long header_retry_after;
        enum outcome want;
        long want_retry_after;
        const char *want_error; /* exact; NULL: none */
};

static const struct class_row class_rows[] = {
        { 200, "ok", -1, OUTCOME_DELIVERED, -1, NULL },
        { 201, NULL, -1, OUTCOME_DELIVERED, -1, NULL },
        { 202, NULL, -1, OUTCOME_DELIVERED, -1, NULL }, /* Teams Workflows */
        { 204, NULL, 5, OUTCOME_DELIVERED, -1, NULL },
        { 408, NULL, -1, OUTCOME_RETRY, -1, "HTTP 408 (request timeout)" },
        { 425, NULL, -1, OUTCOME_RETRY, -1, "HTTP 425 (too early)" },
        { 429, NULL, 30, OUTCOME_RETRY, 30, "HTTP 429 (rate limited)" },
        { 500, NULL, -1, OUTCOME_RETRY, -1, "HTTP 500" },
        { 502, NULL, -1, OUTCOME_RETRY, -1, "HTTP 502" },
        { 503, NULL, 7, OUTCOME_RETRY, 7, "HTTP 503" },
        { 504, "<html>gateway</html>", -1, OUTCOME_RETRY, -1, "HTTP 504" },
        { 301, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 301 (redirect not followed: update the webhook URL)" },
        { 400, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 400 (bad request: the service refused the message)" },
        { 401, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 401 (unauthorized: check the webhook URL)" },
        { 403, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 403 (forbidden: the webhook may be disabled)" },
        { 404, NULL, 9, OUTCOME_FAILED, -1,
          "HTTP 404 (not found: the webhook may have been deleted)" },
        { 410, NULL, -1, OUTCOME_FAILED, -1,
          "HTTP 410 (gone: the webhook was removed)" },
        { 413, NULL, -1, OUTCOME_FAILED, -1, "HTTP 413 (payload too large)" },
        { 422, NULL, -1, OUTCOME_FAILED, -1, "HTTP 422" },
        /* The service's own reason: Slack's text, Discord's JSON. */
        { 400, "invalid_payload", -1, OUTCOME_FAILED, -1,
          "HTTP 400 (bad request: the service refused the message): "
          "invalid_payload" },
        { 404, "{\"message\": \"Unknown Webhook\", \"code\": 10015}", -1,
          OUTCOME_FAILED, -1,
          "HTTP 404 (not found: the webhook may have been deleted): Unknown "
          "Webhook" },
        { 400, "{\"error\": {\"code\": 400, \"message\": \"Invalid JSON\"}}",
          -1, OUTCOME_FAILED, -1,
          "HTTP 400 (bad request: the service refused the message): Invalid "
          "JSON" },
        /* ...unless it quotes a URL, which may be the secret one. */
        { 404, "no such hook https://hooks.example/webhook/abc", -1,
          OUTCOME_FAILED, -1,
          "HTTP 404 (not found: the webhook may have been deleted)" },
};

static void
check_class(const struct backend_ops *ops, const struct class_row *row)
{
        struct http_response resp = { 0 };
        long ra = 12345;
        char *error = (char *)"untouched";
        enum outcome o;

        resp.status = row->status;
        resp.body = row->body;
        resp.len = row->body != NULL ? strlen(row->body) : 0;
        resp.retry_after = row->header_retry_after;
        o = ops->classify(&resp, &ra, &error);
        if (o != row->want)
                fail_msg("%s: HTTP %ld: %s, want %s", ops->type, row->status,
                         outcome_name(o), outcome_name(row->want));
        assert_int_equal(ra, row->want_retry_after);
        if (row->want_error == NULL) {
                assert_null(error);
        } else {
                assert_non_null(error);
                if (strcmp(error, row->want_error) != 0)
                        fail_msg("%s: HTTP %ld: '%s', want '%s'", ops->type,
                                 row->status, error, row->want_error);
        }
        free(error);
}

static void
test_classify(void **state)
{
        (void)state;
        for (size_t t = 0; t < NTYPES; t++) {
                for (size_t i = 0;
                     i < sizeof(class_rows) / sizeof(class_rows[0]); i++)
                        check_class(backend_find(types[t]), &class_rows[i]);
        }
}

/* No response at all: retry, with curl's reason but never a URL. */
static void
test_classify_transport(void **state)
{
        const struct backend_ops *ops = backend_find("slack");
        struct http_response resp = { 0 };
        long ra = 0;
        char *error = NULL;

        (void)state;
        resp.retry_after = -1;
        resp.transport_error = "Failed to connect to hooks.example port 443 "
                               "after 3 ms: Connection refused";
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, -1);
        assert_string_equal(error,
                            "no response: Failed to connect to hooks.example "
                            "port 443 after 3 ms: Connection refused");
        free(error);

        resp.transport_error = "Operation timed out after 15000 milliseconds";
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_non_null(strstr(error, "timed out"));
        free(error);

        resp.transport_error = "URL rejected: https://hooks.example/secret";
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_null(strstr(error, "secret"));
        free(error);

        resp.transport_error = NULL;
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_string_equal(error, "no response: transfer failed");
        free(error);
}

/* Discord's 429 says when in its JSON body, in fractional seconds. */
static void
test_classify_discord_429(void **state)
{
        const struct backend_ops *ops = backend_find("discord");
        const char *body = "{\"message\": \"You are being rate limited.\", "
                           "\"retry_after\": 1.234, \"global\": false}";
        struct http_response resp = { 429, body, strlen(body), -1, NULL };
        long ra = 0;
        char *error = NULL;

        (void)state;
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 2); /* rounded up */
        assert_string_equal(error, "HTTP 429 (rate limited): You are being "
                                   "rate limited.");
        free(error);

        /* Whole seconds stay as they are. */
        resp.body = "{\"retry_after\": 3}";
        resp.len = strlen(resp.body);
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 3);
        free(error);

        /* The header, when there is one, wins. */
        resp.retry_after = 5;
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 5);
        free(error);

        /* No usable body: no retry_after, the scheduler backs off. */
        resp.retry_after = -1;
        resp.body = "{\"retry_after\": \"soon\"}";
        resp.len = strlen(resp.body);
        assert_int_equal(ops->classify(&resp, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, -1);
        free(error);

        /* The others read no body for it (Slack sends the header). */
        resp.body = "{\"retry_after\": 3}";
        resp.len = strlen(resp.body);
        assert_int_equal(backend_find("slack")->classify(&resp, &ra, &error),
                         OUTCOME_RETRY);
        assert_int_equal(ra, -1);
        free(error);
}

/* --- Text helpers ------------------------------------------------------- */

/* Checks one made text and frees it. */
static void
check_text(char *got, const char *want)
{
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

static void
test_text(void **state)
{
        (void)state;
        assert_int_equal(text_units("abc"), 3);
        assert_int_equal(text_units("é—"), 2);
        assert_int_equal(text_units("\xf0\x9f\x98\x80"), 2); /* U+1F600 */

        check_text(text_cut("abcdef", 6), "abcdef");
        check_text(text_cut("abcdef", 4), "abc…");
        check_text(text_cut("ééé", 2), "é…");
        /* An astral character is never split, nor counted as one. */
        check_text(text_cut("a\xf0\x9f\x98\x80"
                            "bc",
                            3),
                   "a…");
        check_text(text_cut("abc", 0), "");

        check_text(text_cut_bytes("ééé", 6), "ééé");
        /* 2 bytes left: one é, then …; 1 byte left: half an é is none. */
        check_text(text_cut_bytes("ééé", 5), "é…");
        check_text(text_cut_bytes("ééé", 4), "…");
        check_text(text_cut_bytes("abcdéf", 6), "abc…");

        check_text(text_escape_slack("a&b<c>d"), "a&amp;b&lt;c&gt;d");
        check_text(text_cut_escaped("&&&&", 7, text_escape_slack), "&amp;…");
}

UNIT_MAIN({
    cmocka_unit_test(test_find),
    cmocka_unit_test(test_common_request),
    cmocka_unit_test(test_bad_input),
    cmocka_unit_test(test_default_templates),
    cmocka_unit_test(test_classify),
    cmocka_unit_test(test_classify_transport),
    cmocka_unit_test(test_classify_discord_429),
    cmocka_unit_test(test_text),
})
