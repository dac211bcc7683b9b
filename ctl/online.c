/*
 * ofsted-notifyctl's online commands: the ones that talk to ofsted-notifyd
 * over its control endpoint (docs/protocol.md), and watch, which follows its
 * feed. ics prints the pending deadlines as an iCalendar, for a web server
 * to serve as a calendar people subscribe to.
 *
 * Each command checks its arguments (a usage error names the argument and
 * why, before anything is sent), loads the config for the endpoints and the
 * time zone, sends one request on a REQ socket, waits a bounded time for the
 * reply and prints it: for people, or with --json the reply object as the
 * daemon sent it. The daemon is the authority on schools, kinds and cases;
 * this side checks only the shape of what it sends.
 */
#include "ctl.h"

#include "conf.h"
#include "curve.h"
#include "ics.h"
#include "os.h"
#include "proto.h"
#include "rules.h"
#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define TIMEOUT_DEFAULT 10 /* seconds to wait for the daemon */
#define TIMEOUT_MAX     3600
#define REPLY_MAX       (64 << 20) /* bytes; a larger frame is not a reply */
#define HISTORY_MAX     1000
#define AT_MAX          64 /* characters of --at the daemon reads */
#define ECHO_MAX        40 /* characters of a bad argument shown back: %.40s */
#define TOPIC_PREFIX    "deadline."

enum {
        OPT_JSON = 256,
        OPT_TIMEOUT,
        OPT_SCHOOL,
        OPT_AT,
        OPT_CONTACT,
        OPT_NOTE,
        OPT_NEW_CASE,
        OPT_ALL,
        OPT_CASE,
        OPT_LIMIT,
};

/* The options every request command takes. */
/* clang-format off */
#define COMMON_OPTIONS                                                  \
        { "config", required_argument, NULL, 'c' },                     \
        { "json", no_argument, NULL, OPT_JSON },                        \
        { "timeout", required_argument, NULL, OPT_TIMEOUT }
/* clang-format on */

/* One online command in progress. */
struct online {
        struct ctl *ctl;
        const char *cmd;   /* its name, for messages */
        bool json;         /* --json */
        int timeout;       /* seconds */
        struct conf *conf; /* loaded once the arguments are good */
        const json_t *req; /* the request, for the printers */
};

typedef void (*printer)(const struct online *, json_t *);

/* The event commands and the kind each records; "event" takes its own. */
static const struct {
        const char *cmd;
        const char *kind;
} record_cmds[] = {
        { "notify", "notification" },
        { "pause", "pause" },
        { "resume", "resume" },
        { "conclude", "conclusion" },
        { "defer", "deferred" },
        { "cancel", "cancelled" },
        { "event", NULL },
};

/* --- Output ------------------------------------------------------------- */

/*
 * printf to `f` with every control character but newline shown as '?': the
 * text comes from the daemon, and a terminal must not take any of it for an
 * escape sequence.
 */
static void __attribute__((format(printf, 2, 3)))
say(FILE *f, const char *fmt, ...)
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
                say(stdout, " ");
                for (size_t c = 0; c < t->ncols; c++) {
                        const char *cell = t->cells[r * t->ncols + c];
                        int pad = 0;

                        if (c + 1 < t->ncols && c < 16)
                                pad = (int)(width[c] - columns(cell));
                        say(stdout, " %s%*s", cell, pad, "");
                        if (c + 1 < t->ncols)
                                say(stdout, " ");
                }
                say(stdout, "\n");
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
static const char *
field(const json_t *obj, const char *key, char *buf, size_t len)
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
        say(stdout, "\nWarnings\n");
        json_array_foreach((json_t *)warnings, i, v)
        {
                char buf[32];

                say(stdout, "  %s\n", text(v, buf, sizeof(buf)));
        }
}

/* --- Arguments ---------------------------------------------------------- */

/* `arg` as a plain decimal number in [min, max]; -1 if it is not one. */
static int
parse_number(const char *arg, long long min, long long max, long long *out)
{
        char *end;
        long long v;

        if (arg[0] < '0' || arg[0] > '9')
                return -1;
        errno = 0;
        v = strtoll(arg, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* Handles the options every command shares; anything else is an error. */
static int
common_option(struct online *o, int ch)
{
        long long v;

        switch (ch) {
        case OPT_JSON:
                o->json = true;
                return CTL_OK;
        case OPT_TIMEOUT:
                if (parse_number(optarg, 1, TIMEOUT_MAX, &v) < 0)
                        return ctl_usage_error(o->cmd,
                                               "--timeout '%.40s': want whole "
                                               "seconds from 1 to %d",
                                               optarg, TIMEOUT_MAX);
                o->timeout = (int)v;
                return CTL_OK;
        default:
                return ctl_usage_error(o->cmd, "bad option");
        }
}

/* Characters in UTF-8 `s` (bytes that do not continue one). */
static size_t
utf8_chars(const char *s)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                n += (*p & 0xc0) != 0x80;
        return n;
}

/*
 * Refuses an argument longer than `max` characters, naming it by `what`,
 * before anything shows it back or sends it: the daemon would refuse it,
 * and a request over PROTO_MAX_REQUEST bytes gets no use of it.
 */
static int
check_length(const struct online *o, const char *what, const char *s,
             size_t max)
{
        size_t n = utf8_chars(s);

        if (n > max)
                return ctl_usage_error(o->cmd,
                                       "%s: %zu characters, at most %zu "
                                       "allowed",
                                       what, n, max);
        return CTL_OK;
}

static int
check_urn(const struct online *o, const char *urn)
{
        size_t n = strspn(urn, "0123456789");

        if (utf8_chars(urn) > ECHO_MAX)
                return ctl_usage_error(o->cmd,
                                       "--school: %zu characters; a URN is "
                                       "six digits",
                                       utf8_chars(urn));
        if (n != 6 || urn[n] != '\0')
                return ctl_usage_error(
                    o->cmd, "--school '%s': a URN is six digits", urn);
        return CTL_OK;
}

/*
 * Free text for the daemon: UTF-8 without control characters (it may end
 * up in a mail header or a chat card), at most PROTO_MAX_TEXT characters.
 */
static int
check_text(const struct online *o, const char *flag, const char *s)
{
        size_t chars = 0;
        json_t *probe;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return ctl_usage_error(o->cmd,
                                               "%s: contains a control "
                                               "character (a newline or "
                                               "tab?)",
                                               flag);
                if ((*p & 0xc0) != 0x80)
                        chars++;
        }
        probe = json_string(s); /* NULL when not valid UTF-8 */
        if (probe == NULL)
                return ctl_usage_error(o->cmd, "%s: not valid UTF-8", flag);
        json_decref(probe);
        if (chars > PROTO_MAX_TEXT)
                return ctl_usage_error(o->cmd,
                                       "%s: %zu characters, at most %d "
                                       "allowed",
                                       flag, chars, PROTO_MAX_TEXT);
        return CTL_OK;
}

/* Refuses arguments left after the options. */
static int
check_no_args(const struct online *o, int argc, char **argv)
{
        if (optind < argc)
                return ctl_usage_error(o->cmd, "unexpected argument '%s'",
                                       argv[optind]);
        return CTL_OK;
}

/* --- The request -------------------------------------------------------- */

static void
no_answer(const char *endpoint)
{
        fprintf(stderr,
                "ofsted-notifyctl: no answer from the daemon at %s (is "
                "ofsted-notifyd running?%s)\n",
                endpoint,
                conf_endpoint_tcp(endpoint)
                    ? " Is this host's curve.client_key on its allow-list "
                      "with kind \"control\"?"
                    : "");
}

/* The first bytes of a frame, printable, for a message; caller frees. */
static char *
frame_excerpt(zmq_msg_t *m)
{
        size_t n = zmq_msg_size(m) < 64 ? zmq_msg_size(m) : 64;
        const unsigned char *d = zmq_msg_data(m);
        char *out = xmalloc(n + 1);

        for (size_t i = 0; i < n; i++)
                out[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
        out[n] = '\0';
        return out;
}

/* Waits until `sock` can be read or `deadline` passes: 1, 0 or -1. */
static int
wait_readable(void *sock, const struct timespec *deadline)
{
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };

        for (;;) {
                struct timespec now;
                long long ms;
                int n;

                clock_gettime(CLOCK_MONOTONIC, &now);
                ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
                     (deadline->tv_nsec - now.tv_nsec) / 1000000;
                if (ms <= 0)
                        return 0;
                n = zmq_poll(&item, 1, (long)ms);
                if (n > 0)
                        return 1;
                if (n < 0 && zmq_errno() != EINTR)
                        return -1;
        }
}

/*
 * Sends `req` to the daemon's control endpoint and waits up to o->timeout
 * seconds for the reply. Returns the reply, an object with a boolean "ok",
 * owned by the caller; or NULL after saying on stderr what went wrong.
 */
static json_t *
rpc(const struct online *o, const json_t *req)
{
        void *zctx = NULL, *sock = NULL;
        char *endpoint = NULL, *body = NULL, *got = NULL, *why = NULL;
        json_t *reply = NULL, *doc = NULL;
        zmq_msg_t id, payload;
        int linger = 0, ms = o->timeout * 1000;
        int64_t maxsize = REPLY_MAX;
        struct timespec deadline;
        json_error_t jerr;
        size_t len;
        int rc;

        zmq_msg_init(&id);
        zmq_msg_init(&payload);
        endpoint = conf_endpoint_path(o->conf->daemon.control);
        body = json_dumps(req, JSON_COMPACT);
        if (body == NULL)
                abort(); /* only when out of memory */
        len = strlen(body);
        if (len > PROTO_MAX_REQUEST) {
                fprintf(stderr,
                        "ofsted-notifyctl %s: the request is %zu bytes, more "
                        "than the daemon reads (%d)\n",
                        o->cmd, len, PROTO_MAX_REQUEST);
                goto out;
        }

        zctx = zmq_ctx_new();
        if (zctx != NULL)
                sock = zmq_socket(zctx, ZMQ_REQ);
        if (sock == NULL ||
            zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
            zmq_setsockopt(sock, ZMQ_SNDTIMEO, &ms, sizeof(ms)) < 0 ||
            zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) <
                0) {
                fprintf(stderr, "ofsted-notifyctl: ZeroMQ: %s\n",
                        zmq_strerror(zmq_errno()));
                goto out;
        }
        if (curve_client(sock, o->conf, endpoint, &why) < 0) {
                fprintf(stderr, "ofsted-notifyctl: %s\n", why);
                goto out;
        }
        if (zmq_connect(sock, endpoint) < 0) {
                fprintf(stderr, "ofsted-notifyctl: cannot connect to %s: %s\n",
                        endpoint, zmq_strerror(zmq_errno()));
                goto out;
        }

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += o->timeout;
        if (zmq_send(sock, PROTO_CONTROL_ID, strlen(PROTO_CONTROL_ID),
                     ZMQ_SNDMORE) < 0 ||
            zmq_send(sock, body, len, 0) < 0) {
                if (zmq_errno() == EAGAIN)
                        no_answer(endpoint);
                else
                        fprintf(stderr,
                                "ofsted-notifyctl: cannot send to %s: %s\n",
                                endpoint, zmq_strerror(zmq_errno()));
                goto out;
        }
        rc = wait_readable(sock, &deadline);
        if (rc == 0) {
                no_answer(endpoint);
                goto out;
        }
        /* The parts of one message arrive together, so none can block. */
        if (rc < 0 || zmq_msg_recv(&id, sock, ZMQ_DONTWAIT) < 0 ||
            (zmq_msg_more(&id) &&
             zmq_msg_recv(&payload, sock, ZMQ_DONTWAIT) < 0)) {
                fprintf(stderr, "ofsted-notifyctl: cannot read from %s: %s\n",
                        endpoint, zmq_strerror(zmq_errno()));
                goto out;
        }

        if (zmq_msg_size(&id) != strlen(PROTO_CONTROL_ID) ||
            memcmp(zmq_msg_data(&id), PROTO_CONTROL_ID, zmq_msg_size(&id)) !=
                0) {
                got = frame_excerpt(&id);
                fprintf(stderr,
                        "ofsted-notifyctl: %s answered with protocol '%s', "
                        "not '%s' (is it ofsted-notifyd, of the same "
                        "version?)\n",
                        endpoint, got, PROTO_CONTROL_ID);
                goto out;
        }
        if (!zmq_msg_more(&id) || zmq_msg_more(&payload)) {
                fprintf(stderr,
                        "ofsted-notifyctl: the reply from %s is not two "
                        "frames\n",
                        endpoint);
                goto out;
        }
        doc = json_loadb(zmq_msg_data(&payload), zmq_msg_size(&payload), 0,
                         &jerr);
        if (doc == NULL) {
                fprintf(stderr,
                        "ofsted-notifyctl: the reply from %s is not JSON: "
                        "%s\n",
                        endpoint, jerr.text);
                goto out;
        }
        if (!json_is_object(doc) ||
            !json_is_boolean(json_object_get(doc, "ok"))) {
                fprintf(stderr,
                        "ofsted-notifyctl: the reply from %s is not an object "
                        "with a true or false \"ok\"\n",
                        endpoint);
                goto out;
        }
        reply = doc;
        doc = NULL;
out:
        json_decref(doc);
        zmq_msg_close(&id);
        zmq_msg_close(&payload);
        if (sock != NULL)
                zmq_close(sock);
        if (zctx != NULL) {
                while (zmq_ctx_term(zctx) < 0 && zmq_errno() == EINTR)
                        ;
        }
        free(got);
        free(why);
        free(body);
        free(endpoint);
        return reply;
}

/*
 * Sends `req` (consumed) and reports the reply: with --json the reply
 * object as it came, refusals included; for people through `print` when the
 * daemon agreed. A refusal goes to stderr as "ofsted-notifyctl CMD: error",
 * then each of its "errors". Returns the exit status.
 */
static int
run(struct online *o, json_t *req, printer print)
{
        json_t *reply, *errors;
        char *dump;
        size_t i;
        json_t *v;
        int rc = CTL_FAILED;

        o->req = req;
        reply = rpc(o, req);
        if (reply == NULL)
                goto out;
        if (o->json) {
                dump = json_dumps(reply, JSON_INDENT(2));
                if (dump == NULL)
                        abort();
                printf("%s\n", dump);
                free(dump);
        }
        if (!json_is_true(json_object_get(reply, "ok"))) {
                const char *err =
                    json_string_value(json_object_get(reply, "error"));

                say(stderr, "ofsted-notifyctl %s: %s\n", o->cmd,
                    err != NULL ? err
                                : "refused by the daemon, which gave no "
                                  "reason");
                errors = json_object_get(reply, "errors");
                json_array_foreach(errors, i, v)
                {
                        if (json_is_string(v))
                                say(stderr, "%s\n", json_string_value(v));
                }
                goto out;
        }
        if (!o->json)
                print(o, reply);
        rc = CTL_OK;
out:
        fflush(stdout);
        o->req = NULL;
        json_decref(reply);
        json_decref(req);
        return rc;
}

/* Loads the config; the caller exits CONF_EXIT when this fails. */
static int
load(struct online *o)
{
        o->conf = ctl_load_conf(o->ctl);
        return o->conf != NULL ? 0 : -1;
}

/* --- Recording events --------------------------------------------------- */

static void
print_event(const struct online *o, json_t *r)
{
        json_t *school = json_object_get(r, "school");
        json_t *scheduled = json_object_get(r, "scheduled");
        struct table t = { 3, 0, NULL };
        char b[5][64];
        long long ncancelled;
        size_t i;
        json_t *a;

        say(stdout, "Recorded %s for %s %s at %s (case %s).\n",
            field(r, "kind", b[0], 64), field(school, "urn", b[1], 64),
            field(school, "name", b[2], 64), when_field(o, r, "at", b[3], 64),
            field(r, "case", b[4], 64));
        say(stdout, "Case %s is now %s.\n", field(r, "case", b[0], 64),
            field(r, "state", b[1], 64));

        if (json_array_size(scheduled) == 0) {
                say(stdout, "\nNo alerts scheduled.\n");
        } else {
                say(stdout, "\nScheduled alerts\n");
                table_row(&t, (const char *[]){ "WHEN", "RULE", "OFFSET" });
                json_array_foreach(scheduled, i, a)
                {
                        table_row(&t, (const char *[]){
                                          when_field(o, a, "at", b[0], 64),
                                          field(a, "rule", b[1], 64),
                                          field(a, "offset", b[2], 64) });
                }
                table_print(&t);
                table_free(&t);
        }
        ncancelled = json_integer_value(json_object_get(r, "cancelled"));
        say(stdout, "\nCancelled %lld pending alert%s.\n", ncancelled,
            ncancelled == 1 ? "" : "s");
        print_warnings(json_object_get(r, "warnings"));
}

/* The kind that command `cmd` records; NULL for "event", which is told. */
static const char *
record_kind(const char *cmd)
{
        for (size_t i = 0; i < sizeof(record_cmds) / sizeof(record_cmds[0]);
             i++) {
                if (strcmp(cmd, record_cmds[i].cmd) == 0)
                        return record_cmds[i].kind;
        }
        return NULL;
}

int
cmd_record(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                COMMON_OPTIONS,
                { "school", required_argument, NULL, OPT_SCHOOL },
                { "at", required_argument, NULL, OPT_AT },
                { "contact", required_argument, NULL, OPT_CONTACT },
                { "note", required_argument, NULL, OPT_NOTE },
                { "new-case", no_argument, NULL, OPT_NEW_CASE },
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        const char *kind = record_kind(argv[0]);
        const char *urn = NULL, *at = NULL, *contact = NULL, *note = NULL;
        bool new_case = false;
        enum tz_fold fold;
        char *cause = NULL;
        json_t *req;
        int64_t utc;
        int ch, rc;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                switch (ch) {
                case OPT_SCHOOL:
                        urn = optarg;
                        break;
                case OPT_AT:
                        at = optarg;
                        break;
                case OPT_CONTACT:
                        contact = optarg;
                        break;
                case OPT_NOTE:
                        note = optarg;
                        break;
                case OPT_NEW_CASE:
                        new_case = true;
                        break;
                default:
                        rc = common_option(&o, ch);
                        if (rc != CTL_OK)
                                return rc;
                }
        }
        if (kind == NULL) {
                if (optind >= argc)
                        return ctl_usage_error(o.cmd,
                                               "the event KIND is required, "
                                               "as in 'event KIND --school "
                                               "URN'");
                kind = argv[optind++];
                rc = check_length(&o, "event KIND", kind, RULES_KIND_MAX - 1);
                if (rc != CTL_OK)
                        return rc;
                if (!rules_valid_kind(kind))
                        return ctl_usage_error(o.cmd,
                                               "event kind '%s': want lower "
                                               "case letters, digits and "
                                               "'_', starting with a letter",
                                               kind);
        }
        rc = check_no_args(&o, argc, argv);
        if (rc != CTL_OK)
                return rc;
        if (urn == NULL)
                return ctl_usage_error(o.cmd, "--school URN is required");
        rc = check_urn(&o, urn);
        if (rc == CTL_OK && at != NULL)
                rc = check_length(&o, "--at", at, AT_MAX);
        if (rc == CTL_OK && contact != NULL)
                rc = check_text(&o, "--contact", contact);
        if (rc == CTL_OK && note != NULL)
                rc = check_text(&o, "--note", note);
        if (rc != CTL_OK)
                return rc;
        if (new_case && strcmp(kind, "notification") != 0)
                return ctl_usage_error(o.cmd, "--new-case: only a notification "
                                              "opens a case");

        if (load(&o) < 0)
                return CONF_EXIT;
        /* The daemon reads the time itself; checking it here gives the
         * same usage error as plan. */
        if (at != NULL &&
            timefmt_parse(o.conf->tz, at, &utc, &fold, &cause) < 0) {
                rc = ctl_usage_error(o.cmd, "--at %s", cause);
                free(cause);
                conf_destroy(&o.conf);
                return rc;
        }

        req = json_pack("{s:s, s:s, s:s}", "cmd", "event", "kind", kind,
                        "school", urn);
        if (at != NULL)
                json_object_set_new(req, "at", json_string(at));
        if (contact != NULL)
                json_object_set_new(req, "contact", json_string(contact));
        if (note != NULL)
                json_object_set_new(req, "note", json_string(note));
        if (new_case)
                json_object_set_new(req, "new_case", json_true());
        rc = run(&o, req, print_event);
        conf_destroy(&o.conf);
        return rc;
}

/* --- Queries ------------------------------------------------------------ */

static void
print_list(const struct online *o, json_t *r)
{
        json_t *cases = json_object_get(r, "cases");
        struct table t = { 8, 0, NULL };
        char b[8][64], last[160];
        size_t i;
        json_t *c;

        if (json_array_size(cases) == 0) {
                if (json_is_true(json_object_get(o->req, "all")))
                        say(stdout, "No cases.\n");
                else
                        say(stdout, "No open, paused or concluded cases "
                                    "(--all shows closed ones too).\n");
                return;
        }
        table_row(&t,
                  (const char *[]){ "CASE", "SCHOOL", "NAME", "STATE", "OPENED",
                                    "LAST EVENT", "PENDING", "CONTACT" });
        json_array_foreach(cases, i, c)
        {
                snprintf(last, sizeof(last), "%s, %s",
                         field(c, "last_event", b[0], 64),
                         when_field(o, c, "last_event_at", b[1], 64));
                table_row(
                    &t, (const char *[]){ field(c, "case", b[2], 64),
                                          field(c, "school", b[3], 64),
                                          field(c, "name", b[4], 64),
                                          field(c, "state", b[5], 64),
                                          when_field(o, c, "opened", b[6], 64),
                                          last, field(c, "pending", b[7], 64),
                                          field(c, "contact", b[0], 64) });
        }
        table_print(&t);
        table_free(&t);
}

int
cmd_list(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                COMMON_OPTIONS,
                { "all", no_argument, NULL, OPT_ALL },
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        bool all = false;
        int ch, rc;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                if (ch == OPT_ALL) {
                        all = true;
                        continue;
                }
                rc = common_option(&o, ch);
                if (rc != CTL_OK)
                        return rc;
        }
        rc = check_no_args(&o, argc, argv);
        if (rc != CTL_OK)
                return rc;
        if (load(&o) < 0)
                return CONF_EXIT;
        rc = run(&o, json_pack("{s:s, s:b}", "cmd", "list", "all", all),
                 print_list);
        conf_destroy(&o.conf);
        return rc;
}

static void
print_show(const struct online *o, json_t *r)
{
        json_t *c = json_object_get(r, "case");
        json_t *events = json_object_get(c, "events");
        json_t *alerts = json_object_get(c, "alerts");
        struct table t = { 6, 0, NULL };
        char b[7][64], state[80];
        size_t i;
        json_t *v;

        say(stdout, "Case %s: %s %s\n", field(c, "case", b[0], 64),
            field(c, "school", b[1], 64), field(c, "name", b[2], 64));
        say(stdout, "  State:    %s\n", field(c, "state", b[0], 64));
        say(stdout, "  Opened:   %s\n", when_field(o, c, "opened", b[0], 64));
        if (json_is_string(json_object_get(c, "closed")))
                say(stdout, "  Closed:   %s\n",
                    when_field(o, c, "closed", b[0], 64));
        say(stdout, "  Contact:  %s\n", field(c, "contact", b[0], 64));
        say(stdout, "  Note:     %s\n", field(c, "note", b[0], 64));

        say(stdout, "\nEvents\n");
        if (json_array_size(events) == 0)
                say(stdout, "  (none)\n");
        table_row(&t, (const char *[]){ "EVENT", "KIND", "AT", "RECORDED",
                                        "CONTACT", "NOTE" });
        json_array_foreach(events, i, v)
        {
                table_row(&t, (const char *[]){
                                  field(v, "event", b[0], 64),
                                  field(v, "kind", b[1], 64),
                                  when_field(o, v, "at", b[2], 64),
                                  when_field(o, v, "recorded", b[3], 64),
                                  field(v, "contact", b[4], 64),
                                  field(v, "note", b[5], 64) });
        }
        if (json_array_size(events) > 0)
                table_print(&t);
        table_free(&t);

        say(stdout, "\nAlerts\n");
        if (json_array_size(alerts) == 0)
                say(stdout, "  (none)\n");
        t.ncols = 7;
        table_row(&t, (const char *[]){ "ID", "WHEN", "RULE", "OFFSET", "DUE",
                                        "STATE", "FIRED" });
        json_array_foreach(alerts, i, v)
        {
                snprintf(
                    state, sizeof(state), "%s%s", field(v, "state", b[0], 64),
                    json_is_true(json_object_get(v, "late")) ? ", late" : "");
                table_row(&t, (const char *[]){
                                  field(v, "id", b[0], 64),
                                  when_field(o, v, "at", b[1], 64),
                                  field(v, "rule", b[2], 64),
                                  field(v, "offset", b[3], 64),
                                  when_field(o, v, "due", b[4], 64), state,
                                  when_field(o, v, "fired", b[5], 64) });
        }
        if (json_array_size(alerts) > 0)
                table_print(&t);
        table_free(&t);
}

int
cmd_show(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                COMMON_OPTIONS,
                { "case", required_argument, NULL, OPT_CASE },
                { "school", required_argument, NULL, OPT_SCHOOL },
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        const char *urn = NULL, *case_arg = NULL;
        long long case_id = 0;
        json_t *req;
        int ch, rc;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                switch (ch) {
                case OPT_CASE:
                        case_arg = optarg;
                        break;
                case OPT_SCHOOL:
                        urn = optarg;
                        break;
                default:
                        rc = common_option(&o, ch);
                        if (rc != CTL_OK)
                                return rc;
                }
        }
        rc = check_no_args(&o, argc, argv);
        if (rc != CTL_OK)
                return rc;
        if ((case_arg == NULL) == (urn == NULL))
                return ctl_usage_error(o.cmd,
                                       "give one of --case N and --school "
                                       "URN");
        if (case_arg != NULL &&
            parse_number(case_arg, 1, LLONG_MAX, &case_id) < 0)
                return ctl_usage_error(o.cmd,
                                       "--case '%.40s': want a case number "
                                       "(a positive whole number)",
                                       case_arg);
        if (urn != NULL && (rc = check_urn(&o, urn)) != CTL_OK)
                return rc;
        if (load(&o) < 0)
                return CONF_EXIT;
        if (case_arg != NULL)
                req = json_pack("{s:s, s:I}", "cmd", "show", "case",
                                (json_int_t)case_id);
        else
                req = json_pack("{s:s, s:s}", "cmd", "show", "school", urn);
        rc = run(&o, req, print_show);
        conf_destroy(&o.conf);
        return rc;
}

static void
print_upcoming(const struct online *o, json_t *r)
{
        json_t *alerts = json_object_get(r, "alerts");
        struct table t = { 6, 0, NULL };
        char b[6][64];
        size_t i;
        json_t *a;

        if (json_array_size(alerts) == 0) {
                say(stdout, "No pending alerts.\n");
                return;
        }
        table_row(&t, (const char *[]){ "WHEN", "CASE", "SCHOOL", "RULE",
                                        "OFFSET", "DUE" });
        json_array_foreach(alerts, i, a)
        {
                table_row(
                    &t, (const char *[]){ when_field(o, a, "at", b[0], 64),
                                          field(a, "case", b[1], 64),
                                          field(a, "school", b[2], 64),
                                          field(a, "rule", b[3], 64),
                                          field(a, "offset", b[4], 64),
                                          when_field(o, a, "due", b[5], 64) });
        }
        table_print(&t);
        table_free(&t);
}

int
cmd_upcoming(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                COMMON_OPTIONS,
                { "school", required_argument, NULL, OPT_SCHOOL },
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        const char *urn = NULL;
        json_t *req;
        int ch, rc;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                if (ch == OPT_SCHOOL) {
                        urn = optarg;
                        continue;
                }
                rc = common_option(&o, ch);
                if (rc != CTL_OK)
                        return rc;
        }
        rc = check_no_args(&o, argc, argv);
        if (rc != CTL_OK)
                return rc;
        if (urn != NULL && (rc = check_urn(&o, urn)) != CTL_OK)
                return rc;
        if (load(&o) < 0)
                return CONF_EXIT;
        req = json_pack("{s:s}", "cmd", "upcoming");
        if (urn != NULL)
                json_object_set_new(req, "school", json_string(urn));
        rc = run(&o, req, print_upcoming);
        conf_destroy(&o.conf);
        return rc;
}

/* --- The calendar ------------------------------------------------------- */

/*
 * The right-hand side of the calendar's UIDs: the sender's domain, as in
 * the email attachment (ics_uid_host()), so a deadline mailed and a
 * deadline subscribed to are the same entry. Without email settings no
 * attachment exists to agree with: this host's name. Caller frees.
 */
static char *
uid_host(const struct conf *conf)
{
        char name[256];
        char *h = NULL;

        if (conf->email.present)
                h = ics_uid_host(conf->email.from);
        if (h != NULL)
                return h;
        if (gethostname(name, sizeof(name)) == 0) {
                name[sizeof(name) - 1] = '\0';
                if (name[0] != '\0')
                        return xstrdup(name);
        }
        return xstrdup("localhost");
}

static const char *
rule_action(const struct conf *conf, const char *name)
{
        for (size_t i = 0; i < conf->nrules; i++) {
                if (strcmp(conf->rules[i].name, name) == 0)
                        return conf->rules[i].action;
        }
        return NULL;
}

/* A time from the reply, which always carries an offset; -1 if it is not
 * one. */
static int
reply_time(const struct online *o, const json_t *v, int64_t *utc)
{
        enum tz_fold fold;
        char *cause = NULL;

        if (!json_is_string(v) ||
            timefmt_parse(o->conf->tz, json_string_value(v), utc, &fold,
                          &cause) < 0) {
                free(cause);
                return -1;
        }
        return 0;
}

/*
 * The pending alerts' deadlines as one calendar: an event per (case,
 * rule), however many alerts it still has, built by ics_deadline_event()
 * as the email attachment is. The contact is a case's and the reply does
 * not carry it; the action comes from this config's rule.
 */
static void
print_ics(const struct online *o, json_t *r)
{
        json_t *alerts = json_object_get(r, "alerts"), *a;
        struct ics_event *events = NULL;
        char *host = uid_host(o->conf), *cal;
        size_t n = 0, i, skipped = 0;

        json_array_foreach(alerts, i, a)
        {
                const json_t *c = json_object_get(a, "case");
                const char *rule =
                    json_string_value(json_object_get(a, "rule"));
                const char *urn =
                    json_string_value(json_object_get(a, "school"));
                const json_t *opens = json_object_get(a, "opens");
                const struct school *school;
                struct ics_deadline d = { 0 };
                struct ics_event ev;
                bool seen = false;

                if (!json_is_integer(c) || rule == NULL || urn == NULL ||
                    reply_time(o, json_object_get(a, "due"), &d.due) < 0 ||
                    (json_is_string(opens) &&
                     reply_time(o, opens, &d.opens) < 0)) {
                        skipped++;
                        continue;
                }
                school = conf_school(o->conf, urn);
                d.case_id = (int64_t)json_integer_value(c);
                d.rule = rule;
                d.school = school != NULL ? school->name : urn;
                d.host = host;
                d.has_opens = json_is_string(opens);
                d.action = rule_action(o->conf, rule);
                ics_deadline_event(&d, &ev);
                for (size_t k = 0; k < n && !seen; k++)
                        seen = strcmp(events[k].uid, ev.uid) == 0;
                if (seen) {
                        ics_event_clear(&ev);
                        continue;
                }
                events = xreallocarray(events, n + 1, sizeof(*events));
                events[n++] = ev;
        }
        if (skipped > 0)
                fprintf(stderr,
                        "ofsted-notifyctl %s: %zu alert%s in the daemon's "
                        "reply without a case, rule, school or due time, "
                        "ignoring\n",
                        o->cmd, skipped, skipped == 1 ? "" : "s");
        cal = ics_calendar(events, n, ICS_PRODID, o->ctl->now);
        /* Not say(): the calendar's lines end in CRLF, and ics_calendar()
         * has already dropped every other control character but tab. */
        fputs(cal, stdout);
        free(cal);
        for (i = 0; i < n; i++)
                ics_event_clear(&events[i]);
        free(events);
        free(host);
}

int
cmd_ics(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "school", required_argument, NULL, OPT_SCHOOL },
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        const char *urn = NULL;
        json_t *req;
        int ch, rc;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                if (ch == OPT_SCHOOL) {
                        urn = optarg;
                        continue;
                }
                rc = common_option(&o, ch);
                if (rc != CTL_OK)
                        return rc;
        }
        rc = check_no_args(&o, argc, argv);
        if (rc != CTL_OK)
                return rc;
        if (urn != NULL && (rc = check_urn(&o, urn)) != CTL_OK)
                return rc;
        if (load(&o) < 0)
                return CONF_EXIT;
        req = json_pack("{s:s}", "cmd", "upcoming");
        if (urn != NULL)
                json_object_set_new(req, "school", json_string(urn));
        rc = run(&o, req, print_ics);
        /* Written for a web server to serve: a short file must not pass. */
        if (rc == CTL_OK && ferror(stdout)) {
                fprintf(stderr,
                        "ofsted-notifyctl %s: cannot write the calendar\n",
                        o.cmd);
                rc = CTL_FAILED;
        }
        conf_destroy(&o.conf);
        return rc;
}

static void
print_history(const struct online *o, json_t *r)
{
        json_t *deliveries = json_object_get(r, "deliveries");
        struct table t = { 9, 0, NULL };
        char b[9][64], channel[140], status[80];
        size_t i;
        json_t *d;

        if (json_array_size(deliveries) == 0) {
                say(stdout, "No deliveries.\n");
                return;
        }
        table_row(&t, (const char *[]){ "UPDATED", "CASE", "SCHOOL", "RULE",
                                        "OFFSET", "CHANNEL", "STATUS",
                                        "ATTEMPTS", "LAST ERROR" });
        json_array_foreach(deliveries, i, d)
        {
                snprintf(channel, sizeof(channel), "%s (%s)",
                         field(d, "channel", b[0], 64),
                         field(d, "type", b[1], 64));
                snprintf(status, sizeof(status), "%s%s",
                         field(d, "status", b[0], 64),
                         json_is_true(json_object_get(d, "late")) ? ", late"
                                                                  : "");
                table_row(&t, (const char *[]){
                                  when_field(o, d, "updated", b[2], 64),
                                  field(d, "case", b[3], 64),
                                  field(d, "school", b[4], 64),
                                  field(d, "rule", b[5], 64),
                                  field(d, "offset", b[6], 64), channel, status,
                                  field(d, "attempts", b[7], 64),
                                  field(d, "last_error", b[8], 64) });
        }
        table_print(&t);
        table_free(&t);
}

int
cmd_history(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                COMMON_OPTIONS,
                { "school", required_argument, NULL, OPT_SCHOOL },
                { "limit", required_argument, NULL, OPT_LIMIT },
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        const char *urn = NULL, *limit_arg = NULL;
        long long limit = 0;
        json_t *req;
        int ch, rc;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                switch (ch) {
                case OPT_SCHOOL:
                        urn = optarg;
                        break;
                case OPT_LIMIT:
                        limit_arg = optarg;
                        break;
                default:
                        rc = common_option(&o, ch);
                        if (rc != CTL_OK)
                                return rc;
                }
        }
        rc = check_no_args(&o, argc, argv);
        if (rc != CTL_OK)
                return rc;
        if (urn != NULL && (rc = check_urn(&o, urn)) != CTL_OK)
                return rc;
        if (limit_arg != NULL &&
            parse_number(limit_arg, 1, HISTORY_MAX, &limit) < 0)
                return ctl_usage_error(o.cmd,
                                       "--limit '%.40s': want a number from 1 "
                                       "to %d",
                                       limit_arg, HISTORY_MAX);
        if (load(&o) < 0)
                return CONF_EXIT;
        req = json_pack("{s:s}", "cmd", "history");
        if (urn != NULL)
                json_object_set_new(req, "school", json_string(urn));
        if (limit_arg != NULL)
                json_object_set_new(req, "limit", json_integer(limit));
        rc = run(&o, req, print_history);
        conf_destroy(&o.conf);
        return rc;
}

static void
print_status(const struct online *o, json_t *r)
{
        json_t *missed = json_object_get(r, "missed"), *db, *dsp;
        struct table t = { 5, 0, NULL };
        static const char *const groups[][2] = {
                { "cases", "Cases:      " },
                { "alerts", "Alerts:     " },
                { "deliveries", "Deliveries: " },
        };
        char b[5][64];
        size_t i;
        json_t *m;

        say(stdout, "ofsted-notifyd %s, pid %s, running since %s\n",
            field(r, "version", b[0], 64), field(r, "pid", b[1], 64),
            when_field(o, r, "started", b[2], 64));
        say(stdout, "Config:     %s\n", field(r, "config", b[0], 64));
        for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
                char *line = counts(json_object_get(r, groups[i][0]));

                say(stdout, "%s%s\n", groups[i][1], line);
                free(line);
        }
        say(stdout, "Next alert: %s\n",
            json_is_string(json_object_get(r, "next_alert"))
                ? when_field(o, r, "next_alert", b[0], 64)
                : "none");
        say(stdout, "Workers:    webhook %s, email %s\n",
            field(json_object_get(r, "workers"), "webhook", b[0], 64),
            field(json_object_get(r, "workers"), "email", b[1], 64));
        dsp = json_object_get(r, "dispatch");
        if (json_is_object(dsp)) {
                say(stdout,
                    "Outcomes:   delivered %s, retried %s, failed %s, given up "
                    "%s (since start)\n",
                    field(dsp, "delivered", b[0], 64),
                    field(dsp, "retried", b[1], 64),
                    field(dsp, "failed", b[2], 64),
                    field(dsp, "given_up", b[3], 64));
                if (json_integer_value(json_object_get(dsp, "malformed")) > 0)
                        say(stdout,
                            "Malformed:  %s messages from workers dropped "
                            "(since start)\n",
                            field(dsp, "malformed", b[0], 64));
        }
        /* Workers given no jobs, and deliveries held on our side. */
        json_array_foreach(json_object_get(r, "stalled"), i, m)
        {
                say(stdout,
                    "Stalled:    worker %s (%s): %s leases ran out without an "
                    "outcome since %s; no jobs for it until it reports one\n",
                    field(m, "worker", b[0], 64), field(m, "kind", b[1], 64),
                    field(m, "expired", b[2], 64),
                    when_field(o, m, "since", b[3], 64));
        }
        json_array_foreach(json_object_get(r, "held"), i, m)
        {
                say(stdout,
                    "Held:       %s deliveries to '%s' by a problem on this "
                    "side: %s\n",
                    field(m, "deliveries", b[0], 64),
                    field(m, "channel", b[1], 64), field(m, "error", b[2], 64));
        }
        db = json_object_get(r, "database");
        if (json_is_false(json_object_get(db, "writable"))) {
                const char *e = json_string_value(json_object_get(db, "error"));

                say(stdout,
                    "\nDEGRADED: %s: new events are refused until it can be "
                    "written again\n",
                    e != NULL ? e : "the state database cannot be written");
        }

        if (json_array_size(missed) == 0)
                return;
        say(stdout, "\nMissed alerts (most recent)\n");
        table_row(
            &t, (const char *[]){ "WHEN", "CASE", "SCHOOL", "RULE", "OFFSET" });
        json_array_foreach(missed, i, m)
        {
                table_row(&t,
                          (const char *[]){ when_field(o, m, "at", b[0], 64),
                                            field(m, "case", b[1], 64),
                                            field(m, "school", b[2], 64),
                                            field(m, "rule", b[3], 64),
                                            field(m, "offset", b[4], 64) });
        }
        table_print(&t);
        table_free(&t);
}

static void
print_reload(const struct online *o, json_t *r)
{
        char b[64];

        (void)o;
        say(stdout, "Configuration reloaded (replanned: %s).\n",
            field(r, "replanned", b, sizeof(b)));
}

/* A command whose request is just {"cmd": name}: status, reload. */
static int
simple_command(struct ctl *ctl, int argc, char **argv, printer print)
{
        static const struct option opts[] = {
                COMMON_OPTIONS,
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        int ch, rc;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                rc = common_option(&o, ch);
                if (rc != CTL_OK)
                        return rc;
        }
        rc = check_no_args(&o, argc, argv);
        if (rc != CTL_OK)
                return rc;
        if (load(&o) < 0)
                return CONF_EXIT;
        rc = run(&o, json_pack("{s:s}", "cmd", argv[0]), print);
        conf_destroy(&o.conf);
        return rc;
}

int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
        return simple_command(ctl, argc, argv, print_status);
}

int
cmd_reload(struct ctl *ctl, int argc, char **argv)
{
        return simple_command(ctl, argc, argv, print_reload);
}

/* --- The feed ----------------------------------------------------------- */

/* Whether topic "deadline.<rule>.<urn>" is for school `urn` (NULL: any). */
static bool
topic_matches(zmq_msg_t *topic, const char *urn)
{
        const char *d = zmq_msg_data(topic);
        size_t n = zmq_msg_size(topic), ulen;

        if (n < strlen(TOPIC_PREFIX) ||
            memcmp(d, TOPIC_PREFIX, strlen(TOPIC_PREFIX)) != 0)
                return false;
        if (urn == NULL)
                return true;
        ulen = strlen(urn);
        return n > ulen + 1 && d[n - ulen - 1] == '.' &&
               memcmp(d + n - ulen, urn, ulen) == 0;
}

static void
print_alert(const struct online *o, json_t *a)
{
        json_t *school = json_object_get(a, "school");
        const char *action = json_string_value(json_object_get(a, "action"));
        char b[8][64];

        say(stdout, "%s  %s %s: %s (%s), due %s",
            when_field(o, a, "at", b[0], 64), field(school, "urn", b[1], 64),
            field(school, "name", b[2], 64), field(a, "rule", b[3], 64),
            field(a, "offset", b[4], 64), when_field(o, a, "due", b[5], 64));
        if (json_is_string(json_object_get(a, "opens")))
                say(stdout, ", opens %s", when_field(o, a, "opens", b[0], 64));
        say(stdout, ", case %s", field(a, "case", b[0], 64));
        if (json_is_true(json_object_get(a, "late")))
                say(stdout, ", late");
        if (action != NULL && action[0] != '\0')
                say(stdout, "; %s", action);
        say(stdout, "\n");
}

/* Drops the rest of a message whose parts we did not want. */
static void
drop_rest(void *sock)
{
        int more = 1;
        size_t size = sizeof(more);

        while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &size) == 0 && more) {
                zmq_msg_t m;
                int n;

                zmq_msg_init(&m);
                n = zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
                zmq_msg_close(&m);
                if (n < 0)
                        break;
        }
}

/*
 * Reads one message from the feed and prints it if it is for us. A
 * malformed one is reported and skipped: the feed is best effort.
 */
static void
feed_read(const struct online *o, void *sub, const char *urn)
{
        zmq_msg_t topic, payload;
        json_t *doc = NULL;
        char *line = NULL;

        zmq_msg_init(&topic);
        zmq_msg_init(&payload);
        if (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) < 0)
                goto out;
        if (zmq_msg_more(&topic) &&
            zmq_msg_recv(&payload, sub, ZMQ_DONTWAIT) < 0)
                goto out;
        if (!zmq_msg_more(&topic) || zmq_msg_more(&payload)) {
                fprintf(stderr,
                        "ofsted-notifyctl %s: a message on the feed is not "
                        "two frames, ignoring\n",
                        o->cmd);
                drop_rest(sub);
                goto out;
        }
        if (!topic_matches(&topic, urn))
                goto out;
        doc =
            json_loadb(zmq_msg_data(&payload), zmq_msg_size(&payload), 0, NULL);
        if (!json_is_object(doc)) {
                fprintf(stderr,
                        "ofsted-notifyctl %s: a message on the feed is not "
                        "a JSON object, ignoring\n",
                        o->cmd);
                goto out;
        }
        if (o->json) {
                line = json_dumps(doc, JSON_COMPACT);
                if (line == NULL)
                        abort();
                printf("%s\n", line);
        } else {
                print_alert(o, doc);
        }
        fflush(stdout);
out:
        free(line);
        json_decref(doc);
        zmq_msg_close(&topic);
        zmq_msg_close(&payload);
}

int
cmd_watch(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, OPT_JSON },
                { "school", required_argument, NULL, OPT_SCHOOL },
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        void *zctx = NULL, *sub = NULL;
        char *endpoint = NULL, *why = NULL;
        const char *urn = NULL;
        sigset_t stop, old;
        int64_t maxsize = REPLY_MAX;
        int linger = 0, sfd = -1, ch, rc;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                if (ch == OPT_SCHOOL) {
                        urn = optarg;
                        continue;
                }
                rc = common_option(&o, ch);
                if (rc != CTL_OK)
                        return rc;
        }
        rc = check_no_args(&o, argc, argv);
        if (rc != CTL_OK)
                return rc;
        if (urn != NULL && (rc = check_urn(&o, urn)) != CTL_OK)
                return rc;
        if (load(&o) < 0)
                return CONF_EXIT;

        /*
         * SIGINT and SIGTERM end the watch through a signalfd polled with
         * the socket: blocked first, so that ZeroMQ's threads never take
         * them, and no handler or global flag is needed.
         */
        rc = CTL_FAILED;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        sigprocmask(SIG_BLOCK, &stop, &old);
        sfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                fprintf(stderr, "ofsted-notifyctl %s: signalfd: %s\n", o.cmd,
                        strerror(errno));
                goto out;
        }

        endpoint = conf_endpoint_path(o.conf->daemon.feed);
        zctx = zmq_ctx_new();
        if (zctx != NULL)
                sub = zmq_socket(zctx, ZMQ_SUB);
        if (sub == NULL ||
            zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
            zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) <
                0 ||
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, TOPIC_PREFIX,
                           strlen(TOPIC_PREFIX)) < 0) {
                fprintf(stderr, "ofsted-notifyctl: ZeroMQ: %s\n",
                        zmq_strerror(zmq_errno()));
                goto out;
        }
        if (curve_client(sub, o.conf, endpoint, &why) < 0) {
                fprintf(stderr, "ofsted-notifyctl: %s\n", why);
                goto out;
        }
        if (zmq_connect(sub, endpoint) < 0) {
                fprintf(stderr, "ofsted-notifyctl: cannot connect to %s: %s\n",
                        endpoint, zmq_strerror(zmq_errno()));
                goto out;
        }
        if (!o.json && isatty(STDERR_FILENO))
                fprintf(stderr, "Watching %s for alerts; Ctrl-C stops.\n",
                        endpoint);

        for (;;) {
                zmq_pollitem_t items[2] = {
                        { sub, 0, ZMQ_POLLIN, 0 },
                        { NULL, sfd, ZMQ_POLLIN, 0 },
                };

                if (zmq_poll(items, 2, -1) < 0) {
                        if (zmq_errno() == EINTR)
                                continue;
                        fprintf(stderr, "ofsted-notifyctl %s: %s\n", o.cmd,
                                zmq_strerror(zmq_errno()));
                        goto out;
                }
                if (items[1].revents & ZMQ_POLLIN)
                        break;
                if (items[0].revents & ZMQ_POLLIN)
                        feed_read(&o, sub, urn);
        }
        rc = CTL_OK;
out:
        if (sub != NULL)
                zmq_close(sub);
        if (zctx != NULL) {
                while (zmq_ctx_term(zctx) < 0 && zmq_errno() == EINTR)
                        ;
        }
        if (sfd >= 0) {
                struct signalfd_siginfo si;

                /* Take the signals that stopped us before unblocking. */
                while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                        ;
                close(sfd);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        free(endpoint);
        free(why);
        conf_destroy(&o.conf);
        return rc;
}

/* --- A test alert ------------------------------------------------------- */

/*
 * One look at the delivery `uid`: its row from `history`, or NULL after
 * saying why not.
 */
static json_t *
delivery_row(const struct online *o, const char *uid)
{
        json_t *req =
            json_pack("{s:s, s:s}", "cmd", "history", "delivery", uid);
        json_t *reply = rpc(o, req), *row = NULL;

        json_decref(req);
        if (reply != NULL && json_is_true(json_object_get(reply, "ok")))
                row = json_incref(
                    json_array_get(json_object_get(reply, "deliveries"), 0));
        else if (reply != NULL)
                say(stderr, "ofsted-notifyctl %s: %s\n", o->cmd,
                    json_string_value(json_object_get(reply, "error")));
        json_decref(reply);
        return row;
}

/*
 * ofsted-notifyctl test CHANNEL: a clearly marked test alert through the
 * real path (the daemon, dispatch, a worker, the service), then its outcome.
 * Exit 0 when delivered, 1 when it failed or did not settle in time.
 */
int
cmd_test(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                COMMON_OPTIONS,
                { NULL, 0, NULL, 0 },
        };
        struct online o = { ctl, argv[0], false, TIMEOUT_DEFAULT, NULL, NULL };
        json_t *req = NULL, *reply = NULL, *row = NULL;
        const char *name, *uid, *status = "pending";
        char b[4][64];
        int64_t deadline;
        int ch, rc = CTL_FAILED;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                rc = common_option(&o, ch);
                if (rc != CTL_OK)
                        return rc;
        }
        if (optind != argc - 1)
                return ctl_usage_error(o.cmd, "give exactly one CHANNEL, as "
                                              "named in the config");
        name = argv[optind];
        if (check_text(&o, "CHANNEL", name) != CTL_OK)
                return CTL_USAGE;
        if (load(&o) < 0)
                return CONF_EXIT;
        rc = CTL_FAILED;
        req = json_pack("{s:s, s:s}", "cmd", "test", "channel", name);
        reply = rpc(&o, req);
        if (reply == NULL)
                goto out;
        if (!json_is_true(json_object_get(reply, "ok"))) {
                say(stderr, "ofsted-notifyctl %s: %s\n", o.cmd,
                    json_string_value(json_object_get(reply, "error")));
                goto out;
        }
        uid = json_string_value(json_object_get(reply, "delivery"));
        if (!o.json)
                say(stdout,
                    "Test alert %s to '%s' (%s) queued; waiting up to "
                    "%d s for its outcome.\n",
                    uid ? uid : "?", name,
                    json_string_value(json_object_get(reply, "type")),
                    o.timeout);
        deadline = os_mono_ms() + (int64_t)o.timeout * 1000;
        while (uid != NULL && os_mono_ms() < deadline) {
                json_decref(row);
                row = delivery_row(&o, uid);
                if (row == NULL)
                        goto out;
                status = json_string_value(json_object_get(row, "status"));
                if (status != NULL && (strcmp(status, "delivered") == 0 ||
                                       strcmp(status, "failed") == 0))
                        break;
                usleep(250 * 1000);
        }
        if (o.json && row != NULL) {
                char *dump = json_dumps(row, JSON_INDENT(2));

                printf("%s\n", dump);
                free(dump);
        }
        if (status != NULL && strcmp(status, "delivered") == 0) {
                if (!o.json)
                        say(stdout, "Delivered (%s attempt(s)).\n",
                            field(row, "attempts", b[0], 64));
                rc = CTL_OK;
        } else if (status != NULL && strcmp(status, "failed") == 0) {
                say(stderr, "ofsted-notifyctl %s: failed: %s\n", o.cmd,
                    field(row, "last_error", b[1], 64));
        } else {
                say(stderr,
                    "ofsted-notifyctl %s: still %s after %d s: is an "
                    "ofsted-notify-worker of the right kind running? (history "
                    "will show the outcome later)\n",
                    o.cmd, status ? status : "?", o.timeout);
        }
out:
        fflush(stdout);
        json_decref(row);
        json_decref(reply);
        json_decref(req);
        conf_destroy(&o.conf);
        return rc;
}
