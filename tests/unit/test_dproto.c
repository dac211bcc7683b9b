/*
 * Tests for dproto: the dispatch protocol's codecs.
 *
 * Every expected text below is written by hand from docs/dispatch.md (the
 * bodies of its tables, compact as the peers send them, the READY and the
 * worker's HEARTBEAT with the spaces they always had) and RFC 8259's
 * string escapes, not from the code's output. Each message is encoded,
 * compared with its text, then decoded through dproto_decode() as a peer
 * receives it and compared field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dproto.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes [DPROTO_ID][type][body]; body NULL: a message of two frames. */
static int
decode(const char *type, const char *body, struct dproto_msg *m, char **cause)
{
        struct dproto_frame f[3] = {
                { DPROTO_ID, strlen(DPROTO_ID) },
                { type, strlen(type) },
                { body, body != NULL ? strlen(body) : 0 },
        };

        *cause = NULL;
        return dproto_decode(f, body != NULL ? 3 : 2, m, cause);
}

/* Decodes a message that must be good, of type `want`. */
static void
decode_ok(const char *type, const char *body, enum dproto_type want,
          struct dproto_msg *m)
{
        char *cause = NULL;

        if (decode(type, body, m, &cause) < 0)
                fail_msg("%s %s: refused: %s", type, body, cause);
        assert_int_equal(m->type, want);
        assert_int_equal(m->fault, DPROTO_FAULT_NONE);
        assert_null(cause);
}

static void
test_names(void **state)
{
        (void)state;
        assert_string_equal(DPROTO_ID, "ofsted-notify-dispatch/2");
        assert_string_equal(dproto_type_names[DPROTO_READY], "READY");
        assert_string_equal(dproto_type_names[DPROTO_OUTCOME], "OUTCOME");
        assert_string_equal(dproto_type_names[DPROTO_HEARTBEAT], "HEARTBEAT");
        assert_string_equal(dproto_type_names[DPROTO_JOB], "JOB");
        assert_string_equal(dproto_type_names[DPROTO_ACK], "ACK");
        assert_string_equal(dproto_type_names[DPROTO_HELLO], "HELLO");
        assert_string_equal(dproto_type_names[DPROTO_REFUSE], "REFUSE");
        assert_string_equal(dproto_type_names[DPROTO_RECEIPT], "RECEIPT");
        assert_string_equal(dproto_type_names[DPROTO_WATCH], "WATCH");
        assert_int_equal(dproto_type_parse("JOB", 3), DPROTO_JOB);
        assert_int_equal(dproto_type_parse("JO", 2), -1);
        assert_int_equal(dproto_type_parse("JOBS", 4), -1);
        assert_int_equal(dproto_type_parse("job", 3), -1);
        assert_int_equal(dproto_type_parse("", 0), -1);
}

static void
test_ready(void **state)
{
        struct dproto_ready r = { DPROTO_KIND_WEBHOOK, 64 };
        struct dproto_msg m;
        char *text = dproto_ready_encode(&r);

        (void)state;
        assert_string_equal(text, "{\"kind\": \"webhook\", \"credit\": 64}");
        decode_ok("READY", text, DPROTO_READY, &m);
        assert_int_equal(m.u.ready.kind, DPROTO_KIND_WEBHOOK);
        assert_int_equal(m.u.ready.credit, 64);
        dproto_msg_clear(&m);
        free(text);

        r = (struct dproto_ready){ DPROTO_KIND_EMAIL, 0 };
        text = dproto_ready_encode(&r);
        assert_string_equal(text, "{\"kind\": \"email\", \"credit\": 0}");
        decode_ok("READY", text, DPROTO_READY, &m);
        assert_int_equal(m.u.ready.kind, DPROTO_KIND_EMAIL);
        assert_int_equal(m.u.ready.credit, 0);
        dproto_msg_clear(&m);
        free(text);
}

static void
test_outcome(void **state)
{
        static const struct {
                struct dproto_outcome o;
                const char *text;
        } cases[] = {
                /* A delivered emergency's, with its receipt. */
                { { "3f2a9c", 17, DPROTO_DELIVERED, 200, -1, false, NULL,
                    "rLqQ5ZBe2w5nd3Rs", 1700003660 },
                  "{\"delivery\":\"3f2a9c\",\"lease\":17,"
                  "\"result\":\"delivered\",\"code\":200,\"receipt\":"
                  "{\"id\":\"rLqQ5ZBe2w5nd3Rs\",\"expires_at\":1700003660}}" },
                { { "3f2a9c", 17, DPROTO_DELIVERED, 0, -1, false, NULL, NULL,
                    0 },
                  "{\"delivery\":\"3f2a9c\",\"lease\":17,"
                  "\"result\":\"delivered\"}" },
                { { "3f2a9c", 17, DPROTO_DELIVERED, 200, -1, false, NULL, NULL,
                    0 },
                  "{\"delivery\":\"3f2a9c\",\"lease\":17,"
                  "\"result\":\"delivered\",\"code\":200}" },
                /* docs/dispatch.md's example, less `local: false`. */
                { { "3f2a9c", 17, DPROTO_RETRY, 503, 2, false,
                    "HTTP 503 from hooks.example", NULL, 0 },
                  "{\"delivery\":\"3f2a9c\",\"lease\":17,\"result\":\"retry\","
                  "\"code\":503,\"retry_after\":2,"
                  "\"error\":\"HTTP 503 from hooks.example\"}" },
                { { "ab-1", 1, DPROTO_RETRY, 0, -1, true,
                    "secret file 'hook.url': missing", NULL, 0 },
                  "{\"delivery\":\"ab-1\",\"lease\":1,\"result\":\"retry\","
                  "\"local\":true,"
                  "\"error\":\"secret file 'hook.url': missing\"}" },
                { { "x", 0, DPROTO_FAILED, 550, 0, false, "", NULL, 0 },
                  "{\"delivery\":\"x\",\"lease\":0,\"result\":\"failed\","
                  "\"code\":550,\"retry_after\":0,\"error\":\"\"}" },
                /* A lease past 2^53, which a double would round. */
                { { "x", INT64_C(9007199254740993), DPROTO_FAILED, 0, -1, false,
                    NULL, NULL, 0 },
                  "{\"delivery\":\"x\",\"lease\":9007199254740993,"
                  "\"result\":\"failed\"}" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct dproto_outcome *o = &cases[i].o;
                char *text = dproto_outcome_encode(o);
                struct dproto_msg m;
                const struct dproto_outcome *got = &m.u.outcome;

                assert_string_equal(text, cases[i].text);
                decode_ok("OUTCOME", text, DPROTO_OUTCOME, &m);
                assert_string_equal(got->delivery, o->delivery);
                assert_true(got->lease == o->lease);
                assert_int_equal(got->result, o->result);
                assert_int_equal(got->code, o->code);
                assert_int_equal(got->retry_after, o->retry_after);
                assert_int_equal(got->local, o->local);
                if (o->error == NULL)
                        assert_null(got->error);
                else
                        assert_string_equal(got->error, o->error);
                if (o->receipt == NULL)
                        assert_null(got->receipt);
                else
                        assert_string_equal(got->receipt, o->receipt);
                assert_true(got->receipt_expires == o->receipt_expires);
                dproto_msg_clear(&m);
                free(text);
        }
}

/* `local` is said only with a retry, whatever the caller passed. */
static void
test_outcome_local_only_with_retry(void **state)
{
        struct dproto_outcome o = { "d",  2,    DPROTO_FAILED, 0, -1,
                                    true, NULL, NULL,          0 };
        char *text = dproto_outcome_encode(&o);

        (void)state;
        assert_string_equal(
            text, "{\"delivery\":\"d\",\"lease\":2,\"result\":\"failed\"}");
        free(text);
}

/*
 * Strings are escaped as JSON needs: the quote, the backslash and every
 * control character; UTF-8 passes as it is; a byte that is not UTF-8
 * becomes U+FFFD, so the body stays valid JSON and is still taken.
 */
static void
test_escapes(void **state)
{
        static const struct {
                const char *in, *json, *back;
        } cases[] = {
                { "plain", "\"plain\"", "plain" },
                { "a \"quoted\" \\ path", "\"a \\\"quoted\\\" \\\\ path\"",
                  "a \"quoted\" \\ path" },
                { "l1\nl2\r\t\b\f", "\"l1\\nl2\\r\\t\\b\\f\"",
                  "l1\nl2\r\t\b\f" },
                { "\x01\x1f\x7f", "\"\\u0001\\u001F\x7f\"", "\x01\x1f\x7f" },
                { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x85",
                  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x85\"",
                  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x85" },
                /* A lone continuation byte, a cut sequence, an overlong
                 * slash, a surrogate, 0xff. */
                { "a\x80z", "\"a\\ufffdz\"", "a\xef\xbf\xbdz" },
                { "a\xc3", "\"a\\ufffd\"", "a\xef\xbf\xbd" },
                { "\xc0\xaf", "\"\\ufffd\\ufffd\"",
                  "\xef\xbf\xbd\xef\xbf\xbd" },
                { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"",
                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
                { "\xff", "\"\\ufffd\"", "\xef\xbf\xbd" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct dproto_refuse r = { cases[i].in };
                char *text = dproto_refuse_encode(&r), *want;
                struct dproto_msg m;

                if (asprintf(&want, "{\"error\":%s}", cases[i].json) < 0)
                        fail();
                assert_string_equal(text, want);
                decode_ok("REFUSE", text, DPROTO_REFUSE, &m);
                assert_string_equal(m.u.refuse.error, cases[i].back);
                dproto_msg_clear(&m);
                free(want);
                free(text);
        }
}

static void
test_heartbeat(void **state)
{
        struct dproto_heartbeat h = { 60 };
        struct dproto_msg m;
        char *text = dproto_heartbeat_encode(&h);

        (void)state;
        assert_string_equal(text, "{\"credit\": 60}");
        decode_ok("HEARTBEAT", text, DPROTO_HEARTBEAT, &m);
        assert_int_equal(m.u.heartbeat.credit, 60);
        dproto_msg_clear(&m);
        free(text);

        /* The daemon's: no credit. */
        h.credit = -1;
        text = dproto_heartbeat_encode(&h);
        assert_string_equal(text, "{}");
        decode_ok("HEARTBEAT", text, DPROTO_HEARTBEAT, &m);
        assert_int_equal(m.u.heartbeat.credit, -1);
        dproto_msg_clear(&m);
        free(text);
        /* Without a body it is the same. */
        decode_ok("HEARTBEAT", NULL, DPROTO_HEARTBEAT, &m);
        assert_int_equal(m.u.heartbeat.credit, -1);
        dproto_msg_clear(&m);
}

static void
test_job(void **state)
{
        static const char alert[] =
            "{\"trust\": \"Example Learning Trust\", \"case\": 7, "
            "\"school\": {\"urn\": \"100001\", \"name\": \"Oak Primary\"}, "
            "\"rule\": \"deferral_cutoff\", \"warning\": null}";
        struct dproto_job j = {
                "3f2a9c", 17, 1, "leaders", "teams", NULL, NULL
        };
        struct dproto_msg m;
        char *text = dproto_job_encode(&j, alert);
        json_t *school;

        (void)state;
        assert_string_equal(
            text, "{\"delivery\":\"3f2a9c\",\"lease\":17,\"attempt\":1,"
                  "\"channel\":\"leaders\",\"type\":\"teams\",\"alert\":{"
                  "\"trust\": \"Example Learning Trust\", \"case\": 7, "
                  "\"school\": {\"urn\": \"100001\", \"name\": \"Oak "
                  "Primary\"}, \"rule\": \"deferral_cutoff\", "
                  "\"warning\": null}}");
        decode_ok("JOB", text, DPROTO_JOB, &m);
        assert_string_equal(m.u.job.delivery, "3f2a9c");
        assert_true(m.u.job.lease == 17);
        assert_true(m.u.job.attempt == 1);
        assert_string_equal(m.u.job.channel, "leaders");
        assert_string_equal(m.u.job.type, "teams");
        assert_true(json_is_object(m.u.job.alert));
        school = json_object_get(m.u.job.alert, "school");
        assert_string_equal(json_string_value(json_object_get(school, "urn")),
                            "100001");
        /* The whole job is there for the backends. */
        assert_ptr_equal(json_object_get(m.root, "alert"), m.u.job.alert);
        dproto_msg_clear(&m);
        free(text);

        /* A JOB that does not say which attempt is the first. */
        decode_ok("JOB",
                  "{\"delivery\":\"d\",\"lease\":3,\"channel\":\"c\","
                  "\"type\":\"slack\",\"alert\":{}}",
                  DPROTO_JOB, &m);
        assert_true(m.u.job.attempt == 1);
        dproto_msg_clear(&m);
}

/* A one-off email's JOB carries its message, escaped; a message that is
 * not {to, subject, text} strings is refused. */
static void
test_job_message(void **state)
{
        json_t *msg = json_pack("{s:s, s:s, s:s}", "to", "head@oak.example",
                                "subject", "Sign in \"now\"", "text",
                                "Open https://x.example/signin/abc\n");
        struct dproto_job j = { "d1", 2, 1, "heads", "email", NULL, msg };
        struct dproto_msg m;
        char *text = dproto_job_encode(&j, "{}"), *cause = NULL;

        (void)state;
        assert_string_equal(
            text, "{\"delivery\":\"d1\",\"lease\":2,\"attempt\":1,"
                  "\"channel\":\"heads\",\"type\":\"email\",\"alert\":{},"
                  "\"message\":{\"to\":\"head@oak.example\",\"subject\":"
                  "\"Sign in \\\"now\\\"\",\"text\":"
                  "\"Open https://x.example/signin/abc\\n\"}}");
        decode_ok("JOB", text, DPROTO_JOB, &m);
        assert_string_equal(
            json_string_value(json_object_get(m.u.job.message, "subject")),
            "Sign in \"now\"");
        dproto_msg_clear(&m);
        free(text);
        json_decref(msg);

        assert_int_equal(decode("JOB",
                                "{\"delivery\":\"d\",\"lease\":3,"
                                "\"channel\":\"c\",\"type\":\"email\","
                                "\"alert\":{},\"message\":{\"to\":\"a@b\"}}",
                                &m, &cause),
                         -1);
        assert_non_null(strstr(cause, "'subject' is missing"));
        free(cause);
        dproto_msg_clear(&m);
}

static void
test_ack_hello(void **state)
{
        struct dproto_ack a = { "3f2a9c", 17, false };
        struct dproto_msg m;
        char *text = dproto_ack_encode(&a);

        (void)state;
        assert_string_equal(text, "{\"delivery\":\"3f2a9c\",\"lease\":17}");
        decode_ok("ACK", text, DPROTO_ACK, &m);
        assert_string_equal(m.u.ack.delivery, "3f2a9c");
        assert_true(m.u.ack.lease == 17);
        dproto_msg_clear(&m);
        free(text);

        /* A delivery id a worker made up is quoted, not trusted. */
        a.delivery = "x\",\"lease\":1,\"y\":\"";
        text = dproto_ack_encode(&a);
        assert_string_equal(text, "{\"delivery\":\"x\\\",\\\"lease\\\":1,"
                                  "\\\"y\\\":\\\"\",\"lease\":17}");
        decode_ok("ACK", text, DPROTO_ACK, &m);
        assert_string_equal(m.u.ack.delivery, a.delivery);
        assert_true(m.u.ack.lease == 17);
        dproto_msg_clear(&m);
        free(text);

        /* A RECEIPT's ACK: its delivery, no lease. */
        a = (struct dproto_ack){ "3f2a9c", 5, true };
        text = dproto_ack_encode(&a);
        assert_string_equal(text, "{\"delivery\":\"3f2a9c\",\"receipt\":true}");
        decode_ok("ACK", text, DPROTO_ACK, &m);
        assert_string_equal(m.u.ack.delivery, "3f2a9c");
        assert_true(m.u.ack.receipt);
        assert_true(m.u.ack.lease == 0);
        dproto_msg_clear(&m);
        free(text);
        /* An OUTCOME's ACK says it is not a receipt's. */
        decode_ok("ACK", "{\"delivery\":\"d\",\"lease\":3,\"receipt\":false}",
                  DPROTO_ACK, &m);
        assert_false(m.u.ack.receipt);
        assert_true(m.u.ack.lease == 3);
        dproto_msg_clear(&m);

        text = dproto_hello_encode();
        assert_string_equal(text, "{}");
        decode_ok("HELLO", text, DPROTO_HELLO, &m);
        dproto_msg_clear(&m);
        free(text);
}

/* RECEIPT: a delivery acknowledged at the service, by whom and when. */
static void
test_receipt(void **state)
{
        static const struct {
                const char *body, *cause;
        } bad[] = {
                { "{\"acknowledged_by\": \"u1\", \"acknowledged_at\": 5}",
                  "'delivery' is missing" },
                { "{\"delivery\": \"d\", \"acknowledged_at\": 5}",
                  "'acknowledged_by' is missing" },
                { "{\"delivery\": \"d\", \"acknowledged_by\": \"\", "
                  "\"acknowledged_at\": 5}",
                  "'acknowledged_by' is empty" },
                { "{\"delivery\": \"d\", \"acknowledged_by\": \"u1\"}",
                  "'acknowledged_at' is missing" },
                { "{\"delivery\": \"d\", \"acknowledged_by\": \"u1\", "
                  "\"acknowledged_at\": 0}",
                  "'acknowledged_at' is 0, not 1 to 9223372036854775807" },
                { "{\"delivery\": \"d\", \"acknowledged_by\": "
                  "\"0123456789012345678901234567890123456789012345678901234"
                  "5678901234\", \"acknowledged_at\": 5}",
                  "'acknowledged_by' is longer than 64 bytes" },
        };
        struct dproto_receipt r = { "3f2a9c", "uQiRzpo4DXghDmr9QzzfQu27cmVRsG",
                                    1700000000 };
        struct dproto_msg m;
        char *text = dproto_receipt_encode(&r), *cause;

        (void)state;
        assert_string_equal(text, "{\"delivery\":\"3f2a9c\","
                                  "\"acknowledged_by\":"
                                  "\"uQiRzpo4DXghDmr9QzzfQu27cmVRsG\","
                                  "\"acknowledged_at\":1700000000}");
        decode_ok("RECEIPT", text, DPROTO_RECEIPT, &m);
        assert_string_equal(m.u.receipt.delivery, "3f2a9c");
        assert_string_equal(m.u.receipt.acknowledged_by,
                            "uQiRzpo4DXghDmr9QzzfQu27cmVRsG");
        assert_true(m.u.receipt.acknowledged_at == 1700000000);
        dproto_msg_clear(&m);
        free(text);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(decode("RECEIPT", bad[i].body, &m, &cause),
                                 -1);
                assert_int_equal(m.fault, DPROTO_FAULT_FIELDS);
                assert_string_equal(cause, bad[i].cause);
                free(cause);
                dproto_msg_clear(&m);
        }
}

/* WATCH: a receipt the daemon hands a worker to poll. */
static void
test_watch(void **state)
{
        struct dproto_watch w = { "3f2a9c", "po", "rLqQ5ZBe2w5nd3Rs",
                                  1700003660 };
        struct dproto_msg m;
        char *text = dproto_watch_encode(&w);

        (void)state;
        assert_string_equal(text, "{\"delivery\":\"3f2a9c\",\"channel\":"
                                  "\"po\",\"receipt\":\"rLqQ5ZBe2w5nd3Rs\","
                                  "\"expires_at\":1700003660}");
        decode_ok("WATCH", text, DPROTO_WATCH, &m);
        assert_string_equal(m.u.watch.delivery, "3f2a9c");
        assert_string_equal(m.u.watch.channel, "po");
        assert_string_equal(m.u.watch.receipt, "rLqQ5ZBe2w5nd3Rs");
        assert_true(m.u.watch.expires_at == 1700003660);
        dproto_msg_clear(&m);
        free(text);
}

/* A receipt is 1 to DPROTO_RECEIPT_MAX letters and digits. */
static void
test_receipt_valid(void **state)
{
        char longest[DPROTO_RECEIPT_MAX + 2];

        (void)state;
        assert_true(dproto_receipt_valid("rLqQ5ZBe2w5nd3Rs"));
        assert_false(dproto_receipt_valid(""));
        assert_false(dproto_receipt_valid("r-1"));
        assert_false(dproto_receipt_valid("../x"));
        assert_false(dproto_receipt_valid("r x"));
        assert_false(dproto_receipt_valid("r\xc3\xa9"));
        memset(longest, 'a', DPROTO_RECEIPT_MAX);
        longest[DPROTO_RECEIPT_MAX] = '\0';
        assert_true(dproto_receipt_valid(longest));
        longest[DPROTO_RECEIPT_MAX] = 'a';
        longest[DPROTO_RECEIPT_MAX + 1] = '\0';
        assert_false(dproto_receipt_valid(longest));
}

/* Every malformed body is refused, with a reason naming the field. */
static void
test_malformed_fields(void **state)
{
        static const struct {
                const char *type, *body, *cause;
        } cases[] = {
                { "READY", "{}", "'kind' is missing" },
                { "READY", NULL, "'kind' is missing" },
                { "READY", "{\"kind\": 1, \"credit\": 5}",
                  "'kind' is not a string" },
                { "READY", "{\"kind\": \"fax\", \"credit\": 5}",
                  "'kind' is 'fax', which is unknown" },
                { "READY", "{\"kind\": \"webhook\"}", "'credit' is missing" },
                { "READY", "{\"kind\": \"webhook\", \"credit\": \"many\"}",
                  "'credit' is not an integer" },
                { "READY", "{\"kind\": \"webhook\", \"credit\": 2.5}",
                  "'credit' is not an integer" },
                { "READY", "{\"kind\": \"webhook\", \"credit\": 100000}",
                  "'credit' is 100000, not 0 to 1000" },
                { "READY", "{\"kind\": \"webhook\", \"credit\": -1}",
                  "'credit' is -1, not 0 to 1000" },
                { "OUTCOME", "{\"lease\": 1, \"result\": \"retry\"}",
                  "'delivery' is missing" },
                { "OUTCOME",
                  "{\"delivery\": \"\", \"lease\": 1, \"result\": \"retry\"}",
                  "'delivery' is empty" },
                { "OUTCOME",
                  "{\"delivery\": 7, \"lease\": 1, \"result\": \"retry\"}",
                  "'delivery' is not a string" },
                { "OUTCOME", "{\"delivery\": \"d\", \"result\": \"retry\"}",
                  "'lease' is missing" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": \"1\", \"result\": "
                  "\"retry\"}",
                  "'lease' is not an integer" },
                { "OUTCOME", "{\"delivery\": \"d\", \"lease\": 1}",
                  "'result' is missing" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": \"lost\"}",
                  "'result' is 'lost', which is unknown" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"retry\", \"code\": \"503\"}",
                  "'code' is not an integer" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"retry\", \"retry_after\": -2}",
                  "'retry_after' is -2, not 0 to" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"retry\", \"retry_after\": null}",
                  "'retry_after' is not an integer" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"retry\", \"error\": 5}",
                  "'error' is not a string" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"retry\", \"local\": 1}",
                  "'local' is not a boolean" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"delivered\", \"local\": true}",
                  "'local' with result 'delivered', not 'retry'" },
                { "HEARTBEAT", "{\"credit\": \"x\"}",
                  "'credit' is not an integer" },
                { "HEARTBEAT", "{\"credit\": 1001}",
                  "'credit' is 1001, not 0 to 1000" },
                { "JOB", "{}", "'delivery' is missing" },
                { "JOB",
                  "{\"delivery\": \"d\", \"lease\": 1, \"attempt\": 0, "
                  "\"channel\": \"c\", \"type\": \"t\", \"alert\": {}}",
                  "'attempt' is 0, not 1 to" },
                { "JOB",
                  "{\"delivery\": \"d\", \"lease\": 1, \"type\": \"t\", "
                  "\"alert\": {}}",
                  "'channel' is missing" },
                { "JOB",
                  "{\"delivery\": \"d\", \"lease\": 1, \"channel\": \"c\", "
                  "\"alert\": {}}",
                  "'type' is missing" },
                { "JOB",
                  "{\"delivery\": \"d\", \"lease\": 1, \"channel\": \"c\", "
                  "\"type\": \"t\"}",
                  "'alert' is missing" },
                { "JOB",
                  "{\"delivery\": \"d\", \"lease\": 1, \"channel\": \"c\", "
                  "\"type\": \"t\", \"alert\": \"text\"}",
                  "'alert' is not an object" },
                { "ACK", "{\"lease\": 1}", "'delivery' is missing" },
                { "ACK", "{\"delivery\": \"d\"}", "'lease' is missing" },
                { "ACK", "{\"delivery\": \"d\", \"receipt\": false}",
                  "'lease' is missing" },
                { "ACK", "{\"delivery\": \"d\", \"receipt\": 1}",
                  "'receipt' is not a boolean" },
                { "ACK", "{\"delivery\": \"d\", \"lease\": true}",
                  "'lease' is not an integer" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"delivered\", \"receipt\": \"r1\"}",
                  "'receipt' is not an object" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"retry\", \"receipt\": {\"id\": \"r1\", "
                  "\"expires_at\": 5}}",
                  "'receipt' with result 'retry', not 'delivered'" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"delivered\", \"receipt\": {\"expires_at\": 5}}",
                  "'id' is missing" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"delivered\", \"receipt\": {\"id\": \"r/1\", "
                  "\"expires_at\": 5}}",
                  "'id' is not a receipt (1 to 64 letters and digits)" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"delivered\", \"receipt\": {\"id\": \"r1\"}}",
                  "'expires_at' is missing" },
                { "OUTCOME",
                  "{\"delivery\": \"d\", \"lease\": 1, \"result\": "
                  "\"delivered\", \"receipt\": {\"id\": \"r1\", "
                  "\"expires_at\": 0}}",
                  "'expires_at' is 0, not 1 to" },
                { "WATCH",
                  "{\"channel\": \"po\", \"receipt\": \"r1\", "
                  "\"expires_at\": 5}",
                  "'delivery' is missing" },
                { "WATCH",
                  "{\"delivery\": \"d\", \"receipt\": \"r1\", "
                  "\"expires_at\": 5}",
                  "'channel' is missing" },
                { "WATCH",
                  "{\"delivery\": \"d\", \"channel\": \"po\", "
                  "\"expires_at\": 5}",
                  "'receipt' is missing" },
                { "WATCH",
                  "{\"delivery\": \"d\", \"channel\": \"po\", "
                  "\"receipt\": \"\", \"expires_at\": 5}",
                  "'receipt' is empty" },
                { "WATCH",
                  "{\"delivery\": \"d\", \"channel\": \"po\", "
                  "\"receipt\": \"r1.json?token=x\", \"expires_at\": 5}",
                  "'receipt' is not a receipt" },
                { "WATCH",
                  "{\"delivery\": \"d\", \"channel\": \"po\", "
                  "\"receipt\": \"r1\"}",
                  "'expires_at' is missing" },
                { "WATCH",
                  "{\"delivery\": \"d\", \"channel\": \"po\", "
                  "\"receipt\": \"r1\", \"expires_at\": \"soon\"}",
                  "'expires_at' is not an integer" },
                { "REFUSE", "{}", "'error' is missing" },
                { "REFUSE", "{\"error\": [\"no\"]}",
                  "'error' is not a string" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct dproto_msg m;
                char *cause = NULL;

                if (decode(cases[i].type, cases[i].body, &m, &cause) == 0)
                        fail_msg("%s %s: taken", cases[i].type, cases[i].body);
                assert_int_equal(m.fault, DPROTO_FAULT_FIELDS);
                assert_int_equal(
                    m.type,
                    dproto_type_parse(cases[i].type, strlen(cases[i].type)));
                assert_non_null(cause);
                if (strncmp(cause, cases[i].cause, strlen(cases[i].cause)) != 0)
                        fail_msg("%s %s: '%s', not '%s'", cases[i].type,
                                 cases[i].body, cause, cases[i].cause);
                dproto_msg_clear(&m);
                free(cause);
        }
}

/* The envelope: frame count, protocol id, body, type, in that order. */
static void
test_malformed_envelope(void **state)
{
        static const struct {
                int n;
                struct dproto_frame f[4];
                enum dproto_fault fault;
                const char *cause;
        } cases[] = {
                { 0,
                  { { NULL, 0 } },
                  DPROTO_FAULT_FRAMES,
                  "0 frames, not 2 or 3" },
                { 1,
                  { { DPROTO_ID, 24 } },
                  DPROTO_FAULT_FRAMES,
                  "1 frames, not 2 or 3" },
                { 4,
                  { { DPROTO_ID, 24 }, { "HELLO", 5 }, { "{}", 2 }, { "", 0 } },
                  DPROTO_FAULT_FRAMES,
                  "4 frames, not 2 or 3" },
                { 3,
                  { { "ofsted-notify-dispatch/9", 24 },
                    { "READY", 5 },
                    { "{}", 2 } },
                  DPROTO_FAULT_FOREIGN,
                  "not ofsted-notify-dispatch/2" },
                { 3,
                  { { "ofsted-notify-dispatch/2x", 25 },
                    { "READY", 5 },
                    { "{}", 2 } },
                  DPROTO_FAULT_FOREIGN,
                  "not ofsted-notify-dispatch/2" },
                { 3,
                  { { DPROTO_ID, 24 }, { "READY", 5 }, { "not json {", 10 } },
                  DPROTO_FAULT_BODY,
                  "the body is not JSON: " },
                { 3,
                  { { DPROTO_ID, 24 }, { "READY", 5 }, { "[1, 2]", 6 } },
                  DPROTO_FAULT_BODY,
                  "the body is not a JSON object" },
                /* A NUL inside the body: jansson refuses it. */
                { 3,
                  { { DPROTO_ID, 24 }, { "\xff\xfe", 2 }, { "\0{", 2 } },
                  DPROTO_FAULT_BODY,
                  "the body is not JSON: " },
                { 3,
                  { { DPROTO_ID, 24 }, { "NONSENSE", 8 }, { "{}", 2 } },
                  DPROTO_FAULT_TYPE,
                  "no such message type" },
                { 2,
                  { { DPROTO_ID, 24 }, { "READY\0", 6 } },
                  DPROTO_FAULT_TYPE,
                  "no such message type" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct dproto_msg m;
                char *cause = NULL;

                assert_int_equal(
                    dproto_decode(cases[i].f, cases[i].n, &m, &cause), -1);
                assert_int_equal(m.fault, cases[i].fault);
                assert_non_null(cause);
                if (strncmp(cause, cases[i].cause, strlen(cases[i].cause)) != 0)
                        fail_msg("case %zu: '%s', not '%s'", i, cause,
                                 cases[i].cause);
                dproto_msg_clear(&m);
                free(cause);
        }
}

/* Fields a peer does not know are left alone: a newer peer may add one. */
static void
test_unknown_fields_ignored(void **state)
{
        struct dproto_msg m;

        (void)state;
        decode_ok("READY",
                  "{\"kind\": \"email\", \"credit\": 3, \"version\": \"9\"}",
                  DPROTO_READY, &m);
        assert_int_equal(m.u.ready.kind, DPROTO_KIND_EMAIL);
        assert_int_equal(m.u.ready.credit, 3);
        dproto_msg_clear(&m);
}

UNIT_MAIN({
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_ready),
    cmocka_unit_test(test_outcome),
    cmocka_unit_test(test_outcome_local_only_with_retry),
    cmocka_unit_test(test_escapes),
    cmocka_unit_test(test_heartbeat),
    cmocka_unit_test(test_job),
    cmocka_unit_test(test_job_message),
    cmocka_unit_test(test_ack_hello),
    cmocka_unit_test(test_receipt),
    cmocka_unit_test(test_watch),
    cmocka_unit_test(test_receipt_valid),
    cmocka_unit_test(test_malformed_fields),
    cmocka_unit_test(test_malformed_envelope),
    cmocka_unit_test(test_unknown_fields_ignored),
})
