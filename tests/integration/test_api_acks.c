/*
 * ofsted-notify-web (api.h): acknowledging a deadline. The one-click
 * link, /a/{token}, taken from the alert a real webhook worker delivered
 * to httpsink: GET shows and changes nothing (a mail scanner fetches it
 * twice), only POST acknowledges, as link:CHANNEL; a forged, tampered or
 * expired token is refused with a page that says so; two POSTs at once
 * acknowledge once; school A's link cannot acknowledge school B's
 * deadline. And POST /api/v1/cases/{id}/acks for each role: 201 for a new
 * acknowledgement, 200 with the first's who and when after, 403 for a
 * viewer and for another school's case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RULE    "deferral_cutoff"
#define WAIT_MS 20000

/* OAK's alerts go to the channel "it" at /it, ASH's to "ash" at /ash. */
static void
write_conf(struct cluster *c)
{
        FILE *fp = cluster_conf_begin(c, NULL);

        fprintf(fp,
                "channels = (\n"
                "  { name = \"it\"; type = \"webhook\";\n"
                "    url = \"http://127.0.0.1:%d/it\"; },\n"
                "  { name = \"ash\"; type = \"webhook\";\n"
                "    url = \"http://127.0.0.1:%d/ash\"; } );\n"
                "schools = (\n"
                "  { urn = \"" OAK "\"; name = \"Oak <Primary>\"; "
                "channels = [ \"it\" ]; },\n"
                "  { urn = \"" ASH "\"; name = \"Ash Academy\"; "
                "channels = [ \"ash\" ]; } );\n"
                "rules = (\n"
                "  { name = \"" RULE "\"; event = \"notification\";\n"
                "    action = \"Ask for a deferral.\";\n"
                "    deadline = { working_days = 10; time = \"16:30\"; };\n"
                "    alerts = [ \"event\", \"deadline\" ]; } );\n",
                c->port, c->port);
        cluster_conf_web(fp, 2000, NULL);
        cluster_conf_end(fp);
}

static int
setup(void **state)
{
        struct api *a = calloc(1, sizeof(*a));

        if (a == NULL || cluster_init(&a->c, "acks") < 0) {
                free(a);
                return -1;
        }
        *state = a;
        if (cluster_httpsink_start(&a->c) < 0)
                return -1;
        write_conf(&a->c);
        cluster_daemon_start(&a->c, NULL);
        cluster_web_start(&a->c);
        cluster_worker_start(&a->c, 0, "webhook", NULL, NULL);
        cluster_wait_workers(&a->c, "webhook", 1);
        api_token(&a->c, "viewer", "viewer", OAK, a->viewer);
        api_token(&a->c, "school", "school", OAK, a->school);
        api_token(&a->c, "trust", "trust", NULL, a->trust);
        return 0;
}

static int
teardown(void **state)
{
        return api_teardown(state);
}

/*
 * Records a notification for `urn` at `at` (NULL: now) as trust; waits
 * for its "event" alert at /`path` and copies the link's token (what
 * follows "/a/" in its ack_url) into token. Returns the case.
 */
static json_int_t
notify(struct api *a, const char *urn, const char *at, const char *path,
       char *token, size_t len)
{
        char body[128], prefix[16];
        struct api_resp r;
        json_t *reqs, *b;
        const char *url, *p;
        json_int_t id;

        if (at != NULL)
                snprintf(body, sizeof(body),
                         "{\"kind\": \"notification\", \"at\": \"%s\"}", at);
        else
                snprintf(body, sizeof(body), "{\"kind\": \"notification\"}");
        api_post_event(a, urn, a->trust, body, &r);
        api_want(&r, 201, NULL);
        id = jint(r.json, "case");
        api_resp_free(&r);
        snprintf(prefix, sizeof(prefix), "/%s", path);
        reqs = cluster_wait_requests(&a->c, prefix, 1, WAIT_MS);
        b = json_loads(jstr(json_array_get(reqs, 0), "body"), 0, NULL);
        assert_non_null(b);
        url = jstr(b, "ack_url");
        /* web.base_url as cluster_conf_web() writes it. */
        p = "https://alerts.test.example/a/";
        assert_int_equal(strncmp(url, p, strlen(p)), 0);
        assert_true(strlen(url + strlen(p)) < len);
        snprintf(token, len, "%s", url + strlen(p));
        json_decref(b);
        json_decref(reqs);
        return id;
}

/* `show --school URN --json`: its case. New reference. */
static json_t *
show(struct api *a, const char *urn)
{
        json_t *r =
            cluster_ctl_json(&a->c, "show", "--school", urn, "--json", NULL);
        json_t *c = json_incref(jobj(r, "case"));

        json_decref(r);
        return c;
}

/* The state of the case's "deadline" alert. */
static void
want_deadline(struct api *a, const char *urn, const char *state)
{
        json_t *c = show(a, urn), *al;
        size_t i;
        bool found = false;

        json_array_foreach(jarr(c, "alerts"), i, al)
        {
                if (strcmp(jstr(al, "offset"), "deadline") == 0) {
                        assert_string_equal(jstr(al, "state"), state);
                        found = true;
                }
        }
        assert_true(found);
        json_decref(c);
}

/* How many of the school's audit entries are an acknowledgement of RULE
 * from `source` by `actor`. */
static int
audited(struct api *a, const char *urn, const char *source, const char *actor)
{
        json_t *r = cluster_ctl_json(&a->c, "audit", "--school", urn, "--json",
                                     NULL),
               *e;
        size_t i;
        int n = 0;

        json_array_foreach(jarr(r, "audit"), i, e)
        {
                n += strcmp(jstr(e, "action"), "ack") == 0 &&
                     strcmp(jstr(e, "source"), source) == 0 &&
                     strcmp(jstr(e, "actor"), actor) == 0 &&
                     strcmp(jstr(e, "detail"), RULE) == 0;
        }
        json_decref(r);
        return n;
}

static size_t
acks_of(struct api *a, const char *urn)
{
        json_t *c = show(a, urn);
        size_t n = json_array_size(jarr(c, "acks"));

        json_decref(c);
        return n;
}

/* GET or POST (with a form body, NULL: none) on /a/{token}. */
static void
page(struct api *a, const char *method, const char *token, const char *form,
     struct api_resp *r)
{
        char path[256];

        snprintf(path, sizeof(path), "/a/%s", token);
        api_call(a, method, path, NULL,
                 form != NULL ? "application/x-www-form-urlencoded" : NULL,
                 form, form != NULL ? strlen(form) : 0, r);
}

static void
want_page(const struct api_resp *r, long status, const char *needle)
{
        if (r->status != status || strstr(r->body, needle) == NULL)
                fail_msg("want HTTP %ld holding '%s', got %ld: %s", status,
                         needle, r->status, r->body);
        /* A page, never a stack or JSON; its values escaped. */
        assert_null(r->json);
        assert_non_null(strstr(r->body, "<!doctype html>"));
        assert_null(strstr(r->body, "Oak <Primary>"));
}

/*
 * GET twice (a scanner, then the person) shows the school, the rule and
 * the form, and acknowledges nothing; the POST acknowledges as link:it
 * with its note and cancels the deadline's reminder; a second POST and a
 * GET after say it is done, by the first, and add nothing.
 */
static void
test_link_get_then_post(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        char token[128];
        json_t *c, *ack;

        notify(a, OAK, NULL, "it", token, sizeof(token));
        for (int i = 0; i < 2; i++) {
                page(a, "GET", token, NULL, &r);
                want_page(&r, 200, "Oak &lt;Primary&gt;");
                assert_non_null(strstr(r.body, RULE));
                assert_non_null(strstr(r.body, "<form method=\"post\""));
                api_resp_free(&r);
        }
        assert_int_equal(acks_of(a, OAK), 0);
        want_deadline(a, OAK, "pending");

        page(a, "POST", token, "note=ref+123%21", &r);
        want_page(&r, 200, "Acknowledged by link:it (ref 123!)");
        api_resp_free(&r);
        c = show(a, OAK);
        assert_int_equal(json_array_size(jarr(c, "acks")), 1);
        ack = json_array_get(jarr(c, "acks"), 0);
        assert_string_equal(jstr(ack, "rule"), RULE);
        assert_string_equal(jstr(ack, "by"), "link:it");
        assert_string_equal(jstr(ack, "note"), "ref 123!");
        json_decref(c);
        want_deadline(a, OAK, "cancelled");
        assert_int_equal(audited(a, OAK, "link", "link:it"), 1);

        page(a, "POST", token, "note=again", &r);
        want_page(&r, 200, "Already done");
        assert_non_null(strstr(r.body, "(ref 123!)"));
        api_resp_free(&r);
        page(a, "GET", token, NULL, &r);
        want_page(&r, 200, "Already done");
        /* No acknowledging form (the layout's sign-out form is there). */
        assert_null(strstr(r.body, "action=\"/a/"));
        api_resp_free(&r);
        assert_int_equal(acks_of(a, OAK), 1);
        assert_int_equal(audited(a, OAK, "link", "link:it"), 1);
}

/*
 * Refused with a page, and nothing acknowledged: a token not ours but
 * well formed (forged), a real one with one character changed (tampered),
 * one that is not a token at all (404 each), and a real one a day after
 * its deadline (410), by GET and by POST.
 */
static void
test_link_refused(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        char token[128], forged[128], tampered[128], old[128], at[32];
        const char *bad[] = { forged, tampered, "not-a-token" };
        size_t n;

        notify(a, OAK, NULL, "it", token, sizeof(token));
        /* The same prefix and length, every random character changed. */
        snprintf(forged, sizeof(forged), "%s", token);
        for (char *p = strchr(forged, '_') + 1; *p != '\0'; p++)
                *p = *p == 'A' ? 'B' : 'A';
        snprintf(tampered, sizeof(tampered), "%s", token);
        n = strlen(tampered) - 10;
        tampered[n] = tampered[n] == 'x' ? 'y' : 'x';
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                page(a, "GET", bad[i], NULL, &r);
                want_page(&r, 404, "Unknown link");
                api_resp_free(&r);
                page(a, "POST", bad[i], "note=x", &r);
                want_page(&r, 404, "Unknown link");
                api_resp_free(&r);
        }
        assert_int_equal(acks_of(a, OAK), 0);

        /* ASH notified 40 days ago: its deadline passed weeks ago, yet
         * the event's alert goes out now, with a link already expired. */
        utc_text(time(NULL) - 40 * 86400, at);
        notify(a, ASH, at, "ash", old, sizeof(old));
        page(a, "GET", old, NULL, &r);
        want_page(&r, 410, "This link has expired");
        api_resp_free(&r);
        page(a, "POST", old, "note=late", &r);
        want_page(&r, 410, "This link has expired");
        api_resp_free(&r);
        assert_int_equal(acks_of(a, ASH), 0);
}

/* A page's body, as much as fits. */
struct body {
        char text[8192];
        size_t len;
};

static size_t
gather(char *data, size_t size, size_t n, void *arg)
{
        struct body *b = arg;
        size_t room = sizeof(b->text) - 1 - b->len;
        size_t k = size * n < room ? size * n : room;

        memcpy(b->text + b->len, data, k);
        b->len += k;
        b->text[b->len] = '\0';
        return size * n;
}

/* Two POSTs of one link sent at once: one acknowledgement is made; one
 * answers that it is done now, the other that it was done already. */
static void
test_link_two_posts(void **state)
{
        struct api *a = *state;
        char token[128], url[256];
        CURLM *m = curl_multi_init();
        CURL *h[2];
        struct body got[2] = { 0 };
        long status;
        int done = 0, already = 0;
        int running = 1;
        json_t *c;

        notify(a, OAK, NULL, "it", token, sizeof(token));
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/a/%s", a->c.web_port,
                 token);
        for (int i = 0; i < 2; i++) {
                h[i] = curl_easy_init();
                curl_easy_setopt(h[i], CURLOPT_URL, url);
                curl_easy_setopt(h[i], CURLOPT_POSTFIELDS,
                                 i == 0 ? "note=first" : "note=second");
                curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, gather);
                curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &got[i]);
                curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 20L);
                curl_multi_add_handle(m, h[i]);
        }
        while (running > 0) {
                assert_int_equal(curl_multi_perform(m, &running), CURLM_OK);
                if (running > 0)
                        curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
        for (int i = 0; i < 2; i++) {
                curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &status);
                assert_int_equal(status, 200);
                done += strstr(got[i].text, "Done: the reminders stop") != NULL;
                already += strstr(got[i].text, "Already done") != NULL;
                curl_multi_remove_handle(m, h[i]);
                curl_easy_cleanup(h[i]);
        }
        curl_multi_cleanup(m);
        assert_int_equal(done, 1);
        assert_int_equal(already, 1);
        c = show(a, OAK);
        assert_int_equal(json_array_size(jarr(c, "acks")), 1);
        json_decref(c);
        assert_int_equal(cluster_log_count(a->c.dlog, "acknowledged " RULE), 1);
}

/*
 * A link is its own case's: OAK's token acknowledges OAK's deadline only,
 * whatever the form adds to name another case, school or rule; ASH's
 * stays until its own link is used; neither token opens the API.
 */
static void
test_link_other_school(void **state)
{
        struct api *a = *state;
        char oak[128], ash[128], form[160], path[64];
        struct api_resp r;
        json_int_t ash_case;

        notify(a, OAK, NULL, "it", oak, sizeof(oak));
        ash_case = notify(a, ASH, NULL, "ash", ash, sizeof(ash));
        snprintf(form, sizeof(form),
                 "case=%lld&school=" ASH "&rule=" RULE "&note=x",
                 (long long)ash_case);
        page(a, "POST", oak, form, &r);
        want_page(&r, 200, "Oak &lt;Primary&gt;");
        api_resp_free(&r);
        assert_int_equal(acks_of(a, OAK), 1);
        assert_int_equal(acks_of(a, ASH), 0);
        want_deadline(a, ASH, "pending");

        snprintf(path, sizeof(path), "/api/v1/cases/%lld/acks",
                 (long long)ash_case);
        api_call(a, "POST", path, oak, "application/json",
                 "{\"rule\": \"" RULE "\"}", strlen("{\"rule\": \"" RULE "\"}"),
                 &r);
        assert_int_equal(r.status, 401);
        api_resp_free(&r);
        assert_int_equal(acks_of(a, ASH), 0);

        page(a, "POST", ash, NULL, &r);
        want_page(&r, 200, "Ash Academy");
        api_resp_free(&r);
        assert_int_equal(acks_of(a, ASH), 1);
}

/* POST /api/v1/cases/{id}/acks with `token` and body `json`. */
static void
post_ack(struct api *a, json_int_t id, const char *token, const char *json,
         struct api_resp *r)
{
        char path[64];

        snprintf(path, sizeof(path), "/api/v1/cases/%lld/acks", (long long)id);
        api_call(a, "POST", path, token, "application/json", json, strlen(json),
                 r);
}

/*
 * The API route by role: a viewer may not (403), a school token not for
 * another school's case (403); the school's own acknowledges (201, by its
 * token, with the note); trust's after it answers 200 with the first's
 * who and when; an unknown rule, case or field is refused.
 */
static void
test_api_roles(void **state)
{
        struct api *a = *state;
        char token[128];
        json_int_t oak = notify(a, OAK, NULL, "it", token, sizeof(token));
        json_int_t ash = notify(a, ASH, NULL, "ash", token, sizeof(token));
        const char *body = "{\"rule\": \"" RULE "\", \"note\": \"by phone\"}";
        struct api_resp r, r2;

        post_ack(a, oak, a->viewer, body, &r);
        api_want(&r, 403, "a viewer token may not acknowledge");
        api_resp_free(&r);
        post_ack(a, ash, a->school, body, &r);
        api_want(&r, 403, "not of one of your schools");
        api_resp_free(&r);
        assert_int_equal(acks_of(a, OAK), 0);
        assert_int_equal(acks_of(a, ASH), 0);

        post_ack(a, oak, a->school, "{\"rule\": \"nosuch\"}", &r);
        api_want(&r, 404, "no alert of rule 'nosuch'");
        api_resp_free(&r);
        post_ack(a, oak, a->school, "{\"note\": \"x\"}", &r);
        api_want(&r, 422, "'rule' is required");
        api_resp_free(&r);
        post_ack(a, oak, a->school, "{\"rule\": \"" RULE "\", \"by\": \"x\"}",
                 &r);
        api_want(&r, 422, "unknown field 'by'");
        api_resp_free(&r);
        post_ack(a, 9999, a->trust, body, &r);
        assert_int_equal(r.status, 404);
        api_resp_free(&r);

        post_ack(a, oak, a->school, body, &r);
        api_want(&r, 201, NULL);
        assert_true(json_is_true(json_object_get(jobj(r.json, "ack"), "new")));
        assert_string_equal(jstr(jobj(r.json, "ack"), "by"), "token:school");
        assert_string_equal(jstr(jobj(r.json, "ack"), "note"), "by phone");
        post_ack(a, oak, a->trust, "{\"rule\": \"" RULE "\"}", &r2);
        api_want(&r2, 200, NULL);
        assert_string_equal(jstr(jobj(r2.json, "ack"), "by"), "token:school");
        assert_string_equal(jstr(jobj(r2.json, "ack"), "at"),
                            jstr(jobj(r.json, "ack"), "at"));
        api_resp_free(&r);
        api_resp_free(&r2);
        assert_int_equal(acks_of(a, OAK), 1);
        want_deadline(a, OAK, "cancelled");
        /* The audit trail has the first, from the web; not the second. */
        assert_int_equal(audited(a, OAK, "web", "token:school"), 1);
        assert_int_equal(audited(a, OAK, "web", "token:trust"), 0);

        post_ack(a, ash, a->trust, body, &r);
        api_want(&r, 201, NULL);
        assert_string_equal(jstr(jobj(r.json, "ack"), "by"), "token:trust");
        api_resp_free(&r);
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                CLUSTER_TEST(test_link_get_then_post),
                CLUSTER_TEST(test_link_refused),
                CLUSTER_TEST(test_link_two_posts),
                CLUSTER_TEST(test_link_other_school),
                CLUSTER_TEST(test_api_roles),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return CLUSTER_RUN(tests, NULL, NULL);
}
