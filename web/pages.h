/*
 * pages: the web pages of ofsted-notify-web (docs/web.md), static HTML,
 * CSS and JavaScript read once at start from one directory
 * (web.pages, by default the installed /usr/share/ofsted-notify/web):
 * each page is its own fragment (NAME.html) set into the one layout
 * (layout.html: the header, the footer, the scripts), so that a new page
 * is a fragment, a script and a row of pages.c's table. The pages hold
 * no data: their scripts ask the API, and put what it answers on the
 * page as text.
 */
#ifndef ONOTIFY_WEB_PAGES_H
#define ONOTIFY_WEB_PAGES_H

#include "web.h"

struct pages;

/* Reads `dir`: NULL with *cause (caller frees) when a file is missing or
 * unreadable. */
struct pages *pages_load(const char *dir, char **cause);
void pages_destroy(struct pages **pp);

/* The page or file of a ROUTE_KIND_PAGE or _ASSET route into *r (its
 * text borrowed from *p). */
void pages_serve(const struct pages *p, const struct request_route *route,
                 struct reply *r);

/*
 * The layout with "{{title}}", "{{main}}" and "{{scripts}}" replaced by
 * `title`, `main` and one <script src="/static/NAME" defer> per name of
 * `scripts` (NULL-terminated). Pure; caller frees.
 */
char *pages_compose(const char *layout, const char *title, const char *main,
                    const char *const *scripts);

/* A page made here, not of a file: `title` and `main` (HTML, escaped
 * already) in the layout, with only the layout's scripts. Caller frees. */
char *pages_page(const struct pages *p, const char *title, const char *main);

#endif
