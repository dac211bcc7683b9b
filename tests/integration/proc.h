/*
 * proc: run a program to completion and capture what it printed, for
 * integration tests that drive the real binaries.
 */
#ifndef ONOTIFY_TEST_PROC_H
#define ONOTIFY_TEST_PROC_H

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

#endif
