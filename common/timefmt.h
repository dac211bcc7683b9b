/*
 * timefmt: RFC 3339 text for instants, in a trust's time zone.
 *
 * Pure: the zone is passed in, nothing reads the clock.
 */
#ifndef ONOTIFY_TIMEFMT_H
#define ONOTIFY_TIMEFMT_H

#include "tz.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_LEN 32

/* "2024-04-02T08:00:00+01:00": the instant in the zone's local time. */
void timefmt_rfc3339(const struct tz *tz, int64_t utc, char *buf, size_t len);
/* timefmt_rfc3339() as a new JSON string (the time fields of replies). */
json_t *timefmt_json(const struct tz *tz, int64_t utc);
/* "2024-04-02T07:00:00Z". */
void timefmt_rfc3339_utc(int64_t utc, char *buf, size_t len);
/* "Tue 2 Apr 2024 08:00 BST": for people. */
void timefmt_human(const struct tz *tz, int64_t utc, char *buf, size_t len);

/*
 * Parses "YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]" (a space may stand for the T).
 * Without an offset the time is local in `tz`, resolved as tz_to_utc() does
 * and reported in *fold. Returns -1 with *cause set (caller frees) when the
 * text is not such a time.
 */
int timefmt_parse(const struct tz *tz, const char *s, int64_t *utc,
                  enum tz_fold *fold, char **cause);

/* "HH:MM" or "HH:MM:SS" within one day into seconds; -1 if invalid. */
int timefmt_parse_clock(const char *s, int *secs);

#endif
