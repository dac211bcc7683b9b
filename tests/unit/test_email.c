/*
 * Unit tests for email: RFC 2047 encoding (decoded here with libsodium's
 * base64 decoder and compared), the headers of a built message (Date's
 * RFC 5322 form, a Message-ID that is the same on every build of the same
 * delivery, the encoded Subject and From), recipients and MAIL FROM, the
 * text part and the attached calendar, refused header injection, and the
 * classification of SMTP results. The message is checked at the header
 * and part level; the integration tests check the wire format against a
 * real SMTP server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "email.h"
#include "support.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLE_JOB                                                     \
        "{\"delivery\": \"3f2a9c0d5e\", \"lease\": 17, \"attempt\": 2," \
        " \"channel\": \"heads\", \"type\": \"email\","                 \
        " \"alert\": " SUPPORT_ALERT "}"

#define NOW   1709566200 /* 2024-03-04T15:30:00Z, a Monday */
#define HOST  "worker1.trust.example"
#define FROM  "Ofsted alerts <alerts@trust.example>"
#define WELSH "Ysgol Gynradd Llanfair Pwllgwyngyll — ‘Ofsted’"

static char *recipients[] = { "head@oak.example", "deputy@oak.example" };

/* --- Helpers ------------------------------------------------------------ */

static void
input(struct email_input *in, json_t *job)
{
        memset(in, 0, sizeof(*in));
        in->job = job;
        in->from = FROM;
        in->to = recipients;
        in->nto = 2;
        in->subject = "Oak Primary: deferral_cutoff — due Mon 4 Mar 2024 "
                      "16:30 GMT";
        in->text = "Ask before 16:30.\nDeadline: Mon 4 Mar 2024 16:30 GMT.\n"
                   "Contact: Senior Ofsted leader: 0300 123 4231";
        in->host = HOST;
        in->now = NOW;
}

/* The value of header `name` in the list ("Name: value"), or NULL. */
static const char *
header(const struct curl_slist *l, const char *name)
{
        size_t n = strlen(name);

        for (; l != NULL; l = l->next) {
                if (strncmp(l->data, name, n) == 0 && l->data[n] == ':' &&
                    l->data[n + 1] == ' ')
                        return l->data + n + 2;
        }
        return NULL;
}

static size_t
list_len(const struct curl_slist *l)
{
        size_t n = 0;

        for (; l != NULL; l = l->next)
                n++;
        return n;
}

/*
 * Decodes a header value made of RFC 2047 B-words folded with CRLF SP,
 * checking each word: at most 75 characters, whole UTF-8 characters, and
 * lines (with `prefix` characters before the first) within 76. Returns
 * the text, caller frees.
 */
static char *
decode_words(const char *value, size_t prefix)
{
        char *out = calloc(1, strlen(value) + 1);
        size_t outlen = 0;
        const char *p = value;

        assert_non_null(out);
        for (;;) {
                const char *end = strstr(p, "\r\n ");
                size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
                unsigned char bin[128];
                size_t binlen;

                if (n > 75)
                        fail_msg("encoded word of %zu characters", n);
                if (prefix + n > 76)
                        fail_msg("a line of %zu characters", prefix + n);
                if (n < 12 || strncmp(p, "=?UTF-8?B?", 10) != 0 ||
                    strncmp(p + n - 2, "?=", 2) != 0)
                        fail_msg("not an encoded word: %.*s", (int)n, p);
                if (sodium_base642bin(bin, sizeof(bin), p + 10, n - 12, NULL,
                                      &binlen, NULL,
                                      sodium_base64_VARIANT_ORIGINAL) != 0)
                        fail_msg("bad base64: %.*s", (int)n, p);
                if (!support_utf8_whole(bin, binlen))
                        fail_msg("a word splits a character: %.*s", (int)n, p);
                memcpy(out + outlen, bin, binlen);
                outlen += binlen;
                if (end == NULL)
                        break;
                p = end + 3;
                prefix = 1;
        }
        out[outlen] = '\0';
        return out;
}

/* Builds the example message; fails the test if it cannot. */
static void
build(CURL *easy, const struct email_input *in, struct email_msg *m)
{
        char *cause = NULL;

        if (email_build(easy, in, m, &cause) < 0)
                fail_msg("email_build: %s", cause);
        assert_null(cause);
}

/* --- RFC 2047 ----------------------------------------------------------- */

static void
test_encode_ascii(void **state)
{
        char *s;

        (void)state;
        s = email_encode_header("Oak Primary: deferral_cutoff due 16:30");
        assert_string_equal(s, "Oak Primary: deferral_cutoff due 16:30");
        free(s);
        s = email_encode_header("");
        assert_string_equal(s, "");
        free(s);
        /* ASCII that reads like an encoded word is encoded, so that a
         * reader shows it as written. */
        s = email_encode_header("=?UTF-8?B?eA==?=");
        assert_non_null(strstr(s, "=?UTF-8?B?"));
        assert_string_not_equal(s, "=?UTF-8?B?eA==?=");
        free(s);
}

static void
test_encode_utf8(void **state)
{
        static const char *const texts[] = {
                WELSH,
                "é",
                "😀",
                /* 2-, 3- and 4-octet characters at every alignment. */
                ("aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀"
                 "aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀aé日😀"),
        };

        (void)state;
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                char *enc = email_encode_header(texts[i]);
                char *dec = decode_words(enc, strlen("Subject: "));

                assert_string_equal(dec, texts[i]);
                free(dec);
                free(enc);
        }
        /* The long one takes several words. */
        {
                char *enc = email_encode_header(texts[3]);

                assert_true(strstr(enc, "?=\r\n =?UTF-8?B?") != NULL);
                free(enc);
        }
}

/* --- The message -------------------------------------------------------- */

/* What a message test builds from: the example job, a handle and the
 * input made of them (cmocka setup and teardown). */
struct mail {
        json_t *job;
        CURL *easy;
        struct email_input in;
};

static int
mail_setup(void **state)
{
        struct mail *t = calloc(1, sizeof(*t));

        if (t == NULL)
                return -1;
        t->job = support_json(EXAMPLE_JOB);
        t->easy = curl_easy_init();
        if (t->easy == NULL) {
                json_decref(t->job);
                free(t);
                return -1;
        }
        input(&t->in, t->job);
        *state = t;
        return 0;
}

static int
mail_teardown(void **state)
{
        struct mail *t = *state;

        curl_easy_cleanup(t->easy);
        json_decref(t->job);
        free(t);
        return 0;
}

static void
test_build_headers(void **state)
{
        struct mail *t = *state;
        struct email_msg m;
        const char *date;
        char wd[4], mon[4], *dec;
        int d, y, h, mi, s, n = 0;

        build(t->easy, &t->in, &m);

        /* RFC 5322 date-time, in UTC. */
        date = header(m.headers, "Date");
        assert_non_null(date);
        assert_string_equal(date, "Mon, 04 Mar 2024 15:30:00 +0000");
        assert_int_equal(sscanf(date,
                                "%3[A-Za-z], %2d %3[A-Za-z] %4d "
                                "%2d:%2d:%2d +0000%n",
                                wd, &d, mon, &y, &h, &mi, &s, &n),
                         7);
        assert_int_equal((size_t)n, strlen(date));

        assert_string_equal(header(m.headers, "From"), FROM);
        assert_string_equal(header(m.headers, "To"),
                            "head@oak.example, deputy@oak.example");
        /* The em dash makes the subject non-ASCII: encoded words. */
        dec = decode_words(header(m.headers, "Subject"), strlen("Subject: "));
        assert_string_equal(dec, t->in.subject);
        free(dec);
        assert_string_equal(header(m.headers, "Message-ID"),
                            "<3f2a9c0d5e@" HOST ">");
        assert_string_equal(m.message_id, "<3f2a9c0d5e@" HOST ">");
        assert_string_equal(header(m.headers, "X-Ofsted-Notify-Delivery"),
                            "3f2a9c0d5e");
        assert_string_equal(header(m.headers, "Auto-Submitted"),
                            "auto-generated");
        /* libcurl writes MIME-Version and Content-Type itself. */
        assert_null(header(m.headers, "MIME-Version"));
        assert_null(header(m.headers, "Content-Type"));
        assert_int_equal(list_len(m.headers), 7);

        assert_string_equal(m.mail_from, "<alerts@trust.example>");
        assert_int_equal(list_len(m.rcpt), 2);
        assert_string_equal(m.rcpt->data, "<head@oak.example>");
        assert_string_equal(m.rcpt->next->data, "<deputy@oak.example>");
        assert_non_null(m.mime);

        email_msg_free(&m);
        assert_null(m.headers);
        assert_null(m.mime);
        email_msg_free(&m); /* twice is harmless */
        email_msg_free(NULL);
}

/* A retry builds the same Message-ID (another attempt, another handle,
 * another clock); another delivery builds another. */
static void
test_message_id_stable(void **state)
{
        struct mail *t = *state;
        CURL *b = curl_easy_init();
        struct email_msg m1, m2;

        assert_non_null(b);
        build(t->easy, &t->in, &m1);
        json_object_set_new(t->job, "attempt", json_integer(3));
        t->in.now = NOW + 3600;
        build(b, &t->in, &m2);
        assert_string_equal(m1.message_id, m2.message_id);
        assert_string_equal(header(m1.headers, "Message-ID"),
                            header(m2.headers, "Message-ID"));
        assert_string_not_equal(header(m1.headers, "Date"),
                                header(m2.headers, "Date"));
        email_msg_free(&m2);

        json_object_set_new(t->job, "delivery", json_string("77aa"));
        build(b, &t->in, &m2);
        assert_string_equal(m2.message_id, "<77aa@" HOST ">");
        email_msg_free(&m1);
        email_msg_free(&m2);
        curl_easy_cleanup(b);
}

static void
test_subject_encoded(void **state)
{
        struct mail *t = *state;
        struct email_msg m;
        char *dec;

        t->in.subject = WELSH;
        build(t->easy, &t->in, &m);
        dec = decode_words(header(m.headers, "Subject"), strlen("Subject: "));
        assert_string_equal(dec, WELSH);
        free(dec);
        email_msg_free(&m);

        /* Plain ASCII goes as it is. */
        t->in.subject = "Oak Primary: deferral_cutoff deadline";
        build(t->easy, &t->in, &m);
        assert_string_equal(header(m.headers, "Subject"),
                            "Oak Primary: deferral_cutoff deadline");
        email_msg_free(&m);

        /* No subject given: the default title, rendered from the job. */
        t->in.subject = NULL;
        build(t->easy, &t->in, &m);
        dec = decode_words(header(m.headers, "Subject"), strlen("Subject: "));
        assert_string_equal(dec, "Oak Primary: deferral_cutoff — due Mon 4 "
                                 "Mar 2024 16:30 GMT");
        free(dec);
        email_msg_free(&m);
}

static void
test_from_forms(void **state)
{
        static const struct {
                const char *from;
                const char *header; /* NULL: a non-ASCII name, decoded */
                const char *name;
        } cases[] = {
                { "alerts@trust.example", "alerts@trust.example", NULL },
                { "  <alerts@trust.example> ", "alerts@trust.example", NULL },
                { "Ofsted alerts <alerts@trust.example>",
                  "Ofsted alerts <alerts@trust.example>", NULL },
                /* RFC 5322 specials in a name are quoted. */
                { "St. Mary's Trust <alerts@trust.example>",
                  "\"St. Mary's Trust\" <alerts@trust.example>", NULL },
                { "A \"B\" C, D <alerts@trust.example>",
                  "\"A \\\"B\\\" C, D\" <alerts@trust.example>", NULL },
                { "\"Already, quoted\" <alerts@trust.example>",
                  "\"Already, quoted\" <alerts@trust.example>", NULL },
                { "Rhybuddion Ofsted – Ymddiriedolaeth <alerts@trust.example>",
                  NULL, "Rhybuddion Ofsted – Ymddiriedolaeth" },
        };
        struct mail *t = *state;
        struct email_msg m;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *h;

                t->in.from = cases[i].from;
                build(t->easy, &t->in, &m);
                h = header(m.headers, "From");
                assert_string_equal(m.mail_from, "<alerts@trust.example>");
                if (cases[i].header != NULL) {
                        assert_string_equal(h, cases[i].header);
                } else {
                        const char *lt = strrchr(h, '<');
                        char *words, *dec;
                        size_t n;

                        assert_non_null(lt);
                        assert_string_equal(lt, "<alerts@trust.example>");
                        n = (size_t)(lt - h);
                        /* The words, without the space or fold before
                         * the address. */
                        while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\n' ||
                                         h[n - 1] == '\r'))
                                n--;
                        words = strndup(h, n);
                        dec = decode_words(words, strlen("From: "));
                        assert_string_equal(dec, cases[i].name);
                        free(dec);
                        free(words);
                }
                email_msg_free(&m);
        }
}

static void
test_many_recipients(void **state)
{
        struct mail *t = *state;
        char *to[12], buf[12][40];
        struct email_msg m;
        const char *h, *p;
        size_t line = strlen("To: ");

        for (int i = 0; i < 12; i++) {
                snprintf(buf[i], sizeof(buf[i]), "governor%02d@school.example",
                         i);
                to[i] = buf[i];
        }
        t->in.to = to;
        t->in.nto = 12;
        build(t->easy, &t->in, &m);
        assert_int_equal(list_len(m.rcpt), 12);
        h = header(m.headers, "To");
        /* Folded after commas, lines within 78. */
        for (p = h; *p != '\0'; p++) {
                if (p[0] == '\r') {
                        assert_true(p[1] == '\n' && p[2] == ' ' &&
                                    p[-1] == ',');
                        assert_true(line <= 78);
                        line = 0;
                        p++;
                        continue;
                }
                line++;
        }
        assert_true(line <= 78);
        assert_non_null(strstr(h, "governor11@school.example"));
        email_msg_free(&m);
}

static void
test_parts(void **state)
{
        struct mail *t = *state;
        struct email_msg m;
        char *u;

        build(t->easy, &t->in, &m);
        /* The text says the deadline and the contact already: as it is,
         * with CRLF line ends. */
        assert_string_equal(m.text,
                            "Ask before 16:30.\r\n"
                            "Deadline: Mon 4 Mar 2024 16:30 GMT.\r\n"
                            "Contact: Senior Ofsted leader: 0300 123 4231\r\n");
        /* The deadline as a half-hour event ending at it, the same UID as
         * ofsted-notifyctl ics writes: case, rule, the sender's domain. */
        assert_non_null(
            strstr(m.ics, "\r\nUID:7-deferral_cutoff@trust.example\r\n"));
        assert_non_null(strstr(m.ics, "\r\nDTSTAMP:20240304T153000Z\r\n"));
        assert_non_null(strstr(m.ics, "\r\nDTSTART:20240304T160000Z\r\n"));
        assert_non_null(strstr(m.ics, "\r\nDTEND:20240304T163000Z\r\n"));
        assert_non_null(strstr(m.ics, "\r\nSUMMARY:Oak Primary: "
                                      "deferral_cutoff deadline\r\n"));
        u = support_unfold(m.ics);
        assert_non_null(strstr(u, "\r\nDESCRIPTION:If you need to ask for a "
                                  "deferral\\, ask before 16:30.\\nContact: "
                                  "Senior Ofsted leader: 0300 123 4231\r\n"));
        free(u);
        assert_non_null(strstr(m.ics, "\r\nTRIGGER:-PT30M\r\n"));
        assert_non_null(strstr(m.ics, "\r\nMETHOD:PUBLISH\r\n"));
        email_msg_free(&m);

        /* An admin's text without them gets a line saying both; a window
         * starts the event at its opening. */
        t->in.text = "Time to act.";
        json_object_set_new(json_object_get(t->job, "alert"), "opens",
                            json_string("2024-03-04T08:00:00+00:00"));
        json_object_set_new(json_object_get(t->job, "alert"), "opens_human",
                            json_string("Mon 4 Mar 2024 08:00 GMT"));
        build(t->easy, &t->in, &m);
        assert_string_equal(m.text,
                            "Time to act.\r\n\r\n"
                            "Deadline: Mon 4 Mar 2024 16:30 GMT (the window "
                            "opens Mon 4 Mar 2024 08:00 GMT). Contact: Senior "
                            "Ofsted leader: 0300 123 4231.\r\n");
        assert_non_null(strstr(m.ics, "\r\nDTSTART:20240304T080000Z\r\n"));
        assert_non_null(strstr(m.ics, "\r\nDTEND:20240304T163000Z\r\n"));
        email_msg_free(&m);

        /* A window opening given in BST is read with its offset. */
        json_object_set_new(json_object_get(t->job, "alert"), "opens",
                            json_string("2024-03-04T09:00:00+01:00"));
        build(t->easy, &t->in, &m);
        assert_non_null(strstr(m.ics, "\r\nDTSTART:20240304T080000Z\r\n"));
        email_msg_free(&m);
}

/* Building from t->in is refused with a cause (containing `word`, unless
 * NULL) and leaves nothing built. */
static void
assert_refused(struct mail *t, const char *word)
{
        struct email_msg m;
        char *cause = NULL;

        memset(&m, 0xa5, sizeof(m)); /* so that "nothing built" is seen */
        if (email_build(t->easy, &t->in, &m, &cause) != -1)
                fail_msg("built with from '%s', subject '%s', host '%s'",
                         t->in.from ? t->in.from : "(null)",
                         t->in.subject ? t->in.subject : "(null)",
                         t->in.host ? t->in.host : "(null)");
        assert_non_null(cause);
        if (word != NULL && strstr(cause, word) == NULL)
                fail_msg("the cause '%s' does not say '%s'", cause, word);
        assert_null(m.headers);
        assert_null(m.mime);
        assert_null(m.mail_from);
        free(cause);
}

/* Nothing from a job, a template or the config can add a header. */
static void
test_injection_refused(void **state)
{
        struct mail *t = *state;
        char *bad_to[] = { "head@oak.example\r\nBcc: x@evil.example" };

        t->in.subject = "Deadline\r\nBcc: x@evil.example";
        assert_refused(t, "subject");

        t->in.subject = "tab\there";
        assert_refused(t, NULL);

        /* Also non-ASCII, where encoding would otherwise hide it. */
        t->in.subject = "Ysgol — \nBcc: x@evil.example";
        assert_refused(t, NULL);

        input(&t->in, t->job);
        t->in.from = "Alerts <alerts@trust.example>\nBcc: x@evil.example";
        assert_refused(t, "email.from");

        input(&t->in, t->job);
        t->in.to = bad_to;
        t->in.nto = 1;
        assert_refused(t, "recipient 1");

        input(&t->in, t->job);
        t->in.host = "host\r\nBcc: x";
        assert_refused(t, NULL);

        /* A delivery id is an identifier, not header text. */
        input(&t->in, t->job);
        json_object_set_new(t->job, "delivery", json_string("a\r\nBcc: x"));
        assert_refused(t, NULL);
}

static void
test_bad_input(void **state)
{
        static const char *const froms[] = {
                NULL,
                "",
                "no address",
                "Name <a@b",
                "Name <a@b> trailing",
                "Name <>",
                "<a b@c>",
        };
        struct mail *t = *state;

        for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
                input(&t->in, t->job);
                t->in.from = froms[i];
                assert_refused(t, NULL);
        }

        input(&t->in, t->job);
        t->in.nto = 0;
        assert_refused(t, NULL);

        input(&t->in, t->job);
        t->in.host = "";
        assert_refused(t, NULL);

        json_object_set_new(json_object_get(t->job, "alert"), "due_utc",
                            json_string("2024-03-04 16:30"));
        input(&t->in, t->job);
        assert_refused(t, "due_utc");
        json_decref(t->job);

        t->job = support_json(EXAMPLE_JOB);
        json_object_del(json_object_get(t->job, "alert"), "case");
        input(&t->in, t->job);
        assert_refused(t, "case");
}

/* --- Classification ----------------------------------------------------- */

static void
test_classify(void **state)
{
        static const struct {
                CURLcode rc;
                long code;
                enum outcome want;
                const char *error; /* a substring; NULL: none */
        } cases[] = {
                { CURLE_OK, 250, OUTCOME_DELIVERED, NULL },
                { CURLE_LOGIN_DENIED, 535, OUTCOME_FAILED,
                  "authentication refused" },
                { CURLE_LOGIN_DENIED, 0, OUTCOME_FAILED,
                  "authentication refused" },
                { CURLE_USE_SSL_FAILED, 250, OUTCOME_FAILED,
                  "the server does not offer STARTTLS, which tls = "
                  "\"starttls\" requires" },
                { CURLE_USE_SSL_FAILED, 0, OUTCOME_FAILED, "STARTTLS" },
                { CURLE_USE_SSL_FAILED, 454, OUTCOME_RETRY, "SMTP 454" },
                { CURLE_SEND_ERROR, 550, OUTCOME_FAILED,
                  "SMTP 550 from the relay" },
                { CURLE_RECV_ERROR, 554, OUTCOME_FAILED,
                  "SMTP 554 from the relay" },
                { CURLE_SEND_ERROR, 552, OUTCOME_FAILED, "SMTP 552" },
                { CURLE_RECV_ERROR, 421, OUTCOME_RETRY,
                  "SMTP 421 from the relay" },
                { CURLE_SEND_ERROR, 451, OUTCOME_RETRY, "SMTP 451" },
                { CURLE_WEIRD_SERVER_REPLY, 452, OUTCOME_RETRY, "SMTP 452" },
                { CURLE_SEND_ERROR, 0, OUTCOME_RETRY, "SMTP: " },
                { CURLE_RECV_ERROR, 0, OUTCOME_RETRY, "SMTP: " },
                { CURLE_COULDNT_CONNECT, 0, OUTCOME_RETRY, "SMTP: " },
                { CURLE_OPERATION_TIMEDOUT, 0, OUTCOME_RETRY, "SMTP: " },
                { CURLE_COULDNT_RESOLVE_HOST, 0, OUTCOME_RETRY, "SMTP: " },
                { CURLE_OPERATION_TIMEDOUT, 250, OUTCOME_RETRY, "SMTP: " },
                { CURLE_PEER_FAILED_VERIFICATION, 0, OUTCOME_RETRY, "SMTP: " },
                { CURLE_URL_MALFORMAT, 0, OUTCOME_FAILED, "SMTP: " },
                { CURLE_UNSUPPORTED_PROTOCOL, 0, OUTCOME_FAILED, "SMTP: " },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *error = (char *)"unset";
                enum outcome o =
                    email_classify(cases[i].rc, cases[i].code, &error);

                if (o != cases[i].want)
                        fail_msg("case %zu (curl %d, SMTP %ld): %s, want %s", i,
                                 (int)cases[i].rc, cases[i].code,
                                 outcome_name(o), outcome_name(cases[i].want));
                if (cases[i].error == NULL) {
                        assert_null(error);
                        continue;
                }
                assert_non_null(error);
                if (strstr(error, cases[i].error) == NULL)
                        fail_msg("case %zu: '%s' lacks '%s'", i, error,
                                 cases[i].error);
                /* Short, one line, and no URL (which could hold a user). */
                assert_true(strlen(error) <= 120);
                assert_null(strchr(error, '\n'));
                assert_null(strstr(error, "://"));
                free(error);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode_ascii),
                cmocka_unit_test(test_encode_utf8),
                cmocka_unit_test_setup_teardown(test_build_headers, mail_setup,
                                                mail_teardown),
                cmocka_unit_test_setup_teardown(test_message_id_stable,
                                                mail_setup, mail_teardown),
                cmocka_unit_test_setup_teardown(test_subject_encoded,
                                                mail_setup, mail_teardown),
                cmocka_unit_test_setup_teardown(test_from_forms, mail_setup,
                                                mail_teardown),
                cmocka_unit_test_setup_teardown(test_many_recipients,
                                                mail_setup, mail_teardown),
                cmocka_unit_test_setup_teardown(test_parts, mail_setup,
                                                mail_teardown),
                cmocka_unit_test_setup_teardown(test_injection_refused,
                                                mail_setup, mail_teardown),
                cmocka_unit_test_setup_teardown(test_bad_input, mail_setup,
                                                mail_teardown),
                cmocka_unit_test(test_classify),
        };
        int rc;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return 1;
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return rc;
}
