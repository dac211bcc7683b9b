#include "secrets.h"

#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct wsecrets {
        const struct conf *conf;
        struct wsecrets_channel *channels; /* one per conf->channels[] */
        struct wsecret mail; /* the SMTP password or bearer token */
};

void
wsecret_clear(struct wsecret *c)
{
        secret_free(c->value);
        free(c->problem);
        memset(c, 0, sizeof(*c));
}

const char *
wsecret_get(struct wsecret *c, const char *confdir, const char *who,
            const char *setting, const char *name, enum secret_kind kind,
            bool *fresh, char **cause)
{
        struct secret_stamp now;
        char *path = secret_path(confdir, name), *value = NULL;
        char *why = NULL;

        *fresh = false;
        if (c->value != NULL && secret_stat(path, &now) == 0 &&
            secret_stamp_equal(&now, &c->stamp))
                goto out;
        if (secret_load(path, secret_is_credential(path), kind, &value, &now,
                        &why) < 0) {
                xasprintf(cause, "secret file '%s': %s", name, why);
                secret_free(c->value);
                c->value = NULL;
                if (c->problem == NULL || strcmp(c->problem, *cause) != 0) {
                        log_err("%s: %s; its deliveries are retried until "
                                "it is fixed",
                                who, *cause);
                        free(c->problem);
                        c->problem = xstrdup(*cause);
                }
                goto out;
        }
        if (c->problem != NULL)
                log_info("%s: %s: secret file '%s' is usable again", who,
                         setting, name);
        else if (c->value != NULL)
                log_info("%s: %s: secret file '%s' changed: read again", who,
                         setting, name);
        free(c->problem);
        c->problem = NULL;
        secret_free(c->value);
        c->value = value;
        c->stamp = now;
        *fresh = true;
out:
        free(why);
        free(path);
        return c->value;
}

struct wsecrets *
wsecrets_new(const struct conf *conf)
{
        struct wsecrets *s = xcalloc(1, sizeof(*s));

        s->conf = conf;
        s->channels = xcalloc(conf->nchannels + 1, sizeof(*s->channels));
        return s;
}

static void
drop_key(struct wsecrets_channel *cs)
{
        if (cs->keybytes != NULL) {
                explicit_bzero(cs->keybytes, cs->keylen);
                free(cs->keybytes);
        }
        cs->keybytes = NULL;
        cs->keylen = 0;
}

void
wsecrets_destroy(struct wsecrets **sp)
{
        struct wsecrets *s = *sp;

        if (s == NULL)
                return;
        for (size_t i = 0; s->channels != NULL && i < s->conf->nchannels; i++) {
                wsecret_clear(&s->channels[i].url);
                wsecret_clear(&s->channels[i].key);
                wsecret_clear(&s->channels[i].token);
                wsecret_clear(&s->channels[i].user);
                drop_key(&s->channels[i]);
        }
        free(s->channels);
        wsecret_clear(&s->mail);
        free(s);
        *sp = NULL;
}

const struct wsecrets_channel *
wsecrets_channel(struct wsecrets *s, const struct channel *ch, char **cause)
{
        struct wsecrets_channel *cs = &s->channels[ch - s->conf->channels];
        const char *dir = s->conf->dir;
        char *who;
        bool fresh;
        int rc = -1;

        xasprintf(&who, "channel '%s'", ch->name);
        if (ch->url_file[0] != '\0' &&
            wsecret_get(&cs->url, dir, who, "url_file", ch->url_file,
                        SECRET_URL, &fresh, cause) == NULL)
                goto out;
        if (ch->token_file[0] != '\0' &&
            wsecret_get(&cs->token, dir, who, "token_file", ch->token_file,
                        SECRET_TOKEN, &fresh, cause) == NULL)
                goto out;
        if (ch->user_key_file[0] != '\0' &&
            wsecret_get(&cs->user, dir, who, "user_key_file", ch->user_key_file,
                        SECRET_TOKEN, &fresh, cause) == NULL)
                goto out;
        if (ch->secret_file[0] != '\0') {
                if (wsecret_get(&cs->key, dir, who, "secret_file",
                                ch->secret_file, SECRET_SIGNING_KEY, &fresh,
                                cause) == NULL)
                        goto out;
                if (fresh || cs->keybytes == NULL) {
                        drop_key(cs);
                        /* Checked by secret_load(): it decodes. */
                        if (secret_whsec_key(cs->key.value, &cs->keybytes,
                                             &cs->keylen, cause) < 0)
                                goto out;
                }
        }
        rc = 0;
out:
        free(who);
        return rc == 0 ? cs : NULL;
}

const char *
wsecrets_mail(struct wsecrets *s, char **cause)
{
        const struct conf *c = s->conf;
        bool fresh;

        if (c->email.password_file[0] != '\0')
                return wsecret_get(&s->mail, s->conf->dir, "email",
                                   "password_file", c->email.password_file,
                                   SECRET_PASSWORD, &fresh, cause);
        if (c->email.bearer_token_file[0] != '\0')
                return wsecret_get(
                    &s->mail, s->conf->dir, "email", "bearer_token_file",
                    c->email.bearer_token_file, SECRET_TOKEN, &fresh, cause);
        return NULL;
}
