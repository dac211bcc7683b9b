/*
 * template: the message templates admins write for alerts.
 *
 * A template is text with {{name}} placeholders (spaces inside the braces
 * are allowed: {{ school }}). The names are fixed (TEMPLATE_NAMES below);
 * the config loader rejects any other with template_check(), so a typo is
 * found at load time, not when an alert fires. Rendering is pure: values
 * come from a flat JSON object of strings and are inserted verbatim.
 * Escaping for the place the text ends up (JSON, Slack mrkdwn, HTML) is
 * each backend's business, never the template's.
 */
#ifndef ONOTIFY_TEMPLATE_H
#define ONOTIFY_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>

/* The placeholder names, for messages and documentation. */
#define TEMPLATE_NAMES                                                     \
        "trust, school, urn, rule, action, due, due_iso, opens, contact, " \
        "offset, late, warning, escalation, ack_url"

/*
 * The defaults, used for every channel type the config does not override.
 * They say what to do and by when, in local time; they carry nothing about
 * an inspection's outcome (DESIGN.md section 1).
 */
#define TEMPLATE_DEFAULT_TITLE \
        "{{escalation}}{{late}}{{school}}: {{rule}} — due {{due}}"
#define TEMPLATE_DEFAULT_TEXT                 \
        "{{late}}{{action}}\n"                \
        "Deadline: {{due}}.\n"                \
        "School: {{school}} (URN {{urn}}).\n" \
        "Contact: {{contact}}"

/* The default title (title true) or text; a static string. */
const char *template_default(bool title);

/* Whether `name` is one of the placeholder names. */
bool template_known(const char *name);

/*
 * Checks that every placeholder in `text` is well formed and known.
 * Returns -1 with *cause (caller frees) naming the first bad one and
 * listing the known names.
 */
int template_check(const char *text, char **cause);
/* The same, knowing the names in `extra` too ("to, message"; NULL: none),
 * as a channel's own template may (an SMS gateway's body). */
int template_check_extra(const char *text, const char *extra, char **cause);

/*
 * Renders `tmpl` with the string members of `vars`. A placeholder whose
 * name `vars` lacks (or holds no string for) is copied as written, so a
 * mistake shows rather than vanishes. Returns a new string the caller frees.
 */
char *template_render(const char *tmpl, const json_t *vars);

/*
 * The values for an alert (the "alert" object of a JOB, docs/dispatch.md):
 * a new object holding every placeholder name as a string. due is the
 * human local time, due_iso its RFC 3339 form; late is "LATE: " or "";
 * an absent contact reads "not recorded", an absent action a generic
 * instruction, other absent values "". The caller releases it with
 * json_decref().
 */
json_t *template_vars(const json_t *alert);

#endif
