/*
 * fuzz_holidays: the GOV.UK bank-holidays.json import,
 * calendar_add_govuk(), on any bytes, for each of the three divisions.
 *
 * Invariants: a refused file leaves the calendar as it was (empty) and says
 * why; an accepted one makes every date it lists a non-working, covered
 * day with a title, and working-day counts over it land on working days,
 * strictly after their start, in order.
 */
#include "fuzz.h"

#include "calendar.h"
#include "civil.h"

#include <jansson.h>
#include <stdlib.h>

static const char *const divisions[] = { "england-and-wales", "scotland",
                                         "northern-ireland" };

/* The dates the file lists for `division`, as the import must read them. */
static void
check_dates(const struct calendar *cal, const uint8_t *data, size_t size,
            const char *division)
{
        json_t *root = json_loadb((const char *)data, size, 0, NULL);
        json_t *events =
            json_object_get(json_object_get(root, division), "events");
        int32_t first = INT32_MAX, uncovered;
        size_t i;
        json_t *ev;

        FUZZ_CHECK(json_is_array(events));
        json_array_foreach(events, i, ev)
        {
                const char *date =
                    json_string_value(json_object_get(ev, "date"));
                int32_t day;

                FUZZ_CHECK(date != NULL && civil_parse_date(date, &day) == 0);
                FUZZ_CHECK(calendar_holiday(cal, day) != NULL);
                FUZZ_CHECK(!calendar_is_working_day(cal, day));
                FUZZ_CHECK(calendar_covers(cal, day));
                FUZZ_CHECK(civil_from_days(day).year <=
                           calendar_last_year(cal));
                if (day < first)
                        first = day;
        }
        if (first != INT32_MAX) {
                int32_t prev = first - 5;

                for (int n = 1; n <= 10; n++) {
                        int32_t d =
                            calendar_working_day(cal, first - 5, n, &uncovered);

                        FUZZ_CHECK(d > prev);
                        FUZZ_CHECK(calendar_is_working_day(cal, d));
                        prev = d;
                }
                FUZZ_CHECK(calendar_is_working_day(
                    cal, calendar_roll(cal, first, 1, &uncovered)));
                FUZZ_CHECK(calendar_is_working_day(
                    cal, calendar_roll(cal, first, -1, &uncovered)));
        }
        json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        for (size_t i = 0; i < sizeof(divisions) / sizeof(divisions[0]); i++) {
                struct calendar *cal = calendar_new();
                char *cause = NULL;

                if (calendar_add_govuk(cal, (const char *)data, size,
                                       divisions[i], &cause) < 0) {
                        FUZZ_CHECK(cause != NULL);
                        FUZZ_CHECK(calendar_last_year(cal) == 0);
                } else {
                        FUZZ_CHECK(cause == NULL);
                        check_dates(cal, data, size, divisions[i]);
                        /* The same file again changes nothing. */
                        FUZZ_CHECK(calendar_add_govuk(cal, (const char *)data,
                                                      size, divisions[i],
                                                      &cause) == 0);
                        check_dates(cal, data, size, divisions[i]);
                }
                free(cause);
                calendar_destroy(&cal);
        }
        return 0;
}
