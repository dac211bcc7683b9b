#include "civil.h"

#include <stdio.h>
#include <string.h>

/*
 * Day numbers from civil dates and back, using eras of 400 years (146097
 * days) that start on 1 March so the leap day falls at the end of a year.
 */
int32_t
civil_days(int year, int month, int day)
{
        int y = month <= 2 ? year - 1 : year;
        int era = (y >= 0 ? y : y - 399) / 400;
        int yoe = y - era * 400;
        int mp = (month + 9) % 12; /* March = 0 */
        int doy = (153 * mp + 2) / 5 + day - 1;
        int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        return era * 146097 + doe - 719468;
}

struct civil_date
civil_from_days(int32_t days)
{
        struct civil_date d;
        int32_t z = days + 719468;
        int32_t era = (z >= 0 ? z : z - 146096) / 146097;
        int doe = z - era * 146097;
        int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int mp = (5 * doy + 2) / 153;

        d.day = doy - (153 * mp + 2) / 5 + 1;
        d.month = mp < 10 ? mp + 3 : mp - 9;
        d.year = yoe + era * 400 + (d.month <= 2);
        return d;
}

int
civil_weekday(int32_t days)
{
        /* 1970-01-01 was a Thursday (3 with Monday = 0). */
        int w = (days + 3) % 7;

        return w < 0 ? w + 7 : w;
}

bool
civil_is_leap(int year)
{
        return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int
civil_month_length(int year, int month)
{
        static const int len[12] = { 31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31 };

        if (month == 2 && civil_is_leap(year))
                return 29;
        return len[month - 1];
}

bool
civil_valid(int year, int month, int day)
{
        if (year < 1 || year > 9999 || month < 1 || month > 12)
                return false;
        return day >= 1 && day <= civil_month_length(year, month);
}

int32_t
civil_add_months(int32_t days, int months)
{
        struct civil_date d = civil_from_days(days);
        int index = d.year * 12 + (d.month - 1) + months;
        int year = index >= 0 ? index / 12 : (index - 11) / 12; /* floor */
        int month = index - year * 12 + 1;
        int last = civil_month_length(year, month);

        return civil_days(year, month, d.day > last ? last : d.day);
}

static int
digits(const char *s, int n)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

int
civil_parse_date(const char *s, int32_t *days)
{
        int y, m, d;

        if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
                return -1;
        y = digits(s, 4);
        m = digits(s + 5, 2);
        d = digits(s + 8, 2);
        if (y < 0 || m < 0 || d < 0 || !civil_valid(y, m, d))
                return -1;
        *days = civil_days(y, m, d);
        return 0;
}

void
civil_format_date(int32_t days, char *buf, size_t len)
{
        struct civil_date d = civil_from_days(days);

        snprintf(buf, len, "%04d-%02d-%02d", d.year, d.month, d.day);
}

int32_t
civil_day_of(int64_t local_secs)
{
        int64_t q = local_secs / CIVIL_SECS_PER_DAY;

        if (local_secs % CIVIL_SECS_PER_DAY < 0)
                q--;
        return (int32_t)q;
}

int64_t
civil_local_secs(int32_t days, int seconds_of_day)
{
        return (int64_t)days * CIVIL_SECS_PER_DAY + seconds_of_day;
}
