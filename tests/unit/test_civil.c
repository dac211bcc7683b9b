/*
 * Unit tests for civil: day numbers, weekdays, month arithmetic, parsing and
 * formatting of dates, and the split of local seconds into days.
 *
 * Expected values are worked out by hand (or are well-known Unix anchors),
 * never taken from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "support.h"

/* Day numbers known independently: Unix time / 86400. */
#define DAY_1900_01_01 (-25567) /* 70 years, 17 leap days (1904..1968) */
#define DAY_2000_01_01 10957    /* 946684800 / 86400 */
#define DAY_2024_01_01 19723    /* 1704067200 / 86400 */

/* The test's own Gregorian rule, so the walk below does not trust civil's. */
static int
month_len(int y, int m)
{
        static const int len[12] = { 31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31 };
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        return m == 2 && leap ? 29 : len[m - 1];
}

static void
next_date(int *y, int *m, int *d)
{
        if (*d < month_len(*y, *m)) {
                (*d)++;
                return;
        }
        *d = 1;
        if (*m < 12) {
                (*m)++;
                return;
        }
        *m = 1;
        (*y)++;
}

static void
test_anchors(void **state)
{
        struct civil_date d;

        (void)state;
        assert_int_equal(civil_days(1970, 1, 1), 0);
        assert_int_equal(civil_days(1969, 12, 31), -1);
        assert_int_equal(civil_days(1970, 1, 2), 1);
        assert_int_equal(civil_days(1900, 1, 1), DAY_1900_01_01);
        assert_int_equal(civil_days(2000, 1, 1), DAY_2000_01_01);
        /* 2000 is a leap year: 31 + 29 days to 1 March. */
        assert_int_equal(civil_days(2000, 3, 1), DAY_2000_01_01 + 60);
        assert_int_equal(civil_days(2024, 1, 1), DAY_2024_01_01);
        assert_int_equal(civil_days(2024, 2, 29), DAY_2024_01_01 + 59);
        assert_int_equal(civil_days(2024, 3, 1), DAY_2024_01_01 + 60);
        /* 2101-01-01: 131 years from 1970 with 32 leap days. */
        assert_int_equal(civil_days(2101, 1, 1), 131 * 365 + 32);

        d = civil_from_days(DAY_2000_01_01 + 60);
        assert_int_equal(d.year, 2000);
        assert_int_equal(d.month, 3);
        assert_int_equal(d.day, 1);
        d = civil_from_days(DAY_2024_01_01 + 59);
        assert_int_equal(d.year, 2024);
        assert_int_equal(d.month, 2);
        assert_int_equal(d.day, 29);
        d = civil_from_days(-1);
        assert_int_equal(d.year, 1969);
        assert_int_equal(d.month, 12);
        assert_int_equal(d.day, 31);
}

static void
test_leap_and_validity(void **state)
{
        (void)state;
        assert_true(civil_is_leap(2024));
        assert_true(civil_is_leap(2000));
        assert_true(civil_is_leap(1600));
        assert_false(civil_is_leap(2023));
        assert_false(civil_is_leap(1900));
        assert_false(civil_is_leap(2100));

        assert_int_equal(civil_month_length(2024, 2), 29);
        assert_int_equal(civil_month_length(2023, 2), 28);
        assert_int_equal(civil_month_length(1900, 2), 28);
        assert_int_equal(civil_month_length(2000, 2), 29);
        assert_int_equal(civil_month_length(2024, 1), 31);
        assert_int_equal(civil_month_length(2024, 4), 30);
        assert_int_equal(civil_month_length(2024, 12), 31);

        assert_true(civil_valid(2024, 2, 29));
        assert_false(civil_valid(2023, 2, 29));
        assert_false(civil_valid(1900, 2, 29));
        assert_true(civil_valid(2000, 2, 29));
        assert_false(civil_valid(2024, 2, 30));
        assert_false(civil_valid(2024, 4, 31));
        assert_false(civil_valid(2024, 0, 1));
        assert_false(civil_valid(2024, 13, 1));
        assert_false(civil_valid(2024, 1, 0));
        assert_false(civil_valid(2024, 1, 32));
        assert_false(civil_valid(0, 1, 1));
        assert_true(civil_valid(1, 1, 1));
        assert_true(civil_valid(9999, 12, 31));
        assert_false(civil_valid(10000, 1, 1));
}

/*
 * Walks every day of 1600..2400 (two 400-year era boundaries, negative and
 * positive day numbers) with the test's own calendar and checks both
 * directions, consecutiveness and the weekday cycle.
 */
static void
test_round_trip(void **state)
{
        int y = 1600, m = 1, d = 1;
        int32_t first = civil_days(1600, 1, 1);
        int32_t day;
        int wd = civil_weekday(first);

        (void)state;
        /* 1600-01-01 is 370 years, 90 leap days, before 1970-01-01. */
        assert_int_equal(first, -(370 * 365 + 90));
        /* ... and was a Saturday. */
        assert_int_equal(wd, 5);
        for (day = first; y <= 2400; day++) {
                struct civil_date c = civil_from_days(day);

                assert_int_equal(civil_days(y, m, d), day);
                assert_int_equal(c.year, y);
                assert_int_equal(c.month, m);
                assert_int_equal(c.day, d);
                assert_true(civil_valid(y, m, d));
                assert_int_equal(civil_weekday(day), wd);
                wd = (wd + 1) % 7;
                next_date(&y, &m, &d);
        }
        /* The walk ended on 2401-01-01. */
        assert_int_equal(day, civil_days(2401, 1, 1));
        assert_int_equal(day - first, 801 * 365 + 195);
}

static void
test_round_trip_text(void **state)
{
        int32_t first = civil_days(1900, 1, 1);
        int32_t last = civil_days(2100, 12, 31);
        /* want: room for any int, so -O3 sees no truncation; buf: the
         * 11 bytes a date needs. */
        char buf[11], want[40];
        int y = 1900, m = 1, d = 1;

        (void)state;
        assert_int_equal(first, DAY_1900_01_01);
        for (int32_t day = first; day <= last; day++) {
                int32_t back = INT32_MIN;

                snprintf(want, sizeof(want), "%04d-%02d-%02d", y, m, d);
                civil_format_date(day, buf, sizeof(buf));
                assert_string_equal(buf, want);
                assert_int_equal(civil_parse_date(want, &back), 0);
                assert_int_equal(back, day);
                next_date(&y, &m, &d);
        }
        assert_int_equal(y, 2101);
}

static void
test_weekday(void **state)
{
        (void)state;
        /* 0 = Monday ... 6 = Sunday. */
        assert_int_equal(civil_weekday(0), 3);                        /* Thu */
        assert_int_equal(civil_weekday(-1), 2);                       /* Wed */
        assert_int_equal(civil_weekday(-7), 3);                       /* Thu */
        assert_int_equal(civil_weekday(-4), 6);                       /* Sun */
        assert_int_equal(civil_weekday(civil_days(2024, 3, 28)), 3);  /* Thu */
        assert_int_equal(civil_weekday(civil_days(2024, 3, 29)), 4);  /* Fri */
        assert_int_equal(civil_weekday(civil_days(2024, 4, 1)), 0);   /* Mon */
        assert_int_equal(civil_weekday(civil_days(2000, 1, 1)), 5);   /* Sat */
        assert_int_equal(civil_weekday(civil_days(1900, 1, 1)), 0);   /* Mon */
        assert_int_equal(civil_weekday(civil_days(2027, 12, 26)), 6); /* Sun */
        assert_int_equal(civil_weekday(civil_days(2029, 1, 1)), 0);   /* Mon */
        assert_int_equal(civil_weekday(civil_days(2028, 2, 29)), 1);  /* Tue */
}

static void
check_add(int y, int m, int d, int months, int wy, int wm, int wd)
{
        int32_t got = civil_add_months(civil_days(y, m, d), months);
        struct civil_date c = civil_from_days(got);

        assert_int_equal(c.year, wy);
        assert_int_equal(c.month, wm);
        assert_int_equal(c.day, wd);
        assert_int_equal(got, civil_days(wy, wm, wd));
}

static void
test_add_months(void **state)
{
        (void)state;
        check_add(2024, 1, 15, 0, 2024, 1, 15);
        check_add(2024, 1, 31, 0, 2024, 1, 31);
        /* Clamping to the end of a shorter month. */
        check_add(2024, 1, 31, 1, 2024, 2, 29);
        check_add(2023, 1, 31, 1, 2023, 2, 28);
        check_add(2024, 10, 31, 1, 2024, 11, 30);
        check_add(2024, 1, 30, 1, 2024, 2, 29);
        check_add(2024, 2, 29, 12, 2025, 2, 28);
        check_add(2024, 2, 29, 48, 2028, 2, 29);
        check_add(2024, 2, 29, 1, 2024, 3, 29);
        /* Across year ends. */
        check_add(2023, 12, 31, 1, 2024, 1, 31);
        check_add(2024, 12, 15, 1, 2025, 1, 15);
        check_add(2024, 11, 30, 2, 2025, 1, 30);
        /* 18 months, the area SEND monitoring interval. */
        check_add(2024, 3, 15, 18, 2025, 9, 15);
        check_add(2024, 8, 31, 18, 2026, 2, 28);
        check_add(2026, 8, 31, 18, 2028, 2, 29);
        check_add(2024, 7, 1, 18, 2026, 1, 1);
        /* Backwards. */
        check_add(2024, 3, 31, -1, 2024, 2, 29);
        check_add(2023, 3, 31, -1, 2023, 2, 28);
        check_add(2024, 5, 31, -3, 2024, 2, 29);
        check_add(2024, 1, 15, -1, 2023, 12, 15);
        check_add(2024, 1, 15, -13, 2022, 12, 15);
        check_add(2024, 1, 31, -12, 2023, 1, 31);
        check_add(2026, 2, 28, -18, 2024, 8, 28);
        check_add(1970, 1, 1, -1, 1969, 12, 1);
        check_add(1970, 3, 31, -1, 1970, 2, 28);
}

static void
test_parse_date(void **state)
{
        static const char *const bad[] = {
                "2024-3-01",   "2024-02-30",  "2024-02-29x",  "",
                "20240229",    "2023-02-29",  "2024-13-01",   "2024-00-10",
                "2024-01-00",  "2024-01-32",  "2024/02/29",   "2024-02-2",
                " 2024-02-29", "2024-02-29 ", "0000-01-01",   "+024-02-29",
                "2024-+2-29",  "2024--2-29",  "2024-02-2x",   "abcd-ef-gh",
                "1900-02-29",  "2024-04-31",  "2024-02-29\n",
        };
        int32_t day;

        (void)state;
        day = INT32_MIN;
        assert_int_equal(civil_parse_date("2024-02-29", &day), 0);
        assert_int_equal(day, DAY_2024_01_01 + 59);
        assert_int_equal(civil_parse_date("1970-01-01", &day), 0);
        assert_int_equal(day, 0);
        assert_int_equal(civil_parse_date("1969-12-31", &day), 0);
        assert_int_equal(day, -1);
        assert_int_equal(civil_parse_date("2000-03-01", &day), 0);
        assert_int_equal(day, DAY_2000_01_01 + 60);
        assert_int_equal(civil_parse_date("2000-02-29", &day), 0);
        assert_int_equal(day, DAY_2000_01_01 + 59);
        assert_int_equal(civil_parse_date("0001-01-01", &day), 0);
        assert_int_equal(day, civil_days(1, 1, 1));
        assert_int_equal(civil_parse_date("9999-12-31", &day), 0);
        assert_int_equal(day, civil_days(9999, 12, 31));

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                day = 12345;
                if (civil_parse_date(bad[i], &day) != -1)
                        fail_msg("accepted '%s'", bad[i]);
        }
}

static void
test_format_date(void **state)
{
        char buf[11];
        char small[5];

        (void)state;
        civil_format_date(0, buf, sizeof(buf));
        assert_string_equal(buf, "1970-01-01");
        civil_format_date(-1, buf, sizeof(buf));
        assert_string_equal(buf, "1969-12-31");
        civil_format_date(DAY_2024_01_01 + 59, buf, sizeof(buf));
        assert_string_equal(buf, "2024-02-29");
        civil_format_date(DAY_1900_01_01, buf, sizeof(buf));
        assert_string_equal(buf, "1900-01-01");
        civil_format_date(civil_days(1, 1, 1), buf, sizeof(buf));
        assert_string_equal(buf, "0001-01-01");
        civil_format_date(civil_days(9999, 12, 31), buf, sizeof(buf));
        assert_string_equal(buf, "9999-12-31");
        /* A short buffer is truncated, never overrun. */
        memset(small, 'z', sizeof(small));
        civil_format_date(0, small, sizeof(small));
        assert_string_equal(small, "1970");
}

static void
test_day_of(void **state)
{
        (void)state;
        assert_int_equal(civil_day_of(0), 0);
        assert_int_equal(civil_day_of(1), 0);
        assert_int_equal(civil_day_of(86399), 0);
        assert_int_equal(civil_day_of(86400), 1);
        /* Floor, not truncation, before 1970. */
        assert_int_equal(civil_day_of(-1), -1);
        assert_int_equal(civil_day_of(-86399), -1);
        assert_int_equal(civil_day_of(-86400), -1);
        assert_int_equal(civil_day_of(-86401), -2);
        assert_int_equal(civil_day_of(-172800), -2);
        /* 2024-02-29T23:59:59 and the next second. */
        assert_int_equal(civil_day_of(1709251199), DAY_2024_01_01 + 59);
        assert_int_equal(civil_day_of(1709251200), DAY_2024_01_01 + 60);
        /* 1900-01-01T12:00 */
        assert_int_equal(civil_day_of((int64_t)DAY_1900_01_01 * 86400 + 43200),
                         DAY_1900_01_01);

        assert_true(civil_local_secs(0, 0) == 0);
        assert_true(civil_local_secs(1, 1) == 86401);
        assert_true(civil_local_secs(-1, 0) == -86400);
        assert_true(civil_local_secs(-1, 86399) == -1);
        assert_true(civil_local_secs(DAY_2024_01_01 + 60, 0) == 1709251200);
        for (int32_t day = -800; day <= 800; day += 7) {
                assert_int_equal(civil_day_of(civil_local_secs(day, 0)), day);
                assert_int_equal(civil_day_of(civil_local_secs(day, 86399)),
                                 day);
        }
}

UNIT_MAIN({
    cmocka_unit_test(test_anchors),
    cmocka_unit_test(test_leap_and_validity),
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_round_trip_text),
    cmocka_unit_test(test_weekday),
    cmocka_unit_test(test_add_months),
    cmocka_unit_test(test_parse_date),
    cmocka_unit_test(test_format_date),
    cmocka_unit_test(test_day_of),
})
