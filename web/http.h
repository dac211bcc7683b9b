/*
 * http: ofsted-notify-web's HTTP server (libmicrohttpd), one polling
 * thread that serves every request through request.h, auth.h and api.c.
 */
#ifndef ONOTIFY_WEB_HTTP_H
#define ONOTIFY_WEB_HTTP_H

#include "web.h"

struct MHD_Daemon;

/*
 * Listens on w->conf->web.listen, with TLS when `cert` and `key` (PEM
 * text) are given. NULL with *cause (caller frees) when it cannot.
 */
struct MHD_Daemon *http_start(struct web *w, const char *cert, const char *key,
                              char **cause);
/* Stops it; NULL is fine. */
void http_stop(struct MHD_Daemon *d);
/* The port it listens on (web.listen's port 0 picks a free one). */
int http_port(struct MHD_Daemon *d);

#endif
