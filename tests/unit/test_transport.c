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
        char cmd[96];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* A config with one channel of `type`, as conf_load() leaves it. */
static void
one_channel(struct conf *conf, struct channel *ch, enum channel_type type)
{
        memset(conf, 0, sizeof(*conf));
        memset(ch, 0, sizeof(*ch));
        ch->name = "leaders";
        ch->type = type;
        ch->url = "";
        ch->url_file = "";
        ch->secret_file = "";
        conf->dir = dir;
        conf->channels = ch;
        conf->nchannels = 1;
        conf->email.password_file = "";
        conf->email.bearer_token_file = "";
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
        const struct transport *tp = transport_find(CHANNEL_TEAMS);
        struct transport_job j = { .uid = "3f2a9c0d5e" };
        struct conf conf;
        struct channel ch;
        struct wsecrets *s;
        json_t *job = json_loads(JOB, 0, NULL);
        CURL *easy = curl_easy_init();
        enum outcome fail = OUTCOME_DELIVERED;
        bool local = false;
        char *cause = NULL, path[128];
        FILE *f;

        (void)state;
        assert_non_null(job);
        one_channel(&conf, &ch, CHANNEL_TEAMS);
        ch.url = "https://hooks.example/webhook/abc";
        s = wsecrets_new(&conf);
        assert_int_equal(
            tp->prepare(tp, easy, &j,
                        &(struct transport_input){ &conf, s, &ch, job, "T", "X",
                                                   5000, 1709566200, NULL, 0 },
                        &fail, &local, &cause),
            0);
        assert_null(cause);
        assert_string_equal(j.req.url, "https://hooks.example/webhook/abc");
        assert_non_null(j.headers);
        assert_non_null(j.req.body);
        transport_job_clear(&j);
        assert_null(j.headers);
        wsecrets_destroy(&s);

        /* The URL in a file others may read: our problem, retried. */
        snprintf(path, sizeof(path), "%s/leaders.url", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("https://hooks.example/webhook/abc\n", f);
        fclose(f);
        assert_int_equal(chmod(path, 0644), 0);
        ch.url = "";
        ch.url_file = "leaders.url";
        s = wsecrets_new(&conf);
        curl_easy_reset(easy);
        assert_int_equal(
            tp->prepare(tp, easy, &j,
                        &(struct transport_input){ &conf, s, &ch, job, "T", "X",
                                                   5000, 1709566200, NULL, 0 },
                        &fail, &local, &cause),
            -1);
        assert_int_equal(fail, OUTCOME_RETRY);
        assert_true(local);
        assert_non_null(cause);
        assert_non_null(strstr(cause, "secret file 'leaders.url'"));
        assert_null(strstr(cause, "hooks.example"));
        free(cause);
        transport_job_clear(&j);
        wsecrets_destroy(&s);
        curl_easy_cleanup(easy);
        json_decref(job);
}

static void
test_prepare_email_without_group(void **state)
{
        const struct transport *tp = transport_find(CHANNEL_EMAIL);
        struct transport_job j = { .uid = "3f2a9c0d5e" };
        struct conf conf;
        struct channel ch;
        struct wsecrets *s;
        json_t *job = json_loads(JOB, 0, NULL);
        CURL *easy = curl_easy_init();
        enum outcome fail = OUTCOME_DELIVERED;
        bool local = false;
        char *cause = NULL;

        (void)state;
        one_channel(&conf, &ch, CHANNEL_EMAIL);
        s = wsecrets_new(&conf);
        assert_int_equal(
            tp->prepare(tp, easy, &j,
                        &(struct transport_input){ &conf, s, &ch, job, "T", "X",
                                                   5000, 1709566200, NULL, 0 },
                        &fail, &local, &cause),
            -1);
        assert_int_equal(fail, OUTCOME_RETRY);
        assert_true(local);
        assert_string_equal(cause, "this worker's config has no email group");
        free(cause);
        transport_job_clear(&j);
        wsecrets_destroy(&s);
        curl_easy_cleanup(easy);
        json_decref(job);
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
