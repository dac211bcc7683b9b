/*
 * control_ops: the control commands for running the service for years:
 * backup, audit and export (docs/protocol.md), and control_audit(), the
 * one call every command that changes state makes to leave its trace.
 */
#include "control_int.h"

#include "backup.h"
#include "log.h"
#include "proto.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_LIMIT_MAX 100000

const char *const control_backup_keys[] = { "file", "actor", NULL };
const char *const control_audit_keys[] = { "since", "school", "case",
                                           "limit", "actor",  NULL };
const char *const control_export_keys[] = { "school", "actor", NULL };

void
control_audit(struct control_ctx *ctx, const struct request *r, int64_t now,
              const char *source, const char *action, const char *urn,
              int64_t case_id, const char *detail)
{
        char actor[ACTOR_MAX + 8];
        json_t *err = request_actor(ctx, r, actor, sizeof(actor));

        /* The command has taken its actor already: this cannot refuse. */
        json_decref(err);
        control_audit_as(ctx, r, now, actor, source, action, urn, case_id,
                         detail);
}

void
control_audit_as(struct control_ctx *ctx, const struct request *r, int64_t now,
                 const char *actor, const char *source, const char *action,
                 const char *urn, int64_t case_id, const char *detail)
{
        struct store_audit a = { now, actor,   source, action,
                                 urn, case_id, detail };
        char *cause = NULL;

        if (a.source == NULL)
                a.source =
                    json_object_get(r->body, "actor") != NULL ? "web" : "ctl";
        if (store_audit_add(ctx->st, &a, &cause) < 0) {
                log_warnx("audit: '%s' by '%s' not recorded: %s", action, actor,
                          cause);
                free(cause);
        }
}

/* backup: a checked copy made now, into "file" or the backups directory. */
json_t *
control_backup(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        char actor[ACTOR_MAX + 8], *state = NULL, *made = NULL, *cause = NULL;
        const char *file;
        json_t *err, *reply;
        int removed;

        if ((err = request_actor(ctx, r, actor, sizeof(actor))) != NULL ||
            (err = opt_text(r->body, "file", 4096, &file)) != NULL)
                return err;
        state = conf_state_path(ctx->conf->daemon.state);
        if (backup_make(ctx->st, state, file, ctx->conf->daemon.backups_keep,
                        now, &made, &removed, &cause) < 0) {
                log_warnx("backup by '%s' failed: %s", actor, cause);
                reply = proto_error("backup failed: %s", cause);
                goto out;
        }
        log_info("backup by '%s' written to '%s' and checked; %d old copies "
                 "removed",
                 actor, made, removed);
        control_audit(ctx, r, now, NULL, "backup", NULL, 0, made);
        reply = proto_ok();
        json_object_set_new(reply, "file", json_string(made));
        json_object_set_new(reply, "removed", json_integer(removed));
        json_object_set_new(reply, "integrity", json_string("ok"));
out:
        free(state);
        free(made);
        free(cause);
        return reply;
}

/* audit: the trail, oldest first. */
json_t *
control_audit_list(struct control_ctx *ctx, const struct request *r,
                   int64_t now)
{
        const struct school *school;
        const char *since_text;
        json_int_t case_id = 0, limit = 1000;
        int64_t since = 0;
        enum tz_fold fold;
        char *cause = NULL;
        json_t *err;

        (void)now;
        if ((err = opt_text(r->body, "since", 64, &since_text)) != NULL ||
            (err = school_field(ctx, r->body, false, &school)) != NULL ||
            (err = opt_int(r->body, "case", 1, INT64_MAX, &case_id)) != NULL ||
            (err = opt_int(r->body, "limit", 1, AUDIT_LIMIT_MAX, &limit)) !=
                NULL)
                return err;
        if (since_text != NULL && timefmt_parse(ctx->conf->tz, since_text,
                                                &since, &fold, &cause) < 0) {
                err = proto_error("since: %s", cause);
                free(cause);
                return err;
        }
        return view(store_json_audit(ctx->st, ctx->conf->tz, since,
                                     school ? school->urn : NULL, case_id,
                                     (int)limit, &cause),
                    "audit", cause);
}

/*
 * export: everything held about a school's cases (NULL: every school's),
 * for a subject access or FOI request: the cases with their events and
 * alerts, the deliveries and the audit trail.
 */
json_t *
control_export(struct control_ctx *ctx, const struct request *r, int64_t now)
{
        const struct school *school;
        const char *urn;
        char *cause = NULL, *detail = NULL;
        json_t *err, *cases, *deliveries = NULL, *audit = NULL, *reply;

        if ((err = school_field(ctx, r->body, false, &school)) != NULL)
                return err;
        urn = school ? school->urn : NULL;
        cases = store_json_export(ctx->st, ctx->conf->tz, urn, &cause);
        if (cases != NULL)
                deliveries = store_json_history(ctx->st, ctx->conf->tz, urn,
                                                NULL, INT32_MAX, &cause);
        if (deliveries != NULL)
                audit = store_json_audit(ctx->st, ctx->conf->tz, 0, urn, 0,
                                         INT32_MAX, &cause);
        if (audit == NULL) {
                json_decref(cases);
                json_decref(deliveries);
                return view(NULL, "", cause);
        }
        for (size_t i = 0; i < json_array_size(cases); i++) {
                json_t *c = json_array_get(cases, i);
                const struct school *s = conf_school(
                    ctx->conf, json_string_value(json_object_get(c, "school")));

                if (s != NULL)
                        json_object_set_new(c, "name", json_string(s->name));
        }
        reply = proto_ok();
        json_object_set_new(reply, "school",
                            urn ? json_string(urn) : json_null());
        json_object_set_new(reply, "cases", cases);
        json_object_set_new(reply, "deliveries", deliveries);
        json_object_set_new(reply, "audit", audit);
        xasprintf(&detail, "%zu cases", json_array_size(cases));
        control_audit(ctx, r, now, NULL, "export", urn, 0, detail);
        free(detail);
        return reply;
}

/* A wall clock time in ms as RFC 3339 text of the trust's zone, or null
 * when 0. */
static json_t *
time_ms_or_null(const struct conf *conf, json_int_t ms)
{
        char buf[TIMEFMT_LEN];

        if (ms == 0)
                return json_null();
        timefmt_rfc3339(conf->tz, ms / 1000, buf, sizeof(buf));
        return json_string(buf);
}

/*
 * The dead-man's switch for `status`: {"every" (seconds), "last_sent",
 * "last_delivered" (times or null), "error" (the last one's, or null)},
 * or null without daemon.heartbeat.
 */
static json_t *
status_heartbeat(const struct control_ctx *ctx)
{
        const struct conf *conf = ctx->conf;
        json_t *b;

        if (conf->daemon.heartbeat_url_file[0] == '\0' || ctx->dispatch == NULL)
                return json_null();
        b = dispatch_json_beat(ctx->dispatch);
        json_object_set_new(b, "every",
                            json_integer(conf->daemon.heartbeat_every));
        json_object_set_new(
            b, "last_sent",
            time_ms_or_null(
                conf, json_integer_value(json_object_get(b, "last_sent"))));
        json_object_set_new(
            b, "last_delivered",
            time_ms_or_null(conf, json_integer_value(
                                      json_object_get(b, "last_delivered"))));
        if (json_object_get(b, "error") == NULL)
                json_object_set_new(b, "error", json_null());
        return b;
}

void
control_status_ops(struct control_ctx *ctx, json_t *reply, int64_t now)
{
        char *cause = NULL;
        json_t *v = NULL;

        json_object_set_new(reply, "heartbeat", status_heartbeat(ctx));
        if (ctx->ops != NULL)
                v = ops_json_status(ctx->ops, ctx->st, ctx->conf, now, &cause);
        if (v == NULL) {
                if (cause != NULL)
                        log_warnx("status: %s", cause);
                free(cause);
                return;
        }
        json_object_update(reply, v);
        json_decref(v);
}
