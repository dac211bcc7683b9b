/*
 * fuzz_request: ofsted-notify-web's router and body parser (web/request.h)
 * on any input. The first line is "METHOD PATH[?QUERY]", the rest the
 * body. A match names a route whose path parameters have their form; a
 * query parameter is taken only by a route that lists it; the body parser
 * answers 0 with an object holding "kind" and only the known fields, or
 * 400/422 with a reason.
 */
#include "fuzz.h"

#include "names.h"
#include "request.h"

#include <stdlib.h>
#include <string.h>

static const char *const known[] = { "kind", "at", "contact", "note",
                                     "new_case" };

static void
check_body(const char *body, size_t len)
{
        json_t *out = NULL, *v;
        char *why = NULL;
        const char *key;
        int rc = request_event_body(body, len, &out, &why);

        if (rc != 0) {
                FUZZ_CHECK((rc == 400 || rc == 422) && why != NULL &&
                           out == NULL);
                free(why);
                return;
        }
        FUZZ_CHECK(json_is_object(out) && why == NULL);
        FUZZ_CHECK(json_is_string(json_object_get(out, "kind")));
        json_object_foreach(out, key, v)
        {
                bool ok = false;

                for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        ok |= strcmp(key, known[i]) == 0;
                FUZZ_CHECK(ok);
        }
        json_decref(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), *nl, *sp, *q;
        struct request_route r;
        const char *allow;
        int rc;

        FUZZ_CHECK(text != NULL);
        memcpy(text, data, size);
        text[size] = '\0';
        nl = memchr(text, '\n', size);
        if (nl != NULL)
                *nl = '\0';
        sp = strchr(text, ' ');
        if (sp != NULL) {
                *sp = '\0';
                q = strchr(sp + 1, '?');
                if (q != NULL)
                        *q = '\0';
                rc = request_match(text, sp + 1, &r, &allow);
                FUZZ_CHECK(rc == 0 || rc == 404 || rc == 405);
                FUZZ_CHECK((rc == 405) == (allow != NULL));
                if (rc == 0 && r.urn[0] != '\0')
                        FUZZ_CHECK(names_valid_urn(r.urn));
                if (rc == 0 && r.id == ROUTE_CASE)
                        FUZZ_CHECK(r.case_id > 0);
                if (rc == 0 && q != NULL) {
                        /* Each key of the query: taken or not, no crash. */
                        for (char *k = strtok(q + 1, "&"); k != NULL;
                             k = strtok(NULL, "&")) {
                                char *eq = strchr(k, '=');

                                if (eq != NULL)
                                        *eq = '\0';
                                (void)request_param_ok(&r, k);
                        }
                }
        }
        if (nl != NULL)
                check_body(nl + 1, size - (size_t)(nl + 1 - text));
        free(text);
        return 0;
}
