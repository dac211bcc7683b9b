/*
 * tz: an IANA time zone from the system tz database, and conversions between
 * UTC instants and local wall-clock time.
 *
 * tz_load() is the only function here that does I/O: it reads the zone's
 * TZif file (RFC 8536) from $TZDIR or /usr/share/zoneinfo. Everything after
 * that is pure. Instants after the file's last transition follow the POSIX TZ
 * rule in the file's footer, so far-future dates stay correct.
 *
 * Local times that a transition makes ambiguous are resolved as RFC 5545
 * does: a time that happens twice (the autumn overlap) means the first
 * occurrence; a time that never happens (the spring gap) is read with the
 * offset in force before the gap, so 01:30 on the day clocks go forward
 * becomes 02:30 summer time.
 */
#ifndef ONOTIFY_TZ_H
#define ONOTIFY_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

enum tz_fold {
        TZ_EXACT,   /* the local time happens exactly once */
        TZ_GAP,     /* skipped by a forward change; moved past the gap */
        TZ_OVERLAP, /* happens twice; the first occurrence was taken */
};

/*
 * Loads zone `name` (e.g. "Europe/London"). Returns NULL and sets *cause
 * (caller frees) when the name is malformed or the zone is unknown.
 */
struct tz *tz_load(const char *name, char **cause);
/* Parses TZif data already in memory; pure. */
struct tz *tz_parse(const char *name, const unsigned char *buf, size_t len,
                    char **cause);
void tz_destroy(struct tz **tzp);

const char *tz_name(const struct tz *tz);
/* UTC offset in seconds east of Greenwich in force at instant `utc`. */
int32_t tz_offset(const struct tz *tz, int64_t utc);
/* The zone's abbreviation at `utc` ("GMT", "BST"); owned by tz. */
const char *tz_abbrev(const struct tz *tz, int64_t utc);
int64_t tz_to_local(const struct tz *tz, int64_t utc);
/* Maps local seconds (civil.h) to a UTC instant; *fold says how. */
int64_t tz_to_utc(const struct tz *tz, int64_t local, enum tz_fold *fold);

#endif
