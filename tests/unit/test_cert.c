/*
 * Unit tests for cert's pure parts: where a certificate stands at a
 * moment (valid, within CERT_WARN_DAYS of its end, ended) and the words on
 * it, in a zone. The file and key checks run on real files made by
 * openssl in tests/config/check-certs.sh and the worker's integration
 * test.
 *
 * Expected texts and day counts are written by hand; instants come from
 * glibc's timegm() (support_utc()), never from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "cert.h"
#include "support.h"

#define DAY 86400

struct end_row {
        int64_t left; /* seconds from now to notAfter */
        enum cert_end want;
        int days;
};

static void
test_end(void **state)
{
        static const struct end_row rows[] = {
                { 400 * DAY, CERT_VALID, 400 },
                { 30 * DAY + 1, CERT_VALID, 31 },
                /* 30 days to the second: warned of. */
                { 30 * DAY, CERT_ENDING, 30 },
                { 10 * DAY - 5, CERT_ENDING, 10 },
                { DAY + 1, CERT_ENDING, 2 },
                { DAY, CERT_ENDING, 1 },
                /* Its last second still counts as a day to go. */
                { 1, CERT_ENDING, 1 },
                { 0, CERT_ENDED, 0 },
                { -370 * DAY, CERT_ENDED, 0 },
        };
        int64_t now = support_utc("2026-12-07T20:00:00Z");

        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
                int days = -1;
                enum cert_end got = cert_end(now + rows[i].left, now, &days);

                if (got != rows[i].want || days != rows[i].days)
                        fail_msg("%lld s to go: %d, %d days; want %d, %d days",
                                 (long long)rows[i].left, (int)got, days,
                                 (int)rows[i].want, rows[i].days);
        }
}

static void
test_words(void **state)
{
        struct tz *tz = support_tz("Europe/London");
        char *w;

        (void)state;
        /* Valid: nothing to say. */
        assert_null(cert_end_words(tz, support_utc("2028-01-11T20:10:00Z"),
                                   support_utc("2026-12-07T20:00:00Z"),
                                   "Entra ID"));
        /* In summer time, one day to go. */
        w = cert_end_words(tz, support_utc("2026-07-01T12:00:00Z"),
                           support_utc("2026-06-30T13:00:00Z"), "Entra ID");
        assert_string_equal(w, "expires on Wed 1 Jul 2026 13:00 BST (in 1 "
                               "day): Entra ID refuses it from then on; "
                               "upload a new one to the app registration and "
                               "replace the file before then");
        free(w);
        w = cert_end_words(tz, support_utc("2027-01-05T09:00:00Z"),
                           support_utc("2026-12-07T20:00:00Z"),
                           "the token endpoint");
        assert_string_equal(w, "expires on Tue 5 Jan 2027 09:00 GMT (in 29 "
                               "days): the token endpoint refuses it from "
                               "then on; upload a new one to the app "
                               "registration and replace the file before "
                               "then");
        free(w);
        w = cert_end_words(tz, support_utc("2027-01-05T09:00:00Z"),
                           support_utc("2027-01-05T09:00:01Z"), "Entra ID");
        assert_string_equal(w, "expired on Tue 5 Jan 2027 09:00 GMT: Entra ID "
                               "refuses it; upload a new one to the app "
                               "registration and replace the file");
        free(w);
        tz_destroy(&tz);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_end),
                cmocka_unit_test(test_words),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
