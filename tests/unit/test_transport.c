/*
 * Tests for the transport table (workers/transport.h): an entry for every
 * channel type, each HTTP flavour with its backend; classify() by the
 * entry's protocol; prepare() of an HTTP flavour on a real easy handle,
 * and the problems on our side (an unfit secret file, no email group)
 * answered as local retries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support.h"
#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define JOB                                                                \
        "{\"delivery\": \"3f2a9c0d5e\", \"lease\": 17, \"attempt\": 1,"    \
        " \"channel\": \"leaders\", \"type\": \"teams\","                  \
        " \"alert\": {\"trust\": \"Example Learning Trust\", \"case\": 7," \
        " \"school\": {\"urn\": \"100001\", \"name\": \"Oak Primary\"},"   \
        " \"rule\": \"deferral_cutoff\", \"offset\": \"-60m\","            \
        " \"late\": false, \"action\": \"Ask before 16:30.\","             \
        " \"contact\": \"0300 123 4231\","                                 \
        " \"at\": \"2024-03-04T15:30:00+00:00\","                          \
        " \"due\": \"2024-03-04T16:30:00+00:00\","                         \
        " \"due_utc\": \"2024-03-04T16:30:00Z\","                          \
        " \"due_human\": \"Mon 4 Mar 2024 16:30 GMT\","                    \
        " \"opens\": null, \"opens_human\": null, \"warning\": null}}"

static char dir[64];

static int
setup(void **state)
{
        (void)state;
        snprintf(dir, sizeof(dir), "/tmp/test_transport.XXXXXX");
        return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
        (void)state;
        return support_rmtree(dir);
}

/*
 * One channel of `type` in a config, the JOB, a real easy handle, and what
 * the last prepare() said.
 */
struct bench {
        struct conf conf;
        struct channel ch;
        struct wsecrets *s;
        json_t *job;
        CURL *easy;
        struct transport_job j;
        enum outcome fail;
        bool local;
        char *cause;
};

static void
bench_init(struct bench *b, enum channel_type type)
{
        memset(b, 0, sizeof(*b));
        support_one_channel(&b->conf, &b->ch, dir, "leaders", type);
        b->job = json_loads(JOB, 0, NULL);
        assert_non_null(b->job);
        b->easy = curl_easy_init();
        b->j.uid = "3f2a9c0d5e";
        b->fail = OUTCOME_DELIVERED;
}

/* prepare() of the channel's transport with secrets read afresh. */
static int
bench_prepare(struct bench *b)
{
        const struct transport *tp = transport_find(b->ch.type);

        transport_job_clear(&b->j);
        wsecrets_destroy(&b->s);
        free(b->cause);
        b->cause = NULL;
        b->s = wsecrets_new(&b->conf);
        curl_easy_reset(b->easy);
        return tp->prepare(
            tp, b->easy, &b->j,
            &(struct transport_input){ &b->conf, b->s, &b->ch, b->job, "T", "X",
                                       5000, 1709566200, NULL, 0, NULL, NULL },
            &b->fail, &b->local, &b->cause);
}

static void
bench_free(struct bench *b)
{
        transport_job_clear(&b->j);
        assert_null(b->j.headers);
        wsecrets_destroy(&b->s);
        free(b->cause);
        curl_easy_cleanup(b->easy);
        json_decref(b->job);
}

static void
test_every_type(void **state)
{
        (void)state;
        for (int t = 0; t < CHANNEL_NTYPES; t++) {
                const struct transport *tp = transport_find(t);

                assert_non_null(tp);
                assert_int_equal(tp->type, t);
                assert_non_null(tp->prepare);
                assert_non_null(tp->classify);
                if (t == CHANNEL_EMAIL)
                        assert_null(tp->be);
                else
                        assert_ptr_equal(
                            tp->be, backend_find(conf_channel_type_name(t)));
        }
        assert_null(transport_find(CHANNEL_NTYPES));
}

static void
test_classify(void **state)
{
        const struct transport *mail = transport_find(CHANNEL_EMAIL);
        const struct transport *teams = transport_find(CHANNEL_TEAMS);
        struct http_response ok = { 200, "1", 1, -1, NULL };
        struct http_response busy = { 503, NULL, 0, 120, NULL };
        struct transport_job j = { 0 };
        long retry_after = -1;
        bool local = false;
        char *error = NULL;

        (void)state;
        /* SMTP: the reply code decides; a 5xx fails for good. */
        assert_int_equal(mail->classify(mail, &j, CURLE_RECV_ERROR, &ok, 554,
                                        &retry_after, &local, &error),
                         OUTCOME_FAILED);
        assert_int_equal(retry_after, -1);
        assert_non_null(error);
        free(error);
        error = NULL;
        assert_int_equal(mail->classify(mail, &j, CURLE_OK, &ok, 250,
                                        &retry_after, &local, &error),
                         OUTCOME_DELIVERED);
        free(error);
        error = NULL;
        /* HTTP: the response decides, Retry-After kept. */
        assert_int_equal(teams->classify(teams, &j, CURLE_OK, &ok, 200,
                                         &retry_after, &local, &error),
                         OUTCOME_DELIVERED);
        free(error);
        error = NULL;
        assert_int_equal(teams->classify(teams, &j, CURLE_OK, &busy, 503,
                                         &retry_after, &local, &error),
                         OUTCOME_RETRY);
        assert_int_equal(retry_after, 120);
        assert_false(local);
        free(error);
}

static void
test_prepare_http(void **state)
{
        struct bench b;
        char path[128];
        FILE *f;

        (void)state;
        bench_init(&b, CHANNEL_TEAMS);
        b.ch.url = "https://hooks.example/webhook/abc";
        assert_int_equal(bench_prepare(&b), 0);
        assert_null(b.cause);
        assert_string_equal(b.j.req.url, "https://hooks.example/webhook/abc");
        assert_non_null(b.j.headers);
        assert_non_null(b.j.req.body);
        transport_job_clear(&b.j);
        assert_null(b.j.headers);

        /* The URL in a file others may read: our problem, retried. */
        snprintf(path, sizeof(path), "%s/leaders.url", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("https://hooks.example/webhook/abc\n", f);
        fclose(f);
        assert_int_equal(chmod(path, 0644), 0);
        b.ch.url = "";
        b.ch.url_file = "leaders.url";
        assert_int_equal(bench_prepare(&b), -1);
        assert_int_equal(b.fail, OUTCOME_RETRY);
        assert_true(b.local);
        assert_non_null(b.cause);
        assert_non_null(strstr(b.cause, "secret file 'leaders.url'"));
        assert_null(strstr(b.cause, "hooks.example"));
        bench_free(&b);
}

static void
test_prepare_email_without_group(void **state)
{
        struct bench b;

        (void)state;
        bench_init(&b, CHANNEL_EMAIL);
        assert_int_equal(bench_prepare(&b), -1);
        assert_int_equal(b.fail, OUTCOME_RETRY);
        assert_true(b.local);
        assert_string_equal(b.cause, "this worker's config has no email group");
        bench_free(&b);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_type),
                cmocka_unit_test(test_classify),
                cmocka_unit_test_setup_teardown(test_prepare_http, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                    test_prepare_email_without_group, setup, teardown),
        };
        int rc;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return rc;
}
