/*
 * Email end to end (email.h): what a delivered alert says: the headers (RFC
 * 5322, RFC 2047) parsed and decoded here, the .ics attachment and
 * `ofsted-notifyctl ics` read by python3-icalendar, quoted-printable bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "email.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- Files, text, time ------------------------------------------------ */

/* "2024-04-02T17:00:00+01:00": RFC 3339 in local time, as {{due_iso}}. */
static void
local_rfc3339(time_t t, char buf[32])
{
        struct tm tm;
        long off;

        localtime_r(&t, &tm);
        off = tm.tm_gmtoff;
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + strlen(buf), 32 - strlen(buf), "%c%02ld:%02ld",
                 off < 0 ? '-' : '+', labs(off) / 3600, labs(off) / 60 % 60);
}

/* Whether s[0, n) is well-formed UTF-8 (no overlongs, no surrogates). */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                unsigned c = s[i], len, cp;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
                if (len == 0 || c > 0xf4 || i + len > n)
                        return false;
                cp = c & (0x7f >> len);
                for (unsigned k = 1; k < len; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3f);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                        return false;
                i += len;
        }
        return true;
}

/* The name (lower case) and value of the header line [p, eol). */
static void
header_line(const char *p, const char *eol, char **name, char **value)
{
        const char *colon = memchr(p, ':', (size_t)(eol - p)), *v;

        if (colon == NULL || colon == p)
                fail_msg("not a header: %.*s", (int)(eol - p), p);
        *name = strndup(p, (size_t)(colon - p));
        for (char *c = *name; *c != '\0'; c++) {
                if (*c <= ' ' || *c > '~')
                        fail_msg("bad header name '%s'", *name);
                *c = (char)tolower((unsigned char)*c);
        }
        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
                ;
        *value = strndup(v, (size_t)(eol - v));
}

/*
 * The header section of a message (up to the first empty line), unfolded
 * (RFC 5322 section 2.2.3: a line starting with white space continues the
 * one before; the CRLF goes, the white space stays): lower-case name ->
 * value, leading white space of the value dropped. Every line must end in
 * CRLF and be at most 998 octets, a line with an encoded word at most 76
 * (RFC 2047 section 2); no name may appear twice.
 */
static json_t *
parse_headers(const char *eml)
{
        json_t *h = json_object();
        char *name = NULL, *value = NULL;
        const char *p = eml;

        for (;;) {
                const char *eol = strstr(p, "\r\n");
                size_t len;

                if (eol == NULL)
                        fail_msg("the header section has no end");
                len = (size_t)(eol - p);
                if (memchr(p, '\n', len) != NULL ||
                    memchr(p, '\r', len) != NULL)
                        fail_msg("a bare CR or LF in the headers");
                if (len > 998)
                        fail_msg("a header line of %zu octets", len);
                if (len > 76 && strstr(p, "=?") != NULL &&
                    strstr(p, "=?") < eol)
                        fail_msg("a line of %zu octets with an encoded word: "
                                 "%.*s",
                                 len, (int)len, p);
                if (len > 0 && (*p == ' ' || *p == '\t')) {
                        char *more;

                        if (value == NULL)
                                fail_msg("the headers start with a "
                                         "continuation line");
                        assert_true(
                            asprintf(&more, "%s%.*s", value, (int)len, p) >= 0);
                        free(value);
                        value = more;
                } else {
                        if (name != NULL) {
                                if (json_object_get(h, name) != NULL)
                                        fail_msg("header '%s' twice", name);
                                json_object_set_new(h, name,
                                                    json_string(value));
                                free(name);
                                free(value);
                                name = value = NULL;
                        }
                        if (len == 0)
                                break;
                        header_line(p, eol, &name, &value);
                }
                p = eol + 2;
        }
        return h;
}

/* A header's value; fails if it is not there. */
static const char *
header(json_t *h, const char *name)
{
        json_t *v = json_object_get(h, name);

        if (!json_is_string(v))
                fail_msg("no header '%s'", name);
        return json_string_value(v);
}

static int
hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* Whether w[0, len) has the shape of an encoded word, "=?cs?e?text?=". */
static bool
is_word(const char *w, size_t len)
{
        const char *q1;

        if (len < 8 || strncmp(w, "=?", 2) != 0 ||
            strncmp(w + len - 2, "?=", 2) != 0)
                return false;
        q1 = memchr(w + 2, '?', len - 4);
        return q1 != NULL && q1 > w + 2 && q1 + 3 < w + len - 2 && q1[2] == '?';
}

/*
 * Appends the decoded text of encoded word w[0, len) (RFC 2047: charset
 * UTF-8, encoding B or Q) to *out. Each word must hold whole UTF-8
 * characters (section 5: no character split across words).
 */
static void
decode_word(const char *w, size_t len, char **out)
{
        const char *q1 = memchr(w + 2, '?', len - 4), *text = q1 + 3;
        size_t tlen = (size_t)(w + len - 2 - text), blen = 0;
        unsigned char bin[256];
        char *next;

        if ((size_t)(q1 - (w + 2)) != 5 || strncasecmp(w + 2, "UTF-8", 5) != 0)
                fail_msg("an encoded word in charset %.*s, not UTF-8",
                         (int)(q1 - (w + 2)), w + 2);
        if (q1[1] == 'B' || q1[1] == 'b') {
                if (sodium_base642bin(bin, sizeof(bin), text, tlen, NULL, &blen,
                                      NULL,
                                      sodium_base64_VARIANT_ORIGINAL) != 0)
                        fail_msg("bad base64 in '%.*s'", (int)len, w);
        } else if (q1[1] == 'Q' || q1[1] == 'q') {
                for (size_t i = 0; i < tlen && blen < sizeof(bin); i++) {
                        int hi = i + 2 < tlen ? hexval(text[i + 1]) : -1;
                        int lo = i + 2 < tlen ? hexval(text[i + 2]) : -1;

                        if (text[i] == '_') {
                                bin[blen++] = ' ';
                        } else if (text[i] == '=' && hi >= 0 && lo >= 0) {
                                bin[blen++] = (unsigned char)(hi * 16 + lo);
                                i += 2;
                        } else {
                                bin[blen++] = (unsigned char)text[i];
                        }
                }
        } else {
                fail_msg("encoding '%c' in '%.*s'", q1[1], (int)len, w);
        }
        if (!utf8_valid(bin, blen))
                fail_msg("'%.*s' is not whole UTF-8 characters", (int)len, w);
        assert_true(asprintf(&next, "%s%.*s", *out, (int)blen, bin) >= 0);
        free(*out);
        *out = next;
}

/*
 * An unfolded header value with its encoded words decoded; white space
 * between two encoded words is dropped (RFC 2047 section 6.2), any other
 * is kept. Caller frees.
 */
static char *
decode_header(const char *v)
{
        char *out = strdup(""), *next;
        bool prev_word = false;

        assert_non_null(out);
        while (*v != '\0') {
                size_t ws = strspn(v, " \t"), tok = strcspn(v + ws, " \t");
                bool word = is_word(v + ws, tok);

                /* The white space, unless it only separates two words. */
                if (!(word && prev_word)) {
                        assert_true(
                            asprintf(&next, "%s%.*s", out, (int)ws, v) >= 0);
                        free(out);
                        out = next;
                }
                if (word) {
                        decode_word(v + ws, tok, &out);
                } else {
                        assert_true(asprintf(&next, "%s%.*s", out, (int)tok,
                                             v + ws) >= 0);
                        free(out);
                        out = next;
                }
                prev_word = word;
                v += ws + tok;
        }
        return out;
}

/*
 * An RFC 5322 date-time (section 3.3) as a sender writes it: "Tue, 24 Nov
 * 2026 00:12:30 +0000", the day name the date's. Returns the instant.
 */
static time_t
rfc5322_date(const char *s)
{
        static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
                                              "May", "Jun", "Jul", "Aug",
                                              "Sep", "Oct", "Nov", "Dec" };
        static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
                                            "Thu", "Fri", "Sat" };
        regex_t re;
        regmatch_t m[10];
        struct tm tm = { 0 }, check;
        int off, mon = -1;
        bool matched;
        time_t t;

        assert_int_equal(
            regcomp(&re,
                    "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{1,2}) "
                    "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                    "([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) "
                    "([+-])([0-9]{4})$",
                    REG_EXTENDED),
            0);
        matched = regexec(&re, s, 10, m, 0) == 0;
        regfree(&re);
        if (!matched)
                fail_msg("Date '%s' is not an RFC 5322 date-time", s);
        for (int i = 0; i < 12; i++) {
                if (strncmp(s + m[3].rm_so, months[i], 3) == 0)
                        mon = i;
        }
        tm.tm_mday = atoi(s + m[2].rm_so);
        tm.tm_mon = mon;
        tm.tm_year = atoi(s + m[4].rm_so) - 1900;
        tm.tm_hour = atoi(s + m[5].rm_so);
        tm.tm_min = atoi(s + m[6].rm_so);
        tm.tm_sec = atoi(s + m[7].rm_so);
        off = atoi(s + m[9].rm_so);
        off = (off / 100 * 3600 + off % 100 * 60) *
              (s[m[8].rm_so] == '-' ? -1 : 1);
        if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
            tm.tm_min > 59 || tm.tm_sec > 60 || off % 900 != 0)
                fail_msg("Date '%s' is out of range", s);
        t = timegm(&tm);
        gmtime_r(&t, &check);
        if (check.tm_mday != tm.tm_mday ||
            strncmp(s, days[check.tm_wday], 3) != 0)
                fail_msg("Date '%s': no such day", s);
        return t - off;
}

/* The addresses of a To value ("a@b, c@d"). New array. */
static json_t *
address_list(const char *v)
{
        json_t *out = json_array();

        while (*v != '\0') {
                size_t n = strcspn(v, ",");
                const char *a = v, *z = v + n;

                while (a < z && (*a == ' ' || *a == '\t'))
                        a++;
                while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
                        z--;
                json_array_append_new(out, json_stringn(a, (size_t)(z - a)));
                v += n + (v[n] == ',');
        }
        return out;
}

/* Fails unless `arr` is exactly the strings [a, b]. */
static void
assert_pair(json_t *arr, const char *a, const char *b, const char *what)
{
        char *text = json_dumps(arr, JSON_COMPACT);
        const char *x = json_string_value(json_array_get(arr, 0));
        const char *y = json_string_value(json_array_get(arr, 1));

        if (json_array_size(arr) != 2 || x == NULL || y == NULL ||
            strcmp(x, a) != 0 || strcmp(y, b) != 0)
                fail_msg("%s is %s, want [%s, %s]", what, text, a, b);
        free(text);
}

/*
 * The headers of a delivered alert, parsed and decoded here: Date, From,
 * To, the RFC 2047 Subject, the Message-ID from the delivery id, and the
 * envelope (MAIL FROM, both RCPT TO). tls = "none" to the loopback relay.
 */
static void
test_headers(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none" };
        json_t *d, *rec, *h, *to, *msg;
        char *eml, *subject, want[512], mid[128], path[256], due_iso[32];
        time_t at, date, due;
        json_int_t id;

        start_all(f, &o);
        /* No --credit: four for each of email.connections (default 4). */
        {
                char *log = slurp(f->c.dlog);

                assert_contains(log, "(email) connected with credit 16\n");
                free(log);
        }
        d = drill(f, "delivered", &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        due = due_of(f, "drill", at);
        assert_int_equal(spool_count(f), 1);

        spool_path(f, 1, "eml", path, sizeof(path));
        eml = slurp(path);
        h = parse_headers(eml);

        date = rfc5322_date(header(h, "date"));
        if (date < at - 2 || date > time(NULL) + 2)
                fail_msg("Date %s is not when it was sent", header(h, "date"));
        assert_string_equal(header(h, "from"), FROM);
        to = address_list(header(h, "to"));
        assert_pair(to, RCPT1, RCPT2, "To");
        json_decref(to);

        /* Not plain text: encoded words, decoded here. */
        assert_true(strncmp(header(h, "subject"), "=?", 2) == 0);
        subject = decode_header(header(h, "subject"));
        local_rfc3339(due, due_iso);
        snprintf(want, sizeof(want), "%s: drill due %s", SCHOOL, due_iso);
        assert_string_equal(subject, want);

        message_id(jstr(d, "id"), mid, sizeof(mid));
        assert_string_equal(header(h, "message-id"), mid);
        assert_string_equal(header(h, "x-ofsted-notify-delivery"),
                            jstr(d, "id"));

        /* The envelope, as the sink saw it. */
        rec = spool_record(f, 1);
        assert_string_equal(jstr(rec, "mail_from"), FROM_ADDR);
        assert_pair(jarr(rec, "rcpt_tos"), RCPT1, RCPT2, "RCPT TO");
        assert_string_equal(jstr(rec, "message_id"), mid);
        assert_true(json_is_false(member(rec, "tls")));
        assert_true(json_is_null(member(rec, "auth_mechanism")));

        /* Python's email package reads the same subject, and the body. */
        msg = python_message(f, 1);
        assert_string_equal(jstr(msg, "subject"), want);
        assert_string_equal(jstr(msg, "type"), "multipart/mixed");
        assert_int_equal(json_array_size(jarr(msg, "defects")), 0);
        assert_contains(jstr(part_of(msg, "text/plain"), "text"), ACTION);
        assert_contains(jstr(part_of(msg, "text/plain"), "text"), CONTACT);
        assert_contains(jstr(part_of(msg, "text/plain"), "text"), SCHOOL);

        json_decref(msg);
        json_decref(rec);
        free(subject);
        json_decref(h);
        free(eml);
        json_decref(d);
        cluster_pass(&f->c);
}

/*
 * The deadline.ics attachment, read by python3-icalendar: one VEVENT,
 * UID "<case>-drill@trust.example", DTEND the deadline counted here (and
 * by the planner). Over STARTTLS, as by default.
 */
static void
test_ics_attachment(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "starttls", .sink_tls = true };
        json_t *d, *msg, *part;
        time_t at, due;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        due = due_of(f, "drill", at);
        msg = python_message(f, 1);
        assert_int_equal(json_array_size(jarr(msg, "defects")), 0);
        part = part_of(msg, "text/calendar");
        assert_string_equal(jstr(part, "filename"), "deadline.ics");
        assert_int_equal(json_array_size(jarr(part, "defects")), 0);
        check_event(jarr(part, "events"), id, "drill", due);
        json_decref(msg);
        json_decref(d);
        cluster_pass(&f->c);
}

/* {{due}}: "Tue 2 Apr 2024 17:00 BST", the trust's local time. */
static void
human_time(time_t t, char buf[64])
{
        char wd[8], mon[8];
        struct tm tm;

        localtime_r(&t, &tm);
        strftime(wd, sizeof(wd), "%a", &tm);
        strftime(mon, sizeof(mon), "%b", &tm);
        snprintf(buf, 64, "%s %d %s %04d %02d:%02d %s", wd, tm.tm_mday, mon,
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_zone);
}

/*
 * A transfer-encoded body as sent (RFC 2045): CRLF lines of at most 76
 * characters, none ending in white space (section 6.7, rules 3 and 5).
 * Returns how many end in "=", a quoted-printable soft line break.
 */
static int
check_encoded_lines(const char *raw, const char *what)
{
        int soft = 0;

        for (const char *p = raw; *p != '\0';) {
                const char *nl = strchr(p, '\n');
                size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

                if (nl != NULL && (len == 0 || p[len - 1] != '\r'))
                        fail_msg("%s: a line without CR: %.*s", what, (int)len,
                                 p);
                if (nl != NULL)
                        len--;
                if (len > 76)
                        fail_msg("%s: a line of %zu characters: %.*s", what,
                                 len, (int)len, p);
                if (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
                        fail_msg("%s: a line ends in white space: '%.*s'", what,
                                 (int)len, p);
                soft += len > 0 && p[len - 1] == '=';
                p = nl != NULL ? nl + 1 : p + strlen(p);
        }
        return soft;
}

/*
 * Non-ASCII text end to end: an action with "Café", "£", en dashes and
 * "=" on a line of more than 76 characters, in the subject and the body
 * (own templates, so the whole text is known here). The message is 7-bit;
 * the text part is quoted-printable as email.c promises, its lines within
 * RFC 2045's 76 with soft breaks; Python's email package decodes it, and
 * the RFC 2047 subject, to exactly the UTF-8 text.
 */
#define QP_ACTION                                                          \
        "Caf\u00e9 fund: collect the \u00a325 deposits \u2013 every one "  \
        "\u2013 and check that 1 + 1 = 2 before the inspectors arrive on " \
        "the day."

static void
test_quoted_printable(void **state)
{
        struct fx *f = *state;
        struct opts o = {
                .tls = "none",
                .action = QP_ACTION,
                .templates = "title = \"{{school}}: {{action}}\";\n"
                             "  text = \"{{action}}\\n{{school}}: {{rule}} "
                             "by {{due}}.\\nContact: {{contact}}\";",
        };
        json_t *d, *rec, *h, *msg, *text, *cal;
        char *eml, *subject, path[256], due_h[64], want[1024];
        time_t at, due;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        due = due_of(f, "drill", at);
        human_time(due, due_h);
        rec = spool_record(f, 1);

        /* No 8-bit octet and no NUL anywhere in what the relay got. */
        spool_path(f, 1, "eml", path, sizeof(path));
        eml = slurp(path);
        assert_int_equal(strlen(eml), jint(rec, "size"));
        for (const unsigned char *p = (unsigned char *)eml; *p != '\0'; p++) {
                if (*p > 0x7e || (*p < 0x20 && *p != '\r' && *p != '\n'))
                        fail_msg("octet 0x%02x at %zu of the message", *p,
                                 (size_t)(p - (unsigned char *)eml));
        }

        /* The subject: encoded words in lines of at most 76 (checked by
         * parse_headers), decoded here and by Python. */
        snprintf(want, sizeof(want), "%s: %s", SCHOOL, QP_ACTION);
        h = parse_headers(eml);
        subject = decode_header(header(h, "subject"));
        assert_string_equal(subject, want);
        msg = python_message(f, 1);
        assert_int_equal(json_array_size(jarr(msg, "defects")), 0);
        assert_string_equal(jstr(msg, "subject"), want);

        /* The text part as sent, and decoded: CRLF lines, one at the end. */
        text = part_of(msg, "text/plain");
        assert_int_equal(json_array_size(jarr(text, "defects")), 0);
        assert_string_equal(jstr(text, "charset"), "utf-8");
        assert_string_equal(jstr(text, "cte"), "quoted-printable");
        if (check_encoded_lines(jstr(text, "raw"), "text/plain") < 1)
                fail_msg("no soft line break in the quoted-printable text: "
                         "%s",
                         jstr(text, "raw"));
        snprintf(want, sizeof(want),
                 "%s\r\n%s: drill by %s.\r\nContact: %s\r\n", QP_ACTION, SCHOOL,
                 due_h, CONTACT);
        assert_string_equal(jstr(text, "text"), want);

        /* The calendar part's base64 lines too. */
        cal = part_of(msg, "text/calendar");
        assert_string_equal(jstr(cal, "cte"), "base64");
        check_encoded_lines(jstr(cal, "raw"), "text/calendar");
        check_event(jarr(cal, "events"), id, "drill", due);

        json_decref(msg);
        free(subject);
        json_decref(h);
        free(eml);
        json_decref(rec);
        json_decref(d);
        cluster_pass(&f->c);
}

/*
 * ofsted-notifyctl ics --school: the pending deadline (its one alert is
 * the day before) as a calendar python3-icalendar reads, the same UID as
 * the attachment's; another school's calendar is empty.
 */
static void
test_ctl_ics(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none" };
        struct proc_result r;
        json_t *cal, *up;
        char at_text[32];
        time_t at = time(NULL), due;
        json_int_t id;

        start_all(f, &o);
        utc_text(at, at_text);
        id = record(f, "drill2", at_text);
        due = due_of(f, "drill2", at);
        up = cluster_ctl_json(&f->c, "upcoming", "--school", URN, "--json",
                              NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 1);
        json_decref(up);

        r = cluster_ctl(&f->c, "ics", "--school", URN, NULL);
        if (r.status != 0)
                fail_msg("ofsted-notifyctl ics: exit %d: %s", r.status, r.err);
        spill(f->out, r.out);
        proc_result_free(&r);
        cal = python_json(PY_PARSE, "ics", f->out);
        check_event(jarr(cal, "events"), id, "drill2", due);
        json_decref(cal);

        r = cluster_ctl(&f->c, "ics", "--school", URN2, NULL);
        assert_int_equal(r.status, 0);
        spill(f->out, r.out);
        proc_result_free(&r);
        cal = python_json(PY_PARSE, "ics", f->out);
        assert_int_equal(json_array_size(jarr(cal, "events")), 0);
        json_decref(cal);

        /* Nothing was due: nothing was sent. */
        assert_int_equal(spool_count(f), 0);
        cluster_pass(&f->c);
}

/*
 * With web.base_url, the text part ends with the one-click link on a line
 * of its own, after a line naming it, each as the reader sees them
 * (quoted-printable undone by Python's email package).
 */
static void
test_ack_link(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none",
                          .base_url = "https://alerts.test.example/" };
        const char *prefix = "https://alerts.test.example/a/ont_";
        json_t *d, *msg;
        char *text, *last, *label;
        time_t at;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        msg = python_message(f, 1);
        text = strdup(jstr(part_of(msg, "text/plain"), "text"));
        assert_non_null(text);
        /* Line breaks as "\n" alone, none at the end. */
        for (char *p = text, *q = text;; p++) {
                if (*p != '\r')
                        *q++ = *p;
                if (*p == '\0')
                        break;
        }
        for (size_t n = strlen(text); n > 0 && text[n - 1] == '\n'; n--)
                text[n - 1] = '\0';
        last = strrchr(text, '\n');
        assert_non_null(last);
        *last++ = '\0';
        if (strncmp(last, prefix, strlen(prefix)) != 0 ||
            strlen(last) != strlen(prefix) + 43)
                fail_msg("the text part's last line is not the link: '%s'",
                         last);
        label = strrchr(text, '\n');
        assert_non_null(label);
        assert_string_equal(label + 1, "Done \xe2\x80\x94 stop the reminders:");
        free(text);
        json_decref(msg);
        json_decref(d);
        cluster_pass(&f->c);
}

CLUSTER_MAIN_GROUP(group_setup, group_teardown,
                   {
                       CLUSTER_TEST(test_headers),
                       CLUSTER_TEST(test_ics_attachment),
                       CLUSTER_TEST(test_quoted_printable),
                       CLUSTER_TEST(test_ctl_ics),
                       CLUSTER_TEST(test_ack_link),
                   })
