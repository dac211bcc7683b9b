#include "conf_int.h"

#include "civil.h"
#include "timefmt.h"
#include "xalloc.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The conf module's rules section (conf_int.h): each rule's event, deadline,
 * window, alerts, channels and the events that cancel it, the remits it
 * applies to, the calendar it counts on, and its source.
 */

#define WORKING_DAYS_MAX 260
#define MONTHS_MAX       120

static void
load_when(struct loader *ld, const config_setting_t *rule, const char *key,
          struct rule_when *w)
{
        static const char *const keys[] = { "working_days", "months", "time",
                                            "roll", NULL };
        static const char *const rolls[] = { "none", "forward", "backward",
                                             NULL };
        const config_setting_t *m = config_setting_get_member(rule, key);
        const config_setting_t *g;
        const char *time;
        bool mo;
        int roll;

        /* A window may open at the event itself: opens = "event". */
        if (m != NULL && strcmp(key, "opens") == 0 &&
            config_setting_type(m) == CONFIG_TYPE_STRING) {
                if (strcmp(config_setting_get_string(m), "event") != 0)
                        ld_error_at(ld, m,
                                    "opens '%s' must be \"event\" or a group "
                                    "{ working_days = N; time = \"HH:MM\"; }",
                                    config_setting_get_string(m));
                w->unit = RULE_AT_EVENT;
                return;
        }
        g = ld_get_group(ld, rule, key);
        if (g == NULL)
                return;
        ld_check_keys(ld, g, keys, key);
        ld_get_int(ld, g, "working_days", 0, WORKING_DAYS_MAX, &w->count);
        mo = ld_get_int(ld, g, "months", 0, MONTHS_MAX, &w->count);
        w->unit = mo ? RULE_MONTHS : RULE_WORKING_DAYS;
        if (config_setting_get_member(g, "working_days") != NULL &&
            config_setting_get_member(g, "months") != NULL)
                ld_error_at(ld, g, "'%s' has both working_days and months",
                            key);
        else if (config_setting_get_member(g, "working_days") == NULL &&
                 config_setting_get_member(g, "months") == NULL)
                ld_error_at(ld, g, "'%s' needs working_days or months", key);
        roll = ld_get_enum(ld, g, "roll", rolls, 1, key);
        w->roll = roll == 2 ? -1 : roll;
        if (config_setting_get_member(g, "months") == NULL &&
            config_setting_get_member(g, "roll") != NULL)
                ld_error_at(ld, config_setting_get_member(g, "roll"),
                            "'roll' is only for months");
        time = ld_get_string(ld, g, "time", true, key);
        if (time != NULL && timefmt_parse_clock(time, &w->secs) < 0)
                ld_error_at(ld, config_setting_get_member(g, "time"),
                            "bad time '%s' (want HH:MM, 00:00 to 23:59)", time);
}

/* The remits a rule lists, as bits; 0 (every remit) when it lists none. */
static unsigned
load_remits(struct loader *ld, const config_setting_t *g, const char *name)
{
        const config_setting_t *m;
        struct strlist names;
        unsigned bits = 0;

        ld_get_strv(ld, g, "remits", &names);
        for (size_t i = 0; i < names.n; i++) {
                enum remit r;

                if (rules_remit_parse(names.v[i], &r) < 0)
                        ld_error_at(ld, names.at[i],
                                    "rule '%s': unknown remit '%s' "
                                    "(remits: " RULES_REMIT_LIST ")",
                                    name ? name : "?", names.v[i]);
                else
                        bits |= 1u << r;
        }
        m = config_setting_get_member(g, "remits");
        if (m != NULL && config_setting_length(m) == 0)
                ld_error_at(ld, m,
                            "'remits' is empty: list some, or leave it out for "
                            "every remit");
        ld_strlist_free(&names);
        return bits;
}

/* Where the rule comes from: its source and the day it was last checked. */
static void
load_source(struct loader *ld, const config_setting_t *g, struct rule *r)
{
        const config_setting_t *m;
        int32_t day;

        r->source = ld_dup_string(ld, g, "source", "", "rule");
        if (r->source != NULL)
                ld_check_length(ld, config_setting_get_member(g, "source"),
                                "a rule's source", r->source, CONF_MAX_ACTION);
        r->checked = ld_dup_string(ld, g, "checked", "", "rule");
        m = config_setting_get_member(g, "checked");
        if (m != NULL && r->checked != NULL &&
            civil_parse_date(r->checked, &day) < 0)
                ld_error_at(ld, m, "checked '%s' is not a date YYYY-MM-DD",
                            r->checked);
}

/*
 * The rule's escalations: a list of groups { at = OFFSET; channels = [..]; },
 * each at an offset as `alerts` takes and to at least one known channel.
 */
static void
load_escalations(struct loader *ld, const config_setting_t *g, struct rule *r)
{
        static const char *const keys[] = { "at", "channels", NULL };
        const config_setting_t *list = ld_get_list(ld, g, "escalate", false);
        char *owner;
        int n;

        if (list == NULL)
                return;
        n = config_setting_length(list);
        r->escalations = xcalloc((size_t)n + 1, sizeof(*r->escalations));
        xasprintf(&owner, "rule '%s' escalate", r->name ? r->name : "?");
        for (int i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(list, i);
                struct rule_escalation *esc = &r->escalations[r->nescalations];
                struct strlist channels;
                size_t *idx = NULL, nidx = 0;
                const char *at;

                if (!ld_element_group(ld, e, "escalation"))
                        continue;
                ld_check_keys(ld, e, keys, "escalation");
                at = ld_get_string(ld, e, "at", true, "escalation");
                if (at != NULL && rules_parse_offset(at, &esc->at) < 0)
                        ld_error_at(ld, config_setting_get_member(e, "at"),
                                    "bad escalation offset '%s' (want event, "
                                    "opens, deadline, -90m, -2h, -1d, +30s, "
                                    "+1h)",
                                    at);
                else if (at != NULL && esc->at.anchor == ALERT_OPENS &&
                         !r->has_opens)
                        ld_error_at(ld, config_setting_get_member(e, "at"),
                                    "escalation at 'opens' but the rule has "
                                    "no 'opens'");
                ld_get_strv(ld, e, "channels", &channels);
                if (channels.n == 0)
                        ld_error_at(ld, e,
                                    "an escalation needs 'channels': whom to "
                                    "tell when nobody has acknowledged");
                ld_resolve_channels(ld, &channels, owner, &idx, &nidx);
                esc->channels = channels.v;
                esc->nchannels = channels.n;
                free(channels.at);
                free(idx);
                r->nescalations++;
        }
        free(owner);
}

/* The alert offsets an acknowledgement keeps: each one of the rule's. */
static void
load_ack_keeps(struct loader *ld, const config_setting_t *g, struct rule *r)
{
        struct strlist keeps;

        ld_get_strv(ld, g, "ack_keeps", &keeps);
        for (size_t i = 0; i < keeps.n; i++) {
                bool found = false;

                for (size_t k = 0; k < r->nalerts; k++)
                        found =
                            found || strcmp(r->alerts[k].text, keeps.v[i]) == 0;
                if (!found)
                        ld_error_at(ld, keeps.at[i],
                                    "ack_keeps '%s' is not one of the "
                                    "alerts of rule '%s'",
                                    keeps.v[i], r->name ? r->name : "?");
        }
        r->ack_keeps = keeps.v;
        r->nack_keeps = keeps.n;
        free(keeps.at);
}

/* One rule; *cancel_on gets its cancel_on list, whose strings r takes. */
static void
load_rule(struct loader *ld, const config_setting_t *g, struct rule *r,
          struct strlist *cancel_on)
{
        static const char *const keys[] = {
                "name",     "event",    "action",    "enabled",
                "opens",    "deadline", "alerts",    "remits",
                "calendar", "channels", "cancel_on", "source",
                "checked",  "escalate", "ack_keeps", NULL
        };
        static const char *const calendars[] = { "trust", "school", NULL };
        const config_setting_t *m;
        struct strlist alerts, channels;
        size_t *idx = NULL, nidx = 0;
        char *owner;

        ld_check_keys(ld, g, keys, "rule");
        r->name = ld_dup_string(ld, g, "name", NULL, "rule");
        if (r->name != NULL && !rules_valid_kind(r->name))
                ld_error_at(ld, config_setting_get_member(g, "name"),
                            "rule name '%s' must be lower case letters, digits "
                            "and '_'",
                            r->name);
        r->event = ld_dup_string(ld, g, "event", NULL, "rule");
        if (r->event != NULL && !rules_valid_kind(r->event))
                ld_error_at(
                    ld, config_setting_get_member(g, "event"),
                    "event kind '%s' must be lower case letters, digits "
                    "and '_'",
                    r->event);
        r->action = ld_dup_string(ld, g, "action", "", "rule");
        if (r->action != NULL)
                ld_check_length(ld, config_setting_get_member(g, "action"),
                                "a rule's action", r->action, CONF_MAX_ACTION);
        r->enabled = true;
        m = config_setting_get_member(g, "enabled");
        if (m != NULL && config_setting_type(m) != CONFIG_TYPE_BOOL)
                ld_error_at(ld, m, "'enabled' must be true or false");
        else if (m != NULL)
                r->enabled = config_setting_get_bool(m);
        r->remits = load_remits(ld, g, r->name);
        r->calendar = (enum rule_calendar)ld_get_enum(
            ld, g, "calendar", calendars, RULE_CALENDAR_TRUST, "rule");
        load_source(ld, g, r);

        if (config_setting_get_member(g, "deadline") == NULL)
                ld_error_at(ld, g, "missing 'deadline' in rule");
        load_when(ld, g, "deadline", &r->deadline);
        r->has_opens = config_setting_get_member(g, "opens") != NULL;
        if (r->has_opens)
                load_when(ld, g, "opens", &r->opens);
        if (r->has_opens && r->opens.unit == RULE_WORKING_DAYS &&
            r->deadline.unit == RULE_WORKING_DAYS &&
            (r->opens.count > r->deadline.count ||
             (r->opens.count == r->deadline.count &&
              r->opens.secs > r->deadline.secs)))
                ld_error_at(ld, config_setting_get_member(g, "opens"),
                            "the window opens after its deadline");

        ld_get_strv(ld, g, "alerts", &alerts);
        if (config_setting_get_member(g, "alerts") == NULL)
                ld_error_at(ld, g, "missing 'alerts' in rule");
        r->alerts = xcalloc(alerts.n, sizeof(*r->alerts));
        for (size_t i = 0; i < alerts.n; i++) {
                struct alert_offset *o = &r->alerts[r->nalerts];
                const config_setting_t *e = alerts.at[i];

                if (rules_parse_offset(alerts.v[i], o) < 0)
                        ld_error_at(ld, e,
                                    "bad alert offset '%s' (want event, opens, "
                                    "deadline, -90m, -2h, -1d, +30s, +1h)",
                                    alerts.v[i]);
                else if (o->anchor == ALERT_OPENS && !r->has_opens)
                        ld_error_at(
                            ld, e, "alert 'opens' but the rule has no 'opens'");
                else
                        r->nalerts++;
        }
        ld_strlist_free(&alerts);

        xasprintf(&owner, "rule '%s'", r->name ? r->name : "?");
        ld_get_strv(ld, g, "channels", &channels);
        ld_resolve_channels(ld, &channels, owner, &idx, &nidx);
        r->channels = channels.v;
        r->nchannels = channels.n;
        free(channels.at);
        free(idx);
        free(owner);
        load_escalations(ld, g, r);
        load_ack_keeps(ld, g, r);
        ld_get_strv(ld, g, "cancel_on", cancel_on);
        r->cancel_on = cancel_on->v;
        r->ncancel_on = cancel_on->n;
}

void
ld_load_rules(struct loader *ld, const config_setting_t *root)
{
        struct conf *c = ld->conf;
        const config_setting_t *list = ld_get_list(ld, root, "rules", true);
        const config_setting_t ***cancel_at; /* per rule, per cancel_on */
        int n;

        if (list == NULL)
                return;
        n = config_setting_length(list);
        c->rules = xcalloc((size_t)n, sizeof(*c->rules));
        cancel_at = xcalloc((size_t)n, sizeof(*cancel_at));
        for (int i = 0; i < n; i++) {
                const config_setting_t *g = config_setting_get_elem(list, i);
                struct rule *r = &c->rules[c->nrules++];
                struct strlist cancel_on = { 0 };

                if (!ld_element_group(ld, g, "rule"))
                        continue;
                load_rule(ld, g, r, &cancel_on);
                cancel_at[i] = cancel_on.at; /* r owns cancel_on.v */
                if (r->name != NULL)
                        ld_check_unique(ld, list, i, "name", r->name,
                                        "rule name");
        }
        /* cancel_on may name any kind some rule starts on: check after all. */
        for (size_t i = 0; i < c->nrules; i++) {
                const struct rule *r = &c->rules[i];

                for (size_t k = 0; k < r->ncancel_on; k++) {
                        if (!conf_known_kind(c, r->cancel_on[k]))
                                ld_error_at(ld, cancel_at[i][k],
                                            "unknown event kind '%s' in "
                                            "cancel_on",
                                            r->cancel_on[k]);
                }
                free(cancel_at[i]);
        }
        free(cancel_at);
}
