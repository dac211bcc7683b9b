#include "fuzz.h"

#include "fileio.h"
#include "sched.h"
#include "xalloc.h"

#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest state database the pristine copy may be. */
#define STORE_MAX (4u << 20)

void
fuzz_fail(const char *file, int line, const char *what)
{
        fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
        abort();
}

static void __attribute__((format(printf, 1, 2), noreturn))
setup_fail(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fprintf(stderr, "fuzz setup: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(2);
}

char *
fuzz_cstr(const uint8_t *data, size_t size)
{
        char *s = xmalloc(size + 1);

        if (size > 0)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
        (void)sb;
        (void)flag;
        (void)ftw;
        remove(path);
        return 0;
}

/* The scratch directory, made once; the one piece of state between inputs
 * besides read-only setup. */
static char scratch[256];

static void
remove_scratch(void)
{
        if (scratch[0] != '\0')
                nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_dir(void)
{
        const char *base = getenv("TMPDIR");
        struct stat sb;

        if (scratch[0] != '\0')
                return scratch;
        if (base == NULL || base[0] == '\0')
                base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
                               access("/dev/shm", W_OK) == 0
                           ? "/dev/shm"
                           : "/tmp";
        snprintf(scratch, sizeof(scratch), "%s/onotify-fuzz.XXXXXX", base);
        if (mkdtemp(scratch) == NULL)
                setup_fail("mkdtemp '%s': %s", scratch, strerror(errno));
        atexit(remove_scratch);
        return scratch;
}

char *
fuzz_source(const char *rel)
{
        char *path;

        xasprintf(&path, "%s/%s", SOURCE_DIR, rel);
        return path;
}

void
fuzz_write(const char *path, const void *data, size_t len)
{
        FILE *f = fopen(path, "wb");

        if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) ||
            fclose(f) != 0)
                setup_fail("write '%s': %s", path, strerror(errno));
}

const struct conf *
fuzz_conf(void)
{
        static struct conf *conf;
        struct conf_errors errs;
        char *path;

        if (conf != NULL)
                return conf;
        path = fuzz_source("config/ofsted-notify.conf");
        conf = conf_load(path, &errs);
        if (conf == NULL)
                setup_fail("%s", errs.n > 0 ? errs.msgs[0] : path);
        free(path);
        return conf;
}

static void
no_publish(void *arg, const char *topic, json_t *msg)
{
        (void)arg;
        (void)topic;
        (void)msg;
}

/*
 * The pristine database: school 100001 notified five minutes before
 * FUZZ_NOW, its "event" alert fired (deliveries 1 "heads", email, and 2
 * "leaders", teams), a test delivery 3 to "it" (webhook), delivery 2 leased
 * (lease 1) to the worker "webhook/fuzz/1". The random public ids are
 * replaced by the row id in 32 digits, so inputs can name them.
 */
static void
make_pristine(const char *path)
{
        const struct conf *conf = fuzz_conf();
        struct sched_event ev = { "notification",      "100001", FUZZ_NOW - 300,
                                  "SOL 0300 123 4231", "fuzz",   false,
                                  "unix:fuzz" };
        struct sched_counts counts = { 0, 0, 0 };
        struct store *st = store_open(path, NULL);
        char *cause = NULL;
        sqlite3 *db = NULL;
        json_t *reply;

        if (st == NULL)
                setup_fail("store_open '%s'", path);
        reply = sched_record(st, conf, &ev, FUZZ_NOW - 300);
        if (!json_is_true(json_object_get(reply, "ok")))
                setup_fail("sched_record: %s",
                           json_string_value(json_object_get(reply, "error")));
        json_decref(reply);
        if (sched_fire_due(st, conf, FUZZ_NOW, no_publish, NULL, &counts, 0,
                           0) < 0 ||
            counts.fired != 1)
                setup_fail("sched_fire_due: %d fired", counts.fired);
        if (store_test_delivery(st, "it", "webhook", FUZZ_NOW, &cause) != 3 ||
            store_delivery_lease(st, &(struct store_ready){ .id = 2 },
                                 "webhook/fuzz/1", FUZZ_NOW + 60, FUZZ_NOW,
                                 &cause) != 1)
                setup_fail("deliveries: %s", cause ? cause : "not as planned");
        store_close(&st);
        if (sqlite3_open(path, &db) != SQLITE_OK ||
            sqlite3_exec(db, "UPDATE deliveries SET uid = printf('%032d', id);",
                         NULL, NULL, NULL) != SQLITE_OK)
                setup_fail("uids: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
}

struct store *
fuzz_store(void)
{
        static char *pristine, *work;
        static size_t len;
        char *path, *cause = NULL;
        struct store *st;

        if (pristine == NULL) {
                xasprintf(&path, "%s/pristine.db", fuzz_dir());
                make_pristine(path);
                if (fileio_read(path, STORE_MAX, &pristine, &len, &cause) < 0)
                        setup_fail("%s", cause);
                free(path);
                xasprintf(&work, "%s/state.db", fuzz_dir());
        }
        fuzz_write(work, pristine, len);
        st = store_open(work, &cause);
        if (st == NULL)
                setup_fail("%s", cause);
        return st;
}
