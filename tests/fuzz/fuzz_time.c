/*
 * fuzz_time: the time texts people type, on any string.
 *
 * timefmt_parse() reads --at (ofsted-notifyctl plan and the event commands)
 * and the daemon reads the same text from a control request;
 * timefmt_parse_clock() reads a rule's "HH:MM"; civil_parse_date() reads
 * closures and the holidays' dates; rules_parse_offset() reads alert
 * offsets. Each parse that succeeds must print back to what it read: the
 * instant as RFC 3339 parses to the same instant (in London and in Lord
 * Howe, whose clocks change by half an hour), the clock and the date print
 * as written, an offset keeps its text and stays within 400 days.
 */
#include "fuzz.h"

#include "civil.h"
#include "rules.h"
#include "timefmt.h"
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFFSET_LIMIT (400LL * 86400)

static const struct tz *
zone(int i)
{
        static struct tz *tz[2];
        static const char *const names[2] = { "Europe/London",
                                              "Australia/Lord_Howe" };

        if (tz[i] == NULL) {
                char *cause = NULL;

                tz[i] = tz_load(names[i], &cause);
                if (tz[i] == NULL) {
                        fprintf(stderr, "fuzz setup: %s\n", cause);
                        exit(2);
                }
        }
        return tz[i];
}

static void
check_instant(const struct tz *tz, const char *s)
{
        char buf[TIMEFMT_LEN], human[64], *cause = NULL;
        enum tz_fold fold;
        int64_t utc, again;

        if (timefmt_parse(tz, s, &utc, &fold, &cause) < 0) {
                FUZZ_CHECK(cause != NULL);
                free(cause);
                return;
        }
        FUZZ_CHECK(cause == NULL);
        timefmt_human(tz, utc, human, sizeof(human));
        timefmt_rfc3339_utc(utc, buf, sizeof(buf));
        timefmt_rfc3339(tz, utc, buf, sizeof(buf));
        /* Years 1 and 9999 may print as 0 or 10000 once offset, which no
         * one can type back. */
        if (atoi(buf) < 1 || atoi(buf) > 9999)
                return;
        FUZZ_CHECK(timefmt_parse(tz, buf, &again, NULL, &cause) == 0);
        FUZZ_CHECK(again == utc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_cstr(data, size), buf[32];
        struct alert_offset off;
        int secs, again;
        int32_t day;

        check_instant(zone(0), s);
        check_instant(zone(1), s);
        if (timefmt_parse_clock(s, &secs) == 0) {
                FUZZ_CHECK(secs >= 0 && secs < 86400);
                snprintf(buf, sizeof(buf), "%02d:%02d:%02d", secs / 3600,
                         secs / 60 % 60, secs % 60);
                FUZZ_CHECK(timefmt_parse_clock(buf, &again) == 0 &&
                           again == secs);
        }
        if (civil_parse_date(s, &day) == 0) {
                civil_format_date(day, buf, sizeof(buf));
                FUZZ_CHECK(strcmp(buf, s) == 0);
        }
        if (rules_parse_offset(s, &off) == 0) {
                FUZZ_CHECK(strcmp(off.text, s) == 0);
                FUZZ_CHECK(off.amount >= -OFFSET_LIMIT &&
                           off.amount <= OFFSET_LIMIT);
        }
        free(s);
        return 0;
}
