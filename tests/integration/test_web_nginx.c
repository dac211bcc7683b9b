/*
 * The README's recipe "Behind nginx and oauth2-proxy with Microsoft
 * Entra ID", run as written: its oauth2-proxy config, its nginx server
 * blocks and its web settings are taken from README.md at test time, with
 * only what a test machine must change substituted (each substitution
 * must match as often as the recipe says, or the test names what it did
 * not find). nginx (Debian's, with auth_request) serves them over TLS on
 * loopback with a test CA's certificate for the recipe's names;
 * oauth2proxysink.py stands in for oauth2-proxy; the scheduler and the
 * web process are api.h's world. Clients reach nginx by name (curl's
 * resolve), verifying its certificate.
 *
 * Without nginx the program exits 77 (CTest: skipped), except under
 * CI=true, where it runs and fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NGINX   "/usr/sbin/nginx"
#define README  SOURCE_DIR "/README.md"
#define SECTION "### Behind nginx and oauth2-proxy with Microsoft Entra ID\n"
#define SITE    "alerts.trust.example"
#define API     "api.alerts.trust.example"
#define COOKIE  "Cookie: _oauth2_proxy=head-session"

struct nx {
        struct api *a;
        struct itest_sink sink; /* oauth2proxysink.py */
        pid_t nginx;
        int port, api_port; /* the site's server block's, the API's */
        char site[64], api[64];
        char dir[160], pidfile[192], errlog[192], access[192], ca[192];
};

/* A loopback port free now, for a server that must be told its port. */
static int
free_port(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port;

        assert_true(fd >= 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

/* The recipe's section of README.md, to the next heading. New string. */
static char *
recipe_section(void)
{
        char *text = slurp(README), *start = strstr(text, SECTION), *end;

        if (start == NULL)
                fail_msg("README.md: no section '%.*s'",
                         (int)strlen(SECTION) - 1, SECTION);
        start += strlen(SECTION);
        end = strstr(start, "\n#");
        if (end != NULL)
                *end = '\0';
        memmove(text, start, strlen(start) + 1);
        return text;
}

/*
 * The section's fenced block holding `needle`, its lines without the
 * fence's indentation (the recipe's steps are list items). New string.
 */
static char *
fenced_block(const char *section, const char *needle)
{
        const char *p = section;

        while ((p = strstr(p, "```")) != NULL) {
                const char *bol = p, *body = strchr(p, '\n'), *close;
                size_t indent;
                char *out, *o;

                while (bol > section && bol[-1] == ' ')
                        bol--;
                indent = (size_t)(p - bol);
                if (body == NULL || (close = strstr(body, "```")) == NULL)
                        break;
                body++;
                p = close + 3;
                if (memmem(body, (size_t)(close - body), needle,
                           strlen(needle)) == NULL)
                        continue;
                out = o = calloc(1, (size_t)(close - body) + 1);
                assert_non_null(out);
                for (const char *l = body; l < close;) {
                        const char *nl = memchr(l, '\n', (size_t)(close - l));
                        size_t n = nl != NULL ? (size_t)(nl - l) + 1
                                              : (size_t)(close - l);

                        for (size_t i = 0; i < indent && n > 0 && *l == ' ';
                             i++, n--)
                                l++;
                        memcpy(o, l, n);
                        o += n;
                        l += n;
                }
                return out;
        }
        fail_msg("README.md, '%.*s': no fenced block holding '%s'",
                 (int)strlen(SECTION) - 1, SECTION, needle);
        return NULL;
}

/*
 * Replaces `from` with `to` in *text, which must hold it exactly `n`
 * times: a recipe edited past what this test assumes fails here, saying
 * what it did not find in which block.
 */
static void
subst(char **text, const char *what, const char *from, const char *to, int n)
{
        size_t lf = strlen(from), lt = strlen(to);
        int found = 0;
        char *out, *o;

        for (const char *p = *text; (p = strstr(p, from)) != NULL; p += lf)
                found++;
        if (found != n)
                fail_msg("README.md's %s: '%s' found %d times, want %d", what,
                         from, found, n);
        out = o = calloc(1, strlen(*text) + (size_t)n * lt + 1);
        assert_non_null(out);
        for (const char *p = *text, *q; *p != '\0'; p = q + lf) {
                q = strstr(p, from);
                if (q == NULL) {
                        strcpy(o, p);
                        break;
                }
                memcpy(o, p, (size_t)(q - p));
                o += q - p;
                memcpy(o, to, lt);
                o += lt;
                *o = '\0';
        }
        free(*text);
        *text = out;
}

/* Step 4's web settings, an inline code span, with the site's port in
 * base_url (the browser's Origin carries it). New string. */
static char *
web_settings(const char *section, const char *site)
{
        const char *lead = "In `ofsted-notify.conf`: `";
        const char *p = strstr(section, lead), *end;
        char *out, *o, quoted[80];

        if (p == NULL)
                fail_msg("README.md's step 4: no '%s'", lead);
        p += strlen(lead);
        end = strchr(p, '`');
        assert_non_null(end);
        out = o = calloc(1, (size_t)(end - p) + 1);
        assert_non_null(out);
        for (; p < end; p++) {
                if (*p == '\n') { /* the span goes on, indented */
                        *o++ = ' ';
                        while (p[1] == ' ')
                                p++;
                } else
                        *o++ = *p;
        }
        snprintf(quoted, sizeof(quoted), "\"%s\"", site);
        subst(&out, "step 4", "\"https://" SITE "\"", quoted, 1);
        return out;
}

static void
write_file(const char *path, const char *text)
{
        FILE *fp = fopen(path, "w");

        assert_non_null(fp);
        assert_true(fputs(text, fp) >= 0);
        assert_int_equal(fclose(fp), 0);
}

/* Makes a test CA and a certificate it signed for both of the recipe's
 * names (smtpsink.py --make-cert). */
static void
make_cert(struct nx *x)
{
        char *argv[] = { SMTPSINK_PYTHON,
                         SMTPSINK_SCRIPT,
                         "--make-cert",
                         x->dir,
                         "--cert-dns",
                         SITE,
                         "--cert-dns",
                         API,
                         NULL };
        struct proc_result r;

        assert_int_equal(proc_run(argv, NULL, &r), 0);
        if (r.status != 0)
                fail_msg("smtpsink.py --make-cert: %s", r.err);
        proc_result_free(&r);
        snprintf(x->ca, sizeof(x->ca), "%s/ca.pem", x->dir);
}

/* Starts oauth2proxysink.py with the recipe's oauth2-proxy config; no
 * session yet. */
static void
start_sink(struct nx *x, const char *section)
{
        char *cfg = fenced_block(section, "provider = ");
        char path[192], sessions[192];
        char *argv[] = { SMTPSINK_PYTHON,
                         SOURCE_DIR "/tests/integration/oauth2proxysink.py",
                         "--config",
                         path,
                         "--sessions",
                         sessions,
                         "--port-file",
                         x->sink.portfile,
                         "--log",
                         x->sink.out,
                         NULL };

        itest_sink_prepare(&x->sink, "oauth2proxy", "requests.jsonl");
        snprintf(path, sizeof(path), "%s/oauth2-proxy.cfg", x->sink.dir);
        snprintf(sessions, sizeof(sessions), "%s/sessions.json", x->sink.dir);
        write_file(path, cfg);
        spill(sessions, "{ \"head-session\": \"head@oak.sch.uk\" }\n");
        assert_int_equal(proc_start(argv, NULL, x->sink.err, &x->sink.pid), 0);
        itest_sink_wait_port(&x->sink, CLUSTER_START_MS);
        free(cfg);
}

/*
 * One of the recipe's server blocks with this machine's ports and
 * certificate; `what` names it in a failure. It passes `nweb` locations
 * to the web process and `nsink` to oauth2-proxy.
 */
static char *
server_block(struct nx *x, const char *section, const char *name, int port,
             const char *what, int nweb, int nsink)
{
        char needle[96], to[192];
        char *b;

        snprintf(needle, sizeof(needle), "server_name %s;", name);
        b = fenced_block(section, needle);
        snprintf(to, sizeof(to), "listen 127.0.0.1:%d ssl;", port);
        subst(&b, what, "listen 443 ssl;", to, 1);
        snprintf(to, sizeof(to), "%s/server.pem;", x->dir);
        subst(&b, what, "/etc/ssl/alerts.pem;", to, 1);
        snprintf(to, sizeof(to), "%s/server.key;", x->dir);
        subst(&b, what, "/etc/ssl/private/alerts.key;", to, 1);
        snprintf(to, sizeof(to), "127.0.0.1:%d;", x->a->c.web_port);
        subst(&b, what, "127.0.0.1:8080;", to, nweb);
        snprintf(to, sizeof(to), "127.0.0.1:%d;", x->sink.port);
        subst(&b, what, "127.0.0.1:4180;", to, nsink);
        return b;
}

static bool
pidfile_written(void *arg)
{
        struct nx *x = arg;

        if (!proc_alive(x->nginx))
                return true;
        return access(x->pidfile, F_OK) == 0;
}

/*
 * nginx with the recipe's two server blocks in a minimal nginx.conf of
 * its own prefix: pid, logs and temp paths under x->dir, in the
 * foreground. As root its workers run as root too (they must reach the
 * temp paths in the test's private directory); otherwise the user
 * directive would be ignored, with a warning, so it is left out.
 */
static void
start_nginx(struct nx *x, const char *section)
{
        /* The site's: the pages and the API behind the sign-in, the
         * links, their page's style and script and the calendar feed
         * without; /oauth2/ and its auth. */
        char *site = server_block(x, section, SITE, x->port,
                                  "server block of " SITE, 4, 2);
        char *api = server_block(x, section, API, x->api_port,
                                 "server block of " API, 1, 0);
        char conf[192], out[192], user[128] = "";
        char *argv[] = {
                NGINX, "-p", x->dir, "-e", x->errlog, "-c", conf, NULL
        };
        FILE *fp;

        if (geteuid() == 0)
                snprintf(user, sizeof(user), "user %s %s;\n",
                         getpwuid(geteuid())->pw_name,
                         getgrgid(getegid())->gr_name);
        snprintf(conf, sizeof(conf), "%s/nginx.conf", x->dir);
        snprintf(out, sizeof(out), "%s/nginx.out", x->dir);
        fp = fopen(conf, "w");
        assert_non_null(fp);
        fprintf(fp,
                "%sdaemon off;\nworker_processes 1;\npid %s;\n"
                "error_log %s info;\nevents { worker_connections 64; }\n"
                "http {\n"
                "  log_format t '$request $status upstream=$upstream_addr';\n"
                "  access_log %s t;\n"
                "  client_body_temp_path %s/body;\n"
                "  proxy_temp_path %s/proxy;\n"
                "  fastcgi_temp_path %s/fastcgi;\n"
                "  uwsgi_temp_path %s/uwsgi;\n"
                "  scgi_temp_path %s/scgi;\n"
                "%s\n%s}\n",
                user, x->pidfile, x->errlog, x->access, x->dir, x->dir, x->dir,
                x->dir, x->dir, site, api);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(proc_start(argv, NULL, out, &x->nginx), 0);
        /* The pid file is written once the listening sockets are open. */
        assert_true(cluster_wait_until(pidfile_written, x, CLUSTER_START_MS));
        if (!proc_alive(x->nginx))
                fail_msg("nginx did not start: %s\n%s", slurp(out),
                         slurp(x->errlog));
        free(site);
        free(api);
}

static int
setup(void **state)
{
        struct nx *x = calloc(1, sizeof(*x));
        struct api_world w = { 0 };
        char *section, *web;

        if (x == NULL)
                return -1;
        x->port = free_port();
        x->api_port = free_port();
        snprintf(x->site, sizeof(x->site), "https://" SITE ":%d", x->port);
        snprintf(x->api, sizeof(x->api), "https://" API ":%d", x->api_port);
        section = recipe_section();
        web = web_settings(section, x->site);
        w.web = web;
        if (api_setup_with((void **)&x->a, &w) < 0) {
                free(x);
                return -1;
        }
        snprintf(x->dir, sizeof(x->dir), "%s/nginx", x->a->c.dir);
        assert_int_equal(mkdir(x->dir, 0700), 0);
        snprintf(x->pidfile, sizeof(x->pidfile), "%s/nginx.pid", x->dir);
        snprintf(x->errlog, sizeof(x->errlog), "%s/error.log", x->dir);
        snprintf(x->access, sizeof(x->access), "%s/access.log", x->dir);
        make_cert(x);
        start_sink(x, section);
        start_nginx(x, section);
        free(web);
        free(section);
        *state = x;
        return 0;
}

static int
teardown(void **state)
{
        struct nx *x = *state;

        if (!x->a->c.passed) {
                itest_show_log(x->errlog, 8192);
                itest_show_log(x->access, 8192);
                itest_show_log(x->sink.out, 8192);
                itest_show_log(x->sink.err, 8192);
        }
        if (x->nginx > 0)
                assert_int_equal(proc_stop(x->nginx, SIGTERM), 0);
        itest_sink_cleanup(&x->sink);
        api_teardown((void **)&x->a);
        free(x);
        return 0;
}

/* A request through nginx to `site` (x->site, x->api); NULL-terminated
 * header lines. */
static void
ask(struct nx *x, const char *site, const char *method, const char *path,
    const char *body, const char *const *headers, struct api_resp *r)
{
        struct api_req q = { .method = method,
                             .path = path,
                             .type = body != NULL ? "application/json" : NULL,
                             .body = body,
                             .len = body != NULL ? strlen(body) : 0,
                             .headers = headers };

        api_request_at(x->a, site, x->ca, &q, r);
}

/* ask() that wants `status` and, for an error, `needle` (api_want()). */
static void
ask_want(struct nx *x, const char *site, const char *method, const char *path,
         const char *body, const char *const *headers, long status,
         const char *needle)
{
        struct api_resp r;

        ask(x, site, method, path, body, headers, &r);
        api_want(&r, status, needle);
        api_resp_free(&r);
}

/* The access log's line of `request` ("GET /path HTTP/1.1"), waited for:
 * nginx writes it once the answer has gone. New string. */
static char *
access_line(struct nx *x, const char *request)
{
        char *text, *p, *end;

        cluster_wait_log(x->access, request, 1, 10000);
        text = slurp(x->access);
        p = strstr(text, request);
        end = strchr(p, '\n');
        if (end != NULL)
                *end = '\0';
        memmove(text, p, strlen(p) + 1);
        return text;
}

/*
 * What every case ends with: the web process never said it ignored the
 * proxy's header (every request came from the trusted nginx), and nginx
 * logged nothing critical; then cluster_pass().
 */
static void
pass(struct nx *x)
{
        assert_int_equal(
            cluster_log_count(x->a->c.weblog, "ignoring (said once)"), 0);
        assert_int_equal(cluster_log_count(x->errlog, "[emerg]"), 0);
        assert_int_equal(cluster_log_count(x->errlog, "[alert]"), 0);
        assert_int_equal(cluster_log_count(x->errlog, "[crit]"), 0);
        cluster_pass(&x->a->c);
}

/*
 * No session: a page is answered by nginx with the way to sign in, and
 * the web process never sees the request; oauth2-proxy then sends the
 * browser to Entra ID with the callback step 1 registers and the page
 * asked for as where to land.
 */
static void
test_no_session_signs_in(void **state)
{
        struct nx *x = *state;
        struct api_resp r;
        char loc[1024], web[32];
        char *line;

        ask(x, x->site, "GET", "/schools/" OAK, NULL, NULL, &r);
        api_want(&r, 302, NULL);
        assert_true(api_header(&r, "Location", loc, sizeof(loc)));
        assert_contains(loc, "/oauth2/start?rd=https://" SITE "/schools/" OAK);
        api_resp_free(&r);
        line = access_line(x, "GET /schools/" OAK " HTTP/1.1 302");
        snprintf(web, sizeof(web), "127.0.0.1:%d", x->a->c.web_port);
        assert_null(strstr(line, web));
        free(line);

        ask(x, x->site, "GET", strstr(loc, "/oauth2/start"), NULL, NULL, &r);
        api_want(&r, 302, NULL);
        assert_true(api_header(&r, "Location", loc, sizeof(loc)));
        assert_contains(loc, "https://login.microsoftonline.com/TENANT_ID/"
                             "oauth2/v2.0/authorize?client_id=CLIENT_ID&");
        assert_contains(loc, "&redirect_uri=https%3A%2F%2F" SITE
                             "%2Foauth2%2Fcallback&");
        /* oauth2-proxy's state: NONCE:where the callback lands. */
        assert_contains(loc, "%3Ahttps%3A%2F%2F" SITE "%2Fschools%2F" OAK);
        api_resp_free(&r);
        pass(x);
}

/* A session of the school's head: the API names them, with the school's
 * role, and the other school is refused. */
static void
test_session_names_user(void **state)
{
        struct nx *x = *state;
        const char *h[] = { COOKIE, NULL };
        struct api_resp r;
        char web[32], *line;

        ask(x, x->site, "GET", "/api/v1/me", NULL, h, &r);
        api_want(&r, 200, NULL);
        assert_string_equal(jstr(r.json, "actor"), "user:head@oak.sch.uk");
        assert_string_equal(jstr(r.json, "role"), "school");
        assert_string_equal(jstr(r.json, "signin"), "proxy");
        api_resp_free(&r);
        /* The access log names the web process for what it answered. */
        line = access_line(x, "GET /api/v1/me HTTP/1.1 200");
        snprintf(web, sizeof(web), "127.0.0.1:%d", x->a->c.web_port);
        assert_contains(line, web);
        free(line);

        ask_want(x, x->site, "GET", "/api/v1/upcoming?school=" OAK, NULL, h,
                 200, NULL);
        ask_want(x, x->site, "GET", "/api/v1/upcoming?school=" ASH, NULL, h,
                 403, "");
        pass(x);
}

/* The browser's own X-Auth-Request-Email never reaches the web process:
 * with a session nginx sets it; without one nothing gets through. */
static void
test_forged_header_overwritten(void **state)
{
        struct nx *x = *state;
        const char *forged = "X-Auth-Request-Email: ceo@trust.example";
        const char *h[] = { COOKIE, forged, NULL }, *alone[] = { forged, NULL };
        struct api_resp r;

        ask(x, x->site, "GET", "/api/v1/me", NULL, h, &r);
        api_want(&r, 200, NULL);
        assert_string_equal(jstr(r.json, "actor"), "user:head@oak.sch.uk");
        api_resp_free(&r);
        ask_want(x, x->site, "GET", "/api/v1/me", NULL, alone, 302, NULL);
        pass(x);
}

/* Oak's events as the scheduler has them (show --json): how many. */
static size_t
oak_events(struct nx *x)
{
        struct proc_result p =
            cluster_ctl(&x->a->c, "show", "--school", OAK, "--json", NULL);
        json_t *show;
        size_t n;

        if (p.status != 0) { /* no case: nothing recorded */
                proc_result_free(&p);
                return 0;
        }
        show = jparse(p.out, "show --json");
        n = json_array_size(jarr(jobj(show, "case"), "events"));
        json_decref(show);
        proc_result_free(&p);
        return n;
}

/*
 * A write from the site's page goes through nginx and is recorded as the
 * person; the same from another site is refused and changes nothing.
 */
static void
test_write_from_site_only(void **state)
{
        struct nx *x = *state;
        const char *event = "{\"kind\": \"notification\"}";
        const char *path = "/api/v1/schools/" OAK "/events";
        char origin[96];
        const char *own[] = { COOKIE, origin, "Sec-Fetch-Site: same-origin",
                              NULL };
        const char *foreign[] = { COOKIE, "Origin: https://evil.example",
                                  "Sec-Fetch-Site: cross-site", NULL };
        const char *old[] = { COOKIE, "Origin: https://evil.example", NULL };
        json_t *show;

        snprintf(origin, sizeof(origin), "Origin: %s", x->site);
        ask_want(x, x->site, "POST", path, event, foreign, 403, "another site");
        /* A browser that sends no Sec-Fetch-Site: the Origin decides. */
        ask_want(x, x->site, "POST", path, event, old, 403, "another site");
        assert_int_equal(oak_events(x), 0);

        ask_want(x, x->site, "POST", path, event, own, 201, NULL);
        show =
            cluster_ctl_json(&x->a->c, "show", "--school", OAK, "--json", NULL);
        assert_int_equal(json_array_size(jarr(jobj(show, "case"), "events")),
                         1);
        assert_string_equal(
            jstr(json_array_get(jarr(jobj(show, "case"), "events"), 0),
                 "actor"),
            "user:head@oak.sch.uk");
        json_decref(show);
        pass(x);
}

/* The API's server: a token works; the proxy's header without one is
 * nobody, however it is spelt. */
static void
test_api_server_tokens_only(void **state)
{
        struct nx *x = *state;
        const char *forged[] = { "X-Auth-Request-Email: ceo@trust.example",
                                 NULL };
        char bearer[96];
        const char *tok[] = { bearer, NULL };
        struct api_resp r;

        snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s",
                 x->a->school);
        ask(x, x->api, "GET", "/api/v1/me", NULL, tok, &r);
        api_want(&r, 200, NULL);
        assert_string_equal(jstr(r.json, "actor"), "token:school");
        api_resp_free(&r);
        ask_want(x, x->api, "GET", "/api/v1/me", NULL, forged, 401,
                 "no credentials");
        pass(x);
}

/*
 * What carries its own permission reaches the web process without an
 * Entra ID sign-in on the site's name too: the calendar feed URL a token
 * gets (a calendar app cannot sign in) and an alert's one-click link.
 */
static void
test_feed_and_links_without_signin(void **state)
{
        struct nx *x = *state;
        char bearer[96], url[512];
        const char *tok[] = { bearer, NULL };
        const char *forged[] = { "X-Auth-Request-Email: ceo@trust.example",
                                 NULL };
        struct api_resp r;
        const char *path;

        snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s",
                 x->a->school);
        ask(x, x->api, "GET", "/api/v1/feed", NULL, tok, &r);
        api_want(&r, 200, NULL);
        snprintf(url, sizeof(url), "%s", jstr(r.json, "url"));
        api_resp_free(&r);
        assert_true(strncmp(url, x->site, strlen(x->site)) == 0);
        path = url + strlen(x->site);
        ask(x, x->site, "GET", path, NULL, NULL, &r);
        api_want(&r, 200, NULL);
        assert_contains(r.body, "BEGIN:VCALENDAR");
        api_resp_free(&r);
        /* Without the key it is nobody, whatever the header says. */
        ask_want(x, x->site, "GET", "/api/v1/calendar.ics", NULL, forged, 401,
                 "no credentials");
        /* A link reaches the web process, which judges it. */
        ask(x, x->site, "GET", "/a/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            NULL, NULL, &r);
        assert_int_equal(r.status, 404);
        assert_contains(r.body, "Unknown link");
        api_resp_free(&r);
        /* ... and its page's style sheet and script come without a
         * sign-in too, or a link's page would be bare for them. */
        ask(x, x->site, "GET", "/static/style.css", NULL, NULL, &r);
        api_want(&r, 200, NULL);
        api_resp_free(&r);
        ask(x, x->site, "GET", "/static/common.js", NULL, NULL, &r);
        api_want(&r, 200, NULL);
        api_resp_free(&r);
        pass(x);
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                CLUSTER_TEST(test_no_session_signs_in),
                CLUSTER_TEST(test_session_names_user),
                CLUSTER_TEST(test_forged_header_overwritten),
                CLUSTER_TEST(test_write_from_site_only),
                CLUSTER_TEST(test_api_server_tokens_only),
                CLUSTER_TEST(test_feed_and_links_without_signin),
        };
        const char *ci = getenv("CI");

        if (access(NGINX, X_OK) != 0 && (ci == NULL || strcmp(ci, "true"))) {
                fprintf(stderr,
                        "%s: not installed (Debian's nginx): "
                        "skipped\n",
                        NGINX);
                return 77;
        }
        return CLUSTER_RUN(tests, NULL, NULL);
}
