/*
 * email: the world the email tests (test_email_*.c) share.
 *
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
#ifndef ONOTIFY_TEST_EMAIL_H
#define ONOTIFY_TEST_EMAIL_H

#include "cluster.h"

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#define HOLIDAYS CLUSTER_HOLIDAYS
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

/* The test CA and server certificate, made once for the whole run (by
 * group_setup). */
extern char certdir[128];
extern char ca_pem[160], server_pem[160], server_key[160];
/* The England and Wales bank holidays, "YYYY-MM-DD" -> true. */
extern json_t *holidays;

/*
 * One test's world: the cluster (a directory, smtpsink, a daemon, email
 * worker 0, CREDENTIALS_DIRECTORY as c.env_creds says) and the files a
 * test may write beside the config.
 */
struct fx {
        struct cluster c;
        char pwfile[192], tokenfile[192], out[192];
        char creds[192]; /* a credentials directory, as systemd makes */
};
/* c first: teardown() is cluster_teardown(), which frees f as its c. */
_Static_assert(offsetof(struct fx, c) == 0, "struct fx starts with c");

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
        const char *daemon;       /* more settings for the daemon group */
        const char *delivery;     /* more settings for the delivery group */
        const char *base_url;     /* web.base_url; NULL: no web group */
};

/* --- The deadline, counted here --------------------------------------- */

/* The england-and-wales dates of the holidays file, as a set. */
json_t *load_holidays(void);

/*
 * A `working_days = n; time = "HH:00"` deadline for an event at `at`, as
 * the README defines it: the nth weekday that is not an England and Wales
 * bank holiday strictly after the event's local day, at that local time.
 * The test runs with TZ set to the trust's zone.
 */
time_t deadline_after(time_t at, int n, int hour);

/* --- JSON -------------------------------------------------------------- */

/* --- Config -------------------------------------------------------------- */

/*
 * The config: the email group for the sink on f->c.smtp_port, one email channel
 * with two recipients, a school with a non-ASCII name and one with none of
 * its own events, the rules `drill` and `drill2`, a subject template whose
 * every value the test knows, and fast leases and retries.
 */
void write_conf(struct fx *f, const struct opts *o);

/*
 * Runs python3 with an inline script and its arguments; wants exit 0 and
 * a JSON object on stdout. New reference.
 */
json_t *python_json(const char *code, const char *a1, const char *a2);

/* Sets the sink's script, atomically (it reads it at every DATA). */
void sink_script(struct fx *f, const char *script);

/* Starts the sink with o's arguments and reads its port. */
void sink_start(struct fx *f, const struct opts *o);

/*
 * Starts an email worker (its log appended to f->c.wlog[0]), --timeout 3: below
 * the lease, above what a loopback relay needs. CREDENTIALS_DIRECTORY is
 * as f->c.env_creds says.
 */
void worker_start(struct fx *f);

/* The sink, the config, the daemon and a worker the daemon counts. */
void start_all(struct fx *f, const struct opts *o);

/*
 * Opens a case for URN with the contact (no rule starts on a
 * notification here) and records event `kind` at `at`, which schedules
 * one alert. Returns the case number.
 */
json_int_t record(struct fx *f, const char *kind, const char *at);

/*
 * The deadline of rule `kind` for an event at `at`: counted here, and the
 * planner must agree.
 */
time_t due_of(struct fx *f, const char *kind, time_t at);

/* --- What the daemon says ---------------------------------------------- */

/* The one delivery in history, which must be of channel heads for URN. */
json_t *the_delivery(struct fx *f);

/* --- What the sink got ------------------------------------------------- */
void spool_path(struct fx *f, int seq, const char *ext, char *out, size_t len);

/* How many messages the spool holds (<seq>.json, written last). */
int spool_count(struct fx *f);

/* The envelope record of message `seq`. New reference. */
json_t *spool_record(struct fx *f, int seq);

/*
 * Python: argv[1] "eml" parses a message with the standard library's
 * email package (RFC 2047 decoding and MIME included) and the .ics part
 * with icalendar; "ics" parses an iCalendar file. Prints JSON. Each part
 * has its decoded text (or events), and its body as sent ("raw").
 */
extern const char PY_PARSE[];

/* Message `seq` parsed by python3 (see PY_PARSE). New reference. */
json_t *python_message(struct fx *f, int seq);

/* The part of type `type` in a python_message() (exactly one). */
json_t *part_of(json_t *msg, const char *type);

/*
 * The one VEVENT of `events`: UID "<case>-<rule>@FROM_HOST", DTEND the
 * deadline `due` in UTC, DTSTART the half hour before (a deadline without
 * a window), the school's name in SUMMARY.
 */
void check_event(json_t *events, json_int_t id, const char *rule, time_t due);

/* The trust's zone as TZ, SIGPIPE ignored, the holidays and the test
 * certificates; cleans up itself when it fails, as cmocka then skips the
 * group teardown. */
int group_setup(void **state);

int group_teardown(void **state);

/* cmocka skips the teardown of a failed setup: this cleans up itself. */
int setup(void **state);

/* Kills what still runs; shows the logs when the test failed. */
int teardown(void **state);

/* --- The tests --------------------------------------------------------- */

/*
 * Records a drill now and waits for its one delivery to settle as
 * `status`. Returns the history entry (new reference); *at gets the
 * event's time, *id its case.
 */
json_t *drill(struct fx *f, const char *status, time_t *at, json_int_t *id);

/*
 * drill() that must fail for good at the first attempt, `why` in its
 * last_error, with nothing in the spool. Returns the history entry (new
 * reference).
 */
json_t *drill_failed_at_once(struct fx *f, const char *why);

/* `ofsted-notifyctl test heads --timeout 20`, which must exit 0 saying
 * `want` ("Delivered", ...). */
void test_heads_delivered(struct fx *f, const char *want);

/* The Message-ID every copy of delivery `id` must carry. */
void message_id(const char *id, char *out, size_t len);

#endif
