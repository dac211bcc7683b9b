/*
 * bench-seed: fills a state database with pending alerts for the
 * benchmarks, through the daemon's own store module.
 *
 *   bench-seed -c CONF -s STATE --rule NAME --at EPOCH --count N
 *              [--rate R] [--schools K] [--fixed F]
 *
 * One open case (with its notification event) for each of the first K
 * schools in CONF (all of them by default), then N pending alerts of rule NAME,
 * dealt round the cases: all due at EPOCH, or R a second from EPOCH on when
 * --rate is given. With --fixed, school K+1 of CONF gets a case too, with
 * F pending alerts due at EPOCH whatever N is: a school whose share does not
 * grow with N, for timing a read of one school. Each alert's deadline is a
 * week after its time. The rule's signature is the one the daemon computes
 * from CONF, so it sees the alerts as its own and does not re-plan them. Run
 * it while no daemon has the database open.
 */
#include "conf.h"
#include "rules.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMIT_EVERY 20000

struct seed_opts {
        const char *conf;
        const char *state;
        const char *rule;
        long long at;
        long long count;
        long long rate;    /* 0: all at once */
        long long schools; /* 0: all */
        long long fixed;   /* alerts of the school after them; 0: none */
};

static void
usage(void)
{
        fprintf(stderr, "usage: bench-seed -c CONF -s STATE --rule NAME --at "
                        "EPOCH --count N [--rate R] [--schools K] "
                        "[--fixed F]\n");
        exit(2);
}

static long long
number(const char *name, const char *text, long long min)
{
        char *end;
        long long v = strtoll(text, &end, 10);

        if (*text == '\0' || *end != '\0' || v < min) {
                fprintf(stderr,
                        "bench-seed: %s: '%s' is not a number >= %lld\n", name,
                        text, min);
                exit(2);
        }
        return v;
}

static void
parse(int argc, char **argv, struct seed_opts *o)
{
        static const struct option longs[] = {
                { "rule", required_argument, NULL, 'r' },
                { "at", required_argument, NULL, 'a' },
                { "count", required_argument, NULL, 'n' },
                { "rate", required_argument, NULL, 'R' },
                { "schools", required_argument, NULL, 'S' },
                { "fixed", required_argument, NULL, 'F' },
                { NULL, 0, NULL, 0 },
        };
        int ch;

        while ((ch = getopt_long(argc, argv, "c:s:", longs, NULL)) != -1) {
                switch (ch) {
                case 'c':
                        o->conf = optarg;
                        break;
                case 's':
                        o->state = optarg;
                        break;
                case 'r':
                        o->rule = optarg;
                        break;
                case 'a':
                        o->at = number("--at", optarg, 1);
                        break;
                case 'n':
                        o->count = number("--count", optarg, 0);
                        break;
                case 'R':
                        o->rate = number("--rate", optarg, 1);
                        break;
                case 'S':
                        o->schools = number("--schools", optarg, 1);
                        break;
                case 'F':
                        o->fixed = number("--fixed", optarg, 1);
                        break;
                default:
                        usage();
                }
        }
        if (optind != argc || o->conf == NULL || o->state == NULL ||
            o->rule == NULL || o->at == 0)
                usage();
}

/* Opens a case for each of the first n schools; fills ids[], events[]. */
static int
open_cases(struct store *st, const struct conf *conf, size_t n, int64_t at,
           int64_t *ids, int64_t *events, char **cause)
{
        for (size_t i = 0; i < n; i++) {
                const char *urn = conf->schools[i].urn;

                ids[i] = store_case_open(st, urn, NULL, NULL, at, cause);
                if (ids[i] < 0)
                        return -1;
                events[i] = store_event_add(st, ids[i], "notification", at, at,
                                            NULL, NULL, NULL, cause);
                if (events[i] < 0)
                        return -1;
        }
        return 0;
}

/* Adds one pending alert of `rule` for school k, due at `at`. */
static int
add_alert(struct store *st, const struct conf *conf, const struct rule *rule,
          const char *sig, const int64_t *ids, const int64_t *events, size_t k,
          int64_t at, char **cause)
{
        struct store_alert a = { 0 };

        a.case_id = ids[k];
        a.event_id = events[k];
        snprintf(a.urn, sizeof(a.urn), "%s", conf->schools[k].urn);
        snprintf(a.rule, sizeof(a.rule), "%s", rule->name);
        snprintf(a.offset, sizeof(a.offset), "event");
        a.at = at;
        a.due = a.at + 7 * 86400;
        return store_alert_add(st, &a, sig, NULL, cause) < 0 ? -1 : 0;
}

/* How many schools the alerts are dealt round. */
static size_t
dealt_schools(const struct conf *conf, const struct seed_opts *o)
{
        return o->schools > 0 && (size_t)o->schools < conf->nschools
                   ? (size_t)o->schools
                   : conf->nschools;
}

static int
seed(struct store *st, const struct conf *conf, const struct rule *rule,
     const struct seed_opts *o, char **cause)
{
        size_t nschools = dealt_schools(conf, o);
        size_t ncases = nschools + (o->fixed > 0 ? 1 : 0);
        int64_t *ids = calloc(ncases, sizeof(*ids));
        int64_t *events = calloc(ncases, sizeof(*events));
        struct rules_env env;
        char *sig;
        int rc = -1;

        /* One signature for every school: right for a rule on the trust's
         * calendar, which the bench's rules are. */
        conf_rules_env(conf, NULL, &env);
        sig = rules_signature(rule, &env);

        if (ids == NULL || events == NULL || store_begin(st, cause) < 0)
                goto out;
        if (open_cases(st, conf, ncases, o->at - 60, ids, events, cause) < 0)
                goto rollback;
        for (long long i = 0; i < o->count; i++) {
                int64_t at = o->at + (o->rate > 0 ? i / o->rate : 0);

                if (add_alert(st, conf, rule, sig, ids, events,
                              (size_t)i % nschools, at, cause) < 0)
                        goto rollback;
                if ((i + 1) % COMMIT_EVERY == 0 &&
                    (store_commit(st, cause) < 0 || store_begin(st, cause) < 0))
                        goto rollback;
        }
        for (long long i = 0; i < o->fixed; i++) {
                if (add_alert(st, conf, rule, sig, ids, events, nschools, o->at,
                              cause) < 0)
                        goto rollback;
        }
        if (store_commit(st, cause) < 0)
                goto rollback;
        rc = 0;
        goto out;
rollback:
        store_rollback(st);
out:
        free(sig);
        free(events);
        free(ids);
        return rc;
}

int
main(int argc, char **argv)
{
        struct seed_opts o = { 0 };
        struct conf_errors errs = { 0 };
        struct conf *conf;
        struct store *st;
        const struct rule *rule;
        char *cause = NULL;
        int rc = 1;

        parse(argc, argv, &o);
        conf = conf_load(o.conf, &errs);
        if (conf == NULL) {
                for (size_t i = 0; i < errs.n; i++)
                        fprintf(stderr, "%s\n", errs.msgs[i]);
                conf_errors_free(&errs);
                return CONF_EXIT;
        }
        rule = conf_rule(conf, o.rule);
        if (rule == NULL || conf->nschools == 0) {
                fprintf(stderr, "bench-seed: %s: no rule '%s', or no schools\n",
                        o.conf, o.rule);
                goto out;
        }
        if (o.fixed > 0 && dealt_schools(conf, &o) >= conf->nschools) {
                fprintf(stderr,
                        "bench-seed: %s: --fixed needs a school after the "
                        "first %zu, and there are %zu\n",
                        o.conf, dealt_schools(conf, &o), conf->nschools);
                goto out;
        }
        st = store_open(o.state, &cause);
        if (st == NULL)
                goto out;
        if (seed(st, conf, rule, &o, &cause) == 0)
                rc = 0;
        store_close(&st);
out:
        if (cause != NULL)
                fprintf(stderr, "bench-seed: %s: %s\n", o.state, cause);
        free(cause);
        conf_destroy(&conf);
        return rc;
}
