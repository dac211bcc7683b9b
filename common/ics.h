/*
 * ics: deadlines as RFC 5545 iCalendar text.
 *
 * Pure: events in, text out. Lines end in CRLF and are folded at 75
 * octets without splitting a UTF-8 character; TEXT values are escaped
 * (backslash, semicolon, comma, newline). Times are written in UTC
 * ("20240402T170000Z"), which every calendar reads the same way.
 */
#ifndef ONOTIFY_ICS_H
#define ONOTIFY_ICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ICS_PRODID "-//ofsted-notify//EN"

struct ics_event {
        const char *uid; /* stable: the same deadline, the same UID */
        int64_t start;   /* UTC seconds */
        int64_t end;     /* UTC seconds, >= start */
        const char *summary;
        const char *description; /* may be NULL */
        int alarm_minutes;       /* a VALARM this long before start; 0: none */
};

/*
 * A VCALENDAR (VERSION 2.0, the given PRODID, METHOD:PUBLISH) holding the
 * events, DTSTAMP `stamp`. Caller frees.
 */
char *ics_calendar(const struct ics_event *events, size_t n, const char *prodid,
                   int64_t stamp);

/* Minutes of the event that ends at a deadline without a window. */
#define ICS_DEADLINE_MINUTES 30
/* Minutes before the event's start that its alarm goes off. */
#define ICS_ALARM_MINUTES 30

/* One deadline of a case, as the email attachment and ofsted-notifyctl ics
 * both describe it. Strings are borrowed. */
struct ics_deadline {
        int64_t case_id;
        const char *rule;
        const char *school;  /* its name (or URN when it has none) */
        const char *host;    /* the UID's right-hand side: ics_uid_host() */
        int64_t due;         /* UTC seconds */
        bool has_opens;      /* the rule has a window ... */
        int64_t opens;       /* ... opening then */
        const char *action;  /* may be NULL or "" */
        const char *contact; /* may be NULL or "" */
};

/*
 * The event for a deadline, built the same way wherever it is built so
 * that a calendar updates one entry per deadline: UID
 * "<case>-<rule>@<host>", SUMMARY "<school>: <rule> deadline",
 * DESCRIPTION the action and the contact. A window is an event from its
 * opening to the deadline; a deadline alone is an instant, shown as the
 * ICS_DEADLINE_MINUTES ending at it (a zero-length event shows badly in
 * Outlook). The alarm goes off ICS_ALARM_MINUTES before the start. The
 * event's strings are allocated: release them with ics_event_clear().
 */
void ics_deadline_event(const struct ics_deadline *d, struct ics_event *ev);
/* Frees the strings ics_deadline_event() allocated and clears ev. */
void ics_event_clear(struct ics_event *ev);
/*
 * Appends the deadline's event to *events (grown; *n counts them) unless
 * one with its UID is there already: alerts of one deadline (its offsets,
 * an escalation) make one entry. Release each with ics_event_clear().
 */
void ics_add_deadline(struct ics_event **events, size_t *n,
                      const struct ics_deadline *d);

/*
 * The UID host for deadlines: the domain of the email.from address
 * ("Alerts <alerts@trust.example>" -> "trust.example"), the same on every
 * worker host and in ofsted-notifyctl. NULL when `from` holds no usable
 * domain. Caller frees.
 */
char *ics_uid_host(const char *from);

#endif
