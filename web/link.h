/*
 * link: the one-click acknowledgement page, /a/{token} (issue 21).
 *
 * The token in an alert's link is the permission: no sign-in. GET shows
 * the school, the rule, the deadline and the time left, and a form whose
 * POST acknowledges (mail scanners fetch every link, so a GET never acts).
 * The scheduler judges the token (control commands `link` and `ack`); an
 * unknown token answers 404, an expired one 410, each a page that says so.
 * Pages are plain HTML, every value escaped, no script or inline style
 * (Content-Security-Policy: default-src 'self'), readable at 360 px.
 */
#ifndef ONOTIFY_WEB_LINK_H
#define ONOTIFY_WEB_LINK_H

#include "web.h"

#include <stdbool.h>
#include <stddef.h>

/* Whether `url` is a link's path, "/a/..."; then link_serve() answers. */
bool link_path(const char *url);
/*
 * Answers `method` on link path `url` with the form `body` (a POST's,
 * application/x-www-form-urlencoded; may be NULL): an HTML page in *r.
 */
void link_serve(struct web *w, const char *method, const char *url,
                const char *body, size_t len, struct reply *r);
/* `s` with & < > " ' as HTML entities; caller frees. */
char *link_html_escape(const char *s);
/* The value of `key` in a form body, URL-decoded (caller frees); NULL when
 * absent. */
char *link_form_value(const char *body, size_t len, const char *key);

#endif
