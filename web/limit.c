/* limit: how many sign-in links are sent (limit.h). */
#include "limit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 256 /* an address (254) or a client's address, and NUL */

/* One key's window: when it began, how many it has seen, whether its
 * refusal has been told. */
struct counter {
        char key[KEY_MAX]; /* "": a free slot */
        int64_t start;
        int count;
        bool told;
};

struct limits {
        struct counter addresses[LIMIT_MAX_ADDRESSES];
        struct counter clients[LIMIT_MAX_CLIENTS];
};

struct limits *
limits_new(void)
{
        return calloc(1, sizeof(struct limits));
}

void
limits_destroy(struct limits **lp)
{
        if (lp == NULL)
                return;
        free(*lp);
        *lp = NULL;
}

/*
 * The counter of `key` (lowercase already) in `v` (n of them), its
 * window current: the key's own, or a new one in a free or expired slot,
 * else in the oldest window's.
 */
static struct counter *
counter(struct counter *v, size_t n, const char *key, int64_t now)
{
        struct counter *spare = NULL, *oldest = &v[0];

        for (size_t i = 0; i < n; i++) {
                bool expired =
                    v[i].key[0] == '\0' || now - v[i].start >= LIMIT_WINDOW;

                if (v[i].key[0] != '\0' && strcmp(v[i].key, key) == 0) {
                        if (expired) {
                                v[i].start = now;
                                v[i].count = 0;
                                v[i].told = false;
                        }
                        return &v[i];
                }
                if (expired && spare == NULL)
                        spare = &v[i];
                if (v[i].start < oldest->start)
                        oldest = &v[i];
        }
        if (spare == NULL)
                spare = oldest;
        memset(spare, 0, sizeof(*spare));
        strcpy(spare->key, key);
        spare->start = now;
        return spare;
}

/* Counts one at `c`; true when it is within `max`. */
static bool
count(struct counter *c, int max)
{
        if (c->count < max) {
                c->count++;
                return true;
        }
        return false;
}

enum limit_verdict
limit_signin(struct limits *l, const char *email, const char *client,
             int64_t now, bool *first, int64_t *until)
{
        char key[KEY_MAX];
        struct counter *a, *c;
        size_t i;

        for (i = 0; email[i] != '\0' && i < KEY_MAX - 1; i++)
                key[i] = (char)tolower((unsigned char)email[i]);
        key[i] = '\0';
        a = counter(l->addresses, LIMIT_MAX_ADDRESSES, key, now);
        snprintf(key, sizeof(key), "%s", client);
        c = counter(l->clients, LIMIT_MAX_CLIENTS, key, now);
        *first = false;
        *until = 0;
        /* The client first: its refusal does not spend the address's. */
        if (!count(c, LIMIT_PER_CLIENT)) {
                *first = !c->told;
                c->told = true;
                *until = c->start + LIMIT_WINDOW;
                return LIMIT_CLIENT;
        }
        if (!count(a, LIMIT_PER_ADDRESS)) {
                *first = !a->told;
                a->told = true;
                *until = a->start + LIMIT_WINDOW;
                return LIMIT_ADDRESS;
        }
        return LIMIT_OK;
}
