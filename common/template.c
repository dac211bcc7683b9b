#include "template.h"

#include "strbuf.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 32 /* longer text between braces is not a name */

static const char *const names[] = {
        "trust", "school",  "urn",        "rule",    "action",
        "due",   "due_iso", "opens",      "contact", "offset",
        "late",  "warning", "escalation", "ack_url", NULL,
};

const char *
template_default(bool title)
{
        return title ? TEMPLATE_DEFAULT_TITLE : TEMPLATE_DEFAULT_TEXT;
}

bool
template_known(const char *name)
{
        for (size_t i = 0; names[i] != NULL; i++) {
                if (strcmp(name, names[i]) == 0)
                        return true;
        }
        return false;
}

/* One "{{ ... }}" found at the start of `p`. */
struct placeholder {
        size_t len;              /* of the whole "{{ ... }}", 0: unclosed */
        char name[NAME_MAX_LEN]; /* "" when what is inside is no name */
};

/* Reads the placeholder opening at `p` (which starts with "{{"). */
static void
scan(const char *p, struct placeholder *ph)
{
        const char *end = strstr(p + 2, "}}");
        const char *a = p + 2, *z;
        size_t n;

        memset(ph, 0, sizeof(*ph));
        if (end == NULL)
                return;
        ph->len = (size_t)(end + 2 - p);
        z = end;
        while (a < z && *a == ' ')
                a++;
        while (z > a && z[-1] == ' ')
                z--;
        n = (size_t)(z - a);
        if (n == 0 || n >= sizeof(ph->name) ||
            strspn(a, "abcdefghijklmnopqrstuvwxyz_") < n)
                return;
        memcpy(ph->name, a, n);
        ph->name[n] = '\0';
}

/* Whether `name` is one of the comma-separated names in `list`. */
static bool
in_list(const char *name, const char *list)
{
        size_t n = strlen(name);

        for (const char *p = list; p != NULL && *p != '\0';) {
                size_t len;

                p += strspn(p, ", ");
                len = strcspn(p, ", ");
                if (len == n && strncmp(p, name, n) == 0)
                        return true;
                p += len;
        }
        return false;
}

int
template_check_extra(const char *text, const char *extra, char **cause)
{
        const char *p = text;
        struct placeholder ph;

        while ((p = strstr(p, "{{")) != NULL) {
                scan(p, &ph);
                if (ph.len == 0) {
                        xasprintf(cause,
                                  "unterminated placeholder '%.20s' (no "
                                  "closing }})",
                                  p);
                        return -1;
                }
                if (ph.name[0] == '\0' ||
                    (!template_known(ph.name) && !in_list(ph.name, extra))) {
                        xasprintf(cause,
                                  "unknown placeholder '%.*s' (known: %s%s%s)",
                                  ph.len > 40 ? 40 : (int)ph.len, p,
                                  TEMPLATE_NAMES, extra != NULL ? ", " : "",
                                  extra != NULL ? extra : "");
                        return -1;
                }
                p += ph.len;
        }
        return 0;
}

int
template_check(const char *text, char **cause)
{
        return template_check_extra(text, NULL, cause);
}

char *
template_render(const char *tmpl, const json_t *vars)
{
        struct strbuf b = { NULL, 0, 0 };
        const char *p = tmpl, *open;
        struct placeholder ph;

        strbuf_add(&b, "", 0);
        while ((open = strstr(p, "{{")) != NULL) {
                const char *v = NULL;

                strbuf_add(&b, p, (size_t)(open - p));
                scan(open, &ph);
                if (ph.len == 0)
                        break; /* unclosed: the rest is text */
                if (ph.name[0] != '\0')
                        v = json_string_value(json_object_get(vars, ph.name));
                if (v != NULL)
                        strbuf_add(&b, v, strlen(v));
                else
                        strbuf_add(&b, open, ph.len);
                p = open + ph.len;
        }
        if (open != NULL)
                p = open;
        strbuf_add(&b, p, strlen(p));
        return b.s;
}

/* alert[key] (or alert[key][sub]) as a string, or NULL. */
static const char *
get(const json_t *alert, const char *key, const char *sub)
{
        const json_t *v = json_object_get(alert, key);

        if (sub != NULL)
                v = json_object_get(v, sub);
        return json_string_value(v);
}

/* The first non-empty of a and b, else def. */
static const char *
pick(const char *a, const char *b, const char *def)
{
        if (a != NULL && a[0] != '\0')
                return a;
        if (b != NULL && b[0] != '\0')
                return b;
        return def;
}

/*
 * An escalation's words for the title: "NOT CONFIRMED (alerted before:
 * heads, leaders): "; NULL for a reminder. Caller frees.
 */
static char *
escalation_words(const json_t *alert)
{
        const json_t *esc = json_object_get(alert, "escalation");
        const json_t *alerted = json_object_get(esc, "alerted");
        char *list = xstrdup(""), *next, *out;
        size_t i;
        json_t *v;

        if (!json_is_object(esc)) {
                free(list);
                return NULL;
        }
        json_array_foreach(alerted, i, v)
        {
                if (!json_is_string(v))
                        continue;
                xasprintf(&next, "%s%s%s", list, list[0] ? ", " : "",
                          json_string_value(v));
                free(list);
                list = next;
        }
        xasprintf(&out,
                  "Nobody has confirmed this deadline yet (alerted before: "
                  "%s): ",
                  list[0] ? list : "nobody");
        free(list);
        return out;
}

json_t *
template_vars(const json_t *alert)
{
        char *esc = escalation_words(alert);
        json_t *vars = json_object();
        const struct {
                const char *name, *value;
        } set[] = {
                { "trust", pick(get(alert, "trust", NULL), NULL, "") },
                { "school", pick(get(alert, "school", "name"), NULL, "") },
                { "urn", pick(get(alert, "school", "urn"), NULL, "") },
                { "rule", pick(get(alert, "rule", NULL), NULL, "") },
                { "action", pick(get(alert, "action", NULL), NULL,
                                 "Act before the deadline.") },
                { "due", pick(get(alert, "due_human", NULL),
                              get(alert, "due", NULL), "") },
                { "due_iso", pick(get(alert, "due", NULL), NULL, "") },
                { "opens", pick(get(alert, "opens_human", NULL),
                                get(alert, "opens", NULL), "") },
                { "contact",
                  pick(get(alert, "contact", NULL), NULL, "not recorded") },
                { "offset", pick(get(alert, "offset", NULL), NULL, "") },
                { "late", json_is_true(json_object_get(alert, "late"))
                              ? "LATE: "
                              : "" },
                { "warning", pick(get(alert, "warning", NULL), NULL, "") },
                { "escalation", esc != NULL ? esc : "" },
                { "ack_url", pick(get(alert, "ack_url", NULL), NULL, "") },
        };

        if (vars == NULL)
                abort();
        for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
                json_t *s = json_string(set[i].value);

                /* Only invalid UTF-8 is refused, and JSON input has none. */
                if (s == NULL)
                        s = json_string("");
                if (s == NULL || json_object_set_new(vars, set[i].name, s) < 0)
                        abort();
        }
        free(esc);
        return vars;
}
