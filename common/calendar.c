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
        int first_year, last_year;   /* 0 when no holiday data */
        const struct calendar *base; /* days off beside ours; borrowed */
};

struct calendar *
calendar_new(void)
{
        return xcalloc(1, sizeof(struct calendar));
}

struct calendar *
calendar_new_over(const struct calendar *base)
{
        struct calendar *cal = calendar_new();

        cal->base = base;
        return cal;
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

                xasprintf(&next, "%s%s'%.64s'", *out, len ? ", " : "", key);
                free(*out);
                *out = next;
                len++;
        }
}

/* What a JSON value is, for a message: "a number", "an array", ... */
static const char *
json_kind(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

/*
 * The events array of `division`, or NULL with *cause saying what is
 * wrong with the file's shape there.
 */
static json_t *
division_events(json_t *root, const char *division, char **cause)
{
        json_t *div, *events;
        char *have;

        if (!json_is_object(root)) {
                xasprintf(cause,
                          "the file is %s, not a GOV.UK bank-holidays object "
                          "of divisions",
                          json_kind(root));
                return NULL;
        }
        div = json_object_get(root, division);
        if (div == NULL) {
                if (json_object_size(root) == 0) {
                        xasprintf(cause,
                                  "no division '%s': the file has no "
                                  "divisions at all",
                                  division);
                        return NULL;
                }
                list_divisions(root, &have);
                xasprintf(cause, "no division '%s' (it has: %s)", division,
                          have);
                free(have);
                return NULL;
        }
        if (!json_is_object(div)) {
                xasprintf(cause,
                          "division '%s' is %s, not an object with an "
                          "\"events\" array",
                          division, json_kind(div));
                return NULL;
        }
        events = json_object_get(div, "events");
        if (events == NULL) {
                xasprintf(cause, "division '%s' has no \"events\" array",
                          division);
                return NULL;
        }
        if (!json_is_array(events)) {
                xasprintf(cause,
                          "division '%s': \"events\" is %s, not an array",
                          division, json_kind(events));
                return NULL;
        }
        return events;
}

/*
 * Event `i` (from 0) of `division`: its day in *day, or -1 with *cause
 * naming the event (by number from 1, and its date when it has one) and
 * what is wrong with it.
 */
static int
check_event(const json_t *ev, const char *division, size_t i, int32_t *day,
            char **cause)
{
        const json_t *date, *title;
        const char *d;
        int year;

        if (!json_is_object(ev)) {
                xasprintf(cause, "division '%s' event %zu is %s, not an object",
                          division, i + 1, json_kind(ev));
                return -1;
        }
        date = json_object_get(ev, "date");
        title = json_object_get(ev, "title");
        if (date == NULL) {
                xasprintf(cause, "division '%s' event %zu has no \"date\"",
                          division, i + 1);
                return -1;
        }
        if (!json_is_string(date)) {
                xasprintf(cause,
                          "division '%s' event %zu: \"date\" is %s, not a "
                          "string \"YYYY-MM-DD\"",
                          division, i + 1, json_kind(date));
                return -1;
        }
        d = json_string_value(date);
        if (civil_parse_date(d, day) < 0) {
                xasprintf(cause,
                          "division '%s' event %zu: date '%.32s' is not a "
                          "date \"YYYY-MM-DD\"",
                          division, i + 1, d);
                return -1;
        }
        year = civil_from_days(*day).year;
        if (year < CALENDAR_YEAR_MIN || year > CALENDAR_YEAR_MAX) {
                xasprintf(cause,
                          "division '%s' event %zu: date %s is outside the "
                          "years %d to %d",
                          division, i + 1, d, CALENDAR_YEAR_MIN,
                          CALENDAR_YEAR_MAX);
                return -1;
        }
        if (title == NULL) {
                xasprintf(cause,
                          "division '%s' event %zu (%s) has no \"title\"",
                          division, i + 1, d);
                return -1;
        }
        if (!json_is_string(title)) {
                xasprintf(cause,
                          "division '%s' event %zu (%s): \"title\" is %s, "
                          "not a string",
                          division, i + 1, d, json_kind(title));
                return -1;
        }
        return 0;
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
        events = division_events(root, division, cause);
        if (events == NULL)
                goto out;
        /* Validate everything before changing the calendar. */
        n = json_array_size(events);
        dates = xcalloc(n, sizeof(*dates));
        for (size_t i = 0; i < n; i++) {
                int year;

                if (check_event(json_array_get(events, i), division, i,
                                &dates[i], cause) < 0)
                        goto out;
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
        return cal->base != NULL ? calendar_holiday(cal->base, day) : NULL;
}

uint64_t
calendar_fingerprint(const struct calendar *cal)
{
        uint64_t h = 0;

        /* FNV-1a over the day numbers, in order. */
        for (size_t i = 0; i < cal->ndays; i++) {
                uint32_t d = (uint32_t)cal->days[i].day;

                if (h == 0)
                        h = 14695981039346656037ULL;
                for (int b = 0; b < 4; b++) {
                        h ^= (d >> (8 * b)) & 0xff;
                        h *= 1099511628211ULL;
                }
        }
        return h;
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

        if (cal->base != NULL && cal->first_year == 0)
                return calendar_covers(cal->base, day);
        return cal->first_year != 0 && year >= cal->first_year &&
               year <= cal->last_year;
}

int
calendar_last_year(const struct calendar *cal)
{
        if (cal->base != NULL && cal->last_year == 0)
                return calendar_last_year(cal->base);
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
