/*
 * The printers of ofsted-notifyctl's online commands (print.h): aligned
 * tables and times in the trust's zone. The calendar `ics` prints is
 * print_ics.c's.
 */
#include "print.h"

#include "conf.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- Output ------------------------------------------------------------- */

/*
 * printf to `f` with every control character but newline shown as '?': the
 * text comes from the daemon, and a terminal must not take any of it for an
 * escape sequence.
 */
void
print_say(FILE *f, const char *fmt, ...)
{
        char *text;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (n < 0)
                abort();
        for (unsigned char *p = (unsigned char *)text; *p != '\0'; p++) {
                if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
                        *p = '?';
        }
        fputs(text, f);
        free(text);
}

/* Columns `s` takes on a terminal: one per UTF-8 character. */
static size_t
columns(const char *s)
{
        size_t n = 0;

        for (; *s != '\0'; s++) {
                if ((*s & 0xc0) != 0x80)
                        n++;
        }
        return n;
}

/* A table printed with aligned columns; cells are copies. */
struct table {
        size_t ncols;
        size_t nrows; /* the header is row 0 */
        char **cells;
};

/* Adds a row of t->ncols cells; NULL shows as "-". */
static void
table_row(struct table *t, const char *const *cells)
{
        t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
                                 sizeof(*t->cells));
        for (size_t i = 0; i < t->ncols; i++)
                t->cells[t->nrows * t->ncols + i] =
                    xstrdup(cells[i] != NULL ? cells[i] : "-");
        t->nrows++;
}

static void
table_print(const struct table *t)
{
        size_t width[16] = { 0 };

        for (size_t r = 0; r < t->nrows; r++) {
                for (size_t c = 0; c < t->ncols && c < 16; c++) {
                        size_t w = columns(t->cells[r * t->ncols + c]);

                        if (w > width[c])
                                width[c] = w;
                }
        }
        for (size_t r = 0; r < t->nrows; r++) {
                print_say(stdout, " ");
                for (size_t c = 0; c < t->ncols; c++) {
                        const char *cell = t->cells[r * t->ncols + c];
                        int pad = 0;

                        if (c + 1 < t->ncols && c < 16)
                                pad = (int)(width[c] - columns(cell));
                        print_say(stdout, " %s%*s", cell, pad, "");
                        if (c + 1 < t->ncols)
                                print_say(stdout, " ");
                }
                print_say(stdout, "\n");
        }
}

static void
table_free(struct table *t)
{
        for (size_t i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        t->cells = NULL;
        t->nrows = 0;
}

/* `v` as text: strings as they are, numbers in decimal, null as "-". */
static const char *
text(const json_t *v, char *buf, size_t len)
{
        if (json_is_string(v))
                return json_string_value(v);
        if (json_is_integer(v)) {
                snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
                return buf;
        }
        if (json_is_real(v)) {
                snprintf(buf, len, "%g", json_real_value(v));
                return buf;
        }
        if (json_is_boolean(v))
                return json_is_true(v) ? "yes" : "no";
        return "-";
}

/* The member `key` of `obj` as text; see text(). */
const char *
print_field(const json_t *obj, const char *key, char *buf, size_t len)
{
        return text(json_object_get(obj, key), buf, len);
}

/*
 * An RFC 3339 time from a reply for people, "Mon 4 Mar 2024 10:15 GMT", in
 * the trust's zone; anything else is shown as it is.
 */
static const char *
when(const struct online *o, const json_t *v, char *buf, size_t len)
{
        enum tz_fold fold;
        char *cause = NULL;
        int64_t utc;

        if (!json_is_string(v))
                return text(v, buf, len);
        if (timefmt_parse(o->conf->tz, json_string_value(v), &utc, &fold,
                          &cause) < 0) {
                free(cause);
                return json_string_value(v);
        }
        timefmt_human(o->conf->tz, utc, buf, len);
        return buf;
}

static const char *
when_field(const struct online *o, const json_t *obj, const char *key,
           char *buf, size_t len)
{
        return when(o, json_object_get(obj, key), buf, len);
}

/* "2 open, 0 paused": an object of counts, in the daemon's order. */
static char *
counts(const json_t *obj)
{
        char *out = xstrdup(""), *next, num[32];
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)obj, key, v)
        {
                xasprintf(&next, "%s%s%s %s", out, out[0] ? ", " : "",
                          text(v, num, sizeof(num)), key);
                free(out);
                out = next;
        }
        if (out[0] == '\0') {
                free(out);
                out = xstrdup("-");
        }
        return out;
}

static void
print_warnings(const json_t *warnings)
{
        size_t i;
        json_t *v;

        if (json_array_size(warnings) == 0)
                return;
        print_say(stdout, "\nWarnings\n");
        json_array_foreach((json_t *)warnings, i, v)
        {
                char buf[32];

                print_say(stdout, "  %s\n", text(v, buf, sizeof(buf)));
        }
}

/* --- Recording events --------------------------------------------------- */

/* An alert's offset, "escalation -60m" for an escalation. */
static const char *
offset_field(json_t *v, char *buf, size_t len)
{
        const char *kind = json_string_value(json_object_get(v, "kind"));
        const char *off = json_string_value(json_object_get(v, "offset"));

        snprintf(buf, len, "%s%.40s",
                 kind != NULL && strcmp(kind, "escalation") == 0 ? "escalation "
                                                                 : "",
                 off != NULL ? off : "-");
        return buf;
}

/* One column of a table of reply rows: its heading and how a row's cell
 * is shown. */
struct column {
        const char *heading;
        const char *key; /* the row's member; unused for CELL_OFFSET */
        enum { CELL_FIELD, CELL_WHEN, CELL_OFFSET } how;
};

/*
 * The JSON objects of `rows` as a table, a column for each of `cols` up
 * to the one without a heading (at most 8): a heading line, then a line a
 * row. Nothing when there are no rows.
 */
static void
print_rows(const struct online *o, json_t *rows, const struct column *cols)
{
        struct table t = { 0, 0, NULL };
        const char *cells[8];
        char b[8][64];
        size_t i, ncols;
        json_t *row;

        for (ncols = 0; ncols < 8 && cols[ncols].heading != NULL; ncols++)
                cells[ncols] = cols[ncols].heading;
        t.ncols = ncols;
        if (json_array_size(rows) == 0)
                return;
        table_row(&t, cells);
        json_array_foreach(rows, i, row)
        {
                for (size_t k = 0; k < ncols; k++) {
                        switch (cols[k].how) {
                        case CELL_FIELD:
                                cells[k] = print_field(row, cols[k].key, b[k],
                                                       sizeof(b[k]));
                                break;
                        case CELL_WHEN:
                                cells[k] = when_field(o, row, cols[k].key, b[k],
                                                      sizeof(b[k]));
                                break;
                        case CELL_OFFSET:
                                cells[k] =
                                    offset_field(row, b[k], sizeof(b[k]));
                                break;
                        }
                }
                table_row(&t, cells);
        }
        table_print(&t);
        table_free(&t);
}

void
print_event(const struct online *o, json_t *r)
{
        json_t *school = json_object_get(r, "school");
        json_t *scheduled = json_object_get(r, "scheduled");
        struct table t = { 3, 0, NULL };
        char b[5][64];
        long long ncancelled;
        size_t i;
        json_t *a;

        print_say(stdout, "Recorded %s for %s %s at %s (case %s).\n",
                  print_field(r, "kind", b[0], 64),
                  print_field(school, "urn", b[1], 64),
                  print_field(school, "name", b[2], 64),
                  when_field(o, r, "at", b[3], 64),
                  print_field(r, "case", b[4], 64));
        print_say(stdout, "Case %s is now %s.\n",
                  print_field(r, "case", b[0], 64),
                  print_field(r, "state", b[1], 64));

        if (json_array_size(scheduled) == 0) {
                print_say(stdout, "\nNo alerts scheduled.\n");
        } else {
                print_say(stdout, "\nScheduled alerts\n");
                table_row(&t, (const char *[]){ "WHEN", "RULE", "OFFSET" });
                json_array_foreach(scheduled, i, a)
                {
                        table_row(&t, (const char *[]){
                                          when_field(o, a, "at", b[0], 64),
                                          print_field(a, "rule", b[1], 64),
                                          offset_field(a, b[2], 64) });
                }
                table_print(&t);
                table_free(&t);
        }
        ncancelled = json_integer_value(json_object_get(r, "cancelled"));
        print_say(stdout, "\nCancelled %lld pending alert%s.\n", ncancelled,
                  ncancelled == 1 ? "" : "s");
        print_warnings(json_object_get(r, "warnings"));
}

/* The kind that command `cmd` records; NULL for "event", which is told. */
/* --- Queries ------------------------------------------------------------ */

void
print_list(const struct online *o, json_t *r)
{
        json_t *cases = json_object_get(r, "cases");
        struct table t = { 8, 0, NULL };
        char b[8][64], last[160];
        size_t i;
        json_t *c;

        if (json_array_size(cases) == 0) {
                if (json_is_true(json_object_get(o->req, "all")))
                        print_say(stdout, "No cases.\n");
                else
                        print_say(stdout, "No open, paused or concluded cases "
                                          "(--all shows closed ones too).\n");
                return;
        }
        table_row(&t,
                  (const char *[]){ "CASE", "SCHOOL", "NAME", "STATE", "OPENED",
                                    "LAST EVENT", "PENDING", "CONTACT" });
        json_array_foreach(cases, i, c)
        {
                snprintf(last, sizeof(last), "%s, %s",
                         print_field(c, "last_event", b[0], 64),
                         when_field(o, c, "last_event_at", b[1], 64));
                table_row(&t, (const char *[]){
                                  print_field(c, "case", b[2], 64),
                                  print_field(c, "school", b[3], 64),
                                  print_field(c, "name", b[4], 64),
                                  print_field(c, "state", b[5], 64),
                                  when_field(o, c, "opened", b[6], 64), last,
                                  print_field(c, "pending", b[7], 64),
                                  print_field(c, "contact", b[0], 64) });
        }
        table_print(&t);
        table_free(&t);
}

void
print_show(const struct online *o, json_t *r)
{
        static const struct column event_columns[] = {
                { "EVENT", "event", CELL_FIELD },
                { "KIND", "kind", CELL_FIELD },
                { "AT", "at", CELL_WHEN },
                { "RECORDED", "recorded", CELL_WHEN },
                { "BY", "actor", CELL_FIELD },
                { "CONTACT", "contact", CELL_FIELD },
                { "NOTE", "note", CELL_FIELD },
                { NULL, NULL, CELL_FIELD },
        };
        static const struct column ack_columns[] = {
                { "RULE", "rule", CELL_FIELD }, { "AT", "at", CELL_WHEN },
                { "BY", "by", CELL_FIELD },     { "NOTE", "note", CELL_FIELD },
                { NULL, NULL, CELL_FIELD },
        };
        json_t *c = json_object_get(r, "case");
        json_t *acks = json_object_get(c, "acks");
        json_t *events = json_object_get(c, "events");
        json_t *alerts = json_object_get(c, "alerts");
        struct table t = { 7, 0, NULL };
        char b[7][64], state[80];
        size_t i;
        json_t *v;

        print_say(stdout, "Case %s: %s %s\n", print_field(c, "case", b[0], 64),
                  print_field(c, "school", b[1], 64),
                  print_field(c, "name", b[2], 64));
        print_say(stdout, "  State:    %s\n",
                  print_field(c, "state", b[0], 64));
        print_say(stdout, "  Opened:   %s\n",
                  when_field(o, c, "opened", b[0], 64));
        if (json_is_string(json_object_get(c, "closed")))
                print_say(stdout, "  Closed:   %s\n",
                          when_field(o, c, "closed", b[0], 64));
        print_say(stdout, "  Contact:  %s\n",
                  print_field(c, "contact", b[0], 64));
        print_say(stdout, "  Note:     %s\n", print_field(c, "note", b[0], 64));

        print_say(stdout, "\nEvents\n");
        if (json_array_size(events) == 0)
                print_say(stdout, "  (none)\n");
        print_rows(o, events, event_columns);

        print_say(stdout, "\nAlerts\n");
        if (json_array_size(alerts) == 0)
                print_say(stdout, "  (none)\n");
        table_row(&t, (const char *[]){ "ID", "WHEN", "RULE", "OFFSET", "DUE",
                                        "STATE", "FIRED" });
        json_array_foreach(alerts, i, v)
        {
                snprintf(state, sizeof(state), "%s%s",
                         print_field(v, "state", b[0], 64),
                         json_is_true(json_object_get(v, "late")) ? ", late"
                                                                  : "");
                table_row(&t, (const char *[]){
                                  print_field(v, "id", b[0], 64),
                                  when_field(o, v, "at", b[1], 64),
                                  print_field(v, "rule", b[2], 64),
                                  offset_field(v, b[3], 64),
                                  when_field(o, v, "due", b[4], 64), state,
                                  when_field(o, v, "fired", b[5], 64) });
        }
        if (json_array_size(alerts) > 0)
                table_print(&t);
        table_free(&t);

        print_say(stdout, "\nAcknowledged\n");
        if (json_array_size(acks) == 0)
                print_say(stdout, "  (none)\n");
        print_rows(o, acks, ack_columns);
}

void
print_ack(const struct online *o, json_t *r)
{
        json_t *a = json_object_get(r, "ack");
        char b[5][64];

        print_say(
            stdout, "%s %s for case %s (%s), due %s: by %s at %s\n",
            json_is_true(json_object_get(a, "new")) ? "Acknowledged"
                                                    : "Already acknowledged",
            print_field(a, "rule", b[0], 64), print_field(a, "case", b[1], 64),
            print_field(json_object_get(a, "school"), "urn", b[2], 64),
            when_field(o, a, "due", b[3], 64), print_field(a, "by", b[4], 64),
            when_field(o, a, "at", b[0], 64));
        if (json_is_true(json_object_get(a, "new")))
                print_say(stdout,
                          "  %lld pending alerts cancelled; the deadline "
                          "stands\n",
                          (long long)json_integer_value(
                              json_object_get(a, "cancelled")));
}

void
print_upcoming(const struct online *o, json_t *r)
{
        static const struct column columns[] = {
                { "WHEN", "at", CELL_WHEN },
                { "CASE", "case", CELL_FIELD },
                { "SCHOOL", "school", CELL_FIELD },
                { "RULE", "rule", CELL_FIELD },
                { "OFFSET", NULL, CELL_OFFSET },
                { "DUE", "due", CELL_WHEN },
                { NULL, NULL, CELL_FIELD },
        };
        json_t *alerts = json_object_get(r, "alerts");

        if (json_array_size(alerts) == 0) {
                print_say(stdout, "No pending alerts.\n");
                return;
        }
        print_rows(o, alerts, columns);
}

void
print_history(const struct online *o, json_t *r)
{
        json_t *deliveries = json_object_get(r, "deliveries");
        struct table t = { 9, 0, NULL };
        char b[9][64], channel[140], status[80];
        size_t i;
        json_t *d;

        if (json_array_size(deliveries) == 0) {
                print_say(stdout, "No deliveries.\n");
                return;
        }
        table_row(&t, (const char *[]){ "UPDATED", "CASE", "SCHOOL", "RULE",
                                        "OFFSET", "CHANNEL", "STATUS",
                                        "ATTEMPTS", "LAST ERROR" });
        json_array_foreach(deliveries, i, d)
        {
                snprintf(channel, sizeof(channel), "%s (%s)",
                         print_field(d, "channel", b[0], 64),
                         print_field(d, "type", b[1], 64));
                snprintf(status, sizeof(status), "%s%s",
                         print_field(d, "status", b[0], 64),
                         json_is_true(json_object_get(d, "late")) ? ", late"
                                                                  : "");
                table_row(&t, (const char *[]){
                                  when_field(o, d, "updated", b[2], 64),
                                  print_field(d, "case", b[3], 64),
                                  print_field(d, "school", b[4], 64),
                                  print_field(d, "rule", b[5], 64),
                                  print_field(d, "offset", b[6], 64), channel,
                                  status, print_field(d, "attempts", b[7], 64),
                                  print_field(d, "last_error", b[8], 64) });
        }
        table_print(&t);
        table_free(&t);
}

/* A length of time in seconds as the config writes it: "180 days",
 * "5 minutes"; "off" for null. */
static const char *
span(const json_t *v, char *buf, size_t len)
{
        static const struct {
                json_int_t s;
                const char *unit;
        } units[] = { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" } };
        json_int_t n = json_integer_value(v);

        if (!json_is_integer(v) || n <= 0)
                return "off";
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (n % units[i].s == 0) {
                        n /= units[i].s;
                        snprintf(buf, len, "%lld %s%s", (long long)n,
                                 units[i].unit, n == 1 ? "" : "s");
                        return buf;
                }
        }
        snprintf(buf, len, "%lld seconds", (long long)n);
        return buf;
}

/* A time of a reply, or "never" for null. */
static const char *
when_or_never(const struct online *o, const json_t *obj, const char *key,
              char *buf, size_t len)
{
        if (json_is_null(json_object_get(obj, key)))
                return "never";
        return when_field(o, obj, key, buf, len);
}

/*
 * status, running it for years: retention, the heartbeat, and each
 * channel's health with a warning line for each that is stale or whose
 * last delivery failed for good.
 */
static void
status_ops(const struct online *o, const json_t *r)
{
        const json_t *ret = json_object_get(r, "retention"),
                     *del = json_object_get(ret, "deleted"),
                     *beat = json_object_get(r, "heartbeat"),
                     *chans = json_object_get(r, "channels");
        struct table t = { 5, 0, NULL };
        char b[8][64];
        size_t i;
        json_t *ch;

        if (json_is_object(ret)) {
                const char *closed =
                    span(json_object_get(ret, "closed_cases"), b[0], 64);
                const char *personal =
                    span(json_object_get(ret, "personal"), b[1], 64);

                if (strcmp(closed, "off") == 0 && strcmp(personal, "off") == 0)
                        print_say(stdout,
                                  "Retention:  off (everything is kept)\n");
                else if (json_is_null(json_object_get(ret, "last_run")))
                        print_say(stdout,
                                  "Retention:  closed cases %s, personal "
                                  "data %s; not run yet\n",
                                  closed, personal);
                else
                        print_say(
                            stdout,
                            "Retention:  closed cases %s, personal data %s; "
                            "last run %s: %s cases, %s events, %s alerts "
                            "and %s deliveries deleted, %s blanked\n",
                            closed, personal,
                            when_field(o, ret, "last_run", b[2], 64),
                            print_field(del, "cases", b[3], 64),
                            print_field(del, "events", b[4], 64),
                            print_field(del, "alerts", b[5], 64),
                            print_field(del, "deliveries", b[6], 64),
                            print_field(ret, "blanked", b[7], 64));
        }
        if (json_is_object(beat)) {
                print_say(stdout,
                          "Heartbeat:  every %s; last sent %s, last "
                          "delivered %s\n",
                          span(json_object_get(beat, "every"), b[0], 64),
                          when_or_never(o, beat, "last_sent", b[1], 64),
                          when_or_never(o, beat, "last_delivered", b[2], 64));
                if (json_is_string(json_object_get(beat, "error")))
                        print_say(stdout, "Warning:    heartbeat: %s\n",
                                  print_field(beat, "error", b[0], 64));
        } else if (json_is_null(beat)) {
                print_say(stdout, "Heartbeat:  off\n");
        }
        if (json_array_size(chans) == 0)
                return;
        print_say(stdout, "\nChannels\n");
        table_row(&t, (const char *[]){ "CHANNEL", "CHECK", "LAST DELIVERED",
                                        "LAST CONFIRMED", "LAST CHECK" });
        json_array_foreach(chans, i, ch)
        {
                table_row(&t,
                          (const char *[]){
                              print_field(ch, "channel", b[0], 64),
                              print_field(ch, "check", b[1], 64),
                              when_or_never(o, ch, "last_delivered", b[2], 64),
                              when_or_never(o, ch, "last_confirmed", b[3], 64),
                              when_or_never(o, ch, "last_check", b[4], 64) });
        }
        table_print(&t);
        table_free(&t);
        json_array_foreach(chans, i, ch)
        {
                if (json_is_string(json_object_get(ch, "warning")))
                        print_say(stdout, "Warning:    channel '%s': %s\n",
                                  print_field(ch, "channel", b[0], 64),
                                  print_field(ch, "warning", b[1], 64));
        }
}

void
print_status(const struct online *o, json_t *r)
{
        static const struct column missed_columns[] = {
                { "WHEN", "at", CELL_WHEN },
                { "CASE", "case", CELL_FIELD },
                { "SCHOOL", "school", CELL_FIELD },
                { "RULE", "rule", CELL_FIELD },
                { "OFFSET", "offset", CELL_FIELD },
                { NULL, NULL, CELL_FIELD },
        };
        json_t *missed = json_object_get(r, "missed"), *db, *dsp;
        static const char *const groups[][2] = {
                { "cases", "Cases:      " },
                { "alerts", "Alerts:     " },
                { "deliveries", "Deliveries: " },
        };
        char b[5][64];
        size_t i;
        json_t *m;

        print_say(stdout, "ofsted-notifyd %s, pid %s, running since %s\n",
                  print_field(r, "version", b[0], 64),
                  print_field(r, "pid", b[1], 64),
                  when_field(o, r, "started", b[2], 64));
        print_say(stdout, "Config:     %s\n",
                  print_field(r, "config", b[0], 64));
        for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
                char *line = counts(json_object_get(r, groups[i][0]));

                print_say(stdout, "%s%s\n", groups[i][1], line);
                free(line);
        }
        print_say(stdout, "Next alert: %s\n",
                  json_is_string(json_object_get(r, "next_alert"))
                      ? when_field(o, r, "next_alert", b[0], 64)
                      : "none");
        print_say(
            stdout, "Workers:    webhook %s, email %s\n",
            print_field(json_object_get(r, "workers"), "webhook", b[0], 64),
            print_field(json_object_get(r, "workers"), "email", b[1], 64));
        dsp = json_object_get(r, "dispatch");
        if (json_is_object(dsp)) {
                print_say(
                    stdout,
                    "Outcomes:   delivered %s, retried %s, failed %s, given up "
                    "%s (since start)\n",
                    print_field(dsp, "delivered", b[0], 64),
                    print_field(dsp, "retried", b[1], 64),
                    print_field(dsp, "failed", b[2], 64),
                    print_field(dsp, "given_up", b[3], 64));
                if (json_integer_value(json_object_get(dsp, "malformed")) > 0)
                        print_say(
                            stdout,
                            "Malformed:  %s messages from workers dropped "
                            "(since start)\n",
                            print_field(dsp, "malformed", b[0], 64));
        }
        /* Workers given no jobs, and deliveries held on our side. */
        json_array_foreach(json_object_get(r, "stalled"), i, m)
        {
                print_say(
                    stdout,
                    "Stalled:    worker %s (%s): %s leases ran out without an "
                    "outcome since %s; no jobs for it until it reports one\n",
                    print_field(m, "worker", b[0], 64),
                    print_field(m, "kind", b[1], 64),
                    print_field(m, "expired", b[2], 64),
                    when_field(o, m, "since", b[3], 64));
        }
        json_array_foreach(json_object_get(r, "held"), i, m)
        {
                print_say(
                    stdout,
                    "Held:       %s deliveries to '%s' by a problem on this "
                    "side: %s\n",
                    print_field(m, "deliveries", b[0], 64),
                    print_field(m, "channel", b[1], 64),
                    print_field(m, "error", b[2], 64));
        }
        status_ops(o, r);
        db = json_object_get(r, "database");
        if (json_is_false(json_object_get(db, "writable"))) {
                const char *e = json_string_value(json_object_get(db, "error"));

                print_say(
                    stdout,
                    "\nDEGRADED: %s: new events are refused until it can be "
                    "written again\n",
                    e != NULL ? e : "the state database cannot be written");
        }

        if (json_array_size(missed) == 0)
                return;
        print_say(stdout, "\nMissed alerts (most recent)\n");
        print_rows(o, missed, missed_columns);
}

void
print_reload(const struct online *o, json_t *r)
{
        char b[64];

        (void)o;
        print_say(stdout, "Configuration reloaded (replanned: %s).\n",
                  print_field(r, "replanned", b, sizeof(b)));
}

/*
 * token create: the token alone on stdout (a script takes it with $(...)),
 * what it is for on stderr. It is shown now and never again.
 */
void
print_token(const struct online *o, json_t *r)
{
        char b[2][64];

        (void)o;
        printf("%s\n", json_string_value(json_object_get(r, "token")));
        fflush(stdout);
        print_say(stderr,
                  "Token '%s' (%s) created. It is shown only this once: "
                  "keep it now.\n",
                  print_field(r, "name", b[0], 64),
                  print_field(r, "role", b[1], 64));
}

void
print_tokens(const struct online *o, json_t *r)
{
        json_t *tokens = json_object_get(r, "tokens"), *tk, *urn;
        struct table t = { 5, 0, NULL };
        char b[5][64], schools[160];
        size_t i, k;

        if (json_array_size(tokens) == 0) {
                print_say(stdout, "No tokens.\n");
                return;
        }
        table_row(
            &t, (const char *[]){ "NAME", "ROLE", "SCHOOLS", "CREATED", "BY" });
        json_array_foreach(tokens, i, tk)
        {
                schools[0] = '\0';
                json_array_foreach(json_object_get(tk, "schools"), k, urn)
                {
                        size_t len = strlen(schools);

                        snprintf(schools + len, sizeof(schools) - len, "%s%s",
                                 k > 0 ? " " : "",
                                 json_string_value(urn) ? json_string_value(urn)
                                                        : "?");
                }
                table_row(&t, (const char *[]){
                                  print_field(tk, "name", b[0], 64),
                                  print_field(tk, "role", b[1], 64),
                                  schools[0] ? schools : "(all)",
                                  when_field(o, tk, "created", b[3], 64),
                                  print_field(tk, "created_by", b[4], 64) });
        }
        table_print(&t);
        table_free(&t);
}

void
print_revoked(const struct online *o, json_t *r)
{
        char b[64];

        (void)o;
        print_say(stdout, "Token '%s' revoked.\n",
                  print_field(r, "name", b, sizeof(b)));
}

/* --- The feed ----------------------------------------------------------- */

void
print_alert(const struct online *o, json_t *a)
{
        json_t *school = json_object_get(a, "school");
        const char *action = json_string_value(json_object_get(a, "action"));
        char b[8][64];

        print_say(stdout, "%s  %s %s: %s (%s), due %s",
                  when_field(o, a, "at", b[0], 64),
                  print_field(school, "urn", b[1], 64),
                  print_field(school, "name", b[2], 64),
                  print_field(a, "rule", b[3], 64),
                  print_field(a, "offset", b[4], 64),
                  when_field(o, a, "due", b[5], 64));
        if (json_is_string(json_object_get(a, "opens")))
                print_say(stdout, ", opens %s",
                          when_field(o, a, "opens", b[0], 64));
        print_say(stdout, ", case %s", print_field(a, "case", b[0], 64));
        if (json_is_true(json_object_get(a, "late")))
                print_say(stdout, ", late");
        if (action != NULL && action[0] != '\0')
                print_say(stdout, "; %s", action);
        print_say(stdout, "\n");
}

/* --- Running it for years ----------------------------------------------- */

void
print_backup(const struct online *o, json_t *r)
{
        char b[2][64];

        (void)o;
        print_say(stdout,
                  "Backup written to %s (integrity check: %s); %s old "
                  "copies removed.\n",
                  json_string_value(json_object_get(r, "file")),
                  print_field(r, "integrity", b[0], 64),
                  print_field(r, "removed", b[1], 64));
}

void
print_audit(const struct online *o, json_t *r)
{
        static const struct column columns[] = {
                { "WHEN", "at", CELL_WHEN },
                { "WHO", "actor", CELL_FIELD },
                { "FROM", "source", CELL_FIELD },
                { "WHAT", "action", CELL_FIELD },
                { "SCHOOL", "school", CELL_FIELD },
                { "CASE", "case", CELL_FIELD },
                { "DETAIL", "detail", CELL_FIELD },
                { NULL, NULL, CELL_FIELD },
        };
        json_t *audit = json_object_get(r, "audit");

        if (json_array_size(audit) == 0) {
                print_say(stdout, "No audit entries.\n");
                return;
        }
        print_rows(o, audit, columns);
}

/* export: each case as `show` prints it, then the deliveries and trail. */
void
print_export(const struct online *o, json_t *r)
{
        json_t *cases = json_object_get(r, "cases"), *c, *one;
        size_t i;

        if (json_array_size(cases) == 0)
                print_say(stdout, "No cases held.\n");
        json_array_foreach(cases, i, c)
        {
                one = json_pack("{s:O}", "case", c);
                print_show(o, one);
                json_decref(one);
                print_say(stdout, "\n");
        }
        print_say(stdout, "Deliveries\n");
        print_history(o, r);
        print_say(stdout, "\nAudit trail\n");
        print_audit(o, r);
}
