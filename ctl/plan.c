/*
 * ofsted-notifyctl plan: what recording an event would do, computed from
 * the config alone, without a daemon: the case machine's decision
 * (common/case.h, the daemon's own) for an assumed state of the school's
 * case, and the deadlines and alerts of the rules it starts.
 */
#include "ctl.h"

#include "case.h"
#include "conf.h"
#include "rules.h"
#include "timefmt.h"
#include "xalloc.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plan_args {
        const char *event;
        const char *at;
        const char *urn;
        const char *state;
        const char *remit;
        bool new_case;
        bool json;
};

/* The channels an alert of `rule` goes to for `school`: its own, then the
 * rule's extra ones, each once. */
static json_t *
alert_channels(const struct conf *conf, const struct school *school,
               const struct rule *rule)
{
        json_t *a = json_array();

        for (size_t i = 0; i < school->nchannels; i++)
                json_array_append_new(
                    a, json_string(conf->channels[school->channels[i]].name));
        for (size_t i = 0; i < rule->nchannels; i++) {
                bool seen = false;
                size_t j;
                json_t *v;

                json_array_foreach(a, j, v)
                {
                        if (strcmp(json_string_value(v), rule->channels[i]) ==
                            0)
                                seen = true;
                }
                if (!seen)
                        json_array_append_new(a,
                                              json_string(rule->channels[i]));
        }
        return a;
}

static json_t *
plan_json(const struct conf *conf, const struct plan *plan,
          const struct case_decision *dec, const struct school *school,
          enum remit remit)
{
        const struct tz *tz = conf->tz;
        json_t *root = json_object(), *dls = json_array(), *als = json_array();
        json_t *warns = json_array(), *cancels = json_array();

        json_object_set_new(root, "event", json_string(dec->kind));
        json_object_set_new(root, "at", timefmt_json(tz, plan->at));
        if (school != NULL) {
                json_t *s = json_object();

                json_object_set_new(s, "urn", json_string(school->urn));
                json_object_set_new(s, "name", json_string(school->name));
                json_object_set_new(root, "school", s);
        }
        json_object_set_new(root, "remit",
                            json_string(rules_remit_name(remit)));
        json_object_set_new(root, "state",
                            json_string(case_state_name(dec->from)));
        if (dec->refusal != CASE_OK) {
                char *why = case_refusal_text(
                    dec, school != NULL ? school->urn : NULL, 0);

                json_object_set_new(root, "refused", json_string(why));
                free(why);
        } else {
                json_object_set_new(root, "next",
                                    json_string(case_state_name(dec->next)));
                json_object_set_new(root, "opens_case",
                                    json_boolean(dec->opens));
                json_object_set_new(root, "closes_case",
                                    json_boolean(dec->closes));
        }
        for (size_t i = 0; i < plan->ndeadlines; i++) {
                const struct plan_deadline *d = &plan->deadlines[i];
                json_t *o = json_object();

                json_object_set_new(o, "rule", json_string(d->rule->name));
                if (d->has_opens)
                        json_object_set_new(o, "opens",
                                            timefmt_json(tz, d->opens));
                json_object_set_new(o, "due", timefmt_json(tz, d->due));
                if (d->rule->action[0] != '\0')
                        json_object_set_new(o, "action",
                                            json_string(d->rule->action));
                json_array_append_new(dls, o);
        }
        for (size_t i = 0; i < plan->nalerts; i++) {
                const struct plan_alert *a = &plan->alerts[i];
                json_t *o = json_object();

                json_object_set_new(o, "rule", json_string(a->rule->name));
                json_object_set_new(o, "at", timefmt_json(tz, a->at));
                json_object_set_new(o, "offset", json_string(a->offset->text));
                json_object_set_new(
                    o, "kind",
                    json_string(a->escalation > 0 ? "escalation" : "alert"));
                if (a->escalation > 0) {
                        /* Sent only if nobody has acknowledged by then. */
                        const struct rule_escalation *e =
                            &a->rule->escalations[a->escalation - 1];
                        json_t *chs = json_array();

                        for (size_t k = 0; k < e->nchannels; k++)
                                json_array_append_new(
                                    chs, json_string(e->channels[k]));
                        json_object_set_new(o, "channels", chs);
                } else if (school != NULL) {
                        json_object_set_new(
                            o, "channels",
                            alert_channels(conf, school, a->rule));
                }
                json_array_append_new(als, o);
        }
        for (size_t i = 0; i < dec->nends; i++)
                json_array_append_new(
                    cancels, json_string(conf->rules[dec->ends[i]].name));
        for (size_t i = 0; i < plan->nwarnings; i++)
                json_array_append_new(warns, json_string(plan->warnings[i]));
        json_object_set_new(root, "deadlines", dls);
        json_object_set_new(root, "alerts", als);
        json_object_set_new(root, "cancels", cancels);
        json_object_set_new(root, "warnings", warns);
        return root;
}

/* Column width: the longest string in `col` of rows, at least the header. */
static int
width(json_t *rows, const char *col, const char *header)
{
        size_t w = strlen(header), i;
        json_t *row;

        json_array_foreach(rows, i, row)
        {
                const char *v = json_string_value(json_object_get(row, col));

                if (v != NULL && strlen(v) > w)
                        w = strlen(v);
        }
        return (int)w;
}

/* The case line: its state before and after, in people's words. */
static void
print_case(const struct case_decision *dec)
{
        const char *from = case_state_name(dec->from);
        const char *next = case_state_name(dec->next);

        if (dec->refusal != CASE_OK)
                printf("Case:    %s\n", from);
        else if (dec->opens && dec->closes)
                printf("Case:    %s, then closed; a new case, %s\n", from,
                       next);
        else if (dec->opens && dec->from != CASE_NONE)
                printf("Case:    %s (it stays), then a new case, %s\n", from,
                       next);
        else if (dec->opens)
                printf("Case:    %s, then a new case, %s\n", from, next);
        else
                printf("Case:    %s, then %s\n", from, next);
}

/* A readable table of the same data, in people's words. */
static void
print_human(const struct conf *conf, const struct plan *plan,
            const struct case_decision *dec, json_t *doc)
{
        json_t *dls = json_object_get(doc, "deadlines");
        json_t *als = json_object_get(doc, "alerts");
        json_t *cancels = json_object_get(doc, "cancels");
        json_t *school = json_object_get(doc, "school");
        char when[64];
        size_t i;
        json_t *v;
        int wr;

        timefmt_human(conf->tz, plan->at, when, sizeof(when));
        printf("Event:   %s at %s\n",
               json_string_value(json_object_get(doc, "event")), when);
        if (school != NULL)
                printf("School:  %s %s\n",
                       json_string_value(json_object_get(school, "urn")),
                       json_string_value(json_object_get(school, "name")));
        printf("Remit:   %s\n",
               json_string_value(json_object_get(doc, "remit")));
        printf("Zone:    %s\n", tz_name(conf->tz));
        print_case(dec);
        if (dec->refusal != CASE_OK) {
                printf("\nRefused: %s\n",
                       json_string_value(json_object_get(doc, "refused")));
                return;
        }

        printf("\nDeadlines\n");
        if (plan->ndeadlines == 0)
                printf("  (no rule starts on this event)\n");
        wr = width(dls, "rule", "RULE");
        if (plan->ndeadlines > 0)
                printf("  %-*s  %-26s  %s\n", wr, "RULE", "OPENS", "DUE");
        for (i = 0; i < plan->ndeadlines; i++) {
                const struct plan_deadline *d = &plan->deadlines[i];
                char opens[64] = "-", due[64];

                if (d->has_opens)
                        timefmt_human(conf->tz, d->opens, opens, sizeof(opens));
                timefmt_human(conf->tz, d->due, due, sizeof(due));
                printf("  %-*s  %-26s  %s\n", wr, d->rule->name, opens, due);
                if (d->rule->action[0] != '\0')
                        printf("  %-*s  %s\n", wr, "", d->rule->action);
        }

        if (plan->nalerts > 0) {
                int wo = width(als, "offset", "OFFSET");
                bool chans = school != NULL;

                for (size_t k = 0; k < plan->nalerts; k++) {
                        const struct plan_alert *a = &plan->alerts[k];
                        int w = (int)strlen(a->offset->text) + 11;

                        if (a->escalation > 0 && w > wo)
                                wo = w;
                        chans = chans || a->escalation > 0;
                }

                wr = width(als, "rule", "RULE");
                printf("\nAlerts\n  %-26s  %-*s  %-*s%s\n", "WHEN", wr, "RULE",
                       chans ? wo : 0, "OFFSET", chans ? "  CHANNELS" : "");
                json_array_foreach(als, i, v)
                {
                        const struct plan_alert *a = &plan->alerts[i];
                        json_t *chs = json_object_get(v, "channels");
                        size_t k;
                        json_t *c;

                        char off[64];

                        timefmt_human(conf->tz, a->at, when, sizeof(when));
                        snprintf(off, sizeof(off), "%s%s",
                                 a->escalation > 0 ? "escalation " : "",
                                 a->offset->text);
                        printf("  %-26s  %-*s  %-*s", when, wr, a->rule->name,
                               chans ? wo : 0, off);
                        json_array_foreach(chs, k, c)
                        {
                                printf("%s%s", k == 0 ? "  " : ", ",
                                       json_string_value(c));
                        }
                        printf("\n");
                }
        }
        if (json_array_size(cancels) > 0) {
                printf("\nEnds\n");
                if (dec->closes)
                        printf("  (the %s case closes: every rule of it "
                               "ends)\n",
                               case_state_name(dec->from));
                json_array_foreach(cancels, i, v)
                {
                        printf("  %s (its pending alerts are cancelled)\n",
                               json_string_value(v));
                }
        }
        if (plan->nwarnings > 0) {
                printf("\nWarnings\n");
                for (i = 0; i < plan->nwarnings; i++)
                        printf("  %s\n", plan->warnings[i]);
        }
}

static int
parse_args(struct ctl *ctl, int argc, char **argv, struct plan_args *pa)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "event", required_argument, NULL, 'e' },
                { "at", required_argument, NULL, 'a' },
                { "school", required_argument, NULL, 's' },
                { "state", required_argument, NULL, 'S' },
                { "remit", required_argument, NULL, 'r' },
                { "new-case", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                { NULL, 0, NULL, 0 },
        };
        int ch;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                switch (ch) {
                case 'e':
                        pa->event = optarg;
                        break;
                case 'a':
                        pa->at = optarg;
                        break;
                case 's':
                        pa->urn = optarg;
                        break;
                case 'S':
                        pa->state = optarg;
                        break;
                case 'r':
                        pa->remit = optarg;
                        break;
                case 'n':
                        pa->new_case = true;
                        break;
                case 'j':
                        pa->json = true;
                        break;
                default:
                        return ctl_usage_error("plan", "bad option");
                }
        }
        if (optind < argc)
                return ctl_usage_error("plan", "unexpected argument '%s'",
                                       argv[optind]);
        if (pa->event == NULL)
                return ctl_usage_error("plan", "--event KIND is required");
        if (pa->remit != NULL && pa->urn != NULL)
                return ctl_usage_error("plan", "--remit: the school's own "
                                               "remit applies with --school");
        if (pa->new_case && strcmp(pa->event, "notification") != 0)
                return ctl_usage_error("plan", "--new-case: only a "
                                               "notification opens a case");
        return CTL_OK;
}

/* The kinds this config knows, for an error message; caller frees. */
static char *
known_kinds(const struct conf *conf)
{
        char *out = xstrdup(""), *next;

        for (size_t i = 0; rules_builtin_kinds[i] != NULL; i++) {
                xasprintf(&next, "%s%s%s", out, i ? ", " : "",
                          rules_builtin_kinds[i]);
                free(out);
                out = next;
        }
        for (size_t i = 0; i < conf->nrules; i++) {
                const char *k = conf->rules[i].event;
                bool seen = rules_builtin_kind(k);

                for (size_t j = 0; j < i && !seen; j++)
                        seen = strcmp(conf->rules[j].event, k) == 0;
                if (seen)
                        continue;
                xasprintf(&next, "%s, %s", out, k);
                free(out);
                out = next;
        }
        return out;
}

int
cmd_plan(struct ctl *ctl, int argc, char **argv)
{
        struct plan_args pa = { NULL, NULL, NULL, NULL, NULL, false, false };
        struct case_decision d = { 0 };
        enum case_state state;
        struct plan plan = { 0 };
        struct rules_env env;
        struct conf *conf = NULL;
        const struct school *school = NULL;
        enum tz_fold fold = TZ_EXACT;
        char *cause = NULL, *doc_text = NULL;
        json_t *doc = NULL;
        int64_t at = ctl->now;
        int rc;

        rc = parse_args(ctl, argc, argv, &pa);
        if (rc != CTL_OK)
                return rc;
        conf = ctl_load_conf(ctl);
        if (conf == NULL)
                return CONF_EXIT;
        if (!conf_known_kind(conf, pa.event)) {
                char *kinds = known_kinds(conf);

                rc = ctl_usage_error("plan",
                                     "--event '%s': unknown event kind "
                                     "(known: %s)",
                                     pa.event, kinds);
                free(kinds);
                goto out;
        }
        if (pa.urn != NULL && (school = conf_school(conf, pa.urn)) == NULL) {
                rc = ctl_usage_error("plan",
                                     "--school '%s': no school with that URN "
                                     "in %s",
                                     pa.urn, conf->path);
                goto out;
        }
        if (pa.at != NULL &&
            timefmt_parse(conf->tz, pa.at, &at, &fold, &cause) < 0) {
                rc = ctl_usage_error("plan", "--at %s", cause);
                goto out;
        }

        state = case_default_state(pa.event);
        if (pa.state != NULL &&
            (case_state_parse(pa.state, &state) < 0 || state == CASE_CLOSED)) {
                rc = ctl_usage_error("plan",
                                     "--state '%s': want none, open, paused "
                                     "or concluded",
                                     pa.state);
                goto out;
        }

        conf_rules_env(conf, school, &env);
        if (pa.remit != NULL && rules_remit_parse(pa.remit, &env.remit) < 0) {
                rc = ctl_usage_error(
                    "plan", "--remit '%s': want " RULES_REMIT_LIST, pa.remit);
                goto out;
        }
        case_decide(pa.event, state, pa.new_case, env.remit, conf->rules,
                    conf->nrules, &d);
        case_plan(&d, conf->rules, &env, at, &plan);
        if (fold != TZ_EXACT) {
                char got[TIMEFMT_LEN];

                timefmt_rfc3339(conf->tz, at, got, sizeof(got));
                plan_warn(&plan, "--at %s %s in %s; taken as %s", pa.at,
                          fold == TZ_GAP ? "does not exist" : "happens twice",
                          tz_name(conf->tz), got);
        }
        doc = plan_json(conf, &plan, &d, school, env.remit);
        if (pa.json) {
                doc_text = json_dumps(doc, JSON_INDENT(2));
                printf("%s\n", doc_text);
        } else {
                print_human(conf, &plan, &d, doc);
        }
        /* The daemon would refuse it: so does the plan, after saying why. */
        rc = d.refusal == CASE_OK ? CTL_OK : CTL_FAILED;
out:
        free(doc_text);
        json_decref(doc);
        free(cause);
        case_decision_free(&d);
        plan_free(&plan);
        conf_destroy(&conf);
        return rc;
}
