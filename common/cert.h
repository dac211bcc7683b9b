/*
 * cert: the certificate email.oauth2 signs in with (a certificate
 * credential of an Entra ID app registration, or of a generic endpoint
 * of the same shape): what it is, when it ends, whether a private key is
 * the one that matches it, and the words on its end that the worker's
 * log and `ofsted-notifyctl check-config` both say.
 *
 * cert_load() reads one PEM file; the rest is pure. A certificate is
 * public: nothing here is secret but the key text a caller passes to
 * cert_key_check(), which is neither kept nor put in a cause. Causes
 * never name the file: the caller names it, by the name the config gives
 * it. The library oncert links libcrypto; the worker and ofsted-notifyctl
 * link it, nothing else.
 */
#ifndef ONOTIFY_CERT_H
#define ONOTIFY_CERT_H

#include "tz.h"

#include <stdint.h>

/* Within this many days of its end a certificate is warned of. */
#define CERT_WARN_DAYS 30
/* The length of cert_sha256()'s digest. */
#define CERT_SHA256_LEN 32

struct cert;

/*
 * The first PEM certificate in the file at `path`. NULL with *cause
 * (caller frees): "does not exist", the open(2) error (errno is kept, so
 * EACCES tells a file this user may not read), or "holds no PEM
 * certificate" (errno EINVAL).
 */
struct cert *cert_load(const char *path, char **cause);
/* Frees *cp; accepts NULL (either); *cp = NULL. */
void cert_destroy(struct cert **cp);

/* Its notAfter, in Unix seconds. */
int64_t cert_not_after(const struct cert *c);
/* The SHA-256 of its DER form into md (CERT_SHA256_LEN bytes): what
 * "x5t#S256" names. 0, or -1. */
int cert_sha256(const struct cert *c, unsigned char *md);

/*
 * Whether `key_pem` (the text of a PEM private key; the caller wipes it)
 * is an RSA private key, as the PS256 assertion needs, and the one whose
 * public key c carries. 0, or -1 with *cause (caller frees): "holds no
 * PEM private key", "holds a key of type EC: ...", "does not match
 * the certificate". The key itself is never in a cause.
 */
int cert_key_check(const struct cert *c, const char *key_pem, char **cause);

/* Where a certificate stands at a moment. */
enum cert_end {
        CERT_VALID,  /* more than CERT_WARN_DAYS to go */
        CERT_ENDING, /* within CERT_WARN_DAYS of its end */
        CERT_ENDED,  /* past its notAfter: refused */
};
/*
 * Where a certificate ending at `not_after` stands at `now` (Unix
 * seconds); *days (may be NULL) the days to go, rounded up: 1 on its last
 * day, 0 once ended.
 */
enum cert_end cert_end(int64_t not_after, int64_t now, int *days);
/*
 * What to say of a certificate ending at `not_after`, at `now`, after its
 * setting's name; NULL while CERT_VALID. The date is in `tz` in the house
 * human form (timefmt_human()); `issuer` names who refuses it ("Entra
 * ID"). "expires on Tue 5 Jan 2027 09:00 GMT (in 12 days): ..." or
 * "expired on ...: ...". Caller frees.
 */
char *cert_end_words(const struct tz *tz, int64_t not_after, int64_t now,
                     const char *issuer);

#endif
