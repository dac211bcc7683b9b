/*
 * Email end to end: ofsted-notifyd fires alerts into deliveries and a real
 * `ofsted-notify-worker --kind email` sends them with libcurl to smtpsink,
 * a real SMTP server on loopback (python3-aiosmtpd) that spools every
 * message it accepts with its envelope. Checked: the headers as RFC 5322
 * and RFC 2047 define them (parsed and decoded here), non-ASCII text as
 * 7-bit quoted-printable that Python's email package decodes, the
 * deadline.ics attachment and `ofsted-notifyctl ics` through a real
 * iCalendar parser (python3-icalendar), STARTTLS insisted on and verified,
 * TLS settings changed by a reload, AUTH PLAIN and XOAUTH2 and a wrong
 * password, the password from $CREDENTIALS_DIRECTORY, a 451 retried and a
 * 550 failed for good, one recipient of two refused (the other still gets
 * it) and both, and a worker killed while the server sits on DATA.
 *
 * Expected values come from the config this file writes, the test's clock,
 * a deadline counted here from the bank holidays file, and `ofsted-notifyctl
 * plan` (the offline planner); ids come from `history`, the daemon's own
 * record, and are compared with what reached the sink. Every wait is
 * bounded; every child is killed and the directory removed in teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "proc.h"

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

#define HOLIDAYS SOURCE_DIR "/config/bank-holidays.json"
#define TRUST_TZ "Europe/London"

/* What the config says, and so what the messages must carry. */
#define TRUST     "Email Test Trust"
#define FROM_ADDR "alerts@trust.example"
#define FROM      "Ofsted alerts <" FROM_ADDR ">"
#define FROM_HOST "trust.example" /* Message-ID and UID right-hand side */
#define RCPT1     "head@school.example"
#define RCPT2     "deputy@school.example"
#define URN       "100001"
#define SCHOOL    "Ysgol Gynradd Llanfair \u2014 \u2018Derwen\u2019"
#define URN2      "100002" /* a second school, with nothing recorded */
#define ACTION    "Drill the email path."
#define CONTACT   "SOL 0300 123 4231"
/* The email subject: every placeholder's value is known to the test. */
#define TITLE     "{{late}}{{school}}: {{rule}} due {{due_iso}}"
#define SMTP_USER "alerts@trust.example"
#define SMTP_PASS "s3cret pass"
#define TOKEN     "ya29.test-token"
/* The rules: `drill` alerts at once, `drill2` the day before its deadline. */
#define WORKING_DAYS 5
#define DUE_HOUR     17
#define LEASE_S      10
#define RETRY_BASE_S 1

#define START_MS      20000 /* a child starting */
#define WAIT_MS       30000 /* any other single wait */
#define ICS_HALF_HOUR 1800  /* a deadline's event: the half hour to it */

/* The test CA and server certificate, made once for the whole run. */
static char certdir[128];
static char ca_pem[160], server_pem[160], server_key[160];
/* The England and Wales bank holidays, "YYYY-MM-DD" -> true. */
static json_t *holidays;

/* One test's world: a directory, a sink, a daemon, a worker. */
struct fx {
        char dir[128];
        char conf[192], spool[192], script[192], portfile[192], sinkerr[192];
        char dlog[192], wlog[192], pwfile[192], tokenfile[192], out[192];
        char creds[192]; /* a credentials directory, as systemd makes */
        char env_state[224], env_run[224];
        char env_creds[224]; /* the worker's CREDENTIALS_DIRECTORY, or unset */
        int port;
        pid_t sink, daemon, worker;
        bool passed;
};

/* How a test sets the world up. */
struct opts {
        const char *tls;          /* email.tls: "starttls" or "none" */
        bool sink_tls;            /* the sink gets the certificate */
        const char *sink_args[6]; /* more smtpsink arguments */
        const char *script;       /* smtpsink's script; NULL: none */
        const char *email_extra;  /* more settings for the email group */
        bool no_ca;               /* no ca_file: the system's CAs */
        const char *action;       /* the rules' action; NULL: ACTION */
        const char *templates;    /* templates.email; NULL: title = TITLE */
};

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

/* --- The deadline, counted here --------------------------------------- */

/* The england-and-wales dates of the holidays file, as a set. */
static json_t *
load_holidays(void)
{
        json_error_t err;
        json_t *doc = json_load_file(HOLIDAYS, 0, &err), *set, *ev;
        json_t *events;
        size_t i;

        if (doc == NULL)
                return NULL;
        events = json_object_get(json_object_get(doc, "england-and-wales"),
                                 "events");
        set = json_object();
        json_array_foreach(events, i, ev)
        {
                const char *date =
                    json_string_value(json_object_get(ev, "date"));

                if (date != NULL)
                        json_object_set_new(set, date, json_true());
        }
        json_decref(doc);
        if (json_object_size(set) == 0) {
                json_decref(set);
                return NULL;
        }
        return set;
}

/*
 * A `working_days = n; time = "HH:00"` deadline for an event at `at`, as
 * the README defines it: the nth weekday that is not an England and Wales
 * bank holiday strictly after the event's local day, at that local time.
 * The test runs with TZ set to the trust's zone.
 */
static time_t
deadline_after(time_t at, int n, int hour)
{
        struct tm tm;
        char date[16];

        localtime_r(&at, &tm);
        tm.tm_hour = 12; /* noon: never skipped or repeated by a change */
        tm.tm_min = tm.tm_sec = 0;
        while (n > 0) {
                tm.tm_mday++;
                tm.tm_isdst = -1;
                assert_true(mktime(&tm) != (time_t)-1);
                strftime(date, sizeof(date), "%Y-%m-%d", &tm);
                if (tm.tm_wday >= 1 && tm.tm_wday <= 5 &&
                    json_object_get(holidays, date) == NULL)
                        n--;
        }
        tm.tm_hour = hour;
        tm.tm_isdst = -1;
        return mktime(&tm);
}

/* --- JSON -------------------------------------------------------------- */

/* --- Config -------------------------------------------------------------- */

/*
 * The config: the email group for the sink on f->port, one email channel
 * with two recipients, a school with a non-ASCII name and one with none of
 * its own events, the rules `drill` and `drill2`, a subject template whose
 * every value the test knows, and fast leases and retries.
 */
static void
write_conf(struct fx *f, const struct opts *o)
{
        FILE *fp = fopen(f->conf, "w");
        const char *action = o->action != NULL ? o->action : ACTION;
        char ca[200] = "";

        if (fp == NULL)
                fail_msg("cannot write %s: %s", f->conf, strerror(errno));
        if (!o->no_ca)
                snprintf(ca, sizeof(ca), " ca_file = \"%s\";", ca_pem);
        fprintf(
            fp,
            "trust = { name = \"%s\"; timezone = \"%s\";\n"
            "  holidays = \"%s\"; };\n"
            "daemon = { state = \"state.db\";\n"
            "  control = \"ipc://control.sock\";\n"
            "  dispatch = \"ipc://dispatch.sock\";\n"
            "  feed = \"ipc://feed.sock\"; };\n"
            "delivery = { retry_base = %d; lease = %d; };\n"
            "email = { smtp = \"%s://127.0.0.1:%d\"; tls = \"%s\";\n"
            "  from = \"%s\";%s\n"
            "  %s };\n"
            "templates = { email = { %s }; };\n"
            "channels = (\n"
            "  { name = \"heads\"; type = \"email\";\n"
            "    to = [ \"%s\", \"%s\" ]; }\n"
            ");\n"
            "schools = (\n"
            "  { urn = \"%s\"; name = \"%s\"; channels = [ \"heads\" ]; },\n"
            "  { urn = \"%s\"; name = \"Oak Primary\";\n"
            "    channels = [ \"heads\" ]; }\n"
            ");\n"
            "rules = (\n"
            "  { name = \"drill\"; event = \"drill\"; action = \"%s\";\n"
            "    deadline = { working_days = %d; time = \"%02d:00\"; };\n"
            "    alerts = [ \"event\" ]; },\n"
            "  { name = \"drill2\"; event = \"drill2\"; action = \"%s\";\n"
            "    deadline = { working_days = %d; time = \"%02d:00\"; };\n"
            "    alerts = [ \"-1d\" ]; }\n"
            ");\n",
            TRUST, TRUST_TZ, HOLIDAYS, RETRY_BASE_S, LEASE_S,
            strcmp(o->tls, "implicit") == 0 ? "smtps" : "smtp", f->port, o->tls,
            FROM, ca, o->email_extra != NULL ? o->email_extra : "",
            o->templates != NULL ? o->templates : "title = \"" TITLE "\";",
            RCPT1, RCPT2, URN, SCHOOL, URN2, action, WORKING_DAYS, DUE_HOUR,
            action, WORKING_DAYS, DUE_HOUR);
        assert_int_equal(fclose(fp), 0);
}

/* --- Running things ---------------------------------------------------- */

/* ofsted-notifyctl -c conf a0 ... (NULL-terminated, at most 14). */
static struct proc_result
vctl(struct fx *f, const char *a0, va_list ap)
{
        return itest_ctl_run(CTL_BINARY, f->conf, f->env_state, f->env_run, a0,
                             ap);
}

static struct proc_result
ctl(struct fx *f, const char *a0, ...)
{
        struct proc_result r;
        va_list ap;

        va_start(ap, a0);
        r = vctl(f, a0, ap);
        va_end(ap);
        return r;
}

/* Runs ofsted-notifyctl, wants exit status 0 and a JSON object. */
static json_t *
ctl_json(struct fx *f, const char *a0, ...)
{
        struct proc_result r;
        json_error_t err;
        json_t *doc;
        va_list ap;

        va_start(ap, a0);
        r = vctl(f, a0, ap);
        va_end(ap);
        if (r.status != 0)
                fail_msg("ofsted-notifyctl %s: exit %d; stderr: %s", a0,
                         r.status, r.err);
        doc = json_loads(r.out, 0, &err);
        if (!json_is_object(doc))
                fail_msg("ofsted-notifyctl %s: not a JSON object (%s): %s", a0,
                         err.text, r.out);
        proc_result_free(&r);
        return doc;
}

/*
 * Runs python3 with an inline script and its arguments; wants exit 0 and
 * a JSON object on stdout. New reference.
 */
static json_t *
python_json(const char *code, const char *a1, const char *a2)
{
        char *argv[] = { SMTPSINK_PYTHON, "-c",       (char *)code,
                         (char *)a1,      (char *)a2, NULL };
        struct proc_result r;
        json_error_t err;
        json_t *doc;

        assert_int_equal(proc_run(argv, NULL, &r), 0);
        if (r.status != 0)
                fail_msg("python3 %s %s: exit %d; stderr: %s", a1, a2, r.status,
                         r.err);
        doc = json_loads(r.out, 0, &err);
        if (!json_is_object(doc))
                fail_msg("python3 %s %s: not a JSON object (%s): %s", a1, a2,
                         err.text, r.out);
        proc_result_free(&r);
        return doc;
}

/* Sets the sink's script, atomically (it reads it at every DATA). */
static void
sink_script(struct fx *f, const char *script)
{
        spill(f->script, script != NULL ? script : "# accept all\n");
}

/* Starts the sink with o's arguments and reads its port. */
static void
sink_start(struct fx *f, const struct opts *o)
{
        char *argv[24] = { SMTPSINK_PYTHON, SMTPSINK_SCRIPT, "--port-file",
                           f->portfile,     "--spool",       f->spool,
                           "--script",      f->script };
        long long until = mono_ms() + START_MS;
        int n = 8;

        sink_script(f, o->script);
        if (o->sink_tls) {
                argv[n++] = "--tls-cert";
                argv[n++] = server_pem;
                argv[n++] = "--tls-key";
                argv[n++] = server_key;
        }
        for (size_t i = 0; i < 6 && o->sink_args[i] != NULL; i++)
                argv[n++] = (char *)o->sink_args[i];
        argv[n] = NULL;
        assert_int_equal(proc_start(argv, NULL, f->sinkerr, &f->sink), 0);
        for (;;) {
                char *text = slurp(f->portfile);

                /* Renamed into place: whole, with its newline, or absent. */
                if (text[0] != '\0') {
                        f->port = atoi(text);
                        free(text);
                        assert_true(f->port > 0 && f->port < 65536);
                        return;
                }
                free(text);
                if (!proc_alive(f->sink) || mono_ms() > until)
                        fail_msg("smtpsink exited or wrote no port within %d "
                                 "ms",
                                 START_MS);
                sleep_ms(20);
        }
}

/*
 * Starts the daemon and waits until it answers `status`. No NOTIFY_SOCKET:
 * nobody here reads it.
 */
static void
daemon_start(struct fx *f)
{
        char *argv[] = { DAEMON_BINARY, "-c", f->conf, NULL };
        char *const env[] = { f->env_state,
                              f->env_run,
                              "NOTIFY_SOCKET",
                              "WATCHDOG_USEC",
                              "WATCHDOG_PID",
                              "JOURNAL_STREAM",
                              NULL };
        long long until = mono_ms() + START_MS;

        assert_int_equal(proc_start(argv, env, f->dlog, &f->daemon), 0);
        for (;;) {
                struct proc_result r =
                    ctl(f, "status", "--timeout", "1", "--json", NULL);
                int status = r.status;

                proc_result_free(&r);
                if (status == 0)
                        return;
                if (!proc_alive(f->daemon) || mono_ms() > until)
                        fail_msg("ofsted-notifyd exited or did not answer "
                                 "within %d ms",
                                 START_MS);
                sleep_ms(50);
        }
}

/* `status --json` until workers.email is at least `want`. */
static void
wait_workers(struct fx *f, json_int_t want)
{
        long long until = mono_ms() + START_MS;
        json_int_t got;

        for (;;) {
                json_t *st = ctl_json(f, "status", "--json", NULL);

                got = jint(jobj(st, "workers"), "email");
                json_decref(st);
                if (got >= want)
                        return;
                if (!proc_alive(f->worker) || mono_ms() > until)
                        fail_msg("the daemon counts %lld email workers, not "
                                 "%lld, after %d ms",
                                 (long long)got, (long long)want, START_MS);
                sleep_ms(100);
        }
}

/*
 * Starts an email worker (its log appended to f->wlog), --timeout 3: below
 * the lease, above what a loopback relay needs. CREDENTIALS_DIRECTORY is
 * as f->env_creds says.
 */
static void
worker_start(struct fx *f)
{
        char *argv[] = { WORKER_BINARY, "--kind",    "email", "-c",
                         f->conf,       "--timeout", "3",     NULL };
        char *const env[] = { f->env_state,     f->env_run,   "NOTIFY_SOCKET",
                              "JOURNAL_STREAM", f->env_creds, NULL };

        assert_int_equal(f->worker, -1);
        assert_int_equal(proc_start(argv, env, f->wlog, &f->worker), 0);
}

/* The sink, the config, the daemon and a worker the daemon counts. */
static void
start_all(struct fx *f, const struct opts *o)
{
        sink_start(f, o);
        write_conf(f, o);
        daemon_start(f);
        worker_start(f);
        wait_workers(f, 1);
}

/* Stops everything with SIGTERM and wants each to exit 0 (under the
 * sanitizers that means no leak either). */
static void
stop_all(struct fx *f)
{
        if (f->worker > 0)
                assert_int_equal(proc_stop(f->worker, SIGTERM), 0);
        f->worker = -1;
        if (f->daemon > 0)
                assert_int_equal(proc_stop(f->daemon, SIGTERM), 0);
        f->daemon = -1;
        if (f->sink > 0)
                assert_int_equal(proc_stop(f->sink, SIGTERM), 0);
        f->sink = -1;
}

/*
 * Opens a case for URN with the contact (no rule starts on a
 * notification here) and records event `kind` at `at`, which schedules
 * one alert. Returns the case number.
 */
static json_int_t
record(struct fx *f, const char *kind, const char *at)
{
        json_t *r = ctl_json(f, "notify", "--school", URN, "--at", at,
                             "--contact", CONTACT, "--json", NULL);
        json_int_t id;

        assert_string_equal(jstr(r, "state"), "open");
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 0);
        id = jint(r, "case");
        json_decref(r);
        r = ctl_json(f, "event", kind, "--school", URN, "--at", at, "--json",
                     NULL);
        assert_true(jint(r, "case") == id);
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 1);
        json_decref(r);
        return id;
}

/*
 * The deadline of rule `kind` for an event at `at`: counted here, and the
 * planner must agree.
 */
static time_t
due_of(struct fx *f, const char *kind, time_t at)
{
        char text[32];
        time_t due = deadline_after(at, WORKING_DAYS, DUE_HOUR);
        json_t *p, *d;

        utc_text(at, text);
        p = ctl_json(f, "plan", "--event", kind, "--at", text, "--json", NULL);
        assert_int_equal(json_array_size(jarr(p, "deadlines")), 1);
        d = json_array_get(jarr(p, "deadlines"), 0);
        assert_string_equal(jstr(d, "rule"), kind);
        if (rfc3339(jstr(d, "due")) != (int64_t)due)
                fail_msg("the planner's due %s is not the %d working days "
                         "at %02d:00 counted here (%lld)",
                         jstr(d, "due"), WORKING_DAYS, DUE_HOUR,
                         (long long)due);
        json_decref(p);
        return due;
}

/* --- What the daemon says ---------------------------------------------- */

/* The one delivery in history, which must be of channel heads for URN. */
static json_t *
the_delivery(struct fx *f)
{
        json_t *h = ctl_json(f, "history", "--json", NULL), *d;

        if (json_array_size(jarr(h, "deliveries")) != 1)
                fail_msg("%zu deliveries in history, want 1",
                         json_array_size(jarr(h, "deliveries")));
        d = json_incref(json_array_get(jarr(h, "deliveries"), 0));
        json_decref(h);
        assert_string_equal(jstr(d, "channel"), "heads");
        assert_string_equal(jstr(d, "type"), "email");
        assert_string_equal(jstr(d, "school"), URN);
        return d;
}

/*
 * Polls `status --json` until `delivered` deliveries are delivered and
 * `failed` failed, none pending, sending or waiting to retry; fails after
 * timeout_ms.
 */
static void
wait_settled(struct fx *f, json_int_t delivered, json_int_t failed,
             int timeout_ms)
{
        static const char *const busy[] = { "pending", "sending", "retry" };
        long long until = mono_ms() + timeout_ms;

        for (;;) {
                json_t *st = ctl_json(f, "status", "--json", NULL);
                json_t *d = jobj(st, "deliveries");
                json_int_t dl = jint(d, "delivered"), fl = jint(d, "failed");
                json_int_t other = 0;
                char *text;

                for (size_t i = 0; i < 3; i++)
                        other += jint(d, busy[i]);
                if (dl == delivered && fl == failed && other == 0) {
                        json_decref(st);
                        return;
                }
                if (dl > delivered || fl > failed || mono_ms() > until) {
                        text = json_dumps(d, JSON_COMPACT);
                        fail_msg("deliveries %s, want %lld delivered and %lld "
                                 "failed (waited at most %d ms)",
                                 text, (long long)delivered, (long long)failed,
                                 timeout_ms);
                }
                json_decref(st);
                sleep_ms(200);
        }
}

/* --- What the sink got ------------------------------------------------- */

static void
spool_path(struct fx *f, int seq, const char *ext, char *out, size_t len)
{
        snprintf(out, len, "%s/%d.%s", f->spool, seq, ext);
}

/* How many messages the spool holds (<seq>.json, written last). */
static int
spool_count(struct fx *f)
{
        char path[256];
        int n = 0;

        for (int seq = 1; seq < 100; seq++) {
                spool_path(f, seq, "json", path, sizeof(path));
                n += access(path, F_OK) == 0;
        }
        return n;
}

/* The envelope record of message `seq`. New reference. */
static json_t *
spool_record(struct fx *f, int seq)
{
        char path[256];
        json_error_t err;
        json_t *rec;

        spool_path(f, seq, "json", path, sizeof(path));
        rec = json_load_file(path, 0, &err);
        if (!json_is_object(rec))
                fail_msg("%s: %s", path, err.text);
        return rec;
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
 * Python: argv[1] "eml" parses a message with the standard library's
 * email package (RFC 2047 decoding and MIME included) and the .ics part
 * with icalendar; "ics" parses an iCalendar file. Prints JSON. Each part
 * has its decoded text (or events), and its body as sent ("raw").
 */
static const char PY_PARSE[] =
    "import json, sys\n"
    "try:\n"
    "    import icalendar\n"
    "except ImportError:\n"
    "    sys.path.append('/usr/lib/python3/dist-packages')\n"
    "    import icalendar\n"
    "from email import policy\n"
    "from email.parser import BytesParser\n"
    "\n"
    "def events(data):\n"
    "    out = []\n"
    "    for ev in icalendar.Calendar.from_ical(data).walk('VEVENT'):\n"
    "        start, end = ev.decoded('DTSTART'), ev.decoded('DTEND')\n"
    "        out.append({'uid': str(ev.get('UID')),\n"
    "                    'summary': str(ev.get('SUMMARY')),\n"
    "                    'aware': start.tzinfo is not None\n"
    "                             and end.tzinfo is not None,\n"
    "                    'dtstart': int(start.timestamp()),\n"
    "                    'dtend': int(end.timestamp())})\n"
    "    return out\n"
    "\n"
    "mode, path = sys.argv[1], sys.argv[2]\n"
    "with open(path, 'rb') as f:\n"
    "    data = f.read()\n"
    "if mode == 'ics':\n"
    "    print(json.dumps({'events': events(data)}))\n"
    "    sys.exit(0)\n"
    "msg = BytesParser(policy=policy.default).parsebytes(data)\n"
    "doc = {'subject': str(msg['Subject']), 'type': msg.get_content_type(),\n"
    "       'defects': [str(d) for d in msg.defects], 'parts': []}\n"
    "for part in msg.walk():\n"
    "    if part.is_multipart():\n"
    "        continue\n"
    "    p = {'type': part.get_content_type(),\n"
    "         'filename': part.get_filename(),\n"
    "         'charset': part.get_content_charset(),\n"
    "         'cte': part.get('Content-Transfer-Encoding'),\n"
    "         'raw': part.get_payload(),\n"
    "         'defects': [str(d) for d in part.defects]}\n"
    "    if p['type'] == 'text/calendar':\n"
    "        p['events'] = events(part.get_payload(decode=True))\n"
    "    else:\n"
    "        p['text'] = part.get_content()\n"
    "    doc['parts'].append(p)\n"
    "print(json.dumps(doc))\n";

/* Message `seq` parsed by python3 (see PY_PARSE). New reference. */
static json_t *
python_message(struct fx *f, int seq)
{
        char path[256];

        spool_path(f, seq, "eml", path, sizeof(path));
        return python_json(PY_PARSE, "eml", path);
}

/* The part of type `type` in a python_message() (exactly one). */
static json_t *
part_of(json_t *msg, const char *type)
{
        json_t *p, *found = NULL;
        size_t i;

        json_array_foreach(jarr(msg, "parts"), i, p)
        {
                if (strcmp(jstr(p, "type"), type) != 0)
                        continue;
                if (found != NULL)
                        fail_msg("two %s parts", type);
                found = p;
        }
        if (found == NULL)
                fail_msg("no %s part", type);
        return found;
}

/*
 * The one VEVENT of `events`: UID "<case>-<rule>@FROM_HOST", DTEND the
 * deadline `due` in UTC, DTSTART the half hour before (a deadline without
 * a window), the school's name in SUMMARY.
 */
static void
check_event(json_t *events, json_int_t id, const char *rule, time_t due)
{
        json_t *ev;
        char uid[128];

        if (json_array_size(events) != 1)
                fail_msg("%zu VEVENTs, want 1", json_array_size(events));
        ev = json_array_get(events, 0);
        snprintf(uid, sizeof(uid), "%lld-%s@%s", (long long)id, rule,
                 FROM_HOST);
        assert_string_equal(jstr(ev, "uid"), uid);
        assert_true(json_is_true(member(ev, "aware")));
        if (jint(ev, "dtend") != (json_int_t)due)
                fail_msg("DTEND is %lld, want the deadline %lld",
                         (long long)jint(ev, "dtend"), (long long)due);
        assert_true(jint(ev, "dtstart") == (json_int_t)due - ICS_HALF_HOUR);
        assert_contains(jstr(ev, "summary"), SCHOOL);
}

/* --- Fixture ----------------------------------------------------------- */

static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
        (void)sb;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static void
make_tmpdir(char *dir, size_t len, const char *name)
{
        const char *tmp = getenv("TMPDIR");

        /* ipc and AF_UNIX paths must stay short. */
        if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 60)
                tmp = "/tmp";
        snprintf(dir, len, "%s/%s.XXXXXX", tmp, name);
        if (mkdtemp(dir) == NULL)
                dir[0] = '\0';
}

static int group_teardown(void **state);

/* The holidays and the certificates; cleans up itself when it fails, as
 * cmocka then skips the group teardown. */
static int
group_setup(void **state)
{
        char *argv[] = { SMTPSINK_PYTHON, SMTPSINK_SCRIPT, "--make-cert",
                         certdir, NULL };
        struct proc_result r;

        if (sodium_init() < 0)
                return -1;
        holidays = load_holidays();
        if (holidays == NULL)
                return -1;
        make_tmpdir(certdir, sizeof(certdir), "test_email_certs");
        if (certdir[0] == '\0')
                goto fail;
        snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", certdir);
        snprintf(server_pem, sizeof(server_pem), "%s/server.pem", certdir);
        snprintf(server_key, sizeof(server_key), "%s/server.key", certdir);
        if (proc_run(argv, NULL, &r) != 0)
                goto fail;
        if (r.status != 0)
                fprintf(stderr, "smtpsink --make-cert failed: %s\n", r.err);
        proc_result_free(&r);
        if (access(ca_pem, R_OK) != 0 || access(server_pem, R_OK) != 0 ||
            access(server_key, R_OK) != 0)
                goto fail;
        return 0;
fail:
        group_teardown(state);
        return -1;
}

static int
group_teardown(void **state)
{
        (void)state;
        if (certdir[0] != '\0')
                nftw(certdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        certdir[0] = '\0';
        json_decref(holidays);
        holidays = NULL;
        return 0;
}

/* The fixture's paths and directories under f->dir; 0 or -1. */
static int
make_dirs(struct fx *f)
{
        char sub[192];

        make_tmpdir(f->dir, sizeof(f->dir), "test_email");
        if (f->dir[0] == '\0')
                return -1;
        snprintf(f->conf, sizeof(f->conf), "%s/email.conf", f->dir);
        snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
        snprintf(f->script, sizeof(f->script), "%s/sink.script", f->dir);
        snprintf(f->portfile, sizeof(f->portfile), "%s/sink.port", f->dir);
        snprintf(f->sinkerr, sizeof(f->sinkerr), "%s/sink.log", f->dir);
        snprintf(f->dlog, sizeof(f->dlog), "%s/daemon.log", f->dir);
        snprintf(f->wlog, sizeof(f->wlog), "%s/worker.log", f->dir);
        /* Named relative in the config: next to it. */
        snprintf(f->pwfile, sizeof(f->pwfile), "%s/smtp-password", f->dir);
        snprintf(f->tokenfile, sizeof(f->tokenfile), "%s/smtp-token", f->dir);
        snprintf(f->out, sizeof(f->out), "%s/calendar.ics", f->dir);
        snprintf(f->creds, sizeof(f->creds), "%s/creds", f->dir);
        /* Unset, unless a test gives the worker f->creds. */
        snprintf(f->env_creds, sizeof(f->env_creds), "CREDENTIALS_DIRECTORY");
        snprintf(f->env_state, sizeof(f->env_state), "STATE_DIRECTORY=%s/state",
                 f->dir);
        snprintf(f->env_run, sizeof(f->env_run), "RUNTIME_DIRECTORY=%s/run",
                 f->dir);
        if (mkdir(f->spool, 0700) < 0)
                return -1;
        snprintf(sub, sizeof(sub), "%s/state", f->dir);
        if (mkdir(sub, 0700) < 0)
                return -1;
        snprintf(sub, sizeof(sub), "%s/run", f->dir);
        return mkdir(sub, 0700);
}

/* cmocka skips the teardown of a failed setup: this cleans up itself. */
static int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));

        if (f == NULL)
                return -1;
        f->sink = f->daemon = f->worker = -1;
        if (make_dirs(f) < 0) {
                if (f->dir[0] != '\0')
                        nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

/* Prints a log file, its last `max` bytes. */
static void
show_log(const char *path, size_t max)
{
        char *text = slurp(path);
        size_t n = strlen(text);

        fprintf(stderr, "--- %s%s ---\n%s--- end ---\n", path,
                n > max ? " (the end)" : "", n > max ? text + n - max : text);
        free(text);
}

/* Kills what still runs; shows the logs when the test failed. */
static int
teardown(void **state)
{
        struct fx *f = *state;

        if (f->worker > 0)
                proc_stop(f->worker, SIGKILL);
        if (f->daemon > 0)
                proc_stop(f->daemon, SIGKILL);
        if (f->sink > 0)
                proc_stop(f->sink, SIGKILL);
        if (!f->passed && f->dir[0] != '\0') {
                show_log(f->conf, 8192);
                show_log(f->dlog, 16384);
                show_log(f->wlog, 16384);
                show_log(f->sinkerr, 8192);
        }
        if (f->dir[0] != '\0')
                nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

/* --- The tests --------------------------------------------------------- */

/*
 * Records a drill now and waits for its one delivery to settle as
 * `status`. Returns the history entry (new reference); *at gets the
 * event's time, *id its case.
 */
static json_t *
drill(struct fx *f, const char *status, time_t *at, json_int_t *id)
{
        char text[32];
        json_t *d;

        *at = time(NULL);
        utc_text(*at, text);
        *id = record(f, "drill", text);
        wait_settled(f, strcmp(status, "delivered") == 0,
                     strcmp(status, "failed") == 0, WAIT_MS);
        d = the_delivery(f);
        assert_string_equal(jstr(d, "status"), status);
        return d;
}

/* The Message-ID every copy of delivery `id` must carry. */
static void
message_id(const char *id, char *out, size_t len)
{
        snprintf(out, len, "<%s@%s>", id, FROM_HOST);
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
                char *log = slurp(f->dlog);

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
        stop_all(f);
        f->passed = true;
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
        stop_all(f);
        f->passed = true;
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
        stop_all(f);
        f->passed = true;
}

/* Waits at most WAIT_MS for `text` in the log file `path`. */
static void
wait_log(const char *path, const char *text)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                char *log = slurp(path);
                bool seen = strstr(log, text) != NULL;

                free(log);
                if (seen)
                        return;
                if (mono_ms() > until)
                        fail_msg("no '%s' in %s after %d ms", text, path,
                                 WAIT_MS);
                sleep_ms(10);
        }
}

/*
 * Polls history until a delivery other than `skip` has a last_error;
 * returns it (new reference). Fails after WAIT_MS.
 */
static json_t *
wait_error(struct fx *f, const char *skip)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *h = ctl_json(f, "history", "--json", NULL), *d;
                size_t i;

                json_array_foreach(jarr(h, "deliveries"), i, d)
                {
                        if (strcmp(jstr(d, "id"), skip) != 0 &&
                            json_is_string(member(d, "last_error"))) {
                                json_incref(d);
                                json_decref(h);
                                return d;
                        }
                }
                json_decref(h);
                if (mono_ms() > until)
                        fail_msg("no delivery but %s has an error after %d ms",
                                 skip, WAIT_MS);
                sleep_ms(200);
        }
}

/*
 * tls = "starttls": delivered over TLS, verified against ca_file. Without
 * ca_file (the system's CAs, which do not know the test CA) the relay's
 * certificate is refused: the delivery waits to be retried, nothing is
 * sent, least of all in clear text.
 */
static void
test_starttls(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "starttls", .sink_tls = true };
        json_t *d, *rec, *e;
        char at[32];
        time_t t;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &t, &id);
        assert_int_equal(spool_count(f), 1);
        rec = spool_record(f, 1);
        assert_true(json_is_true(member(rec, "tls")));
        assert_contains(jstr(rec, "tls_version"), "TLS");
        json_decref(rec);

        o.no_ca = true;
        write_conf(f, &o);
        assert_int_equal(kill(f->worker, SIGHUP), 0);
        wait_log(f->wlog, "configuration reloaded");
        utc_text(time(NULL), at);
        json_decref(ctl_json(f, "event", "drill", "--school", URN, "--at", at,
                             "--json", NULL));
        e = wait_error(f, jstr(d, "id"));
        assert_string_not_equal(jstr(e, "status"), "delivered");
        assert_string_not_equal(jstr(e, "status"), "failed");
        assert_contains(jstr(e, "last_error"), "certificate");
        assert_int_equal(spool_count(f), 1);
        json_decref(e);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * A reload from tls = "none" to "starttls" (SIGHUP to the worker): the
 * next message goes over TLS, not over the clear-text connection the
 * worker still holds open to the same relay from before.
 */
static void
test_reload_tls(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .sink_tls = true };
        json_t *d, *rec;
        char at[32];
        time_t t;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &t, &id);
        rec = spool_record(f, 1);
        assert_true(json_is_false(member(rec, "tls")));
        json_decref(rec);

        o.tls = "starttls";
        write_conf(f, &o);
        assert_int_equal(kill(f->worker, SIGHUP), 0);
        wait_log(f->wlog, "configuration reloaded");
        utc_text(time(NULL), at);
        json_decref(ctl_json(f, "event", "drill", "--school", URN, "--at", at,
                             "--json", NULL));
        wait_settled(f, 2, 0, WAIT_MS);
        assert_int_equal(spool_count(f), 2);
        rec = spool_record(f, 2);
        if (!json_is_true(member(rec, "tls")))
                fail_msg("after the reload to tls = \"starttls\" the message "
                         "went in clear text");
        json_decref(rec);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/* tls = "implicit": TLS from the first byte (smtps), verified. */
static void
test_implicit_tls(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "implicit",
                          .sink_tls = true,
                          .sink_args = { "--implicit-tls" } };
        json_t *d, *rec;
        time_t t;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &t, &id);
        assert_int_equal(spool_count(f), 1);
        rec = spool_record(f, 1);
        assert_true(json_is_true(member(rec, "tls")));
        assert_contains(jstr(rec, "tls_version"), "TLS");
        json_decref(rec);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * A relay that does not offer STARTTLS (though it has a certificate):
 * never a fallback to clear text; failed for good at the first attempt,
 * saying why, and nothing reaches the spool.
 */
static void
test_no_starttls(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "starttls",
                          .sink_tls = true,
                          .sink_args = { "--no-starttls" } };
        json_t *d;
        time_t at;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "failed", &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_contains(jstr(d, "last_error"), "STARTTLS");
        assert_int_equal(spool_count(f), 0);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/* username and password_file over STARTTLS: AUTH PLAIN (or LOGIN). */
/*
 * AUTH with the password file, the server offering only `mech` (so the
 * worker cannot pick the other) and checking the user and password.
 */
static void
auth_password(struct fx *f, const char *mech)
{
        struct opts o = {
                .tls = "starttls",
                .sink_tls = true,
                .sink_args = { "--auth-user", SMTP_USER, "--auth-password",
                               SMTP_PASS, "--auth-only", mech },
                .email_extra = "username = \"" SMTP_USER "\";\n"
                               "  password_file = \"smtp-password\";",
        };
        json_t *d, *rec;
        time_t at;
        json_int_t id;

        spill(f->pwfile, SMTP_PASS "\n");
        assert_int_equal(chmod(f->pwfile, 0600), 0);
        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        rec = spool_record(f, 1);
        assert_string_equal(jstr(rec, "auth_mechanism"), mech);
        assert_string_equal(jstr(rec, "auth_user"), SMTP_USER);
        assert_true(json_is_true(member(rec, "tls")));
        json_decref(rec);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

static void
test_auth_plain(void **state)
{
        auth_password(*state, "PLAIN");
}

static void
test_auth_login(void **state)
{
        auth_password(*state, "LOGIN");
}

/* A wrong password: refused with 535, failed for good, nothing sent. */
static void
test_auth_wrong_password(void **state)
{
        struct fx *f = *state;
        struct opts o = {
                .tls = "starttls",
                .sink_tls = true,
                .sink_args = { "--auth-user", SMTP_USER, "--auth-password",
                               SMTP_PASS },
                .email_extra = "username = \"" SMTP_USER "\";\n"
                               "  password_file = \"smtp-password\";",
        };
        json_t *d;
        time_t at;
        json_int_t id;

        spill(f->pwfile, "not the password\n");
        assert_int_equal(chmod(f->pwfile, 0600), 0);
        start_all(f, &o);
        d = drill(f, "failed", &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_contains(jstr(d, "last_error"), "authentication");
        assert_int_equal(spool_count(f), 0);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * The password as systemd hands it over: the config names
 * "secrets/smtp-password", the unit has
 * LoadCredential=secrets:/etc/ofsted-notify/secrets, so the worker finds
 * it as secrets_smtp-password (mode 0400) in $CREDENTIALS_DIRECTORY, a
 * directory of its own. `pass` goes there; next to the config is either
 * nothing or, with `decoy`, the other password: the credential wins.
 */
static void
auth_credentials(struct fx *f, const char *pass, const char *decoy,
                 const char *status)
{
        struct opts o = {
                .tls = "starttls",
                .sink_tls = true,
                .sink_args = { "--auth-user", SMTP_USER, "--auth-password",
                               SMTP_PASS },
                .email_extra = "username = \"" SMTP_USER "\";\n"
                               "  password_file = \"secrets/smtp-password\";",
        };
        char path[256], *log;
        json_t *d;
        time_t at;
        json_int_t id;

        assert_int_equal(mkdir(f->creds, 0700), 0);
        snprintf(path, sizeof(path), "%s/secrets_smtp-password", f->creds);
        spill(path, pass);
        assert_int_equal(chmod(path, 0400), 0);
        snprintf(path, sizeof(path), "%s/secrets", f->dir);
        if (decoy != NULL) {
                assert_int_equal(mkdir(path, 0700), 0);
                snprintf(path, sizeof(path), "%s/secrets/smtp-password",
                         f->dir);
                spill(path, decoy);
                assert_int_equal(chmod(path, 0600), 0);
        } else {
                assert_int_equal(access(path, F_OK), -1);
        }
        snprintf(f->env_creds, sizeof(f->env_creds), "CREDENTIALS_DIRECTORY=%s",
                 f->creds);
        start_all(f, &o);
        d = drill(f, status, &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        if (strcmp(status, "delivered") == 0) {
                json_t *rec = spool_record(f, 1);

                assert_string_equal(jstr(rec, "auth_user"), SMTP_USER);
                assert_true(json_is_string(member(rec, "auth_mechanism")));
                json_decref(rec);
        } else {
                assert_contains(jstr(d, "last_error"), "authentication");
                assert_int_equal(spool_count(f), 0);
        }
        json_decref(d);
        stop_all(f);
        /* Neither password reached the log. */
        log = slurp(f->wlog);
        if (strstr(log, SMTP_PASS) != NULL ||
            strstr(log, "not the password") != NULL)
                fail_msg("a password in the worker's log");
        free(log);
        f->passed = true;
}

static void
test_auth_credentials(void **state)
{
        auth_credentials(*state, SMTP_PASS "\n", NULL, "delivered");
}

/* The wrong password there, the right one next to the config: refused. */
static void
test_auth_credentials_wrong(void **state)
{
        auth_credentials(*state, "not the password\n", SMTP_PASS "\n",
                         "failed");
}

/*
 * bearer_token_file: XOAUTH2, though the relay offers OAUTHBEARER too
 * (which libcurl would otherwise prefer).
 */
static void
test_auth_xoauth2(void **state)
{
        struct fx *f = *state;
        struct opts o = {
                .tls = "starttls",
                .sink_tls = true,
                .sink_args = { "--auth-user", SMTP_USER, "--auth-token",
                               TOKEN },
                .email_extra = "username = \"" SMTP_USER "\";\n"
                               "  bearer_token_file = \"smtp-token\";",
        };
        json_t *d, *rec;
        time_t at;
        json_int_t id;

        spill(f->tokenfile, TOKEN "\n");
        assert_int_equal(chmod(f->tokenfile, 0600), 0);
        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        rec = spool_record(f, 1);
        assert_string_equal(jstr(rec, "auth_mechanism"), "XOAUTH2");
        assert_string_equal(jstr(rec, "auth_user"), SMTP_USER);
        json_decref(rec);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/* 451 to the first DATA, 250 to the next: delivered at attempt 2, once. */
static void
test_data_451(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .script = "data 451,250\n" };
        json_t *d, *rec;
        time_t at;
        json_int_t id;
        char mid[128];

        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        assert_int_equal(jint(d, "attempts"), 2);
        assert_int_equal(spool_count(f), 1);
        rec = spool_record(f, 1);
        message_id(jstr(d, "id"), mid, sizeof(mid));
        assert_string_equal(jstr(rec, "message_id"), mid);
        json_decref(rec);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/* 550 to DATA: failed for good at the first attempt, in history. */
static void
test_data_550(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .script = "data 550\n" };
        json_t *d;
        time_t at;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "failed", &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_contains(jstr(d, "last_error"), "550");
        assert_int_equal(spool_count(f), 0);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/* The warning the worker logs when the relay refuses `rcpt` with 550:
 * smtpsink's reply as its usage says it words it. */
static void
refusal_line(const char *delivery, const char *rcpt, char *out, size_t len)
{
        snprintf(out, len,
                 "delivery %s: the relay refused recipient '%s': 550 5.1.1 "
                 "<%s>: Recipient address rejected\n",
                 delivery, rcpt, rcpt);
}

/*
 * One of the channel's two recipients refused at RCPT with 550 (someone
 * who left): the other still gets the alert, delivered at the first
 * attempt, and the worker's log names the refused address with the
 * relay's reply, at warning level.
 */
static void
test_rcpt_refused_one(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .script = "rcpt " RCPT2 " 550\n" };
        json_t *d, *rec, *rcpts;
        char line[512], mid[128], *log;
        time_t at;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_int_equal(spool_count(f), 1);
        rec = spool_record(f, 1);
        rcpts = jarr(rec, "rcpt_tos");
        assert_int_equal(json_array_size(rcpts), 1);
        assert_string_equal(json_string_value(json_array_get(rcpts, 0)), RCPT1);
        message_id(jstr(d, "id"), mid, sizeof(mid));
        assert_string_equal(jstr(rec, "message_id"), mid);

        refusal_line(jstr(d, "id"), RCPT2, line, sizeof(line));
        wait_log(f->wlog, line);
        log = slurp(f->wlog);
        assert_null(strstr(log, "refused recipient '" RCPT1 "'"));
        free(log);
        json_decref(rec);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * Every recipient refused with 550: failed for good at the first attempt
 * (a 5xx is permanent), nothing stored, each refusal in the log.
 */
static void
test_rcpt_refused_all(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none",
                          .script = "rcpt *@school.example 550\n" };
        json_t *d;
        char line[512];
        time_t at;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "failed", &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_contains(jstr(d, "last_error"), "550");
        assert_int_equal(spool_count(f), 0);
        refusal_line(jstr(d, "id"), RCPT1, line, sizeof(line));
        wait_log(f->wlog, line);
        refusal_line(jstr(d, "id"), RCPT2, line, sizeof(line));
        wait_log(f->wlog, line);
        json_decref(d);
        stop_all(f);
        f->passed = true;
}

/*
 * kill -9 of the worker while the relay sits on DATA (it would answer in
 * 8 s): a new worker sends the message again once the daemon gives up on
 * the dead one (silence or lease, 10 s), and it arrives. Should the first
 * DATA have been taken after all, every copy carries the same Message-ID.
 */
static void
test_kill_mid_data(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .script = "hang 8\n" };
        json_t *d, *rec;
        char at[32], mid[128];
        int n;

        start_all(f, &o);
        utc_text(time(NULL), at);
        record(f, "drill", at);
        wait_log(f->sinkerr, "DATA: hanging");
        assert_int_equal(proc_stop(f->worker, SIGKILL), 128 + SIGKILL);
        f->worker = -1;
        sink_script(f, NULL);
        worker_start(f);

        wait_settled(f, 1, 0, WAIT_MS);
        d = the_delivery(f);
        assert_string_equal(jstr(d, "status"), "delivered");
        /* Only the relay's answers count as attempts: the killed worker
         * gave none, the new one's 250 is the one. */
        assert_int_equal(jint(d, "attempts"), 1);
        message_id(jstr(d, "id"), mid, sizeof(mid));
        n = spool_count(f);
        if (n < 1 || n > 2)
                fail_msg("%d messages in the spool, want 1 (or 2)", n);
        if (n == 2)
                fprintf(stderr, "# the first DATA was taken after all: "
                                "two copies\n");
        for (int seq = 1; seq <= n; seq++) {
                rec = spool_record(f, seq);
                assert_string_equal(jstr(rec, "message_id"), mid);
                json_decref(rec);
        }
        json_decref(d);
        stop_all(f);
        f->passed = true;
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
        up = ctl_json(f, "upcoming", "--school", URN, "--json", NULL);
        assert_int_equal(json_array_size(jarr(up, "alerts")), 1);
        json_decref(up);

        r = ctl(f, "ics", "--school", URN, NULL);
        if (r.status != 0)
                fail_msg("ofsted-notifyctl ics: exit %d: %s", r.status, r.err);
        spill(f->out, r.out);
        proc_result_free(&r);
        cal = python_json(PY_PARSE, "ics", f->out);
        check_event(jarr(cal, "events"), id, "drill2", due);
        json_decref(cal);

        r = ctl(f, "ics", "--school", URN2, NULL);
        assert_int_equal(r.status, 0);
        spill(f->out, r.out);
        proc_result_free(&r);
        cal = python_json(PY_PARSE, "ics", f->out);
        assert_int_equal(json_array_size(jarr(cal, "events")), 0);
        json_decref(cal);

        /* Nothing was due: nothing was sent. */
        assert_int_equal(spool_count(f), 0);
        stop_all(f);
        f->passed = true;
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ics_attachment, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_quoted_printable, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_starttls, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reload_tls, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_no_starttls, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_implicit_tls, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_auth_plain, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_auth_login, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_auth_wrong_password, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_auth_credentials, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_auth_credentials_wrong,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_auth_xoauth2, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_data_451, setup, teardown),
                cmocka_unit_test_setup_teardown(test_data_550, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rcpt_refused_one, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_rcpt_refused_all, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_kill_mid_data, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_ctl_ics, setup, teardown),
        };

        /* The test's own local times are the trust's. */
        setenv("TZ", TRUST_TZ, 1);
        tzset();
        signal(SIGPIPE, SIG_IGN);
        /* One CTest per test: the name to run is the argument. */
        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
