/*
 * alert: an alert as it is told, in one shape for every reader.
 *
 * The JOB a worker delivers (docs/dispatch.md), the feed's message
 * (docs/protocol.md) and the control replies that show a whole alert all
 * carry the object alert_encode() writes, so they cannot drift apart. A
 * struct alert holds typed values: times in UTC seconds, strings borrowed
 * from the caller. The encoder writes the times in the trust's zone, in
 * UTC and for people, and fills the defaults the protocol promises. Pure:
 * no clock, no I/O; the zone is passed in.
 */
#ifndef ONOTIFY_ALERT_H
#define ONOTIFY_ALERT_H

#include "tz.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The most channels an escalation names as alerted before. */
#define ALERT_CHANNELS_MAX 32

struct alert {
        const char *trust; /* the trust's name; NULL: "" */
        int64_t case_id;
        const char *urn;
        const char *school; /* the school's name; NULL: its URN */
        const char *rule;
        const char *offset;  /* as the rule writes it: "-60m" */
        bool late;           /* fired after downtime */
        const char *action;  /* what to do; NULL: "" */
        const char *contact; /* the case's contact details; NULL: "" */
        int64_t at;          /* when the alert is (was) due, UTC seconds */
        int64_t due;         /* the rule's deadline */
        int64_t opens;       /* when the rule's window opens; 0: no window */
        const char *warning; /* the plan's warning for the rule; NULL: none */
        const char *ack_url; /* the one-click acknowledgement; NULL: none */
        /* An escalation: nobody acknowledged the rule, so it goes to `to`
         * too; `alerted` are the channels its reminders went to. */
        bool escalation;
        char *const *to;
        size_t nto;
        const char *alerted[ALERT_CHANNELS_MAX];
        size_t nalerted;
        /* web.base_url: the case's page is base_url/cases/{case}; NULL or
         * "": no page to link to. */
        const char *base_url;
};

/*
 * The alert as compact JSON text (caller frees), members in this order:
 * "trust", "case", "school": {"urn", "name"}, "rule", "offset", "late",
 * "action", "contact", "at", "due" (RFC 3339 in `tz`), "due_utc" (RFC 3339
 * UTC), "due_human" (timefmt_human() in `tz`), "opens" and "opens_human"
 * (null without a window), "warning" (null when none), "ack_url" (null
 * when none), "case_url" (base_url/cases/{case}; null without a
 * base_url), "escalation": null, or for an escalation {"to": [channels],
 * "alerted": [channels alerted before]}. Strings are escaped
 * as jansson writes them (jtext.h). Written straight, not through a
 * jansson tree: the JOB of every delivery is this text.
 */
char *alert_encode_text(const struct alert *a, const struct tz *tz);
/*
 * The same as a JSON object (a new reference, caller owns it), for a
 * reader that adds its own members after these (the feed's "deliveries").
 */
json_t *alert_encode(const struct alert *a, const struct tz *tz);

#endif
