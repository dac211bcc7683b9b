/*
 * email: the world of the email tests (test_email_*.c), see email.h.
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

char certdir[128];
char ca_pem[160], server_pem[160], server_key[160];
json_t *holidays;

/* --- The deadline, counted here --------------------------------------- */

/* The england-and-wales dates of the holidays file, as a set. */
json_t *
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
time_t
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
 * The config: the email group for the sink on f->c.smtp_port, one email channel
 * with two recipients, a school with a non-ASCII name and one with none of
 * its own events, the rules `drill` and `drill2`, a subject template whose
 * every value the test knows, and fast leases and retries.
 */
void
write_conf(struct fx *f, const struct opts *o)
{
        struct cluster_conf k = { .trust = TRUST,
                                  .timezone = TRUST_TZ,
                                  .daemon = o->daemon,
                                  .retry_base = RETRY_BASE_S,
                                  .lease = LEASE_S,
                                  .delivery = o->delivery };
        FILE *fp = cluster_conf_begin(&f->c, &k);
        const char *action = o->action != NULL ? o->action : ACTION;
        char ca[200] = "";

        if (!o->no_ca)
                snprintf(ca, sizeof(ca), " ca_file = \"%s\";", ca_pem);
        fprintf(
            fp,
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
            strcmp(o->tls, "implicit") == 0 ? "smtps" : "smtp", f->c.smtp_port,
            o->tls, FROM, ca, o->email_extra != NULL ? o->email_extra : "",
            o->templates != NULL ? o->templates : "title = \"" TITLE "\";",
            RCPT1, RCPT2, URN, SCHOOL, URN2, action, WORKING_DAYS, DUE_HOUR,
            action, WORKING_DAYS, DUE_HOUR);
        if (o->base_url != NULL)
                fprintf(fp, "web = { base_url = \"%s\"; };\n", o->base_url);
        cluster_conf_end(fp);
}

/*
 * Runs python3 with an inline script and its arguments; wants exit 0 and
 * a JSON object on stdout. New reference.
 */
json_t *
python_json(const char *code, const char *a1, const char *a2)
{
        char *argv[] = { SMTPSINK_PYTHON, "-c",       (char *)code,
                         (char *)a1,      (char *)a2, NULL };
        struct proc_result r;
        json_t *doc;

        assert_int_equal(proc_run(argv, NULL, &r), 0);
        if (r.status != 0)
                fail_msg("python3 %s %s: exit %d; stderr: %s", a1, a2, r.status,
                         r.err);
        doc = jparse(r.out, a1);
        proc_result_free(&r);
        return doc;
}

/* Sets the sink's script, atomically (it reads it at every DATA). */
void
sink_script(struct fx *f, const char *script)
{
        spill(f->c.smtpscript, script != NULL ? script : "# accept all\n");
}

/* Starts the sink with o's arguments and reads its port. */
void
sink_start(struct fx *f, const struct opts *o)
{
        const char *args[12] = { NULL };
        int n = 0;

        if (o->sink_tls) {
                args[n++] = "--tls-cert";
                args[n++] = server_pem;
                args[n++] = "--tls-key";
                args[n++] = server_key;
        }
        for (size_t i = 0; i < 6 && o->sink_args[i] != NULL; i++)
                args[n++] = o->sink_args[i];
        if (cluster_smtpsink_start(&f->c, o->script, args) < 0)
                fail_msg("smtpsink exited or wrote no port within %d ms",
                         START_MS);
}

/*
 * Starts an email worker (its log appended to f->c.wlog[0]), --timeout 3: below
 * the lease, above what a loopback relay needs. CREDENTIALS_DIRECTORY is
 * as f->c.env_creds says.
 */
void
worker_start(struct fx *f)
{
        static const char *const args[] = { "--timeout", "3", NULL };

        cluster_worker_start(&f->c, 0, "email", NULL, args);
}

/* The sink, the config, the daemon and a worker the daemon counts. */
void
start_all(struct fx *f, const struct opts *o)
{
        sink_start(f, o);
        write_conf(f, o);
        cluster_daemon_start(&f->c, NULL);
        worker_start(f);
        cluster_wait_workers(&f->c, "email", 1);
}

/*
 * Opens a case for URN with the contact (no rule starts on a
 * notification here) and records event `kind` at `at`, which schedules
 * one alert. Returns the case number.
 */
json_int_t
record(struct fx *f, const char *kind, const char *at)
{
        json_t *r = cluster_ctl_json(&f->c, "notify", "--school", URN, "--at",
                                     at, "--contact", CONTACT, "--json", NULL);
        json_int_t id;

        assert_string_equal(jstr(r, "state"), "open");
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 0);
        id = jint(r, "case");
        json_decref(r);
        r = cluster_ctl_json(&f->c, "event", kind, "--school", URN, "--at", at,
                             "--json", NULL);
        assert_true(jint(r, "case") == id);
        assert_int_equal(json_array_size(jarr(r, "scheduled")), 1);
        json_decref(r);
        return id;
}

/*
 * The deadline of rule `kind` for an event at `at`: counted here, and the
 * planner must agree.
 */
time_t
due_of(struct fx *f, const char *kind, time_t at)
{
        char text[32];
        time_t due = deadline_after(at, WORKING_DAYS, DUE_HOUR);
        json_t *p, *d;

        utc_text(at, text);
        p = cluster_ctl_json(&f->c, "plan", "--event", kind, "--at", text,
                             "--json", NULL);
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
json_t *
the_delivery(struct fx *f)
{
        json_t *h = cluster_ctl_json(&f->c, "history", "--json", NULL), *d;

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

/* --- What the sink got ------------------------------------------------- */

void
spool_path(struct fx *f, int seq, const char *ext, char *out, size_t len)
{
        snprintf(out, len, "%s/%d.%s", f->c.spool, seq, ext);
}

/* How many messages the spool holds (<seq>.json, written last). */
int
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
json_t *
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

/*
 * Python: argv[1] "eml" parses a message with the standard library's
 * email package (RFC 2047 decoding and MIME included) and the .ics part
 * with icalendar; "ics" parses an iCalendar file. Prints JSON. Each part
 * has its decoded text (or events), and its body as sent ("raw").
 */
const char PY_PARSE[] =
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
json_t *
python_message(struct fx *f, int seq)
{
        char path[256];

        spool_path(f, seq, "eml", path, sizeof(path));
        return python_json(PY_PARSE, "eml", path);
}

/* The part of type `type` in a python_message() (exactly one). */
json_t *
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
void
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

/* The holidays and the certificates; cleans up itself when it fails, as
 * cmocka then skips the group teardown. */
int
group_setup(void **state)
{
        char *argv[] = { SMTPSINK_PYTHON, SMTPSINK_SCRIPT, "--make-cert",
                         certdir, NULL };
        struct proc_result r;

        /* The test's own local times are the trust's. */
        setenv("TZ", TRUST_TZ, 1);
        tzset();
        signal(SIGPIPE, SIG_IGN);
        if (sodium_init() < 0)
                return -1;
        holidays = load_holidays();
        if (holidays == NULL)
                return -1;
        if (itest_mkdtemp(certdir, sizeof(certdir), "test_email_certs") < 0)
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

int
group_teardown(void **state)
{
        (void)state;
        itest_rmtree(certdir);
        certdir[0] = '\0';
        json_decref(holidays);
        holidays = NULL;
        return 0;
}

/* cmocka skips the teardown of a failed setup: this cleans up itself. */
int
setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));

        if (f == NULL || cluster_init(&f->c, "test_email") < 0) {
                free(f);
                return -1;
        }
        /* Named relative in the config: next to it. */
        snprintf(f->pwfile, sizeof(f->pwfile), "%s/smtp-password", f->c.dir);
        snprintf(f->tokenfile, sizeof(f->tokenfile), "%s/smtp-token", f->c.dir);
        snprintf(f->out, sizeof(f->out), "%s/calendar.ics", f->c.dir);
        snprintf(f->creds, sizeof(f->creds), "%s/creds", f->c.dir);
        *state = f;
        return 0;
}

/* Kills what still runs; shows the logs when the test failed. */
int
teardown(void **state)
{
        return cluster_teardown(state);
}

/* --- The tests --------------------------------------------------------- */

/*
 * Records a drill now and waits for its one delivery to settle as
 * `status`. Returns the history entry (new reference); *at gets the
 * event's time, *id its case.
 */
json_t *
drill(struct fx *f, const char *status, time_t *at, json_int_t *id)
{
        char text[32];
        json_t *d;

        *at = time(NULL);
        utc_text(*at, text);
        *id = record(f, "drill", text);
        cluster_wait_settled(&f->c, strcmp(status, "delivered") == 0,
                             strcmp(status, "failed") == 0, WAIT_MS);
        d = the_delivery(f);
        assert_string_equal(jstr(d, "status"), status);
        return d;
}

json_t *
drill_failed_at_once(struct fx *f, const char *why)
{
        time_t at;
        json_int_t id;
        json_t *d = drill(f, "failed", &at, &id);

        assert_int_equal(jint(d, "attempts"), 1);
        assert_contains(jstr(d, "last_error"), why);
        assert_int_equal(spool_count(f), 0);
        return d;
}

void
test_heads_delivered(struct fx *f, const char *want)
{
        struct proc_result r =
            cluster_ctl(&f->c, "test", "heads", "--timeout", "20", NULL);

        assert_int_equal(r.status, 0);
        assert_contains(r.out, want);
        proc_result_free(&r);
}

/* The Message-ID every copy of delivery `id` must carry. */
void
message_id(const char *id, char *out, size_t len)
{
        snprintf(out, len, "<%s@%s>", id, FROM_HOST);
}
