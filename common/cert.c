/*
 * cert: see cert.h. OpenSSL reads the PEM, gives the dates and compares
 * the key; the words are built here so the worker and check-config say
 * the same.
 */
#include "cert.h"

#include "fileio.h"
#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A certificate file is a few KiB; a chain with it, a few more. */
#define CERT_FILE_MAX 65536
#define DAY           86400

struct cert {
        X509 *x;
        int64_t not_after;
};

struct cert *
cert_load(const char *path, char **cause)
{
        struct cert *c = NULL;
        struct tm tm;
        char *text = NULL, *why = NULL;
        size_t len = 0;
        BIO *b = NULL;
        X509 *x = NULL;
        int saved;

        if (fileio_read(path, CERT_FILE_MAX, &text, &len, &why) < 0) {
                saved = errno;
                xasprintf(cause, "%s",
                          saved == ENOENT ? "does not exist" : strerror(saved));
                goto out;
        }
        b = BIO_new_mem_buf(text, (int)len);
        if (b != NULL)
                x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (x == NULL || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
                saved = EINVAL;
                *cause = xstrdup("holds no PEM certificate");
                goto out;
        }
        c = xcalloc(1, sizeof(*c));
        c->x = x;
        x = NULL;
        c->not_after = (int64_t)timegm(&tm);
        saved = 0;
out:
        ERR_clear_error();
        X509_free(x);
        BIO_free(b);
        free(text);
        free(why);
        errno = saved;
        return c;
}

void
cert_destroy(struct cert **cp)
{
        struct cert *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        X509_free(c->x);
        free(c);
        *cp = NULL;
}

int64_t
cert_not_after(const struct cert *c)
{
        return c->not_after;
}

int
cert_sha256(const struct cert *c, unsigned char *md)
{
        unsigned char buf[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        if (X509_digest(c->x, EVP_sha256(), buf, &n) != 1 ||
            n != CERT_SHA256_LEN) {
                ERR_clear_error();
                return -1;
        }
        memcpy(md, buf, CERT_SHA256_LEN);
        return 0;
}

int
cert_key_check(const struct cert *c, const char *key_pem, char **cause)
{
        BIO *b = BIO_new_mem_buf(key_pem, -1);
        EVP_PKEY *k =
            b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        int rc = -1;

        if (k == NULL)
                *cause = xstrdup("holds no PEM private key");
        else if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA)
                xasprintf(cause,
                          "holds a key of type %s: the PS256 assertion needs "
                          "an RSA key",
                          EVP_PKEY_get0_type_name(k));
        else if (X509_check_private_key(c->x, k) != 1)
                *cause = xstrdup("does not match the certificate");
        else
                rc = 0;
        ERR_clear_error();
        EVP_PKEY_free(k);
        BIO_free(b);
        return rc;
}

enum cert_end
cert_end(int64_t not_after, int64_t now, int *days)
{
        int64_t left = not_after - now;
        int64_t d = left <= 0 ? 0 : (left + DAY - 1) / DAY;

        if (days != NULL)
                *days = d > INT_MAX ? INT_MAX : (int)d;
        if (left <= 0)
                return CERT_ENDED;
        return d > CERT_WARN_DAYS ? CERT_VALID : CERT_ENDING;
}

char *
cert_end_words(const struct tz *tz, int64_t not_after, int64_t now,
               const char *issuer)
{
        char when[64], *out = NULL;
        int days = 0;

        timefmt_human(tz, not_after, when, sizeof(when));
        switch (cert_end(not_after, now, &days)) {
        case CERT_VALID:
                break;
        case CERT_ENDING:
                xasprintf(&out,
                          "expires on %s (in %d day%s): %s refuses it from "
                          "then on; upload a new one to the app registration "
                          "and replace the file before then",
                          when, days, days == 1 ? "" : "s", issuer);
                break;
        case CERT_ENDED:
                xasprintf(&out,
                          "expired on %s: %s refuses it; upload a new one to "
                          "the app registration and replace the file",
                          when, issuer);
                break;
        }
        return out;
}
