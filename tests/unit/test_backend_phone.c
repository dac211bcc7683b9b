/*
 * Unit tests for the flavours that reach a phone: ntfy's headers
 * (priority by offset, tags, click, the view action, the token), Pushover's
 * form (priorities, emergency retry and expire, its limits), its answers
 * and its receipts, and SMS: segments counted for GSM-7 and UCS-2 (counts
 * worked out by hand in the comments), the text fitted to two segments,
 * each profile's request and the gateway's verdicts.
 *
 * The job is the example in docs/dispatch.md (backend_fixture.h): offset
 * "-60m", an hour before the deadline, so urgent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "backend_fixture.h"
#include "backend_int.h"
#include "form.h"
#include "support.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "tk_secretsecretsecret"
#define USER  "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
#define SID   "AC0123456789abcdef0123456789abcdef"

static struct channel
channel_of(enum channel_type type)
{
        static char *to[] = { "+447700900123" };
        struct channel ch;

        memset(&ch, 0, sizeof(ch));
        ch.name = "phone";
        ch.type = type;
        ch.to = to;
        ch.nto = 1;
        ch.priority = NTFY_HIGH;
        ch.retry = 60;
        ch.expire = 3600;
        ch.account = SID;
        ch.from = "+447700900999";
        ch.messaging_service = "";
        ch.body = "";
        return ch;
}

/* --- ntfy --------------------------------------------------------------- */

static void
test_ntfy_headers(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB);
        struct channel ch = channel_of(CHANNEL_NTFY);
        struct backend_input in;
        struct http_request r;

        (void)state;
        backend_fx_input(&in, job, "https://ntfy.example/oak-alerts\n");
        in.ch = &ch;
        in.token = TOKEN;
        backend_fx_build("ntfy", &in, &r);
        assert_string_equal(r.url, "https://ntfy.example/oak-alerts");
        assert_string_equal(r.body, BACKEND_FX_TEXT);
        assert_string_equal(backend_fx_header(&r, "Content-Type"),
                            "text/plain; charset=utf-8");
        /* The title holds an em dash: RFC 2047, base64 of its UTF-8. */
        assert_string_equal(backend_fx_header(&r, "Title"),
                            "=?UTF-8?B?T2FrIFByaW1hcnk6IGRlZmVycmFsX2N1dG9mZi"
                            "DigJQgZHVlIE1vbiA0IE1hciAyMDI0IDE2OjMwIEdNVA==?=");
        /* "-60m": the deadline hour. */
        assert_string_equal(backend_fx_header(&r, "Priority"), "urgent");
        assert_string_equal(backend_fx_header(&r, "Tags"),
                            "rotating_light,deferral_cutoff");
        assert_string_equal(backend_fx_header(&r, "Authorization"),
                            "Bearer " TOKEN);
        assert_string_equal(backend_fx_header(&r, "Idempotency-Key"),
                            "3f2a9c0d5e");
        /* No links in the job: neither Click nor Actions. */
        assert_null(backend_fx_header(&r, "Click"));
        assert_null(backend_fx_header(&r, "Actions"));
        http_request_free(&r);

        /* A day before: the channel's priority; links when the job has
         * them, a URL's ',' and ';' escaped for ntfy's action format. */
        backend_fx_set_alert(job, "offset", "-1d");
        backend_fx_set_alert(job, "case_url", "https://alerts.example/cases/7");
        backend_fx_set_alert(job, "ack_url", "https://alerts.example/a/x,y;z");
        ch.priority = NTFY_LOW;
        in.token = NULL;
        in.title = "Plain title\r\nX-Evil: 1";
        backend_fx_build("ntfy", &in, &r);
        assert_string_equal(backend_fx_header(&r, "Priority"), "low");
        assert_string_equal(backend_fx_header(&r, "Tags"),
                            "warning,deferral_cutoff");
        assert_string_equal(backend_fx_header(&r, "Click"),
                            "https://alerts.example/cases/7");
        assert_string_equal(
            backend_fx_header(&r, "Actions"),
            "view, Acknowledge, https://alerts.example/a/x%2Cy%3Bz, "
            "clear=true");
        /* No header can be ended by an alert's text. */
        assert_string_equal(backend_fx_header(&r, "Title"),
                            "Plain title  X-Evil: 1");
        assert_null(backend_fx_header(&r, "Authorization"));
        http_request_free(&r);
        json_decref(job);
}

/* The priorities by offset: urgent from an hour before the deadline. */
static void
test_ntfy_priority(void **state)
{
        static const struct {
                const char *offset;
                enum ntfy_priority want;
        } cases[] = {
                { "deadline", NTFY_URGENT }, { "-60m", NTFY_URGENT },
                { "-1h", NTFY_URGENT },      { "-30m", NTFY_URGENT },
                { "-3600s", NTFY_URGENT },   { "-61m", NTFY_DEFAULT },
                { "-2h", NTFY_DEFAULT },     { "-1d", NTFY_DEFAULT },
                { "event", NTFY_DEFAULT },   { "+30m", NTFY_DEFAULT },
                { "opens", NTFY_DEFAULT },   { "test", NTFY_DEFAULT },
        };
        struct job_view j;
        json_t *alert;

        (void)state;
        memset(&j, 0, sizeof(j));
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                j.offset = cases[i].offset;
                if (ntfy_priority_of(&j, NTFY_DEFAULT) != cases[i].want)
                        fail_msg("offset '%s'", cases[i].offset);
        }
        /* An escalation (the JOB's "escalation" object) is urgent whatever
         * its offset: nobody has acknowledged the deadline. */
        j.offset = "-1d";
        alert = json_pack("{s:n}", "escalation");
        j.alert = alert;
        assert_int_equal(ntfy_priority_of(&j, NTFY_DEFAULT), NTFY_DEFAULT);
        json_object_set_new(
            alert, "escalation",
            json_pack("{s:[s], s:[s]}", "to", "leaders", "alerted", "heads"));
        assert_int_equal(ntfy_priority_of(&j, NTFY_DEFAULT), NTFY_URGENT);
        json_decref(alert);
}

/* --- Pushover ----------------------------------------------------------- */

static void
test_pushover_form(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB);
        struct channel ch = channel_of(CHANNEL_PUSHOVER);
        struct backend_input in;
        struct http_request r;
        char *v, *long_title, *long_text;

        (void)state;
        backend_fx_input(&in, job, NULL);
        in.ch = &ch;
        in.token = TOKEN;
        in.user = USER;
        backend_fx_build("pushover", &in, &r);
        assert_string_equal(r.url, "https://api.pushover.net/1/messages.json");
        assert_string_equal(backend_fx_header(&r, "Content-Type"),
                            "application/x-www-form-urlencoded");
#define EXPECT(name, want)                    \
        do {                                  \
                v = form_field(r.body, name); \
                assert_non_null(v);           \
                assert_string_equal(v, want); \
                free(v);                      \
        } while (0)
        EXPECT("token", TOKEN);
        EXPECT("user", USER);
        EXPECT("title", BACKEND_FX_TITLE);
        EXPECT("message", BACKEND_FX_TEXT);
        /* "-60m": an emergency, with the channel's retry and expire. */
        EXPECT("priority", "2");
        EXPECT("retry", "60");
        EXPECT("expire", "3600");
        assert_null(form_field(r.body, "url"));
        http_request_free(&r);

        /* A day before: high, no retry; the channel's url as the base;
         * the limits: title 250, message 1024 characters. */
        backend_fx_set_alert(job, "offset", "-1d");
        backend_fx_set_alert(job, "ack_url", "https://alerts.example/a/t");
        long_title = support_repeat("é", 300);
        long_text = support_repeat("x", 2000);
        backend_fx_input(&in, job, "http://127.0.0.1:8080/");
        in.title = long_title;
        in.text = long_text;
        in.ch = &ch;
        in.token = TOKEN;
        in.user = USER;
        backend_fx_build("pushover", &in, &r);
        assert_string_equal(r.url, "http://127.0.0.1:8080/1/messages.json");
        EXPECT("priority", "1");
        assert_null(form_field(r.body, "retry"));
        assert_null(form_field(r.body, "expire"));
        EXPECT("url", "https://alerts.example/a/t");
        EXPECT("url_title", "Acknowledge");
        v = form_field(r.body, "title");
        assert_int_equal(backend_fx_chars(v), 250);
        free(v);
        v = form_field(r.body, "message");
        assert_int_equal(backend_fx_chars(v), 1024);
        free(v);
        http_request_free(&r);

        /* The same a day before as an escalation: an emergency. */
        json_object_set_new(
            backend_fx_alert_of(job), "escalation",
            json_pack("{s:[s], s:[s]}", "to", "leaders", "alerted", "heads"));
        backend_fx_input(&in, job, NULL);
        in.ch = &ch;
        in.token = TOKEN;
        in.user = USER;
        backend_fx_build("pushover", &in, &r);
        EXPECT("priority", "2");
        EXPECT("retry", "60");
        EXPECT("expire", "3600");
        http_request_free(&r);
#undef EXPECT
        free(long_title);
        free(long_text);
        json_decref(job);
}

static struct http_response
response(long status, const char *body)
{
        return (struct http_response){ status, body,
                                       body != NULL ? strlen(body) : 0, -1,
                                       NULL };
}

static void
test_pushover_answers(void **state)
{
        const struct backend_ops *be = backend_find("pushover");
        struct http_response r;
        long ra;
        char *error, *note;

        (void)state;
        r = response(200, "{\"status\":1,\"request\":\"5042853c\","
                          "\"receipt\":\"rLqVuqTRh62UzxtmqiaLzQmVcPgiCy\"}");
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_DELIVERED);
        assert_null(error);
        note = be->note(&r);
        assert_string_equal(note, "pushover emergency receipt "
                                  "'rLqVuqTRh62UzxtmqiaLzQmVcPgiCy'");
        free(note);
        r = response(200, "{\"status\":1,\"request\":\"5042853c\"}");
        assert_null(be->note(&r));

        r = response(400, "{\"user\":\"invalid\",\"errors\":[\"user "
                          "identifier is not a valid user, group, or "
                          "subscribed user key\"],\"status\":0,"
                          "\"request\":\"5042853c\"}");
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_FAILED);
        assert_string_equal(error, "HTTP 400: user identifier is not a valid "
                                   "user, group, or subscribed user key");
        free(error);

        r = response(429, "{\"status\":0,\"errors\":[\"message limit "
                          "reached\"]}");
        r.retry_after = 60;
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 60);
        free(error);
        r = response(503, "<html>unavailable</html>");
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_RETRY);
        free(error);
        r = response(200, "{\"status\":0,\"errors\":[\"odd\"]}");
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_FAILED);
        free(error);
}

static void
test_pushover_receipt(void **state)
{
        static const char acked[] =
            "{\"status\":1,\"acknowledged\":1,\"acknowledged_at\":1360019238,"
            "\"acknowledged_by\":\"" USER "\",\"acknowledged_by_device\":"
            "\"iphone\",\"last_delivered_at\":1360001238,\"expired\":0,"
            "\"expires_at\":1360019290,\"called_back\":0,\"called_back_at\":"
            "0,\"request\":\"5042853c\"}";
        static const char waiting[] =
            "{\"status\":1,\"acknowledged\":0,\"acknowledged_at\":0,"
            "\"acknowledged_by\":\"\",\"acknowledged_by_device\":\"\","
            "\"last_delivered_at\":1360001238,\"expired\":0,\"expires_at\":"
            "1360019290,\"called_back\":0,\"called_back_at\":0,\"request\":"
            "\"r\"}";
        static const char *const bad[] = {
                "not json",
                "{\"status\":0,\"errors\":[\"receipt not found; may be "
                "invalid or expired\"]}",
                "{\"status\":1}",
                "{\"status\":1,\"acknowledged\":1,\"acknowledged_at\":0}",
        };
        struct pushover_receipt rc;
        char *cause = NULL, *url;

        (void)state;
        assert_int_equal(
            pushover_receipt_parse(acked, strlen(acked), &rc, &cause), 0);
        assert_true(rc.acknowledged);
        assert_int_equal(rc.acknowledged_at, 1360019238);
        assert_string_equal(rc.acknowledged_by, USER);
        assert_false(rc.expired);
        assert_int_equal(rc.expires_at, 1360019290);
        assert_int_equal(
            pushover_receipt_parse(waiting, strlen(waiting), &rc, &cause), 0);
        assert_false(rc.acknowledged);
        assert_string_equal(rc.acknowledged_by, "");
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(
                    pushover_receipt_parse(bad[i], strlen(bad[i]), &rc, &cause),
                    -1);
                assert_non_null(cause);
                free(cause);
                cause = NULL;
        }
        url = pushover_receipt_url(NULL, "rLqVuqTRh62UzxtmqiaLzQmVcPgiCy",
                                   "azGDORePK8gMaC0QOYAMyEEuzJnyUi");
        assert_string_equal(url, "https://api.pushover.net/1/receipts/"
                                 "rLqVuqTRh62UzxtmqiaLzQmVcPgiCy.json?token="
                                 "azGDORePK8gMaC0QOYAMyEEuzJnyUi");
        free(url);
}

/* --- SMS segments ------------------------------------------------------- */

static void
check_count(const char *text, bool gsm7, size_t units, size_t segments)
{
        struct sms_count c;

        sms_count(text, &c);
        if (c.gsm7 != gsm7 || c.units != units || c.segments != segments)
                fail_msg("'%.40s...': %s %zu units %zu segments, want %s %zu "
                         "%zu",
                         text, c.gsm7 ? "GSM-7" : "UCS-2", c.units, c.segments,
                         gsm7 ? "GSM-7" : "UCS-2", units, segments);
}

/* Each count below is worked out in the comment beside it. */
static void
test_sms_segments(void **state)
{
        static const struct {
                const char *unit; /* n times, then mid, then m 'a's */
                size_t n;
                const char *mid;
                size_t m;
                bool gsm7;
                size_t units, segments;
        } cases[] = {
                { "a", 0, "", 0, true, 0, 0 },
                /* 160 septets: one segment; 161: two of 153 + 8. */
                { "a", 160, "", 0, true, 160, 1 },
                { "a", 161, "", 0, true, 161, 2 },
                /* 306 = 2 x 153; 307 needs a third. */
                { "a", 306, "", 0, true, 306, 2 },
                { "a", 307, "", 0, true, 307, 3 },
                /* '@', '£', 'é', 'Δ' are in the default alphabet. */
                { "@£éΔ", 40, "", 0, true, 160, 1 },
                /* '€' is an extension: 2 septets. 80 = 160: one. */
                { "€", 80, "", 0, true, 160, 1 },
                /* 81 = 162: 76 a segment (152; a 77th would straddle 153),
                 * so 76 + 5: two. */
                { "€", 81, "", 0, true, 162, 2 },
                /* 152 'a' then '{': 154 > 153, the escape pair moves to
                 * the second segment; 152 + 2 + 10 = 164 septets, two. */
                { "a", 152, "{", 10, true, 164, 2 },
                /* 152 'a', '[' starting segment 2 (2 + 151 = 153), then
                 * one more 'a': 152 + 2 + 152 = 306 septets, yet three
                 * segments, where 306 plain ones fit two. */
                { "a", 152, "[", 152, true, 306, 3 },
                /* '`' is not GSM: UCS-2. 70 units: one; 71: two. */
                { "a", 69, "`", 0, false, 70, 1 },
                { "a", 70, "`", 0, false, 71, 2 },
                /* 'ł' (U+0142): UCS-2, one unit each. 134 = 2 x 67. */
                { "ł", 134, "", 0, false, 134, 2 },
                { "ł", 135, "", 0, false, 135, 3 },
                /* An emoji is a surrogate pair, 2 units: 35 = 70, one. */
                { "😀", 35, "", 0, false, 70, 1 },
                /* 36 = 72 units: 33 a segment (66; a 34th would straddle
                 * 67), so 33 + 3: two. */
                { "😀", 36, "", 0, false, 72, 2 },
                /* 66 'a' + emoji = 68 > 67: the pair moves on; + 4 'a'
                 * = 72 units, two segments. */
                { "a", 66, "😀", 4, false, 72, 2 },
                /* 67 'a' fill segment 1, the pair and 65 'a' segment 2;
                 * one more 'a' (67 + 2 + 66 = 135 units) needs a third. */
                { "a", 67, "😀", 65, false, 134, 2 },
                { "a", 67, "😀", 66, false, 135, 3 },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *u = support_repeat(cases[i].unit, cases[i].n);
                char *tail = support_repeat("a", cases[i].m), *t;

                t = malloc(strlen(u) + strlen(cases[i].mid) + cases[i].m + 1);
                assert_non_null(t);
                strcpy(t, u);
                strcat(t, cases[i].mid);
                strcat(t, tail);
                check_count(t, cases[i].gsm7, cases[i].units,
                            cases[i].segments);
                free(t);
                free(tail);
                free(u);
        }
}

/* Typographic characters made plain keep an English alert in GSM-7. */
static void
test_sms_plain(void **state)
{
        char *p = sms_plain("Oak — “due” ‘soon’ … x\ty");

        (void)state;
        assert_string_equal(p, "Oak - \"due\" 'soon' ... x y");
        check_count(p, true, strlen(p), 1);
        free(p);
}

/* The fit: whole when it fits, else cut at a character to two segments,
 * the link uncut at the end. */
static void
test_sms_fit(void **state)
{
        struct sms_count c;
        char *fit, *long_text, *emoji;
        const char *link = "https://alerts.example/a/Zx8";

        (void)state;
        fit = sms_fit("Oak — due 16:30", "Ask now.", NULL);
        assert_string_equal(fit, "Oak - due 16:30\nAsk now.");
        free(fit);

        long_text = support_repeat("a", 400);
        fit = sms_fit("T", long_text, link);
        sms_count(fit, &c);
        assert_true(c.gsm7);
        /* 306 septets in all: "T\n", 'a's, "...", "\n" and the link (28):
         * 2 + n + 3 + 1 + 28 = 306, n = 272. */
        assert_int_equal(c.units, 306);
        assert_int_equal(c.segments, 2);
        assert_int_equal(strspn(fit + 2, "a"), 272);
        assert_string_equal(fit + 2 + 272, "...\nhttps://alerts.example/a/Zx8");
        free(fit);

        /* UCS-2: emoji never cut in half. "T\n" 2 units, each emoji 2,
         * "..." 3, so 2 + 2k + 3 <= 134 in two segments of 67 with no
         * pair straddling: k = 64 gives 2 + 128 + 3 = 133: segment 1
         * holds "T\n" and 32 emoji (66), segment 2 the other 32 (64) and
         * "..." (67). */
        emoji = support_repeat("😀", 100);
        fit = sms_fit("T", emoji, NULL);
        sms_count(fit, &c);
        assert_false(c.gsm7);
        assert_int_equal(c.segments, 2);
        assert_int_equal(c.units, 133);
        assert_int_equal(strlen(fit), 2 + 64 * 4 + 3);
        free(fit);
        free(emoji);
        free(long_text);
}

/* --- SMS requests --------------------------------------------------------- */

static void
test_sms_twilio(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB);
        struct channel ch = channel_of(CHANNEL_SMS);
        struct backend_input in;
        struct http_request r;
        char *v, want[128], b64[96];

        (void)state;
        ch.profile = SMS_TWILIO;
        backend_fx_input(&in, job, NULL);
        in.ch = &ch;
        in.token = TOKEN;
        backend_fx_build("sms", &in, &r);
        assert_string_equal(r.url, "https://api.twilio.com/2010-04-01/"
                                   "Accounts/" SID "/Messages.json");
        v = form_field(r.body, "To");
        assert_string_equal(v, "+447700900123");
        free(v);
        v = form_field(r.body, "From");
        assert_string_equal(v, "+447700900999");
        free(v);
        v = form_field(r.body, "Body");
        assert_string_equal(v, "Oak Primary: deferral_cutoff - due Mon 4 Mar "
                               "2024 16:30 GMT\n" BACKEND_FX_TEXT);
        free(v);
        sodium_bin2base64(
            b64, sizeof(b64), (const unsigned char *)SID ":" TOKEN,
            strlen(SID ":" TOKEN), sodium_base64_VARIANT_ORIGINAL);
        snprintf(want, sizeof(want), "Basic %s", b64);
        assert_string_equal(backend_fx_header(&r, "Authorization"), want);
        http_request_free(&r);

        ch.from = "";
        ch.messaging_service = "MG0123456789abcdef0123456789abcdef";
        backend_fx_build("sms", &in, &r);
        assert_null(form_field(r.body, "From"));
        v = form_field(r.body, "MessagingServiceSid");
        assert_string_equal(v, "MG0123456789abcdef0123456789abcdef");
        free(v);
        http_request_free(&r);
        json_decref(job);
}

static void
test_sms_firetext_generic(void **state)
{
        json_t *job = support_json(BACKEND_FX_JOB), *b;
        struct channel ch = channel_of(CHANNEL_SMS);
        struct backend_input in;
        struct http_request r;
        char *v;

        (void)state;
        ch.profile = SMS_FIRETEXT;
        ch.from = "OakTrust";
        backend_fx_input(&in, job, NULL);
        in.ch = &ch;
        in.token = TOKEN;
        backend_fx_build("sms", &in, &r);
        assert_string_equal(r.url,
                            "https://www.firetext.co.uk/api/sendsms/json");
        v = form_field(r.body, "apiKey");
        assert_string_equal(v, TOKEN);
        free(v);
        v = form_field(r.body, "to");
        assert_string_equal(v, "447700900123");
        free(v);
        v = form_field(r.body, "from");
        assert_string_equal(v, "OakTrust");
        free(v);
        assert_null(backend_fx_header(&r, "Authorization"));
        http_request_free(&r);

        ch.profile = SMS_GENERIC;
        ch.body = "{\"to\": \"{{to}}\", \"text\": \"{{message}}\", "
                  "\"school\": \"{{school}}\"}";
        backend_fx_set_alert(job, "ack_url", "https://alerts.example/a/Q");
        backend_fx_input(&in, job, "https://sms.example/send");
        in.ch = &ch;
        in.token = NULL;
        backend_fx_build("sms", &in, &r);
        assert_string_equal(r.url, "https://sms.example/send");
        assert_string_equal(backend_fx_header(&r, "Content-Type"),
                            "application/json");
        b = support_json(r.body);
        backend_fx_assert_str(b, "to", "+447700900123");
        backend_fx_assert_str(b, "school", "Oak Primary");
        backend_fx_assert_str(b, "text",
                              "Oak Primary: deferral_cutoff - due Mon 4 Mar "
                              "2024 16:30 GMT\n" BACKEND_FX_TEXT
                              "\nhttps://alerts.example/a/Q");
        json_decref(b);
        http_request_free(&r);
        json_decref(job);
}

static void
test_sms_answers(void **state)
{
        const struct backend_ops *be = backend_find("sms");
        struct http_response r;
        long ra;
        char *error;

        (void)state;
        r = response(201, "{\"sid\":\"SM0123\",\"status\":\"queued\","
                          "\"error_code\":null}");
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_DELIVERED);
        r = response(400, "{\"code\":21211,\"message\":\"The 'To' number "
                          "is not a valid phone number.\",\"more_info\":"
                          "\"https://www.twilio.com/docs/errors/21211\","
                          "\"status\":400}");
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_FAILED);
        assert_non_null(strstr(error, "The 'To' number is not a valid"));
        free(error);
        r = response(429, "{\"code\":20429,\"message\":\"Too Many "
                          "Requests\",\"status\":429}");
        r.retry_after = 5;
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_RETRY);
        assert_int_equal(ra, 5);
        free(error);
        r = response(200, "{\"code\":0,\"description\":\"SMS successfully "
                          "queued\"}");
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_DELIVERED);
        r = response(200, "{\"code\":1,\"description\":\"Authentication "
                          "error\"}");
        assert_int_equal(be->classify(&r, &ra, &error), OUTCOME_FAILED);
        assert_string_equal(
            error, "HTTP 200 but gateway code 1: Authentication error");
        free(error);
}

UNIT_MAIN({
    cmocka_unit_test(test_ntfy_headers),
    cmocka_unit_test(test_ntfy_priority),
    cmocka_unit_test(test_pushover_form),
    cmocka_unit_test(test_pushover_answers),
    cmocka_unit_test(test_pushover_receipt),
    cmocka_unit_test(test_sms_segments),
    cmocka_unit_test(test_sms_plain),
    cmocka_unit_test(test_sms_fit),
    cmocka_unit_test(test_sms_twilio),
    cmocka_unit_test(test_sms_firetext_generic),
    cmocka_unit_test(test_sms_answers),
})
