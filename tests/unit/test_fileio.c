/*
 * Tests for fileio: whole-file reads with a size cap and a clear cause.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fileio.h"
#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct scratch {
        char dir[64];
        char path[96];
};

static int
setup(void **state)
{
        struct scratch *s = calloc(1, sizeof(*s));

        snprintf(s->dir, sizeof(s->dir), "/tmp/test_fileio.XXXXXX");
        if (mkdtemp(s->dir) == NULL)
                return -1;
        snprintf(s->path, sizeof(s->path), "%s/data", s->dir);
        *state = s;
        return 0;
}

static int
teardown(void **state)
{
        struct scratch *s = *state;

        unlink(s->path);
        rmdir(s->dir);
        free(s);
        return 0;
}

static void
write_file(const char *path, const char *data, size_t len)
{
        FILE *f = fopen(path, "wb");

        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

static void
test_reads_whole_file(void **state)
{
        struct scratch *s = *state;
        char *buf = NULL, *cause = NULL;
        size_t len = 0;

        /* An embedded NUL survives; the buffer is NUL-terminated after. */
        write_file(s->path, "ab\0cd", 5);
        assert_int_equal(fileio_read(s->path, 5, &buf, &len, &cause), 0);
        assert_int_equal(len, 5);
        assert_memory_equal(buf, "ab\0cd", 5);
        assert_int_equal(buf[5], '\0');
        assert_null(cause);
        free(buf);

        write_file(s->path, "", 0);
        assert_int_equal(fileio_read(s->path, 5, &buf, &len, &cause), 0);
        assert_int_equal(len, 0);
        assert_string_equal(buf, "");
        free(buf);
}

static void
test_too_large(void **state)
{
        struct scratch *s = *state;
        char *buf = NULL, *cause = NULL;
        size_t len = 0;

        write_file(s->path, "123456", 6);
        assert_int_equal(fileio_read(s->path, 5, &buf, &len, &cause), -1);
        assert_int_equal(errno, EFBIG);
        assert_null(buf);
        assert_non_null(strstr(cause, s->path));
        assert_non_null(strstr(cause, "larger than 5 bytes"));
        free(cause);
}

static void
test_missing(void **state)
{
        struct scratch *s = *state;
        char *buf = NULL, *cause = NULL, *want;
        size_t len = 0;

        unlink(s->path);
        assert_int_equal(fileio_read(s->path, 5, &buf, &len, &cause), -1);
        assert_int_equal(errno, ENOENT);
        assert_null(buf);
        assert_int_not_equal(
            asprintf(&want, "%s: No such file or directory", s->path), -1);
        assert_string_equal(cause, want);
        free(want);
        free(cause);
}

/* A secret file: the owner's alone is read; any access for others is not. */
static void
test_private_modes(void **state)
{
        static const struct {
                mode_t mode;
                const char *shown; /* in the cause, or NULL: read */
        } cases[] = {
                { 0600, NULL },   { 0400, NULL },   { 0640, "0640" },
                { 0604, "0604" }, { 0660, "0660" }, { 0620, "0620" },
                { 0601, "0601" }, { 0700, NULL },
        };
        struct scratch *s = *state;

        write_file(s->path, "whsec_abc\n", 10);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *buf = NULL, *cause = NULL;
                size_t len = 0;
                int rc;

                assert_int_equal(chmod(s->path, cases[i].mode), 0);
                rc =
                    fileio_read_private(s->path, 64, false, &buf, &len, &cause);
                if (cases[i].shown == NULL) {
                        assert_int_equal(rc, 0);
                        assert_int_equal(len, 10);
                        assert_string_equal(buf, "whsec_abc\n");
                        assert_null(cause);
                } else {
                        assert_int_equal(rc, -1);
                        assert_int_equal(errno, EACCES);
                        assert_null(buf);
                        assert_non_null(strstr(cause, s->path));
                        assert_non_null(strstr(cause, cases[i].shown));
                        assert_non_null(strstr(cause, "chmod 600"));
                }
                free(buf);
                free(cause);
        }
        /* A systemd credential: the group may read it (systemd's ACL for
         * the service's user shows as r-- group bits), nothing more. */
        for (size_t i = 0; i < 4; i++) {
                static const mode_t modes[] = { 0440, 0400, 0460, 0444 };
                char *buf = NULL, *cause = NULL;
                size_t len = 0;
                int rc;

                assert_int_equal(chmod(s->path, modes[i]), 0);
                rc = fileio_read_private(s->path, 64, true, &buf, &len, &cause);
                assert_int_equal(rc, i < 2 ? 0 : -1);
                if (i < 2)
                        assert_string_equal(buf, "whsec_abc\n");
                else
                        assert_non_null(strstr(cause, "chmod 600"));
                free(buf);
                free(cause);
        }
        /* The plain reader does not care. */
        {
                char *buf = NULL, *cause = NULL;
                size_t len = 0;

                assert_int_equal(chmod(s->path, 0644), 0);
                assert_int_equal(fileio_read(s->path, 64, &buf, &len, &cause),
                                 0);
                assert_int_equal(len, 10);
                free(buf);
        }
}

UNIT_MAIN({
    cmocka_unit_test_setup_teardown(test_reads_whole_file, setup, teardown),
    cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_private_modes, setup, teardown),
})
