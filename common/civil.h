/*
 * civil: proleptic Gregorian calendar arithmetic on day numbers.
 *
 * A day number counts days from 1970-01-01 (day 0); it can be negative.
 * Everything here is pure: no clock, no time zone, no allocation. Local
 * wall-clock instants are "local seconds": seconds since 1970-01-01T00:00 of
 * the local calendar, as if the zone were UTC; tz.h maps them to real UTC.
 */
#ifndef ONOTIFY_CIVIL_H
#define ONOTIFY_CIVIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIVIL_SECS_PER_DAY 86400

struct civil_date {
        int year;
        int month; /* 1..12 */
        int day;   /* 1..31 */
};

int32_t civil_days(int year, int month, int day);
struct civil_date civil_from_days(int32_t days);
/* 0 = Monday ... 6 = Sunday. */
int civil_weekday(int32_t days);
bool civil_is_leap(int year);
int civil_month_length(int year, int month);
bool civil_valid(int year, int month, int day);
/*
 * The same day of the month, months later (or earlier when negative); a day
 * that the target month lacks becomes its last day (31 Jan + 1 = 28/29 Feb).
 */
int32_t civil_add_months(int32_t days, int months);

/* Parses exactly "YYYY-MM-DD" into a day number; -1 if not a valid date. */
int civil_parse_date(const char *s, int32_t *days);
/* Writes "YYYY-MM-DD" into buf (at least 11 bytes). */
void civil_format_date(int32_t days, char *buf, size_t len);

/* Floor division of local seconds into a day number and seconds of day. */
int32_t civil_day_of(int64_t local_secs);
int64_t civil_local_secs(int32_t days, int seconds_of_day);

#endif
