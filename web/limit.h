/*
 * limit: how many sign-in links ofsted-notify-web sends (docs/web.md).
 * POST /signin would otherwise let anyone fill a user's inbox and load
 * the mail relay. Each request is counted against the address it names
 * (whether or not a user has it, so the limit tells nobody who the users
 * are) and against the client that sent it (the peer, or the address a
 * peer of web.proxy_trusted forwards). Over either limit, no email.
 *
 * A window begins at the first request of its key and lasts
 * LIMIT_WINDOW seconds; the counts are kept in this process's memory, in
 * tables of fixed size where a new key takes a free or expired slot,
 * else the oldest window's. The clock is passed in; nothing here logs.
 */
#ifndef ONOTIFY_WEB_LIMIT_H
#define ONOTIFY_WEB_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define LIMIT_WINDOW        (15 * 60)
#define LIMIT_PER_ADDRESS   3  /* links to one address per window */
#define LIMIT_PER_CLIENT    10 /* requests from one client per window */
#define LIMIT_MAX_ADDRESSES 4096
#define LIMIT_MAX_CLIENTS   4096

struct limits;

/* What limit_signin() found. */
enum limit_verdict {
        LIMIT_OK,      /* send the link */
        LIMIT_ADDRESS, /* too many for this address */
        LIMIT_CLIENT,  /* too many from this client */
};

/* Empty tables; NULL when out of memory. */
struct limits *limits_new(void);
void limits_destroy(struct limits **lp);

/*
 * Counts a request for a link to `email` (compared without case) from
 * `client` (an address as text) at `now`, and says whether it may be
 * sent. *first is true when this is the first refusal of the window of
 * the key that refused it (to log once), else false; *until is when that
 * window ends.
 */
enum limit_verdict limit_signin(struct limits *l, const char *email,
                                const char *client, int64_t now, bool *first,
                                int64_t *until);

#endif
