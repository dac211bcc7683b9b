/*
 * Email end to end (email.h): the relay's refusals (DATA 451 and 550, RCPT
 * refused for one or every recipient) and a worker killed mid-DATA.
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

/* 451 to the first DATA, 250 to the next: delivered at attempt 2, once. */
static void
test_data_451(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .script = "data 451,250\n" };
        json_t *d, *rec;
        time_t at;
        json_int_t id;
        char mid[128];

        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        assert_int_equal(jint(d, "attempts"), 2);
        assert_int_equal(spool_count(f), 1);
        rec = spool_record(f, 1);
        message_id(jstr(d, "id"), mid, sizeof(mid));
        assert_string_equal(jstr(rec, "message_id"), mid);
        json_decref(rec);
        json_decref(d);
        cluster_pass(&f->c);
}

/* 550 to DATA: failed for good at the first attempt, in history. */
static void
test_data_550(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .script = "data 550\n" };
        json_t *d;

        start_all(f, &o);
        d = drill_failed_at_once(f, "550");
        json_decref(d);
        cluster_pass(&f->c);
}

/* The warning the worker logs when the relay refuses `rcpt` with 550:
 * smtpsink's reply as its usage says it words it. */
static void
refusal_line(const char *delivery, const char *rcpt, char *out, size_t len)
{
        snprintf(out, len,
                 "delivery %s: the relay refused recipient '%s': 550 5.1.1 "
                 "<%s>: Recipient address rejected\n",
                 delivery, rcpt, rcpt);
}

/*
 * One of the channel's two recipients refused at RCPT with 550 (someone
 * who left): the other still gets the alert, delivered at the first
 * attempt, and the worker's log names the refused address with the
 * relay's reply, at warning level.
 */
static void
test_rcpt_refused_one(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .script = "rcpt " RCPT2 " 550\n" };
        json_t *d, *rec, *rcpts;
        char line[512], mid[128], *log;
        time_t at;
        json_int_t id;

        start_all(f, &o);
        d = drill(f, "delivered", &at, &id);
        assert_int_equal(jint(d, "attempts"), 1);
        assert_int_equal(spool_count(f), 1);
        rec = spool_record(f, 1);
        rcpts = jarr(rec, "rcpt_tos");
        assert_int_equal(json_array_size(rcpts), 1);
        assert_string_equal(json_string_value(json_array_get(rcpts, 0)), RCPT1);
        message_id(jstr(d, "id"), mid, sizeof(mid));
        assert_string_equal(jstr(rec, "message_id"), mid);

        refusal_line(jstr(d, "id"), RCPT2, line, sizeof(line));
        cluster_wait_log(f->c.wlog[0], line, 1, WAIT_MS);
        log = slurp(f->c.wlog[0]);
        assert_null(strstr(log, "refused recipient '" RCPT1 "'"));
        free(log);
        json_decref(rec);
        json_decref(d);
        cluster_pass(&f->c);
}

/*
 * Every recipient refused with 550: failed for good at the first attempt
 * (a 5xx is permanent), nothing stored, each refusal in the log.
 */
static void
test_rcpt_refused_all(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none",
                          .script = "rcpt *@school.example 550\n" };
        json_t *d;
        char line[512];

        start_all(f, &o);
        d = drill_failed_at_once(f, "550");
        refusal_line(jstr(d, "id"), RCPT1, line, sizeof(line));
        cluster_wait_log(f->c.wlog[0], line, 1, WAIT_MS);
        refusal_line(jstr(d, "id"), RCPT2, line, sizeof(line));
        cluster_wait_log(f->c.wlog[0], line, 1, WAIT_MS);
        json_decref(d);
        cluster_pass(&f->c);
}

/*
 * kill -9 of the worker while the relay sits on DATA (it would answer in
 * 8 s): a new worker sends the message again once the daemon gives up on
 * the dead one (silence or lease, 10 s), and it arrives. Should the first
 * DATA have been taken after all, every copy carries the same Message-ID.
 */
static void
test_kill_mid_data(void **state)
{
        struct fx *f = *state;
        struct opts o = { .tls = "none", .script = "hang 8\n" };
        json_t *d, *rec;
        char at[32], mid[128];
        int n;

        start_all(f, &o);
        utc_text(time(NULL), at);
        record(f, "drill", at);
        cluster_wait_log(f->c.smtperr, "DATA: hanging", 1, WAIT_MS);
        assert_int_equal(proc_stop(f->c.worker[0], SIGKILL), 128 + SIGKILL);
        f->c.worker[0] = -1;
        sink_script(f, NULL);
        worker_start(f);

        cluster_wait_settled(&f->c, 1, 0, WAIT_MS);
        d = the_delivery(f);
        assert_string_equal(jstr(d, "status"), "delivered");
        /* Only the relay's answers count as attempts: the killed worker
         * gave none, the new one's 250 is the one. */
        assert_int_equal(jint(d, "attempts"), 1);
        message_id(jstr(d, "id"), mid, sizeof(mid));
        n = spool_count(f);
        if (n < 1 || n > 2)
                fail_msg("%d messages in the spool, want 1 (or 2)", n);
        if (n == 2)
                fprintf(stderr, "# the first DATA was taken after all: "
                                "two copies\n");
        for (int seq = 1; seq <= n; seq++) {
                rec = spool_record(f, seq);
                assert_string_equal(jstr(rec, "message_id"), mid);
                json_decref(rec);
        }
        json_decref(d);
        cluster_pass(&f->c);
}

CLUSTER_MAIN_GROUP(group_setup, group_teardown,
                   {
                       CLUSTER_TEST(test_data_451),
                       CLUSTER_TEST(test_data_550),
                       CLUSTER_TEST(test_rcpt_refused_one),
                       CLUSTER_TEST(test_rcpt_refused_all),
                       CLUSTER_TEST(test_kill_mid_data),
                   })
