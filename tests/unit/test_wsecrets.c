/*
 * Tests for the worker's secrets cache (workers/secrets.h) on real files:
 * the first read, no read again while the file is unchanged, a rewritten
 * file read again, a file opened to others refused until it is fixed,
 * and a channel's signing key decoded again when its file changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "secrets.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

/* Writes a new file and renames it over `name`, as an admin's tool does. */
static void
put(const char *name, const char *text, mode_t mode)
{
        char path[160], tmp[176];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        snprintf(tmp, sizeof(tmp), "%s.new", path);
        f = fopen(tmp, "w");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(tmp, mode), 0);
        assert_int_equal(rename(tmp, path), 0);
}

static void
mode(const char *name, mode_t m)
{
        char path[160];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(chmod(path, m), 0);
}

static int
setup(void **state)
{
        (void)state;
        snprintf(dir, sizeof(dir), "/tmp/test_wsecrets.XXXXXX");
        if (mkdtemp(dir) == NULL)
                return -1;
        unsetenv("CREDENTIALS_DIRECTORY");
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        return support_rmtree(dir);
}

static const char *
get(struct wsecret *c, bool *fresh, char **cause)
{
        free(*cause);
        *cause = NULL;
        return wsecret_get(c, dir, "channel 'it'", "url_file", "it.url",
                           SECRET_URL, fresh, cause);
}

static void
test_read_cached_reread(void **state)
{
        struct wsecret c = { 0 };
        const char *v, *again;
        char *cause = NULL;
        bool fresh;

        (void)state;
        put("it.url", "https://hooks.example/a\n", 0600);
        v = get(&c, &fresh, &cause);
        assert_non_null(v);
        assert_string_equal(v, "https://hooks.example/a");
        assert_true(fresh);
        assert_null(cause);

        /* Unchanged: the value held, not read again. */
        again = get(&c, &fresh, &cause);
        assert_ptr_equal(again, v);
        assert_false(fresh);

        /* Rotated: the next use reads the new URL. */
        put("it.url", "https://hooks.example/rotated\n", 0600);
        v = get(&c, &fresh, &cause);
        assert_non_null(v);
        assert_string_equal(v, "https://hooks.example/rotated");
        assert_true(fresh);
        assert_null(c.problem);
        wsecret_clear(&c);
        free(cause);
}

static void
test_problem_until_fixed(void **state)
{
        struct wsecret c = { 0 };
        const char *problem;
        char *cause = NULL;
        bool fresh;

        (void)state;
        put("it.url", "https://hooks.example/a\n", 0600);
        assert_non_null(get(&c, &fresh, &cause));

        /* Opened to others: refused, and the cached value is dropped. */
        mode("it.url", 0644);
        assert_null(get(&c, &fresh, &cause));
        assert_non_null(cause);
        assert_string_equal(cause, "secret file 'it.url': readable by others "
                                   "(mode 0644); chmod 600 it");
        assert_null(c.value);
        assert_non_null(c.problem);
        assert_string_equal(c.problem, cause);
        assert_null(strstr(cause, "hooks.example"));

        /* The same problem again: still refused, remembered as before (so
         * not logged twice). */
        problem = c.problem;
        assert_null(get(&c, &fresh, &cause));
        assert_ptr_equal(c.problem, problem);

        /* Fixed: usable again, read just now, the problem cleared. */
        mode("it.url", 0600);
        assert_non_null(get(&c, &fresh, &cause));
        assert_string_equal(c.value, "https://hooks.example/a");
        assert_true(fresh);
        assert_null(cause);
        assert_null(c.problem);
        wsecret_clear(&c);
        free(cause);
}

static void
test_missing_file(void **state)
{
        struct wsecret c = { 0 };
        char *cause = NULL;
        bool fresh;

        (void)state;
        assert_null(wsecret_get(&c, dir, "email", "password_file", "none.pw",
                                SECRET_PASSWORD, &fresh, &cause));
        assert_non_null(cause);
        assert_non_null(strstr(cause, "secret file 'none.pw'"));
        assert_false(fresh);
        wsecret_clear(&c);
        free(cause);
}

/* A config with one signed webhook channel, as conf_load() leaves it. */
static void
one_channel(struct conf *conf, struct channel *ch)
{
        support_one_channel(conf, ch, dir, "it", CHANNEL_WEBHOOK);
        ch->url_file = "it.url";
        ch->secret_file = "it.key";
}

static void
test_channel_key(void **state)
{
        struct conf conf;
        struct channel ch;
        struct wsecrets *s;
        const struct wsecrets_channel *cs;
        unsigned char first[64];
        char *cause = NULL;

        (void)state;
        one_channel(&conf, &ch);
        put("it.url", "https://hooks.example/a\n", 0600);
        /* 24 bytes each, base64. */
        put("it.key", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 0600);
        s = wsecrets_new(&conf);
        cs = wsecrets_channel(s, &ch, &cause);
        assert_non_null(cs);
        assert_null(cause);
        assert_string_equal(cs->url.value, "https://hooks.example/a");
        assert_int_equal(cs->keylen, 24);
        memcpy(first, cs->keybytes, cs->keylen);

        put("it.key", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 0600);
        cs = wsecrets_channel(s, &ch, &cause);
        assert_non_null(cs);
        assert_int_equal(cs->keylen, 24);
        assert_memory_not_equal(cs->keybytes, first, 24);
        for (size_t i = 0; i < cs->keylen; i++)
                assert_int_equal(cs->keybytes[i], 0);

        /* A URL file open to others is a problem on our side, with a cause. */
        mode("it.url", 0604);
        assert_null(wsecrets_channel(s, &ch, &cause));
        assert_non_null(cause);
        assert_non_null(strstr(cause, "secret file 'it.url'"));
        free(cause);
        cause = NULL;

        /* No email secret named: nothing, and no cause. */
        assert_null(wsecrets_mail(s, &cause));
        assert_null(cause);
        wsecrets_destroy(&s);
        assert_null(s);
        wsecrets_destroy(&s);
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_read_cached_reread, setup, teardown),
    cmocka_unit_test_setup_teardown(test_problem_until_fixed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
    cmocka_unit_test_setup_teardown(test_channel_key, setup, teardown),
})
