/*
 * keygen: the keys an admin hands out, made here so that nobody needs
 * another tool: a CURVE key pair for a tcp:// endpoint, or a signing
 * secret for a generic webhook channel (Standard Webhooks' "whsec_").
 *
 * Files are written whole or not at all: into a temporary file in the
 * same directory, mode 0600 from the start, synced, then linked into
 * place (refusing to replace a file) or, with --force, renamed over it.
 */
#include "ctl.h"

#include "curve.h"
#include "secret.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WHSEC_BYTES 32

enum { OPT_FORCE = 256, OPT_WEBHOOK };

/*
 * Writes `text` to `path` with `mode`. Returns 0, or -1 after saying why
 * on stderr; nothing is left behind then.
 */
static int
write_file(const char *path, const char *text, mode_t mode, bool force)
{
        char *tmp;
        int fd, rc = -1;
        size_t len = strlen(text);

        xasprintf(&tmp, "%s.XXXXXX", path);
        fd = mkstemp(tmp);
        if (fd < 0) {
                fprintf(stderr,
                        "ofsted-notifyctl keygen: cannot create a "
                        "file next to '%s': %s\n",
                        path, strerror(errno));
                free(tmp);
                return -1;
        }
        if (fchmod(fd, mode) < 0 || write(fd, text, len) != (ssize_t)len ||
            fsync(fd) < 0) {
                fprintf(stderr,
                        "ofsted-notifyctl keygen: cannot write '%s': "
                        "%s\n",
                        tmp, strerror(errno));
                goto out;
        }
        if (force ? rename(tmp, path) : link(tmp, path)) {
                if (errno == EEXIST)
                        fprintf(stderr,
                                "ofsted-notifyctl keygen: '%s' exists; "
                                "--force replaces it\n",
                                path);
                else
                        fprintf(stderr,
                                "ofsted-notifyctl keygen: cannot write '%s': "
                                "%s\n",
                                path, strerror(errno));
                goto out;
        }
        rc = 0;
out:
        close(fd);
        /* After link() the temporary name goes; after rename() it is gone. */
        unlink(tmp);
        free(tmp);
        return rc;
}

/* NAME.key and NAME.pub; NAME may be given with its .key. */
static int
curve_pair(const char *name, bool force)
{
        struct curve_key k;
        char *base = xstrdup(name), *key = NULL, *pub = NULL, *text = NULL;
        char stamp[32];
        size_t n = strlen(base);
        time_t now = time(NULL);
        int rc = CTL_FAILED;

        if (n > 4 && strcmp(base + n - 4, ".key") == 0)
                base[n - 4] = '\0';
        xasprintf(&key, "%s.key", base);
        xasprintf(&pub, "%s.pub", base);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        if (curve_key_generate(&k) < 0) {
                fprintf(stderr, "ofsted-notifyctl keygen: no key pair: %s\n",
                        strerror(errno));
                goto out;
        }
        text = curve_key_text(&k, true, stamp);
        if (write_file(key, text, 0600, force) < 0)
                goto out;
        secret_free(text);
        text = curve_key_text(&k, false, stamp);
        if (write_file(pub, text, 0644, force) < 0) {
                unlink(key);
                goto out;
        }
        printf("wrote %s (the key pair: a secret, mode 0600) and %s\n"
               "public key: %s\n",
               key, pub, k.public_key);
        rc = CTL_OK;
out:
        explicit_bzero(&k, sizeof(k));
        secret_free(text);
        free(key);
        free(pub);
        free(base);
        return rc;
}

/* A Standard Webhooks signing secret: "whsec_" and 32 random bytes. */
static int
webhook_secret(const char *path, bool force)
{
        unsigned char raw[WHSEC_BYTES];
        char b64[sodium_base64_ENCODED_LEN(WHSEC_BYTES,
                                           sodium_base64_VARIANT_ORIGINAL)];
        char *text;
        int rc = CTL_FAILED;

        if (sodium_init() < 0) {
                fprintf(stderr, "ofsted-notifyctl keygen: libsodium cannot "
                                "start\n");
                return CTL_FAILED;
        }
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
                          sodium_base64_VARIANT_ORIGINAL);
        xasprintf(&text, "whsec_%s\n", b64);
        if (write_file(path, text, 0600, force) == 0) {
                printf("wrote %s (a webhook signing secret, mode 0600)\n",
                       path);
                rc = CTL_OK;
        }
        sodium_memzero(raw, sizeof(raw));
        sodium_memzero(b64, sizeof(b64));
        sodium_memzero(text, strlen(text));
        free(text);
        return rc;
}

int
cmd_keygen(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "force", no_argument, NULL, OPT_FORCE },
                { "webhook", no_argument, NULL, OPT_WEBHOOK },
                { NULL, 0, NULL, 0 },
        };
        bool force = false, webhook = false;
        int ch;

        while ((ch = ctl_getopt(ctl, argc, argv, "c:", opts)) != -1) {
                if (ch == OPT_FORCE)
                        force = true;
                else if (ch == OPT_WEBHOOK)
                        webhook = true;
                else
                        return ctl_usage_error("keygen", "bad option");
        }
        if (optind >= argc)
                return ctl_usage_error("keygen",
                                       webhook ? "which file? keygen "
                                                 "--webhook FILE"
                                               : "which name? keygen NAME "
                                                 "writes NAME.key and "
                                                 "NAME.pub");
        if (optind + 1 < argc)
                return ctl_usage_error("keygen", "unexpected argument '%s'",
                                       argv[optind + 1]);
        if (argv[optind][0] == '\0')
                return ctl_usage_error("keygen", "the name is empty");
        return webhook ? webhook_secret(argv[optind], force)
                       : curve_pair(argv[optind], force);
}
