/*
 * session: the browser sign-ins of ofsted-notify-web (docs/web.md): the
 * one-time sign-in links sent by email and the sessions they open. Both
 * are kept in this process's memory, only as hashes of their secrets
 * (common/token.h: 256 random bits, BLAKE2b), so a restart of the web
 * process signs everybody out and kills the links in flight. A link
 * lives web.signin_link_seconds and opens one session; a session ends
 * after web.session_idle without a request, after web.session_max in
 * any case, or at sign-out. The clock is passed in; nothing here logs.
 */
#ifndef ONOTIFY_WEB_SESSION_H
#define ONOTIFY_WEB_SESSION_H

#include "token.h"

#include <stdint.h>

/* How many of each are kept; past that the oldest goes. */
#define SESSION_MAX_LINKS    1024
#define SESSION_MAX_SESSIONS 4096

struct sessions;

/* An empty store with these lives (seconds); NULL when out of memory. */
struct sessions *sessions_new(int idle, int max, int link_ttl);
void sessions_destroy(struct sessions **sp);

/*
 * A new sign-in link for `email` (borrowed; copied): its secret into
 * `out`. -1 when no random numbers can be had.
 */
int sessions_link_new(struct sessions *s, const char *email, int64_t now,
                      char out[TOKEN_LEN + 1]);
/*
 * Uses the link `token`: when it is live, it is spent and a new session
 * for its email begins, its id into `sid`; returns 0. -1 when the link is
 * unknown, spent or expired (or no random numbers).
 */
int sessions_link_use(struct sessions *s, const char *token, int64_t now,
                      char sid[TOKEN_LEN + 1]);
/*
 * The email of the live session `sid` (NULL when none or expired), its
 * idle clock restarted. The string is the store's, valid until the next
 * call.
 */
const char *sessions_get(struct sessions *s, const char *sid, int64_t now);
/* Ends session `sid`; nothing when there is none. */
void sessions_end(struct sessions *s, const char *sid);

#endif
