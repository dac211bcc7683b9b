/*
 * duration: a length of time as the config writes it, "30s", "5m", "12h",
 * "180d", "2w", "2y" (a year is 365 days, a month is not offered: its
 * length varies), the weekly time of day of daemon.check_time, "Mon
 * 08:00", and when a check so timed was last due. Pure: no clock, no I/O.
 */
#ifndef ONOTIFY_DURATION_H
#define ONOTIFY_DURATION_H

#include "tz.h"

#include <stdint.h>

/* What a duration's unit may be, for messages. */
#define DURATION_UNITS "s, m, h, d, w or y"

/*
 * `text` as a whole number and one unit into *seconds: 0, or -1 when it
 * is not one (or longer than 100 years).
 */
int duration_parse(const char *text, int64_t *seconds);

/*
 * "Ddd HH:MM" (a day of the week in English, three letters) into *wday
 * (0 Monday ... 6 Sunday, as civil_weekday()) and *minute of the day: 0,
 * or -1.
 */
int duration_weekly(const char *text, int *wday, int *minute);

/* How often a channel's check goes; conf's enum channel_check's order. */
enum duration_every {
        DURATION_WEEKLY,
        DURATION_DAILY,
        DURATION_MONTHLY,
};
/*
 * The latest time at or before `now` (UTC seconds) when a check that goes
 * `every` day, week (on `wday`) or month (its first `wday`) at `minute`
 * local time of zone `tz` was due.
 */
int64_t duration_last_slot(const struct tz *tz, int64_t now,
                           enum duration_every every, int wday, int minute);

#endif
