/*
 * ofsted-notify-worker: delivers what the scheduler dispatches.
 */
#include "conf.h"
#include "log.h"
#include "names.h"
#include "worker.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
        fprintf(
            out,
            "usage: ofsted-notify-worker --kind webhook|email [-v] [-c FILE] "
            "[--credit N] [--timeout SECONDS]\n"
            "  -k, --kind KIND       webhook (chat tools, signed JSON) or "
            "email\n"
            "  -c, --config FILE     configuration (default: $%s, else "
            "%s)\n"
            "      --credit N        transfers at once (default 100; "
            "email: 4 per email.connections)\n"
            "      --timeout SECONDS per transfer (default 30; keep it "
            "below delivery.lease)\n"
            "  -v, --verbose         log debug messages too\n",
            CONF_ENV, CONF_DEFAULT_PATH);
}

/* Option `opt`'s `arg` as a number from min to max (names_number()). */
static int
number(const char *opt, const char *arg, long min, long max, long *out)
{
        long long v;

        if (names_number(arg, min, max, &v) < 0) {
                fprintf(stderr,
                        "ofsted-notify-worker: %s '%s': want a number from "
                        "%ld to %ld\n",
                        opt, arg, min, max);
                return -1;
        }
        *out = (long)v;
        return 0;
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "kind", required_argument, NULL, 'k' },
                { "config", required_argument, NULL, 'c' },
                { "credit", required_argument, NULL, 'C' },
                { "timeout", required_argument, NULL, 'T' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct worker_opts wo = { NULL, NULL, 0,
                                  30000 }; /* credit 0: default */
        struct conf_errors errs;
        struct conf *conf;
        int ch, verbose = 0;
        long v;

        while ((ch = getopt_long(argc, argv, "k:c:vh", opts, NULL)) != -1) {
                switch (ch) {
                case 'k':
                        wo.kind = optarg;
                        break;
                case 'c':
                        wo.conf_path = optarg;
                        break;
                case 'C':
                        if (number("--credit", optarg, 1, 1000, &v) < 0)
                                return 2;
                        wo.credit = (int)v;
                        break;
                case 'T':
                        if (number("--timeout", optarg, 1, 3600, &v) < 0)
                                return 2;
                        wo.timeout_ms = v * 1000;
                        break;
                case 'v':
                        verbose++;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc || wo.kind == NULL) {
                fprintf(stderr, "ofsted-notify-worker: %s\n",
                        optind < argc ? "unexpected argument"
                                      : "--kind is required");
                usage(stderr);
                return 2;
        }
        if (strcmp(wo.kind, "webhook") != 0 && strcmp(wo.kind, "email") != 0) {
                fprintf(stderr,
                        "ofsted-notify-worker: --kind '%s': want webhook or "
                        "email\n",
                        wo.kind);
                return 2;
        }
        log_init("ofsted-notify-worker", verbose, false);
        log_hold(); /* a line per delivery: flushed once per turn of the loop */
        if (sodium_init() < 0)
                fatalx("libsodium cannot start");
        wo.conf_path = conf_default_path(wo.conf_path);
        conf = conf_load(wo.conf_path, &errs);
        for (size_t i = 0; i < errs.n; i++)
                log_err("%s", errs.msgs[i]);
        conf_errors_free(&errs);
        if (conf == NULL)
                return CONF_EXIT;
        /*
         * An email worker's transfers queue in libcurl for one of the relay's
         * email.connections, and the wait counts toward --timeout: with
         * 100 of them over 4 connections to a slow relay, the last ones
         * timed out unsent (the soak saw it). Four for each connection keeps
         * every connection busy without a long queue.
         */
        if (wo.credit == 0)
                wo.credit = strcmp(wo.kind, "email") == 0
                                ? 4 * conf->email.connections
                                : 100;
        if (wo.timeout_ms >= (long)conf->delivery.lease * 1000)
                log_warnx("--timeout is not below delivery.lease (%d s): a "
                          "slow transfer may be sent twice",
                          conf->delivery.lease);
        return worker_run(&wo, conf);
}
