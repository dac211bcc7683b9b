/*
 * httpsink, the webhook receiver the integration tests deliver to, tested
 * as they use it: started as a child, spoken to over real HTTP with
 * libcurl, its log read back as JSON Lines, its script changed on the fly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster.h"
#include "itest.h"
#include "proc.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define BODY_MAX         (1024 * 1024)
#define CONCURRENT       200
#define BULK             1000

/* One HTTP exchange: what to send, then what came back. */
struct call {
        const char *method; /* NULL: POST when body is set, else GET */
        const char *path;
        const char *body;
        size_t body_len; /* 0: strlen(body) */
        const char *headers[4];
        long timeout_ms; /* 0: 10 s */

        CURLcode rc;
        long status;
        char *reply;  /* response body, NUL-terminated */
        char *rheads; /* response header lines, NUL-terminated */
        double secs;  /* how long it took */
        size_t rlen, hlen;
};

/* Starts a sink with `script` (NULL: no --script) and waits for its port. */
static void
sink_start(struct itest_sink *s, const char *script)
{
        char *argv[8];
        int n = 0;

        itest_sink_prepare(s, "test_httpsink", "requests.jsonl");
        if (script != NULL)
                itest_sink_script(s, script);

        argv[n++] = HTTPSINK_BINARY;
        argv[n++] = "--port-file";
        argv[n++] = s->portfile;
        argv[n++] = "--log";
        argv[n++] = s->out;
        if (script != NULL) {
                argv[n++] = "--script";
                argv[n++] = s->script;
        }
        argv[n] = NULL;
        assert_int_equal(proc_start(argv, NULL, s->err, &s->pid), 0);

        itest_sink_wait_port(s, START_TIMEOUT_MS);
}

/* Stops the sink with `sig`; returns its exit status. */
static int
sink_stop(struct itest_sink *s, int sig)
{
        int status = proc_stop(s->pid, sig);

        s->pid = 0;
        return status;
}

/* The log's records, in order, as a JSON array; every whole line must
 * parse (the sink may be writing the last one as we read). */
static json_t *
read_log(const struct itest_sink *s)
{
        return jsonl_records(s->out);
}

/* Waits at most timeout_ms for the log to hold n records; how many. */
static size_t
wait_log(const struct itest_sink *s, size_t n, int timeout_ms)
{
        double deadline = mono_s() + timeout_ms / 1000.0;
        size_t have;

        for (;;) {
                json_t *all = read_log(s);

                have = json_array_size(all);
                json_decref(all);
                if (have >= n || mono_s() > deadline)
                        return have;
                usleep(10000);
        }
}

struct buf {
        char **p;
        size_t *len;
};

static size_t
append(char *data, size_t size, size_t n, void *userdata)
{
        struct buf *b = userdata;
        char *p = realloc(*b->p, *b->len + size * n + 1);

        if (p == NULL)
                return 0;
        memcpy(p + *b->len, data, size * n);
        *b->len += size * n;
        p[*b->len] = '\0';
        *b->p = p;
        return size * n;
}

/*
 * Performs c against the sink on `port` with handle h (NULL: a handle of
 * its own, so a connection of its own). Safe to call from any thread: it
 * only records, the caller asserts.
 */
static void
call_run(CURL *h, int port, struct call *c)
{
        struct curl_slist *hl = NULL;
        struct buf rb = { &c->reply, &c->rlen }, hb = { &c->rheads, &c->hlen };
        CURL *own = NULL;
        char url[512];
        double t0 = mono_s();

        c->reply = calloc(1, 1);
        c->rheads = calloc(1, 1);
        c->rlen = c->hlen = 0;
        if (h == NULL)
                h = own = curl_easy_init();
        else
                curl_easy_reset(h);
        if (h == NULL || c->reply == NULL || c->rheads == NULL) {
                c->rc = CURLE_OUT_OF_MEMORY;
                goto out;
        }
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, c->path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                         c->timeout_ms > 0 ? c->timeout_ms : 10000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &rb);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, append);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
        if (c->body != NULL) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)(c->body_len > 0
                                                  ? c->body_len
                                                  : strlen(c->body)));
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
        }
        if (c->method != NULL)
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
        for (size_t i = 0; i < 4 && c->headers[i] != NULL; i++)
                hl = curl_slist_append(hl, c->headers[i]);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        c->rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
out:
        c->secs = mono_s() - t0;
        curl_slist_free_all(hl);
        if (own != NULL)
                curl_easy_cleanup(own);
}

static void
call_free(struct call *c)
{
        free(c->reply);
        free(c->rheads);
        c->reply = c->rheads = NULL;
}

/* One request on a fresh connection; asserts it got an HTTP answer. */
static void
call(const struct itest_sink *s, struct call *c)
{
        call_run(NULL, s->port, c);
        if (c->rc != CURLE_OK)
                fail_msg("%s: %s", c->path, curl_easy_strerror(c->rc));
}

/* The value of response header `name` in c, copied to out[len]; NULL if
 * there is none. */
static const char *
reply_header(const struct call *c, const char *name, char *out, size_t len)
{
        size_t n = strlen(name);

        for (const char *p = c->rheads; *p != '\0';) {
                size_t l = strcspn(p, "\r\n");

                if (l > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
                        const char *v = p + n + 1;

                        v += strspn(v, " ");
                        snprintf(out, len, "%.*s", (int)(l - (size_t)(v - p)),
                                 v);
                        return out;
                }
                p += l;
                p += strspn(p, "\r\n");
        }
        return NULL;
}

/* A request on its own thread, for the tests that need two at once. */
struct async {
        pthread_t thread;
        int port;
        struct call c;
        atomic_int done;
};

static void *
async_main(void *arg)
{
        struct async *a = arg;

        call_run(NULL, a->port, &a->c);
        atomic_store(&a->done, 1);
        return NULL;
}

static void
async_start(struct async *a, const struct itest_sink *s)
{
        a->port = s->port;
        atomic_store(&a->done, 0);
        assert_int_equal(pthread_create(&a->thread, NULL, async_main, a), 0);
}

/* A webhook delivery lands in the log as sent: method, path with query,
 * headers (lower-cased names), body, and the status answered. */
static void
test_post_logged(void **state)
{
        static const char body[] =
            "{\"text\":\"Ofsted: concern window opens Tue 2 Apr 08:00\","
            "\"n\":1,\"accent\":\"\xc3\xa9\"}";
        struct itest_sink *s = *state;
        struct call c = {
                .path = "/services/T0/B0?thread=a%20b&x=1",
                .body = body,
                .headers = { "Content-Type: application/json",
                             "Idempotency-Key: 7f3c-0001",
                             "User-Agent: ofsted-notify-test" },
        };
        json_t *log, *rec, *h;
        double before = real_s();
        char len[32];

        sink_start(s, NULL);
        call(s, &c);
        assert_int_equal(c.status, 200);
        assert_string_equal(c.reply, "ok");

        assert_int_equal(wait_log(s, 1, 5000), 1);
        log = read_log(s);
        rec = json_array_get(log, 0);
        assert_int_equal(jint(rec, "seq"), 1);
        assert_true(json_is_real(json_object_get(rec, "time")));
        assert_true(json_real_value(json_object_get(rec, "time")) >=
                    before - 1);
        assert_true(json_real_value(json_object_get(rec, "time")) <=
                    real_s() + 1);
        assert_string_equal(jstr(rec, "method"), "POST");
        assert_string_equal(jstr(rec, "path"),
                            "/services/T0/B0?thread=a%20b&x=1");
        h = json_object_get(rec, "headers");
        assert_string_equal(jstr(h, "idempotency-key"), "7f3c-0001");
        assert_string_equal(jstr(h, "content-type"), "application/json");
        assert_string_equal(jstr(h, "user-agent"), "ofsted-notify-test");
        snprintf(len, sizeof(len), "%zu", strlen(body));
        assert_string_equal(jstr(h, "content-length"), len);
        assert_null(json_object_get(h, "Idempotency-Key"));
        assert_string_equal(jstr(rec, "body"), body);
        assert_int_equal(jint(rec, "status"), 200);
        json_decref(log);
        call_free(&c);

        /* A GET has an empty body and the next seq. */
        c = (struct call){ .path = "/health" };
        call(s, &c);
        assert_int_equal(c.status, 200);
        assert_int_equal(wait_log(s, 2, 5000), 2);
        log = read_log(s);
        rec = json_array_get(log, 1);
        assert_int_equal(jint(rec, "seq"), 2);
        assert_string_equal(jstr(rec, "method"), "GET");
        assert_string_equal(jstr(rec, "body"), "");
        json_decref(log);
        call_free(&c);

        assert_int_equal(sink_stop(s, SIGTERM), 0);
}

/* Up to 1 MiB is taken whole (curl sends Expect: 100-continue); more is
 * refused with 413. Bytes that are not UTF-8 still make a JSON line. */
static void
test_body_limits(void **state)
{
        struct itest_sink *s = *state;
        char *big = malloc(BODY_MAX + 2);
        struct call c = { .path = "/big" };
        json_t *log;
        const char *logged;

        assert_non_null(big);
        for (size_t i = 0; i < BODY_MAX + 1; i++)
                big[i] = (char)('a' + i % 26);
        big[BODY_MAX + 1] = '\0';
        sink_start(s, NULL);

        c.body = big;
        c.body_len = BODY_MAX;
        call(s, &c);
        assert_int_equal(c.status, 200);
        call_free(&c);

        c = (struct call){ .path = "/big",
                           .body = big,
                           .body_len = BODY_MAX + 1 };
        call(s, &c);
        assert_int_equal(c.status, 413);
        call_free(&c);

        c = (struct call){ .path = "/bin",
                           .body = "a\xff\x00z",
                           .body_len = 4 };
        call(s, &c);
        assert_int_equal(c.status, 200);
        call_free(&c);

        assert_int_equal(wait_log(s, 3, 5000), 3);
        log = read_log(s);
        logged = jstr(json_array_get(log, 0), "body");
        assert_int_equal(strlen(logged), BODY_MAX);
        assert_memory_equal(logged, big, BODY_MAX);
        assert_int_equal(jint(json_array_get(log, 1), "status"), 413);
        assert_int_equal(
            json_string_length(json_object_get(json_array_get(log, 2), "body")),
            6);
        assert_memory_equal(jstr(json_array_get(log, 2), "body"),
                            "a\xef\xbf\xbd\0z", 6);
        json_decref(log);
        free(big);
        assert_int_equal(sink_stop(s, SIGTERM), 0);
}

/* sequence 500,200: a failure, then success for good; other prefixes are
 * counted apart; the first matching line wins. */
static void
test_sequence(void **state)
{
        static const int want[] = { 500, 200, 200 };
        struct itest_sink *s = *state;
        struct call c;
        json_t *log;

        sink_start(s, "# flaky Teams\n"
                      "/teams/special status 202\n"
                      "\n"
                      "/teams sequence 500,200\n"
                      "/discord sequence 503,502,204\n");
        for (size_t i = 0; i < 3; i++) {
                c = (struct call){ .path = "/teams/hook", .body = "{}" };
                call(s, &c);
                assert_int_equal(c.status, want[i]);
                if (want[i] == 200)
                        assert_string_equal(c.reply, "ok");
                else
                        assert_string_equal(c.reply, "Internal Server Error");
                call_free(&c);

                c = (struct call){ .path = "/teams/special" };
                call(s, &c);
                assert_int_equal(c.status, 202);
                call_free(&c);
        }
        for (int i = 0; i < 4; i++) {
                c = (struct call){ .path = "/discord/x", .body = "{}" };
                call(s, &c);
                assert_int_equal(c.status, i == 0 ? 503 : i == 1 ? 502 : 204);
                call_free(&c);
        }
        c = (struct call){ .path = "/other" };
        call(s, &c);
        assert_int_equal(c.status, 200);
        call_free(&c);

        assert_int_equal(wait_log(s, 11, 5000), 11);
        log = read_log(s);
        assert_int_equal(jint(json_array_get(log, 0), "status"), 500);
        assert_int_equal(jint(json_array_get(log, 2), "status"), 200);
        assert_int_equal(jint(json_array_get(log, 6), "status"), 503);
        assert_int_equal(jint(json_array_get(log, 9), "status"), 204);
        json_decref(log);
        assert_int_equal(sink_stop(s, SIGTERM), 0);
}

/* A throttled chat tool: 429 with Retry-After, then 200; extra headers
 * and a body of several words. */
static void
test_retry_after(void **state)
{
        struct itest_sink *s = *state;
        struct call c = { .path = "/services/T1", .body = "{}" };
        char v[64];

        sink_start(s, "/services/ sequence 429,200 header Retry-After 2\n"
                      "/json status 400 header Content-Type "
                      "application/json header X-Slack-Err 1 "
                      "body {\"ok\": false, \"error\": \"invalid_payload\"}\n");
        call(s, &c);
        assert_int_equal(c.status, 429);
        assert_non_null(reply_header(&c, "Retry-After", v, sizeof(v)));
        assert_string_equal(v, "2");
        call_free(&c);

        c = (struct call){ .path = "/services/T1", .body = "{}" };
        call(s, &c);
        assert_int_equal(c.status, 200);
        assert_non_null(reply_header(&c, "Retry-After", v, sizeof(v)));
        call_free(&c);

        c = (struct call){ .path = "/json", .body = "{}" };
        call(s, &c);
        assert_int_equal(c.status, 400);
        assert_string_equal(c.reply,
                            "{\"ok\": false, \"error\": \"invalid_payload\"}");
        assert_non_null(reply_header(&c, "Content-Type", v, sizeof(v)));
        assert_string_equal(v, "application/json");
        assert_non_null(reply_header(&c, "X-Slack-Err", v, sizeof(v)));
        assert_string_equal(v, "1");
        call_free(&c);

        /* Without a header action, plain text. */
        c = (struct call){ .path = "/plain" };
        call(s, &c);
        assert_non_null(reply_header(&c, "Content-Type", v, sizeof(v)));
        assert_string_equal(v, "text/plain");
        assert_null(reply_header(&c, "Retry-After", v, sizeof(v)));
        call_free(&c);
        assert_int_equal(sink_stop(s, SIGTERM), 0);
}

/* The script is read at every request: a test changes it on the fly. */
static void
test_script_on_the_fly(void **state)
{
        struct itest_sink *s = *state;
        struct call c = { .path = "/hook" };

        sink_start(s, "/ status 503\n");
        call(s, &c);
        assert_int_equal(c.status, 503);
        call_free(&c);

        itest_sink_script(s, "# now fine\n/hook delay 50 body accepted\n");
        c = (struct call){ .path = "/hook" };
        call(s, &c);
        assert_int_equal(c.status, 200);
        assert_string_equal(c.reply, "accepted");
        assert_true(c.secs >= 0.045);
        call_free(&c);

        /* A script that goes missing means the defaults... */
        assert_int_equal(unlink(s->script), 0);
        c = (struct call){ .path = "/hook" };
        call(s, &c);
        assert_int_equal(c.status, 200);
        assert_string_equal(c.reply, "ok");
        call_free(&c);

        /* ...and a bad line that matches is a 500 and a line on stderr. */
        itest_sink_script(s, "/good status 201\n/hook status 42\n");
        c = (struct call){ .path = "/hook" };
        call(s, &c);
        assert_int_equal(c.status, 500);
        call_free(&c);
        c = (struct call){ .path = "/good" };
        call(s, &c);
        assert_int_equal(c.status, 201);
        call_free(&c);
        assert_int_equal(sink_stop(s, SIGTERM), 0);
        {
                char *err = slurp(s->err), want[200];

                snprintf(want, sizeof(want), "%s:2: bad 'status 42'",
                         s->script);
                if (strstr(err, want) == NULL)
                        fail_msg("stderr lacks \"%s\": %s", want, err);
                free(err);
        }
}

/* hang 3 against a 1 s client timeout: the client gives up, and another
 * request is answered meanwhile. The hanging one is logged at once. */
static void
test_hang(void **state)
{
        struct itest_sink *s = *state;
        struct async a = {
                .c = { .path = "/slow", .body = "{}", .timeout_ms = 1000 }
        };
        struct call c = { .path = "/fast", .body = "{}" };
        double t0;
        json_t *log;

        sink_start(s, "/slow hang 3\n");
        async_start(&a, s);
        assert_int_equal(wait_log(s, 1, 5000), 1);
        call(s, &c);
        assert_int_equal(c.status, 200);
        assert_true(c.secs < 0.5);
        assert_int_equal(atomic_load(&a.done), 0);
        call_free(&c);

        assert_int_equal(pthread_join(a.thread, NULL), 0);
        assert_int_equal(a.c.rc, CURLE_OPERATION_TIMEDOUT);
        assert_true(a.c.secs >= 0.9 && a.c.secs < 2.5);
        call_free(&a.c);

        log = read_log(s);
        assert_int_equal(json_array_size(log), 2);
        assert_string_equal(jstr(json_array_get(log, 0), "path"), "/slow");
        assert_string_equal(jstr(json_array_get(log, 1), "path"), "/fast");
        json_decref(log);

        /* Its thread still sleeps; stopping does not wait for it. */
        t0 = mono_s();
        assert_int_equal(sink_stop(s, SIGTERM), 0);
        assert_true(mono_s() - t0 < 1.5);
}

/* SIGTERM and SIGINT: exit 0, even with a request hanging; the port is
 * closed afterwards. */
static void
test_signals(void **state)
{
        struct itest_sink *s = *state;
        struct async a = { .c = { .path = "/h", .timeout_ms = 60000 } };
        struct call c = { .path = "/" };
        double t0;
        int port;

        sink_start(s, "/h hang 30\n");
        call(s, &c);
        call_free(&c);
        async_start(&a, s);
        assert_int_equal(wait_log(s, 2, 5000), 2);
        port = s->port;
        t0 = mono_s();
        assert_int_equal(sink_stop(s, SIGTERM), 0);
        assert_true(mono_s() - t0 < 5);
        assert_int_equal(pthread_join(a.thread, NULL), 0);
        assert_int_not_equal(a.c.rc, CURLE_OK);
        assert_true(a.c.secs < 10);
        call_free(&a.c);

        c = (struct call){ .path = "/", .timeout_ms = 2000 };
        call_run(NULL, port, &c);
        assert_int_equal(c.rc, CURLE_COULDNT_CONNECT);
        call_free(&c);
        itest_sink_cleanup(s);

        sink_start(s, NULL);
        assert_int_equal(sink_stop(s, SIGINT), 0);
}

/* One of the connections held at once in test_load. */
struct held {
        pthread_t thread;
        int port;
        atomic_int *done;
        struct call c;
};

static void *
held_main(void *arg)
{
        struct held *w = arg;

        call_run(NULL, w->port, &w->c);
        atomic_fetch_add(w->done, 1);
        return NULL;
}

/*
 * 1,000 requests in a row on one keep-alive connection, quickly; then 200
 * connections held at once (all logged before any is answered). The log
 * stays whole: one parseable line per request, seq 1..n.
 */
static void
test_load(void **state)
{
        struct itest_sink *s = *state;
        struct held *w = calloc(CONCURRENT, sizeof(*w));
        atomic_int done = 0;
        CURL *h = curl_easy_init();
        double t0;
        json_t *log;

        assert_non_null(w);
        assert_non_null(h);
        sink_start(s, "/held delay 3000\n");

        t0 = mono_s();
        for (int i = 0; i < BULK; i++) {
                char body[64];
                struct call c = { .path = "/bulk", .body = body };

                snprintf(body, sizeof(body), "{\"i\":%d}", i);
                call_run(h, s->port, &c);
                if (c.rc != CURLE_OK || c.status != 200)
                        fail_msg("request %d: %s, %ld", i,
                                 curl_easy_strerror(c.rc), c.status);
                call_free(&c);
        }
        if (mono_s() - t0 > 20)
                fail_msg("%d requests took %.1f s", BULK, mono_s() - t0);
        curl_easy_cleanup(h);

        for (int i = 0; i < CONCURRENT; i++) {
                w[i].port = s->port;
                w[i].done = &done;
                w[i].c = (struct call){ .path = "/held", .timeout_ms = 30000 };
                assert_int_equal(
                    pthread_create(&w[i].thread, NULL, held_main, &w[i]), 0);
        }
        assert_int_equal(wait_log(s, BULK + CONCURRENT, 10000),
                         BULK + CONCURRENT);
        assert_int_equal(atomic_load(&done), 0);
        for (int i = 0; i < CONCURRENT; i++) {
                assert_int_equal(pthread_join(w[i].thread, NULL), 0);
                if (w[i].c.rc != CURLE_OK || w[i].c.status != 200)
                        fail_msg("connection %d: %s, %ld", i,
                                 curl_easy_strerror(w[i].c.rc), w[i].c.status);
                call_free(&w[i].c);
        }

        log = read_log(s);
        assert_int_equal(json_array_size(log), BULK + CONCURRENT);
        for (size_t i = 0; i < json_array_size(log); i++) {
                json_t *rec = json_array_get(log, i);

                assert_int_equal(jint(rec, "seq"), (json_int_t)i + 1);
                if (i < BULK) {
                        char want[64];

                        snprintf(want, sizeof(want), "{\"i\":%zu}", i);
                        assert_string_equal(jstr(rec, "body"), want);
                }
        }
        json_decref(log);
        free(w);
        assert_int_equal(sink_stop(s, SIGTERM), 0);
}

/* Usage and script errors, before anything listens. */
static void
test_bad_start(void **state)
{
        struct itest_sink *s = *state;
        char *argv[] = { HTTPSINK_BINARY, "--port-file", s->portfile, "--log",
                         s->out,          "--script",    s->script,   NULL };
        char *usage[] = { HTTPSINK_BINARY, "--log", "/dev/null", NULL };
        struct proc_result r;
        char want[200];

        itest_sink_prepare(s, "test_httpsink", "requests.jsonl");
        itest_sink_script(s, "# errors, all of them\n"
                             "/ok status 200\n"
                             "status 500\n"
                             "/a sequence 500,,200\n"
                             "/b frob 1\n"
                             "/c header X\n"
                             "/d status 200 sequence 500\n");
        assert_int_equal(proc_run(argv, NULL, &r), 0);
        assert_int_equal(r.status, 78);
        for (int line = 3; line <= 7; line++) {
                snprintf(want, sizeof(want), "%s:%d: ", s->script, line);
                if (strstr(r.err, want) == NULL)
                        fail_msg("stderr lacks \"%s\": %s", want, r.err);
        }
        assert_null(strstr(r.err, ":2: "));
        assert_int_equal(access(s->portfile, F_OK), -1);
        proc_result_free(&r);

        assert_int_equal(proc_run(usage, NULL, &r), 0);
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "usage: httpsink"));
        proc_result_free(&r);
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                SINK_TEST(test_post_logged),       SINK_TEST(test_body_limits),
                SINK_TEST(test_sequence),          SINK_TEST(test_retry_after),
                SINK_TEST(test_script_on_the_fly), SINK_TEST(test_hang),
                SINK_TEST(test_signals),           SINK_TEST(test_load),
                SINK_TEST(test_bad_start),
        };
        int rc;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return 1;
        rc = CLUSTER_RUN(tests, NULL, NULL);
        curl_global_cleanup();
        return rc;
}
