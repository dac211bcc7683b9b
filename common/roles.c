#include "roles.h"

#include <stddef.h>
#include <string.h>

static const char *const names[] = {
        [ROLE_VIEWER] = "viewer",
        [ROLE_SCHOOL] = "school",
        [ROLE_TRUST] = "trust",
        [ROLE_ADMIN] = "admin",
};

int
roles_parse(const char *name, enum role *out)
{
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (strcmp(name, names[i]) == 0) {
                        *out = (enum role)i;
                        return 0;
                }
        }
        return -1;
}

const char *
roles_name(enum role r)
{
        return names[r];
}

bool
roles_every_school(enum role r)
{
        return r == ROLE_TRUST || r == ROLE_ADMIN;
}

bool
roles_may_record(enum role r)
{
        return r != ROLE_VIEWER;
}
