/*
 * ofsted-notify-web (api.h): who may ask. No token, a bad one, a revoked
 * one (401); /healthz without one; the scheduler stopped (503) and back;
 * the scheduler's `schools` judging the web's token itself (the
 * dashboard's one round trip).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define CONTROL_ID "ofsted-notify-control/1" /* docs/protocol.md */

/* No Authorization, another scheme, a made-up token: 401 each. */
static void
test_no_or_bad_token(void **state)
{
        struct api *a = *state;

        api_get_want(a, "/api/v1/schools", NULL, 401, "no credentials");
        api_get_want(a, "/api/v1/schools",
                     "ont_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401,
                     "unknown or revoked token");
        api_get_want(a, "/api/v1/schools", "not-even-a-token", 401,
                     "unknown or revoked token");
        /* A token's text is not its feed key. */
        {
                char path[128];

                snprintf(path, sizeof(path), "/api/v1/calendar.ics?key=%s",
                         a->trust);
                api_get_want(a, path, NULL, 401, "unknown or revoked token");
        }
}

/* token revoke: the token, and its calendar feed, are refused at once. */
static void
test_revoked_token(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        struct proc_result p;
        char path[256];
        const char *url;

        api_get(a, "/api/v1/feed", a->trust, &r);
        api_want(&r, 200, NULL);
        url = json_string_value(json_object_get(r.json, "url"));
        assert_non_null(url);
        assert_non_null(strstr(url, "https://alerts.test.example/api/v1/"
                                    "calendar.ics?key=ont_"));
        snprintf(path, sizeof(path), "%s", strstr(url, "/api/v1/"));
        api_resp_free(&r);
        api_get(a, path, NULL, &r);
        api_want(&r, 200, NULL);
        assert_non_null(strstr(r.body, "BEGIN:VCALENDAR"));
        api_resp_free(&r);

        p = cluster_ctl(&a->c, "token", "revoke", "trust", NULL);
        assert_int_equal(p.status, 0);
        assert_non_null(strstr(p.out, "Token 'trust' revoked."));
        proc_result_free(&p);
        api_get_want(a, "/api/v1/schools", a->trust, 401,
                     "unknown or revoked token");
        api_get_want(a, path, NULL, 401, "unknown or revoked token");
        /* The list no longer shows it; the others still work. */
        p = cluster_ctl(&a->c, "token", "list", "--json", NULL);
        assert_int_equal(p.status, 0);
        assert_null(strstr(p.out, "\"trust\""));
        assert_non_null(strstr(p.out, "\"admin\""));
        assert_null(strstr(p.out, "ont_"));
        proc_result_free(&p);
        api_get_want(a, "/api/v1/schools", a->admin, 200, NULL);
}

/* /healthz needs no token; with the scheduler stopped it says so, and
 * the API answers 503; with it back, 200. */
static void
test_daemon_down_and_back(void **state)
{
        struct api *a = *state;
        struct api_resp r;

        api_get(a, "/healthz", NULL, &r);
        api_want(&r, 200, NULL);
        assert_true(json_is_true(json_object_get(r.json, "ok")));
        assert_true(json_is_true(json_object_get(r.json, "daemon")));
        api_resp_free(&r);

        assert_int_equal(cluster_daemon_stop(&a->c, SIGTERM), 0);
        api_get(a, "/healthz", NULL, &r);
        api_want(&r, 200, NULL);
        assert_true(json_is_false(json_object_get(r.json, "daemon")));
        api_resp_free(&r);
        api_get_want(a, "/api/v1/schools", a->admin, 503,
                     "the scheduler does not answer");

        cluster_daemon_start(&a->c, NULL);
        api_get(a, "/api/v1/schools", a->admin, &r);
        api_want(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.json, "schools")),
                         2);
        api_resp_free(&r);
        api_get(a, "/healthz", NULL, &r);
        assert_true(json_is_true(json_object_get(r.json, "daemon")));
        api_resp_free(&r);
}

/* One raw control request `body` to the scheduler, as the web sends it;
 * its reply. New reference. */
static json_t *
control(struct api *a, const char *body)
{
        void *zctx = zmq_ctx_new(), *s = zmq_socket(zctx, ZMQ_REQ);
        int linger = 0, timeout = 10000;
        char endpoint[256], buf[65536];
        json_t *reply;
        int n;

        snprintf(endpoint, sizeof(endpoint), "ipc://%s/run/control.sock",
                 a->c.dir);
        assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)),
                         0);
        assert_int_equal(
            zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)), 0);
        assert_int_equal(zmq_connect(s, endpoint), 0);
        assert_true(zmq_send(s, CONTROL_ID, strlen(CONTROL_ID), ZMQ_SNDMORE) >
                    0);
        assert_true(zmq_send(s, body, strlen(body), 0) > 0);
        assert_true(zmq_recv(s, buf, sizeof(buf), 0) > 0); /* the id */
        n = zmq_recv(s, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0 && (size_t)n < sizeof(buf) - 1);
        buf[n] = '\0';
        reply = json_loads(buf, 0, NULL);
        assert_non_null(reply);
        zmq_close(s);
        zmq_ctx_term(zctx);
        return reply;
}

/* Whether the rows of a `schools` reply name `urn`. */
static bool
has_school(json_t *reply, const char *urn)
{
        json_t *row;
        size_t i;

        json_array_foreach(json_object_get(reply, "schools"), i, row)
        {
                if (strcmp(json_string_value(json_object_get(row, "school")),
                           urn) == 0)
                        return true;
        }
        return false;
}

/*
 * `schools` with the web's bearer token: the token's holder beside the
 * rows of the schools its role sees (a viewer's own; the trust's every
 * one), `schools` refused beside it so that a token cannot widen its
 * own, and a revoked token refused with reason "auth".
 */
static void
test_schools_judges_token(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        struct proc_result p;
        char body[256];
        json_t *reply;

        api_post_event(a, OAK, a->trust, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);
        api_post_event(a, ASH, a->trust, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        api_resp_free(&r);

        snprintf(body, sizeof(body), "{\"cmd\":\"schools\",\"token\":\"%s\"}",
                 a->viewer);
        reply = control(a, body);
        assert_true(json_is_true(json_object_get(reply, "ok")));
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(reply, "token"), "name")),
                            "viewer");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(reply, "token"), "role")),
                            "viewer");
        assert_true(has_school(reply, OAK));
        assert_false(has_school(reply, ASH));
        json_decref(reply);

        snprintf(body, sizeof(body), "{\"cmd\":\"schools\",\"token\":\"%s\"}",
                 a->trust);
        reply = control(a, body);
        assert_true(json_is_true(json_object_get(reply, "ok")));
        assert_true(has_school(reply, OAK));
        assert_true(has_school(reply, ASH));
        json_decref(reply);

        snprintf(body, sizeof(body),
                 "{\"cmd\":\"schools\",\"token\":\"%s\",\"schools\":[\"" ASH
                 "\"]}",
                 a->viewer);
        reply = control(a, body);
        assert_false(json_is_true(json_object_get(reply, "ok")));
        assert_non_null(strstr(
            json_string_value(json_object_get(reply, "error")), "'schools'"));
        json_decref(reply);

        p = cluster_ctl(&a->c, "token", "revoke", "viewer", NULL);
        assert_int_equal(p.status, 0);
        proc_result_free(&p);
        snprintf(body, sizeof(body), "{\"cmd\":\"schools\",\"token\":\"%s\"}",
                 a->viewer);
        reply = control(a, body);
        assert_false(json_is_true(json_object_get(reply, "ok")));
        assert_string_equal(json_string_value(json_object_get(reply, "reason")),
                            "auth");
        assert_null(json_object_get(reply, "schools"));
        json_decref(reply);
        api_get_want(a, "/api/v1/schools", a->viewer, 401,
                     "unknown or revoked token");
}

CLUSTER_MAIN({
    API_TEST(test_no_or_bad_token),
    API_TEST(test_revoked_token),
    API_TEST(test_daemon_down_and_back),
    API_TEST(test_schools_judges_token),
})
