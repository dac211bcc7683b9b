/*
 * browser: the sign-in forms of the pages (docs/web.md). POST /signin
 * sends a one-time link to a user's address through the scheduler
 * (control command signin_mail, delivered by the email worker), and
 * answers the same whether or not the address is a user's; POST
 * /signin/{token} spends the link and opens a session; POST /signout
 * ends it. http.c has already refused any of them that is not
 * same-origin. Each answers with a redirect to a page, which says what
 * happened (its ?m=).
 */
#include "web.h"

#include "conf.h"
#include "limit.h"
#include "log.h"
#include "session.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMAIL_MAX 254

/* A 303 to `location` (a path of this site). */
static void
see_other(struct reply *r, const char *location)
{
        r->status = 303;
        r->location = location;
        r->text = xstrdup("");
        r->type = "text/plain; charset=utf-8";
}

/* The session cookie: `sid`, or an expired empty one when NULL. */
static char *
cookie(const struct web *w, const char *sid)
{
        char *c;

        xasprintf(&c, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
                  BROWSER_COOKIE, sid != NULL ? sid : "",
                  sid != NULL ? w->conf->web.session_max : 0,
                  w->secure ? "; Secure" : "");
        return c;
}

/*
 * Whether a link to `email` asked for by `client` is within the limits
 * (limit.h), counted whether or not the address is a user's. A refusal
 * is logged once per window of what refused it, without a link.
 */
static bool
within_limit(struct web *w, const char *email, const char *client)
{
        bool first;
        int64_t until;
        enum limit_verdict v =
            limit_signin(w->limits, email, client, w->now(), &first, &until);

        if (v != LIMIT_OK && first)
                log_notice("sign-in for '%s' from '%s': over the limit of "
                           "%d %s per %d min, no email for %lld s (said "
                           "once a window)",
                           email, client,
                           v == LIMIT_ADDRESS ? LIMIT_PER_ADDRESS
                                              : LIMIT_PER_CLIENT,
                           v == LIMIT_ADDRESS ? "links to an address"
                                              : "requests from a client",
                           LIMIT_WINDOW / 60, (long long)(until - w->now()));
        return v == LIMIT_OK;
}

/*
 * POST /signin (email=ADDRESS): a link to a user's address, nothing to
 * anyone else, nor past the limits (limit.h), and the same answer in
 * every case, as soon in every case (the email is asked for after the
 * answer, r->after), so the page tells nobody who the users are. A
 * failure to ask is logged, not shown, for the same reason.
 */
static void
signin(struct web *w, const struct form *f, struct reply *r)
{
        const struct conf *conf = w->conf;
        char email[EMAIL_MAX + 1], token[TOKEN_LEN + 1], *url = NULL;
        const struct conf_user *u;

        if (!(conf->web.signin & CONF_SIGNIN_EMAIL)) {
                see_other(r, "/signin?m=off");
                return;
        }
        if (f->body == NULL ||
            request_form_value(f->body, f->len, "email", email, sizeof(email)) <
                0 ||
            strchr(email, '@') == NULL) {
                see_other(r, "/signin?m=address");
                return;
        }
        see_other(r, "/signin?m=sent");
        if (!within_limit(w, email, f->client))
                return;
        u = conf_user(conf, email);
        if (u == NULL) {
                log_info("sign-in asked for '%s', not a user: no email", email);
                return;
        }
        if (sessions_link_new(w->sessions, u->email, w->now(), token) < 0) {
                log_warnx("sign-in for '%s': no random numbers", u->email);
                return;
        }
        xasprintf(&url, "%s/signin/%s", conf->web.base_url, token);
        /* Sent once the answer has gone: see browser_after(). */
        r->after = json_pack("{s:s, s:s, s:s}", "cmd", "signin_mail", "to",
                             u->email, "url", url);
        explicit_bzero(token, sizeof(token));
        explicit_bzero(url, strlen(url));
        free(url);
}

void
browser_after(struct web *w, json_t *after)
{
        const char *to = json_string_value(json_object_get(after, "to"));
        json_t *url = json_object_get(after, "url"), *reply = NULL;

        if (web_ask(w, after, &reply) == 0 &&
            !json_is_true(json_object_get(reply, "ok")))
                log_warnx("sign-in link for '%s' not sent: %s", to,
                          json_string_value(json_object_get(reply, "error")));
        else if (reply != NULL)
                log_info("sign-in link sent to '%s'", to);
        if (json_is_string(url))
                explicit_bzero((char *)json_string_value(url),
                               json_string_length(url));
        json_decref(after);
        json_decref(reply);
}

/* POST /signin/{token}: the link spent, a session begun. */
static void
use_link(struct web *w, const struct request_route *route, struct reply *r)
{
        char sid[TOKEN_LEN + 1];

        if (sessions_link_use(w->sessions, route->token, w->now(), sid) < 0) {
                log_info("a sign-in link was refused: unknown, used or "
                         "expired");
                see_other(r, "/signin?m=expired");
                return;
        }
        r->cookie = cookie(w, sid);
        explicit_bzero(sid, sizeof(sid));
        see_other(r, "/");
}

void
browser_form(struct web *w, const struct request_route *route,
             const struct form *f, struct reply *r)
{
        switch (route->id) {
        case ROUTE_SIGNIN:
                signin(w, f, r);
                break;
        case ROUTE_LINK:
                use_link(w, route, r);
                break;
        case ROUTE_SIGNOUT:
                if (f->session != NULL)
                        sessions_end(w->sessions, f->session);
                r->cookie = cookie(w, NULL);
                see_other(r, "/signin?m=out");
                break;
        default:
                web_error(r, 404, "no such resource");
                break;
        }
}
