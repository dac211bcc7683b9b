#include "ctl.h"

#include "cert.h"
#include "conf.h"
#include "curve.h"
#include "fileio.h"
#include "log.h"
#include "secret.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct command {
        const char *name;
        int (*run)(struct ctl *, int, char **);
        const char *usage;
};

static int cmd_check_config(struct ctl *ctl, int argc, char **argv);
static int cmd_help(struct ctl *ctl, int argc, char **argv);

static const struct command commands[] = {
        { "plan", cmd_plan,
          "plan --event KIND [--at TIME] [--school URN | --remit REMIT] "
          "[--state STATE] [--new-case] [--json]" },
        { "rules", cmd_rules, "rules [--json | --markdown]" },
        { "check-config", cmd_check_config, "check-config [-c FILE]" },
        { "keygen", cmd_keygen,
          "keygen [--force] NAME | keygen --webhook [--force] FILE" },
        { "notify", cmd_online,
          "notify --school URN [--at TIME] [--contact TEXT] [--note TEXT] "
          "[--new-case]" },
        { "pause", cmd_online,
          "pause --school URN [--at TIME] [--contact TEXT] [--note TEXT]" },
        { "resume", cmd_online,
          "resume --school URN [--at TIME] [--contact TEXT] [--note TEXT]" },
        { "conclude", cmd_online,
          "conclude --school URN [--at TIME] [--contact TEXT] [--note TEXT]" },
        { "defer", cmd_online,
          "defer --school URN [--at TIME] [--contact TEXT] [--note TEXT]" },
        { "cancel", cmd_online,
          "cancel --school URN [--at TIME] [--contact TEXT] [--note TEXT]" },
        { "event", cmd_online,
          "event KIND --school URN [--at TIME] [--contact TEXT] [--note TEXT] "
          "[--new-case]" },
        { "list", cmd_online, "list [--all]" },
        { "show", cmd_online, "show (--case N | --school URN)" },
        { "upcoming", cmd_online, "upcoming [--school URN]" },
        { "ack", cmd_online,
          "ack (--school URN | --case N) --rule RULE [--note TEXT]" },
        { "ics", cmd_online, "ics [--school URN]" },
        { "test", cmd_online, "test CHANNEL" },
        { "history", cmd_online, "history [--school URN] [--limit N]" },
        { "status", cmd_online, "status" },
        { "reload", cmd_online, "reload" },
        { "watch", cmd_online, "watch [--school URN] [--json]" },
        { "backup", cmd_online, "backup [FILE]" },
        { "audit", cmd_online,
          "audit [--since TIME] [--school URN] [--case N] [--limit N]" },
        { "export", cmd_online, "export [--school URN]" },
        { "token", cmd_online,
          "token create NAME --role ROLE [--school URN]... | token list | "
          "token revoke NAME" },
        { "help", cmd_help, "help" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
        fprintf(out, "usage: ofsted-notifyctl [-c FILE] COMMAND [ARGS]\n\n"
                     "commands:\n");
        for (size_t i = 0; i < NCOMMANDS; i++)
                fprintf(out, "  %s\n", commands[i].usage);
        fprintf(out,
                "\noptions, before or after the command:\n"
                "  -c, --config FILE  the configuration file (default: $%s,\n"
                "                     else %s)\n"
                "\nonline commands (notify ... reload) also take:\n"
                "  --json             print the daemon's reply as JSON\n"
                "  --timeout SECONDS  how long to wait for the daemon "
                "(default 10)\n"
                "\nexit status: 0 ok, 1 refused or failed, 2 usage, "
                "78 configuration error\n",
                CONF_ENV, CONF_DEFAULT_PATH);
}

int
ctl_usage_error(const char *cmd, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "ofsted-notifyctl%s%s: ", cmd ? " " : "",
                cmd ? cmd : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'ofsted-notifyctl help'.\n");
        return CTL_USAGE;
}

struct conf *
ctl_load_conf(const struct ctl *ctl)
{
        struct conf_errors errs;
        struct conf *conf = conf_load(conf_default_path(ctl->conf_path), &errs);

        for (size_t i = 0; i < errs.n; i++)
                fprintf(stderr, "%s\n", errs.msgs[i]);
        conf_errors_free(&errs);
        return conf;
}

int
ctl_getopt(struct ctl *ctl, int argc, char **argv, const char *shortopts,
           const struct option *longopts)
{
        int ch;

        while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) == 'c')
                ctl->conf_path = optarg;
        return ch;
}

/* A coverage gap is not an error yet, but it soon will be. */
static void
warn_holidays(const struct ctl *ctl, const struct conf *conf)
{
        int year = gmtime(&(time_t){ (time_t)ctl->now })->tm_year + 1900;

        if (calendar_last_year(conf->calendar) <= year)
                fprintf(stderr,
                        "%s: warning: the bank holiday data in '%s' ends with "
                        "%d; deadlines after that are computed without "
                        "holidays (get a newer file from "
                        "https://www.gov.uk/bank-holidays.json)\n",
                        conf->path, conf->trust.holidays,
                        calendar_last_year(conf->calendar));
}

/*
 * The CURVE key file `name` that the config's `setting` names, checked by
 * the services' own call, curve_key_load(): a pair (`pair`, or a file that
 * holds a secret_key) must be the owner's alone and its secret key must
 * give its public key; any other file must hold a public key. A file this
 * user may not read is only a warning: the services read their keys as
 * their own user, or from $CREDENTIALS_DIRECTORY. Returns 0, or -1 after
 * printing what is wrong.
 */
static int
check_key(const struct conf *conf, const char *setting, const char *name,
          bool pair)
{
        struct curve_key k;
        char *path, *text = NULL, *why = NULL, *cause = NULL;
        size_t len = 0;
        int rc = 0;

        if (name[0] == '\0')
                return 0;
        path = secret_path(conf->dir, name);
        /* This read only tells an unreadable file, and a pair; the verdict
         * is curve_key_load()'s, which reads the file again. */
        if (fileio_read(path, SECRET_MAX, &text, &len, &why) < 0 &&
            errno == EACCES) {
                fprintf(stderr,
                        "%s: warning: %s: check-config cannot read '%s' as "
                        "this user, so did not check it; the services read "
                        "their keys as their own user or from "
                        "$CREDENTIALS_DIRECTORY\n",
                        conf->path, setting, path);
                goto out;
        }
        if (text != NULL && curve_key_has_secret(text))
                pair = true;
        if (curve_key_load(conf->dir, name, pair, &k, &cause) < 0) {
                fprintf(stderr, "%s: %s: %s\n", conf->path, setting, cause);
                rc = -1;
        }
        explicit_bzero(&k, sizeof(k));
out:
        if (text != NULL)
                explicit_bzero(text, len);
        free(text);
        free(why);
        free(cause);
        free(path);
        return rc;
}

/*
 * The key files the config names, as nginx -t loads its certificates.
 * The server key is the scheduler's pair on its own host and its public
 * key elsewhere, so either passes. Every fault is printed; 0 or -1.
 */
static int
check_keys(const struct conf *conf)
{
        int server =
            check_key(conf, "curve.server_key", conf->curve.server_key, false);
        int client =
            check_key(conf, "curve.client_key", conf->curve.client_key, true);

        return server < 0 || client < 0 ? -1 : 0;
}

/*
 * The secret file `name` that the setting at `at` ("path:line") names,
 * judged by the worker's own call, secret_load(): it must exist, be
 * private (secret_check_mode() for this user) and hold a `kind` (one
 * https URL, a whsec_ key that decodes, a non-empty password or token).
 * A file this user may not open is only a warning: the workers read their
 * secrets as their own user, or from $CREDENTIALS_DIRECTORY. Returns 0, or
 * -1 after printing what is wrong.
 */
static int
check_secret(const struct conf *conf, const char *at, const char *name,
             enum secret_kind kind)
{
        char *path, *value = NULL, *cause = NULL;
        int rc = 0;

        if (name[0] == '\0')
                return 0;
        path = secret_path(conf->dir, name);
        if (secret_load(path, secret_is_credential(path), kind, &value, NULL,
                        &cause) == 0)
                goto out;
        if (errno == EACCES) {
                fprintf(stderr,
                        "%s: warning: check-config cannot read secret file "
                        "'%s' ('%s') as this user, so did not check it; the "
                        "workers read it as their own user or from "
                        "$CREDENTIALS_DIRECTORY\n",
                        at, name, path);
                goto out;
        }
        fprintf(stderr, "%s: secret file '%s': %s\n", at, name, cause);
        rc = -1;
out:
        secret_free(value);
        free(cause);
        free(path);
        return rc;
}

/* Every secret file the config names, in the order of the file. */
static int
check_secrets(const struct conf *conf)
{
        int rc = 0;

        if (conf->email.present) {
                rc |= check_secret(conf, conf->email.password_file_at,
                                   conf->email.password_file, SECRET_PASSWORD);
                rc |= check_secret(conf, conf->email.bearer_token_file_at,
                                   conf->email.bearer_token_file, SECRET_TOKEN);
        }
        if (conf->email.present && conf->email.oauth2.provider != OAUTH2_NONE) {
                const struct conf_oauth2 *o = &conf->email.oauth2;

                rc |= check_secret(conf, o->client_secret_file_at,
                                   o->client_secret_file, SECRET_PASSWORD);
                rc |= check_secret(conf, o->private_key_file_at,
                                   o->private_key_file, SECRET_DOCUMENT);
                rc |= check_secret(conf, o->service_account_file_at,
                                   o->service_account_file, SECRET_DOCUMENT);
        }
        rc |= check_secret(conf, conf->daemon.heartbeat_url_file_at,
                           conf->daemon.heartbeat_url_file, SECRET_URL);
        for (size_t i = 0; i < conf->nchannels; i++) {
                const struct channel *ch = &conf->channels[i];

                rc |= check_secret(conf, ch->url_file_at, ch->url_file,
                                   SECRET_URL);
                rc |= check_secret(conf, ch->secret_file_at, ch->secret_file,
                                   SECRET_SIGNING_KEY);
                rc |= check_secret(conf, ch->token_file_at, ch->token_file,
                                   SECRET_TOKEN);
                rc |= check_secret(conf, ch->user_key_file_at,
                                   ch->user_key_file, SECRET_TOKEN);
        }
        return rc < 0 ? -1 : 0;
}

/*
 * Whether private_key_file holds the RSA key of certificate `c`, when
 * this user can read it and it is fit: else check_secret() has said why.
 * Returns 0, or -1 after printing what is wrong.
 */
static int
check_cert_key(const struct conf *conf, const struct cert *c)
{
        const struct conf_oauth2 *o = &conf->email.oauth2;
        char *path, *pem = NULL, *cause = NULL;
        int rc = 0;

        if (o->private_key_file[0] == '\0')
                return 0;
        path = secret_path(conf->dir, o->private_key_file);
        if (secret_load(path, secret_is_credential(path), SECRET_DOCUMENT, &pem,
                        NULL, &cause) == 0 &&
            cert_key_check(c, pem, &cause) < 0) {
                fprintf(stderr, "%s: email.oauth2.private_key_file '%s': %s\n",
                        o->private_key_file_at, o->private_key_file, cause);
                rc = -1;
        }
        secret_free(pem);
        free(cause);
        free(path);
        return rc;
}

/*
 * email.oauth2.certificate_file, as nginx -t loads its certificates: it
 * must hold a PEM certificate that has not ended, whose key is
 * private_key_file's; one that ends within CERT_WARN_DAYS is a warning,
 * so the new one is uploaded in time. A file this user may not read is
 * only a warning, as for check_secret(). Returns 0, or -1 after printing
 * what is wrong.
 */
static int
check_cert(const struct ctl *ctl, const struct conf *conf)
{
        const struct conf_oauth2 *o = &conf->email.oauth2;
        const char *issuer;
        struct cert *c = NULL;
        char *path, *cause = NULL, *words = NULL;
        int rc = 0;

        if (!conf->email.present || o->provider == OAUTH2_NONE ||
            o->certificate_file[0] == '\0')
                return 0;
        issuer =
            o->provider == OAUTH2_MICROSOFT ? "Entra ID" : "the token endpoint";
        path = secret_path(conf->dir, o->certificate_file);
        c = cert_load(path, &cause);
        if (c == NULL && errno == EACCES) {
                fprintf(stderr,
                        "%s: warning: check-config cannot read "
                        "email.oauth2.certificate_file '%s' ('%s') as this "
                        "user, so did not check it; the workers read it as "
                        "their own user or from $CREDENTIALS_DIRECTORY\n",
                        o->certificate_file_at, o->certificate_file, path);
                goto out;
        }
        if (c == NULL) {
                fprintf(stderr, "%s: email.oauth2.certificate_file '%s': %s\n",
                        o->certificate_file_at, o->certificate_file, cause);
                rc = -1;
                goto out;
        }
        words = cert_end_words(conf->tz, cert_not_after(c), ctl->now, issuer);
        if (words != NULL) {
                rc = cert_end(cert_not_after(c), ctl->now, NULL) == CERT_ENDED
                         ? -1
                         : 0;
                fprintf(stderr, "%s: %semail.oauth2.certificate_file '%s' %s\n",
                        o->certificate_file_at,
                        rc < 0 ? "" : "warning: ", o->certificate_file, words);
        }
        if (check_cert_key(conf, c) < 0)
                rc = -1;
out:
        cert_destroy(&c);
        free(words);
        free(cause);
        free(path);
        return rc;
}

/*
 * A password to Microsoft 365's SMTP server: Microsoft is switching SMTP
 * AUTH with a password off (message centre MC786329), after which every
 * email alert would stop. A warning: it still works today.
 */
static void
warn_office365_password(const struct conf *conf)
{
        if (!conf->email.present || conf->email.password_file[0] == '\0' ||
            conf->email.smtp_host == NULL ||
            strcasecmp(conf->email.smtp_host, "smtp.office365.com") != 0)
                return;
        fprintf(stderr,
                "%s: warning: email.password_file: Microsoft 365 stops taking "
                "SMTP AUTH with a password: off by default for existing "
                "tenants from the end of December 2026, gone in 2027 (message "
                "centre MC786329), when every email alert would stop; sign "
                "the worker in with email.oauth2 instead (README: \"Email "
                "through Microsoft 365\")\n",
                conf->email.password_file_at);
}

static int
cmd_check_config(struct ctl *ctl, int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { NULL, 0, NULL, 0 },
        };
        struct conf *conf;
        int rc = CONF_EXIT;

        if (ctl_getopt(ctl, argc, argv, "c:", opts) != -1)
                return ctl_usage_error("check-config", "bad option");
        if (optind < argc)
                return ctl_usage_error(
                    "check-config", "unexpected argument '%s'", argv[optind]);
        conf = ctl_load_conf(ctl);
        if (conf == NULL)
                return CONF_EXIT;
        warn_holidays(ctl, conf);
        warn_office365_password(conf);
        /* All, so every fault is printed in one go. */
        if ((check_keys(conf) | check_secrets(conf) | check_cert(ctl, conf)) ==
            0) {
                printf("configuration OK\n");
                rc = CTL_OK;
                /* Links are made from web.base_url: without it alerts
                 * carry none. */
                if (conf->web.base_url == NULL || conf->web.base_url[0] == '\0')
                        fprintf(stderr,
                                "%s: warning: acknowledgement links are "
                                "off: set web.base_url to put a one-click "
                                "link in every alert\n",
                                conf->path);
        }
        conf_destroy(&conf);
        return rc;
}

static int
cmd_help(struct ctl *ctl, int argc, char **argv)
{
        (void)ctl;
        (void)argc;
        (void)argv;
        usage(stdout);
        return CTL_OK;
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct ctl ctl = { NULL, (int64_t)time(NULL) };
        int ch;

        log_init("ofsted-notifyctl", 0, false);
        /* Global options stop at the command ("+"). */
        while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
                switch (ch) {
                case 'c':
                        ctl.conf_path = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return CTL_OK;
                default:
                        usage(stderr);
                        return CTL_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return CTL_USAGE;
        }
        for (size_t i = 0; i < NCOMMANDS; i++) {
                if (strcmp(argv[optind], commands[i].name) == 0) {
                        char **sub = argv + optind;
                        int subc = argc - optind;

                        /* 0, not 1: GNU getopt then starts afresh, also
                         * dropping the "+" of the global scan, so a
                         * command's options may follow its arguments. */
                        optind = 0;
                        return commands[i].run(&ctl, subc, sub);
                }
        }
        return ctl_usage_error(NULL, "unknown command '%s'", argv[optind]);
}
