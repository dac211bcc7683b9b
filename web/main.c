/*
 * ofsted-notify-web: the HTTP API (docs/api.md) in front of the
 * scheduler, which it reaches only through the control protocol. main()
 * reads the config, builds the one context struct, starts the HTTP
 * server (http.c) and waits for a signal to stop.
 */
#include "http.h"
#include "limit.h"
#include "pages.h"
#include "session.h"
#include "web.h"

#include "cclient.h"
#include "conf.h"
#include "fileio.h"
#include "log.h"
#include "os.h"
#include "svc.h"

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define TLS_FILE_MAX (1 << 20)

static int64_t
now_utc(void)
{
        return os_wall_ms() / 1000;
}

static void
usage(void)
{
        fprintf(stderr, "usage: ofsted-notify-web [-v] [-c FILE]\n");
        exit(2);
}

/* A TLS file's PEM text, or exit. The key is a secret: only its owner
 * (and a systemd credential's group ACL) may read it. */
static char *
read_pem(const char *path, bool secret)
{
        char *buf = NULL, *cause = NULL;
        size_t len;
        int rc = secret ? fileio_read_private(path, TLS_FILE_MAX, true, &buf,
                                              &len, &cause)
                        : fileio_read(path, TLS_FILE_MAX, &buf, &len, &cause);

        if (rc < 0) {
                log_err("%s", cause);
                exit(CONF_EXIT);
        }
        return buf;
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "verbose", no_argument, NULL, 'v' },
                { NULL, 0, NULL, 0 },
        };
        const char *path = NULL;
        struct conf_errors errs;
        struct conf *conf;
        struct web w = { 0 };
        struct MHD_Daemon *d;
        struct signalfd_siginfo si;
        char *endpoint, *cert = NULL, *key = NULL, *cause = NULL;
        int ch, verbose = 0, sigfd;
        bool running = true;

        while ((ch = getopt_long(argc, argv, "c:v", opts, NULL)) != -1) {
                if (ch == 'c')
                        path = optarg;
                else if (ch == 'v')
                        verbose = 1;
                else
                        usage();
        }
        if (optind != argc)
                usage();
        log_init("ofsted-notify-web", verbose, getenv("JOURNAL_STREAM"));
        conf = conf_load(conf_default_path(path), &errs);
        for (size_t i = 0; i < errs.n; i++)
                log_err("%s", errs.msgs[i]);
        conf_errors_free(&errs);
        if (conf == NULL)
                exit(CONF_EXIT);
        if (conf->web.tls_cert_file != NULL) {
                cert = read_pem(conf->web.tls_cert_file, false);
                key = read_pem(conf->web.tls_key_file, true);
        }
        /* Blocked before the server's thread starts, which inherits it. */
        sigfd = os_signalfd();
        w.conf = conf;
        w.now = now_utc;
        w.tls = cert != NULL;
        w.secure = w.tls || strncmp(conf->web.base_url, "https://", 8) == 0;
        w.pages = pages_load(conf->web.pages != NULL ? conf->web.pages
                                                     : ONOTIFY_PAGES_DIR,
                             &cause);
        if (w.pages == NULL)
                fatalx("the pages: %s", cause);
        w.sessions = sessions_new(conf->web.session_idle, conf->web.session_max,
                                  conf->web.signin_link_seconds);
        w.limits = limits_new();
        if (w.sessions == NULL || w.limits == NULL)
                fatalx("out of memory");
        endpoint = conf_endpoint_path(conf->daemon.control);
        w.client = cclient_new(endpoint, conf, 0);
        if (w.client == NULL)
                fatalx("ZeroMQ: cannot make a context");
        d = http_start(&w, cert, key, &cause);
        if (d == NULL)
                fatalx("%s", cause);
        log_info("listening on %s://%s (port %d), the scheduler at %s",
                 cert != NULL ? "https" : "http", conf->web.listen,
                 http_port(d), endpoint);
        svc_ready();
        while (running) {
                struct pollfd pfd = { sigfd, POLLIN, 0 };

                if (poll(&pfd, 1, -1) < 0)
                        continue;
                while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
                        if (si.ssi_signo == SIGHUP)
                                log_notice("SIGHUP: the config is read at "
                                           "start only; restart to change "
                                           "it, ignoring");
                        else
                                running = false;
                }
        }
        svc_stopping();
        http_stop(d);
        cclient_destroy(&w.client);
        sessions_destroy(&w.sessions);
        limits_destroy(&w.limits);
        pages_destroy(&w.pages);
        free(endpoint);
        free(cert);
        if (key != NULL)
                explicit_bzero(key, strlen(key));
        free(key);
        close(sigfd);
        conf_destroy(&conf);
        log_info("stopped");
        return 0;
}
