/*
 * calendar: which days are working days for a trust.
 *
 * A working day is Monday to Friday, not a bank holiday of the trust's
 * division and not one of the trust's own closures. A school's calendar is
 * a calendar over the trust's (calendar_new_over()): the trust's days off
 * and the school's own closures, with the trust's holiday data. Bank holidays
 * come from GOV.UK's bank-holidays.json format, parsed here from text already
 * in memory: the module is pure and never reads a file or a clock.
 *
 * The holiday data covers whole years (the first to the last year the
 * division lists). A working-day count that has to look at a weekday outside
 * those years cannot know its holidays; the functions say so through their
 * `uncovered` argument instead of silently assuming there are none.
 */
#ifndef ONOTIFY_CALENDAR_H
#define ONOTIFY_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The `uncovered` value when everything examined was covered. */
#define CALENDAR_COVERED INT32_MIN

struct calendar;

struct calendar *calendar_new(void);
/*
 * A calendar whose days off are those of `base` and its own closures, and
 * whose holiday coverage is base's. `base` is borrowed: it must outlive
 * the new calendar and not change while it is used.
 */
struct calendar *calendar_new_over(const struct calendar *base);
void calendar_destroy(struct calendar **calp);

/*
 * The years a holiday may fall in: a date outside them is a typo, and it
 * would stretch the coverage over years the file says nothing about.
 */
#define CALENDAR_YEAR_MIN 1900
#define CALENDAR_YEAR_MAX 2199

/*
 * Adds the bank holidays of `division` (e.g. "england-and-wales") from the
 * text of a GOV.UK bank-holidays.json and widens the coverage to the years
 * they span. Returns -1 with *cause set (caller frees) on malformed data or
 * an unknown division; the cause says what is wrong and where (the division,
 * the event by its number from 1, its date). The calendar is unchanged then.
 */
int calendar_add_govuk(struct calendar *cal, const char *json, size_t len,
                       const char *division, char **cause);
/* Adds a closure: a trust's own non-working day. `why` is copied. */
void calendar_add_closure(struct calendar *cal, int32_t day, const char *why);

bool calendar_is_working_day(const struct calendar *cal, int32_t day);
/* The title of the holiday or closure on `day`, or NULL; owned by cal. */
const char *calendar_holiday(const struct calendar *cal, int32_t day);
/*
 * A hash of the calendar's own days off (not its base's), to notice that
 * a school's closures changed; 0 when it has none.
 */
uint64_t calendar_fingerprint(const struct calendar *cal);
/* Whether the holiday data is known for `day`. */
bool calendar_covers(const struct calendar *cal, int32_t day);
/* The last year with holiday data, or 0 when there is none. */
int calendar_last_year(const struct calendar *cal);

/*
 * n == 0: `from` itself. n >= 1: the nth working day strictly after `from`.
 * *uncovered gets the first weekday examined that lies outside the holiday
 * data's coverage, or CALENDAR_COVERED.
 */
int32_t calendar_working_day(const struct calendar *cal, int32_t from, int n,
                             int32_t *uncovered);
/*
 * `day` if it is a working day, else the first working day after it
 * (direction 1) or before it (direction -1); *uncovered as above.
 */
int32_t calendar_roll(const struct calendar *cal, int32_t day, int direction,
                      int32_t *uncovered);

#endif
