/*
 * faultfs: an LD_PRELOAD module that makes one file's disk fail on cue,
 * for the resource-fault integration tests (no root, no mount).
 *
 *   LD_PRELOAD=faultfs.so FAULTFS_PREFIX=/abs/state.db FAULTFS_FLAG=/abs/fault
 *
 * While the file FAULTFS_FLAG exists, every write to an open file whose
 * path starts with FAULTFS_PREFIX (so the database, its -wal and its -shm)
 * fails as the kernel would fail it, with the errno the flag file names:
 * "ENOSPC" (a full disk; also when the file is empty), "EDQUOT", "EROFS"
 * (a file system remounted read-only) or "EIO". Remove the flag and the
 * writes go through again. The flag is looked at on every write, so a test
 * may create and remove it while the process runs.
 *
 * The calls it wraps: write, pwrite, pwrite64, writev, pwritev, ftruncate,
 * ftruncate64, fallocate, fallocate64, posix_fallocate, posix_fallocate64
 * (SQLite uses pwrite64, write and ftruncate64). Reads, locks, fsync and
 * everything on other files go to the kernel as usual. The prefix must be
 * the path the kernel reports (/proc/self/fd), i.e. free of symbolic links.
 * Each call looks up the next definition (dlsym) rather than keep it: the
 * module keeps no state.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The errno the flag names, or 0 when no fault is due for `fd`. */
static int
fault_for(int fd)
{
        const char *prefix = getenv("FAULTFS_PREFIX");
        const char *flag = getenv("FAULTFS_FLAG");
        char link[64], path[4096], name[16] = "";
        int saved = errno, err = 0, ffd;
        ssize_t n;

        if (prefix == NULL || flag == NULL || *prefix == '\0')
                goto out;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof(path) - 1);
        if (n < 0)
                goto out;
        path[n] = '\0';
        if (strncmp(path, prefix, strlen(prefix)) != 0)
                goto out;
        ffd = open(flag, O_RDONLY | O_CLOEXEC);
        if (ffd < 0)
                goto out;
        n = read(ffd, name, sizeof(name) - 1);
        close(ffd);
        name[n > 0 ? n : 0] = '\0';
        name[strcspn(name, " \t\r\n")] = '\0';
        if (strcmp(name, "EROFS") == 0)
                err = EROFS;
        else if (strcmp(name, "EDQUOT") == 0)
                err = EDQUOT;
        else if (strcmp(name, "EIO") == 0)
                err = EIO;
        else
                err = ENOSPC;
out:
        errno = saved;
        return err;
}

/* The next definition of `name` (libc's, or a sanitizer's wrapper). */
static void *
next(const char *name)
{
        void *f = dlsym(RTLD_NEXT, name);

        if (f == NULL)
                abort();
        return f;
}

#define FAIL_IF_DUE(fd)                 \
        do {                            \
                int e_ = fault_for(fd); \
                if (e_ != 0) {          \
                        errno = e_;     \
                        return -1;      \
                }                       \
        } while (0)

ssize_t
write(int fd, const void *buf, size_t len)
{
        ssize_t (*real)(int, const void *, size_t) = next("write");

        FAIL_IF_DUE(fd);
        return real(fd, buf, len);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
        ssize_t (*real)(int, const void *, size_t, off_t) = next("pwrite");

        FAIL_IF_DUE(fd);
        return real(fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
        ssize_t (*real)(int, const void *, size_t, off64_t) = next("pwrite64");

        FAIL_IF_DUE(fd);
        return real(fd, buf, len, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
        ssize_t (*real)(int, const struct iovec *, int) = next("writev");

        FAIL_IF_DUE(fd);
        return real(fd, iov, n);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
        ssize_t (*real)(int, const struct iovec *, int, off_t) =
            next("pwritev");

        FAIL_IF_DUE(fd);
        return real(fd, iov, n, off);
}

int
ftruncate(int fd, off_t len)
{
        int (*real)(int, off_t) = next("ftruncate");

        FAIL_IF_DUE(fd);
        return real(fd, len);
}

int
ftruncate64(int fd, off64_t len)
{
        int (*real)(int, off64_t) = next("ftruncate64");

        FAIL_IF_DUE(fd);
        return real(fd, len);
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
        int (*real)(int, int, off_t, off_t) = next("fallocate");

        FAIL_IF_DUE(fd);
        return real(fd, mode, off, len);
}

int
fallocate64(int fd, int mode, off64_t off, off64_t len)
{
        int (*real)(int, int, off64_t, off64_t) = next("fallocate64");

        FAIL_IF_DUE(fd);
        return real(fd, mode, off, len);
}

/* posix_fallocate returns the error rather than setting errno. */
int
posix_fallocate(int fd, off_t off, off_t len)
{
        int (*real)(int, off_t, off_t) = next("posix_fallocate");
        int e = fault_for(fd);

        if (e != 0)
                return e;
        return real(fd, off, len);
}

int
posix_fallocate64(int fd, off64_t off, off64_t len)
{
        int (*real)(int, off64_t, off64_t) = next("posix_fallocate64");
        int e = fault_for(fd);

        if (e != 0)
                return e;
        return real(fd, off, len);
}
