/*
 * control_int: what control.c shares with the files of more commands
 * (control_ops.c, control_tokens.c), private to daemon/: the request as a
 * command sees it, the validators of its fields, and the shapes of a reply.
 */
#ifndef ONOTIFY_CONTROL_INT_H
#define ONOTIFY_CONTROL_INT_H

#include "control.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest actor: "user:" and an e-mail address. */
#define ACTOR_MAX 272

/* One request as the commands see it. */
struct request {
        json_t *body;
        const struct control_peer *peer;
};

/*
 * Field validators: each returns the refusal (a reply) when the field is
 * bad, else NULL with *out set (NULL, false or left as it is when absent).
 */
json_t *opt_text(json_t *req, const char *key, size_t max, const char **out);
json_t *opt_bool(json_t *req, const char *key, bool *out);
json_t *opt_int(json_t *req, const char *key, json_int_t min, json_int_t max,
                json_int_t *out);
/* A URN field naming a school of the config; *school set. */
json_t *school_field(struct control_ctx *ctx, json_t *req, bool required,
                     const struct school **school);
/*
 * The case of a request: its "case" id, or the current case of its
 * "school": the refusal `neither` when it has neither or both, reason
 * "not_found" when the school has no open case.
 */
json_t *case_field(struct control_ctx *ctx, json_t *req, const char *neither,
                   int64_t *out);
/* A "schools" field, when present: an array of URNs of the config. */
json_t *school_list(struct control_ctx *ctx, json_t *v);
/*
 * A command: the reply to request `r` at time `now` (a refusal or
 * {"ok": true, ...}), which the caller frees. Every row of control.c's
 * command table runs one.
 */
typedef json_t *control_cmd(struct control_ctx *ctx, const struct request *r,
                            int64_t now);

/* Who makes request `r` ("unix:USER", "token:NAME"...), into out. */
json_t *request_actor(struct control_ctx *ctx, const struct request *r,
                      char *out, size_t len);
/* Wraps a store view: {"ok": true, key: view}, or the error (frees cause). */
json_t *view(json_t *v, const char *key, char *cause);
/* A refusal with a "reason" a client can act on. */
json_t *refusal(json_t *err, const char *reason);
/* Before a write: a faulty state database is tried again now. */
void retry_store(struct control_ctx *ctx);
/*
 * After a write that failed with `cause` (the caller's, still): the
 * store's fault when it has one ("...; nothing was recorded"), else an
 * internal error.
 */
json_t *write_refusal(struct control_ctx *ctx, const char *cause);

/* --- The commands of control_ops.c ---------------------------------------- */

control_cmd control_backup, control_audit_list, control_export;
extern const char *const control_backup_keys[];
extern const char *const control_audit_keys[];
extern const char *const control_export_keys[];

/* --- The commands of control_tokens.c ------------------------------------- */

control_cmd control_token_create, control_token_list, control_token_revoke,
    control_token_auth, control_ack, control_link;
extern const char *const control_token_create_keys[];
extern const char *const control_token_revoke_keys[];
extern const char *const control_token_auth_keys[];
extern const char *const control_ack_keys[];
extern const char *const control_link_keys[];

/*
 * Who holds `token` (a calendar feed key when `feed`): NULL and *holder,
 * {"name", "role", "schools"}, or the refusal, reason "auth" for a token
 * that is none or revoked.
 */
json_t *control_token_holder(struct control_ctx *ctx, const char *token,
                             bool feed, json_t **holder);

/* Adds `status`'s "retention" and "channels" (ops_json_status()). */
void control_status_ops(struct control_ctx *ctx, json_t *reply, int64_t now);

/*
 * Adds to the audit trail that request `r` did `action` (of school `urn`
 * and case `case_id` when known: NULL, 0), `detail` in words (may be
 * NULL): the actor from the request; the source `source` ("link" for a
 * link followed from an alert), or when NULL "web" if the web service
 * named the actor, else "ctl". A failure is logged, never the caller's:
 * the change itself has been made.
 */
void control_audit(struct control_ctx *ctx, const struct request *r,
                   int64_t now, const char *source, const char *action,
                   const char *urn, int64_t case_id, const char *detail);
/* The same, by `actor` rather than the request's (an acknowledgement
 * through a link is link:CHANNEL's). */
void control_audit_as(struct control_ctx *ctx, const struct request *r,
                      int64_t now, const char *actor, const char *source,
                      const char *action, const char *urn, int64_t case_id,
                      const char *detail);

#endif
