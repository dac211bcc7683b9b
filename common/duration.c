/* duration: config lengths of time and weekly times of day (pure). */
#include "duration.h"

#include "civil.h"

#include <stddef.h>
#include <string.h>

#define MAX_SECONDS (100LL * 365 * 86400)

int
duration_parse(const char *text, int64_t *seconds)
{
        static const struct {
                char unit;
                int64_t seconds;
        } units[] = {
                { 's', 1 },     { 'm', 60 },        { 'h', 3600 },
                { 'd', 86400 }, { 'w', 7 * 86400 }, { 'y', 365 * 86400 },
        };
        int64_t n = 0;
        const char *p = text;

        if (*p < '0' || *p > '9')
                return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
                n = n * 10 + (*p - '0');
                if (n > MAX_SECONDS)
                        return -1;
        }
        if (p[0] == '\0' || p[1] != '\0')
                return -1;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (*p != units[i].unit)
                        continue;
                if (n > MAX_SECONDS / units[i].seconds)
                        return -1;
                *seconds = n * units[i].seconds;
                return 0;
        }
        return -1;
}

int
duration_weekly(const char *text, int *wday, int *minute)
{
        static const char days[] = "MonTueWedThuFriSatSun";
        int h, m;

        if (strlen(text) != 9 || text[3] != ' ' || text[6] != ':')
                return -1;
        for (int d = 0; d < 7; d++) {
                if (strncmp(text, days + 3 * d, 3) != 0)
                        continue;
                for (int i = 4; i < 9; i++) {
                        if (i != 6 && (text[i] < '0' || text[i] > '9'))
                                return -1;
                }
                h = (text[4] - '0') * 10 + (text[5] - '0');
                m = (text[7] - '0') * 10 + (text[8] - '0');
                if (h > 23 || m > 59)
                        return -1;
                *wday = d;
                *minute = h * 60 + m;
                return 0;
        }
        return -1;
}

/* The check's instant on local day `day`, in UTC. */
static int64_t
slot_on(const struct tz *tz, int32_t day, int minute)
{
        enum tz_fold fold;

        return tz_to_utc(tz, civil_local_secs(day, minute * 60), &fold);
}

/* The first `wday` of the month of local day `day`. */
static int32_t
first_wday(int32_t day, int wday)
{
        struct civil_date d = civil_from_days(day);
        int32_t first = civil_days(d.year, d.month, 1);

        return first + (wday - civil_weekday(first) + 7) % 7;
}

int64_t
duration_last_slot(const struct tz *tz, int64_t now, enum duration_every every,
                   int wday, int minute)
{
        int32_t day = civil_day_of(tz_to_local(tz, now)), d;

        switch (every) {
        case DURATION_DAILY:
                d = day;
                if (slot_on(tz, d, minute) > now)
                        d--;
                return slot_on(tz, d, minute);
        case DURATION_MONTHLY:
                d = first_wday(day, wday);
                if (d > day || slot_on(tz, d, minute) > now)
                        d = first_wday(
                            civil_add_months(
                                civil_days(civil_from_days(day).year,
                                           civil_from_days(day).month, 1),
                                -1),
                            wday);
                return slot_on(tz, d, minute);
        case DURATION_WEEKLY:
        default:
                d = day - (civil_weekday(day) - wday + 7) % 7;
                if (slot_on(tz, d, minute) > now)
                        d -= 7;
                return slot_on(tz, d, minute);
        }
}
