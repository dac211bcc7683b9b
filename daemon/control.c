#include "control.h"
#include "control_int.h"

#include "log.h"
#include "names.h"
#include "proto.h"
#include "roles.h"
#include "rules.h"
#include "sched.h"
#include "timefmt.h"
#include "token.h"
#include "xalloc.h"
#include "zframes.h"

#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/* A request's envelope and its two frames, with room to spare: more is
 * refused. */
#define MAX_FRAMES 8

/* Events may be recorded up to a year either side of now. */
#define MAX_EVENT_SKEW (366LL * 86400)

struct command {
        const char *name;
        control_cmd *run;
        const char *const *keys; /* allowed keys besides "cmd" */
};

/* Refuses keys the command does not take (a typo must not pass). */
static json_t *
check_keys(json_t *req, const struct command *cmd)
{
        const char *key;
        json_t *v;

        json_object_foreach(req, key, v)
        {
                bool ok = strcmp(key, "cmd") == 0;

                for (size_t i = 0; !ok && cmd->keys[i] != NULL; i++)
                        ok = strcmp(key, cmd->keys[i]) == 0;
                if (!ok)
                        return proto_error("%s: unknown field '%.64s'",
                                           cmd->name, key);
        }
        return NULL;
}

/* Characters, not bytes: jansson has already checked the UTF-8. */
static size_t
utf8_chars(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

/*
 * An optional string field: *out NULL when absent. Returns the refusal when
 * it is not a string, too long, or holds control characters.
 */
json_t *
opt_text(json_t *req, const char *key, size_t max, const char **out)
{
        json_t *v = json_object_get(req, key);
        const char *s;

        *out = NULL;
        if (v == NULL || json_is_null(v))
                return NULL;
        if (!json_is_string(v))
                return proto_error("'%s' must be a string", key);
        s = json_string_value(v);
        if (utf8_chars(s) > max)
                return proto_error("'%s' is longer than %zu characters", key,
                                   max);
        if (strlen(s) != json_string_length(v))
                return proto_error("'%s' contains a NUL character", key);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return proto_error("'%s' contains a control "
                                           "character",
                                           key);
        }
        *out = s;
        return NULL;
}

json_t *
opt_bool(json_t *req, const char *key, bool *out)
{
        json_t *v = json_object_get(req, key);

        *out = false;
        if (v == NULL)
                return NULL;
        if (!json_is_boolean(v))
                return proto_error("'%s' must be true or false", key);
        *out = json_is_true(v);
        return NULL;
}

json_t *
opt_int(json_t *req, const char *key, json_int_t min, json_int_t max,
        json_int_t *out)
{
        json_t *v = json_object_get(req, key);

        if (v == NULL)
                return NULL;
        if (!json_is_integer(v) || json_integer_value(v) < min ||
            json_integer_value(v) > max)
                return proto_error("'%s' must be a whole number from %lld to "
                                   "%lld",
                                   key, (long long)min, (long long)max);
        *out = json_integer_value(v);
        return NULL;
}

/* A URN field naming a school of the config; *school set. */
json_t *
school_field(struct control_ctx *ctx, json_t *req, bool required,
             const struct school **school)
{
        const char *urn;
        json_t *err = opt_text(req, "school", 16, &urn);

        *school = NULL;
        if (err != NULL)
                return err;
        if (urn == NULL)
                return required ? proto_error("'school' (a URN) is required")
                                : NULL;
        if (!names_valid_urn(urn))
                return proto_error("school '%s' is not a URN (6 digits)", urn);
        *school = conf_school(ctx->conf, urn);
        if (*school == NULL)
                return proto_error("unknown school %s: it is not in %s", urn,
                                   ctx->conf->path);
        return NULL;
}

/* A "schools" field, when present: an array of URNs of the config. */
json_t *
school_list(struct control_ctx *ctx, json_t *v)
{
        json_t *e;
        size_t i;

        if (v != NULL && !json_is_array(v))
                return proto_error("'schools' must be an array of URNs");
        json_array_foreach(v, i, e)
        {
                const char *urn = json_string_value(e);

                if (urn == NULL || !names_valid_urn(urn))
                        return proto_error("schools[%zu] is not a URN (6 "
                                           "digits)",
                                           i);
                if (conf_school(ctx->conf, urn) == NULL)
                        return proto_error("unknown school %s: it is not in "
                                           "%s",
                                           urn, ctx->conf->path);
        }
        return NULL;
}

/* Adds "name" beside the "school" URN of object `o`, when a school's. */
static void
add_name(const struct conf *conf, json_t *o)
{
        const char *urn = json_string_value(json_object_get(o, "school"));
        const struct school *s = urn ? conf_school(conf, urn) : NULL;

        if (s != NULL)
                json_object_set_new(o, "name", json_string(s->name));
}

/* Adds "name" beside each "school" URN in an array of objects. */
static void
add_names(const struct conf *conf, json_t *arr)
{
        size_t i;
        json_t *o;

        json_array_foreach(arr, i, o)
        {
                add_name(conf, o);
        }
}

/* view() of rows that name schools, each row given its school's name. */
static json_t *
named_view(const struct conf *conf, json_t *v, const char *key, char *cause)
{
        if (v != NULL)
                add_names(conf, v);
        return view(v, key, cause);
}

json_t *
case_field(struct control_ctx *ctx, json_t *req, const char *neither,
           int64_t *out)
{
        const struct school *school;
        struct store_case c;
        json_int_t id = 0;
        char *cause = NULL;
        json_t *err;
        int rc;

        if ((err = opt_int(req, "case", 1, INT64_MAX, &id)) != NULL ||
            (err = school_field(ctx, req, false, &school)) != NULL)
                return err;
        if ((id == 0) == (school == NULL))
                return proto_error("%s", neither);
        *out = id;
        if (school == NULL)
                return NULL;
        rc = store_case_current(ctx->st, school->urn, &c, &cause);
        if (rc != 0) {
                err = rc < 0 ? proto_error("internal error: %s", cause)
                             : refusal(proto_error("school %s has no open "
                                                   "case",
                                                   school->urn),
                                       "not_found");
                free(cause);
                return err;
        }
        *out = c.id;
        return NULL;
}

json_t *
write_refusal(struct control_ctx *ctx, const char *cause)
{
        const char *fault;

        if (store_fault(ctx->st, &fault) != STORE_OK)
                return proto_error("%s; nothing was recorded", fault);
        return proto_error("internal error: %s", cause);
}

/*
 * Before a write a person asked for: when the state database had a fault,
 * tries it now rather than refuse on the strength of the last probe (the
 * space may have come back a moment ago).
 */
void
retry_store(struct control_ctx *ctx)
{
        if (store_fault(ctx->st, NULL) != STORE_OK)
                store_probe(ctx->st, NULL);
}

/* Wraps a store view: {"ok": true, key: view} or the error. */
json_t *
view(json_t *v, const char *key, char *cause)
{
        json_t *reply;

        if (v == NULL) {
                reply = proto_error("%s", cause ? cause : "no such thing");
                free(cause);
                return reply;
        }
        reply = proto_ok();
        json_object_set_new(reply, key, v);
        return reply;
}

/* Whether `s` is an actor the web may name: "token:NAME" or
 * "user:EMAIL", printable ASCII without spaces or quotes. */
static bool
valid_actor(const char *s)
{
        const char *rest;

        if (strncmp(s, "token:", 6) == 0)
                rest = s + 6;
        else if (strncmp(s, "user:", 5) == 0)
                rest = s + 5;
        else
                return false;
        if (rest[0] == '\0' || strlen(s) > ACTOR_MAX)
                return false;
        for (; *rest; rest++) {
                if (*rest <= 0x20 || *rest >= 0x7f || *rest == '"' ||
                    *rest == '\'' || *rest == '\\')
                        return false;
        }
        return true;
}

/* Whether `uid` is the config's web.user (the web service's account). */
static bool
is_web_user(const struct conf *conf, uid_t uid)
{
        struct passwd pw, *res = NULL;
        char buf[1024];

        return conf->web.user != NULL &&
               getpwnam_r(conf->web.user, &pw, buf, sizeof(buf), &res) == 0 &&
               res != NULL && res->pw_uid == uid;
}

/*
 * Who makes request `r`, into out: the "actor" it names when the web
 * service sends it on someone's behalf, else the peer itself
 * ("unix:USER", "curve:NAME"). Returns the refusal when it names an
 * actor it may not.
 */
json_t *
request_actor(struct control_ctx *ctx, const struct request *r, char *out,
              size_t len)
{
        const struct control_peer *peer = r->peer;
        const char *named;
        json_t *err = opt_text(r->body, "actor", ACTOR_MAX, &named);
        struct passwd pw, *res = NULL;
        char buf[1024];

        if (err != NULL)
                return err;
        if (named != NULL) {
                if (!valid_actor(named))
                        return proto_error("'actor' must be token:NAME or "
                                           "user:EMAIL");
                if (peer == NULL || !peer->has_uid ||
                    !is_web_user(ctx->conf, peer->uid))
                        return proto_error("'actor' is taken only from the "
                                           "web service's user '%s' "
                                           "(web.user)",
                                           ctx->conf->web.user);
                snprintf(out, len, "%s", named);
        } else if (peer != NULL && peer->has_uid) {
                if (getpwuid_r(peer->uid, &pw, buf, sizeof(buf), &res) == 0 &&
                    res != NULL)
                        snprintf(out, len, "unix:%s", res->pw_name);
                else
                        snprintf(out, len, "unix:%lu",
                                 (unsigned long)peer->uid);
        } else if (peer != NULL && peer->key_name != NULL) {
                snprintf(out, len, "curve:%s", peer->key_name);
        } else {
                snprintf(out, len, "unknown");
        }
        return NULL;
}

/* A refusal with a "reason" a client can act on (docs/protocol.md). */
json_t *
refusal(json_t *err, const char *reason)
{
        json_object_set_new(err, "reason", json_string(reason));
        return err;
}

static json_t *
cmd_event(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        json_t *req = r->body;
        const struct conf *conf = ctx->conf;
        struct sched_event ev = { 0 };
        const struct school *school;
        const char *at = NULL;
        enum tz_fold fold;
        char *cause = NULL, actor[ACTOR_MAX + 8], detail[128];
        json_t *err, *reply;

        if ((err = request_actor(ctx, r, actor, sizeof(actor))) != NULL)
                return err;
        ev.actor = actor;
        if ((err = opt_text(req, "kind", RULES_KIND_MAX, &ev.kind)) != NULL ||
            (err = school_field(ctx, req, true, &school)) != NULL ||
            (err = opt_text(req, "at", 64, &at)) != NULL ||
            (err = opt_text(req, "contact", PROTO_MAX_TEXT, &ev.contact)) !=
                NULL ||
            (err = opt_text(req, "note", PROTO_MAX_TEXT, &ev.note)) != NULL ||
            (err = opt_bool(req, "new_case", &ev.new_case)) != NULL)
                return err;
        if (ev.kind == NULL)
                return proto_error("'kind' is required");
        if (!rules_valid_kind(ev.kind) || !conf_known_kind(conf, ev.kind))
                return proto_error("unknown event kind '%s'", ev.kind);
        if (ev.new_case && strcmp(ev.kind, "notification") != 0)
                return proto_error("'new_case' is only for a notification");
        ev.urn = school->urn;
        ev.at = now;
        if (at != NULL) {
                if (timefmt_parse(conf->tz, at, &ev.at, &fold, &cause) < 0) {
                        err = proto_error("at: %s", cause);
                        free(cause);
                        return err;
                }
                if (ev.at > now + MAX_EVENT_SKEW ||
                    ev.at < now - MAX_EVENT_SKEW)
                        return proto_error("at '%s' is more than a year from "
                                           "now",
                                           at);
        }
        retry_store(ctx);
        reply = sched_record(ctx->st, conf, &ev, now);
        if (json_is_true(json_object_get(reply, "ok"))) {
                snprintf(detail, sizeof(detail), "%s at %s", ev.kind,
                         at != NULL ? at : "now");
                control_audit(
                    ctx, r, now, NULL, "event", ev.urn,
                    json_integer_value(json_object_get(reply, "case")), detail);
        }
        return reply;
}

static json_t *
cmd_list(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        json_t *req = r->body;
        char *cause = NULL;
        json_t *err, *v;
        bool all;

        (void)now;
        if ((err = opt_bool(req, "all", &all)) != NULL)
                return err;
        v = store_json_cases(ctx->st, ctx->conf->tz, all, &cause);
        return named_view(ctx->conf, v, "cases", cause);
}

static json_t *
cmd_show(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        char *cause = NULL;
        json_t *err, *v;
        int64_t id = 0;

        (void)now;
        if ((err = case_field(ctx, r->body,
                              "show needs one of 'case' and 'school'", &id)) !=
            NULL)
                return err;
        v = store_json_case(ctx->st, ctx->conf->tz, id, &cause);
        if (v != NULL)
                add_name(ctx->conf, v);
        if (v == NULL && cause != NULL && strncmp(cause, "no case ", 8) == 0)
                return refusal(view(v, "case", cause), "not_found");
        return view(v, "case", cause);
}

static json_t *
cmd_upcoming(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        json_t *req = r->body;
        const struct school *school;
        char *cause = NULL;
        json_t *err, *v;

        (void)now;
        if ((err = school_field(ctx, req, false, &school)) != NULL)
                return err;
        v = store_json_upcoming(ctx->st, ctx->conf->tz,
                                school ? school->urn : NULL, &cause);
        return named_view(ctx->conf, v, "alerts", cause);
}

/*
 * deadlines: every standing deadline (at `now`), of the given "school" or
 * of all, soonest first, whatever its alerts' states: the calendar feed's
 * events. Like upcoming, the caller keeps the rows it may show.
 */
static json_t *
cmd_deadlines(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        const struct school *school;
        char *cause = NULL;
        json_t *err, *v;

        if ((err = school_field(ctx, r->body, false, &school)) != NULL)
                return err;
        v = store_json_deadlines(ctx->st, ctx->conf->tz,
                                 school ? school->urn : NULL, now, &cause);
        return named_view(ctx->conf, v, "deadlines", cause);
}

/*
 * schools: each school's current case with its soonest standing deadline
 * (at `now`) and its next alert (the web's dashboard, GET /api/v1/schools), of
 * the given "schools" or of every school; one read, where list and upcoming
 * together would carry every case and every pending alert. With "token" (the
 * web's bearer token), the token's holder is resolved in the same request, as
 * token_auth does, and the rows are those of the schools its role sees:
 * one round trip for the web where two were.
 */
static json_t *
cmd_schools(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        json_t *v = json_object_get(r->body, "schools"), *err, *got;
        json_t *holder = NULL, *reply;
        const char **urns, *token;
        char *cause = NULL;
        enum role role;
        size_t n;

        if ((err = opt_text(r->body, "token", TOKEN_LEN, &token)) != NULL)
                return err;
        if (token != NULL && v != NULL)
                return proto_error("'schools' is the token's with 'token': "
                                   "give one of them");
        if (token != NULL) {
                if ((err = control_token_holder(ctx, token, false, &holder)) !=
                    NULL)
                        return err;
                /* A role that names no schools sees none. */
                if (roles_parse(
                        json_string_value(json_object_get(holder, "role")),
                        &role) < 0 ||
                    !roles_every_school(role))
                        v = json_object_get(holder, "schools");
        } else if ((err = school_list(ctx, v)) != NULL)
                return err;
        n = json_array_size(v);
        urns = xreallocarray(NULL, n + 1, sizeof(*urns));
        for (size_t i = 0; i < n; i++)
                urns[i] = json_string_value(json_array_get(v, i));
        got = store_json_schools(ctx->st, ctx->conf->tz,
                                 v != NULL ? urns : NULL, n, now, &cause);
        free(urns);
        reply = view(got, "schools", cause);
        if (holder != NULL && json_is_true(json_object_get(reply, "ok")))
                json_object_set(reply, "token", holder);
        json_decref(holder);
        return reply;
}

static json_t *
cmd_history(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        json_t *req = r->body;
        const struct school *school;
        const char *uid;
        json_int_t limit = 100;
        char *cause = NULL;
        json_t *err, *v;

        (void)now;
        if ((err = school_field(ctx, req, false, &school)) != NULL ||
            (err = opt_text(req, "delivery", 64, &uid)) != NULL ||
            (err = opt_int(req, "limit", 1, 1000, &limit)) != NULL)
                return err;
        v = store_json_history(ctx->st, ctx->conf->tz,
                               school ? school->urn : NULL, uid, (int)limit,
                               &cause);
        return named_view(ctx->conf, v, "deliveries", cause);
}

static json_t *
cmd_status(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        json_t *req = r->body;
        char buf[TIMEFMT_LEN], *cause = NULL;
        json_t *counts, *reply;
        int64_t next;
        int rc;
        const char *key, *fault = NULL;
        json_t *v;

        (void)req;
        (void)now;
        counts = store_json_counts(ctx->st, ctx->conf->tz, &cause);
        if (counts == NULL)
                return view(NULL, "", cause);
        reply = proto_ok();
        json_object_set_new(reply, "version", json_string(PROJECT_VERSION));
        json_object_set_new(reply, "pid", json_integer(getpid()));
        timefmt_rfc3339(ctx->conf->tz, ctx->started, buf, sizeof(buf));
        json_object_set_new(reply, "started", json_string(buf));
        json_object_set_new(reply, "config", json_string(ctx->conf->path));
        json_object_foreach(counts, key, v)
        {
                json_object_set(reply, key, v);
        }
        json_decref(counts);
        add_names(ctx->conf, json_object_get(reply, "missed"));
        json_object_set_new(reply, "workers",
                            dispatch_json_workers(ctx->dispatch));
        json_object_set_new(reply, "dispatch",
                            dispatch_json_counts(ctx->dispatch));
        /* The stalled workers, "since" as a time of the trust's zone. */
        v = dispatch_json_stalled(ctx->dispatch);
        for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *w = json_array_get(v, i);

                timefmt_rfc3339(
                    ctx->conf->tz,
                    json_integer_value(json_object_get(w, "since")) / 1000, buf,
                    sizeof(buf));
                json_object_set_new(w, "since", json_string(buf));
        }
        json_object_set_new(reply, "stalled", v);
        json_object_set_new(
            reply, "feed",
            json_pack("{s:b}", "watched", feed_watched(ctx->feed)));
        store_fault(ctx->st, &fault);
        json_object_set_new(reply, "database",
                            json_pack("{s:b, s:s?}", "writable", fault == NULL,
                                      "error", fault));
        control_status_ops(ctx, reply, now);
        rc = store_next_alert(ctx->st, &next, &cause);
        if (rc == 0) {
                timefmt_rfc3339(ctx->conf->tz, next, buf, sizeof(buf));
                json_object_set_new(reply, "next_alert", json_string(buf));
        } else {
                json_object_set_new(reply, "next_alert", json_null());
        }
        free(cause);
        return reply;
}

/* A test alert to one channel, through dispatch and a worker. */
static json_t *
cmd_test(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        json_t *req = r->body;
        const struct channel *ch;
        struct store_job job;
        struct alert told;
        const char *name;
        char *cause = NULL;
        json_t *err, *reply;
        int64_t id;

        if ((err = opt_text(req, "channel", 64, &name)) != NULL)
                return err;
        if (name == NULL)
                return proto_error("'channel' is required");
        ch = conf_channel(ctx->conf, name);
        if (ch == NULL)
                return proto_error("unknown channel '%s': it is not in %s",
                                   name, ctx->conf->path);
        retry_store(ctx);
        id = store_test_delivery(ctx->st, ch->name,
                                 conf_channel_type_name(ch->type), now, &cause);
        if (id < 0 || store_job_read(ctx->st, id, &job, &cause) < 0) {
                err = write_refusal(ctx, cause);
                free(cause);
                return err;
        }
        control_audit(ctx, r, now, NULL, "test", NULL, 0, ch->name);
        reply = proto_ok();
        json_object_set_new(reply, "delivery", json_string(job.uid));
        json_object_set_new(reply, "channel", json_string(ch->name));
        json_object_set_new(reply, "type",
                            json_string(conf_channel_type_name(ch->type)));
        /* The alert as the worker's JOB will carry it. */
        sched_alert(ctx->conf, &job.alert, &told);
        json_object_set_new(reply, "alert", alert_encode(&told, ctx->conf->tz));
        store_alert_row_clear(&job.alert);
        return reply;
}

/*
 * signin_mail: a sign-in link of ofsted-notify-web to one of the users,
 * by the first email channel's path (its worker and the email group's
 * relay) to that user's address alone. Only the web service's user may
 * ask; the address must be a user's and the link under web.base_url, so
 * that the web cannot be made to mail anything else to anyone else.
 */
static json_t *
cmd_signin_mail(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        const struct conf *conf = ctx->conf;
        const struct channel *ch = NULL;
        const struct conf_user *u;
        struct store_message m = { 0 };
        const char *to, *url, *base = conf->web.base_url;
        char *subject = NULL, *body = NULL, *cause = NULL, actor[ACTOR_MAX + 8];
        json_t *err, *reply = NULL;
        int64_t id;

        if ((err = opt_text(r->body, "to", 254, &to)) != NULL ||
            (err = opt_text(r->body, "url", 512, &url)) != NULL)
                return err;
        if (to == NULL || url == NULL)
                return proto_error("signin_mail needs 'to' and 'url'");
        if (r->peer == NULL || !r->peer->has_uid ||
            !is_web_user(conf, r->peer->uid))
                return proto_error("signin_mail is taken only from the web "
                                   "service's user '%s' (web.user)",
                                   conf->web.user);
        u = conf_user(conf, to);
        if (u == NULL)
                return refusal(proto_error("'%s' is not in 'users'", to),
                               "not_found");
        if (base == NULL || base[0] == '\0' ||
            strncmp(url, base, strlen(base)) != 0 ||
            strncmp(url + strlen(base), "/signin/", 8) != 0)
                return proto_error("'url' must be a sign-in link under "
                                   "web.base_url");
        for (size_t i = 0; i < conf->nchannels && ch == NULL; i++) {
                if (conf->channels[i].type == CHANNEL_EMAIL)
                        ch = &conf->channels[i];
        }
        if (ch == NULL || !conf->email.present)
                return proto_error("no email channel in %s: a sign-in link "
                                   "cannot be sent",
                                   conf->path);
        xasprintf(&subject, "Sign in to %s's Ofsted alerts",
                  conf->trust.name != NULL ? conf->trust.name : "the trust");
        xasprintf(&body,
                  "Someone asked to sign in to %s's Ofsted alerts as %s.\n"
                  "\n"
                  "Open this link and press \"Sign in\" within %d minutes;"
                  " it works once:\n"
                  "\n"
                  "%s\n"
                  "\n"
                  "If it was not you, ignore this email: nobody can sign in"
                  " without the link.\n",
                  conf->trust.name != NULL ? conf->trust.name : "the trust",
                  u->email, (conf->web.signin_link_seconds + 59) / 60, url);
        snprintf(actor, sizeof(actor), "user:%s", u->email);
        m = (struct store_message){ u->email, subject, body, "signin", actor };
        retry_store(ctx);
        id = store_message_delivery(ctx->st, ch->name,
                                    conf_channel_type_name(ch->type), &m, now,
                                    &cause);
        if (id < 0) {
                reply = write_refusal(ctx, cause);
                goto out;
        }
        /* The link is a secret: never logged. */
        log_info("sign-in link for '%s' queued to channel '%s'", u->email,
                 ch->name);
        reply = proto_ok();
        json_object_set_new(reply, "channel", json_string(ch->name));
out:
        free(subject);
        free(body);
        free(cause);
        return reply;
}

static json_t *
cmd_reload(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        char actor[ACTOR_MAX + 8];
        json_t *reply, *err;

        /* The actor first: a CURVE peer's key name is the old config's,
         * which the reload frees. */
        if ((err = request_actor(ctx, r, actor, sizeof(actor))) != NULL)
                return err;
        reply = ctx->reload(ctx->reload_arg);
        control_audit_as(ctx, r, now, actor, NULL, "reload", NULL, 0,
                         json_is_true(json_object_get(reply, "ok"))
                             ? "configuration reloaded"
                             : "the new configuration has errors");
        return reply;
}

static const char *const event_keys[] = { "kind",    "school", "at",
                                          "contact", "note",   "new_case",
                                          "actor",   NULL };
static const char *const list_keys[] = { "all", NULL };
static const char *const show_keys[] = { "case", "school", NULL };
static const char *const school_keys[] = { "school", NULL };
static const char *const schools_keys[] = { "schools", "token", NULL };
static const char *const history_keys[] = { "school", "delivery", "limit",
                                            NULL };
static const char *const test_keys[] = { "channel", "actor", NULL };
static const char *const signin_mail_keys[] = { "to", "url", NULL };
static const char *const no_keys[] = { NULL };
static const char *const actor_keys[] = { "actor", NULL };

static const struct command commands[] = {
        { "event", cmd_event, event_keys },
        { "list", cmd_list, list_keys },
        { "show", cmd_show, show_keys },
        { "upcoming", cmd_upcoming, school_keys },
        { "schools", cmd_schools, schools_keys },
        { "deadlines", cmd_deadlines, school_keys },
        { "history", cmd_history, history_keys },
        { "status", cmd_status, no_keys },
        { "reload", cmd_reload, actor_keys },
        { "test", cmd_test, test_keys },
        { "token_create", control_token_create, control_token_create_keys },
        { "token_list", control_token_list, no_keys },
        { "token_revoke", control_token_revoke, control_token_revoke_keys },
        { "token_auth", control_token_auth, control_token_auth_keys },
        { "ack", control_ack, control_ack_keys },
        { "link", control_link, control_link_keys },
        { "backup", control_backup, control_backup_keys },
        { "audit", control_audit_list, control_audit_keys },
        { "export", control_export, control_export_keys },
        { "signin_mail", cmd_signin_mail, signin_mail_keys },
};

void
control_peer_of(const struct conf *conf, zmq_msg_t *frame,
                struct control_peer *peer)
{
        const char *addr = zmq_msg_gets(frame, "Peer-Address");
        const char *key = zmq_msg_gets(frame, "User-Id");
        const struct conf_client *client;
        unsigned long uid, gid, pid;
        const char *p;
        int fields = 0;

        *peer = (struct control_peer){ 0 };
        /* ipc://: "ADDRESS:UID:GID:PID", the last three from
         * SO_PEERCRED. (Over tcp:// it is an IP address, whose IPv6
         * colons must not be read so.) */
        if (addr != NULL && !conf_endpoint_tcp(conf->daemon.control)) {
                for (p = addr + strlen(addr); p > addr && fields < 3; p--)
                        fields += p[-1] == ':';
                if (fields == 3 &&
                    sscanf(p, ":%lu:%lu:%lu", &uid, &gid, &pid) == 3) {
                        peer->has_uid = true;
                        peer->uid = (uid_t)uid;
                }
        }
        client = key != NULL ? conf_client_by_key(conf, key) : NULL;
        if (client != NULL)
                peer->key_name = client->name;
}

json_t *
control_handle(struct control_ctx *ctx, const struct control_peer *peer,
               const void *id, size_t idlen, const void *body, size_t len,
               int64_t now)
{
        struct request r = { NULL, peer };
        json_error_t jerr;
        json_t *req = NULL, *reply = NULL;
        const char *name;

        if (idlen != strlen(PROTO_CONTROL_ID) ||
            memcmp(id, PROTO_CONTROL_ID, idlen) != 0)
                return proto_error("unsupported protocol: this daemon speaks "
                                   "%s",
                                   PROTO_CONTROL_ID);
        if (len > PROTO_MAX_REQUEST)
                return proto_error("request larger than %d bytes",
                                   PROTO_MAX_REQUEST);
        req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (req == NULL)
                return proto_error("request is not JSON: %s", jerr.text);
        if (!json_is_object(req)) {
                reply = proto_error("request is not a JSON object");
                goto out;
        }
        name = json_string_value(json_object_get(req, "cmd"));
        if (name == NULL) {
                reply = proto_error("request has no 'cmd'");
                goto out;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(name, commands[i].name) != 0)
                        continue;
                reply = check_keys(req, &commands[i]);
                r.body = req;
                if (reply == NULL)
                        reply = commands[i].run(ctx, &r, now);
                goto out;
        }
        reply = proto_error("unknown command '%.32s'", name);
out:
        json_decref(req);
        return reply;
}

/*
 * One message: [routing id][empty delimiter (REQ)][protocol id][body].
 * Anything malformed gets an error reply; a reply to a client that has
 * gone is dropped.
 */
void
control_serve(struct control_ctx *ctx, void *sock, int64_t now)
{
        struct control_peer peer;
        struct zframes z;
        int n, env;
        json_t *reply = NULL;
        char *text;

        n = zframes_recv(sock, &z, MAX_FRAMES);
        if (n == 0)
                return;
        /* The envelope is the routing id, plus the empty frame REQ adds. */
        env = n >= 2 && zframes_size(&z, 1) == 0 ? 2 : 1;
        if (z.total - env != 2)
                reply = proto_error("a request is two frames: the protocol "
                                    "id and a JSON body");
        else {
                control_peer_of(ctx->conf, &z.f[env + 1], &peer);
                reply = control_handle(
                    ctx, &peer, zframes_data(&z, env), zframes_size(&z, env),
                    zframes_data(&z, env + 1), zframes_size(&z, env + 1), now);
        }
        text = json_dumps(reply, JSON_COMPACT);
        for (int i = 0; i < env; i++) {
                if (zmq_send(sock, zframes_data(&z, i), zframes_size(&z, i),
                             ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
                        goto out;
        }
        if (zmq_send(sock, PROTO_CONTROL_ID, strlen(PROTO_CONTROL_ID),
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(sock, text, strlen(text), ZMQ_DONTWAIT) < 0)
                goto out;
out:
        if (!json_is_true(json_object_get(reply, "ok")))
                log_debug("control: refused: %s",
                          json_string_value(json_object_get(reply, "error")));
        free(text);
        json_decref(reply);
        zframes_close(&z);
}
