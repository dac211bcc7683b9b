/*
 * dispatch_beat: the dead-man's switch's JOB and its outcome
 * (dispatch.h, dispatch_int.h). A heartbeat is no delivery: it has no
 * row, no lease to run out and no retry, as one older than its period
 * proves nothing; the scheduler sends the next one when it is due.
 */
#include "dispatch_int.h"

#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int
dispatch_beat(struct dispatch *d, int64_t now_ms, char **cause)
{
        struct worker *w = NULL;
        char uid[sizeof(DPROTO_BEAT) + 24], *text;
        int rc;

        for (size_t i = 0; i < d->nworkers && w == NULL; i++) {
                struct worker *c = &d->workers[i];

                if (c->kind == DPROTO_KIND_WEBHOOK && c->credit > 0 &&
                    !c->stalled && !c->gone)
                        w = c;
        }
        if (w == NULL) {
                *cause = xstrdup("no webhook worker with credit is connected");
                return -1;
        }
        snprintf(uid, sizeof(uid), "%s-%" PRId64, DPROTO_BEAT, d->beat.seq + 1);
        text = dproto_job_encode(&(struct dproto_job){ .delivery = uid,
                                                       .lease = d->beat.seq + 1,
                                                       .attempt = 1,
                                                       .channel = DPROTO_BEAT,
                                                       .type = DPROTO_BEAT },
                                 "{}");
        rc = dispatch_send_text(d, w, DPROTO_JOB, text);
        free(text);
        if (rc < 0) {
                /* Forgotten at the next tick. */
                w->gone = zmq_errno() == EHOSTUNREACH;
                xasprintf(cause, "worker %s cannot be reached", w->name);
                return -1;
        }
        w->credit--;
        d->beat.seq++;
        d->beat.sent_ms = now_ms;
        d->beat.settled = false;
        log_debug("heartbeat %s sent to worker %s", uid, w->name);
        return 0;
}

enum applied
dispatch_beat_outcome(struct dispatch *d, const struct worker *w,
                      const struct dproto_outcome *out, int64_t now_ms)
{
        struct beat *b = &d->beat;

        if (w == NULL)
                return APPLIED_DROP;
        /* An older one's, or a repeat: it changes nothing. */
        if (out->lease != b->seq || b->settled)
                return APPLIED_ACK;
        b->settled = true;
        if (out->result == DPROTO_DELIVERED) {
                if (b->failing)
                        log_info("heartbeat: delivered again");
                b->failing = false;
                b->delivered_ms = now_ms;
                b->error[0] = '\0';
                return APPLIED_FIRST;
        }
        /* The worker's error names no URL (docs/dispatch.md). */
        snprintf(b->error, sizeof(b->error), "%s: %s",
                 dproto_result_names[out->result],
                 out->error != NULL ? out->error : "?");
        if (!b->failing)
                log_warnx("heartbeat: not delivered (%s); the push monitor "
                          "will warn",
                          b->error);
        b->failing = true;
        return APPLIED_FIRST;
}

json_t *
dispatch_json_beat(const struct dispatch *d)
{
        const struct beat *b = &d->beat;

        return json_pack("{s:I, s:I, s:s?}", "last_sent",
                         (json_int_t)b->sent_ms, "last_delivered",
                         (json_int_t)b->delivered_ms, "error",
                         b->failing ? b->error : NULL);
}
