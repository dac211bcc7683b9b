/*
 * ofsted-notifyctl's online commands: the ones that talk to ofsted-notifyd
 * over its control endpoint (docs/protocol.md), and watch, which follows its
 * feed (watch.c).
 *
 * Every command is one row of commands[] below, in the shape of the
 * daemon's own table (daemon/control.c): the request fields it always
 * sends, its positional argument, its options and the request field and
 * validator of each, a check across fields, and its printer (print.c). One
 * runner, cmd_online(), parses the arguments against the row (a usage error
 * names the argument and why, before anything is sent), loads the config
 * for the endpoints and the time zone, sends the request through the
 * control client (common/cclient.h), waits a bounded time for the reply and
 * prints it: for people, or with --json the reply object as the daemon sent
 * it. The daemon is the authority on schools, kinds and cases; this side
 * checks only the shape of what it sends.
 *
 * To add a command: a row here, its printer in print.c, its usage line in
 * ctl.c's table (pointing at cmd_online), and its page in the man page.
 */
#include "online.h"

#include "cclient.h"
#include "conf.h"
#include "names.h"
#include "os.h"
#include "print.h"
#include "proto.h"
#include "roles.h"
#include "rules.h"
#include "timefmt.h"
#include "token.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_DEFAULT 10 /* seconds to wait for the daemon */
#define TIMEOUT_MAX     3600
#define HISTORY_MAX     1000
#define AT_MAX          64 /* characters of --at the daemon reads */
#define ECHO_MAX        40 /* characters of a bad argument shown back: %.40s */
#define OPTS_MAX        6  /* options of one row */

/* getopt_long() values: the shared options, then the row's by index. */
enum {
        OPT_JSON = 256,
        OPT_TIMEOUT,
        OPT_ROW,
};

/*
 * A validator: checks argument `arg` (named `what` in messages: "--school",
 * "CHANNEL") and makes the request field's value in *value. CTL_OK, or
 * CTL_USAGE after printing why.
 */
typedef int (*check_fn)(const struct online *o, const char *what,
                        const char *arg, json_t **value);

enum presence {
        OPTIONAL,
        REQUIRED, /* "--school URN is required" */
        ONE_OF,   /* exactly one of the row's ONE_OF options */
        REPEATED, /* optional, and each time given adds to an array */
};

/* One option of a command: --name [METAVAR] sets request field `key`. */
struct online_opt {
        const char *name;
        const char *metavar; /* its argument in messages; NULL: a flag */
        const char *key;
        check_fn check;
        enum presence presence;
};

/* The positional argument of a command, if it takes one. */
struct online_pos {
        const char *what; /* its name in messages: "event KIND" */
        const char *key;  /* NULL: the command takes none */
        check_fn check;
        const char *missing; /* the usage error when it is not given */
        bool alone;          /* nothing may follow it: the same error */
        bool optional;       /* it may be left out */
};

/* What a command does with the request once the arguments are good. */
typedef int (*exec_fn)(struct online *o, json_t *req, print_fn print);

/* Row flags: shared options a command does not take. */
#define NO_JSON    0x1u
#define NO_TIMEOUT 0x2u

struct online_cmd {
        const char *name;
        /* JSON: the fields every request carries; NULL: it sends none. */
        const char *request;
        unsigned flags;
        struct online_pos pos;
        struct online_opt opts[OPTS_MAX]; /* ends at a NULL name */
        /* Checks across fields, before the config is read. */
        int (*check)(const struct online *o, const json_t *req);
        /* Checks that need the config (the trust's zone). */
        int (*ready)(const struct online *o, const json_t *req);
        print_fn print;
        exec_fn exec; /* NULL: ask and print */
};

/* --- Validators --------------------------------------------------------- */

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

/* A flag: true. */
static int
arg_flag(const struct online *o, const char *what, const char *arg,
         json_t **value)
{
        (void)o;
        (void)what;
        (void)arg;
        *value = json_true();
        return CTL_OK;
}

/* A school's URN: six digits. */
static int
arg_urn(const struct online *o, const char *what, const char *urn,
        json_t **value)
{
        if (utf8_chars(urn) > ECHO_MAX)
                return ctl_usage_error(o->cmd,
                                       "%s: %zu characters; a URN is "
                                       "six digits",
                                       what, utf8_chars(urn));
        if (!names_valid_urn(urn))
                return ctl_usage_error(o->cmd, "%s '%s': a URN is six digits",
                                       what, urn);
        *value = json_string(urn);
        return CTL_OK;
}

/*
 * Free text for the daemon: UTF-8 without control characters (it may end
 * up in a mail header or a chat card), at most PROTO_MAX_TEXT characters.
 */
static int
arg_text(const struct online *o, const char *what, const char *s,
         json_t **value)
{
        size_t chars = 0;
        json_t *probe;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return ctl_usage_error(o->cmd,
                                               "%s: contains a control "
                                               "character (a newline or "
                                               "tab?)",
                                               what);
                if ((*p & 0xc0) != 0x80)
                        chars++;
        }
        probe = json_string(s); /* NULL when not valid UTF-8 */
        if (probe == NULL)
                return ctl_usage_error(o->cmd, "%s: not valid UTF-8", what);
        if (chars > PROTO_MAX_TEXT) {
                json_decref(probe);
                return ctl_usage_error(o->cmd,
                                       "%s: %zu characters, at most %d "
                                       "allowed",
                                       what, chars, PROTO_MAX_TEXT);
        }
        *value = probe;
        return CTL_OK;
}

/* A time as the daemon reads it; its zone is checked by at_ready(). */
static int
arg_at(const struct online *o, const char *what, const char *at, json_t **value)
{
        int rc = check_length(o, what, at, AT_MAX);

        if (rc == CTL_OK)
                *value = json_string(at);
        return rc;
}

/* An event kind as the rules name it. */
static int
arg_kind(const struct online *o, const char *what, const char *kind,
         json_t **value)
{
        int rc = check_length(o, what, kind, RULES_KIND_MAX - 1);

        if (rc != CTL_OK)
                return rc;
        if (!rules_valid_kind(kind))
                return ctl_usage_error(o->cmd,
                                       "event kind '%s': want lower case "
                                       "letters, digits and '_', starting "
                                       "with a letter",
                                       kind);
        *value = json_string(kind);
        return CTL_OK;
}

static int
arg_case(const struct online *o, const char *what, const char *arg,
         json_t **value)
{
        long long id;

        if (names_number(arg, 1, LLONG_MAX, &id) < 0)
                return ctl_usage_error(o->cmd,
                                       "%s '%.40s': want a case number (a "
                                       "positive whole number)",
                                       what, arg);
        *value = json_integer((json_int_t)id);
        return CTL_OK;
}

static int
arg_limit(const struct online *o, const char *what, const char *arg,
          json_t **value)
{
        long long n;

        if (names_number(arg, 1, HISTORY_MAX, &n) < 0)
                return ctl_usage_error(o->cmd,
                                       "%s '%.40s': want a number from 1 to "
                                       "%d",
                                       what, arg, HISTORY_MAX);
        *value = json_integer((json_int_t)n);
        return CTL_OK;
}

/* A token's name, as the daemon takes it. */
static int
arg_token_name(const struct online *o, const char *what, const char *name,
               json_t **value)
{
        if (!token_name_valid(name))
                return ctl_usage_error(o->cmd,
                                       "%s '%.40s': want 1 to %d letters, "
                                       "digits, '.', '_', '-' or '@'",
                                       what, name, TOKEN_NAME_MAX);
        *value = json_string(name);
        return CTL_OK;
}

static int
arg_role(const struct online *o, const char *what, const char *name,
         json_t **value)
{
        enum role role;

        if (roles_parse(name, &role) < 0)
                return ctl_usage_error(o->cmd, "%s '%.40s': want %s", what,
                                       name, ROLES_NAMES);
        *value = json_string(name);
        return CTL_OK;
}

/* A file for the daemon to write: made absolute against our directory. */
static int
arg_file(const struct online *o, const char *what, const char *arg,
         json_t **value)
{
        char cwd[4096], *path;
        int rc = check_length(o, what, arg, 2048);

        if (rc != CTL_OK)
                return rc;
        if (arg[0] == '/') {
                *value = json_string(arg);
        } else {
                if (getcwd(cwd, sizeof(cwd)) == NULL)
                        return ctl_usage_error(o->cmd,
                                               "%s '%.40s': give an absolute "
                                               "path",
                                               what, arg);
                if (asprintf(&path, "%s/%s", cwd, arg) < 0)
                        return ctl_usage_error(o->cmd, "out of memory");
                *value = json_string(path);
                free(path);
        }
        if (*value == NULL)
                return ctl_usage_error(o->cmd, "%s: not valid UTF-8", what);
        return CTL_OK;
}

/* Only a notification opens a case. */
static int
event_check(const struct online *o, const json_t *req)
{
        if (json_is_true(json_object_get(req, "new_case")) &&
            strcmp(json_string_value(json_object_get(req, "kind")),
                   "notification") != 0)
                return ctl_usage_error(o->cmd, "--new-case: only a "
                                               "notification opens a case");
        return CTL_OK;
}

/*
 * The daemon reads --at itself, in the trust's zone; checking it here gives
 * the same usage error as plan.
 */
static int
at_ready(const struct online *o, const json_t *req)
{
        const char *at = json_string_value(json_object_get(req, "at"));
        enum tz_fold fold;
        char *cause = NULL;
        int64_t utc;
        int rc;

        if (at == NULL ||
            timefmt_parse(o->conf->tz, at, &utc, &fold, &cause) == 0)
                return CTL_OK;
        rc = ctl_usage_error(o->cmd, "--at %s", cause);
        free(cause);
        return rc;
}

/* --- Talking to the daemon ---------------------------------------------- */

/*
 * Sends `req` to the daemon's control endpoint and waits up to o->timeout
 * seconds for the reply. Returns the reply, an object with a boolean "ok",
 * owned by the caller; or NULL after saying on stderr what went wrong.
 */
static json_t *
ask(struct online *o, const json_t *req)
{
        enum cclient_error err;
        char *endpoint, *cause = NULL;
        json_t *reply = NULL;

        if (o->client == NULL) {
                endpoint = conf_endpoint_path(o->conf->daemon.control);
                o->client = cclient_new(endpoint, o->conf, 0);
                free(endpoint);
                if (o->client == NULL) {
                        fprintf(stderr, "ofsted-notifyctl: ZeroMQ: %s\n",
                                strerror(errno));
                        return NULL;
                }
        }
        if (cclient_request(o->client, req, o->timeout * 1000, &reply, &err,
                            &cause) < 0) {
                if (err == CCLIENT_TOO_BIG)
                        fprintf(stderr, "ofsted-notifyctl %s: %s\n", o->cmd,
                                cause);
                else
                        fprintf(stderr, "ofsted-notifyctl: %s\n", cause);
                free(cause);
        }
        return reply;
}

/*
 * Sends `req` and reports the reply: with --json the reply object as it
 * came, refusals included; for people through `print` when the daemon
 * agreed. A refusal goes to stderr as "ofsted-notifyctl CMD: error", then
 * each of its "errors". Returns the exit status.
 */
static int
ask_print(struct online *o, json_t *req, print_fn print)
{
        json_t *reply, *errors;
        char *dump;
        size_t i;
        json_t *v;
        int rc = CTL_FAILED;

        o->req = req;
        reply = ask(o, req);
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

                print_say(stderr, "ofsted-notifyctl %s: %s\n", o->cmd,
                          err != NULL ? err
                                      : "refused by the daemon, which gave "
                                        "no reason");
                errors = json_object_get(reply, "errors");
                json_array_foreach(errors, i, v)
                {
                        if (json_is_string(v))
                                print_say(stderr, "%s\n", json_string_value(v));
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
        return rc;
}

/* ics: the calendar is written for a web server to serve, so a short
 * file must not pass. */
static int
ask_ics(struct online *o, json_t *req, print_fn print)
{
        int rc = ask_print(o, req, print);

        if (rc == CTL_OK && ferror(stdout)) {
                fprintf(stderr,
                        "ofsted-notifyctl %s: cannot write the calendar\n",
                        o->cmd);
                rc = CTL_FAILED;
        }
        return rc;
}

/*
 * One look at the delivery `uid`: its row from `history`, or NULL after
 * saying why not.
 */
static json_t *
delivery_row(struct online *o, const char *uid)
{
        json_t *req =
            json_pack("{s:s, s:s}", "cmd", "history", "delivery", uid);
        json_t *reply = ask(o, req), *row = NULL;

        json_decref(req);
        if (reply != NULL && json_is_true(json_object_get(reply, "ok")))
                row = json_incref(
                    json_array_get(json_object_get(reply, "deliveries"), 0));
        else if (reply != NULL)
                print_say(stderr, "ofsted-notifyctl %s: %s\n", o->cmd,
                          json_string_value(json_object_get(reply, "error")));
        json_decref(reply);
        return row;
}

/*
 * test CHANNEL: a clearly marked test alert through the real path (the
 * daemon, dispatch, a worker, the service), then its outcome, asked for
 * every 250 ms. Exit 0 when delivered, 1 when it failed or did not settle
 * in time.
 */
/* Whether the test went to an email channel of a group with oauth2. */
static bool
signs_in(const struct online *o, const json_t *reply)
{
        const char *type = json_string_value(json_object_get(reply, "type"));

        return type != NULL && strcmp(type, "email") == 0 &&
               o->conf->email.present &&
               o->conf->email.oauth2.provider != OAUTH2_NONE;
}

/* The delivery's last error when the email sign-in holds it, or NULL. */
static const char *
signin_error(const json_t *row)
{
        const char *e = json_string_value(json_object_get(row, "last_error"));

        return e != NULL && strncmp(e, "email sign-in: ", 15) == 0 ? e : NULL;
}

static int
ask_test(struct online *o, json_t *req, print_fn print)
{
        const char *name = json_string_value(json_object_get(req, "channel"));
        const char *uid, *status = "pending";
        json_t *reply = NULL, *row = NULL;
        char b[64];
        int64_t deadline;
        int rc = CTL_FAILED;

        (void)print;
        reply = ask(o, req);
        if (reply == NULL)
                goto out;
        if (!json_is_true(json_object_get(reply, "ok"))) {
                print_say(stderr, "ofsted-notifyctl %s: %s\n", o->cmd,
                          json_string_value(json_object_get(reply, "error")));
                goto out;
        }
        uid = json_string_value(json_object_get(reply, "delivery"));
        if (!o->json)
                print_say(stdout,
                          "Test alert %s to '%s' (%s) queued; waiting up to "
                          "%d s for its outcome.\n",
                          uid ? uid : "?", name,
                          json_string_value(json_object_get(reply, "type")),
                          o->timeout);
        deadline = os_mono_ms() + (int64_t)o->timeout * 1000;
        while (uid != NULL && os_mono_ms() < deadline) {
                json_decref(row);
                row = delivery_row(o, uid);
                if (row == NULL)
                        goto out;
                status = json_string_value(json_object_get(row, "status"));
                if (status != NULL && (strcmp(status, "delivered") == 0 ||
                                       strcmp(status, "failed") == 0))
                        break;
                usleep(250 * 1000);
        }
        if (o->json && row != NULL) {
                char *dump = json_dumps(row, JSON_INDENT(2));

                printf("%s\n", dump);
                free(dump);
        }
        if (status != NULL && strcmp(status, "delivered") == 0) {
                if (!o->json && signs_in(o, reply))
                        print_say(stdout,
                                  "Email sign-in: a token from the token "
                                  "endpoint, taken by the server.\n");
                if (!o->json)
                        print_say(stdout, "Delivered (%s attempt(s)).\n",
                                  print_field(row, "attempts", b, sizeof(b)));
                rc = CTL_OK;
        } else if (status != NULL && strcmp(status, "failed") == 0) {
                print_say(stderr, "ofsted-notifyctl %s: failed: %s\n", o->cmd,
                          print_field(row, "last_error", b, sizeof(b)));
        } else if (signin_error(row) != NULL) {
                /* The sign-in step, in words: it holds the delivery. */
                print_say(stderr,
                          "ofsted-notifyctl %s: Sign-in failed: %s; the "
                          "delivery waits and is tried again (status and "
                          "history show it)\n",
                          o->cmd, signin_error(row));
        } else {
                print_say(stderr,
                          "ofsted-notifyctl %s: still %s after %d s: is an "
                          "ofsted-notify-worker of the right kind running? "
                          "(history will show the outcome later)\n",
                          o->cmd, status ? status : "?", o->timeout);
        }
out:
        fflush(stdout);
        json_decref(row);
        json_decref(reply);
        return rc;
}

/* watch: the feed, not a request (watch.c). */
static int
follow(struct online *o, json_t *req, print_fn print)
{
        (void)print;
        return watch_run(o, json_string_value(json_object_get(req, "school")));
}

/* --- The commands ------------------------------------------------------- */

/* What every event command takes besides its kind. */
/* clang-format off */
#define EVENT_OPTIONS {                                                 \
        { "school", "URN", "school", arg_urn, REQUIRED },               \
        { "at", "TIME", "at", arg_at, OPTIONAL },                       \
        { "contact", "TEXT", "contact", arg_text, OPTIONAL },           \
        { "note", "TEXT", "note", arg_text, OPTIONAL },                 \
        { "new-case", NULL, "new_case", arg_flag, OPTIONAL },           \
}
/* An event command that records one kind. */
#define EVENT(cmd, kind) {                                              \
        .name = cmd,                                                    \
        .request = "{\"cmd\": \"event\", \"kind\": \"" kind "\"}",      \
        .opts = EVENT_OPTIONS,                                          \
        .check = event_check,                                           \
        .ready = at_ready,                                              \
        .print = print_event,                                           \
}
#define SCHOOL_OPTION { "school", "URN", "school", arg_urn, OPTIONAL }
/* clang-format on */

static const struct online_cmd commands[] = {
        EVENT("notify", "notification"),
        EVENT("pause", "pause"),
        EVENT("resume", "resume"),
        EVENT("conclude", "conclusion"),
        EVENT("defer", "deferred"),
        EVENT("cancel", "cancelled"),
        {
            .name = "event",
            .request = "{\"cmd\": \"event\"}",
            .pos = { "event KIND", "kind", arg_kind,
                     "the event KIND is required, as in 'event KIND "
                     "--school URN'",
                     false },
            .opts = EVENT_OPTIONS,
            .check = event_check,
            .ready = at_ready,
            .print = print_event,
        },
        {
            .name = "list",
            .request = "{\"cmd\": \"list\", \"all\": false}",
            .opts = { { "all", NULL, "all", arg_flag, OPTIONAL } },
            .print = print_list,
        },
        {
            .name = "show",
            .request = "{\"cmd\": \"show\"}",
            .opts = { { "case", "N", "case", arg_case, ONE_OF },
                      { "school", "URN", "school", arg_urn, ONE_OF } },
            .print = print_show,
        },
        {
            .name = "ack",
            .request = "{\"cmd\": \"ack\"}",
            .opts = { { "case", "N", "case", arg_case, ONE_OF },
                      { "school", "URN", "school", arg_urn, ONE_OF },
                      { "rule", "RULE", "rule", arg_kind, REQUIRED },
                      { "note", "TEXT", "note", arg_text, OPTIONAL } },
            .print = print_ack,
        },
        {
            .name = "upcoming",
            .request = "{\"cmd\": \"upcoming\"}",
            .opts = { SCHOOL_OPTION },
            .print = print_upcoming,
        },
        {
            /* upcoming, as a calendar */
            .name = "ics",
            .request = "{\"cmd\": \"deadlines\"}",
            .flags = NO_JSON,
            .opts = { SCHOOL_OPTION },
            .print = print_ics,
            .exec = ask_ics,
        },
        {
            .name = "history",
            .request = "{\"cmd\": \"history\"}",
            .opts = { SCHOOL_OPTION,
                      { "limit", "N", "limit", arg_limit, OPTIONAL } },
            .print = print_history,
        },
        {
            .name = "status",
            .request = "{\"cmd\": \"status\"}",
            .print = print_status,
        },
        {
            .name = "reload",
            .request = "{\"cmd\": \"reload\"}",
            .print = print_reload,
        },
        {
            .name = "test",
            .request = "{\"cmd\": \"test\"}",
            .pos = { "CHANNEL", "channel", arg_text,
                     "give exactly one CHANNEL, as named in the config", true },
            .exec = ask_test,
        },
        {
            .name = "token create",
            .request = "{\"cmd\": \"token_create\"}",
            .pos = { "NAME", "name", arg_token_name,
                     "give the token's NAME, as in 'token create NAME "
                     "--role ROLE'",
                     true },
            .opts = { { "role", "ROLE", "role", arg_role, REQUIRED },
                      { "school", "URN", "schools", arg_urn, REPEATED } },
            .print = print_token,
        },
        {
            .name = "token list",
            .request = "{\"cmd\": \"token_list\"}",
            .print = print_tokens,
        },
        {
            .name = "token revoke",
            .request = "{\"cmd\": \"token_revoke\"}",
            .pos = { "NAME", "name", arg_token_name,
                     "give the NAME of the token to revoke", true },
            .print = print_revoked,
        },
        {
            .name = "backup",
            .request = "{\"cmd\": \"backup\"}",
            .pos = { "FILE", "file", arg_file, "give at most one FILE", true,
                     true },
            .print = print_backup,
        },
        {
            .name = "audit",
            .request = "{\"cmd\": \"audit\"}",
            .opts = { { "since", "TIME", "since", arg_at, OPTIONAL },
                      SCHOOL_OPTION,
                      { "case", "N", "case", arg_case, OPTIONAL },
                      { "limit", "N", "limit", arg_limit, OPTIONAL } },
            .print = print_audit,
        },
        {
            .name = "export",
            .request = "{\"cmd\": \"export\"}",
            .opts = { SCHOOL_OPTION },
            .print = print_export,
        },
        {
            .name = "watch",
            .flags = NO_TIMEOUT,
            .opts = { SCHOOL_OPTION },
            .print = print_alert,
            .exec = follow,
        },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* --- The runner --------------------------------------------------------- */

static const struct online_cmd *
find_command(const char *name)
{
        for (size_t i = 0; i < NCOMMANDS; i++) {
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        }
        return NULL;
}

/* The options of `cmd` for getopt_long(): the shared ones, then its own. */
static void
long_options(const struct online_cmd *cmd, struct option *out)
{
        size_t n = 0;

        out[n++] = (struct option){ "config", required_argument, NULL, 'c' };
        if (!(cmd->flags & NO_JSON))
                out[n++] =
                    (struct option){ "json", no_argument, NULL, OPT_JSON };
        if (!(cmd->flags & NO_TIMEOUT))
                out[n++] = (struct option){ "timeout", required_argument, NULL,
                                            OPT_TIMEOUT };
        for (size_t i = 0; i < OPTS_MAX && cmd->opts[i].name != NULL; i++)
                out[n++] = (struct option){ cmd->opts[i].name,
                                            cmd->opts[i].metavar != NULL
                                                ? required_argument
                                                : no_argument,
                                            NULL, OPT_ROW + (int)i };
        out[n] = (struct option){ NULL, 0, NULL, 0 };
}

/*
 * Reads the options into o and args[] (each option's last argument, "" for
 * a flag given). CTL_OK, or a usage error printed.
 */
static int
parse_options(struct online *o, const struct online_cmd *cmd, int argc,
              char **argv, const char **args, json_t *repeated)
{
        struct option opts[OPTS_MAX + 4];
        const struct online_opt *opt;
        char what[32];
        json_t *value;
        long long v;
        int ch, rc;

        long_options(cmd, opts);
        while ((ch = ctl_getopt(o->ctl, argc, argv, "c:", opts)) != -1) {
                if (ch >= OPT_ROW && ch < OPT_ROW + OPTS_MAX &&
                    cmd->opts[ch - OPT_ROW].presence == REPEATED) {
                        /* Checked as it comes, kept in order. */
                        opt = &cmd->opts[ch - OPT_ROW];
                        snprintf(what, sizeof(what), "--%s", opt->name);
                        rc = opt->check(o, what, optarg, &value);
                        if (rc != CTL_OK)
                                return rc;
                        if (json_object_get(repeated, opt->key) == NULL)
                                json_object_set_new(repeated, opt->key,
                                                    json_array());
                        json_array_append_new(
                            json_object_get(repeated, opt->key), value);
                } else if (ch >= OPT_ROW && ch < OPT_ROW + OPTS_MAX) {
                        args[ch - OPT_ROW] = optarg != NULL ? optarg : "";
                } else if (ch == OPT_JSON) {
                        o->json = true;
                } else if (ch == OPT_TIMEOUT) {
                        if (names_number(optarg, 1, TIMEOUT_MAX, &v) < 0)
                                return ctl_usage_error(o->cmd,
                                                       "--timeout '%.40s': "
                                                       "want whole seconds "
                                                       "from 1 to %d",
                                                       optarg, TIMEOUT_MAX);
                        o->timeout = (int)v;
                } else {
                        return ctl_usage_error(o->cmd, "bad option");
                }
        }
        return CTL_OK;
}

/* Whether the ONE_OF options of `cmd` were given exactly once between them;
 * if not, says which to give. */
static int
check_one_of(const struct online *o, const struct online_cmd *cmd,
             const char *const *args)
{
        char list[160] = "";
        size_t given = 0, n = 0;

        for (size_t i = 0; i < OPTS_MAX && cmd->opts[i].name != NULL; i++) {
                const struct online_opt *opt = &cmd->opts[i];
                size_t len = strlen(list);

                if (opt->presence != ONE_OF)
                        continue;
                given += args[i] != NULL;
                snprintf(list + len, sizeof(list) - len, "%s--%s %s",
                         n++ > 0 ? " and " : "", opt->name, opt->metavar);
        }
        if (n > 0 && given != 1)
                return ctl_usage_error(o->cmd, "give one of %s", list);
        return CTL_OK;
}

/*
 * The arguments after the options, the presence of each option, then each
 * option's validator in the row's order: the request, or a usage error.
 */
static int
build_request(const struct online *o, const struct online_cmd *cmd, int argc,
              char **argv, const char *const *args, json_t *req)
{
        char what[32];
        json_t *value = NULL;
        int rc;

        if (cmd->pos.key != NULL && !(cmd->pos.optional && optind >= argc)) {
                if (optind >= argc || (cmd->pos.alone && optind != argc - 1))
                        return ctl_usage_error(o->cmd, "%s", cmd->pos.missing);
                rc = cmd->pos.check(o, cmd->pos.what, argv[optind++], &value);
                if (rc != CTL_OK)
                        return rc;
                json_object_set_new(req, cmd->pos.key, value);
        }
        if (optind < argc)
                return ctl_usage_error(o->cmd, "unexpected argument '%s'",
                                       argv[optind]);
        for (size_t i = 0; i < OPTS_MAX && cmd->opts[i].name != NULL; i++) {
                if (cmd->opts[i].presence == REQUIRED && args[i] == NULL)
                        return ctl_usage_error(o->cmd, "--%s %s is required",
                                               cmd->opts[i].name,
                                               cmd->opts[i].metavar);
        }
        rc = check_one_of(o, cmd, args);
        for (size_t i = 0;
             rc == CTL_OK && i < OPTS_MAX && cmd->opts[i].name != NULL; i++) {
                if (args[i] == NULL)
                        continue;
                snprintf(what, sizeof(what), "--%s", cmd->opts[i].name);
                rc = cmd->opts[i].check(o, what, args[i], &value);
                if (rc == CTL_OK)
                        json_object_set_new(req, cmd->opts[i].key, value);
        }
        if (rc == CTL_OK && cmd->check != NULL)
                rc = cmd->check(o, req);
        return rc;
}

int
cmd_online(struct ctl *ctl, int argc, char **argv)
{
        const struct online_cmd *cmd;
        struct online o = { .ctl = ctl,
                            .cmd = argv[0],
                            .timeout = TIMEOUT_DEFAULT };
        const char *args[OPTS_MAX] = { NULL };
        json_t *req = NULL, *repeated = json_object();
        char name[32];
        int rc;

        /* "token create ...": a command of two words, run as the second. */
        if (strcmp(argv[0], "token") == 0) {
                if (argc < 2 || argv[1][0] == '-')
                        return ctl_usage_error("token",
                                               "give 'create', 'list' or "
                                               "'revoke'");
                snprintf(name, sizeof(name), "token %.20s", argv[1]);
                argc--;
                argv++;
                o.cmd = name;
        }
        cmd = find_command(o.cmd);
        if (cmd == NULL) {
                json_decref(repeated);
                return ctl_usage_error(NULL, "unknown command '%s'", o.cmd);
        }
        rc = parse_options(&o, cmd, argc, argv, args, repeated);
        if (rc != CTL_OK) {
                json_decref(repeated);
                return rc;
        }
        req = cmd->request != NULL ? json_loads(cmd->request, 0, NULL)
                                   : json_object();
        if (req == NULL)
                abort(); /* a row's request is not JSON: a bug */
        json_object_update(req, repeated);
        json_decref(repeated);
        rc = build_request(&o, cmd, argc, argv, args, req);
        if (rc != CTL_OK)
                goto out;
        o.conf = ctl_load_conf(ctl);
        if (o.conf == NULL) {
                rc = CONF_EXIT;
                goto out;
        }
        if (cmd->ready != NULL) {
                rc = cmd->ready(&o, req);
                if (rc != CTL_OK)
                        goto out;
        }
        rc = (cmd->exec != NULL ? cmd->exec : ask_print)(&o, req, cmd->print);
out:
        cclient_destroy(&o.client);
        conf_destroy(&o.conf);
        json_decref(req);
        return rc;
}
