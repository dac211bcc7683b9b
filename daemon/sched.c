#include "sched.h"

#include "case.h"
#include "log.h"
#include "proto.h"
#include "rules.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* The plan's warnings about `rule` ("rule: ..."), joined; NULL if none. */
static char *
rule_warnings(const struct plan *plan, const char *rule)
{
        size_t len = strlen(rule);
        char *out = NULL, *next;

        for (size_t i = 0; i < plan->nwarnings; i++) {
                const char *w = plan->warnings[i];

                if (strncmp(w, rule, len) != 0 || w[len] != ':')
                        continue;
                xasprintf(&next, "%s%s%s", out ? out : "", out ? "; " : "", w);
                free(out);
                out = next;
        }
        return out;
}

/*
 * Stores the alerts of `plan` that lie ahead of `keep_after` (all when it
 * is INT64_MIN), for case `c` and event `event_id`. The "event" alert is due
 * when the event is recorded, so an event recorded late still announces its
 * deadlines at once. When `acked` (the rule's deadline is acknowledged),
 * only the reminders its ack_keeps names are stored. Appends each to
 * `scheduled` when not NULL. Returns the number stored or -1.
 */
static int
store_plan(struct store *st, const struct conf *conf,
           const struct rules_env *env, const struct plan *plan,
           const struct store_case *c, int64_t event_id, int64_t now,
           int64_t keep_after, bool acked, json_t *scheduled, char **cause)
{
        int n = 0;

        for (size_t i = 0; i < plan->nalerts; i++) {
                const struct plan_alert *pa = &plan->alerts[i];
                const struct plan_deadline *dl = NULL;
                struct store_alert a = { 0 };
                char *sig, *warning;
                int64_t id;

                for (size_t k = 0; k < plan->ndeadlines; k++) {
                        if (plan->deadlines[k].rule == pa->rule)
                                dl = &plan->deadlines[k];
                }
                a.case_id = c->id;
                a.event_id = event_id;
                snprintf(a.urn, sizeof(a.urn), "%s", c->urn);
                snprintf(a.rule, sizeof(a.rule), "%s", pa->rule->name);
                snprintf(a.offset, sizeof(a.offset), "%s", pa->offset->text);
                a.at = pa->at;
                if (pa->offset->anchor == ALERT_EVENT &&
                    pa->offset->amount == 0 && a.at < now)
                        a.at = now;
                if (a.at <= keep_after)
                        continue;
                if (acked && (pa->escalation > 0 ||
                              !rules_ack_keeps(pa->rule, pa->offset->text)))
                        continue;
                a.escalation = pa->escalation;
                a.due = dl->due;
                a.opens = dl->has_opens ? dl->opens : 0;
                sig = rules_signature(pa->rule, env);
                warning = rule_warnings(plan, pa->rule->name);
                id = store_alert_add(st, &a, sig, warning, cause);
                free(sig);
                free(warning);
                if (id < 0)
                        return -1;
                if (scheduled != NULL) {
                        json_t *o = json_object();

                        json_object_set_new(o, "id", json_integer(id));
                        json_object_set_new(o, "rule",
                                            json_string(pa->rule->name));
                        json_object_set_new(o, "kind",
                                            json_string(pa->escalation > 0
                                                            ? "escalation"
                                                            : "alert"));
                        json_object_set_new(o, "at",
                                            timefmt_json(conf->tz, a.at));
                        json_object_set_new(o, "offset",
                                            json_string(pa->offset->text));
                        json_array_append_new(scheduled, o);
                }
                n++;
        }
        return n;
}

/*
 * Cancels the pending alerts of the rules `d` ends on case `id`: all of
 * them, even of rules no longer configured, when the case closes. Returns
 * the count or -1.
 */
static int
cancel_ends(struct store *st, const struct conf *conf,
            const struct case_decision *d, int64_t id, int64_t now,
            char **cause)
{
        int total = 0, n;

        if (d->closes)
                return store_alerts_cancel(st, id, NULL, now, cause);
        for (size_t i = 0; i < d->nends; i++) {
                n = store_alerts_cancel(st, id, conf->rules[d->ends[i]].name,
                                        now, cause);
                if (n < 0)
                        return -1;
                total += n;
        }
        return total;
}

json_t *
sched_record(struct store *st, const struct conf *conf,
             const struct sched_event *ev, int64_t now)
{
        const struct school *school = conf_school(conf, ev->urn);
        struct store_case cur = { 0 }, c = { 0 };
        struct case_decision d = { 0 };
        struct rules_env env;
        struct plan plan = { 0 };
        json_t *reply = NULL, *scheduled = json_array(), *warns = json_array();
        const char *fault;
        char *cause = NULL, *refusal;
        int64_t event_id;
        int cancelled = 0, n;

        conf_rules_env(conf, school, &env);
        if (store_begin(st, &cause) < 0)
                goto fail;
        n = store_case_current(st, ev->urn, &cur, &cause);
        if (n < 0)
                goto fail_tx;
        if (case_decide(ev->kind, n == 0 ? cur.state : CASE_NONE, ev->new_case,
                        env.remit, conf->rules, conf->nrules, &d) < 0) {
                store_rollback(st);
                refusal = case_refusal_text(&d, ev->urn, cur.id);
                reply = proto_error("%s", refusal);
                /* The case's state refuses it (the API's 409). */
                json_object_set_new(reply, "reason", json_string("state"));
                free(refusal);
                goto out;
        }
        if (d.opens) {
                /* A superseded case closes first, every rule of it ended. */
                if (d.closes) {
                        n = cancel_ends(st, conf, &d, cur.id, now, &cause);
                        if (n < 0 ||
                            store_case_set_state(st, cur.id, CASE_CLOSED, now,
                                                 &cause) < 0)
                                goto fail_tx;
                        cancelled += n;
                }
                c.id = store_case_open(st, ev->urn, ev->contact, ev->note,
                                       ev->at, &cause);
                if (c.id < 0)
                        goto fail_tx;
                snprintf(c.urn, sizeof(c.urn), "%s", ev->urn);
        } else {
                c = cur;
                if (ev->contact != NULL &&
                    store_case_set_contact(st, c.id, ev->contact, &cause) < 0)
                        goto fail_tx;
                if (d.next != c.state &&
                    store_case_set_state(st, c.id, d.next, now, &cause) < 0)
                        goto fail_tx;
        }
        c.state = d.next;
        event_id = store_event_add(st, c.id, ev->kind, ev->at, now, ev->contact,
                                   ev->note, ev->actor, &cause);
        if (event_id < 0)
                goto fail_tx;
        if (!d.opens) {
                n = cancel_ends(st, conf, &d, c.id, now, &cause);
                if (n < 0)
                        goto fail_tx;
                cancelled += n;
        }

        case_plan(&d, conf->rules, &env, ev->at, &plan);
        if (store_plan(st, conf, &env, &plan, &c, event_id, now, INT64_MIN,
                       false, scheduled, &cause) < 0)
                goto fail_tx;
        if (store_commit(st, &cause) < 0)
                goto fail_tx;

        for (size_t i = 0; i < plan.nwarnings; i++) {
                log_warnx("case %lld (%s): %s", (long long)c.id, ev->urn,
                          plan.warnings[i]);
                json_array_append_new(warns, json_string(plan.warnings[i]));
        }
        log_info("recorded %s for %s (case %lld) by '%s': %zu alerts "
                 "scheduled, %d cancelled",
                 ev->kind, ev->urn, (long long)c.id,
                 ev->actor ? ev->actor : "?", json_array_size(scheduled),
                 cancelled);
        reply = proto_ok();
        json_object_set_new(reply, "case", json_integer(c.id));
        json_object_set_new(reply, "event", json_integer(event_id));
        json_object_set_new(reply, "kind", json_string(ev->kind));
        {
                json_t *s = json_object();

                json_object_set_new(s, "urn", json_string(school->urn));
                json_object_set_new(s, "name", json_string(school->name));
                json_object_set_new(reply, "school", s);
        }
        json_object_set_new(reply, "at", timefmt_json(conf->tz, ev->at));
        json_object_set_new(reply, "state",
                            json_string(store_case_state_name(c.state)));
        json_object_set_new(reply, "scheduled", scheduled);
        json_object_set_new(reply, "cancelled", json_integer(cancelled));
        json_object_set_new(reply, "warnings", warns);
        scheduled = warns = NULL;
        goto out;
fail_tx:
        store_rollback(st);
fail:
        if (store_fault(st, &fault) != STORE_OK) {
                /* The daemon reports the fault once, not each refusal. */
                log_debug("recording %s for %s refused: %s", ev->kind, ev->urn,
                          cause);
                reply = proto_error("%s; nothing was recorded", fault);
                goto out;
        }
        log_err("recording %s for %s failed: %s", ev->kind, ev->urn, cause);
        reply = proto_error("internal error: %s", cause);
out:
        json_decref(scheduled);
        json_decref(warns);
        case_decision_free(&d);
        plan_free(&plan);
        free(cause);
        return reply;
}

/* The channels an alert of `rule` goes to for `school`, each once; an
 * escalation (the rule's nth when n > 0) goes to its own channels. */
static size_t
alert_channels(const struct conf *conf, const struct school *school,
               const struct rule *rule, int escalation,
               const struct channel **out, size_t max)
{
        size_t n = 0;

        if (escalation > 0) {
                const struct rule_escalation *e;

                if (rule == NULL || (size_t)escalation > rule->nescalations)
                        return 0;
                e = &rule->escalations[escalation - 1];
                for (size_t i = 0; i < e->nchannels && n < max; i++) {
                        const struct channel *ch =
                            conf_channel(conf, e->channels[i]);

                        if (ch != NULL)
                                out[n++] = ch;
                }
                return n;
        }

        for (size_t i = 0; school != NULL && i < school->nchannels && n < max;
             i++)
                out[n++] = &conf->channels[school->channels[i]];
        for (size_t i = 0; rule != NULL && i < rule->nchannels && n < max;
             i++) {
                const struct channel *ch =
                    conf_channel(conf, rule->channels[i]);
                bool seen = false;

                for (size_t k = 0; k < n; k++)
                        seen = seen || out[k] == ch;
                if (ch != NULL && !seen)
                        out[n++] = ch;
        }
        return n;
}

void
sched_alert(const struct conf *conf, const struct store_alert_row *row,
            struct alert *out)
{
        const struct store_alert *a = &row->a;
        const struct school *school = conf_school(conf, a->urn);
        const struct rule *rule = conf_rule(conf, a->rule);

        *out = (struct alert){
                .trust = conf->trust.name,
                .case_id = a->case_id,
                .urn = a->urn,
                .school = school != NULL ? school->name : NULL,
                .rule = a->rule,
                .offset = a->offset,
                .late = row->late,
                .action = rule != NULL ? rule->action : NULL,
                .contact = row->contact,
                .at = a->at,
                .due = a->due,
                .opens = a->opens,
                .warning = row->warning,
                .base_url = conf->web.base_url,
        };
        if (a->escalation > 0) {
                const struct channel *chans[ALERT_CHANNELS_MAX];
                size_t n = alert_channels(conf, school, rule, 0, chans,
                                          ALERT_CHANNELS_MAX);

                out->escalation = true;
                if (rule != NULL &&
                    (size_t)a->escalation <= rule->nescalations) {
                        out->to = rule->escalations[a->escalation - 1].channels;
                        out->nto =
                            rule->escalations[a->escalation - 1].nchannels;
                }
                for (size_t i = 0; i < n; i++)
                        out->alerted[i] = chans[i]->name;
                out->nalerted = n;
        }
        if (strcmp(a->rule, STORE_TEST_RULE) == 0) {
                /* ofsted-notifyctl test: say so wherever it shows. */
                out->school = "TEST ALERT";
                out->action = "This is a test of ofsted-notify's delivery "
                              "to this channel. No action is needed.";
                out->contact = "-";
                out->base_url = NULL;
        } else if (strcmp(a->rule, STORE_CHECK_RULE) == 0) {
                /* A channel's scheduled check (daemon/ops.c); its offset
                 * says how often. */
                out->school = "CHANNEL CHECK";
                out->action =
                    strcmp(a->offset, "daily") == 0
                        ? "Daily check of the Ofsted alert channel — no "
                          "action needed; if this stops arriving, tell IT"
                    : strcmp(a->offset, "monthly") == 0
                        ? "Monthly check of the Ofsted alert channel — no "
                          "action needed; if this stops arriving, tell IT"
                        : "Weekly check of the Ofsted alert channel — no "
                          "action needed; if this stops arriving, tell IT";
                out->contact = "-";
                out->base_url = NULL;
        }
}

/* What becomes of a due alert handled at `now`, under conf's catch_up. */
static enum case_fate
alert_fate(const struct conf *conf, const struct store_alert *a, int64_t now)
{
        return case_alert_fate(a->at, a->due, now, conf->daemon.late_after,
                               conf->daemon.catch_up == CATCH_UP_SKIP);
}

/*
 * Fires or misses one due alert, inside the caller's transaction: the
 * alert's new state and one delivery per channel. Returns the number of
 * deliveries or -1.
 */
static int
fire_store(struct store *st, const struct conf *conf,
           const struct store_alert *a, int64_t now, char **cause)
{
        const struct channel *chans[64];
        enum case_fate fate = alert_fate(conf, a, now);
        size_t n;

        if (fate == CASE_MISS)
                return store_alert_miss(st, a->id, now, cause) < 0 ? -1 : 0;
        n = alert_channels(conf, conf_school(conf, a->urn),
                           conf_rule(conf, a->rule), a->escalation, chans, 64);
        if (store_alert_fire(st, a->id, now, fate == CASE_FIRE_LATE, cause) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (store_delivery_add(st, a->id, chans[i]->name,
                                       conf_channel_type_name(chans[i]->type),
                                       now, cause) < 0)
                        return -1;
        }
        return (int)n;
}

/* Says what became of a fired or missed alert once it is committed. */
static void
fire_announce(struct store *st, const struct conf *conf,
              const struct store_alert *a, int64_t now, size_t n,
              sched_publish_fn publish, void *arg, struct sched_counts *counts)
{
        const struct school *school = conf_school(conf, a->urn);
        enum case_fate fate = alert_fate(conf, a, now);
        bool late = fate == CASE_FIRE_LATE;
        struct store_alert_row row = { 0 };
        struct alert told;
        char *cause = NULL, *topic = NULL;
        json_t *msg;

        if (fate == CASE_MISS) {
                char when[64];

                timefmt_human(conf->tz, a->at, when, sizeof(when));
                log_warnx("missed alert %lld: %s %s for %s (case %lld) was due "
                          "%s; catch_up is '%s'%s",
                          (long long)a->id, a->rule, a->offset, a->urn,
                          (long long)a->case_id, when,
                          conf->daemon.catch_up == CATCH_UP_SKIP ? "skip"
                                                                 : "late",
                          now >= a->due ? " and its deadline has passed" : "");
                counts->missed++;
                return;
        }
        if (school == NULL)
                log_err("alert %lld fired for school %s, which is no longer in "
                        "the config: no channel to deliver to",
                        (long long)a->id, a->urn);
        log_info("%s %lld fired%s: %s %s for %s (case %lld), %zu "
                 "deliveries",
                 a->escalation > 0 ? "escalation" : "alert", (long long)a->id,
                 late ? " late" : "", a->rule, a->offset, a->urn,
                 (long long)a->case_id, n);
        counts->fired++;
        if (late)
                counts->late++;
        if (publish == NULL)
                return;
        /* The feed is best effort: an alert it cannot read in full goes
         * out with what the scheduler has of it. */
        if (store_alert_read(st, a->id, &row, &cause) < 0) {
                log_warnx("alert %lld: %s", (long long)a->id, cause);
                free(cause);
                row = (struct store_alert_row){ .a = *a, .late = late };
        }
        sched_alert(conf, &row, &told);
        msg = alert_encode(&told, conf->tz);
        json_object_set_new(msg, "deliveries", json_integer((json_int_t)n));
        store_alert_row_clear(&row);
        xasprintf(&topic, "deadline.%s.%s", a->rule, a->urn);
        publish(arg, topic, msg);
        json_decref(msg);
        free(topic);
}

/*
 * Fires what is due, up to SCHED_FIRE_BATCH alerts to a transaction: one
 * commit (one fsync) for a batch, not one for each, so a burst of alerts
 * due at once is written at the disk's pace in batches rather than in
 * single rows.
 */
int
sched_fire_due(struct store *st, const struct conf *conf, int64_t now,
               sched_publish_fn publish, void *arg, struct sched_counts *counts,
               int batches, int size)
{
        struct store_alert due[SCHED_FIRE_BATCH];
        int ndl[SCHED_FIRE_BATCH];
        char *cause = NULL;
        int n;

        if (size <= 0 || size > SCHED_FIRE_BATCH)
                size = SCHED_FIRE_BATCH;
        do {
                n = store_due_alerts(st, now, due, size, &cause);
                if (n <= 0)
                        break;
                if (store_begin(st, &cause) < 0)
                        break;
                for (int i = 0; i < n; i++) {
                        ndl[i] = fire_store(st, conf, &due[i], now, &cause);
                        if (ndl[i] < 0)
                                break;
                }
                if (cause != NULL || store_commit(st, &cause) < 0) {
                        store_rollback(st);
                        n = -1;
                        break;
                }
                for (int i = 0; i < n; i++)
                        fire_announce(st, conf, &due[i], now, (size_t)ndl[i],
                                      publish, arg, counts);
        } while (n == size && --batches != 0);
        if (n < 0 || cause != NULL) {
                /* A fault of the state database is reported by its owner,
                 * once; the alerts stay pending until it is over. */
                if (store_fault(st, NULL) == STORE_OK)
                        log_err("firing due alerts: %s", cause ? cause : "?");
                free(cause);
                return -1;
        }
        return 0;
}

struct replan {
        struct store *st;
        const struct conf *conf;
        int64_t now;
        int replanned, cancelled;
        char *cause;
};

static int
replan_group(const struct store_group *g, void *arg)
{
        struct replan *rp = arg;
        const struct rule *rule = conf_rule(rp->conf, g->rule);
        struct store_case c = { 0 };
        struct plan plan = { 0 };
        struct rules_env env;
        char *sig = NULL;
        bool applies;
        int rc = -1, acked;

        conf_rules_env(rp->conf, conf_school(rp->conf, g->urn), &env);
        applies = rule != NULL && rules_applies(rule, env.remit);
        if (applies) {
                sig = rules_signature(rule, &env);
                if (strcmp(sig, g->sig) == 0) {
                        free(sig);
                        return 0; /* unchanged */
                }
        }
        /* This group only: the rule's other events are groups of their
         * own, re-planned (or left) on their turn. */
        if (store_alerts_cancel_event(rp->st, g->case_id, g->event_id, g->rule,
                                      rp->now, &rp->cause) < 0)
                goto out;
        if (!applies) {
                log_notice("rule '%s' is gone, disabled or not for school "
                           "%s's remit '%s': its pending alerts for case %lld "
                           "are cancelled",
                           g->rule, g->urn, rules_remit_name(env.remit),
                           (long long)g->case_id);
                rp->cancelled++;
                rc = 0;
                goto out;
        }
        c.id = g->case_id;
        snprintf(c.urn, sizeof(c.urn), "%s", g->urn);
        rules_eval(rule, &env, g->event_at, &plan);
        plan_sort(&plan);
        acked =
            store_acked(rp->st, g->case_id, g->event_id, g->rule, &rp->cause);
        if (acked < 0 ||
            store_plan(rp->st, rp->conf, &env, &plan, &c, g->event_id, rp->now,
                       rp->now, acked == 1, NULL, &rp->cause) < 0)
                goto out;
        rp->replanned++;
        rc = 0;
out:
        plan_free(&plan);
        free(sig);
        return rc;
}

int
sched_replan(struct store *st, const struct conf *conf, int64_t now,
             int *replanned, int *cancelled)
{
        struct replan rp = { st, conf, now, 0, 0, NULL };

        *replanned = *cancelled = 0;
        if (store_begin(st, &rp.cause) < 0)
                goto fail;
        if (store_pending_groups(st, replan_group, &rp, &rp.cause) < 0) {
                store_rollback(st);
                goto fail;
        }
        if (store_commit(st, &rp.cause) < 0) {
                store_rollback(st);
                goto fail;
        }
        *replanned = rp.replanned;
        *cancelled = rp.cancelled;
        return 0;
fail:
        if (store_fault(st, NULL) == STORE_OK)
                log_err("re-planning alerts: %s", rp.cause);
        free(rp.cause);
        return -1;
}

json_t *
sched_ack_json(const struct conf *conf, int64_t case_id, const char *urn,
               const char *rule, const struct store_ack *a, bool acked)
{
        const struct school *school = conf_school(conf, urn);
        char human[64];
        json_t *o, *s;

        timefmt_human(conf->tz, a->due, human, sizeof(human));
        s = json_pack("{s:s, s:s}", "urn", urn, "name",
                      school != NULL ? school->name : urn);
        o = json_pack("{s:I, s:o, s:s, s:o, s:s, s:b}", "case",
                      (json_int_t)case_id, "school", s, "rule", rule, "due",
                      timefmt_json(conf->tz, a->due), "due_human", human,
                      "acked", acked);
        if (acked) {
                json_object_set_new(
                    o, "by", a->actor ? json_string(a->actor) : json_null());
                json_object_set_new(o, "at", timefmt_json(conf->tz, a->at));
                json_object_set_new(
                    o, "note", a->note ? json_string(a->note) : json_null());
        }
        return o;
}

int
sched_ack_within(struct store *st, const struct conf *conf,
                 const struct sched_ack *ack, int64_t now,
                 struct store_ack *out, char **cause)
{
        const struct rule *rule = conf_rule(conf, ack->rule);
        json_t *keeps = json_array();
        char *keeps_text;
        int rc;

        for (size_t i = 0; rule != NULL && i < rule->nack_keeps; i++)
                json_array_append_new(keeps, json_string(rule->ack_keeps[i]));
        keeps_text = json_dumps(keeps, JSON_COMPACT);
        rc = store_ack(st, ack->case_id, ack->rule, keeps_text, ack->actor,
                       ack->note, now, out, cause);
        json_decref(keeps);
        free(keeps_text);
        return rc;
}

json_t *
sched_ack(struct store *st, const struct conf *conf,
          const struct sched_ack *ack, int64_t now)
{
        struct store_ack a = { 0 };
        struct store_case c;
        json_t *reply = NULL, *o;
        const char *fault;
        char *cause = NULL;
        int rc;

        if (store_case_get(st, ack->case_id, &c, &cause) < 0) {
                free(cause);
                cause = NULL;
                reply = proto_error("no case %lld", (long long)ack->case_id);
                json_object_set_new(reply, "reason", json_string("not_found"));
                goto out;
        }
        if (store_begin(st, &cause) < 0)
                goto fail;
        rc = sched_ack_within(
            st, conf,
            &(struct sched_ack){ c.id, ack->rule, ack->actor, ack->note }, now,
            &a, &cause);
        if (rc < 0) {
                store_rollback(st);
                goto fail;
        }
        if (rc == 1) {
                store_rollback(st);
                reply = proto_error("case %lld has no alert of rule '%s' to "
                                    "acknowledge",
                                    (long long)c.id, ack->rule);
                json_object_set_new(reply, "reason", json_string("not_found"));
                goto out;
        }
        if (store_commit(st, &cause) < 0) {
                store_rollback(st);
                goto fail;
        }
        if (a.fresh)
                log_info("acknowledged %s for %s (case %lld) by '%s': %d "
                         "alerts cancelled",
                         ack->rule, c.urn, (long long)c.id,
                         ack->actor ? ack->actor : "?", a.cancelled);
        o = sched_ack_json(conf, c.id, c.urn, ack->rule, &a, true);
        json_object_set_new(o, "new", json_boolean(a.fresh));
        json_object_set_new(o, "cancelled", json_integer(a.cancelled));
        reply = proto_ok();
        json_object_set_new(reply, "ack", o);
        goto out;
fail:
        if (store_fault(st, &fault) != STORE_OK) {
                reply = proto_error("%s; nothing was recorded", fault);
                goto out;
        }
        log_err("acknowledging %s of case %lld failed: %s", ack->rule,
                (long long)ack->case_id, cause);
        reply = proto_error("internal error: %s", cause);
out:
        store_ack_clear(&a);
        free(cause);
        return reply;
}
