/*
 * Unit tests for the channels that reach a phone (conf_phone.c): E.164
 * numbers, an ntfy, a pushover and an sms channel of each profile read
 * with their defaults, and every fault at its own line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"
#include "conf_fixture.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE                                                                \
        "trust = { name = \"T\"; holidays = \"" CONF_FX_HOLIDAYS "\"; };\n" \
        "schools = ( );\n"                                                  \
        "rules = ( );\n"

#define SID "AC0123456789abcdef0123456789abcdef"

/* E.164: '+', a country code not starting with 0, 8 to 15 digits. */
static void
test_e164(void **state)
{
        static const struct {
                const char *s;
                bool ok;
        } cases[] = {
                { "+447700900123", true },      /* UK mobile, 12 digits */
                { "+14155550100", true },       /* US, 11 */
                { "+12345678", true },          /* 8 digits: the shortest */
                { "+123456789012345", true },   /* 15: the longest */
                { "+1234567", false },          /* 7 */
                { "+1234567890123456", false }, /* 16 */
                { "447700900123", false },      /* no '+' */
                { "07700900123", false },       /* national form */
                { "+07700900123", false },      /* country code 0 */
                { "+44 7700 900123", false },   /* spaces */
                { "+44-7700-900123", false },   { "+", false }, { "", false },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (conf_valid_e164(cases[i].s) != cases[i].ok)
                        fail_msg("'%s': want %s", cases[i].s,
                                 cases[i].ok ? "valid" : "invalid");
        }
        assert_false(conf_valid_e164(NULL));
}

/* One channel of each kind, with what each takes by default. */
static void
test_phone_channels(void **state)
{
        const struct channel *ch;
        struct conf *c = conf_fx_load_ok(
            *state, "phone.conf",
            BASE
            "channels = (\n"
            "  { name = \"n\"; type = \"ntfy\"; url_file = \"ntfy.url\"; },\n"
            "  { name = \"n2\"; type = \"ntfy\";\n"
            "    url = \"https://ntfy.example/t\"; priority = \"low\";\n"
            "    token_file = \"ntfy.token\"; },\n"
            "  { name = \"p\"; type = \"pushover\"; token_file = \"po.app\";\n"
            "    user_key_file = \"po.user\"; },\n"
            "  { name = \"tw\"; type = \"sms\"; profile = \"twilio\";\n"
            "    to = [ \"+447700900123\" ]; account = \"" SID "\";\n"
            "    from = \"+447700900999\"; token_file = \"tw.token\"; },\n"
            "  { name = \"ft\"; type = \"sms\"; profile = \"firetext\";\n"
            "    to = [ \"+447700900124\" ]; from = \"OakTrust\";\n"
            "    token_file = \"ft.key\"; },\n"
            "  { name = \"g\"; type = \"sms\"; profile = \"generic\";\n"
            "    to = [ \"+447700900125\" ];\n"
            "    url = \"https://sms.example/send\";\n"
            "    body = \"{\\\"to\\\": \\\"{{to}}\\\", \\\"text\\\": "
            "\\\"{{message}}\\\"}\"; }\n"
            ");\n");
        ch = conf_channel(c, "n");
        assert_int_equal(ch->type, CHANNEL_NTFY);
        assert_int_equal(ch->priority, NTFY_HIGH);
        assert_string_equal(conf_ntfy_priority_name(ch->priority), "high");
        assert_string_equal(ch->token_file, "");
        assert_int_equal(conf_channel(c, "n2")->priority, NTFY_LOW);
        ch = conf_channel(c, "p");
        assert_int_equal(ch->type, CHANNEL_PUSHOVER);
        assert_int_equal(ch->retry, 60);
        assert_int_equal(ch->expire, 3600);
        assert_string_equal(ch->user_key_file, "po.user");
        ch = conf_channel(c, "tw");
        assert_int_equal(ch->profile, SMS_TWILIO);
        assert_int_equal(ch->nto, 1);
        assert_string_equal(ch->to[0], "+447700900123");
        assert_string_equal(ch->account, SID);
        assert_int_equal(conf_channel(c, "ft")->profile, SMS_FIRETEXT);
        assert_int_equal(conf_channel(c, "g")->profile, SMS_GENERIC);
        /* Other types' optional strings are "" too. */
        assert_string_equal(conf_channel(c, "g")->user_key_file, "");
        conf_destroy(&c);
}

/* Every fault, each at its own line. */
static void
test_phone_errors(void **state)
{
        static const struct conf_fx_error want[] = {
                { 5, "priority 'loud' must be one of \"min\", \"low\", "
                     "\"default\", \"high\", \"urgent\"" },
                { 6, "channel 'n2' needs exactly one of 'url' and "
                     "'url_file'" },
                { 7, "unknown key 'to' in ntfy channel" },
                { 8, "pushover channel 'p' needs 'user_key_file'" },
                { 9, "'retry' must be between 30 and 10800, not 10" },
                { 10, "sms channel 't1' sends to one number: make a channel "
                      "for each" },
                { 10, "'+4477' is not a phone number in E.164" },
                { 11, "sms channel 't2' sends to one number" },
                { 12, "twilio channel 't3' needs 'account'" },
                { 13, "twilio channel 't4' needs exactly one of 'from' and "
                      "'messaging_service'" },
                { 15, "number '+447700900132' is already channel 't3''s" },
                { 16, "from 'Oak Primary School' is neither a number in "
                      "E.164 nor a sender name" },
                { 17, "body: unknown placeholder '{{phone}}'" },
                { 18, "sms channel 'np' needs 'profile'" },
        };

        conf_fx_assert_refused(
            *state, "bad_phone.conf",
            BASE             /* 1-3 */
            "channels = (\n" /* 4 */
            "  { name = \"n\"; type = \"ntfy\"; url_file = \"u\"; priority "
            "= \"loud\"; },\n"                         /* 5 */
            "  { name = \"n2\"; type = \"ntfy\"; },\n" /* 6 */
            "  { name = \"n3\"; type = \"ntfy\"; url_file = \"u\"; to = [ "
            "\"+447700900123\" ]; },\n" /* 7 */
            "  { name = \"p\"; type = \"pushover\"; token_file = \"a\"; "
            "},\n" /* 8 */
            "  { name = \"p2\"; type = \"pushover\"; token_file = \"a\"; "
            "user_key_file = \"u\"; retry = 10; },\n" /* 9 */
            "  { name = \"t1\"; type = \"sms\"; profile = \"twilio\"; "
            "account = \"" SID
            "\"; from = \"+447700900999\"; token_file = \"t\"; to = [ "
            "\"+447700900123\", \"+4477\" ]; },\n" /* 10 */
            "  { name = \"t2\"; type = \"sms\"; profile = \"firetext\"; "
            "from = \"Oak\"; token_file = \"t\"; to = [ \"+447700900130\", "
            "\"+447700900131\" ]; },\n" /* 11 */
            "  { name = \"t3\"; type = \"sms\"; profile = \"twilio\"; from "
            "= \"+447700900999\"; token_file = \"t\"; to = [ "
            "\"+447700900132\" ]; },\n" /* 12 */
            "  { name = \"t4\"; type = \"sms\"; profile = \"twilio\"; "
            "account = \"" SID
            "\"; token_file = \"t\"; to = [ \"+447700900133\" ]; },\n" /* 13
                                                                        */
            "  { name = \"t5\"; type = \"sms\"; profile = \"firetext\"; "
            "from = \"Oak\"; token_file = \"t\";\n    to = [ "
            "\"+447700900132\" ]; },\n" /* 14-15: the error is at 'to' */
            "  { name = \"t6\"; type = \"sms\"; profile = \"firetext\"; "
            "from = \"Oak Primary School\"; token_file = \"t\"; to = [ "
            "\"+447700900134\" ]; },\n" /* 16 */
            "  { name = \"g\"; type = \"sms\"; profile = \"generic\"; url "
            "= \"https://sms.example/\"; body = \"{{phone}}\"; to = [ "
            "\"+447700900135\" ]; },\n" /* 17 */
            "  { name = \"np\"; type = \"sms\"; from = \"+447700900999\"; "
            "account = \"" SID
            "\"; token_file = \"t\"; to = [ \"+447700900136\" ]; }\n" /* 18
                                                                       */
            ");\n",
            want, sizeof(want) / sizeof(want[0]));
}

UNIT_MAIN({
    cmocka_unit_test(test_e164),
    cmocka_unit_test_setup_teardown(test_phone_channels, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
    cmocka_unit_test_setup_teardown(test_phone_errors, conf_fx_scratch_setup,
                                    conf_fx_scratch_teardown),
})
