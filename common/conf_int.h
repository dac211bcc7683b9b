/*
 * conf_int: what the files of the conf module share, private to common/.
 *
 * conf_load() (conf.c) reads the file through the loader (conf_loader.c:
 * errors as "path:line: message", typed getters that check and report,
 * paths and URLs), then each section: the trust, the daemon, delivery,
 * schools and templates in conf.c, email and channels in conf_channels.c,
 * the rules in conf_rules.c, the CURVE keys and allow-list in conf_curve.c, the
 * web group and the users in conf_web.c. The ld_ functions are for those files
 * only; everyone else uses conf.h.
 */
#ifndef ONOTIFY_CONF_INT_H
#define ONOTIFY_CONF_INT_H

#include "conf.h"

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

/* One load in progress: where errors go and what is being built. */
struct loader {
        const char *path;
        struct conf *conf;
        struct conf_errors *errs;
};

/* Strings read from a list, each with the setting it came from. */
struct strlist {
        char **v;
        const config_setting_t **at;
        size_t n;
};

/* --- The loader (conf_loader.c) ------------------------------------------ */

void __attribute__((format(printf, 3, 4)))
ld_error_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...);
bool ld_read_config(struct loader *ld, config_t *cfg, const char *path,
                    const char *what);
void ld_check_keys(struct loader *ld, const config_setting_t *group,
                   const char *const *allowed, const char *where);
bool ld_valid_utf8(const unsigned char *s);
bool ld_check_length(struct loader *ld, const config_setting_t *s,
                     const char *what, const char *value, size_t max);
const char *ld_get_string(struct loader *ld, const config_setting_t *group,
                          const char *key, bool required, const char *where);
char *ld_setting_at(struct loader *ld, const config_setting_t *group,
                    const char *key);
char *ld_dup_string(struct loader *ld, const config_setting_t *group,
                    const char *key, const char *def, const char *where);
bool ld_get_int(struct loader *ld, const config_setting_t *group,
                const char *key, int min, int max, int *out);
/*
 * The least a duration setting may be: `min` seconds, or for the test
 * suite only the seconds (1 to min) in environment variable `env`, so
 * that a test need not wait for minutes. Anything else in it: `min`.
 */
int ld_test_min(const char *env, int min);
int ld_get_enum(struct loader *ld, const config_setting_t *group,
                const char *key, const char *const *names, int def,
                const char *where);
void ld_get_strv(struct loader *ld, const config_setting_t *group,
                 const char *key, struct strlist *out);
void ld_free_strv(char **v, size_t n);
void ld_strlist_free(struct strlist *l);
const config_setting_t *ld_get_group(struct loader *ld,
                                     const config_setting_t *parent,
                                     const char *key);
const config_setting_t *ld_get_list(struct loader *ld,
                                    const config_setting_t *parent,
                                    const char *key, bool required);
char *ld_resolve_path(const char *dir, const char *p);
bool ld_is_loopback_host(const char *host);
int ld_url_parts(const char *url, char **scheme, char **host);
bool ld_valid_name(const char *s);
void ld_check_unique(struct loader *ld, const config_setting_t *list, int index,
                     const char *key, const char *name, const char *what);
bool ld_element_group(struct loader *ld, const config_setting_t *e,
                      const char *what);
/* --- Sections in other files --------------------------------------------- */

/* The channel types, for messages that list them. */
#define TYPE_LIST                                                        \
        "email teams google_chat slack discord mattermost webhook ntfy " \
        "pushover sms"

/* The email group and the channels (conf_channels.c), in that order. */
void ld_load_email(struct loader *ld, const config_setting_t *root);
void ld_load_channels(struct loader *ld, const config_setting_t *root);

/* The rules (conf_rules.c), after the channels: they name channels. */
void ld_load_rules(struct loader *ld, const config_setting_t *root);
/* The CURVE keys and the allow-list (conf_curve.c). */
void ld_load_curve(struct loader *ld, const config_setting_t *root);
/* The daemon group's keys for running it for years (conf_ops.c), of
 * group `g` (NULL: absent); the keys it takes, for ld_check_keys(). */
extern const char *const ld_ops_keys[];
void ld_load_ops(struct loader *ld, const config_setting_t *g);
void ld_free_ops(struct conf *c);
/* A channel's `check` (conf_ops.c). */
void ld_load_check(struct loader *ld, const config_setting_t *g,
                   struct channel *ch);
/* The web group and the users list (conf_web.c), after the schools. */
void ld_load_web(struct loader *ld, const config_setting_t *root);
void ld_free_web(struct conf *c);
/* A URL written in the config, against conf_webhook_url() (conf.c). */
void ld_check_webhook_url(struct loader *ld, const config_setting_t *s,
                          const char *url);
/*
 * An ntfy, pushover or sms channel's keys (conf_phone.c), its type already
 * set; and, after channel `index` of `list` is loaded, that its number is
 * no earlier sms channel's (so that pacing per channel paces per number).
 */
void ld_load_phone_channel(struct loader *ld, const config_setting_t *g,
                           struct channel *ch);
/* Sets each optional string of `ch` still NULL to "" (any type). */
void ld_channel_blanks(struct channel *ch);
void ld_check_sms_number(struct loader *ld, const config_setting_t *list,
                         int index);
/* Channel names to indexes; unknown names reported at the list
 * (conf_channels.c). */
void ld_resolve_channels(struct loader *ld, const struct strlist *names,
                         const char *owner, size_t **out, size_t *nout);

#endif
