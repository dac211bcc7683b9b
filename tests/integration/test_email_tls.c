/*
 * Email end to end (email.h): STARTTLS, implicit TLS, a relay without STARTTLS,
 * a reload changing TLS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "email.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Polls history until a delivery other than `skip` has a last_error;
 * returns it (new reference). Fails after WAIT_MS.
 */
static json_t *
wait_error(struct fx *f, const char *skip)
{
        long long until = mono_ms() + WAIT_MS;

        for (;;) {
                json_t *h = cluster_ctl_json(&f->c, "history", "--json", NULL),
                       *d;
                size_t i;

                json_array_foreach(jarr(h, "deliveries"), i, d)
                {
                        if (strcmp(jstr(d, "id"), skip) != 0 &&
                            json_is_string(member(d, "last_error"))) {
                                json_incref(d);
                                json_decref(h);
                                return d;
                        }
                }
                json_decref(h);
                if (mono_ms() > until)
                        fail_msg("no delivery but %s has an error after %d ms",
                                 skip, WAIT_MS);
                sleep_ms(200);
        }
}

/*
 * Starts as `o` says and records a drill, which must be delivered as the
 * one message in the spool, over TLS. Returns the delivery (new
 * reference).
 */
static json_t *
delivered_over_tls(struct fx *f, const struct opts *o)
{
        json_t *d, *rec;
        time_t at;
        json_int_t id;

        start_all(f, o);
        d = drill(f, "delivered", &at, &id);
        assert_int_equal(spool_count(f), 1);
        rec = spool_record(f, 1);
        assert_true(json_is_true(member(rec, "tls")));
        assert_contains(jstr(rec, "tls_version"), "TLS");
        json_decref(rec);
        return d;
}

/* Rewrites the config as `o` says, reloads the worker and records another
 * drill now. */
static void
reload_and_drill(struct fx *f, const struct opts *o)
{
        char at[32];

        write_conf(f, o);
        cluster_worker_reload(&f->c, 0, WAIT_MS);
        utc_text(time(NULL), at);
        json_decref(cluster_ctl_json(&f->c, "event", "drill", "--school", URN,
                                     "--at", at, "--json", NULL));
}

/*
 * tls = "starttls": delivered over TLS, verified against ca_file. Without
 * ca_file (the system's CAs, which do not know the test CA) the relay's
 * certificate is refused: the delivery waits to be retried, nothing is
 * sent, least of all in clear text.
 */
static void
test_starttls(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "starttls", .sink_tls = true };
        json_t *d = delivered_over_tls(f, &o), *e;

        o.no_ca = true;
        reload_and_drill(f, &o);
        e = wait_error(f, jstr(d, "id"));
        assert_string_not_equal(jstr(e, "status"), "delivered");
        assert_string_not_equal(jstr(e, "status"), "failed");
        assert_contains(jstr(e, "last_error"), "certificate");
        assert_int_equal(spool_count(f), 1);
        json_decref(e);
        json_decref(d);
        cluster_pass(&f->c);
}

/*
 * A reload from tls = "none" to "starttls" (SIGHUP to the worker): the
 * next message goes over TLS, not over the clear-text connection the
 * worker still holds open to the same relay from before.
 */
static void
test_reload_tls(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .sink_tls = true };
        json_t *d, *rec;
        time_t t;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &t, &id);
        rec = spool_record(f, 1);
        assert_true(json_is_false(member(rec, "tls")));
        json_decref(rec);

        o.tls = "starttls";
        reload_and_drill(f, &o);
        cluster_wait_settled(&f->c, 2, 0, WAIT_MS);
        assert_int_equal(spool_count(f), 2);
        rec = spool_record(f, 2);
        if (!json_is_true(member(rec, "tls")))
                fail_msg("after the reload to tls = \"starttls\" the message "
                         "went in clear text");
        json_decref(rec);
        json_decref(d);
        cluster_pass(&f->c);
}

/* tls = "implicit": TLS from the first byte (smtps), verified. */
static void
test_implicit_tls(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "implicit",
                          .sink_tls = true,
                          .sink_args = { "--implicit-tls" } };
        json_decref(delivered_over_tls(f, &o));
        cluster_pass(&f->c);
}

/*
 * A relay that does not offer STARTTLS (though it has a certificate):
 * never a fallback to clear text; failed for good at the first attempt,
 * saying why, and nothing reaches the spool.
 */
static void
test_no_starttls(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "starttls",
                          .sink_tls = true,
                          .sink_args = { "--no-starttls" } };
        json_t *d;

        start_all(f, &o);
        d = drill_failed_at_once(f, "STARTTLS");
        json_decref(d);
        cluster_pass(&f->c);
}

CLUSTER_MAIN_GROUP(group_setup, group_teardown,
                   {
                       CLUSTER_TEST(test_starttls),
                       CLUSTER_TEST(test_reload_tls),
                       CLUSTER_TEST(test_implicit_tls),
                       CLUSTER_TEST(test_no_starttls),
                   })
