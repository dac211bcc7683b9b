/*
 * ofsted-notify-web's browser sign-in (api.h with an email channel to
 * smtpsink and an email worker): a link sent to a user's address by the
 * email path and to nobody else; its GET signs nobody in; its POST once,
 * within its life; the session's cookie; writes with the cookie only
 * from the same origin; sign-out ends the session; a session idle too
 * long or past its whole life ends; the links are limited per address
 * and per client. The lifetimes are the defaults (a link 15 minutes, a
 * session 8 hours idle and 7 days in all), seen on the web process's
 * wall clock, which those tests step (libfaketime) instead of waiting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD "head@oak.sch.uk"
#define CEO  "ceo@trust.example"

/* Sign-in by email, which every world here has. */
#define SIGNIN "signin = [ \"email\" ];"

/* The API world with an email channel and web settings `web`. */
static int
setup_web(void **state, const char *web)
{
        const struct api_world w = { .mail = true, .web = web };

        return api_setup_with(state, &w);
}

static int
setup(void **state)
{
        return setup_web(state, SIGNIN);
}

/* The web process waits 10 s for the scheduler (web.timeout). */
static int
setup_patient(void **state)
{
        const struct api_world w = { .mail = true,
                                     .web = SIGNIN,
                                     .timeout_ms = 10000 };

        return api_setup_with(state, &w);
}

/* The web process's wall clock the test's to step, the lifetimes the
 * defaults. */
static int
setup_stepped(void **state)
{
        const struct api_world w = { .mail = true,
                                     .web = SIGNIN,
                                     .stepped = true };

        return api_setup_with(state, &w);
}

/* The peer (127.0.0.1) a trusted proxy: its X-Forwarded-For counts. */
static int
setup_proxy(void **state)
{
        return setup_web(state, SIGNIN " proxy_trusted = [ \"127.0.0.1\" ];");
}

static int
teardown(void **state)
{
        return api_teardown(state);
}

/* "Origin: http://127.0.0.1:PORT", this server's own. */
static void
own_origin(struct api *a, char *out, size_t size)
{
        snprintf(out, size, "Origin: http://127.0.0.1:%d", a->c.web_port);
}

/* A form POST with these header lines. */
static void
form(struct api *a, const char *path, const char *body, const char *h1,
     const char *h2, struct api_resp *r)
{
        const char *headers[] = { h1, h2, NULL };
        struct api_req q = { "POST", path,
                             NULL,   "application/x-www-form-urlencoded",
                             body,   body != NULL ? strlen(body) : 0,
                             headers };

        api_request(a, &q, r);
}

struct spooled {
        struct api *a;
        int seq;
};

static bool
spooled(void *arg)
{
        struct spooled *s = arg;
        char path[256];

        snprintf(path, sizeof(path), "%s/%d.json", s->a->c.spool, s->seq);
        return access(path, F_OK) == 0;
}

/*
 * Waits for message `seq` in the spool; wants it to be to `rcpt` alone,
 * and its sign-in link's path (/signin/ont_...) into out.
 */
static void
mailed_link(struct api *a, int seq, const char *rcpt, char *out, size_t size)
{
        struct spooled s = { a, seq };
        char path[256], *text = NULL, *p, *q;
        json_t *rec;
        size_t n = 0;
        FILE *fp;

        if (!cluster_wait_until(spooled, &s, 20000))
                fail_msg("no message %d in the spool", seq);
        snprintf(path, sizeof(path), "%s/%d.json", a->c.spool, seq);
        rec = json_load_file(path, 0, NULL);
        assert_non_null(rec);
        assert_int_equal(json_array_size(json_object_get(rec, "rcpt_tos")), 1);
        assert_string_equal(json_string_value(json_array_get(
                                json_object_get(rec, "rcpt_tos"), 0)),
                            rcpt);
        json_decref(rec);
        snprintf(path, sizeof(path), "%s/%d.eml", a->c.spool, seq);
        fp = fopen(path, "r");
        assert_non_null(fp);
        assert_int_not_equal(getdelim(&text, &n, '\0', fp), -1);
        fclose(fp);
        assert_non_null(strstr(text, "Subject: Sign in to"));
        /* The text is quoted-printable: join its soft line breaks. */
        for (p = q = text; *p != '\0'; p++) {
                if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
                        p += 2;
                        continue;
                }
                *q++ = *p;
        }
        *q = '\0';
        p = strstr(text, "https://alerts.test.example/signin/ont_");
        assert_non_null(p);
        p += strlen("https://alerts.test.example");
        snprintf(out, size, "%.*s",
                 (int)strspn(p, "/ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "abcdefghijklmnopqrstuvwxyz0123456789_-"),
                 p);
        /* "ont_" and 43 characters of base64url: 256 bits. */
        assert_int_equal(strlen(out), strlen("/signin/ont_") + 43);
        free(text);
}

/* Asks for a link to `email` from this site with header line `h` (NULL:
 * none); wants the one answer. */
static void
ask_link_with(struct api *a, const char *email, const char *h)
{
        struct api_resp r;
        char origin[64], body[128], location[64];

        own_origin(a, origin, sizeof(origin));
        snprintf(body, sizeof(body), "email=%s", email);
        form(a, "/signin", body, origin, h, &r);
        assert_int_equal(r.status, 303);
        assert_true(api_header(&r, "Location", location, sizeof(location)));
        assert_string_equal(location, "/signin?m=sent");
        assert_false(api_header(&r, "Set-Cookie", location, sizeof(location)));
        api_resp_free(&r);
}

static void
ask_link(struct api *a, const char *email)
{
        ask_link_with(a, email, NULL);
}

/* How many messages the spool has. */
static int
spool_count(struct api *a)
{
        char path[256];
        int n = 0;

        for (;; n++) {
                snprintf(path, sizeof(path), "%s/%d.json", a->c.spool, n + 1);
                if (access(path, F_OK) != 0)
                        return n;
        }
}

/* POSTs link `path` from this site: the session cookie's "NAME=ID" into
 * out, or "" when none is set. The status and Location are checked by
 * the caller from *r. */
static void
use_link(struct api *a, const char *path, struct api_resp *r, char *cookie,
         size_t size)
{
        char origin[64], set[512];

        own_origin(a, origin, sizeof(origin));
        form(a, path, "", origin, NULL, r);
        cookie[0] = '\0';
        if (api_header(r, "Set-Cookie", set, sizeof(set)))
                snprintf(cookie, size, "%.*s", (int)strcspn(set, ";"), set);
}

/* GET /api/v1/me with "Cookie: ..." (or none): the status. */
static long
me(struct api *a, const char *cookie, struct api_resp *r)
{
        char line[256];
        const char *headers[] = { line, NULL };
        struct api_req q = { "GET",
                             "/api/v1/me",
                             NULL,
                             NULL,
                             NULL,
                             0,
                             cookie != NULL ? headers : NULL };

        snprintf(line, sizeof(line), "Cookie: %s", cookie ? cookie : "");
        api_request(a, &q, r);
        return r->status;
}

/* POSTs link `path`: refused, back to the sign-in page saying it has
 * expired, and no cookie. */
static void
link_refused(struct api *a, const char *path)
{
        struct api_resp r;
        char cookie[128], location[64];

        use_link(a, path, &r, cookie, sizeof(cookie));
        assert_int_equal(r.status, 303);
        assert_true(api_header(&r, "Location", location, sizeof(location)));
        assert_string_equal(location, "/signin?m=expired");
        assert_string_equal(cookie, "");
        api_resp_free(&r);
}

/* Signs `email` in through the mailed link `seq`; its cookie into out. */
static void
sign_in(struct api *a, const char *email, int seq, char *cookie, size_t size)
{
        struct api_resp r;
        char link[128];

        ask_link(a, email);
        mailed_link(a, seq, email, link, sizeof(link));
        use_link(a, link, &r, cookie, size);
        assert_int_equal(r.status, 303);
        api_resp_free(&r);
        assert_true(cookie[0] != '\0');
}

/*
 * The link arrives by the email path, to the user alone; its GET shows
 * a "Sign in" button and signs nobody in; its POST opens a session
 * (HttpOnly, SameSite=Strict, Secure under an https base_url); a second
 * POST of it is refused.
 */
static void
test_link_once(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        char link[128], cookie[128], set[512], location[64];
        json_t *hist;

        ask_link(a, HEAD);
        mailed_link(a, 1, HEAD, link, sizeof(link));

        /* A mail scanner's GET: a page with a button, no session. */
        api_get(a, link, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "<form method=\"post\">"));
        assert_non_null(strstr(r.body, ">Sign in</button>"));
        assert_false(api_header(&r, "Set-Cookie", set, sizeof(set)));
        assert_true(api_header(&r, "Referrer-Policy", set, sizeof(set)));
        assert_string_equal(set, "no-referrer");
        api_resp_free(&r);
        assert_int_equal(me(a, NULL, &r), 401);
        api_resp_free(&r);

        /* The button's POST: a session, the cookie as it should be. */
        use_link(a, link, &r, cookie, sizeof(cookie));
        assert_int_equal(r.status, 303);
        assert_true(api_header(&r, "Location", location, sizeof(location)));
        assert_string_equal(location, "/");
        assert_true(api_header(&r, "Set-Cookie", set, sizeof(set)));
        assert_non_null(strstr(set, "; HttpOnly"));
        assert_non_null(strstr(set, "; SameSite=Strict"));
        assert_non_null(strstr(set, "; Secure"));
        assert_non_null(strstr(set, "; Path=/"));
        api_resp_free(&r);
        assert_int_equal(me(a, cookie, &r), 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "actor")),
                            "user:" HEAD);
        assert_string_equal(
            json_string_value(json_object_get(r.json, "signin")), "email");
        api_resp_free(&r);

        /* Used twice: refused, no cookie. */
        link_refused(a, link);

        /* The daemon recorded it as a delivery to the email channel. */
        hist = cluster_ctl_json(&a->c, "history", "--json", NULL);
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(hist, "deliveries"), 0),
                "rule")),
            "ofsted-notify-message");
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(hist, "deliveries"), 0),
                "status")),
            "delivered");
        json_decref(hist);
}

/* An address not in `users`: the same answer, and no email. */
static void
test_unknown_address(void **state)
{
        struct api *a = *state;
        char link[128];

        ask_link(a, "someone@elsewhere.example");
        cluster_wait_log(a->c.weblog, "not a user: no email", 1, 10000);
        /* The next message is the first the sink gets: the user's. */
        ask_link(a, HEAD);
        mailed_link(a, 1, HEAD, link, sizeof(link));
}

/*
 * The answer does not wait for the scheduler, so how long it takes tells
 * nobody whether the address is a user's: with the scheduler stopped, a
 * user's address has its answer before the web process has done asking
 * (it asks for as long as web.timeout, 10 s here); once the scheduler
 * runs again, the link is mailed.
 */
static void
test_answer_first(void **state)
{
        struct api *a = *state;
        char link[128];
        int gave_up, said;

        assert_int_equal(kill(a->c.daemon, SIGSTOP), 0);
        ask_link(a, HEAD);
        gave_up = cluster_log_count(a->c.weblog, "the scheduler: ");
        said = cluster_log_count(a->c.weblog, "sign-in link ");
        assert_int_equal(kill(a->c.daemon, SIGCONT), 0);
        assert_int_equal(gave_up, 0);
        assert_int_equal(said, 0);
        mailed_link(a, 1, HEAD, link, sizeof(link));
        cluster_wait_log(a->c.weblog, "sign-in link sent to '" HEAD "'", 1,
                         10000);
        assert_int_equal(cluster_log_count(a->c.weblog, "the scheduler: "), 0);
}

/*
 * A link lives 15 minutes from when it was asked for: one used 14
 * minutes after signs in, one used 15 minutes and a second after is
 * refused.
 */
static void
test_link_expired(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        char early[128], late[128], cookie[128], location[64];

        ask_link(a, HEAD);
        mailed_link(a, 1, HEAD, early, sizeof(early));
        ask_link(a, HEAD);
        mailed_link(a, 2, HEAD, late, sizeof(late));

        cluster_clock_set(&a->c, 14 * 60);
        use_link(a, early, &r, cookie, sizeof(cookie));
        assert_int_equal(r.status, 303);
        assert_true(api_header(&r, "Location", location, sizeof(location)));
        assert_string_equal(location, "/");
        api_resp_free(&r);
        assert_int_equal(me(a, cookie, &r), 200);
        api_resp_free(&r);

        cluster_clock_set(&a->c, 15 * 60 + 1);
        link_refused(a, late);
}

/* A write with the cookie from another site, or saying nothing of where
 * it comes from, is refused; from this site it is recorded. */
static void
test_foreign_origin(void **state)
{
        struct api *a = *state;
        static const char body[] = "{\"kind\": \"notification\"}";
        char cookie[128], line[160], origin[64];
        const char *foreign[] = { line, "Origin: https://evil.example", NULL };
        const char *cross[] = { line, "Sec-Fetch-Site: cross-site", NULL };
        const char *none[] = { line, NULL };
        const char *own[] = { line, origin, NULL };
        const char *const *tries[] = { foreign, cross, none };
        struct api_req q = { "POST", "/api/v1/schools/" OAK "/events",
                             NULL,   "application/json",
                             body,   strlen(body),
                             NULL };
        struct api_resp r;
        json_t *list;

        sign_in(a, HEAD, 1, cookie, sizeof(cookie));
        snprintf(line, sizeof(line), "Cookie: %s", cookie);
        own_origin(a, origin, sizeof(origin));
        for (size_t i = 0; i < 3; i++) {
                q.headers = tries[i];
                api_request(a, &q, &r);
                api_want(&r, 403, "from another site cannot change anything");
                api_resp_free(&r);
        }
        list = cluster_ctl_json(&a->c, "list", "--json", NULL);
        assert_int_equal(json_array_size(json_object_get(list, "cases")), 0);
        json_decref(list);
        /* A sign-in form from another site: refused too. */
        form(a, "/signin", "email=" HEAD, "Origin: https://evil.example", NULL,
             &r);
        assert_int_equal(r.status, 403);
        assert_non_null(strstr(r.body, "another site"));
        api_resp_free(&r);

        q.headers = own;
        api_request(a, &q, &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        list = cluster_ctl_json(&a->c, "show", "--school", OAK, "--json", NULL);
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(
                    json_object_get(json_object_get(list, "case"), "events"),
                    0),
                "actor")),
            "user:" HEAD);
        json_decref(list);
}

/* Sign-out ends the session: its cookie no longer works. */
static void
test_signout(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        char cookie[128], line[160], origin[64], set[256];

        sign_in(a, HEAD, 1, cookie, sizeof(cookie));
        assert_int_equal(me(a, cookie, &r), 200);
        api_resp_free(&r);
        snprintf(line, sizeof(line), "Cookie: %s", cookie);
        own_origin(a, origin, sizeof(origin));
        form(a, "/signout", "", line, origin, &r);
        assert_int_equal(r.status, 303);
        assert_true(api_header(&r, "Set-Cookie", set, sizeof(set)));
        assert_non_null(strstr(set, "Max-Age=0"));
        api_resp_free(&r);
        assert_int_equal(me(a, cookie, &r), 401);
        api_want(&r, 401, "session has ended");
        api_resp_free(&r);
}

/*
 * Three links to an address in 15 minutes, not a fourth (whatever the
 * case of its letters): the same answer, no email, one log line. The
 * CEO's link, asked for after, is the next message the sink gets.
 */
static void
test_address_limit(void **state)
{
        struct api *a = *state;
        char link[128];

        for (int i = 1; i <= 3; i++) {
                ask_link(a, HEAD);
                mailed_link(a, i, HEAD, link, sizeof(link));
        }
        ask_link(a, "Head@Oak.Sch.UK");
        ask_link(a, HEAD);
        cluster_wait_log(a->c.weblog,
                         "sign-in for 'Head@Oak.Sch.UK' from '127.0.0.1': "
                         "over the limit of 3 links to an address",
                         1, 10000);
        ask_link(a, CEO);
        mailed_link(a, 4, CEO, link, sizeof(link));
        assert_int_equal(spool_count(a), 4);
        /* Said once a window, not at every refusal. */
        assert_int_equal(cluster_log_count(a->c.weblog, "over the limit"), 1);
}

/* An address that is no user's is counted the same: its fourth request
 * is refused as a user's would be, so the limit tells nobody who the
 * users are. */
static void
test_unknown_limit(void **state)
{
        struct api *a = *state;
        char link[128];

        for (int i = 0; i < 4; i++)
                ask_link(a, "someone@elsewhere.example");
        cluster_wait_log(a->c.weblog,
                         "sign-in for 'someone@elsewhere.example' from "
                         "'127.0.0.1': over the limit of 3 links to an "
                         "address",
                         1, 10000);
        ask_link(a, HEAD);
        mailed_link(a, 1, HEAD, link, sizeof(link));
}

/*
 * Ten requests from a client in 15 minutes, not an eleventh, the client
 * being the address a trusted proxy forwards (the last of
 * X-Forwarded-For: what a client writes before it does not count).
 * Another client's request is served.
 */
static void
test_client_limit(void **state)
{
        struct api *a = *state;
        char link[128], email[64];

        for (int i = 0; i < 10; i++) {
                snprintf(email, sizeof(email), "u%d@elsewhere.example", i);
                ask_link_with(a, email, "X-Forwarded-For: 192.0.2.1");
        }
        cluster_wait_log(a->c.weblog, "'u9@elsewhere.example', not a user", 1,
                         10000);
        ask_link_with(a, HEAD, "X-Forwarded-For: 198.51.100.7, 192.0.2.1");
        cluster_wait_log(a->c.weblog,
                         "sign-in for '" HEAD "' from '192.0.2.1': over the "
                         "limit of 10 requests from a client",
                         1, 10000);
        ask_link_with(a, HEAD, "X-Forwarded-For: 192.0.2.2");
        mailed_link(a, 1, HEAD, link, sizeof(link));
        assert_int_equal(spool_count(a), 1);
}

/* Wants session `cookie` to answer `status` now, as `email` when 200. */
static void
want_me(struct api *a, const char *cookie, long status, const char *email)
{
        struct api_resp r;
        char actor[128];

        assert_int_equal(me(a, cookie, &r), status);
        if (status == 200) {
                snprintf(actor, sizeof(actor), "user:%s", email);
                assert_string_equal(
                    json_string_value(json_object_get(r.json, "actor")), actor);
        } else {
                api_want(&r, status, "session has ended");
        }
        api_resp_free(&r);
}

/*
 * A session unused for 8 hours ends; one used within them keeps working,
 * though as old.
 */
static void
test_session_idle(void **state)
{
        struct api *a = *state;
        char idle[128], busy[128];

        sign_in(a, HEAD, 1, idle, sizeof(idle));
        sign_in(a, CEO, 2, busy, sizeof(busy));
        cluster_clock_set(&a->c, 8 * 3600 - 60);
        want_me(a, busy, 200, CEO);
        cluster_clock_set(&a->c, 8 * 3600 + 60);
        want_me(a, idle, 401, NULL);
        want_me(a, busy, 200, CEO);
}

/* A session used every 7 hours ends 7 days after it began all the same. */
static void
test_session_max(void **state)
{
        struct api *a = *state;
        char busy[128];

        sign_in(a, CEO, 1, busy, sizeof(busy));
        for (long h = 7; h < 7 * 24; h += 7) {
                cluster_clock_set(&a->c, h * 3600);
                want_me(a, busy, 200, CEO);
        }
        cluster_clock_set(&a->c, 7 * 86400 - 60);
        want_me(a, busy, 200, CEO);
        cluster_clock_set(&a->c, 7 * 86400 + 60);
        want_me(a, busy, 401, NULL);
}

CLUSTER_MAIN({
    cmocka_unit_test_setup_teardown(test_link_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unknown_address, setup, teardown),
    cmocka_unit_test_setup_teardown(test_answer_first, setup_patient, teardown),
    cmocka_unit_test_setup_teardown(test_link_expired, setup_stepped, teardown),
    cmocka_unit_test_setup_teardown(test_foreign_origin, setup, teardown),
    cmocka_unit_test_setup_teardown(test_signout, setup, teardown),
    cmocka_unit_test_setup_teardown(test_address_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unknown_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_client_limit, setup_proxy, teardown),
    cmocka_unit_test_setup_teardown(test_session_idle, setup_stepped, teardown),
    cmocka_unit_test_setup_teardown(test_session_max, setup_stepped, teardown),
})
