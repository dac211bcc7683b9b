/*
 * Tests for secret: where a secret file is found (credentials first, then
 * next to the config) and that an open one is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "secret.h"

#include <errno.h>
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
        char cmd[160];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
                return -1;
        unsetenv("CREDENTIALS_DIRECTORY");
        free(s);
        return 0;
}

static void
test_next_to_config(void **state)
{
        struct scratch *s = *state;
        char path[160], *got, *cause = NULL;

        snprintf(path, sizeof(path), "%s/secrets/it.key", s->dir);
        put(path, "whsec_abc \n\n", 0600);
        got = secret_path(s->dir, "secrets/it.key");
        assert_string_equal(got, path);
        free(got);
        got = secret_read(s->dir, "secrets/it.key", &cause);
        assert_string_equal(got, "whsec_abc");
        free(got);
        /* Absolute names stay as they are. */
        got = secret_path("/elsewhere", path);
        assert_string_equal(got, path);
        free(got);
}

/* Credentials by base name, by flattened name, by "secrets_" name. */
static void
test_credentials(void **state)
{
        struct scratch *s = *state;
        char path[160], *got;

        setenv("CREDENTIALS_DIRECTORY", s->creds, 1);
        snprintf(path, sizeof(path), "%s/curve_w1.key", s->creds);
        put(path, "x", 0400);
        got = secret_path(s->dir, "curve/w1.key");
        assert_string_equal(got, path);
        free(got);

        snprintf(path, sizeof(path), "%s/secrets_it.key", s->creds);
        put(path, "x", 0400);
        got = secret_path(s->dir, "keys/it.key");
        assert_string_equal(got, path);
        free(got);

        snprintf(path, sizeof(path), "%s/it.key", s->creds);
        put(path, "x", 0400);
        got = secret_path(s->dir, "keys/it.key");
        assert_string_equal(got, path);
        free(got);

        /* Not a credential: next to the config after all. */
        snprintf(path, sizeof(path), "%s/other.key", s->dir);
        got = secret_path(s->dir, "other.key");
        assert_string_equal(got, path);
        free(got);
}

static void
test_open_file_refused(void **state)
{
        struct scratch *s = *state;
        char path[160], *cause = NULL;

        snprintf(path, sizeof(path), "%s/teams.url", s->dir);
        put(path, "https://example.invalid/hook\n", 0644);
        assert_null(secret_read(s->dir, "teams.url", &cause));
        assert_non_null(strstr(cause, "cannot read secret file: "));
        assert_non_null(strstr(cause, "teams.url: holds a secret but is "
                                      "open to others (mode 0644)"));
        /* The URL itself is never in the message. */
        assert_null(strstr(cause, "example.invalid"));
        free(cause);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_next_to_config, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_credentials, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_open_file_refused, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
