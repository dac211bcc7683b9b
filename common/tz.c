#include "tz.h"

#include "civil.h"
#include "fileio.h"
#include "xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_MAX_FILE (1 << 20)
#define TZ_ABBR_MAX 16

struct tz_type {
        int32_t utoff;
        bool isdst;
        char abbr[TZ_ABBR_MAX];
};

/* A POSIX TZ transition date: Jn, n, or Mm.w.d, plus a time of day. */
struct tz_when {
        char form; /* 'J', 'D' (zero-based day), 'M' */
        int month, week, wday, day;
        int32_t secs;
};

struct tz_rule {
        bool present;
        bool has_dst;
        struct tz_type std, dst;
        struct tz_when start, end;
};

struct tz {
        char *name;
        size_t ntrans;
        int64_t *trans;
        unsigned char *trans_type;
        size_t ntypes;
        struct tz_type *types;
        struct tz_rule rule;
};

/* Big-endian readers over a bounded buffer. */
struct cursor {
        const unsigned char *p;
        size_t left;
};

static bool
take(struct cursor *c, size_t n, const unsigned char **out)
{
        if (c->left < n)
                return false;
        *out = c->p;
        c->p += n;
        c->left -= n;
        return true;
}

static uint32_t
be32(const unsigned char *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
               (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
        return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
        char version;
        uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool
read_header(struct cursor *c, struct tzif_header *h)
{
        const unsigned char *p;

        if (!take(c, 44, &p) || memcmp(p, "TZif", 4) != 0)
                return false;
        h->version = (char)p[4];
        h->isutcnt = be32(p + 20);
        h->isstdcnt = be32(p + 24);
        h->leapcnt = be32(p + 28);
        h->timecnt = be32(p + 32);
        h->typecnt = be32(p + 36);
        h->charcnt = be32(p + 40);
        return h->typecnt > 0 && h->typecnt <= 256 && h->charcnt <= 4096 &&
               h->timecnt <= 100000 && h->leapcnt <= 10000;
}

static size_t
block_size(const struct tzif_header *h, size_t timesize)
{
        return h->timecnt * timesize + h->timecnt + h->typecnt * 6 +
               h->charcnt + h->leapcnt * (timesize + 4) + h->isstdcnt +
               h->isutcnt;
}

static bool
read_block(struct tz *tz, struct cursor *c, const struct tzif_header *h,
           size_t timesize)
{
        const unsigned char *times, *idx, *types, *chars, *skip;

        if (!take(c, h->timecnt * timesize, &times) ||
            !take(c, h->timecnt, &idx) || !take(c, h->typecnt * 6, &types) ||
            !take(c, h->charcnt, &chars) ||
            !take(c, h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt,
                  &skip))
                return false;

        tz->ntrans = h->timecnt;
        tz->trans = xcalloc(h->timecnt, sizeof(*tz->trans));
        tz->trans_type = xcalloc(h->timecnt, 1);
        for (size_t i = 0; i < h->timecnt; i++) {
                tz->trans[i] = timesize == 8 ? be64(times + 8 * i)
                                             : (int32_t)be32(times + 4 * i);
                if (idx[i] >= h->typecnt)
                        return false;
                tz->trans_type[i] = idx[i];
                if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
                        return false;
        }
        tz->ntypes = h->typecnt;
        tz->types = xcalloc(h->typecnt, sizeof(*tz->types));
        for (size_t i = 0; i < h->typecnt; i++) {
                const unsigned char *t = types + 6 * i;
                size_t ai = t[5];

                tz->types[i].utoff = (int32_t)be32(t);
                tz->types[i].isdst = t[4] != 0;
                if (ai >= h->charcnt)
                        return false;
                snprintf(
                    tz->types[i].abbr, TZ_ABBR_MAX, "%.*s",
                    (int)strnlen((const char *)chars + ai, h->charcnt - ai),
                    (const char *)chars + ai);
        }
        return true;
}

/* --- POSIX TZ strings (the TZif footer) --------------------------------- */

static bool
parse_abbr(const char **sp, char *out)
{
        const char *s = *sp;
        size_t n = 0;

        if (*s == '<') {
                s++;
                while (*s != '\0' && *s != '>' && n < TZ_ABBR_MAX - 1)
                        out[n++] = *s++;
                if (*s != '>')
                        return false;
                s++;
        } else {
                while (((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) &&
                       n < TZ_ABBR_MAX - 1)
                        out[n++] = *s++;
        }
        out[n] = '\0';
        *sp = s;
        return n >= 3;
}

static bool
parse_num(const char **sp, int max, int *out)
{
        const char *s = *sp;
        int v = 0;

        if (*s < '0' || *s > '9')
                return false;
        while (*s >= '0' && *s <= '9') {
                v = v * 10 + (*s++ - '0');
                if (v > max)
                        return false;
        }
        *out = v;
        *sp = s;
        return true;
}

/* [+-]hh[:mm[:ss]], hours up to 167 as RFC 8536 allows in rule times. */
static bool
parse_hms(const char **sp, int32_t *out)
{
        const char *s = *sp;
        int sign = 1, h, m = 0, sec = 0;

        if (*s == '+' || *s == '-')
                sign = *s++ == '-' ? -1 : 1;
        if (!parse_num(&s, 167, &h))
                return false;
        if (*s == ':') {
                s++;
                if (!parse_num(&s, 59, &m))
                        return false;
                if (*s == ':') {
                        s++;
                        if (!parse_num(&s, 59, &sec))
                                return false;
                }
        }
        *out = sign * (h * 3600 + m * 60 + sec);
        *sp = s;
        return true;
}

static bool
parse_when(const char **sp, struct tz_when *w)
{
        const char *s = *sp;

        if (*s == 'M') {
                s++;
                w->form = 'M';
                if (!parse_num(&s, 12, &w->month) || *s++ != '.' ||
                    !parse_num(&s, 5, &w->week) || *s++ != '.' ||
                    !parse_num(&s, 6, &w->wday) || w->month < 1 || w->week < 1)
                        return false;
        } else if (*s == 'J') {
                s++;
                w->form = 'J';
                if (!parse_num(&s, 365, &w->day) || w->day < 1)
                        return false;
        } else {
                w->form = 'D';
                if (!parse_num(&s, 365, &w->day))
                        return false;
        }
        w->secs = 7200;
        if (*s == '/') {
                s++;
                if (!parse_hms(&s, &w->secs))
                        return false;
        }
        *sp = s;
        return true;
}

static bool
parse_rule(const char *s, struct tz_rule *r)
{
        int32_t off;

        memset(r, 0, sizeof(*r));
        if (*s == '\0')
                return true; /* an empty footer: no rule */
        if (!parse_abbr(&s, r->std.abbr) || !parse_hms(&s, &off))
                return false;
        r->std.utoff = -off;
        r->present = true;
        if (*s == '\0')
                return true;
        if (!parse_abbr(&s, r->dst.abbr))
                return false;
        r->has_dst = true;
        r->dst.isdst = true;
        r->dst.utoff = r->std.utoff + 3600;
        if (*s != ',' && *s != '\0') {
                if (!parse_hms(&s, &off))
                        return false;
                r->dst.utoff = -off;
        }
        if (*s == '\0')
                s = ",M3.2.0,M11.1.0"; /* POSIX leaves it open; as glibc */
        if (*s++ != ',' || !parse_when(&s, &r->start) || *s++ != ',' ||
            !parse_when(&s, &r->end))
                return false;
        return *s == '\0';
}

/* The local seconds (in the offset before the change) of a rule date. */
static int64_t
when_local(const struct tz_when *w, int year)
{
        int32_t day;

        switch (w->form) {
        case 'J':
                day = civil_days(year, 1, 1) + w->day - 1;
                if (civil_is_leap(year) && w->day >= 60)
                        day++;
                break;
        case 'D':
                day = civil_days(year, 1, 1) + w->day;
                break;
        default: {
                int32_t first = civil_days(year, w->month, 1);
                int sunday_based = (civil_weekday(first) + 1) % 7;
                int mday =
                    1 + (w->wday - sunday_based + 7) % 7 + (w->week - 1) * 7;

                while (mday > civil_month_length(year, w->month))
                        mday -= 7;
                day = first + mday - 1;
                break;
        }
        }
        return civil_local_secs(day, 0) + w->secs;
}

static const struct tz_type *
rule_type(const struct tz_rule *r, int64_t utc)
{
        int year;
        int64_t start, end;
        bool dst;

        if (!r->has_dst)
                return &r->std;
        year = civil_from_days(civil_day_of(utc + r->std.utoff)).year;
        start = when_local(&r->start, year) - r->std.utoff;
        end = when_local(&r->end, year) - r->dst.utoff;
        if (start < end)
                dst = utc >= start && utc < end;
        else
                dst = !(utc >= end && utc < start);
        return dst ? &r->dst : &r->std;
}

/* --- The zone -------------------------------------------------------- */

static bool
valid_name(const char *name)
{
        if (name[0] == '\0' || name[0] == '/' || strlen(name) > 255)
                return false;
        if (strstr(name, "..") != NULL)
                return false;
        for (const char *p = name; *p != '\0'; p++) {
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
                      *p == '-' || *p == '+'))
                        return false;
        }
        return true;
}

struct tz *
tz_parse(const char *name, const unsigned char *buf, size_t len, char **cause)
{
        struct tz *tz = xcalloc(1, sizeof(*tz));
        struct cursor c = { buf, len };
        struct tzif_header h;
        const unsigned char *skip;
        char *footer = NULL;

        tz->name = xstrdup(name);
        if (!read_header(&c, &h))
                goto bad;
        if (h.version >= '2') {
                /* Skip the 32-bit block; use the 64-bit one and footer. */
                if (!take(&c, block_size(&h, 4), &skip) ||
                    !read_header(&c, &h) || !read_block(tz, &c, &h, 8))
                        goto bad;
                if (c.left < 2 || c.p[0] != '\n')
                        goto bad;
                const char *start = (const char *)c.p + 1;
                const char *nl = memchr(start, '\n', c.left - 1);

                if (nl == NULL)
                        goto bad;
                footer = xstrndup(start, (size_t)(nl - start));
                if (!parse_rule(footer, &tz->rule))
                        goto bad;
        } else if (!read_block(tz, &c, &h, 4)) {
                goto bad;
        }
        free(footer);
        return tz;
bad:
        xasprintf(cause, "time zone '%s': not a valid TZif file", name);
        free(footer);
        tz_destroy(&tz);
        return NULL;
}

struct tz *
tz_load(const char *name, char **cause)
{
        const char *dir = getenv("TZDIR");
        char *path = NULL, *buf = NULL, *why = NULL;
        size_t len = 0;
        struct tz *tz = NULL;

        if (!valid_name(name)) {
                xasprintf(cause, "'%s' is not a time zone name", name);
                goto out;
        }
        if (dir == NULL || *dir == '\0')
                dir = "/usr/share/zoneinfo";
        xasprintf(&path, "%s/%s", dir, name);
        if (fileio_read(path, TZ_MAX_FILE, &buf, &len, &why) < 0) {
                if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
                        xasprintf(cause, "unknown time zone '%s'", name);
                else
                        xasprintf(cause, "time zone '%s': %s", name, why);
                goto out;
        }
        tz = tz_parse(name, (const unsigned char *)buf, len, cause);
out:
        free(why);
        free(buf);
        free(path);
        return tz;
}

void
tz_destroy(struct tz **tzp)
{
        struct tz *tz;

        if (tzp == NULL || *tzp == NULL)
                return;
        tz = *tzp;
        free(tz->name);
        free(tz->trans);
        free(tz->trans_type);
        free(tz->types);
        free(tz);
        *tzp = NULL;
}

const char *
tz_name(const struct tz *tz)
{
        return tz->name;
}

static const struct tz_type *
type_at(const struct tz *tz, int64_t utc)
{
        size_t lo = 0, hi = tz->ntrans;

        if (tz->ntrans == 0 || utc < tz->trans[0]) {
                if (tz->ntrans == 0 && tz->rule.present)
                        return rule_type(&tz->rule, utc);
                return &tz->types[0];
        }
        if (utc >= tz->trans[tz->ntrans - 1] && tz->rule.present)
                return rule_type(&tz->rule, utc);
        /* The last transition at or before utc. */
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;

                if (tz->trans[mid] <= utc)
                        lo = mid;
                else
                        hi = mid;
        }
        return &tz->types[tz->trans_type[lo]];
}

int32_t
tz_offset(const struct tz *tz, int64_t utc)
{
        return type_at(tz, utc)->utoff;
}

const char *
tz_abbrev(const struct tz *tz, int64_t utc)
{
        return type_at(tz, utc)->abbr;
}

int64_t
tz_to_local(const struct tz *tz, int64_t utc)
{
        return utc + tz_offset(tz, utc);
}

int64_t
tz_to_utc(const struct tz *tz, int64_t local, enum tz_fold *fold)
{
        /*
         * Offsets a day either side bracket any single transition near
         * `local`; each is a candidate if it maps back onto itself.
         */
        int32_t before = tz_offset(tz, local - CIVIL_SECS_PER_DAY);
        int32_t after = tz_offset(tz, local + CIVIL_SECS_PER_DAY);
        int64_t tb = local - before, ta = local - after;
        bool vb = tz_offset(tz, tb) == before;
        bool va = tz_offset(tz, ta) == after;
        enum tz_fold f = TZ_EXACT;
        int64_t utc;

        if (before == after || (vb && !va)) {
                utc = tb;
        } else if (va && !vb) {
                utc = ta;
        } else if (vb && va) {
                f = TZ_OVERLAP;
                utc = tb < ta ? tb : ta;
        } else {
                f = TZ_GAP;
                utc = tb;
        }
        if (fold != NULL)
                *fold = f;
        return utc;
}
