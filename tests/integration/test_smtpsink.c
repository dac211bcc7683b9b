/*
 * smtpsink, the SMTP server the integration tests deliver email to, tested
 * as they use it: started as a child (python3 smtpsink.py), spoken to with
 * libcurl's SMTP client as the email worker does, its spool read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"
#include "itest.h"
#include "proc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 15000
#define SPOOL_TIMEOUT_MS 5000
#define MAIL_TIMEOUT_MS  15000L

/* The test CA and server certificate, made once for the whole run. */
static char certdir[128];
static char ca_pem[160], server_pem[160], server_key[160];

/* One SMTP transaction with libcurl: what to send, then what came back. */
struct mail {
        const char *scheme; /* NULL: "smtp" */
        const char *from;   /* NULL: "alerts@ofsted-notify.test" */
        const char *rcpt[4];
        const char *body;
        curl_usessl use_ssl;
        const char *cainfo; /* NULL: libcurl's default CA store */
        const char *user, *password, *bearer, *login_options;
        int allow_rcpt_fails;
        long timeout_ms;       /* 0: MAIL_TIMEOUT_MS */
        long response_timeout; /* CURLOPT_SERVER_RESPONSE_TIMEOUT; 0: none */

        CURLcode rc;
        long code;   /* the last SMTP reply code */
        double secs; /* how long it took, curl_easy_cleanup included */
        char errbuf[CURL_ERROR_SIZE];
};

static const char BODY[] = "From: Ofsted Notify <alerts@ofsted-notify.test>\r\n"
                           "To: head@school.test\r\n"
                           "Subject: Ofsted deadline in 3 days\r\n"
                           "Message-ID: <20240101.1@ofsted-notify.test>\r\n"
                           "Date: Mon, 01 Jan 2024 09:00:00 +0000\r\n"
                           "\r\n"
                           "The inspection report is due on Thursday.\r\n"
                           ".a line that starts with a dot\r\n"
                           "..and one with two\r\n"
                           "Bye.\r\n";

/*
 * Starts a sink with the extra arguments `args` (NULL terminated, may be
 * NULL) and `script` (NULL: no --script), and waits for its port file.
 */
static void
sink_start(struct itest_sink *s, const char *const *args, const char *script)
{
        char *argv[32];
        int n = 0;

        itest_sink_prepare(s, "test_smtpsink", "spool");
        assert_int_equal(mkdir(s->out, 0700), 0);
        if (script != NULL)
                itest_sink_script(s, script);

        argv[n++] = SMTPSINK_PYTHON;
        argv[n++] = SMTPSINK_SCRIPT;
        argv[n++] = "--port-file";
        argv[n++] = s->portfile;
        argv[n++] = "--spool";
        argv[n++] = s->out;
        if (script != NULL) {
                argv[n++] = "--script";
                argv[n++] = s->script;
        }
        for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
                assert_true(n < 30);
                argv[n++] = (char *)args[i];
        }
        argv[n] = NULL;
        assert_int_equal(proc_start(argv, NULL, s->err, &s->pid), 0);

        itest_sink_wait_port(s, START_TIMEOUT_MS);
}

/* sink_start() with the test CA's server certificate and key, and these
 * more arguments (up to four, NULL-terminated), with no script. */
static void
sink_start_tls(struct itest_sink *s, ...)
{
        const char *args[9] = { "--tls-cert", server_pem, "--tls-key",
                                server_key };
        va_list ap;
        int n = 4;

        va_start(ap, s);
        while ((args[n] = va_arg(ap, const char *)) != NULL)
                assert_true(++n < 9); /* room for the NULL */
        va_end(ap);
        sink_start(s, args, NULL);
}

/* Stops the sink with SIGTERM; it must exit 0. */
static void
sink_stop(struct itest_sink *s)
{
        int status = proc_stop(s->pid, SIGTERM);

        s->pid = 0;
        if (status != 0) {
                char *err = slurp(s->err);

                fail_msg("smtpsink exited %d: %s", status, err);
        }
}

/* The path of spool file <seq>.<ext>. */
static void
spool_path(const struct itest_sink *s, int seq, const char *ext, char *out,
           size_t len)
{
        snprintf(out, len, "%s/%d.%s", s->out, seq, ext);
}

/* Waits at most timeout_ms for <seq>.json; the record, or NULL. */
static json_t *
wait_record(const struct itest_sink *s, int seq, int timeout_ms)
{
        double deadline = mono_s() + timeout_ms / 1000.0;
        char path[200];

        spool_path(s, seq, "json", path, sizeof(path));
        for (;;) {
                json_error_t err;
                json_t *rec;

                if (access(path, F_OK) == 0) {
                        rec = json_load_file(path, 0, &err);
                        if (!json_is_object(rec))
                                fail_msg("%s: not a JSON object: %s", path,
                                         err.text);
                        return rec;
                }
                if (mono_s() > deadline)
                        return NULL;
                usleep(10000);
        }
}

/* How many messages the spool holds (.json files); .tmp files fail. */
static int
spool_count(const struct itest_sink *s)
{
        char path[200];
        int n = 0;

        for (int seq = 1; seq < 100; seq++) {
                spool_path(s, seq, "json", path, sizeof(path));
                if (access(path, F_OK) == 0)
                        n++;
        }
        return n;
}

static void
assert_null_field(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        if (!json_is_null(v))
                fail_msg("'%s' is not null", key);
}

struct reader {
        const char *p;
        size_t left;
};

static size_t
read_body(char *buf, size_t size, size_t n, void *userdata)
{
        struct reader *r = userdata;
        size_t len = size * n < r->left ? size * n : r->left;

        memcpy(buf, r->p, len);
        r->p += len;
        r->left -= len;
        return len;
}

/* Performs the SMTP transaction m against the sink on `port`. */
static void
mail_run(int port, struct mail *m)
{
        struct curl_slist *rcpts = NULL;
        struct reader rd;
        CURL *h = curl_easy_init();
        char url[256];
        double t0 = mono_s();

        assert_non_null(h);
        if (m->body == NULL)
                m->body = BODY;
        rd.p = m->body;
        rd.left = strlen(m->body);
        snprintf(url, sizeof(url), "%s://127.0.0.1:%d",
                 m->scheme != NULL ? m->scheme : "smtp", port);
        for (size_t i = 0; i < 4 && m->rcpt[i] != NULL; i++)
                rcpts = curl_slist_append(rcpts, m->rcpt[i]);
        if (rcpts == NULL)
                rcpts = curl_slist_append(rcpts, "<head@school.test>");
        assert_non_null(rcpts);

        m->errbuf[0] = '\0';
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, m->errbuf);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                         m->timeout_ms > 0 ? m->timeout_ms : MAIL_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_MAIL_FROM,
                         m->from != NULL ? m->from
                                         : "<alerts@ofsted-notify.test>");
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
        if (m->allow_rcpt_fails)
                curl_easy_setopt(h, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(h, CURLOPT_READDATA, &rd);
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)m->use_ssl);
        /* Verification stays on (the default); only the CA changes. */
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (m->cainfo != NULL)
                curl_easy_setopt(h, CURLOPT_CAINFO, m->cainfo);
        if (m->user != NULL)
                curl_easy_setopt(h, CURLOPT_USERNAME, m->user);
        if (m->password != NULL)
                curl_easy_setopt(h, CURLOPT_PASSWORD, m->password);
        if (m->bearer != NULL)
                curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, m->bearer);
        if (m->login_options != NULL)
                curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, m->login_options);
        if (m->response_timeout > 0)
                curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                                 m->response_timeout);

        m->rc = curl_easy_perform(h);
        m->code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &m->code);
        curl_slist_free_all(rcpts);
        curl_easy_cleanup(h);
        m->secs = mono_s() - t0;
}

/* mail_run, asserting it was delivered. */
static void
mail_ok(const struct itest_sink *s, struct mail *m)
{
        mail_run(s->port, m);
        if (m->rc != CURLE_OK)
                fail_msg("send failed: %s (%s), last reply %ld",
                         curl_easy_strerror(m->rc), m->errbuf, m->code);
        assert_int_equal(m->code, 250);
}

/* mail_run, asserting it failed with `rc` after reply `code` (0: any). */
static void
mail_fails(const struct itest_sink *s, struct mail *m, CURLcode rc, long code)
{
        mail_run(s->port, m);
        if (m->rc != rc)
                fail_msg("want %s, got %s (%s), last reply %ld",
                         curl_easy_strerror(rc), curl_easy_strerror(m->rc),
                         m->errbuf, m->code);
        if (code != 0)
                assert_int_equal(m->code, code);
}

/* The record of message `seq`; its .eml must be BODY. */
static json_t *
record_of(const struct itest_sink *s, int seq)
{
        json_t *rec = wait_record(s, seq, SPOOL_TIMEOUT_MS);
        char path[200];
        char *eml;
        struct stat st;

        if (rec == NULL)
                fail_msg("no %d.json in the spool", seq);
        assert_int_equal(json_integer_value(json_object_get(rec, "seq")), seq);
        spool_path(s, seq, "eml", path, sizeof(path));
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, strlen(BODY));
        eml = slurp(path);
        assert_string_equal(eml, BODY);
        free(eml);
        return rec;
}

/* mail_ok(), then record_of() message `seq`, which must have come over
 * TLS or not, as `tls` says. Returns the record (new reference). */
static json_t *
sent_over(const struct itest_sink *s, struct mail *m, int seq, bool tls)
{
        json_t *rec, *v;

        mail_ok(s, m);
        rec = record_of(s, seq);
        v = json_object_get(rec, "tls");
        if (tls ? !json_is_true(v) : !json_is_false(v))
                fail_msg("message %d: want tls %s", seq,
                         tls ? "true" : "false");
        return rec;
}

static int
group_setup(void **state)
{
        char *argv[] = { SMTPSINK_PYTHON, SMTPSINK_SCRIPT, "--make-cert",
                         certdir, NULL };
        struct proc_result r;

        (void)state;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -1;
        if (itest_mkdtemp(certdir, sizeof(certdir), "test_smtpsink_certs") < 0)
                return -1;
        snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", certdir);
        snprintf(server_pem, sizeof(server_pem), "%s/server.pem", certdir);
        snprintf(server_key, sizeof(server_key), "%s/server.key", certdir);
        if (proc_run(argv, NULL, &r) != 0)
                return -1;
        if (r.status != 0)
                fprintf(stderr, "--make-cert failed: %s\n", r.err);
        proc_result_free(&r);
        if (access(ca_pem, R_OK) != 0 || access(server_pem, R_OK) != 0 ||
            access(server_key, R_OK) != 0)
                return -1;
        return 0;
}

static int
group_teardown(void **state)
{
        (void)state;
        itest_rmtree(certdir);
        curl_global_cleanup();
        return 0;
}

/* Plain SMTP: the message is stored as sent, with its envelope. */
static void
test_plain(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { .rcpt = { "<head@school.test>",
                                    "<deputy@school.test>" } };
        json_t *rec, *rcpts;

        sink_start(s, NULL, NULL);
        mail_ok(s, &m);
        rec = record_of(s, 1);
        assert_string_equal(jstr(rec, "mail_from"),
                            "alerts@ofsted-notify.test");
        rcpts = json_object_get(rec, "rcpt_tos");
        assert_int_equal(json_array_size(rcpts), 2);
        assert_string_equal(json_string_value(json_array_get(rcpts, 0)),
                            "head@school.test");
        assert_string_equal(json_string_value(json_array_get(rcpts, 1)),
                            "deputy@school.test");
        assert_true(json_is_false(json_object_get(rec, "tls")));
        assert_null_field(rec, "auth_mechanism");
        assert_null_field(rec, "auth_user");
        assert_string_equal(jstr(rec, "message_id"),
                            "<20240101.1@ofsted-notify.test>");
        json_decref(rec);

        /* A second message gets the next number. */
        mail_ok(s, &m);
        json_decref(record_of(s, 2));
        assert_int_equal(spool_count(s), 2);

        /* STARTTLS required, but none offered without a certificate. */
        m.use_ssl = CURLUSESSL_ALL;
        mail_fails(s, &m, CURLE_USE_SSL_FAILED, 0);
        assert_int_equal(spool_count(s), 2);
        sink_stop(s);
}

/* STARTTLS, verified against the test CA. */
static void
test_starttls(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { .use_ssl = CURLUSESSL_ALL, .cainfo = ca_pem };
        json_t *rec;

        sink_start_tls(s, NULL);
        rec = sent_over(s, &m, 1, true);
        assert_non_null(strstr(jstr(rec, "tls_version"), "TLS"));
        json_decref(rec);

        /* Verification is real: the system CAs do not know the test CA. */
        m.cainfo = NULL;
        mail_fails(s, &m, CURLE_PEER_FAILED_VERIFICATION, 0);
        assert_int_equal(spool_count(s), 1);

        /* Without CURLOPT_USE_SSL the client stays in plain text. */
        m.use_ssl = CURLUSESSL_NONE;
        json_decref(sent_over(s, &m, 2, false));
        sink_stop(s);
}

/* --no-starttls: a client that insists on TLS refuses to go on. */
static void
test_no_starttls(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { .use_ssl = CURLUSESSL_ALL, .cainfo = ca_pem };

        sink_start_tls(s, "--no-starttls", NULL);
        mail_fails(s, &m, CURLE_USE_SSL_FAILED, 0);
        assert_int_equal(spool_count(s), 0);

        /* CURLUSESSL_TRY would quietly send in clear: why ALL is needed. */
        m.use_ssl = CURLUSESSL_TRY;
        json_decref(sent_over(s, &m, 1, false));
        sink_stop(s);
}

/* --require-starttls: MAIL before STARTTLS gets 530. */
static void
test_require_starttls(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { .cainfo = ca_pem };

        sink_start_tls(s, "--require-starttls", NULL);
        mail_fails(s, &m, CURLE_SEND_ERROR, 530);
        assert_int_equal(spool_count(s), 0);

        m.use_ssl = CURLUSESSL_ALL;
        json_decref(sent_over(s, &m, 1, true));
        sink_stop(s);
}

/* --implicit-tls: smtps:// from the first byte. */
static void
test_implicit_tls(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { .scheme = "smtps", .cainfo = ca_pem };

        sink_start_tls(s, "--implicit-tls", NULL);
        json_decref(sent_over(s, &m, 1, true));

        /* Plain text to a TLS port gets nowhere (bounded by the timeout). */
        m.scheme = NULL;
        m.timeout_ms = 2000;
        mail_run(s->port, &m);
        assert_int_not_equal(m.rc, CURLE_OK);
        assert_int_equal(spool_count(s), 1);
        sink_stop(s);
}

/* AUTH PLAIN and LOGIN against --auth-user/--auth-password. */
static void
test_auth_password(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { .use_ssl = CURLUSESSL_ALL, .cainfo = ca_pem };
        json_t *rec;

        sink_start_tls(s, "--auth-user", "alerts", "--auth-password",
                       "s3cret pass", NULL);

        /* No credentials: MAIL is refused. */
        mail_fails(s, &m, CURLE_SEND_ERROR, 530);

        m.user = "alerts";
        m.password = "s3cret pass";
        mail_ok(s, &m);
        rec = record_of(s, 1);
        assert_string_equal(jstr(rec, "auth_mechanism"), "PLAIN");
        assert_string_equal(jstr(rec, "auth_user"), "alerts");
        assert_true(json_is_true(json_object_get(rec, "tls")));
        json_decref(rec);

        m.login_options = "AUTH=LOGIN";
        mail_ok(s, &m);
        rec = record_of(s, 2);
        assert_string_equal(jstr(rec, "auth_mechanism"), "LOGIN");
        assert_string_equal(jstr(rec, "auth_user"), "alerts");
        json_decref(rec);

        m.password = "wrong";
        mail_fails(s, &m, CURLE_LOGIN_DENIED, 535);
        m.login_options = NULL;
        mail_fails(s, &m, CURLE_LOGIN_DENIED, 535);
        m.user = "intruder";
        m.password = "s3cret pass";
        mail_fails(s, &m, CURLE_LOGIN_DENIED, 535);
        assert_int_equal(spool_count(s), 2);
        sink_stop(s);
}

/* XOAUTH2 and OAUTHBEARER against --auth-token (and --auth-user). */
static void
test_auth_token(void **state)
{
        struct itest_sink *s = *state;
        const char *args[] = { "--auth-user", "alerts@school.test",
                               "--auth-token", "ya29.test-token", NULL };
        struct mail m = { .user = "alerts@school.test",
                          .bearer = "ya29.test-token",
                          .login_options = "AUTH=XOAUTH2" };
        json_t *rec;

        sink_start(s, args, NULL);
        mail_ok(s, &m);
        rec = record_of(s, 1);
        assert_string_equal(jstr(rec, "auth_mechanism"), "XOAUTH2");
        assert_string_equal(jstr(rec, "auth_user"), "alerts@school.test");
        json_decref(rec);

        m.bearer = "ya29.expired";
        mail_fails(s, &m, CURLE_LOGIN_DENIED, 0);
        m.bearer = "ya29.test-token";
        m.user = "someone@else.test";
        mail_fails(s, &m, CURLE_LOGIN_DENIED, 0);

        /* libcurl prefers OAUTHBEARER when it is offered. */
        m.user = "alerts@school.test";
        m.login_options = NULL;
        mail_ok(s, &m);
        rec = record_of(s, 2);
        assert_string_equal(jstr(rec, "auth_mechanism"), "OAUTHBEARER");
        assert_string_equal(jstr(rec, "auth_user"), "alerts@school.test");
        json_decref(rec);
        m.bearer = "ya29.expired";
        mail_fails(s, &m, CURLE_LOGIN_DENIED, 535);

        /* No password mechanisms without --auth-password. */
        m.bearer = NULL;
        m.password = "ya29.test-token";
        mail_fails(s, &m, CURLE_LOGIN_DENIED, 0);
        assert_int_equal(spool_count(s), 2);
        sink_stop(s);
}

/* `data 451,250`: a temporary failure, then accepted; `data 550`. */
static void
test_script_data(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { 0 };

        sink_start(s, NULL, "# retry once\ndata 451,250\n");
        mail_fails(s, &m, CURLE_WEIRD_SERVER_REPLY, 451);
        assert_int_equal(spool_count(s), 0);
        mail_ok(s, &m);
        json_decref(record_of(s, 1));
        mail_ok(s, &m); /* the last code repeats */
        json_decref(record_of(s, 2));

        /* Re-read per message; a changed rule counts from the start. */
        itest_sink_script(s, "data 550\n");
        mail_fails(s, &m, CURLE_WEIRD_SERVER_REPLY, 550);
        mail_fails(s, &m, CURLE_WEIRD_SERVER_REPLY, 550);
        itest_sink_script(s, "data 451,451,250\n");
        mail_fails(s, &m, CURLE_WEIRD_SERVER_REPLY, 451);
        mail_fails(s, &m, CURLE_WEIRD_SERVER_REPLY, 451);
        mail_ok(s, &m);
        json_decref(record_of(s, 3));
        itest_sink_script(s, "");
        mail_ok(s, &m);
        json_decref(record_of(s, 4));
        assert_int_equal(spool_count(s), 4);
        sink_stop(s);
}

/* `rcpt ADDR 550`: that recipient is refused, the others are not. */
static void
test_script_rcpt(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { .rcpt = { "<x@y>" } };
        json_t *rec, *rcpts;

        sink_start(s, NULL, "rcpt x@y 550\nrcpt *@full.test 452\n");
        mail_fails(s, &m, CURLE_SEND_ERROR, 550);
        m.rcpt[0] = "<X@Y>";
        mail_fails(s, &m, CURLE_SEND_ERROR, 550);
        m.rcpt[0] = "<head@full.test>";
        mail_fails(s, &m, CURLE_SEND_ERROR, 452);
        assert_int_equal(spool_count(s), 0);

        /* With CURLOPT_MAIL_RCPT_ALLLOWFAILS the good one still gets it. */
        m.rcpt[0] = "<x@y>";
        m.rcpt[1] = "<head@school.test>";
        m.allow_rcpt_fails = 1;
        mail_ok(s, &m);
        rec = record_of(s, 1);
        rcpts = json_object_get(rec, "rcpt_tos");
        assert_int_equal(json_array_size(rcpts), 1);
        assert_string_equal(json_string_value(json_array_get(rcpts, 0)),
                            "head@school.test");
        json_decref(rec);
        sink_stop(s);
}

/* `hang`: the answer to DATA is late; a client that gives up first. */
static void
test_script_hang(void **state)
{
        struct itest_sink *s = *state;
        struct mail m = { 0 };

        sink_start(s, NULL, "hang 1.5\n");
        mail_ok(s, &m);
        assert_true(m.secs >= 1.4);
        json_decref(record_of(s, 1));

        /*
         * The client times out and hangs up during the hang: the sink keeps
         * nothing. libcurl (7.88) sends QUIT after a timeout and waits for
         * its answer, up to CURLOPT_SERVER_RESPONSE_TIMEOUT, before it
         * closes the connection: that is what bounds it.
         */
        itest_sink_script(s, "hang 4\n");
        m.timeout_ms = 1000;
        m.response_timeout = 1;
        mail_fails(s, &m, CURLE_OPERATION_TIMEDOUT, 0);
        assert_true(m.secs < 3.5);
        assert_null(wait_record(s, 2, 4500));
        assert_int_equal(spool_count(s), 1);

        /*
         * Without a response timeout, curl_easy_cleanup waits for the late
         * answer (the 250 to DATA, taken for the answer to QUIT): the
         * transfer "timed out" and the message was delivered all the same.
         */
        itest_sink_script(s, "hang 2\n");
        m.response_timeout = 0;
        mail_fails(s, &m, CURLE_OPERATION_TIMEDOUT, 0);
        assert_true(m.secs >= 1.9);
        json_decref(record_of(s, 2));
        sink_stop(s);
}

/* SIGTERM with a client connected: a clean exit 0, promptly. */
static void
test_sigterm(void **state)
{
        struct itest_sink *s = *state;
        struct sockaddr_in sa = { .sin_family = AF_INET };
        char greeting[512];
        ssize_t n;
        double t0;
        int fd;

        sink_start(s, NULL, NULL);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        sa.sin_port = htons((uint16_t)s->port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        {
                struct timeval tv = { .tv_sec = 10 };

                assert_int_equal(
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                    0);
        }
        n = read(fd, greeting, sizeof(greeting) - 1);
        assert_true(n > 4);
        greeting[n] = '\0';
        assert_memory_equal(greeting, "220 ", 4);

        t0 = mono_s();
        sink_stop(s);
        assert_true(mono_s() - t0 < 5.0);
        /* Its connection was closed too. */
        assert_true(read(fd, greeting, sizeof(greeting)) == 0);
        close(fd);
}

CLUSTER_MAIN_GROUP(group_setup, group_teardown,
                   {
                       SINK_TEST(test_plain),
                       SINK_TEST(test_starttls),
                       SINK_TEST(test_no_starttls),
                       SINK_TEST(test_require_starttls),
                       SINK_TEST(test_implicit_tls),
                       SINK_TEST(test_auth_password),
                       SINK_TEST(test_auth_token),
                       SINK_TEST(test_script_data),
                       SINK_TEST(test_script_rcpt),
                       SINK_TEST(test_script_hang),
                       SINK_TEST(test_sigterm),
                   })
