/*
 * Who recorded each event: "token:NAME" through the API, "unix:USER" (the
 * peer's credentials) through ofsted-notifyctl, each shown by show (CLI,
 * control reply, API); and an actor named by a process that is not the
 * web service's user (web.user) is refused.
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
#include <unistd.h>

static void
test_actor_shown(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        struct proc_result p;
        char unix_actor[128], path[64];
        json_t *show, *events;
        json_int_t id;

        id = api_two_actors(a, unix_actor, sizeof(unix_actor));

        /* The control reply, through ofsted-notifyctl show --json. */
        show = cluster_ctl_json(&a->c, "show", "--school", OAK, "--json", NULL);
        events = jarr(jobj(show, "case"), "events");
        assert_int_equal(json_array_size(events), 2);
        assert_string_equal(jstr(json_array_get(events, 0), "actor"),
                            "token:school");
        assert_string_equal(jstr(json_array_get(events, 1), "actor"),
                            unix_actor);
        json_decref(show);
        /* The CLI's table. */
        p = cluster_ctl(&a->c, "show", "--school", OAK, NULL);
        assert_int_equal(p.status, 0);
        assert_non_null(strstr(p.out, "BY"));
        assert_non_null(strstr(p.out, "token:school"));
        assert_non_null(strstr(p.out, unix_actor));
        proc_result_free(&p);
        /* The API. */
        snprintf(path, sizeof(path), "/api/v1/cases/%lld", (long long)id);
        api_get(a, path, a->viewer, &r);
        api_want(&r, 200, NULL);
        events = jarr(jobj(r.json, "case"), "events");
        assert_string_equal(jstr(json_array_get(events, 0), "actor"),
                            "token:school");
        assert_string_equal(jstr(json_array_get(events, 1), "actor"),
                            unix_actor);
        api_resp_free(&r);
        /* And who made each token. */
        p = cluster_ctl(&a->c, "token", "list", NULL);
        assert_non_null(strstr(p.out, unix_actor));
        proc_result_free(&p);
}

/*
 * The same web process, but the scheduler's web.user is another user: the
 * actor it names is refused, and nothing is recorded.
 */
static void
test_actor_only_from_web_user(void **state)
{
        struct api *a = *state;
        struct api_resp r;
        FILE *fp;
        char conf[4096];
        size_t n;
        char *at;

        /* web.user = "nobody" in the daemon's config: restart it. */
        fp = fopen(a->c.conf, "r");
        assert_non_null(fp);
        n = fread(conf, 1, sizeof(conf) - 1, fp);
        fclose(fp);
        conf[n] = '\0';
        at = strstr(conf, "user = \"");
        assert_non_null(at);
        assert_int_equal(cluster_daemon_stop(&a->c, SIGTERM), 0);
        fp = fopen(a->c.conf, "w");
        assert_non_null(fp);
        fprintf(fp, "%.*suser = \"nobody\";%s", (int)(at - conf), conf,
                strchr(at, ';') + 1);
        fclose(fp);
        cluster_daemon_start(&a->c, NULL);

        api_post_event(a, OAK, a->school, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 422,
                 "'actor' is taken only from the web service's "
                 "user 'nobody'");
        api_resp_free(&r);
        api_get(a, "/api/v1/cases?all=true", a->admin, &r);
        api_want(&r, 200, NULL);
        assert_int_equal(json_array_size(jarr(r.json, "cases")), 0);
        api_resp_free(&r);
}

CLUSTER_MAIN({
    API_TEST(test_actor_shown),
    API_TEST(test_actor_only_from_web_user),
})
