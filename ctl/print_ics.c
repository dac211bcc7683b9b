/*
 * The calendar `ofsted-notifyctl ics` prints (print.h), for a web server
 * to serve as a calendar people subscribe to: the pending deadlines as the
 * email attachment writes them (common/ics.h).
 */
#include "print.h"

#include "conf.h"
#include "ics.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * The right-hand side of the calendar's UIDs: the sender's domain, as in
 * the email attachment (ics_uid_host()), so a deadline mailed and a
 * deadline subscribed to are the same entry. Without email settings no
 * attachment exists to agree with: this host's name. Caller frees.
 */
static char *
uid_host(const struct conf *conf)
{
        char name[256];
        char *h = NULL;

        if (conf->email.present)
                h = ics_uid_host(conf->email.from);
        if (h != NULL)
                return h;
        if (gethostname(name, sizeof(name)) == 0) {
                name[sizeof(name) - 1] = '\0';
                if (name[0] != '\0')
                        return xstrdup(name);
        }
        return xstrdup("localhost");
}

/* A time from the reply, which always carries an offset; -1 if it is not
 * one. */
static int
reply_time(const struct online *o, const json_t *v, int64_t *utc)
{
        enum tz_fold fold;
        char *cause = NULL;

        if (!json_is_string(v) ||
            timefmt_parse(o->conf->tz, json_string_value(v), utc, &fold,
                          &cause) < 0) {
                free(cause);
                return -1;
        }
        return 0;
}

/*
 * The standing deadlines (`deadlines`: not past, not ended by a later
 * event, whatever their alerts' states) as one calendar: an event per
 * (case, rule), built by ics_deadline_event() as the email attachment
 * is, and as the web's calendar feed has them. The contact is a case's and the
 * reply does not carry it; the action comes from this config's rule.
 */
void
print_ics(const struct online *o, json_t *r)
{
        json_t *deadlines = json_object_get(r, "deadlines"), *a;
        struct ics_event *events = NULL;
        char *host = uid_host(o->conf), *cal;
        size_t n = 0, i, skipped = 0;

        json_array_foreach(deadlines, i, a)
        {
                const json_t *c = json_object_get(a, "case");
                const char *rule =
                    json_string_value(json_object_get(a, "rule"));
                const char *urn =
                    json_string_value(json_object_get(a, "school"));
                const json_t *opens = json_object_get(a, "opens");
                const struct school *school;
                const struct rule *action;
                struct ics_deadline d = { 0 };

                if (!json_is_integer(c) || rule == NULL || urn == NULL ||
                    reply_time(o, json_object_get(a, "due"), &d.due) < 0 ||
                    (json_is_string(opens) &&
                     reply_time(o, opens, &d.opens) < 0)) {
                        skipped++;
                        continue;
                }
                school = conf_school(o->conf, urn);
                d.case_id = (int64_t)json_integer_value(c);
                d.rule = rule;
                d.school = school != NULL ? school->name : urn;
                d.host = host;
                d.has_opens = json_is_string(opens);
                action = conf_rule(o->conf, rule);
                d.action = action != NULL ? action->action : NULL;
                ics_add_deadline(&events, &n, &d);
        }
        if (skipped > 0)
                fprintf(stderr,
                        "ofsted-notifyctl %s: %zu deadline%s in the daemon's "
                        "reply without a case, rule, school or due time, "
                        "ignoring\n",
                        o->cmd, skipped, skipped == 1 ? "" : "s");
        cal = ics_calendar(events, n, ICS_PRODID, o->ctl->now);
        /* Not print_say(): the calendar's lines end in CRLF, and ics_calendar()
         * has already dropped every other control character but tab. */
        fputs(cal, stdout);
        free(cal);
        for (i = 0; i < n; i++)
                ics_event_clear(&events[i]);
        free(events);
        free(host);
}
