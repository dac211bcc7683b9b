/*
 * email: an alert as an email, built with libcurl's MIME API.
 *
 * The message:
 *   Date, From, To, Subject, Message-ID, X-Ofsted-Notify-Delivery,
 *   Auto-Submitted   (CURLOPT_HTTPHEADER; libcurl adds MIME-Version and
 *                     the multipart/mixed Content-Type)
 *   part 1  text/plain; charset=UTF-8, quoted-printable: the rendered
 *           text, CRLF line ends
 *   part 2  text/calendar; charset=UTF-8; method=PUBLISH, base64,
 *           "deadline.ics": the deadline (ics_deadline_event())
 * Every header value is checked for CR, LF and other control characters
 * before it is used, so nothing from a job or a template can add a header
 * (the config loader refuses them too). Non-ASCII header text is RFC 2047
 * encoded: words of at most 39 octets of UTF-8, cut between characters,
 * which makes each "=?UTF-8?B?...?=" word at most 64 characters, so even
 * "Subject: " and a word stay within RFC 2047's 76-character lines.
 *
 * Recipients: the worker sets CURLOPT_MAIL_RCPT_ALLOWFAILS, so a recipient
 * the relay refuses is left out and the others still get the message;
 * only when every one is refused does the transfer fail, with the reply
 * to the last. email_trace() finds each refusal in libcurl's trace, for
 * the worker to log: libcurl reports no per-recipient result.
 *
 * Classification (email_classify):
 *   CURLE_OK                         delivered
 *   CURLE_LOGIN_DENIED               failed: authentication refused
 *   CURLE_USE_SSL_FAILED             failed: no STARTTLS (retry on a 4xx:
 *                                    RFC 3207's 454 "TLS not available
 *                                    due to temporary reason")
 *   any error with a 4xx reply       retry
 *   any error with a 5xx reply       failed (every recipient rejected,
 *                                    policy)
 *   setup errors (URL, protocol)     failed: retrying cannot help
 *   other errors (connect, timeout,
 *   TLS, reset) without a code       retry
 */
#include "email.h"

#include "backend_int.h"
#include "civil.h"
#include "ics.h"
#include "timefmt.h"
#include "xalloc.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WORD_OCTETS 39 /* UTF-8 octets per encoded word; see above */
#define LINE_SOFT   78 /* RFC 5322's recommended line length */
#define WORD_LINE   76 /* RFC 2047's limit for lines with encoded words */

/* --- Header text -------------------------------------------------------- */

/* Whether s can be a header value: no CR, LF or other control character. */
static bool
header_safe(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        }
        return true;
}

/* Printable ASCII that no reader could take for an encoded word. */
static bool
plain_ascii(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p > 0x7e)
                        return false;
        }
        return strstr(s, "=?") == NULL;
}

/* The octets of the UTF-8 character at p (at most what is left of it). */
static size_t
char_len(const unsigned char *p)
{
        size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;

        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return i;
        }
        return n;
}

char *
email_encode_header(const char *value)
{
        const unsigned char *p = (const unsigned char *)(value ? value : "");
        char b64[sodium_base64_ENCODED_LEN(WORD_OCTETS,
                                           sodium_base64_VARIANT_ORIGINAL)];
        char *out, *next;

        if (plain_ascii((const char *)p))
                return xstrdup((const char *)p);
        out = xstrdup("");
        while (*p != '\0') {
                size_t n = 0;

                /* As many whole characters as fit in a word. */
                do
                        n += char_len(p + n);
                while (p[n] != '\0' && n + char_len(p + n) <= WORD_OCTETS);
                sodium_bin2base64(b64, sizeof(b64), p, n,
                                  sodium_base64_VARIANT_ORIGINAL);
                xasprintf(&next, "%s%s=?UTF-8?B?%s?=", out,
                          out[0] != '\0' ? "\r\n " : "", b64);
                free(out);
                out = next;
                p += n;
        }
        return out;
}

/* The length of the last line of a header value that starts after
 * `prefix` characters on its first line. */
static size_t
last_line(const char *value, size_t prefix)
{
        const char *nl = strrchr(value, '\n');

        return nl != NULL ? strlen(nl + 1) : prefix + strlen(value);
}

/* An addr-spec we can put between angle brackets: one '@' with something
 * either side, no space, control character or RFC 5322 special that would
 * change the header's meaning. */
static bool
valid_address(const char *a)
{
        const char *at = strchr(a, '@');

        if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@'))
                return false;
        if (!header_safe(a))
                return false;
        return strpbrk(a, " <>\",;()[]\\") == NULL;
}

/* Characters a display name may hold without quotes (atext and space). */
static bool
atext_phrase(const char *s)
{
        for (const char *p = s; *p != '\0'; p++) {
                if (strchr(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789!#$%&'*+-/=?^_`{|}~ ",
                        *p) == NULL)
                        return false;
        }
        return true;
}

/*
 * Splits the configured sender, "Name <addr>" or "addr", into the From
 * header's value and "<addr>" for MAIL FROM. -1 with *cause if it is not
 * such a thing.
 */
static int
parse_from(const char *from, char **header, char **mail_from, char **cause)
{
        const char *lt, *gt, *a, *z;
        char *name = NULL, *addr = NULL, *enc = NULL;
        int rc = -1;

        *header = *mail_from = NULL;
        if (from == NULL || from[0] == '\0') {
                *cause = xstrdup("email.from is not set");
                goto out;
        }
        if (!header_safe(from)) {
                *cause = xstrdup("email.from contains a line break or control "
                                 "character");
                goto out;
        }
        lt = strrchr(from, '<');
        if (lt != NULL) {
                gt = strchr(lt, '>');
                if (gt == NULL || gt[1 + strspn(gt + 1, " ")] != '\0') {
                        *cause = xstrdup("email.from is not of the form "
                                         "'Name <address>'");
                        goto out;
                }
                addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
                a = from + strspn(from, " ");
                z = lt;
                while (z > a && z[-1] == ' ')
                        z--;
                name = xstrndup(a, (size_t)(z - a));
        } else {
                a = from + strspn(from, " ");
                z = a + strlen(a);
                while (z > a && z[-1] == ' ')
                        z--;
                addr = xstrndup(a, (size_t)(z - a));
                name = xstrdup("");
        }
        if (!valid_address(addr)) {
                *cause = xstrdup("email.from holds no usable address");
                goto out;
        }

        xasprintf(mail_from, "<%s>", addr);
        if (name[0] == '\0') {
                *header = xstrdup(addr);
        } else if (!plain_ascii(name)) {
                enc = email_encode_header(name);
                /* The address goes on the last word's line if it fits. */
                xasprintf(header, "%s%s<%s>", enc,
                          last_line(enc, strlen("From: ")) + 3 + strlen(addr) <=
                                  WORD_LINE
                              ? " "
                              : "\r\n ",
                          addr);
        } else if (atext_phrase(name) || (strlen(name) >= 2 && name[0] == '"' &&
                                          name[strlen(name) - 1] == '"')) {
                xasprintf(header, "%s <%s>", name, addr);
        } else {
                /* A quoted-string: specials such as '.' or ',' are safe. */
                char *q = xmalloc(2 * strlen(name) + 3), *o = q;

                *o++ = '"';
                for (const char *p = name; *p != '\0'; p++) {
                        if (*p == '"' || *p == '\\')
                                *o++ = '\\';
                        *o++ = *p;
                }
                *o++ = '"';
                *o = '\0';
                xasprintf(header, "%s <%s>", q, addr);
                free(q);
        }
        rc = 0;
out:
        free(enc);
        free(name);
        free(addr);
        return rc;
}

/* "Mon, 04 Mar 2024 16:30:00 +0000" (RFC 5322 section 3.3), in UTC. */
static void
format_date(int64_t utc, char *buf, size_t len)
{
        static const char wd[][4] = { "Mon", "Tue", "Wed", "Thu",
                                      "Fri", "Sat", "Sun" };
        static const char mon[][4] = {
                "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
        };
        int32_t day = civil_day_of(utc);
        struct civil_date d = civil_from_days(day);
        int secs = (int)(utc - civil_local_secs(day, 0));

        snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                 wd[civil_weekday(day)], d.day, mon[d.month - 1], d.year,
                 secs / 3600, secs / 60 % 60, secs % 60);
}

/* A host name for Message-ID: letters, digits, '.' and '-'. */
static bool
valid_host(const char *h)
{
        size_t n = strlen(h);

        return n > 0 && n <= 253 &&
               strspn(h, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

static void __attribute__((format(printf, 2, 3)))
add_header(struct curl_slist **list, const char *fmt, ...)
{
        struct curl_slist *l;
        va_list ap;
        char *h;

        va_start(ap, fmt);
        if (vasprintf(&h, fmt, ap) < 0)
                abort();
        va_end(ap);
        l = curl_slist_append(*list, h);
        free(h);
        if (l == NULL)
                abort(); /* only when out of memory */
        *list = l;
}

/* --- The body ----------------------------------------------------------- */

/* A copy of s with every line ending CRLF, and a CRLF at the end. */
static char *
crlf(const char *s)
{
        char *out = xmalloc(2 * strlen(s) + 3), *o = out;

        for (const char *p = s; *p != '\0'; p++) {
                if (*p == '\r' || *p == '\n') {
                        if (*p == '\r' && p[1] == '\n')
                                p++;
                        *o++ = '\r';
                        *o++ = '\n';
                } else {
                        *o++ = *p;
                }
        }
        if (o == out || o[-1] != '\n') {
                *o++ = '\r';
                *o++ = '\n';
        }
        *o = '\0';
        return out;
}

static char *body_main(const struct job_view *j);

/*
 * The text part: the rendered text, and a line with the deadline in local
 * time and the contact unless the text already says both (the default
 * template does; an admin's own may not); then, when the alert has one,
 * the one-click acknowledgement link on a line of its own.
 */
static char *
body_text(const struct job_view *j)
{
        char *text = body_main(j), *out;

        if (j->ack_url[0] == '\0')
                return text;
        xasprintf(&out, "%s\r\n\r\n" BACKEND_ACK_LABEL ":\r\n%s", text,
                  j->ack_url);
        free(text);
        return out;
}

static char *
body_main(const struct job_view *j)
{
        bool has_due = strstr(j->text, j->due_human) != NULL;
        bool has_contact =
            j->contact[0] == '\0' || strstr(j->text, j->contact) != NULL;
        char *when, *text, *out;

        if (has_due && has_contact)
                return crlf(j->text);
        if (j->opens_human[0] != '\0')
                xasprintf(&when, "%s (the window opens %s)", j->due_human,
                          j->opens_human);
        else
                when = xstrdup(j->due_human);
        xasprintf(&text, "%s\n\nDeadline: %s. Contact: %s.", j->text, when,
                  j->contact[0] != '\0' ? j->contact : "not recorded");
        out = crlf(text);
        free(when);
        free(text);
        return out;
}

/*
 * An RFC 3339 time with an explicit offset, as the JOB carries them. One
 * without would be local time in a zone this module does not have.
 */
static int
parse_instant(const char *s, int64_t *utc)
{
        size_t n = strlen(s);
        char *cause = NULL;

        if (n < 7 || (s[n - 1] != 'Z' && s[n - 1] != 'z' && s[n - 6] != '+' &&
                      s[n - 6] != '-'))
                return -1;
        if (timefmt_parse(NULL, s, utc, NULL, &cause) < 0) {
                free(cause);
                return -1;
        }
        return 0;
}

/* The deadline as an iCalendar text; -1 with *cause if the job lacks it. */
static int
deadline_ics(const struct job_view *j, const struct email_input *in, char **ics,
             char **cause)
{
        const json_t *c = json_object_get(j->alert, "case");
        struct ics_deadline d = { 0 };
        struct ics_event ev;
        char *host;

        if (!json_is_integer(c)) {
                *cause = xstrdup("the job's alert has no 'case'");
                return -1;
        }
        if (parse_instant(j->due_utc, &d.due) < 0) {
                *cause = xstrdup("the job's 'due_utc' is not an RFC 3339 time");
                return -1;
        }
        if (j->opens[0] != '\0') {
                if (parse_instant(j->opens, &d.opens) < 0) {
                        *cause = xstrdup("the job's 'opens' is not an RFC "
                                         "3339 time");
                        return -1;
                }
                d.has_opens = true;
        }
        /* The sender's domain, which every worker host shares; the
         * Message-ID host only if that is not a plain domain. */
        host = ics_uid_host(in->from);
        d.case_id = (int64_t)json_integer_value(c);
        d.rule = j->rule;
        d.school = j->school[0] != '\0' ? j->school : j->urn;
        d.host = host != NULL ? host : in->host;
        d.action = j->action;
        d.contact = j->contact;
        ics_deadline_event(&d, &ev);
        *ics = ics_calendar(&ev, 1, ICS_PRODID, in->now);
        ics_event_clear(&ev);
        free(host);
        return 0;
}

/* --- The message -------------------------------------------------------- */

int
email_build(CURL *easy, const struct email_input *in, struct email_msg *out,
            char **cause)
{
        struct backend_input bin = { 0 };
        struct job_view j;
        char *owned_title = NULL, *owned_text = NULL, *from = NULL;
        char *subject = NULL, *to = NULL, *next, *text = NULL, *ics = NULL;
        char date[64];
        curl_mimepart *part;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        *cause = NULL;
        bin.job = in->job;
        bin.title = in->subject;
        bin.text = in->text;
        if (backend_job(&bin, &j, &owned_title, &owned_text, cause) < 0)
                goto out;
        if (in->host == NULL || !valid_host(in->host)) {
                *cause = xstrdup("the Message-ID host is not a host name");
                goto out;
        }
        if (!header_safe(j.title)) {
                *cause = xstrdup("the subject contains a line break or "
                                 "control character");
                goto out;
        }
        if (in->nto == 0) {
                *cause = xstrdup("the channel has no recipients");
                goto out;
        }
        if (parse_from(in->from, &from, &out->mail_from, cause) < 0)
                goto out;

        to = xstrdup("");
        for (size_t i = 0; i < in->nto; i++) {
                const char *a = in->to[i];

                if (a == NULL || !valid_address(a)) {
                        xasprintf(cause,
                                  "recipient %zu is not an email "
                                  "address",
                                  i + 1);
                        goto out;
                }
                xasprintf(&next, "%s%s%s", to,
                          i == 0 ? ""
                          : last_line(to, strlen("To: ")) + 2 + strlen(a) >
                                  LINE_SOFT
                              ? ",\r\n "
                              : ", ",
                          a);
                free(to);
                to = next;
                add_header(&out->rcpt, "<%s>", a);
        }

        subject = email_encode_header(j.title);
        format_date(in->now, date, sizeof(date));
        xasprintf(&out->message_id, "<%s@%s>", j.delivery, in->host);
        add_header(&out->headers, "Date: %s", date);
        add_header(&out->headers, "From: %s", from);
        add_header(&out->headers, "To: %s", to);
        add_header(&out->headers, "Subject: %s", subject);
        add_header(&out->headers, "Message-ID: %s", out->message_id);
        add_header(&out->headers, "X-Ofsted-Notify-Delivery: %s", j.delivery);
        add_header(&out->headers, "Auto-Submitted: auto-generated");

        text = in->plain ? crlf(j.text) : body_text(&j);
        if (!in->plain && deadline_ics(&j, in, &ics, cause) < 0)
                goto out;

        out->mime = curl_mime_init(easy);
        if (out->mime == NULL)
                goto nomem;
        part = curl_mime_addpart(out->mime);
        if (part == NULL ||
            curl_mime_data(part, text, CURL_ZERO_TERMINATED) != CURLE_OK ||
            curl_mime_type(part, "text/plain; charset=UTF-8") != CURLE_OK ||
            curl_mime_encoder(part, "quoted-printable") != CURLE_OK)
                goto nomem;
        part = ics != NULL ? curl_mime_addpart(out->mime) : NULL;
        if (ics != NULL &&
            (part == NULL ||
             curl_mime_data(part, ics, CURL_ZERO_TERMINATED) != CURLE_OK ||
             curl_mime_type(part, "text/calendar; charset=UTF-8; "
                                  "method=PUBLISH") != CURLE_OK ||
             curl_mime_filename(part, "deadline.ics") != CURLE_OK ||
             curl_mime_encoder(part, "base64") != CURLE_OK))
                goto nomem;
        out->text = text;
        out->ics = ics;
        text = ics = NULL;
        rc = 0;
        goto out;
nomem:
        *cause = xstrdup("cannot build the MIME message (out of memory?)");
out:
        if (rc < 0)
                email_msg_free(out);
        free(owned_title);
        free(owned_text);
        free(from);
        free(subject);
        free(to);
        free(text);
        free(ics);
        return rc;
}

void
email_msg_free(struct email_msg *m)
{
        if (m == NULL)
                return;
        curl_slist_free_all(m->headers);
        curl_mime_free(m->mime);
        curl_slist_free_all(m->rcpt);
        free(m->mail_from);
        free(m->message_id);
        free(m->text);
        free(m->ics);
        free(m->asked);
        memset(m, 0, sizeof(*m));
}

/* base64 of s in lines of 76, each ending CRLF, appended to *out. */
static void
append_base64(char **out, const char *s)
{
        size_t len = strlen(s);
        size_t n =
            sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        char *b = xmalloc(n), *next;
        size_t blen;

        sodium_bin2base64(b, n, (const unsigned char *)s, len,
                          sodium_base64_VARIANT_ORIGINAL);
        blen = strlen(b);
        for (size_t i = 0; i < blen; i += 76) {
                xasprintf(&next, "%s%.76s\r\n", *out, b + i);
                free(*out);
                *out = next;
        }
        free(b);
}

char *
email_mime_text(const struct email_msg *m)
{
        /* '=' then '_' never occurs in base64, so no part holds it. */
        static const char boundary[] = "=_ofsted-notify-part";
        char *out = xstrdup(""), *next;

        for (const struct curl_slist *h = m->headers; h != NULL; h = h->next) {
                xasprintf(&next, "%s%s\r\n", out, h->data);
                free(out);
                out = next;
        }
        xasprintf(&next,
                  "%sMIME-Version: 1.0\r\n"
                  "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                  "--%s\r\n"
                  "Content-Type: text/plain; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  out, boundary, boundary);
        free(out);
        out = next;
        append_base64(&out, m->text != NULL ? m->text : "");
        xasprintf(&next,
                  "%s--%s\r\n"
                  "Content-Type: text/calendar; charset=UTF-8; "
                  "method=PUBLISH\r\n"
                  "Content-Disposition: attachment; "
                  "filename=\"deadline.ics\"\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  out, boundary);
        free(out);
        out = next;
        append_base64(&out, m->ics != NULL ? m->ics : "");
        xasprintf(&next, "%s--%s--\r\n", out, boundary);
        free(out);
        return next;
}

char *
email_from_address(const char *from)
{
        const char *lt = from != NULL ? strrchr(from, '<') : NULL;
        const char *a, *z;

        if (from == NULL)
                return xstrdup("");
        if (lt != NULL && strchr(lt, '>') != NULL)
                return xstrndup(lt + 1, (size_t)(strchr(lt, '>') - lt - 1));
        a = from + strspn(from, " ");
        z = a + strlen(a);
        while (z > a && z[-1] == ' ')
                z--;
        return xstrndup(a, (size_t)(z - a));
}

/* --- The conversation --------------------------------------------------- */

/* A copy of s[0, n) for a log line: at most `max` octets, anything but
 * printable ASCII as '?'. */
static char *
loggable(const char *s, size_t n, size_t max)
{
        char *out = xstrndup(s, n < max ? n : max);

        for (char *p = out; *p != '\0'; p++) {
                if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                        *p = '?';
        }
        return out;
}

char *
email_trace(struct email_msg *m, curl_infotype type, const char *data,
            size_t size)
{
        static const char cmd[] = "RCPT TO:";
        const size_t cmdlen = sizeof(cmd) - 1;
        const char *end = data + size, *line, *eol, *a, *z, *gt;
        char *addr, *reply, *out = NULL;

        if (type == CURLINFO_HEADER_OUT) {
                /* A command: a RCPT TO waits for its reply, any other
                 * (DATA, RSET, QUIT, ...) means none does. */
                free(m->asked);
                m->asked = NULL;
                if (size <= cmdlen || strncasecmp(data, cmd, cmdlen) != 0)
                        return NULL;
                a = data + cmdlen;
                z = a;
                while (z < end && *z != '\r' && *z != '\n')
                        z++;
                /* "<addr>", perhaps with parameters after it. */
                gt =
                    a < z && *a == '<' ? memchr(a, '>', (size_t)(z - a)) : NULL;
                if (gt != NULL) {
                        a++;
                        z = gt;
                }
                m->asked = loggable(a, (size_t)(z - a), 256);
                return NULL;
        }
        if (type != CURLINFO_HEADER_IN || m->asked == NULL)
                return NULL;
        /* Reply lines, one or more: "550-more" goes on, "550 text" (or a
         * bare "550") is the last. */
        for (line = data; line < end && m->asked != NULL; line = eol) {
                eol = memchr(line, '\n', (size_t)(end - line));
                eol = eol != NULL ? eol + 1 : end;
                z = eol;
                while (z > line && (z[-1] == '\r' || z[-1] == '\n'))
                        z--;
                if (z - line >= 4 && line[3] == '-')
                        continue;
                if (line[0] == '4' || line[0] == '5') {
                        addr = m->asked;
                        reply = loggable(line, (size_t)(z - line), 300);
                        free(out);
                        xasprintf(&out, "'%s': %s", addr, reply);
                        free(reply);
                }
                free(m->asked);
                m->asked = NULL;
        }
        return out;
}

/* --- Classification ----------------------------------------------------- */

enum outcome
email_classify(CURLcode rc, long code, char **error)
{
        *error = NULL;
        switch (rc) {
        case CURLE_OK:
                return OUTCOME_DELIVERED;
        case CURLE_LOGIN_DENIED:
                if (code > 0)
                        xasprintf(error, "authentication refused (SMTP %ld)",
                                  code);
                else
                        *error = xstrdup("authentication refused");
                return OUTCOME_FAILED;
        case CURLE_USE_SSL_FAILED:
                if (code >= 400 && code < 500) {
                        xasprintf(error,
                                  "SMTP %ld from the relay: STARTTLS is not "
                                  "available for now",
                                  code);
                        return OUTCOME_RETRY;
                }
                *error = xstrdup("the server does not offer STARTTLS, which "
                                 "tls = \"starttls\" requires");
                return OUTCOME_FAILED;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_NOT_BUILT_IN:
        case CURLE_FAILED_INIT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_UNKNOWN_OPTION:
        case CURLE_AUTH_ERROR:
                /* The setup, not the relay: the same attempt fails again. */
                xasprintf(error, "SMTP: %s", curl_easy_strerror(rc));
                return OUTCOME_FAILED;
        default:
                break;
        }
        if (code >= 400 && code < 500) {
                xasprintf(error, "SMTP %ld from the relay", code);
                return OUTCOME_RETRY;
        }
        if (code >= 500 && code < 600) {
                xasprintf(error, "SMTP %ld from the relay", code);
                return OUTCOME_FAILED;
        }
        /* Connection trouble (refused, reset, timed out, TLS): no verdict
         * from the relay on this message, so try again. */
        xasprintf(error, "SMTP: %s", curl_easy_strerror(rc));
        return OUTCOME_RETRY;
}
