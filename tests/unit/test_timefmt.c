/*
 * Unit tests for timefmt: RFC 3339 and human-readable text for instants in
 * a zone, and parsing such text back.
 *
 * Expected strings and instants are written by hand; instants are turned
 * into numbers with glibc's timegm(), never with the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support.h"
#include "timefmt.h"
#include "tz.h"

/* --- Formatting ---------------------------------------------------------- */

struct fmt_row {
        const char *zone;
        const char *utc;
        const char *rfc3339;
        const char *human;
};

static const struct fmt_row fmt_rows[] = {
        { "Europe/London", "2024-04-02T07:00:00Z", "2024-04-02T08:00:00+01:00",
          "Tue 2 Apr 2024 08:00 BST" },
        { "Europe/London", "2024-01-15T12:00:00Z", "2024-01-15T12:00:00+00:00",
          "Mon 15 Jan 2024 12:00 GMT" },
        /* The two 01:30s of the autumn overlap are told apart. */
        { "Europe/London", "2024-10-27T00:30:00Z", "2024-10-27T01:30:00+01:00",
          "Sun 27 Oct 2024 01:30 BST" },
        { "Europe/London", "2024-10-27T01:30:00Z", "2024-10-27T01:30:00+00:00",
          "Sun 27 Oct 2024 01:30 GMT" },
        /* Before the epoch: British Standard Time, UTC+1 all winter. */
        { "Europe/London", "1969-12-31T23:59:59Z", "1970-01-01T00:59:59+01:00",
          "Thu 1 Jan 1970 00:59 BST" },
        /* Past the zone file's last transition. */
        { "Europe/London", "2040-07-01T16:45:30Z", "2040-07-01T17:45:30+01:00",
          "Sun 1 Jul 2040 17:45 BST" },
        { "Asia/Kolkata", "2024-04-02T07:00:00Z", "2024-04-02T12:30:00+05:30",
          "Tue 2 Apr 2024 12:30 IST" },
        { "America/New_York", "2024-01-15T12:00:00Z",
          "2024-01-15T07:00:00-05:00", "Mon 15 Jan 2024 07:00 EST" },
        { "America/St_Johns", "2024-01-15T12:00:00Z",
          "2024-01-15T08:30:00-03:30", "Mon 15 Jan 2024 08:30 NST" },
        /* A new year in Sydney while it is still the old one in UTC. */
        { "Australia/Sydney", "2024-12-31T13:30:00Z",
          "2025-01-01T00:30:00+11:00", "Wed 1 Jan 2025 00:30 AEDT" },
        { "UTC", "2024-02-29T23:59:59Z", "2024-02-29T23:59:59+00:00",
          "Thu 29 Feb 2024 23:59 UTC" },
        /* Local mean time, -00:01:15: RFC 3339 has whole minutes, so the
         * text says -00:01 and the local time at it (found by fuzzing). */
        { "Europe/London", "1800-01-01T12:00:00Z", "1800-01-01T11:59:00-00:01",
          "Wed 1 Jan 1800 11:58 LMT" },
};

static void
test_rfc3339_and_human(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(fmt_rows) / sizeof(*fmt_rows); i++) {
                const struct fmt_row *r = &fmt_rows[i];
                struct tz *tz = support_tz(r->zone);
                char buf[TIMEFMT_LEN];

                timefmt_rfc3339(tz, support_utc(r->utc), buf, sizeof(buf));
                if (strcmp(buf, r->rfc3339) != 0)
                        fail_msg("%s %s: '%s', want '%s'", r->zone, r->utc, buf,
                                 r->rfc3339);
                timefmt_human(tz, support_utc(r->utc), buf, sizeof(buf));
                if (strcmp(buf, r->human) != 0)
                        fail_msg("%s %s: '%s', want '%s'", r->zone, r->utc, buf,
                                 r->human);
                tz_destroy(&tz);
        }
}

static void
test_rfc3339_utc(void **state)
{
        static const char *rows[] = {
                "2024-04-02T07:00:00Z", "1970-01-01T00:00:00Z",
                "1969-12-31T23:59:59Z", "2000-02-29T23:59:59Z",
                "2040-10-28T01:00:00Z", "1900-01-01T00:00:00Z",
        };
        char buf[TIMEFMT_LEN];

        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
                timefmt_rfc3339_utc(support_utc(rows[i]), buf, sizeof(buf));
                assert_string_equal(buf, rows[i]);
        }
        timefmt_rfc3339_utc(0, buf, sizeof(buf));
        assert_string_equal(buf, "1970-01-01T00:00:00Z");
        timefmt_rfc3339_utc(-1, buf, sizeof(buf));
        assert_string_equal(buf, "1969-12-31T23:59:59Z");
}

/* A short buffer is cut, terminated, and never overrun. */
static void
test_format_truncates(void **state)
{
        struct tz *tz = support_tz("Europe/London");
        char buf[16];

        (void)state;
        memset(buf, '#', sizeof(buf));
        timefmt_rfc3339(tz, support_utc("2024-04-02T07:00:00Z"), buf, 11);
        assert_string_equal(buf, "2024-04-02");
        assert_int_equal(buf[11], '#');
        memset(buf, '#', sizeof(buf));
        timefmt_rfc3339_utc(support_utc("2024-04-02T07:00:00Z"), buf, 5);
        assert_string_equal(buf, "2024");
        assert_int_equal(buf[5], '#');
        memset(buf, '#', sizeof(buf));
        timefmt_human(tz, support_utc("2024-04-02T07:00:00Z"), buf, 4);
        assert_string_equal(buf, "Tue");
        assert_int_equal(buf[4], '#');
        tz_destroy(&tz);
}

/* --- Parsing ------------------------------------------------------------- */

struct parse_row {
        const char *zone;
        const char *in;
        const char *utc;
        enum tz_fold fold;
};

static const struct parse_row parse_rows[] = {
        /* Local time in the trust's zone. */
        { "Europe/London", "2024-04-02T08:00", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-04-02T08:00:00", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-04-02 08:00", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-04-02 08:00:59", "2024-04-02T07:00:59Z",
          TZ_EXACT },
        { "Europe/London", "2024-01-15T08:00", "2024-01-15T08:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-02-29T10:00", "2024-02-29T10:00:00Z",
          TZ_EXACT },
        /* An explicit UTC or offset ignores the zone. */
        { "Europe/London", "2024-04-02T07:00Z", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-04-02T07:00:30Z", "2024-04-02T07:00:30Z",
          TZ_EXACT },
        { "Europe/London", "2024-04-02T08:00+01:00", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-04-02 08:00:00+01:00", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-04-02T02:00-05:00", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-04-02T12:30+05:30", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "Europe/London", "2025-01-01T00:30+11:00", "2024-12-31T13:30:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-01-01T00:00-00:30", "2024-01-01T00:30:00Z",
          TZ_EXACT },
        /* Spring gap: read with GMT, so 01:30 is 02:30 BST. */
        { "Europe/London", "2024-03-31T00:59:59", "2024-03-31T00:59:59Z",
          TZ_EXACT },
        { "Europe/London", "2024-03-31T01:30", "2024-03-31T01:30:00Z", TZ_GAP },
        { "Europe/London", "2024-03-31T02:00", "2024-03-31T01:00:00Z",
          TZ_EXACT },
        /* Autumn overlap: the first 01:30 (BST) unless an offset says. */
        { "Europe/London", "2024-10-27T01:30", "2024-10-27T00:30:00Z",
          TZ_OVERLAP },
        { "Europe/London", "2024-10-27T01:30+01:00", "2024-10-27T00:30:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-10-27T01:30+00:00", "2024-10-27T01:30:00Z",
          TZ_EXACT },
        { "Europe/London", "2024-10-27T01:30Z", "2024-10-27T01:30:00Z",
          TZ_EXACT },
        /* Other zones' local times. */
        { "Asia/Kolkata", "2024-04-02T12:30", "2024-04-02T07:00:00Z",
          TZ_EXACT },
        { "America/New_York", "2024-03-10T02:30", "2024-03-10T07:30:00Z",
          TZ_GAP },
        { "America/New_York", "2024-11-03T01:30", "2024-11-03T05:30:00Z",
          TZ_OVERLAP },
};

static void
test_parse(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(parse_rows) / sizeof(*parse_rows); i++) {
                const struct parse_row *r = &parse_rows[i];
                struct tz *tz = support_tz(r->zone);
                enum tz_fold fold = (enum tz_fold) - 1;
                int64_t utc = -1;
                char *cause = NULL;
                int rc = timefmt_parse(tz, r->in, &utc, &fold, &cause);

                if (rc != 0)
                        fail_msg("'%s' in %s: %s", r->in, r->zone, cause);
                assert_null(cause);
                if (utc != support_utc(r->utc) || fold != r->fold)
                        fail_msg("'%s' in %s: %+llds from %s, fold %d want %d",
                                 r->in, r->zone,
                                 (long long)(utc - support_utc(r->utc)), r->utc,
                                 (int)fold, (int)r->fold);
                /* The fold may be left out. */
                utc = -1;
                assert_int_equal(timefmt_parse(tz, r->in, &utc, NULL, &cause),
                                 0);
                assert_int_equal(utc, support_utc(r->utc));
                tz_destroy(&tz);
        }
}

static void
test_parse_rejects(void **state)
{
        static const char *bad[] = {
                "2024-13-01T10:00",
                "2024-00-10T10:00",
                "2024-02-30T10:00",
                "2023-02-29T10:00",
                "2024-04-31T10:00",
                "2024-03-28T25:00",
                "2024-03-28T24:00",
                "2024-03-28T10:60",
                "2024-03-28T10:00:60",
                "2024-03-28",
                "2024-03-28T",
                "2024-03-28T10",
                "2024-03-28T10:0",
                "2024-3-28T10:00",
                "24-03-28T10:00",
                "2024-03-28X10:00",
                "2024-03-28T10:00+1",
                "2024-03-28T10:00+01",
                "2024-03-28T10:00+0100",
                "2024-03-28T10:00+01:00junk",
                "2024-03-28T10:00+24:00",
                "2024-03-28T10:00+01:60",
                "2024-03-28T10:00Zjunk",
                "2024-03-28T10:00 ",
                " 2024-03-28T10:00",
                "2024-03-28T10:00:",
                "",
        };
        struct tz *tz = support_tz("Europe/London");

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                char *cause = NULL, *quoted = NULL;
                enum tz_fold fold = TZ_EXACT;
                int64_t utc = 0;
                int rc = timefmt_parse(tz, bad[i], &utc, &fold, &cause);

                if (rc != -1)
                        fail_msg("'%s' parsed (rc %d)", bad[i], rc);
                assert_non_null(cause);
                /* The cause names the input, in single quotes. */
                quoted = malloc(strlen(bad[i]) + 3);
                assert_non_null(quoted);
                sprintf(quoted, "'%s'", bad[i]);
                if (strstr(cause, quoted) == NULL)
                        fail_msg("'%s': cause '%s'", bad[i], cause);
                free(quoted);
                free(cause);
        }
        tz_destroy(&tz);
}

static void
test_parse_clock(void **state)
{
        static const struct {
                const char *in;
                int secs;
        } good[] = {
                { "16:30", 59400 },    { "00:00", 0 },
                { "23:59", 86340 },    { "08:00:30", 28830 },
                { "23:59:59", 86399 }, { "00:00:00", 0 },
        };
        static const char *bad[] = {
                "25:00",  "24:00", "9:30",     "16:60",   "16:30:",
                "abc",    "",      "16:30:60", "16:3",    "16:30 ",
                " 16:30", "1630",  "-1:30",    "16:30:5", "16:30:00:00",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
                int secs = -1;

                if (timefmt_parse_clock(good[i].in, &secs) != 0)
                        fail_msg("'%s' refused", good[i].in);
                if (secs != good[i].secs)
                        fail_msg("'%s': %d, want %d", good[i].in, secs,
                                 good[i].secs);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                int secs = -1;

                if (timefmt_parse_clock(bad[i], &secs) != -1)
                        fail_msg("'%s' accepted as %d", bad[i], secs);
        }
}

UNIT_MAIN({
    cmocka_unit_test(test_rfc3339_and_human),
    cmocka_unit_test(test_rfc3339_utc),
    cmocka_unit_test(test_format_truncates),
    cmocka_unit_test(test_parse),
    cmocka_unit_test(test_parse_rejects),
    cmocka_unit_test(test_parse_clock),
})
