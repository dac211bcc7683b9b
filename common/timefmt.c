#include "timefmt.h"

#include "civil.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
format_offset(int32_t off, char *buf, size_t len)
{
        char sign = off < 0 ? '-' : '+';

        if (off < 0)
                off = -off;
        snprintf(buf, len, "%c%02d:%02d", sign, off / 3600, off / 60 % 60);
}

static void
format_local(int64_t local, const char *suffix, char *buf, size_t len)
{
        int32_t day = civil_day_of(local);
        struct civil_date d = civil_from_days(day);
        int secs = (int)(local - civil_local_secs(day, 0));

        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s", d.year, d.month,
                 d.day, secs / 3600, secs / 60 % 60, secs % 60, suffix);
}

void
timefmt_rfc3339(const struct tz *tz, int64_t utc, char *buf, size_t len)
{
        char off[16];
        int32_t o = tz_offset(tz, utc);

        /* RFC 3339 offsets are whole minutes, and local mean time (a zone
         * before its first standard time: London's is -00:01:15) is not:
         * print the local time at the offset as written, so the text still
         * names the instant. */
        o -= o % 60;
        format_offset(o, off, sizeof(off));
        format_local(utc + o, off, buf, len);
}

json_t *
timefmt_json(const struct tz *tz, int64_t utc)
{
        /* TIMEFMT_LEN holds every real date; inlined here, the compiler
         * counts the widest ints, and their text fits in this. */
        char buf[72];

        timefmt_rfc3339(tz, utc, buf, sizeof(buf));
        return json_string(buf);
}

void
timefmt_rfc3339_utc(int64_t utc, char *buf, size_t len)
{
        format_local(utc, "Z", buf, len);
}

void
timefmt_human(const struct tz *tz, int64_t utc, char *buf, size_t len)
{
        static const char *wd[7] = { "Mon", "Tue", "Wed", "Thu",
                                     "Fri", "Sat", "Sun" };
        static const char *mon[12] = {
                "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
        };
        int64_t local = tz_to_local(tz, utc);
        int32_t day = civil_day_of(local);
        struct civil_date d = civil_from_days(day);
        int secs = (int)(local - civil_local_secs(day, 0));

        snprintf(buf, len, "%s %d %s %04d %02d:%02d %s", wd[civil_weekday(day)],
                 d.day, mon[d.month - 1], d.year, secs / 3600, secs / 60 % 60,
                 tz_abbrev(tz, utc));
}

/* Reads exactly n digits. */
static bool
num(const char **sp, int n, int *out)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                char c = (*sp)[i];

                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (c - '0');
        }
        *sp += n;
        *out = v;
        return true;
}

int
timefmt_parse_clock(const char *s, int *secs)
{
        int h, m, sec = 0;

        if (!num(&s, 2, &h) || *s++ != ':' || !num(&s, 2, &m))
                return -1;
        if (*s == ':' && (s++, !num(&s, 2, &sec)))
                return -1;
        if (*s != '\0' || h > 23 || m > 59 || sec > 59)
                return -1;
        *secs = h * 3600 + m * 60 + sec;
        return 0;
}

int
timefmt_parse(const struct tz *tz, const char *s, int64_t *utc,
              enum tz_fold *fold, char **cause)
{
        const char *p = s;
        int y, mo, d, h, mi, sec = 0, oh, om;
        int64_t local;

        if (!num(&p, 4, &y) || *p++ != '-' || !num(&p, 2, &mo) || *p++ != '-' ||
            !num(&p, 2, &d) || (*p != 'T' && *p != ' '))
                goto bad;
        p++;
        if (!num(&p, 2, &h) || *p++ != ':' || !num(&p, 2, &mi))
                goto bad;
        if (*p == ':' && (p++, !num(&p, 2, &sec)))
                goto bad;
        if (!civil_valid(y, mo, d) || h > 23 || mi > 59 || sec > 59) {
                xasprintf(cause, "'%s' is not a valid date and time", s);
                return -1;
        }
        local =
            civil_local_secs(civil_days(y, mo, d), h * 3600 + mi * 60 + sec);
        if (*p == '\0') {
                *utc = tz_to_utc(tz, local, fold);
                return 0;
        }
        if (fold != NULL)
                *fold = TZ_EXACT;
        if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
                *utc = local;
                return 0;
        }
        if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1;

                if (num(&p, 2, &oh) && *p++ == ':' && num(&p, 2, &om) &&
                    *p == '\0' && oh <= 23 && om <= 59) {
                        *utc = local - sign * (oh * 3600 + om * 60);
                        return 0;
                }
        }
bad:
        xasprintf(cause,
                  "'%s' is not a time of the form "
                  "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]",
                  s);
        return -1;
}
