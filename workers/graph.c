#include "graph.h"

#include "xalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_MAX 300 /* characters of Graph's message in an error */

char *
graph_send_url(const char *base, const char *addr)
{
        char *user = curl_easy_escape(NULL, addr, 0), *url;

        if (user == NULL)
                abort(); /* only when out of memory */
        xasprintf(&url, "%s/users/%s/sendMail", base, user);
        curl_free(user);
        return url;
}

/* "CODE: message" from Graph's {"error":{"code","message"}}, or NULL. */
static char *
graph_error(const struct http_response *r)
{
        json_t *root = NULL, *e;
        const char *code, *msg;
        char *out = NULL;

        if (r->body != NULL && r->len > 0)
                root = json_loadb(r->body, r->len, 0, NULL);
        e = json_object_get(root, "error");
        code = json_string_value(json_object_get(e, "code"));
        msg = json_string_value(json_object_get(e, "message"));
        if (code != NULL) {
                xasprintf(&out, "%s%s%.*s", code, msg != NULL ? ": " : "",
                          MESSAGE_MAX, msg != NULL ? msg : "");
                for (char *p = out; *p != '\0'; p++) {
                        if ((unsigned char)*p < 0x20)
                                *p = ' ';
                }
        }
        json_decref(root);
        return out;
}

enum outcome
graph_classify(const struct http_response *r, long *retry_after, char **error)
{
        char *what = NULL;
        enum outcome o;

        *error = NULL;
        *retry_after = -1;
        if (r->status == 0) {
                xasprintf(error, "Graph: %s",
                          r->transport_error ? r->transport_error
                                             : "no answer");
                return OUTCOME_RETRY;
        }
        if (r->status == 202 || (r->status >= 200 && r->status < 300))
                return OUTCOME_DELIVERED;
        what = graph_error(r);
        if (r->status == 429 || r->status >= 500) {
                *retry_after = r->retry_after;
                o = OUTCOME_RETRY;
        } else {
                o = OUTCOME_FAILED;
        }
        if (r->status == 401)
                xasprintf(error,
                          "Graph 401: the token was refused%s%s (does the "
                          "app have Mail.Send with admin consent?)",
                          what != NULL ? ": " : "", what != NULL ? what : "");
        else
                xasprintf(error, "Graph %ld%s%s", r->status,
                          what != NULL ? ": " : "", what != NULL ? what : "");
        free(what);
        return o;
}
