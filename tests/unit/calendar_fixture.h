/*
 * calendar_fixture: what calendar's unit tests share. Each test that needs
 * it runs on the shipped GOV.UK file's text and an england-and-wales
 * calendar loaded from it (setup/teardown); dates are written as
 * YYYY-MM-DD and the helpers fail the test on a bad one.
 */
#ifndef ONOTIFY_CALENDAR_FIXTURE_H
#define ONOTIFY_CALENDAR_FIXTURE_H

#include "calendar.h"

#include <stddef.h>
#include <stdint.h>

#define CALENDAR_FX_HOLIDAYS SOURCE_DIR "/config/bank-holidays.json"
#define CALENDAR_FX_EW       "england-and-wales"
#define CALENDAR_FX_RSQUO    "\xe2\x80\x99" /* U+2019, as GOV.UK writes titles */

/* Not a day number the tests use: shows whether *uncovered was written. */
#define CALENDAR_FX_UNSET 4242

struct calendar_fx {
        char *json;
        size_t len;
        struct calendar *cal; /* england-and-wales from the shipped file */
};

/* The day number of "YYYY-MM-DD", failing the test on a bad date. */
int32_t calendar_fx_day(const char *s);

/* `got` is the day `want` ("YYYY-MM-DD"), else both are shown. */
void calendar_fx_assert_day(int32_t got, const char *want);

/*
 * calendar_working_day(cal, from, n, &unc) is the day `want` and sets unc to
 * the day `uncovered` (NULL: CALENDAR_COVERED); a failure names from and n.
 */
void calendar_fx_assert_working_day(const struct calendar *cal,
                                    const char *from, int n, const char *want,
                                    const char *uncovered);

/* The same for calendar_roll(cal, day, direction, &unc). */
void calendar_fx_assert_roll(const struct calendar *cal, const char *day,
                             int direction, const char *want,
                             const char *uncovered);

/* cmocka setup and teardown: a struct calendar_fx in *state, holding the
 * shipped file's text and its england-and-wales calendar. */
int calendar_fx_setup(void **state);

int calendar_fx_teardown(void **state);

#endif
