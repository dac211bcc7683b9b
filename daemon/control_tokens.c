/*
 * control_tokens: the control commands of the API tokens and of
 * acknowledgements (docs/protocol.md): token_create, token_list,
 * token_revoke, token_auth, ack and link, and the resolving of a token's
 * holder that schools shares; what the web service asks on behalf of its
 * users and of the links it serves.
 */
#include "control_int.h"

#include "log.h"
#include "proto.h"
#include "roles.h"
#include "rules.h"
#include "sched.h"
#include "token.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const control_token_create_keys[] = { "name", "role", "schools",
                                                  "actor", NULL };
const char *const control_token_revoke_keys[] = { "name", "actor", NULL };
const char *const control_token_auth_keys[] = { "token", "feed", NULL };
const char *const control_ack_keys[] = { "case",  "school", "rule", "note",
                                         "token", "actor",  NULL };
const char *const control_link_keys[] = { "token", NULL };

/*
 * Who holds `token` (a calendar feed key when `feed`): NULL and *holder,
 * {"name", "role", "schools"}, or the refusal, reason "auth" for a token
 * that is none or revoked.
 */
json_t *
control_token_holder(struct control_ctx *ctx, const char *token, bool feed,
                     json_t **holder)
{
        unsigned char hash[TOKEN_HASH_LEN];
        char *cause = NULL;
        json_t *reply;

        *holder = NULL;
        if (!token_well_formed(token))
                return refusal(proto_error("unknown or revoked token"), "auth");
        token_hash(token, hash);
        *holder = store_json_token_auth(ctx->st, hash, feed, &cause);
        if (*holder == NULL && cause != NULL) {
                reply = proto_error("%s", cause);
                free(cause);
                return reply;
        }
        if (*holder == NULL)
                return refusal(proto_error("unknown or revoked token"), "auth");
        return NULL;
}

/* A token's name, or the refusal. */
static json_t *
token_name(json_t *req, const char **name)
{
        json_t *err = opt_text(req, "name", TOKEN_NAME_MAX + 1, name);

        if (err != NULL)
                return err;
        if (*name == NULL)
                return proto_error("'name' is required");
        if (!token_name_valid(*name))
                return proto_error("token name '%s': want 1 to %d letters, "
                                   "digits, '.', '_', '-' or '@'",
                                   *name, TOKEN_NAME_MAX);
        return NULL;
}

/*
 * A token's schools: an array of URNs of the config, none for a role that
 * sees every school and at least one for the others. *out a new array.
 */
static json_t *
token_schools(struct control_ctx *ctx, json_t *req, enum role role,
              json_t **out)
{
        json_t *v = json_object_get(req, "schools"), *err;

        *out = NULL;
        if ((err = school_list(ctx, v)) != NULL)
                return err;
        if (roles_every_school(role) && json_array_size(v) > 0)
                return proto_error("a %s token sees every school: give no "
                                   "'schools'",
                                   roles_name(role));
        if (!roles_every_school(role) && json_array_size(v) == 0)
                return proto_error("a %s token needs 'schools'",
                                   roles_name(role));
        *out = v != NULL ? json_deep_copy(v) : json_array();
        return NULL;
}

/* token_create: a new token, shown in this reply and never again. */
json_t *
control_token_create(struct control_ctx *ctx, const struct request *r,
                     int64_t now)
{
        json_t *req = r->body, *err, *schools = NULL, *reply = NULL;
        char token[TOKEN_LEN + 1], feed[TOKEN_LEN + 1], actor[ACTOR_MAX + 8];
        unsigned char hash[TOKEN_HASH_LEN], feed_hash[TOKEN_HASH_LEN];
        struct store_token t = { 0 };
        const char *name, *role_name;
        char *text = NULL, *cause = NULL;
        enum role role;
        int64_t id;

        if ((err = request_actor(ctx, r, actor, sizeof(actor))) != NULL ||
            (err = token_name(req, &name)) != NULL ||
            (err = opt_text(req, "role", 16, &role_name)) != NULL)
                return err;
        if (role_name == NULL)
                return proto_error("'role' is required (%s)", ROLES_NAMES);
        if (roles_parse(role_name, &role) < 0)
                return proto_error("role '%s': want %s", role_name,
                                   ROLES_NAMES);
        if ((err = token_schools(ctx, req, role, &schools)) != NULL)
                return err;
        if (token_make(token) < 0) {
                reply = proto_error("internal error: no random numbers");
                goto out;
        }
        token_feed_key(token, feed);
        token_hash(token, hash);
        token_hash(feed, feed_hash);
        text = json_dumps(schools, JSON_COMPACT);
        t = (struct store_token){ name, hash, feed_hash, roles_name(role),
                                  text, actor };
        retry_store(ctx);
        id = store_token_add(ctx->st, &t, now, &cause);
        if (id == 0) {
                reply = refusal(proto_error("a token named '%s' exists: "
                                            "revoke it first",
                                            name),
                                "conflict");
                goto out;
        }
        if (id < 0) {
                reply = write_refusal(ctx, cause);
                goto out;
        }
        log_info("token '%s' (%s) created by '%s'", name, roles_name(role),
                 actor);
        control_audit(ctx, r, now, NULL, "token_create", NULL, 0, name);
        reply = proto_ok();
        json_object_set_new(reply, "name", json_string(name));
        json_object_set_new(reply, "role", json_string(roles_name(role)));
        json_object_set(reply, "schools", schools);
        json_object_set_new(reply, "token", json_string(token));
out:
        sodium_memzero(token, sizeof(token));
        sodium_memzero(feed, sizeof(feed));
        json_decref(schools);
        free(text);
        free(cause);
        return reply;
}

json_t *
control_token_list(struct control_ctx *ctx, const struct request *r,
                   int64_t now)
{
        char *cause = NULL;

        (void)r;
        (void)now;
        return view(store_json_tokens(ctx->st, ctx->conf->tz, &cause), "tokens",
                    cause);
}

json_t *
control_token_revoke(struct control_ctx *ctx, const struct request *r,
                     int64_t now)
{
        char actor[ACTOR_MAX + 8], *cause = NULL;
        const char *name;
        json_t *err, *reply;
        int rc;

        if ((err = request_actor(ctx, r, actor, sizeof(actor))) != NULL ||
            (err = token_name(r->body, &name)) != NULL)
                return err;
        retry_store(ctx);
        rc = store_token_revoke(ctx->st, name, now, &cause);
        if (rc < 0) {
                reply = proto_error("%s", cause);
                free(cause);
                return reply;
        }
        if (rc == 0)
                return refusal(proto_error("no token named '%s'", name),
                               "not_found");
        log_info("token '%s' revoked by '%s'", name, actor);
        control_audit(ctx, r, now, NULL, "token_revoke", NULL, 0, name);
        reply = proto_ok();
        json_object_set_new(reply, "name", json_string(name));
        return reply;
}

/*
 * token_auth: who holds `token` (or the calendar feed key `feed`). The
 * web service asks it on every request it serves, so nothing is logged.
 */
json_t *
control_token_auth(struct control_ctx *ctx, const struct request *r,
                   int64_t now)
{
        const char *token, *feed;
        json_t *err, *v, *reply;

        (void)now;
        if ((err = opt_text(r->body, "token", TOKEN_LEN, &token)) != NULL ||
            (err = opt_text(r->body, "feed", TOKEN_LEN, &feed)) != NULL)
                return err;
        if ((token == NULL) == (feed == NULL))
                return proto_error("token_auth needs one of 'token' and "
                                   "'feed'");
        if ((err = control_token_holder(ctx, token != NULL ? token : feed,
                                        feed != NULL, &v)) != NULL)
                return err;
        reply = proto_ok();
        json_object_set_new(reply, "token", v);
        return reply;
}

/*
 * The one-click link whose token is `token`: 0 and *l, or the refusal:
 * "not_found" for a token that is not one (forged, altered), "expired"
 * once its time is over.
 */
static json_t *
link_of(struct control_ctx *ctx, const char *token, int64_t now,
        struct store_link *l)
{
        unsigned char hash[TOKEN_HASH_LEN];
        char *cause = NULL;
        json_t *err;
        int rc;

        if (!token_well_formed(token))
                return refusal(proto_error("unknown link"), "not_found");
        token_hash(token, hash);
        rc = store_link_find(ctx->st, hash, l, &cause);
        if (rc < 0) {
                err = proto_error("internal error: %s", cause);
                free(cause);
                return err;
        }
        if (rc == 1)
                return refusal(proto_error("unknown link"), "not_found");
        if (now >= l->expires)
                return refusal(proto_error("this link has expired"), "expired");
        return NULL;
}

/*
 * ack: a case's rule, by its case (or school) and rule name, or by a
 * one-click link's token. A link's acknowledgement is recorded as
 * link:CHANNEL unless the web names the signed-in user as the actor.
 */
json_t *
control_ack(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        json_t *req = r->body, *err, *reply, *o;
        struct sched_ack ack = { 0 };
        struct store_link l;
        const char *token;
        char actor[ACTOR_MAX + 8];
        char *cause = NULL;

        if ((err = opt_text(req, "token", 128, &token)) != NULL ||
            (err = opt_text(req, "rule", RULES_KIND_MAX, &ack.rule)) != NULL ||
            (err = opt_text(req, "note", PROTO_MAX_TEXT, &ack.note)) != NULL ||
            (err = request_actor(ctx, r, actor, sizeof(actor))) != NULL)
                return err;
        ack.actor = actor;
        if (token != NULL) {
                if (ack.rule != NULL || json_object_get(req, "case") ||
                    json_object_get(req, "school"))
                        return proto_error("a link's token names its case and "
                                           "rule: give no 'case', 'school' "
                                           "or 'rule'");
                if ((err = link_of(ctx, token, now, &l)) != NULL)
                        return err;
                if (json_object_get(req, "actor") == NULL)
                        snprintf(actor, sizeof(actor), "link:%s", l.channel);
                ack.case_id = l.case_id;
                ack.rule = l.rule;
        } else {
                if (ack.rule == NULL)
                        return proto_error("'rule' is required");
                if ((err =
                         case_field(ctx, req, "give one of 'case' and 'school'",
                                    &ack.case_id)) != NULL)
                        return err;
        }
        retry_store(ctx);
        reply = sched_ack(ctx->st, ctx->conf, &ack, now);
        o = json_object_get(reply, "ack");
        if (!json_is_true(json_object_get(o, "new")))
                return reply;
        /* By whom the acknowledgement says: link:CHANNEL through a link. */
        control_audit_as(ctx, r, now, actor, token != NULL ? "link" : NULL,
                         "ack",
                         json_string_value(json_object_get(
                             json_object_get(o, "school"), "urn")),
                         ack.case_id, ack.rule);
        /* A channel check's link followed: a person sees that channel. */
        if (token != NULL && strcmp(l.rule, STORE_CHECK_RULE) == 0 &&
            store_channel_confirmed(ctx->st, l.channel, now, &cause) < 0) {
                log_warnx("channel '%s' confirmed but not recorded: %s",
                          l.channel, cause);
                free(cause);
        }
        return reply;
}

/* link: what a one-click link acknowledges, for its page; changes
 * nothing (mail scanners open every link). */
json_t *
control_link(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        const struct rule *rule;
        struct store_ack a;
        struct store_link l;
        const char *token;
        char *cause = NULL;
        json_t *err, *o, *reply;
        int rc;

        if ((err = opt_text(r->body, "token", 128, &token)) != NULL)
                return err;
        if (token == NULL)
                return proto_error("'token' is required");
        if ((err = link_of(ctx, token, now, &l)) != NULL)
                return err;
        rc = store_ack_read(ctx->st, l.case_id, l.rule, &a, &cause);
        if (rc < 0 || rc == 2) {
                err = rc < 0
                          ? proto_error("internal error: %s", cause)
                          : refusal(proto_error("unknown link"), "not_found");
                free(cause);
                return err;
        }
        o = sched_ack_json(ctx->conf, l.case_id, l.urn, l.rule, &a, rc == 0);
        /* Seconds to the deadline (negative once it has passed). */
        json_object_set_new(o, "left", json_integer(a.due - now));
        store_ack_clear(&a);
        rule = conf_rule(ctx->conf, l.rule);
        json_object_set_new(
            o, "action",
            json_string(rule && rule->action ? rule->action
                        : strcmp(l.rule, STORE_CHECK_RULE) == 0
                            ? "A check of this channel: confirm that its "
                              "messages reach you."
                            : ""));
        json_object_set_new(o, "channel", json_string(l.channel));
        reply = proto_ok();
        json_object_set_new(reply, "link", o);
        return reply;
}
