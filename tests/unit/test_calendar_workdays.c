/*
 * Unit tests for calendar's working-day arithmetic against the shipped
 * GOV.UK bank holidays file (England and Wales, 2024-2028): the nth working
 * day, every holiday and every other weekday, the roll to a working day and
 * closures.
 *
 * Every expected date was counted by hand on a printed calendar; none comes
 * from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "calendar_fixture.h"
#include "civil.h"
#include "support.h"

/* Every England-and-Wales bank holiday in the shipped file, with its title. */
static const struct {
        const char *date;
        const char *title;
} ew_holidays[] = {
        { "2024-01-01", "New Year" CALENDAR_FX_RSQUO "s Day" },
        { "2024-03-29", "Good Friday" },
        { "2024-04-01", "Easter Monday" },
        { "2024-05-06", "Early May bank holiday" },
        { "2024-05-27", "Spring bank holiday" },
        { "2024-08-26", "Summer bank holiday" },
        { "2024-12-25", "Christmas Day" },
        { "2024-12-26", "Boxing Day" },
        { "2025-01-01", "New Year" CALENDAR_FX_RSQUO "s Day" },
        { "2025-04-18", "Good Friday" },
        { "2025-04-21", "Easter Monday" },
        { "2025-05-05", "Early May bank holiday" },
        { "2025-05-26", "Spring bank holiday" },
        { "2025-08-25", "Summer bank holiday" },
        { "2025-12-25", "Christmas Day" },
        { "2025-12-26", "Boxing Day" },
        { "2026-01-01", "New Year" CALENDAR_FX_RSQUO "s Day" },
        { "2026-04-03", "Good Friday" },
        { "2026-04-06", "Easter Monday" },
        { "2026-05-04", "Early May bank holiday" },
        { "2026-05-25", "Spring bank holiday" },
        { "2026-08-31", "Summer bank holiday" },
        { "2026-12-25", "Christmas Day" },
        { "2026-12-28", "Boxing Day" }, /* substitute: 26th is a Saturday */
        { "2027-01-01", "New Year" CALENDAR_FX_RSQUO "s Day" },
        { "2027-03-26", "Good Friday" },
        { "2027-03-29", "Easter Monday" },
        { "2027-05-03", "Early May bank holiday" },
        { "2027-05-31", "Spring bank holiday" },
        { "2027-08-30", "Summer bank holiday" },
        { "2027-12-27", "Christmas Day" }, /* substitute: 25th is a Saturday */
        { "2027-12-28", "Boxing Day" },    /* substitute: 26th is a Sunday */
        { "2028-01-03",
          "New Year" CALENDAR_FX_RSQUO "s Day" }, /* 1st is a Saturday */
        { "2028-04-14", "Good Friday" },
        { "2028-04-17", "Easter Monday" },
        { "2028-05-01", "Early May bank holiday" },
        { "2028-05-29", "Spring bank holiday" },
        { "2028-08-28", "Summer bank holiday" },
        { "2028-12-25", "Christmas Day" },
        { "2028-12-26", "Boxing Day" },
};

#define NHOLIDAYS (sizeof(ew_holidays) / sizeof(ew_holidays[0]))

/*
 * calendar_working_day(from, n): n == 0 is `from` itself, n >= 1 the nth
 * working day strictly after it. `uncovered` is NULL when the count stays
 * inside 2024-2028.
 */
static const struct {
        const char *from;
        int n;
        const char *want;
        const char *uncovered;
} wd_cases[] = {
        /* 2024 */
        /* Fri 29 Dec 2023 -> Sat, Sun, New Year Mon 1 Jan -> Tue 2 Jan;
         * only weekend days of 2023 are looked at, so still covered. */
        { "2023-12-29", 1, "2024-01-02", NULL },
        /* New Year Mon 1 Jan -> Tue 2 .. Fri 5, Mon 8 */
        { "2024-01-01", 5, "2024-01-08", NULL },
        /* Thu 28 Mar -> Good Fri 29, Sat, Sun, Easter Mon 1 Apr -> Tue 2 Apr */
        { "2024-03-28", 1, "2024-04-02", NULL },
        /* Thu 28 Mar -> Tue 2, Wed 3, Thu 4, Fri 5, Mon 8 Apr */
        { "2024-03-28", 5, "2024-04-08", NULL },
        /* Good Fri 29 Mar itself -> Easter Mon off -> Tue 2 Apr */
        { "2024-03-29", 1, "2024-04-02", NULL },
        /* Sat 30 Mar -> Easter Mon off -> Tue 2 .. Fri 5, Mon 8 Apr */
        { "2024-03-30", 5, "2024-04-08", NULL },
        /* Wed 27 Mar -> Thu 28, (Fri 29, Mon 1 off) Tue 2, Wed 3, Thu 4,
         * Fri 5 Apr */
        { "2024-03-27", 5, "2024-04-05", NULL },
        /* Fri 3 May -> Sat, Sun, Early May Mon 6 -> Tue 7 */
        { "2024-05-03", 1, "2024-05-07", NULL },
        /* Sun 5 May -> Mon 6 off -> Tue 7 .. Fri 10, Mon 13 */
        { "2024-05-05", 5, "2024-05-13", NULL },
        /* Fri 24 May -> Spring Mon 27 -> Tue 28 */
        { "2024-05-24", 1, "2024-05-28", NULL },
        /* Spring Mon 27 May itself -> Tue 28 .. Fri 31, Mon 3 Jun */
        { "2024-05-27", 5, "2024-06-03", NULL },
        /* Fri 23 Aug -> Summer Mon 26 -> Tue 27 */
        { "2024-08-23", 1, "2024-08-27", NULL },
        /* Fri 23 Aug -> Tue 27 .. Fri 30, Mon 2 Sep */
        { "2024-08-23", 5, "2024-09-02", NULL },
        /* Tue 24 Dec -> Christmas Wed 25, Boxing Thu 26 -> Fri 27 */
        { "2024-12-24", 1, "2024-12-27", NULL },
        /* Tue 24 Dec -> Fri 27, Mon 30, Tue 31, (New Year Wed 1 Jan off)
         * Thu 2, Fri 3 Jan 2025 */
        { "2024-12-24", 5, "2025-01-03", NULL },
        /* Christmas Wed 25 Dec itself -> Boxing Thu 26 off -> Fri 27 */
        { "2024-12-25", 1, "2024-12-27", NULL },
        /* Fri 27 Dec -> Sat, Sun -> Mon 30 */
        { "2024-12-27", 1, "2024-12-30", NULL },

        /* 2025 */
        /* Tue 31 Dec 2024 -> New Year Wed 1 Jan -> Thu 2 Jan */
        { "2024-12-31", 1, "2025-01-02", NULL },
        /* Thu 17 Apr -> Good Fri 18, Sat, Sun, Easter Mon 21 -> Tue 22 */
        { "2025-04-17", 1, "2025-04-22", NULL },
        /* Thu 17 Apr -> Tue 22 .. Fri 25, Mon 28 */
        { "2025-04-17", 5, "2025-04-28", NULL },
        /* Easter Sun 20 Apr -> Easter Mon off -> Tue 22 */
        { "2025-04-20", 1, "2025-04-22", NULL },
        /* Fri 2 May -> Sat, Sun, Early May Mon 5 -> Tue 6 */
        { "2025-05-02", 1, "2025-05-06", NULL },
        /* Wed 30 Apr -> Thu 1, Fri 2, (Mon 5 off) Tue 6, Wed 7, Thu 8 May */
        { "2025-04-30", 5, "2025-05-08", NULL },
        /* Fri 23 May -> Spring Mon 26 -> Tue 27 */
        { "2025-05-23", 1, "2025-05-27", NULL },
        /* Sat 24 May -> Mon 26 off -> Tue 27 .. Fri 30, Mon 2 Jun */
        { "2025-05-24", 5, "2025-06-02", NULL },
        /* Fri 22 Aug -> Summer Mon 25 -> Tue 26 */
        { "2025-08-22", 1, "2025-08-26", NULL },
        /* Summer Mon 25 Aug itself -> Tue 26 .. Fri 29, Mon 1 Sep */
        { "2025-08-25", 5, "2025-09-01", NULL },
        /* Wed 24 Dec -> Christmas Thu 25, Boxing Fri 26, Sat, Sun -> Mon 29 */
        { "2025-12-24", 1, "2025-12-29", NULL },
        /* Wed 24 Dec -> Mon 29, Tue 30, Wed 31, (New Year Thu 1 Jan off)
         * Fri 2, Mon 5 Jan 2026 */
        { "2025-12-24", 5, "2026-01-05", NULL },
        /* Mon 9 Jun, no holiday near -> Tue 10 .. Fri 13, Mon 16 */
        { "2025-06-09", 5, "2025-06-16", NULL },
        /* Sat 14 Jun -> Sun -> Mon 16 */
        { "2025-06-14", 1, "2025-06-16", NULL },

        /* 2026 */
        /* Wed 31 Dec 2025 -> New Year Thu 1 Jan -> Fri 2 Jan */
        { "2025-12-31", 1, "2026-01-02", NULL },
        /* Thu 2 Apr -> Good Fri 3, Sat, Sun, Easter Mon 6 -> Tue 7 */
        { "2026-04-02", 1, "2026-04-07", NULL },
        /* Thu 2 Apr -> Tue 7 .. Fri 10, Mon 13 */
        { "2026-04-02", 5, "2026-04-13", NULL },
        /* Sat 4 Apr -> Sun, Easter Mon 6 -> Tue 7 */
        { "2026-04-04", 1, "2026-04-07", NULL },
        /* Fri 1 May -> Sat, Sun, Early May Mon 4 -> Tue 5 */
        { "2026-05-01", 1, "2026-05-05", NULL },
        /* Thu 30 Apr -> Fri 1 May, (Mon 4 off) Tue 5, Wed 6, Thu 7, Fri 8 */
        { "2026-04-30", 5, "2026-05-08", NULL },
        /* Fri 22 May -> Spring Mon 25 -> Tue 26 */
        { "2026-05-22", 1, "2026-05-26", NULL },
        /* Fri 22 May -> Tue 26 .. Fri 29, Mon 1 Jun */
        { "2026-05-22", 5, "2026-06-01", NULL },
        /* Fri 28 Aug -> Sat, Sun, Summer Mon 31 -> Tue 1 Sep */
        { "2026-08-28", 1, "2026-09-01", NULL },
        /* Sun 30 Aug -> Mon 31 off -> Tue 1 .. Fri 4, Mon 7 Sep */
        { "2026-08-30", 5, "2026-09-07", NULL },
        /* Thu 24 Dec -> Christmas Fri 25, Sat, Sun, Boxing (substitute)
         * Mon 28 -> Tue 29 */
        { "2026-12-24", 1, "2026-12-29", NULL },
        /* Thu 24 Dec -> Tue 29, Wed 30, Thu 31, (New Year Fri 1 Jan off)
         * Mon 4, Tue 5 Jan 2027 */
        { "2026-12-24", 5, "2027-01-05", NULL },
        /* Sat 26 Dec (Boxing Day, moved) -> Sun, Mon 28 off -> Tue 29 */
        { "2026-12-26", 1, "2026-12-29", NULL },

        /* 2027 */
        /* Thu 31 Dec 2026 -> New Year Fri 1 Jan, Sat, Sun -> Mon 4 Jan */
        { "2026-12-31", 1, "2027-01-04", NULL },
        /* Thu 25 Mar -> Good Fri 26, Sat, Sun, Easter Mon 29 -> Tue 30 */
        { "2027-03-25", 1, "2027-03-30", NULL },
        /* Thu 25 Mar -> Tue 30, Wed 31, Thu 1, Fri 2, Mon 5 Apr */
        { "2027-03-25", 5, "2027-04-05", NULL },
        /* Easter Mon 29 Mar itself -> Tue 30 .. Fri 2, Mon 5 Apr */
        { "2027-03-29", 5, "2027-04-05", NULL },
        /* Fri 30 Apr -> Sat, Sun, Early May Mon 3 -> Tue 4 May */
        { "2027-04-30", 1, "2027-05-04", NULL },
        /* Sat 1 May -> Sun, Mon 3 off -> Tue 4 .. Fri 7, Mon 10 */
        { "2027-05-01", 5, "2027-05-10", NULL },
        /* Fri 28 May -> Sat, Sun, Spring Mon 31 -> Tue 1 Jun */
        { "2027-05-28", 1, "2027-06-01", NULL },
        /* Wed 26 May -> Thu 27, Fri 28, (Mon 31 off) Tue 1, Wed 2, Thu 3 Jun */
        { "2027-05-26", 5, "2027-06-03", NULL },
        /* Fri 27 Aug -> Summer Mon 30 -> Tue 31 */
        { "2027-08-27", 1, "2027-08-31", NULL },
        /* Fri 27 Aug -> Tue 31, Wed 1 .. Fri 3, Mon 6 Sep */
        { "2027-08-27", 5, "2027-09-06", NULL },
        /* Fri 24 Dec -> Sat 25, Sun 26, Christmas (substitute) Mon 27,
         * Boxing (substitute) Tue 28 -> Wed 29 */
        { "2027-12-24", 1, "2027-12-29", NULL },
        /* Fri 24 Dec -> Wed 29, Thu 30, Fri 31, Sat 1, Sun 2, (New Year
         * substitute Mon 3 Jan 2028 off) Tue 4, Wed 5 Jan */
        { "2027-12-24", 5, "2028-01-05", NULL },
        /* Sat 25 Dec (Christmas Day on a Saturday) -> Wed 29 */
        { "2027-12-25", 1, "2027-12-29", NULL },
        /* Mon 27 Dec (substitute) itself -> Tue 28 off -> Wed 29 */
        { "2027-12-27", 1, "2027-12-29", NULL },

        /* 2028 */
        /* Fri 31 Dec 2027 -> Sat 1, Sun 2, New Year (substitute) Mon 3
         * -> Tue 4 Jan */
        { "2027-12-31", 1, "2028-01-04", NULL },
        /* Sat 1 Jan -> Sun, Mon 3 off -> Tue 4 .. Fri 7, Mon 10 */
        { "2028-01-01", 5, "2028-01-10", NULL },
        /* Thu 13 Apr -> Good Fri 14, Sat, Sun, Easter Mon 17 -> Tue 18 */
        { "2028-04-13", 1, "2028-04-18", NULL },
        /* Thu 13 Apr -> Tue 18 .. Fri 21, Mon 24 */
        { "2028-04-13", 5, "2028-04-24", NULL },
        /* Good Fri 14 Apr itself -> Tue 18 .. Fri 21, Mon 24 */
        { "2028-04-14", 5, "2028-04-24", NULL },
        /* Fri 28 Apr -> Sat, Sun, Early May Mon 1 May -> Tue 2 May */
        { "2028-04-28", 1, "2028-05-02", NULL },
        /* Fri 28 Apr -> Tue 2 .. Fri 5, Mon 8 May */
        { "2028-04-28", 5, "2028-05-08", NULL },
        /* Fri 26 May -> Spring Mon 29 -> Tue 30 */
        { "2028-05-26", 1, "2028-05-30", NULL },
        /* Spring Mon 29 May itself -> Tue 30, Wed 31, Thu 1, Fri 2,
         * Mon 5 Jun */
        { "2028-05-29", 5, "2028-06-05", NULL },
        /* Fri 25 Aug -> Summer Mon 28 -> Tue 29 */
        { "2028-08-25", 1, "2028-08-29", NULL },
        /* Sun 27 Aug -> Mon 28 off -> Tue 29 .. Fri 1 Sep, Mon 4 Sep */
        { "2028-08-27", 5, "2028-09-04", NULL },
        /* Fri 22 Dec -> Sat, Sun, Christmas Mon 25, Boxing Tue 26 -> Wed 27 */
        { "2028-12-22", 1, "2028-12-27", NULL },
        /* Tue 19 Dec -> Wed 20, Thu 21, Fri 22, (Mon 25, Tue 26 off)
         * Wed 27, Thu 28 */
        { "2028-12-19", 5, "2028-12-28", NULL },
        /* Christmas Mon 25 Dec itself -> Boxing Tue 26 off -> Wed 27 */
        { "2028-12-25", 1, "2028-12-27", NULL },
        /* Fri 22 Dec -> Wed 27, Thu 28, Fri 29, Sat, Sun, Mon 1 Jan 2029
         * (no data: counted, flagged), Tue 2 Jan 2029 */
        { "2028-12-22", 5, "2029-01-02", "2029-01-01" },

        /* n == 0: the day itself, whatever it is */
        { "2024-03-29", 0, "2024-03-29", NULL }, /* Good Friday */
        { "2024-03-30", 0, "2024-03-30", NULL }, /* Saturday */
        { "2025-06-11", 0, "2025-06-11", NULL }, /* Wednesday */
};

#define NCASES (sizeof(wd_cases) / sizeof(wd_cases[0]))

static void
test_working_day_table(void **state)
{
        struct calendar_fx *fx = *state;

        assert_true(NCASES >= 40);
        for (size_t i = 0; i < NCASES; i++) {
                calendar_fx_assert_working_day(fx->cal, wd_cases[i].from,
                                               wd_cases[i].n, wd_cases[i].want,
                                               wd_cases[i].uncovered);
        }
}

/*
 * The table must step over (or start on) every holiday: a check on the table
 * itself, so a holiday cannot be silently left out of it.
 */
static void
test_table_covers_every_holiday(void **state)
{
        (void)state;
        assert_int_equal(NHOLIDAYS, 40);
        for (size_t h = 0; h < NHOLIDAYS; h++) {
                int32_t hd = calendar_fx_day(ew_holidays[h].date);
                bool seen = false;

                for (size_t i = 0; i < NCASES && !seen; i++)
                        seen = wd_cases[i].n > 0 &&
                               calendar_fx_day(wd_cases[i].from) <= hd &&
                               hd < calendar_fx_day(wd_cases[i].want);
                if (!seen)
                        fail_msg("no table row crosses %s",
                                 ew_holidays[h].date);
        }
}

/* n steps of one working day land where one step of n does. */
static void
test_working_day_steps(void **state)
{
        struct calendar_fx *fx = *state;
        int32_t start = calendar_fx_day("2024-01-01"),
                end = calendar_fx_day("2028-12-01");

        for (int32_t from = start; from < end; from += 3) {
                int32_t unc, one = from, five;

                for (int k = 0; k < 5; k++) {
                        one = calendar_working_day(fx->cal, one, 1, &unc);
                        assert_int_equal(unc, CALENDAR_COVERED);
                        assert_true(calendar_is_working_day(fx->cal, one));
                }
                five = calendar_working_day(fx->cal, from, 5, &unc);
                assert_int_equal(unc, CALENDAR_COVERED);
                assert_int_equal(five, one);
                /* Five working days take at least five calendar days. */
                assert_true(five - from >= 5);
        }
}

/* Exactly the listed days are holidays; every other weekday works. */
static void
test_holidays_exact(void **state)
{
        struct calendar_fx *fx = *state;
        size_t h = 0, working = 0;

        for (int32_t d = calendar_fx_day("2024-01-01");
             d <= calendar_fx_day("2028-12-31"); d++) {
                bool weekend = civil_weekday(d) >= 5;
                const char *title = calendar_holiday(fx->cal, d);

                assert_true(calendar_covers(fx->cal, d));
                if (h < NHOLIDAYS &&
                    d == calendar_fx_day(ew_holidays[h].date)) {
                        assert_false(weekend);
                        assert_false(calendar_is_working_day(fx->cal, d));
                        assert_non_null(title);
                        assert_string_equal(title, ew_holidays[h].title);
                        h++;
                        continue;
                }
                assert_null(title);
                assert_int_equal(calendar_is_working_day(fx->cal, d), !weekend);
                if (!weekend)
                        working++;
        }
        assert_int_equal(h, NHOLIDAYS);
        /*
         * 2024-01-01..2028-12-31 is 1827 days = 261 weeks, all starting on
         * a Monday: 1305 weekdays, less 40 holidays.
         */
        assert_int_equal(working, 1305 - 40);
}

static void
test_n_zero(void **state)
{
        struct calendar_fx *fx = *state;

        /* Saturday and Sunday are returned as they are, not rolled. */
        calendar_fx_assert_working_day(fx->cal, "2025-06-14", 0, "2025-06-14",
                                       NULL);
        calendar_fx_assert_working_day(fx->cal, "2025-06-15", 0, "2025-06-15",
                                       NULL);
        /* A bank holiday too. */
        calendar_fx_assert_working_day(fx->cal, "2025-12-25", 0, "2025-12-25",
                                       NULL);
        /* Nothing is examined: no warning even outside the data. */
        calendar_fx_assert_working_day(fx->cal, "2030-06-12", 0, "2030-06-12",
                                       NULL);
}

static void
test_is_working_day(void **state)
{
        struct calendar_fx *fx = *state;

        assert_true(
            calendar_is_working_day(fx->cal, calendar_fx_day("2024-03-28")));
        assert_false(
            calendar_is_working_day(fx->cal, calendar_fx_day("2024-03-29")));
        assert_false(
            calendar_is_working_day(fx->cal, calendar_fx_day("2024-03-30")));
        assert_false(
            calendar_is_working_day(fx->cal, calendar_fx_day("2024-03-31")));
        assert_false(
            calendar_is_working_day(fx->cal, calendar_fx_day("2024-04-01")));
        assert_true(
            calendar_is_working_day(fx->cal, calendar_fx_day("2024-04-02")));
        /* Outside the data only weekends are known to be off. */
        assert_true(
            calendar_is_working_day(fx->cal, calendar_fx_day("2029-01-01")));
        assert_false(
            calendar_is_working_day(fx->cal, calendar_fx_day("2029-01-06")));
}

static void
test_closure(void **state)
{
        struct calendar_fx *fx = *state;
        char why[] = "Trust closure: flood";

        /* Before: Tue 10 Jun 2025 -> Wed 11; Mon 9 + 5 -> Mon 16. */
        calendar_fx_assert_working_day(fx->cal, "2025-06-10", 1, "2025-06-11",
                                       NULL);
        calendar_fx_assert_working_day(fx->cal, "2025-06-09", 5, "2025-06-16",
                                       NULL);

        calendar_add_closure(fx->cal, calendar_fx_day("2025-06-11"), why);
        memset(why, 'x', sizeof(why) - 1); /* the title was copied */
        assert_false(
            calendar_is_working_day(fx->cal, calendar_fx_day("2025-06-11")));
        assert_string_equal(
            calendar_holiday(fx->cal, calendar_fx_day("2025-06-11")),
            "Trust closure: flood");
        /* After: Tue 10 -> (Wed 11 closed) Thu 12. */
        calendar_fx_assert_working_day(fx->cal, "2025-06-10", 1, "2025-06-12",
                                       NULL);
        /* Mon 9 -> Tue 10, (Wed 11 closed) Thu 12, Fri 13, Mon 16, Tue 17 */
        calendar_fx_assert_working_day(fx->cal, "2025-06-09", 5, "2025-06-17",
                                       NULL);
        /* Neighbours unaffected. */
        assert_true(
            calendar_is_working_day(fx->cal, calendar_fx_day("2025-06-10")));
        assert_true(
            calendar_is_working_day(fx->cal, calendar_fx_day("2025-06-12")));

        /* Closing the Friday after Easter Monday 2024 as well:
         * Thu 28 Mar -> (Fri 29, Mon 1 off) Tue 2, Wed 3, Thu 4,
         * (Fri 5 closed) Mon 8, Tue 9 Apr. */
        calendar_add_closure(fx->cal, calendar_fx_day("2024-04-05"),
                             "INSET closure");
        calendar_fx_assert_working_day(fx->cal, "2024-03-28", 5, "2024-04-09",
                                       NULL);

        /* A closure on a weekend changes nothing. */
        calendar_add_closure(fx->cal, calendar_fx_day("2025-06-14"),
                             "Saturday event");
        calendar_fx_assert_working_day(fx->cal, "2025-06-13", 1, "2025-06-16",
                                       NULL);

        /* On a bank holiday: still off, the holiday keeps its name. */
        calendar_add_closure(fx->cal, calendar_fx_day("2025-12-25"), "Closed");
        assert_false(
            calendar_is_working_day(fx->cal, calendar_fx_day("2025-12-25")));
        assert_string_equal(
            calendar_holiday(fx->cal, calendar_fx_day("2025-12-25")),
            "Christmas Day");
        calendar_fx_assert_working_day(fx->cal, "2025-12-24", 1, "2025-12-29",
                                       NULL);

        /* Closures do not widen the holiday data's coverage. */
        calendar_add_closure(fx->cal, calendar_fx_day("2029-01-03"), "Closed");
        assert_int_equal(calendar_last_year(fx->cal), 2028);
        assert_false(calendar_covers(fx->cal, calendar_fx_day("2029-01-03")));
        /* Fri 29 Dec 2028 -> Mon 1 Jan 2029 (flagged), Tue 2,
         * (Wed 3 closed) Thu 4 */
        calendar_fx_assert_working_day(fx->cal, "2028-12-29", 3, "2029-01-04",
                                       "2029-01-01");
}

static void
test_closures_only(void **state)
{
        struct calendar *cal = calendar_new();

        (void)state;
        assert_non_null(cal);
        calendar_add_closure(cal, calendar_fx_day("2025-06-13"), "Closed");
        calendar_add_closure(cal, calendar_fx_day("2025-06-11"), "Closed too");
        calendar_add_closure(cal, calendar_fx_day("2025-06-12"),
                             "Closed three");
        assert_int_equal(calendar_last_year(cal), 0);
        assert_string_equal(
            calendar_holiday(cal, calendar_fx_day("2025-06-12")),
            "Closed three");
        assert_string_equal(
            calendar_holiday(cal, calendar_fx_day("2025-06-11")), "Closed too");
        /* Tue 10 -> (Wed, Thu, Fri closed, Sat, Sun) Mon 16, flagged at
         * the first weekday looked at. */
        calendar_fx_assert_working_day(cal, "2025-06-10", 1, "2025-06-16",
                                       "2025-06-11");
        calendar_destroy(&cal);
        assert_null(cal);
}

static void
test_roll(void **state)
{
        struct calendar_fx *fx = *state;

        /* A working day is its own roll, either way. */
        calendar_fx_assert_roll(fx->cal, "2024-03-28", 1, "2024-03-28", NULL);
        calendar_fx_assert_roll(fx->cal, "2024-03-28", -1, "2024-03-28", NULL);
        /* Easter 2024: Sat 30 Mar -> Sun, Easter Mon 1 Apr -> Tue 2 Apr */
        calendar_fx_assert_roll(fx->cal, "2024-03-30", 1, "2024-04-02", NULL);
        /* Good Fri 29 Mar forward -> Tue 2 Apr */
        calendar_fx_assert_roll(fx->cal, "2024-03-29", 1, "2024-04-02", NULL);
        /* Easter Mon 1 Apr back -> Sun, Sat, Good Fri -> Thu 28 Mar */
        calendar_fx_assert_roll(fx->cal, "2024-04-01", -1, "2024-03-28", NULL);
        /* Christmas 2027: Sat 25 -> Wed 29; Tue 28 back -> Fri 24 */
        calendar_fx_assert_roll(fx->cal, "2027-12-25", 1, "2027-12-29", NULL);
        calendar_fx_assert_roll(fx->cal, "2027-12-28", -1, "2027-12-24", NULL);
        /* Summer 2026: Sun 30 Aug forward -> (Mon 31 off) Tue 1 Sep */
        calendar_fx_assert_roll(fx->cal, "2026-08-30", 1, "2026-09-01", NULL);
        calendar_fx_assert_roll(fx->cal, "2026-08-31", -1, "2026-08-28", NULL);
        /* Direction 0 leaves the day alone. */
        calendar_fx_assert_roll(fx->cal, "2024-03-30", 0, "2024-03-30", NULL);
        /* New Year 2024 back: Sun 31, Sat 30, Fri 29 Dec 2023 (no data) */
        calendar_fx_assert_roll(fx->cal, "2024-01-01", -1, "2023-12-29",
                                "2023-12-29");
        /* Sat 30 Dec 2028 forward: Sun, Mon 1 Jan 2029 (no data) */
        calendar_fx_assert_roll(fx->cal, "2028-12-30", 1, "2029-01-01",
                                "2029-01-01");
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_working_day_table, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test(test_table_covers_every_holiday),
    cmocka_unit_test_setup_teardown(test_working_day_steps, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test_setup_teardown(test_holidays_exact, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test_setup_teardown(test_n_zero, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test_setup_teardown(test_is_working_day, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test_setup_teardown(test_closure, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test(test_closures_only),
    cmocka_unit_test_setup_teardown(test_roll, calendar_fx_setup,
                                    calendar_fx_teardown),
})
