#include "session.h"

#include "xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A link or a session: the hash of its secret, whose it is, its times. */
struct entry {
        unsigned char hash[TOKEN_HASH_LEN];
        char *email;  /* NULL: a free slot */
        int64_t born; /* created */
        int64_t seen; /* a session's last request */
};

struct sessions {
        int idle, max, link_ttl;
        struct entry links[SESSION_MAX_LINKS];
        struct entry live[SESSION_MAX_SESSIONS];
};

struct sessions *
sessions_new(int idle, int max, int link_ttl)
{
        struct sessions *s = calloc(1, sizeof(*s));

        if (s == NULL)
                return NULL;
        s->idle = idle;
        s->max = max;
        s->link_ttl = link_ttl;
        return s;
}

static void
clear(struct entry *e)
{
        free(e->email);
        memset(e, 0, sizeof(*e));
}

void
sessions_destroy(struct sessions **sp)
{
        struct sessions *s = sp != NULL ? *sp : NULL;

        if (s == NULL)
                return;
        for (size_t i = 0; i < SESSION_MAX_LINKS; i++)
                clear(&s->links[i]);
        for (size_t i = 0; i < SESSION_MAX_SESSIONS; i++)
                clear(&s->live[i]);
        free(s);
        *sp = NULL;
}

static bool
link_live(const struct sessions *s, const struct entry *e, int64_t now)
{
        return e->email != NULL && now - e->born < s->link_ttl;
}

static bool
session_live(const struct sessions *s, const struct entry *e, int64_t now)
{
        return e->email != NULL && now - e->born < s->max &&
               now - e->seen < s->idle;
}

/* A slot of `v` (n of them) for a new entry: a free or dead one, else
 * the oldest. */
static struct entry *
slot(const struct sessions *s, struct entry *v, size_t n, bool links,
     int64_t now)
{
        struct entry *oldest = &v[0];

        for (size_t i = 0; i < n; i++) {
                if (links ? !link_live(s, &v[i], now)
                          : !session_live(s, &v[i], now)) {
                        clear(&v[i]);
                        return &v[i];
                }
                if (v[i].born < oldest->born)
                        oldest = &v[i];
        }
        clear(oldest);
        return oldest;
}

/* The entry of `v` whose hash is that of `secret`, or NULL. */
static struct entry *
find(struct entry *v, size_t n, const char *secret)
{
        unsigned char hash[TOKEN_HASH_LEN];

        if (secret == NULL || !token_well_formed(secret))
                return NULL;
        token_hash(secret, hash);
        for (size_t i = 0; i < n; i++) {
                if (v[i].email != NULL &&
                    memcmp(v[i].hash, hash, TOKEN_HASH_LEN) == 0)
                        return &v[i];
        }
        return NULL;
}

int
sessions_link_new(struct sessions *s, const char *email, int64_t now,
                  char out[TOKEN_LEN + 1])
{
        struct entry *e;

        if (token_make(out) < 0)
                return -1;
        e = slot(s, s->links, SESSION_MAX_LINKS, true, now);
        token_hash(out, e->hash);
        e->email = xstrdup(email);
        e->born = e->seen = now;
        return 0;
}

int
sessions_link_use(struct sessions *s, const char *token, int64_t now,
                  char sid[TOKEN_LEN + 1])
{
        struct entry *link = find(s->links, SESSION_MAX_LINKS, token), *e;
        bool live = link != NULL && link_live(s, link, now);
        char *email;

        if (link == NULL)
                return -1;
        /* Spent whatever happens next: a link opens one session. */
        email = link->email;
        link->email = NULL;
        clear(link);
        if (!live || token_make(sid) < 0) {
                free(email);
                return -1;
        }
        e = slot(s, s->live, SESSION_MAX_SESSIONS, false, now);
        token_hash(sid, e->hash);
        e->email = email;
        e->born = e->seen = now;
        return 0;
}

const char *
sessions_get(struct sessions *s, const char *sid, int64_t now)
{
        struct entry *e = find(s->live, SESSION_MAX_SESSIONS, sid);

        if (e == NULL)
                return NULL;
        if (!session_live(s, e, now)) {
                clear(e);
                return NULL;
        }
        e->seen = now;
        return e->email;
}

void
sessions_end(struct sessions *s, const char *sid)
{
        struct entry *e = find(s->live, SESSION_MAX_SESSIONS, sid);

        if (e != NULL)
                clear(e);
}
