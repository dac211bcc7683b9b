#include "auth.h"

#include "web.h"

#include "conf.h"
#include "session.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *
auth_bearer(const char *authorization)
{
        if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7))
                return NULL;
        authorization += 7;
        while (*authorization == ' ')
                authorization++;
        return authorization;
}

/* A person of the config's users as principal `kind`; -1 when the
 * address is not one. */
static int
person(struct web *w, const char *email, enum principal_kind kind,
       struct principal *p)
{
        const struct conf_user *u = conf_user(w->conf, email);

        if (u == NULL)
                return -1;
        p->kind = kind;
        p->role = u->role;
        snprintf(p->actor, sizeof(p->actor), "user:%s", u->email);
        for (size_t i = 0; i < u->nschools && i < AUTH_MAX_SCHOOLS; i++)
                snprintf(p->schools[p->nschools++], NAMES_URN_LEN + 1, "%s",
                         u->schools[i]);
        return 0;
}

int
auth_request(struct web *w, const struct auth_input *in, struct principal *p,
             const char **why)
{
        const char *token = auth_bearer(in->authorization);
        json_t *req, *reply = NULL;
        bool feed = token == NULL && in->feed_key != NULL;
        int status = 401;

        memset(p, 0, sizeof(*p));
        *why = "no credentials: send 'Authorization: Bearer TOKEN', or sign "
               "in";
        if (token == NULL && !feed && in->session != NULL) {
                const char *email =
                    sessions_get(w->sessions, in->session, w->now());

                *why = "your session has ended: sign in again";
                if (email == NULL || person(w, email, PRINCIPAL_SESSION, p) < 0)
                        return 401;
                *why = NULL;
                return 0;
        }
        if (token == NULL && !feed && in->proxy_user != NULL) {
                *why = "your account is not one of this service's users";
                if (person(w, in->proxy_user, PRINCIPAL_PROXY, p) < 0)
                        return 403;
                *why = NULL;
                return 0;
        }
        if (token == NULL && !feed)
                return 401;
        *why = "unknown or revoked token";
        /* The shape is checked here too: nothing else goes to the
         * scheduler, and a header cannot smuggle anything in. */
        if (!token_well_formed(feed ? in->feed_key : token))
                return 401;
        req = json_pack("{s:s, s:s}", "cmd", "token_auth",
                        feed ? "feed" : "token", feed ? in->feed_key : token);
        if (web_ask(w, req, &reply) < 0) {
                *why = "the scheduler does not answer";
                status = 503;
                goto out;
        }
        if (!json_is_true(json_object_get(reply, "ok")) ||
            auth_holder(json_object_get(reply, "token"), feed ? NULL : token,
                        p) < 0)
                goto out;
        status = 0;
        *why = NULL;
out:
        json_decref(req);
        json_decref(reply);
        return status;
}

int
auth_holder(const json_t *holder, const char *token, struct principal *p)
{
        const char *name = json_string_value(json_object_get(holder, "name"));
        const char *role = json_string_value(json_object_get(holder, "role"));
        json_t *urn;
        size_t i;

        memset(p, 0, sizeof(*p));
        if (name == NULL || role == NULL || roles_parse(role, &p->role) < 0)
                return -1;
        p->kind = token != NULL ? PRINCIPAL_TOKEN : PRINCIPAL_FEED;
        snprintf(p->actor, sizeof(p->actor), "token:%s", name);
        json_array_foreach(json_object_get(holder, "schools"), i, urn)
        {
                if (p->nschools == AUTH_MAX_SCHOOLS || !json_is_string(urn) ||
                    !names_valid_urn(json_string_value(urn)))
                        continue;
                snprintf(p->schools[p->nschools++], NAMES_URN_LEN + 1, "%s",
                         json_string_value(urn));
        }
        if (token != NULL)
                token_feed_key(token, p->feed_key);
        return 0;
}

bool
auth_sees(const struct principal *p, const char *urn)
{
        if (roles_every_school(p->role))
                return true;
        for (size_t i = 0; i < p->nschools; i++) {
                if (strcmp(p->schools[i], urn) == 0)
                        return true;
        }
        return false;
}

bool
auth_is_browser(const struct principal *p)
{
        return p->kind == PRINCIPAL_SESSION || p->kind == PRINCIPAL_PROXY;
}

bool
auth_may_record(const struct principal *p, const char *urn)
{
        return p->kind != PRINCIPAL_FEED && roles_may_record(p->role) &&
               auth_sees(p, urn);
}
