/*
 * proc: run a program to completion and capture what it printed, or start
 * one in the background (a daemon) and stop it, for integration tests that
 * drive the real binaries. Also a receiver for sd_notify(3) datagrams, so a
 * test can wait for the daemon to say READY=1 instead of sleeping.
 *
 * Environment entries passed as `env` are "K=V" to set K, or a bare "K" to
 * remove K from the environment the child inherits from ours.
 */
#ifndef ONOTIFY_TEST_PROC_H
#define ONOTIFY_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc_result {
        int status; /* exit status, or 128 + signal */
        char *out;  /* stdout, NUL-terminated; caller frees */
        char *err;  /* stderr, NUL-terminated; caller frees */
};

/*
 * Runs argv[0] (a path) with argv, extra environment entries "K=V" (NULL
 * terminated, may be NULL) added to ours. Returns -1 if it could not start.
 */
int proc_run(char *const argv[], char *const env[], struct proc_result *r);
void proc_result_free(struct proc_result *r);

/*
 * Starts argv[0] (a path) in the background with `env` as for proc_run,
 * stdin from /dev/null, stdout and stderr appended to the file `log`.
 * Returns 0 and *pid, or -1 if it could not start.
 */
int proc_start(char *const argv[], char *const env[], const char *log,
               pid_t *pid);
/*
 * Waits at most timeout_ms for child `pid` to exit and reaps it: 0 and
 * *status (exit status, or 128 + signal), -1 when it is still running.
 */
int proc_wait(pid_t pid, int timeout_ms, int *status);
/*
 * Sends `sig` to child `pid` and reaps it; after 10 s without an exit it
 * is killed. Returns its exit status (128 + signal when a signal ended it),
 * or -1 when it could not be reaped.
 */
int proc_stop(pid_t pid, int sig);
/* Whether child `pid` is still running (it is not reaped). */
int proc_alive(pid_t pid);

/*
 * A datagram socket bound at `path` (which must not exist) to pass to a
 * daemon as NOTIFY_SOCKET. Returns the descriptor (close-on-exec) or -1.
 */
int proc_notify_open(const char *path);
/* Drops the datagrams already received. */
void proc_notify_drain(int fd);
/*
 * Waits at most timeout_ms for a datagram with a line that starts with
 * `prefix` ("READY=1", "STATUS="), dropping the ones before it. Copies
 * the line to line[len] when line is not NULL. Gives up early when `pid`
 * (if > 0) has exited. Returns 0 when seen, -1 otherwise.
 */
int proc_notify_wait(int fd, const char *prefix, int timeout_ms, pid_t pid,
                     char *line, size_t len);

#endif
