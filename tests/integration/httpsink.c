/*
 * httpsink: a webhook receiver for integration tests. A real HTTP server
 * (GNU libmicrohttpd, one thread per connection) on 127.0.0.1 that logs
 * every request it gets and answers as a small script tells it to, so a
 * test can make a chat tool fail, throttle or hang on cue.
 *
 *   httpsink --port-file FILE --log FILE [--script FILE]
 *
 * --port-file  Once listening on an ephemeral port, the port number and a
 *              newline are written to FILE.tmp, which is renamed to FILE:
 *              a reader never sees half a number.
 * --log        One JSON object per request is appended (JSON Lines, one
 *              write per line):
 *                {"seq": 1, "time": 1700000000.123456, "method": "POST",
 *                 "path": "/hook?x=1", "headers": {"content-type": "..."},
 *                 "body": "...", "status": 200}
 *              seq counts from 1 in log order; time is when the request
 *              line arrived; path keeps the query string; header names are
 *              lower-cased, repeated ones joined with ", "; body is the raw
 *              body (invalid UTF-8 replaced by U+FFFD); status is the one
 *              chosen. A line is written as soon as the request has been
 *              read, before any hang or delay, so a test sees a hanging
 *              request at once. Bodies up to 1 MiB; a larger one gets 413
 *              and only its first 1 MiB is logged.
 * --script     Read again at every request, so a test may change it on the
 *              fly (write a temporary file and rename it over, so the sink
 *              never reads half of it). Missing file or no --script: 200
 *              "ok" for everything.
 *
 * Script format, one rule a line; blank lines and lines starting with '#'
 * are ignored:
 *
 *   PATH_PREFIX [ACTION...]
 *
 * The first rule whose PATH_PREFIX (starts with '/') is a prefix of the
 * request's path-with-query applies; no match means 200 "ok". Actions:
 *
 *   status N          answer N (200..599); default 200
 *   sequence S1,S2..  the k-th request matching this rule gets Sk; the last
 *                     repeats ("sequence 500,200"). Counted per prefix and
 *                     list, for the sink's lifetime. Not with status.
 *   header NAME VALUE an extra response header (VALUE one word), sent with
 *                     every answer of the rule; up to 8
 *   hang SECONDS      wait this long before answering
 *   delay MS          wait this many milliseconds before answering
 *   body TEXT         the response body: the rest of the line, so it comes
 *                     last; default "ok" for 2xx, else the reason phrase
 *
 * For example:
 *
 *   # Slack throttles once, then accepts.
 *   /services/ sequence 429,200 header Retry-After 2
 *   /teams/ status 400 header Content-Type application/json body {"e":1}
 *   /slow hang 30
 *
 * A script error at startup is reported as FILE:LINE: message (all of
 * them) and the sink exits 78; a bad matching rule at request time is
 * reported the same way on stderr and answered with 500.
 *
 * SIGTERM or SIGINT: waiting requests are dropped unanswered, the server
 * stops and the sink exits 0. Exit 2 on bad usage, 1 when it cannot start.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>

#define BODY_MAX         (1024 * 1024)
#define RULE_LINE_MAX    4096
#define RULE_HEADERS_MAX 8
#define RULE_SEQ_MAX     32
#define CONNECTIONS_MAX  512
#define IDLE_TIMEOUT_S   60
#define EX_CONFIG        78

/* Requests seen so far on one (prefix, sequence list). */
struct counter {
        struct counter *next;
        unsigned long n;
        char key[];
};

/* The whole process: built in main, passed to every callback. */
struct httpsink {
        const char *script;
        int logfd;
        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t wake;  /* broadcast when stopping */
        int stopping;
        unsigned long seq;
        struct counter *counters;
};

/* One request, from its request line until MHD is done with it. */
struct request {
        char *target; /* path with query, as sent */
        double time;
        int started;
        char *body;
        size_t len, cap;
        int too_large;
};

/* One script line, parsed in place: the pointers point into line. */
struct rule {
        char line[RULE_LINE_MAX + 2];
        const char *prefix;
        int status;
        const char *seqspec;
        int seq[RULE_SEQ_MAX];
        int nseq;
        const char *hname[RULE_HEADERS_MAX], *hvalue[RULE_HEADERS_MAX];
        int nheaders;
        long wait_ms;
        const char *body; /* NULL: the default */
};

static void sink_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
sink_warn(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fputs("httpsink: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

static void *
xmalloc(size_t n)
{
        void *p = malloc(n);

        if (p == NULL) {
                sink_warn("out of memory");
                abort();
        }
        return p;
}

static char *
xstrdup(const char *s)
{
        size_t n = strlen(s) + 1;

        return memcpy(xmalloc(n), s, n);
}

static double
now_real(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Splits the next whitespace-separated word off *pp; NULL at the end. */
static char *
next_word(char **pp)
{
        char *p = *pp, *w;

        p += strspn(p, " \t");
        if (*p == '\0')
                return NULL;
        w = p;
        p += strcspn(p, " \t");
        if (*p != '\0')
                *p++ = '\0';
        *pp = p;
        return w;
}

/* Parses all of `s` as a number in [lo, hi]; -1 when it is not one. */
static long
number(const char *s, long lo, long hi)
{
        char *end;
        long v;

        if (s == NULL || !isdigit((unsigned char)*s))
                return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < lo || v > hi)
                return -1;
        return v;
}

static int
parse_sequence(struct rule *r, const char *spec)
{
        char word[16];

        r->seqspec = spec;
        for (const char *p = spec; *p != '\0';) {
                size_t n = strcspn(p, ",");
                long v;

                if (n == 0 || n >= sizeof(word) || r->nseq == RULE_SEQ_MAX)
                        return -1;
                memcpy(word, p, n);
                word[n] = '\0';
                v = number(word, 200, 599);
                if (v < 0)
                        return -1;
                r->seq[r->nseq++] = (int)v;
                p += n;
                if (*p == ',' && *++p == '\0')
                        return -1;
        }
        return r->nseq > 0 ? 0 : -1;
}

/*
 * Parses the actions in `p` (the rest of r->line after the prefix) into r.
 * Returns 0, or -1 with the reason in cause[len].
 */
static int
parse_actions(struct rule *r, char *p, char *cause, size_t len)
{
        char *w, *a, *b;
        long v;

        while ((w = next_word(&p)) != NULL) {
                if (strcmp(w, "body") == 0) {
                        p += strspn(p, " \t");
                        r->body = p;
                        return 0;
                }
                a = next_word(&p);
                if (a == NULL) {
                        snprintf(cause, len, "'%s' needs an argument", w);
                        return -1;
                }
                if (strcmp(w, "status") == 0) {
                        v = number(a, 200, 599);
                        if (v < 0 || r->nseq > 0)
                                goto bad;
                        r->status = (int)v;
                } else if (strcmp(w, "sequence") == 0) {
                        if (r->status != 0 || r->nseq > 0 ||
                            parse_sequence(r, a) < 0)
                                goto bad;
                } else if (strcmp(w, "header") == 0) {
                        b = next_word(&p);
                        if (b == NULL || r->nheaders == RULE_HEADERS_MAX)
                                goto bad;
                        r->hname[r->nheaders] = a;
                        r->hvalue[r->nheaders++] = b;
                } else if (strcmp(w, "hang") == 0) {
                        v = number(a, 0, 3600);
                        if (v < 0)
                                goto bad;
                        r->wait_ms += v * 1000;
                } else if (strcmp(w, "delay") == 0) {
                        v = number(a, 0, 3600 * 1000);
                        if (v < 0)
                                goto bad;
                        r->wait_ms += v;
                } else {
                        snprintf(cause, len, "unknown action '%s'", w);
                        return -1;
                }
        }
        return 0;
bad:
        snprintf(cause, len, "bad '%s %s'", w, a);
        return -1;
}

/*
 * Reads the next rule of `fp` into r->line and splits off its prefix,
 * skipping blank lines and comments; *lineno counts the lines read.
 * Returns 1 with r->prefix set and the actions left in *rest, 0 at the
 * end, -1 with the reason in cause[len].
 */
static int
next_rule(FILE *fp, struct rule *r, int *lineno, char **rest, char *cause,
          size_t len)
{
        while (fgets(r->line, sizeof(r->line), fp) != NULL) {
                size_t n = strlen(r->line);
                char *p = r->line;

                ++*lineno;
                if (n > 0 && r->line[n - 1] == '\n')
                        r->line[--n] = '\0';
                else if (!feof(fp)) {
                        snprintf(cause, len, "line longer than %d bytes",
                                 RULE_LINE_MAX);
                        return -1;
                }
                if (n > 0 && r->line[n - 1] == '\r')
                        r->line[--n] = '\0';
                p += strspn(p, " \t");
                if (*p == '\0' || *p == '#')
                        continue;
                r->prefix = next_word(&p);
                if (r->prefix[0] != '/') {
                        snprintf(cause, len,
                                 "'%s' is not a path prefix (starts with /)",
                                 r->prefix);
                        return -1;
                }
                *rest = p;
                return 1;
        }
        if (ferror(fp)) {
                snprintf(cause, len, "%s", strerror(errno));
                return -1;
        }
        return 0;
}

/*
 * Finds the rule of `path` (the script file) for `target` and fills r.
 * Returns 1 when one matched, 0 when none did (or there is no script),
 * -1 with "path:line: reason" in cause[len].
 */
static int
script_match(const char *path, const char *target, struct rule *r, char *cause,
             size_t len)
{
        FILE *fp = NULL;
        char why[256], *rest;
        int lineno = 0, rc;

        if (path == NULL)
                return 0;
        fp = fopen(path, "r");
        if (fp == NULL) {
                if (errno == ENOENT)
                        return 0;
                snprintf(cause, len, "%s: %s", path, strerror(errno));
                return -1;
        }
        while ((rc = next_rule(fp, r, &lineno, &rest, why, sizeof(why))) > 0) {
                if (strncmp(target, r->prefix, strlen(r->prefix)) != 0)
                        continue;
                if (parse_actions(r, rest, why, sizeof(why)) < 0)
                        rc = -1;
                break;
        }
        if (rc < 0)
                snprintf(cause, len, "%s:%d: %s", path, lineno, why);
        fclose(fp);
        return rc;
}

/* Checks every rule of the script at `path`, printing each error.
 * Returns the number of errors; a missing file has none. */
static int
script_check(const char *path)
{
        struct rule *r = xmalloc(sizeof(*r));
        FILE *fp = fopen(path, "r");
        char why[256], *rest;
        int lineno = 0, errors = 0, rc;

        if (fp == NULL) {
                if (errno != ENOENT) {
                        sink_warn("%s: %s", path, strerror(errno));
                        errors++;
                }
                goto out;
        }
        for (;;) {
                memset(r, 0, sizeof(*r));
                rc = next_rule(fp, r, &lineno, &rest, why, sizeof(why));
                if (rc == 0)
                        break;
                if (rc > 0 && parse_actions(r, rest, why, sizeof(why)) == 0)
                        continue;
                fprintf(stderr, "%s:%d: %s\n", path, lineno, why);
                errors++;
                if (rc < 0 && ferror(fp))
                        break;
        }
out:
        if (fp != NULL)
                fclose(fp);
        free(r);
        return errors;
}

/* The status the next request matching r gets from its sequence. */
static int
sequence_next(struct httpsink *s, const struct rule *r)
{
        struct counter *c;
        size_t np = strlen(r->prefix), ns = strlen(r->seqspec);
        unsigned long k;

        pthread_mutex_lock(&s->lock);
        for (c = s->counters; c != NULL; c = c->next) {
                if (strncmp(c->key, r->prefix, np) == 0 && c->key[np] == ' ' &&
                    strcmp(c->key + np + 1, r->seqspec) == 0)
                        break;
        }
        if (c == NULL) {
                c = xmalloc(sizeof(*c) + np + ns + 2);
                c->n = 0;
                snprintf(c->key, np + ns + 2, "%s %s", r->prefix, r->seqspec);
                c->next = s->counters;
                s->counters = c;
        }
        k = c->n++;
        pthread_mutex_unlock(&s->lock);
        return r
            ->seq[k < (unsigned long)r->nseq ? k : (unsigned long)r->nseq - 1];
}

/* Length of the valid UTF-8 sequence at p[n], 0 when it is not one. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
        unsigned int cp;
        size_t len;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf) {
                len = 2;
                cp = p[0] & 0x1f;
        } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                len = 3;
                cp = p[0] & 0x0f;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                len = 4;
                cp = p[0] & 0x07;
        } else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

/* A JSON string of p[n]; bytes that are not UTF-8 become U+FFFD. */
static json_t *
text(const char *p, size_t n)
{
        json_t *v = json_stringn(p, n);
        char *fixed;
        size_t out = 0;

        if (v != NULL)
                return v;
        fixed = xmalloc(3 * n + 1);
        for (size_t i = 0; i < n;) {
                size_t k = utf8_len((const unsigned char *)p + i, n - i);

                if (k == 0) {
                        memcpy(fixed + out, "\xef\xbf\xbd", 3);
                        out += 3;
                        i++;
                } else {
                        memcpy(fixed + out, p + i, k);
                        out += k;
                        i += k;
                }
        }
        v = json_stringn(fixed, out);
        free(fixed);
        return v;
}

static enum MHD_Result
add_header(void *cls, enum MHD_ValueKind kind, const char *key,
           const char *value)
{
        json_t *headers = cls, *old;
        char *name = xstrdup(key);

        (void)kind;
        for (char *p = name; *p != '\0'; p++)
                *p = (char)tolower((unsigned char)*p);
        if (value == NULL)
                value = "";
        old = json_object_get(headers, name);
        if (json_is_string(old)) {
                const char *o = json_string_value(old);
                size_t n = strlen(o) + strlen(value) + 3;
                char *both = xmalloc(n);

                snprintf(both, n, "%s, %s", o, value);
                json_object_set_new(headers, name, text(both, strlen(both)));
                free(both);
        } else
                json_object_set_new(headers, name, text(value, strlen(value)));
        free(name);
        return MHD_YES;
}

/* Appends the log line of request rq, answered with `status`. */
static void
log_request(struct httpsink *s, struct MHD_Connection *con,
            const struct request *rq, const char *method, int status)
{
        json_t *line = json_object(), *headers = json_object();
        char *dump = NULL;
        size_t n;

        MHD_get_connection_values(con, MHD_HEADER_KIND, add_header, headers);
        pthread_mutex_lock(&s->lock);
        json_object_set_new(line, "seq", json_integer((json_int_t)++s->seq));
        json_object_set_new(line, "time", json_real(rq->time));
        json_object_set_new(line, "method", text(method, strlen(method)));
        json_object_set_new(line, "path", text(rq->target, strlen(rq->target)));
        json_object_set_new(line, "headers", headers);
        json_object_set_new(line, "body", text(rq->body, rq->len));
        json_object_set_new(line, "status", json_integer(status));
        dump = json_dumps(line, JSON_COMPACT);
        if (dump == NULL) {
                sink_warn("cannot encode request %lu, ignoring", s->seq);
                goto out;
        }
        n = strlen(dump);
        dump[n++] = '\n'; /* over the NUL: the line is written as is */
        if (write(s->logfd, dump, n) != (ssize_t)n)
                sink_warn("log: %s, ignoring", strerror(errno));
out:
        pthread_mutex_unlock(&s->lock);
        free(dump);
        json_decref(line);
}

/* Waits ms milliseconds; -1 when the sink is stopping meanwhile. */
static int
wait_ms(struct httpsink *s, long ms)
{
        struct timespec until;
        int stopping, rc = 0;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&s->wake, &s->lock, &until);
        stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);
        return stopping ? -1 : 0;
}

/* Decides, logs and sends the answer to a request read in full. */
static enum MHD_Result
answer(struct httpsink *s, struct MHD_Connection *con, struct request *rq,
       const char *method)
{
        struct rule *r = xmalloc(sizeof(*r));
        struct MHD_Response *resp = NULL;
        enum MHD_Result ret = MHD_NO;
        char cause[512];
        const char *body;
        int status, typed = 0, m;

        memset(r, 0, sizeof(*r));
        m = script_match(s->script, rq->target, r, cause, sizeof(cause));
        if (m < 0) {
                sink_warn("%s", cause);
                memset(r, 0, sizeof(*r));
                r->status = 500;
                r->body = "httpsink: bad script";
        }
        if (rq->too_large) {
                memset(r, 0, sizeof(*r));
                r->status = 413;
        }
        status = r->nseq > 0 ? sequence_next(s, r) : r->status;
        if (status == 0)
                status = 200;
        body = r->body;
        if (body == NULL && status / 100 == 2)
                body = "ok";
        if (body == NULL)
                body = MHD_get_reason_phrase_for((unsigned int)status);

        log_request(s, con, rq, method, status);
        if (r->wait_ms > 0 && wait_ms(s, r->wait_ms) < 0)
                goto out; /* stopping: drop it */

        resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                               MHD_RESPMEM_MUST_COPY);
        if (resp == NULL)
                goto out;
        for (int i = 0; i < r->nheaders; i++) {
                if (strcasecmp(r->hname[i], "Content-Type") == 0)
                        typed = 1;
                if (MHD_add_response_header(resp, r->hname[i], r->hvalue[i]) ==
                    MHD_NO)
                        sink_warn("header '%s: %s' refused, ignoring",
                                  r->hname[i], r->hvalue[i]);
        }
        if (!typed)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        "text/plain");
        ret = MHD_queue_response(con, (unsigned int)status, resp);
out:
        MHD_destroy_response(resp);
        free(r);
        return ret;
}

/* MHD's first look at a request: its target as sent, query included. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
        struct request *rq = xmalloc(sizeof(*rq));

        (void)cls;
        (void)con;
        memset(rq, 0, sizeof(*rq));
        rq->target = xstrdup(uri);
        rq->time = now_real();
        return rq;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *con, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **req_cls)
{
        struct httpsink *s = cls;
        struct request *rq = *req_cls;

        (void)url;
        (void)version;
        if (rq == NULL)
                return MHD_NO;
        if (!rq->started) {
                rq->started = 1;
                return MHD_YES;
        }
        if (*upload_size > 0) {
                size_t n = *upload_size;

                if (rq->len + n > BODY_MAX) {
                        rq->too_large = 1;
                        n = BODY_MAX - rq->len;
                }
                if (rq->len + n > rq->cap) {
                        size_t cap = rq->cap == 0 ? 4096 : rq->cap;
                        char *p;

                        while (cap < rq->len + n)
                                cap *= 2;
                        p = realloc(rq->body, cap);
                        if (p == NULL)
                                return MHD_NO;
                        rq->body = p;
                        rq->cap = cap;
                }
                if (n > 0)
                        memcpy(rq->body + rq->len, upload, n);
                rq->len += n;
                *upload_size = 0;
                return MHD_YES;
        }
        return answer(s, con, rq, method);
}

static void
on_completed(void *cls, struct MHD_Connection *con, void **req_cls,
             enum MHD_RequestTerminationCode toe)
{
        struct request *rq = *req_cls;

        (void)cls;
        (void)con;
        (void)toe;
        if (rq != NULL) {
                free(rq->target);
                free(rq->body);
                free(rq);
        }
        *req_cls = NULL;
}

/* Writes "port\n" to path.tmp and renames it to path. */
static int
write_port(const char *path, unsigned int port)
{
        size_t n = strlen(path) + 5;
        char *tmp = xmalloc(n), buf[16];
        int fd = -1, rc = -1, len;

        snprintf(tmp, n, "%s.tmp", path);
        len = snprintf(buf, sizeof(buf), "%u\n", port);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, buf, (size_t)len) != len) {
                sink_warn("%s: %s", tmp, strerror(errno));
                goto out;
        }
        if (close(fd) < 0 || rename(tmp, path) < 0) {
                fd = -1;
                sink_warn("%s: %s", path, strerror(errno));
                goto out;
        }
        fd = -1;
        rc = 0;
out:
        if (fd >= 0)
                close(fd);
        free(tmp);
        return rc;
}

static void
usage(void)
{
        fprintf(stderr, "usage: httpsink --port-file FILE --log FILE "
                        "[--script FILE]\n");
}

int
main(int argc, char *argv[])
{
        static const struct option longopts[] = {
                { "port-file", required_argument, NULL, 'p' },
                { "log", required_argument, NULL, 'l' },
                { "script", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct httpsink s = { .logfd = -1 };
        struct sockaddr_in sa = { .sin_family = AF_INET };
        struct MHD_Daemon *d = NULL;
        const union MHD_DaemonInfo *info;
        const char *portfile = NULL, *logpath = NULL;
        pthread_condattr_t ca;
        sigset_t sigs;
        int c, sig, rc = 1;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        portfile = optarg;
                        break;
                case 'l':
                        logpath = optarg;
                        break;
                case 's':
                        s.script = optarg;
                        break;
                case 'h':
                        usage();
                        return 0;
                default:
                        usage();
                        return 2;
                }
        }
        if (optind != argc || portfile == NULL || logpath == NULL) {
                usage();
                return 2;
        }
        if (s.script != NULL && script_check(s.script) > 0)
                return EX_CONFIG;

        pthread_mutex_init(&s.lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s.wake, &ca);
        pthread_condattr_destroy(&ca);

        s.logfd =
            open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (s.logfd < 0) {
                sink_warn("%s: %s", logpath, strerror(errno));
                goto out;
        }

        /* Blocked before MHD starts its threads, so they inherit it and
         * only sigwait() below sees these. */
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = 0;
        d = MHD_start_daemon(
            MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
                MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
            0, NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&sa, MHD_OPTION_URI_LOG_CALLBACK, on_uri, &s,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTIONS_MAX,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)CONNECTIONS_MAX,
            MHD_OPTION_END);
        if (d == NULL) {
                sink_warn("cannot start the HTTP server on 127.0.0.1");
                goto out;
        }
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        if (info == NULL || info->port == 0) {
                sink_warn("cannot tell which port the server is on");
                goto out;
        }
        if (write_port(portfile, info->port) < 0)
                goto out;

        while (sigwait(&sigs, &sig) != 0)
                ;
        pthread_mutex_lock(&s.lock);
        s.stopping = 1;
        pthread_cond_broadcast(&s.wake);
        pthread_mutex_unlock(&s.lock);
        rc = 0;
out:
        if (d != NULL)
                MHD_stop_daemon(d);
        while (s.counters != NULL) {
                struct counter *next = s.counters->next;

                free(s.counters);
                s.counters = next;
        }
        if (s.logfd >= 0)
                close(s.logfd);
        pthread_cond_destroy(&s.wake);
        pthread_mutex_destroy(&s.lock);
        return rc;
}
