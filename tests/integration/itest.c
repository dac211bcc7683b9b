#include "itest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proc.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void
sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

long long
mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
mono_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The wall clock as httpsink logs it: seconds with a fraction. */
double
real_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

json_t *
member(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        if (v == NULL)
                fail_msg("no member '%s'", key);
        return v;
}

json_t *
jparse(const char *text, const char *what)
{
        json_error_t err;
        json_t *doc = json_loads(text, 0, &err);

        if (!json_is_object(doc))
                fail_msg("%s: not a JSON object (%s): %s", what, err.text,
                         text);
        return doc;
}

/* Member `key` of obj, which must be of JSON type `type` (`what` names
 * it for the failure). */
static json_t *
typed(json_t *obj, const char *key, json_type type, const char *what)
{
        json_t *v = member(obj, key);

        if (json_typeof(v) != type)
                fail_msg("'%s' is not %s", key, what);
        return v;
}

const char *
jstr(json_t *obj, const char *key)
{
        return json_string_value(typed(obj, key, JSON_STRING, "a string"));
}

json_int_t
jint(json_t *obj, const char *key)
{
        return json_integer_value(typed(obj, key, JSON_INTEGER, "an integer"));
}

json_t *
jarr(json_t *obj, const char *key)
{
        return typed(obj, key, JSON_ARRAY, "an array");
}

json_t *
jobj(json_t *obj, const char *key)
{
        return typed(obj, key, JSON_OBJECT, "an object");
}

/* Fails unless `s` contains `part`. */
void
assert_contains(const char *s, const char *part)
{
        if (strstr(s, part) == NULL)
                fail_msg("'%s' does not contain '%s'", s, part);
}

/* "2024-03-04T10:15:00Z" */
void
utc_text(time_t t, char buf[32])
{
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* An RFC 3339 time as the daemon writes it ("...+01:00" or "...Z"). */
int64_t
rfc3339(const char *s)
{
        int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, oh = 0, om = 0, n = 0;
        struct tm tm = { 0 };
        int64_t off = 0;
        const char *rest;

        if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h,
                                &mi, &sec, &n) != 6)
                fail_msg("not an RFC 3339 time: '%s'", s ? s : "(null)");
        rest = s + n;
        if (strcmp(rest, "Z") != 0) {
                if (strlen(rest) != 6 || (rest[0] != '+' && rest[0] != '-') ||
                    sscanf(rest + 1, "%2d:%2d", &oh, &om) != 2)
                        fail_msg("bad offset in '%s'", s);
                off = (rest[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        }
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        return (int64_t)timegm(&tm) - off;
}

/* Writes `text` to path.new, gives it *mode (NULL: as created) and renames
 * it over path (readers never see half of it). */
static void
spill_as(const char *path, const char *text, const mode_t *mode)
{
        char tmp[256];
        FILE *fp;

        snprintf(tmp, sizeof(tmp), "%s.new", path);
        fp = fopen(tmp, "w");
        if (fp == NULL)
                fail_msg("cannot write %s: %s", tmp, strerror(errno));
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
        if (mode != NULL)
                assert_int_equal(chmod(tmp, *mode), 0);
        assert_int_equal(rename(tmp, path), 0);
}

void
spill(const char *path, const char *text)
{
        spill_as(path, text, NULL);
}

void
spill_mode(const char *path, const char *text, mode_t mode)
{
        spill_as(path, text, &mode);
}

char *
slurp(const char *path)
{
        FILE *fp = fopen(path, "rb");
        char *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (fp == NULL && errno == ENOENT)
                return strdup("");
        if (fp == NULL)
                fail_msg("cannot read %s: %s", path, strerror(errno));
        do {
                if (cap - len < 4096) {
                        cap = cap == 0 ? 65536 : cap * 2;
                        buf = realloc(buf, cap + 1);
                        assert_non_null(buf);
                }
                n = fread(buf + len, 1, cap - len, fp);
                len += n;
        } while (n > 0);
        fclose(fp);
        buf[len] = '\0';
        return buf;
}

json_t *
jsonl_records(const char *path)
{
        char *text = slurp(path), *p = text, *nl;
        json_t *all = json_array();
        json_error_t err;

        /* A writer may be halfway through the last line: it is not read. */
        while ((nl = strchr(p, '\n')) != NULL) {
                json_t *rec =
                    json_loadb(p, (size_t)(nl - p), JSON_ALLOW_NUL, &err);

                if (!json_is_object(rec))
                        fail_msg("%s: not a JSON object (%s): %.*s", path,
                                 err.text, (int)(nl - p < 200 ? nl - p : 200),
                                 p);
                json_array_append_new(all, rec);
                p = nl + 1;
        }
        free(text);
        return all;
}

void
assert_watchdog_pings(int fd, pid_t pid, int min, int window_ms)
{
        long long until = mono_ms() + window_ms, left;
        int pings = 0;

        while ((left = until - mono_ms()) > 0 &&
               proc_notify_wait(fd, "WATCHDOG=1", (int)left, pid, NULL, 0) == 0)
                pings++;
        if (pings < min)
                fail_msg("%d WATCHDOG=1 in %d ms, want %d", pings, window_ms,
                         min);
}

void
assert_sighup_reload(int fd, pid_t pid, int timeout_ms)
{
        assert_int_equal(kill(pid, SIGHUP), 0);
        if (proc_notify_wait(fd, "RELOADING=1", timeout_ms, pid, NULL, 0) != 0)
                fail_msg("no RELOADING=1 from %d after SIGHUP", (int)pid);
        if (proc_notify_wait(fd, "READY=1", timeout_ms, pid, NULL, 0) != 0)
                fail_msg("no READY=1 from %d after RELOADING=1", (int)pid);
}

struct proc_result
itest_ctl_run(const char *ctl, const char *conf, char *env_state, char *env_run,
              const char *a0, va_list ap)
{
        char *argv[20] = { (char *)ctl, "-c", (char *)conf };
        char *const env[] = { env_state, env_run, "NOTIFY_SOCKET",
                              "JOURNAL_STREAM", NULL };
        struct proc_result r;
        int n = 3;

        for (const char *a = a0; a != NULL && n < 19; a = va_arg(ap, char *))
                argv[n++] = (char *)a;
        argv[n] = NULL;
        assert_int_equal(proc_run(argv, env, &r), 0);
        return r;
}

int
itest_mkdtemp(char *dir, size_t len, const char *name)
{
        const char *tmp = getenv("TMPDIR");

        if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 60)
                tmp = "/tmp";
        snprintf(dir, len, "%s/%s.XXXXXX", tmp, name);
        if (mkdtemp(dir) != NULL)
                return 0;
        dir[0] = '\0';
        return -1;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
        (void)sb;
        (void)flag;
        (void)ftw;
        return remove(path);
}

void
itest_rmtree(const char *dir)
{
        if (dir != NULL && dir[0] != '\0')
                nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void
itest_show_log(const char *path, size_t max)
{
        char *text = slurp(path);
        size_t n = strlen(text);

        fprintf(stderr, "--- %s%s ---\n%s--- end ---\n", path,
                n > max ? " (the end)" : "", n > max ? text + n - max : text);
        free(text);
}

/* Waits up to timeout_ms for the port a sink writes to `portfile`
 * (renamed into place, so whole or absent) while `pid` runs; 0 with
 * *port, or -1. */
static int
wait_port(const char *portfile, pid_t pid, int timeout_ms, int *port)
{
        long long until = mono_ms() + timeout_ms;
        FILE *fp;

        *port = 0;
        while ((fp = fopen(portfile, "r")) == NULL) {
                if (mono_ms() > until || !proc_alive(pid))
                        return -1;
                sleep_ms(20);
        }
        if (fscanf(fp, "%d", port) != 1 || *port <= 0 || *port > 65535)
                *port = 0;
        fclose(fp);
        return *port > 0 ? 0 : -1;
}

int
itest_httpsink_start(const char *binary, const char *portfile, const char *log,
                     const char *script, const char *errlog, pid_t *pid,
                     int *port)
{
        char *argv[] = { (char *)binary, "--port-file", (char *)portfile,
                         "--log",        (char *)log,   "--script",
                         (char *)script, NULL };

        *port = 0;
        if (proc_start(argv, NULL, errlog, pid) < 0)
                return -1;
        return wait_port(portfile, *pid, 20000, port);
}

int
itest_smtpsink_start(const char *python, const char *program,
                     const char *portfile, const char *spool,
                     const char *script, const char *const *args,
                     const char *errlog, pid_t *pid, int *port)
{
        char *argv[24] = { (char *)python,   (char *)program, "--port-file",
                           (char *)portfile, "--spool",       (char *)spool,
                           "--script",       (char *)script };
        int n = 8;

        for (size_t i = 0; args != NULL && args[i] != NULL && n < 23; i++)
                argv[n++] = (char *)args[i];
        argv[n] = NULL;
        *port = 0;
        if (proc_start(argv, NULL, errlog, pid) < 0)
                return -1;
        return wait_port(portfile, *pid, 20000, port);
}

void
itest_sink_prepare(struct itest_sink *s, const char *name, const char *out)
{
        memset(s, 0, sizeof(*s));
        assert_int_equal(itest_mkdtemp(s->dir, sizeof(s->dir), name), 0);
        snprintf(s->portfile, sizeof(s->portfile), "%s/port", s->dir);
        snprintf(s->out, sizeof(s->out), "%s/%s", s->dir, out);
        snprintf(s->script, sizeof(s->script), "%s/script", s->dir);
        snprintf(s->err, sizeof(s->err), "%s/stderr", s->dir);
}

void
itest_sink_script(const struct itest_sink *s, const char *text)
{
        char tmp[200];
        FILE *fp;

        snprintf(tmp, sizeof(tmp), "%s.tmp", s->script);
        fp = fopen(tmp, "w");
        assert_non_null(fp);
        assert_true(fputs(text, fp) >= 0);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(rename(tmp, s->script), 0);
}

void
itest_sink_wait_port(struct itest_sink *s, int timeout_ms)
{
        char *text;
        size_t len;

        if (wait_port(s->portfile, s->pid, timeout_ms, &s->port) < 0)
                fail_msg("the sink did not start: %s", slurp(s->err));
        /* Whole or nothing: it is renamed into place, a line. */
        text = slurp(s->portfile);
        len = strlen(text);
        assert_true(len > 1 && text[len - 1] == '\n');
        free(text);
}

void
itest_sink_cleanup(struct itest_sink *s)
{
        if (s->pid > 0)
                proc_stop(s->pid, SIGKILL);
        s->pid = 0;
        itest_rmtree(s->dir);
        s->dir[0] = '\0';
}

int
itest_sink_setup(void **state)
{
        struct itest_sink *s = calloc(1, sizeof(*s));

        *state = s;
        return s != NULL ? 0 : -1;
}

int
itest_sink_teardown(void **state)
{
        itest_sink_cleanup(*state);
        free(*state);
        return 0;
}
