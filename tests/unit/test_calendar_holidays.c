/*
 * Unit tests for calendar's import of the GOV.UK bank holidays file: the
 * titles, the years covered and the coverage warning, Scotland, loading
 * twice, one's own small feed and the errors of calendar_add_govuk, each
 * named for what and where it is.
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
#include "fileio.h"
#include "support.h"

static void
test_titles(void **state)
{
        struct calendar_fx *fx = *state;

        assert_string_equal(
            calendar_holiday(fx->cal, calendar_fx_day("2024-01-01")),
            "New Year\xe2\x80\x99s Day");
        assert_string_equal(
            calendar_holiday(fx->cal, calendar_fx_day("2028-01-03")),
            "New Year\xe2\x80\x99s Day");
        assert_string_equal(
            calendar_holiday(fx->cal, calendar_fx_day("2026-12-28")),
            "Boxing Day");
        assert_string_equal(
            calendar_holiday(fx->cal, calendar_fx_day("2027-12-27")),
            "Christmas Day");
        assert_string_equal(
            calendar_holiday(fx->cal, calendar_fx_day("2025-04-21")),
            "Easter Monday");
        /* The real day of a substituted holiday, a weekend, is not one. */
        assert_null(calendar_holiday(fx->cal, calendar_fx_day("2027-12-25")));
        assert_null(calendar_holiday(fx->cal, calendar_fx_day("2028-01-01")));
        assert_null(calendar_holiday(fx->cal, calendar_fx_day("2024-01-02")));
        assert_null(calendar_holiday(fx->cal, calendar_fx_day("2029-01-01")));
        assert_null(calendar_holiday(fx->cal, calendar_fx_day("2023-12-25")));
}

static void
test_coverage(void **state)
{
        struct calendar_fx *fx = *state;

        assert_int_equal(calendar_last_year(fx->cal), 2028);
        assert_true(calendar_covers(fx->cal, calendar_fx_day("2024-01-01")));
        assert_true(calendar_covers(fx->cal, calendar_fx_day("2028-12-31")));
        assert_false(calendar_covers(fx->cal, calendar_fx_day("2023-12-31")));
        assert_false(calendar_covers(fx->cal, calendar_fx_day("2029-01-01")));

        /* Inside: covered, and a stale value is overwritten. */
        calendar_fx_assert_working_day(fx->cal, "2028-12-22", 1, "2028-12-27",
                                       NULL);

        /* Fri 22 Dec 2028 + 5 passes Mon 1 Jan 2029. */
        calendar_fx_assert_working_day(fx->cal, "2028-12-22", 5, "2029-01-02",
                                       "2029-01-01");

        /* Fri 29 Dec 2028 -> Sat, Sun are not flagged, Mon 1 Jan is. */
        calendar_fx_assert_working_day(fx->cal, "2028-12-29", 1, "2029-01-01",
                                       "2029-01-01");

        /* Further out: still the first weekday outside the data. */
        calendar_fx_assert_working_day(fx->cal, "2028-12-28", 10, "2029-01-11",
                                       "2029-01-01");

        /* Before the data: Wed 20 Dec 2023 -> Thu 21, flagged. */
        calendar_fx_assert_working_day(fx->cal, "2023-12-20", 1, "2023-12-21",
                                       "2023-12-21");
        /* Fri 22 Dec 2023: Christmas 2023 is unknown, so Mon 25, Tue 26,
         * Wed 27, Thu 28, Fri 29 all count; flagged at Mon 25. */
        calendar_fx_assert_working_day(fx->cal, "2023-12-22", 5, "2023-12-29",
                                       "2023-12-25");
        /* Thu 28 Dec 2023 -> Fri 29 (flagged), (Sat, Sun, Mon 1 Jan off)
         * Tue 2 Jan 2024 */
        calendar_fx_assert_working_day(fx->cal, "2023-12-28", 2, "2024-01-02",
                                       "2023-12-29");
}

static void
test_empty_calendar(void **state)
{
        struct calendar *cal = calendar_new();
        int32_t unc;

        (void)state;
        assert_non_null(cal);
        assert_int_equal(calendar_last_year(cal), 0);
        assert_false(calendar_covers(cal, calendar_fx_day("2025-06-09")));
        assert_null(calendar_holiday(cal, calendar_fx_day("2025-12-25")));

        /* Every weekday of four weeks is a working day, and flagged. */
        for (int32_t d = calendar_fx_day("2025-06-02");
             d < calendar_fx_day("2025-06-30"); d++) {
                int32_t prev = d - 1;

                if (civil_weekday(d) >= 5) {
                        assert_false(calendar_is_working_day(cal, d));
                        continue;
                }
                assert_true(calendar_is_working_day(cal, d));
                unc = CALENDAR_FX_UNSET;
                if (civil_weekday(d) == 0)
                        prev = d - 3; /* the Friday before */
                assert_int_equal(calendar_working_day(cal, prev, 1, &unc), d);
                assert_int_equal(unc, d);
                unc = CALENDAR_FX_UNSET;
                assert_int_equal(calendar_roll(cal, d, 1, &unc), d);
                assert_int_equal(unc, d);
        }
        /* Sat 14 Jun -> Sun (not flagged) -> Mon 16 (flagged) */
        calendar_fx_assert_working_day(cal, "2025-06-13", 1, "2025-06-16",
                                       "2025-06-16");
        /* With no data, Christmas Day counts as a working day, flagged. */
        calendar_fx_assert_working_day(cal, "2025-12-24", 1, "2025-12-25",
                                       "2025-12-25");
        calendar_destroy(&cal);
        assert_null(cal);
        calendar_destroy(&cal);
        calendar_destroy(NULL);
}

static void
test_scotland(void **state)
{
        struct calendar_fx *fx = *state;
        struct calendar *sc = calendar_new();
        char *cause = NULL;

        assert_non_null(sc);
        assert_int_equal(
            calendar_add_govuk(sc, fx->json, fx->len, "scotland", &cause), 0);
        assert_null(cause);
        /* The shipped Scottish data stops at 2027. */
        assert_int_equal(calendar_last_year(sc), 2027);

        assert_string_equal(calendar_holiday(sc, calendar_fx_day("2024-01-02")),
                            "2nd January");
        assert_false(
            calendar_is_working_day(sc, calendar_fx_day("2024-01-02")));
        assert_true(
            calendar_is_working_day(fx->cal, calendar_fx_day("2024-01-02")));
        assert_string_equal(calendar_holiday(sc, calendar_fx_day("2024-12-02")),
                            "St Andrew\xe2\x80\x99s Day");
        /* Scotland has no Easter Monday but an early August holiday. */
        assert_true(calendar_is_working_day(sc, calendar_fx_day("2024-04-01")));
        assert_false(
            calendar_is_working_day(sc, calendar_fx_day("2024-08-05")));
        assert_true(calendar_is_working_day(sc, calendar_fx_day("2024-08-26")));

        /* Fri 29 Dec 2023 -> (New Year Mon 1, 2nd January Tue 2) Wed 3 */
        calendar_fx_assert_working_day(sc, "2023-12-29", 1, "2024-01-03", NULL);
        /* Thu 28 Mar 2024 -> (Good Fri) Mon 1 Apr */
        calendar_fx_assert_working_day(sc, "2024-03-28", 1, "2024-04-01", NULL);
        /* 2028 is outside the Scottish data: Fri 31 Dec 2027 -> Mon 3 Jan
         * 2028, counted and flagged. */
        calendar_fx_assert_working_day(sc, "2027-12-31", 1, "2028-01-03",
                                       "2028-01-03");
        calendar_destroy(&sc);
}

/* Loading the same division twice changes nothing. */
static void
test_load_twice(void **state)
{
        struct calendar_fx *fx = *state;
        char *cause = NULL;

        assert_int_equal(calendar_add_govuk(fx->cal, fx->json, fx->len,
                                            CALENDAR_FX_EW, &cause),
                         0);
        assert_null(cause);
        assert_int_equal(calendar_last_year(fx->cal), 2028);
        assert_false(calendar_covers(fx->cal, calendar_fx_day("2023-12-31")));
        calendar_fx_assert_working_day(fx->cal, "2027-12-24", 5, "2028-01-05",
                                       NULL);
        assert_string_equal(
            calendar_holiday(fx->cal, calendar_fx_day("2026-12-28")),
            "Boxing Day");
}

/* The shipped calendar, after a failed load, is as it was. */
static void
assert_unchanged(const struct calendar *cal)
{

        assert_int_equal(calendar_last_year(cal), 2028);
        assert_false(calendar_covers(cal, calendar_fx_day("2023-12-31")));
        assert_false(calendar_covers(cal, calendar_fx_day("2029-06-01")));
        assert_null(calendar_holiday(cal, calendar_fx_day("2030-01-01")));
        assert_null(calendar_holiday(cal, calendar_fx_day("2024-06-03")));
        calendar_fx_assert_working_day(cal, "2024-03-28", 1, "2024-04-02",
                                       NULL);
}

static void
expect_error(struct calendar *cal, const char *json, const char *division,
             const char *const *words)
{
        char *cause = NULL;

        assert_int_equal(
            calendar_add_govuk(cal, json, strlen(json), division, &cause), -1);
        assert_non_null(cause);
        for (; *words != NULL; words++)
                if (strstr(cause, *words) == NULL)
                        fail_msg("cause '%s' lacks '%s'", cause, *words);
        free(cause);
}

static void
test_errors(void **state)
{
        struct calendar_fx *fx = *state;
        /* A trailing comma: the error is on line 3. */
        static const char *const w_syntax[] = { "line 3", NULL };
        static const char *const w_type[] = { "GOV.UK", NULL };
        static const char *const w_div[] = { "'wales'", "'england-and-wales'",
                                             "'scotland'", "'northern-ireland'",
                                             NULL };
        static const char *const w_events[] = { "'x'", "events", NULL };
        static const char *const w_date2[] = { "event 2", "date", NULL };
        static const char *const w_date1[] = { "event 1", "date", NULL };
        static const char *const w_title[] = { "event 1", "title", NULL };
        struct calendar *empty = calendar_new();

        expect_error(fx->cal, "{\n\"england-and-wales\": {},\n}",
                     CALENDAR_FX_EW, w_syntax);
        assert_unchanged(fx->cal);
        /* The shipped file cut in half. */
        {
                char *half = strndup(fx->json, fx->len / 2);
                char *cause = NULL;

                assert_non_null(half);
                assert_int_equal(calendar_add_govuk(fx->cal, half, strlen(half),
                                                    CALENDAR_FX_EW, &cause),
                                 -1);
                assert_non_null(cause);
                assert_non_null(strstr(cause, "line"));
                free(cause);
                free(half);
        }
        assert_unchanged(fx->cal);

        expect_error(fx->cal, "[1, 2]", CALENDAR_FX_EW, w_type);
        assert_unchanged(fx->cal);

        expect_error(fx->cal, fx->json, "wales", w_div);
        assert_unchanged(fx->cal);

        expect_error(fx->cal, "{\"x\": {\"division\": \"x\"}}", "x", w_events);
        assert_unchanged(fx->cal);

        /* The good first event must not be added either. */
        expect_error(fx->cal,
                     "{\"england-and-wales\": {\"events\": ["
                     "{\"title\": \"Good\", \"date\": \"2030-01-01\"},"
                     "{\"title\": \"Bad\", \"date\": \"2030-02-30\"}]}}",
                     CALENDAR_FX_EW, w_date2);
        assert_unchanged(fx->cal);
        expect_error(fx->cal,
                     "{\"england-and-wales\": {\"events\": ["
                     "{\"title\": \"Bad\", \"date\": \"2030-1-01\"}]}}",
                     CALENDAR_FX_EW, w_date1);
        expect_error(fx->cal,
                     "{\"england-and-wales\": {\"events\": ["
                     "{\"title\": \"Bad\", \"date\": 20300101}]}}",
                     CALENDAR_FX_EW, w_date1);
        expect_error(fx->cal,
                     "{\"england-and-wales\": {\"events\": ["
                     "{\"title\": \"No date\"}]}}",
                     CALENDAR_FX_EW, w_date1);
        expect_error(fx->cal,
                     "{\"england-and-wales\": {\"events\": ["
                     "{\"date\": \"2030-01-01\"}]}}",
                     CALENDAR_FX_EW, w_title);
        assert_unchanged(fx->cal);

        /* A failed first load leaves an empty calendar empty. */
        assert_non_null(empty);
        expect_error(empty,
                     "{\"england-and-wales\": {\"events\": ["
                     "{\"title\": \"Good\", \"date\": \"2030-01-01\"},"
                     "{\"title\": \"Bad\", \"date\": \"2030-02-30\"}]}}",
                     CALENDAR_FX_EW, w_date2);
        assert_int_equal(calendar_last_year(empty), 0);
        assert_null(calendar_holiday(empty, calendar_fx_day("2030-01-01")));
        calendar_destroy(&empty);
}

/*
 * Each malformed shape is named for what it is and where it is: the
 * division, the event by its number from 1, its date when it has one.
 */
static void
test_error_shapes(void **state)
{
        static const struct {
                const char *json;
                const char *want;
        } cases[] = {
                { "{\"england-and-wales\": 7}",
                  "division 'england-and-wales' is a number, not an object "
                  "with an \"events\" array" },
                { "{\"england-and-wales\": [1]}",
                  "division 'england-and-wales' is an array, not an object "
                  "with an \"events\" array" },
                { "{\"england-and-wales\": {\"division\": \"x\"}}",
                  "division 'england-and-wales' has no \"events\" array" },
                { "{\"england-and-wales\": {\"events\": {}}}",
                  "division 'england-and-wales': \"events\" is an object, "
                  "not an array" },
                { "{\"england-and-wales\": {\"events\": \"none\"}}",
                  "division 'england-and-wales': \"events\" is a string, "
                  "not an array" },
                { "{\"scotland\": {\"events\": []}}",
                  "no division 'england-and-wales' (it has: 'scotland')" },
                { "{}", "no division 'england-and-wales': the file has no "
                        "divisions at all" },
                { "[{\"england-and-wales\": {}}]",
                  "the file is an array, not a GOV.UK "
                  "bank-holidays object of divisions" },
                { "{\"england-and-wales\": {\"events\": [{\"title\": \"A\", "
                  "\"date\": \"2030-01-01\"}, 3]}}",
                  "division 'england-and-wales' event 2 is a number, not an "
                  "object" },
                { "{\"england-and-wales\": {\"events\": [{\"title\": "
                  "\"A\"}]}}",
                  "division 'england-and-wales' event 1 has no \"date\"" },
                { "{\"england-and-wales\": {\"events\": [{\"title\": \"A\", "
                  "\"date\": null}]}}",
                  "division 'england-and-wales' event 1: \"date\" is null, "
                  "not a string \"YYYY-MM-DD\"" },
                { "{\"england-and-wales\": {\"events\": [{\"title\": \"A\", "
                  "\"date\": \"25/12/2030\"}]}}",
                  "division 'england-and-wales' event 1: date '25/12/2030' "
                  "is not a date \"YYYY-MM-DD\"" },
                { "{\"england-and-wales\": {\"events\": [{\"title\": \"A\", "
                  "\"date\": \"2030-02-29\"}]}}",
                  "division 'england-and-wales' event 1: date '2030-02-29' "
                  "is not a date \"YYYY-MM-DD\"" },
                { "{\"england-and-wales\": {\"events\": [{\"title\": \"A\", "
                  "\"date\": \"2030-01-01\"}, {\"title\": \"B\", "
                  "\"date\": \"9999-12-31\"}]}}",
                  "division 'england-and-wales' event 2: date 9999-12-31 is "
                  "outside the years 1900 to 2199" },
                { "{\"england-and-wales\": {\"events\": [{\"title\": \"A\", "
                  "\"date\": \"1899-12-25\"}]}}",
                  "division 'england-and-wales' event 1: date 1899-12-25 is "
                  "outside the years 1900 to 2199" },
                { "{\"england-and-wales\": {\"events\": [{\"date\": "
                  "\"2030-12-25\"}]}}",
                  "division 'england-and-wales' event 1 (2030-12-25) has no "
                  "\"title\"" },
                { "{\"england-and-wales\": {\"events\": [{\"title\": [\"A\"], "
                  "\"date\": \"2030-12-25\"}]}}",
                  "division 'england-and-wales' event 1 (2030-12-25): "
                  "\"title\" is an array, not a string" },
        };
        struct calendar_fx *fx = *state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *cause = NULL;

                assert_int_equal(calendar_add_govuk(fx->cal, cases[i].json,
                                                    strlen(cases[i].json),
                                                    CALENDAR_FX_EW, &cause),
                                 -1);
                assert_non_null(cause);
                if (strcmp(cause, cases[i].want) != 0)
                        fail_msg("case %zu: cause '%s', want '%s'", i, cause,
                                 cases[i].want);
                free(cause);
                assert_unchanged(fx->cal);
        }
}

/* A small feed of one's own: coverage is the years it lists. */
static void
test_custom_feed(void **state)
{
        static const char feed[] =
            "{\"england-and-wales\": {\"division\": \"england-and-wales\","
            " \"events\": ["
            "{\"title\": \"Late\", \"date\": \"2031-12-24\"},"
            "{\"title\": \"Early\", \"date\": \"2030-01-01\"}]}}";
        static const char one[] = "{\"northern-ireland\": {\"events\": ["
                                  "{\"title\": \"St Patrick\xe2\x80\x99s Day\","
                                  " \"date\": \"2033-03-17\"}]}}";
        static const char none[] = "{\"scotland\": {\"events\": []}}";
        struct calendar *cal = calendar_new();
        char *cause = NULL;

        (void)state;
        assert_non_null(cal);
        assert_int_equal(
            calendar_add_govuk(cal, feed, strlen(feed), CALENDAR_FX_EW, &cause),
            0);
        assert_null(cause);
        /* The events are out of order: coverage is still 2030..2031. */
        assert_int_equal(calendar_last_year(cal), 2031);
        assert_true(calendar_covers(cal, calendar_fx_day("2030-01-01")));
        assert_true(calendar_covers(cal, calendar_fx_day("2031-12-31")));
        assert_false(calendar_covers(cal, calendar_fx_day("2029-12-31")));
        assert_false(calendar_covers(cal, calendar_fx_day("2032-01-01")));
        assert_string_equal(
            calendar_holiday(cal, calendar_fx_day("2031-12-24")), "Late");
        assert_string_equal(
            calendar_holiday(cal, calendar_fx_day("2030-01-01")), "Early");
        /* Mon 31 Dec 2029 (no data) -> (Tue 1 Jan 2030 off) Wed 2 Jan;
         * nothing outside the data is examined. */
        calendar_fx_assert_working_day(cal, "2029-12-31", 1, "2030-01-02",
                                       NULL);

        /* A second feed with one event widens the coverage ... */
        assert_int_equal(calendar_add_govuk(cal, one, strlen(one),
                                            "northern-ireland", &cause),
                         0);
        assert_null(cause);
        assert_int_equal(calendar_last_year(cal), 2033);
        assert_string_equal(
            calendar_holiday(cal, calendar_fx_day("2033-03-17")),
            "St Patrick" CALENDAR_FX_RSQUO "s Day");
        assert_true(calendar_covers(cal, calendar_fx_day("2030-01-01")));
        /* ... and one with no events changes nothing. */
        assert_int_equal(
            calendar_add_govuk(cal, none, strlen(none), "scotland", &cause), 0);
        assert_null(cause);
        assert_int_equal(calendar_last_year(cal), 2033);
        assert_true(calendar_covers(cal, calendar_fx_day("2030-06-01")));
        assert_false(calendar_covers(cal, calendar_fx_day("2029-12-31")));
        calendar_destroy(&cal);
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_titles, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test_setup_teardown(test_coverage, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test(test_empty_calendar),
    cmocka_unit_test_setup_teardown(test_scotland, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test_setup_teardown(test_load_twice, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test_setup_teardown(test_errors, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test_setup_teardown(test_error_shapes, calendar_fx_setup,
                                    calendar_fx_teardown),
    cmocka_unit_test(test_custom_feed),
})
