/*
 * graph: Microsoft Graph's sendMail, for tenants that keep SMTP AUTH off
 * (email.transport = "graph").
 *
 * The message email_build() makes, as MIME text (email_mime_text()),
 * base64 in the body of POST {graph_url}/users/{sender}/sendMail with
 * Content-Type text/plain and the token of email.oauth2 (scope
 * https://graph.microsoft.com/.default, the Mail.Send application
 * permission). What Graph answers is classified here, purely.
 */
#ifndef ONOTIFY_GRAPH_H
#define ONOTIFY_GRAPH_H

#include "backend.h"

/* The sendMail URL for sender `addr` under `base` (no final '/').
 * Caller frees. */
char *graph_send_url(const char *base, const char *addr);

/*
 * The outcome of Graph's answer `r`: 202 delivered; 429, 503 and other
 * 5xx retried (*retry_after from Retry-After); 401 failed (the token was
 * renewed once already: the app lacks the permission); 400, 403, 404 and
 * other 4xx failed for good; *error "Graph 403: ErrorAccessDenied: ..."
 * with Graph's error code and the start of its message (caller frees).
 * Without a status, a transport error: retried.
 */
enum outcome graph_classify(const struct http_response *r, long *retry_after,
                            char **error);

#endif
