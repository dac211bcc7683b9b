#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static char **
merged_env(char *const extra[])
{
        size_t n = 0, k = 0;
        char **env;

        while (environ[n] != NULL)
                n++;
        while (extra != NULL && extra[k] != NULL)
                k++;
        env = calloc(n + k + 1, sizeof(*env));
        if (env == NULL)
                abort();
        if (k > 0)
                memcpy(env, extra, k * sizeof(*env));
        memcpy(env + k, environ, n * sizeof(*env));
        return env;
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
