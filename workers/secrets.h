/*
 * secrets: the worker's cache of the secret files its config names.
 *
 * A channel's url_file and secret_file, and the email group's
 * password_file or bearer_token_file, are read at their first use and
 * kept. Before each later use the file is stat'ed and read again only
 * when it changed (a rotated webhook URL, a chmod that fixes it), so a
 * change takes effect at the next delivery without a reload; unchanged,
 * it costs one stat. Each distinct problem with a file is logged once,
 * at error, and once that it is gone; a secret is never logged. A
 * problem is on our side, never the receiver's: the caller retries.
 */
#ifndef ONOTIFY_WSECRETS_H
#define ONOTIFY_WSECRETS_H

#include "conf.h"
#include "secret.h"

#include <stdbool.h>
#include <stddef.h>

/* One secret file as last read: its value, checked, and the file then. */
struct wsecret {
        char *value; /* NULL: not read yet, or unfit */
        struct secret_stamp stamp;
        char *problem; /* what was last logged about the file, or NULL */
};

/*
 * The secret in the file the config names `name` (under `confdir`, or a
 * credential; setting `setting` of `who`, "channel 'x'" or "email"),
 * through cache `c`: read again when the file changed. Returns the value
 * (the cache's, valid until the next call) and sets *fresh when it was
 * read just now; or NULL with *cause (caller frees), which names the file
 * as the config does and never quotes a secret.
 */
const char *wsecret_get(struct wsecret *c, const char *confdir, const char *who,
                        const char *setting, const char *name,
                        enum secret_kind kind, bool *fresh, char **cause);
/* Wipes and frees what c holds; c is empty afterwards. */
void wsecret_clear(struct wsecret *c);

/* A channel's secrets: its url_file and secret_file, the key decoded,
 * and its token_file and user_key_file (ntfy, pushover, sms). */
struct wsecrets_channel {
        struct wsecret url, key, token, user;
        unsigned char *keybytes; /* key.value decoded, or NULL */
        size_t keylen;
};

struct wsecrets;

/* An empty cache for the files `conf` names; conf is borrowed. */
struct wsecrets *wsecrets_new(const struct conf *conf);
/* Wipes every secret held; accepts NULL and sets *sp to NULL. */
void wsecrets_destroy(struct wsecrets **sp);

/*
 * The secrets of channel `ch` (one of the conf's channels), each file as
 * it is now. NULL with *cause (caller frees) when one is missing,
 * unreadable, open to others or malformed. Borrowed until the next call.
 */
const struct wsecrets_channel *
wsecrets_channel(struct wsecrets *s, const struct channel *ch, char **cause);

/*
 * The email group's password (password_file) or else its bearer token
 * (bearer_token_file), as the file is now. NULL with *cause set when it
 * cannot be used; NULL with *cause left NULL when the group names neither.
 */
const char *wsecrets_mail(struct wsecrets *s, char **cause);

#endif
