/*
 * conf_phone: the keys of the channels that reach a phone (conf_int.h):
 * ntfy (a topic URL, an optional access token, a priority), pushover (an
 * application token and a user key, the emergency's retry and expire)
 * and sms (a gateway profile, one number in E.164, the gateway's
 * credentials). Each type takes only its own keys; a key of another type
 * is refused naming the types it is for.
 */
#include "conf.h"
#include "conf_int.h"

#include "template.h"
#include "xalloc.h"

#include <string.h>

/* Pushover's documented bounds for an emergency's retry and expire. */
#define PUSHOVER_RETRY_MIN  30
#define PUSHOVER_EXPIRE_MAX 10800

static const char *const priorities[] = { "min",  "low",    "default",
                                          "high", "urgent", NULL };
static const char *const profiles[] = { "twilio", "firetext", "generic", NULL };

const char *
conf_ntfy_priority_name(enum ntfy_priority p)
{
        return p >= NTFY_MIN && p <= NTFY_URGENT ? priorities[p - NTFY_MIN]
                                                 : "?";
}

const char *
conf_sms_profile_name(enum sms_profile p)
{
        return (unsigned)p <= SMS_GENERIC ? profiles[p] : "?";
}

bool
conf_valid_e164(const char *s)
{
        size_t n;

        if (s == NULL || s[0] != '+' || s[1] < '1' || s[1] > '9')
                return false;
        n = strlen(s + 1);
        return n >= 8 && n <= 15 && strspn(s + 1, "0123456789") == n;
}

/* A required secret file setting: "" (said) when absent. */
static char *
secret_setting(struct loader *ld, const config_setting_t *g,
               const struct channel *ch, const char *key, bool required,
               char **at)
{
        char *v = ld_dup_string(ld, g, key, "", "channel");

        *at = ld_setting_at(ld, g, key);
        if (v != NULL && v[0] == '\0' && required)
                ld_error_at(ld, g, "%s channel '%s' needs '%s'",
                            conf_channel_type_name(ch->type),
                            ch->name ? ch->name : "", key);
        return v != NULL ? v : xstrdup("");
}

/*
 * The URL: for ntfy and the generic SMS gateway exactly one of url and
 * url_file (the topic or the gateway's endpoint); for Pushover and the
 * SMS services `url` optionally replaces the service's address (a relay;
 * the tests' mock), and url_file is not taken.
 */
static void
load_url(struct loader *ld, const config_setting_t *g, struct channel *ch,
         bool own_endpoint)
{
        ch->url = ld_dup_string(ld, g, "url", "", "channel");
        ch->url_file = ld_dup_string(ld, g, "url_file", "", "channel");
        ch->url_file_at = ld_setting_at(ld, g, "url_file");
        if (ch->url == NULL || ch->url_file == NULL)
                return;
        if (own_endpoint && (ch->url[0] == '\0') == (ch->url_file[0] == '\0'))
                ld_error_at(ld, g,
                            "channel '%s' needs exactly one of 'url' and "
                            "'url_file'",
                            ch->name ? ch->name : "");
        else if (!own_endpoint && ch->url_file[0] != '\0')
                ld_error_at(ld, config_setting_get_member(g, "url_file"),
                            "'url_file' is not taken by this channel: "
                            "'url' may replace the service's address");
        if (ch->url[0] != '\0')
                ld_check_webhook_url(ld, config_setting_get_member(g, "url"),
                                     ch->url);
}

static void
load_ntfy(struct loader *ld, const config_setting_t *g, struct channel *ch)
{
        static const char *const keys[] = { "name",       "type",
                                            "url",        "url_file",
                                            "token_file", "priority",
                                            NULL };

        ld_check_keys(ld, g, keys, "ntfy channel");
        load_url(ld, g, ch, true);
        ch->token_file =
            secret_setting(ld, g, ch, "token_file", false, &ch->token_file_at);
        ch->priority =
            (enum ntfy_priority)(ld_get_enum(ld, g, "priority", priorities,
                                             NTFY_HIGH - NTFY_MIN, "channel") +
                                 NTFY_MIN);
}

static void
load_pushover(struct loader *ld, const config_setting_t *g, struct channel *ch)
{
        static const char *const keys[] = { "name",          "type",
                                            "url",           "token_file",
                                            "user_key_file", "retry",
                                            "expire",        NULL };

        ld_check_keys(ld, g, keys, "pushover channel");
        load_url(ld, g, ch, false);
        ch->token_file =
            secret_setting(ld, g, ch, "token_file", true, &ch->token_file_at);
        ch->user_key_file = secret_setting(ld, g, ch, "user_key_file", true,
                                           &ch->user_key_file_at);
        ch->retry = 60;
        ch->expire = 3600;
        ld_get_int(ld, g, "retry", PUSHOVER_RETRY_MIN, PUSHOVER_EXPIRE_MAX,
                   &ch->retry);
        ld_get_int(ld, g, "expire", PUSHOVER_RETRY_MIN, PUSHOVER_EXPIRE_MAX,
                   &ch->expire);
        if (ch->retry > ch->expire)
                ld_error_at(ld, g,
                            "pushover channel '%s': retry (%d s) is longer "
                            "than expire (%d s)",
                            ch->name ? ch->name : "", ch->retry, ch->expire);
}

/* A Twilio Account SID: "AC" and 32 hexadecimal digits. */
static bool
valid_account(const char *s)
{
        return strlen(s) == 34 && strncmp(s, "AC", 2) == 0 &&
               strspn(s + 2, "0123456789abcdefABCDEF") == 32;
}

/* A sender: a number in E.164, or a name of 1 to 11 letters and digits
 * (an alphanumeric sender ID, as UK gateways take it). */
static bool
valid_sender(const char *s)
{
        size_t n = strlen(s);

        if (s[0] == '+')
                return conf_valid_e164(s);
        return n >= 1 && n <= 11 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n &&
               strspn(s, "0123456789") != n;
}

static void
load_sms_to(struct loader *ld, const config_setting_t *g, struct channel *ch)
{
        struct strlist to;

        ld_get_strv(ld, g, "to", &to);
        ch->to = to.v;
        ch->nto = to.n;
        if (ch->nto == 0)
                ld_error_at(ld, g, "sms channel '%s' needs 'to'",
                            ch->name ? ch->name : "");
        else if (ch->nto > 1)
                ld_error_at(ld, to.at[1],
                            "sms channel '%s' sends to one number: make a "
                            "channel for each, so that each number's "
                            "delivery is retried and paced on its own",
                            ch->name ? ch->name : "");
        for (size_t i = 0; i < ch->nto; i++) {
                if (!conf_valid_e164(ch->to[i]))
                        ld_error_at(ld, to.at[i],
                                    "'%s' is not a phone number in E.164 "
                                    "(a '+', the country code and the "
                                    "number: \"+447700900123\")",
                                    ch->to[i]);
        }
        free(to.at);
}

static void
load_sms(struct loader *ld, const config_setting_t *g, struct channel *ch)
{
        static const char *const keys[] = { "name",       "type",
                                            "profile",    "to",
                                            "url",        "url_file",
                                            "token_file", "account",
                                            "from",       "messaging_service",
                                            "body",       NULL };
        const config_setting_t *m;
        char *cause = NULL;

        ld_check_keys(ld, g, keys, "sms channel");
        ch->profile = (enum sms_profile)ld_get_enum(ld, g, "profile", profiles,
                                                    SMS_TWILIO, "channel");
        load_sms_to(ld, g, ch);
        if (config_setting_get_member(g, "profile") == NULL) {
                /* Each profile wants its own keys: no guessing which. */
                ld_error_at(ld, g,
                            "sms channel '%s' needs 'profile' (\"twilio\", "
                            "\"firetext\" or \"generic\")",
                            ch->name ? ch->name : "");
                return;
        }
        load_url(ld, g, ch, ch->profile == SMS_GENERIC);
        ch->token_file =
            secret_setting(ld, g, ch, "token_file", ch->profile != SMS_GENERIC,
                           &ch->token_file_at);
        ch->account = ld_dup_string(ld, g, "account", "", "channel");
        ch->from = ld_dup_string(ld, g, "from", "", "channel");
        ch->messaging_service =
            ld_dup_string(ld, g, "messaging_service", "", "channel");
        ch->body = ld_dup_string(ld, g, "body", "", "channel");
        if (ch->account == NULL || ch->from == NULL ||
            ch->messaging_service == NULL || ch->body == NULL)
                return;

        m = config_setting_get_member(g, "account");
        if (ch->profile == SMS_TWILIO && !valid_account(ch->account))
                ld_error_at(ld, m != NULL ? m : g,
                            "twilio channel '%s' needs 'account', the "
                            "Account SID (\"AC\" and 32 hex digits)",
                            ch->name ? ch->name : "");
        else if (ch->profile != SMS_TWILIO && m != NULL)
                ld_error_at(ld, m, "'account' is only for profile \"twilio\"");

        m = config_setting_get_member(g, "messaging_service");
        if (m != NULL && ch->profile != SMS_TWILIO)
                ld_error_at(ld, m,
                            "'messaging_service' is only for profile "
                            "\"twilio\"");
        if (ch->profile == SMS_TWILIO &&
            (ch->from[0] == '\0') == (ch->messaging_service[0] == '\0'))
                ld_error_at(ld, g,
                            "twilio channel '%s' needs exactly one of "
                            "'from' and 'messaging_service'",
                            ch->name ? ch->name : "");
        if (ch->profile == SMS_FIRETEXT && ch->from[0] == '\0')
                ld_error_at(ld, g, "firetext channel '%s' needs 'from'",
                            ch->name ? ch->name : "");
        m = config_setting_get_member(g, "from");
        if (ch->from[0] != '\0' && !valid_sender(ch->from))
                ld_error_at(ld, m,
                            "from '%s' is neither a number in E.164 nor a "
                            "sender name of 1 to 11 letters and digits",
                            ch->from);

        m = config_setting_get_member(g, "body");
        if (ch->profile == SMS_GENERIC && ch->body[0] == '\0')
                ld_error_at(ld, g,
                            "generic sms channel '%s' needs 'body', a "
                            "template of the JSON to post",
                            ch->name ? ch->name : "");
        else if (ch->profile != SMS_GENERIC && m != NULL)
                ld_error_at(ld, m, "'body' is only for profile \"generic\"");
        else if (ch->body[0] != '\0' &&
                 template_check_extra(ch->body, "to, message", &cause) < 0)
                ld_error_at(ld, m, "body: %s", cause);
        free(cause);
}

void
ld_load_phone_channel(struct loader *ld, const config_setting_t *g,
                      struct channel *ch)
{
        switch (ch->type) {
        case CHANNEL_NTFY:
                load_ntfy(ld, g, ch);
                break;
        case CHANNEL_PUSHOVER:
                load_pushover(ld, g, ch);
                break;
        case CHANNEL_SMS:
                load_sms(ld, g, ch);
                break;
        default:
                break;
        }
}

void
ld_channel_blanks(struct channel *ch)
{
        char **const strs[] = { &ch->url,           &ch->url_file,
                                &ch->secret_file,   &ch->token_file,
                                &ch->user_key_file, &ch->account,
                                &ch->from,          &ch->messaging_service,
                                &ch->body };

        /* Whatever the type, the optional strings are "", never NULL. */
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
                if (*strs[i] == NULL)
                        *strs[i] = xstrdup("");
        }
}

void
ld_check_sms_number(struct loader *ld, const config_setting_t *list, int index)
{
        const struct channel *ch = &ld->conf->channels[index];

        if (ch->type != CHANNEL_SMS || ch->nto != 1)
                return;
        for (int j = 0; j < index; j++) {
                const struct channel *prev = &ld->conf->channels[j];

                if (prev->type == CHANNEL_SMS && prev->nto == 1 &&
                    strcmp(prev->to[0], ch->to[0]) == 0) {
                        ld_error_at(
                            ld,
                            config_setting_get_member(
                                config_setting_get_elem(list, index), "to"),
                            "number '%s' is already channel '%s''s: one "
                            "channel per number, so that it is paced as one",
                            ch->to[0], prev->name ? prev->name : "");
                        return;
                }
        }
}
