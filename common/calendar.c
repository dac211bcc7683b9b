#include "calendar.h"

#include "civil.h"
#include "xalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct offday {
        int32_t day;
        char *title;
};

struct calendar {
        struct offday *days; /* sorted by day, unique */
        size_t ndays, cap;
        int first_year, last_year; /* 0 when no holiday data */
};

struct calendar *
calendar_new(void)
{
        return xcalloc(1, sizeof(struct calendar));
}

void
calendar_destroy(struct calendar **calp)
{
        struct calendar *cal;

        if (calp == NULL || *calp == NULL)
                return;
        cal = *calp;
        for (size_t i = 0; i < cal->ndays; i++)
                free(cal->days[i].title);
        free(cal->days);
        free(cal);
        *calp = NULL;
}

/* Index of the first entry with day >= `day`. */
static size_t
lower_bound(const struct calendar *cal, int32_t day)
{
        size_t lo = 0, hi = cal->ndays;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (cal->days[mid].day < day)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static void
add_offday(struct calendar *cal, int32_t day, const char *title)
{
        size_t i = lower_bound(cal, day);

        if (i < cal->ndays && cal->days[i].day == day)
                return; /* a closure on a bank holiday: keep the first name */
        if (cal->ndays == cal->cap) {
                cal->cap = cal->cap == 0 ? 64 : cal->cap * 2;
                cal->days =
                    xreallocarray(cal->days, cal->cap, sizeof(*cal->days));
        }
        memmove(&cal->days[i + 1], &cal->days[i],
                (cal->ndays - i) * sizeof(*cal->days));
        cal->days[i].day = day;
        cal->days[i].title = xstrdup(title);
        cal->ndays++;
}

static void
list_divisions(json_t *root, char **out)
{
        const char *key;
        json_t *value;
        size_t len = 0;

        *out = xstrdup("");
        json_object_foreach(root, key, value)
        {
                (void)value;
                char *next;

                xasprintf(&next, "%s%s'%s'", *out, len ? ", " : "", key);
                free(*out);
                *out = next;
                len++;
        }
}

int
calendar_add_govuk(struct calendar *cal, const char *json, size_t len,
                   const char *division, char **cause)
{
        json_error_t jerr;
        json_t *root = NULL, *events;
        int32_t *dates = NULL;
        size_t n = 0;
        int first = 0, last = 0, rc = -1;

        root = json_loadb(json, len, 0, &jerr);
        if (root == NULL) {
                xasprintf(cause, "line %d: %s", jerr.line, jerr.text);
                goto out;
        }
        if (!json_is_object(root)) {
                xasprintf(cause, "not a GOV.UK bank-holidays object");
                goto out;
        }
        events = json_object_get(json_object_get(root, division), "events");
        if (!json_is_array(events)) {
                char *have;

                list_divisions(root, &have);
                xasprintf(cause, "no division '%s' with events (it has: %s)",
                          division, have);
                free(have);
                goto out;
        }
        /* Validate everything before changing the calendar. */
        n = json_array_size(events);
        dates = xcalloc(n, sizeof(*dates));
        for (size_t i = 0; i < n; i++) {
                json_t *ev = json_array_get(events, i);
                const char *date =
                    json_string_value(json_object_get(ev, "date"));
                const char *title =
                    json_string_value(json_object_get(ev, "title"));
                int year;

                if (date == NULL || civil_parse_date(date, &dates[i]) < 0) {
                        xasprintf(cause, "%s event %zu: no valid \"date\"",
                                  division, i + 1);
                        goto out;
                }
                if (title == NULL) {
                        xasprintf(cause, "%s event %zu: no \"title\"", division,
                                  i + 1);
                        goto out;
                }
                year = civil_from_days(dates[i]).year;
                if (first == 0 || year < first)
                        first = year;
                if (year > last)
                        last = year;
        }
        for (size_t i = 0; i < n; i++) {
                json_t *ev = json_array_get(events, i);

                add_offday(cal, dates[i],
                           json_string_value(json_object_get(ev, "title")));
        }
        if (n > 0) {
                if (cal->first_year == 0 || first < cal->first_year)
                        cal->first_year = first;
                if (last > cal->last_year)
                        cal->last_year = last;
        }
        rc = 0;
out:
        free(dates);
        json_decref(root);
        return rc;
}

void
calendar_add_closure(struct calendar *cal, int32_t day, const char *why)
{
        add_offday(cal, day, why);
}

const char *
calendar_holiday(const struct calendar *cal, int32_t day)
{
        size_t i = lower_bound(cal, day);

        if (i < cal->ndays && cal->days[i].day == day)
                return cal->days[i].title;
        return NULL;
}

bool
calendar_is_working_day(const struct calendar *cal, int32_t day)
{
        return civil_weekday(day) < 5 && calendar_holiday(cal, day) == NULL;
}

bool
calendar_covers(const struct calendar *cal, int32_t day)
{
        int year = civil_from_days(day).year;

        return cal->first_year != 0 && year >= cal->first_year &&
               year <= cal->last_year;
}

int
calendar_last_year(const struct calendar *cal)
{
        return cal->last_year;
}

/* Whether `day` is a working day, noting a weekday the data cannot vouch for.
 */
static bool
check_day(const struct calendar *cal, int32_t day, int32_t *uncovered)
{
        if (civil_weekday(day) < 5 && !calendar_covers(cal, day) &&
            *uncovered == CALENDAR_COVERED)
                *uncovered = day;
        return calendar_is_working_day(cal, day);
}

int32_t
calendar_working_day(const struct calendar *cal, int32_t from, int n,
                     int32_t *uncovered)
{
        int32_t day = from;

        *uncovered = CALENDAR_COVERED;
        while (n > 0) {
                day++;
                if (check_day(cal, day, uncovered))
                        n--;
        }
        return day;
}

int32_t
calendar_roll(const struct calendar *cal, int32_t day, int direction,
              int32_t *uncovered)
{
        *uncovered = CALENDAR_COVERED;
        if (direction == 0)
                return day;
        while (!check_day(cal, day, uncovered))
                day += direction > 0 ? 1 : -1;
        return day;
}
