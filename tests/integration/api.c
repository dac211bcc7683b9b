#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <curl/curl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void
write_conf(struct cluster *c, const struct api_world *w)
{
        FILE *fp = cluster_conf_begin(c, NULL);

        if (w->mail)
                fprintf(fp,
                        "email = { smtp = \"smtp://127.0.0.1:%d\"; "
                        "tls = \"none\";\n  from = \"alerts@trust.example\"; "
                        "};\n",
                        c->smtp_port);
        fprintf(fp,
                "channels = ( { name = \"it\"; type = \"webhook\";\n"
                "  url = \"http://127.0.0.1:9/hook\"; }%s );\n",
                w->mail ? ",\n  { name = \"heads\"; type = \"email\"; "
                          "to = [ \"office@oak.sch.uk\" ]; }"
                        : "");
        fprintf(fp, "schools = (\n");
        if (w->first_school != NULL)
                fprintf(fp, "  { %s },\n", w->first_school);
        fprintf(fp,
                "  { urn = \"" OAK "\"; name = \"%s\"; "
                "channels = [ \"it\" ]; },\n",
                w->oak_name != NULL ? w->oak_name : "Oak Primary");
        fprintf(fp,
                "  { urn = \"" ASH "\"; name = \"Ash Academy\"; "
                "channels = [ \"it\" ]; } );\n"
                "rules = (\n"
                /* One working day, not the shipped rule's same day: a
                 * notification recorded now is then always due later,
                 * whatever the time of the run (after 16:30 the same day's
                 * deadline has passed and nothing would be scheduled). */
                "  { name = \"deferral_cutoff\"; event = \"notification\";\n"
                "    deadline = { working_days = 1; time = \"16:30\"; };\n"
                "    alerts = [ \"deadline\" ]; },\n"
                "  { name = \"pause_limit\"; event = \"pause\";\n"
                "    deadline = { working_days = 5; time = \"17:00\"; };\n"
                "    alerts = [ \"deadline\" ];\n"
                "    cancel_on = [ \"resume\" ]; }%s%s%s );\n"
                "users = ( { email = \"head@oak.sch.uk\"; role = \"school\"; "
                "schools = [ \"" OAK "\" ]; },\n"
                "  { email = \"ceo@trust.example\"; role = \"trust\"; } );\n",
                w->rule != NULL ? ",\n  { " : "",
                w->rule != NULL ? w->rule : "", w->rule != NULL ? " }" : "");
        cluster_conf_web(fp, w->timeout_ms > 0 ? w->timeout_ms : 700, w->web);
        cluster_conf_end(fp);
}

void
api_token(struct cluster *c, const char *name, const char *role,
          const char *school, char *out)
{
        struct proc_result r =
            school != NULL
                ? cluster_ctl(c, "token", "create", name, "--role", role,
                              "--school", school, NULL)
                : cluster_ctl(c, "token", "create", name, "--role", role, NULL);
        size_t n;

        if (r.status != 0)
                fail_msg("token create %s: %s", name, r.err);
        n = strlen(r.out);
        /* The token alone on stdout, one line. */
        assert_true(n > 1 && n < 64 && r.out[n - 1] == '\n');
        assert_null(strchr(r.out, ' '));
        memcpy(out, r.out, n - 1);
        out[n - 1] = '\0';
        proc_result_free(&r);
}

int
api_setup(void **state)
{
        static const struct api_world plain = { 0 };

        return api_setup_with(state, &plain);
}

int
api_setup_with(void **state, const struct api_world *w)
{
        struct api *a = calloc(1, sizeof(*a));

        if (a == NULL || cluster_init(&a->c, "api") < 0) {
                free(a);
                return -1;
        }
        if (w->mail && cluster_smtpsink_start(&a->c, NULL, NULL) < 0) {
                cluster_fini(&a->c);
                free(a);
                return -1;
        }
        write_conf(&a->c, w);
        cluster_daemon_start(&a->c, NULL);
        if (w->mail) {
                cluster_worker_start(&a->c, 0, "email", NULL, NULL);
                cluster_wait_workers(&a->c, "email", 1);
        }
        if (w->stepped)
                cluster_web_start_with(&a->c, cluster_clock_env(&a->c));
        else
                cluster_web_start(&a->c);
        api_token(&a->c, "viewer", "viewer", OAK, a->viewer);
        api_token(&a->c, "school", "school", OAK, a->school);
        api_token(&a->c, "trust", "trust", NULL, a->trust);
        api_token(&a->c, "admin", "admin", NULL, a->admin);
        *state = a;
        return 0;
}

int
api_teardown(void **state)
{
        struct api *a = *state;

        if (a->c.web > 0)
                assert_int_equal(cluster_web_stop(&a->c, SIGTERM), 0);
        cluster_pass(&a->c);
        cluster_fini(&a->c);
        free(a);
        return 0;
}

/* Appends a piece of the reply to the string *arg (the body or the
 * header lines). */
static size_t
gather(char *data, size_t size, size_t n, void *arg)
{
        char **text = arg;
        size_t len = strlen(*text);

        *text = realloc(*text, len + size * n + 1);
        assert_non_null(*text);
        memcpy(*text + len, data, size * n);
        (*text)[len + size * n] = '\0';
        return size * n;
}

bool
api_header(const struct api_resp *r, const char *name, char *out, size_t size)
{
        size_t n = strlen(name);

        for (const char *p = r->headers; p != NULL && *p != '\0';) {
                const char *end = strstr(p, "\r\n");
                size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

                if (len > n + 1 && strncasecmp(p, name, n) == 0 &&
                    p[n] == ':') {
                        const char *v = p + n + 1;

                        while (*v == ' ')
                                v++;
                        len -= (size_t)(v - p);
                        snprintf(out, size, "%.*s", (int)len, v);
                        return true;
                }
                p = end != NULL ? end + 2 : NULL;
        }
        return false;
}

void
api_call(struct api *a, const char *method, const char *path, const char *token,
         const char *type, const char *body, size_t len, struct api_resp *r)
{
        struct api_req q = { method, path, token, type, body, len, NULL };

        api_request(a, &q, r);
}

void
api_request(struct api *a, const struct api_req *q, struct api_resp *r)
{
        api_request_at(a, NULL, NULL, q, r);
}

void
api_request_at(struct api *a, const char *site, const char *cainfo,
               const struct api_req *q, struct api_resp *r)
{
        CURL *h = curl_easy_init();
        struct curl_slist *headers = NULL, *resolve = NULL;
        char url[512], line[512];
        const char *method = q->method, *path = q->path, *body = q->body;
        size_t len = q->len;
        CURLcode rc;

        memset(r, 0, sizeof(*r));
        r->body = calloc(1, 1);
        r->headers = calloc(1, 1);
        assert_non_null(h);
        if (site != NULL) {
                const char *host = strstr(site, "://");

                assert_non_null(host);
                snprintf(url, sizeof(url), "%s%s", site, path);
                snprintf(line, sizeof(line), "%s:127.0.0.1", host + 3);
                resolve = curl_slist_append(resolve, line);
                curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
                curl_easy_setopt(h, CURLOPT_CAINFO, cainfo);
        } else
                snprintf(url, sizeof(url), "http://127.0.0.1:%d%s",
                         a->c.web_port, path);
        if (q->token != NULL) {
                snprintf(line, sizeof(line), "Authorization: Bearer %s",
                         q->token);
                headers = curl_slist_append(headers, line);
        }
        if (q->type != NULL) {
                snprintf(line, sizeof(line), "Content-Type: %s", q->type);
                headers = curl_slist_append(headers, line);
        }
        for (size_t i = 0; q->headers != NULL && q->headers[i] != NULL; i++)
                headers = curl_slist_append(headers, q->headers[i]);
        /* No "Expect: 100-continue" pause on a big body. */
        headers = curl_slist_append(headers, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gather);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, gather);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
        if (body != NULL) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)len);
        }
        rc = curl_easy_perform(h);
        /* A server may close after refusing a body it did not read. */
        if (rc != CURLE_OK && rc != CURLE_SEND_ERROR)
                fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        r->json = json_loads(r->body, 0, NULL);
        curl_slist_free_all(headers);
        curl_slist_free_all(resolve);
        curl_easy_cleanup(h);
}

void
api_get(struct api *a, const char *path, const char *token, struct api_resp *r)
{
        api_call(a, "GET", path, token, NULL, NULL, 0, r);
}

void
api_get_want(struct api *a, const char *path, const char *token, long status,
             const char *needle)
{
        struct api_resp r;

        api_get(a, path, token, &r);
        api_want(&r, status, needle);
        api_resp_free(&r);
}

void
api_post_event(struct api *a, const char *urn, const char *token,
               const char *json, struct api_resp *r)
{
        char path[128];

        snprintf(path, sizeof(path), "/api/v1/schools/%s/events", urn);
        api_call(a, "POST", path, token, "application/json", json, strlen(json),
                 r);
}

void
api_want(const struct api_resp *r, long status, const char *needle)
{
        const char *error;

        if (r->status != status)
                fail_msg("want HTTP %ld, got %ld: %s", status, r->status,
                         r->body);
        if (status < 400)
                return;
        error = json_string_value(json_object_get(r->json, "error"));
        if (error == NULL || strstr(error, needle) == NULL)
                fail_msg("HTTP %ld: want an error holding '%s': %s", status,
                         needle, r->body);
}

void
api_resp_free(struct api_resp *r)
{
        free(r->body);
        free(r->headers);
        json_decref(r->json);
        memset(r, 0, sizeof(*r));
}

json_int_t
api_two_actors(struct api *a, char *unix_actor, size_t len)
{
        struct api_resp r;
        struct proc_result p;
        json_int_t id;

        snprintf(unix_actor, len, "unix:%s", getpwuid(getuid())->pw_name);
        api_post_event(a, OAK, a->school, "{\"kind\": \"notification\"}", &r);
        api_want(&r, 201, NULL);
        id = jint(r.json, "case");
        api_resp_free(&r);
        p = cluster_ctl(&a->c, "pause", "--school", OAK, NULL);
        assert_int_equal(p.status, 0);
        proc_result_free(&p);
        return id;
}
