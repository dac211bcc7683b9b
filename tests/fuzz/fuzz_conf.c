/*
 * fuzz_conf: the config loader, conf_load(), on any file.
 *
 * The input is written as the config file into a directory that also holds
 * the shipped bank-holidays.json (so the default `holidays` resolves and the
 * rest of the file is checked), then loaded as check-config and every
 * process load it. Invariants: a load either succeeds with no message or
 * fails with at least one "path:line: message"; a loaded config is
 * internally consistent (schools name existing channels, every template is
 * valid, every school can be found by its URN).
 *
 * Inputs naming files under /dev, /proc or /sys, or climbing out of the
 * scratch directory ("../.."), are skipped: a config may name any file, and
 * reading /dev/zero, /proc/kmsg or a FIFO would test the machine, not the
 * loader.
 */
#include "fuzz.h"

#include "fileio.h"
#include "template.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HOLIDAYS_MAX (1u << 20)

static const char *
conf_path(void)
{
        static char *path;
        char *dir, *src, *dst, *json = NULL, *cause = NULL;
        size_t len;

        if (path != NULL)
                return path;
        xasprintf(&dir, "%s/conf", fuzz_dir());
        if (mkdir(dir, 0700) < 0) {
                perror(dir);
                abort();
        }
        src = fuzz_source("config/bank-holidays.json");
        if (fileio_read(src, HOLIDAYS_MAX, &json, &len, &cause) < 0) {
                fprintf(stderr, "%s\n", cause);
                abort();
        }
        xasprintf(&dst, "%s/bank-holidays.json", dir);
        fuzz_write(dst, json, len);
        xasprintf(&path, "%s/fuzz.conf", dir);
        free(json);
        free(src);
        free(dst);
        free(dir);
        return path;
}

static bool
names_special_file(const char *text)
{
        static const char *const special[] = { "/dev/", "/proc/", "/sys/",
                                               "../..", NULL };

        for (size_t i = 0; special[i] != NULL; i++) {
                if (strstr(text, special[i]) != NULL)
                        return true;
        }
        return false;
}

static void
check_loaded(const struct conf *c)
{
        for (size_t i = 0; i < c->nschools; i++) {
                const struct school *s = &c->schools[i];

                FUZZ_CHECK(conf_school(c, s->urn) == s);
                for (size_t j = 0; j < s->nchannels; j++)
                        FUZZ_CHECK(s->channels[j] < c->nchannels);
        }
        for (size_t i = 0; i < c->nchannels; i++)
                FUZZ_CHECK(conf_channel(c, c->channels[i].name) ==
                           &c->channels[i]);
        for (int t = 0; t < CHANNEL_NTYPES; t++) {
                char *cause = NULL;

                if (c->templates[t].title != NULL)
                        FUZZ_CHECK(
                            template_check(c->templates[t].title, &cause) == 0);
                if (c->templates[t].text != NULL)
                        FUZZ_CHECK(
                            template_check(c->templates[t].text, &cause) == 0);
                free(cause);
        }
        FUZZ_CHECK(c->calendar != NULL && c->tz != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *path = conf_path();
        char *text = fuzz_cstr(data, size);
        struct conf_errors errs;
        struct conf *c;

        if (names_special_file(text)) {
                free(text);
                return -1;
        }
        fuzz_write(path, data, size);
        c = conf_load(path, &errs);
        if (c != NULL) {
                FUZZ_CHECK(errs.n == 0);
                check_loaded(c);
        } else {
                FUZZ_CHECK(errs.n > 0);
        }
        for (size_t i = 0; i < errs.n; i++)
                FUZZ_CHECK(strstr(errs.msgs[i], ": ") != NULL);
        conf_errors_free(&errs);
        conf_destroy(&c);
        free(text);
        return 0;
}
