/*
 * roles: who may do what through ofsted-notify-web (DESIGN.md §6), for an
 * API token and for a user of the config alike. Pure.
 *
 * viewer reads its schools; school also records events for them; trust
 * reads and records for every school; admin is trust and also channels
 * (`test`, every channel's history) and tokens. A viewer or school
 * principal names its schools; trust and admin name none.
 */
#ifndef ONOTIFY_ROLES_H
#define ONOTIFY_ROLES_H

#include <stdbool.h>

enum role {
        ROLE_VIEWER,
        ROLE_SCHOOL,
        ROLE_TRUST,
        ROLE_ADMIN,
};

#define ROLES_NAMES "viewer, school, trust or admin"

/* The role named `name`: 0 and *out, or -1 when it names none. */
int roles_parse(const char *name, enum role *out);
/* Its name, a static string. */
const char *roles_name(enum role r);
/* Whether the role sees every school (trust, admin). */
bool roles_every_school(enum role r);
/* Whether the role may record events (school, trust, admin). */
bool roles_may_record(enum role r);

#endif
