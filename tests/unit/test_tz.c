/*
 * Unit tests for tz: TZif parsing, POSIX footer rules, and local <-> UTC
 * conversion in Europe/London and other zones.
 *
 * Expected instants are written by hand from the UK rule (GMT = UTC+0,
 * BST = UTC+1, changes at 01:00 UTC on the last Sundays of March and
 * October) and turned into numbers with glibc's timegm(), never with the
 * code under test. A second, independent oracle is glibc's localtime_r().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support.h"
#include "tz.h"

#define HOUR 3600
#define DAY  86400

/* --- Helpers ----------------------------------------------------------- */

/* "YYYY-MM-DD HH:MM[:SS]" to local seconds (as if the zone were UTC). */
static int64_t
local_of(const char *s)
{
        struct tm tm = { 0 };
        int n = 0;

        if (sscanf(s, "%d-%d-%d %d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &n) != 5)
                fail_msg("bad local time '%s' in the test", s);
        if (s[n] == ':' && sscanf(s + n, ":%d%n", &tm.tm_sec, &n) == 1)
                n = (int)strlen(s);
        if (s[n] != '\0')
                fail_msg("bad local time '%s' in the test", s);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return (int64_t)timegm(&tm);
}

static const char *
fold_name(enum tz_fold f)
{
        switch (f) {
        case TZ_EXACT:
                return "exact";
        case TZ_GAP:
                return "gap";
        case TZ_OVERLAP:
                return "overlap";
        }
        return "?";
}

/* --- 16:30 around every UK change, 2024-2028 ----------------------------- */

struct row {
        const char *local; /* Europe/London wall clock */
        const char *utc;   /* the instant, written by hand */
        const char *abbr;
};

static const struct row deadline_rows[] = {
        /* 2024: forward Sun 31 Mar, back Sun 27 Oct. */
        { "2024-03-30 16:30", "2024-03-30T16:30:00Z", "GMT" },
        { "2024-03-31 16:30", "2024-03-31T15:30:00Z", "BST" },
        { "2024-04-01 16:30", "2024-04-01T15:30:00Z", "BST" },
        { "2024-10-26 16:30", "2024-10-26T15:30:00Z", "BST" },
        { "2024-10-27 16:30", "2024-10-27T16:30:00Z", "GMT" },
        { "2024-10-28 16:30", "2024-10-28T16:30:00Z", "GMT" },
        /* 2025: 30 Mar, 26 Oct. */
        { "2025-03-29 16:30", "2025-03-29T16:30:00Z", "GMT" },
        { "2025-03-30 16:30", "2025-03-30T15:30:00Z", "BST" },
        { "2025-03-31 16:30", "2025-03-31T15:30:00Z", "BST" },
        { "2025-10-25 16:30", "2025-10-25T15:30:00Z", "BST" },
        { "2025-10-26 16:30", "2025-10-26T16:30:00Z", "GMT" },
        { "2025-10-27 16:30", "2025-10-27T16:30:00Z", "GMT" },
        /* 2026: 29 Mar, 25 Oct. */
        { "2026-03-28 16:30", "2026-03-28T16:30:00Z", "GMT" },
        { "2026-03-29 16:30", "2026-03-29T15:30:00Z", "BST" },
        { "2026-03-30 16:30", "2026-03-30T15:30:00Z", "BST" },
        { "2026-10-24 16:30", "2026-10-24T15:30:00Z", "BST" },
        { "2026-10-25 16:30", "2026-10-25T16:30:00Z", "GMT" },
        { "2026-10-26 16:30", "2026-10-26T16:30:00Z", "GMT" },
        /* 2027: 28 Mar, 31 Oct (the day after is in November). */
        { "2027-03-27 16:30", "2027-03-27T16:30:00Z", "GMT" },
        { "2027-03-28 16:30", "2027-03-28T15:30:00Z", "BST" },
        { "2027-03-29 16:30", "2027-03-29T15:30:00Z", "BST" },
        { "2027-10-30 16:30", "2027-10-30T15:30:00Z", "BST" },
        { "2027-10-31 16:30", "2027-10-31T16:30:00Z", "GMT" },
        { "2027-11-01 16:30", "2027-11-01T16:30:00Z", "GMT" },
        /* 2028 (leap year): 26 Mar, 29 Oct. */
        { "2028-03-25 16:30", "2028-03-25T16:30:00Z", "GMT" },
        { "2028-03-26 16:30", "2028-03-26T15:30:00Z", "BST" },
        { "2028-03-27 16:30", "2028-03-27T15:30:00Z", "BST" },
        { "2028-10-28 16:30", "2028-10-28T15:30:00Z", "BST" },
        { "2028-10-29 16:30", "2028-10-29T16:30:00Z", "GMT" },
        { "2028-10-30 16:30", "2028-10-30T16:30:00Z", "GMT" },
        /*
         * Past the file's last transition (Oct 2037), only the footer
         * rule applies: 2038 is 28 Mar / 31 Oct, 2040 is 25 Mar / 28 Oct.
         */
        { "2038-03-27 16:30", "2038-03-27T16:30:00Z", "GMT" },
        { "2038-03-28 16:30", "2038-03-28T15:30:00Z", "BST" },
        { "2038-03-29 16:30", "2038-03-29T15:30:00Z", "BST" },
        { "2038-10-30 16:30", "2038-10-30T15:30:00Z", "BST" },
        { "2038-10-31 16:30", "2038-10-31T16:30:00Z", "GMT" },
        { "2038-11-01 16:30", "2038-11-01T16:30:00Z", "GMT" },
        { "2040-03-24 16:30", "2040-03-24T16:30:00Z", "GMT" },
        { "2040-03-25 16:30", "2040-03-25T15:30:00Z", "BST" },
        { "2040-03-26 16:30", "2040-03-26T15:30:00Z", "BST" },
        { "2040-10-27 16:30", "2040-10-27T15:30:00Z", "BST" },
        { "2040-10-28 16:30", "2040-10-28T16:30:00Z", "GMT" },
        { "2040-10-29 16:30", "2040-10-29T16:30:00Z", "GMT" },
};

static void
test_deadline_table(void **state)
{
        struct tz *tz = support_tz("Europe/London");
        size_t bad = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(deadline_rows) / sizeof(*deadline_rows);
             i++) {
                const struct row *r = &deadline_rows[i];
                int64_t local = local_of(r->local);
                int64_t want = support_utc(r->utc);
                enum tz_fold fold = TZ_GAP;
                int64_t got = tz_to_utc(tz, local, &fold);

                if (got != want || fold != TZ_EXACT ||
                    tz_to_local(tz, want) != local ||
                    tz_offset(tz, want) != local - want ||
                    strcmp(tz_abbrev(tz, want), r->abbr) != 0) {
                        print_error("%s local: got %lld (%s) %s, want %s "
                                    "%s\n",
                                    r->local, (long long)(got - want),
                                    fold_name(fold), tz_abbrev(tz, want),
                                    r->utc, r->abbr);
                        bad++;
                }
        }
        tz_destroy(&tz);
        assert_int_equal(bad, 0);
}

/* --- Edges of the 2024 changes ------------------------------------------ */

struct edge {
        const char *local;
        const char *utc;
        enum tz_fold fold;
};

static const struct edge edge_rows[] = {
        /* Spring: 01:00 GMT becomes 02:00 BST at 01:00Z. */
        { "2024-03-31 00:00", "2024-03-31T00:00:00Z", TZ_EXACT },
        { "2024-03-31 00:59:59", "2024-03-31T00:59:59Z", TZ_EXACT },
        /* 01:00-01:59:59 never happen: read with GMT, i.e. BST an hour on. */
        { "2024-03-31 01:00", "2024-03-31T01:00:00Z", TZ_GAP },
        { "2024-03-31 01:30", "2024-03-31T01:30:00Z", TZ_GAP },
        { "2024-03-31 01:59:59", "2024-03-31T01:59:59Z", TZ_GAP },
        { "2024-03-31 02:00", "2024-03-31T01:00:00Z", TZ_EXACT },
        { "2024-03-31 02:30", "2024-03-31T01:30:00Z", TZ_EXACT },
        /* Autumn: 02:00 BST becomes 01:00 GMT at 01:00Z. */
        { "2024-10-27 00:00", "2024-10-26T23:00:00Z", TZ_EXACT },
        { "2024-10-27 00:59:59", "2024-10-26T23:59:59Z", TZ_EXACT },
        /* 01:00-01:59:59 happen twice: the first (BST) one is taken. */
        { "2024-10-27 01:00", "2024-10-27T00:00:00Z", TZ_OVERLAP },
        { "2024-10-27 01:30", "2024-10-27T00:30:00Z", TZ_OVERLAP },
        { "2024-10-27 01:59:59", "2024-10-27T00:59:59Z", TZ_OVERLAP },
        { "2024-10-27 02:00", "2024-10-27T02:00:00Z", TZ_EXACT },
        /* The same in 2040, where only the footer rule speaks. */
        { "2040-03-25 00:59:59", "2040-03-25T00:59:59Z", TZ_EXACT },
        { "2040-03-25 01:30", "2040-03-25T01:30:00Z", TZ_GAP },
        { "2040-03-25 02:00", "2040-03-25T01:00:00Z", TZ_EXACT },
        { "2040-10-28 00:59:59", "2040-10-27T23:59:59Z", TZ_EXACT },
        { "2040-10-28 01:30", "2040-10-28T00:30:00Z", TZ_OVERLAP },
        { "2040-10-28 02:00", "2040-10-28T02:00:00Z", TZ_EXACT },
};

static void
test_gap_and_overlap(void **state)
{
        struct tz *tz = support_tz("Europe/London");
        size_t bad = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(edge_rows) / sizeof(*edge_rows); i++) {
                const struct edge *e = &edge_rows[i];
                enum tz_fold fold = (enum tz_fold) - 1;
                int64_t want = support_utc(e->utc);
                int64_t got = tz_to_utc(tz, local_of(e->local), &fold);

                if (got != want || fold != e->fold) {
                        print_error("%s local: got %+llds from %s (%s), "
                                    "want %s\n",
                                    e->local, (long long)(got - want), e->utc,
                                    fold_name(fold), fold_name(e->fold));
                        bad++;
                }
        }
        /* A NULL fold is allowed. */
        assert_int_equal(tz_to_utc(tz, local_of("2024-03-31 01:30"), NULL),
                         support_utc("2024-03-31T01:30:00Z"));
        tz_destroy(&tz);
        assert_int_equal(bad, 0);
}

/* An instant, and the offset and abbreviation in force at it. */
struct offset_row {
        const char *utc;
        int32_t off;
        const char *abbr;
};

/* tz's offset and abbreviation at each row's instant, and local time by it. */
static void
check_offsets(const struct tz *tz, const struct offset_row *rows, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                int64_t t = support_utc(rows[i].utc);

                if (tz_offset(tz, t) != rows[i].off ||
                    strcmp(tz_abbrev(tz, t), rows[i].abbr) != 0)
                        fail_msg("%s: got %d %s, want %d %s", rows[i].utc,
                                 tz_offset(tz, t), tz_abbrev(tz, t),
                                 rows[i].off, rows[i].abbr);
                assert_int_equal(tz_to_local(tz, t), t + rows[i].off);
        }
}

static void
test_offsets_at_the_instant(void **state)
{
        static const struct offset_row rows[] = {
                { "2024-03-31T00:59:59Z", 0, "GMT" },
                { "2024-03-31T01:00:00Z", HOUR, "BST" },
                { "2024-10-27T00:59:59Z", HOUR, "BST" },
                { "2024-10-27T01:00:00Z", 0, "GMT" },
                { "2024-07-01T12:00:00Z", HOUR, "BST" },
                { "2024-01-01T00:00:00Z", 0, "GMT" },
                /* The last transition in the file, then the footer. */
                { "2037-10-25T00:59:59Z", HOUR, "BST" },
                { "2037-10-25T01:00:00Z", 0, "GMT" },
                { "2038-03-28T00:59:59Z", 0, "GMT" },
                { "2038-03-28T01:00:00Z", HOUR, "BST" },
                { "2045-10-29T00:59:59Z", HOUR, "BST" },
                { "2045-10-29T01:00:00Z", 0, "GMT" },
                /* British Standard Time: UTC+1 all year, 1968-1971. */
                { "1969-12-31T23:59:59Z", HOUR, "BST" },
                { "1970-01-01T00:00:00Z", HOUR, "BST" },
        };
        struct tz *tz = support_tz("Europe/London");

        (void)state;
        assert_string_equal(tz_name(tz), "Europe/London");
        check_offsets(tz, rows, sizeof(rows) / sizeof(*rows));
        tz_destroy(&tz);
}

/* --- glibc as an oracle -------------------------------------------------- */

struct probe {
        long off;
        char abbr[8];
};

static struct probe
glibc_at(int64_t t)
{
        struct probe p = { 0, "" };
        time_t tt = (time_t)t;
        struct tm tm;

        if (localtime_r(&tt, &tm) == NULL)
                fail_msg("localtime_r(%lld) failed", (long long)t);
        p.off = tm.tm_gmtoff;
        snprintf(p.abbr, sizeof(p.abbr), "%s", tm.tm_zone);
        return p;
}

static void
set_glibc_zone(const char *tzstr)
{
        assert_int_equal(setenv("TZ", tzstr, 1), 0);
        tzset();
}

/*
 * Checks tz against glibc at instant t (glibc says `p`; a day earlier and
 * later it says `before` and `after`): offset, abbreviation, and that
 * tz_to_utc() maps the local time back to the first instant that glibc
 * gives that local time, with the fold that implies.
 */
static int
check_instant(const struct tz *tz, const char *label, int64_t t,
              const struct probe *p, long before, long after)
{
        int64_t local = t + p->off;
        long cand[3] = { before, p->off, after };
        int64_t first = INT64_MAX;
        int n = 0;
        enum tz_fold want_fold, fold = (enum tz_fold) - 1;
        int64_t got;

        if (tz_offset(tz, t) != p->off ||
            strcmp(tz_abbrev(tz, t), p->abbr) != 0) {
                print_error("%s at %lld: tz %d %s, glibc %ld %s\n", label,
                            (long long)t, tz_offset(tz, t), tz_abbrev(tz, t),
                            p->off, p->abbr);
                return 1;
        }
        for (int i = 0; i < 3; i++) {
                int64_t u = local - cand[i];
                bool dup = false;

                for (int j = 0; j < i; j++)
                        dup = dup || cand[j] == cand[i];
                if (dup || (u != t && glibc_at(u).off != cand[i]))
                        continue;
                n++;
                if (u < first)
                        first = u;
        }
        want_fold = n > 1 ? TZ_OVERLAP : TZ_EXACT;
        got = tz_to_utc(tz, local, &fold);
        if (got != first || fold != want_fold) {
                print_error("%s: local of %lld -> %lld %s, want %lld %s\n",
                            label, (long long)t, (long long)got,
                            fold_name(fold), (long long)first,
                            fold_name(want_fold));
                return 1;
        }
        return 0;
}

static int
check_instant_glibc(const struct tz *tz, const char *label, int64_t t)
{
        struct probe p = glibc_at(t);

        return check_instant(tz, label, t, &p, glibc_at(t - DAY).off,
                             glibc_at(t + DAY).off);
}

/*
 * At a transition found by the hourly scan: find the exact second with
 * glibc, check either side, and that a local time inside a forward gap is
 * read with the offset from before it.
 */
static int
check_transition(const struct tz *tz, const char *label, int64_t lo, int64_t hi)
{
        long before = glibc_at(lo).off, after;
        int64_t local, got;
        enum tz_fold fold = (enum tz_fold) - 1;
        int bad = 0;

        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;

                if (glibc_at(mid).off == before)
                        lo = mid;
                else
                        hi = mid;
        }
        after = glibc_at(hi).off;
        bad += check_instant_glibc(tz, label, hi - 1);
        bad += check_instant_glibc(tz, label, hi);
        if (after > before) {
                local = hi + before + (after - before) / 2;
                got = tz_to_utc(tz, local, &fold);
                if (got != local - before || fold != TZ_GAP) {
                        print_error("%s: gap after %lld: got %+lld %s\n", label,
                                    (long long)hi,
                                    (long long)(got - (local - before)),
                                    fold_name(fold));
                        bad++;
                }
        }
        return bad;
}

/*
 * Hourly from `from` to `to`; returns the number of disagreements (it
 * stops counting at 10). glibc is asked once per hour, a day either side
 * included, so the scan stays fast.
 */
static int
scan(const struct tz *tz, const char *label, int64_t from, int64_t to)
{
        size_t n = (size_t)((to - from) / HOUR) + 1 + 48;
        struct probe *p = calloc(n, sizeof(*p));
        int bad = 0;

        assert_non_null(p);
        for (size_t i = 0; i < n; i++)
                p[i] = glibc_at(from - DAY + (int64_t)i * HOUR);
        for (size_t i = 24; i < n - 24 && bad < 10; i++) {
                int64_t t = from - DAY + (int64_t)i * HOUR;

                if (p[i].off != p[i - 1].off)
                        bad += check_transition(tz, label, t - HOUR, t);
                bad += check_instant(tz, label, t, &p[i], p[i - 24].off,
                                     p[i + 24].off);
        }
        free(p);
        return bad;
}

static void
test_against_glibc(void **state)
{
        static const struct {
                const char *name;
                const char *when; /* a known instant... */
                long off;         /* ...and its offset, to check glibc */
        } zones[] = {
                { "Europe/London", "2024-07-01T12:00:00Z", HOUR },
                { "America/New_York", "2024-01-15T12:00:00Z", -5 * HOUR },
                { "Australia/Sydney", "2024-01-15T12:00:00Z", 11 * HOUR },
                { "Asia/Kolkata", "2024-01-15T12:00:00Z", 5 * HOUR + 1800 },
                { "UTC", "2024-07-01T12:00:00Z", 0 },
        };
        int64_t from = support_utc("1990-01-01T00:00:00Z");
        int64_t to = support_utc("2046-01-01T00:00:00Z");
        int bad = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(zones) / sizeof(*zones); i++) {
                struct tz *tz = support_tz(zones[i].name);
                int zbad;

                set_glibc_zone(zones[i].name);
                /* glibc falls back to UTC silently: make sure it did not. */
                assert_int_equal(glibc_at(support_utc(zones[i].when)).off,
                                 zones[i].off);
                zbad = scan(tz, zones[i].name, from, to);
                /* The footer years, once more, a few minutes off the hour. */
                zbad +=
                    scan(tz, zones[i].name, support_utc("2038-01-01T00:07:00Z"),
                         support_utc("2046-01-01T00:00:00Z"));
                if (zbad != 0)
                        print_error("%s: %d disagreements with glibc\n",
                                    zones[i].name, zbad);
                bad += zbad;
                tz_destroy(&tz);
        }
        unsetenv("TZ");
        tzset();
        assert_int_equal(bad, 0);
}

/* --- Hand-built TZif data ------------------------------------------------ */

struct ttype {
        int32_t utoff;
        unsigned char isdst;
        const char *abbr;
};

struct out {
        unsigned char *p;
        size_t n, cap;
};

static void
put(struct out *o, const void *p, size_t n)
{
        assert_true(o->n + n <= o->cap);
        if (n == 0)
                return; /* p may be NULL */
        memcpy(o->p + o->n, p, n);
        o->n += n;
}

static void
put32(struct out *o, uint32_t v)
{
        unsigned char b[4] = { (unsigned char)(v >> 24),
                               (unsigned char)(v >> 16),
                               (unsigned char)(v >> 8), (unsigned char)v };

        put(o, b, 4);
}

static void
put64(struct out *o, int64_t v)
{
        put32(o, (uint32_t)((uint64_t)v >> 32));
        put32(o, (uint32_t)v);
}

/* One header and data block; times are 4 or 8 bytes. */
static void
put_block(struct out *o, char version, size_t timesize, size_t ntrans,
          const int64_t *trans, const unsigned char *idx, size_t ntypes,
          const struct ttype *types)
{
        static const unsigned char zero[15];
        size_t nchars = 0;

        for (size_t i = 0; i < ntypes; i++)
                nchars += strlen(types[i].abbr) + 1;
        put(o, "TZif", 4);
        put(o, &version, 1);
        put(o, zero, 15);
        put32(o, 0); /* isutcnt */
        put32(o, 0); /* isstdcnt */
        put32(o, 0); /* leapcnt */
        put32(o, (uint32_t)ntrans);
        put32(o, (uint32_t)ntypes);
        put32(o, (uint32_t)nchars);
        for (size_t i = 0; i < ntrans; i++) {
                if (timesize == 8)
                        put64(o, trans[i]);
                else
                        put32(o, (uint32_t)(int32_t)trans[i]);
        }
        put(o, idx, ntrans);
        for (size_t i = 0, ai = 0; i < ntypes; i++) {
                unsigned char b[2] = { types[i].isdst, (unsigned char)ai };

                put32(o, (uint32_t)types[i].utoff);
                put(o, b, 2);
                ai += strlen(types[i].abbr) + 1;
        }
        for (size_t i = 0; i < ntypes; i++)
                put(o, types[i].abbr, strlen(types[i].abbr) + 1);
}

/*
 * A TZif file: version 0 gives a version 1 file (no footer); '2' or '3'
 * gives both blocks and "\n<footer>\n". Returns its length.
 */
static size_t
make_tzif(unsigned char *buf, size_t cap, char version, size_t ntrans,
          const int64_t *trans, const unsigned char *idx, size_t ntypes,
          const struct ttype *types, const char *footer)
{
        struct out o = { buf, 0, cap };

        put_block(&o, version, 4, ntrans, trans, idx, ntypes, types);
        if (version == 0)
                return o.n;
        put_block(&o, version, 8, ntrans, trans, idx, ntypes, types);
        put(&o, "\n", 1);
        put(&o, footer, strlen(footer));
        put(&o, "\n", 1);
        return o.n;
}

static struct tz *
parse_ok(const char *name, const unsigned char *buf, size_t len)
{
        char *cause = NULL;
        struct tz *tz = tz_parse(name, buf, len, &cause);

        if (tz == NULL)
                fail_msg("tz_parse(%s): %s", name, cause);
        assert_null(cause);
        return tz;
}

/* A zone with no transitions: everything comes from the footer. */
static size_t
footer_only(unsigned char *buf, size_t cap, const char *footer)
{
        static const struct ttype lmt = { 0, 0, "LMT" };

        return make_tzif(buf, cap, '2', 0, NULL, NULL, 1, &lmt, footer);
}

static void
test_parse_footer_only(void **state)
{
        static const struct offset_row rows[] = {
                /* 2030: last Sundays are 31 Mar and 27 Oct. */
                { "2030-01-01T00:00:00Z", 0, "GMT" },
                { "2030-03-30T16:30:00Z", 0, "GMT" },
                { "2030-03-31T00:59:59Z", 0, "GMT" },
                { "2030-03-31T01:00:00Z", HOUR, "BST" },
                { "2030-07-01T12:00:00Z", HOUR, "BST" },
                { "2030-10-27T00:59:59Z", HOUR, "BST" },
                { "2030-10-27T01:00:00Z", 0, "GMT" },
                { "2030-12-31T23:59:59Z", 0, "GMT" },
        };
        unsigned char buf[512];
        size_t len = footer_only(buf, sizeof(buf), "GMT0BST,M3.5.0/1,M10.5.0");
        struct tz *tz = parse_ok("Test/Footer", buf, len);
        enum tz_fold fold = (enum tz_fold) - 1;

        (void)state;
        assert_string_equal(tz_name(tz), "Test/Footer");
        check_offsets(tz, rows, sizeof(rows) / sizeof(*rows));
        assert_int_equal(tz_to_utc(tz, local_of("2030-03-31 01:30"), &fold),
                         support_utc("2030-03-31T01:30:00Z"));
        assert_int_equal(fold, TZ_GAP);
        assert_int_equal(tz_to_utc(tz, local_of("2030-10-27 01:30"), &fold),
                         support_utc("2030-10-27T00:30:00Z"));
        assert_int_equal(fold, TZ_OVERLAP);
        assert_int_equal(tz_to_utc(tz, local_of("2030-04-02 08:00"), &fold),
                         support_utc("2030-04-02T07:00:00Z"));
        assert_int_equal(fold, TZ_EXACT);
        tz_destroy(&tz);
}

/*
 * POSIX TZ strings as footers of transition-free files, against glibc
 * reading the same strings: every rule form (Mm.w.d, Jn, n), negative and
 * over-24-hour rule times, quoted abbreviations, negative DST, southern
 * hemisphere.
 */
static void
test_footer_rules_against_glibc(void **state)
{
        static const char *rules[] = {
                "GMT0BST,M3.5.0/1,M10.5.0",
                "EST5EDT,M3.2.0,M11.1.0",
                "AEST-10AEDT,M10.1.0,M4.1.0/3",
                "NZST-12NZDT,M9.5.0,M4.1.0/3",
                "CET-1CEST,M3.5.0,M10.5.0/3",
                "IST-1GMT0,M10.5.0,M3.5.0/1",
                "<+0330>-3:30<+0430>,J79/24,J263/24",
                "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
                "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
                "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
                "AAA3BBB,J60/2,J300/2",
                "AAA3BBB,59/2,300/2",
                "IST-5:30",
                "UTC0",
        };
        int64_t from = support_utc("2023-01-01T00:00:00Z");
        int64_t to = support_utc("2033-01-01T00:00:00Z");
        int bad = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++) {
                unsigned char buf[512];
                size_t len = footer_only(buf, sizeof(buf), rules[i]);
                struct tz *tz = parse_ok(rules[i], buf, len);
                int rbad;

                set_glibc_zone(rules[i]);
                rbad = scan(tz, rules[i], from, to);
                if (rbad != 0)
                        print_error("'%s': %d disagreements with glibc\n",
                                    rules[i], rbad);
                bad += rbad;
                tz_destroy(&tz);
        }
        unsetenv("TZ");
        tzset();
        assert_int_equal(bad, 0);
}

/*
 * "DST all year" as RFC 8536 3.3.1 spells it. glibc reads it as EST for the
 * first hours of each UTC year (it takes the rule year from UTC), so this is
 * checked by hand: EDT at every instant, year ends included.
 */
static void
test_footer_dst_all_year(void **state)
{
        static const char *when[] = {
                "2023-01-01T00:00:00Z", "2023-01-01T04:59:59Z",
                "2023-01-01T05:00:00Z", "2023-07-01T12:00:00Z",
                "2023-12-31T23:59:59Z", "2024-01-01T04:59:59Z",
                "2024-01-01T05:00:00Z", "2028-12-31T23:30:00Z",
        };
        unsigned char buf[512];
        size_t len = footer_only(buf, sizeof(buf), "EST5EDT,0/0,J365/25");
        struct tz *tz = parse_ok("Test/AllYear", buf, len);
        enum tz_fold fold = (enum tz_fold) - 1;

        (void)state;
        for (size_t i = 0; i < sizeof(when) / sizeof(*when); i++) {
                int64_t t = support_utc(when[i]);

                if (tz_offset(tz, t) != -4 * HOUR ||
                    strcmp(tz_abbrev(tz, t), "EDT") != 0)
                        fail_msg("%s: got %d %s, want -14400 EDT", when[i],
                                 tz_offset(tz, t), tz_abbrev(tz, t));
        }
        assert_int_equal(tz_to_utc(tz, local_of("2024-01-01 00:30"), &fold),
                         support_utc("2024-01-01T04:30:00Z"));
        assert_int_equal(fold, TZ_EXACT);
        tz_destroy(&tz);
}

static void
test_parse_transitions(void **state)
{
        static const struct ttype types[] = {
                { 100, 0, "LMT" },
                { 0, 0, "AAA" },
                { HOUR, 1, "BBBB" },
        };
        static const int64_t trans[] = { -1000, 1000, 2000 };
        static const unsigned char idx[] = { 1, 2, 1 };
        static const struct {
                int64_t t;
                int32_t off;
                const char *abbr;
        } rows[] = {
                { INT64_MIN / 2, 100, "LMT" },
                { -1001, 100, "LMT" },
                { -1000, 0, "AAA" },
                { 999, 0, "AAA" },
                { 1000, HOUR, "BBBB" },
                { 1999, HOUR, "BBBB" },
                { 2000, 0, "AAA" },
                { 4000000000LL, 0, "AAA" },
        };
        static const char versions[] = { 0, '2', '3' };

        (void)state;
        for (size_t v = 0; v < sizeof(versions); v++) {
                unsigned char buf[512];
                size_t len = make_tzif(buf, sizeof(buf), versions[v], 3, trans,
                                       idx, 3, types, "");
                struct tz *tz = parse_ok("Test/Transitions", buf, len);

                for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
                        if (tz_offset(tz, rows[i].t) != rows[i].off ||
                            strcmp(tz_abbrev(tz, rows[i].t), rows[i].abbr) != 0)
                                fail_msg("version %d at %lld: got %d %s",
                                         versions[v], (long long)rows[i].t,
                                         tz_offset(tz, rows[i].t),
                                         tz_abbrev(tz, rows[i].t));
                }
                tz_destroy(&tz);
        }
}

static void
expect_parse_error(const char *what, const unsigned char *buf, size_t len)
{
        char *cause = NULL;
        struct tz *tz = tz_parse("Test/Bad", buf, len, &cause);

        if (tz != NULL) {
                tz_destroy(&tz);
                fail_msg("%s: parsed", what);
        }
        if (cause == NULL || strstr(cause, "Test/Bad") == NULL)
                fail_msg("%s: cause '%s'", what, cause ? cause : "(null)");
        free(cause);
}

static void
test_parse_garbage(void **state)
{
        static const struct ttype gmt = { 0, 0, "GMT" };
        static const struct ttype two[] = { { 0, 0, "GMT" },
                                            { HOUR, 1, "BST" } };
        static const int64_t down[] = { 2000, 1000 };
        static const unsigned char idx_ok[] = { 1, 0 };
        static const int64_t up[] = { 1000, 2000 };
        static const unsigned char idx_bad[] = { 1, 2 };
        static const char *footers[] = {
                "GMT0BST,M13.5.0,M10.5.0",
                "GMT0BST,M3.5.0",
                "GMT0BST,M3.5.0/1,M10.5.0junk",
                "0GMT",
                "GM0",
                "GMT0BST,M3.0.0,M10.5.0",
                "GMT0BST,M3.5.7,M10.5.0",
                "GMT0BST,J0,J300",
                "GMT0BST,M3.5.0/168,M10.5.0",
        };
        unsigned char buf[512], text[64];
        size_t len;

        (void)state;
        memset(text, 'x', sizeof(text));
        expect_parse_error("text", text, sizeof(text));
        expect_parse_error("empty", (const unsigned char *)"", 0);

        /* Counts a file cannot hold or must not hold. */
        len = make_tzif(buf, sizeof(buf), '2', 0, NULL, NULL, 1, &gmt, "GMT0");
        buf[36] = 0; /* v1 typecnt = 0 */
        buf[39] = 0;
        expect_parse_error("no types", buf, len);
        len = make_tzif(buf, sizeof(buf), '2', 0, NULL, NULL, 1, &gmt, "GMT0");
        memset(buf + 32, 0xff, 4); /* v1 timecnt = 2^32 - 1 */
        expect_parse_error("huge timecnt", buf, len);

        /* Transitions out of order; a type index past the types. */
        len = make_tzif(buf, sizeof(buf), '2', 2, down, idx_ok, 2, two, "");
        expect_parse_error("descending", buf, len);
        len = make_tzif(buf, sizeof(buf), '2', 2, up, idx_bad, 2, two, "");
        expect_parse_error("type index", buf, len);
        len = make_tzif(buf, sizeof(buf), 0, 2, up, idx_bad, 2, two, "");
        expect_parse_error("v1 type index", buf, len);

        /* An abbreviation index past the characters (the last byte). */
        len = make_tzif(buf, sizeof(buf), 0, 0, NULL, NULL, 1, &gmt, "");
        buf[44 + 5] = 4;
        expect_parse_error("abbreviation index", buf, len);

        for (size_t i = 0; i < sizeof(footers) / sizeof(*footers); i++) {
                len = footer_only(buf, sizeof(buf), footers[i]);
                expect_parse_error(footers[i], buf, len);
        }
        /* No newline after the footer. */
        len = footer_only(buf, sizeof(buf), "GMT0");
        expect_parse_error("unterminated footer", buf, len - 1);
        /* No newline before it. */
        buf[len - 6] = 'x';
        expect_parse_error("footer without newline", buf, len);
}

/* Every proper prefix of a good file is refused. */
static void
test_parse_truncated(void **state)
{
        unsigned char small[512], *buf = small;
        size_t len =
            footer_only(small, sizeof(small), "GMT0BST,M3.5.0/1,M10.5.0");
        const char *dir = getenv("TZDIR");
        char path[4096];
        FILE *f;
        struct tz *tz;

        (void)state;
        for (size_t n = 0; n < len; n++)
                expect_parse_error("truncated hand-built", small, n);
        tz = parse_ok("Test/Whole", small, len);
        tz_destroy(&tz);

        snprintf(path, sizeof(path), "%s/Europe/London",
                 dir != NULL && *dir != '\0' ? dir : "/usr/share/zoneinfo");
        f = fopen(path, "rb");
        assert_non_null(f);
        buf = malloc(1 << 16);
        assert_non_null(buf);
        len = fread(buf, 1, 1 << 16, f);
        fclose(f);
        assert_true(len > 1000);
        for (size_t n = 0; n < len; n++)
                expect_parse_error("truncated Europe/London", buf, n);
        tz = parse_ok("Europe/London", buf, len);
        assert_int_equal(tz_offset(tz, support_utc("2024-07-01T00:00:00Z")),
                         HOUR);
        tz_destroy(&tz);
        free(buf);
}

/* --- Loading by name ----------------------------------------------------- */

static void
expect_load_error(const char *name, const char *want)
{
        char *cause = NULL;
        struct tz *tz = tz_load(name, &cause);

        if (tz != NULL) {
                tz_destroy(&tz);
                fail_msg("tz_load('%s') succeeded", name);
        }
        if (cause == NULL || strstr(cause, want) == NULL)
                fail_msg("tz_load('%s'): cause '%s', want '%s'", name,
                         cause ? cause : "(null)", want);
        free(cause);
}

static void
test_load_errors(void **state)
{
        (void)state;
        expect_load_error("Nowhere/Atlantis", "unknown time zone");
        expect_load_error("Nowhere/Atlantis", "'Nowhere/Atlantis'");
        /* A directory is not a zone. */
        expect_load_error("Europe", "unknown time zone");
        /* Names that would reach a real file if they were not refused. */
        expect_load_error("Europe/../Europe/London", "not a time zone name");
        expect_load_error("../zoneinfo/Europe/London", "not a time zone name");
        expect_load_error("/usr/share/zoneinfo/Europe/London",
                          "not a time zone name");
        expect_load_error("Europe/ London", "not a time zone name");
        expect_load_error("Europe/London ", "not a time zone name");
        expect_load_error(" Europe/London", "not a time zone name");
        expect_load_error("", "not a time zone name");
}

static void
test_load_and_destroy(void **state)
{
        struct tz *tz = support_tz("Europe/London");
        struct tz *none = NULL;

        (void)state;
        assert_string_equal(tz_name(tz), "Europe/London");
        assert_string_equal(tz_abbrev(tz, support_utc("2024-01-15T12:00:00Z")),
                            "GMT");
        assert_string_equal(tz_abbrev(tz, support_utc("2024-07-15T12:00:00Z")),
                            "BST");
        tz_destroy(&tz);
        assert_null(tz);
        tz_destroy(&tz);
        tz_destroy(&none);
        tz_destroy(NULL);

        /* Names with '+', '-' and '_' are fine. */
        tz = support_tz("Etc/GMT+5");
        assert_int_equal(tz_offset(tz, 0), -5 * HOUR);
        tz_destroy(&tz);
        tz = support_tz("America/Port-au-Prince");
        tz_destroy(&tz);
        tz = support_tz("America/St_Johns");
        assert_int_equal(tz_offset(tz, support_utc("2024-01-15T12:00:00Z")),
                         -(3 * HOUR + 1800));
        tz_destroy(&tz);
}

UNIT_MAIN({
    cmocka_unit_test(test_deadline_table),
    cmocka_unit_test(test_gap_and_overlap),
    cmocka_unit_test(test_offsets_at_the_instant),
    cmocka_unit_test(test_against_glibc),
    cmocka_unit_test(test_parse_footer_only),
    cmocka_unit_test(test_footer_rules_against_glibc),
    cmocka_unit_test(test_footer_dst_all_year),
    cmocka_unit_test(test_parse_transitions),
    cmocka_unit_test(test_parse_garbage),
    cmocka_unit_test(test_parse_truncated),
    cmocka_unit_test(test_load_errors),
    cmocka_unit_test(test_load_and_destroy),
})
