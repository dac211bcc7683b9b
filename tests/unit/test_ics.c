/*
 * Unit tests for ics: the calendar's frame and properties, CRLF on every
 * line, folding at 75 octets that never splits a UTF-8 character (checked
 * at every cut position by shifting the text, and undone by unfolding),
 * TEXT escaping, the alarm, and the deadline events both the email and
 * ofsted-notifyctl build. Line checks use the tests' own UTF-8 validator
 * (support.h), not the module's code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ics.h"
#include "support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAMP 1709566200 /* 2024-03-04T15:30:00Z */
#define DUE   1709569800 /* 2024-03-04T16:30:00Z */

/* --- Helpers ------------------------------------------------------------ */

/*
 * Checks RFC 5545's line rules on a whole calendar: every line ends in
 * CRLF (no bare CR or LF anywhere), none is over 75 octets, and each
 * physical line is whole UTF-8, so no character was split by a fold.
 */
static void
check_lines(const char *cal)
{
        const char *p = cal;

        assert_true(strlen(cal) >= 2);
        assert_memory_equal(cal + strlen(cal) - 2, "\r\n", 2);
        while (*p != '\0') {
                const char *eol = strstr(p, "\r\n");
                size_t n;

                assert_non_null(eol);
                n = (size_t)(eol - p);
                if (memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
                        fail_msg("bare CR or LF in line: %.*s", (int)n, p);
                if (n > 75)
                        fail_msg("line of %zu octets: %.*s", n, (int)n, p);
                if (!support_utf8_whole((const unsigned char *)p, n))
                        fail_msg("line splits a character: %.*s", (int)n, p);
                p = eol + 2;
        }
}

/* Whether the unfolded calendar has the content line `line` (no CRLF). */
static bool
has_line(const char *unfolded, const char *line)
{
        size_t n = strlen(line);

        for (const char *p = unfolded; (p = strstr(p, line)) != NULL; p++) {
                if ((p == unfolded || p[-1] == '\n') && p[n] == '\r' &&
                    p[n + 1] == '\n')
                        return true;
        }
        return false;
}

static size_t
count(const char *s, const char *needle)
{
        size_t n = 0;

        for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
                n++;
        return n;
}

static struct ics_event
event(const char *uid, const char *summary, const char *description)
{
        struct ics_event ev = {
                uid, DUE - 1800, DUE, summary, description, 30
        };

        return ev;
}

/* --- The calendar ------------------------------------------------------- */

static void
test_frame(void **state)
{
        struct ics_event ev =
            event("7-deferral_cutoff@trust.example",
                  "Oak Primary: deferral_cutoff deadline", "Ask before 16:30.");
        char *cal = ics_calendar(&ev, 1, ICS_PRODID, STAMP), *u;

        (void)state;
        check_lines(cal);
        u = support_unfold(cal);
        assert_int_equal(strncmp(cal, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", 30),
                         0);
        assert_true(has_line(u, "PRODID:-//ofsted-notify//EN"));
        assert_true(has_line(u, "METHOD:PUBLISH"));
        assert_true(has_line(u, "BEGIN:VEVENT"));
        assert_true(has_line(u, "UID:7-deferral_cutoff@trust.example"));
        assert_true(has_line(u, "DTSTAMP:20240304T153000Z"));
        assert_true(has_line(u, "DTSTART:20240304T160000Z"));
        assert_true(has_line(u, "DTEND:20240304T163000Z"));
        assert_true(has_line(u, "SUMMARY:Oak Primary: deferral_cutoff "
                                "deadline"));
        assert_true(has_line(u, "DESCRIPTION:Ask before 16:30."));
        assert_true(has_line(u, "END:VEVENT"));
        assert_string_equal(cal + strlen(cal) - 15, "END:VCALENDAR\r\n");

        /* The alarm: shown, 30 minutes before the start, inside the event. */
        assert_true(has_line(u, "BEGIN:VALARM"));
        assert_true(has_line(u, "ACTION:DISPLAY"));
        assert_true(has_line(u, "TRIGGER:-PT30M"));
        assert_true(has_line(u, "END:VALARM"));
        assert_true(strstr(u, "BEGIN:VALARM") > strstr(u, "BEGIN:VEVENT"));
        assert_true(strstr(u, "END:VALARM") < strstr(u, "END:VEVENT"));
        /* A DISPLAY alarm needs its own DESCRIPTION. */
        assert_true(has_line(u, "DESCRIPTION:Oak Primary: deferral_cutoff "
                                "deadline"));
        free(u);
        free(cal);
}

static void
test_no_alarm_no_description(void **state)
{
        struct ics_event ev = event("u@h", "S", NULL);
        char *cal;

        (void)state;
        ev.alarm_minutes = 0;
        cal = ics_calendar(&ev, 1, ICS_PRODID, STAMP);
        check_lines(cal);
        assert_null(strstr(cal, "VALARM"));
        assert_null(strstr(cal, "DESCRIPTION"));
        free(cal);

        /* No events: still a valid, empty calendar. */
        cal = ics_calendar(NULL, 0, ICS_PRODID, STAMP);
        check_lines(cal);
        assert_null(strstr(cal, "VEVENT"));
        assert_non_null(strstr(cal, "END:VCALENDAR\r\n"));
        free(cal);
}

static void
test_several(void **state)
{
        struct ics_event ev[3] = { event("1-a@h", "A", NULL),
                                   event("2-b@h", "B", "b"),
                                   event("3-c@h", "C", NULL) };
        char *cal, *u;

        (void)state;
        ev[2].start = 0; /* 1970: times are formatted from day numbers */
        ev[2].end = 86399;
        cal = ics_calendar(ev, 3, ICS_PRODID, STAMP);
        check_lines(cal);
        u = support_unfold(cal);
        assert_int_equal(count(u, "BEGIN:VEVENT\r\n"), 3);
        assert_int_equal(count(u, "END:VEVENT\r\n"), 3);
        assert_int_equal(count(u, "BEGIN:VALARM\r\n"), 3);
        assert_true(has_line(u, "DTSTART:19700101T000000Z"));
        assert_true(has_line(u, "DTEND:19700101T235959Z"));
        assert_true(strstr(u, "UID:1-a@h") < strstr(u, "UID:2-b@h"));
        assert_true(strstr(u, "UID:2-b@h") < strstr(u, "UID:3-c@h"));
        free(u);
        free(cal);
}

static void
test_escaping(void **state)
{
        struct ics_event ev =
            event("u@h", "a\\b;c,d:e\nf\r\ng\rh", "tab\there\x01\x7f, end");
        char *cal = ics_calendar(&ev, 1, ICS_PRODID, STAMP), *u;

        (void)state;
        check_lines(cal);
        u = support_unfold(cal);
        /* Backslash, semicolon, comma escaped; a colon is not; CRLF, LF
         * and CR are each one "\n". */
        assert_true(has_line(u, "SUMMARY:a\\\\b\\;c\\,d:e\\nf\\ng\\nh"));
        /* Tab stays; other control characters cannot be TEXT. */
        assert_true(has_line(u, "DESCRIPTION:tab\there\\, end"));
        free(u);
        free(cal);
}

/*
 * A long UTF-8 summary (2-, 3- and 4-octet characters) folds within 75
 * octets, never inside a character, at whatever offset the characters
 * fall; unfolding gives back the line exactly.
 */
static void
test_folding(void **state)
{
        static const char words[] =
            "Ysgol Gynradd Llanfair Pwllgwyngyll — ‘Ofsted’ é ü 日本語 😀 ";
        char summary[1024], want[1200];

        (void)state;
        for (size_t shift = 0; shift < 8; shift++) {
                struct ics_event ev;
                char *cal, *u;
                size_t n = 0;

                memset(summary, 'x', shift);
                n = shift;
                for (int r = 0; r < 6; r++) {
                        memcpy(summary + n, words, strlen(words));
                        n += strlen(words);
                }
                summary[n] = '\0';
                ev = event("u@h", summary, NULL);
                cal = ics_calendar(&ev, 1, ICS_PRODID, STAMP);
                check_lines(cal);
                /* It did fold, and continuation lines start with a space. */
                assert_non_null(strstr(cal, "\r\n "));
                u = support_unfold(cal);
                snprintf(want, sizeof(want), "SUMMARY:%s", summary);
                if (!has_line(u, want))
                        fail_msg("shift %zu: unfolding does not give back "
                                 "the summary",
                                 shift);
                free(u);
                free(cal);
        }
}

/* A line of exactly 75 octets is not folded; 76 is. */
static void
test_fold_boundary(void **state)
{
        char summary[80];
        struct ics_event ev;
        char *cal;

        (void)state;
        memset(summary, 's', sizeof(summary));
        summary[75 - strlen("SUMMARY:")] = '\0';
        ev = event("u@h", summary, NULL);
        ev.alarm_minutes = 0; /* its DESCRIPTION repeats the summary */
        cal = ics_calendar(&ev, 1, ICS_PRODID, STAMP);
        assert_null(strstr(cal, "\r\n "));
        free(cal);

        summary[75 - strlen("SUMMARY:")] = 's';
        summary[76 - strlen("SUMMARY:")] = '\0';
        ev = event("u@h", summary, NULL);
        ev.alarm_minutes = 0;
        cal = ics_calendar(&ev, 1, ICS_PRODID, STAMP);
        check_lines(cal);
        assert_non_null(strstr(cal, "\r\n s\r\n"));
        free(cal);
}

/* --- Deadline events ---------------------------------------------------- */

static void
test_deadline_event(void **state)
{
        struct ics_deadline d = { 0 };
        struct ics_event ev;

        (void)state;
        d.case_id = 7;
        d.rule = "deferral_cutoff";
        d.school = "Oak Primary";
        d.host = "trust.example";
        d.due = DUE;
        d.action = "Ask before 16:30.";
        d.contact = "Senior Ofsted leader: 0300 123 4231";
        ics_deadline_event(&d, &ev);
        assert_string_equal(ev.uid, "7-deferral_cutoff@trust.example");
        assert_string_equal(ev.summary,
                            "Oak Primary: deferral_cutoff deadline");
        assert_string_equal(ev.description,
                            "Ask before 16:30.\nContact: Senior Ofsted "
                            "leader: 0300 123 4231");
        /* An instant: the half hour ending at it. */
        assert_int_equal(ev.end, DUE);
        assert_int_equal(ev.start, DUE - 30 * 60);
        assert_int_equal(ev.alarm_minutes, 30);
        ics_event_clear(&ev);
        assert_null(ev.uid);

        /* A window: from its opening to the deadline. */
        d.has_opens = true;
        d.opens = DUE - 8 * 3600;
        ics_deadline_event(&d, &ev);
        assert_int_equal(ev.start, DUE - 8 * 3600);
        assert_int_equal(ev.end, DUE);
        ics_event_clear(&ev);

        /* A window that opens at the deadline is shown as an instant. */
        d.opens = DUE;
        ics_deadline_event(&d, &ev);
        assert_int_equal(ev.start, DUE - 30 * 60);
        ics_event_clear(&ev);

        /* No action, no contact: no description; only one of them. */
        d.action = NULL;
        d.contact = "";
        ics_deadline_event(&d, &ev);
        assert_null(ev.description);
        ics_event_clear(&ev);
        d.contact = "Ms Jones";
        ics_deadline_event(&d, &ev);
        assert_string_equal(ev.description, "Contact: Ms Jones");
        ics_event_clear(&ev);

        ics_event_clear(NULL);
}

static void
test_uid_host(void **state)
{
        static const struct {
                const char *from;
                const char *host;
        } cases[] = {
                { "Ofsted alerts <alerts@trust.example>", "trust.example" },
                { "alerts@trust.example", "trust.example" },
                { "  alerts@mail.trust.example  ", "mail.trust.example" },
                { "\"a@b\" <alerts@trust.example>", "trust.example" },
                { "x <alerts@[192.0.2.1]>", "[192.0.2.1]" },
                { "no address", NULL },
                { "trailing@", NULL },
                { "bad <a@dom/ain>", NULL },
                { NULL, NULL },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *h = ics_uid_host(cases[i].from);

                if (cases[i].host == NULL) {
                        if (h != NULL)
                                fail_msg("'%s' gave '%s'", cases[i].from, h);
                } else {
                        assert_non_null(h);
                        assert_string_equal(h, cases[i].host);
                }
                free(h);
        }
}

UNIT_MAIN({
    cmocka_unit_test(test_frame),
    cmocka_unit_test(test_no_alarm_no_description),
    cmocka_unit_test(test_several),
    cmocka_unit_test(test_escaping),
    cmocka_unit_test(test_folding),
    cmocka_unit_test(test_fold_boundary),
    cmocka_unit_test(test_deadline_event),
    cmocka_unit_test(test_uid_host),
})
