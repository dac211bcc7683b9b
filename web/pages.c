#include "pages.h"

#include "fileio.h"
#include "xalloc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_FILE_MAX (1 << 20)
#define MAX_SCRIPTS   4

/* One row per page: its route, its fragment, its title, its scripts
 * (after common.js, which every page has). */
struct page {
        enum route_id route;
        const char *fragment;
        const char *title;
        const char *scripts[MAX_SCRIPTS + 1];
};

static const struct page page_table[] = {
        { ROUTE_PAGE_HOME,
          "home.html",
          "Your schools",
          { "home.js", "channels.js" } },
        { ROUTE_PAGE_SCHOOL, "school.html", "School", { "school.js" } },
        { ROUTE_PAGE_CASE, "case.html", "Case", { "case.js", "ack.js" } },
        { ROUTE_PAGE_SIGNIN, "signin.html", "Sign in", { "signin.js" } },
        { ROUTE_PAGE_LINK, "link.html", "Sign in", { NULL } },
};

#define NPAGES (sizeof(page_table) / sizeof(page_table[0]))

/* The files served under /static/, by extension. */
static const struct {
        const char *ext, *type;
} types[] = {
        { ".css", "text/css; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".svg", "image/svg+xml" },
};

struct asset {
        char *name, *text;
        const char *type;
};

struct pages {
        char *layout;       /* layout.html, for pages_page() */
        char *html[NPAGES]; /* each page, whole */
        struct asset *assets;
        size_t nassets;
};

char *
pages_compose(const char *layout, const char *title, const char *main,
              const char *const *scripts)
{
        static const char *const marks[] = { "{{title}}", "{{main}}",
                                             "{{scripts}}" };
        char *tags = xstrdup(""), *out = xstrdup(""), *next;
        const char *values[3], *p = layout;

        for (size_t i = 0; scripts != NULL && scripts[i] != NULL; i++) {
                xasprintf(&next,
                          "%s<script src=\"/static/%s\" defer></script>\n",
                          tags, scripts[i]);
                free(tags);
                tags = next;
        }
        values[0] = title;
        values[1] = main;
        values[2] = tags;
        while (*p != '\0') {
                const char *hit = NULL;
                size_t which = 0;

                for (size_t i = 0; i < 3; i++) {
                        const char *h = strstr(p, marks[i]);

                        if (h != NULL && (hit == NULL || h < hit)) {
                                hit = h;
                                which = i;
                        }
                }
                if (hit == NULL) {
                        xasprintf(&next, "%s%s", out, p);
                        free(out);
                        out = next;
                        break;
                }
                xasprintf(&next, "%s%.*s%s", out, (int)(hit - p), p,
                          values[which]);
                free(out);
                out = next;
                p = hit + strlen(marks[which]);
        }
        free(tags);
        return out;
}

/* The text of `dir`/`name`, or NULL with *cause. */
static char *
read_text(const char *dir, const char *name, char **cause)
{
        char *path, *buf = NULL;
        size_t len;

        xasprintf(&path, "%s/%s", dir, name);
        if (fileio_read(path, PAGE_FILE_MAX, &buf, &len, cause) < 0)
                buf = NULL;
        free(path);
        return buf;
}

static const char *
type_of(const char *name)
{
        size_t n = strlen(name);

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                size_t e = strlen(types[i].ext);

                if (n > e && strcmp(name + n - e, types[i].ext) == 0)
                        return types[i].type;
        }
        return NULL;
}

/* Every file of `dir` with a type above, as an asset. */
static int
load_assets(struct pages *p, const char *dir, char **cause)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int rc = 0;

        if (d == NULL) {
                xasprintf(cause, "%s: cannot read the pages' directory", dir);
                return -1;
        }
        while (rc == 0 && (de = readdir(d)) != NULL) {
                const char *type = type_of(de->d_name);
                char *text;

                if (de->d_name[0] == '.' || type == NULL ||
                    strlen(de->d_name) > REQUEST_FILE_MAX)
                        continue;
                text = read_text(dir, de->d_name, cause);
                if (text == NULL) {
                        rc = -1;
                        break;
                }
                p->assets = xreallocarray(p->assets, p->nassets + 1,
                                          sizeof(*p->assets));
                p->assets[p->nassets++] =
                    (struct asset){ xstrdup(de->d_name), text, type };
        }
        closedir(d);
        return rc;
}

struct pages *
pages_load(const char *dir, char **cause)
{
        struct pages *p = xcalloc(1, sizeof(*p));
        char *layout = read_text(dir, "layout.html", cause), *main;

        if (layout == NULL)
                goto fail;
        for (size_t i = 0; i < NPAGES; i++) {
                main = read_text(dir, page_table[i].fragment, cause);
                if (main == NULL)
                        goto fail;
                p->html[i] = pages_compose(layout, page_table[i].title, main,
                                           page_table[i].scripts);
                free(main);
        }
        if (load_assets(p, dir, cause) < 0)
                goto fail;
        p->layout = layout;
        return p;
fail:
        free(layout);
        pages_destroy(&p);
        return NULL;
}

void
pages_destroy(struct pages **pp)
{
        struct pages *p = pp != NULL ? *pp : NULL;

        if (p == NULL)
                return;
        free(p->layout);
        for (size_t i = 0; i < NPAGES; i++)
                free(p->html[i]);
        for (size_t i = 0; i < p->nassets; i++) {
                free(p->assets[i].name);
                free(p->assets[i].text);
        }
        free(p->assets);
        free(p);
        *pp = NULL;
}

void
pages_serve(const struct pages *p, const struct request_route *route,
            struct reply *r)
{
        if (route->kind == ROUTE_KIND_ASSET) {
                for (size_t i = 0; i < p->nassets; i++) {
                        if (strcmp(p->assets[i].name, route->file) != 0)
                                continue;
                        r->status = 200;
                        r->text = p->assets[i].text;
                        r->type = p->assets[i].type;
                        r->borrowed = true;
                        return;
                }
                web_error(r, 404, "no such file");
                return;
        }
        for (size_t i = 0; i < NPAGES; i++) {
                if (page_table[i].route != route->id)
                        continue;
                r->status = 200;
                r->text = p->html[i];
                r->type = "text/html; charset=utf-8";
                r->borrowed = true;
                return;
        }
        web_error(r, 404, "no such page");
}

char *
pages_page(const struct pages *p, const char *title, const char *main)
{
        static const char *const none[] = { NULL };

        return pages_compose(p->layout, title, main, none);
}
