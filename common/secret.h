/*
 * secret: where a secret file named in the config is, whether it is fit
 * to use, and its content.
 *
 * Webhook URLs, signing keys, SMTP passwords and tokens, CURVE secret keys:
 * each is a file the config names. Under systemd the unit hands them over
 * as credentials, in $CREDENTIALS_DIRECTORY; run by hand they are relative
 * to the config's directory.
 *
 * The worker (before each delivery) and `ofsted-notifyctl check-config`
 * judge a secret file by the same functions: secret_check_mode() and
 * secret_check_text() are pure, on a file's mode, owner and bytes;
 * secret_load() is the one small function that opens and reads.
 * Their messages never quote a secret and never name the file: the caller
 * names it, by the name the config gives it.
 */
#ifndef ONOTIFY_SECRET_H
#define ONOTIFY_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define SECRET_MAX     4096
#define SECRET_DOC_MAX 16384 /* a SECRET_DOCUMENT's bound */

/* What a secret file holds, so how its content is judged. */
enum secret_kind {
        SECRET_URL, /* url_file: one https:// URL (http:// to loopback) */
        SECRET_SIGNING_KEY, /* secret_file: "whsec_" and a base64 key */
        SECRET_PASSWORD,    /* email.password_file */
        SECRET_TOKEN,       /* email.bearer_token_file */
        SECRET_DOCUMENT,    /* a PEM private key, a service account's JSON
                               key: lines of text, up to SECRET_DOC_MAX */
};

/*
 * What a file was when it was read. Any rewrite, rename over it, chmod or
 * chown changes one of these (the times to the nanosecond), so comparing
 * two stamps from stat(2) tells whether the file must be read again.
 */
struct secret_stamp {
        dev_t dev;
        ino_t ino;
        off_t size;
        mode_t mode;
        uid_t uid;
        struct timespec mtime, ctime;
};

/*
 * The file `name` stands for. With $CREDENTIALS_DIRECTORY set, the first
 * credential there that exists of: the base name (LoadCredential=it.key:
 * /path), the relative name with '/' as '_' ("curve/worker.key" gives
 * "curve_worker.key", as LoadCredential=curve:/etc/ofsted-notify/curve
 * names it), or "secrets_" and the base name. Else `name` itself when
 * absolute, or under `confdir`. Returns a new string the caller frees.
 */
char *secret_path(const char *confdir, const char *name);
/* Whether `path` (from secret_path()) is in $CREDENTIALS_DIRECTORY. */
bool secret_is_credential(const char *path);

/*
 * Whether a file with permission bits `mode`, owned by `owner`, may hold
 * a secret read by user `self`. Others may have no access at all. Its
 * group may have none either, except read access to a credential
 * (`credential`): systemd makes those 0400 and grants the service user
 * read access by an ACL, which stat(2) shows as group read (0440), in a
 * directory only the unit can open. The owner must be root or `self`:
 * anyone else could rewrite it. Returns 0, or -1 with *cause (caller
 * frees), such as "readable by others (mode 0644); chmod 600 it".
 */
int secret_check_mode(mode_t mode, uid_t owner, uid_t self, bool credential,
                      char **cause);

/*
 * Whether `len` bytes of `text` (a file's whole content) are a secret of
 * `kind`. One line: a single trailing LF or CR LF is allowed and dropped;
 * any other control character (a CR, a second line, a NUL), white space
 * at either end, and an empty value are refused. A URL must parse, with
 * scheme https, or http to a loopback host; a signing key must decode
 * (secret_whsec_key()). On success *value (caller frees with
 * secret_free()) is the secret. Returns -1 with *cause (caller frees)
 * otherwise; *cause never quotes the text.
 */
int secret_check_text(enum secret_kind kind, const char *text, size_t len,
                      char **value, char **cause);

/*
 * Parses a Standard Webhooks signing secret, "whsec_" and the base64 key
 * of 24 to 64 bytes (padded or not); white space around it is ignored
 * (secret_check_text() is the judge of a file's lines). On success *key (keylen
 * bytes) is the caller's: wipe it with explicit_bzero() and free() it. On
 * failure -1 with *cause (caller frees), which never quotes the secret.
 */
int secret_whsec_key(const char *text, unsigned char **key, size_t *len,
                     char **cause);

/* stat(2) of `path` as a stamp. Returns 0, or -1 with errno set. */
int secret_stat(const char *path, struct secret_stamp *stamp);
/* Whether two stamps are of the same file, unchanged. */
bool secret_stamp_equal(const struct secret_stamp *a,
                        const struct secret_stamp *b);

/*
 * Opens `path` (from secret_path(); `credential` as it said), checks the
 * open file with secret_check_mode() for this process's user and its
 * content with secret_check_text(). On success *value is the secret
 * (caller frees with secret_free()) and *stamp (may be NULL) what the
 * file was. Returns -1 with *cause (caller frees; no path, no secret in
 * it) otherwise, errno being the open(2) error when the file could not be
 * opened (ENOENT, EACCES...) and EINVAL when it is unfit.
 */
int secret_load(const char *path, bool credential, enum secret_kind kind,
                char **value, struct secret_stamp *stamp, char **cause);

/* Wipes a secret string and frees it; accepts NULL. */
void secret_free(char *s);

#endif
