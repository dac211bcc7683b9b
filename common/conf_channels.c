/*
 * conf_channels: the sections of the config that say where alerts go:
 * the email group (its relay, TLS, authentication and OAuth 2.0) and the
 * channels list, each channel's type and its keys; and the names of the
 * channel types. The ntfy, pushover and sms keys are in conf_phone.c, a
 * channel's check in conf_ops.c.
 */
#include "conf.h"
#include "conf_int.h"

#include "xalloc.h"

#include <curl/curl.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

static const char *const channel_types[CHANNEL_NTYPES] = {
        [CHANNEL_EMAIL] = "email",
        [CHANNEL_TEAMS] = "teams",
        [CHANNEL_GOOGLE_CHAT] = "google_chat",
        [CHANNEL_SLACK] = "slack",
        [CHANNEL_DISCORD] = "discord",
        [CHANNEL_MATTERMOST] = "mattermost",
        [CHANNEL_WEBHOOK] = "webhook",
        [CHANNEL_NTFY] = "ntfy",
        [CHANNEL_PUSHOVER] = "pushover",
        [CHANNEL_SMS] = "sms",
};

const char *
conf_channel_type_name(enum channel_type type)
{
        return type < CHANNEL_NTYPES ? channel_types[type] : "?";
}

static bool
valid_address(const char *a)
{
        const char *at = strchr(a, '@');

        if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@'))
                return false;
        return strpbrk(a, " <>\",;()[]\\") == NULL;
}

/*
 * A URL the worker posts to with a token: https://, or http:// to a
 * loopback host (a test or a local proxy). Never echoed: only its host.
 */
static void
check_service_url(struct loader *ld, const config_setting_t *s,
                  const char *what, const char *url)
{
        char *scheme = NULL, *host = NULL;

        if (ld_url_parts(url, &scheme, &host) < 0)
                ld_error_at(ld, s, "%s is not a URL", what);
        else if (strcmp(scheme, "https") != 0 &&
                 !(strcmp(scheme, "http") == 0 && ld_is_loopback_host(host)))
                ld_error_at(ld, s,
                            "%s must be https:// (http:// only to a loopback "
                            "host), not %s:// to '%s'",
                            what, scheme, host);
        curl_free(scheme);
        curl_free(host);
}

/*
 * email.oauth2: who issues tokens and how the worker proves who it is.
 * Each provider takes its own credentials; every missing or misplaced one
 * is reported at the group or the setting.
 */
static void
load_oauth2(struct loader *ld, const config_setting_t *email)
{
        static const char *const keys[] = { "provider",
                                            "tenant",
                                            "client_id",
                                            "client_secret_file",
                                            "certificate_file",
                                            "private_key_file",
                                            "service_account_file",
                                            "token_url",
                                            "scope",
                                            NULL };
        static const char *const providers[] = { "microsoft", "google",
                                                 "generic", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = ld_get_group(ld, email, "oauth2");
        const config_setting_t *p;
        struct conf_oauth2 *o = &c->email.oauth2;
        /* Its strings, "" when absent; the files are resolved at use as
         * secret files are, and keep their "path:line". */
        const struct {
                const char *key;
                char **to, **at;
        } files[] = {
                { "tenant", &o->tenant, NULL },
                { "client_id", &o->client_id, NULL },
                { "client_secret_file", &o->client_secret_file,
                  &o->client_secret_file_at },
                { "certificate_file", &o->certificate_file,
                  &o->certificate_file_at },
                { "private_key_file", &o->private_key_file,
                  &o->private_key_file_at },
                { "service_account_file", &o->service_account_file,
                  &o->service_account_file_at },
                { "token_url", &o->token_url, NULL },
                { "scope", &o->scope, NULL },
        };
        bool secret, cert, key, sa, typed = true;
        char *tenant;

        if (g == NULL)
                return;
        ld_check_keys(ld, g, keys, "email.oauth2");
        p = config_setting_get_member(g, "provider");
        if (p == NULL) {
                ld_error_at(ld, g,
                            "email.oauth2: 'provider' is required: "
                            "\"microsoft\", \"google\" or \"generic\"");
                return;
        }
        c->email.oauth2.provider = (enum oauth2_provider)(
            ld_get_enum(ld, g, "provider", providers, -1, "email.oauth2") + 1);
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                *files[i].to =
                    ld_dup_string(ld, g, files[i].key, "", "email.oauth2");
                typed = typed && *files[i].to != NULL;
                if (files[i].at != NULL)
                        *files[i].at = ld_setting_at(ld, g, files[i].key);
        }
        if (!typed)
                return; /* a wrong type, reported */
        tenant = o->tenant;

        secret = c->email.oauth2.client_secret_file[0] != '\0';
        cert = c->email.oauth2.certificate_file[0] != '\0';
        key = c->email.oauth2.private_key_file[0] != '\0';
        sa = c->email.oauth2.service_account_file[0] != '\0';
        if (cert != key)
                ld_error_at(
                    ld,
                    config_setting_get_member(g, cert ? "certificate_file"
                                                      : "private_key_file"),
                    "email.oauth2: certificate_file and "
                    "private_key_file go together");
        if (secret && (cert || key))
                ld_error_at(ld,
                            config_setting_get_member(g, "client_secret_file"),
                            "email.oauth2: client_secret_file excludes "
                            "certificate_file and private_key_file: sign in "
                            "with one or the other");
        if (tenant[0] != '\0' &&
            strspn(tenant,
                   "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(tenant))
                ld_error_at(ld, config_setting_get_member(g, "tenant"),
                            "email.oauth2: tenant '%s' is neither a tenant id "
                            "nor a domain",
                            tenant);
        if (c->email.oauth2.token_url[0] != '\0')
                check_service_url(ld, config_setting_get_member(g, "token_url"),
                                  "email.oauth2: token_url",
                                  c->email.oauth2.token_url);
        switch (c->email.oauth2.provider) {
        case OAUTH2_MICROSOFT:
        case OAUTH2_GENERIC:
                if (c->email.oauth2.provider == OAUTH2_MICROSOFT &&
                    tenant[0] == '\0' && c->email.oauth2.token_url[0] == '\0')
                        ld_error_at(ld, g,
                                    "email.oauth2: provider \"microsoft\" "
                                    "needs 'tenant' (the tenant id or a "
                                    "domain such as contoso.onmicrosoft.com)");
                if (c->email.oauth2.provider == OAUTH2_GENERIC &&
                    (c->email.oauth2.token_url[0] == '\0' ||
                     c->email.oauth2.scope[0] == '\0'))
                        ld_error_at(ld, g,
                                    "email.oauth2: provider \"generic\" "
                                    "needs 'token_url' and 'scope'");
                if (c->email.oauth2.client_id[0] == '\0')
                        ld_error_at(ld, g,
                                    "email.oauth2: 'client_id' is required "
                                    "(the application (client) id)");
                if (!secret && !cert && !key)
                        ld_error_at(ld, g,
                                    "email.oauth2: give client_secret_file, "
                                    "or certificate_file and "
                                    "private_key_file");
                if (sa)
                        ld_error_at(ld,
                                    config_setting_get_member(
                                        g, "service_account_file"),
                                    "email.oauth2: service_account_file is for "
                                    "provider \"google\"");
                break;
        case OAUTH2_GOOGLE:
                if (!sa)
                        ld_error_at(ld, g,
                                    "email.oauth2: provider \"google\" needs "
                                    "'service_account_file' (the service "
                                    "account's JSON key)");
                if (secret || cert || key || tenant[0] != '\0')
                        ld_error_at(ld, g,
                                    "email.oauth2: provider \"google\" signs "
                                    "in with service_account_file only "
                                    "(no tenant, client secret or "
                                    "certificate)");
                break;
        case OAUTH2_NONE:
                break;
        }
}

void
ld_load_email(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = {
                "smtp",     "tls",           "from",
                "username", "password_file", "bearer_token_file",
                "ca_file",  "connections",   "transport",
                "oauth2",   "graph_url",     NULL
        };
        static const char *const transports[] = { "smtp", "graph", NULL };
        static const char *const tls[] = { "starttls", "implicit", "none",
                                           NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = ld_get_group(ld, root, "email");
        const config_setting_t *m, *t;
        char *scheme = NULL, *host = NULL;

        if (g == NULL)
                return;
        c->email.present = true;
        ld_check_keys(ld, g, keys, "email");
        c->email.smtp =
            ld_dup_string(ld, g, "smtp", "smtp://localhost:25", "email");
        c->email.tls = (enum email_tls)ld_get_enum(ld, g, "tls", tls,
                                                   EMAIL_TLS_STARTTLS, "email");
        c->email.from = ld_dup_string(ld, g, "from", NULL, "email");
        c->email.username = ld_dup_string(ld, g, "username", "", "email");
        c->email.password_file =
            ld_dup_string(ld, g, "password_file", "", "email");
        c->email.bearer_token_file =
            ld_dup_string(ld, g, "bearer_token_file", "", "email");
        c->email.password_file_at = ld_setting_at(ld, g, "password_file");
        c->email.bearer_token_file_at =
            ld_setting_at(ld, g, "bearer_token_file");
        c->email.ca_file = ld_dup_string(ld, g, "ca_file", "", "email");
        if (c->email.ca_file != NULL && c->email.ca_file[0] != '\0') {
                /* Relative to the config, as every other file named. */
                char *abs = ld_resolve_path(c->dir, c->email.ca_file);

                free(c->email.ca_file);
                c->email.ca_file = abs;
        }
        c->email.connections = 4;
        ld_get_int(ld, g, "connections", 1, 100, &c->email.connections);
        c->email.transport = (enum email_transport)ld_get_enum(
            ld, g, "transport", transports, EMAIL_TRANSPORT_SMTP, "email");
        c->email.graph_url = ld_dup_string(
            ld, g, "graph_url", "https://graph.microsoft.com/v1.0", "email");
        if (c->email.graph_url != NULL) {
                size_t n = strlen(c->email.graph_url);

                /* Paths are appended to it. */
                while (n > 0 && c->email.graph_url[n - 1] == '/')
                        c->email.graph_url[--n] = '\0';
                check_service_url(ld, config_setting_get_member(g, "graph_url"),
                                  "graph_url", c->email.graph_url);
        }
        load_oauth2(ld, g);
        if (c->email.oauth2.provider != OAUTH2_NONE &&
            (c->email.password_file[0] != '\0' ||
             c->email.bearer_token_file[0] != '\0'))
                ld_error_at(ld, config_setting_get_member(g, "oauth2"),
                            "email: oauth2 excludes password_file and "
                            "bearer_token_file");
        if (c->email.transport == EMAIL_TRANSPORT_GRAPH &&
            c->email.oauth2.provider != OAUTH2_MICROSOFT &&
            c->email.oauth2.provider != OAUTH2_GENERIC)
                ld_error_at(ld, config_setting_get_member(g, "transport"),
                            "transport = \"graph\" needs an oauth2 group with "
                            "provider \"microsoft\" (or \"generic\")");

        if (c->email.from != NULL && strchr(c->email.from, '@') == NULL)
                ld_error_at(ld, config_setting_get_member(g, "from"),
                            "from '%s' has no email address", c->email.from);
        if (c->email.password_file[0] != '\0' &&
            c->email.bearer_token_file[0] != '\0')
                ld_error_at(ld, g,
                            "email: password_file and bearer_token_file "
                            "exclude each other");
        if ((c->email.password_file[0] != '\0' ||
             c->email.bearer_token_file[0] != '\0') &&
            c->email.username[0] == '\0')
                ld_error_at(ld, g,
                            "email: a password or token needs 'username'");

        m = config_setting_get_member(g, "smtp");
        t = config_setting_get_member(g, "tls");
        if (c->email.smtp == NULL)
                return;
        if (ld_url_parts(c->email.smtp, &scheme, &host) < 0) {
                ld_error_at(ld, m, "smtp '%s' is not a URL", c->email.smtp);
                return;
        }
        if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0)
                ld_error_at(ld, m, "smtp URL must be smtp:// or smtps://");
        else if (c->email.tls == EMAIL_TLS_IMPLICIT &&
                 strcmp(scheme, "smtps") != 0)
                ld_error_at(ld, t, "tls = \"implicit\" needs an smtps:// URL");
        else if (c->email.tls != EMAIL_TLS_IMPLICIT &&
                 strcmp(scheme, "smtps") == 0)
                ld_error_at(ld, m, "an smtps:// URL needs tls = \"implicit\"");
        else if (c->email.tls == EMAIL_TLS_NONE && !ld_is_loopback_host(host))
                ld_error_at(
                    ld, t,
                    "tls = \"none\" is allowed only to a loopback relay, "
                    "not '%s'",
                    host);
        c->email.smtp_host = xstrdup(host);
        curl_free(scheme);
        curl_free(host);
}

void
ld_check_webhook_url(struct loader *ld, const config_setting_t *s,
                     const char *url)
{
        char *part = NULL;

        switch (conf_webhook_url(url, &part)) {
        case CONF_URL_OK:
                break;
        case CONF_URL_INVALID:
                ld_error_at(ld, s, "'url' is not a valid URL");
                break;
        case CONF_URL_PLAIN_HTTP:
                ld_error_at(ld, s,
                            "plain http:// webhook URL to '%s' refused: "
                            "use https:// (http is allowed only to "
                            "loopback)",
                            part);
                break;
        case CONF_URL_SCHEME:
                ld_error_at(ld, s, "webhook URL scheme must be https, not '%s'",
                            part);
                break;
        }
        free(part);
}

static void
load_channel(struct loader *ld, const config_setting_t *g, struct channel *ch)
{
        static const char *const keys[] = { "name",  "type",     "to",
                                            "url",   "url_file", "secret_file",
                                            "check", NULL };
        const char *type;
        const config_setting_t *url;
        struct strlist to;

        ch->name = ld_dup_string(ld, g, "name", NULL, "channel");
        if (ch->name != NULL && !ld_valid_name(ch->name))
                ld_error_at(ld, config_setting_get_member(g, "name"),
                            "channel name '%s' may only use letters, digits, "
                            "'_', '-' and '.'",
                            ch->name);
        ld_load_check(ld, g, ch);
        type = ld_get_string(ld, g, "type", true, "channel");
        if (type == NULL) {
                ld_check_keys(ld, g, keys, "channel");
                return;
        }
        for (ch->type = 0; ch->type < CHANNEL_NTYPES; ch->type++) {
                if (strcmp(type, channel_types[ch->type]) == 0)
                        break;
        }
        if (ch->type == CHANNEL_NTYPES) {
                ld_check_keys(ld, g, keys, "channel");
                ld_error_at(ld, config_setting_get_member(g, "type"),
                            "unknown channel type '%s' (types: " TYPE_LIST ")",
                            type);
                return;
        }
        if (ch->type == CHANNEL_NTFY || ch->type == CHANNEL_PUSHOVER ||
            ch->type == CHANNEL_SMS) {
                ld_load_phone_channel(ld, g, ch);
                return;
        }
        ld_check_keys(ld, g, keys, "channel");

        ld_get_strv(ld, g, "to", &to);
        ch->to = to.v;
        ch->nto = to.n;
        ch->url = ld_dup_string(ld, g, "url", "", "channel");
        ch->url_file = ld_dup_string(ld, g, "url_file", "", "channel");
        ch->secret_file = ld_dup_string(ld, g, "secret_file", "", "channel");
        ch->url_file_at = ld_setting_at(ld, g, "url_file");
        ch->secret_file_at = ld_setting_at(ld, g, "secret_file");
        url = config_setting_get_member(g, "url");

        if (ch->type == CHANNEL_EMAIL) {
                if (ch->nto == 0)
                        ld_error_at(ld, g, "email channel '%s' needs 'to'",
                                    ch->name ? ch->name : "");
                for (size_t i = 0; i < ch->nto; i++) {
                        if (!valid_address(ch->to[i]))
                                ld_error_at(ld, to.at[i],
                                            "'%s' is not an email address",
                                            ch->to[i]);
                }
                free(to.at);
                if (ch->url[0] != '\0' || ch->url_file[0] != '\0' ||
                    ch->secret_file[0] != '\0')
                        ld_error_at(ld, g,
                                    "email channel '%s' takes 'to', not a URL "
                                    "or secret",
                                    ch->name ? ch->name : "");
                return;
        }
        if (ch->nto > 0)
                ld_error_at(ld, to.at[0], "'to' is only for email channels");
        free(to.at);
        if ((ch->url[0] == '\0') == (ch->url_file[0] == '\0'))
                ld_error_at(ld, g,
                            "channel '%s' needs exactly one of 'url' and "
                            "'url_file'",
                            ch->name ? ch->name : "");
        else if (ch->url[0] != '\0')
                ld_check_webhook_url(ld, url, ch->url);
        if (ch->secret_file[0] != '\0' && ch->type != CHANNEL_WEBHOOK)
                ld_error_at(ld, config_setting_get_member(g, "secret_file"),
                            "'secret_file' is only for type \"webhook\"");
}

void
ld_load_channels(struct loader *ld, const config_setting_t *root)
{
        struct conf *c = ld->conf;
        const config_setting_t *list = ld_get_list(ld, root, "channels", true);
        int n;

        if (list == NULL)
                return;
        n = config_setting_length(list);
        c->channels = xcalloc((size_t)n, sizeof(*c->channels));
        for (int i = 0; i < n; i++) {
                const config_setting_t *g = config_setting_get_elem(list, i);
                struct channel *ch = &c->channels[c->nchannels++];

                if (!ld_element_group(ld, g, "channel"))
                        continue;
                load_channel(ld, g, ch);
                ld_channel_blanks(ch);
                ld_check_sms_number(ld, list, i);
                if (ch->name != NULL)
                        ld_check_unique(ld, list, i, "name", ch->name,
                                        "channel name");
                if (ch->type == CHANNEL_EMAIL && ch->name != NULL &&
                    config_setting_get_member(root, "email") == NULL)
                        ld_error_at(
                            ld, g,
                            "channel '%s' is of type email but there is "
                            "no 'email' group",
                            ch->name);
        }
}

void
ld_resolve_channels(struct loader *ld, const struct strlist *names,
                    const char *owner, size_t **out, size_t *nout)
{
        *out = xcalloc(names->n, sizeof(**out));
        *nout = 0;
        for (size_t i = 0; i < names->n; i++) {
                const struct channel *ch = conf_channel(ld->conf, names->v[i]);

                if (ch == NULL) {
                        ld_error_at(ld, names->at[i],
                                    "%s: unknown channel '%s'", owner,
                                    names->v[i]);
                        continue;
                }
                (*out)[(*nout)++] = (size_t)(ch - ld->conf->channels);
        }
}
