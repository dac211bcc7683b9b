#include "conf.h"
#include "conf_int.h"

#include "civil.h"
#include "fileio.h"
#include "names.h"
#include "template.h"
#include "xalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOLIDAYS_MAX (16u << 20)
/* --- Sections ----------------------------------------------------------- */

/* A closure range longer than this is surely a typo (a year for a month). */
#define CLOSURE_RANGE_MAX 366

/*
 * One closure: "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (both days
 * included). 0 with the first and last day, or -1 with *why (caller frees).
 */
static int
parse_closure(const char *s, int32_t *first, int32_t *last, char **why)
{
        const char *dots = strstr(s, "..");
        char a[16], b[16];

        if (dots == NULL) {
                if (civil_parse_date(s, first) < 0) {
                        xasprintf(why, "is not a date YYYY-MM-DD or a range "
                                       "YYYY-MM-DD..YYYY-MM-DD");
                        return -1;
                }
                *last = *first;
                return 0;
        }
        if ((size_t)(dots - s) >= sizeof(a) || strlen(dots + 2) >= sizeof(b)) {
                xasprintf(why, "is not a range YYYY-MM-DD..YYYY-MM-DD");
                return -1;
        }
        snprintf(a, sizeof(a), "%.*s", (int)(dots - s), s);
        snprintf(b, sizeof(b), "%s", dots + 2);
        if (civil_parse_date(a, first) < 0) {
                xasprintf(why,
                          "starts with '%s', which is not a date "
                          "YYYY-MM-DD",
                          a);
                return -1;
        }
        if (civil_parse_date(b, last) < 0) {
                xasprintf(why, "ends with '%s', which is not a date YYYY-MM-DD",
                          b);
                return -1;
        }
        if (*last < *first) {
                xasprintf(why, "ends before it starts");
                return -1;
        }
        if (*last - *first >= CLOSURE_RANGE_MAX) {
                xasprintf(why, "is longer than %d days", CLOSURE_RANGE_MAX);
                return -1;
        }
        return 0;
}

/*
 * The list `closures` of group g, each day added to `cal` and to *days;
 * `what` names one in messages ("trust closure", "school '100001' closure").
 */
static void
load_closures(struct loader *ld, const config_setting_t *g,
              struct calendar *cal, const char *what, int32_t **days,
              size_t *ndays)
{
        struct strlist closures;
        size_t cap = 0;

        *days = NULL;
        *ndays = 0;
        ld_get_strv(ld, g, "closures", &closures);
        for (size_t i = 0; i < closures.n; i++) {
                int32_t first, last;
                char *why = NULL;

                if (parse_closure(closures.v[i], &first, &last, &why) < 0) {
                        ld_error_at(ld, closures.at[i], "%s '%s' %s", what,
                                    closures.v[i], why);
                        free(why);
                        continue;
                }
                for (int32_t d = first; d <= last; d++) {
                        if (*ndays == cap) {
                                cap = cap == 0 ? 16 : cap * 2;
                                *days =
                                    xreallocarray(*days, cap, sizeof(**days));
                        }
                        (*days)[(*ndays)++] = d;
                        calendar_add_closure(cal, d, "closure");
                }
        }
        ld_strlist_free(&closures);
}

static void
load_trust(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "name",     "timezone", "holidays",
                                            "division", "closures", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = ld_get_group(ld, root, "trust");
        const config_setting_t *m;
        char *holidays = NULL, *json = NULL, *why = NULL;
        size_t len;

        if (g == NULL) {
                if (config_setting_get_member(root, "trust") == NULL)
                        ld_error_at(ld, NULL, "missing 'trust'");
                return;
        }
        ld_check_keys(ld, g, keys, "trust");
        c->trust.name = ld_dup_string(ld, g, "name", NULL, "trust");
        if (c->trust.name != NULL)
                ld_check_length(ld, config_setting_get_member(g, "name"),
                                "the trust's name", c->trust.name,
                                CONF_MAX_NAME);
        c->trust.timezone =
            ld_dup_string(ld, g, "timezone", "Europe/London", "trust");
        c->trust.division =
            ld_dup_string(ld, g, "division", "england-and-wales", "trust");
        holidays =
            ld_dup_string(ld, g, "holidays", "bank-holidays.json", "trust");

        if (c->trust.timezone != NULL) {
                c->tz = tz_load(c->trust.timezone, &why);
                if (c->tz == NULL) {
                        m = config_setting_get_member(g, "timezone");
                        ld_error_at(ld, m != NULL ? m : g, "%s", why);
                        free(why);
                        why = NULL;
                }
        }

        c->calendar = calendar_new();
        m = config_setting_get_member(g, "holidays");
        if (holidays != NULL && c->trust.division != NULL) {
                c->trust.holidays = ld_resolve_path(c->dir, holidays);
                if (fileio_read(c->trust.holidays, HOLIDAYS_MAX, &json, &len,
                                &why) < 0)
                        ld_error_at(ld, m != NULL ? m : g,
                                    "cannot read the holidays file: %s", why);
                else if (calendar_add_govuk(c->calendar, json, len,
                                            c->trust.division, &why) < 0)
                        ld_error_at(ld, m != NULL ? m : g, "%s: %s",
                                    c->trust.holidays, why);
        }

        load_closures(ld, g, c->calendar, "trust closure", &c->trust.closures,
                      &c->trust.nclosures);
        free(why);
        free(json);
        free(holidays);
}

/*
 * A ZeroMQ endpoint: ipc:// (on this host), or tcp://HOST:PORT, which
 * ld_load_curve() then insists has CURVE keys.
 */
static char *
get_endpoint(struct loader *ld, const config_setting_t *g, const char *key,
             const char *def)
{
        char *v = ld_dup_string(ld, g, key, def, "daemon");
        const char *colon;

        if (v == NULL || (strncmp(v, "ipc://", 6) == 0 && v[6] != '\0'))
                return v;
        if (strncmp(v, "tcp://", 6) == 0) {
                colon = strrchr(v + 6, ':');
                if (colon == NULL || colon == v + 6 || colon[1] == '\0' ||
                    strspn(colon + 1, "0123456789*") != strlen(colon + 1))
                        ld_error_at(ld, config_setting_get_member(g, key),
                                    "%s '%s' is not tcp://HOST:PORT", key, v);
                return v;
        }
        ld_error_at(ld, config_setting_get_member(g, key),
                    "%s '%s' is neither an ipc:// nor a tcp:// endpoint", key,
                    v);
        return v;
}

/* The daemon group is optional: every key has a default. */
static void
load_daemon(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "state",   "control",  "dispatch",
                                            "feed",    "catch_up", "late_after",
                                            "metrics", NULL };
        static const char *const catch_up[] = { "late", "skip", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = ld_get_group(ld, root, "daemon");
        const char *all[32];
        size_t n = 0;

        /* Its own keys and those of conf_ops.c. */
        for (size_t i = 0; keys[i] != NULL; i++)
                all[n++] = keys[i];
        for (size_t i = 0; ld_ops_keys[i] != NULL; i++)
                all[n++] = ld_ops_keys[i];
        all[n] = NULL;
        if (g != NULL)
                ld_check_keys(ld, g, all, "daemon");
        ld_load_ops(ld, g);
        c->daemon.state = ld_dup_string(ld, g, "state", "state.db", "daemon");
        c->daemon.control =
            get_endpoint(ld, g, "control", "ipc://control.sock");
        c->daemon.dispatch =
            get_endpoint(ld, g, "dispatch", "ipc://dispatch.sock");
        c->daemon.feed = get_endpoint(ld, g, "feed", "ipc://feed.sock");
        c->daemon.catch_up = (enum catch_up)ld_get_enum(
            ld, g, "catch_up", catch_up, CATCH_UP_LATE, "daemon");
        c->daemon.late_after = 60;
        ld_get_int(ld, g, "late_after", 1, 86400, &c->daemon.late_after);
        c->daemon.metrics = ld_dup_string(ld, g, "metrics", "", "daemon");
}

/* How deliveries are leased and retried (docs/dispatch.md); optional. */
static void
load_delivery(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "lease", "max_attempts",
                                            "give_up_after", "retry_base",
                                            NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = ld_get_group(ld, root, "delivery");

        if (g != NULL)
                ld_check_keys(ld, g, keys, "delivery");
        c->delivery.lease = 60;
        c->delivery.max_attempts = 12;
        c->delivery.give_up_after = 86400;
        c->delivery.retry_base = 30;
        ld_get_int(ld, g, "lease", 5, 3600, &c->delivery.lease);
        ld_get_int(ld, g, "max_attempts", 1, 100, &c->delivery.max_attempts);
        ld_get_int(ld, g, "give_up_after", 60, 30 * 86400,
                   &c->delivery.give_up_after);
        ld_get_int(ld, g, "retry_base", 1, 3600, &c->delivery.retry_base);
}

static void
load_schools(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "urn",   "name",     "channels",
                                            "remit", "closures", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *list = ld_get_list(ld, root, "schools", true);
        int n;

        if (list == NULL)
                return;
        n = config_setting_length(list);
        c->schools = xcalloc((size_t)n, sizeof(*c->schools));
        for (int i = 0; i < n; i++) {
                const config_setting_t *g = config_setting_get_elem(list, i);
                struct school *s = &c->schools[c->nschools++];
                struct strlist names;
                const char *remit;
                char *owner;

                if (!ld_element_group(ld, g, "school"))
                        continue;
                ld_check_keys(ld, g, keys, "school");
                s->urn = ld_dup_string(ld, g, "urn", NULL, "school");
                s->name = ld_dup_string(ld, g, "name", NULL, "school");
                if (s->name != NULL)
                        ld_check_length(
                            ld, config_setting_get_member(g, "name"),
                            "a school's name", s->name, CONF_MAX_NAME);
                if (s->urn != NULL && !names_valid_urn(s->urn)) {
                        ld_error_at(ld, config_setting_get_member(g, "urn"),
                                    "urn '%s' is not a URN (6 digits)", s->urn);
                } else if (s->urn != NULL) {
                        ld_check_unique(ld, list, i, "urn", s->urn,
                                        "school urn");
                }
                xasprintf(&owner, "school '%s'", s->urn ? s->urn : "?");
                ld_get_strv(ld, g, "channels", &names);
                if (config_setting_get_member(g, "channels") == NULL)
                        ld_error_at(ld, g, "%s has no 'channels'", owner);
                ld_resolve_channels(ld, &names, owner, &s->channels,
                                    &s->nchannels);
                ld_strlist_free(&names);
                remit = ld_get_string(ld, g, "remit", false, owner);
                if (remit != NULL && rules_remit_parse(remit, &s->remit) < 0)
                        ld_error_at(
                            ld, config_setting_get_member(g, "remit"),
                            "%s: unknown remit '%s' (remits: " RULES_REMIT_LIST
                            ")",
                            owner, remit);
                free(owner);
                /* Without the trust's calendar there is nothing to add to:
                 * its error is already said. */
                if (c->calendar == NULL)
                        continue;
                s->calendar = calendar_new_over(c->calendar);
                xasprintf(&owner, "school '%s' closure", s->urn ? s->urn : "?");
                load_closures(ld, g, s->calendar, owner, &s->closures,
                              &s->nclosures);
                free(owner);
        }
}

/*
 * One template string, `where` naming it ("templates.slack.title"): NULL
 * when absent or wrong (said). A title becomes an email subject, so it is
 * one line; a text may hold newlines but no other control character.
 */
static char *
get_template(struct loader *ld, const config_setting_t *g, const char *key,
             const char *where)
{
        const config_setting_t *m = config_setting_get_member(g, key);
        bool title = strcmp(key, "title") == 0;
        char *cause = NULL;
        const char *v;

        if (m == NULL)
                return NULL;
        if (config_setting_type(m) != CONFIG_TYPE_STRING) {
                ld_error_at(ld, m, "%s must be a string", where);
                return NULL;
        }
        v = config_setting_get_string(m);
        if (v[0] == '\0') {
                ld_error_at(ld, m, "%s must not be empty", where);
                return NULL;
        }
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
                if ((*p < 0x20 || *p == 0x7f) && (title || *p != '\n')) {
                        ld_error_at(ld, m, "%s contains a control character%s",
                                    where,
                                    title ? " (a title is one line)" : "");
                        return NULL;
                }
        }
        if (!ld_valid_utf8((const unsigned char *)v)) {
                ld_error_at(ld, m, "%s is not valid UTF-8", where);
                return NULL;
        }
        if (!ld_check_length(ld, m, where, v,
                             title ? CONF_MAX_TITLE : CONF_MAX_TEMPLATE))
                return NULL;
        if (template_check(v, &cause) < 0) {
                ld_error_at(ld, m, "%s: %s", where, cause);
                free(cause);
                return NULL;
        }
        return xstrdup(v);
}

/*
 * The optional templates group: for each channel type an optional group
 * with an optional title and text (template.h), checked here so a typo in
 * a placeholder stops the load instead of reaching a chat.
 */
static void
load_templates(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "title", "text", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = ld_get_group(ld, root, "templates");
        int n;

        if (g == NULL)
                return;
        n = config_setting_length(g);
        for (int i = 0; i < n; i++) {
                const config_setting_t *m = config_setting_get_elem(g, i);
                const char *name = config_setting_name(m);
                enum channel_type t;
                char *where;

                for (t = 0; t < CHANNEL_NTYPES; t++) {
                        if (strcmp(name, conf_channel_type_name(t)) == 0)
                                break;
                }
                if (t == CHANNEL_NTYPES) {
                        ld_error_at(ld, m,
                                    "unknown channel type '%s' in templates "
                                    "(types: " TYPE_LIST ")",
                                    name);
                        continue;
                }
                xasprintf(&where, "templates.%s", name);
                if (config_setting_type(m) != CONFIG_TYPE_GROUP) {
                        ld_error_at(ld, m, "%s must be a group { ... }", where);
                        free(where);
                        continue;
                }
                ld_check_keys(ld, m, keys, where);
                free(where);
                xasprintf(&where, "templates.%s.title", name);
                c->templates[t].title = get_template(ld, m, "title", where);
                free(where);
                xasprintf(&where, "templates.%s.text", name);
                c->templates[t].text = get_template(ld, m, "text", where);
                free(where);
        }
}

static void
check_root(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "trust",    "daemon", "curve",
                                            "delivery", "email",  "channels",
                                            "schools",  "rules",  "templates",
                                            "web",      "users",  NULL };

        ld_check_keys(ld, root, keys, "the file");
}

static int
channel_order(const void *a, const void *b)
{
        return strcmp((*(const struct channel *const *)a)->name,
                      (*(const struct channel *const *)b)->name);
}

static int
school_order(const void *a, const void *b)
{
        return strcmp((*(const struct school *const *)a)->urn,
                      (*(const struct school *const *)b)->urn);
}

/*
 * c's channels by name and schools by URN (each unique and set: a config
 * without is refused), so that finding one is a binary search: the
 * scheduler and the workers find a channel and a school for every
 * delivery, and a trust may have thousands of each (an sms channel is one
 * number).
 */
static void
make_index(struct conf *c)
{
        const struct channel **chans =
            xcalloc(c->nchannels + 1, sizeof(*chans));
        const struct school **schools =
            xcalloc(c->nschools + 1, sizeof(*schools));

        for (size_t i = 0; i < c->nchannels; i++)
                chans[i] = &c->channels[i];
        qsort(chans, c->nchannels, sizeof(*chans), channel_order);
        for (size_t i = 0; i < c->nschools; i++)
                schools[i] = &c->schools[i];
        qsort(schools, c->nschools, sizeof(*schools), school_order);
        c->channels_by_name = chans;
        c->schools_by_urn = schools;
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
        struct loader ld = { path, NULL, errs };
        config_t cfg;
        const config_setting_t *root;
        struct conf *c = xcalloc(1, sizeof(*c));

        memset(errs, 0, sizeof(*errs));
        c->path = xstrdup(path);
        c->dir = fileio_dir_of(path);
        ld.conf = c;
        config_init(&cfg);
        config_set_include_dir(&cfg, c->dir);
        if (!ld_read_config(&ld, &cfg, path, "the file"))
                goto out;
        root = config_root_setting(&cfg);
        check_root(&ld, root);
        load_trust(&ld, root);
        load_daemon(&ld, root);
        ld_load_curve(&ld, root);
        load_delivery(&ld, root);
        ld_load_email(&ld, root);
        ld_load_channels(&ld, root);
        load_schools(&ld, root);
        ld_load_web(&ld, root);
        ld_load_rules(&ld, root);
        load_templates(&ld, root);
out:
        config_destroy(&cfg);
        if (errs->n > 0)
                conf_destroy(&c);
        else
                make_index(c);
        return c;
}

void
conf_errors_free(struct conf_errors *errs)
{
        ld_free_strv(errs->msgs, errs->n);
        memset(errs, 0, sizeof(*errs));
}

void
conf_destroy(struct conf **confp)
{
        struct conf *c;

        if (confp == NULL || *confp == NULL)
                return;
        c = *confp;
        free(c->path);
        free(c->dir);
        free(c->trust.name);
        free(c->trust.timezone);
        free(c->trust.holidays);
        free(c->trust.division);
        free(c->trust.closures);
        free(c->daemon.state);
        free(c->daemon.control);
        free(c->daemon.dispatch);
        free(c->daemon.feed);
        free(c->daemon.metrics);
        ld_free_ops(c);
        free(c->curve.server_key);
        free(c->curve.client_key);
        free(c->curve.allow);
        for (size_t i = 0; i < c->curve.nclients; i++)
                free(c->curve.clients[i].name);
        free(c->curve.clients);
        ld_free_web(c);
        free(c->email.smtp);
        free(c->email.smtp_host);
        free(c->email.from);
        free(c->email.username);
        free(c->email.password_file);
        free(c->email.bearer_token_file);
        free(c->email.password_file_at);
        free(c->email.bearer_token_file_at);
        free(c->email.ca_file);
        free(c->email.graph_url);
        free(c->email.oauth2.tenant);
        free(c->email.oauth2.client_id);
        free(c->email.oauth2.client_secret_file);
        free(c->email.oauth2.certificate_file);
        free(c->email.oauth2.private_key_file);
        free(c->email.oauth2.service_account_file);
        free(c->email.oauth2.token_url);
        free(c->email.oauth2.scope);
        free(c->email.oauth2.client_secret_file_at);
        free(c->email.oauth2.certificate_file_at);
        free(c->email.oauth2.private_key_file_at);
        free(c->email.oauth2.service_account_file_at);
        for (size_t i = 0; i < c->nchannels; i++) {
                struct channel *ch = &c->channels[i];

                free(ch->name);
                ld_free_strv(ch->to, ch->nto);
                free(ch->url);
                free(ch->url_file);
                free(ch->secret_file);
                free(ch->url_file_at);
                free(ch->secret_file_at);
                free(ch->token_file);
                free(ch->user_key_file);
                free(ch->token_file_at);
                free(ch->user_key_file_at);
                free(ch->account);
                free(ch->from);
                free(ch->messaging_service);
                free(ch->body);
        }
        free(c->channels);
        for (size_t i = 0; i < c->nschools; i++) {
                free(c->schools[i].urn);
                free(c->schools[i].name);
                free(c->schools[i].channels);
                free(c->schools[i].closures);
                calendar_destroy(&c->schools[i].calendar);
        }
        free(c->schools);
        for (size_t i = 0; i < c->nrules; i++)
                rule_free(&c->rules[i]);
        free(c->rules);
        for (size_t i = 0; i < CHANNEL_NTYPES; i++) {
                free(c->templates[i].title);
                free(c->templates[i].text);
        }
        calendar_destroy(&c->calendar);
        tz_destroy(&c->tz);
        free(c->channels_by_name);
        free(c->schools_by_urn);
        free(c);
        *confp = NULL;
}

const char *
conf_default_path(const char *arg)
{
        const char *env = getenv(CONF_ENV);

        if (arg != NULL)
                return arg;
        if (env != NULL && *env != '\0')
                return env;
        return CONF_DEFAULT_PATH;
}

static int
channel_named(const void *name, const void *elem)
{
        return strcmp(name, (*(const struct channel *const *)elem)->name);
}

static int
school_of_urn(const void *urn, const void *elem)
{
        return strcmp(urn, (*(const struct school *const *)elem)->urn);
}

const struct school *
conf_school(const struct conf *conf, const char *urn)
{
        if (conf->schools_by_urn != NULL) {
                const struct school *const *s =
                    bsearch(urn, conf->schools_by_urn, conf->nschools,
                            sizeof(*conf->schools_by_urn), school_of_urn);

                return s != NULL ? *s : NULL;
        }
        for (size_t i = 0; i < conf->nschools; i++) {
                if (conf->schools[i].urn != NULL &&
                    strcmp(conf->schools[i].urn, urn) == 0)
                        return &conf->schools[i];
        }
        return NULL;
}

const struct rule *
conf_rule(const struct conf *conf, const char *name)
{
        for (size_t i = 0; i < conf->nrules; i++) {
                if (conf->rules[i].name != NULL &&
                    strcmp(conf->rules[i].name, name) == 0)
                        return &conf->rules[i];
        }
        return NULL;
}

const struct channel *
conf_channel(const struct conf *conf, const char *name)
{
        if (conf->channels_by_name != NULL) {
                const struct channel *const *ch =
                    bsearch(name, conf->channels_by_name, conf->nchannels,
                            sizeof(*conf->channels_by_name), channel_named);

                return ch != NULL ? *ch : NULL;
        }
        for (size_t i = 0; i < conf->nchannels; i++) {
                if (conf->channels[i].name != NULL &&
                    strcmp(conf->channels[i].name, name) == 0)
                        return &conf->channels[i];
        }
        return NULL;
}

const char *
conf_template(const struct conf *conf, enum channel_type type, bool title)
{
        const char *own = NULL;

        if (type < CHANNEL_NTYPES)
                own = title ? conf->templates[type].title
                            : conf->templates[type].text;
        return own != NULL ? own : template_default(title);
}

void
conf_rules_env(const struct conf *conf, const struct school *school,
               struct rules_env *env)
{
        env->remit = school != NULL ? school->remit : REMIT_SCHOOL;
        env->trust = conf->calendar;
        env->school = school != NULL && school->calendar != NULL
                          ? school->calendar
                          : conf->calendar;
        env->tz = conf->tz;
}

bool
conf_known_kind(const struct conf *conf, const char *kind)
{
        if (rules_builtin_kind(kind))
                return true;
        for (size_t i = 0; i < conf->nrules; i++) {
                if (conf->rules[i].event != NULL &&
                    strcmp(conf->rules[i].event, kind) == 0)
                        return true;
        }
        return false;
}

/*
 * `rel` under the directory $var names (its first colon-separated entry),
 * else under `fallback`; caller frees.
 */
static char *
under_env_dir(const char *var, const char *fallback, const char *rel)
{
        const char *dir = getenv(var);
        size_t n = 0;
        char *out;

        if (dir != NULL)
                n = strcspn(dir, ":");
        if (n == 0) {
                dir = fallback;
                n = strlen(dir);
        }
        while (n > 1 && dir[n - 1] == '/')
                n--;
        xasprintf(&out, "%.*s/%s", (int)n, dir, rel);
        return out;
}

char *
conf_endpoint_path(const char *endpoint)
{
        const char *path;
        char *dir, *out;

        if (endpoint == NULL)
                return NULL;
        if (strncmp(endpoint, "ipc://", 6) != 0)
                return xstrdup(endpoint);
        path = endpoint + 6;
        if (path[0] == '/' || path[0] == '@' || path[0] == '\0')
                return xstrdup(endpoint);
        dir = under_env_dir("RUNTIME_DIRECTORY", CONF_RUNTIME_DIR, path);
        xasprintf(&out, "ipc://%s", dir);
        free(dir);
        return out;
}

char *
conf_state_path(const char *state)
{
        if (state == NULL)
                return NULL;
        if (state[0] == '/')
                return xstrdup(state);
        return under_env_dir("STATE_DIRECTORY", CONF_STATE_DIR, state);
}

enum conf_url
conf_webhook_url(const char *url, char **part)
{
        char *scheme = NULL, *host = NULL;
        enum conf_url v = CONF_URL_OK;

        *part = NULL;
        if (ld_url_parts(url, &scheme, &host) < 0)
                return CONF_URL_INVALID;
        if (strcmp(scheme, "http") == 0) {
                if (!ld_is_loopback_host(host)) {
                        v = CONF_URL_PLAIN_HTTP;
                        *part = xstrdup(host);
                }
        } else if (strcmp(scheme, "https") != 0) {
                v = CONF_URL_SCHEME;
                *part = xstrdup(scheme);
        }
        curl_free(scheme);
        curl_free(host);
        return v;
}

bool
conf_endpoint_tcp(const char *endpoint)
{
        return endpoint != NULL && strncmp(endpoint, "tcp://", 6) == 0;
}

const struct conf_client *
conf_client_by_key(const struct conf *conf, const char *z85)
{
        for (size_t i = 0; i < conf->curve.nclients; i++) {
                if (strcmp(conf->curve.clients[i].key, z85) == 0)
                        return &conf->curve.clients[i];
        }
        return NULL;
}
