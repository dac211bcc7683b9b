/*
 * ics: deadlines as RFC 5545 iCalendar text.
 *
 * Each content line is built unfolded, then written folded: at most 75
 * octets on the first line and 74 after the leading space of each
 * continuation line, cut before a UTF-8 lead byte so no character is split
 * (RFC 5545 section 3.1). TEXT values escape backslash, semicolon and comma
 * and write line breaks as "\n" (section 3.3.11); other control characters,
 * which TEXT cannot hold, are dropped.
 */
#include "ics.h"

#include "civil.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_OCTETS 75

/* Writes the content line `line` (without its CRLF) folded, then CRLF. */
static void
put_folded(struct strbuf *out, const char *line)
{
        size_t len = strlen(line), pos = 0, room = LINE_MAX_OCTETS;

        for (;;) {
                size_t cut = len - pos;

                if (cut > room) {
                        cut = room;
                        /* Back to the start of the character at the cut;
                         * only a run of stray continuation bytes longer
                         * than a line (not UTF-8) is cut anyway. */
                        while (cut > 0 &&
                               ((unsigned char)line[pos + cut] & 0xc0) == 0x80)
                                cut--;
                        if (cut == 0)
                                cut = room;
                }
                strbuf_add(out, line + pos, cut);
                strbuf_str(out, "\r\n");
                pos += cut;
                if (pos >= len)
                        return;
                strbuf_str(out, " ");
                room = LINE_MAX_OCTETS - 1;
        }
}

/* Appends `s` escaped as an RFC 5545 TEXT value. */
static void
add_text(struct strbuf *b, const char *s)
{
        for (const char *p = s; *p != '\0'; p++) {
                unsigned char c = (unsigned char)*p;

                if (c == '\\' || c == ';' || c == ',') {
                        char esc[2] = { '\\', (char)c };

                        strbuf_add(b, esc, 2);
                } else if (c == '\r' || c == '\n') {
                        strbuf_str(b, "\\n");
                        if (c == '\r' && p[1] == '\n')
                                p++;
                } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        continue;
                } else {
                        strbuf_add(b, p, 1);
                }
        }
}

/* "20240402T170000Z". */
static void
format_utc(int64_t utc, char *out, size_t len)
{
        int32_t day = civil_day_of(utc);
        struct civil_date d = civil_from_days(day);
        int secs = (int)(utc - civil_local_secs(day, 0));

        snprintf(out, len, "%04d%02d%02dT%02d%02d%02dZ", d.year, d.month, d.day,
                 secs / 3600, secs / 60 % 60, secs % 60);
}

/* A property whose value is TEXT. */
static void
prop_text(struct strbuf *out, const char *name, const char *value)
{
        struct strbuf line = { NULL, 0, 0 };

        strbuf_str(&line, name);
        strbuf_str(&line, ":");
        add_text(&line, value);
        put_folded(out, line.s);
        free(line.s);
}

/* A property whose value is a UTC DATE-TIME. */
static void
prop_time(struct strbuf *out, const char *name, int64_t utc)
{
        char line[64], t[32];

        format_utc(utc, t, sizeof(t));
        snprintf(line, sizeof(line), "%s:%s", name, t);
        put_folded(out, line);
}

static void
add_event(struct strbuf *out, const struct ics_event *ev, int64_t stamp)
{
        char line[64];

        put_folded(out, "BEGIN:VEVENT");
        prop_text(out, "UID", ev->uid);
        prop_time(out, "DTSTAMP", stamp);
        prop_time(out, "DTSTART", ev->start);
        prop_time(out, "DTEND", ev->end > ev->start ? ev->end : ev->start);
        prop_text(out, "SUMMARY", ev->summary);
        if (ev->description != NULL && ev->description[0] != '\0')
                prop_text(out, "DESCRIPTION", ev->description);
        /* A reminder, not a meeting: it does not make anyone busy. */
        put_folded(out, "TRANSP:TRANSPARENT");
        if (ev->alarm_minutes > 0) {
                put_folded(out, "BEGIN:VALARM");
                put_folded(out, "ACTION:DISPLAY");
                /* DISPLAY alarms require a DESCRIPTION (section 3.6.6). */
                prop_text(out, "DESCRIPTION", ev->summary);
                snprintf(line, sizeof(line), "TRIGGER:-PT%dM",
                         ev->alarm_minutes);
                put_folded(out, line);
                put_folded(out, "END:VALARM");
        }
        put_folded(out, "END:VEVENT");
}

char *
ics_calendar(const struct ics_event *events, size_t n, const char *prodid,
             int64_t stamp)
{
        struct strbuf out = { NULL, 0, 0 };

        put_folded(&out, "BEGIN:VCALENDAR");
        put_folded(&out, "VERSION:2.0");
        prop_text(&out, "PRODID", prodid);
        put_folded(&out, "CALSCALE:GREGORIAN");
        put_folded(&out, "METHOD:PUBLISH");
        for (size_t i = 0; i < n; i++)
                add_event(&out, &events[i], stamp);
        put_folded(&out, "END:VCALENDAR");
        return out.s;
}

void
ics_deadline_event(const struct ics_deadline *d, struct ics_event *ev)
{
        const char *action = d->action != NULL ? d->action : "";
        const char *contact = d->contact != NULL ? d->contact : "";
        char *uid, *summary, *description = NULL;

        xasprintf(&uid, "%lld-%s@%s", (long long)d->case_id, d->rule, d->host);
        xasprintf(&summary, "%s: %s deadline", d->school, d->rule);
        if (action[0] != '\0' || contact[0] != '\0')
                xasprintf(&description, "%s%s%s%s", action,
                          action[0] != '\0' && contact[0] != '\0' ? "\n" : "",
                          contact[0] != '\0' ? "Contact: " : "", contact);

        memset(ev, 0, sizeof(*ev));
        ev->uid = uid;
        ev->summary = summary;
        ev->description = description;
        ev->end = d->due;
        if (d->has_opens && d->opens < d->due)
                ev->start = d->opens;
        else
                ev->start = d->due - ICS_DEADLINE_MINUTES * 60;
        ev->alarm_minutes = ICS_ALARM_MINUTES;
}

void
ics_event_clear(struct ics_event *ev)
{
        if (ev == NULL)
                return;
        /* Allocated by ics_deadline_event(); const only for readers. */
        free((char *)ev->uid);
        free((char *)ev->summary);
        free((char *)ev->description);
        memset(ev, 0, sizeof(*ev));
}

void
ics_add_deadline(struct ics_event **events, size_t *n,
                 const struct ics_deadline *d)
{
        struct ics_event ev;

        ics_deadline_event(d, &ev);
        for (size_t k = 0; k < *n; k++) {
                if (strcmp((*events)[k].uid, ev.uid) == 0) {
                        ics_event_clear(&ev);
                        return;
                }
        }
        *events = xreallocarray(*events, *n + 1, sizeof(**events));
        (*events)[(*n)++] = ev;
}

char *
ics_uid_host(const char *from)
{
        const char *at, *end;

        if (from == NULL)
                return NULL;
        at = strrchr(from, '@');
        if (at == NULL)
                return NULL;
        at++;
        end = at + strcspn(at, "> \t\r\n");
        if (end == at)
                return NULL;
        for (const char *p = at; p < end; p++) {
                /* A domain, or an address literal such as [192.0.2.1]. */
                if (strchr(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789.-[]:",
                        *p) == NULL)
                        return NULL;
        }
        return xstrndup(at, (size_t)(end - at));
}
