#include "auth.h"

#include "web.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The token of "Bearer TOKEN", or NULL. */
static const char *
bearer(const char *authorization)
{
        if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7))
                return NULL;
        authorization += 7;
        while (*authorization == ' ')
                authorization++;
        return authorization;
}

int
auth_request(struct web *w, const struct auth_input *in, struct principal *p,
             const char **why)
{
        const char *token = bearer(in->authorization), *name, *role;
        json_t *req, *reply = NULL, *t, *urn;
        bool feed = token == NULL && in->feed_key != NULL;
        int status = 401;
        size_t i;

        memset(p, 0, sizeof(*p));
        *why = "no credentials: send 'Authorization: Bearer TOKEN'";
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
        t = json_object_get(reply, "token");
        name = json_string_value(json_object_get(t, "name"));
        role = json_string_value(json_object_get(t, "role"));
        if (!json_is_true(json_object_get(reply, "ok")) || name == NULL ||
            role == NULL || roles_parse(role, &p->role) < 0)
                goto out;
        p->kind = feed ? PRINCIPAL_FEED : PRINCIPAL_TOKEN;
        snprintf(p->actor, sizeof(p->actor), "token:%s", name);
        json_array_foreach(json_object_get(t, "schools"), i, urn)
        {
                if (p->nschools == AUTH_MAX_SCHOOLS || !json_is_string(urn) ||
                    !names_valid_urn(json_string_value(urn)))
                        continue;
                snprintf(p->schools[p->nschools++], NAMES_URN_LEN + 1, "%s",
                         json_string_value(urn));
        }
        if (!feed)
                token_feed_key(token, p->feed_key);
        status = 0;
        *why = NULL;
out:
        json_decref(req);
        json_decref(reply);
        return status;
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
auth_may_record(const struct principal *p, const char *urn)
{
        return p->kind == PRINCIPAL_TOKEN && roles_may_record(p->role) &&
               auth_sees(p, urn);
}
