#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_TIMEOUT_MS 10000
#define DATAGRAM_MAX    4096

extern char **environ;

struct sink {
        int fd;
        char *buf;
        size_t len;
};

static int
drain(struct sink *s)
{
        char chunk[4096];
        ssize_t n = read(s->fd, chunk, sizeof(chunk));

        if (n <= 0)
                return n == 0 || errno != EINTR ? 0 : 1;
        s->buf = realloc(s->buf, s->len + (size_t)n + 1);
        if (s->buf == NULL)
                abort();
        memcpy(s->buf + s->len, chunk, (size_t)n);
        s->len += (size_t)n;
        s->buf[s->len] = '\0';
        return 1;
}

/* Whether environment entry `entry` ("K=V") sets the variable named by
 * `spec` ("K=V" or "K"). */
static int
same_name(const char *entry, const char *spec)
{
        size_t n = strcspn(spec, "=");

        return strncmp(entry, spec, n) == 0 && entry[n] == '=';
}

/*
 * Ours with `extra` applied: its "K=V" entries first (so they win), none
 * of our entries for a name extra mentions, and no bare "K" entries.
 */
static char **
merged_env(char *const extra[])
{
        size_t n = 0, k = 0, out = 0;
        char **env;

        while (environ[n] != NULL)
                n++;
        while (extra != NULL && extra[k] != NULL)
                k++;
        env = calloc(n + k + 1, sizeof(*env));
        if (env == NULL)
                abort();
        for (size_t i = 0; i < k; i++) {
                if (strchr(extra[i], '=') != NULL)
                        env[out++] = extra[i];
        }
        for (size_t i = 0; i < n; i++) {
                int overridden = 0;

                for (size_t j = 0; j < k && !overridden; j++)
                        overridden = same_name(environ[i], extra[j]);
                if (!overridden)
                        env[out++] = environ[i];
        }
        return env;
}

/*
 * libfaketime (a test's stepped clock, a time sweep) keeps a shared
 * memory segment and a semaphore per process, /dev/shm/faketime_shm_PID
 * and sem.faketime_sem_PID, and removes them only at a normal exit: a
 * child that was killed leaves them behind, and a later process given the
 * same pid may then fail to start. Called once `pid`, a child of ours, is
 * reaped: whatever is left under its pid is its own.
 */
static void
drop_clock_leftovers(pid_t pid)
{
        char path[64];

        snprintf(path, sizeof(path), "/dev/shm/faketime_shm_%ld", (long)pid);
        (void)unlink(path);
        snprintf(path, sizeof(path), "/dev/shm/sem.faketime_sem_%ld",
                 (long)pid);
        (void)unlink(path);
}

int
proc_run(char *const argv[], char *const env[], struct proc_result *r)
{
        posix_spawn_file_actions_t fa;
        int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
        struct sink sinks[2];
        char **fullenv = merged_env(env);
        pid_t pid;
        int rc = -1, st;

        memset(r, 0, sizeof(*r));
        if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
                goto out;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
        posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
        st = posix_spawn(&pid, argv[0], &fa, NULL, argv, fullenv);
        posix_spawn_file_actions_destroy(&fa);
        if (st != 0)
                goto out;
        close(outp[1]);
        close(errp[1]);
        outp[1] = errp[1] = -1;

        sinks[0] = (struct sink){ outp[0], calloc(1, 1), 0 };
        sinks[1] = (struct sink){ errp[0], calloc(1, 1), 0 };
        for (int open_fds = 2; open_fds > 0;) {
                struct pollfd pfd[2];
                int n = 0;

                for (int i = 0; i < 2; i++) {
                        if (sinks[i].fd >= 0)
                                pfd[n++] =
                                    (struct pollfd){ sinks[i].fd, POLLIN, 0 };
                }
                if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        if (sinks[i].fd < 0)
                                continue;
                        for (int j = 0; j < n; j++) {
                                if (pfd[j].fd == sinks[i].fd &&
                                    pfd[j].revents != 0 && !drain(&sinks[i])) {
                                        close(sinks[i].fd);
                                        sinks[i].fd = -1;
                                        open_fds--;
                                }
                        }
                }
        }
        outp[0] = errp[0] = -1;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        drop_clock_leftovers(pid);
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        r->out = sinks[0].buf;
        r->err = sinks[1].buf;
        rc = 0;
out:
        for (int i = 0; i < 2; i++) {
                if (outp[i] >= 0)
                        close(outp[i]);
                if (errp[i] >= 0)
                        close(errp[i]);
        }
        free(fullenv);
        return rc;
}

void
proc_result_free(struct proc_result *r)
{
        free(r->out);
        free(r->err);
        r->out = r->err = NULL;
}

int
proc_start(char *const argv[], char *const env[], const char *log, pid_t *pid)
{
        posix_spawn_file_actions_t fa;
        char **fullenv = merged_env(env);
        int st;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, log,
                                         O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        st = posix_spawn(pid, argv[0], &fa, NULL, argv, fullenv);
        posix_spawn_file_actions_destroy(&fa);
        free(fullenv);
        return st == 0 ? 0 : -1;
}

static long long
mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
proc_wait(pid_t pid, int timeout_ms, int *status)
{
        long long deadline = mono_ms() + timeout_ms;
        int st;

        for (;;) {
                pid_t got = waitpid(pid, &st, WNOHANG);

                if (got == pid) {
                        *status = WIFEXITED(st) ? WEXITSTATUS(st)
                                                : 128 + WTERMSIG(st);
                        drop_clock_leftovers(pid);
                        return 0;
                }
                if (got < 0 && errno != EINTR)
                        return -1;
                if (mono_ms() >= deadline)
                        return -1;
                usleep(10000);
        }
}

int
proc_stop(pid_t pid, int sig)
{
        siginfo_t si;
        int status;

        /*
         * Only a child of ours not yet reaped: a pid already waited for
         * may have been reused by another process, such as another test's
         * daemon when ctest runs tests side by side.
         */
        memset(&si, 0, sizeof(si));
        if (pid <= 0 ||
            waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return -1;
        if (si.si_pid == 0 && kill(pid, sig) < 0 && errno != ESRCH)
                return -1;
        if (proc_wait(pid, STOP_TIMEOUT_MS, &status) == 0)
                return status;
        kill(pid, SIGKILL);
        if (proc_wait(pid, STOP_TIMEOUT_MS, &status) == 0)
                return status;
        return -1;
}

int
proc_alive(pid_t pid)
{
        siginfo_t si;

        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return 0;
        return si.si_pid == 0;
}

int
proc_notify_open(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -1;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

void
proc_notify_drain(int fd)
{
        char buf[DATAGRAM_MAX];

        while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
                ;
}

/* Whether one of the lines of `msg` starts with `prefix`; copies it. */
static int
find_line(const char *msg, const char *prefix, char *line, size_t len)
{
        for (const char *p = msg; *p != '\0';) {
                size_t n = strcspn(p, "\n");

                if (strncmp(p, prefix, strlen(prefix)) == 0 &&
                    n >= strlen(prefix)) {
                        if (line != NULL && len > 0)
                                snprintf(line, len, "%.*s", (int)n, p);
                        return 1;
                }
                p += n;
                if (*p == '\n')
                        p++;
        }
        return 0;
}

int
proc_notify_wait(int fd, const char *prefix, int timeout_ms, pid_t pid,
                 char *line, size_t len)
{
        long long deadline = mono_ms() + timeout_ms;
        char buf[DATAGRAM_MAX + 1];

        for (;;) {
                struct pollfd pfd = { fd, POLLIN, 0 };
                long long left = deadline - mono_ms();
                ssize_t n;

                if (left <= 0)
                        return -1;
                /* Short slices, to notice a daemon that died. */
                if (poll(&pfd, 1, left > 100 ? 100 : (int)left) < 0 &&
                    errno != EINTR)
                        return -1;
                while ((n = recv(fd, buf, DATAGRAM_MAX, MSG_DONTWAIT)) >= 0) {
                        buf[n] = '\0';
                        if (find_line(buf, prefix, line, len))
                                return 0;
                }
                if (pid > 0 && !proc_alive(pid))
                        return -1;
        }
}
