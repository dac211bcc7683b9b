/*
 * Unit tests for alert: the one encoder of an alert, for the JOB, the feed
 * and the `test` reply (docs/dispatch.md, docs/protocol.md).
 *
 * Each row is a typed alert, a zone and the compact JSON text the encoder
 * must write, byte for byte (members in the documented order, escapes as
 * jansson writes them), written by hand from docs/dispatch.md's JOB and
 * timefmt's forms. Instants are turned
 * into numbers with glibc's timegm() (support_utc()), never with the code
 * under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "support.h"

struct row {
        const char *what;
        const char *zone;
        struct alert a;
        const char *at, *due, *opens; /* UTC text; opens NULL: none */
        const char *json;
};

static const struct row rows[] = {
        { "every field given, GMT, no window, no warning",
          "Europe/London",
          { .trust = "Oak Trust",
            .case_id = 7,
            .urn = "100001",
            .school = "Oak Primary",
            .rule = "deferral_cutoff",
            .offset = "-60m",
            .action = "Ask.\nNow",
            .contact = "SOL 0300 123 4231" },
          "2024-03-04T15:30:00Z",
          "2024-03-04T16:30:00Z",
          NULL,
          "{\"trust\":\"Oak Trust\",\"case\":7,"
          "\"school\":{\"urn\":\"100001\",\"name\":\"Oak Primary\"},"
          "\"rule\":\"deferral_cutoff\",\"offset\":\"-60m\",\"late\":false,"
          "\"action\":\"Ask.\\nNow\",\"contact\":\"SOL 0300 123 4231\","
          "\"at\":\"2024-03-04T15:30:00+00:00\","
          "\"due\":\"2024-03-04T16:30:00+00:00\","
          "\"due_utc\":\"2024-03-04T16:30:00Z\","
          "\"due_human\":\"Mon 4 Mar 2024 16:30 GMT\","
          "\"opens\":null,\"opens_human\":null,\"warning\":null,"
          "\"ack_url\":null,\"case_url\":null,\"escalation\":null}" },
        { "the defaults: no trust, school name, action or contact; late, "
          "BST, a window and a warning",
          "Europe/London",
          { .case_id = 12,
            .urn = "100002",
            .rule = "resume",
            .offset = "event",
            .late = true,
            .warning = "resume: check \"the\" date" },
          "2024-07-01T09:00:00Z",
          "2024-07-01T10:00:00Z",
          "2024-07-02T08:00:00Z",
          "{\"trust\":\"\",\"case\":12,"
          "\"school\":{\"urn\":\"100002\",\"name\":\"100002\"},"
          "\"rule\":\"resume\",\"offset\":\"event\",\"late\":true,"
          "\"action\":\"\",\"contact\":\"\","
          "\"at\":\"2024-07-01T10:00:00+01:00\","
          "\"due\":\"2024-07-01T11:00:00+01:00\","
          "\"due_utc\":\"2024-07-01T10:00:00Z\","
          "\"due_human\":\"Mon 1 Jul 2024 11:00 BST\","
          "\"opens\":\"2024-07-02T09:00:00+01:00\","
          "\"opens_human\":\"Tue 2 Jul 2024 09:00 BST\","
          "\"warning\":\"resume: check \\\"the\\\" date\","
          "\"ack_url\":null,\"case_url\":null,\"escalation\":null}" },
        { "the same instants in the zone passed: UTC",
          "UTC",
          { .case_id = 12,
            .urn = "100002",
            .rule = "resume",
            .offset = "event",
            .late = true },
          "2024-07-01T09:00:00Z",
          "2024-07-01T10:00:00Z",
          "2024-07-02T08:00:00Z",
          "{\"trust\":\"\",\"case\":12,"
          "\"school\":{\"urn\":\"100002\",\"name\":\"100002\"},"
          "\"rule\":\"resume\",\"offset\":\"event\",\"late\":true,"
          "\"action\":\"\",\"contact\":\"\","
          "\"at\":\"2024-07-01T09:00:00+00:00\","
          "\"due\":\"2024-07-01T10:00:00+00:00\","
          "\"due_utc\":\"2024-07-01T10:00:00Z\","
          "\"due_human\":\"Mon 1 Jul 2024 10:00 UTC\","
          "\"opens\":\"2024-07-02T08:00:00+00:00\","
          "\"opens_human\":\"Tue 2 Jul 2024 08:00 UTC\","
          "\"warning\":null,\"ack_url\":null,\"case_url\":null,\"escalation\":"
          "null}" },
        { "text with quotes, a backslash, a tab and non-ASCII characters "
          "intact; bytes that are not UTF-8 become U+FFFD",
          "Europe/London",
          { .trust = "Ash \"Trust\"",
            .case_id = 1,
            .urn = "100003",
            .school = "St Mary\xe2\x80\x99s",
            .rule = "r",
            .offset = "+2s",
            .action = "a\\b\tc",
            .contact = "Jo\xff\xfe",
            .warning = "caf\xc3\xa9" },
          "2024-01-15T12:00:00Z",
          "2024-01-16T17:00:00Z",
          NULL,
          "{\"trust\":\"Ash \\\"Trust\\\"\",\"case\":1,"
          "\"school\":{\"urn\":\"100003\",\"name\":\"St Mary\xe2\x80\x99s\"},"
          "\"rule\":\"r\",\"offset\":\"+2s\",\"late\":false,"
          "\"action\":\"a\\\\b\\tc\",\"contact\":\"Jo\\ufffd\\ufffd\","
          "\"at\":\"2024-01-15T12:00:00+00:00\","
          "\"due\":\"2024-01-16T17:00:00+00:00\","
          "\"due_utc\":\"2024-01-16T17:00:00Z\","
          "\"due_human\":\"Tue 16 Jan 2024 17:00 GMT\","
          "\"opens\":null,\"opens_human\":null,"
          "\"warning\":\"caf\xc3\xa9\",\"ack_url\":null,\"case_url\":null,"
          "\"escalation\":null}" },
        { "an escalation with its link: to whom it goes, who was alerted",
          "Europe/London",
          { .trust = "Oak Trust",
            .case_id = 7,
            .urn = "100001",
            .school = "Oak Primary",
            .rule = "deferral_cutoff",
            .offset = "-60m",
            .ack_url = "https://alerts.example/a/ont_x",
            .escalation = true,
            .to = (char *[]){ "leaders" },
            .nto = 1,
            .alerted = { "heads", "it" },
            .nalerted = 2,
            .base_url = "https://alerts.example" },
          "2024-03-04T15:30:00Z",
          "2024-03-04T16:30:00Z",
          NULL,
          "{\"trust\":\"Oak Trust\",\"case\":7,"
          "\"school\":{\"urn\":\"100001\",\"name\":\"Oak Primary\"},"
          "\"rule\":\"deferral_cutoff\",\"offset\":\"-60m\",\"late\":false,"
          "\"action\":\"\",\"contact\":\"\","
          "\"at\":\"2024-03-04T15:30:00+00:00\","
          "\"due\":\"2024-03-04T16:30:00+00:00\","
          "\"due_utc\":\"2024-03-04T16:30:00Z\","
          "\"due_human\":\"Mon 4 Mar 2024 16:30 GMT\","
          "\"opens\":null,\"opens_human\":null,\"warning\":null,"
          "\"ack_url\":\"https://alerts.example/a/ont_x\","
          "\"case_url\":\"https://alerts.example/cases/7\","
          "\"escalation\":{\"to\":[\"leaders\"],"
          "\"alerted\":[\"heads\",\"it\"]}}" },
};

/*
 * The text, byte for byte; and the object, equal to that text parsed, with
 * its members in the same order.
 */
static void
test_encode(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const struct row *r = &rows[i];
                struct tz *tz = support_tz(r->zone);
                struct alert a = r->a;
                json_t *o, *want;
                void *it, *wit;
                char *text;

                a.at = support_utc(r->at);
                a.due = support_utc(r->due);
                a.opens = r->opens != NULL ? support_utc(r->opens) : 0;
                text = alert_encode_text(&a, tz);
                assert_non_null(text);
                if (strcmp(text, r->json) != 0)
                        fail_msg("%s:\n got  %s\n want %s", r->what, text,
                                 r->json);
                free(text);
                o = alert_encode(&a, tz);
                want = json_loads(r->json, 0, NULL);
                assert_non_null(want);
                if (!json_equal(o, want))
                        fail_msg("%s: the object is not the text", r->what);
                it = json_object_iter(o);
                wit = json_object_iter(want);
                for (; it != NULL && wit != NULL;
                     it = json_object_iter_next(o, it),
                     wit = json_object_iter_next(want, wit))
                        assert_string_equal(json_object_iter_key(it),
                                            json_object_iter_key(wit));
                json_decref(want);
                json_decref(o);
                tz_destroy(&tz);
        }
}

/* A reader's own members go after the alert's (the feed's "deliveries"). */
static void
test_reader_members_last(void **state)
{
        struct tz *tz = support_tz("Europe/London");
        struct alert a = rows[0].a;
        const char *key, *last = NULL;
        json_t *o, *v;

        (void)state;
        a.at = support_utc("2024-03-04T15:30:00Z");
        a.due = support_utc("2024-03-04T16:30:00Z");
        o = alert_encode(&a, tz);
        assert_int_equal(json_object_size(o), 18); /* the eighteen of alert.h */
        json_object_set_new(o, "deliveries", json_integer(3));
        json_object_foreach(o, key, v)
        {
                last = key;
        }
        assert_string_equal(last, "deliveries");
        json_decref(o);
        tz_destroy(&tz);
}

UNIT_MAIN({
    cmocka_unit_test(test_encode),
    cmocka_unit_test(test_reader_members_last),
})
