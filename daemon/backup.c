/* backup: copies of the state database, their rotation, and a restore. */
#include "backup.h"

#include "fileio.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* `now` as YYYYMMDDTHHMMSSZ. */
static void
stamp(int64_t now, char *buf, size_t len)
{
        time_t t = (time_t)now;
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}

static int
by_name(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Removes the oldest copies in `dir` (by name: the stamp sorts by time)
 * beyond the newest `keep`. How many went.
 */
static int
rotate(const char *dir, int keep)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char **names = NULL, *path;
        size_t n = 0, cap = 0, plen = strlen(BACKUP_PREFIX),
               slen = strlen(BACKUP_SUFFIX);
        int removed = 0;

        if (d == NULL)
                return 0;
        while ((e = readdir(d)) != NULL) {
                size_t len = strlen(e->d_name);

                if (len <= plen + slen ||
                    strncmp(e->d_name, BACKUP_PREFIX, plen) != 0 ||
                    strcmp(e->d_name + len - slen, BACKUP_SUFFIX) != 0)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 32;
                        names = xreallocarray(names, cap, sizeof(*names));
                }
                names[n++] = xstrdup(e->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(*names), by_name);
        for (size_t i = 0; i < n; i++) {
                if (n - i > (size_t)keep) {
                        xasprintf(&path, "%s/%s", dir, names[i]);
                        if (unlink(path) == 0)
                                removed++;
                        free(path);
                }
                free(names[i]);
        }
        free(names);
        return removed;
}

int
backup_make(struct store *st, const char *state_path, const char *file,
            int keep, int64_t now, char **made, int *removed, char **cause)
{
        char *dir = NULL, *path = NULL, ts[32];
        int rc = -1;

        *made = NULL;
        *removed = 0;
        if (file != NULL) {
                if (file[0] != '/') {
                        xasprintf(cause,
                                  "backup file '%s' is not an absolute "
                                  "path",
                                  file);
                        return -1;
                }
                path = xstrdup(file);
        } else {
                char *state_dir = fileio_dir_of(state_path);

                xasprintf(&dir, "%s/%s", state_dir, BACKUP_DIR);
                free(state_dir);
                if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                        xasprintf(cause, "%s: %s", dir, strerror(errno));
                        goto out;
                }
                stamp(now, ts, sizeof(ts));
                xasprintf(&path, "%s/%s%s%s", dir, BACKUP_PREFIX, ts,
                          BACKUP_SUFFIX);
        }
        if (store_backup(st, path, cause) < 0)
                goto out;
        if (dir != NULL)
                *removed = rotate(dir, keep);
        *made = path;
        path = NULL;
        rc = 0;
out:
        free(dir);
        free(path);
        return rc;
}

/* Copies `from` to the new file `to` (mode 0600), synced. */
static int
copy_file(const char *from, const char *to, char **cause)
{
        char buf[65536];
        int in = -1, out = -1, rc = -1;
        ssize_t n;

        in = open(from, O_RDONLY | O_CLOEXEC);
        if (in < 0) {
                xasprintf(cause, "%s: %s", from, strerror(errno));
                goto out;
        }
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, STORE_MODE);
        if (out < 0) {
                xasprintf(cause, "%s: %s", to, strerror(errno));
                goto out;
        }
        while ((n = read(in, buf, sizeof(buf))) > 0) {
                if (write(out, buf, (size_t)n) != n) {
                        xasprintf(cause, "%s: %s", to,
                                  errno ? strerror(errno) : "short write");
                        goto out;
                }
        }
        if (n < 0) {
                xasprintf(cause, "%s: %s", from, strerror(errno));
                goto out;
        }
        if (fchmod(out, STORE_MODE) < 0 || fsync(out) < 0) {
                xasprintf(cause, "%s: %s", to, strerror(errno));
                goto out;
        }
        rc = 0;
out:
        if (in >= 0)
                close(in);
        if (out >= 0 && close(out) < 0 && rc == 0) {
                xasprintf(cause, "%s: %s", to, strerror(errno));
                rc = -1;
        }
        if (rc < 0 && out >= 0)
                unlink(to);
        return rc;
}

/* Makes the renames in directory `dir` durable. */
static void
sync_dir(const char *dir)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd >= 0) {
                fsync(fd);
                close(fd);
        }
}

int
backup_restore(const char *state_path, const char *file, int64_t now,
               char **kept, char **cause)
{
        char *tmp = NULL, *old = NULL, *dir = fileio_dir_of(state_path), ts[32];
        struct stat sb;
        bool had = stat(state_path, &sb) == 0;
        int rc = -1;

        *kept = NULL;
        if (store_verify(file, NULL, cause) < 0)
                goto out;
        xasprintf(&tmp, "%s.restoring", state_path);
        unlink(tmp); /* a restore that stopped half-way */
        if (copy_file(file, tmp, cause) < 0 ||
            store_verify(tmp, NULL, cause) < 0)
                goto out;
        if (had) {
                if (store_checkpoint(state_path, cause) < 0)
                        goto out;
                stamp(now, ts, sizeof(ts));
                xasprintf(&old, "%s.before-restore-%s", state_path, ts);
                if (rename(state_path, old) < 0) {
                        xasprintf(cause, "%s: %s", state_path, strerror(errno));
                        goto out;
                }
        }
        /* The old -wal and -shm went with the checkpoint; none may stay
         * to be read as the new file's. */
        for (const char *suffix = "-wal"; suffix != NULL;
             suffix = strcmp(suffix, "-wal") == 0 ? "-shm" : NULL) {
                char *p;

                xasprintf(&p, "%s%s", state_path, suffix);
                unlink(p);
                free(p);
        }
        if (rename(tmp, state_path) < 0) {
                xasprintf(cause, "%s: %s", state_path, strerror(errno));
                if (old != NULL)
                        rename(old, state_path);
                goto out;
        }
        sync_dir(dir);
        *kept = old;
        old = NULL;
        rc = 0;
out:
        if (rc < 0 && tmp != NULL)
                unlink(tmp);
        free(tmp);
        free(old);
        free(dir);
        return rc;
}
