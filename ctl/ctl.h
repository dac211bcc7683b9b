/*
 * ofsted-notifyctl: the admin's command line.
 *
 * ctl.c parses the global options and runs one command from a table; each
 * command is a function that gets the remaining arguments and the context
 * built in main. Exit codes: 0 ok, 1 refused or failed, 2 usage, 78 config.
 */
#ifndef ONOTIFY_CTL_H
#define ONOTIFY_CTL_H

#include <stdint.h>

#define CTL_OK     0
#define CTL_FAILED 1
#define CTL_USAGE  2

struct ctl {
        const char *conf_path; /* -c, or NULL for the default */
        int64_t now;           /* the clock, read once in main */
};

struct conf;
struct option;

/*
 * getopt_long() over a command's own options, taking -c/--config (which
 * each command lists as 'c') into ctl. Returns the next other option, '?' or
 * -1, as getopt_long() does.
 */
int ctl_getopt(struct ctl *ctl, int argc, char **argv, const char *shortopts,
               const struct option *longopts);

/* Prints "ofsted-notifyctl CMD: message" and a usage hint; returns 2. */
int ctl_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Loads the config named by ctl (printing every error on stderr). Returns
 * the config, owned by the caller, or NULL: the caller exits CONF_EXIT.
 */
struct conf *ctl_load_conf(const struct ctl *ctl);

int cmd_plan(struct ctl *ctl, int argc, char **argv);
/* rules (rules.c): every rule of the config, in words, JSON or Markdown. */
int cmd_rules(struct ctl *ctl, int argc, char **argv);
/* keygen (keygen.c): a CURVE key pair, or with --webhook a signing secret. */
int cmd_keygen(struct ctl *ctl, int argc, char **argv);

/*
 * The online commands (online.c), which talk to ofsted-notifyd: notify,
 * pause, resume, conclude, defer, cancel, event KIND, list, show, upcoming,
 * ics, history, status, reload, test and watch. One runner for all of them:
 * the command is argv[0], looked up in online.c's table.
 */
int cmd_online(struct ctl *ctl, int argc, char **argv);

#endif
