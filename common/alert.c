/* alert: the one encoder of an alert (alert.h). */
#include "alert.h"

#include "timefmt.h"

/* A string, `otherwise` when it is NULL; null when it is not UTF-8. */
static json_t *
text(const char *s, const char *otherwise)
{
        json_t *v;

        if (s == NULL)
                s = otherwise;
        if (s == NULL)
                return json_null();
        v = json_string(s);
        return v != NULL ? v : json_null();
}

/* A time as RFC 3339 in `tz`. */
static json_t *
local_time(const struct tz *tz, int64_t utc)
{
        char buf[TIMEFMT_LEN];

        timefmt_rfc3339(tz, utc, buf, sizeof(buf));
        return json_string(buf);
}

json_t *
alert_encode(const struct alert *a, const struct tz *tz)
{
        json_t *o = json_object(), *school = json_object();
        char buf[TIMEFMT_LEN], human[64];

        /* json_object_set_new() keeps the order of insertion: the order
         * docs/dispatch.md shows, which the JOB has always had. */
        json_object_set_new(o, "trust", text(a->trust, ""));
        json_object_set_new(o, "case", json_integer(a->case_id));
        json_object_set_new(school, "urn", text(a->urn, NULL));
        json_object_set_new(school, "name", text(a->school, a->urn));
        json_object_set_new(o, "school", school);
        json_object_set_new(o, "rule", text(a->rule, NULL));
        json_object_set_new(o, "offset", text(a->offset, NULL));
        json_object_set_new(o, "late", json_boolean(a->late));
        json_object_set_new(o, "action", text(a->action, ""));
        json_object_set_new(o, "contact", text(a->contact, ""));
        json_object_set_new(o, "at", local_time(tz, a->at));
        json_object_set_new(o, "due", local_time(tz, a->due));
        timefmt_rfc3339_utc(a->due, buf, sizeof(buf));
        json_object_set_new(o, "due_utc", json_string(buf));
        timefmt_human(tz, a->due, human, sizeof(human));
        json_object_set_new(o, "due_human", json_string(human));
        if (a->opens != 0) {
                timefmt_human(tz, a->opens, human, sizeof(human));
                json_object_set_new(o, "opens", local_time(tz, a->opens));
                json_object_set_new(o, "opens_human", json_string(human));
        } else {
                json_object_set_new(o, "opens", json_null());
                json_object_set_new(o, "opens_human", json_null());
        }
        json_object_set_new(o, "warning", text(a->warning, NULL));
        return o;
}
