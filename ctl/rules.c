/*
 * ofsted-notifyctl rules: every rule of the config, for people: what starts
 * it, its deadline in words, its alerts and escalations, the remits it
 * applies to, what ends it and where it comes from. Offline, from the
 * config alone. --json gives the same as data; --markdown the table that
 * docs/rules.md holds for the shipped config (a test regenerates it and
 * compares, so the two never drift).
 */
#include "ctl.h"

#include "conf.h"
#include "rules.h"
#include "xalloc.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rules_format {
        RULES_HUMAN,
        RULES_JSON,
        RULES_MARKDOWN,
};

static json_t *
jstrv(char *const *v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

/* The remits a rule applies to, by name: all of them when it names none. */
static json_t *
jremits(const struct rule *r)
{
        json_t *a = json_array();

        for (int i = 0; i < REMIT_N; i++) {
                if (r->remits == 0 || (r->remits & (1u << i)) != 0)
                        json_array_append_new(
                            a, json_string(rules_remit_name((enum remit)i)));
        }
        return a;
}

/* Every fact about one rule that the three formats print. */
static json_t *
rule_json(const struct rule *r)
{
        json_t *o = json_object(), *alerts = json_array(), *esc;
        char *words;

        json_object_set_new(o, "name", json_string(r->name));
        json_object_set_new(o, "enabled", json_boolean(r->enabled));
        json_object_set_new(o, "event", json_string(r->event));
        words = rules_deadline_words(r);
        json_object_set_new(o, "deadline", json_string(words));
        free(words);
        words = rules_opens_words(r);
        if (words != NULL)
                json_object_set_new(o, "opens", json_string(words));
        free(words);
        json_object_set_new(o, "calendar",
                            json_string(r->calendar == RULE_CALENDAR_SCHOOL
                                            ? "school"
                                            : "trust"));
        json_object_set_new(o, "remits", jremits(r));
        json_object_set_new(o, "all_remits", json_boolean(r->remits == 0));
        for (size_t i = 0; i < r->nalerts; i++)
                json_array_append_new(alerts, json_string(r->alerts[i].text));
        json_object_set_new(o, "alerts", alerts);
        json_object_set_new(o, "channels", jstrv(r->channels, r->nchannels));
        /* Each escalation in words: "-60m to leaders, it". */
        esc = json_array();
        for (size_t i = 0; i < r->nescalations; i++) {
                const struct rule_escalation *e = &r->escalations[i];
                char *line = NULL, *next;

                xasprintf(&line, "%s to ", e->at.text);
                for (size_t k = 0; k < e->nchannels; k++) {
                        xasprintf(&next, "%s%s%s", line, k ? ", " : "",
                                  e->channels[k]);
                        free(line);
                        line = next;
                }
                json_array_append_new(esc, json_string(line));
                free(line);
        }
        json_object_set_new(o, "escalations", esc);
        json_object_set_new(o, "ack_keeps", jstrv(r->ack_keeps, r->nack_keeps));
        json_object_set_new(o, "ends_on", jstrv(r->cancel_on, r->ncancel_on));
        json_object_set_new(o, "action",
                            json_string(r->action ? r->action : ""));
        json_object_set_new(o, "source",
                            json_string(r->source ? r->source : ""));
        json_object_set_new(o, "checked",
                            json_string(r->checked ? r->checked : ""));
        return o;
}

/* The strings of array `a` joined by ", "; `none` when it is empty. */
static char *
joined(const json_t *a, const char *none)
{
        char *out = NULL, *next;
        size_t i;
        json_t *v;

        json_array_foreach(a, i, v)
        {
                xasprintf(&next, "%s%s%s", out ? out : "", out ? ", " : "",
                          json_string_value(v));
                free(out);
                out = next;
        }
        return out != NULL ? out : xstrdup(none);
}

static const char *
str(const json_t *o, const char *key)
{
        const char *v = json_string_value(json_object_get(o, key));

        return v != NULL ? v : "";
}

/* What ends a rule besides its case closing, which ends every rule. */
static char *
ends_text(const json_t *o)
{
        return joined(json_object_get(o, "ends_on"), "only its case closing");
}

static char *
remits_text(const json_t *o)
{
        if (json_is_true(json_object_get(o, "all_remits")))
                return xstrdup("all");
        return joined(json_object_get(o, "remits"), "all");
}

static void
print_human(const json_t *rules)
{
        size_t i;
        json_t *o;

        printf("Every rule also ends when its case closes (deferred, "
               "cancelled).\n\n");
        json_array_foreach(rules, i, o)
        {
                char *alerts = joined(json_object_get(o, "alerts"), "none");
                char *chans = joined(json_object_get(o, "channels"), "");
                char *esc = joined(json_object_get(o, "escalations"), "none");
                char *remits = remits_text(o), *ends = ends_text(o);

                printf("%s%s%s\n", i ? "\n" : "", str(o, "name"),
                       json_is_true(json_object_get(o, "enabled"))
                           ? ""
                           : " (disabled)");
                printf("  Started by:  %s\n", str(o, "event"));
                if (json_object_get(o, "opens") != NULL)
                        printf("  Opens:       %s\n", str(o, "opens"));
                printf("  Deadline:    %s\n", str(o, "deadline"));
                printf("  Remits:      %s\n", remits);
                printf("  Alerts:      %s\n", alerts);
                printf("  Goes to:     the school's channels%s%s\n",
                       chans[0] != '\0' ? ", and " : "", chans);
                printf("  Escalations: %s\n", esc);
                if (json_array_size(json_object_get(o, "ack_keeps")) > 0) {
                        char *keeps =
                            joined(json_object_get(o, "ack_keeps"), "");

                        printf("  Ack keeps:   %s\n", keeps);
                        free(keeps);
                }
                printf("  Ends on:     %s\n", ends);
                if (str(o, "action")[0] != '\0')
                        printf("  Action:      %s\n", str(o, "action"));
                printf("  Source:      %s\n", str(o, "source")[0] != '\0'
                                                  ? str(o, "source")
                                                  : "(not given)");
                if (str(o, "checked")[0] != '\0')
                        printf("  Checked:     %s\n", str(o, "checked"));
                free(alerts);
                free(chans);
                free(esc);
                free(remits);
                free(ends);
        }
}

/* Markdown table cells hold no '|' and no newline. */
static void
cell(const char *s)
{
        for (; *s != '\0'; s++) {
                if (*s == '|')
                        fputs("\\|", stdout);
                else if (*s == '\n')
                        fputc(' ', stdout);
                else
                        fputc(*s, stdout);
        }
}

static void
print_markdown(const struct conf *conf, const json_t *rules)
{
        size_t i;
        json_t *o;

        (void)conf;
        printf("# The shipped rules\n\n"
               "<!-- Generated by `ofsted-notifyctl rules --markdown -c "
               "config/ofsted-notify.conf`\n"
               "     (scripts/rules-doc); the test docs/rules checks that it "
               "matches. Do not edit. -->\n\n"
               "The deadline rules of `config/ofsted-notify.conf`, where each "
               "comes from and\n"
               "when that source was last checked. `ofsted-notifyctl rules` "
               "prints the same\n"
               "for any config. Working days are Ofsted's: weekdays that are "
               "not bank\n"
               "holidays (nor the trust's closures); a rule with `calendar = "
               "\"school\"` also\n"
               "skips the school's own closures. Every rule also ends when "
               "its case closes\n"
               "(`deferred`, `cancelled`).\n\n"
               "| rule | started by | deadline | remits | alerts | "
               "escalations | ends on | source | checked |\n"
               "|---|---|---|---|---|---|---|---|---|\n");
        json_array_foreach(rules, i, o)
        {
                char *alerts = joined(json_object_get(o, "alerts"), "none");
                char *esc = joined(json_object_get(o, "escalations"), "none");
                char *ends = ends_text(o);
                char *remits = remits_text(o);
                char *chans = joined(json_object_get(o, "channels"), "");

                printf("| `%s`%s | `%s` | ", str(o, "name"),
                       json_is_true(json_object_get(o, "enabled")) ? ""
                                                                   : " (off)",
                       str(o, "event"));
                if (json_object_get(o, "opens") != NULL) {
                        printf("opens ");
                        cell(str(o, "opens"));
                        printf("; closes ");
                }
                cell(str(o, "deadline"));
                printf(" | %s | %s%s%s%s | %s | %s | ", remits, alerts,
                       chans[0] != '\0' ? " (also to " : "", chans,
                       chans[0] != '\0' ? ")" : "", esc, ends);
                cell(str(o, "source"));
                printf(" | %s |\n", str(o, "checked"));
                free(alerts);
                free(esc);
                free(ends);
                free(remits);
                free(chans);
        }
        printf("\n## What each alert tells you\n\n");
        json_array_foreach(rules, i, o)
        {
                printf("- `%s`: ", str(o, "name"));
                cell(str(o, "action"));
                printf("\n");
        }
}

int
cmd_rules(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "markdown", no_argument, NULL, 'm' },
                { NULL, 0, NULL, 0 },
        };
        enum rules_format fmt = RULES_HUMAN;
        struct conf *conf = NULL;
        json_t *rules = NULL;
        char *text = NULL;
        int ch;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                switch (ch) {
                case 'j':
                        fmt = RULES_JSON;
                        break;
                case 'm':
                        fmt = RULES_MARKDOWN;
                        break;
                default:
                        return ctl_usage_error("rules", "bad option");
                }
        }
        if (optind < argc)
                return ctl_usage_error("rules", "unexpected argument '%s'",
                                       argv[optind]);
        conf = ctl_load_conf(ctl);
        if (conf == NULL)
                return CONF_EXIT;
        rules = json_array();
        for (size_t i = 0; i < conf->nrules; i++)
                json_array_append_new(rules, rule_json(&conf->rules[i]));
        switch (fmt) {
        case RULES_JSON:
                text = json_dumps(rules, JSON_INDENT(2));
                printf("%s\n", text);
                break;
        case RULES_MARKDOWN:
                print_markdown(conf, rules);
                break;
        case RULES_HUMAN:
                print_human(rules);
                break;
        }
        free(text);
        json_decref(rules);
        conf_destroy(&conf);
        return CTL_OK;
}
