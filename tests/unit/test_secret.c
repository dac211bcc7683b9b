/*
 * Tests for secret: where a secret file is found (credentials first, then
 * next to the config); the pure judges of a file's mode and owner and of
 * its content, for each kind of secret; secret_load() on real files,
 * their stamps, and that no message quotes a secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "secret.h"
#include "support.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct scratch {
        char dir[64];   /* the config's directory */
        char creds[96]; /* a $CREDENTIALS_DIRECTORY */
};

static void
put(const char *path, const char *text, mode_t mode)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static int
setup(void **state)
{
        struct scratch *s = calloc(1, sizeof(*s));
        char sub[128];

        snprintf(s->dir, sizeof(s->dir), "/tmp/test_secret.XXXXXX");
        if (mkdtemp(s->dir) == NULL)
                return -1;
        snprintf(s->creds, sizeof(s->creds), "%s/creds", s->dir);
        snprintf(sub, sizeof(sub), "%s/secrets", s->dir);
        if (mkdir(s->creds, 0700) < 0 || mkdir(sub, 0700) < 0)
                return -1;
        unsetenv("CREDENTIALS_DIRECTORY");
        *state = s;
        return 0;
}

static int
teardown(void **state)
{
        struct scratch *s = *state;

        if (support_rmtree(s->dir) < 0)
                return -1;
        unsetenv("CREDENTIALS_DIRECTORY");
        free(s);
        return 0;
}

static void
test_next_to_config(void **state)
{
        struct scratch *s = *state;
        char path[160], *got, *value = NULL, *cause = NULL;

        snprintf(path, sizeof(path), "%s/secrets/it.url", s->dir);
        put(path, "https://hooks.example/a\n", 0600);
        got = secret_path(s->dir, "secrets/it.url");
        assert_string_equal(got, path);
        assert_false(secret_is_credential(got));
        assert_int_equal(
            secret_load(got, false, SECRET_URL, &value, NULL, &cause), 0);
        assert_string_equal(value, "https://hooks.example/a");
        secret_free(value);
        free(got);
        /* Absolute names stay as they are. */
        got = secret_path("/elsewhere", path);
        assert_string_equal(got, path);
        free(got);
}

/* secret_path(s->dir, name) is dir/file; the file is made first if make. */
static void
found_at(const struct scratch *s, const char *name, const char *dir,
         const char *file, bool make)
{
        char path[160], *got;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        if (make)
                put(path, "x", 0400);
        got = secret_path(s->dir, name);
        if (strcmp(got, path) != 0)
                fail_msg("'%s' found at '%s', not '%s'", name, got, path);
        free(got);
}

/* Credentials by base name, by flattened name, by "secrets_" name. */
static void
test_credentials(void **state)
{
        struct scratch *s = *state;

        setenv("CREDENTIALS_DIRECTORY", s->creds, 1);
        found_at(s, "curve/w1.key", s->creds, "curve_w1.key", true);
        found_at(s, "keys/it.key", s->creds, "secrets_it.key", true);
        found_at(s, "keys/it.key", s->creds, "it.key", true);
        /* Not a credential: next to the config after all. */
        found_at(s, "other.key", s->dir, "other.key", false);
}

/* A file's mode and owners, and what secret_check_mode() says. */
struct mode_row {
        mode_t mode;
        uid_t owner, self;
        bool credential;
        const char *refused; /* NULL: accepted */
};

static const struct mode_row mode_rows[] = {
        /* The owner's alone, root's or this user's. */
        { 0100600, 0, 0, false, NULL },
        { 0100400, 1000, 1000, false, NULL },
        { 0100600, 0, 1000, false, NULL },
        { 0100644, 0, 0, false,
          "readable by others (mode 0644); chmod 600 it" },
        { 0100602, 0, 0, true, "open by others (mode 0602); chmod 600 it" },
        { 0100640, 0, 0, false,
          "readable by its group (mode 0640); chmod 600 it" },
        { 0100620, 0, 0, false, "open by its group (mode 0620); chmod 600 it" },
        /* A credential: systemd's ACL shows as group read, and only that
         * is let through. */
        { 0100440, 0, 998, true, NULL },
        { 0100400, 998, 998, true, NULL },
        { 0100460, 0, 998, true,
          "readable by its group (mode 0460); chmod 600 it" },
        { 0100444, 0, 998, true,
          "readable by others (mode 0444); chmod 600 it" },
        /* Someone else's file: they could rewrite it. */
        { 0100600, 1001, 1000, false,
          "owned by uid 1001, who could rewrite it; make it root's or uid "
          "1000's" },
};

static void
test_check_mode(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(mode_rows) / sizeof(mode_rows[0]); i++) {
                const struct mode_row *r = &mode_rows[i];
                char *cause = NULL;
                int rc = secret_check_mode(r->mode, r->owner, r->self,
                                           r->credential, &cause);

                if (r->refused == NULL ? rc != 0 || cause != NULL
                                       : rc != -1 || cause == NULL ||
                                             strcmp(cause, r->refused) != 0)
                        fail_msg("row %zu (mode %o, owner %u, self %u): %d, "
                                 "'%s'",
                                 i, (unsigned)r->mode, (unsigned)r->owner,
                                 (unsigned)r->self, rc,
                                 cause != NULL ? cause : "(no cause)");
                free(cause);
        }
}

#define T(s) (s), (sizeof(s) - 1)

/* A secret file's content (len bytes) and what secret_check_text() says. */
struct text_row {
        bool ok;
        enum secret_kind kind;
        const char *text;
        size_t len;
        const char *want; /* the value when ok, else the cause */
};

static const struct text_row text_rows[] = {
        /* One line, with or without its LF or CR LF. */
        { true, SECRET_URL, T("https://hooks.example/a"),
          "https://hooks.example/a" },
        { true, SECRET_URL, T("https://hooks.example/a\n"),
          "https://hooks.example/a" },
        { true, SECRET_URL, T("https://hooks.example/a\r\n"),
          "https://hooks.example/a" },
        { true, SECRET_URL, T("http://127.0.0.1:8080/a\n"),
          "http://127.0.0.1:8080/a" },
        { true, SECRET_URL, T("http://[::1]/a"), "http://[::1]/a" },
        { true, SECRET_PASSWORD, T("hunter2 with\tspaces\n"),
          "hunter2 with\tspaces" },
        { true, SECRET_TOKEN, T("eyJ0eXAi.x.y"), "eyJ0eXAi.x.y" },
        { true, SECRET_SIGNING_KEY,
          T("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"),
          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },

        /* Not one line. */
        { false, SECRET_URL, T("https://hooks.example/a\r\nsecond\r\n"),
          "holds more than one line" },
        { false, SECRET_URL, T("https://hooks.example/a\n\n"),
          "holds more than one line" },
        { false, SECRET_URL, T("https://hooks.example/a\r"),
          "holds a control character (byte 0x0d at offset 23)" },
        { false, SECRET_PASSWORD, T("hunter2\r\r\n"),
          "holds a control character (byte 0x0d at offset 7)" },
        { false, SECRET_PASSWORD, "hunter2\0x", 9,
          "holds a control character (byte 0x00 at offset 7)" },
        { false, SECRET_TOKEN, T("tok\x7f"),
          "holds a control character (byte 0x7f at offset 3)" },
        /* Empty, or white space around it. */
        { false, SECRET_PASSWORD, T(""), "is empty" },
        { false, SECRET_PASSWORD, T("\n"), "is empty" },
        { false, SECRET_PASSWORD, T("\r\n"), "is empty" },
        { false, SECRET_URL, T("https://hooks.example/a \n"),
          "has white space at the start or end of its line" },
        { false, SECRET_PASSWORD, T(" hunter2"),
          "has white space at the start or end of its line" },
        /* Not a URL we would send to. */
        { false, SECRET_URL, T("https://hooks.example/a b"),
          "holds a URL with a space in it" },
        { false, SECRET_URL, T("hooks.example/a"), "is not a valid URL" },
        { false, SECRET_URL, T("http://hooks.example/a"),
          "holds a plain http:// URL to 'hooks.example': use https:// "
          "(http is allowed only to loopback)" },
        { false, SECRET_URL, T("ftp://hooks.example/a"),
          "holds a 'ftp' URL, not https" },
        /* Not a key. */
        { false, SECRET_SIGNING_KEY, T("hunter2\n"),
          "the signing secret must be 'whsec_' followed by a base64 "
          "key" },
        { false, SECRET_SIGNING_KEY, T("whsec_AAECAwQFBgcICQoLDA0ODw==\n"),
          "the signing key is 16 bytes; Standard Webhooks keys are "
          "24 to 64" },
};

/*
 * Each row's text is accepted as its value, or refused saying its cause,
 * which never quotes it: the host may be named; the path, the secret part,
 * never.
 */
static void
test_check_text(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(text_rows) / sizeof(text_rows[0]); i++) {
                const struct text_row *r = &text_rows[i];
                char *value = (char *)"untouched", *cause = NULL;
                int rc =
                    secret_check_text(r->kind, r->text, r->len, &value, &cause);
                const char *got = rc == 0 ? value : cause;

                if (rc != (r->ok ? 0 : -1) || got == NULL ||
                    strcmp(got, r->want) != 0 || (!r->ok && value != NULL) ||
                    (!r->ok && (strstr(cause, "example/") != NULL ||
                                strstr(cause, "hunter2") != NULL)))
                        fail_msg("row %zu ('%s'): %d, '%s'", i, r->text, rc,
                                 got != NULL ? got : "(null)");
                if (rc == 0)
                        secret_free(value);
                free(cause);
        }
}

/* secret_load() on real files: its checks, its stamp, errno. */
static void
test_load(void **state)
{
        struct scratch *s = *state;
        struct secret_stamp a, b, c;
        char path[160], *value = NULL, *cause = NULL;

        snprintf(path, sizeof(path), "%s/teams.url", s->dir);
        put(path, "https://hooks.example/hook-one\n", 0644);
        assert_int_equal(
            secret_load(path, false, SECRET_URL, &value, &a, &cause), -1);
        assert_int_equal(errno, EINVAL);
        assert_null(value);
        assert_string_equal(cause,
                            "readable by others (mode 0644); chmod 600 it");
        free(cause);
        cause = NULL;

        /* Fixed by a chmod: the stamp tells, though the content did not
         * change. */
        assert_int_equal(secret_stat(path, &a), 0);
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(secret_stat(path, &b), 0);
        assert_false(secret_stamp_equal(&a, &b));
        assert_int_equal(
            secret_load(path, false, SECRET_URL, &value, &c, &cause), 0);
        assert_true(secret_stamp_equal(&b, &c));
        assert_string_equal(value, "https://hooks.example/hook-one");
        secret_free(value);

        /* Rewritten with another URL of the same length. */
        put(path, "https://hooks.example/hook-two\n", 0600);
        assert_int_equal(secret_stat(path, &a), 0);
        assert_false(secret_stamp_equal(&a, &c));

        snprintf(path, sizeof(path), "%s/none.url", s->dir);
        assert_int_equal(
            secret_load(path, false, SECRET_URL, &value, NULL, &cause), -1);
        assert_int_equal(errno, ENOENT);
        assert_string_equal(cause, "does not exist");
        free(cause);
        cause = NULL;
        assert_int_equal(secret_stat(path, &a), -1);

        /* A directory is not a secret file. */
        assert_int_equal(
            secret_load(s->creds, false, SECRET_URL, &value, NULL, &cause), -1);
        assert_string_equal(cause, "is not a regular file");
        free(cause);
}

/* Inside $CREDENTIALS_DIRECTORY, group read (systemd's ACL) passes. */
static void
test_load_credential(void **state)
{
        struct scratch *s = *state;
        char path[160], *got, *value = NULL, *cause = NULL;

        setenv("CREDENTIALS_DIRECTORY", s->creds, 1);
        snprintf(path, sizeof(path), "%s/secrets_smtp-password", s->creds);
        put(path, "hunter2\n", 0440);
        got = secret_path(s->dir, "secrets/smtp-password");
        assert_string_equal(got, path);
        assert_true(secret_is_credential(got));
        assert_int_equal(secret_load(got, secret_is_credential(got),
                                     SECRET_PASSWORD, &value, NULL, &cause),
                         0);
        assert_string_equal(value, "hunter2");
        secret_free(value);
        free(got);

        /* The same mode next to the config is refused. */
        snprintf(path, sizeof(path), "%s/secrets/other", s->dir);
        put(path, "hunter2\n", 0440);
        got = secret_path(s->dir, "secrets/other");
        assert_false(secret_is_credential(got));
        assert_int_equal(secret_load(got, secret_is_credential(got),
                                     SECRET_PASSWORD, &value, NULL, &cause),
                         -1);
        assert_string_equal(cause,
                            "readable by its group (mode 0440); chmod 600 it");
        free(cause);
        free(got);
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_next_to_config, setup, teardown),
    cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
    cmocka_unit_test(test_check_mode),
    cmocka_unit_test(test_check_text),
    cmocka_unit_test_setup_teardown(test_load, setup, teardown),
    cmocka_unit_test_setup_teardown(test_load_credential, setup, teardown),
})
