/* heartbeat: the dead-man's switch (heartbeat.h). */
#include "heartbeat.h"

#include "log.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Within a period, how soon to try again when the heartbeat could not go
 * (no worker yet, the store not writable). */
#define BEAT_RETRY_MS 5000

struct heartbeat {
        int64_t period_ms; /* the current period's start; 0: none yet */
        int64_t retry_ms;  /* when to try again in it */
        bool sent;         /* this period's went */
        bool withheld;     /* a period went without one: logged */
        char why[160];     /* why the last try did not go */
};

struct heartbeat *
heartbeat_new(void)
{
        return xcalloc(1, sizeof(struct heartbeat));
}

void
heartbeat_destroy(struct heartbeat **hp)
{
        if (hp == NULL || *hp == NULL)
                return;
        free(*hp);
        *hp = NULL;
}

/* Starts the period `mono_ms` falls in; a lost one is logged once. */
static void
next_period(struct heartbeat *h, int64_t every_ms, int64_t mono_ms)
{
        if (h->period_ms == 0) {
                h->period_ms = mono_ms;
                return;
        }
        if (!h->sent && !h->withheld) {
                log_warnx("heartbeat: none sent for %lld s (%s): the push "
                          "monitor will warn",
                          (long long)(every_ms / 1000), h->why);
                h->withheld = true;
        }
        /* After a stalled loop: one heartbeat now, not one per period. */
        while (mono_ms >= h->period_ms + every_ms)
                h->period_ms += every_ms;
        h->sent = false;
        h->retry_ms = 0;
}

void
heartbeat_tick(struct heartbeat *h, struct store *st, struct dispatch *d,
               const struct conf *conf, int64_t mono_ms, int64_t wall_ms)
{
        int64_t every_ms = (int64_t)conf->daemon.heartbeat_every * 1000;
        char *cause = NULL;

        if (conf->daemon.heartbeat_url_file[0] == '\0')
                return;
        if (h->period_ms == 0 || mono_ms >= h->period_ms + every_ms)
                next_period(h, every_ms, mono_ms);
        if (h->sent || mono_ms < h->retry_ms)
                return;
        h->retry_ms = mono_ms + BEAT_RETRY_MS;
        /* A write that changes nothing proves the store takes writes. */
        if (store_probe(st, &cause) < 0) {
                snprintf(h->why, sizeof(h->why),
                         "the state database cannot be written");
                goto out;
        }
        if (dispatch_beat(d, wall_ms, &cause) < 0) {
                snprintf(h->why, sizeof(h->why), "%s", cause);
                goto out;
        }
        h->sent = true;
        if (h->withheld)
                log_info("heartbeat: sent again");
        h->withheld = false;
out:
        free(cause);
}

int64_t
heartbeat_timeout(const struct heartbeat *h, const struct conf *conf,
                  int64_t mono_ms)
{
        int64_t every_ms = (int64_t)conf->daemon.heartbeat_every * 1000,
                at = h->period_ms + every_ms;

        if (conf->daemon.heartbeat_url_file[0] == '\0')
                return INT64_MAX;
        if (h->period_ms == 0)
                return 0;
        if (!h->sent && h->retry_ms < at)
                at = h->retry_ms;
        return at > mono_ms ? at - mono_ms : 0;
}
