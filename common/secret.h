/*
 * secret: where a secret file named in the config is, and its content.
 *
 * Webhook URLs, signing keys, SMTP passwords and tokens, CURVE secret keys:
 * each is a file the config names. Under systemd the unit hands them over
 * as credentials, in $CREDENTIALS_DIRECTORY; run by hand they are relative
 * to the config's directory. A secret file that its group or others may
 * open is refused: a secret that anyone on the host can read is not one.
 */
#ifndef ONOTIFY_SECRET_H
#define ONOTIFY_SECRET_H

#include <stddef.h>

#define SECRET_MAX 4096

/*
 * The file `name` stands for. With $CREDENTIALS_DIRECTORY set, the first
 * credential there that exists of: the base name (LoadCredential=it.key:
 * /path), the relative name with '/' as '_' ("curve/worker.key" gives
 * "curve_worker.key", as LoadCredential=curve:/etc/ofsted-notify/curve
 * names it), or "secrets_" and the base name. Else `name` itself when
 * absolute, or under `confdir`. Returns a new string the caller frees.
 */
char *secret_path(const char *confdir, const char *name);

/*
 * The content of the secret file `name` (as secret_path() finds it)
 * without trailing white space, at most SECRET_MAX bytes. Returns a new
 * string the caller frees, or NULL with *cause set (caller frees).
 */
char *secret_read(const char *confdir, const char *name, char **cause);
/* Wipes a secret string and frees it; accepts NULL. */
void secret_free(char *s);

#endif
